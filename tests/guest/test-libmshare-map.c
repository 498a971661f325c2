// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What is in a region, through libmshare, against the real kernel:
 * mshare_map(), mshare_unmap(), mshare_protect(), mshare_advise() and
 * mshare_stats(). One region is attached through two handles: what one
 * call does is checked through the other attach (read in this process,
 * faults in forked children) and through the statistics.
 *
 * - map: anonymous and memfd memory (with fd_offset), MSHARE_MAP_POPULATE
 *   (rss_bytes grows by the size at once; when populating fails, here past
 *   the end of a memfd, the mapping is gone again), MSHARE_MAP_HUGETLB with
 *   and without huge pages reserved, PROT_NONE memory, and every bad
 *   argument: the library's own checks and the kernel's (EBADF, ENODEV,
 *   EACCES, EEXIST for an overlap, EINVAL outside the region);
 * - unmap: holes seen by every attach, new memory reads zero;
 * - protect: read-only and no-access for every attach, bad prot, holes;
 * - advise: populate, DONTNEED keeps the data, REMOVE drops it, bad advice;
 * - stats: every field, and the NULL cases.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "libmshare-test.h"

/* Region offsets of the ranges this program maps: none shares 2 MiB. */
#define OFF_ANON	0		/* 16 pages, anonymous */
#define OFF_MEMFD	(2 * MiB)	/* 2 pages of a memfd, from its page 1 */
#define OFF_POP		(4 * MiB)	/* 1 MiB, anonymous, populated */
#define OFF_POP_RO	(6 * MiB)	/* 256 KiB of a memfd, read-only, populated */
#define OFF_BADPOP	(8 * MiB)	/* where populating fails */
#define OFF_HUGE	(10 * MiB)	/* 2 MiB of huge pages */
#define OFF_FREE	(12 * MiB)	/* where the refused calls aim */
#define OFF_ADVISE	(14 * MiB)	/* 1 MiB for advice */
#define OFF_NONE	(16 * MiB)	/* a page of PROT_NONE */
#define OFF_HOLE	GiB		/* never mapped */

static struct mshare_region *h, *h2;	/* two handles of one region */
static unsigned char *p, *q;		/* and their attaches */
static int mfd_ro;			/* the memfd of OFF_POP_RO, opened read-only */

static uint64_t rss(void)
{
	return lt_stats(h).rss_bytes;
}

/* A memfd of @pages pages, page i starting with 'A' + i. */
static int memfd_pages(unsigned int pages)
{
	int fd = memfd_create("lt-map", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, pages * lt_page))
		tap_bail("cannot make a memfd");
	for (unsigned int i = 0; i < pages; i++) {
		char c = 'A' + i;

		if (pwrite(fd, &c, 1, i * lt_page) != 1)
			tap_bail("cannot write a memfd");
	}
	return fd;
}

static char memfd_byte(int fd, uint64_t off)
{
	char c = 0;

	if (pread(fd, &c, 1, off) != 1)
		tap_bail("cannot read a memfd");
	return c;
}

static void test_map(void)
{
	uint64_t r0;
	int mfd;

	/* Anonymous memory, faulted in on use. */
	r0 = rss();
	lt_rc(mshare_map(h, OFF_ANON, 16 * lt_page, RW, -1, 0, 0), 0,
	      "mshare_map(16 pages, anonymous, read-write)");
	tap_ok(rss() == r0, "nothing is resident before it is used");
	p[OFF_ANON] = 1;
	tap_ok(q[OFF_ANON] == 1, "a write through one attach is read through the other");
	tap_ok(rss() == r0 + lt_page, "one page is resident after one write (%" PRIu64 ")",
	       rss() - r0);
	lt_touch_is(q + OFF_ANON + 15 * lt_page, LT_WRITE, LT_OK,
		    "a child writes its last page");
	lt_touch_is(q + OFF_ANON + 16 * lt_page, LT_READ, LT_MAPERR,
		    "the page after it is a hole (SEGV_MAPERR)");

	/* A memfd, from its second page. */
	mfd = memfd_pages(4);
	lt_rc(mshare_map(h, OFF_MEMFD, 2 * lt_page, RW, mfd, lt_page, 0), 0,
	      "mshare_map(2 pages of a memfd, fd_offset one page)");
	tap_ok(q[OFF_MEMFD] == 'B' && q[OFF_MEMFD + lt_page] == 'C',
	       "the attach reads the memfd's pages 1 and 2 ('%c', '%c')",
	       q[OFF_MEMFD], q[OFF_MEMFD + lt_page]);
	p[OFF_MEMFD] = 'x';
	tap_ok(memfd_byte(mfd, lt_page) == 'x', "a write through the attach is in the memfd");
	if (pwrite(mfd, "y", 1, 2 * lt_page) != 1)
		tap_bail("cannot write a memfd");
	tap_ok(q[OFF_MEMFD + lt_page] == 'y', "a write to the memfd is read through the attach");

	/* Populated at once: rss grows by exactly the size. */
	r0 = rss();
	lt_rc(mshare_map(h, OFF_POP, MiB, RW, -1, 0, MSHARE_MAP_POPULATE), 0,
	      "mshare_map(1 MiB, anonymous, MSHARE_MAP_POPULATE)");
	tap_ok(rss() - r0 == MiB, "rss_bytes grew by 1 MiB at once (%" PRIu64 ")", rss() - r0);

	/* A read-only file mapping populates too (MADV_POPULATE_READ). */
	close(mfd);
	mfd = memfd_pages(64);
	{
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
		mfd_ro = open(path, O_RDONLY | O_CLOEXEC);
		if (mfd_ro < 0)
			tap_bail("cannot reopen a memfd read-only");
	}
	r0 = rss();
	lt_rc(mshare_map(h, OFF_POP_RO, 64 * lt_page, PROT_READ, mfd_ro, 0, MSHARE_MAP_POPULATE),
	      0, "mshare_map(256 KiB of a read-only memfd, PROT_READ, POPULATE)");
	tap_ok(rss() - r0 == 64 * lt_page, "rss_bytes grew by 256 KiB (%" PRIu64 ")", rss() - r0);
	tap_ok(q[OFF_POP_RO + 63 * lt_page] == 'A' + 63, "the attach reads the file");
	lt_touch_is(q + OFF_POP_RO, LT_WRITE, LT_ACCERR, "and a write to it faults (SEGV_ACCERR)");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, mfd_ro, 0, 0), -EACCES,
	      "mshare_map(PROT_WRITE) of a file open read-only: -EACCES");
	close(mfd);

	/*
	 * Populating fails past the end of a file (EFAULT): the library then
	 * removes the mapping it made, which leaves the range free.
	 */
	mfd = memfd_pages(1);
	r0 = rss();
	lt_rc(mshare_map(h, OFF_BADPOP, 2 * lt_page, RW, mfd, 0, MSHARE_MAP_POPULATE), -EFAULT,
	      "mshare_map(2 pages of a 1-page memfd, POPULATE): -EFAULT");
	tap_ok(rss() == r0, "nothing stays resident (%" PRIu64 ")", rss() - r0);
	lt_touch_is(q + OFF_BADPOP, LT_READ, LT_MAPERR, "the range is a hole again (SEGV_MAPERR)");
	lt_rc(mshare_map(h, OFF_BADPOP, 2 * lt_page, RW, mfd, 0, 0), 0,
	      "and the same mapping without POPULATE then succeeds");
	tap_ok(q[OFF_BADPOP] == 'A', "  and reads the memfd");
	close(mfd);

	/* PROT_NONE memory may be mapped, not populated. */
	lt_rc(mshare_map(h, OFF_NONE, lt_page, PROT_NONE, -1, 0, 0), 0,
	      "mshare_map(PROT_NONE)");
	lt_touch_is(q + OFF_NONE, LT_READ, LT_ACCERR, "  and reading it faults (SEGV_ACCERR)");
}

static void test_map_hugetlb(void)
{
	const char *nr = "/proc/sys/vm/nr_hugepages";
	long before = lt_read_long(nr), got;
	uint64_t r0;

	lt_rc(mshare_map(h, OFF_HUGE, lt_page, RW, -1, 0, MSHARE_MAP_HUGETLB), -EINVAL,
	      "mshare_map(HUGETLB) of one base page: -EINVAL (the kernel's)");
	if (before != 0) {
		tap_skip("huge pages are reserved", "mshare_map(HUGETLB) without huge pages");
	} else {
		lt_rc(mshare_map(h, OFF_HUGE, 2 * MiB, RW, -1, 0, MSHARE_MAP_HUGETLB), -ENOMEM,
		      "mshare_map(2 MiB, HUGETLB) with no huge page reserved: -ENOMEM");
		lt_touch_is(q + OFF_HUGE, LT_READ, LT_MAPERR, "  and maps nothing");
	}

	if (!lt_write_long(nr, before + 1) || (got = lt_read_long(nr)) != before + 1) {
		tap_skip("no huge page could be reserved", "mshare_map(HUGETLB | POPULATE)");
		lt_write_long(nr, before);
		return;
	}
	r0 = rss();
	lt_rc(mshare_map(h, OFF_HUGE, 2 * MiB, RW, -1, 0,
			 MSHARE_MAP_HUGETLB | MSHARE_MAP_POPULATE), 0,
	      "mshare_map(2 MiB, HUGETLB | POPULATE) with a huge page reserved");
	tap_ok(rss() - r0 == 2 * MiB, "rss_bytes grew by 2 MiB (%" PRIu64 ")", rss() - r0);
	p[OFF_HUGE + MiB] = 0x21;
	tap_ok(q[OFF_HUGE + MiB] == 0x21, "the huge page is shared by both attaches");
	lt_rc(mshare_unmap(h, OFF_HUGE, 2 * MiB), 0, "mshare_unmap() of it");
	tap_ok(rss() == r0, "and rss_bytes is back");
	lt_write_long(nr, before);
}

/* Refused calls: all aim at OFF_FREE, which is checked to be free after. */
static void test_map_errors(void)
{
	char name[64];
	struct mshare_region *u;
	int mfd = memfd_pages(1), pipefd[2];

	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, mfd, 0, MSHARE_MAP_HUGETLB), -EINVAL,
	      "mshare_map(HUGETLB) with a file: -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, PROT_NONE, -1, 0, MSHARE_MAP_POPULATE), -EINVAL,
	      "mshare_map(PROT_NONE, POPULATE): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, PROT_WRITE, -1, 0, MSHARE_MAP_POPULATE), -EINVAL,
	      "mshare_map(PROT_WRITE without PROT_READ, POPULATE): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, -1, 0, 0x4), -EINVAL,
	      "mshare_map(flags 0x4): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, -1, 0, 0x80000000u), -EINVAL,
	      "mshare_map(flags 0x80000000): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW | 0x8, -1, 0, 0), -EINVAL,
	      "mshare_map(prot with 0x8): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, -1, -1, 0, 0), -EINVAL,
	      "mshare_map(prot -1): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, -2, 0, 0), -EINVAL,
	      "mshare_map(fd -2): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, INT_MIN, 0, 0), -EINVAL,
	      "mshare_map(fd INT_MIN): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, -1, lt_page, 0), -EINVAL,
	      "mshare_map(anonymous, fd_offset a page): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, mfd, 100, 0), -EINVAL,
	      "mshare_map(fd_offset 100): -EINVAL (the kernel's)");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, 1000, 0, 0), -EBADF,
	      "mshare_map(fd not open): -EBADF (the kernel's)");
	if (pipe(pipefd))
		tap_bail("pipe failed");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, PROT_READ, pipefd[0], 0, 0), -ENODEV,
	      "mshare_map(PROT_READ, a pipe's read end): -ENODEV (the kernel's)");
	/* mmap(2) checks the file's mode before whether it can be mapped at all. */
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, pipefd[0], 0, 0), -EACCES,
	      "mshare_map(PROT_WRITE, a pipe's read end): -EACCES (the kernel's)");
	close(pipefd[0]);
	close(pipefd[1]);
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, mshare_fd(h2), 0, 0), -EINVAL,
	      "mshare_map(an msharefs region as the file): -EINVAL");

	/* Overlaps, and the memory there is untouched. */
	lt_rc(mshare_map(h, OFF_ANON, 16 * lt_page, RW, -1, 0, 0), -EEXIST,
	      "mshare_map() of a mapped range: -EEXIST (the kernel's)");
	lt_rc(mshare_map(h, OFF_ANON + 15 * lt_page, 2 * lt_page, RW, -1, 0, 0), -EEXIST,
	      "mshare_map() overlapping a mapped range's end: -EEXIST");
	lt_rc(mshare_map(h, OFF_ANON + 8 * lt_page, lt_page, RW, -1, 0, MSHARE_MAP_POPULATE),
	      -EEXIST, "mshare_map(POPULATE) inside a mapped range: -EEXIST");
	tap_ok(q[OFF_ANON] == 1 && q[OFF_ANON + 15 * lt_page] == 0x5a,
	       "and the memory there is as it was");

	/* The range must lie in the region and be page-aligned. */
	lt_rc(mshare_map(h, lt_align, lt_page, RW, -1, 0, 0), -EINVAL,
	      "mshare_map() at the region's end: -EINVAL");
	lt_rc(mshare_map(h, lt_align - lt_page, 2 * lt_page, RW, -1, 0, 0), -EINVAL,
	      "mshare_map() across the region's end: -EINVAL");
	lt_rc(mshare_map(h, lt_page, UINT64_MAX - lt_page + 1, RW, -1, 0, 0), -EINVAL,
	      "mshare_map() whose end wraps around: -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, 0, RW, -1, 0, 0), -EINVAL, "mshare_map(size 0): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE + 100, lt_page, RW, -1, 0, 0), -EINVAL,
	      "mshare_map(offset not page-aligned): -EINVAL");
	lt_rc(mshare_map(h, OFF_FREE, 100, RW, -1, 0, 0), -EINVAL,
	      "mshare_map(size not page-aligned): -EINVAL");
	lt_rc(mshare_map(NULL, OFF_FREE, lt_page, RW, -1, 0, 0), -EINVAL,
	      "mshare_map(NULL): -EINVAL");
	u = lt_sized(lt_name(name, sizeof(name), "unsized"), 0);
	lt_rc(mshare_map(u, 0, lt_page, RW, -1, 0, 0), -EINVAL,
	      "mshare_map() of an unsized region: -EINVAL");
	mshare_close(u);
	mshare_unlink(name);

	lt_touch_is(q + OFF_FREE, LT_READ, LT_MAPERR, "no refused call mapped anything");
	lt_rc(mshare_map(h, OFF_FREE, lt_page, RW, mfd, 0, 0), 0,
	      "and the range they aimed at takes a mapping");
	close(mfd);
}

static void test_unmap(void)
{
	char name[64];
	struct mshare_region *u;
	uint64_t r0;

	p[OFF_ANON + 3 * lt_page] = 3;
	p[OFF_ANON + 4 * lt_page] = 4;
	p[OFF_ANON + 5 * lt_page] = 5;
	r0 = rss();
	lt_rc(mshare_unmap(h, OFF_ANON + 4 * lt_page, lt_page), 0,
	      "mshare_unmap() of one page in the middle of a mapping");
	tap_ok(rss() == r0 - lt_page, "rss_bytes fell by a page (%" PRIu64 ")", r0 - rss());
	lt_touch_is(q + OFF_ANON + 4 * lt_page, LT_READ, LT_MAPERR,
		    "the other attach has a hole there (SEGV_MAPERR)");
	tap_ok(q[OFF_ANON + 3 * lt_page] == 3 && q[OFF_ANON + 5 * lt_page] == 5,
	       "and its neighbours keep their data");
	lt_rc(mshare_map(h, OFF_ANON + 4 * lt_page, lt_page, RW, -1, 0, 0), 0,
	      "the page can be mapped again");
	tap_ok(q[OFF_ANON + 4 * lt_page] == 0, "  and reads zero, not the old data");

	lt_rc(mshare_unmap(h, OFF_HOLE, lt_page), 0, "mshare_unmap() of a hole succeeds");
	lt_rc(mshare_unmap(h, lt_align, lt_page), -EINVAL, "mshare_unmap() at the end: -EINVAL");
	lt_rc(mshare_unmap(h, lt_align - lt_page, 2 * lt_page), -EINVAL,
	      "mshare_unmap() across the end: -EINVAL");
	lt_rc(mshare_unmap(h, OFF_ANON, 0), -EINVAL, "mshare_unmap(size 0): -EINVAL");
	lt_rc(mshare_unmap(h, OFF_ANON + 100, lt_page), -EINVAL,
	      "mshare_unmap(offset not page-aligned): -EINVAL");
	lt_rc(mshare_unmap(h, OFF_ANON, 100), -EINVAL,
	      "mshare_unmap(size not page-aligned): -EINVAL");
	lt_rc(mshare_unmap(NULL, OFF_ANON, lt_page), -EINVAL, "mshare_unmap(NULL): -EINVAL");
	u = lt_sized(lt_name(name, sizeof(name), "unsized"), 0);
	lt_rc(mshare_unmap(u, 0, lt_page), -EINVAL, "mshare_unmap() of an unsized region: -EINVAL");
	mshare_close(u);
	mshare_unlink(name);
	tap_ok(q[OFF_ANON + 5 * lt_page] == 5, "no refused unmap removed anything");
}

static void test_protect(void)
{
	char name[64];
	struct mshare_region *u;
	unsigned char *m = q + OFF_MEMFD;

	lt_rc(mshare_protect(h, OFF_MEMFD, 2 * lt_page, PROT_READ), 0,
	      "mshare_protect(PROT_READ)");
	lt_touch_is(m + lt_page, LT_WRITE, LT_ACCERR,
		    "a write through the other attach faults (SEGV_ACCERR)");
	lt_touch_is(p + OFF_MEMFD, LT_WRITE, LT_ACCERR, "  and through this one");
	lt_touch_is(m + lt_page, LT_READ, LT_OK, "a read does not");
	tap_ok(m[lt_page] == 'y', "and the data is unchanged");
	lt_rc(mshare_protect(h, OFF_MEMFD, 2 * lt_page, PROT_NONE), 0,
	      "mshare_protect(PROT_NONE)");
	lt_touch_is(m, LT_READ, LT_ACCERR, "a read faults (SEGV_ACCERR)");
	lt_rc(mshare_protect(h, OFF_MEMFD, 2 * lt_page, PROT_READ | PROT_EXEC), 0,
	      "mshare_protect(PROT_READ | PROT_EXEC)");
	lt_touch_is(m, LT_READ, LT_OK, "a read goes through");
	lt_rc(mshare_protect(h, OFF_MEMFD, 2 * lt_page, RW), 0,
	      "mshare_protect(PROT_READ | PROT_WRITE)");
	lt_touch_is(m + lt_page, LT_WRITE, LT_OK, "a child writes again");
	tap_ok(p[OFF_MEMFD + lt_page] == 0x5a, "  and the write is seen through this attach");

	lt_rc(mshare_protect(h, OFF_POP_RO, lt_page, RW), -EACCES,
	      "mshare_protect(PROT_WRITE) of a file open read-only: -EACCES (the kernel's)");
	lt_rc(mshare_protect(h, OFF_MEMFD, lt_page, 0x8), -EINVAL,
	      "mshare_protect(prot 0x8): -EINVAL");
	lt_rc(mshare_protect(h, OFF_MEMFD, lt_page, -1), -EINVAL,
	      "mshare_protect(prot -1): -EINVAL");
	lt_rc(mshare_protect(h, OFF_MEMFD, lt_page, PROT_WRITE), -EINVAL,
	      "mshare_protect(PROT_WRITE alone): -EINVAL (the kernel's)");
	lt_rc(mshare_protect(h, OFF_MEMFD, lt_page, PROT_EXEC), -EINVAL,
	      "mshare_protect(PROT_EXEC alone): -EINVAL (the kernel's)");
	lt_rc(mshare_protect(h, OFF_HOLE, lt_page, PROT_READ), -ENOMEM,
	      "mshare_protect() of a hole: -ENOMEM (the kernel's)");
	lt_rc(mshare_protect(h, OFF_ANON, 32 * lt_page, PROT_READ), -ENOMEM,
	      "mshare_protect() of a range ending in a hole: -ENOMEM");
	lt_touch_is(q + OFF_ANON, LT_WRITE, LT_OK, "  and the mapped part is still writable");
	lt_rc(mshare_protect(h, lt_align, lt_page, PROT_READ), -EINVAL,
	      "mshare_protect() at the end: -EINVAL");
	lt_rc(mshare_protect(h, OFF_MEMFD, 0, PROT_READ), -EINVAL,
	      "mshare_protect(size 0): -EINVAL");
	lt_rc(mshare_protect(NULL, OFF_MEMFD, lt_page, PROT_READ), -EINVAL,
	      "mshare_protect(NULL): -EINVAL");
	u = lt_sized(lt_name(name, sizeof(name), "unsized"), 0);
	lt_rc(mshare_protect(u, 0, lt_page, PROT_READ), -EINVAL,
	      "mshare_protect() of an unsized region: -EINVAL");
	mshare_close(u);
	mshare_unlink(name);
}

static void test_advise(void)
{
	char name[64];
	struct mshare_region *u;
	uint64_t r0;

	if (mshare_map(h, OFF_ADVISE, MiB, RW, -1, 0, 0))
		tap_bail("cannot map memory to advise");
	r0 = rss();
	lt_rc(mshare_advise(h, OFF_ADVISE, MiB, MADV_POPULATE_WRITE), 0,
	      "mshare_advise(MADV_POPULATE_WRITE)");
	tap_ok(rss() - r0 == MiB, "rss_bytes grew by the size (%" PRIu64 ")", rss() - r0);
	p[OFF_ADVISE] = 0x66;
	lt_rc(mshare_advise(h, OFF_ADVISE, MiB, MADV_DONTNEED), 0, "mshare_advise(MADV_DONTNEED)");
	tap_ok(rss() == r0, "rss_bytes is back (%" PRIu64 ")", rss() - r0);
	tap_ok(q[OFF_ADVISE] == 0x66, "and the data survives (shared memory)");
	lt_rc(mshare_advise(h, OFF_ADVISE, MiB, MADV_REMOVE), 0, "mshare_advise(MADV_REMOVE)");
	tap_ok(q[OFF_ADVISE] == 0, "and the memory reads zero after it");

	lt_rc(mshare_advise(h, OFF_POP_RO, lt_page, MADV_POPULATE_WRITE), -EINVAL,
	      "mshare_advise(MADV_POPULATE_WRITE) of PROT_READ memory: -EINVAL (the kernel's)");
	lt_rc(mshare_advise(h, OFF_ADVISE, MiB, MADV_FREE), -EINVAL,
	      "mshare_advise(MADV_FREE): -EINVAL (the kernel's)");
	lt_rc(mshare_advise(h, OFF_ADVISE, MiB, MADV_DONTFORK), -EINVAL,
	      "mshare_advise(MADV_DONTFORK): -EINVAL");
	lt_rc(mshare_advise(h, OFF_ADVISE, MiB, -1), -EINVAL, "mshare_advise(advice -1): -EINVAL");
	lt_rc(mshare_advise(h, OFF_HOLE, lt_page, MADV_DONTNEED), -ENOMEM,
	      "mshare_advise() of a hole: -ENOMEM (the kernel's)");
	lt_rc(mshare_advise(h, lt_align, lt_page, MADV_DONTNEED), -EINVAL,
	      "mshare_advise() at the end: -EINVAL");
	lt_rc(mshare_advise(h, OFF_ADVISE, 0, MADV_DONTNEED), -EINVAL,
	      "mshare_advise(size 0): -EINVAL");
	lt_rc(mshare_advise(NULL, OFF_ADVISE, MiB, MADV_DONTNEED), -EINVAL,
	      "mshare_advise(NULL): -EINVAL");
	u = lt_sized(lt_name(name, sizeof(name), "unsized"), 0);
	lt_rc(mshare_advise(u, 0, lt_page, MADV_DONTNEED), -EINVAL,
	      "mshare_advise() of an unsized region: -EINVAL");
	mshare_close(u);
	mshare_unlink(name);
}

static void test_stats(void)
{
	struct mshare_stats st;
	bool zero = true;

	memset(&st, 0xff, sizeof(st));
	lt_rc(mshare_stats(h, &st), 0, "mshare_stats()");
	for (unsigned int i = 0; i < 3; i++)
		zero &= !st.reserved[i];
	tap_ok(st.size == lt_align && st.align == lt_align && st.nr_attached == 2 &&
	       st.pgtable_bytes > 0 && st.rss_bytes > 0 && !st.nr_cont_blocks && zero,
	       "size, alignment, 2 attaches, page tables, rss, no cont blocks, reserved 0 "
	       "(%" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")",
	       st.size, st.align, st.nr_attached, st.pgtable_bytes, st.rss_bytes);
	tap_ok(lt_stats(h2).rss_bytes == st.rss_bytes && lt_stats(h2).nr_attached == 2,
	       "the other handle reads the same");
	lt_rc(mshare_detach(h2), 0, "mshare_detach() of the other handle");
	tap_ok(lt_stats(h).nr_attached == 1, "and the region counts one attach");
	lt_rc(mshare_stats(NULL, &st), -EINVAL, "mshare_stats(NULL, stats): -EINVAL");
	lt_rc(mshare_stats(h, NULL), -EINVAL, "mshare_stats(region, NULL): -EINVAL");
}

int main(void)
{
	char name[64];

	lt_init();
	h = lt_sized(lt_name(name, sizeof(name), "map"), lt_align);
	h2 = lt_need(mshare_open(name, 0), "mshare_open");
	p = lt_attach(h, 0);
	q = lt_attach(h2, 0);
	if (p == q)
		tap_bail("two attaches at one address");

	test_map();
	test_map_hugetlb();
	test_map_errors();
	test_unmap();
	test_protect();
	test_advise();
	test_stats();

	mshare_detach(h);
	mshare_close(h);
	mshare_close(h2);
	mshare_unlink(name);
	close(mfd_ro);
	return tap_done();
}
