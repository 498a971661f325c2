// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs: superblock, mount options, the mshare_info file and
 * registration.
 *
 * Each mount is an independent instance, as for tmpfs. Mount options
 * (mode=, uid=, gid=) set the root directory's owner and mode, so that an
 * administrator can give a non-root database user its own area.
 *
 * Locking: fill_super runs before the superblock is visible; reconfigure
 * runs under the superblock's s_umount and changes the root inode's
 * attributes, and the options recorded for show_options, under the root
 * inode's i_rwsem, as setattr would. show_options reads them unlocked:
 * at worst /proc/mounts shows a remount half done, as for tmpfs.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/msharefs.h>

#include "internal.h"

#define MSHAREFS_DEFAULT_MODE	0755

enum msharefs_param {
	opt_gid,
	opt_mode,
	opt_uid,
};

static const struct fs_parameter_spec msharefs_fs_parameters[] = {
	fsparam_gid("gid", opt_gid),
	fsparam_u32oct("mode", opt_mode),
	fsparam_uid("uid", opt_uid),
	{}
};

static int msharefs_parse_param(struct fs_context *fc,
				struct fs_parameter *param)
{
	struct msharefs_mount_opts *opts = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, msharefs_fs_parameters, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case opt_gid:
		/* The owner must be representable in the mount's namespace. */
		if (!kgid_has_mapping(fc->user_ns, result.gid))
			return invalfc(fc, "Unmapped gid");
		opts->gid = result.gid;
		opts->seen |= MSHAREFS_SEEN_GID;
		break;
	case opt_mode:
		if (result.uint_32 & ~07777)
			return invalfc(fc, "Invalid mode");
		opts->mode = result.uint_32;
		opts->seen |= MSHAREFS_SEEN_MODE;
		break;
	case opt_uid:
		if (!kuid_has_mapping(fc->user_ns, result.uid))
			return invalfc(fc, "Unmapped uid");
		opts->uid = result.uid;
		opts->seen |= MSHAREFS_SEEN_UID;
		break;
	}
	return 0;
}

static ssize_t msharefs_info_read(struct file *file, char __user *buf,
				  size_t count, loff_t *ppos)
{
	char text[24];
	int len;

	len = scnprintf(text, sizeof(text), "%llu\n",
			(unsigned long long)MSHARE_ALIGN);
	return simple_read_from_buffer(buf, count, ppos, text, len);
}

static const struct file_operations msharefs_info_operations = {
	.read	= msharefs_info_read,
	.llseek	= default_llseek,
};

/* Even root may not truncate mshare_info: its contents are generated. */
static int msharefs_info_setattr(struct mnt_idmap *idmap,
				 struct dentry *dentry, struct iattr *attr)
{
	if (attr->ia_valid & ATTR_SIZE)
		return -EPERM;
	return simple_setattr(idmap, dentry, attr);
}

static const struct inode_operations msharefs_info_inode_operations = {
	.setattr	= msharefs_info_setattr,
	.getattr	= simple_getattr,
};

/* The read-only file at the root that tells userspace the alignment. */
static int msharefs_create_info(struct super_block *sb)
{
	struct dentry *root = sb->s_root;
	struct dentry *dentry;
	struct inode *inode;

	inode = msharefs_get_inode(&nop_mnt_idmap, sb, d_inode(root),
				   S_IFREG | 0444);
	if (!inode)
		return -ENOMEM;
	inode->i_uid = GLOBAL_ROOT_UID;
	inode->i_gid = GLOBAL_ROOT_GID;
	inode->i_op = &msharefs_info_inode_operations;
	inode->i_fop = &msharefs_info_operations;

	dentry = d_alloc_name(root, MSHAREFS_INFO_NAME);
	if (!dentry) {
		iput(inode);
		return -ENOMEM;
	}
	MSHAREFS_SB(sb)->info_inode = inode;
	d_add(dentry, inode);	/* the dentry's reference pins it */
	return 0;
}

/* Give the root inode (and the superblock's record) the options seen. */
static void msharefs_apply_root_opts(struct msharefs_fs_info *fsi,
				     struct inode *root,
				     const struct msharefs_mount_opts *opts)
{
	if (opts->seen & MSHAREFS_SEEN_MODE) {
		fsi->opts.mode = opts->mode;
		root->i_mode = S_IFDIR | opts->mode;
	}
	if (opts->seen & MSHAREFS_SEEN_UID) {
		fsi->opts.uid = opts->uid;
		root->i_uid = opts->uid;
	}
	if (opts->seen & MSHAREFS_SEEN_GID) {
		fsi->opts.gid = opts->gid;
		root->i_gid = opts->gid;
	}
}

static int msharefs_show_options(struct seq_file *m, struct dentry *root)
{
	struct msharefs_mount_opts *opts = &MSHAREFS_SB(root->d_sb)->opts;

	if (!uid_eq(opts->uid, GLOBAL_ROOT_UID))
		seq_printf(m, ",uid=%u",
			   from_kuid_munged(&init_user_ns, opts->uid));
	if (!gid_eq(opts->gid, GLOBAL_ROOT_GID))
		seq_printf(m, ",gid=%u",
			   from_kgid_munged(&init_user_ns, opts->gid));
	if (opts->mode != MSHAREFS_DEFAULT_MODE)
		seq_printf(m, ",mode=%o", opts->mode);
	return 0;
}

static void msharefs_evict_inode(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (S_ISREG(inode->i_mode) && inode->i_fop == &msharefs_region_file_operations)
		msharefs_region_evict(inode);
}

static const struct super_operations msharefs_ops = {
	.statfs		= simple_statfs,
	.evict_inode	= msharefs_evict_inode,
	.drop_inode	= generic_delete_inode,
	.show_options	= msharefs_show_options,
};

static int msharefs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct msharefs_mount_opts *opts;
	struct msharefs_fs_info *fsi;
	struct inode *root;

	fsi = kzalloc(sizeof(*fsi), GFP_KERNEL);
	if (!fsi)
		return -ENOMEM;
	sb->s_fs_info = fsi;

	/*
	 * No region may be larger than a process can map, nor than its host
	 * mm can hold above the first entry it keeps free (see host.c).
	 */
	sb->s_maxbytes = round_down(TASK_SIZE_MAX, MSHARE_ALIGN) - MSHARE_ALIGN;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = MSHAREFS_MAGIC;
	sb->s_op = &msharefs_ops;
	sb->s_time_gran = 1;

	root = msharefs_get_inode(&nop_mnt_idmap, sb, NULL, S_IFDIR);
	if (!root)
		return -ENOMEM;
	/* A new mount starts from the defaults: every option counts as given. */
	opts = fc->fs_private;
	opts->seen = MSHAREFS_SEEN_UID | MSHAREFS_SEEN_GID | MSHAREFS_SEEN_MODE;
	msharefs_apply_root_opts(fsi, root, opts);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;

	return msharefs_create_info(sb);
}

static int msharefs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, msharefs_fill_super);
}

static int msharefs_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	struct msharefs_fs_info *fsi = MSHAREFS_SB(sb);
	struct inode *root = d_inode(sb->s_root);

	struct msharefs_mount_opts *opts = fc->fs_private;

	/* A remount changes only what it names, as for tmpfs. */
	if (!opts->seen)
		return 0;
	inode_lock(root);
	msharefs_apply_root_opts(fsi, root, opts);
	inode_set_ctime_current(root);
	inode_unlock(root);
	return 0;
}

static void msharefs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations msharefs_context_ops = {
	.free		= msharefs_free_fc,
	.parse_param	= msharefs_parse_param,
	.get_tree	= msharefs_get_tree,
	.reconfigure	= msharefs_reconfigure,
};

static int msharefs_init_fs_context(struct fs_context *fc)
{
	struct msharefs_mount_opts *opts;

	opts = kzalloc(sizeof(*opts), GFP_KERNEL);
	if (!opts)
		return -ENOMEM;

	opts->uid = GLOBAL_ROOT_UID;
	opts->gid = GLOBAL_ROOT_GID;
	opts->mode = MSHAREFS_DEFAULT_MODE;
	fc->fs_private = opts;
	fc->ops = &msharefs_context_ops;
	return 0;
}

static void msharefs_kill_sb(struct super_block *sb)
{
	struct msharefs_fs_info *fsi = MSHAREFS_SB(sb);

	kill_litter_super(sb);
	kfree(fsi);
}

static struct file_system_type msharefs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "msharefs",
	.init_fs_context	= msharefs_init_fs_context,
	.parameters		= msharefs_fs_parameters,
	.kill_sb		= msharefs_kill_sb,
};

static int __init msharefs_init(void)
{
	int err;

	err = sysfs_create_mount_point(fs_kobj, "mshare");
	if (err)
		return err;

	err = register_filesystem(&msharefs_fs_type);
	if (err)
		sysfs_remove_mount_point(fs_kobj, "mshare");
	return err;
}
fs_initcall(msharefs_init);
