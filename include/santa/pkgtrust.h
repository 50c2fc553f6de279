/*
 * Package trust: the Linux counterpart of Santa's code-signing identities,
 * built from the package system a Debian admin already trusts
 * (docs/package-trust.md has the mapping and the reasoning).
 *
 *   dpkg_db   -- which installed package owns a file, and the MD5 dpkg
 *                recorded for it at install time (status, info/PKG.md5sums,
 *                diversions, the /usr merge)
 *   pkgtrust  -- one immutable snapshot of dpkg's view and apt's archives
 *                (santa/apt_archive.h), and the identity of an open file:
 *                its SIGNINGID, CERTIFICATE and TEAMID identifiers
 *
 * A file has an identity only if it is the very file dpkg installed: a
 * regular file owned by root, writable by nobody else, at the path dpkg
 * lists for it, with the bytes dpkg recorded. Anything else is unknown.
 */
#ifndef SANTA_PKGTRUST_H
#define SANTA_PKGTRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "santa/apt_archive.h"

#define SANTA_PKG_NAME_MAX     128
#define SANTA_PKG_VERSION_MAX  128
#define SANTA_PKG_ARCH_MAX     32
#define SANTA_PKG_ARCHIVES_MAX 4   /* archives kept per identity, best first */
#define SANTA_PKG_IDS_MAX      16  /* identifiers of one type per identity */
#define SANTA_DPKG_FILES_MAX   (4u << 20) /* executables indexed */
#define SANTA_DPKG_PACKAGES_MAX 200000

/* ---- dpkg's database ---- */

struct santa_dpkg_paths {
	const char *admindir; /* /var/lib/dpkg */
	/*
	 * Where dpkg's paths live: "" for the running system; a directory for
	 * tests (paths are resolved under it and reported without it).
	 */
	const char *root;
	/*
	 * NULL, or where the view is kept between starts: when dpkg's status,
	 * diversions and info directory are what it was built from, it is read
	 * instead of dpkg's files (a cold boot then reads one file, not stat
	 * every packaged file). Written, root-only, after each full build.
	 */
	const char *cache_path;
};

struct santa_dpkg_package {
	const char *name, *version, *arch; /* NUL-terminated, owned by the db */
};

struct santa_dpkg_db;

/*
 * Reads the installed packages (Status "install ok installed", or with
 * triggers pending) and, for each, the files its md5sums lists that are
 * executable regular files on disk now, keyed by their canonical path (the
 * directory resolved as the kernel would: /bin/ls of an unmerged package is
 * /usr/bin/ls on a merged system; a diverted file is found where the
 * diversion put it). Returns 0 or -errno with why.
 */
int santa_dpkg_db_load(const struct santa_dpkg_paths *paths, struct santa_dpkg_db **out, char *why,
		       size_t why_size);
void santa_dpkg_db_free(struct santa_dpkg_db *db);
/* Writes db to path (mode 0600, by rename), with the stamps of dpkg's files now. Returns 0 or -errno. */
int santa_dpkg_db_save(const struct santa_dpkg_db *db, const char *path);

/* A file dpkg installed: its package and the MD5 dpkg recorded. */
struct santa_dpkg_file {
	const struct santa_dpkg_package *package;
	uint8_t md5[16];
};

/* The packages' records for canonical path (at most max; several packages may list one path). Returns how many. */
size_t santa_dpkg_db_find(const struct santa_dpkg_db *db, const char *path,
			  struct santa_dpkg_file *out, size_t max);

/*
 * Where dpkg's listed path rel (as in an md5sums file, relative to /) of
 * package is on disk, as the kernel names it: diversions by other packages
 * applied, the directory resolved. Reads the filesystem, changes nothing in
 * db (any thread). Returns 0, -ENOENT or -ENAMETOOLONG.
 */
int santa_dpkg_db_canonical(const struct santa_dpkg_db *db, const char *package, const char *rel,
			    size_t rel_len, char *out, size_t size);
const char *santa_dpkg_db_admindir(const struct santa_dpkg_db *db);
const char *santa_dpkg_db_root(const struct santa_dpkg_db *db);

/* Whether exactly this (name, version, arch) is installed. */
bool santa_dpkg_db_installed(const struct santa_dpkg_db *db, const char *name, const char *version,
			     const char *arch);

/* Calls fn for every packaged program (path, package, dpkg's MD5); a negative return stops. */
int santa_dpkg_db_foreach_file(const struct santa_dpkg_db *db,
			       int (*fn)(const char *path, const struct santa_dpkg_package *pkg,
					 const uint8_t md5[16], void *userdata),
			       void *userdata);

/* The number of a package of db (0 to santa_dpkg_db_package_count - 1), or -1 when not db's. */
long santa_dpkg_db_package_index(const struct santa_dpkg_db *db, const struct santa_dpkg_package *pkg);
size_t santa_dpkg_db_package_count(const struct santa_dpkg_db *db);
const struct santa_dpkg_package *santa_dpkg_db_package_at(const struct santa_dpkg_db *db,
							  size_t index);
/* The installed package (name, arch), any version, by number; -1 if none. */
long santa_dpkg_db_find_package(const struct santa_dpkg_db *db, const char *name, const char *arch);

/* Calls fn for every installed package; a negative return stops and is returned. */
int santa_dpkg_db_foreach_package(const struct santa_dpkg_db *db,
				  int (*fn)(const struct santa_dpkg_package *pkg, void *userdata),
				  void *userdata);

struct santa_dpkg_db_stats {
	size_t packages, files, md5sums_missing, diversions, memory_bytes;
	bool no_status; /* admindir has no status file: no dpkg, no packages */
	bool from_cache; /* read from cache_path, dpkg unchanged since it was built */
	int cache_error; /* writing cache_path failed (-errno), 0 otherwise */
};
void santa_dpkg_db_stats(const struct santa_dpkg_db *db, struct santa_dpkg_db_stats *out);

/* ---- the trust snapshot ---- */

struct santa_pkgtrust_paths {
	struct santa_dpkg_paths dpkg;
	struct santa_apt_paths apt;
};

struct santa_pkgtrust;

/* Loads dpkg's and apt's views into one snapshot. Returns 0 or -errno with why. */
int santa_pkgtrust_load(const struct santa_pkgtrust_paths *paths, struct santa_pkgtrust **out,
			char *why, size_t why_size);
void santa_pkgtrust_free(struct santa_pkgtrust *t);

/* What a file is, in the words of Santa's signing rules. */
struct santa_pkg_identity {
	char package[SANTA_PKG_NAME_MAX];
	char version[SANTA_PKG_VERSION_MAX];
	char arch[SANTA_PKG_ARCH_MAX];
	const struct santa_apt_archive *archives[SANTA_PKG_ARCHIVES_MAX]; /* in the snapshot */
	size_t n_archives; /* 0: dpkg installed it, but no archive apt trusts lists the package */
	bool archives_by_name; /* no archive lists this version any more: those listing the package */
	bool pending;          /* from dpkg's records on disk, newer than the view */
	/* "platform:coreutils" or "D6350947F8:coreutils", as SIGNINGID rules name it. */
	char signing_ids[SANTA_PKG_IDS_MAX][SANTA_TEAMID_LEN + 1 + SANTA_PKG_NAME_MAX];
	size_t n_signing_ids;
	char certificates[SANTA_PKG_IDS_MAX][65];
	size_t n_certificates;
	char team_ids[SANTA_PKG_IDS_MAX][SANTA_TEAMID_LEN + 1];
	size_t n_team_ids;
};

/* Why a file has no identity (santactl fileinfo and the event log say it). */
enum santa_pkg_verdict {
	SANTA_PKG_VERIFIED = 0,   /* identity filled (maybe without archives) */
	SANTA_PKG_NOT_PACKAGED,   /* no installed package lists this path */
	SANTA_PKG_NOT_ROOT_OWNED, /* owner not root, or writable by group/others, or not a regular file */
	SANTA_PKG_MODIFIED,       /* the bytes differ from dpkg's record */
	SANTA_PKG_UNREADABLE,     /* the file could not be read */
};
const char *santa_pkg_verdict_to_string(enum santa_pkg_verdict v);

/*
 * The identity of the open file fd (st: its fstat; path: its canonical path
 * as the kernel names it). Reads the whole file through fd with pread (MD5,
 * compared with dpkg's record) unless the ownership checks fail first.
 * Returns the verdict; out (and *package, when not NULL: the package record,
 * valid as long as t) is filled only for SANTA_PKG_VERIFIED.
 *
 * dpkg moves on between views: a root-owned file the view does not vouch
 * for is also looked up in dpkg's records as they are on disk now (its
 * package's md5sums, the package dpkg is unpacking in tmp.ci, and the
 * md5sums files in recent_md5sums, NULL-terminated: written since the view
 * was loaded). Such an identity has pending set and *package NULL: it is
 * not to be remembered, the next view will have it.
 */
enum santa_pkg_verdict santa_pkgtrust_identify_fd(const struct santa_pkgtrust *t, int fd,
						   const struct stat *st, const char *path,
						   const char *const *recent_md5sums,
						   struct santa_pkg_identity *out,
						   const struct santa_dpkg_package **package);

/*
 * The same, with the file's MD5 already computed by the caller from the
 * very bytes of fd (md5; NULL: read it here), so a cold decision reads the
 * file once for its SHA-256 and dpkg's MD5 alike.
 */
enum santa_pkg_verdict santa_pkgtrust_identify_fd_md5(const struct santa_pkgtrust *t, int fd,
						       const struct stat *st, const char *path,
						       const char *const *recent_md5sums,
						       const uint8_t *md5,
						       struct santa_pkg_identity *out,
						       const struct santa_dpkg_package **package);
/*
 * Whether identify_fd would read the file for its MD5 (t lists path, or
 * dpkg has records newer than t: recent_md5sums, or a package unpacking):
 * when a caller hashing the file anyway should compute the MD5 alongside.
 */
bool santa_pkgtrust_may_read(const struct santa_pkgtrust *t, const struct stat *st,
			     const char *path, bool recent);

/* The identity of a package of t (one identify_fd returned): no file is read. */
void santa_pkgtrust_identity_of_package(const struct santa_pkgtrust *t,
					const struct santa_dpkg_package *package,
					struct santa_pkg_identity *out);

/*
 * The same without reading: the caller already knows the file's bytes are
 * dpkg's (a verified file whose key has not changed). Returns 0, -ENOENT.
 */
int santa_pkgtrust_identity_of(const struct santa_pkgtrust *t, const char *path,
			       const uint8_t md5[16], struct santa_pkg_identity *out);

/* dpkg's view inside t (for walking its files). */
const struct santa_dpkg_db *santa_pkgtrust_dpkg(const struct santa_pkgtrust *t);
/* MD5 of the whole file behind fd (pread: its position is left alone). Returns 0 or -errno. */
int santa_pkgtrust_md5_fd(int fd, uint8_t md5[16]);

struct santa_pkgtrust_stats {
	struct santa_dpkg_db_stats dpkg;
	struct santa_apt_index_stats apt;
	size_t packages_with_archive; /* installed packages some trusted archive lists */
};
void santa_pkgtrust_stats(const struct santa_pkgtrust *t, struct santa_pkgtrust_stats *out);

/* ---- files verified, remembered across santad's restarts ---- */

#define SANTA_VERIFIED_MAX 16384 /* records in the file (santad's table has as many slots) */

/*
 * One file whose bytes matched dpkg's MD5: its key when it did (a write or a
 * chmod changes ctime, which no one can set back), the record it matched and
 * which package, version and architecture that record was (ident). The
 * path is not in it: hard links of one package share one record, and the
 * path is checked afresh at each use (santa_verified_match).
 * Plain integers: the file is read back by the same build on the same host.
 */
struct santa_verified_file {
	uint64_t dev, ino;
	int64_t mtime_ns, ctime_ns, size;
	uint8_t md5[16];
	uint8_t ident[16]; /* santa_verified_ident */
};

/* The first 16 bytes of SHA-256 over name, version and arch, NUL-separated. */
void santa_verified_ident(const char *name, const char *version, const char *arch, uint8_t ident[16]);
/* Writes n records (at most SANTA_VERIFIED_MAX) to path, mode 0600, by rename. Returns 0 or -errno. */
int santa_verified_save(const char *path, const struct santa_verified_file *files, size_t n);
/*
 * Reads path into a malloc'd array (*out, *n; NULL and 0 when empty).
 * Returns 0; -ENOENT; -EPERM when it is not a regular file of this user
 * that no one else may read or write; -EBADMSG when damaged or truncated.
 */
int santa_verified_load(const char *path, struct santa_verified_file **out, size_t *n);
/* The record of the file st, whose bytes matched package's md5 (its path is checked at each use). */
void santa_verified_of(const struct stat *st, const struct santa_dpkg_package *package,
		       const uint8_t md5[16], struct santa_verified_file *out);
/*
 * The package of view t that r vouches for, for the open file st at its
 * canonical path: r's key is st's (same inode, mtime, ctime and size), the
 * file is root's and writable by no one else, path names that inode in this
 * process's mount namespace (lstat, under t's dpkg root), and t lists path
 * with r's MD5 for the package, version and arch r was verified as. NULL
 * otherwise.
 */
const struct santa_dpkg_package *santa_verified_match(const struct santa_pkgtrust *t,
						      const struct santa_verified_file *r,
						      const struct stat *st, const char *path);

#endif
