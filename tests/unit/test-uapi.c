// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The uapi header is ABI: structure sizes, field offsets and ioctl
 * numbers must match DESIGN §2 (and the 2025 msharefs proposal for
 * numbers 0 and 1), with no implicit padding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/msharefs.h>

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct mshare_create), 40);
	assert_int_equal(offsetof(struct mshare_create, region_offset), 0);
	assert_int_equal(offsetof(struct mshare_create, size), 8);
	assert_int_equal(offsetof(struct mshare_create, offset), 16);
	assert_int_equal(offsetof(struct mshare_create, prot), 24);
	assert_int_equal(offsetof(struct mshare_create, flags), 28);
	assert_int_equal(offsetof(struct mshare_create, fd), 32);
	assert_int_equal(offsetof(struct mshare_create, reserved), 36);

	assert_int_equal(sizeof(struct mshare_unmap), 16);
	assert_int_equal(sizeof(struct mshare_protect), 24);
	assert_int_equal(offsetof(struct mshare_protect, prot), 16);
	assert_int_equal(offsetof(struct mshare_protect, reserved), 20);
	assert_int_equal(sizeof(struct mshare_advise), 24);
	assert_int_equal(offsetof(struct mshare_advise, advice), 16);

	assert_int_equal(sizeof(struct mshare_stats), 80);
	assert_int_equal(offsetof(struct mshare_stats, nr_cont_blocks), 40);
	assert_int_equal(offsetof(struct mshare_stats, nr_flushes), 48);
	assert_int_equal(offsetof(struct mshare_stats, reserved), 56);
}

static void test_numbers(void **state)
{
	(void)state;
	/* _IOW('x', 0, 40 bytes) as the 2025 proposal's programs encode it. */
	assert_int_equal(MSHAREFS_CREATE_MAPPING, 0x40287800);
	assert_int_equal(MSHAREFS_UNMAP, 0x40107801);
	assert_int_equal(MSHAREFS_PROTECT, 0x40187802);
	assert_int_equal(MSHAREFS_ADVISE, 0x40187803);
	assert_int_equal(MSHAREFS_GET_STATS, 0x80507804);
	assert_int_equal(MSHAREFS_MAGIC, 0x4d534852);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests_name("uapi", tests, NULL, NULL);
}
