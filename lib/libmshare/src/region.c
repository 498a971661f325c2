// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Regions: the handle, its file and its attach, and thin wrappers around
 * the msharefs ioctls that check their arguments before the kernel does,
 * so that a library user gets EINVAL for a bad call rather than whatever
 * a truncated value would have done.
 *
 * Thread safety: no global state. A handle is not locked: calls on
 * different handles may run concurrently, calls on one handle that
 * change it (attach, detach, close) must not race with other calls on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "libmshare.h"
#include "internal.h"
#include "hugepage.h"

struct mshare_region {
	int fd;
	bool rdonly;
	void *addr;		/* the attach, or NULL */
	uint64_t attach_size;
};

/* Set errno from a negative errno and return NULL, for pointer returns. */
static void *err_ptr(int err)
{
	errno = -err;
	return NULL;
}

int mshare_region_path(const char *name, char *buf, size_t len)
{
	char mnt[PATH_MAX];
	int err;

	if (!name || !*name)
		return -EINVAL;
	if (name[0] == '/')
		return mshare_copy_path(buf, len, name);
	err = mshare_find_mount(NULL, mnt, sizeof(mnt));
	if (err)
		return err;
	if ((size_t)snprintf(buf, len, "%s/%s", mnt, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int fd_on_msharefs(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs))
		return -errno;
	return sfs.f_type == MSHAREFS_MAGIC ? 0 : -ENODEV;
}

/*
 * Open the directory that holds region @name and confirm that it is on
 * msharefs, so that a create or an unlink can never touch another
 * filesystem. The last component of the path goes to @base.
 */
static int open_parent(const char *name, char *path, size_t len,
		       const char **base)
{
	char dir[PATH_MAX];
	char *slash;
	int err, dfd;

	err = mshare_region_path(name, path, len);
	if (err)
		return err;
	slash = strrchr(path, '/');
	*base = slash + 1;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, ".."))
		return -EINVAL;
	if (slash == path)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	err = fd_on_msharefs(dfd);
	if (err) {
		close(dfd);
		return err;
	}
	return dfd;
}

static struct mshare_region *region_new(int fd, bool rdonly)
{
	struct mshare_region *r = calloc(1, sizeof(*r));

	if (!r) {
		close(fd);
		return err_ptr(-ENOMEM);
	}
	r->fd = fd;
	r->rdonly = rdonly;
	return r;
}

MSHARE_EXPORT struct mshare_region *mshare_create(const char *name, mode_t mode)
{
	char path[PATH_MAX];
	const char *base;
	int dfd, fd;

	if (mode & ~07777)
		return err_ptr(-EINVAL);
	dfd = open_parent(name, path, sizeof(path), &base);
	if (dfd < 0)
		return err_ptr(dfd);
	fd = openat(dfd, base, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int err = -errno;

		close(dfd);
		return err_ptr(err);
	}
	close(dfd);
	return region_new(fd, false);
}

MSHARE_EXPORT struct mshare_region *mshare_open(const char *name,
						unsigned int flags)
{
	bool rdonly = flags & MSHARE_RDONLY;
	struct mshare_stats stats;
	char path[PATH_MAX];
	struct stat st;
	int fd, err;

	if (flags & ~MSHARE_RDONLY)
		return err_ptr(-EINVAL);
	err = mshare_region_path(name, path, sizeof(path));
	if (err)
		return err_ptr(err);
	/*
	 * O_NONBLOCK and O_NOCTTY: until fstatfs() says otherwise, @path may
	 * be a FIFO or a device elsewhere, and opening one must not wait for
	 * a writer or take a terminal. Neither flag means anything on msharefs.
	 */
	fd = open(path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK |
		  O_NOCTTY);
	if (fd < 0)
		return err_ptr(-errno);
	err = fd_on_msharefs(fd);
	if (!err && fstat(fd, &st))
		err = -errno;
	if (!err && S_ISDIR(st.st_mode))
		err = -EISDIR;
	/* mshare_info is a file on msharefs too, but not a region. */
	if (!err && ioctl(fd, MSHAREFS_GET_STATS, &stats))
		err = errno == ENOTTY ? -EINVAL : -errno;
	if (err) {
		close(fd);
		return err_ptr(err);
	}
	return region_new(fd, rdonly);
}

MSHARE_EXPORT int mshare_set_size(struct mshare_region *region, uint64_t size)
{
	struct rlimit fsize;

	if (!region || !size || size > INT64_MAX)
		return -EINVAL;
	/* ftruncate(2) would say EINVAL; the ioctls say EBADF, and so do we. */
	if (region->rdonly)
		return -EBADF;
	/*
	 * Past RLIMIT_FSIZE, ftruncate() raises SIGXFSZ, which kills a process
	 * that does not handle it: a library must not do that to its caller.
	 */
	if (!getrlimit(RLIMIT_FSIZE, &fsize) && fsize.rlim_cur != RLIM_INFINITY &&
	    size > fsize.rlim_cur)
		return -EFBIG;
	return ftruncate(region->fd, (off_t)size) ? -errno : 0;
}

MSHARE_EXPORT int mshare_get_size(struct mshare_region *region, uint64_t *size)
{
	struct stat st;

	if (!region || !size)
		return -EINVAL;
	if (fstat(region->fd, &st))
		return -errno;
	*size = st.st_size;
	return 0;
}

static int region_ioctl(struct mshare_region *region, unsigned long cmd,
			void *arg)
{
	return ioctl(region->fd, cmd, arg) ? -errno : 0;
}

static bool prot_ok(int prot)
{
	return !(prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC));
}

MSHARE_EXPORT int mshare_map(struct mshare_region *region, uint64_t offset,
			     uint64_t size, int prot, int fd, uint64_t fd_offset,
			     unsigned int flags)
{
	struct mshare_create create = {
		.region_offset = offset,
		.size = size,
		.offset = fd_offset,
		.prot = prot,
		.flags = MAP_SHARED | MAP_FIXED,
		.fd = (uint32_t)fd,
	};
	int err;

	if (!region || !prot_ok(prot) || fd < -1 ||
	    (flags & ~(MSHARE_MAP_POPULATE | MSHARE_MAP_HUGETLB)))
		return -EINVAL;
	if (fd == -1) {
		if (fd_offset)
			return -EINVAL;
		create.flags |= MAP_ANONYMOUS;
		if (flags & MSHARE_MAP_HUGETLB)
			create.flags |= MAP_HUGETLB;
	} else if (flags & MSHARE_MAP_HUGETLB) {
		return -EINVAL;	/* a hugetlbfs file brings its own page size */
	}
	/* Populating needs access: the kernel refuses it for PROT_NONE. */
	if ((flags & MSHARE_MAP_POPULATE) && !(prot & PROT_READ))
		return -EINVAL;

	err = region_ioctl(region, MSHAREFS_CREATE_MAPPING, &create);
	if (err || !(flags & MSHARE_MAP_POPULATE))
		return err;
	err = mshare_advise(region, offset, size, prot & PROT_WRITE ?
			    MADV_POPULATE_WRITE : MADV_POPULATE_READ);
	if (err)	/* leave the region as it was */
		mshare_unmap(region, offset, size);
	return err;
}

MSHARE_EXPORT int mshare_unmap(struct mshare_region *region, uint64_t offset,
			       uint64_t size)
{
	struct mshare_unmap unmap = { .region_offset = offset, .size = size };

	if (!region)
		return -EINVAL;
	return region_ioctl(region, MSHAREFS_UNMAP, &unmap);
}

MSHARE_EXPORT int mshare_protect(struct mshare_region *region, uint64_t offset,
				 uint64_t size, int prot)
{
	struct mshare_protect p = {
		.region_offset = offset, .size = size, .prot = prot,
	};

	if (!region || !prot_ok(prot))
		return -EINVAL;
	return region_ioctl(region, MSHAREFS_PROTECT, &p);
}

MSHARE_EXPORT int mshare_advise(struct mshare_region *region, uint64_t offset,
				uint64_t size, int advice)
{
	struct mshare_advise a = {
		.region_offset = offset, .size = size, .advice = advice,
	};

	if (!region || advice < 0)
		return -EINVAL;
	return region_ioctl(region, MSHAREFS_ADVISE, &a);
}

MSHARE_EXPORT int mshare_stats(struct mshare_region *region,
			       struct mshare_stats *stats)
{
	if (!region || !stats)
		return -EINVAL;
	return region_ioctl(region, MSHAREFS_GET_STATS, stats);
}

MSHARE_EXPORT void *mshare_attach(struct mshare_region *region, void *addr,
				  unsigned int flags)
{
	int prot = PROT_READ | PROT_WRITE, mflags = MAP_SHARED;
	uint64_t size;
	void *p;
	int err;

	if (!region || (flags & ~MSHARE_ATTACH_RDONLY))
		return err_ptr(-EINVAL);
	if (region->addr)
		return err_ptr(-EBUSY);
	if ((flags & MSHARE_ATTACH_RDONLY) || region->rdonly) {
		if (!(flags & MSHARE_ATTACH_RDONLY))
			return err_ptr(-EACCES);	/* as mmap(2) would say */
		prot = PROT_READ;
	}
	err = mshare_get_size(region, &size);
	if (err)
		return err_ptr(err);
	if (!size || size > SIZE_MAX)
		return err_ptr(-EINVAL);	/* not sized yet */
	/* Never replace a mapping the caller has at @addr. */
	if (addr)
		mflags |= MAP_FIXED_NOREPLACE;
	p = mmap(addr, size, prot, mflags, region->fd, 0);
	if (p == MAP_FAILED)
		return err_ptr(-errno);
	if (addr && p != addr) {	/* a kernel without MAP_FIXED_NOREPLACE */
		munmap(p, size);
		return err_ptr(-EEXIST);
	}
	region->addr = p;
	region->attach_size = size;
	return p;
}

MSHARE_EXPORT int mshare_detach(struct mshare_region *region)
{
	if (!region || !region->addr)
		return -EINVAL;
	if (munmap(region->addr, region->attach_size))
		return -errno;
	region->addr = NULL;
	region->attach_size = 0;
	return 0;
}

MSHARE_EXPORT int mshare_unlink(const char *name)
{
	char path[PATH_MAX];
	const char *base;
	int dfd, err = 0;

	dfd = open_parent(name, path, sizeof(path), &base);
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, base, 0))
		err = -errno;
	close(dfd);
	return err;
}

MSHARE_EXPORT int mshare_close(struct mshare_region *region)
{
	int err = 0;

	if (!region)
		return 0;
	if (close(region->fd))
		err = -errno;
	free(region);
	return err;
}

MSHARE_EXPORT int mshare_fd(const struct mshare_region *region)
{
	return region ? region->fd : -EINVAL;
}

MSHARE_EXPORT void *mshare_addr(const struct mshare_region *region)
{
	if (!region)
		return err_ptr(-EINVAL);
	if (!region->addr)
		errno = 0;
	return region->addr;
}

/* Round @v up to a multiple of the power of two @to, or 0 on overflow. */
static uint64_t round_up_pow2(uint64_t v, uint64_t to)
{
	if (v > UINT64_MAX - (to - 1))
		return 0;
	return (v + to - 1) & ~(to - 1);
}

MSHARE_EXPORT struct mshare_region *mshare_create_anon(const char *name,
						       uint64_t size, mode_t mode,
						       unsigned int flags)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), mem, rsize;
	char path[PATH_MAX], tmp[64];
	struct mshare_region *r;
	struct mshare_stats st;
	const char *base;
	struct stat sb;
	int dfd, fd, err;

	if (!size || (mode & ~07777) ||
	    (flags & ~(MSHARE_MAP_POPULATE | MSHARE_MAP_HUGETLB)))
		return err_ptr(-EINVAL);
	/* Huge pages come whole: round to the size the kernel will use. */
	if (flags & MSHARE_MAP_HUGETLB) {
		page = default_hugepage_size();
		if (!page)
			return err_ptr(-EOPNOTSUPP);
	}
	mem = round_up_pow2(size, page);
	if (!mem)
		return err_ptr(-EINVAL);

	dfd = open_parent(name, path, sizeof(path), &base);
	if (dfd < 0)
		return err_ptr(dfd);
	/* Fail early, before any memory is spent, if the name is taken. */
	if (!fstatat(dfd, base, &sb, AT_SYMLINK_NOFOLLOW)) {
		close(dfd);
		return err_ptr(-EEXIST);
	}
	/*
	 * Build the region under a name of its own and rename it into place
	 * only when it is sized, filled and attached: whoever opens @name
	 * then never finds it half made. One thread builds one region at a
	 * time, so pid and tid make the name unique.
	 */
	snprintf(tmp, sizeof(tmp), ".mshare-tmp.%d.%d", (int)getpid(), (int)gettid());
	fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		err = -errno;
		close(dfd);
		return err_ptr(err);
	}
	r = region_new(fd, false);
	if (!r) {
		err = -errno;
		goto out_unlink;
	}
	/* The kernel reports the alignment of an unsized region too. */
	err = mshare_stats(r, &st);
	if (!err) {
		rsize = round_up_pow2(mem, st.align);
		err = rsize ? mshare_set_size(r, rsize) : -EINVAL;
	}
	if (!err)
		err = mshare_map(r, 0, mem, PROT_READ | PROT_WRITE, -1, 0, flags);
	if (!err && !mshare_attach(r, NULL, 0))
		err = -errno;
	if (!err && renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE))
		err = -errno;
	if (!err) {
		close(dfd);
		return r;
	}
	if (mshare_addr(r))
		mshare_detach(r);
	mshare_close(r);
out_unlink:
	unlinkat(dfd, tmp, 0);
	close(dfd);
	return err_ptr(err);
}

MSHARE_EXPORT struct mshare_region *mshare_attach_name(const char *name,
						       unsigned int flags)
{
	struct mshare_region *r;
	int err;

	if (flags & ~MSHARE_ATTACH_RDONLY)
		return err_ptr(-EINVAL);
	r = mshare_open(name, flags & MSHARE_ATTACH_RDONLY ? MSHARE_RDONLY : 0);
	if (!r)
		return NULL;
	if (!mshare_attach(r, NULL, flags)) {
		err = -errno;
		mshare_close(r);
		return err_ptr(err);
	}
	return r;
}
