// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare_info: the alignment, its format, and that nobody can change or
 * remove the file.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "guest.h"

static char info[512];

static int open_for_write(void *unused)
{
	(void)unused;
	return open(info, O_WRONLY) < 0 ? errno : 0;
}

int main(void)
{
	char buf[64], slow[64], moved[512];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	require_msharefs();
	snprintf(info, sizeof(info), "%s/" MSHAREFS_INFO_NAME, mshare_mnt());

	fd = open(info, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	tap_ok(n > 1 && buf[n - 1] == '\n' &&
	       strspn(buf, "0123456789") == (size_t)n - 1,
	       "mshare_info is a decimal number and a newline ('%.*s')",
	       n > 0 ? (int)n - 1 : 0, buf);
	/* One top-level entry below the root: 512 GiB on x86-64 and arm64 4K/48-bit. */
	tap_ok(strtoull(buf, NULL, 10) == (1ULL << 39),
	       "the alignment is 512 GiB");

	/* Reading a few bytes at a time gives the same text. */
	lseek(fd, 0, SEEK_SET);
	while (len < sizeof(slow) - 1 && (n = read(fd, slow + len, 3)) > 0)
		len += n;
	slow[len] = '\0';
	tap_ok(!strcmp(slow, buf), "short reads return the same text");
	close(fd);

	tap_ok(!stat(info, &st) && S_ISREG(st.st_mode) &&
	       (st.st_mode & 07777) == 0444 && st.st_uid == 0,
	       "mshare_info is a 0444 regular file owned by root");
	tap_ok(as_user(TEST_UID, TEST_GID, open_for_write, NULL) == EACCES,
	       "an unprivileged user cannot open it for writing (EACCES)");

	fd = open(info, O_WRONLY);
	TAP_ERRNO(write(fd, "1\n", 2), EINVAL, "writing to it fails with EINVAL");
	TAP_ERRNO(ftruncate(fd, 0), EPERM, "even root cannot truncate it (EPERM)");
	close(fd);
	TAP_ERRNO(unlink(info), EPERM, "even root cannot unlink it (EPERM)");
	snprintf(moved, sizeof(moved), "%s/moved-info", mshare_mnt());
	TAP_ERRNO(rename(info, moved), EPERM, "nor rename it (EPERM)");
	TAP_ERRNO(open(info, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST,
		  "a region cannot take its name (EEXIST)");

	return tap_done();
}
