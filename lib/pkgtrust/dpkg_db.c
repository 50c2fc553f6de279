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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "santa/deb822.h"
#include "santa/pkgtrust.h"

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

struct santa_dpkg_db {
	struct arena_block *arena;
	size_t arena_bytes;

	struct santa_dpkg_package *pkgs;
	size_t n_pkgs, cap_pkgs;
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
arena_strndup(struct santa_dpkg_db *db, const char *s, size_t len)
{
	struct arena_block *b = db->arena;
	char *p;

	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = db->arena;
		b->used = 0;
		b->size = size;
		db->arena = b;
		db->arena_bytes += sizeof(*b) + size;
	}
	p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
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
	d->listed = arena_strndup(db, key, strlen(key));
	d->canonical = canon ? arena_strndup(db, canon, strlen(canon)) : NULL;
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
	db->n_pkgs++;
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
		if (r < 0) {
			snprintf(why, why_size, "%s/info/%s.md5sums: %s", paths->admindir,
				 db->pkgs[i].name,
				 r == -E2BIG ? "too many packaged programs" : strerror(-r));
			goto out;
		}
	}
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
	struct arena_block *b, *next;

	if (!db)
		return;
	for (b = db->arena; b; b = next) {
		next = b->next;
		free(b);
	}
	free(db->pkgs);
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
	out->memory_bytes = sizeof(*db) + db->arena_bytes + db->cap_pkgs * sizeof(*db->pkgs) +
			    db->pkg_bucket_count * sizeof(uint32_t) + (db->n_pkgs + 1) * sizeof(uint32_t) +
			    db->cap_files * sizeof(*db->files) +
			    db->file_bucket_count * sizeof(uint32_t) + db->n_divs * sizeof(*db->divs) +
			    db->div_bucket_count * sizeof(uint32_t) + db->cap_dirs * sizeof(*db->dirs) +
			    db->dir_bucket_count * sizeof(uint32_t);
}
