// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSHAREFS_ADVISE: madvise(2) on a range of a region, for every attacher
 * at once.
 *
 * Advice is taken by the host's mappings, whose tables every attacher
 * shares: populating them once spares every later attacher its faults
 * (it links the populated tables with one fault), and dropping or paging
 * out memory there drops it for all. Container VMAs refuse madvise()
 * itself, so this is the only way to give advice about region memory.
 *
 * Only advice whose effect is defined for shared memory is taken; advice
 * about private memory (MADV_FREE, MADV_DONTFORK, MADV_WIPEONFORK, ...),
 * MADV_COLLAPSE and the error-injection advice are EINVAL. Holes and
 * other errors are reported as madvise(2) reports them.
 *
 * Locking: do_madvise() takes the host's mmap_lock, for read or write as
 * the advice needs.
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/uaccess.h>
#include <linux/msharefs.h>

#include "internal.h"

static bool mshare_advice_ok(u32 advice)
{
	switch (advice) {
	case MADV_POPULATE_READ:
	case MADV_POPULATE_WRITE:
	case MADV_DONTNEED:
	case MADV_REMOVE:
	case MADV_WILLNEED:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
		return true;
	default:
		return false;
	}
}

long mshare_ioctl_advise(struct file *file, void __user *argp)
{
	struct mshare_region *region = mshare_ioctl_region(file, true);
	struct mem_cgroup *old_memcg;
	struct mshare_advise ma;
	int err;

	if (IS_ERR(region))
		return PTR_ERR(region);
	if (copy_from_user(&ma, argp, sizeof(ma)))
		return -EFAULT;
	if (ma.reserved || !mshare_advice_ok(ma.advice) ||
	    !mshare_range_ok(region, ma.region_offset, ma.size))
		return -EINVAL;

	/*
	 * Pages read ahead or populated here, and VMAs split by
	 * MADV_[NO]HUGEPAGE, are the region's: charge them to it.
	 */
	old_memcg = set_active_memcg(region->memcg);
	err = do_madvise(region->mm, region->base + ma.region_offset, ma.size,
			 ma.advice);
	set_active_memcg(old_memcg);
	return err;
}
