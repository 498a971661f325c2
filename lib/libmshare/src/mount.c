// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding the msharefs mount and reading its alignment.
 *
 * Thread safety: no state is kept; every call reads the mount table and
 * mshare_info afresh, so the functions here are MT-Safe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/msharefs.h>

#include "libmshare.h"
#include "internal.h"

int mshare_copy_path(char *buf, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, src, n + 1);
	return 0;
}

static bool statfs_is_msharefs(const char *path)
{
	struct statfs sfs;

	return !statfs(path, &sfs) && sfs.f_type == MSHAREFS_MAGIC;
}

/* Is @fs the last mount on its target, i.e. not covered by another? */
static bool is_visible(struct libmnt_table *tb, struct libmnt_fs *fs)
{
	return mnt_table_find_target(tb, mnt_fs_get_target(fs),
				     MNT_ITER_BACKWARD) == fs;
}

int mshare_mountinfo_lookup(const char *mountinfo,
			    bool (*is_msharefs)(const char *path),
			    char *buf, size_t len)
{
	struct libmnt_table *tb;
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	const char *found = NULL;
	int err = -ENOENT;

	tb = mnt_new_table_from_file(mountinfo);
	if (!tb)
		return errno ? -errno : -EINVAL;
	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!itr) {
		mnt_unref_table(tb);
		return -ENOMEM;
	}

	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *target = mnt_fs_get_target(fs);

		if (!target || !mnt_fs_match_fstype(fs, "msharefs") ||
		    !is_visible(tb, fs) || !is_msharefs(target))
			continue;
		if (!found || !strcmp(target, LIBMSHARE_DEFAULT_PATH))
			found = target;
	}
	if (found)
		err = mshare_copy_path(buf, len, found);

	mnt_free_iter(itr);
	mnt_unref_table(tb);
	return err;
}

MSHARE_EXPORT int mshare_find_mount(const char *path, char *buf, size_t len)
{
	if (!buf || !len)
		return -EINVAL;
	if (!path) {
		path = getenv("LIBMSHARE_PATH");
		if (path && !*path)
			path = NULL;
	}
	if (path) {
		struct statfs sfs;

		if (statfs(path, &sfs))
			return -errno;
		if (sfs.f_type != MSHAREFS_MAGIC)
			return -ENODEV;
		return mshare_copy_path(buf, len, path);
	}
	return mshare_mountinfo_lookup("/proc/self/mountinfo",
				       statfs_is_msharefs, buf, len);
}

int mshare_parse_align(const char *text, uint64_t *align)
{
	char *end;
	uint64_t v;

	if (*text < '0' || *text > '9')
		return -EPROTO;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || strcmp(end, "\n") || !v || (v & (v - 1)))
		return -EPROTO;
	*align = v;
	return 0;
}

/*
 * Open mshare_info from @dir or, when @dir is a directory inside the
 * mount (LIBMSHARE_PATH may name one), from the nearest directory above
 * it that has it, without leaving msharefs.
 */
static int open_info(const char *dir)
{
	int dfd, fd, up, depth;

	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (depth = 0; depth < 256; depth++) {
		struct statfs sfs;

		fd = openat(dfd, MSHAREFS_INFO_NAME, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		up = openat(dfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(dfd);
		if (up < 0)
			return -errno;
		dfd = up;
		if (fstatfs(dfd, &sfs) || sfs.f_type != MSHAREFS_MAGIC) {
			errno = ENOENT;
			break;
		}
	}
	if (fd < 0)
		fd = -(depth == 256 ? ELOOP : errno);
	close(dfd);
	return fd;
}

MSHARE_EXPORT int mshare_align(const char *path, uint64_t *align)
{
	char mnt[4096], text[32];
	ssize_t n;
	int fd, err;

	if (!align)
		return -EINVAL;
	err = mshare_find_mount(path, mnt, sizeof(mnt));
	if (err)
		return err;
	fd = open_info(mnt);
	if (fd < 0)
		return fd;
	n = read(fd, text, sizeof(text) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	text[n] = '\0';
	return mshare_parse_align(text, align);
}

MSHARE_EXPORT int mshare_mount(const char *target, const char *options)
{
	struct libmnt_context *cxt;
	int rc;

	if (!target)
		target = LIBMSHARE_DEFAULT_PATH;
	if (!*target)
		return -EINVAL;
	cxt = mnt_new_context();
	if (!cxt)
		return -ENOMEM;
	/*
	 * No /sbin/mount.* helper, and no fstab rules for ordinary users:
	 * libmount's restricted mode serves setuid mount(8), which this is
	 * not. The kernel decides who may mount, and says so with its errno.
	 */
	rc = mnt_context_disable_helpers(cxt, 1);
	if (!rc)
		rc = mnt_context_force_unrestricted(cxt);
	if (!rc)
		rc = mnt_context_set_fstype(cxt, "msharefs");
	if (!rc)
		rc = mnt_context_set_source(cxt, "msharefs");
	if (!rc)
		rc = mnt_context_set_target(cxt, target);
	if (!rc && options)
		rc = mnt_context_set_options(cxt, options);
	if (!rc)
		rc = mnt_context_mount(cxt);
	/*
	 * rc > 0 means the mount(2) call itself failed: its errno is kept in
	 * the context. rc < 0 is libmount's own -errno (e.g. -EPERM when an
	 * unprivileged caller is refused before the syscall).
	 */
	if (rc > 0)
		rc = mnt_context_syscall_called(cxt) && mnt_context_get_syscall_errno(cxt) ?
		     -mnt_context_get_syscall_errno(cxt) : -EINVAL;
	/* libmount's own codes (MNT_ERR_*, 5000 and up) are not errnos. */
	else if (rc <= -MNT_ERR_NOFSTAB)
		rc = -EINVAL;
	mnt_free_context(cxt);
	return rc;
}
