/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * msharefs: regions of memory whose page tables are shared by every
 * process that maps them.
 *
 * A region is a regular file in an msharefs mount (normally
 * /sys/fs/mshare). It is created with open(O_CREAT), sized once with
 * ftruncate() to a non-zero multiple of the alignment read from the
 * "mshare_info" file at the root of the mount, filled with
 * MSHAREFS_CREATE_MAPPING, and attached by mmap()ing the whole file
 * MAP_SHARED. See Documentation/filesystems/msharefs.rst.
 *
 * All structures use fixed-width fields and have no implicit padding.
 * Unknown flags and non-zero reserved fields are rejected with EINVAL,
 * except mshare_create.reserved, which is ignored: it was tail padding
 * in the 2025 msharefs proposal, whose programs do not zero it.
 */
#ifndef _UAPI_LINUX_MSHAREFS_H
#define _UAPI_LINUX_MSHAREFS_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* statfs(2) f_type of an msharefs mount ("MSHR"). */
#define MSHAREFS_MAGIC		0x4d534852

/* Name of the read-only file at the root of a mount holding the alignment. */
#define MSHAREFS_INFO_NAME	"mshare_info"

/*
 * MSHAREFS_CREATE_MAPPING: map memory into the region at region_offset.
 *
 * @region_offset: where in the region, page-aligned.
 * @size:	   length in bytes, page-aligned, non-zero; the range must
 *		   lie inside the region and not overlap an existing mapping.
 * @offset:	   offset in @fd, as for mmap(2); 0 for anonymous memory.
 * @prot:	   PROT_READ, PROT_WRITE (PROT_NONE allowed).
 * @flags:	   MAP_SHARED | MAP_FIXED, optionally MAP_ANONYMOUS and
 *		   MAP_HUGETLB (with a MAP_HUGE_* size).
 * @fd:		   a tmpfs, memfd, regular or hugetlbfs file; (__u32)-1 with
 *		   MAP_ANONYMOUS.
 * @reserved:	   ignored.
 */
struct mshare_create {
	__u64 region_offset;
	__u64 size;
	__u64 offset;
	__u32 prot;
	__u32 flags;
	__u32 fd;
	__u32 reserved;
};

/* MSHAREFS_UNMAP: remove the mappings in [region_offset, region_offset + size). */
struct mshare_unmap {
	__u64 region_offset;
	__u64 size;
};

/*
 * MSHAREFS_PROTECT: set the protection of a range for every attached
 * process at once, at a cost that does not depend on how many there are.
 *
 * @region_offset: where in the region, page-aligned.
 * @size:	   length in bytes, page-aligned, non-zero, inside the region.
 * @prot:	   PROT_NONE, PROT_READ or PROT_READ|PROT_WRITE; PROT_EXEC
 *		   may be added to the last two.
 * @reserved:	   zero.
 *
 * The whole range is checked first: a hole (ENOMEM) or a protection the
 * backing does not allow (EACCES) changes nothing. A read-only attach
 * stays read-only. Needs the region open for writing (EBADF).
 */
struct mshare_protect {
	__u64 region_offset;
	__u64 size;
	__u32 prot;
	__u32 reserved;
};

/*
 * MSHAREFS_ADVISE: madvise(2) advice for a range of the region's memory,
 * taken once for every attached process.
 *
 * @region_offset: where in the region, page-aligned.
 * @size:	   length in bytes, page-aligned, non-zero, inside the region.
 * @advice:	   MADV_POPULATE_READ, MADV_POPULATE_WRITE (a later attacher
 *		   then takes at most one fault for the range), MADV_DONTNEED,
 *		   MADV_REMOVE, MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT,
 *		   MADV_HUGEPAGE or MADV_NOHUGEPAGE; anything else is EINVAL.
 * @reserved:	   zero.
 *
 * Errors otherwise as madvise(2)'s: ENOMEM for a hole, EINVAL for a
 * populate the protection forbids, EACCES for MADV_REMOVE of a file not
 * open for writing. Needs the region open for writing (EBADF).
 */
struct mshare_advise {
	__u64 region_offset;
	__u64 size;
	__u32 advice;
	__u32 reserved;
};

/*
 * MSHAREFS_GET_STATS: what a region costs and who uses it. Works on any
 * open file of the region, read-only too; an unsized region reports size
 * 0 and no costs.
 *
 * @size:	     the region size.
 * @align:	     the region alignment (as in mshare_info).
 * @nr_attached:     attaches of the region in all processes (a forked
 *		     child's included).
 * @pgtable_bytes:   page-table memory the region allocated, shared by
 *		     every attach and counted once in PageTables.
 * @rss_bytes:	     memory mapped in the region's page tables, huge pages
 *		     included.
 * @nr_cont_blocks:  folded contiguous-PTE blocks in the region's tables
 *		     (arm64 with CONFIG_ARM64_CONTPTE; 0 elsewhere).
 * @nr_flushes:	     all-CPU TLB flushes made for the region's tables since
 *		     it was sized: every change to them that needs a flush
 *		     must reach all the attachers' CPUs.
 * @reserved:	     zero.
 */
struct mshare_stats {
	__u64 size;
	__u64 align;
	__u64 nr_attached;
	__u64 pgtable_bytes;
	__u64 rss_bytes;
	__u64 nr_cont_blocks;
	__u64 nr_flushes;
	__u64 reserved[3];
};

#define MSHAREFS_IOC_MAGIC	'x'

#define MSHAREFS_CREATE_MAPPING	_IOW(MSHAREFS_IOC_MAGIC, 0, struct mshare_create)
#define MSHAREFS_UNMAP		_IOW(MSHAREFS_IOC_MAGIC, 1, struct mshare_unmap)
#define MSHAREFS_PROTECT	_IOW(MSHAREFS_IOC_MAGIC, 2, struct mshare_protect)
#define MSHAREFS_ADVISE		_IOW(MSHAREFS_IOC_MAGIC, 3, struct mshare_advise)
#define MSHAREFS_GET_STATS	_IOR(MSHAREFS_IOC_MAGIC, 4, struct mshare_stats)

#endif /* _UAPI_LINUX_MSHAREFS_H */
