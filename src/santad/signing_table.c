/* The interned package identities of cached decisions (signing_table.h). Loop thread. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event_log.h"
#include "signing_table.h"

struct signing_table {
	struct signing_info *entries; /* SIGNING_TABLE_MAX, from the first intern; entry 0 is "none" */
	uint64_t *hashes; /* of each entry's fields, scanned before comparing entries */
	uint32_t n;       /* 0 until entries exist, then 1 + the entries in use */
};

int
signing_table_new(struct signing_table **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void
signing_table_free(struct signing_table *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->hashes);
	free(t);
}

/* FNV-1a over the fields as strings: bytes past a field's NUL are not part of it. */
static uint64_t
signing_hash(const struct signing_info *info)
{
	const char *const fields[] = { info->cert_sha256, info->cert_cn, info->team_id,
				       info->signing_id, info->origin, info->suite };
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		for (p = fields[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL; /* field separator */
	}
	return h;
}

static bool
signing_equal(const struct signing_info *a, const struct signing_info *b)
{
	return strcmp(a->cert_sha256, b->cert_sha256) == 0 && strcmp(a->cert_cn, b->cert_cn) == 0 &&
	       strcmp(a->team_id, b->team_id) == 0 && strcmp(a->signing_id, b->signing_id) == 0 &&
	       strcmp(a->origin, b->origin) == 0 && strcmp(a->suite, b->suite) == 0;
}

uint32_t
signing_table_intern(struct signing_table *t, const struct signing_info *info)
{
	uint64_t h;
	uint32_t i;

	if (!info || !info->known)
		return 0;
	if (!t->entries) {
		t->entries = calloc(SIGNING_TABLE_MAX, sizeof(*t->entries));
		t->hashes = calloc(SIGNING_TABLE_MAX, sizeof(*t->hashes));
		if (!t->entries || !t->hashes) {
			free(t->entries);
			free(t->hashes);
			t->entries = NULL;
			t->hashes = NULL;
			return 0;
		}
		t->n = 1;
	}
	/* On the loop at each decision: 8 bytes a entry are scanned, a whole entry compared on a match. */
	h = signing_hash(info);
	for (i = 1; i < t->n; i++)
		if (t->hashes[i] == h && signing_equal(&t->entries[i], info))
			return i;
	if (t->n >= SIGNING_TABLE_MAX)
		return 0;
	t->entries[t->n] = *info;
	t->hashes[t->n] = h;
	return t->n++;
}

const struct signing_info *
signing_table_lookup(const struct signing_table *t, uint32_t ref)
{
	return ref && ref < t->n ? &t->entries[ref] : NULL;
}

void
signing_table_clear(struct signing_table *t)
{
	t->n = t->entries ? 1 : 0;
}
