/*
 * Sync protocol v1 bodies. Parsing follows protobuf's JSON mapping with
 * ignore_unknown_fields, which is what Santa's client runs every response
 * through: servers written against it (moroz, Rudolph, Zentral) rely on
 * exactly those rules, so the quirks are kept, not improved.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * An enum: an exact name from names (index = value), an integer, or an
 * integer in a string. An unknown name gives 0 (protobuf's "unknown"); a
 * number outside the enum is kept as given, as protobuf does for open enums.
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
			if (names[i] && strcmp(s, names[i]) == 0) {
				*out = (int)i;
				return 0;
			}
		}
		if (get_uint32(v, &u, name, stage, why, why_size) == 0 && u < 1000) {
			*out = (int)u;
			return 0;
		}
		*out = 0;
		return 0;
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

/* Strips Santa's XSSI prefixes and parses one JSON object; *root NULL for an empty body. */
static int
load_object(const char *body, size_t len, json_t **root, const char *stage, char *why,
	    size_t why_size)
{
	json_error_t err;

	*root = NULL;
	if (len > SYNC_MAX_RESPONSE_BYTES)
		return fail(why, why_size, "%s: response of %zu bytes is over the %u-byte cap",
			    stage, len, SYNC_MAX_RESPONSE_BYTES);
	if (len >= 5 && memcmp(body, ")]}'\n", 5) == 0) {
		body += 5;
		len -= 5;
	} else if (len >= 3 && memcmp(body, "])}", 3) == 0) {
		body += 3;
		len -= 3;
	}
	if (len == 0)
		return 0;
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
static const char *const sync_type_alias[] = { "normal", "clean", "clean_all" };

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
	}
	if ((r = field(root, NAMES("sync_type", "syncType"), &v, why, why_size, "preflight")) < 0)
		goto out;
	if (v) {
		e = -1;
		if (json_is_string(v)) {
			for (int i = 0; i < 3; i++)
				if (strcmp(json_string_value(v), sync_type_alias[i]) == 0)
					e = i + 1;
		}
		if (e < 0 && (r = get_enum(v, NAMES("SYNC_TYPE_UNSPECIFIED", "NORMAL", "CLEAN", "CLEAN_ALL"),
					   4, &e, "sync_type", "preflight", why, why_size)) < 0)
			goto out;
		/* An optional enum with an unknown name stays unset. */
		if (e >= 1 && e <= 3) {
			p->sync_type_set = true;
			p->sync_type = (enum sync_type)(e - 1);
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
	char *id = NULL;
	json_t *v;
	int e = 0, policy = 0, type = 0, r;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o))
		return fail(why, why_size, "ruledownload: rules: an element is not an object");
	if ((r = field(o, NAMES("policy"), &v, why, why_size, "ruledownload")) < 0)
		return r;
	if (v) {
		if (json_is_string(v)) {
			for (int i = 1; i < 5; i++)
				if (policy_legacy[i] && strcmp(json_string_value(v), policy_legacy[i]) == 0)
					policy = i;
		}
		if (!policy && (r = get_enum(v, policy_names, 6, &policy, "policy", "ruledownload",
					     why, why_size)) < 0)
			return r;
	}
	if ((r = field(o, NAMES("rule_type", "ruleType"), &v, why, why_size, "ruledownload")) < 0)
		return r;
	if (v && (r = get_enum(v, rule_type_names, 6, &type, "rule_type", "ruledownload", why,
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
		snprintf(why, why_size, "a rule without identifier");
		e = 0;
		goto skip;
	}
	if (policy < SANTA_POLICY_ALLOWLIST || policy > SANTA_POLICY_MAX ||
	    type < SANTA_RULE_TYPE_BINARY || type > SANTA_RULE_TYPE_MAX) {
		snprintf(why, why_size, "rule %.80s: unknown policy or rule_type", id);
		goto skip;
	}
	/* Santa stores sync identifiers as received; normalising makes them match lookups. */
	if (santa_rule_identifier_normalize((enum santa_rule_type)type, id) < 0) {
		snprintf(why, why_size, "rule %.80s: not a valid %s identifier", id,
			 rule_type_names[type]);
		goto skip;
	}
	out->type = (enum santa_rule_type)type;
	out->policy = (enum santa_policy)policy;
	return 1;
skip:
	sync_rule_free(out);
	return e;
bad:
	sync_rule_free(out);
	return r;
}

int
sync_parse_ruledownload(const char *body, size_t len, struct sync_rule_page *page, char *why,
			size_t why_size)
{
	json_t *root, *v, *rules;
	char skip_why[256];
	size_t i, n;
	int r;

	memset(page, 0, sizeof(*page));
	r = load_object(body, len, &root, "ruledownload", why, why_size);
	if (r < 0 || !root)
		return r;
	if ((r = field(root, NAMES("cursor"), &v, why, why_size, "ruledownload")) < 0)
		goto out;
	if (v && (r = get_string(v, &page->cursor, SYNC_MAX_CURSOR_LEN, "cursor", "ruledownload",
				 why, why_size)) < 0)
		goto out;
	if ((r = field(root, NAMES("rules"), &rules, why, why_size, "ruledownload")) < 0)
		goto out;
	if (rules && !json_is_array(rules)) {
		r = fail(why, why_size, "ruledownload: rules: expected an array");
		goto out;
	}
	n = rules ? json_array_size(rules) : 0;
	if (n > SYNC_MAX_RULES_PER_PAGE) {
		r = fail(why, why_size, "ruledownload: %zu rules in one response, over the cap of %d",
			 n, SYNC_MAX_RULES_PER_PAGE);
		goto out;
	}
	page->rules = calloc(n ? n : 1, sizeof(*page->rules));
	if (!page->rules) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		v = json_array_get(rules, i);
		if (json_is_null(v)) {
			r = fail(why, why_size, "ruledownload: rules[%zu]: null inside a list", i);
			goto out;
		}
		r = parse_rule(v, &page->rules[page->n], skip_why, sizeof(skip_why));
		if (r < 0) {
			snprintf(why, why_size, "%s (rules[%zu])", skip_why, i);
			goto out;
		}
		if (r == 1)
			page->n++;
		else
			page->skipped++;
	}
	page->received = n;
	r = 0;
out:
	json_decref(root);
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
