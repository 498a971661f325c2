// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSHAREFS_UNMAP racing with sharers that run on other CPUs at the same
 * time (DESIGN §4.2, §4.3: every change to the shared tables must reach
 * every CPU; QEMU's TLB hides a missing flush unless sharers really run
 * side by side).
 *
 * A controller (pinned to CPU 0) cycles eight 2 MiB slots of a region:
 * generation g of a slot is fresh anonymous memory with a word naming
 * (slot, page, g) at the start of every page; the controller UNMAPs it,
 * publishes "g is unmapped", checks that its own access now faults, keeps
 * the hole open until a sharer has faulted in it (or 20 ms), maps fresh
 * memory and writes generation g + 1. Three sharers load and store slot
 * pages all the while, catching the SIGSEGVs of the holes:
 *
 *  - reader 0: forked, pinned to CPU 1, re-attached by path at another
 *    address;
 *  - reader 1: exec'd (no inherited attach), pinned to CPU 1 (2 if there
 *    is one), attached by path at another address;
 *  - reader 2: forked, keeps the controller's attach (same address),
 *    pinned to CPU 0 at nice 19: it runs in the controller's pauses, so
 *    it checks the same-CPU switch path.
 *
 * The checks, per load (the control counters are read with seq_cst
 * atomics before and after the load):
 *  - no stale read: a load that started after "g is unmapped" was
 *    published (so after UNMAP returned) never sees generation g or older;
 *  - the data matches: a value is zero (fresh memory) or names this slot
 *    and page and a generation that exists; a fully written generation
 *    that is still mapped never reads as zero;
 *  - SIGSEGVs are SEGV_MAPERR at the sharer's own address, and never
 *    happen while the slot was mapped for the whole load;
 *  - a sharer's store to its own word reads back when the slot was not
 *    replaced in between.
 * And the run must have exercised the race: every reader on another CPU
 * saw both data and SIGSEGVs.
 *
 * argv[1]: iterations (default 300). Internally, "--reader ..." is the
 * exec'd reader.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "guest.h"

#define SLOTS		8
#define SLOT_SIZE	(2UL << 20)
#define PAGE		4096UL
#define PAGES		(SLOT_SIZE / PAGE)
#define NREADERS	3
#define HOLD_NS		20000000L	/* longest wait for a sharer to fault in a hole */

/* Word 0 of every page: 0xc0de | slot | page | generation. */
#define GEN_MAGIC	0xc0deULL
#define GEN_MASK	0xffffffULL
/* A sharer's own word, at 256 + 64 * id: 0xfeed | id | page | sequence. */
#define WR_MAGIC	0xfeedULL
#define WR_OFFSET(id)	(256 + 64 * (id))

struct event {
	uint64_t kind, slot, page, value, a, b, c;
};

struct rstat {
	uint64_t loads, data, zeros, faults;
	uint64_t stale, mismatch, spurious, badsig;
	uint64_t wchecks, wfaults, wmismatch;
	uint64_t addr, ready, setup_err;
	int64_t cpu;
	struct event first;		/* the first failure seen */
	uint64_t pad[8];
};

struct ctl {
	uint64_t stop, active;
	uint64_t mapped[SLOTS];		/* last generation fully written */
	uint64_t writing[SLOTS];	/* last generation whose mapping was started */
	uint64_t unmapping[SLOTS];	/* last generation whose UNMAP was started */
	uint64_t unmapped[SLOTS];	/* last generation whose UNMAP returned */
	uint64_t slot_faults[SLOTS];
	uint64_t pad[8];
	struct rstat r[NREADERS];
};

enum { EV_STALE = 1, EV_MISMATCH, EV_ZERO, EV_SPURIOUS, EV_BADSIG, EV_WRITE };

static const char *const ev_name[] = {
	"?", "stale read", "wrong data", "zero in written page",
	"SIGSEGV on a mapped slot", "bad siginfo", "store not read back",
};

static sigjmp_buf probe_env;
static volatile sig_atomic_t probing;
static volatile int fault_code;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!probing) {
		/* Not ours: die of it when the access restarts. */
		signal(sig, SIG_DFL);
		return;
	}
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	probing = 0;
	siglongjmp(probe_env, 1);
}

static void catch_segv(void)
{
	struct sigaction sa = {
		.sa_sigaction = on_segv,
		/* SA_NODEFER: siglongjmp without restoring the mask stays cheap. */
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		tap_bail("sigaction failed");
}

/* Load *@p; -1 if it raised SIGSEGV (fault_code, fault_addr say how). */
static int __attribute__((noinline)) probe_load(uint64_t *p, uint64_t *v)
{
	if (sigsetjmp(probe_env, 0))
		return -1;
	probing = 1;
	*v = __atomic_load_n(p, __ATOMIC_SEQ_CST);
	probing = 0;
	return 0;
}

static int __attribute__((noinline)) probe_store(uint64_t *p, uint64_t v)
{
	if (sigsetjmp(probe_env, 0))
		return -1;
	probing = 1;
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
	probing = 0;
	return 0;
}

static inline uint64_t ld(uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static inline void st(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static inline uint64_t gen_word(unsigned int slot, unsigned int page, uint64_t g)
{
	return GEN_MAGIC << 48 | (uint64_t)slot << 40 | (uint64_t)page << 24 | g;
}

static inline uint64_t wr_word(unsigned int id, unsigned int page, uint64_t seq)
{
	return WR_MAGIC << 48 | (uint64_t)id << 40 | (uint64_t)page << 24 |
	       (seq & GEN_MASK);
}

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void record(uint64_t *count, struct rstat *rs, uint64_t kind,
		   unsigned int s, unsigned int p, uint64_t v, uint64_t a,
		   uint64_t b, uint64_t c)
{
	if (!*count && !rs->first.kind)
		rs->first = (struct event){ kind, s, p, v, a, b, c };
	++*count;
}

static void fault_seen(struct ctl *c, struct rstat *rs, unsigned int s,
		       unsigned int p, void *addr)
{
	rs->faults++;
	__atomic_fetch_add(&c->slot_faults[s], 1, __ATOMIC_SEQ_CST);
	if (fault_code != SEGV_MAPERR || fault_addr != addr)
		record(&rs->badsig, rs, EV_BADSIG, s, p, (uintptr_t)fault_addr,
		       fault_code, (uintptr_t)addr, 0);
}

/* One load of word 0 of page @p of slot @s, at @page. */
static void check_load(struct ctl *c, struct rstat *rs, unsigned int s,
		       unsigned int p, uint8_t *page)
{
	uint64_t *word = (uint64_t *)page;
	uint64_t m1, u1, w2, v, g;

	m1 = ld(&c->mapped[s]);
	u1 = ld(&c->unmapped[s]);
	rs->loads++;
	if (probe_load(word, &v)) {
		fault_seen(c, rs, s, p, word);
		/* Mapping m1 existed before the load; had its UNMAP begun? */
		if (ld(&c->unmapping[s]) < m1)
			record(&rs->spurious, rs, EV_SPURIOUS, s, p, 0, m1, u1, 0);
		return;
	}
	w2 = ld(&c->writing[s]);
	if (!v) {
		/* Only a mapping newer than m1, not yet written, reads as zero. */
		if (w2 == m1)
			record(&rs->mismatch, rs, EV_ZERO, s, p, v, m1, u1, w2);
		else
			rs->zeros++;
		return;
	}
	g = v & GEN_MASK;
	if ((v & ~GEN_MASK) != (gen_word(s, p, 0) & ~GEN_MASK) || g > w2)
		record(&rs->mismatch, rs, EV_MISMATCH, s, p, v, m1, u1, w2);
	else if (g <= u1)
		record(&rs->stale, rs, EV_STALE, s, p, v, m1, u1, w2);
	else
		rs->data++;
}

/*
 * Store to this sharer's own word of the page and load it back. If the
 * slot's generation was the same before the store and after the load,
 * both went to the same mapping (its predecessor's UNMAP had returned,
 * its successor was not begun) and nobody else writes that word.
 */
static void check_store(struct ctl *c, struct rstat *rs, unsigned int id,
			unsigned int s, unsigned int p, uint8_t *page,
			uint64_t seq)
{
	uint64_t *word = (uint64_t *)(page + WR_OFFSET(id));
	uint64_t x = wr_word(id, p, seq), y, wb, wa;

	wb = ld(&c->writing[s]);
	if (probe_store(word, x) || probe_load(word, &y)) {
		rs->wfaults++;
		fault_seen(c, rs, s, p, word);
		return;
	}
	wa = ld(&c->writing[s]);
	rs->wchecks++;
	if (wa == wb && y != x)
		record(&rs->wmismatch, rs, EV_WRITE, s, p, y, x, wb, wa);
}

static void reader_run(struct ctl *c, unsigned int id, uint8_t *base)
{
	struct rstat *rs = &c->r[id];
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (id + 1), seq = 0;

	catch_segv();
	st(&rs->ready, 1);
	for (uint64_t i = 0; !ld(&c->stop); i++) {
		/* Half the loads go to the slot the controller works on. */
		unsigned int s = (i & 1) ? ld(&c->active) : rnd(&rng) % SLOTS;
		unsigned int p = rnd(&rng) % PAGES;
		uint8_t *page = base + s * SLOT_SIZE + p * PAGE;

		check_load(c, rs, s, p, page);
		if (!(i & 3))
			check_store(c, rs, id, s, p, page, ++seq);
	}
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Attach by path at the @nth aligned address below the controller's
 * @ctl_base if the kernel takes it, and at none of the addresses between;
 * NULL on failure.
 */
static uint8_t *attach_by_path(const char *path, uint64_t size,
			       uintptr_t ctl_base, unsigned int nth)
{
	void *avoid[2], *p;
	int fd = open(path, O_RDWR);

	if (fd < 0 || nth > 2)
		return NULL;
	for (unsigned int i = 0; i < nth; i++)
		avoid[i] = (void *)(ctl_base - i * size);
	p = region_attach_avoid(fd, size, PROT_READ | PROT_WRITE,
				(void *)(ctl_base - nth * size), avoid, nth);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Common start of a reader: CPU, attach, then run until told to stop. */
static int reader_main(struct ctl *c, unsigned int id, int cpu,
		       uint8_t *base)
{
	struct rstat *rs = &c->r[id];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pin(cpu);
	rs->cpu = sched_getcpu();
	if (!base) {
		rs->setup_err = errno ? errno : -1;
		st(&rs->ready, 1);
		return 1;
	}
	rs->addr = (uintptr_t)base;
	reader_run(c, id, base);
	return 0;
}

/* argv: --reader ID CPU CTLFD PATH SIZE CTL_BASE (after exec: no inherited attach) */
static int exec_reader(char **argv)
{
	unsigned int id = strtoul(argv[2], NULL, 0);
	int cpu = strtol(argv[3], NULL, 0), cfd = strtol(argv[4], NULL, 0);
	uint64_t size = strtoull(argv[6], NULL, 0);
	uintptr_t ctl_base = strtoull(argv[7], NULL, 0);
	struct ctl *c;

	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
	if (c == MAP_FAILED || id >= NREADERS)
		return 2;
	errno = 0;
	return reader_main(c, id, cpu, attach_by_path(argv[5], size, ctl_base, 2));
}

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + t.tv_nsec - t0->tv_nsec;
}

/* Map fresh anonymous memory in slot @s, whole or in two halves. */
static int map_slot(int fd, unsigned int s, bool halves)
{
	uint64_t off = s * SLOT_SIZE, half = SLOT_SIZE / 2;

	if (!halves)
		return region_map_anon(fd, off, SLOT_SIZE);
	return region_map_anon(fd, off + half, half) ||
	       region_map_anon(fd, off, half) ? -1 : 0;
}

static int unmap_slot(int fd, unsigned int s, bool halves)
{
	uint64_t off = s * SLOT_SIZE, half = SLOT_SIZE / 2;

	if (!halves)
		return region_unmap(fd, off, SLOT_SIZE);
	return region_unmap(fd, off + half, half) ||
	       region_unmap(fd, off, half) ? -1 : 0;
}

static void fill_slot(uint8_t *slot, unsigned int s, uint64_t g)
{
	for (unsigned int p = 0; p < PAGES; p++)
		__atomic_store_n((uint64_t *)(slot + p * PAGE),
				 gen_word(s, p, g), __ATOMIC_RELAXED);
}

static void report_event(unsigned int id, const struct event *e)
{
	if (!e->kind)
		return;
	tap_diag("reader %u, first failure: %s at slot %" PRIu64 " page %" PRIu64
		 ": value %#" PRIx64 " (%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ")",
		 id, ev_name[e->kind], e->slot, e->page, e->value, e->a, e->b, e->c);
}

int main(int argc, char **argv)
{
	uint64_t unmap_fail = 0, map_fail = 0, own_fault_bad = 0, zero_bad = 0;
	uint64_t data_bad = 0, holes_hit = 0, ncpu;
	long t_unmap = 0, t_hold = 0, t_map = 0;
	uint64_t stale = 0, mismatch = 0, spurious = 0, badsig = 0;
	uint64_t wchecks = 0, wmismatch = 0, loads = 0, faults = 0;
	unsigned long iterations = 300, it;
	char path[512], arg[5][64];
	struct timespec t0, tstart;
	uint64_t align, rng = 1;
	pid_t pids[NREADERS];
	int fd, cfd, cpus[NREADERS];
	uint8_t *base;
	struct ctl *c;
	bool ok;

	if (argc >= 8 && !strcmp(argv[1], "--reader"))
		return exec_reader(argv);
	if (argc >= 2)
		iterations = strtoul(argv[1], NULL, 0);

	require_msharefs();
	align = mshare_align_raw();
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	tap_diag("%" PRIu64 " CPUs online, %lu iterations", ncpu, iterations);
	if (!tap_ok(ncpu >= 2, "at least two CPUs to run sharers side by side"))
		return tap_done();
	cpus[0] = 1;
	cpus[1] = ncpu >= 3 ? 2 : 1;
	cpus[2] = 0;
	pin(0);

	fd = region_new("concurrency", path, sizeof(path), align);
	cfd = memfd_create("msharefs-concurrency", 0);	/* inherited across exec */
	if (cfd < 0 || ftruncate(cfd, sizeof(*c)))
		tap_bail("cannot make the control page");
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
	if (c == MAP_FAILED)
		tap_bail("cannot map the control page");

	ok = true;
	for (unsigned int s = 0; s < SLOTS; s++)
		ok &= !map_slot(fd, s, false);
	if (!tap_ok(ok, "map %d slots of 2 MiB of anonymous memory", SLOTS))
		tap_bail("cannot fill the region");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (!tap_ok(base != MAP_FAILED, "the controller attaches"))
		tap_bail("cannot attach");
	for (unsigned int s = 0; s < SLOTS; s++) {
		fill_slot(base + s * SLOT_SIZE, s, 1);
		c->mapped[s] = c->writing[s] = 1;
	}
	catch_segv();

	/* The sharers. */
	fflush(stdout);
	for (unsigned int id = 0; id < NREADERS; id++) {
		pids[id] = fork();
		if (pids[id] < 0)
			tap_bail("fork failed");
		if (pids[id])
			continue;
		if (id == 0) {
			/* Drop the inherited attach, attach anew by path elsewhere. */
			uint8_t *b = NULL;

			errno = 0;
			if (!munmap(base, align))
				b = attach_by_path(path, align, (uintptr_t)base, 1);
			_exit(reader_main(c, id, cpus[id], b));
		}
		if (id == 1) {
			snprintf(arg[0], sizeof(arg[0]), "%u", id);
			snprintf(arg[1], sizeof(arg[1]), "%d", cpus[id]);
			snprintf(arg[2], sizeof(arg[2]), "%d", cfd);
			snprintf(arg[3], sizeof(arg[3]), "%" PRIu64, align);
			snprintf(arg[4], sizeof(arg[4]), "%#" PRIxPTR, (uintptr_t)base);
			execl("/proc/self/exe", argv[0], "--reader", arg[0], arg[1],
			      arg[2], path, arg[3], arg[4], (char *)NULL);
			c->r[id].setup_err = errno;
			st(&c->r[id].ready, 1);
			_exit(1);
		}
		/* The inherited attach, at the controller's address, on its CPU. */
		if (setpriority(PRIO_PROCESS, 0, 19))
			_exit(1);
		_exit(reader_main(c, id, cpus[id], base));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int id = 0; id < NREADERS; id++)
		while (!ld(&c->r[id].ready)) {
			if (elapsed_ns(&t0) > 60000000000L)
				tap_bail("a sharer did not start");
			usleep(1000);
		}
	for (unsigned int id = 0; id < NREADERS; id++) {
		struct rstat *rs = &c->r[id];
		bool want_other = id != 2;

		tap_ok(!rs->setup_err && rs->addr && !(rs->addr % align) &&
		       (rs->addr != (uintptr_t)base) == want_other &&
		       rs->cpu == cpus[id],
		       "reader %u (%s) attached at %#" PRIx64 " (controller %p), on CPU %" PRId64,
		       id, id == 0 ? "forked, re-attached by path" :
		       id == 1 ? "exec'd, attached by path" : "forked, inherited attach",
		       rs->addr, (void *)base, rs->cpu);
		if (rs->setup_err)
			tap_diag("reader %u setup failed: %s", id, strerror(rs->setup_err));
	}

	/* The controller's loop. */
	clock_gettime(CLOCK_MONOTONIC, &tstart);
	for (it = 0; it < iterations; it++) {
		unsigned int s = it % SLOTS, p;
		uint8_t *slot = base + s * SLOT_SIZE;
		uint64_t g = c->mapped[s], f0, v;

		st(&c->active, s);
		for (p = 0; p < PAGES; p++)
			if (ld((uint64_t *)(slot + p * PAGE)) != gen_word(s, p, g))
				data_bad++;

		f0 = ld(&c->slot_faults[s]);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		st(&c->unmapping[s], g);
		if (unmap_slot(fd, s, it % 3 == 1))
			unmap_fail++;
		st(&c->unmapped[s], g);
		t_unmap += elapsed_ns(&t0);

		p = rnd(&rng) % PAGES;
		if (!probe_load((uint64_t *)(slot + p * PAGE), &v) ||
		    fault_code != SEGV_MAPERR || fault_addr != slot + p * PAGE)
			own_fault_bad++;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (ld(&c->slot_faults[s]) == f0 && elapsed_ns(&t0) < HOLD_NS)
			usleep(50);
		if (ld(&c->slot_faults[s]) != f0)
			holes_hit++;
		t_hold += elapsed_ns(&t0);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		st(&c->writing[s], g + 1);
		if (map_slot(fd, s, it % 3 == 2)) {
			map_fail++;
			break;
		}
		if (ld((uint64_t *)slot) || ld((uint64_t *)(slot + SLOT_SIZE - PAGE)))
			zero_bad++;
		fill_slot(slot, s, g + 1);
		st(&c->mapped[s], g + 1);
		t_map += elapsed_ns(&t0);
	}
	tap_diag("%lu iterations in %ld ms (UNMAP %ld ms, holes %ld ms, re-map and fill %ld ms); a sharer faulted in %" PRIu64 " of the holes",
		 it, elapsed_ns(&tstart) / 1000000, t_unmap / 1000000,
		 t_hold / 1000000, t_map / 1000000, holes_hit);
	st(&c->stop, 1);

	for (unsigned int id = 0; id < NREADERS; id++) {
		int status;

		tap_ok(waitpid(pids[id], &status, 0) == pids[id] &&
		       WIFEXITED(status) && !WEXITSTATUS(status),
		       "reader %u ran to the end and exited cleanly", id);
	}

	tap_ok(!unmap_fail, "every UNMAP returned 0 (%" PRIu64 " failed)", unmap_fail);
	tap_ok(!map_fail, "every re-map returned 0");
	tap_ok(!own_fault_bad,
	       "after each UNMAP the controller's own access faults, SEGV_MAPERR at its address (%" PRIu64 " did not)",
	       own_fault_bad);
	tap_ok(!zero_bad, "re-mapped memory reads as zeros (%" PRIu64 " did not)", zero_bad);
	tap_ok(!data_bad, "the controller reads back every page it wrote before each UNMAP (%" PRIu64 " wrong)",
	       data_bad);

	for (unsigned int id = 0; id < NREADERS; id++) {
		struct rstat *rs = &c->r[id];

		tap_diag("reader %u (CPU %" PRId64 "): %" PRIu64 " loads: %" PRIu64 " data, %" PRIu64
			 " zeros, %" PRIu64 " SIGSEGV; %" PRIu64 " store checks, %" PRIu64
			 " store faults; stale %" PRIu64 ", mismatch %" PRIu64 ", spurious %" PRIu64
			 ", bad siginfo %" PRIu64 ", store mismatch %" PRIu64,
			 id, rs->cpu, rs->loads, rs->data, rs->zeros, rs->faults,
			 rs->wchecks, rs->wfaults, rs->stale, rs->mismatch, rs->spurious,
			 rs->badsig, rs->wmismatch);
		report_event(id, &rs->first);
		loads += rs->loads;
		faults += rs->faults;
		stale += rs->stale;
		mismatch += rs->mismatch;
		spurious += rs->spurious;
		badsig += rs->badsig;
		wchecks += rs->wchecks;
		wmismatch += rs->wmismatch;
	}
	tap_ok(!stale, "no stale read: no load after UNMAP returned saw the unmapped data (%" PRIu64 " of %" PRIu64 ")",
	       stale, loads);
	tap_ok(!mismatch, "every load saw zeros or the right slot, page and generation (%" PRIu64 " wrong)",
	       mismatch);
	tap_ok(!spurious, "no SIGSEGV on a slot mapped for the whole load (%" PRIu64 ")", spurious);
	tap_ok(!badsig, "every SIGSEGV is SEGV_MAPERR at the sharer's own address (%" PRIu64 " of %" PRIu64 " not)",
	       badsig, faults);
	tap_ok(wchecks && !wmismatch, "sharers' stores read back (%" PRIu64 " of %" PRIu64 " did not)",
	       wmismatch, wchecks);
	for (unsigned int id = 0; id < 2; id++)
		tap_ok(c->r[id].data && c->r[id].faults,
		       "reader %u on CPU %" PRId64 " saw mapped data and SIGSEGVs in holes (the race ran)",
		       id, c->r[id].cpu);
	tap_ok(c->r[2].data, "reader 2, sharing the controller's CPU, saw mapped data");

	munmap(base, align);
	munmap(c, sizeof(*c));
	close(cfd);
	close(fd);
	unlink(path);
	return tap_done();
}
