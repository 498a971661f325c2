// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-report SAMPLES.csv OUTDIR: turn mshare-bench's raw samples into
 * OUTDIR/summary.md (a table of medians per S and N, then the ratios of
 * mshare against memfd and hugetlbfs), the gnuplot data
 * OUTDIR/<metric>.dat and OUTDIR/plotvars.gp, which bench/plot.gp reads:
 *
 *	gnuplot -e "dir='OUTDIR'" bench/plot.gp
 *
 * Exit 1 on a malformed line (its number is given), on a CSV without
 * samples and on any I/O error; 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "benchreport.h"

int main(int argc, char **argv)
{
	struct report r;
	char err[512];
	FILE *f;
	int ret = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: bench-report SAMPLES.csv OUTDIR\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		fprintf(stderr, "bench-report: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	report_init(&r);
	if (report_read(&r, f, argv[1], err, sizeof(err)) ||
	    report_write(&r, argv[2], err, sizeof(err))) {
		fprintf(stderr, "bench-report: %s\n", err);
		ret = 1;
	}
	fclose(f);
	report_free(&r);
	return ret;
}
