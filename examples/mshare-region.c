// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-region: create and size an msharefs region with the raw
 * interface (open, ftruncate, fstat), using libmshare only to find the
 * mount and its alignment.
 *
 *   mshare-region [-k] NAME [UNITS]
 *
 * creates NAME in the msharefs mount ($LIBMSHARE_PATH or the one found),
 * sizes it to UNITS times the alignment (default 1), prints what it made
 * and removes it again unless -k is given.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmshare.h>

int main(int argc, char **argv)
{
	uint64_t align = 0, units = 1;
	char mnt[4096], path[8192];
	struct stat st;
	int keep = 0, fd, err;

	if (argc > 1 && !strcmp(argv[1], "-k")) {
		keep = 1;
		argv++;
		argc--;
	}
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: mshare-region [-k] NAME [UNITS]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;

		units = strtoull(argv[2], &end, 10);
		if (*end || !units) {
			fprintf(stderr, "mshare-region: UNITS must be a positive number\n");
			return 2;
		}
	}
	err = mshare_find_mount(NULL, mnt, sizeof(mnt));
	if (err) {
		fprintf(stderr, "mshare-region: no msharefs mount: %s "
			"(mount -t msharefs none /sys/fs/mshare)\n", strerror(-err));
		return 1;
	}
	err = mshare_align(mnt, &align);
	if (err) {
		fprintf(stderr, "mshare-region: cannot read the alignment: %s\n",
			strerror(-err));
		return 1;
	}

	snprintf(path, sizeof(path), "%s/%s", mnt, argv[1]);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "mshare-region: create %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (ftruncate(fd, units * align) || fstat(fd, &st)) {
		fprintf(stderr, "mshare-region: size %s to %" PRIu64 " bytes: %s\n",
			path, units * align, strerror(errno));
		unlink(path);
		return 1;
	}
	printf("region %s\n", path);
	printf("  alignment %" PRIu64 " bytes (%" PRIu64 " GiB)\n", align, align >> 30);
	printf("  size      %jd bytes (%jd GiB)\n", (intmax_t)st.st_size,
	       (intmax_t)st.st_size >> 30);
	close(fd);
	if (!keep && unlink(path)) {
		fprintf(stderr, "mshare-region: unlink %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}
