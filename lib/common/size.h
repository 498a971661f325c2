/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sizes as people write them, for the tools around libmshare (the CLI,
 * the preload shim, the SGA demo). Not part of the library's API: each
 * tool compiles lib/common/size.c in.
 */
#ifndef MSHARE_COMMON_SIZE_H
#define MSHARE_COMMON_SIZE_H

#include <stdint.h>

/*
 * Parse @text: decimal digits, then nothing or a binary unit K, M, G, T
 * or KiB, MiB, GiB, TiB (any case). 0, -EINVAL for anything else
 * (blanks, signs, "0x", fractions, "MB"), -ERANGE past UINT64_MAX.
 * Zero is a valid size here; callers that need more say so.
 */
int parse_size(const char *text, uint64_t *size);

#endif
