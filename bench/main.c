// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-bench: what sharing page tables buys, against MAP_SHARED memfd
 * pages and hugetlbfs with PMD sharing, measured side by side in one run.
 *
 * For each touched size S, each process count N and each repetition, it
 * measures every configuration in turn (the baseline first, so that any
 * drift of the machine falls on all of them alike) and writes one CSV
 * row per figure: the raw samples. bench-report turns them into medians,
 * tables and plots. Progress goes to stderr.
 *
 * Needs root: hugetlbfs is mounted here, PageTables is made exact through
 * /proc/sys/vm/stat_refresh, and msharefs regions are made in its mount.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "hugepage.h"
#include "meminfo.h"
#include "size.h"

#define MAX_LIST	16

/* A touched size, and the most processes it is measured with. */
struct size_spec {
	uint64_t bytes;
	unsigned long max_procs;	/* ULONG_MAX: no limit */
};

struct opts {
	const char *mode;
	unsigned long procs[MAX_LIST];
	unsigned int nprocs;
	struct size_spec sizes[MAX_LIST];
	unsigned int nsizes;
	const struct backend *configs[4];
	unsigned int nconfigs;
	unsigned long reps, writers;
	const char *out, *tmpfs, *hugetlbfs, *mshare, *machine;
	bool mthp_64k;
};

static const struct backend *const all_backends[] = {
	&backend_memfd, &backend_hugetlbfs,
	&backend_mshare_anon, &backend_mshare_tmpfs,
};

static const char usage_text[] =
"usage: mshare-bench [--quick | --full] [OPTIONS]\n"
"\n"
"Measures page-table memory, faults, attach, populate, PROTECT and exit\n"
"times of N processes sharing S bytes, for memfd MAP_SHARED (4 KiB pages,\n"
"no sharing), hugetlbfs (2 MiB pages, PMD sharing), and msharefs regions\n"
"holding anonymous memory or a tmpfs file. Writes a CSV of every sample.\n"
"\n"
"  --quick            N = 1,100,1500; S = 64M (the default)\n"
"  --full             N = 1,10,100,500,1500; S = 64M,256M, and 1G for N <= 100\n"
"  --procs LIST       process counts, e.g. 1,10,100\n"
"  --sizes LIST       touched sizes in whole MiB, e.g. 64M,256M,1G@100 (@N:\n"
"                     only for at most N processes)\n"
"  --reps R           repetitions of each measurement (default 5)\n"
"  --writers K        processes of the N that also attach and write (default 5)\n"
"  --configs LIST     of memfd,hugetlbfs,mshare-anon,mshare-tmpfs (default all)\n"
"  --out FILE         the CSV (default: standard output)\n"
"  --tmpfs DIR        a tmpfs directory for mshare-tmpfs (default /dev/shm)\n"
"  --hugetlbfs DIR    a hugetlbfs mount (default: one mounted for the run)\n"
"  --mshare DIR       the msharefs mount (default: found as libmshare does)\n"
"  --machine TEXT     what it runs on, for the CSV's header\n"
"  --mthp-64k         ask for 64 KiB folios for shared anonymous memory\n"
"                     (hugepages-64kB/shmem_enabled = always) during the run:\n"
"                     arm64 folds them into contiguous-PTE blocks\n"
"\n"
"hugetlbfs needs 512 free 2 MiB pages for each GiB mapped: reserve them at\n"
"boot (hugepages=N; tools/vm-run --hugepages N). Exit status: 0, 1 if a\n"
"measurement failed, 2 for bad usage.\n";

static void __attribute__((noreturn)) usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "mshare-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'mshare-bench --help'.\n");
	exit(2);
}

static unsigned long parse_count(const char *text, const char *what,
				 unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v == 0 || v > max)
		usage_error(what, text);
	return v;
}

/* Split @list at commas into @items (at most MAX_LIST); their count. */
static unsigned int split(char *list, char **items, const char *opt)
{
	unsigned int n = 0;
	char *save, *tok;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_LIST)
			usage_error("too many values for %s", opt);
		items[n++] = tok;
	}
	if (!n)
		usage_error("%s wants a list", opt);
	return n;
}

static void parse_procs(struct opts *o, char *list)
{
	char *items[MAX_LIST];

	o->nprocs = split(list, items, "--procs");
	for (unsigned int i = 0; i < o->nprocs; i++) {
		o->procs[i] = parse_count(items[i],
			"bad process count '%s' (1 to 100000)", 100000);
		for (unsigned int j = 0; j < i; j++)
			if (o->procs[j] == o->procs[i])
				usage_error("process count %s given twice", items[i]);
	}
}

static void parse_sizes(struct opts *o, char *list)
{
	char *items[MAX_LIST];

	o->nsizes = split(list, items, "--sizes");
	for (unsigned int i = 0; i < o->nsizes; i++) {
		char *at = strchr(items[i], '@');
		uint64_t bytes;

		o->sizes[i].max_procs = ULONG_MAX;
		if (at) {
			*at = '\0';
			o->sizes[i].max_procs = parse_count(at + 1,
				"bad process limit '%s' after @", 100000);
		}
		/* Whole MiB: the CSV and the report key on size_mib */
		if (parse_size(items[i], &bytes) || bytes < (1 << 20) ||
		    bytes % (1 << 20) || bytes > (64ULL << 30))
			usage_error("bad size '%s' (1M to 64G, in whole MiB)",
				    items[i]);
		o->sizes[i].bytes = bytes;
		for (unsigned int j = 0; j < i; j++)
			if (o->sizes[j].bytes == bytes)
				usage_error("size %s given twice", items[i]);
	}
}

static void parse_configs(struct opts *o, char *list)
{
	char *items[MAX_LIST];
	unsigned int n = split(list, items, "--configs");

	o->nconfigs = 0;
	for (unsigned int i = 0; i < n; i++) {
		const struct backend *be = NULL;

		for (unsigned int j = 0; j < 4; j++)
			if (!strcmp(items[i], all_backends[j]->name))
				be = all_backends[j];
		if (!be)
			usage_error("unknown configuration '%s' (memfd, hugetlbfs, mshare-anon, mshare-tmpfs)",
				    items[i]);
		for (unsigned int j = 0; j < o->nconfigs; j++)
			if (o->configs[j] == be)
				usage_error("configuration '%s' given twice",
					    items[i]);
		o->configs[o->nconfigs++] = be;
	}
}

static void set_mode(struct opts *o, const char *mode)
{
	char procs_quick[] = "1,100,1500", procs_full[] = "1,10,100,500,1500";
	char sizes_quick[] = "64M", sizes_full[] = "64M,256M,1G@100";
	bool full = !strcmp(mode, "full");

	o->mode = mode;
	parse_procs(o, full ? procs_full : procs_quick);
	parse_sizes(o, full ? sizes_full : sizes_quick);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "full", no_argument, NULL, 'f' },
		{ "procs", required_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "writers", required_argument, NULL, 'w' },
		{ "configs", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "tmpfs", required_argument, NULL, 't' },
		{ "hugetlbfs", required_argument, NULL, 'H' },
		{ "mshare", required_argument, NULL, 'm' },
		{ "machine", required_argument, NULL, 'M' },
		{ "mthp-64k", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char *procs = NULL, *sizes = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	o->reps = 5;
	o->writers = 5;
	o->tmpfs = "/dev/shm";
	o->machine = getenv("MSHARE_BENCH_MACHINE");
	set_mode(o, "quick");
	for (unsigned int i = 0; i < 4; i++)
		o->configs[i] = all_backends[i];
	o->nconfigs = 4;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': set_mode(o, "quick"); break;
		case 'f': set_mode(o, "full"); break;
		case 'n': procs = optarg; break;
		case 's': sizes = optarg; break;
		case 'r':
			o->reps = parse_count(optarg, "bad repetition count '%s' (1 to 1000)", 1000);
			break;
		case 'w':
			o->writers = parse_count(optarg, "bad writer count '%s' (1 to 100000)", 100000);
			break;
		case 'c': parse_configs(o, optarg); break;
		case 'o': o->out = optarg; break;
		case 't': o->tmpfs = optarg; break;
		case 'H': o->hugetlbfs = optarg; break;
		case 'm': o->mshare = optarg; break;
		case 'M': o->machine = optarg; break;
		case 'T': o->mthp_64k = true; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: usage_error("%s", "bad usage");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	/* After the mode, whichever came first on the command line */
	if (procs) {
		o->mode = "custom";
		parse_procs(o, procs);
	}
	if (sizes) {
		o->mode = "custom";
		parse_sizes(o, sizes);
	}
}

#define SHMEM_64K "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/shmem_enabled"

/* The selected word of SHMEM_64K ("always [never] ..."): 0 or -1. */
static int mthp_get(char *out, size_t len)
{
	char line[256], *a, *b;
	FILE *f = fopen(SHMEM_64K, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	a = ok ? strchr(line, '[') : NULL;
	b = a ? strchr(a, ']') : NULL;
	if (!b || (size_t)(b - a) > len)
		return -1;
	memcpy(out, a + 1, b - a - 1);
	out[b - a - 1] = 0;
	return 0;
}

static int mthp_set(const char *val)
{
	FILE *f = fopen(SHMEM_64K, "w");
	int err;

	if (!f)
		return -1;
	err = fputs(val, f) < 0;
	return (fclose(f) || err) ? -1 : 0;
}

static bool uses(const struct opts *o, const struct backend *be)
{
	for (unsigned int i = 0; i < o->nconfigs; i++)
		if (o->configs[i] == be)
			return true;
	return false;
}

/* The largest hugetlbfs mapping the sweep makes, in bytes. */
static uint64_t hugetlb_need(const struct opts *o)
{
	uint64_t need = 0;

	for (unsigned int i = 0; i < o->nsizes; i++) {
		uint64_t len = (o->sizes[i].bytes + BENCH_GIB - 1) & ~(BENCH_GIB - 1);

		if (len > need)
			need = len;
	}
	return need;
}

/* Mount a hugetlbfs of our own unless one was given; 0 or -1. */
static int setup_hugetlbfs(struct opts *o, char *dir, size_t len)
{
	uint64_t hpage = default_hugepage_size(), need = hugetlb_need(o);
	long free_pages = meminfo_kb("HugePages_Free");
	long rsvd = meminfo_kb("HugePages_Rsvd");
	struct statfs st;

	if (hpage != 2UL << 20) {
		fprintf(stderr, "mshare-bench: hugetlbfs: the default huge page size is %" PRIu64 " kB, not 2 MiB\n",
			hpage >> 10);
		return -1;
	}
	/* Free counts pages that mappings have reserved but not used */
	if (free_pages >= 0 && rsvd > 0)
		free_pages -= rsvd;
	if (free_pages < 0 || (uint64_t)free_pages * hpage < need) {
		fprintf(stderr, "mshare-bench: hugetlbfs: %" PRIu64 " free 2 MiB pages are needed, %ld are free: reserve them at boot (hugepages=%" PRIu64 "; tools/vm-run --hugepages %" PRIu64 ")\n",
			need / hpage, free_pages < 0 ? 0 : free_pages,
			need / hpage, need / hpage);
		return -1;
	}
	if (o->hugetlbfs) {
		if (statfs(o->hugetlbfs, &st) || st.f_type != HUGETLBFS_MAGIC ||
		    (uint64_t)st.f_bsize != hpage) {
			fprintf(stderr, "mshare-bench: %s is not a hugetlbfs mount of 2 MiB pages\n",
				o->hugetlbfs);
			return -1;
		}
		return 0;
	}
	snprintf(dir, len, "/tmp/mshare-bench-hugetlbfs.XXXXXX");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mshare-bench: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	if (mount("none", dir, "hugetlbfs", 0, "pagesize=2M")) {
		fprintf(stderr, "mshare-bench: cannot mount hugetlbfs on %s: %s\n",
			dir, strerror(errno));
		rmdir(dir);
		return -1;
	}
	o->hugetlbfs = dir;
	return 1;
}

static void write_header(FILE *f, const struct opts *o)
{
	char date[64];
	struct utsname u;
	time_t t = time(NULL);

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	fprintf(f, "# mshare-bench samples\n");
	fprintf(f, "# machine: %s\n", o->machine ? o->machine : "unknown");
	fprintf(f, "# kernel: %s %s %s\n", u.sysname, u.release, u.machine);
	fprintf(f, "# date: %s\n", date);
	fprintf(f, "# mode: %s\n", o->mode);
	fprintf(f, "# cpus: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "# memory: %ld MiB\n", meminfo_kb("MemTotal") / 1024);
	fprintf(f, "# reps: %lu\n", o->reps);
	fprintf(f, "# writers: %lu (all N where N is fewer)\n", o->writers);
	fprintf(f, "# shmem 64 KiB folios: %s\n",
		o->mthp_64k ? "always (--mthp-64k)" : "as the kernel had them");
	fprintf(f, "config,n,size_mib,rep,metric,value\n");
	fflush(f);
}

static void write_rows(FILE *f, const struct backend *be, unsigned long n,
		       uint64_t size, unsigned long rep, const struct result *r)
{
	const struct { const char *name; double v; } m[] = {
		{ "populate_s", r->populate_s },
		{ "pt_region_kib", r->pt_region_kib },
		{ "pt_total_kib", r->pt_total_kib },
		{ "pt_all_kib", r->pt_region_kib + r->pt_total_kib },
		{ "pt_per_proc_b", r->pt_total_kib * 1024 / n },
		{ "read_faults", r->read_faults },
		{ "write_faults", r->write_faults },
		{ "attach_read_ms", r->attach_read_ms },
		{ "attach_write_ms", r->attach_write_ms },
		{ "exit_s", r->exit_s },
		{ "protect_ms", r->protect_ms },
		{ "protect_flushes", r->protect_flushes },
		{ "populate_flushes", r->populate_flushes },
		{ "folded_pct", r->folded_pct },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		/* msharefs's own figures: < 0 for the others */
		if (m[i].v < 0)
			continue;
		fprintf(f, "%s,%lu,%" PRIu64 ",%lu,%s,%.6g\n", be->name, n,
			size >> 20, rep, m[i].name, m[i].v);
	}
	fflush(f);
}

static int run(const struct opts *o, FILE *out)
{
	double start = now_s();

	write_header(out, o);
	for (unsigned int si = 0; si < o->nsizes; si++) {
		const struct size_spec *s = &o->sizes[si];

		for (unsigned int ni = 0; ni < o->nprocs; ni++) {
			unsigned long n = o->procs[ni];

			if (n > s->max_procs)
				continue;
			for (unsigned long rep = 0; rep < o->reps; rep++) {
				for (unsigned int ci = 0; ci < o->nconfigs; ci++) {
					const struct backend *be = o->configs[ci];
					struct backend_ctx b = {
						.size = s->bytes,
						.fd = -1,
						.tmpfs_dir = o->tmpfs,
						.hugetlbfs_dir = o->hugetlbfs,
						.mshare_dir = o->mshare,
					};
					double t0 = now_s();
					struct result r;

					if (measure(be, &b, n, o->writers, &r)) {
						fprintf(stderr, "mshare-bench: %s N=%lu S=%" PRIu64 " MiB rep %lu failed\n",
							be->name, n, s->bytes >> 20, rep + 1);
						return -1;
					}
					write_rows(out, be, n, s->bytes, rep, &r);
					fprintf(stderr, "%-12s N=%-4lu S=%4" PRIu64 " MiB rep %lu/%lu: PageTables %+8.0f KiB, faults r %.0f w %.0f, attach+read %.2f ms, +write %.2f ms, exit %.2f s (%.0f s) [%.0f s]\n",
						be->name, n, s->bytes >> 20, rep + 1, o->reps,
						r.pt_total_kib, r.read_faults, r.write_faults,
						r.attach_read_ms, r.attach_write_ms, r.exit_s,
						now_s() - t0, now_s() - start);
				}
			}
		}
	}
	fprintf(stderr, "mshare-bench: done in %.0f s\n", now_s() - start);
	return 0;
}

int main(int argc, char **argv)
{
	char mshare_dir[PATH_MAX], huge_dir[PATH_MAX], mthp_saved[32];
	int mounted = 0, ret;
	struct opts o;
	FILE *out = stdout;

	parse_opts(&o, argc, argv);
	if (geteuid() != 0) {
		fprintf(stderr, "mshare-bench: run it as root (hugetlbfs mount, exact PageTables)\n");
		return 1;
	}
	if (uses(&o, &backend_mshare_anon) || uses(&o, &backend_mshare_tmpfs)) {
		ret = mshare_find_mount(o.mshare, mshare_dir, sizeof(mshare_dir));
		if (ret) {
			fprintf(stderr, "mshare-bench: no msharefs mount%s%s: %s\n",
				o.mshare ? " at " : "", o.mshare ? o.mshare : "",
				strerror(-ret));
			return 1;
		}
		o.mshare = mshare_dir;
	}
	if (o.mthp_64k) {
		if (mthp_get(mthp_saved, sizeof(mthp_saved)) || mthp_set("always")) {
			fprintf(stderr, "mshare-bench: cannot ask for 64 KiB shmem folios in %s: %s\n",
				SHMEM_64K, strerror(errno));
			return 1;
		}
	}
	if (uses(&o, &backend_hugetlbfs)) {
		mounted = setup_hugetlbfs(&o, huge_dir, sizeof(huge_dir));
		if (mounted < 0) {
			if (o.mthp_64k)
				mthp_set(mthp_saved);
			return 1;
		}
	}
	if (o.out && !(out = fopen(o.out, "w"))) {
		fprintf(stderr, "mshare-bench: %s: %s\n", o.out, strerror(errno));
		ret = -1;
	} else {
		ret = run(&o, out);
		if (fflush(out) || ferror(out)) {
			fprintf(stderr, "mshare-bench: writing %s failed\n",
				o.out ? o.out : "standard output");
			ret = -1;
		}
		if (out != stdout && fclose(out)) {
			fprintf(stderr, "mshare-bench: %s: %s\n", o.out,
				strerror(errno));
			ret = -1;
		}
	}
	if (mounted > 0) {
		umount(huge_dir);
		rmdir(huge_dir);
	}
	if (o.mthp_64k && mthp_set(mthp_saved))
		fprintf(stderr, "mshare-bench: cannot restore %s to %s\n", SHMEM_64K,
			mthp_saved);
	return ret ? 1 : 0;
}
