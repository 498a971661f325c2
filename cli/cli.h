/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mshare CLI: state shared by its commands, the command table, and
 * the helpers every command uses to parse options and find regions.
 */
#ifndef MSHARE_CLI_H
#define MSHARE_CLI_H

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "output.h"
#include "parse.h"

struct cli {
	const char *path;	/* --path MOUNT, or NULL */
	bool json;		/* --json */
	char mount[PATH_MAX];	/* the msharefs mount, once cli_mount() found it */
};

struct verb {
	const char *name;
	const char *args;	/* after the name, for the usage line */
	const char *summary;	/* one line, for mshare --help */
	const char *help;	/* the options, for mshare COMMAND --help */
	int (*run)(struct cli *cli, const struct verb *v, int argc, char **argv);
};

int cmd_mount(struct cli *cli, const struct verb *v, int argc, char **argv);
int cmd_create(struct cli *cli, const struct verb *v, int argc, char **argv);
int cmd_rm(struct cli *cli, const struct verb *v, int argc, char **argv);
int cmd_map(struct cli *cli, const struct verb *v, int argc, char **argv);
int cmd_unmap(struct cli *cli, const struct verb *v, int argc, char **argv);
int cmd_protect(struct cli *cli, const struct verb *v, int argc, char **argv);
int cmd_ls(struct cli *cli, const struct verb *v, int argc, char **argv);
int cmd_stat(struct cli *cli, const struct verb *v, int argc, char **argv);

/*
 * The options every command takes, to end its struct option array with:
 * --help, and --json and --path also after the command.
 */
#define VERB_COMMON_OPTIONS					\
	{ "help", no_argument, NULL, 'h' },			\
	{ "json", no_argument, NULL, 'j' },			\
	{ "path", required_argument, NULL, 'P' },		\
	{ NULL, 0, NULL, 0 }

/*
 * Start a command's getopt_long() loop over its @argv (argv[0] is the
 * command's name): getopt is reset, and prints nothing itself.
 */
void verb_getopt_reset(void);

/*
 * Handle getopt_long()'s result @c that the command's own options did
 * not: the common options and errors. -1 to go on, else the command's
 * exit code (0 after --help).
 */
int verb_option(struct cli *cli, const struct verb *v, int c, char **argv);

/* Print @v's usage and help on stdout. */
void verb_help(const struct verb *v);

/*
 * Find the msharefs mount (--path, $LIBMSHARE_PATH, or the mount table)
 * into cli->mount: 0, or EXIT_NOT_MOUNTED after saying why.
 */
int cli_mount(struct cli *cli);

/*
 * The path of region @name: as it is if absolute, else below the mount.
 * 0, or an exit code after saying why.
 */
int cli_region_path(struct cli *cli, const char *name, char *buf, size_t len);

/*
 * Say why region @name could not be opened, created or removed (@doing:
 * "open", "create", "remove"), and return the exit code.
 */
int region_error(int err, const char *name, const char *doing);

/*
 * Open region @name (mshare_open() @flags): 0 and *@region, or an exit
 * code after saying why.
 */
struct mshare_region;
int cli_open_region(struct cli *cli, const char *name, unsigned int flags,
		    struct mshare_region **region);

/*
 * @bytes for a message: "2 MiB" when the unit is exact, else with the
 * byte count, "1.5 MiB (1572864 bytes)".
 */
const char *size_text(uint64_t bytes, char *buf, size_t len);

/* Parse the size or offset @text of @what: 0, or EXIT_USAGE after saying why. */
int cli_size(const struct verb *v, const char *what, const char *text,
	     uint64_t *size);

/* The page size. */
uint64_t page_size(void);

#endif
