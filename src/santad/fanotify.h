/*
 * The fanotify side (fanotify.c): the permission and notification groups,
 * their marks and answers; read and marked on the loop thread. struct
 * fan_client is opaque (fan_client.h, fanotify.c's and mounts.c's only):
 * fan_client_new makes it, main's context points to it (d->fan).
 */
#ifndef SANTAD_FANOTIFY_H
#define SANTAD_FANOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/policy.h"

struct santad;
struct fan_client;

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
	bool (*retry_exec_done)(struct santad *d); /* true: some still wait, call again */
	void (*notifications_lost)(struct santad *d);
	int (*loader_start)(struct santad *d);
	void (*anon_exec_marked)(struct santad *d, unsigned int major, unsigned int minor, bool marked);
};


/* A client with no group open yet, whose events go to on's functions. */
int fan_client_new(const struct fan_handlers *on, struct fan_client **out);
/* After fan_client_stop. */
void fan_client_free(struct fan_client *fan);
int fan_client_start(struct santad *d);
/* The device of a watched entry keyed by filesystem ("dev:MAJ:MIN"); false for a mount key. */
bool fan_key_dev(const char *key, unsigned int *major, unsigned int *minor);
/* Marks filesystems that appeared since the last call; returns how many. */
int fan_sync_marks(struct santad *d);
/* How many mounts or filesystems are marked. */
size_t santad_watched_count(const struct fan_client *fan);
/*
 * The watched list, for santactl status and the groups that mark what this
 * one marks: entry i's path (i < fan_watched_entries) and, when key is not
 * NULL, its key ("mnt:ID" or "dev:MAJ:MIN"). NULL: marking it failed.
 */
size_t fan_watched_entries(const struct fan_client *fan);
const char *fan_watched_path(const struct fan_client *fan, size_t i, const char **key);
/* The exec permission group's fd (-1 before fan_client_start, after _stop): the answer fd of a real exec. */
int fan_exec_fd(const struct fan_client *fan);
/* Whether answer_fd is an exec permission group's (the loop's or the FUSE group's): a real exec. */
bool fan_is_exec_group(const struct fan_client *fan, int answer_fd);
/* The FUSE group's events read, and those denied because its queue was full. */
uint64_t fan_fuse_events(const struct fan_client *fan);
uint64_t fan_fuse_queue_full(const struct fan_client *fan);
uint64_t fan_fuse_held_usec(const struct fan_client *fan);
/* The loader check's FAN_OPEN_PERM group's fd, or -1. */
int fan_open_fd(const struct fan_client *fan);
/* Whether the notification group exists (ignore marks are safe) and whether it reports execs. */
bool fan_has_notify_group(const struct fan_client *fan);
bool fan_notify_logs(const struct fan_client *fan);
/* Mount namespaces seen at the last scan, santad's own included. */
size_t fan_mount_namespaces(const struct fan_client *fan);
/* Counts an exec of a file santad could not stat; how many so far. */
uint64_t fan_count_uninspectable(struct fan_client *fan);
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
