/* Path helpers: no truncation, no symlink following, no trusting someone else's directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "santa/path.h"

static char tmpdir[] = "/tmp/santa-path-XXXXXX";

#include "test_tmpdir.h"


static void
test_join(void **state)
{
	char buf[16];

	assert_int_equal(santa_path_join(buf, sizeof(buf), "/a/", "/b"), 0);
	assert_string_equal(buf, "/a/b");
	assert_int_equal(santa_path_join(buf, sizeof(buf), "/", "etc"), 0);
	assert_string_equal(buf, "/etc");
	assert_int_equal(santa_path_join(buf, sizeof(buf), "/abcdefgh", "ijklmnop"), -ENAMETOOLONG);
}

static void
test_with_root(void **state)
{
	char buf[64];

	assert_int_equal(santa_path_with_root(buf, sizeof(buf), NULL, "/run/santa"), 0);
	assert_string_equal(buf, "/run/santa");
	assert_int_equal(santa_path_with_root(buf, sizeof(buf), "", "/run/santa"), 0);
	assert_string_equal(buf, "/run/santa");
	assert_int_equal(santa_path_with_root(buf, sizeof(buf), "/tmp/t/", "/run/santa"), 0);
	assert_string_equal(buf, "/tmp/t/run/santa");
	assert_int_equal(santa_path_with_root(buf, sizeof(buf), "/tmp", "run"), -EINVAL);
	assert_int_equal(santa_path_with_root(buf, 8, "/tmp", "/run/santa"), -ENAMETOOLONG);
}

static void
test_clean_absolute(void **state)
{
	assert_true(santa_path_is_clean_absolute("/"));
	assert_true(santa_path_is_clean_absolute("/var/lib/santa/rules.db"));
	assert_true(santa_path_is_clean_absolute("/a/.hidden/..dots"));
	assert_false(santa_path_is_clean_absolute(NULL));
	assert_false(santa_path_is_clean_absolute(""));
	assert_false(santa_path_is_clean_absolute("var/lib"));
	assert_false(santa_path_is_clean_absolute("/var//lib"));
	assert_false(santa_path_is_clean_absolute("/var/lib/"));
	assert_false(santa_path_is_clean_absolute("/var/./lib"));
	assert_false(santa_path_is_clean_absolute("/var/../etc"));
	assert_false(santa_path_is_clean_absolute("/var/.."));
	assert_false(santa_path_is_clean_absolute("/var/li\nb"));
}

static void
test_mkdir_secure_creates_with_mode(void **state)
{
	char path[256];
	struct stat st;
	mode_t old = umask(077);

	snprintf(path, sizeof(path), "%s/a/b/c", tmpdir);
	assert_int_equal(santa_mkdir_secure(path, 0755), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	/* Existing and correct: fine again. */
	assert_int_equal(santa_mkdir_secure(path, 0755), 0);
}

static void
test_mkdir_secure_tightens_planted_mode(void **state)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/wide", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(santa_mkdir_secure(path, 0750), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
}

static void
test_mkdir_secure_refuses_symlinks(void **state)
{
	char target[256], link[256], path[256];

	snprintf(target, sizeof(target), "%s/target", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(mkdir(target, 0755), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_true(santa_mkdir_secure(link, 0755) < 0);
	snprintf(path, sizeof(path), "%s/link/sub", tmpdir);
	assert_true(santa_mkdir_secure(path, 0755) < 0);
	/* Nothing was created through the link. */
	snprintf(path, sizeof(path), "%s/target/sub", tmpdir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(santa_mkdir_secure("relative/dir", 0755), -EINVAL);
}

static void
test_mkdir_secure_refuses_foreign_owner(void **state)
{
	char path[256];

	if (geteuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/foreign", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(santa_mkdir_secure(path, 0755), -EPERM);
}

static void
test_open_nofollow(void **state)
{
	char dir[256], link[256], file[256];
	int dfd, fd;

	snprintf(dir, sizeof(dir), "%s/real", tmpdir);
	snprintf(link, sizeof(link), "%s/alias", tmpdir);
	snprintf(file, sizeof(file), "%s/real/f", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(symlink(dir, link), 0);
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	fd = santa_open_nofollow(dfd, "real/f", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* A symlink in the middle of the path is refused, not just at the end. */
	assert_int_equal(santa_open_nofollow(dfd, "alias/f", O_RDONLY, 0), -ELOOP);
	assert_int_equal(santa_open_nofollow(dfd, "alias", O_RDONLY, 0), -ELOOP);
	close(dfd);
}

static void
test_root_trusted(void **state)
{
	struct stat st = { 0 };

	st.st_mode = S_IFREG | 0755;
	st.st_uid = 0;
	assert_true(santa_stat_is_root_trusted(&st));
	st.st_mode = S_IFREG | 0775;
	assert_false(santa_stat_is_root_trusted(&st));
	st.st_mode = S_IFREG | 0757;
	assert_false(santa_stat_is_root_trusted(&st));
	st.st_mode = S_IFREG | 0755;
	st.st_uid = 1000;
	assert_false(santa_stat_is_root_trusted(&st));
	st.st_mode = S_IFDIR | 0755;
	st.st_uid = 0;
	assert_false(santa_stat_is_root_trusted(&st));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_with_root),
		cmocka_unit_test(test_clean_absolute),
		cmocka_unit_test(test_mkdir_secure_creates_with_mode),
		cmocka_unit_test(test_mkdir_secure_tightens_planted_mode),
		cmocka_unit_test(test_mkdir_secure_refuses_symlinks),
		cmocka_unit_test(test_mkdir_secure_refuses_foreign_owner),
		cmocka_unit_test(test_open_nofollow),
		cmocka_unit_test(test_root_trusted),
	};

	return cmocka_run_group_tests_name("path", tests, tmpdir_setup, tmpdir_teardown);
}
