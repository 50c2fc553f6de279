/*
 * What santad answers on santad.sock (lib/ipc message types and fields).
 * Read-only requests are open to every validated santactl; the rest need a
 * santactl running as root (privilege fixed at the handshake).
 */
#ifndef SANTA_SANTAD_PROTO_H
#define SANTA_SANTAD_PROTO_H

#include "santa/ipc_msg.h"

#define SANTAD_SOCKET_NAME "santad.sock"
/* The same service for root alone (0600): no flood of other users' connects can fill its backlog. */
#define SANTAD_ROOT_SOCKET_NAME "santad-root.sock"

enum santad_request {
	/* -> { mode, log_type, static_rules, rules: {binary, certificate, teamid, signingid,
	 *      cdhash}, cache: {entries, capacity, hits, misses, root_entries (files on
	 *      santad's / filesystem)}, decisions: {allowed, denied, timeouts}, ignore_marks,
	 *      watchdog: {cpu_events, ram_events, cpu_peak (%), ram_peak (MB), interval_sec,
	 *      systemd_usec}, watched: [path...], event_log_path, sync_server, ... } */
	SANTAD_STATUS = IPC_TYPE_FIRST_USER,
	/* { rules: [{identifier, rule_type, policy, custom_msg?, custom_url?}] } -> { applied }
	 * privileged; identifiers are validated and normalised as rule_type requires */
	SANTAD_RULE_ADD,
	/* { identifier, rule_type } -> { found, policy?, custom_msg?, custom_url?, static? } */
	SANTAD_RULE_CHECK,
	/* privileged; -> {} */
	SANTAD_FLUSH_CACHE,
	/* { sha256, path } -> { verdict ("ALLOW"/"DENY"), reason, explain?, rule_policy? }:
	 * the decision santad would make for that file now. santactl hashes the file
	 * itself: santad never opens a path a client names. */
	SANTAD_FILEINFO,
	/* { dev, ino, mtime_ns, ctime_ns, size } -> { cached, verdict?, reason? }: santactl
	 * stats the file; santad only looks the key up */
	SANTAD_CHECK_CACHE,
	/* { after_id?, limit? } -> { events: [{id, json}], pending }: events waiting for upload */
	SANTAD_EVENTS_LIST,

	/* ---- from helpers only ---- */

	/* { pidfd: fd } -> { identity }: a helper that may not inspect its client's
	 * executable (it runs as nobody) asks santad, which may. */
	SANTAD_VALIDATE_PEER,

	/* ---- from santasyncservice only ---- */

	/* {} -> { client_mode, sync_type_required, full_sync_interval,
	 *        counts: {binary, certificate, compiler, transitive, teamid, signingid, cdhash},
	 *        machine: {machine_id, serial_num, hostname, os_version, os_build, ...},
	 *        tls: {cert?, key?, password?} }: the client certificate and key travel as
	 *        data so that the key file can stay root-only */
	SANTAD_SYNC_PREFLIGHT,
	/* { ids: [int] } -> { deleted }: events the server accepted */
	SANTAD_EVENTS_DELETE,
	/* { rules: fd (memfd of JSON lines, sync_rule_to_line), count, sync_type } -> { applied }:
	 * every rule of a sync in one transaction; CLEAN/CLEAN_ALL replace all rules */
	SANTAD_SYNC_RULES,
	/* { client_mode?, allowed_path_regex?, blocked_path_regex?, enable_bundles?,
	 *   enable_transitive_rules?, enable_all_event_upload?, disable_unknown_event_upload?,
	 *   block_usb_mount?, full_sync_interval, clean_done, rules_synced } -> {}:
	 * postflight: the server's settings take effect and the sync counts as done */
	SANTAD_SYNC_POSTFLIGHT,
	/* { ok, stage?, error? } -> {}: the outcome of a sync attempt, for santactl status */
	SANTAD_SYNC_RESULT,

	/* privileged; { rules: fd (memfd of JSON lines, as SANTAD_SYNC_RULES), count, sync_type }
	 * -> { applied }: santactl rule --import, all rules in one transaction */
	SANTAD_RULE_IMPORT,
	/* {} -> { rules: fd (a memfd holding {"rules": [...]} as santactl rule --export writes it),
	 *        count } */
	SANTAD_RULE_EXPORT,

	/* {} -> { json (the export dictionary, lib/metrics), server, format, interval }:
	 * santactl metrics; open to every validated santactl */
	SANTAD_METRICS,

	/* ---- from santa-gui only ---- */

	/* { endpoint: fd } -> { served, console_uid }: santad sends SANTAGUI_* requests over
	 * the endpoint while this agent's user is at the console (one at a time: the next
	 * only after the agent answered); the newest agent of that user is the one served. */
	SANTAD_GUI_REGISTER,

	/* ---- from santabundleservice only ---- */

	/* { file_sha256, bundle_hash, binary_count, name, version, bundle_path, millis }
	 * -> { events_updated }: the bundle of a blocked file, for the events awaiting upload
	 * (their file_bundle_* fields) */
	SANTAD_BUNDLE_RESULT,

	/* ---- from santasyncservice only, continued ---- */

	/* { hashes: [string] (event_upload_bundle_binaries), uploaded: [string] (bundle hashes of
	 *   the events just uploaded) } -> { events: fd (memfd of BUNDLE_BINARY event JSON lines),
	 *   count }: each held bundle is given once; uploaded ones not asked for are dropped */
	SANTAD_BUNDLE_BINARIES,

	/* ---- from any helper ---- */

	/* {} -> { keys: {Name: value}, sections: {SyncExtraHeaders|MetricExtraLabels: {k: v}} }:
	 * the settings of santa.conf this helper needs (and no others), as santa.conf
	 * spells them, from santad's live configuration. santa.conf stays root's
	 * (0640): no helper reads it, and only the sync service gets the sync secrets. */
	SANTAD_HELPER_SETTINGS,

	/* ---- santactl, continued ---- */

	/* {} -> { version }: the running santad's own SANTA_VERSION (santactl version);
	 * open to every validated client */
	SANTAD_VERSION,
};

/* santabundleservice.sock: santa-gui (and santactl) ask for a file's bundle. */
#define BUNDLESERVICE_SOCKET_NAME "santabundleservice.sock"
enum bundleservice_request {
	/* { path, progress?: fd (an endpoint) } -> { kind ("deb"/"tree"), bundle_path, name,
	 *   version, bundle_hash, binary_count, millis, file_sha256,
	 *   executables: [{path, sha256}] (the first BUNDLE_REPLY_EXECUTABLES) }
	 * or an error (-ENOENT "not a bundle"); while hashing, one-way
	 * BUNDLESERVICE_PROGRESS { hashed, total } events arrive on the endpoint */
	BUNDLESERVICE_HASH = IPC_TYPE_FIRST_USER,
	BUNDLESERVICE_PROGRESS,
};
#define BUNDLE_REPLY_EXECUTABLES 1000

/* What santad asks of the served santa-gui, over the endpoint it registered. */
enum santagui_request {
	/* { path, name, sha256, reason, decision, message (HTML as configured),
	 *   detail_url? (template: the rule's custom_url or EventDetailURL), detail_text,
	 *   pid, ppid, parent_name, uid, username, machine_id, hostname, mode, time,
	 *   bundles (EnableBundles) } -> {} once shown, silenced or collapsed */
	SANTAGUI_BLOCK = IPC_TYPE_FIRST_USER,
	/* { mode, message } -> {}: the client mode changed */
	SANTAGUI_MODE,
};

/* What santad sends santametricservice (santametricservice.sock / its channel). */
#define METRICSERVICE_SOCKET_NAME "santametricservice.sock"
enum metricservice_message {
	/* one-way { json }: the export dictionary, every MetricExportInterval */
	METRICSERVICE_SNAPSHOT = IPC_TYPE_FIRST_USER,
};

/* Sent by santasyncservice's socket (santasyncservice.sock). */
#define SYNCSERVICE_SOCKET_NAME "santasyncservice.sock"
enum syncservice_request {
	/* { sync_type?: "CLEAN"/"CLEAN_ALL", progress?: fd (an endpoint) } -> { status, error? }
	 * status as santactl sync's exit code (docs/sync-protocol.md section 8); progress lines
	 * arrive as SYNCSERVICE_PROGRESS events { line } on the endpoint before the reply. */
	SYNCSERVICE_SYNC = IPC_TYPE_FIRST_USER,
	SYNCSERVICE_PROGRESS,
	/* santad -> sync service, one-way {}: upload the events waiting now (a bundle was hashed
	 * for a blocked file), without a full sync */
	SYNCSERVICE_EVENTS_NOW,
};

/* santactl sync's exit status, Santa's SNTSyncStatusType. */
enum sync_status {
	SYNC_STATUS_SUCCESS = 0,
	SYNC_STATUS_PREFLIGHT_FAILED = 1,
	SYNC_STATUS_EVENTUPLOAD_FAILED = 2,
	SYNC_STATUS_RULEDOWNLOAD_FAILED = 3,
	SYNC_STATUS_POSTFLIGHT_FAILED = 4,
	SYNC_STATUS_TOO_MANY_SYNCS = 5,
	SYNC_STATUS_MISSING_SYNC_BASE_URL = 6,
	SYNC_STATUS_MISSING_MACHINE_ID = 7,
	SYNC_STATUS_DAEMON_TIMEOUT = 8,
	SYNC_STATUS_UNKNOWN = 10,
};

#endif
