/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What core mm and the architectures call in msharefs.
 *
 * A process attaches a region through a container VMA (VM_MSHARE). The
 * region's memory lives in its host mm (MMF_MSHARE), whose PUD tables are
 * linked into the container's top-level (P4D) entries. Core mm never
 * walks below a container's top-level entries with the process's locks:
 * faults and GUP go to the host mm under the host's mmap_lock through
 * mshare_fault_begin()/mshare_fault_end(), and the zap phase of munmap
 * and exit unlinks the entries with mshare_unlink().
 */
#ifndef _LINUX_MSHARE_H
#define _LINUX_MSHARE_H

#include <linux/mm_types.h>
#include <linux/pgtable.h>

struct mmu_gather;
struct mem_cgroup;

/*
 * A fault or GUP redirected to the host: the host VMA and address, with
 * the host's mmap_lock read-held and its memcg active.
 */
struct mshare_fault {
	struct vm_area_struct *vma;
	unsigned long address;
	struct mem_cgroup *old_memcg;
};

#ifdef CONFIG_MSHARE

static inline bool mm_is_mshare_host(struct mm_struct *mm)
{
	return test_bit(MMF_MSHARE, &mm->flags);
}

/*
 * Whether a process's top-level entry links a host's PUD table. Lockless
 * walkers (GUP-fast) stop there: the entry's permissions are the
 * attacher's and only the slow path checks them. The count drops only
 * after the process's CPUs have been flushed, so a walker that read the
 * linking entry sees a non-zero count.
 */
static inline bool p4d_mshare_linked(p4d_t p4d)
{
	return ptdesc_pud_pts_count(virt_to_ptdesc(p4d_pgtable(p4d))) > 0;
}

int mshare_fault_begin(struct vm_area_struct *vma, unsigned long address,
		       bool link, struct mshare_fault *mf);
void mshare_fault_end(struct mshare_fault *mf, bool unlock);
int mshare_link_range(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end);
void mshare_unlink(struct mmu_gather *tlb, struct vm_area_struct *vma,
		   unsigned long start, unsigned long end);
bool mm_range_has_mshare(struct mm_struct *mm, unsigned long start,
			 unsigned long end);

#else

static inline bool mm_is_mshare_host(struct mm_struct *mm)
{
	return false;
}

static inline bool p4d_mshare_linked(p4d_t p4d)
{
	return false;
}

static inline int mshare_fault_begin(struct vm_area_struct *vma,
				     unsigned long address, bool link,
				     struct mshare_fault *mf)
{
	return -EFAULT;
}

static inline void mshare_fault_end(struct mshare_fault *mf, bool unlock)
{
}

static inline int mshare_link_range(struct vm_area_struct *vma,
				    unsigned long start, unsigned long end)
{
	return -EFAULT;
}

static inline void mshare_unlink(struct mmu_gather *tlb,
				 struct vm_area_struct *vma,
				 unsigned long start, unsigned long end)
{
}

static inline bool mm_range_has_mshare(struct mm_struct *mm,
				       unsigned long start, unsigned long end)
{
	return false;
}

#endif /* CONFIG_MSHARE */

/* Whether @mm attaches a region anywhere; its mmap_lock is held. */
static inline bool mm_has_mshare(struct mm_struct *mm)
{
	return mm_range_has_mshare(mm, 0, ULONG_MAX);
}
#endif /* _LINUX_MSHARE_H */
