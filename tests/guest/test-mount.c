// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Mounting msharefs: the runner's mount, independent instances, the
 * mode=/uid=/gid= options, their invalid values, remount and who may
 * mount.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "guest.h"

static char dir_a[] = "/tmp/mshare-mnt-a.XXXXXX";
static char dir_b[] = "/tmp/mshare-mnt-b.XXXXXX";

static bool mounts_line_has(const char *dir, const char *opt)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char dev[256], mnt[512], type[64], opts[512];

		if (sscanf(line, "%255s %511s %63s %511s", dev, mnt, type, opts) != 4)
			continue;
		if (strcmp(mnt, dir) || strcmp(type, "msharefs"))
			continue;
		found = !opt || strstr(opts, opt);
	}
	fclose(f);
	return found;
}

static int try_mount(void *dir)
{
	return mount("msharefs", dir, "msharefs", 0, NULL) ? errno : 0;
}

static void test_options(void)
{
	struct stat st;

	TAP_SUCCESS(mount("msharefs", dir_a, "msharefs", 0,
			  "mode=0710,uid=1000,gid=1001"),
		    "mount with mode=0710,uid=1000,gid=1001");
	tap_ok(!stat(dir_a, &st) && st.st_mode == (S_IFDIR | 0710) &&
	       st.st_uid == 1000 && st.st_gid == 1001,
	       "the root directory has the requested mode and owner");
	tap_ok(mounts_line_has(dir_a, "uid=1000") &&
	       mounts_line_has(dir_a, "gid=1001") &&
	       mounts_line_has(dir_a, "mode=710"),
	       "/proc/mounts shows the options");

	TAP_SUCCESS(mount(NULL, dir_a, NULL, MS_REMOUNT, "mode=0750"),
		    "remount with mode=0750");
	tap_ok(!stat(dir_a, &st) && st.st_mode == (S_IFDIR | 0750) &&
	       st.st_uid == 1000 && st.st_gid == 1001,
	       "remount changes the mode and keeps the owner");
	/* A remount changes only what it names: a later chown survives it. */
	if (chown(dir_a, 1234, 1235))
		tap_bail("chown of the instance root failed");
	TAP_SUCCESS(mount(NULL, dir_a, NULL, MS_REMOUNT, "mode=0711"),
		    "remount with mode=0711 after a chown");
	tap_ok(!stat(dir_a, &st) && st.st_mode == (S_IFDIR | 0711) &&
	       st.st_uid == 1234 && st.st_gid == 1235,
	       "remount keeps the owner set by chown");
	TAP_SUCCESS(mount(NULL, dir_a, NULL, MS_REMOUNT, "uid=0"),
		    "remount with uid=0");
	tap_ok(!stat(dir_a, &st) && st.st_mode == (S_IFDIR | 0711) &&
	       st.st_uid == 0 && st.st_gid == 1235,
	       "remount with uid= changes only the owner");
	TAP_ERRNO(mount(NULL, dir_a, NULL, MS_REMOUNT, "mode=99999"), EINVAL,
		  "remount with an invalid mode is EINVAL");
	TAP_SUCCESS(umount(dir_a), "unmount the instance");

	static const char *const bad[] = {
		"mode=abc", "mode=17777", "mode=", "uid=nobody", "uid=-1",
		"gid=4294967296", "size=1G", "bogus",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		TAP_ERRNO(mount("msharefs", dir_a, "msharefs", 0, bad[i]),
			  EINVAL, "mount option '%s' is refused with EINVAL",
			  bad[i]);
}

static void test_instances(void)
{
	char path[512];
	struct stat st;
	int fd;

	if (mount("msharefs", dir_a, "msharefs", 0, NULL) ||
	    mount("msharefs", dir_b, "msharefs", 0, NULL))
		tap_bail("cannot mount two instances");
	snprintf(path, sizeof(path), "%s/only-in-a", dir_a);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	snprintf(path, sizeof(path), "%s/only-in-b", dir_b);
	tap_ok(fd >= 0 && stat(path, &st) && errno == ENOENT,
	       "a region in one instance is not visible in another");
	snprintf(path, sizeof(path), "%s/only-in-a", dir_b);
	tap_ok(stat(path, &st) && errno == ENOENT,
	       "instances have separate namespaces");
	if (fd >= 0)
		close(fd);
	TAP_SUCCESS(umount(dir_a), "unmount an instance holding a region");
	TAP_SUCCESS(umount(dir_b), "unmount an empty instance");
}

int main(void)
{
	struct statfs sfs;
	struct stat st;

	require_msharefs();

	tap_ok(!stat("/sys/fs/mshare", &st) && S_ISDIR(st.st_mode),
	       "the filesystem creates /sys/fs/mshare");
	tap_ok(!statfs(mshare_mnt(), &sfs) && sfs.f_type == MSHAREFS_MAGIC,
	       "%s is an msharefs mount (statfs magic)", mshare_mnt());
	tap_ok(!stat(mshare_mnt(), &st) && st.st_mode == (S_IFDIR | 0755) &&
	       st.st_uid == 0 && st.st_gid == 0,
	       "default root directory: mode 0755, owned by root");

	if (!mkdtemp(dir_a) || !mkdtemp(dir_b))
		tap_bail("mkdtemp failed");
	test_options();
	test_instances();

	tap_ok(as_user(TEST_UID, TEST_GID, try_mount, dir_a) == EPERM,
	       "an unprivileged user cannot mount msharefs (EPERM)");

	rmdir(dir_a);
	rmdir(dir_b);
	return tap_done();
}
