/*
 * lib/policy: what santad decides, without a kernel or an event loop.
 *
 *   rules_db   -- the rules in SQLite (WAL, versioned schema, atomic batches)
 *   decide     -- Santa's precedence: rules (BINARY, SIGNINGID, CERTIFICATE,
 *                 TEAMID), then path scopes, then the mode
 *   cache      -- decisions by (dev, ino), checked against (mtime, ctime, size)
 */
#ifndef SANTA_POLICY_H
#define SANTA_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/sha256.h"
#include "santa/types.h"

#define SANTA_IDENTIFIER_MAX 256
#define SANTA_CUSTOM_MSG_MAX 2048
#define SANTA_CUSTOM_URL_MAX 2048
#define SANTA_RULES_BATCH_MAX 1000000

/* A rule as given to rules_db_apply: the strings belong to the caller. */
struct santa_rule {
	enum santa_rule_type type;
	enum santa_policy policy;
	const char *identifier;
	const char *custom_msg; /* NULL or "" for none */
	const char *custom_url;
};

/* A rule as found by rules_db_lookup. */
struct santa_rule_found {
	enum santa_rule_type type;
	enum santa_policy policy;
	char custom_msg[SANTA_CUSTOM_MSG_MAX];
	char custom_url[SANTA_CUSTOM_URL_MAX];
};

/* ---- rules database ---- */

struct rules_db;

/*
 * Opens (creating if needed) the rules database at path: WAL mode, schema
 * brought to the current version by migrations in one transaction. A file
 * that is not a rules database, or is corrupt, is left untouched and gives
 * -EBADMSG with the reason in why. Returns 0 or -errno.
 */
int rules_db_open(const char *path, struct rules_db **out, char *why, size_t why_size);
void rules_db_close(struct rules_db *db);

/* The schema version this code writes (PRAGMA user_version). */
int rules_db_schema_version(void);

/* What a batch deletes first: nothing, every rule but transitive ones, or every rule. */
enum rules_clean {
	RULES_KEEP = 0,
	RULES_CLEAN,     /* a CLEAN sync */
	RULES_CLEAN_ALL, /* a CLEAN_ALL sync, santactl rule --import --clean-all */
};

/*
 * Applies a batch in one transaction: each rule replaces the rule with the
 * same (identifier, type); REMOVE deletes it. clean says what goes first. Any failure rolls back everything: a failed batch
 * changes nothing. Returns 0, -EINVAL (a bad rule; why names it), -E2BIG
 * or -EIO.
 */
int rules_db_apply(struct rules_db *db, const struct santa_rule *rules, size_t n,
		   enum rules_clean clean, char *why, size_t why_size);
/*
 * The same, asking keep_going(userdata) every 1,024 rules and before the
 * commit, on the thread that applies: false rolls the batch back
 * (-ECANCELED). santad's rule writer stops a batch that way at shutdown.
 * Lookups (on their read connections) go on meanwhile and see the rules as
 * they were before the batch until it commits.
 */
typedef bool (*rules_db_keep_going_fn)(void *userdata);
int rules_db_apply_checked(struct rules_db *db, const struct santa_rule *rules, size_t n,
			   enum rules_clean clean, rules_db_keep_going_fn keep_going,
			   void *userdata, char *why, size_t why_size);

/*
 * Transitive rules (ALLOWLIST_TRANSITIVE, BINARY): what an ALLOWLIST_COMPILER
 * program wrote. They expire SANTA_TRANSITIVE_EXPIRY_SECONDS after their last
 * use, as Santa's do; a use is recorded at most once a day.
 */
#define SANTA_TRANSITIVE_EXPIRY_SECONDS (180LL * 24 * 3600)
#define SANTA_TRANSITIVE_TOUCH_SECONDS  (24LL * 3600)
/* Adds one (or refreshes it); a rule of another policy for that hash stays. Returns 1 if written, 0, or -EIO. */
int rules_db_add_transitive(struct rules_db *db, const char *sha256_hex, const char *compiler_hex,
			    int64_t now);
/* Records a use of that transitive rule (if the last was over a day ago). Returns changes or -EIO. */
int rules_db_touch_transitive(struct rules_db *db, const char *sha256_hex, int64_t now);
/* Deletes transitive rules unused since cutoff (Unix seconds). Returns how many, or -EIO. */
int rules_db_expire_transitive(struct rules_db *db, int64_t cutoff);

/*
 * Finds the rule for (type, identifier) on a read connection: never waits
 * for a write (but for another reader when more threads look up at once
 * than there are read connections). Returns 0, -ENOENT or -EIO.
 */
int rules_db_lookup(struct rules_db *db, enum santa_rule_type type, const char *identifier,
		    struct santa_rule_found *out);

/* Rules per type, indexed by enum santa_rule_type (index 0 unused). */
int rules_db_counts(struct rules_db *db, uint64_t counts[SANTA_RULE_TYPE_MAX + 1]);
/*
 * A walk over every rule a page at a time, in (identifier, type) order,
 * holding a read connection for one page only. Start with a zeroed cursor.
 */
struct rules_db_cursor {
	char identifier[SANTA_IDENTIFIER_MAX]; /* the last rule visited */
	int type;
	bool started, done;
};
/*
 * Calls fn (a read connection held: keep it short) for up to max rules after the
 * cursor. Returns how many (0: the walk is over), or a negative fn return
 * or -EIO. A batch applied between pages shows in the later pages only:
 * compare rules_db_generation before and after for a consistent walk.
 */
int rules_db_foreach_page(struct rules_db *db, struct rules_db_cursor *cursor, size_t max,
			  int (*fn)(const struct santa_rule *rule, void *userdata), void *userdata);
/* Counts the batches rules_db_apply committed since the database was opened (any thread). */
uint64_t rules_db_generation(struct rules_db *db);
/* Rules with this policy, of any type (compiler rules for preflight). */
int rules_db_count_policy(struct rules_db *db, enum santa_policy policy, uint64_t *count);

/* ---- decisions ---- */

enum santa_verdict {
	SANTA_VERDICT_ALLOW = 0,
	SANTA_VERDICT_DENY = 1,
};

struct santa_decision {
	enum santa_verdict verdict;
	enum santa_reason reason;
	const char *explain;  /* Santa's explain= text, or NULL */
	bool silent;          /* SILENT_BLOCKLIST: no user notification */
	bool from_rule;       /* a rule matched: custom_msg/custom_url apply */
};

struct santa_scopes; /* compiled AllowedPathRegex / BlockedPathRegex */

/*
 * Compiles the path regexes as Santa does (a leading ^ is added when the
 * pattern lacks one). NULL patterns are fine. Returns 0 or -EINVAL with the
 * PCRE2 message in why.
 */
int santa_scopes_new(const char *allowed, const char *blocked, struct santa_scopes **out,
		     char *why, size_t why_size);
void santa_scopes_free(struct santa_scopes *scopes);

struct santa_decide_input {
	const char *path;
	/*
	 * path may not name this very file as the decider's own mount namespace
	 * sees it (another namespace's mount, a rename since): an allow scope
	 * does not apply. path_unreadable: the kernel could not give a path at
	 * all (longer than PATH_MAX): a blocked-path scope, when set, applies.
	 */
	bool path_unverified;
	bool path_unreadable;
	const struct santa_rule_found *binary_rule; /* for the file's SHA-256, or NULL */
	/*
	 * For the package identity of the file (santa/pkgtrust.h), or NULL: where
	 * a file has several identifiers of one type, the caller passes a block
	 * rule if any matched, else an allow rule.
	 */
	const struct santa_rule_found *signingid_rule;
	const struct santa_rule_found *certificate_rule;
	const struct santa_rule_found *teamid_rule;
	enum santa_mode mode;
	const struct santa_scopes *scopes;    /* may be NULL */
	bool transitive_rules_enabled;
	bool pending_transitive; /* a compiler wrote this very file and its rule is on its way */
};

/* Santa's precedence: BINARY > SIGNINGID > CERTIFICATE > TEAMID > blocked path > allowed path > mode default. */
void santa_decide(const struct santa_decide_input *in, struct santa_decision *out);

/* "ALLOW" / "DENY" as santa.log writes them. */
const char *santa_verdict_to_string(enum santa_verdict verdict);

/* ---- decision cache ---- */

struct santa_file_key {
	dev_t dev;
	ino_t ino;
	int64_t mtime_ns;
	int64_t ctime_ns;
	int64_t size;
};

struct stat;
/* The key of the file st describes. */
void santa_file_key_of(const struct stat *st, struct santa_file_key *key);
/* Same file (dev, ino) with the same mtime, ctime and size. */
bool santa_file_key_equal(const struct santa_file_key *a, const struct santa_file_key *b);

struct santa_cached {
	struct santa_decision decision;
	uint8_t sha256[SANTA_SHA256_LEN];
	uint32_t ref; /* the caller's, kept with the decision (santad: its signing info), 0 for none */
};

struct decision_cache;

/* A cache of at most capacity entries (rounded up to a power of two). */
int decision_cache_new(size_t capacity, struct decision_cache **out);
void decision_cache_free(struct decision_cache *cache);

/*
 * Returns true and fills out when (dev, ino) is cached with the same mtime,
 * ctime and size; a file that changed since is a miss (and its entry goes).
 */
bool decision_cache_lookup(struct decision_cache *cache, const struct santa_file_key *key,
			   struct santa_cached *out);
void decision_cache_insert(struct decision_cache *cache, const struct santa_file_key *key,
			   const struct santa_cached *value);
/* Forgets everything (rule or mode change). O(1). */
void decision_cache_flush(struct decision_cache *cache);

struct decision_cache_stats {
	uint64_t hits, misses, stale, evictions;
	size_t entries, capacity;
	size_t entries_on_dev; /* of entries, those on the device of decision_cache_split_by_dev */
};
/*
 * From now on stats also count the entries of files on dev (santad: the root
 * filesystem's, Santa's root and non-root caches). Walks the table once.
 */
void decision_cache_split_by_dev(struct decision_cache *cache, dev_t dev);
void decision_cache_stats(const struct decision_cache *cache, struct decision_cache_stats *out);

#endif
