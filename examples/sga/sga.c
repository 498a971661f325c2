// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sga: a database-like demo of msharefs. A coordinator creates an SGA
 * (the shared memory of a database instance) and W worker processes use
 * it as database server processes do: every worker reads all of it (the
 * buffer cache is shared by all) and writes its own slice. The same run
 * does it twice, side by side: on an msharefs region, whose page tables
 * every worker shares, and on a memfd mapped MAP_SHARED, where each
 * worker builds its own (about SGA / 512 bytes of them). It prints what
 * each costs: page-table memory, faults, attach-and-touch time, start and
 * exit times.
 *
 *	sga [--size BYTES] [--workers W] [--mode mshare|memfd|both]
 *	    [--stride BYTES] [--fork] [--name NAME] [--json]
 *
 * Workers are exec'd (posix_spawn of sga-worker, found next to sga or
 * named by $SGA_WORKER) and attach the region by name as unrelated
 * processes would; the memfd, which has no name, is inherited as an fd.
 * With --fork they are forked instead and inherit the mapping.
 *
 * PageTables (/proc/meminfo) is read before the workers start, once all
 * are up but none has attached (what the processes themselves cost, to be
 * subtracted: DESIGN §6 asks for the same processes not attaching), and
 * once all are attached and touched. Every read and write checksum, and
 * every word of the SGA afterwards, is verified: any mismatch fails the
 * run (exit 1). Bad options exit 2.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord.h"
#include "size.h"

#define MiB		(1024ULL * 1024)
#define MAX_WORKERS	30000U	/* below the default pid_max, with room */
#define PAGE		4096U

static const char usage_text[] =
"usage: sga [OPTIONS]\n"
"\n"
"A database-like demo: W worker processes share an SGA, each reading all\n"
"of it and writing its own slice, on an msharefs region and on a memfd\n"
"(MAP_SHARED), side by side; prints page-table memory, faults, attach and\n"
"touch times, start and exit times of each.\n"
"\n"
"  -s, --size BYTES     SGA size (default 256M); K, M, G, T suffixes\n"
"                       (binary), a multiple of 4096, at least 64 bytes a worker\n"
"  -w, --workers W      worker processes (default 1500, at most 30000)\n"
"  -m, --mode MODE      mshare, memfd or both (default both)\n"
"      --stride BYTES   a worker reads one 8-byte word every BYTES bytes of\n"
"                       the SGA (default 4096: one load a page; 8 to 4096, a\n"
"                       multiple of 8). Denser reads cost time, emulated\n"
"                       time above all, but change neither the page tables\n"
"                       nor the faults: every page is touched either way\n"
"      --fork           fork the workers (they inherit the mapping) instead\n"
"                       of exec'ing sga-worker to attach by name\n"
"  -n, --name NAME      region name (default sga.PID), relative to the\n"
"                       msharefs mount or absolute\n"
"      --json           print the figures as one JSON object\n"
"  -h, --help           this help\n"
"\n"
"Runs as a user that may create regions and read /proc/meminfo; run as\n"
"root for exact PageTables (it flushes the per-CPU counters). Exit status:\n"
"0 verified, 1 a failure (a checksum, a worker, the system), 2 bad usage.\n"
"The sga-worker binary is found next to sga, or is $SGA_WORKER.\n";

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sga: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'sga --help'.\n", stderr);
	exit(2);
}

static int parse_uint(const char *s, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

#ifndef MFD_EXEC
#define MFD_EXEC	0x0010U
#endif

/*
 * Copy the worker into a memfd and exec it from there, as
 * /proc/self/fd/N: in the VM the build tree is a 9p mount that caches no
 * names, and every exec from it walks the whole path on the host, which
 * costs more than the rest of the exec. The memfd's pages are shared by
 * every worker, as the file's would be. On any failure, the file is used.
 */
static void worker_memfd(struct opts *o)
{
	struct stat st;
	int in, fd;
	off_t off = 0;

	snprintf(o->exec, sizeof(o->exec), "%s", o->worker);
	in = open(o->worker, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return;
	/* MFD_EXEC: say so, where kernels ask, as executables are meant to */
	fd = memfd_create("sga-worker", MFD_CLOEXEC | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("sga-worker", MFD_CLOEXEC);
	if (fd >= 0 && !fstat(in, &st)) {
		while (off < st.st_size)
			if (sendfile(fd, in, &off, st.st_size - off) <= 0)
				break;
		if (off == st.st_size)
			snprintf(o->exec, sizeof(o->exec), "/proc/self/fd/%d", fd);
	}
	close(in);
	if (fd >= 0 && off != st.st_size)
		close(fd);
}

/* sga-worker: $SGA_WORKER, or next to this program. */
static int find_worker(struct opts *o)
{
	const char *env = getenv("SGA_WORKER");
	char self[PATH_MAX];
	ssize_t len;

	if (env && *env) {
		snprintf(o->worker, sizeof(o->worker), "%s", env);
	} else {
		len = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (len <= 0) {
			fprintf(stderr, "sga: cannot read /proc/self/exe: %s\n",
				strerror(errno));
			return -1;
		}
		self[len] = '\0';
		snprintf(o->worker, sizeof(o->worker), "%s/sga-worker",
			 dirname(self));
	}
	if (access(o->worker, X_OK)) {
		fprintf(stderr, "sga: cannot run the worker %s: %s (set SGA_WORKER)\n",
			o->worker, strerror(errno));
		return -1;
	}
	worker_memfd(o);
	return 0;
}

static void parse_options(int argc, char **argv, struct opts *o,
			  const char **name)
{
	enum { OPT_STRIDE = 256, OPT_FORK, OPT_JSON };
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "mode", required_argument, NULL, 'm' },
		{ "stride", required_argument, NULL, OPT_STRIDE },
		{ "fork", no_argument, NULL, OPT_FORK },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	o->size = 256 * MiB;
	o->workers = 1500;
	o->stride = PAGE;
	o->mshare = o->memfd = true;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:w:m:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &o->size))
				usage_error("bad --size '%s': a number of bytes, with K, M, G or T if you like",
					    optarg);
			break;
		case 'w':
			if (parse_uint(optarg, &v) || !v || v > MAX_WORKERS)
				usage_error("bad --workers '%s': a number from 1 to %u",
					    optarg, MAX_WORKERS);
			o->workers = v;
			break;
		case 'm':
			o->mshare = !strcmp(optarg, "mshare") || !strcmp(optarg, "both");
			o->memfd = !strcmp(optarg, "memfd") || !strcmp(optarg, "both");
			if (!o->mshare && !o->memfd)
				usage_error("bad --mode '%s': mshare, memfd or both",
					    optarg);
			break;
		case OPT_STRIDE:
			if (parse_size(optarg, &v) || v < 8 || v > PAGE || v % 8)
				usage_error("bad --stride '%s': 8 to 4096 bytes, a multiple of 8",
					    optarg);
			o->stride = v;
			break;
		case OPT_FORK:
			o->fork = true;
			break;
		case 'n':
			if (!*optarg)
				usage_error("--name wants a region name");
			*name = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->size || o->size % PAGE)
		usage_error("--size %" PRIu64 " is not a multiple of the page size (4096)",
			    o->size);
	if (o->size > (1ULL << 40))
		usage_error("--size %" PRIu64 " is more than 1 TiB", o->size);
	if (sga_slice(o->size, o->workers) < 64)
		usage_error("--size %" PRIu64 " leaves less than 64 bytes to each of %" PRIu32
			    " workers: give at least %" PRIu64 " bytes",
			    o->size, o->workers,
			    ((uint64_t)o->workers * 64 + PAGE - 1) / PAGE * PAGE);
}

/* The region's absolute path from --name (or sga.PID). */
static int region_path(struct opts *o, const char *name)
{
	char mnt[PATH_MAX], def[32];
	int err;

	if (!name) {
		snprintf(def, sizeof(def), "sga.%d", (int)getpid());
		name = def;
	}
	if (name[0] == '/') {
		snprintf(o->region, sizeof(o->region), "%s", name);
		return 0;
	}
	err = mshare_find_mount(NULL, mnt, sizeof(mnt));
	if (err) {
		fprintf(stderr, "sga: no msharefs mount found (%s): mount it with 'mount -t msharefs none /sys/fs/mshare', or run --mode memfd\n",
			strerror(-err));
		return -1;
	}
	if ((size_t)snprintf(o->region, sizeof(o->region), "%s/%s", mnt, name) >=
	    sizeof(o->region)) {
		fprintf(stderr, "sga: region name too long\n");
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	phase_emergency_unlink();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* --- output ------------------------------------------------------------ */

/* @b bytes in IEC units, with a sign if @sign. */
static const char *fmt_bytes(char *buf, size_t len, double b, bool sign)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double a = fabs(b);
	int u = -1;

	while (a >= 1024 && u < 3) {
		a /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, sign ? "%+.0f B" : "%.0f B", b);
	else
		snprintf(buf, len, "%s%.1f %s", b < 0 ? "-" : sign ? "+" : "",
			 a, unit[u]);
	return buf;
}

struct row {
	const char *label;
	double v[2];		/* mshare, memfd */
	enum { BYTES, SBYTES, COUNT, MEAN, MS, SEC } kind;
};

static const char *fmt_value(char *buf, size_t len, double v, int kind)
{
	switch (kind) {
	case BYTES:
		return fmt_bytes(buf, len, v, false);
	case SBYTES:
		return fmt_bytes(buf, len, v, true);
	case COUNT:
		snprintf(buf, len, "%.0f", v);
		break;
	case MEAN:
		snprintf(buf, len, "%.2f", v);
		break;
	case MS:
		snprintf(buf, len, "%.2f ms", v);
		break;
	default:
		snprintf(buf, len, "%.2f s", v);
		break;
	}
	return buf;
}

/* memfd / mshare: how many times the baseline's figure mshare's is. */
static const char *fmt_ratio(char *buf, size_t len, double mshare, double memfd)
{
	if (mshare <= 0 || memfd <= 0)
		snprintf(buf, len, "n/a");
	else if (memfd / mshare >= 100)
		snprintf(buf, len, "%.0fx", memfd / mshare);
	else
		snprintf(buf, len, "%.2fx", memfd / mshare);
	return buf;
}

/* PageTables added by the workers, up but not attached, and by attaching. */
static double pt_up(const struct phase *ph)
{
	return (ph->pt_up_kb - ph->pt_before_kb) * 1024.0;
}

static double pt_sga(const struct phase *ph)
{
	return (ph->pt_after_kb - ph->pt_up_kb) * 1024.0;
}

/* The SGA's page tables in the whole system: the creator's and the workers'. */
static double pt_all(const struct phase *ph)
{
	return ph->pt_setup_kb * 1024.0 + pt_sga(ph);
}

static void print_table(const struct opts *o, const struct phase *msh,
			const struct phase *mfd)
{
	const struct phase *col[2];
	double w = o->workers;
	struct row rows[] = {
		{ "PageTables: workers up, not attached", { 0 }, SBYTES },
		{ "PageTables: then attached, touched", { 0 }, SBYTES },
		{ "  the same, a worker", { 0 }, SBYTES },
		{ "PageTables: the coordinator's SGA", { 0 }, SBYTES },
		{ "SGA page tables in all, a worker", { 0 }, SBYTES },
		{ "faults a worker, read + write, mean", { 0 }, MEAN },
		{ "faults a worker, read + write, max", { 0 }, COUNT },
		{ "faults a worker, attach, max", { 0 }, COUNT },
		{ "attach + touch a worker, CPU, mean", { 0 }, MS },
		{ "attach + touch a worker, CPU, max", { 0 }, MS },
		{ "start: first start to all up", { 0 }, SEC },
		{ "attach + touch: all workers", { 0 }, SEC },
		{ "exit: told to exit to all reaped", { 0 }, SEC },
		{ "coordinator: create, populate, fill", { 0 }, SEC },
	};
	char v[2][32], r[32], tmp[32];
	int n = 0;

	if (o->mshare)
		col[n++] = msh;
	if (o->memfd)
		col[n++] = mfd;
	for (int c = 0; c < n; c++) {
		const struct phase *ph = col[c];

		rows[0].v[c] = pt_up(ph);
		rows[1].v[c] = pt_sga(ph);
		rows[2].v[c] = pt_sga(ph) / w;
		rows[3].v[c] = ph->pt_setup_kb * 1024.0;
		rows[4].v[c] = pt_all(ph) / w;
		rows[5].v[c] = ph->flt.mean;
		rows[6].v[c] = ph->flt.max;
		rows[7].v[c] = ph->attach_flt.max;
		rows[8].v[c] = ph->cpu_ns.mean / 1e6;
		rows[9].v[c] = ph->cpu_ns.max / 1e6;
		rows[10].v[c] = ph->t_up;
		rows[11].v[c] = ph->t_touch;
		rows[12].v[c] = ph->t_exit;
		rows[13].v[c] = ph->t_setup;
	}

	printf("SGA %s, %" PRIu32 " workers %s,\n"
	       "each reading all of it (8 bytes every %" PRIu64 ") and writing %s of it; %ld CPUs\n\n",
	       fmt_bytes(tmp, sizeof(tmp), o->size, false), o->workers,
	       o->fork ? "forked (inheriting the mapping)" :
			 "exec'd (attaching by name)",
	       o->stride, fmt_bytes(r, sizeof(r), sga_slice(o->size, o->workers), false),
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-38s", "");
	for (int c = 0; c < n; c++)
		printf(" %12s", col[c]->name);
	printf(n == 2 ? " %14s\n" : "%s\n", n == 2 ? "memfd/mshare" : "");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		printf("%-38s", rows[i].label);
		for (int c = 0; c < n; c++)
			printf(" %12s", fmt_value(v[c], sizeof(v[c]), rows[i].v[c],
						  rows[i].kind));
		if (n == 2)
			printf(" %14s", fmt_ratio(r, sizeof(r), rows[i].v[0],
						  rows[i].v[1]));
		printf("\n");
	}

	printf("\nPageTables is /proc/meminfo's: its growth from before the workers start\n"
	       "until all %" PRIu32 " are up (started, their code mapped in), which is\n"
	       "what the processes cost by themselves; then its growth while they\n"
	       "attach and touch the SGA, which is what the SGA's page tables cost.\n"
	       "The coordinator's are its growth while it makes, populates and fills\n"
	       "the SGA; \"in all\" adds them to the workers' and divides by %" PRIu32 ".\n",
	       o->workers, o->workers);
	if (o->mshare && msh->have_stats)
		printf("The region's page tables are %s (MSHAREFS_GET_STATS), made once\n"
		       "and shared by all %" PRIu64 " attaches.\n",
		       fmt_bytes(tmp, sizeof(tmp), msh->stats.pgtable_bytes, false),
		       (uint64_t)msh->stats.nr_attached);
	printf("Faults are getrusage() deltas around each touch loop (reading the SGA,\n"
	       "writing the slice), the attach's apart. A worker's time is the CPU time\n"
	       "of its attach and both loops: all workers attach at once, so their wall\n"
	       "times mostly measure waiting for a CPU (the JSON output has them).\n");
	printf("Verified: %" PRIu32 " read and %" PRIu32 " write checksums, and every word of\n"
	       "the SGA afterwards, in %s.\n", o->workers, o->workers,
	       n == 2 ? "both modes" : "this mode");
}

static void json_phase(const struct phase *ph, const struct opts *o)
{
	printf(",\n  \"%s\": {\"pagetables_up_bytes\": %.0f, \"sga_pagetables_bytes\": %.0f, "
	       "\"pagetables_per_worker_bytes\": %.0f, \"creator_pagetables_bytes\": %.0f, "
	       "\"all_pagetables_per_worker_bytes\": %.0f, \"faults_mean\": %.3f, "
	       "\"faults_max\": %" PRId64 ", \"attach_faults_mean\": %.3f, "
	       "\"attach_faults_max\": %" PRId64 ", \"cpu_ms_mean\": %.3f, "
	       "\"cpu_ms_max\": %.3f, \"wall_ms_mean\": %.3f, \"wall_ms_max\": %.3f, "
	       "\"up_s\": %.3f, \"touch_s\": %.3f, \"exit_s\": %.3f, \"setup_s\": %.3f",
	       ph->name, pt_up(ph), pt_sga(ph), pt_sga(ph) / o->workers,
	       ph->pt_setup_kb * 1024.0, pt_all(ph) / o->workers, ph->flt.mean, ph->flt.max, ph->attach_flt.mean,
	       ph->attach_flt.max, ph->cpu_ns.mean / 1e6, ph->cpu_ns.max / 1e6,
	       ph->wall_ns.mean / 1e6, ph->wall_ns.max / 1e6, ph->t_up,
	       ph->t_touch, ph->t_exit, ph->t_setup);
	if (ph->have_stats)
		printf(", \"region_pgtable_bytes\": %" PRIu64 ", \"region_attached\": %" PRIu64,
		       (uint64_t)ph->stats.pgtable_bytes,
		       (uint64_t)ph->stats.nr_attached);
	printf("}");
}

static void print_json(const struct opts *o, const struct phase *msh,
		       const struct phase *mfd)
{
	printf("{\"size\": %" PRIu64 ", \"workers\": %" PRIu32 ", \"stride\": %" PRIu64
	       ", \"slice\": %" PRIu64 ", \"fork\": %s, \"cpus\": %ld",
	       o->size, o->workers, o->stride, sga_slice(o->size, o->workers),
	       o->fork ? "true" : "false", sysconf(_SC_NPROCESSORS_ONLN));
	if (o->mshare)
		json_phase(msh, o);
	if (o->memfd)
		json_phase(mfd, o);
	printf(",\n  \"verified\": true}\n");
}

/* --- main -------------------------------------------------------------- */

static int alloc_phase(struct phase *ph, enum sga_mode mode, const char *name,
		       const struct opts *o)
{
	ph->mode = mode;
	ph->name = name;
	ph->memfd = -1;
	ph->rd = calloc(o->workers, sizeof(*ph->rd));
	ph->wr = calloc(o->workers, sizeof(*ph->wr));
	ph->pids = calloc(o->workers, sizeof(*ph->pids));
	return ph->rd && ph->wr && ph->pids ? 0 : -1;
}

/* Set up, run and tear down one phase; 0 or -1. */
static int run(struct phase *ph, const struct opts *o)
{
	int ret = -1;

	if (!phase_setup(ph, o))
		ret = phase_run(ph, o);
	phase_teardown(ph, o);
	return ret;
}

int main(int argc, char **argv)
{
	struct phase msh = { 0 }, mfd = { 0 };
	const char *name = NULL;
	struct opts o = { 0 };
	char tmp[32];
	int ret = 0;

	parse_options(argc, argv, &o, &name);
	if ((!o.fork && find_worker(&o)) || (o.mshare && region_path(&o, name)))
		return 1;
	if (alloc_phase(&msh, SGA_MSHARE, "mshare", &o) ||
	    alloc_phase(&mfd, SGA_MEMFD, "memfd", &o)) {
		fprintf(stderr, "sga: out of memory\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	fprintf(stderr, "sga: SGA %s, %" PRIu32 " workers, %s%s%s%s%s\n",
		fmt_bytes(tmp, sizeof(tmp), o.size, false), o.workers,
		o.fork ? "forked" : "exec'd: ", o.fork ? "" : o.worker,
		strcmp(o.exec, o.worker) ? " (from a memfd copy)" : "",
		o.mshare ? ", region " : "", o.mshare ? o.region : "");
	/* The baseline first, as in every figure of this project */
	if (o.memfd)
		ret = run(&mfd, &o);
	if (!ret && o.mshare)
		ret = run(&msh, &o);
	if (ret) {
		fprintf(stderr, "sga: FAILED: %u failures (above); no figures\n",
			mfd.errors + msh.errors);
		return 1;
	}
	if (o.json)
		print_json(&o, &msh, &mfd);
	else
		print_table(&o, &msh, &mfd);
	return 0;
}
