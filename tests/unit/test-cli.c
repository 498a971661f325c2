// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the mshare CLI's rules, on the host: sizes with suffixes
 * (and overflow, and garbage), protection words, modes, the region size
 * a create needs, sizes in IEC units, the exit code of each errno, and
 * the output helpers (JSON escaping, aligned tables) on a memory stream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "parse.h"
#include "output.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t want;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "4096", 4096 }, { "007", 7 },
		{ "4K", 4 * KiB }, { "4k", 4 * KiB }, { "4KiB", 4 * KiB },
		{ "4kib", 4 * KiB }, { "64M", 64 * MiB }, { "64MiB", 64 * MiB },
		{ "1G", GiB }, { "512GiB", 512 * GiB }, { "2T", 2 * TiB },
		{ "3TiB", 3 * TiB }, { "0G", 0 },
		{ "18446744073709551615", UINT64_MAX },
		/* the largest count each suffix takes */
		{ "18014398509481983K", UINT64_MAX & ~(KiB - 1) },
		{ "16777215T", UINT64_MAX & ~(TiB - 1) },
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		if (parse_size(good[i].text, &v))
			fail_msg("'%s' was refused", good[i].text);
		if (v != good[i].want)
			fail_msg("'%s' is %llu, not %llu", good[i].text,
				 (unsigned long long)v, (unsigned long long)good[i].want);
	}
}

static void test_size_overflow(void **state)
{
	static const char *const big[] = {
		"18446744073709551616", "99999999999999999999999999",
		"18014398509481984K", "17592186044416M", "17179869184G",
		"16777216T", "16777216TiB",
	};
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		if (parse_size(big[i], &v) != -ERANGE)
			fail_msg("'%s' is not -ERANGE", big[i]);
	assert_int_equal(v, 7);
}

static void test_size_garbage(void **state)
{
	static const char *const bad[] = {
		"", " 4K", "4K ", "4 K", "-1", "+1", "0x1000", "1.5G", "G", "K4",
		"4KB", "4kb", "4P", "4Ki", "4iB", "4B", "4GG", "abc", "1e9",
		"4\n", "١",
	};
	uint64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_size(bad[i], &v) != -EINVAL)
			fail_msg("'%s' is not -EINVAL", bad[i]);
	assert_int_equal(parse_size(NULL, &v), -EINVAL);
	assert_int_equal(v, 7);
}

static void test_prot(void **state)
{
	static const char *const bad[] = {
		"", "w", "x", "wx", "rwxx", "RW", "read", "wr", "xr", "r ", "NONE", "-",
	};
	int prot = 42;

	(void)state;
	assert_int_equal(parse_prot("none", &prot), 0);
	assert_int_equal(prot, PROT_NONE);
	assert_int_equal(parse_prot("r", &prot), 0);
	assert_int_equal(prot, PROT_READ);
	assert_int_equal(parse_prot("rw", &prot), 0);
	assert_int_equal(prot, PROT_READ | PROT_WRITE);
	assert_int_equal(parse_prot("rx", &prot), 0);
	assert_int_equal(prot, PROT_READ | PROT_EXEC);
	assert_int_equal(parse_prot("rwx", &prot), 0);
	assert_int_equal(prot, PROT_READ | PROT_WRITE | PROT_EXEC);

	prot = 42;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_prot(bad[i], &prot) != -EINVAL)
			fail_msg("protection '%s' was accepted", bad[i]);
	assert_int_equal(parse_prot(NULL, &prot), -EINVAL);
	assert_int_equal(prot, 42);

	/* prot_name() is parse_prot()'s inverse, and knows no other values */
	for (int p = 0; p < 8; p++) {
		const char *name = prot_name(p);
		int back;

		if (!name) {
			assert_true(p == PROT_WRITE || p == PROT_EXEC ||
				    p == (PROT_WRITE | PROT_EXEC));
			continue;
		}
		assert_int_equal(parse_prot(name, &back), 0);
		assert_int_equal(back, p);
	}
	assert_null(prot_name(0x10));
}

static void test_mode(void **state)
{
	mode_t m = 1;

	(void)state;
	assert_int_equal(parse_mode("0600", &m), 0);
	assert_int_equal(m, 0600);
	assert_int_equal(parse_mode("644", &m), 0);
	assert_int_equal(m, 0644);
	assert_int_equal(parse_mode("7777", &m), 0);
	assert_int_equal(m, 07777);
	assert_int_equal(parse_mode("0", &m), 0);
	assert_int_equal(m, 0);
	m = 1;
	assert_int_equal(parse_mode("8", &m), -EINVAL);
	assert_int_equal(parse_mode("0609", &m), -EINVAL);
	assert_int_equal(parse_mode("17777", &m), -EINVAL);
	assert_int_equal(parse_mode("-600", &m), -EINVAL);
	assert_int_equal(parse_mode(" 600", &m), -EINVAL);
	assert_int_equal(parse_mode("", &m), -EINVAL);
	assert_int_equal(parse_mode("rw", &m), -EINVAL);
	assert_int_equal(parse_mode("0777777777777777777777777", &m), -EINVAL);
	assert_int_equal(m, 1);
}

static void test_region_size(void **state)
{
	const uint64_t align = 512 * GiB;
	uint64_t rs = 3;

	(void)state;
	/* without --region-size: rounded up, at least one alignment */
	assert_int_equal(region_size_for(64 * MiB, 0, align, &rs), RSIZE_OK);
	assert_int_equal(rs, align);
	assert_int_equal(region_size_for(0, 0, align, &rs), RSIZE_OK);
	assert_int_equal(rs, align);
	assert_int_equal(region_size_for(align, 0, align, &rs), RSIZE_OK);
	assert_int_equal(rs, align);
	assert_int_equal(region_size_for(align + 4096, 0, align, &rs), RSIZE_OK);
	assert_int_equal(rs, 2 * align);
	rs = 3;
	assert_int_equal(region_size_for(UINT64_MAX - 4095, 0, align, &rs),
			 RSIZE_OVERFLOW);
	assert_int_equal(rs, 3);

	/* with it: a multiple of the alignment, and room for the memory */
	assert_int_equal(region_size_for(64 * MiB, 2 * align, align, &rs), RSIZE_OK);
	assert_int_equal(rs, 2 * align);
	assert_int_equal(region_size_for(0, align, align, &rs), RSIZE_OK);
	assert_int_equal(rs, align);
	rs = 3;
	assert_int_equal(region_size_for(64 * MiB, GiB, align, &rs), RSIZE_UNALIGNED);
	assert_int_equal(region_size_for(64 * MiB, align + 4096, align, &rs),
			 RSIZE_UNALIGNED);
	assert_int_equal(region_size_for(2 * align, align, align, &rs), RSIZE_TOO_SMALL);
	assert_int_equal(rs, 3);
}

static void test_format_size(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} cases[] = {
		{ 0, "0 B" }, { 1, "1 B" }, { 1023, "1023 B" }, { 1024, "1 KiB" },
		{ 1536, "1.5 KiB" }, { 4096, "4 KiB" }, { 64 * MiB, "64 MiB" },
		{ MiB + MiB / 10 * 3, "1.3 MiB" }, { 512 * GiB, "512 GiB" },
		{ 549755813888ULL, "512 GiB" }, { TiB, "1 TiB" }, { 1ULL << 50, "1 PiB" },
		{ 1ULL << 60, "1 EiB" }, { UINT64_MAX, "16.0 EiB" },
		{ MiB - 1, "1.0 MiB" }, { 1048575ULL * KiB, "1.0 GiB" },
	};
	char buf[32], tiny[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_size(cases[i].bytes, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want))
			fail_msg("%llu is '%s', not '%s'", (unsigned long long)cases[i].bytes,
				 buf, cases[i].want);
	}
	/* never "1024.0 KiB": a value that rounds up moves to the next unit */
	format_size(GiB - 1, buf, sizeof(buf));
	assert_string_equal(buf, "1.0 GiB");
	format_size(512 * GiB, tiny, sizeof(tiny));
	assert_string_equal(tiny, "512");
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(exit_code(0, CTX_REGION), EXIT_OK);
	/* the sign does not matter: libmshare returns -errno, errno is positive */
	assert_int_equal(exit_code(-ENOENT, CTX_REGION), EXIT_NO_REGION);
	assert_int_equal(exit_code(ENOENT, CTX_REGION), EXIT_NO_REGION);
	assert_int_equal(exit_code(-ENOTDIR, CTX_REGION), EXIT_NO_REGION);
	assert_int_equal(exit_code(-EACCES, CTX_REGION), EXIT_DENIED);
	assert_int_equal(exit_code(-EPERM, CTX_REGION), EXIT_DENIED);
	assert_int_equal(exit_code(-EACCES, CTX_OTHER), EXIT_DENIED);
	assert_int_equal(exit_code(EPERM, CTX_OTHER), EXIT_DENIED);
	/* a name that is not on msharefs */
	assert_int_equal(exit_code(-ENODEV, CTX_REGION), EXIT_NOT_MOUNTED);
	/* a missing backing file is not a missing region; ENODEV is a bad backing */
	assert_int_equal(exit_code(-ENOENT, CTX_OTHER), EXIT_FAIL);
	assert_int_equal(exit_code(-ENODEV, CTX_OTHER), EXIT_FAIL);
	/* whatever keeps the mount from being found, it is not mounted */
	assert_int_equal(exit_code(-ENOENT, CTX_MOUNT), EXIT_NOT_MOUNTED);
	assert_int_equal(exit_code(-ENODEV, CTX_MOUNT), EXIT_NOT_MOUNTED);
	assert_int_equal(exit_code(-EACCES, CTX_MOUNT), EXIT_NOT_MOUNTED);
	/* the rest is a plain failure */
	assert_int_equal(exit_code(-EEXIST, CTX_REGION), EXIT_FAIL);
	assert_int_equal(exit_code(-EINVAL, CTX_REGION), EXIT_FAIL);
	assert_int_equal(exit_code(-ENOMEM, CTX_OTHER), EXIT_FAIL);
	assert_int_equal(exit_code(-EBUSY, CTX_OTHER), EXIT_FAIL);
	assert_int_equal(exit_code(-EISDIR, CTX_REGION), EXIT_FAIL);
	/* the codes mshare(1) documents */
	assert_int_equal(EXIT_FAIL, 1);
	assert_int_equal(EXIT_USAGE, 2);
	assert_int_equal(EXIT_NOT_MOUNTED, 3);
	assert_int_equal(EXIT_NO_REGION, 4);
	assert_int_equal(EXIT_DENIED, 5);
}

/* Run @fn on a memory stream and return what it wrote (to be freed). */
static char *capture(void (*fn)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void write_string(FILE *f, const void *arg)
{
	json_write_string(f, arg);
}

static void test_json_string(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "tab\there\nnl\r\b\f", "\"tab\\there\\nnl\\r\\b\\f\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		/* bytes that are not UTF-8 become U+FFFD, one each */
		{ "a\xff" "b", "\"a\\ufffdb\"" },
		{ "\xc3", "\"\\ufffd\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },		/* overlong '/' */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },	/* a surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* > U+10FFFF */
		{ "", "\"\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = capture(write_string, cases[i].in);

		if (strcmp(out, cases[i].want))
			fail_msg("case %zu: got %s, wanted %s", i, out, cases[i].want);
		free(out);
	}
}

static void write_document(FILE *f, const void *arg)
{
	struct json j;

	(void)arg;
	json_init(&j, f);
	json_begin_array(&j, NULL);
	json_begin_object(&j, NULL);
	json_str(&j, "name", "a");
	json_u64(&j, "size", UINT64_MAX);
	json_null(&j, "rss_bytes");
	json_bool(&j, "populate", true);
	json_str(&j, "file", NULL);
	json_begin_array(&j, "removed");
	json_end_array(&j);
	json_end_object(&j);
	json_begin_object(&j, NULL);
	json_bool(&j, "x", false);
	json_end_object(&j);
	json_end_array(&j);
	json_finish(&j);
}

static void test_json_document(void **state)
{
	char *out = capture(write_document, NULL);

	(void)state;
	assert_string_equal(out, "[{\"name\":\"a\",\"size\":18446744073709551615,"
			    "\"rss_bytes\":null,\"populate\":true,\"file\":null,"
			    "\"removed\":[]},{\"x\":false}]\n");
	free(out);
}

static void write_table(FILE *f, const void *arg)
{
	static const char *const head[] = { "NAME", ">SIZE", ">RSS" };
	static const char *const r1[] = { "db/sga", "512 GiB", "64 MiB" };
	static const char *const r2[] = { "caf\xc3\xa9-long-name", "1 TiB", "-" };
	struct table t;

	(void)arg;
	table_init(&t, 3, head);
	assert_true(table_add(&t, r1));
	assert_true(table_add(&t, r2));
	table_print(&t, f);
	table_free(&t);
	table_init(&t, 3, head);
	table_print(&t, f);
	table_free(&t);
}

static void test_table(void **state)
{
	char *out = capture(write_table, NULL);

	(void)state;
	/* widths count characters, not bytes; the last column has no padding */
	assert_string_equal(out,
			    "NAME               SIZE     RSS\n"
			    "db/sga          512 GiB  64 MiB\n"
			    "caf\xc3\xa9-long-name    1 TiB       -\n"
			    "NAME  SIZE  RSS\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_size_garbage),
		cmocka_unit_test(test_prot),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_region_size),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_document),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests_name("mshare-cli", tests, NULL, NULL);
}
