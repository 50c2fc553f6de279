/*
 * The package identities (struct signing_info, event_log.h) of the
 * decisions in the cache, interned: a cached decision keeps a 32-bit
 * reference, and a cached exec's line names the identity its decision
 * used. Emptied with the cache (no cached decision refers to an entry any
 * more). At most SIGNING_TABLE_MAX entries: past that, a decision is
 * cached without its identity (reference 0). Loop thread only.
 */
#ifndef SANTAD_SIGNING_TABLE_H
#define SANTAD_SIGNING_TABLE_H

#include <stdint.h>

#define SIGNING_TABLE_MAX 4096

struct signing_info;
struct signing_table;

/* An empty table; its entries (about 2 MB) are allocated at the first intern. */
int signing_table_new(struct signing_table **out);
void signing_table_free(struct signing_table *t);
/* The reference of info (0: none, unknown, the table full, or no memory). */
uint32_t signing_table_intern(struct signing_table *t, const struct signing_info *info);
/* The info behind ref, or NULL (0, or emptied since). */
const struct signing_info *signing_table_lookup(const struct signing_table *t, uint32_t ref);
/* Forgets every entry: the cache that referred to them was flushed. */
void signing_table_clear(struct signing_table *t);

#endif
