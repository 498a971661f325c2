// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fields of /proc/meminfo, read afresh at each call: callers measure how
 * they change.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meminfo.h"

long meminfo_kb(const char *key)
{
	size_t len = strlen(key);
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

long pagetables_kb(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		/* Any write folds the counters; its result does not matter */
		ssize_t n = write(fd, "1", 1);

		(void)n;
		close(fd);
	}
	return meminfo_kb("PageTables");
}
