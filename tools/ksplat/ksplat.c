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
	{ "kmemleak:", "kmemleak" },	/* leaks, or the detector broke */
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

/* kmemleak's boot banner: a kmemleak line that reports nothing wrong. */
static const char kmemleak_up[] = "kmemleak: Kernel memory leak detector initialized";

const char *ksplat_classify(const char *line)
{
	const char *msg = skip_prefixes(line);

	if (!strncmp(msg, kmemleak_up, sizeof(kmemleak_up) - 1))
		return NULL;
	for (size_t i = 0; i < sizeof(splats) / sizeof(splats[0]); i++)
		if (!strncmp(msg, splats[i].prefix, strlen(splats[i].prefix)))
			return splats[i].kind;
	/* rcu prefixes its stall reports: "rcu: INFO: rcu_sched ..." */
	if (!strncmp(msg, "rcu: INFO:", 10))
		return "INFO";
	return NULL;
}

/*
 * From a fault injection's notice to its trace: "name ...", then
 * dump_stack()'s "CPU: ..." and "Hardware name: ...", with room for a
 * line or two that another CPU printed in between.
 */
#define INJECTION_TRACE_WITHIN	6

const char *ksplat_scan(struct ksplat_state *st, const char *line)
{
	static const char notice[] = "FAULT_INJECTION: forcing a failure";
	const char *kind = ksplat_classify(line);
	unsigned int injection = st->injection;

	st->injection = injection ? injection - 1 : 0;
	if (!strncmp(skip_prefixes(line), notice, sizeof(notice) - 1)) {
		st->injection = INJECTION_TRACE_WITHIN;
		return NULL;
	}
	if (injection && kind && !strcmp(kind, "stack trace")) {
		st->injection = 0;
		return NULL;
	}
	return kind;
}
