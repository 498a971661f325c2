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
#include <stdio.h>
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
	/* kmemleak out of its pool stops: the leak check would be void. */
	expect_kind("[    8.000000] kmemleak: Memory pool empty, consider increasing CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE", "kmemleak");
	expect_kind("[    8.000000] kmemleak: Kernel memory leak detector disabled", "kmemleak");
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
		"[    0.650000] kmemleak: Kernel memory leak detector initialized (mem pool available: 12692)",
		"",
		"[    0.700000]",
		"ok 1 - this is not a splat: BUG: in the middle",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (ksplat_classify(lines[i]))
			fail_msg("false positive: '%s'", lines[i]);
}

/* ksplat_scan() over @n lines; the kinds it returns, "-" for none, joined by spaces. */
static void scan_lines(const char *const *lines, size_t n, char *kinds, size_t len)
{
	struct ksplat_state st = { 0 };
	size_t used = 0;

	kinds[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *kind = ksplat_scan(&st, lines[i]);

		used += snprintf(kinds + used, len - used, "%s%s", i ? " " : "",
				 kind ? kind : "-");
	}
}

/*
 * A fault injection with verbose=2 (as tests/guest/test-faultinject can
 * ask) dumps its stack: the trace is the injection's, not a splat. A
 * WARNING the injected failure provokes, and a trace far from any
 * notice, still are.
 */
static void test_fault_injection(void **state)
{
	static const char *const x86[] = {
		/* from the x86_64 heavy kernel's console */
		"[  265.163712] FAULT_INJECTION: forcing a failure.",
		"[  265.163712] name failslab, interval 1, probability 0, space 0, times -1",
		"[  265.172049] CPU: 1 UID: 0 PID: 98 Comm: test-faultinjec Not tainted 6.12.117-mshare-heavy #1 ",
		"[  265.172886] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
		"[  265.173219] Call Trace:",
		"[  265.173380]  <TASK>",
		"[  265.173487]  dump_stack_lvl+0x7c/0x90",
		"[  265.174417]  should_fail_ex+0x286/0x2b0",
		"[  265.175049]  </TASK>",
		"[  265.175110] WARNING: CPU: 1 PID: 98 at fs/msharefs/host.c:130 mshare_region_destroy+0x1/0x2",
		"[  265.175111] Call Trace:",
	};
	static const char *const arm64[] = {
		"[  55.000001] FAULT_INJECTION: forcing a failure.",
		"[  55.000002] name fail_page_alloc, interval 1, probability 5, space 0, times 99999999",
		"[  55.000003] CPU: 0 UID: 0 PID: 99 Comm: test-faultinjec Not tainted 6.12.57-mshare-heavy #1",
		"[  55.000004] Hardware name: linux,dummy-virt (DT)",
		"[  55.000005] Call trace:",
		"[  55.000006]  show_stack+0x20/0x38",
	};
	static const char *const late[] = {
		"[  7.000001] FAULT_INJECTION: forcing a failure.",
		"[  7.000002] name failslab, interval 1, probability 0, space 0, times -1",
		"[  7.000003] Huh VM_FAULT_OOM leaked out to the #PF handler. Retrying PF",
		"[  7.000004] a",
		"[  7.000005] b",
		"[  7.000006] c",
		"[  7.000007] d",
		"[  7.000008] e",
		"[  7.000009] Call Trace:",
	};
	char kinds[256];

	(void)state;
	scan_lines(x86, sizeof(x86) / sizeof(x86[0]), kinds, sizeof(kinds));
	assert_string_equal(kinds, "- - - - - - - - - WARNING stack trace");
	scan_lines(arm64, sizeof(arm64) / sizeof(arm64[0]), kinds, sizeof(kinds));
	assert_string_equal(kinds, "- - - - - -");
	scan_lines(late, sizeof(late) / sizeof(late[0]), kinds, sizeof(kinds));
	assert_string_equal(kinds, "- - - - - - - - stack trace");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splats),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_benign),
		cmocka_unit_test(test_fault_injection),
	};

	return cmocka_run_group_tests_name("ksplat", tests, NULL, NULL);
}
