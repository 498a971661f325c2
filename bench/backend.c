// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The four configurations mshare-bench compares, each as create and
 * populate, attach and detach in a process, and tear down:
 *
 *   memfd         a memfd mapped MAP_SHARED, 4 KiB pages: no sharing of
 *                 page tables at all (the baseline)
 *   hugetlbfs     a hugetlbfs file, 2 MiB pages, mapped in whole GiBs at
 *                 GiB-aligned addresses so that the kernel shares its PMD
 *                 tables (huge_pmd_share())
 *   mshare-anon   an msharefs region holding anonymous memory
 *   mshare-tmpfs  an msharefs region holding a tmpfs file
 *
 * Every one is populated the same way: one write to each 4 KiB of its S
 * bytes through a mapping the coordinator then removes, so that the
 * processes it forks afterwards start with nothing mapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "touch.h"

static uint64_t round_up(uint64_t x, uint64_t to)
{
	return (x + to - 1) / to * to;
}

void *map_gib_aligned(int fd, uint64_t len)
{
	char *resv, *p, *end;

	/* Reserve len + 1 GiB of address space, keep the aligned part */
	resv = mmap(NULL, len + BENCH_GIB, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		return NULL;
	p = (char *)round_up((uintptr_t)resv, BENCH_GIB);
	end = resv + len + BENCH_GIB;
	if (p > resv)
		munmap(resv, p - resv);
	if (end > p + len)
		munmap(p + len, end - (p + len));
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0) == MAP_FAILED) {
		int err = errno;

		munmap(p, len);
		errno = err;
		return NULL;
	}
	return p;
}

/* Map @fd's first map_len bytes, write its first size bytes, unmap. */
static int populate_fd(struct backend_ctx *b, bool gib_aligned)
{
	void *p;

	if (gib_aligned)
		p = map_gib_aligned(b->fd, b->map_len);
	else
		p = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 b->fd, 0);
	if (!p || p == MAP_FAILED)
		return -errno;
	touch_write(p, b->size);
	b->populated = now_s();
	munmap(p, b->map_len);
	return 0;
}

static void close_fd(struct backend_ctx *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static int detach_fd(struct backend_ctx *b, void *addr)
{
	return munmap(addr, b->map_len) ? -errno : 0;
}

static int prepare_nothing(struct backend_ctx *b)
{
	(void)b;
	return 0;
}

/* --- memfd ------------------------------------------------------------ */

static int memfd_setup(struct backend_ctx *b)
{
	b->map_len = b->size;
	b->fd = memfd_create("mshare-bench", 0);
	if (b->fd < 0)
		return -errno;
	if (ftruncate(b->fd, b->size))
		return -errno;
	return populate_fd(b, false);
}

static void *memfd_attach(struct backend_ctx *b)
{
	void *p = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       b->fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

const struct backend backend_memfd = {
	.name = "memfd",
	.setup = memfd_setup,
	.prepare = prepare_nothing,
	.attach = memfd_attach,
	.detach = detach_fd,
	.teardown = close_fd,
};

/* --- hugetlbfs -------------------------------------------------------- */

/*
 * A file of whole GiBs, at least one: huge_pmd_share() only shares a PMD
 * table whose whole GiB (PUD_SIZE) lies inside one shared mapping. Its
 * name goes at once; the file lives on in the fd the processes inherit.
 */
static int hugetlbfs_setup(struct backend_ctx *b)
{
	char name[4200];

	b->map_len = round_up(b->size ? b->size : 1, BENCH_GIB);
	snprintf(name, sizeof(name), "%s/mshare-bench.%d", b->hugetlbfs_dir,
		 (int)getpid());
	b->fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (b->fd < 0)
		return -errno;
	unlink(name);
	if (ftruncate(b->fd, b->map_len))
		return -errno;
	return populate_fd(b, true);
}

static void *hugetlbfs_attach(struct backend_ctx *b)
{
	return map_gib_aligned(b->fd, b->map_len);
}

const struct backend backend_hugetlbfs = {
	.name = "hugetlbfs",
	.setup = hugetlbfs_setup,
	.prepare = prepare_nothing,
	.attach = hugetlbfs_attach,
	.detach = detach_fd,
	.teardown = close_fd,
};

/* --- msharefs --------------------------------------------------------- */

/* Write every page through an attach of the region, then detach. */
static int mshare_populate(struct backend_ctx *b)
{
	char *p = mshare_addr(b->region);
	int ret;

	if (!p) {
		p = mshare_attach(b->region, NULL, 0);
		if (!p)
			return -errno;
	}
	touch_write(p, b->size);
	b->populated = now_s();
	ret = mshare_detach(b->region);
	if (ret)
		return ret;
	return mshare_get_size(b->region, &b->map_len);
}

static int mshare_anon_setup(struct backend_ctx *b)
{
	snprintf(b->path, sizeof(b->path), "%s/mshare-bench-anon.%d",
		 b->mshare_dir, (int)getpid());
	b->region = mshare_create_anon(b->path, b->size, 0600, 0);
	if (!b->region)
		return -errno;
	return mshare_populate(b);
}

/* The region holds an unlinked tmpfs file; its name goes at once. */
static int mshare_tmpfs_setup(struct backend_ctx *b)
{
	char name[4200];
	uint64_t align;
	int fd, ret;

	ret = mshare_align(b->mshare_dir, &align);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "%s/mshare-bench.%d", b->tmpfs_dir,
		 (int)getpid());
	fd = open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	unlink(name);
	if (ftruncate(fd, b->size)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	snprintf(b->path, sizeof(b->path), "%s/mshare-bench-tmpfs.%d",
		 b->mshare_dir, (int)getpid());
	b->region = mshare_create(b->path, 0600);
	if (!b->region) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = mshare_set_size(b->region, round_up(b->size, align));
	if (!ret)
		ret = mshare_map(b->region, 0, b->size, PROT_READ | PROT_WRITE,
				 fd, 0, 0);
	close(fd);		/* the region holds the file */
	return ret ? ret : mshare_populate(b);
}

/* A child opens the region by its name, as a database process would. */
static int mshare_prepare(struct backend_ctx *b)
{
	b->region = mshare_open(b->path, 0);
	return b->region ? 0 : -errno;
}

static void *mshare_do_attach(struct backend_ctx *b)
{
	return mshare_attach(b->region, NULL, 0);
}

static int mshare_do_detach(struct backend_ctx *b, void *addr)
{
	(void)addr;
	return mshare_detach(b->region);
}

static void mshare_teardown(struct backend_ctx *b)
{
	if (b->region) {
		mshare_close(b->region);
		mshare_unlink(b->path);
	}
	b->region = NULL;
}

const struct backend backend_mshare_anon = {
	.name = "mshare-anon",
	.is_mshare = true,
	.setup = mshare_anon_setup,
	.prepare = mshare_prepare,
	.attach = mshare_do_attach,
	.detach = mshare_do_detach,
	.teardown = mshare_teardown,
};

const struct backend backend_mshare_tmpfs = {
	.name = "mshare-tmpfs",
	.is_mshare = true,
	.setup = mshare_tmpfs_setup,
	.prepare = mshare_prepare,
	.attach = mshare_do_attach,
	.detach = mshare_do_detach,
	.teardown = mshare_teardown,
};
