/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mshare CLI's output: error messages on stderr, JSON documents and
 * aligned tables on stdout.
 */
#ifndef MSHARE_CLI_OUTPUT_H
#define MSHARE_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "parse.h"

/* "mshare: <fmt>" on stderr; returns @code, for `return errmsg(...)`. */
int errmsg(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * "mshare: <fmt>: <strerror(err)>" on stderr; returns the exit code of
 * @err (negative or positive) in @ctx.
 */
int fail_errno(int err, enum err_ctx ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A usage error: "mshare: <fmt>" and a pointer to the help on stderr;
 * returns EXIT_USAGE.
 */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A JSON writer that places the commas itself. Inside an object every
 * value has a key; at the top level and in arrays @key is NULL.
 */
#define JSON_MAX_DEPTH 8
struct json {
	FILE *f;
	unsigned int depth;
	bool nonempty[JSON_MAX_DEPTH];
};

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_u64(struct json *j, const char *key, uint64_t v);
/* A string; NULL writes null. */
void json_str(struct json *j, const char *key, const char *s);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* End the document with a newline and flush it. */
void json_finish(struct json *j);

/*
 * Write @s as a JSON string literal: quotes, escapes, and U+FFFD for each
 * byte that is not part of valid UTF-8 (file names are bytes).
 */
void json_write_string(FILE *f, const char *s);

/* A table of text cells printed with its columns aligned. */
#define TABLE_MAX_COLS 8
struct table {
	unsigned int ncols;
	const char *head[TABLE_MAX_COLS];
	bool right[TABLE_MAX_COLS];	/* right-aligned (numbers) */
	char **cells;			/* nrows * ncols, row-major */
	size_t nrows, cap;
};

/* Columns from @head; a leading '>' in a heading right-aligns the column. */
void table_init(struct table *t, unsigned int ncols, const char *const *head);
/* Append a row of ncols strings (copied); false if out of memory. */
bool table_add(struct table *t, const char *const *cells);
/* Heading and rows, two spaces between columns, no trailing blanks. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

#endif
