/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Minimal TAP producer for the guest test programs. Results are printed
 * as they happen and the plan at the end ("1..N"), so a program that dies
 * midway shows what it reached; tests/run-suite reports its exit status.
 */
#ifndef MSHARE_TAP_H
#define MSHARE_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned int tap_count, tap_failures;

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static inline bool tap_vok(bool ok, const char *fmt, va_list ap)
{
	printf("%s %u - ", ok ? "ok" : "not ok", ++tap_count);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	if (!ok)
		tap_failures++;
	return ok;
}

static inline bool tap_ok(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

static inline void tap_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	printf("ok %u - ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

/* @ret, errno: the outcome of a call; pass if it failed with @want. */
static inline bool tap_errno_is(long ret, int err, int want, const char *fmt, ...)
{
	bool ok = ret == -1 && err == want;
	va_list ap;

	if (!ok)
		tap_diag("returned %ld, errno %d (%s); wanted errno %d (%s)",
			 ret, ret == -1 ? err : 0, ret == -1 ? strerror(err) : "-",
			 want, strerror(want));
	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* @ret, errno: pass if the call succeeded. */
static inline bool tap_success(long ret, int err, const char *fmt, ...)
{
	bool ok = ret != -1;
	va_list ap;

	if (!ok)
		tap_diag("failed: errno %d (%s)", err, strerror(err));
	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* Evaluate @call once and check that it fails with @want. */
#define TAP_ERRNO(call, want, ...) do {					\
	errno = 0;							\
	long r_ = (long)(call);						\
	tap_errno_is(r_, errno, (want), __VA_ARGS__);			\
} while (0)

#define TAP_SUCCESS(call, ...) do {					\
	errno = 0;							\
	long r_ = (long)(call);						\
	tap_success(r_, errno, __VA_ARGS__);				\
} while (0)

static inline int tap_done(void)
{
	printf("1..%u\n", tap_count);
	fflush(stdout);
	return tap_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Stop the program: what it tests cannot be reached. */
static inline void __attribute__((noreturn)) tap_bail(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(EXIT_FAILURE);
}

#endif
