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

#endif
