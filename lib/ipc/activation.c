/*
 * The sockets a helper was started with, in systemd's LISTEN_FDS convention:
 * santad passes the helper's listener and a private channel named "santad";
 * a systemd socket unit passes the listener alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "santa/config.h"
#include "ipc-internal.h"
#include "santa/santad_proto.h"

/*
 * The listening socket a helper was started with (LISTEN_FDS), and the
 * private channel to santad when santad started it (the fd named "santad"),
 * else -1. Returns 0, or -ENOENT when no listener was passed (the helper was
 * not started by santad or a socket unit).
 */
static int
activation_fds(int *listen_fd, int *santad_fd)
{
	char **names = NULL;
	int n, i;

	*listen_fd = *santad_fd = -1;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (names && names[i] && strcmp(names[i], "santad") == 0 && *santad_fd < 0)
			*santad_fd = fd;
		else if (*listen_fd < 0 && sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 1) > 0)
			*listen_fd = fd;
	}
	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	return *listen_fd >= 0 ? 0 : -ENOENT;
}

static int
on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	sd_event_exit(sd_event_source_get_event(s), 0);
	return 0;
}

/* The thread's default loop, ended by the signals santad and a user stop helpers with. */
static int
helper_event_new(sd_event **out)
{
	static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t mask;
	int r;

	r = sd_event_default(out);
	if (r < 0)
		return r;
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&mask, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		r = sd_event_add_signal(*out, NULL, stop_signals[i], on_stop_signal, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Default channel handlers: santad asks helpers nothing they did not say they serve. */
static void
refuse_santad_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	if (!(ipc_msg_flags(msg) & IPC_FLAG_ONEWAY))
		ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
	ipc_msg_free(msg);
}

/* The channel closes when santad exits: the helper's loop (the thread's default) ends too. */
static void
follow_santad(struct ipc_conn *conn, int error, void *userdata)
{
	sd_event *event = NULL;

	if (sd_event_default(&event) >= 0) {
		if (sd_event_get_state(event) != SD_EVENT_FINISHED)
			sd_event_exit(event, 0);
		sd_event_unref(event);
	}
}

struct settings_diag {
	char *why;
	size_t why_size;
};

static void
settings_diag(void *userdata, int level, const char *file, unsigned int line, const char *msg)
{
	struct settings_diag *sd = userdata;

	if (level <= LOG_ERR && !sd->why[0])
		snprintf(sd->why, sd->why_size, "santad's settings: %s", msg);
}

#define HELPER_SETTINGS_TIMEOUT_USEC (5 * 1000 * 1000ULL)

/*
 * The helper's settings, from santad (SANTAD_HELPER_SETTINGS): cfg is
 * reset to Santa's defaults, then given exactly what santad sent.
 */
static int
fetch_settings(struct ipc_conn *santad, struct santa_config *cfg, char *why, size_t why_size)
{
	struct settings_diag sd = { why, why_size };
	const struct ipc_value *body, *keys = NULL, *sections = NULL, *v, *sec;
	struct ipc_msg *msg, *reply = NULL;
	const char *key, *name, *text = NULL;
	size_t i, j;
	int r;

	msg = ipc_msg_new(SANTAD_HELPER_SETTINGS);
	if (!msg)
		return -ENOMEM;
	why[0] = '\0';
	r = ipc_conn_call(santad, msg, HELPER_SETTINGS_TIMEOUT_USEC, &reply);
	if (r == 0 && (ipc_msg_flags(reply) & IPC_FLAG_ERROR))
		r = ipc_msg_error(reply, &text);
	if (r < 0) {
		snprintf(why, why_size, "santad did not give this helper its settings: %s",
			 text ? text : strerror(-r));
		goto out;
	}
	santa_config_free(cfg);
	r = santa_config_init(cfg, NULL);
	if (r < 0)
		goto out;
	body = ipc_msg_body_const(reply);
	if (ipc_dict_get_container(body, "keys", IPC_DICT, &keys) < 0 ||
	    ipc_dict_get_container(body, "sections", IPC_DICT, &sections) < 0) {
		snprintf(why, why_size, "santad's settings: malformed reply");
		r = -EBADMSG;
		goto out;
	}
	for (i = 0; r == 0 && i < ipc_container_len(keys); i++) {
		key = ipc_dict_key_at(keys, i, &v);
		r = ipc_value_type(v) == IPC_STRING
			    ? santa_config_set(cfg, NULL, key, ipc_value_string(v), "santad",
					       settings_diag, &sd)
			    : -EBADMSG;
	}
	for (i = 0; r == 0 && i < ipc_container_len(sections); i++) {
		name = ipc_dict_key_at(sections, i, &sec);
		if (ipc_value_type(sec) != IPC_DICT) {
			r = -EBADMSG;
			break;
		}
		for (j = 0; r == 0 && j < ipc_container_len(sec); j++) {
			key = ipc_dict_key_at(sec, j, &v);
			r = ipc_value_type(v) == IPC_STRING
				    ? santa_config_set(cfg, name, key, ipc_value_string(v), "santad",
						       settings_diag, &sd)
				    : -EBADMSG;
		}
	}
	if (r < 0 && !why[0])
		snprintf(why, why_size, "santad's settings: %s", strerror(-r));
out:
	ipc_msg_free(reply);
	return r;
}

int
ipc_helper_start(sd_event **event, const char *santad_path,
		 const struct ipc_conn_handlers *santad_handlers, void *santad_userdata,
		 const struct ipc_listener_handlers *handlers, void *userdata,
		 struct santa_config *settings, struct ipc_conn **santad,
		 struct ipc_listener **listener, char *why, size_t why_size)
{
	/* An empty list switches the executable check on; santad does the checking. */
	struct ipc_allowlist list = { .n = 0 };
	struct ipc_peer peer = { .name = "santad", .uid = 0 };
	struct ipc_conn_handlers handlers_or_defaults;
	int listen_fd, santad_fd, r;

	*santad = NULL;
	*listener = NULL;
	r = helper_event_new(event);
	if (r < 0) {
		snprintf(why, why_size, "cannot make the event loop: %s", strerror(-r));
		return r;
	}
	r = activation_fds(&listen_fd, &santad_fd);
	if (r < 0) {
		snprintf(why, why_size, "no listening socket was passed: helpers are started by santad "
			 "(or a systemd socket unit), not by hand");
		return r;
	}
	handlers_or_defaults = santad_handlers ? *santad_handlers : (struct ipc_conn_handlers){ 0 };
	if (!handlers_or_defaults.on_message)
		handlers_or_defaults.on_message = refuse_santad_message;
	if (!handlers_or_defaults.on_invalidated)
		handlers_or_defaults.on_invalidated = follow_santad;
	santad_handlers = &handlers_or_defaults;
	if (santad_fd >= 0) {
		/* Made by santad and handed over at start: the other end is santad. */
		r = ipc_conn_from_endpoint(*event, santad_fd, &peer, NULL, santad_handlers,
					   santad_userdata, santad);
		if (r < 0)
			snprintf(why, why_size, "cannot use the channel to santad: %s", strerror(-r));
	} else {
		/* Under a socket unit: santad by name (its socket sits in a root-only directory). */
		r = ipc_conn_connect(*event, santad_path, "santad", 0, NULL, santad_handlers,
				     santad_userdata, santad, why, why_size);
	}
	if (r == 0 && settings)
		/* Before the listener: no client is served on settings not yet known. */
		r = fetch_settings(*santad, settings, why, why_size);
	if (r < 0) {
		close(listen_fd);
		return r;
	}
	r = ipc_listener_new(*event, listen_fd, NULL, 0, &list, handlers, userdata, listener);
	if (r < 0) {
		snprintf(why, why_size, "cannot listen on the socket passed: %s", strerror(-r));
		return r;
	}
	listener_validate_by(*listener, *santad, SANTAD_VALIDATE_PEER);
	return 0;
}
