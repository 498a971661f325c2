// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the preload shim's decisions (preload/decide.c, compiled
 * in): MSHARE_PRELOAD_MIN parsing and what an invalid value does, which
 * mmap() calls are served, passed on quietly or declined with a reason,
 * which munmap() calls detach, and the table of served mappings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "libmshare.h"
#include "decide.h"

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)
#define PAGE		4096
#define HUGE		(2 * MiB)
#define ALIGN		(512 * GiB)

static uint64_t parsed(const char *text)
{
	uint64_t v = 0xdead;

	assert_int_equal(preload_parse_size(text, &v), 0);
	return v;
}

static void test_parse_size(void **state)
{
	(void)state;
	assert_int_equal(parsed("1"), 1);
	assert_int_equal(parsed("67108864"), 64 * MiB);
	assert_int_equal(parsed("64K"), 64 * KiB);
	assert_int_equal(parsed("64k"), 64 * KiB);
	assert_int_equal(parsed("64KiB"), 64 * KiB);
	assert_int_equal(parsed("64M"), 64 * MiB);
	assert_int_equal(parsed("64mib"), 64 * MiB);
	assert_int_equal(parsed("3G"), 3 * GiB);
	assert_int_equal(parsed("2T"), 2048 * GiB);
	assert_int_equal(parsed("007"), 7);
	assert_int_equal(parsed("18446744073709551615"), UINT64_MAX);
	assert_int_equal(parsed("16777215T"), 16777215ULL << 40);
}

static void test_parse_size_invalid(void **state)
{
	static const char *const bad[] = {
		NULL, "", "banana", "M", "-1", "-64M", "+64M", " 64M", "64M ",
		"64 M", "1.5M", "0x40", "64MB", "64Mi", "64P", "64KM", "0", "0M",
		"000", "0T",
	};
	uint64_t v = 0xdead;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (preload_parse_size(bad[i], &v) != -EINVAL)
			fail_msg("'%s' is not -EINVAL", bad[i] ? bad[i] : "(null)");
	}
	assert_int_equal(v, 0xdead);	/* untouched on failure */

	assert_int_equal(preload_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(preload_parse_size("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(preload_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(preload_parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(preload_parse_size("18014398509481984K", &v), -ERANGE);
	assert_int_equal(v, 0xdead);
}

static void test_config(void **state)
{
	struct preload_config c;

	(void)state;
	preload_config_parse(&c, NULL, NULL, NULL);
	assert_false(c.enabled);
	assert_false(c.verbose);
	assert_int_equal(c.min, PRELOAD_DEFAULT_MIN);
	assert_int_equal(c.min, 64 * MiB);
	assert_string_equal(c.why, "");

	preload_config_parse(&c, "1", "1G", "1");
	assert_true(c.enabled);
	assert_true(c.verbose);
	assert_int_equal(c.min, GiB);
	assert_string_equal(c.why, "");

	/* only "1" turns things on */
	static const char *const no[] = { "0", "", "yes", "true", "11", " 1", "1 " };

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		preload_config_parse(&c, no[i], NULL, no[i]);
		assert_false(c.enabled);
		assert_false(c.verbose);
	}
}

static void test_config_invalid_min(void **state)
{
	static const char *const bad[] = { "banana", "-1", "0", " ", "1.5G", "64MB" };
	struct preload_config c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		preload_config_parse(&c, "1", bad[i], "1");
		assert_true(c.enabled);
		assert_int_equal(c.min, PRELOAD_DEFAULT_MIN);
		snprintf(want, sizeof(want), "MSHARE_PRELOAD_MIN='%s' is not a size", bad[i]);
		assert_non_null(strstr(c.why, want));
		assert_non_null(strstr(c.why, "using the default, 64 MiB"));
	}
	/* set but empty: as if unset, no reason */
	preload_config_parse(&c, "1", "", "1");
	assert_int_equal(c.min, PRELOAD_DEFAULT_MIN);
	assert_string_equal(c.why, "");

	preload_config_parse(&c, "1", "18446744073709551616", NULL);
	assert_int_equal(c.min, PRELOAD_DEFAULT_MIN);
	assert_non_null(strstr(c.why, "is too large; using the default, 64 MiB"));

	/* a long value is cut, the line stays whole */
	char big[400];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	preload_config_parse(&c, "1", big, NULL);
	assert_non_null(strstr(c.why, "using the default, 64 MiB"));
}

static struct preload_config config(uint64_t min)
{
	struct preload_config c = { .enabled = true, .min = min };

	return c;
}

/* A call served with the default settings. */
static struct preload_call good(void)
{
	struct preload_call call = {
		.addr = NULL, .length = 128 * MiB, .prot = PROT_READ | PROT_WRITE,
		.flags = MAP_SHARED | MAP_ANONYMOUS, .fd = -1, .offset = 0,
	};

	return call;
}

static enum preload_verdict decide(struct preload_call call, struct preload_plan *plan)
{
	struct preload_config c = config(PRELOAD_DEFAULT_MIN);

	return preload_decide(&c, &call, PAGE, HUGE, plan);
}

static void test_decide_serve(void **state)
{
	struct preload_config c = config(PRELOAD_DEFAULT_MIN);
	struct preload_call call = good();
	struct preload_plan plan;

	(void)state;
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.size, 128 * MiB);
	assert_int_equal(plan.mshare_flags, 0);

	/* the threshold itself is served; lengths are page-rounded */
	call.length = 64 * MiB;
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.size, 64 * MiB);
	call.length = 100 * MiB + 1;
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.size, 100 * MiB + PAGE);

	call = good();
	call.flags |= MAP_NORESERVE;
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.mshare_flags, 0);
	call.flags |= MAP_POPULATE;
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.mshare_flags, MSHARE_MAP_POPULATE);

	/* huge pages: whole ones, of the default size, named or not */
	call = good();
	call.flags |= MAP_HUGETLB;
	call.length = 65 * MiB;
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.mshare_flags, MSHARE_MAP_HUGETLB);
	assert_int_equal(plan.size, 66 * MiB);
	call.flags |= MAP_POPULATE | (21 << MAP_HUGE_SHIFT);	/* MAP_HUGE_2MB */
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.mshare_flags, MSHARE_MAP_HUGETLB | MSHARE_MAP_POPULATE);
	assert_int_equal(plan.size, 66 * MiB);

	/* a lower threshold serves smaller mappings */
	c = config(1);
	call = good();
	call.length = 1;
	assert_int_equal(preload_decide(&c, &call, PAGE, 0, &plan), PRELOAD_SERVE);
	assert_int_equal(plan.size, PAGE);
}

static void expect(struct preload_call call, enum preload_verdict verdict,
		   const char *why)
{
	struct preload_plan plan;

	if (decide(call, &plan) != verdict)
		fail_msg("flags %#x prot %#x length %zu: verdict %d, not %d (%s)", call.flags,
			 call.prot, call.length, decide(call, &plan), verdict, plan.why);
	if (!strstr(plan.why, why))
		fail_msg("reason '%s' lacks '%s'", plan.why, why);
}

static void test_decide_ignore(void **state)
{
	struct preload_config off = { .enabled = false, .min = 1 };
	struct preload_call call = good();
	struct preload_plan plan;

	(void)state;
	assert_int_equal(preload_decide(&off, &call, PAGE, HUGE, &plan), PRELOAD_IGNORE);
	assert_string_equal(plan.why, "MSHARE_PRELOAD is not 1");

	call.flags = MAP_PRIVATE | MAP_ANONYMOUS;
	expect(call, PRELOAD_IGNORE, "not MAP_SHARED");
	call.flags = MAP_SHARED;
	call.fd = 3;
	expect(call, PRELOAD_IGNORE, "not MAP_ANONYMOUS");
	call.flags = MAP_PRIVATE;
	expect(call, PRELOAD_IGNORE, "not MAP_ANONYMOUS");
	call = good();
	call.flags = MAP_ANONYMOUS;	/* no type: the kernel's EINVAL */
	expect(call, PRELOAD_IGNORE, "not MAP_SHARED");
	call = good();
	call.length = 0;
	expect(call, PRELOAD_IGNORE, "length 0");
	call.length = 64 * MiB - 1;
	expect(call, PRELOAD_IGNORE, "below MSHARE_PRELOAD_MIN (67108864)");
	/* small ones with anything else wrong are quiet too */
	call.addr = (void *)(uintptr_t)(1ULL << 40);
	call.prot = PROT_NONE;
	expect(call, PRELOAD_IGNORE, "below MSHARE_PRELOAD_MIN");
}

static void test_decide_decline(void **state)
{
	struct preload_config c = config(PRELOAD_DEFAULT_MIN);
	struct preload_call call;
	struct preload_plan plan;

	(void)state;
	call = good();
	call.flags = MAP_SHARED_VALIDATE | MAP_ANONYMOUS;
	expect(call, PRELOAD_DECLINE, "MAP_SHARED_VALIDATE");
	call = good();
	call.flags |= MAP_FIXED;
	call.addr = (void *)(uintptr_t)(1ULL << 40);
	expect(call, PRELOAD_DECLINE, "MAP_FIXED");
	call.flags = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
	expect(call, PRELOAD_DECLINE, "MAP_FIXED");
	call.flags = MAP_SHARED | MAP_ANONYMOUS;
	expect(call, PRELOAD_DECLINE, "an address hint (0x10000000000)");

	call = good();
	call.fd = 5;
	expect(call, PRELOAD_DECLINE, "fd 5 is given, not -1");
	call = good();
	call.offset = PAGE;
	expect(call, PRELOAD_DECLINE, "offset 4096 is not 0");

	static const int prots[] = {
		PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE | PROT_EXEC,
		PROT_READ | PROT_EXEC,
	};

	for (size_t i = 0; i < sizeof(prots) / sizeof(prots[0]); i++) {
		call = good();
		call.prot = prots[i];
		expect(call, PRELOAD_DECLINE, "is not PROT_READ|PROT_WRITE");
	}

	static const int flags[] = {
		MAP_LOCKED, MAP_GROWSDOWN, MAP_STACK, MAP_NONBLOCK, MAP_SYNC,
		0x4000000,	/* MAP_UNINITIALIZED, which glibc does not define */
#ifdef MAP_32BIT
		MAP_32BIT,
#endif
		21 << MAP_HUGE_SHIFT,	/* a huge page size without MAP_HUGETLB */
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		char want[64];

		call = good();
		call.flags |= flags[i];
		snprintf(want, sizeof(want), "flags %#x that a region cannot honour",
			 flags[i]);
		expect(call, PRELOAD_DECLINE, want);
	}

	call = good();
	call.flags |= MAP_HUGETLB | (30 << MAP_HUGE_SHIFT);	/* MAP_HUGE_1GB */
	expect(call, PRELOAD_DECLINE, "huge pages of 2^30 bytes, not the default size (2097152)");
	call.flags = MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB;
	assert_int_equal(preload_decide(&c, &call, PAGE, 0, &plan), PRELOAD_DECLINE);
	assert_non_null(strstr(plan.why, "no default huge page size"));

	call = good();
	call.length = SIZE_MAX;
	expect(call, PRELOAD_DECLINE, "is too large");
	call.length = SIZE_MAX - HUGE + 2;	/* fits pages, not huge pages */
	assert_int_equal(decide(call, &plan), PRELOAD_SERVE);
	call.flags |= MAP_HUGETLB;
	expect(call, PRELOAD_DECLINE, "is too large");
}

static void test_munmap_detaches(void **state)
{
	const struct preload_entry e = {
		.addr = ALIGN, .length = 100 * MiB + PAGE, .attach_size = ALIGN,
	};
	void *base = (void *)(uintptr_t)ALIGN;

	(void)state;
	assert_true(preload_munmap_detaches(&e, base, 100 * MiB + 1, PAGE));
	assert_true(preload_munmap_detaches(&e, base, 100 * MiB + PAGE, PAGE));
	assert_true(preload_munmap_detaches(&e, base, 102 * MiB, PAGE));	/* huge-rounded */
	assert_true(preload_munmap_detaches(&e, base, ALIGN, PAGE));
	assert_true(preload_munmap_detaches(&e, base, ALIGN - 1, PAGE));
	/* partial: the kernel's EINVAL; more than the attach: the kernel's call */
	assert_false(preload_munmap_detaches(&e, base, PAGE, PAGE));
	assert_false(preload_munmap_detaches(&e, base, 100 * MiB, PAGE));
	assert_false(preload_munmap_detaches(&e, base, 0, PAGE));
	assert_false(preload_munmap_detaches(&e, base, ALIGN + 1, PAGE));
	assert_false(preload_munmap_detaches(&e, base, SIZE_MAX, PAGE));
	assert_false(preload_munmap_detaches(&e, (char *)base + PAGE, 100 * MiB, PAGE));
}

static struct preload_entry entry(uint64_t n)
{
	struct preload_entry e = { .addr = n * ALIGN, .length = MiB, .attach_size = ALIGN };

	return e;
}

static void test_table(void **state)
{
	static struct preload_table t;
	struct preload_entry e;

	(void)state;
	for (uint64_t i = 1; i <= 3; i++) {
		e = entry(i);
		assert_true(preload_table_add(&t, &e));
	}
	assert_int_equal(t.used, 3);
	assert_ptr_equal(preload_table_find(&t, (void *)(uintptr_t)(2 * ALIGN)),
			 &t.entries[1]);
	assert_null(preload_table_find(&t, (void *)(uintptr_t)(2 * ALIGN + PAGE)));
	assert_null(preload_table_find(&t, (void *)(uintptr_t)(4 * ALIGN)));
	assert_ptr_equal(preload_table_find_containing(&t, (void *)(uintptr_t)(3 * ALIGN - 1)),
			 &t.entries[1]);
	assert_ptr_equal(preload_table_find_containing(&t, (void *)(uintptr_t)(3 * ALIGN)),
			 &t.entries[2]);
	assert_null(preload_table_find_containing(&t, (void *)(uintptr_t)(ALIGN - 1)));
	assert_null(preload_table_find_containing(&t, (void *)(uintptr_t)(4 * ALIGN)));

	/* the last entry fills the gap */
	preload_table_remove(&t, &t.entries[0]);
	assert_int_equal(t.used, 2);
	assert_int_equal(t.entries[0].addr, 3 * ALIGN);
	assert_null(preload_table_find(&t, (void *)(uintptr_t)ALIGN));

	/* forget: only attaches wholly inside the range */
	assert_int_equal(preload_table_forget(&t, (void *)(uintptr_t)(2 * ALIGN), ALIGN - 1), 0);
	assert_int_equal(preload_table_forget(&t, (void *)(uintptr_t)(2 * ALIGN + PAGE), ALIGN), 0);
	assert_int_equal(preload_table_forget(&t, (void *)(uintptr_t)(2 * ALIGN), ALIGN), 1);
	assert_int_equal(t.used, 1);
	e = entry(5);
	assert_true(preload_table_add(&t, &e));
	assert_int_equal(preload_table_forget(&t, (void *)(uintptr_t)PAGE, SIZE_MAX), 2);
	assert_int_equal(t.used, 0);

	/* full */
	for (uint64_t i = 0; i < PRELOAD_TABLE_SIZE; i++) {
		e = entry(i + 1);
		assert_true(preload_table_add(&t, &e));
	}
	e = entry(PRELOAD_TABLE_SIZE + 1);
	assert_false(preload_table_add(&t, &e));
	assert_int_equal(t.used, PRELOAD_TABLE_SIZE);
	assert_ptr_equal(preload_table_find(&t, (void *)(uintptr_t)(PRELOAD_TABLE_SIZE * ALIGN)),
			 &t.entries[PRELOAD_TABLE_SIZE - 1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_size_invalid),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_invalid_min),
		cmocka_unit_test(test_decide_serve),
		cmocka_unit_test(test_decide_ignore),
		cmocka_unit_test(test_decide_decline),
		cmocka_unit_test(test_munmap_detaches),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
