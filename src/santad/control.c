/*
 * santad.sock: the requests santactl and the helpers make (santad_proto.h); the
 * table before on_message says who may make which. Only validated
 * santactl binaries get in; only those running as root may change anything.
 * Handlers answer at once: they run on the loop, never block and never hash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log_barrier.h"
#include "rule_export.h"
#include "rule_writer.h"
#include "santa/events_db.h"
#include "santa/ipc.h"
#include "santa/path.h"
#include "santa/santad_proto.h"
#include "santa/sha256.h"
#include "package_trust.h"
#include "santa/pkgtrust.h"
#include "santad.h"
#include "mounts.h"
#include "anon_exec.h"
#include "bundles.h"
#include "control.h"
#include "event_log.h"
#include "exec.h"
#include "rule_lookup.h"
#include "exec_info.h"
#include "fanotify.h"
#include "gui.h"
#include "helpers.h"
#include "helper_settings.h"
#include "loader.h"
#include "metrics.h"
#include "sync.h"

/* santad.sock's state beside its listener (d->control): loop thread only. */
struct control_state {
	struct santa_ratelimit refusals; /* santad.sock's refusal log lines, per uid */
	struct ipc_allowlist allowlist;  /* Santa's own binaries, as recorded at start */
	/* Santa's watchdog: santad's own CPU and memory, sampled every 30 s. */
	struct watchdog {
		uint64_t cpu_events, ram_events; /* samples over the thresholds */
		double cpu_peak;		 /* percent of one CPU, the busiest sample */
		uint64_t cpu_usec, at_usec;	 /* CPU time and CLOCK_MONOTONIC at the last sample */
	} watchdog;
};

static bool
is_helper(const struct ipc_peer *peer)
{
	return strcmp(peer->name, "santasyncservice") == 0 ||
	       strcmp(peer->name, "santametricservice") == 0 ||
	       strcmp(peer->name, "santabundleservice") == 0;
}

static int
authorize(struct ipc_peer *peer, void *userdata, char *why, size_t why_size)
{
	if (strcmp(peer->name, "santactl") != 0 && strcmp(peer->name, "santa-gui") != 0 &&
	    !is_helper(peer)) {
		snprintf(why, why_size, "%s may not use santad.sock", peer->name);
		return -EPERM;
	}
	/* Only root's santactl changes rules; helpers have their own, narrower requests. */
	peer->privileged = strcmp(peer->name, "santactl") == 0 && peer->uid == 0;
	return 0;
}

static void
on_rejected(struct ipc_listener *l, const struct ipc_peer *peer, const char *why,
	    void *userdata)
{
	struct santad *d = userdata;

	/* Counted always; logged at most once per uid per interval (anyone can connect). */
	santad_count_rejection(d, why);
	santa_log_refusal(&d->log, &d->control_state->refusals, "santad.sock: ", peer->pid,
			  peer->uid, why);
}

/*
 * Santa's watchdog: every 30 s santad looks at its own CPU time and resident
 * memory. Over 20 % of one CPU in the interval counts a CPU event, over 250 MB
 * resident a RAM event, each logged (Santa's thresholds and words). status
 * reports the counts, the busiest interval and the highest resident size the
 * kernel saw (getrusage's ru_maxrss, /proc's VmHWM). systemd's watchdog is
 * another thing: sd-event pings it from the loop, status gives its interval.
 */
#define WATCHDOG_USEC (30ULL * 1000000)
#define WATCHDOG_CPU_PERCENT 20.0
#define WATCHDOG_RAM_MB 250.0

static uint64_t
process_cpu_usec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Resident memory now, in MB of 2^20 bytes as Santa counts; 0 if /proc cannot say. */
static double
resident_mb(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	if (n != 2)
		return 0;
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static int
on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;
	struct watchdog *wd = &d->control_state->watchdog;
	uint64_t cpu = process_cpu_usec(), now = usec;
	double percent = 0, mb;

	(void)sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	if (now > wd->at_usec && cpu >= wd->cpu_usec)
		percent = (double)(cpu - wd->cpu_usec) * 100.0 /
			  (double)(now - wd->at_usec);
	if (percent > wd->cpu_peak)
		wd->cpu_peak = percent;
	if (percent > WATCHDOG_CPU_PERCENT) {
		wd->cpu_events++;
		santa_log(&d->log, LOG_WARNING,
			  "Watchdog: potentially high CPU use, ~%.2f%% over last %llu seconds.",
			  percent, (unsigned long long)((now - wd->at_usec) / 1000000));
	}
	wd->cpu_usec = cpu;
	wd->at_usec = now;
	mb = resident_mb();
	if (mb > WATCHDOG_RAM_MB) {
		wd->ram_events++;
		santa_log(&d->log, LOG_WARNING, "Watchdog: potentially high RAM use, RSS is %.2fMB.", mb);
	}
	if (sd_event_source_set_time_relative(s, WATCHDOG_USEC) >= 0)
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static void
watchdog_status(struct santad *d, struct ipc_value *w)
{
	const struct watchdog *wd = &d->control_state->watchdog;
	struct rusage ru;
	uint64_t systemd_usec = 0;

	ipc_dict_put_int(w, "cpu_events", (int64_t)wd->cpu_events);
	ipc_dict_put_int(w, "ram_events", (int64_t)wd->ram_events);
	/* Messages carry no floating point: hundredths of a percent, KiB. */
	ipc_dict_put_int(w, "cpu_peak_centipercent", (int64_t)(wd->cpu_peak * 100.0 + 0.5));
	ipc_dict_put_int(w, "ram_peak_kib", getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_maxrss : 0);
	ipc_dict_put_int(w, "interval_sec", (int64_t)(WATCHDOG_USEC / 1000000));
	if (sd_event_get_watchdog(d->event) > 0 && sd_watchdog_enabled(0, &systemd_usec) <= 0)
		systemd_usec = 0;
	ipc_dict_put_int(w, "systemd_usec", (int64_t)systemd_usec);
}

static void
reply_version(struct ipc_conn *conn, const struct ipc_msg *req)
{
	struct ipc_msg *m = ipc_msg_new(SANTAD_VERSION);

	if (!m || ipc_dict_put_string(ipc_msg_body(m), "version", SANTA_VERSION) < 0) {
		ipc_msg_free(m);
		ipc_conn_reply_error(conn, req, -ENOMEM, "out of memory");
		return;
	}
	ipc_conn_reply(conn, req, m);
}

#define STATUS_WATCHED_MAX 64 /* watched filesystems named in a status reply */

static void
reply_status(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	struct ipc_msg *m = ipc_msg_new(SANTAD_STATUS);
	const struct santad_live_settings *live = &d->policy->cfg;
	struct ipc_value *b, *rules, *cache, *dec, *watched, *helpers, *metrics;
	struct helper_status hs;
	uint64_t counts[SANTA_RULE_TYPE_MAX + 1];
	struct decision_cache_stats cs;
	size_t i, shown = 0, not_shown = 0;

	if (!m || rules_db_counts(d->rules, counts) < 0) {
		ipc_msg_free(m);
		ipc_conn_reply_error(conn, req, -EIO, "cannot read the rules database");
		return;
	}
	santad_exec_cache_stats(d, &cs);
	b = ipc_msg_body(m);
	ipc_dict_put_string(b, "mode", santa_mode_to_string(live->client_mode));
	ipc_dict_put_string(b, "log_type", santa_event_log_type_to_string(d->start.event_log_type));
	ipc_dict_put_string(b, "event_log_path", d->start.event_log_path);
	ipc_dict_put_bool(b, "transitive_rules", live->enable_transitive_rules);
	ipc_dict_put_bool(b, "file_logging", d->start.file_changes_regex != NULL);
	ipc_dict_put_int(b, "static_rules", (int64_t)live->n_static_rules);
	ipc_dict_put_string(b, "sync_server", live->sync_base_url ? live->sync_base_url : "");
	ipc_dict_put_string(b, "rules_db_error", d->rules_error);
	/*
	 * fanotify sees files on marked filesystems only: a memfd (or any file on
	 * a kernel-internal mount) is exec'd without asking, unless the BPF LSM
	 * backstop is attached. Said, not hidden.
	 */
	ipc_dict_put_bool(b, "anonymous_exec_enforced", santad_anon_exec_enforced(d));
	ipc_dict_put_int(b, "anonymous_exec_events_lost", (int64_t)santad_anon_exec_lost(d));
	/* Where the parent, uid, gid and args of execs logged after the fact come from. */
	ipc_dict_put_string(b, "exec_info", santad_exec_info_active(d) ? "bpf" : "proc");
	santad_loader_status(d, b);
	ipc_dict_put_int(b, "mount_namespaces", (int64_t)fan_mount_namespaces(d->fan));
	santad_mounts_status(d, b);
	{
		/* Package trust: what gives SIGNINGID, CERTIFICATE and TEAMID rules something to match. */
		struct ipc_value *pkg = ipc_dict_put_container(b, "package_trust", IPC_DICT);
		struct package_trust_status ps;

		package_trust_status(d->pkgtrust, &ps);
		ipc_dict_put_bool(pkg, "enabled", d->pkgtrust != NULL);
		ipc_dict_put_bool(pkg, "loaded", ps.loaded);
		ipc_dict_put_string(pkg, "error", ps.error);
		ipc_dict_put_bool(pkg, "no_dpkg", ps.stats.dpkg.no_status);
		ipc_dict_put_bool(pkg, "from_cache", ps.stats.dpkg.from_cache);
		ipc_dict_put_int(pkg, "cache_error", ps.stats.dpkg.cache_error);
		ipc_dict_put_int(pkg, "packages", (int64_t)ps.stats.dpkg.packages);
		ipc_dict_put_int(pkg, "programs", (int64_t)ps.stats.dpkg.files);
		ipc_dict_put_int(pkg, "packages_with_archive", (int64_t)ps.stats.packages_with_archive);
		ipc_dict_put_int(pkg, "archives", (int64_t)ps.stats.apt.releases_used);
		ipc_dict_put_int(pkg, "archives_unsigned", (int64_t)ps.stats.apt.releases_unsigned);
		ipc_dict_put_int(pkg, "memory_bytes",
				 (int64_t)(ps.stats.dpkg.memory_bytes + ps.stats.apt.memory_bytes));
		ipc_dict_put_int(pkg, "load_ms", (int64_t)(ps.load_usec / 1000));
		ipc_dict_put_int(pkg, "loaded_at", ps.loaded_at);
		ipc_dict_put_int(pkg, "generation", (int64_t)ps.generation);
		ipc_dict_put_int(pkg, "verified", (int64_t)atomic_load(&d->stats.package_verified));
		ipc_dict_put_int(pkg, "unverified", (int64_t)atomic_load(&d->stats.package_unverified));
		ipc_dict_put_int(pkg, "md5_with_hash",
				 (int64_t)atomic_load(&d->stats.package_md5_with_hash));
		ipc_dict_put_int(pkg, "rules", (int64_t)atomic_load(&d->package_rules));
		ipc_dict_put_int(pkg, "critical_allowed", (int64_t)atomic_load(&d->stats.critical_allowed));
		ipc_dict_put_bool(pkg, "prescan_done", ps.prescan_done);
		ipc_dict_put_int(pkg, "prescan_verified", (int64_t)(ps.prescan_verified + ps.prescan_carried));
		ipc_dict_put_int(pkg, "prescan_refused", (int64_t)ps.prescan_refused);
		ipc_dict_put_int(pkg, "prescan_ms", (int64_t)(ps.prescan_usec / 1000));
		ipc_dict_put_int(pkg, "prescan_read", (int64_t)ps.prescan_verified);
		ipc_dict_put_int(pkg, "prompt_verified", (int64_t)ps.prompt_verified);
		ipc_dict_put_int(pkg, "records_loaded", (int64_t)ps.records_loaded);
		ipc_dict_put_int(pkg, "records_used", (int64_t)ps.records_used);
	}
	{
		uint64_t lines_lost, upload_lost;

		event_log_losses(d->elog, &lines_lost, &upload_lost);
		/* Lines never written because their notification never came count too. */
		ipc_dict_put_int(b, "log_lines_lost", (int64_t)(lines_lost + d->stats.notifications_lost));
		ipc_dict_put_int(b, "events_store_failures", (int64_t)upload_lost);
		ipc_dict_put_int(b, "log_lines_over_quota", (int64_t)event_log_quota_dropped(d->elog));
	}
	rules = ipc_dict_put_container(b, "rules", IPC_DICT);
	ipc_dict_put_int(rules, "binary", (int64_t)counts[SANTA_RULE_TYPE_BINARY]);
	ipc_dict_put_int(rules, "certificate", (int64_t)counts[SANTA_RULE_TYPE_CERTIFICATE]);
	ipc_dict_put_int(rules, "teamid", (int64_t)counts[SANTA_RULE_TYPE_TEAMID]);
	ipc_dict_put_int(rules, "signingid", (int64_t)counts[SANTA_RULE_TYPE_SIGNINGID]);
	ipc_dict_put_int(rules, "cdhash", (int64_t)counts[SANTA_RULE_TYPE_CDHASH]);
	{
		uint64_t compiler = 0;

		uint64_t transitive = 0;

		rules_db_count_policy(d->rules, SANTA_POLICY_ALLOWLIST_COMPILER, &compiler);
		ipc_dict_put_int(rules, "compiler", (int64_t)compiler);
		rules_db_count_policy(d->rules, SANTA_POLICY_ALLOWLIST_TRANSITIVE, &transitive);
		ipc_dict_put_int(rules, "transitive", (int64_t)transitive);
		ipc_dict_put_int(rules, "transitive_writes_dropped",
				 d->rule_writer ? (int64_t)rule_writer_dropped(d->rule_writer) : 0);
	}
	metrics = ipc_dict_put_container(b, "metrics", IPC_DICT);
	santad_helper_status(d, HELPER_METRIC, &hs);
	ipc_dict_put_bool(metrics, "enabled", hs.wanted);
	ipc_dict_put_string(metrics, "server", live->metric_url ? live->metric_url : "");
	ipc_dict_put_int(metrics, "interval", live->metric_export_interval);
	ipc_dict_put_int(metrics, "prometheus_port", live->metric_prometheus_port);
	ipc_dict_put_int(b, "events_pending_upload", d->events ? events_db_count(d->events) : 0);
	ipc_dict_put_int(b, "events_dropped", d->events ? events_db_dropped(d->events) : 0);
	santad_sync_status(d, ipc_dict_put_container(b, "sync", IPC_DICT));
	santad_gui_status(d, ipc_dict_put_container(b, "gui", IPC_DICT));
	helpers = ipc_dict_put_container(b, "helpers", IPC_DICT);
	for (i = 0; i < HELPER_MAX; i++) {
		struct ipc_value *hv;

		santad_helper_status(d, (enum helper_kind)i, &hs);
		if (!hs.name)
			continue;
		hv = ipc_dict_put_container(helpers, hs.name, IPC_DICT);
		ipc_dict_put_string(hv, "state", hs.state);
		ipc_dict_put_int(hv, "pid", hs.pid);
		ipc_dict_put_int(hv, "restarts", (int64_t)hs.restarts);
	}
	cache = ipc_dict_put_container(b, "cache", IPC_DICT);
	ipc_dict_put_int(cache, "entries", (int64_t)cs.entries);
	ipc_dict_put_int(cache, "capacity", (int64_t)cs.capacity);
	ipc_dict_put_int(cache, "hits", (int64_t)cs.hits);
	ipc_dict_put_int(cache, "misses", (int64_t)cs.misses);
	ipc_dict_put_int(cache, "kernel_ignore_marks", (int64_t)d->stats.ignore_marks);
	/* Santa's root cache: files on the filesystem of santad's /; the rest is non-root. */
	ipc_dict_put_int(cache, "root_entries", (int64_t)cs.entries_on_dev);
	watchdog_status(d, ipc_dict_put_container(b, "watchdog", IPC_DICT));
	dec = ipc_dict_put_container(b, "decisions", IPC_DICT);
	ipc_dict_put_int(dec, "allowed", (int64_t)d->stats.allowed);
	ipc_dict_put_int(dec, "denied", (int64_t)d->stats.denied);
	ipc_dict_put_int(dec, "timeouts", (int64_t)d->stats.timeouts);
	ipc_dict_put_int(dec, "queue_full", (int64_t)d->stats.queue_full);
	ipc_dict_put_int(dec, "pending", santad_exec_pending(d));
	ipc_dict_put_int(dec, "log_dropped", (int64_t)event_log_dropped(d->elog));
	/*
	 * At most STATUS_WATCHED_MAX paths, santad's own mounts first (others'
	 * are named through /proc), then a count of the rest: with mount marks a
	 * user's 20,000 bind mounts made a reply too large to send, and root's
	 * status went unanswered.
	 */
	watched = ipc_dict_put_container(b, "watched", IPC_ARRAY);
	for (int pass = 0; pass < 2; pass++)
		for (i = 0; i < fan_watched_entries(d->fan); i++) {
			const char *path = fan_watched_path(d->fan, i, NULL);

			if (!path || (strncmp(path, "/proc/", 6) == 0) != (pass == 1))
				continue;
			if (shown < STATUS_WATCHED_MAX) {
				ipc_array_add_string(watched, path);
				shown++;
			} else {
				not_shown++;
			}
		}
	ipc_dict_put_int(b, "watched_not_listed", (int64_t)not_shown);
	ipc_conn_reply(conn, req, m);
}

/* Reads one rule from a request dict; the strings point into the message. */
static int
parse_rule(const struct ipc_value *v, struct santa_rule *rule, char *why, size_t why_size)
{
	int64_t type = 0, policy = 0;

	memset(rule, 0, sizeof(*rule));
	if (ipc_value_type(v) != IPC_DICT ||
	    ipc_dict_get_string(v, "identifier", &rule->identifier) < 0 ||
	    ipc_dict_get_int(v, "rule_type", &type) < 0 ||
	    ipc_dict_get_int(v, "policy", &policy) < 0) {
		snprintf(why, why_size, "a rule needs identifier, rule_type and policy");
		return -EINVAL;
	}
	if (type < SANTA_RULE_TYPE_BINARY || type > SANTA_RULE_TYPE_MAX ||
	    policy < SANTA_POLICY_ALLOWLIST || policy > SANTA_POLICY_MAX) {
		snprintf(why, why_size, "unknown rule_type %lld or policy %lld", (long long)type,
			 (long long)policy);
		return -EINVAL;
	}
	rule->type = (enum santa_rule_type)type;
	rule->policy = (enum santa_policy)policy;
	ipc_dict_get_string(v, "custom_msg", &rule->custom_msg);
	ipc_dict_get_string(v, "custom_url", &rule->custom_url);
	return 0;
}

/* Parsed here (one message, at most 128 KiB); written by the rule writer, which answers. */
static void
handle_rule_add(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req)
{
	const struct ipc_value *list;
	struct santa_rule *rules = NULL;
	char why[512] = "", who[64];
	size_t n, i;
	int r;

	if (ipc_dict_get_container(ipc_msg_body_const(req), "rules", IPC_ARRAY, &list) < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL, "rules: expected an array of rules");
		goto fail;
	}
	n = ipc_container_len(list);
	rules = calloc(n ? n : 1, sizeof(*rules));
	if (!rules) {
		ipc_conn_reply_error(conn, req, -ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		r = parse_rule(ipc_array_at(list, i), &rules[i], why, sizeof(why));
		if (r < 0) {
			ipc_conn_reply_error(conn, req, r, why);
			goto fail;
		}
	}
	snprintf(who, sizeof(who), "santactl (pid %d)", (int)ipc_conn_peer(conn)->pid);
	rule_writer_apply_rules(d->rule_writer, conn, req, rules, n, who);
	return;
fail:
	free(rules);
	ipc_msg_free(req);
}

static void
handle_rule_check(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct ipc_value *b = ipc_msg_body_const(req);
	char id[SANTA_IDENTIFIER_MAX];
	struct santa_rule_found found;
	const char *identifier;
	struct ipc_msg *reply;
	int64_t type = 0;
	int r;

	if (ipc_dict_get_string(b, "identifier", &identifier) < 0 ||
	    ipc_dict_get_int(b, "rule_type", &type) < 0 || strlen(identifier) >= sizeof(id) ||
	    type < SANTA_RULE_TYPE_BINARY || type > SANTA_RULE_TYPE_MAX) {
		ipc_conn_reply_error(conn, req, -EINVAL, "expected identifier and rule_type");
		return;
	}
	strcpy(id, identifier);
	if (santa_rule_identifier_normalize((enum santa_rule_type)type, id) < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL, "not a valid identifier for that rule type");
		return;
	}
	if (type == SANTA_RULE_TYPE_BINARY)
		r = santad_find_binary_rule(d, d->policy, id, &found);
	else
		r = rules_db_lookup(d->rules, (enum santa_rule_type)type, id, &found);
	reply = ipc_msg_new(SANTAD_RULE_CHECK);
	ipc_dict_put_bool(ipc_msg_body(reply), "found", r == 0);
	if (r == 0) {
		ipc_dict_put_int(ipc_msg_body(reply), "policy", found.policy);
		ipc_dict_put_string(ipc_msg_body(reply), "custom_msg", found.custom_msg);
		ipc_dict_put_string(ipc_msg_body(reply), "custom_url", found.custom_url);
	}
	ipc_conn_reply(conn, req, reply);
}

/* Copies at most SANTA_PKG_IDS_MAX strings of array key that fit size; false when none. */
static size_t
copy_ids(const struct ipc_value *b, const char *key, char *out, size_t size)
{
	const struct ipc_value *array;
	size_t i, n = 0;

	if (ipc_dict_get_container(b, key, IPC_ARRAY, &array) < 0)
		return 0;
	for (i = 0; i < ipc_container_len(array) && n < SANTA_PKG_IDS_MAX; i++) {
		const char *v = ipc_value_string(ipc_array_at(array, i));

		if (v && strlen(v) < size)
			memcpy(out + size * n++, v, strlen(v) + 1);
	}
	return n;
}

/* The identifiers santactl sent with a fileinfo request, if any. */
static bool
fileinfo_identity(const struct ipc_value *b, struct santa_pkg_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->n_signing_ids = copy_ids(b, "signing_ids", id->signing_ids[0], sizeof(id->signing_ids[0]));
	id->n_certificates = copy_ids(b, "certificates", id->certificates[0],
				      sizeof(id->certificates[0]));
	id->n_team_ids = copy_ids(b, "team_ids", id->team_ids[0], sizeof(id->team_ids[0]));
	return id->n_signing_ids || id->n_certificates || id->n_team_ids;
}

static void
handle_fileinfo(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct ipc_value *b = ipc_msg_body_const(req);
	struct santa_rule_found found;
	struct santa_decision decision;
	char hex[SANTA_SHA256_HEX_LEN + 1];
	const char *sha, *path;
	uint8_t digest[SANTA_SHA256_LEN];
	struct ipc_msg *reply;
	struct santa_decide_input in = {
		.mode = d->policy->cfg.client_mode,
		.scopes = d->policy->scopes,
		.transitive_rules_enabled = d->policy->cfg.enable_transitive_rules,
	};
	struct santa_rule_found package_rules[3];
	struct santa_pkg_identity id[1];
	const char *package;
	bool over_rules = false;
	int which[3];

	if (ipc_dict_get_string(b, "sha256", &sha) < 0 || ipc_dict_get_string(b, "path", &path) < 0 ||
	    santa_sha256_from_hex(sha, digest) < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL, "expected sha256 (64 hex digits) and path");
		return;
	}
	santa_sha256_to_hex(digest, hex);
	in.path = path;
	if (santad_find_binary_rule(d, d->policy, hex, &found) == 0)
		in.binary_rule = &found;
	santa_decide(&in, &decision);
	/*
	 * The package identity santactl computed for the file (it reads the
	 * file, santad never opens a path a user names): what santad would
	 * decide if that identity holds. Only the asker's own display depends on it.
	 */
	if (!decision.from_rule && decision.reason != SANTA_REASON_PENDING_TRANSITIVE &&
	    fileinfo_identity(b, id)) {
		santad_package_rules(d, d->policy, id, package_rules, &in, which);
		santa_decide(&in, &decision);
	}
	/* A critical system binary (exec.c: allow_if_critical), by the package santactl found. */
	if (decision.verdict == SANTA_VERDICT_DENY &&
	    ipc_dict_get_string(b, "package", &package) == 0 &&
	    santad_critical_package(package, &over_rules) &&
	    (over_rules || decision.reason == SANTA_REASON_UNKNOWN)) {
		decision.verdict = SANTA_VERDICT_ALLOW;
		decision.reason = SANTA_REASON_SIGNINGID;
		decision.explain = "critical system binary";
	}
	reply = ipc_msg_new(SANTAD_FILEINFO);
	ipc_dict_put_string(ipc_msg_body(reply), "verdict", santa_verdict_to_string(decision.verdict));
	ipc_dict_put_string(ipc_msg_body(reply), "reason", santa_reason_to_string(decision.reason));
	if (decision.explain)
		ipc_dict_put_string(ipc_msg_body(reply), "explain", decision.explain);
	if (in.binary_rule)
		ipc_dict_put_int(ipc_msg_body(reply), "rule_policy", found.policy);
	ipc_conn_reply(conn, req, reply);
}

static void
handle_check_cache(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct ipc_value *b = ipc_msg_body_const(req);
	int64_t dev = 0, ino = 0, mtime = 0, ctime = 0, size = 0;
	struct santa_file_key key;
	struct santa_cached cached;
	struct ipc_msg *reply;
	bool hit;

	if (ipc_dict_get_int(b, "dev", &dev) < 0 || ipc_dict_get_int(b, "ino", &ino) < 0 ||
	    ipc_dict_get_int(b, "mtime_ns", &mtime) < 0 ||
	    ipc_dict_get_int(b, "ctime_ns", &ctime) < 0 || ipc_dict_get_int(b, "size", &size) < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL, "expected dev, ino, mtime_ns, ctime_ns, size");
		return;
	}
	key = (struct santa_file_key){ (dev_t)dev, (ino_t)ino, mtime, ctime, size };
	hit = santad_exec_cache_lookup(d, &key, &cached);
	reply = ipc_msg_new(SANTAD_CHECK_CACHE);
	ipc_dict_put_bool(ipc_msg_body(reply), "cached", hit);
	if (hit) {
		ipc_dict_put_string(ipc_msg_body(reply), "verdict",
				    santa_verdict_to_string(cached.decision.verdict));
		ipc_dict_put_string(ipc_msg_body(reply), "reason",
				    santa_reason_to_string(cached.decision.reason));
	}
	ipc_conn_reply(conn, req, reply);
}

/* Events waiting for upload, a page at a time (a reply fits one datagram). */
static void
handle_events_list(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	struct stored_event events[64];
	struct ipc_value *list, *e;
	struct ipc_msg *reply;
	int64_t after = 0, limit = 64;
	size_t used = 0;
	int n, i;

	ipc_dict_get_int(ipc_msg_body_const(req), "after_id", &after);
	ipc_dict_get_int(ipc_msg_body_const(req), "limit", &limit);
	if (limit < 1 || limit > 64)
		limit = 64;
	reply = ipc_msg_new(SANTAD_EVENTS_LIST);
	list = ipc_dict_put_container(ipc_msg_body(reply), "events", IPC_ARRAY);
	ipc_dict_put_int(ipc_msg_body(reply), "pending", d->events ? events_db_count(d->events) : 0);
	n = d->events ? events_db_fetch(d->events, after, (size_t)limit, events) : 0;
	for (i = 0; i < n; i++) {
		/* Stop at what fits; the client asks again after the last id it got. */
		used += strlen(events[i].json) + 32;
		if (used >= IPC_MAX_BODY / 2 || !(e = ipc_array_add_dict(list)))
			break;
		ipc_dict_put_int(e, "id", events[i].id);
		ipc_dict_put_string(e, "json", events[i].json);
	}
	if (n > 0)
		stored_events_free(events, (size_t)n);
	ipc_conn_reply(conn, req, reply);
}

static void
handle_metrics(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct santad_live_settings *cfg = &d->policy->cfg;
	struct helper_status hs;
	json_t *e = santad_metrics_export(d);
	char *text = e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct ipc_msg *reply = text ? ipc_msg_new(SANTAD_METRICS) : NULL;

	json_decref(e);
	if (!reply || ipc_dict_put_string(ipc_msg_body(reply), "json", text) < 0) {
		ipc_msg_free(reply);
		free(text);
		ipc_conn_reply_error(conn, req, -ENOMEM, "cannot build the metrics");
		return;
	}
	free(text);
	ipc_dict_put_string(ipc_msg_body(reply), "server", cfg->metric_url ? cfg->metric_url : "");
	ipc_dict_put_string(ipc_msg_body(reply), "format", cfg->metric_format ? cfg->metric_format : "");
	ipc_dict_put_int(ipc_msg_body(reply), "interval", cfg->metric_export_interval);
	santad_helper_status(d, HELPER_METRIC, &hs);
	ipc_dict_put_bool(ipc_msg_body(reply), "configured", hs.wanted);
	ipc_conn_reply(conn, req, reply);
}

static void
handle_validate_peer(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req)
{
	struct ipc_peer peer;
	struct ipc_msg *reply;
	char why[512];
	int pidfd, r;

	pidfd = ipc_dict_take_fd(ipc_msg_body(req), "pidfd");
	if (pidfd < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL, "expected pidfd");
		return;
	}
	r = ipc_peer_validate_pidfd(pidfd, &d->control_state->allowlist, &peer, why, sizeof(why));
	close(pidfd);
	if (r < 0) {
		santa_log(&d->log, LOG_WARNING, "%s: refused its client: %s",
			  ipc_conn_peer(conn)->name, why);
		ipc_conn_reply_error(conn, req, -EPERM, why);
		return;
	}
	reply = ipc_msg_new(SANTAD_VALIDATE_PEER);
	ipc_dict_put_string(ipc_msg_body(reply), "identity", peer.name);
	ipc_conn_reply(conn, req, reply);
}

/* Who may make each request: santad.sock's per-message privilege table. */
enum requester {
	ANY_CLIENT,    /* any validated client: reading only */
	ROOT_SANTACTL, /* santactl running as root */
	ROOT_OR_SYNC,  /* santactl running as root, or santasyncservice */
	ANY_HELPER,    /* santasyncservice, santametricservice, santabundleservice */
	SYNC_SERVICE,  /* santasyncservice */
	GUI_AGENT,     /* santa-gui */
	BUNDLE_SERVICE, /* santabundleservice */
};

static const struct {
	uint16_t type;
	enum requester who;
	bool writes_rules; /* refused while rules.db is unusable */
	const char *refusal;
} requests[] = {
	/*
	 * What any validated client may ask, and why (docs/ARCHITECTURE.md,
	 * "What each request costs"): counts and settings, as Santa's status and
	 * metrics show every user; one rule or decision per request for an
	 * identifier the asker names (a point lookup, no listing). Each is a few
	 * lookups on the loop at most; status and metrics may wait (bounded) in
	 * the log barrier, never the loop.
	 */
	{ SANTAD_STATUS, ANY_CLIENT, false, NULL },
	{ SANTAD_RULE_CHECK, ANY_CLIENT, false, NULL },
	{ SANTAD_FILEINFO, ANY_CLIENT, false, NULL },
	/* Whether anyone ran a file lately (any user's, root's too): root's, as on Santa (debug builds). */
	{ SANTAD_CHECK_CACHE, ROOT_SANTACTL, false, "this needs santactl running as root" },
	/* Every user's execs, with their paths and parents: root's to read, as on Santa. */
	{ SANTAD_EVENTS_LIST, ROOT_OR_SYNC, false, "this needs santactl running as root" },
	{ SANTAD_METRICS, ANY_CLIENT, false, NULL },
	/* Every rule of the fleet, and seconds of work: root's, as on Santa (rule needs root). */
	{ SANTAD_RULE_EXPORT, ROOT_SANTACTL, false, "this needs santactl running as root" },
	{ SANTAD_RULE_ADD, ROOT_SANTACTL, true, "this needs santactl running as root" },
	{ SANTAD_RULE_IMPORT, ROOT_SANTACTL, true, "this needs santactl running as root" },
	{ SANTAD_FLUSH_CACHE, ROOT_SANTACTL, false, "this needs santactl running as root" },
	{ SANTAD_VALIDATE_PEER, ANY_HELPER, false, "only Santa's helpers may ask this" },
	{ SANTAD_SYNC_PREFLIGHT, SYNC_SERVICE, false, "only santasyncservice may ask this" },
	{ SANTAD_EVENTS_DELETE, SYNC_SERVICE, false, "only santasyncservice may ask this" },
	{ SANTAD_SYNC_RULES, SYNC_SERVICE, true, "only santasyncservice may ask this" },
	{ SANTAD_SYNC_POSTFLIGHT, SYNC_SERVICE, false, "only santasyncservice may ask this" },
	{ SANTAD_SYNC_RESULT, SYNC_SERVICE, false, "only santasyncservice may ask this" },
	{ SANTAD_GUI_REGISTER, GUI_AGENT, false, "only santa-gui may ask this" },
	{ SANTAD_BUNDLE_RESULT, BUNDLE_SERVICE, false, "only santabundleservice may ask this" },
	{ SANTAD_BUNDLE_BINARIES, SYNC_SERVICE, false, "only santasyncservice may ask this" },
	{ SANTAD_HELPER_SETTINGS, ANY_HELPER, false, "only Santa's helpers may ask this" },
	{ SANTAD_VERSION, ANY_CLIENT, false, NULL },
};

static bool
may_ask(const struct ipc_peer *peer, enum requester who)
{
	switch (who) {
	case ANY_CLIENT:
		return true;
	case ROOT_SANTACTL:
		return peer->privileged;
	case ROOT_OR_SYNC:
		return peer->privileged || strcmp(peer->name, "santasyncservice") == 0;
	case ANY_HELPER:
		return is_helper(peer);
	case SYNC_SERVICE:
		return strcmp(peer->name, "santasyncservice") == 0;
	case GUI_AGENT:
		return strcmp(peer->name, "santa-gui") == 0;
	case BUNDLE_SERVICE:
		return strcmp(peer->name, "santabundleservice") == 0;
	}
	return false;
}

static void
answer_status(struct ipc_conn *conn, const struct ipc_msg *req, void *userdata)
{
	reply_status(userdata, conn, req);
}

static void
answer_events_list(struct ipc_conn *conn, const struct ipc_msg *req, void *userdata)
{
	handle_events_list(userdata, conn, req);
}

static void
answer_metrics(struct ipc_conn *conn, const struct ipc_msg *req, void *userdata)
{
	handle_metrics(userdata, conn, req);
}

/*
 * A request whose answer counts or lists events (status, printlog, the sync
 * service's event upload, metrics) sees every exec decided before it: the
 * finished decisions are taken now, and the answer waits (bounded, without
 * blocking the loop) until the event log has stored them.
 */
static void
answer_after_log(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req,
		 log_barrier_answer_fn answer)
{
	santad_exec_settle(d);
	if (d->log_barrier) {
		log_barrier_wait(d->log_barrier, conn, req, answer, d);
		return;
	}
	answer(conn, req, d);
	ipc_msg_free(req);
}

static void
on_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct santad *d = userdata;
	uint16_t type = ipc_msg_type(msg);
	size_t i;

	if (ipc_msg_flags(msg) & IPC_FLAG_ONEWAY) {
		ipc_msg_free(msg);
		return;
	}
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]) && requests[i].type != type; i++)
		;
	if (i == sizeof(requests) / sizeof(requests[0])) {
		ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
		goto out;
	}
	if (!may_ask(ipc_conn_peer(conn), requests[i].who)) {
		ipc_conn_reply_error(conn, msg, -EPERM, requests[i].refusal);
		goto out;
	}
	if (requests[i].writes_rules && d->rules_error[0]) {
		ipc_conn_reply_error(conn, msg, -EIO, d->rules_error);
		goto out;
	}
	switch (type) {
	case SANTAD_STATUS:
		answer_after_log(d, conn, msg, answer_status);
		msg = NULL;
		break;
	case SANTAD_RULE_CHECK:
		handle_rule_check(d, conn, msg);
		break;
	case SANTAD_FILEINFO:
		handle_fileinfo(d, conn, msg);
		break;
	case SANTAD_CHECK_CACHE:
		handle_check_cache(d, conn, msg);
		break;
	case SANTAD_EVENTS_LIST:
		answer_after_log(d, conn, msg, answer_events_list);
		msg = NULL;
		break;
	case SANTAD_METRICS:
		answer_after_log(d, conn, msg, answer_metrics);
		msg = NULL;
		break;
	case SANTAD_RULE_EXPORT:
		rule_exports_start(d->rule_exports, conn, msg); /* answered by its thread's end */
		msg = NULL;
		break;
	case SANTAD_RULE_ADD:
		handle_rule_add(d, conn, msg); /* answered once written */
		msg = NULL;
		break;
	case SANTAD_RULE_IMPORT:
		rule_writer_apply_file(d->rule_writer, conn, msg, "santactl rule --import");
		msg = NULL;
		break;
	case SANTAD_SYNC_RULES:
		rule_writer_apply_file(d->rule_writer, conn, msg, "sync");
		msg = NULL;
		break;
	case SANTAD_FLUSH_CACHE:
		santad_flush_decisions(d);
		ipc_conn_reply(conn, msg, ipc_msg_new(SANTAD_FLUSH_CACHE));
		break;
	case SANTAD_VALIDATE_PEER:
		handle_validate_peer(d, conn, msg);
		break;
	case SANTAD_GUI_REGISTER:
		santad_gui_register(d, conn, msg);
		break;
	case SANTAD_BUNDLE_BINARIES:
		santad_bundle_binaries(d, conn, msg);
		break;
	case SANTAD_BUNDLE_RESULT:
		santad_bundle_result(d, conn, msg);
		break;
	case SANTAD_HELPER_SETTINGS:
		santad_helper_settings(d, conn, msg);
		break;
	case SANTAD_VERSION:
		reply_version(conn, msg);
		break;
	default: /* the sync service's requests */
		santad_handle_sync(d, conn, msg);
		break;
	}
out:
	ipc_msg_free(msg);
}

int
santad_control_start(struct santad *d)
{
	struct ipc_listener_handlers h = {
		.authorize = authorize,
		.on_rejected = on_rejected,
		.conn_handlers = { .on_message = on_message },
	};
	struct ipc_allowlist *list;
	char path[PATH_MAX], self[PATH_MAX];
	ssize_t n;
	int r;

	d->control_state = calloc(1, sizeof(*d->control_state));
	if (!d->control_state)
		return santa_log_errno(&d->log, LOG_ERR, -ENOMEM, "Failed to set up santad.sock: %m");
	list = &d->control_state->allowlist;
	r = santa_mkdir_secure(d->start.run_directory, 0755);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to prepare %s: %m",
				       d->start.run_directory);
	r = ipc_allowlist_add(list, "santactl", d->start.santactl_path);
	if (r < 0)
		/* Without a trustworthy santactl nobody can talk to santad: enforcement goes on. */
		santa_log_errno(&d->log, LOG_WARNING, r,
				"santactl at %s cannot be trusted (%m): santad.sock will refuse "
				"everyone; set SantactlPath",
				d->start.santactl_path);
	/* The notification agent: optional, so only a file that exists but cannot be trusted is worth a word. */
	if (access(d->start.santa_gui_path, F_OK) == 0) {
		r = ipc_allowlist_add(list, "santa-gui", d->start.santa_gui_path);
		if (r < 0)
			santa_log_errno(&d->log, LOG_WARNING, r, "santa-gui at %s cannot be trusted "
					"(%m): no notifications will be shown", d->start.santa_gui_path);
	}
	/* santad itself: helpers under systemd socket units see it connect to them. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		(void)ipc_allowlist_add(list, "santad", self);
	}
	for (int k = 0; k < HELPER_MAX; k++) {
		static const char *const names[HELPER_MAX] = { "santasyncservice",
							       "santametricservice",
							       "santabundleservice" };

		if (santa_path_join(path, sizeof(path), d->start.helper_directory, names[k]) < 0 ||
		    access(path, F_OK) < 0)
			continue;
		r = ipc_allowlist_add(list, names[k], path);
		if (r < 0)
			santa_log_errno(&d->log, LOG_WARNING, r, "%s cannot be trusted (%m): it will "
					"not be started or accepted", path);
	}
	{
		struct stat st;

		/* Santa splits its cache into the root filesystem's files and the others. */
		if (stat("/", &st) == 0)
			santad_exec_cache_split_by_dev(d, st.st_dev);
	}
	d->control_state->watchdog.cpu_usec = process_cpu_usec();
	(void)sd_event_now(d->event, CLOCK_MONOTONIC, &d->control_state->watchdog.at_usec);
	/* Floating: the loop owns it and frees it with itself. */
	r = sd_event_add_time_relative(d->event, NULL, CLOCK_MONOTONIC, WATCHDOG_USEC,
				       1000000, on_watchdog, d);
	if (r < 0)
		santa_log_errno(&d->log, LOG_WARNING, r, "No watchdog of CPU and memory use: %m");
	r = santa_path_join(path, sizeof(path), d->start.run_directory, SANTAD_SOCKET_NAME);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Socket path too long: %m");
	r = ipc_listener_new(d->event, -1, path, 0666, list, &h, d, &d->control);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to listen on %s: %m", path);
	r = santa_path_join(path, sizeof(path), d->start.run_directory, SANTAD_ROOT_SOCKET_NAME);
	if (r == 0)
		r = ipc_listener_add_private_socket(d->control, path);
	if (r < 0)
		/* Root is still served on santad.sock, from its reserve, only not under a connect flood. */
		santa_log_errno(&d->log, LOG_WARNING, r, "Cannot listen on %s (%m): root's santactl "
				"shares santad.sock with everyone", path);
	return 0;
}

void
santad_control_stop(struct santad *d)
{
	ipc_listener_free(d->control);
	d->control = NULL;
	free(d->control_state);
	d->control_state = NULL;
}

struct ipc_conn_handlers
santad_channel_handlers(void)
{
	return (struct ipc_conn_handlers){ .on_message = on_message };
}
