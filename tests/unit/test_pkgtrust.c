/*
 * Package trust without a kernel: a fake installation (dpkg's admindir and a
 * merged-/usr tree) built in a temporary directory, then what identity each
 * file gets: found through the /usr merge and diversions, refused when its
 * bytes, owner or mode are not dpkg's, and never for a package that is not
 * installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "santa/pkgtrust.h"

static char tmpdir[] = "/tmp/santa-pkgtrust-XXXXXX";
#include "test_tmpdir.h"

static void
write_file(const char *rel, const char *content, mode_t mode)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
md5_hex(const char *content, char hex[33])
{
	unsigned char md[16];
	unsigned int len = 0;
	int i;

	assert_int_equal(EVP_Digest(content, strlen(content), md, &len, EVP_md5(), NULL), 1);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void
mkdir_in(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/*
 * The installation: coreutils (installed) lists bin/ls (an unmerged path: the
 * file is at usr/bin/ls, bin -> usr/bin), usr/bin/with space, and a data file;
 * dash lists bin/sh, diverted by the admin to usr/bin/sh.distrib; removed-pkg
 * (config-files only) lists usr/bin/gone.
 */
static int
setup(void **state)
{
	char status[4096], md5sums[2048], a[33], b[33], c[33], e[33], path[PATH_MAX];

	if (tmpdir_setup(state) < 0)
		return -1;
	mkdir_in("admin");
	mkdir_in("admin/info");
	mkdir_in("root");
	mkdir_in("root/usr");
	mkdir_in("root/usr/bin");
	mkdir_in("root/usr/share");
	snprintf(path, sizeof(path), "%s/root/bin", tmpdir);
	if (symlink("usr/bin", path) < 0)
		return -1;

	write_file("root/usr/bin/ls", "ls program\n", 0755);
	write_file("root/usr/bin/with space", "spaced program\n", 0755);
	write_file("root/usr/share/data", "not a program\n", 0644);
	write_file("root/usr/bin/sh.distrib", "dash program\n", 0755);
	write_file("root/usr/bin/sh", "the admin's sh\n", 0755);
	write_file("root/usr/bin/gone", "gone program\n", 0755);
	md5_hex("ls program\n", a);
	md5_hex("spaced program\n", b);
	md5_hex("not a program\n", c);
	md5_hex("dash program\n", e);

	snprintf(md5sums, sizeof(md5sums), "%s  bin/ls\n%s  usr/bin/with space\n%s  usr/share/data\n",
		 a, b, c);
	write_file("admin/info/coreutils.md5sums", md5sums, 0644);
	snprintf(md5sums, sizeof(md5sums), "%s  bin/sh\n", e);
	write_file("admin/info/dash:amd64.md5sums", md5sums, 0644);
	md5_hex("gone program\n", a);
	snprintf(md5sums, sizeof(md5sums), "%s  usr/bin/gone\n", a);
	write_file("admin/info/removed-pkg.md5sums", md5sums, 0644);
	write_file("admin/diversions", "/bin/sh\n/usr/bin/sh.distrib\n:\n", 0644);
	snprintf(status, sizeof(status),
		 "Package: coreutils\nStatus: install ok installed\nPriority: required\n"
		 "Architecture: amd64\nVersion: 9.1-1\nDescription: GNU core utilities\n"
		 " with a continuation line\n\n"
		 "Package: dash\nStatus: install ok installed\nArchitecture: amd64\n"
		 "Multi-Arch: foreign\nVersion: 0.5.12-2\n\n"
		 "Package: removed-pkg\nStatus: deinstall ok config-files\nArchitecture: all\n"
		 "Version: 1.0\n");
	write_file("admin/status", status, 0644);
	return 0;
}

static struct santa_pkgtrust *
load(void)
{
	char admin[PATH_MAX], root[PATH_MAX], why[512] = "";
	struct santa_pkgtrust_paths paths = { 0 };
	struct santa_pkgtrust *t = NULL;
	int r;

	snprintf(admin, sizeof(admin), "%s/admin", tmpdir);
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	paths.dpkg.admindir = admin;
	paths.dpkg.root = root;
	r = santa_pkgtrust_load(&paths, &t, why, sizeof(why));
	if (r < 0)
		print_error("load: %s\n", why);
	assert_int_equal(r, 0);
	return t;
}

/* The identity of the file at abs when santad names it claimed (a bind mount can make them differ). */
static enum santa_pkg_verdict
identify_as(const struct santa_pkgtrust *t, const char *abs, const char *claimed,
	    struct santa_pkg_identity *id)
{
	enum santa_pkg_verdict v;
	struct stat st;
	int fd = open(abs, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	v = santa_pkgtrust_identify_fd(t, fd, &st, claimed, NULL, id, NULL);
	close(fd);
	return v;
}

/* The identity of root/REL as santad would see it: opened, fstat'ed, keyed by its canonical path. */
static enum santa_pkg_verdict
identify(const struct santa_pkgtrust *t, const char *rel, const char *canonical,
	 struct santa_pkg_identity *id)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/root/%s", tmpdir, rel);
	return identify_as(t, path, canonical, id);
}

static void
test_files_and_packages(void **state)
{
	struct santa_pkgtrust *t = load();
	struct santa_pkgtrust_stats stats;
	struct santa_pkg_identity id;

	(void)state;
	santa_pkgtrust_stats(t, &stats);
	assert_int_equal(stats.dpkg.packages, 2);       /* removed-pkg is not installed */
	assert_int_equal(stats.dpkg.files, 3);          /* ls, "with space", sh.distrib: not data, not gone */
	assert_int_equal(stats.dpkg.diversions, 1);
	assert_true(stats.dpkg.memory_bytes > 0);

	/* dpkg lists /bin/ls; the kernel names the file /usr/bin/ls. */
	assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id), SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "coreutils");
	assert_string_equal(id.version, "9.1-1");
	assert_string_equal(id.arch, "amd64");
	assert_int_equal(id.n_archives, 0); /* no apt lists here */
	assert_int_equal(id.n_signing_ids, 0);
	assert_int_equal(identify(t, "usr/bin/with space", "/usr/bin/with space", &id),
			 SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "coreutils");

	/* The diverted file is dash's where the diversion put it; the admin's /usr/bin/sh is no package's. */
	assert_int_equal(identify(t, "usr/bin/sh.distrib", "/usr/bin/sh.distrib", &id),
			 SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "dash");
	assert_int_equal(identify(t, "usr/bin/sh", "/usr/bin/sh", &id), SANTA_PKG_NOT_PACKAGED);

	/* A package in config-files state owns nothing. */
	assert_int_equal(identify(t, "usr/bin/gone", "/usr/bin/gone", &id), SANTA_PKG_NOT_PACKAGED);
	/* A path is keyed only as the kernel names it: never through a symlinked directory. */
	assert_int_equal(identify(t, "usr/bin/ls", "/bin/ls", &id), SANTA_PKG_NOT_PACKAGED);
	santa_pkgtrust_free(t);
}

/* Bytes that are not dpkg's, a file others may write, a file not root's: no identity. */
static void
test_refusals(void **state)
{
	struct santa_pkgtrust *t = load();
	struct santa_pkg_identity id;
	char path[PATH_MAX];

	(void)state;
	/* Same length, one byte changed. */
	write_file("root/usr/bin/ls", "ls Program\n", 0755);
	assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id), SANTA_PKG_MODIFIED);
	write_file("root/usr/bin/ls", "ls program\n", 0755);
	assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id), SANTA_PKG_VERIFIED);

	/* Writable by the group: whoever is in it could have put other bytes there. */
	snprintf(path, sizeof(path), "%s/root/usr/bin/ls", tmpdir);
	assert_int_equal(chmod(path, 0775), 0);
	assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id), SANTA_PKG_NOT_ROOT_OWNED);
	assert_int_equal(chmod(path, 0757), 0);
	assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id), SANTA_PKG_NOT_ROOT_OWNED);
	assert_int_equal(chmod(path, 0755), 0);

	/* Owned by a user (tests run as root; anyone else cannot give a file away). */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id),
				 SANTA_PKG_NOT_ROOT_OWNED);
		assert_int_equal(chown(path, 0, 0), 0);
	} else {
		struct stat st;

		/* Not root: the fixture itself is the user's, so every file is refused. */
		assert_int_equal(stat(path, &st), 0);
		assert_int_not_equal(st.st_uid, 0);
		assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id),
				 SANTA_PKG_NOT_ROOT_OWNED);
	}
	/* The identity without reading: only for dpkg's MD5. */
	{
		uint8_t zero[16] = { 0 };

		assert_int_equal(santa_pkgtrust_identity_of(t, "/usr/bin/ls", zero, &id), -ENOENT);
	}
	santa_pkgtrust_free(t);
}

/* A damaged status or diversions file is refused, naming it; no status at all is no dpkg. */
static void
test_bad_databases(void **state)
{
	char admin[PATH_MAX], why[512] = "";
	struct santa_pkgtrust_paths paths = { 0 };
	struct santa_pkgtrust *t = NULL;

	(void)state;
	snprintf(admin, sizeof(admin), "%s/admin", tmpdir);
	paths.dpkg.admindir = admin;
	paths.dpkg.root = tmpdir;
	write_file("admin/diversions", "/bin/sh\n/usr/bin/sh.distrib\n", 0644);
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "diversions"));
	write_file("admin/diversions", "", 0644);
	write_file("admin/status", "Package: x\nStatus: install ok installed\nthis is no field\n", 0644);
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "status"));
	assert_null(t);
	/* No dpkg at all (another distribution): no package, nothing trusted, and said so. */
	snprintf(admin, sizeof(admin), "%s/no-such-dir", tmpdir);
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);
	{
		struct santa_pkgtrust_stats stats;

		santa_pkgtrust_stats(t, &stats);
		assert_true(stats.dpkg.no_status);
		assert_int_equal(stats.dpkg.packages, 0);
	}
	santa_pkgtrust_free(t);
}

/*
 * Conffiles (status's Conffiles field, not md5sums) and maintainer scripts
 * (dpkg's info directory, no digest: the path in santad's own view is the proof).
 */
static void
test_conffiles_and_scripts(void **state)
{
	char admin[PATH_MAX], root[PATH_MAX], why[512] = "", hook_md5[33], path[PATH_MAX];
	char other[PATH_MAX];
	struct santa_pkgtrust_paths paths = { 0 };
	struct santa_pkgtrust *t = NULL;
	struct santa_pkg_identity id;
	char status[1024];

	(void)state;
	mkdir_in("root/etc");
	mkdir_in("root/etc/cron.daily");
	write_file("root/etc/cron.daily/tool", "#!/bin/sh\necho daily\n", 0755);
	md5_hex("#!/bin/sh\necho daily\n", hook_md5);
	snprintf(status, sizeof(status),
		 "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\n"
		 "Version: 9.1-1\nConffiles:\n /etc/cron.daily/tool %s\n /etc/gone "
		 "0123456789abcdef0123456789abcdef obsolete\n\n", hook_md5);
	write_file("admin/status", status, 0644);
	write_file("admin/diversions", "", 0644);
	write_file("admin/info/coreutils.postinst", "#!/bin/sh\nexit 0\n", 0755);
	write_file("admin/info/coreutils.list", "/usr/bin/ls\n", 0755);
	snprintf(admin, sizeof(admin), "%s/admin", tmpdir);
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	paths.dpkg.admindir = admin;
	paths.dpkg.root = root;
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);

	/* A conffile with the MD5 dpkg recorded at install is its package's; edited, it is not. */
	assert_int_equal(identify(t, "etc/cron.daily/tool", "/etc/cron.daily/tool", &id),
			 SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "coreutils");
	write_file("root/etc/cron.daily/tool", "#!/bin/sh\necho edited\n", 0755);
	assert_int_equal(identify(t, "etc/cron.daily/tool", "/etc/cron.daily/tool", &id),
			 SANTA_PKG_MODIFIED);

	/* A maintainer script, by its path in dpkg's directory. */
	snprintf(path, sizeof(path), "%s/admin/info/coreutils.postinst", tmpdir);
	assert_int_equal(identify_as(t, path, path, &id), SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "coreutils");
	/* Another file claiming that path (a bind mount in a user's namespace): not the same inode. */
	snprintf(other, sizeof(other), "%s/root/usr/bin/ls", tmpdir);
	assert_int_not_equal(identify_as(t, other, path, &id), SANTA_PKG_VERIFIED);
	/* Not a script name (a file list made executable): nothing. */
	snprintf(other, sizeof(other), "%s/admin/info/coreutils.list", tmpdir);
	assert_int_equal(identify_as(t, other, other, &id), SANTA_PKG_NOT_PACKAGED);
	/* dpkg's directory writable by a group: no proof left. */
	snprintf(other, sizeof(other), "%s/admin/info", tmpdir);
	assert_int_equal(chmod(other, 0775), 0);
	assert_int_not_equal(identify_as(t, path, path, &id), SANTA_PKG_VERIFIED);
	assert_int_equal(chmod(other, 0755), 0);
	santa_pkgtrust_free(t);
}

/* The view kept between starts: used while dpkg's files are unchanged, never once they change. */
static void
test_cache(void **state)
{
	char admin[PATH_MAX], root[PATH_MAX], cache[PATH_MAX], why[512] = "";
	struct santa_pkgtrust_paths paths = { 0 };
	struct santa_pkgtrust_stats stats;
	struct santa_pkgtrust *t = NULL;
	struct santa_pkg_identity id;
	FILE *f;

	(void)state;
	write_file("admin/diversions", "/bin/sh\n/usr/bin/sh.distrib\n:\n", 0644);
	write_file("admin/status", "Package: coreutils\nStatus: install ok installed\n"
		   "Architecture: amd64\nVersion: 9.1-1\n\nPackage: dash\nStatus: install ok "
		   "installed\nArchitecture: amd64\nVersion: 0.5.12-2\n", 0644);
	write_file("root/usr/bin/ls", "ls program\n", 0755);
	snprintf(admin, sizeof(admin), "%s/admin", tmpdir);
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	snprintf(cache, sizeof(cache), "%s/view.cache", tmpdir);
	paths.dpkg.admindir = admin;
	paths.dpkg.root = root;
	paths.dpkg.cache_path = cache;

	/* Built from dpkg's files, then written. */
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);
	santa_pkgtrust_stats(t, &stats);
	assert_false(stats.dpkg.from_cache);
	assert_int_equal(stats.dpkg.cache_error, 0);
	assert_int_equal(access(cache, F_OK), 0);
	santa_pkgtrust_free(t);

	/* Read back: the same view, identities and diversions included. */
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);
	santa_pkgtrust_stats(t, &stats);
	assert_true(stats.dpkg.from_cache);
	assert_int_equal(stats.dpkg.packages, 2);
	assert_int_equal(stats.dpkg.files, 3);
	assert_int_equal(stats.dpkg.diversions, 1);
	assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id), SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "coreutils");
	assert_int_equal(identify(t, "usr/bin/sh.distrib", "/usr/bin/sh.distrib", &id),
			 SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "dash");
	santa_pkgtrust_free(t);

	/* dpkg changed its status: the cache is stale and the view is built again. */
	write_file("admin/status", "Package: coreutils\nStatus: install ok installed\n"
		   "Architecture: amd64\nVersion: 9.1-2\n", 0644);
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);
	santa_pkgtrust_stats(t, &stats);
	assert_false(stats.dpkg.from_cache);
	assert_int_equal(stats.dpkg.packages, 1);
	assert_int_equal(identify(t, "usr/bin/ls", "/usr/bin/ls", &id), SANTA_PKG_VERIFIED);
	assert_string_equal(id.version, "9.1-2");
	santa_pkgtrust_free(t);

	/* A damaged cache (one byte of its payload) is not believed. */
	f = fopen(cache, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, -40, SEEK_END), 0);
	fputc('X', f);
	fclose(f);
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);
	santa_pkgtrust_stats(t, &stats);
	assert_false(stats.dpkg.from_cache);
	assert_int_equal(stats.dpkg.packages, 1);
	santa_pkgtrust_free(t);
	/* ...and rewritten whole, so the next start uses it again. */
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);
	santa_pkgtrust_stats(t, &stats);
	assert_true(stats.dpkg.from_cache);
	santa_pkgtrust_free(t);
}

/*
 * The view's memory is that of its programs: not of every directory of every
 * packaged file (a desktop lists tens of thousands, for a few thousand
 * programs) nor of status's Conffiles text, which only building it needs.
 */
/*
 * A package dpkg installed since the view (its md5sums named by inotify): its
 * name is the md5sums file's up to ".md5sums" (and ":ARCH"), dots and all. A
 * name cut at its first dot was another package's (python3.11 -> python3),
 * whose SIGNINGID rules would have matched.
 */
static void
test_recent_md5sums_dotted_name(void **state)
{
	struct santa_pkgtrust *t = load();
	struct santa_pkg_identity id;
	char md5sums[256], a[33], recent_path[PATH_MAX];
	const char *recent[2] = { recent_path, NULL };
	char path[PATH_MAX];
	struct stat st;
	int fd;

	(void)state;
	write_file("root/usr/bin/python3.11", "python program\n", 0755);
	md5_hex("python program\n", a);
	snprintf(md5sums, sizeof(md5sums), "%s  usr/bin/python3.11\n", a);
	write_file("admin/info/python3.11:amd64.md5sums", md5sums, 0644);
	snprintf(recent_path, sizeof(recent_path), "%s/admin/info/python3.11:amd64.md5sums", tmpdir);
	snprintf(path, sizeof(path), "%s/root/usr/bin/python3.11", tmpdir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (st.st_uid != 0)
		fail_msg("run as root: package identities need root-owned files");
	assert_int_equal(santa_pkgtrust_identify_fd(t, fd, &st, "/usr/bin/python3.11", recent, &id, NULL),
			 SANTA_PKG_VERIFIED);
	assert_string_equal(id.package, "python3.11");
	assert_string_equal(id.arch, "amd64");
	close(fd);
	santa_pkgtrust_free(t);
}

/* The record of root/usr/bin/ls as santad makes it after the MD5 matched. */
static void
ls_record(const struct santa_pkgtrust *t, struct santa_verified_file *rec, struct stat *st)
{
	struct santa_pkg_identity id;
	const struct santa_dpkg_package *pkg = NULL;
	char path[PATH_MAX], a[33];
	uint8_t md5[16];
	int fd, i;

	snprintf(path, sizeof(path), "%s/root/usr/bin/ls", tmpdir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, st), 0);
	assert_int_equal(santa_pkgtrust_identify_fd(t, fd, st, "/usr/bin/ls", NULL, &id, &pkg),
			 SANTA_PKG_VERIFIED);
	close(fd);
	assert_non_null(pkg);
	md5_hex("ls program\n", a);
	for (i = 0; i < 16; i++)
		sscanf(a + 2 * i, "%2hhx", &md5[i]);
	santa_verified_of(st, pkg, md5, rec);
}

static void
stat_ls(struct stat *st)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/root/usr/bin/ls", tmpdir);
	assert_int_equal(stat(path, st), 0);
}

/*
 * The verified-file memory kept across restarts: written and read back;
 * refused whole when damaged, truncated, someone else's or readable by
 * others; and a record vouches for a file only while its key (inode, mtime,
 * ctime, size) is unchanged and the view lists it so.
 */
static void
test_verified_memory(void **state)
{
	struct santa_pkgtrust *t = load();
	struct santa_verified_file rec, *back = NULL;
	struct stat st, now;
	char file[PATH_MAX], path[PATH_MAX];
	size_t n = 0;
	FILE *f;
	long len;
	int fd;

	(void)state;
	if (geteuid() != 0)
		fail_msg("run as root: package identities need root-owned files");
	snprintf(file, sizeof(file), "%s/verified", tmpdir);
	snprintf(path, sizeof(path), "%s/root/usr/bin/ls", tmpdir);
	ls_record(t, &rec, &st);

	/* Round trip. */
	assert_int_equal(santa_verified_save(file, &rec, 1), 0);
	assert_int_equal(stat(file, &now), 0);
	assert_int_equal(now.st_mode & 0777, 0600);
	assert_int_equal(santa_verified_load(file, &back, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(back, &rec, sizeof(rec));
	assert_ptr_equal(santa_verified_match(t, back, &st, "/usr/bin/ls"),
			 santa_dpkg_db_package_at(santa_pkgtrust_dpkg(t),
						  (size_t)santa_dpkg_db_find_package(santa_pkgtrust_dpkg(t),
										     "coreutils", "amd64")));
	free(back);
	back = NULL;
	assert_int_equal(santa_verified_load("/nonexistent/verified", &back, &n), -ENOENT);

	/* Another path, another file's key: not vouched for. */
	assert_null(santa_verified_match(t, &rec, &st, "/usr/bin/sh.distrib"));

	/* One byte flipped anywhere: the checksum refuses the whole file. */
	f = fopen(file, "r+");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_int_equal(fseek(f, len / 2, SEEK_SET), 0);
	{
		int c = fgetc(f);

		assert_int_equal(fseek(f, len / 2, SEEK_SET), 0);
		fputc(c ^ 1, f);
	}
	fclose(f);
	assert_int_equal(santa_verified_load(file, &back, &n), -EBADMSG);
	assert_null(back);

	/* Truncated. */
	assert_int_equal(santa_verified_save(file, &rec, 1), 0);
	assert_int_equal(truncate(file, len - 1), 0);
	assert_int_equal(santa_verified_load(file, &back, &n), -EBADMSG);
	assert_int_equal(truncate(file, 10), 0);
	assert_int_equal(santa_verified_load(file, &back, &n), -EBADMSG);

	/* Someone else's, or readable by others, or a symlink: not santad's own. */
	assert_int_equal(santa_verified_save(file, &rec, 1), 0);
	assert_int_equal(chown(file, 65534, 65534), 0);
	assert_int_equal(santa_verified_load(file, &back, &n), -EPERM);
	assert_int_equal(chown(file, 0, 0), 0);
	assert_int_equal(chmod(file, 0644), 0);
	assert_int_equal(santa_verified_load(file, &back, &n), -EPERM);
	assert_int_equal(chmod(file, 0600), 0);
	{
		char link[PATH_MAX];

		snprintf(link, sizeof(link), "%s/verified.link", tmpdir);
		assert_int_equal(symlink(file, link), 0);
		assert_int_not_equal(santa_verified_load(link, &back, &n), 0);
	}
	/* Saving over a bad file replaces it (a foreign one too: by rename). */
	assert_int_equal(chown(file, 65534, 65534), 0);
	assert_int_equal(santa_verified_save(file, &rec, 1), 0);
	assert_int_equal(santa_verified_load(file, &back, &n), 0);
	assert_int_equal(n, 1);
	free(back);
	back = NULL;

	/* More records than the cap: not written. */
	assert_int_equal(santa_verified_save(file, &rec, SANTA_VERIFIED_MAX + 1), -EINVAL);

	/*
	 * The key changed: the same size and bytes rewritten with the mtime set
	 * back still moves ctime; a chmod and back moves ctime too.
	 */
	usleep(20000);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "LS", 2, 0), 2);
	assert_int_equal(pwrite(fd, "ls", 2, 0), 2);
	{
		struct timespec times[2] = { st.st_atim, st.st_mtim };

		assert_int_equal(futimens(fd, times), 0);
	}
	close(fd);
	stat_ls(&now);
	assert_int_equal(now.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
	assert_null(santa_verified_match(t, &rec, &now, "/usr/bin/ls"));
	ls_record(t, &rec, &st);
	assert_non_null(santa_verified_match(t, &rec, &st, "/usr/bin/ls"));
	usleep(20000);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(chmod(path, 0755), 0);
	stat_ls(&now);
	assert_null(santa_verified_match(t, &rec, &now, "/usr/bin/ls"));

	/* The key unchanged but the file now writable by others: refused as any file is. */
	ls_record(t, &rec, &st);
	st.st_mode |= 002;
	assert_null(santa_verified_match(t, &rec, &st, "/usr/bin/ls"));
	st.st_mode &= ~(mode_t)002;

	/*
	 * A file on another device (a record of an earlier boot, a user's FUSE
	 * file claiming root and the recorded inode and times) bind-mounted at
	 * dpkg's path in a user's namespace: the path here is another inode.
	 */
	rec.dev ^= 1;
	st.st_dev ^= 1;
	assert_null(santa_verified_match(t, &rec, &st, "/usr/bin/ls"));
	rec.dev ^= 1;
	st.st_dev ^= 1;
	assert_non_null(santa_verified_match(t, &rec, &st, "/usr/bin/ls"));

	/* Another version in the view (an upgrade dpkg recorded): the record is not that package's. */
	rec.ident[0] ^= 1;
	assert_null(santa_verified_match(t, &rec, &st, "/usr/bin/ls"));
	rec.ident[0] ^= 1;
	rec.md5[0] ^= 1;
	assert_null(santa_verified_match(t, &rec, &st, "/usr/bin/ls"));
	santa_pkgtrust_free(t);
}

static size_t
bulk_view_memory(unsigned data_files)
{
	char admin[PATH_MAX], root[PATH_MAX], path[PATH_MAX + 32], why[512] = "", hex[33];
	struct santa_pkgtrust_paths paths = { 0 };
	struct santa_pkgtrust_stats stats;
	struct santa_pkgtrust *t = NULL;
	FILE *f;
	unsigned i;

	snprintf(admin, sizeof(admin), "%s/bulk/admin", tmpdir);
	snprintf(root, sizeof(root), "%s/bulk/root", tmpdir);
	md5_hex("bulk program\n", hex);
	snprintf(path, sizeof(path), "%s/info/bulk.md5sums", admin);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s  usr/bin/bulk\n", hex);
	for (i = 0; i < data_files; i++)
		fprintf(f, "%s  usr/share/bulk/d%u/data\n", hex, i); /* directories that need not exist */
	fclose(f);
	snprintf(path, sizeof(path), "%s/status", admin);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("Package: bulk\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n"
	      "Conffiles:\n", f);
	for (i = 0; i < data_files; i++)
		fprintf(f, " /etc/bulk/c%u.conf %s\n", i, hex);
	fclose(f);
	paths.dpkg.admindir = admin;
	paths.dpkg.root = root;
	assert_int_equal(santa_pkgtrust_load(&paths, &t, why, sizeof(why)), 0);
	santa_pkgtrust_stats(t, &stats);
	assert_int_equal(stats.dpkg.packages, 1);
	assert_int_equal(stats.dpkg.files, 1);
	santa_pkgtrust_free(t);
	return stats.dpkg.memory_bytes;
}

static void
test_memory_of_programs_only(void **state)
{
	size_t small, large;

	(void)state;
	mkdir_in("bulk");
	mkdir_in("bulk/admin");
	mkdir_in("bulk/admin/info");
	mkdir_in("bulk/root");
	mkdir_in("bulk/root/usr");
	mkdir_in("bulk/root/usr/bin");
	write_file("bulk/root/usr/bin/bulk", "bulk program\n", 0755);
	small = bulk_view_memory(0);
	large = bulk_view_memory(20000);
	/* Were they kept: some 2 MB more for the 20,000 directories and conffiles. */
	if (large > small + 4096)
		fail_msg("a view of 1 program costs %zu bytes, %zu with 20,000 data files and conffiles", small,
			 large);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_and_packages),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_conffiles_and_scripts),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_verified_memory),
		cmocka_unit_test(test_recent_md5sums_dotted_name),
		cmocka_unit_test(test_bad_databases),
		cmocka_unit_test(test_memory_of_programs_only),
	};

	return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
