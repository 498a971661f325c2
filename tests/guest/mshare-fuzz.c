// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-fuzz: a reproducible, model-checked fuzzer of msharefs regions.
 *
 *   mshare-fuzz [--seed N] [--ops N] [--procs N] [--time S] [-v]...
 *   mshare-fuzz --pattern fill|check|watch|touch PATH OFFSET SIZE SALT
 *					(tools/fuzz-trinity)
 *
 * One PRNG seed drives everything. A coordinator keeps a model of every
 * region (which pages are mapped, to which backing page, with which
 * protection), of every backing page's contents (a token: each page is
 * written whole with a pattern of its token, 0 meaning zeros) and of each
 * worker's attaches, and issues operations:
 *
 *  - itself, on the regions: create, size (ftruncate or fallocate), map
 *    (anonymous memory, a memfd, a tmpfs file, an ext4 file; read-write
 *    or through read-only fds), unmap, protect, advise (every advice the
 *    uapi takes), pwrite/pread of the backing files, stats, unlink,
 *    close and reopen;
 *  - to 4-16 worker processes over pipes: attach (NULL, hint, FIXED and
 *    FIXED_NOREPLACE addresses, read-write and read-only, by path or by
 *    /proc/PID/fd, two attaches of one region in one process), detach,
 *    reads and writes of whole pages (by the CPU, by GUP through
 *    process_vm_readv/writev, by the kernel's copy through pread/pwrite),
 *    fork (the child works with the inherited attaches while the parent
 *    may detach), exec, exit, kill (SIGKILL in the middle of a store loop,
 *    of an ioctl loop or of an attach loop), and what the container must
 *    refuse (mprotect, madvise, partial munmap, mremap).
 *
 * Every outcome is compared with the model: the data of every page read
 * (every word), the errno of every call, SIGSEGV with SEGV_MAPERR at holes
 * and SEGV_ACCERR where the protection or a read-only attach forbids, at
 * the attacher's own address. The model follows DESIGN §2 and
 * Documentation/filesystems/msharefs.rst: region memory is shared, so
 * DONTNEED, PAGEOUT, COLD and WILLNEED keep the data; REMOVE zeroes the
 * backing (every alias of a file page); UNMAP then MAP gives fresh zeroes;
 * PROTECT and ADVISE check as documented (a hole is ENOMEM, and so on).
 *
 * Concurrency without losing determinism: an access step sends page
 * accesses to several workers at once and, while they run, the
 * coordinator makes a "racing" region operation (protect, unmap, map,
 * advise, pwrite) on pages the accesses do not touch (for REMOVE and
 * pwrite: no alias of the backing pages either). Content-preserving
 * advice may race with accesses to the same pages. So the outcome of
 * every access is known in advance. Only a killed worker's stores are
 * uncertain: those pages then hold, word by word, the old or the new
 * pattern, and that is what is checked until they are written again.
 *
 * The op sequence depends only on --seed (and --procs and what the kernel
 * offers, printed at the start): --seed S --ops N replays it, and the
 * run ends with a hash of the sequence to compare. On a mismatch the
 * program prints the seed, the op index and the replay command.
 *
 * For its run it sets shmem_enabled=advise and 64 KiB folios always, so
 * that anonymous region memory gets PMD THPs where MADV_HUGEPAGE says and
 * 64 KiB folios (contpte blocks on arm64) elsewhere, which partial unmap,
 * protect and remove must split; the settings are put back at the end.
 *
 * At the end everything is unlinked and the program checks that no
 * region of its own is left in the mount and that memory came back
 * (after drop_caches): Shmem, PageTables, Cached and SwapFree up to a
 * small slack, SUnreclaim and MemFree within the tolerances justified at
 * MEM_TOL_*.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "guest.h"

#define PAGE		4096UL
#define WORDS		(PAGE / 8)
#define GiB		(1UL << 30)
#define MAX_REGIONS	4
#define MAX_WORKERS	16
#define MAX_ATT		6	/* attaches per worker */
#define MAX_ACC		48	/* accesses per worker command */
#define NPAGES		768	/* pages of a region the fuzzer uses: zones[] */
#define FILE_PAGES	1024	/* memfd, tmpfs file */
#define DISK_PAGES	256	/* ext4 file */
#define HINT_BASE	32	/* hinted attaches at [32, 96) x alignment */
#define HINT_SLOTS	64

/*
 * How far memory may be from where it was before the run, after
 * settle_memory() at both ends (the supervisor measures,
 * with the coordinator and its workers gone). Measured over 50 passing
 * runs of 150 ops to 5 minutes, x86_64 and arm64 guests: MemFree moved
 * between -5.4 and +7.0 MB (per-CPU page lists, zram's pool, buddy
 * merging), SUnreclaim by at most +0.6 MB (per-CPU slab caches; maple
 * nodes and VMAs freed by RCU a little later; on the KASAN kernel it
 * once reached +1.1 MB in CI before slab caches were shrunk here, which
 * empties the quarantine), PageTables by at most
 * 4 kB, Shmem by nothing, Cached by at most 44 kB, SwapFree by at most
 * -0.7 MB (the per-CPU swap slot caches: 64 slots, 256 kB, a CPU each
 * way). A leaked region keeps its page tables (PageTables), its
 * anonymous, memfd and tmpfs pages (Shmem) and its ext4 file's pages
 * (Cached: the file is not freed while a host mapping holds it): those
 * are checked to 64 kB (Cached to 256 kB). MemFree and SUnreclaim are the
 * backstop for the rest (a host mm and its VMAs are a few kB of slab: one
 * leak is below the noise, a leak per region is not over a long run).
 */
#define MEM_TOL_MEMFREE_KB	12288
#define MEM_TOL_SUNRECL_KB	1024
#define MEM_TOL_EXACT_KB	64
#define MEM_TOL_SWAP_KB		1024
#define MEM_TOL_CACHED_KB	256
#define MEM_TRIES		5
#define MEM_RETRY_MS		400

/* --- the seeded PRNG (xoshiro256**) ------------------------------------ */

static uint64_t rs[4];

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rs[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;

	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int pct)
{
	return below(100) < pct;
}

/* --- page contents ------------------------------------------------------ */

/* Word @i of a page written with token @tok (tokens < 2^40); 0 is zeroes. */
static inline uint64_t pat(uint64_t tok, unsigned int i)
{
	return tok ? ((tok << 16) | i) ^ 0xa5a5000000000000ULL : 0;
}

static void fill(uint64_t *buf, uint64_t tok)
{
	for (unsigned int i = 0; i < WORDS; i++)
		buf[i] = pat(tok, i);
}

/*
 * First word of @buf that is not the pattern of @tok (or, when @unknown,
 * of @tok or @alt, word by word); -1 if none.
 */
static int bad_word(const uint64_t *buf, uint64_t tok, uint64_t alt, bool unknown)
{
	for (unsigned int i = 0; i < WORDS; i++)
		if (buf[i] != pat(tok, i) && (!unknown || buf[i] != pat(alt, i)))
			return i;
	return -1;
}

/* --- the region's layout ----------------------------------------------- */

/*
 * The pages of a region the fuzzer uses, in three zones: the first 2 MiB
 * (a PMD's worth, THP- and 64 KiB-aligned), 512 KiB across the 1 GiB
 * boundary (two PMD tables), and 512 KiB across the alignment boundary
 * (two top-level entries: only its first half exists in a region of one
 * alignment).
 */
static struct zone {
	uint64_t off;
	unsigned int first, n;
} zones[3];
static uint64_t align;

static void zones_init(void)
{
	zones[0] = (struct zone){ 0, 0, 512 };
	zones[1] = (struct zone){ GiB - 64 * PAGE, 512, 128 };
	zones[2] = (struct zone){ align - 64 * PAGE, 640, 128 };
}

static unsigned int zone_of(unsigned int p)
{
	return p < 512 ? 0 : p < 640 ? 1 : 2;
}

static uint64_t page_off(unsigned int p)
{
	const struct zone *z = &zones[zone_of(p)];

	return z->off + (uint64_t)(p - z->first) * PAGE;
}

/* --- worker protocol ---------------------------------------------------- */

enum acc_kind { A_RD, A_WR, A_GUP_RD, A_GUP_WR, A_KC_RD, A_KC_WR, NR_ACC_KINDS };
static const char *const acc_names[] = {
	"cpu-read", "cpu-write", "gup-read", "gup-write", "copy-read", "copy-write",
};
enum expect { XP_OK, XP_MAPERR, XP_ACCERR };

struct acc {
	uint8_t kind, expect, unknown, pad;
	uint32_t page;
	int32_t bpg;		/* the coordinator's: the backing page */
	uint32_t pad2;
	uint64_t addr;		/* where the worker finds the page */
	uint64_t tok, alt;
};

enum wcmd {
	W_ACCESS, W_ATTACH, W_DETACH, W_FORK, W_EXEC, W_EXIT, W_ABUSE,
	W_LOOP_WRITE, W_LOOP_IOCTL, W_LOOP_ATTACH,
};

struct wmsg {
	uint32_t cmd, n;
	uint32_t oflags, prot, mflags, arg;
	uint64_t addr, size;		/* attach, detach, abuse */
	uint64_t off, len;		/* the ioctl loop's range */
	char path[64];
	struct acc acc[MAX_ACC];
};

/* status: 0 ok, 1 data or fault mismatch, 2 a call failed unexpectedly */
struct wrep {
	int32_t status, err;
	uint32_t idx, word;
	uint64_t want, got, addr;
	int32_t sig, code;
	char msg[80];
};

/* --- the worker --------------------------------------------------------- */

#define W_CMD_FD	3
#define W_REP_FD	4

static sigjmp_buf w_env;
static volatile int w_sig, w_code;
static void *volatile w_addr;
static int w_scratch = -1;	/* a memfd for the kernel-copy accesses */
static uint64_t w_buf[WORDS];

static void w_on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	w_sig = sig;
	w_code = si->si_code;
	w_addr = si->si_addr;
	siglongjmp(w_env, 1);
}

static bool full_io(int fd, void *buf, size_t len, bool wr)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* 0 if the page was read whole into w_buf, 1 if it faulted */
static int __attribute__((noinline)) cpu_read(const volatile uint64_t *p)
{
	if (sigsetjmp(w_env, 1))
		return 1;
	for (unsigned int i = 0; i < WORDS; i++)
		w_buf[i] = p[i];
	return 0;
}

static int __attribute__((noinline)) cpu_write(volatile uint64_t *p, uint64_t tok)
{
	if (sigsetjmp(w_env, 1))
		return 1;
	for (unsigned int i = 0; i < WORDS; i++)
		p[i] = pat(tok, i);
	return 0;
}

/* Through GUP (process_vm_readv/writev on ourselves): 0, or 1 on EFAULT. */
static int gup_rw(void *addr, bool wr, int *err)
{
	struct iovec l = { w_buf, PAGE }, r = { addr, PAGE };
	ssize_t n = wr ? process_vm_writev(getpid(), &l, 1, &r, 1, 0)
		       : process_vm_readv(getpid(), &l, 1, &r, 1, 0);

	*err = n < 0 ? errno : 0;
	return n == (ssize_t)PAGE ? 0 : 1;
}

/* Through the kernel's user copy (pwrite from, pread into the page). */
static int kcopy_rw(void *addr, bool wr, int *err)
{
	ssize_t n;

	*err = 0;
	if (wr) {
		if (pwrite(w_scratch, w_buf, PAGE, 0) != (ssize_t)PAGE) {
			*err = -1;
			return 1;
		}
		n = pread(w_scratch, addr, PAGE, 0);
	} else {
		n = pwrite(w_scratch, addr, PAGE, 0);
		if (n == (ssize_t)PAGE &&
		    pread(w_scratch, w_buf, PAGE, 0) != (ssize_t)PAGE) {
			*err = -1;
			return 1;
		}
	}
	if (n < 0)
		*err = errno;
	return n == (ssize_t)PAGE ? 0 : 1;
}

static void rep_fail(struct wrep *r, int status, uint32_t idx, const char *fmt, ...)
{
	va_list ap;

	if (r->status)
		return;
	r->status = status;
	r->idx = idx;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* Run the accesses of @m; the first mismatch is reported in @r. */
static void w_access(const struct wmsg *m, struct wrep *r)
{
	for (uint32_t i = 0; i < m->n && !r->status; i++) {
		const struct acc *a = &m->acc[i];
		void *addr = (void *)(uintptr_t)a->addr;
		bool wr = a->kind == A_WR || a->kind == A_GUP_WR || a->kind == A_KC_WR;
		int faulted, err = 0;

		w_sig = 0;
		if (wr)
			fill(w_buf, a->tok);
		switch (a->kind) {
		case A_RD:
			faulted = cpu_read(addr);
			break;
		case A_WR:
			faulted = cpu_write(addr, a->tok);
			break;
		case A_GUP_RD:
		case A_GUP_WR:
			faulted = gup_rw(addr, wr, &err);
			break;
		default:
			faulted = kcopy_rw(addr, wr, &err);
			break;
		}
		r->addr = a->addr;
		if (a->kind == A_RD || a->kind == A_WR) {
			int want = a->expect == XP_MAPERR ? SEGV_MAPERR : SEGV_ACCERR;

			if (faulted && a->expect == XP_OK)
				rep_fail(r, 1, i, "unexpected signal %d code %d at %p",
					 w_sig, w_code, w_addr);
			else if (!faulted && a->expect != XP_OK)
				rep_fail(r, 1, i, "no fault, wanted %s",
					 want == SEGV_MAPERR ? "SEGV_MAPERR" : "SEGV_ACCERR");
			else if (faulted && (w_sig != SIGSEGV || w_code != want ||
					     w_addr != addr))
				rep_fail(r, 1, i, "signal %d code %d at %p, wanted SIGSEGV %s at %p",
					 w_sig, w_code, w_addr,
					 want == SEGV_MAPERR ? "SEGV_MAPERR" : "SEGV_ACCERR", addr);
			r->sig = w_sig;
			r->code = w_code;
		} else if (faulted != (a->expect != XP_OK) ||
			   (faulted && err != EFAULT)) {
			r->err = err;
			rep_fail(r, 1, i, "%s: %s (errno %d), wanted %s", acc_names[a->kind],
				 faulted ? "failed" : "succeeded", err,
				 a->expect == XP_OK ? "success" : "EFAULT");
		}
		if (r->status || faulted || wr)
			continue;
		int w = bad_word(w_buf, a->tok, a->alt, a->unknown);

		if (w >= 0) {
			r->word = w;
			r->want = pat(a->tok, w);
			r->got = w_buf[w];
			rep_fail(r, 1, i, "data mismatch in word %d", w);
		}
	}
}

/* mmap() for an attach as the coordinator asked; reply the address or errno. */
static void w_attach(const struct wmsg *m, struct wrep *r)
{
	int fd = open(m->path, m->oflags | O_CLOEXEC);
	void *p;

	if (fd < 0) {
		r->err = errno;
		rep_fail(r, 2, 0, "open %s: %s", m->path, strerror(errno));
		return;
	}
	p = mmap((void *)(uintptr_t)m->addr, m->size, m->prot, m->mflags, fd, 0);
	r->err = p == MAP_FAILED ? errno : 0;
	r->addr = p == MAP_FAILED ? 0 : (uint64_t)(uintptr_t)p;
	close(fd);
}

/* What a container refuses, and mlock, which it takes and ignores. */
static void w_abuse(const struct wmsg *m, struct wrep *r)
{
	void *a = (void *)(uintptr_t)m->addr;

	if (mprotect(a, PAGE, PROT_READ) != -1 || errno != EINVAL)
		rep_fail(r, 2, 0, "mprotect of a container: not EINVAL (%d)", errno);
	else if (madvise(a, PAGE, MADV_DONTNEED) != -1 || errno != EINVAL)
		rep_fail(r, 2, 0, "madvise of a container: not EINVAL (%d)", errno);
	else if (munmap((char *)a + m->size / 2, PAGE) != -1 || errno != EINVAL)
		rep_fail(r, 2, 0, "partial munmap of a container: not EINVAL (%d)", errno);
	else if (mremap(a, m->size, m->size, MREMAP_MAYMOVE) != MAP_FAILED ||
		 errno != EINVAL)
		rep_fail(r, 2, 0, "mremap of a container: not EINVAL (%d)", errno);
	else if (mlock(a, PAGE) || munlock(a, PAGE))
		rep_fail(r, 2, 0, "mlock of a container failed (%d)", errno);
}

static void w_reply(const struct wrep *r)
{
	if (!full_io(W_REP_FD, (void *)r, sizeof(*r), true))
		_exit(3);
}

/* The loops a worker runs until it is killed: it replies first. */
static void __attribute__((noreturn)) w_loop(const struct wmsg *m)
{
	static const uint32_t advice[] = { MADV_PAGEOUT, MADV_DONTNEED, MADV_COLD,
					   MADV_WILLNEED, MADV_POPULATE_READ };
	struct wrep r = { 0 };
	int fd = -1;

	if (m->cmd == W_LOOP_IOCTL || m->cmd == W_LOOP_ATTACH)
		fd = open(m->path, m->oflags | O_CLOEXEC);
	r.err = fd < 0 && m->cmd != W_LOOP_WRITE ? errno : 0;
	w_reply(&r);
	for (unsigned long round = 0;; round++) {
		switch (m->cmd) {
		case W_LOOP_WRITE:
			for (uint32_t i = 0; i < m->n; i++)
				cpu_write((void *)(uintptr_t)m->acc[i].addr, m->acc[i].tok);
			break;
		case W_LOOP_IOCTL:
			/* the protection the range already has: the model is unchanged */
			region_protect(fd, m->off, m->len, m->prot);
			if (m->arg || advice[round % 5] != MADV_POPULATE_READ)
				region_advise(fd, m->off, m->len, advice[round % 5]);
			break;
		case W_LOOP_ATTACH: {
			void *p = mmap(NULL, m->size, m->prot, MAP_SHARED, fd, 0);

			if (p != MAP_FAILED) {
				cpu_read((uint64_t *)p + m->off / 8);
				munmap(p, m->size);
			}
			break;
		}
		}
	}
}

static void __attribute__((noreturn)) worker_main(void)
{
	struct sigaction sa = { .sa_sigaction = w_on_fault, .sa_flags = SA_SIGINFO };
	static struct wmsg m;
	struct wrep r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(3);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	w_scratch = memfd_create("fuzz-scratch", MFD_CLOEXEC);
	if (w_scratch < 0)
		_exit(3);
	memset(&r, 0, sizeof(r));
	w_reply(&r);		/* ready */
	while (full_io(W_CMD_FD, &m, sizeof(m), false)) {
		memset(&r, 0, sizeof(r));
		switch (m.cmd) {
		case W_ACCESS:
			w_access(&m, &r);
			break;
		case W_ATTACH:
			w_attach(&m, &r);
			break;
		case W_DETACH:
			if (munmap((void *)(uintptr_t)m.addr, m.size)) {
				r.err = errno;
				rep_fail(&r, 2, 0, "munmap: %s", strerror(errno));
			}
			break;
		case W_ABUSE:
			w_abuse(&m, &r);
			break;
		case W_FORK: {
			int p[2], st;
			pid_t pid;

			if (pipe(p))
				_exit(3);
			pid = fork();
			if (pid < 0)
				_exit(3);
			if (!pid) {
				close(p[0]);
				w_access(&m, &r);
				_exit(full_io(p[1], &r, sizeof(r), true) ? 0 : 3);
			}
			close(p[1]);
			/* detach while the child works through its inherited attach */
			if (m.size && munmap((void *)(uintptr_t)m.addr, m.size))
				rep_fail(&r, 2, 0, "munmap in the parent: %s", strerror(errno));
			if (!full_io(p[0], &r, sizeof(r), false))
				rep_fail(&r, 2, 0, "the forked child died");
			close(p[0]);
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
				rep_fail(&r, 2, 0, "the forked child did not exit cleanly");
			break;
		}
		case W_EXEC:
			execl("/proc/self/exe", "mshare-fuzz", "--worker", (char *)NULL);
			_exit(3);
		case W_EXIT:
			_exit(0);
		default:
			w_loop(&m);
		}
		w_reply(&r);
	}
	_exit(0);
}

/* --- the model ---------------------------------------------------------- */

enum backing { B_ANON, B_MEMFD, B_TMPFS, B_DISK, NR_BACKINGS };
static const char *const backing_names[] = { "anon", "memfd", "tmpfs", "ext4" };

struct bpage {
	uint64_t tok, alt;
	uint8_t unknown;
	uint32_t mark;		/* step that the race or an access claimed it */
};

struct rpage {
	int32_t bp;		/* backing page, -1 for a hole */
	uint8_t prot, rofd, backing;
	uint32_t mark;
};

struct region {
	bool live, linked, sized;
	int fd;			/* the coordinator's, -1 when closed */
	unsigned int nattach;
	uint64_t size;
	char path[96];
	struct rpage pg[NPAGES];
};

struct attach {
	int slot;		/* -1: unused */
	uint64_t addr;
	bool rw;
};

struct worker {
	pid_t pid;
	int cmd, rep;
	struct attach att[MAX_ATT];
};

static struct region reg[MAX_REGIONS];
static struct worker wk[MAX_WORKERS];
static unsigned int nworkers = 8;
static struct bpage *bp;
static size_t nbp, capbp;
static int bfd[NR_BACKINGS], bfd_ro[NR_BACKINGS];
static uint32_t bbase[NR_BACKINGS], bpages[NR_BACKINGS];
static char bpath[NR_BACKINGS][128];
static uint64_t next_tok = 1, region_seq;
static uint32_t step = 1;
static bool have_disk, exec_ok = true, ro_ok = true;

static int32_t bp_alloc(uint32_t n)
{
	if (nbp + n > capbp) {
		capbp = (nbp + n) * 2;
		bp = realloc(bp, capbp * sizeof(*bp));
		if (!bp)
			tap_bail("out of memory for the model");
	}
	memset(bp + nbp, 0, n * sizeof(*bp));
	nbp += n;
	return nbp - n;
}

/* --- ops, their log, their hash, their counts -------------------------- */

enum op {
	OP_CREATE, OP_SIZE, OP_MAP, OP_UNMAP, OP_PROTECT, OP_ADVISE, OP_PWRITE,
	OP_PREAD, OP_ATTACH, OP_DETACH, OP_ACCESS, OP_FORK, OP_EXEC, OP_EXIT,
	OP_KILL, OP_UNLINK, OP_CLOSE, OP_REOPEN, OP_STATS, OP_ABUSE, NR_OPS,
};
static const char *const op_names[] = {
	"create", "size", "map", "unmap", "protect", "advise", "pwrite", "pread",
	"attach", "detach", "access", "fork", "exec", "exit", "kill", "unlink",
	"close", "reopen", "stats", "abuse",
};

static const uint32_t advices[] = {
	MADV_POPULATE_READ, MADV_POPULATE_WRITE, MADV_DONTNEED, MADV_REMOVE,
	MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
};
static const char *const advice_names[] = {
	"populate_read", "populate_write", "dontneed", "remove", "willneed",
	"cold", "pageout", "hugepage", "nohugepage",
};
#define NR_ADVICE	(sizeof(advices) / sizeof(advices[0]))

static struct {
	uint64_t ops[NR_OPS], advice[NR_ADVICE], acc[NR_ACC_KINDS], backing[NR_BACKINGS];
	uint64_t raced, faults, errors, pages_checked, pages_written, spawned;
} cnt;

static uint64_t seed, max_ops = 2000, op_index, op_hash = 0xcbf29ce484222325ULL;
static unsigned int verbose;
static double time_limit;
static char op_desc[256];
static const char *prog = "mshare-fuzz";

static void op_begin(enum op type, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(op_desc, sizeof(op_desc), "%s ", op_names[type]);
	va_start(ap, fmt);
	vsnprintf(op_desc + n, sizeof(op_desc) - n, fmt, ap);
	va_end(ap);
	for (const char *c = op_desc; *c; c++)
		op_hash = (op_hash ^ (uint8_t)*c) * 0x100000001b3ULL;
	op_hash = (op_hash ^ '\n') * 0x100000001b3ULL;
	cnt.ops[type]++;
	op_index++;
	if (verbose)
		printf("[%" PRIu64 "] %s\n", op_index, op_desc);
}

static void kill_workers(void);

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: seed %" PRIu64 ", op %" PRIu64 " (%s): ", seed, op_index, op_desc);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nreplay: %s%s%s%s --seed %" PRIu64 " --ops %" PRIu64 " --procs %u -v\n",
	       getenv("VM_ARCH") ? "tools/vm-run --arch " : "",
	       getenv("VM_ARCH") ? getenv("VM_ARCH") : "", getenv("VM_ARCH") ? " -- " : "",
	       prog, seed, op_index, nworkers);
	fflush(stdout);
	kill_workers();
	exit(1);
}

/* A call's result against the model's: @want 0 for success, else errno. */
static void check_errno(const char *what, long ret, int err, int want)
{
	if (want == 0 && ret < 0)
		fail("%s failed: %s, the model wanted success", what, strerror(err));
	if (want && ret >= 0)
		fail("%s succeeded, the model wanted %s", what, strerror(want));
	if (want && err != want)
		fail("%s: %s, the model wanted %s", what, strerror(err), strerror(want));
	if (want)
		cnt.errors++;
}

/* --- workers: spawning, talking ---------------------------------------- */

static void w_send(unsigned int w, const struct wmsg *m)
{
	if (!full_io(wk[w].cmd, (void *)m, sizeof(*m), true))
		fail("worker %u (pid %d) is gone", w, (int)wk[w].pid);
}

static void w_recv(unsigned int w, struct wrep *r)
{
	if (!full_io(wk[w].rep, r, sizeof(*r), false))
		fail("worker %u (pid %d) died without replying", w, (int)wk[w].pid);
}

static void attach_gone(struct attach *a);

static void spawn_worker(unsigned int w)
{
	int c[2], r[2];
	struct wrep rep;
	pid_t pid;

	if (pipe(c) || pipe(r))
		tap_bail("pipe failed");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		/* only our two pipes: no region fd keeps a region alive here */
		int cfd = fcntl(c[0], F_DUPFD, 100), rfd = fcntl(r[1], F_DUPFD, 100);

		if (cfd < 0 || rfd < 0 || dup2(cfd, W_CMD_FD) < 0 || dup2(rfd, W_REP_FD) < 0)
			_exit(3);
		close_range(W_REP_FD + 1, ~0U, 0);
		worker_main();
	}
	close(c[0]);
	close(r[1]);
	wk[w].pid = pid;
	wk[w].cmd = c[1];
	wk[w].rep = r[0];
	for (int i = 0; i < MAX_ATT; i++)
		wk[w].att[i].slot = -1;
	cnt.spawned++;
	w_recv(w, &rep);
}

/* The worker died or exec'd: its attaches are gone. */
static void drop_attaches(unsigned int w)
{
	for (int i = 0; i < MAX_ATT; i++)
		if (wk[w].att[i].slot >= 0)
			attach_gone(&wk[w].att[i]);
}

static void reap_worker(unsigned int w, bool killed)
{
	int st;

	if (waitpid(wk[w].pid, &st, 0) != wk[w].pid)
		fail("cannot reap worker %u", w);
	if (killed ? !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL
		   : !WIFEXITED(st) || WEXITSTATUS(st))
		fail("worker %u ended with status 0x%x", w, st);
	close(wk[w].cmd);
	close(wk[w].rep);
	drop_attaches(w);
	wk[w].pid = 0;
}

static void kill_workers(void)
{
	for (unsigned int w = 0; w < nworkers; w++)
		if (wk[w].pid > 0) {
			kill(wk[w].pid, SIGKILL);
			waitpid(wk[w].pid, NULL, 0);
			wk[w].pid = 0;
		}
}

/* --- model helpers ------------------------------------------------------ */

static bool page_valid(const struct region *r, unsigned int p)
{
	return page_off(p) + PAGE <= r->size;
}

/* A range [*p0, *p0 + *n) of valid pages in one zone of region @r. */
static void pick_range(const struct region *r, unsigned int *p0, unsigned int *n)
{
	const struct zone *z = &zones[below(3)];
	unsigned int valid = z->n, start, len, k = below(100);

	while (valid && !page_valid(r, z->first + valid - 1))
		valid--;
	if (!valid)
		z = &zones[0], valid = z->n;
	if (k < 50) {
		len = 1 + below(4);
	} else if (k < 80) {
		len = 1 + below(32);
	} else if (k < 95) {
		/* whole 64 KiB blocks, aligned: contpte folding on arm64 */
		len = 16 * (1 + below(4));
		start = below(valid / 16) * 16;
		goto clamp;
	} else {
		*p0 = z->first;
		*n = valid;
		return;
	}
	start = below(valid);
clamp:
	if (start + len > valid)
		len = valid - start;
	*p0 = z->first + start;
	*n = len;
}

/* A range of mapped pages around a random mapped page, if there is one. */
static bool pick_mapped_range(const struct region *r, unsigned int *p0, unsigned int *n)
{
	unsigned int tries = 8, p, a, b, len;

	while (tries--) {
		p = below(NPAGES);
		if (!page_valid(r, p) || r->pg[p].bp < 0)
			continue;
		len = 1 + below(chance(30) ? 64 : 8);
		a = p;
		b = p + 1;
		while (b < NPAGES && b - a < len && zone_of(b) == zone_of(p) &&
		       page_valid(r, b) && r->pg[b].bp >= 0)
			b++;
		while (a > 0 && b - a < len && zone_of(a - 1) == zone_of(p) &&
		       r->pg[a - 1].bp >= 0)
			a--;
		*p0 = a;
		*n = b - a;
		return true;
	}
	return false;
}

static int pick_region(bool need_fd, bool need_sized)
{
	int cand[MAX_REGIONS], n = 0;

	for (int i = 0; i < MAX_REGIONS; i++)
		if (reg[i].live && (!need_fd || reg[i].fd >= 0) &&
		    (!need_sized || reg[i].sized))
			cand[n++] = i;
	return n ? cand[below(n)] : -1;
}

static void region_maybe_free(int s)
{
	struct region *r = &reg[s];

	if (r->live && !r->linked && r->fd < 0 && !r->nattach)
		r->live = false;
}

static void attach_gone(struct attach *a)
{
	int s = a->slot;

	a->slot = -1;
	reg[s].nattach--;
	region_maybe_free(s);
}

/* The expected outcome of an access of @kind to page @p of region @r. */
static int expect_of(const struct region *r, unsigned int p, int kind, bool rw_attach)
{
	const struct rpage *g = &r->pg[p];
	bool wr = kind == A_WR || kind == A_GUP_WR || kind == A_KC_WR;

	/* the attach's own rights are checked first, holes included */
	if (wr && !rw_attach)
		return XP_ACCERR;
	if (g->bp < 0)
		return XP_MAPERR;
	if (!(g->prot & PROT_READ))
		return XP_ACCERR;
	if (wr && !(g->prot & PROT_WRITE))
		return XP_ACCERR;
	return XP_OK;
}

static const char *prot_str(unsigned int prot)
{
	static const char *const s[] = { "none", "r", "w?", "rw", "x?", "rx", "wx?", "rwx" };

	return s[prot & 7];
}

/* --- the coordinator's region operations -------------------------------- */

static int do_create(void)
{
	int s = -1;

	for (int i = 0; i < MAX_REGIONS && s < 0; i++)
		if (!reg[i].live)
			s = i;
	struct region *r = &reg[s];

	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s/fuzz.%d.%" PRIu64, mshare_mnt(),
		 (int)getpid(), region_seq);
	op_begin(OP_CREATE, "r%d fuzz.PID.%" PRIu64, s, region_seq++);
	r->fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	check_errno("open(O_CREAT)", r->fd, errno, 0);
	r->live = r->linked = true;
	for (int p = 0; p < NPAGES; p++)
		r->pg[p].bp = -1;
	return s;
}

static void do_size(int s)
{
	struct region *r = &reg[s];
	uint64_t size = align * (chance(25) ? 2 : 1);
	bool fall = chance(30), bad = chance(10);
	int ret;

	op_begin(OP_SIZE, "r%d %s %" PRIu64 " GiB%s", s, fall ? "fallocate" : "ftruncate",
		 size >> 30, bad ? " (first a misaligned size)" : "");
	if (bad) {
		ret = ftruncate(r->fd, size + PAGE);
		check_errno("ftruncate to a misaligned size", ret, errno, EINVAL);
	}
	ret = fall ? fallocate(r->fd, 0, 0, size) : ftruncate(r->fd, size);
	check_errno("sizing", ret, errno, 0);
	r->sized = true;
	r->size = size;
	if (chance(10)) {
		ret = ftruncate(r->fd, size);
		check_errno("sizing again", ret, errno, EBUSY);
	}
}

/* MAP: what it does to the model when it succeeds */
static void map_apply(struct region *r, unsigned int p0, unsigned int n, int b,
		      uint32_t first, unsigned int prot, bool rofd)
{
	for (unsigned int i = 0; i < n; i++) {
		r->pg[p0 + i].bp = first + i;
		r->pg[p0 + i].prot = prot;
		r->pg[p0 + i].rofd = rofd;
		r->pg[p0 + i].backing = b;
	}
}

struct mapop {
	int s;
	unsigned int p0, n, prot;
	int b, want;
	bool rofd;
	uint32_t flags, foff;
};

static void map_plan(struct mapop *o, int s, bool must_succeed)
{
	struct region *r = &reg[s];
	unsigned int k = below(100);

	memset(o, 0, sizeof(*o));
	o->s = s;
	pick_range(r, &o->p0, &o->n);
	/* find holes: shrink to the first run of holes in the range */
	while (o->n && r->pg[o->p0].bp >= 0)
		o->p0++, o->n--;
	for (unsigned int i = 0; i < o->n; i++)
		if (r->pg[o->p0 + i].bp >= 0)
			o->n = i;
	if (!o->n) {
		/* no hole there: try to map over what is there (EEXIST) */
		pick_range(r, &o->p0, &o->n);
	}
	o->b = k < 50 ? B_ANON : k < 70 ? B_MEMFD : k < 85 || !have_disk ? B_TMPFS : B_DISK;
	k = below(100);
	o->prot = k < 75 ? PROT_READ | PROT_WRITE : k < 92 ? PROT_READ : PROT_NONE;
	if (o->b != B_ANON && chance(20)) {
		o->rofd = true;
		if (o->prot & PROT_WRITE && (must_succeed || chance(70)))
			o->prot = PROT_READ;
	}
	if (exec_ok && o->prot && chance(8))
		o->prot |= PROT_EXEC;
	o->flags = MAP_SHARED | MAP_FIXED | (o->b == B_ANON ? MAP_ANONYMOUS : 0) |
		   (chance(20) ? MAP_POPULATE : 0) | (chance(10) ? MAP_NORESERVE : 0);
	if (o->b != B_ANON) {
		uint32_t fp = bpages[o->b];

		/* never past the end of the file (SIGBUS there) */
		if (o->n > fp)
			o->n = fp;
		/* a few offsets often, so that file pages get aliases */
		o->foff = chance(30) ? below(4) * 16 : below(fp - o->n + 1);
		if (o->foff + o->n > fp)
			o->foff = fp - o->n;
	}
	/* as do_mmap() checks: MAP_FIXED_NOREPLACE before the file's mode */
	if (o->rofd && (o->prot & PROT_WRITE))
		o->want = EACCES;
	for (unsigned int i = 0; i < o->n; i++)
		if (r->pg[o->p0 + i].bp >= 0)
			o->want = EEXIST;
	if (!must_succeed && !o->want && chance(3)) {
		o->flags &= ~MAP_SHARED;
		o->flags |= MAP_PRIVATE;
		o->want = EINVAL;
	}
}

static const char *map_desc(const struct mapop *o)
{
	static char d[160];

	snprintf(d, sizeof(d), "r%d p%u+%u %s%s%s prot %s%s%s", o->s, o->p0, o->n,
		 backing_names[o->b], o->rofd ? " (read-only fd)" : "",
		 o->b == B_ANON ? "" : "@", prot_str(o->prot),
		 o->flags & MAP_POPULATE ? " populate" : "",
		 o->flags & MAP_NORESERVE ? " noreserve" : "");
	if (o->b != B_ANON) {
		char *at = strchr(d, '@');
		char tail[120];

		snprintf(tail, sizeof(tail), "%s", at + 1);
		snprintf(at, d + sizeof(d) - at, " at page %u%s", o->foff, tail);
	}
	return d;
}

static void map_exec(const struct mapop *o)
{
	struct region *r = &reg[o->s];
	int fd = o->b == B_ANON ? -1 : o->rofd ? bfd_ro[o->b] : bfd[o->b];
	int ret;

	ret = region_map(r->fd, page_off(o->p0), (uint64_t)o->n * PAGE, o->prot, o->flags,
			 fd, (uint64_t)o->foff * PAGE);
	check_errno("MSHAREFS_CREATE_MAPPING", ret, errno, o->want);
	if (o->want)
		return;
	cnt.backing[o->b]++;
	map_apply(r, o->p0, o->n, o->b,
		  o->b == B_ANON ? (uint32_t)bp_alloc(o->n) : bbase[o->b] + o->foff,
		  o->prot, o->rofd);
}

/* Mark the pages a racing op changes, so that no access touches them. */
static void mark_range(struct region *r, unsigned int p0, unsigned int n, bool backing)
{
	for (unsigned int i = 0; i < n; i++) {
		r->pg[p0 + i].mark = step;
		if (backing && r->pg[p0 + i].bp >= 0)
			bp[r->pg[p0 + i].bp].mark = step;
	}
}

/* --- racing/standalone region ops: plan (pure model), then execute ------ */

struct rop {
	enum op type;
	int s;
	unsigned int p0, n, prot, adv;
	int want;
	int32_t bpg;		/* pwrite/pread */
	uint64_t tok;
	struct mapop map;
};

static int protect_want(const struct region *r, unsigned int p0, unsigned int n,
			unsigned int prot)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct rpage *g = &r->pg[p0 + i];

		if (g->bp < 0)
			return ENOMEM;
		if (g->rofd && (prot & PROT_WRITE))
			return EACCES;
	}
	return 0;
}

static int advise_want(const struct region *r, unsigned int p0, unsigned int n,
		       uint32_t adv)
{
	int unmapped = 0;

	for (unsigned int i = 0; i < n; i++) {
		const struct rpage *g = &r->pg[p0 + i];

		if (g->bp < 0) {
			/* populate stops at a hole; the rest go on past it */
			if (adv == MADV_POPULATE_READ || adv == MADV_POPULATE_WRITE)
				return ENOMEM;
			unmapped = ENOMEM;
			continue;
		}
		if (adv == MADV_POPULATE_READ && !(g->prot & PROT_READ))
			return EINVAL;
		if (adv == MADV_POPULATE_WRITE && !(g->prot & PROT_WRITE))
			return EINVAL;
		if (adv == MADV_REMOVE && g->rofd)
			return EACCES;
	}
	return unmapped;
}

static bool rop_plan_range(struct rop *o, enum op type, bool race);

/*
 * Plan a region op of @type on a random region; false if none fits. A
 * racing op stays off the pages a killed worker's loop works on (marked
 * before it), unless it cannot change them.
 */
static bool rop_plan(struct rop *o, enum op type, bool race)
{
	if (!rop_plan_range(o, type, race))
		return false;
	if (!race || type == OP_PWRITE || type == OP_PREAD ||
	    (type == OP_ADVISE && advices[o->adv] != MADV_REMOVE))
		return true;
	for (unsigned int i = 0; i < o->n; i++)
		if (reg[o->s].pg[o->p0 + i].mark == step)
			return false;
	return true;
}

static bool rop_plan_range(struct rop *o, enum op type, bool race)
{
	struct region *r;
	unsigned int k;

	memset(o, 0, sizeof(*o));
	o->type = type;
	if (type == OP_PWRITE || type == OP_PREAD) {
		int b = B_MEMFD + below(have_disk ? 3 : 2);

		o->bpg = bbase[b] + below(bpages[b]);
		o->s = b;
		if (race && bp[o->bpg].mark == step)
			return false;
		o->tok = type == OP_PWRITE ? next_tok++ : 0;
		return true;
	}
	o->s = pick_region(true, true);
	if (o->s < 0)
		return false;
	r = &reg[o->s];
	switch (type) {
	case OP_MAP:
		map_plan(&o->map, o->s, race);
		if (race && o->map.want)
			return false;
		o->p0 = o->map.p0;
		o->n = o->map.n;
		return true;
	case OP_UNMAP:
		pick_range(r, &o->p0, &o->n);
		return true;
	case OP_PROTECT:
		if (chance(85) && pick_mapped_range(r, &o->p0, &o->n)) {
			/* usually a run of mapped pages */
		} else {
			pick_range(r, &o->p0, &o->n);
		}
		k = below(100);
		o->prot = k < 55 ? PROT_READ | PROT_WRITE : k < 85 ? PROT_READ : PROT_NONE;
		if (exec_ok && o->prot && chance(10))
			o->prot |= PROT_EXEC;
		o->want = protect_want(r, o->p0, o->n, o->prot);
		return true;
	case OP_ADVISE:
		o->adv = below(NR_ADVICE);
		if (chance(85) && pick_mapped_range(r, &o->p0, &o->n)) {
			/* usually a run of mapped pages */
		} else {
			pick_range(r, &o->p0, &o->n);
		}
		o->want = advise_want(r, o->p0, o->n, advices[o->adv]);
		return true;
	default:
		return false;
	}
}

/* Mark what the op changes (racing accesses stay away from it). */
static void rop_mark(const struct rop *o)
{
	struct region *r = &reg[o->s];

	switch (o->type) {
	case OP_PWRITE:
	case OP_PREAD:
		bp[o->bpg].mark = step;
		break;
	case OP_ADVISE:
		/* content- and protection-preserving advice may race with anything */
		if (advices[o->adv] == MADV_REMOVE) {
			mark_range(r, o->p0, o->n, true);
			/* every alias of the removed backing pages */
			for (int s = 0; s < MAX_REGIONS; s++)
				for (int p = 0; p < NPAGES && reg[s].live; p++)
					if (reg[s].pg[p].bp >= 0 && bp[reg[s].pg[p].bp].mark == step)
						reg[s].pg[p].mark = step;
		}
		break;
	default:
		mark_range(r, o->p0, o->n, false);
		break;
	}
}

static void rop_begin(const struct rop *o, bool race)
{
	const char *rc = race ? " (racing)" : "";

	switch (o->type) {
	case OP_PWRITE:
	case OP_PREAD:
		op_begin(o->type, "%s page %u%s", backing_names[o->s], o->bpg - bbase[o->s], rc);
		break;
	case OP_MAP:
		op_begin(OP_MAP, "%s%s", map_desc(&o->map), rc);
		break;
	case OP_UNMAP:
		op_begin(OP_UNMAP, "r%d p%u+%u%s", o->s, o->p0, o->n, rc);
		break;
	case OP_PROTECT:
		op_begin(OP_PROTECT, "r%d p%u+%u %s%s", o->s, o->p0, o->n, prot_str(o->prot), rc);
		break;
	default:
		op_begin(OP_ADVISE, "r%d p%u+%u %s%s", o->s, o->p0, o->n,
			 advice_names[o->adv], rc);
		break;
	}
	if (race)
		cnt.raced++;
}

static void rop_exec(const struct rop *o)
{
	struct region *r = o->type == OP_PWRITE || o->type == OP_PREAD ? NULL : &reg[o->s];
	uint64_t off = r ? page_off(o->p0) : 0, len = (uint64_t)o->n * PAGE;
	static uint64_t buf[WORDS];
	int ret, w;

	switch (o->type) {
	case OP_PWRITE:
		fill(buf, o->tok);
		ret = pwrite(bfd[o->s], buf, PAGE, (uint64_t)(o->bpg - bbase[o->s]) * PAGE);
		check_errno("pwrite to the backing file", ret == (int)PAGE ? 0 : -1, errno, 0);
		bp[o->bpg].tok = o->tok;
		bp[o->bpg].unknown = 0;
		break;
	case OP_PREAD:
		ret = pread(bfd[o->s], buf, PAGE, (uint64_t)(o->bpg - bbase[o->s]) * PAGE);
		check_errno("pread of the backing file", ret == (int)PAGE ? 0 : -1, errno, 0);
		w = bad_word(buf, bp[o->bpg].tok, bp[o->bpg].alt, bp[o->bpg].unknown);
		cnt.pages_checked++;
		if (w >= 0)
			fail("pread: word %d is 0x%" PRIx64 ", the model wants 0x%" PRIx64,
			     w, buf[w], pat(bp[o->bpg].tok, w));
		break;
	case OP_MAP:
		map_exec(&o->map);
		break;
	case OP_UNMAP:
		ret = region_unmap(r->fd, off, len);
		check_errno("MSHAREFS_UNMAP", ret, errno, 0);
		for (unsigned int i = 0; i < o->n; i++)
			r->pg[o->p0 + i].bp = -1;
		break;
	case OP_PROTECT:
		ret = region_protect(r->fd, off, len, o->prot);
		check_errno("MSHAREFS_PROTECT", ret, errno, o->want);
		for (unsigned int i = 0; i < o->n && !o->want; i++)
			r->pg[o->p0 + i].prot = o->prot;
		break;
	default:
		ret = region_advise(r->fd, off, len, advices[o->adv]);
		check_errno(advice_names[o->adv], ret, errno, o->want);
		cnt.advice[o->adv]++;
		if (advices[o->adv] != MADV_REMOVE)
			break;
		/* zeroes up to the first mapping that refuses (EACCES) */
		for (unsigned int i = 0; i < o->n; i++) {
			const struct rpage *g = &r->pg[o->p0 + i];

			if (g->bp < 0)
				continue;
			if (g->rofd)
				break;
			bp[g->bp].tok = 0;
			bp[g->bp].unknown = 0;
		}
		break;
	}
}

static bool rop_any(struct rop *o, bool race)
{
	static const enum op types[] = { OP_MAP, OP_UNMAP, OP_PROTECT, OP_PROTECT,
					 OP_ADVISE, OP_ADVISE, OP_ADVISE, OP_PWRITE,
					 OP_PREAD };

	return rop_plan(o, types[below(sizeof(types) / sizeof(types[0]))], race);
}

/* --- worker ops --------------------------------------------------------- */

static int pick_worker(bool need_attach)
{
	int cand[MAX_WORKERS], n = 0;

	for (unsigned int w = 0; w < nworkers; w++) {
		bool has = false;

		for (int i = 0; i < MAX_ATT; i++)
			has |= wk[w].att[i].slot >= 0;
		if (!need_attach || has)
			cand[n++] = w;
	}
	return n ? cand[below(n)] : -1;
}

static struct attach *pick_attach(unsigned int w)
{
	int cand[MAX_ATT], n = 0;

	for (int i = 0; i < MAX_ATT; i++)
		if (wk[w].att[i].slot >= 0)
			cand[n++] = i;
	return n ? &wk[w].att[cand[below(n)]] : NULL;
}

/*
 * Add up to @max accesses by worker @w to @m, on pages no racing op and no
 * other worker of this step touches; the model takes the writes.
 */
static void plan_accesses(unsigned int w, struct wmsg *m, unsigned int max,
			  bool writes_only, bool known_only)
{
	unsigned int want = 1 + below(max), tries = want * 4;

	while (m->n < want && tries--) {
		struct attach *a = pick_attach(w);
		struct region *r;
		unsigned int p, kind, k = below(100);
		struct rpage *g;
		struct acc *x;

		if (!a)
			return;
		r = &reg[a->slot];
		/* mostly mapped pages: faults are the minority */
		p = below(NPAGES);
		for (int t = 0; t < 8 && r->pg[p].bp < 0 && !chance(15); t++)
			p = below(NPAGES);
		g = &r->pg[p];
		if (!page_valid(r, p) || g->mark == step ||
		    (g->bp >= 0 && bp[g->bp].mark == step))
			continue;
		kind = k < 45 ? A_RD : k < 80 ? A_WR : k < 85 ? A_GUP_RD : k < 90 ? A_GUP_WR :
		       k < 95 ? A_KC_RD : A_KC_WR;
		if (writes_only) {
			kind = A_WR;
			if (expect_of(r, p, kind, a->rw) != XP_OK || bp[g->bp].unknown)
				continue;
		}
		x = &m->acc[m->n++];
		memset(x, 0, sizeof(*x));
		x->kind = kind;
		x->page = p;
		x->addr = a->addr + page_off(p);
		x->expect = expect_of(r, p, kind, a->rw);
		x->bpg = g->bp;
		if (g->bp >= 0)
			bp[g->bp].mark = step;	/* one worker per backing page a step */
		cnt.acc[kind]++;
		if (x->expect != XP_OK) {
			cnt.faults++;
			continue;
		}
		if (kind == A_WR || kind == A_GUP_WR || kind == A_KC_WR) {
			x->tok = next_tok++;
			cnt.pages_written++;
			if (!known_only) {
				bp[g->bp].tok = x->tok;
				bp[g->bp].unknown = 0;
			}
		} else {
			x->tok = bp[g->bp].tok;
			x->alt = bp[g->bp].alt;
			x->unknown = bp[g->bp].unknown;
			cnt.pages_checked++;
		}
	}
}

static void check_reply(unsigned int w, const struct wmsg *m, const struct wrep *r)
{
	if (!r->status)
		return;
	if (r->status == 1 && r->idx < m->n) {
		const struct acc *a = &m->acc[r->idx];

		if (strncmp(r->msg, "data", 4))
			fail("worker %u, access %u (%s of page %u at 0x%" PRIx64 "): %s",
			     w, r->idx, acc_names[a->kind], a->page, a->addr, r->msg);
		fail("worker %u, access %u (%s of page %u at 0x%" PRIx64 ", token %" PRIu64
		     "%s): %s: got 0x%" PRIx64 ", want 0x%" PRIx64,
		     w, r->idx, acc_names[a->kind], a->page, a->addr, a->tok,
		     a->unknown ? " or the killed store's" : "", r->msg, r->got, r->want);
	}
	fail("worker %u: %s", w, r->msg);
}

/* An access step: several workers at once, maybe with a racing region op. */
static void do_access(void)
{
	static struct wmsg m[MAX_WORKERS];
	unsigned int used[MAX_WORKERS], nused = 0;
	unsigned int nw = 1 + below(nworkers < 4 ? nworkers : 4);
	struct rop race;
	bool racing = chance(70) && rop_any(&race, true);

	if (racing)
		rop_mark(&race);
	for (unsigned int i = 0; i < nw; i++) {
		int w = pick_worker(true);
		bool dup = false;

		if (w < 0)
			break;
		for (unsigned int j = 0; j < nused; j++)
			dup |= used[j] == (unsigned int)w;
		if (dup)
			continue;
		memset(&m[w], 0, offsetof(struct wmsg, acc));
		m[w].cmd = W_ACCESS;
		plan_accesses(w, &m[w], chance(20) ? MAX_ACC : 8, false, false);
		if (m[w].n)
			used[nused++] = w;
	}
	if (!nused && !racing) {
		op_begin(OP_ACCESS, "nothing attached");
		return;
	}
	op_begin(OP_ACCESS, "%u workers", nused);
	for (unsigned int i = 0; i < nused; i++) {
		const struct wmsg *x = &m[used[i]];

		if (verbose > 1)
			for (unsigned int j = 0; j < x->n; j++)
				printf("    w%u %s p%u at 0x%" PRIx64 " tok %" PRIu64 " expect %d\n",
				       used[i], acc_names[x->acc[j].kind], x->acc[j].page,
				       x->acc[j].addr, x->acc[j].tok, x->acc[j].expect);
		w_send(used[i], x);
	}
	if (racing) {
		rop_begin(&race, true);
		rop_exec(&race);
	}
	for (unsigned int i = 0; i < nused; i++) {
		struct wrep r;

		w_recv(used[i], &r);
		check_reply(used[i], &m[used[i]], &r);
	}
}

static int free_att(unsigned int w)
{
	for (int i = 0; i < MAX_ATT; i++)
		if (wk[w].att[i].slot < 0)
			return i;
	return -1;
}

static bool overlaps(uint64_t a, uint64_t al, uint64_t b, uint64_t bl)
{
	return a < b + bl && b < a + al;
}

static void do_attach(void)
{
	static struct wmsg m;
	int w = pick_worker(false), s = pick_region(false, false), i;
	struct region *r;
	enum { M_NULL, M_HINT, M_NOREPLACE, M_FIXED } method;
	const char *mnames[] = { "NULL", "hint", "FIXED_NOREPLACE", "FIXED" };
	bool rw = !ro_ok || chance(75), ro_fd = !rw && chance(50), bad = chance(5);
	int want = 0, over[MAX_ATT], nover = 0, over_att = -1;
	uint64_t addr = 0;
	char at[48];
	struct wrep rep;

	if (s < 0 || (i = free_att(w)) < 0)
		return;
	r = &reg[s];
	if (!r->linked && r->fd < 0)
		return;
	memset(&m, 0, offsetof(struct wmsg, acc));
	m.cmd = W_ATTACH;
	/* by path, or through the coordinator's fd (an unlinked region too) */
	if (r->fd >= 0 && (!r->linked || chance(50)))
		snprintf(m.path, sizeof(m.path), "/proc/%d/fd/%d", (int)getpid(), r->fd);
	else
		snprintf(m.path, sizeof(m.path), "%s", r->path);
	m.oflags = ro_fd ? O_RDONLY : O_RDWR;
	m.prot = rw ? PROT_READ | PROT_WRITE : PROT_READ;
	m.mflags = MAP_SHARED;
	m.size = r->sized ? r->size : align;
	method = below(4);
	if (method == M_FIXED) {
		struct attach *a = pick_attach(w);
		uint64_t hint_end = (HINT_BASE + HINT_SLOTS + 2) * align;

		/*
		 * Over one of the worker's attaches: one in the hint area (where
		 * nothing else is mapped), or one of the same size (a region
		 * attached where the kernel chose is near the worker's libraries
		 * and stack, which a larger one would clobber).
		 */
		if (a && (a->addr + m.size <= hint_end || reg[a->slot].size == m.size)) {
			addr = a->addr;
			over_att = a - wk[w].att;
		} else {
			method = M_NOREPLACE;
		}
	}
	if (method == M_HINT || method == M_NOREPLACE)
		addr = (HINT_BASE + below(HINT_SLOTS)) * align;
	m.addr = addr;
	m.mflags |= method == M_FIXED ? MAP_FIXED : method == M_NOREPLACE ?
		    MAP_FIXED_NOREPLACE : 0;
	for (int j = 0; j < MAX_ATT; j++) {
		struct attach *a = &wk[w].att[j];

		if (a->slot >= 0 && method != M_NULL &&
		    overlaps(addr, m.size, a->addr, reg[a->slot].size))
			over[nover++] = j;
	}
	/* in the order mmap() checks: the file's get_unmapped_area() first */
	if (!r->sized) {
		want = EINVAL;
	} else if (bad) {
		/* what an attach must refuse */
		switch (below(3)) {
		case 0:
			m.mflags = (m.mflags & ~MAP_SHARED) | MAP_PRIVATE;
			break;
		case 1:
			m.size /= 2;
			break;
		default:
			m.addr = HINT_BASE * align + PAGE;
			m.mflags = (m.mflags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
			nover = 0;
			break;
		}
		want = EINVAL;
	} else if (method == M_NOREPLACE && nover) {
		want = EEXIST;
	} else if (ro_fd && chance(20)) {
		m.prot |= PROT_WRITE;
		want = EACCES;
	} else if (method == M_FIXED) {
		/* replacing containers: only whole ones (a part cannot be split off) */
		for (int j = 0; j < nover; j++) {
			struct attach *a = &wk[w].att[over[j]];

			if (a->addr < addr || a->addr + reg[a->slot].size > addr + m.size)
				want = EINVAL;
		}
	}
	/* no address the kernel chose in the op's text: the hash must replay */
	if (method == M_FIXED)
		snprintf(at, sizeof(at), "over attach %d", over_att);
	else
		snprintf(at, sizeof(at), "0x%" PRIx64, m.addr);
	op_begin(OP_ATTACH, "w%d r%d by %s, %s%s on a %s fd, at %s %s size %" PRIu64
		 " GiB%s%s", w, s, m.path[1] == 'p' ? "/proc fd" : "path",
		 rw ? "rw" : "ro", m.prot & PROT_WRITE && !rw ? "+w" : "",
		 ro_fd ? "ro" : "rw", mnames[method], at, m.size >> 30,
		 m.mflags & MAP_PRIVATE ? " private" : "", want ? " (must fail)" : "");
	w_send(w, &m);
	w_recv(w, &rep);
	if (rep.status == 2)
		fail("worker %d: %s", w, rep.msg);
	check_errno("attach", rep.err ? -1 : 0, rep.err, want);
	if (want)
		return;
	if (rep.addr % align || !rep.addr)
		fail("attach at 0x%" PRIx64 ": not aligned", rep.addr);
	if ((method != M_NULL && method != M_HINT) && rep.addr != addr)
		fail("attach at 0x%" PRIx64 ", asked 0x%" PRIx64, rep.addr, addr);
	if (method == M_HINT && !nover && rep.addr != addr)
		fail("hinted attach at 0x%" PRIx64 ", the hint 0x%" PRIx64 " was free",
		     rep.addr, addr);
	for (int j = 0; j < nover; j++)
		if (method == M_FIXED)
			attach_gone(&wk[w].att[over[j]]);
	for (int j = 0; j < MAX_ATT; j++) {
		struct attach *a = &wk[w].att[j];

		if (a->slot >= 0 && overlaps(rep.addr, m.size, a->addr, reg[a->slot].size))
			fail("attach at 0x%" PRIx64 " overlaps the worker's attach at 0x%" PRIx64,
			     rep.addr, a->addr);
	}
	wk[w].att[i] = (struct attach){ .slot = s, .addr = rep.addr, .rw = rw };
	r->nattach++;
}

/* Send @cmd about one of a random worker's attaches: detach, abuse. */
static struct attach *attach_cmd(enum op type, uint32_t cmd)
{
	static struct wmsg m;
	int w = pick_worker(true);
	struct attach *a;
	struct wrep rep;

	if (w < 0)
		return NULL;
	a = pick_attach(w);
	memset(&m, 0, offsetof(struct wmsg, acc));
	m.cmd = cmd;
	m.addr = a->addr;
	m.size = reg[a->slot].size;
	op_begin(type, "w%d r%d attach %d", w, a->slot, (int)(a - wk[w].att));
	w_send(w, &m);
	w_recv(w, &rep);
	check_reply(w, &m, &rep);
	return a;
}

static void do_detach(void)
{
	struct attach *a = attach_cmd(OP_DETACH, W_DETACH);

	if (a)
		attach_gone(a);
}

static void do_fork(void)
{
	static struct wmsg m;
	int w = pick_worker(true);
	struct attach *a = NULL;
	struct wrep rep;

	if (w < 0)
		return;
	memset(&m, 0, offsetof(struct wmsg, acc));
	m.cmd = W_FORK;
	plan_accesses(w, &m, 16, false, false);
	if (chance(40)) {
		a = pick_attach(w);
		m.addr = a->addr;
		m.size = reg[a->slot].size;
	}
	op_begin(OP_FORK, "w%d child: %u accesses%s", w, m.n,
		 a ? ", the parent detaches meanwhile" : "");
	w_send(w, &m);
	w_recv(w, &rep);
	check_reply(w, &m, &rep);
	if (a)
		attach_gone(a);
}

static void do_exec_exit(enum op type)
{
	static struct wmsg m;
	int w = pick_worker(false);
	struct wrep rep;

	memset(&m, 0, offsetof(struct wmsg, acc));
	m.cmd = type == OP_EXEC ? W_EXEC : W_EXIT;
	op_begin(type, "w%d", w);
	w_send(w, &m);
	if (type == OP_EXEC) {
		w_recv(w, &rep);	/* the new image's "ready" */
		drop_attaches(w);
		return;
	}
	reap_worker(w, false);
	spawn_worker(w);
}

/* What the container refuses: mprotect, madvise, partial munmap, mremap. */
static void do_abuse(void)
{
	if (attach_cmd(OP_ABUSE, W_ABUSE))
		cnt.errors += 4;
}

/*
 * SIGKILL a worker in the middle of a store loop (the pages then hold the
 * old or the new pattern, word by word), an ioctl loop (protect to the
 * protection a range has, content-preserving advice) or an attach loop.
 */
static void do_kill(void)
{
	static struct wmsg m;
	static const char *const what[] = { "stores", "ioctls", "attaches" };
	int w = pick_worker(false), kind = below(3), s;
	unsigned int delay = below(3000);
	struct rop race;
	bool racing;
	struct wrep rep;

	memset(&m, 0, offsetof(struct wmsg, acc));
	if (kind == 0) {
		m.cmd = W_LOOP_WRITE;
		plan_accesses(w, &m, 16, true, true);
		if (!m.n)
			kind = 2;
	}
	if (kind == 1) {
		struct region *r;

		unsigned int p0, n, prot;

		s = pick_region(true, true);
		if (s < 0 || !pick_mapped_range(&reg[s], &p0, &n)) {
			kind = 2;
		} else {
			r = &reg[s];
			prot = r->pg[p0].prot;
			for (unsigned int i = 1; i < n; i++)
				if (r->pg[p0 + i].prot != prot)
					n = i;
			m.cmd = W_LOOP_IOCTL;
			m.prot = prot;
			m.arg = !!(prot & PROT_READ);	/* populating needs read */
			m.off = page_off(p0);
			m.len = (uint64_t)n * PAGE;
			m.oflags = O_RDWR;
			snprintf(m.path, sizeof(m.path), "/proc/%d/fd/%d", (int)getpid(), r->fd);
			mark_range(r, p0, n, false);
		}
	}
	if (kind == 2) {
		s = pick_region(false, true);
		if (s < 0 || (!reg[s].linked && reg[s].fd < 0)) {
			op_begin(OP_KILL, "w%d idle", w);
			kill(wk[w].pid, SIGKILL);
			reap_worker(w, true);
			spawn_worker(w);
			return;
		}
		m.cmd = W_LOOP_ATTACH;
		m.size = reg[s].size;
		m.prot = PROT_READ;
		m.oflags = O_RDONLY;
		m.off = page_off(below(NPAGES / 2));
		if (reg[s].fd >= 0)
			snprintf(m.path, sizeof(m.path), "/proc/%d/fd/%d", (int)getpid(),
				 reg[s].fd);
		else
			snprintf(m.path, sizeof(m.path), "%s", reg[s].path);
	}
	racing = chance(50) && rop_any(&race, true);
	if (racing)
		rop_mark(&race);
	op_begin(OP_KILL, "w%d in %s (%u), after %u us", w, what[kind],
		 kind == 0 ? m.n : 0, delay);
	w_send(w, &m);
	w_recv(w, &rep);	/* the loop has started */
	if (racing) {
		rop_begin(&race, true);
		rop_exec(&race);
	}
	usleep(delay);
	kill(wk[w].pid, SIGKILL);
	reap_worker(w, true);
	/* what the stores may have left: the old or the new pattern */
	for (unsigned int i = 0; i < m.n && kind == 0; i++) {
		struct bpage *b = &bp[m.acc[i].bpg];

		b->alt = m.acc[i].tok;
		b->unknown = 1;
	}
	spawn_worker(w);
}

static void do_stats(void)
{
	int s = pick_region(true, false);
	struct mshare_stats st;
	struct region *r;
	int ret;

	if (s < 0)
		return;
	r = &reg[s];
	op_begin(OP_STATS, "r%d", s);
	memset(&st, 0xff, sizeof(st));
	ret = ioctl(r->fd, MSHAREFS_GET_STATS, &st);
	check_errno("MSHAREFS_GET_STATS", ret, errno, 0);
	if (st.size != (r->sized ? r->size : 0) || (r->sized && st.align != align) ||
	    st.nr_attached != r->nattach || st.reserved[0] || st.reserved[1] ||
	    st.reserved[2])
		fail("stats: size %" PRIu64 " align %" PRIu64 " nr_attached %" PRIu64
		     "; the model: size %" PRIu64 ", %u attaches",
		     (uint64_t)st.size, (uint64_t)st.align, (uint64_t)st.nr_attached,
		     r->sized ? r->size : 0, r->nattach);
}

static void do_unlink(void)
{
	int cand[MAX_REGIONS], n = 0, s, ret;

	for (int i = 0; i < MAX_REGIONS; i++)
		if (reg[i].live && reg[i].linked)
			cand[n++] = i;
	if (!n)
		return;
	s = cand[below(n)];
	op_begin(OP_UNLINK, "r%d (%u attaches, fd %s)", s, reg[s].nattach,
		 reg[s].fd >= 0 ? "open" : "closed");
	ret = unlink(reg[s].path);
	check_errno("unlink", ret, errno, 0);
	reg[s].linked = false;
	region_maybe_free(s);
}

static void do_close(void)
{
	int s = pick_region(true, false);

	if (s < 0)
		return;
	op_begin(OP_CLOSE, "r%d (%u attaches, %s)", s, reg[s].nattach,
		 reg[s].linked ? "linked" : "unlinked");
	check_errno("close", close(reg[s].fd), errno, 0);
	reg[s].fd = -1;
	region_maybe_free(s);
}

static void do_reopen(void)
{
	int cand[MAX_REGIONS], n = 0, s;

	for (int i = 0; i < MAX_REGIONS; i++)
		if (reg[i].live && reg[i].linked && reg[i].fd < 0)
			cand[n++] = i;
	if (!n)
		return;
	s = cand[below(n)];
	op_begin(OP_REOPEN, "r%d", s);
	reg[s].fd = open(reg[s].path, O_RDWR | O_CLOEXEC);
	check_errno("reopen", reg[s].fd, errno, 0);
}

/* Size an unsized region, after trying what an unsized one refuses. */
static void do_unsized(void)
{
	int cand[MAX_REGIONS], n = 0, s, ret;

	for (int i = 0; i < MAX_REGIONS; i++)
		if (reg[i].live && !reg[i].sized && reg[i].fd >= 0)
			cand[n++] = i;
	if (!n)
		return;
	s = cand[below(n)];
	if (chance(20)) {
		op_begin(OP_MAP, "r%d p0+1 anon (unsized: must fail)", s);
		ret = region_map_anon(reg[s].fd, 0, PAGE);
		check_errno("MSHAREFS_CREATE_MAPPING on an unsized region", ret, errno, EINVAL);
	}
	do_size(s);
}

static void do_region_op(enum op type)
{
	struct rop o;

	if (!rop_plan(&o, type, false))
		return;
	rop_begin(&o, false);
	rop_exec(&o);
}

static void one_step(void)
{
	unsigned int wt[NR_OPS] = { 0 }, total = 0, k;
	int live = 0, free_slot = 0;

	for (int i = 0; i < MAX_REGIONS; i++) {
		live += reg[i].live;
		free_slot |= !reg[i].live;
	}
	wt[OP_CREATE] = !free_slot ? 0 : live < 2 ? 20 : 2;
	wt[OP_SIZE] = 12;
	wt[OP_MAP] = 14;
	wt[OP_UNMAP] = 4;
	wt[OP_PROTECT] = 6;
	wt[OP_ADVISE] = 9;
	wt[OP_PWRITE] = 2;
	wt[OP_PREAD] = 2;
	wt[OP_ATTACH] = 8;
	wt[OP_DETACH] = 3;
	wt[OP_ACCESS] = 24;
	wt[OP_FORK] = 3;
	wt[OP_EXEC] = 1;
	wt[OP_EXIT] = 1;
	wt[OP_KILL] = 2;
	wt[OP_UNLINK] = 1;
	wt[OP_CLOSE] = 1;
	wt[OP_REOPEN] = 2;
	wt[OP_STATS] = 3;
	wt[OP_ABUSE] = 1;
	for (int i = 0; i < NR_OPS; i++)
		total += wt[i];
	k = below(total);
	for (int i = 0; i < NR_OPS; i++) {
		if (k >= wt[i]) {
			k -= wt[i];
			continue;
		}
		switch (i) {
		case OP_CREATE: {
			int s = do_create();

			if (chance(80))
				do_size(s);
			break;
		}
		case OP_SIZE:
			do_unsized();
			break;
		case OP_MAP:
		case OP_UNMAP:
		case OP_PROTECT:
		case OP_ADVISE:
		case OP_PWRITE:
		case OP_PREAD:
			do_region_op(i);
			break;
		case OP_ATTACH:
			do_attach();
			break;
		case OP_DETACH:
			do_detach();
			break;
		case OP_ACCESS:
			do_access();
			break;
		case OP_FORK:
			do_fork();
			break;
		case OP_EXEC:
		case OP_EXIT:
			do_exec_exit(i);
			break;
		case OP_KILL:
			do_kill();
			break;
		case OP_UNLINK:
			do_unlink();
			break;
		case OP_CLOSE:
			do_close();
			break;
		case OP_REOPEN:
			do_reopen();
			break;
		case OP_STATS:
			do_stats();
			break;
		default:
			do_abuse();
			break;
		}
		break;
	}
	step++;
}

/* --- set-up and tear-down ----------------------------------------------- */

static void backing_open(int b, const char *dir, uint32_t pages)
{
	char ro[64];

	if (b == B_MEMFD) {
		bfd[b] = memfd_create("fuzz-memfd", MFD_CLOEXEC);
		snprintf(ro, sizeof(ro), "/proc/self/fd/%d", bfd[b]);
	} else {
		snprintf(bpath[b], sizeof(bpath[b]), "%s/fuzz.%d", dir, (int)getpid());
		bfd[b] = open(bpath[b], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		snprintf(ro, sizeof(ro), "%s", bpath[b]);
	}
	if (bfd[b] < 0 || ftruncate(bfd[b], (off_t)pages * PAGE))
		tap_bail("cannot make a backing file");
	bfd_ro[b] = open(ro, O_RDONLY | O_CLOEXEC);
	if (bfd_ro[b] < 0)
		tap_bail("cannot open a backing file read-only");
	bpages[b] = pages;
	bbase[b] = bp_alloc(pages);
}

/*
 * What this kernel offers, which the op sequence depends on: PROT_EXEC
 * and read-only attaches need the MMU to enforce an attach's rights in
 * the linking entry (EOPNOTSUPP otherwise).
 */
static void probe_features(void)
{
	char path[128];
	int fd;
	void *p;

	snprintf(path, sizeof(path), "%s/fuzz.%d.probe", mshare_mnt(), (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, align))
		tap_bail("cannot create the probe region");
	exec_ok = !region_map(fd, 0, PAGE, PROT_READ | PROT_EXEC,
			      MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
	if (!exec_ok && errno != EOPNOTSUPP)
		tap_bail("cannot map the probe region");
	p = mmap(NULL, align, PROT_READ, MAP_SHARED, fd, 0);
	ro_ok = p != MAP_FAILED;
	if (!ro_ok && errno != EOPNOTSUPP)
		tap_bail("cannot attach the probe region");
	if (ro_ok)
		munmap(p, align);
	close(fd);
	unlink(path);
}

/*
 * Transparent huge pages for anonymous region memory where advised
 * (shmem_enabled=advise, 2 MiB inheriting it) and 64 KiB folios always
 * (contpte blocks on arm64): partial unmap, protect and remove then split
 * them. Put back at exit.
 */
#define THP	"/sys/kernel/mm/transparent_hugepage/"
static const char *const thp_knob[] = {
	THP "shmem_enabled", THP "hugepages-2048kB/shmem_enabled",
	THP "hugepages-64kB/shmem_enabled",
};
static const char *const thp_want[] = { "advise", "inherit", "always" };
static char thp_old[3][24];

static bool knob_rw(const char *file, char *old, size_t len, const char *val)
{
	char text[160], *l, *r;
	int fd = open(file, O_RDWR | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);
	bool ok = false;

	if (n > 0) {
		text[n] = '\0';
		l = strchr(text, '[');
		r = l ? strchr(l, ']') : NULL;
		if (old && r && (size_t)(r - l) < len) {
			memcpy(old, l + 1, r - l - 1);
			old[r - l - 1] = '\0';
		}
		ok = pwrite(fd, val, strlen(val), 0) == (ssize_t)strlen(val);
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

static void thp_restore(void)
{
	for (int i = 2; i >= 0; i--)
		if (thp_old[i][0])
			knob_rw(thp_knob[i], NULL, 0, thp_old[i]);
}

static bool thp_setup(void)
{
	bool any = false;

	for (int i = 0; i < 3; i++)
		any |= knob_rw(thp_knob[i], thp_old[i], sizeof(thp_old[i]), thp_want[i]);
	return any;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The coordinator: returns (exits with) 0 if the model held throughout. */
static int __attribute__((noreturn)) coordinator(void)
{
	double t0 = now();
	const char *disk = getenv("VM_DISK");
	struct wmsg m;

	rng_seed(seed);
	zones_init();
	backing_open(B_MEMFD, NULL, FILE_PAGES);
	backing_open(B_TMPFS, "/dev/shm", FILE_PAGES);
	have_disk = disk && *disk && !access(disk, W_OK);
	if (have_disk)
		backing_open(B_DISK, disk, DISK_PAGES);
	for (unsigned int w = 0; w < nworkers; w++)
		spawn_worker(w);

	while ((!max_ops || op_index < max_ops) && (!time_limit || now() - t0 < time_limit))
		one_step();

	/* tear down: every worker exits, every region goes */
	memset(&m, 0, sizeof(m));
	m.cmd = W_EXIT;
	for (unsigned int w = 0; w < nworkers; w++) {
		w_send(w, &m);
		reap_worker(w, false);
	}
	for (int s = 0; s < MAX_REGIONS; s++) {
		if (reg[s].live && reg[s].linked && unlink(reg[s].path))
			fail("unlink %s: %s", reg[s].path, strerror(errno));
		if (reg[s].live && reg[s].fd >= 0)
			close(reg[s].fd);
	}
	for (int b = B_MEMFD; b < NR_BACKINGS; b++) {
		if (b == B_DISK && !have_disk)
			continue;
		close(bfd[b]);
		close(bfd_ro[b]);
		if (bpath[b][0])
			unlink(bpath[b]);
	}

	printf("ops: %" PRIu64 " in %.1f s, %" PRIu64 " steps, %" PRIu64 " raced with accesses, "
	       "%" PRIu64 " errors as the model wanted\n", op_index, now() - t0,
	       (uint64_t)step - 1, cnt.raced, cnt.errors);
	printf("per op:");
	for (int i = 0; i < NR_OPS; i++)
		printf(" %s %" PRIu64, op_names[i], cnt.ops[i]);
	printf("\nadvice:");
	for (unsigned int i = 0; i < NR_ADVICE; i++)
		printf(" %s %" PRIu64, advice_names[i], cnt.advice[i]);
	printf("\nmaps:");
	for (int i = 0; i < NR_BACKINGS; i++)
		printf(" %s %" PRIu64, backing_names[i], cnt.backing[i]);
	printf("\naccesses:");
	for (int i = 0; i < NR_ACC_KINDS; i++)
		printf(" %s %" PRIu64, acc_names[i], cnt.acc[i]);
	printf("; %" PRIu64 " faults as the model wanted, %" PRIu64 " pages written, %"
	       PRIu64 " pages read and checked, 0 mismatches; %" PRIu64 " workers started\n",
	       cnt.faults, cnt.pages_written, cnt.pages_checked, cnt.spawned);
	printf("op-hash: %016" PRIx64 "\n", op_hash);
	fflush(stdout);
	exit(0);
}

/* --- the supervisor: runs the coordinator, then checks for leaks -------- */

static const char *const mem_keys[] = {
	"MemFree", "SUnreclaim", "Slab", "Shmem", "PageTables", "SwapFree", "Cached",
};
#define NR_MEM	(sizeof(mem_keys) / sizeof(mem_keys[0]))

static bool mem_snap(long *v)
{
	bool ok = settle_memory();

	for (unsigned int i = 0; i < NR_MEM; i++)
		v[i] = proc_kb("/proc/meminfo", mem_keys[i]);
	return ok;
}

static bool mem_within(const long *d)
{
	return -d[0] <= MEM_TOL_MEMFREE_KB && d[1] <= MEM_TOL_SUNRECL_KB &&
	       d[3] <= MEM_TOL_EXACT_KB && d[4] <= MEM_TOL_EXACT_KB &&
	       -d[5] <= MEM_TOL_SWAP_KB && d[6] <= MEM_TOL_CACHED_KB;
}

/* Entries of the mount named fuzz.PID.*, removed (a failed run leaves them). */
static unsigned int leftovers(pid_t pid)
{
	char prefix[32];
	unsigned int n = 0;
	struct dirent *e;
	DIR *d = opendir(mshare_mnt());

	if (!d)
		return ~0U;
	snprintf(prefix, sizeof(prefix), "fuzz.%d.", (int)pid);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix))) {
			printf("left in the mount: %s\n", e->d_name);
			unlinkat(dirfd(d), e->d_name, 0);
			n++;
		}
	closedir(d);
	return n;
}

static int supervise(void)
{
	long before[NR_MEM], after[NR_MEM], d[NR_MEM];
	bool mem_ok, thp, ok = true;
	int st;
	pid_t pid;

	align = mshare_align_raw();
	probe_features();
	thp = thp_setup();
	printf("mshare-fuzz: seed %" PRIu64 ", ops %" PRIu64 ", procs %u, time limit %.0f s, "
	       "exec %s, read-only attach %s, THP %s, ext4 file %s\n", seed, max_ops, nworkers,
	       time_limit,
	       exec_ok ? "yes" : "no", ro_ok ? "yes" : "no", thp ? "advise/64K" : "off",
	       getenv("VM_DISK") ? "yes" : "no");
	fflush(stdout);
	mem_ok = mem_snap(before);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid)
		coordinator();
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		printf("FAIL: the run failed (status 0x%x); seed %" PRIu64 "\n", st, seed);
		ok = false;
	}
	if (thp)
		thp_restore();
	if (leftovers(pid)) {
		printf("FAIL: regions left in %s\n", mshare_mnt());
		ok = false;
	}
	if (!mem_ok) {
		printf("memory: not checked (cannot drop caches)\n");
		goto out;
	}
	/*
	 * Objects freed by RCU and the last exiting tasks' stacks come back
	 * a little after the workers are reaped: a leak stays, noise does
	 * not, so measure again (up to MEM_TRIES, MEM_RETRY_MS apart) before
	 * calling it a leak.
	 */
	for (unsigned int t = 0; t < MEM_TRIES; t++) {
		if (t)
			usleep(MEM_RETRY_MS * 1000);
		mem_snap(after);
		for (unsigned int i = 0; i < NR_MEM; i++)
			d[i] = after[i] - before[i];
		if (mem_within(d))
			break;
	}
	printf("memory after - before (kB):");
	for (unsigned int i = 0; i < NR_MEM; i++)
		printf(" %s %+ld", mem_keys[i], d[i]);
	printf("\n");
	if (ok && !mem_within(d)) {
		printf("FAIL: memory did not come back (tolerances: MemFree %d kB, "
		       "SUnreclaim %d kB, Shmem/PageTables %d kB, SwapFree %d kB, "
		       "Cached %d kB)\n", MEM_TOL_MEMFREE_KB, MEM_TOL_SUNRECL_KB,
		       MEM_TOL_EXACT_KB, MEM_TOL_SWAP_KB, MEM_TOL_CACHED_KB);
		ok = false;
	}
out:
	printf("%s: seed %" PRIu64 "\n", ok ? "PASS" : "FAIL", seed);
	return ok ? 0 : 1;
}

/* --- --pattern: a region's memory for tools/fuzz-trinity ----------------- */

static volatile sig_atomic_t stop_flag;

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/*
 * fill:  write the pattern of SALT into [OFFSET, OFFSET + SIZE);
 * check: check it once;
 * watch: check it over and over until SIGTERM (exit 1 at the first
 *        mismatch): a region nobody may change must not change;
 * touch: store and load over and over until SIGTERM, checking nothing
 *        (the fuzzer may change the memory too).
 */
static int pattern(int argc, char **argv)
{
	static const char *const modes[] = { "fill", "check", "watch", "touch" };
	struct sigaction sa = { .sa_handler = on_term };
	uint64_t off, size, salt, rounds = 0;
	int mode = -1, fd;
	struct stat st;
	uint64_t *p;

	for (int i = 0; i < 4 && argc == 5; i++)
		if (!strcmp(argv[0], modes[i]))
			mode = i;
	if (mode < 0) {
		fprintf(stderr, "usage: %s --pattern fill|check|watch|touch PATH OFFSET SIZE SALT\n",
			prog);
		return 2;
	}
	off = strtoull(argv[2], NULL, 0);
	size = strtoull(argv[3], NULL, 0);
	salt = strtoull(argv[4], NULL, 0);
	sigaction(SIGTERM, &sa, NULL);
	fd = open(argv[1], (mode == 0 || mode == 3 ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "%s: %s: %s\n", prog, argv[1], strerror(errno));
		return 1;
	}
	p = mmap(NULL, st.st_size, mode == 0 || mode == 3 ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "%s: attach %s: %s\n", prog, argv[1], strerror(errno));
		return 1;
	}
	do {
		for (uint64_t pg = off / PAGE; pg < (off + size) / PAGE; pg++) {
			uint64_t *q = p + pg * WORDS, tok = (salt << 24) + pg + 1;
			int w;

			if (mode == 0 || mode == 3)
				fill(q, mode == 3 ? tok + rounds : tok);
			if (mode == 0)
				continue;
			w = bad_word(q, tok, 0, false);
			if (w >= 0 && mode != 3) {
				fprintf(stderr, "%s: %s: page %" PRIu64 " word %d is 0x%" PRIx64
					", want 0x%" PRIx64 " (round %" PRIu64 ")\n", prog, argv[1],
					pg, w, q[w], pat(tok, w), rounds);
				return 1;
			}
		}
		rounds++;
		if (mode >= 2)
			usleep(20000);
	} while (mode >= 2 && !stop_flag);
	if (mode == 2)
		printf("%s: %s: %" PRIu64 " checks, all intact\n", prog, argv[1], rounds);
	munmap(p, st.st_size);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--ops N (0: no limit)] [--procs N] [--time S] [-v]...\n"
		"       %s --pattern fill|check|watch|touch PATH OFFSET SIZE SALT\n", prog, prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "procs", required_argument, NULL, 'p' },
		{ "time", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pattern", no_argument, NULL, 'P' },
		{ "worker", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	bool seeded = false;
	int c;

	prog = argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "+s:n:p:t:v", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'n':
			max_ops = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			nworkers = atoi(optarg);
			if (nworkers < 1 || nworkers > MAX_WORKERS)
				usage();
			break;
		case 't':
			time_limit = atof(optarg);
			break;
		case 'v':
			verbose++;
			break;
		case 'P':
			return pattern(argc - optind, argv + optind);
		case 'W':
			worker_main();
		default:
			usage();
		}
	}
	/* --ops 0: as many as --time allows */
	if (optind != argc || (!max_ops && !time_limit))
		usage();
	if (!seeded)
		seed = (uint64_t)time(NULL);
	require_msharefs();
	return supervise();
}
