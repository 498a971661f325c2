/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Recognise kernel splats (BUG, WARNING, Oops, KASAN, lockdep, bad page
 * state, ...) in a kernel console log.
 */
#ifndef KSPLAT_H
#define KSPLAT_H

/*
 * If @line, one line of a console log, starts a kernel splat, return a
 * short name for its kind ("BUG", "WARNING", ...); otherwise NULL.
 * The printk timestamp and caller prefixes are skipped; the match is on
 * the start of the message, so that messages that merely mention a word
 * (e.g. "RETBleed: WARNING: ...", a mitigation notice) do not count.
 */
const char *ksplat_classify(const char *line);

/* What ksplat_scan() carries from one line of a log to the next. */
struct ksplat_state {
	unsigned int injection;	/* lines left for a fault injection's trace */
};

/*
 * ksplat_classify() for the lines of one log, in order, @st zeroed before
 * the first. The stack trace that follows a fault injection's notice
 * ("FAULT_INJECTION: forcing a failure." with verbose=2, whose
 * dump_stack() prints "Call Trace:") is the injection's own report, asked
 * for by a test: not a splat. Anything else is classified as by
 * ksplat_classify(), a WARNING or BUG that an injected failure provokes
 * included.
 */
const char *ksplat_scan(struct ksplat_state *st, const char *line);

#endif
