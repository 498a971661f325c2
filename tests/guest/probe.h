/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the tests that race stores against changes to a region on other
 * CPUs share: a store (or load) that reports whether it faulted (and
 * how, and where), pinning to a CPU, and elapsed time. The SIGSEGV
 * handler set by probe_catch() jumps back into probe_store() or
 * probe_load(): one probe at a time per process.
 */
#ifndef MSHARE_PROBE_H
#define MSHARE_PROBE_H

#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "guest.h"

static sigjmp_buf probe_env;
static volatile int fault_code;		/* si_code of the last fault */
static void *volatile fault_addr;	/* si_addr of the last fault */

static void probe_on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(probe_env, 1);
}

/* Catch SIGSEGV for probe_store() in this process. */
static inline void probe_catch(void)
{
	struct sigaction sa = { .sa_sigaction = probe_on_segv, .sa_flags = SA_SIGINFO };

	sigaction(SIGSEGV, &sa, NULL);
}

/* Store @v at @p; 0 if it went through, 1 if it faulted. */
static int __attribute__((noinline)) probe_store(volatile uint64_t *p, uint64_t v)
{
	if (sigsetjmp(probe_env, 1))
		return 1;
	*p = v;
	return 0;
}

/* Load from @p; 0 if it went through, 1 if it faulted. */
static int __attribute__((noinline, unused)) probe_load(volatile uint64_t *p)
{
	if (sigsetjmp(probe_env, 1))
		return 1;
	(void)*p;
	return 0;
}

/* Run on @cpu only, at @nice (0: unchanged); bails out if it cannot. */
static inline void pin(int cpu, int nice)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		tap_bail("cannot pin to a CPU");
	if (nice)
		setpriority(PRIO_PROCESS, 0, nice);
}

static inline long ns_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

#endif
