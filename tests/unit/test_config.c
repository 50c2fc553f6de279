/* santa.conf loader: every value type, every diagnostic, Santa's quirks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "santa/config.h"

struct diag_entry {
	int level;
	char file[64];
	unsigned int line;
	char msg[512];
};

struct diags {
	struct diag_entry e[64];
	size_t n;
};

static void
collect(void *ud, int level, const char *file, unsigned int line, const char *msg)
{
	struct diags *d = ud;

	if (d->n >= 64)
		return;
	d->e[d->n].level = level;
	snprintf(d->e[d->n].file, sizeof(d->e[d->n].file), "%s", file);
	d->e[d->n].line = line;
	snprintf(d->e[d->n].msg, sizeof(d->e[d->n].msg), "%s", msg);
	d->n++;
}

static size_t
count_level(const struct diags *d, int level)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		n += d->e[i].level == level;
	return n;
}

/* Loads text into a fresh config; returns the loader's result. */
static int
load(struct santa_config *cfg, struct diags *d, const char *text)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(santa_config_init(cfg, NULL), 0);
	return santa_config_load_string(cfg, text, "test.conf", collect, d);
}

static void
test_defaults(void **state)
{
	struct santa_config cfg;

	assert_int_equal(santa_config_init(&cfg, NULL), 0);
	assert_int_equal(cfg.client_mode, SANTA_MODE_MONITOR);
	assert_false(cfg.fail_closed);
	assert_int_equal(cfg.event_log_type, SANTA_EVENT_LOG_FILE);
	assert_string_equal(cfg.event_log_path, "/var/log/santa/santa.log");
	assert_string_equal(cfg.rules_db_path, "/var/lib/santa/rules.db");
	assert_string_equal(cfg.events_db_path, "/var/lib/santa/events.db");
	assert_string_equal(cfg.run_directory, "/run/santa");
	assert_int_equal(cfg.sync_client_content_encoding, SANTA_ENCODING_DEFLATE);
	assert_int_equal(cfg.metric_export_interval, 30);
	assert_string_equal(cfg.dismiss_text, "Dismiss");
	assert_non_null(strstr(cfg.banned_block_message, "deemed malicious"));
	assert_null(cfg.sync_base_url);
	assert_true(cfg.enable_kernel_ignore_marks);
	santa_config_free(&cfg);
}

static void
test_root_prefix_moves_default_paths(void **state)
{
	struct santa_config cfg;

	assert_int_equal(santa_config_init(&cfg, "/tmp/santa-root/"), 0);
	assert_string_equal(cfg.rules_db_path, "/tmp/santa-root/var/lib/santa/rules.db");
	assert_string_equal(cfg.run_directory, "/tmp/santa-root/run/santa");
	assert_string_equal(cfg.event_log_path, "/tmp/santa-root/var/log/santa/santa.log");
	santa_config_free(&cfg);
}

static void
test_all_types_parse(void **state)
{
	struct santa_config cfg;
	struct diags d;
	int r;

	r = load(&cfg, &d,
		 "; a comment\n"
		 "# another\n"
		 "ClientMode = LOCKDOWN\n"
		 "FailClosed = yes\n"
		 "AllowedPathRegex = ^/usr/(bin|sbin)/\n"
		 "BlockedPathRegex = ^/tmp/evil\n"
		 "EventLogType = JSON\n"
		 "EventLogPath = /var/log/santa/events.json\n"
		 "FileChangesPrefixFilters = /tmp/, /var/cache/ ,,/home/x\n"
		 "SyncBaseURL = https://sync.example.com/santa/\n"
		 "SyncClientContentEncoding = gzip\n"
		 "MachineID = 50C7E1EB-0000\n"
		 "MetricExportInterval = 60\n"
		 "DecisionTimeoutMs = 250\n"
		 "EnableKernelIgnoreMarks = off\n"
		 "[MetricExtraLabels]\n"
		 "team = infra\n"
		 "host_name =\n"
		 "[SyncExtraHeaders]\n"
		 "X-Fleet = blue\n");
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(cfg.client_mode, SANTA_MODE_LOCKDOWN);
	assert_true(cfg.fail_closed);
	assert_string_equal(cfg.allowed_path_regex, "^/usr/(bin|sbin)/");
	assert_string_equal(cfg.blocked_path_regex, "^/tmp/evil");
	assert_int_equal(cfg.event_log_type, SANTA_EVENT_LOG_JSON);
	assert_string_equal(cfg.event_log_path, "/var/log/santa/events.json");
	assert_int_equal(cfg.file_changes_prefix_filters.n, 3);
	assert_string_equal(cfg.file_changes_prefix_filters.items[0], "/tmp/");
	assert_string_equal(cfg.file_changes_prefix_filters.items[1], "/var/cache/");
	assert_string_equal(cfg.file_changes_prefix_filters.items[2], "/home/x");
	assert_string_equal(cfg.sync_base_url, "https://sync.example.com/santa/");
	assert_int_equal(cfg.sync_client_content_encoding, SANTA_ENCODING_GZIP);
	assert_string_equal(cfg.machine_id, "50C7E1EB-0000");
	assert_int_equal(cfg.metric_export_interval, 60);
	assert_int_equal(cfg.decision_timeout_ms, 250);
	assert_false(cfg.enable_kernel_ignore_marks);
	assert_int_equal(cfg.metric_extra_labels.n, 2);
	assert_string_equal(cfg.metric_extra_labels.items[0].key, "team");
	assert_string_equal(cfg.metric_extra_labels.items[0].value, "infra");
	assert_string_equal(cfg.metric_extra_labels.items[1].key, "host_name");
	assert_string_equal(cfg.metric_extra_labels.items[1].value, "");
	assert_int_equal(cfg.sync_extra_headers.n, 1);
	assert_string_equal(cfg.sync_extra_headers.items[0].value, "blue");
	assert_string_equal(cfg.source_path, "test.conf");
	santa_config_free(&cfg);
}

static void
test_client_mode_accepts_santa_integers(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "ClientMode = 2\n"), 0);
	assert_int_equal(cfg.client_mode, SANTA_MODE_LOCKDOWN);
	santa_config_free(&cfg);
	assert_int_equal(load(&cfg, &d, "ClientMode = monitor\n"), 0);
	assert_int_equal(cfg.client_mode, SANTA_MODE_MONITOR);
	santa_config_free(&cfg);
}

/* The error must name file, line, key and expected type. */
static void
test_bad_bool_names_file_line_key_type(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "ClientMode = 1\n\nFailClosed = maybe\n"), -EINVAL);
	assert_int_equal(count_level(&d, LOG_ERR), 1);
	assert_string_equal(d.e[0].file, "test.conf");
	assert_int_equal(d.e[0].line, 3);
	assert_non_null(strstr(d.e[0].msg, "FailClosed"));
	assert_non_null(strstr(d.e[0].msg, "boolean"));
	assert_non_null(strstr(d.e[0].msg, "maybe"));
	santa_config_free(&cfg);
}

static void
test_bad_values_of_each_type(void **state)
{
	static const struct {
		const char *text;
		const char *expect;
	} cases[] = {
		{ "ClientMode = 3\n", "MONITOR" },
		{ "MetricExportInterval = 0\n", "integer from 1 to 86400" },
		{ "MetricExportInterval = 12abc\n", "integer" },
		{ "DecisionTimeoutMs = 99999999999999999999\n", "integer" },
		{ "BlockedPathRegex = ^/tmp/(unclosed\n", "regular expression" },
		{ "EventLogPath = relative/santa.log\n", "absolute path" },
		{ "RulesDBPath = /var/lib/../santa/rules.db\n", "absolute path" },
		{ "SyncBaseURL = ftp://example.com\n", "URL" },
		{ "EventLogType = syslogd\n", "file, syslog, json, null" },
		{ "SyncClientContentEncoding = brotli\n", "deflate, gzip, none" },
	};
	struct santa_config cfg;
	struct diags d;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(&cfg, &d, cases[i].text), -EINVAL);
		assert_int_equal(count_level(&d, LOG_ERR), 1);
		assert_int_equal(d.e[0].line, 1);
		if (!strstr(d.e[0].msg, cases[i].expect))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, d.e[0].msg, cases[i].expect);
		santa_config_free(&cfg);
	}
}

static void
test_all_errors_reported_not_just_first(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "FailClosed = x\nClientMode = 9\nEnableSilentMode = y\n"),
			 -EINVAL);
	assert_int_equal(count_level(&d, LOG_ERR), 3);
	assert_int_equal(d.e[0].line, 1);
	assert_int_equal(d.e[1].line, 2);
	assert_int_equal(d.e[2].line, 3);
	santa_config_free(&cfg);
}

static void
test_unknown_key_is_warning(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "ClientMode = 2\nFrobnicate = 1\nclientmode = 1\n"), 0);
	assert_int_equal(count_level(&d, LOG_WARNING), 2);
	assert_int_equal(d.e[0].line, 2);
	assert_non_null(strstr(d.e[0].msg, "unknown key Frobnicate"));
	assert_non_null(strstr(d.e[1].msg, "did you mean ClientMode"));
	assert_int_equal(cfg.client_mode, SANTA_MODE_LOCKDOWN);
	santa_config_free(&cfg);
}

/* Santa's spellings of the log types; keys accepted but not acted on say so. */
static void
test_log_type_spellings_and_inert_keys(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "EventLogType = filelog\n"), 0);
	assert_int_equal(cfg.event_log_type, SANTA_EVENT_LOG_FILE);
	assert_int_equal(count_level(&d, LOG_WARNING), 0);
	santa_config_free(&cfg);
	assert_int_equal(load(&cfg, &d, "EventLogType = protobuf\n"), 0);
	assert_int_equal(cfg.event_log_type, SANTA_EVENT_LOG_JSON);
	assert_int_equal(count_level(&d, LOG_WARNING), 1);
	assert_non_null(strstr(d.e[0].msg, "JSON lines"));
	santa_config_free(&cfg);
	assert_int_equal(load(&cfg, &d, "EnableForkAndExitLogging = true\nEnableDebugLogging = false\n"
				       "AboutText = hello\n"), 0);
	assert_int_equal(count_level(&d, LOG_WARNING), 2); /* false asks for nothing */
	assert_non_null(strstr(d.e[0].msg, "EnableForkAndExitLogging is accepted but has no effect"));
	assert_non_null(strstr(d.e[1].msg, "AboutText"));
	assert_true(cfg.enable_fork_and_exit_logging);
	santa_config_free(&cfg);
}

static void
test_macos_only_key_is_warning(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "BlockUSBMount = true\n"), 0);
	assert_int_equal(count_level(&d, LOG_WARNING), 1);
	assert_non_null(strstr(d.e[0].msg, "macOS-only"));
	santa_config_free(&cfg);
}

static void
test_unknown_section_is_warning(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "[Nonsense]\nClientMode = 2\n"), 0);
	assert_int_equal(count_level(&d, LOG_WARNING), 1);
	assert_non_null(strstr(d.e[0].msg, "[Nonsense]"));
	/* Keys inside an unknown section do not leak into the top level. */
	assert_int_equal(cfg.client_mode, SANTA_MODE_MONITOR);
	santa_config_free(&cfg);
}

static void
test_duplicate_key_last_wins_with_warning(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "ClientMode = 2\nClientMode = 1\n"), 0);
	assert_int_equal(cfg.client_mode, SANTA_MODE_MONITOR);
	assert_int_equal(count_level(&d, LOG_WARNING), 1);
	assert_non_null(strstr(d.e[0].msg, "first on line 1"));
	santa_config_free(&cfg);
}

static void
test_deprecated_names(void **state)
{
	struct santa_config cfg;
	struct diags d;

	/* The new name wins whatever the order. */
	assert_int_equal(load(&cfg, &d, "AllowedPathRegex = ^/new\nWhitelistRegex = ^/old\n"), 0);
	assert_string_equal(cfg.allowed_path_regex, "^/new");
	santa_config_free(&cfg);
	assert_int_equal(load(&cfg, &d, "BlacklistRegex = ^/old\nBlockedPathRegex = ^/new\n"), 0);
	assert_string_equal(cfg.blocked_path_regex, "^/new");
	santa_config_free(&cfg);
	/* Alone, the old name is used, with a warning. */
	assert_int_equal(load(&cfg, &d, "WhitelistRegex = ^/old\n"), 0);
	assert_string_equal(cfg.allowed_path_regex, "^/old");
	assert_non_null(strstr(d.e[0].msg, "deprecated"));
	santa_config_free(&cfg);
	/* Santa's quirk: locally, EnableTransitiveWhitelisting beats EnableTransitiveRules. */
	assert_int_equal(
		load(&cfg, &d, "EnableTransitiveWhitelisting = no\nEnableTransitiveRules = yes\n"),
		0);
	assert_false(cfg.enable_transitive_rules);
	santa_config_free(&cfg);
	assert_int_equal(
		load(&cfg, &d, "EnableTransitiveRules = yes\nEnableTransitiveWhitelisting = no\n"),
		0);
	assert_false(cfg.enable_transitive_rules);
	santa_config_free(&cfg);
}

static void
test_static_rules(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(
		load(&cfg, &d,
		     "ClientMode = 2\n"
		     "[StaticRule:deny-nc]\n"
		     "identifier = "
		     "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\n"
		     "rule_type = BINARY\n"
		     "policy = BLOCKLIST\n"
		     "custom_msg = Not here\n"
		     "[StaticRule:team]\n"
		     "sha256 = ignored-because-identifier-follows\n"
		     "identifier = eqhxz8m8av\n"
		     "rule_type = teamid\n"
		     "policy = WHITELIST\n"),
		0);
	assert_int_equal(cfg.n_static_rules, 2);
	assert_string_equal(cfg.static_rules[0].name, "deny-nc");
	assert_string_equal(cfg.static_rules[0].identifier,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_int_equal(cfg.static_rules[0].rule_type, SANTA_RULE_TYPE_BINARY);
	assert_int_equal(cfg.static_rules[0].policy, SANTA_POLICY_BLOCKLIST);
	assert_string_equal(cfg.static_rules[0].custom_msg, "Not here");
	assert_string_equal(cfg.static_rules[1].identifier, "EQHXZ8M8AV");
	assert_int_equal(cfg.static_rules[1].policy, SANTA_POLICY_ALLOWLIST);
	assert_int_equal(cfg.client_mode, SANTA_MODE_LOCKDOWN);
	santa_config_free(&cfg);
}

static void
test_static_rule_errors(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d,
			      "[StaticRule:incomplete]\n"
			      "rule_type = BINARY\n"
			      "[StaticRule:badhash]\n"
			      "identifier = abc\n"
			      "rule_type = BINARY\n"
			      "policy = BLOCKLIST\n"
			      "[StaticRule:badpolicy]\n"
			      "policy = DENY\n"),
			 -EINVAL);
	assert_int_equal(count_level(&d, LOG_ERR), 4);
	/* Incomplete-section errors point at the section header. */
	assert_int_equal(d.e[0].line, 1);
	assert_non_null(strstr(d.e[0].msg, "needs identifier, rule_type and policy"));
	assert_int_equal(d.e[1].line, 3);
	assert_non_null(strstr(d.e[1].msg, "not a valid BINARY identifier"));
	assert_int_equal(d.e[2].line, 8);
	assert_non_null(strstr(d.e[2].msg, "DENY"));
	santa_config_free(&cfg);

	assert_int_equal(load(&cfg, &d, "[StaticRule:a]\n[StaticRule:a]\n"), -EINVAL);
	santa_config_free(&cfg);
}

static void
test_continuation_lines(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d,
			      "BannedBlockMessage = Blocked by IT.<br />\n"
			      "  Ask the helpdesk.\n"
			      "BlockedPathRegex = ^/tmp/(a|\n"
			      "\tb)$\n"),
			 0);
	assert_string_equal(cfg.banned_block_message, "Blocked by IT.<br />Ask the helpdesk.");
	assert_string_equal(cfg.blocked_path_regex, "^/tmp/(a|b)$");
	santa_config_free(&cfg);

	assert_int_equal(load(&cfg, &d, "MetricExportInterval = 3\n  0\n"), -EINVAL);
	assert_non_null(strstr(d.e[0].msg, "single line"));
	assert_int_equal(d.e[0].line, 2);
	santa_config_free(&cfg);
}

static void
test_long_line_is_error_not_split(void **state)
{
	struct santa_config cfg;
	struct diags d;
	char text[600];

	snprintf(text, sizeof(text), "AboutText = %0*d\nClientMode = 2\n", 400, 7);
	assert_int_equal(load(&cfg, &d, text), -EINVAL);
	assert_int_equal(count_level(&d, LOG_ERR), 1);
	assert_int_equal(d.e[0].line, 1);
	assert_non_null(strstr(d.e[0].msg, "longer than"));
	/* The rest of the file still parsed with the right line numbers. */
	assert_int_equal(cfg.client_mode, SANTA_MODE_LOCKDOWN);
	santa_config_free(&cfg);
}

static void
test_syntax_error_has_line(void **state)
{
	struct santa_config cfg;
	struct diags d;

	assert_int_equal(load(&cfg, &d, "ClientMode = 1\nthis is not ini\n"), -EINVAL);
	assert_int_equal(count_level(&d, LOG_ERR), 1);
	assert_int_equal(d.e[0].line, 2);
	assert_non_null(strstr(d.e[0].msg, "syntax error"));
	santa_config_free(&cfg);
}

static void
test_list_many_items(void **state)
{
	struct santa_config cfg;
	struct diags d;
	char *text;
	size_t i, off;

	/* Lists cannot be continued, so a line holds them all. */
	text = malloc(8192);
	assert_non_null(text);
	off = (size_t)sprintf(text, "WatchPaths = ");
	for (i = 0; i < 60; i++)
		off += (size_t)sprintf(text + off, "/a,");
	sprintf(text + off, "\n");
	assert_int_equal(load(&cfg, &d, text), 0);
	assert_int_equal(cfg.watch_paths.n, 60);
	santa_config_free(&cfg);
	free(text);
}

static void
test_file_load_and_missing_file(void **state)
{
	char path[] = "/tmp/santa-config-test-XXXXXX";
	struct santa_config cfg;
	struct diags d = { 0 };
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ClientMode = 2\nFailClosed = nope\n", 33), 33);
	close(fd);
	assert_int_equal(santa_config_init(&cfg, NULL), 0);
	assert_int_equal(santa_config_load(&cfg, path, collect, &d), -EINVAL);
	assert_string_equal(d.e[0].file, path);
	assert_int_equal(d.e[0].line, 2);
	assert_int_equal(cfg.client_mode, SANTA_MODE_LOCKDOWN);
	santa_config_free(&cfg);
	unlink(path);

	assert_int_equal(santa_config_init(&cfg, NULL), 0);
	assert_int_equal(santa_config_load(&cfg, path, collect, &d), -ENOENT);
	santa_config_free(&cfg);
}

static void
test_nul_byte_line_rejected(void **state)
{
	char path[] = "/tmp/santa-config-nul-XXXXXX";
	struct santa_config cfg;
	struct diags d = { 0 };
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "AboutText = a\0b\nClientMode = 2\n", 31), 31);
	close(fd);
	assert_int_equal(santa_config_init(&cfg, NULL), 0);
	assert_int_equal(santa_config_load(&cfg, path, collect, &d), -EINVAL);
	assert_int_equal(d.e[0].line, 1);
	assert_non_null(strstr(d.e[0].msg, "NUL"));
	assert_int_equal(cfg.client_mode, SANTA_MODE_LOCKDOWN);
	santa_config_free(&cfg);
	unlink(path);
}

/*
 * What santad hands a helper (santa_config_get) reads back the same
 * (santa_config_set), for every type a helper is given.
 */
static void
test_get_set_round_trip(void **state)
{
	static const char *const names[] = {
		"SyncBaseURL", "SyncClientContentEncoding", "SyncEnableCleanSyncEventUpload",
		"SyncProxy", "ServerAuthRootsFile", "RunDirectory", "MetricExportTimeout",
		"MetricPrometheusPort", "BundleRoots", "ClientMode", "EventLogType", "WatchMarkType",
	};
	struct santa_config a, b;
	struct diags d;
	char *va, *vb;
	size_t i;

	(void)state;
	assert_int_equal(load(&a, &d, "SyncBaseURL = https://sync.example.com/santa/\n"
				      "SyncClientContentEncoding = gzip\n"
				      "SyncEnableCleanSyncEventUpload = yes\n"
				      "SyncProxy = http://proxy:3128 ; comment\n"
				      "ServerAuthRootsFile = /etc/santa/roots.pem\n"
				      "RunDirectory = /run/other\n"
				      "MetricExportTimeout = 7\n"
				      "MetricPrometheusPort = 9100\n"
				      "BundleRoots = /opt, /srv/apps\n"
				      "ClientMode = 2\n"
				      "EventLogType = json\n"
				      "WatchMarkType = mount\n"
				      "[SyncExtraHeaders]\n"
				      "Authorization = Bearer a;b c\n"),
			 0);
	assert_int_equal(santa_config_init(&b, NULL), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(santa_config_get(&a, names[i], &va), 0);
		assert_int_equal(santa_config_set(&b, NULL, names[i], va, "santad", collect, &d), 0);
		assert_int_equal(santa_config_get(&b, names[i], &vb), 0);
		assert_string_equal(va, vb);
		free(va);
		free(vb);
	}
	assert_int_equal(santa_config_set(&b, "SyncExtraHeaders", "Authorization",
					  a.sync_extra_headers.items[0].value, "santad", collect, &d),
			 0);
	assert_int_equal(b.sync_extra_headers.n, 1);
	assert_string_equal(b.sync_extra_headers.items[0].value, "Bearer a;b c");
	assert_int_equal(b.bundle_roots.n, 2);
	assert_string_equal(b.bundle_roots.items[1], "/srv/apps");
	/* Unset, unknown, macOS-only, and a section that is not a dictionary. */
	assert_int_equal(santa_config_get(&b, "MetricURL", &va), -ENOENT);
	assert_int_equal(santa_config_get(&b, "NoSuchKey", &va), -EINVAL);
	assert_int_equal(santa_config_get(&b, "BlockUSBMount", &va), -EINVAL);
	assert_int_equal(santa_config_set(&b, "StaticRule:x", "identifier", "y", "santad", NULL, NULL),
			 -EINVAL);
	/* The same checks as in a file. */
	assert_int_equal(santa_config_set(&b, NULL, "RunDirectory", "relative", "santad", NULL, NULL),
			 -EINVAL);
	santa_config_free(&a);
	santa_config_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_root_prefix_moves_default_paths),
		cmocka_unit_test(test_all_types_parse),
		cmocka_unit_test(test_client_mode_accepts_santa_integers),
		cmocka_unit_test(test_bad_bool_names_file_line_key_type),
		cmocka_unit_test(test_bad_values_of_each_type),
		cmocka_unit_test(test_all_errors_reported_not_just_first),
		cmocka_unit_test(test_unknown_key_is_warning),
		cmocka_unit_test(test_log_type_spellings_and_inert_keys),
		cmocka_unit_test(test_macos_only_key_is_warning),
		cmocka_unit_test(test_unknown_section_is_warning),
		cmocka_unit_test(test_duplicate_key_last_wins_with_warning),
		cmocka_unit_test(test_deprecated_names),
		cmocka_unit_test(test_static_rules),
		cmocka_unit_test(test_static_rule_errors),
		cmocka_unit_test(test_continuation_lines),
		cmocka_unit_test(test_long_line_is_error_not_split),
		cmocka_unit_test(test_syntax_error_has_line),
		cmocka_unit_test(test_list_many_items),
		cmocka_unit_test(test_file_load_and_missing_file),
		cmocka_unit_test(test_nul_byte_line_rejected),
		cmocka_unit_test(test_get_set_round_trip),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
