// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Dispatch of the region ioctls: CREATE_MAPPING and UNMAP exist (their
 * arguments are tested in test-mapping), the commands that are not
 * implemented yet fail with ENOTTY rather than pretend to succeed, and so
 * do numbers msharefs does not define and region ioctls on other files.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>

#include "guest.h"

int main(void)
{
	static const struct {
		unsigned long cmd;
		const char *name;
	} cmds[] = {
		{ MSHAREFS_PROTECT, "MSHAREFS_PROTECT" },
		{ MSHAREFS_ADVISE, "MSHAREFS_ADVISE" },
		{ MSHAREFS_GET_STATS, "MSHAREFS_GET_STATS" },
		{ _IOW('x', 5, struct mshare_unmap), "'x' 5" },
		{ _IOW('x', 0x1f, struct mshare_unmap), "'x' 0x1f" },
		{ _IO('x', 0), "'x' 0 without a size" },
		{ _IOR('x', 0, struct mshare_create), "'x' 0 in the wrong direction" },
		{ 0xdeadbeef, "0xdeadbeef" },
	};
	union {
		struct mshare_create create;
		struct mshare_stats stats;
	} arg;
	char path[512], dir[512];
	int fd, ro, dfd;

	require_msharefs();

	region_path(path, sizeof(path), "ioctl");
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, mshare_align_raw()))
		tap_bail("cannot create a sized region");
	ro = open(path, O_RDONLY);

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		memset(&arg, 0, sizeof(arg));
		arg.create.fd = -1;
		TAP_ERRNO(ioctl(fd, cmds[i].cmd, &arg), ENOTTY,
			  "%s on a region is ENOTTY", cmds[i].name);
	}
	memset(&arg, 0, sizeof(arg));
	TAP_ERRNO(ioctl(fd, MSHAREFS_CREATE_MAPPING, &arg), EINVAL,
		  "MSHAREFS_CREATE_MAPPING exists: a zeroed argument is EINVAL");
	TAP_ERRNO(ioctl(fd, MSHAREFS_UNMAP, &arg), EINVAL,
		  "MSHAREFS_UNMAP exists: a zeroed argument is EINVAL");
	TAP_ERRNO(ioctl(fd, MSHAREFS_CREATE_MAPPING, (void *)16), EFAULT,
		  "MSHAREFS_CREATE_MAPPING with a bad pointer is EFAULT");
	TAP_ERRNO(ioctl(fd, MSHAREFS_UNMAP, (void *)16), EFAULT,
		  "MSHAREFS_UNMAP with a bad pointer is EFAULT");
	TAP_ERRNO(ioctl(ro, MSHAREFS_CREATE_MAPPING, &arg), EBADF,
		  "MSHAREFS_CREATE_MAPPING on a read-only fd is EBADF");
	TAP_ERRNO(ioctl(ro, MSHAREFS_UNMAP, &arg), EBADF,
		  "MSHAREFS_UNMAP on a read-only fd is EBADF");
	TAP_ERRNO(ioctl(ro, MSHAREFS_GET_STATS, &arg), ENOTTY,
		  "MSHAREFS_GET_STATS on a read-only fd is ENOTTY");
	tap_ok(arg.stats.size == 0 && arg.stats.align == 0,
	       "a failed GET_STATS writes nothing back");

	snprintf(dir, sizeof(dir), "%s/" MSHAREFS_INFO_NAME, mshare_mnt());
	dfd = open(dir, O_RDONLY);
	TAP_ERRNO(ioctl(dfd, MSHAREFS_GET_STATS, &arg), ENOTTY,
		  "region ioctls on mshare_info are ENOTTY");
	close(dfd);
	dfd = open(mshare_mnt(), O_RDONLY | O_DIRECTORY);
	TAP_ERRNO(ioctl(dfd, MSHAREFS_CREATE_MAPPING, &arg), ENOTTY,
		  "region ioctls on a directory are ENOTTY");
	close(dfd);

	close(ro);
	close(fd);
	unlink(path);
	return tap_done();
}
