// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sizing a region: once, to a non-zero multiple of the alignment, with
 * ftruncate(), truncate() or fallocate(); every other request fails with
 * the errno DESIGN §2 gives it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include "guest.h"

static int new_region(const char *name, char *path, size_t len)
{
	region_path(path, len, name);
	unlink(path);
	return open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
}

static off_t size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

int main(void)
{
	char path[512];
	uint64_t align;
	int fd, ro;

	require_msharefs();
	align = mshare_align_raw();

	/* Invalid sizes leave the region unsized and sizable. */
	fd = new_region("size-bad", path, sizeof(path));
	TAP_ERRNO(ftruncate(fd, 0), EINVAL, "size 0 is EINVAL");
	TAP_ERRNO(ftruncate(fd, 4096), EINVAL, "one page is EINVAL");
	TAP_ERRNO(ftruncate(fd, align - 4096), EINVAL,
		  "alignment minus a page is EINVAL");
	TAP_ERRNO(ftruncate(fd, align + 4096), EINVAL,
		  "alignment plus a page is EINVAL");
	TAP_ERRNO(ftruncate(fd, align / 2), EINVAL, "half the alignment is EINVAL");
	TAP_ERRNO(ftruncate(fd, -1), EINVAL, "a negative size is EINVAL");
	TAP_ERRNO(ftruncate(fd, (off_t)1 << 62), EFBIG,
		  "a size no process could map is EFBIG");
	tap_ok(size_of(fd) == 0, "failed requests leave the size at 0");

	ro = open(path, O_RDONLY);
	TAP_ERRNO(ftruncate(ro, align), EINVAL,
		  "ftruncate through a read-only fd is EINVAL");
	close(ro);

	TAP_SUCCESS(ftruncate(fd, 2 * align), "size to twice the alignment");
	tap_ok(size_of(fd) == (off_t)(2 * align), "fstat reports the size");
	TAP_ERRNO(ftruncate(fd, 2 * align), EBUSY, "sizing again to the same size is EBUSY");
	TAP_ERRNO(ftruncate(fd, 4 * align), EBUSY, "growing a sized region is EBUSY");
	TAP_ERRNO(ftruncate(fd, align), EBUSY, "shrinking a sized region is EBUSY");
	TAP_ERRNO(ftruncate(fd, 0), EBUSY, "truncating a sized region to 0 is EBUSY");
	TAP_ERRNO(fallocate(fd, 0, 0, 4 * align), EBUSY,
		  "fallocate on a sized region is EBUSY");
	TAP_ERRNO(open(path, O_RDWR | O_TRUNC), EBUSY,
		  "open(O_TRUNC) of a sized region is EBUSY");
	tap_ok(size_of(fd) == (off_t)(2 * align), "the size is unchanged");
	close(fd);
	unlink(path);

	/* truncate(2) by path follows the same rules. */
	fd = new_region("size-path", path, sizeof(path));
	TAP_ERRNO(truncate(path, align + 1), EINVAL, "truncate() by path checks alignment");
	TAP_SUCCESS(truncate(path, align), "truncate() by path sizes a region");
	tap_ok(size_of(fd) == (off_t)align, "the size shows through the open fd");
	close(fd);
	unlink(path);

	/* open(O_TRUNC) of an unsized region asks for nothing. */
	fd = new_region("size-otrunc", path, sizeof(path));
	close(fd);
	fd = open(path, O_RDWR | O_TRUNC);
	tap_ok(fd >= 0 && size_of(fd) == 0,
	       "open(O_TRUNC) of an unsized region succeeds and leaves it unsized");
	close(fd);
	unlink(path);

	/* fallocate(fd, 0, 0, size) is the other way to size. */
	fd = new_region("size-falloc", path, sizeof(path));
	TAP_ERRNO(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, align), EOPNOTSUPP,
		  "fallocate with a mode is EOPNOTSUPP");
	TAP_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, align),
		  EOPNOTSUPP, "fallocate(PUNCH_HOLE) is EOPNOTSUPP");
	TAP_ERRNO(fallocate(fd, 0, align, align), EINVAL,
		  "fallocate at a non-zero offset is EINVAL");
	TAP_ERRNO(fallocate(fd, 0, 0, 4096), EINVAL,
		  "fallocate of an unaligned size is EINVAL");
	TAP_SUCCESS(fallocate(fd, 0, 0, align), "fallocate(fd, 0, 0, align) sizes");
	tap_ok(size_of(fd) == (off_t)align, "fstat reports the fallocated size");
	close(fd);
	ro = open(path, O_RDONLY);
	TAP_ERRNO(fallocate(ro, 0, 0, align), EBADF,
		  "fallocate through a read-only fd is EBADF");
	close(ro);
	unlink(path);

	return tap_done();
}
