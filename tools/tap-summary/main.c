// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * tap-summary FILE...: total the TAP results of `make check`'s logs and
 * end with the plain "N passed, N failed" line. Exit 0 only when nothing
 * failed and something passed. A missing or empty log is a failure: a
 * stage that produced no results must not read as a pass.
 */
#include <stdio.h>
#include <string.h>

#include "tapsum.h"

int main(int argc, char **argv)
{
	unsigned int passed = 0, failed = 0, skipped = 0;
	char line[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: tap-summary TAP-LOG...\n");
		return 2;
	}

	for (int i = 1; i < argc; i++) {
		struct tapsum t;
		FILE *f = fopen(argv[i], "r");
		const char *base = strrchr(argv[i], '/');

		base = base ? base + 1 : argv[i];
		tapsum_init(&t);
		if (!f) {
			printf("# %s: missing\n", base);
			failed++;
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			tapsum_line(&t, line);
		}
		fclose(f);
		tapsum_end(&t);
		if (!t.passed && !t.failed && !t.skipped) {
			printf("# %s: no results\n", base);
			t.failed++;
		}
		printf("# %s: %u ok, %u not ok, %u skipped\n", base,
		       t.passed, t.failed, t.skipped);
		passed += t.passed;
		failed += t.failed;
		skipped += t.skipped;
	}

	if (skipped)
		printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	else
		printf("%u passed, %u failed\n", passed, failed);
	return failed || !passed;
}
