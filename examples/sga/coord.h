/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sga coordinator's own definitions: its options, and one phase of a
 * run (W workers in one mode, from start to reaped) with what it measured.
 */
#ifndef SGA_COORD_H
#define SGA_COORD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <libmshare.h>

#include "sga.h"

struct opts {
	uint64_t size;		/* SGA bytes */
	uint64_t stride;	/* bytes between a worker's loads */
	uint32_t workers;
	bool fork;		/* fork workers instead of exec'ing them */
	bool json;
	bool mshare, memfd;	/* the modes to run */
	char region[PATH_MAX];	/* the region's absolute path */
	char worker[PATH_MAX];	/* the sga-worker binary */
	char exec[PATH_MAX];	/* what is exec'd: a memfd copy of it, or it */
};

/* Mean and maximum of one per-worker figure. */
struct figure {
	double mean;
	int64_t max;
};

struct phase {
	enum sga_mode mode;
	const char *name;		/* "mshare", "memfd" */

	/* The SGA of this phase, made by phase_setup() */
	char *base;
	struct mshare_region *region;
	int memfd;
	double t_setup;			/* create, populate, fill */

	/* Per worker, by index */
	struct sga_report *rd, *wr;
	pid_t *pids;

	/* What was measured */
	long pt_setup_kb;		/* PageTables: growth by the set-up */
	long pt_before_kb;		/* PageTables: before any worker */
	long pt_up_kb;			/* all up, none attached */
	long pt_after_kb;		/* all attached and touched */
	double t_up;			/* first start to all up */
	double t_touch;			/* told to attach to all touched */
	double t_exit;			/* told to exit to all reaped */
	struct figure flt;		/* read + write loops */
	struct figure attach_flt;
	struct figure cpu_ns;		/* attach + read + write */
	struct figure wall_ns;
	struct mshare_stats stats;	/* mshare: the region, all attached */
	bool have_stats;

	unsigned int errors;		/* anything that went wrong */
};

/* Make the SGA for @ph and fill it; 0 or -1 (printed). */
int phase_setup(struct phase *ph, const struct opts *o);

/* Run W workers in @ph's mode and measure; 0, or -1 with ph->errors set. */
int phase_run(struct phase *ph, const struct opts *o);

/* Remove the SGA of @ph. */
void phase_teardown(struct phase *ph, const struct opts *o);

/* Remove the region if it is still there (signal handler safe). */
void phase_emergency_unlink(void);

#endif
