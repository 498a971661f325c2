// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The issue 3 bar (DESIGN §6): 1500 exec'd processes attach, by name, a
 * 64 MiB region populated by another process and read every page. The
 * region's page-table cost is at most one page per process, measured as
 * PageTables minus that of the same 1500 processes not attaching, and
 * each attacher takes at most one fault (getrusage around its touch
 * loop). The same processes mapping a 64 MiB memfd MAP_SHARED and reading
 * it the same way are the baseline, measured in the same run.
 *
 * Three phases of N processes (N = 1500, or argv[1]), each the helper
 * mshare-attacher found next to this program: "idle" (start and wait),
 * "mshare" (attach the region and read it), "memfd" (map the memfd and
 * read it). Once all N of a phase have reported through one shared pipe
 * and wait, PageTables is read; then they are all killed and reaped.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <time.h>

#include "guest.h"
#include "mshare-attacher.h"

#define MiB		(1024ULL * 1024)
#define SIZE		(64 * MiB)
#define REPORT_WAIT_MS	120000		/* give up after this without a report */

static unsigned int n = 1500;
static char helper[PATH_MAX];
static int report[2];			/* the helpers' shared report pipe */

struct phase {
	const char *mode;
	unsigned int spawned, reported, ok;
	long pt_kb;			/* PageTables with all of them waiting */
	int64_t max_flt;		/* minor + major faults of one touch loop */
	int64_t total_flt, total_majflt, total_ns;
	double t_spawn, t_report, t_reap;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void count(struct phase *ph, const struct attacher_report *r)
{
	static unsigned int diags;

	ph->reported++;
	if (r->status == ATTACHER_OK)
		ph->ok++;
	else if (diags++ < 10)
		tap_diag("%s helper %d: status %d", ph->mode, (int)r->pid,
			 (int)r->status);
	if (r->minflt + r->majflt > ph->max_flt)
		ph->max_flt = r->minflt + r->majflt;
	ph->total_flt += r->minflt;
	ph->total_majflt += r->majflt;
	ph->total_ns += r->touch_ns;
}

/* Start N helpers in @ph->mode on @target; measure; kill and reap them. */
static void run_phase(struct phase *ph, const char *target)
{
	char a_report[16], a_wait[16], a_size[32];
	char *argv[] = { helper, (char *)ph->mode, (char *)target, a_report,
			 a_wait, a_size, NULL };
	struct attacher_report r[128];
	double t0, t1;
	int hold[2];
	pid_t *pids;

	pids = calloc(n, sizeof(*pids));
	if (!pids || pipe2(hold, O_CLOEXEC))
		tap_bail("out of memory or fds");
	fcntl(hold[0], F_SETFD, 0);	/* the helpers block reading it */
	snprintf(a_report, sizeof(a_report), "%d", report[1]);
	snprintf(a_wait, sizeof(a_wait), "%d", hold[0]);
	snprintf(a_size, sizeof(a_size), "%llu", SIZE);

	t0 = now();
	for (ph->spawned = 0; ph->spawned < n; ph->spawned++) {
		int err = posix_spawn(&pids[ph->spawned], helper, NULL, NULL,
				      argv, environ);

		if (err) {
			tap_diag("%s: cannot start helper %u: %s", ph->mode,
				 ph->spawned, strerror(err));
			break;
		}
	}
	close(hold[0]);
	ph->t_spawn = now() - t0;

	while (ph->reported < ph->spawned) {
		struct pollfd pfd = { .fd = report[0], .events = POLLIN };
		ssize_t got;

		if (poll(&pfd, 1, REPORT_WAIT_MS) <= 0) {
			tap_diag("%s: only %u of %u helpers reported", ph->mode,
				 ph->reported, ph->spawned);
			break;
		}
		got = read(report[0], r, sizeof(r));
		if (got <= 0 || got % sizeof(r[0]))
			tap_bail("bad read from the report pipe");
		for (size_t i = 0; i < got / sizeof(r[0]); i++)
			count(ph, &r[i]);
	}
	ph->t_report = now() - t0;
	vmstat_refresh();
	ph->pt_kb = proc_kb("/proc/meminfo", "PageTables");

	t1 = now();
	for (unsigned int i = 0; i < ph->spawned; i++)
		kill(pids[i], SIGKILL);
	for (unsigned int i = 0; i < ph->spawned; i++)
		waitpid(pids[i], NULL, 0);
	ph->t_reap = now() - t1;
	close(hold[1]);
	free(pids);

	tap_diag("%s: %u started in %.1f s, %u reported (%u ok) after %.1f s, PageTables %ld kB, killed and reaped in %.1f s",
		 ph->mode, ph->spawned, ph->t_spawn, ph->reported, ph->ok,
		 ph->t_report, ph->pt_kb, ph->t_reap);
}

/* Write the pattern into the first word of every page of [@base, +SIZE). */
static void fill(char *base)
{
	for (uint64_t p = 0; p < SIZE / ATTACHER_PAGE; p++)
		*(volatile uint64_t *)(base + p * ATTACHER_PAGE) = attacher_pattern(p);
}

static bool filled(const char *base)
{
	for (uint64_t p = 0; p < SIZE / ATTACHER_PAGE; p++)
		if (*(const volatile uint64_t *)(base + p * ATTACHER_PAGE) !=
		    attacher_pattern(p))
			return false;
	return true;
}

static void find_helper(void)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0)
		tap_bail("cannot read /proc/self/exe");
	self[len] = '\0';
	snprintf(helper, sizeof(helper), "%s/mshare-attacher", dirname(self));
	if (access(helper, X_OK))
		tap_bail("mshare-attacher is not next to test-1500");
}

int main(int argc, char **argv)
{
	struct phase idle = { .mode = "idle" }, msh = { .mode = "mshare" },
		     mfd = { .mode = "memfd" };
	char path[512], target[16], *base;
	long long cost_msh, cost_mfd;
	uint64_t align;
	double t0 = now();
	int fd, memfd;

	require_msharefs();
	align = mshare_align_raw();
	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	if (!n)
		tap_bail("usage: test-1500 [NPROC]");
	find_helper();
	signal(SIGPIPE, SIG_IGN);

	/* The region, populated through an attach of this process. */
	fd = region_new("1500", path, sizeof(path), align);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	TAP_SUCCESS(region_map_anon(fd, 0, SIZE),
		    "map 64 MiB of anonymous memory into a region");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		tap_bail("cannot attach a region");
	fill(base);
	tap_ok(filled(base), "populate it, a pattern in every page");
	munmap(base, align);

	/* The baseline: a memfd with the same data, inherited by the helpers. */
	memfd = memfd_create("mshare-1500-baseline", 0);
	if (memfd < 0 || ftruncate(memfd, SIZE))
		tap_bail("cannot make a memfd");
	base = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (base == MAP_FAILED)
		tap_bail("cannot map the memfd");
	fill(base);
	munmap(base, SIZE);
	snprintf(target, sizeof(target), "%d", memfd);

	if (pipe2(report, O_CLOEXEC))
		tap_bail("pipe2 failed");
	fcntl(report[1], F_SETFD, 0);

	tap_diag("%u processes a phase, 64 MiB each, helper %s", n, helper);
	run_phase(&idle, "-");
	run_phase(&msh, path);
	run_phase(&mfd, target);

	tap_ok(idle.ok == n, "%u idle helpers start and wait", n);
	tap_ok(msh.ok == n,
	       "%u exec'd helpers attach the region by name and read the right data in every page",
	       n);
	tap_ok(mfd.ok == n,
	       "%u exec'd helpers map the memfd and read the right data in every page", n);

	cost_msh = (msh.pt_kb - idle.pt_kb) * 1024LL;
	cost_mfd = (mfd.pt_kb - idle.pt_kb) * 1024LL;
	tap_diag("PageTables: idle %ld kB, mshare %ld kB, memfd %ld kB",
		 idle.pt_kb, msh.pt_kb, mfd.pt_kb);
	tap_diag("page tables a process: mshare %lld bytes, memfd %lld bytes (S/512 = %llu)",
		 cost_msh / n, cost_mfd / n, SIZE / 512);
	tap_diag("faults reading 64 MiB, a process at most (minor + major) and minor, major in all: mshare %lld, %lld, %lld; memfd %lld, %lld, %lld",
		 (long long)msh.max_flt, (long long)msh.total_flt,
		 (long long)msh.total_majflt, (long long)mfd.max_flt,
		 (long long)mfd.total_flt, (long long)mfd.total_majflt);
	tap_diag("touch loop, mean: mshare %.2f ms, memfd %.2f ms",
		 msh.reported ? msh.total_ns / 1e6 / msh.reported : 0.0,
		 mfd.reported ? mfd.total_ns / 1e6 / mfd.reported : 0.0);
	tap_diag("kill and reap: idle %.1f s, mshare %.1f s, memfd %.1f s",
		 idle.t_reap, msh.t_reap, mfd.t_reap);

	tap_ok(cost_mfd >= (long long)(n * (SIZE / 512) / 2),
	       "the baseline's page tables show in PageTables (%lld bytes a process)",
	       cost_mfd / n);
	tap_ok(cost_msh <= (long long)n * 4096,
	       "the region costs at most one page of page tables a process (%lld bytes)",
	       cost_msh / n);
	tap_ok(msh.reported == n && msh.max_flt <= 1,
	       "each attacher takes at most one fault reading every page (max %lld)",
	       (long long)msh.max_flt);

	close(memfd);
	close(fd);
	unlink(path);
	tap_diag("total %.1f s", now() - t0);
	return tap_done();
}
