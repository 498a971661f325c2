// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The mshare CLI against the real kernel: every command, what it prints
 * (tables, and --json documents parsed here), its exit codes 0-5 with
 * their messages, create's rollback, map/unmap/protect as the region's
 * statistics and its attachers see them, ls of nested directories, rm of
 * several names, and mount, in a mount namespace of the test's own.
 *
 * The CLI is the one built beside this program: ../../cli/mshare from
 * the directory of /proc/self/exe.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <libmshare.h>

#include "guest.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)

static char cli[PATH_MAX];	/* the mshare binary */
static char dir[64];		/* our directory in the mount: clitest.PID */
static uint64_t align;

/* --- running the CLI ------------------------------------------------- */

/* The last run: its exit status (-1: killed) and output. */
static struct {
	int code;
	char out[1 << 16];
	char err[1 << 13];
} R;

static void slurp(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
}

/*
 * Run mshare with @args (NULL-terminated) as @uid (0: as root, else as
 * nobody), with the "KEY=VALUE" strings of @env (NULL-terminated, or
 * NULL) added to its environment. Returns its exit status.
 */
static int run(uid_t uid, const char *const *env, const char *const *args)
{
	const char *argv[32] = { "mshare" };
	int ofd = memfd_create("stdout", 0), efd = memfd_create("stderr", 0);
	int status;
	size_t n = 1;
	pid_t pid;

	if (ofd < 0 || efd < 0)
		tap_bail("memfd_create failed");
	while (*args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		if (dup2(ofd, 1) < 0 || dup2(efd, 2) < 0)
			_exit(125);
		for (; env && *env; env++)
			putenv((char *)*env);
		if (uid && (setgroups(0, NULL) || setresgid(TEST_GID, TEST_GID, TEST_GID) ||
			    setresuid(uid, uid, uid)))
			_exit(126);
		execv(cli, (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		tap_bail("waitpid failed");
	R.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	slurp(ofd, R.out, sizeof(R.out));
	slurp(efd, R.err, sizeof(R.err));
	return R.code;
}

#define ARGS(...)		((const char *const[]){ __VA_ARGS__, NULL })
#define MSHARE(...)		run(0, NULL, ARGS(__VA_ARGS__))
#define MSHARE_AS(uid, ...)	run(uid, NULL, ARGS(__VA_ARGS__))
#define MSHARE_ENV(env, ...)	run(0, ARGS(env), ARGS(__VA_ARGS__))

/*
 * The last run exited with @code. On success stderr is empty and stdout
 * holds @text (if not NULL); on failure stdout is empty and stderr is one
 * "mshare: ..." message holding @text.
 */
static bool expect(int code, const char *text, const char *fmt, ...)
{
	bool ok = R.code == code;
	va_list ap;

	if (!code)
		ok = ok && !R.err[0] && (!text || strstr(R.out, text));
	else
		ok = ok && !R.out[0] && !strncmp(R.err, "mshare: ", 8) &&
		     (!text || strstr(R.err, text));
	if (!ok)
		tap_diag("exit %d (wanted %d), stdout '%s', stderr '%s', wanted '%s'",
			 R.code, code, R.out, R.err, text ? text : "");
	va_start(ap, fmt);
	tap_vok(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* "clitest.PID/@leaf", from a few rotating buffers. */
static const char *N(const char *leaf)
{
	static char buf[16][256];
	static unsigned int i;
	char *b = buf[i++ % 16];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, leaf);
	return b;
}

/* The absolute path of N(@leaf). */
static const char *P(const char *leaf)
{
	static char buf[8][512];
	static unsigned int i;
	char *b = buf[i++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s/%s", mshare_mnt(), dir, leaf);
	return b;
}

/* @v as the CLI writes an exact IEC size: "4 KiB", "512 GiB". */
static const char *iec(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned int u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && v >= 1024 && !(v % 1024)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

static const char *align_text(void)
{
	static char buf[32];

	return iec(align, buf, sizeof(buf));
}

static const char *page_size_text(void)
{
	static char buf[32];

	return iec((uint64_t)sysconf(_SC_PAGESIZE), buf, sizeof(buf));
}

static bool absent(const char *path)
{
	return access(path, F_OK) && errno == ENOENT;
}

/* The region's statistics, read directly. */
static struct mshare_stats raw_stats(const char *path)
{
	struct mshare_stats st;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		tap_bail("cannot open a region the CLI made");
	region_stats(fd, &st);
	close(fd);
	return st;
}

/* --- a small JSON parser, to check documents and read their fields ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	bool b;
	bool is_u64;		/* J_NUM: a non-negative integer, in u64 */
	uint64_t u64;
	char *s;		/* J_STR */
	size_t n;		/* J_ARR, J_OBJ */
	struct jv *kids;
	char **keys;		/* J_OBJ */
};

static void jv_free_kids(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jv_free_kids(&v->kids[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->kids);
	free(v->keys);
	free(v->s);
}

static void jv_free(struct jv *v)
{
	if (v) {
		jv_free_kids(v);
		free(v);
	}
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

static void put_utf8(char **o, unsigned int c)
{
	if (c < 0x80) {
		*(*o)++ = c;
	} else if (c < 0x800) {
		*(*o)++ = 0xc0 | c >> 6;
		*(*o)++ = 0x80 | (c & 0x3f);
	} else {
		*(*o)++ = 0xe0 | c >> 12;
		*(*o)++ = 0x80 | ((c >> 6) & 0x3f);
		*(*o)++ = 0x80 | (c & 0x3f);
	}
}

/* A string literal at *@p; NULL if it is not valid. */
static char *parse_string(const char **p)
{
	const char *s = *p + 1;
	char *out = malloc(3 * strlen(s) + 1), *o = out;

	if (**p != '"' || !out) {
		free(out);
		return NULL;
	}
	for (;;) {
		unsigned char c = *s++;

		if (c == '"')
			break;
		if (c < 0x20)
			goto bad;	/* raw control characters, and the end */
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		switch (c = *s++) {
		case '"': case '\\': case '/':
			*o++ = c;
			break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned int u = 0;

			for (int i = 0; i < 4; i++, s++) {
				if (*s >= '0' && *s <= '9')
					u = u * 16 + (*s - '0');
				else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
					u = u * 16 + ((*s | 0x20) - 'a' + 10);
				else
					goto bad;
			}
			put_utf8(&o, u);
			break;
		}
		default:
			goto bad;
		}
	}
	*o = '\0';
	*p = s;
	return out;
bad:
	free(out);
	return NULL;
}

static bool parse_value(const char **p, struct jv *v, unsigned int depth);

static bool parse_number(const char **p, struct jv *v)
{
	const char *s = *p, *start = *p;
	bool plain = true;

	if (*s == '-') {
		plain = false;
		s++;
	}
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		plain = false;
		if (*++s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		plain = false;
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	v->type = J_NUM;
	if (plain) {
		errno = 0;
		v->u64 = strtoull(start, NULL, 10);
		v->is_u64 = !errno;
	}
	*p = s;
	return true;
}

/* The members of an array (@obj false) or object at *@p, past the bracket. */
static bool parse_members(const char **p, struct jv *v, bool obj, unsigned int depth)
{
	char close = obj ? '}' : ']';

	v->type = obj ? J_OBJ : J_ARR;
	skip_ws(p);
	if (**p == close) {
		(*p)++;
		return true;
	}
	for (;;) {
		char *key = NULL;

		skip_ws(p);
		if (obj) {
			key = parse_string(p);
			if (!key)
				return false;
			skip_ws(p);
			if (*(*p)++ != ':') {
				free(key);
				return false;
			}
		}
		v->kids = realloc(v->kids, (v->n + 1) * sizeof(*v->kids));
		if (obj)
			v->keys = realloc(v->keys, (v->n + 1) * sizeof(*v->keys));
		if (!v->kids || (obj && !v->keys))
			tap_bail("out of memory");
		memset(&v->kids[v->n], 0, sizeof(*v->kids));
		if (obj)
			v->keys[v->n] = key;
		v->n++;
		if (!parse_value(p, &v->kids[v->n - 1], depth + 1))
			return false;
		skip_ws(p);
		if (**p == ',') {
			(*p)++;
			continue;
		}
		return *(*p)++ == close;
	}
}

static bool parse_value(const char **p, struct jv *v, unsigned int depth)
{
	if (depth > 32)
		return false;
	skip_ws(p);
	switch (**p) {
	case '{':
	case '[': {
		bool obj = *(*p)++ == '{';

		return parse_members(p, v, obj, depth);
	}
	case '"':
		v->type = J_STR;
		v->s = parse_string(p);
		return v->s;
	case 't':
	case 'f':
	case 'n': {
		static const struct { const char *word; enum jtype t; bool b; } lit[] = {
			{ "true", J_BOOL, true }, { "false", J_BOOL, false },
			{ "null", J_NULL, false },
		};

		for (size_t i = 0; i < 3; i++) {
			size_t n = strlen(lit[i].word);

			if (!strncmp(*p, lit[i].word, n)) {
				v->type = lit[i].t;
				v->b = lit[i].b;
				*p += n;
				return true;
			}
		}
		return false;
	}
	default:
		return parse_number(p, v);
	}
}

/* @text as one JSON document (and white space), or NULL if it is not. */
static struct jv *json_doc(const char *text)
{
	struct jv *v = calloc(1, sizeof(*v));
	const char *p = text;

	if (!v)
		tap_bail("out of memory");
	if (!parse_value(&p, v, 0) || (skip_ws(&p), *p)) {
		jv_free(v);
		return NULL;
	}
	return v;
}

/* The last run's stdout as JSON of @type, with a test point. */
static struct jv *json_out(enum jtype type, const char *what)
{
	struct jv *v = json_doc(R.out);
	bool ok = v && v->type == type;

	if (!ok)
		tap_diag("stdout: '%s'", R.out);
	tap_ok(ok, "%s: stdout is one valid JSON %s", what,
	       type == J_OBJ ? "object" : "array");
	if (!ok) {
		jv_free(v);
		return NULL;
	}
	return v;
}

static struct jv *jget(const struct jv *o, const char *key)
{
	for (size_t i = 0; o && o->type == J_OBJ && i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->kids[i];
	return NULL;
}

/* Field @key of @o as an integer; UINT64_MAX if it is missing or not one. */
static uint64_t ju64(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->type == J_NUM && v->is_u64 ? v->u64 : UINT64_MAX;
}

/* Field @key of @o as a string; "" if it is missing or not one. */
static const char *jstr(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	return v && v->type == J_STR ? v->s : "";
}

static bool jis(const struct jv *o, const char *key, enum jtype t)
{
	const struct jv *v = jget(o, key);

	return v && v->type == t;
}

/* The object of array @a whose "name" is @name. */
static const struct jv *jfind(const struct jv *a, const char *name)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (!strcmp(jstr(&a->kids[i], "name"), name))
			return &a->kids[i];
	return NULL;
}

/* --- the tests ------------------------------------------------------- */

static void test_usage(void)
{
	static const char *const verbs[] = {
		"mount", "create", "map", "unmap", "protect", "ls", "stat", "rm",
	};
	bool all = true;

	MSHARE("--version");
	expect(0, "mshare (msharefs) ", "--version");
	MSHARE("--help");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char want[32];

		snprintf(want, sizeof(want), "\n  %s ", verbs[i]);
		all = all && strstr(R.out, want);
	}
	tap_ok(R.code == 0 && all && !R.err[0] && strstr(R.out, "Exit status"),
	       "--help lists every command and the exit codes");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "Usage: mshare %s", verbs[i]);
		MSHARE(verbs[i], "--help");
		expect(0, want, "%s --help", verbs[i]);
	}
	MSHARE("ls", "-h");
	expect(0, "Usage: mshare ls", "ls -h");

	MSHARE("--json");
	expect(2, "no command given", "no command: usage error (2)");
	MSHARE("frob");
	expect(2, "unknown command 'frob'", "unknown command: 2");
	MSHARE("--frob", "ls");
	expect(2, "unknown option '--frob'", "unknown global option: 2");
	MSHARE("ls", "--frob");
	expect(2, "ls: unknown option '--frob'", "unknown command option: 2");
	MSHARE("ls", "-q");
	expect(2, "unknown option '-q'", "unknown short option: 2");
	MSHARE("--path");
	expect(2, "needs a value", "--path without a value: 2");
	MSHARE("create", N("x"), "4K", "--mode");
	expect(2, "option '--mode' needs a value", "create --mode without a value: 2");
	MSHARE("ls", "extra");
	expect(2, "takes no arguments", "ls with an argument: 2");
	MSHARE("create", N("x"));
	expect(2, "wants NAME and SIZE", "create without SIZE: 2");
	MSHARE("stat");
	expect(2, "wants one NAME", "stat without NAME: 2");
	MSHARE("rm");
	expect(2, "at least one NAME", "rm without NAME: 2");
	MSHARE("map", N("x"), "0");
	expect(2, "wants NAME, OFFSET and SIZE", "map without SIZE: 2");
	MSHARE("unmap", N("x"), "0", "4K", "8K");
	expect(2, "wants NAME, OFFSET and SIZE", "unmap with too much: 2");
	MSHARE("protect", N("x"), "0", "4K");
	expect(2, "wants NAME, OFFSET, SIZE and PROT", "protect without PROT: 2");
	MSHARE("mount", "/a", "/b");
	expect(2, "too many arguments", "mount with two targets: 2");
}

static void test_not_mounted(void)
{
	char notms[128];

	MSHARE("--path", "/tmp", "ls");
	expect(3, "/tmp (--path): not an msharefs mount", "--path of a tmpfs: 3");
	MSHARE("--path", "/nonexistent", "stat", "x");
	expect(3, "/nonexistent (--path): not an msharefs mount", "--path that does not exist: 3");
	MSHARE("stat", "--path", "/proc", "x");
	expect(3, "not an msharefs mount", "--path after the command: 3");
	MSHARE_ENV("LIBMSHARE_PATH=/tmp", "stat", "x");
	expect(3, "/tmp (LIBMSHARE_PATH): not an msharefs mount", "LIBMSHARE_PATH of a tmpfs: 3");
	MSHARE_ENV("LIBMSHARE_PATH=/tmp", "--path", mshare_mnt(), "stat", N("nosuch"));
	expect(4, "no such region", "--path wins over LIBMSHARE_PATH");

	snprintf(notms, sizeof(notms), "/tmp/clitest-notms.%d", (int)getpid());
	MSHARE("create", notms, "4K");
	expect(3, "not on msharefs", "create of an absolute name off msharefs: 3");
	tap_ok(absent(notms), "...and nothing was made there");
	MSHARE("stat", "/tmp");
	expect(3, "/tmp: not on msharefs", "stat of an absolute name off msharefs: 3");
}

static void test_create(void)
{
	char want[256], rs[32], two[32];
	struct mshare_stats st;
	struct stat sb;
	struct jv *j;

	MSHARE("create", N("a"), "2M");
	snprintf(want, sizeof(want), "created %s: ", N("a"));
	expect(0, want, "create NAME 2M");
	tap_ok(strstr(R.out, "2 MiB of anonymous memory") != NULL, "...says what it mapped");
	st = raw_stats(P("a"));
	tap_ok(st.size == align && st.rss_bytes == 0,
	       "...a region of one alignment, nothing faulted in (rss %llu)",
	       (unsigned long long)st.rss_bytes);

	MSHARE("--json", "create", N("b"), "4M", "--populate", "--mode", "0640");
	expect(0, NULL, "create --json --populate --mode 0640");
	j = json_out(J_OBJ, "create --json");
	if (j) {
		tap_ok(!strcmp(jstr(j, "name"), N("b")) && !strcmp(jstr(j, "path"), P("b")),
		       "create --json: name and path");
		tap_ok(ju64(j, "size") == align && ju64(j, "align") == align &&
		       ju64(j, "mapped") == 4 * MiB && ju64(j, "file_offset") == 0,
		       "create --json: size %llu, align, mapped %llu",
		       (unsigned long long)ju64(j, "size"), (unsigned long long)ju64(j, "mapped"));
		tap_ok(!strcmp(jstr(j, "backing"), "anon") && jis(j, "file", J_NULL) &&
		       jis(j, "populate", J_BOOL) && jget(j, "populate")->b &&
		       !strcmp(jstr(j, "mode"), "0640"),
		       "create --json: backing, file, populate, mode");
		jv_free(j);
	}
	tap_ok(!stat(P("b"), &sb) && (sb.st_mode & 07777) == 0640,
	       "--mode is the region's mode, whatever the umask");
	st = raw_stats(P("b"));
	tap_ok(st.rss_bytes == 4 * MiB && st.pgtable_bytes > 0,
	       "--populate faulted it all in (rss %llu, page tables %llu)",
	       (unsigned long long)st.rss_bytes, (unsigned long long)st.pgtable_bytes);

	MSHARE("create", N("a"), "2M");
	expect(1, "the region exists", "create of an existing name: 1");
	tap_ok(raw_stats(P("a")).size == align, "...and the existing region is untouched");

	/* Sizes: each message says what was needed; nothing is made. */
	MSHARE("create", N("c"), "1000");
	snprintf(want, sizeof(want), "size 1000 B is not a multiple of the page size %s",
		 page_size_text());
	expect(2, want, "SIZE not a multiple of the page size: 2");
	MSHARE("create", N("c"), "2M", "--region-size", "1G");
	snprintf(want, sizeof(want),
		 "mshare: region size 1 GiB is not a multiple of the alignment %s (%llu bytes)\n",
		 align_text(), (unsigned long long)align);
	tap_ok(R.code == 2 && !strcmp(R.err, want) && !R.out[0],
	       "--region-size not a multiple of the alignment: 2, naming it");
	if (R.code != 2 || strcmp(R.err, want))
		tap_diag("got '%s', wanted '%s'", R.err, want);
	snprintf(rs, sizeof(rs), "%llu", (unsigned long long)align);
	snprintf(two, sizeof(two), "%llu", (unsigned long long)(2 * align));
	MSHARE("create", N("c"), two, "--region-size", rs);
	expect(2, "is smaller than SIZE", "--region-size < SIZE: 2");
	MSHARE("create", N("c"), "2M", "--region-size", "0");
	expect(2, "cannot be 0", "--region-size 0: 2");
	MSHARE("create", N("c"), "12Q");
	expect(2, "bad size '12Q'", "a size with an unknown suffix: 2");
	MSHARE("create", N("c"), "1.5G");
	expect(2, "bad size '1.5G'", "a fractional size: 2");
	MSHARE("create", N("c"), "-4K");
	expect(2, NULL, "a negative size: 2");
	MSHARE("create", N("c"), "99999999999999999999");
	expect(2, "is too large", "a size beyond 64 bits: 2");
	MSHARE("create", N("c"), "16777216T");
	expect(2, "is too large", "a suffixed size beyond 64 bits: 2");
	MSHARE("create", N("c"), "4K", "--mode", "999");
	expect(2, "bad mode '999'", "a mode that is not octal: 2");
	MSHARE("create", N("c"), "4K", "--anon", "--file", "/dev/zero");
	expect(2, "exclude each other", "--anon with --file: 2");
	MSHARE("create", N("c"), "4K", "--offset", "4K");
	expect(2, "--offset is the offset in --file", "--offset without --file: 2");
	MSHARE("create", N("c"), "4K", "--hugetlb", "--file", "/dev/zero");
	expect(2, "--hugetlb is for anonymous memory", "--hugetlb with --file: 2");
	MSHARE("create", N("c"), "4K", "--file", "/dev/zero", "--offset", "100");
	expect(2, "file offset 100 B is not a multiple of the page size", "unaligned --offset: 2");
	tap_ok(absent(P("c")), "no bad size left a region behind");

	/* A size that fits two alignments, and an explicit region size. */
	MSHARE("create", N("two"), "0", "--region-size", two);
	expect(0, "no memory", "create SIZE 0 --region-size 2*align");
	st = raw_stats(P("two"));
	tap_ok(st.size == 2 * align && st.rss_bytes == 0, "...is two alignments, empty");
	MSHARE("create", N("empty"), "0");
	expect(0, NULL, "create SIZE 0: one alignment, nothing mapped");
	tap_ok(raw_stats(P("empty")).size == align, "...of one alignment");

	/* An absolute name is used as it is. */
	MSHARE("create", P("abs"), "4K");
	expect(0, NULL, "create with an absolute name");
	tap_ok(!absent(P("abs")), "...made it there");
}

/* Rollback: a create that fails after the region was made removes it. */
static void test_create_rollback(void)
{
	MSHARE("create", N("r"), "2M", "--file", "/nonexistent/file");
	expect(1, "/nonexistent/file: cannot open: No such file or directory",
	       "create --file of a missing file: 1, naming the file");
	tap_ok(absent(P("r")), "...leaves no region");
	MSHARE("create", N("r"), "2M", "--file", "/dev/null");
	expect(1, "cannot map 2 MiB of /dev/null",
	       "create --file of a file that cannot be mapped: 1");
	tap_ok(absent(P("r")), "...and the region it had made is removed");
	MSHARE("create", N("r"), "2M", "--file", P("a"));
	expect(1, "Invalid argument", "create --file of a region (they do not nest): 1");
	tap_ok(absent(P("r")), "...and the region it had made is removed");
	/* 64 PiB: past any user address space (x86-64 5-level: 2^56 bytes) */
	MSHARE("create", N("r"), "2M", "--region-size", "65536T");
	expect(2, "larger than a process can map", "a region size no process can map: 2");
	tap_ok(absent(P("r")), "...and the region it had made is removed");
	MSHARE("create", N("nodir/r"), "4K");
	expect(4, "no such directory", "create in a missing directory: 4");
}

static void write_sysctl(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

static long read_sysctl(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void test_hugetlb(void)
{
	static const char nr[] = "/proc/sys/vm/nr_hugepages";
	long old = read_sysctl(nr);

	MSHARE("create", N("h"), "4K", "--hugetlb");
	expect(2, "is not a multiple of the huge page size 2 MiB", "--hugetlb of 4 KiB: 2");
	write_sysctl(nr, 0);
	MSHARE("create", N("h"), "2M", "--hugetlb");
	expect(1, "cannot map 2 MiB of anonymous huge pages", "--hugetlb with no huge pages: 1");
	tap_ok(absent(P("h")), "...and the region it had made is removed");
	write_sysctl(nr, 1);
	if (read_sysctl(nr) < 1) {
		tap_skip("no huge page could be reserved", "create --hugetlb --populate");
	} else {
		MSHARE("create", N("h"), "2M", "--hugetlb", "--populate");
		expect(0, "2 MiB of anonymous huge pages", "create --hugetlb --populate");
		tap_ok(raw_stats(P("h")).rss_bytes == 2 * MiB, "...2 MiB resident");
		MSHARE("rm", N("h"));
		expect(0, NULL, "rm of the hugetlb region");
	}
	write_sysctl(nr, old < 0 ? 0 : old);
}

/* A tmpfs file: 2 MiB of 'A' then 2 MiB of 'B'. */
static void make_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *buf = malloc(4 * MiB);

	if (fd < 0 || !buf)
		tap_bail("cannot make the backing file");
	memset(buf, 'A', 2 * MiB);
	memset(buf + 2 * MiB, 'B', 2 * MiB);
	if (write(fd, buf, 4 * MiB) != (ssize_t)(4 * MiB))
		tap_bail("cannot write the backing file");
	free(buf);
	close(fd);
}

/* The first and last byte of region @path's first @size bytes, attached read-only. */
static bool region_holds(const char *path, uint64_t size, char c)
{
	struct mshare_region *r = mshare_attach_name(path, MSHARE_ATTACH_RDONLY);
	const char *p;
	bool ok;

	if (!r)
		return false;
	p = mshare_addr(r);
	ok = p[0] == c && p[size - 1] == c;
	mshare_detach(r);
	mshare_close(r);
	return ok;
}

static void test_file(const char *file)
{
	struct jv *j;

	make_file(file);
	MSHARE("create", N("f"), "2M", "--file", file);
	expect(0, file, "create --file of a tmpfs file");
	tap_ok(region_holds(P("f"), 2 * MiB, 'A'), "...the region holds the file");
	MSHARE("create", N("f2"), "1M", "--file", file, "--offset", "2M");
	expect(0, "from offset 2 MiB", "create --file --offset 2M");
	tap_ok(region_holds(P("f2"), MiB, 'B'), "...the region holds the file from 2 MiB");

	MSHARE("--json", "map", N("f"), "4M", "2M", "--file", file, "--offset", "2M",
	       "--prot", "r");
	expect(0, NULL, "map --file --offset --prot r");
	j = json_out(J_OBJ, "map --json of a file");
	if (j) {
		tap_ok(!strcmp(jstr(j, "backing"), "file") && !strcmp(jstr(j, "file"), file) &&
		       ju64(j, "file_offset") == 2 * MiB && !strcmp(jstr(j, "prot"), "r") &&
		       ju64(j, "offset") == 4 * MiB && ju64(j, "size") == 2 * MiB,
		       "map --json: backing, file, file_offset, prot, offset, size");
		jv_free(j);
	}
	/* the file was opened read-only for "r": it cannot be made writable */
	MSHARE("protect", N("f"), "4M", "2M", "rw");
	expect(5, "the memory's backing does not allow it",
	       "protect rw of a read-only file's memory: 5");
	MSHARE("map", N("f"), "8M", "4K", "--file", "/nonexistent");
	expect(1, "/nonexistent: cannot open", "map --file of a missing file: 1");
	unlink(file);
}

static void test_map_unmap(void)
{
	char big[32];
	struct jv *j;

	MSHARE("map", N("empty"), "0", "2M", "--populate");
	expect(0, "mapped 2 MiB of anonymous memory at [0, 2 MiB)", "map --populate");
	tap_ok(raw_stats(P("empty")).rss_bytes == 2 * MiB, "...rss is 2 MiB");
	MSHARE("--json", "map", N("empty"), "4M", "2M", "--prot", "r");
	expect(0, NULL, "map --json --prot r");
	j = json_out(J_OBJ, "map --json");
	if (j) {
		tap_ok(!strcmp(jstr(j, "name"), N("empty")) && ju64(j, "offset") == 4 * MiB &&
		       ju64(j, "size") == 2 * MiB && !strcmp(jstr(j, "prot"), "r") &&
		       !strcmp(jstr(j, "backing"), "anon") && jis(j, "file", J_NULL) &&
		       jis(j, "populate", J_BOOL) && !jget(j, "populate")->b,
		       "map --json: name, offset, size, prot, backing, populate");
		jv_free(j);
	}
	tap_ok(raw_stats(P("empty")).rss_bytes == 2 * MiB, "...without --populate, rss stays");

	MSHARE("map", N("empty"), "1M", "2M");
	expect(1, "the range overlaps memory already in the region", "map over memory: 1");
	MSHARE("map", N("empty"), "1000", "4K");
	expect(2, "must be multiples of the page size", "map at an unaligned offset: 2");
	MSHARE("map", N("empty"), "8M", "100");
	expect(2, "must be multiples of the page size", "map of an unaligned size: 2");
	MSHARE("map", N("empty"), "8M", "0");
	expect(2, "the size cannot be 0", "map of size 0: 2");
	snprintf(big, sizeof(big), "%llu", (unsigned long long)align);
	MSHARE("map", N("empty"), big, "4K");
	expect(2, "is outside the region", "map past the end: 2");
	MSHARE("map", N("empty"), "8M", "4K", "--prot", "wx");
	expect(2, "bad protection 'wx'", "map --prot wx: 2");
	MSHARE("map", N("empty"), "8M", "4K", "--prot", "none", "--populate");
	expect(2, "--populate needs a readable PROT", "map --populate --prot none: 2");
	MSHARE("map", N("empty"), "8x", "4K");
	expect(2, "bad offset '8x'", "map with a bad offset: 2");
	MSHARE("map", N("nosuch"), "0", "4K");
	expect(4, "no such region", "map of a missing region: 4");
	MSHARE("map", N("empty"), "8M", "4K", "--prot", "none");
	expect(0, "(none)", "map --prot none");

	MSHARE("unmap", N("empty"), "0", "2M");
	expect(0, "unmapped [0, 2 MiB)", "unmap");
	tap_ok(raw_stats(P("empty")).rss_bytes == 0, "...rss is 0 again");
	MSHARE("--json", "unmap", N("empty"), "0", "2M");
	expect(0, NULL, "unmap of a range with nothing in it");
	j = json_out(J_OBJ, "unmap --json");
	if (j) {
		tap_ok(!strcmp(jstr(j, "name"), N("empty")) && ju64(j, "offset") == 0 &&
		       ju64(j, "size") == 2 * MiB, "unmap --json: name, offset, size");
		jv_free(j);
	}
	MSHARE("map", N("empty"), "0", "2M");
	expect(0, NULL, "the unmapped range can be mapped again");
	MSHARE("unmap", N("empty"), big, "4K");
	expect(2, "is outside the region", "unmap past the end: 2");
	MSHARE("unmap", N("nosuch"), "0", "4K");
	expect(4, "no such region", "unmap of a missing region: 4");
	MSHARE("unmap", N("empty"), "0", "4Z");
	expect(2, "bad size '4Z'", "unmap with a bad size: 2");
}

/* Attach @path read-write in a child and read, or write, its first byte. */
static int touch(const char *path, bool write)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		struct mshare_region *r = mshare_attach_name(path, 0);
		volatile char *p;

		if (!r)
			_exit(100);
		p = mshare_addr(r);
		if (write)
			p[0] = 'w';
		else
			(void)p[0];
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		tap_bail("waitpid failed");
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void test_protect(void)
{
	struct jv *j;

	MSHARE("create", N("p"), "2M", "--populate");
	expect(0, NULL, "create a region to protect");
	MSHARE("protect", N("p"), "0", "2M", "r");
	expect(0, "protected [0, 2 MiB) of", "protect r");
	tap_ok(touch(P("p"), false) == 0, "...a later read-write attach can read");
	tap_ok(touch(P("p"), true) == 128 + SIGSEGV, "...but its write is SIGSEGV");
	MSHARE("--json", "protect", N("p"), "0", "2M", "rw");
	expect(0, NULL, "protect --json rw");
	j = json_out(J_OBJ, "protect --json");
	if (j) {
		tap_ok(!strcmp(jstr(j, "prot"), "rw") && ju64(j, "offset") == 0 &&
		       ju64(j, "size") == 2 * MiB && !strcmp(jstr(j, "name"), N("p")),
		       "protect --json: name, offset, size, prot");
		jv_free(j);
	}
	tap_ok(touch(P("p"), true) == 0, "...after protect rw the write works");
	MSHARE("protect", N("p"), "0", "4M", "r");
	expect(1, "part of the range has no memory mapped", "protect over a hole: 1");
	tap_ok(touch(P("p"), true) == 0, "...and changed nothing");
	MSHARE("protect", N("p"), "0", "2M", "rwq");
	expect(2, "bad protection 'rwq'", "protect with a bad PROT: 2");
	MSHARE("protect", N("p"), "4K", "100", "r");
	expect(2, "multiples of the page size", "protect of an unaligned size: 2");
	MSHARE("protect", N("nosuch"), "0", "4K", "r");
	expect(4, "no such region", "protect of a missing region: 4");
	MSHARE("protect", N("p"), "0", "2M", "none");
	expect(0, "as none", "protect none");
	tap_ok(touch(P("p"), false) == 128 + SIGSEGV, "...a read is SIGSEGV");
}

static void test_stat(void)
{
	struct mshare_region *r;
	struct mshare_stats st;
	char want[128];
	struct jv *j;

	MSHARE("stat", N("b"));
	snprintf(want, sizeof(want), "size:         %s (%llu bytes)\n", align_text(),
		 (unsigned long long)align);
	expect(0, want, "stat: size");
	tap_ok(strstr(R.out, "rss:          4 MiB (4194304 bytes)\n") &&
	       strstr(R.out, "attached:     0\n") && strstr(R.out, "cont blocks:  0\n") &&
	       strstr(R.out, "alignment:    ") && strstr(R.out, "page tables:  ") &&
	       strstr(R.out, "tlb flushes:  "),
	       "stat: rss, attached, page tables, alignment, cont blocks, tlb flushes");

	r = mshare_attach_name(P("b"), 0);
	if (!r)
		tap_bail("cannot attach a region the CLI made");
	MSHARE("stat", N("b"), "--json");
	expect(0, NULL, "stat NAME --json (the option after the command)");
	st = raw_stats(P("b"));
	j = json_out(J_OBJ, "stat --json");
	if (j) {
		tap_ok(j->n == 8 && !strcmp(jstr(j, "name"), N("b")) &&
		       ju64(j, "size") == st.size && ju64(j, "align") == st.align &&
		       ju64(j, "nr_attached") == 1 &&
		       ju64(j, "pgtable_bytes") == st.pgtable_bytes &&
		       ju64(j, "rss_bytes") == 4 * MiB &&
		       ju64(j, "nr_cont_blocks") == st.nr_cont_blocks &&
		       ju64(j, "nr_flushes") == st.nr_flushes,
		       "stat --json: every field of MSHAREFS_GET_STATS, one attach counted");
		jv_free(j);
	}
	mshare_detach(r);
	mshare_close(r);
	MSHARE("--json", "stat", N("b"));
	j = json_out(J_OBJ, "stat --json after the detach");
	tap_ok(j && ju64(j, "nr_attached") == 0, "...the detach is counted");
	jv_free(j);

	MSHARE("stat", N("nosuch"));
	expect(4, "no such region", "stat of a missing region: 4");
	MSHARE("stat", "mshare_info");
	expect(1, "mshare_info: not a region", "stat mshare_info: 1");
	MSHARE("stat", dir);
	expect(1, "is a directory, not a region", "stat of a directory: 1");
	MSHARE("stat", N("unsized"));
	expect(0, "size:         0 B (0 bytes)", "stat of an unsized region");
}

static void test_ls(void)
{
	char line[512], name[256], a[32], b[32], c[32], d[32], e[32], f[32], g[32];
	const struct jv *x;
	bool found = false, aligned = true, sorted = true, info = false, dirs = false;
	size_t width = 0;
	struct jv *j;

	MSHARE("ls");
	expect(0, NULL, "ls");
	for (char *s = R.out, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		size_t len = nl - s;

		snprintf(line, sizeof(line), "%.*s", (int)len, s);
		if (s == R.out) {
			tap_ok(sscanf(line, "%31s %31s %31s %31s %31s", a, b, c, d, e) == 5 &&
			       !strcmp(a, "NAME") && !strcmp(b, "SIZE") && !strcmp(c, "ATTACHED") &&
			       !strcmp(d, "PGTABLES") && !strcmp(e, "RSS"),
			       "ls: the heading is NAME SIZE ATTACHED PGTABLES RSS");
			width = len;
		}
		aligned = aligned && len == width;
		if (sscanf(line, "%255s", name) != 1)
			continue;
		info = info || !strcmp(name, "mshare_info");
		dirs = dirs || !strcmp(name, dir) || !strcmp(name, N("sub"));
		/* NAME, SIZE (2 words), ATTACHED, PGTABLES (2), RSS (2) */
		if (!strcmp(name, N("b"))) {
			found = sscanf(line, "%*s %31s %31s %31s %31s %31s %31s %31s",
				       a, b, c, d, e, f, g) == 7 && !strcmp(c, "0") &&
				!strcmp(f, "4") && !strcmp(g, "MiB");
			snprintf(name, sizeof(name), "%s %s", a, b);
			found = found && !strcmp(name, align_text());
		}
	}
	tap_ok(found, "ls: the row of a region: size, 0 attached, 4 MiB rss");
	tap_ok(aligned && width, "ls: the columns are aligned (every line %zu wide)", width);
	tap_ok(!info && !dirs, "ls: lists neither mshare_info nor directories");
	snprintf(name, sizeof(name), "\n%s ", N("sub/deeper/n"));
	tap_ok(strstr(R.out, name) != NULL, "ls: lists a region two directories down");

	MSHARE("--json", "ls");
	expect(0, NULL, "ls --json");
	j = json_out(J_ARR, "ls --json");
	if (!j)
		return;
	x = jfind(j, N("b"));
	tap_ok(x && ju64(x, "size") == align && ju64(x, "nr_attached") == 0 &&
	       ju64(x, "rss_bytes") == 4 * MiB && ju64(x, "pgtable_bytes") ==
	       raw_stats(P("b")).pgtable_bytes && x->n == 5,
	       "ls --json: name, size, nr_attached, pgtable_bytes, rss_bytes of a region");
	tap_ok(jfind(j, N("sub/deeper/n")) && jfind(j, N("sub/m")) && jfind(j, N("a")),
	       "ls --json: regions at every depth, named relative to the mount");
	x = jfind(j, N("unsized"));
	tap_ok(x && ju64(x, "size") == 0 && ju64(x, "rss_bytes") == 0,
	       "ls --json: an unsized region has size 0");
	for (size_t i = 1; i < j->n; i++)
		sorted = sorted && strcmp(jstr(&j->kids[i - 1], "name"),
					  jstr(&j->kids[i], "name")) < 0;
	tap_ok(sorted && !jfind(j, "mshare_info") && !jfind(j, dir),
	       "ls --json: sorted by name, without mshare_info and directories");
	jv_free(j);
}

static void test_denied(void)
{
	char want[256], sz[16], unit[16], att[16], pt[16], rss[16];
	const struct jv *x;
	const char *row;
	struct jv *j;

	MSHARE("create", N("secret"), "4K", "--mode", "0600");
	expect(0, NULL, "create a 0600 region");
	MSHARE("create", N("public"), "4K", "--mode", "0644");
	expect(0, NULL, "create a 0644 region");

	MSHARE_AS(TEST_UID, "stat", N("secret"));
	expect(5, "Permission denied", "stat of a 0600 region as nobody: 5");
	MSHARE_AS(TEST_UID, "stat", N("public"));
	expect(0, "attached:", "stat of a 0644 region as nobody: 0");
	MSHARE_AS(TEST_UID, "map", N("secret"), "8K", "4K");
	expect(5, "Permission denied", "map of a 0600 region as nobody: 5");
	MSHARE_AS(TEST_UID, "map", N("public"), "8K", "4K");
	expect(5, "Permission denied", "map of a 0644 region as nobody (it needs writing): 5");
	MSHARE_AS(TEST_UID, "protect", N("secret"), "0", "4K", "r");
	expect(5, "Permission denied", "protect of a 0600 region as nobody: 5");
	MSHARE_AS(TEST_UID, "unmap", N("secret"), "0", "4K");
	expect(5, "Permission denied", "unmap of a 0600 region as nobody: 5");
	MSHARE_AS(TEST_UID, "rm", N("secret"));
	expect(5, "Permission denied", "rm in root's directory as nobody: 5");
	tap_ok(!absent(P("secret")), "...the region is still there");
	MSHARE_AS(TEST_UID, "create", N("mine"), "4K");
	expect(5, "Permission denied", "create in root's directory as nobody: 5");
	tap_ok(absent(P("mine")), "...and made nothing");
	MSHARE_AS(TEST_UID, "mount", "/tmp");
	expect(5, "CAP_SYS_ADMIN", "mount as nobody: 5");

	MSHARE_AS(TEST_UID, "--json", "ls");
	expect(0, NULL, "ls as nobody");
	j = json_out(J_ARR, "ls --json as nobody");
	if (j) {
		x = jfind(j, N("secret"));
		tap_ok(x && ju64(x, "size") == align && jis(x, "nr_attached", J_NULL) &&
		       jis(x, "rss_bytes", J_NULL) && jis(x, "pgtable_bytes", J_NULL),
		       "ls --json as nobody: a 0600 region has its size and nulls");
		x = jfind(j, N("public"));
		tap_ok(x && ju64(x, "nr_attached") == 0 && ju64(x, "rss_bytes") == 0,
		       "ls --json as nobody: a 0644 region has its statistics");
		jv_free(j);
	}
	MSHARE_AS(TEST_UID, "ls");
	snprintf(want, sizeof(want), "\n%s ", N("secret"));
	row = strstr(R.out, want);
	tap_ok(R.code == 0 && row &&
	       sscanf(row + strlen(want), "%15s %15s %15s %15s %15s", sz, unit, att, pt,
		      rss) == 5 && !strcmp(att, "-") && !strcmp(pt, "-") &&
	       !strcmp(rss, "-"),
	       "ls as nobody: '-' for what a 0600 region does not show");
}

static void test_rm(void)
{
	struct jv *j;

	MSHARE("create", N("x1"), "4K");
	MSHARE("create", N("x2"), "4K");
	MSHARE("create", N("x3"), "4K");
	MSHARE("rm", N("x1"), N("x2"), P("x3"));
	expect(0, NULL, "rm of three names, one absolute");
	tap_ok(!R.out[0] && absent(P("x1")) && absent(P("x2")) && absent(P("x3")),
	       "...all three are gone, silently");

	MSHARE("create", N("y1"), "4K");
	MSHARE("create", N("y2"), "4K");
	MSHARE("rm", N("y1"), N("nosuch"), N("y2"));
	expect(4, "nosuch: no such region", "rm with a missing name among others: 4");
	tap_ok(absent(P("y1")) && absent(P("y2")), "...the others are removed all the same");

	MSHARE("create", N("z1"), "4K");
	MSHARE("--json", "rm", N("z1"), N("nosuch"));
	j = json_doc(R.out);
	tap_ok(R.code == 4 && j && j->type == J_OBJ && jis(j, "removed", J_ARR) &&
	       jget(j, "removed")->n == 1 &&
	       !strcmp(jget(j, "removed")->kids[0].s, N("z1")) &&
	       strstr(R.err, "no such region"),
	       "rm --json: lists what it removed; the error goes to stderr");
	jv_free(j);

	MSHARE("rm", N("sub"));
	expect(1, "is a directory, not a region", "rm of a directory: 1");
	MSHARE("rm", "mshare_info");
	expect(5, NULL, "rm of mshare_info: refused (5)");
}

/*
 * mount, and what happens without any mount, in a mount namespace of
 * this process's own: the rest of the guest never sees them.
 */
static void test_mount(void)
{
	char d1[] = "/tmp/clitest-mnt1.XXXXXX", d2[] = "/tmp/clitest-mnt2.XXXXXX";
	char env[64], want[128], region[128];
	struct statfs sfs;
	struct stat sb;
	struct jv *j;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		tap_bail("cannot make a mount namespace");
	if (!mkdtemp(d1) || !mkdtemp(d2))
		tap_bail("mkdtemp failed");

	MSHARE("mount", d1, "-o", "mode=0711,uid=65534,gid=65534");
	snprintf(want, sizeof(want), "mounted msharefs on %s\n", d1);
	expect(0, want, "mount TARGET -o mode=,uid=,gid=");
	tap_ok(!statfs(d1, &sfs) && sfs.f_type == MSHAREFS_MAGIC && !stat(d1, &sb) &&
	       (sb.st_mode & 07777) == 0711 && sb.st_uid == TEST_UID && sb.st_gid == TEST_GID,
	       "...an msharefs root with that mode and owner");
	MSHARE_AS(TEST_UID, "--path", d1, "create", "mine", "4K");
	expect(0, NULL, "nobody creates a region in an area of its own (--path)");
	snprintf(region, sizeof(region), "%s/mine", d1);
	tap_ok(!stat(region, &sb) && sb.st_uid == TEST_UID, "...owned by nobody");
	MSHARE_AS(TEST_UID, "--path", d1, "--json", "ls");
	j = json_out(J_ARR, "ls --json of the second mount");
	tap_ok(j && j->n == 1 && jfind(j, "mine"), "...--path lists that mount only");
	jv_free(j);

	MSHARE("mount", d2, "-o", "bogus=1");
	expect(1, "Invalid argument", "mount -o with an unknown option: 1");
	MSHARE("--json", "mount", d2);
	expect(0, NULL, "mount --json");
	j = json_out(J_OBJ, "mount --json");
	tap_ok(j && !strcmp(jstr(j, "target"), d2) && jis(j, "options", J_NULL),
	       "mount --json: target and options");
	jv_free(j);
	tap_ok(!statfs(d2, &sfs) && sfs.f_type == MSHAREFS_MAGIC, "...it is mounted");
	snprintf(env, sizeof(env), "LIBMSHARE_PATH=%s", d2);
	MSHARE_ENV(env, "create", "viaenv", "4K");
	expect(0, NULL, "LIBMSHARE_PATH names the mount to use");
	snprintf(region, sizeof(region), "%s/viaenv", d2);
	tap_ok(!absent(region), "...the region is made there");

	/* Without any msharefs mount: "not mounted", whatever the command. */
	if (umount2(d1, MNT_DETACH) || umount2(d2, MNT_DETACH) ||
	    umount2("/sys/fs/mshare", MNT_DETACH))
		tap_bail("cannot unmount msharefs in the test's namespace");
	MSHARE("ls");
	expect(3, "msharefs is not mounted (mount it with 'mshare mount')", "ls with no mount: 3");
	MSHARE("create", "x", "4K");
	expect(3, "msharefs is not mounted", "create with no mount: 3");
	MSHARE("rm", "x", "y");
	expect(3, "msharefs is not mounted", "rm with no mount: 3");
	tap_ok(!strstr(strstr(R.err, "\n") + 1, "mshare:"), "...said once, not once per name");
	MSHARE("mount");
	expect(0, "mounted msharefs on /sys/fs/mshare", "mount with no TARGET: the default");
	MSHARE("--json", "ls");
	j = json_out(J_ARR, "ls --json of a new instance");
	tap_ok(j && j->n == 0, "...which is a new, empty instance");
	jv_free(j);
	rmdir(d1);
	rmdir(d2);
}

/* Leave nothing behind in the shared mount. */
static void cleanup(void)
{
	static const char *const regions[] = {
		"a", "b", "two", "empty", "abs", "f", "f2", "p", "unsized", "secret",
		"public", "sub/m", "sub/deeper/n",
	};
	char path[512];

	for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		unlink(P(regions[i]));
	rmdir(P("sub/deeper"));
	rmdir(P("sub"));
	snprintf(path, sizeof(path), "%s/%s", mshare_mnt(), dir);
	errno = 0;
	tap_ok(!rmdir(path), "every region the test made is gone (%s)", strerror(errno));
}

int main(void)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	require_msharefs();
	align = mshare_align_raw();
	unsetenv("LIBMSHARE_PATH");
	umask(022);

	/* build/tests/guest/test-cli -> build/cli/mshare */
	n = readlink("/proc/self/exe", cli, sizeof(cli) - 16);
	if (n <= 0)
		tap_bail("cannot read /proc/self/exe");
	cli[n] = '\0';
	for (int i = 0; i < 3; i++)
		*strrchr(cli, '/') = '\0';
	strcat(cli, "/cli/mshare");
	if (access(cli, X_OK))
		tap_bail("the mshare binary is not built beside this test");
	tap_diag("testing %s", cli);

	snprintf(dir, sizeof(dir), "clitest.%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", mshare_mnt(), dir);
	if (mkdir(path, 0755) || mkdir(P("sub"), 0755) || mkdir(P("sub/deeper"), 0755))
		tap_bail("cannot make directories in the mount");
	/* a region the CLI did not make, and did not size */
	fd = open(P("unsized"), O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		tap_bail("cannot make an unsized region");
	close(fd);

	test_usage();
	test_not_mounted();
	test_create();
	test_create_rollback();
	test_hugetlb();
	snprintf(path, sizeof(path), "/dev/shm/clitest.%d", (int)getpid());
	test_file(path);

	MSHARE("create", N("sub/m"), "4K");
	expect(0, NULL, "create in a subdirectory");
	MSHARE("create", N("sub/deeper/n"), "8K", "--populate");
	expect(0, NULL, "create two directories down");
	MSHARE("map", N("unsized"), "0", "4K");
	expect(1, "the region has no size yet", "map into an unsized region: 1");

	test_map_unmap();
	test_protect();
	test_stat();
	test_ls();
	test_denied();
	test_rm();
	cleanup();
	test_mount();
	return tap_done();
}
