// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-attacher: the small process test-1500 and test-protect-1500
 * start by the thousand (through attachers.h).
 *
 *	mshare-attacher MODE TARGET REPORT_FD WAIT_FD SIZE
 *
 * MODE "idle" does nothing; "mshare" opens the region TARGET by name
 * (read-only) and attaches it; "memfd" maps the inherited memfd whose
 * number is TARGET, MAP_SHARED and read-only. The last two then read the
 * first word of every page of the first SIZE bytes, check it against
 * attacher_pattern() and count the faults of that loop alone. Every mode
 * writes one struct attacher_report to REPORT_FD, then blocks reading
 * WAIT_FD until it is closed or the process is killed.
 *
 * Built static, with no stdio, so that starting it is cheap; everything
 * it maps before measuring is locked in first, so the only faults the
 * loop can take are those of the memory it reads.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mshare-attacher.h"

/* Map the target read-only; NULL (and *@status) on failure. */
static const char *map_target(const char *mode, const char *target,
			      uint64_t size, int32_t *status)
{
	struct stat st;
	uint64_t len;
	void *p;
	int fd;

	if (!strcmp(mode, "mshare")) {
		fd = open(target, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			*status = ATTACHER_EOPEN;
			return NULL;
		}
		len = st.st_size;	/* the whole region */
	} else if (!strcmp(mode, "memfd")) {
		fd = atoi(target);
		len = size;
	} else {
		*status = ATTACHER_EUSAGE;
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		*status = ATTACHER_EMMAP;
		return NULL;
	}
	return p;
}

/* Read the first word of every page; the number that are wrong. */
static uint64_t touch(const char *base, uint64_t size)
{
	uint64_t bad = 0;

	for (uint64_t p = 0; p < size / ATTACHER_PAGE; p++)
		bad += *(const volatile uint64_t *)(base + p * ATTACHER_PAGE) !=
		       attacher_pattern(p);
	return bad;
}

static int64_t ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

int main(int argc, char **argv)
{
	struct attacher_report r = { .pid = getpid() };
	struct timespec t0, t1;
	struct rusage u0, u1;
	int report_fd, wait_fd;
	const char *base;
	uint64_t size;
	char c;

	if (argc != 6)
		return 2;
	report_fd = atoi(argv[3]);
	wait_fd = atoi(argv[4]);
	size = strtoull(argv[5], NULL, 0);

	if (mlockall(MCL_CURRENT))
		r.status = ATTACHER_EMLOCK;
	/* Fault in what the measurement itself uses (vDSO data). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	getrusage(RUSAGE_SELF, &u0);

	if (!r.status && strcmp(argv[1], "idle")) {
		base = map_target(argv[1], argv[2], size, &r.status);
		if (base) {
			uint64_t bad;

			getrusage(RUSAGE_SELF, &u0);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			bad = touch(base, size);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			getrusage(RUSAGE_SELF, &u1);
			r.minflt = u1.ru_minflt - u0.ru_minflt;
			r.majflt = u1.ru_majflt - u0.ru_majflt;
			r.touch_ns = ns(&t1) - ns(&t0);
			if (bad)
				r.status = ATTACHER_EDATA;
		}
	}

	if (write(report_fd, &r, sizeof(r)) != sizeof(r))
		return 1;
	close(report_fd);
	while (read(wait_fd, &c, 1) > 0)
		;
	return 0;
}
