// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One phase of an sga run: make the SGA, start W workers (exec'd or
 * forked) and read PageTables once all are up, before any attaches: that
 * is what the processes cost by themselves, subtracted from what follows.
 * Then let them attach and read all of the SGA, then write their slices;
 * read PageTables with all of them attached and touched, check every
 * checksum and the whole SGA, tell them to exit and time the reaping.
 *
 * Workers talk back through one pipe (fixed-size records, each written
 * atomically) and are told what to do next by the closing of three other
 * pipes: "attach", "go" (write your slice) and "exit". A worker that dies
 * before it is told to exit, or no report for SGA_STALL_S, ends the
 * phase: the others are killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coord.h"
#include "meminfo.h"

#define SGA_STALL_S	300	/* give up after this long without a report */
#define SGA_MAX_MSGS	10	/* failures printed in detail, a phase */

extern char **environ;

/* The region to remove if we are interrupted, or "" */
static char emergency_path[PATH_MAX];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print a failure, the first SGA_MAX_MSGS of a phase only, and count it. */
static void __attribute__((format(printf, 2, 3)))
fail(struct phase *ph, const char *fmt, ...)
{
	va_list ap;

	if (ph->errors++ == SGA_MAX_MSGS) {
		fprintf(stderr, "sga: %s: more failures follow, not shown\n",
			ph->name);
		return;
	}
	if (ph->errors > SGA_MAX_MSGS)
		return;
	fprintf(stderr, "sga: %s: FAILED: ", ph->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Warn when the memory the phase will take (the SGA, and for the memfd
 * SGA / 512 of page tables a worker, and a guess of 256 KiB for each
 * process itself) is more than MemAvailable: the OOM killer would end
 * the run with dead workers, and the warning says why.
 */
static void check_memory(const struct phase *ph, const struct opts *o)
{
	double need = o->size + o->workers * 256.0 * 1024;
	long avail = meminfo_kb("MemAvailable");

	if (ph->mode == SGA_MEMFD)
		need += (double)o->workers * (o->size / 512);
	if (avail > 0 && need > avail * 1024.0)
		fprintf(stderr, "sga: %s: WARNING: this needs about %.0f MiB, MemAvailable is %ld MiB\n",
			ph->name, need / (1024 * 1024), avail / 1024);
}

static void fill(char *base, uint64_t size)
{
	uint64_t *p = (uint64_t *)base;

	for (uint64_t i = 0; i < size / 8; i++)
		p[i] = sga_pattern(i);
}

int phase_setup(struct phase *ph, const struct opts *o)
{
	double t0 = now(), t1;
	long pt0 = pagetables_kb();

	check_memory(ph, o);
	ph->memfd = -1;
	if (ph->mode == SGA_MSHARE) {
		/* Remembered first: a signal may come before create returns */
		snprintf(emergency_path, sizeof(emergency_path), "%s", o->region);
		ph->region = mshare_create_anon(o->region, o->size, 0600,
						MSHARE_MAP_POPULATE);
		if (!ph->region) {
			int err = errno;

			emergency_path[0] = '\0';
			fprintf(stderr, "sga: cannot create region %s: %s\n",
				o->region, strerror(err));
			if (err == EEXIST)
				fprintf(stderr, "sga: remove it, or choose another name with --name\n");
			return -1;
		}
		ph->base = mshare_addr(ph->region);
	} else {
		void *p;

		ph->memfd = memfd_create("sga", MFD_CLOEXEC);
		if (ph->memfd < 0 || ftruncate(ph->memfd, o->size)) {
			fprintf(stderr, "sga: cannot make a %" PRIu64 "-byte memfd: %s\n",
				o->size, strerror(errno));
			return -1;
		}
		p = mmap(NULL, o->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, ph->memfd, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "sga: cannot map the memfd: %s\n",
				strerror(errno));
			return -1;
		}
		ph->base = p;
	}
	t1 = now();
	fill(ph->base, o->size);
	ph->t_setup = now() - t0;
	ph->pt_setup_kb = pagetables_kb() - pt0;
	fprintf(stderr, "sga: %s: SGA made and populated in %.1f s, filled in %.1f s\n",
		ph->name, t1 - t0, now() - t1);
	return 0;
}

void phase_teardown(struct phase *ph, const struct opts *o)
{
	if (ph->region) {
		mshare_detach(ph->region);
		mshare_close(ph->region);
		mshare_unlink(o->region);
		emergency_path[0] = '\0';
	} else if (ph->base) {
		munmap(ph->base, o->size);
	}
	if (ph->memfd >= 0)
		close(ph->memfd);
	ph->region = NULL;
	ph->base = NULL;
	ph->memfd = -1;
}

void phase_emergency_unlink(void)
{
	if (emergency_path[0])
		unlink(emergency_path);
}

/* The pipes of a phase: [0] read end, [1] write end. */
struct pipes {
	int report[2], attach[2], go[2], exit[2];
};

static int make_pipes(struct pipes *p, uint32_t workers)
{
	long want = 3L * workers * sizeof(struct sga_report);

	if (pipe2(p->report, O_CLOEXEC) || pipe2(p->attach, O_CLOEXEC) ||
	    pipe2(p->go, O_CLOEXEC) || pipe2(p->exit, O_CLOEXEC))
		return -1;
	/* Room for every report, so that no worker waits to write one */
	if (want > 1 << 20)
		want = 1 << 20;
	if (want > 65536)
		fcntl(p->report[0], F_SETPIPE_SZ, (int)want);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Start worker @i; its pid or -1 (errno). */
static pid_t start_worker(struct phase *ph, const struct opts *o,
			  struct pipes *p, uint32_t i, char **argv)
{
	pid_t pid;
	int err;

	if (!o->fork) {
		snprintf(argv[3], 16, "%" PRIu32, i);
		err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
		if (err) {
			errno = err;
			return -1;
		}
		return pid;
	}

	pid = fork();
	if (!pid) {
		struct sga_job job = {
			.mode = ph->mode,
			.base = ph->base,
			.size = o->size,
			.stride = o->stride,
			.index = i,
			.workers = o->workers,
			.report_fd = p->report[1],
			.attach_fd = p->attach[0],
			.go_fd = p->go[0],
			.exit_fd = p->exit[0],
		};

		close(p->report[0]);
		close(p->attach[1]);
		close(p->go[1]);
		close(p->exit[1]);
		_exit(sga_worker(&job));
	}
	return pid;
}

static uint32_t index_of(const struct phase *ph, const struct opts *o, pid_t pid)
{
	for (uint32_t i = 0; i < o->workers; i++)
		if (ph->pids[i] == pid)
			return i;
	return UINT32_MAX;
}

/* Reap workers that exited before they were told to; how many did. */
static unsigned int reap_early(struct phase *ph, const struct opts *o)
{
	unsigned int n = 0;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		uint32_t i = index_of(ph, o, pid);

		if (i == UINT32_MAX)
			continue;
		ph->pids[i] = 0;
		n++;
		if (WIFEXITED(st))
			fail(ph, "worker %" PRIu32 " exited with status %d before it was told to",
			     i, WEXITSTATUS(st));
		else
			fail(ph, "worker %" PRIu32 " was killed by signal %d",
			     i, WTERMSIG(st));
	}
	return n;
}

/*
 * Read one report of phase @want from each of the @o->workers workers into
 * @out; 0, or -1 when waiting is pointless (a worker died, none reported
 * for SGA_STALL_S, a bad report).
 */
static int collect(struct phase *ph, const struct opts *o, int fd,
		   uint32_t want, struct sga_report *out)
{
	struct sga_report buf[64];
	uint32_t got = 0;
	double last = now();

	memset(out, 0, o->workers * sizeof(*out));
	while (got < o->workers) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int ready = poll(&pfd, 1, 1000);

		if (ready < 0 && errno != EINTR)
			return -1;
		if (ready <= 0) {
			if (reap_early(ph, o))
				return -1;
			if (now() - last > SGA_STALL_S) {
				fail(ph, "only %" PRIu32 " of %" PRIu32 " workers reported in %d s",
				     got, o->workers, SGA_STALL_S);
				return -1;
			}
			continue;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (size_t)n % sizeof(buf[0])) {
			fail(ph, "%s from the report pipe after %" PRIu32 " reports",
			     n ? "a bad read" : "end of file", got);
			reap_early(ph, o);
			return -1;
		}
		last = now();
		for (size_t k = 0; k < (size_t)n / sizeof(buf[0]); k++) {
			const struct sga_report *r = &buf[k];

			if (r->index >= o->workers || r->phase != want ||
			    out[r->index].phase) {
				fail(ph, "unexpected report (worker %" PRIu32 ", phase %" PRIu32 ")",
				     r->index, r->phase);
				return -1;
			}
			out[r->index] = *r;
			got++;
		}
	}
	return 0;
}

/* Kill and reap every worker still there. */
static void kill_all(struct phase *ph, const struct opts *o)
{
	for (uint32_t i = 0; i < o->workers; i++)
		if (ph->pids[i] > 0)
			kill(ph->pids[i], SIGKILL);
	for (uint32_t i = 0; i < o->workers; i++)
		if (ph->pids[i] > 0)
			waitpid(ph->pids[i], NULL, 0);
}

/* Tell every worker to exit and reap them, checking each exited cleanly. */
static void exit_all(struct phase *ph, const struct opts *o, struct pipes *p)
{
	double t0 = now();

	close_fd(&p->exit[1]);
	for (uint32_t i = 0; i < o->workers; i++) {
		int st;

		if (ph->pids[i] <= 0)
			continue;
		if (waitpid(ph->pids[i], &st, 0) != ph->pids[i])
			fail(ph, "cannot reap worker %" PRIu32 ": %s", i,
			     strerror(errno));
		else if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail(ph, "worker %" PRIu32 " ended with status 0x%x", i, st);
		ph->pids[i] = 0;
	}
	ph->t_exit = now() - t0;
}

/* Mean and maximum of @get over every worker. */
static struct figure figure(const struct phase *ph, const struct opts *o,
			    int64_t (*get)(const struct phase *, uint32_t))
{
	struct figure f = { 0 };
	double sum = 0;

	for (uint32_t i = 0; i < o->workers; i++) {
		int64_t v = get(ph, i);

		sum += v;
		if (!i || v > f.max)
			f.max = v;
	}
	f.mean = sum / o->workers;
	return f;
}

static int64_t get_flt(const struct phase *ph, uint32_t i)
{
	return ph->rd[i].flt + ph->wr[i].flt;
}

static int64_t get_attach_flt(const struct phase *ph, uint32_t i)
{
	return ph->rd[i].attach_flt;
}

static int64_t get_cpu(const struct phase *ph, uint32_t i)
{
	return ph->rd[i].cpu_ns + ph->wr[i].cpu_ns;
}

static int64_t get_wall(const struct phase *ph, uint32_t i)
{
	return ph->rd[i].wall_ns + ph->wr[i].wall_ns;
}

/* What every worker must have read: the fill pattern at each stride. */
static uint64_t expected_read(const struct opts *o)
{
	uint64_t h = SGA_FNV_BASIS;

	for (uint64_t off = 0; off + 8 <= o->size; off += o->stride)
		h = sga_csum(h, sga_pattern(off / 8));
	return h;
}

/*
 * Check every report's checksum, and every word of the SGA as this
 * process sees it: each worker's slice holds what that worker wrote (its
 * reported checksum included), the rest the fill pattern.
 */
static void verify(struct phase *ph, const struct opts *o)
{
	const volatile uint64_t *p = (const volatile uint64_t *)ph->base;
	uint64_t slice_words = sga_slice(o->size, o->workers) / 8;
	uint64_t want_read = expected_read(o), i = 0;
	uint64_t bad_words = 0;

	for (uint32_t w = 0; w < o->workers; w++) {
		const struct sga_report *r = &ph->rd[w];

		if (r->status)
			fail(ph, "worker %" PRIu32 " could not attach: %s", w,
			     strerror(r->err));
		else if (r->csum != want_read)
			fail(ph, "worker %" PRIu32 " read checksum %016" PRIx64 ", expected %016" PRIx64,
			     w, r->csum, want_read);
	}
	for (uint32_t w = 0; w < o->workers; w++) {
		uint64_t h = SGA_FNV_BASIS;

		for (uint64_t end = i + slice_words; i < end; i++) {
			uint64_t v = p[i];

			if (v != sga_wpattern(w, i) && !bad_words++)
				fail(ph, "word %" PRIu64 " (worker %" PRIu32 "'s slice) holds %016" PRIx64 ", expected %016" PRIx64,
				     i, w, v, sga_wpattern(w, i));
			h = sga_csum(h, sga_wpattern(w, i));
		}
		if (ph->wr[w].status == SGA_OK && ph->wr[w].csum != h)
			fail(ph, "worker %" PRIu32 " wrote checksum %016" PRIx64 ", expected %016" PRIx64,
			     w, ph->wr[w].csum, h);
	}
	for (; i < o->size / 8; i++)
		if (p[i] != sga_pattern(i) && !bad_words++)
			fail(ph, "word %" PRIu64 " (no worker's) holds %016" PRIx64 ", expected %016" PRIx64,
			     i, p[i], sga_pattern(i));
	if (bad_words)
		fail(ph, "%" PRIu64 " words of the SGA are wrong", bad_words);
}

static void close_pipes(struct pipes *p)
{
	int *fds[] = { &p->report[0], &p->report[1], &p->attach[0],
		       &p->attach[1], &p->go[0], &p->go[1], &p->exit[0],
		       &p->exit[1] };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close_fd(fds[i]);
}

int phase_run(struct phase *ph, const struct opts *o)
{
	struct pipes p = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 } };
	char a_index[16], a_workers[16], a_size[32], a_stride[32];
	char a_report[16], a_attach[16], a_go[16], a_exit[16], a_target[32];
	char *argv[] = { (char *)o->exec, (char *)ph->name, a_target,
			 a_index, a_workers, a_size, a_stride, a_report,
			 a_attach, a_go, a_exit, NULL };
	uint32_t started;
	double t0, t1;
	int ret = -1;

	if (make_pipes(&p, o->workers)) {
		fail(ph, "cannot make pipes: %s", strerror(errno));
		close_pipes(&p);
		return -1;
	}
	snprintf(a_workers, sizeof(a_workers), "%" PRIu32, o->workers);
	snprintf(a_size, sizeof(a_size), "%" PRIu64, o->size);
	snprintf(a_stride, sizeof(a_stride), "%" PRIu64, o->stride);
	snprintf(a_report, sizeof(a_report), "%d", p.report[1]);
	snprintf(a_attach, sizeof(a_attach), "%d", p.attach[0]);
	snprintf(a_go, sizeof(a_go), "%d", p.go[0]);
	snprintf(a_exit, sizeof(a_exit), "%d", p.exit[0]);
	if (ph->mode == SGA_MSHARE)
		argv[2] = (char *)o->region;
	else
		snprintf(a_target, sizeof(a_target), "%d", ph->memfd);

	/* The workers' ends (and the memfd) stay open across their exec */
	fcntl(p.report[1], F_SETFD, 0);
	fcntl(p.attach[0], F_SETFD, 0);
	fcntl(p.go[0], F_SETFD, 0);
	fcntl(p.exit[0], F_SETFD, 0);
	if (ph->memfd >= 0)
		fcntl(ph->memfd, F_SETFD, 0);
	fflush(NULL);

	ph->pt_before_kb = pagetables_kb();
	t0 = now();
	for (started = 0; started < o->workers; started++) {
		ph->pids[started] = start_worker(ph, o, &p, started, argv);
		if (ph->pids[started] < 0) {
			ph->pids[started] = 0;
			fail(ph, "cannot start worker %" PRIu32 ": %s", started,
			     strerror(errno));
			break;
		}
	}
	close_fd(&p.report[1]);
	close_fd(&p.attach[0]);
	close_fd(&p.go[0]);
	close_fd(&p.exit[0]);
	if (ph->memfd >= 0)
		fcntl(ph->memfd, F_SETFD, FD_CLOEXEC);
	if (started < o->workers)
		goto out;
	if (collect(ph, o, p.report[0], SGA_UP, ph->wr))
		goto out;
	ph->t_up = now() - t0;
	ph->pt_up_kb = pagetables_kb();
	fprintf(stderr, "sga: %s: %" PRIu32 " workers %s and up in %.1f s; PageTables %+ld kB\n",
		ph->name, o->workers, o->fork ? "forked" : "exec'd", ph->t_up,
		ph->pt_up_kb - ph->pt_before_kb);

	t1 = now();
	close_fd(&p.attach[1]);		/* attach, and read it all */
	if (collect(ph, o, p.report[0], SGA_READ, ph->rd))
		goto out;
	fprintf(stderr, "sga: %s: all attached and read the SGA in %.1f s\n",
		ph->name, now() - t1);
	close_fd(&p.go[1]);		/* write your slices */
	if (collect(ph, o, p.report[0], SGA_WRITE, ph->wr))
		goto out;
	ph->t_touch = now() - t1;
	ph->pt_after_kb = pagetables_kb();
	fprintf(stderr, "sga: %s: all wrote their slices; attach and touch took %.1f s; PageTables %+ld kB\n",
		ph->name, ph->t_touch, ph->pt_after_kb - ph->pt_up_kb);

	if (ph->region) {
		int err = mshare_stats(ph->region, &ph->stats);

		ph->have_stats = !err;
		if (err)
			fail(ph, "MSHAREFS_GET_STATS: %s", strerror(-err));
		else if (ph->stats.nr_attached != (uint64_t)o->workers + 1)
			fail(ph, "the region has %" PRIu64 " attaches, expected %" PRIu32,
			     (uint64_t)ph->stats.nr_attached, o->workers + 1);
	}
	verify(ph, o);
	ph->flt = figure(ph, o, get_flt);
	ph->attach_flt = figure(ph, o, get_attach_flt);
	ph->cpu_ns = figure(ph, o, get_cpu);
	ph->wall_ns = figure(ph, o, get_wall);

	exit_all(ph, o, &p);
	fprintf(stderr, "sga: %s: all exited and reaped in %.1f s\n", ph->name,
		ph->t_exit);
	ret = ph->errors ? -1 : 0;
out:
	kill_all(ph, o);
	close_pipes(&p);
	return ret;
}
