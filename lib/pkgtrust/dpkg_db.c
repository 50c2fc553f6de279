/*
 * dpkg's database, as much of it as package trust needs: the installed
 * packages (status), the MD5 of each file they installed (info/PKG.md5sums)
 * and where diversions moved files (diversions).
 *
 * Only files that are executable regular files on disk at load time are
 * kept: santad asks about files being executed, and an exec needs an x bit.
 * That keeps memory near the number of programs (a few thousand), not the
 * number of packaged files (a hundred thousand and more).
 *
 * Paths are keyed as the kernel names the open file: dpkg may list
 * /bin/ls while, on a merged-/usr system, the file is /usr/bin/ls. Each
 * listed directory is resolved once (realpath) and the file keyed under the
 * result. The file itself is never followed: md5sums lists regular files.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "santa/deb822.h"
#include "santa/pkgtrust.h"
#include "santa/sha256.h"

/* md5sums and status files larger than these are refused, not read. */
#define MD5SUMS_MAX_BYTES (64u << 20)
#define STATUS_MAX_BYTES  (256u << 20)
#define DIVERSIONS_MAX_BYTES (16u << 20)
#define ARENA_BLOCK (256u << 10)

/* Strings that live as long as the db; blocks never move, so pointers stay valid. */
struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

struct file_rec {
	const char *path;
	uint32_t pkg;
	uint32_t next; /* index + 1 of the next record in this bucket, 0 for none */
	uint8_t md5[16];
};

struct diversion {
	const char *from, *to, *package; /* package ":" is a local diversion */
	uint32_t next;
};

struct dir_rec {
	const char *listed;    /* as dpkg lists it, with a leading '/' */
	const char *canonical; /* NULL: the directory does not resolve under root */
	uint32_t next;
};

/*
 * What the view was built from: dpkg's status and diversions files and its
 * info directory (dpkg replaces md5sums files by rename, which changes the
 * directory). Same stamps, same view.
 */
struct stamp {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

struct santa_dpkg_db {
	struct arena_block *arena;
	size_t arena_bytes;
	/*
	 * Strings needed only while the view is built from dpkg's files: every
	 * directory of every packaged file as listed and as resolved, and each
	 * package's Conffiles text. A desktop has tens of thousands of such
	 * directories for a few thousand programs; they are released (with the
	 * tables below that point into them) once the view is built.
	 */
	struct arena_block *scratch;
	size_t scratch_bytes;

	struct santa_dpkg_package *pkgs;
	size_t n_pkgs, cap_pkgs;
	const char **conffiles; /* per package while loading: status's Conffiles field, or NULL */
	size_t cap_conffiles;
	uint32_t *pkg_buckets; /* by (name, arch): index + 1 */
	uint32_t *pkg_next;
	size_t pkg_bucket_count;

	struct file_rec *files;
	size_t n_files, cap_files;
	uint32_t *file_buckets;
	size_t file_bucket_count;

	struct diversion *divs;
	size_t n_divs;
	uint32_t *div_buckets;
	size_t div_bucket_count;

	struct dir_rec *dirs;
	size_t n_dirs, cap_dirs;
	uint32_t *dir_buckets;
	size_t dir_bucket_count;

	size_t md5sums_missing;
	bool no_status;
	bool from_cache;
	int cache_error; /* saving the cache failed: -errno */
	/* dpkg's files as they were before the view was read from them (see struct stamp). */
	struct stamp built_from[3];
	char admindir[PATH_MAX];
	char root[PATH_MAX];
	size_t root_len;
};

/* FNV-1a: keys are paths and package names from root-owned files, not attacker input. */
static uint64_t
hash_str(const char *s, uint64_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ULL

static char *
arena_put(struct arena_block **head, size_t *bytes, const char *s, size_t len)
{
	struct arena_block *b = *head;
	char *p;

	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = *head;
		b->used = 0;
		b->size = size;
		*head = b;
		*bytes += sizeof(*b) + size;
	}
	p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

/* A string that lives as long as the view. */
static char *
arena_strndup(struct santa_dpkg_db *db, const char *s, size_t len)
{
	return arena_put(&db->arena, &db->arena_bytes, s, len);
}

/* A string needed only while the view is built (see struct santa_dpkg_db). */
static char *
scratch_strndup(struct santa_dpkg_db *db, const char *s, size_t len)
{
	return arena_put(&db->scratch, &db->scratch_bytes, s, len);
}

static void
arena_free(struct arena_block **head, size_t *bytes)
{
	struct arena_block *b, *next;

	for (b = *head; b; b = next) {
		next = b->next;
		free(b);
	}
	*head = NULL;
	*bytes = 0;
}

static int
grow(void **array, size_t *cap, size_t need, size_t elem)
{
	size_t n;
	void *p;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 256;
	while (n < need)
		n *= 2;
	p = realloc(*array, n * elem);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}

static int
table_new(uint32_t **buckets, size_t *count, size_t want)
{
	size_t n = 1024;

	while (n < want * 2)
		n *= 2;
	*buckets = calloc(n, sizeof(**buckets));
	if (!*buckets)
		return -ENOMEM;
	*count = n;
	return 0;
}

/* ---- diversions ---- */

static const struct diversion *
diversion_of(const struct santa_dpkg_db *db, const char *path)
{
	uint32_t i;

	if (!db->n_divs)
		return NULL;
	for (i = db->div_buckets[hash_str(path, HASH_SEED) & (db->div_bucket_count - 1)]; i;
	     i = db->divs[i - 1].next)
		if (strcmp(db->divs[i - 1].from, path) == 0)
			return &db->divs[i - 1];
	return NULL;
}

/*
 * The diversions file is lines in threes: the diverted path, where it went,
 * and the package that diverted it (":" for a local diversion by the admin).
 */
static int
load_diversions(struct santa_dpkg_db *db, const char *admindir, char *why, size_t why_size)
{
	char path[PATH_MAX], *buf = NULL, *p, *lines[3];
	size_t len = 0, cap = 0, n_lines = 0, i;
	int r;

	snprintf(path, sizeof(path), "%s/diversions", admindir);
	r = santa_read_index_file(path, DIVERSIONS_MAX_BYTES, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(-r));
		return r;
	}
	for (p = buf; p < buf + len;) {
		char *eol = memchr(p, '\n', (size_t)(buf + len - p));

		if (!eol)
			eol = buf + len;
		*eol = '\0';
		n_lines++;
		p = eol + 1;
	}
	if (n_lines % 3) {
		snprintf(why, why_size, "%s: %zu lines, not triples of path, diverted-to, package",
			 path, n_lines);
		r = -EBADMSG;
		goto out;
	}
	r = table_new(&db->div_buckets, &db->div_bucket_count, n_lines / 3);
	if (r < 0)
		goto out;
	r = grow((void **)&db->divs, &cap, n_lines / 3 + 1, sizeof(*db->divs));
	if (r < 0)
		goto out;
	for (p = buf, i = 0; p < buf + len;) {
		lines[i % 3] = p;
		p += strlen(p) + 1;
		if (++i % 3 == 0) {
			struct diversion *d = &db->divs[db->n_divs];
			size_t b;

			d->from = arena_strndup(db, lines[0], strlen(lines[0]));
			d->to = arena_strndup(db, lines[1], strlen(lines[1]));
			d->package = arena_strndup(db, lines[2], strlen(lines[2]));
			if (!d->from || !d->to || !d->package) {
				r = -ENOMEM;
				goto out;
			}
			b = hash_str(d->from, HASH_SEED) & (db->div_bucket_count - 1);
			d->next = db->div_buckets[b];
			db->div_buckets[b] = (uint32_t)++db->n_divs;
		}
	}
	r = 0;
out:
	free(buf);
	return r;
}

/* ---- directories as the kernel resolves them ---- */

/*
 * The canonical form of a listed directory ("/bin" -> "/usr/bin"), resolved
 * under root and reported without it; NULL when it does not exist or
 * resolves outside root. Cached: a few thousand directories for 100k files.
 */
static const char *
canonical_dir(struct santa_dpkg_db *db, const char *listed, size_t listed_len, int *err)
{
	char key[PATH_MAX], full[PATH_MAX], resolved[PATH_MAX];
	const char *canon = NULL;
	struct dir_rec *d;
	uint64_t h;
	uint32_t i;
	size_t b;

	*err = 0;
	if (listed_len >= sizeof(key))
		return NULL;
	memcpy(key, listed, listed_len);
	key[listed_len] = '\0';
	h = hash_str(key, HASH_SEED);
	b = h & (db->dir_bucket_count - 1);
	for (i = db->dir_buckets[b]; i; i = db->dirs[i - 1].next)
		if (strcmp(db->dirs[i - 1].listed, key) == 0)
			return db->dirs[i - 1].canonical;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", db->root, key) < sizeof(full) &&
	    realpath(full, resolved)) {
		if (db->root_len == 0)
			canon = resolved;
		else if (strncmp(resolved, db->root, db->root_len) == 0 &&
			 (resolved[db->root_len] == '/' || resolved[db->root_len] == '\0'))
			canon = resolved[db->root_len] ? resolved + db->root_len : "/";
	}
	if (grow((void **)&db->dirs, &db->cap_dirs, db->n_dirs + 1, sizeof(*db->dirs)) < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	d = &db->dirs[db->n_dirs];
	d->listed = scratch_strndup(db, key, strlen(key));
	d->canonical = canon ? scratch_strndup(db, canon, strlen(canon)) : NULL;
	if (!d->listed || (canon && !d->canonical)) {
		*err = -ENOMEM;
		return NULL;
	}
	d->next = db->dir_buckets[b];
	db->dir_buckets[b] = (uint32_t)++db->n_dirs;
	return d->canonical;
}

/* ---- files ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
add_file(struct santa_dpkg_db *db, uint32_t pkg, const char *path, const uint8_t md5[16])
{
	struct file_rec *f;
	size_t b;
	int r;

	if (db->n_files >= SANTA_DPKG_FILES_MAX)
		return -E2BIG;
	r = grow((void **)&db->files, &db->cap_files, db->n_files + 1, sizeof(*db->files));
	if (r < 0)
		return r;
	if (db->n_files * 2 >= db->file_bucket_count) {
		/* Rehash: the table doubles as files are found. */
		size_t n = db->file_bucket_count * 2, i;
		uint32_t *nb = calloc(n, sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		for (i = 0; i < db->n_files; i++) {
			size_t bi = hash_str(db->files[i].path, HASH_SEED) & (n - 1);

			db->files[i].next = nb[bi];
			nb[bi] = (uint32_t)(i + 1);
		}
		free(db->file_buckets);
		db->file_buckets = nb;
		db->file_bucket_count = n;
	}
	f = &db->files[db->n_files];
	f->path = arena_strndup(db, path, strlen(path));
	if (!f->path)
		return -ENOMEM;
	f->pkg = pkg;
	memcpy(f->md5, md5, 16);
	b = hash_str(path, HASH_SEED) & (db->file_bucket_count - 1);
	f->next = db->file_buckets[b];
	db->file_buckets[b] = (uint32_t)++db->n_files;
	return 0;
}

/*
 * One md5sums line: 32 hex digits, two spaces (or " *"), a path relative
 * to / that runs to the end of the line (it may hold spaces).
 */
static int
add_md5sums_line(struct santa_dpkg_db *db, uint32_t pkg, const char *line, size_t len)
{
	char abs[PATH_MAX], full[PATH_MAX], keyed[PATH_MAX];
	const struct santa_dpkg_package *p = &db->pkgs[pkg];
	const struct diversion *div;
	const char *rel, *slash, *dir;
	uint8_t md5[16];
	struct stat st;
	size_t i;
	int err;

	if (len < 35 || line[32] != ' ' || (line[33] != ' ' && line[33] != '*'))
		return 0; /* not an md5sums line: skipped, as dpkg --verify does */
	for (i = 0; i < 16; i++) {
		int hi = hexval((unsigned char)line[2 * i]), lo = hexval((unsigned char)line[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return 0;
		md5[i] = (uint8_t)(hi << 4 | lo);
	}
	rel = line + 34;
	len -= 34;
	while (len && *rel == '/') {
		rel++;
		len--;
	}
	if (len == 0 || len + 2 > sizeof(abs))
		return 0;
	abs[0] = '/';
	memcpy(abs + 1, rel, len);
	abs[len + 1] = '\0';

	/* A diversion by another package (or the admin) moved this package's file. */
	div = diversion_of(db, abs);
	if (div && strcmp(div->package, p->name) != 0) {
		if (strlen(div->to) >= sizeof(abs))
			return 0;
		snprintf(abs, sizeof(abs), "%s", div->to);
	}
	slash = strrchr(abs, '/');
	dir = canonical_dir(db, abs, slash == abs ? 1 : (size_t)(slash - abs), &err);
	if (err)
		return err;
	if (!dir)
		return 0;
	if ((size_t)snprintf(keyed, sizeof(keyed), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "",
			     slash + 1) >= sizeof(keyed))
		return 0;
	if ((size_t)snprintf(full, sizeof(full), "%s%s", db->root, keyed) >= sizeof(full))
		return 0;
	if (lstat(full, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return 0;
	return add_file(db, pkg, keyed, md5);
}

static int
load_md5sums(struct santa_dpkg_db *db, const char *admindir, uint32_t pkg)
{
	const struct santa_dpkg_package *p = &db->pkgs[pkg];
	char path[PATH_MAX], *buf = NULL, *line, *end;
	size_t len = 0;
	int r;

	/* Multi-Arch: same packages keep "name:arch.md5sums"; others "name.md5sums". */
	snprintf(path, sizeof(path), "%s/info/%s:%s.md5sums", admindir, p->name, p->arch);
	r = santa_read_index_file(path, MD5SUMS_MAX_BYTES, &buf, &len);
	if (r == -ENOENT) {
		snprintf(path, sizeof(path), "%s/info/%s.md5sums", admindir, p->name);
		r = santa_read_index_file(path, MD5SUMS_MAX_BYTES, &buf, &len);
	}
	if (r == -ENOENT) {
		/* Packages without files (metapackages) have none. */
		db->md5sums_missing++;
		return 0;
	}
	if (r < 0)
		return r;
	for (line = buf, end = buf + len; line < end;) {
		char *eol = memchr(line, '\n', (size_t)(end - line));
		size_t n = (eol ? eol : end) - line;

		if (n && line[n - 1] == '\r')
			n--;
		r = add_md5sums_line(db, pkg, line, n);
		if (r < 0)
			break;
		line = eol ? eol + 1 : end;
	}
	free(buf);
	return r < 0 ? r : 0;
}

/* ---- packages ---- */

static uint64_t
pkg_hash(const char *name, const char *arch)
{
	return hash_str(arch, hash_str(name, HASH_SEED) ^ 0x3a);
}

/* Whether the package's files are on disk ("install ok installed", ...). */
static bool
status_installed(const struct santa_deb822_field *f)
{
	char status[128], *last;

	if (!santa_deb822_copy(f, status, sizeof(status)))
		return false;
	/* "want flag status": only the status counts; a package selected for removal is still installed. */
	last = strrchr(status, ' ');
	if (!last)
		return false;
	last++;
	/*
	 * Every state in which the package's files are on disk: an upgrade goes
	 * through half-installed, unpacked and half-configured, and its
	 * maintainer scripts run the package's programs meanwhile.
	 */
	return strcmp(last, "installed") == 0 || strcmp(last, "triggers-pending") == 0 ||
	       strcmp(last, "triggers-awaited") == 0 || strcmp(last, "unpacked") == 0 ||
	       strcmp(last, "half-configured") == 0 || strcmp(last, "half-installed") == 0;
}

static int
add_package(struct santa_dpkg_db *db, const struct santa_deb822_field *fields, size_t n)
{
	const struct santa_deb822_field *name = santa_deb822_get(fields, n, "Package");
	const struct santa_deb822_field *version = santa_deb822_get(fields, n, "Version");
	const struct santa_deb822_field *arch = santa_deb822_get(fields, n, "Architecture");
	const struct santa_deb822_field *status = santa_deb822_get(fields, n, "Status");
	char sname[SANTA_PKG_NAME_MAX], sversion[SANTA_PKG_VERSION_MAX], sarch[SANTA_PKG_ARCH_MAX];
	const struct santa_deb822_field *conffiles;
	struct santa_dpkg_package *p;
	int r;

	if (!name || !version || !status || !status_installed(status))
		return 0;
	if (!santa_deb822_copy(name, sname, sizeof(sname)) ||
	    !santa_deb822_copy(version, sversion, sizeof(sversion)) ||
	    !santa_deb822_copy(arch, sarch, sizeof(sarch)) || !sname[0] || strchr(sname, '/'))
		return 0; /* no package has such names: not ours to guess about */
	if (db->n_pkgs >= SANTA_DPKG_PACKAGES_MAX)
		return -E2BIG;
	r = grow((void **)&db->pkgs, &db->cap_pkgs, db->n_pkgs + 1, sizeof(*db->pkgs));
	if (r < 0)
		return r;
	p = &db->pkgs[db->n_pkgs];
	p->name = arena_strndup(db, sname, strlen(sname));
	p->version = arena_strndup(db, sversion, strlen(sversion));
	p->arch = arena_strndup(db, sarch, strlen(sarch));
	if (!p->name || !p->version || !p->arch)
		return -ENOMEM;
	/* Conffiles (under /etc) are not in md5sums: status records their MD5 as shipped. */
	r = grow((void **)&db->conffiles, &db->cap_conffiles, db->n_pkgs + 1, sizeof(*db->conffiles));
	if (r < 0)
		return r;
	conffiles = santa_deb822_get(fields, n, "Conffiles");
	db->conffiles[db->n_pkgs] = conffiles ? scratch_strndup(db, conffiles->value, conffiles->value_len) : NULL;
	if (conffiles && !db->conffiles[db->n_pkgs])
		return -ENOMEM;
	db->n_pkgs++;
	return 0;
}

/*
 * status's Conffiles: one " PATH MD5 [obsolete|remove-on-upgrade]" per line
 * (PATH absolute, it may hold spaces). An obsolete conffile is no longer the
 * package's; "newconffile" (not yet installed) is no MD5 and is skipped.
 */
static int
load_conffiles(struct santa_dpkg_db *db, uint32_t pkg)
{
	const char *text = db->conffiles ? db->conffiles[pkg] : NULL, *line, *eol;
	char buf[PATH_MAX + 64], *md5, *sp;
	size_t len;
	int r;

	for (line = text; line && *line; line = eol ? eol + 1 : NULL) {
		eol = strchr(line, '\n');
		len = eol ? (size_t)(eol - line) : strlen(line);
		while (len && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		if (len == 0 || len >= sizeof(buf))
			continue;
		memcpy(buf, line, len);
		buf[len] = '\0';
		/* From the end: an optional flag word, then the MD5; the rest is the path. */
		sp = strrchr(buf, ' ');
		if (!sp)
			continue;
		md5 = sp + 1;
		*sp = '\0';
		if (strcmp(md5, "obsolete") == 0)
			continue;
		if (strcmp(md5, "remove-on-upgrade") == 0) {
			sp = strrchr(buf, ' ');
			if (!sp)
				continue;
			md5 = sp + 1;
			*sp = '\0';
		}
		if (strlen(md5) != 32 || buf[0] != '/')
			continue;
		{
			char line_md5[PATH_MAX + 64];
			int n = snprintf(line_md5, sizeof(line_md5), "%s  %s", md5, buf + 1);

			if (n < 0 || (size_t)n >= sizeof(line_md5))
				continue;
			r = add_md5sums_line(db, pkg, line_md5, (size_t)n);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int
index_packages(struct santa_dpkg_db *db)
{
	size_t i;
	int r;

	r = table_new(&db->pkg_buckets, &db->pkg_bucket_count, db->n_pkgs);
	if (r < 0)
		return r;
	db->pkg_next = calloc(db->n_pkgs + 1, sizeof(*db->pkg_next));
	if (!db->pkg_next)
		return -ENOMEM;
	for (i = 0; i < db->n_pkgs; i++) {
		size_t b = pkg_hash(db->pkgs[i].name, db->pkgs[i].arch) & (db->pkg_bucket_count - 1);

		db->pkg_next[i] = db->pkg_buckets[b];
		db->pkg_buckets[b] = (uint32_t)(i + 1);
	}
	return 0;
}

bool
santa_dpkg_db_installed(const struct santa_dpkg_db *db, const char *name, const char *version,
			const char *arch)
{
	uint32_t i;

	if (!db->n_pkgs)
		return false;
	for (i = db->pkg_buckets[pkg_hash(name, arch) & (db->pkg_bucket_count - 1)]; i;
	     i = db->pkg_next[i - 1]) {
		const struct santa_dpkg_package *p = &db->pkgs[i - 1];

		if (strcmp(p->name, name) == 0 && strcmp(p->arch, arch) == 0 &&
		    strcmp(p->version, version) == 0)
			return true;
	}
	return false;
}

int
santa_dpkg_db_canonical(const struct santa_dpkg_db *db, const char *package, const char *rel,
			size_t rel_len, char *out, size_t size)
{
	char abs[PATH_MAX], full[PATH_MAX], resolved[PATH_MAX];
	const struct diversion *div;
	const char *slash, *dir;

	while (rel_len && *rel == '/') {
		rel++;
		rel_len--;
	}
	if (rel_len == 0 || rel_len + 2 > sizeof(abs))
		return -ENAMETOOLONG;
	abs[0] = '/';
	memcpy(abs + 1, rel, rel_len);
	abs[rel_len + 1] = '\0';
	div = diversion_of(db, abs);
	if (div && strcmp(div->package, package) != 0) {
		if (strlen(div->to) >= sizeof(abs))
			return -ENAMETOOLONG;
		snprintf(abs, sizeof(abs), "%s", div->to);
	}
	slash = strrchr(abs, '/');
	if ((size_t)snprintf(full, sizeof(full), "%s%.*s", db->root,
			     slash == abs ? 1 : (int)(slash - abs), abs) >= sizeof(full) ||
	    !realpath(full, resolved))
		return -ENOENT;
	if (db->root_len == 0)
		dir = resolved;
	else if (strncmp(resolved, db->root, db->root_len) == 0 &&
		 (resolved[db->root_len] == '/' || resolved[db->root_len] == '\0'))
		dir = resolved[db->root_len] ? resolved + db->root_len : "/";
	else
		return -ENOENT;
	if ((size_t)snprintf(out, size, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", slash + 1) >= size)
		return -ENAMETOOLONG;
	return 0;
}

const char *
santa_dpkg_db_admindir(const struct santa_dpkg_db *db)
{
	return db->admindir;
}

const char *
santa_dpkg_db_root(const struct santa_dpkg_db *db)
{
	return db->root;
}

/* ---- the cache: the view as last built, for a boot with nothing changed since ---- */

struct cache_header {
	char magic[16];
	uint32_t version, reserved;
	struct stamp status, diversions, info;
	uint64_t n_pkgs, n_files, n_divs, md5sums_missing, payload_len;
	char admindir[PATH_MAX], root[PATH_MAX];
};

#define CACHE_MAGIC "santa-dpkg-view"
#define CACHE_VERSION 2 /* 2: conffiles are in the view */
#define CACHE_MAX_BYTES (512u << 20)

static void
stamp_of(const char *path, struct stamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (lstat(path, &sb) < 0)
		return;
	st->dev = (uint64_t)sb.st_dev;
	st->ino = (uint64_t)sb.st_ino;
	st->size = (uint64_t)sb.st_size;
	st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	st->ctime_ns = (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec;
}

static void
stamps_of(const char *admindir, struct cache_header *h)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/status", admindir);
	stamp_of(path, &h->status);
	snprintf(path, sizeof(path), "%s/diversions", admindir);
	stamp_of(path, &h->diversions);
	snprintf(path, sizeof(path), "%s/info", admindir);
	stamp_of(path, &h->info);
}

/* Appends a NUL-terminated string (or raw bytes) to a growing buffer. */
static int
put(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
	if (*len + n > *cap && grow((void **)buf, cap, *len + n, 1) < 0)
		return -ENOMEM;
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

static int
put_str(char **buf, size_t *len, size_t *cap, const char *s)
{
	return put(buf, len, cap, s, strlen(s) + 1);
}

int
santa_dpkg_db_save(const struct santa_dpkg_db *db, const char *path)
{
	struct cache_header h;
	uint8_t digest[SANTA_SHA256_LEN];
	char tmp[PATH_MAX], *payload = NULL;
	size_t len = 0, cap = 0, i;
	uint32_t pkg;
	FILE *f = NULL;
	int r = -ENOMEM, fd = -1;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, CACHE_MAGIC, sizeof(CACHE_MAGIC));
	h.version = CACHE_VERSION;
	h.status = db->built_from[0];
	h.diversions = db->built_from[1];
	h.info = db->built_from[2];
	h.n_pkgs = db->n_pkgs;
	h.n_files = db->n_files;
	h.n_divs = db->n_divs;
	h.md5sums_missing = db->md5sums_missing;
	snprintf(h.admindir, sizeof(h.admindir), "%s", db->admindir);
	snprintf(h.root, sizeof(h.root), "%s", db->root);
	for (i = 0; i < db->n_pkgs; i++)
		if (put_str(&payload, &len, &cap, db->pkgs[i].name) < 0 ||
		    put_str(&payload, &len, &cap, db->pkgs[i].version) < 0 ||
		    put_str(&payload, &len, &cap, db->pkgs[i].arch) < 0)
			goto out;
	for (i = 0; i < db->n_files; i++) {
		pkg = db->files[i].pkg;
		if (put(&payload, &len, &cap, &pkg, sizeof(pkg)) < 0 ||
		    put(&payload, &len, &cap, db->files[i].md5, 16) < 0 ||
		    put_str(&payload, &len, &cap, db->files[i].path) < 0)
			goto out;
	}
	for (i = 0; i < db->n_divs; i++)
		if (put_str(&payload, &len, &cap, db->divs[i].from) < 0 ||
		    put_str(&payload, &len, &cap, db->divs[i].to) < 0 ||
		    put_str(&payload, &len, &cap, db->divs[i].package) < 0)
			goto out;
	h.payload_len = len;
	r = santa_sha256_buf(payload ? payload : "", len, digest);
	if (r < 0)
		goto out;
	/* Written aside and renamed: a reader sees the old file or the whole new one. */
	r = -ENAMETOOLONG;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = -errno;
		goto out;
	}
	fd = -1;
	if (fwrite(&h, sizeof(h), 1, f) != 1 || (len && fwrite(payload, len, 1, f) != 1) ||
	    fwrite(digest, sizeof(digest), 1, f) != 1 || fflush(f) != 0 || fsync(fileno(f)) < 0) {
		r = -EIO;
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		r = -EIO;
		goto out;
	}
	f = NULL;
	r = rename(tmp, path) < 0 ? -errno : 0;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		unlink(tmp);
	free(payload);
	return r;
}

/* A NUL-terminated string at *p before end, or NULL: the cache is not to be trusted blindly. */
static const char *
take_str(const char **p, const char *end)
{
	const char *s = *p, *nul = memchr(s, '\0', (size_t)(end - s));

	if (!nul)
		return NULL;
	*p = nul + 1;
	return s;
}

/*
 * The view from the cache at path, if it was built from the very files dpkg
 * has now (same stamps, same admindir and root) and its digest holds.
 * Returns 0, or -ESTALE / -EBADMSG / -errno: the caller builds the view.
 */
static int
load_cache(struct santa_dpkg_db *db, const char *path)
{
	struct cache_header h, now;
	uint8_t digest[SANTA_SHA256_LEN];
	const char *p, *end;
	char *buf = NULL;
	size_t len = 0, i;
	int r;

	r = santa_read_index_file(path, CACHE_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (len < sizeof(h) + SANTA_SHA256_LEN)
		goto out;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, CACHE_MAGIC, sizeof(CACHE_MAGIC)) != 0 || h.version != CACHE_VERSION ||
	    h.payload_len != len - sizeof(h) - SANTA_SHA256_LEN ||
	    h.n_pkgs > SANTA_DPKG_PACKAGES_MAX || h.n_files > SANTA_DPKG_FILES_MAX ||
	    h.n_divs > h.payload_len)
		goto out;
	h.admindir[sizeof(h.admindir) - 1] = h.root[sizeof(h.root) - 1] = '\0';
	memset(&now, 0, sizeof(now));
	stamps_of(db->admindir, &now);
	r = -ESTALE;
	if (strcmp(h.admindir, db->admindir) != 0 || strcmp(h.root, db->root) != 0 ||
	    memcmp(&h.status, &now.status, sizeof(h.status)) != 0 ||
	    memcmp(&h.diversions, &now.diversions, sizeof(h.diversions)) != 0 ||
	    memcmp(&h.info, &now.info, sizeof(h.info)) != 0)
		goto out;
	r = -EBADMSG;
	if (santa_sha256_buf(buf + sizeof(h), (size_t)h.payload_len, digest) < 0 ||
	    memcmp(digest, buf + sizeof(h) + h.payload_len, SANTA_SHA256_LEN) != 0)
		goto out;
	p = buf + sizeof(h);
	end = p + h.payload_len;
	for (i = 0; i < h.n_pkgs; i++) {
		const char *name = take_str(&p, end), *version = name ? take_str(&p, end) : NULL;
		const char *arch = version ? take_str(&p, end) : NULL;
		struct santa_dpkg_package *pk;

		if (!arch || grow((void **)&db->pkgs, &db->cap_pkgs, db->n_pkgs + 1, sizeof(*db->pkgs)) < 0)
			goto out;
		pk = &db->pkgs[db->n_pkgs++];
		pk->name = arena_strndup(db, name, strlen(name));
		pk->version = arena_strndup(db, version, strlen(version));
		pk->arch = arena_strndup(db, arch, strlen(arch));
		if (!pk->name || !pk->version || !pk->arch)
			goto out;
	}
	if (index_packages(db) < 0)
		goto out;
	for (i = 0; i < h.n_files; i++) {
		uint32_t pkg;
		uint8_t md5[16];
		const char *file;

		if ((size_t)(end - p) < sizeof(pkg) + 16)
			goto out;
		memcpy(&pkg, p, sizeof(pkg));
		memcpy(md5, p + sizeof(pkg), 16);
		p += sizeof(pkg) + 16;
		file = take_str(&p, end);
		if (!file || pkg >= db->n_pkgs || add_file(db, pkg, file, md5) < 0)
			goto out;
	}
	if (h.n_divs) {
		if (table_new(&db->div_buckets, &db->div_bucket_count, (size_t)h.n_divs) < 0 ||
		    !(db->divs = calloc((size_t)h.n_divs, sizeof(*db->divs))))
			goto out;
		for (i = 0; i < h.n_divs; i++) {
			struct diversion *d = &db->divs[i];
			const char *from = take_str(&p, end), *to = from ? take_str(&p, end) : NULL;
			const char *package = to ? take_str(&p, end) : NULL;
			size_t b;

			if (!package)
				goto out;
			d->from = arena_strndup(db, from, strlen(from));
			d->to = arena_strndup(db, to, strlen(to));
			d->package = arena_strndup(db, package, strlen(package));
			if (!d->from || !d->to || !d->package)
				goto out;
			b = hash_str(d->from, HASH_SEED) & (db->div_bucket_count - 1);
			d->next = db->div_buckets[b];
			db->div_buckets[b] = (uint32_t)++db->n_divs;
		}
	}
	if (p != end)
		goto out;
	db->md5sums_missing = (size_t)h.md5sums_missing;
	db->from_cache = true;
	r = 0;
out:
	free(buf);
	return r;
}

/* Shrinks to fit (a failed realloc keeps the larger block). */
static void
shrink(void **array, size_t *cap, size_t n, size_t elem)
{
	void *p;

	if (n == 0 || n >= *cap)
		return;
	p = realloc(*array, n * elem);
	if (p) {
		*array = p;
		*cap = n;
	}
}

/*
 * The view is built: what only the build needed goes, and the arrays that
 * grew by doubling shrink to their size. The view in memory is then what a
 * view read from the cache is, however many files and directories dpkg lists.
 */
static void
built(struct santa_dpkg_db *db)
{
	arena_free(&db->scratch, &db->scratch_bytes);
	free(db->dirs);
	db->dirs = NULL;
	db->n_dirs = db->cap_dirs = 0;
	free(db->dir_buckets);
	db->dir_buckets = NULL;
	db->dir_bucket_count = 0;
	free(db->conffiles);
	db->conffiles = NULL;
	db->cap_conffiles = 0;
	shrink((void **)&db->files, &db->cap_files, db->n_files, sizeof(*db->files));
	shrink((void **)&db->pkgs, &db->cap_pkgs, db->n_pkgs, sizeof(*db->pkgs));
}

int
santa_dpkg_db_load(const struct santa_dpkg_paths *paths, struct santa_dpkg_db **out, char *why,
		   size_t why_size)
{
	struct santa_deb822_field fields[64];
	struct santa_dpkg_db *db = calloc(1, sizeof(*db));
	char path[PATH_MAX], *buf = NULL;
	struct santa_deb822 rd;
	size_t len = 0, i;
	int r, n;

	*out = NULL;
	if (!db)
		return -ENOMEM;
	if (snprintf(db->root, sizeof(db->root), "%s", paths->root ? paths->root : "") >=
	    (int)sizeof(db->root)) {
		snprintf(why, why_size, "dpkg root too long");
		r = -ENAMETOOLONG;
		goto out;
	}
	db->root_len = strlen(db->root);
	while (db->root_len && db->root[db->root_len - 1] == '/')
		db->root[--db->root_len] = '\0';
	snprintf(db->admindir, sizeof(db->admindir), "%s", paths->admindir);
	r = table_new(&db->dir_buckets, &db->dir_bucket_count, 4096);
	if (r < 0)
		goto out;
	r = table_new(&db->file_buckets, &db->file_bucket_count, 4096);
	if (r < 0)
		goto out;

	{
		/* Before anything is read: a change meanwhile makes this view's cache stale. */
		struct cache_header before;

		memset(&before, 0, sizeof(before));
		stamps_of(db->admindir, &before);
		db->built_from[0] = before.status;
		db->built_from[1] = before.diversions;
		db->built_from[2] = before.info;
	}
	if (paths->cache_path) {
		struct santa_dpkg_db *cached = calloc(1, sizeof(*cached));

		if (cached) {
			memcpy(cached->root, db->root, sizeof(db->root));
			cached->root_len = db->root_len;
			memcpy(cached->admindir, db->admindir, sizeof(db->admindir));
			memcpy(cached->built_from, db->built_from, sizeof(db->built_from));
			if (table_new(&cached->dir_buckets, &cached->dir_bucket_count, 16) == 0 &&
			    table_new(&cached->file_buckets, &cached->file_bucket_count, 4096) == 0 &&
			    load_cache(cached, paths->cache_path) == 0) {
				built(cached);
				*out = cached;
				r = 0;
				goto out;
			}
			santa_dpkg_db_free(cached);
		}
	}
	r = load_diversions(db, paths->admindir, why, why_size);
	if (r < 0)
		goto out;

	snprintf(path, sizeof(path), "%s/status", paths->admindir);
	r = santa_read_index_file(path, STATUS_MAX_BYTES, &buf, &len);
	if (r == -ENOENT) {
		/* No dpkg here (another distribution, a test): no package, nothing trusted. */
		db->no_status = true;
		*out = db;
		db = NULL;
		r = 0;
		goto out;
	}
	if (r < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(-r));
		goto out;
	}
	santa_deb822_init(&rd, buf, len);
	for (;;) {
		size_t line = rd.line;

		n = santa_deb822_next(&rd, fields, sizeof(fields) / sizeof(fields[0]));
		if (n == 0)
			break;
		if (n < 0) {
			/* dpkg would refuse to run with a broken status file; so do we. */
			snprintf(why, why_size, "%s: malformed paragraph at line %zu", path, line);
			r = -EBADMSG;
			goto out;
		}
		r = add_package(db, fields, (size_t)n);
		if (r < 0) {
			snprintf(why, why_size, "%s: %s", path,
				 r == -E2BIG ? "too many packages" : strerror(-r));
			goto out;
		}
	}
	r = index_packages(db);
	if (r < 0)
		goto out;
	for (i = 0; i < db->n_pkgs; i++) {
		r = load_md5sums(db, paths->admindir, (uint32_t)i);
		if (r == 0)
			r = load_conffiles(db, (uint32_t)i);
		if (r < 0) {
			snprintf(why, why_size, "%s/info/%s.md5sums: %s", paths->admindir,
				 db->pkgs[i].name,
				 r == -E2BIG ? "too many packaged programs" : strerror(-r));
			goto out;
		}
	}
	/* The next start with nothing changed reads this instead (a cold boot stats nothing). */
	if (paths->cache_path)
		db->cache_error = santa_dpkg_db_save(db, paths->cache_path);
	built(db);
	*out = db;
	db = NULL;
	r = 0;
out:
	free(buf);
	santa_dpkg_db_free(db);
	return r;
}

void
santa_dpkg_db_free(struct santa_dpkg_db *db)
{
	if (!db)
		return;
	arena_free(&db->arena, &db->arena_bytes);
	arena_free(&db->scratch, &db->scratch_bytes);
	free(db->pkgs);
	free(db->conffiles);
	free(db->pkg_buckets);
	free(db->pkg_next);
	free(db->files);
	free(db->file_buckets);
	free(db->divs);
	free(db->div_buckets);
	free(db->dirs);
	free(db->dir_buckets);
	free(db);
}

size_t
santa_dpkg_db_find(const struct santa_dpkg_db *db, const char *path, struct santa_dpkg_file *out,
		   size_t max)
{
	size_t found = 0;
	uint32_t i;

	for (i = db->file_buckets[hash_str(path, HASH_SEED) & (db->file_bucket_count - 1)]; i;
	     i = db->files[i - 1].next) {
		const struct file_rec *f = &db->files[i - 1];

		if (strcmp(f->path, path) != 0)
			continue;
		if (found < max) {
			out[found].package = &db->pkgs[f->pkg];
			memcpy(out[found].md5, f->md5, 16);
		}
		found++;
	}
	return found;
}

int
santa_dpkg_db_foreach_file(const struct santa_dpkg_db *db,
			   int (*fn)(const char *path, const struct santa_dpkg_package *pkg,
				     const uint8_t md5[16], void *userdata),
			   void *userdata)
{
	size_t i;
	int r;

	for (i = 0; i < db->n_files; i++) {
		r = fn(db->files[i].path, &db->pkgs[db->files[i].pkg], db->files[i].md5, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

long
santa_dpkg_db_package_index(const struct santa_dpkg_db *db, const struct santa_dpkg_package *pkg)
{
	if (!db->n_pkgs || pkg < db->pkgs || pkg >= db->pkgs + db->n_pkgs)
		return -1;
	return (long)(pkg - db->pkgs);
}

size_t
santa_dpkg_db_package_count(const struct santa_dpkg_db *db)
{
	return db->n_pkgs;
}

const struct santa_dpkg_package *
santa_dpkg_db_package_at(const struct santa_dpkg_db *db, size_t index)
{
	return index < db->n_pkgs ? &db->pkgs[index] : NULL;
}

long
santa_dpkg_db_find_package(const struct santa_dpkg_db *db, const char *name, const char *arch)
{
	uint32_t i;

	if (!db->n_pkgs)
		return -1;
	for (i = db->pkg_buckets[pkg_hash(name, arch) & (db->pkg_bucket_count - 1)]; i;
	     i = db->pkg_next[i - 1])
		if (strcmp(db->pkgs[i - 1].name, name) == 0 && strcmp(db->pkgs[i - 1].arch, arch) == 0)
			return (long)(i - 1);
	return -1;
}

int
santa_dpkg_db_foreach_package(const struct santa_dpkg_db *db,
			      int (*fn)(const struct santa_dpkg_package *pkg, void *userdata),
			      void *userdata)
{
	size_t i;
	int r;

	for (i = 0; i < db->n_pkgs; i++) {
		r = fn(&db->pkgs[i], userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

void
santa_dpkg_db_stats(const struct santa_dpkg_db *db, struct santa_dpkg_db_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->packages = db->n_pkgs;
	out->files = db->n_files;
	out->md5sums_missing = db->md5sums_missing;
	out->diversions = db->n_divs;
	out->no_status = db->no_status;
	out->from_cache = db->from_cache;
	out->cache_error = db->cache_error;
	out->memory_bytes = sizeof(*db) + db->arena_bytes + db->scratch_bytes +
			    db->cap_conffiles * sizeof(*db->conffiles) + db->cap_pkgs * sizeof(*db->pkgs) +
			    db->pkg_bucket_count * sizeof(uint32_t) + (db->n_pkgs + 1) * sizeof(uint32_t) +
			    db->cap_files * sizeof(*db->files) +
			    db->file_bucket_count * sizeof(uint32_t) + db->n_divs * sizeof(*db->divs) +
			    db->div_bucket_count * sizeof(uint32_t) + db->cap_dirs * sizeof(*db->dirs) +
			    db->dir_bucket_count * sizeof(uint32_t);
}
