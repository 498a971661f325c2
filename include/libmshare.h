/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmshare: use msharefs regions, memory whose page tables every process
 * that maps it shares.
 *
 * Conventions: functions returning int return 0 or a negative errno;
 * functions returning a pointer return NULL and set errno. They never
 * print and never exit. See libmshare(7) for the model, and for thread
 * and fork behaviour.
 */
#ifndef LIBMSHARE_H
#define LIBMSHARE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/msharefs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where msharefs is mounted when nothing else is said. */
#define LIBMSHARE_DEFAULT_PATH	"/sys/fs/mshare"

/* An open region: its file, and its attach in this process if any. */
struct mshare_region;

/* --- the mount -------------------------------------------------------- */

/*
 * Find the msharefs mount: @path if it is not NULL, else $LIBMSHARE_PATH,
 * else the msharefs mounts of this process's mount namespace
 * (/sys/fs/mshare first). @path and $LIBMSHARE_PATH may also name a
 * directory inside a mount: relative region names then start there. Every answer is confirmed with statfs() against
 * the msharefs magic. The mount point is copied to @buf (@len bytes).
 */
int mshare_find_mount(const char *path, char *buf, size_t len);

/*
 * The region alignment of the msharefs mount @path (NULL: found as by
 * mshare_find_mount()): region sizes and attach addresses are multiples
 * of it.
 */
int mshare_align(const char *path, uint64_t *align);

/*
 * Mount msharefs on @target (NULL: LIBMSHARE_DEFAULT_PATH) with @options
 * ("mode=,uid=,gid=", or NULL) through libmount. Needs CAP_SYS_ADMIN.
 */
int mshare_mount(const char *target, const char *options);

/* --- regions ---------------------------------------------------------- */

/*
 * Region names: a NAME without a leading '/' is a path relative to the
 * msharefs mount (as found by mshare_find_mount(NULL)), and may name a
 * region in a subdirectory; an absolute path is used as it is and must
 * be on msharefs.
 */

/* Create region @name, which must not exist, with permissions @mode. */
struct mshare_region *mshare_create(const char *name, mode_t mode);

/* Flags of mshare_open(). */
#define MSHARE_RDONLY	0x1u	/* open for reading: attach read-only, stats */

/* Open the existing region @name, for reading and writing unless RDONLY. */
struct mshare_region *mshare_open(const char *name, unsigned int flags);

/*
 * Size a new region, once, to @size bytes: a non-zero multiple of the
 * alignment (-EINVAL otherwise, -EBUSY if it is already sized).
 */
int mshare_set_size(struct mshare_region *region, uint64_t size);

/* The region's size; 0 while it is unsized. */
int mshare_get_size(struct mshare_region *region, uint64_t *size);

/*
 * Map memory into [offset, offset + size) of the region: anonymous memory
 * when @fd is -1, else @fd's file (tmpfs, memfd, regular, hugetlbfs) from
 * @fd_offset. @prot as for mmap(2). @flags: MSHARE_MAP_*.
 */
#define MSHARE_MAP_POPULATE	0x1u	/* fault it all in now */
#define MSHARE_MAP_HUGETLB	0x2u	/* anonymous hugetlb memory, default size */
int mshare_map(struct mshare_region *region, uint64_t offset, uint64_t size,
	       int prot, int fd, uint64_t fd_offset, unsigned int flags);

/* Unmap [offset, offset + size) of the region for every sharer. */
int mshare_unmap(struct mshare_region *region, uint64_t offset, uint64_t size);

/*
 * Change the protection of [offset, offset + size) for every sharer at
 * once: PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE (+ PROT_EXEC).
 */
int mshare_protect(struct mshare_region *region, uint64_t offset,
		   uint64_t size, int prot);

/* madvise(2) @advice for [offset, offset + size) of the region's memory. */
int mshare_advise(struct mshare_region *region, uint64_t offset,
		  uint64_t size, int advice);

/* What the region costs and who uses it (see MSHAREFS_GET_STATS). */
int mshare_stats(struct mshare_region *region, struct mshare_stats *stats);

/*
 * Attach the whole region at @addr (NULL: an aligned address the kernel
 * picks; else a multiple of the alignment). Read-write unless
 * MSHARE_ATTACH_RDONLY. A handle holds one attach at a time (EBUSY).
 */
#define MSHARE_ATTACH_RDONLY	0x1u
void *mshare_attach(struct mshare_region *region, void *addr,
		    unsigned int flags);

/* Detach the handle's attach (-EINVAL if there is none). */
int mshare_detach(struct mshare_region *region);

/* Remove region @name; it lives on until its last file and attach go. */
int mshare_unlink(const char *name);

/*
 * Close the handle and free it. An attach stays, as a mapping outlives
 * its file: munmap(addr, size) removes it. NULL is accepted.
 */
int mshare_close(struct mshare_region *region);

/* The handle's file descriptor (close-on-exec), for fstat() and the like. */
int mshare_fd(const struct mshare_region *region);

/* The handle's attach address, or NULL when it is not attached. */
void *mshare_addr(const struct mshare_region *region);

/* --- the common case -------------------------------------------------- */

/*
 * Create region @name holding @size bytes of anonymous shared memory
 * (rounded up to pages, or to huge pages with MSHARE_MAP_HUGETLB) at
 * offset 0, the region itself rounded up to the
 * alignment, and attach it read-write. @flags: MSHARE_MAP_POPULATE,
 * MSHARE_MAP_HUGETLB. The region appears under @name only once it is
 * complete (it is built under a temporary name and renamed). On failure
 * nothing is left behind.
 */
struct mshare_region *mshare_create_anon(const char *name, uint64_t size,
					 mode_t mode, unsigned int flags);

/* Open region @name and attach it (@flags: MSHARE_ATTACH_RDONLY). */
struct mshare_region *mshare_attach_name(const char *name, unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif /* LIBMSHARE_H */
