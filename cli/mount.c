// SPDX-License-Identifier: LGPL-2.1-or-later
/* mshare mount [TARGET] [-o OPTIONS]: mount msharefs through libmshare. */
#include <errno.h>
#include <stdio.h>

#include <libmshare.h>

#include "cli.h"

int cmd_mount(struct cli *cli, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "options", required_argument, NULL, 'o' },
		VERB_COMMON_OPTIONS
	};
	const char *target, *options = NULL;
	struct json j;
	int c, ret, err;

	verb_getopt_reset();
	while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
		if (c == 'o') {
			options = optarg;
			continue;
		}
		ret = verb_option(cli, v, c, argv);
		if (ret >= 0)
			return ret;
	}
	if (argc - optind > 1)
		return usage_error(v->name, "mount: too many arguments");
	/* --path names the mount in every other command: here, the target */
	target = optind < argc ? argv[optind] : cli->path;
	if (!target)
		target = LIBMSHARE_DEFAULT_PATH;

	err = mshare_mount(target, options);
	if (err == -EPERM || err == -EACCES)
		return fail_errno(err, CTX_OTHER,
				  "cannot mount msharefs on %s (it needs CAP_SYS_ADMIN)",
				  target);
	if (err == -ENODEV)
		return errmsg(EXIT_FAIL,
			    "cannot mount msharefs on %s: the kernel has no msharefs",
			    target);
	if (err)
		return fail_errno(err, CTX_OTHER, "cannot mount msharefs on %s%s%s",
				  target, options ? " with " : "",
				  options ? options : "");
	if (cli->json) {
		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_str(&j, "target", target);
		json_str(&j, "options", options);
		json_end_object(&j);
		json_finish(&j);
	} else {
		printf("mounted msharefs on %s\n", target);
	}
	return EXIT_OK;
}
