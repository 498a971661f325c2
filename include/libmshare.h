/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmshare: use msharefs regions, memory whose page tables every process
 * that maps it shares.
 *
 * Conventions: functions return 0 or a negative errno; they never print
 * and never exit. See libmshare(7).
 */
#ifndef LIBMSHARE_H
#define LIBMSHARE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where msharefs is mounted when nothing else is said. */
#define LIBMSHARE_DEFAULT_PATH	"/sys/fs/mshare"

/*
 * Find the msharefs mount: @path if it is not NULL, else $LIBMSHARE_PATH,
 * else the msharefs mounts of this process's mount namespace
 * (/sys/fs/mshare first). Every answer is confirmed with statfs() against
 * the msharefs magic. The mount point is copied to @buf (@len bytes).
 */
int mshare_find_mount(const char *path, char *buf, size_t len);

/*
 * The region alignment of the msharefs mount @path (NULL: found as by
 * mshare_find_mount()): region sizes and attach addresses are multiples
 * of it.
 */
int mshare_align(const char *path, uint64_t *align);

#ifdef __cplusplus
}
#endif

#endif /* LIBMSHARE_H */
