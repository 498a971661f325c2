/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the guest test programs: where msharefs is, whether
 * this kernel should have it, unique region names, and running a piece
 * of a test as an unprivileged user.
 */
#ifndef MSHARE_GUEST_H
#define MSHARE_GUEST_H

#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/msharefs.h>

#include "../tap.h"

/* nobody: the unprivileged user of the permission tests */
#define TEST_UID	65534
#define TEST_GID	65534

/* The msharefs mount the runner made, or $MSHARE_MNT. */
static inline const char *mshare_mnt(void)
{
	const char *m = getenv("MSHARE_MNT");

	return m && *m ? m : "/sys/fs/mshare";
}

static inline bool msharefs_registered(void)
{
	char line[256];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "r");

	if (!f)
		tap_bail("cannot read /proc/filesystems");
	while (!found && fgets(line, sizeof(line), f))
		found = !strcmp(line, "nodev\tmsharefs\n");
	fclose(f);
	return found;
}

/*
 * Every msharefs test starts here. A kernel without msharefs skips the
 * program, unless it is one that must have it (x86_64, where the build
 * enables CONFIG_MSHARE): there a missing filesystem is a failure, not a
 * skip.
 */
static inline void require_msharefs(void)
{
	const char *arch = getenv("VM_ARCH");

	if (msharefs_registered())
		return;
	if (arch && !strcmp(arch, "x86_64"))
		tap_bail("msharefs is not registered in an x86_64 test kernel");
	printf("1..0 # SKIP msharefs is not in this kernel\n");
	exit(EXIT_SUCCESS);
}

/* The alignment as mshare_info states it, read directly; bails out if unreadable. */
static inline uint64_t mshare_align_raw(void)
{
	char path[512], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/" MSHAREFS_INFO_NAME, mshare_mnt());
	fd = open(path, O_RDONLY);
	if (fd < 0)
		tap_bail("cannot open mshare_info");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		tap_bail("cannot read mshare_info");
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* "<mount>/<name>.<pid>" in @buf: tests can run side by side. */
static inline const char *region_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s.%d", mshare_mnt(), name, (int)getpid());
	return buf;
}

/*
 * Run @fn(@arg) in a child with the credentials of an unprivileged user;
 * return its exit status (fn's return value), or -1 if it died.
 */
static inline int as_user(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
		    setresuid(uid, uid, uid))
			_exit(126);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#endif
