// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs region ioctls: dispatch, and the checks every one of them
 * shares. The work is done in mapping.c (CREATE_MAPPING, UNMAP),
 * protect.c, advise.c and stats.c.
 *
 * Locking: none here. Each ioctl takes the host's mmap_lock itself;
 * the region it works on cannot go away while the file is open.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/msharefs.h>

#include "internal.h"

/*
 * The region of an ioctl's file. Every ioctl but GET_STATS changes what
 * all attachers see, so it needs the file open for writing (@write):
 * EBADF otherwise, as for write(2). An unsized region has no contents to
 * change: EINVAL.
 */
struct mshare_region *mshare_ioctl_region(struct file *file, bool write)
{
	struct mshare_region *region;

	if (write && !(file->f_mode & FMODE_WRITE))
		return ERR_PTR(-EBADF);
	region = msharefs_region(file_inode(file));
	return region ?: ERR_PTR(-EINVAL);
}

/* [offset, offset + size) page-aligned, non-empty and inside the region. */
bool mshare_range_ok(const struct mshare_region *region, u64 offset, u64 size)
{
	return size && PAGE_ALIGNED(offset | size) && offset < region->size &&
	       size <= region->size - offset;
}

long msharefs_region_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case MSHAREFS_CREATE_MAPPING:
		return mshare_ioctl_create_mapping(file, argp);
	case MSHAREFS_UNMAP:
		return mshare_ioctl_unmap(file, argp);
	case MSHAREFS_PROTECT:
		return mshare_ioctl_protect(file, argp);
	case MSHAREFS_ADVISE:
		return mshare_ioctl_advise(file, argp);
	case MSHAREFS_GET_STATS:
		return mshare_ioctl_get_stats(file, argp);
	default:
		return -ENOTTY;
	}
}
