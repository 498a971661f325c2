// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs regions: sizing, the region file's operations and eviction.
 *
 * Locking: a region is sized once, under its inode's i_rwsem (held by the
 * VFS around ->setattr, taken here for ->fallocate): the host mm is
 * created and published in i_private with release semantics, then i_size
 * is set. Neither changes again until eviction, when no file or mapping
 * is left, so the rest of msharefs reads them without the lock.
 */
#include <linux/compat.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/msharefs.h>

#include "internal.h"

/*
 * A region is sized exactly once, to a non-zero multiple of the alignment,
 * so that it can later be linked into processes whole top-level entries
 * at a time. The upper bound is the superblock's s_maxbytes (EFBIG),
 * checked by the caller through inode_newsize_ok().
 */
static int msharefs_region_set_size(struct inode *inode, loff_t size)
{
	struct mshare_region *region;

	lockdep_assert_held_write(&inode->i_rwsem);

	if (i_size_read(inode))
		return -EBUSY;
	if (!size || !IS_ALIGNED(size, MSHARE_ALIGN))
		return -EINVAL;
	region = mshare_region_create(size);
	if (IS_ERR(region))
		return PTR_ERR(region);
	/* Pairs with msharefs_region(): the region is whole when seen */
	smp_store_release((struct mshare_region **)&inode->i_private, region);
	i_size_write(inode, size);
	return 0;
}

/* The last reference to a region inode is gone: so is every attach. */
void msharefs_region_evict(struct inode *inode)
{
	struct mshare_region *region = msharefs_region(inode);

	if (region)
		mshare_region_destroy(region);
	inode->i_private = NULL;
}

static int msharefs_region_setattr(struct mnt_idmap *idmap,
				   struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = setattr_prepare(idmap, dentry, attr);
	if (err)
		return err;

	if (attr->ia_valid & ATTR_SIZE) {
		/*
		 * open(O_TRUNC) of a region that has no size yet asks for
		 * nothing: let it through, so that the usual O_CREAT|O_TRUNC
		 * idiom works. Every other size change is a sizing request.
		 */
		bool noop = (attr->ia_valid & ATTR_OPEN) && !attr->ia_size &&
			    !i_size_read(inode);

		if (!noop) {
			err = msharefs_region_set_size(inode, attr->ia_size);
			if (err)
				return err;
		}
	}

	setattr_copy(idmap, inode, attr);
	return 0;
}

/* fallocate(fd, 0, 0, size) sizes a region as ftruncate() does. */
static long msharefs_region_fallocate(struct file *file, int mode,
				      loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	int err;

	if (mode)
		return -EOPNOTSUPP;
	if (offset)
		return -EINVAL;

	inode_lock(inode);
	err = inode_newsize_ok(inode, len);
	if (!err)
		err = msharefs_region_set_size(inode, len);
	/* As ftruncate: times updated, set-id bits dropped. */
	if (!err)
		err = file_modified(file);
	inode_unlock(inode);
	return err;
}

const struct inode_operations msharefs_region_inode_operations = {
	.setattr	= msharefs_region_setattr,
	.getattr	= simple_getattr,
};

const struct file_operations msharefs_region_file_operations = {
	.open		= generic_file_open,
	.llseek		= generic_file_llseek,
	.fallocate	= msharefs_region_fallocate,
	.mmap		= msharefs_mmap,
	.get_unmapped_area = msharefs_get_unmapped_area,
	.unlocked_ioctl	= msharefs_region_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};
