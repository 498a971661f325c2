// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The mshare CLI's output: error messages, a JSON writer and aligned
 * tables. Errors only ever go to stderr, so that stdout stays what a
 * script parses.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

static void vmessage(const char *fmt, va_list ap, const char *why)
{
	fputs("mshare: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (why)
		fprintf(stderr, ": %s", why);
	fputc('\n', stderr);
}

int errmsg(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap, NULL);
	va_end(ap);
	return code;
}

int fail_errno(int err, enum err_ctx ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap, strerror(err < 0 ? -err : err));
	va_end(ap);
	return exit_code(err, ctx);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap, NULL);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "Try 'mshare %s --help'.\n", cmd);
	else
		fputs("Try 'mshare --help'.\n", stderr);
	return EXIT_USAGE;
}

/* --- JSON ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at @s, or 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

void json_write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		size_t n;

		switch (*p) {
		case '"':	fputs("\\\"", f); p++; continue;
		case '\\':	fputs("\\\\", f); p++; continue;
		case '\n':	fputs("\\n", f); p++; continue;
		case '\t':	fputs("\\t", f); p++; continue;
		case '\r':	fputs("\\r", f); p++; continue;
		case '\b':	fputs("\\b", f); p++; continue;
		case '\f':	fputs("\\f", f); p++; continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
			p++;
			continue;
		}
		n = utf8_len(p);
		if (!n) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* The comma and key in front of a value. */
static void json_key(struct json *j, const char *key)
{
	if (j->nonempty[j->depth])
		fputc(',', j->f);
	j->nonempty[j->depth] = true;
	if (key) {
		json_write_string(j->f, key);
		fputc(':', j->f);
	}
}

static void json_open(struct json *j, const char *key, int c)
{
	json_key(j, key);
	fputc(c, j->f);
	/* deeper than the CLI ever goes: keep writing, commas may be off */
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->nonempty[j->depth] = false;
}

static void json_close(struct json *j, int c)
{
	fputc(c, j->f);
	if (j->depth)
		j->depth--;
}

void json_begin_object(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

void json_end_object(struct json *j)
{
	json_close(j, '}');
}

void json_begin_array(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_end_array(struct json *j)
{
	json_close(j, ']');
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (s)
		json_write_string(j->f, s);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

/* --- tables ---------------------------------------------------------- */

void table_init(struct table *t, unsigned int ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols < TABLE_MAX_COLS ? ncols : TABLE_MAX_COLS;
	for (unsigned int c = 0; c < t->ncols; c++) {
		t->right[c] = head[c][0] == '>';
		t->head[c] = head[c] + t->right[c];
	}
}

bool table_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **n = realloc(t->cells, cap * t->ncols * sizeof(*n));

		if (!n)
			return false;
		t->cells = n;
		t->cap = cap;
	}
	for (unsigned int c = 0; c < t->ncols; c++) {
		char *s = strdup(cells[c]);

		if (!s) {
			while (c--)
				free(t->cells[t->nrows * t->ncols + c]);
			return false;
		}
		t->cells[t->nrows * t->ncols + c] = s;
	}
	t->nrows++;
	return true;
}

/* Columns a cell takes: its UTF-8 characters, not its bytes. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void pad(FILE *f, size_t n)
{
	while (n--)
		fputc(' ', f);
}

static void table_row(const struct table *t, FILE *f, const size_t *width,
		      const char *const *cells)
{
	for (unsigned int c = 0; c < t->ncols; c++) {
		size_t fill = width[c] - text_width(cells[c]);

		if (c)
			fputs("  ", f);
		if (t->right[c])
			pad(f, fill);
		fputs(cells[c], f);
		if (!t->right[c] && c + 1 < t->ncols)
			pad(f, fill);
	}
	fputc('\n', f);
}

void table_print(const struct table *t, FILE *f)
{
	size_t width[TABLE_MAX_COLS];

	for (unsigned int c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t n = text_width(t->cells[r * t->ncols + c]);

			if (n > width[c])
				width[c] = n;
		}
	}
	table_row(t, f, width, t->head);
	for (size_t r = 0; r < t->nrows; r++)
		table_row(t, f, width, (const char *const *)&t->cells[r * t->ncols]);
	fflush(f);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}
