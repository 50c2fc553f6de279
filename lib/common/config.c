/*
 * Loader for santa.conf. The key table below is the single place that says
 * which keys exist, what type each has and where its value goes; the INI
 * syntax itself is inih's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ini.h>
#include <pcre2.h>

#include "santa/config.h"
#include "santa/path.h"

enum key_type {
	KEY_BOOL,
	KEY_INT,
	KEY_STRING,
	KEY_PATH,  /* absolute, clean path */
	KEY_REGEX, /* PCRE2 pattern, compiled once to check it */
	KEY_URL,   /* http(s):// or file:// */
	KEY_STRV,  /* comma-separated list */
	KEY_MODE,
	KEY_LOG_TYPE,
	KEY_ENCODING,
	KEY_MARK_TYPE, /* filesystem or mount */
	KEY_MACOS_ONLY, /* accepted, has no effect on Linux */
};

/*
 * Deprecated names: normally the replacement wins whatever the order, but for
 * EnableTransitiveWhitelisting Santa reads the old local name first, so there
 * the old name wins (KEY_FLAG_OLD_WINS).
 */
#define KEY_FLAG_DEPRECATED 0x1
#define KEY_FLAG_OLD_WINS   0x2
/* Accepted, as on Santa, but not acted on yet: set to anything but false, a warning says why (replacement). */
#define KEY_FLAG_INERT      0x4

struct key_def {
	const char *name;
	enum key_type type;
	size_t offset;
	int64_t min, max;
	unsigned int flags;
	const char *replacement;
};

#define F(field) offsetof(struct santa_config, field)
#define BOOL(n, f)   { n, KEY_BOOL, F(f), 0, 0, 0, NULL }
#define STR(n, f)    { n, KEY_STRING, F(f), 0, 0, 0, NULL }
#define PATH(n, f)   { n, KEY_PATH, F(f), 0, 0, 0, NULL }
#define REGEX(n, f)  { n, KEY_REGEX, F(f), 0, 0, 0, NULL }
#define URL(n, f)    { n, KEY_URL, F(f), 0, 0, 0, NULL }
#define STRV(n, f)   { n, KEY_STRV, F(f), 0, 0, 0, NULL }
#define INT(n, f, lo, hi) { n, KEY_INT, F(f), lo, hi, 0, NULL }
#define MACOS(n)     { n, KEY_MACOS_ONLY, 0, 0, 0, 0, NULL }
#define OLD(n, t, f, repl) { n, t, F(f), 0, 0, KEY_FLAG_DEPRECATED, repl }
#define INERT(n, t, f, why) { n, t, F(f), 0, 0, KEY_FLAG_INERT, why }

static const struct key_def keys[] = {
	/* Enforcement and rules */
	{ "ClientMode", KEY_MODE, F(client_mode), 0, 0, 0, NULL },
	BOOL("FailClosed", fail_closed),
	REGEX("AllowedPathRegex", allowed_path_regex),
	OLD("WhitelistRegex", KEY_REGEX, allowed_path_regex, "AllowedPathRegex"),
	REGEX("BlockedPathRegex", blocked_path_regex),
	OLD("BlacklistRegex", KEY_REGEX, blocked_path_regex, "BlockedPathRegex"),
	BOOL("EnableTransitiveRules", enable_transitive_rules),
	{ "EnableTransitiveWhitelisting", KEY_BOOL, F(enable_transitive_rules), 0, 0,
	  KEY_FLAG_DEPRECATED | KEY_FLAG_OLD_WINS, "EnableTransitiveRules" },
	BOOL("EnableAllEventUpload", enable_all_event_upload),
	BOOL("DisableUnknownEventUpload", disable_unknown_event_upload),
	BOOL("SyncAllowInsecureHTTP", sync_allow_insecure_http),
	INERT("EnableBadSignatureProtection", KEY_BOOL, enable_bad_signature_protection,
	      "Linux programs carry no code signature to find bad; a packaged file that fails its "
	      "package check is an unknown file"),

	/* Event logging */
	{ "EventLogType", KEY_LOG_TYPE, F(event_log_type), 0, 0, 0, NULL },
	PATH("EventLogPath", event_log_path),
	BOOL("EnableMachineIDDecoration", enable_machine_id_decoration),
	INERT("EnableForkAndExitLogging", KEY_BOOL, enable_fork_and_exit_logging,
	      "santad writes no FORK or EXIT lines"),
	REGEX("FileChangesRegex", file_changes_regex),
	STRV("FileChangesPrefixFilters", file_changes_prefix_filters),
	INERT("EnableDebugLogging", KEY_BOOL, enable_debug_logging,
	      "santad's diagnostics have fixed levels (journalctl -p debug shows all)"),

	/* User notification */
	BOOL("EnableSilentMode", enable_silent_mode),
	BOOL("EnableSilentTTYMode", enable_silent_tty_mode),
	INERT("AboutText", KEY_STRING, about_text, "santa-gui has no about window"),
	INERT("MoreInfoURL", KEY_URL, more_info_url, "santa-gui has no about window"),
	STR("EventDetailURL", event_detail_url), /* a template: placeholders are not URL syntax */
	STR("EventDetailText", event_detail_text),
	INERT("DismissText", KEY_STRING, dismiss_text,
	      "desktop notifications have the desktop's own dismiss button"),
	STR("UnknownBlockMessage", unknown_block_message),
	STR("BannedBlockMessage", banned_block_message),
	STR("ModeNotificationMonitor", mode_notification_monitor),
	STR("ModeNotificationLockdown", mode_notification_lockdown),

	/* Sync */
	URL("SyncBaseURL", sync_base_url),
	{ "SyncClientContentEncoding", KEY_ENCODING, F(sync_client_content_encoding), 0, 0, 0,
	  NULL },
	BOOL("SyncEnableCleanSyncEventUpload", sync_enable_clean_sync_event_upload),
	STR("SyncProxy", sync_proxy),
	PATH("ClientAuthCertificateFile", client_auth_certificate_file),
	STR("ClientAuthCertificatePassword", client_auth_certificate_password),
	PATH("ClientAuthKeyFile", client_auth_key_file),
	PATH("ServerAuthRootsFile", server_auth_roots_file),
	STR("MachineOwner", machine_owner),
	STR("MachineID", machine_id),
	STR("SerialNumber", serial_number), /* Linux: preflight serial_num, before DMI */

	/* Metrics */
	STR("MetricFormat", metric_format),
	URL("MetricURL", metric_url),
	INT("MetricExportInterval", metric_export_interval, 1, 86400),
	INT("MetricExportTimeout", metric_export_timeout, 1, 3600),
	INT("MetricPrometheusPort", metric_prometheus_port, 0, 65535),
	PATH("MetricTextfilePath", metric_textfile_path),

	/* Linux */
	STRV("WatchPaths", watch_paths),
	{ "WatchMarkType", KEY_MARK_TYPE, F(watch_mark_mount), 0, 0, 0, NULL },
	INT("DecisionTimeoutMs", decision_timeout_ms, 10, 60000),
	INT("DecisionCacheSize", decision_cache_size, 0, 10000000),
	BOOL("EnableKernelIgnoreMarks", enable_kernel_ignore_marks),
	BOOL("EnableLoaderCheck", enable_loader_check),
	INT("HashWorkerThreads", hash_worker_threads, 1, 64),
	INT("EventsDBMaxEvents", events_db_max_events, 1, 10000000),
	INT("EventLogUserQuotaMB", event_log_user_quota_mb, 0, 1048576),
	PATH("RulesDBPath", rules_db_path),
	PATH("EventsDBPath", events_db_path),
	PATH("SyncStatePath", sync_state_path),
	PATH("RunDirectory", run_directory),
	PATH("SantactlPath", santactl_path),
	PATH("SantaGUIPath", santa_gui_path),
	INT("BundleServiceIdleSec", bundle_service_idle_sec, 1, 86400),
	STRV("BundleRoots", bundle_roots),
	PATH("HelperDirectory", helper_directory),
	BOOL("SystemdHelperUnits", systemd_helper_units),
	STR("SyncServiceUser", sync_service_user),
	STR("MetricServiceUser", metric_service_user),
	STR("BundleServiceUser", bundle_service_user),
	BOOL("EnablePackageTrust", enable_package_trust),
	PATH("PackageTrustDpkgDir", package_trust_dpkg_dir),
	PATH("PackageTrustAptListsDir", package_trust_apt_lists_dir),
	PATH("PackageTrustCachePath", package_trust_cache_path),
	STRV("PackageTrustKeyrings", package_trust_keyrings),
	STRV("PackageTrustPlatformKeyrings", package_trust_platform_keyrings),

	/* macOS only: Mach-O, EndpointSecurity, USB, FAA, keychain, plists, FCM, proto spool */
	MACOS("EnablePageZeroProtection"),
	MACOS("IgnoreOtherEndpointSecurityClients"),
	MACOS("EntitlementsPrefixFilter"),
	MACOS("EntitlementsTeamIDFilter"),
	MACOS("EnabledProcessAnnotations"),
	MACOS("BlockUSBMount"),
	MACOS("RemountUSBMode"),
	MACOS("OnStartUSBOptions"),
	MACOS("BannedUSBBlockMessage"),
	MACOS("RemountUSBBlockMessage"),
	MACOS("FileAccessPolicy"),
	MACOS("FileAccessPolicyPlist"),
	MACOS("FileAccessPolicyUpdateIntervalSec"),
	MACOS("FileAccessBlockMessage"),
	MACOS("OverrideFileAccessAction"),
	MACOS("ClientAuthCertificateCN"),
	MACOS("ClientAuthCertificateIssuerCN"),
	MACOS("ServerAuthRootsData"),
	MACOS("SyncProxyConfiguration"),
	MACOS("SyncEnableProtoTransfer"),
	MACOS("MachineOwnerPlist"),
	MACOS("MachineOwnerKey"),
	MACOS("MachineIDPlist"),
	MACOS("MachineIDKey"),
	MACOS("FCMProject"),
	MACOS("FCMEntity"),
	MACOS("FCMAPIKey"),
	MACOS("SpoolDirectory"),
	MACOS("SpoolDirectoryFileSizeThresholdKB"),
	MACOS("SpoolDirectorySizeThresholdMB"),
	MACOS("SpoolDirectoryEventMaxFlushTimeSec"),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

#define STATIC_RULE_PREFIX "StaticRule:"

struct parse_ctx {
	struct santa_config *cfg;
	const char *file;
	santa_config_diag_fn diag;
	void *userdata;

	/* Reader state: the raw line inih is handed, so diagnostics get real line numbers. */
	const char *text; /* load_string */
	FILE *fp;         /* load */
	char *line;
	size_t line_cap;
	unsigned int lineno;
	bool line_is_continuation;

	unsigned int errors;
	unsigned int key_line[N_KEYS]; /* where each key was set, 0 = not set */
	bool deprecated_seen[N_KEYS];
	bool last_value_ignored; /* continuation lines of an ignored value are ignored too */
	struct santa_static_rule *rule; /* section being filled */
	unsigned int rule_line;
};

static void
diag(struct parse_ctx *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
diag(struct parse_ctx *ctx, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level <= LOG_ERR)
		ctx->errors++;
	if (!ctx->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->diag(ctx->userdata, level, ctx->file, ctx->lineno, msg);
}

static int
set_string(char **dst, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

/* Appends a continuation line to a string value, within the value cap. */
static int
append_string(char **dst, const char *more)
{
	size_t old = *dst ? strlen(*dst) : 0, add = strlen(more);
	char *p;

	if (old + add >= SANTA_CONFIG_MAX_VALUE_LEN)
		return -E2BIG;
	p = realloc(*dst, old + add + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + old, more, add + 1);
	*dst = p;
	return 0;
}

static void
strv_free(struct santa_strv *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->n = 0;
}

static void
dict_free(struct santa_dict *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].key);
		free(d->items[i].value);
	}
	free(d->items);
	d->items = NULL;
	d->n = 0;
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* Splits value at commas into v (replacing it); empty items are dropped. */
static int
parse_strv(struct santa_strv *v, const char *value)
{
	struct santa_strv out = { 0 };
	char *copy, *save = NULL, *tok, *item;
	int r = 0;

	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		item = trim(tok);
		if (!*item)
			continue;
		if (out.n >= SANTA_CONFIG_MAX_LIST_ITEMS) {
			r = -E2BIG;
			goto out;
		}
		char **items = realloc(out.items, (out.n + 1) * sizeof(*items));
		if (!items) {
			r = -ENOMEM;
			goto out;
		}
		out.items = items;
		out.items[out.n] = strdup(item);
		if (!out.items[out.n]) {
			r = -ENOMEM;
			goto out;
		}
		out.n++;
	}
	strv_free(v);
	*v = out;
	out.items = NULL;
	out.n = 0;
out:
	strv_free(&out);
	free(copy);
	return r;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Compiles the pattern to prove it is one; the compiled form is the policy library's job. */
static int
check_regex(const char *pattern, char *err, size_t err_size)
{
	PCRE2_UCHAR buf[256];
	PCRE2_SIZE offset = 0;
	pcre2_code *code;
	int errcode = 0;

	code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &errcode, &offset,
			     NULL);
	if (code) {
		pcre2_code_free(code);
		return 0;
	}
	pcre2_get_error_message(errcode, buf, sizeof(buf));
	snprintf(err, err_size, "%s at offset %zu", (const char *)buf, (size_t)offset);
	return -EINVAL;
}

static bool
is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0 ||
	       strncasecmp(s, "file:///", 8) == 0;
}

struct type_text {
	char text[96];
};

static const char *
type_description(const struct key_def *k, struct type_text *range)
{
	switch (k->type) {
	case KEY_BOOL:
		return "a boolean (true/false, yes/no, on/off, 1/0)";
	case KEY_INT:
		snprintf(range->text, sizeof(range->text), "an integer from %lld to %lld",
			 (long long)k->min, (long long)k->max);
		return range->text;
	case KEY_STRING:
		return "a string";
	case KEY_PATH:
		return "an absolute path without '.', '..' or empty components";
	case KEY_REGEX:
		return "a PCRE2 regular expression";
	case KEY_URL:
		return "a URL starting with http://, https:// or file:///";
	case KEY_STRV:
		return "a comma-separated list";
	case KEY_MODE:
		return "1 or MONITOR, 2 or LOCKDOWN";
	case KEY_LOG_TYPE:
		return "one of file, syslog, json, null";
	case KEY_ENCODING:
		return "one of deflate, gzip, none";
	case KEY_MARK_TYPE:
		return "filesystem or mount";
	case KEY_MACOS_ONLY:
		break;
	}
	return "a value";
}

static const struct key_def *
find_key(const char *name, size_t *index)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			*index = i;
			return &keys[i];
		}
	}
	return NULL;
}

static const char *
suggest_key(const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strcasecmp(keys[i].name, name) == 0)
			return keys[i].name;
	return NULL;
}

/* Stores one value for key k; returns 0, -EINVAL (bad value, diagnosed) or -ENOMEM. */
static int
store_value(struct parse_ctx *ctx, const struct key_def *k, const char *value)
{
	void *field = (char *)ctx->cfg + k->offset;
	struct type_text tt;
	bool b;
	int64_t i;
	int r;

	switch (k->type) {
	case KEY_BOOL:
		if (parse_bool(value, &b) < 0)
			goto bad;
		*(bool *)field = b;
		return 0;
	case KEY_INT:
		if (parse_int(value, k->min, k->max, &i) < 0)
			goto bad;
		*(int64_t *)field = i;
		return 0;
	case KEY_MODE: {
		enum santa_mode m = santa_mode_from_string(value);

		if (m == SANTA_MODE_UNKNOWN)
			goto bad;
		*(enum santa_mode *)field = m;
		return 0;
	}
	case KEY_LOG_TYPE: {
		static const enum santa_event_log_type types[] = {
			SANTA_EVENT_LOG_FILE, SANTA_EVENT_LOG_SYSLOG,
			SANTA_EVENT_LOG_JSON, SANTA_EVENT_LOG_NULL,
		};
		size_t t;

		for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			if (strcasecmp(value, santa_event_log_type_to_string(types[t])) == 0) {
				*(enum santa_event_log_type *)field = types[t];
				return 0;
			}
		}
		/* Santa's docs spell the file log "filelog". */
		if (strcasecmp(value, "filelog") == 0) {
			*(enum santa_event_log_type *)field = SANTA_EVENT_LOG_FILE;
			return 0;
		}
		if (strcasecmp(value, "protobuf") == 0) {
			diag(ctx, LOG_WARNING,
			     "EventLogType = protobuf: Santa's protobuf spool is not written on Linux; "
			     "writing its messages as JSON lines (json) instead");
			*(enum santa_event_log_type *)field = SANTA_EVENT_LOG_JSON;
			return 0;
		}
		goto bad;
	}
	case KEY_ENCODING: {
		static const enum santa_content_encoding encs[] = {
			SANTA_ENCODING_DEFLATE, SANTA_ENCODING_GZIP, SANTA_ENCODING_NONE,
		};
		size_t e;

		for (e = 0; e < sizeof(encs) / sizeof(encs[0]); e++) {
			if (strcasecmp(value, santa_content_encoding_to_string(encs[e])) == 0) {
				*(enum santa_content_encoding *)field = encs[e];
				return 0;
			}
		}
		goto bad;
	}
	case KEY_MARK_TYPE:
		if (strcasecmp(value, "filesystem") == 0)
			*(bool *)field = false;
		else if (strcasecmp(value, "mount") == 0)
			*(bool *)field = true;
		else
			goto bad;
		return 0;
	case KEY_PATH:
		if (!santa_path_is_clean_absolute(value))
			goto bad;
		return set_string(field, value);
	case KEY_URL:
		if (!is_url(value))
			goto bad;
		return set_string(field, value);
	case KEY_REGEX: /* checked in check_regexes(), once continuation lines are in */
	case KEY_STRING:
		return set_string(field, value);
	case KEY_STRV:
		r = parse_strv(field, value);
		if (r == -E2BIG) {
			diag(ctx, LOG_ERR, "%s: more than %d list items", k->name,
			     SANTA_CONFIG_MAX_LIST_ITEMS);
			return -EINVAL;
		}
		return r;
	case KEY_MACOS_ONLY:
		diag(ctx, LOG_WARNING, "%s is a macOS-only setting and has no effect on Linux",
		     k->name);
		return 0;
	}
bad:
	diag(ctx, LOG_ERR, "%s: expected %s, got \"%s\"", k->name, type_description(k, &tt), value);
	return -EINVAL;
}

/* True when a deprecated alias of k that takes precedence over k was already set. */
static bool
old_name_wins_over(const struct parse_ctx *ctx, const struct key_def *k)
{
	size_t j;

	for (j = 0; j < N_KEYS; j++)
		if (ctx->deprecated_seen[j] && (keys[j].flags & KEY_FLAG_OLD_WINS) &&
		    strcmp(keys[j].replacement, k->name) == 0)
			return true;
	return false;
}

static int
handle_top_level(struct parse_ctx *ctx, const char *name, const char *value)
{
	const struct key_def *k;
	struct type_text tt;
	size_t idx, ridx = 0;
	const char *hint;
	char **str;
	int r;

	k = find_key(name, &idx);
	if (!k) {
		hint = suggest_key(name);
		if (hint)
			diag(ctx, LOG_WARNING, "unknown key %s ignored (did you mean %s?)", name,
			     hint);
		else
			diag(ctx, LOG_WARNING, "unknown key %s ignored", name);
		return 0;
	}
	if (ctx->line_is_continuation && ctx->key_line[idx]) {
		if (ctx->last_value_ignored)
			return 0;
		/* Only text values can be continued: a number or a list on two lines is an error. */
		if (k->type != KEY_STRING && k->type != KEY_REGEX && k->type != KEY_URL) {
			diag(ctx, LOG_ERR, "%s: expected %s on a single line", k->name,
			     type_description(k, &tt));
			return -EINVAL;
		}
		str = (char **)((char *)ctx->cfg + k->offset);
		if (append_string(str, value) < 0) {
			diag(ctx, LOG_ERR, "%s: value longer than %d bytes", k->name,
			     SANTA_CONFIG_MAX_VALUE_LEN);
			return -EINVAL;
		}
		return 0;
	}
	if (ctx->key_line[idx])
		diag(ctx, LOG_WARNING, "%s is set again (first on line %u); the last value wins",
		     k->name, ctx->key_line[idx]);
	ctx->key_line[idx] = ctx->lineno;
	ctx->last_value_ignored = true;

	if (k->flags & KEY_FLAG_DEPRECATED) {
		ctx->deprecated_seen[idx] = true;
		find_key(k->replacement, &ridx);
		if (ctx->key_line[ridx] && !(k->flags & KEY_FLAG_OLD_WINS)) {
			diag(ctx, LOG_WARNING, "%s is deprecated and ignored because %s is set",
			     k->name, k->replacement);
			return 0;
		}
		diag(ctx, LOG_WARNING, "%s is deprecated; use %s", k->name, k->replacement);
	} else if (old_name_wins_over(ctx, k)) {
		diag(ctx, LOG_WARNING, "%s is ignored because the deprecated name was set, as on Santa",
		     k->name);
		return 0;
	}
	ctx->last_value_ignored = false;
	r = store_value(ctx, k, value);
	if (r == 0 && (k->flags & KEY_FLAG_INERT) &&
	    !(k->type == KEY_BOOL && !*(bool *)((char *)ctx->cfg + k->offset)))
		diag(ctx, LOG_WARNING, "%s is accepted but has no effect on Linux: %s", k->name,
		     k->replacement);
	return r;
}

static int
dict_set(struct parse_ctx *ctx, struct santa_dict *d, const char *section, const char *key,
	 const char *value)
{
	struct santa_kv *items;
	size_t i;
	char *v;

	for (i = 0; i < d->n; i++) {
		if (strcmp(d->items[i].key, key) == 0) {
			v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(d->items[i].value);
			d->items[i].value = v;
			return 0;
		}
	}
	if (d->n >= SANTA_CONFIG_MAX_DICT_ITEMS) {
		diag(ctx, LOG_ERR, "[%s]: more than %d entries", section,
		     SANTA_CONFIG_MAX_DICT_ITEMS);
		return -EINVAL;
	}
	items = realloc(d->items, (d->n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	d->items = items;
	items[d->n].key = strdup(key);
	items[d->n].value = strdup(value);
	if (!items[d->n].key || !items[d->n].value) {
		free(items[d->n].key);
		free(items[d->n].value);
		return -ENOMEM;
	}
	d->n++;
	return 0;
}

/* Validates the finished [StaticRule:...] section; an incomplete one is an error. */
static void
finish_static_rule(struct parse_ctx *ctx)
{
	struct santa_static_rule *rule = ctx->rule;
	unsigned int saved_line = ctx->lineno;

	if (!rule)
		return;
	ctx->rule = NULL;
	ctx->lineno = ctx->rule_line;
	if (!rule->identifier || rule->rule_type == SANTA_RULE_TYPE_UNKNOWN ||
	    rule->policy == SANTA_POLICY_UNKNOWN) {
		diag(ctx, LOG_ERR, "[" STATIC_RULE_PREFIX "%s]: needs identifier, rule_type and policy",
		     rule->name);
	} else if (rule->policy == SANTA_POLICY_REMOVE) {
		diag(ctx, LOG_ERR, "[" STATIC_RULE_PREFIX "%s]: policy REMOVE makes no sense for a "
		     "static rule", rule->name);
	} else if (santa_rule_identifier_normalize(rule->rule_type, rule->identifier) < 0) {
		diag(ctx, LOG_ERR, "[" STATIC_RULE_PREFIX "%s]: identifier \"%s\" is not a valid %s "
		     "identifier", rule->name, rule->identifier,
		     santa_rule_type_to_string(rule->rule_type));
	}
	ctx->lineno = saved_line;
}

static int
begin_static_rule(struct parse_ctx *ctx, const char *section)
{
	struct santa_config *cfg = ctx->cfg;
	struct santa_static_rule *rules, *rule;
	const char *name = section + strlen(STATIC_RULE_PREFIX);
	size_t i;

	for (i = 0; i < cfg->n_static_rules; i++) {
		if (strcmp(cfg->static_rules[i].name, name) == 0) {
			diag(ctx, LOG_ERR, "[%s] appears twice (static rule names must be unique)",
			     section);
			return -EINVAL;
		}
	}
	if (cfg->n_static_rules >= SANTA_CONFIG_MAX_STATIC_RULES) {
		diag(ctx, LOG_ERR, "more than %d static rules", SANTA_CONFIG_MAX_STATIC_RULES);
		return -EINVAL;
	}
	rules = realloc(cfg->static_rules, (cfg->n_static_rules + 1) * sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	cfg->static_rules = rules;
	rule = &rules[cfg->n_static_rules];
	memset(rule, 0, sizeof(*rule));
	rule->name = strdup(name);
	if (!rule->name)
		return -ENOMEM;
	cfg->n_static_rules++;
	ctx->rule = rule;
	ctx->rule_line = ctx->lineno;
	return 0;
}

static int
handle_static_rule_key(struct parse_ctx *ctx, const char *section, const char *name,
		       const char *value)
{
	struct santa_static_rule *rule = ctx->rule;

	if (strcmp(name, "identifier") == 0 || strcmp(name, "sha256") == 0) {
		/* "sha256" is the legacy key; it only counts when identifier is absent. */
		if (strcmp(name, "sha256") == 0 && rule->identifier)
			return 0;
		return set_string(&rule->identifier, value);
	}
	if (strcmp(name, "rule_type") == 0) {
		rule->rule_type = santa_rule_type_from_string(value, true);
		if (rule->rule_type == SANTA_RULE_TYPE_UNKNOWN) {
			diag(ctx, LOG_ERR, "[%s] rule_type: expected one of BINARY, CERTIFICATE, "
			     "TEAMID, SIGNINGID, CDHASH, got \"%s\"", section, value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(name, "policy") == 0) {
		rule->policy = santa_policy_from_string(value, true);
		if (rule->policy == SANTA_POLICY_UNKNOWN) {
			diag(ctx, LOG_ERR, "[%s] policy: expected one of ALLOWLIST, "
			     "ALLOWLIST_COMPILER, BLOCKLIST, SILENT_BLOCKLIST, got \"%s\"",
			     section, value);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(name, "custom_msg") == 0)
		return ctx->line_is_continuation ? append_string(&rule->custom_msg, value)
						 : set_string(&rule->custom_msg, value);
	if (strcmp(name, "custom_url") == 0)
		return set_string(&rule->custom_url, value);
	diag(ctx, LOG_WARNING, "[%s]: unknown key %s ignored", section, name);
	return 0;
}

static int
config_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	int r = 0;

	if (section[0] == '\0' || strcasecmp(section, "santa") == 0)
		r = handle_top_level(ctx, name, value);
	else if (strcmp(section, "MetricExtraLabels") == 0)
		r = dict_set(ctx, &ctx->cfg->metric_extra_labels, section, name, value);
	else if (strcmp(section, "SyncExtraHeaders") == 0)
		r = dict_set(ctx, &ctx->cfg->sync_extra_headers, section, name, value);
	else if (ctx->rule)
		r = handle_static_rule_key(ctx, section, name, value);
	else
		diag(ctx, LOG_WARNING, "unknown section [%s]: key %s ignored", section, name);
	if (r == -ENOMEM)
		diag(ctx, LOG_ERR, "out of memory");
	else if (r == -E2BIG)
		diag(ctx, LOG_ERR, "%s: value longer than %d bytes", name,
		     SANTA_CONFIG_MAX_VALUE_LEN);
	/* Errors were diagnosed with their reason; inih's own count would add nothing. */
	return 1;
}

/*
 * inih calls no handler for a section header, so headers are noticed here, as
 * the line goes by: a [StaticRule:...] section then exists even with no keys,
 * and its diagnostics point at its header line.
 */
static void
note_section_header(struct parse_ctx *ctx, const char *line)
{
	const char *start = line + strspn(line, " \t"), *end;
	char *section;

	if (*start != '[')
		return;
	end = strchr(start + 1, ']');
	if (!end)
		return; /* inih reports the syntax error */
	finish_static_rule(ctx);
	section = strndup(start + 1, (size_t)(end - start - 1));
	if (!section) {
		diag(ctx, LOG_ERR, "out of memory");
		return;
	}
	if (strncmp(section, STATIC_RULE_PREFIX, strlen(STATIC_RULE_PREFIX)) == 0 &&
	    section[strlen(STATIC_RULE_PREFIX)] != '\0' && begin_static_rule(ctx, section) == -ENOMEM)
		diag(ctx, LOG_ERR, "out of memory");
	free(section);
}

/*
 * ini_reader: hands inih one line at a time so that ctx->lineno is the line
 * the handler is looking at, and rejects lines inih would silently split.
 */
static char *
config_ini_reader(char *str, int num, void *stream)
{
	struct parse_ctx *ctx = stream;
	size_t len;
	ssize_t n;

	if (ctx->fp) {
		n = getline(&ctx->line, &ctx->line_cap, ctx->fp);
		if (n < 0)
			return NULL;
	} else {
		if (!*ctx->text)
			return NULL;
		len = strcspn(ctx->text, "\n");
		if (ctx->text[len] == '\n')
			len++;
		if (len + 1 > ctx->line_cap) {
			char *p = realloc(ctx->line, len + 1);

			if (!p)
				return NULL;
			ctx->line = p;
			ctx->line_cap = len + 1;
		}
		memcpy(ctx->line, ctx->text, len);
		ctx->line[len] = '\0';
		ctx->text += len;
		n = (ssize_t)len;
	}
	ctx->lineno++;
	len = strcspn(ctx->line, "\r\n");
	ctx->line_is_continuation = ctx->line[0] == ' ' || ctx->line[0] == '\t';
	if (strlen(ctx->line) != (size_t)n) {
		diag(ctx, LOG_ERR, "line contains a NUL byte; ignored");
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	if (len > (size_t)num - 2) {
		diag(ctx, LOG_ERR,
		     "line is longer than %d characters; continue a long value on indented lines",
		     num - 2);
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	note_section_header(ctx, ctx->line);
	memcpy(str, ctx->line, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

/*
 * Regexes are compiled once the whole value (continuation lines included) is
 * known. A deprecated alias stores into its replacement's field, and the
 * replacement wins when both are set, so the line to blame is the
 * replacement's if set, else the alias's.
 */
static void
check_regexes(struct parse_ctx *ctx)
{
	const struct key_def *blame;
	struct type_text tt;
	char why[300];
	const char *pattern;
	size_t i, j;

	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].type != KEY_REGEX || (keys[i].flags & KEY_FLAG_DEPRECATED))
			continue;
		pattern = *(char **)((char *)ctx->cfg + keys[i].offset);
		if (!pattern || check_regex(pattern, why, sizeof(why)) == 0)
			continue;
		blame = &keys[i];
		ctx->lineno = ctx->key_line[i];
		for (j = 0; !ctx->key_line[i] && j < N_KEYS; j++) {
			if (keys[j].offset == keys[i].offset && ctx->key_line[j]) {
				blame = &keys[j];
				ctx->lineno = ctx->key_line[j];
			}
		}
		diag(ctx, LOG_ERR, "%s: expected %s; \"%s\" is not one: %s", blame->name,
		     type_description(blame, &tt), pattern, why);
	}
}

static int
run_parser(struct parse_ctx *ctx)
{
	int r;

	r = ini_parse_stream(config_ini_reader, ctx, config_ini_handler, ctx);
	finish_static_rule(ctx);
	check_regexes(ctx);
	if (r > 0) {
		/* A syntax error inih found itself (no '=', unclosed '['). */
		ctx->lineno = (unsigned int)r;
		diag(ctx, LOG_ERR, "syntax error: expected [section], key = value or a comment");
	} else if (r < 0) {
		ctx->errors++;
	}
	free(ctx->line);
	ctx->line = NULL;
	return ctx->errors ? -EINVAL : 0;
}

static int
set_source(struct santa_config *cfg, const char *name)
{
	return set_string(&cfg->source_path, name);
}

int
santa_config_load(struct santa_config *cfg, const char *path, santa_config_diag_fn diag_fn,
		  void *userdata)
{
	struct parse_ctx ctx = {
		.cfg = cfg, .file = path, .diag = diag_fn, .userdata = userdata,
	};
	int r;

	ctx.fp = fopen(path, "re");
	if (!ctx.fp)
		return -errno;
	r = set_source(cfg, path);
	if (r == 0)
		r = run_parser(&ctx);
	if (r == 0 && ferror(ctx.fp))
		r = -EIO;
	fclose(ctx.fp);
	return r;
}

int
santa_config_load_string(struct santa_config *cfg, const char *text, const char *name,
			 santa_config_diag_fn diag_fn, void *userdata)
{
	struct parse_ctx ctx = {
		.cfg = cfg, .file = name, .diag = diag_fn, .userdata = userdata, .text = text,
	};
	int r;

	r = set_source(cfg, name);
	if (r < 0)
		return r;
	return run_parser(&ctx);
}

int
santa_config_load_fd(struct santa_config *cfg, int fd, const char *name,
		     santa_config_diag_fn diag_fn, void *userdata)
{
	struct parse_ctx ctx = {
		.cfg = cfg, .file = name, .diag = diag_fn, .userdata = userdata,
	};
	int copy, r;

	copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return -errno;
	ctx.fp = fdopen(copy, "re");
	if (!ctx.fp) {
		r = -errno;
		close(copy);
		return r;
	}
	r = set_source(cfg, name);
	if (r == 0)
		r = run_parser(&ctx);
	if (r == 0 && ferror(ctx.fp))
		r = -EIO;
	fclose(ctx.fp);
	return r;
}

int
santa_config_set(struct santa_config *cfg, const char *section, const char *name,
		 const char *value, const char *source, santa_config_diag_fn diag_fn,
		 void *userdata)
{
	struct parse_ctx ctx = {
		.cfg = cfg, .file = source, .diag = diag_fn, .userdata = userdata,
	};

	if (section && section[0] && strcmp(section, "MetricExtraLabels") != 0 &&
	    strcmp(section, "SyncExtraHeaders") != 0) {
		diag(&ctx, LOG_ERR, "[%s]: not a dictionary setting", section);
		return -EINVAL;
	}
	config_ini_handler(&ctx, section ? section : "", name, value);
	check_regexes(&ctx);
	return ctx.errors ? -EINVAL : 0;
}

int
santa_config_get(const struct santa_config *cfg, const char *name, char **out)
{
	const struct key_def *k;
	const void *field;
	char buf[32];
	size_t idx, i, len = 0;
	const char *text = NULL;

	*out = NULL;
	k = find_key(name, &idx);
	if (!k || k->type == KEY_MACOS_ONLY || (k->flags & KEY_FLAG_DEPRECATED))
		return -EINVAL;
	field = (const char *)cfg + k->offset;
	switch (k->type) {
	case KEY_BOOL:
		text = *(const bool *)field ? "true" : "false";
		break;
	case KEY_INT:
		snprintf(buf, sizeof(buf), "%lld", (long long)*(const int64_t *)field);
		text = buf;
		break;
	case KEY_MODE:
		text = *(const enum santa_mode *)field == SANTA_MODE_LOCKDOWN ? "LOCKDOWN" : "MONITOR";
		break;
	case KEY_LOG_TYPE:
		text = santa_event_log_type_to_string(*(const enum santa_event_log_type *)field);
		break;
	case KEY_ENCODING:
		text = santa_content_encoding_to_string(*(const enum santa_content_encoding *)field);
		break;
	case KEY_MARK_TYPE:
		text = *(const bool *)field ? "mount" : "filesystem";
		break;
	case KEY_PATH:
	case KEY_URL:
	case KEY_REGEX:
	case KEY_STRING:
		text = *(char *const *)field;
		if (!text)
			return -ENOENT;
		break;
	case KEY_STRV: {
		const struct santa_strv *v = field;
		char *joined;

		if (v->n == 0)
			return -ENOENT;
		for (i = 0; i < v->n; i++)
			len += strlen(v->items[i]) + 1;
		joined = malloc(len);
		if (!joined)
			return -ENOMEM;
		joined[0] = '\0';
		for (i = 0; i < v->n; i++) {
			if (i)
				strcat(joined, ",");
			strcat(joined, v->items[i]);
		}
		*out = joined;
		return 0;
	}
	case KEY_MACOS_ONLY:
		return -EINVAL;
	}
	*out = strdup(text);
	return *out ? 0 : -ENOMEM;
}

const struct santa_dict *
santa_config_dict(const struct santa_config *cfg, const char *section)
{
	if (strcmp(section, "MetricExtraLabels") == 0)
		return &cfg->metric_extra_labels;
	if (strcmp(section, "SyncExtraHeaders") == 0)
		return &cfg->sync_extra_headers;
	return NULL;
}

static int
default_path(char **dst, const char *root, const char *path)
{
	char buf[PATH_MAX];
	int r;

	r = santa_path_with_root(buf, sizeof(buf), root, path);
	if (r < 0)
		return r;
	return set_string(dst, buf);
}

int
santa_config_init(struct santa_config *cfg, const char *root)
{
	static const struct {
		size_t offset;
		const char *value;
	} strings[] = {
		{ F(dismiss_text), "Dismiss" },
		{ F(unknown_block_message), "The following application has been blocked from "
					    "executing<br />because its trustworthiness cannot be "
					    "determined." },
		{ F(banned_block_message), "The following application has been blocked from "
					   "executing<br />because it has been deemed malicious." },
		{ F(mode_notification_monitor), "Switching into Monitor mode" },
		{ F(mode_notification_lockdown), "Switching into Lockdown mode" },
		/* The system users the package creates (packaging/debian/postinst). */
		{ F(sync_service_user), "_santasync" },
		{ F(metric_service_user), "_santametric" },
		{ F(bundle_service_user), "_santabundle" },
	};
	static const struct {
		size_t offset;
		const char *path;
	} paths[] = {
		{ F(event_log_path), "/var/log/santa/santa.log" },
		{ F(rules_db_path), "/var/lib/santa/rules.db" },
		{ F(events_db_path), "/var/lib/santa/events.db" },
		{ F(sync_state_path), "/var/lib/santa/sync-state.json" },
		{ F(run_directory), "/run/santa" },
		{ F(package_trust_dpkg_dir), "/var/lib/dpkg" },
		{ F(package_trust_apt_lists_dir), "/var/lib/apt/lists" },
		{ F(package_trust_cache_path), "/var/lib/santa/package-view.cache" },
	};
	size_t i;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->client_mode = SANTA_MODE_MONITOR;
	cfg->event_log_type = SANTA_EVENT_LOG_FILE;
	cfg->sync_client_content_encoding = SANTA_ENCODING_DEFLATE;
	cfg->metric_export_interval = 30;
	cfg->metric_export_timeout = 30;
	cfg->decision_timeout_ms = 1000;
	cfg->decision_cache_size = 100000;
	cfg->enable_kernel_ignore_marks = true;
	cfg->enable_loader_check = true;
	cfg->enable_package_trust = true;
	cfg->hash_worker_threads = 2;
	cfg->events_db_max_events = 100000;
	cfg->event_log_user_quota_mb = 256;
	cfg->bundle_service_idle_sec = 60;
	r = set_string(&cfg->santactl_path, "/usr/bin/santactl");
	if (r == 0)
		r = set_string(&cfg->santa_gui_path, "/usr/bin/santa-gui");
	if (r == 0)
		r = set_string(&cfg->helper_directory, "/usr/libexec/santa");
	if (r < 0)
		goto fail;
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		r = set_string((char **)((char *)cfg + strings[i].offset), strings[i].value);
		if (r < 0)
			goto fail;
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = default_path((char **)((char *)cfg + paths[i].offset), root, paths[i].path);
		if (r < 0)
			goto fail;
	}
	/* Where apt itself finds archive keys (apt-secure(8)), and Debian's own keyring. */
	r = parse_strv(&cfg->package_trust_keyrings,
		       "/etc/apt/trusted.gpg,/etc/apt/trusted.gpg.d,/etc/apt/keyrings,/usr/share/keyrings");
	if (r == 0)
		r = parse_strv(&cfg->package_trust_platform_keyrings,
			       "/usr/share/keyrings/debian-archive-keyring.gpg");
	if (r < 0)
		goto fail;
	return 0;
fail:
	santa_config_free(cfg);
	return r;
}

void
santa_config_free(struct santa_config *cfg)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		void *field = (char *)cfg + keys[i].offset;

		switch (keys[i].type) {
		case KEY_STRING:
		case KEY_PATH:
		case KEY_REGEX:
		case KEY_URL:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case KEY_STRV:
			strv_free(field);
			break;
		default:
			break;
		}
	}
	for (i = 0; i < cfg->n_static_rules; i++) {
		free(cfg->static_rules[i].name);
		free(cfg->static_rules[i].identifier);
		free(cfg->static_rules[i].custom_msg);
		free(cfg->static_rules[i].custom_url);
	}
	free(cfg->static_rules);
	cfg->static_rules = NULL;
	cfg->n_static_rules = 0;
	dict_free(&cfg->metric_extra_labels);
	dict_free(&cfg->sync_extra_headers);
	free(cfg->source_path);
	cfg->source_path = NULL;
}
