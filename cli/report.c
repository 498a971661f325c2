// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare ls and mshare stat: what regions there are and what they cost.
 * Both only read, so regions are opened read-only: a user who may read a
 * region may look at it. ls walks the mount itself (opendir, fstatat),
 * recursing into directories, and reports each region it cannot open
 * with its size from the directory and '-' for the rest.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmshare.h>

#include "cli.h"

struct entry {
	char *name;		/* relative to the mount */
	uint64_t size;		/* from fstatat(), whatever happens next */
	bool have_stats;
	struct mshare_stats stats;
};

struct listing {
	struct cli *cli;
	struct entry *v;
	size_t n, cap;
	int status;		/* the first error's exit code */
};

static int add_entry(struct listing *l, const char *rel, const struct stat *st)
{
	char path[PATH_MAX];
	struct mshare_region *r;
	struct entry *e;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(rel);
	if (!e->name)
		return -ENOMEM;
	e->size = st->st_size;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", l->cli->mount, rel) >=
	    sizeof(path)) {
		free(e->name);
		return -ENAMETOOLONG;
	}
	r = mshare_open(path, MSHARE_RDONLY);
	if (!r && errno == ENOENT) {	/* removed since readdir(): not there */
		free(e->name);
		return 0;
	}
	if (r) {
		e->have_stats = !mshare_stats(r, &e->stats);
		if (e->have_stats)
			e->size = e->stats.size;
		mshare_close(r);
	}
	l->n++;
	return 0;
}

/* Add the regions of directory @rel ("" for the mount) to @l, recursively. */
static int walk(struct listing *l, int dfd, const char *rel)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int err = 0;

	if (!d) {
		close(dfd);
		return -errno;
	}
	while (!err && (errno = 0, de = readdir(d))) {
		char child[PATH_MAX];
		struct stat st;
		int cfd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!*rel && !strcmp(de->d_name, MSHAREFS_INFO_NAME))
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s%s%s", rel, *rel ? "/" : "",
				     de->d_name) >= sizeof(child))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno != ENOENT)
				err = -errno;
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			err = add_entry(l, child, &st);
		} else if (S_ISDIR(st.st_mode)) {
			cfd = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0 && errno == ENOENT)
				continue;
			/* an unreadable directory: say so, list the rest */
			if (cfd < 0) {
				int code = fail_errno(errno, CTX_OTHER, "ls: %s", child);

				if (!l->status)
					l->status = code;
				continue;
			}
			err = walk(l, cfd, child);
		}
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	return err;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void print_ls(const struct listing *l, bool json)
{
	static const char *const head[] = { "NAME", ">SIZE", ">ATTACHED", ">PGTABLES", ">RSS" };
	struct table t;
	struct json j;

	if (json) {
		json_init(&j, stdout);
		json_begin_array(&j, NULL);
		for (size_t i = 0; i < l->n; i++) {
			const struct entry *e = &l->v[i];

			json_begin_object(&j, NULL);
			json_str(&j, "name", e->name);
			json_u64(&j, "size", e->size);
			if (e->have_stats) {
				json_u64(&j, "nr_attached", e->stats.nr_attached);
				json_u64(&j, "pgtable_bytes", e->stats.pgtable_bytes);
				json_u64(&j, "rss_bytes", e->stats.rss_bytes);
			} else {
				json_null(&j, "nr_attached");
				json_null(&j, "pgtable_bytes");
				json_null(&j, "rss_bytes");
			}
			json_end_object(&j);
		}
		json_end_array(&j);
		json_finish(&j);
		return;
	}
	table_init(&t, 5, head);
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];
		char size[32], att[32] = "-", pt[32] = "-", rss[32] = "-";
		const char *row[] = { e->name, size, att, pt, rss };

		format_size(e->size, size, sizeof(size));
		if (e->have_stats) {
			snprintf(att, sizeof(att), "%llu",
				 (unsigned long long)e->stats.nr_attached);
			format_size(e->stats.pgtable_bytes, pt, sizeof(pt));
			format_size(e->stats.rss_bytes, rss, sizeof(rss));
		}
		if (!table_add(&t, row)) {
			errmsg(EXIT_FAIL, "ls: out of memory");
			break;
		}
	}
	table_print(&t, stdout);
	table_free(&t);
}

int cmd_ls(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = { VERB_COMMON_OPTIONS };
	struct listing l = { .cli = cli };
	int c, ret, fd, err;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		ret = verb_option(cli, v, c, argv);
		if (ret >= 0)
			return ret;
	}
	if (optind != argc)
		return usage_error(v->name, "ls: takes no arguments");
	ret = cli_mount(cli);
	if (ret)
		return ret;
	fd = open(cli->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(errno, CTX_OTHER, "ls: %s", cli->mount);
	err = walk(&l, fd, "");
	if (err) {
		ret = fail_errno(err, CTX_OTHER, "ls: %s", cli->mount);
	} else {
		qsort(l.v, l.n, sizeof(*l.v), by_name);
		print_ls(&l, cli->json);
		ret = l.status;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);
	return ret;
}

int cmd_stat(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = { VERB_COMMON_OPTIONS };
	struct mshare_stats st;
	struct mshare_region *r;
	const char *name;
	char s[64];
	struct json j;
	int c, ret, err;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		ret = verb_option(cli, v, c, argv);
		if (ret >= 0)
			return ret;
	}
	if (argc - optind != 1)
		return usage_error(v->name, "stat: wants one NAME");
	name = argv[optind];
	ret = cli_open_region(cli, name, MSHARE_RDONLY, &r);
	if (ret)
		return ret;
	err = mshare_stats(r, &st);
	mshare_close(r);
	if (err)
		return fail_errno(err, CTX_OTHER, "%s: cannot read its statistics", name);

	if (cli->json) {
		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_str(&j, "name", name);
		json_u64(&j, "size", st.size);
		json_u64(&j, "align", st.align);
		json_u64(&j, "nr_attached", st.nr_attached);
		json_u64(&j, "pgtable_bytes", st.pgtable_bytes);
		json_u64(&j, "rss_bytes", st.rss_bytes);
		json_u64(&j, "nr_cont_blocks", st.nr_cont_blocks);
		json_u64(&j, "nr_flushes", st.nr_flushes);
		json_end_object(&j);
		json_finish(&j);
		return EXIT_OK;
	}
	printf("name:         %s\n", name);
	format_size(st.size, s, sizeof(s));
	printf("size:         %s (%llu bytes)\n", s, (unsigned long long)st.size);
	format_size(st.align, s, sizeof(s));
	printf("alignment:    %s (%llu bytes)\n", s, (unsigned long long)st.align);
	printf("attached:     %llu\n", (unsigned long long)st.nr_attached);
	format_size(st.pgtable_bytes, s, sizeof(s));
	printf("page tables:  %s (%llu bytes)\n", s, (unsigned long long)st.pgtable_bytes);
	format_size(st.rss_bytes, s, sizeof(s));
	printf("rss:          %s (%llu bytes)\n", s, (unsigned long long)st.rss_bytes);
	printf("cont blocks:  %llu\n", (unsigned long long)st.nr_cont_blocks);
	printf("tlb flushes:  %llu\n", (unsigned long long)st.nr_flushes);
	return EXIT_OK;
}
