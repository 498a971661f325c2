// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare(1): manage msharefs regions from the shell. This file holds
 * main(), the global options, the command table and help, and the
 * helpers the commands share; the commands live in mount.c,
 * lifecycle.c (create, rm), range.c (map, unmap, protect) and report.c
 * (ls, stat).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmshare.h>

#include "cli.h"

static const struct verb verbs[] = {
	{ "mount", "[TARGET] [-o OPTIONS]",
	  "mount msharefs (on " LIBMSHARE_DEFAULT_PATH " by default)",
	  "Mount an msharefs instance on TARGET (default " LIBMSHARE_DEFAULT_PATH
	  ", or --path).\nNeeds CAP_SYS_ADMIN.\n\n"
	  "  -o, --options OPTS  mount options: mode=OCTAL,uid=N,gid=N of the root\n"
	  "                      directory\n",
	  cmd_mount },
	{ "create", "NAME SIZE [--anon | --file PATH [--offset N]] [OPTIONS]",
	  "create a region holding SIZE bytes of memory",
	  "Create region NAME with SIZE bytes of memory mapped at offset 0:\n"
	  "anonymous shared memory, or PATH's file. The region is SIZE rounded up\n"
	  "to the alignment unless --region-size says otherwise. SIZE 0 maps\n"
	  "nothing. On failure nothing is left behind.\n\n"
	  "  --anon              anonymous shared memory (the default)\n"
	  "  --file PATH         map PATH (tmpfs, memfd, regular or hugetlbfs file)\n"
	  "  --offset N          ...from offset N of the file (default 0)\n"
	  "  --populate          fault all the memory in now\n"
	  "  --hugetlb           anonymous memory in huge pages of the default size\n"
	  "  --mode OCTAL        permissions of the region (default 0600)\n"
	  "  --region-size N     the region's size: a non-zero multiple of the\n"
	  "                      alignment, at least SIZE\n",
	  cmd_create },
	{ "map", "NAME OFFSET SIZE [--anon | --file PATH [--offset N]] [OPTIONS]",
	  "map memory into a region",
	  "Map SIZE bytes of memory at OFFSET in region NAME, for every process\n"
	  "that attaches it. The range must be page-aligned, inside the region,\n"
	  "and free.\n\n"
	  "  --anon              anonymous shared memory (the default)\n"
	  "  --file PATH         map PATH (opened read-write if PROT has w)\n"
	  "  --offset N          ...from offset N of the file (default 0)\n"
	  "  --prot PROT         none, r, rw, rx or rwx (default rw)\n"
	  "  --populate          fault it all in now\n",
	  cmd_map },
	{ "unmap", "NAME OFFSET SIZE",
	  "remove memory from a region",
	  "Remove the memory in [OFFSET, OFFSET + SIZE) of region NAME, for every\n"
	  "process attached. A range with nothing in it is not an error.\n",
	  cmd_unmap },
	{ "protect", "NAME OFFSET SIZE PROT",
	  "change the protection of a range for every sharer",
	  "Set the protection of [OFFSET, OFFSET + SIZE) of region NAME to PROT\n"
	  "(none, r, rw, rx, rwx), for every attached process at once. The whole\n"
	  "range must have memory; on failure nothing changes.\n",
	  cmd_protect },
	{ "ls", "",
	  "list the regions",
	  "List every region of the mount, in its directories too: NAME (relative\n"
	  "to the mount), SIZE, ATTACHED (attaches in all processes), PGTABLES\n"
	  "(page-table memory the region allocated) and RSS (memory mapped in its\n"
	  "page tables). Values that cannot be read are shown as '-' (null).\n",
	  cmd_ls },
	{ "stat", "NAME",
	  "show a region's statistics",
	  "Show every field of MSHAREFS_GET_STATS for region NAME: size, alignment,\n"
	  "attaches, page-table bytes, RSS and contiguous-PTE blocks.\n",
	  cmd_stat },
	{ "rm", "NAME...",
	  "remove regions",
	  "Remove each region NAME. A region lives on until its last attach and\n"
	  "open file are gone. All names are tried; the exit status is that of the\n"
	  "first failure.\n",
	  cmd_rm },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void help(void)
{
	printf("Usage: mshare [--path MOUNT] [--json] COMMAND [ARGS]\n\n"
	       "Manage msharefs regions: memory whose page tables are shared by every\n"
	       "process that attaches it.\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		printf("  %-8s %s\n", verbs[i].name, verbs[i].summary);
	printf("\nOptions (also accepted after the command):\n"
	       "  --path MOUNT   the msharefs mount; default $LIBMSHARE_PATH, else the\n"
	       "                 mount table (" LIBMSHARE_DEFAULT_PATH " first)\n"
	       "  --json         print one JSON document for scripts\n"
	       "  -h, --help     this help ('mshare COMMAND --help' for a command)\n"
	       "  -V, --version  the version\n\n"
	       "SIZE, OFFSET: bytes, or with a K, M, G, T (KiB, MiB, GiB, TiB) suffix.\n"
	       "PROT: none, r, rw, rx, rwx. NAME: relative to the mount, or absolute.\n\n"
	       "Exit status: 0 success, 1 failure, 2 usage error, 3 msharefs not mounted,\n"
	       "4 no such region, 5 permission denied.\n");
}

void verb_help(const struct verb *v)
{
	printf("Usage: mshare %s%s%s\n\n%s", v->name, *v->args ? " " : "", v->args,
	       v->help);
	printf("\n  --json              print JSON\n"
	       "  --path MOUNT        the msharefs mount\n"
	       "  -h, --help          this help\n");
}

void verb_getopt_reset(void)
{
	optind = 0;	/* glibc: start over, skipping argv[0] */
	opterr = 0;
}

/* The option getopt_long() just refused, as the user wrote it. */
static const char *bad_option(char **argv)
{
	static char s[3] = "-?";

	if (optopt && optopt != '?' && optopt < 0x100 &&
	    (!argv[optind - 1] || strncmp(argv[optind - 1], "--", 2))) {
		s[1] = (char)optopt;
		return s;
	}
	return argv[optind - 1];
}

int verb_option(struct cli *cli, const struct verb *v, int c, char **argv)
{
	switch (c) {
	case 'h':
		verb_help(v);
		return EXIT_OK;
	case 'j':
		cli->json = true;
		return -1;
	case 'P':
		cli->path = optarg;
		return -1;
	case ':':
		return usage_error(v->name, "%s: option '%s' needs a value",
				   v->name, bad_option(argv));
	default:
		return usage_error(v->name, "%s: unknown option '%s'", v->name,
				   bad_option(argv));
	}
}

int cli_mount(struct cli *cli)
{
	const char *env = getenv("LIBMSHARE_PATH");
	const char *path = cli->path;
	const char *from = "--path";
	int err;

	if (cli->mount[0])
		return 0;
	if (!path && env && *env) {
		path = env;
		from = "LIBMSHARE_PATH";
	}
	err = mshare_find_mount(path, cli->mount, sizeof(cli->mount));
	if (!err)
		return 0;
	cli->mount[0] = '\0';
	if (!path && err == -ENOENT)
		return errmsg(EXIT_NOT_MOUNTED,
			    "msharefs is not mounted (mount it with 'mshare mount')");
	if (!path)
		return fail_errno(err, CTX_MOUNT, "cannot find the msharefs mount");
	if (err == -ENODEV)
		return errmsg(EXIT_NOT_MOUNTED, "%s (%s): not an msharefs mount",
			    path, from);
	return fail_errno(err, CTX_MOUNT, "%s (%s): not an msharefs mount",
			  path, from);
}

int cli_region_path(struct cli *cli, const char *name, char *buf, size_t len)
{
	int ret;

	if (!*name)
		return usage_error(NULL, "a region name cannot be empty");
	if (name[0] == '/') {
		if (strlen(name) >= len)
			return errmsg(EXIT_USAGE, "%s: name too long", name);
		strcpy(buf, name);
		return 0;
	}
	ret = cli_mount(cli);
	if (ret)
		return ret;
	if ((size_t)snprintf(buf, len, "%s/%s", cli->mount, name) >= len)
		return errmsg(EXIT_USAGE, "%s: name too long", name);
	return 0;
}

int region_error(int err, const char *name, const char *doing)
{
	switch (err < 0 ? -err : err) {
	case ENOENT:
		return errmsg(EXIT_NO_REGION, "%s: no such region", name);
	case ENODEV:
		return errmsg(EXIT_NOT_MOUNTED, "%s: not on msharefs", name);
	case EISDIR:
		return errmsg(EXIT_FAIL, "%s: is a directory, not a region", name);
	default:
		return fail_errno(err, CTX_REGION, "%s: cannot %s", name, doing);
	}
}

int cli_open_region(struct cli *cli, const char *name, unsigned int flags,
		    struct mshare_region **region)
{
	char path[PATH_MAX];
	int ret = cli_region_path(cli, name, path, sizeof(path));

	if (ret)
		return ret;
	*region = mshare_open(path, flags);
	if (*region)
		return 0;
	/* what the library says of a file that is not a region (mshare_info) */
	if (errno == EINVAL)
		return errmsg(EXIT_FAIL, "%s: not a region", name);
	return region_error(errno, name, "open");
}

const char *size_text(uint64_t bytes, char *buf, size_t len)
{
	char iec[32];

	format_size(bytes, iec, sizeof(iec));
	if (bytes < 1024 || strchr(iec, '.') == NULL)
		snprintf(buf, len, "%s", iec);
	else
		snprintf(buf, len, "%s (%llu bytes)", iec, (unsigned long long)bytes);
	return buf;
}

int cli_size(const struct verb *v, const char *what, const char *text,
	     uint64_t *size)
{
	int err = parse_size(text, size);

	if (err == -ERANGE)
		return usage_error(v->name, "%s: %s '%s' is too large", v->name,
				   what, text);
	if (err)
		return usage_error(v->name,
				   "%s: bad %s '%s' (bytes, or with a K, M, G or T suffix)",
				   v->name, what, text);
	return 0;
}

uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "path", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli cli = { 0 };
	const char *name;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			cli.path = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		case 'V':
			printf("mshare (msharefs) %s\n", MSHARE_VERSION);
			return EXIT_OK;
		case ':':
			return usage_error(NULL, "option '%s' needs a value",
					   bad_option(argv));
		default:
			return usage_error(NULL, "unknown option '%s'", bad_option(argv));
		}
	}
	if (optind == argc)
		return usage_error(NULL, "no command given");
	name = argv[optind];
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strcmp(name, verbs[i].name))
			continue;
		ret = verbs[i].run(&cli, &verbs[i], argc - optind, argv + optind);
		/* a write error on stdout (a full disk, a closed pipe) is a failure */
		if (fflush(stdout) || ferror(stdout))
			return ret ? ret : fail_errno(errno, CTX_OTHER,
						      "cannot write the output");
		return ret;
	}
	return usage_error(NULL, "unknown command '%s'", name);
}
