/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The default huge page size, which MAP_HUGETLB without a MAP_HUGE_*
 * size uses. Internal to libmshare and its tools (lib/common/hugepage.c
 * is compiled into each).
 */
#ifndef MSHARE_COMMON_HUGEPAGE_H
#define MSHARE_COMMON_HUGEPAGE_H

#include <stdint.h>

/* Hugepagesize from /proc/meminfo in bytes, or 0 without hugetlb. */
uint64_t default_hugepage_size(void);

#endif
