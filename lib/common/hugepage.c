// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The default huge page size. Read afresh each time: it is asked for once
 * per hugetlb mapping, and a cache would be global state to keep right
 * across fork.
 */
#include <stdio.h>

#include "hugepage.h"

uint64_t default_hugepage_size(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kib = 0;
	char line[128];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return (uint64_t)kib << 10;
}
