// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sharing a region's memory, and how long it lives (issue 3 contract):
 *
 * - processes that attach one region (forked ones, and exec'd ones that
 *   open it by name), at different addresses, one of them at an explicit
 *   MAP_FIXED_NOREPLACE address, each read what all the others wrote;
 * - a forked child inherits the attach at the same address and shares
 *   writes both ways; after it execs, its maps no longer have the container;
 * - MSHAREFS_UNMAP with several sharers attached: each of them then gets
 *   SIGSEGV (SEGV_MAPERR, si_addr its own address) there, and mapping the
 *   range again gives every sharer the same fresh zeroed memory;
 * - unlink while attached: the attachers go on, a process holding an fd
 *   can still attach and map, a new open by name is ENOENT;
 * - the process that created, sized and filled a region exits: the others
 *   still read its data and can map more into it;
 * - the region's memory is freed once the last fd and attach are gone.
 *
 * The children report to the parent through a pipe each, and wait on
 * another for the go of the next step, so all the assertions are made by
 * the parent. Exec'd children are this program run again with a role.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "guest.h"

#define MiB		(1024ULL * 1024)
#define PAGE		4096ULL
#define BIG		(64 * MiB)	/* anonymous memory at region offset 0 */
#define SMALL		(2 * MiB)	/* and at region offset align / 2 */
#define FREE_SIZE	(256 * MiB)	/* the region whose memory must be freed */

/* A child's ends of its report and go pipes, kept across exec. */
#define PEER_UP		100
#define PEER_DOWN	101

static uint64_t align;

/* region_new(), with the fd closed on exec: exec'd children open by name. */
static int new_region(const char *name, char *path, size_t len)
{
	int fd = region_new(name, path, len, align);

	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* The word page @page holds when sharer @who wrote it. */
static uint64_t pat(unsigned int who, uint64_t page)
{
	return (((page + 1) * 0x9e3779b97f4a7c15ULL) ^
		((uint64_t)(who + 1) << 56)) | 1;
}

/*
 * Write the first word of pages of [@base, @base + @size): with @n, the
 * pages p where p % @n == @who get pat(@who, p); with @n == 0, all pages.
 */
static void write_pages(char *base, uint64_t size, unsigned int n,
			unsigned int who)
{
	for (uint64_t p = n ? who : 0; p < size / PAGE; p += n ? n : 1)
		*(volatile uint64_t *)(base + p * PAGE) = pat(who, p);
}

/*
 * Pages of [@base, @base + @size) not holding what write_pages() put
 * there: with @n, written by sharer p % @n each; with @n == 0, by @who.
 */
static int check_pages(const char *base, uint64_t size, unsigned int n,
		       unsigned int who)
{
	int bad = 0;

	for (uint64_t p = 0; p < size / PAGE; p++)
		if (*(const volatile uint64_t *)(base + p * PAGE) !=
		    pat(n ? p % n : who, p))
			bad++;
	return bad;
}

/* Pages of [@base, @base + @size) with a non-zero byte. */
static int nonzero_pages(const char *base, uint64_t size)
{
	int bad = 0;

	for (uint64_t p = 0; p < size / PAGE; p++) {
		const volatile uint64_t *w = (const void *)(base + p * PAGE);

		for (unsigned int i = 0; i < PAGE / 8; i++) {
			if (w[i]) {
				bad++;
				break;
			}
		}
	}
	return bad;
}

/* Accessing an address, expecting SIGSEGV. */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probe_signo, probe_code;
static void *volatile probe_addr;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	probe_signo = sig;
	probe_code = si->si_code;
	probe_addr = si->si_addr;
	siglongjmp(probe_env, 1);
}

/* Read (or write, with @wr) the word at @p; true if that raised a signal. */
static bool probe(volatile uint64_t *p, bool wr)
{
	struct sigaction sa = {
		.sa_sigaction = probe_handler,
		.sa_flags = SA_SIGINFO,
	}, old_segv, old_bus;
	volatile bool faulted = true;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	probe_signo = 0;
	probe_addr = NULL;
	if (!sigsetjmp(probe_env, 1)) {
		if (wr)
			*p = 1;
		else
			(void)*p;
		faulted = false;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return faulted;
}

/*
 * After MSHAREFS_UNMAP of [0, BIG): reads and writes there must raise
 * SIGSEGV with SEGV_MAPERR at the very address touched. Returns how many
 * probes did not; the first of them in *@what (signal << 32 | code, 0 if
 * no signal) and *@where (si_addr).
 */
static int unmap_probes(char *base, uint64_t *what, uint64_t *where)
{
	static const struct {
		uint64_t off;
		bool wr;
	} pr[] = {
		{ 0, false },
		{ 1000 * PAGE + 8, false },
		{ 5 * PAGE + 16, true },
		{ BIG - 8, true },
	};
	int bad = 0;

	*what = *where = 0;
	for (unsigned int i = 0; i < sizeof(pr) / sizeof(pr[0]); i++) {
		volatile uint64_t *p = (void *)(base + pr[i].off);
		bool faulted = probe(p, pr[i].wr);

		if (faulted && probe_signo == SIGSEGV &&
		    probe_code == SEGV_MAPERR && probe_addr == (void *)p)
			continue;
		if (!bad++) {
			*what = faulted ? (uint64_t)probe_signo << 32 |
					  (uint32_t)probe_code : 0;
			*where = (uintptr_t)probe_addr;
		}
	}
	return bad;
}

/*
 * /proc/@pid/maps: the number of lines that name @name or cover @addr;
 * *@exact tells whether one of them is [@addr, @addr + align) naming
 * @name. -1 if the file cannot be read.
 */
static int maps_scan(pid_t pid, uint64_t addr, const char *name, bool *exact)
{
	char file[64], line[1024];
	int hits = 0;
	FILE *f;

	*exact = false;
	snprintf(file, sizeof(file), "/proc/%d/maps", (int)pid);
	f = fopen(file, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		bool named = strstr(line, name);

		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		if (named || (addr >= s && addr < e))
			hits++;
		if (named && s == addr && e == addr + align)
			*exact = true;
	}
	fclose(f);
	return hits;
}

/* What the parent and a child tell each other. */
struct msg {
	int32_t step;
	int32_t status;		/* 0: as expected */
	uint64_t value;
	uint64_t aux;
};

/* A child, seen from the parent. */
struct peer {
	pid_t pid;
	int up;			/* its reports */
	int down;		/* its go bytes */
	struct msg m;		/* its last report */
};

/* Child side: report on @step. */
static void say(int32_t step, int32_t status, uint64_t value, uint64_t aux)
{
	struct msg m = {
		.step = step,
		.status = status,
		.value = value,
		.aux = aux,
	};

	if (write(PEER_UP, &m, sizeof(m)) != sizeof(m))
		_exit(122);
}

/* Child side: report a failure that ends the child. */
static void __attribute__((noreturn)) fail(int32_t step, int err)
{
	say(step, err ? err : -1, 0, 0);
	_exit(1);
}

/* Child side: wait for the go of the next step; 'q' ends the child. */
static void hear(void)
{
	char c;

	if (read(PEER_DOWN, &c, 1) != 1)
		_exit(123);
	if (c == 'q')
		_exit(0);
}

static void __attribute__((noreturn)) hear_until_end(void)
{
	for (;;)
		hear();
}

/*
 * Start a child with its pipe ends at PEER_UP and PEER_DOWN: it runs
 * @fn(@arg), or with @argv this program again.
 */
static void peer_start(struct peer *p, int (*fn)(void *), void *arg,
		       char *const *argv)
{
	int up[2], down[2];

	if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC))
		tap_bail("pipe2 failed");
	fflush(stdout);
	p->pid = fork();
	if (p->pid < 0)
		tap_bail("fork failed");
	if (!p->pid) {
		if (dup2(up[1], PEER_UP) < 0 || dup2(down[0], PEER_DOWN) < 0)
			_exit(120);
		if (argv) {
			execv("/proc/self/exe", argv);
			_exit(121);
		}
		_exit(fn(arg));
	}
	close(up[1]);
	close(down[0]);
	p->up = up[0];
	p->down = down[1];
}

/* Exec'd child: this program with "ROLE IDX N PATH ADDR". */
static void peer_exec(struct peer *p, const char *role, unsigned int idx,
		      unsigned int n, const char *path, uint64_t addr)
{
	char a_idx[16], a_n[16], a_addr[32];
	char *argv[] = { "test-share", (char *)role, a_idx, a_n,
			 (char *)path, a_addr, NULL };

	snprintf(a_idx, sizeof(a_idx), "%u", idx);
	snprintf(a_n, sizeof(a_n), "%u", n);
	snprintf(a_addr, sizeof(a_addr), "%#llx", (unsigned long long)addr);
	peer_start(p, NULL, NULL, argv);
}

/* Parent side: read @p's report on @step; false if none came. */
static bool peer_get(struct peer *p, int step)
{
	ssize_t n = read(p->up, &p->m, sizeof(p->m));

	if (n != sizeof(p->m) || p->m.step != step) {
		tap_diag("child %d: no report for step %d (got %zd bytes, step %d)",
			 (int)p->pid, step, n, n == sizeof(p->m) ? p->m.step : -1);
		p->m = (struct msg){ .step = step, .status = -1 };
		return false;
	}
	return true;
}

static void peers_get(struct peer *p, unsigned int n, int step)
{
	for (unsigned int i = 0; i < n; i++)
		peer_get(&p[i], step);
}

static void peer_go(struct peer *p, char c)
{
	if (write(p->down, &c, 1) != 1)
		tap_diag("child %d is gone", (int)p->pid);
}

static void peers_go(struct peer *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		peer_go(&p[i], 'g');
}

/* End @p and reap it: its exit status, -1 if it did not exit normally. */
static int peer_end(struct peer *p)
{
	int status;

	peer_go(p, 'q');
	close(p->down);
	close(p->up);
	if (waitpid(p->pid, &status, 0) != p->pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* All of @p ended with status 0? */
static bool peers_end(struct peer *p, unsigned int n)
{
	bool ok = true;

	for (unsigned int i = 0; i < n; i++) {
		int st = peer_end(&p[i]);

		if (st) {
			tap_diag("child %d ended with status %d", (int)p[i].pid, st);
			ok = false;
		}
	}
	return ok;
}

/* What a child does. Exec'd children get it from their command line. */
struct role {
	unsigned int idx, n;	/* sharer number, number of sharers */
	const char *path;	/* open the region by name */
	int fd;			/* or use this inherited fd (>= 0) */
	uint64_t addr;		/* attach here (MAP_FIXED_NOREPLACE); 0: anywhere */
	char *inherited;	/* the attach inherited by fork */
	bool keep;		/* use it; otherwise detach it first */
	bool late;		/* attach only at step 2 */
};

/* Attach the region read-write, at @addr or anywhere; MAP_FAILED and errno. */
static char *attach(const char *path, int fd, uint64_t addr)
{
	int f = fd >= 0 ? fd : open(path, O_RDWR | O_CLOEXEC);
	void *p = MAP_FAILED;
	struct stat st;
	int err;

	if (f < 0)
		return MAP_FAILED;
	if (!fstat(f, &st))
		p = mmap((void *)(uintptr_t)addr, st.st_size,
			 PROT_READ | PROT_WRITE,
			 MAP_SHARED | (addr ? MAP_FIXED_NOREPLACE : 0), f, 0);
	err = errno;
	if (fd < 0)
		close(f);
	errno = err;
	return p;
}

/* A child's attach as its role says; ends the child on failure. */
static char *role_attach(const struct role *r, int step)
{
	char *base;

	if (r->inherited) {
		if (r->keep)
			return r->inherited;
		if (munmap(r->inherited, align))
			fail(step, errno);
	}
	base = attach(r->path, r->fd, r->addr);
	if (base == MAP_FAILED)
		fail(step, errno);
	return base;
}

/* (a) A sharer: write its pages, then read everyone's. */
static int sharer_child(void *arg)
{
	const struct role *r = arg;
	char *base = role_attach(r, 1);

	say(1, 0, (uintptr_t)base, 0);
	hear();
	write_pages(base, BIG, r->n, r->idx);
	write_pages(base + align / 2, SMALL, r->n, r->idx);
	say(2, 0, 0, 0);
	hear();
	say(3, check_pages(base, BIG, r->n, 0) +
	       check_pages(base + align / 2, SMALL, r->n, 0), 0, 0);
	hear_until_end();
}

static void test_sharers(void)
{
	enum { NS = 5 };
	static const char *const what[NS] = {
		"the creator, attached anywhere",
		"forked, inherited attach",
		"forked, detached and re-attached at creator - 2 * align",
		"exec'd, opened by name, attached anywhere",
		"exec'd, opened by name, attached at creator - 4 * align",
	};
	struct peer peers[NS - 1], *pr;
	struct role roles[NS];
	uint64_t addr[NS], want[NS] = { 0 };
	unsigned int distinct = 0;
	char path[512], *base;
	int fd;

	fd = new_region("share-multi", path, sizeof(path));
	TAP_SUCCESS(region_map_anon(fd, 0, BIG),
		    "(a) map 64 MiB of anonymous memory at region offset 0");
	TAP_SUCCESS(region_map_anon(fd, align / 2, SMALL),
		    "(a) map 2 MiB at region offset align / 2");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		tap_bail("cannot attach a region");
	if ((uintptr_t)base < 5 * align)
		tap_bail("the attach address leaves no room below it");
	addr[0] = (uintptr_t)base;
	want[2] = addr[0] - 2 * align;
	want[4] = addr[0] - 4 * align;

	for (unsigned int i = 1; i < NS; i++) {
		roles[i] = (struct role){
			.idx = i, .n = NS, .path = path, .fd = -1,
			.addr = want[i],
		};
		pr = &peers[i - 1];
		if (i <= 2) {
			roles[i].inherited = base;
			roles[i].keep = i == 1;
			peer_start(pr, sharer_child, &roles[i], NULL);
		} else {
			peer_exec(pr, "sharer", i, NS, path, want[i]);
		}
	}

	peers_get(peers, NS - 1, 1);
	tap_ok(!(addr[0] % align), "(a) sharer 0 (%s) at %#llx: aligned", what[0],
	       (unsigned long long)addr[0]);
	for (unsigned int i = 1; i < NS; i++) {
		struct msg *m = &peers[i - 1].m;

		addr[i] = m->value;
		if (m->status)
			tap_diag("sharer %u: attach failed: %s", i,
				 m->status > 0 ? strerror(m->status) : "child died");
		tap_ok(!m->status && !(addr[i] % align) &&
		       (!want[i] || addr[i] == want[i]),
		       "(a) sharer %u (%s) at %#llx: aligned%s", i, what[i],
		       (unsigned long long)addr[i],
		       want[i] ? ", where it asked" : "");
	}
	for (unsigned int i = 0; i < NS; i++) {
		unsigned int j = 0;

		while (j < i && addr[j] != addr[i])
			j++;
		distinct += j == i;
	}
	tap_ok(distinct >= 3, "(a) the %d sharers use %u different addresses",
	       NS, distinct);

	/* Everyone writes its pages, then everyone reads all of them. */
	write_pages(base, BIG, NS, 0);
	write_pages(base + align / 2, SMALL, NS, 0);
	peers_go(peers, NS - 1);
	peers_get(peers, NS - 1, 2);
	peers_go(peers, NS - 1);
	tap_ok(!check_pages(base, BIG, NS, 0) &&
	       !check_pages(base + align / 2, SMALL, NS, 0),
	       "(a) sharer 0 reads what every sharer wrote, in both mappings");
	peers_get(peers, NS - 1, 3);
	for (unsigned int i = 1; i < NS; i++)
		tap_ok(!peers[i - 1].m.status,
		       "(a) sharer %u reads what every sharer wrote (%d pages wrong)",
		       i, peers[i - 1].m.status);
	tap_ok(peers_end(peers, NS - 1), "(a) the sharers exit cleanly");
	tap_ok(!check_pages(base, BIG, NS, 0),
	       "(a) the data outlives the other sharers' exit");
	munmap(base, align);
	close(fd);
	unlink(path);
}

/* (b) The forked child: it has the parent's attach; then it execs. */
struct fork_ctx {
	char *base;
	const char *name;
};

static int fork_child(void *arg)
{
	const struct fork_ctx *c = arg;
	char *argv[] = { "test-share", "waiter", NULL };
	volatile uint64_t *w = (void *)c->base;
	int32_t st = 0;
	bool exact;

	if (maps_scan(getpid(), (uintptr_t)c->base, c->name, &exact) != 1 ||
	    !exact)
		st |= 1;
	if (w[0] != pat(0, 0) || w[100 * PAGE / 8] != pat(0, 100))
		st |= 2;
	w[PAGE / 8] = pat(1, 1);
	w[5000 * PAGE / 8] = pat(1, 5000);
	say(1, st, 0, 0);
	hear();
	say(2, w[2 * PAGE / 8] != pat(0, 2), 0, 0);
	hear();
	execv("/proc/self/exe", argv);
	return 121;
}

static void test_fork(void)
{
	struct fork_ctx c;
	struct peer child;
	volatile uint64_t *w;
	char path[512];
	bool exact;
	int fd, hits;

	fd = new_region("share-fork", path, sizeof(path));
	if (region_map_anon(fd, 0, BIG))
		tap_bail("cannot map memory into a region");
	c.base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (c.base == MAP_FAILED)
		tap_bail("cannot attach a region");
	c.name = strrchr(path, '/') + 1;
	w = (void *)c.base;
	w[0] = pat(0, 0);
	w[100 * PAGE / 8] = pat(0, 100);

	peer_start(&child, fork_child, &c, NULL);
	peer_get(&child, 1);
	if (child.m.status)
		tap_diag("child status %d (1: not in its own maps at %p, 2: parent's data)",
			 child.m.status, c.base);
	tap_ok(!child.m.status,
	       "(b) a forked child has the container at the parent's address in its maps and reads the parent's data");
	hits = maps_scan(child.pid, (uintptr_t)c.base, c.name, &exact);
	tap_ok(hits == 1 && exact,
	       "(b) /proc/PID/maps of the child shows one container line at %p naming the region",
	       c.base);
	tap_ok(w[PAGE / 8] == pat(1, 1) && w[5000 * PAGE / 8] == pat(1, 5000),
	       "(b) the parent reads the child's writes");
	w[2 * PAGE / 8] = pat(0, 2);
	peer_go(&child, 'g');
	peer_get(&child, 2);
	tap_ok(!child.m.status, "(b) the child reads a write the parent made after the fork");

	peer_go(&child, 'g');		/* exec */
	peer_get(&child, 3);
	hits = maps_scan(child.pid, (uintptr_t)c.base, c.name, &exact);
	tap_ok(!child.m.status && hits == 0,
	       "(b) after exec the child's maps have no container (%d lines)", hits);
	tap_ok(!peer_end(&child), "(b) the exec'd child exits cleanly");
	tap_ok(w[PAGE / 8] == pat(1, 1) && w[2 * PAGE / 8] == pat(0, 2),
	       "(b) the parent's attach works after the child's exec and exit");
	munmap(c.base, align);
	close(fd);
	unlink(path);
}

/* (c) A sharer across MSHAREFS_UNMAP and a new CREATE_MAPPING. */
static int unmap_child(void *arg)
{
	const struct role *r = arg;
	char *base = role_attach(r, 1);
	uint64_t what, where;
	int bad;

	write_pages(base, BIG, r->n, r->idx);
	write_pages(base + align / 2, SMALL, r->n, r->idx);
	say(1, 0, (uintptr_t)base, 0);
	hear();				/* the parent unmapped [0, BIG) */
	bad = unmap_probes(base, &what, &where);
	say(2, bad, what, where);
	say(3, check_pages(base + align / 2, SMALL, r->n, 0), 0, 0);
	hear();				/* the parent mapped it again */
	say(4, nonzero_pages(base, BIG), 0, 0);
	hear();
	write_pages(base, BIG, r->n, r->idx);
	say(5, 0, 0, 0);
	hear();
	say(6, check_pages(base, BIG, r->n, 0), 0, 0);
	hear_until_end();
}

static void test_unmap(void)
{
	enum { NS = 3 };
	static const char *const what[NS] = {
		"the parent", "forked, attached at parent - 2 * align",
		"exec'd, attached anywhere",
	};
	struct peer peers[NS - 1];
	struct role r1;
	uint64_t what0, where0;
	char path[512], *base;
	int fd, bad;

	fd = new_region("share-unmap", path, sizeof(path));
	if (region_map_anon(fd, 0, BIG) || region_map_anon(fd, align / 2, SMALL))
		tap_bail("cannot map memory into a region");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		tap_bail("cannot attach a region");
	write_pages(base, BIG, NS, 0);
	write_pages(base + align / 2, SMALL, NS, 0);
	r1 = (struct role){
		.idx = 1, .n = NS, .path = path, .fd = -1,
		.addr = (uintptr_t)base - 2 * align, .inherited = base,
	};
	peer_start(&peers[0], unmap_child, &r1, NULL);
	peer_exec(&peers[1], "unmapper", 2, NS, path, 0);
	peers_get(peers, NS - 1, 1);
	for (unsigned int i = 1; i < NS; i++)
		if (peers[i - 1].m.status)
			tap_diag("sharer %u could not attach: status %d", i,
				 peers[i - 1].m.status);
	tap_diag("(c) sharers at %p, %#llx, %#llx", base,
		 (unsigned long long)peers[0].m.value,
		 (unsigned long long)peers[1].m.value);

	TAP_SUCCESS(region_unmap(fd, 0, BIG),
		    "(c) MSHAREFS_UNMAP of the 64 MiB with 3 sharers attached");
	peers_go(peers, NS - 1);
	bad = unmap_probes(base, &what0, &where0);
	if (bad)
		tap_diag("sharer 0: %d probes wrong, first: signal %d code %d at %#llx",
			 bad, (int)(what0 >> 32), (int)(uint32_t)what0,
			 (unsigned long long)where0);
	tap_ok(!bad, "(c) sharer 0 (%s): SIGSEGV, SEGV_MAPERR at its own address on reads and writes there",
	       what[0]);
	peers_get(peers, NS - 1, 2);
	for (unsigned int i = 1; i < NS; i++) {
		struct msg *m = &peers[i - 1].m;

		if (m->status)
			tap_diag("sharer %u: %d probes wrong, first: signal %d code %d at %#llx",
				 i, m->status, (int)(m->value >> 32),
				 (int)(uint32_t)m->value, (unsigned long long)m->aux);
		tap_ok(!m->status,
		       "(c) sharer %u (%s): SIGSEGV, SEGV_MAPERR at its own address on reads and writes there",
		       i, what[i]);
	}
	peers_get(peers, NS - 1, 3);
	bad = check_pages(base + align / 2, SMALL, NS, 0);
	for (unsigned int i = 1; i < NS; i++)
		bad += peers[i - 1].m.status;
	tap_ok(!bad, "(c) every sharer still reads the 2 MiB mapping the UNMAP did not cover");

	TAP_SUCCESS(region_map_anon(fd, 0, BIG),
		    "(c) CREATE_MAPPING of the same range again");
	tap_ok(!nonzero_pages(base, BIG), "(c) sharer 0 reads zeroes there");
	peers_go(peers, NS - 1);
	peers_get(peers, NS - 1, 4);
	for (unsigned int i = 1; i < NS; i++)
		tap_ok(!peers[i - 1].m.status,
		       "(c) sharer %u reads zeroes there (%d pages not)", i,
		       peers[i - 1].m.status);
	write_pages(base, BIG, NS, 0);
	peers_go(peers, NS - 1);
	peers_get(peers, NS - 1, 5);
	peers_go(peers, NS - 1);
	tap_ok(!check_pages(base, BIG, NS, 0),
	       "(c) sharer 0 reads what every sharer wrote into the new mapping");
	peers_get(peers, NS - 1, 6);
	for (unsigned int i = 1; i < NS; i++)
		tap_ok(!peers[i - 1].m.status,
		       "(c) sharer %u reads what every sharer wrote into the new mapping",
		       i);
	tap_ok(peers_end(peers, NS - 1), "(c) the sharers exit cleanly");
	munmap(base, align);
	close(fd);
	unlink(path);
}

/* (d) A sharer of a region that gets unlinked. */
static int unlink_child(void *arg)
{
	const struct role *r = arg;
	char *base = r->late ? NULL : role_attach(r, 1);

	say(1, 0, (uintptr_t)base, 0);
	hear();				/* the parent unlinked the region */
	if (r->late)
		base = role_attach(r, 2);
	write_pages(base, BIG, r->n, r->idx);
	say(2, 0, (uintptr_t)base, 0);
	hear();
	say(3, check_pages(base, BIG, r->n, 0), 0, 0);
	hear();				/* the parent mapped SMALL and filled it */
	say(4, check_pages(base + align / 2, SMALL, 0, 9), 0, 0);
	hear_until_end();
}

static void test_unlink(void)
{
	enum { NS = 4 };
	static const char *const what[NS] = {
		"the parent", "forked, inherited attach",
		"exec'd, attached by name before the unlink",
		"forked before the parent attached, attaches its fd after the unlink",
	};
	struct peer peers[NS - 1];
	struct role r1, r3;
	char path[512], *base;
	struct stat st;
	int fd, fd2;

	fd = new_region("share-unlink", path, sizeof(path));
	if (region_map_anon(fd, 0, BIG))
		tap_bail("cannot map memory into a region");
	r3 = (struct role){ .idx = 3, .n = NS, .fd = fd, .late = true };
	peer_start(&peers[2], unlink_child, &r3, NULL);
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		tap_bail("cannot attach a region");
	r1 = (struct role){
		.idx = 1, .n = NS, .fd = -1, .inherited = base, .keep = true,
	};
	peer_start(&peers[0], unlink_child, &r1, NULL);
	peer_exec(&peers[1], "unlinker", 2, NS, path, 0);
	peers_get(peers, NS - 1, 1);
	for (unsigned int i = 1; i < NS; i++)
		if (peers[i - 1].m.status)
			tap_diag("sharer %u could not attach: status %d", i,
				 peers[i - 1].m.status);

	TAP_SUCCESS(unlink(path), "(d) unlink a region with 3 processes attached");
	TAP_ERRNO(open(path, O_RDWR), ENOENT,
		  "(d) open(O_RDWR) by name after the unlink is ENOENT");
	TAP_ERRNO(open(path, O_RDONLY), ENOENT,
		  "(d) open(O_RDONLY) by name after the unlink is ENOENT");
	write_pages(base, BIG, NS, 0);
	peers_go(peers, NS - 1);
	peers_get(peers, NS - 1, 2);
	tap_ok(!peers[2].m.status && peers[2].m.value && !(peers[2].m.value % align),
	       "(d) sharer 3 (%s) attaches after the unlink (status %d)", what[3],
	       peers[2].m.status);
	peers_go(peers, NS - 1);
	tap_ok(!check_pages(base, BIG, NS, 0),
	       "(d) sharer 0 reads what every sharer wrote after the unlink");
	peers_get(peers, NS - 1, 3);
	for (unsigned int i = 1; i < NS; i++)
		tap_ok(!peers[i - 1].m.status,
		       "(d) sharer %u (%s) reads what every sharer wrote after the unlink",
		       i, what[i]);

	TAP_SUCCESS(region_map_anon(fd, align / 2, SMALL),
		    "(d) CREATE_MAPPING through the fd of the unlinked region");
	write_pages(base + align / 2, SMALL, 0, 9);
	peers_go(peers, NS - 1);
	peers_get(peers, NS - 1, 4);
	for (unsigned int i = 1; i < NS; i++)
		tap_ok(!peers[i - 1].m.status,
		       "(d) sharer %u reads the new mapping of the unlinked region", i);

	fd2 = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	tap_ok(fd2 >= 0 && !fstat(fd2, &st) && st.st_size == 0 &&
	       !fstat(fd, &st) && st.st_size == (off_t)align,
	       "(d) the name makes a new, unsized region; the unlinked one keeps its size");
	if (fd2 >= 0) {
		close(fd2);
		unlink(path);
	}
	tap_ok(peers_end(peers, NS - 1), "(d) the sharers exit cleanly");
	tap_ok(!check_pages(base, BIG, NS, 0) &&
	       !check_pages(base + align / 2, SMALL, 0, 9),
	       "(d) the last attacher still reads everything");
	munmap(base, align);
	close(fd);
}

/* (e) The creator: create, size, fill, attach; wait for the end. */
static int creator_child(void *arg)
{
	const char *path = arg;
	char *base;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, align) || region_map_anon(fd, 0, BIG))
		fail(1, errno);
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		fail(1, errno);
	write_pages(base, BIG, 0, 7);
	say(1, 0, (uintptr_t)base, 0);
	hear_until_end();		/* exits with its fd and attach */
}

/* (e) An attacher from before the creator's exit. */
static int survivor_child(void *arg)
{
	const struct role *r = arg;
	char *base = role_attach(r, 1);
	int bad;

	say(1, 0, (uintptr_t)base, 0);
	hear();				/* the creator is gone */
	say(2, check_pages(base, BIG, 0, 7), 0, 0);
	hear();				/* the parent mapped SMALL and filled it */
	bad = check_pages(base + align / 2, SMALL, 0, 8);
	write_pages(base + align / 2, SMALL, 0, 9);
	say(3, bad, 0, 0);
	hear_until_end();
}

static void test_creator_exit(void)
{
	struct peer creator, survivor;
	char path[512], *base;
	int fd;

	region_path(path, sizeof(path), "share-creator");
	unlink(path);
	peer_start(&creator, creator_child, path, NULL);
	peer_get(&creator, 1);
	tap_ok(!creator.m.status,
	       "(e) a child creates, sizes, fills and attaches a region (status %d)",
	       creator.m.status);
	fd = open(path, O_RDWR | O_CLOEXEC);
	tap_ok(fd >= 0, "(e) the parent opens it by name");
	peer_exec(&survivor, "survivor", 0, 0, path, 0);
	peer_get(&survivor, 1);
	tap_ok(!survivor.m.status, "(e) an exec'd process attaches it by name");

	tap_ok(!peer_end(&creator), "(e) the creator exits, its fd and attach open");
	peer_go(&survivor, 'g');
	peer_get(&survivor, 2);
	tap_ok(!survivor.m.status,
	       "(e) the exec'd attacher still reads the creator's data (%d pages wrong)",
	       survivor.m.status);
	base = fd < 0 ? MAP_FAILED : region_attach(fd, align, PROT_READ | PROT_WRITE);
	tap_ok(base != MAP_FAILED && !check_pages(base, BIG, 0, 7),
	       "(e) the parent attaches after the creator's exit and reads its data");
	if (base == MAP_FAILED) {
		peer_end(&survivor);
		if (fd >= 0)
			close(fd);
		unlink(path);
		return;
	}
	TAP_SUCCESS(region_map_anon(fd, align / 2, SMALL),
		    "(e) CREATE_MAPPING after the creator's exit");
	write_pages(base + align / 2, SMALL, 0, 8);
	peer_go(&survivor, 'g');
	peer_get(&survivor, 3);
	tap_ok(!survivor.m.status,
	       "(e) the exec'd attacher reads the parent's writes to the new mapping");
	tap_ok(!check_pages(base + align / 2, SMALL, 0, 9),
	       "(e) the parent reads the exec'd attacher's writes to the new mapping");
	tap_ok(!peer_end(&survivor), "(e) the exec'd attacher exits cleanly");
	munmap(base, align);
	close(fd);
	unlink(path);
}

/* (f) Fill the whole region. */
static int free_writer(void *arg)
{
	const struct role *r = arg;
	char *base = role_attach(r, 1);

	write_pages(base, FREE_SIZE, 0, 3);
	say(1, 0, (uintptr_t)base, 0);
	hear_until_end();
}

/* (f) Attach by name, then read it all when the writer is done. */
static int free_reader(void *arg)
{
	const struct role *r = arg;
	char *base = role_attach(r, 1);

	say(1, 0, (uintptr_t)base, 0);
	hear();
	say(2, check_pages(base, FREE_SIZE, 0, 3), 0, 0);
	hear_until_end();
}

/* A /proc/meminfo figure, the per-CPU counts folded in first. */
static long meminfo_kb(const char *key)
{
	vmstat_refresh();
	return proc_kb("/proc/meminfo", key);
}

static long shmem_kb(void)
{
	return meminfo_kb("Shmem");
}

/* Shmem once it stops moving (earlier tests' memory being freed). */
static long settled_shmem_kb(void)
{
	long a = shmem_kb(), b;

	for (int i = 0; i < 50; i++) {
		usleep(100000);
		b = shmem_kb();
		if (labs(b - a) < 1024)
			return b;
		a = b;
	}
	return a;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_free(void)
{
	long shmem0, free0, shmem1, free1, shmem2, free2, grow;
	struct peer writer, reader;
	struct role rw;
	char path[512], *base;
	bool ended;
	double t;
	int fd, fd2;

	shmem0 = settled_shmem_kb();
	free0 = meminfo_kb("MemFree");
	fd = new_region("share-free", path, sizeof(path));
	TAP_SUCCESS(region_map_anon(fd, 0, FREE_SIZE),
		    "(f) map 256 MiB of anonymous memory into a region");
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	rw = (struct role){ .fd = fd, .addr = 0 };
	peer_start(&writer, free_writer, &rw, NULL);
	peer_exec(&reader, "reader", 0, 0, path, 0);
	base = fd2 < 0 ? MAP_FAILED : region_attach(fd2, align, PROT_READ);
	tap_ok(base != MAP_FAILED, "(f) the parent attaches it through a second fd");
	peer_get(&writer, 1);
	peer_get(&reader, 1);
	tap_ok(!writer.m.status && !reader.m.status,
	       "(f) a forked writer and an exec'd reader attach");
	peer_go(&reader, 'g');
	peer_get(&reader, 2);
	tap_ok(!reader.m.status && (base == MAP_FAILED ||
				    !check_pages(base, FREE_SIZE, 0, 3)),
	       "(f) the reader and the parent read every page the writer wrote");

	shmem1 = shmem_kb();
	free1 = meminfo_kb("MemFree");
	grow = shmem1 - shmem0;
	tap_diag("(f) filled: Shmem %ld -> %ld kB (%+ld kB), MemFree %ld -> %ld kB (%+ld kB)",
		 shmem0, shmem1, grow, free0, free1, free1 - free0);
	tap_ok(grow >= (long)(FREE_SIZE - 8 * MiB) / 1024 &&
	       grow <= (long)(FREE_SIZE + 16 * MiB) / 1024,
	       "(f) Shmem grew by about 256 MiB (%ld kB)", grow);

	TAP_SUCCESS(unlink(path), "(f) unlink the region");
	close(fd);
	if (fd2 >= 0)
		close(fd2);
	if (base != MAP_FAILED)
		TAP_SUCCESS(munmap(base, align), "(f) the parent detaches");
	ended = !peer_end(&writer);
	ended &= !peer_end(&reader);
	tap_ok(ended, "(f) the writer and the reader exit cleanly");

	/* Freeing may be deferred a little: give it up to 10 s. */
	t = now();
	do {
		shmem2 = shmem_kb();
		if (labs(shmem2 - shmem0) <= (long)(8 * MiB / 1024))
			break;
		usleep(100000);
	} while (now() - t < 10);
	free2 = meminfo_kb("MemFree");
	tap_diag("(f) all gone: Shmem %ld kB (%+ld kB from the start), MemFree %ld kB (%+ld kB), after %.1f s",
		 shmem2, shmem2 - shmem0, free2, free2 - free0, now() - t);
	tap_ok(labs(shmem2 - shmem0) <= (long)(8 * MiB / 1024),
	       "(f) Shmem is back within 8 MiB of where it started once the last fd and attach are gone");
}

/* An exec'd child: "ROLE IDX N PATH ADDR", or "waiter". */
static int child_main(int argc, char **argv)
{
	struct role r = { .fd = -1 };

	if (!strcmp(argv[1], "waiter")) {
		say(3, 0, 0, 0);
		hear_until_end();
	}
	if (argc != 6)
		return 2;
	r.idx = strtoul(argv[2], NULL, 10);
	r.n = strtoul(argv[3], NULL, 10);
	r.path = argv[4];
	r.addr = strtoull(argv[5], NULL, 0);
	if (!strcmp(argv[1], "sharer"))
		return sharer_child(&r);
	if (!strcmp(argv[1], "unmapper"))
		return unmap_child(&r);
	if (!strcmp(argv[1], "unlinker"))
		return unlink_child(&r);
	if (!strcmp(argv[1], "survivor"))
		return survivor_child(&r);
	if (!strcmp(argv[1], "reader"))
		return free_reader(&r);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		align = mshare_align_raw();
		return child_main(argc, argv);
	}
	require_msharefs();
	align = mshare_align_raw();
	signal(SIGPIPE, SIG_IGN);

	test_sharers();
	test_fork();
	test_unmap();
	test_unlink();
	test_creator_exit();
	test_free();
	return tap_done();
}
