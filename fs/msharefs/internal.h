/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msharefs internals shared by the files of fs/msharefs.
 *
 * Locking: the namespace (create, unlink, mkdir, rmdir, rename) runs under
 * the parent directory's i_rwsem, taken by the VFS. A region's size is set
 * once, under the region inode's i_rwsem; once non-zero it never changes,
 * so readers may use i_size_read() without the lock.
 */
#ifndef _FS_MSHAREFS_INTERNAL_H
#define _FS_MSHAREFS_INTERNAL_H

#include <linux/bits.h>
#include <linux/fs.h>
#include <linux/pgtable.h>
#include <linux/uidgid.h>

/*
 * The region alignment: the span of one entry of the top level below the
 * page-table root (P4D, folded into the PGD where the architecture folds
 * it), so that a whole subtree can be linked into a process. 512 GiB on
 * x86-64 (4- and 5-level) and on arm64 with 4 KiB pages and 48-bit VA.
 */
#define MSHARE_ALIGN	P4D_SIZE

/* Mount options, as tmpfs has them: the root directory's owner and mode. */
struct msharefs_mount_opts {
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	unsigned int seen;	/* MSHAREFS_SEEN_*: given in this fs_context */
};

#define MSHAREFS_SEEN_UID	BIT(0)
#define MSHAREFS_SEEN_GID	BIT(1)
#define MSHAREFS_SEEN_MODE	BIT(2)

struct msharefs_fs_info {
	struct msharefs_mount_opts opts;
	struct inode *info_inode;	/* the mshare_info file */
};

static inline struct msharefs_fs_info *MSHAREFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

/* inode.c */
struct inode *msharefs_get_inode(struct mnt_idmap *idmap,
				 struct super_block *sb,
				 const struct inode *dir, umode_t mode);
extern const struct inode_operations msharefs_dir_inode_operations;

/* region.c */
extern const struct inode_operations msharefs_region_inode_operations;
extern const struct file_operations msharefs_region_file_operations;

#endif /* _FS_MSHAREFS_INTERNAL_H */
