// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * arm64 contiguous PTEs in a region's shared tables (DESIGN §4.5): with
 * 64 KiB mTHP for anonymous shared memory, population folds every aligned
 * 64 KiB block as it installs it, with no TLB flush; PROTECT keeps whole
 * blocks folded and flushes once; a change to part of a block unfolds it,
 * and undoing the change folds it back; UNMAP of part of a block leaves
 * no contiguous bit on it; khugepaged leaves the region's 64 KiB folios
 * alone when 2 MiB ones are off. MSHAREFS_GET_STATS counts folded blocks by
 * walking the host's tables (the kernel warns about a block that is only
 * partly contiguous) and the all-CPU flushes.
 *
 * Last, writers on both vCPUs store all over a folded range while the
 * controller unfolds and refolds its blocks by protecting part of each
 * read-only and back: no store gets through a read-only part once PROTECT
 * has returned, no fault happens outside one, and every word holds its
 * writer's last store at the end. QEMU's TLB ignores the contiguous bit
 * and hides a missing flush unless the sharers run at the same time.
 *
 * arm64 only: elsewhere every case is skipped.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <sys/utsname.h>

#include "guest.h"
#include "probe.h"

#define KiB		1024UL
#define MiB		(1024 * KiB)
#define PAGE		(4 * KiB)
#define BLOCK		(64 * KiB)
#define MTHP		"/sys/kernel/mm/transparent_hugepage/hugepages-64kB/"
#define KHUGEPAGED	"/sys/kernel/mm/transparent_hugepage/khugepaged/"

/* Where the cases map memory in the region, and how much */
#define POP_OFF		0UL		/* MADV_POPULATE_WRITE */
#define FAULT_OFF	(64 * MiB)	/* faulted in by stores */
#define READ_OFF	(96 * MiB)	/* MADV_POPULATE_READ */
#define ODD_OFF		(128 * MiB + PAGE) /* not 64 KiB-aligned */
#define RACE_OFF	(192 * MiB)	/* the concurrent part */
#define SIZE		(16 * MiB)
#define RACE_SIZE	(1 * MiB)
#define NBLOCKS		(SIZE / BLOCK)

static uint64_t align;
static char saved_enabled[64], saved_sleep[64];

static int sysfs_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int sysfs_write(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -1;
	err = fputs(val, f) < 0;
	err |= fclose(f) != 0;
	return err ? -1 : 0;
}

/* A counter of the 64 KiB mTHP statistics */
static uint64_t mthp_stat(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), MTHP "stats/%s", name);
	if (sysfs_read(path, buf, sizeof(buf)))
		tap_bail("cannot read an mTHP counter");
	return strtoull(buf, NULL, 10);
}

/* "always [never] ..." -> "never" */
static void selected(const char *line, char *out, size_t len)
{
	const char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;

	if (!a || !b || (size_t)(b - a) >= len)
		tap_bail("cannot parse an mTHP setting");
	memcpy(out, a + 1, b - a - 1);
	out[b - a - 1] = 0;
}

static void restore_mthp(void)
{
	if (saved_enabled[0])
		sysfs_write(MTHP "shmem_enabled", saved_enabled);
	if (saved_sleep[0])
		sysfs_write(KHUGEPAGED "scan_sleep_millisecs", saved_sleep);
}

static struct mshare_stats stats(int fd)
{
	struct mshare_stats st;

	region_stats(fd, &st);
	return st;
}

/* Fill [off, off + size) of the attach at @base with a pattern of @seed. */
static void fill(uint8_t *base, uint64_t off, uint64_t size, uint64_t seed)
{
	for (uint64_t p = off; p < off + size; p += PAGE)
		*(volatile uint64_t *)(base + p) = p ^ seed;
}

static unsigned long bad_words(const uint8_t *base, uint64_t off, uint64_t size,
			       uint64_t seed)
{
	unsigned long bad = 0;

	for (uint64_t p = off; p < off + size; p += PAGE)
		bad += *(const volatile uint64_t *)(base + p) != (p ^ seed);
	return bad;
}

static bool on_arm64(void)
{
	struct utsname u;

	return !uname(&u) && !strcmp(u.machine, "aarch64");
}

/* The populate, fault and unaligned cases */
static void test_populate(int fd, uint8_t *base)
{
	uint64_t fb = mthp_stat("shmem_fallback"), alloc = mthp_stat("shmem_alloc");
	struct mshare_stats st;

	st = stats(fd);
	tap_ok(st.nr_cont_blocks == 0 && st.nr_flushes == 0,
	       "(a) an empty region: no folded block, no flush (%llu, %llu)",
	       (unsigned long long)st.nr_cont_blocks, (unsigned long long)st.nr_flushes);

	TAP_SUCCESS(region_advise(fd, POP_OFF, SIZE, MADV_POPULATE_WRITE),
		    "(a) MADV_POPULATE_WRITE of 16 MiB");
	st = stats(fd);
	tap_ok(mthp_stat("shmem_fallback") == fb,
	       "(a) no 64 KiB allocation fell back (shmem_fallback %llu)",
	       (unsigned long long)(mthp_stat("shmem_fallback") - fb));
	tap_ok(mthp_stat("shmem_alloc") - alloc == NBLOCKS,
	       "(a) 256 folios of 64 KiB allocated (%llu)",
	       (unsigned long long)(mthp_stat("shmem_alloc") - alloc));
	tap_ok(st.nr_cont_blocks == NBLOCKS,
	       "(a) 100%% of the 256 blocks folded (%llu)",
	       (unsigned long long)st.nr_cont_blocks);
	tap_ok(st.nr_flushes == 0,
	       "(a) populating flushed nothing: no fold or unfold churn (%llu flushes)",
	       (unsigned long long)st.nr_flushes);
	fill(base, POP_OFF, SIZE, 1);
	tap_ok(!bad_words(base, POP_OFF, SIZE, 1), "(a) an attacher reads what it wrote");

	TAP_SUCCESS(region_map_anon(fd, FAULT_OFF, SIZE), "(b) map 16 MiB more");
	fb = mthp_stat("shmem_fallback");
	fill(base, FAULT_OFF, SIZE, 2);
	st = stats(fd);
	tap_ok(mthp_stat("shmem_fallback") == fb && st.nr_cont_blocks == 2 * NBLOCKS,
	       "(b) faulting by stores folds every block too (%llu of 512, %llu fallbacks)",
	       (unsigned long long)st.nr_cont_blocks,
	       (unsigned long long)(mthp_stat("shmem_fallback") - fb));
	tap_ok(st.nr_flushes == 0, "(b) and flushes nothing (%llu)",
	       (unsigned long long)st.nr_flushes);

	TAP_SUCCESS(region_map_anon(fd, READ_OFF, SIZE), "(c) map 16 MiB more");
	fb = mthp_stat("shmem_fallback");
	TAP_SUCCESS(region_advise(fd, READ_OFF, SIZE, MADV_POPULATE_READ),
		    "(c) MADV_POPULATE_READ of it");
	st = stats(fd);
	tap_ok(mthp_stat("shmem_fallback") == fb && st.nr_cont_blocks == 3 * NBLOCKS &&
	       st.nr_flushes == 0,
	       "(c) folded as well (%llu of 768), no flush (%llu)",
	       (unsigned long long)st.nr_cont_blocks, (unsigned long long)st.nr_flushes);

	TAP_SUCCESS(region_map_anon(fd, ODD_OFF, 1 * MiB),
		    "(d) map 1 MiB at a region_offset 4 KiB past a 64 KiB boundary");
	TAP_SUCCESS(region_advise(fd, ODD_OFF, 1 * MiB, MADV_POPULATE_WRITE),
		    "(d) populate it");
	fill(base, ODD_OFF, 1 * MiB, 3);
	st = stats(fd);
	tap_ok(st.nr_cont_blocks == 3 * NBLOCKS && st.nr_flushes == 0,
	       "(d) it works and is simply not folded (%llu blocks, %llu flushes)",
	       (unsigned long long)st.nr_cont_blocks, (unsigned long long)st.nr_flushes);
	tap_ok(!bad_words(base, ODD_OFF, 1 * MiB, 3) && !bad_words(base, POP_OFF, SIZE, 1),
	       "(d) its data and the folded range's are intact");
}

/* Protection changes of whole blocks and of parts of blocks */
static void test_protect(int fd, uint8_t *base)
{
	struct mshare_stats st0, st;

	st0 = stats(fd);
	TAP_SUCCESS(region_protect(fd, POP_OFF, SIZE, PROT_READ),
		    "(e) PROTECT 16 MiB of folded blocks read-only");
	st = stats(fd);
	tap_ok(st.nr_cont_blocks == st0.nr_cont_blocks,
	       "(e) every block stays folded while read-only (%llu of %llu)",
	       (unsigned long long)st.nr_cont_blocks, (unsigned long long)st0.nr_cont_blocks);
	tap_ok(st.nr_flushes - st0.nr_flushes == 1,
	       "(e) one all-CPU flush for the call, not one per block (%llu)",
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
	st0 = st;
	TAP_SUCCESS(region_protect(fd, POP_OFF, SIZE, PROT_READ | PROT_WRITE),
		    "(e) and back to read-write");
	st = stats(fd);
	tap_ok(st.nr_cont_blocks == st0.nr_cont_blocks &&
	       st.nr_flushes - st0.nr_flushes <= 1,
	       "(e) after the round trip every block is folded (%llu), %llu flush",
	       (unsigned long long)st.nr_cont_blocks,
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
	tap_ok(!bad_words(base, POP_OFF, SIZE, 1), "(e) the data is intact");
	fill(base, POP_OFF, SIZE, 4);
	tap_ok(!bad_words(base, POP_OFF, SIZE, 4), "(e) and writable again");

	/* 16 KiB in the middle of block 3 */
	st0 = stats(fd);
	TAP_SUCCESS(region_protect(fd, POP_OFF + 3 * BLOCK + 16 * KiB, 16 * KiB, PROT_READ),
		    "(f) PROTECT 16 KiB inside a block read-only");
	st = stats(fd);
	tap_ok(st.nr_cont_blocks == st0.nr_cont_blocks - 1,
	       "(f) that block, and only it, is unfolded (%llu of %llu)",
	       (unsigned long long)st.nr_cont_blocks, (unsigned long long)st0.nr_cont_blocks);
	tap_ok(st.nr_flushes - st0.nr_flushes <= 2,
	       "(f) at most 2 flushes: the unfold's and the call's (%llu)",
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
	st0 = st;
	TAP_SUCCESS(region_protect(fd, POP_OFF + 3 * BLOCK + 16 * KiB, 16 * KiB,
				   PROT_READ | PROT_WRITE),
		    "(f) and back to read-write");
	st = stats(fd);
	tap_ok(st.nr_cont_blocks == st0.nr_cont_blocks + 1,
	       "(f) the block is folded again (%llu)", (unsigned long long)st.nr_cont_blocks);
	tap_ok(st.nr_flushes - st0.nr_flushes <= 2,
	       "(f) at most 2 flushes: the fold's and the call's (%llu)",
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
	tap_ok(!bad_words(base, POP_OFF, SIZE, 4), "(f) the data is intact");
}

/* UNMAP of part of a block */
static void test_unmap(int fd, uint8_t *base)
{
	uint64_t hole = FAULT_OFF + 5 * BLOCK + 16 * KiB;
	struct mshare_stats st0, st;
	unsigned long bad = 0;

	st0 = stats(fd);
	TAP_SUCCESS(region_unmap(fd, hole, 8 * KiB), "(g) UNMAP 8 KiB inside a block");
	st = stats(fd);
	/* A block partly contiguous would have warned: see arch_mshare_pte_folded() */
	tap_ok(st.nr_cont_blocks == st0.nr_cont_blocks - 1,
	       "(g) the block lost its contiguous bits, no other did (%llu of %llu)",
	       (unsigned long long)st.nr_cont_blocks, (unsigned long long)st0.nr_cont_blocks);
	tap_ok(st.nr_flushes - st0.nr_flushes <= 2,
	       "(g) at most 2 flushes: the unfold's and the call's (%llu)",
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
	for (uint64_t p = FAULT_OFF; p < FAULT_OFF + SIZE; p += PAGE)
		if (p < hole || p >= hole + 8 * KiB)
			bad += *(volatile uint64_t *)(base + p) != (p ^ 2);
	tap_ok(!bad, "(g) the rest of the range is intact (%lu bad words)", bad);
	tap_ok(st.rss_bytes == st0.rss_bytes - 8 * KiB,
	       "(g) the region maps 8 KiB less (%llu)", (unsigned long long)st.rss_bytes);
}

/* khugepaged's full scans so far */
static uint64_t full_scans(void)
{
	char buf[64];

	if (sysfs_read(KHUGEPAGED "full_scans", buf, sizeof(buf)))
		tap_bail("cannot read khugepaged's full scans");
	return strtoull(buf, NULL, 10);
}

/*
 * 64 KiB folios are all that is enabled: khugepaged must leave the region
 * alone (6.12 let it collapse anonymous shmem into 2 MiB folios whenever
 * any size was enabled, unmapping the folded blocks under the region).
 */
static void test_khugepaged(int fd)
{
	uint64_t scans = full_scans(), collapsed = 0;
	struct mshare_stats st0 = stats(fd), st;
	struct timespec t0, t;
	char buf[64], *work;

	/*
	 * khugepaged sleeps while no mm has work for it: give it some, 2 MiB
	 * of private memory that asks for huge pages, so that it makes its
	 * rounds, over the region's host too if it has signed it up.
	 */
	work = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (work == MAP_FAILED || madvise(work, 4 * MiB, MADV_HUGEPAGE))
		tap_bail("cannot map memory for khugepaged");
	work[0] = 1;

	if (sysfs_read(KHUGEPAGED "pages_collapsed", buf, sizeof(buf)))
		tap_bail("cannot read khugepaged's count");
	collapsed = strtoull(buf, NULL, 10);
	if (sysfs_write(KHUGEPAGED "scan_sleep_millisecs", "0"))
		tap_bail("cannot make khugepaged scan at once");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (full_scans() < scans + 2 && t.tv_sec - t0.tv_sec < 20);
	sysfs_write(KHUGEPAGED "scan_sleep_millisecs", saved_sleep);
	munmap(work, 4 * MiB);
	st = stats(fd);
	if (sysfs_read(KHUGEPAGED "pages_collapsed", buf, sizeof(buf)))
		tap_bail("cannot read khugepaged's count");
	tap_ok(full_scans() >= scans + 2, "(i) khugepaged made two full scans (%llu)",
	       (unsigned long long)(full_scans() - scans));
	tap_ok(strtoull(buf, NULL, 10) == collapsed && st.nr_cont_blocks == st0.nr_cont_blocks &&
	       st.nr_flushes == st0.nr_flushes,
	       "(i) and collapsed nothing: %llu blocks still folded, no flush (%llu)",
	       (unsigned long long)st.nr_cont_blocks,
	       (unsigned long long)(st.nr_flushes - st0.nr_flushes));
}

/* The concurrent part: see the top of the file */
#define NWRITERS	2
#define RACE_PAGES	(RACE_SIZE / PAGE)
#define HOLD_NS		20000000L

struct ctl {
	_Atomic uint64_t epoch;		/* even: all read-write */
	_Atomic uint64_t ro_start, ro_end; /* the read-only part while odd */
	_Atomic int stop;
	struct {
		_Atomic uint64_t faults, stores, bad_code, bad_addr, rw_faults;
		_Atomic uint64_t readback, final_bad;
	} w[NWRITERS];
};

/* Writer @id stores into word @id of every page of @range, round and round. */
static void writer(struct ctl *c, unsigned int id, uint8_t *range)
{
	static uint64_t last[RACE_PAGES];
	uint64_t seq = 0;

	probe_catch();
	while (!atomic_load(&c->stop)) {
		for (unsigned long p = 0; p < RACE_PAGES; p++) {
			volatile uint64_t *w = (volatile uint64_t *)(range + p * PAGE) + id;
			/* The epoch first: the part is set before it turns odd */
			uint64_t e0 = atomic_load(&c->epoch), e1;
			uint64_t ro_start = atomic_load(&c->ro_start);
			uint64_t ro_end = atomic_load(&c->ro_end);
			uint64_t off = p * PAGE;

			if (!probe_store(w, ++seq)) {
				last[p] = seq;
				atomic_fetch_add(&c->w[id].stores, 1);
				if (*w != seq)
					atomic_fetch_add(&c->w[id].readback, 1);
				continue;
			}
			e1 = atomic_load(&c->epoch);
			atomic_fetch_add(&c->w[id].faults, 1);
			if (fault_code != SEGV_ACCERR)
				atomic_fetch_add(&c->w[id].bad_code, 1);
			if (fault_addr != (void *)w)
				atomic_fetch_add(&c->w[id].bad_addr, 1);
			/* In one phase: all read-write, or outside its read-only part */
			if (e0 == e1 && (!(e0 & 1) || off < ro_start || off >= ro_end))
				atomic_fetch_add(&c->w[id].rw_faults, 1);
			while (atomic_load(&c->epoch) == e1 && !atomic_load(&c->stop))
				;
		}
	}
	for (unsigned long p = 0; p < RACE_PAGES; p++)
		if (last[p] && *((volatile uint64_t *)(range + p * PAGE) + id) != last[p])
			atomic_fetch_add(&c->w[id].final_bad, 1);
}

static void test_race(int fd, uint8_t *base, unsigned int iter)
{
	unsigned long changed = 0, failed = 0, unfolded = 0, refolded = 0, timeouts = 0;
	uint64_t max_flushes = 0, nblocks = RACE_SIZE / BLOCK;
	uint64_t fault_seen[NWRITERS] = { 0 };
	static uint64_t snap[RACE_PAGES][NWRITERS];
	uint8_t *range = base + RACE_OFF;
	pid_t pids[NWRITERS];
	struct mshare_stats st0, st;
	struct ctl *c;

	TAP_SUCCESS(region_map_anon(fd, RACE_OFF, RACE_SIZE), "(h) map 1 MiB for the race");
	TAP_SUCCESS(region_advise(fd, RACE_OFF, RACE_SIZE, MADV_POPULATE_WRITE),
		    "(h) populate it");
	st0 = stats(fd);
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		tap_bail("cannot map the control page");

	pin(0, 0);
	for (unsigned int i = 0; i < NWRITERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			tap_bail("fork failed");
		if (!pids[i]) {
			uint8_t *mine = base;

			if (i == 0) {
				/* Another address on the other CPU */
				mine = region_attach_avoid(fd, align, PROT_READ | PROT_WRITE,
							   NULL, (void *const *)&base, 1);
				if (mine == MAP_FAILED)
					_exit(2);
				munmap(base, align);
				pin(1, 0);
			} else {
				pin(0, 19);
			}
			writer(c, i, mine + RACE_OFF);
			_exit(0);
		}
	}

	for (unsigned int it = 0; it < iter; it++) {
		/* 16 KiB to 48 KiB inside one block, a different one each time */
		uint64_t start = (it % nblocks) * BLOCK + (it % 3 + 1) * 8 * KiB;
		uint64_t len = (it % 4 + 1) * 8 * KiB;
		struct timespec t0;
		uint64_t before;

		atomic_store(&c->ro_start, start);
		atomic_store(&c->ro_end, start + len);
		atomic_fetch_add(&c->epoch, 1);
		before = stats(fd).nr_flushes;
		if (region_protect(fd, RACE_OFF + start, len, PROT_READ))
			failed++;
		st = stats(fd);
		unfolded += st.nr_cont_blocks == st0.nr_cont_blocks - 1;
		if (st.nr_flushes - before > max_flushes)
			max_flushes = st.nr_flushes - before;
		for (uint64_t p = start / PAGE; p < (start + len) / PAGE; p++)
			for (unsigned int i = 0; i < NWRITERS; i++)
				snap[p][i] = *((volatile uint64_t *)(range + p * PAGE) + i);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			bool all = true;

			for (unsigned int i = 0; i < NWRITERS; i++)
				all &= atomic_load(&c->w[i].faults) > fault_seen[i];
			if (all)
				break;
			if (ns_since(&t0) > HOLD_NS) {
				timeouts++;
				break;
			}
			sched_yield();
		}
		for (uint64_t p = start / PAGE; p < (start + len) / PAGE; p++)
			for (unsigned int i = 0; i < NWRITERS; i++)
				changed += snap[p][i] !=
					   *((volatile uint64_t *)(range + p * PAGE) + i);
		for (unsigned int i = 0; i < NWRITERS; i++)
			fault_seen[i] = atomic_load(&c->w[i].faults);
		before = stats(fd).nr_flushes;
		if (region_protect(fd, RACE_OFF + start, len, PROT_READ | PROT_WRITE))
			failed++;
		st = stats(fd);
		refolded += st.nr_cont_blocks == st0.nr_cont_blocks;
		if (st.nr_flushes - before > max_flushes)
			max_flushes = st.nr_flushes - before;
		atomic_fetch_add(&c->epoch, 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (ns_since(&t0) < 1000000L)
			sched_yield();
	}
	atomic_store(&c->stop, 1);
	for (unsigned int i = 0; i < NWRITERS; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		tap_ok(WIFEXITED(status) && !WEXITSTATUS(status), "(h) writer %u ran to the end", i);
	}
	tap_ok(!failed, "(h) %u PROTECTs of part of a block, read-only and back (%lu failed)",
	       2 * iter, failed);
	tap_ok(unfolded == iter && refolded == iter,
	       "(h) each unfolded its block and each undo folded it back (%lu, %lu of %u)",
	       unfolded, refolded, iter);
	tap_ok(max_flushes <= 2, "(h) at most 2 all-CPU flushes a call (%llu)",
	       (unsigned long long)max_flushes);
	tap_ok(!changed, "(h) no store goes through a read-only part once PROTECT returned (%lu)",
	       changed);
	for (unsigned int i = 0; i < NWRITERS; i++) {
		tap_diag("writer %u: %llu stores, %llu faults", i,
			 (unsigned long long)c->w[i].stores, (unsigned long long)c->w[i].faults);
		tap_ok(c->w[i].stores && c->w[i].faults, "(h) writer %u (%s) stored and faulted",
		       i, i ? "same CPU, same address" : "other CPU, other address");
		tap_ok(!c->w[i].bad_code && !c->w[i].bad_addr && !c->w[i].rw_faults,
		       "(h) writer %u: every fault SEGV_ACCERR, at its address, in a read-only part",
		       i);
		tap_ok(!c->w[i].readback && !c->w[i].final_bad,
		       "(h) writer %u: every store read back, and its last ones are all there", i);
	}
	tap_diag("%lu of %u read-only phases ended before both writers faulted", timeouts, iter);
	munmap(c, sizeof(*c));
}

int main(int argc, char **argv)
{
	unsigned int iter = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	char path[512], buf[128];
	uint8_t *base;
	int fd;

	if (!on_arm64() || access(MTHP "shmem_enabled", W_OK)) {
		tap_skip("contiguous PTEs are arm64's, with 64 KiB mTHP",
			 "contpte folding in region tables");
		return tap_done();
	}
	require_msharefs();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tap_bail("needs 2 CPUs");
	if (sysfs_read(MTHP "shmem_enabled", buf, sizeof(buf)))
		tap_bail("cannot read the 64 KiB shmem setting");
	selected(buf, saved_enabled, sizeof(saved_enabled));
	if (sysfs_read(KHUGEPAGED "scan_sleep_millisecs", saved_sleep, sizeof(saved_sleep)))
		tap_bail("cannot read khugepaged's scan period");
	atexit(restore_mthp);
	if (sysfs_write(MTHP "shmem_enabled", "always"))
		tap_bail("cannot enable 64 KiB folios for shared anonymous memory");

	align = mshare_align_raw();
	fd = region_new("contpte", path, sizeof(path), align);
	if (region_map_anon(fd, POP_OFF, SIZE))
		tap_bail("cannot map memory into a region");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		tap_bail("cannot attach a region");

	test_populate(fd, base);
	test_protect(fd, base);
	test_unmap(fd, base);
	test_khugepaged(fd);
	test_race(fd, base, iter);

	munmap(base, align);
	close(fd);
	unlink(path);
	return tap_done();
}
