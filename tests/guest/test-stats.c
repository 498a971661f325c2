// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSHAREFS_GET_STATS (issue 4 contract):
 *
 * (a) an unsized region reports size 0, the alignment and nothing else;
 *     a sized one its exact size and alignment, no attach, no cost, no
 *     contiguous-PTE blocks (x86-64) and zero reserved words; a region
 *     open read-only reports the same, and a bad buffer is EFAULT;
 * (b) nr_attached, exactly, after every change: attaches in this process,
 *     a fork (which inherits every attach), munmap in the child, the exit
 *     of a child with and without its attach, a child killed by SIGKILL
 *     while attached, a child that execve()s (the attach goes with its old
 *     mm) and an exec'd process that opens the region by name and attaches;
 * (c) rss_bytes, exactly: 0 after CREATE_MAPPING, + the size populated
 *     with MSHAREFS_ADVISE or written through an attach (once, whatever
 *     was populated before), - what MADV_DONTNEED and MSHAREFS_UNMAP drop;
 * (d) pgtable_bytes: it grows by at least the tables a fresh range needs
 *     (64 MiB populated through MSHAREFS_ADVISE: 32 PTE tables, a PMD
 *     and a PUD table; 8 MiB faulted in through an attach: 4 PTE tables
 *     and a PMD table), and every change of it (UNMAP too) is the change
 *     of PageTables in /proc/meminfo over the same step, to the byte;
 *     writing populated memory through an attach changes neither;
 * (e) 8 forked attachers that have read all of the memory cost at most a
 *     few pages of PageTables more than 8 that touched nothing, while
 *     pgtable_bytes and rss_bytes stay as they were (counted once);
 * (f) every fd of the region, in this process and in another, reports
 *     the same values;
 * (g) nr_flushes counts the all-CPU flushes: none to map, populate, fault
 *     or unmap unpopulated memory, one for a PROTECT that takes rights
 *     away from populated memory, and for an UNMAP of it at least one and
 *     at most one a PTE table (dirty shared pages leave the rmap only
 *     after a flush: zap_pte_range()'s delayed rmap).
 *
 * Children report to the parent through a pipe and wait on another for
 * the go of their next step; every count is read once the change it
 * tests is complete (the child reported after it, or was reaped).
 * Exec'd children are this program run again with a role.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>

#include "guest.h"

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)
#define PAGE		4096ULL
#define NR_MEM		(4 * MiB)	/* (b) */
#define RSS_MEM		(64 * MiB)	/* (c) */
#define PT_MEM		(64 * MiB)	/* (d), (e) */
#define PT_FAR		GiB		/* (d): a second range, under its own PMD table */
#define PT_FAULT	(8 * MiB)	/* (d): its size; faulted page by page, so small */
#define NGROUP		8		/* (e) */
/*
 * (e): PageTables that 8 touching attachers may add over 8 idle ones, in
 * all. Both groups are forks of one process running the same code, so
 * each child faults the same text and data in, into the same tables
 * (fork copies no table of a file mapping without anonymous pages); the
 * touch loop alone is extra, and lies in this program's text, under a
 * PTE table every child fills anyway. The region's tables are the
 * host's, linked at the top level (PGD with 4-level paging, which no
 * PageTables counts). So 0 is expected, and measured; 2 pages of slack
 * (the "few pages" of the contract) is still far below the 8 * 33 pages
 * unshared tables for 64 MiB would take, or one table per attacher.
 */
#define GROUP_SLACK	(2 * PAGE)

/* A child's ends of its report and go pipes, kept across exec. */
#define PEER_UP		100
#define PEER_DOWN	101

static uint64_t align;

/* One report of a child: its step, 0 or what went wrong, its view of the stats. */
struct msg {
	int32_t step;
	int32_t status;
	struct mshare_stats st;
};

struct peer {
	pid_t pid;
	int up, down;
	struct msg m;
};

static uint64_t pat(uint64_t page)
{
	return ((page + 1) * 0x9e3779b97f4a7c15ULL) | 1;
}

/* Write the first word of every page of [@base + @off, + @size). */
static void write_pages(char *base, uint64_t off, uint64_t size)
{
	for (uint64_t p = off / PAGE; p < (off + size) / PAGE; p++)
		*(volatile uint64_t *)(base + p * PAGE) = pat(p);
}

/* Pages of [@base + @off, + @size) not holding what write_pages() put there. */
static uint64_t check_pages(const char *base, uint64_t off, uint64_t size)
{
	uint64_t bad = 0;

	for (uint64_t p = off / PAGE; p < (off + size) / PAGE; p++)
		bad += *(const volatile uint64_t *)(base + p * PAGE) != pat(p);
	return bad;
}

/* region_new(), with the fd closed on exec: exec'd children open by name. */
static int new_region(const char *name, char *path, size_t len, uint64_t size)
{
	int fd = region_new(name, path, len, size);

	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static char *attach(int fd, int prot)
{
	char *base = region_attach(fd, align, prot);

	if (base == MAP_FAILED)
		tap_bail("cannot attach a region");
	return base;
}

/*
 * One TAP line: @st is @want, field by field; each field that differs
 * is shown.
 */
static bool stats_are(const struct mshare_stats *st,
		      const struct mshare_stats *want, const char *fmt, ...)
{
	static const char *const names[] = {
		"size", "align", "nr_attached", "pgtable_bytes", "rss_bytes",
		"nr_cont_blocks", "nr_flushes", "reserved[0]", "reserved[1]",
		"reserved[2]",
	};
	const uint64_t *a = (const uint64_t *)st, *b = (const uint64_t *)want;
	bool ok = true;
	va_list ap;

	_Static_assert(sizeof(*st) == sizeof(names) / sizeof(names[0]) * 8,
		       "struct mshare_stats is 10 u64s");
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (a[i] != b[i]) {
			tap_diag("%s is %llu (%#llx), wanted %llu", names[i],
				 (unsigned long long)a[i], (unsigned long long)a[i],
				 (unsigned long long)b[i]);
			ok = false;
		}
	}
	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* The stats of a sized, populated region, from its counts. */
static struct mshare_stats sized(uint64_t nr_attached, uint64_t pgtable_bytes,
				 uint64_t rss_bytes)
{
	return (struct mshare_stats){
		.size = align,
		.align = align,
		.nr_attached = nr_attached,
		.pgtable_bytes = pgtable_bytes,
		.rss_bytes = rss_bytes,
	};
}

static uint64_t nr_attached(int fd)
{
	struct mshare_stats st;

	region_stats(fd, &st);
	return st.nr_attached;
}

static uint64_t rss(int fd)
{
	struct mshare_stats st;

	region_stats(fd, &st);
	return st.rss_bytes;
}

/* ---- children ---------------------------------------------------------- */

/* Child side: report on @step, with the stats of @fd if it is >= 0. */
static void say(int32_t step, int32_t status, int fd)
{
	struct msg m = { .step = step, .status = status };

	if (fd >= 0 && ioctl(fd, MSHAREFS_GET_STATS, &m.st))
		m.status = m.status ?: errno;
	if (write(PEER_UP, &m, sizeof(m)) != sizeof(m))
		_exit(122);
}

/* Child side: wait for the go of the next step; 'q' ends the child. */
static void hear(void)
{
	char c;

	if (read(PEER_DOWN, &c, 1) != 1)
		_exit(123);
	if (c == 'q')
		_exit(0);
}

static void __attribute__((noreturn)) hear_until_end(void)
{
	for (;;)
		hear();
}

/*
 * Start a child with its pipe ends at PEER_UP and PEER_DOWN: it runs
 * @fn(@arg), or with @argv this program again.
 */
static void peer_start(struct peer *p, int (*fn)(void *), void *arg,
		       char *const *argv)
{
	int up[2], down[2];

	if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC))
		tap_bail("pipe2 failed");
	fflush(stdout);
	p->pid = fork();
	if (p->pid < 0)
		tap_bail("fork failed");
	if (!p->pid) {
		if (dup2(up[1], PEER_UP) < 0 || dup2(down[0], PEER_DOWN) < 0)
			_exit(120);
		if (argv) {
			execv("/proc/self/exe", argv);
			_exit(121);
		}
		_exit(fn(arg));
	}
	close(up[1]);
	close(down[0]);
	p->up = up[0];
	p->down = down[1];
}

/* Parent side: @p's report on @step; false (and a diagnostic) if none came. */
static bool peer_get(struct peer *p, int step)
{
	ssize_t n = read(p->up, &p->m, sizeof(p->m));

	if (n != sizeof(p->m) || p->m.step != step) {
		tap_diag("child %d: no report for step %d (got %zd bytes, step %d)",
			 (int)p->pid, step, n, n == sizeof(p->m) ? p->m.step : -1);
		p->m = (struct msg){ .step = step, .status = -1 };
		return false;
	}
	if (p->m.status)
		tap_diag("child %d: step %d failed with %d", (int)p->pid, step,
			 p->m.status);
	return !p->m.status;
}

static void peer_go(struct peer *p)
{
	if (write(p->down, "g", 1) != 1)
		tap_diag("child %d is gone", (int)p->pid);
}

/* Reap @p: true if it ended as @sig says (0: exit status 0). */
static bool peer_reap(struct peer *p, int sig)
{
	int status;
	bool ok;

	close(p->down);
	close(p->up);
	if (waitpid(p->pid, &status, 0) != p->pid)
		return false;
	ok = sig ? WIFSIGNALED(status) && WTERMSIG(status) == sig :
		   WIFEXITED(status) && !WEXITSTATUS(status);
	if (!ok)
		tap_diag("child %d ended with status %#x", (int)p->pid, status);
	return ok;
}

/* End @p ('q') and reap it. */
static bool peer_end(struct peer *p)
{
	if (write(p->down, "q", 1) != 1)
		tap_diag("child %d is gone", (int)p->pid);
	return peer_reap(p, 0);
}

/* Exec'd child: "test-stats ROLE PATH [SIZE]". */
static void peer_exec(struct peer *p, const char *role, const char *path,
		      uint64_t size)
{
	char a_size[32];
	char *argv[] = { "test-stats", (char *)role, (char *)path, a_size, NULL };

	snprintf(a_size, sizeof(a_size), "%llu", (unsigned long long)size);
	peer_start(p, NULL, NULL, argv);
}

/*
 * Exec'd roles. "idle": report (step 1), then wait to end. "attacher":
 * open the region by name, read-only, report its stats (step 1); on the
 * go attach it and read the first SIZE bytes, report (step 2) and wait
 * to end.
 */
static int child_main(int argc, char **argv)
{
	uint64_t size;
	char *base;
	int fd;

	if (argc == 4 && !strcmp(argv[1], "idle")) {
		say(1, 0, -1);
		hear_until_end();
	}
	if (argc != 4 || strcmp(argv[1], "attacher"))
		return 2;
	size = strtoull(argv[3], NULL, 0);
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say(1, errno, -1);
		return 1;
	}
	say(1, 0, fd);
	hear();
	base = region_attach(fd, align, PROT_READ);
	if (base == MAP_FAILED) {
		say(2, errno, -1);
		return 1;
	}
	say(2, check_pages(base, 0, size) ? -2 : 0, fd);
	hear_until_end();
}

/* ---- (a) --------------------------------------------------------------- */

static void test_basic(void)
{
	struct mshare_stats st, want;
	char path[512];
	void *ro_page;
	int fd, ro;

	fd = new_region("stats-basic", path, sizeof(path), 0);
	region_stats(fd, &st);
	want = (struct mshare_stats){ .align = align };
	stats_are(&st, &want, "(a) unsized region: size 0, align %llu, all else 0",
		  (unsigned long long)align);

	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		tap_bail("cannot open a region read-only");
	memset(&st, 0xff, sizeof(st));
	TAP_SUCCESS(ioctl(ro, MSHAREFS_GET_STATS, &st),
		    "(a) GET_STATS works on an unsized region open read-only");
	stats_are(&st, &want, "(a) ... and reports the same");
	close(ro);

	if (ftruncate(fd, align))
		tap_bail("cannot size a region");
	region_stats(fd, &st);
	want = sized(0, 0, 0);
	stats_are(&st, &want,
		  "(a) sized region: size and align %llu, no attach, no tables, no RSS, nr_cont_blocks 0, nr_flushes 0, reserved 0",
		  (unsigned long long)align);

	if (region_map_anon(fd, 0, NR_MEM))
		tap_bail("cannot map memory into a region");
	region_stats(fd, &st);
	stats_are(&st, &want,
		  "(a) CREATE_MAPPING changes none of them (nothing is faulted in)");

	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		tap_bail("cannot open a region read-only");
	memset(&st, 0xff, sizeof(st));
	TAP_SUCCESS(ioctl(ro, MSHAREFS_GET_STATS, &st),
		    "(a) GET_STATS works on a sized region open read-only (no EBADF)");
	stats_are(&st, &want, "(a) ... and reports the same");

	ro_page = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro_page == MAP_FAILED)
		tap_bail("mmap failed");
	TAP_ERRNO(ioctl(fd, MSHAREFS_GET_STATS, NULL), EFAULT,
		  "(a) GET_STATS into NULL: EFAULT");
	TAP_ERRNO(ioctl(fd, MSHAREFS_GET_STATS, ro_page), EFAULT,
		  "(a) GET_STATS into a read-only page: EFAULT");
	TAP_ERRNO(ioctl(ro, MSHAREFS_GET_STATS, (char *)ro_page + PAGE - 8), EFAULT,
		  "(a) GET_STATS through the read-only fd into a buffer past the end of a mapping: EFAULT");
	TAP_ERRNO(ioctl(ro, MSHAREFS_GET_STATS, (void *)-4096L), EFAULT,
		  "(a) GET_STATS into a kernel address: EFAULT");
	munmap(ro_page, PAGE);

	region_stats(fd, &st);
	stats_are(&st, &want, "(a) the failed calls changed nothing");
	close(ro);
	close(fd);
	unlink(path);
}

/* ---- (b) --------------------------------------------------------------- */

static char *nr_a1, *nr_a2;	/* the parent's attaches, inherited by forks */

/* Inherits two attaches, drops them one by one, then exits. */
static int unmapper(void *arg)
{
	(void)arg;
	say(1, 0, -1);
	hear();
	say(2, munmap(nr_a2, align) ? errno : 0, -1);
	hear();
	say(3, munmap(nr_a1, align) ? errno : 0, -1);
	hear_until_end();
}

/* Inherits an attach, writes through it and waits: to exit, or to be killed. */
static int holder(void *arg)
{
	(void)arg;
	write_pages(nr_a1, 0, NR_MEM);
	say(1, 0, -1);
	hear_until_end();
}

/* Inherits an attach, reports, then execs this program as "idle". */
static int execer(void *arg)
{
	char *argv[] = { "test-stats", "idle", (char *)arg, "0", NULL };

	say(1, check_pages(nr_a1, 0, NR_MEM) ? -2 : 0, -1);
	hear();
	execv("/proc/self/exe", argv);
	return 121;
}

static void nr_is(int fd, uint64_t want, const char *what)
{
	uint64_t n = nr_attached(fd);

	tap_ok(n == want, "(b) %s: nr_attached %llu (wanted %llu)", what,
	       (unsigned long long)n, (unsigned long long)want);
}

static void test_nr_attached(void)
{
	struct peer c;
	char path[512];
	int fd;

	fd = new_region("stats-nr", path, sizeof(path), align);
	if (region_map_anon(fd, 0, NR_MEM))
		tap_bail("cannot map memory into a region");
	nr_is(fd, 0, "no attach yet");

	nr_a1 = attach(fd, PROT_READ | PROT_WRITE);
	write_pages(nr_a1, 0, NR_MEM);
	nr_is(fd, 1, "attached once");
	nr_a2 = attach(fd, PROT_READ);
	nr_is(fd, 2, "attached twice by this process");

	/* Fork with two attaches: the child gets both */
	peer_start(&c, unmapper, NULL, NULL);
	peer_get(&c, 1);
	nr_is(fd, 4, "a fork of a process with two attaches");
	peer_go(&c);
	peer_get(&c, 2);
	nr_is(fd, 3, "the child munmap()s one");
	peer_go(&c);
	peer_get(&c, 3);
	nr_is(fd, 2, "the child munmap()s the other");
	tap_ok(peer_end(&c), "(b) the child, no longer attached, exits");
	nr_is(fd, 2, "the child without attaches is reaped");

	tap_ok(!munmap(nr_a2, align), "(b) munmap of this process's second attach");
	nr_is(fd, 1, "after it");

	/* Exit while attached */
	peer_start(&c, holder, NULL, NULL);
	peer_get(&c, 1);
	nr_is(fd, 2, "a fork of the attached process, having written through the attach");
	tap_ok(peer_end(&c), "(b) the attached child exits");
	nr_is(fd, 1, "the attached child is reaped");

	/* SIGKILL while attached */
	peer_start(&c, holder, NULL, NULL);
	peer_get(&c, 1);
	nr_is(fd, 2, "another attached fork");
	kill(c.pid, SIGKILL);
	tap_ok(peer_reap(&c, SIGKILL), "(b) SIGKILL ends it");
	nr_is(fd, 1, "the killed child is reaped");

	/* execve() drops the inherited attach */
	peer_start(&c, execer, path, NULL);
	peer_get(&c, 1);
	nr_is(fd, 2, "a fork that will exec");
	peer_go(&c);
	tap_ok(peer_get(&c, 1), "(b) it execs this program again, which reports");
	nr_is(fd, 1, "the child has exec'd");
	tap_ok(peer_end(&c), "(b) the exec'd child exits");
	nr_is(fd, 1, "it is reaped");

	/* An exec'd process attaching by name */
	peer_exec(&c, "attacher", path, NR_MEM);
	tap_ok(peer_get(&c, 1), "(b) an exec'd process opens the region by name");
	nr_is(fd, 1, "it has not attached yet");
	tap_ok(c.m.st.nr_attached == 1,
	       "(b) ... and reads nr_attached 1 through its own read-only fd (%llu)",
	       (unsigned long long)c.m.st.nr_attached);
	peer_go(&c);
	tap_ok(peer_get(&c, 2), "(b) it attaches and reads what this process wrote");
	nr_is(fd, 2, "the exec'd process attached");
	tap_ok(c.m.st.nr_attached == 2,
	       "(b) ... and reads nr_attached 2 itself (%llu)",
	       (unsigned long long)c.m.st.nr_attached);
	tap_ok(peer_end(&c), "(b) it exits");
	nr_is(fd, 1, "it is reaped");

	tap_ok(!munmap(nr_a1, align), "(b) munmap of this process's last attach");
	nr_is(fd, 0, "after it");
	close(fd);
	unlink(path);
}

/* ---- (c) --------------------------------------------------------------- */

static void rss_is(int fd, uint64_t want, const char *what)
{
	uint64_t r = rss(fd);

	tap_ok(r == want, "(c) %s: rss_bytes %llu MiB + %llu (wanted %llu MiB)",
	       what, (unsigned long long)(r / MiB),
	       (unsigned long long)(r % MiB), (unsigned long long)(want / MiB));
}

static void test_rss(void)
{
	char path[512];
	char *base;
	int fd;

	fd = new_region("stats-rss", path, sizeof(path), align);
	TAP_SUCCESS(region_map_anon(fd, 0, RSS_MEM),
		    "(c) map 64 MiB of anonymous memory into a region");
	rss_is(fd, 0, "after CREATE_MAPPING");
	TAP_SUCCESS(region_advise(fd, 0, 32 * MiB, MADV_POPULATE_WRITE),
		    "(c) ADVISE MADV_POPULATE_WRITE of [0, 32 MiB)");
	rss_is(fd, 32 * MiB, "after it");

	base = attach(fd, PROT_READ | PROT_WRITE);
	rss_is(fd, 32 * MiB, "after an attach");
	write_pages(base, 32 * MiB, 8 * MiB);
	rss_is(fd, 40 * MiB, "after writing every page of [32, 40 MiB) through the attach");
	TAP_SUCCESS(region_advise(fd, 0, RSS_MEM, MADV_POPULATE_WRITE),
		    "(c) ADVISE MADV_POPULATE_WRITE of all 64 MiB");
	rss_is(fd, 64 * MiB, "after it (each page counted once)");

	TAP_SUCCESS(region_advise(fd, 16 * MiB, 8 * MiB, MADV_DONTNEED),
		    "(c) ADVISE MADV_DONTNEED of [16, 24 MiB)");
	rss_is(fd, 56 * MiB, "after it");
	TAP_SUCCESS(region_advise(fd, 16 * MiB, 8 * MiB, MADV_DONTNEED),
		    "(c) the same MADV_DONTNEED again");
	rss_is(fd, 56 * MiB, "after it (nothing left to drop)");
	tap_ok(!check_pages(base, 32 * MiB, 8 * MiB),
	       "(c) the data written through the attach survives (shmem)");
	rss_is(fd, 56 * MiB, "after reading it back (still mapped)");

	TAP_SUCCESS(region_unmap(fd, 60 * MiB, 4 * MiB),
		    "(c) UNMAP of [60, 64 MiB)");
	rss_is(fd, 52 * MiB, "after it");
	TAP_SUCCESS(region_unmap(fd, 0, 60 * MiB), "(c) UNMAP of [0, 60 MiB)");
	rss_is(fd, 0, "after it");

	munmap(base, align);
	close(fd);
	unlink(path);
}

/* ---- (d), (e), (f) ----------------------------------------------------- */

/* PageTables of /proc/meminfo in kB, -1 if unreadable; allocates nothing. */
static long pagetables_kb(void)
{
	static char buf[16384];
	size_t len = 0;
	ssize_t n;
	char *p;
	int fd;

	fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	p = strstr(buf, "\nPageTables:");
	return p ? strtol(p + strlen("\nPageTables:"), NULL, 10) : -1;
}

/*
 * PageTables once it has stopped moving: a page-table free can lag the
 * exit that caused it (RCU table freeing, on kernels that have it), and
 * must not land inside a measurement.
 */
static long settled_kb(void)
{
	long prev = -2, kb = -1;

	for (int i = 0; i < 100; i++) {
		vmstat_refresh();
		kb = pagetables_kb();
		if (kb == prev)
			break;
		prev = kb;
		usleep(10000);
	}
	return kb;
}

struct snap {
	long kb;		/* PageTables */
	struct mshare_stats st;
};

static void snap(int fd, struct snap *s)
{
	vmstat_refresh();
	s->kb = pagetables_kb();
	region_stats(fd, &s->st);
}

/*
 * The step from @a to @b: pgtable_bytes changed by PageTables' change,
 * exactly, and (if @min_pages >= 0) grew by at least @min_pages pages.
 *
 * Exact, with no tolerance: PageTables counts the PTE, PMD and PUD
 * tables of user mms (those levels' constructors; no PGD, no kernel
 * table), the very tables mm_pgtables_bytes() of the host counts, and
 * vmstat_refresh() folds the per-CPU counts in. Nothing else may
 * allocate or free a table in between: this process has faulted in all
 * it touches (stack, static buffer, its code and the libc calls it makes:
 * snap() and settled_kb() have run before), the guest runs nothing else,
 * and settled_kb() lets a free lagging an earlier exit land first.
 */
static void pt_step_ok(const struct snap *a, const struct snap *b,
		       long min_pages, const char *what)
{
	long long dpt = (long long)(b->st.pgtable_bytes - a->st.pgtable_bytes);
	long long dkb = (long long)(b->kb - a->kb) * (long long)KiB;

	tap_diag("(d) %s: pgtable_bytes %llu -> %llu (%+lld, %+lld pages), PageTables %ld -> %ld kB (%+lld bytes)",
		 what, (unsigned long long)a->st.pgtable_bytes,
		 (unsigned long long)b->st.pgtable_bytes, dpt,
		 dpt / (long long)PAGE, a->kb, b->kb, dkb);
	if (min_pages >= 0)
		tap_ok(dpt >= min_pages * (long long)PAGE,
		       "(d) %s: pgtable_bytes grows by at least %ld pages (%+lld)",
		       what, min_pages, dpt / (long long)PAGE);
	tap_ok(a->kb > 0 && b->kb > 0 && dpt == dkb,
	       "(d) %s: the change of pgtable_bytes is the change of PageTables (%+lld, %+lld bytes)",
	       what, dpt, dkb);
}

/* Write each page of 256 kB of stack, so that later calls find it faulted in. */
static void __attribute__((noinline)) fault_stack(void)
{
	volatile char buf[256 * KiB];

	for (size_t i = 0; i < sizeof(buf); i += PAGE)
		buf[i] = 0;
}

static char *grp_base;		/* (e): the parent's attach, inherited */

/* (e) A forked attacher: with @arg, read every page of the memory first. */
static int group_child(void *arg)
{
	say(1, arg && check_pages(grp_base, 0, PT_MEM) ? -2 : 0, -1);
	hear_until_end();
}

/*
 * (e) NGROUP forks, touching (@touch) or idle, all reported: PageTables
 * and the stats while they all wait, then they are ended. *@bad counts
 * those that did not do their part.
 */
static void run_group(int fd, bool touch, struct snap *s, int *bad)
{
	struct peer kids[NGROUP];

	*bad = 0;
	settled_kb();
	for (int i = 0; i < NGROUP; i++)
		peer_start(&kids[i], group_child, touch ? "touch" : NULL, NULL);
	for (int i = 0; i < NGROUP; i++)
		*bad += !peer_get(&kids[i], 1);
	s->kb = settled_kb();
	region_stats(fd, &s->st);
	for (int i = 0; i < NGROUP; i++)
		*bad += !peer_end(&kids[i]);
}

static void test_pgtables(void)
{
	struct snap a, b, idle, touched;
	struct mshare_stats st, other;
	int fd, fds[5], bad_idle, bad_touch;
	char path[512];
	struct peer c;

	fd = new_region("stats-pt", path, sizeof(path), align);
	if (region_map_anon(fd, 0, PT_MEM) || region_map_anon(fd, PT_FAR, PT_FAULT))
		tap_bail("cannot map memory into a region");
	/*
	 * 4 kB pages whatever shmem_enabled says, so that the tables are
	 * those of 4 kB pages.
	 */
	if (region_advise(fd, 0, PT_MEM, MADV_NOHUGEPAGE) ||
	    region_advise(fd, PT_FAR, PT_FAULT, MADV_NOHUGEPAGE))
		tap_diag("ADVISE MADV_NOHUGEPAGE failed: %s", strerror(errno));

	/* Fault in everything the measurements use */
	fault_stack();
	snap(fd, &a);
	settled_kb();
	tap_ok(a.st.pgtable_bytes == 0,
	       "(d) a region with memory mapped but nothing faulted has no page tables (%llu)",
	       (unsigned long long)a.st.pgtable_bytes);

	/* 32 PTE tables, their PMD table and the PUD table above */
	settled_kb();
	snap(fd, &a);
	if (region_advise(fd, 0, PT_MEM, MADV_POPULATE_WRITE))
		tap_diag("ADVISE MADV_POPULATE_WRITE failed: %s", strerror(errno));
	snap(fd, &b);
	pt_step_ok(&a, &b, PT_MEM / (2 * MiB) + 2,
		   "ADVISE MADV_POPULATE_WRITE of a fresh 64 MiB");
	tap_ok(b.st.rss_bytes == PT_MEM, "(d) rss_bytes is 64 MiB after it (%llu)",
	       (unsigned long long)b.st.rss_bytes);

	/* Faults through an attach: 4 PTE tables and a PMD table, in the host */
	grp_base = attach(fd, PROT_READ | PROT_WRITE);
	settled_kb();
	snap(fd, &a);
	write_pages(grp_base, PT_FAR, PT_FAULT);
	snap(fd, &b);
	pt_step_ok(&a, &b, PT_FAULT / (2 * MiB) + 1,
		   "writing a fresh 8 MiB 1 GiB away through an attach");

	settled_kb();
	snap(fd, &a);
	if (region_unmap(fd, PT_FAR, PT_FAULT))
		tap_diag("UNMAP failed: %s", strerror(errno));
	snap(fd, &b);
	pt_step_ok(&a, &b, -1, "UNMAP of that 8 MiB");
	tap_ok(b.st.pgtable_bytes <= a.st.pgtable_bytes,
	       "(d) UNMAP does not grow pgtable_bytes (%+lld pages)",
	       (long long)(b.st.pgtable_bytes - a.st.pgtable_bytes) / (long long)PAGE);

	settled_kb();
	snap(fd, &a);
	write_pages(grp_base, 0, PT_MEM);
	snap(fd, &b);
	tap_ok(b.st.pgtable_bytes == a.st.pgtable_bytes && b.kb == a.kb,
	       "(d) writing every page of the populated 64 MiB through the attach: no page table anywhere (pgtable_bytes %+lld, PageTables %+ld kB)",
	       (long long)(b.st.pgtable_bytes - a.st.pgtable_bytes), b.kb - a.kb);

	/* (e) */
	run_group(fd, false, &idle, &bad_idle);
	run_group(fd, true, &touched, &bad_touch);
	tap_ok(!bad_idle, "(e) %d forked attachers that touch nothing start, report and exit",
	       NGROUP);
	tap_ok(!bad_touch, "(e) %d forked attachers read every page of 64 MiB, report and exit",
	       NGROUP);
	tap_diag("(e) PageTables with %d forked attachers: idle %ld kB, having read 64 MiB %ld kB (%+ld kB)",
		 NGROUP, idle.kb, touched.kb, touched.kb - idle.kb);
	tap_ok(idle.kb > 0 && touched.kb > 0 &&
	       (touched.kb - idle.kb) * (long)KiB <= (long)GROUP_SLACK,
	       "(e) they add at most %llu kB of page tables in all (%+ld kB; unshared tables would be about %llu kB)",
	       GROUP_SLACK / KiB, touched.kb - idle.kb,
	       NGROUP * (PT_MEM / (2 * MiB) + 1) * PAGE / KiB);
	tap_ok(touched.st.pgtable_bytes == b.st.pgtable_bytes &&
	       idle.st.pgtable_bytes == b.st.pgtable_bytes,
	       "(e) pgtable_bytes is the same with none, %d idle and %d touching attachers (%llu, %llu, %llu)",
	       NGROUP, NGROUP, (unsigned long long)b.st.pgtable_bytes,
	       (unsigned long long)idle.st.pgtable_bytes,
	       (unsigned long long)touched.st.pgtable_bytes);
	tap_ok(touched.st.rss_bytes == PT_MEM && idle.st.rss_bytes == PT_MEM,
	       "(e) rss_bytes stays 64 MiB, counted once (%llu, %llu)",
	       (unsigned long long)idle.st.rss_bytes,
	       (unsigned long long)touched.st.rss_bytes);
	tap_ok(touched.st.nr_attached == 1 + NGROUP && idle.st.nr_attached == 1 + NGROUP,
	       "(e) nr_attached is %d with either group (%llu, %llu)", 1 + NGROUP,
	       (unsigned long long)idle.st.nr_attached,
	       (unsigned long long)touched.st.nr_attached);
	region_stats(fd, &st);
	tap_ok(st.nr_attached == 1 && st.pgtable_bytes == b.st.pgtable_bytes &&
	       st.rss_bytes == PT_MEM,
	       "(e) once they are reaped: nr_attached 1, pgtable_bytes and rss_bytes unchanged");

	/* (f) */
	fds[0] = open(path, O_RDONLY | O_CLOEXEC);
	fds[1] = open(path, O_RDWR | O_CLOEXEC);
	fds[2] = dup(fd);
	{
		char self[64];

		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		fds[3] = open(self, O_RDONLY | O_CLOEXEC);
	}
	fds[4] = open(path, O_WRONLY | O_CLOEXEC);
	for (int i = 0; i < 5; i++)
		if (fds[i] < 0)
			tap_bail("cannot open the region again");
	region_stats(fd, &st);
	{
		static const char *const how[] = {
			"open O_RDONLY by name", "open O_RDWR by name", "dup()",
			"reopened through /proc/self/fd", "open O_WRONLY by name",
		};

		for (int i = 0; i < 5; i++) {
			region_stats(fds[i], &other);
			stats_are(&other, &st, "(f) a fd %s reports the same as the creator's",
				  how[i]);
			close(fds[i]);
		}
	}
	peer_exec(&c, "attacher", path, PT_MEM);
	if (peer_get(&c, 1)) {
		region_stats(fd, &st);
		stats_are(&c.m.st, &st,
			  "(f) an exec'd process's own read-only fd reports the same");
	} else {
		tap_ok(false, "(f) an exec'd process's own read-only fd reports the same");
	}
	peer_go(&c);
	if (peer_get(&c, 2)) {
		region_stats(fd, &st);
		stats_are(&c.m.st, &st,
			  "(f) ... and the same again once it has attached and read 64 MiB (nr_attached %llu)",
			  (unsigned long long)st.nr_attached);
	} else {
		tap_ok(false, "(f) ... and the same again once it has attached and read 64 MiB");
	}
	tap_ok(peer_end(&c), "(f) it exits");

	munmap(grp_base, align);
	close(fd);
	unlink(path);
}

static void test_flushes(void)
{
	struct mshare_stats st0, st;
	char path[512];
	char *base;
	int fd;

	fd = new_region("stats-flushes", path, sizeof(path), align);
	if (region_map_anon(fd, 0, RSS_MEM) || region_map_anon(fd, GiB, RSS_MEM))
		tap_bail("cannot map memory into a region");
	TAP_SUCCESS(region_unmap(fd, GiB, RSS_MEM), "(g) UNMAP of unpopulated memory");
	TAP_SUCCESS(region_advise(fd, 0, RSS_MEM / 2, MADV_POPULATE_WRITE),
		    "(g) populate 32 MiB");
	base = attach(fd, PROT_READ | PROT_WRITE);
	for (uint64_t off = RSS_MEM / 2; off < RSS_MEM; off += PAGE)
		base[off] = 1;
	region_stats(fd, &st);
	tap_ok(st.nr_flushes == 0,
	       "(g) mapping, populating, faulting and unmapping nothing flush nothing (%llu)",
	       (unsigned long long)st.nr_flushes);
	st0 = st;
	TAP_SUCCESS(region_protect(fd, 0, RSS_MEM, PROT_READ), "(g) PROTECT 64 MiB read-only");
	region_stats(fd, &st);
	tap_ok(st.nr_flushes == st0.nr_flushes + 1,
	       "(g) ... flushes every CPU once, not once a page (%llu)",
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
	st0 = st;
	TAP_SUCCESS(region_unmap(fd, 0, RSS_MEM), "(g) UNMAP the 64 MiB");
	region_stats(fd, &st);
	/*
	 * Dirty shared pages leave the rmap only after a flush, table by
	 * table. The gather also flushes early when it cannot grow its
	 * batch (a GFP_NOWAIT page): a loaded debug kernel saw 35 for the
	 * 32 tables. Twice a table is still far from once a page (16384).
	 */
	tap_ok(st.nr_flushes > st0.nr_flushes &&
	       st.nr_flushes <= st0.nr_flushes + 2 * (RSS_MEM / (2 * MiB)) + 2,
	       "(g) ... flushes every CPU at most about once a PTE table, not once a page (%llu)",
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
	munmap(base, align);
	close(fd);
	unlink(path);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		align = mshare_align_raw();
		return child_main(argc, argv);
	}
	require_msharefs();
	align = mshare_align_raw();
	signal(SIGPIPE, SIG_IGN);

	test_basic();
	test_nr_attached();
	test_rss();
	test_pgtables();
	test_flushes();
	return tap_done();
}
