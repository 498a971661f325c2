// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A 32-bit (compat) task drops the last reference to a region.
 *
 * The teardown then runs in that task, and do_munmap() of the host
 * range refuses it (the range is above a compat task's TASK_SIZE):
 * mshare_host_clear() must still free the region's memory and tables
 * cleanly. Before it coped, the tables were freed under pages still
 * mapped (a bad rss-counter, then a BUG when the shmem file went): a
 * crash any user could cause with a region file of their own.
 *
 * The 32-bit task is a tiny i386 ELF written here (read one byte from
 * stdin, then exit), so the test needs no 32-bit toolchain; it inherits
 * the region's fd across exec and holds it until the parent, having
 * closed and unlinked its own, closes the pipe. The kernel must run
 * i386 programs (CONFIG_IA32_EMULATION): elsewhere the test skips.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stddef.h>
#include <sys/stat.h>

#include "guest.h"

#define PAGE		4096UL
#define REGION_MEM	(8UL << 20)
#define LOAD_ADDR	0x08048000U

/* read(0, esp, 1); exit(0) */
static const unsigned char code[] = {
	0xb8, 0x03, 0x00, 0x00, 0x00,	/* mov eax, 3 (read) */
	0x31, 0xdb,			/* xor ebx, ebx */
	0x89, 0xe1,			/* mov ecx, esp */
	0xba, 0x01, 0x00, 0x00, 0x00,	/* mov edx, 1 */
	0xcd, 0x80,			/* int 0x80 */
	0xb8, 0x01, 0x00, 0x00, 0x00,	/* mov eax, 1 (exit) */
	0x31, 0xdb,			/* xor ebx, ebx */
	0xcd, 0x80,			/* int 0x80 */
};

struct tiny_elf {
	Elf32_Ehdr eh;
	Elf32_Phdr ph;
	unsigned char code[sizeof(code)];
} __attribute__((packed));

static bool write_i386_program(const char *path)
{
	struct tiny_elf e = {
		.eh = {
			.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32,
				     ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV },
			.e_type = ET_EXEC,
			.e_machine = EM_386,
			.e_version = EV_CURRENT,
			.e_entry = LOAD_ADDR + offsetof(struct tiny_elf, code),
			.e_phoff = offsetof(struct tiny_elf, ph),
			.e_ehsize = sizeof(Elf32_Ehdr),
			.e_phentsize = sizeof(Elf32_Phdr),
			.e_phnum = 1,
		},
		.ph = {
			.p_type = PT_LOAD,
			.p_vaddr = LOAD_ADDR,
			.p_paddr = LOAD_ADDR,
			.p_filesz = sizeof(struct tiny_elf),
			.p_memsz = sizeof(struct tiny_elf),
			.p_flags = PF_R | PF_X,
			.p_align = PAGE,
		},
	};
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	bool ok;

	if (fd < 0 || fchmod(fd, 0755))
		return false;
	memcpy(e.code, code, sizeof(code));
	ok = write(fd, &e, sizeof(e)) == (ssize_t)sizeof(e);
	return !close(fd) && ok;
}

/*
 * Can this kernel run it? An i386 task that gets EOF on stdin exits 0;
 * ENOEXEC is a kernel without i386 support, any other failure the
 * test's own.
 */
static bool i386_runs(const char *prog)
{
	int st, *err = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	if (err == MAP_FAILED)
		tap_bail("mmap failed");
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		execl(prog, prog, (char *)NULL);
		*err = errno;
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		tap_bail("the i386 program did not exit");
	if (WEXITSTATUS(st) == 127 && *err == ENOEXEC)
		return false;
	if (WEXITSTATUS(st)) {
		tap_diag("%s: %s (exit %d)", prog, strerror(*err), WEXITSTATUS(st));
		tap_bail("cannot run the i386 program");
	}
	return true;
}

static long shmem_kb(void)
{
	vmstat_refresh();
	return proc_kb("/proc/meminfo", "Shmem");
}

int main(void)
{
	const char *dir = getenv("VM_DISK");	/* /tmp may be noexec */
	char prog[256], path[256];
	int pipefd[2], st, fd, pfd;
	long before, held, after;
	uint64_t align;
	uint8_t *p;
	pid_t pid;

	require_msharefs();
	snprintf(prog, sizeof(prog), "%s/mshare-i386.XXXXXX", dir ? dir : "/tmp");
	pfd = mkstemp(prog);
	if (pfd < 0)
		tap_bail("mkstemp failed");
	close(pfd);
	if (!write_i386_program(prog))
		tap_bail("cannot write the i386 program");
	if (!i386_runs(prog)) {
		unlink(prog);
		printf("1..0 # SKIP this kernel runs no i386 program (CONFIG_IA32_EMULATION)\n");
		return 0;
	}

	align = mshare_align_raw();
	settle_memory();
	before = shmem_kb();
	fd = region_new("compat-last-close", path, sizeof(path), align);
	TAP_SUCCESS(region_map_anon(fd, 0, REGION_MEM), "map 8 MiB of anonymous memory");
	p = region_attach(fd, align, PROT_READ | PROT_WRITE);
	if (p == MAP_FAILED)
		tap_bail("cannot attach the region");
	/* Pages and the host's tables down to the PTEs, one page in 64 */
	for (unsigned long off = 0; off < REGION_MEM; off += PAGE)
		p[off] = 1;
	munmap(p, align);
	held = shmem_kb();
	tap_ok(held - before >= (long)(REGION_MEM >> 10) - 256,
	       "the region holds its memory (Shmem %+ld kB)", held - before);

	if (pipe2(pipefd, O_CLOEXEC))
		tap_bail("pipe failed");
	pid = fork();
	if (pid < 0)
		tap_bail("fork failed");
	if (!pid) {
		/* The region's fd survives the exec: it is not O_CLOEXEC */
		dup2(pipefd[0], 0);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	close(fd);
	TAP_SUCCESS(unlink(path), "the 64-bit creator closes its fd and unlinks the name");
	/* EOF: the i386 task exits, and its exit closes the last reference */
	close(pipefd[1]);
	if (waitpid(pid, &st, 0) != pid)
		tap_bail("waitpid failed");
	tap_ok(WIFEXITED(st) && !WEXITSTATUS(st),
	       "the i386 task holding the last reference exits cleanly (status 0x%x)", st);
	after = shmem_kb();
	tap_ok(after - before < 256,
	       "the region's memory is freed by its teardown in the i386 task (Shmem %+ld kB)",
	       after - before);
	unlink(prog);
	return tap_done();
}
