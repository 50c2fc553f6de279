/*
 * Decisions by (dev, ino): a fixed-size, 4-way set-associative table, so
 * memory is bounded whatever runs and a lookup is a few compares. An entry
 * only counts while the file's mtime, ctime and size are what they were
 * when it was decided; any write changes ctime. Flushing bumps a
 * generation number instead of touching every entry. The table is shared by
 * the event thread and the hash workers, hence the mutex (held for
 * nanoseconds, never across I/O).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "santa/policy.h"

#define WAYS 4

struct cache_entry {
	struct santa_file_key key;
	struct santa_cached value;
	uint64_t generation; /* 0: empty */
	uint32_t last_used;
};

struct decision_cache {
	pthread_mutex_t lock;
	struct cache_entry *entries;
	size_t n_sets;
	uint64_t generation;
	uint32_t clock;
	struct decision_cache_stats stats;
	bool split; /* stats.entries_on_dev counts the entries on split_dev */
	dev_t split_dev;
};

int
decision_cache_new(size_t capacity, struct decision_cache **out)
{
	struct decision_cache *c;
	size_t sets = 1;

	*out = NULL;
	if (capacity < WAYS)
		capacity = WAYS;
	if (capacity > (1u << 26))
		return -E2BIG;
	while (sets * WAYS < capacity)
		sets <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->entries = calloc(sets * WAYS, sizeof(*c->entries));
	if (!c->entries) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->n_sets = sets;
	c->generation = 1;
	c->stats.capacity = sets * WAYS;
	*out = c;
	return 0;
}

void
decision_cache_free(struct decision_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->entries);
	free(c);
}

static struct cache_entry *
set_of(struct decision_cache *c, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	h ^= h >> 29;
	return &c->entries[(h & (c->n_sets - 1)) * WAYS];
}

/* An entry of the current generation comes (delta 1) or goes (-1). Lock held. */
static void
count_entry(struct decision_cache *c, const struct santa_file_key *key, int delta)
{
	c->stats.entries += (size_t)delta;
	if (c->split && key->dev == c->split_dev)
		c->stats.entries_on_dev += (size_t)delta;
}

void
santa_file_key_of(const struct stat *st, struct santa_file_key *key)
{
	key->dev = st->st_dev;
	key->ino = st->st_ino;
	key->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	key->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	key->size = st->st_size;
}

static bool
same_file(const struct santa_file_key *a, const struct santa_file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

static bool
unchanged(const struct santa_file_key *a, const struct santa_file_key *b)
{
	return a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns && a->size == b->size;
}

bool
santa_file_key_equal(const struct santa_file_key *a, const struct santa_file_key *b)
{
	return same_file(a, b) && unchanged(a, b);
}

bool
decision_cache_lookup(struct decision_cache *c, const struct santa_file_key *key,
		      struct santa_cached *out)
{
	struct cache_entry *set;
	bool hit = false;
	int i;

	pthread_mutex_lock(&c->lock);
	set = set_of(c, key->dev, key->ino);
	for (i = 0; i < WAYS; i++) {
		if (set[i].generation != c->generation || !same_file(&set[i].key, key))
			continue;
		if (!unchanged(&set[i].key, key)) {
			set[i].generation = 0;
			c->stats.stale++;
			count_entry(c, &set[i].key, -1);
			break;
		}
		*out = set[i].value;
		set[i].last_used = ++c->clock;
		hit = true;
		break;
	}
	if (hit)
		c->stats.hits++;
	else
		c->stats.misses++;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void
decision_cache_insert(struct decision_cache *c, const struct santa_file_key *key,
		      const struct santa_cached *value)
{
	struct cache_entry *set, *victim = NULL;
	int i;

	pthread_mutex_lock(&c->lock);
	set = set_of(c, key->dev, key->ino);
	for (i = 0; i < WAYS; i++) {
		if (set[i].generation == c->generation && same_file(&set[i].key, key)) {
			victim = &set[i]; /* replace the old decision for this file */
			count_entry(c, &victim->key, -1);
			break;
		}
	}
	for (i = 0; !victim && i < WAYS; i++)
		if (set[i].generation != c->generation)
			victim = &set[i];
	if (!victim) {
		/* The least recently used of the set goes. */
		victim = &set[0];
		for (i = 1; i < WAYS; i++)
			if ((int32_t)(set[i].last_used - victim->last_used) < 0)
				victim = &set[i];
		c->stats.evictions++;
		count_entry(c, &victim->key, -1);
	}
	victim->key = *key;
	victim->value = *value;
	victim->generation = c->generation;
	victim->last_used = ++c->clock;
	count_entry(c, key, 1);
	pthread_mutex_unlock(&c->lock);
}

void
decision_cache_flush(struct decision_cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->generation++;
	c->stats.entries = 0;
	c->stats.entries_on_dev = 0;
	pthread_mutex_unlock(&c->lock);
}

void
decision_cache_split_by_dev(struct decision_cache *c, dev_t dev)
{
	size_t i, n = 0;

	pthread_mutex_lock(&c->lock);
	/* Once, at start: a walk of the table, so that entries made before count too. */
	for (i = 0; i < c->n_sets * WAYS; i++)
		if (c->entries[i].generation == c->generation && c->entries[i].key.dev == dev)
			n++;
	c->split = true;
	c->split_dev = dev;
	c->stats.entries_on_dev = n;
	pthread_mutex_unlock(&c->lock);
}

void
decision_cache_stats(const struct decision_cache *c, struct decision_cache_stats *out)
{
	pthread_mutex_lock((pthread_mutex_t *)&c->lock);
	*out = c->stats;
	pthread_mutex_unlock((pthread_mutex_t *)&c->lock);
}
