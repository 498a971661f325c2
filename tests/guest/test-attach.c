// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attaching a region with mmap() (issue 3 contract): every bad argument
 * (unsized region, wrong length, offset, MAP_PRIVATE, unaligned address,
 * PROT_WRITE on a read-only fd) fails with its errno; NULL, an aligned
 * hint, an aligned MAP_FIXED address and MAP_SHARED_VALIDATE work, every
 * attach sees the same memory, /proc/self/maps names the region, a
 * read-only attach is enforced on pages another attach made writable,
 * MAP_POPULATE leaves nothing to fault, fork inherits the attach, exec
 * drops it, and region memory is never executable through an attach
 * without PROT_EXEC.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "guest.h"

#define MiB		(1ULL << 20)
#define HPAGE		(2 * MiB)
#define RW		(PROT_READ | PROT_WRITE)
#define EXEC_OFFSET	HPAGE	/* region offset of the PROT_EXEC memory */

static uint64_t align, page;

/* ---- touching memory that may fault ---- */

struct touch {
	bool faulted;
	int sig, code;
	void *addr;
};

enum { TOUCH_READ, TOUCH_WRITE, TOUCH_EXEC };

static sigjmp_buf touch_jmp;
static siginfo_t touch_info;

static void touch_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	touch_info = *si;
	siglongjmp(touch_jmp, 1);
}

/* Read, write or call @p, catching SIGSEGV and SIGBUS. */
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
		else if (how == TOUCH_EXEC)
			((void (*)(void))p)();
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

static const char *how_name(int how)
{
	return how == TOUCH_WRITE ? "writing" : how == TOUCH_EXEC ? "calling" : "reading";
}

/* @p faults with SIGSEGV at @p, with si_code @code (any if negative). */
static bool touch_segv(void *p, int how, int code)
{
	struct touch t = touch(p, how);
	bool ok = t.faulted && t.sig == SIGSEGV && t.addr == p &&
		  (code < 0 || t.code == code);

	if (!ok)
		tap_diag("%s %p: %s, signal %d, si_code %d, si_addr %p", how_name(how), p,
			 t.faulted ? "faulted" : "no fault", t.sig, t.code, t.addr);
	else if (code < 0)
		tap_diag("%s %p: SIGSEGV, si_code %d", how_name(how), p, t.code);
	return ok;
}

static bool touch_ok(void *p, int how)
{
	struct touch t = touch(p, how);

	if (t.faulted)
		tap_diag("%s %p: signal %d, si_code %d, si_addr %p", how_name(how), p,
			 t.sig, t.code, t.addr);
	return !t.faulted;
}

/* ---- data ---- */

static unsigned char pat(size_t i, unsigned int seed)
{
	return (unsigned char)(i * 7 + seed + (i >> 12));
}

static void pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(i, seed);
}

static bool is_pattern(const volatile unsigned char *buf, size_t len,
		       unsigned int seed)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pat(i, seed)) {
			tap_diag("byte %zu at %p is %#x, wanted %#x", i, (void *)&buf[i],
				 buf[i], pat(i, seed));
			return false;
		}
	}
	return true;
}

/* ---- attach helpers ---- */

static bool aligned(const void *p)
{
	return !((uintptr_t)p & (align - 1));
}

/* mmap() must fail with @want; should it succeed, the mapping is removed again. */
static void attach_fails(void *addr, uint64_t len, int prot, int flags, int fd,
			 off_t off, int want, const char *what)
{
	void *p;
	int err;

	errno = 0;
	p = mmap(addr, len, prot, flags, fd, off);
	err = errno;
	if (p != MAP_FAILED) {
		tap_diag("mapped at %p", p);
		munmap(p, len);
	}
	tap_errno_is(p == MAP_FAILED ? -1 : 0, err, want, "%s", what);
}

/* mmap() must succeed: the new attach, or NULL after a failed check. */
static unsigned char *attach_works(void *addr, int prot, int flags, int fd,
				   const char *what)
{
	void *p;
	int err;

	errno = 0;
	p = mmap(addr, align, prot, flags, fd, 0);
	err = errno;
	tap_success(p == MAP_FAILED ? -1 : 0, err, "%s", what);
	return p == MAP_FAILED ? NULL : p;
}

/* An address with @n * align free bytes above it, aligned to align. */
static unsigned char *free_aligned(unsigned int n)
{
	size_t len = (n + 1) * align;
	unsigned char *r = mmap(NULL, len, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (r == MAP_FAILED)
		tap_bail("cannot reserve address space");
	a = ((uintptr_t)r + align - 1) & ~(uintptr_t)(align - 1);
	munmap(r, len);
	return (unsigned char *)a;
}

/* The /proc/self/maps line starting at @p, or an empty string. */
static bool maps_line(const void *p, char *line, size_t len)
{
	char head[64];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	line[0] = '\0';
	if (!f)
		return false;
	snprintf(head, sizeof(head), "%lx-", (unsigned long)p);
	while (!found && fgets(line, len, f))
		found = !strncmp(line, head, strlen(head));
	fclose(f);
	if (!found)
		line[0] = '\0';
	return found;
}

/* ---- exec drops the attach ---- */

/*
 * Run after execve() by a child of the test, with the address the parent
 * attached at: nothing of msharefs is left, and ordinary memory
 * management works, at that very address too. Returns 0 or what failed.
 */
static int unaffected(const char *addr_arg)
{
	unsigned char *addr = (unsigned char *)strtoul(addr_arg, NULL, 16), *p;
	const char *mnt = mshare_mnt();
	char line[1024], link[600], target[512];
	FILE *f = fopen("/proc/self/maps", "r");
	ssize_t n;

	if (!f)
		return 10;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, mnt))
			return 2;
	fclose(f);
	for (int fd = 0; fd < 256; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strncmp(target, mnt, strlen(mnt)))
			return 3;
	}
	p = mmap(addr, HPAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != addr)
		return 4;
	pattern(p, HPAGE, 9);
	if (!is_pattern(p, HPAGE, 9))
		return 5;
	if (madvise(p, HPAGE, MADV_DONTNEED) || p[0] || p[HPAGE - 1])
		return 6;
	if (mprotect(p, page, PROT_READ) || munmap(p, HPAGE))
		return 7;
	p = mmap(NULL, HPAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 8;
	pattern(p, HPAGE, 19);
	if (!is_pattern(p, HPAGE, 19) || munmap(p, HPAGE))
		return 9;
	return 0;
}

static void test_exec_drops(const unsigned char *base)
{
	char arg[32];
	int status;
	pid_t pid;

	snprintf(arg, sizeof(arg), "%lx", (unsigned long)base);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		syscall(SYS_close_range, 3U, ~0U, 0U);
		execl("/proc/self/exe", "test-attach", "--unaffected", arg, (char *)NULL);
		_exit(1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		status = -1;
	else
		status = WEXITSTATUS(status);
	if (status)
		tap_diag("the exec'd child says %d", status);
	tap_ok(!status, "after exec, with no msharefs fd, a process has no attach and "
	       "ordinary mmap/madvise/mprotect/munmap work, at the old attach address too");
}

/* ---- the tests ---- */

static void test_bad_args(int fd, const char *path)
{
	unsigned char *a = free_aligned(2);
	int ro, wo;

	attach_fails(NULL, align - page, RW, MAP_SHARED, fd, 0, EINVAL,
		     "len = size - one page is EINVAL");
	attach_fails(NULL, align / 2, RW, MAP_SHARED, fd, 0, EINVAL, "len = size / 2 is EINVAL");
	attach_fails(NULL, page, RW, MAP_SHARED, fd, 0, EINVAL, "len = one page is EINVAL");
	attach_fails(NULL, align + page, RW, MAP_SHARED, fd, 0, EINVAL,
		     "len = size + one page is EINVAL");
	attach_fails(NULL, 2 * align, RW, MAP_SHARED, fd, 0, EINVAL, "len = 2 * size is EINVAL");
	attach_fails(NULL, align, RW, MAP_SHARED, fd, page, EINVAL, "offset one page is EINVAL");
	attach_fails(NULL, align, RW, MAP_SHARED, fd, HPAGE, EINVAL, "offset 2 MiB is EINVAL");
	attach_fails(NULL, align, RW, MAP_SHARED, fd, align, EINVAL, "offset = size is EINVAL");
	attach_fails(NULL, align, RW, MAP_PRIVATE, fd, 0, EINVAL, "MAP_PRIVATE is EINVAL");
	attach_fails(NULL, align, PROT_READ, MAP_PRIVATE, fd, 0, EINVAL,
		     "MAP_PRIVATE read-only is EINVAL");
	attach_fails(a + HPAGE, align, RW, MAP_SHARED, fd, 0, EINVAL,
		     "an address hint 2 MiB past an aligned free address is EINVAL");
	attach_fails(a + page, align, RW, MAP_SHARED, fd, 0, EINVAL,
		     "an address hint one page past an aligned free address is EINVAL");
	attach_fails(a + HPAGE, align, RW, MAP_SHARED | MAP_FIXED, fd, 0, EINVAL,
		     "MAP_FIXED 2 MiB past an aligned address is EINVAL");
	attach_fails(a + page, align, RW, MAP_SHARED | MAP_FIXED, fd, 0, EINVAL,
		     "MAP_FIXED one page past an aligned address is EINVAL");
	attach_fails(a + align / 2, align, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0, EINVAL,
		     "MAP_FIXED_NOREPLACE half the alignment past an aligned address is EINVAL");

	ro = open(path, O_RDONLY);
	attach_fails(NULL, align, RW, MAP_SHARED, ro, 0, EACCES,
		     "PROT_READ | PROT_WRITE on an O_RDONLY fd is EACCES");
	attach_fails(NULL, align, PROT_WRITE, MAP_SHARED, ro, 0, EACCES,
		     "PROT_WRITE on an O_RDONLY fd is EACCES");
	close(ro);
	wo = open(path, O_WRONLY);
	attach_fails(NULL, align, PROT_READ, MAP_SHARED, wo, 0, EACCES,
		     "an O_WRONLY fd is EACCES, as mmap() has it");
	close(wo);
}

/* Other attaches in this process: at an aligned MAP_FIXED address, at a hint, validated. */
static void test_more_attaches(int fd, unsigned char *base)
{
	unsigned char *a = free_aligned(2), *p;

	p = attach_works(a, RW, MAP_SHARED | MAP_FIXED, fd,
			 "MAP_FIXED at an aligned address works");
	if (p) {
		tap_ok(p == a, "it is at that address (%p)", (void *)p);
		tap_ok(touch_ok(p, TOUCH_READ) && is_pattern(p, HPAGE, 1),
		       "it sees the data of the first attach");
		pattern(p, HPAGE, 2);
		tap_ok(is_pattern(base, HPAGE, 2), "the first attach sees what it writes");
		TAP_SUCCESS(munmap(p, align), "detach it");
	}
	p = attach_works(a + align, RW, MAP_SHARED, fd, "an aligned address hint works");
	if (p) {
		tap_ok(aligned(p), "the attach is aligned (%p)", (void *)p);
		if (p != a + align)
			tap_diag("the kernel did not take the free hint %p", (void *)(a + align));
		tap_ok(touch_ok(p, TOUCH_READ) && is_pattern(p, HPAGE, 2), "it sees the data");
		munmap(p, align);
	}
	p = attach_works(NULL, RW, MAP_SHARED_VALIDATE, fd, "MAP_SHARED_VALIDATE works");
	if (p) {
		tap_ok(aligned(p) && touch_ok(p, TOUCH_READ) && is_pattern(p, HPAGE, 2),
		       "it is aligned and sees the data");
		munmap(p, align);
	}
	pattern(base, HPAGE, 1);
}

static void test_fork(unsigned char *base)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		char line[1024];

		if (!maps_line(base, line, sizeof(line)) || !is_pattern(base, HPAGE, 1))
			_exit(1);
		pattern(base, HPAGE, 4);
		_exit(0);
	}
	tap_ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	       "a forked child has the attach at the same address and reads the data");
	tap_ok(is_pattern(base, HPAGE, 4), "the parent sees what the child wrote");
	pattern(base, HPAGE, 1);
}

/* Pages that a read-write attach made present and dirty stay read-only here. */
static void test_read_only(int fd, const char *path, unsigned char *base)
{
	unsigned char *p;
	int ro;

	ro = open(path, O_RDONLY);
	p = attach_works(NULL, PROT_READ, MAP_SHARED, ro,
			 "a PROT_READ attach through an O_RDONLY fd works");
	close(ro);
	if (p) {
		tap_ok(aligned(p) && touch_ok(p, TOUCH_READ) && is_pattern(p, HPAGE, 1),
		       "it reads the data");
		tap_ok(touch_segv(p + page, TOUCH_WRITE, SEGV_ACCERR),
		       "a write to it is SIGSEGV, SEGV_ACCERR, at the address written");
		tap_ok(touch_segv(p, TOUCH_WRITE, SEGV_ACCERR) &&
		       touch_segv(p + HPAGE - 1, TOUCH_WRITE, SEGV_ACCERR),
		       "so are writes to its first and last mapped byte");
		tap_ok(is_pattern(base, HPAGE, 1), "the refused writes changed nothing");
		pattern(base, page, 6);
		tap_ok(is_pattern(p, page, 6), "it sees later writes of the read-write attach");
		pattern(base, page, 1);
		TAP_SUCCESS(munmap(p, align), "detach it");
	}
	p = attach_works(NULL, PROT_READ, MAP_SHARED, fd,
			 "a PROT_READ attach through an O_RDWR fd works");
	if (p) {
		tap_ok(touch_segv(p + 2 * page, TOUCH_WRITE, SEGV_ACCERR) &&
		       is_pattern(base, HPAGE, 1),
		       "a write to it is SIGSEGV, SEGV_ACCERR, and changes nothing");
		munmap(p, align);
	}
}

/* The faults this process took between two calls. */
static long faults_during(unsigned char *p, bool *faulted)
{
	struct rusage ru[2];
	struct touch t;

	memset(ru, 0, sizeof(ru));
	t = touch(ru, TOUCH_READ);	/* warm up the path below */
	getrusage(RUSAGE_SELF, &ru[0]);
	t = touch(p, TOUCH_READ);
	getrusage(RUSAGE_SELF, &ru[1]);
	*faulted = t.faulted;
	return (ru[1].ru_minflt - ru[0].ru_minflt) + (ru[1].ru_majflt - ru[0].ru_majflt);
}

static void test_populate(int fd)
{
	unsigned char *p;
	bool faulted;
	long n;

	p = attach_works(NULL, RW, MAP_SHARED | MAP_POPULATE, fd, "a MAP_POPULATE attach works");
	if (!p)
		return;
	n = faults_during(p + 3 * page, &faulted);
	tap_ok(!faulted && p[3 * page] == pat(3 * page, 1), "it reads the data");
	if (n)
		tap_diag("the first touch took %ld faults", n);
	tap_ok(!n, "touching a populated page through it takes no fault");
	munmap(p, align);

	/* For comparison only: the same without MAP_POPULATE. */
	p = mmap(NULL, align, RW, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED) {
		n = faults_during(p + 3 * page, &faulted);
		tap_diag("without MAP_POPULATE the first touch took %ld faults", n);
		munmap(p, align);
	}
}

#ifdef __x86_64__
/* Region memory mapped PROT_EXEC in the host is not executable through an attach. */
static void test_exec(int fd, unsigned char *base)
{
	unsigned char *p, *own;
	struct touch t;

	own = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (own == MAP_FAILED)
		tap_bail("cannot map an executable page");
	own[0] = 0xc3;	/* ret */
	t = touch(own, TOUCH_EXEC);
	tap_ok(!t.faulted, "control: calling a ret in an ordinary executable page returns");
	munmap(own, page);

	base[EXEC_OFFSET] = 0xc3;
	tap_ok(touch_segv(base + EXEC_OFFSET, TOUCH_EXEC, -1),
	       "calling into the read-write attach (no PROT_EXEC) is SIGSEGV at the target");
	p = attach_works(NULL, PROT_READ, MAP_SHARED, fd, "a PROT_READ attach");
	if (p) {
		tap_ok(touch_ok(p + EXEC_OFFSET, TOUCH_READ) && p[EXEC_OFFSET] == 0xc3,
		       "it reads the ret instruction");
		tap_ok(touch_segv(p + EXEC_OFFSET, TOUCH_EXEC, -1),
		       "calling into the PROT_READ attach is SIGSEGV at the target");
		munmap(p, align);
	}
}
#endif

int main(int argc, char **argv)
{
	char path[512], line[1024];
	unsigned char *base;
	struct mshare_create c;
	bool ok;
	int fd;

	page = sysconf(_SC_PAGESIZE);
	if (argc == 3 && !strcmp(argv[1], "--unaffected"))
		return unaffected(argv[2]);

	require_msharefs();
	align = mshare_align_raw();

	fd = region_new("attach-unsized", path, sizeof(path), 0);
	attach_fails(NULL, align, RW, MAP_SHARED, fd, 0, EINVAL,
		     "attaching an unsized region is EINVAL");
	attach_fails(NULL, page, PROT_READ, MAP_SHARED, fd, 0, EINVAL,
		     "attaching one page of an unsized region is EINVAL");
	close(fd);
	unlink(path);

	fd = region_new("attach", path, sizeof(path), align);
	if (region_map_anon(fd, 0, HPAGE))
		tap_bail("cannot map anonymous memory into the region");
	c = (struct mshare_create){
		.region_offset = EXEC_OFFSET,
		.size = HPAGE,
		.prot = PROT_READ | PROT_WRITE | PROT_EXEC,
		.flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS,
		.fd = (uint32_t)-1,
	};
	if (ioctl(fd, MSHAREFS_CREATE_MAPPING, &c))
		tap_bail("cannot map executable anonymous memory into the region");

	test_bad_args(fd, path);

	base = attach_works(NULL, RW, MAP_SHARED, fd, "a read-write attach at NULL works");
	if (!base)
		tap_bail("cannot attach");
	tap_ok(aligned(base), "it is aligned to the region alignment (%p)", (void *)base);
	if (!tap_ok(touch_ok(base, TOUCH_WRITE) && touch_ok(base + HPAGE - 1, TOUCH_WRITE),
		    "it can be written"))
		tap_bail("the attach is not usable");
	pattern(base, HPAGE, 1);
	tap_ok(is_pattern(base, HPAGE, 1), "what is written through it reads back");
	ok = maps_line(base, line, sizeof(line)) && strstr(line, path);
	line[strcspn(line, "\n")] = '\0';
	tap_ok(ok, "its /proc/self/maps line names the region: %s", line);
	tap_ok(touch_segv(base + 10 * HPAGE, TOUCH_READ, SEGV_MAPERR),
	       "a hole in the region is SIGSEGV, SEGV_MAPERR");

	test_more_attaches(fd, base);
	test_fork(base);
	test_read_only(fd, path, base);
	test_populate(fd);
	test_exec_drops(base);
#ifdef __x86_64__
	test_exec(fd, base);
#endif

	TAP_SUCCESS(munmap(base, align), "detach");
	tap_ok(touch_segv(base, TOUCH_READ, SEGV_MAPERR), "the old address is unmapped");
	base = attach_works(NULL, RW, MAP_SHARED, fd, "attach again");
	if (base) {
		tap_ok(touch_ok(base, TOUCH_READ) && is_pattern(base, HPAGE, 1),
		       "the data is still there");
		munmap(base, align);
	}
	close(fd);
	unlink(path);
	return tap_done();
}
