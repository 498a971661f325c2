// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmshare against the real kernel: discovery finds the runner's mount,
 * honours LIBMSHARE_PATH and explicit paths, rejects what is not
 * msharefs, and mshare_align() agrees with mshare_info.
 */
#define _GNU_SOURCE
#include <sys/mount.h>

#include <libmshare.h>

#include "guest.h"

int main(void)
{
	char buf[4096], dir[] = "/tmp/libmshare-mnt.XXXXXX";
	uint64_t align = 0;
	int err;

	require_msharefs();

	unsetenv("LIBMSHARE_PATH");
	err = mshare_find_mount(NULL, buf, sizeof(buf));
	tap_ok(!err && !strcmp(buf, "/sys/fs/mshare"),
	       "discovery finds /sys/fs/mshare (%d, '%s')", err, err ? "" : buf);
	err = mshare_align(NULL, &align);
	tap_ok(!err && align == mshare_align_raw(),
	       "mshare_align() agrees with mshare_info (%d)", err);

	if (!mkdtemp(dir) || mount("msharefs", dir, "msharefs", 0, NULL))
		tap_bail("cannot mount a second instance");
	err = mshare_find_mount(NULL, buf, sizeof(buf));
	tap_ok(!err && !strcmp(buf, "/sys/fs/mshare"),
	       "with two mounts, /sys/fs/mshare is preferred");
	setenv("LIBMSHARE_PATH", dir, 1);
	err = mshare_find_mount(NULL, buf, sizeof(buf));
	tap_ok(!err && !strcmp(buf, dir), "LIBMSHARE_PATH selects another mount");
	setenv("LIBMSHARE_PATH", "/tmp", 1);
	tap_ok(mshare_find_mount(NULL, buf, sizeof(buf)) == -ENODEV,
	       "LIBMSHARE_PATH naming a tmpfs is -ENODEV");
	unsetenv("LIBMSHARE_PATH");
	err = mshare_find_mount(dir, buf, sizeof(buf));
	tap_ok(!err && !strcmp(buf, dir), "an explicit path is used as given");
	tap_ok(mshare_align(dir, &align) == 0 && align == mshare_align_raw(),
	       "mshare_align() of the second instance");

	/* An msharefs mount covered by a tmpfs is not offered. */
	if (mount("tmpfs", dir, "tmpfs", 0, NULL))
		tap_bail("cannot cover the instance");
	tap_ok(mshare_find_mount(dir, buf, sizeof(buf)) == -ENODEV,
	       "a covered mount point is not msharefs any more (-ENODEV)");
	umount(dir);
	umount(dir);
	rmdir(dir);

	/* Without any visible mount, discovery says so. */
	if (umount("/sys/fs/mshare"))
		tap_bail("cannot unmount /sys/fs/mshare");
	tap_ok(mshare_find_mount(NULL, buf, sizeof(buf)) == -ENOENT,
	       "no msharefs mount: -ENOENT");
	tap_ok(mshare_align(NULL, &align) == -ENOENT, "mshare_align() without a mount: -ENOENT");
	if (mount("msharefs", "/sys/fs/mshare", "msharefs", 0, NULL))
		tap_bail("cannot mount /sys/fs/mshare again");

	return tap_done();
}
