// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSHAREFS_GET_STATS: what a region costs and who uses it.
 *
 * Everything is read from the host mm, which alone allocates the region's
 * tables and maps its memory: page-table bytes and RSS are the host's
 * counters, summed exactly, and the attach count is the region's. It
 * changes nothing, so any open file of the region will do, read-only too.
 *
 * Locking: none. The counters are read without the host's mmap_lock, so
 * a reader racing with a change sees the value before or after it.
 */
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/msharefs.h>

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

long mshare_ioctl_get_stats(struct file *file, void __user *argp)
{
	struct mshare_stats st = { .align = MSHARE_ALIGN };
	struct mshare_region *region = msharefs_region(file_inode(file));

	/* An unsized region has no host yet: it costs nothing */
	if (region) {
		st.size = region->size;
		st.nr_attached = atomic_long_read(&region->nr_attached);
		st.pgtable_bytes = mm_pgtables_bytes(region->mm);
		st.rss_bytes = mshare_host_rss_pages(region->mm) << PAGE_SHIFT;
		/* No contiguous-PTE blocks but arm64's: none counted here */
		st.nr_cont_blocks = 0;
	}
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}
