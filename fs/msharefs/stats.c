// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSHAREFS_GET_STATS: what a region costs and who uses it.
 *
 * Everything is read from the host mm, which alone allocates the region's
 * tables and maps its memory: page-table bytes and RSS are the host's
 * counters, summed exactly, the attach and flush counts are the region's,
 * and folded contiguous-PTE blocks are counted by walking the host's
 * tables. It changes nothing, so any open file of the region will do,
 * read-only too.
 *
 * Locking: the counters are read without locks, so a reader racing with
 * a change sees the value before or after it. The walk takes the host's
 * mmap_lock for read, and each PTE table's lock as it goes.
 */
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/pagewalk.h>
#include <linux/uaccess.h>
#include <linux/msharefs.h>
#include <asm/mshare.h>

#include "internal.h"

/* Pages mapped by the host: its RSS, and hugetlb pages, which it keeps apart. */
static u64 mshare_host_rss_pages(struct mm_struct *mm)
{
	u64 pages = get_mm_counter_sum(mm, MM_FILEPAGES) +
		    get_mm_counter_sum(mm, MM_ANONPAGES) +
		    get_mm_counter_sum(mm, MM_SHMEMPAGES);

#ifdef CONFIG_HUGETLB_PAGE
	pages += atomic_long_read(&mm->hugetlb_usage);
#endif
	return pages;
}

#ifdef arch_mshare_pte_folded
/*
 * Count at the PMD level, walking the PTE table by hand: with a
 * .pte_entry, walk_page_range() would split PMD-mapped THPs, and counting
 * must change nothing. A PMD mapping has no contiguous PTEs.
 */
static int mshare_count_folded(pmd_t *pmd, unsigned long addr,
			       unsigned long end, struct mm_walk *walk)
{
	u64 *nr = walk->private;
	spinlock_t *ptl;	/* the PMD or the PTE table lock */
	pte_t *pte;

	ptl = pmd_trans_huge_lock(pmd, walk->vma);
	if (ptl) {
		spin_unlock(ptl);
		return 0;
	}
	pte = pte_offset_map_lock(walk->mm, pmd, addr, &ptl);
	if (!pte) {
		walk->action = ACTION_AGAIN;
		return 0;
	}
	for (; addr < end; pte++, addr += PAGE_SIZE)
		if (arch_mshare_pte_folded(pte, addr))
			(*nr)++;
	pte_unmap_unlock(pte - 1, ptl);
	/* A region's tables may hold hundreds of millions of PTEs */
	cond_resched();
	return 0;
}

static const struct mm_walk_ops mshare_folded_ops = {
	.pmd_entry	= mshare_count_folded,
	.walk_lock	= PGWALK_RDLOCK,
};

/* Folded contiguous-PTE blocks in the host's tables, or -EINTR. */
static int mshare_nr_folded(struct mshare_region *region, u64 *nr)
{
	struct mm_struct *mm = region->mm;

	*nr = 0;
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	walk_page_range(mm, region->base, region->base + region->size,
			&mshare_folded_ops, nr);
	mmap_read_unlock(mm);
	return 0;
}
#else
/* No contiguous-PTE blocks on this architecture */
static int mshare_nr_folded(struct mshare_region *region, u64 *nr)
{
	*nr = 0;
	return 0;
}
#endif

long mshare_ioctl_get_stats(struct file *file, void __user *argp)
{
	struct mshare_stats st = { .align = MSHARE_ALIGN };
	struct mshare_region *region = msharefs_region(file_inode(file));
	int err;

	/* An unsized region has no host yet: it costs nothing */
	if (region) {
		st.size = region->size;
		st.nr_attached = atomic_long_read(&region->nr_attached);
		st.pgtable_bytes = mm_pgtables_bytes(region->mm);
		st.rss_bytes = mshare_host_rss_pages(region->mm) << PAGE_SHIFT;
		st.nr_flushes = atomic64_read(&region->nr_flushes);
		err = mshare_nr_folded(region, &st.nr_cont_blocks);
		if (err)
			return err;
	}
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}
