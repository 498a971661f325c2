// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ksplat [LOG]: exit 1 and print the splats if a kernel console log
 * (a file, or standard input) shows any; exit 0 if it is clean, 2 on an
 * error. The first splat is printed with the lines that follow it (the
 * stack trace); later ones one line each.
 */
#include <stdio.h>
#include <string.h>

#include "ksplat.h"

#define CONTEXT_LINES 40

int main(int argc, char **argv)
{
	FILE *f = stdin;
	struct ksplat_state st = { 0 };
	char line[4096];
	unsigned long nr = 0, lineno = 0;
	int context = 0;

	if (argc > 2 || (argc == 2 && !strcmp(argv[1], "--help"))) {
		fprintf(stderr, "usage: ksplat [CONSOLE-LOG]\n");
		return 2;
	}
	if (argc == 2 && !(f = fopen(argv[1], "r"))) {
		perror(argv[1]);
		return 2;
	}

	while (fgets(line, sizeof(line), f)) {
		const char *kind = ksplat_scan(&st, line);

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (kind) {
			/* A trace inside a splat we are printing is part of it. */
			if (context && !strcmp(kind, "stack trace")) {
				printf("  %s\n", line);
				continue;
			}
			if (!nr++)
				context = CONTEXT_LINES;
			printf("ksplat: %s at line %lu: %s\n", kind, lineno, line);
		} else if (context) {
			printf("  %s\n", line);
			context--;
		}
	}
	if (ferror(f)) {
		perror("ksplat: read");
		return 2;
	}
	if (nr)
		printf("ksplat: %lu splat%s\n", nr, nr == 1 ? "" : "s");
	return nr ? 1 : 0;
}
