// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One SGA worker, as a database server process would use the SGA. It
 * reports that it is up, and waits; once told (every worker is up, and
 * the coordinator has read PageTables) it attaches the SGA (by name for
 * the region, by an inherited fd for the memfd, or not at all when forked
 * with the mapping), reads all of it and reports; once told (every worker
 * has read) it writes its own slice and reports again; then it waits
 * until told to exit. Shared by sga-worker (exec'd) and sga --fork.
 *
 * Faults are getrusage() deltas around the attach and around each touch
 * loop separately, so that only the SGA's own faults are in the touch
 * figure. Before anything is measured the worker maps in the code it will
 * run (MADV_POPULATE_READ of the executable segments of the program and
 * libc) and touches its heap and stack, so that the attach does not fault
 * on code the process has not run yet. That is cheaper than mlockall(),
 * which also populates and copies every library's data: the start of 1500
 * processes is what the demo spends most of its time on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libmshare.h>

#include "sga.h"

struct mark {
	struct rusage ru;
	struct timespec wall, cpu;
};

static void mark(struct mark *m)
{
	getrusage(RUSAGE_SELF, &m->ru);
	clock_gettime(CLOCK_MONOTONIC, &m->wall);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &m->cpu);
}

static int64_t faults(const struct mark *a, const struct mark *b)
{
	return (b->ru.ru_minflt - a->ru.ru_minflt) +
	       (b->ru.ru_majflt - a->ru.ru_majflt);
}

static int64_t ns(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000LL +
	       (b->tv_nsec - a->tv_nsec);
}

/* One 8-byte load every @stride bytes of [@base, +@size). */
static uint64_t read_all(const char *base, uint64_t size, uint64_t stride)
{
	uint64_t h = SGA_FNV_BASIS;

	for (uint64_t off = 0; off + 8 <= size; off += stride)
		h = sga_csum(h, *(const volatile uint64_t *)(base + off));
	return h;
}

/* Write worker @w's pattern into every word of its slice, then read it back. */
static uint64_t write_slice(char *base, uint64_t size, uint32_t w,
			    uint32_t workers)
{
	uint64_t slice = sga_slice(size, workers);
	uint64_t first = (uint64_t)w * slice / 8, n = slice / 8;
	volatile uint64_t *p = (volatile uint64_t *)base + first;
	uint64_t h = SGA_FNV_BASIS;

	for (uint64_t i = 0; i < n; i++)
		p[i] = sga_wpattern(w, first + i);
	for (uint64_t i = 0; i < n; i++)
		h = sga_csum(h, p[i]);
	return h;
}

/*
 * dl_iterate_phdr() callback: map in the code of the program and of libc,
 * all that the attach and the loops run (sga-worker is linked -z now, so
 * no symbol is looked up on the way). libmount and what it brings are
 * left alone: populating them too would cost every start 1 MiB more.
 */
static int populate_code(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	(void)size;
	(void)data;
	if (info->dlpi_name[0] && !strstr(info->dlpi_name, "/libc.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;
		uintptr_t end = start + ph->p_memsz;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		start &= ~(page - 1);
		/* An error (the vDSO) only leaves faults for later */
		madvise((void *)start, end - start, MADV_POPULATE_READ);
	}
	return 0;
}

/*
 * Touch the stack well below where main() runs: the library's calls keep
 * PATH_MAX buffers there, and a new stack page would be an attach fault.
 */
static void __attribute__((noinline)) warm_stack(void)
{
	volatile char buf[64 * 1024];

	for (size_t i = 0; i < sizeof(buf); i += 1024)
		buf[i] = 0;
}

static void send(const struct sga_job *job, struct sga_report *r)
{
	ssize_t n = write(job->report_fd, r, sizeof(*r));

	/* A coordinator that stopped listening is killing us anyway. */
	if (n != sizeof(*r))
		_exit(1);
}

/* Block until the coordinator closes @fd's other end. */
static void wait_eof(int fd)
{
	ssize_t n;
	char c;

	do
		n = read(fd, &c, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
}

/* Attach or map the SGA; NULL and @r->status, @r->err on failure. */
static char *attach(const struct sga_job *job, struct sga_report *r)
{
	struct mshare_region *region;
	void *p;
	int fd;

	if (job->base)
		return job->base;
	if (job->mode == SGA_MSHARE) {
		region = mshare_attach_name(job->target, 0);
		if (region)
			return mshare_addr(region);	/* kept until exit */
	} else {
		fd = atoi(job->target);
		p = mmap(NULL, job->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		close(fd);
		if (p != MAP_FAILED)
			return p;
	}
	r->status = SGA_EATTACH;
	r->err = errno;
	return NULL;
}

int sga_worker(const struct sga_job *job)
{
	struct sga_report r = { .index = job->index };
	struct mark m0, m1, m2;
	char *base;

	/*
	 * Warm up what the measured stretch uses: all code, the stack, the
	 * heap the library allocates its handle from, the clocks' vDSO
	 * pages.
	 */
	dl_iterate_phdr(populate_code, NULL);
	warm_stack();
	free(malloc(256));
	read_all((const char *)&r, sizeof(r), 8);
	mark(&m0);
	mark(&m1);

	r.phase = SGA_UP;
	send(job, &r);
	wait_eof(job->attach_fd);

	r.phase = SGA_READ;
	mark(&m0);
	base = attach(job, &r);
	mark(&m1);
	if (base)
		r.csum = read_all(base, job->size, job->stride);
	mark(&m2);
	r.attach_flt = faults(&m0, &m1);
	r.flt = faults(&m1, &m2);
	r.wall_ns = ns(&m0.wall, &m2.wall);
	r.cpu_ns = ns(&m0.cpu, &m2.cpu);
	send(job, &r);

	wait_eof(job->go_fd);
	r = (struct sga_report){ .index = job->index, .phase = SGA_WRITE };
	mark(&m1);
	if (base)
		r.csum = write_slice(base, job->size, job->index, job->workers);
	else
		r.status = SGA_ESKIPPED;
	mark(&m2);
	r.flt = faults(&m1, &m2);
	r.wall_ns = ns(&m1.wall, &m2.wall);
	r.cpu_ns = ns(&m1.cpu, &m2.cpu);
	send(job, &r);

	wait_eof(job->exit_fd);
	return 0;
}
