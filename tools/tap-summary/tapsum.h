/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Count the results of TAP streams as produced by tests/run-suite: one
 * or more programs, each introduced by "# suite: NAME", with its own
 * plan, and closed by "# exit: STATUS"; a file may end with
 * "# vm-run: exit STATUS".
 *
 * A program that plans more results than it prints, exits non-zero
 * without reporting a failure, or bails out counts as failed; so does a
 * VM run that ended in anything but success or a reported test failure.
 */
#ifndef TAPSUM_H
#define TAPSUM_H

#include <stdbool.h>

struct tapsum {
	unsigned int passed, failed, skipped;

	/* the program being read */
	char name[64];
	long planned;		/* -1: no plan yet */
	unsigned int seen;	/* results since the plan */
	unsigned int block_failed;
	bool in_block;
};

void tapsum_init(struct tapsum *t);
/* Feed one line, without its newline. */
void tapsum_line(struct tapsum *t, const char *line);
/* End of a stream: account for a program that stopped early. */
void tapsum_end(struct tapsum *t);

#endif
