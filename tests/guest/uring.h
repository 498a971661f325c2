/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One io_uring request at a time, for the tests of io_uring on region
 * memory (test-gup, test-pin, test-isolation): the caller prepares an SQE
 * of @ring, uring_run() submits it and waits for its completion.
 */
#ifndef MSHARE_URING_H
#define MSHARE_URING_H

#include <errno.h>
#include <liburing.h>

/* Submit the prepared request and wait: its result, or io_uring's -errno. */
static inline int uring_run(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int r;

	r = io_uring_submit(ring);
	if (r != 1)
		return r < 0 ? r : -EIO;
	r = io_uring_wait_cqe(ring, &cqe);
	if (r)
		return r;
	r = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return r;
}

/* IORING_OP_READ_FIXED or WRITE_FIXED of fixed buffer 0 at @buf. */
static inline int uring_rw(struct io_uring *ring, bool write, int fd, void *buf,
			   unsigned int len, off_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write_fixed(sqe, fd, buf, len, off, 0);
	else
		io_uring_prep_read_fixed(sqe, fd, buf, len, off, 0);
	return uring_run(ring);
}

#endif
