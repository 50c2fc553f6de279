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

/* A file 6,000 bytes deep (a mount point a user made in their tree) is reached. */
static void
test_open_long(void **state)
{
	char comp[201], *path;
	struct stat made, got;
	size_t len;
	int dfd, next, fd, i;

	memset(comp, 'd', 200);
	comp[200] = '\0';
	path = malloc(8192);
	assert_non_null(path);
	len = (size_t)snprintf(path, 8192, "%s", tmpdir);
	dfd = open(tmpdir, O_PATH | O_DIRECTORY);
	assert_true(dfd >= 0);
	for (i = 0; i < 30; i++) {
		assert_int_equal(mkdirat(dfd, comp, 0755), 0);
		next = openat(dfd, comp, O_PATH | O_DIRECTORY);
		assert_true(next >= 0);
		close(dfd);
		dfd = next;
		len += (size_t)snprintf(path + len, 8192 - len, "/%s", comp);
	}
	fd = openat(dfd, "f", O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &made), 0);
	close(fd);
	assert_true(len > PATH_MAX);
	snprintf(path + len, 8192 - len, "/f");
	assert_int_equal(open(path, O_RDONLY), -1); /* what open() alone does */
	fd = santa_open_long(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &got), 0);
	assert_true(got.st_ino == made.st_ino && got.st_dev == made.st_dev);
	close(fd);
	/* The deep directory itself. */
	path[len] = '\0';
	fd = santa_open_long(path, O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path + len, 8192 - len, "/missing");
	assert_int_equal(santa_open_long(path, O_RDONLY), -ENOENT);
	/* Short paths as open() does. */
	snprintf(path, 8192, "%s/none", tmpdir);
	assert_int_equal(santa_open_long(path, O_RDONLY), -ENOENT);
	fd = santa_open_long(tmpdir, O_PATH | O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	close(dfd);
	free(path);
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

/* Writes a root-owned file at dir/name with mode; returns its path in buf. */
static const char *
make_file(char *buf, size_t size, const char *dir, const char *name, mode_t mode)
{
	int fd;

	snprintf(buf, size, "%s/%s", dir, name);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x = 1\n", 6), 6);
	close(fd);
	assert_int_equal(chmod(buf, mode), 0);
	return buf;
}

static int
open_root_owned(const char *path, char *why, size_t why_size)
{
	int fd = santa_open_root_owned(path, why, why_size);

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : fd;
}

static void
test_open_root_owned(void **state)
{
	char file[256], path[600], dir[256], why[PATH_MAX + 256];

	if (geteuid() != 0)
		skip(); /* ownership is the point: root makes files root's and others' */
	make_file(file, sizeof(file), tmpdir, "a.conf", 0644);
	assert_int_equal(open_root_owned(file, why, sizeof(why)), 0);
	/* A group or others may write it: refused, saying who owns it and how. */
	assert_int_equal(chmod(file, 0664), 0);
	assert_int_equal(open_root_owned(file, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "owned by uid 0, gid 0, mode 0664"));
	assert_int_equal(chmod(file, 0640), 0);
	assert_int_equal(chown(file, 65534, 0), 0);
	assert_int_equal(open_root_owned(file, why, sizeof(why)), -EPERM);
	assert_int_equal(chown(file, 0, 0), 0);
	/* Symlinks are followed, relative ones from their own directory, ".." included. */
	snprintf(dir, sizeof(dir), "%s/sub", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/rel.conf", dir);
	assert_int_equal(symlink("../sub/../a.conf", path), 0);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), 0);
	snprintf(path, sizeof(path), "%s/abs.conf", tmpdir);
	assert_int_equal(symlink(file, path), 0);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), 0);
	/* A symlink someone else made (as in a sticky directory) does not count. */
	assert_int_equal(lchown(path, 65534, 65534), 0);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "symlink"));
	/* A directory others may write, unless sticky; one a user owns. */
	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	make_file(path, sizeof(path), dir, "b.conf", 0644);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "directory"));
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chown(dir, 65534, 65534), 0);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), -EPERM);
	/* Not a file, not there, not a directory on the way, not absolute. */
	assert_int_equal(open_root_owned(tmpdir, why, sizeof(why)), -EISDIR);
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), -ENOENT);
	snprintf(path, sizeof(path), "%s/x", file);
	assert_int_equal(open_root_owned(path, why, sizeof(why)), -ENOTDIR);
	assert_int_equal(open_root_owned("relative.conf", why, sizeof(why)), -EINVAL);
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
		cmocka_unit_test(test_open_long),
		cmocka_unit_test(test_root_trusted),
		cmocka_unit_test(test_open_root_owned),
	};

	return cmocka_run_group_tests_name("path", tests, tmpdir_setup, tmpdir_teardown);
}
