// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare map, unmap and protect: the commands that change a range of a
 * region for every process that shares it. The range is checked here
 * (page-aligned, non-empty, inside the region) so that a mistake gets a
 * message naming what was wrong rather than the kernel's EINVAL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libmshare.h>

#include "cli.h"

struct range {
	const char *name;
	uint64_t offset, size;
};

/* Parse NAME OFFSET SIZE at @argv and check them: 0 or an exit code. */
static int parse_range(const struct verb *v, char **argv, struct range *rg)
{
	char s1[64], s2[64], s3[64];
	uint64_t page = page_size();
	int ret;

	rg->name = argv[0];
	ret = cli_size(v, "offset", argv[1], &rg->offset);
	if (!ret)
		ret = cli_size(v, "size", argv[2], &rg->size);
	if (ret)
		return ret;
	if (!rg->size)
		return errmsg(EXIT_USAGE, "%s: the size cannot be 0", v->name);
	if (rg->offset % page || rg->size % page)
		return errmsg(EXIT_USAGE,
			    "%s: offset %s and size %s must be multiples of the page size %s",
			    v->name, size_text(rg->offset, s1, sizeof(s1)),
			    size_text(rg->size, s2, sizeof(s2)),
			    size_text(page, s3, sizeof(s3)));
	return 0;
}

/* "[0, 2 MiB)", or in bytes when a unit would round: "[4096, 12288)" */
static const char *range_text(const struct range *rg, char *buf, size_t len)
{
	uint64_t end = rg->offset + rg->size;
	char s1[64], s2[64];

	format_size(rg->offset, s1, sizeof(s1));
	format_size(end, s2, sizeof(s2));
	if (strchr(s1, '.') || strchr(s2, '.'))
		snprintf(buf, len, "[%llu, %llu)", (unsigned long long)rg->offset,
			 (unsigned long long)end);
	else
		snprintf(buf, len, "[%s, %s)", rg->offset ? s1 : "0", s2);
	return buf;
}

/* Open the region of @rg for writing and check that @rg is inside it. */
static int open_range(struct cli *cli, const struct range *rg,
		      struct mshare_region **r)
{
	char s[64], t[160];
	uint64_t size;
	int ret, err;

	ret = cli_open_region(cli, rg->name, 0, r);
	if (ret)
		return ret;
	err = mshare_get_size(*r, &size);
	if (err)
		ret = fail_errno(err, CTX_OTHER, "%s: cannot read its size", rg->name);
	else if (!size)
		ret = errmsg(EXIT_FAIL, "%s: the region has no size yet", rg->name);
	else if (rg->offset >= size || rg->size > size - rg->offset)
		ret = errmsg(EXIT_USAGE, "%s: range %s is outside the region (%s)",
			   rg->name, range_text(rg, t, sizeof(t)),
			   size_text(size, s, sizeof(s)));
	if (ret) {
		mshare_close(*r);
		*r = NULL;
	}
	return ret;
}

static void json_range(struct json *j, const struct range *rg)
{
	json_init(j, stdout);
	json_begin_object(j, NULL);
	json_str(j, "name", rg->name);
	json_u64(j, "offset", rg->offset);
	json_u64(j, "size", rg->size);
}

int cmd_map(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "anon", no_argument, NULL, 'a' },
		{ "file", required_argument, NULL, 'f' },
		{ "offset", required_argument, NULL, 'O' },
		{ "prot", required_argument, NULL, 'r' },
		{ "populate", no_argument, NULL, 'p' },
		VERB_COMMON_OPTIONS
	};
	const char *file = NULL, *offset_arg = NULL;
	bool anon = false, populate = false;
	int prot = PROT_READ | PROT_WRITE;
	char s1[64], s2[64], t[160];
	struct mshare_region *r;
	uint64_t file_offset = 0;
	int c, ret, err, fd = -1;
	struct range rg;
	struct json j;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			anon = true;
			break;
		case 'f':
			file = optarg;
			break;
		case 'O':
			offset_arg = optarg;
			break;
		case 'r':
			if (parse_prot(optarg, &prot))
				return usage_error(v->name, "map: bad protection '%s' "
						   "(none, r, rw, rx or rwx)", optarg);
			break;
		case 'p':
			populate = true;
			break;
		default:
			ret = verb_option(cli, v, c, argv);
			if (ret >= 0)
				return ret;
		}
	}
	if (argc - optind != 3)
		return usage_error(v->name, "map: wants NAME, OFFSET and SIZE");
	ret = parse_range(v, argv + optind, &rg);
	if (!ret && offset_arg)
		ret = cli_size(v, "file offset", offset_arg, &file_offset);
	if (ret)
		return ret;
	if (anon && file)
		return usage_error(v->name, "map: --anon and --file exclude each other");
	if (offset_arg && !file)
		return usage_error(v->name, "map: --offset is the offset in --file");
	if (populate && !(prot & PROT_READ))
		return usage_error(v->name, "map: --populate needs a readable PROT");
	if (file_offset % page_size())
		return errmsg(EXIT_USAGE,
			      "map: file offset %s is not a multiple of the page size %s",
			    size_text(file_offset, s1, sizeof(s1)),
			    size_text(page_size(), s2, sizeof(s2)));

	ret = open_range(cli, &rg, &r);
	if (ret)
		return ret;
	if (file) {
		fd = open(file, (prot & PROT_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0) {
			ret = fail_errno(errno, CTX_OTHER, "%s: cannot open", file);
			goto out;
		}
	}
	err = mshare_map(r, rg.offset, rg.size, prot, fd, file_offset,
			 populate ? MSHARE_MAP_POPULATE : 0);
	if (err == -EEXIST)
		ret = errmsg(EXIT_FAIL, "%s: cannot map %s: "
			     "the range overlaps memory already in the region",
			     rg.name, range_text(&rg, t, sizeof(t)));
	else if (err)
		ret = fail_errno(err, CTX_OTHER, "%s: cannot map %s", rg.name,
				 range_text(&rg, t, sizeof(t)));
	if (ret)
		goto out;

	if (cli->json) {
		json_range(&j, &rg);
		json_str(&j, "prot", prot_name(prot));
		json_str(&j, "backing", file ? "file" : "anon");
		json_str(&j, "file", file);
		json_u64(&j, "file_offset", file_offset);
		json_bool(&j, "populate", populate);
		json_end_object(&j);
		json_finish(&j);
	} else {
		printf("mapped %s of %s at %s of %s (%s)\n",
		       size_text(rg.size, s1, sizeof(s1)), file ? file : "anonymous memory",
		       range_text(&rg, t, sizeof(t)), rg.name, prot_name(prot));
	}
out:
	if (fd >= 0)
		close(fd);
	mshare_close(r);
	return ret;
}

int cmd_unmap(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = { VERB_COMMON_OPTIONS };
	struct mshare_region *r;
	struct range rg;
	struct json j;
	char t[160];
	int c, ret, err;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		ret = verb_option(cli, v, c, argv);
		if (ret >= 0)
			return ret;
	}
	if (argc - optind != 3)
		return usage_error(v->name, "unmap: wants NAME, OFFSET and SIZE");
	ret = parse_range(v, argv + optind, &rg);
	if (!ret)
		ret = open_range(cli, &rg, &r);
	if (ret)
		return ret;
	err = mshare_unmap(r, rg.offset, rg.size);
	mshare_close(r);
	if (err)
		return fail_errno(err, CTX_OTHER, "%s: cannot unmap %s", rg.name,
				  range_text(&rg, t, sizeof(t)));
	if (cli->json) {
		json_range(&j, &rg);
		json_end_object(&j);
		json_finish(&j);
	} else {
		printf("unmapped %s of %s\n", range_text(&rg, t, sizeof(t)), rg.name);
	}
	return EXIT_OK;
}

int cmd_protect(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = { VERB_COMMON_OPTIONS };
	struct mshare_region *r;
	struct range rg;
	struct json j;
	char t[160];
	int c, ret, err, prot;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		ret = verb_option(cli, v, c, argv);
		if (ret >= 0)
			return ret;
	}
	if (argc - optind != 4)
		return usage_error(v->name, "protect: wants NAME, OFFSET, SIZE and PROT");
	ret = parse_range(v, argv + optind, &rg);
	if (ret)
		return ret;
	if (parse_prot(argv[optind + 3], &prot))
		return usage_error(v->name, "protect: bad protection '%s' (none, r, rw, rx or rwx)",
				   argv[optind + 3]);
	ret = open_range(cli, &rg, &r);
	if (ret)
		return ret;
	err = mshare_protect(r, rg.offset, rg.size, prot);
	mshare_close(r);
	range_text(&rg, t, sizeof(t));
	if (err == -ENOMEM)
		return errmsg(EXIT_FAIL, "%s: cannot protect %s: "
			      "part of the range has no memory mapped", rg.name, t);
	if (err == -EACCES)
		return errmsg(EXIT_DENIED, "%s: cannot protect %s as %s: "
			      "the memory's backing does not allow it",
			      rg.name, t, prot_name(prot));
	if (err)
		return fail_errno(err, CTX_OTHER, "%s: cannot protect %s", rg.name, t);
	if (cli->json) {
		json_range(&j, &rg);
		json_str(&j, "prot", prot_name(prot));
		json_end_object(&j);
		json_finish(&j);
	} else {
		printf("protected %s of %s as %s\n", t, rg.name, prot_name(prot));
	}
	return EXIT_OK;
}
