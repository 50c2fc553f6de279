/*
 * santad's settings (src/santad/settings.c): which keys are live and which
 * restart-only, what a generation's live settings hold, what a reload names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "santa/config.h"
#include "settings.h"

/* The keys a reload to text names, santad having started on the defaults plus start_text. */
static size_t
changed(const char *start_text, const char *text, char *buf, size_t size)
{
	struct santa_config start, next;
	struct santad_start_settings s;
	size_t n;

	assert_int_equal(santa_config_init(&start, ""), 0);
	assert_int_equal(santa_config_init(&next, ""), 0);
	assert_int_equal(santa_config_load_string(&start, start_text, "start", NULL, NULL), 0);
	assert_int_equal(santa_config_load_string(&next, text, "next", NULL, NULL), 0);
	santad_start_settings_capture(&start, &s);
	n = santad_start_settings_changed(&s, &next, buf, size);
	santa_config_free(&next);
	santa_config_free(&start);
	return n;
}

static void
test_unchanged_and_live(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(changed("", "", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* Live settings are not the start settings' business. */
	assert_int_equal(changed("", "ClientMode = LOCKDOWN\nDecisionTimeoutMs = 500\nFailClosed = true\n",
				 buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "");
}

static void
test_names_each_key_in_order(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(changed("", "DecisionCacheSize = 1234\n", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "DecisionCacheSize");
	assert_int_equal(changed("", "DecisionCacheSize = 1234\nHashWorkerThreads = 3\n"
				     "WatchPaths = /srv\nPackageTrustKeyrings = /k.gpg\n",
				 buf, sizeof(buf)),
			 4);
	assert_string_equal(buf, "WatchPaths, HashWorkerThreads, DecisionCacheSize, PackageTrustKeyrings");
	/* Back to what santad started with: nothing to name. */
	assert_int_equal(changed("RulesDBPath = /x/rules.db\n", "RulesDBPath = /x/rules.db\n", buf,
				 sizeof(buf)),
			 0);
	assert_int_equal(changed("RulesDBPath = /x/rules.db\n", "", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "RulesDBPath");
}

static void
test_partly_live_keys(void **state)
{
	char buf[256];

	(void)state;
	/* EnableKernelIgnoreMarks: off is live, on needs the group made at start. */
	assert_int_equal(changed("", "EnableKernelIgnoreMarks = false\n", buf, sizeof(buf)), 0);
	assert_int_equal(changed("EnableKernelIgnoreMarks = false\n", "", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "EnableKernelIgnoreMarks");
	/* HelperDirectory: each helper starts from the live one. */
	assert_int_equal(changed("", "HelperDirectory = /elsewhere\n", buf, sizeof(buf)), 0);
}

static void
test_small_buffer(void **state)
{
	char buf[12];

	(void)state;
	assert_int_equal(changed("", "DecisionCacheSize = 1234\nHashWorkerThreads = 3\n", buf, sizeof(buf)),
			 2);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "HashWorkerT", sizeof(buf));
}

/*
 * Every santa.conf key santad knows, but the macOS-only and the old names,
 * with a value other than the default. The first list is restart-only, the
 * second live; the last two of the restart-only list are live too
 * (settings.h). Each key's value in start differs from next's.
 */
static const char *const restart_only[][3] = {
	{ "WatchPaths", "/a/w", "/b/w" },
	{ "WatchMarkType", "mount", "filesystem" },
	{ "RulesDBPath", "/a/rules.db", "/b/rules.db" },
	{ "EventsDBPath", "/a/events.db", "/b/events.db" },
	{ "EventLogPath", "/a/santa.log", "/b/santa.log" },
	{ "EventLogType", "json", "syslog" },
	{ "RunDirectory", "/a/run", "/b/run" },
	{ "SantactlPath", "/a/santactl", "/b/santactl" },
	{ "HashWorkerThreads", "3", "5" },
	{ "FileChangesRegex", "^/a/", "^/b/" },
	{ "DecisionCacheSize", "11", "22" },
	{ "EnableLoaderCheck", "true", "false" },
	{ "FileChangesPrefixFilters", "/a/p", "/b/p,/b/q" },
	{ "EnableMachineIDDecoration", "true", "false" },
	{ "EventsDBMaxEvents", "11", "22" },
	{ "EventLogUserQuotaMB", "11", "22" },
	{ "SyncStatePath", "/a/sync.json", "/b/sync.json" },
	{ "SantaGUIPath", "/a/santa-gui", "/b/santa-gui" },
	{ "EnablePackageTrust", "true", "false" },
	{ "PackageTrustDpkgDir", "/a/dpkg", "/b/dpkg" },
	{ "PackageTrustAptListsDir", "/a/lists", "/b/lists" },
	{ "PackageTrustCachePath", "/a/view.cache", "/b/view.cache" },
	{ "PackageTrustKeyrings", "/a/k.gpg", "/b/k.gpg" },
	{ "PackageTrustPlatformKeyrings", "/a/p.gpg", "/b/p.gpg" },
	/* Both: turning marks on needs a restart; helpers start from the live directory. */
	{ "EnableKernelIgnoreMarks", "false", "true" },
	{ "HelperDirectory", "/a/helpers", "/b/helpers" },
};

static const char *const live[][2] = {
	{ "ClientMode", "LOCKDOWN" },
	{ "FailClosed", "true" },
	{ "AllowedPathRegex", "^/b/allowed" },
	{ "BlockedPathRegex", "^/b/blocked" },
	{ "EnableTransitiveRules", "true" },
	{ "EnableAllEventUpload", "true" },
	{ "DisableUnknownEventUpload", "true" },
	{ "SyncAllowInsecureHTTP", "true" },
	{ "EnableBadSignatureProtection", "true" },
	{ "EnableForkAndExitLogging", "true" },
	{ "EnableDebugLogging", "true" },
	{ "EnableSilentMode", "true" },
	{ "EnableSilentTTYMode", "true" },
	{ "AboutText", "b about" },
	{ "MoreInfoURL", "https://b.example/more" },
	{ "EventDetailURL", "https://b.example/%file_sha%" },
	{ "EventDetailText", "b detail" },
	{ "DismissText", "b dismiss" },
	{ "UnknownBlockMessage", "b unknown" },
	{ "BannedBlockMessage", "b banned" },
	{ "ModeNotificationMonitor", "b monitor" },
	{ "ModeNotificationLockdown", "b lockdown" },
	{ "SyncBaseURL", "https://b.example/santa/" },
	{ "SyncClientContentEncoding", "gzip" },
	{ "SyncEnableCleanSyncEventUpload", "true" },
	{ "SyncProxy", "http://proxy.b.example:3128" },
	{ "ClientAuthCertificateFile", "/b/cert.pem" },
	{ "ClientAuthCertificatePassword", "b-secret" },
	{ "ClientAuthKeyFile", "/b/key.pem" },
	{ "ServerAuthRootsFile", "/b/roots.pem" },
	{ "MachineOwner", "b-owner" },
	{ "MachineID", "b-id" },
	{ "SerialNumber", "b-serial" },
	{ "MetricFormat", "b-format" },
	{ "MetricURL", "https://b.example/metrics" },
	{ "MetricExportInterval", "77" },
	{ "MetricExportTimeout", "7" },
	{ "MetricPrometheusPort", "9177" },
	{ "MetricTextfilePath", "/b/metrics.prom" },
	{ "DecisionTimeoutMs", "777" },
	{ "BundleServiceIdleSec", "77" },
	{ "BundleRoots", "/b/apps,/b/more" },
	{ "SystemdHelperUnits", "true" },
	{ "SyncServiceUser", "b-sync" },
	{ "MetricServiceUser", "b-metric" },
	{ "BundleServiceUser", "b-bundle" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
print_diag(void *userdata, int level, const char *file, unsigned int line, const char *message)
{
	(void)userdata;
	if (level <= LOG_ERR) /* what makes the load fail; the inert keys' warnings are expected */
		print_message("%s:%u: %s\n", file, line, message);
}

/*
 * The defaults, then each restart-only key with its value number which (1:
 * start, 2: next) and, for next, each live one; then extra.
 */
static void
load_all(struct santa_config *cfg, size_t which, const char *extra)
{
	char text[8192];
	size_t i, len = 0;

	assert_int_equal(santa_config_init(cfg, ""), 0);
	for (i = 0; i < N(restart_only); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s = %s\n", restart_only[i][0],
					restart_only[i][which]);
	for (i = 0; which == 2 && i < N(live); i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s = %s\n", live[i][0],
					live[i][1]);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", extra);
	assert_true(len < sizeof(text));
	assert_int_equal(santa_config_load_string(cfg, text, "test", print_diag, NULL), 0);
}

static void
assert_key(const struct santa_config *cfg, const char *key, const char *want)
{
	char *got = NULL;

	assert_int_equal(santa_config_get(cfg, key, &got), 0);
	if (strcmp(got, want) != 0)
		fail_msg("%s = %s, not %s", key, got, want);
	free(got);
}

static void
test_generation_holds_the_live_settings(void **state)
{
	struct santa_config start, next, view, defaults;
	struct santad_start_settings s;
	struct santad_live_settings l;
	const struct santa_dict *dict;
	char buf[1024], *value;
	size_t i;

	(void)state;
	load_all(&start, 1, "");
	load_all(&next, 2, "[SyncExtraHeaders]\nAuthorization = Bearer b\n"
			   "[MetricExtraLabels]\nteam = b\n"
			   "[StaticRule:b]\nidentifier = EQHXZ8M8AV\nrule_type = TEAMID\npolicy = BLOCKLIST\n");
	santad_start_settings_capture(&start, &s);

	/* A reload to next names each restart-only key, in santa.conf(5)'s order. */
	assert_int_equal(santad_start_settings_changed(&s, &next, buf, sizeof(buf)), N(restart_only) - 1);
	assert_string_equal(buf, "WatchPaths, WatchMarkType, RulesDBPath, EventsDBPath, EventLogPath, "
				 "EventLogType, RunDirectory, SantactlPath, HashWorkerThreads, "
				 "FileChangesRegex, DecisionCacheSize, EnableLoaderCheck, "
				 "FileChangesPrefixFilters, EnableMachineIDDecoration, EventsDBMaxEvents, "
				 "EventLogUserQuotaMB, SyncStatePath, SantaGUIPath, EnablePackageTrust, "
				 "PackageTrustDpkgDir, PackageTrustAptListsDir, PackageTrustCachePath, "
				 "PackageTrustKeyrings, PackageTrustPlatformKeyrings, "
				 "EnableKernelIgnoreMarks");

	/* The generation made from next: next's live values, and next is left empty. */
	assert_int_equal(santad_live_settings_take(&next, &l), 0);
	assert_null(next.source_path);
	assert_int_equal(next.n_static_rules, 0);
	santa_config_free(&next);
	assert_int_equal(l.client_mode, SANTA_MODE_LOCKDOWN);
	assert_int_equal(l.decision_timeout_ms, 777);
	assert_string_equal(l.sync_base_url, "https://b.example/santa/");
	assert_string_equal(l.helper_directory, "/b/helpers");
	assert_true(l.enable_kernel_ignore_marks);
	assert_int_equal(l.n_static_rules, 1);
	assert_string_equal(l.static_rules[0].identifier, "EQHXZ8M8AV");

	/*
	 * Through the view santad hands the helpers: every live key is next's,
	 * every restart-only one start's (the two that are both: next's).
	 */
	santad_settings_view(&l, &s, &view);
	for (i = 0; i < N(live); i++)
		assert_key(&view, live[i][0], live[i][1]);
	for (i = 0; i < N(restart_only); i++)
		assert_key(&view, restart_only[i][0], restart_only[i][i < N(restart_only) - 2 ? 1 : 2]);
	dict = santa_config_dict(&view, "SyncExtraHeaders");
	assert_int_equal(dict->n, 1);
	assert_string_equal(dict->items[0].value, "Bearer b");
	dict = santa_config_dict(&view, "MetricExtraLabels");
	assert_int_equal(dict->n, 1);
	assert_string_equal(dict->items[0].value, "b");

	/* Each value the test gives differs from the default: a key not carried over would show. */
	assert_int_equal(santa_config_init(&defaults, ""), 0);
	for (i = 0; i < N(live); i++) {
		if (santa_config_get(&defaults, live[i][0], &value) == 0 && strcmp(value, live[i][1]) == 0)
			fail_msg("%s = %s is the default", live[i][0], value);
		free(value);
	}
	santa_config_free(&defaults);
	santad_live_settings_free(&l);
	santa_config_free(&start);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged_and_live),
		cmocka_unit_test(test_names_each_key_in_order),
		cmocka_unit_test(test_partly_live_keys),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_generation_holds_the_live_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
