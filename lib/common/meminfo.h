/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fields of /proc/meminfo. Internal to libmshare and its tools
 * (lib/common/meminfo.c is compiled into each).
 */
#ifndef MSHARE_COMMON_MEMINFO_H
#define MSHARE_COMMON_MEMINFO_H

/* Field @key of /proc/meminfo ("PageTables", ...) in kB, or -1. */
long meminfo_kb(const char *key);

/*
 * PageTables in kB, made exact first: the per-CPU vmstat counters are
 * folded into the total (needs root; without it the figure lags by up
 * to a few pages per CPU). -1 if it cannot be read.
 */
long pagetables_kb(void);

#endif
