// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TAP result counting; see tapsum.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tapsum.h"

void tapsum_init(struct tapsum *t)
{
	memset(t, 0, sizeof(*t));
	t->planned = -1;
}

/* Close the current program: missing results are failures. */
static void close_block(struct tapsum *t)
{
	if (t->in_block && t->planned > (long)t->seen) {
		unsigned int missing = t->planned - t->seen;

		t->failed += missing;
		t->block_failed += missing;
	}
	t->in_block = false;
	t->planned = -1;
	t->seen = 0;
}

/* Start a new program (@name), or a new plan within the current one. */
static void open_block(struct tapsum *t, const char *name)
{
	close_block(t);
	if (name) {
		strncpy(t->name, name, sizeof(t->name) - 1);
		t->name[sizeof(t->name) - 1] = '\0';
		t->block_failed = 0;
	}
	t->in_block = true;
}

/* "# SKIP" or "# TODO" directive after the description, case-insensitive. */
static bool has_directive(const char *line, const char *word)
{
	const char *hash = strchr(line, '#');

	while (hash) {
		const char *p = hash + 1;

		while (*p == ' ')
			p++;
		if (!strncasecmp(p, word, strlen(word)))
			return true;
		hash = strchr(hash + 1, '#');
	}
	return false;
}

static void result(struct tapsum *t, bool ok, const char *line)
{
	if (!t->in_block)
		open_block(t, "");
	t->seen++;
	if (has_directive(line, "SKIP") || (!ok && has_directive(line, "TODO"))) {
		t->skipped++;
	} else if (ok) {
		t->passed++;
	} else {
		t->failed++;
		t->block_failed++;
	}
}

void tapsum_line(struct tapsum *t, const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;

	if (!strncmp(line, "ok", 2) && (line[2] == ' ' || !line[2])) {
		result(t, true, line);
	} else if (!strncmp(line, "not ok", 6) && (line[6] == ' ' || !line[6])) {
		result(t, false, line);
	} else if (!strncmp(line, "1..", 3)) {
		char *end;
		long n = strtol(line + 3, &end, 10);

		/* A second plan in one program starts another (cmocka groups). */
		if (!t->in_block)
			open_block(t, "");
		else if (t->planned >= 0)
			open_block(t, NULL);
		t->planned = n;
		if (n == 0)	/* "1..0 # SKIP why": the whole program */
			t->skipped++;
	} else if (!strncmp(line, "# suite: ", 9)) {
		open_block(t, line + 9);
	} else if (!strncmp(line, "# exit: ", 8)) {
		int status = atoi(line + 8);

		close_block(t);
		if (status && !t->block_failed)
			t->failed++;	/* crashed or failed without saying */
	} else if (!strncmp(line, "# vm-run: exit ", 15)) {
		int status = atoi(line + 15);

		close_block(t);
		/* 1 is the suite reporting failed tests, already counted. */
		if (status && !(status == 1 && t->failed))
			t->failed++;
	} else if (!strncmp(line, "Bail out!", 9)) {
		if (!t->in_block)
			open_block(t, "");
		t->failed++;
		t->block_failed++;
		t->planned = -1;	/* the rest of the plan is moot */
	}
}

void tapsum_end(struct tapsum *t)
{
	close_block(t);
}
