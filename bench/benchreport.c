// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-report's CSV reading, medians and output; see benchreport.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "benchreport.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *const report_meta_keys[REPORT_META_KEYS] = {
	"machine", "kernel", "date", "mode", "cpus", "memory", "reps",
	"writers",
};

const char *const report_dat_metrics[REPORT_DAT_METRICS] = {
	"pt_total_kib", "exit_s", "attach_write_ms", "attach_read_ms",
	"pt_all_kib",
};

/* The metrics mshare-bench writes, in the tables' order. */
static const struct {
	const char *name, *label, *unit;	/* unit NULL: a count */
} known_metrics[] = {
	{ "populate_s",		"create + populate",			"s" },
	{ "pt_total_kib",	"page tables, all N attached",		"KiB" },
	{ "pt_per_proc_b",	"page tables per process",		"B" },
	{ "pt_region_kib",
	  "page tables kept by the populated region itself",		"KiB" },
	{ "pt_all_kib",
	  "page tables in all: the region's own + all N attached",	"KiB" },
	{ "read_faults",	"faults per process, read loop (mean)",	NULL },
	{ "write_faults",	"faults per writer, write loop (mean)",	NULL },
	{ "attach_read_ms",
	  "attach + read every page, median process",			"ms" },
	{ "attach_write_ms",
	  "attach + write every page, median process",			"ms" },
	{ "exit_s",		"exit of all N",			"s" },
	{ "protect_ms",		"MSHAREFS_PROTECT, N attached",		"ms" },
	{ "protect_flushes",	"all-CPU TLB flushes of that PROTECT",	NULL },
	{ "populate_flushes",	"all-CPU TLB flushes to populate",	NULL },
	{ "folded_pct",
	  "populated memory in folded 64 KiB blocks (arm64 contpte)",	"%" },
};
#define NR_KNOWN_METRICS ARRAY_SIZE(known_metrics)

/* What the ratios compare, and the words for "better" and "worse". */
static const struct {
	const char *metric, *what, *better, *worse;
} ratio_metrics[] = {
	{ "pt_total_kib",	"page-table memory of the N processes",
	  "less", "more" },
	{ "pt_all_kib",	"page-table memory in all, the region's own included",
	  "less", "more" },
	{ "read_faults",	"faults per attacher, reading",	"fewer",	"more" },
	{ "write_faults",	"faults per attacher, writing",	"fewer",	"more" },
	{ "attach_write_ms",	"attach + write time",		"faster",	"slower" },
	{ "exit_s",		"exit time",			"faster",	"slower" },
};

static const char *const ratio_mshare[] = { "mshare-anon", "mshare-tmpfs" };
static const char *const ratio_baseline[] = { "memfd", "hugetlbfs" };

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* --- names ----------------------------------------------------------- */

static int find_name(const struct report_names *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], name))
			return i;
	return -1;
}

/* Index of @name in @l, added at the end if new; -ENOMEM. */
static int add_name(struct report_names *l, const char *name)
{
	int i = find_name(l, name);

	if (i >= 0)
		return i;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(name);
	if (!l->v[l->n])
		return -ENOMEM;
	return l->n++;
}

static void free_names(struct report_names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

int report_config(const struct report *r, const char *name)
{
	return find_name(&r->configs, name);
}

int report_metric(const struct report *r, const char *name)
{
	return find_name(&r->metrics, name);
}

/* --- reading --------------------------------------------------------- */

void report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
}

void report_free(struct report *r)
{
	for (int i = 0; i < REPORT_META_KEYS; i++)
		free(r->meta[i]);
	free_names(&r->configs);
	free_names(&r->metrics);
	free(r->samples);
	free(r->cells);
	free(r->sizes);
	free(r->ns);
	report_init(r);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

/* "# key: value": keep the known keys; anything else is a comment. */
static int parse_meta(struct report *r, char *text)
{
	char *colon = strchr(text, ':');
	char *key, *value;

	if (!colon)
		return 0;
	*colon = '\0';
	key = trim(text);
	value = trim(colon + 1);
	for (int i = 0; i < REPORT_META_KEYS; i++) {
		if (strcmp(key, report_meta_keys[i]))
			continue;
		free(r->meta[i]);
		r->meta[i] = strdup(value);
		return r->meta[i] ? 0 : -ENOMEM;
	}
	return 0;
}

/* Config and metric names go into gnuplot strings and table headers. */
static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.+-", *s))
			return false;
	return true;
}

/* Plain decimal digits only, at least @min. */
static bool parse_long(const char *s, long min, long *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return !*end && !errno && *out >= min;
}

static bool parse_value(const char *s, double *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !*end && !errno && isfinite(*out);
}

/* One data row, split in place. 0, -ENOMEM, or -EINVAL with @msg set. */
static int parse_row(struct report *r, char *line, unsigned long lineno,
		     char *msg, size_t msglen)
{
	static const char *const what[] = { "config", "n", "size_mib", "rep",
					    "metric", "value" };
	char *field[6];
	struct report_sample s = { .line = lineno };
	int nr = 0, cfg, metric;

	for (char *p = line; p; nr++) {
		char *comma = strchr(p, ',');

		if (nr == 6) {
			snprintf(msg, msglen, "more than 6 fields");
			return -EINVAL;
		}
		if (comma)
			*comma++ = '\0';
		field[nr] = trim(p);
		p = comma;
	}
	if (nr != 6) {
		snprintf(msg, msglen, "%d fields, expected 6 (%s)", nr, REPORT_CSV_HEADER);
		return -EINVAL;
	}
	for (int i = 0; i < 6; i++) {
		bool ok;

		switch (i) {
		case 0:
		case 4:
			ok = valid_name(field[i]);
			break;
		case 1:
			ok = parse_long(field[i], 1, &s.n);
			break;
		case 2:
			ok = parse_long(field[i], 1, &s.size);
			break;
		case 3:
			ok = parse_long(field[i], 0, &s.rep);
			break;
		default:
			ok = parse_value(field[i], &s.value);
			break;
		}
		if (!ok) {
			snprintf(msg, msglen, "bad %s '%.40s'", what[i], field[i]);
			return -EINVAL;
		}
	}

	cfg = add_name(&r->configs, field[0]);
	metric = add_name(&r->metrics, field[4]);
	if (cfg < 0 || metric < 0)
		return -ENOMEM;
	s.cfg = cfg;
	s.metric = metric;
	if (r->nr_samples == r->samples_cap) {
		size_t cap = r->samples_cap ? 2 * r->samples_cap : 256;
		struct report_sample *v = realloc(r->samples, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->samples = v;
		r->samples_cap = cap;
	}
	r->samples[r->nr_samples++] = s;
	return 0;
}

#define CMP(a, b) do {				\
	if ((a) != (b))				\
		return (a) < (b) ? -1 : 1;	\
} while (0)

/* By cell (S, N, config, metric), then rep, then line. */
static int cmp_sample(const void *pa, const void *pb)
{
	const struct report_sample *a = pa, *b = pb;

	CMP(a->size, b->size);
	CMP(a->n, b->n);
	CMP(a->cfg, b->cfg);
	CMP(a->metric, b->metric);
	CMP(a->rep, b->rep);
	CMP(a->line, b->line);
	return 0;
}

static bool same_cell(const struct report_sample *a, const struct report_sample *b)
{
	return a->size == b->size && a->n == b->n && a->cfg == b->cfg &&
	       a->metric == b->metric;
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return a < b ? -1 : a > b;
}

static int cmp_long(const void *pa, const void *pb)
{
	long a = *(const long *)pa, b = *(const long *)pb;

	return a < b ? -1 : a > b;
}

double report_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* @v sorted, with duplicates: keep each value once; the new count. */
static size_t uniq_longs(long *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_long);
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

/* Samples read: check for repeats, compute the cells, list S and N. */
static int finish(struct report *r, const char *name, char *err, size_t errlen)
{
	const size_t n = r->nr_samples;
	double *values;

	qsort(r->samples, n, sizeof(*r->samples), cmp_sample);
	for (size_t i = 1; i < n; i++) {
		const struct report_sample *a = &r->samples[i - 1], *b = &r->samples[i];

		if (same_cell(a, b) && a->rep == b->rep)
			return fail(err, errlen, "%s:%lu: repeats the sample of line %lu",
				    name, b->line, a->line);
	}

	r->cells = calloc(n, sizeof(*r->cells));
	r->sizes = calloc(n, sizeof(*r->sizes));
	r->ns = calloc(n, sizeof(*r->ns));
	values = calloc(n, sizeof(*values));
	if (!r->cells || !r->sizes || !r->ns || !values) {
		free(values);
		return fail(err, errlen, "out of memory");
	}
	for (size_t i = 0, j; i < n; i = j) {
		struct report_cell *c = &r->cells[r->nr_cells++];

		for (j = i; j < n && same_cell(&r->samples[i], &r->samples[j]); j++)
			values[j - i] = r->samples[j].value;
		c->size = r->samples[i].size;
		c->n = r->samples[i].n;
		c->cfg = r->samples[i].cfg;
		c->metric = r->samples[i].metric;
		c->count = j - i;
		c->median = report_median(values, c->count);
		c->min = values[0];
		c->max = values[c->count - 1];
	}
	free(values);

	for (size_t i = 0; i < n; i++) {
		r->sizes[i] = r->samples[i].size;
		r->ns[i] = r->samples[i].n;
	}
	r->nr_sizes = uniq_longs(r->sizes, n);
	r->nr_ns = uniq_longs(r->ns, n);
	return 0;
}

int report_read(struct report *r, FILE *f, const char *name, char *err, size_t errlen)
{
	unsigned long lineno = 0;
	bool header = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret = -1;

	/* The known metrics first, in their order, whether they come or not. */
	for (size_t i = 0; i < NR_KNOWN_METRICS; i++)
		if (add_name(&r->metrics, known_metrics[i].name) < 0)
			return fail(err, errlen, "out of memory");

	while ((len = getline(&line, &cap, f)) != -1) {
		char msg[128], *p;
		int e;

		lineno++;
		if (strlen(line) != (size_t)len) {
			fail(err, errlen, "%s:%lu: NUL byte", name, lineno);
			goto out;
		}
		p = trim(line);
		if (!*p)
			continue;
		if (*p == '#') {
			if (parse_meta(r, p + 1) < 0) {
				fail(err, errlen, "out of memory");
				goto out;
			}
			continue;
		}
		if (!header) {
			if (strcmp(p, REPORT_CSV_HEADER)) {
				fail(err, errlen, "%s:%lu: expected the header line '%s'",
				     name, lineno, REPORT_CSV_HEADER);
				goto out;
			}
			header = true;
			continue;
		}
		e = parse_row(r, p, lineno, msg, sizeof(msg));
		if (e == -ENOMEM) {
			fail(err, errlen, "out of memory");
			goto out;
		} else if (e) {
			fail(err, errlen, "%s:%lu: %s", name, lineno, msg);
			goto out;
		}
	}
	if (ferror(f)) {
		fail(err, errlen, "%s: read error", name);
		goto out;
	}
	if (!header) {
		fail(err, errlen, "%s: no header line '%s'", name, REPORT_CSV_HEADER);
		goto out;
	}
	if (!r->nr_samples) {
		fail(err, errlen, "%s: no samples", name);
		goto out;
	}
	ret = finish(r, name, err, errlen);
out:
	free(line);
	return ret;
}

/* --- looking up ------------------------------------------------------ */

static int cmp_cell(const struct report_cell *c, long size, long n,
		    unsigned int cfg, unsigned int metric)
{
	CMP(c->size, size);
	CMP(c->n, n);
	CMP(c->cfg, cfg);
	CMP(c->metric, metric);
	return 0;
}

/* Index of the first cell at or after (S, N, cfg, metric). */
static size_t lower_bound(const struct report *r, long size, long n,
			  unsigned int cfg, unsigned int metric)
{
	size_t lo = 0, hi = r->nr_cells;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_cell(&r->cells[mid], size, n, cfg, metric) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct report_cell *report_cell(const struct report *r, long size, long n,
				      unsigned int cfg, unsigned int metric)
{
	size_t i = lower_bound(r, size, n, cfg, metric);

	if (i < r->nr_cells && !cmp_cell(&r->cells[i], size, n, cfg, metric))
		return &r->cells[i];
	return NULL;
}

/* Has @cfg any sample at S, N? */
static bool has_config(const struct report *r, long size, long n, unsigned int cfg)
{
	size_t i = lower_bound(r, size, n, cfg, 0);

	return i < r->nr_cells && r->cells[i].size == size && r->cells[i].n == n &&
	       r->cells[i].cfg == cfg;
}

/* Has any config a sample at S, N? */
static bool has_point(const struct report *r, long size, long n)
{
	size_t i = lower_bound(r, size, n, 0, 0);

	return i < r->nr_cells && r->cells[i].size == size && r->cells[i].n == n;
}

bool report_pick(const struct report *r, long *size, long *n)
{
	for (size_t i = r->nr_ns; i-- > 0;) {
		for (size_t j = r->nr_sizes; j-- > 0;) {
			bool all = true;

			for (size_t c = 0; c < r->configs.n && all; c++)
				all = has_config(r, r->sizes[j], r->ns[i], c);
			if (all) {
				*size = r->sizes[j];
				*n = r->ns[i];
				return true;
			}
		}
	}
	return false;
}

/* --- writing --------------------------------------------------------- */

static const char *metric_label(const struct report *r, unsigned int m)
{
	return m < NR_KNOWN_METRICS ? known_metrics[m].label : r->metrics.v[m];
}

static const char *metric_unit(unsigned int m)
{
	return m < NR_KNOWN_METRICS ? known_metrics[m].unit : NULL;
}

/* Three significant digits, but from 100 on the integer in full. */
static void fmt_num(char *buf, size_t len, double v)
{
	if (v == 0)
		v = 0;	/* not "-0" */
	snprintf(buf, len, fabs(v) >= 100 ? "%.0f" : "%.3g", v);
}

/* "median (min–max)", the range only when there is one. */
static void fmt_cell(char *buf, size_t len, const struct report_cell *c)
{
	char med[32], lo[32], hi[32];

	if (!c) {
		snprintf(buf, len, "n/a");
		return;
	}
	fmt_num(med, sizeof(med), c->median);
	fmt_num(lo, sizeof(lo), c->min);
	fmt_num(hi, sizeof(hi), c->max);
	if (strcmp(lo, hi))
		snprintf(buf, len, "%s (%s–%s)", med, lo, hi);
	else
		snprintf(buf, len, "%s", med);
}

/* "768012 KiB", or the bare count. */
static void fmt_quantity(char *buf, size_t len, double v, const char *unit)
{
	char num[32];

	fmt_num(num, sizeof(num), v);
	snprintf(buf, len, "%s%s%s", num, unit ? " " : "", unit ? unit : "");
}

static void summary_header(const struct report *r, FILE *f)
{
	fputs("# mshare benchmark\n\n", f);
	for (int i = 0; i < REPORT_META_KEYS; i++)
		if (r->meta[i])
			fprintf(f, "- %s: %s\n", report_meta_keys[i], r->meta[i]);
	fputs("- configurations:", f);
	for (size_t c = 0; c < r->configs.n; c++)
		fprintf(f, "%s %s", c ? "," : "", r->configs.v[c]);
	fputs("\n\nS is the size each process touches, N the number of processes.\n"
	      "Each cell is the median over the repetitions, with the lowest and\n"
	      "highest in parentheses when they differ; n/a: not measured. A\n"
	      "metric measured for no configuration at an S and N has no row.\n", f);
}

static void summary_table(const struct report *r, long size, long n, FILE *f)
{
	fprintf(f, "\n## S = %ld MiB, N = %ld\n\n| metric |", size, n);
	for (size_t c = 0; c < r->configs.n; c++)
		fprintf(f, " %s |", r->configs.v[c]);
	fputs("\n| :-- |", f);
	for (size_t c = 0; c < r->configs.n; c++)
		fputs(" --: |", f);
	fputc('\n', f);

	for (size_t m = 0; m < r->metrics.n; m++) {
		const char *unit = metric_unit(m);
		bool any = false;

		for (size_t c = 0; c < r->configs.n && !any; c++)
			any = report_cell(r, size, n, c, m);
		if (!any)
			continue;
		fprintf(f, "| %s", metric_label(r, m));
		if (unit)
			fprintf(f, " (%s)", unit);
		fputs(" |", f);
		for (size_t c = 0; c < r->configs.n; c++) {
			char cell[128];

			fmt_cell(cell, sizeof(cell), report_cell(r, size, n, c, m));
			fprintf(f, " %s |", cell);
		}
		fputc('\n', f);
	}
}

/* One line: how @ms (mshare) does against @bs (the baseline) on one metric. */
static void ratio_line(const struct report *r, long size, long n, int bs, int ms,
		       unsigned int which, FILE *f)
{
	const char *name = ratio_metrics[which].metric;
	int m = report_metric(r, name);
	const char *unit = m >= 0 ? metric_unit(m) : NULL;
	const struct report_cell *b = NULL, *s = NULL;
	char bq[64], sq[64], times[32];
	double ratio;

	if (m >= 0) {
		b = report_cell(r, size, n, bs, m);
		s = report_cell(r, size, n, ms, m);
	}
	fprintf(f, "- %s: ", ratio_metrics[which].what);
	if (!b || !s) {
		fprintf(f, "n/a (no %s for %s)\n", name,
			!b ? r->configs.v[bs] : r->configs.v[ms]);
		return;
	}
	fmt_quantity(bq, sizeof(bq), b->median, unit);
	fmt_quantity(sq, sizeof(sq), s->median, unit);
	if (b->median <= 0 || s->median <= 0) {
		/* no meaningful ratio: the plain values */
		fprintf(f, "%s %s vs %s for %s\n", r->configs.v[bs], bq, sq, r->configs.v[ms]);
		return;
	}
	if (b->median == s->median) {
		fprintf(f, "the same (%s %s, %s %s)\n", r->configs.v[bs], bq,
			r->configs.v[ms], sq);
		return;
	}
	ratio = b->median > s->median ? b->median / s->median : s->median / b->median;
	snprintf(times, sizeof(times), ratio >= 100 ? "%.0f" : ratio >= 10 ? "%.1f" : "%.2f",
		 ratio);
	fprintf(f, "%s times %s (%s %s, %s %s)\n", times,
		b->median > s->median ? ratio_metrics[which].better : ratio_metrics[which].worse,
		r->configs.v[bs], bq, r->configs.v[ms], sq);
}

static void summary_ratios(const struct report *r, FILE *f)
{
	long size, n;

	fputs("\n## Ratios\n\n", f);
	if (!report_pick(r, &size, &n)) {
		fputs("There is no S and N at which every configuration ran.\n", f);
		return;
	}
	fprintf(f, "At S = %ld MiB and N = %ld: the largest N at which every configuration\n"
		"ran, and there the largest S. Medians; \"X times less\" is the baseline's\n"
		"value over mshare's.\n", size, n);

	for (size_t i = 0; i < ARRAY_SIZE(ratio_mshare); i++) {
		int ms = report_config(r, ratio_mshare[i]);

		for (size_t j = 0; j < ARRAY_SIZE(ratio_baseline); j++) {
			int bs = report_config(r, ratio_baseline[j]);

			fprintf(f, "\n### %s against %s\n\n", ratio_mshare[i], ratio_baseline[j]);
			if (ms < 0 || bs < 0) {
				fprintf(f, "%s is not in the data.\n",
					ms < 0 ? ratio_mshare[i] : ratio_baseline[j]);
				continue;
			}
			for (unsigned int k = 0; k < ARRAY_SIZE(ratio_metrics); k++)
				ratio_line(r, size, n, bs, ms, k, f);
		}
	}
}

void report_summary(const struct report *r, FILE *f)
{
	summary_header(r, f);
	/* cells are sorted by S then N: each new pair is a table */
	for (size_t i = 0; i < r->nr_cells; i++) {
		const struct report_cell *c = &r->cells[i];

		if (!i || c->size != c[-1].size || c->n != c[-1].n)
			summary_table(r, c->size, c->n, f);
	}
	summary_ratios(r, f);
}

static void config_list(const struct report *r, FILE *f)
{
	for (size_t c = 0; c < r->configs.n; c++)
		fprintf(f, "%s%s", c ? " " : "", r->configs.v[c]);
}

void report_dat(const struct report *r, unsigned int metric, FILE *f)
{
	const char *unit = metric_unit(metric);

	fprintf(f, "# %s: %s", r->metrics.v[metric], metric_label(r, metric));
	if (unit)
		fprintf(f, " (%s)", unit);
	fputs(", medians; one block per S (gnuplot index)\n# N ", f);
	config_list(r, f);
	fputc('\n', f);

	for (size_t i = 0; i < r->nr_sizes; i++) {
		long size = r->sizes[i];

		fprintf(f, "%s# S=%ld MiB\n", i ? "\n\n" : "", size);
		for (size_t j = 0; j < r->nr_ns; j++) {
			long n = r->ns[j];

			if (!has_point(r, size, n))
				continue;
			fprintf(f, "%ld", n);
			for (size_t c = 0; c < r->configs.n; c++) {
				const struct report_cell *cell = report_cell(r, size, n, c, metric);

				if (cell)
					fprintf(f, " %.10g", cell->median);
				else
					fputs(" NaN", f);
			}
			fputc('\n', f);
		}
	}
}

static void long_list(const long *v, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%ld", i ? " " : "", v[i]);
}

void report_plotvars(const struct report *r, FILE *f)
{
	fputs("# Written by bench-report: what bench/plot.gp draws from this directory.\n"
	      "configs = \"", f);
	config_list(r, f);
	fputs("\"\nsizes = \"", f);
	long_list(r->sizes, r->nr_sizes, f);
	fputs("\"\nns = \"", f);
	long_list(r->ns, r->nr_ns, f);
	fputs("\"\n# the smallest positive and the largest median; 0: none\n", f);
	for (int i = 0; i < REPORT_DAT_METRICS; i++) {
		int m = report_metric(r, report_dat_metrics[i]);
		double lo = 0, hi = 0;

		for (size_t k = 0; m >= 0 && k < r->nr_cells; k++) {
			double v = r->cells[k].median;

			if (r->cells[k].metric != (unsigned int)m)
				continue;
			if (v > 0 && (!lo || v < lo))
				lo = v;
			if (v > hi)
				hi = v;
		}
		fprintf(f, "%s_min = %.10g\n%s_max = %.10g\n", report_dat_metrics[i], lo,
			report_dat_metrics[i], hi);
	}
}

/* Write @dir/@name with @fn. */
static int write_file(const struct report *r, const char *dir, const char *name,
		      void (*fn)(const struct report *, FILE *), int metric,
		      char *err, size_t errlen)
{
	char path[4096];
	FILE *f;
	int bad;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return fail(err, errlen, "%s/%s: path too long", dir, name);
	f = fopen(path, "w");
	if (!f)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if (fn)
		fn(r, f);
	else
		report_dat(r, metric, f);
	bad = ferror(f);
	if (fclose(f) || bad)
		return fail(err, errlen, "%s: write error", path);
	return 0;
}

int report_write(const struct report *r, const char *outdir, char *err, size_t errlen)
{
	if (mkdir(outdir, 0777) && errno != EEXIST)
		return fail(err, errlen, "%s: %s", outdir, strerror(errno));
	if (write_file(r, outdir, "summary.md", report_summary, -1, err, errlen) ||
	    write_file(r, outdir, "plotvars.gp", report_plotvars, -1, err, errlen))
		return -1;
	for (int i = 0; i < REPORT_DAT_METRICS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%s.dat", report_dat_metrics[i]);
		if (write_file(r, outdir, name, NULL, report_metric(r, report_dat_metrics[i]),
			       err, errlen))
			return -1;
	}
	return 0;
}
