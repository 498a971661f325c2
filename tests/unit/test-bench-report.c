// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of bench-report (bench/benchreport.c, compiled in): the
 * medians, the summary's tables and ratios, the gnuplot data from
 * tests/unit/fixtures/bench-samples.csv, and the refusal of malformed
 * CSVs with the line at fault.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "benchreport.h"

#define FIXTURE SOURCE_ROOT "/tests/unit/fixtures/bench-samples.csv"

static void read_fixture(struct report *r)
{
	char err[256] = "";
	FILE *f = fopen(FIXTURE, "r");

	assert_non_null(f);
	report_init(r);
	if (report_read(r, f, "fixture", err, sizeof(err)))
		fail_msg("%s", err);
	fclose(f);
}

/* What @fn writes, as a string to free. */
static char *capture(const struct report *r, void (*fn)(const struct report *, FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(r, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *capture_dat(const struct report *r, const char *metric)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_true(report_metric(r, metric) >= 0);
	report_dat(r, report_metric(r, metric), f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_contains(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("missing: \"%s\"", what);
}

static void test_median(void **state)
{
	double odd[] = { 3, 1, 2 }, even[] = { 4, 1, 3, 2 }, one[] = { 7 };
	double same[] = { 5, 5 }, neg[] = { -4, 0, 4, 0 };

	(void)state;
	assert_true(report_median(odd, 3) == 2);
	assert_true(odd[0] == 1 && odd[2] == 3);	/* sorted */
	assert_true(report_median(even, 4) == 2.5);
	assert_true(report_median(one, 1) == 7);
	assert_true(report_median(same, 2) == 5);
	assert_true(report_median(neg, 4) == 0);
}

static void test_read(void **state)
{
	struct report r;
	const struct report_cell *c;
	int memfd, tmpfs, pt, ex, prot;
	long size, n;

	(void)state;
	read_fixture(&r);
	/* columns in order of appearance; S and N ascending */
	assert_int_equal(r.configs.n, 4);
	assert_string_equal(r.configs.v[0], "memfd");
	assert_string_equal(r.configs.v[3], "mshare-tmpfs");
	assert_int_equal(r.nr_sizes, 3);
	assert_true(r.sizes[0] == 64 && r.sizes[1] == 256 && r.sizes[2] == 1024);
	assert_int_equal(r.nr_ns, 2);
	assert_true(r.ns[0] == 1 && r.ns[1] == 10);
	assert_string_equal(r.meta[0], "test box");

	memfd = report_config(&r, "memfd");
	tmpfs = report_config(&r, "mshare-tmpfs");
	pt = report_metric(&r, "pt_total_kib");
	ex = report_metric(&r, "exit_s");
	prot = report_metric(&r, "protect_ms");
	assert_true(memfd >= 0 && tmpfs >= 0 && pt >= 0 && ex >= 0 && prot >= 0);

	/* three reps, given out of order of value */
	c = report_cell(&r, 256, 10, memfd, pt);
	assert_non_null(c);
	assert_int_equal(c->count, 3);
	assert_true(c->median == 5120 && c->min == 5100 && c->max == 5140);
	/* two reps: the mean of both */
	c = report_cell(&r, 256, 10, tmpfs, ex);
	assert_non_null(c);
	assert_int_equal(c->count, 2);
	assert_true(c->median > 0.1499 && c->median < 0.1501);
	/* not measured */
	assert_null(report_cell(&r, 256, 10, memfd, prot));
	assert_null(report_cell(&r, 1024, 10, tmpfs, pt));

	/* N=10 has S=1024 for memfd alone: the ratios are at S=256 */
	assert_true(report_pick(&r, &size, &n));
	assert_int_equal(size, 256);
	assert_int_equal(n, 10);
	report_free(&r);
}

static void test_summary(void **state)
{
	struct report r;
	char *s;

	(void)state;
	read_fixture(&r);
	s = capture(&r, report_summary);

	/* the known metadata, not the others */
	assert_contains(s, "- machine: test box\n- kernel: Linux 6.12.0 x86_64\n");
	assert_contains(s, "- reps: 3\n- writers: 2\n");
	assert_null(strstr(s, "colour"));
	assert_contains(s, "- configurations: memfd, hugetlbfs, mshare-anon, mshare-tmpfs\n");

	/* tables by S then N */
	assert_true(strstr(s, "## S = 64 MiB, N = 1\n") < strstr(s, "## S = 64 MiB, N = 10\n"));
	assert_true(strstr(s, "## S = 64 MiB, N = 10\n") < strstr(s, "## S = 256 MiB, N = 1\n"));
	assert_true(strstr(s, "## S = 256 MiB, N = 10\n") < strstr(s, "## S = 1024 MiB, N = 1\n"));
	assert_true(strstr(s, "## S = 1024 MiB, N = 10\n") < strstr(s, "## Ratios"));

	assert_contains(s, "## S = 256 MiB, N = 10\n\n"
		"| metric | memfd | hugetlbfs | mshare-anon | mshare-tmpfs |\n"
		"| :-- | --: | --: | --: | --: |\n"
		"| create + populate (s) | 0.5 | n/a | n/a | n/a |\n"
		"| page tables, all N attached (KiB) | 5120 (5100–5140) | 40 (36–44) | 0 (0–4) | 8 |\n"
		"| page tables in all: the region's own + all N attached (KiB) | 5120 (5100–5140) | 40 (36–44) | 520 (520–524) | 528 |\n"
		"| faults per process, read loop (mean) | 65536 | 128 | 1 | 2 |\n"
		"| faults per writer, write loop (mean) | 65536 | 1 | 1 | n/a |\n"
		"| attach + write every page, median process (ms) | 45 (40–50) | 1.5 (1–2) | 1 (0.9–1.1) | 3 |\n"
		"| exit of all N (s) | 2.5 (2–3) | 0.1 | 0.05 | 0.15 (0.1–0.2) |\n"
		"| MSHAREFS_PROTECT, N attached (ms) | n/a | n/a | 0.25 (0.2–0.3) | 0.5 |\n"
		"| future_metric | 1500000 | n/a | n/a | n/a |\n\n");
	/* rows nobody measured there are left out */
	assert_contains(s, "## S = 64 MiB, N = 1\n\n"
		"| metric | memfd | hugetlbfs | mshare-anon | mshare-tmpfs |\n"
		"| :-- | --: | --: | --: | --: |\n"
		"| page tables, all N attached (KiB) | 128 | 9 | 4 | 8 |\n"
		"| exit of all N (s) | 0.01 | 0.005 | 0.005 | 0.005 |\n\n");
	assert_contains(s, "| page tables, all N attached (KiB) | 20480 | n/a | n/a | n/a |\n");

	assert_contains(s, "At S = 256 MiB and N = 10:");
	assert_contains(s, "### mshare-anon against memfd\n\n"
		"- page-table memory of the N processes: memfd 5120 KiB vs 0 KiB for mshare-anon\n"
		"- page-table memory in all, the region's own included: 9.85 times less (memfd 5120 KiB, mshare-anon 520 KiB)\n"
		"- faults per attacher, reading: 65536 times fewer (memfd 65536, mshare-anon 1)\n"
		"- faults per attacher, writing: 65536 times fewer (memfd 65536, mshare-anon 1)\n"
		"- attach + write time: 45.0 times faster (memfd 45 ms, mshare-anon 1 ms)\n"
		"- exit time: 50.0 times faster (memfd 2.5 s, mshare-anon 0.05 s)\n");
	assert_contains(s, "### mshare-anon against hugetlbfs\n\n"
		"- page-table memory of the N processes: hugetlbfs 40 KiB vs 0 KiB for mshare-anon\n"
		"- page-table memory in all, the region's own included: 13.0 times more (hugetlbfs 40 KiB, mshare-anon 520 KiB)\n"
		"- faults per attacher, reading: 128 times fewer (hugetlbfs 128, mshare-anon 1)\n"
		"- faults per attacher, writing: the same (hugetlbfs 1, mshare-anon 1)\n"
		"- attach + write time: 1.50 times faster (hugetlbfs 1.5 ms, mshare-anon 1 ms)\n"
		"- exit time: 2.00 times faster (hugetlbfs 0.1 s, mshare-anon 0.05 s)\n");
	assert_contains(s, "### mshare-tmpfs against memfd\n\n"
		"- page-table memory of the N processes: 640 times less (memfd 5120 KiB, mshare-tmpfs 8 KiB)\n"
		"- page-table memory in all, the region's own included: 9.70 times less (memfd 5120 KiB, mshare-tmpfs 528 KiB)\n"
		"- faults per attacher, reading: 32768 times fewer (memfd 65536, mshare-tmpfs 2)\n"
		"- faults per attacher, writing: n/a (no write_faults for mshare-tmpfs)\n"
		"- attach + write time: 15.0 times faster (memfd 45 ms, mshare-tmpfs 3 ms)\n"
		"- exit time: 16.7 times faster (memfd 2.5 s, mshare-tmpfs 0.15 s)\n");
	assert_contains(s, "### mshare-tmpfs against hugetlbfs\n\n"
		"- page-table memory of the N processes: 5.00 times less (hugetlbfs 40 KiB, mshare-tmpfs 8 KiB)\n"
		"- page-table memory in all, the region's own included: 13.2 times more (hugetlbfs 40 KiB, mshare-tmpfs 528 KiB)\n"
		"- faults per attacher, reading: 64.0 times fewer (hugetlbfs 128, mshare-tmpfs 2)\n"
		"- faults per attacher, writing: n/a (no write_faults for mshare-tmpfs)\n"
		"- attach + write time: 2.00 times slower (hugetlbfs 1.5 ms, mshare-tmpfs 3 ms)\n"
		"- exit time: 1.50 times slower (hugetlbfs 0.1 s, mshare-tmpfs 0.15 s)\n");
	free(s);
	report_free(&r);
}

static void test_gnuplot_data(void **state)
{
	struct report r;
	char *s;

	(void)state;
	read_fixture(&r);
	s = capture_dat(&r, "pt_total_kib");
	assert_string_equal(s,
		"# pt_total_kib: page tables, all N attached (KiB), medians; one block per S (gnuplot index)\n"
		"# N memfd hugetlbfs mshare-anon mshare-tmpfs\n"
		"# S=64 MiB\n"
		"1 128 9 4 8\n"
		"10 1280 18 4 8\n"
		"\n\n# S=256 MiB\n"
		"1 512 12 4 8\n"
		"10 5120 40 0 8\n"
		"\n\n# S=1024 MiB\n"
		"1 2048 24 4 8\n"
		"10 20480 NaN NaN NaN\n");
	free(s);
	/* measured at one S and N only: the other rows are NaN */
	s = capture_dat(&r, "attach_write_ms");
	assert_contains(s, "# S=256 MiB\n1 NaN NaN NaN NaN\n10 45 1.5 1 3\n");
	free(s);

	s = capture(&r, report_plotvars);
	assert_contains(s, "configs = \"memfd hugetlbfs mshare-anon mshare-tmpfs\"\n"
			"sizes = \"64 256 1024\"\nns = \"1 10\"\n");
	assert_contains(s, "pt_total_kib_min = 4\npt_total_kib_max = 20480\n");
	assert_contains(s, "exit_s_min = 0.005\nexit_s_max = 2.5\n");
	/* none at all */
	assert_contains(s, "attach_read_ms_min = 0\nattach_read_ms_max = 0\n");
	free(s);
	report_free(&r);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void test_write(void **state)
{
	char dir[] = "/tmp/test-bench-report.XXXXXX", path[256], err[256];
	const char *files[] = { "summary.md", "plotvars.gp", "pt_total_kib.dat",
				"exit_s.dat", "attach_write_ms.dat", "attach_read_ms.dat" };
	struct report r;

	(void)state;
	read_fixture(&r);
	assert_non_null(mkdtemp(dir));
	/* OUTDIR is made, not its parents */
	snprintf(path, sizeof(path), "%s/out", dir);
	assert_int_equal(report_write(&r, path, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/out/%s", dir, files[i]);
		if (access(path, R_OK))
			fail_msg("%s not written", path);
	}
	snprintf(path, sizeof(path), "%s/no/out", dir);
	assert_int_equal(report_write(&r, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/no/out: No such file or directory"));
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	report_free(&r);
}

#define HDR "config,n,size_mib,rep,metric,value\n"

static void test_malformed(void **state)
{
	static const struct {
		const char *csv;
		size_t len;		/* 0: strlen */
		const char *err;
	} cases[] = {
		{ "", 0, "x.csv: no header line 'config,n,size_mib,rep,metric,value'" },
		{ "# machine: m\n\n", 0, "x.csv: no header line" },
		{ HDR, 0, "x.csv: no samples" },
		{ HDR "# only a comment\n", 0, "x.csv: no samples" },
		{ "# m: x\nmemfd,1,64,0,exit_s,1\n", 0, "x.csv:2: expected the header line" },
		{ "config,n,size,rep,metric,value\n", 0, "x.csv:1: expected the header line" },
		{ HDR "memfd,1,64,0,exit_s\n", 0, "x.csv:2: 5 fields, expected 6" },
		{ HDR "memfd,1,64,0,exit_s,1,2\n", 0, "x.csv:2: more than 6 fields" },
		{ HDR "memfd,1,64,0,exit_s,1\n\nmem fd,1,64,0,exit_s,1\n", 0,
		  "x.csv:4: bad config 'mem fd'" },
		{ HDR "memfd,0,64,0,exit_s,1\n", 0, "x.csv:2: bad n '0'" },
		{ HDR "memfd,+1,64,0,exit_s,1\n", 0, "x.csv:2: bad n '+1'" },
		{ HDR "memfd,1,-64,0,exit_s,1\n", 0, "x.csv:2: bad size_mib '-64'" },
		{ HDR "memfd,1,64M,0,exit_s,1\n", 0, "x.csv:2: bad size_mib '64M'" },
		{ HDR "memfd,1,64,x,exit_s,1\n", 0, "x.csv:2: bad rep 'x'" },
		{ HDR "memfd,1,64,0,,1\n", 0, "x.csv:2: bad metric ''" },
		{ HDR "memfd,1,64,0,exit_s,\n", 0, "x.csv:2: bad value ''" },
		{ HDR "memfd,1,64,0,exit_s,nan\n", 0, "x.csv:2: bad value 'nan'" },
		{ HDR "memfd,1,64,0,exit_s,inf\n", 0, "x.csv:2: bad value 'inf'" },
		{ HDR "memfd,1,64,0,exit_s,1.5s\n", 0, "x.csv:2: bad value '1.5s'" },
		{ HDR "memfd,1,64,0,exit_s,1\nmemfd,1,64,1,exit_s,1\nmemfd,1,64,0,exit_s,2\n", 0,
		  "x.csv:4: repeats the sample of line 2" },
		{ HDR "memfd,1,64,0,exit_s,1\0\n", sizeof(HDR) + 22, "x.csv:2: NUL byte" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].csv);
		char *buf = malloc(len + 1), err[256] = "";
		struct report r;
		FILE *f;

		assert_non_null(buf);
		memcpy(buf, cases[i].csv, len + 1);
		/* fmemopen() of zero bytes fails: an empty file instead */
		f = len ? fmemopen(buf, len, "r") : tmpfile();
		assert_non_null(f);
		report_init(&r);
		if (report_read(&r, f, "x.csv", err, sizeof(err)) != -1)
			fail_msg("case %zu accepted", i);
		if (strncmp(err, cases[i].err, strlen(cases[i].err)))
			fail_msg("case %zu: \"%s\", expected \"%s\"", i, err, cases[i].err);
		report_free(&r);
		fclose(f);
		free(buf);
	}
}

/* What a program or an editor may add: CRLF, blanks, comments anywhere. */
static void test_lenient(void **state)
{
	static const char csv[] =
		"# reps: 1\r\n"
		"  config,n,size_mib,rep,metric,value  \r\n"
		"\r\n"
		"memfd, 1 ,64,0,exit_s,1e-3\r\n"
		"# a comment: not metadata we know\n"
		"memfd,1,64,1,exit_s,-0\n";
	char buf[sizeof(csv)], err[256] = "";
	const struct report_cell *c;
	struct report r;
	FILE *f;

	(void)state;
	memcpy(buf, csv, sizeof(csv));
	f = fmemopen(buf, sizeof(csv) - 1, "r");
	assert_non_null(f);
	report_init(&r);
	if (report_read(&r, f, "x.csv", err, sizeof(err)))
		fail_msg("%s", err);
	fclose(f);
	assert_string_equal(r.meta[6], "1");
	c = report_cell(&r, 64, 1, 0, report_metric(&r, "exit_s"));
	assert_non_null(c);
	assert_int_equal(c->count, 2);
	assert_true(c->median == 0.0005);
	report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_gnuplot_data),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_lenient),
	};

	return cmocka_run_group_tests_name("bench-report", tests, NULL, NULL);
}
