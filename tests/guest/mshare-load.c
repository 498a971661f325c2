// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-load: the issue 8 load test. N processes (default 1500) attach,
 * fault, detach and attach again, over and over, for a bounded time
 * (default 60 s), while one more process changes the region under them
 * with MSHAREFS_PROTECT and MSHAREFS_ADVISE; everyone checks the data.
 *
 *	mshare-load [--procs N] [--seconds S] [--size MiB]
 *		    [--backing anon|tmpfs] [--seed N] [-v]
 *
 * Built twice: as mshare-load for `make load` (the defaults above) and as
 * test-load for the guest suite: 1500 workers for 10 s (LOAD_QUICK; 300
 * on the debug kernel, as the other 1500-process tests). Under TCG with
 * 2 vCPUs that costs about 20 s a guest: forking 1500 takes 4-8 s, the
 * last worker ends 3 s after the stop, the fill and the final check of
 * 64 MiB take a few seconds more.
 *
 * The region maps SIZE bytes (anonymous shared memory, or a memfd: tmpfs)
 * laid out in 4 KiB pages:
 *
 *	[window][scratch][slot 0 .. slot N-1][static ...]
 *
 *  - static: every word holds a value fixed by its place (static_word);
 *    nobody writes it after the start;
 *  - slots: one page a worker; word 64k (k < 8) of worker i's page holds
 *    slot_word(i, seq, k), which names the worker, its write sequence and
 *    a check; only worker i writes it;
 *  - window (256 KiB): every word holds gen_word(generation, place). The protector
 *    makes it read-only and read-write again with MSHAREFS_PROTECT, and
 *    writes a new generation into it while it is read-write; nobody else
 *    writes it;
 *  - scratch (256 KiB): like the window, but the protector punches holes in it
 *    with MADV_REMOVE (which zeroes them), checks the zeroes and writes a
 *    new generation; a word of it is zero or gen_word().
 *
 * Each value is one aligned 64-bit word, so that a reader racing the one
 * writer of that word sees the old value or the new one, each of which
 * checks out on its own ("self-consistent"); the writer itself knows
 * exactly what is there and checks that.
 *
 * Workers (forked: they inherit the counters page, the region's fds and
 * nothing attached) loop until the stop flag: attach the whole region
 * (by turns at a random aligned address with MAP_FIXED_NOREPLACE, or where
 * the kernel likes; read-write through an O_RDWR fd, or read-only through
 * an O_RDONLY one); verify their own slot exactly (the data they wrote
 * through the previous attach, at another address), one other slot,
 * random static pages, a window page and a scratch page; read-write
 * attaches write a new sequence into their slot and read it back;
 * the first read-only attach and one in 8 after it store into the own
 * slot and must take SEGV_ACCERR at that address; detach. Each does one
 * cycle at least, and keeps its counters in its own line of a MAP_SHARED
 * area outside the region.
 *
 * The protector (SCHED_FIFO, as the parent: among 1500 busy processes
 * even nice -20 waits seconds for a CPU under TCG; it pauses after each
 * round as long as the round ran, so it takes half a CPU at most) loops,
 * one round at least, over: PROTECT the window read-only, then check
 * that its own store there faults and the window is intact; PROTECT it
 * read-write and write a new generation; ADVISE a random range
 * (PAGEOUT, COLD, WILLNEED, POPULATE_READ, POPULATE_WRITE, DONTNEED,
 * HUGEPAGE, NOHUGEPAGE; DONTNEED keeps the data of shared memory, and
 * POPULATE_WRITE over the read-only window must be EINVAL, as madvise(2)
 * says); REMOVE part of the scratch; verify the window, the scratch, every
 * slot and random static pages; now and then attach again elsewhere.
 * PROTECT and ADVISE take the host's mmap_lock for writing; the workers'
 * faults take it for reading, so with 1500 of them runnable on 2 vCPUs a
 * PROTECT waits for readers that wait for a CPU: about a second (the
 * time of each step is printed).
 *
 * At the end the parent reaps everyone, verifies every word of the
 * region once more (each slot must hold exactly its owner's last write),
 * checks the attach count, unlinks the region and checks that it is gone
 * and that MemFree, Shmem and SwapFree came back. It prints the totals;
 * any error (wrong data, a store let through, an unexpected errno, an
 * unexpected signal) fails a TAP case, and so the exit status.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <sys/param.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "guest.h"
#include "pattern.h"
#include "probe.h"

#define MiB		(1024ULL * 1024)
#define PAGE		4096ULL
#define WORDS		(PAGE / 8)
#define WIN_PAGES	64ULL		/* the PROTECTed window: 256 KiB */
#define SCR_PAGES	64ULL		/* the REMOVEd scratch: 256 KiB */
#define SLOT_WORDS	8		/* words a worker writes in its slot */
#define SLOT_STRIDE	(WORDS / SLOT_WORDS)
#define STATIC_READS	16		/* static pages a worker checks an attach */
#define ADVISE_PAGES	256		/* longest ADVISE range */
#define ERR_ABORT	1000		/* a process gives up after so many errors */
#define MAX_DIAG	10		/* processes whose first error is printed */

#ifdef LOAD_QUICK
#define DEF_PROCS	1500
#define DEF_SECONDS	10
#else
#define DEF_PROCS	1500
#define DEF_SECONDS	60
#endif
#define DEF_SIZE_MIB	64

/* Error kinds: wrong data, a store let through, a failed call, a signal */
enum { E_DATA = 1, E_PROT, E_ERRNO, E_SIGNAL, E_KINDS };
enum { TAG_WIN = 1, TAG_SCR = 2 };		/* gen_word() areas */

static const char *const where_name[] = {
	"?", "own slot", "other slot", "static", "window", "scratch",
	"read-only attach", "read-only window", "mmap", "munmap", "PROTECT",
	"ADVISE", "REMOVE", "signal",
};
enum { W_OWN = 1, W_SLOT, W_STATIC, W_WIN, W_SCR, W_RO, W_ROWIN, W_MMAP,
	W_MUNMAP, W_PROTECT, W_ADVISE, W_REMOVE, W_SIGNAL };

/* The first error a process saw, for the report. */
struct first_err {
	uint32_t kind, where;
	int32_t err;			/* errno, or the signal */
	int32_t code;			/* si_code */
	uint64_t off;			/* offset in the region */
	uint64_t want, got;
};

/* One worker's counters: its own cache line(s), written by it alone. */
struct wstat {
	uint64_t attaches, detaches, fixed, collisions, rw, ro;
	uint64_t pages, writes, ro_probes;
	uint64_t err[E_KINDS];		/* by kind */
	uint64_t seq;			/* its slot's last write, once done */
	struct first_err first;
} __attribute__((aligned(64)));

static const struct {
	uint32_t advice;
	const char *name;
} advices[] = {
	{ MADV_PAGEOUT, "PAGEOUT" }, { MADV_COLD, "COLD" },
	{ MADV_WILLNEED, "WILLNEED" }, { MADV_POPULATE_READ, "POPULATE_READ" },
	{ MADV_POPULATE_WRITE, "POPULATE_WRITE" },
	{ MADV_DONTNEED, "DONTNEED" }, { MADV_HUGEPAGE, "HUGEPAGE" },
	{ MADV_NOHUGEPAGE, "NOHUGEPAGE" },
};
#define NADVICE		(sizeof(advices) / sizeof(advices[0]))

struct pstat {
	uint64_t protects, ro_probes, advises[NADVICE], advise_einval;
	uint64_t removes, verifies, pages, attaches, rounds;
	double t_step[4], max_step[4];	/* seconds in each step of a round */
	uint64_t err[E_KINDS];
	uint64_t win_gen, scr_gen;	/* what the window and scratch hold */
	struct first_err first;
} __attribute__((aligned(64)));

/* The MAP_SHARED page(s) outside the region that everyone counts in. */
struct ctl {
	_Atomic int stop;
	struct pstat p;
	struct wstat w[];
};

static struct {
	unsigned int procs, seconds, verbose;
	uint64_t size;			/* bytes mapped into the region */
	uint64_t seed;
	bool tmpfs;
} opt = { DEF_PROCS, DEF_SECONDS, 0, DEF_SIZE_MIB * MiB, 0, false };

/* The region, as every process knows it. */
static struct ctl *ctl;
static uint64_t align, salt;
static uint64_t slot_page, static_page, npages;	/* page indices */
static int rw_fd, ro_fd;
static char path[512];

/* ---- data patterns ---------------------------------------------------- */

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Word @i of static page @p. */
static inline uint64_t static_word(uint64_t p, uint64_t i)
{
	return mix(salt ^ (p << 9 | i));
}

/* Word k of worker @id's slot at write @seq: id, seq and a check. */
static inline uint64_t slot_word(uint64_t id, uint64_t seq, uint64_t k)
{
	seq &= 0xffffffff;
	return id << 48 | seq << 16 |
	       (mix(salt ^ id << 40 ^ seq << 4 ^ k) & 0xffff);
}

static inline bool slot_ok(uint64_t v, uint64_t id, uint64_t k)
{
	return v >> 48 == id && slot_word(id, v >> 16, k) == v;
}

/* Word @i of page @p of the window or scratch (@tag) at generation @gen (>= 1). */
static inline uint64_t gen_word(uint64_t tag, uint64_t gen, uint64_t p,
				uint64_t i)
{
	return gen << 32 |
	       (uint32_t)mix(salt ^ tag << 60 ^ gen << 21 ^ p << 9 ^ i);
}

static inline bool gen_ok(uint64_t v, uint64_t tag, uint64_t p, uint64_t i)
{
	return v >> 32 && gen_word(tag, v >> 32, p, i) == v;
}

static inline uint64_t rd(const char *base, uint64_t p, uint64_t i)
{
	return __atomic_load_n((const uint64_t *)(base + p * PAGE) + i,
			       __ATOMIC_RELAXED);
}

static inline void wr(char *base, uint64_t p, uint64_t i, uint64_t v)
{
	__atomic_store_n((uint64_t *)(base + p * PAGE) + i, v, __ATOMIC_RELAXED);
}

/* ---- errors and signals ----------------------------------------------- */

static uint64_t *my_err;		/* this process's err[] */
static struct first_err *my_first;
static char *volatile my_base;		/* its attach, for a signal's offset */
static volatile int in_probe;

static void note(uint32_t kind, uint32_t where, int32_t err, uint64_t off,
		 uint64_t want, uint64_t got)
{
	my_err[kind]++;
	if (my_first->kind)
		return;
	*my_first = (struct first_err){ .kind = kind, .where = where, .err = err,
					.off = off, .want = want, .got = got };
}

static void bad_data(uint32_t where, uint64_t p, uint64_t i, uint64_t want,
		     uint64_t got)
{
	note(E_DATA, where, 0, p * PAGE + i * 8, want, got);
}

static void bad_errno(uint32_t where, uint64_t off)
{
	note(E_ERRNO, where, errno, off, 0, 0);
}

/*
 * SIGSEGV and SIGBUS: a probe's expected fault goes back to probe.h's
 * handler; any other is recorded, and the process dies of it, which the
 * parent sees.
 */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (in_probe && sig == SIGSEGV)
		probe_on_segv(sig, si, uc);
	my_err[E_SIGNAL]++;
	if (!my_first->kind)
		*my_first = (struct first_err){
			.kind = E_SIGNAL, .where = W_SIGNAL, .err = sig,
			.code = si->si_code,
			.off = (uint64_t)((char *)si->si_addr - my_base),
		};
	signal(sig, SIG_DFL);
	raise(sig);
}

static void catch_faults(uint64_t *err, struct first_err *first)
{
	struct sigaction sa = { .sa_sigaction = on_fault,
				.sa_flags = SA_SIGINFO | SA_NODEFER };

	my_err = err;
	my_first = first;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Store @v at @p, which must fault with SEGV_ACCERR there; true if so. */
static bool store_refused(uint64_t *p, uint64_t v)
{
	int faulted;

	in_probe = 1;
	faulted = probe_store((volatile uint64_t *)p, v);
	in_probe = 0;
	return faulted && fault_code == SEGV_ACCERR && fault_addr == (void *)p;
}

static uint64_t errors(const uint64_t *err)
{
	return err[E_DATA] + err[E_PROT] + err[E_ERRNO] + err[E_SIGNAL];
}

static bool stopped(void)
{
	return atomic_load_explicit(&ctl->stop, memory_order_relaxed);
}

/* ---- checks both the workers and the protector make ------------------- */

/* Random static pages: word 0 and a random word of each. */
static uint64_t check_static(const char *base, uint64_t *rs, unsigned int n)
{
	for (unsigned int j = 0; j < n; j++) {
		uint64_t p = static_page + rnd(rs) % (npages - static_page);
		uint64_t i = rnd(rs) % WORDS, v;

		if ((v = rd(base, p, 0)) != static_word(p, 0))
			bad_data(W_STATIC, p, 0, static_word(p, 0), v);
		if ((v = rd(base, p, i)) != static_word(p, i))
			bad_data(W_STATIC, p, i, static_word(p, i), v);
	}
	return n;
}

/* Every slot word of worker @id names it and checks out. */
static void check_slot(const char *base, uint64_t id)
{
	uint64_t p = slot_page + id;

	for (uint64_t k = 0; k < SLOT_WORDS; k++) {
		uint64_t v = rd(base, p, k * SLOT_STRIDE);

		if (!slot_ok(v, id, k))
			bad_data(W_SLOT, p, k * SLOT_STRIDE, slot_word(id, 0, k), v);
	}
}

/* A window or scratch word: self-consistent (or zero, in the scratch). */
static void check_gen_word(const char *base, uint64_t tag, uint64_t p,
			   uint64_t i)
{
	uint64_t v = rd(base, p, i);

	if (gen_ok(v, tag, p, i) || (tag == TAG_SCR && !v))
		return;
	bad_data(tag == TAG_WIN ? W_WIN : W_SCR, p, i, gen_word(tag, 1, p, i), v);
}

/* Attach at a random aligned address, or where the kernel likes. */
static char *attach(bool fixed, bool writable, uint64_t *rs,
		    uint64_t *collisions)
{
	int fd = writable ? rw_fd : ro_fd;
	int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
	void *p;

	if (fixed) {
		/*
		 * Slots 1 to 254 of 512 GiB: under the 47-bit default
		 * window of both architectures; the program, its heap,
		 * libraries and stack sit in some of them (EEXIST).
		 */
		uint64_t addr = (1 + rnd(rs) % 254) * align;

		p = mmap((void *)addr, align, prot, MAP_SHARED | MAP_FIXED_NOREPLACE,
			 fd, 0);
		if (p != MAP_FAILED && p != (void *)addr) {
			/* An old kernel took it as a hint */
			munmap(p, align);
			errno = EADDRNOTAVAIL;
			return MAP_FAILED;
		}
		if (p != MAP_FAILED || errno != EEXIST)
			return p;
		++*collisions;
	}
	return mmap(NULL, align, prot, MAP_SHARED, fd, 0);
}

/* ---- the workers ------------------------------------------------------ */

static void __attribute__((noreturn)) worker(unsigned int id, int go)
{
	struct wstat *w = &ctl->w[id];
	uint64_t rs = mix(opt.seed ^ (id + 1ULL) << 20) | 1;
	uint64_t sp = slot_page + id;
	char c;

	catch_faults(w->err, &w->first);
	/* Wait for the start: the parent closes its end of the pipe */
	while (read(go, &c, 1) > 0)
		;
	close(go);

	/* At least one cycle: a worker first run after the stop still counts */
	for (uint64_t it = 0;; it++) {
		/* Workers out of step, so all four kinds run at once */
		bool fixed = (it + id) & 1, writable = !((it + id) & 2);
		uint64_t other, v;
		char *base;

		base = attach(fixed, writable, &rs, &w->collisions);
		if (base == MAP_FAILED) {
			bad_errno(W_MMAP, 0);
			if (errors(w->err) > ERR_ABORT || stopped())
				break;
			continue;
		}
		my_base = base;
		w->attaches++;
		w->fixed += fixed;
		if (writable)
			w->rw++;
		else
			w->ro++;

		/* Exactly what this worker wrote last, through another attach */
		for (uint64_t k = 0; k < SLOT_WORDS; k++)
			if ((v = rd(base, sp, k * SLOT_STRIDE)) != slot_word(id, w->seq, k))
				bad_data(W_OWN, sp, k * SLOT_STRIDE,
					 slot_word(id, w->seq, k), v);
		other = rnd(&rs) % opt.procs;
		check_slot(base, other);
		w->pages += 2 + check_static(base, &rs, STATIC_READS);
		check_gen_word(base, TAG_WIN, rnd(&rs) % WIN_PAGES, rnd(&rs) % WORDS);
		check_gen_word(base, TAG_SCR, WIN_PAGES + rnd(&rs) % SCR_PAGES,
			       rnd(&rs) % WORDS);
		w->pages += 2;

		if (writable) {
			uint64_t seq = w->seq + 1;

			for (uint64_t k = 0; k < SLOT_WORDS; k++)
				wr(base, sp, k * SLOT_STRIDE, slot_word(id, seq, k));
			w->seq = seq;
			w->writes++;
			for (uint64_t k = 0; k < SLOT_WORDS; k++)
				if ((v = rd(base, sp, k * SLOT_STRIDE)) != slot_word(id, seq, k))
					bad_data(W_OWN, sp, k * SLOT_STRIDE,
						 slot_word(id, seq, k), v);
			w->pages++;
		} else if (w->ro % 8 == 1) {
			/* The same value: harmless should it go through */
			uint64_t *p = (uint64_t *)(base + sp * PAGE);

			w->ro_probes++;
			if (!store_refused(p, slot_word(id, w->seq, 0)))
				note(E_PROT, W_RO, fault_code, sp * PAGE, SEGV_ACCERR, 0);
		}

		my_base = NULL;
		if (munmap(base, align)) {
			bad_errno(W_MUNMAP, 0);
			break;
		}
		w->detaches++;
		if (errors(w->err) > ERR_ABORT || stopped())
			break;
	}
	_exit(errors(w->err) ? 1 : 0);
}

/* ---- the protector ---------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* This process's CPU time */
static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pause_for(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	nanosleep(&ts, NULL);
}

/*
 * SCHED_FIFO at @prio: a process that must run on time among 1500 busy
 * ones (which at nice 0 delay even a nice -20 one by seconds under TCG).
 * Root only; elsewhere nice -20 if allowed, or as it is.
 */
static void realtime(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		setpriority(PRIO_PROCESS, 0, -20);
}

/* Write generation @gen into pages [@p0, @p0 + @n) of area @tag. */
static void fill_gen(char *base, uint64_t tag, uint64_t gen, uint64_t p0,
		     uint64_t n)
{
	for (uint64_t p = p0; p < p0 + n; p++)
		for (uint64_t i = 0; i < WORDS; i++)
			wr(base, p, i, gen_word(tag, gen, p, i));
}

/* Pages [@p0, @p0 + @n) hold generation @gen exactly (0: zeroes). */
static void check_gen(const char *base, uint64_t tag, uint64_t gen,
		      uint64_t p0, uint64_t n)
{
	uint32_t where = tag == TAG_WIN ? W_WIN : W_SCR;

	for (uint64_t p = p0; p < p0 + n; p++)
		for (uint64_t i = 0; i < WORDS; i++) {
			uint64_t want = gen ? gen_word(tag, gen, p, i) : 0;
			uint64_t v = rd(base, p, i);

			if (v != want)
				bad_data(where, p, i, want, v);
		}
}

/* Step @i of a round ends: account its time since *@t0, restart the clock. */
static void step_done(struct pstat *ps, int i, double *t0)
{
	double t = now(), d = t - *t0;

	ps->t_step[i] += d;
	if (d > ps->max_step[i])
		ps->max_step[i] = d;
	*t0 = t;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void __attribute__((noreturn)) protector(int go)
{
	struct pstat *ps = &ctl->p;
	uint64_t rs = mix(opt.seed ^ 0x5eedULL) | 1, collisions = 0;
	bool ro = false;
	char *base, c;

	catch_faults(ps->err, &ps->first);
	/* 1500 busy workers would leave it almost no CPU */
	realtime(1);
	while (read(go, &c, 1) > 0)
		;
	close(go);
	base = attach(false, true, &rs, &collisions);
	if (base == MAP_FAILED) {
		bad_errno(W_MMAP, 0);
		_exit(1);
	}
	my_base = base;
	ps->attaches++;

	/* At least one round, however long the first PROTECT waits */
	for (uint64_t r = 0;; r++) {
		double c_round = cpu_now(), t0 = now();
		uint64_t off, len, a;
		int ret;

		/* 1. The window: read-only and checked, or read-write and rewritten */
		ret = region_protect(rw_fd, 0, WIN_PAGES * PAGE,
				     ro ? PROT_READ | PROT_WRITE : PROT_READ);
		if (ret) {
			bad_errno(W_PROTECT, 0);
		} else {
			ro = !ro;
			ps->protects++;
		}
		if (ro) {
			uint64_t p = rnd(&rs) % WIN_PAGES;
			uint64_t *w = (uint64_t *)(base + p * PAGE);

			ps->ro_probes++;
			if (!store_refused(w, gen_word(TAG_WIN, ps->win_gen, p, 0)))
				note(E_PROT, W_ROWIN, fault_code, p * PAGE, SEGV_ACCERR, 0);
			check_gen(base, TAG_WIN, ps->win_gen, 0, WIN_PAGES);
		} else {
			fill_gen(base, TAG_WIN, ps->win_gen + 1, 0, WIN_PAGES);
			ps->win_gen++;
			check_gen(base, TAG_WIN, ps->win_gen, 0, WIN_PAGES);
		}
		ps->pages += WIN_PAGES;

		step_done(ps, 0, &t0);

		/* 2. Advice over a random range, the slots and window included */
		a = rnd(&rs) % NADVICE;
		/* One in four starts in the window or scratch, where most changes */
		if (rnd(&rs) % 4)
			off = rnd(&rs) % npages;
		else
			off = rnd(&rs) % (WIN_PAGES + SCR_PAGES);
		len = 1 + rnd(&rs) % ADVISE_PAGES;
		if (off + len > npages)
			len = npages - off;
		errno = 0;
		ret = region_advise(rw_fd, off * PAGE, len * PAGE, advices[a].advice);
		if (ret && advices[a].advice == MADV_POPULATE_WRITE && ro &&
		    overlaps(off, len, 0, WIN_PAGES) && errno == EINVAL)
			ps->advise_einval++;
		else if (ret)
			bad_errno(W_ADVISE, off * PAGE);
		else if (advices[a].advice == MADV_POPULATE_WRITE && ro &&
			 overlaps(off, len, 0, WIN_PAGES))
			note(E_ERRNO, W_ADVISE, 0, off * PAGE, EINVAL, 0);
		ps->advises[a]++;

		step_done(ps, 1, &t0);

		/* 3. A hole in the scratch: zeroes, the rest intact; then refill */
		off = rnd(&rs) % SCR_PAGES;
		len = 1 + rnd(&rs) % (SCR_PAGES - off);
		if (region_advise(rw_fd, (WIN_PAGES + off) * PAGE, len * PAGE,
				  MADV_REMOVE)) {
			bad_errno(W_REMOVE, (WIN_PAGES + off) * PAGE);
		} else {
			ps->removes++;
			check_gen(base, TAG_SCR, ps->scr_gen, WIN_PAGES, off);
			check_gen(base, TAG_SCR, 0, WIN_PAGES + off, len);
			check_gen(base, TAG_SCR, ps->scr_gen, WIN_PAGES + off + len,
				  SCR_PAGES - off - len);
		}
		fill_gen(base, TAG_SCR, ps->scr_gen + 1, WIN_PAGES, SCR_PAGES);
		ps->scr_gen++;
		check_gen(base, TAG_SCR, ps->scr_gen, WIN_PAGES, SCR_PAGES);
		ps->pages += 2 * SCR_PAGES;

		step_done(ps, 2, &t0);

		/* 4. Every slot names its owner; random static pages */
		for (uint64_t id = 0; id < opt.procs; id++)
			check_slot(base, id);
		ps->pages += opt.procs + check_static(base, &rs, 64);
		ps->verifies++;
		ps->rounds++;
		step_done(ps, 3, &t0);

		/* 5. Now and then, attach again elsewhere */
		if (r % 16 == 15) {
			char *nb = attach(r & 16, true, &rs, &collisions);

			if (nb == MAP_FAILED) {
				bad_errno(W_MMAP, 0);
			} else {
				my_base = nb;
				if (munmap(base, align))
					bad_errno(W_MUNMAP, 0);
				base = nb;
				ps->attaches++;
			}
		}
		if (errors(ps->err) > ERR_ABORT || stopped())
			break;
		/*
		 * Half of one CPU at most: pause as long as the round ran on
		 * the CPU (its waits for the host's locks do not count)
		 */
		pause_for(cpu_now() - c_round);
	}
	/* Leave the window read-write, as it started */
	if (ro && region_protect(rw_fd, 0, WIN_PAGES * PAGE, PROT_READ | PROT_WRITE))
		bad_errno(W_PROTECT, 0);
	else if (ro)
		ps->protects++;
	munmap(base, align);
	_exit(errors(ps->err) ? 1 : 0);
}

/* ---- the parent ------------------------------------------------------- */

struct mem {
	long free_kb, shmem_kb, swapfree_kb;
};

static void mem_sample(struct mem *m)
{
	settle_memory();	/* best effort: the page cache is not what is measured */
	m->free_kb = proc_kb("/proc/meminfo", "MemFree");
	m->shmem_kb = proc_kb("/proc/meminfo", "Shmem");
	m->swapfree_kb = proc_kb("/proc/meminfo", "SwapFree");
}

static void print_first(const char *who, unsigned int id,
			const struct first_err *f)
{
	static const char *const kinds[] = { "?", "data", "store let through",
					     "errno", "signal" };

	if (f->kind == E_SIGNAL)
		tap_diag("%s %u: first error: signal %d (si_code %d) at region offset %#" PRIx64,
			 who, id, f->err, f->code, f->off);
	else
		tap_diag("%s %u: first error: %s in %s at region offset %#" PRIx64 " (errno %d %s): want %#" PRIx64 ", got %#" PRIx64,
			 who, id, kinds[f->kind], where_name[f->where], f->off,
			 f->err, f->err ? strerror(f->err) : "", f->want, f->got);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--procs N] [--seconds S] [--size MiB] [--backing anon|tmpfs]\n"
		"       [--seed N] [-v]\n", prog);
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "procs", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'S' },
		{ "backing", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	bool procs_set = false;
	int c;

	opt.seed = (uint64_t)time(NULL);
	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (c) {
		case 'n':
			opt.procs = strtoul(optarg, NULL, 0);
			procs_set = true;
			break;
		case 's':
			opt.seconds = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			opt.size = strtoull(optarg, NULL, 0) * MiB;
			break;
		case 'b':
			if (!strcmp(optarg, "tmpfs"))
				opt.tmpfs = true;
			else if (strcmp(optarg, "anon"))
				usage(argv[0]);
			break;
		case 'r':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			opt.verbose++;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc || !opt.procs || opt.procs > 0xffff || !opt.seconds)
		usage(argv[0]);
	/* KASAN runs every fork and fault many times slower */
	if (!procs_set)
		opt.procs = scaled_nproc(opt.procs);
}

/* Map the memory into the region (fd @fd) and write every word's value. */
static void populate(int fd, int *memfd)
{
	struct ctl *c = ctl;
	char *base;
	int ret;

	if (opt.tmpfs) {
		*memfd = memfd_create("mshare-load", MFD_CLOEXEC);
		if (*memfd < 0 || ftruncate(*memfd, opt.size))
			tap_bail("cannot make the memfd");
		ret = region_map(fd, 0, opt.size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, *memfd, 0);
	} else {
		ret = region_map_anon(fd, 0, opt.size);
	}
	TAP_SUCCESS(ret, "map %" PRIu64 " MiB of %s memory into a region",
		    opt.size / MiB, opt.tmpfs ? "tmpfs (memfd)" : "anonymous shared");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (ret || base == MAP_FAILED)
		tap_bail("cannot attach the region");
	c->p.win_gen = c->p.scr_gen = 1;
	fill_gen(base, TAG_WIN, 1, 0, WIN_PAGES);
	fill_gen(base, TAG_SCR, 1, WIN_PAGES, SCR_PAGES);
	for (uint64_t id = 0; id < opt.procs; id++)
		for (uint64_t k = 0; k < SLOT_WORDS; k++)
			wr(base, slot_page + id, k * SLOT_STRIDE, slot_word(id, 0, k));
	for (uint64_t p = static_page; p < npages; p++)
		for (uint64_t i = 0; i < WORDS; i++)
			wr(base, p, i, static_word(p, i));
	munmap(base, align);
}

/* Every word of the region, exactly; the number of wrong words. */
static uint64_t verify_all(const char *base)
{
	uint64_t before = my_err[E_DATA];

	check_gen(base, TAG_WIN, ctl->p.win_gen, 0, WIN_PAGES);
	check_gen(base, TAG_SCR, ctl->p.scr_gen, WIN_PAGES, SCR_PAGES);
	for (uint64_t id = 0; id < opt.procs; id++)
		for (uint64_t i = 0; i < WORDS; i++) {
			uint64_t want = i % SLOT_STRIDE ? 0 :
				slot_word(id, ctl->w[id].seq, i / SLOT_STRIDE);
			uint64_t v = rd(base, slot_page + id, i);

			if (v != want)
				bad_data(W_OWN, slot_page + id, i, want, v);
		}
	for (uint64_t p = static_page; p < npages; p++)
		for (uint64_t i = 0; i < WORDS; i++) {
			uint64_t v = rd(base, p, i);

			if (v != static_word(p, i))
				bad_data(W_STATIC, p, i, static_word(p, i), v);
		}
	return my_err[E_DATA] - before;
}

/* Is a file named @name still in the msharefs mount? */
static bool in_mount(const char *name)
{
	DIR *d = opendir(mshare_mnt());
	struct dirent *de;
	bool found = false;

	if (!d)
		tap_bail("cannot list the msharefs mount");
	while (!found && (de = readdir(d)))
		found = !strcmp(de->d_name, name);
	closedir(d);
	return found;
}

/* Totals over the workers so far (relaxed reads of live counters). */
static void sum_workers(struct wstat *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned int id = 0; id < opt.procs; id++) {
		const struct wstat *w = &ctl->w[id];

#define ADD(f) t->f += __atomic_load_n(&w->f, __ATOMIC_RELAXED)
		ADD(attaches); ADD(detaches); ADD(fixed); ADD(collisions);
		ADD(rw); ADD(ro); ADD(pages); ADD(writes); ADD(ro_probes);
		ADD(err[E_DATA]); ADD(err[E_PROT]); ADD(err[E_ERRNO]);
		ADD(err[E_SIGNAL]);
#undef ADD
	}
}

int main(int argc, char **argv)
{
	uint64_t my_errs[E_KINDS] = { 0 }, advised = 0, bad_words, min_cycles = UINT64_MAX;
	struct first_err my_f = { 0 };
	unsigned int died = 0, failed = 0, diag = 0, pdied = 0, pfailed = 0;
	struct mem m0, m1;
	struct rusage ru_all = { 0 };
	struct mshare_stats st;
	struct wstat t;
	pid_t *pids, ppid;
	double t_start, t_fork, t_go, t_stop, t_end;
	size_t ctl_size;
	int fd, memfd = -1, go[2], status;
	char *base, name[64];
	const char *slash;

	t_start = now();
	parse(argc, argv);
	require_msharefs();
	align = mshare_align_raw();
	salt = mix(opt.seed);
	npages = opt.size / PAGE;
	slot_page = WIN_PAGES + SCR_PAGES;
	static_page = slot_page + opt.procs;
	if (opt.size % (2 * MiB) || opt.size > align ||
	    npages < static_page + 256)
		tap_bail("--size too small for the window, scratch and slots, not a multiple of 2 MiB, or past the region");
	tap_diag("%u workers and a protector, %u s, %" PRIu64 " MiB %s, seed %" PRIu64,
		 opt.procs, opt.seconds, opt.size / MiB,
		 opt.tmpfs ? "tmpfs" : "anonymous", opt.seed);

	ctl_size = sizeof(*ctl) + opt.procs * sizeof(ctl->w[0]);
	ctl = mmap(NULL, ctl_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pids = calloc(opt.procs, sizeof(*pids));
	if (ctl == MAP_FAILED || !pids)
		tap_bail("out of memory");
	catch_faults(my_errs, &my_f);

	mem_sample(&m0);
	fd = region_new("load", path, sizeof(path), align);
	slash = strrchr(path, '/');
	snprintf(name, sizeof(name), "%s", slash + 1);
	populate(fd, &memfd);
	rw_fd = fd;
	ro_fd = open(path, O_RDONLY);
	if (ro_fd < 0)
		tap_bail("cannot open the region read-only");

	/* Everyone: fork, then wait for the pipe to close */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(go))
		tap_bail("no pipe");
	t_fork = now();
	ppid = fork();
	if (ppid < 0)
		tap_bail("cannot fork the protector");
	if (!ppid) {
		close(go[1]);
		protector(go[0]);
	}
	for (unsigned int id = 0; id < opt.procs; id++) {
		pids[id] = fork();
		if (pids[id] < 0) {
			atomic_store(&ctl->stop, 1);
			tap_diag("fork %u failed: %s", id, strerror(errno));
			opt.procs = id;
			break;
		}
		if (!pids[id]) {
			close(go[1]);
			worker(id, go[0]);
		}
	}
	close(go[0]);
	t_go = now();
	t_fork = t_go - t_fork;
	tap_ok(!atomic_load(&ctl->stop), "fork %u workers and the protector (%.1f s)",
	       opt.procs, t_fork);

	/* Go: run for the time asked, printing progress if -v */
	realtime(2);
	close(go[1]);
	while (now() - t_go < opt.seconds) {
		double left = opt.seconds - (now() - t_go);

		pause_for(opt.verbose && left > 5 ? 5 : left);
		if (opt.verbose) {
			sum_workers(&t);
			tap_diag("%5.1f s: %" PRIu64 " attaches, %" PRIu64 " writes, %" PRIu64 " pages checked, %" PRIu64 " protector rounds, errors %" PRIu64,
				 now() - t_go, t.attaches, t.writes, t.pages,
				 __atomic_load_n(&ctl->p.rounds, __ATOMIC_RELAXED),
				 errors(t.err) + errors(ctl->p.err));
		}
	}
	atomic_store(&ctl->stop, 1);
	t_stop = now();

	/* Join all: the protector, then the workers */
	for (unsigned int i = 0; i <= opt.procs; i++) {
		pid_t pid = i ? pids[i - 1] : ppid;
		struct rusage ru;

		if (wait4(pid, &status, 0, &ru) != pid)
			tap_bail("wait4 failed");
		if (i) {
			ru_all.ru_minflt += ru.ru_minflt;
			ru_all.ru_majflt += ru.ru_majflt;
		}
		if (WIFSIGNALED(status)) {
			if (i)
				died++;
			else
				pdied = 1;
			tap_diag("%s %u died of signal %d", i ? "worker" : "protector",
				 i ? i - 1 : 0, WTERMSIG(status));
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			if (i)
				failed++;
			else
				pfailed = 1;
		}
	}
	t_end = now();

	sum_workers(&t);
	for (unsigned int id = 0; id < opt.procs; id++) {
		const struct wstat *w = &ctl->w[id];

		if (w->detaches < min_cycles)
			min_cycles = w->detaches;
		if (w->first.kind && diag++ < MAX_DIAG)
			print_first("worker", id, &w->first);
	}
	if (ctl->p.first.kind)
		print_first("protector", 0, &ctl->p.first);
	for (unsigned int a = 0; a < NADVICE; a++)
		advised += ctl->p.advises[a];

	tap_diag("ran %.1f s (stop to last reap %.1f s); fork %.1f s",
		 t_end - t_go, t_end - t_stop, t_fork);
	tap_diag("workers: %" PRIu64 " attaches (%" PRIu64 " at a random address, %" PRIu64 " of those taken: EEXIST; %" PRIu64 " read-write, %" PRIu64 " read-only), %" PRIu64 " detaches",
		 t.attaches, t.fixed, t.collisions, t.rw, t.ro, t.detaches);
	tap_diag("workers: %" PRIu64 " pages checked, %" PRIu64 " slot writes, %" PRIu64 " read-only stores refused; faults %ld minor, %ld major",
		 t.pages, t.writes, t.ro_probes, ru_all.ru_minflt, ru_all.ru_majflt);
	tap_diag("workers: fewest cycles of one worker %" PRIu64 ", mean %.1f",
		 min_cycles, opt.procs ? (double)t.detaches / opt.procs : 0.0);
	tap_diag("protector: %" PRIu64 " rounds, %" PRIu64 " PROTECTs, %" PRIu64 " read-only stores refused, %" PRIu64 " REMOVEs, %" PRIu64 " attaches, %" PRIu64 " pages checked",
		 ctl->p.rounds, ctl->p.protects, ctl->p.ro_probes, ctl->p.removes,
		 ctl->p.attaches, ctl->p.pages);
	tap_diag("protector: %" PRIu64 " ADVISEs: PAGEOUT %" PRIu64 ", COLD %" PRIu64 ", WILLNEED %" PRIu64 ", POPULATE_READ %" PRIu64 ", POPULATE_WRITE %" PRIu64 " (%" PRIu64 " EINVAL over the read-only window), DONTNEED %" PRIu64 ", HUGEPAGE %" PRIu64 ", NOHUGEPAGE %" PRIu64,
		 advised, ctl->p.advises[0], ctl->p.advises[1], ctl->p.advises[2],
		 ctl->p.advises[3], ctl->p.advises[4], ctl->p.advise_einval,
		 ctl->p.advises[5], ctl->p.advises[6], ctl->p.advises[7]);
	if (ctl->p.rounds)
		tap_diag("protector: a round's steps, mean (max) ms: PROTECT and window %.1f (%.1f), ADVISE %.1f (%.1f), REMOVE and scratch %.1f (%.1f), checks %.1f (%.1f)",
			 1e3 * ctl->p.t_step[0] / ctl->p.rounds, 1e3 * ctl->p.max_step[0],
			 1e3 * ctl->p.t_step[1] / ctl->p.rounds, 1e3 * ctl->p.max_step[1],
			 1e3 * ctl->p.t_step[2] / ctl->p.rounds, 1e3 * ctl->p.max_step[2],
			 1e3 * ctl->p.t_step[3] / ctl->p.rounds, 1e3 * ctl->p.max_step[3]);
	tap_diag("errors: data %" PRIu64 ", store let through %" PRIu64 ", errno %" PRIu64 ", signal %" PRIu64 " (workers); %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 " (protector)",
		 t.err[E_DATA], t.err[E_PROT], t.err[E_ERRNO], t.err[E_SIGNAL],
		 ctl->p.err[E_DATA], ctl->p.err[E_PROT], ctl->p.err[E_ERRNO],
		 ctl->p.err[E_SIGNAL]);

	tap_ok(!died && !failed, "all %u workers ran to the end (%u died of a signal, %u reported errors)",
	       opt.procs, died, failed);
	tap_ok(!pdied && !pfailed, "the protector ran to the end (%s)",
	       pdied ? "died of a signal" : pfailed ? "reported errors" : "no error");
	tap_ok(t.attaches && min_cycles >= 1 && t.writes && t.ro_probes,
	       "%" PRIu64 " attach, check, detach cycles, every worker at least one (fewest %" PRIu64 ")",
	       t.detaches, min_cycles);
	tap_ok(ctl->p.protects >= 2 && advised && ctl->p.removes,
	       "%" PRIu64 " PROTECTs, %" PRIu64 " ADVISEs, %" PRIu64 " REMOVEs meanwhile",
	       ctl->p.protects, advised, ctl->p.removes);
	tap_ok(!t.err[E_DATA] && !ctl->p.err[E_DATA],
	       "no data mismatch (%" PRIu64 " worker, %" PRIu64 " protector)",
	       t.err[E_DATA], ctl->p.err[E_DATA]);
	tap_ok(!t.err[E_PROT] && !ctl->p.err[E_PROT],
	       "every store into a read-only attach (%" PRIu64 ") or the read-only window (%" PRIu64 ") faults: SEGV_ACCERR there (%" PRIu64 " let through or wrong, %" PRIu64 ")",
	       t.ro_probes, ctl->p.ro_probes, t.err[E_PROT], ctl->p.err[E_PROT]);
	tap_ok(!t.err[E_ERRNO] && !ctl->p.err[E_ERRNO],
	       "no unexpected errno (%" PRIu64 " worker, %" PRIu64 " protector)",
	       t.err[E_ERRNO], ctl->p.err[E_ERRNO]);
	tap_ok(!t.err[E_SIGNAL] && !ctl->p.err[E_SIGNAL] && !died && !pdied,
	       "no unexpected signal (%" PRIu64 " worker, %" PRIu64 " protector)",
	       t.err[E_SIGNAL] + died, ctl->p.err[E_SIGNAL] + pdied);

	/* The whole region once more, and the attach count */
	base = region_attach(ro_fd, align, PROT_READ);
	if (base == MAP_FAILED)
		tap_bail("cannot attach the region at the end");
	my_base = base;
	bad_words = verify_all(base);
	if (my_f.kind)
		print_first("parent", 0, &my_f);
	tap_ok(!bad_words, "every word of the %" PRIu64 " MiB holds what was last written (%" PRIu64 " wrong)",
	       opt.size / MiB, bad_words);
	region_stats(fd, &st);
	tap_ok(st.nr_attached == 1, "one attach left, the parent's (%llu)",
	       (unsigned long long)st.nr_attached);
	munmap(base, align);
	region_stats(fd, &st);
	tap_ok(st.nr_attached == 0, "none after it detaches (%llu)",
	       (unsigned long long)st.nr_attached);

	close(ro_fd);
	close(fd);
	if (memfd >= 0)
		close(memfd);
	TAP_SUCCESS(unlink(path), "unlink the region");
	tap_ok(!in_mount(name), "no region left in the mount");
	mem_sample(&m1);
	tap_diag("MemFree %ld -> %ld kB, Shmem %ld -> %ld kB, SwapFree %ld -> %ld kB",
		 m0.free_kb, m1.free_kb, m0.shmem_kb, m1.shmem_kb,
		 m0.swapfree_kb, m1.swapfree_kb);
	/*
	 * Region memory left behind shows in Shmem, or in SwapFree where it
	 * was paged out, to the page: the counters page is Shmem (some
	 * 300 kB for 1500 workers), and each CPU caches up to 128 swap slots
	 * (64 to hand out, 64 freed). MemFree is noisier (slab caches, 1500
	 * processes' worth of them, keep some): it catches a big leak only.
	 */
	tap_ok(m1.free_kb >= m0.free_kb - (long)(MAX(opt.size, 64 * MiB) / 2048) &&
	       m1.shmem_kb <= m0.shmem_kb + (long)(ctl_size / 1024) + 1024 &&
	       m1.swapfree_kb >= m0.swapfree_kb - 512 * sysconf(_SC_NPROCESSORS_ONLN) - 256,
	       "MemFree, Shmem and SwapFree back near where they were (%+ld, %+ld, %+ld kB)",
	       m1.free_kb - m0.free_kb, m1.shmem_kb - m0.shmem_kb,
	       m1.swapfree_kb - m0.swapfree_kb);
	tap_diag("total %.1f s", now() - t_start);
	return tap_done();
}
