/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-report's reading and writing, apart from its main() so that
 * tests/unit/test-bench-report.c can compile it in: mshare-bench's CSV
 * of raw samples in, medians per cell, and out the markdown summary, the
 * gnuplot data and the variables bench/plot.gp reads.
 *
 * The CSV: "# key: value" metadata lines, then the header line
 * REPORT_CSV_HEADER, then one row per sample. Blank lines and other
 * '#' lines are allowed anywhere.
 */
#ifndef MSHARE_BENCH_REPORT_H
#define MSHARE_BENCH_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define REPORT_CSV_HEADER	"config,n,size_mib,rep,metric,value"

/* The metadata keys the summary's header shows, in its order. */
#define REPORT_META_KEYS	8
extern const char *const report_meta_keys[REPORT_META_KEYS];

/* The metrics bench/plot.gp draws: one OUTDIR/<metric>.dat each. */
#define REPORT_DAT_METRICS	5
extern const char *const report_dat_metrics[REPORT_DAT_METRICS];

struct report_names {
	char **v;
	size_t n, cap;
};

struct report_sample {
	unsigned int cfg, metric;	/* indexes into the name lists */
	long size, n, rep;
	double value;
	unsigned long line;
};

/* One config's samples of one metric at one S and N. */
struct report_cell {
	long size, n;
	unsigned int cfg, metric;
	size_t count;
	double median, min, max;
};

struct report {
	char *meta[REPORT_META_KEYS];	/* NULL: not given */
	struct report_names configs;	/* order of appearance: the columns */
	struct report_names metrics;	/* the known ones first, then others */

	struct report_sample *samples;
	size_t nr_samples, samples_cap;

	/* Filled in once everything is read; cells sorted by S, N, cfg, metric. */
	struct report_cell *cells;
	size_t nr_cells;
	long *sizes, *ns;		/* every S and N, ascending */
	size_t nr_sizes, nr_ns;
};

void report_init(struct report *r);
void report_free(struct report *r);

/*
 * Read the CSV from @f (@name for messages) and compute the medians.
 * 0, or -1 with "NAME:LINE: what" (or "NAME: what") in @err: a
 * malformed line, a sample given twice, no header, no samples.
 */
int report_read(struct report *r, FILE *f, const char *name, char *err, size_t errlen);

/* Sort @v (@n > 0) ascending; its median (the mean of the middle two if @n is even). */
double report_median(double *v, size_t n);

/* The cell, or NULL if it was not measured. */
const struct report_cell *report_cell(const struct report *r, long size, long n,
				      unsigned int cfg, unsigned int metric);

/* Index of config or metric @name, or -1. */
int report_config(const struct report *r, const char *name);
int report_metric(const struct report *r, const char *name);

/*
 * The S and N the summary's ratios compare at: the largest N at which
 * every config has samples, and there the largest S they all have.
 * false if there is no such pair.
 */
bool report_pick(const struct report *r, long *size, long *n);

/* The files' contents. */
void report_summary(const struct report *r, FILE *f);
void report_dat(const struct report *r, unsigned int metric, FILE *f);
void report_plotvars(const struct report *r, FILE *f);

/*
 * Write OUTDIR/summary.md, OUTDIR/<metric>.dat for report_dat_metrics
 * and OUTDIR/plotvars.gp, creating OUTDIR (not its parents) if needed.
 * 0, or -1 with the failure in @err.
 */
int report_write(const struct report *r, const char *outdir, char *err, size_t errlen);

#endif
