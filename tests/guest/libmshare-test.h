/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of the libmshare guest tests (test-libmshare-*.c): the mount
 * the library resolves relative names against, region names unique to
 * the process, return-value checks that say what came back, and touching
 * memory in a forked child, where a fault kills nothing but the child.
 *
 * Include it first, after defining _GNU_SOURCE.
 */
#ifndef LIBMSHARE_TEST_H
#define LIBMSHARE_TEST_H

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <libmshare.h>

#include "guest.h"

#define KiB	(1ULL << 10)
#define MiB	(1ULL << 20)
#define GiB	(1ULL << 30)
#define TiB	(1ULL << 40)
#define RW	(PROT_READ | PROT_WRITE)

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

/* The mount relative names resolve to, its alignment, the page size. */
static char lt_mnt[256];
static uint64_t lt_align, lt_page;

/*
 * Every program starts here: msharefs present, no LIBMSHARE_PATH from the
 * caller's environment, and no umask, so that modes are checked as given.
 */
static inline void lt_init(void)
{
	require_msharefs();
	unsetenv("LIBMSHARE_PATH");
	umask(0);
	if (mshare_find_mount(NULL, lt_mnt, sizeof(lt_mnt)) ||
	    mshare_align(NULL, &lt_align))
		tap_bail("libmshare cannot find the msharefs mount");
	if (lt_align != mshare_align_raw())
		tap_bail("libmshare and mshare_info disagree on the alignment");
	lt_page = (uint64_t)sysconf(_SC_PAGESIZE);
}

/* "lt-<what>.<pid>": a relative region name no other run uses. */
static inline const char *lt_name(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "lt-%s.%d", what, (int)getpid());
	return buf;
}

/* The absolute path of the relative name @name. */
static inline const char *lt_path(char *buf, size_t len, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", lt_mnt, name) >= len)
		tap_bail("path too long");
	return buf;
}

/* Does @name (relative to the mount, or absolute) exist? */
static inline bool lt_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (name[0] != '/')
		name = lt_path(path, sizeof(path), name);
	return !lstat(name, &st);
}

/* A 0 or negative-errno return: pass if it is @want. */
static inline bool lt_rc(long got, long want, const char *fmt, ...)
{
	bool ok = got == want;
	va_list ap;

	if (!ok)
		tap_diag("returned %ld (%s), wanted %ld (%s)", got,
			 got < 0 ? strerror((int)-got) : "-", want,
			 want < 0 ? strerror((int)-want) : "-");
	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* A pointer return and its errno: pass if it is NULL with errno @want. */
static inline bool lt_null(const void *p, int err, int want, const char *fmt, ...)
{
	bool ok = !p && err == want;
	va_list ap;

	if (!ok)
		tap_diag("returned %p, errno %d (%s); wanted NULL, errno %d (%s)",
			 p, err, strerror(err), want, strerror(want));
	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* Evaluate @call, a pointer-returning libmshare call, once: NULL, @want? */
#define LT_NULL(call, want, ...) do {					\
	errno = 0;							\
	const void *p_ = (call);					\
	lt_null(p_, errno, (want), __VA_ARGS__);			\
} while (0)

/* A handle the test needs in order to go on: bail out without it. */
static inline struct mshare_region *lt_need(struct mshare_region *r,
					    const char *what)
{
	if (!r) {
		tap_diag("%s: %s", what, strerror(errno));
		tap_bail("a libmshare call the test depends on failed");
	}
	return r;
}

/* Create @name and size it to @size (0: leave it unsized). */
static inline struct mshare_region *lt_sized(const char *name, uint64_t size)
{
	struct mshare_region *r = lt_need(mshare_create(name, 0600), name);

	if (size && mshare_set_size(r, size))
		tap_bail("cannot size a region");
	return r;
}

/* The region's statistics; bails out if they cannot be read. */
static inline struct mshare_stats lt_stats(struct mshare_region *r)
{
	struct mshare_stats st;

	memset(&st, 0xff, sizeof(st));
	if (mshare_stats(r, &st))
		tap_bail("mshare_stats failed");
	return st;
}

/* Attach @r where the kernel likes; bails out on failure. */
static inline unsigned char *lt_attach(struct mshare_region *r, unsigned int flags)
{
	unsigned char *p = mshare_attach(r, NULL, flags);

	if (!p) {
		tap_diag("mshare_attach: %s", strerror(errno));
		tap_bail("cannot attach a region");
	}
	return p;
}

/*
 * An address aligned to the region alignment with @span bytes free from
 * it: found by reserving more and giving it back, so the next mapping
 * may take it, which the callers want.
 */
static inline void *lt_free_aligned(uint64_t span)
{
	uint64_t len = span + lt_align;
	void *p = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		tap_bail("cannot reserve address space");
	munmap(p, len);
	a = ((uintptr_t)p + lt_align - 1) & ~(uintptr_t)(lt_align - 1);
	return (void *)a;
}

/* Open file descriptors of this process, to see that failures leak none. */
static inline int lt_nr_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		tap_bail("cannot list /proc/self/fd");
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* A number from a /proc/sys file; -1 if unreadable. */
static inline long lt_read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Write a number to a /proc/sys file. */
static inline bool lt_write_long(const char *path, long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int n = snprintf(buf, sizeof(buf), "%ld", v);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok;
}

/* ---- touching memory in a child ---- */

enum { LT_READ, LT_WRITE };

/* Outcomes of lt_touch(): the exit status of the child. */
#define LT_OK		0			/* the access went through */
#define LT_MAPERR	(10 + SEGV_MAPERR)	/* SIGSEGV at the address, no mapping */
#define LT_ACCERR	(10 + SEGV_ACCERR)	/* SIGSEGV at the address, no permission */
#define LT_SIGBUS	20			/* + si_code */
#define LT_ELSEWHERE	40			/* a fault at another address */

static volatile void *lt_touch_addr;

static void lt_touch_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (si->si_addr != lt_touch_addr)
		_exit(LT_ELSEWHERE);
	_exit((sig == SIGSEGV ? 10 : LT_SIGBUS) + si->si_code);
}

static inline const char *lt_touch_name(int t)
{
	switch (t) {
	case LT_OK:		return "no fault";
	case LT_MAPERR:		return "SIGSEGV, SEGV_MAPERR";
	case LT_ACCERR:		return "SIGSEGV, SEGV_ACCERR";
	case LT_ELSEWHERE:	return "a fault at another address";
	case -1:		return "the child died";
	default:		return t >= LT_SIGBUS ? "SIGBUS" : "SIGSEGV, other code";
	}
}

/*
 * Read or write (0x5a) the byte at @p in a forked child: the outcome, or
 * -1 if the child died otherwise. A write that goes through is seen by
 * the parent when @p is shared memory.
 */
static inline int lt_touch(volatile void *p, int how)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		struct sigaction sa = {
			.sa_sigaction = lt_touch_handler,
			.sa_flags = SA_SIGINFO,
		};

		sigemptyset(&sa.sa_mask);
		lt_touch_addr = p;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		if (how == LT_WRITE)
			*(volatile unsigned char *)p = 0x5a;
		else
			(void)*(volatile unsigned char *)p;
		_exit(LT_OK);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Check lt_touch(@p, @how) against @want. */
static inline bool lt_touch_is(volatile void *p, int how, int want, const char *fmt, ...)
{
	int t = lt_touch(p, how);
	bool ok = t == want;
	va_list ap;

	if (!ok)
		tap_diag("%s %p: %s (%d); wanted %s", how == LT_WRITE ? "writing" : "reading",
			 (void *)p, lt_touch_name(t), t, lt_touch_name(want));
	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/*
 * Run @fn(@arg) in a forked child: its return value (its exit status), or
 * -1 if it died.
 */
static inline int lt_in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#endif
