/* Rules database: batches are atomic, identifiers normalised, bad files left alone. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "santa/policy.h"

static char tmpdir[] = "/tmp/santa-rulesdb-XXXXXX";

#include "test_tmpdir.h"
static char path[256];
static int serial;

static const char *sha_a = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *sha_b = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *sha_c = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";


static struct rules_db *
fresh_db(void)
{
	struct rules_db *db = NULL;
	char why[512];

	snprintf(path, sizeof(path), "%s/rules-%d.db", tmpdir, serial++);
	assert_int_equal(rules_db_open(path, &db, why, sizeof(why)), 0);
	return db;
}

static uint64_t
count_all(struct rules_db *db)
{
	uint64_t counts[SANTA_RULE_TYPE_MAX + 1], n = 0;
	int t;

	assert_int_equal(rules_db_counts(db, counts), 0);
	for (t = 1; t <= SANTA_RULE_TYPE_MAX; t++)
		n += counts[t];
	return n;
}

static void
test_add_lookup_remove(void **state)
{
	struct rules_db *db = fresh_db();
	struct santa_rule_found found;
	uint64_t counts[SANTA_RULE_TYPE_MAX + 1];
	char why[512], upper[65];
	size_t i;

	for (i = 0; i < 64; i++)
		upper[i] = (char)(sha_a[i] >= 'a' ? sha_a[i] - 32 : sha_a[i]);
	upper[64] = '\0';
	struct santa_rule rules[] = {
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, upper, "no", "https://x/%file_sha%" },
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST, sha_b, NULL, NULL },
		{ SANTA_RULE_TYPE_TEAMID, SANTA_POLICY_ALLOWLIST, "eqhxz8m8av", NULL, NULL },
		{ SANTA_RULE_TYPE_SIGNINGID, SANTA_POLICY_BLOCKLIST, "EQHXZ8M8AV:com.x", NULL, NULL },
	};

	assert_int_equal(rules_db_apply(db, rules, 4, RULES_KEEP, why, sizeof(why)), 0);
	/* Stored normalised, as Santa's SNTRule does: an upper-case SHA-256 still matches. */
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), 0);
	assert_int_equal(found.policy, SANTA_POLICY_BLOCKLIST);
	assert_string_equal(found.custom_msg, "no");
	assert_string_equal(found.custom_url, "https://x/%file_sha%");
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_b, &found), 0);
	assert_string_equal(found.custom_msg, "");
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_TEAMID, "EQHXZ8M8AV", &found), 0);
	/* (identifier, type) is the key: the same hash as another type is another rule. */
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_CERTIFICATE, sha_a, &found), -ENOENT);
	assert_int_equal(rules_db_counts(db, counts), 0);
	assert_int_equal(counts[SANTA_RULE_TYPE_BINARY], 2);
	assert_int_equal(counts[SANTA_RULE_TYPE_TEAMID], 1);
	assert_int_equal(counts[SANTA_RULE_TYPE_SIGNINGID], 1);

	/* Replace, then remove. */
	struct santa_rule change[] = {
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_SILENT_BLOCKLIST, sha_b, NULL, NULL },
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_REMOVE, sha_a, NULL, NULL },
	};
	assert_int_equal(rules_db_apply(db, change, 2, RULES_KEEP, why, sizeof(why)), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), -ENOENT);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_b, &found), 0);
	assert_int_equal(found.policy, SANTA_POLICY_SILENT_BLOCKLIST);
	assert_int_equal(count_all(db), 3);
	rules_db_close(db);
}

static void
test_failed_batch_changes_nothing(void **state)
{
	struct rules_db *db = fresh_db();
	struct santa_rule_found found;
	char why[512];
	struct santa_rule good[] = {
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST, sha_a, NULL, NULL },
	};
	struct santa_rule batch[] = {
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, sha_b, NULL, NULL },
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_REMOVE, sha_a, NULL, NULL },
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, "not-a-hash", NULL, NULL },
	};

	assert_int_equal(rules_db_apply(db, good, 1, RULES_KEEP, why, sizeof(why)), 0);
	assert_int_equal(rules_db_apply(db, batch, 3, RULES_KEEP, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "rule 2"));
	assert_non_null(strstr(why, "not-a-hash"));
	/* Neither the insert nor the removal before the bad rule happened. */
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_b, &found), -ENOENT);
	/* A clean batch that fails keeps the old rules too. */
	assert_int_equal(rules_db_apply(db, batch, 3, RULES_CLEAN_ALL, why, sizeof(why)), -EINVAL);
	assert_int_equal(count_all(db), 1);
	/* A clean batch that succeeds replaces them all. */
	assert_int_equal(rules_db_apply(db, batch, 1, RULES_CLEAN_ALL, why, sizeof(why)), 0);
	assert_int_equal(count_all(db), 1);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), -ENOENT);
	rules_db_close(db);
}

static void
test_persists_and_uses_wal(void **state)
{
	struct rules_db *db = fresh_db();
	struct santa_rule_found found;
	char why[512], wal[300];
	struct santa_rule r = { SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST, sha_a, NULL, NULL };
	sqlite3 *raw;
	sqlite3_stmt *st;

	assert_int_equal(rules_db_apply(db, &r, 1, RULES_KEEP, why, sizeof(why)), 0);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(access(wal, F_OK), 0);
	rules_db_close(db);
	assert_int_equal(rules_db_open(path, &db, why, sizeof(why)), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), 0);
	rules_db_close(db);
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), rules_db_schema_version());
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

/* Reads a whole file into a malloc'd buffer. */
static char *
slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
test_garbage_and_truncated_files_left_alone(void **state)
{
	struct rules_db *db = NULL;
	char why[512], *before, *after;
	size_t len_before, len_after;
	int fd, i;

	snprintf(path, sizeof(path), "%s/garbage.db", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (i = 0; i < 200; i++)
		assert_int_equal(write(fd, "this is not sqlite at all. ", 27), 27);
	close(fd);
	before = slurp(path, &len_before);
	assert_int_equal(rules_db_open(path, &db, why, sizeof(why)), -EBADMSG);
	assert_null(db);
	assert_non_null(strstr(why, "not a usable rules database"));
	assert_non_null(strstr(why, "left as it is"));
	after = slurp(path, &len_after);
	assert_int_equal(len_before, len_after);
	assert_memory_equal(before, after, len_before);
	free(before);
	free(after);

	/* A real database cut in half. */
	db = fresh_db();
	{
		struct santa_rule *many = calloc(5000, sizeof(*many));
		char (*ids)[65] = calloc(5000, 65);

		for (i = 0; i < 5000; i++) {
			snprintf(ids[i], 65, "%064x", i);
			many[i] = (struct santa_rule){ SANTA_RULE_TYPE_BINARY,
						       SANTA_POLICY_BLOCKLIST, ids[i], NULL, NULL };
		}
		assert_int_equal(rules_db_apply(db, many, 5000, RULES_KEEP, why, sizeof(why)), 0);
		free(many);
		free(ids);
	}
	rules_db_close(db);
	before = slurp(path, &len_before);
	assert_int_equal(truncate(path, (off_t)len_before / 2), 0);
	assert_true(rules_db_open(path, &db, why, sizeof(why)) < 0);
	assert_null(db);
	after = slurp(path, &len_after);
	assert_int_equal(len_after, len_before / 2);
	free(before);
	free(after);
}

static void
test_newer_schema_refused(void **state)
{
	struct rules_db *db = fresh_db();
	char why[512];
	sqlite3 *raw;

	rules_db_close(db);
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(rules_db_open(path, &db, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "newer"));
}

static void
test_hundred_thousand_rules(void **state)
{
	enum { N = 100000 };
	struct rules_db *db = fresh_db();
	struct santa_rule *rules = calloc(N, sizeof(*rules));
	char (*ids)[65] = calloc(N, 65);
	struct santa_rule_found found;
	char why[512];
	int i;

	for (i = 0; i < N; i++) {
		snprintf(ids[i], 65, "%064x", i * 7919);
		rules[i] = (struct santa_rule){ SANTA_RULE_TYPE_BINARY,
						i % 2 ? SANTA_POLICY_ALLOWLIST
						      : SANTA_POLICY_BLOCKLIST,
						ids[i], NULL, NULL };
	}
	assert_int_equal(rules_db_apply(db, rules, N, RULES_KEEP, why, sizeof(why)), 0);
	assert_int_equal(count_all(db), N);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, ids[4242], &found), 0);
	assert_int_equal(found.policy, SANTA_POLICY_BLOCKLIST);
	free(rules);
	free(ids);
	rules_db_close(db);
}

/*
 * A lookup while a batch is being written (issue 22): it is answered at
 * once, from the rules as they were, and sees the batch once it committed.
 * With one connection for both, the lookup waited for the whole batch.
 */
struct held_batch {
	struct rules_db *db;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool held, looked, in_time;
	int found_policy, lookup_r;
};

static void *
lookup_thread(void *userdata)
{
	struct held_batch *h = userdata;
	struct santa_rule_found found;
	int r = rules_db_lookup(h->db, SANTA_RULE_TYPE_BINARY, sha_a, &found);

	pthread_mutex_lock(&h->lock);
	h->lookup_r = r;
	h->found_policy = r == 0 ? (int)found.policy : -1;
	h->looked = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* The batch's keep_going before its commit: a lookup from another thread, waited for 5 s at most. */
static bool
look_while_held(void *userdata)
{
	struct held_batch *h = userdata;
	struct timespec until;
	pthread_t t;

	if (h->held)
		return true;
	h->held = true;
	assert_int_equal(pthread_create(&t, NULL, lookup_thread, h), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&h->lock);
	while (!h->looked && pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0)
		;
	h->in_time = h->looked;
	pthread_mutex_unlock(&h->lock);
	if (!h->in_time) {
		pthread_detach(t); /* it waits for this batch: let the batch commit, fail below */
		return true;
	}
	pthread_join(t, NULL);
	return true;
}

static void
test_lookup_during_batch(void **state)
{
	enum { N = 3000 };
	struct rules_db *db = fresh_db();
	struct santa_rule *rules = calloc(N, sizeof(*rules));
	char (*ids)[65] = calloc(N, 65);
	struct santa_rule first = { SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST, sha_a, NULL, NULL };
	struct held_batch h = { .db = db, .lock = PTHREAD_MUTEX_INITIALIZER,
				.cond = PTHREAD_COND_INITIALIZER };
	struct santa_rule_found found;
	char why[512];
	int i;

	assert_int_equal(rules_db_apply(db, &first, 1, RULES_KEEP, why, sizeof(why)), 0);
	for (i = 0; i < N - 1; i++) {
		snprintf(ids[i], 65, "%064x", i * 7919 + 1);
		rules[i] = (struct santa_rule){ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST, ids[i],
						NULL, NULL };
	}
	rules[N - 1] = (struct santa_rule){ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, sha_a,
					    NULL, NULL };
	assert_int_equal(rules_db_apply_checked(db, rules, N, RULES_CLEAN, look_while_held, &h, why,
						sizeof(why)),
			 0);
	assert_true(h.held);
	assert_true(h.in_time); /* answered while the batch was open */
	assert_int_equal(h.lookup_r, 0);
	assert_int_equal(h.found_policy, SANTA_POLICY_ALLOWLIST); /* the rules before the batch */
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), 0);
	assert_int_equal(found.policy, SANTA_POLICY_BLOCKLIST);
	assert_int_equal(count_all(db), N);
	free(rules);
	free(ids);
	rules_db_close(db);
}

static bool
stop_now(void *userdata)
{
	(void)userdata;
	return false;
}

/* A batch its caller stops changes nothing. */
static void
test_cancelled_batch(void **state)
{
	struct rules_db *db = fresh_db();
	struct santa_rule rule = { SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, sha_b, NULL, NULL };
	struct santa_rule_found found;
	char why[512];

	assert_int_equal(rules_db_apply_checked(db, &rule, 1, RULES_KEEP, stop_now, NULL, why,
						sizeof(why)),
			 -ECANCELED);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_b, &found), -ENOENT);
	assert_int_equal(count_all(db), 0);
	assert_int_equal(rules_db_generation(db), 0);
	rules_db_close(db);
}

/* The export's walk: every rule once, in (identifier, type) order, a page at a time. */
struct walk {
	char last[SANTA_IDENTIFIER_MAX];
	int last_type;
	size_t n;
	bool ordered;
};

static int
walk_one(const struct santa_rule *rule, void *userdata)
{
	struct walk *w = userdata;
	int c = strcmp(rule->identifier, w->last);

	if (w->n && (c < 0 || (c == 0 && (int)rule->type <= w->last_type)))
		w->ordered = false;
	snprintf(w->last, sizeof(w->last), "%s", rule->identifier);
	w->last_type = rule->type;
	w->n++;
	return 0;
}

static void
test_paged_walk(void **state)
{
	enum { N = 1000 };
	struct rules_db *db = fresh_db();
	struct santa_rule *rules = calloc(N, sizeof(*rules));
	char (*ids)[65] = calloc(N, 65);
	struct rules_db_cursor cursor;
	struct walk w = { .ordered = true };
	uint64_t generation;
	char why[512];
	int i, pages = 0, r;

	/* Half the identifiers twice, under two types: the key is (identifier, type). */
	for (i = 0; i < N; i++) {
		snprintf(ids[i], 65, "%064x", (i % (N / 2)) * 7919);
		rules[i] = (struct santa_rule){ i < N / 2 ? SANTA_RULE_TYPE_BINARY
							  : SANTA_RULE_TYPE_CERTIFICATE,
						SANTA_POLICY_BLOCKLIST, ids[i], NULL, NULL };
	}
	generation = rules_db_generation(db);
	assert_int_equal(rules_db_apply(db, rules, N, RULES_KEEP, why, sizeof(why)), 0);
	assert_true(rules_db_generation(db) == generation + 1);
	memset(&cursor, 0, sizeof(cursor));
	while ((r = rules_db_foreach_page(db, &cursor, 7, walk_one, &w)) > 0) {
		assert_true(r <= 7);
		pages++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(w.n, N);
	assert_true(w.ordered);
	assert_int_equal(pages, (N + 6) / 7);
	/* A walk over: asked again, it stays over. */
	assert_int_equal(rules_db_foreach_page(db, &cursor, 7, walk_one, &w), 0);
	/* A failed batch moves no generation. */
	generation = rules_db_generation(db);
	rules[0].identifier = "not a hash";
	assert_true(rules_db_apply(db, rules, 1, RULES_KEEP, why, sizeof(why)) < 0);
	assert_true(rules_db_generation(db) == generation);
	free(rules);
	free(ids);
	rules_db_close(db);
}

/* Transitive rules: never over a deliberate rule, counted apart, kept by CLEAN, expired when unused. */
static void
test_transitive_rules(void **state)
{
	struct rules_db *db = fresh_db();
	struct santa_rule block = { SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, sha_b, NULL, NULL };
	struct santa_rule_found found;
	uint64_t n = 0;
	char why[512];

	assert_int_equal(rules_db_add_transitive(db, sha_a, sha_b, 1000), 1);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), 0);
	assert_int_equal(found.policy, SANTA_POLICY_ALLOWLIST_TRANSITIVE);
	assert_int_equal(count_all(db), 0); /* not a binary rule in the counts */
	assert_int_equal(rules_db_count_policy(db, SANTA_POLICY_ALLOWLIST_TRANSITIVE, &n), 0);
	assert_int_equal(n, 1);

	/* A compiler's output never replaces a rule an admin or the server made. */
	assert_int_equal(rules_db_apply(db, &block, 1, RULES_KEEP, why, sizeof(why)), 0);
	assert_int_equal(rules_db_add_transitive(db, sha_b, sha_a, 1000), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_b, &found), 0);
	assert_int_equal(found.policy, SANTA_POLICY_BLOCKLIST);

	/* A use is recorded at most once a day. */
	assert_int_equal(rules_db_touch_transitive(db, sha_a, 1000 + 3600), 0);
	assert_int_equal(rules_db_touch_transitive(db, sha_a, 1000 + 2 * 86400), 1);
	/* Unused since before the cutoff: gone; used after it: kept. */
	assert_int_equal(rules_db_expire_transitive(db, 1000 + 86400), 0);
	assert_int_equal(rules_db_expire_transitive(db, 1000 + 3 * 86400), 1);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), -ENOENT);

	/* CLEAN keeps transitive rules, CLEAN_ALL does not. */
	assert_int_equal(rules_db_add_transitive(db, sha_a, sha_b, 5000), 1);
	assert_int_equal(rules_db_apply(db, NULL, 0, RULES_CLEAN, why, sizeof(why)), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_b, &found), -ENOENT);
	assert_int_equal(rules_db_apply(db, NULL, 0, RULES_CLEAN_ALL, why, sizeof(why)), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), -ENOENT);
	/* And nothing from outside can make one. */
	block.policy = SANTA_POLICY_ALLOWLIST_TRANSITIVE;
	assert_int_equal(rules_db_apply(db, &block, 1, RULES_KEEP, why, sizeof(why)), -EINVAL);
	rules_db_close(db);
}

static void
assert_counts(struct rules_db *db, uint64_t binary, uint64_t teamid, uint64_t compiler,
	      uint64_t transitive)
{
	uint64_t counts[SANTA_RULE_TYPE_MAX + 1], n;

	assert_int_equal(rules_db_counts(db, counts), 0);
	assert_int_equal(counts[SANTA_RULE_TYPE_BINARY], binary);
	assert_int_equal(counts[SANTA_RULE_TYPE_TEAMID], teamid);
	assert_int_equal(rules_db_count_policy(db, SANTA_POLICY_ALLOWLIST_COMPILER, &n), 0);
	assert_int_equal(n, compiler);
	assert_int_equal(rules_db_count_policy(db, SANTA_POLICY_ALLOWLIST_TRANSITIVE, &n), 0);
	assert_int_equal(n, transitive);
}

/* The counts (kept by triggers, not by counting) follow every kind of change. */
static void
test_counts_follow_every_change(void **state)
{
	struct rules_db *db = fresh_db();
	char why[512];
	struct santa_rule first[] = {
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST, sha_a, NULL, NULL },
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST_COMPILER, sha_b, NULL, NULL },
		{ SANTA_RULE_TYPE_TEAMID, SANTA_POLICY_BLOCKLIST, "EQHXZ8M8AV", NULL, NULL },
	};
	struct santa_rule same = { SANTA_RULE_TYPE_BINARY, SANTA_POLICY_ALLOWLIST, sha_a, "m", NULL };
	struct santa_rule to_block = { SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, sha_b, NULL, NULL };
	struct santa_rule remove = { SANTA_RULE_TYPE_TEAMID, SANTA_POLICY_REMOVE, "EQHXZ8M8AV", NULL, NULL };
	struct santa_rule bad[] = {
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, sha_c, NULL, NULL },
		{ SANTA_RULE_TYPE_BINARY, SANTA_POLICY_BLOCKLIST, "not-a-hash", NULL, NULL },
	};

	assert_counts(db, 0, 0, 0, 0);
	assert_int_equal(rules_db_apply(db, first, 3, RULES_KEEP, why, sizeof(why)), 0);
	assert_counts(db, 2, 1, 1, 0);
	/* A rule replaced by itself (INSERT OR REPLACE deletes, then inserts) counts once. */
	assert_int_equal(rules_db_apply(db, &same, 1, RULES_KEEP, why, sizeof(why)), 0);
	assert_counts(db, 2, 1, 1, 0);
	/* A compiler rule that becomes a block rule moves between policies. */
	assert_int_equal(rules_db_apply(db, &to_block, 1, RULES_KEEP, why, sizeof(why)), 0);
	assert_counts(db, 2, 1, 0, 0);
	assert_int_equal(rules_db_apply(db, &remove, 1, RULES_KEEP, why, sizeof(why)), 0);
	assert_counts(db, 2, 0, 0, 0);
	/* A failed batch leaves the counts as they were, like the rules. */
	assert_int_equal(rules_db_apply(db, bad, 2, RULES_KEEP, why, sizeof(why)), -EINVAL);
	assert_counts(db, 2, 0, 0, 0);
	assert_int_equal(rules_db_add_transitive(db, sha_c, sha_b, 1000), 1);
	assert_int_equal(rules_db_add_transitive(db, sha_c, sha_b, 2000), 1); /* refreshed, not added */
	assert_counts(db, 2, 0, 0, 1);
	assert_int_equal(rules_db_expire_transitive(db, 3000), 1);
	assert_counts(db, 2, 0, 0, 0);
	/* A rule made on purpose over a transitive one takes its place in the counts. */
	assert_int_equal(rules_db_add_transitive(db, sha_c, sha_b, 5000), 1);
	bad[0].policy = SANTA_POLICY_ALLOWLIST;
	assert_int_equal(rules_db_apply(db, bad, 1, RULES_KEEP, why, sizeof(why)), 0);
	assert_counts(db, 3, 0, 0, 0);
	bad[0].policy = SANTA_POLICY_REMOVE;
	assert_int_equal(rules_db_apply(db, bad, 1, RULES_KEEP, why, sizeof(why)), 0);
	assert_counts(db, 2, 0, 0, 0);
	assert_int_equal(rules_db_add_transitive(db, sha_c, sha_b, 5000), 1);
	assert_int_equal(rules_db_apply(db, NULL, 0, RULES_CLEAN, why, sizeof(why)), 0);
	assert_counts(db, 0, 0, 0, 1);
	assert_int_equal(rules_db_apply(db, first, 3, RULES_CLEAN_ALL, why, sizeof(why)), 0);
	assert_counts(db, 2, 1, 1, 0);
	rules_db_close(db);
	/* And they are stored: a reopened database has them. */
	assert_int_equal(rules_db_open(path, &db, why, sizeof(why)), 0);
	assert_counts(db, 2, 1, 1, 0);
	rules_db_close(db);
}

/* A version 1 database (before transitive rules) is migrated with its rules intact. */
static void
test_migrates_version_1(void **state)
{
	struct santa_rule_found found;
	struct rules_db *db = NULL;
	sqlite3 *raw;
	char why[512], sql[512];

	snprintf(path, sizeof(path), "%s/rules-v1.db", tmpdir);
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE rules (identifier TEXT NOT NULL, type INTEGER NOT NULL,"
		 " policy INTEGER NOT NULL, custom_msg TEXT, custom_url TEXT,"
		 " created INTEGER NOT NULL DEFAULT (strftime('%%s','now')),"
		 " PRIMARY KEY (identifier, type)) WITHOUT ROWID;"
		 "INSERT INTO rules (identifier, type, policy, custom_msg) VALUES ('%s', 1, 3, 'old');"
		 "PRAGMA user_version = 1;", sha_a);
	assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	assert_int_equal(rules_db_open(path, &db, why, sizeof(why)), 0);
	assert_int_equal(rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, sha_a, &found), 0);
	assert_int_equal(found.policy, SANTA_POLICY_BLOCKLIST);
	assert_string_equal(found.custom_msg, "old");
	assert_int_equal(count_all(db), 1); /* the counts table starts from the rules there */
	assert_int_equal(rules_db_add_transitive(db, sha_b, sha_a, 1), 1);
	rules_db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_lookup_remove),
		cmocka_unit_test(test_failed_batch_changes_nothing),
		cmocka_unit_test(test_persists_and_uses_wal),
		cmocka_unit_test(test_garbage_and_truncated_files_left_alone),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_hundred_thousand_rules),
		cmocka_unit_test(test_lookup_during_batch),
		cmocka_unit_test(test_cancelled_batch),
		cmocka_unit_test(test_paged_walk),
		cmocka_unit_test(test_transitive_rules),
		cmocka_unit_test(test_migrates_version_1),
		cmocka_unit_test(test_counts_follow_every_change),
	};

	return cmocka_run_group_tests_name("rules_db", tests, tmpdir_setup, tmpdir_teardown);
}
