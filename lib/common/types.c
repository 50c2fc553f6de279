#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "santa/types.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *
santa_mode_to_string(enum santa_mode mode)
{
	switch (mode) {
	case SANTA_MODE_MONITOR:
		return "Monitor";
	case SANTA_MODE_LOCKDOWN:
		return "Lockdown";
	default:
		return "Unknown";
	}
}

enum santa_mode
santa_mode_from_string(const char *s)
{
	if (!s)
		return SANTA_MODE_UNKNOWN;
	if (strcasecmp(s, "MONITOR") == 0 || strcmp(s, "1") == 0)
		return SANTA_MODE_MONITOR;
	if (strcasecmp(s, "LOCKDOWN") == 0 || strcmp(s, "2") == 0)
		return SANTA_MODE_LOCKDOWN;
	return SANTA_MODE_UNKNOWN;
}

static const char *const rule_type_names[] = {
	[SANTA_RULE_TYPE_BINARY] = "BINARY",
	[SANTA_RULE_TYPE_CERTIFICATE] = "CERTIFICATE",
	[SANTA_RULE_TYPE_TEAMID] = "TEAMID",
	[SANTA_RULE_TYPE_SIGNINGID] = "SIGNINGID",
	[SANTA_RULE_TYPE_CDHASH] = "CDHASH",
};

const char *
santa_rule_type_to_string(enum santa_rule_type type)
{
	if ((size_t)type < ARRAY_SIZE(rule_type_names) && rule_type_names[type])
		return rule_type_names[type];
	return "UNKNOWN";
}

/* Matches s against names[1..n-1] or their index written as a decimal integer. */
static int
lookup_name(const char *const *names, size_t n, const char *s, bool case_insensitive)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 1; i < n; i++) {
		if (!names[i])
			continue;
		if (case_insensitive ? strcasecmp(s, names[i]) == 0 : strcmp(s, names[i]) == 0)
			return (int)i;
	}
	if (s[0] >= '1' && s[0] <= '9' && s[1] == '\0' && (size_t)(s[0] - '0') < n)
		return s[0] - '0';
	return 0;
}

enum santa_rule_type
santa_rule_type_from_string(const char *s, bool case_insensitive)
{
	return (enum santa_rule_type)lookup_name(rule_type_names, ARRAY_SIZE(rule_type_names), s,
						 case_insensitive);
}

static const char *const policy_names[] = {
	[SANTA_POLICY_ALLOWLIST] = "ALLOWLIST",
	[SANTA_POLICY_ALLOWLIST_COMPILER] = "ALLOWLIST_COMPILER",
	[SANTA_POLICY_BLOCKLIST] = "BLOCKLIST",
	[SANTA_POLICY_SILENT_BLOCKLIST] = "SILENT_BLOCKLIST",
	[SANTA_POLICY_REMOVE] = "REMOVE",
};

static const char *const legacy_policy_names[] = {
	[SANTA_POLICY_ALLOWLIST] = "WHITELIST",
	[SANTA_POLICY_ALLOWLIST_COMPILER] = "WHITELIST_COMPILER",
	[SANTA_POLICY_BLOCKLIST] = "BLACKLIST",
	[SANTA_POLICY_SILENT_BLOCKLIST] = "SILENT_BLACKLIST",
	[SANTA_POLICY_REMOVE] = NULL,
};

const char *
santa_policy_to_string(enum santa_policy policy)
{
	if (policy == SANTA_POLICY_ALLOWLIST_TRANSITIVE)
		return "ALLOWLIST_TRANSITIVE";
	if ((size_t)policy < ARRAY_SIZE(policy_names) && policy_names[policy])
		return policy_names[policy];
	return "UNKNOWN";
}

enum santa_policy
santa_policy_from_string(const char *s, bool case_insensitive)
{
	int p = lookup_name(policy_names, ARRAY_SIZE(policy_names), s, case_insensitive);

	if (p == 0)
		p = lookup_name(legacy_policy_names, ARRAY_SIZE(legacy_policy_names), s,
				case_insensitive);
	return (enum santa_policy)p;
}

const char *
santa_reason_to_string(enum santa_reason reason)
{
	static const char *const names[] = {
		[SANTA_REASON_UNKNOWN] = "UNKNOWN",
		[SANTA_REASON_BINARY] = "BINARY",
		[SANTA_REASON_CERT] = "CERT",
		[SANTA_REASON_TEAMID] = "TEAMID",
		[SANTA_REASON_SIGNINGID] = "SIGNINGID",
		[SANTA_REASON_CDHASH] = "CDHASH",
		[SANTA_REASON_SCOPE] = "SCOPE",
		[SANTA_REASON_COMPILER] = "COMPILER",
		[SANTA_REASON_TRANSITIVE] = "TRANSITIVE",
		[SANTA_REASON_PENDING_TRANSITIVE] = "PENDING_TRANSITIVE",
		[SANTA_REASON_LONG_PATH] = "LONG_PATH",
		[SANTA_REASON_TIMEOUT] = "TIMEOUT",
		[SANTA_REASON_NOTRUNNING] = "NOTRUNNING",
	};

	if ((size_t)reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "NOTRUNNING";
}

const char *
santa_event_log_type_to_string(enum santa_event_log_type type)
{
	switch (type) {
	case SANTA_EVENT_LOG_FILE:
		return "file";
	case SANTA_EVENT_LOG_SYSLOG:
		return "syslog";
	case SANTA_EVENT_LOG_JSON:
		return "json";
	case SANTA_EVENT_LOG_NULL:
		return "null";
	}
	return "file";
}

const char *
santa_content_encoding_to_string(enum santa_content_encoding enc)
{
	switch (enc) {
	case SANTA_ENCODING_DEFLATE:
		return "deflate";
	case SANTA_ENCODING_GZIP:
		return "gzip";
	case SANTA_ENCODING_NONE:
		return "none";
	}
	return "deflate";
}

static int
normalize_hex(char *id, size_t want_len)
{
	size_t i;

	if (strlen(id) != want_len)
		return -EINVAL;
	for (i = 0; i < want_len; i++) {
		if (!isxdigit((unsigned char)id[i]))
			return -EINVAL;
		id[i] = (char)tolower((unsigned char)id[i]);
	}
	return 0;
}

int
santa_rule_identifier_normalize(enum santa_rule_type type, char *identifier)
{
	size_t i, len;

	if (!identifier || !identifier[0])
		return -EINVAL;
	switch (type) {
	case SANTA_RULE_TYPE_BINARY:
	case SANTA_RULE_TYPE_CERTIFICATE:
		return normalize_hex(identifier, 64);
	case SANTA_RULE_TYPE_CDHASH:
		return normalize_hex(identifier, 40);
	case SANTA_RULE_TYPE_TEAMID:
		if (strlen(identifier) != 10)
			return -EINVAL;
		for (i = 0; i < 10; i++) {
			if (!isalnum((unsigned char)identifier[i]))
				return -EINVAL;
			identifier[i] = (char)toupper((unsigned char)identifier[i]);
		}
		return 0;
	case SANTA_RULE_TYPE_SIGNINGID:
		/* "TEAMID:signing.id" or "platform:signing.id"; the signing id keeps its case. */
		len = strcspn(identifier, ":");
		if (identifier[len] != ':' || len == 0 || identifier[len + 1] == '\0')
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}
