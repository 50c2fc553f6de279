/*
 * Sync protocol v1 bodies. Parsing follows protobuf's JSON mapping with
 * ignore_unknown_fields, which is what Santa's client runs every response
 * through: servers written against it (moroz, Rudolph, Zentral) rely on
 * exactly those rules, so the quirks are kept, not improved -- except two
 * that lose a server's intent without a word: enum names match in any case,
 * and whatever is ignored is reported (struct sync_notes).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <zlib.h>

#include "santa/sync.h"

static const char *const sync_type_names[] = { "NORMAL", "CLEAN", "CLEAN_ALL" };

const char *
sync_type_to_string(enum sync_type type)
{
	return (unsigned)type < 3 ? sync_type_names[type] : "NORMAL";
}

int
sync_type_from_string(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, sync_type_names[i]) == 0)
			return i;
	return -1;
}

static int fail(char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static void note(struct sync_notes *notes, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Counts one ignored thing; the first SYNC_MAX_NOTES keep their text. */
static void
note(struct sync_notes *notes, const char *fmt, ...)
{
	va_list ap;

	if (notes->n < SYNC_MAX_NOTES) {
		va_start(ap, fmt);
		vsnprintf(notes->text[notes->n], sizeof(notes->text[0]), fmt, ap);
		va_end(ap);
	}
	notes->n++;
}

/*
 * A server's value quoted for a note: "strict", 7, or (none). Control
 * characters become '?': the note goes to a log line and a terminal.
 */
static const char *
quote(json_t *v, char *buf, size_t size)
{
	if (json_is_string(v)) {
		snprintf(buf, size, "\"%.60s\"", json_string_value(v));
		for (char *c = buf; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	} else if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	} else {
		snprintf(buf, size, "(none)");
	}
	return buf;
}

/*
 * The one value of a field that may be spelled several ways: NULL when every
 * spelling is absent or null, an error when two spellings carry a value.
 */
static int
field(json_t *obj, const char *const *names, json_t **out, char *why, size_t why_size,
      const char *stage)
{
	const char *found = NULL;
	json_t *v;

	*out = NULL;
	for (; *names; names++) {
		v = json_object_get(obj, *names);
		if (!v || json_is_null(v))
			continue;
		if (found)
			return fail(why, why_size, "%s: %s and %s are the same field, given twice",
				    stage, found, *names);
		found = *names;
		*out = v;
	}
	return 0;
}

static int
get_uint32(json_t *v, uint32_t *out, const char *name, const char *stage, char *why,
	   size_t why_size)
{
	double d;
	char *end;
	long long ll;

	if (json_is_integer(v)) {
		ll = json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		if (d != floor(d) || d < 0 || d > 4294967295.0)
			goto bad;
		ll = (long long)d;
	} else if (json_is_string(v)) {
		/* protobuf accepts a quoted number */
		errno = 0;
		ll = strtoll(json_string_value(v), &end, 10);
		if (errno || end == json_string_value(v) || *end)
			goto bad;
	} else {
		goto bad;
	}
	if (ll < 0 || ll > 4294967295LL)
		goto bad;
	*out = (uint32_t)ll;
	return 0;
bad:
	return fail(why, why_size, "%s: %s: expected an unsigned 32-bit integer", stage, name);
}

static int
get_bool(json_t *v, struct sync_opt_bool *out, const char *name, const char *stage, char *why,
	 size_t why_size)
{
	if (!json_is_boolean(v))
		return fail(why, why_size, "%s: %s: expected true or false", stage, name);
	out->set = true;
	out->value = json_is_true(v);
	return 0;
}

/*
 * An enum: a name from names (index = value) in any case, an integer, or an
 * integer in a string. Santa's parser wants the exact case and turns
 * "allowlist" into UNKNOWN, which drops the rule without a word; servers do
 * send lower case, so any case is that name here. An unknown name gives 0
 * (protobuf's "unknown") and returns 1, for the caller to report; a number
 * outside the enum is kept as given, as protobuf does for open enums.
 */
static int
get_enum(json_t *v, const char *const *names, size_t n, int *out, const char *name,
	 const char *stage, char *why, size_t why_size)
{
	const char *s;
	uint32_t u;

	if (json_is_string(v)) {
		s = json_string_value(v);
		for (size_t i = 0; i < n; i++) {
			if (names[i] && strcasecmp(s, names[i]) == 0) {
				*out = (int)i;
				return 0;
			}
		}
		if (get_uint32(v, &u, name, stage, why, why_size) == 0 && u < 1000) {
			*out = (int)u;
			return 0;
		}
		*out = 0;
		return 1;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < -2147483648LL || json_integer_value(v) > 2147483647LL)
			return fail(why, why_size, "%s: %s: enum value out of range", stage, name);
		*out = (int)json_integer_value(v);
		return 0;
	}
	return fail(why, why_size, "%s: %s: expected an enum name or number", stage, name);
}

static int
get_string(json_t *v, char **out, size_t max, const char *name, const char *stage, char *why,
	   size_t why_size)
{
	if (!json_is_string(v))
		return fail(why, why_size, "%s: %s: expected a string", stage, name);
	if (json_string_length(v) > max)
		return fail(why, why_size, "%s: %s: longer than %zu bytes", stage, name, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(why, why_size, "%s: %s: contains a NUL character", stage, name);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

/* The response's JSON text: Santa's XSSI prefixes stripped, the size checked. */
static int
json_text(const char **body, size_t *len, const char *stage, char *why, size_t why_size)
{
	if (*len > SYNC_MAX_RESPONSE_BYTES)
		return fail(why, why_size, "%s: response of %zu bytes is over the %u-byte cap",
			    stage, *len, SYNC_MAX_RESPONSE_BYTES);
	if (*len >= 5 && memcmp(*body, ")]}'\n", 5) == 0) {
		*body += 5;
		*len -= 5;
	} else if (*len >= 3 && memcmp(*body, "])}", 3) == 0) {
		*body += 3;
		*len -= 3;
	}
	return 0;
}

/*
 * The size of the tree jansson would build from text: its containers, members
 * and elements, counted from the punctuation outside strings ({ [ , :). The
 * text need not be valid JSON: jansson judges that, after this said it may.
 */
static size_t
json_tree_size(const char *p, size_t len)
{
	const char *end = p + len;
	size_t n = 0;

	for (; p < end; p++) {
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			continue;
		}
		if (*p == '{' || *p == '[' || *p == ',' || *p == ':')
			n++;
	}
	return n;
}

/* Strips Santa's XSSI prefixes and parses one JSON object; *root NULL for an empty body. */
static int
load_object(const char *body, size_t len, json_t **root, const char *stage, char *why,
	    size_t why_size)
{
	json_error_t err;
	size_t values;
	int r;

	*root = NULL;
	if ((r = json_text(&body, &len, stage, why, why_size)) < 0)
		return r;
	if (len == 0)
		return 0;
	values = json_tree_size(body, len);
	if (values > SYNC_MAX_JSON_VALUES)
		return fail(why, why_size, "%s: response of about %zu JSON values is over the cap "
			    "of %d", stage, values, SYNC_MAX_JSON_VALUES);
	*root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (!*root)
		return fail(why, why_size, "%s: response is not valid JSON: %s (line %d)", stage,
			    err.text, err.line);
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return fail(why, why_size, "%s: response is not a JSON object", stage);
	}
	return 0;
}

#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const char *const mode_names[] = { "UNKNOWN_CLIENT_MODE", "MONITOR", "LOCKDOWN" };

static int
opt_bool(json_t *root, const char *const *names, struct sync_opt_bool *out, char *why,
	 size_t why_size)
{
	json_t *v;
	int r = field(root, names, &v, why, why_size, "preflight");

	if (r < 0 || !v)
		return r;
	return get_bool(v, out, names[0], "preflight", why, why_size);
}

static int
opt_regex(json_t *root, const char *const *names, bool *set, char **out, char *why,
	  size_t why_size)
{
	json_t *v;
	int r = field(root, names, &v, why, why_size, "preflight");

	if (r < 0 || !v)
		return r;
	r = get_string(v, out, SYNC_MAX_REGEX_LEN, names[0], "preflight", why, why_size);
	if (r == 0)
		*set = true;
	return r;
}

int
sync_parse_preflight(const char *body, size_t len, struct sync_preflight *p, char *why,
		     size_t why_size)
{
	json_t *root, *v;
	char q[80];
	int e = 0, r;

	memset(p, 0, sizeof(*p));
	p->batch_size = SYNC_DEFAULT_BATCH_SIZE;
	p->full_sync_interval = SYNC_DEFAULT_FULL_SYNC_INTERVAL;
	r = load_object(body, len, &root, "preflight", why, why_size);
	if (r < 0 || !root)
		return r;

	if ((r = field(root, NAMES("client_mode", "clientMode"), &v, why, why_size, "preflight")) < 0)
		goto out;
	if (v) {
		if ((r = get_enum(v, mode_names, 3, &e, "client_mode", "preflight", why, why_size)) < 0)
			goto out;
		p->client_mode = (e == 1 || e == 2) ? (enum santa_mode)e : SANTA_MODE_UNKNOWN;
		if (r == 1 || e < 0 || e > 2)
			note(&p->ignored, "client_mode %s is not MONITOR or LOCKDOWN: mode unchanged",
			     quote(v, q, sizeof(q)));
	}
	if ((r = field(root, NAMES("sync_type", "syncType"), &v, why, why_size, "preflight")) < 0)
		goto out;
	if (v) {
		/* Santa's aliases normal, clean, clean_all are these names in lower case. */
		if ((r = get_enum(v, NAMES("SYNC_TYPE_UNSPECIFIED", "NORMAL", "CLEAN", "CLEAN_ALL"),
				  4, &e, "sync_type", "preflight", why, why_size)) < 0)
			goto out;
		/* An optional enum with an unknown name stays unset. */
		if (e >= 1 && e <= 3) {
			p->sync_type_set = true;
			p->sync_type = (enum sync_type)(e - 1);
		} else if (r == 1 || e != 0) {
			note(&p->ignored, "sync_type %s is not NORMAL, CLEAN or CLEAN_ALL: ignored",
			     quote(v, q, sizeof(q)));
		}
	}
	if ((r = opt_bool(root, NAMES("clean_sync", "cleanSync"), &p->clean_sync, why, why_size)) < 0)
		goto out;
	if ((r = field(root, NAMES("batch_size", "batchSize"), &v, why, why_size, "preflight")) < 0)
		goto out;
	if (v && (r = get_uint32(v, &p->batch_size, "batch_size", "preflight", why, why_size)) < 0)
		goto out;
	if (p->batch_size == 0)
		p->batch_size = SYNC_DEFAULT_BATCH_SIZE;
	if ((r = field(root, NAMES("full_sync_interval", "fullSyncInterval", "full_sync_interval_seconds",
				   "fullSyncIntervalSeconds"), &v, why, why_size, "preflight")) < 0)
		goto out;
	if (v && (r = get_uint32(v, &p->full_sync_interval, "full_sync_interval", "preflight", why,
				 why_size)) < 0)
		goto out;
	if (p->full_sync_interval < 60)
		p->full_sync_interval = SYNC_DEFAULT_FULL_SYNC_INTERVAL;
	if (p->full_sync_interval > SYNC_MAX_FULL_SYNC_INTERVAL) {
		note(&p->ignored, "full_sync_interval %u s is over %u s (7 days): %u s used",
		     p->full_sync_interval, SYNC_MAX_FULL_SYNC_INTERVAL, SYNC_MAX_FULL_SYNC_INTERVAL);
		p->full_sync_interval = SYNC_MAX_FULL_SYNC_INTERVAL;
	}

	if ((r = opt_bool(root, NAMES("enable_bundles", "enableBundles"), &p->enable_bundles, why,
			  why_size)) < 0)
		goto out;
	if (!p->enable_bundles.set &&
	    (r = opt_bool(root, NAMES("bundles_enabled", "bundlesEnabled"), &p->enable_bundles, why,
			  why_size)) < 0)
		goto out;
	/* The new key first; the deprecated ones only when it is absent, in Santa's order. */
	if ((r = opt_bool(root, NAMES("enable_transitive_rules", "enableTransitiveRules"),
			  &p->enable_transitive_rules, why, why_size)) < 0)
		goto out;
	if (!p->enable_transitive_rules.set &&
	    (r = opt_bool(root, NAMES("enabled_transitive_whitelisting"),
			  &p->enable_transitive_rules, why, why_size)) < 0)
		goto out;
	if (!p->enable_transitive_rules.set &&
	    (r = opt_bool(root, NAMES("transitive_whitelisting_enabled"),
			  &p->enable_transitive_rules, why, why_size)) < 0)
		goto out;
	if ((r = opt_bool(root, NAMES("enable_all_event_upload", "enableAllEventUpload"),
			  &p->enable_all_event_upload, why, why_size)) < 0)
		goto out;
	if ((r = opt_bool(root, NAMES("disable_unknown_event_upload", "disableUnknownEventUpload"),
			  &p->disable_unknown_event_upload, why, why_size)) < 0)
		goto out;
	if ((r = opt_bool(root, NAMES("block_usb_mount", "blockUsbMount"), &p->block_usb_mount, why,
			  why_size)) < 0)
		goto out;
	if ((r = opt_regex(root, NAMES("allowed_path_regex", "allowedPathRegex"),
			   &p->allowed_path_regex_set, &p->allowed_path_regex, why, why_size)) < 0)
		goto out;
	if (!p->allowed_path_regex_set &&
	    (r = opt_regex(root, NAMES("whitelist_regex", "whitelistRegex"),
			   &p->allowed_path_regex_set, &p->allowed_path_regex, why, why_size)) < 0)
		goto out;
	if ((r = opt_regex(root, NAMES("blocked_path_regex", "blockedPathRegex"),
			   &p->blocked_path_regex_set, &p->blocked_path_regex, why, why_size)) < 0)
		goto out;
	if (!p->blocked_path_regex_set &&
	    (r = opt_regex(root, NAMES("blacklist_regex", "blacklistRegex"),
			   &p->blocked_path_regex_set, &p->blocked_path_regex, why, why_size)) < 0)
		goto out;
	r = 0;
out:
	json_decref(root);
	if (r < 0)
		sync_preflight_free(p);
	return r;
}

void
sync_preflight_free(struct sync_preflight *p)
{
	free(p->allowed_path_regex);
	free(p->blocked_path_regex);
	p->allowed_path_regex = p->blocked_path_regex = NULL;
}

enum sync_type
sync_resolve_type(const struct sync_preflight *p, enum sync_type requested)
{
	enum sync_type server = SYNC_TYPE_NORMAL;

	if (p->sync_type_set)
		server = p->sync_type;
	else if (p->clean_sync.set && p->clean_sync.value)
		server = SYNC_TYPE_CLEAN;
	/* The server decides, except that CLEAN never downgrades a requested CLEAN_ALL. */
	if (server == SYNC_TYPE_CLEAN && requested == SYNC_TYPE_CLEAN_ALL)
		return SYNC_TYPE_CLEAN_ALL;
	return server;
}

static const char *const policy_names[] = { "POLICY_UNKNOWN", "ALLOWLIST", "ALLOWLIST_COMPILER",
					    "BLOCKLIST", "SILENT_BLOCKLIST", "REMOVE" };
static const char *const policy_legacy[] = { NULL, "WHITELIST", "WHITELIST_COMPILER", "BLACKLIST",
					     "SILENT_BLACKLIST", NULL };
static const char *const rule_type_names[] = { "RULETYPE_UNKNOWN", "BINARY", "CERTIFICATE",
					       "TEAMID", "SIGNINGID", "CDHASH" };

void
sync_rule_free(struct sync_rule *rule)
{
	free(rule->identifier);
	free(rule->custom_msg);
	free(rule->custom_url);
	memset(rule, 0, sizeof(*rule));
}

/* 1: a valid rule in out; 0: a rule to skip (why says why); <0: the response is bad. */
static int
parse_rule(json_t *o, struct sync_rule *out, char *why, size_t why_size)
{
	char *id = NULL, q[80];
	json_t *v, *pv = NULL, *tv = NULL;
	int policy = 0, type = 0, r;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o))
		return fail(why, why_size, "ruledownload: rules: an element is not an object");
	if ((r = field(o, NAMES("policy"), &pv, why, why_size, "ruledownload")) < 0)
		return r;
	if (pv) {
		if (json_is_string(pv)) {
			for (int i = 1; i < 5; i++)
				if (policy_legacy[i] && strcasecmp(json_string_value(pv), policy_legacy[i]) == 0)
					policy = i;
		}
		if (!policy && (r = get_enum(pv, policy_names, 6, &policy, "policy", "ruledownload",
					     why, why_size)) < 0)
			return r;
	}
	if ((r = field(o, NAMES("rule_type", "ruleType"), &tv, why, why_size, "ruledownload")) < 0)
		return r;
	if (tv && (r = get_enum(tv, rule_type_names, 6, &type, "rule_type", "ruledownload", why,
				why_size)) < 0)
		return r;
	if ((r = field(o, NAMES("identifier"), &v, why, why_size, "ruledownload")) < 0)
		return r;
	if (v && (r = get_string(v, &id, SYNC_IDENTIFIER_MAX - 1, "identifier", "ruledownload",
				 why, why_size)) < 0)
		return r;
	if (!id || !id[0]) {
		free(id);
		id = NULL;
		if ((r = field(o, NAMES("sha256"), &v, why, why_size, "ruledownload")) < 0)
			return r;
		if (v && (r = get_string(v, &id, SYNC_IDENTIFIER_MAX - 1, "sha256", "ruledownload",
					 why, why_size)) < 0)
			return r;
	}
	out->identifier = id;
	if ((r = field(o, NAMES("custom_msg", "customMsg"), &v, why, why_size, "ruledownload")) < 0 ||
	    (v && (r = get_string(v, &out->custom_msg, 4096, "custom_msg", "ruledownload", why,
				  why_size)) < 0))
		goto bad;
	if ((r = field(o, NAMES("custom_url", "customUrl"), &v, why, why_size, "ruledownload")) < 0 ||
	    (v && (r = get_string(v, &out->custom_url, 4096, "custom_url", "ruledownload", why,
				  why_size)) < 0))
		goto bad;
	if (!id || !id[0]) {
		snprintf(why, why_size, "no identifier");
		goto skip;
	}
	/* Santa's reason is "Ignoring bad rule"; the admin needs which value was not understood. */
	if (policy < SANTA_POLICY_ALLOWLIST || policy > SANTA_POLICY_MAX) {
		snprintf(why, why_size, "%.80s: unknown policy %s", id, quote(pv, q, sizeof(q)));
		goto skip;
	}
	if (type < SANTA_RULE_TYPE_BINARY || type > SANTA_RULE_TYPE_MAX) {
		snprintf(why, why_size, "%.80s: unknown rule_type %s", id, quote(tv, q, sizeof(q)));
		goto skip;
	}
	/* Santa stores sync identifiers as received; normalising makes them match lookups. */
	if (santa_rule_identifier_normalize((enum santa_rule_type)type, id) < 0) {
		snprintf(why, why_size, "%.80s: not a valid %s identifier", id,
			 rule_type_names[type]);
		goto skip;
	}
	out->type = (enum santa_rule_type)type;
	out->policy = (enum santa_policy)policy;
	return 1;
skip:
	sync_rule_free(out);
	return 0;
bad:
	sync_rule_free(out);
	return r;
}

/* ---- a rule download, one value at a time ---- */

struct scan {
	const char *p, *end;
};

static void
skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool
next_is(struct scan *s, char c)
{
	skip_space(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/*
 * The next JSON value, parsed by jansson once its span was found and its
 * tree measured (json_tree_size) against max_values. The span is found from
 * the punctuation alone: a string to its closing quote, a container to its
 * matching bracket, a number or literal to the next delimiter; jansson then
 * judges whether it is valid. *v NULL: bad JSON or over the cap (why says).
 */
static int
next_value(struct scan *s, size_t max_values, json_t **v, const char *what, char *why,
	   size_t why_size)
{
	const char *start, *p;
	json_error_t err;
	size_t depth = 0, values;

	*v = NULL;
	skip_space(s);
	start = p = s->p;
	if (p >= s->end)
		return fail(why, why_size, "ruledownload: response is not valid JSON: cut off");
	if (*p != '"' && *p != '{' && *p != '[') {
		while (p < s->end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
		       *p != '\n' && *p != '\r')
			p++;
	} else {
		for (; p < s->end; p++) {
			if (*p == '"') {
				for (p++; p < s->end && *p != '"'; p++)
					if (*p == '\\')
						p++;
				if (p >= s->end)
					break;
			} else if (*p == '{' || *p == '[') {
				depth++;
			} else if (*p == '}' || *p == ']') {
				depth--;
			}
			if (depth == 0) {
				p++;
				break;
			}
		}
		if (depth != 0 || p > s->end)
			return fail(why, why_size, "ruledownload: response is not valid JSON: cut off");
	}
	values = json_tree_size(start, (size_t)(p - start));
	if (values > max_values)
		return fail(why, why_size, "ruledownload: %s: about %zu JSON values, over the cap "
			    "of %zu", what, values, max_values);
	*v = json_loadb(start, (size_t)(p - start), JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
	if (!*v)
		return fail(why, why_size, "ruledownload: response is not valid JSON: %s (%s)",
			    err.text, what);
	s->p = p;
	return 0;
}

static int
bad_json(char *why, size_t why_size, const struct scan *s, const char *body)
{
	return fail(why, why_size, "ruledownload: response is not valid JSON: unexpected %s at "
		    "byte %zu", s->p < s->end ? "character" : "end", (size_t)(s->p - body));
}

/* The rules array, element by element: only the rules kept stay in memory. */
static int
parse_rules(struct scan *s, const char *body, struct sync_rule_page *page, char *why,
	    size_t why_size)
{
	struct sync_rule *grown;
	char skip_why[256], what[48];
	size_t i, cap = 0;
	json_t *v;
	int r;

	skip_space(s);
	if (s->p < s->end && *s->p != '[') {
		/* null is absent; anything else is the wrong type */
		if ((r = next_value(s, SYNC_MAX_JSON_VALUES, &v, "rules", why, why_size)) < 0)
			return r;
		r = json_is_null(v) ? 0 : fail(why, why_size, "ruledownload: rules: expected an array");
		json_decref(v);
		return r;
	}
	if (!next_is(s, '['))
		return bad_json(why, why_size, s, body);
	if (next_is(s, ']'))
		return 0;
	for (i = 0;; i++) {
		if (i >= SYNC_MAX_RULES_PER_PAGE)
			return fail(why, why_size, "ruledownload: more than %d rules in one response, "
				    "over the cap", SYNC_MAX_RULES_PER_PAGE);
		snprintf(what, sizeof(what), "rules[%zu]", i);
		if ((r = next_value(s, SYNC_MAX_JSON_VALUES_PER_RULE, &v, what, why, why_size)) < 0)
			return r;
		if (json_is_null(v)) {
			json_decref(v);
			return fail(why, why_size, "ruledownload: rules[%zu]: null inside a list", i);
		}
		if (page->n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(page->rules, cap * sizeof(*page->rules));
			if (!grown) {
				json_decref(v);
				return -ENOMEM;
			}
			page->rules = grown;
		}
		r = parse_rule(v, &page->rules[page->n], skip_why, sizeof(skip_why));
		json_decref(v);
		if (r < 0)
			return fail(why, why_size, "%s (rules[%zu])", skip_why, i);
		if (r == 1) {
			page->n++;
		} else {
			page->skipped++;
			note(&page->ignored, "rules[%zu] %s: skipped", i, skip_why);
		}
		page->received++;
		if (next_is(s, ']'))
			return 0;
		if (!next_is(s, ','))
			return bad_json(why, why_size, s, body);
	}
}

int
sync_parse_ruledownload(const char *body, size_t len, struct sync_rule_page *page, char *why,
			size_t why_size)
{
	bool seen_rules = false, seen_cursor = false;
	struct scan s;
	json_t *key = NULL, *v = NULL;
	const char *name;
	char what[80];
	int r;

	memset(page, 0, sizeof(*page));
	if ((r = json_text(&body, &len, "ruledownload", why, why_size)) < 0 || len == 0)
		return r;
	s.p = body;
	s.end = body + len;
	if (!next_is(&s, '{')) {
		r = fail(why, why_size, "ruledownload: response is not a JSON object");
		goto out;
	}
	if (next_is(&s, '}'))
		goto end;
	for (;;) {
		skip_space(&s);
		if (s.p >= s.end || *s.p != '"') {
			r = bad_json(why, why_size, &s, body);
			goto out;
		}
		if ((r = next_value(&s, 1, &key, "a key", why, why_size)) < 0)
			goto out;
		name = json_string_value(key);
		if (!next_is(&s, ':')) {
			r = bad_json(why, why_size, &s, body);
			goto out;
		}
		if (strcmp(name, "rules") == 0) {
			if (seen_rules) {
				r = fail(why, why_size, "ruledownload: rules given twice");
				goto out;
			}
			seen_rules = true;
			if ((r = parse_rules(&s, body, page, why, why_size)) < 0)
				goto out;
		} else {
			/* cursor, or a key Santa does not know: read, checked, dropped */
			snprintf(what, sizeof(what), "%.60s", name);
			if ((r = next_value(&s, SYNC_MAX_JSON_VALUES, &v, what, why, why_size)) < 0)
				goto out;
			if (strcmp(name, "cursor") == 0 && !json_is_null(v)) {
				if (seen_cursor) {
					r = fail(why, why_size, "ruledownload: cursor given twice");
					goto out;
				}
				seen_cursor = true;
				if ((r = get_string(v, &page->cursor, SYNC_MAX_CURSOR_LEN, "cursor",
						    "ruledownload", why, why_size)) < 0)
					goto out;
			}
			json_decref(v);
			v = NULL;
		}
		json_decref(key);
		key = NULL;
		if (next_is(&s, '}'))
			break;
		if (!next_is(&s, ',')) {
			r = bad_json(why, why_size, &s, body);
			goto out;
		}
	}
end:
	skip_space(&s);
	if (s.p != s.end) {
		r = bad_json(why, why_size, &s, body);
		goto out;
	}
	r = 0;
out:
	json_decref(key);
	json_decref(v);
	if (r < 0)
		sync_rule_page_free(page);
	return r;
}

void
sync_rule_page_free(struct sync_rule_page *page)
{
	for (size_t i = 0; page->rules && i < page->n; i++)
		sync_rule_free(&page->rules[i]);
	free(page->rules);
	free(page->cursor);
	memset(page, 0, sizeof(*page));
}

int
sync_parse_eventupload(const char *body, size_t len, char ***hashes, size_t *n, char *why,
		       size_t why_size)
{
	json_t *root, *list, *v;
	size_t i, count;
	int r;

	*hashes = NULL;
	*n = 0;
	r = load_object(body, len, &root, "eventupload", why, why_size);
	if (r < 0 || !root)
		return r;
	r = field(root, NAMES("event_upload_bundle_binaries", "eventUploadBundleBinaries"), &list,
		  why, why_size, "eventupload");
	if (r < 0 || !list)
		goto out;
	if (!json_is_array(list) || json_array_size(list) > 10000) {
		r = fail(why, why_size, "eventupload: event_upload_bundle_binaries: expected a list "
			 "of at most 10000 strings");
		goto out;
	}
	count = json_array_size(list);
	*hashes = calloc(count ? count : 1, sizeof(char *));
	if (!*hashes) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		v = json_array_get(list, i);
		r = get_string(v, &(*hashes)[i], 128, "event_upload_bundle_binaries", "eventupload",
			       why, why_size);
		if (r < 0)
			goto out;
		*n = i + 1;
	}
	r = 0;
out:
	json_decref(root);
	if (r < 0 && *hashes) {
		for (i = 0; i < *n; i++)
			free((*hashes)[i]);
		free(*hashes);
		*hashes = NULL;
		*n = 0;
	}
	return r;
}

/* ---- requests ---- */

static char *
dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

static void
put_str(json_t *o, const char *key, const char *value)
{
	if (value && value[0])
		json_object_set_new(o, key, json_string(value));
}

static void
put_uint(json_t *o, const char *key, uint64_t value)
{
	if (value)
		json_object_set_new(o, key, json_integer((json_int_t)value));
}

char *
sync_preflight_request(const struct sync_machine_info *m)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	/* Field-number order of PreflightRequest, as Santa prints it. */
	put_str(o, "serial_num", m->serial_num);
	put_str(o, "hostname", m->hostname);
	put_str(o, "os_version", m->os_version);
	put_str(o, "os_build", m->os_build);
	put_str(o, "model_identifier", m->model_identifier);
	put_str(o, "santa_version", m->santa_version);
	put_str(o, "primary_user", m->primary_user);
	if (m->client_mode == SANTA_MODE_MONITOR || m->client_mode == SANTA_MODE_LOCKDOWN)
		put_str(o, "client_mode", m->client_mode == SANTA_MODE_MONITOR ? "MONITOR" : "LOCKDOWN");
	if (m->request_clean_sync)
		json_object_set_new(o, "request_clean_sync", json_true());
	put_uint(o, "binary_rule_count", m->binary_rule_count);
	put_uint(o, "certificate_rule_count", m->certificate_rule_count);
	put_uint(o, "compiler_rule_count", m->compiler_rule_count);
	put_uint(o, "transitive_rule_count", m->transitive_rule_count);
	put_uint(o, "teamid_rule_count", m->teamid_rule_count);
	put_uint(o, "signingid_rule_count", m->signingid_rule_count);
	put_uint(o, "cdhash_rule_count", m->cdhash_rule_count);
	put_str(o, "machine_id", m->machine_id);
	return dump(o);
}

char *
sync_eventupload_request(const char *const *events, size_t n, const char *machine_id)
{
	json_t *o = json_object(), *list = json_array(), *e;
	json_error_t err;

	if (!o || !list) {
		json_decref(o);
		json_decref(list);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		e = json_loads(events[i], 0, &err);
		if (!json_is_object(e)) {
			/* santad wrote every stored event; a bad one is skipped, not sent. */
			json_decref(e);
			continue;
		}
		json_array_append_new(list, e);
	}
	json_object_set_new(o, "events", list);
	put_str(o, "machine_id", machine_id);
	return dump(o);
}

char *
sync_ruledownload_request(const char *cursor, const char *machine_id)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	put_str(o, "cursor", cursor);
	put_str(o, "machine_id", machine_id);
	return dump(o);
}

char *
sync_postflight_request(uint64_t rules_received, uint64_t rules_processed, const char *machine_id)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	put_uint(o, "rules_received", rules_received);
	put_uint(o, "rules_processed", rules_processed);
	put_str(o, "machine_id", machine_id);
	return dump(o);
}

int
sync_compress(const void *in, size_t len, enum santa_content_encoding enc, void **out,
	      size_t *out_len)
{
	z_stream zs = { 0 };
	uLong bound;
	int r;

	*out = NULL;
	*out_len = 0;
	/* windowBits 15: zlib wrapper ("deflate" in HTTP); 31: gzip wrapper. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
			 enc == SANTA_ENCODING_GZIP ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, (uLong)len) + 32;
	*out = malloc(bound);
	if (!*out) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = *out;
	zs.avail_out = (uInt)bound;
	r = deflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	if (r != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -EIO;
	}
	return 0;
}

char *
sync_rule_to_line(const struct sync_rule *rule)
{
	json_t *o = json_pack("{s:s, s:i, s:i}", "identifier", rule->identifier, "rule_type",
			      (int)rule->type, "policy", (int)rule->policy);
	char *s, *line;
	size_t len;

	if (!o)
		return NULL;
	put_str(o, "custom_msg", rule->custom_msg);
	put_str(o, "custom_url", rule->custom_url);
	s = dump(o);
	if (!s)
		return NULL;
	len = strlen(s);
	line = realloc(s, len + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

int
sync_rule_from_line(const char *line, size_t len, struct sync_rule *rule, char *why,
		    size_t why_size)
{
	json_error_t err;
	json_t *o, *v;
	json_int_t type, policy;
	int r = -EBADMSG;

	memset(rule, 0, sizeof(*rule));
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(o) || json_unpack(o, "{s:I, s:I}", "rule_type", &type, "policy", &policy) < 0 ||
	    !json_is_string(v = json_object_get(o, "identifier"))) {
		snprintf(why, why_size, "not a rule line");
		goto out;
	}
	if (type < SANTA_RULE_TYPE_BINARY || type > SANTA_RULE_TYPE_MAX ||
	    policy < SANTA_POLICY_ALLOWLIST || policy > SANTA_POLICY_MAX ||
	    json_string_length(v) >= SYNC_IDENTIFIER_MAX) {
		snprintf(why, why_size, "rule with an unknown type or policy, or a long identifier");
		goto out;
	}
	rule->type = (enum santa_rule_type)type;
	rule->policy = (enum santa_policy)policy;
	rule->identifier = strdup(json_string_value(v));
	if ((v = json_object_get(o, "custom_msg")) && json_is_string(v))
		rule->custom_msg = strdup(json_string_value(v));
	if ((v = json_object_get(o, "custom_url")) && json_is_string(v))
		rule->custom_url = strdup(json_string_value(v));
	if (!rule->identifier || santa_rule_identifier_normalize(rule->type, rule->identifier) < 0) {
		snprintf(why, why_size, "rule with an invalid identifier");
		goto out;
	}
	r = 0;
out:
	json_decref(o);
	if (r < 0)
		sync_rule_free(rule);
	return r;
}
