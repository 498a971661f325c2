// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The preload shim's decisions: its settings, which mmap() calls it
 * serves, and which munmap() calls detach what it served. Pure functions:
 * no I/O, no global state, nothing but their arguments (see decide.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "libmshare.h"
#include "decide.h"
#include "size.h"

int preload_parse_size(const char *text, uint64_t *size)
{
	uint64_t v;
	int err = parse_size(text, &v);

	if (err)
		return err;
	if (!v)		/* a threshold of nothing would serve every mapping */
		return -EINVAL;
	*size = v;
	return 0;
}

void preload_config_parse(struct preload_config *cfg, const char *enabled,
			  const char *min, const char *verbose)
{
	int err;

	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = enabled && !strcmp(enabled, "1");
	cfg->verbose = verbose && !strcmp(verbose, "1");
	cfg->min = PRELOAD_DEFAULT_MIN;
	if (!min || !*min)	/* set but empty, as a shell leaves it: unset */
		return;
	err = preload_parse_size(min, &cfg->min);
	if (!err)
		return;
	cfg->min = PRELOAD_DEFAULT_MIN;
	snprintf(cfg->why, sizeof(cfg->why),
		 "MSHARE_PRELOAD_MIN='%.64s' is %s; using the default, 64 MiB", min,
		 err == -ERANGE ? "too large" :
		 "not a size (a non-zero number of bytes, with K, M, G or T after it)");
}

/* Set @plan->why and return @verdict. */
__attribute__((format(printf, 3, 4)))
static enum preload_verdict say(struct preload_plan *plan,
				enum preload_verdict verdict, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(plan->why, sizeof(plan->why), fmt, ap);
	va_end(ap);
	return verdict;
}

/* The flags a served call may carry besides MAP_SHARED | MAP_ANONYMOUS. */
#define SERVED_FLAGS	(MAP_NORESERVE | MAP_POPULATE | MAP_HUGETLB)

enum preload_verdict preload_decide(const struct preload_config *cfg,
				    const struct preload_call *call,
				    size_t page_size, size_t huge_page_size,
				    struct preload_plan *plan)
{
	unsigned int type = call->flags & MAP_TYPE;
	unsigned int rest = (unsigned int)call->flags & ~(MAP_TYPE | MAP_ANONYMOUS);
	unsigned int huge_size = rest & ((unsigned int)MAP_HUGE_MASK << MAP_HUGE_SHIFT);
	unsigned int unknown = rest & ~SERVED_FLAGS;
	uint64_t unit = page_size;

	memset(plan, 0, sizeof(*plan));

	/* Calls the shim is not for: they pass without a word. */
	if (!cfg->enabled)
		return say(plan, PRELOAD_IGNORE, "MSHARE_PRELOAD is not 1");
	if (!(call->flags & MAP_ANONYMOUS))
		return say(plan, PRELOAD_IGNORE, "not MAP_ANONYMOUS");
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return say(plan, PRELOAD_IGNORE, "not MAP_SHARED");
	if (!call->length)
		return say(plan, PRELOAD_IGNORE, "length 0");
	if (call->length < cfg->min)
		return say(plan, PRELOAD_IGNORE, "length %zu is below MSHARE_PRELOAD_MIN (%llu)",
			   call->length, (unsigned long long)cfg->min);

	/*
	 * A large shared anonymous mapping, what the shim is for, but with
	 * something a region attach cannot honour.
	 */
	if (type == MAP_SHARED_VALIDATE)
		return say(plan, PRELOAD_DECLINE, "MAP_SHARED_VALIDATE, not MAP_SHARED");
	if (call->flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
		return say(plan, PRELOAD_DECLINE, "MAP_FIXED or MAP_FIXED_NOREPLACE: "
			   "an attach is placed by the kernel, at an aligned address");
	if (call->addr)
		return say(plan, PRELOAD_DECLINE, "an address hint (%p): an attach is "
			   "placed by the kernel, at an aligned address", call->addr);
	if (call->fd != -1)
		return say(plan, PRELOAD_DECLINE, "fd %d is given, not -1", call->fd);
	if (call->offset)
		return say(plan, PRELOAD_DECLINE, "offset %lld is not 0",
			   (long long)call->offset);
	/*
	 * The container's protection cannot be changed with mprotect()
	 * (EINVAL): a mapping made to be mprotect()ed later, PROT_NONE
	 * reservations above all, must stay an ordinary one.
	 */
	if (call->prot != (PROT_READ | PROT_WRITE))
		return say(plan, PRELOAD_DECLINE, "prot %#x is not PROT_READ|PROT_WRITE "
			   "(an attach cannot be mprotect()ed)", call->prot);
	/* MAP_HUGE_* bits are a page size with MAP_HUGETLB, judged below */
	if (call->flags & MAP_HUGETLB)
		unknown &= ~huge_size;
	if (unknown)
		return say(plan, PRELOAD_DECLINE, "flags %#x that a region cannot honour",
			   unknown);
	if (call->flags & MAP_HUGETLB) {
		if (!huge_page_size)
			return say(plan, PRELOAD_DECLINE, "MAP_HUGETLB, and the system has "
				   "no default huge page size");
		/* the region maps the default size: any other is declined */
		if (huge_size && (1ull << (huge_size >> MAP_HUGE_SHIFT)) != huge_page_size)
			return say(plan, PRELOAD_DECLINE, "huge pages of 2^%u bytes, not "
				   "the default size (%zu)", huge_size >> MAP_HUGE_SHIFT,
				   huge_page_size);
		/* hugetlb memory comes in whole huge pages, and so must the map */
		unit = huge_page_size;
	}
	if ((uint64_t)call->length > UINT64_MAX - (unit - 1))
		return say(plan, PRELOAD_DECLINE, "length %zu is too large", call->length);

	plan->size = ((uint64_t)call->length + unit - 1) & ~(unit - 1);
	if (call->flags & MAP_POPULATE)
		plan->mshare_flags |= MSHARE_MAP_POPULATE;
	if (call->flags & MAP_HUGETLB)
		plan->mshare_flags |= MSHARE_MAP_HUGETLB;
	return PRELOAD_SERVE;
}

bool preload_munmap_detaches(const struct preload_entry *entry, void *addr,
			     size_t len, size_t page_size)
{
	uint64_t rounded;

	if ((uintptr_t)addr != entry->addr ||
	    (uint64_t)len > UINT64_MAX - (page_size - 1))
		return false;
	rounded = ((uint64_t)len + page_size - 1) & ~((uint64_t)page_size - 1);
	return rounded >= entry->length && rounded <= entry->attach_size;
}

bool preload_table_add(struct preload_table *table,
		       const struct preload_entry *entry)
{
	if (table->used == PRELOAD_TABLE_SIZE)
		return false;
	table->entries[table->used++] = *entry;
	return true;
}

struct preload_entry *preload_table_find(struct preload_table *table,
					 const void *addr)
{
	for (unsigned int i = 0; i < table->used; i++)
		if (table->entries[i].addr == (uintptr_t)addr)
			return &table->entries[i];
	return NULL;
}

struct preload_entry *preload_table_find_containing(struct preload_table *table,
						    const void *addr)
{
	uintptr_t a = (uintptr_t)addr;

	for (unsigned int i = 0; i < table->used; i++) {
		const struct preload_entry *e = &table->entries[i];

		if (a >= e->addr && a - e->addr < e->attach_size)
			return &table->entries[i];
	}
	return NULL;
}

void preload_table_remove(struct preload_table *table,
			  struct preload_entry *entry)
{
	/* order does not matter: the last entry fills the gap */
	*entry = table->entries[--table->used];
}

unsigned int preload_table_forget(struct preload_table *table,
				  const void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr;
	uintptr_t end = len > UINTPTR_MAX - start ? UINTPTR_MAX : start + len;
	unsigned int removed = 0;

	for (unsigned int i = 0; i < table->used;) {
		struct preload_entry *e = &table->entries[i];

		if (e->addr >= start && e->addr <= end &&
		    e->attach_size <= end - e->addr) {
			preload_table_remove(table, e);
			removed++;
		} else {
			i++;
		}
	}
	return removed;
}
