// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of ksplat_classify(): real splat headers from x86 and arm64
 * kernels are caught; ordinary boot messages that mention the same words
 * are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ksplat.h"

static void expect_kind(const char *line, const char *kind)
{
	const char *got = ksplat_classify(line);

	if (!got)
		fail_msg("not recognised: %s", line);
	assert_string_equal(got, kind);
}

static void test_splats(void **state)
{
	(void)state;
	expect_kind("[   12.345678] BUG: KASAN: slab-use-after-free in msharefs_evict+0x10/0x20", "BUG");
	expect_kind("[    3.000001] BUG: Bad page state in process a.out  pfn:1234", "BUG");
	expect_kind("[    3.000001] BUG: Bad rss-counter state mm:0000 type:MM_ANONPAGES val:1", "BUG");
	expect_kind("[    1.100000] kernel BUG at mm/memory.c:1234!", "BUG");
	expect_kind("[    2.000000] WARNING: CPU: 1 PID: 77 at mm/mmap.c:3 exit_mmap+0x1/0x2", "WARNING");
	expect_kind("[    2.000000] WARNING: possible circular locking dependency detected", "WARNING");
	expect_kind("[    2.000000] WARNING: suspicious RCU usage", "WARNING");
	expect_kind("[    4.000000] Oops: general protection fault, probably for non-canonical address", "Oops");
	expect_kind("[    4.000000] Oops: 0000 [#1] PREEMPT SMP", "Oops");
	expect_kind("[    4.000000] Internal error: Oops: 0000000096000004 [#1] SMP", "Oops");
	expect_kind("[    4.000000] Unable to handle kernel NULL pointer dereference at virtual address 0", "Oops");
	expect_kind("[    5.000000] Kernel panic - not syncing: Attempted to kill init!", "panic");
	expect_kind("[   60.000000] INFO: task a.out:99 blocked for more than 30 seconds.", "INFO");
	expect_kind("[   60.000000] rcu: INFO: rcu_preempt self-detected stall on CPU", "INFO");
	expect_kind("[    6.000000] UBSAN: array-index-out-of-bounds in fs/msharefs/super.c:10:2", "UBSAN");
	expect_kind("[    7.000000] Call Trace:", "stack trace");
	expect_kind("[    7.000000] Call trace:", "stack trace");
	expect_kind("[    8.000000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)", "kmemleak");
}

static void test_prefixes(void **state)
{
	(void)state;
	/* With the printk caller id, and without any timestamp at all. */
	expect_kind("[    2.000000][    T1] WARNING: CPU: 0 PID: 1 at x", "WARNING");
	expect_kind("[    2.000000][    C1] BUG: soft lockup - CPU#1 stuck", "BUG");
	expect_kind("BUG: unable to handle page fault for address: 0", "BUG");
	expect_kind("   WARNING: CPU: 0 PID: 1 at x", "WARNING");
}

static void test_benign(void **state)
{
	static const char *const lines[] = {
		"[    0.000000] Linux version 6.12.117-mshare (msharefs@build)",
		"[    0.100000] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!",
		"[    0.100000] x86/bugs: Spectre V2 : Mitigation: Retpolines",
		"[    0.200000] Kernel command line: console=ttyS0 panic=-1",
		"[    0.300000] debug: unmapping init [mem 0x1000-0x2000]",
		"[    0.400000] vm-run guest: command exited with status 0",
		"[    0.500000] zram: Added device: zram0",
		"[    0.600000] Run /init as init process",
		"",
		"[    0.700000]",
		"ok 1 - this is not a splat: BUG: in the middle",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (ksplat_classify(lines[i]))
			fail_msg("false positive: '%s'", lines[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splats),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_benign),
	};

	return cmocka_run_group_tests_name("ksplat", tests, NULL, NULL);
}
