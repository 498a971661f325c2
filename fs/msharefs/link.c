// SPDX-License-Identifier: GPL-2.0-only
/*
 * Linking a region's host tables into attachers, and unlinking them.
 *
 * An attacher's container covers whole top-level (P4D) entries. Each one
 * is linked, on the first fault or GUP there (or at MAP_POPULATE), to the
 * host's PUD table for the same span, with the attacher's rights in the
 * linking entry (arch_mshare_link_p4d()). Everything below is the host's:
 * tables are allocated, changed and freed in the host mm only, under the
 * host's locks, and counted once in PageTables.
 *
 * The PUD table counts its links (ptdesc_pud_pts_*()); the host never
 * frees a table that is still linked. An attacher unlinks in the zap
 * phase of munmap and exit, flushes its own CPUs (tables freed: lazy
 * CPUs too), waits for GUP-fast walkers to leave, and only then drops
 * the count, so that a GUP-fast walker that read the linking entry still
 * sees a non-zero count (p4d_mshare_linked()). It never frees a host
 * table itself.
 *
 * Locking: the attacher's mmap_lock (read or write), then the host's
 * mmap_lock for read (SINGLE_DEPTH_NESTING). A linking entry is set and
 * cleared under the attacher's page_table_lock; the host's PUD table is
 * allocated under the host's, by pud_alloc().
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mshare.h>
#include <asm/mshare.h>
#include <asm/tlb.h>

#include "internal.h"

static unsigned long mshare_host_address(struct mshare_region *region,
					 struct vm_area_struct *vma,
					 unsigned long addr)
{
	return region->base + (addr - vma->vm_start);
}

/* Link the entry covering @addr of container @vma; host lock held. */
static int mshare_link(struct mshare_region *region,
		       struct vm_area_struct *vma, unsigned long addr)
{
	unsigned long haddr = mshare_host_address(region, vma, addr);
	struct mm_struct *mm = vma->vm_mm, *host = region->mm;
	p4d_t *p4d, *hp4d;
	pud_t *hpud;

	p4d = p4d_alloc(mm, pgd_offset(mm, addr), addr);
	if (!p4d)
		return -ENOMEM;
	if (!p4d_none(p4dp_get(p4d)))
		return 0;

	hp4d = p4d_alloc(host, pgd_offset(host, haddr), haddr);
	if (!hp4d || !pud_alloc(host, hp4d, haddr))
		return -ENOMEM;
	hpud = p4d_pgtable(p4dp_get(hp4d));

	spin_lock(&mm->page_table_lock);
	if (p4d_none(p4dp_get(p4d))) {
		ptdesc_pud_pts_inc(virt_to_ptdesc(hpud));
		/* The count before the entry: see p4d_mshare_linked() */
		smp_mb__after_atomic();
		arch_mshare_link_p4d(p4d, hpud, vma->vm_flags);
	}
	spin_unlock(&mm->page_table_lock);
	return 0;
}

/**
 * mshare_fault_begin - redirect a fault or GUP in a container to the host
 * @vma: the container, its mm's mmap_lock held
 * @address: the faulting address in @vma
 * @link: link the entry covering @address first (a fault), or not (GUP)
 * @mf: filled with the host VMA and address
 *
 * Takes the host's mmap_lock for read and makes the region's memcg the
 * active one. Return: 0, or -EFAULT for a hole in the region (no host
 * VMA there), or -ENOMEM, with nothing held.
 */
int mshare_fault_begin(struct vm_area_struct *vma, unsigned long address,
		       bool link, struct mshare_fault *mf)
{
	struct mshare_region *region = mshare_vma_region(vma);
	struct mm_struct *host = region->mm;
	int err = 0;

	mmap_read_lock_nested(host, SINGLE_DEPTH_NESTING);
	/* The host's tables, linked here, are the region's too */
	mf->old_memcg = set_active_memcg(region->memcg);
	if (link) {
		err = mshare_link(region, vma, address);
		if (err)
			goto unlock;
	}
	mf->address = mshare_host_address(region, vma, address);
	mf->vma = vma_lookup(host, mf->address);
	if (!mf->vma) {
		err = -EFAULT;
		goto unlock;
	}
	return 0;

unlock:
	set_active_memcg(mf->old_memcg);
	mmap_read_unlock(host);
	return err;
}

/**
 * mshare_fault_end - end what mshare_fault_begin() started
 * @mf: as mshare_fault_begin() filled it
 * @unlock: release the host's mmap_lock; false when handle_mm_fault()
 *	returned VM_FAULT_RETRY or VM_FAULT_COMPLETED and released it
 */
void mshare_fault_end(struct mshare_fault *mf, bool unlock)
{
	set_active_memcg(mf->old_memcg);
	if (unlock)
		mmap_read_unlock(mf->vma->vm_mm);
}

/*
 * Link every entry of [start, end) in container @vma: what populating a
 * container (MAP_POPULATE, mlock) means. The attacher's mmap_lock is held.
 */
int mshare_link_range(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end)
{
	struct mshare_region *region = mshare_vma_region(vma);
	struct mem_cgroup *old_memcg;
	unsigned long addr;
	int err = 0;

	mmap_read_lock_nested(region->mm, SINGLE_DEPTH_NESTING);
	old_memcg = set_active_memcg(region->memcg);
	for (addr = start & P4D_MASK; addr < end && !err; addr += P4D_SIZE)
		err = mshare_link(region, vma, addr);
	set_active_memcg(old_memcg);
	mmap_read_unlock(region->mm);
	return err;
}

/*
 * The zap phase of munmap or exit reached container @vma: clear its
 * linking entries in [start, end). Each cleared entry is flushed from the
 * attacher's CPUs before the link count drops, so that the host may free
 * the table as soon as the count reaches zero.
 */
void mshare_unlink(struct mmu_gather *tlb, struct vm_area_struct *vma,
		   unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr;

	for (addr = start & P4D_MASK; addr < end; addr += P4D_SIZE) {
		pgd_t *pgd = pgd_offset(mm, addr);
		p4d_t *p4d, old;

		if (pgd_none(pgdp_get(pgd)))
			continue;
		p4d = p4d_offset(pgd, addr);

		spin_lock(&mm->page_table_lock);
		old = p4dp_get(p4d);
		if (!p4d_none(old))
			p4d_clear(p4d);
		spin_unlock(&mm->page_table_lock);
		if (p4d_none(old))
			continue;

		/*
		 * Every translation below the entry left this mm at once, as
		 * if each level had been cleared: flush the whole span now,
		 * tables freed so lazy CPUs are included.
		 */
		tlb_flush_p4d_range(tlb, addr, P4D_SIZE);
		tlb->cleared_ptes = 1;
		tlb->cleared_pmds = 1;
		tlb->cleared_puds = 1;
		tlb->freed_tables = 1;
		tlb_flush_mmu_tlbonly(tlb);
		/*
		 * A GUP-fast walker that read the entry before it was
		 * cleared must see the count it was linked with: wait until
		 * no CPU is inside GUP-fast (IRQs off). x86's flush IPIs
		 * wait for that already; arm64's broadcast TLBI does not.
		 */
		tlb_remove_table_sync_one();
		ptdesc_pud_pts_dec(virt_to_ptdesc(p4d_pgtable(old)));
	}
}

/*
 * Whether @mm attaches a region in [start, end): the calls that would
 * change one attacher's view of a region (madvise, mbind) refuse it, and
 * so does mmu notifier registration. The mmap_lock is held.
 */
bool mm_range_has_mshare(struct mm_struct *mm, unsigned long start,
			 unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;

	for_each_vma_range(vmi, vma, end)
		if (vma->vm_flags & VM_MSHARE)
			return true;
	return false;
}
