/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mshare CLI's parsing and formatting rules: sizes with suffixes,
 * protection words, modes, the region size a create needs, sizes in IEC
 * units, and which exit code an error gives. No I/O here, so that
 * tests/unit/test-cli.c can check all of it on the host.
 */
#ifndef MSHARE_CLI_PARSE_H
#define MSHARE_CLI_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "size.h"	/* parse_size() */

/* Exit codes (mshare(1), EXIT STATUS). */
#define EXIT_OK			0
#define EXIT_FAIL		1	/* any other failure */
#define EXIT_USAGE		2	/* bad option, command, number, size or prot */
#define EXIT_NOT_MOUNTED	3	/* no msharefs where one was needed */
#define EXIT_NO_REGION		4	/* ENOENT */
#define EXIT_DENIED		5	/* EACCES, EPERM */


/* none, r, rw, rx, rwx as PROT_* bits; 0 or -EINVAL. */
int parse_prot(const char *text, int *prot);

/* The word parse_prot() takes for @prot, or NULL if there is none. */
const char *prot_name(int prot);

/* An octal mode of at most 07777; 0 or -EINVAL. */
int parse_mode(const char *text, mode_t *mode);

/* Why a create's region size is wrong. */
enum region_size_error {
	RSIZE_OK,
	RSIZE_ZERO,		/* --region-size 0 */
	RSIZE_UNALIGNED,	/* not a multiple of the alignment */
	RSIZE_TOO_SMALL,	/* smaller than the memory to map */
	RSIZE_OVERFLOW,		/* the memory rounded up does not fit in 64 bits */
};

/*
 * The region size for @mem bytes of memory at offset 0 with alignment
 * @align (a power of two): @requested if it is not 0 (--region-size),
 * which must be a multiple of @align and at least @mem, else @mem rounded
 * up to @align (at least one @align).
 */
enum region_size_error region_size_for(uint64_t mem, uint64_t requested,
				       uint64_t align, uint64_t *rsize);

/*
 * @bytes for people, in IEC units: "0 B", "1023 B", "4 KiB", "1.5 MiB",
 * "512 GiB" (one decimal unless exact). Always NUL-terminates @buf.
 */
void format_size(uint64_t bytes, char *buf, size_t len);

/* Where an error came from, for exit_code(). */
enum err_ctx {
	CTX_MOUNT,	/* finding the msharefs mount: always "not mounted" */
	CTX_REGION,	/* a region or directory by name: create, open, unlink */
	CTX_OTHER,	/* anything else: an open region, a backing file */
};

/* The exit code for the negative or positive errno @err in @ctx. */
int exit_code(int err, enum err_ctx ctx);

#endif
