/*
 * The helpers santad starts and supervises (helpers.c: santasyncservice,
 * santametricservice, santabundleservice) and the settings each may ask for
 * (helper_settings.c). Loop thread.
 */
#ifndef SANTAD_HELPERS_H
#define SANTAD_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/ipc.h"

struct santad;

enum helper_kind { HELPER_SYNC, HELPER_METRIC, HELPER_BUNDLE, HELPER_MAX };

/* What santactl status and the metrics say of one helper (santad_helper_status). */
struct helper_status {
	const char *name;  /* NULL: not set up (before santad_helpers_init) */
	const char *state; /* santad_helper_state's words, when name is set */
	pid_t pid;
	uint64_t restarts;
	bool wanted; /* the configuration wants it */
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
/* Helper k as it is now (state: "running", "off", "crash loop", "restarting", "on demand", "stopped", "systemd"). */
void santad_helper_status(const struct santad *d, enum helper_kind k, struct helper_status *st);
/* Santad's end of helper k's private channel, or NULL (not connected, or not set up). */
struct ipc_conn *santad_helper_conn(const struct santad *d, enum helper_kind k);

#endif
