/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The touch loops: one 8-byte access to each 4 KiB of a mapping, through
 * volatile pointers so that the compiler keeps every one.
 */
#ifndef MSHARE_BENCH_TOUCH_H
#define MSHARE_BENCH_TOUCH_H

#include <stdint.h>

#include "bench.h"

static inline uint64_t touch_read(const char *p, uint64_t size)
{
	uint64_t sum = 0;

	for (uint64_t off = 0; off < size; off += BENCH_PAGE)
		sum += *(const volatile uint64_t *)(p + off);
	return sum;
}

static inline void touch_write(char *p, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += BENCH_PAGE)
		*(volatile uint64_t *)(p + off) = off;
}

#endif
