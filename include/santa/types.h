/*
 * Santa's vocabulary shared by every component: client modes, rule types,
 * rule policies, decisions and reason codes, with the exact spellings Santa
 * uses in its config, sync protocol, event log and santactl output.
 */
#ifndef SANTA_TYPES_H
#define SANTA_TYPES_H

#include <stdbool.h>

/* Values as in Santa's ClientMode config key and sync protocol. */
enum santa_mode {
	SANTA_MODE_UNKNOWN = 0,
	SANTA_MODE_MONITOR = 1,
	SANTA_MODE_LOCKDOWN = 2,
};

/* Rule types; the numbers are the sync protocol's integer encoding. */
enum santa_rule_type {
	SANTA_RULE_TYPE_UNKNOWN = 0,
	SANTA_RULE_TYPE_BINARY = 1,
	SANTA_RULE_TYPE_CERTIFICATE = 2,
	SANTA_RULE_TYPE_TEAMID = 3,
	SANTA_RULE_TYPE_SIGNINGID = 4,
	SANTA_RULE_TYPE_CDHASH = 5,
};
#define SANTA_RULE_TYPE_MAX SANTA_RULE_TYPE_CDHASH

enum santa_policy {
	SANTA_POLICY_UNKNOWN = 0,
	SANTA_POLICY_ALLOWLIST = 1,
	SANTA_POLICY_ALLOWLIST_COMPILER = 2,
	SANTA_POLICY_BLOCKLIST = 3,
	SANTA_POLICY_SILENT_BLOCKLIST = 4,
	SANTA_POLICY_REMOVE = 5,
	/*
	 * Local only, never on the wire: santad records one for what a compiler
	 * (ALLOWLIST_COMPILER) writes. Above SANTA_POLICY_MAX so that no sync,
	 * import or santactl rule can make one.
	 */
	SANTA_POLICY_ALLOWLIST_TRANSITIVE = 6,
};
#define SANTA_POLICY_MAX SANTA_POLICY_REMOVE

/* How santa.log spells the reason for a decision (reason= key). */
enum santa_reason {
	SANTA_REASON_UNKNOWN = 0,
	SANTA_REASON_BINARY,
	SANTA_REASON_CERT,
	SANTA_REASON_TEAMID,
	SANTA_REASON_SIGNINGID,
	SANTA_REASON_CDHASH,
	SANTA_REASON_SCOPE,
	SANTA_REASON_COMPILER,
	SANTA_REASON_TRANSITIVE,
	SANTA_REASON_PENDING_TRANSITIVE,
	SANTA_REASON_LONG_PATH,
	SANTA_REASON_TIMEOUT,
	SANTA_REASON_NOTRUNNING,
};
#define SANTA_REASON_MAX SANTA_REASON_NOTRUNNING

enum santa_event_log_type {
	SANTA_EVENT_LOG_FILE = 0,
	SANTA_EVENT_LOG_SYSLOG,
	SANTA_EVENT_LOG_JSON,
	SANTA_EVENT_LOG_NULL,
};

enum santa_content_encoding {
	SANTA_ENCODING_DEFLATE = 0,
	SANTA_ENCODING_GZIP,
	SANTA_ENCODING_NONE,
};

/* "Monitor", "Lockdown" as santactl status prints them. */
const char *santa_mode_to_string(enum santa_mode mode);
/* Accepts MONITOR/LOCKDOWN in any case, and the integers 1 and 2. */
enum santa_mode santa_mode_from_string(const char *s);

const char *santa_rule_type_to_string(enum santa_rule_type type);
/* Upper-case names and the integers 1-5, as in the sync protocol. */
enum santa_rule_type santa_rule_type_from_string(const char *s, bool case_insensitive);

const char *santa_policy_to_string(enum santa_policy policy);
/* Also the legacy WHITELIST/BLACKLIST spellings and the integers 1-5. */
enum santa_policy santa_policy_from_string(const char *s, bool case_insensitive);

const char *santa_reason_to_string(enum santa_reason reason);

const char *santa_event_log_type_to_string(enum santa_event_log_type type);
const char *santa_content_encoding_to_string(enum santa_content_encoding enc);

/*
 * Normalises a rule identifier in place the way Santa's SNTRule does:
 * lower-case hex for BINARY/CERTIFICATE (64 chars) and CDHASH (40 chars),
 * upper-case 10-character team ids. Returns 0, or -EINVAL when the
 * identifier has the wrong length or characters for its type.
 */
int santa_rule_identifier_normalize(enum santa_rule_type type, char *identifier);

#endif
