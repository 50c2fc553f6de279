/*
 * santactl status: santad's mode, rule counts, caches, watchdog, decisions,
 * watched filesystems, sync and helper state, as Santa's status prints them
 * (or one JSON object).
 */
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "santa/santad_proto.h"
#include "santactl.h"

/* The parts of santad's SANTAD_STATUS reply; absent ones read as NULL (zeros). */
struct status {
	const struct ipc_value *b, *rules, *cache, *dec, *watched, *sync, *helpers, *metrics, *gui;
	const struct ipc_value *loader, *pkg, *wd, *mounts;
	long long root_cached, non_root_cached;
	bool mount_events; /* santad learns of mounts from the kernel, not a scan */
	char mounts_open[512]; /* what stays open on this kernel, in words */
};

void
status_usage(FILE *out)
{
	fputs("Usage: santactl status [--json]\n"
	      "  santad's mode, rule counts, caches (root: files on santad's / filesystem),\n"
	      "  watchdog, decisions, watched filesystems, sync and helper state.\n"
	      "  --json: the same as one JSON object.\n", out);
}

static void
row(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
row(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %-25s | ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Santa prints dates as "2024/06/01 12:00:00 +0000"; "Never" before the first. */
static const char *
format_date(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !localtime_r(&tt, &tm) || strftime(buf, size, "%Y/%m/%d %H:%M:%S %z", &tm) == 0)
		return "Never";
	return buf;
}

/* ISO 8601 in UTC for --json, or null for never. */
static json_t *
json_date(int64_t t)
{
	time_t tt = (time_t)t;
	char buf[64];
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		return json_string("Never");
	return json_string(buf);
}

static void
status_print_json(const struct status *s)
{
	size_t i;

	json_t *root = json_object(), *w = json_array();

	for (i = 0; i < ipc_container_len(s->watched); i++)
		json_array_append_new(w, json_string(ipc_value_string(ipc_array_at(s->watched, i))));
	json_object_set_new(root, "daemon",
		json_pack("{s:b, s:s, s:b, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o}",
			  "driver_connected", 1, "mode", reply_str(s->b, "mode"),
			  "transitive_rules", reply_bool(s->b, "transitive_rules"),
			  "log_type", reply_str(s->b, "log_type"),
			  "file_logging", reply_bool(s->b, "file_logging"),
			  "decisions_allowed", (json_int_t)reply_int(s->dec, "allowed"),
			  "decisions_denied", (json_int_t)reply_int(s->dec, "denied"),
			  "decisions_timed_out", (json_int_t)reply_int(s->dec, "timeouts"),
			  "decisions_refused_busy", (json_int_t)reply_int(s->dec, "queue_full"),
			  "events_log_dropped", (json_int_t)reply_int(s->dec, "log_dropped"),
			  "watched_filesystems", w));
	json_object_set_new(json_object_get(root, "daemon"), "watched_filesystems_not_listed",
			    json_integer((json_int_t)reply_int(s->b, "watched_not_listed")));
	json_object_set_new(root, "database",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "binary_rules", (json_int_t)reply_int(s->rules, "binary"),
			  "certificate_rules", (json_int_t)reply_int(s->rules, "certificate"),
			  "teamid_rules", (json_int_t)reply_int(s->rules, "teamid"),
			  "signingid_rules", (json_int_t)reply_int(s->rules, "signingid"),
			  "cdhash_rules", (json_int_t)reply_int(s->rules, "cdhash"),
			  "compiler_rules", (json_int_t)reply_int(s->rules, "compiler"),
			  "transitive_rules", (json_int_t)reply_int(s->rules, "transitive"),
			  "events_pending_upload", (json_int_t)reply_int(s->b, "events_pending_upload")));
	json_object_set_new(json_object_get(root, "database"), "events_dropped",
			    json_integer(reply_int(s->b, "events_dropped")));
	json_object_set_new(json_object_get(root, "database"), "transitive_writes_dropped",
			    json_integer(reply_int(s->rules, "transitive_writes_dropped")));
	json_object_set_new(json_object_get(root, "database"), "rules_db_error",
			    json_string(reply_str(s->b, "rules_db_error")));
	json_object_update_new(json_object_get(root, "daemon"),
		json_pack("{s:I, s:I, s:f, s:f, s:I, s:I}",
			  "watchdog_cpu_events", (json_int_t)reply_int(s->wd, "cpu_events"),
			  "watchdog_ram_events", (json_int_t)reply_int(s->wd, "ram_events"),
			  "watchdog_cpu_peak", (double)reply_int(s->wd, "cpu_peak_centipercent") / 100.0,
			  "watchdog_ram_peak", (double)reply_int(s->wd, "ram_peak_kib") / 1024.0,
			  "watchdog_interval_sec", (json_int_t)reply_int(s->wd, "interval_sec"),
			  "systemd_watchdog_usec", (json_int_t)reply_int(s->wd, "systemd_usec")));
	json_object_set_new(json_object_get(root, "daemon"), "log_lines_lost",
			    json_integer(reply_int(s->b, "log_lines_lost")));
	json_object_set_new(json_object_get(root, "daemon"), "log_lines_over_quota",
			    json_integer(reply_int(s->b, "log_lines_over_quota")));
	json_object_set_new(json_object_get(root, "daemon"), "anonymous_exec_enforced",
			    json_boolean(reply_bool(s->b, "anonymous_exec_enforced")));
	json_object_set_new(json_object_get(root, "daemon"), "exec_info",
			    json_string(reply_str(s->b, "exec_info")));
	json_object_set_new(json_object_get(root, "daemon"), "mounts",
		json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			  "learned_by", s->mount_events ? "kernel mount notifications"
							: "scan every second",
			  "namespaces", (json_int_t)reply_int(s->mounts, "namespaces"),
			  "namespaces_max", (json_int_t)reply_int(s->mounts, "namespaces_max"),
			  "namespaces_not_followed",
			  (json_int_t)reply_int(s->mounts, "namespaces_not_followed"),
			  "mounts_not_watched", (json_int_t)reply_int(s->mounts, "mounts_not_watched"),
			  "mount_events", (json_int_t)reply_int(s->mounts, "mount_events"),
			  "execs_uninspectable",
			  (json_int_t)reply_int(s->mounts, "execs_uninspectable"),
			  "fuse_exec_events", (json_int_t)reply_int(s->mounts, "fuse_exec_events"),
			  "fuse_exec_queue_full",
			  (json_int_t)reply_int(s->mounts, "fuse_exec_queue_full"),
			  "fuse_exec_reader_held_ms",
			  (json_int_t)reply_int(s->mounts, "fuse_exec_reader_held_ms"),
			  "open_on_this_kernel", s->mounts_open));
	json_object_set_new(json_object_get(root, "daemon"), "loader_check",
		json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "enabled", reply_bool(s->loader, "enabled"),
			  "loader_files", (json_int_t)reply_int(s->loader, "loader_files"),
			  "open_events", (json_int_t)reply_int(s->loader, "open_events"),
			  "programs_decided", (json_int_t)reply_int(s->loader, "programs_decided"),
			  "ignore_marks", (json_int_t)reply_int(s->loader, "ignore_marks"),
			  "leased_files", (json_int_t)reply_int(s->loader, "leased_files"),
			  "lease_breaks", (json_int_t)reply_int(s->loader, "lease_breaks"),
			  "lease_refused", (json_int_t)reply_int(s->loader, "lease_refused"),
			  "answered_queue_full", (json_int_t)reply_int(s->loader, "queue_full")));
	json_object_set_new(json_object_get(root, "database"), "events_store_failures",
			    json_integer(reply_int(s->b, "events_store_failures")));
	json_object_set_new(root, "static_rules",
		json_pack("{s:I}", "rule_count", (json_int_t)reply_int(s->b, "static_rules")));
	json_object_set_new(root, "package_trust",
		json_pack("{s:b, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "enabled", reply_bool(s->pkg, "enabled"), "loaded", reply_bool(s->pkg, "loaded"),
			  "error", reply_str(s->pkg, "error"),
			  "packages", (json_int_t)reply_int(s->pkg, "packages"),
			  "programs", (json_int_t)reply_int(s->pkg, "programs"),
			  "packages_with_archive", (json_int_t)reply_int(s->pkg, "packages_with_archive"),
			  "archives", (json_int_t)reply_int(s->pkg, "archives"),
			  "archives_unsigned", (json_int_t)reply_int(s->pkg, "archives_unsigned"),
			  "memory_bytes", (json_int_t)reply_int(s->pkg, "memory_bytes"),
			  "load_ms", (json_int_t)reply_int(s->pkg, "load_ms"),
			  "generation", (json_int_t)reply_int(s->pkg, "generation"),
			  "verified", (json_int_t)reply_int(s->pkg, "verified"),
			  "unverified", (json_int_t)reply_int(s->pkg, "unverified")));
	/* Decisions whose MD5 pass came from the SHA-256's reads (the file read once). */
	json_object_set_new(json_object_get(root, "package_trust"), "md5_with_hash",
			    json_integer(reply_int(s->pkg, "md5_with_hash")));
	json_object_set_new(json_object_get(root, "package_trust"), "from_cache",
			    json_boolean(reply_bool(s->pkg, "from_cache")));
	json_object_set_new(json_object_get(root, "package_trust"), "prescan",
		json_pack("{s:b, s:I, s:I, s:I, s:I, s:I}", "done", reply_bool(s->pkg, "prescan_done"),
			  "verified", (json_int_t)reply_int(s->pkg, "prescan_verified"),
			  "read", (json_int_t)reply_int(s->pkg, "prescan_read"),
			  "refused", (json_int_t)reply_int(s->pkg, "prescan_refused"),
			  "ms", (json_int_t)reply_int(s->pkg, "prescan_ms"),
			  "after_install", (json_int_t)reply_int(s->pkg, "prompt_verified")));
	/* The verified-file memory of the last run (docs/package-trust.md). */
	json_object_set_new(json_object_get(root, "package_trust"), "remembered",
		json_pack("{s:I, s:I}", "loaded", (json_int_t)reply_int(s->pkg, "records_loaded"),
			  "used", (json_int_t)reply_int(s->pkg, "records_used")));
	json_object_set_new(json_object_get(root, "package_trust"), "critical_allowed",
			    json_integer(reply_int(s->pkg, "critical_allowed")));
	json_object_set_new(root, "cache",
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "root_cache_count", (json_int_t)s->root_cached,
			  "non_root_cache_count", (json_int_t)s->non_root_cached,
			  "entries", (json_int_t)reply_int(s->cache, "entries"),
			  "capacity", (json_int_t)reply_int(s->cache, "capacity"),
			  "hits", (json_int_t)reply_int(s->cache, "hits"),
			  "misses", (json_int_t)reply_int(s->cache, "misses"),
			  "kernel_ignore_marks", (json_int_t)reply_int(s->cache, "kernel_ignore_marks")));
	json_object_set_new(root, "sync",
		json_pack("{s:s, s:b, s:b, s:o, s:o, s:s}",
			  "server", reply_str(s->b, "sync_server")[0] ? reply_str(s->b, "sync_server") : "null",
			  "insecure", strncasecmp(reply_str(s->b, "sync_server"), "http://", 7) == 0,
			  "clean_required", reply_bool(s->sync, "clean_required"),
			  "last_successful_full", json_date(reply_int(s->sync, "last_successful_full")),
			  "last_successful_rule", json_date(reply_int(s->sync, "last_successful_rule")),
			  "last_error", reply_str(s->sync, "last_error")));
	{
		json_t *hj = json_object();

		for (i = 0; i < ipc_container_len(s->helpers); i++) {
			const struct ipc_value *hv;
			const char *name = ipc_dict_key_at(s->helpers, i, &hv);

			json_object_set_new(hj, name,
				json_pack("{s:s, s:I, s:I}", "state", reply_str(hv, "state"),
					  "pid", (json_int_t)reply_int(hv, "pid"),
					  "restarts", (json_int_t)reply_int(hv, "restarts")));
		}
		json_object_set_new(root, "helpers", hj);
	}
	json_object_set_new(root, "gui",
		json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
			  "agents", (json_int_t)reply_int(s->gui, "agents"),
			  "console_uid", (json_int_t)reply_int(s->gui, "console_uid"),
			  "console_source", reply_str(s->gui, "console_source"),
			  "served_pid", (json_int_t)reply_int(s->gui, "served_pid"),
			  "queued", (json_int_t)reply_int(s->gui, "queued"),
			  "sent", (json_int_t)reply_int(s->gui, "sent"),
			  "dropped", (json_int_t)reply_int(s->gui, "dropped"),
			  "refused", (json_int_t)reply_int(s->gui, "refused"),
			  "evicted", (json_int_t)reply_int(s->gui, "evicted")));
	santactl_print_json(root);
	json_decref(root);
}

static void
status_print_text(const struct status *s)
{
	size_t i;

	printf(">>> Daemon Info\n");
	row("Mode", "%s", reply_str(s->b, "mode"));
	if (reply_bool(s->b, "transitive_rules"))
		row("Transitive Rules", "Yes");
	row("Log Type", "%s", reply_str(s->b, "log_type"));
	row("File Logging", "%s", reply_bool(s->b, "file_logging") ? "Yes" : "No");
	row("Decisions (allow/deny)", "%lld / %lld", (long long)reply_int(s->dec, "allowed"),
	    (long long)reply_int(s->dec, "denied"));
	row("Decision Timeouts", "%lld (%lld answered at once: queue full)",
	    (long long)reply_int(s->dec, "timeouts"), (long long)reply_int(s->dec, "queue_full"));
	if (reply_bool(s->loader, "enabled"))
		row("Loader Check", "Yes (%lld programs run through ld.so decided, %lld answered "
		    "at once: queue full)", (long long)reply_int(s->loader, "programs_decided"),
		    (long long)reply_int(s->loader, "queue_full"));
	else
		row("Loader Check", "No (`ld.so PROGRAM` is not decided)");
	row("Anonymous Executables", "%s", reply_bool(s->b, "anonymous_exec_enforced")
		? "Yes (BPF LSM: denied in Lockdown, logged in Monitor)"
		: "not enforced (memfd: no BPF LSM backstop on this machine)");
	row("Mounts Learned By", "%s (%lld mount namespaces)", s->mount_events
		? "kernel mount notifications" : "scan every second",
	    (long long)reply_int(s->mounts, "namespaces"));
	if (reply_int(s->mounts, "namespaces_not_followed") > 0 ||
	    reply_int(s->mounts, "mounts_not_watched") > 0)
		row("Mounts Not Watched", "%lld (and %lld namespaces past the cap of %lld)",
		    (long long)reply_int(s->mounts, "mounts_not_watched"),
		    (long long)reply_int(s->mounts, "namespaces_not_followed"),
		    (long long)reply_int(s->mounts, "namespaces_max"));
	/* A user's FUSE server can hold the reader of FUSE and overlay execs (only those). */
	if (reply_int(s->mounts, "fuse_exec_reader_held_ms") >= 1000)
		row("FUSE Exec Reader", "held %lld ms by a FUSE server (execs on FUSE and overlay "
		    "filesystems wait; %lld answered by the fallback rule)",
		    (long long)reply_int(s->mounts, "fuse_exec_reader_held_ms"),
		    (long long)reply_int(s->mounts, "fuse_exec_queue_full"));
	row("Open On This Kernel", "%s", s->mounts_open);
	row("Exec Info", "%s", strcmp(reply_str(s->b, "exec_info"), "bpf") == 0
		? "BPF (parent, user and args kept at each exec)"
		: "/proc (no args; the user of a process gone before santad looked is unknown)");
	/* Santa's rows: samples over 20 % CPU / 250 MB resident, and the peaks. */
	row("Watchdog CPU Events", "%lld  (Peak: %.2f%%)", (long long)reply_int(s->wd, "cpu_events"),
	    (double)reply_int(s->wd, "cpu_peak_centipercent") / 100.0);
	row("Watchdog RAM Events", "%lld  (Peak: %.2fMB)", (long long)reply_int(s->wd, "ram_events"),
	    (double)reply_int(s->wd, "ram_peak_kib") / 1024.0);
	if (reply_int(s->wd, "systemd_usec") > 0)
		row("systemd Watchdog", "every %.1f s", (double)reply_int(s->wd, "systemd_usec") / 1e6);
	else
		row("systemd Watchdog", "off");
	if (reply_int(s->b, "log_lines_lost") > 0)
		row("Log Lines Lost", "%lld (disk full?)", (long long)reply_int(s->b, "log_lines_lost"));
	if (reply_int(s->b, "log_lines_over_quota") > 0)
		row("Log Lines Over Quota", "%lld (users' lines past EventLogUserQuotaMB)",
		    (long long)reply_int(s->b, "log_lines_over_quota"));
	for (i = 0; i < ipc_container_len(s->watched); i++)
		row(i == 0 ? "Watched Filesystems" : "", "%s",
		    ipc_value_string(ipc_array_at(s->watched, i)));
	if (reply_int(s->b, "watched_not_listed") > 0)
		row("", "(and %lld more)", (long long)reply_int(s->b, "watched_not_listed"));
	printf(">>> Cache Info\n");
	row("Root cache count", "%lld", s->root_cached);
	row("Non-root cache count", "%lld", s->non_root_cached);
	row("Cache entries", "%lld (of %lld)", (long long)reply_int(s->cache, "entries"),
	    (long long)reply_int(s->cache, "capacity"));
	row("Cache hits / misses", "%lld / %lld", (long long)reply_int(s->cache, "hits"),
	    (long long)reply_int(s->cache, "misses"));
	row("Kernel ignore marks", "%lld", (long long)reply_int(s->cache, "kernel_ignore_marks"));
	printf(">>> Database Info\n");
	if (reply_str(s->b, "rules_db_error")[0])
		row("Rules Database", "UNUSABLE: %s", reply_str(s->b, "rules_db_error"));
	row("Binary Rules", "%lld", (long long)reply_int(s->rules, "binary"));
	row("Certificate Rules", "%lld", (long long)reply_int(s->rules, "certificate"));
	row("TeamID Rules", "%lld", (long long)reply_int(s->rules, "teamid"));
	row("SigningID Rules", "%lld", (long long)reply_int(s->rules, "signingid"));
	row("CDHash Rules", "%lld (nothing on Linux to match)", (long long)reply_int(s->rules, "cdhash"));
	row("Compiler Rules", "%lld", (long long)reply_int(s->rules, "compiler"));
	row("Transitive Rules", "%lld", (long long)reply_int(s->rules, "transitive"));
	if (reply_int(s->rules, "transitive_writes_dropped") > 0)
		row("Transitive Rules Dropped", "%lld (the write queue was full)",
		    (long long)reply_int(s->rules, "transitive_writes_dropped"));
	row("Events Pending Upload", "%lld", (long long)reply_int(s->b, "events_pending_upload"));
	if (reply_int(s->b, "events_dropped") > 0)
		row("Events Dropped (cap)", "%lld", (long long)reply_int(s->b, "events_dropped"));
	printf(">>> Package Trust\n");
	if (!reply_bool(s->pkg, "enabled"))
		row("Enabled", "No (SigningID, Certificate and TeamID rules match nothing)");
	else if (!reply_bool(s->pkg, "loaded"))
		row("Enabled", "Yes, not loaded: %s", reply_str(s->pkg, "error")[0]
			? reply_str(s->pkg, "error") : "loading");
	else {
		row("Enabled", "Yes");
		if (reply_str(s->pkg, "error")[0])
			row("Last Load Error", "%s (the previous view stays)", reply_str(s->pkg, "error"));
		if (reply_bool(s->pkg, "no_dpkg"))
			row("dpkg Database", "none (no packages to trust)");
		row("Packages", "%lld (%lld in a signed archive)",
		    (long long)reply_int(s->pkg, "packages"),
		    (long long)reply_int(s->pkg, "packages_with_archive"));
		row("Packaged Programs", "%lld", (long long)reply_int(s->pkg, "programs"));
		row("Signed Archives", "%lld", (long long)reply_int(s->pkg, "archives"));
		if (reply_int(s->pkg, "archives_unsigned") > 0)
			row("Archives Not Trusted", "%lld (no good signature by a trusted key)",
			    (long long)reply_int(s->pkg, "archives_unsigned"));
		row("Memory", "%.1f MB (loaded in %lld ms%s)",
		    (double)reply_int(s->pkg, "memory_bytes") / 1e6, (long long)reply_int(s->pkg, "load_ms"),
		    reply_bool(s->pkg, "from_cache") ? ", dpkg's part from the cache" : "");
		if (reply_int(s->pkg, "cache_error"))
			row("Cache", "not written: %s", strerror((int)-reply_int(s->pkg, "cache_error")));
		if (reply_bool(s->pkg, "prescan_done"))
			row("Programs Verified Ahead", "%lld (%lld refused; %lld ms)",
			    (long long)reply_int(s->pkg, "prescan_verified"),
			    (long long)reply_int(s->pkg, "prescan_refused"),
			    (long long)reply_int(s->pkg, "prescan_ms"));
		else
			row("Programs Verified Ahead", "in progress");
		row("Files Verified / Refused", "%lld / %lld", (long long)reply_int(s->pkg, "verified"),
		    (long long)reply_int(s->pkg, "unverified"));
	}
	if (reply_int(s->b, "static_rules") > 0) {
		printf(">>> Static Rules\n");
		row("Rules", "%lld", (long long)reply_int(s->b, "static_rules"));
	}
	if (reply_str(s->b, "sync_server")[0]) {
		char date[64];

		printf(">>> Sync Info\n");
		/* Plain http: anyone on the path may read the rules or answer the sync. */
		row("Sync Server", "%s%s", reply_str(s->b, "sync_server"),
		    strncasecmp(reply_str(s->b, "sync_server"), "http://", 7) == 0
			    ? " (insecure: plain http, not encrypted)"
			    : "");
		row("Clean Sync Required", "%s", reply_bool(s->sync, "clean_required") ? "Yes" : "No");
		row("Last Successful Full Sync", "%s",
		    format_date(reply_int(s->sync, "last_successful_full"), date, sizeof(date)));
		row("Last Successful Rule Sync", "%s",
		    format_date(reply_int(s->sync, "last_successful_rule"), date, sizeof(date)));
		if (reply_str(s->sync, "last_error")[0])
			row("Last Sync Error", "%s", reply_str(s->sync, "last_error"));
	}
	if (reply_bool(s->metrics, "enabled")) {
		printf(">>> Metrics Info\n");
		row("Metrics Server", "%s", reply_str(s->metrics, "server")[0] ? reply_str(s->metrics, "server")
									 : "(none)");
		row("Export Interval (seconds)", "%lld", (long long)reply_int(s->metrics, "interval"));
		if (reply_int(s->metrics, "prometheus_port") > 0)
			row("Prometheus Endpoint", "http://127.0.0.1:%lld/metrics",
			    (long long)reply_int(s->metrics, "prometheus_port"));
	}
	printf(">>> Notifications\n");
	if (reply_int(s->gui, "console_uid") >= 0)
		row("Console User", "uid %lld (%s)", (long long)reply_int(s->gui, "console_uid"),
		    reply_str(s->gui, "console_source"));
	else
		/* Not "nobody": that is a user's name (uid 65534). */
		row("Console User", "none (no session on %s)", reply_str(s->gui, "console_source"));
	row("Agents (santa-gui)", "%lld", (long long)reply_int(s->gui, "agents"));
	if (reply_int(s->gui, "served_pid") > 0)
		row("Served Agent", "pid %lld", (long long)reply_int(s->gui, "served_pid"));
	else
		row("Served Agent", "none");
	row("Notices Sent / Queued", "%lld / %lld", (long long)reply_int(s->gui, "sent"),
	    (long long)reply_int(s->gui, "queued"));
	printf(">>> Helpers\n");
	for (i = 0; i < ipc_container_len(s->helpers); i++) {
		const struct ipc_value *hv;
		const char *name = ipc_dict_key_at(s->helpers, i, &hv);

		if (reply_int(hv, "pid") > 0)
			row(name, "%s (pid %lld, %lld restarts)", reply_str(hv, "state"),
			    (long long)reply_int(hv, "pid"), (long long)reply_int(hv, "restarts"));
		else
			row(name, "%s", reply_str(hv, "state"));
	}
}

int
cmd_status(struct santactl *ctl, int argc, char **argv)
{
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	struct status s = { 0 };
	struct ipc_msg *reply;
	bool backstop;

	reply = santactl_request(ctl, ipc_msg_new(SANTAD_STATUS));
	if (!reply)
		return 1;
	s.b = ipc_msg_body_const(reply);
	ipc_dict_get_container(s.b, "rules", IPC_DICT, &s.rules);
	ipc_dict_get_container(s.b, "cache", IPC_DICT, &s.cache);
	ipc_dict_get_container(s.b, "decisions", IPC_DICT, &s.dec);
	ipc_dict_get_container(s.b, "watched", IPC_ARRAY, &s.watched);
	ipc_dict_get_container(s.b, "sync", IPC_DICT, &s.sync);
	ipc_dict_get_container(s.b, "helpers", IPC_DICT, &s.helpers);
	ipc_dict_get_container(s.b, "metrics", IPC_DICT, &s.metrics);
	ipc_dict_get_container(s.b, "gui", IPC_DICT, &s.gui);
	ipc_dict_get_container(s.b, "loader_check", IPC_DICT, &s.loader);
	ipc_dict_get_container(s.b, "package_trust", IPC_DICT, &s.pkg);
	ipc_dict_get_container(s.b, "watchdog", IPC_DICT, &s.wd);
	ipc_dict_get_container(s.b, "mounts", IPC_DICT, &s.mounts);
	/*
	 * What an exec from a filesystem santad has not marked yet meets: the
	 * BPF backstop refuses it (LOCKDOWN); without it, nothing. With mount
	 * events that moment is the event's round trip, or up to a second for
	 * a namespace santad has not seen; without them, up to a second.
	 */
	s.mount_events = strcmp(reply_str(s.mounts, "learned_by"), "events") == 0;
	backstop = reply_bool(s.b, "anonymous_exec_enforced");
	snprintf(s.mounts_open, sizeof(s.mounts_open), "%s%s%s%s",
		 backstop ? "" : "no BPF backstop: a program run from a new mount before santad "
				 "marks it, or from one it could not mark (Mounts Not Watched: a "
				 "namespace past the cap), is not seen",
		 !backstop && !s.mount_events ? "; " : "",
		 s.mount_events ? "" : "no mount notifications: other namespaces' tables are read "
				       "every second",
		 backstop && s.mount_events ? "nothing known" : "");
	/* Santa's root cache: decisions on files of the filesystem at santad's /. */
	s.root_cached = (long long)reply_int(s.cache, "root_entries");
	s.non_root_cached = (long long)reply_int(s.cache, "entries") - s.root_cached;
	if (json)
		status_print_json(&s);
	else
		status_print_text(&s);
	ipc_msg_free(reply);
	return 0;
}
