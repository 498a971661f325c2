// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs host mms: one per sized region, holding the region's memory.
 *
 * A host mm never runs, so TLB flushes aimed at it reach no CPU, yet its
 * tables are linked into every attacher. Its mmu notifier turns each of
 * its flushes (PTE changes, and the mmu_gather flush that precedes every
 * page-table free) into a flush of every CPU; on x86 that IPI is also the
 * barrier that keeps GUP-fast walkers away from tables being freed.
 *
 * No task owns a host mm: the creator may exit long before the region
 * dies. The region holds the memcg it charges instead.
 *
 * Locking: a host is created under the region inode's i_rwsem, before the
 * region is published, and destroyed at eviction, when no file and no
 * container VMA refers to it: neither races with anything.
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <asm/tlb.h>
#include <asm/tlbflush.h>

#include "internal.h"

static void mshare_invalidate_secondary_tlbs(struct mmu_notifier *mn,
					     struct mm_struct *mm,
					     unsigned long start,
					     unsigned long end)
{
	struct mshare_region *region = container_of(mn, struct mshare_region,
						    notifier);

	/*
	 * Attachers map the region at addresses of their own, and any CPU
	 * may hold their translations (lazily, too): flush them all.
	 */
	flush_tlb_all();
	atomic64_inc(&region->nr_flushes);
}

static const struct mmu_notifier_ops mshare_notifier_ops = {
	.arch_invalidate_secondary_tlbs = mshare_invalidate_secondary_tlbs,
};

static void mshare_host_set_memcg(struct mm_struct *mm, struct mem_cgroup *memcg)
{
#ifdef CONFIG_MEMCG
	RCU_INIT_POINTER(mm->owner, NULL);
	WRITE_ONCE(mm->mshare_memcg, memcg);
#endif
}

/*
 * Create the host mm of a region of @size bytes, charged to the memcg of
 * the task that sizes it.
 */
struct mshare_region *mshare_region_create(unsigned long size)
{
	struct mshare_region *region;
	struct mm_struct *mm;
	int err = -ENOMEM;

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return ERR_PTR(-ENOMEM);

	mm = mm_alloc();
	if (!mm)
		goto free_region;
	/* The mm must outlive its memcg pointer: see mshare_region_destroy() */
	mmgrab(mm);

	region->mm = mm;
	/* Address 0 is never mappable: the region starts one entry up. */
	region->base = MSHARE_ALIGN;
	region->size = size;
	region->memcg = get_mem_cgroup_from_mm(current->mm);
	atomic_long_set(&region->nr_attached, 0);
	atomic64_set(&region->nr_flushes, 0);

	mshare_host_set_memcg(mm, region->memcg);
	/* Nothing of the creator's: no KSM, no THP opt-out, no mlock. */
	clear_bit(MMF_VM_MERGE_ANY, &mm->flags);
	clear_bit(MMF_DISABLE_THP, &mm->flags);
	mm->def_flags = 0;
	mm->mmap_base = region->base;
	mm->task_size = region->base + size;
	set_bit(MMF_MSHARE, &mm->flags);

	region->notifier.ops = &mshare_notifier_ops;
	err = mmu_notifier_register(&region->notifier, mm);
	if (err)
		goto put_mm;
	return region;

put_mm:
	mshare_host_set_memcg(mm, NULL);
	mmput(mm);
	mmdrop(mm);
	mem_cgroup_put(region->memcg);
free_region:
	kfree(region);
	return ERR_PTR(err);
}

/*
 * Unmap everything and free every table of the host, through its
 * mmu_gather and so after an all-CPU flush. exit_mmap() would free only
 * the tables under VMAs, and without the notifier: but a table may have
 * outlived its VMAs while it was linked (free_pgtables() leaves those),
 * or have been allocated for a link to a hole.
 *
 * do_munmap() can fail: it allocates (the maple tree's nodes for the
 * detached VMAs), which an OOM victim dropping the last reference may
 * not, and it refuses a range above the TASK_SIZE of the evicting task
 * (a compat task's last close()). The VMAs then stay: their pages are
 * zapped in place, which allocates nothing, and only the tables between
 * them are freed here. Those under them stay for exit_mmap(), which
 * hides each VMA from the rmap before freeing its tables: rmap walkers
 * (truncation of a shared file, khugepaged, hugetlb PMD sharing) reach
 * tables under a VMA without the host's mmap lock.
 *
 * The outermost floor and ceiling are the address space's own: nothing
 * else is mapped in a host, and the upper tables over the region (the
 * P4D table of the first 256 TiB with 5-level paging) go too.
 */
static void mshare_host_clear(struct mshare_region *region)
{
	VMA_ITERATOR(vmi, region->mm, 0);
	struct mm_struct *mm = region->mm;
	unsigned long end = region->base + region->size;
	unsigned long start = region->base, floor = FIRST_USER_ADDRESS;
	struct vm_area_struct *vma;
	struct mmu_gather tlb;

	mmap_write_lock(mm);
	if (do_munmap(mm, region->base, region->size, NULL)) {
		for_each_vma(vmi, vma)
			zap_vma_pages(vma);
		vma_iter_set(&vmi, 0);
	}
	tlb_gather_mmu(&tlb, mm);
	for_each_vma(vmi, vma) {
		if (vma->vm_start > start)
			free_pgd_range(&tlb, start, vma->vm_start, floor,
				       vma->vm_start);
		start = vma->vm_end;
		floor = vma->vm_end;
	}
	if (end > start)
		free_pgd_range(&tlb, start, end, floor, USER_PGTABLES_CEILING);
	tlb_finish_mmu(&tlb);
	mmap_write_unlock(mm);
}

/* Called at eviction: nothing attaches the region or can reach it. */
void mshare_region_destroy(struct mshare_region *region)
{
	struct mm_struct *mm = region->mm;

	WARN_ON_ONCE(atomic_long_read(&region->nr_attached));
	mshare_host_clear(region);
	mmu_notifier_unregister(&region->notifier, mm);
	mmput(mm);
	mshare_host_set_memcg(mm, NULL);
	mmdrop(mm);
	mem_cgroup_put(region->memcg);
	kfree(region);
}
