// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Isolation between the users of a region (issue 8), where test-perm,
 * test-mount, test-ioctl, test-attach, test-refuse and test-gup stop:
 *
 * (a) a read-only attach cannot be written through the paths test-gup
 *     does not try: read(2) and readv(2) into it, write(2) to the
 *     process's own /proc/self/mem, PTRACE_POKEDATA, io_uring
 *     IORING_OP_READ and READV from a buffered and an O_DIRECT file,
 *     io_uring registration of a PROT_READ attach made through an O_RDWR
 *     fd (VM_MAYWRITE set), mprotect() to PROT_WRITE. Each path works on
 *     the read-write attach (the control) and its data shows through the
 *     read-only one; on the read-only one it fails and the read-write
 *     sharer sees the memory unchanged.
 * (b) a user holding only a read-only fd of another user's region, and a
 *     read-only attach, cannot change the region with valid arguments to
 *     any ioctl (EBADF), nor reopen its fd for writing through
 *     /proc/self/fd (EACCES): the data, the protection, the holes and
 *     the RSS are as they were.
 * (c) pagemap (DESIGN 4.3: page walkers see a container as a hole): to an
 *     unprivileged process its attach shows no present page and no PFN,
 *     while its ordinary shared mappings show present pages with the PFN
 *     zeroed, as for anyone without CAP_SYS_ADMIN (root sees the PFN);
 *     another user's pagemap cannot be opened.
 * (d) mounts: a bind mount is the same instance (same region, same inode,
 *     same permission checks); a read-only bind mount lets regions be
 *     opened and attached read-only only (EROFS, EACCES, EBADF); a noexec
 *     one refuses PROT_EXEC attaches (EPERM); an instance mounted for a
 *     user (uid=, gid=, mode=0700) keeps other users out of its regions.
 * (e) user namespaces: msharefs is not FS_USERNS_MOUNT, so the root of a
 *     user namespace cannot mount it nor remount an instance (EPERM), and
 *     gets no override on regions whose owner is not mapped in its
 *     namespace; a region it creates where its user may write belongs to
 *     that user. Skipped in kernels without CONFIG_USER_NS.
 *
 * The test runs in a mount namespace of its own: nothing it mounts
 * outlives it.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "guest.h"
#include "pattern.h"
#include "probe.h"
#include "uring.h"

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define MAP_LEN		(8 * MiB)	/* anonymous memory at region offset 0 */
#define HOLE		(16 * MiB)	/* nothing mapped there */
#define CHUNK		(64 * KiB)
#define RW		(PROT_READ | PROT_WRITE)

/* Another unprivileged user, besides TEST_UID. */
#define OTHER_UID	1000
#define OTHER_GID	1000

/* The chunks of region memory section (a) works in. */
enum {
	C_READ_RW, C_READ_RO, C_READV_RO, C_MEM_RW, C_MEM_RO, C_MEM_RO2,
	C_POKE_RW, C_POKE_RO, C_IOU_RW, C_IOU_RO, C_IOUV_RO, C_IOUD_RW,
	C_IOUD_RO, C_REG_RO2, C_MPROT_RO2, C_MPROT_RO, NR_CHUNKS
};

#define SEED(n)		(0x100 + (n))	/* what chunk n holds to begin with */
#define FILE_SEED	0x51		/* what the file holds */
#define B_SEED		0x200		/* all of MAP_LEN, before (b) */

static uint64_t align;
static char region[512];	/* root's, 0644, anonymous memory at 0 */
static uint8_t *rw;		/* read-write attach */
static uint8_t *ro;		/* PROT_READ attach through an O_RDONLY fd */
static uint8_t *ro2;		/* PROT_READ attach through an O_RDWR fd */

static uint8_t *chunk(uint8_t *attach, unsigned int n)
{
	return attach + n * CHUNK;
}

/* ---- (a) writes through a read-only attach ---- */

/* A control: the data of the file arrived at chunk @n and shows read-only. */
static void landed(unsigned int n, long ret, int err, const char *what)
{
	bool ok = ret == (long)CHUNK && is_pattern(chunk(rw, n), CHUNK, FILE_SEED) &&
		  is_pattern(chunk(ro, n), CHUNK, FILE_SEED);

	if (!ok)
		tap_diag("returned %ld (%s)", ret, ret < 0 ? strerror(err) : "-");
	tap_ok(ok, "%s, and the data shows through the read-only attach", what);
}

/* A write into chunk @n of a read-only attach: failed with @want or @alt, changed nothing. */
static void refused(unsigned int n, long ret, int err, int want, int alt, const char *what)
{
	bool same = is_pattern(chunk(rw, n), CHUNK, SEED(n));
	bool ok = ret == -1 && (err == want || err == alt) && same;

	if (!ok)
		tap_diag("returned %ld, errno %d (%s); the memory is %s", ret,
			 ret == -1 ? err : 0, ret == -1 ? strerror(err) : "-",
			 same ? "unchanged" : "CHANGED");
	tap_ok(ok, "%s, and the read-write sharer sees the memory unchanged", what);
}

/* As refused(), for an io_uring result (-errno). */
static void uring_refused(unsigned int n, int res, int want, const char *what)
{
	refused(n, res < 0 ? -1 : res, -res, want, want, what);
}

/* read(2), readv(2), /proc/self/mem; @src holds the file's data. */
static void test_syscalls(int ffd, const uint8_t *src)
{
	struct iovec iov = { chunk(ro, C_READV_RO), CHUNK };
	long ret;
	int mfd;

	errno = 0;
	ret = pread(ffd, chunk(rw, C_READ_RW), CHUNK, 0);
	landed(C_READ_RW, ret, errno, "(a) read(2) into the read-write attach works");
	errno = 0;
	ret = pread(ffd, chunk(ro, C_READ_RO), CHUNK, 0);
	refused(C_READ_RO, ret, errno, EFAULT, EFAULT,
		"(a) read(2) into the read-only attach is EFAULT");
	errno = 0;
	ret = preadv(ffd, &iov, 1, 0);
	refused(C_READV_RO, ret, errno, EFAULT, EFAULT, "(a) readv(2) into it is EFAULT");

	/* The process's own /proc/self/mem: a FOLL_FORCE write, which cannot write a shared mapping */
	mfd = open("/proc/self/mem", O_RDWR);
	if (mfd < 0)
		tap_bail("cannot open /proc/self/mem");
	errno = 0;
	ret = pwrite(mfd, src, CHUNK, (off_t)(uintptr_t)chunk(rw, C_MEM_RW));
	landed(C_MEM_RW, ret, errno, "(a) write(2) to /proc/self/mem at the read-write attach works");
	errno = 0;
	ret = pwrite(mfd, src, CHUNK, (off_t)(uintptr_t)chunk(ro, C_MEM_RO));
	refused(C_MEM_RO, ret, errno, EIO, EFAULT,
		"(a) write(2) to /proc/self/mem at the read-only attach is EIO or EFAULT");
	errno = 0;
	ret = pwrite(mfd, src, CHUNK, (off_t)(uintptr_t)chunk(ro2, C_MEM_RO2));
	refused(C_MEM_RO2, ret, errno, EIO, EFAULT,
		"(a) so is one at a PROT_READ attach through an O_RDWR fd (VM_MAYWRITE)");
	close(mfd);
}

/* PTRACE_POKEDATA into a forked child, which inherited the three attaches. */
static void test_ptrace(void)
{
	const long word = 0x0123456789abcdefL;
	int status;
	long ret, peek;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		tap_bail("the child to trace did not stop");

	errno = 0;
	ret = ptrace(PTRACE_POKEDATA, pid, chunk(rw, C_POKE_RW), (void *)word);
	tap_ok(!ret && *(volatile long *)chunk(rw, C_POKE_RW) == word &&
	       *(volatile long *)chunk(ro, C_POKE_RW) == word,
	       "(a) PTRACE_POKEDATA at the child's read-write attach works and shows here (%ld)",
	       ret);
	errno = 0;
	peek = ptrace(PTRACE_PEEKDATA, pid, chunk(ro, C_POKE_RO), NULL);
	tap_ok(peek == *(volatile long *)chunk(rw, C_POKE_RO),
	       "(a) PTRACE_PEEKDATA at its read-only attach reads the data");
	errno = 0;
	ret = ptrace(PTRACE_POKEDATA, pid, chunk(ro, C_POKE_RO), (void *)word);
	refused(C_POKE_RO, ret, errno, EIO, EFAULT,
		"(a) PTRACE_POKEDATA at its read-only attach is EIO or EFAULT");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* io_uring reads into the attaches, from a buffered and an O_DIRECT fd. */
static void test_uring(int ffd, int dfd)
{
	struct iovec iov = { chunk(ro, C_IOUV_RO), CHUNK };
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	int r;

	r = io_uring_queue_init(4, &ring, 0);
	if (r == -ENOSYS || r == -EPERM) {
		tap_skip("no io_uring", "(a) io_uring reads into a read-only attach");
		return;
	}
	if (r)
		tap_bail("io_uring_queue_init failed");

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, ffd, chunk(rw, C_IOU_RW), CHUNK, 0);
	r = uring_run(&ring);
	landed(C_IOU_RW, r, -r, "(a) IORING_OP_READ into the read-write attach works");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, ffd, chunk(ro, C_IOU_RO), CHUNK, 0);
	uring_refused(C_IOU_RO, uring_run(&ring), EFAULT,
		      "(a) IORING_OP_READ into the read-only attach is -EFAULT");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_readv(sqe, ffd, &iov, 1, 0);
	uring_refused(C_IOUV_RO, uring_run(&ring), EFAULT,
		      "(a) IORING_OP_READV into it is -EFAULT");

	/* O_DIRECT: the data goes through a write pin of the buffer */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, dfd, chunk(rw, C_IOUD_RW), CHUNK, 0);
	r = uring_run(&ring);
	landed(C_IOUD_RW, r, -r, "(a) O_DIRECT IORING_OP_READ into the read-write attach works");
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, dfd, chunk(ro, C_IOUD_RO), CHUNK, 0);
	uring_refused(C_IOUD_RO, uring_run(&ring), EFAULT,
		      "(a) O_DIRECT IORING_OP_READ into the read-only attach is -EFAULT");

	/* test-gup registers an O_RDONLY fd's attach; this one could be mprotect()ed writable. */
	iov.iov_base = chunk(ro2, C_REG_RO2);
	r = io_uring_register_buffers(&ring, &iov, 1);
	if (!r)
		io_uring_unregister_buffers(&ring);
	refused(C_REG_RO2, r < 0 ? -1 : r, -r, EFAULT, EFAULT,
		"(a) io_uring buffer registration of a PROT_READ attach through an O_RDWR fd is -EFAULT");
	io_uring_queue_exit(&ring);
}

/* mprotect() cannot make a read-only attach writable. */
static void test_mprotect(void)
{
	long ret;

	errno = 0;
	ret = mprotect(ro2, align, RW);
	refused(C_MPROT_RO2, ret, errno, EINVAL, EINVAL,
		"(a) mprotect(PROT_READ | PROT_WRITE) of a PROT_READ attach through an O_RDWR fd is EINVAL");
	tap_ok(probe_store((uint64_t *)chunk(ro2, C_MPROT_RO2), 1) &&
	       fault_code == SEGV_ACCERR && is_pattern(chunk(rw, C_MPROT_RO2), CHUNK, SEED(C_MPROT_RO2)),
	       "(a) a store through it is still SIGSEGV SEGV_ACCERR");
	errno = 0;
	ret = mprotect(ro, align, RW);
	refused(C_MPROT_RO, ret, errno, EACCES, EACCES,
		"(a) mprotect(PROT_READ | PROT_WRITE) of an attach through an O_RDONLY fd is EACCES");
	tap_ok(probe_store((uint64_t *)chunk(ro, C_MPROT_RO), 1) && fault_code == SEGV_ACCERR &&
	       is_pattern(chunk(rw, C_MPROT_RO), CHUNK, SEED(C_MPROT_RO)),
	       "(a) a store through it is still SIGSEGV SEGV_ACCERR");
}

/* ---- (b) a read-only sharer of another user ---- */

enum {
	B_MAP, B_UNMAP, B_PROTECT_RW, B_PROTECT_NONE, B_REMOVE, B_DONTNEED,
	B_REOPEN, NR_B
};

static const char *const b_what[NR_B] = {
	[B_MAP] = "MSHAREFS_CREATE_MAPPING of anonymous memory at a hole",
	[B_UNMAP] = "MSHAREFS_UNMAP of the mapped memory",
	[B_PROTECT_RW] = "MSHAREFS_PROTECT of it to PROT_READ | PROT_WRITE",
	[B_PROTECT_NONE] = "MSHAREFS_PROTECT of it to PROT_NONE",
	[B_REMOVE] = "MSHAREFS_ADVISE MADV_REMOVE of it",
	[B_DONTNEED] = "MSHAREFS_ADVISE MADV_DONTNEED of it",
	[B_REOPEN] = "reopening its fd O_RDWR through /proc/self/fd",
};

/* As TEST_UID: a bit set for each attempt that did not fail as it must. */
static int ro_sharer_changes(void *unused)
{
	char path[64];
	int fd, bad = 0, err[NR_B];
	long r[NR_B];
	void *p;

	(void)unused;
	prctl(PR_SET_DUMPABLE, 1);
	fd = open(region, O_RDONLY);
	if (fd < 0)
		return 200;
	p = region_attach(fd, align, PROT_READ);
	if (p == MAP_FAILED)
		return 201;
	r[B_MAP] = region_map_anon(fd, HOLE, CHUNK);
	err[B_MAP] = errno;
	r[B_UNMAP] = region_unmap(fd, 0, MAP_LEN);
	err[B_UNMAP] = errno;
	r[B_PROTECT_RW] = region_protect(fd, 0, MAP_LEN, RW);
	err[B_PROTECT_RW] = errno;
	r[B_PROTECT_NONE] = region_protect(fd, 0, MAP_LEN, PROT_NONE);
	err[B_PROTECT_NONE] = errno;
	r[B_REMOVE] = region_advise(fd, 0, MAP_LEN, MADV_REMOVE);
	err[B_REMOVE] = errno;
	r[B_DONTNEED] = region_advise(fd, 0, MAP_LEN, MADV_DONTNEED);
	err[B_DONTNEED] = errno;
	for (int i = 0; i < B_REOPEN; i++)
		if (r[i] != -1 || err[i] != EBADF)
			bad |= 1 << i;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (open(path, O_RDWR) >= 0 || errno != EACCES)
		bad |= 1 << B_REOPEN;
	if (!is_pattern(p, MAP_LEN, B_SEED))
		return 202;
	return bad;
}

static void test_ro_sharer(int fd)
{
	struct mshare_stats before, after;
	int bad;

	pattern(rw, MAP_LEN, B_SEED);
	region_stats(fd, &before);
	bad = as_user(TEST_UID, TEST_GID, ro_sharer_changes, NULL);
	if (bad < 0 || bad >= 1 << NR_B) {
		tap_diag("the read-only sharer stopped with status %d", bad);
		tap_ok(false, "(b) another user opens and attaches the 0644 region read-only and reads it");
		return;
	}
	tap_ok(true, "(b) another user opens and attaches the 0644 region read-only and reads it");
	for (int i = 0; i < NR_B; i++)
		tap_ok(!(bad & 1 << i), "(b) its %s is %s", b_what[i],
		       i == B_REOPEN ? "EACCES" : "EBADF");
	region_stats(fd, &after);
	tap_ok(is_pattern(rw, MAP_LEN, B_SEED) && after.rss_bytes == before.rss_bytes,
	       "(b) the data and the region's RSS are unchanged (%" PRIu64 " bytes)",
	       (uint64_t)after.rss_bytes);
	tap_ok(!probe_store((uint64_t *)rw, mix((uint64_t)B_SEED << 40)) && probe_load((uint64_t *)(rw + HOLE)) &&
	       fault_code == SEGV_MAPERR,
	       "(b) the memory is still writable here and the hole still a hole (SEGV_MAPERR)");
}

/* ---- (c) pagemap ---- */

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN		((1ULL << 55) - 1)
#define PM_PAGES	16

/* The pagemap entries of @n pages at @p; false if unreadable. */
static bool pagemap(const void *p, uint64_t *pm, size_t n)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t got;

	if (fd < 0)
		return false;
	got = pread(fd, pm, n * 8, (uintptr_t)p / 4096 * 8);
	close(fd);
	return got == (ssize_t)(n * 8);
}

/* A MAP_SHARED memfd mapping of @n touched pages; NULL on failure. */
static uint8_t *touched_memfd(size_t n)
{
	int mfd = memfd_create("isolation", 0);
	uint8_t *p;

	if (mfd < 0 || ftruncate(mfd, n * 4096))
		return NULL;
	p = mmap(NULL, n * 4096, RW, MAP_SHARED, mfd, 0);
	close(mfd);
	if (p == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i * 4096] = 1;
	return p;
}

enum { PM_ATTACH, PM_CONTROL, PM_OTHER, NR_PM };

static pid_t pm_root_pid;

/* As TEST_UID: a bit set for each pagemap check that fails. */
static int unprivileged_pagemap(void *unused)
{
	uint64_t pm[PM_PAGES];
	volatile uint8_t *p;
	uint8_t *m;
	char path[64];
	int fd, bad = 0;

	(void)unused;
	/* After setuid the process is not dumpable and its /proc files are root's */
	prctl(PR_SET_DUMPABLE, 1);
	fd = open(region, O_RDONLY);
	p = fd < 0 ? MAP_FAILED : region_attach(fd, align, PROT_READ);
	if (p == MAP_FAILED)
		return 200;
	for (size_t i = 0; i < PM_PAGES; i++)
		(void)p[i * 4096];
	if (!pagemap((const void *)p, pm, PM_PAGES))
		return 201;
	for (size_t i = 0; i < PM_PAGES; i++)
		if (pm[i] & (PM_PRESENT | PM_PFN))
			bad |= 1 << PM_ATTACH;

	m = touched_memfd(PM_PAGES);
	if (!m || !pagemap(m, pm, PM_PAGES))
		return 202;
	for (size_t i = 0; i < PM_PAGES; i++)
		if (!(pm[i] & PM_PRESENT) || (pm[i] & PM_PFN))
			bad |= 1 << PM_CONTROL;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pm_root_pid);
	fd = open(path, O_RDONLY);
	if (fd >= 0 || errno != EACCES)
		bad |= 1 << PM_OTHER;
	return bad;
}

static void test_pagemap(void)
{
	uint64_t pm[PM_PAGES];
	uint8_t *m = touched_memfd(PM_PAGES);
	bool pfn = m && pagemap(m, pm, PM_PAGES);
	int bad;

	for (size_t i = 0; pfn && i < PM_PAGES; i++)
		pfn = (pm[i] & PM_PRESENT) && (pm[i] & PM_PFN);
	tap_ok(pfn, "(c) control: root's pagemap shows the PFNs of a shared memfd mapping");
	if (m)
		munmap(m, PM_PAGES * 4096);

	pm_root_pid = getpid();
	bad = as_user(TEST_UID, TEST_GID, unprivileged_pagemap, NULL);
	if (bad < 0 || bad >= 1 << NR_PM) {
		tap_diag("the unprivileged process stopped with status %d", bad);
		bad = (1 << NR_PM) - 1;
	}
	tap_ok(!(bad & 1 << PM_ATTACH),
	       "(c) an unprivileged attacher's pagemap shows the pages it read through its attach as a hole: not present, PFN 0");
	tap_ok(!(bad & 1 << PM_CONTROL),
	       "(c) control: its shared memfd pages are present, with the PFN zeroed");
	tap_ok(!(bad & 1 << PM_OTHER),
	       "(c) it cannot open the pagemap of root's attached process (EACCES)");
}

/* ---- (d) mounts ---- */

static char dir_bind[] = "/tmp/mshare-iso-bind.XXXXXX";
static char dir_user[] = "/tmp/mshare-iso-user.XXXXXX";
static char secret[512];	/* root's 0600 region */
static char user_region[512];	/* TEST_UID's, in the instance mounted for it */

/* Bind the msharefs mount at dir_bind with @flags (MS_RDONLY, MS_NOEXEC) added. */
static bool bind_mount(unsigned long flags)
{
	if (mount(mshare_mnt(), dir_bind, NULL, MS_BIND, NULL))
		return false;
	if (flags && mount(NULL, dir_bind, NULL, MS_REMOUNT | MS_BIND | flags, NULL)) {
		umount(dir_bind);
		return false;
	}
	return true;
}

/* The path of root-directory entry @name of the msharefs mount, under dir_bind. */
static char *in_bind(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s%s", dir_bind, path + strlen(mshare_mnt()));
	return buf;
}

static int open_path(void *path)
{
	return open(path, O_RDONLY) < 0 ? errno : 0;
}

static void test_bind(int fd)
{
	char path[512], path2[512];
	struct stat st, st2;
	int bfd;

	if (!bind_mount(0))
		tap_bail("cannot bind-mount msharefs");
	tap_ok(!stat(in_bind(path, sizeof(path), region), &st) && !fstat(fd, &st2) &&
	       st.st_dev == st2.st_dev && st.st_ino == st2.st_ino,
	       "(d) a bind mount of the instance shows the region, the same inode");
	snprintf(path2, sizeof(path2), "%s/bound.%d", mshare_mnt(), (int)getpid());
	bfd = open(in_bind(path, sizeof(path), path2), O_RDWR | O_CREAT | O_EXCL, 0600);
	tap_ok(bfd >= 0 && !access(path2, F_OK),
	       "(d) a region created through the bind mount is in the instance");
	if (bfd >= 0)
		close(bfd);
	unlink(path2);
	tap_ok(as_user(TEST_UID, TEST_GID, open_path, in_bind(path, sizeof(path), secret)) == EACCES,
	       "(d) another user cannot open root's 0600 region through it either (EACCES)");
	umount(dir_bind);
}

static void test_bind_rdonly(void)
{
	char path[512], path2[512];
	struct mshare_protect prot = { 0, CHUNK, PROT_READ, 0 };
	uint8_t *p;
	int rofd;

	if (!bind_mount(MS_RDONLY))
		tap_bail("cannot bind-mount msharefs read-only");
	in_bind(path, sizeof(path), region);
	TAP_ERRNO(open(path, O_RDWR), EROFS, "(d) read-only bind mount: open O_RDWR is EROFS");
	snprintf(path2, sizeof(path2), "%s/new.%d", dir_bind, (int)getpid());
	TAP_ERRNO(open(path2, O_RDWR | O_CREAT | O_EXCL, 0600), EROFS,
		  "(d) read-only bind mount: creating a region is EROFS");
	TAP_ERRNO(mkdir(path2, 0700), EROFS, "(d) read-only bind mount: mkdir is EROFS");
	TAP_ERRNO(chmod(path, 0666), EROFS, "(d) read-only bind mount: chmod is EROFS");
	TAP_ERRNO(unlink(path), EROFS, "(d) read-only bind mount: unlink is EROFS");
	rofd = open(path, O_RDONLY);
	if (!tap_ok(rofd >= 0, "(d) read-only bind mount: open O_RDONLY works"))
		goto out;
	p = region_attach(rofd, align, PROT_READ);
	tap_ok(p != MAP_FAILED && is_pattern(p, MAP_LEN, B_SEED),
	       "(d) read-only bind mount: a PROT_READ attach works and reads the data");
	if (p != MAP_FAILED)
		munmap(p, align);
	TAP_ERRNO(region_attach(rofd, align, RW), EACCES,
		  "(d) read-only bind mount: a PROT_WRITE attach is EACCES");
	TAP_ERRNO(ioctl(rofd, MSHAREFS_PROTECT, &prot), EBADF,
		  "(d) read-only bind mount: MSHAREFS_PROTECT is EBADF");
	close(rofd);
out:
	umount(dir_bind);
}

static void test_bind_noexec(void)
{
	char path[512];
	uint8_t *p;
	int bfd;

	if (!bind_mount(MS_NOEXEC))
		tap_bail("cannot bind-mount msharefs noexec");
	bfd = open(in_bind(path, sizeof(path), region), O_RDWR);
	if (bfd < 0)
		tap_bail("cannot open the region through the noexec mount");
	TAP_ERRNO(region_attach(bfd, align, PROT_READ | PROT_EXEC), EPERM,
		  "(d) noexec bind mount: a PROT_EXEC attach is EPERM");
	p = region_attach(bfd, align, RW);
	tap_ok(p != MAP_FAILED && is_pattern(p, MAP_LEN, B_SEED),
	       "(d) noexec bind mount: a read-write attach works");
	if (p != MAP_FAILED)
		munmap(p, align);
	close(bfd);
	umount(dir_bind);
}

/* As TEST_UID, in the instance mounted for it: a region with data. */
static int make_user_region(void *unused)
{
	uint8_t *p;
	int fd;

	(void)unused;
	fd = open(user_region, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 1;
	if (ftruncate(fd, align) || region_map_anon(fd, 0, CHUNK))
		return 2;
	p = region_attach(fd, align, RW);
	if (p == MAP_FAILED)
		return 3;
	pattern(p, CHUNK, 0x300);
	return 0;
}

static int create_in(void *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/other", (char *)dir);
	return open(path, O_RDWR | O_CREAT | O_EXCL, 0600) < 0 ? errno : 0;
}

static void test_user_instance(void)
{
	struct stat st;
	uint8_t *p;
	int fd;

	if (mount("msharefs", dir_user, "msharefs", 0, "mode=0700,uid=65534,gid=65534"))
		tap_bail("cannot mount an instance for the test user");
	snprintf(user_region, sizeof(user_region), "%s/db", dir_user);
	tap_ok(as_user(TEST_UID, TEST_GID, make_user_region, NULL) == 0,
	       "(d) in an instance mounted with uid=65534,gid=65534,mode=0700, that user creates, sizes, maps and fills a region");
	tap_ok(!stat(user_region, &st) && st.st_uid == TEST_UID && st.st_gid == TEST_GID,
	       "(d) the region is the user's");
	tap_ok(as_user(OTHER_UID, OTHER_GID, open_path, user_region) == EACCES,
	       "(d) another user cannot open it (EACCES)");
	tap_ok(as_user(OTHER_UID, OTHER_GID, create_in, dir_user) == EACCES,
	       "(d) nor create a region in that instance (EACCES)");
	/* Root is root, as on any filesystem: CAP_DAC_OVERRIDE */
	fd = open(user_region, O_RDONLY);
	p = fd < 0 ? MAP_FAILED : region_attach(fd, align, PROT_READ);
	tap_ok(p != MAP_FAILED && is_pattern(p, CHUNK, 0x300),
	       "(d) root attaches it and reads the user's data");
	if (p != MAP_FAILED)
		munmap(p, align);
	if (fd >= 0)
		close(fd);
	unlink(user_region);
	TAP_SUCCESS(umount(dir_user), "(d) the user's instance unmounts");
}

/* ---- (e) user namespaces ---- */

enum {
	U_MOUNT, U_REMOUNT, U_SECRET, U_OPEN_RW, U_CREATE, U_CHMOD, U_UNLINK,
	U_OWN, NR_U
};

static const struct {
	const char *what;
	int want;	/* the errno, or 0 for success */
} u_case[NR_U] = {
	[U_MOUNT] = { "cannot mount msharefs (it is not FS_USERNS_MOUNT)", EPERM },
	[U_REMOUNT] = { "cannot remount the instance with mode=0777", EPERM },
	[U_SECRET] = { "cannot open root's 0600 region", EACCES },
	[U_OPEN_RW] = { "cannot open root's 0644 region O_RDWR", EACCES },
	[U_CREATE] = { "cannot create a region in root's 0755 directory", EACCES },
	[U_CHMOD] = { "cannot chmod root's region", EPERM },
	[U_UNLINK] = { "cannot unlink root's region", EACCES },
	[U_OWN] = { "creates, sizes, maps and attaches a region in its user's own directory", 0 },
};

/* What the user namespace's root found, in memory shared with the parent. */
struct userns_result {
	int setup_err;		/* errno of the namespace setup, 0 if it worked */
	const char *setup_step;
	int err[NR_U];
};

static char user_dir[256];
static struct userns_result *ur;

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* errno if @ret is -1, else 0 */
static int err_of(long ret)
{
	return ret == -1 ? errno : 0;
}

/* As TEST_UID: become root of a new user namespace and try what a root may. */
static int userns_root(void *unused)
{
	static const char *const maps[][2] = {
		{ "/proc/self/setgroups", "deny" },
		{ "/proc/self/uid_map", "0 65534 1" },
		{ "/proc/self/gid_map", "0 65534 1" },
	};
	char path[512];
	int fd;

	(void)unused;
	/* Not dumpable after setuid, its /proc/self files are root's: uid_map too */
	prctl(PR_SET_DUMPABLE, 1);
	ur->setup_step = "unshare(CLONE_NEWUSER | CLONE_NEWNS)";
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS)) {
		ur->setup_err = errno;
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		ur->setup_step = maps[i][0];
		if (!write_file(maps[i][0], maps[i][1])) {
			ur->setup_err = errno;
			return 1;
		}
	}
	ur->setup_step = "geteuid() == 0";
	if (geteuid() != 0) {
		ur->setup_err = EPERM;
		return 1;
	}

	ur->err[U_MOUNT] = err_of(mount("msharefs", dir_bind, "msharefs", 0, NULL));
	ur->err[U_REMOUNT] = err_of(mount(NULL, mshare_mnt(), NULL, MS_REMOUNT, "mode=0777"));
	ur->err[U_SECRET] = err_of(open(secret, O_RDONLY));
	ur->err[U_OPEN_RW] = err_of(open(region, O_RDWR));
	snprintf(path, sizeof(path), "%s/userns.%d", mshare_mnt(), (int)getpid());
	ur->err[U_CREATE] = err_of(open(path, O_RDWR | O_CREAT | O_EXCL, 0600));
	ur->err[U_CHMOD] = err_of(chmod(region, 0666));
	ur->err[U_UNLINK] = err_of(unlink(region));

	snprintf(path, sizeof(path), "%s/ns-region", user_dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, align) || region_map_anon(fd, 0, CHUNK) ||
	    region_attach(fd, align, RW) == MAP_FAILED)
		ur->err[U_OWN] = errno ? errno : EIO;
	return 0;
}

static void test_userns(void)
{
	static const char knob[] = "/proc/sys/kernel/unprivileged_userns_clone";
	char path[512], knob_was = 0;
	struct stat st;
	int fd;

	/* /proc/PID/ns/user exists only with CONFIG_USER_NS */
	if (access("/proc/self/ns/user", F_OK)) {
		tap_skip("the kernel has no CONFIG_USER_NS", "(e) the root of a user namespace");
		return;
	}
	/* Debian's switch for unprivileged user namespaces: on for the test */
	fd = open(knob, O_RDWR);
	if (fd >= 0 && (read(fd, &knob_was, 1) != 1 || pwrite(fd, "1", 1, 0) != 1))
		tap_bail("cannot enable unprivileged user namespaces");

	ur = mmap(NULL, sizeof(*ur), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ur == MAP_FAILED)
		tap_bail("out of memory");
	memset(ur, 0, sizeof(*ur));
	snprintf(user_dir, sizeof(user_dir), "%s/iso-user.%d", mshare_mnt(), (int)getpid());
	if (mkdir(user_dir, 0700) || chown(user_dir, TEST_UID, TEST_GID))
		tap_bail("cannot make the user's directory");
	if (as_user(TEST_UID, TEST_GID, userns_root, NULL) || ur->setup_err) {
		tap_diag("%s: %s", ur->setup_step ? ur->setup_step : "as_user",
			 strerror(ur->setup_err));
		tap_ok(false, "(e) an unprivileged user becomes root of a user namespace");
	} else {
		for (int i = 0; i < NR_U; i++) {
			if (u_case[i].want)
				tap_errno_is(ur->err[i] ? -1 : 0, ur->err[i], u_case[i].want,
					     "(e) the root of a user namespace %s (%s)",
					     u_case[i].what, strerrorname_np(u_case[i].want));
			else
				tap_success(ur->err[i] ? -1 : 0, ur->err[i],
					    "(e) the root of a user namespace %s", u_case[i].what);
		}
	}
	snprintf(path, sizeof(path), "%s/ns-region", user_dir);
	tap_ok(!stat(path, &st) && st.st_uid == TEST_UID && st.st_gid == TEST_GID,
	       "(e) that region belongs to the user the namespace's root is");
	tap_ok(as_user(OTHER_UID, OTHER_GID, open_path, path) == EACCES,
	       "(e) another user cannot open it (EACCES)");
	unlink(path);
	rmdir(user_dir);
	munmap(ur, sizeof(*ur));
	if (fd >= 0) {
		if (pwrite(fd, &knob_was, 1, 0) != 1)
			tap_diag("cannot restore %s", knob);
		close(fd);
	}
}

int main(void)
{
	const char *disk = getenv("VM_DISK");
	char fpath[512];
	uint8_t *src;
	int fd, rofd, ffd, dfd, sfd;

	require_msharefs();
	align = mshare_align_raw();
	alarm(600);
	if (!disk || !*disk)
		disk = "/mnt/disk";
	probe_catch();

	/* Whatever this test mounts goes away with it. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		tap_bail("cannot make a mount namespace");
	if (!mkdtemp(dir_bind) || !mkdtemp(dir_user))
		tap_bail("mkdtemp failed");

	fd = region_new("isolation", region, sizeof(region), align);
	fchmod(fd, 0644);
	if (region_map_anon(fd, 0, MAP_LEN))
		tap_bail("cannot map memory into the region");
	rofd = open(region, O_RDONLY);
	rw = region_attach(fd, align, RW);
	ro = rofd < 0 ? MAP_FAILED : region_attach(rofd, align, PROT_READ);
	ro2 = region_attach(fd, align, PROT_READ);
	if (rw == MAP_FAILED || ro == MAP_FAILED || ro2 == MAP_FAILED)
		tap_bail("cannot attach the region three times");
	close(rofd);
	for (unsigned int n = 0; n < NR_CHUNKS; n++)
		pattern(chunk(rw, n), CHUNK, SEED(n));
	sfd = region_new("isolation-secret", secret, sizeof(secret), 0);
	close(sfd);

	/* The file the reads come from, on a disk that does O_DIRECT */
	snprintf(fpath, sizeof(fpath), "%s/isolation.%d", disk, (int)getpid());
	ffd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dfd = open(fpath, O_RDONLY | O_DIRECT);
	if (ffd < 0 || dfd < 0 || posix_memalign((void **)&src, 4096, CHUNK))
		tap_bail("cannot create a file on $VM_DISK");
	pattern(src, CHUNK, FILE_SEED);
	if (pwrite(ffd, src, CHUNK, 0) != (ssize_t)CHUNK || fsync(ffd))
		tap_bail("cannot write the file");

	test_syscalls(ffd, src);
	test_ptrace();
	test_uring(ffd, dfd);
	test_mprotect();
	test_ro_sharer(fd);
	test_pagemap();
	test_bind(fd);
	test_bind_rdonly();
	test_bind_noexec();
	test_user_instance();
	test_userns();

	close(ffd);
	close(dfd);
	unlink(fpath);
	free(src);
	munmap(rw, align);
	munmap(ro, align);
	munmap(ro2, align);
	close(fd);
	unlink(region);
	unlink(secret);
	rmdir(dir_bind);
	rmdir(dir_user);
	return tap_done();
}
