// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of libmshare that need no kernel support: mount discovery
 * from fake mountinfo files (absent, unusual, preferred and shadowed
 * mounts), parsing of mshare_info, argument checks, and the ABI (what
 * the shared library exports, and a man page for each of it).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "libmshare.h"
#include "internal.h"

#define PROC_LINE "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
#define MSHARE_LINE(id, target) \
	#id " 22 0:" #id " / " target " rw,relatime - msharefs msharefs rw\n"

static char fixture[] = "/tmp/libmshare-mountinfo.XXXXXX";

static const char *write_mountinfo(const char *text)
{
	int fd = mkstemp(fixture);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return fixture;
}

static void remove_fixture(void)
{
	unlink(fixture);
	strcpy(fixture + strlen(fixture) - 6, "XXXXXX");
}

static bool accept_all(const char *path)
{
	(void)path;
	return true;
}

static bool accept_srv_b(const char *path)
{
	return !strcmp(path, "/srv/b");
}

static int lookup(const char *text, bool (*check)(const char *), char *buf,
		  size_t len)
{
	int err = mshare_mountinfo_lookup(write_mountinfo(text), check, buf, len);

	remove_fixture();
	return err;
}

static void test_discovery(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(lookup(PROC_LINE, accept_all, buf, sizeof(buf)), -ENOENT);

	assert_int_equal(lookup(PROC_LINE MSHARE_LINE(40, "/srv/mshare"),
				accept_all, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/mshare");

	/* /sys/fs/mshare wins wherever it stands in the table. */
	assert_int_equal(lookup(MSHARE_LINE(40, "/srv/a") MSHARE_LINE(41, "/sys/fs/mshare"),
				accept_all, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/sys/fs/mshare");
	assert_int_equal(lookup(MSHARE_LINE(41, "/sys/fs/mshare") MSHARE_LINE(40, "/srv/a"),
				accept_all, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/sys/fs/mshare");
}

static void test_unusual_and_shadowed(void **state)
{
	char buf[256];

	(void)state;
	/* mountinfo escapes white space in paths. */
	assert_int_equal(lookup(MSHARE_LINE(40, "/srv/my\\040area"),
				accept_all, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/my area");

	/* A tmpfs mounted over the msharefs mount hides it. */
	assert_int_equal(lookup(MSHARE_LINE(40, "/sys/fs/mshare")
				"50 22 0:50 / /sys/fs/mshare rw - tmpfs tmpfs rw\n",
				accept_all, buf, sizeof(buf)), -ENOENT);
	/* ...but not one mounted below it, and not another msharefs. */
	assert_int_equal(lookup(MSHARE_LINE(40, "/srv/x") MSHARE_LINE(41, "/srv/x"),
				accept_all, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/x");

	/* Mounts statfs() does not confirm are skipped. */
	assert_int_equal(lookup(MSHARE_LINE(40, "/srv/a") MSHARE_LINE(41, "/srv/b"),
				accept_srv_b, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/b");

	/* Too small a buffer is an error, not a truncated path. */
	assert_int_equal(lookup(MSHARE_LINE(40, "/srv/mshare"), accept_all, buf, 5),
			 -ENAMETOOLONG);
	assert_true(mshare_mountinfo_lookup("/nonexistent/mountinfo", accept_all,
					    buf, sizeof(buf)) < 0);
}

static void test_parse_align(void **state)
{
	static const char *const bad[] = {
		"", "\n", "0\n", "abc\n", "549755813888", "549755813888\n\n",
		"3\n", "-1\n", " 4096\n", "99999999999999999999999\n",
	};
	uint64_t align = 0;

	(void)state;
	assert_int_equal(mshare_parse_align("549755813888\n", &align), 0);
	assert_int_equal(align, 549755813888ULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		align = 7;
		if (mshare_parse_align(bad[i], &align) != -EPROTO)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(align, 7);
	}
}

static void test_arguments(void **state)
{
	char buf[256];
	uint64_t align;

	(void)state;
	assert_int_equal(mshare_find_mount(NULL, NULL, 10), -EINVAL);
	assert_int_equal(mshare_find_mount(NULL, buf, 0), -EINVAL);
	assert_int_equal(mshare_align(NULL, NULL), -EINVAL);
	assert_int_equal(mshare_find_mount("/proc", buf, sizeof(buf)), -ENODEV);
	assert_int_equal(mshare_find_mount("/nonexistent", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(mshare_align("/proc", &align), -ENODEV);

	setenv("LIBMSHARE_PATH", "/proc", 1);
	assert_int_equal(mshare_find_mount(NULL, buf, sizeof(buf)), -ENODEV);
	unsetenv("LIBMSHARE_PATH");
}

/* Every global of libmshare.map is exported and documented; nothing else is. */
static void test_abi(void **state)
{
	char line[256], man[512];
	bool global = false;
	unsigned int n = 0;
	FILE *map = fopen(SOURCE_ROOT "/lib/libmshare/libmshare.map", "r");
	void *lib = dlopen(LIBMSHARE_SO, RTLD_NOW | RTLD_LOCAL);

	(void)state;
	assert_non_null(map);
	if (!lib)
		fail_msg("dlopen: %s", dlerror());
	while (fgets(line, sizeof(line), map)) {
		char sym[128];

		if (strstr(line, "global:"))
			global = true;
		else if (strstr(line, "local:"))
			global = false;
		else if (global && sscanf(line, " %127[a-z_0-9];", sym) == 1) {
			n++;
			if (!dlsym(lib, sym))
				fail_msg("%s is in libmshare.map but not exported", sym);
			snprintf(man, sizeof(man), SOURCE_ROOT "/man/%s.3", sym);
			if (access(man, R_OK))
				fail_msg("%s has no man page (%s)", sym, man);
		}
	}
	fclose(map);
	assert_true(n > 0);
	assert_null(dlsym(lib, "mshare_parse_align"));
	assert_null(dlsym(lib, "mshare_mountinfo_lookup"));
	dlclose(lib);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_unusual_and_shadowed),
		cmocka_unit_test(test_parse_align),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_abi),
	};

	return cmocka_run_group_tests_name("libmshare", tests, NULL, NULL);
}
