/*
 * The rules database. One table keyed by (identifier, type); the schema
 * version lives in PRAGMA user_version and each migration step runs in the
 * same transaction that bumps it, so a crash mid-migration leaves the old
 * schema whole.
 *
 * Writes and reads go through different connections. Every change takes the
 * writer's connection (and its mutex): in santad, the rule writer thread.
 * Lookups, counts and walks take one of RULES_DB_READERS read connections:
 * in WAL mode a reader sees the last committed state and never waits for a
 * writer, so a hash worker's lookup goes on while a million-rule batch is
 * written (it waited for the whole batch when both shared one connection).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "santa/policy.h"

#define SCHEMA_VERSION 3

/*
 * Read connections: santad's lookups come from its hash workers (two by
 * default, plus root's), the loop and at most two exports. Each holds its
 * own page cache (READER_CACHE_KIB), so not one per possible thread.
 */
#define RULES_DB_READERS 4
#define READER_CACHE_KIB 2048
/* Rules applied between two calls of a batch's keep_going. */
#define APPLY_CHECK_EVERY 1024

/* A connection and the mutex that gives it to one thread at a time. */
struct rules_conn {
	sqlite3 *db;
	sqlite3_stmt *lookup;
	pthread_mutex_t lock;
	bool lock_made;
};

struct rules_db {
	struct rules_conn w; /* the writer's: every change, in one transaction each */
	sqlite3_stmt *insert;
	sqlite3_stmt *remove;
	sqlite3_stmt *count_add;
	/* Read connections; none for an in-memory database, which readers share with w. */
	struct rules_conn readers[RULES_DB_READERS];
	size_t n_readers;
	atomic_uint next_reader;
	_Atomic uint64_t generation; /* batches committed: rules_db_generation */
};

/* Migration i brings the schema from version i to i + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE rules ("
	" identifier TEXT NOT NULL,"
	" type INTEGER NOT NULL,"
	" policy INTEGER NOT NULL,"
	" custom_msg TEXT,"
	" custom_url TEXT,"
	" created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	" PRIMARY KEY (identifier, type)) WITHOUT ROWID;",
	/* 1 -> 2: transitive rules remember their compiler and when they were last used. */
	"ALTER TABLE rules ADD COLUMN compiler TEXT;"
	"ALTER TABLE rules ADD COLUMN used INTEGER;",
	/*
	 * 2 -> 3: rule counts, kept by every change in its own transaction.
	 * Counting a million rules scans the table (0.3 s, and SQLite's cache
	 * and sorter grow by megabytes) for each santactl status, metrics export
	 * and preflight. (Triggers would keep them too, but made a million-rule
	 * batch five times slower.)
	 */
	"CREATE TABLE rule_counts ("
	" type INTEGER NOT NULL,"
	" policy INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (type, policy)) WITHOUT ROWID;"
	"INSERT INTO rule_counts SELECT type, policy, count(*) FROM rules GROUP BY type, policy;",
};

int
rules_db_schema_version(void)
{
	return SCHEMA_VERSION;
}

static int
exec_sql(sqlite3 *db, const char *sql, char *why, size_t why_size)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	snprintf(why, why_size, "%s", err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	return -EIO;
}

static int
user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	int r = -EIO;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

static int
migrate(sqlite3 *db, char *why, size_t why_size)
{
	char sql[64];
	int version, r;

	r = exec_sql(db, "BEGIN IMMEDIATE", why, why_size);
	if (r < 0)
		return r;
	r = user_version(db, &version);
	if (r < 0) {
		snprintf(why, why_size, "cannot read the schema version: %s", sqlite3_errmsg(db));
		goto fail;
	}
	if (version > SCHEMA_VERSION) {
		snprintf(why, why_size,
			 "schema version %d is newer than this santad understands (%d): "
			 "downgrades are not supported",
			 version, SCHEMA_VERSION);
		r = -EPROTO;
		goto fail;
	}
	for (; version < SCHEMA_VERSION; version++) {
		r = exec_sql(db, migrations[version], why, why_size);
		if (r < 0)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		r = exec_sql(db, sql, why, why_size);
		if (r < 0)
			goto fail;
	}
	return exec_sql(db, "COMMIT", why, why_size);
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

#define LOOKUP_SQL "SELECT policy, custom_msg, custom_url FROM rules WHERE identifier = ? AND type = ?"

static int
prepare(struct rules_db *rdb, char *why, size_t why_size)
{
	static const struct {
		size_t offset;
		const char *sql;
	} statements[] = {
		{ offsetof(struct rules_db, w.lookup), LOOKUP_SQL },
		{ offsetof(struct rules_db, insert),
		  "INSERT OR REPLACE INTO rules (identifier, type, policy, custom_msg, custom_url) "
		  "VALUES (?, ?, ?, ?, ?)" },
		{ offsetof(struct rules_db, remove),
		  "DELETE FROM rules WHERE identifier = ? AND type = ?" },
		{ offsetof(struct rules_db, count_add),
		  "INSERT INTO rule_counts VALUES (?1, ?2, ?3)"
		  " ON CONFLICT (type, policy) DO UPDATE SET n = n + excluded.n" },
	};
	size_t i;

	for (i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
		sqlite3_stmt **st = (sqlite3_stmt **)((char *)rdb + statements[i].offset);

		if (sqlite3_prepare_v3(rdb->w.db, statements[i].sql, -1, SQLITE_PREPARE_PERSISTENT, st,
				       NULL) != SQLITE_OK) {
			snprintf(why, why_size, "%s", sqlite3_errmsg(rdb->w.db));
			return -EBADMSG;
		}
	}
	return 0;
}

static void
conn_close(struct rules_conn *c)
{
	sqlite3_finalize(c->lookup);
	sqlite3_close_v2(c->db);
	if (c->lock_made)
		pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

/*
 * A read connection to the database the writer opened (in WAL mode by now):
 * query_only, so that nothing but the writer's connection ever writes.
 */
static int
reader_open(struct rules_conn *c, const char *path, char *why, size_t why_size)
{
	char sql[64];
	int r;

	pthread_mutex_init(&c->lock, NULL);
	c->lock_made = true;
	if (sqlite3_open_v2(path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(why, why_size, "cannot open a reader: %s",
			 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		return -EIO;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, 2000);
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", READER_CACHE_KIB);
	r = exec_sql(c->db, "PRAGMA query_only = 1", why, why_size);
	if (r == 0)
		r = exec_sql(c->db, sql, why, why_size);
	if (r == 0 && sqlite3_prepare_v3(c->db, LOOKUP_SQL, -1, SQLITE_PREPARE_PERSISTENT, &c->lookup,
					 NULL) != SQLITE_OK) {
		snprintf(why, why_size, "%s", sqlite3_errmsg(c->db));
		r = -EIO;
	}
	return r;
}

int
rules_db_open(const char *path, struct rules_db **out, char *why, size_t why_size)
{
	struct rules_db *rdb;
	bool in_memory = strcmp(path, ":memory:") == 0;
	char msg[256];
	size_t i;
	int r, rc;

	*out = NULL;
	why[0] = '\0';
	rdb = calloc(1, sizeof(*rdb));
	if (!rdb)
		return -ENOMEM;
	pthread_mutex_init(&rdb->w.lock, NULL);
	rdb->w.lock_made = true;
	rc = sqlite3_open_v2(path, &rdb->w.db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
				     SQLITE_OPEN_FULLMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, why_size, "cannot open %s: %s", path,
			 rdb->w.db ? sqlite3_errmsg(rdb->w.db) : sqlite3_errstr(rc));
		r = rc == SQLITE_CANTOPEN ? -EACCES : -EIO;
		goto fail;
	}
	sqlite3_extended_result_codes(rdb->w.db, 1);
	sqlite3_busy_timeout(rdb->w.db, 2000);
	/*
	 * journal_mode is the first statement that reads the file: a file that
	 * is not a database fails here, before anything could write to it.
	 * Normal locking (not EXCLUSIVE, which kept the WAL index in this
	 * connection's memory): the read connections share the index in
	 * rules.db-shm, which takes the mode of rules.db (0600, root's).
	 */
	r = exec_sql(rdb->w.db, "PRAGMA journal_mode = WAL", msg, sizeof(msg));
	if (r == 0)
		r = exec_sql(rdb->w.db, "PRAGMA synchronous = NORMAL", msg, sizeof(msg));
	/*
	 * 4 MiB of page cache: the interior pages of a million-rule table (about
	 * 2 MiB) fit, so a batch's own lookups are about one leaf read from the
	 * OS page cache, and a full scan (quick_check at start) cannot grow
	 * santad past 30 MB.
	 */
	if (r == 0)
		r = exec_sql(rdb->w.db, "PRAGMA cache_size = -4096", msg, sizeof(msg));
	if (r == 0) {
		r = migrate(rdb->w.db, msg, sizeof(msg));
		if (r == -EPROTO) {
			snprintf(why, why_size, "%s: %s", path, msg);
			goto fail;
		}
	}
	if (r == 0)
		r = prepare(rdb, msg, sizeof(msg));
	if (r == 0) {
		/* A cheap structural check catches a truncated or scribbled file at start. */
		r = exec_sql(rdb->w.db, "PRAGMA quick_check", msg, sizeof(msg));
	}
	if (r < 0) {
		snprintf(why, why_size, "%s is not a usable rules database (%s); it was left as it is",
			 path, msg);
		r = -EBADMSG;
		goto fail;
	}
	/* Another connection to ":memory:" would be another, empty, database. */
	for (i = 0; !in_memory && i < RULES_DB_READERS; i++) {
		r = reader_open(&rdb->readers[i], path, msg, sizeof(msg));
		rdb->n_readers++;
		if (r < 0) {
			snprintf(why, why_size, "%s: %s", path, msg);
			goto fail;
		}
	}
	chmod(path, 0600); /* rules are root's alone: santactl and the helpers ask santad */
	*out = rdb;
	return 0;
fail:
	rules_db_close(rdb);
	return r;
}

void
rules_db_close(struct rules_db *rdb)
{
	size_t i;

	if (!rdb)
		return;
	for (i = 0; i < rdb->n_readers; i++)
		conn_close(&rdb->readers[i]);
	sqlite3_finalize(rdb->insert);
	sqlite3_finalize(rdb->remove);
	sqlite3_finalize(rdb->count_add);
	conn_close(&rdb->w);
	free(rdb);
}

/*
 * A read connection, locked: a free one if any (readers do not wait for
 * each other while there are enough), else the next in turn. An in-memory
 * database has only the writer's.
 */
static struct rules_conn *
reader_take(struct rules_db *rdb)
{
	unsigned int start;
	size_t i;

	if (rdb->n_readers == 0) {
		pthread_mutex_lock(&rdb->w.lock);
		return &rdb->w;
	}
	start = atomic_fetch_add_explicit(&rdb->next_reader, 1, memory_order_relaxed);
	for (i = 0; i < rdb->n_readers; i++) {
		struct rules_conn *c = &rdb->readers[(start + i) % rdb->n_readers];

		if (pthread_mutex_trylock(&c->lock) == 0)
			return c;
	}
	pthread_mutex_lock(&rdb->readers[start % rdb->n_readers].lock);
	return &rdb->readers[start % rdb->n_readers];
}

static void
reader_put(struct rules_conn *c)
{
	pthread_mutex_unlock(&c->lock);
}

static int
check_rule(const struct santa_rule *rule, size_t index, char *id, char *why, size_t why_size)
{
	if (rule->type < SANTA_RULE_TYPE_BINARY || rule->type > SANTA_RULE_TYPE_MAX) {
		snprintf(why, why_size, "rule %zu: unknown rule type %d", index, (int)rule->type);
		return -EINVAL;
	}
	if (rule->policy < SANTA_POLICY_ALLOWLIST || rule->policy > SANTA_POLICY_MAX) {
		snprintf(why, why_size, "rule %zu: unknown policy %d", index, (int)rule->policy);
		return -EINVAL;
	}
	if (!rule->identifier || strlen(rule->identifier) >= SANTA_IDENTIFIER_MAX) {
		snprintf(why, why_size, "rule %zu: identifier missing or too long", index);
		return -EINVAL;
	}
	strcpy(id, rule->identifier);
	if (santa_rule_identifier_normalize(rule->type, id) < 0) {
		snprintf(why, why_size, "rule %zu: \"%s\" is not a valid %s identifier", index,
			 rule->identifier, santa_rule_type_to_string(rule->type));
		return -EINVAL;
	}
	if ((rule->custom_msg && strlen(rule->custom_msg) >= SANTA_CUSTOM_MSG_MAX) ||
	    (rule->custom_url && strlen(rule->custom_url) >= SANTA_CUSTOM_URL_MAX)) {
		snprintf(why, why_size, "rule %zu: custom message or URL too long", index);
		return -EINVAL;
	}
	return 0;
}

static int
bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (!s || !*s)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Policies rule_counts holds: every one a rule can have (REMOVE never is one). */
#define COUNTED_POLICIES (SANTA_POLICY_ALLOWLIST_TRANSITIVE + 1)

/* Steps a statement that returns no rows, then makes it ready for the next use. */
static int
step_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* The policy of the stored rule (identifier, type), or -1 when there is none. */
static int
stored_policy(struct rules_db *rdb, const char *id, int type, int *policy)
{
	int rc;

	sqlite3_bind_text(rdb->w.lookup, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(rdb->w.lookup, 2, type);
	rc = sqlite3_step(rdb->w.lookup);
	*policy = rc == SQLITE_ROW ? sqlite3_column_int(rdb->w.lookup, 0) : -1;
	sqlite3_reset(rdb->w.lookup);
	sqlite3_clear_bindings(rdb->w.lookup);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* rule_counts[type, policy] += delta, inside the caller's transaction. */
static int
count_add(struct rules_db *rdb, int type, int policy, int64_t delta)
{
	sqlite3_bind_int(rdb->count_add, 1, type);
	sqlite3_bind_int(rdb->count_add, 2, policy);
	sqlite3_bind_int64(rdb->count_add, 3, delta);
	return step_once(rdb->count_add);
}

int
rules_db_apply(struct rules_db *rdb, const struct santa_rule *rules, size_t n,
	       enum rules_clean clean, char *why, size_t why_size)
{
	return rules_db_apply_checked(rdb, rules, n, clean, NULL, NULL, why, why_size);
}

/* Asks keep_going (if any); false: the batch is rolled back. */
static int
keep_going_or_cancel(rules_db_keep_going_fn keep_going, void *userdata, char *why, size_t why_size)
{
	if (!keep_going || keep_going(userdata))
		return 0;
	snprintf(why, why_size, "cancelled");
	return -ECANCELED;
}

int
rules_db_apply_checked(struct rules_db *rdb, const struct santa_rule *rules, size_t n,
		       enum rules_clean clean, rules_db_keep_going_fn keep_going, void *userdata,
		       char *why, size_t why_size)
{
	/* What the batch does to rule_counts, written with it. */
	int64_t delta[SANTA_RULE_TYPE_MAX + 1][COUNTED_POLICIES] = { { 0 } };
	char id[SANTA_IDENTIFIER_MAX];
	int type, policy, old;
	size_t i;
	int r;

	why[0] = '\0';
	if (n > SANTA_RULES_BATCH_MAX) {
		snprintf(why, why_size, "%zu rules in one batch; at most %d", n,
			 SANTA_RULES_BATCH_MAX);
		return -E2BIG;
	}
	pthread_mutex_lock(&rdb->w.lock);
	r = exec_sql(rdb->w.db, "BEGIN IMMEDIATE", why, why_size);
	if (r < 0)
		goto out;
	if (clean != RULES_KEEP) {
		/* A clean sync keeps what compilers made; CLEAN_ALL does not. */
		r = exec_sql(rdb->w.db,
			     clean == RULES_CLEAN_ALL
				     ? "DELETE FROM rules; DELETE FROM rule_counts"
				     : "DELETE FROM rules WHERE policy != 6;"
				       " DELETE FROM rule_counts WHERE policy != 6",
			     why, why_size);
		if (r < 0)
			goto rollback;
	}
	for (i = 0; i < n; i++) {
		if (i % APPLY_CHECK_EVERY == APPLY_CHECK_EVERY - 1 &&
		    (r = keep_going_or_cancel(keep_going, userdata, why, why_size)) < 0)
			goto rollback;
		r = check_rule(&rules[i], i, id, why, why_size);
		if (r < 0)
			goto rollback;
		type = rules[i].type;
		r = stored_policy(rdb, id, type, &old);
		if (r == 0 && old >= 0) {
			/* The rule it replaces or removes: its count goes. */
			if (old < COUNTED_POLICIES)
				delta[type][old]--;
			if (rules[i].policy == SANTA_POLICY_REMOVE) {
				sqlite3_bind_text(rdb->remove, 1, id, -1, SQLITE_STATIC);
				sqlite3_bind_int(rdb->remove, 2, type);
				r = step_once(rdb->remove);
			}
		}
		if (r == 0 && rules[i].policy != SANTA_POLICY_REMOVE) {
			sqlite3_bind_text(rdb->insert, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_int(rdb->insert, 2, type);
			sqlite3_bind_int(rdb->insert, 3, rules[i].policy);
			bind_text_or_null(rdb->insert, 4, rules[i].custom_msg);
			bind_text_or_null(rdb->insert, 5, rules[i].custom_url);
			r = step_once(rdb->insert);
			delta[type][rules[i].policy]++;
		}
		if (r < 0) {
			snprintf(why, why_size, "rule %zu: %s", i, sqlite3_errmsg(rdb->w.db));
			goto rollback;
		}
	}
	for (type = 0; type <= SANTA_RULE_TYPE_MAX; type++)
		for (policy = 0; policy < COUNTED_POLICIES; policy++)
			if (delta[type][policy] && (r = count_add(rdb, type, policy,
								   delta[type][policy])) < 0) {
				snprintf(why, why_size, "rule counts: %s", sqlite3_errmsg(rdb->w.db));
				goto rollback;
			}
	r = keep_going_or_cancel(keep_going, userdata, why, why_size);
	if (r < 0)
		goto rollback;
	r = exec_sql(rdb->w.db, "COMMIT", why, why_size);
	if (r == 0) {
		atomic_fetch_add(&rdb->generation, 1);
		goto out;
	}
rollback:
	sqlite3_exec(rdb->w.db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&rdb->w.lock);
	return r;
}

static void
copy_column(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", s ? (const char *)s : "");
}

int
rules_db_lookup(struct rules_db *rdb, enum santa_rule_type type, const char *identifier,
		struct santa_rule_found *out)
{
	struct rules_conn *c = reader_take(rdb);
	int rc, r;

	sqlite3_bind_text(c->lookup, 1, identifier, -1, SQLITE_STATIC);
	sqlite3_bind_int(c->lookup, 2, type);
	rc = sqlite3_step(c->lookup);
	if (rc == SQLITE_ROW) {
		out->type = type;
		out->policy = (enum santa_policy)sqlite3_column_int(c->lookup, 0);
		copy_column(c->lookup, 1, out->custom_msg, sizeof(out->custom_msg));
		copy_column(c->lookup, 2, out->custom_url, sizeof(out->custom_url));
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_reset(c->lookup);
	sqlite3_clear_bindings(c->lookup);
	reader_put(c);
	return r;
}

int
rules_db_counts(struct rules_db *rdb, uint64_t counts[SANTA_RULE_TYPE_MAX + 1])
{
	struct rules_conn *c;
	sqlite3_stmt *st;
	int rc, type;

	memset(counts, 0, sizeof(uint64_t) * (SANTA_RULE_TYPE_MAX + 1));
	c = reader_take(rdb);
	/* Transitive rules are counted apart (rules_db_count_policy), as santactl shows them. */
	rc = sqlite3_prepare_v2(c->db,
				"SELECT type, sum(n) FROM rule_counts WHERE policy != 6 GROUP BY type",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			type = sqlite3_column_int(st, 0);
			if (type >= SANTA_RULE_TYPE_BINARY && type <= SANTA_RULE_TYPE_MAX)
				counts[type] = (uint64_t)sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
	}
	reader_put(c);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int
rules_db_count_policy(struct rules_db *rdb, enum santa_policy policy, uint64_t *count)
{
	struct rules_conn *c;
	sqlite3_stmt *st;
	int rc;

	*count = 0;
	c = reader_take(rdb);
	rc = sqlite3_prepare_v2(c->db, "SELECT coalesce(sum(n), 0) FROM rule_counts WHERE policy = ?",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, (int)policy);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*count = (uint64_t)sqlite3_column_int64(st, 0);
			rc = SQLITE_DONE;
		}
		sqlite3_finalize(st);
	}
	reader_put(c);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

uint64_t
rules_db_generation(struct rules_db *rdb)
{
	return atomic_load(&rdb->generation);
}

/*
 * In primary key order, so that each page is a seek in the table's own
 * b-tree: ordered by (type, identifier) every page sorted the whole table.
 */
int
rules_db_foreach_page(struct rules_db *rdb, struct rules_db_cursor *cursor, size_t max,
		      int (*fn)(const struct santa_rule *rule, void *userdata), void *userdata)
{
	struct rules_conn *c;
	sqlite3_stmt *st;
	int rc, r = 0, n = 0;

	if (cursor->done || max == 0)
		return 0;
	c = reader_take(rdb);
	/* Two statements: with an OR the planner could not seek to the cursor. */
	rc = sqlite3_prepare_v2(c->db,
				cursor->started
					? "SELECT identifier, type, policy, custom_msg, custom_url "
					  "FROM rules WHERE (identifier, type) > (?1, ?2) "
					  "ORDER BY identifier, type LIMIT ?3"
					: "SELECT identifier, type, policy, custom_msg, custom_url "
					  "FROM rules ORDER BY identifier, type LIMIT ?3",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		/* The cursor is rewritten below while st still reads its binding: copy it. */
		sqlite3_bind_text(st, 1, cursor->identifier, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, cursor->type);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
		while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct santa_rule rule = {
				.identifier = (const char *)sqlite3_column_text(st, 0),
				.type = (enum santa_rule_type)sqlite3_column_int(st, 1),
				.policy = (enum santa_policy)sqlite3_column_int(st, 2),
				.custom_msg = (const char *)sqlite3_column_text(st, 3),
				.custom_url = (const char *)sqlite3_column_text(st, 4),
			};

			if (!rule.identifier)
				continue;
			snprintf(cursor->identifier, sizeof(cursor->identifier), "%s", rule.identifier);
			cursor->type = rule.type;
			cursor->started = true;
			n++;
			r = fn(&rule, userdata);
		}
		sqlite3_finalize(st);
	}
	reader_put(c);
	if (r < 0)
		return r;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return -EIO;
	if ((size_t)n < max)
		cursor->done = true;
	return n;
}

/*
 * Runs one statement with int64/text parameters ("i"/"t" in types), the lock
 * held by the caller; returns changes or -EIO.
 */
static int
run_changes_locked(struct rules_db *rdb, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int r, i;

	if (sqlite3_prepare_v2(rdb->w.db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	va_start(ap, types);
	for (i = 0; types[i]; i++) {
		if (types[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	r = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(rdb->w.db) : -EIO;
	sqlite3_finalize(st);
	return r;
}

/* BEGIN IMMEDIATE under the lock; end_write commits (r >= 0) or rolls back and unlocks. */
static int
begin_write(struct rules_db *rdb)
{
	pthread_mutex_lock(&rdb->w.lock);
	if (sqlite3_exec(rdb->w.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	pthread_mutex_unlock(&rdb->w.lock);
	return -EIO;
}

static int
end_write(struct rules_db *rdb, int r)
{
	if (r >= 0 && sqlite3_exec(rdb->w.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = -EIO;
	if (r < 0)
		sqlite3_exec(rdb->w.db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&rdb->w.lock);
	return r;
}

int
rules_db_add_transitive(struct rules_db *rdb, const char *sha256_hex, const char *compiler_hex,
			int64_t now)
{
	int r = begin_write(rdb);

	if (r < 0)
		return r;
	r = run_changes_locked(rdb,
			       "INSERT INTO rules (identifier, type, policy, compiler, used)"
			       " VALUES (?1, 1, 6, ?2, ?3) ON CONFLICT (identifier, type) DO NOTHING",
			       "tti", sha256_hex, compiler_hex, now);
	if (r == 1)
		r = count_add(rdb, SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST_TRANSITIVE, 1) < 0
			    ? -EIO : 1;
	else if (r == 0)
		/* Never over a rule someone made on purpose: only a transitive rule is refreshed. */
		r = run_changes_locked(rdb,
				       "UPDATE rules SET used = ?3, compiler = ?2"
				       " WHERE identifier = ?1 AND type = 1 AND policy = 6",
				       "tti", sha256_hex, compiler_hex, now);
	return end_write(rdb, r);
}

int
rules_db_touch_transitive(struct rules_db *rdb, const char *sha256_hex, int64_t now)
{
	int r;

	pthread_mutex_lock(&rdb->w.lock);
	r = run_changes_locked(rdb,
			       "UPDATE rules SET used = ?2 WHERE identifier = ?1 AND type = 1 AND"
			       " policy = 6 AND coalesce(used, created) < ?3",
			       "tii", sha256_hex, now, now - SANTA_TRANSITIVE_TOUCH_SECONDS);
	pthread_mutex_unlock(&rdb->w.lock);
	return r;
}

int
rules_db_expire_transitive(struct rules_db *rdb, int64_t cutoff)
{
	int r = begin_write(rdb);

	if (r < 0)
		return r;
	r = run_changes_locked(rdb,
			       "DELETE FROM rules WHERE policy = 6 AND coalesce(used, created) < ?1",
			       "i", cutoff);
	if (r > 0 && count_add(rdb, SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST_TRANSITIVE, -r) < 0)
		r = -EIO;
	return end_write(rdb, r);
}
