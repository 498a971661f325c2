// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsing sizes with binary units. Pure: no I/O, no global state.
 */
#include <errno.h>
#include <strings.h>

#include "size.h"

static const struct {
	const char *suffix;
	unsigned int shift;
} units[] = {
	{ "", 0 },
	{ "K", 10 }, { "KiB", 10 },
	{ "M", 20 }, { "MiB", 20 },
	{ "G", 30 }, { "GiB", 30 },
	{ "T", 40 }, { "TiB", 40 },
};

int parse_size(const char *text, uint64_t *size)
{
	const char *p = text;
	uint64_t v = 0;

	/* Digits by hand: strtoull() would take blanks, signs and "0x". */
	if (!text || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = *p - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].suffix))
			continue;
		if (v > UINT64_MAX >> units[i].shift)
			return -ERANGE;
		*size = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}
