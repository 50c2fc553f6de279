/*
 * santasyncservice: Santa's sync protocol client. Runs as its own user
 * (_santasync) with no capabilities, started by santad (or a systemd socket
 * unit) with its listening socket; talks to the fleet server over HTTPS and
 * to santad over a validated channel, and serves `santactl sync` on
 * santasyncservice.sock.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include "santa/helper_args.h"
#include "santa/path.h"
#include "syncservice.h"

#define FIRST_SYNC_DELAY_S 15 /* as Santa's SNTSyncService */


/* ---- clients: santactl sync ---- */

static int
authorize(struct ipc_peer *peer, void *userdata, char *why, size_t why_size)
{
	if (strcmp(peer->name, "santactl") != 0 && strcmp(peer->name, "santad") != 0) {
		snprintf(why, why_size, "%s may not use santasyncservice.sock", peer->name);
		return -EPERM;
	}
	peer->privileged = peer->uid == 0;
	return 0;
}

static void
on_rejected(struct ipc_listener *l, const struct ipc_peer *peer, const char *why, void *userdata)
{
	struct syncservice *svc = userdata;

	santa_log_refusal(&svc->log, &svc->refusals, "", peer->pid, peer->uid, why);
}

static void
handle_sync(struct syncservice *svc, struct ipc_conn *conn, struct ipc_msg *msg)
{
	struct sync_requester who = { 0 };
	const char *type = NULL;
	int fd, r;

	if (ipc_dict_get_string(ipc_msg_body_const(msg), "sync_type", &type) == 0) {
		r = sync_type_from_string(type);
		if (r < 0) {
			ipc_conn_reply_error(conn, msg, -EINVAL, "sync_type: NORMAL, CLEAN or CLEAN_ALL");
			ipc_msg_free(msg);
			return;
		}
		who.sync_type = r;
	}
	if (who.sync_type != SYNC_TYPE_NORMAL && !ipc_conn_peer(conn)->privileged) {
		ipc_conn_reply_error(conn, msg, -EPERM, "a clean sync needs santactl running as root");
		ipc_msg_free(msg);
		return;
	}
	fd = ipc_dict_take_fd(ipc_msg_body(msg), "progress");
	if (fd >= 0 && ipc_conn_from_endpoint(svc->event, fd, ipc_conn_peer(conn), NULL, NULL, NULL,
					      &who.progress) < 0)
		who.progress = NULL;
	who.conn = ipc_conn_ref(conn);
	who.request = msg;
	r = sync_enqueue(svc, &who);
	if (r < 0) {
		struct ipc_msg *reply = ipc_msg_new(SYNCSERVICE_SYNC);

		if (reply) {
			ipc_dict_put_int(ipc_msg_body(reply), "status", SYNC_STATUS_TOO_MANY_SYNCS);
			ipc_dict_put_string(ipc_msg_body(reply), "error",
					    "Too many syncs in progress, try again later.");
			ipc_conn_reply(conn, msg, reply);
		}
		if (who.progress) {
			ipc_conn_invalidate(who.progress);
			ipc_conn_unref(who.progress);
		}
		ipc_conn_unref(who.conn);
		ipc_msg_free(msg);
	}
}

static void
on_client_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct syncservice *svc = userdata;

	if (ipc_msg_flags(msg) & IPC_FLAG_ONEWAY) {
		ipc_msg_free(msg);
		return;
	}
	if (ipc_msg_type(msg) == SYNCSERVICE_SYNC) {
		handle_sync(svc, conn, msg);
		return;
	}
	ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
	ipc_msg_free(msg);
}

/* santad's messages on the private channel: only "upload the waiting events now". */
static void
on_santad_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct syncservice *svc = userdata;

	if (ipc_msg_type(msg) == SYNCSERVICE_EVENTS_NOW && (ipc_msg_flags(msg) & IPC_FLAG_ONEWAY)) {
		if (svc->http) /* not while it still waits for its settings */
			sync_events_now(svc);
	}
	else if (!(ipc_msg_flags(msg) & IPC_FLAG_ONEWAY))
		ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
	ipc_msg_free(msg);
}

static int
setup(struct syncservice *svc)
{
	static const struct ipc_conn_handlers santad_handlers = { .on_message = on_santad_message };
	struct ipc_listener_handlers lh = {
		.authorize = authorize,
		.on_rejected = on_rejected,
		.conn_handlers = { .on_message = on_client_message },
	};
	const struct santa_config *cfg = &svc->cfg;
	char path[PATH_MAX], why[512];
	int r;

	r = santa_path_join(path, sizeof(path), cfg->run_directory, SANTAD_SOCKET_NAME);
	if (r < 0)
		return r;
	r = ipc_helper_start(&svc->event, path, &santad_handlers, svc, &lh, svc, &svc->cfg,
			     &svc->santad, &svc->listener, why, sizeof(why));
	if (r < 0) {
		santa_log(&svc->log, LOG_ERR, "%s", why);
		return r;
	}
	if (!cfg->sync_base_url) {
		santa_log(&svc->log, LOG_ERR, "santad has no SyncBaseURL: nothing to sync with");
		return -EINVAL;
	}
	snprintf(svc->base_url, sizeof(svc->base_url), "%s%s", cfg->sync_base_url,
		 cfg->sync_base_url[strlen(cfg->sync_base_url) - 1] == '/' ? "" : "/");
	if (http_url_is_plain(svc->base_url))
		santa_log(&svc->log, LOG_WARNING, "SyncBaseURL is plain http, not encrypted: %s%s",
			  svc->base_url, cfg->sync_allow_insecure_http ? " (SyncAllowInsecureHTTP)"
				: " (only to this machine's loopback address)");
	svc->http_settings = (struct http_settings){
		.user_agent = "santactl-sync/" SANTA_VERSION,
		.encoding = cfg->sync_client_content_encoding,
		.extra_headers = &cfg->sync_extra_headers,
		.ca_file = cfg->server_auth_roots_file,
		.proxy = cfg->sync_proxy,
		.allow_insecure_http = cfg->sync_allow_insecure_http,
	};
	r = http_new(svc->event, &svc->http_settings, &svc->http);
	if (r < 0)
		return r;
	sync_schedule(svc, FIRST_SYNC_DELAY_S);
	return 0;
}

int
main(int argc, char **argv)
{
	struct syncservice svc = { 0 };
	int r;

	/* Before anything is read: the TLS key, santad's snapshots, hashed files. */
	r = santa_helper_harden();
	if (r < 0) {
		fprintf(stderr, "santasyncservice: cannot make itself undumpable: %s\n", strerror(-r));
		return 1;
	}
	r = santa_helper_args("santasyncservice", argc, argv, &svc.log, &svc.cfg, &svc.config_path);
	if (r != 0) {
		santa_config_free(&svc.cfg);
		return r;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		santa_log(&svc.log, LOG_ERR, "cannot initialise libcurl");
		return 1;
	}
	r = setup(&svc);
	if (r < 0) {
		r = 1;
		goto out;
	}
	santa_log(&svc.log, LOG_INFO, "ready: syncing with %s as uid %u", svc.base_url,
		  (unsigned)getuid());
	(void)sd_notify(0, "READY=1");
	r = sd_event_loop(svc.event) < 0 ? 1 : 0;
out:
	svc.stopping = true;
	http_free(svc.http);
	svc.http = NULL;
	ipc_listener_free(svc.listener);
	if (svc.santad) {
		ipc_conn_invalidate(svc.santad);
		ipc_conn_unref(svc.santad);
	}
	sync_abort_all(&svc);
	http_settings_set_credentials(&svc.http_settings, NULL, 0, NULL, 0, NULL);
	sd_event_unref(svc.event);
	santa_config_free(&svc.cfg);
	curl_global_cleanup();
	return r;
}
