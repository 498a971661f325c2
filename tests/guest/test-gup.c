// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Kernel users of region memory: the get_user_pages paths (DESIGN §4.2
 * "GUP", §4.3). Through a read-write attach, io_uring fixed buffers,
 * O_DIRECT reads and writes on the ext4 disk ($VM_DISK), shared futexes,
 * PTHREAD_PROCESS_SHARED mutexes and condition variables, process_vm_readv
 * and process_vm_writev, and /proc/PID/mem all work, and what they move is
 * what other sharers, attached at other addresses, see. Through a
 * read-only attach every write pin fails and leaves memory as it was
 * (a store is SIGSEGV SEGV_ACCERR; process_vm_writev EFAULT; a
 * /proc/PID/mem write EFAULT or EIO; io_uring buffer registration fails;
 * an O_DIRECT read into it EFAULT), while read pins (O_DIRECT write from
 * it, process_vm_readv, /proc/PID/mem reads) and futexes work.
 *
 * The other sharers are peer processes: forked, they drop the inherited
 * attach, attach by path at another aligned address (read-write or
 * read-only) and run the parent's commands.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "guest.h"
#include "pattern.h"
#include "uring.h"

#define KIB		1024UL
#define MIB		(1024 * KIB)
#define MAP_LEN		(32 * MIB)

/* Where each test works in the region's anonymous memory. */
#define OFF_IOU		(0 * MIB)	/* 1 MiB */
#define OFF_DIO		(2 * MIB)	/* 1 MiB */
#define OFF_DIO2	(4 * MIB)	/* 1 MiB */
#define OFF_FUTEX	(6 * MIB)
#define OFF_PT		(6 * MIB + 4 * KIB)
#define OFF_PVM		(7 * MIB)	/* 256 KiB */
#define OFF_PVM2	(8 * MIB)
#define OFF_MEM		(9 * MIB)
#define OFF_MEM2	(10 * MIB)
#define OFF_RO_STORE	(16 * MIB)	/* a page */
#define OFF_RO_NEW	(16 * MIB + 64 * KIB)	/* a page nobody touched */
#define OFF_RO_PVM	(17 * MIB)	/* 64 KiB */
#define OFF_RO_MEM	(18 * MIB)
#define OFF_RO_IOU	(19 * MIB)	/* 1 MiB */
#define OFF_RO_DIO	(21 * MIB)
#define OFF_RO_DIOW	(23 * MIB)
#define OFF_RO_FUTEX	(25 * MIB)
#define PVM_LEN		(256 * KIB)
#define RO_LEN		(64 * KIB)

#define PT_PROCS	3
#define PT_ITERS	10000

static uint64_t align;
static uint8_t *base;		/* the parent's read-write attach */
static char region[512];

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

/* A store that may fault: 0, or the SIGSEGV's si_code. */
static sigjmp_buf probe_env;
static volatile sig_atomic_t probing;
static volatile int fault_code;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!probing) {
		signal(sig, SIG_DFL);
		return;
	}
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	probing = 0;
	siglongjmp(probe_env, 1);
}

static int __attribute__((noinline)) probe_store(uint32_t *p, uint32_t v)
{
	struct sigaction sa = {
		.sa_sigaction = on_segv,
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(probe_env, 0))
		return fault_code;
	probing = 1;
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
	probing = 0;
	return 0;
}

/* pthread objects shared by the processes of test (d). */
struct pt {
	pthread_mutex_t m;
	pthread_cond_t c;
	uint32_t arrived;
	uint64_t counter;
};

/* Meet the others under the mutex and condvar, then count: 0 or an error. */
static int pt_count(struct pt *pt, unsigned int nproc, unsigned int iters)
{
	struct timespec dl;
	int r;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 60;
	r = pthread_mutex_lock(&pt->m);
	if (r)
		return r;
	if (++pt->arrived == nproc)
		r = pthread_cond_broadcast(&pt->c);
	while (!r && pt->arrived < nproc)
		r = pthread_cond_timedwait(&pt->c, &pt->m, &dl);
	pthread_mutex_unlock(&pt->m);
	for (unsigned int i = 0; !r && i < iters; i++) {
		r = pthread_mutex_lock(&pt->m);
		if (!r) {
			pt->counter++;
			r = pthread_mutex_unlock(&pt->m);
		}
	}
	return r;
}

/* Peers: sharers in other processes, at other addresses. */
enum {
	CMD_EXIT, CMD_CHECK, CMD_FILL, CMD_FUTEX_WAIT, CMD_FUTEX_WAKE,
	CMD_TRY_STORE, CMD_IOU_REGISTER, CMD_DIO_READ, CMD_DIO_WRITE, CMD_PT,
};

struct cmd {
	uint32_t op, val;
	uint64_t off, len, arg;
	int32_t fd, pad;
};

struct reply {
	int64_t ret, err;
};

struct peer {
	pid_t pid;
	int to, from;
	uint8_t *addr;
	const char *name;
};

static struct reply peer_do(uint8_t *b, const struct cmd *c)
{
	struct reply r = { 0, 0 };
	struct timespec ts = { 10, 0 };
	uint8_t *p = b + c->off;

	errno = 0;
	switch (c->op) {
	case CMD_CHECK:
		r.ret = !is_pattern(p, c->len, c->arg);
		break;
	case CMD_FILL:
		pattern(p, c->len, c->arg);
		break;
	case CMD_FUTEX_WAIT:
		r.ret = futex((uint32_t *)p, FUTEX_WAIT, c->val, &ts);
		break;
	case CMD_FUTEX_WAKE:
		r.ret = futex((uint32_t *)p, FUTEX_WAKE, INT_MAX, NULL);
		break;
	case CMD_TRY_STORE:
		fault_addr = NULL;
		r.ret = probe_store((uint32_t *)p, c->val);
		r.err = r.ret && fault_addr != p;
		return r;
	case CMD_IOU_REGISTER: {
		struct iovec iov = { p, c->len };
		struct io_uring ring;

		r.ret = io_uring_queue_init(4, &ring, 0);
		if (r.ret) {
			r.err = 1;	/* no io_uring */
			return r;
		}
		r.ret = io_uring_register_buffers(&ring, &iov, 1);
		if (!r.ret)
			io_uring_unregister_buffers(&ring);
		io_uring_queue_exit(&ring);
		return r;
	}
	case CMD_DIO_READ:
		r.ret = pread(c->fd, p, c->len, c->arg);
		break;
	case CMD_DIO_WRITE:
		r.ret = pwrite(c->fd, p, c->len, c->arg);
		break;
	case CMD_PT:
		r.ret = pt_count((struct pt *)p, c->val, c->len);
		break;
	default:
		r.ret = -1;
		errno = EINVAL;
	}
	r.err = errno;
	return r;
}

static int peer_main(int in, int out, bool rw, unsigned int nth)
{
	struct reply r = { -1, 0 };
	uint8_t *b = MAP_FAILED;
	void *avoid[8];
	struct cmd c;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(600);
	/*
	 * One attach per process: drop the inherited one, attach anew by
	 * path at the nth aligned address below the parent's, and at none
	 * of those between (the other peers').
	 */
	for (unsigned int i = 0; i < nth && i < 8; i++)
		avoid[i] = base - i * align;
	if (!munmap(base, align) && (fd = open(region, rw ? O_RDWR : O_RDONLY)) >= 0) {
		b = region_attach_avoid(fd, align, rw ? PROT_READ | PROT_WRITE : PROT_READ,
					base - nth * align, avoid, nth < 8 ? nth : 8);
		close(fd);
	}
	r.err = errno;
	if (b != MAP_FAILED)
		r.ret = (intptr_t)b;
	if (write(out, &r, sizeof(r)) != sizeof(r) || b == MAP_FAILED)
		return 1;
	while (read(in, &c, sizeof(c)) == sizeof(c)) {
		if (c.op == CMD_EXIT)
			return 0;
		r = peer_do(b, &c);
		if (write(out, &r, sizeof(r)) != sizeof(r))
			return 1;
	}
	return 2;
}

static void peer_start(struct peer *pr, const char *name, bool rw, unsigned int nth)
{
	int p2c[2], c2p[2];
	struct reply r;

	if (pipe(p2c) || pipe(c2p))
		tap_bail("pipe failed");
	fflush(stdout);
	pr->name = name;
	pr->pid = fork();
	if (pr->pid < 0)
		tap_bail("fork failed");
	if (!pr->pid) {
		close(p2c[1]);
		close(c2p[0]);
		_exit(peer_main(p2c[0], c2p[1], rw, nth));
	}
	close(p2c[0]);
	close(c2p[1]);
	pr->to = p2c[1];
	pr->from = c2p[0];
	if (read(pr->from, &r, sizeof(r)) != sizeof(r))
		r.ret = -1;
	if (!tap_ok(r.ret != -1 && !(r.ret % align),
		    "%s attaches by path at %#" PRIx64 " (%s)", name, (uint64_t)r.ret,
		    rw ? "read-write" : "read-only")) {
		tap_diag("attach failed: %s", strerror(r.err));
		tap_bail("a peer cannot attach");
	}
	pr->addr = (uint8_t *)(uintptr_t)r.ret;
}

static void peer_send(struct peer *pr, uint32_t op, uint64_t off, uint64_t len,
		      uint64_t arg, uint32_t val, int fd)
{
	struct cmd c = { .op = op, .val = val, .off = off, .len = len,
			 .arg = arg, .fd = fd };

	if (write(pr->to, &c, sizeof(c)) != sizeof(c))
		tap_bail("a peer is gone");
}

static struct reply peer_recv(struct peer *pr)
{
	struct reply r;

	if (read(pr->from, &r, sizeof(r)) != sizeof(r))
		tap_bail("a peer died");
	return r;
}

static struct reply peer_call(struct peer *pr, uint32_t op, uint64_t off,
			      uint64_t len, uint64_t arg, uint32_t val, int fd)
{
	peer_send(pr, op, off, len, arg, val, fd);
	return peer_recv(pr);
}

static bool peer_sees(struct peer *pr, uint64_t off, uint64_t len, uint64_t seed)
{
	return peer_call(pr, CMD_CHECK, off, len, seed, 0, -1).ret == 0;
}

static void peer_stop(struct peer *pr)
{
	int status;

	peer_send(pr, CMD_EXIT, 0, 0, 0, 0, -1);
	tap_ok(waitpid(pr->pid, &status, 0) == pr->pid && WIFEXITED(status) &&
	       !WEXITSTATUS(status), "%s exits cleanly", pr->name);
	close(pr->to);
	close(pr->from);
}

/* Wait until @pid sleeps in the futex syscall (/proc/PID/syscall). */
static bool in_futex(pid_t pid)
{
	char path[64], want[16], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	snprintf(want, sizeof(want), "%d ", (int)SYS_futex);
	for (int i = 0; i < 1000; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (!strncmp(buf, want, strlen(want)))
				return true;
		}
		usleep(10000);
	}
	return false;
}

/* A futex word in the region: @waiter sleeps on it, the parent stores, @waker wakes. */
static void futex_pair(struct peer *waiter, struct peer *waker, uint64_t off,
		       const char *what)
{
	uint32_t *word = (uint32_t *)(base + off);
	struct reply r;
	long woken;

	__atomic_store_n(word, 0, __ATOMIC_SEQ_CST);
	peer_send(waiter, CMD_FUTEX_WAIT, off, 0, 0, 0, -1);
	tap_ok(in_futex(waiter->pid), "%s: %s sleeps in FUTEX_WAIT", what, waiter->name);
	__atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
	if (waker) {
		r = peer_call(waker, CMD_FUTEX_WAKE, off, 0, 0, 0, -1);
		woken = r.ret;
	} else {
		woken = futex(word, FUTEX_WAKE, INT_MAX, NULL);
	}
	tap_ok(woken == 1, "%s: FUTEX_WAKE by %s at another address wakes one waiter (%ld)",
	       what, waker ? waker->name : "the parent", woken);
	r = peer_recv(waiter);
	if (!tap_ok(r.ret == 0, "%s: the waiter's FUTEX_WAIT returns 0", what))
		tap_diag("FUTEX_WAIT returned %" PRId64 ", errno %s", r.ret,
			 strerror(r.err));
	r = peer_call(waiter, CMD_FUTEX_WAIT, off, 0, 0, 0, -1);
	tap_errno_is(r.ret, r.err, EAGAIN,
		     "%s: FUTEX_WAIT for the old value reads the new one: EAGAIN", what);
}

/* (a): returns whether io_uring is there at all. */
static bool test_uring(struct peer *p1, int ufd, uint8_t *buf)
{
	struct iovec iov = { base + OFF_IOU, MIB };
	struct io_uring ring;
	int r;

	r = io_uring_queue_init(8, &ring, 0);
	if (r == -ENOSYS || r == -EPERM) {
		tap_skip("no io_uring", "io_uring fixed buffers in region memory");
		return false;
	}
	if (!tap_ok(!r, "io_uring_queue_init"))
		return true;
	pattern(buf, MIB, 0xa1);
	if (pwrite(ufd, buf, MIB, 0) != (ssize_t)MIB)
		tap_bail("cannot write the io_uring file");

	r = io_uring_register_buffers(&ring, &iov, 1);
	if (!tap_ok(!r, "io_uring_register_buffers of 1 MiB of region memory (%d)", r)) {
		io_uring_queue_exit(&ring);
		return true;
	}
	r = uring_rw(&ring, false, ufd, base + OFF_IOU, MIB, 0);
	tap_ok(r == (int)MIB, "IORING_OP_READ_FIXED into region memory (%d)", r);
	tap_ok(peer_sees(p1, OFF_IOU, MIB, 0xa1),
	       "the data READ_FIXED brought in shows at another address");

	peer_call(p1, CMD_FILL, OFF_IOU, MIB, 0xa2, 0, -1);
	r = uring_rw(&ring, true, ufd, base + OFF_IOU, MIB, MIB);
	tap_ok(r == (int)MIB, "IORING_OP_WRITE_FIXED from region memory (%d)", r);
	tap_ok(pread(ufd, buf, MIB, MIB) == (ssize_t)MIB && is_pattern(buf, MIB, 0xa2),
	       "WRITE_FIXED wrote what a sharer at another address stored in the buffer");
	tap_ok(!io_uring_unregister_buffers(&ring), "io_uring_unregister_buffers");
	io_uring_queue_exit(&ring);
	return true;
}

/* (b) */
static void test_direct_rw(struct peer *p1, int dfd, uint8_t *buf)
{
	pattern(buf, MIB, 0xb1);
	tap_ok(pwrite(dfd, buf, MIB, 0) == (ssize_t)MIB,
	       "O_DIRECT write of 1 MiB from normal memory");
	TAP_SUCCESS(pread(dfd, base + OFF_DIO, MIB, 0),
		    "O_DIRECT read into region memory nobody touched yet");
	tap_ok(is_pattern(base + OFF_DIO, MIB, 0xb1) && peer_sees(p1, OFF_DIO, MIB, 0xb1),
	       "the O_DIRECT read's data shows here and at another address");

	peer_call(p1, CMD_FILL, OFF_DIO2, MIB, 0xb2, 0, -1);
	tap_ok(pwrite(dfd, base + OFF_DIO2, MIB, MIB) == (ssize_t)MIB,
	       "O_DIRECT write from region memory");
	tap_ok(pread(dfd, buf, MIB, MIB) == (ssize_t)MIB && is_pattern(buf, MIB, 0xb2),
	       "the O_DIRECT write stored what a sharer at another address wrote");
}

/* (d) */
static void test_pthread(struct peer *p1, struct peer *p2)
{
	struct pt *pt = (struct pt *)(base + OFF_PT);
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	struct reply r1, r2;
	int r;

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	if (pthread_mutex_init(&pt->m, &ma) || pthread_cond_init(&pt->c, &ca))
		tap_bail("cannot make the shared mutex");
	pt->arrived = 0;
	pt->counter = 0;

	peer_send(p1, CMD_PT, OFF_PT, PT_ITERS, 0, PT_PROCS, -1);
	peer_send(p2, CMD_PT, OFF_PT, PT_ITERS, 0, PT_PROCS, -1);
	r = pt_count(pt, PT_PROCS, PT_ITERS);
	r1 = peer_recv(p1);
	r2 = peer_recv(p2);
	tap_ok(!r && !r1.ret && !r2.ret,
	       "3 processes at 3 addresses meet on a PTHREAD_PROCESS_SHARED condvar and lock the mutex (%d %" PRId64 " %" PRId64 ")",
	       r, r1.ret, r2.ret);
	tap_ok(pt->counter == PT_PROCS * PT_ITERS,
	       "the counter they incremented under the mutex is exact (%" PRIu64 " of %d)",
	       pt->counter, PT_PROCS * PT_ITERS);
	pthread_cond_destroy(&pt->c);
	pthread_mutex_destroy(&pt->m);
}

/* (e), (h): process_vm_readv/writev of @pr's region memory. */
static void test_process_vm(struct peer *pr, uint64_t off, uint64_t off2,
			    size_t len, uint8_t *buf, bool rw)
{
	struct iovec local = { buf, len }, remote = { pr->addr + off, len };
	ssize_t n;

	pattern(base + off, len, 0xe1 + rw);
	memset(buf, 0, len);
	errno = 0;
	n = process_vm_readv(pr->pid, &local, 1, &remote, 1, 0);
	if (n < 0 && errno == ENOSYS)
		tap_diag("process_vm_readv is ENOSYS: the kernel lacks CONFIG_CROSS_MEMORY_ATTACH");
	tap_ok(n == (ssize_t)len && is_pattern(buf, len, 0xe1 + rw),
	       "process_vm_readv of a %s attach reads the data (%zd)",
	       rw ? "read-write" : "read-only", n);

	pattern(buf, len, 0xe3 + rw);
	remote.iov_base = pr->addr + off2;
	if (rw) {
		n = process_vm_writev(pr->pid, &local, 1, &remote, 1, 0);
		tap_ok(n == (ssize_t)len, "process_vm_writev into a read-write attach (%zd)", n);
		tap_ok(is_pattern(base + off2, len, 0xe3 + rw) &&
		       peer_sees(pr, off2, len, 0xe3 + rw),
		       "what process_vm_writev wrote shows at both addresses");
		return;
	}
	pattern(base + off2, len, 0xe5);
	errno = 0;
	n = process_vm_writev(pr->pid, &local, 1, &remote, 1, 0);
	tap_errno_is(n, errno, EFAULT, "process_vm_writev into a read-only attach is EFAULT");
	tap_ok(is_pattern(base + off2, len, 0xe5), "the memory is unchanged");
}

/* (f), (i): /proc/PID/mem of @pr's region memory. */
static void test_proc_mem(struct peer *pr, uint64_t off, uint64_t off2,
			  size_t len, uint8_t *buf, bool rw)
{
	char path[64];
	ssize_t n;
	int mfd, err;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pr->pid);
	mfd = open(path, O_RDWR);
	if (!tap_ok(mfd >= 0, "open %s", path))
		return;
	pattern(base + off, len, 0xf1 + rw);
	memset(buf, 0, len);
	n = pread(mfd, buf, len, (off_t)(uintptr_t)(pr->addr + off));
	tap_ok(n == (ssize_t)len && is_pattern(buf, len, 0xf1 + rw),
	       "/proc/PID/mem read of a %s attach (%zd)", rw ? "read-write" : "read-only", n);

	pattern(buf, len, 0xf3 + rw);
	if (rw) {
		n = pwrite(mfd, buf, len, (off_t)(uintptr_t)(pr->addr + off2));
		tap_ok(n == (ssize_t)len, "/proc/PID/mem write into a read-write attach (%zd)", n);
		tap_ok(is_pattern(base + off2, len, 0xf3 + rw) &&
		       peer_sees(pr, off2, len, 0xf3 + rw),
		       "what /proc/PID/mem wrote shows at both addresses");
	} else {
		pattern(base + off2, len, 0xf5);
		errno = 0;
		n = pwrite(mfd, buf, len, (off_t)(uintptr_t)(pr->addr + off2));
		err = errno;
		if (!tap_ok(n == -1 && (err == EFAULT || err == EIO),
			    "/proc/PID/mem write into a read-only attach fails with EFAULT or EIO"))
			tap_diag("returned %zd, errno %s", n, strerror(err));
		tap_ok(is_pattern(base + off2, len, 0xf5), "the memory is unchanged");
	}
	close(mfd);
}

/* (g) */
static void test_ro_store(struct peer *ro)
{
	struct reply r;

	pattern(base + OFF_RO_STORE, 4096, 0x61);
	tap_ok(peer_sees(ro, OFF_RO_STORE, 4096, 0x61), "a read-only sharer reads the data");
	r = peer_call(ro, CMD_TRY_STORE, OFF_RO_STORE, 0, 0, 0xdeadbeef, -1);
	tap_ok(r.ret == SEGV_ACCERR && !r.err,
	       "a store through a read-only attach, to a page the parent wrote, is SIGSEGV SEGV_ACCERR at its address (si_code %" PRId64 ")",
	       r.ret);
	tap_ok(is_pattern(base + OFF_RO_STORE, 4096, 0x61), "the page is unchanged");
	r = peer_call(ro, CMD_TRY_STORE, OFF_RO_NEW, 0, 0, 0xdeadbeef, -1);
	tap_ok(r.ret == SEGV_ACCERR && !r.err,
	       "a store through a read-only attach, to a page nobody touched, is SIGSEGV SEGV_ACCERR (si_code %" PRId64 ")",
	       r.ret);
	tap_ok(is_zero(base + OFF_RO_NEW, 4096), "the page reads as zeros");
}

/* (j), (k), (l) */
static void test_ro_pins(struct peer *ro, int dfd, uint8_t *buf, bool uring)
{
	struct reply r;

	pattern(base + OFF_RO_IOU, MIB, 0x71);
	r = peer_call(ro, CMD_IOU_REGISTER, OFF_RO_IOU, MIB, 0, 0, -1);
	if (!uring || r.err == 1) {
		tap_skip("no io_uring", "io_uring buffer registration of a read-only attach fails");
	} else {
		tap_ok(r.ret < 0,
		       "io_uring buffer registration of a read-only attach fails (%" PRId64 ": %s)",
		       r.ret, r.ret < 0 ? strerror(-r.ret) : "succeeded");
		if (r.ret < 0 && r.ret != -EFAULT)
			tap_diag("it failed with %s; the contract says EFAULT", strerror(-r.ret));
	}
	tap_ok(is_pattern(base + OFF_RO_IOU, MIB, 0x71), "the memory is unchanged");

	pattern(buf, MIB, 0x72);
	if (pwrite(dfd, buf, MIB, 2 * MIB) != (ssize_t)MIB)
		tap_bail("cannot write the O_DIRECT file");
	pattern(base + OFF_RO_DIO, MIB, 0x73);
	r = peer_call(ro, CMD_DIO_READ, OFF_RO_DIO, MIB, 2 * MIB, 0, dfd);
	tap_errno_is(r.ret, r.err, EFAULT, "O_DIRECT read into a read-only attach is EFAULT");
	tap_ok(is_pattern(base + OFF_RO_DIO, MIB, 0x73), "the memory is unchanged");

	pattern(base + OFF_RO_DIOW, MIB, 0x74);
	r = peer_call(ro, CMD_DIO_WRITE, OFF_RO_DIOW, MIB, 3 * MIB, 0, dfd);
	tap_ok(r.ret == (int64_t)MIB,
	       "O_DIRECT write from a read-only attach (a read pin) works (%" PRId64 ")", r.ret);
	memset(buf, 0, MIB);
	tap_ok(pread(dfd, buf, MIB, 3 * MIB) == (ssize_t)MIB && is_pattern(buf, MIB, 0x74),
	       "it wrote the region's data");
}

int main(void)
{
	const char *disk = getenv("VM_DISK");
	char dpath[512], upath[512];
	struct peer p1, p2, r1, r2;
	uintptr_t addrs[5];
	bool uring, distinct = true;
	uint8_t *buf = NULL;
	int fd, dfd, ufd;

	require_msharefs();
	align = mshare_align_raw();
	alarm(900);
	if (!disk || !*disk)
		disk = "/mnt/disk";

	fd = region_new("gup", region, sizeof(region), align);
	if (!tap_ok(!region_map_anon(fd, 0, MAP_LEN), "map 32 MiB of anonymous memory"))
		tap_bail("cannot fill the region");
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (!tap_ok(base != MAP_FAILED, "attach read-write"))
		tap_bail("cannot attach");

	snprintf(dpath, sizeof(dpath), "%s/gup-direct.%d", disk, (int)getpid());
	snprintf(upath, sizeof(upath), "%s/gup-uring.%d", disk, (int)getpid());
	dfd = open(dpath, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	ufd = open(upath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (dfd < 0 || ufd < 0 || posix_memalign((void **)&buf, 4096, MIB))
		tap_bail("cannot create files on $VM_DISK");

	peer_start(&p1, "read-write peer 1", true, 1);

	/* (a) io_uring fixed buffers */
	uring = test_uring(&p1, ufd, buf);
	/* (b) O_DIRECT */
	test_direct_rw(&p1, dfd, buf);

	peer_start(&p2, "read-write peer 2", true, 2);
	peer_start(&r1, "read-only peer 1", false, 3);
	peer_start(&r2, "read-only peer 2", false, 4);
	addrs[0] = (uintptr_t)base;
	addrs[1] = (uintptr_t)p1.addr;
	addrs[2] = (uintptr_t)p2.addr;
	addrs[3] = (uintptr_t)r1.addr;
	addrs[4] = (uintptr_t)r2.addr;
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			distinct &= addrs[i] != addrs[j];
	tap_ok(distinct, "the parent and the four peers are attached at five addresses");

	/* (c) shared futexes, read-write */
	futex_pair(&p1, NULL, OFF_FUTEX, "read-write");
	futex_pair(&p2, &p1, OFF_FUTEX + 64, "read-write, peer to peer");
	/* (d) PTHREAD_PROCESS_SHARED mutex and condvar */
	test_pthread(&p1, &p2);
	/* (e) process_vm_readv/writev, (f) /proc/PID/mem */
	test_process_vm(&p1, OFF_PVM, OFF_PVM2, PVM_LEN, buf, true);
	test_proc_mem(&p1, OFF_MEM, OFF_MEM2, PVM_LEN, buf, true);

	/* Read-only attach: (g) stores, (h), (i) remote writes, (j)-(l) pins */
	test_ro_store(&r1);
	test_process_vm(&r1, OFF_RO_PVM, OFF_RO_PVM + RO_LEN, RO_LEN, buf, false);
	test_proc_mem(&r1, OFF_RO_MEM, OFF_RO_MEM + RO_LEN, RO_LEN, buf, false);
	test_ro_pins(&r1, dfd, buf, uring);
	/* (m) futexes on read-only attaches */
	futex_pair(&r1, &r2, OFF_RO_FUTEX, "read-only");

	peer_stop(&p1);
	peer_stop(&p2);
	peer_stop(&r1);
	peer_stop(&r2);
	close(dfd);
	close(ufd);
	unlink(dpath);
	unlink(upath);
	free(buf);
	munmap(base, align);
	close(fd);
	unlink(region);
	return tap_done();
}
