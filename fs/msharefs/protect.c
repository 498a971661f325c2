// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSHAREFS_PROTECT: change the protection of a range of a region for
 * every attacher at once.
 *
 * The protection lives in the host's VMAs and PTEs, which every attacher
 * reaches through its linked tables, so this is mprotect() on the host
 * mm: one pass over the range's PTEs and one all-CPU flush (the host's
 * mmu_gather, through its notifier), however many processes are attached.
 * An attacher's own rights are the linking entry's and are ANDed with
 * these by the hardware: a read-only attach stays read-only.
 *
 * Unlike mprotect(2), the whole range is checked before anything changes:
 * a hole (ENOMEM), a protection the backing does not allow (EACCES) or a
 * split through a huge page (EINVAL) leave the region as it was. Only
 * running out of memory while splitting a VMA can stop it half-way.
 *
 * Locking: the host's mmap_lock for write, across both passes.
 */
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/security.h>
#include <linux/uaccess.h>
#include <linux/msharefs.h>
#include <asm/tlb.h>

#include "internal.h"

/* The protections PROTECT sets: none, read, read-write; exec with read. */
static bool mshare_prot_ok(u32 prot)
{
	switch (prot) {
	case PROT_NONE:
	case PROT_READ:
	case PROT_READ | PROT_WRITE:
	case PROT_READ | PROT_EXEC:
	case PROT_READ | PROT_WRITE | PROT_EXEC:
		return true;
	default:
		return false;
	}
}

/* @vma's flags with its access rights replaced by @prot's. */
static unsigned long mshare_prot_flags(struct vm_area_struct *vma, u32 prot)
{
	return (vma->vm_flags & ~VM_ACCESS_FLAGS) | calc_vm_prot_bits(prot, 0);
}

/*
 * Would mprotect() take [start, end) of @vma to @prot? The checks of
 * do_mprotect_pkey(), made for the whole range before any change.
 */
static int mshare_protect_check(struct vm_area_struct *vma, unsigned long start,
				unsigned long end, u32 prot)
{
	unsigned long newflags = mshare_prot_flags(vma, prot);

	/* newflags >> 4 shifts VM_MAY* onto VM_*: above what the backing allows */
	if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS)
		return -EACCES;
	if (map_deny_write_exec(vma->vm_flags, newflags))
		return -EACCES;
	if (!arch_validate_flags(newflags))
		return -EINVAL;
	/* A huge page is protected whole: the split would fail half-way */
	if (is_vm_hugetlb_page(vma)) {
		unsigned long mask = huge_page_mask(hstate_vma(vma));

		if ((start & ~mask) || (end & ~mask))
			return -EINVAL;
	}
	return security_file_mprotect(vma, prot, prot);
}

/* The check pass: every page of [start, end) mapped, every VMA willing. */
static int mshare_protect_range_check(struct mm_struct *mm, unsigned long start,
				      unsigned long end, u32 prot)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;
	unsigned long next = start;
	int err;

	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_start > next)
			return -ENOMEM;
		err = mshare_protect_check(vma, max(start, vma->vm_start),
					   min(end, vma->vm_end), prot);
		if (err)
			return err;
		next = vma->vm_end;
	}
	return next < end ? -ENOMEM : 0;
}

/* The change pass, as do_mprotect_pkey() makes it, with one flush at the end. */
static int mshare_protect_range(struct mm_struct *mm, unsigned long start,
				unsigned long end, u32 prot)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma, *prev;
	struct mmu_gather tlb;
	unsigned long nstart = start;
	int err = 0;

	vma = vma_find(&vmi, end);
	if (!vma)
		return -ENOMEM;
	prev = vma_prev(&vmi);
	if (start > vma->vm_start)
		prev = vma;

	tlb_gather_mmu(&tlb, mm);
	for_each_vma_range(vmi, vma, end) {
		unsigned long tmp = min(end, vma->vm_end);

		if (vma->vm_ops && vma->vm_ops->mprotect) {
			err = vma->vm_ops->mprotect(vma, nstart, tmp,
						    mshare_prot_flags(vma, prot));
			if (err)
				break;
		}
		err = mprotect_fixup(&vmi, &tlb, vma, &prev, nstart, tmp,
				     mshare_prot_flags(vma, prot));
		if (err)
			break;
		/* prev is what now covers [nstart, tmp), merged or split */
		nstart = prev->vm_end;
	}
	tlb_finish_mmu(&tlb);
	return err;
}

long mshare_ioctl_protect(struct file *file, void __user *argp)
{
	struct mshare_region *region = mshare_ioctl_region(file, true);
	struct mem_cgroup *old_memcg;
	struct mshare_protect mp;
	unsigned long start, end;
	int err;

	if (IS_ERR(region))
		return PTR_ERR(region);
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	if (mp.reserved || !mshare_prot_ok(mp.prot) ||
	    !mshare_range_ok(region, mp.region_offset, mp.size))
		return -EINVAL;
	/* See mshare_table_perms() */
	if ((mp.prot & PROT_EXEC) && !mshare_table_perms())
		return -EOPNOTSUPP;

	start = region->base + mp.region_offset;
	end = start + mp.size;

	/* Splitting a VMA allocates: charge it to the region */
	old_memcg = set_active_memcg(region->memcg);
	if (mmap_write_lock_killable(region->mm)) {
		set_active_memcg(old_memcg);
		return -EINTR;
	}
	err = mshare_protect_range_check(region->mm, start, end, mp.prot);
	if (!err)
		err = mshare_protect_range(region->mm, start, end, mp.prot);
	mmap_write_unlock(region->mm);
	set_active_memcg(old_memcg);
	return err;
}
