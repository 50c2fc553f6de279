/*
 * struct fan_client's fields (fanotify.c): included by the fanotify side's
 * two files only, fanotify.c and mounts.c. Every other module goes through
 * fanotify.h's functions.
 */
#ifndef SANTAD_FAN_CLIENT_H
#define SANTAD_FAN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "santa/ratelimit.h"

#include "fanotify.h"

struct mount_watch;

#define FAN_MAX_MARKS 4096
#define NOTIFY_COALESCE_USEC 20000 /* exec notifications are read at most this often */
#define MNTNS_MAX 512              /* without mount events: other namespaces whose tables are read */
#define MNTNS_SCAN_USEC 1000000    /* how often they are looked for */

struct watched {
	char key[32]; /* "mnt:ID" or "dev:MAJ:MIN" */
	char *path;   /* where it was marked; NULL when marking failed */
	bool seen;    /* still in the mount table at the last look */
	uint64_t failed_usec; /* when marking it last failed (path NULL) */
};
#define MARK_RETRY_USEC (30 * 1000000ULL) /* a filesystem that refused a mark is tried again */

struct fan_client {
	struct fan_handlers on;
	int fd;
	sd_event_source *io;
	/* "Failed to watch" lines: a user's namespace can hold thousands of unmarkable mounts. */
	struct santa_ratelimit mark_failures;
	struct watched *watched; /* what is marked, for santactl status */
	size_t n_watched;
	int mountinfo_fd; /* POLLPRI when the mount table changes */
	sd_event_source *mounts;
	int notify_fd; /* FAN_OPEN_EXEC notifications, for logging, or -1 */
	bool notify_logs; /* it reports execs (not with EventLogType null) */
	sd_event_source *notify_io;
	sd_event_source *notify_pause; /* batches those reads (NOTIFY_COALESCE_USEC) */
	int open_fd; /* FAN_OPEN_PERM, for the loader check (loader.c), or -1 */
	sd_event_source *mntns_scan; /* other mount namespaces, every MNTNS_SCAN_USEC */
	size_t mount_namespaces;     /* seen at the last scan, santad's own included */
	bool mntns_overflow_said;
	struct mount_watch *mw; /* mount events (mounts.c), or NULL: the scan every second */
	uint64_t uninspectable; /* execs of files santad could not stat (FUSE closed to root) */
};

#endif
