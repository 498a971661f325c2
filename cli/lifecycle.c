// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare create and mshare rm: a region's birth and death. create checks
 * every size before it makes anything, and removes the region again if
 * any later step fails, so that a failed create leaves nothing behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmshare.h>

#include "cli.h"
#include "hugepage.h"

struct create_args {
	const char *name, *file;
	uint64_t mem, file_offset, region_size;
	bool populate, hugetlb;
	mode_t mode;
};

/* The region size for @a with alignment @align, or EXIT_USAGE after saying why. */
static int check_region_size(const struct create_args *a, uint64_t align,
			     uint64_t *rsize)
{
	char s1[64], s2[64];

	switch (region_size_for(a->mem, a->region_size, align, rsize)) {
	case RSIZE_OK:
		return 0;
	case RSIZE_UNALIGNED:
		return errmsg(EXIT_USAGE,
			    "region size %s is not a multiple of the alignment %s (%llu bytes)",
			    size_text(a->region_size, s1, sizeof(s1)),
			    size_text(align, s2, sizeof(s2)),
			    (unsigned long long)align);
	case RSIZE_TOO_SMALL:
		return errmsg(EXIT_USAGE, "region size %s is smaller than SIZE %s",
			    size_text(a->region_size, s1, sizeof(s1)),
			    size_text(a->mem, s2, sizeof(s2)));
	default:
		return errmsg(EXIT_USAGE,
			    "size %s rounded up to the alignment %s (%llu bytes) is too large",
			    size_text(a->mem, s1, sizeof(s1)),
			    size_text(align, s2, sizeof(s2)),
			    (unsigned long long)align);
	}
}

/* What the region holds, for people: "64 MiB of anonymous memory". */
static const char *backing_text(const struct create_args *a, char *buf, size_t len)
{
	char s[64], o[64];

	if (!a->mem)
		snprintf(buf, len, "no memory");
	else if (a->file && a->file_offset)
		snprintf(buf, len, "%s of %s from offset %s",
			 size_text(a->mem, s, sizeof(s)), a->file,
			 size_text(a->file_offset, o, sizeof(o)));
	else if (a->file)
		snprintf(buf, len, "%s of %s", size_text(a->mem, s, sizeof(s)), a->file);
	else
		snprintf(buf, len, "%s of anonymous %s", size_text(a->mem, s, sizeof(s)),
			 a->hugetlb ? "huge pages" : "memory");
	return buf;
}

static void report_create(const struct cli *cli, const struct create_args *a,
			  const char *path, uint64_t rsize, uint64_t align)
{
	char s[64], b[PATH_MAX + 128], mode[8];
	struct json j;

	if (!cli->json) {
		printf("created %s: %s region, %s\n", a->name,
		       size_text(rsize, s, sizeof(s)), backing_text(a, b, sizeof(b)));
		return;
	}
	snprintf(mode, sizeof(mode), "%04o", (unsigned int)a->mode);
	json_init(&j, stdout);
	json_begin_object(&j, NULL);
	json_str(&j, "name", a->name);
	json_str(&j, "path", path);
	json_u64(&j, "size", rsize);
	json_u64(&j, "align", align);
	json_str(&j, "mode", mode);
	json_u64(&j, "mapped", a->mem);
	json_str(&j, "backing", !a->mem ? NULL : a->file ? "file" :
				 a->hugetlb ? "hugetlb" : "anon");
	json_str(&j, "file", a->file);
	json_u64(&j, "file_offset", a->file_offset);
	json_bool(&j, "populate", a->populate);
	json_end_object(&j);
	json_finish(&j);
}

/* Undo a create that failed after the region was made; keeps @ret. */
static int rollback(struct mshare_region *r, const char *path, const char *name,
		    int ret)
{
	int err;

	mshare_close(r);
	err = mshare_unlink(path);
	if (err)
		fail_errno(err, CTX_REGION, "%s: cannot remove the unfinished region",
			   name);
	return ret;
}

/* Size region @r and fill it; 0 or an exit code after saying why. */
static int build(struct mshare_region *r, const struct create_args *a,
		 uint64_t rsize, int fd)
{
	unsigned int flags = (a->populate ? MSHARE_MAP_POPULATE : 0) |
			     (a->hugetlb ? MSHARE_MAP_HUGETLB : 0);
	char s[64], b[PATH_MAX + 128];
	int err;

	err = mshare_set_size(r, rsize);
	if (err == -EFBIG)
		return errmsg(EXIT_USAGE, "region size %s is larger than a process can map",
			    size_text(rsize, s, sizeof(s)));
	if (err)
		return fail_errno(err, CTX_OTHER, "%s: cannot size the region to %s",
				  a->name, size_text(rsize, s, sizeof(s)));
	if (!a->mem)
		return 0;
	err = mshare_map(r, 0, a->mem, PROT_READ | PROT_WRITE, fd, a->file_offset,
			 flags);
	if (err)
		return fail_errno(err, CTX_OTHER, "%s: cannot map %s", a->name,
				  backing_text(a, b, sizeof(b)));
	return 0;
}

int cmd_create(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "anon", no_argument, NULL, 'a' },
		{ "file", required_argument, NULL, 'f' },
		{ "offset", required_argument, NULL, 'O' },
		{ "populate", no_argument, NULL, 'p' },
		{ "hugetlb", no_argument, NULL, 'H' },
		{ "mode", required_argument, NULL, 'm' },
		{ "region-size", required_argument, NULL, 'R' },
		VERB_COMMON_OPTIONS
	};
	struct create_args a = { .mode = 0600 };
	const char *offset_arg = NULL;
	char path[PATH_MAX], s1[64], s2[64];
	uint64_t align = 0, rsize = 0, page;
	struct mshare_region *r;
	bool anon = false;
	int c, ret, fd = -1;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			anon = true;
			break;
		case 'f':
			a.file = optarg;
			break;
		case 'O':
			offset_arg = optarg;
			break;
		case 'p':
			a.populate = true;
			break;
		case 'H':
			a.hugetlb = true;
			break;
		case 'm':
			if (parse_mode(optarg, &a.mode))
				return usage_error(v->name,
						   "create: bad mode '%s' (octal, at most 07777)",
						   optarg);
			break;
		case 'R':
			ret = cli_size(v, "region size", optarg, &a.region_size);
			if (ret)
				return ret;
			if (!a.region_size)
				return usage_error(v->name, "create: the region size cannot be 0");
			break;
		default:
			ret = verb_option(cli, v, c, argv);
			if (ret >= 0)
				return ret;
		}
	}
	if (argc - optind != 2)
		return usage_error(v->name, "create: wants NAME and SIZE");
	a.name = argv[optind];
	ret = cli_size(v, "size", argv[optind + 1], &a.mem);
	if (!ret && offset_arg)
		ret = cli_size(v, "file offset", offset_arg, &a.file_offset);
	if (ret)
		return ret;
	if (anon && a.file)
		return usage_error(v->name, "create: --anon and --file exclude each other");
	if (offset_arg && !a.file)
		return usage_error(v->name, "create: --offset is the offset in --file");
	if (a.hugetlb && a.file)
		return usage_error(v->name, "create: --hugetlb is for anonymous memory "
				   "(a hugetlbfs file has huge pages already)");

	page = a.hugetlb ? default_hugepage_size() : page_size();
	if (page && a.mem % page)
		return errmsg(EXIT_USAGE, "size %s is not a multiple of the %spage size %s",
			    size_text(a.mem, s1, sizeof(s1)), a.hugetlb ? "huge " : "",
			    size_text(page, s2, sizeof(s2)));
	if (a.file_offset % page_size())
		return errmsg(EXIT_USAGE, "file offset %s is not a multiple of the page size %s",
			    size_text(a.file_offset, s1, sizeof(s1)),
			    size_text(page_size(), s2, sizeof(s2)));

	ret = cli_region_path(cli, a.name, path, sizeof(path));
	if (ret)
		return ret;
	/*
	 * Below the mount, its mshare_info gives the alignment before anything
	 * is made; for an absolute name the new region itself tells it.
	 */
	if (a.name[0] != '/') {
		int err = mshare_align(cli->mount, &align);

		if (err)
			return fail_errno(err, CTX_OTHER,
					  "cannot read the alignment of %s", cli->mount);
		ret = check_region_size(&a, align, &rsize);
		if (ret)
			return ret;
	}
	if (a.file) {
		fd = open(a.file, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return fail_errno(errno, CTX_OTHER, "%s: cannot open", a.file);
	}

	/* --mode is the mode the region gets, whatever the umask */
	umask(0);
	r = mshare_create(path, a.mode);
	if (!r && errno == ENOENT)
		ret = errmsg(EXIT_NO_REGION, "%s: cannot create: no such directory", a.name);
	else if (!r && errno == EEXIST)
		ret = errmsg(EXIT_FAIL, "%s: cannot create: the region exists", a.name);
	else if (!r)
		ret = region_error(errno, a.name, "create");
	if (!r)
		goto out;
	if (!align) {
		struct mshare_stats st;
		int err = mshare_stats(r, &st);

		if (err) {
			ret = rollback(r, path, a.name, fail_errno(err, CTX_OTHER,
				       "%s: cannot read the alignment", a.name));
			goto out;
		}
		align = st.align;
		ret = check_region_size(&a, align, &rsize);
		if (ret) {
			ret = rollback(r, path, a.name, ret);
			goto out;
		}
	}
	ret = build(r, &a, rsize, fd);
	if (ret) {
		ret = rollback(r, path, a.name, ret);
		goto out;
	}
	mshare_close(r);
	report_create(cli, &a, path, rsize, align);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int cmd_rm(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = { VERB_COMMON_OPTIONS };
	char path[PATH_MAX];
	int c, ret, first = EXIT_OK;
	struct json j;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		ret = verb_option(cli, v, c, argv);
		if (ret >= 0)
			return ret;
	}
	if (optind == argc)
		return usage_error(v->name, "rm: wants at least one NAME");
	if (cli->json) {
		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_begin_array(&j, "removed");
	}
	for (int i = optind; i < argc; i++) {
		int err;

		ret = cli_region_path(cli, argv[i], path, sizeof(path));
		if (ret == EXIT_NOT_MOUNTED) {	/* no other name will do better */
			first = first ? first : ret;
			break;
		}
		if (!ret) {
			err = mshare_unlink(path);
			ret = err ? region_error(err, argv[i], "remove") : EXIT_OK;
		}
		if (ret && !first)
			first = ret;
		if (!ret && cli->json)
			json_str(&j, NULL, argv[i]);
	}
	if (cli->json) {
		json_end_array(&j);
		json_end_object(&j);
		json_finish(&j);
	}
	return first;
}
