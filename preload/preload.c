// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmshare-preload.so: serve a program's large shared anonymous mappings
 * from msharefs regions, without changing the program.
 *
 *   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libmshare-preload.so \
 *   MSHARE_PRELOAD=1 program ...
 *
 * With MSHARE_PRELOAD=1, an mmap(NULL, length, PROT_READ | PROT_WRITE,
 * MAP_SHARED | MAP_ANONYMOUS, -1, 0) of at least MSHARE_PRELOAD_MIN bytes
 * (default 64 MiB; a number with an optional K, M, G or T suffix) is
 * served from a new anonymous region "preload.<pid>.<n>" in the msharefs
 * mount (LIBMSHARE_PATH chooses another). MAP_NORESERVE, MAP_POPULATE and
 * MAP_HUGETLB (of the default huge page size) may be added. The region is
 * unlinked as soon as it is attached, so nothing is left behind when the
 * process exits. Processes forked afterwards inherit the attach, and
 * their page tables for it are shared; that is how a server that maps
 * its shared memory once and forks its workers (the PostgreSQL
 * postmaster) opts in.
 *
 * The address returned is the base of the attach, which is the region
 * size: the length rounded up to the alignment (512 GiB on x86-64). Only
 * the first length bytes hold memory; the rest of the attach is address
 * space that faults (SIGSEGV) like any hole. munmap(addr, length) of the
 * whole mapping detaches it.
 *
 * Limits, all the kernel's rules for an attach: a served mapping cannot
 * be partly unmapped, mremap()ed, mprotect()ed or madvise()d (EINVAL);
 * mlock() succeeds and does nothing to it. MAP_NORESERVE is accepted, but
 * the region's memory is committed as if it were not given (which counts
 * with vm.overcommit_memory=2). At most 256 mappings are served at once.
 * Anything else is left to the C library's mmap(): private, file or
 * smaller mappings, an address hint, MAP_FIXED, a protection other than
 * read-write, other flags. Exec'd programs start afresh: they are served
 * only if the environment still asks for it.
 *
 * When a mapping cannot be served (no msharefs, no permission, no
 * memory...), the real mmap() is called instead. MSHARE_PRELOAD_VERBOSE=1
 * prints the first reason a process met on stderr, once, as
 * "libmshare-preload: ..."; nothing is printed otherwise (a child forked
 * after the message does not repeat it). An invalid MSHARE_PRELOAD_MIN
 * leaves the default in force, and is such a reason; an empty one is as
 * if unset.
 *
 * Implementation: decide.c decides, this file acts. The shim's own calls
 * into libmshare (linked in statically) and libmount mmap and munmap too;
 * a thread-local flag sends those straight to the C library's functions.
 */
/*
 * The build asks for a 64-bit off_t, which makes the headers rename mmap
 * to mmap64; this file defines both under their own names.
 */
#undef _FILE_OFFSET_BITS
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libmshare.h"
#include "decide.h"
#include "hugepage.h"

#define EXPORT __attribute__((visibility("default")))

/* mmap64 is mmap on 64-bit systems, the only ones msharefs has. */
_Static_assert(sizeof(off_t) == sizeof(off64_t), "off_t is not 64-bit");

typedef void *mmap_fn(void *, size_t, int, int, int, off_t);
typedef int munmap_fn(void *, size_t);
typedef void *mremap_fn(void *, size_t, size_t, int, ...);

/* The C library's functions, found with dlsym(RTLD_NEXT) on first use. */
static mmap_fn *next_mmap;
static munmap_fn *next_munmap;
static mremap_fn *next_mremap;

/*
 * Set while this thread runs the shim's own work: the mmap() and munmap()
 * calls it makes through libmshare and libmount come back here, and must
 * go to the C library. initial-exec: the shim is preloaded, its TLS is
 * static, and reaching it never allocates (which could mmap).
 */
static __thread bool in_shim __attribute__((tls_model("initial-exec")));
/* Set while dlsym() runs: it may allocate, and so mmap, before we know where mmap is. */
static __thread bool resolving __attribute__((tls_model("initial-exec")));

static struct preload_config cfg;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static size_t page_size = 4096;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct preload_table table;
/* table.used, readable without the lock: most calls need not take it. */
static atomic_uint served;

/* Whether the one message of this process has been printed. */
static atomic_bool told;

static void *resolve(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (f || resolving)
		return f;
	resolving = true;
	f = dlsym(RTLD_NEXT, name);
	resolving = false;
	if (f)
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	return f;
}

/* Until dlsym() has answered, the system calls stand in for the C library. */
static void *real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		       off_t offset)
{
	mmap_fn *f = resolve((void **)&next_mmap, "mmap");

	if (!f)
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
	return f(addr, len, prot, flags, fd, offset);
}

static int real_munmap(void *addr, size_t len)
{
	munmap_fn *f = resolve((void **)&next_munmap, "munmap");

	if (!f)
		return syscall(SYS_munmap, addr, len);
	return f(addr, len);
}

static void *real_mremap(void *old, size_t old_size, size_t new_size,
			 int flags, void *new_addr)
{
	mremap_fn *f = resolve((void **)&next_mremap, "mremap");

	if (!f)
		return (void *)syscall(SYS_mremap, old, old_size, new_size, flags,
				       new_addr);
	return f(old, old_size, new_size, flags, new_addr);
}

/*
 * Say why on stderr, the first time only, and only when verbose. write(2)
 * rather than stdio: no lock, no buffer to allocate, whatever state the
 * caller's stdio is in.
 */
__attribute__((format(printf, 1, 2)))
static void tell(const char *fmt, ...)
{
	static const char prefix[] = "libmshare-preload: ";
	char line[2048];
	size_t n = sizeof(prefix) - 1;
	va_list ap;
	int saved = errno;

	if (!cfg.verbose || atomic_exchange(&told, true))
		return;
	memcpy(line, prefix, n);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	n = strlen(line);
	line[n++] = '\n';
	for (size_t off = 0; off < n;) {
		ssize_t w = write(STDERR_FILENO, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += w;
	}
	errno = saved;
}

static void cfg_load(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	if (ps > 0)
		page_size = ps;
	preload_config_parse(&cfg, getenv("MSHARE_PRELOAD"),
			     getenv("MSHARE_PRELOAD_MIN"),
			     getenv("MSHARE_PRELOAD_VERBOSE"));
	if (cfg.enabled && cfg.why[0])
		tell("%s", cfg.why);
}

static void table_update(void)
{
	atomic_store(&served, table.used);
}

/*
 * Serve a mapping: create a region for it, attach it, unlink it, note the
 * attach and close the handle (the attach stays). NULL with the reason in
 * @why on failure, leaving nothing behind.
 */
static void *serve(const struct preload_plan *plan, size_t length, char *why,
		   size_t why_len)
{
	static atomic_ulong counter;
	struct preload_entry entry = { 0 };
	struct mshare_region *r = NULL;
	const char *what;
	char name[64];
	int err;

	if (atomic_load(&served) >= PRELOAD_TABLE_SIZE) {
		snprintf(why, why_len, "%d mappings are served already, all the shim "
			 "keeps track of", PRELOAD_TABLE_SIZE);
		return NULL;
	}
	/*
	 * A name left by a process that had this pid and died between
	 * create and unlink, or one of another pid namespace: take the next.
	 */
	for (int tries = 0; tries < 8; tries++) {
		snprintf(name, sizeof(name), "preload.%d.%lu", (int)getpid(),
			 atomic_fetch_add(&counter, 1));
		r = mshare_create_anon(name, plan->size, 0600, plan->mshare_flags);
		if (r || errno != EEXIST)
			break;
	}
	if (!r) {
		const char *path = getenv("LIBMSHARE_PATH");
		char mnt[PATH_MAX];
		int saved = errno;

		/* the common failure, said in its own words */
		err = mshare_find_mount(NULL, mnt, sizeof(mnt));
		if (err && path && *path)
			snprintf(why, why_len, "LIBMSHARE_PATH=%.256s is not an msharefs "
				 "mount: %s", path, strerror(-err));
		else if (err == -ENOENT)
			snprintf(why, why_len, "no msharefs mount in /proc/self/mountinfo");
		else if (err)
			snprintf(why, why_len, "cannot find the msharefs mount: %s",
				 strerror(-err));
		else
			snprintf(why, why_len, "cannot create region %s of %llu bytes in "
				 "%.1024s: %s", name, (unsigned long long)plan->size, mnt,
				 strerror(saved));
		return NULL;
	}

	entry.addr = (uintptr_t)mshare_addr(r);
	entry.length = ((uint64_t)length + page_size - 1) & ~((uint64_t)page_size - 1);
	what = "unlink";
	err = mshare_unlink(name);
	if (!err) {
		what = "read the size of";
		err = mshare_get_size(r, &entry.attach_size);
	}
	if (!err) {
		what = "note";
		pthread_mutex_lock(&table_lock);
		err = preload_table_add(&table, &entry) ? 0 : -ENOSPC;
		table_update();
		pthread_mutex_unlock(&table_lock);
	}
	if (err) {
		mshare_detach(r);
		mshare_close(r);
		snprintf(why, why_len, "cannot %s region %s: %s", what, name,
			 strerror(-err));
		return NULL;
	}
	mshare_close(r);
	return (void *)entry.addr;
}

/* The C library's mmap(), and a MAP_FIXED one may have replaced attaches. */
static void *pass_mmap(void *addr, size_t length, int prot, int flags, int fd,
		       off_t offset)
{
	void *p;

	if (!(flags & MAP_FIXED) || !atomic_load(&served))
		return real_mmap(addr, length, prot, flags, fd, offset);
	pthread_mutex_lock(&table_lock);
	p = real_mmap(addr, length, prot, flags, fd, offset);
	if (p != MAP_FAILED) {
		preload_table_forget(&table, p, length);
		table_update();
	}
	pthread_mutex_unlock(&table_lock);
	return p;
}

static void *shim_mmap(void *addr, size_t length, int prot, int flags, int fd,
		       off_t offset)
{
	const struct preload_call call = {
		.addr = addr, .length = length, .prot = prot,
		.flags = flags, .fd = fd, .offset = offset,
	};
	char why[1536];
	struct preload_plan plan;
	int saved = errno;
	void *p = NULL;

	if (in_shim)
		return real_mmap(addr, length, prot, flags, fd, offset);
	pthread_once(&cfg_once, cfg_load);
	if (!cfg.enabled)
		return pass_mmap(addr, length, prot, flags, fd, offset);

	in_shim = true;
	switch (preload_decide(&cfg, &call, page_size,
			       flags & MAP_HUGETLB ? default_hugepage_size() : 0, &plan)) {
	case PRELOAD_SERVE:
		p = serve(&plan, length, why, sizeof(why));
		if (!p)
			tell("mmap of %zu bytes not served: %s", length, why);
		break;
	case PRELOAD_DECLINE:
		tell("mmap of %zu bytes not served: %s", length, plan.why);
		break;
	case PRELOAD_IGNORE:
		break;
	}
	in_shim = false;
	/* what the shim tried is its own business: errno is the call's */
	errno = saved;
	return p ? p : pass_mmap(addr, length, prot, flags, fd, offset);
}

EXPORT void *mmap(void *addr, size_t length, int prot, int flags, int fd,
		  off_t offset)
{
	return shim_mmap(addr, length, prot, flags, fd, offset);
}

EXPORT void *mmap64(void *addr, size_t length, int prot, int flags, int fd,
		    off64_t offset)
{
	return shim_mmap(addr, length, prot, flags, fd, offset);
}

EXPORT int munmap(void *addr, size_t len)
{
	struct preload_entry *e;
	int ret;

	if (in_shim || !atomic_load(&served))
		return real_munmap(addr, len);
	/* held across the unmap: no mmap() can reuse the range meanwhile */
	pthread_mutex_lock(&table_lock);
	e = preload_table_find(&table, addr);
	if (e && preload_munmap_detaches(e, addr, len, page_size)) {
		/* the kernel detaches only for the whole attach */
		ret = real_munmap(addr, e->attach_size);
		if (!ret)
			preload_table_remove(&table, e);
	} else {
		ret = real_munmap(addr, len);
		if (!ret)
			preload_table_forget(&table, addr, len);
	}
	table_update();
	pthread_mutex_unlock(&table_lock);
	return ret;
}

/*
 * A served mapping cannot be resized or moved: EINVAL. Its size is the
 * region's, fixed once when the region was sized; the region is unlinked
 * and its handle closed, so no memory can be added to it; and a copy in
 * a new region would no longer be shared with the processes forked
 * before. The kernel refuses mremap() of an attach too; the shim answers
 * for any address in an attach it served without asking, so that the
 * answer and its table never depend on what the kernel let through.
 */
EXPORT void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
	void *new_addr = NULL, *p;

	/* as the C library reads it: only MREMAP_FIXED passes an address */
	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (in_shim || !atomic_load(&served))
		return real_mremap(old, old_size, new_size, flags, new_addr);
	pthread_mutex_lock(&table_lock);
	if (preload_table_find_containing(&table, old)) {
		pthread_mutex_unlock(&table_lock);
		errno = EINVAL;
		return MAP_FAILED;
	}
	p = real_mremap(old, old_size, new_size, flags, new_addr);
	if (p != MAP_FAILED && (flags & MREMAP_FIXED)) {
		preload_table_forget(&table, new_addr, new_size);
		table_update();
	}
	pthread_mutex_unlock(&table_lock);
	return p;
}

/*
 * fork() while another thread holds the table lock would leave it held
 * forever in the child. The child gets the table with the attaches it
 * describes, so its munmap() detaches its own copies.
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&table_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&table_lock);
}

static void fork_child(void)
{
	pthread_mutex_init(&table_lock, NULL);
}

/*
 * The settings are read here, so that a bad one is reported even by a
 * program that maps nothing, and on the first mmap() if that comes first
 * (another library's constructor).
 */
__attribute__((constructor))
static void preload_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	pthread_once(&cfg_once, cfg_load);
}
