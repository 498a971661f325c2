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
 * Three phases of N processes (N = 1500, 300 on the debug kernel, or
 * argv[1]), each the helper mshare-attacher found next to this program:
 * "idle" (start and wait), "mshare" (attach the region and read it),
 * "memfd" (map the memfd and read it). Once all N of a phase have
 * reported through one shared pipe and wait, PageTables is read; then
 * they are all killed and reaped.
 */
#define _GNU_SOURCE
#include "attachers.h"

#define MiB		(1024ULL * 1024)
#define SIZE		(64 * MiB)

static unsigned int n;

/* Start N helpers in @a->mode on @target, read PageTables, kill them all. */
static long run_phase(struct attachers *a, const char *target)
{
	long pt_kb;

	attachers_start(a, n, target, SIZE);
	vmstat_refresh();
	pt_kb = proc_kb("/proc/meminfo", "PageTables");
	attachers_stop(a);
	tap_diag("%s: %u started in %.1f s, %u reported (%u ok) after %.1f s, PageTables %ld kB, killed and reaped in %.1f s",
		 a->mode, a->spawned, a->t_spawn, a->reported, a->ok,
		 a->t_report, pt_kb, a->t_reap);
	return pt_kb;
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

int main(int argc, char **argv)
{
	struct attachers idle = { .mode = "idle" }, msh = { .mode = "mshare" },
			 mfd = { .mode = "memfd" };
	long idle_kb, msh_kb, mfd_kb;
	char path[512], target[16], *base;
	long long cost_msh, cost_mfd;
	uint64_t align;
	double t0 = attachers_now();
	int fd, memfd;

	require_msharefs();
	align = mshare_align_raw();
	n = argc > 1 ? strtoul(argv[1], NULL, 10) : scaled_nproc(1500);
	if (!n)
		tap_bail("usage: test-1500 [NPROC]");
	attachers_helper();

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

	tap_diag("%u processes a phase, 64 MiB each, helper %s", n,
		 attachers_helper());
	idle_kb = run_phase(&idle, "-");
	msh_kb = run_phase(&msh, path);
	mfd_kb = run_phase(&mfd, target);

	tap_ok(idle.ok == n, "%u idle helpers start and wait", n);
	tap_ok(msh.ok == n,
	       "%u exec'd helpers attach the region by name and read the right data in every page",
	       n);
	tap_ok(mfd.ok == n,
	       "%u exec'd helpers map the memfd and read the right data in every page", n);

	cost_msh = (msh_kb - idle_kb) * 1024LL;
	cost_mfd = (mfd_kb - idle_kb) * 1024LL;
	tap_diag("PageTables: idle %ld kB, mshare %ld kB, memfd %ld kB",
		 idle_kb, msh_kb, mfd_kb);
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
	tap_diag("total %.1f s", attachers_now() - t0);
	return tap_done();
}
