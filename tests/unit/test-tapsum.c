// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the TAP counting behind `make check`'s closing line: the
 * ways a suite can fail without printing "not ok" must still count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tapsum.h"

static struct tapsum feed(const char *const *lines)
{
	struct tapsum t;

	tapsum_init(&t);
	while (*lines)
		tapsum_line(&t, *lines++);
	tapsum_end(&t);
	return t;
}

#define FEED(...) feed((const char *const[]){ __VA_ARGS__, NULL })

static void assert_counts(struct tapsum t, unsigned int p, unsigned int f,
			  unsigned int s)
{
	assert_int_equal(t.passed, p);
	assert_int_equal(t.failed, f);
	assert_int_equal(t.skipped, s);
}

static void test_plain(void **state)
{
	(void)state;
	assert_counts(FEED("# suite: a", "ok 1 - x", "not ok 2 - y",
			   "ok 3 - z # SKIP no disk", "1..3", "# exit: 1"),
		      1, 1, 1);
	/* Plan first, as cmocka prints it, and directives in any case. */
	assert_counts(FEED("1..2", "ok 1 - x # skip why", "not ok 2 - y # TODO later"),
		      0, 0, 2);
	/* "ok" must be a word: "okay" is not a result. */
	assert_counts(FEED("okay", "ok", "not ok"), 1, 1, 0);
}

static void test_missing_results(void **state)
{
	(void)state;
	/* Planned 5, died after 2. */
	assert_counts(FEED("# suite: a", "1..5", "ok 1", "ok 2", "# exit: 139"),
		      2, 3, 0);
	/* Planned at the end never printed: crashed; the exit status tells. */
	assert_counts(FEED("# suite: a", "ok 1", "# exit: 139"), 1, 1, 0);
	/* A stream that ends inside a program. */
	assert_counts(FEED("1..3", "ok 1"), 1, 2, 0);
}

static void test_exit_status(void **state)
{
	(void)state;
	/* Failures reported: the non-zero exit adds nothing. */
	assert_counts(FEED("# suite: a", "not ok 1", "1..1", "# exit: 1"), 0, 1, 0);
	/* Non-zero exit with every result ok still fails once. */
	assert_counts(FEED("# suite: a", "ok 1", "1..1", "# exit: 2"), 1, 1, 0);
	/* A whole program skipped. */
	assert_counts(FEED("# suite: a", "1..0 # SKIP no msharefs", "# exit: 0"), 0, 0, 1);
	/* A failure in one program does not excuse a crash in the next. */
	assert_counts(FEED("# suite: a", "not ok 1", "1..1", "# exit: 1",
			   "# suite: b", "ok 1", "1..1", "# exit: 134"), 1, 2, 0);
	/* Two cmocka groups in one program: the first group's failure counts. */
	assert_counts(FEED("# suite: u", "1..1", "not ok 1", "1..1", "ok 1", "# exit: 1"),
		      1, 1, 0);
}

static void test_bail_and_vm(void **state)
{
	(void)state;
	assert_counts(FEED("# suite: a", "ok 1", "Bail out! no msharefs", "# exit: 1"),
		      1, 1, 0);
	/* The VM's own verdicts. */
	assert_counts(FEED("ok 1", "1..1", "# vm-run: exit 0"), 1, 0, 0);
	assert_counts(FEED("ok 1", "1..1", "# vm-run: exit 123"), 1, 1, 0);
	assert_counts(FEED("# vm-run: exit 125"), 0, 1, 0);
	assert_counts(FEED("not ok 1", "1..1", "# vm-run: exit 1"), 0, 1, 0);
	assert_counts(FEED("ok 1", "1..1", "# vm-run: exit 1"), 1, 1, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_missing_results),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_bail_and_vm),
	};

	return cmocka_run_group_tests_name("tapsum", tests, NULL, NULL);
}
