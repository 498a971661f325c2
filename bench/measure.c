// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One measurement: a configuration at N processes and S bytes.
 *
 * The coordinator forks N processes with nothing of the region mapped,
 * and drives them through a small shared control block, one slot per
 * process: it writes a command into the slot and wakes the process with
 * a futex; the process does it, writes its figures into the slot and
 * wakes the coordinator. Each process is measured alone (the others
 * wait), so a figure is what one attach costs, not a share of two vCPUs.
 *
 * Per process: the wall time of attach + touch loop; the faults of the
 * touch loop alone (getrusage), as DESIGN section 6 defines them.
 * PageTables is read with all N up and nothing attached, and again with
 * all attached and having read every page: the difference is what the
 * region's page tables cost, the processes' own tables cancelling out.
 * What the populated region keeps by itself with nobody attached (an
 * msharefs region's own tables; nothing for the others, whose populating
 * mapping is gone) is read across the set-up, and counts once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "meminfo.h"
#include "touch.h"

#define CMD_READ	1u	/* attach, read every page; stay attached */
#define CMD_WRITE	2u	/* detach, attach again, write every page */
#define CMD_EXIT	3u
#define CMD_SHIFT	4	/* cmd = sequence << CMD_SHIFT | op */

#define STALL_S		600	/* a process that takes longer is stuck */

struct slot {
	_Atomic uint32_t cmd;		/* written by the coordinator */
	_Atomic uint32_t done;		/* the cmd done, by the process */
	int32_t err;			/* 0 or an errno */
	uint32_t pad;
	int64_t ns;			/* attach + touch loop */
	int64_t faults;			/* touch loop */
	uint64_t sum;			/* of what was read: keeps the loads */
} __attribute__((aligned(64)));

struct ctl {
	_Atomic uint32_t ready;		/* processes up */
	struct slot slot[];
};

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Wait while *word == val, at most @timeout_s (0: for ever). */
static void futex_wait(_Atomic uint32_t *word, uint32_t val, long timeout_s)
{
	struct timespec ts = { .tv_sec = timeout_s };

	syscall(SYS_futex, word, FUTEX_WAIT, val, timeout_s ? &ts : NULL,
		NULL, 0);
}

/* The process: prepare, report up, then do commands until told to exit. */
static void __attribute__((noreturn))
child(const struct backend *be, struct backend_ctx *b, struct ctl *ctl,
      struct slot *s, pid_t parent)
{
	uint32_t seen = 0;
	void *addr = NULL;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)	/* died before prctl took */
		_exit(1);
	err = be->prepare(b);
	/* First calls fault in the vDSO and the code: not in the figures */
	(void)now_ns();
	(void)faults();
	atomic_fetch_add(&ctl->ready, 1);
	futex_wake(&ctl->ready);
	for (;;) {
		uint32_t cmd = atomic_load(&s->cmd);
		int64_t t0, f0;

		if (cmd == seen) {
			futex_wait(&s->cmd, seen, 0);
			continue;
		}
		seen = cmd;
		if ((cmd & ((1u << CMD_SHIFT) - 1)) == CMD_EXIT)
			_exit(0);
		if (addr) {
			int ret = be->detach(b, addr);

			if (ret)
				err = ret;
			addr = NULL;
		}
		if (!err) {
			t0 = now_ns();
			addr = be->attach(b);
			if (!addr) {
				err = errno;
			} else if ((cmd & ((1u << CMD_SHIFT) - 1)) == CMD_READ) {
				f0 = faults();
				s->sum = touch_read(addr, b->size);
				s->faults = faults() - f0;
			} else {
				f0 = faults();
				touch_write(addr, b->size);
				s->faults = faults() - f0;
			}
			s->ns = now_ns() - t0;
		}
		s->err = err < 0 ? -err : err;
		atomic_store(&s->done, cmd);
		futex_wake(&s->done);
	}
}

/* Give process @i command @op and wait for it to be done: 0 or -1. */
static int command(struct ctl *ctl, pid_t *pids, unsigned int i,
		   uint32_t *seq, uint32_t op, const char *what)
{
	struct slot *s = &ctl->slot[i];
	uint32_t cmd = ++*seq << CMD_SHIFT | op;
	double start = now_s();

	atomic_store(&s->cmd, cmd);
	futex_wake(&s->cmd);
	while (atomic_load(&s->done) != cmd) {
		uint32_t done = atomic_load(&s->done);
		int status;

		if (done != cmd)
			futex_wait(&s->done, done, 1);
		if (atomic_load(&s->done) == cmd)
			break;
		if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
			fprintf(stderr, "mshare-bench: process %u died during %s (status %#x)\n",
				i, what, status);
			pids[i] = 0;
			return -1;
		}
		if (now_s() - start > STALL_S) {
			fprintf(stderr, "mshare-bench: process %u stuck in %s\n",
				i, what);
			return -1;
		}
	}
	if (s->err) {
		fprintf(stderr, "mshare-bench: process %u: %s: %s\n", i, what,
			strerror(s->err));
		return -1;
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Median of @n values in ms (sorts them). */
static double median_ms(int64_t *ns, unsigned int n)
{
	qsort(ns, n, sizeof(*ns), cmp_i64);
	if (n % 2)
		return ns[n / 2] / 1e6;
	return (ns[n / 2 - 1] + ns[n / 2]) / 2e6;
}

/* Kill what is left of the processes and reap them. */
static void kill_all(pid_t *pids, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
	for (unsigned int i = 0; i < n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

/* The region's count of all-CPU TLB flushes, or -1 */
static double nr_flushes(struct backend_ctx *b)
{
	struct mshare_stats st;

	return mshare_stats(b->region, &st) ? -1 : (double)st.nr_flushes;
}

/*
 * One PROTECT of all the region's memory to read-only, every attached
 * process's TLB included, in ms, and the flushes it took into @flushes;
 * then back to read-write, untimed. -1 with errno set if either fails.
 */
static double time_protect(struct backend_ctx *b, double *flushes)
{
	double f0 = nr_flushes(b), t0 = now_s(), t;
	int ret;

	ret = mshare_protect(b->region, 0, b->size, PROT_READ);
	t = now_s() - t0;
	*flushes = f0 < 0 ? -1 : nr_flushes(b) - f0;
	if (!ret)
		ret = mshare_protect(b->region, 0, b->size,
				     PROT_READ | PROT_WRITE);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return t * 1e3;
}

/* Fork @n processes; 0, or -1 with those made killed again. */
static int fork_all(const struct backend *be, struct backend_ctx *b,
		    struct ctl *ctl, pid_t *pids, unsigned int n)
{
	double start = now_s();
	pid_t self = getpid();

	for (unsigned int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			child(be, b, ctl, &ctl->slot[i], self);
		if (pids[i] < 0) {
			fprintf(stderr, "mshare-bench: fork: %s\n",
				strerror(errno));
			kill_all(pids, i);
			return -1;
		}
	}
	for (;;) {
		uint32_t up = atomic_load(&ctl->ready);
		pid_t dead;

		if (up == n)
			return 0;
		dead = waitpid(-1, NULL, WNOHANG);
		if (dead > 0) {
			fprintf(stderr, "mshare-bench: a process died while starting\n");
			for (unsigned int i = 0; i < n; i++)
				if (pids[i] == dead)
					pids[i] = 0;
			kill_all(pids, n);
			return -1;
		}
		if (now_s() - start > STALL_S) {
			fprintf(stderr, "mshare-bench: only %u of %u processes came up\n",
				up, n);
			kill_all(pids, n);
			return -1;
		}
		futex_wait(&ctl->ready, up, 1);
	}
}

int measure(const struct backend *be, struct backend_ctx *b, unsigned int n,
	    unsigned int writers, struct result *r)
{
	size_t ctl_len = sizeof(struct ctl) + n * sizeof(struct slot);
	int64_t *ns = calloc(n, sizeof(*ns));
	pid_t *pids = calloc(n, sizeof(*pids));
	double t0, f_read = 0, f_write = 0;
	long pt0, pt1;
	uint32_t seq = 0;
	struct ctl *ctl;
	int ret = -1;

	ctl = mmap(NULL, ctl_len, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!ns || !pids || ctl == MAP_FAILED) {
		fprintf(stderr, "mshare-bench: out of memory\n");
		goto out_free;
	}
	if (writers > n)
		writers = n;
	memset(r, 0, sizeof(*r));
	r->protect_ms = -1;
	r->folded_pct = -1;
	r->populate_flushes = -1;
	r->protect_flushes = -1;

	pt0 = pagetables_kb();
	t0 = now_s();
	ret = be->setup(b);
	r->populate_s = b->populated - t0;
	pt1 = pagetables_kb();
	r->pt_region_kib = pt1 - pt0;
	if (ret) {
		fprintf(stderr, "mshare-bench: %s: cannot make and populate %llu bytes: %s\n",
			be->name, (unsigned long long)b->size, strerror(-ret));
		ret = -1;
		goto out_teardown;
	}
	ret = -1;
	if (be->is_mshare) {
		struct mshare_stats st;

		if (mshare_stats(b->region, &st)) {
			fprintf(stderr, "mshare-bench: %s: cannot read its statistics\n",
				be->name);
			goto out_teardown;
		}
		r->folded_pct = 100.0 * st.nr_cont_blocks * (64 << 10) / b->size;
		r->populate_flushes = st.nr_flushes;
	}
	if (fork_all(be, b, ctl, pids, n))
		goto out_teardown;

	pt0 = pagetables_kb();
	if (pt0 < 0 || pt1 < 0) {
		fprintf(stderr, "mshare-bench: cannot read PageTables from /proc/meminfo\n");
		goto out_kill;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (command(ctl, pids, i, &seq, CMD_READ, "attach and read"))
			goto out_kill;
		ns[i] = ctl->slot[i].ns;
		f_read += ctl->slot[i].faults;
	}
	pt1 = pagetables_kb();
	r->pt_total_kib = pt1 - pt0;
	r->read_faults = f_read / n;
	r->attach_read_ms = median_ms(ns, n);

	for (unsigned int i = 0; i < writers; i++) {
		if (command(ctl, pids, i, &seq, CMD_WRITE, "attach and write"))
			goto out_kill;
		ns[i] = ctl->slot[i].ns;
		f_write += ctl->slot[i].faults;
	}
	r->write_faults = f_write / writers;
	r->attach_write_ms = median_ms(ns, writers);

	if (be->is_mshare) {
		r->protect_ms = time_protect(b, &r->protect_flushes);
		if (r->protect_ms < 0) {
			fprintf(stderr, "mshare-bench: %s: PROTECT: %s\n",
				be->name, strerror(errno));
			goto out_kill;
		}
	}

	/* Exit: all told at once, timed to the last one reaped */
	t0 = now_s();
	seq++;
	for (unsigned int i = 0; i < n; i++) {
		atomic_store(&ctl->slot[i].cmd, seq << CMD_SHIFT | CMD_EXIT);
		futex_wake(&ctl->slot[i].cmd);
	}
	for (unsigned int i = 0; i < n; i++) {
		if (waitpid(pids[i], NULL, 0) < 0)
			fprintf(stderr, "mshare-bench: waitpid: %s\n",
				strerror(errno));
		pids[i] = 0;
	}
	r->exit_s = now_s() - t0;
	ret = 0;

out_kill:
	kill_all(pids, n);
out_teardown:
	be->teardown(b);
out_free:
	if (ctl != MAP_FAILED)
		munmap(ctl, ctl_len);
	free(pids);
	free(ns);
	return ret;
}
