/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The preload shim's decisions, kept apart from its I/O so that the unit
 * tests can reach every branch: reading the environment's settings,
 * whether an mmap() call is served from an msharefs region (and if not,
 * why), and whether a munmap() call detaches a served mapping.
 */
#ifndef MSHARE_PRELOAD_DECIDE_H
#define MSHARE_PRELOAD_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* MSHARE_PRELOAD_MIN when it is unset or invalid: 64 MiB. */
#define PRELOAD_DEFAULT_MIN	(64ull << 20)

/* Room for a reason: a whole stderr line, variable parts included. */
#define PRELOAD_WHY_LEN		192

/* The settings, read once per process from the environment. */
struct preload_config {
	bool enabled;		/* MSHARE_PRELOAD=1 */
	bool verbose;		/* MSHARE_PRELOAD_VERBOSE=1 */
	uint64_t min;		/* serve mappings of at least this many bytes */
	char why[PRELOAD_WHY_LEN];	/* non-empty: a setting was invalid */
};

/*
 * Parse a size: decimal digits, optionally followed by K, M, G or T
 * (binary units, either case, "iB" allowed after: 64M, 64MiB, 64m).
 * Nothing else: no sign, no blanks, no fraction. 0, -EINVAL for text
 * that is not a size or is zero, -ERANGE when it does not fit 64 bits.
 */
int preload_parse_size(const char *text, uint64_t *size);

/*
 * Fill @cfg from the values of MSHARE_PRELOAD, MSHARE_PRELOAD_MIN and
 * MSHARE_PRELOAD_VERBOSE (each NULL when unset; an empty
 * MSHARE_PRELOAD_MIN counts as unset). Only "1" enables and makes verbose. An invalid MSHARE_PRELOAD_MIN (not a size, zero,
 * negative, too large) leaves the default and says so in @cfg->why.
 */
void preload_config_parse(struct preload_config *cfg, const char *enabled,
			  const char *min, const char *verbose);

/* An mmap() call, as the shim received it. */
struct preload_call {
	void *addr;
	size_t length;
	int prot;
	int flags;
	int fd;
	off_t offset;
};

enum preload_verdict {
	PRELOAD_SERVE,		/* serve it from a region */
	PRELOAD_IGNORE,		/* not a call the shim is for: pass it on quietly */
	PRELOAD_DECLINE,	/* a large shared anonymous mapping the shim cannot
				 * serve: pass it on, and say why when verbose */
};

/* What to do for a call. */
struct preload_plan {
	uint64_t size;		/* SERVE: the memory to map, length rounded up */
	unsigned int mshare_flags;	/* SERVE: MSHARE_MAP_* */
	char why[PRELOAD_WHY_LEN];	/* IGNORE, DECLINE: why not */
};

/*
 * Decide about @call. @page_size is the base page size; @huge_page_size
 * the default huge page size, 0 if the system has none (only looked at
 * for MAP_HUGETLB). Served: MAP_SHARED | MAP_ANONYMOUS, PROT_READ |
 * PROT_WRITE, no address, fd -1, offset 0, length at least @cfg->min,
 * with nothing more than MAP_NORESERVE, MAP_POPULATE and MAP_HUGETLB
 * (default size).
 */
enum preload_verdict preload_decide(const struct preload_config *cfg,
				    const struct preload_call *call,
				    size_t page_size, size_t huge_page_size,
				    struct preload_plan *plan);

/* A mapping the shim served. */
struct preload_entry {
	uintptr_t addr;		/* the attach base, which mmap() returned */
	uint64_t length;	/* the length mmap() was given, page-rounded */
	uint64_t attach_size;	/* the attach: the region's size */
};

/*
 * The mappings served in this process. A forked child inherits it with
 * the attaches it describes. The functions below do not lock: the shim
 * holds its mutex around them.
 */
/* 256 attaches of 512 GiB fill the 128 TiB of a 4-level address space */
#define PRELOAD_TABLE_SIZE	256

struct preload_table {
	unsigned int used;	/* entries[0, used) are in use */
	struct preload_entry entries[PRELOAD_TABLE_SIZE];
};

/* Add @entry; false when the table is full. */
bool preload_table_add(struct preload_table *table,
		       const struct preload_entry *entry);

/* The entry whose attach starts at @addr, or NULL. */
struct preload_entry *preload_table_find(struct preload_table *table,
					 const void *addr);

/* The entry whose attach holds @addr, or NULL. */
struct preload_entry *preload_table_find_containing(struct preload_table *table,
						    const void *addr);

/* Remove @entry, which the table holds. */
void preload_table_remove(struct preload_table *table,
			  struct preload_entry *entry);

/*
 * Remove the entries whose whole attach lies in [@addr, @addr + @len):
 * an munmap() or a MAP_FIXED mmap() of that range that succeeded removed
 * them. Returns how many.
 */
unsigned int preload_table_forget(struct preload_table *table,
				  const void *addr, size_t len);

/*
 * Does munmap(@addr, @len) detach @entry? Yes when it starts at the base
 * and covers, page-rounded, at least the length mmap() was given and at
 * most the attach: that length, the attach size, or anything between (a
 * caller that rounds up to huge pages, as munmap() of hugetlb memory
 * allows). Anything else is for the
 * kernel to judge: it refuses a partial unmap of an attach.
 */
bool preload_munmap_detaches(const struct preload_entry *entry, void *addr,
			     size_t len, size_t page_size);

#endif
