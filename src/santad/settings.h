/*
 * santad's two kinds of settings (settings.c). Live settings are read from
 * the policy generation only (d->policy->cfg, struct policy in santad.h):
 * SIGHUP and the sync server make a new one. Restart-only settings are what
 * santad built its machinery from at start (its paths, marks, groups,
 * threads, caches): captured once into struct santad_start_settings
 * (d->start), a type of its own so that code cannot read a live setting
 * from the start-time copy, and never read from a policy (the checker
 * scripts/check-santad-includes.py fails on a ->cfg.FIELD of these fields).
 * Loop thread; d->start does not change after start.
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

/* The restart-only settings of cfg, which must outlive out. */
void santad_start_settings_capture(const struct santa_config *cfg, struct santad_start_settings *out);
/*
 * The santa.conf keys of the restart-only settings that next differs in
 * from start, comma-separated into buf ("" when none; cut at size); returns
 * how many.
 */
size_t santad_start_settings_changed(const struct santad_start_settings *start,
				     const struct santa_config *next, char *buf, size_t size);

#endif
