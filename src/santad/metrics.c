/*
 * santad's metrics: the counters the loop keeps (plain integers, written by
 * the loop thread only, so the decision path takes no lock for them) turned
 * into Santa's export dictionary on demand, and pushed to santametricservice
 * every MetricExportInterval. Names follow Santa's (docs/metrics.md); what Santa
 * has no name for is under /santa/ with the same conventions.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "santa/clock.h"
#include "santa/events_db.h"
#include "santa/metrics.h"
#include "santa/santad_proto.h"
#include "lease_hold.h"
#include "santad.h"
#include "exec.h"
#include "event_log.h"
#include "helpers.h"
#include "metrics.h"


void
santad_count_rejection(struct santad *d, const char *why)
{
	enum ipc_reject_reason r = IPC_REJECT_OTHER;

	if (strstr(why, "not one of Santa's binaries"))
		r = IPC_REJECT_NOT_SANTA;
	else if (strstr(why, "changed since") || strstr(why, "root-owned"))
		r = IPC_REJECT_CHANGED;
	else if (strstr(why, "traced"))
		r = IPC_REJECT_TRACED;
	else if (strstr(why, "may not use"))
		r = IPC_REJECT_NOT_ALLOWED;
	else if (strstr(why, "too many connections"))
		r = IPC_REJECT_TOO_MANY;
	else if (strstr(why, "handshake") || strstr(why, "HELLO"))
		r = IPC_REJECT_HANDSHAKE;
	d->stats.ipc_rejected[r]++;
}

static const char *
reason_camel(enum santa_reason reason)
{
	static const char *const names[SANTA_REASON_MAX + 1] = {
		[SANTA_REASON_UNKNOWN] = "Unknown",
		[SANTA_REASON_BINARY] = "Binary",
		[SANTA_REASON_CERT] = "Certificate",
		[SANTA_REASON_TEAMID] = "TeamID",
		[SANTA_REASON_SIGNINGID] = "SigningID",
		[SANTA_REASON_CDHASH] = "CDHash",
		[SANTA_REASON_SCOPE] = "Scope",
		[SANTA_REASON_COMPILER] = "Compiler",
		[SANTA_REASON_TRANSITIVE] = "Transitive",
		[SANTA_REASON_PENDING_TRANSITIVE] = "PendingTransitive",
		[SANTA_REASON_LONG_PATH] = "LongPath",
		[SANTA_REASON_TIMEOUT] = "Timeout",
		[SANTA_REASON_NOTRUNNING] = "NotRunning",
	};

	return names[reason];
}

/* RSS and virtual size from /proc/self/statm, in bytes. */
static void
memory(int64_t *rss, int64_t *vsize)
{
	long long pages_v = 0, pages_r = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	*rss = *vsize = 0;
	if (!f)
		return;
	if (fscanf(f, "%lld %lld", &pages_v, &pages_r) == 2) {
		*vsize = pages_v * sysconf(_SC_PAGESIZE);
		*rss = pages_r * sysconf(_SC_PAGESIZE);
	}
	fclose(f);
}

static int64_t
open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int64_t n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own fd */
}

#define ADD(name, type, desc, fields, values, data) \
	metrics_add(e, name, type, desc, fields, values, data, d->started_at, now)

json_t *
santad_metrics_export(struct santad *d)
{
	static const char *const rule_types[] = { NULL, "binary", "certificate", "teamid",
						  "signingid", "cdhash" };
	static const char *const policies[] = { NULL, "allowlist", "allowlist_compiler",
						"blocklist", "silent_blocklist" };
	static const char *const rejects[IPC_REJECT_REASONS] = {
		"NotSantaBinary", "BinaryChanged", "Traced", "NotAllowed", "TooManyConnections",
		"Handshake", "Other",
	};
	static const uint64_t bounds[SANTAD_LATENCY_BUCKETS - 1] = SANTAD_LATENCY_BOUNDS;
	const struct santad_live_settings *cfg = &d->policy->cfg;
	uint64_t counts[SANTA_RULE_TYPE_MAX + 1], n, cumulative = 0;
	double now = santa_unix_now();
	int64_t rss, vsize;
	struct decision_cache_stats cs;
	struct rusage ru;
	char host[256] = "", label[64];
	json_t *e = metrics_export_new();
	int verdict, reason, i;

	if (!e)
		return NULL;
	gethostname(host, sizeof(host) - 1);
	metrics_set_root_label(e, "host_name", host);
	metrics_set_root_label(e, "username", "root");
	metrics_set_root_label(e, "job_name", "santad");
	metrics_set_root_label(e, "service_name", "santa");
	for (size_t k = 0; k < cfg->metric_extra_labels.n; k++)
		metrics_set_root_label(e, cfg->metric_extra_labels.items[k].key,
				       cfg->metric_extra_labels.items[k].value);

	ADD("/build/label", METRIC_CONSTANT_STRING, "Software version running", "", "",
	    json_string(SANTA_VERSION));
	ADD("/proc/birth_timestamp", METRIC_CONSTANT_INT64,
	    "Start time of this santad instance, in microseconds since epoch", "", "",
	    json_integer((json_int_t)(d->started_at * 1e6)));
	memory(&rss, &vsize);
	ADD("/proc/memory/resident_size", METRIC_GAUGE_INT64, "The resident set size of this process",
	    "", "", json_integer(rss));
	ADD("/proc/memory/virtual_size", METRIC_GAUGE_INT64, "The virtual memory size of this process",
	    "", "", json_integer(vsize));
	ADD("/proc/open_fds", METRIC_GAUGE_INT64, "File descriptors open in santad", "", "",
	    json_integer(open_fds()));
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		ADD("/proc/cpu_usage", METRIC_GAUGE_DOUBLE, "CPU seconds consumed by santad", "mode",
		    "user", json_real((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6));
		ADD("/proc/cpu_usage", METRIC_GAUGE_DOUBLE, "CPU seconds consumed by santad", "mode",
		    "system", json_real((double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6));
	}
	ADD("/santa/mode", METRIC_GAUGE_STRING, "Santa's operating mode", "", "",
	    json_string(cfg->client_mode == SANTA_MODE_LOCKDOWN ? "lockdown" : "monitor"));
	ADD("/santa/log_type", METRIC_GAUGE_STRING, "Where decisions are logged", "", "",
	    json_string(d->start.event_log_type == SANTA_EVENT_LOG_SYSLOG ? "syslog"
			: d->start.event_log_type == SANTA_EVENT_LOG_NULL   ? "null"
			: d->start.event_log_type == SANTA_EVENT_LOG_JSON   ? "json"
									: "file"));
	for (verdict = 0; verdict < 2; verdict++) {
		for (reason = 0; reason <= SANTA_REASON_MAX; reason++) {
			if (!d->stats.by_decision[verdict][reason])
				continue;
			snprintf(label, sizeof(label), "%s%s", verdict ? "Block" : "Allow",
				 reason_camel((enum santa_reason)reason));
			ADD("/santa/events", METRIC_COUNTER, "Count of process exec events on the host",
			    "action_response", label,
			    json_integer((json_int_t)d->stats.by_decision[verdict][reason]));
		}
	}
	for (i = 0; i < SANTAD_LATENCY_BUCKETS; i++) {
		cumulative += d->stats.latency[i];
		if (i < SANTAD_LATENCY_BUCKETS - 1)
			snprintf(label, sizeof(label), "%llu", (unsigned long long)bounds[i]);
		else
			snprintf(label, sizeof(label), "+Inf");
		ADD("/santa/decision_latency_usec", METRIC_COUNTER,
		    "Exec decisions answered within le microseconds (cumulative)", "le", label,
		    json_integer((json_int_t)cumulative));
	}
	ADD("/santa/decision_latency_usec_sum", METRIC_COUNTER,
	    "Microseconds from event to answer, all decisions together", "", "",
	    json_integer((json_int_t)d->stats.latency_sum_usec));
	ADD("/santa/cache/lookups", METRIC_COUNTER, "Decision cache lookups", "result", "hit",
	    json_integer((json_int_t)d->stats.cache_hits));
	ADD("/santa/cache/lookups", METRIC_COUNTER, "Decision cache lookups", "result", "miss",
	    json_integer((json_int_t)d->stats.cache_misses));
	santad_exec_cache_stats(d, &cs);
	ADD("/santa/cache/entries", METRIC_GAUGE_INT64, "Decisions in the userspace cache", "", "",
	    json_integer((json_int_t)cs.entries));
	ADD("/santa/cache/kernel_ignore_marks", METRIC_COUNTER,
	    "Kernel ignore marks placed (execs the kernel no longer asks about)", "", "",
	    json_integer((json_int_t)d->stats.ignore_marks));
	ADD("/santa/cache/kernel_allowed_execs", METRIC_COUNTER,
	    "Execs the kernel allowed through an ignore mark (logged from the notification group)",
	    "", "", json_integer((json_int_t)d->stats.logged_without_asking));
	ADD("/santa/flush_count", METRIC_COUNTER, "Decision cache flushes", "Reason", "RulesOrConfigChanged",
	    json_integer((json_int_t)d->stats.flushes));
	ADD("/santa/hash/count", METRIC_COUNTER, "Files hashed", "", "",
	    json_integer((json_int_t)d->stats.hashes));
	ADD("/santa/hash/bytes", METRIC_COUNTER, "Bytes hashed", "", "",
	    json_integer((json_int_t)d->stats.hash_bytes));
	ADD("/santa/hash/time_usec", METRIC_COUNTER, "Microseconds spent hashing", "", "",
	    json_integer((json_int_t)d->stats.hash_usec));
	if (rules_db_counts(d->rules, counts) == 0) {
		for (i = SANTA_RULE_TYPE_BINARY; i <= SANTA_RULE_TYPE_MAX; i++)
			ADD("/santa/rules", METRIC_GAUGE_INT64, "Number of rules", "rule_type",
			    rule_types[i], json_integer((json_int_t)counts[i]));
	}
	for (i = SANTA_POLICY_ALLOWLIST; i <= SANTA_POLICY_SILENT_BLOCKLIST; i++) {
		if (rules_db_count_policy(d->rules, (enum santa_policy)i, &n) == 0)
			ADD("/santa/rules_by_policy", METRIC_GAUGE_INT64, "Number of rules by policy",
			    "policy", policies[i], json_integer((json_int_t)n));
	}
	ADD("/santa/static_rules", METRIC_GAUGE_INT64, "Rules from the configuration", "", "",
	    json_integer((json_int_t)cfg->n_static_rules));
	ADD("/santa/event_log/dropped", METRIC_COUNTER,
	    "Log records dropped because the writer's queue was full", "", "",
	    json_integer((json_int_t)event_log_dropped(d->elog)));
	{
		uint64_t lines_lost, upload_lost;

		event_log_losses(d->elog, &lines_lost, &upload_lost);
		ADD("/santa/event_log/lines_lost", METRIC_COUNTER,
		    "Log lines that could not be written (disk full, file gone)", "", "",
		    json_integer((json_int_t)lines_lost));
		ADD("/santa/events_db/store_failures", METRIC_COUNTER,
		    "Events for the sync server that events.db did not take (disk full...)", "", "",
		    json_integer((json_int_t)upload_lost));
	}
	{
		unsigned int queued;
		size_t queued_bytes;

		event_log_queued(d->elog, &queued, &queued_bytes);
		ADD("/santa/event_log/queue_depth", METRIC_GAUGE_INT64,
		    "Records waiting for the log writer", "", "", json_integer((json_int_t)queued));
		ADD("/santa/event_log/queue_bytes", METRIC_GAUGE_INT64,
		    "Bytes the records waiting for the log writer hold", "", "",
		    json_integer((json_int_t)queued_bytes));
	}
	ADD("/santa/decisions/in_flight", METRIC_GAUGE_INT64, "Execs waiting for a decision", "", "",
	    json_integer((json_int_t)santad_exec_pending(d)));
	ADD("/santa/decisions/timeouts", METRIC_COUNTER, "Execs answered by the deadline", "", "",
	    json_integer((json_int_t)d->stats.timeouts));
	ADD("/santa/decisions/merged", METRIC_COUNTER,
	    "Execs that waited for the decision in flight for the same file instead of hashing it",
	    "", "", json_integer((json_int_t)d->stats.merged));
	{
		struct lease_hold_stats ls;

		santad_exec_lease_stats(d, &ls);
		ADD("/santa/lease_holds/held", METRIC_GAUGE_INT64,
		    "Files whose read lease is kept until the allowed execs settle", "", "",
		    json_integer((json_int_t)ls.held));
		ADD("/santa/lease_holds/let_go", METRIC_COUNTER,
		    "Leases let go before their execs settled", "reason", "full",
		    json_integer((json_int_t)ls.full));
		ADD("/santa/lease_holds/let_go", METRIC_COUNTER,
		    "Leases let go before their execs settled", "reason", "age",
		    json_integer((json_int_t)ls.expired));
	}
	if (d->events) {
		ADD("/santa/events_db/pending", METRIC_GAUGE_INT64, "Events waiting for upload", "", "",
		    json_integer(events_db_count(d->events)));
		ADD("/santa/events_db/dropped", METRIC_COUNTER,
		    "Events dropped because events.db was full", "", "",
		    json_integer(events_db_dropped(d->events)));
	}
	ADD("/santa/ipc/connections", METRIC_GAUGE_INT64, "Clients connected to santad.sock", "", "",
	    json_integer((json_int_t)(d->control ? ipc_listener_connections(d->control) : 0)));
	for (i = 0; i < IPC_REJECT_REASONS; i++)
		ADD("/santa/ipc/rejections", METRIC_COUNTER, "Clients refused by santad.sock", "reason",
		    rejects[i], json_integer((json_int_t)d->stats.ipc_rejected[i]));
	for (i = 0; i < HELPER_MAX; i++) {
		struct helper_status hs;

		santad_helper_status(d, (enum helper_kind)i, &hs);
		if (!hs.name)
			continue;
		ADD("/santa/helper/restarts", METRIC_COUNTER, "Helper restarts after a crash", "helper",
		    hs.name, json_integer((json_int_t)hs.restarts));
	}
	ADD("/santa/sync/results", METRIC_COUNTER, "Sync attempts by result", "result", "success",
	    json_integer((json_int_t)d->stats.syncs_ok));
	ADD("/santa/sync/results", METRIC_COUNTER, "Sync attempts by result", "result", "failure",
	    json_integer((json_int_t)d->stats.syncs_failed));
	return e;
}

static int
on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;
	struct ipc_conn *conn = santad_helper_conn(d, HELPER_METRIC);
	uint64_t interval = (uint64_t)(d->policy->cfg.metric_export_interval > 0
					       ? d->policy->cfg.metric_export_interval
					       : 30);
	struct ipc_msg *m;
	json_t *e;
	char *text;

	sd_event_source_set_time_relative(s, interval * 1000000ULL);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (!conn || !ipc_conn_is_connected(conn))
		return 0;
	e = santad_metrics_export(d);
	text = e ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(e);
	m = text ? ipc_msg_new(METRICSERVICE_SNAPSHOT) : NULL;
	/* One-way and droppable: a slow or stuck metric service never holds santad up. */
	if (m && ipc_dict_put_string(ipc_msg_body(m), "json", text) == 0)
		ipc_conn_send_event(conn, m);
	else
		ipc_msg_free(m);
	free(text);
	return 0;
}

void
santad_metrics_start(struct santad *d)
{
	if (d->metrics_timer)
		return;
	/* The first export soon after the service starts, then every interval. */
	if (sd_event_add_time_relative(d->event, &d->metrics_timer, CLOCK_MONOTONIC, 1000000ULL,
				       100000, on_metrics_timer, d) < 0)
		santa_log(&d->log, LOG_WARNING, "metrics: cannot arm the export timer");
}

void
santad_metrics_stop(struct santad *d)
{
	d->metrics_timer = sd_event_source_disable_unref(d->metrics_timer);
}
