// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The SGA demo (examples/sga) at a small scale: 20 workers on a 16 MiB
 * SGA, exec'd and attaching by name, then forked; one worker on 4 MiB.
 * sga verifies every checksum itself and exits 0 only if all match;
 * here its JSON figures are checked too: the region's page tables a
 * worker are below the memfd's (which are about 16 MiB / 512 each), and
 * a worker takes at most one fault reading and writing the region.
 * Bad options exit 2, dead workers exit 1, and no region is left behind.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

#include "guest.h"

#define OUT_MAX		65536

static char sga[PATH_MAX], out[OUT_MAX];

/* examples/sga/sga of the build this test belongs to. */
static void find_sga(void)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0)
		tap_bail("cannot read /proc/self/exe");
	self[len] = '\0';
	snprintf(sga, sizeof(sga), "%s/../../examples/sga/sga", dirname(self));
	if (access(sga, X_OK))
		tap_bail("examples/sga/sga is not built next to the tests");
}

/* Run sga with @args, its stdout and stderr in out; its exit status or -1. */
static int run_sga(const char *args)
{
	char cmd[PATH_MAX + 512];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", sga, args);
	p = popen(cmd, "r");
	if (!p)
		tap_bail("popen failed");
	while (n < sizeof(out) - 1) {
		size_t got = fread(out + n, 1, sizeof(out) - 1 - n, p);

		if (!got)
			break;
		n += got;
	}
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void show_output(void)
{
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		tap_diag("  %s", line);
}

/* Figure @key of mode @mode in sga's JSON output; NAN if absent. */
static double figure(const char *mode, const char *key)
{
	char section[64], k[96], obj[2048];
	const char *s, *end, *v;

	snprintf(section, sizeof(section), "\"%s\": {", mode);
	s = strstr(out, section);
	if (!s)
		return NAN;
	end = strchr(s, '}');
	if (!end || (size_t)(end - s) >= sizeof(obj))
		return NAN;
	memcpy(obj, s, end - s);
	obj[end - s] = '\0';
	snprintf(k, sizeof(k), "\"%s\": ", key);
	v = strstr(obj, k);
	return v ? strtod(v + strlen(k), NULL) : NAN;
}

static bool region_gone(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", mshare_mnt(), name);
	return stat(path, &st) && errno == ENOENT;
}

/* One run of both modes with @extra options; checks the figures. */
static void both_modes(const char *what, const char *extra)
{
	char args[512], name[64];
	double msh, mfd, flt;
	int rc;

	snprintf(name, sizeof(name), "test-sga.%d", (int)getpid());
	snprintf(args, sizeof(args),
		 "--size 16M --workers 20 --mode both --json --name %s %s",
		 name, extra);
	rc = run_sga(args);
	if (!tap_ok(rc == 0, "%s: 20 workers, 16 MiB, both modes: every checksum verified (exit %d)",
		    what, rc))
		show_output();
	msh = figure("mshare", "pagetables_per_worker_bytes");
	mfd = figure("memfd", "pagetables_per_worker_bytes");
	tap_diag("%s: page tables a worker: mshare %.0f bytes, memfd %.0f bytes",
		 what, msh, mfd);
	tap_ok(msh < mfd, "%s: the region's page tables a worker are below the memfd's",
	       what);
	tap_ok(mfd >= 16 * 1024 * 1024 / 512 / 2,
	       "%s: the memfd's show in PageTables (%.0f bytes a worker, 16 MiB / 512 = 32768)",
	       what, mfd);
	flt = figure("mshare", "faults_max");
	tap_ok(flt <= 1, "%s: a worker takes at most one fault reading and writing the region (%.0f)",
	       what, flt);
	tap_ok(figure("mshare", "region_attached") == 21,
	       "%s: the region counted 21 attaches with every worker attached", what);
	tap_ok(region_gone(name), "%s: the region is removed at the end", what);
}

int main(void)
{
	int rc;

	require_msharefs();
	find_sga();

	both_modes("exec'd", "");
	both_modes("forked", "--fork");

	rc = run_sga("--size 4M --workers 1 --stride 8");
	if (!tap_ok(rc == 0, "one worker reading every word of 4 MiB, both modes (exit %d)",
		    rc))
		show_output();

	tap_ok(run_sga("--bogus") == 2, "an unknown option exits 2");
	tap_ok(run_sga("--size 1x") == 2, "a bad size exits 2");
	tap_ok(run_sga("--size 4097") == 2, "a size that is not a page multiple exits 2");
	tap_ok(run_sga("--workers 0") == 2, "no workers exits 2");
	tap_ok(run_sga("--mode neither") == 2, "an unknown mode exits 2");
	tap_ok(run_sga("--stride 12") == 2, "a stride that is not a multiple of 8 exits 2");
	tap_ok(run_sga("--size 64K --workers 1500") == 2 && strstr(out, "98304"),
	       "too small an SGA for the workers exits 2, saying what is needed");

	/* Workers that die at once (a worker binary that is not one) */
	setenv("SGA_WORKER", "/bin/false", 1);
	rc = run_sga("--size 4M --workers 3 --mode memfd");
	tap_ok(rc == 1 && strstr(out, "exited with status 1"),
	       "workers that die before being told to fail the run (exit %d)", rc);
	unsetenv("SGA_WORKER");
	return tap_done();
}
