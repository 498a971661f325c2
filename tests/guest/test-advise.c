// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSHAREFS_ADVISE (issue 4 contract): each advice, by its effect.
 *
 * - MADV_HUGEPAGE / MADV_NOHUGEPAGE: with shmem_enabled=advise, only the
 *   advised 2 MiB-aligned part of an anonymous range gets PMD-mapped THPs
 *   when populated; with shmem_enabled=always, all of it but the part
 *   advised NOHUGEPAGE (ShmemHugePages, ShmemPmdMapped, rss_bytes);
 * - MADV_DONTNEED: rss_bytes falls by the size, the memory stays (Shmem)
 *   and so does the data, read back by a new attacher;
 * - MADV_POPULATE_READ / MADV_POPULATE_WRITE: rss_bytes grows by the
 *   size, and a process exec'd afterwards reads every page of the range
 *   with at most one fault, where the same reading without populating
 *   takes one at least every fault-around window (a baseline measured in
 *   the same run); populating memory without the permission is EINVAL,
 *   beyond the end of a file EFAULT, as madvise(2) answers;
 * - MADV_REMOVE: anonymous memory reads zero afterwards, Shmem falls and
 *   MemFree rises by the size; EACCES on a file mapped read-only, and on
 *   a PROT_READ anonymous range what madvise(2) answers (success: shared
 *   anonymous memory may always be made writable, VM_MAYWRITE);
 * - MADV_COLD: pages made active (and seen to be) move to the inactive
 *   anon list, mapped as before;
 * - MADV_PAGEOUT: anonymous memory goes to the zram swap (SwapFree and
 *   rss_bytes fall) and reads back intact;
 * - MADV_WILLNEED / MADV_PAGEOUT on an ext4 file mapped into the region:
 *   evicted pages are read into the page cache, at the file offset the
 *   region range maps, without being mapped; populated clean pages are
 *   dropped from the page cache by PAGEOUT (mincore on a separate mmap
 *   of the file that nothing touches);
 * - errors: EBADF, EINVAL (unsized, reserved, unsupported advice, bad
 *   ranges), ENOMEM at a hole (advice still taken where there is memory),
 *   EFAULT for a bad pointer and failed population.
 *
 * The program pins itself to one CPU: the per-CPU LRU batches that
 * madvise's lru_add_drain() empties are then the only ones it fills, so
 * COLD and PAGEOUT find every page on the LRU. Fault counts come from
 * this program exec'd again as a "toucher" that locks all it has mapped
 * before measuring (as mshare-attacher does).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "guest.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED	24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

#define KiB		1024LL
#define MiB		(1024 * KiB)
#define PAGE		4096ULL
#define HPAGE		(2 * MiB)
#define BIG		(32 * MiB)	/* the anonymous ranges */
#define THP_SIZE	(16 * MiB)	/* the THP ranges; the middle half advised */
#define FILE_SIZE	(8 * MiB)	/* the ext4 file */
#define PO_SIZE		(8 * MiB)	/* anonymous memory paged out */
#define SLOT(n)		((uint64_t)(n) << 30)	/* one range per GiB of the region */

/* The advised middle of a THP range starts and ends on PMD boundaries */
_Static_assert((THP_SIZE / 4) % HPAGE == 0, "THP ranges are 2 MiB-aligned");

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage"
#define SHMEM_ENABLED	THP_DIR "/shmem_enabled"
#define SHMEM_PMD	THP_DIR "/hugepages-2048kB/shmem_enabled"

static uint64_t align;
static char rpath[512];		/* the region, by name, for the touchers */
static int rfd;			/* the region, O_RDWR */
static char *base;		/* this process's attach */

/* The first word of page @page of a range filled with salt @salt. */
static uint64_t pat(unsigned int salt, uint64_t page)
{
	return (((page + 1) * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)salt << 48)) | 1;
}

static void write_pages(char *p, uint64_t size, unsigned int salt)
{
	for (uint64_t i = 0; i < size / PAGE; i++)
		*(volatile uint64_t *)(p + i * PAGE) = pat(salt, i);
}

/* Pages not holding pat(@salt) (or, with salt 0, not zero). */
static uint64_t bad_pages(const char *p, uint64_t size, unsigned int salt)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < size / PAGE; i++)
		bad += *(const volatile uint64_t *)(p + i * PAGE) !=
		       (salt ? pat(salt, i) : 0);
	return bad;
}

static uint64_t rss(void)
{
	struct mshare_stats st;

	region_stats(rfd, &st);
	return st.rss_bytes;
}

/* A /proc/meminfo value in bytes, after folding the per-CPU counters. */
static long long meminfo(const char *key)
{
	vmstat_refresh();
	return proc_kb("/proc/meminfo", key) * KiB;
}

static void map_anon(uint64_t off, uint64_t size)
{
	if (region_map_anon(rfd, off, size))
		tap_bail("cannot map anonymous memory into the region");
}

static void unmap(uint64_t off, uint64_t size)
{
	if (region_unmap(rfd, off, size))
		tap_bail("MSHAREFS_UNMAP failed");
}

/*
 * The toucher: this program exec'd again, a new process with nothing of
 * the region. It locks everything it has mapped and makes the calls of
 * the measurement once, so that the loop can only fault on the region:
 * it attaches the region by name, reads the first word of every page of
 * [off, off + size), and reports the faults of that loop and the pages
 * not holding pat(salt) (zero for salt 0).
 */
struct touch_report {
	int32_t status;		/* 0, or the step that failed */
	int32_t pad;
	int64_t faults;		/* ru_minflt + ru_majflt of the loop */
	int64_t bad;
};

static int toucher(char **argv)
{
	struct touch_report r = { 0 };
	uint64_t off = strtoull(argv[3], NULL, 0);
	uint64_t size = strtoull(argv[4], NULL, 0);
	unsigned int salt = strtoul(argv[5], NULL, 0);
	int out = atoi(argv[6]);
	struct rusage u0, u1;
	struct stat st;
	const char *p;
	int fd;

	if (mlockall(MCL_CURRENT))
		r.status = 1;
	getrusage(RUSAGE_SELF, &u0);
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		r.status = 2;
	} else {
		p = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			r.status = 3;
		} else if (!r.status) {
			getrusage(RUSAGE_SELF, &u0);
			r.bad = bad_pages(p + off, size, salt);
			getrusage(RUSAGE_SELF, &u1);
			r.faults = (u1.ru_minflt - u0.ru_minflt) +
				   (u1.ru_majflt - u0.ru_majflt);
		}
	}
	return write(out, &r, sizeof(r)) == sizeof(r) ? 0 : 1;
}

/* Run a toucher on [@off, @off + @size); its report. */
static struct touch_report touch_exec(uint64_t off, uint64_t size,
				      unsigned int salt)
{
	struct touch_report r = { .status = -1 };
	char a_off[32], a_size[32], a_salt[32], a_fd[16];
	int pfd[2], status;
	pid_t pid;

	if (pipe(pfd))
		tap_bail("pipe failed");
	snprintf(a_off, sizeof(a_off), "%llu", (unsigned long long)off);
	snprintf(a_size, sizeof(a_size), "%llu", (unsigned long long)size);
	snprintf(a_salt, sizeof(a_salt), "%u", salt);
	snprintf(a_fd, sizeof(a_fd), "%d", pfd[1]);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		char *argv[] = { "test-advise", "touch", rpath, a_off, a_size,
				 a_salt, a_fd, NULL };

		close(pfd[0]);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &r, sizeof(r)) != sizeof(r))
		r.status = -1;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		r.status = -1;
	return r;
}

/* The fault-around window of this kernel: the most one fault can map. */
static long long fault_around_bytes(void)
{
	char buf[32];
	ssize_t n;
	int fd = open("/sys/kernel/debug/fault_around_bytes", O_RDONLY);

	if (fd < 0)
		return 64 * KiB;	/* the default */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 64 * KiB;
	buf[n] = '\0';
	return strtoll(buf, NULL, 0);
}

/*
 * DONTNEED, POPULATE_READ, POPULATE_WRITE. Range A is written, dropped
 * (DONTNEED), read by a toucher (the baseline: the data is there, but
 * not mapped), dropped again and populated for reading; range B is
 * populated for writing while empty, then written by this process.
 */
static void test_populate(void)
{
	const uint64_t a = SLOT(3), b = SLOT(4);
	long long fab = fault_around_bytes();
	long long shm0, shm1;
	struct touch_report t;
	uint64_t r0, r1;

	map_anon(a, BIG);
	map_anon(b, BIG);

	/* DONTNEED */
	write_pages(base + a, BIG, 1);
	r0 = rss();
	shm0 = meminfo("Shmem");
	TAP_SUCCESS(region_advise(rfd, a, BIG, MADV_DONTNEED),
		    "DONTNEED on 32 MiB of written anonymous memory");
	r1 = rss();
	shm1 = meminfo("Shmem");
	tap_ok(r0 - r1 == BIG, "DONTNEED: rss_bytes falls by 32 MiB (%lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);
	/* Only the mappings go: the shmem pages stay (1 MiB: others' noise) */
	tap_ok(shm0 - shm1 < 1 * MiB,
	       "DONTNEED: the memory stays (Shmem %+lld kB)", (shm1 - shm0) / KiB);

	t = touch_exec(a, BIG, 1);
	tap_diag("baseline: an exec'd attacher reading 32 MiB not populated: %lld faults (fault-around %lld kB)",
		 (long long)t.faults, fab / KiB);
	tap_ok(!t.status && !t.bad,
	       "DONTNEED: the data is still there for a new attacher (status %d, %lld bad pages)",
	       t.status, (long long)t.bad);
	/* One fault maps at most the fault-around window around it */
	tap_ok(!t.status && t.faults >= (long long)BIG / fab,
	       "baseline: reading the range unpopulated takes at least 32 MiB / fault-around = %lld faults (%lld)",
	       (long long)BIG / fab, (long long)t.faults);

	/* POPULATE_READ */
	TAP_SUCCESS(region_advise(rfd, a, BIG, MADV_DONTNEED),
		    "DONTNEED again: nothing of it mapped");
	r0 = rss();
	TAP_SUCCESS(region_advise(rfd, a, BIG, MADV_POPULATE_READ),
		    "POPULATE_READ on 32 MiB");
	r1 = rss();
	tap_ok(r1 - r0 == BIG, "POPULATE_READ: rss_bytes grows by 32 MiB (%+lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);
	t = touch_exec(a, BIG, 1);
	tap_ok(!t.status && !t.bad,
	       "POPULATE_READ: an exec'd attacher reads the data (status %d, %lld bad pages)",
	       t.status, (long long)t.bad);
	tap_ok(!t.status && t.faults <= 1,
	       "POPULATE_READ: it reads all 8192 pages with at most one fault (%lld)",
	       (long long)t.faults);

	/* POPULATE_WRITE */
	r0 = rss();
	TAP_SUCCESS(region_advise(rfd, b, BIG, MADV_POPULATE_WRITE),
		    "POPULATE_WRITE on 32 MiB never touched");
	r1 = rss();
	tap_ok(r1 - r0 == BIG, "POPULATE_WRITE: rss_bytes grows by 32 MiB (%+lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);
	write_pages(base + b, BIG, 2);
	tap_ok(rss() == r1, "POPULATE_WRITE: writing all of it afterwards maps nothing more");
	t = touch_exec(b, BIG, 2);
	tap_ok(!t.status && !t.bad,
	       "POPULATE_WRITE: an exec'd attacher reads what was written (status %d, %lld bad pages)",
	       t.status, (long long)t.bad);
	tap_ok(!t.status && t.faults <= 1,
	       "POPULATE_WRITE: it reads all 8192 pages with at most one fault (%lld)",
	       (long long)t.faults);

	unmap(a, BIG);
	unmap(b, BIG);
	tap_ok(rss() == r0 - BIG, "both ranges unmapped: rss_bytes as before them");
}

/* Sum of the pages on the per-CPU free lists, which MemFree leaves out. */
static long long pcp_bytes(void)
{
	char line[256];
	long long n = 0;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " ");

		if (!strncmp(s, "count:", 6))
			n += strtoll(s + 6, NULL, 10);
	}
	fclose(f);
	return n * PAGE;
}

/* A file of @size bytes in @dir filled with pat(@salt); its fd (O_RDWR). */
static int pattern_file(const char *dir, const char *name, char *path,
			size_t len, uint64_t size, unsigned int salt)
{
	static char buf[PAGE];
	int fd;

	snprintf(path, len, "%s/%s.%d", dir, name, (int)getpid());
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		tap_bail("cannot create a file");
	for (uint64_t i = 0; i < size / PAGE; i++) {
		memset(buf, 0x5a, sizeof(buf));
		*(uint64_t *)buf = pat(salt, i);
		if (write(fd, buf, PAGE) != PAGE)
			tap_bail("cannot write a file");
	}
	return fd;
}

/* Pages of the file @fd not holding pat(@salt), read with pread(). */
static uint64_t bad_file_pages(int fd, uint64_t size, unsigned int salt)
{
	uint64_t bad = 0, w;

	for (uint64_t i = 0; i < size / PAGE; i++)
		bad += pread(fd, &w, sizeof(w), i * PAGE) != sizeof(w) ||
		       w != pat(salt, i);
	return bad;
}

/*
 * What madvise(2) answers for @advice on [0, @len) of a local MAP_SHARED
 * mapping of @fd (-1: anonymous) with @prot: 0 or an errno.
 */
static int local_madvise(int fd, uint64_t len, int prot, int advice)
{
	char *p = mmap(NULL, len, prot, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0),
		       fd, 0);
	int err;

	if (p == MAP_FAILED)
		tap_bail("cannot map memory locally");
	err = madvise(p, len, advice) ? errno : 0;
	munmap(p, len);
	return err;
}

/* The ioctl's result as 0 or an errno. */
static int advise_err(uint64_t off, uint64_t size, uint32_t advice)
{
	return region_advise(rfd, off, size, advice) ? errno : 0;
}

/*
 * Populating what cannot be accessed so fails as madvise(2) does: on
 * memory without the permission (PROT_READ for POPULATE_WRITE, PROT_NONE)
 * madvise(2) answers EINVAL ("insufficient permissions", __get_user_pages()
 * with FOLL_MADV_POPULATE), and EFAULT where an access would get SIGBUS,
 * beyond the end of a file. Each is compared with madvise(2) on the same
 * mapping made locally, and with the errno madvise(2) documents.
 */
static void test_populate_fail(void)
{
	const uint64_t ro = SLOT(5), prot = SLOT(6), eof = SLOT(15);
	char fpath[512];
	uint64_t r0 = rss(), r1;
	int err, want, ffd;

	TAP_SUCCESS(region_map(rfd, ro, 4 * MiB, PROT_READ,
			       MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS, -1, 0),
		    "map 4 MiB of anonymous memory PROT_READ");
	want = local_madvise(-1, 4 * MiB, PROT_READ, MADV_POPULATE_WRITE);
	err = advise_err(ro, 4 * MiB, MADV_POPULATE_WRITE);
	tap_ok(err == want && err == EINVAL,
	       "POPULATE_WRITE on it: EINVAL, as madvise(2) (%s, madvise: %s)",
	       strerror(err), strerror(want));
	TAP_SUCCESS(region_advise(rfd, ro, 4 * MiB, MADV_POPULATE_READ),
		    "POPULATE_READ on it works");
	r1 = rss();
	tap_ok(r1 - r0 == 4 * MiB, "and maps it (rss_bytes %+lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);

	map_anon(prot, 4 * MiB);
	TAP_SUCCESS(region_protect(rfd, prot, 4 * MiB, PROT_READ),
		    "MSHAREFS_PROTECT PROT_READ on a read-write range");
	err = advise_err(prot, 4 * MiB, MADV_POPULATE_WRITE);
	tap_ok(err == want, "POPULATE_WRITE on it: EINVAL too (%s)", strerror(err));
	TAP_SUCCESS(region_protect(rfd, prot, 4 * MiB, PROT_NONE),
		    "MSHAREFS_PROTECT PROT_NONE on it");
	want = local_madvise(-1, 4 * MiB, PROT_NONE, MADV_POPULATE_READ);
	err = advise_err(prot, 4 * MiB, MADV_POPULATE_READ);
	tap_ok(err == want && err == EINVAL,
	       "POPULATE_READ on PROT_NONE: EINVAL, as madvise(2) (%s, madvise: %s)",
	       strerror(err), strerror(want));
	tap_ok(rss() == r1, "the failed populates mapped nothing");
	unmap(ro, 4 * MiB);
	unmap(prot, 4 * MiB);

	/* 2 MiB of a 1 MiB tmpfs file: the second MiB is SIGBUS to access */
	ffd = pattern_file("/tmp", "advise-eof", fpath, sizeof(fpath), 1 * MiB, 9);
	TAP_SUCCESS(region_map(rfd, eof, 2 * MiB, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, ffd, 0),
		    "map 2 MiB of a 1 MiB tmpfs file");
	r0 = rss();
	want = local_madvise(ffd, 2 * MiB, PROT_READ, MADV_POPULATE_READ);
	err = advise_err(eof, 2 * MiB, MADV_POPULATE_READ);
	tap_ok(err == want && err == EFAULT,
	       "POPULATE_READ beyond the end of the file: EFAULT, as madvise(2) (%s, madvise: %s)",
	       strerror(err), strerror(want));
	r1 = rss();
	tap_ok(r1 - r0 == 1 * MiB,
	       "the MiB before the end is populated all the same (rss_bytes %+lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);
	err = advise_err(eof, 2 * MiB, MADV_POPULATE_WRITE);
	tap_ok(err == EFAULT, "POPULATE_WRITE there: EFAULT (%s)", strerror(err));
	tap_ok(!bad_pages(base + eof, 1 * MiB, 9), "the region reads the file");
	unmap(eof, 2 * MiB);
	close(ffd);
	unlink(fpath);
}

static void test_remove(void)
{
	const uint64_t off = SLOT(7), ro = SLOT(8), anon_ro = SLOT(9);
	long long shm0, shm1, free0, free1, pcp0, pcp1;
	char fpath[512];
	struct stat st0, st1;
	uint64_t r0, r1;
	int wfd, ffd, err;
	char *local;
	int ret;

	map_anon(off, BIG);
	write_pages(base + off, BIG, 3);
	r0 = rss();
	pcp0 = pcp_bytes();
	shm0 = meminfo("Shmem");
	free0 = proc_kb("/proc/meminfo", "MemFree") * KiB;
	TAP_SUCCESS(region_advise(rfd, off, BIG, MADV_REMOVE),
		    "REMOVE on 32 MiB of written anonymous memory");
	shm1 = meminfo("Shmem");
	free1 = proc_kb("/proc/meminfo", "MemFree") * KiB;
	pcp1 = pcp_bytes();
	r1 = rss();
	tap_diag("REMOVE: Shmem %+lld kB, MemFree %+lld kB, per-CPU free lists %+lld kB",
		 (shm1 - shm0) / KiB, (free1 - free0) / KiB, (pcp1 - pcp0) / KiB);
	/* 1 MiB: whatever else the idle guest allocates or frees meanwhile */
	tap_ok(shm0 - shm1 >= BIG - 1 * MiB && shm0 - shm1 <= BIG + 1 * MiB,
	       "REMOVE: Shmem falls by 32 MiB (%+lld kB)", (shm1 - shm0) / KiB);
	/*
	 * Freed pages go to the per-CPU lists first, which MemFree does not
	 * count until they are returned to the buddy allocator: count them.
	 * What matters is that the memory comes back (DONTNEED gives back
	 * none); the guest's own allocations in the same window took up to
	 * 1.2 MiB of it on a loaded host, so 4 MiB of slack.
	 */
	tap_ok((free1 - free0) + (pcp1 - pcp0) >= BIG - 4 * MiB,
	       "REMOVE: the memory is free again (MemFree %+lld kB + per-CPU lists %+lld kB)",
	       (free1 - free0) / KiB, (pcp1 - pcp0) / KiB);
	tap_ok(r0 - r1 == BIG, "REMOVE: rss_bytes falls by 32 MiB (%+lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);
	tap_ok(!bad_pages(base + off, BIG, 0), "REMOVE: every page reads zero afterwards");
	unmap(off, BIG);

	/* A file opened read-only: the mapping is not writable, ever. */
	wfd = pattern_file("/tmp", "advise-ro", fpath, sizeof(fpath), 4 * MiB, 4);
	ffd = open(fpath, O_RDONLY | O_CLOEXEC);
	if (ffd < 0 || fstat(wfd, &st0))
		tap_bail("cannot reopen a file read-only");
	TAP_SUCCESS(region_map(rfd, ro, 4 * MiB, PROT_READ, MAP_SHARED | MAP_FIXED,
			       ffd, 0),
		    "map 4 MiB of a tmpfs file opened O_RDONLY");
	TAP_ERRNO(region_advise(rfd, ro, 4 * MiB, MADV_REMOVE), EACCES,
		  "REMOVE on the read-only file: EACCES");
	fstat(wfd, &st1);
	tap_ok(st1.st_blocks == st0.st_blocks && !bad_file_pages(wfd, 4 * MiB, 4),
	       "the file keeps its blocks and data (%lld -> %lld blocks)",
	       (long long)st0.st_blocks, (long long)st1.st_blocks);
	tap_ok(!bad_pages(base + ro, 4 * MiB, 4), "and the region still reads it");
	unmap(ro, 4 * MiB);
	close(ffd);
	close(wfd);
	unlink(fpath);

	/*
	 * Anonymous memory mapped PROT_READ: shared anonymous memory may
	 * always be made writable (VM_MAYWRITE), and madvise(2) decides on
	 * that. The region must answer what madvise(2) answers for the same
	 * mapping made locally.
	 */
	local = mmap(NULL, 4 * MiB, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (local == MAP_FAILED)
		tap_bail("cannot map shared anonymous memory");
	errno = 0;
	ret = madvise(local, 4 * MiB, MADV_REMOVE);
	err = ret ? errno : 0;
	munmap(local, 4 * MiB);
	TAP_SUCCESS(region_map(rfd, anon_ro, 4 * MiB, PROT_READ,
			       MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS, -1, 0),
		    "map 4 MiB of anonymous memory PROT_READ");
	errno = 0;
	ret = region_advise(rfd, anon_ro, 4 * MiB, MADV_REMOVE);
	tap_ok((ret ? errno : 0) == err,
	       "REMOVE on it answers as madvise(2) does locally (%s, madvise: %s)",
	       ret ? strerror(errno) : "success", err ? strerror(err) : "success");
	unmap(anon_ro, 4 * MiB);
}

static bool mglru_enabled(void)
{
	char buf[32];
	ssize_t n;
	int fd = open("/sys/kernel/mm/lru_gen/enabled", O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 && strtoul(buf, NULL, 0) != 0;
}

/*
 * COLD: the first populate faults the pages in (inactive, referenced),
 * the second finds them referenced and activates them (FOLL_TOUCH marks
 * them accessed); COLD must move them to the inactive list.
 */
static void test_cold(void)
{
	const uint64_t off = SLOT(10), drain = SLOT(10) + 2 * BIG;
	long long a0, i0, a1, i1, a2, i2;
	uint64_t r1;

	if (mglru_enabled()) {
		/* Active/Inactive are generations there: nothing exact to see */
		tap_skip("MGLRU is enabled", "COLD moves active pages to the inactive list");
		return;
	}
	map_anon(off, BIG);
	map_anon(drain, PAGE);
	a0 = meminfo("Active(anon)");
	i0 = meminfo("Inactive(anon)");
	TAP_SUCCESS(region_advise(rfd, off, BIG, MADV_POPULATE_WRITE),
		    "COLD: POPULATE_WRITE on 32 MiB");
	TAP_SUCCESS(region_advise(rfd, off, BIG, MADV_POPULATE_READ),
		    "COLD: POPULATE_READ on it again");
	a1 = meminfo("Active(anon)");
	i1 = meminfo("Inactive(anon)");
	r1 = rss();
	tap_diag("COLD: populated twice: Active(anon) %+lld kB, Inactive(anon) %+lld kB",
		 (a1 - a0) / KiB, (i1 - i0) / KiB);
	/*
	 * The tolerance of these checks, 1 MiB, is for the rest of the
	 * system: the counters are global, and this process and the guest
	 * allocate a little meanwhile. The LRU batches are emptied.
	 */
	tap_ok(a1 - a0 >= BIG - 1 * MiB,
	       "COLD: the pages were made active (Active(anon) %+lld kB)",
	       (a1 - a0) / KiB);

	TAP_SUCCESS(region_advise(rfd, off, BIG, MADV_COLD), "COLD on the 32 MiB");
	/*
	 * Deactivation is batched per CPU, and COLD empties the batch before
	 * its walk, not after: COLD on one more page, never touched, empties
	 * it (this process stays on its CPU).
	 */
	TAP_SUCCESS(region_advise(rfd, drain, PAGE, MADV_COLD),
		    "COLD on a page with nothing mapped");
	a2 = meminfo("Active(anon)");
	i2 = meminfo("Inactive(anon)");
	tap_diag("COLD: Active(anon) %+lld kB, Inactive(anon) %+lld kB",
		 (a2 - a1) / KiB, (i2 - i1) / KiB);
	tap_ok(a1 - a2 >= BIG - 1 * MiB,
	       "COLD: Active(anon) falls by 32 MiB (%+lld kB)", (a2 - a1) / KiB);
	tap_ok(i2 - i1 >= BIG - 1 * MiB,
	       "COLD: Inactive(anon) grows by 32 MiB (%+lld kB)", (i2 - i1) / KiB);
	tap_ok(rss() == r1, "COLD: everything stays mapped (rss_bytes)");
	unmap(off, BIG);
	unmap(drain, PAGE);
}

/*
 * PAGEOUT of anonymous memory. 8 MiB only: each page reclaimed from the
 * host costs an all-CPU TLB flush of its own (the host's notifier, from
 * arch_tlbbatch_add_pending()), about a millisecond a page in the VM.
 */
static void test_pageout_anon(void)
{
	const uint64_t off = SLOT(11);
	long long total, s0, s1;
	uint64_t r0, r1;

	map_anon(off, PO_SIZE);
	write_pages(base + off, PO_SIZE, 5);
	total = proc_kb("/proc/meminfo", "SwapTotal") * KiB;
	tap_ok(total >= 2 * PO_SIZE, "there is swap (%lld kB)", total / KiB);
	r0 = rss();
	s0 = proc_kb("/proc/meminfo", "SwapFree") * KiB;
	TAP_SUCCESS(region_advise(rfd, off, PO_SIZE, MADV_PAGEOUT),
		    "PAGEOUT on 8 MiB of written anonymous memory");
	s1 = proc_kb("/proc/meminfo", "SwapFree") * KiB;
	r1 = rss();
	tap_ok(r0 - r1 == PO_SIZE, "PAGEOUT: rss_bytes falls by 8 MiB (%+lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);
	/*
	 * Swap slots are taken in batches into a per-CPU cache (64 each):
	 * slots already cached before the call are not counted as it takes
	 * them, so up to 2 CPUs x 64 pages fewer may show.
	 */
	tap_ok(s0 - s1 >= PO_SIZE - 2 * 64 * (long long)PAGE,
	       "PAGEOUT: SwapFree falls by 8 MiB (%+lld kB)", (s1 - s0) / KiB);
	tap_ok(!bad_pages(base + off, PO_SIZE, 5), "PAGEOUT: the data reads back intact");
	tap_ok(rss() == r0, "and is mapped again (rss_bytes)");
	unmap(off, PO_SIZE);
}

/* Pages of [@p, @p + @size) resident in the page cache; -1 on error. */
static long resident(void *p, uint64_t size, uint64_t from, uint64_t to)
{
	static unsigned char vec[FILE_SIZE / PAGE];
	long n = 0;

	if (mincore(p, size, vec))
		return -1;
	for (uint64_t i = from / PAGE; i < to / PAGE; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * The most pages one WILLNEED reads: force_page_cache_ra() caps it at
 * max(read_ahead_kb, max_sectors_kb) of the file's device.
 */
static long long willneed_max(int fd)
{
	char file[128], buf[32];
	long long ra = 0, io = 0, *v[] = { &ra, &io };
	const char *key[] = { "read_ahead_kb", "max_sectors_kb" };
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	for (int i = 0; i < 2; i++) {
		ssize_t n;
		int f;

		snprintf(file, sizeof(file), "/sys/dev/block/%u:%u/queue/%s",
			 major(st.st_dev), minor(st.st_dev), key[i]);
		f = open(file, O_RDONLY);
		if (f < 0)
			continue;
		n = read(f, buf, sizeof(buf) - 1);
		close(f);
		if (n > 0) {
			buf[n] = '\0';
			*v[i] = strtoll(buf, NULL, 10) * KiB;
		}
	}
	return ra > io ? ra : io;
}

static void test_file(void)
{
	const uint64_t off = SLOT(12), wn = 4 * MiB, wn_len = 1 * MiB;
	const char *disk = getenv("VM_DISK");
	long long want, win;
	char fpath[512];
	struct timespec t0, t;
	uint64_t r0, r1;
	long n = 0;
	void *probe;
	int fd;

	if (!disk || !*disk)
		disk = "/mnt/disk";
	fd = pattern_file(disk, "mshare-advise", fpath, sizeof(fpath), FILE_SIZE, 6);
	if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		tap_bail("cannot write back and evict a file");
	/* Never touched: it shows the page cache, not mappings */
	probe = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (probe == MAP_FAILED)
		tap_bail("cannot map the file");
	TAP_SUCCESS(region_map(rfd, off, FILE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED,
			       fd, 0),
		    "map an 8 MiB ext4 file into the region");
	n = resident(probe, FILE_SIZE, 0, FILE_SIZE);
	tap_ok(n == 0, "the file is out of the page cache (%ld pages resident)", n);

	/* WILLNEED on 1 MiB at file offset 4 MiB */
	win = willneed_max(fd);
	want = win < (long long)wn_len ? win : (long long)wn_len;
	r0 = rss();
	TAP_SUCCESS(region_advise(rfd, off + wn, wn_len, MADV_WILLNEED),
		    "WILLNEED on 1 MiB of it, at offset 4 MiB");
	/* The reads it starts complete asynchronously: wait for them, a while */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		n = resident(probe, FILE_SIZE, wn, wn + want);
		if (n == want / (long long)PAGE)
			break;
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 30);
	tap_diag("WILLNEED: %ld of %lld pages read (at most max(read_ahead_kb, max_sectors_kb) = %lld kB are)",
		 n, want / (long long)PAGE, win / KiB);
	tap_ok(want > 0 && n == want / (long long)PAGE,
	       "WILLNEED: the advised pages come into the page cache (%ld)", n);
	n = resident(probe, FILE_SIZE, 0, wn) + resident(probe, FILE_SIZE, wn + wn_len,
							  FILE_SIZE);
	tap_ok(n == 0, "WILLNEED: nothing outside them does (%ld pages)", n);
	tap_ok(rss() == r0, "WILLNEED: it maps nothing (rss_bytes)");

	/* PAGEOUT of clean file pages */
	TAP_SUCCESS(region_advise(rfd, off, FILE_SIZE, MADV_POPULATE_READ),
		    "POPULATE_READ on the whole file");
	n = resident(probe, FILE_SIZE, 0, FILE_SIZE);
	r1 = rss();
	tap_ok(n == (long)(FILE_SIZE / PAGE) && r1 - r0 == FILE_SIZE,
	       "it is all in the page cache and mapped (%ld pages, rss_bytes %+lld kB)",
	       n, ((long long)r1 - (long long)r0) / KiB);
	tap_ok(!bad_pages(base + off, FILE_SIZE, 6), "the region reads the file");
	TAP_SUCCESS(region_advise(rfd, off, FILE_SIZE, MADV_PAGEOUT),
		    "PAGEOUT on the whole file");
	n = resident(probe, FILE_SIZE, 0, FILE_SIZE);
	tap_ok(n == 0, "PAGEOUT: the clean pages leave the page cache (%ld resident)", n);
	tap_ok(rss() == r0, "PAGEOUT: and the region's tables (rss_bytes %+lld kB)",
	       ((long long)rss() - (long long)r1) / KiB);
	tap_ok(!bad_pages(base + off, FILE_SIZE, 6),
	       "PAGEOUT: the region reads the file again");

	munmap(probe, FILE_SIZE);
	unmap(off, FILE_SIZE);
	close(fd);
	unlink(fpath);
}

/* shmem_enabled values, saved to be put back whatever happens. */
static const char *const thp_files[] = { SHMEM_ENABLED, SHMEM_PMD };
static char thp_saved[2][32];

/* The [selected] word of a sysfs choice file into @buf; false if none. */
static bool sysfs_choice(const char *file, char *buf, size_t len)
{
	char text[256], *l, *r;
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return false;
	text[n] = '\0';
	l = strchr(text, '[');
	r = l ? strchr(l, ']') : NULL;
	if (!r || (size_t)(r - l) >= len)
		return false;
	memcpy(buf, l + 1, r - l - 1);
	buf[r - l - 1] = '\0';
	return true;
}

static bool sysfs_write(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, val, strlen(val));
		close(fd);
	}
	return n == (ssize_t)strlen(val);
}

static void thp_restore(void)
{
	for (int i = 0; i < 2; i++)
		if (thp_saved[i][0] && !sysfs_write(thp_files[i], thp_saved[i]))
			printf("# cannot restore %s to %s\n", thp_files[i], thp_saved[i]);
}

/*
 * Populate a THP_SIZE range at @off whose middle half was advised
 * @advice, with shmem_enabled=@mode: the THPs it gets.
 */
static void thp_case(uint64_t off, const char *mode, uint32_t advice,
		     const char *name, long long want, const char *what)
{
	long long h0, p0, h1, p1;
	uint64_t r0, r1;

	if (!sysfs_write(SHMEM_ENABLED, mode))
		tap_bail("cannot set shmem_enabled");
	map_anon(off, THP_SIZE);
	TAP_SUCCESS(region_advise(rfd, off + THP_SIZE / 4, THP_SIZE / 2, advice),
		    "%s: %s on the middle 8 MiB of 16 MiB, 2 MiB-aligned", mode, name);
	h0 = meminfo("ShmemHugePages");
	p0 = meminfo("ShmemPmdMapped");
	r0 = rss();
	TAP_SUCCESS(region_advise(rfd, off, THP_SIZE, MADV_POPULATE_WRITE),
		    "%s: POPULATE_WRITE on the 16 MiB", mode);
	h1 = meminfo("ShmemHugePages");
	p1 = meminfo("ShmemPmdMapped");
	r1 = rss();
	tap_diag("%s, %s: ShmemHugePages %+lld kB, ShmemPmdMapped %+lld kB, rss_bytes %+lld kB",
		 mode, name, (h1 - h0) / KiB, (p1 - p0) / KiB,
		 ((long long)r1 - (long long)r0) / KiB);
	tap_ok(h1 - h0 == want && p1 - p0 == want,
	       "%s, %s: %s get PMD-mapped THPs (%lld kB, %lld kB mapped)",
	       mode, name, what, (h1 - h0) / KiB, (p1 - p0) / KiB);
	tap_ok(r1 - r0 == THP_SIZE, "%s, %s: rss_bytes grows by 16 MiB (%+lld kB)",
	       mode, name, ((long long)r1 - (long long)r0) / KiB);
	write_pages(base + off, THP_SIZE, 7);
	tap_ok(!bad_pages(base + off, THP_SIZE, 7) && rss() == r1,
	       "%s, %s: it is written and read through the attach, nothing more mapped",
	       mode, name);
	unmap(off, THP_SIZE);
}

static void test_hugepage(void)
{
	bool ok = true;

	for (int i = 0; i < 2; i++)
		ok &= sysfs_choice(thp_files[i], thp_saved[i], sizeof(thp_saved[i]));
	if (!ok) {
		tap_skip("no shmem THP controls", "HUGEPAGE and NOHUGEPAGE");
		return;
	}
	atexit(thp_restore);
	/* PMD-sized shmem THPs follow the top-level shmem_enabled */
	if (!sysfs_write(SHMEM_PMD, "inherit"))
		tap_bail("cannot set hugepages-2048kB/shmem_enabled");
	thp_case(SLOT(1), "advise", MADV_HUGEPAGE, "HUGEPAGE", THP_SIZE / 2,
		 "only the 8 MiB advised");
	thp_case(SLOT(2), "always", MADV_NOHUGEPAGE, "NOHUGEPAGE", THP_SIZE / 2,
		 "only the 8 MiB not advised");
	thp_restore();
	for (int i = 0; i < 2; i++) {
		char now[32] = "";

		sysfs_choice(thp_files[i], now, sizeof(now));
		tap_ok(!strcmp(now, thp_saved[i]), "%s restored to %s", thp_files[i],
		       thp_saved[i]);
	}
}

struct advise_raw {
	uint64_t region_offset, size;
	uint32_t advice, reserved;
};

static void test_errors(void)
{
	static const struct { uint32_t advice; const char *name; } bad[] = {
		{ MADV_NORMAL, "MADV_NORMAL" },
		{ MADV_RANDOM, "MADV_RANDOM" },
		{ MADV_SEQUENTIAL, "MADV_SEQUENTIAL" },
		{ MADV_FREE, "MADV_FREE" },
		{ MADV_DONTFORK, "MADV_DONTFORK" },
		{ MADV_DOFORK, "MADV_DOFORK" },
		{ MADV_MERGEABLE, "MADV_MERGEABLE" },
		{ MADV_UNMERGEABLE, "MADV_UNMERGEABLE" },
		{ MADV_DONTDUMP, "MADV_DONTDUMP" },
		{ MADV_WIPEONFORK, "MADV_WIPEONFORK" },
		{ MADV_DONTNEED_LOCKED, "MADV_DONTNEED_LOCKED" },
		{ MADV_COLLAPSE, "MADV_COLLAPSE" },
		{ MADV_HWPOISON, "MADV_HWPOISON" },
		{ MADV_SOFT_OFFLINE, "MADV_SOFT_OFFLINE" },
		{ 12345, "12345" },
		{ 0xffffffff, "0xffffffff" },
	};
	const uint64_t off = SLOT(13), hole = SLOT(14);
	struct advise_raw a;
	char upath[512];
	uint64_t r0, r1;
	void *none;
	int ro, ufd;

	map_anon(off, 4 * MiB);
	TAP_SUCCESS(region_advise(rfd, off, 4 * MiB, MADV_POPULATE_WRITE),
		    "errors: 4 MiB mapped and populated");
	write_pages(base + off, 4 * MiB, 8);
	r0 = rss();

	ro = open(rpath, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		tap_bail("cannot open the region read-only");
	TAP_ERRNO(region_advise(ro, off, 4 * MiB, MADV_DONTNEED), EBADF,
		  "a read-only fd: EBADF");
	close(ro);

	ufd = region_new("advise-unsized", upath, sizeof(upath), 0);
	TAP_ERRNO(region_advise(ufd, 0, PAGE, MADV_WILLNEED), EINVAL,
		  "an unsized region: EINVAL");
	close(ufd);
	unlink(upath);

	a = (struct advise_raw){ off, 4 * MiB, MADV_DONTNEED, 1 };
	TAP_ERRNO(ioctl(rfd, MSHAREFS_ADVISE, &a), EINVAL, "reserved 1: EINVAL");
	a.reserved = 0x80000000;
	TAP_ERRNO(ioctl(rfd, MSHAREFS_ADVISE, &a), EINVAL, "reserved 0x80000000: EINVAL");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TAP_ERRNO(region_advise(rfd, off, 4 * MiB, bad[i].advice), EINVAL,
			  "advice %s (%u): EINVAL", bad[i].name, bad[i].advice);
	tap_ok(rss() == r0 && !bad_pages(base + off, 4 * MiB, 8),
	       "the refused advice changed nothing (rss_bytes, data)");

	TAP_ERRNO(region_advise(rfd, off + 1, PAGE, MADV_DONTNEED), EINVAL,
		  "offset not page-aligned (+1): EINVAL");
	TAP_ERRNO(region_advise(rfd, off + PAGE / 2, PAGE, MADV_DONTNEED), EINVAL,
		  "offset not page-aligned (+2048): EINVAL");
	TAP_ERRNO(region_advise(rfd, off, PAGE + 1, MADV_DONTNEED), EINVAL,
		  "size not page-aligned (4097): EINVAL");
	TAP_ERRNO(region_advise(rfd, off, 1, MADV_DONTNEED), EINVAL,
		  "size not page-aligned (1): EINVAL");
	TAP_ERRNO(region_advise(rfd, off, 0, MADV_DONTNEED), EINVAL, "size 0: EINVAL");
	TAP_ERRNO(region_advise(rfd, align, PAGE, MADV_DONTNEED), EINVAL,
		  "offset at the region's end: EINVAL");
	TAP_ERRNO(region_advise(rfd, align - PAGE, 2 * PAGE, MADV_DONTNEED), EINVAL,
		  "range crossing the region's end: EINVAL");
	TAP_ERRNO(region_advise(rfd, 0, align + PAGE, MADV_DONTNEED), EINVAL,
		  "size beyond the region: EINVAL");
	TAP_ERRNO(region_advise(rfd, off, UINT64_MAX & ~(PAGE - 1), MADV_DONTNEED),
		  EINVAL, "offset + size overflows: EINVAL");
	TAP_ERRNO(region_advise(rfd, UINT64_MAX & ~(PAGE - 1), 2 * PAGE, MADV_DONTNEED),
		  EINVAL, "offset near 2^64: EINVAL");
	tap_ok(rss() == r0, "the bad ranges changed nothing (rss_bytes)");

	TAP_ERRNO(region_advise(rfd, hole, 4 * MiB, MADV_DONTNEED), ENOMEM,
		  "DONTNEED on a hole: ENOMEM");
	TAP_ERRNO(region_advise(rfd, hole, 4 * MiB, MADV_POPULATE_READ), ENOMEM,
		  "POPULATE_READ on a hole: ENOMEM");
	TAP_ERRNO(region_advise(rfd, hole, 4 * MiB, MADV_WILLNEED), ENOMEM,
		  "WILLNEED on a hole: ENOMEM");
	/* As madvise(2): what memory there is gets the advice all the same */
	TAP_ERRNO(region_advise(rfd, off - 1 * MiB, 5 * MiB, MADV_DONTNEED), ENOMEM,
		  "DONTNEED on 1 MiB of hole then the 4 MiB: ENOMEM");
	r1 = rss();
	tap_ok(r0 - r1 == 4 * MiB,
	       "and the 4 MiB after the hole are dropped all the same (rss_bytes %+lld kB)",
	       ((long long)r1 - (long long)r0) / KiB);
	TAP_ERRNO(region_advise(rfd, off, 5 * MiB, MADV_POPULATE_READ), ENOMEM,
		  "POPULATE_READ on the 4 MiB then 1 MiB of hole: ENOMEM");
	tap_ok(rss() == r0, "and the 4 MiB before the hole are populated (rss_bytes %+lld kB)",
	       ((long long)rss() - (long long)r1) / KiB);
	tap_ok(!bad_pages(base + off, 4 * MiB, 8), "the data is still there");

	TAP_ERRNO(ioctl(rfd, MSHAREFS_ADVISE, NULL), EFAULT, "a NULL argument: EFAULT");
	none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none == MAP_FAILED)
		tap_bail("cannot map a PROT_NONE page");
	TAP_ERRNO(ioctl(rfd, MSHAREFS_ADVISE, none), EFAULT,
		  "an argument in a PROT_NONE page: EFAULT");
	TAP_ERRNO(ioctl(rfd, MSHAREFS_ADVISE, (char *)none + PAGE - 8), EFAULT,
		  "an argument running off a readable page: EFAULT");
	munmap(none, PAGE);
	unmap(off, 4 * MiB);
}

int main(int argc, char **argv)
{
	cpu_set_t cpus;
	int cpu;

	if (argc == 7 && !strcmp(argv[1], "touch"))
		return toucher(argv);

	require_msharefs();
	align = mshare_align_raw();

	/* One CPU: see the header comment */
	cpu = sched_getcpu();
	CPU_ZERO(&cpus);
	CPU_SET(cpu < 0 ? 0 : cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		tap_diag("cannot pin to CPU %d: %s", cpu, strerror(errno));

	rfd = region_new("advise", rpath, sizeof(rpath), align);
	fcntl(rfd, F_SETFD, FD_CLOEXEC);
	base = region_attach(rfd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		tap_bail("cannot attach the region");

	test_hugepage();	/* first: memory is least fragmented */
	test_populate();
	test_populate_fail();
	test_remove();
	test_cold();
	test_pageout_anon();
	test_file();
	test_errors();

	munmap(base, align);
	close(rfd);
	unlink(rpath);
	return tap_done();
}
