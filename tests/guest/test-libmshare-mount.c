// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare_mount() against the real kernel: a second instance on a
 * directory, with mode=, uid= and gid= seen by stat(); bad options and a
 * bad target refused with the kernel's errno and nothing mounted; a NULL
 * target is /sys/fs/mshare, where a new instance is stacked on the one
 * the runner mounted (msharefs is not a single-instance filesystem, so
 * the kernel has no EBUSY to give); an unprivileged caller refused.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/statfs.h>

#include "libmshare-test.h"

static bool is_msharefs(const char *path)
{
	struct statfs sfs;

	return !statfs(path, &sfs) && sfs.f_type == MSHAREFS_MAGIC;
}

static void test_instance(const char *dir)
{
	char path[PATH_MAX];
	uint64_t align = 0;
	struct stat st;
	int err;

	err = mshare_mount(dir, "mode=0700");
	lt_rc(err, 0, "mshare_mount(dir, \"mode=0700\") mounts");
	tap_ok(is_msharefs(dir), "the directory is msharefs now");
	memset(&st, 0, sizeof(st));
	err = stat(dir, &st);
	tap_ok(!err && (st.st_mode & 07777) == 0700 && !st.st_uid,
	       "its root has mode 0700 (%o), owner root", st.st_mode & 07777);
	tap_ok(!mshare_align(dir, &align) && align == lt_align,
	       "it has its own mshare_info with the alignment");

	/* An instance of its own: a region made there is not in the runner's. */
	snprintf(path, sizeof(path), "%s/lt-inst.%d", dir, (int)getpid());
	mshare_close(mshare_create(path, 0600));
	tap_ok(lt_exists(path) && !lt_exists(path + strlen(dir) + 1),
	       "a region created in it is not in %s", lt_mnt);
	if (umount(dir))
		tap_bail("cannot unmount the instance");

	err = mshare_mount(dir, "uid=65534,gid=65534,mode=1777");
	lt_rc(err, 0, "mshare_mount(dir, \"uid=65534,gid=65534,mode=1777\")");
	memset(&st, 0, sizeof(st));
	err = stat(dir, &st);
	tap_ok(!err && (st.st_mode & 07777) == 01777 &&
	       st.st_uid == TEST_UID && st.st_gid == TEST_GID,
	       "its root has mode 1777 (%o) and is owned by 65534:65534 (%d:%d)",
	       st.st_mode & 07777, (int)st.st_uid, (int)st.st_gid);
	if (umount(dir))
		tap_bail("cannot unmount the instance");

	err = mshare_mount(dir, NULL);
	lt_rc(err, 0, "mshare_mount(dir, NULL) mounts");
	memset(&st, 0, sizeof(st));
	err = stat(dir, &st);
	tap_ok(!err && (st.st_mode & 07777) == 0755,
	       "without options the root has mode 0755 (%o)", st.st_mode & 07777);
	if (umount(dir))
		tap_bail("cannot unmount the instance");
}

static void test_bad(const char *dir)
{
	static const char *const bad[] = {
		"bogus", "bogus=1", "mode=abc", "mode=10000", "uid=x",
		"gid=-2", "mode=0700,bogus",
	};
	char missing[PATH_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lt_rc(mshare_mount(dir, bad[i]), -EINVAL,
		      "mshare_mount(dir, \"%s\") is -EINVAL", bad[i]);
		tap_ok(!is_msharefs(dir), "and mounts nothing");
	}
	lt_rc(mshare_mount("", NULL), -EINVAL, "mshare_mount(\"\") is -EINVAL");

	snprintf(missing, sizeof(missing), "%s/missing", dir);
	lt_rc(mshare_mount(missing, NULL), -ENOENT,
	      "mshare_mount() on a missing directory is -ENOENT");
	tap_ok(!lt_exists(missing), "and creates no directory");
}

/* NULL is /sys/fs/mshare, where the runner's instance already is. */
static void test_default(void)
{
	char name[64], path[PATH_MAX];
	struct mshare_region *r;
	int err;

	lt_name(name, sizeof(name), "under");
	r = lt_need(mshare_create(name, 0600), "mshare_create");
	mshare_close(r);

	err = mshare_mount(NULL, NULL);
	lt_rc(err, 0, "mshare_mount(NULL, NULL) on the mounted %s stacks a new instance",
	      LIBMSHARE_DEFAULT_PATH);
	if (err)
		return;
	snprintf(path, sizeof(path), "%s/%s", LIBMSHARE_DEFAULT_PATH, name);
	tap_ok(is_msharefs(LIBMSHARE_DEFAULT_PATH) && !lt_exists(path),
	       "the new instance covers the old one (its regions are hidden)");
	if (umount(LIBMSHARE_DEFAULT_PATH))
		tap_bail("cannot unmount the stacked instance");
	tap_ok(lt_exists(path), "unmounted, the old instance and its region are back");
	lt_rc(mshare_unlink(name), 0, "and the region can be removed");
}

/*
 * As the unprivileged user: 0 if mshare_mount() said -EPERM. Whatever
 * else it said is shown, since an exit status cannot carry it.
 */
static int refused(const char *target, int err)
{
	if (err == -EPERM)
		return 0;
	tap_diag("mshare_mount(%s) as uid %d returned %d (%s)", target ? target : "NULL",
		 (int)getuid(), err, err < 0 ? strerror(-err) : "-");
	return 1;
}

static int mount_as_user(void *dir)
{
	return refused(dir, mshare_mount(dir, NULL));
}

static int mount_default_as_user(void *unused)
{
	(void)unused;
	return refused(NULL, mshare_mount(NULL, "mode=0777"));
}

static void test_unprivileged(const char *dir)
{
	int rc;

	/* Reachable by nobody, so that only the mount itself is refused. */
	if (chmod(dir, 0777))
		tap_bail("cannot chmod the mount point");
	fflush(stdout);
	rc = as_user(TEST_UID, TEST_GID, mount_as_user, (void *)dir);
	tap_ok(rc == 0, "mshare_mount(dir) by uid 65534 is -EPERM");
	tap_ok(!is_msharefs(dir), "and mounts nothing");
	rc = as_user(TEST_UID, TEST_GID, mount_default_as_user, NULL);
	tap_ok(rc == 0, "mshare_mount(NULL) by uid 65534 is -EPERM");
}

int main(void)
{
	char dir[] = "/tmp/lt-mount.XXXXXX";

	lt_init();
	if (!mkdtemp(dir))
		tap_bail("cannot make a mount point");

	test_instance(dir);
	test_bad(dir);
	test_default();
	test_unprivileged(dir);

	rmdir(dir);
	return tap_done();
}
