// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attaching regions through libmshare, against the real kernel:
 * mshare_attach(), mshare_detach(), mshare_create_anon(),
 * mshare_attach_name(), and handles across fork().
 *
 * - attach: where the kernel likes or at a given aligned address, two
 *   handles at two addresses sharing data; an unaligned address (the
 *   kernel's EINVAL), an address already mapped (EEXIST, the mapping
 *   there untouched), a second attach on one handle (EBUSY), an unsized
 *   region, unknown flags; a read-only attach faults on writes;
 * - detach: the address faults afterwards, twice is EINVAL;
 * - create_anon: sizes rounded up to pages in a region rounded up to the
 *   alignment, POPULATE, EEXIST leaving the existing region alone, and
 *   failures (the kernel's EFBIG and ENOMEM, no huge pages) leaving no
 *   name and no descriptor behind;
 * - attach_name: read-write, read-only, ENOENT, and a forked child that
 *   inherits the attach;
 * - fork: the child uses and detaches its copy of a handle, and the
 *   parent's attach stays.
 */
#define _GNU_SOURCE

#include "libmshare-test.h"

static const char *const nr_hugepages = "/proc/sys/vm/nr_hugepages";
static const char *const overcommit_memory = "/proc/sys/vm/overcommit_memory";

static bool aligned(const void *a)
{
	return !((uintptr_t)a & (lt_align - 1));
}

static void test_attach(void)
{
	char name[64], uname[64];
	struct mshare_region *h1, *h2, *h3, *h4, *u;
	unsigned char *p1, *p2, *p3, *a, *m;

	h1 = lt_sized(lt_name(name, sizeof(name), "att"), lt_align);
	if (mshare_map(h1, 0, MiB, RW, -1, 0, 0))
		tap_bail("cannot fill a region");
	h2 = lt_need(mshare_open(name, 0), "mshare_open");
	h3 = lt_need(mshare_open(name, 0), "mshare_open");
	h4 = lt_need(mshare_open(name, 0), "mshare_open");

	errno = 0;
	p1 = mshare_attach(h1, NULL, 0);
	tap_ok(p1 && aligned(p1) && mshare_addr(h1) == p1,
	       "mshare_attach(NULL address): aligned, and mshare_addr() says it (%p, %s)",
	       (void *)p1, strerror(errno));
	if (!p1)
		tap_bail("cannot attach");

	a = lt_free_aligned(lt_align);
	p2 = mshare_attach(h2, a, 0);
	tap_ok(p2 == a && mshare_addr(h2) == a,
	       "mshare_attach(a free aligned address) attaches there (%p, %p)", (void *)a,
	       (void *)p2);
	if (p2 != a)
		tap_bail("cannot attach at a given address");
	p1[0] = 0x31;
	p2[1] = 0x32;
	tap_ok(p2[0] == 0x31 && p1[1] == 0x32,
	       "the two attaches, at two addresses, see each other's writes");
	tap_ok(lt_stats(h1).nr_attached == 2, "the region counts 2 attaches");

	LT_NULL(mshare_attach(h1, NULL, 0), EBUSY, "a second mshare_attach() on a handle: EBUSY");
	LT_NULL(mshare_attach(h1, lt_free_aligned(lt_align), 0), EBUSY,
		"  at a free address too");
	LT_NULL(mshare_attach(h1, NULL, MSHARE_ATTACH_RDONLY), EBUSY, "  read-only too");
	tap_ok(mshare_addr(h1) == p1 && lt_stats(h1).nr_attached == 2,
	       "and the handle keeps its attach, the region its count");

	a = lt_free_aligned(lt_align);
	LT_NULL(mshare_attach(h3, a + lt_page, 0), EINVAL,
		"mshare_attach(an address off by a page): EINVAL (the kernel's)");
	LT_NULL(mshare_attach(h3, a + lt_align / 2, 0), EINVAL,
		"mshare_attach(an address off by half the alignment): EINVAL");
	tap_ok(!mshare_addr(h3) && lt_stats(h1).nr_attached == 2, "and nothing is attached");

	/* Never over a mapping the caller has. */
	m = mmap(a, lt_page, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != a)
		tap_bail("cannot map a page at a free address");
	m[0] = 0x41;
	LT_NULL(mshare_attach(h3, a, 0), EEXIST,
		"mshare_attach() at an address already mapped: EEXIST");
	tap_ok(m[0] == 0x41 && !mshare_addr(h3), "the mapping there is untouched");
	m[1] = 0x42;
	tap_ok(m[1] == 0x42, "  and still private and writable");
	munmap(m, lt_page);
	m = mmap(a + GiB, lt_page, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != a + GiB)
		tap_bail("cannot map a page at a free address");
	m[0] = 0x43;
	LT_NULL(mshare_attach(h3, a, 0), EEXIST,
		"mshare_attach() over a mapping 1 GiB into the range: EEXIST");
	tap_ok(m[0] == 0x43 && lt_stats(h1).nr_attached == 2, "and that mapping is untouched");
	munmap(m, lt_page);

	LT_NULL(mshare_attach(h3, NULL, 0x2), EINVAL, "mshare_attach(flags 0x2): EINVAL");
	LT_NULL(mshare_attach(h3, NULL, ~0u), EINVAL, "mshare_attach(flags ~0): EINVAL");
	LT_NULL(mshare_attach(NULL, NULL, 0), EINVAL, "mshare_attach(NULL): EINVAL");
	u = lt_sized(lt_name(uname, sizeof(uname), "unsized"), 0);
	LT_NULL(mshare_attach(u, NULL, 0), EINVAL, "mshare_attach() of an unsized region: EINVAL");
	LT_NULL(mshare_attach(u, NULL, MSHARE_ATTACH_RDONLY), EINVAL, "  read-only too");
	mshare_close(u);
	mshare_unlink(uname);

	/* Read-only through a read-write handle. */
	errno = 0;
	p3 = mshare_attach(h3, NULL, MSHARE_ATTACH_RDONLY);
	tap_ok(p3 && aligned(p3) && p3[0] == 0x31,
	       "mshare_attach(MSHARE_ATTACH_RDONLY) reads the memory (%s)", strerror(errno));
	if (!p3)
		tap_bail("cannot attach read-only");
	lt_touch_is(p3 + 2, LT_WRITE, LT_ACCERR, "a write to it faults (SEGV_ACCERR)");
	tap_ok(p1[2] == 0, "  and changes nothing");
	p1[3] = 0x33;
	tap_ok(p3[3] == 0x33, "it sees the writes of a read-write attach");

	/* Detach. */
	lt_rc(mshare_detach(h3), 0, "mshare_detach()");
	errno = EIO;
	tap_ok(!mshare_addr(h3) && !errno, "mshare_addr() is NULL after it, errno 0");
	tap_ok(lt_stats(h1).nr_attached == 2, "the region counts one attach less");
	lt_touch_is(p3, LT_READ, LT_MAPERR, "the old address faults (SEGV_MAPERR)");
	lt_rc(mshare_detach(h3), -EINVAL, "mshare_detach() again: -EINVAL");
	lt_rc(mshare_detach(h4), -EINVAL, "mshare_detach() of a handle never attached: -EINVAL");
	lt_rc(mshare_detach(NULL), -EINVAL, "mshare_detach(NULL): -EINVAL");
	p3 = mshare_attach(h3, NULL, 0);
	tap_ok(p3 && p3[3] == 0x33, "the handle attaches again, to the same memory");
	tap_ok(lt_touch(p1, LT_READ) == LT_OK && lt_touch(p2, LT_READ) == LT_OK,
	       "the other attaches are unaffected by all this");

	mshare_detach(h1);
	mshare_detach(h2);
	mshare_detach(h3);
	tap_ok(lt_stats(h1).nr_attached == 0, "detached everywhere, the region counts none");
	mshare_close(h1);
	mshare_close(h2);
	mshare_close(h3);
	mshare_close(h4);
	mshare_unlink(name);
}

/* mshare_create_anon() must leave nothing behind when it fails. */
static void anon_fails(const char *name, uint64_t size, mode_t mode, unsigned int flags,
		       int want, const char *what)
{
	int nfds = lt_nr_fds();
	void *r;

	errno = 0;
	r = mshare_create_anon(name, size, mode, flags);
	lt_null(r, errno, want, "mshare_create_anon(%s): %s", what, strerror(want));
	tap_ok(!lt_exists(name) && lt_nr_fds() == nfds,
	       "  and leaves no region and no descriptor behind");
}

static void test_create_anon(void)
{
	char name[64], path[PATH_MAX];
	struct mshare_region *r, *o;
	unsigned char *p;
	uint64_t size = 0;
	long huge, overcommit;
	struct stat st;

	lt_name(name, sizeof(name), "anon");
	errno = 0;
	r = mshare_create_anon(name, 1, 0640, 0);
	tap_ok(r != NULL, "mshare_create_anon(1 byte) (%s)", strerror(errno));
	if (!r)
		tap_bail("cannot create an anonymous region");
	p = mshare_addr(r);
	tap_ok(p && aligned(p), "it is attached, aligned (%p)", (void *)p);
	mshare_get_size(r, &size);
	tap_ok(size == lt_align, "the region is the alignment (%" PRIu64 ")", size);
	memset(&st, 0, sizeof(st));
	stat(lt_path(path, sizeof(path), name), &st);
	tap_ok((st.st_mode & 07777) == 0640, "with mode 0640 (%o)", st.st_mode & 07777);
	tap_ok((fcntl(mshare_fd(r), F_GETFL) & O_ACCMODE) == O_RDWR, "the handle is read-write");
	tap_ok(lt_stats(r).rss_bytes == 0 && lt_stats(r).nr_attached == 1,
	       "nothing resident yet, one attach");
	p[0] = 1;
	p[lt_page - 1] = 2;
	tap_ok(lt_stats(r).rss_bytes == lt_page, "written, one page is resident");
	lt_touch_is(p + lt_page, LT_READ, LT_MAPERR,
		    "the memory is one page: the next one is a hole (SEGV_MAPERR)");

	/* The existing region is left as it is. */
	errno = 0;
	o = mshare_create_anon(name, 2 * MiB, 0600, MSHARE_MAP_POPULATE);
	lt_null(o, errno, EEXIST, "mshare_create_anon() of an existing name: EEXIST");
	o = mshare_open(name, 0);
	tap_ok(o && lt_stats(o).size == lt_align && lt_stats(o).rss_bytes == lt_page &&
	       p[0] == 1 && p[lt_page - 1] == 2,
	       "  and leaves the existing region, its memory and data untouched");
	tap_ok(lt_touch(p + lt_page, LT_READ) == LT_MAPERR, "  and maps nothing more into it");
	mshare_close(o);
	mshare_detach(r);
	mshare_close(r);
	mshare_unlink(name);

	r = lt_need(mshare_create_anon(name, 3 * lt_page + 1, 0600, 0), "mshare_create_anon");
	p = mshare_addr(r);
	tap_ok(lt_touch(p + 4 * lt_page - 1, LT_WRITE) == LT_OK &&
	       lt_touch(p + 4 * lt_page, LT_READ) == LT_MAPERR,
	       "mshare_create_anon(3 pages + 1 byte) maps 4 pages");
	mshare_detach(r);
	mshare_close(r);
	mshare_unlink(name);

	r = lt_need(mshare_create_anon(name, MiB, 0600, MSHARE_MAP_POPULATE),
		    "mshare_create_anon(POPULATE)");
	tap_ok(lt_stats(r).rss_bytes == MiB,
	       "mshare_create_anon(1 MiB, POPULATE): 1 MiB is resident at once (%" PRIu64 ")",
	       lt_stats(r).rss_bytes);
	mshare_detach(r);
	mshare_close(r);
	mshare_unlink(name);

	/*
	 * More memory than the alignment needs a region of twice the
	 * alignment, and more shared memory than this machine has: the
	 * kernel's heuristic overcommit refuses it (see the 1 TiB failure
	 * below), so overcommit is allowed for this one.
	 */
	overcommit = lt_read_long(overcommit_memory);
	if (!lt_write_long(overcommit_memory, 1))
		tap_bail("cannot set vm.overcommit_memory");
	r = mshare_create_anon(name, lt_align + 1, 0600, 0);
	lt_write_long(overcommit_memory, overcommit);
	size = 0;
	if (r)
		mshare_get_size(r, &size);
	tap_ok(r && size == 2 * lt_align,
	       "mshare_create_anon(alignment + 1 byte), overcommitting: the region is twice "
	       "the alignment (%" PRIu64 ")", size);
	if (r) {
		p = mshare_addr(r);
		tap_ok(lt_touch(p + lt_align + lt_page - 1, LT_WRITE) == LT_OK &&
		       lt_touch(p + lt_align + lt_page, LT_READ) == LT_MAPERR,
		       "  with the alignment + 1 page of memory");
		mshare_detach(r);
		mshare_close(r);
		mshare_unlink(name);
	}

	/* Failures. */
	anon_fails(name, 0, 0600, 0, EINVAL, "size 0");
	anon_fails(name, UINT64_MAX, 0600, 0, EINVAL, "UINT64_MAX bytes");
	anon_fails(name, 1ULL << 62, 0600, 0, EFBIG, "2^62 bytes: the kernel cannot size it");
	if (lt_read_long(overcommit_memory) == 0)
		anon_fails(name, TiB, 0600, 0, ENOMEM,
			   "1 TiB: the region is sized, the map finds no memory");
	else
		tap_skip("vm.overcommit_memory is not 0",
			 "mshare_create_anon(1 TiB) refused by the heuristic overcommit");
	anon_fails(name, lt_page, 0600, 0x4, EINVAL, "flags 0x4");
	anon_fails(name, lt_page, 010000, 0, EINVAL, "mode 010000");
	LT_NULL(mshare_create_anon(NULL, lt_page, 0600, 0), EINVAL,
		"mshare_create_anon(NULL name): EINVAL");
	{
		char dir[] = "/tmp/lt-anon.XXXXXX", other[PATH_MAX];

		if (!mkdtemp(dir))
			tap_bail("cannot make a temporary directory");
		snprintf(other, sizeof(other), "%s/r", dir);
		anon_fails(other, lt_page, 0600, 0, ENODEV, "a path in /tmp");
		rmdir(dir);
	}

	/*
	 * Huge pages. The size is rounded up to the default huge page size,
	 * so 1 byte asks for one huge page: ENOMEM while none is reserved.
	 */
	huge = lt_read_long(nr_hugepages);
	if (huge) {
		tap_skip("huge pages are reserved",
			 "mshare_create_anon(HUGETLB) without huge pages");
		tap_skip("huge pages are reserved",
			 "mshare_create_anon(HUGETLB) without huge pages");
	} else {
		anon_fails(name, 1, 0600, MSHARE_MAP_HUGETLB, ENOMEM,
			   "1 byte, HUGETLB, no huge page reserved");
		anon_fails(name, 2 * MiB, 0600, MSHARE_MAP_HUGETLB, ENOMEM,
			   "2 MiB, HUGETLB, no huge page reserved");
	}
	if (!lt_write_long(nr_hugepages, huge + 1) || lt_read_long(nr_hugepages) != huge + 1) {
		tap_skip("no huge page could be reserved", "mshare_create_anon(HUGETLB)");
	} else {
		r = mshare_create_anon(name, 2 * MiB, 0600,
				       MSHARE_MAP_HUGETLB | MSHARE_MAP_POPULATE);
		tap_ok(r && lt_stats(r).rss_bytes == 2 * MiB,
		       "mshare_create_anon(2 MiB, HUGETLB | POPULATE) with a huge page reserved");
		if (r) {
			p = mshare_addr(r);
			p[2 * MiB - 1] = 9;
			tap_ok(p[2 * MiB - 1] == 9, "  and the memory works");
			mshare_detach(r);
			mshare_close(r);
			mshare_unlink(name);
		}
		/* The page is free again: 1 byte takes all of it. */
		r = mshare_create_anon(name, 1, 0600,
				       MSHARE_MAP_HUGETLB | MSHARE_MAP_POPULATE);
		tap_ok(r && lt_stats(r).rss_bytes == 2 * MiB,
		       "mshare_create_anon(1 byte, HUGETLB) maps a whole huge page");
		if (r) {
			mshare_detach(r);
			mshare_close(r);
			mshare_unlink(name);
		}
	}
	lt_write_long(nr_hugepages, huge);
}

static int pipefd[2];
static unsigned char *inherited;

/* A forked child: its inherited attach sees the parent's later write. */
static int child_reads(void *unused)
{
	char c;

	(void)unused;
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1)
		return 1;
	if (inherited[100] != 0x99)
		return 2;
	inherited[200] = 0x55;
	return 0;
}

static int parent_writes(void)
{
	pid_t pid;
	int status;

	if (pipe(pipefd))
		tap_bail("pipe failed");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid)
		_exit(child_reads(NULL));
	close(pipefd[0]);
	inherited[100] = 0x99;
	if (write(pipefd[1], "x", 1) != 1)
		tap_bail("cannot write a pipe");
	close(pipefd[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_attach_name(void)
{
	char name[64], uname[64];
	struct mshare_region *r, *a, *b, *u;
	unsigned char *p, *q, *qb;
	int nfds;

	r = lt_need(mshare_create_anon(lt_name(name, sizeof(name), "byname"), lt_page, 0600, 0),
		    "mshare_create_anon");
	p = mshare_addr(r);
	p[0] = 0x42;

	errno = 0;
	a = mshare_attach_name(name, 0);
	q = mshare_addr(a);
	tap_ok(a && q && q != p && aligned(q) && q[0] == 0x42,
	       "mshare_attach_name(name, 0) attaches the region elsewhere (%s)", strerror(errno));
	if (!a)
		tap_bail("cannot attach by name");
	q[1] = 0x43;
	tap_ok(p[1] == 0x43, "  read-write: its writes are seen by the first attach");
	tap_ok((fcntl(mshare_fd(a), F_GETFL) & O_ACCMODE) == O_RDWR,
	       "  through a read-write handle");

	errno = 0;
	b = mshare_attach_name(name, MSHARE_ATTACH_RDONLY);
	qb = mshare_addr(b);
	tap_ok(b && qb && qb[1] == 0x43,
	       "mshare_attach_name(name, MSHARE_ATTACH_RDONLY) reads the memory (%s)",
	       strerror(errno));
	if (b) {
		tap_ok((fcntl(mshare_fd(b), F_GETFL) & O_ACCMODE) == O_RDONLY,
		       "  through a read-only handle");
		lt_touch_is(qb, LT_WRITE, LT_ACCERR, "  and a write faults (SEGV_ACCERR)");
		lt_rc(mshare_map(b, lt_page, lt_page, RW, -1, 0, 0), -EBADF,
		      "  and mshare_map() through it is -EBADF");
		tap_ok(lt_stats(b).nr_attached == 3, "the region counts 3 attaches");
	}

	nfds = lt_nr_fds();
	LT_NULL(mshare_attach_name("lt-missing", 0), ENOENT, "mshare_attach_name(missing): ENOENT");
	LT_NULL(mshare_attach_name(name, 0x2), EINVAL, "mshare_attach_name(flags 0x2): EINVAL");
	LT_NULL(mshare_attach_name(NULL, 0), EINVAL, "mshare_attach_name(NULL): EINVAL");
	LT_NULL(mshare_attach_name(".", MSHARE_ATTACH_RDONLY), EISDIR,
		"mshare_attach_name(\".\"): EISDIR");
	u = lt_sized(lt_name(uname, sizeof(uname), "unsized"), 0);
	LT_NULL(mshare_attach_name(uname, 0), EINVAL,
		"mshare_attach_name() of an unsized region: EINVAL");
	mshare_close(u);
	mshare_unlink(uname);
	tap_ok(lt_nr_fds() == nfds, "no failed call left a descriptor open");

	/* A forked child inherits the attach. */
	inherited = q;
	lt_rc(parent_writes(), 0, "a forked child reads, through the inherited attach, "
	      "what the parent wrote after the fork");
	tap_ok(p[200] == 0x55, "and the parent reads what the child wrote");

	mshare_detach(b);
	mshare_close(b);
	mshare_detach(a);
	mshare_close(a);
	mshare_detach(r);
	mshare_close(r);
	mshare_unlink(name);
}

static struct mshare_region *forked;
static unsigned char *forked_p;

/* The child's copy of a handle: usable, and detached in the child only. */
static int child_uses_handle(void *unused)
{
	struct mshare_stats st;

	(void)unused;
	if (mshare_stats(forked, &st) || st.nr_attached != 2)
		return 1;	/* the child's inherited attach counts */
	if (mshare_addr(forked) != forked_p || forked_p[0] != 7)
		return 2;
	forked_p[0] = 8;
	if (mshare_detach(forked))
		return 3;
	if (mshare_stats(forked, &st) || st.nr_attached != 1 || mshare_addr(forked))
		return 4;
	if (lt_touch(forked_p, LT_READ) != LT_MAPERR)
		return 5;
	return mshare_close(forked) ? 6 : 0;
}

static void test_fork(void)
{
	char name[64];
	int rc;

	forked = lt_need(mshare_create_anon(lt_name(name, sizeof(name), "fork"), lt_page, 0600, 0),
			 "mshare_create_anon");
	forked_p = mshare_addr(forked);
	forked_p[0] = 7;
	rc = lt_in_child(child_uses_handle, NULL);
	tap_ok(rc == 0, "a forked child gets stats (2 attaches) through its copy of the handle, "
	       "writes, detaches (1 attach left, its address faults) and closes it (%d)", rc);
	tap_ok(mshare_addr(forked) == forked_p && forked_p[0] == 8,
	       "the parent's attach is still there, with the child's write");
	tap_ok(lt_stats(forked).nr_attached == 1 && fcntl(mshare_fd(forked), F_GETFD) >= 0,
	       "and the parent's handle still works (1 attach)");
	lt_rc(mshare_detach(forked), 0, "the parent detaches its own attach");
	lt_rc(mshare_close(forked), 0, "and closes its handle");
	mshare_unlink(name);
}

int main(void)
{
	lt_init();

	test_attach();
	test_create_anon();
	test_attach_name();
	test_fork();

	return tap_done();
}
