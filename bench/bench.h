/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mshare-bench: the configurations it compares (backends), the processes
 * that attach them, and what one measurement yields.
 *
 * One measurement is one configuration at N processes and S bytes:
 * populate S bytes (timed), fork N processes that have nothing mapped,
 * read PageTables, let each attach and read every page in turn (timed,
 * faults counted), read PageTables again, let the first few detach,
 * attach and write every page (timed, faults counted), PROTECT the whole
 * region (msharefs), then tell all to exit and time the reaping. For
 * msharefs the region's statistics also give the folded contiguous-PTE
 * blocks once populated (arm64) and the all-CPU TLB flushes that
 * populating and the PROTECT took.
 */
#ifndef MSHARE_BENCH_H
#define MSHARE_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libmshare.h>

#define BENCH_PAGE	4096UL		/* the touch loops' stride */
#define BENCH_GIB	(1UL << 30)

/* One configuration's state, shared by the coordinator and its children. */
struct backend_ctx {
	uint64_t size;			/* S: bytes populated and touched */
	uint64_t map_len;		/* bytes a process maps (>= size) */
	int fd;				/* memfd, hugetlbfs or tmpfs file */
	char path[4096];		/* that file, or the region */
	struct mshare_region *region;	/* msharefs: this process's handle */
	const char *tmpfs_dir;		/* where mshare-tmpfs makes its file */
	const char *hugetlbfs_dir;	/* where hugetlbfs makes its file */
	const char *mshare_dir;		/* the msharefs mount */
	double populated;		/* now_s() when setup's last write was done */
};

struct backend {
	const char *name;
	bool is_mshare;
	/*
	 * Create the memory and write every page: 0 or -errno. Sets
	 * populated once written, before the populating mapping goes.
	 */
	int (*setup)(struct backend_ctx *b);
	/* In a child before it is measured: open what attach needs */
	int (*prepare)(struct backend_ctx *b);
	/* Map it read-write into this process: its address, or NULL + errno */
	void *(*attach)(struct backend_ctx *b);
	int (*detach)(struct backend_ctx *b, void *addr);
	void (*teardown)(struct backend_ctx *b);
};

extern const struct backend backend_memfd, backend_hugetlbfs,
	backend_mshare_anon, backend_mshare_tmpfs;

/* Map @len bytes of @fd at a 1 GiB-aligned address (PMD sharing needs it). */
void *map_gib_aligned(int fd, uint64_t len);

/* What one measurement yields; per process figures are over its processes. */
struct result {
	double populate_s;
	double pt_region_kib;		/* kept once populated, none attached */
	double pt_total_kib;
	double read_faults;		/* mean over the N readers */
	double write_faults;		/* mean over the writers */
	double attach_read_ms;		/* median over the N readers */
	double attach_write_ms;		/* median over the writers */
	double exit_s;
	double protect_ms;		/* msharefs only, else < 0 */
	/* msharefs only, else < 0: from MSHAREFS_GET_STATS */
	double folded_pct;		/* S in folded 64 KiB blocks, populated */
	double populate_flushes;	/* all-CPU flushes to populate */
	double protect_flushes;		/* ... in the timed PROTECT */
};

/* Run one measurement of @be at @n processes, @writers of which write. */
int measure(const struct backend *be, struct backend_ctx *b, unsigned int n,
	    unsigned int writers, struct result *r);

double now_s(void);

#endif
