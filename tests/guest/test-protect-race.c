// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSHAREFS_PROTECT racing with sharers that store on other CPUs at the
 * same time (DESIGN §4.3: every change to the shared tables must reach
 * every CPU; QEMU's TLB hides a missing flush unless sharers really run
 * side by side, with the translation hot).
 *
 * Two writers attach one region: one forked and re-attached at another
 * address, pinned to CPU 1; one forked with the controller's attach,
 * pinned to CPU 0 at nice 19, so that it runs in the controller's pauses.
 * Each stores an increasing sequence into the first word of every page
 * of its own 64 KiB slice, round and round, catching SIGSEGV.
 *
 * The controller (CPU 0) makes the range read-only and back ITER times.
 * After a read-only PROTECT returns it takes a snapshot of every slice,
 * waits until each writer has faulted (or HOLD_NS), and checks that not
 * one word changed: a store that succeeded after PROTECT returned came
 * through a stale writable TLB entry. Then it restores read-write.
 * The writers check that every fault is SEGV_ACCERR at their own address
 * and never happens while the range was read-write for the whole store.
 * The run must have exercised the race: every writer faulted and stored.
 *
 * argv[1]: iterations (default 200).
 */
#define _GNU_SOURCE
#include <stdatomic.h>

#include "guest.h"
#include "probe.h"

#define RANGE		(2UL << 20)
#define SLICE		(64UL << 10)
#define PAGE		4096UL
#define NWRITERS	2
#define HOLD_NS		20000000L

/* Shared with the writers: a MAP_SHARED page outside the region. */
struct ctl {
	_Atomic uint64_t epoch;		/* even: read-write throughout */
	_Atomic int stop;
	struct {
		_Atomic uint64_t faults, stores, bad_code, bad_addr, rw_faults;
	} w[NWRITERS];
};

static void writer(struct ctl *c, unsigned int id, volatile uint64_t *slice)
{
	uint64_t seq = 0;

	probe_catch();
	while (!atomic_load(&c->stop)) {
		for (unsigned long p = 0; p < SLICE / PAGE; p++) {
			volatile uint64_t *w = slice + p * (PAGE / 8);
			uint64_t e0 = atomic_load(&c->epoch), e1;

			if (!probe_store(w, ++seq)) {
				atomic_fetch_add(&c->w[id].stores, 1);
				continue;
			}
			e1 = atomic_load(&c->epoch);
			atomic_fetch_add(&c->w[id].faults, 1);
			if (fault_code != SEGV_ACCERR)
				atomic_fetch_add(&c->w[id].bad_code, 1);
			if (fault_addr != (void *)w)
				atomic_fetch_add(&c->w[id].bad_addr, 1);
			/* Read-write before and after, and no PROTECT between */
			if (!(e0 & 1) && e0 == e1)
				atomic_fetch_add(&c->w[id].rw_faults, 1);
			/* Wait for read-write, then go on */
			while (atomic_load(&c->epoch) == e1 && !atomic_load(&c->stop))
				;
		}
	}
}

int main(int argc, char **argv)
{
	static uint64_t snap[NWRITERS][SLICE / PAGE];
	unsigned int iter = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	uint64_t fault_seen[NWRITERS] = { 0 };
	unsigned long changed = 0, timeouts = 0, failed = 0;
	uint8_t *slices[NWRITERS];
	pid_t pids[NWRITERS];
	uint64_t align;
	char path[512];
	uint8_t *base;
	struct ctl *c;
	int fd;

	require_msharefs();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		tap_bail("needs 2 CPUs");
	align = mshare_align_raw();
	fd = region_new("protect-race", path, sizeof(path), align);
	TAP_SUCCESS(region_map_anon(fd, 0, RANGE), "map 2 MiB into a region");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || c == MAP_FAILED)
		tap_bail("cannot attach or map the control page");
	memset(base, 0, RANGE);

	pin(0, 0);
	for (unsigned int i = 0; i < NWRITERS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			tap_bail("fork failed");
		if (!pids[i]) {
			uint8_t *mine = base;

			if (i == 0) {
				/* Another address: attach again, drop the inherited one */
				mine = region_attach_avoid(fd, align, PROT_READ | PROT_WRITE,
							   NULL, (void *const *)&base, 1);
				if (mine == MAP_FAILED)
					_exit(2);
				munmap(base, align);
				pin(1, 0);
			} else {
				pin(0, 19);
			}
			writer(c, i, (volatile uint64_t *)(mine + i * SLICE));
			_exit(0);
		}
		slices[i] = base + i * SLICE;
	}

	for (unsigned int it = 0; it < iter; it++) {
		struct timespec t0;

		/* Odd from before the read-only PROTECT to after the read-write one */
		atomic_fetch_add(&c->epoch, 1);
		if (region_protect(fd, 0, RANGE, PROT_READ))
			failed++;
		for (unsigned int i = 0; i < NWRITERS; i++)
			for (unsigned long p = 0; p < SLICE / PAGE; p++)
				snap[i][p] = *(volatile uint64_t *)(slices[i] + p * PAGE);
		/* Until both writers have hit the read-only range, or HOLD_NS */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			bool all = true;

			for (unsigned int i = 0; i < NWRITERS; i++)
				all &= atomic_load(&c->w[i].faults) > fault_seen[i];
			if (all)
				break;
			if (ns_since(&t0) > HOLD_NS) {
				timeouts++;
				break;
			}
			sched_yield();
		}
		for (unsigned int i = 0; i < NWRITERS; i++) {
			fault_seen[i] = atomic_load(&c->w[i].faults);
			for (unsigned long p = 0; p < SLICE / PAGE; p++)
				changed += snap[i][p] !=
					   *(volatile uint64_t *)(slices[i] + p * PAGE);
		}
		if (region_protect(fd, 0, RANGE, PROT_READ | PROT_WRITE))
			failed++;
		atomic_fetch_add(&c->epoch, 1);		/* even: read-write */
		/* Let the writers store for a while */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (ns_since(&t0) < 1000000L)
			sched_yield();
	}
	atomic_store(&c->stop, 1);
	for (unsigned int i = 0; i < NWRITERS; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		tap_ok(WIFEXITED(status) && !WEXITSTATUS(status),
		       "writer %u ran to the end", i);
	}

	tap_ok(!failed, "%u PROTECTs read-only and back (%lu failed)", 2 * iter,
	       failed);
	tap_ok(!changed,
	       "no store goes through once a read-only PROTECT has returned (%lu words changed)",
	       changed);
	for (unsigned int i = 0; i < NWRITERS; i++) {
		tap_diag("writer %u: %llu stores, %llu faults", i,
			 (unsigned long long)c->w[i].stores,
			 (unsigned long long)c->w[i].faults);
		tap_ok(c->w[i].faults && c->w[i].stores,
		       "writer %u (%s) both stored and faulted", i,
		       i ? "same CPU, same address" : "other CPU, other address");
		tap_ok(!c->w[i].bad_code && !c->w[i].bad_addr,
		       "writer %u: every fault is SEGV_ACCERR at its own address", i);
		tap_ok(!c->w[i].rw_faults,
		       "writer %u: no fault while the range was read-write", i);
	}
	tap_diag("%lu of %u read-only phases ended before both writers faulted",
		 timeouts, iter);

	munmap(base, align);
	close(fd);
	unlink(path);
	return tap_done();
}
