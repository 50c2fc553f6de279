/*
 * For the BPF backstop check in a VM (tests/vm/bpf_backstop.sh), where there
 * is no Python: copies PROGRAM into a memfd and execs it from there.
 * Prints "ran" (exit 0), "denied" (the exec failed with EPERM) or "error".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n;
	int in, mfd, st;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: memfd_exec PROGRAM ARG0 [ARG...]\n");
		return 2;
	}
	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	mfd = memfd_create("anon", MFD_CLOEXEC);
	if (in < 0 || mfd < 0)
		return puts("error"), 1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, (size_t)n) != n)
			return puts("error"), 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fexecve(mfd, argv + 2, (char *[]){ NULL });
		_exit(errno == EPERM ? 126 : 127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return puts("error"), 1;
	puts(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ran" : WIFEXITED(st) && WEXITSTATUS(st) == 126 ? "denied" : "error");
	return 0;
}
