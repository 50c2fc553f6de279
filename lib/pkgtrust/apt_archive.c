/*
 * The archives apt knows, each with the keys that verifiably signed its
 * Release and the (package, version, architecture) its verified Packages
 * indices list (santa/apt_archive.h).
 *
 * Loading runs in two passes so that lookups need no sorting: first every
 * Release is verified and the kept ones are numbered best first (platform,
 * then by name); then the indices are read archive by archive in that
 * order, so each entry's list of archives is built ascending, which is best
 * first, and a repeat from the same archive is always the list's last item.
 *
 * Entries live in an open-addressing hash table of 32-bit slots over an
 * array of small fixed records; their strings ("package\0version\0arch")
 * and long archive lists live in an arena freed at once.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "santa/apt_archive.h"
#include "santa/deb822.h"
#include "santa/sha256.h"

#define KEY_PART_MAX    256  /* package, version or architecture, with its NUL */
#define RELEASE_FIELDS  64   /* a Release paragraph has about 15 */
#define PACKAGE_FIELDS  64   /* Package comes first; Version and Architecture early */
#define REFS_MAX        4096 /* Packages entries kept from one Release's SHA256 */
#define LIST_INLINE     8    /* archives held inside an entry before the arena is used */
#define ARENA_CHUNK     (64u << 10)

_Static_assert(SANTA_APT_ARCHIVES_MAX <= 256, "archive numbers are kept in a uint8_t");
_Static_assert(SANTA_APT_ENTRIES_MAX < UINT32_MAX / 2, "slots hold entry numbers + 1 in 32 bits");

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	char data[];
};

struct arena {
	struct arena_chunk *head;
	size_t bytes; /* allocated, headers included */
};

struct apt_entry {
	const char *key; /* "package\0version\0arch" in the arena, key_len bytes */
	uint32_t hash;
	uint16_t key_len;
	uint16_t n; /* archives listing it */
	union {
		uint8_t inl[LIST_INLINE]; /* n <= LIST_INLINE */
		uint8_t *more;            /* in the arena: 16, then powers of two */
	} a;
};

struct santa_apt_index {
	struct santa_apt_archive *archives; /* best first: an entry's archive numbers index this */
	size_t n_archives;
	struct apt_entry *entries;
	size_t n_entries, cap_entries;
	uint32_t *slots; /* entry number + 1; 0 is empty */
	size_t n_slots;  /* a power of two, at least twice n_entries */
	struct arena arena;
	struct santa_apt_index_stats stats;
};

/* One Packages index a Release lists: its lists-file name part and what its bytes must be. */
struct release_ref {
	char *mangled; /* the path as apt names it in lists file names */
	uint8_t sha256[SANTA_SHA256_LEN];
	uint64_t size;
};

/* A Release file of the lists directory, while loading. */
struct release {
	const char *name; /* in the listing */
	size_t prefix_len;
	bool detached; /* Release + Release.gpg, not InRelease */
	int archive;   /* number in idx->archives, or -1: not kept */
	struct santa_apt_archive *ar;
	struct release_ref *refs;
	size_t n_refs;
};

struct listing {
	char **names; /* sorted */
	size_t n;
};

/* ---- small helpers ---- */

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t size;

	if (!c || c->size - c->used < n) {
		size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK - sizeof(*c);
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		a->bytes += sizeof(*c) + size;
		/* A big block goes behind the current chunk so that chunk's free space is still used. */
		if (n > ARENA_CHUNK / 4 && a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	c->used += n;
	return c->data + c->used - n;
}

static void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->bytes = 0;
}

static bool
has_suffix_n(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	return has_suffix_n(s, strlen(s), suffix);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
listing_has(const struct listing *l, const char *name)
{
	return l->n && bsearch(&name, l->names, l->n, sizeof(*l->names), cmp_str) != NULL;
}

static void
listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL;
	l->n = 0;
}

/*
 * The names in dir (sorted) that want() accepts, skipping directories.
 * Returns 0 or -errno.
 */
static int
listing_read(const char *dir, bool (*want)(const char *name), struct listing *out)
{
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	out->names = NULL;
	out->n = 0;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d)) != NULL) {
		char **names;

		if (de->d_name[0] == '.' || de->d_type == DT_DIR || !want(de->d_name))
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(out->names, cap * sizeof(*names));
			if (!names) {
				r = -ENOMEM;
				goto out;
			}
			out->names = names;
		}
		out->names[out->n] = strdup(de->d_name);
		if (!out->names[out->n]) {
			r = -ENOMEM;
			goto out;
		}
		out->n++;
	}
	if (errno) {
		r = -errno;
		goto out;
	}
	if (out->n)
		qsort(out->names, out->n, sizeof(*out->names), cmp_str);
out:
	closedir(d);
	if (r < 0)
		listing_free(out);
	return r;
}

static bool
want_keyring(const char *name)
{
	return has_suffix(name, ".gpg") || has_suffix(name, ".asc");
}

static char *
path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* FNV-1a: keys are short and this is not exposed to chosen collisions beyond signed archives. */
static uint32_t
key_hash(const char *key, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

/* ---- keyrings ---- */

/* Reads one keyring file into each ring given (b may be NULL); a bad file is counted, not fatal. */
static int
keyring_load_file(const char *path, struct santa_pgp_keyring *a, struct santa_pgp_keyring *b,
		  size_t *skipped)
{
	char *buf = NULL;
	size_t len;
	int r;

	r = santa_read_index_file(path, SANTA_APT_KEYRING_MAX_BYTES, &buf, &len);
	if (r == 0) {
		r = santa_pgp_keyring_parse(buf, len, a);
		if (r >= 0 && b)
			r = santa_pgp_keyring_parse(buf, len, b);
	}
	free(buf);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		(*skipped)++;
	return 0;
}

/* A keyring path: a file, or a directory whose *.gpg and *.asc files are read in name order. */
static int
keyring_load(const char *path, struct santa_pgp_keyring *a, struct santa_pgp_keyring *b,
	     size_t *skipped)
{
	struct listing l = { 0 };
	struct stat st;
	size_t i;
	int r = 0;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return keyring_load_file(path, a, b, skipped);
	r = listing_read(path, want_keyring, &l);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		(*skipped)++;
		return 0;
	}
	for (i = 0; i < l.n && r == 0; i++) {
		char *p = path_join(path, l.names[i]);

		r = p ? keyring_load_file(p, a, b, skipped) : -ENOMEM;
		free(p);
	}
	listing_free(&l);
	return r;
}

/* ---- Releases ---- */

/*
 * The name apt gives an index path in lists file names: apt's
 * URItoFileName quotes these characters (and controls, space, non-ASCII)
 * as %xx, then turns '/' into '_'.
 */
static char *
apt_mangle(const char *path, size_t len)
{
	static const char quoted[] = "\\|{}[]<>\"^~_=!@#$%*";
	char *out = malloc(3 * len + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c <= 0x20 || c >= 0x7f || strchr(quoted, c))
			o += sprintf(o, "%%%02x", c);
		else
			*o++ = c == '/' ? '_' : (char)c;
	}
	*o = '\0';
	return out;
}

static bool
is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * The Packages entries of a Release's SHA256 field: lines "<hex> <size>
 * <path>". Other paths (Contents, Translation, Packages.xz) are not
 * kept; malformed lines are ignored, as apt ignores them.
 */
static int
release_parse_sha256(const struct santa_deb822_field *f, struct release *rel)
{
	const char *p = f->value, *end = f->value + f->value_len;
	size_t cap = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *hex, *path;
		size_t hex_len, path_len;
		uint64_t size = 0;
		char hexbuf[SANTA_SHA256_HEX_LEN + 1];
		struct release_ref *ref;
		bool digits = false, overflow = false;

		if (!eol)
			eol = end;
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		for (hex = p; p < eol && is_hex_digit(*p); p++)
			;
		hex_len = (size_t)(p - hex);
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		for (; p < eol && *p >= '0' && *p <= '9'; p++) {
			digits = true;
			if (size > (UINT64_MAX - 9) / 10)
				overflow = true;
			size = size * 10 + (uint64_t)(*p - '0');
		}
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		for (path = p; p < eol && *p != ' ' && *p != '\t' && *p != '\r'; p++)
			;
		path_len = (size_t)(p - path);
		p = eol < end ? eol + 1 : end;

		if (hex_len != SANTA_SHA256_HEX_LEN || !digits || overflow || path_len == 0)
			continue;
		if (!(path_len == 8 && memcmp(path, "Packages", 8) == 0) &&
		    !has_suffix_n(path, path_len, "/Packages"))
			continue;
		if (rel->n_refs == REFS_MAX)
			break;
		if (rel->n_refs == cap) {
			struct release_ref *refs;

			cap = cap ? cap * 2 : 8;
			refs = realloc(rel->refs, cap * sizeof(*refs));
			if (!refs)
				return -ENOMEM;
			rel->refs = refs;
		}
		ref = &rel->refs[rel->n_refs];
		memcpy(hexbuf, hex, SANTA_SHA256_HEX_LEN);
		hexbuf[SANTA_SHA256_HEX_LEN] = '\0';
		if (santa_sha256_from_hex(hexbuf, ref->sha256) < 0)
			continue;
		ref->size = size;
		ref->mangled = apt_mangle(path, path_len);
		if (!ref->mangled)
			return -ENOMEM;
		rel->n_refs++;
	}
	return 0;
}

/* The Release paragraph of the signed text. Returns 0, -EBADMSG (not kept) or -ENOMEM. */
static int
release_parse(const char *text, size_t text_len, struct release *rel)
{
	struct santa_deb822_field fields[RELEASE_FIELDS];
	const struct santa_deb822_field *f;
	struct santa_apt_archive *ar = rel->ar;
	struct santa_deb822 rd;
	int n;

	santa_deb822_init(&rd, text, text_len);
	n = santa_deb822_next(&rd, fields, RELEASE_FIELDS);
	if (n <= 0)
		return -EBADMSG;
	/* A field too long to hold is refused rather than cut: a cut name could name another archive. */
	if (!santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "Origin"), ar->origin, sizeof(ar->origin)) ||
	    !santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "Label"), ar->label, sizeof(ar->label)) ||
	    !santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "Suite"), ar->suite, sizeof(ar->suite)) ||
	    !santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "Codename"), ar->codename,
			       sizeof(ar->codename)))
		return -EBADMSG;
	f = santa_deb822_get(fields, (size_t)n, "SHA256");
	return f ? release_parse_sha256(f, rel) : 0;
}

/* The signer record of a key that made a good signature. */
static void
signer_fill(struct santa_apt_signer *s, const struct santa_pgp_key *key,
	    const struct santa_pgp_keyring *platform)
{
	const uint8_t *prim = key->primary_fpr_len ? key->primary_fpr : key->fpr;
	size_t prim_len = key->primary_fpr_len ? key->primary_fpr_len : key->fpr_len, hex_len;

	memset(s, 0, sizeof(*s));
	santa_pgp_hex(key->fpr, key->fpr_len, s->fpr_hex);
	santa_pgp_hex(prim, prim_len, s->primary_fpr_hex);
	santa_sha256_to_hex(key->sha256, s->certificate);
	hex_len = strlen(s->primary_fpr_hex);
	if (hex_len >= SANTA_TEAMID_LEN)
		memcpy(s->team_id, s->primary_fpr_hex + hex_len - SANTA_TEAMID_LEN, SANTA_TEAMID_LEN);
	snprintf(s->uid, sizeof(s->uid), "%s", key->uid);
	s->platform = platform->n && santa_pgp_keyring_find(platform, key->fpr, key->fpr_len) != NULL;
}

/*
 * Verifies one Release and reads its signed text. Returns 1 (kept: rel->ar
 * filled), 0 (no good signature), -EBADMSG (signed, but unreadable or
 * malformed) or -ENOMEM.
 */
static int
release_load(const char *lists_dir, struct release *rel, const struct santa_pgp_keyring *trusted,
	     const struct santa_pgp_keyring *platform)
{
	const struct santa_pgp_key *good[SANTA_PGP_SIGS_MAX];
	char *path = NULL, *sig_path = NULL, *buf = NULL, *sig = NULL;
	const char *text = NULL;
	size_t len, sig_len, text_len = 0, i, j;
	int r, n;

	path = path_join(lists_dir, rel->name);
	if (!path) {
		r = -ENOMEM;
		goto out;
	}
	r = santa_read_index_file(path, SANTA_APT_RELEASE_MAX_BYTES, &buf, &len);
	if (r < 0)
		goto out;
	if (rel->detached) {
		if (asprintf(&sig_path, "%s.gpg", path) < 0) {
			sig_path = NULL;
			r = -ENOMEM;
			goto out;
		}
		r = santa_read_index_file(sig_path, SANTA_APT_RELEASE_MAX_BYTES, &sig, &sig_len);
		if (r < 0)
			goto out;
		n = santa_pgp_verify_detached(sig, sig_len, buf, len, trusted, good, SANTA_PGP_SIGS_MAX);
		text = buf;
		text_len = len;
	} else {
		n = santa_pgp_verify_clearsigned(buf, len, trusted, good, SANTA_PGP_SIGS_MAX, &text,
						 &text_len);
	}
	if (n == -ENOMEM) {
		r = n;
		goto out;
	}
	if (n <= 0 || !text) {
		r = 0;
		goto out;
	}
	if ((size_t)n > SANTA_PGP_SIGS_MAX)
		n = SANTA_PGP_SIGS_MAX;

	rel->ar = calloc(1, sizeof(*rel->ar));
	if (!rel->ar) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(rel->ar->release_name, sizeof(rel->ar->release_name), "%s", rel->name);
	/* One signer per key: two signatures by one key say nothing more. */
	for (i = 0; i < (size_t)n; i++) {
		struct santa_apt_signer *s = &rel->ar->signers[rel->ar->n_signers];

		signer_fill(s, good[i], platform);
		for (j = 0; j < rel->ar->n_signers; j++)
			if (strcmp(rel->ar->signers[j].fpr_hex, s->fpr_hex) == 0)
				break;
		if (j < rel->ar->n_signers)
			continue;
		rel->ar->platform = rel->ar->platform || s->platform;
		rel->ar->n_signers++;
	}
	r = release_parse(text, text_len, rel);
	if (r == 0)
		r = 1;
out:
	if (r < 0 && r != -ENOMEM)
		r = -EBADMSG;
	if (r <= 0) {
		free(rel->ar);
		rel->ar = NULL;
	}
	free(path);
	free(sig_path);
	free(buf);
	free(sig);
	return r;
}

static bool
is_release_name(const char *name, size_t *prefix_len, bool *detached)
{
	size_t n = strlen(name);

	if (has_suffix_n(name, n, "_InRelease")) {
		*prefix_len = n - strlen("_InRelease");
		*detached = false;
		return *prefix_len > 0;
	}
	if (has_suffix_n(name, n, "_Release")) {
		*prefix_len = n - strlen("_Release");
		*detached = true;
		return *prefix_len > 0;
	}
	return false;
}

static int
cmp_release_rank(const void *pa, const void *pb)
{
	const struct release *a = *(const struct release *const *)pa;
	const struct release *b = *(const struct release *const *)pb;

	if (a->ar->platform != b->ar->platform)
		return a->ar->platform ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* ---- the table ---- */

static struct apt_entry *
table_lookup(const struct santa_apt_index *idx, const char *key, size_t key_len, uint32_t hash,
	     size_t *slot)
{
	size_t mask = idx->n_slots - 1, i;

	if (!idx->n_slots)
		return NULL;
	for (i = hash & mask; idx->slots[i]; i = (i + 1) & mask) {
		struct apt_entry *e = &idx->entries[idx->slots[i] - 1];

		if (e->hash == hash && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
			return e;
	}
	if (slot)
		*slot = i;
	return NULL;
}

/* Doubles the slots (rehashing) when the table would pass half full. */
static int
table_reserve(struct santa_apt_index *idx)
{
	size_t n = idx->n_slots ? idx->n_slots * 2 : 1024, i, j;
	uint32_t *slots;

	if ((idx->n_entries + 1) * 2 <= idx->n_slots)
		return 0;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < idx->n_entries; i++) {
		for (j = idx->entries[i].hash & (n - 1); slots[j]; j = (j + 1) & (n - 1))
			;
		slots[j] = (uint32_t)(i + 1);
	}
	free(idx->slots);
	idx->slots = slots;
	idx->n_slots = n;
	return 0;
}

static int
entry_append(struct santa_apt_index *idx, struct apt_entry *e, uint8_t archive)
{
	uint8_t *list = e->n <= LIST_INLINE ? e->a.inl : e->a.more, *more;

	/* Archives come in ascending order: a repeat is the last one. */
	if (e->n && list[e->n - 1] == archive)
		return 0;
	if (e->n < LIST_INLINE) {
		e->a.inl[e->n++] = archive;
		return 0;
	}
	if (e->n == LIST_INLINE || (e->n >= 16 && (e->n & (e->n - 1)) == 0)) {
		more = arena_alloc(&idx->arena, e->n == LIST_INLINE ? 16 : 2u * e->n);
		if (!more)
			return -ENOMEM;
		memcpy(more, list, e->n);
		e->a.more = more;
	}
	e->a.more[e->n++] = archive;
	return 0;
}

static int
table_add(struct santa_apt_index *idx, const char *key, size_t key_len, uint8_t archive)
{
	uint32_t hash = key_hash(key, key_len);
	struct apt_entry *e;
	size_t slot = 0;
	char *k;
	int r;

	e = table_lookup(idx, key, key_len, hash, &slot);
	if (e)
		return entry_append(idx, e, archive);
	if (idx->n_entries >= SANTA_APT_ENTRIES_MAX) {
		idx->stats.entries_dropped++;
		return 0;
	}
	if (idx->n_entries == idx->cap_entries) {
		size_t cap = idx->cap_entries ? idx->cap_entries * 2 : 256;
		struct apt_entry *entries = realloc(idx->entries, cap * sizeof(*entries));

		if (!entries)
			return -ENOMEM;
		idx->entries = entries;
		idx->cap_entries = cap;
	}
	if ((idx->n_entries + 1) * 2 > idx->n_slots) {
		r = table_reserve(idx);
		if (r < 0)
			return r;
		(void)table_lookup(idx, key, key_len, hash, &slot);
	}
	k = arena_alloc(&idx->arena, key_len);
	if (!k)
		return -ENOMEM;
	memcpy(k, key, key_len);
	e = &idx->entries[idx->n_entries];
	memset(e, 0, sizeof(*e));
	e->key = k;
	e->key_len = (uint16_t)key_len;
	e->hash = hash;
	e->a.inl[e->n++] = archive;
	idx->slots[slot] = (uint32_t)(++idx->n_entries);
	return 0;
}

/* "package\0version\0arch" from three strings; 0 when a part is empty or too long. */
static size_t
key_build(char key[3 * KEY_PART_MAX], const char *package, const char *version, const char *arch)
{
	size_t a = strlen(package), b = strlen(version), c = strlen(arch);

	if (!a || !b || !c || a >= KEY_PART_MAX || b >= KEY_PART_MAX || c >= KEY_PART_MAX)
		return 0;
	memcpy(key, package, a + 1);
	memcpy(key + a + 1, version, b + 1);
	memcpy(key + a + b + 2, arch, c);
	return a + b + c + 2;
}

/* ---- Packages indices ---- */

/* The entries of one verified Packages index. */
static int
packages_parse(struct santa_apt_index *idx, const char *buf, size_t len, uint8_t archive,
	       santa_apt_wanted_fn wanted, void *userdata)
{
	struct santa_deb822_field fields[PACKAGE_FIELDS];
	char key[3 * KEY_PART_MAX];
	struct santa_deb822 rd;
	int n, r;

	santa_deb822_init(&rd, buf, len);
	while ((n = santa_deb822_next(&rd, fields, PACKAGE_FIELDS)) != 0) {
		const struct santa_deb822_field *pf = NULL, *vf = NULL, *af = NULL;
		char *ver, *arch;
		size_t i, a, b, c;

		if (n < 0) {
			idx->stats.paragraphs_bad++;
			continue;
		}
		/* One pass over the fields: this runs for every paragraph of every index. */
		for (i = 0; i < (size_t)n; i++) {
			const struct santa_deb822_field *f = &fields[i];

			if (f->name_len == 7 && !pf && strncasecmp(f->name, "Package", 7) == 0)
				pf = f;
			else if (f->name_len == 7 && !vf && strncasecmp(f->name, "Version", 7) == 0)
				vf = f;
			else if (f->name_len == 12 && !af && strncasecmp(f->name, "Architecture", 12) == 0)
				af = f;
		}
		if (!pf || !vf || !af || !santa_deb822_copy(pf, key, KEY_PART_MAX)) {
			idx->stats.paragraphs_bad++;
			continue;
		}
		a = strlen(key);
		ver = key + a + 1;
		if (!santa_deb822_copy(vf, ver, KEY_PART_MAX)) {
			idx->stats.paragraphs_bad++;
			continue;
		}
		b = strlen(ver);
		arch = ver + b + 1;
		if (!santa_deb822_copy(af, arch, KEY_PART_MAX)) {
			idx->stats.paragraphs_bad++;
			continue;
		}
		c = strlen(arch);
		if (!a || !b || !c) {
			idx->stats.paragraphs_bad++;
			continue;
		}
		if (wanted && !wanted(key, ver, arch, userdata))
			continue;
		r = table_add(idx, key, a + b + c + 2, archive);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Compression suffixes apt gives lists files, and whether santa_read_index_file reads them. */
static const struct {
	const char *suffix;
	bool readable;
} index_suffixes[] = {
	{ ".lz4", true }, { ".gz", true }, { ".xz", true },
	{ ".zst", false }, { ".bz2", false }, { ".lzma", false },
};

/* The length of name without its compression suffix; *readable says whether it can be read. */
static size_t
index_base_len(const char *name, bool *readable)
{
	size_t n = strlen(name), i;

	*readable = true;
	for (i = 0; i < sizeof(index_suffixes) / sizeof(index_suffixes[0]); i++) {
		if (has_suffix_n(name, n, index_suffixes[i].suffix)) {
			*readable = index_suffixes[i].readable;
			return n - strlen(index_suffixes[i].suffix);
		}
	}
	return n;
}

static bool
is_packages_name(const char *name)
{
	bool readable;
	size_t n = index_base_len(name, &readable);

	return has_suffix_n(name, n, "_Packages");
}

/* The Release whose prefix names this lists file, the longest one when several do. */
static struct release *
index_owner(struct release *rels, size_t n_rels, const char *name)
{
	struct release *best = NULL;
	size_t i;

	for (i = 0; i < n_rels; i++) {
		struct release *rel = &rels[i];

		if (strncmp(name, rel->name, rel->prefix_len) == 0 && name[rel->prefix_len] == '_' &&
		    (!best || rel->prefix_len > best->prefix_len))
			best = rel;
	}
	return best;
}

/*
 * Reads one Packages lists file of a kept archive if its Release vouches for
 * it. Returns 1 (used), 0 (rejected) or -ENOMEM.
 */
static int
index_load(struct santa_apt_index *idx, const char *lists_dir, const char *name,
	   const struct release *rel, santa_apt_wanted_fn wanted, void *userdata)
{
	const struct release_ref *ref = NULL;
	const char *part = name + rel->prefix_len + 1;
	uint8_t digest[SANTA_SHA256_LEN];
	char *path = NULL, *buf = NULL;
	size_t part_len, len, i;
	bool readable;
	int r;

	part_len = index_base_len(part, &readable);
	for (i = 0; i < rel->n_refs; i++)
		if (strlen(rel->refs[i].mangled) == part_len &&
		    memcmp(rel->refs[i].mangled, part, part_len) == 0) {
			ref = &rel->refs[i];
			break;
		}
	if (!ref || !readable || ref->size > SANTA_APT_INDEX_MAX_BYTES)
		return 0;
	path = path_join(lists_dir, name);
	if (!path)
		return -ENOMEM;
	/* The Release's size is the cap: more bytes could not match anyway. */
	r = santa_read_index_file(path, (size_t)ref->size, &buf, &len);
	if (r < 0) {
		r = r == -ENOMEM ? r : 0;
		goto out;
	}
	if (len != ref->size || santa_sha256_buf(buf, len, digest) < 0 ||
	    memcmp(digest, ref->sha256, sizeof(digest)) != 0) {
		r = 0;
		goto out;
	}
	r = packages_parse(idx, buf, len, (uint8_t)rel->archive, wanted, userdata);
	if (r == 0)
		r = 1;
out:
	free(path);
	free(buf);
	return r;
}

/* ---- the index ---- */

static bool
want_lists_file(const char *name)
{
	size_t prefix_len;
	bool detached;

	return is_release_name(name, &prefix_len, &detached) || is_packages_name(name) ||
	       has_suffix(name, "_Release.gpg");
}

int
santa_apt_index_load(const struct santa_apt_paths *paths, santa_apt_wanted_fn wanted,
		     void *userdata, struct santa_apt_index **out, char *why, size_t why_size)
{
	struct santa_pgp_keyring trusted = { 0 }, platform = { 0 };
	struct santa_apt_index *idx = NULL;
	struct release *rels = NULL, **kept = NULL, **owners = NULL;
	struct listing l = { 0 };
	size_t n_rels = 0, n_kept = 0, i, k;
	const char *const *kr;
	int r;

	*out = NULL;
	if (why_size)
		why[0] = '\0';
	idx = calloc(1, sizeof(*idx));
	if (!idx) {
		r = -ENOMEM;
		goto out;
	}

	r = listing_read(paths->lists_dir, want_lists_file, &l);
	if (r < 0) {
		snprintf(why, why_size, "cannot read the apt lists directory %s: %s", paths->lists_dir,
			 strerror(-r));
		goto out;
	}
	for (kr = paths->keyrings; kr && *kr && r == 0; kr++)
		r = keyring_load(*kr, &trusted, NULL, &idx->stats.keyrings_skipped);
	for (kr = paths->platform_keyrings; kr && *kr && r == 0; kr++)
		r = keyring_load(*kr, &trusted, &platform, &idx->stats.keyrings_skipped);
	if (r < 0) {
		snprintf(why, why_size, "cannot read the keyrings: %s", strerror(-r));
		goto out;
	}

	/* Pass 1: which Releases there are, and which are kept. */
	rels = calloc(l.n ? l.n : 1, sizeof(*rels));
	if (!rels) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		struct release *rel = &rels[n_rels];
		char sibling[NAME_MAX + 16];

		if (!is_release_name(l.names[i], &rel->prefix_len, &rel->detached))
			continue;
		rel->name = l.names[i];
		rel->archive = -1;
		/* apt uses the InRelease when both are there: the Release is not a second archive. */
		if (rel->detached) {
			snprintf(sibling, sizeof(sibling), "%.*s_InRelease", (int)rel->prefix_len, rel->name);
			if (listing_has(&l, sibling))
				continue;
		}
		n_rels++;
		idx->stats.releases_seen++;
		if (rel->detached) {
			snprintf(sibling, sizeof(sibling), "%s.gpg", rel->name);
			if (!listing_has(&l, sibling)) {
				idx->stats.releases_unsigned++;
				continue;
			}
		}
		if (n_kept == SANTA_APT_ARCHIVES_MAX) {
			idx->stats.releases_rejected++;
			continue;
		}
		r = release_load(paths->lists_dir, rel, &trusted, &platform);
		if (r == -ENOMEM)
			goto out;
		if (r == 0)
			idx->stats.releases_unsigned++;
		else if (r < 0)
			idx->stats.releases_rejected++;
		else
			n_kept++;
	}

	/* Numbered best first: an entry's archives then need no sorting. */
	kept = calloc(n_kept ? n_kept : 1, sizeof(*kept));
	idx->archives = calloc(n_kept ? n_kept : 1, sizeof(*idx->archives));
	if (!kept || !idx->archives) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0, k = 0; i < n_rels; i++)
		if (rels[i].ar)
			kept[k++] = &rels[i];
	if (n_kept)
		qsort(kept, n_kept, sizeof(*kept), cmp_release_rank);
	for (k = 0; k < n_kept; k++) {
		kept[k]->archive = (int)k;
		idx->archives[k] = *kept[k]->ar;
	}
	idx->n_archives = n_kept;
	idx->stats.releases_used = n_kept;

	/*
	 * Pass 2: the Packages indices, archive by archive in that order. A
	 * Packages file no Release names is rejected too; those of Releases not
	 * kept are not counted again.
	 */
	owners = calloc(l.n ? l.n : 1, sizeof(*owners));
	if (!owners) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (!is_packages_name(l.names[i]))
			continue;
		owners[i] = index_owner(rels, n_rels, l.names[i]);
		if (!owners[i])
			idx->stats.indices_rejected++;
	}
	for (k = 0; k < n_kept; k++) {
		for (i = 0; i < l.n; i++) {
			if (owners[i] != kept[k])
				continue;
			r = index_load(idx, paths->lists_dir, l.names[i], owners[i], wanted, userdata);
			if (r < 0)
				goto out;
			if (r)
				idx->stats.indices_used++;
			else
				idx->stats.indices_rejected++;
		}
	}

	if (idx->n_entries < idx->cap_entries && idx->n_entries) {
		struct apt_entry *entries = realloc(idx->entries, idx->n_entries * sizeof(*entries));

		if (entries) {
			idx->entries = entries;
			idx->cap_entries = idx->n_entries;
		}
	}
	idx->stats.entries = idx->n_entries;
	idx->stats.memory_bytes = sizeof(*idx) + n_kept * sizeof(*idx->archives) +
				  idx->cap_entries * sizeof(*idx->entries) +
				  idx->n_slots * sizeof(*idx->slots) + idx->arena.bytes;
	*out = idx;
	idx = NULL;
	r = 0;
out:
	if (r == -ENOMEM && why_size && !why[0])
		snprintf(why, why_size, "out of memory reading the apt lists");
	for (i = 0; rels && i < n_rels; i++) {
		for (k = 0; k < rels[i].n_refs; k++)
			free(rels[i].refs[k].mangled);
		free(rels[i].refs);
		free(rels[i].ar);
	}
	free(rels);
	free(kept);
	free(owners);
	listing_free(&l);
	santa_pgp_keyring_free(&trusted);
	santa_pgp_keyring_free(&platform);
	santa_apt_index_free(idx);
	return r;
}

void
santa_apt_index_free(struct santa_apt_index *idx)
{
	if (!idx)
		return;
	arena_free(&idx->arena);
	free(idx->archives);
	free(idx->entries);
	free(idx->slots);
	free(idx);
}

size_t
santa_apt_index_find(const struct santa_apt_index *idx, const char *package, const char *version,
		     const char *arch, const struct santa_apt_archive **out, size_t max)
{
	char key[3 * KEY_PART_MAX];
	const struct apt_entry *e;
	const uint8_t *list;
	size_t key_len, i;

	key_len = key_build(key, package, version, arch);
	if (!key_len)
		return 0;
	e = table_lookup(idx, key, key_len, key_hash(key, key_len), NULL);
	if (!e)
		return 0;
	list = e->n <= LIST_INLINE ? e->a.inl : e->a.more;
	for (i = 0; i < e->n && i < max; i++)
		out[i] = &idx->archives[list[i]];
	return e->n;
}

size_t
santa_apt_index_find_name(const struct santa_apt_index *idx, const char *package, const char *arch,
			  const struct santa_apt_archive **out, size_t max)
{
	bool seen[SANTA_APT_ARCHIVES_MAX] = { false };
	size_t name_len = strlen(package) + 1, i, j, n = 0;

	/* A scan: this is the rare path (an installed version no archive lists any more). */
	for (i = 0; i < idx->n_entries; i++) {
		const struct apt_entry *e = &idx->entries[i];
		const uint8_t *list;
		const char *e_arch;

		if (e->key_len < name_len || memcmp(e->key, package, name_len) != 0)
			continue;
		/* "package\0version\0arch", the arch running to key_len (no NUL). */
		e_arch = memchr(e->key + name_len, '\0', e->key_len - name_len);
		if (!e_arch)
			continue;
		e_arch++;
		if (arch && ((size_t)(e->key + e->key_len - e_arch) != strlen(arch) ||
			     memcmp(e_arch, arch, strlen(arch)) != 0))
			continue;
		list = e->n <= LIST_INLINE ? e->a.inl : e->a.more;
		for (j = 0; j < e->n; j++)
			seen[list[j]] = true;
	}
	/* Archive numbers are best first: report them in that order. */
	for (i = 0; i < idx->n_archives; i++) {
		if (!seen[i])
			continue;
		if (n < max)
			out[n] = &idx->archives[i];
		n++;
	}
	return n;
}

int
santa_apt_index_foreach(const struct santa_apt_index *idx,
			int (*fn)(const char *package, const char *version, const char *arch,
				  size_t arch_len, const uint8_t *archives, size_t n, void *userdata),
			void *userdata)
{
	size_t i;
	int r;

	for (i = 0; i < idx->n_entries; i++) {
		const struct apt_entry *e = &idx->entries[i];
		const char *version = e->key + strlen(e->key) + 1;
		const char *arch = version + strlen(version) + 1;

		r = fn(e->key, version, arch, (size_t)(e->key + e->key_len - arch),
		       e->n <= LIST_INLINE ? e->a.inl : e->a.more, e->n, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

const struct santa_apt_archive *
santa_apt_index_archive(const struct santa_apt_index *idx, size_t number)
{
	return number < idx->n_archives ? &idx->archives[number] : NULL;
}

size_t
santa_apt_index_archive_count(const struct santa_apt_index *idx)
{
	return idx->n_archives;
}

void
santa_apt_index_stats(const struct santa_apt_index *idx, struct santa_apt_index_stats *out)
{
	*out = idx->stats;
}
