/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SGA demo's shared definitions: what a worker is asked to do, what
 * it reports to the coordinator, the data the SGA holds, and the checksum
 * both sides compute.
 *
 * The SGA holds, in 8-byte word i, sga_pattern(i) once the coordinator has
 * filled it. Worker w owns the slice [w * slice, (w + 1) * slice), slice
 * being sga_slice(size, workers), and writes sga_wpattern(w, i) into every
 * word of it, after every worker has read the whole SGA: the reads are
 * then of known data, and the coordinator can check each of them.
 */
#ifndef SGA_H
#define SGA_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What a worker maps. */
enum sga_mode {
	SGA_MSHARE,		/* the msharefs region, attached by name */
	SGA_MEMFD,		/* the memfd, MAP_SHARED */
};

/* One worker's orders. */
struct sga_job {
	enum sga_mode mode;
	const char *target;	/* exec'd: region path, or memfd number */
	char *base;		/* forked: the inherited mapping */
	uint64_t size;		/* bytes of SGA to read */
	uint64_t stride;	/* one 8-byte load every stride bytes */
	uint32_t index, workers;
	int report_fd;		/* where the reports go */
	int attach_fd;		/* EOF: every worker is up, attach and read */
	int go_fd;		/* EOF: every worker has read, write now */
	int exit_fd;		/* EOF: exit */
};

/* Report phases, in their order */
enum {
	SGA_UP = 1,		/* started, not attached: the process's own cost */
	SGA_READ,		/* attached and read the whole SGA */
	SGA_WRITE,		/* wrote its slice and read it back */
};

/* Report statuses */
enum {
	SGA_OK,
	SGA_EATTACH,		/* attach (or mmap) failed: err says why */
	SGA_ESKIPPED,		/* no write: the attach had failed */
};

/* One report, written with one write(2): under PIPE_BUF, so atomic. */
struct sga_report {
	uint32_t index;
	uint32_t phase;
	int32_t status;
	int32_t err;		/* errno of a failure */
	uint64_t csum;		/* of what was read, or written and read back */
	int64_t attach_flt;	/* minor + major faults of the attach alone */
	int64_t flt;		/* minor + major faults of the touch loop */
	int64_t wall_ns;	/* attach (if any) and touch loop, wall clock */
	int64_t cpu_ns;		/* the same in CPU time of the worker */
};

#define SGA_FNV_BASIS	0xcbf29ce484222325ULL
#define SGA_FNV_PRIME	0x100000001b3ULL

/* The checksum: FNV-1a over 64-bit words, so order and position count. */
static inline uint64_t sga_csum(uint64_t h, uint64_t word)
{
	return (h ^ word) * SGA_FNV_PRIME;
}

/* Word @i of the SGA as the coordinator fills it. */
static inline uint64_t sga_pattern(uint64_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL;
}

/* Word @i of worker @w's slice once the worker has written it. */
static inline uint64_t sga_wpattern(uint32_t w, uint64_t i)
{
	return sga_pattern(i) ^ (((uint64_t)w + 1) * 0xd6e8feb86659fd93ULL);
}

/* Bytes each worker writes: an equal share, rounded down to 64 bytes. */
static inline uint64_t sga_slice(uint64_t size, uint32_t workers)
{
	return size / workers & ~63ULL;
}

/* Run worker @job to its end; the exit status for the process. */
int sga_worker(const struct sga_job *job);

#endif
