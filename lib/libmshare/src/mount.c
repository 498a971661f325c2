// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding the msharefs mount and reading its alignment.
 *
 * Thread safety: no state is kept; every call reads the mount table and
 * mshare_info afresh, so the functions here are MT-Safe.
 */
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

MSHARE_EXPORT int mshare_align(const char *path, uint64_t *align)
{
	char mnt[4096], info[4096 + sizeof(MSHAREFS_INFO_NAME) + 1], text[32];
	ssize_t n;
	int fd, err;

	if (!align)
		return -EINVAL;
	err = mshare_find_mount(path, mnt, sizeof(mnt));
	if (err)
		return err;
	snprintf(info, sizeof(info), "%s/%s", mnt, MSHAREFS_INFO_NAME);
	fd = open(info, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	text[n] = '\0';
	return mshare_parse_align(text, align);
}
