/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msharefs internals shared by the files of fs/msharefs.
 *
 * Locking: the namespace (create, unlink, mkdir, rmdir, rename) runs under
 * the parent directory's i_rwsem, taken by the VFS. A region's size is set
 * once, under the region inode's i_rwsem, together with its host mm; once
 * set, neither changes until the inode is evicted, so readers use
 * msharefs_region() without the lock. The host mm's contents change under
 * its mmap_lock, held for write by the ioctls and for read, nested inside
 * the attacher's own, by faults and GUP.
 */
#ifndef _FS_MSHAREFS_INTERNAL_H
#define _FS_MSHAREFS_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pgtable.h>
#include <linux/uidgid.h>
#include <asm/mshare.h>

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

/*
 * A sized region: its memory lives in a host mm of its own, at host
 * addresses [base, base + size), whose PUD tables are linked into the
 * container VMAs of the processes that attach it.
 */
struct mshare_region {
	struct mm_struct *mm;		/* the host mm; no task owns it */
	unsigned long base;		/* host address of region offset 0 */
	unsigned long size;
	struct mmu_notifier notifier;	/* flushes every CPU for the host */
	struct mem_cgroup *memcg;	/* charged for memory and tables */
	atomic_long_t nr_attached;	/* container VMAs */
	atomic64_t nr_flushes;		/* all-CPU flushes by the notifier */
};

/*
 * Whether the MMU enforces an attach's rights, which live in its linking
 * entry (arch_mshare_link_p4d()). Where it does not (arm64 with indirect
 * or overlay permissions), an attach may not be narrower than the region:
 * read-only attaches are refused, and so is executable region memory, so
 * that no attach without PROT_EXEC could execute it. EOPNOTSUPP.
 */
static inline bool mshare_table_perms(void)
{
#ifdef arch_mshare_table_perms
	return arch_mshare_table_perms();
#else
	return true;
#endif
}

/* The region behind a region inode, or NULL while it is unsized. */
static inline struct mshare_region *msharefs_region(struct inode *inode)
{
	/* Pairs with the release in msharefs_region_set_size() */
	return smp_load_acquire((struct mshare_region **)&inode->i_private);
}

/* host.c */
struct mshare_region *mshare_region_create(unsigned long size);
void mshare_region_destroy(struct mshare_region *region);

/* ioctl.c */
struct mshare_region *mshare_ioctl_region(struct file *file, bool write);
bool mshare_range_ok(const struct mshare_region *region, u64 offset, u64 size);
long msharefs_region_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg);

/* mapping.c */
long mshare_ioctl_create_mapping(struct file *file, void __user *argp);
long mshare_ioctl_unmap(struct file *file, void __user *argp);

/* protect.c */
long mshare_ioctl_protect(struct file *file, void __user *argp);

/* advise.c */
long mshare_ioctl_advise(struct file *file, void __user *argp);

/* stats.c */
long mshare_ioctl_get_stats(struct file *file, void __user *argp);

/* attach.c */
unsigned long msharefs_get_unmapped_area(struct file *file,
					 unsigned long addr, unsigned long len,
					 unsigned long pgoff, unsigned long flags);
int msharefs_mmap(struct file *file, struct vm_area_struct *vma);
struct mshare_region *mshare_vma_region(struct vm_area_struct *vma);

/* inode.c */
struct inode *msharefs_get_inode(struct mnt_idmap *idmap,
				 struct super_block *sb,
				 const struct inode *dir, umode_t mode);
extern const struct inode_operations msharefs_dir_inode_operations;

/* region.c */
void msharefs_region_evict(struct inode *inode);
extern const struct inode_operations msharefs_region_inode_operations;
extern const struct file_operations msharefs_region_file_operations;

#endif /* _FS_MSHAREFS_INTERNAL_H */
