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
struct mark_walk;
struct walk_child;

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

/*
 * Marking through a path a user chose (another namespace's mount, a FUSE
 * mount) is done by forked children the loop does not wait for (a FUSE
 * server on the way may never answer), each given MOUNT_CHILD_USEC. A child
 * killed at its deadline may live on, stuck in the FUSE server's request,
 * until that server answers or dies: it keeps its slot until then, so a
 * user's stuck children hold that user's slots, not others'.
 */
#define MARK_WALK_CHILDREN_MAX 32     /* walking children alive at once */
#define MARK_WALK_CHILDREN_PER_UID 2  /* of them for the mounts of one owner */
#define MARK_WALKS_QUEUED_MAX 1024    /* mounts waiting for a child */
#define MARK_WALKS_QUEUED_PER_UID 256
#define MARK_WALKS_QUEUED_BYTES (8u << 20) /* their paths (a mount point may be 1 MiB long) */

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
	int fuse_fd; /* FAN_OPEN_EXEC_PERM on FUSE and overlay filesystems (fuse_reader.c), or -1 */
	struct fuse_reader *fuse_reader;
	sd_event_source *mntns_scan; /* other mount namespaces, every MNTNS_SCAN_USEC */
	size_t mount_namespaces;     /* seen at the last scan, santad's own included */
	bool mntns_overflow_said;
	struct mount_watch *mw; /* mount events (mounts.c), or NULL: the scan every second */
	uint64_t uninspectable; /* execs of files santad could not stat (FUSE closed to root) */
	uint64_t unopenable; /* execs the kernel refused for want of a file to give santad */
	uint64_t unopenable_said_usec;
	struct mark_walk *walks; /* mounts to mark through a child: waiting and under way, oldest first */
	size_t n_walks, walk_bytes;
	struct walk_child *walk_children; /* alive, answered or not */
	size_t n_walk_children;
};

#endif
