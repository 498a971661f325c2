// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs namespace: inodes, directories, region creation and removal.
 *
 * Locking: every operation here runs under the parent directory's
 * i_rwsem (rename under both parents' and the s_vfs_rename_mutex), taken
 * by the VFS. Dentries are pinned in the dcache as in ramfs, so the
 * dcache is the directory; simple_unlink()/simple_rmdir() drop the pin.
 * A region outlives its name: it is torn down when its inode is evicted,
 * after the last open file and the last mapping are gone.
 */
#include <linux/fs.h>
#include <linux/security.h>

#include "internal.h"

struct inode *msharefs_get_inode(struct mnt_idmap *idmap,
				 struct super_block *sb,
				 const struct inode *dir, umode_t mode)
{
	struct inode *inode = new_inode(sb);

	if (!inode)
		return NULL;

	inode->i_ino = get_next_ino();
	inode_init_owner(idmap, inode, dir, mode);
	simple_inode_init_ts(inode);

	switch (mode & S_IFMT) {
	case S_IFDIR:
		inode->i_op = &msharefs_dir_inode_operations;
		inode->i_fop = &simple_dir_operations;
		/* "." counts as a link. */
		inc_nlink(inode);
		break;
	case S_IFREG:
		inode->i_op = &msharefs_region_inode_operations;
		inode->i_fop = &msharefs_region_file_operations;
		break;
	default:
		/* Only directories and regions exist here. */
		WARN_ON_ONCE(1);
		iput(inode);
		return NULL;
	}
	return inode;
}

static int msharefs_new(struct mnt_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode)
{
	struct inode *inode;
	int err;

	inode = msharefs_get_inode(idmap, dir->i_sb, dir, mode);
	if (!inode)
		return -ENOMEM;

	err = security_inode_init_security(inode, dir, &dentry->d_name,
					   NULL, NULL);
	if (err) {
		iput(inode);
		return err;
	}

	if (S_ISDIR(mode))
		inc_nlink(dir);
	d_instantiate(dentry, inode);
	dget(dentry);	/* pin: the dcache is the directory */
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	return 0;
}

static int msharefs_create(struct mnt_idmap *idmap, struct inode *dir,
			   struct dentry *dentry, umode_t mode, bool excl)
{
	return msharefs_new(idmap, dir, dentry, (mode & ~S_IFMT) | S_IFREG);
}

static int msharefs_mkdir(struct mnt_idmap *idmap, struct inode *dir,
			  struct dentry *dentry, umode_t mode)
{
	return msharefs_new(idmap, dir, dentry, (mode & ~S_IFMT) | S_IFDIR);
}

/* mshare_info belongs to the filesystem: nobody may remove or replace it. */
static bool msharefs_is_info(struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);

	return inode && inode == MSHAREFS_SB(dentry->d_sb)->info_inode;
}

static int msharefs_unlink(struct inode *dir, struct dentry *dentry)
{
	if (msharefs_is_info(dentry))
		return -EPERM;
	return simple_unlink(dir, dentry);
}

static int msharefs_rename(struct mnt_idmap *idmap,
			   struct inode *old_dir, struct dentry *old_dentry,
			   struct inode *new_dir, struct dentry *new_dentry,
			   unsigned int flags)
{
	if (msharefs_is_info(old_dentry) || msharefs_is_info(new_dentry))
		return -EPERM;
	return simple_rename(idmap, old_dir, old_dentry, new_dir, new_dentry,
			     flags);
}

/*
 * No link, symlink or mknod: a region has exactly one name, and nothing
 * but regions and directories lives here (the VFS answers EPERM).
 */
const struct inode_operations msharefs_dir_inode_operations = {
	.lookup		= simple_lookup,
	.create		= msharefs_create,
	.unlink		= msharefs_unlink,
	.mkdir		= msharefs_mkdir,
	.rmdir		= simple_rmdir,
	.rename		= msharefs_rename,
};
