/*
 * How santad learns of filesystems to mark (fanotify.c marks them). Runs on
 * santad's event loop, except the short-lived children it forks to mark as
 * a FUSE mount's owner or to reach a covered mount (fanotify.c).
 *
 * With kernel mount notifications (fanotify FAN_MNT_ATTACH/DETACH on mount
 * namespaces, Linux 6.15 and later) each namespace's table is read once, when
 * the namespace is first seen, in chunks between other work, and a new mount
 * is marked when its event arrives; once a second santad only looks for
 * namespaces it has not seen yet (one stat per process). Without them, the
 * tables are read again every second (fanotify.c, the fallback).
 */
#ifndef SANTAD_MOUNTS_H
#define SANTAD_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

struct santad;
struct fan_client;
struct ipc_value;

/* How santad learns of mounts and what it could not mark, for santactl status (mounts.c). */
void santad_mounts_status(const struct santad *d, struct ipc_value *b);

/* A child santad forks (to mark as a FUSE mount's owner, to reach a covered mount) gets this long. */
#define MOUNT_CHILD_USEC 500000
/* Other mount namespaces followed with mount events; each holds two fds (the namespace, its group). */
#define MNTNS_EVENTS_MAX 4096

/*
 * statmount(2) and listmount(2) (Linux 6.8; a namespace other than the
 * caller's: 6.11) and the parts of their uapi santad uses, for headers
 * older than the running kernel. The layout is the kernel's (uapi
 * linux/mount.h); fields past mnt_ns_id are not read.
 */
#define SANTA_NR_STATMOUNT 457
#define SANTA_NR_LISTMOUNT 458
#ifndef STATMOUNT_SB_BASIC
#define STATMOUNT_SB_BASIC 0x00000001U
#define STATMOUNT_MNT_BASIC 0x00000002U
#define STATMOUNT_MNT_POINT 0x00000010U
#define STATMOUNT_FS_TYPE 0x00000020U
#define STATMOUNT_MNT_OPTS 0x00000080U
#endif
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8 */
#endif
#define SANTA_LSMT_ROOT 0xffffffffffffffffULL

struct santa_mnt_id_req {
	uint32_t size;
	uint32_t spare;
	uint64_t mnt_id;
	uint64_t param;
	uint64_t mnt_ns_id;
};

struct santa_statmount {
	uint32_t size;
	uint32_t mnt_opts; /* [str] */
	uint64_t mask;
	uint32_t sb_dev_major;
	uint32_t sb_dev_minor;
	uint64_t sb_magic;
	uint32_t sb_flags;
	uint32_t fs_type; /* [str] */
	uint64_t mnt_id;
	uint64_t mnt_parent_id;
	uint32_t mnt_id_old;
	uint32_t mnt_parent_id_old;
	uint64_t mnt_attr;
	uint64_t mnt_propagation;
	uint64_t mnt_peer_group;
	uint64_t mnt_master;
	uint64_t propagate_from;
	uint32_t mnt_root;  /* [str] */
	uint32_t mnt_point; /* [str] relative to the namespace's root */
	uint64_t mnt_ns_id;
	uint64_t spare2[49];
	char str[];
};

/* statmount(2) of mount id in namespace ns_id (0: the caller's); 0 or -errno. */
static inline int
santa_statmount(uint64_t id, uint64_t ns_id, uint64_t mask, struct santa_statmount *buf,
		size_t size)
{
	struct santa_mnt_id_req req = { .size = sizeof(req), .mnt_id = id, .param = mask,
					.mnt_ns_id = ns_id };

	return syscall(SANTA_NR_STATMOUNT, &req, buf, size, 0) < 0 ? -errno : 0;
}

/* listmount(2): up to n mount ids after `after` (0: from the first); how many, or -errno. */
static inline int
santa_listmount(uint64_t ns_id, uint64_t after, uint64_t *ids, size_t n)
{
	struct santa_mnt_id_req req = { .size = sizeof(req), .mnt_id = SANTA_LSMT_ROOT,
					.param = after, .mnt_ns_id = ns_id };
	long r = syscall(SANTA_NR_LISTMOUNT, &req, ids, n, 0);

	return r < 0 ? -errno : (int)r;
}

/*
 * The filesystems and mounts the kernel has marked for one of our groups,
 * from /proc/self/fdinfo: the truth, since a mark goes away with its
 * filesystem.
 */
struct kernel_marks {
	unsigned int *sdev; /* kernel dev_t: major << 20 | minor */
	size_t n_sdev, sorted_sdev, cap_sdev; /* the first sorted_* are sorted (read), the rest added since */
	unsigned int *mnt;  /* mount ids */
	size_t n_mnt, sorted_mnt, cap_mnt;
};
/* Marks held in mind at once: far above what a machine mounts; a user's 65,536 bind mounts fit. */
#define KERNEL_MARKS_MAX (1u << 20)
/* Adds v (a mark just made); false when KERNEL_MARKS_MAX are held (no room, nothing lost: read again next time). */
bool kernel_marks_add(unsigned int **set, size_t *n, size_t *cap, unsigned int v);

int fan_kernel_marks_read(const struct fan_client *fan, struct kernel_marks *km);
void kernel_marks_free(struct kernel_marks *km);

/* One mount as a namespace's table (mountinfo or statmount) describes it. */
struct mount_desc {
	unsigned int mnt_id;   /* the 32-bit id mountinfo and fdinfo show */
	unsigned int major, minor;
	const char *fstype;
	const char *mountpoint; /* as that namespace's root sees it */
	const char *sb_opts;    /* the filesystem's options (FUSE: user_id=, group_id=), or NULL */
	uint64_t id, ns_id;     /* statmount's ids of it and its namespace (0: unknown, mountinfo) */
};

/*
 * Marks the filesystem (or mount, with WatchPaths and mount marks) m names,
 * unless it is marked already or not wanted. prefix reaches that
 * namespace's root ("/proc/PID/root", "" for santad's own); ns_fd, when not
 * -1, is the namespace, for reaching a mount another covers. Returns 1 when
 * it marked, 0 when nothing was to be done or a child will mark it (another
 * namespace's mount, a FUSE mount: fanotify.c, mark_walk; how that ends is
 * logged and counted there), -EAGAIN when such a child's queue has no room
 * for the namespace's owner (try again later), -errno when it could not.
 */
int fan_mark_listed(struct santad *d, struct kernel_marks *km, const struct mount_desc *m,
		    const char *prefix, int ns_fd);

/* Mounts a walk failed to reach and is looking up again (status: not watched meanwhile). */
size_t fan_walks_retrying(const struct fan_client *fan);

/* Drops the status entries of filesystems the kernel no longer has marks for (unmounted). */
void fan_reconcile_watched(struct santad *d);

/*
 * Starts mount notifications: santad's own namespace is marked for them
 * before its table is read. -EOPNOTSUPP: the kernel has none (the fallback
 * applies).
 */
int mounts_start(struct santad *d);
/* Looks for namespaces not seen yet (the once-a-second tick). */
void mounts_scan(struct santad *d);
void mounts_stop(struct fan_client *fan);
/* A mount santad gave up on (Mounts Not Watched), counted by the mark_walk that did (fanotify.c). */
void mounts_count_unmarked(struct fan_client *fan);
/* A marking child's queue has room again: tables held back by -EAGAIN are read on. */
void mounts_walk_room(struct fan_client *fan);
bool mounts_events_active(const struct fan_client *fan);

#endif
