/*
 * santad's two kinds of settings (settings.c), each a type of its own so
 * that neither can be read where the other is meant. Live settings are
 * struct santad_live_settings: each policy generation holds one
 * (d->policy->cfg, struct policy in santad.h), made from the configuration
 * SIGHUP or the sync server loaded, and holds nothing else of it: reading a
 * restart-only setting from a policy does not compile. Restart-only
 * settings are what santad built its machinery from at start (its paths,
 * marks, groups, threads, caches): captured once into struct
 * santad_start_settings (d->start). Two settings are in both (see below).
 * Made on the loop thread; d->start does not change after start, nor a
 * generation's live settings once made (workers read the one they hold).
 */
#ifndef SANTAD_SETTINGS_H
#define SANTAD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "santa/config.h"

/*
 * Each field has the name and type of its santa_config field; strings and
 * lists point into the configuration santad started with, which main keeps
 * until santad exits.
 */
struct santad_start_settings {
	struct santa_strv watch_paths; /* WatchPaths */
	bool watch_mark_mount;         /* WatchMarkType */
	const char *rules_db_path;     /* RulesDBPath */
	const char *events_db_path;    /* EventsDBPath */
	const char *event_log_path;    /* EventLogPath */
	enum santa_event_log_type event_log_type; /* EventLogType */
	const char *run_directory;     /* RunDirectory */
	const char *santactl_path;     /* SantactlPath */
	int64_t hash_worker_threads;   /* HashWorkerThreads */
	const char *file_changes_regex; /* FileChangesRegex */
	int64_t decision_cache_size;   /* DecisionCacheSize */
	bool enable_loader_check;      /* EnableLoaderCheck */
	struct santa_strv file_changes_prefix_filters; /* FileChangesPrefixFilters */
	bool enable_machine_id_decoration; /* EnableMachineIDDecoration */
	int64_t events_db_max_events;  /* EventsDBMaxEvents */
	int64_t event_log_user_quota_mb; /* EventLogUserQuotaMB */
	const char *sync_state_path;   /* SyncStatePath */
	const char *santa_gui_path;    /* SantaGUIPath */
	bool enable_package_trust;     /* EnablePackageTrust */
	const char *package_trust_dpkg_dir;      /* PackageTrustDpkgDir */
	const char *package_trust_apt_lists_dir; /* PackageTrustAptListsDir */
	const char *package_trust_cache_path;    /* PackageTrustCachePath */
	struct santa_strv package_trust_keyrings;          /* PackageTrustKeyrings */
	struct santa_strv package_trust_platform_keyrings; /* PackageTrustPlatformKeyrings */
	/*
	 * EnableKernelIgnoreMarks: whether the notification group the marks need
	 * was made at start. Turning it off is live (d->policy->cfg says whether
	 * to mark); turning it on needs a restart.
	 */
	bool enable_kernel_ignore_marks;
	/*
	 * HelperDirectory: santad.sock's allowlist of the helpers' binaries is
	 * made at start; each helper is started from the live value.
	 */
	const char *helper_directory;
};

/*
 * Every other setting of struct santa_config, with its name and type
 * (strings and arrays const: a generation is shared with the workers and
 * never changed). Strings, lists and dictionaries point into the
 * configuration the generation was made from, which it owns (storage).
 */
struct santad_live_settings {
	const char *source_path; /* the file it was loaded from, NULL for defaults */

	/* Enforcement and rules (the sync server's values already applied) */
	enum santa_mode client_mode;
	bool fail_closed;
	const char *allowed_path_regex;
	const char *blocked_path_regex;
	bool enable_transitive_rules;
	bool enable_all_event_upload;
	bool disable_unknown_event_upload;
	bool enable_bad_signature_protection;
	const struct santa_static_rule *static_rules;
	size_t n_static_rules;

	/* Event logging */
	bool enable_fork_and_exit_logging;
	bool enable_debug_logging;

	/* User notification */
	bool enable_silent_mode;
	bool enable_silent_tty_mode;
	const char *about_text;
	const char *more_info_url;
	const char *event_detail_url;
	const char *event_detail_text;
	const char *dismiss_text;
	const char *unknown_block_message;
	const char *banned_block_message;
	const char *mode_notification_monitor;
	const char *mode_notification_lockdown;

	/* Sync */
	const char *sync_base_url;
	bool sync_allow_insecure_http;
	enum santa_content_encoding sync_client_content_encoding;
	bool sync_enable_clean_sync_event_upload;
	struct santa_dict sync_extra_headers;
	const char *sync_proxy;
	const char *client_auth_certificate_file;
	const char *client_auth_certificate_password;
	const char *client_auth_key_file;
	const char *server_auth_roots_file;
	const char *machine_owner;
	const char *machine_id;
	const char *serial_number;

	/* Metrics */
	const char *metric_format;
	const char *metric_url;
	int64_t metric_export_interval;
	int64_t metric_export_timeout;
	struct santa_dict metric_extra_labels;
	int64_t metric_prometheus_port;
	const char *metric_textfile_path;

	/* Linux */
	int64_t decision_timeout_ms;
	bool enable_kernel_ignore_marks; /* also restart-only when turned on (see above) */
	int64_t bundle_service_idle_sec;
	struct santa_strv bundle_roots;
	const char *helper_directory; /* also restart-only for santad.sock (see above) */
	bool systemd_helper_units;
	const char *sync_service_user;
	const char *metric_service_user;
	const char *bundle_service_user;

	struct santad_settings_storage *storage; /* settings.c's: the configuration */
};

/* The restart-only settings of cfg, which must outlive out. */
void santad_start_settings_capture(const struct santa_config *cfg, struct santad_start_settings *out);
/*
 * The santa.conf keys of the restart-only settings that next differs in
 * from start, comma-separated into buf ("" when none; cut at size); returns
 * how many.
 */
size_t santad_start_settings_changed(const struct santad_start_settings *start,
				     const struct santa_config *next, char *buf, size_t size);

/*
 * A generation's live settings from cfg, whose contents they take over
 * (cfg is left empty; freeing it is harmless). Returns 0 or -ENOMEM (cfg
 * then unchanged).
 */
int santad_live_settings_take(struct santa_config *cfg, struct santad_live_settings *out);
void santad_live_settings_free(struct santad_live_settings *live);
/*
 * The settings as one santa_config, for santa_config_get: each restart-only
 * one as santad started, each live one (and the two that are both) from
 * live. It points into both and must not be freed or outlive them.
 */
void santad_settings_view(const struct santad_live_settings *live,
			  const struct santad_start_settings *start, struct santa_config *out);

#endif
