/*
 * One snapshot of package trust: dpkg's files and apt's signed archives,
 * and the identity of an open file in the words of Santa's signing rules.
 *
 * Why MD5 is enough here: dpkg records only MD5, and MD5 collisions can be
 * made. But the question asked is not "is this some file with that MD5" but
 * "is this root-owned file, at the path dpkg installed, still the bytes dpkg
 * wrote". An unprivileged user cannot write a root-owned file, nor make one
 * appear at that path with other bytes (a mount in their own namespace shows
 * their own uid, never root's); only root, who can also add rules, can. And
 * a colliding pair would have to come from the archive itself, signed. The
 * MD5 comparison catches an edited or corrupted program, which is its job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "santa/deb822.h"
#include "santa/pkgtrust.h"

#define READ_CHUNK (256u << 10)
#define MD5SUMS_MAX_BYTES (64u << 20)
#define CONTROL_MAX_BYTES (1u << 20)

/* The archives of one installed package, found once at load (fill_identity is on the decision path). */
struct package_archives {
	uint8_t list[SANTA_PKG_ARCHIVES_MAX]; /* archive numbers, best first */
	uint8_t n;
	bool by_name;
};

struct santa_pkgtrust {
	struct santa_dpkg_db *dpkg;
	struct santa_apt_index *apt; /* NULL: no lists directory (a machine without apt) */
	struct package_archives *archives; /* per installed package, by number */
	size_t packages_with_archive;
};

/* Marks, per installed (package, arch), the archives that list it in any version. */
static int
mark_by_name(const char *package, const char *version, const char *arch, size_t arch_len,
	     const uint8_t *archives, size_t n, void *userdata)
{
	struct santa_pkgtrust *t = userdata;
	uint8_t (*bits)[SANTA_APT_ARCHIVES_MAX / 8] = (void *)t->archives;
	char a[SANTA_PKG_ARCH_MAX];
	long p;
	size_t i;

	(void)version;
	if (arch_len >= sizeof(a))
		return 0;
	memcpy(a, arch, arch_len);
	a[arch_len] = '\0';
	p = santa_dpkg_db_find_package(t->dpkg, package, a);
	if (p < 0)
		return 0;
	for (i = 0; i < n; i++)
		bits[p][archives[i] / 8] |= (uint8_t)(1u << (archives[i] % 8));
	return 0;
}

/*
 * Each installed package's archives: those listing its exact version, or,
 * when apt's lists have moved on, those listing the package at all.
 */
static int
resolve_archives(struct santa_pkgtrust *t)
{
	size_t n = santa_dpkg_db_package_count(t->dpkg), i, a;
	uint8_t (*bits)[SANTA_APT_ARCHIVES_MAX / 8] = NULL;
	struct package_archives *out;
	int r = -ENOMEM;

	out = calloc(n ? n : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	if (t->apt) {
		bits = calloc(n ? n : 1, sizeof(*bits));
		if (!bits)
			goto fail;
		t->archives = (void *)bits; /* mark_by_name's scratch */
		santa_apt_index_foreach(t->apt, mark_by_name, t);
		t->archives = NULL;
	}
	for (i = 0; t->apt && i < n; i++) {
		struct santa_dpkg_package pkg;
		const struct santa_apt_archive *found[SANTA_PKG_ARCHIVES_MAX];
		size_t k = 0, m;

		/* The installed package i, by its position in dpkg's list. */
		pkg = *santa_dpkg_db_package_at(t->dpkg, i);
		m = santa_apt_index_find(t->apt, pkg.name, pkg.version, pkg.arch, found,
					 SANTA_PKG_ARCHIVES_MAX);
		if (m > SANTA_PKG_ARCHIVES_MAX)
			m = SANTA_PKG_ARCHIVES_MAX;
		for (k = 0; k < m; k++)
			for (a = 0; a < santa_apt_index_archive_count(t->apt); a++)
				if (santa_apt_index_archive(t->apt, a) == found[k])
					out[i].list[out[i].n++] = (uint8_t)a;
		for (a = 0; !m && a < SANTA_APT_ARCHIVES_MAX && out[i].n < SANTA_PKG_ARCHIVES_MAX; a++)
			if (bits[i][a / 8] & (1u << (a % 8))) {
				out[i].list[out[i].n++] = (uint8_t)a;
				out[i].by_name = true;
			}
		if (out[i].n)
			t->packages_with_archive++;
	}
	free(bits);
	t->archives = out;
	return 0;
fail:
	free(out);
	return r;
}

int
santa_pkgtrust_load(const struct santa_pkgtrust_paths *paths, struct santa_pkgtrust **out,
		    char *why, size_t why_size)
{
	struct santa_pkgtrust *t = calloc(1, sizeof(*t));
	char msg[512];
	int r;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	r = santa_dpkg_db_load(&paths->dpkg, &t->dpkg, msg, sizeof(msg));
	if (r < 0) {
		snprintf(why, why_size, "dpkg database: %s", msg);
		goto out;
	}
	if (paths->apt.lists_dir && access(paths->apt.lists_dir, F_OK) == 0) {
		/*
		 * Every listed (package, version, arch), not only the installed
		 * ones: a package being installed or upgraded has its identity
		 * before the next view is loaded (a few MB for Debian's archive).
		 */
		r = santa_apt_index_load(&paths->apt, NULL, NULL, &t->apt, msg, sizeof(msg));
		if (r < 0) {
			snprintf(why, why_size, "apt lists: %s", msg);
			goto out;
		}
	}
	r = resolve_archives(t);
	if (r < 0) {
		snprintf(why, why_size, "package archives: %s", strerror(-r));
		goto out;
	}
	*out = t;
	t = NULL;
	r = 0;
out:
	santa_pkgtrust_free(t);
	return r;
}

void
santa_pkgtrust_free(struct santa_pkgtrust *t)
{
	if (!t)
		return;
	santa_dpkg_db_free(t->dpkg);
	santa_apt_index_free(t->apt);
	free(t->archives);
	free(t);
}

const char *
santa_pkg_verdict_to_string(enum santa_pkg_verdict v)
{
	switch (v) {
	case SANTA_PKG_VERIFIED:
		return "verified";
	case SANTA_PKG_NOT_PACKAGED:
		return "not installed by a package";
	case SANTA_PKG_NOT_ROOT_OWNED:
		return "not a root-owned file only root can write";
	case SANTA_PKG_MODIFIED:
		return "bytes differ from the package's record";
	case SANTA_PKG_UNREADABLE:
		return "unreadable";
	}
	return "unknown";
}

/*
 * Adds "prefix:name" (or prefix alone, name NULL) to a list of n identifiers
 * of width bytes each, once. Too long, or the list full: left out.
 */
static void
add_id(char *ids, size_t width, size_t *n, const char *prefix, const char *name)
{
	char id[SANTA_TEAMID_LEN + 1 + SANTA_PKG_NAME_MAX];
	size_t i;

	if (*n >= SANTA_PKG_IDS_MAX ||
	    (size_t)snprintf(id, sizeof(id), "%s%s%s", prefix, name ? ":" : "", name ? name : "") >=
		    (width < sizeof(id) ? width : sizeof(id)))
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(ids + i * width, id) == 0)
			return;
	memcpy(ids + (*n)++ * width, id, strlen(id) + 1);
}

/*
 * Santa's identifiers for a package from these archives: a platform archive
 * (signed by the distribution's own key) gives "platform:package", as
 * Apple's binaries give "platform:com.apple.ls"; any other signer gives
 * "TEAMID:package". Every signer adds its TEAMID and CERTIFICATE.
 */
static void
fill_identity(const struct santa_pkgtrust *t, const struct santa_dpkg_package *pkg,
	      struct santa_pkg_identity *out)
{
	size_t i, j;
	long index;

	memset(out, 0, sizeof(*out));
	snprintf(out->package, sizeof(out->package), "%s", pkg->name);
	snprintf(out->version, sizeof(out->version), "%s", pkg->version);
	snprintf(out->arch, sizeof(out->arch), "%s", pkg->arch);
	if (!t->apt)
		return;
	index = santa_dpkg_db_package_index(t->dpkg, pkg);
	if (index >= 0 && t->archives) {
		const struct package_archives *pa = &t->archives[index];

		for (i = 0; i < pa->n; i++)
			out->archives[i] = santa_apt_index_archive(t->apt, pa->list[i]);
		out->n_archives = pa->n;
		out->archives_by_name = pa->by_name;
		goto signers;
	}
	out->n_archives = santa_apt_index_find(t->apt, pkg->name, pkg->version, pkg->arch,
					       out->archives, SANTA_PKG_ARCHIVES_MAX);
	if (out->n_archives == 0) {
		/*
		 * apt's lists moved on (a newer version is listed, this one no
		 * more): the archives that list the package at all. dpkg does not
		 * record where a package came from, so the exact version is no
		 * stronger a proof than the name: only root installs packages.
		 */
		out->n_archives = santa_apt_index_find_name(t->apt, pkg->name,
							    pkg->arch[0] ? pkg->arch : NULL,
							    out->archives, SANTA_PKG_ARCHIVES_MAX);
		out->archives_by_name = out->n_archives > 0;
	}
	if (out->n_archives > SANTA_PKG_ARCHIVES_MAX)
		out->n_archives = SANTA_PKG_ARCHIVES_MAX;
signers:
	for (i = 0; i < out->n_archives; i++) {
		const struct santa_apt_archive *a = out->archives[i];

		for (j = 0; j < a->n_signers; j++) {
			const struct santa_apt_signer *s = &a->signers[j];

			add_id(out->signing_ids[0], sizeof(out->signing_ids[0]), &out->n_signing_ids,
			       s->platform ? "platform" : s->team_id, pkg->name);
			add_id(out->certificates[0], sizeof(out->certificates[0]), &out->n_certificates,
			       s->certificate, NULL);
			add_id(out->team_ids[0], sizeof(out->team_ids[0]), &out->n_team_ids, s->team_id,
			       NULL);
		}
	}
}

int
santa_pkgtrust_identity_of(const struct santa_pkgtrust *t, const char *path, const uint8_t md5[16],
			   struct santa_pkg_identity *out)
{
	struct santa_dpkg_file files[8];
	size_t n, i;

	n = santa_dpkg_db_find(t->dpkg, path, files, 8);
	if (n > 8)
		n = 8;
	for (i = 0; i < n; i++) {
		if (memcmp(files[i].md5, md5, 16) == 0) {
			fill_identity(t, files[i].package, out);
			return 0;
		}
	}
	return -ENOENT;
}

/* MD5 of the whole file behind fd, by pread: the fd's position is not ours to move. */
int
santa_pkgtrust_md5_fd(int fd, uint8_t md5[16])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(READ_CHUNK);
	unsigned int len = 0;
	off_t off = 0;
	int r = -ENOMEM;

	if (!ctx || !buf)
		goto out;
	r = -EIO;
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)
		goto out;
	for (;;) {
		ssize_t got = pread(fd, buf, READ_CHUNK, off);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (got == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1)
			goto out;
		off += got;
	}
	if (EVP_DigestFinal_ex(ctx, md5, &len) != 1 || len != 16)
		goto out;
	r = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

void
santa_pkgtrust_identity_of_package(const struct santa_pkgtrust *t,
				   const struct santa_dpkg_package *package,
				   struct santa_pkg_identity *out)
{
	fill_identity(t, package, out);
}

/*
 * Whether the md5sums text buf lists path (as package's file) with md5.
 * Paths are resolved as dpkg_db resolves them, without its cache.
 */
static bool
md5sums_lists(const struct santa_pkgtrust *t, const char *package, const char *buf, size_t len,
	      const char *path, const uint8_t md5[16])
{
	const char *line = buf, *end = buf + len;
	char hex[33], canonical[PATH_MAX];
	size_t i;

	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md5[i]);
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t n = (size_t)((eol ? eol : end) - line);

		if (n && line[n - 1] == '\r')
			n--;
		if (n > 34 && strncasecmp(line, hex, 32) == 0 && line[32] == ' ' &&
		    santa_dpkg_db_canonical(t->dpkg, package, line + 34, n - 34, canonical,
					    sizeof(canonical)) == 0 &&
		    strcmp(canonical, path) == 0)
			return true;
		line = eol ? eol + 1 : end;
	}
	return false;
}

static bool
file_lists(const struct santa_pkgtrust *t, const char *md5sums_path, const char *package,
	   const char *path, const uint8_t md5[16])
{
	char *buf = NULL;
	size_t len = 0;
	bool found;

	if (santa_read_index_file(md5sums_path, MD5SUMS_MAX_BYTES, &buf, &len) < 0)
		return false;
	found = md5sums_lists(t, package, buf, len, path, md5);
	free(buf);
	return found;
}

/* The identity of (name, version, arch) given as text: a package the view does not have yet. */
static void
fill_identity_of(const struct santa_pkgtrust *t, const char *name, const char *version,
		 const char *arch, struct santa_pkg_identity *out)
{
	struct santa_dpkg_package pkg = { .name = name, .version = version, .arch = arch };

	fill_identity(t, &pkg, out);
	out->pending = true;
}

/* The package dpkg is unpacking (tmp.ci/control): its name, version and architecture. */
static bool
unpacking_control(const struct santa_pkgtrust *t, char *name, size_t name_size, char *version,
		  size_t version_size, char *arch, size_t arch_size)
{
	struct santa_deb822_field fields[32];
	char file[PATH_MAX], *buf = NULL;
	struct santa_deb822 rd;
	struct stat st;
	size_t len = 0;
	bool ok = false;
	int n;

	snprintf(file, sizeof(file), "%s/tmp.ci", santa_dpkg_db_admindir(t->dpkg));
	/* dpkg's own directory: only root could have put it there. */
	if (lstat(file, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return false;
	snprintf(file, sizeof(file), "%s/tmp.ci/control", santa_dpkg_db_admindir(t->dpkg));
	if (santa_read_index_file(file, CONTROL_MAX_BYTES, &buf, &len) < 0)
		return false;
	santa_deb822_init(&rd, buf, len);
	n = santa_deb822_next(&rd, fields, sizeof(fields) / sizeof(fields[0]));
	if (n > 0 && santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "Package"), name, name_size) &&
	    santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "Version"), version, version_size) &&
	    santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "Architecture"), arch, arch_size) &&
	    name[0] && !strchr(name, '/'))
		ok = true;
	free(buf);
	return ok;
}

static bool
unpacking_package(const struct santa_pkgtrust *t, struct santa_pkg_identity *out)
{
	char name[SANTA_PKG_NAME_MAX], version[SANTA_PKG_VERSION_MAX], arch[SANTA_PKG_ARCH_MAX];

	if (!unpacking_control(t, name, sizeof(name), version, sizeof(version), arch, sizeof(arch)))
		return false;
	fill_identity_of(t, name, version, arch, out);
	return true;
}

/*
 * The package dpkg is unpacking right now: it keeps the new version's
 * control files, md5sums included, in tmp.ci until the files are in place.
 */
static bool
unpacking(const struct santa_pkgtrust *t, const char *path, const uint8_t md5[16],
	  struct santa_pkg_identity *out)
{
	char name[SANTA_PKG_NAME_MAX], version[SANTA_PKG_VERSION_MAX], arch[SANTA_PKG_ARCH_MAX];
	char file[PATH_MAX];

	if (!unpacking_control(t, name, sizeof(name), version, sizeof(version), arch, sizeof(arch)))
		return false;
	snprintf(file, sizeof(file), "%s/tmp.ci/md5sums", santa_dpkg_db_admindir(t->dpkg));
	if (!file_lists(t, file, name, path, md5))
		return false;
	fill_identity_of(t, name, version, arch, out);
	return true;
}

/*
 * A maintainer script: dpkg runs info/PKG[:ARCH].{preinst,postinst,prerm,
 * postrm,config} (and, while it unpacks, tmp.ci/preinst and the like). dpkg
 * records no digest of them, but they live in its own directory, which only
 * root can write: such a file, root's and writable by no one else, in a
 * directory that is too, is its package's.
 */
static bool
maintainer_script(const struct santa_pkgtrust *t, const char *path, const struct stat *fst,
		  struct santa_pkg_identity *out)
{
	static const char *const scripts[] = { "preinst", "postinst", "prerm", "postrm", "config" };
	char dir[PATH_MAX], name[SANTA_PKG_NAME_MAX], *colon;
	const char *admindir = santa_dpkg_db_admindir(t->dpkg), *base, *dot, *arch = NULL;
	bool script = false, unpack = false;
	struct stat st;
	size_t i, n, len;

	/* dpkg's admindir is a path on this system, never under a test's root. */
	len = (size_t)snprintf(dir, sizeof(dir), "%s/info/", admindir);
	if (len >= sizeof(dir))
		return false;
	if (strncmp(path, dir, len) != 0) {
		len = (size_t)snprintf(dir, sizeof(dir), "%s/tmp.ci/", admindir);
		if (len >= sizeof(dir) || strncmp(path, dir, len) != 0)
			return false;
		unpack = true;
	}
	base = path + len;
	if (strchr(base, '/'))
		return false;
	dot = unpack ? base - 1 : strrchr(base, '.');
	for (i = 0; dot && i < sizeof(scripts) / sizeof(scripts[0]); i++)
		script |= strcmp(dot + 1, scripts[i]) == 0;
	dir[len - 1] = '\0';
	if (!script || lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022))
		return false;
	/*
	 * With no digest, the path is the proof: it must name this very file in
	 * santad's own view of the filesystem. A file bind-mounted there in a
	 * user's mount namespace is named the same but is another inode here.
	 */
	if (lstat(path, &st) < 0 || st.st_dev != fst->st_dev || st.st_ino != fst->st_ino)
		return false;
	if (unpack)
		return unpacking_package(t, out);
	if ((size_t)(dot - base) >= sizeof(name) || dot == base)
		return false;
	memcpy(name, base, (size_t)(dot - base));
	name[dot - base] = '\0';
	colon = strchr(name, ':');
	if (colon) {
		*colon = '\0';
		arch = colon + 1;
	}
	n = santa_dpkg_db_package_count(t->dpkg);
	for (i = 0; i < n; i++) {
		const struct santa_dpkg_package *p = santa_dpkg_db_package_at(t->dpkg, i);

		if (strcmp(p->name, name) == 0 && (!arch || strcmp(p->arch, arch) == 0)) {
			fill_identity(t, p, out);
			return true;
		}
	}
	/* A package dpkg installs right now, not in the view yet. */
	fill_identity_of(t, name, "", arch ? arch : "", out);
	return true;
}

enum santa_pkg_verdict
santa_pkgtrust_identify_fd(const struct santa_pkgtrust *t, int fd, const struct stat *st,
			   const char *path, const char *const *recent_md5sums,
			   struct santa_pkg_identity *out, const struct santa_dpkg_package **package)
{
	return santa_pkgtrust_identify_fd_md5(t, fd, st, path, recent_md5sums, NULL, out, package);
}

bool
santa_pkgtrust_may_read(const struct santa_pkgtrust *t, const struct stat *st, const char *path,
			bool recent)
{
	struct santa_dpkg_file files[1];
	char file[PATH_MAX];

	if (!S_ISREG(st->st_mode) || st->st_uid != 0 || (st->st_mode & 022))
		return false;
	if (santa_dpkg_db_find(t->dpkg, path, files, 1) > 0 || recent)
		return true;
	snprintf(file, sizeof(file), "%s/tmp.ci/md5sums", santa_dpkg_db_admindir(t->dpkg));
	return access(file, F_OK) == 0;
}

enum santa_pkg_verdict
santa_pkgtrust_identify_fd_md5(const struct santa_pkgtrust *t, int fd, const struct stat *st,
			       const char *path, const char *const *recent_md5sums,
			       const uint8_t *known_md5, struct santa_pkg_identity *out,
			       const struct santa_dpkg_package **package)
{
	struct santa_dpkg_file files[8];
	char file[PATH_MAX], name[SANTA_PKG_NAME_MAX], *colon;
	const char *admindir = santa_dpkg_db_admindir(t->dpkg);
	uint8_t md5[16];
	size_t n, i;

	if (package)
		*package = NULL;
	/*
	 * Only root can have written a root-owned file no one else may write.
	 * Its directory need not be checked: whoever could rename another file
	 * into place would give it their own bytes, which the MD5 then refuses.
	 */
	if (!S_ISREG(st->st_mode) || st->st_uid != 0 || (st->st_mode & 022))
		return SANTA_PKG_NOT_ROOT_OWNED;
	if (maintainer_script(t, path, st, out))
		return SANTA_PKG_VERIFIED; /* no digest to check, nothing to remember */
	n = santa_dpkg_db_find(t->dpkg, path, files, 8);
	if (n > 8)
		n = 8;
	if (n == 0 && (!recent_md5sums || !recent_md5sums[0])) {
		/* Not in the view: the package being unpacked is the one chance. */
		snprintf(file, sizeof(file), "%s/tmp.ci/md5sums", admindir);
		if (access(file, F_OK) < 0)
			return SANTA_PKG_NOT_PACKAGED;
	}
	if (known_md5)
		memcpy(md5, known_md5, 16);
	else if (santa_pkgtrust_md5_fd(fd, md5) < 0)
		return SANTA_PKG_UNREADABLE;
	for (i = 0; i < n; i++) {
		if (memcmp(files[i].md5, md5, 16) == 0) {
			fill_identity(t, files[i].package, out);
			if (package)
				*package = files[i].package;
			return SANTA_PKG_VERIFIED;
		}
	}
	/*
	 * dpkg moved on since the view was loaded (an upgrade, an install): its
	 * records on disk now, before the next view has them. Only for files
	 * root wrote, so a user cannot make santad read them at will.
	 */
	for (i = 0; i < n; i++) {
		const struct santa_dpkg_package *p = files[i].package;

		snprintf(file, sizeof(file), "%s/info/%s:%s.md5sums", admindir, p->name, p->arch);
		if (access(file, F_OK) < 0)
			snprintf(file, sizeof(file), "%s/info/%s.md5sums", admindir, p->name);
		if (file_lists(t, file, p->name, path, md5)) {
			fill_identity(t, p, out);
			out->pending = true;
			return SANTA_PKG_VERIFIED; /* not for remembering: the view's record differs */
		}
	}
	if (unpacking(t, path, md5, out))
		return SANTA_PKG_VERIFIED;
	for (i = 0; recent_md5sums && recent_md5sums[i]; i++) {
		/*
		 * info/NAME.md5sums or info/NAME:ARCH.md5sums, written since the view
		 * was loaded. Package names may hold dots (python3.11): only the
		 * suffix goes, or the file would be another package's (python3).
		 */
		const char *base = strrchr(recent_md5sums[i], '/');
		size_t len;

		base = base ? base + 1 : recent_md5sums[i];
		len = strlen(base);
		if (len <= 8 || strcmp(base + len - 8, ".md5sums") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 8), base);
		colon = strchr(name, ':');
		if (colon)
			*colon = '\0';
		if (name[0] && file_lists(t, recent_md5sums[i], name, path, md5)) {
			fill_identity_of(t, name, "", colon ? colon + 1 : "", out);
			return SANTA_PKG_VERIFIED;
		}
	}
	return n ? SANTA_PKG_MODIFIED : SANTA_PKG_NOT_PACKAGED;
}

const struct santa_dpkg_db *
santa_pkgtrust_dpkg(const struct santa_pkgtrust *t)
{
	return t->dpkg;
}

void
santa_pkgtrust_stats(const struct santa_pkgtrust *t, struct santa_pkgtrust_stats *out)
{
	memset(out, 0, sizeof(*out));
	santa_dpkg_db_stats(t->dpkg, &out->dpkg);
	if (t->apt)
		santa_apt_index_stats(t->apt, &out->apt);
	out->packages_with_archive = t->packages_with_archive;
}
