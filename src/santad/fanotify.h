/*
 * The fanotify side (fanotify.c): the permission and notification groups,
 * their marks and answers; read and marked on the loop thread. struct
 * fan_client is main's, pointed to by the context (d->fan).
 */
#ifndef SANTAD_FANOTIFY_H
#define SANTAD_FANOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "santa/policy.h"
#include "santa/ratelimit.h"

struct santad;
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

/*
 * Where the events go (the decision pipeline, exec.h; the loader check,
 * loader.h; the BPF backstop, anon_exec.h): their functions, set by main
 * before fan_client_start. The fanotify side sits below those modules and
 * calls them only through here. Loop thread.
 */
struct fan_handlers {
	void (*exec)(struct santad *d, int fd, pid_t pid, int answer_fd);
	void (*exec_uninspectable)(struct santad *d, int fd, pid_t pid, int answer_fd, int err);
	void (*exec_done)(struct santad *d, int fd, pid_t pid);
	void (*retry_exec_done)(struct santad *d);
	void (*notifications_lost)(struct santad *d);
	int (*loader_start)(struct santad *d);
	void (*anon_exec_marked)(struct santad *d, unsigned int major, unsigned int minor, bool marked);
};

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
	uint64_t uninspectable_said_usec;
};

int fan_client_start(struct santad *d);
/* The device of a watched entry keyed by filesystem ("dev:MAJ:MIN"); false for a mount key. */
bool fan_key_dev(const char *key, unsigned int *major, unsigned int *minor);
/* Marks filesystems that appeared since the last call; returns how many. */
int fan_sync_marks(struct santad *d);
/* How many mounts or filesystems are marked. */
size_t santad_watched_count(const struct fan_client *fan);
void fan_client_stop(struct fan_client *fan);
/* Lets the kernel skip us for this file until it changes (an allowed, trusted file), in both permission groups. */
int fan_ignore_file(struct fan_client *fan, int fd);
void fan_unignore_file(struct fan_client *fan, int fd);
/* One evictable ignore mark for mask on fd's inode, in one group (until the file is modified). */
int fan_ignore_mark(int group_fd, int fd, uint64_t mask);
/* Forgets every ignore mark (rules or mode changed). */
int fan_flush_ignore_marks(struct fan_client *fan);
/* Writes the kernel's answer for fd. */
int fan_respond(int fan_fd, int fd, enum santa_verdict verdict);

#endif
