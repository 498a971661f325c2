// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmshare region handles against the real kernel: mshare_create(),
 * mshare_open(), mshare_unlink(), mshare_set_size(), mshare_get_size(),
 * mshare_close(), mshare_fd() and mshare_addr().
 *
 * - names: relative (to the mount discovery finds, or to LIBMSHARE_PATH),
 *   in a subdirectory, absolute; an absolute path elsewhere than msharefs
 *   is -ENODEV and creates or removes nothing there (nor blocks, for a
 *   FIFO); LIBMSHARE_PATH applies to relative names only, empty is
 *   unset; NULL, "", ".", ".." and a trailing '/' are refused;
 *   mshare_info and directories are not regions;
 * - create: mode as given, EEXIST, ENOENT, bad mode bits;
 * - open: read-write or MSHARE_RDONLY, and what a read-only handle may
 *   do (stats, a read-only attach) and may not (size, map, a read-write
 *   attach), unknown flags;
 * - sizes: 0 until sized, once only, a non-zero multiple of the alignment
 *   no larger than the kernel allows;
 * - unlink: the memory lives on while a handle or an attach holds it;
 * - close: NULL accepted, the attach outlives the handle; fd and addr.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>

#include "libmshare-test.h"

static char dirname_[64];	/* a directory in the mount */

static void test_create_names(void)
{
	char name[64], sub[128], abs[PATH_MAX], path[PATH_MAX];
	struct mshare_region *r, *o;
	struct stat st, fst;
	int fd;

	lt_name(name, sizeof(name), "rel");
	errno = 0;
	r = mshare_create(name, 0640);
	tap_ok(r != NULL, "mshare_create(relative name, 0640) (%s)", strerror(errno));
	if (!r)
		tap_bail("cannot create a region");
	fd = mshare_fd(r);
	memset(&st, 0, sizeof(st));
	stat(lt_path(path, sizeof(path), name), &st);
	tap_ok(S_ISREG(st.st_mode) &&
	       (st.st_mode & 07777) == 0640,
	       "it is a regular file of the mount with mode 0640 (%o)", st.st_mode & 07777);
	tap_ok(fd >= 0 && !fstat(fd, &fst) && fst.st_ino == st.st_ino &&
	       fst.st_dev == st.st_dev, "mshare_fd() is that file");
	tap_ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR,
	       "open read-write and close-on-exec");
	errno = EIO;
	tap_ok(mshare_addr(r) == NULL && errno == 0,
	       "mshare_addr() of an unattached handle is NULL, errno 0");
	LT_NULL(mshare_create(name, 0600), EEXIST, "mshare_create() of an existing name: EEXIST");

	errno = 0;
	o = mshare_open(name, 0);
	tap_ok(o && !fstat(mshare_fd(o), &fst) && fst.st_ino == st.st_ino &&
	       (fcntl(mshare_fd(o), F_GETFL) & O_ACCMODE) == O_RDWR,
	       "mshare_open(name, 0) opens it read-write (%s)", strerror(errno));
	lt_rc(mshare_close(o), 0, "mshare_close() of that handle");
	o = mshare_open(name, MSHARE_RDONLY);
	tap_ok(o && (fcntl(mshare_fd(o), F_GETFL) & O_ACCMODE) == O_RDONLY &&
	       (fcntl(mshare_fd(o), F_GETFD) & FD_CLOEXEC),
	       "mshare_open(name, MSHARE_RDONLY) opens it read-only, close-on-exec");
	mshare_close(o);
	o = mshare_open(lt_path(abs, sizeof(abs), name), 0);
	tap_ok(o && !fstat(mshare_fd(o), &fst) && fst.st_ino == st.st_ino,
	       "mshare_open() of its absolute path");
	mshare_close(o);
	lt_rc(mshare_close(r), 0, "mshare_close()");
	lt_rc(mshare_unlink(name), 0, "mshare_unlink(relative name)");
	tap_ok(!lt_exists(name), "and it is gone");
	LT_NULL(mshare_open(name, 0), ENOENT, "mshare_open() of a removed name: ENOENT");
	LT_NULL(mshare_open(name, MSHARE_RDONLY), ENOENT, "  and with MSHARE_RDONLY");
	lt_rc(mshare_unlink(name), -ENOENT, "mshare_unlink() of a missing name: -ENOENT");

	/* Absolute paths are used as they are. */
	lt_path(abs, sizeof(abs), lt_name(name, sizeof(name), "abs"));
	r = mshare_create(abs, 0600);
	tap_ok(r && lt_exists(name), "mshare_create(absolute path on msharefs)");
	mshare_close(r);
	lt_rc(mshare_unlink(abs), 0, "mshare_unlink(absolute path)");
	tap_ok(!lt_exists(name), "and it is gone");

	/* A subdirectory of the mount. */
	snprintf(sub, sizeof(sub), "%s/r", dirname_);
	r = mshare_create(sub, 0600);
	tap_ok(r && lt_exists(sub), "mshare_create(\"dir/name\") creates it in the subdirectory");
	mshare_close(r);
	r = mshare_open(sub, 0);
	tap_ok(r != NULL, "mshare_open(\"dir/name\")");
	mshare_close(r);
	LT_NULL(mshare_create(sub, 0600), EEXIST, "mshare_create(\"dir/name\") again: EEXIST");
	lt_rc(mshare_unlink(sub), 0, "mshare_unlink(\"dir/name\")");
	tap_ok(!lt_exists(sub), "and it is gone");
	lt_rc(mshare_unlink(sub), -ENOENT, "mshare_unlink(\"dir/name\") again: -ENOENT");

	snprintf(sub, sizeof(sub), "lt-nodir.%d/r", (int)getpid());
	LT_NULL(mshare_create(sub, 0600), ENOENT,
		"mshare_create() in a missing directory: ENOENT");
	LT_NULL(mshare_open(sub, 0), ENOENT, "mshare_open() in a missing directory: ENOENT");
	lt_rc(mshare_unlink(sub), -ENOENT, "mshare_unlink() in a missing directory: -ENOENT");
}

/* Names that are not regions, or not names at all. */
static void test_bad_names(void)
{
	static const char *const invalid[] = { "", ".", "..", "dir/", "/" };
	char name[64], path[PATH_MAX], info[PATH_MAX];
	int nfds = lt_nr_fds();

	LT_NULL(mshare_create(NULL, 0600), EINVAL, "mshare_create(NULL): EINVAL");
	LT_NULL(mshare_open(NULL, 0), EINVAL, "mshare_open(NULL): EINVAL");
	lt_rc(mshare_unlink(NULL), -EINVAL, "mshare_unlink(NULL): -EINVAL");
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		LT_NULL(mshare_create(invalid[i], 0600), EINVAL,
			"mshare_create(\"%s\"): EINVAL", invalid[i]);
		lt_rc(mshare_unlink(invalid[i]), -EINVAL,
		      "mshare_unlink(\"%s\"): -EINVAL", invalid[i]);
	}
	snprintf(path, sizeof(path), "%s/", dirname_);
	LT_NULL(mshare_create(path, 0600), EINVAL, "mshare_create(\"dir/\"): EINVAL");
	lt_rc(mshare_unlink(path), -EINVAL, "mshare_unlink(\"dir/\"): -EINVAL");
	tap_ok(lt_exists(dirname_), "and the directory is still there");
	LT_NULL(mshare_open("", 0), EINVAL, "mshare_open(\"\"): EINVAL");

	/* The mount's root and its parent. */
	LT_NULL(mshare_open(".", 0), EISDIR, "mshare_open(\".\"): EISDIR (the kernel's)");
	LT_NULL(mshare_open(".", MSHARE_RDONLY), EISDIR,
		"mshare_open(\".\", MSHARE_RDONLY): EISDIR");
	LT_NULL(mshare_open("..", MSHARE_RDONLY), ENODEV,
		"mshare_open(\"..\", MSHARE_RDONLY): ENODEV (/sys/fs is sysfs)");

	/* A directory is no region. */
	LT_NULL(mshare_open(dirname_, 0), EISDIR, "mshare_open(directory): EISDIR");
	LT_NULL(mshare_open(dirname_, MSHARE_RDONLY), EISDIR,
		"mshare_open(directory, MSHARE_RDONLY): EISDIR");
	LT_NULL(mshare_create(dirname_, 0600), EEXIST, "mshare_create(directory): EEXIST");
	lt_rc(mshare_unlink(dirname_), -EISDIR, "mshare_unlink(directory): -EISDIR");
	tap_ok(lt_exists(dirname_), "and the directory is still there");

	/* Nor is mshare_info, though it is a file of msharefs. */
	LT_NULL(mshare_open(MSHAREFS_INFO_NAME, 0), EINVAL, "mshare_open(\"mshare_info\"): EINVAL");
	LT_NULL(mshare_open(MSHAREFS_INFO_NAME, MSHARE_RDONLY), EINVAL,
		"mshare_open(\"mshare_info\", MSHARE_RDONLY): EINVAL");
	LT_NULL(mshare_create(MSHAREFS_INFO_NAME, 0600), EEXIST,
		"mshare_create(\"mshare_info\"): EEXIST");
	lt_rc(mshare_unlink(MSHAREFS_INFO_NAME), -EPERM,
	      "mshare_unlink(\"mshare_info\"): -EPERM (the kernel's)");
	tap_ok(lt_exists(lt_path(info, sizeof(info), MSHAREFS_INFO_NAME)),
	       "and mshare_info is still there");

	/* Bad mode bits and open flags. */
	lt_name(name, sizeof(name), "mode");
	LT_NULL(mshare_create(name, 010000), EINVAL, "mshare_create(mode 010000): EINVAL");
	LT_NULL(mshare_create(name, S_IFREG | 0600), EINVAL,
		"mshare_create(mode S_IFREG | 0600): EINVAL");
	tap_ok(!lt_exists(name), "and nothing is created");
	mshare_close(lt_sized(name, 0));
	LT_NULL(mshare_open(name, 0x2), EINVAL, "mshare_open(flags 0x2): EINVAL");
	LT_NULL(mshare_open(name, ~0u), EINVAL, "mshare_open(flags ~0): EINVAL");
	mshare_unlink(name);

	tap_ok(lt_nr_fds() == nfds, "no failed call left a file descriptor open");
}

static const char *fifo;

/* In a child: 0 if mshare_open(fifo) fails with ENODEV within 2 seconds. */
static int open_fifo(void *flags)
{
	struct mshare_region *r;

	alarm(2);
	errno = 0;
	r = mshare_open(fifo, (unsigned int)(uintptr_t)flags);
	return !r && errno == ENODEV ? 0 : 1;
}

/* Absolute paths elsewhere than msharefs: refused, and left alone. */
static void test_other_fs(void)
{
	char dir[] = "/tmp/lt-other.XXXXXX", path[PATH_MAX], buf[8] = "";
	int fd, rc;

	if (!mkdtemp(dir))
		tap_bail("cannot make a temporary directory");
	snprintf(path, sizeof(path), "%s/r", dir);
	LT_NULL(mshare_create(path, 0600), ENODEV, "mshare_create(\"/tmp/.../r\"): ENODEV");
	tap_ok(!lt_exists(path), "and nothing is created on the other filesystem");

	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, "keep", 4) != 4)
		tap_bail("cannot write a file in /tmp");
	close(fd);
	LT_NULL(mshare_create(path, 0600), ENODEV,
		"mshare_create() of an existing file there: ENODEV");
	LT_NULL(mshare_open(path, 0), ENODEV, "mshare_open() of a file there: ENODEV");
	LT_NULL(mshare_open(path, MSHARE_RDONLY), ENODEV, "  and with MSHARE_RDONLY");
	lt_rc(mshare_unlink(path), -ENODEV, "mshare_unlink() of a file there: -ENODEV");
	fd = open(path, O_RDONLY);
	tap_ok(fd >= 0 && read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "keep", 4),
	       "and the file is still there, unchanged");
	if (fd >= 0)
		close(fd);
	unlink(path);

	LT_NULL(mshare_open("/dev/null", 0), ENODEV, "mshare_open(\"/dev/null\"): ENODEV");

	/*
	 * A FIFO elsewhere: refused without waiting for a writer, as an
	 * open(2) for reading would (in a child, which an alarm ends).
	 */
	if (mkfifo(path, 0600))
		tap_bail("cannot make a FIFO");
	fifo = path;
	rc = lt_in_child(open_fifo, (void *)(uintptr_t)MSHARE_RDONLY);
	tap_ok(rc == 0, "mshare_open(a FIFO in /tmp, MSHARE_RDONLY): ENODEV, at once (%s)",
	       rc < 0 ? "blocked until killed by the alarm" : rc ? "another result" : "yes");
	rc = lt_in_child(open_fifo, (void *)(uintptr_t)0);
	tap_ok(rc == 0, "mshare_open(a FIFO in /tmp, 0): ENODEV, at once (%s)",
	       rc < 0 ? "blocked until killed by the alarm" : rc ? "another result" : "yes");
	unlink(path);
	rmdir(dir);
}

/* LIBMSHARE_PATH says what relative names are relative to. */
static void test_env(void)
{
	char dir[] = "/tmp/lt-env.XXXXXX", name[64], path[PATH_MAX];
	struct mshare_region *r;

	if (!mkdtemp(dir) || mount("msharefs", dir, "msharefs", 0, NULL))
		tap_bail("cannot mount a second instance");
	lt_name(name, sizeof(name), "env");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	setenv("LIBMSHARE_PATH", dir, 1);
	r = mshare_create(name, 0600);
	tap_ok(r && lt_exists(path) && !lt_exists(name),
	       "with LIBMSHARE_PATH, mshare_create(relative) creates it there only");
	mshare_close(r);
	r = mshare_open(name, 0);
	tap_ok(r != NULL, "mshare_open(relative) finds it there");
	mshare_close(r);
	lt_rc(mshare_unlink(name), 0, "mshare_unlink(relative) removes it there");
	tap_ok(!lt_exists(path), "and it is gone");

	/* Absolute names ignore it. */
	lt_path(path, sizeof(path), name);
	r = mshare_create(path, 0600);
	tap_ok(r && lt_exists(name), "with LIBMSHARE_PATH, an absolute name is used as given");
	mshare_close(r);
	lt_rc(mshare_unlink(path), 0, "  and mshare_unlink() of it too");
	tap_ok(!lt_exists(name), "  and it is gone");

	/* Empty is unset. */
	setenv("LIBMSHARE_PATH", "", 1);
	r = mshare_create(name, 0600);
	tap_ok(r && lt_exists(name), "an empty LIBMSHARE_PATH is ignored");
	mshare_close(r);
	mshare_unlink(name);

	setenv("LIBMSHARE_PATH", "/tmp", 1);
	LT_NULL(mshare_create(name, 0600), ENODEV,
		"LIBMSHARE_PATH naming a tmpfs: mshare_create() is ENODEV");
	snprintf(path, sizeof(path), "/tmp/%s", name);
	tap_ok(!lt_exists(path) && !lt_exists(name), "and creates nothing");
	LT_NULL(mshare_open(name, 0), ENODEV, "  mshare_open() too");
	lt_rc(mshare_unlink(name), -ENODEV, "  mshare_unlink() too");
	unsetenv("LIBMSHARE_PATH");
	umount(dir);
	rmdir(dir);
}

/*
 * LIBMSHARE_PATH naming a directory inside the mount (an area given to one
 * user): relative names start there, and the alignment is still found,
 * from mshare_info at the root above it.
 */
static void test_env_subdir(void)
{
	char sub[1024], deeper[2048], name[64], path[PATH_MAX];
	struct mshare_region *r;
	uint64_t align = 0;

	lt_name(name, sizeof(name), "envsub");
	lt_path(sub, sizeof(sub), dirname_);
	snprintf(deeper, sizeof(deeper), "%s/%s", sub, name);
	if (mkdir(deeper, 0755))
		tap_bail("cannot make a nested directory");
	setenv("LIBMSHARE_PATH", deeper, 1);
	lt_rc(mshare_align(NULL, &align), 0,
	      "LIBMSHARE_PATH two levels down: mshare_align() succeeds");
	tap_ok(align == lt_align, "  and finds the mount's alignment");
	r = mshare_create_anon(name, lt_page, 0600, 0);
	snprintf(path, sizeof(path), "%s/%s", deeper, name);
	tap_ok(r && lt_exists(path),
	       "mshare_create_anon(relative) creates the region in that directory");
	snprintf(path, sizeof(path), "%s/.mshare-tmp.%d.%d", deeper, (int)getpid(),
		 (int)gettid());
	tap_ok(!lt_exists(path), "  and its temporary name is gone");
	if (r) {
		mshare_detach(r);
		mshare_close(r);
	}
	lt_rc(mshare_unlink(name), 0, "  and mshare_unlink(relative) removes it there");
	unsetenv("LIBMSHARE_PATH");
	rmdir(deeper);
}

/* In a child: size a region past a 1 GiB RLIMIT_FSIZE; 0 if -EFBIG. */
static int size_past_fsize(void *name)
{
	struct rlimit lim = { 1ULL << 30, 1ULL << 30 };
	struct mshare_region *r;
	int err;

	if (setrlimit(RLIMIT_FSIZE, &lim))
		return 10;
	r = mshare_open(name, 0);
	if (!r)
		return 11;
	err = mshare_set_size(r, lt_align);
	mshare_close(r);
	return err == -EFBIG ? 0 : 12;
}

static void test_fsize_limit(void)
{
	char name[64];
	struct mshare_region *r;
	uint64_t size = 1;

	lt_name(name, sizeof(name), "fsize");
	r = mshare_create(name, 0600);
	if (!r)
		tap_bail("cannot create a region");
	/* SIGXFSZ would kill the child: its exit status says it was not. */
	tap_ok(lt_in_child(size_past_fsize, name) == 0,
	       "mshare_set_size() past RLIMIT_FSIZE: -EFBIG, and no SIGXFSZ");
	tap_ok(!mshare_get_size(r, &size) && size == 0, "  and the region is still unsized");
	mshare_close(r);
	mshare_unlink(name);
}

static void test_sizes(void)
{
	char name[64];
	struct mshare_region *r;
	struct mshare_stats st;
	uint64_t size = 1;

	r = lt_sized(lt_name(name, sizeof(name), "size"), 0);
	lt_rc(mshare_get_size(r, &size), 0, "mshare_get_size() of a new region");
	tap_ok(size == 0, "is 0 (%" PRIu64 ")", size);

	lt_rc(mshare_set_size(r, 0), -EINVAL, "mshare_set_size(0): -EINVAL");
	lt_rc(mshare_set_size(r, lt_page), -EINVAL, "mshare_set_size(a page): -EINVAL");
	lt_rc(mshare_set_size(r, lt_align + lt_page), -EINVAL,
	      "mshare_set_size(alignment + a page): -EINVAL");
	lt_rc(mshare_set_size(r, lt_align / 2), -EINVAL,
	      "mshare_set_size(half the alignment): -EINVAL");
	lt_rc(mshare_set_size(r, (uint64_t)INT64_MAX + 1), -EINVAL,
	      "mshare_set_size(INT64_MAX + 1): -EINVAL");
	lt_rc(mshare_set_size(r, UINT64_MAX), -EINVAL, "mshare_set_size(UINT64_MAX): -EINVAL");
	/* 256 TiB: aligned, but more than a 47-bit process can map. */
	lt_rc(mshare_set_size(r, 512 * lt_align), -EFBIG,
	      "mshare_set_size(512 x the alignment): -EFBIG (the kernel's)");
	size = 1;
	tap_ok(!mshare_get_size(r, &size) && size == 0, "after all that it is still unsized");
	st = lt_stats(r);
	tap_ok(st.size == 0 && st.align == lt_align && !st.nr_attached && !st.rss_bytes,
	       "stats of the unsized region: size 0, the alignment, nothing else");
	LT_NULL(mshare_attach(r, NULL, 0), EINVAL, "mshare_attach() of an unsized region: EINVAL");

	lt_rc(mshare_set_size(r, lt_align), 0, "mshare_set_size(the alignment)");
	size = 0;
	mshare_get_size(r, &size);
	tap_ok(size == lt_align, "mshare_get_size() says the alignment (%" PRIu64 ")", size);
	tap_ok(lt_stats(r).size == lt_align, "and so do the stats");
	lt_rc(mshare_set_size(r, lt_align), -EBUSY, "mshare_set_size() again, same size: -EBUSY");
	lt_rc(mshare_set_size(r, 2 * lt_align), -EBUSY,
	      "mshare_set_size() again, another size: -EBUSY");
	tap_ok(!mshare_get_size(r, &size) && size == lt_align, "and the size is unchanged");
	mshare_close(r);
	mshare_unlink(name);

	r = lt_sized(name, 0);
	lt_rc(mshare_set_size(r, 4 * lt_align), 0, "mshare_set_size(4 x the alignment)");
	tap_ok(!mshare_get_size(r, &size) && size == 4 * lt_align, "mshare_get_size() says so");
	mshare_close(r);
	mshare_unlink(name);

	lt_rc(mshare_set_size(NULL, lt_align), -EINVAL, "mshare_set_size(NULL): -EINVAL");
	lt_rc(mshare_get_size(NULL, &size), -EINVAL, "mshare_get_size(NULL, ...): -EINVAL");
	r = lt_sized(name, 0);
	lt_rc(mshare_get_size(r, NULL), -EINVAL, "mshare_get_size(region, NULL): -EINVAL");
	mshare_close(r);
	mshare_unlink(name);
}

/* What a handle opened with MSHARE_RDONLY may do. */
static void test_rdonly(void)
{
	char name[64];
	struct mshare_region *w, *r;
	struct mshare_stats st;
	unsigned char *p;
	uint64_t size = 1;

	/* Unsized, opened read-only: it cannot be sized through this handle. */
	w = lt_sized(lt_name(name, sizeof(name), "ro"), 0);
	r = lt_need(mshare_open(name, MSHARE_RDONLY), "mshare_open(MSHARE_RDONLY)");
	lt_rc(mshare_set_size(r, lt_align), -EBADF,
	      "mshare_set_size() on a read-only handle: -EBADF, as the ioctls");
	tap_ok(!mshare_get_size(r, &size) && size == 0, "and the region is still unsized");
	mshare_close(r);

	if (mshare_set_size(w, lt_align) || mshare_map(w, 0, lt_page, RW, -1, 0, 0))
		tap_bail("cannot size and fill a region");
	p = lt_attach(w, 0);
	p[0] = 0x77;

	r = lt_need(mshare_open(name, MSHARE_RDONLY), "mshare_open(MSHARE_RDONLY)");
	tap_ok(!mshare_get_size(r, &size) && size == lt_align,
	       "a read-only handle reads the size");
	lt_rc(mshare_set_size(r, lt_align), -EBADF,
	      "mshare_set_size() on a read-only handle of a sized region: -EBADF");
	lt_rc(mshare_map(r, lt_page, lt_page, RW, -1, 0, 0), -EBADF,
	      "mshare_map() on a read-only handle: -EBADF (the kernel's)");
	lt_rc(mshare_map(r, lt_page, lt_page, PROT_READ, -1, 0, 0), -EBADF,
	      "  even of PROT_READ memory");
	lt_rc(mshare_unmap(r, 0, lt_page), -EBADF, "mshare_unmap() on it: -EBADF");
	lt_rc(mshare_protect(r, 0, lt_page, PROT_READ), -EBADF, "mshare_protect() on it: -EBADF");
	lt_rc(mshare_advise(r, 0, lt_page, MADV_DONTNEED), -EBADF, "mshare_advise() on it: -EBADF");
	lt_rc(mshare_stats(r, &st), 0, "mshare_stats() on it works");
	tap_ok(st.size == lt_align && st.nr_attached == 1 && st.rss_bytes == lt_page,
	       "  and sees the size, one attach, one page (%" PRIu64 ", %" PRIu64 ", %" PRIu64 ")",
	       st.size, st.nr_attached, st.rss_bytes);
	LT_NULL(mshare_attach(r, NULL, 0), EACCES,
		"mshare_attach(read-write) on a read-only handle: EACCES");
	tap_ok(mshare_addr(r) == NULL, "  and it is not attached");
	errno = 0;
	p = mshare_attach(r, NULL, MSHARE_ATTACH_RDONLY);
	tap_ok(p && p[0] == 0x77, "mshare_attach(MSHARE_ATTACH_RDONLY) on it reads the memory (%s)",
	       strerror(errno));
	if (p) {
		lt_touch_is(p, LT_WRITE, LT_ACCERR, "  and a write to it faults (SEGV_ACCERR)");
		tap_ok(p[0] == 0x77, "  and changes nothing");
	}
	mshare_detach(r);
	mshare_close(r);
	mshare_detach(w);
	mshare_close(w);
	mshare_unlink(name);
}

/* A removed region lives on while a handle or an attach holds it. */
static void test_unlink_alive(void)
{
	char name[64];
	struct mshare_region *r, *o;
	unsigned char *p, *q;

	lt_name(name, sizeof(name), "alive");
	r = lt_need(mshare_create_anon(name, lt_page, 0600, 0), "mshare_create_anon");
	o = lt_need(mshare_open(name, 0), "mshare_open");
	p = mshare_addr(r);
	p[0] = 0x11;
	lt_rc(mshare_unlink(name), 0, "mshare_unlink() of an attached region");
	tap_ok(!lt_exists(name), "the name is gone");
	LT_NULL(mshare_open(name, 0), ENOENT, "and mshare_open() of it is ENOENT");
	tap_ok(p[0] == 0x11, "the attach still reads the memory");
	p[1] = 0x22;
	tap_ok(lt_stats(r).nr_attached == 1 && lt_stats(r).rss_bytes == lt_page,
	       "the region still has its attach and its page");
	q = mshare_attach(o, NULL, 0);
	tap_ok(q && q != p && q[0] == 0x11 && q[1] == 0x22,
	       "a handle opened before the unlink attaches the same memory");
	mshare_close(r);
	tap_ok(p[0] == 0x11, "closing a handle leaves its attach usable");
	mshare_close(o);
	tap_ok(q && q[1] == 0x22, "with no handle left the attaches still work");
	munmap(p, lt_align);
	if (q)
		munmap(q, lt_align);
}

/* mshare_close(), mshare_fd() and mshare_addr() themselves. */
static void test_close(void)
{
	char name[64];
	struct mshare_region *r, *o;
	unsigned char *p, *q;
	int fd;

	lt_rc(mshare_close(NULL), 0, "mshare_close(NULL) is 0");
	lt_rc(mshare_fd(NULL), -EINVAL, "mshare_fd(NULL) is -EINVAL");
	errno = 0;
	tap_ok(mshare_addr(NULL) == NULL && errno == EINVAL,
	       "mshare_addr(NULL) is NULL, errno EINVAL");

	lt_name(name, sizeof(name), "close");
	r = lt_need(mshare_create_anon(name, lt_page, 0600, 0), "mshare_create_anon");
	p = mshare_addr(r);
	fd = mshare_fd(r);
	tap_ok(p && ((uintptr_t)p & (lt_align - 1)) == 0,
	       "mshare_addr() is the attach, aligned (%p)", (void *)p);
	p[0] = 0x33;
	lt_rc(mshare_close(r), 0, "mshare_close() of an attached handle");
	tap_ok(fcntl(fd, F_GETFD) == -1 && errno == EBADF, "its file descriptor is closed");
	tap_ok(p[0] == 0x33, "the attach is still there");
	p[1] = 0x44;
	o = lt_need(mshare_open(name, 0), "mshare_open");
	q = mshare_attach(o, NULL, 0);
	tap_ok(q && q[1] == 0x44 && lt_stats(o).nr_attached == 2,
	       "another attach sees its writes; the region counts both attaches");
	lt_rc(munmap(p, lt_align), 0, "munmap(addr, size) removes it");
	tap_ok(lt_stats(o).nr_attached == 1, "the region counts one attach now");
	lt_touch_is(p, LT_READ, LT_MAPERR, "its address is unmapped (SEGV_MAPERR)");
	mshare_detach(o);
	mshare_close(o);
	mshare_unlink(name);
}

int main(void)
{
	char path[PATH_MAX];

	lt_init();
	lt_name(dirname_, sizeof(dirname_), "dir");
	if (mkdir(lt_path(path, sizeof(path), dirname_), 0755))
		tap_bail("cannot make a directory in the mount");

	test_create_names();
	test_bad_names();
	test_other_fs();
	test_env();
	test_env_subdir();
	test_sizes();
	test_fsize_limit();
	test_rdonly();
	test_unlink_alive();
	test_close();

	rmdir(path);
	return tap_done();
}
