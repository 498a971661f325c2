/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Data patterns for the tests that check what kernel users of region
 * memory (GUP, io_uring, O_DIRECT, pins) moved: 64-bit words that differ
 * per seed and per position, so that data landing at the wrong offset, or
 * coming from another write, does not pass for the right one.
 */
#ifndef MSHARE_PATTERN_H
#define MSHARE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline void pattern(void *p, size_t len, uint64_t seed)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = mix(seed << 40 ^ i);
}

static inline bool is_pattern(const void *p, size_t len, uint64_t seed)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != mix(seed << 40 ^ i))
			return false;
	return true;
}

static inline bool is_zero(const void *p, size_t len)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			return false;
	return true;
}

#endif
