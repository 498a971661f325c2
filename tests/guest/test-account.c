// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Accounting of a region (issue 3 contract, DESIGN §4.4):
 *
 * (a) VmPTE of an attacher does not grow when it writes every page of a
 *     256 MiB region, while a MAP_SHARED memfd of the same size, written
 *     the same way, grows it by its page tables (about 512 kB);
 * (b) PageTables in /proc/meminfo: 32 forked processes each reading the
 *     whole populated region add at most one page each over the same 32
 *     processes idle, measured in the same run;
 * (c) memcg: the region's memory is charged to the cgroup of the process
 *     that sized it (A), not to the one of the process that attached it
 *     and wrote every page (B).
 */
#define _GNU_SOURCE
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "guest.h"

#define KiB		1024LL
#define MiB		(1024 * KiB)
#define PAGE		4096ULL
#define REGION_MEM	(256 * MiB)	/* (a) and (b) */
#define CG_MEM		(64 * MiB)	/* (c) */
#define NPROC		32		/* (b) */
#define CGROOT		"/sys/fs/cgroup"

static uint64_t align;

static uint64_t pat(uint64_t page)
{
	return ((page + 1) * 0x9e3779b97f4a7c15ULL) | 1;
}

static void write_pages(char *base, uint64_t size)
{
	for (uint64_t p = 0; p < size / PAGE; p++)
		*(volatile uint64_t *)(base + p * PAGE) = pat(p);
}

/* Pages of [@base, @base + @size) not holding pat(). */
static int check_pages(const char *base, uint64_t size)
{
	int bad = 0;

	for (uint64_t p = 0; p < size / PAGE; p++)
		if (*(const volatile uint64_t *)(base + p * PAGE) != pat(p))
			bad++;
	return bad;
}

static long vmpte_kb(void)
{
	return proc_kb("/proc/self/status", "VmPTE");
}

/* (a) */
static void test_vmpte(int fd)
{
	long pte0, pte1, pte2, pte3;
	char *base;
	int mfd;

	vmpte_kb();			/* stdio's buffers, once */
	pte0 = vmpte_kb();
	base = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED)
		tap_bail("cannot attach a region");
	write_pages(base, REGION_MEM);
	pte1 = vmpte_kb();
	tap_ok(!check_pages(base, REGION_MEM), "(a) the attacher wrote every page of 256 MiB");
	munmap(base, align);

	mfd = memfd_create("account-baseline", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, REGION_MEM))
		tap_bail("cannot make a memfd");
	pte2 = vmpte_kb();
	base = mmap(NULL, REGION_MEM, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (base == MAP_FAILED)
		tap_bail("cannot map a memfd");
	write_pages(base, REGION_MEM);
	pte3 = vmpte_kb();
	munmap(base, REGION_MEM);
	close(mfd);

	tap_diag("(a) VmPTE after writing 256 MiB: region attach %ld -> %ld kB (%+ld kB), MAP_SHARED memfd %ld -> %ld kB (%+ld kB)",
		 pte0, pte1, pte1 - pte0, pte2, pte3, pte3 - pte2);
	tap_ok(pte0 >= 0 && (pte1 - pte0) * KiB < 8 * KiB,
	       "(a) VmPTE of the attacher grows by less than 8 kB (%+ld kB)",
	       pte1 - pte0);
	tap_ok(pte2 >= 0 && pte3 - pte2 >= 500,
	       "(a) VmPTE of the memfd mapper grows by at least 500 kB (%+ld kB)",
	       pte3 - pte2);
}

/*
 * (b) NPROC forked processes that attach and read every page (or, with
 * !@attach, do nothing), each waiting once done: PageTables while all of
 * them wait. *@bad counts those that did not report success.
 */
static long run_group(int fd, bool attach, int *bad)
{
	int up[2], hold[2], status;
	pid_t pids[NPROC];
	long pt;
	char c;

	*bad = 0;
	if (pipe2(up, O_CLOEXEC) || pipe2(hold, O_CLOEXEC))
		tap_bail("pipe2 failed");
	for (int i = 0; i < NPROC; i++) {
		fflush(stdout);
		pids[i] = fork();
		if (pids[i] < 0)
			tap_bail("fork failed");
		if (!pids[i]) {
			int32_t st = 0;

			close(up[0]);
			close(hold[1]);
			if (attach) {
				char *base = region_attach(fd, align, PROT_READ);

				st = base == MAP_FAILED ? -1 :
				     check_pages(base, REGION_MEM);
			}
			if (write(up[1], &st, sizeof(st)) != sizeof(st))
				_exit(1);
			if (read(hold[0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
	}
	close(up[1]);
	close(hold[0]);
	for (int i = 0; i < NPROC; i++) {
		int32_t st;

		if (read(up[0], &st, sizeof(st)) != sizeof(st) || st)
			++*bad;
	}
	vmstat_refresh();
	pt = proc_kb("/proc/meminfo", "PageTables");
	close(hold[1]);			/* they all exit */
	for (int i = 0; i < NPROC; i++)
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			++*bad;
	close(up[0]);
	return pt;
}

static void test_pagetables(int fd)
{
	long idle, attached;
	int bad_idle, bad_att;

	idle = run_group(fd, false, &bad_idle);
	attached = run_group(fd, true, &bad_att);
	tap_diag("(b) PageTables with %d processes: idle %ld kB, each attached and having read 256 MiB %ld kB: %+ld kB, %+ld bytes a process",
		 NPROC, idle, attached, attached - idle,
		 (attached - idle) * KiB / NPROC);
	tap_diag("(b) (unshared, %d processes would need about %lld kB of PTEs for it)",
		 NPROC, NPROC * REGION_MEM / 512 / KiB);
	tap_ok(!bad_idle, "(b) %d idle processes start, wait and exit", NPROC);
	tap_ok(!bad_att, "(b) %d processes attach and read every page of 256 MiB",
	       NPROC);
	tap_ok(idle > 0 && (attached - idle) * KiB <= NPROC * (long)PAGE,
	       "(b) they add at most one page of page tables each (%+ld kB for %d)",
	       attached - idle, NPROC);
}

/* (c) A child that waits for its go before doing anything. */
struct kid {
	pid_t pid;
	int up, down;
};

static int kid_up = -1, kid_down = -1;

static void kid_start(struct kid *k, int (*fn)(const char *), const char *arg)
{
	int up[2], down[2];

	if (pipe2(up, O_CLOEXEC) || pipe2(down, O_CLOEXEC))
		tap_bail("pipe2 failed");
	fflush(stdout);
	k->pid = fork();
	if (k->pid < 0)
		tap_bail("fork failed");
	if (!k->pid) {
		close(up[0]);
		close(down[1]);		/* or the end of the pipe never comes */
		kid_up = up[1];
		kid_down = down[0];
		_exit(fn(arg));
	}
	close(up[1]);
	close(down[0]);
	k->up = up[0];
	k->down = down[1];
}

/* Child side: wait for the go; the end of the pipe ends the child. */
static void kid_hear(void)
{
	char c;

	if (read(kid_down, &c, 1) != 1)
		_exit(0);
}

static void kid_say(int32_t st)
{
	if (write(kid_up, &st, sizeof(st)) != sizeof(st))
		_exit(1);
}

static void kid_go(struct kid *k)
{
	if (write(k->down, "g", 1) != 1)
		tap_diag("child %d is gone", (int)k->pid);
}

/* Parent side: the child's report, -1 if none. */
static int32_t kid_get(struct kid *k)
{
	int32_t st;

	return read(k->up, &st, sizeof(st)) == sizeof(st) ? st : -1;
}

/* End the child and reap it: 0 if it exited with status 0. */
static int kid_end(struct kid *k)
{
	int status;

	close(k->down);
	close(k->up);
	if (waitpid(k->pid, &status, 0) != k->pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* In cgroup A: create, size and map the region, then hold it. */
static int creator(const char *path)
{
	int fd;

	kid_hear();
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, align) || region_map_anon(fd, 0, CG_MEM))
		kid_say(errno ? errno : -1);
	else
		kid_say(0);
	kid_hear();
	return 0;
}

/* In cgroup B: attach by name and write every page. */
static int writer(const char *path)
{
	char *base;
	int fd;

	kid_hear();
	fd = open(path, O_RDWR | O_CLOEXEC);
	base = fd < 0 ? MAP_FAILED : region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (base == MAP_FAILED) {
		kid_say(errno ? errno : -1);
	} else {
		write_pages(base, CG_MEM);
		kid_say(check_pages(base, CG_MEM) ? -2 : 0);
	}
	kid_hear();
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, text, strlen(text));
		close(fd);
	}
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

/* memory.current of cgroup @dir, in bytes; -1 if unreadable. */
static long long memcg_current(const char *dir)
{
	char file[512], buf[64];
	ssize_t n;
	int fd;

	snprintf(file, sizeof(file), "%s/memory.current", dir);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}

/* Move @pid into cgroup @dir. */
static int cg_move(const char *dir, pid_t pid)
{
	char file[512], num[32];

	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	snprintf(num, sizeof(num), "%d\n", (int)pid);
	return write_file(file, num);
}

static void skip_memcg(const char *why)
{
	tap_skip(why, "(c) a process in cgroup A creates, sizes and maps a region");
	tap_skip(why, "(c) a process in cgroup B attaches it and writes every page");
	tap_skip(why, "(c) the memory is charged to A");
	tap_skip(why, "(c) B is not charged for it");
}

/* rmdir, retrying a little while the cgroup empties. */
static int rmdir_cg(const char *dir)
{
	for (int i = 0; i < 50; i++) {
		if (!rmdir(dir) || errno == ENOENT)
			return 0;
		usleep(20000);
	}
	return -1;
}

/* (c) */
static void test_memcg(void)
{
	long long a0, a1, b0, b1;
	bool mounted = false, enabled = false;
	char cga[256], cgb[256], path[512];
	struct kid ka, kb;
	struct statfs sfs;
	int32_t st;

	if (statfs(CGROOT, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (mount("none", CGROOT, "cgroup2", 0, NULL)) {
			skip_memcg("cannot mount cgroup2");
			return;
		}
		mounted = true;
	}
	if (!file_has_word(CGROOT "/cgroup.controllers", "memory")) {
		skip_memcg("no memory controller");
		goto out_umount;
	}
	if (!file_has_word(CGROOT "/cgroup.subtree_control", "memory")) {
		if (write_file(CGROOT "/cgroup.subtree_control", "+memory")) {
			skip_memcg("cannot enable the memory controller");
			goto out_umount;
		}
		enabled = true;
	}
	snprintf(cga, sizeof(cga), CGROOT "/mshare-account-A.%d", (int)getpid());
	snprintf(cgb, sizeof(cgb), CGROOT "/mshare-account-B.%d", (int)getpid());
	if (mkdir(cga, 0755) || mkdir(cgb, 0755)) {
		rmdir(cga);
		skip_memcg("cannot create cgroups");
		goto out_disable;
	}

	region_path(path, sizeof(path), "account-memcg");
	unlink(path);
	kid_start(&ka, creator, path);
	if (cg_move(cga, ka.pid))
		tap_diag("cannot move %d into %s", (int)ka.pid, cga);
	kid_go(&ka);
	st = kid_get(&ka);
	tap_ok(!st, "(c) a process in cgroup A creates, sizes and maps 64 MiB into a region (status %d)",
	       st);

	kid_start(&kb, writer, path);
	if (cg_move(cgb, kb.pid))
		tap_diag("cannot move %d into %s", (int)kb.pid, cgb);
	a0 = memcg_current(cga);
	b0 = memcg_current(cgb);
	kid_go(&kb);
	st = kid_get(&kb);
	a1 = memcg_current(cga);
	b1 = memcg_current(cgb);
	tap_ok(!st, "(c) a process in cgroup B attaches it and writes every page (status %d)",
	       st);
	tap_diag("(c) memory.current: A %lld -> %lld kB (%+lld kB), B %lld -> %lld kB (%+lld kB)",
		 a0 / KiB, a1 / KiB, (a1 - a0) / KiB, b0 / KiB, b1 / KiB,
		 (b1 - b0) / KiB);
	tap_ok(a0 >= 0 && a1 - a0 >= 60 * MiB,
	       "(c) the memory is charged to A, the sizer's cgroup (%+lld kB)",
	       (a1 - a0) / KiB);
	tap_ok(b0 >= 0 && b1 - b0 < 8 * MiB,
	       "(c) B, the writer's cgroup, grows by less than 8 MiB (%+lld kB)",
	       (b1 - b0) / KiB);

	if (kid_end(&kb) | kid_end(&ka))
		tap_diag("a cgroup child did not exit cleanly");
	unlink(path);
	if (rmdir_cg(cga) || rmdir_cg(cgb))
		tap_diag("cannot remove the cgroups: %s", strerror(errno));
out_disable:
	if (enabled && write_file(CGROOT "/cgroup.subtree_control", "-memory"))
		tap_diag("cannot disable the memory controller again");
out_umount:
	if (mounted && umount(CGROOT))
		tap_diag("cannot unmount cgroup2: %s", strerror(errno));
}

int main(void)
{
	char path[512];
	int fd;

	require_msharefs();
	align = mshare_align_raw();

	fd = region_new("account", path, sizeof(path), align);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	TAP_SUCCESS(region_map_anon(fd, 0, REGION_MEM),
		    "map 256 MiB of anonymous memory into a region");
	test_vmpte(fd);
	test_pagetables(fd);
	close(fd);
	unlink(path);

	test_memcg();
	return tap_done();
}
