// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs region contents: MSHAREFS_CREATE_MAPPING and MSHAREFS_UNMAP
 * map and unmap memory in the region's host mm, for every attacher at
 * once.
 *
 * Locking: both take the host's mmap_lock for write, and nothing else of
 * msharefs. Unmapping flushes through the host's mmu_gather, whose flush
 * reaches every CPU through the host's notifier before any page or table
 * is freed, so no attacher can read old data once UNMAP has returned.
 */
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/security.h>
#include <linux/uaccess.h>
#include <linux/msharefs.h>

#include "internal.h"

/* The only MAP_* flags CREATE_MAPPING takes; MAP_SHARED|MAP_FIXED are due. */
#define MSHARE_CREATE_FLAGS	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | \
				 MAP_HUGETLB | MAP_NORESERVE | MAP_POPULATE | \
				 (MAP_HUGE_MASK << MAP_HUGE_SHIFT))
#define MSHARE_CREATE_PROT	(PROT_READ | PROT_WRITE | PROT_EXEC)

/*
 * The backing of a file mapping: any mmap-able file but msharefs's own,
 * since regions do not nest.
 */
static struct file *mshare_backing_file(u32 fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (file_inode(file)->i_sb->s_magic == MSHAREFS_MAGIC) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}

/* Anonymous huge pages: a hugetlbfs file of their own, as mmap() makes. */
static struct file *mshare_hugetlb_file(const struct mshare_create *mc)
{
	int size_log = (mc->flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;

	return hugetlb_file_setup(HUGETLB_ANON_FILE, mc->size, VM_NORESERVE,
				  HUGETLB_ANONHUGE_INODE, size_log);
}

/*
 * Memory that cannot be shared through linked tables: raw PFNs (no
 * struct page for GUP, no rmap), device memory and DAX.
 */
static bool mshare_vma_unshareable(struct vm_area_struct *vma)
{
	return (vma->vm_flags & (VM_PFNMAP | VM_IO | VM_MIXEDMAP)) ||
	       vma_is_dax(vma);
}

static long mshare_map(struct mshare_region *region, struct file *backing,
		       const struct mshare_create *mc)
{
	struct mm_struct *mm = region->mm;
	unsigned long addr = region->base + mc->region_offset;
	unsigned long flags = MAP_SHARED | MAP_FIXED_NOREPLACE |
			      (mc->flags & MAP_NORESERVE);
	struct mem_cgroup *old_memcg;
	unsigned long populate, ret;
	struct vm_area_struct *vma;

	if (!backing)
		flags |= MAP_ANONYMOUS;

	old_memcg = set_active_memcg(region->memcg);
	if (mmap_write_lock_killable(mm)) {
		set_active_memcg(old_memcg);
		return -EINTR;
	}
	ret = __do_mmap(mm, backing, addr, mc->size, mc->prot, flags, 0,
			mc->offset >> PAGE_SHIFT, &populate, NULL);
	if (!IS_ERR_VALUE(ret)) {
		vma = vma_lookup(mm, addr);
		if (!vma || mshare_vma_unshareable(vma)) {
			do_munmap(mm, addr, mc->size, NULL);
			ret = -EINVAL;
		}
	}
	mmap_write_unlock(mm);

	/* Best effort, as MAP_POPULATE is for mmap(). */
	if (!IS_ERR_VALUE(ret) && (mc->flags & MAP_POPULATE)) {
		int locked = 1;

		mmap_read_lock(mm);
		get_user_pages_remote(mm, addr, mc->size >> PAGE_SHIFT, 0,
				      NULL, &locked);
		if (locked)
			mmap_read_unlock(mm);
	}
	set_active_memcg(old_memcg);
	return IS_ERR_VALUE(ret) ? (long)ret : 0;
}

long mshare_ioctl_create_mapping(struct file *file, void __user *argp)
{
	struct mshare_region *region = mshare_ioctl_region(file, true);
	struct file *backing = NULL;
	struct mshare_create mc;
	long err;

	if (IS_ERR(region))
		return PTR_ERR(region);
	if (copy_from_user(&mc, argp, sizeof(mc)))
		return -EFAULT;
	/* mc.reserved is ignored: the 2025 interface left it uninitialised. */

	if ((mc.flags & ~MSHARE_CREATE_FLAGS) ||
	    (mc.flags & (MAP_SHARED | MAP_FIXED)) != (MAP_SHARED | MAP_FIXED))
		return -EINVAL;
	if ((mc.flags & (MAP_HUGE_MASK << MAP_HUGE_SHIFT)) &&
	    !(mc.flags & MAP_HUGETLB))
		return -EINVAL;
	if (mc.prot & ~MSHARE_CREATE_PROT)
		return -EINVAL;
	if ((mc.prot & PROT_EXEC) && !mshare_table_perms())
		return -EOPNOTSUPP;
	if (!mshare_range_ok(region, mc.region_offset, mc.size) ||
	    !PAGE_ALIGNED(mc.offset))
		return -EINVAL;

	if (mc.flags & MAP_ANONYMOUS) {
		if (mc.fd != (u32)-1 || mc.offset)
			return -EINVAL;
		if (mc.flags & MAP_HUGETLB) {
			backing = mshare_hugetlb_file(&mc);
			if (IS_ERR(backing))
				return PTR_ERR(backing);
		}
	} else {
		if (mc.flags & MAP_HUGETLB)
			return -EINVAL;
		backing = mshare_backing_file(mc.fd);
		if (IS_ERR(backing))
			return PTR_ERR(backing);
	}

	/* Huge pages are mapped whole: every value must be huge-aligned. */
	err = -EINVAL;
	if (backing && is_file_hugepages(backing)) {
		unsigned long hsize = huge_page_size(hstate_file(backing));

		if (!IS_ALIGNED(mc.region_offset | mc.size | mc.offset, hsize))
			goto out;
	}

	err = security_mmap_file(backing, mc.prot, MAP_SHARED);
	if (!err)
		err = mshare_map(region, backing, &mc);
out:
	if (backing)
		fput(backing);
	return err;
}

long mshare_ioctl_unmap(struct file *file, void __user *argp)
{
	struct mshare_region *region = mshare_ioctl_region(file, true);
	struct mshare_unmap mu;
	struct mem_cgroup *old_memcg;
	int err;

	if (IS_ERR(region))
		return PTR_ERR(region);
	if (copy_from_user(&mu, argp, sizeof(mu)))
		return -EFAULT;
	if (!mshare_range_ok(region, mu.region_offset, mu.size))
		return -EINVAL;

	/* Splitting a mapping may allocate: charge it to the region too. */
	old_memcg = set_active_memcg(region->memcg);
	if (mmap_write_lock_killable(region->mm)) {
		set_active_memcg(old_memcg);
		return -EINTR;
	}
	err = do_munmap(region->mm, region->base + mu.region_offset, mu.size,
			NULL);
	mmap_write_unlock(region->mm);
	set_active_memcg(old_memcg);
	return err;
}
