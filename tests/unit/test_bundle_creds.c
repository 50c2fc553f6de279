/*
 * santabundleservice's seccomp filter (src/santabundleservice/creds.c): once
 * locked, no setuid-like call and no root file system identity, whatever
 * capabilities the process holds; a non-root file system identity still
 * works (what each request's thread takes). Run in a child: the filter is
 * for good. Needs root (CAP_SETUID) to try; skipped otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "creds.h"

static void
test_lock_refuses_root_identity(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (bundle_creds_lock() < 0)
			_exit(10);
		if (setresuid(1000, 1000, 1000) == 0 || errno != EPERM)
			_exit(11);
		if (setuid(0) == 0 || errno != EPERM)
			_exit(12);
		if (setgid(1000) == 0 || errno != EPERM)
			_exit(13);
		(void)setfsuid(1000); /* a user's file system identity: allowed */
		if ((uid_t)setfsuid((uid_t)-1) != 1000)
			_exit(14);
		(void)setfsuid(0); /* root's: refused */
		if ((uid_t)setfsuid((uid_t)-1) != 1000)
			_exit(15);
		(void)setfsgid(1000);
		(void)setfsgid(0);
		if ((gid_t)setfsgid((gid_t)-1) != 1000)
			_exit(16);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_refuses_root_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
