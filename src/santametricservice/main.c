/*
 * santametricservice: exports what santad counts. Runs as its own user
 * (_santametric) with no capabilities, started by santad while metrics
 * export is configured. santad
 * pushes an export dictionary (lib/metrics) every MetricExportInterval over
 * the private channel; the service writes it as Santa's rawjson or
 * monarchjson to MetricURL (file:// or http(s):// POST), as a node_exporter
 * textfile (MetricTextfilePath), and serves it to Prometheus on
 * 127.0.0.1:MetricPrometheusPort, through the listening socket santad holds
 * for it. Nothing it does can slow santad: the
 * snapshots are one-way messages santad drops when we fall behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "metricservice.h"
#include "santa/clock.h"
#include "santa/config.h"
#include "santa/http.h"
#include "santa/helper_args.h"
#include "santa/ipc.h"
#include "santa/log.h"
#include "santa/ratelimit.h"
#include "santa/metrics.h"
#include "santa/path.h"
#include "santa/santad_proto.h"

#define EXPORT_RETRY_USEC (5 * 1000 * 1000ULL)

struct metricservice {
	struct santa_log log;
	struct santa_ratelimit refusals; /* the listener's refusal log lines, per uid */
	struct santa_config cfg;
	const char *config_path;
	sd_event *event;
	struct ipc_conn *santad;
	struct ipc_listener *listener;
	struct http *http;
	struct http_settings http_settings;
	struct prom_server *prom;
	json_t *latest; /* the last export dictionary from santad */
	double latest_at;
	sd_event_source *retry;
	bool export_pending; /* the URL export of latest has not succeeded yet */
	bool stopping;
	uint64_t snapshots, exports_ok, export_failures, textfile_failures, bad_snapshots;
};


/* The latest snapshot with the service's own counters added. */
static json_t *
with_own_metrics(struct metricservice *svc)
{
	json_t *e = json_deep_copy(svc->latest);
	double now = santa_unix_now();

	if (!e)
		return NULL;
	metrics_add(e, "/santametricservice/snapshots", METRIC_COUNTER,
		    "Snapshots received from santad", "", "", json_integer((json_int_t)svc->snapshots),
		    svc->latest_at, now);
	metrics_add(e, "/santametricservice/exports", METRIC_COUNTER, "Exports to MetricURL",
		    "result", "success", json_integer((json_int_t)svc->exports_ok), svc->latest_at, now);
	metrics_add(e, "/santametricservice/exports", METRIC_COUNTER, "Exports to MetricURL",
		    "result", "failure", json_integer((json_int_t)svc->export_failures),
		    svc->latest_at, now);
	metrics_add(e, "/santametricservice/textfile_failures", METRIC_COUNTER,
		    "Failed writes of MetricTextfilePath", "", "",
		    json_integer((json_int_t)svc->textfile_failures), svc->latest_at, now);
	return e;
}

static char *
prometheus_body(void *userdata)
{
	struct metricservice *svc = userdata;
	json_t *e;
	char *body;

	if (!svc->latest)
		return NULL;
	e = with_own_metrics(svc);
	body = e ? metrics_format_prometheus(e) : NULL;
	json_decref(e);
	return body;
}

/* Writes path through a temporary file and rename(), so a reader never sees half of it. */
static int
write_atomically(const char *path, const char *text, mode_t mode)
{
	char tmp[4200];
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static void export_now(struct metricservice *svc);

static int
on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct metricservice *svc = userdata;

	svc->retry = sd_event_source_disable_unref(svc->retry);
	if (svc->export_pending)
		export_now(svc);
	return 0;
}

static void
export_failed(struct metricservice *svc, const char *why)
{
	svc->export_failures++;
	santa_log(&svc->log, LOG_WARNING, "export to %s failed: %s", svc->cfg.metric_url, why);
	/* One more try a little later, unless a newer snapshot comes first. */
	if (!svc->retry && !svc->stopping)
		sd_event_add_time_relative(svc->event, &svc->retry, CLOCK_MONOTONIC, EXPORT_RETRY_USEC,
					   100000, on_retry, svc);
}

static void
on_posted(const struct http_response *resp, void *userdata)
{
	struct metricservice *svc = userdata;
	char why[300];

	if (resp->curl_code == CURLE_OK && resp->status >= 200 && resp->status < 300) {
		svc->exports_ok++;
		svc->export_pending = false;
		return;
	}
	if (resp->curl_code != CURLE_OK)
		snprintf(why, sizeof(why), "%s", resp->error);
	else
		snprintf(why, sizeof(why), "HTTP %ld", resp->status);
	export_failed(svc, why);
}

static void
export_now(struct metricservice *svc)
{
	const struct santa_config *cfg = &svc->cfg;
	const char *format = cfg->metric_format ? cfg->metric_format : "";
	json_t *e = with_own_metrics(svc);
	char *doc = NULL, *line = NULL;
	int r;

	if (!e)
		return;
	if (cfg->metric_textfile_path) {
		char *prom = metrics_format_prometheus(e);

		r = prom ? write_atomically(cfg->metric_textfile_path, prom, 0644) : -ENOMEM;
		if (r < 0) {
			svc->textfile_failures++;
			santa_log_errno(&svc->log, LOG_WARNING, r, "cannot write %s: %m",
					cfg->metric_textfile_path);
		}
		free(prom);
	}
	if (!cfg->metric_url || !cfg->metric_url[0])
		goto out;
	if (strcmp(format, "rawjson") == 0)
		doc = metrics_format_raw(e);
	else if (strcmp(format, "monarchjson") == 0)
		doc = metrics_format_monarch(e, santa_unix_now());
	else
		goto out; /* warned about at start */
	if (!doc)
		goto out;
	if (strncmp(cfg->metric_url, "file://", 7) == 0) {
		/* As Santa's file writer: the file holds the latest export, one document a line. */
		if (asprintf(&line, "%s\n", doc) < 0) {
			line = NULL;
			goto out;
		}
		r = write_atomically(cfg->metric_url + 7, line, 0600);
		if (r < 0) {
			errno = -r;
			export_failed(svc, strerror(-r));
		} else {
			svc->exports_ok++;
			svc->export_pending = false;
		}
	} else {
		r = http_post(svc->http, cfg->metric_url, doc, strlen(doc),
			      cfg->metric_export_timeout > 0 ? cfg->metric_export_timeout : 30, NULL,
			      NULL, on_posted, svc);
		if (r < 0)
			export_failed(svc, strerror(-r));
	}
out:
	free(line);
	free(doc);
	json_decref(e);
}

static void
on_santad_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct metricservice *svc = userdata;
	const char *text;
	json_error_t err;
	char why[256];
	json_t *e;

	if (ipc_msg_type(msg) != METRICSERVICE_SNAPSHOT ||
	    ipc_dict_get_string(ipc_msg_body_const(msg), "json", &text) < 0) {
		if (!(ipc_msg_flags(msg) & IPC_FLAG_ONEWAY))
			ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
		ipc_msg_free(msg);
		return;
	}
	e = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	if (!e || metrics_validate(e, why, sizeof(why)) < 0) {
		svc->bad_snapshots++;
		santa_log(&svc->log, LOG_ERR, "santad sent a snapshot that is not an export "
			  "dictionary: %s", e ? why : err.text);
		json_decref(e);
		ipc_msg_free(msg);
		return;
	}
	ipc_msg_free(msg);
	json_decref(svc->latest);
	svc->latest = e;
	svc->latest_at = santa_unix_now();
	svc->snapshots++;
	svc->export_pending = true;
	svc->retry = sd_event_source_disable_unref(svc->retry);
	if (svc->http) /* else still waiting for its settings: kept for the next snapshot */
		export_now(svc);
}

/* Only santad may use the socket: the snapshots come over the private channel. */
static int
authorize(struct ipc_peer *peer, void *userdata, char *why, size_t why_size)
{
	if (strcmp(peer->name, "santad") != 0) {
		snprintf(why, why_size, "%s may not use santametricservice.sock", peer->name);
		return -EPERM;
	}
	return 0;
}

static void
on_rejected(struct ipc_listener *l, const struct ipc_peer *peer, const char *why, void *userdata)
{
	struct metricservice *svc = userdata;

	santa_log_refusal(&svc->log, &svc->refusals, "", peer->pid, peer->uid, why);
}


/*
 * The Prometheus listener santad holds for us and passed as "prometheus"
 * (else -1), and whether santad started us at all (a channel named "santad").
 * Read before ipc_helper_start, which unsets LISTEN_FDS.
 */
static int
passed_prometheus_fd(bool *from_santad)
{
	char **names = NULL;
	int n, i, fd = -1;

	*from_santad = false;
	n = sd_listen_fds_with_names(0, &names);
	for (i = 0; i < n; i++) {
		int cand = SD_LISTEN_FDS_START + i;

		if (!names || !names[i])
			continue;
		if (strcmp(names[i], "santad") == 0)
			*from_santad = true;
		else if (strcmp(names[i], "prometheus") == 0 && fd < 0 &&
			 sd_is_socket_inet(cand, AF_INET, SOCK_STREAM, 1, 0) > 0)
			fd = cand;
	}
	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	return fd;
}

static int
setup(struct metricservice *svc)
{
	static const struct ipc_conn_handlers santad_handlers = {
		.on_message = on_santad_message,
	};
	struct ipc_listener_handlers lh = {
		.authorize = authorize,
		.on_rejected = on_rejected,
		.conn_handlers = { .on_message = on_santad_message },
	};
	const struct santa_config *cfg = &svc->cfg;
	const char *format;
	char path[PATH_MAX], why[512];
	bool from_santad;
	int prom_fd = passed_prometheus_fd(&from_santad), r;

	r = santa_path_join(path, sizeof(path), cfg->run_directory, SANTAD_SOCKET_NAME);
	if (r < 0)
		return r;
	r = ipc_helper_start(&svc->event, path, &santad_handlers, svc, &lh, svc, &svc->cfg,
			     &svc->santad, &svc->listener, why, sizeof(why));
	if (r < 0) {
		santa_log(&svc->log, LOG_ERR, "%s", why);
		return r;
	}
	format = cfg->metric_format ? cfg->metric_format : "";
	if (cfg->metric_url && cfg->metric_url[0] && strcmp(format, "rawjson") != 0 &&
	    strcmp(format, "monarchjson") != 0)
		santa_log(&svc->log, LOG_WARNING, "MetricFormat '%s' is not rawjson or monarchjson: "
			  "nothing is sent to MetricURL", format);
	if (cfg->metric_url && strncmp(cfg->metric_url, "file://", 7) != 0 &&
	    strncmp(cfg->metric_url, "http://", 7) != 0 && strncmp(cfg->metric_url, "https://", 8) != 0)
		santa_log(&svc->log, LOG_WARNING, "MetricURL %s: only file://, http:// and https:// "
			  "are written", cfg->metric_url);
	svc->http_settings = (struct http_settings){
		.user_agent = "santametricservice/" SANTA_VERSION,
		.encoding = SANTA_ENCODING_NONE,
	};
	r = http_new(svc->event, &svc->http_settings, &svc->http);
	if (r < 0)
		return r;
	if (prom_fd < 0 && from_santad && cfg->metric_prometheus_port > 0) {
		/*
		 * Never bound here: a port this service opened would be free for
		 * anyone while it restarts. santad's log says why it has none.
		 */
		santa_log(&svc->log, LOG_ERR, "santad passed no listener for 127.0.0.1:%lld: "
			  "Prometheus is not served", (long long)cfg->metric_prometheus_port);
	} else if (prom_fd >= 0 || cfg->metric_prometheus_port > 0) {
		/* Under a systemd unit without a socket for the port: bound here, as before. */
		r = prom_server_new(svc->event, prom_fd, (int)cfg->metric_prometheus_port,
				    prometheus_body, svc, &svc->prom);
		if (r < 0) {
			santa_log_errno(&svc->log, LOG_ERR, r, "cannot listen on 127.0.0.1:%lld: %m",
					(long long)cfg->metric_prometheus_port);
			return r;
		}
	}
	return 0;
}


int
main(int argc, char **argv)
{
	struct metricservice svc = { 0 };
	int r;

	/* Before anything is read: the TLS key, santad's snapshots, hashed files. */
	r = santa_helper_harden();
	if (r < 0) {
		fprintf(stderr, "santametricservice: cannot make itself undumpable: %s\n", strerror(-r));
		return 1;
	}
	r = santa_helper_args("santametricservice", argc, argv, &svc.log, &svc.cfg,
			      &svc.config_path);
	if (r != 0) {
		santa_config_free(&svc.cfg);
		return r;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup(&svc) < 0) {
		r = 1;
		goto out;
	}
	santa_log(&svc.log, LOG_INFO, "ready as uid %u: MetricURL %s, Prometheus %s%lld, textfile %s",
		  (unsigned)getuid(), svc.cfg.metric_url ? svc.cfg.metric_url : "(none)",
		  svc.cfg.metric_prometheus_port ? "127.0.0.1:" : "off",
		  (long long)svc.cfg.metric_prometheus_port,
		  svc.cfg.metric_textfile_path ? svc.cfg.metric_textfile_path : "(none)");
	(void)sd_notify(0, "READY=1");
	r = sd_event_loop(svc.event) < 0 ? 1 : 0;
out:
	svc.stopping = true;
	sd_event_source_disable_unref(svc.retry);
	prom_server_free(svc.prom);
	http_free(svc.http);
	ipc_listener_free(svc.listener);
	if (svc.santad) {
		ipc_conn_invalidate(svc.santad);
		ipc_conn_unref(svc.santad);
	}
	json_decref(svc.latest);
	sd_event_unref(svc.event);
	santa_config_free(&svc.cfg);
	curl_global_cleanup();
	return r;
}
