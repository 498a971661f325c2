// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Pinning region memory (issue 8; DESIGN 4.2 "GUP"), in the manner of the
 * kernel's tools/testing/selftests/mm/gup_longterm.c, on anonymous,
 * memfd (tmpfs), ext4 page-cache and hugetlb memory of a region, attached
 * read-write (A) and read-only (B) in one process:
 *
 * (a) /sys/kernel/debug/gup_test PIN_LONGTERM_TEST_START, with and without
 *     USE_WRITE and USE_FAST: read pins work everywhere; write pins work
 *     through A on anonymous, memfd and hugetlb memory and fail (EFAULT)
 *     on ext4 page cache, which needs dirty tracking (gup_longterm's
 *     rule: the host VMA judges the backing), and always fail through B.
 *     PIN_LONGTERM_TEST_READ gives the region's data, and what A stores
 *     after the pin shows through it: the pinned pages are the region's.
 * (b) GUP_BASIC_TEST, PIN_BASIC_TEST, GUP_FAST_BENCHMARK,
 *     PIN_FAST_BENCHMARK and PIN_LONGTERM_BENCHMARK over 2 MiB: all pages
 *     (write through A, read through B), none for a write through B, a
 *     long-term write pin of ext4 page cache or a hole.
 * (c) DUMP_USER_PAGES_TEST: a page reached through A and through B is one
 *     page frame (the same PFN, in the kernel log); the next is another.
 *     (pagemap cannot show it: a container is a hole to page walkers.)
 * (d) a pin outlives MSHAREFS_PROTECT and MSHAREFS_UNMAP of its range, as
 *     it outlives mprotect() and munmap() of an ordinary mapping: the
 *     sharers fault (SEGV_ACCERR, SEGV_MAPERR) and new write pins fail,
 *     while the pin still reads the data; memory mapped there anew is
 *     fresh zeros, not the pinned pages.
 * (e) io_uring fixed buffers (long-term write pins) beyond test-gup: memfd
 *     and hugetlb region memory registers, and READ_FIXED lands in the
 *     memfd itself and shows through B; ext4-backed region memory is
 *     refused (EFAULT) as an ordinary shared mapping of that file is; a
 *     registered buffer goes on working across PROTECT (PROT_READ, then
 *     PROT_NONE) and UNMAP of its range, and after its region is
 *     detached, closed and unlinked, whose memory it keeps until it is
 *     unregistered, and no longer.
 *
 * (a)-(d) need CONFIG_GUP_TEST (the heavy and selftests kernels) and skip
 * without it.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sys/uio.h>
#include <time.h>

#include "guest.h"
#include "pattern.h"
#include "probe.h"
#include "uring.h"

/* mm/gup_test.h of 6.12: a debugfs test interface, not exported uapi. */
struct gup_test {
	uint64_t get_delta_usec;
	uint64_t put_delta_usec;
	uint64_t addr;
	uint64_t size;
	uint32_t nr_pages_per_call;
	uint32_t gup_flags;
	uint32_t test_flags;
	uint32_t which_pages[8];
};

struct pin_longterm_test {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
};

#define GUP_FAST_BENCHMARK		_IOWR('g', 1, struct gup_test)
#define PIN_FAST_BENCHMARK		_IOWR('g', 2, struct gup_test)
#define PIN_LONGTERM_BENCHMARK		_IOWR('g', 3, struct gup_test)
#define GUP_BASIC_TEST			_IOWR('g', 4, struct gup_test)
#define PIN_BASIC_TEST			_IOWR('g', 5, struct gup_test)
#define DUMP_USER_PAGES_TEST		_IOWR('g', 6, struct gup_test)
#define PIN_LONGTERM_TEST_START		_IOW('g', 7, struct pin_longterm_test)
#define PIN_LONGTERM_TEST_STOP		_IO('g', 8)
#define PIN_LONGTERM_TEST_READ		_IOW('g', 9, uint64_t)
#define PIN_LONGTERM_TEST_FLAG_USE_WRITE	1
#define PIN_LONGTERM_TEST_FLAG_USE_FAST		2
#define FOLL_WRITE			0x01	/* include/linux/mm_types.h */

#define GUP_TEST	"/sys/kernel/debug/gup_test"
#define NO_GUP_TEST	"no " GUP_TEST " (a kernel without CONFIG_GUP_TEST)"

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define RW		(PROT_READ | PROT_WRITE)
#define LEN		(2 * MiB)	/* each backing */
#define PLEN		(1 * MiB)	/* the ranges (d) and (e) unmap and protect */
#define HOLE		(64 * MiB)
#define ORPHAN		(64 * MiB)	/* the region (e) detaches while pinned */
#define FILE_SEED	0x51		/* the io_uring file's first LEN bytes */

/* Region offsets */
#define OFF_PROT	(8 * MiB)
#define OFF_UNMAP	(10 * MiB)
#define OFF_IOU_PROT	(12 * MiB)
#define OFF_IOU_UNMAP	(14 * MiB)

enum { ANON, MEMFD, EXT4, HUGE, NR_BACKINGS };

static const struct {
	const char *name;
	uint64_t off;
	bool long_write;	/* a long-term write pin may be taken */
} backing[NR_BACKINGS] = {
	[ANON] = { "anonymous", 0, true },
	[MEMFD] = { "memfd", 2 * MiB, true },
	[EXT4] = { "ext4 file", 4 * MiB, false },
	[HUGE] = { "hugetlb", 6 * MiB, true },
};

static uint64_t align;
static uint8_t *a, *b;			/* read-write and read-only attaches */
static bool have[NR_BACKINGS];
static int rfd, gup_fd = -1, mfd, iofd;
static uint8_t *buf;			/* LEN of ordinary memory */

static uint64_t seed_of(int k)
{
	return 0x10 + k;
}

/* ---- (a) long-term pins ---- */

/*
 * PIN_LONGTERM_TEST_START of @len at @p: 0 or the errno. When it pins,
 * *@data says whether PIN_LONGTERM_TEST_READ gives @seed's pattern and,
 * after A stores another at @wr, that one.
 */
static int longterm(uint8_t *p, uint8_t *wr, size_t len, uint32_t flags,
		    uint64_t seed, bool *data)
{
	struct pin_longterm_test args = { (uintptr_t)p, len, flags };
	uint64_t to = (uintptr_t)buf;

	*data = false;
	if (ioctl(gup_fd, PIN_LONGTERM_TEST_START, &args))
		return errno;
	memset(buf, 0, len);
	*data = !ioctl(gup_fd, PIN_LONGTERM_TEST_READ, &to) && is_pattern(buf, len, seed);
	pattern(wr, len, seed ^ 0xff);
	*data = *data && !ioctl(gup_fd, PIN_LONGTERM_TEST_READ, &to) &&
		is_pattern(buf, len, seed ^ 0xff);
	pattern(wr, len, seed);
	if (ioctl(gup_fd, PIN_LONGTERM_TEST_STOP))
		tap_bail("PIN_LONGTERM_TEST_STOP failed");
	return 0;
}

static void test_longterm(int k)
{
	static const struct {
		uint32_t flags;
		const char *name;
	} how[] = {
		{ 0, "read" },
		{ PIN_LONGTERM_TEST_FLAG_USE_FAST, "read, fast" },
		{ PIN_LONGTERM_TEST_FLAG_USE_WRITE, "write" },
		{ PIN_LONGTERM_TEST_FLAG_USE_WRITE | PIN_LONGTERM_TEST_FLAG_USE_FAST, "write, fast" },
	};
	uint64_t off = backing[k].off;

	if (gup_fd < 0 || !have[k]) {
		tap_skip(gup_fd < 0 ? NO_GUP_TEST : "no huge page to be had",
			 "(a) long-term pins of %s memory", backing[k].name);
		return;
	}
	for (int ro = 0; ro < 2; ro++) {
		for (size_t i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
			bool write = how[i].flags & PIN_LONGTERM_TEST_FLAG_USE_WRITE;
			bool works = !write || (!ro && backing[k].long_write);
			bool data;
			int err;

			err = longterm((ro ? b : a) + off, a + off, LEN, how[i].flags,
				       seed_of(k), &data);
			if (works) {
				if (err)
					tap_diag("PIN_LONGTERM_TEST_START: %s", strerror(err));
				tap_ok(!err && data,
				       "(a) %s memory, %s attach: a long-term %s pin works, and reads the data A stores before and after it",
				       backing[k].name, ro ? "read-only" : "read-write", how[i].name);
			} else {
				tap_errno_is(err ? -1 : 0, err, EFAULT,
					     "(a) %s memory, %s attach: a long-term %s pin is EFAULT",
					     backing[k].name, ro ? "read-only" : "read-write",
					     how[i].name);
			}
		}
	}
	tap_ok(is_pattern(b + off, LEN, seed_of(k)),
	       "(a) %s memory: the data is intact", backing[k].name);
}

/* ---- (b) counts ---- */

/* Bytes the gup_test command @cmd got of @len at @p (0 on error). */
static uint64_t gup_bytes(unsigned long cmd, const void *p, size_t len, uint32_t gup_flags)
{
	struct gup_test g = {
		.addr = (uintptr_t)p,
		.size = len,
		.nr_pages_per_call = 64,
		.gup_flags = gup_flags,
	};

	if (ioctl(gup_fd, cmd, &g)) {
		tap_diag("gup_test command %#lx: %s", cmd, strerror(errno));
		return 0;
	}
	return g.size;
}

static void test_counts(void)
{
	static const struct {
		unsigned long cmd;
		const char *name;
	} cmds[] = {
		{ GUP_BASIC_TEST, "GUP_BASIC_TEST" },
		{ PIN_BASIC_TEST, "PIN_BASIC_TEST" },
		{ GUP_FAST_BENCHMARK, "GUP_FAST_BENCHMARK" },
		{ PIN_FAST_BENCHMARK, "PIN_FAST_BENCHMARK" },
		{ PIN_LONGTERM_BENCHMARK, "PIN_LONGTERM_BENCHMARK" },
	};

	if (gup_fd < 0) {
		tap_skip(NO_GUP_TEST, "(b) GUP and pin counts over region memory");
		return;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		uint64_t w = gup_bytes(cmds[i].cmd, a, LEN, FOLL_WRITE);
		uint64_t r = gup_bytes(cmds[i].cmd, b, LEN, 0);
		uint64_t rw = gup_bytes(cmds[i].cmd, b, LEN, FOLL_WRITE);
		uint64_t h = gup_bytes(cmds[i].cmd, a + HOLE, LEN, 0);

		tap_ok(w == LEN && r == LEN && !rw && !h,
		       "(b) %s: all of 2 MiB for a write through A (%" PRIu64 ") and a read through B (%" PRIu64 "), nothing for a write through B (%" PRIu64 ") nor at a hole (%" PRIu64 ")",
		       cmds[i].name, w, r, rw, h);
	}
	tap_ok(gup_bytes(PIN_BASIC_TEST, a + backing[EXT4].off, LEN, FOLL_WRITE) == LEN &&
	       !gup_bytes(PIN_LONGTERM_BENCHMARK, a + backing[EXT4].off, LEN, FOLL_WRITE) &&
	       gup_bytes(PIN_LONGTERM_BENCHMARK, a + backing[EXT4].off, LEN, 0) == LEN,
	       "(b) ext4 page cache through A: a short-term write pin and a long-term read pin get all of it, a long-term write pin nothing");
}

/* ---- (c) one page frame ---- */

/* The PFN DUMP_USER_PAGES_TEST logs for the page at @p; 0 if none. */
static unsigned long dumped_pfn(const void *p)
{
	struct gup_test g = {
		.addr = (uintptr_t)p,
		.size = 4096,
		.nr_pages_per_call = 1,
		.which_pages = { 1 },
	};
	unsigned long pfn = 0;
	char rec[1024];
	ssize_t n;
	int kfd;

	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kfd < 0 || lseek(kfd, 0, SEEK_END) < 0)
		tap_bail("cannot read /dev/kmsg");
	if (ioctl(gup_fd, DUMP_USER_PAGES_TEST, &g) || g.size != 4096) {
		close(kfd);
		return 0;
	}
	/* One record a read; EAGAIN at the end */
	while (!pfn && (n = read(kfd, rec, sizeof(rec) - 1)) > 0) {
		char *s;

		rec[n] = '\0';
		s = strstr(rec, " pfn:0x");
		if (s && strstr(rec, "page: refcount:"))
			pfn = strtoul(s + 7, NULL, 16);
	}
	close(kfd);
	return pfn;
}

static void test_same_frame(void)
{
	if (gup_fd < 0) {
		tap_skip(NO_GUP_TEST, "(c) the page frames behind the attaches");
		return;
	}
	for (int k = ANON; k <= MEMFD; k++) {
		uint8_t *pa = a + backing[k].off, *pb = b + backing[k].off;
		unsigned long fa = dumped_pfn(pa), fb = dumped_pfn(pb);
		unsigned long next = dumped_pfn(pa + 4096);

		tap_ok(fa && fa == fb && next && next != fa,
		       "(c) %s memory: the same page through A and B is one frame (pfn %#lx, %#lx), the next page another (%#lx)",
		       backing[k].name, fa, fb, next);
	}
}

/* ---- (d) pins across PROTECT and UNMAP ---- */

static bool pin_reads(uint64_t seed)
{
	uint64_t to = (uintptr_t)buf;

	memset(buf, 0, PLEN);
	return !ioctl(gup_fd, PIN_LONGTERM_TEST_READ, &to) && is_pattern(buf, PLEN, seed);
}

static void test_pin_protect_unmap(void)
{
	struct pin_longterm_test args = { (uintptr_t)(a + OFF_PROT), PLEN,
					  PIN_LONGTERM_TEST_FLAG_USE_WRITE };

	if (gup_fd < 0) {
		tap_skip(NO_GUP_TEST, "(d) pins across MSHAREFS_PROTECT and MSHAREFS_UNMAP");
		return;
	}
	pattern(a + OFF_PROT, PLEN, 0x21);
	if (ioctl(gup_fd, PIN_LONGTERM_TEST_START, &args))
		tap_bail("cannot pin the range to protect");
	TAP_SUCCESS(region_protect(rfd, OFF_PROT, PLEN, PROT_READ),
		    "(d) MSHAREFS_PROTECT PROT_READ of a range with a long-term write pin works");
	tap_ok(probe_store((uint64_t *)(a + OFF_PROT), 1) && fault_code == SEGV_ACCERR,
	       "(d) a store through A is SIGSEGV SEGV_ACCERR");
	tap_ok(!gup_bytes(PIN_BASIC_TEST, a + OFF_PROT, PLEN, FOLL_WRITE) &&
	       gup_bytes(PIN_BASIC_TEST, a + OFF_PROT, PLEN, 0) == PLEN,
	       "(d) a new write pin gets nothing, a read pin all");
	tap_ok(pin_reads(0x21), "(d) the pin still reads the data");
	TAP_SUCCESS(region_protect(rfd, OFF_PROT, PLEN, PROT_NONE),
		    "(d) MSHAREFS_PROTECT PROT_NONE of it works");
	tap_ok(probe_load((uint64_t *)(b + OFF_PROT)) && fault_code == SEGV_ACCERR &&
	       !gup_bytes(PIN_BASIC_TEST, a + OFF_PROT, PLEN, 0),
	       "(d) a load through B is SIGSEGV SEGV_ACCERR, a read pin gets nothing");
	tap_ok(pin_reads(0x21), "(d) the pin still reads the data");
	ioctl(gup_fd, PIN_LONGTERM_TEST_STOP);
	TAP_SUCCESS(region_protect(rfd, OFF_PROT, PLEN, RW), "(d) MSHAREFS_PROTECT back to read-write");
	tap_ok(is_pattern(b + OFF_PROT, PLEN, 0x21) && !probe_store((uint64_t *)(a + OFF_PROT), 0),
	       "(d) the data is there and A stores again");

	args.addr = (uintptr_t)(a + OFF_UNMAP);
	pattern(a + OFF_UNMAP, PLEN, 0x22);
	if (ioctl(gup_fd, PIN_LONGTERM_TEST_START, &args))
		tap_bail("cannot pin the range to unmap");
	TAP_SUCCESS(region_unmap(rfd, OFF_UNMAP, PLEN),
		    "(d) MSHAREFS_UNMAP of a range with a long-term write pin works");
	tap_ok(probe_load((uint64_t *)(a + OFF_UNMAP)) && fault_code == SEGV_MAPERR &&
	       probe_load((uint64_t *)(b + OFF_UNMAP + PLEN - 8)) && fault_code == SEGV_MAPERR,
	       "(d) loads through A and B are SIGSEGV SEGV_MAPERR");
	tap_ok(pin_reads(0x22), "(d) the pinned pages outlive the unmap: the pin reads the data");
	ioctl(gup_fd, PIN_LONGTERM_TEST_STOP);
	if (region_map_anon(rfd, OFF_UNMAP, PLEN))
		tap_bail("cannot map the unmapped range again");
	tap_ok(is_zero(b + OFF_UNMAP, PLEN), "(d) memory mapped there again is zeros");
}

/* ---- (e) io_uring fixed buffers ---- */

static int uring_register(struct io_uring *ring, void *p, size_t len)
{
	struct iovec iov = { p, len };

	return io_uring_register_buffers(ring, &iov, 1);
}

/* Register @len at @p, READ_FIXED the file's first @len bytes into it, unregister. */
static bool uring_fill(struct io_uring *ring, uint8_t *p, size_t len)
{
	bool ok = !uring_register(ring, p, len) &&
		  uring_rw(ring, false, iofd, p, len, 0) == (int)len;

	return !io_uring_unregister_buffers(ring) && ok;
}

static void test_uring_backings(struct io_uring *ring)
{
	uint8_t *p = a + backing[MEMFD].off, *f;
	int r;

	TAP_SUCCESS(uring_register(ring, p, LEN) ? -1 : 0,
		    "(e) memfd region memory registers as a fixed buffer");
	r = uring_rw(ring, false, iofd, p, LEN, 0);
	tap_ok(r == (int)LEN && is_pattern(b + backing[MEMFD].off, LEN, FILE_SEED),
	       "(e) READ_FIXED into it shows through B (%d)", r);
	tap_ok(pread(mfd, buf, LEN, 0) == (ssize_t)LEN && is_pattern(buf, LEN, FILE_SEED),
	       "(e) and in the memfd itself: the buffer's pages are its page cache");
	pattern(p, LEN, 0x31);
	r = uring_rw(ring, true, iofd, p, LEN, LEN);
	tap_ok(r == (int)LEN && pread(iofd, buf, LEN, LEN) == (ssize_t)LEN &&
	       is_pattern(buf, LEN, 0x31),
	       "(e) WRITE_FIXED from it writes what A stored (%d)", r);
	TAP_SUCCESS(io_uring_unregister_buffers(ring), "(e) unregister it");
	pattern(p, LEN, seed_of(MEMFD));

	if (have[HUGE]) {
		tap_ok(uring_fill(ring, a + backing[HUGE].off, LEN) &&
		       is_pattern(b + backing[HUGE].off, LEN, FILE_SEED),
		       "(e) hugetlb region memory registers, and READ_FIXED into it shows through B");
		pattern(a + backing[HUGE].off, LEN, seed_of(HUGE));
	} else {
		tap_skip("no huge page to be had", "(e) hugetlb region memory as a fixed buffer");
	}

	r = uring_register(ring, a + backing[EXT4].off, LEN);
	if (!r)
		io_uring_unregister_buffers(ring);
	tap_errno_is(r ? -1 : 0, -r, EFAULT,
		     "(e) ext4-backed region memory does not register (a long-term write pin of page cache)");
	f = mmap(NULL, LEN, RW, MAP_SHARED, iofd, 0);
	if (f == MAP_FAILED)
		tap_bail("cannot map the ext4 file");
	r = uring_register(ring, f, LEN);
	if (!r)
		io_uring_unregister_buffers(ring);
	tap_errno_is(r ? -1 : 0, -r, EFAULT,
		     "(e) control: neither does an ordinary shared mapping of an ext4 file");
	munmap(f, LEN);
	tap_ok(is_pattern(b + backing[EXT4].off, LEN, seed_of(EXT4)),
	       "(e) the ext4-backed region memory is intact");
}

static void test_uring_protect_unmap(struct io_uring *ring)
{
	uint8_t *p = a + OFF_IOU_PROT, *u = a + OFF_IOU_UNMAP;
	struct io_uring ring2;
	int r;

	if (uring_register(ring, p, PLEN))
		tap_bail("cannot register the range to protect");
	TAP_SUCCESS(region_protect(rfd, OFF_IOU_PROT, PLEN, PROT_READ),
		    "(e) MSHAREFS_PROTECT PROT_READ of a registered fixed buffer works");
	r = uring_rw(ring, false, iofd, p, PLEN, 0);
	tap_ok(r == (int)PLEN && is_pattern(b + OFF_IOU_PROT, PLEN, FILE_SEED),
	       "(e) READ_FIXED into it still works (the pin predates the protection), and B reads the data (%d)",
	       r);
	tap_ok(probe_store((uint64_t *)p, 1) && fault_code == SEGV_ACCERR,
	       "(e) a store through A is SIGSEGV SEGV_ACCERR");
	/* On another ring: this one has its buffer */
	if (io_uring_queue_init(2, &ring2, 0))
		tap_bail("cannot make a second io_uring");
	r = uring_register(&ring2, p, PLEN);
	if (!r)
		io_uring_unregister_buffers(&ring2);
	io_uring_queue_exit(&ring2);
	tap_errno_is(r ? -1 : 0, -r, EFAULT, "(e) registering the range again is EFAULT");
	TAP_SUCCESS(region_protect(rfd, OFF_IOU_PROT, PLEN, PROT_NONE),
		    "(e) MSHAREFS_PROTECT PROT_NONE of it works");
	pattern(buf, PLEN, 0x41);
	if (pwrite(iofd, buf, PLEN, 2 * LEN) != (ssize_t)PLEN)
		tap_bail("cannot write the io_uring file");
	r = uring_rw(ring, false, iofd, p, PLEN, 2 * LEN);
	tap_ok(r == (int)PLEN && probe_load((uint64_t *)(b + OFF_IOU_PROT)) &&
	       fault_code == SEGV_ACCERR,
	       "(e) READ_FIXED into it still works while B's loads are SIGSEGV SEGV_ACCERR (%d)", r);
	TAP_SUCCESS(region_protect(rfd, OFF_IOU_PROT, PLEN, RW), "(e) MSHAREFS_PROTECT back to read-write");
	tap_ok(is_pattern(b + OFF_IOU_PROT, PLEN, 0x41),
	       "(e) the sharers read what READ_FIXED brought in under PROT_NONE");
	TAP_SUCCESS(io_uring_unregister_buffers(ring), "(e) unregister it");

	pattern(u, PLEN, 0x42);
	if (uring_register(ring, u, PLEN))
		tap_bail("cannot register the range to unmap");
	TAP_SUCCESS(region_unmap(rfd, OFF_IOU_UNMAP, PLEN),
		    "(e) MSHAREFS_UNMAP of a registered fixed buffer works");
	tap_ok(probe_load((uint64_t *)u) && fault_code == SEGV_MAPERR,
	       "(e) a load through A is SIGSEGV SEGV_MAPERR");
	r = uring_rw(ring, true, iofd, u, PLEN, 2 * LEN);
	tap_ok(r == (int)PLEN && pread(iofd, buf, PLEN, 2 * LEN) == (ssize_t)PLEN &&
	       is_pattern(buf, PLEN, 0x42),
	       "(e) WRITE_FIXED from it writes the data it held: the pages outlive the unmap (%d)", r);
	r = uring_rw(ring, false, iofd, u, PLEN, 0);
	tap_ok(r == (int)PLEN, "(e) READ_FIXED into it works (%d)", r);
	if (region_map_anon(rfd, OFF_IOU_UNMAP, PLEN))
		tap_bail("cannot map the unmapped range again");
	tap_ok(is_zero(b + OFF_IOU_UNMAP, PLEN),
	       "(e) memory mapped there again is zeros, not the buffer's pages");
	TAP_SUCCESS(io_uring_unregister_buffers(ring), "(e) unregister it");
}

static long memfree_kb(void)
{
	vmstat_refresh();
	return proc_kb("/proc/meminfo", "MemFree");
}

/* A registered buffer keeps its pages after its region is gone, and only until unregistered. */
static void test_uring_orphan(struct io_uring *ring)
{
	char path[512];
	long before, pinned, freed = 0;
	uint8_t *p;
	int fd, r;

	fd = region_new("pin-orphan", path, sizeof(path), align);
	if (region_map_anon(fd, 0, ORPHAN))
		tap_bail("cannot map the orphan region");
	p = region_attach(fd, align, RW);
	if (p == MAP_FAILED)
		tap_bail("cannot attach the orphan region");
	pattern(p, ORPHAN, 0x51);
	TAP_SUCCESS(uring_register(ring, p, ORPHAN) ? -1 : 0,
		    "(e) 64 MiB of another region register as a fixed buffer");
	before = memfree_kb();
	munmap(p, align);
	close(fd);
	unlink(path);
	pinned = memfree_kb();
	tap_ok(pinned - before < (long)(ORPHAN / KiB / 2),
	       "(e) detached, closed and unlinked, the region's memory stays allocated while registered (MemFree %+ld kB)",
	       pinned - before);
	r = uring_rw(ring, true, iofd, p, PLEN, 2 * LEN);
	tap_ok(r == (int)PLEN && pread(iofd, buf, PLEN, 2 * LEN) == (ssize_t)PLEN &&
	       is_pattern(buf, PLEN, 0x51),
	       "(e) WRITE_FIXED from the buffer still writes the region's data (%d)", r);
	r = uring_rw(ring, false, iofd, p, PLEN, 0);
	tap_ok(r == (int)PLEN, "(e) READ_FIXED into it still works (%d)", r);
	TAP_SUCCESS(io_uring_unregister_buffers(ring), "(e) unregister it");
	/* The unpinning may finish after the call: wait for it a little. */
	for (int i = 0; i < 100 && freed < (long)(ORPHAN / KiB / 2); i++) {
		freed = memfree_kb() - pinned;
		if (freed < (long)(ORPHAN / KiB / 2))
			usleep(20000);
	}
	tap_ok(freed >= (long)(ORPHAN / KiB / 2),
	       "(e) unregistering frees the region's memory (MemFree %+ld kB of %llu)",
	       freed, ORPHAN / KiB);
}

static void test_uring(void)
{
	struct io_uring ring;
	int r = io_uring_queue_init(4, &ring, 0);

	if (r == -ENOSYS || r == -EPERM) {
		tap_skip("no io_uring", "(e) io_uring fixed buffers in region memory");
		return;
	}
	if (r)
		tap_bail("io_uring_queue_init failed");
	test_uring_backings(&ring);
	test_uring_protect_unmap(&ring);
	test_uring_orphan(&ring);
	io_uring_queue_exit(&ring);
}

/* ---- setup ---- */

/* The number of huge pages, after setting it to @set if @set >= 0; -1 on error. */
static long nr_hugepages(long set)
{
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r+");
	long n = -1;

	if (!f)
		return -1;
	if (set < 0 || (fprintf(f, "%ld\n", set) > 0 && !fflush(f))) {
		rewind(f);
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
	}
	fclose(f);
	return n;
}

int main(void)
{
	const char *disk = getenv("VM_DISK");
	char region[512], fpath[512], iopath[512];
	long huge_before;
	int rofd, ffd;

	require_msharefs();
	align = mshare_align_raw();
	alarm(1200);
	if (!disk || !*disk)
		disk = "/mnt/disk";
	probe_catch();
	gup_fd = open(GUP_TEST, O_RDWR);
	if (gup_fd < 0)
		tap_diag("%s: %s: the gup_test cases skip", GUP_TEST, strerror(errno));
	if (posix_memalign((void **)&buf, 4096, LEN))
		tap_bail("out of memory");

	rfd = region_new("pin", region, sizeof(region), align);
	/* anonymous */
	have[ANON] = !region_map_anon(rfd, backing[ANON].off, LEN);
	/* memfd */
	mfd = memfd_create("pin", 0);
	have[MEMFD] = mfd >= 0 && !ftruncate(mfd, LEN) &&
		      !region_map(rfd, backing[MEMFD].off, LEN, RW, MAP_SHARED | MAP_FIXED, mfd, 0);
	/* ext4 page cache */
	snprintf(fpath, sizeof(fpath), "%s/pin-backing.%d", disk, (int)getpid());
	ffd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	have[EXT4] = ffd >= 0 && !ftruncate(ffd, LEN) &&
		     !region_map(rfd, backing[EXT4].off, LEN, RW, MAP_SHARED | MAP_FIXED, ffd, 0);
	/* hugetlb, with a huge page made for it */
	huge_before = nr_hugepages(-1);
	have[HUGE] = huge_before >= 0 && nr_hugepages(huge_before + 1) == huge_before + 1 &&
		     !region_map(rfd, backing[HUGE].off, LEN, RW,
				 MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (!have[ANON] || !have[MEMFD] || !have[EXT4])
		tap_bail("cannot map anonymous, memfd and ext4 memory into the region");
	if (!have[HUGE])
		tap_diag("no hugetlb memory: its cases skip");
	if (region_map_anon(rfd, OFF_PROT, 8 * MiB))
		tap_bail("cannot map the ranges to protect and unmap");

	a = region_attach(rfd, align, RW);
	rofd = open(region, O_RDONLY);
	b = rofd < 0 ? MAP_FAILED : region_attach(rofd, align, PROT_READ);
	if (a == MAP_FAILED || b == MAP_FAILED)
		tap_bail("cannot attach the region");
	close(rofd);
	for (int k = 0; k < NR_BACKINGS; k++)
		if (have[k])
			pattern(a + backing[k].off, LEN, seed_of(k));

	/* The file io_uring reads from and writes to */
	snprintf(iopath, sizeof(iopath), "%s/pin-io.%d", disk, (int)getpid());
	iofd = open(iopath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	pattern(buf, LEN, FILE_SEED);
	if (iofd < 0 || pwrite(iofd, buf, LEN, 0) != (ssize_t)LEN || ftruncate(iofd, 4 * LEN))
		tap_bail("cannot write the io_uring file");

	for (int k = 0; k < NR_BACKINGS; k++)
		test_longterm(k);
	test_counts();
	test_same_frame();
	test_pin_protect_unmap();
	test_uring();

	munmap(a, align);
	munmap(b, align);
	close(rfd);
	unlink(region);
	close(ffd);
	unlink(fpath);
	close(iofd);
	unlink(iopath);
	close(mfd);
	if (huge_before >= 0)
		nr_hugepages(huge_before);
	if (gup_fd >= 0)
		close(gup_fd);
	free(buf);
	return tap_done();
}
