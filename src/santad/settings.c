/*
 * Restart-only settings: captured at start, and named when a reload changes
 * them. Live settings: a generation's, taken from the configuration loaded.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

enum setting_kind {
	SETTING_VALUE, /* bool, integer or enum: compared byte for byte */
	SETTING_STRING,
	SETTING_LIST,
};

/* When a reload's change of the setting is said to need a restart. */
enum setting_warn {
	WARN_CHANGED,
	WARN_TURNED_ON, /* off is live (EnableKernelIgnoreMarks) */
	WARN_NEVER,     /* applied live where it matters (HelperDirectory: each helper's start) */
};

struct setting {
	const char *key;
	enum setting_kind kind;
	enum setting_warn warn;
	size_t cfg_offset, start_offset, cfg_size, start_size;
};

#define SETTING(key, kind, warn, field)                                                        \
	{ key, kind, warn, offsetof(struct santa_config, field),                                \
	  offsetof(struct santad_start_settings, field),                                      \
	  sizeof(((struct santa_config *)0)->field), sizeof(((struct santad_start_settings *)0)->field) }

/* In the order santa.conf(5) lists them, so that the message reads the same way. */
static const struct setting settings[] = {
	SETTING("WatchPaths", SETTING_LIST, WARN_CHANGED, watch_paths),
	SETTING("WatchMarkType", SETTING_VALUE, WARN_CHANGED, watch_mark_mount),
	SETTING("RulesDBPath", SETTING_STRING, WARN_CHANGED, rules_db_path),
	SETTING("EventsDBPath", SETTING_STRING, WARN_CHANGED, events_db_path),
	SETTING("EventLogPath", SETTING_STRING, WARN_CHANGED, event_log_path),
	SETTING("EventLogType", SETTING_VALUE, WARN_CHANGED, event_log_type),
	SETTING("RunDirectory", SETTING_STRING, WARN_CHANGED, run_directory),
	SETTING("SantactlPath", SETTING_STRING, WARN_CHANGED, santactl_path),
	SETTING("HashWorkerThreads", SETTING_VALUE, WARN_CHANGED, hash_worker_threads),
	SETTING("FileChangesRegex", SETTING_STRING, WARN_CHANGED, file_changes_regex),
	SETTING("DecisionCacheSize", SETTING_VALUE, WARN_CHANGED, decision_cache_size),
	SETTING("EnableLoaderCheck", SETTING_VALUE, WARN_CHANGED, enable_loader_check),
	SETTING("FileChangesPrefixFilters", SETTING_LIST, WARN_CHANGED, file_changes_prefix_filters),
	SETTING("EnableMachineIDDecoration", SETTING_VALUE, WARN_CHANGED, enable_machine_id_decoration),
	SETTING("EventsDBMaxEvents", SETTING_VALUE, WARN_CHANGED, events_db_max_events),
	SETTING("EventLogUserQuotaMB", SETTING_VALUE, WARN_CHANGED, event_log_user_quota_mb),
	SETTING("SyncStatePath", SETTING_STRING, WARN_CHANGED, sync_state_path),
	SETTING("SantaGUIPath", SETTING_STRING, WARN_CHANGED, santa_gui_path),
	SETTING("EnablePackageTrust", SETTING_VALUE, WARN_CHANGED, enable_package_trust),
	SETTING("PackageTrustDpkgDir", SETTING_STRING, WARN_CHANGED, package_trust_dpkg_dir),
	SETTING("PackageTrustAptListsDir", SETTING_STRING, WARN_CHANGED, package_trust_apt_lists_dir),
	SETTING("PackageTrustCachePath", SETTING_STRING, WARN_CHANGED, package_trust_cache_path),
	SETTING("PackageTrustKeyrings", SETTING_LIST, WARN_CHANGED, package_trust_keyrings),
	SETTING("PackageTrustPlatformKeyrings", SETTING_LIST, WARN_CHANGED,
		package_trust_platform_keyrings),
	SETTING("EnableKernelIgnoreMarks", SETTING_VALUE, WARN_TURNED_ON, enable_kernel_ignore_marks),
	SETTING("HelperDirectory", SETTING_STRING, WARN_NEVER, helper_directory),
};

void
santad_start_settings_capture(const struct santa_config *cfg, struct santad_start_settings *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *s = &settings[i];

		/* A field of the wrong type in one struct or the other. */
		assert(s->cfg_size == s->start_size);
		memcpy((char *)out + s->start_offset, (const char *)cfg + s->cfg_offset, s->start_size);
	}
}

/* A live setting: where it is in santa_config and in santad_live_settings. */
struct live_setting {
	size_t cfg_offset, live_offset, size;
};

/* Every field of struct santad_live_settings but storage, as settings.h lists them. */
#define LIVE_FIELDS(X) \
	X(source_path) X(client_mode) X(fail_closed) X(allowed_path_regex) \
	X(blocked_path_regex) X(enable_transitive_rules) X(enable_all_event_upload) \
	X(disable_unknown_event_upload) X(enable_bad_signature_protection) X(static_rules) \
	X(n_static_rules) X(enable_fork_and_exit_logging) X(enable_debug_logging) \
	X(enable_silent_mode) X(enable_silent_tty_mode) X(about_text) X(more_info_url) \
	X(event_detail_url) X(event_detail_text) X(dismiss_text) X(unknown_block_message) \
	X(banned_block_message) X(mode_notification_monitor) X(mode_notification_lockdown) \
	X(sync_base_url) X(sync_allow_insecure_http) X(sync_client_content_encoding) \
	X(sync_enable_clean_sync_event_upload) X(sync_extra_headers) X(sync_proxy) \
	X(client_auth_certificate_file) X(client_auth_certificate_password) \
	X(client_auth_key_file) X(server_auth_roots_file) X(machine_owner) X(machine_id) \
	X(serial_number) X(metric_format) X(metric_url) X(metric_export_interval) \
	X(metric_export_timeout) X(metric_extra_labels) X(metric_prometheus_port) \
	X(metric_textfile_path) X(decision_timeout_ms) X(enable_kernel_ignore_marks) \
	X(bundle_service_idle_sec) X(bundle_roots) X(helper_directory) X(systemd_helper_units) \
	X(sync_service_user) X(metric_service_user) X(bundle_service_user)

#define LIVE(field)                                                                          \
	{ offsetof(struct santa_config, field), offsetof(struct santad_live_settings, field),  \
	  sizeof(((struct santa_config *)0)->field) },

/* Each the size of its santa_config field (char * and const char * are the same size). */
#define SAME_SIZE(field)                                                                     \
	_Static_assert(sizeof(((struct santa_config *)0)->field) ==                            \
			       sizeof(((struct santad_live_settings *)0)->field),              \
		       #field " is of another type in santad_live_settings");
LIVE_FIELDS(SAME_SIZE)

static const struct live_setting live_settings[] = { LIVE_FIELDS(LIVE) };

/*
 * The configuration a generation was made from: what its live settings
 * point into. Only this file knows it is a santa_config, so that no one
 * reads a restart-only setting of it.
 */
struct santad_settings_storage {
	struct santa_config cfg;
};

int
santad_live_settings_take(struct santa_config *cfg, struct santad_live_settings *out)
{
	struct santad_settings_storage *storage = malloc(sizeof(*storage));
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!storage)
		return -ENOMEM;
	storage->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(live_settings) / sizeof(live_settings[0]); i++) {
		const struct live_setting *s = &live_settings[i];

		memcpy((char *)out + s->live_offset, (const char *)&storage->cfg + s->cfg_offset, s->size);
	}
	out->storage = storage;
	return 0;
}

void
santad_live_settings_free(struct santad_live_settings *live)
{
	if (!live->storage)
		return;
	santa_config_free(&live->storage->cfg);
	free(live->storage);
	memset(live, 0, sizeof(*live));
}

void
santad_settings_view(const struct santad_live_settings *live,
		     const struct santad_start_settings *start, struct santa_config *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		memcpy((char *)out + settings[i].cfg_offset, (const char *)start + settings[i].start_offset,
		       settings[i].start_size);
	/* After start's: where a setting is both, the live value (settings.h). */
	for (i = 0; i < sizeof(live_settings) / sizeof(live_settings[0]); i++)
		memcpy((char *)out + live_settings[i].cfg_offset,
		       (const char *)live + live_settings[i].live_offset, live_settings[i].size);
}

static bool
list_equal(const struct santa_strv *a, const struct santa_strv *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return false;
	return true;
}

static bool
setting_equal(const struct setting *s, const void *start, const void *next)
{
	const char *a, *b;

	switch (s->kind) {
	case SETTING_STRING:
		memcpy(&a, start, sizeof(a));
		memcpy(&b, next, sizeof(b));
		return strcmp(a ? a : "", b ? b : "") == 0;
	case SETTING_LIST:
		return list_equal(start, next);
	case SETTING_VALUE:
		break;
	}
	return memcmp(start, next, s->start_size) == 0;
}

size_t
santad_start_settings_changed(const struct santad_start_settings *start,
			      const struct santa_config *next, char *buf, size_t size)
{
	size_t i, n = 0, len = 0;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *s = &settings[i];
		const char *a = (const char *)start + s->start_offset;
		const char *b = (const char *)next + s->cfg_offset;
		int w;

		if (s->warn == WARN_NEVER || setting_equal(s, a, b))
			continue;
		/* Both are bools here: turned on is the new one set. */
		if (s->warn == WARN_TURNED_ON && !*(const bool *)b)
			continue;
		n++;
		if (!size || len >= size - 1)
			continue;
		w = snprintf(buf + len, size - len, "%s%s", n > 1 ? ", " : "", s->key);
		if (w > 0)
			len = len + (size_t)w < size ? len + (size_t)w : size - 1;
	}
	return n;
}
