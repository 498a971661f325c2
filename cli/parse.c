// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The mshare CLI's parsing and formatting rules (see parse.h). Pure
 * functions: no I/O, no global state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "parse.h"

static const struct {
	const char *word;
	int prot;
} prots[] = {
	{ "none", PROT_NONE },
	{ "r", PROT_READ },
	{ "rw", PROT_READ | PROT_WRITE },
	{ "rx", PROT_READ | PROT_EXEC },
	{ "rwx", PROT_READ | PROT_WRITE | PROT_EXEC },
};

int parse_prot(const char *text, int *prot)
{
	for (size_t i = 0; text && i < sizeof(prots) / sizeof(prots[0]); i++) {
		if (!strcmp(text, prots[i].word)) {
			*prot = prots[i].prot;
			return 0;
		}
	}
	return -EINVAL;
}

const char *prot_name(int prot)
{
	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++)
		if (prots[i].prot == prot)
			return prots[i].word;
	return NULL;
}

int parse_mode(const char *text, mode_t *mode)
{
	unsigned long v;
	char *end;

	if (!text || *text < '0' || *text > '7')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 8);
	if (errno || *end || v > 07777)
		return -EINVAL;
	*mode = (mode_t)v;
	return 0;
}

enum region_size_error region_size_for(uint64_t mem, uint64_t requested,
				       uint64_t align, uint64_t *rsize)
{
	if (requested) {
		if (requested & (align - 1))
			return RSIZE_UNALIGNED;
		if (requested < mem)
			return RSIZE_TOO_SMALL;
		*rsize = requested;
		return RSIZE_OK;
	}
	if (mem > UINT64_MAX - (align - 1))
		return RSIZE_OVERFLOW;
	*rsize = mem ? (mem + align - 1) & ~(align - 1) : align;
	return RSIZE_OK;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	double v;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes >> (10 * (u + 2)))
		u++;
	if (!(bytes & ((1ULL << (10 * (u + 1))) - 1))) {
		snprintf(buf, len, "%llu %s",
			 (unsigned long long)(bytes >> (10 * (u + 1))), units[u]);
		return;
	}
	v = (double)bytes / (double)(1ULL << (10 * (u + 1)));
	/* 1023.96 KiB would print as "1024.0 KiB": say "1.0 MiB" instead. */
	if (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		u++;
		v /= 1024;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

int exit_code(int err, enum err_ctx ctx)
{
	if (err < 0)
		err = -err;
	if (ctx == CTX_MOUNT)
		return EXIT_NOT_MOUNTED;
	switch (err) {
	case 0:
		return EXIT_OK;
	case EACCES:
	case EPERM:
		return EXIT_DENIED;
	case ENOENT:
	case ENOTDIR:
		return ctx == CTX_REGION ? EXIT_NO_REGION : EXIT_FAIL;
	case ENODEV:
		/* the library's answer for a name that is not on msharefs */
		return ctx == CTX_REGION ? EXIT_NOT_MOUNTED : EXIT_FAIL;
	default:
		return EXIT_FAIL;
	}
}
