/*
 * santa.conf: Santa's configuration keys in INI syntax.
 *
 *   ClientMode = LOCKDOWN          ; top-level keys use Santa's names and types
 *   BlockedPathRegex = ^/tmp/evil
 *   [MetricExtraLabels]            ; dictionaries are sections of key = value
 *   team = infra
 *   [StaticRule:deny-nc]           ; one StaticRules entry per section
 *   identifier = 3b9f...e1
 *   rule_type = BINARY
 *   policy = BLOCKLIST
 *
 * Lists are comma-separated. A value longer than one line continues on the
 * following lines when they are indented; the pieces are joined as they
 * stand. Key names are Santa's (docs/config-keys.md); keys that only make sense
 * on macOS are accepted with a warning that they have no effect.
 */
#ifndef SANTA_CONFIG_H
#define SANTA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "santa/types.h"

#define SANTA_DEFAULT_CONFIG_PATH "/etc/santa/santa.conf"

/* Caps on what a config file can make us hold. */
#define SANTA_CONFIG_MAX_LIST_ITEMS   1024
#define SANTA_CONFIG_MAX_DICT_ITEMS   256
#define SANTA_CONFIG_MAX_STATIC_RULES 10000
#define SANTA_CONFIG_MAX_VALUE_LEN    65536
#define SANTA_CONFIG_MAX_LINE_LEN     198

struct santa_strv {
	char **items;
	size_t n;
};

struct santa_kv {
	char *key;
	char *value;
};

struct santa_dict {
	struct santa_kv *items;
	size_t n;
};

struct santa_static_rule {
	char *name; /* section name after "StaticRule:" */
	char *identifier;
	enum santa_rule_type rule_type;
	enum santa_policy policy;
	char *custom_msg;
	char *custom_url;
};

struct santa_config {
	char *source_path; /* file it was loaded from, NULL for defaults */

	/* Enforcement and rules */
	enum santa_mode client_mode;
	bool fail_closed;
	char *allowed_path_regex;
	char *blocked_path_regex;
	bool enable_transitive_rules;
	bool enable_all_event_upload;
	bool disable_unknown_event_upload;
	bool enable_bad_signature_protection;
	struct santa_static_rule *static_rules;
	size_t n_static_rules;

	/* Event logging */
	enum santa_event_log_type event_log_type;
	char *event_log_path;
	bool enable_machine_id_decoration;
	bool enable_fork_and_exit_logging;
	char *file_changes_regex;
	struct santa_strv file_changes_prefix_filters;
	bool enable_debug_logging;

	/* User notification */
	bool enable_silent_mode;
	bool enable_silent_tty_mode;
	char *about_text;
	char *more_info_url;
	char *event_detail_url;
	char *event_detail_text;
	char *dismiss_text;
	char *unknown_block_message;
	char *banned_block_message;
	char *mode_notification_monitor;
	char *mode_notification_lockdown;

	/* Sync */
	char *sync_base_url;
	bool sync_allow_insecure_http; /* plain http to a host other than this machine */
	enum santa_content_encoding sync_client_content_encoding;
	bool sync_enable_clean_sync_event_upload;
	struct santa_dict sync_extra_headers;
	char *sync_proxy;
	char *client_auth_certificate_file;
	char *client_auth_certificate_password;
	char *client_auth_key_file;
	char *server_auth_roots_file;
	char *machine_owner;
	char *machine_id;
	char *serial_number; /* preflight serial_num; unset: DMI, then /etc/machine-id */

	/* Metrics */
	char *metric_format;
	char *metric_url;
	int64_t metric_export_interval;
	int64_t metric_export_timeout;
	struct santa_dict metric_extra_labels;
	int64_t metric_prometheus_port; /* 0: no HTTP endpoint */
	char *metric_textfile_path;

	/* Linux: kernel side, caches, storage */
	struct santa_strv watch_paths; /* empty: every local filesystem */
	bool watch_mark_mount;         /* WatchMarkType = mount: only those mounts (tests) */
	int64_t decision_timeout_ms;
	int64_t decision_cache_size;
	bool enable_kernel_ignore_marks;
	bool enable_loader_check; /* FAN_OPEN_PERM: decide what `ld.so PROGRAM` runs (read at start) */
	int64_t hash_worker_threads;
	int64_t events_db_max_events;
	int64_t event_log_user_quota_mb; /* a non-root uid's lines per log file; 0: no quota */
	char *rules_db_path;
	char *events_db_path;
	char *sync_state_path;
	char *run_directory;
	char *santactl_path; /* the santactl santad trusts on its socket */
	char *santa_gui_path; /* the notification agent santad trusts */
	int64_t bundle_service_idle_sec; /* santabundleservice exits after this long unused */
	struct santa_strv bundle_roots;  /* application trees live below these (empty: /opt) */
	char *helper_directory; /* santasyncservice, santametricservice, santabundleservice */
	bool systemd_helper_units; /* helpers come from systemd socket units, not from santad */
	/* The users santad runs its helpers as: each one's own (see src/santad/helpers.c). */
	char *sync_service_user;   /* _santasync */
	char *metric_service_user; /* _santametric */
	char *bundle_service_user; /* _santabundle */

	/* Package trust (docs/package-trust.md): SIGNINGID, CERTIFICATE and TEAMID from dpkg and apt */
	bool enable_package_trust;
	char *package_trust_dpkg_dir;       /* /var/lib/dpkg */
	char *package_trust_apt_lists_dir;  /* /var/lib/apt/lists */
	char *package_trust_cache_path;     /* dpkg's view kept between starts */
	struct santa_strv package_trust_keyrings;          /* keys an archive may be signed by */
	struct santa_strv package_trust_platform_keyrings; /* the distribution's own: "platform:" */
};

/* Severity of a diagnostic, as syslog priorities: LOG_ERR or LOG_WARNING. */
typedef void (*santa_config_diag_fn)(void *userdata, int level, const char *file,
				     unsigned int line, const char *message);

/*
 * Fills cfg with Santa's defaults. Default paths (/var/lib/santa/rules.db,
 * /run/santa, ...) are placed under root when root is non-empty, so tests
 * can run a whole installation inside a temporary directory.
 * Returns 0 or -ENOMEM.
 */
int santa_config_init(struct santa_config *cfg, const char *root);

/*
 * Reads path over the values already in cfg. Every problem is passed to diag
 * (which may be NULL) with file and line: a bad value is an error naming the
 * key and the expected type, an unknown key a warning. Returns 0, -errno when
 * the file cannot be read, or -EINVAL when it had errors; cfg then holds
 * whatever parsed, and should be discarded.
 */
int santa_config_load(struct santa_config *cfg, const char *path, santa_config_diag_fn diag,
		      void *userdata);

/* Same, from a string; name is used in diagnostics. */
int santa_config_load_string(struct santa_config *cfg, const char *text, const char *name,
			     santa_config_diag_fn diag, void *userdata);

/* Same, from an open file (santa_open_root_owned's); fd stays the caller's. */
int santa_config_load_fd(struct santa_config *cfg, int fd, const char *name,
			 santa_config_diag_fn diag, void *userdata);

/*
 * One setting as santa.conf would give it: a top-level key (section NULL or
 * "") or an entry of the SyncExtraHeaders / MetricExtraLabels dictionary.
 * The same checks and diagnostics as in a file (source names it). Returns 0,
 * -EINVAL or -ENOMEM. For settings handed over by santad (helpers).
 */
int santa_config_set(struct santa_config *cfg, const char *section, const char *name,
		     const char *value, const char *source, santa_config_diag_fn diag,
		     void *userdata);

/*
 * A top-level key's value in cfg as santa.conf would write it, for
 * santa_config_set on the other side; *out is the caller's to free.
 * Returns 0, -ENOENT (unset), -EINVAL (no such key, or macOS-only) or -ENOMEM.
 */
int santa_config_get(const struct santa_config *cfg, const char *name, char **out);

/* The dictionary behind a section name ("SyncExtraHeaders", "MetricExtraLabels"), else NULL. */
const struct santa_dict *santa_config_dict(const struct santa_config *cfg, const char *section);

void santa_config_free(struct santa_config *cfg);

#endif
