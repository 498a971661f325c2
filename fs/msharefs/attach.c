// SPDX-License-Identifier: GPL-2.0-only
/*
 * Attaching a region: mmap() of a region file makes a container VMA
 * (VM_MSHARE) covering the whole region, at an address aligned to
 * MSHARE_ALIGN so that its top-level entries can link the host's PUD
 * tables. The container never holds pages or tables of its own: see
 * link.c. Changes to it go through the region's ioctls, so splitting
 * (partial munmap) and mprotect are refused here, and mremap, madvise and
 * the page walkers are refused in core mm.
 *
 * Locking: ->get_unmapped_area and ->mmap run under the attacher's
 * mmap_lock held for write, as do the vm_ops below, so the attach count
 * changes are ordered with the attacher's own VMA changes; the count is
 * atomic because different attachers update it concurrently.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>

#include "internal.h"

struct mshare_region *mshare_vma_region(struct vm_area_struct *vma)
{
	return msharefs_region(file_inode(vma->vm_file));
}

/* Where a NULL hint lands: a hole in the default mmap window. */
static unsigned long msharefs_find_hole(struct mm_struct *mm,
					unsigned long len)
{
	struct vm_unmapped_area_info info = {
		.length = len,
		.align_mask = MSHARE_ALIGN - 1,
		/* Never at 0: the first entry also holds the NULL page. */
		.low_limit = MSHARE_ALIGN,
	};
	unsigned long addr;

	if (test_bit(MMF_TOPDOWN, &mm->flags)) {
		info.flags = VM_UNMAPPED_AREA_TOPDOWN;
		info.high_limit = min(mm->mmap_base, DEFAULT_MAP_WINDOW);
		addr = vm_unmapped_area(&info);
		if (!offset_in_page(addr))
			return addr;
	}
	info.flags = 0;
	info.low_limit = max_t(unsigned long, info.low_limit,
			       TASK_UNMAPPED_BASE);
	info.high_limit = DEFAULT_MAP_WINDOW;
	return vm_unmapped_area(&info);
}

unsigned long msharefs_get_unmapped_area(struct file *file,
					 unsigned long addr, unsigned long len,
					 unsigned long pgoff, unsigned long flags)
{
	struct mshare_region *region = msharefs_region(file_inode(file));
	struct mm_struct *mm = current->mm;

	if (!region || len != region->size || pgoff)
		return -EINVAL;
	/* Refused here, before mmap() accounts a private writable copy. */
	if ((flags & MAP_TYPE) == MAP_PRIVATE)
		return -EINVAL;
	/* The attach covers whole top-level entries, or none. */
	if (!IS_ALIGNED(addr, MSHARE_ALIGN))
		return -EINVAL;
	if (flags & MAP_FIXED)
		return addr;
	if (addr && addr <= TASK_SIZE - len &&
	    !find_vma_intersection(mm, addr, addr + len))
		return addr;
	return msharefs_find_hole(mm, len);
}

static void msharefs_vm_open(struct vm_area_struct *vma)
{
	atomic_long_inc(&mshare_vma_region(vma)->nr_attached);
}

static void msharefs_vm_close(struct vm_area_struct *vma)
{
	atomic_long_dec(&mshare_vma_region(vma)->nr_attached);
}

/* Detach is all or nothing: a part of a container is not a region. */
static int msharefs_vm_may_split(struct vm_area_struct *vma,
				 unsigned long addr)
{
	return -EINVAL;
}

/* Protection is the region's: MSHAREFS_PROTECT changes it for everyone. */
static int msharefs_vm_mprotect(struct vm_area_struct *vma,
				unsigned long start, unsigned long end,
				unsigned long newflags)
{
	return -EINVAL;
}

/* Faults are handled on the host (arch fault code, GUP): never here. */
static vm_fault_t msharefs_vm_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct msharefs_container_vm_ops = {
	.open		= msharefs_vm_open,
	.close		= msharefs_vm_close,
	.may_split	= msharefs_vm_may_split,
	.mprotect	= msharefs_vm_mprotect,
	.fault		= msharefs_vm_fault,
};

int msharefs_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mshare_region *region = msharefs_region(file_inode(file));

	if (!region)
		return -EINVAL;
	/* Shared by definition: a private copy of page tables is no share. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_end - vma->vm_start != region->size || vma->vm_pgoff ||
	    !IS_ALIGNED(vma->vm_start, MSHARE_ALIGN))
		return -EINVAL;
	if (vma->vm_flags & (VM_GROWSDOWN | VM_GROWSUP))
		return -EINVAL;
	/* A read-only attach the MMU would not enforce: see mshare_table_perms() */
	if (!(vma->vm_flags & VM_WRITE) && !mshare_table_perms())
		return -EOPNOTSUPP;
	/* Host changes are not forwarded to this mm's secondary MMUs. */
	if (mm_has_notifiers(vma->vm_mm))
		return -EBUSY;

	/*
	 * VM_DONTEXPAND keeps the container out of merges, mremap growth,
	 * mlock and khugepaged; VM_DONTDUMP keeps a 512 GiB span of
	 * someone else's memory out of core dumps.
	 */
	vm_flags_set(vma, VM_MSHARE | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &msharefs_container_vm_ops;
	atomic_long_inc(&region->nr_attached);
	return 0;
}
