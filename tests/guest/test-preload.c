// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmshare-preload.so against the real kernel. This program runs itself
 * again, with a role, under LD_PRELOAD=<the built shim> and a chosen
 * environment; the role prints "ok - ..." / "not ok - ..." lines, which
 * the driver relays as its own TAP results, and the driver checks the
 * exit status, what the shim printed on stderr, and that no region is
 * left in the mount. The roles:
 *
 * serve:    128 MiB MAP_SHARED | MAP_ANONYMOUS lives in an unlinked
 *	     region attach (its /proc/self/maps line); 4 forked workers
 *	     write their slices and the parent sees them all; partial munmap
 *	     and mremap are EINVAL; a forked child's munmap detaches its own
 *	     copy only (it then faults, the parent keeps its data); munmap
 *	     with the mapped length or the attach size detaches, and access
 *	     then faults; MAP_POPULATE is served; MAP_PRIVATE and small
 *	     mappings are not; 4 threads map and unmap at once; an exec'd
 *	     /bin/true and an exec'd copy of this program run (the copy is
 *	     served afresh); nothing on stderr, with verbose on.
 * fallback: LIBMSHARE_PATH=/tmp (no msharefs): real mappings that work,
 *	     and exactly one verbose message for two failures.
 * decline:  an address hint and PROT_READ are left to the C library,
 *	     with one message; a plain mapping is still served.
 * disabled: without MSHARE_PRELOAD=1 nothing is served or printed.
 * badmin:   an invalid MSHARE_PRELOAD_MIN says so, once, and the default
 *	     64 MiB applies; min: MSHARE_PRELOAD_MIN=1M applies.
 * huge:     MAP_HUGETLB is served with huge pages, if the kernel has any.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include "guest.h"

#define MiB		(1024ULL * 1024)
#define PAGE		4096ULL
#define BIG		(128 * MiB)
#define WORKERS		4
#define THREADS		4
#define ROUNDS		4

static uint64_t align;
static char self[PATH_MAX], shim[PATH_MAX];
/* Touch every stride-th page: every one, but on the (slow) debug kernel. */
static unsigned int stride = 1;

/* ---- the roles: run under the shim, report on stdout ---------------- */

__attribute__((format(printf, 2, 3)))
static bool say(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);		/* before any fork: no line twice */
	return ok;
}

/*
 * The /proc/self/maps line of the mapping that starts at @p: its end in
 * @end and its path in @path ("" for none). False if there is none.
 */
static bool maps_line(const void *p, unsigned long *end, char *path, size_t len)
{
	char line[PATH_MAX + 128];
	unsigned long s, e;
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");
	int pos;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &s, &e, &pos) < 2 ||
		    s != (unsigned long)p)
			continue;
		found = true;
		*end = e;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + pos);
	}
	fclose(f);
	return found;
}

/*
 * Is @p the base of an attach of an unlinked preload region of this
 * process, as large as the region alignment?
 */
static bool served(const void *p)
{
	char path[PATH_MAX], want[PATH_MAX];
	unsigned long end;

	if (!maps_line(p, &end, path, sizeof(path)))
		return false;
	snprintf(want, sizeof(want), "%s/preload.%d.", mshare_mnt(), (int)getpid());
	return !strncmp(path, want, strlen(want)) && strstr(path, " (deleted)") &&
	       end - (unsigned long)p == align && !((uintptr_t)p % align);
}

/* Is there a mapping at @p, and not on msharefs? */
static bool not_served(const void *p)
{
	char path[PATH_MAX];
	unsigned long end;

	return maps_line(p, &end, path, sizeof(path)) &&
	       strncmp(path, mshare_mnt(), strlen(mshare_mnt()));
}

/* Regions named preload.* in the mount: none once mapped. */
static int preload_regions(void)
{
	DIR *d = opendir(mshare_mnt());
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, "preload.", 8);
	closedir(d);
	return n;
}

static uint64_t pat(unsigned int who, uint64_t page)
{
	return (((page + 1) * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)(who + 1) << 56)) | 1;
}

/*
 * Write the first and last word of each page (each stride-th) of a slice;
 * check() counts the pages that do not hold them.
 */
static void fill(char *base, uint64_t size, unsigned int who)
{
	for (uint64_t p = 0; p < size / PAGE; p += stride) {
		*(volatile uint64_t *)(base + p * PAGE) = pat(who, p);
		*(volatile uint64_t *)(base + p * PAGE + PAGE - 8) = ~pat(who, p);
	}
}

static uint64_t check(const char *base, uint64_t size, unsigned int who)
{
	uint64_t bad = 0;

	for (uint64_t p = 0; p < size / PAGE; p += stride)
		bad += *(const volatile uint64_t *)(base + p * PAGE) != pat(who, p) ||
		       *(const volatile uint64_t *)(base + p * PAGE + PAGE - 8) != ~pat(who, p);
	return bad;
}

/* Fork a child that runs @fn(@p); the signal that killed it, or 0 if none. */
static int child_signal(void (*fn)(char *), char *p, int *status)
{
	pid_t pid = fork();

	*status = 0;
	if (pid < 0)
		return -1;
	if (!pid) {
		fn(p);
		_exit(0);
	}
	if (waitpid(pid, status, 0) != pid)
		return -1;
	return WIFSIGNALED(*status) ? WTERMSIG(*status) : 0;
}

static void touch(char *p)
{
	*(volatile char *)p = 1;
}

/* A forked child detaches its copy, then touches it: SIGSEGV. */
static void detach_then_touch(char *p)
{
	if (munmap(p, BIG))
		_exit(2);
	touch(p);
}

static void *mmap_shared(size_t len, int extra)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | extra, -1, 0);
}

static void *thread_rounds(void *arg)
{
	unsigned int who = (uintptr_t)arg;
	uintptr_t bad = 0;

	for (int i = 0; i < ROUNDS; i++) {
		char *p = mmap_shared(64 * MiB, 0);

		if (p == MAP_FAILED)
			return (void *)(uintptr_t)1000;
		bad += !served(p);
		fill(p, 64 * MiB, who);
		bad += check(p, 64 * MiB, who) != 0;
		bad += munmap(p, 64 * MiB) != 0;
	}
	return (void *)bad;
}

/* Fork, exec @path (with @arg), and return the exit status, or -1. */
static int exec_status(const char *path, const char *arg)
{
	pid_t pid = fork();
	int status;

	if (!pid) {
		execl(path, path, arg, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int role_serve(void)
{
	char *p, *q, *r, *s;
	pid_t pids[WORKERS];
	pthread_t th[THREADS];
	uintptr_t bad = 0;
	int status, sig, ok = 0;

	p = mmap_shared(BIG, 0);
	if (!say(p != MAP_FAILED, "mmap of 128 MiB shared anonymous succeeds"))
		return 1;
	say(served(p), "it is an attach of an unlinked preload region, "
	    "the size of the alignment");
	say(preload_regions() == 0, "no preload region is left in the mount");

	for (unsigned int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		if (!pids[w]) {
			fill(p + w * (BIG / WORKERS), BIG / WORKERS, w);
			_exit(0);
		}
	}
	for (unsigned int w = 0; w < WORKERS; w++)
		ok += pids[w] > 0 && waitpid(pids[w], &status, 0) == pids[w] &&
		      WIFEXITED(status) && !WEXITSTATUS(status);
	say(ok == WORKERS, "%d forked workers wrote their slices", WORKERS);
	for (unsigned int w = 0; w < WORKERS; w++)
		bad += check(p + w * (BIG / WORKERS), BIG / WORKERS, w);
	say(!bad, "the parent sees all their data (%lu bad pages)", (unsigned long)bad);

	errno = 0;
	say(munmap(p, PAGE) == -1 && errno == EINVAL, "a partial munmap is EINVAL");
	errno = 0;
	say(mremap(p, BIG, 2 * BIG, MREMAP_MAYMOVE) == MAP_FAILED && errno == EINVAL,
	    "mremap of the mapping is EINVAL");
	errno = 0;
	say(mremap(p + PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE) == MAP_FAILED &&
	    errno == EINVAL, "mremap inside the attach is EINVAL");

	sig = child_signal(detach_then_touch, p, &status);
	say(sig == SIGSEGV, "a forked child's munmap detaches its copy: its access "
	    "then faults (signal %d, status %#x)", sig, status);
	say(served(p) && !check(p, BIG / WORKERS, 0) &&
	    !check(p + 3 * (BIG / WORKERS), BIG / WORKERS, 3),
	    "the parent keeps its attach and data");

	q = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say(q != MAP_FAILED && not_served(q), "MAP_PRIVATE is not served");
	r = mmap_shared(MiB, 0);
	say(r != MAP_FAILED && not_served(r), "1 MiB (below the threshold) is not served");
	munmap(q, BIG);
	munmap(r, MiB);

	say(munmap(p, BIG) == 0, "munmap with the mapped length succeeds");
	{
		unsigned long end;
		char path[PATH_MAX];

		say(!maps_line(p, &end, path, sizeof(path)), "the attach is gone");
	}
	sig = child_signal(touch, p, &status);
	say(sig == SIGSEGV, "an access after munmap faults (signal %d)", sig);

	/* An odd length; munmap by the attach size, as a caller could. */
	s = mmap_shared(100 * MiB + 1, MAP_POPULATE | MAP_NORESERVE);
	say(s != MAP_FAILED && served(s), "MAP_POPULATE | MAP_NORESERVE, 100 MiB + 1: served");
	if (s != MAP_FAILED) {
		fill(s, 100 * MiB, 7);
		s[100 * MiB] = 1;
		say(!check(s, 100 * MiB, 7), "its memory holds what was written");
		say(munmap(s, align) == 0, "munmap with the attach size detaches");
	}

	for (unsigned int t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, thread_rounds, (void *)(uintptr_t)t);
	bad = 0;
	for (unsigned int t = 0; t < THREADS; t++) {
		void *ret;

		pthread_join(th[t], &ret);
		bad += (uintptr_t)ret;
	}
	say(!bad, "%d threads mapped, used and unmapped %d served mappings each",
	    THREADS, ROUNDS);

	/* Exec'd children: their own address space, the shim afresh. */
	p = mmap_shared(BIG, 0);
	say(served(p), "mapped again before exec");
	say(exec_status("/bin/true", NULL) == 0, "an exec'd /bin/true runs");
	say(exec_status(self, "exec-child") == 0, "an exec'd copy of this program runs");
	say(served(p) && munmap(p, BIG) == 0, "the parent's attach is untouched by it");
	return 0;
}

/* Run by role_serve through execve: nothing inherited, served afresh. */
static int role_exec_child(void)
{
	char path[PATH_MAX], *p;
	unsigned long end;
	bool others = false;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(path, sizeof(path), f))
		others |= strstr(path, mshare_mnt()) != NULL;
	if (f)
		fclose(f);
	say(f && !others, "exec'd: no attach is inherited");
	p = mmap_shared(BIG, 0);
	say(p != MAP_FAILED && served(p), "exec'd: the shim serves its mapping");
	if (p != MAP_FAILED) {
		fill(p, BIG, 1);
		say(!check(p, BIG, 1) && !munmap(p, BIG) &&
		    !maps_line(p, &end, path, sizeof(path)), "exec'd: used and unmapped");
	}
	return 0;
}

static int role_fallback(void)
{
	for (int i = 0; i < 2; i++) {
		char *p = mmap_shared(BIG, 0);

		say(p != MAP_FAILED && not_served(p),
		    "mapping %d falls back to an ordinary one", i + 1);
		if (p != MAP_FAILED) {
			fill(p, BIG, i);
			say(!check(p, BIG, i) && !munmap(p, BIG), "which works");
		}
	}
	return 0;
}

static int role_decline(void)
{
	void *hint = (void *)(uintptr_t)(64ULL << 30);
	char *p = mmap(hint, BIG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *q = mmap(NULL, BIG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *r = mmap_shared(BIG, 0);

	say(p != MAP_FAILED && not_served(p), "an address hint is left to the C library");
	say(q != MAP_FAILED && not_served(q), "PROT_READ is left to the C library");
	say(q != MAP_FAILED && !mprotect(q, BIG, PROT_READ | PROT_WRITE),
	    "so that it can be mprotect()ed");
	say(r != MAP_FAILED && served(r), "a plain mapping after them is served");
	return 0;
}

static int role_disabled(void)
{
	char *p = mmap_shared(BIG, 0);

	say(p != MAP_FAILED && not_served(p), "128 MiB is not served");
	return 0;
}

static int role_min(uint64_t threshold)
{
	char *p = mmap_shared(threshold, 0);
	char *q = mmap_shared(threshold / 2, 0);

	say(p != MAP_FAILED && served(p), "%llu MiB (the threshold) is served",
	    (unsigned long long)(threshold / MiB));
	say(q != MAP_FAILED && not_served(q), "half of it is not");
	return 0;
}

static int role_huge(void)
{
	size_t len = 4 * MiB + 1;
	char *p = mmap_shared(len, MAP_HUGETLB);

	if (!say(p != MAP_FAILED && served(p), "MAP_HUGETLB, 4 MiB + 1: served"))
		return 0;
	fill(p, 4 * MiB, 3);
	p[4 * MiB] = 1;		/* the third huge page */
	say(!check(p, 4 * MiB, 3), "its memory holds what was written");
	say(munmap(p, len) == 0, "munmap with the length given detaches");
	return 0;
}

static int role(const char *name)
{
	align = mshare_align_raw();
	if (debug_kernel())
		stride = 64;
	alarm(debug_kernel() ? 600 : 120);
	if (!strcmp(name, "serve"))
		return role_serve();
	if (!strcmp(name, "exec-child"))
		return role_exec_child();
	if (!strcmp(name, "fallback"))
		return role_fallback();
	if (!strcmp(name, "decline"))
		return role_decline();
	if (!strcmp(name, "disabled"))
		return role_disabled();
	if (!strcmp(name, "badmin"))
		return role_min(64 * MiB);
	if (!strcmp(name, "min"))
		return role_min(2 * MiB);
	if (!strcmp(name, "huge"))
		return role_huge();
	return 2;
}

/* ---- the driver ------------------------------------------------------ */

/* Read all of memfd @fd into @buf. */
static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/*
 * Run role @name with the shim preloaded and @env added; relay its
 * results, check its exit, and return what it wrote on stderr in @err.
 */
static void run(const char *name, const char *const *env, char *err, size_t len)
{
	char out[16384], ld[PATH_MAX + 16], mnt[PATH_MAX + 16], *line, *save;
	const char *envp[16] = { ld, "PATH=/usr/sbin:/usr/bin:/sbin:/bin" };
	int fo = memfd_create("out", MFD_CLOEXEC), fe = memfd_create("err", MFD_CLOEXEC);
	unsigned int n = 2;
	int status;
	pid_t pid;

	snprintf(ld, sizeof(ld), "LD_PRELOAD=%s", shim);
	snprintf(mnt, sizeof(mnt), "MSHARE_MNT=%s", mshare_mnt());
	envp[n++] = mnt;	/* where the roles look; the shim finds its own */
	if (debug_kernel())
		envp[n++] = "VM_DEBUG=1";
	for (; *env; env++)
		envp[n++] = *env;
	envp[n] = NULL;
	if (fo < 0 || fe < 0)
		tap_bail("memfd_create failed");
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		dup2(fo, STDOUT_FILENO);
		dup2(fe, STDERR_FILENO);
		execve(self, (char *const[]){ self, (char *)name, NULL }, (char *const *)envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		tap_bail("waitpid failed");
	slurp(fo, out, sizeof(out));
	slurp(fe, err, len);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "ok - ", 5))
			tap_ok(true, "%s: %s", name, line + 5);
		else if (!strncmp(line, "not ok - ", 9))
			tap_ok(false, "%s: %s", name, line + 9);
		else
			tap_diag("%s: %s", name, line);
	}
	tap_ok(WIFEXITED(status) && !WEXITSTATUS(status), "%s: exits 0 (status %#x)",
	       name, status);
	tap_ok(preload_regions() == 0, "%s: no preload region is left behind", name);
	if (*err)
		tap_diag("%s: stderr: %.*s", name, (int)strcspn(err, "\n"), err);
}

/* Lines in @text, and whether they all carry the shim's prefix. */
static unsigned int messages(const char *text, bool *prefixed)
{
	unsigned int n = 0;

	*prefixed = true;
	for (const char *l = text; *l; n++) {
		const char *nl = strchr(l, '\n');

		*prefixed &= !strncmp(l, "libmshare-preload: ", 19);
		if (!nl)
			break;
		l = nl + 1;
	}
	return n;
}

/* Write @val to the file @path; false on failure. */
static bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	char err[4096], dir[PATH_MAX], nr[32] = "0";
	bool prefixed;
	ssize_t n;
	int fd;

	if (argc > 1) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		self[n > 0 ? n : 0] = '\0';
		return role(argv[1]);
	}

	require_msharefs();
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		tap_bail("cannot read /proc/self/exe");
	self[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", self);
	snprintf(shim, sizeof(shim), "%s/../../preload/libmshare-preload.so", dirname(dir));
	if (access(shim, R_OK))
		tap_bail("the shim is not built next to this test (../../preload/)");

	run("serve", (const char *const[]){ "MSHARE_PRELOAD=1",
		"MSHARE_PRELOAD_VERBOSE=1", NULL }, err, sizeof(err));
	tap_ok(!*err, "serve: nothing on stderr, verbose as it is");

	run("fallback", (const char *const[]){ "MSHARE_PRELOAD=1",
		"MSHARE_PRELOAD_VERBOSE=1", "LIBMSHARE_PATH=/tmp", NULL },
	    err, sizeof(err));
	tap_ok(messages(err, &prefixed) == 1 && prefixed &&
	       strstr(err, "LIBMSHARE_PATH=/tmp is not an msharefs mount"),
	       "fallback: exactly one message, prefixed, saying why");

	run("fallback", (const char *const[]){ "MSHARE_PRELOAD=1",
		"LIBMSHARE_PATH=/tmp", NULL }, err, sizeof(err));
	tap_ok(!*err, "fallback: silent without MSHARE_PRELOAD_VERBOSE=1");

	run("decline", (const char *const[]){ "MSHARE_PRELOAD=1",
		"MSHARE_PRELOAD_VERBOSE=1", NULL }, err, sizeof(err));
	tap_ok(messages(err, &prefixed) == 1 && prefixed && strstr(err, "address hint"),
	       "decline: one message, for the first reason (the address hint)");

	run("disabled", (const char *const[]){ "MSHARE_PRELOAD_VERBOSE=1",
		"MSHARE_PRELOAD_MIN=banana", NULL }, err, sizeof(err));
	tap_ok(!*err, "disabled (unset): nothing on stderr");
	run("disabled", (const char *const[]){ "MSHARE_PRELOAD=0",
		"MSHARE_PRELOAD_VERBOSE=1", NULL }, err, sizeof(err));
	tap_ok(!*err, "disabled (0): nothing on stderr");

	run("badmin", (const char *const[]){ "MSHARE_PRELOAD=1",
		"MSHARE_PRELOAD_VERBOSE=1", "MSHARE_PRELOAD_MIN=-5M", NULL },
	    err, sizeof(err));
	tap_ok(messages(err, &prefixed) == 1 && prefixed &&
	       strstr(err, "MSHARE_PRELOAD_MIN='-5M'"),
	       "badmin: one message about MSHARE_PRELOAD_MIN");

	run("min", (const char *const[]){ "MSHARE_PRELOAD=1",
		"MSHARE_PRELOAD_MIN=2M", NULL }, err, sizeof(err));
	tap_ok(!*err, "min: nothing on stderr");

	/* Huge pages: reserve a few for the role, if the kernel has them. */
	fd = open("/proc/sys/vm/nr_hugepages", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, nr, sizeof(nr) - 1);
		nr[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	if (proc_kb("/proc/meminfo", "Hugepagesize") != 2048 ||
	    !write_file("/proc/sys/vm/nr_hugepages", "8") ||
	    proc_kb("/proc/meminfo", "HugePages_Free") < 3) {
		tap_skip("no 2 MiB huge pages to reserve", "huge: MAP_HUGETLB is served");
	} else {
		run("huge", (const char *const[]){ "MSHARE_PRELOAD=1",
			"MSHARE_PRELOAD_MIN=1M", "MSHARE_PRELOAD_VERBOSE=1", NULL },
		    err, sizeof(err));
		tap_ok(!*err, "huge: nothing on stderr");
	}
	write_file("/proc/sys/vm/nr_hugepages", nr);

	return tap_done();
}
