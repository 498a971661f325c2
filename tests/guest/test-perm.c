// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Permissions, checked as an unprivileged user: who may create, open,
 * size and remove regions, with and without an area of their own.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "guest.h"

static char root_region[512], user_dir[256], user_region[512];
static uint64_t align;

static int create_in_root(void *unused)
{
	char path[512];

	(void)unused;
	snprintf(path, sizeof(path), "%s/by-nobody", mshare_mnt());
	return open(path, O_RDWR | O_CREAT | O_EXCL, 0600) < 0 ? errno : 0;
}

static int open_flags(void *flags)
{
	return open(root_region, *(int *)flags) < 0 ? errno : 0;
}

static int truncate_readonly(void *unused)
{
	int fd = open(root_region, O_RDONLY);

	(void)unused;
	if (fd < 0)
		return 100;
	return ftruncate(fd, align) ? errno : 0;
}

static int unlink_root_region(void *unused)
{
	(void)unused;
	return unlink(root_region) ? errno : 0;
}

/* In an area it owns, the user creates, sizes and removes its regions. */
static int use_own_area(void *unused)
{
	struct stat st;
	int fd;

	(void)unused;
	fd = open(user_region, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 1;
	if (fstat(fd, &st) || st.st_uid != TEST_UID || st.st_gid != TEST_GID)
		return 2;
	if (ftruncate(fd, align))
		return 3;
	close(fd);
	return unlink(user_region) ? 4 : 0;
}

int main(void)
{
	int flags, fd;

	require_msharefs();
	align = mshare_align_raw();

	tap_ok(as_user(TEST_UID, TEST_GID, create_in_root, NULL) == EACCES,
	       "nobody cannot create a region in the 0755 root (EACCES)");

	region_path(root_region, sizeof(root_region), "perm");
	fd = open(root_region, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		tap_bail("cannot create the test region");
	flags = O_RDONLY;
	tap_ok(as_user(TEST_UID, TEST_GID, open_flags, &flags) == EACCES,
	       "nobody cannot open root's 0600 region (EACCES)");

	fchmod(fd, 0644);
	tap_ok(as_user(TEST_UID, TEST_GID, open_flags, &flags) == 0,
	       "nobody can open a 0644 region read-only");
	flags = O_RDWR;
	tap_ok(as_user(TEST_UID, TEST_GID, open_flags, &flags) == EACCES,
	       "nobody cannot open a 0644 region read-write (EACCES)");
	tap_ok(as_user(TEST_UID, TEST_GID, truncate_readonly, NULL) == EINVAL,
	       "nobody cannot size a region through a read-only fd (EINVAL)");
	tap_ok(as_user(TEST_UID, TEST_GID, unlink_root_region, NULL) == EACCES,
	       "nobody cannot unlink a region in root's directory (EACCES)");
	close(fd);
	unlink(root_region);

	/* An administrator gives the user an area, as mount -o uid= would. */
	snprintf(user_dir, sizeof(user_dir), "%s/nobody.%d", mshare_mnt(),
		 (int)getpid());
	snprintf(user_region, sizeof(user_region), "%s/db", user_dir);
	if (mkdir(user_dir, 0700) || chown(user_dir, TEST_UID, TEST_GID))
		tap_bail("cannot make the user's directory");
	tap_ok(as_user(TEST_UID, TEST_GID, use_own_area, NULL) == 0,
	       "nobody creates, sizes and unlinks a region in its own directory");
	rmdir(user_dir);

	return tap_done();
}
