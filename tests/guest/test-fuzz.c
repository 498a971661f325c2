// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The model-checked fuzzer (mshare-fuzz, next to this program) in quick
 * mode: a few fixed seeds with 4, 8 and 16 workers, and one seed taken
 * from the time (printed, so that a failure replays). Each run must keep
 * the model (every byte read, every errno, every fault), leave no region
 * in the mount and give its memory back; its output is shown as TAP
 * comments. One short seed runs twice and must issue the same op
 * sequence (the op hash): that is what makes a printed seed a replay.
 *
 * `make fuzz` runs the long mode (minutes, with a seed of its own).
 *
 * Built a second time with -DTEST_TRINITY as test-trinity: the quick
 * run of tools/fuzz-trinity (trinity unprivileged, the msharefs mount as
 * its victim path), on x86_64 only, where the guest sees the host's root
 * and so the host's trinity.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <time.h>

#include "guest.h"

#define QUICK_OPS	800
#define REPLAY_OPS	150
#define TRINITY_OPS	8000		/* about 30 s in the TCG guest */

static char fuzzer[PATH_MAX], build[PATH_MAX];

/*
 * Run mshare-fuzz with @args, echo its output as comments; its exit
 * status, and its op hash (16 hex digits) in @hash.
 */
static int run(const char *prog, const char *const *args, char hash[17])
{
	char line[512];
	const char *argv[16] = { prog };
	int p[2], st, n = 1;
	FILE *out;
	pid_t pid;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (pipe(p))
		tap_bail("pipe failed");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	out = fdopen(p[0], "r");
	hash[0] = '\0';
	while (fgets(line, sizeof(line), out)) {
		line[strcspn(line, "\n")] = '\0';
		sscanf(line, "op-hash: %16s", hash);
		tap_diag("%s", line);
	}
	fclose(out);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void __attribute__((unused)) quick(unsigned long long seed, unsigned int procs, unsigned int ops)
{
	char s[32], n[16], w[16], hash[17];
	const char *args[] = { "--seed", s, "--ops", n, "--procs", w, NULL };

	snprintf(s, sizeof(s), "%llu", seed);
	snprintf(n, sizeof(n), "%u", ops);
	snprintf(w, sizeof(w), "%u", procs);
	tap_ok(run(fuzzer, args, hash) == 0,
	       "seed %llu, %u workers, %u ops: the model held, nothing left behind",
	       seed, procs, ops);
}

/* mshare-fuzz next to this program, and the build tree it is in */
static void find_fuzzer(void)
{
	char self[PATH_MAX], *dir;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len <= 0)
		tap_bail("cannot read /proc/self/exe");
	self[len] = '\0';
	dir = dirname(self);
	snprintf(fuzzer, sizeof(fuzzer), "%s/mshare-fuzz", dir);
	if (access(fuzzer, X_OK))
		tap_bail("mshare-fuzz is not next to the test program");
	snprintf(build, sizeof(build), "%s/../..", dir);
}

#ifdef TEST_TRINITY
int main(void)
{
	const char *arch = getenv("VM_ARCH"), *tree = getenv("VM_WORKTREE");
	/* KASAN and lockdep make every syscall several times slower */
	unsigned int ops = debug_kernel() ? TRINITY_OPS / 4 : TRINITY_OPS;
	char script[PATH_MAX], hash[17], n[16];
	const char *args[] = { "--ops", n, "--seed", "1", build, NULL };
	int rc;

	require_msharefs();
	find_fuzzer();
	if (!arch || strcmp(arch, "x86_64")) {
		printf("1..0 # SKIP trinity runs in the x86_64 guest only (the host's, seen over 9p)\n");
		return 0;
	}
	if (!tree) {
		printf("1..0 # SKIP not in a vm-run guest: no VM_WORKTREE for tools/fuzz-trinity\n");
		return 0;
	}
	if (system("command -v trinity > /dev/null")) {
		printf("1..0 # SKIP trinity is not installed (tools/install-deps installs it)\n");
		return 0;
	}
	snprintf(script, sizeof(script), "%s/tools/fuzz-trinity", tree);
	snprintf(n, sizeof(n), "%u", ops);
	rc = run(script, args, hash);
	tap_ok(rc == 0, "trinity, %u syscalls, unprivileged, on the msharefs mount: guarded "
	       "regions intact, every region answers, all unlink (exit %d)", ops, rc);
	return tap_done();
}
#else
int main(void)
{
	/* the debug kernel runs everything several times slower */
	unsigned int ops = debug_kernel() ? QUICK_OPS / 4 : QUICK_OPS;
	const char *args[] = { "--seed", "7", "--ops", "0", "--procs", "6", NULL };
	char h1[17], h2[17], n[16];
	unsigned long long tseed;

	require_msharefs();
	find_fuzzer();

	quick(1, 4, ops);
	quick(2, 8, ops);
	quick(3, 16, ops);
	tseed = (unsigned long long)time(NULL) * 1000 + getpid() % 1000;
	tap_diag("seed from the time: %llu (replay: mshare-fuzz --seed %llu --ops %u --procs 8)",
		 tseed, tseed, ops);
	quick(tseed, 8, ops);

	snprintf(n, sizeof(n), "%u", REPLAY_OPS);
	args[3] = n;
	tap_ok(run(fuzzer, args, h1) == 0 && run(fuzzer, args, h2) == 0 &&
	       h1[0] && !strcmp(h1, h2),
	       "seed 7 twice: the same op sequence (hash %s, %s)", h1, h2);
	return tap_done();
}
#endif
