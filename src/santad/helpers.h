/*
 * The helpers santad starts and supervises (helpers.c: santasyncservice,
 * santametricservice, santabundleservice) and the settings each may ask for
 * (helper_settings.c). Loop thread.
 */
#ifndef SANTAD_HELPERS_H
#define SANTAD_HELPERS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "santa/ipc.h"

struct santad;

enum helper_kind { HELPER_SYNC, HELPER_METRIC, HELPER_BUNDLE, HELPER_MAX };

struct helper_spec {
	const char *name;
	bool on_demand;     /* started by the first client, exits when idle */
	bool read_any_file; /* keeps CAP_DAC_READ_SEARCH, CAP_SETUID, CAP_SETGID (ambient); else none */
	size_t user_offset; /* in struct santa_config: the char * naming its own user */
	const char *user_key; /* that key's name in santa.conf, for messages */
};

struct helper {
	const struct helper_spec *spec;
	struct santad *daemon;
	char path[PATH_MAX];      /* HelperDirectory/name */
	char sock_path[PATH_MAX]; /* RunDirectory/name.sock */
	int listen_fd;            /* ours; the helper gets a copy at spawn */
	/*
	 * santametricservice's Prometheus listener (127.0.0.1:tcp_port), held by
	 * santad like listen_fd so that no one else can take the port while the
	 * helper restarts; -1 for the others or when the port is off.
	 */
	int tcp_fd;
	int64_t tcp_port;
	sd_event_source *demand;  /* on-demand: readable socket starts it */
	pid_t pid;
	sd_event_source *child;
	struct ipc_conn *conn; /* santad's end of the private channel */
	bool wanted, gave_up;
	bool reload; /* stopped after a SIGHUP, to be started again with the new config */
	unsigned int failures; /* in a row, each within HELPER_STABLE_USEC of its start */
	uint64_t restarts, started_usec;
	sd_event_source *restart, *stop_timer;
	/* Its private channel's handlers, as santad_helpers_init was given them. */
	struct ipc_conn_handlers channel;
};

/*
 * Creates the sockets and starts what the configuration wants. channel:
 * the handlers of each helper's private channel (control.c's
 * santad_channel_handlers, passed by main: the helpers sit below the
 * control socket).
 */
int santad_helpers_init(struct santad *d, struct ipc_conn_handlers channel);
/* After a reload: starts, stops (or revives after a crash loop) as the config now says. */
void santad_helpers_reconcile(struct santad *d);
/* Stops them and frees d->helpers (nothing of theirs is used after). */
void santad_helpers_stop(struct santad *d);
/* "running", "off", "crash loop", "restarting", "on demand", "stopped" */
const char *santad_helper_state(const struct helper *h);

#endif
