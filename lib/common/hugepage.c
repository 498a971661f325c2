// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The default huge page size. Read afresh each time: it is asked for once
 * per hugetlb mapping, and a cache would be global state to keep right
 * across fork.
 */
#include "hugepage.h"
#include "meminfo.h"

uint64_t default_hugepage_size(void)
{
	long kib = meminfo_kb("Hugepagesize");

	return kib > 0 ? (uint64_t)kib << 10 : 0;
}
