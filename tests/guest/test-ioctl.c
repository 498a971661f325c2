// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Dispatch of the region ioctls: the five commands exist (their arguments
 * are tested in test-mapping, test-protect, test-advise and test-stats),
 * a bad argument pointer is EFAULT for each, the commands that change the
 * region need it open for writing while GET_STATS does not, and numbers
 * msharefs does not define, and region ioctls on other files, are ENOTTY.
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
		{ _IOW('x', 5, struct mshare_unmap), "'x' 5" },
		{ _IOW('x', 0x1f, struct mshare_unmap), "'x' 0x1f" },
		{ _IO('x', 0), "'x' 0 without a size" },
		{ _IOR('x', 0, struct mshare_create), "'x' 0 in the wrong direction" },
		{ 0xdeadbeef, "0xdeadbeef" },
	};
	static const struct {
		unsigned long cmd;
		const char *name;
		bool write;	/* changes the region: needs a writable fd */
	} known[] = {
		{ MSHAREFS_CREATE_MAPPING, "MSHAREFS_CREATE_MAPPING", true },
		{ MSHAREFS_UNMAP, "MSHAREFS_UNMAP", true },
		{ MSHAREFS_PROTECT, "MSHAREFS_PROTECT", true },
		{ MSHAREFS_ADVISE, "MSHAREFS_ADVISE", true },
		{ MSHAREFS_GET_STATS, "MSHAREFS_GET_STATS", false },
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
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		memset(&arg, 0, sizeof(arg));
		if (known[i].write)
			TAP_ERRNO(ioctl(fd, known[i].cmd, &arg), EINVAL,
				  "%s exists: a zeroed argument is EINVAL",
				  known[i].name);
		else
			TAP_SUCCESS(ioctl(fd, known[i].cmd, &arg),
				    "%s exists and takes any region",
				    known[i].name);
		TAP_ERRNO(ioctl(fd, known[i].cmd, (void *)16), EFAULT,
			  "%s with a bad pointer is EFAULT", known[i].name);
		memset(&arg, 0, sizeof(arg));
		if (known[i].write)
			TAP_ERRNO(ioctl(ro, known[i].cmd, &arg), EBADF,
				  "%s on a read-only fd is EBADF", known[i].name);
		else
			TAP_SUCCESS(ioctl(ro, known[i].cmd, &arg),
				    "%s works on a read-only fd", known[i].name);
	}
	tap_ok(arg.stats.size == mshare_align_raw() &&
	       arg.stats.align == mshare_align_raw(),
	       "GET_STATS through the read-only fd reports the size and alignment");

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
