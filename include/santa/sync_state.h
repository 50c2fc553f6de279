/*
 * The sync state: what the sync server set (it wins over santa.conf for the
 * keys Santa lets it override) and the sync bookkeeping, kept by santad in
 * SyncStatePath (JSON, mode 0600, replaced atomically). The Linux
 * counterpart of /var/db/santa/sync-state.plist.
 */
#ifndef SANTA_SYNC_STATE_H
#define SANTA_SYNC_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "santa/config.h"
#include "santa/types.h"

struct sync_state {
	enum santa_mode client_mode; /* UNKNOWN: not set by the server */
	char *allowed_path_regex;    /* NULL: not set */
	char *blocked_path_regex;
	int enable_transitive_rules; /* -1: not set, else 0/1 */
	int enable_all_event_upload;
	int disable_unknown_event_upload;
	int enable_bundles; /* memory only, as on Santa */
	int block_usb_mount;
	int sync_type_required; /* enum sync_type */
	double full_sync_last_success; /* Unix seconds, 0: never */
	double rule_sync_last_success;
	unsigned int full_sync_interval; /* seconds, from the last preflight; 0: default */
	/* Not persisted: for santactl status. */
	double last_attempt;
	char last_error[512];
};

void sync_state_init(struct sync_state *s);
void sync_state_free(struct sync_state *s);
/*
 * Reads path over s. A missing file is a fresh state (0). A file that is
 * not a sync state gives -EBADMSG with why; s then keeps its defaults and
 * the file is left as it is.
 */
int sync_state_load(struct sync_state *s, const char *path, char *why, size_t why_size);
/* s as the file's JSON text (*out NUL-terminated, the caller frees it): 0 or -ENOMEM. */
int sync_state_encode(const struct sync_state *s, char **out);
/* Writes s to path through a temporary file and rename(): all or nothing (santa_file_replace). */
int sync_state_save(const struct sync_state *s, const char *path);
/* Lays the server's values over a configuration (they win, as on Santa). */
int sync_state_apply(const struct sync_state *s, struct santa_config *cfg);

#endif
