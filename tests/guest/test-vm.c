// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What tools/vm-run promises every guest, whatever the kernel: at least
 * two CPUs, an ext4 disk where O_DIRECT works, zram swap, a writable work
 * tree, and msharefs at /sys/fs/mshare when the kernel has it.
 */
#define _GNU_SOURCE
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <linux/magic.h>

#include "guest.h"

static bool file_has(const char *path, const char *text)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text);
	fclose(f);
	return found;
}

static void test_direct_io(const char *disk)
{
	char path[512];
	void *wbuf = NULL, *rbuf = NULL;
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "%s/direct.%d", disk, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);
	if (fd < 0 || posix_memalign(&wbuf, 4096, 65536) ||
	    posix_memalign(&rbuf, 4096, 65536)) {
		tap_ok(false, "O_DIRECT open on the disk");
		return;
	}
	for (int i = 0; i < 65536; i++)
		((unsigned char *)wbuf)[i] = i * 7 + 3;
	ok = pwrite(fd, wbuf, 65536, 0) == 65536 &&
	     pread(fd, rbuf, 65536, 0) == 65536 &&
	     !memcmp(wbuf, rbuf, 65536);
	tap_ok(ok, "O_DIRECT write and read back 64 KiB on the ext4 disk");
	close(fd);
	unlink(path);
	free(wbuf);
	free(rbuf);
}

int main(void)
{
	const char *disk = getenv("VM_DISK"), *tree = getenv("VM_WORKTREE");
	char cwd[512], probe[600];
	struct statfs sfs;
	int fd;

	tap_ok(sysconf(_SC_NPROCESSORS_ONLN) >= 2, "at least two CPUs are online (%ld)",
	       sysconf(_SC_NPROCESSORS_ONLN));
	tap_ok(disk && !statfs(disk, &sfs) && sfs.f_type == EXT4_SUPER_MAGIC,
	       "$VM_DISK (%s) is an ext4 filesystem", disk ? disk : "unset");
	if (disk)
		test_direct_io(disk);
	tap_ok(file_has("/proc/swaps", "/dev/zram0"), "zram swap is active");

	tap_ok(tree && getcwd(cwd, sizeof(cwd)) &&
	       !strncmp(cwd, tree, strlen(tree)),
	       "the command runs inside the work tree, at the host's path");
	snprintf(probe, sizeof(probe), "%s/build/.vm-write-probe.%d",
		 tree ? tree : ".", (int)getpid());
	fd = open(probe, O_RDWR | O_CREAT | O_EXCL, 0600);
	tap_ok(fd >= 0 && write(fd, "x", 1) == 1, "the work tree is writable");
	close(fd);
	unlink(probe);

	if (msharefs_registered())
		tap_ok(file_has("/proc/mounts", "/sys/fs/mshare msharefs"),
		       "msharefs is mounted at /sys/fs/mshare");
	else
		tap_skip("no msharefs in this kernel",
			 "msharefs is mounted at /sys/fs/mshare");
	return tap_done();
}
