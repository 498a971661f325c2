// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSHAREFS_CREATE_MAPPING and MSHAREFS_UNMAP (issue 3 contract): a bad
 * value in every field of struct mshare_create fails with its errno
 * (EBADF, EINVAL, ENODEV, EACCES, EEXIST), unsafe backings (PFNMAP, IO,
 * MIXEDMAP) are refused, and every accepted backing (anonymous, tmpfs,
 * memfd, ext4, hugetlbfs, anonymous hugetlb) shows the same data through
 * an attach as through the backing itself. UNMAP checks its arguments,
 * succeeds on holes, splits mappings, and leaves every attacher with
 * SIGSEGV (SEGV_MAPERR at its own address) where memory was removed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/io_uring.h>

#include "guest.h"

#define MiB		(1ULL << 20)
#define HPAGE		(2 * MiB)

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21U << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_HUGE_1GB
#define MAP_HUGE_1GB	(30U << MAP_HUGE_SHIFT)
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE	0x08
#endif

#define MAP_ANON_FLAGS	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS)
#define MAP_FILE_FLAGS	(MAP_SHARED | MAP_FIXED)
#define RW		(PROT_READ | PROT_WRITE)

static uint64_t align, page;

/* ---- touching memory that may fault ---- */

struct touch {
	bool faulted;
	int sig, code;
	void *addr;
};

enum { TOUCH_READ, TOUCH_WRITE };

static sigjmp_buf touch_jmp;
static siginfo_t touch_info;

static void touch_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	touch_info = *si;
	siglongjmp(touch_jmp, 1);
}

/* Read or write one byte at @p, catching SIGSEGV and SIGBUS. */
static struct touch touch(void *p, int how)
{
	struct sigaction sa = { .sa_sigaction = touch_handler, .sa_flags = SA_SIGINFO };
	struct sigaction old_segv, old_bus;
	struct touch t = { 0 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (!sigsetjmp(touch_jmp, 1)) {
		if (how == TOUCH_WRITE)
			*(volatile char *)p = 0x5a;
		else
			(void)*(volatile char *)p;
	} else {
		t.faulted = true;
		t.sig = touch_info.si_signo;
		t.code = touch_info.si_code;
		t.addr = touch_info.si_addr;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return t;
}

static bool touch_segv(void *p, int how, int code)
{
	struct touch t = touch(p, how);
	bool ok = t.faulted && t.sig == SIGSEGV && t.addr == p &&
		  (code < 0 || t.code == code);

	if (!ok)
		tap_diag("%s %p: %s, signal %d, si_code %d, si_addr %p",
			 how == TOUCH_WRITE ? "writing" : "reading", p,
			 t.faulted ? "faulted" : "no fault", t.sig, t.code, t.addr);
	return ok;
}

static bool touch_ok(void *p, int how)
{
	struct touch t = touch(p, how);

	if (t.faulted)
		tap_diag("%s %p: signal %d, si_code %d, si_addr %p",
			 how == TOUCH_WRITE ? "writing" : "reading", p,
			 t.sig, t.code, t.addr);
	return !t.faulted;
}

/* ---- data ---- */

static unsigned char pat(size_t i, unsigned int seed)
{
	return (unsigned char)(i * 7 + seed + (i >> 12));
}

/* Fill @buf with the pattern @seed, as if it started at byte @from of it. */
static void pattern_from(unsigned char *buf, size_t len, unsigned int seed,
			 size_t from)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(from + i, seed);
}

static bool is_pattern_from(const volatile unsigned char *buf, size_t len,
			    unsigned int seed, size_t from)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pat(from + i, seed)) {
			tap_diag("byte %zu is %#x, wanted %#x", i, buf[i],
				 pat(from + i, seed));
			return false;
		}
	}
	return true;
}

static void pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	pattern_from(buf, len, seed, 0);
}

static bool is_pattern(const volatile unsigned char *buf, size_t len,
		       unsigned int seed)
{
	return is_pattern_from(buf, len, seed, 0);
}

static bool is_zero(const volatile unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i]) {
			tap_diag("byte %zu is %#x, wanted 0", i, buf[i]);
			return false;
		}
	}
	return true;
}

/* ---- CREATE_MAPPING helpers ---- */

static struct mshare_create anon(uint64_t region_offset, uint64_t size)
{
	return (struct mshare_create){
		.region_offset = region_offset,
		.size = size,
		.prot = RW,
		.flags = MAP_ANON_FLAGS,
		.fd = (uint32_t)-1,
	};
}

static struct mshare_create file(uint64_t region_offset, uint64_t size,
				 int fd, uint64_t offset)
{
	return (struct mshare_create){
		.region_offset = region_offset,
		.size = size,
		.offset = offset,
		.prot = RW,
		.flags = MAP_FILE_FLAGS,
		.fd = (uint32_t)fd,
	};
}

/*
 * CREATE_MAPPING with @c must fail with @want. Should it succeed, the
 * range is unmapped again so that one wrong answer does not turn the
 * following checks into EEXIST.
 */
static void map_fails(int fd, struct mshare_create c, int want, const char *what)
{
	int ret, err;

	errno = 0;
	ret = ioctl(fd, MSHAREFS_CREATE_MAPPING, &c);
	err = errno;
	if (!ret)
		region_unmap(fd, c.region_offset, c.size);
	tap_errno_is(ret, err, want, "%s", what);
}

/* CREATE_MAPPING with @c must succeed; unmapped again unless @keep. */
static bool map_works(int fd, struct mshare_create c, bool keep, const char *what)
{
	int ret, err;
	bool ok;

	errno = 0;
	ret = ioctl(fd, MSHAREFS_CREATE_MAPPING, &c);
	err = errno;
	ok = tap_success(ret, err, "%s", what);
	if (ok && !keep && region_unmap(fd, c.region_offset, c.size))
		tap_diag("unmapping it again failed: %s", strerror(errno));
	return ok;
}

static int tmp_file(const char *dir, uint64_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/mshare-map.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (size && ftruncate(fd, size)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The same open file again, with other access flags. */
static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

static bool smaps_has_flag(void *start, const char *flag)
{
	char line[512], head[64];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return false;
	snprintf(head, sizeof(head), "%lx-", (unsigned long)start);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, head, strlen(head)))
			in = true;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			char *tok, *save;

			for (tok = strtok_r(line + 8, " \n", &save); tok;
			     tok = strtok_r(NULL, " \n", &save))
				found |= !strcmp(tok, flag);
			break;
		}
	}
	fclose(f);
	return found;
}

static long meminfo_kb(const char *key)
{
	char line[256];
	long val = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			val = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return val;
}

/* ---- argument checks ---- */

/* EBADF through a read-only fd comes first; then an unsized region is EINVAL. */
static void test_fd_checks(void)
{
	char path[512];
	int fd, ro, wo;

	fd = region_new("map-unsized", path, sizeof(path), 0);
	ro = open(path, O_RDONLY);
	TAP_ERRNO(region_map_anon(ro, 0, page), EBADF,
		  "CREATE_MAPPING through a read-only fd of an unsized region is EBADF");
	TAP_ERRNO(region_unmap(ro, 0, page), EBADF,
		  "UNMAP through a read-only fd of an unsized region is EBADF");
	TAP_ERRNO(region_map_anon(fd, 0, page), EINVAL,
		  "CREATE_MAPPING on an unsized region is EINVAL");
	TAP_ERRNO(region_unmap(fd, 0, page), EINVAL, "UNMAP on an unsized region is EINVAL");

	TAP_SUCCESS(ftruncate(fd, align), "size the region");
	TAP_ERRNO(region_map_anon(ro, 0, page), EBADF,
		  "CREATE_MAPPING through a read-only fd is EBADF");
	TAP_ERRNO(region_map_anon(ro, 1, 0), EBADF,
		  "EBADF comes before argument checks");
	TAP_ERRNO(region_unmap(ro, 0, page), EBADF, "UNMAP through a read-only fd is EBADF");
	close(ro);

	wo = open(path, O_WRONLY);
	TAP_SUCCESS(region_map_anon(wo, 0, page), "CREATE_MAPPING through an O_WRONLY fd works");
	TAP_SUCCESS(region_unmap(wo, 0, page), "UNMAP through an O_WRONLY fd works");
	close(wo);
	close(fd);
	unlink(path);
}

static void test_flags(int fd)
{
	static const struct {
		uint32_t flags;
		const char *what;
	} bad[] = {
		{ 0, "flags 0" },
		{ MAP_SHARED | MAP_ANONYMOUS, "MAP_SHARED without MAP_FIXED" },
		{ MAP_FIXED | MAP_ANONYMOUS, "MAP_FIXED without MAP_SHARED" },
		{ MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, "MAP_PRIVATE" },
		{ MAP_SHARED_VALIDATE | MAP_FIXED | MAP_ANONYMOUS, "MAP_SHARED_VALIDATE" },
		{ MAP_ANON_FLAGS | MAP_GROWSDOWN, "MAP_GROWSDOWN" },
		{ MAP_ANON_FLAGS | MAP_LOCKED, "MAP_LOCKED" },
		{ MAP_ANON_FLAGS | MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE" },
#ifdef MAP_32BIT
		{ MAP_ANON_FLAGS | MAP_32BIT, "MAP_32BIT" },
#endif
		{ MAP_ANON_FLAGS | MAP_DENYWRITE, "MAP_DENYWRITE" },
		{ MAP_ANON_FLAGS | MAP_EXECUTABLE, "MAP_EXECUTABLE" },
		{ MAP_ANON_FLAGS | MAP_NONBLOCK, "MAP_NONBLOCK" },
		{ MAP_ANON_FLAGS | MAP_STACK, "MAP_STACK" },
		{ MAP_ANON_FLAGS | MAP_SYNC, "MAP_SYNC" },
		{ MAP_ANON_FLAGS | MAP_DROPPABLE, "MAP_DROPPABLE" },
		{ MAP_ANON_FLAGS | 0x04, "unknown bit 0x04" },
		{ MAP_ANON_FLAGS | 0x200000, "unknown bit 0x200000" },
		{ MAP_ANON_FLAGS | 0x2000000, "unknown bit 0x2000000" },
		{ MAP_ANON_FLAGS | MAP_HUGE_2MB, "MAP_HUGE_2MB without MAP_HUGETLB" },
		{ MAP_ANON_FLAGS | (1U << MAP_HUGE_SHIFT),
		  "MAP_UNINITIALIZED (a MAP_HUGE_* bit) without MAP_HUGETLB" },
	};
	static const uint32_t bad_prot[] = {
		0x8, 0x10, 0x80, PROT_GROWSDOWN, PROT_GROWSUP, 0x80000000,
	};
	struct mshare_create c;
	char what[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = anon(0, page);
		c.flags = bad[i].flags;
		snprintf(what, sizeof(what), "flags: %s is EINVAL", bad[i].what);
		map_fails(fd, c, EINVAL, what);
	}
	c = anon(0, HPAGE);
	c.flags |= MAP_NORESERVE;
	map_works(fd, c, false, "flags: MAP_NORESERVE is accepted");
	c.flags = MAP_ANON_FLAGS | MAP_POPULATE;
	map_works(fd, c, false, "flags: MAP_POPULATE is accepted");
	c.flags = MAP_ANON_FLAGS | MAP_POPULATE | MAP_NORESERVE;
	map_works(fd, c, false, "flags: MAP_POPULATE | MAP_NORESERVE is accepted");

	for (size_t i = 0; i < sizeof(bad_prot) / sizeof(bad_prot[0]); i++) {
		c = anon(0, page);
		c.prot = PROT_READ | bad_prot[i];
		snprintf(what, sizeof(what), "prot: bit %#x is EINVAL", bad_prot[i]);
		map_fails(fd, c, EINVAL, what);
	}
	c = anon(0, page);
	c.prot = PROT_NONE;
	map_works(fd, c, false, "prot: PROT_NONE is accepted");
	c.prot = PROT_READ;
	map_works(fd, c, false, "prot: PROT_READ is accepted");
	c.prot = PROT_READ | PROT_WRITE | PROT_EXEC;
	map_works(fd, c, false, "prot: PROT_READ | PROT_WRITE | PROT_EXEC is accepted");

	/* mshare_create.reserved was tail padding in the 2025 proposal. */
	c = anon(0, page);
	c.reserved = 0xdeadbeef;
	map_works(fd, c, false, "a non-zero reserved field is ignored");
}

static void test_ranges(int fd, int tmpfd)
{
	const uint64_t top = UINT64_MAX & ~(page - 1);
	struct mshare_create c;

	map_fails(fd, anon(1, page), EINVAL, "region_offset 1 is EINVAL");
	map_fails(fd, anon(page + page / 2, page), EINVAL,
		  "region_offset of a page and a half is EINVAL");
	map_fails(fd, anon(0, 0), EINVAL, "size 0 is EINVAL");
	map_fails(fd, anon(0, 1), EINVAL, "size 1 is EINVAL");
	map_fails(fd, anon(0, page - 1), EINVAL, "size of a page minus one is EINVAL");
	map_fails(fd, anon(0, page + 1), EINVAL, "size of a page plus one is EINVAL");
	map_fails(fd, file(0, page, tmpfd, 1), EINVAL, "file offset 1 is EINVAL");
	map_fails(fd, file(0, page, tmpfd, page / 2), EINVAL,
		  "file offset of half a page is EINVAL");

	map_fails(fd, anon(align, page), EINVAL, "a range starting at the region's end is EINVAL");
	map_fails(fd, anon(align - page, 2 * page), EINVAL,
		  "a range crossing the region's end is EINVAL");
	map_fails(fd, anon(0, align + page), EINVAL,
		  "a size larger than the region is EINVAL");
	map_fails(fd, anon(4 * align, page), EINVAL, "a range far outside the region is EINVAL");
	map_fails(fd, anon(top, page), EINVAL,
		  "region_offset UINT64_MAX & ~(page - 1) is EINVAL");
	map_fails(fd, anon(top, 2 * page), EINVAL,
		  "region_offset + size wrapping around to a page is EINVAL");
	map_fails(fd, anon(page, top), EINVAL, "size UINT64_MAX & ~(page - 1) is EINVAL");
	map_fails(fd, anon(align - page, (0 - (align - page)) + page), EINVAL,
		  "a size that wraps the end back inside the region is EINVAL");

	map_works(fd, anon(align - page, page), false, "the last page of the region can be mapped");
	c = anon(0, align);
	c.flags |= MAP_NORESERVE;
	map_works(fd, c, false, "the whole region can be mapped (MAP_NORESERVE)");
}

static void test_fds(int fd, const char *path, int tmpfd)
{
	char other_path[512], unsized_path[512], dir[600];
	struct mshare_create c;
	int other, unsized, ro, info, mnt, sub, pipefd[2], sv[2], tmpdir, rofile, wofile;

	/* MAP_ANONYMOUS takes fd -1 and offset 0. */
	c = anon(0, page);
	c.fd = 0;
	map_fails(fd, c, EINVAL, "MAP_ANONYMOUS with fd 0 is EINVAL");
	c.fd = tmpfd;
	map_fails(fd, c, EINVAL, "MAP_ANONYMOUS with a tmpfs fd is EINVAL");
	c = anon(0, page);
	c.offset = page;
	map_fails(fd, c, EINVAL, "MAP_ANONYMOUS with offset != 0 is EINVAL");
	c = file(0, HPAGE, tmpfd, 0);
	c.flags |= MAP_HUGETLB;
	map_fails(fd, c, EINVAL, "MAP_HUGETLB without MAP_ANONYMOUS is EINVAL");

	/* A file mapping needs an open file. */
	map_fails(fd, file(0, page, -1, 0), EBADF, "a file mapping with fd -1 is EBADF");
	c = file(0, page, dup(tmpfd), 0);
	close((int)c.fd);
	map_fails(fd, c, EBADF, "a file mapping with a closed fd is EBADF");
	map_fails(fd, file(0, page, 0x7fffffff, 0), EBADF,
		  "a file mapping with fd 0x7fffffff is EBADF");
	map_fails(fd, file(0, page, (int)0x80000000u, 0), EBADF,
		  "a file mapping with fd 0x80000000 is EBADF");

	/* Never an msharefs file. */
	map_fails(fd, file(0, page, fd, 0), EINVAL, "the region's own fd is EINVAL");
	other = region_new("map-other", other_path, sizeof(other_path), align);
	map_fails(fd, file(0, page, other, 0), EINVAL, "another region's fd is EINVAL");
	ro = open(other_path, O_RDONLY);
	c = file(0, page, ro, 0);
	c.prot = PROT_READ;
	map_fails(fd, c, EINVAL, "a read-only fd of another region is EINVAL");
	close(ro);
	unsized = region_new("map-other-unsized", unsized_path, sizeof(unsized_path), 0);
	map_fails(fd, file(0, page, unsized, 0), EINVAL, "an unsized region's fd is EINVAL");
	snprintf(dir, sizeof(dir), "%s/" MSHAREFS_INFO_NAME, mshare_mnt());
	info = open(dir, O_RDONLY);
	c = file(0, page, info, 0);
	c.prot = PROT_READ;
	map_fails(fd, c, EINVAL, "the mshare_info fd is EINVAL");
	close(info);
	mnt = open(mshare_mnt(), O_RDONLY | O_DIRECTORY);
	c.fd = mnt;
	map_fails(fd, c, EINVAL, "the msharefs root directory's fd is EINVAL");
	close(mnt);
	snprintf(dir, sizeof(dir), "%s.dir", path);
	rmdir(dir);
	if (!mkdir(dir, 0700)) {
		sub = open(dir, O_RDONLY | O_DIRECTORY);
		c.fd = sub;
		map_fails(fd, c, EINVAL, "an msharefs subdirectory's fd is EINVAL");
		close(sub);
		rmdir(dir);
	} else {
		tap_ok(false, "mkdir in msharefs (errno %d)", errno);
	}
	close(other);
	unlink(other_path);
	close(unsized);
	unlink(unsized_path);

	/* What mmap() cannot map is ENODEV, as mmap() says. */
	if (pipe(pipefd))
		tap_bail("pipe failed");
	c = file(0, page, pipefd[0], 0);
	c.prot = PROT_READ;
	map_fails(fd, c, ENODEV, "a pipe is ENODEV");
	close(pipefd[0]);
	close(pipefd[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair failed");
	map_fails(fd, file(0, page, sv[0], 0), ENODEV, "a unix socket is ENODEV");
	close(sv[0]);
	close(sv[1]);
	tmpdir = open("/tmp", O_RDONLY | O_DIRECTORY);
	c = file(0, page, tmpdir, 0);
	c.prot = PROT_READ;
	map_fails(fd, c, ENODEV, "a tmpfs directory is ENODEV");
	close(tmpdir);

	/* Access to the backing is checked as mmap() checks it. */
	rofile = reopen(tmpfd, O_RDONLY);
	map_fails(fd, file(0, page, rofile, 0), EACCES,
		  "PROT_WRITE on an O_RDONLY tmpfs file is EACCES");
	c = file(0, page, rofile, 0);
	c.prot = PROT_WRITE;
	map_fails(fd, c, EACCES, "PROT_WRITE alone on an O_RDONLY tmpfs file is EACCES");
	close(rofile);
	wofile = reopen(tmpfd, O_WRONLY);
	c = file(0, page, wofile, 0);
	c.prot = PROT_READ;
	map_fails(fd, c, EACCES, "an O_WRONLY tmpfs file is EACCES, as mmap() has it");
	close(wofile);
}

static void test_overlap(int fd)
{
	const uint64_t at = 8 * MiB;

	if (!map_works(fd, anon(at, HPAGE), true, "map 2 MiB at 8 MiB"))
		return;
	map_fails(fd, anon(at, HPAGE), EEXIST, "the same range again is EEXIST");
	map_fails(fd, anon(at, page), EEXIST, "its first page is EEXIST");
	map_fails(fd, anon(at + HPAGE - page, page), EEXIST, "its last page is EEXIST");
	map_fails(fd, anon(at + MiB, HPAGE), EEXIST, "a range over its end is EEXIST");
	map_fails(fd, anon(at - page, 2 * page), EEXIST, "a range over its start is EEXIST");
	map_fails(fd, anon(at - MiB, 2 * HPAGE), EEXIST, "a range covering it is EEXIST");
	map_works(fd, anon(at - page, page), false, "the page just before it is free");
	map_works(fd, anon(at + HPAGE, page), false, "the page just after it is free");
	TAP_SUCCESS(region_unmap(fd, at, HPAGE), "unmap it");
	map_works(fd, anon(at, HPAGE), false, "after UNMAP the range can be mapped again");
}

/* A memory BAR of a PCI device: its sysfs resource file maps as VM_PFNMAP | VM_IO. */
static int pci_bar_fd(char *path, size_t len)
{
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/devices");
	int fd = -1;

	if (!d)
		return -1;
	while (fd < 0 && (de = readdir(d))) {
		unsigned long long start, end, flags;
		char res[300], line[256];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(res, sizeof(res), "/sys/bus/pci/devices/%s/resource", de->d_name);
		f = fopen(res, "r");
		if (!f)
			continue;
		for (int bar = 0; bar < 6 && fd < 0 && fgets(line, sizeof(line), f); bar++) {
			if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3 ||
			    !(flags & 0x200) || !end || end - start + 1 < page ||
			    start % page)
				continue;
			snprintf(path, len, "/sys/bus/pci/devices/%s/resource%d",
				 de->d_name, bar);
			fd = open(path, O_RDWR);
		}
		fclose(f);
	}
	closedir(d);
	return fd;
}

/* Map one page of @bfd in this process: the proof that only msharefs refuses it. */
static bool plain_mmap_is(int bfd, uint64_t off, int prot, const char *flag)
{
	void *p = mmap(NULL, page, prot, MAP_SHARED, bfd, off);
	bool ok;

	if (p == MAP_FAILED)
		return false;
	ok = smaps_has_flag(p, flag);
	munmap(p, page);
	return ok;
}

static void test_unsafe_backings(int fd)
{
	struct io_uring_params params;
	struct mshare_create c;
	char path[300];
	int bfd;

	bfd = open("/dev/mem", O_RDWR);
	if (bfd >= 0 && plain_mmap_is(bfd, 0, PROT_READ, "pf")) {
		c = file(0, page, bfd, 0);
		c.prot = PROT_READ;
		map_fails(fd, c, EINVAL, "a /dev/mem backing (VM_PFNMAP) is EINVAL");
	} else {
		tap_skip("no mappable /dev/mem", "a /dev/mem backing (VM_PFNMAP) is EINVAL");
	}
	if (bfd >= 0)
		close(bfd);

	bfd = pci_bar_fd(path, sizeof(path));
	if (bfd >= 0 && plain_mmap_is(bfd, 0, PROT_READ, "pf")) {
		tap_diag("PCI BAR: %s", path);
		c = file(0, page, bfd, 0);
		c.prot = PROT_READ;
		map_fails(fd, c, EINVAL, "a PCI BAR resource file (VM_PFNMAP | VM_IO) is EINVAL");
		c.prot = RW;
		map_fails(fd, c, EINVAL, "... also read-write");
	} else {
		tap_skip("no mappable PCI memory BAR",
			 "a PCI BAR resource file (VM_PFNMAP | VM_IO) is EINVAL");
	}
	if (bfd >= 0)
		close(bfd);

	memset(&params, 0, sizeof(params));
	bfd = syscall(SYS_io_uring_setup, 4, &params);
	if (bfd >= 0 && plain_mmap_is(bfd, IORING_OFF_SQ_RING, RW, "mm")) {
		map_fails(fd, file(0, page, bfd, IORING_OFF_SQ_RING), EINVAL,
			  "an io_uring ring (VM_MIXEDMAP) is EINVAL");
	} else {
		tap_skip("no io_uring ring to map",
			 "an io_uring ring (VM_MIXEDMAP) is EINVAL");
	}
	if (bfd >= 0)
		close(bfd);
}

/* ---- hugetlb ---- */

static char huge_dir[64];
static long saved_nr_hugepages = -1;

static long read_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static bool write_long(const char *path, long val)
{
	char buf[64];
	int fd = open(path, O_WRONLY), n;
	bool ok;

	if (fd < 0)
		return false;
	n = snprintf(buf, sizeof(buf), "%ld\n", val);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok;
}

/*
 * Mount hugetlbfs under /tmp and reserve @want 2 MiB pages; false when
 * the pool cannot be had (the data checks are skipped then). The mount
 * is made even without pages: the size checks need no memory.
 */
static bool huge_setup(long want, bool *mounted)
{
	const char *nr = "/proc/sys/vm/nr_hugepages";

	*mounted = false;
	snprintf(huge_dir, sizeof(huge_dir), "/tmp/mshare-huge.XXXXXX");
	if (!mkdtemp(huge_dir))
		return false;
	if (mount("hugetlbfs", huge_dir, "hugetlbfs", 0, "pagesize=2M")) {
		tap_diag("cannot mount hugetlbfs: %s", strerror(errno));
		rmdir(huge_dir);
		return false;
	}
	*mounted = true;
	saved_nr_hugepages = read_long(nr);
	if (saved_nr_hugepages < 0)
		return false;
	if (saved_nr_hugepages < want)
		write_long(nr, want);
	if (meminfo_kb("HugePages_Free") < want) {
		tap_diag("could reserve only %ld huge pages", meminfo_kb("HugePages_Free"));
		return false;
	}
	return true;
}

static void huge_cleanup(bool mounted)
{
	if (mounted) {
		umount(huge_dir);
		rmdir(huge_dir);
	}
	if (saved_nr_hugepages >= 0)
		write_long("/proc/sys/vm/nr_hugepages", saved_nr_hugepages);
}

static void test_huge_sizes(int fd, int hfd)
{
	struct mshare_create c;

	c = anon(0, page);
	c.flags |= MAP_HUGETLB;
	map_fails(fd, c, EINVAL, "MAP_HUGETLB of one small page is EINVAL");
	c.size = HPAGE + page;
	map_fails(fd, c, EINVAL, "MAP_HUGETLB of 2 MiB + 4 KiB is EINVAL");
	c.size = HPAGE / 2;
	map_fails(fd, c, EINVAL, "MAP_HUGETLB of 1 MiB is EINVAL");
	c = anon(page, HPAGE);
	c.flags |= MAP_HUGETLB;
	map_fails(fd, c, EINVAL, "MAP_HUGETLB at a 4 KiB region_offset is EINVAL");
	c.region_offset = MiB;
	map_fails(fd, c, EINVAL, "MAP_HUGETLB at a 1 MiB region_offset is EINVAL");
	c = anon(0, HPAGE);
	c.flags |= MAP_HUGETLB | MAP_HUGE_1GB;
	if (!access("/sys/kernel/mm/hugepages/hugepages-1048576kB", F_OK))
		map_fails(fd, c, EINVAL, "MAP_HUGETLB | MAP_HUGE_1GB of 2 MiB is EINVAL");
	else
		tap_skip("no 1 GiB huge pages here",
			 "MAP_HUGETLB | MAP_HUGE_1GB of 2 MiB is EINVAL");

	if (hfd < 0) {
		tap_skip("no hugetlbfs", "hugetlbfs size checks");
		return;
	}
	map_fails(fd, file(0, page, hfd, 0), EINVAL, "a hugetlbfs file: one small page is EINVAL");
	map_fails(fd, file(0, HPAGE + page, hfd, 0), EINVAL,
		  "a hugetlbfs file: 2 MiB + 4 KiB is EINVAL");
	map_fails(fd, file(page, HPAGE, hfd, 0), EINVAL,
		  "a hugetlbfs file: a 4 KiB region_offset is EINVAL");
	map_fails(fd, file(MiB, HPAGE, hfd, 0), EINVAL,
		  "a hugetlbfs file: a 1 MiB region_offset is EINVAL");
	map_fails(fd, file(0, HPAGE, hfd, page), EINVAL,
		  "a hugetlbfs file: a 4 KiB file offset is EINVAL");
	c = file(0, HPAGE, hfd, 0);
	c.flags |= MAP_HUGETLB;
	map_fails(fd, c, EINVAL, "a hugetlbfs file with MAP_HUGETLB (no MAP_ANONYMOUS) is EINVAL");
}

/* ---- accepted backings, with data ---- */

/*
 * The region at @r shows the backing @bfd from @off for @len bytes:
 * what is written to the file is read through the region, what is
 * written through the region is read from the file.
 */
static void check_file_data(unsigned char *r, int bfd, uint64_t off, size_t len,
			    const char *what)
{
	unsigned char *buf = malloc(len);
	bool ok;

	if (!buf)
		tap_bail("out of memory");
	pattern(buf, len, 11);
	ok = pwrite(bfd, buf, len, off) == (ssize_t)len && touch_ok(r, TOUCH_READ) &&
	     is_pattern(r, len, 11);
	tap_ok(ok, "%s: data written to the file is read through the region", what);
	pattern(r, len, 23);
	memset(buf, 0, len);
	ok = pread(bfd, buf, len, off) == (ssize_t)len && is_pattern(buf, len, 23);
	tap_ok(ok, "%s: data written through the region is read from the file", what);
	free(buf);
}

/* Map @len of @bfd from @off at @at and check the data both ways. */
static void file_backing(int fd, unsigned char *base, uint64_t at, int bfd,
			 uint64_t off, size_t len, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: CREATE_MAPPING of %zu KiB at file offset %llu",
		 what, len >> 10, (unsigned long long)off);
	if (map_works(fd, file(at, len, bfd, off), true, msg))
		check_file_data(base + at, bfd, off, len, what);
}

static void anon_backing(int fd, unsigned char *base)
{
	int status;
	pid_t pid;

	tap_ok(touch_ok(base, TOUCH_READ) && is_zero(base, HPAGE),
	       "anonymous: new memory reads as zeros");
	pattern(base, HPAGE, 3);
	tap_ok(is_pattern(base, HPAGE, 3), "anonymous: what is written reads back");
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		if (!is_pattern(base, HPAGE, 3))
			_exit(1);
		pattern(base, HPAGE, 5);
		_exit(0);
	}
	tap_ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       !WEXITSTATUS(status) && is_pattern(base, HPAGE, 5),
	       "anonymous: a forked child reads the data and its writes are seen");

	/* PROT_NONE memory is there, but not accessible. */
	{
		struct mshare_create c = anon(12 * MiB, page);

		c.prot = PROT_NONE;
		if (map_works(fd, c, true, "PROT_NONE anonymous memory"))
			tap_ok(touch_segv(base + 12 * MiB, TOUCH_READ, -1),
			       "reading PROT_NONE memory through the region is SIGSEGV");
	}
}

/* File backings, mapped while the region is attached: they show up at once. */
static void file_backings(int fd, unsigned char *base)
{
	const char *disk = getenv("VM_DISK");
	struct mshare_create c;
	unsigned char buf[64];
	int bfd, ro;

	bfd = tmp_file("/tmp", 64 * 1024);
	if (bfd < 0)
		tap_bail("cannot create a tmpfs file");
	file_backing(fd, base, 4 * MiB, bfd, 16 * 1024, 32 * 1024, "tmpfs file");

	ro = reopen(bfd, O_RDONLY);
	c = file(5 * MiB, 4 * page, ro, 0);
	c.prot = PROT_READ;
	if (map_works(fd, c, true, "an O_RDONLY tmpfs file with PROT_READ is accepted")) {
		pattern(buf, sizeof(buf), 41);
		tap_ok(pwrite(bfd, buf, sizeof(buf), 0) == sizeof(buf) &&
		       touch_ok(base + 5 * MiB, TOUCH_READ) &&
		       is_pattern(base + 5 * MiB, sizeof(buf), 41),
		       "read-only tmpfs file: its data is read through the region");
		tap_ok(touch_segv(base + 5 * MiB + page, TOUCH_WRITE, SEGV_ACCERR),
		       "read-only tmpfs file: a write through the region is SIGSEGV (SEGV_ACCERR)");
	}
	close(ro);
	close(bfd);

	bfd = memfd_create("mshare-map", MFD_CLOEXEC);
	if (bfd >= 0 && !ftruncate(bfd, 64 * 1024))
		file_backing(fd, base, 6 * MiB, bfd, 0, 64 * 1024, "memfd");
	else
		tap_ok(false, "memfd_create (errno %d)", errno);
	if (bfd >= 0)
		close(bfd);

	bfd = disk ? tmp_file(disk, 256 * 1024) : -1;
	if (bfd >= 0)
		file_backing(fd, base, 7 * MiB, bfd, 128 * 1024, 128 * 1024, "ext4 file");
	else
		tap_skip("no $VM_DISK", "ext4 file backing");
	if (bfd >= 0)
		close(bfd);
}

/* A hugetlbfs file (4 MiB, the second huge page mapped) and anonymous MAP_HUGETLB. */
static void huge_backings(int fd, unsigned char *base, int hfd)
{
	unsigned char *view, *buf;
	struct mshare_create c;
	int status;
	long before;
	pid_t pid;

	view = mmap(NULL, 2 * HPAGE, RW, MAP_SHARED, hfd, 0);
	buf = malloc(HPAGE);
	if (view == MAP_FAILED || !buf)
		tap_bail("cannot map the hugetlbfs file");
	if (map_works(fd, file(64 * MiB, HPAGE, hfd, HPAGE), true,
		      "hugetlbfs file: CREATE_MAPPING of 2 MiB at file offset 2 MiB")) {
		pattern(view + HPAGE, HPAGE, 13);
		tap_ok(touch_ok(base + 64 * MiB, TOUCH_READ) &&
		       is_pattern(base + 64 * MiB, HPAGE, 13),
		       "hugetlbfs file: data written to the file is read through the region");
		pattern(base + 64 * MiB, HPAGE, 17);
		tap_ok(pread(hfd, buf, HPAGE, HPAGE) == (ssize_t)HPAGE &&
		       is_pattern(buf, HPAGE, 17) && is_pattern(view + HPAGE, HPAGE, 17),
		       "hugetlbfs file: data written through the region is read from the file");
	}
	munmap(view, 2 * HPAGE);
	free(buf);

	c = anon(96 * MiB, 2 * HPAGE);
	c.flags |= MAP_HUGETLB;
	if (map_works(fd, c, true, "anonymous MAP_HUGETLB: CREATE_MAPPING of 4 MiB")) {
		before = meminfo_kb("HugePages_Free");
		pattern(base + 96 * MiB, 2 * HPAGE, 29);
		tap_ok(is_pattern(base + 96 * MiB, 2 * HPAGE, 29),
		       "anonymous MAP_HUGETLB: what is written reads back");
		tap_ok(meminfo_kb("HugePages_Free") == before - 2,
		       "anonymous MAP_HUGETLB: the memory comes from the huge page pool "
		       "(%ld -> %ld free)",
		       before, meminfo_kb("HugePages_Free"));
		pid = fork();
		if (pid < 0)
			tap_bail("fork failed");
		if (!pid)
			_exit(!is_pattern(base + 96 * MiB, 2 * HPAGE, 29));
		tap_ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		       !WEXITSTATUS(status),
		       "anonymous MAP_HUGETLB: a forked child reads the data");
	}
	c = anon(100 * MiB, HPAGE);
	c.flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	if (map_works(fd, c, true, "anonymous MAP_HUGETLB | MAP_HUGE_2MB: CREATE_MAPPING")) {
		pattern(base + 100 * MiB, HPAGE, 31);
		tap_ok(is_pattern(base + 100 * MiB, HPAGE, 31),
		       "anonymous MAP_HUGETLB | MAP_HUGE_2MB: what is written reads back");
	}
}

static void test_backings(void)
{
	bool mounted, have_pages;
	unsigned char *base;
	char path[512];
	int fd, hfd = -1;

	have_pages = huge_setup(8, &mounted);
	if (mounted)
		hfd = tmp_file(huge_dir, 2 * HPAGE);

	fd = region_new("map-data", path, sizeof(path), align);
	test_huge_sizes(fd, hfd);

	/* Anonymous memory is mapped before the attach, the rest after. */
	if (!map_works(fd, anon(0, HPAGE), true, "anonymous: CREATE_MAPPING of 2 MiB"))
		goto out;
	base = region_attach(fd, align, RW);
	if (base == MAP_FAILED)
		tap_diag("attach: %s", strerror(errno));
	if (!tap_ok(base != MAP_FAILED, "attach the region read-write"))
		goto out;
	anon_backing(fd, base);
	file_backings(fd, base);
	if (have_pages && hfd >= 0)
		huge_backings(fd, base, hfd);
	else
		tap_skip("no hugetlb pool", "hugetlbfs and MAP_HUGETLB backings");
	TAP_SUCCESS(munmap(base, align), "detach");
out:
	if (hfd >= 0)
		close(hfd);
	close(fd);
	unlink(path);
	/* The region, and the huge pages it held, are gone now. */
	huge_cleanup(mounted);
}

/* ---- UNMAP ---- */

static void test_unmap(void)
{
	const uint64_t top = UINT64_MAX & ~(page - 1);
	unsigned char *a, *b;
	char path[512];
	int fd, status;
	pid_t pid;

	fd = region_new("map-unmap", path, sizeof(path), align);
	TAP_ERRNO(region_unmap(fd, 1, page), EINVAL, "UNMAP: region_offset 1 is EINVAL");
	TAP_ERRNO(region_unmap(fd, page / 2, page), EINVAL,
		  "UNMAP: region_offset of half a page is EINVAL");
	TAP_ERRNO(region_unmap(fd, 0, 0), EINVAL, "UNMAP: size 0 is EINVAL");
	TAP_ERRNO(region_unmap(fd, 0, 1), EINVAL, "UNMAP: size 1 is EINVAL");
	TAP_ERRNO(region_unmap(fd, 0, page + 1), EINVAL,
		  "UNMAP: size of a page plus one is EINVAL");
	TAP_ERRNO(region_unmap(fd, align, page), EINVAL,
		  "UNMAP: a range starting at the region's end is EINVAL");
	TAP_ERRNO(region_unmap(fd, align - page, 2 * page), EINVAL,
		  "UNMAP: a range crossing the region's end is EINVAL");
	TAP_ERRNO(region_unmap(fd, 0, align + page), EINVAL,
		  "UNMAP: a size larger than the region is EINVAL");
	TAP_ERRNO(region_unmap(fd, top, 2 * page), EINVAL,
		  "UNMAP: region_offset + size wrapping around is EINVAL");
	TAP_ERRNO(region_unmap(fd, page, top), EINVAL,
		  "UNMAP: size UINT64_MAX & ~(page - 1) is EINVAL");
	TAP_SUCCESS(region_unmap(fd, 100 * MiB, HPAGE), "UNMAP of a hole succeeds");
	TAP_SUCCESS(region_unmap(fd, 0, align), "UNMAP of the whole empty region succeeds");

	if (!map_works(fd, anon(0, HPAGE), true, "map 2 MiB at region offset 0"))
		goto out;
	a = region_attach(fd, align, RW);
	b = region_attach(fd, align, RW);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		tap_ok(false, "attach the region twice (errno %d)", errno);
		goto out;
	}
	pattern(a, HPAGE, 7);
	tap_ok(is_pattern(b, HPAGE, 7), "the second attach sees the data");

	TAP_SUCCESS(region_unmap(fd, MiB, 64 * 1024), "UNMAP 64 KiB in the middle of the mapping");
	tap_ok(touch_segv(a + MiB + page, TOUCH_READ, SEGV_MAPERR),
	       "a read there is SIGSEGV, SEGV_MAPERR, at the address read");
	tap_ok(touch_segv(a + MiB, TOUCH_WRITE, SEGV_MAPERR),
	       "a write there is SIGSEGV, SEGV_MAPERR, at the address written");
	tap_ok(touch_segv(b + MiB + 64 * 1024 - page, TOUCH_READ, SEGV_MAPERR),
	       "the other attach gets SIGSEGV at its own address");
	tap_ok(is_pattern(a, MiB, 7), "the part before the hole is intact");
	tap_ok(touch_ok(a + MiB + 64 * 1024, TOUCH_READ) &&
	       is_pattern_from(a + MiB + 64 * 1024, MiB - 64 * 1024, 7, MiB + 64 * 1024),
	       "the part after the hole is intact");
	pid = fork();
	if (!pid) {
		struct touch t = touch(a + MiB + 2 * page, TOUCH_READ);

		_exit(!(t.faulted && t.sig == SIGSEGV && t.code == SEGV_MAPERR &&
			t.addr == a + MiB + 2 * page));
	}
	tap_ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	       "a forked child gets SIGSEGV (SEGV_MAPERR) there too");

	TAP_SUCCESS(region_unmap(fd, HPAGE - 64 * 1024, 2 * MiB),
		    "UNMAP of the mapping's tail and the hole after it");
	tap_ok(touch_segv(a + HPAGE - page, TOUCH_READ, SEGV_MAPERR),
	       "the unmapped tail is SIGSEGV, SEGV_MAPERR");
	tap_ok(touch_ok(a + HPAGE - 64 * 1024 - page, TOUCH_READ),
	       "the page before the tail is still readable");

	map_works(fd, anon(MiB, 64 * 1024), true, "map new memory where the hole was");
	tap_ok(touch_ok(b + MiB, TOUCH_READ) && is_zero(b + MiB, 64 * 1024) &&
	       is_zero(a + MiB, 64 * 1024),
	       "it reads as zeros in both attaches, never the old data");

	tap_ok(touch_segv(a + 300 * MiB, TOUCH_READ, SEGV_MAPERR),
	       "a never-mapped offset is SIGSEGV, SEGV_MAPERR");
	TAP_SUCCESS(region_unmap(fd, 0, align), "UNMAP of the whole region");
	tap_ok(touch_segv(a, TOUCH_READ, SEGV_MAPERR) &&
	       touch_segv(b + page, TOUCH_READ, SEGV_MAPERR),
	       "after it, the former mapping is SIGSEGV, SEGV_MAPERR, in both attaches");
	TAP_SUCCESS(munmap(a, align), "detach the first attach");
	TAP_SUCCESS(munmap(b, align), "detach the second attach");
out:
	close(fd);
	unlink(path);
}

int main(void)
{
	char path[512];
	int fd, tmpfd;

	require_msharefs();
	align = mshare_align_raw();
	page = sysconf(_SC_PAGESIZE);

	test_fd_checks();

	fd = region_new("map", path, sizeof(path), align);
	tmpfd = tmp_file("/tmp", 64 * 1024);
	if (tmpfd < 0)
		tap_bail("cannot create a tmpfs file");
	test_flags(fd);
	test_ranges(fd, tmpfd);
	test_fds(fd, path, tmpfd);
	test_overlap(fd);
	test_unsafe_backings(fd);
	close(tmpfd);
	close(fd);
	unlink(path);

	test_backings();
	test_unmap();

	return tap_done();
}
