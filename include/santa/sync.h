/*
 * lib/sync: Santa's sync protocol v1 as data -- the request bodies the client
 * sends and the parsing of what servers answer -- with no network and no
 * event loop, so every rule of it can be unit-tested and fuzzed.
 *
 * Responses are read the way Santa's protobuf-JSON parser reads them
 * (docs/sync-protocol.md, section 2): unknown keys skipped, snake_case, lowerCamelCase
 * and legacy aliases accepted, the same field given twice an error, null the
 * same as absent, enums by name or integer, XSSI prefixes stripped, an empty
 * body all defaults. Two deliberate differences: enum names match in any
 * case (Santa drops "allowlist" silently), and what is ignored (an unknown
 * enum name, a rule that is not valid) is reported in the result's notes.
 */
#ifndef SANTA_SYNC_H
#define SANTA_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "santa/types.h"

/* Caps on what one server can make the client hold. */
#define SYNC_MAX_RESPONSE_BYTES  (64u * 1024 * 1024) /* one decompressed response */
#define SYNC_MAX_RULES_PER_PAGE  200000
#define SYNC_MAX_RULES_TOTAL     1000000 /* what santad applies in one batch (SANTA_RULES_BATCH_MAX) */
#define SYNC_MAX_RULE_PAGES      10000
#define SYNC_MAX_CURSOR_LEN      4096
#define SYNC_MAX_REGEX_LEN       8192
#define SYNC_IDENTIFIER_MAX      256 /* as SANTA_IDENTIFIER_MAX in the rules DB */
#define SYNC_DEFAULT_BATCH_SIZE  50
#define SYNC_DEFAULT_FULL_SYNC_INTERVAL 600
/* A server's longer interval is cut to this: 2^32-1 s would stop periodic syncs for good. */
#define SYNC_MAX_FULL_SYNC_INTERVAL     (7u * 24 * 3600)
/*
 * Caps on the JSON trees built from one response, in values and keys (jansson
 * spends ~200 bytes on an empty object, so 63 MB of "{}," would cost 4.8 GB):
 * a preflight or eventupload response whole; a rule download one rule, or
 * one other top-level value, at a time.
 */
#define SYNC_MAX_JSON_VALUES            65536
#define SYNC_MAX_JSON_VALUES_PER_RULE   256
#define SYNC_MAX_NOTES                  8
#define SYNC_BACKOFF_FIRST_S            60 /* after the first failed sync */
#define SYNC_BACKOFF_MAX_DOUBLINGS      4

/*
 * Seconds until the next full sync: the full sync interval after a success;
 * after the nth failure in a row 60 s doubled n-1 times (at most 4 times),
 * never longer than the interval. full_sync_interval 0: the default.
 */
unsigned int sync_next_delay(bool ok, unsigned int consecutive_failures,
			     unsigned int full_sync_interval);
/* interval_usec plus up to half of it, chosen by random. */
uint64_t sync_jittered_usec(uint64_t interval_usec, uint64_t random);

enum sync_type {
	SYNC_TYPE_NORMAL = 0,
	SYNC_TYPE_CLEAN = 1,
	SYNC_TYPE_CLEAN_ALL = 2,
};

const char *sync_type_to_string(enum sync_type type);
/* NORMAL, CLEAN, CLEAN_ALL; -1 for anything else. */
int sync_type_from_string(const char *s);

/* A tri-state for preflight's optional settings: absent means "leave as it is". */
struct sync_opt_bool {
	bool set;
	bool value;
};

/* What a response held that was ignored, for the log and santactl sync. */
struct sync_notes {
	size_t n;                             /* every one */
	char text[SYNC_MAX_NOTES][192];       /* the first SYNC_MAX_NOTES */
};

struct sync_preflight {
	enum santa_mode client_mode; /* UNKNOWN: unchanged */
	bool sync_type_set;
	enum sync_type sync_type;
	struct sync_opt_bool clean_sync; /* deprecated; used only without sync_type */
	uint32_t batch_size;             /* 0 given or absent: SYNC_DEFAULT_BATCH_SIZE */
	uint32_t full_sync_interval;     /* < 60 -> 600, > SYNC_MAX_FULL_SYNC_INTERVAL -> that */
	struct sync_opt_bool enable_bundles;
	struct sync_opt_bool enable_transitive_rules;
	struct sync_opt_bool enable_all_event_upload;
	struct sync_opt_bool disable_unknown_event_upload;
	struct sync_opt_bool block_usb_mount; /* accepted, no effect on Linux */
	bool allowed_path_regex_set;
	char *allowed_path_regex; /* "" clears the server's override */
	bool blocked_path_regex_set;
	char *blocked_path_regex;
	struct sync_notes ignored; /* unknown enum values, an interval clamped */
};

/* What the machine tells the server in preflight. Empty strings and zeros are omitted. */
struct sync_machine_info {
	const char *serial_num, *hostname, *os_version, *os_build, *model_identifier;
	const char *santa_version, *primary_user, *machine_id;
	enum santa_mode client_mode;
	bool request_clean_sync;
	uint32_t binary_rule_count, certificate_rule_count, compiler_rule_count;
	uint32_t transitive_rule_count, teamid_rule_count, signingid_rule_count;
	uint32_t cdhash_rule_count;
};

struct sync_rule {
	char *identifier; /* normalised as SNTRule does */
	enum santa_rule_type type;
	enum santa_policy policy;
	char *custom_msg;
	char *custom_url;
};

struct sync_rule_page {
	struct sync_rule *rules;
	size_t n;
	size_t received; /* rules in the response, valid or not */
	size_t skipped;  /* rules that were not valid */
	struct sync_notes ignored; /* which rules were skipped, and why */
	char *cursor;    /* NULL or "" at the end */
};

/*
 * Each parser returns 0, or -EBADMSG with why naming the problem and the
 * field ("preflight: batch_size: expected an unsigned 32-bit integer").
 * A rule download is read one rule at a time: memory follows the rules kept,
 * never the size of the JSON a server sends.
 */
int sync_parse_preflight(const char *body, size_t len, struct sync_preflight *out, char *why,
			 size_t why_size);
void sync_preflight_free(struct sync_preflight *p);

int sync_parse_ruledownload(const char *body, size_t len, struct sync_rule_page *out,
			    char *why, size_t why_size);
void sync_rule_page_free(struct sync_rule_page *page);

/* Bundle hashes the server asks for (event_upload_bundle_binaries); caller frees each and the array. */
int sync_parse_eventupload(const char *body, size_t len, char ***hashes, size_t *n, char *why,
			   size_t why_size);

/* Server's clean request combined with the client's (the table of section 4.1). */
enum sync_type sync_resolve_type(const struct sync_preflight *p, enum sync_type requested);

/*
 * Request bodies, compact, fields in Santa's order, zeros omitted. Each
 * returns a malloc'd NUL-terminated string or NULL.
 */
char *sync_preflight_request(const struct sync_machine_info *m);
/* events: JSON objects as stored in events.db (one per element). */
char *sync_eventupload_request(const char *const *events, size_t n, const char *machine_id);
char *sync_ruledownload_request(const char *cursor, const char *machine_id);
char *sync_postflight_request(uint64_t rules_received, uint64_t rules_processed,
			      const char *machine_id);

/* Request body encodings (SyncClientContentEncoding): zlib-wrapped deflate or gzip. */
int sync_compress(const void *in, size_t len, enum santa_content_encoding enc, void **out,
		  size_t *out_len);

/* One rule as a line of the rule file santad applies: JSON, ending in '\n'. */
char *sync_rule_to_line(const struct sync_rule *rule);
/* The reverse; strings point into a buffer the caller frees with sync_rule_free. */
int sync_rule_from_line(const char *line, size_t len, struct sync_rule *rule, char *why,
			size_t why_size);
void sync_rule_free(struct sync_rule *rule);

#endif
