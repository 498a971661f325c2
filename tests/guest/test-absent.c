// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A kernel built without CONFIG_MSHARE (arm64 until its port): msharefs
 * is absent, and asking for it fails cleanly rather than half-working.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>

#include "guest.h"

int main(void)
{
	char dir[] = "/tmp/mshare-absent.XXXXXX";
	struct stat st;

	if (msharefs_registered()) {
		printf("1..0 # SKIP this kernel has msharefs\n");
		return 0;
	}
	TAP_ERRNO(stat("/sys/fs/mshare", &st), ENOENT,
		  "there is no /sys/fs/mshare mount point");
	if (!mkdtemp(dir))
		tap_bail("mkdtemp failed");
	TAP_ERRNO(mount("msharefs", dir, "msharefs", 0, NULL), ENODEV,
		  "mount -t msharefs fails with ENODEV");
	rmdir(dir);
	return tap_done();
}
