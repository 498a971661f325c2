// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sga-worker: the process sga starts, by the thousand, for each worker of
 * the SGA demo. Not meant to be run by hand:
 *
 *	sga-worker MODE TARGET INDEX WORKERS SIZE STRIDE REPORT_FD ATTACH_FD
 *		   GO_FD EXIT_FD
 *
 * MODE is mshare (TARGET: the region's path, attached by name) or memfd
 * (TARGET: the number of an inherited memfd). The fds are inherited pipe
 * ends: see worker.c for what goes through them.
 *
 * It links libmshare statically, so that exec does not search for it,
 * but libmount (which libmshare needs) dynamically: there is no static
 * libmount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sga.h"

static uint64_t number(const char *s, int *bad)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		*bad = 1;
	return v;
}

int main(int argc, char **argv)
{
	static const char usage[] =
		"usage: sga-worker MODE TARGET INDEX WORKERS SIZE STRIDE REPORT_FD ATTACH_FD GO_FD EXIT_FD\n"
		"(started by sga; not meant to be run by hand)\n";
	struct sga_job job = { .target = argv[argc > 2 ? 2 : 0] };
	int bad = 0;

	if (argc != 11)
		goto usage;
	if (!strcmp(argv[1], "mshare"))
		job.mode = SGA_MSHARE;
	else if (!strcmp(argv[1], "memfd"))
		job.mode = SGA_MEMFD;
	else
		goto usage;
	job.index = number(argv[3], &bad);
	job.workers = number(argv[4], &bad);
	job.size = number(argv[5], &bad);
	job.stride = number(argv[6], &bad);
	job.report_fd = number(argv[7], &bad);
	job.attach_fd = number(argv[8], &bad);
	job.go_fd = number(argv[9], &bad);
	job.exit_fd = number(argv[10], &bad);
	if (bad || !job.workers || job.index >= job.workers || !job.stride ||
	    job.stride % 8)
		goto usage;
	return sga_worker(&job);

usage:
	if (write(STDERR_FILENO, usage, sizeof(usage) - 1) < 0)
		return 2;
	return 2;
}
