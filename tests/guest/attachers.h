/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Starting mshare-attacher helpers by the thousand, for the tests that
 * measure what many attached processes cost (test-1500, test-protect-1500):
 *
 *	struct attachers a = { .mode = "mshare" };
 *	attachers_start(&a, 1500, path, size);	all started and reported
 *	... measure while they wait ...
 *	attachers_stop(&a);			killed and reaped
 *
 * Each helper (mshare-attacher, found next to the test program) maps its
 * target, reads the first word of every page of the first size bytes,
 * reports once through a pipe shared by all of them, and then waits.
 */
#ifndef MSHARE_ATTACHERS_H
#define MSHARE_ATTACHERS_H

#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <time.h>

#include "guest.h"
#include "mshare-attacher.h"

#define ATTACHERS_WAIT_MS	120000	/* give up after this without a report */

struct attachers {
	const char *mode;		/* set by the caller: see mshare-attacher.c */
	unsigned int spawned, reported, ok;
	int64_t max_flt;		/* minor + major faults of one touch loop */
	int64_t total_flt, total_majflt, total_ns;
	double t_spawn, t_report, t_reap;
	pid_t *pids;
	int hold;			/* the helpers wait until it is closed */
};

static inline double attachers_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* mshare-attacher, next to the running program; bails out if absent. */
static inline const char *attachers_helper(void)
{
	static char helper[PATH_MAX];
	char self[PATH_MAX];
	ssize_t len;

	if (helper[0])
		return helper;
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		tap_bail("cannot read /proc/self/exe");
	self[len] = '\0';
	snprintf(helper, sizeof(helper), "%s/mshare-attacher", dirname(self));
	if (access(helper, X_OK))
		tap_bail("mshare-attacher is not next to the test program");
	return helper;
}

static inline void attachers_count(struct attachers *a,
				   const struct attacher_report *r)
{
	a->reported++;
	if (r->status == ATTACHER_OK)
		a->ok++;
	else if (a->reported - a->ok <= 10)
		tap_diag("%s helper %d: status %d", a->mode, (int)r->pid,
			 (int)r->status);
	if (r->minflt + r->majflt > a->max_flt)
		a->max_flt = r->minflt + r->majflt;
	a->total_flt += r->minflt;
	a->total_majflt += r->majflt;
	a->total_ns += r->touch_ns;
}

/*
 * Start @n helpers in @a->mode on @target, each reading @size bytes, and
 * wait until all have reported (or ATTACHERS_WAIT_MS passed without a
 * report). The counts in @a say how many started, reported and were ok.
 */
static inline void attachers_start(struct attachers *a, unsigned int n,
				   const char *target, uint64_t size)
{
	char a_report[16], a_wait[16], a_size[32];
	char *argv[] = { (char *)attachers_helper(), (char *)a->mode,
			 (char *)target, a_report, a_wait, a_size, NULL };
	struct attacher_report r[128];
	int report[2], hold[2];
	double t0;

	signal(SIGPIPE, SIG_IGN);
	a->pids = calloc(n, sizeof(*a->pids));
	if (!a->pids || pipe2(report, O_CLOEXEC) || pipe2(hold, O_CLOEXEC))
		tap_bail("out of memory or fds");
	/* The helpers' ends stay open across their exec */
	fcntl(report[1], F_SETFD, 0);
	fcntl(hold[0], F_SETFD, 0);
	snprintf(a_report, sizeof(a_report), "%d", report[1]);
	snprintf(a_wait, sizeof(a_wait), "%d", hold[0]);
	snprintf(a_size, sizeof(a_size), "%llu", (unsigned long long)size);

	t0 = attachers_now();
	for (a->spawned = 0; a->spawned < n; a->spawned++) {
		int err = posix_spawn(&a->pids[a->spawned], argv[0], NULL, NULL,
				      argv, environ);

		if (err) {
			tap_diag("%s: cannot start helper %u: %s", a->mode,
				 a->spawned, strerror(err));
			break;
		}
	}
	close(hold[0]);
	close(report[1]);
	a->hold = hold[1];
	a->t_spawn = attachers_now() - t0;

	while (a->reported < a->spawned) {
		struct pollfd pfd = { .fd = report[0], .events = POLLIN };
		ssize_t got;

		if (poll(&pfd, 1, ATTACHERS_WAIT_MS) <= 0) {
			tap_diag("%s: only %u of %u helpers reported", a->mode,
				 a->reported, a->spawned);
			break;
		}
		got = read(report[0], r, sizeof(r));
		if (!got) {
			tap_diag("%s: %u helpers exited without a report",
				 a->mode, a->spawned - a->reported);
			break;
		}
		if (got < 0 || got % sizeof(r[0]))
			tap_bail("bad read from the report pipe");
		for (size_t i = 0; i < got / sizeof(r[0]); i++)
			attachers_count(a, &r[i]);
	}
	close(report[0]);
	a->t_report = attachers_now() - t0;
}

/* Kill and reap every helper @a started. */
static inline void attachers_stop(struct attachers *a)
{
	double t0 = attachers_now();

	for (unsigned int i = 0; i < a->spawned; i++)
		kill(a->pids[i], SIGKILL);
	for (unsigned int i = 0; i < a->spawned; i++)
		waitpid(a->pids[i], NULL, 0);
	a->t_reap = attachers_now() - t0;
	close(a->hold);
	free(a->pids);
	a->pids = NULL;
}

#endif
