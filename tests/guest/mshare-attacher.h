/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What mshare-attacher reports to attachers.h, and the data it expects:
 * the first word of page p (4 KiB pages) holds attacher_pattern(p).
 */
#ifndef MSHARE_ATTACHER_H
#define MSHARE_ATTACHER_H

#include <stdint.h>

#define ATTACHER_PAGE	4096ULL

/* One report, written with one write(2): well under PIPE_BUF, so atomic. */
struct attacher_report {
	int32_t pid;
	int32_t status;		/* ATTACHER_OK or what went wrong */
	int64_t minflt;		/* minor faults of the touch loop */
	int64_t majflt;		/* major faults of the touch loop */
	int64_t touch_ns;	/* time of the touch loop */
};

enum {
	ATTACHER_OK,
	ATTACHER_EUSAGE,	/* bad command line */
	ATTACHER_EMLOCK,	/* mlockall() failed */
	ATTACHER_EOPEN,		/* cannot open the region */
	ATTACHER_EMMAP,		/* cannot attach or map */
	ATTACHER_EDATA,		/* a page did not hold its pattern */
};

static inline uint64_t attacher_pattern(uint64_t page)
{
	return ((page + 1) * 0x9e3779b97f4a7c15ULL) | 1;
}

#endif
