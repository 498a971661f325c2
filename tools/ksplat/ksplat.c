// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Classification of kernel console log lines; see ksplat.h.
 */
#include <ctype.h>
#include <string.h>

#include "ksplat.h"

/* Message prefixes that start a splat, and the kind each reports. */
static const struct {
	const char *prefix;
	const char *kind;
} splats[] = {
	{ "BUG:", "BUG" },	/* includes KASAN, bad page state, bad rss */
	{ "kernel BUG at", "BUG" },
	{ "WARNING:", "WARNING" },	/* includes lockdep reports */
	{ "Oops", "Oops" },
	{ "Internal error: Oops", "Oops" },
	{ "general protection fault", "Oops" },
	{ "Unable to handle kernel", "Oops" },
	{ "Kernel panic", "panic" },
	{ "INFO: ", "INFO" },	/* lockdep, hung tasks, RCU stalls */
	{ "UBSAN:", "UBSAN" },
	{ "DEBUG_LOCKS_WARN_ON", "lockdep" },
	{ "Bad page", "Bad page" },
	{ "Bad rss", "Bad rss" },
	{ "kmemleak:", "kmemleak" },
	{ "Call Trace:", "stack trace" },
	{ "Call trace:", "stack trace" },
};

/* Skip "[   12.345678]" and an optional caller id such as "[    T1]". */
static const char *skip_prefixes(const char *s)
{
	for (int i = 0; i < 2; i++) {
		const char *p = s;

		while (*p == ' ')
			p++;
		if (*p != '[')
			break;
		p++;
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p) && *p != 'T' && *p != 'C')
			break;
		p = strchr(p, ']');
		if (!p)
			break;
		s = p + 1;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

const char *ksplat_classify(const char *line)
{
	const char *msg = skip_prefixes(line);

	for (size_t i = 0; i < sizeof(splats) / sizeof(splats[0]); i++)
		if (!strncmp(msg, splats[i].prefix, strlen(splats[i].prefix)))
			return splats[i].kind;
	/* rcu prefixes its stall reports: "rcu: INFO: rcu_sched ..." */
	if (!strncmp(msg, "rcu: INFO:", 10))
		return "INFO";
	return NULL;
}
