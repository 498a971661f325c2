// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The region namespace: create, exclusive create, open, unlink (the
 * region outlives its name), directories, rename, and the objects and
 * calls msharefs refuses.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "guest.h"

int main(void)
{
	char path[512], dir[256], inner[512], other[512];
	uint64_t align;
	struct stat st;
	char byte;
	int fd, fd2;

	require_msharefs();
	align = mshare_align_raw();
	umask(022);
	region_path(path, sizeof(path), "create");

	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0666);
	tap_ok(fd >= 0, "create a region with O_CREAT|O_EXCL");
	tap_ok(!fstat(fd, &st) && S_ISREG(st.st_mode) &&
	       (st.st_mode & 07777) == 0644 && st.st_size == 0 &&
	       st.st_uid == 0,
	       "a new region is a regular file, mode 0666 & ~umask, size 0, "
	       "owned by its creator");
	TAP_ERRNO(open(path, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST,
		  "a second exclusive create fails with EEXIST");
	fd2 = open(path, O_RDONLY);
	tap_ok(fd2 >= 0, "an existing region opens without O_CREAT");
	close(fd2);

	TAP_ERRNO(read(fd, &byte, 1), EINVAL, "read() on a region is EINVAL");
	TAP_ERRNO(write(fd, "x", 1), EINVAL, "write() on a region is EINVAL");
	/* An unsized region has nothing to attach (test-attach has the rest). */
	TAP_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0), EINVAL,
		  "an unsized region cannot be attached (EINVAL)");

	TAP_SUCCESS(unlink(path), "unlink the region");
	TAP_ERRNO(open(path, O_RDWR), ENOENT, "the name is gone (ENOENT)");
	tap_ok(!fstat(fd, &st) && st.st_nlink == 0,
	       "the open region lives on with no links");
	TAP_SUCCESS(ftruncate(fd, align),
		    "an unlinked region can still be sized through its fd");
	close(fd);

	snprintf(dir, sizeof(dir), "%s/dir.%d", mshare_mnt(), (int)getpid());
	snprintf(inner, sizeof(inner), "%s/region", dir);
	TAP_SUCCESS(mkdir(dir, 0755), "mkdir");
	tap_ok(!stat(dir, &st) && S_ISDIR(st.st_mode) && st.st_nlink == 2,
	       "a new directory has two links");
	fd = open(inner, O_RDWR | O_CREAT | O_EXCL, 0600);
	tap_ok(fd >= 0, "create a region inside a directory");
	close(fd);
	TAP_ERRNO(rmdir(dir), ENOTEMPTY, "rmdir of a non-empty directory is ENOTEMPTY");
	TAP_ERRNO(unlink(dir), EISDIR, "unlink of a directory is EISDIR");

	snprintf(other, sizeof(other), "%s/renamed", dir);
	TAP_SUCCESS(rename(inner, other), "rename a region");
	tap_ok(!stat(other, &st) && stat(inner, &st) && errno == ENOENT,
	       "the region has its new name only");

	snprintf(path, sizeof(path), "%s/link", dir);
	TAP_ERRNO(link(other, path), EPERM, "hard links are refused (EPERM)");
	TAP_ERRNO(symlink("x", path), EPERM, "symbolic links are refused (EPERM)");
	TAP_ERRNO(mknod(path, S_IFIFO | 0600, 0), EPERM, "FIFOs are refused (EPERM)");
	TAP_ERRNO(mknod(path, S_IFCHR | 0600, makedev(1, 3)), EPERM,
		  "device nodes are refused (EPERM)");

	TAP_SUCCESS(unlink(other), "unlink the region in the directory");
	TAP_SUCCESS(rmdir(dir), "rmdir the empty directory");
	return tap_done();
}
