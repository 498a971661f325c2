/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmshare internals. Only what libmshare.map lists is exported; the
 * rest is hidden (-fvisibility=hidden) and reachable from the unit tests,
 * which link the static library.
 */
#ifndef LIBMSHARE_INTERNAL_H
#define LIBMSHARE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSHARE_EXPORT __attribute__((visibility("default")))

/*
 * Pick the msharefs mount out of a mountinfo file: not shadowed by a later
 * mount on the same target, accepted by @is_msharefs (statfs() in real
 * use), LIBMSHARE_DEFAULT_PATH preferred over the others. 0, -ENOENT when
 * there is none, or another negative errno.
 */
int mshare_mountinfo_lookup(const char *mountinfo,
			    bool (*is_msharefs)(const char *path),
			    char *buf, size_t len);

/* Parse the text of mshare_info: a decimal number and a newline. */
int mshare_parse_align(const char *text, uint64_t *align);

/*
 * The path of region @name: @name itself when absolute, else relative to
 * the mount mshare_find_mount(NULL) finds.
 */
int mshare_region_path(const char *name, char *buf, size_t len);

/* Copy @src into @buf of @len bytes, or -ENAMETOOLONG. */
int mshare_copy_path(char *buf, size_t len, const char *src);

#endif
