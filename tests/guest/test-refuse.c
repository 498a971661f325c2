// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the rest of mm may do to a container, the VMA of an attach (issue
 * 3 contract): partial munmap, mremap, mprotect, madvise,
 * process_madvise, mbind and userfaultfd registration are refused with
 * EINVAL and leave the container whole; munmap of all of it works; mlock
 * and mlockall succeed without locking it; page walkers (smaps, pagemap,
 * PAGEMAP_SCAN, mincore, clear_refs, move_pages, smaps_rollup) see it as
 * a hole.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <linux/userfaultfd.h>

#include "guest.h"

#define MiB		(1ULL << 20)
#define HPAGE		(2 * MiB)
#define RW		(PROT_READ | PROT_WRITE)
/* Untouched anonymous memory in the region: whatever faults it in shows in Shmem. */
#define UNTOUCHED_OFFSET	(1ULL << 30)
#define UNTOUCHED_SIZE		(64 * MiB)
#define UNTOUCHED_KB		((long)(UNTOUCHED_SIZE >> 10))

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MPOL_BIND
#define MPOL_BIND	2
#endif

/* linux/fs.h of 6.12; the build host's headers may predate it. */
#ifndef PAGEMAP_SCAN
struct page_region {
	uint64_t start, end, categories;
};

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_PRESENT		(1 << 3)
#endif

static uint64_t align, page;
static unsigned char *base;	/* the container the refusals are tried on */

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
			*(volatile char *)p = *(volatile char *)p;
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

static bool touch_ok(void *p, int how)
{
	struct touch t = touch(p, how);

	if (t.faulted)
		tap_diag("%s %p: signal %d, si_code %d, si_addr %p",
			 how == TOUCH_WRITE ? "writing" : "reading", p, t.sig, t.code, t.addr);
	return !t.faulted;
}

static bool touch_maperr(void *p)
{
	struct touch t = touch(p, TOUCH_READ);
	bool ok = t.faulted && t.sig == SIGSEGV && t.code == SEGV_MAPERR && t.addr == p;

	if (!ok)
		tap_diag("reading %p: %s, signal %d, si_code %d, si_addr %p", p,
			 t.faulted ? "faulted" : "no fault", t.sig, t.code, t.addr);
	return ok;
}

/* ---- data and /proc ---- */

static unsigned char pat(size_t i)
{
	return (unsigned char)(i * 7 + 1 + (i >> 12));
}

static void pattern(unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(i);
}

static bool is_pattern(const volatile unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != pat(i)) {
			tap_diag("byte %zu is %#x, wanted %#x", i, buf[i], pat(i));
			return false;
		}
	}
	return true;
}

/*
 * The smaps block of the mapping starting at @start: the value of @key
 * ("Rss:" ...) in kB, or the VmFlags line when @key is "VmFlags:".
 * Returns false if there is no such mapping.
 */
static bool smaps_get(const void *start, const char *key, char *out, size_t len)
{
	char line[512], head[64];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	out[0] = '\0';
	if (!f)
		return false;
	snprintf(head, sizeof(head), "%lx-", (unsigned long)start);
	while (!found && fgets(line, sizeof(line), f)) {
		if (!in) {
			in = !strncmp(line, head, strlen(head));
		} else if (!strncmp(line, key, strlen(key))) {
			snprintf(out, len, "%s", line + strlen(key));
			out[strcspn(out, "\n")] = '\0';
			found = true;
		} else if (!strncmp(line, "VmFlags:", 8)) {
			break;
		}
	}
	fclose(f);
	return found;
}

static long smaps_kb(const void *start, const char *key)
{
	char val[256];

	return smaps_get(start, key, val, sizeof(val)) ? strtol(val, NULL, 10) : -1;
}

static bool has_vmflag(const void *start, const char *flag)
{
	char val[256], *tok, *save;

	if (!smaps_get(start, "VmFlags:", val, sizeof(val)))
		return false;
	for (tok = strtok_r(val, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, flag))
			return true;
	return false;
}

static long status_kb(const char *key)
{
	char line[256];
	long val = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			val = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return val;
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

/* The /proc/self/maps line of @start spans exactly @len bytes. */
static bool maps_spans(const void *start, uint64_t len)
{
	unsigned long s, e;
	char line[1024];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%lx-%lx", &s, &e) == 2 &&
			s == (unsigned long)start && e - s == len;
	fclose(f);
	return found;
}

static bool maps_has(const void *start)
{
	unsigned long s, e;
	char line[1024];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%lx-%lx", &s, &e) == 2 && s <= (unsigned long)start &&
			(unsigned long)start < e;
	fclose(f);
	return found;
}

/* After a refusal: the container is whole, mapped as before, its data intact. */
static void check_intact(const char *after)
{
	bool whole = maps_spans(base, align);

	if (!whole)
		tap_diag("the container at %p is no longer one whole mapping", (void *)base);
	tap_ok(whole && touch_ok(base, TOUCH_READ) && touch_ok(base, TOUCH_WRITE) &&
	       is_pattern(base, HPAGE),
	       "after %s the container is whole and its data intact", after);
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

/* Ordinary shared memory, for the controls that show a call works elsewhere. */
static unsigned char *plain_shared(void)
{
	unsigned char *p = mmap(NULL, HPAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		tap_bail("cannot map ordinary shared memory");
	memset(p, 1, HPAGE);
	return p;
}

/* ---- refusals ---- */

static void test_munmap_part(void)
{
	TAP_ERRNO(munmap(base, page), EINVAL, "munmap of the first page is EINVAL");
	TAP_ERRNO(munmap(base + align / 2, page), EINVAL, "munmap of a middle page is EINVAL");
	TAP_ERRNO(munmap(base + align - page, page), EINVAL, "munmap of the last page is EINVAL");
	TAP_ERRNO(munmap(base, HPAGE), EINVAL, "munmap of the mapped 2 MiB is EINVAL");
	TAP_ERRNO(munmap(base + page, align - page), EINVAL,
		  "munmap of all but the first page is EINVAL");
	TAP_ERRNO(munmap(base, align - page), EINVAL, "munmap of all but the last page is EINVAL");
	TAP_ERRNO(munmap(base + align - page, 2 * page), EINVAL,
		  "munmap of the last page and the page after it is EINVAL");
	check_intact("partial munmaps");
}

static void test_mremap(void)
{
	unsigned char *to = free_aligned(1);

	TAP_ERRNO(mremap(base, align, 2 * align, 0), EINVAL, "mremap growing in place is EINVAL");
	TAP_ERRNO(mremap(base, align, 2 * align, MREMAP_MAYMOVE), EINVAL,
		  "mremap growing with MREMAP_MAYMOVE is EINVAL");
	TAP_ERRNO(mremap(base, align, align - page, 0), EINVAL,
		  "mremap shrinking by a page is EINVAL");
	TAP_ERRNO(mremap(base, align, align / 2, MREMAP_MAYMOVE), EINVAL,
		  "mremap shrinking to half is EINVAL");
	TAP_ERRNO(mremap(base, align, align, MREMAP_MAYMOVE | MREMAP_FIXED, to), EINVAL,
		  "mremap moving it whole to another aligned free address is EINVAL");
	TAP_ERRNO(mremap(base, HPAGE, HPAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to), EINVAL,
		  "mremap moving a part of it is EINVAL");
	TAP_ERRNO(mremap(base, 0, align, MREMAP_MAYMOVE), EINVAL,
		  "mremap with old_len 0 (duplicate) is EINVAL");
	TAP_ERRNO(mremap(base, 0, HPAGE, MREMAP_MAYMOVE), EINVAL,
		  "mremap duplicating 2 MiB of it is EINVAL");
	TAP_ERRNO(mremap(base, align, align, MREMAP_MAYMOVE | MREMAP_DONTUNMAP), EINVAL,
		  "mremap with MREMAP_DONTUNMAP is EINVAL");
	TAP_ERRNO(mremap(base, align, align, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, to),
		  EINVAL, "mremap with MREMAP_DONTUNMAP to an aligned address is EINVAL");
	tap_ok(!maps_has(to), "nothing was mapped at the target address");
	check_intact("mremaps");
}

static void test_mprotect(void)
{
	TAP_ERRNO(mprotect(base, align, PROT_READ), EINVAL,
		  "mprotect of all of it to PROT_READ is EINVAL");
	TAP_ERRNO(mprotect(base, align, PROT_NONE), EINVAL,
		  "mprotect of all of it to PROT_NONE is EINVAL");
	TAP_ERRNO(mprotect(base, align, RW), EINVAL,
		  "mprotect of all of it to its own protection is EINVAL");
	TAP_ERRNO(mprotect(base, page, PROT_READ), EINVAL, "mprotect of the first page is EINVAL");
	TAP_ERRNO(mprotect(base + align / 2, HPAGE, PROT_NONE), EINVAL,
		  "mprotect of a middle part is EINVAL");
	TAP_ERRNO(mprotect(base + align - page, page, RW | PROT_EXEC), EINVAL,
		  "mprotect of the last page to PROT_EXEC is EINVAL");
	check_intact("mprotects");
}

static void test_madvise(void)
{
	static const struct {
		int advice;
		const char *name;
	} advice[] = {
		{ MADV_DONTNEED, "MADV_DONTNEED" },
		{ MADV_FREE, "MADV_FREE" },
		{ MADV_REMOVE, "MADV_REMOVE" },
		{ MADV_WILLNEED, "MADV_WILLNEED" },
		{ MADV_COLD, "MADV_COLD" },
		{ MADV_PAGEOUT, "MADV_PAGEOUT" },
		{ MADV_POPULATE_READ, "MADV_POPULATE_READ" },
		{ MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE" },
		{ MADV_HUGEPAGE, "MADV_HUGEPAGE" },
		{ MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE" },
		{ MADV_COLLAPSE, "MADV_COLLAPSE" },
		{ MADV_DONTFORK, "MADV_DONTFORK" },
		{ MADV_DOFORK, "MADV_DOFORK" },
		{ MADV_MERGEABLE, "MADV_MERGEABLE" },
		{ MADV_UNMERGEABLE, "MADV_UNMERGEABLE" },
		{ MADV_DONTDUMP, "MADV_DONTDUMP" },
		{ MADV_DODUMP, "MADV_DODUMP" },
		{ MADV_WIPEONFORK, "MADV_WIPEONFORK" },
		{ MADV_KEEPONFORK, "MADV_KEEPONFORK" },
		{ MADV_NORMAL, "MADV_NORMAL" },
		{ MADV_RANDOM, "MADV_RANDOM" },
		{ MADV_SEQUENTIAL, "MADV_SEQUENTIAL" },
	};

	for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++)
		TAP_ERRNO(madvise(base, HPAGE, advice[i].advice), EINVAL,
			  "madvise(%s) of the mapped 2 MiB is EINVAL", advice[i].name);
	TAP_ERRNO(madvise(base, align, MADV_DONTNEED), EINVAL,
		  "madvise(MADV_DONTNEED) of all of it is EINVAL");
	TAP_ERRNO(madvise(base, align, MADV_POPULATE_WRITE), EINVAL,
		  "madvise(MADV_POPULATE_WRITE) of all of it is EINVAL");
	TAP_ERRNO(madvise(base + align / 2, HPAGE, MADV_WILLNEED), EINVAL,
		  "madvise(MADV_WILLNEED) of a hole in it is EINVAL");
	check_intact("madvise");
}

static void test_process_madvise(void)
{
	static const struct {
		int advice;
		const char *name;
	} advice[] = {
		{ MADV_COLD, "MADV_COLD" },
		{ MADV_PAGEOUT, "MADV_PAGEOUT" },
		{ MADV_WILLNEED, "MADV_WILLNEED" },
		{ MADV_COLLAPSE, "MADV_COLLAPSE" },
	};
	unsigned char *plain = plain_shared();
	struct iovec iov = { .iov_base = plain, .iov_len = HPAGE };
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	long ret;

	ret = pidfd < 0 ? -1 : syscall(SYS_process_madvise, pidfd, &iov, 1, MADV_COLD, 0);
	if (ret < 0) {
		tap_diag("process_madvise on ordinary memory: %s", strerror(errno));
		tap_skip("process_madvise does not work here", "process_madvise refusals");
	} else {
		iov.iov_base = base;
		for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++)
			TAP_ERRNO(syscall(SYS_process_madvise, pidfd, &iov, 1, advice[i].advice, 0),
				  EINVAL, "process_madvise(%s) of the mapped 2 MiB is EINVAL",
				  advice[i].name);
		check_intact("process_madvise");
	}
	if (pidfd >= 0)
		close(pidfd);
	munmap(plain, HPAGE);
}

static void test_mbind(void)
{
	unsigned long nodes = 1;
	unsigned char *plain = plain_shared();

	errno = 0;
	if (syscall(SYS_mbind, plain, HPAGE, MPOL_BIND, &nodes, 64, 0) && errno == ENOSYS) {
		tap_skip("no NUMA in this kernel (mbind is ENOSYS)", "mbind is EINVAL");
	} else {
		TAP_ERRNO(syscall(SYS_mbind, base, HPAGE, MPOL_BIND, &nodes, 64, 0), EINVAL,
			  "mbind(MPOL_BIND, node 0) of the mapped 2 MiB is EINVAL");
		TAP_ERRNO(syscall(SYS_mbind, base, align, MPOL_BIND, &nodes, 64, 0), EINVAL,
			  "mbind(MPOL_BIND, node 0) of all of it is EINVAL");
		check_intact("mbind");
	}
	munmap(plain, HPAGE);
}

static void test_userfaultfd(void)
{
	static const struct {
		uint64_t mode;
		const char *name;
	} modes[] = {
		{ UFFDIO_REGISTER_MODE_MISSING, "missing" },
		{ UFFDIO_REGISTER_MODE_WP, "wp" },
		{ UFFDIO_REGISTER_MODE_MINOR, "minor" },
	};
	struct uffdio_api api = { .api = UFFD_API };
	unsigned char *plain;
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		tap_diag("userfaultfd: %s", strerror(errno));
		tap_skip("no userfaultfd for this user", "userfaultfd registration is EINVAL");
		if (uffd >= 0)
			close(uffd);
		return;
	}
	plain = plain_shared();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)plain, .len = HPAGE },
			.mode = modes[i].mode,
		};
		struct uffdio_range range = reg.range;
		char what[128];

		snprintf(what, sizeof(what), "UFFDIO_REGISTER in %s mode is EINVAL", modes[i].name);
		if (ioctl(uffd, UFFDIO_REGISTER, &reg))
			tap_diag("(%s mode on ordinary shared memory fails too: %s)",
				 modes[i].name, strerror(errno));
		else
			ioctl(uffd, UFFDIO_UNREGISTER, &range);
		reg.range.start = (uintptr_t)base;
		TAP_ERRNO(ioctl(uffd, UFFDIO_REGISTER, &reg), EINVAL, "%s", what);
		reg.range.len = align;
		TAP_ERRNO(ioctl(uffd, UFFDIO_REGISTER, &reg), EINVAL,
			  "UFFDIO_REGISTER of all of it in %s mode is EINVAL", modes[i].name);
		/* Should a registration have been taken, do not leave faults waiting on it. */
		range.start = (uintptr_t)base;
		range.len = align;
		ioctl(uffd, UFFDIO_UNREGISTER, &range);
	}
	close(uffd);
	munmap(plain, HPAGE);
	check_intact("userfaultfd registrations");
}

/* ---- mlock ---- */

struct results {
	int n;
	struct {
		bool ok;
		char what[120], diag[120];
	} r[16];
};

static void result(struct results *res, bool ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (res->n >= 16)
		return;
	res->r[res->n].ok = ok;
	snprintf(res->r[res->n].what, sizeof(res->r[0].what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(res->r[res->n].diag, sizeof(res->r[0].diag), fmt, ap);
	va_end(ap);
	res->n++;
}

/* In a child: mlockall() with the container attached, then attach under MCL_FUTURE. */
static void mlockall_child(int fd, struct results *res)
{
	const long limit = 1024 * 1024;	/* kB: the container would be 512 GiB */
	long lck, shmem = meminfo_kb("Shmem");
	unsigned char *p;

	errno = 0;
	result(res, !mlockall(MCL_CURRENT | MCL_FUTURE),
	       "mlockall(MCL_CURRENT | MCL_FUTURE) with an attach succeeds", "errno %d", errno);
	lck = status_kb("VmLck");
	result(res, !has_vmflag(base, "lo") && lck >= 0 && lck < limit,
	       "... the container is not locked and VmLck does not count it", "VmLck %ld kB", lck);
	p = mmap(NULL, align, RW, MAP_SHARED, fd, 0);
	result(res, p != MAP_FAILED, "attaching under MCL_FUTURE succeeds", "errno %d", errno);
	if (p == MAP_FAILED)
		return;
	lck = status_kb("VmLck");
	result(res, !has_vmflag(p, "lo") && lck >= 0 && lck < limit,
	       "... the new container is not locked and VmLck does not count it",
	       "VmLck %ld kB", lck);
	result(res, touch_ok(p, TOUCH_READ) && is_pattern(p, HPAGE),
	       "... and it reads the data", "");
	result(res, meminfo_kb("Shmem") - shmem < UNTOUCHED_KB / 2,
	       "mlockall and the attach faulted no region memory in",
	       "Shmem %ld -> %ld kB", shmem, meminfo_kb("Shmem"));
	errno = 0;
	result(res, !munlockall(), "munlockall succeeds", "errno %d", errno);
	munmap(p, align);
}

static void test_mlock(int fd)
{
	long shmem = meminfo_kb("Shmem");
	struct results *res;
	int status;
	pid_t pid;

	if (status_kb("VmLck"))
		tap_diag("VmLck is %ld kB before any mlock", status_kb("VmLck"));
	TAP_SUCCESS(mlock(base, align), "mlock of the container succeeds");
	tap_ok(status_kb("VmLck") == 0, "VmLck stays 0 kB (%ld)", status_kb("VmLck"));
	tap_ok(!has_vmflag(base, "lo"), "the container is not VM_LOCKED");
	TAP_SUCCESS(mlock(base, HPAGE), "mlock of part of it succeeds");
	TAP_SUCCESS(mlock2(base, align, MLOCK_ONFAULT), "mlock2(MLOCK_ONFAULT) of it succeeds");
	tap_ok(status_kb("VmLck") == 0 && !has_vmflag(base, "lo") && !has_vmflag(base, "lf"),
	       "VmLck stays 0 kB and the container is neither locked nor lock-on-fault");
	TAP_SUCCESS(munlock(base, align), "munlock of it succeeds");
	TAP_SUCCESS(munlock(base + page, page), "munlock of a page of it succeeds");
	tap_ok(meminfo_kb("Shmem") - shmem < UNTOUCHED_KB / 2,
	       "mlock faulted no region memory in (Shmem %ld -> %ld kB)", shmem,
	       meminfo_kb("Shmem"));
	check_intact("mlock and munlock");

	res = mmap(NULL, sizeof(*res), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		tap_bail("cannot map the results page");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		mlockall_child(fd, res);
		_exit(0);
	}
	tap_ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	       "the mlockall child ran to the end");
	for (int i = 0; i < res->n; i++) {
		if (!res->r[i].ok && res->r[i].diag[0])
			tap_diag("%s", res->r[i].diag);
		tap_ok(res->r[i].ok, "%s", res->r[i].what);
	}
	munmap(res, sizeof(*res));
	check_intact("mlockall in a child");
}

/* ---- walkers ---- */

static void test_walkers(void)
{
	static uint64_t pm[512];
	static unsigned char vec[512];
	struct page_region regions[8];
	struct pm_scan_arg scan;
	char buf[4096];
	bool ok;
	int fd;
	long ret;
	ssize_t n;

	/* Every page of the 2 MiB is touched (present in the region). */
	for (size_t i = 0; i < HPAGE; i += page)
		(void)*(volatile unsigned char *)(base + i);

	tap_ok(smaps_kb(base, "Rss:") == 0, "smaps: Rss of the container is 0 kB (%ld)",
	       smaps_kb(base, "Rss:"));
	tap_ok(has_vmflag(base, "dd"), "smaps: the container's VmFlags have dd (VM_DONTDUMP)");

	fd = open("/proc/self/pagemap", O_RDONLY);
	n = fd < 0 ? -1 : pread(fd, pm, sizeof(pm), (uintptr_t)base / page * sizeof(pm[0]));
	ok = n == sizeof(pm);
	for (size_t i = 0; ok && i < 512; i++) {
		ok = !(pm[i] >> 62) && !(pm[i] & ((1ULL << 55) - 1));
		if (!ok)
			tap_diag("pagemap entry %zu is %#llx", i, (unsigned long long)pm[i]);
	}
	tap_ok(ok, "pagemap: the touched pages are not present and have no PFN");

	memset(&scan, 0, sizeof(scan));
	scan.size = sizeof(scan);
	scan.start = (uintptr_t)base;
	scan.end = (uintptr_t)base + 2 * HPAGE;
	scan.vec = (uintptr_t)regions;
	scan.vec_len = 8;
	scan.category_anyof_mask = PAGE_IS_PRESENT;
	scan.return_mask = PAGE_IS_PRESENT;
	errno = 0;
	ret = fd < 0 ? -1 : ioctl(fd, PAGEMAP_SCAN, &scan);
	if (ret)
		tap_diag("PAGEMAP_SCAN returned %ld (errno %d)", ret, errno);
	tap_ok(ret == 0, "PAGEMAP_SCAN: no present pages in the container");
	if (fd >= 0)
		close(fd);

	memset(vec, 0xff, sizeof(vec));
	errno = 0;
	ret = mincore(base, HPAGE, vec);
	ok = !ret;
	for (size_t i = 0; ok && i < sizeof(vec); i++)
		ok = !vec[i];
	if (!ok)
		tap_diag("mincore returned %ld (errno %d)", ret, errno);
	tap_ok(ok, "mincore: all 0 for the touched pages");
	memset(vec, 0xff, sizeof(vec));
	ok = !mincore(base + align / 2, HPAGE, vec);
	for (size_t i = 0; ok && i < sizeof(vec); i++)
		ok = !vec[i];
	tap_ok(ok, "mincore: all 0 for a hole in the container");

	for (int v = 1; v <= 5; v++) {
		char c = '0' + v;

		fd = open("/proc/self/clear_refs", O_WRONLY);
		errno = 0;
		ret = fd < 0 ? -1 : write(fd, &c, 1);
		tap_success(ret == 1 ? 0 : -1, errno,
			    "writing %c to /proc/self/clear_refs works", c);
		if (fd >= 0)
			close(fd);
	}
	check_intact("clear_refs");

	{
		void *pages[4] = { base, base + page, base + HPAGE - page, base + align / 2 };
		int status[4] = { 1, 1, 1, 1 };

		errno = 0;
		ret = syscall(SYS_move_pages, 0, 4, pages, NULL, status, 0);
		if (ret && errno == ENOSYS) {
			tap_skip("no NUMA in this kernel (move_pages is ENOSYS)",
				 "move_pages status query");
		} else {
			ok = (ret == -1 && errno == EFAULT) ||
			     (!ret && status[0] == -EFAULT && status[1] == -EFAULT &&
			      status[2] == -EFAULT && status[3] == -EFAULT);
			if (!ok)
				tap_diag("move_pages returned %ld (errno %d), status %d %d %d %d",
					 ret, errno, status[0], status[1], status[2], status[3]);
			tap_ok(ok, "move_pages status query: -EFAULT for container pages");
		}
	}

	fd = open("/proc/self/smaps_rollup", O_RDONLY);
	ok = fd >= 0;
	{
		size_t len = 0;

		while (ok && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
			len += n;
		ok = ok && n == 0 && len;
		buf[len] = '\0';
	}
	if (fd >= 0)
		close(fd);
	{
		char *rss = strstr(buf, "\nRss:");

		ok = ok && rss && strtol(rss + 5, NULL, 10) < (long)(align >> 10);
		tap_ok(ok, "/proc/self/smaps_rollup reads, and its Rss does not count "
		       "the container");
	}
	check_intact("the walkers");
}

/* ---- what is allowed: munmap of all of it ---- */

static void test_munmap_whole(int fd)
{
	unsigned char *r, *a;
	size_t rlen = 3 * align;

	TAP_SUCCESS(munmap(base, align), "munmap of exactly the container succeeds");
	/* Pages other than the first too: the flush must cover all of it. */
	tap_ok(!maps_has(base) && touch_maperr(base) && touch_maperr(base + page) &&
	       touch_maperr(base + HPAGE - page),
	       "it is gone (SEGV_MAPERR there, on every page touched before)");

	/* Attach inside a reservation with two pages to spare on both sides. */
	r = mmap(NULL, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		tap_bail("cannot reserve address space");
	a = (unsigned char *)(((uintptr_t)r + 2 * page + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(a, align, RW, MAP_SHARED | MAP_FIXED, fd, 0) != a) {
		tap_ok(false, "attach inside a reservation (errno %d)", errno);
	} else {
		TAP_SUCCESS(munmap(a - page, align + 2 * page),
			    "munmap of a range covering the container and a page either "
			    "side succeeds");
		tap_ok(!maps_has(a) && maps_has(a - page - 1) && !maps_has(a - page) &&
		       !maps_has(a + align) && maps_has(a + align + page),
		       "the container and the pages either side are gone, the rest stays");
	}
	if (mmap(a, align, RW, MAP_SHARED | MAP_FIXED, fd, 0) != a) {
		tap_ok(false, "attach inside a reservation again (errno %d)", errno);
	} else {
		TAP_SUCCESS(munmap(a, align + page),
			    "munmap from the container's start past its end succeeds");
		tap_ok(!maps_has(a), "the container is gone");
	}
	munmap(r, rlen);
}

int main(void)
{
	char path[512];
	int fd;

	require_msharefs();
	align = mshare_align_raw();
	page = sysconf(_SC_PAGESIZE);

	fd = region_new("refuse", path, sizeof(path), align);
	if (region_map_anon(fd, 0, HPAGE) ||
	    region_map_anon(fd, UNTOUCHED_OFFSET, UNTOUCHED_SIZE))
		tap_bail("cannot map anonymous memory into the region");
	base = region_attach(fd, align, RW);
	if (base == MAP_FAILED)
		tap_bail("cannot attach the region");
	if (!touch_ok(base, TOUCH_WRITE))
		tap_bail("the attach cannot be written");
	pattern(base, HPAGE);
	tap_ok(maps_spans(base, align) && is_pattern(base, HPAGE), "the container is set up");

	test_munmap_part();
	test_mremap();
	test_mprotect();
	test_madvise();
	test_process_madvise();
	test_mbind();
	test_userfaultfd();
	test_mlock(fd);
	test_walkers();
	test_munmap_whole(fd);

	close(fd);
	unlink(path);
	return tap_done();
}
