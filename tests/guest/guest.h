/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the guest test programs: where msharefs is, whether
 * this kernel should have it, unique region names, and running a piece
 * of a test as an unprivileged user.
 */
#ifndef MSHARE_GUEST_H
#define MSHARE_GUEST_H

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

/*
 * Running on the debug (KASAN, lockdep) kernel? It is there to catch
 * splats, and runs every exec, exit and fault many times slower, with
 * timings that say nothing of the normal kernel's.
 */
static inline bool debug_kernel(void)
{
	const char *debug = getenv("VM_DEBUG");

	return debug && !strcmp(debug, "1");
}

/*
 * Processes for the tests that start them by the thousand: @n, or a fifth
 * of it on the debug kernel; the scale bars are asserted on the normal
 * kernel.
 */
static inline unsigned int scaled_nproc(unsigned int n)
{
	return debug_kernel() ? n / 5 : n;
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

/*
 * A new region at region_path(@name), open O_RDWR and sized to @size
 * (0: leave it unsized). Bails out on failure: callers test what comes
 * after.
 */
static inline int region_new(const char *name, char *path, size_t len,
			     uint64_t size)
{
	int fd;

	region_path(path, len, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		tap_bail("cannot create a region");
	if (size && ftruncate(fd, size))
		tap_bail("cannot size a region");
	return fd;
}

/* MSHAREFS_CREATE_MAPPING; returns the ioctl's result (-1 and errno). */
static inline int region_map(int fd, uint64_t region_offset, uint64_t size,
			     uint32_t prot, uint32_t flags, int backing,
			     uint64_t offset)
{
	struct mshare_create c = {
		.region_offset = region_offset,
		.size = size,
		.offset = offset,
		.prot = prot,
		.flags = flags,
		.fd = (uint32_t)backing,
	};

	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &c);
}

/* Anonymous shared read-write memory at @region_offset. */
static inline int region_map_anon(int fd, uint64_t region_offset, uint64_t size)
{
	return region_map(fd, region_offset, size, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
}

/* MSHAREFS_UNMAP; returns the ioctl's result (-1 and errno). */
static inline int region_unmap(int fd, uint64_t region_offset, uint64_t size)
{
	struct mshare_unmap u = {
		.region_offset = region_offset,
		.size = size,
	};

	return ioctl(fd, MSHAREFS_UNMAP, &u);
}

/* MSHAREFS_PROTECT; returns the ioctl's result (-1 and errno). */
static inline int region_protect(int fd, uint64_t region_offset, uint64_t size,
				 uint32_t prot)
{
	struct mshare_protect p = {
		.region_offset = region_offset,
		.size = size,
		.prot = prot,
	};

	return ioctl(fd, MSHAREFS_PROTECT, &p);
}

/* MSHAREFS_ADVISE; returns the ioctl's result (-1 and errno). */
static inline int region_advise(int fd, uint64_t region_offset, uint64_t size,
				uint32_t advice)
{
	struct mshare_advise a = {
		.region_offset = region_offset,
		.size = size,
		.advice = advice,
	};

	return ioctl(fd, MSHAREFS_ADVISE, &a);
}

/* MSHAREFS_GET_STATS into @st; bails out on failure. */
static inline void region_stats(int fd, struct mshare_stats *st)
{
	memset(st, 0xff, sizeof(*st));
	if (ioctl(fd, MSHAREFS_GET_STATS, st))
		tap_bail("MSHAREFS_GET_STATS failed");
}

/* Attach the whole region where the kernel likes; MAP_FAILED on error. */
static inline void *region_attach(int fd, uint64_t size, int prot)
{
	return mmap(NULL, size, prot, MAP_SHARED, fd, 0);
}

/*
 * The value of @key ("PageTables", "VmPTE", ...) in a /proc file of
 * "Key:   value kB" lines (/proc/meminfo, /proc/PID/status); -1 if absent.
 */
static inline long proc_kb(const char *file, const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long val = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * Attach the whole region at the aligned address @hint if the kernel
 * takes it, and in any case at none of the @n addresses in @avoid (each
 * is blocked with a PROT_NONE placeholder for the time of the mmap).
 * MAP_FAILED on error.
 */
static inline void *region_attach_avoid(int fd, uint64_t size, int prot, void *hint,
					void *const *avoid, unsigned int n)
{
	void *held[n ? n : 1];
	void *p;

	for (unsigned int i = 0; i < n; i++)
		held[i] = mmap(avoid[i], size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	p = mmap(hint, size, prot, MAP_SHARED, fd, 0);
	for (unsigned int i = 0; i < n; i++)
		if (held[i] != MAP_FAILED)
			munmap(held[i], size);
	return p;
}

/*
 * Fold the per-CPU vm statistics into the totals /proc/meminfo shows
 * (PageTables, Shmem, ... lag by up to a threshold a CPU otherwise).
 * Root only; best effort.
 */
static inline void vmstat_refresh(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, "1", 1);	/* on failure the lagging totals are all there is */
	(void)n;
	close(fd);
}

/* Write a short string to a sysctl/sysfs file; false if it would not take it. */
static inline bool write_sys(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/*
 * Bring /proc/meminfo to a state two measurements can be compared in:
 * write back and drop the page cache and the dentry/inode caches, shrink
 * every slab cache (which returns per-CPU partial slabs and, under
 * generic KASAN, empties the quarantine that otherwise keeps megabytes
 * of freed objects counted in SUnreclaim), then fold the per-CPU vm
 * counters. Root only; false if the caches could not be dropped.
 */
static inline bool settle_memory(void)
{
	DIR *d;
	struct dirent *e;
	char path[320];
	bool ok;

	sync();
	ok = write_sys("/proc/sys/vm/drop_caches", "3");
	d = opendir("/sys/kernel/slab");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
		write_sys(path, "1");	/* aliases and odd caches may refuse */
	}
	if (d)
		closedir(d);
	vmstat_refresh();
	return ok;
}

#endif
