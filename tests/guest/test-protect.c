// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSHAREFS_PROTECT (issue 4 contract):
 *
 * (a)-(i) a round trip with seven sharers of one region holding 8 MiB of
 *     populated anonymous memory (known data) and 1 MiB never touched
 *     before the first PROTECT: this process, a forked child with the
 *     inherited attach, a forked child re-attached at another address, an
 *     exec'd child attached by name at another address, a forked child
 *     with a read-only attach, and, once the range is PROT_READ, a child
 *     forked then and one exec'd then. In each of them, at its own
 *     address:
 *     - PROT_READ: writes give SIGSEGV (SEGV_ACCERR, si_addr the address
 *       written), reads return the data;
 *     - PROT_NONE: reads fault too;
 *     - PROT_READ|PROT_WRITE again: writes work, the data is intact, and
 *       what one sharer writes the others read;
 *     - one page in the middle PROT_READ, then PROT_NONE, then back:
 *       exactly that page changes, the words either side of it do not;
 *     - PROT_READ|PROT_EXEC and PROT_READ|PROT_WRITE|PROT_EXEC are taken;
 *     - the read-only attach never becomes writable;
 *     - the kernel's own accesses follow the protection: read(2) from a
 *       pipe into the range and process_vm_writev() into it (GUP with
 *       FOLL_WRITE) are EFAULT where it is not writable, write(2) to a
 *       pipe from it and process_vm_readv() from it are EFAULT where it
 *       is PROT_NONE, and all of them work again after the restore.
 * (j) errors: EBADF for a read-only fd, EINVAL for an unsized region, a
 *     non-zero reserved field, every prot value outside the five allowed,
 *     unaligned offset or size, size 0, a range outside the region or
 *     whose end overflows; EFAULT for a bad argument pointer;
 * (k) a hole in the range: ENOMEM, and the mapped part keeps its
 *     protection (a write there still works; a read-only part stays so);
 * (l) PROT_WRITE on memory mapped from a file opened O_RDONLY (tmpfs and
 *     the ext4 disk): EACCES, with nothing changed in the rest of the
 *     range;
 * (m) hugetlb: a range that splits a 2 MiB page is EINVAL and changes
 *     nothing; a 2 MiB-aligned one works;
 * (n) code in a region runs only where both the region's protection
 *     and the attach's have PROT_EXEC.
 *
 * The children do what the parent asks through a pipe each and report
 * back, so that all the assertions are made by the parent. Exec'd
 * children are this program run again with the role "sharer".
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "guest.h"

#define MiB		(1024ULL * 1024)
#define PAGE		4096ULL
#define HPAGE		(2 * MiB)
#define DATA		(8 * MiB)		/* written with want() at the start */
#define FRESH		(1 * MiB)		/* after it: untouched until PROT_READ */
#define LEN		(DATA + FRESH)		/* one anonymous mapping at offset 0 */
#define MID		(1000 * PAGE)		/* the page of the subrange PROTECT */
#define RW		(PROT_READ | PROT_WRITE)
#define RX		(PROT_READ | PROT_EXEC)
#define RWX		(PROT_READ | PROT_WRITE | PROT_EXEC)

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB	(21U << MAP_HUGE_SHIFT)
#endif
#ifndef PROT_SEM
#define PROT_SEM	0x8
#endif
#ifndef PROT_GROWSUP
#define PROT_GROWSUP	0x02000000
#endif

#define NR_HUGE		"/proc/sys/vm/nr_hugepages"

/* A child's ends of its command and report pipes, kept across exec. */
#define CMD_FD		100
#define REP_FD		101

static uint64_t align;

/* What the word at region offset @off holds: DATA is patterned, FRESH zero. */
static uint64_t want(uint64_t off)
{
	if (off >= DATA)
		return 0;
	return ((off / 8 + 1) * 0x9e3779b97f4a7c15ULL) | 1;
}

/* ---- touching memory that may fault ---- */

/* The outcome of one access. */
struct access {
	int32_t faulted;
	int32_t sig;
	int32_t code;
	int32_t pad;
	uint64_t addr;		/* si_addr */
	uint64_t value;		/* what a read returned */
};

static sigjmp_buf probe_env;
static siginfo_t probe_si;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	probe_si = *si;
	siglongjmp(probe_env, 1);
}

static void catch_faults(struct sigaction old[2])
{
	struct sigaction sa = {
		.sa_sigaction = probe_handler,
		.sa_flags = SA_SIGINFO,
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old[0]);
	sigaction(SIGBUS, &sa, &old[1]);
}

static void uncatch_faults(const struct sigaction old[2])
{
	sigaction(SIGSEGV, &old[0], NULL);
	sigaction(SIGBUS, &old[1], NULL);
}

/* Read the word at @p, or with @wr write @val there; the outcome in *@a. */
static void access_word(volatile uint64_t *p, bool wr, uint64_t val,
			struct access *a)
{
	struct sigaction old[2];

	memset(a, 0, sizeof(*a));
	catch_faults(old);
	if (!sigsetjmp(probe_env, 1)) {
		if (wr)
			*p = val;
		else
			a->value = *p;
	} else {
		a->faulted = 1;
		a->sig = probe_si.si_signo;
		a->code = probe_si.si_code;
		a->addr = (uintptr_t)probe_si.si_addr;
	}
	uncatch_faults(old);
}

/* Words of [@off, @off + @len) of the region at @base not holding want(). */
static __attribute__((noinline)) int64_t count_bad(const char *base, uint64_t off, uint64_t len)
{
	int64_t bad = 0;

	for (uint64_t o = off; o < off + len; o += 8)
		if (*(const volatile uint64_t *)(base + o) != want(o))
			bad++;
	return bad;
}

/* count_bad(), or -1 if a read faults. */
static int64_t check_words(const char *base, uint64_t off, uint64_t len)
{
	volatile int64_t bad = -1;
	struct sigaction old[2];

	catch_faults(old);
	if (!sigsetjmp(probe_env, 1))
		bad = count_bad(base, off, len);
	uncatch_faults(old);
	return bad;
}

/* ---- what the parent asks a sharer, and its answer ---- */

enum {
	C_HELLO,	/* report the attach address */
	C_PROBE,	/* read the word at off, then write val there */
	C_CHECK,	/* count the words of [off, off + len) not holding want() */
	C_WRITE,	/* write val at off */
	C_READ,		/* read the word at off */
	C_KERNEL,	/* let the kernel read and write the word at off */
	C_QUIT,
};

struct cmd {
	uint32_t op;
	uint32_t pad;
	uint64_t off;
	uint64_t len;
	uint64_t val;
};

/* The kernel accesses of C_KERNEL, in the order they are made. */
enum { K_PIPE_IN, K_PIPE_OUT, K_VM_READ, K_VM_WRITE, NK };

static const char *const kname[NK] = {
	"read(2) from a pipe into it",
	"write(2) to a pipe from it",
	"process_vm_readv() from it",
	"process_vm_writev() into it",
};

struct rep {
	int32_t status;		/* 0, or the errno of the child's setup */
	int32_t pad;
	uint64_t base;		/* the child's attach */
	struct access r, w;
	int64_t bad;		/* C_CHECK */
	int64_t kret[NK];
	int32_t kerr[NK];
	uint64_t kval[NK];	/* what the kernel read from the region */
};

/*
 * C_KERNEL: the kernel reads and writes the word at @p, through
 * uaccess (pipes) and through GUP (process_vm_*v() on ourselves).
 * Where it writes, it writes @val, the word's value already.
 */
static void kernel_access(char *p, uint64_t val, struct rep *r)
{
	struct iovec remote = { .iov_base = p, .iov_len = 8 }, local;
	uint64_t v = 0;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) || write(fds[1], &val, 8) != 8) {
		r->status = errno ? errno : EIO;
		return;
	}
	errno = 0;
	r->kret[K_PIPE_IN] = read(fds[0], p, 8);
	r->kerr[K_PIPE_IN] = errno;
	close(fds[0]);
	close(fds[1]);

	if (pipe2(fds, O_CLOEXEC)) {
		r->status = errno;
		return;
	}
	errno = 0;
	r->kret[K_PIPE_OUT] = write(fds[1], p, 8);
	r->kerr[K_PIPE_OUT] = errno;
	if (r->kret[K_PIPE_OUT] == 8 && read(fds[0], &v, 8) == 8)
		r->kval[K_PIPE_OUT] = v;
	close(fds[0]);
	close(fds[1]);

	v = 0;
	local = (struct iovec){ .iov_base = &v, .iov_len = 8 };
	errno = 0;
	r->kret[K_VM_READ] = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	r->kerr[K_VM_READ] = errno;
	r->kval[K_VM_READ] = v;

	local = (struct iovec){ .iov_base = &val, .iov_len = 8 };
	errno = 0;
	r->kret[K_VM_WRITE] = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	r->kerr[K_VM_WRITE] = errno;
}

/* Carry out @c on the attach at @base (NULL: the setup failed with @status). */
static void do_cmd(char *base, int status, const struct cmd *c, struct rep *r)
{
	memset(r, 0, sizeof(*r));
	r->base = (uintptr_t)base;
	r->status = status;
	if (status)
		return;
	switch (c->op) {
	case C_PROBE:
		access_word((void *)(base + c->off), false, 0, &r->r);
		access_word((void *)(base + c->off), true, c->val, &r->w);
		break;
	case C_CHECK:
		r->bad = check_words(base, c->off, c->len);
		break;
	case C_WRITE:
		access_word((void *)(base + c->off), true, c->val, &r->w);
		break;
	case C_READ:
		access_word((void *)(base + c->off), false, 0, &r->r);
		break;
	case C_KERNEL:
		kernel_access(base + c->off, c->val, r);
		break;
	}
}

/* A child: answer commands until C_QUIT or the parent is gone. */
static int __attribute__((noreturn)) serve(char *base, int status)
{
	struct cmd c;
	struct rep r;

	while (read(CMD_FD, &c, sizeof(c)) == sizeof(c) && c.op != C_QUIT) {
		do_cmd(base, status, &c, &r);
		if (write(REP_FD, &r, sizeof(r)) != sizeof(r))
			_exit(122);
	}
	_exit(0);
}

/* Open the region @path (@flags) and attach it with @prot anywhere but at @avoid. */
static char *attach_by_name(const char *path, int flags, int prot, void *avoid,
			    int *status)
{
	void *const av[1] = { avoid };
	void *p;
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		*status = errno;
		return NULL;
	}
	p = region_attach_avoid(fd, align, prot, NULL, av, 1);
	*status = p == MAP_FAILED ? errno : 0;
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* ---- the sharers, seen from the parent ---- */

enum role {
	R_SELF,		/* this process */
	R_INHERIT,	/* forked, keeps the inherited attach */
	R_MOVE,		/* forked, detaches and attaches elsewhere by name */
	R_EXEC,		/* exec'd, attaches by name elsewhere */
	R_RDONLY,	/* forked, attaches by name read-only elsewhere */
};

struct sharer {
	const char *what;
	enum role role;
	bool ro;		/* a read-only attach */
	bool late;		/* started once the range is PROT_READ */
	pid_t pid;		/* 0: this process */
	int down, up;		/* its command and report pipes */
	uint64_t base;
	bool started, alive;
};

#define NSH	7

static struct sharer sh[NSH] = {
	{ .what = "sharer 0 (this process)", .role = R_SELF },
	{ .what = "sharer 1 (forked, inherited attach)", .role = R_INHERIT },
	{ .what = "sharer 2 (forked, re-attached elsewhere)", .role = R_MOVE },
	{ .what = "sharer 3 (exec'd, attached by name elsewhere)", .role = R_EXEC },
	{ .what = "sharer 4 (forked, read-only attach)", .role = R_RDONLY, .ro = true },
	{ .what = "sharer 5 (forked after PROTECT, inherited attach)", .role = R_INHERIT,
	  .late = true },
	{ .what = "sharer 6 (exec'd after PROTECT, attached by name)", .role = R_EXEC,
	  .late = true },
};

static char main_path[512];
static char *main_base;
static int main_fd;

/* The region protection of each page of [0, LEN), as set so far. */
static uint8_t page_prot[LEN / PAGE];

static void sharer_start(struct sharer *s)
{
	char a_avoid[32];
	char *argv[] = { "test-protect", "sharer", main_path, a_avoid, NULL };
	int down[2], up[2];
	int status = 0;
	char *base = NULL;

	s->started = s->alive = true;
	if (s->role == R_SELF) {
		s->base = (uintptr_t)main_base;
		return;
	}
	if (pipe2(down, O_CLOEXEC) || pipe2(up, O_CLOEXEC))
		tap_bail("pipe2 failed");
	fflush(stdout);
	s->pid = fork();
	if (s->pid < 0)
		tap_bail("fork failed");
	if (!s->pid) {
		if (dup2(down[0], CMD_FD) < 0 || dup2(up[1], REP_FD) < 0)
			_exit(120);
		/* Only our own pipes: a child sees EOF when the parent dies. */
		close_range(3, CMD_FD - 1, 0);
		close_range(REP_FD + 1, ~0U, 0);
		switch (s->role) {
		case R_INHERIT:
			base = main_base;
			break;
		case R_MOVE:
		case R_RDONLY:
			if (munmap(main_base, align)) {
				status = errno;
				break;
			}
			base = attach_by_name(main_path, s->ro ? O_RDONLY : O_RDWR,
					      s->ro ? PROT_READ : RW, main_base,
					      &status);
			break;
		case R_EXEC:
			snprintf(a_avoid, sizeof(a_avoid), "%#llx",
				 (unsigned long long)(uintptr_t)main_base);
			execv("/proc/self/exe", argv);
			_exit(121);
		default:
			_exit(120);
		}
		serve(base, status);
	}
	close(down[0]);
	close(up[1]);
	s->down = down[1];
	s->up = up[0];
}

/* Ask @s to do @op; false (and a diagnostic) if it did not answer or failed. */
static bool ask(struct sharer *s, uint32_t op, uint64_t off, uint64_t len,
		uint64_t val, struct rep *r)
{
	struct cmd c = { .op = op, .off = off, .len = len, .val = val };

	memset(r, 0, sizeof(*r));
	if (!s->alive) {
		r->status = -1;
		return false;
	}
	if (!s->pid) {
		do_cmd((char *)(uintptr_t)s->base, 0, &c, r);
	} else if (write(s->down, &c, sizeof(c)) != sizeof(c) ||
		   read(s->up, r, sizeof(*r)) != sizeof(*r)) {
		tap_diag("%s (pid %d) is gone", s->what, (int)s->pid);
		s->alive = false;
		r->status = -1;
		return false;
	}
	if (r->status) {
		tap_diag("%s: %s", s->what, r->status > 0 ? strerror(r->status) : "failed");
		return false;
	}
	return true;
}

/* End a child sharer: its exit status, -1 if it did not exit normally. */
static int sharer_end(struct sharer *s)
{
	struct cmd c = { .op = C_QUIT };
	int status;

	if (!s->pid)
		return 0;
	if (write(s->down, &c, sizeof(c)) != sizeof(c))
		tap_diag("%s is gone", s->what);
	close(s->down);
	close(s->up);
	s->alive = false;
	if (waitpid(s->pid, &status, 0) != s->pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* MSHAREFS_PROTECT of the main region, recorded in page_prot[] if it works. */
static void set_prot(uint64_t off, uint64_t len, int prot, const char *fmt, ...)
{
	va_list ap;
	int ret, err;

	errno = 0;
	ret = region_protect(main_fd, off, len, prot);
	err = errno;
	if (!ret)
		memset(page_prot + off / PAGE, prot, len / PAGE);
	else
		tap_diag("failed: errno %d (%s)", err, strerror(err));
	va_start(ap, fmt);
	tap_vok(!ret, fmt, ap);
	va_end(ap);
}

static bool can_read(const struct sharer *s, uint64_t off)
{
	(void)s;
	return page_prot[off / PAGE] & PROT_READ;
}

static bool can_write(const struct sharer *s, uint64_t off)
{
	return (page_prot[off / PAGE] & PROT_WRITE) && !s->ro;
}

/*
 * @a, an access at @addr, went as it should: it worked (reading @value)
 * if @allowed, else it raised SIGSEGV with SEGV_ACCERR at @addr.
 */
static bool access_as(const struct access *a, bool allowed, bool rd,
		      uint64_t addr, uint64_t value, const char *who)
{
	bool ok;

	if (allowed)
		ok = !a->faulted && (!rd || a->value == value);
	else
		ok = a->faulted && a->sig == SIGSEGV && a->code == SEGV_ACCERR &&
		     a->addr == addr;
	if (!ok)
		tap_diag("%s: %s %#llx (wanted: %s): %s, signal %d, si_code %d, si_addr %#llx, read %#llx (want %#llx)",
			 who, rd ? "reading" : "writing", (unsigned long long)addr,
			 allowed ? "works" : "SEGV_ACCERR",
			 a->faulted ? "faulted" : "no fault", a->sig, a->code,
			 (unsigned long long)a->addr, (unsigned long long)a->value,
			 (unsigned long long)value);
	return ok;
}

/*
 * Every sharer started reads and writes each of @offs (@n), as
 * page_prot[] and its attach say. @desc says what that is; NULL: the
 * protection of @offs[0], for the whole of them.
 */
static void expect(const char *phase, const uint64_t *offs, unsigned int n,
		   const char *desc)
{
	for (unsigned int i = 0; i < NSH; i++) {
		struct sharer *s = &sh[i];
		unsigned int bad = 0;
		char auto_desc[128];

		if (!s->started)
			continue;
		for (unsigned int j = 0; j < n; j++) {
			uint64_t off = offs[j], addr = s->base + off;
			struct rep r;

			if (!ask(s, C_PROBE, off, 0, want(off), &r)) {
				bad++;
				break;
			}
			bad += !access_as(&r.r, can_read(s, off), true, addr,
					  want(off), s->what);
			bad += !access_as(&r.w, can_write(s, off), false, addr,
					  want(off), s->what);
		}
		if (!desc)
			snprintf(auto_desc, sizeof(auto_desc), "%s, %s",
				 can_read(s, offs[0]) ? "reads return the data" : "reads fault (SEGV_ACCERR at its address)",
				 can_write(s, offs[0]) ? "writes work" : "writes fault (SEGV_ACCERR at its address)");
		tap_ok(!bad, "%s: %s: %s", phase, s->what, desc ? desc : auto_desc);
	}
}

/* Every sharer started reads the data of [@off, @off + @len) intact. */
static void expect_data(const char *phase, uint64_t off, uint64_t len)
{
	for (unsigned int i = 0; i < NSH; i++) {
		struct sharer *s = &sh[i];
		struct rep r;
		bool ok;

		if (!s->started)
			continue;
		ok = ask(s, C_CHECK, off, len, 0, &r) && !r.bad;
		if (!ok && !r.status)
			tap_diag("%s: %lld words wrong (-1: a read faulted)", s->what,
				 (long long)r.bad);
		tap_ok(ok, "%s: %s reads all %llu KiB intact", phase, s->what,
		       (unsigned long long)(len >> 10));
	}
}

/*
 * In every sharer started, the kernel reads and writes the word at
 * region offset @off as the protection there allows, and no more.
 */
static void expect_kernel(const char *phase, uint64_t off)
{
	for (unsigned int i = 0; i < NSH; i++) {
		struct sharer *s = &sh[i];
		bool rd = can_read(s, off), wr = can_write(s, off);
		const bool allowed[NK] = { wr, rd, rd, wr };
		unsigned int bad = 0;
		struct rep r;

		if (!s->started)
			continue;
		if (!ask(s, C_KERNEL, off, 0, want(off), &r))
			bad++;
		for (unsigned int k = 0; !bad && k < NK; k++) {
			bool ok, reads = k == K_PIPE_OUT || k == K_VM_READ;

			if (allowed[k])
				ok = r.kret[k] == 8 && (!reads || r.kval[k] == want(off));
			else
				ok = r.kret[k] == -1 && r.kerr[k] == EFAULT;
			if (!ok) {
				tap_diag("%s: %s: returned %lld, errno %d (%s), read %#llx; wanted %s",
					 s->what, kname[k], (long long)r.kret[k], r.kerr[k],
					 strerror(r.kerr[k]), (unsigned long long)r.kval[k],
					 allowed[k] ? "8 bytes" : "EFAULT");
				bad++;
			}
		}
		tap_ok(!bad, "%s: %s: %s", phase, s->what,
		       rd && wr ? "the kernel reads and writes its memory (pipes, process_vm_*v)" :
		       rd ? "the kernel reads its memory, writing it (read(2) into it, process_vm_writev) is EFAULT" :
		       "the kernel can neither read nor write its memory: EFAULT, pipes and process_vm_*v");
	}
}

/* (d) Each read-write sharer writes a word of its own; all the others read it. */
static void cross_writes(const char *phase)
{
	unsigned int writers = 0, bad = 0;
	struct rep r;

	for (unsigned int i = 0; i < NSH; i++) {
		uint64_t off = (16 + 37 * i) * PAGE + 8 * i;

		if (!sh[i].started || sh[i].ro)
			continue;
		writers++;
		if (!ask(&sh[i], C_WRITE, off, 0, 0x5ca1ab1e00000000ULL | i, &r) ||
		    !access_as(&r.w, true, false, sh[i].base + off, 0, sh[i].what))
			bad++;
	}
	tap_ok(!bad, "%s: each of the %u read-write sharers writes a word", phase,
	       writers);
	for (unsigned int i = 0; i < NSH; i++) {
		unsigned int seen = 0, others = 0;

		if (!sh[i].started)
			continue;
		for (unsigned int j = 0; j < NSH; j++) {
			uint64_t off = (16 + 37 * j) * PAGE + 8 * j;

			if (j == i || !sh[j].started || sh[j].ro)
				continue;
			others++;
			if (ask(&sh[i], C_READ, off, 0, 0, &r) && !r.r.faulted &&
			    r.r.value == (0x5ca1ab1e00000000ULL | j))
				seen++;
		}
		tap_ok(seen == others, "%s: %s reads what the %u other read-write sharers wrote (%u seen)",
		       phase, sh[i].what, others, seen);
	}
	/* Put the data back. */
	for (unsigned int i = 0; i < NSH; i++) {
		uint64_t off = (16 + 37 * i) * PAGE + 8 * i;

		if (sh[i].started && !sh[i].ro)
			ask(&sh[i], C_WRITE, off, 0, want(off), &r);
	}
}

static void test_round_trip(void)
{
	/* Populated words: at page edges, in the middle, at the ends. */
	static const uint64_t data_offs[] = {
		0, PAGE - 8, 3 * PAGE + 16, 4 * MiB + 64, MID + 8, DATA - 8,
	};
	/* All of them, and words of the range never touched before PROT_READ. */
	static const uint64_t all_offs[] = {
		0, PAGE - 8, 3 * PAGE + 16, 4 * MiB + 64, MID + 8, DATA - 8,
		DATA, DATA + 5 * PAGE + 24, LEN - 8,
	};
	/* Around and in the middle page. */
	static const uint64_t mid_offs[] = {
		MID - 8, MID, MID + PAGE / 2, MID + PAGE - 8, MID + PAGE,
		0, DATA - 8,
	};
	const unsigned int nd = sizeof(data_offs) / sizeof(data_offs[0]);
	const unsigned int na = sizeof(all_offs) / sizeof(all_offs[0]);
	const unsigned int nm = sizeof(mid_offs) / sizeof(mid_offs[0]);
	unsigned int distinct = 0;
	struct rep r;
	bool ended = true;

	main_fd = region_new("protect", main_path, sizeof(main_path), align);
	fcntl(main_fd, F_SETFD, FD_CLOEXEC);
	if (!tap_ok(!region_map_anon(main_fd, 0, LEN),
		    "(a) map 9 MiB of anonymous memory at region offset 0"))
		tap_bail("cannot fill the region");
	main_base = region_attach(main_fd, align, RW);
	if (main_base == MAP_FAILED)
		tap_bail("cannot attach the region");
	for (uint64_t o = 0; o < DATA; o += 8)
		*(uint64_t *)(main_base + o) = want(o);
	memset(page_prot, RW, sizeof(page_prot));

	for (unsigned int i = 0; i < NSH; i++) {
		if (sh[i].late)
			continue;
		sharer_start(&sh[i]);
	}
	for (unsigned int i = 0; i < NSH; i++) {
		struct sharer *s = &sh[i];
		bool ok;

		if (!s->started)
			continue;
		ok = ask(s, C_HELLO, 0, 0, 0, &r);
		s->base = r.base;
		if (s->role == R_INHERIT)
			ok &= s->base == (uintptr_t)main_base;
		else if (s->role != R_SELF)
			ok &= s->base != (uintptr_t)main_base;
		ok &= !(s->base % align);
		distinct += ok && s->base != (uintptr_t)main_base;
		tap_ok(ok, "(a) %s attached at %#llx%s", s->what,
		       (unsigned long long)s->base,
		       s->role == R_INHERIT ? ", sharer 0's address" :
		       s->role == R_SELF ? "" : ", not sharer 0's address");
	}
	tap_diag("(a) %u sharers attached away from sharer 0's address", distinct);
	expect("(a) before any PROTECT", data_offs, nd, NULL);
	expect_data("(a) before any PROTECT", 0, DATA);

	/* (b) PROT_READ; two more sharers arrive after it. */
	set_prot(0, LEN, PROT_READ, "(b) PROTECT [0, 9 MiB) PROT_READ");
	for (unsigned int i = 0; i < NSH; i++) {
		struct sharer *s = &sh[i];

		if (!s->late)
			continue;
		sharer_start(s);
		s->base = ask(s, C_HELLO, 0, 0, 0, &r) ? r.base : 0;
		tap_ok(s->base && !(s->base % align) &&
		       (s->role != R_INHERIT || s->base == (uintptr_t)main_base),
		       "(b) %s attached at %#llx", s->what, (unsigned long long)s->base);
	}
	expect("(b) PROT_READ", all_offs, na, NULL);
	expect_data("(b) PROT_READ", 0, LEN);
	expect_kernel("(b) PROT_READ", 3 * PAGE + 16);

	/* (c) PROT_NONE */
	set_prot(0, LEN, PROT_NONE, "(c) PROTECT [0, 9 MiB) PROT_NONE");
	expect("(c) PROT_NONE", all_offs, na, NULL);
	expect_kernel("(c) PROT_NONE", 3 * PAGE + 16);

	/* (d) back to read-write */
	set_prot(0, LEN, RW, "(d) PROTECT [0, 9 MiB) PROT_READ|PROT_WRITE");
	expect("(d) PROT_READ|PROT_WRITE again", all_offs, na, NULL);
	expect_data("(d) PROT_READ|PROT_WRITE again", 0, LEN);
	expect_kernel("(d) PROT_READ|PROT_WRITE again", 3 * PAGE + 16);
	cross_writes("(d) PROT_READ|PROT_WRITE again");

	/* (e)-(g) one page in the middle */
	set_prot(MID, PAGE, PROT_READ, "(e) PROTECT the page at 4000 KiB alone PROT_READ");
	expect("(e) one page PROT_READ", mid_offs, nm,
	       "writes fault in that page only, reads work everywhere");
	expect_kernel("(e) one page PROT_READ", MID + 64);
	expect_kernel("(e) one page PROT_READ, the page after it", MID + PAGE);
	set_prot(MID, PAGE, PROT_NONE, "(f) PROTECT the page at 4000 KiB alone PROT_NONE");
	expect("(f) one page PROT_NONE", mid_offs, nm,
	       "reads and writes fault in that page only");
	set_prot(MID, PAGE, RW, "(g) PROTECT the page at 4000 KiB alone PROT_READ|PROT_WRITE");
	expect("(g) the page read-write again", mid_offs, nm,
	       "reads and writes work everywhere again");
	expect_data("(g) the page read-write again", 0, LEN);

	/* (h), (i) with PROT_EXEC */
	set_prot(0, LEN, RX, "(h) PROTECT [0, 9 MiB) PROT_READ|PROT_EXEC");
	expect("(h) PROT_READ|PROT_EXEC", all_offs, na, NULL);
	set_prot(0, LEN, RWX, "(i) PROTECT [0, 9 MiB) PROT_READ|PROT_WRITE|PROT_EXEC");
	expect("(i) PROT_READ|PROT_WRITE|PROT_EXEC", all_offs, na, NULL);
	set_prot(0, LEN, RW, "(i) PROTECT [0, 9 MiB) PROT_READ|PROT_WRITE");
	expect_data("(i) at the end", 0, LEN);

	for (unsigned int i = 0; i < NSH; i++) {
		int st = sharer_end(&sh[i]);

		if (st) {
			tap_diag("%s ended with status %d", sh[i].what, st);
			ended = false;
		}
	}
	tap_ok(ended, "(i) the sharers exit cleanly");
	munmap(main_base, align);
	close(main_fd);
	unlink(main_path);
}

/* ---- (j)-(m): errors ---- */

/*
 * Write to @p what it holds if it can be read, else @fallback: a write
 * that works changes nothing. The outcome in *@a.
 */
static void rewrite(void *p, uint64_t fallback, struct access *a)
{
	access_word(p, false, 0, a);
	access_word(p, true, a->faulted ? fallback : a->value, a);
}

/* Reading (@wr: writing) @p works; a diagnostic otherwise. */
static bool works(void *p, bool wr)
{
	struct access a;

	if (wr)
		rewrite(p, 0, &a);
	else
		access_word(p, false, 0, &a);
	return access_as(&a, true, false, (uintptr_t)p, 0, "here");
}

/* Reading (@wr: writing) @p faults with SEGV_ACCERR at @p; a diagnostic otherwise. */
static bool accerr(void *p, bool wr)
{
	struct access a;

	if (wr)
		rewrite(p, 0, &a);
	else
		access_word(p, false, 0, &a);
	return access_as(&a, false, !wr, (uintptr_t)p, 0, "here");
}

static int protect_raw(int fd, uint64_t off, uint64_t size, uint32_t prot,
		       uint32_t reserved)
{
	struct mshare_protect p = {
		.region_offset = off,
		.size = size,
		.prot = prot,
		.reserved = reserved,
	};

	return ioctl(fd, MSHAREFS_PROTECT, &p);
}

static void test_args(void)
{
	static const struct {
		uint32_t prot;
		const char *name;
	} bad_prot[] = {
		{ PROT_WRITE, "PROT_WRITE" },
		{ PROT_EXEC, "PROT_EXEC" },
		{ PROT_WRITE | PROT_EXEC, "PROT_WRITE|PROT_EXEC" },
		{ PROT_SEM, "PROT_SEM" },
		{ PROT_READ | PROT_SEM, "PROT_READ|PROT_SEM" },
		{ RW | PROT_SEM, "PROT_READ|PROT_WRITE|PROT_SEM" },
		{ PROT_GROWSDOWN, "PROT_GROWSDOWN" },
		{ PROT_READ | PROT_GROWSDOWN, "PROT_READ|PROT_GROWSDOWN" },
		{ PROT_GROWSUP, "PROT_GROWSUP" },
		{ RW | PROT_GROWSUP, "PROT_READ|PROT_WRITE|PROT_GROWSUP" },
		{ 0x10, "0x10" },
		{ RW | 0x10, "PROT_READ|PROT_WRITE|0x10" },
		{ 0x80000000, "0x80000000" },
		{ PROT_READ | 0x80000000, "PROT_READ|0x80000000" },
		{ 0xffffffff, "0xffffffff" },
	};
	static const struct {
		uint64_t off, size;
		const char *what;
	} bad_range[] = {
		{ 1, PAGE, "region_offset 1" },
		{ PAGE / 2, PAGE, "region_offset 2 KiB" },
		{ PAGE + 8, PAGE, "region_offset 4 KiB + 8" },
		{ 0, 1, "size 1" },
		{ 0, PAGE - 1, "size 4 KiB - 1" },
		{ 0, PAGE + 1, "size 4 KiB + 1" },
		{ 0, MiB + 512, "size 1 MiB + 512" },
		{ 0, 0, "size 0" },
		{ PAGE, 0, "size 0 at 4 KiB" },
	};
	char path[512], upath[512];
	uint64_t outside[][2] = {
		{ align, PAGE },		/* starts at the end */
		{ 2 * align, PAGE },		/* far beyond */
		{ align - PAGE, 2 * PAGE },	/* runs past the end */
		{ 0, align + PAGE },		/* bigger than the region */
		{ -PAGE, PAGE },		/* the last page of the address space */
		{ PAGE, -PAGE },		/* end wraps to 0 */
		{ align - PAGE, -(align - PAGE) + 2 * PAGE },	/* end wraps to 8 KiB */
		{ -PAGE, 2 * PAGE },		/* end wraps to 4 KiB */
	};
	char *base, *guard;
	int fd, rofd, wofd, ufd;

	fd = region_new("protect-args", path, sizeof(path), align);
	if (region_map_anon(fd, 0, MiB))
		tap_bail("cannot fill the region");
	base = region_attach(fd, align, RW);
	if (base == MAP_FAILED)
		tap_bail("cannot attach the region");
	memset(base, 0x5a, MiB);

	rofd = open(path, O_RDONLY | O_CLOEXEC);
	TAP_ERRNO(region_protect(rofd, 0, MiB, PROT_READ), EBADF,
		  "(j) a region fd opened O_RDONLY: EBADF");
	tap_ok(works(base, true), "(j) ... and the memory is still writable");
	close(rofd);
	wofd = open(path, O_WRONLY | O_CLOEXEC);
	if (!tap_ok(wofd >= 0, "(j) the region opens O_WRONLY"))
		tap_diag("open O_WRONLY: %s", strerror(errno));
	TAP_SUCCESS(region_protect(wofd, 0, MiB, PROT_READ),
		    "(j) through the O_WRONLY fd, PROTECT PROT_READ works");
	tap_ok(accerr(base, true) && works(base, false), "(j) ... and took effect");
	TAP_SUCCESS(region_protect(wofd, 0, MiB, RW), "(j) ... and back to read-write");
	if (wofd >= 0)
		close(wofd);

	ufd = region_new("protect-unsized", upath, sizeof(upath), 0);
	TAP_ERRNO(region_protect(ufd, 0, PAGE, PROT_READ), EINVAL,
		  "(j) an unsized region: EINVAL");
	close(ufd);
	unlink(upath);

	TAP_ERRNO(protect_raw(fd, 0, MiB, PROT_READ, 1), EINVAL,
		  "(j) reserved = 1: EINVAL");
	TAP_ERRNO(protect_raw(fd, 0, MiB, PROT_READ, 0x80000000), EINVAL,
		  "(j) reserved = 0x80000000: EINVAL");
	for (unsigned int i = 0; i < sizeof(bad_prot) / sizeof(bad_prot[0]); i++)
		TAP_ERRNO(region_protect(fd, 0, MiB, bad_prot[i].prot), EINVAL,
			  "(j) prot %s: EINVAL", bad_prot[i].name);
	for (unsigned int i = 0; i < sizeof(bad_range) / sizeof(bad_range[0]); i++)
		TAP_ERRNO(region_protect(fd, bad_range[i].off, bad_range[i].size,
					 PROT_READ), EINVAL,
			  "(j) %s: EINVAL", bad_range[i].what);
	for (unsigned int i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
		TAP_ERRNO(region_protect(fd, outside[i][0], outside[i][1], PROT_READ),
			  EINVAL, "(j) region_offset %#llx, size %#llx (outside the region): EINVAL",
			  (unsigned long long)outside[i][0],
			  (unsigned long long)outside[i][1]);
	tap_ok(works(base, true) && works(base + MiB - 8, true),
	       "(j) after all those, the memory is still writable");

	TAP_ERRNO(ioctl(fd, MSHAREFS_PROTECT, NULL), EFAULT,
		  "(j) a NULL argument: EFAULT");
	TAP_ERRNO(ioctl(fd, MSHAREFS_PROTECT, (void *)0xffff888000000000ULL), EFAULT,
		  "(j) a kernel address as the argument: EFAULT");
	guard = mmap(NULL, 2 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || mprotect(guard + PAGE, PAGE, PROT_NONE))
		tap_bail("cannot map a guard page");
	TAP_ERRNO(ioctl(fd, MSHAREFS_PROTECT, guard + PAGE), EFAULT,
		  "(j) an argument in a PROT_NONE page: EFAULT");
	/* The struct starts in a readable page (offset 0, size 1 MiB) and ends in the guard */
	((uint64_t *)(guard + PAGE))[-2] = 0;
	((uint64_t *)(guard + PAGE))[-1] = MiB;
	TAP_ERRNO(ioctl(fd, MSHAREFS_PROTECT, guard + PAGE - 16), EFAULT,
		  "(j) an argument running into a PROT_NONE page: EFAULT");
	tap_ok(works(base, true), "(j) ... and the memory is still writable");
	munmap(guard, 2 * PAGE);

	/* The whole region is a valid range: it fails only for its holes */
	TAP_ERRNO(region_protect(fd, 0, align, PROT_READ), ENOMEM,
		  "(k) the whole region, mapped only in its first MiB: ENOMEM");
	tap_ok(works(base, true), "(k) ... and its first MiB is still writable");

	munmap(base, align);
	close(fd);
	unlink(path);
}

/* (k) A hole: [0, 1M) and [1M, 2M) anonymous, [2M, 3M) nothing, [3M, 4M) anonymous. */
static void test_hole(void)
{
	char path[512], *b;
	int fd;

	fd = region_new("protect-hole", path, sizeof(path), align);
	if (region_map_anon(fd, 0, MiB) || region_map_anon(fd, MiB, MiB) ||
	    region_map_anon(fd, 3 * MiB, MiB))
		tap_bail("cannot fill the region");
	b = region_attach(fd, align, RW);
	if (b == MAP_FAILED)
		tap_bail("cannot attach the region");
	memset(b, 0x11, 2 * MiB);
	memset(b + 3 * MiB, 0x22, MiB);

	TAP_ERRNO(region_protect(fd, 0, 4 * MiB, PROT_READ), ENOMEM,
		  "(k) PROT_READ of [0, 4 MiB) with a hole at [2, 3 MiB): ENOMEM");
	tap_ok(works(b, true) && works(b + MiB - 8, true) && works(b + MiB, true) &&
	       works(b + 2 * MiB - 8, true),
	       "(k) ... the two mappings before the hole are still writable");
	tap_ok(works(b + 3 * MiB, true) && works(b + 4 * MiB - 8, true),
	       "(k) ... and so is the one after it");
	TAP_ERRNO(region_protect(fd, MiB / 2, 2 * MiB, PROT_NONE), ENOMEM,
		  "(k) PROT_NONE of [512 KiB, 2.5 MiB), ending in the hole: ENOMEM");
	tap_ok(works(b + MiB / 2, false) && works(b + MiB / 2, true) &&
	       works(b + 2 * MiB - 8, true),
	       "(k) ... the part before the hole is still readable and writable");
	TAP_ERRNO(region_protect(fd, 5 * MiB / 2, MiB, PROT_READ), ENOMEM,
		  "(k) PROT_READ of [2.5 MiB, 3.5 MiB), starting in the hole: ENOMEM");
	tap_ok(works(b + 3 * MiB, true) && works(b + 7 * MiB / 2 - 8, true),
	       "(k) ... the part after the hole is still writable");
	TAP_ERRNO(region_protect(fd, 2 * MiB, MiB, PROT_READ), ENOMEM,
		  "(k) PROT_READ of the hole alone: ENOMEM");
	TAP_ERRNO(region_protect(fd, 4 * MiB, PAGE, PROT_READ), ENOMEM,
		  "(k) PROT_READ of one page past the last mapping: ENOMEM");

	/* Across two adjacent mappings there is no hole */
	TAP_SUCCESS(region_protect(fd, MiB / 2, MiB, PROT_READ),
		    "(k) PROT_READ of [512 KiB, 1.5 MiB), across two adjacent mappings, works");
	tap_ok(accerr(b + MiB / 2, true) && accerr(b + 3 * MiB / 2 - 8, true) &&
	       works(b + MiB / 2, false) && works(b + MiB / 2 - 8, true) &&
	       works(b + 3 * MiB / 2, true),
	       "(k) ... exactly that range is read-only, in both mappings");
	/* A failure leaves the read-only part read-only */
	TAP_ERRNO(region_protect(fd, 0, 4 * MiB, RW), ENOMEM,
		  "(k) PROT_READ|PROT_WRITE of [0, 4 MiB), with the hole: ENOMEM");
	tap_ok(accerr(b + MiB / 2, true) && accerr(b + 3 * MiB / 2 - 8, true),
	       "(k) ... and [512 KiB, 1.5 MiB) is still read-only");
	TAP_SUCCESS(region_protect(fd, 0, 2 * MiB, RW),
		    "(k) PROT_READ|PROT_WRITE of [0, 2 MiB) works");
	tap_ok(works(b + MiB / 2, true) && works(b + 3 * MiB / 2 - 8, true),
	       "(k) ... and it is writable again");

	munmap(b, align);
	close(fd);
	unlink(path);
}

/*
 * (l) A file opened O_RDONLY in @dir, mapped PROT_READ at [1, 2 MiB) of a
 * region after anonymous memory at [0, 1 MiB): making it writable is
 * EACCES and changes nothing.
 */
static void test_eacces(const char *dir, const char *fs)
{
	char path[512], fpath[512], *b;
	unsigned char buf[256];
	int fd, ffd, i;
	bool ok;

	snprintf(fpath, sizeof(fpath), "%s/protect-ro.%d", dir, (int)getpid());
	ffd = open(fpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ffd < 0 || ftruncate(ffd, MiB)) {
		tap_diag("%s: %s", fpath, strerror(errno));
		tap_skip("cannot create a file",
			 "(l) %s: EACCES for PROT_WRITE on a read-only file", fs);
		if (ffd >= 0)
			close(ffd);
		return;
	}
	for (i = 0; i < 256; i++)
		buf[i] = i;
	ok = pwrite(ffd, buf, sizeof(buf), 0) == sizeof(buf) &&
	     pwrite(ffd, buf, sizeof(buf), MiB - sizeof(buf)) == sizeof(buf);
	close(ffd);
	ffd = open(fpath, O_RDONLY | O_CLOEXEC);
	if (!ok || ffd < 0)
		tap_bail("cannot write the read-only file's data");

	fd = region_new("protect-acc", path, sizeof(path), align);
	if (region_map_anon(fd, 0, MiB))
		tap_bail("cannot fill the region");
	TAP_SUCCESS(region_map(fd, MiB, MiB, PROT_READ, MAP_SHARED | MAP_FIXED, ffd, 0),
		    "(l) %s: map a file opened O_RDONLY, PROT_READ, at [1, 2 MiB)", fs);
	close(ffd);
	b = region_attach(fd, align, RW);
	if (b == MAP_FAILED)
		tap_bail("cannot attach the region");
	memset(b, 0x33, MiB);
	tap_ok(works(b + MiB, false) && b[MiB + 7] == 7 && (uint8_t)b[2 * MiB - 1] == 255 &&
	       accerr(b + MiB, true),
	       "(l) %s: it reads the file's data and writes there fault", fs);

	TAP_ERRNO(region_protect(fd, MiB, MiB, RW), EACCES,
		  "(l) %s: PROT_READ|PROT_WRITE of it: EACCES", fs);
	TAP_ERRNO(region_protect(fd, MiB, MiB, RWX), EACCES,
		  "(l) %s: PROT_READ|PROT_WRITE|PROT_EXEC of it: EACCES", fs);
	TAP_ERRNO(region_protect(fd, MiB + PAGE, PAGE, RW), EACCES,
		  "(l) %s: PROT_READ|PROT_WRITE of one page of it: EACCES", fs);
	tap_ok(accerr(b + MiB, true) && accerr(b + MiB + PAGE, true) &&
	       works(b + MiB + PAGE, false),
	       "(l) %s: ... it is still read-only", fs);

	TAP_SUCCESS(region_protect(fd, 0, MiB, PROT_READ),
		    "(l) %s: PROT_READ of the anonymous [0, 1 MiB)", fs);
	TAP_ERRNO(region_protect(fd, 0, 2 * MiB, RW), EACCES,
		  "(l) %s: PROT_READ|PROT_WRITE of [0, 2 MiB), the anonymous memory and the file: EACCES",
		  fs);
	tap_ok(accerr(b, true) && accerr(b + MiB - 8, true) && works(b, false),
	       "(l) %s: ... the anonymous memory before the file is still read-only", fs);
	TAP_SUCCESS(region_protect(fd, 0, 2 * MiB, PROT_NONE),
		    "(l) %s: PROT_NONE of [0, 2 MiB) works", fs);
	tap_ok(accerr(b + MiB, false) && accerr(b, false),
	       "(l) %s: ... reads fault in the file and before it", fs);
	TAP_SUCCESS(region_protect(fd, 0, 2 * MiB, PROT_READ),
		    "(l) %s: PROT_READ of [0, 2 MiB) works", fs);
	tap_ok(works(b + MiB, false) && b[MiB + 7] == 7 && b[7] == 0x33,
	       "(l) %s: ... and both read their data again", fs);
	TAP_SUCCESS(region_protect(fd, 0, MiB, RW),
		    "(l) %s: PROT_READ|PROT_WRITE of the anonymous memory alone works", fs);
	tap_ok(works(b, true), "(l) %s: ... and it is writable", fs);

	munmap(b, align);
	close(fd);
	unlink(path);
	unlink(fpath);
}

/* ---- (m) hugetlb ---- */

static long saved_nr_huge = -1;

static long read_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

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
	int fd = open(path, O_WRONLY | O_CLOEXEC), n;
	bool ok;

	if (fd < 0)
		return false;
	n = snprintf(buf, sizeof(buf), "%ld\n", val);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok;
}

/* At exit, even a bail-out: give back the huge pages we reserved. */
static void restore_huge(void)
{
	if (saved_nr_huge >= 0)
		write_long(NR_HUGE, saved_nr_huge);
	saved_nr_huge = -1;
}

/* Make @want free 2 MiB huge pages; false if there cannot be. */
static bool huge_pages(long want)
{
	long nr = read_long(NR_HUGE), avail;

	/* Free pages not promised to a mapping already */
	avail = proc_kb("/proc/meminfo", "HugePages_Free") -
		proc_kb("/proc/meminfo", "HugePages_Rsvd");
	if (nr < 0 || proc_kb("/proc/meminfo", "Hugepagesize") != 2048)
		return false;
	if (avail >= want)
		return true;
	saved_nr_huge = nr;
	atexit(restore_huge);
	write_long(NR_HUGE, nr + want - avail);
	return proc_kb("/proc/meminfo", "HugePages_Free") -
	       proc_kb("/proc/meminfo", "HugePages_Rsvd") >= want;
}

/* [3, 4 MiB) anonymous, [4, 8 MiB) anonymous hugetlb: two 2 MiB pages. */
static void test_huge(void)
{
	const uint64_t H = 4 * MiB;
	char path[512], *b;
	int fd;

	if (!huge_pages(2)) {
		tap_skip("no 2 MiB huge pages to be had", "(m) hugetlb");
		restore_huge();
		return;
	}
	fd = region_new("protect-huge", path, sizeof(path), align);
	if (region_map_anon(fd, H - MiB, MiB))
		tap_bail("cannot fill the region");
	if (region_map(fd, H, 2 * HPAGE, RW,
		       MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
		       -1, 0)) {
		tap_diag("CREATE_MAPPING of hugetlb memory: %s", strerror(errno));
		tap_skip("no hugetlb memory", "(m) hugetlb");
		goto out_fd;
	}
	b = region_attach(fd, align, RW);
	if (b == MAP_FAILED)
		tap_bail("cannot attach the region");
	memset(b + H - MiB, 0x44, MiB);
	memset(b + H, 0x55, 2 * HPAGE);

	TAP_ERRNO(region_protect(fd, H + PAGE, PAGE, PROT_READ), EINVAL,
		  "(m) PROT_READ of one 4 KiB page inside a huge page: EINVAL");
	TAP_ERRNO(region_protect(fd, H, MiB, PROT_READ), EINVAL,
		  "(m) PROT_READ of the first half of a huge page: EINVAL");
	TAP_ERRNO(region_protect(fd, H + MiB, HPAGE, PROT_NONE), EINVAL,
		  "(m) PROT_NONE of [1 MiB, 3 MiB) of the hugetlb mapping: EINVAL");
	TAP_ERRNO(region_protect(fd, H + HPAGE, HPAGE - PAGE, PROT_READ), EINVAL,
		  "(m) PROT_READ of the second huge page but its last 4 KiB: EINVAL");
	TAP_ERRNO(region_protect(fd, H - MiB, 2 * MiB, PROT_READ), EINVAL,
		  "(m) PROT_READ of the small pages before it and half a huge page: EINVAL");
	tap_ok(works(b + H - MiB, true) && works(b + H - 8, true),
	       "(m) ... the small pages before it are still writable");
	tap_ok(works(b + H, true) && works(b + H + MiB, true) &&
	       works(b + H + HPAGE, true) && works(b + H + 2 * HPAGE - 8, true),
	       "(m) ... and so is all of the hugetlb memory");

	TAP_SUCCESS(region_protect(fd, H, HPAGE, PROT_READ),
		    "(m) PROT_READ of the first huge page works");
	tap_ok(accerr(b + H, true) && accerr(b + H + HPAGE - 8, true) &&
	       works(b + H + MiB, false) && (uint8_t)b[H + 5] == 0x55 &&
	       works(b + H + HPAGE, true) && works(b + H - 8, true),
	       "(m) ... exactly that huge page is read-only");
	TAP_SUCCESS(region_protect(fd, H - MiB, MiB + 2 * HPAGE, PROT_NONE),
		    "(m) PROT_NONE of the small pages and both huge pages works");
	tap_ok(accerr(b + H - MiB, false) && accerr(b + H, false) &&
	       accerr(b + H + 2 * HPAGE - 8, false),
	       "(m) ... reads fault in all of it");
	TAP_SUCCESS(region_protect(fd, H - MiB, MiB + 2 * HPAGE, RW),
		    "(m) PROT_READ|PROT_WRITE of all of it works");
	tap_ok(works(b + H - MiB, true) && works(b + H, true) &&
	       works(b + H + 2 * HPAGE - 8, true) && (uint8_t)b[H + HPAGE + 9] == 0x55 &&
	       (uint8_t)b[H - 9] == 0x44,
	       "(m) ... it is writable again, its data intact");

	munmap(b, align);
out_fd:
	close(fd);
	unlink(path);
	restore_huge();
}

/* ---- (n) PROT_EXEC ---- */

#if defined(__x86_64__)
static const uint8_t ret_insn[] = { 0xc3 };			/* ret */
#elif defined(__aarch64__)
static const uint8_t ret_insn[] = { 0xc0, 0x03, 0x5f, 0xd6 };	/* ret */
#endif

/* Does the CPU refuse to run code from memory mapped without PROT_EXEC? */
static bool have_nx(void)
{
#if defined(__x86_64__)
	char line[4096];
	bool nx = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!nx && fgets(line, sizeof(line), f))
		nx = !strncmp(line, "flags", 5) && strstr(line, " nx");
	fclose(f);
	return nx;
#elif defined(__aarch64__)
	return true;
#else
	return false;
#endif
}

/* Call the function at @p: 1 if it ran, 0 if that faulted with SEGV_ACCERR at @p, else -1. */
static int run_at(void *p)
{
	struct sigaction old[2];
	volatile int ran = -1;

	catch_faults(old);
	if (!sigsetjmp(probe_env, 1)) {
		((void (*)(void))p)();
		ran = 1;
	} else if (probe_si.si_signo == SIGSEGV && probe_si.si_code == SEGV_ACCERR &&
		   probe_si.si_addr == p) {
		ran = 0;
	} else {
		tap_diag("running %p: signal %d, si_code %d, si_addr %p", p,
			 probe_si.si_signo, probe_si.si_code, probe_si.si_addr);
	}
	uncatch_faults(old);
	return ran;
}

/*
 * (n) Code in a region runs where both the region's protection and the
 * attach's have PROT_EXEC, and nowhere else.
 */
static void test_exec(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	char path[512], *rw, *rx;
	int fd;

	if (!have_nx()) {
		tap_skip("the CPU executes any readable page", "(n) PROT_EXEC");
		return;
	}
	fd = region_new("protect-exec", path, sizeof(path), align);
	if (region_map_anon(fd, 0, MiB))
		tap_bail("cannot fill the region");
	rw = region_attach(fd, align, RW);
	rx = region_attach(fd, align, RX);
	if (rw == MAP_FAILED || rx == MAP_FAILED)
		tap_bail("cannot attach the region");
	for (uint64_t o = 0; o < MiB; o += sizeof(ret_insn))
		memcpy(rw + o, ret_insn, sizeof(ret_insn));
	__builtin___clear_cache(rw, rw + MiB);

	tap_ok(!run_at(rx + PAGE),
	       "(n) region read-write: a PROT_READ|PROT_EXEC attach cannot run code there");
	TAP_SUCCESS(region_protect(fd, 0, MiB, RX), "(n) PROTECT PROT_READ|PROT_EXEC");
	tap_ok(run_at(rx + PAGE) == 1 && run_at(rx + 5 * PAGE) == 1,
	       "(n) ... the PROT_READ|PROT_EXEC attach runs code there");
	tap_ok(!run_at(rw + 2 * PAGE), "(n) ... a read-write attach (no PROT_EXEC) still cannot");
	TAP_SUCCESS(region_protect(fd, 0, MiB, PROT_READ), "(n) PROTECT PROT_READ");
	tap_ok(!run_at(rx + PAGE),
	       "(n) ... the PROT_READ|PROT_EXEC attach can no longer run code there");
	TAP_SUCCESS(region_protect(fd, 0, MiB, RWX), "(n) PROTECT PROT_READ|PROT_WRITE|PROT_EXEC");
	tap_ok(run_at(rx + PAGE) == 1 && works(rw + 8, true),
	       "(n) ... it runs code there again, and the read-write attach writes");
	munmap(rx, align);
	munmap(rw, align);
	close(fd);
	unlink(path);
#else
	tap_skip("no return instruction known for this architecture", "(n) PROT_EXEC");
#endif
}

/* An exec'd sharer: "sharer PATH AVOID". */
static int child_main(int argc, char **argv)
{
	int status = EINVAL;
	char *base = NULL;

	if (argc == 4 && !strcmp(argv[1], "sharer"))
		base = attach_by_name(argv[2], O_RDWR, RW,
				      (void *)(uintptr_t)strtoull(argv[3], NULL, 0),
				      &status);
	serve(base, status);
}

int main(int argc, char **argv)
{
	const char *disk = getenv("VM_DISK");

	if (argc > 1) {
		align = mshare_align_raw();
		return child_main(argc, argv);
	}
	require_msharefs();
	align = mshare_align_raw();
	signal(SIGPIPE, SIG_IGN);

	test_round_trip();
	test_args();
	test_hole();
	test_eacces("/tmp", "tmpfs");
	if (!disk || !*disk)
		disk = "/mnt/disk";
	if (!access(disk, W_OK))
		test_eacces(disk, "ext4");
	else
		tap_skip("no $VM_DISK", "(l) ext4: EACCES for PROT_WRITE on a read-only file");
	test_huge();
	test_exec();
	return tap_done();
}
