/*
 * Mount notifications (mounts.h): one FAN_REPORT_MNT group with a
 * FAN_MARK_MNTNS mark on each mount namespace santad follows, its own
 * included. A namespace is followed from the first time santad sees a process
 * in it (the once-a-second look at /proc/PID/ns/mnt); its table is then
 * read once, in chunks of LIST_CHUNK mounts at idle priority, and from then
 * on each new mount is marked when its event arrives. All on the loop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mounts.h"
#include "santa/ipc.h"
#include "santad.h"
#include "fanotify.h"
#include "fan_client.h"

/* Linux 6.15 (fanotify mount notifications); absent from older uapi headers. */
#ifndef FAN_MNT_ATTACH
#define FAN_MNT_ATTACH 0x01000000
#define FAN_MNT_DETACH 0x02000000
#endif
#ifndef FAN_REPORT_MNT
#define FAN_REPORT_MNT 0x00004000
#endif
#ifndef FAN_MARK_MNTNS
#define FAN_MARK_MNTNS 0x00000110
#endif
#define SANTA_FAN_EVENT_INFO_TYPE_MNT 7 /* 6.15: after FAN_EVENT_INFO_TYPE_RANGE (6) */
/* nsfs: a mount namespace's 64-bit id, never reused (Linux 6.11). */
#ifndef NS_GET_MNTNS_ID
#define NS_GET_MNTNS_ID _IOR(0xb7, 0x5, uint64_t)
#endif

#define LIST_CHUNK 256  /* mounts of a namespace's table marked per loop iteration */
#define RESOLVE_BUDGET 8192 /* statmount calls per batch of mount events */
#define EVENT_BUF (16 * 1024)
/*
 * statmount's buffer: grown (doubling) when a mount point does not fit, up to
 * SM_BUF_MAX: a user may mount far deeper than PATH_MAX in their own tree.
 */
#define SM_BUF (sizeof(struct santa_statmount) + 3 * PATH_MAX)
#define SM_BUF_MAX (1024 * 1024)

struct mntns {
	struct mount_watch *mw;
	ino_t ino;     /* nsfs inode: not reused while ns_fd holds the namespace */
	int ns_fd;     /* pins it; for FAN_MARK_MNTNS and entering it (a covered mount) */
	int root_fd;   /* O_PATH: its root as a process of it saw it; -1 for santad's own */
	uint64_t ns_id;
	pid_t pid;     /* a process in it (its root reaches the mount points); 0: santad's own */
	bool seen;     /* at the last look at /proc */
	bool listing;  /* its table is being read */
	bool waiting;  /* ...but its owner's marking children have no room (mounts_walk_room) */
	uint64_t list_after;
};

struct mount_watch {
	struct santad *d;
	int grp_fd; /* the FAN_REPORT_MNT group: one, marked on every namespace followed */
	sd_event_source *io;
	struct mntns *last; /* where the last reported mount was found */
	struct mntns **ns; /* sorted by ino; [own] is santad's own */
	size_t n_ns, max_ns;
	sd_event_source *lister;
	struct santa_statmount *sm;
	size_t sm_size;
	bool detached;        /* a mount went: the status entries are checked at the next tick */
	size_t not_followed;  /* namespaces beyond max_ns at the last look */
	uint64_t unmarked;    /* mounts santad gave up on (logged) */
	uint64_t events;
	bool cap_said;
};

bool
mounts_events_active(const struct fan_client *fan)
{
	return fan->mw != NULL;
}

static void
ns_free(struct mntns *ns)
{
	if (!ns)
		return;
	/* Its mark would outlive it where something else holds the namespace. */
	if (ns->ns_fd >= 0 && ns->mw->grp_fd >= 0)
		(void)fanotify_mark(ns->mw->grp_fd, FAN_MARK_REMOVE | FAN_MARK_MNTNS,
				    FAN_MNT_ATTACH | FAN_MNT_DETACH, ns->ns_fd, NULL);
	if (ns->ns_fd >= 0)
		close(ns->ns_fd);
	if (ns->root_fd >= 0)
		close(ns->root_fd);
	free(ns);
}

static void
mw_free(struct mount_watch *mw)
{
	size_t i;

	if (!mw)
		return;
	for (i = 0; i < mw->n_ns; i++)
		ns_free(mw->ns[i]);
	sd_event_source_disable_unref(mw->lister);
	sd_event_source_disable_unref(mw->io);
	if (mw->grp_fd >= 0)
		close(mw->grp_fd);
	free(mw->ns);
	free(mw->sm);
	free(mw);
}

static size_t
ns_find(const struct mount_watch *mw, ino_t ino, bool *found)
{
	size_t lo = 0, hi = mw->n_ns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mw->ns[mid]->ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < mw->n_ns && mw->ns[lo]->ino == ino;
	return lo;
}

/*
 * The prefix that reaches ns's mount points: the root a process of it had
 * when santad found the namespace, held open (the process, often a
 * short-lived `mount`, may be gone by the time a mount is reported).
 */
static void
ns_prefix(const struct mntns *ns, char *prefix, size_t size)
{
	if (ns->root_fd < 0)
		prefix[0] = '\0';
	else
		snprintf(prefix, size, "/proc/self/fd/%d", ns->root_fd);
}

/*
 * Marks mount id of ns, as statmount describes it. -ENOENT: not a mount
 * of ns (another's, or gone: unmounted, or moved, which is reported again).
 */
static int
mark_by_id(struct mntns *ns, struct kernel_marks *km, bool *km_read, uint64_t id)
{
	struct mount_watch *mw = ns->mw;
	struct santa_statmount *sm;
	struct mount_desc m;
	char prefix[64];
	int r;

	for (;;) {
		r = santa_statmount(id, ns->ns_id, STATMOUNT_SB_BASIC | STATMOUNT_MNT_BASIC |
				    STATMOUNT_MNT_POINT | STATMOUNT_FS_TYPE | STATMOUNT_MNT_OPTS,
				    mw->sm, mw->sm_size);
		if (r != -EOVERFLOW || mw->sm_size >= SM_BUF_MAX)
			break;
		sm = realloc(mw->sm, mw->sm_size * 2);
		if (!sm)
			break;
		mw->sm = sm;
		mw->sm_size *= 2;
	}
	sm = mw->sm;
	if (r == -ENOENT)
		return r; /* not in this namespace (any more) */
	if (r < 0 || !(sm->mask & STATMOUNT_MNT_POINT) || !(sm->mask & STATMOUNT_FS_TYPE)) {
		mw->unmarked++;
		return santa_log_errno(&mw->d->log, LOG_WARNING, r < 0 ? r : -EIO,
				       "mount %llu not watched: statmount: %m",
				       (unsigned long long)id);
	}
	if (!*km_read) {
		r = fan_kernel_marks_read(mw->d->fan, km);
		if (r < 0)
			return r;
		*km_read = true;
	}
	m = (struct mount_desc){
		.mnt_id = sm->mnt_id_old, .major = sm->sb_dev_major, .minor = sm->sb_dev_minor,
		.fstype = sm->str + sm->fs_type, .mountpoint = sm->str + sm->mnt_point,
		.sb_opts = (sm->mask & STATMOUNT_MNT_OPTS) ? sm->str + sm->mnt_opts : NULL,
		.id = id, .ns_id = ns->ns_id,
	};
	ns_prefix(ns, prefix, sizeof(prefix));
	r = fan_mark_listed(mw->d, km, &m, prefix, ns->ns_fd);
	if (r == -EAGAIN) {
		/* No room to mark it now: the table is read again once there is (nothing missed). */
		ns->listing = ns->waiting = true;
		ns->list_after = 0;
		return r;
	}
	if (r < 0)
		mw->unmarked++;
	return r == -ENOENT ? -EIO : r; /* found here: -ENOENT means another namespace */
}

/*
 * The event names a mount, not its namespace: it is looked for where the
 * last one was, then in the namespace of the process that mounted (the
 * event's pid, while it lives), then in every namespace followed, each a
 * statmount. *budget bounds those lookups per batch (an attacker's
 * namespaces and short-lived mounts make each one cost more); past it the
 * mount is not looked for and false is returned.
 */
static bool
resolve_and_mark(struct mount_watch *mw, uint64_t id, pid_t pid, struct kernel_marks *km,
		 bool *km_read, size_t *budget)
{
	struct mntns *tried[2] = { NULL, NULL };
	char path[64];
	struct stat st;
	size_t i;
	bool found;
	int r;

	if (mw->last) {
		if (!*budget)
			return false;
		(*budget)--;
		tried[0] = mw->last;
		r = mark_by_id(mw->last, km, km_read, id);
		if (r != -ENOENT)
			return true;
	}
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", (long)pid);
	if (pid > 0 && stat(path, &st) == 0) {
		i = ns_find(mw, st.st_ino, &found);
		if (found && mw->ns[i] != tried[0]) {
			if (!*budget)
				return false;
			(*budget)--;
			tried[1] = mw->ns[i];
			if (mark_by_id(mw->ns[i], km, km_read, id) != -ENOENT) {
				mw->last = mw->ns[i];
				return true;
			}
		}
	}
	for (i = 0; i < mw->n_ns; i++) {
		if (mw->ns[i] == tried[0] || mw->ns[i] == tried[1])
			continue;
		if (!*budget)
			return false;
		(*budget)--;
		if (mark_by_id(mw->ns[i], km, km_read, id) != -ENOENT) {
			mw->last = mw->ns[i];
			return true;
		}
	}
	return true; /* gone from every namespace already (unmounted) */
}

static void
relist_all(struct mount_watch *mw)
{
	size_t i;

	for (i = 0; i < mw->n_ns; i++) {
		mw->ns[i]->listing = true;
		mw->ns[i]->list_after = 0;
	}
	(void)sd_event_source_set_enabled(mw->lister, SD_EVENT_ON);
}

static int
on_mount_events(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	char buf[EVENT_BUF] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct mount_watch *mw = userdata;
	struct fanotify_event_metadata *m;
	struct { uint64_t id; pid_t pid; bool attach; } ev[EVENT_BUF / 40];
	struct kernel_marks km = { 0 };
	size_t n = 0, i, j, budget = RESOLVE_BUDGET;
	bool km_read = false, over = false;
	ssize_t len;

	len = read(fd, buf, sizeof(buf));
	for (m = (struct fanotify_event_metadata *)buf; len > 0 && FAN_EVENT_OK(m, len);
	     m = FAN_EVENT_NEXT(m, len)) {
		size_t off = m->metadata_len;

		mw->events++;
		if (m->mask & FAN_Q_OVERFLOW) { /* not with an unlimited queue; read them all again */
			over = true;
			continue;
		}
		while (off + sizeof(struct fanotify_event_info_header) <= m->event_len) {
			struct fanotify_event_info_header *h =
				(struct fanotify_event_info_header *)((char *)m + off);

			if (h->len < sizeof(*h) || off + h->len > m->event_len)
				break;
			if (h->info_type == SANTA_FAN_EVENT_INFO_TYPE_MNT && h->len >= 16 &&
			    n < sizeof(ev) / sizeof(ev[0])) {
				memcpy(&ev[n].id, (char *)h + 8, sizeof(ev[n].id));
				ev[n].pid = m->pid;
				ev[n].attach = (m->mask & FAN_MNT_ATTACH) != 0;
				if (!ev[n].attach)
					mw->detached = true;
				n++;
			}
			off += h->len;
		}
	}
	for (i = 0; i < n; i++) {
		if (!ev[i].attach)
			continue;
		/* Detached later in the same batch (a move reports attach again): nothing to look for. */
		for (j = i + 1; j < n && !(ev[j].id == ev[i].id && !ev[j].attach); j++)
			;
		if (j < n)
			continue;
		if (!resolve_and_mark(mw, ev[i].id, ev[i].pid, &km, &km_read, &budget))
			over = true;
	}
	if (over) {
		/* Nothing is missed, only later: every table is read again, in chunks. */
		if (sd_event_source_get_enabled(mw->lister, NULL) <= 0)
			santa_log(&mw->d->log, LOG_WARNING, "Mounts: too many reported at once to "
				  "look each up; reading every namespace's table again");
		relist_all(mw);
	}
	if (km_read)
		kernel_marks_free(&km);
	return 0;
}

/* One chunk of one namespace's table, at idle priority: a table of 100,000 mounts stalls nothing. */
static int
on_list_chunk(sd_event_source *s, void *userdata)
{
	struct mount_watch *mw = userdata;
	uint64_t ids[LIST_CHUNK];
	struct kernel_marks km = { 0 };
	bool km_read = false;
	struct mntns *ns = NULL;
	size_t i;
	int n;

	/* A namespace whose owner's marking children are busy waits; the others go on. */
	for (i = 0; i < mw->n_ns && !ns; i++)
		if (mw->ns[i]->listing && !mw->ns[i]->waiting)
			ns = mw->ns[i];
	if (!ns) {
		(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return 0;
	}
	n = santa_listmount(ns->ns_id, ns->list_after, ids, LIST_CHUNK);
	if (n < 0) {
		santa_log_errno(&mw->d->log, LOG_WARNING, n, "Cannot list the mounts of namespace "
				"%llu: %m", (unsigned long long)ns->ns_id);
		n = 0;
	}
	for (i = 0; i < (size_t)n; i++) {
		uint64_t after = ns->list_after;

		if (mark_by_id(ns, &km, &km_read, ids[i]) == -EAGAIN) {
			ns->list_after = after; /* on from this mount once there is room */
			break;
		}
		ns->list_after = ids[i];
	}
	if (!ns->waiting && n < LIST_CHUNK)
		ns->listing = false;
	if (km_read)
		kernel_marks_free(&km);
	return 0;
}

/*
 * Follows the namespace ns_fd names: a group with a FAN_MARK_MNTNS mark
 * first, then its table (whose mounts made meanwhile are reported too).
 */
static int
ns_follow(struct mount_watch *mw, int ns_fd, int root_fd, ino_t ino, pid_t pid, bool list,
	  struct mntns **out)
{
	struct mntns *ns = calloc(1, sizeof(*ns));
	int r;

	if (!ns) {
		close(ns_fd);
		if (root_fd >= 0)
			close(root_fd);
		return -ENOMEM;
	}
	*ns = (struct mntns){ .mw = mw, .ino = ino, .ns_fd = ns_fd, .root_fd = root_fd,
			      .pid = pid, .seen = true, .listing = list };
	if (ioctl(ns_fd, NS_GET_MNTNS_ID, &ns->ns_id) < 0) {
		r = -errno;
		goto fail;
	}
	if (fanotify_mark(mw->grp_fd, FAN_MARK_ADD | FAN_MARK_MNTNS, FAN_MNT_ATTACH | FAN_MNT_DETACH,
			  ns_fd, NULL) < 0) {
		r = errno == EINVAL ? -EOPNOTSUPP : -errno;
		goto fail;
	}
	if (list)
		(void)sd_event_source_set_enabled(mw->lister, SD_EVENT_ON);
	*out = ns;
	return 0;
fail:
	ns_free(ns);
	return r;
}

static int
ns_insert(struct mount_watch *mw, struct mntns *ns)
{
	bool found;
	size_t at = ns_find(mw, ns->ino, &found);

	memmove(&mw->ns[at + 1], &mw->ns[at], (mw->n_ns - at) * sizeof(*mw->ns));
	mw->ns[at] = ns;
	mw->n_ns++;
	return 0;
}

/*
 * Each namespace holds two fds (the namespace, its root): the
 * cap follows RLIMIT_NOFILE (santad's queues take half of it) as well as
 * MNTNS_EVENTS_MAX.
 */
static size_t
ns_cap(void)
{
	struct rlimit rl;
	size_t cap = MNTNS_EVENTS_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 16 < cap)
		cap = rl.rlim_cur / 16;
	return cap < 8 ? 8 : cap;
}

int
mounts_start(struct santad *d)
{
	struct mount_watch *mw = calloc(1, sizeof(*mw));
	struct mntns *own = NULL;
	struct stat st;
	int fd, r;

	if (!mw)
		return -ENOMEM;
	/* For tests and comparisons: the fallback on a kernel that has mount events. */
	if (getenv("SANTAD_MOUNT_EVENTS") && strcmp(getenv("SANTAD_MOUNT_EVENTS"), "0") == 0) {
		free(mw);
		santa_log(&d->log, LOG_INFO, "Mounts: notifications switched off "
			  "(SANTAD_MOUNT_EVENTS=0): every namespace's table is read every second");
		return -EOPNOTSUPP;
	}
	mw->d = d;
	mw->grp_fd = -1;
	mw->max_ns = ns_cap();
	mw->ns = calloc(mw->max_ns + 1, sizeof(*mw->ns));
	mw->sm = malloc(SM_BUF);
	mw->sm_size = SM_BUF;
	if (!mw->ns || !mw->sm) {
		r = -ENOMEM;
		goto fail;
	}
	/*
	 * One group for every namespace (a user has at most 128 fanotify
	 * groups, fs.fanotify.max_user_groups). Unlimited: an overflow would
	 * mean reading every table again. Root only.
	 */
	mw->grp_fd = fanotify_init(FAN_REPORT_MNT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE, 0);
	if (mw->grp_fd < 0) {
		r = errno == EINVAL ? -EOPNOTSUPP : -errno;
		goto fail;
	}
	r = sd_event_add_io(d->event, &mw->io, mw->grp_fd, EPOLLIN, on_mount_events, mw);
	if (r < 0)
		goto fail;
	r = sd_event_add_defer(d->event, &mw->lister, on_list_chunk, mw);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_priority(mw->lister, SD_EVENT_PRIORITY_IDLE);
	(void)sd_event_source_set_enabled(mw->lister, SD_EVENT_OFF);
	fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	/* santad's own table is read from mountinfo at start (fan_sync_marks). */
	r = ns_follow(mw, fd, -1, st.st_ino, 0, false, &own);
	if (r < 0)
		goto fail;
	ns_insert(mw, own);
	d->fan->mw = mw;
	santa_log(&d->log, LOG_INFO, "Mounts: kernel mount notifications (at most %zu other "
		  "namespaces followed)", mw->max_ns);
	return 0;
fail:
	if (r == -EOPNOTSUPP || r == -ENOSYS || r == -ENOTTY)
		santa_log(&d->log, LOG_INFO, "Mounts: this kernel has no mount notifications (Linux "
			  "6.15): every namespace's table is read every second");
	else
		santa_log_errno(&d->log, LOG_WARNING, r, "Mounts: no mount notifications (%m): every "
				"namespace's table is read every second");
	mw_free(mw);
	return -EOPNOTSUPP;
}

/* A process santad has not seen a namespace of: follow its namespace. */
static void
scan_new(struct mount_watch *mw, long pid, ino_t *over, size_t *n_over, size_t over_max)
{
	char path[64];
	struct mntns *ns;
	struct stat st, again;
	size_t i;
	bool found;
	int fd, root_fd, r;

	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/root", pid);
	root_fd = open(path, O_PATH | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	/* The process may have moved meanwhile: its root must be of the namespace held. */
	if (root_fd < 0 || fstat(fd, &st) < 0 || stat(path, &again) < 0 || again.st_ino != st.st_ino) {
		close(fd);
		if (root_fd >= 0)
			close(root_fd);
		return;
	}
	i = ns_find(mw, st.st_ino, &found);
	if (found) {
		mw->ns[i]->seen = true;
		close(fd);
		close(root_fd);
		return;
	}
	if (mw->n_ns >= mw->max_ns + 1) {
		close(fd);
		close(root_fd);
		for (i = 0; i < *n_over && over[i] != st.st_ino; i++)
			;
		if (i == *n_over && *n_over < over_max)
			over[(*n_over)++] = st.st_ino;
		return;
	}
	r = ns_follow(mw, fd, root_fd, st.st_ino, (pid_t)pid, true, &ns);
	if (r < 0) {
		santa_log_errno(&mw->d->log, LOG_WARNING, r, "Cannot follow the mounts of namespace "
				"%s: %m", path);
		return;
	}
	ns_insert(mw, ns);
}

void
mounts_scan(struct santad *d)
{
	struct mount_watch *mw = d->fan->mw;
	ino_t over[1024];
	size_t n_over = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *proc;

	if (!mw)
		return;
	for (i = 0; i < mw->n_ns; i++)
		mw->ns[i]->seen = mw->ns[i]->pid == 0;
	proc = opendir("/proc");
	if (!proc)
		return;
	/* One stat per process: a namespace known already costs nothing more, whatever it holds. */
	while ((de = readdir(proc))) {
		char path[64], *end;
		long pid = strtol(de->d_name, &end, 10);
		bool found;

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
		if (stat(path, &st) < 0)
			continue;
		i = ns_find(mw, st.st_ino, &found);
		if (found) {
			mw->ns[i]->seen = true;
			if (mw->ns[i]->pid)
				mw->ns[i]->pid = (pid_t)pid;
			continue;
		}
		scan_new(mw, pid, over, &n_over, sizeof(over) / sizeof(over[0]));
	}
	closedir(proc);
	/* No process in it any more: let it go (a process entering it later makes it new again). */
	for (i = 0; i < mw->n_ns;) {
		if (mw->ns[i]->seen) {
			i++;
			continue;
		}
		if (mw->last == mw->ns[i])
			mw->last = NULL;
		ns_free(mw->ns[i]);
		memmove(&mw->ns[i], &mw->ns[i + 1], (mw->n_ns - i - 1) * sizeof(*mw->ns));
		mw->n_ns--;
	}
	if (n_over && !mw->cap_said)
		santa_log(&d->log, LOG_WARNING, "More than %zu other mount namespaces: the mounts of "
			  "%zu of them are not watched (santactl status counts them)", mw->max_ns,
			  n_over);
	mw->cap_said = n_over > 0;
	mw->not_followed = n_over;
	if (mw->detached) {
		mw->detached = false;
		fan_reconcile_watched(d);
	}
	d->fan->mount_namespaces = mw->n_ns;
}

void
mounts_stop(struct fan_client *fan)
{
	struct mount_watch *mw = fan->mw;

	mw_free(mw);
	fan->mw = NULL;
}

void
mounts_count_unmarked(struct fan_client *fan)
{
	if (fan->mw)
		fan->mw->unmarked++;
}

void
mounts_walk_room(struct fan_client *fan)
{
	struct mount_watch *mw = fan->mw;
	bool any = false;
	size_t i;

	if (!mw)
		return;
	for (i = 0; i < mw->n_ns; i++) {
		any |= mw->ns[i]->waiting;
		mw->ns[i]->waiting = false;
	}
	if (any)
		(void)sd_event_source_set_enabled(mw->lister, SD_EVENT_ON);
}

void
santad_mounts_status(const struct santad *d, struct ipc_value *b)
{
	const struct mount_watch *mw = d->fan->mw;
	struct ipc_value *m = ipc_dict_put_container(b, "mounts", IPC_DICT);

	ipc_dict_put_string(m, "learned_by", mw ? "events" : "scan");
	ipc_dict_put_int(m, "namespaces", (int64_t)d->fan->mount_namespaces);
	ipc_dict_put_int(m, "namespaces_max", mw ? (int64_t)mw->max_ns : MNTNS_MAX);
	ipc_dict_put_int(m, "namespaces_not_followed", mw ? (int64_t)mw->not_followed
							  : (int64_t)d->fan->mntns_overflow_said);
	/* Given up on, and those being looked for again (moved while a walk looked for them). */
	ipc_dict_put_int(m, "mounts_not_watched",
			 mw ? (int64_t)(mw->unmarked + fan_walks_retrying(d->fan)) : 0);
	ipc_dict_put_int(m, "mount_events", mw ? (int64_t)mw->events : 0);
	ipc_dict_put_int(m, "execs_uninspectable", (int64_t)d->fan->uninspectable);
	/* FUSE and overlay execs, read by their own thread (fuse_reader.c), and those its full queue denied. */
	ipc_dict_put_int(m, "fuse_exec_events", (int64_t)fan_fuse_events(d->fan));
	ipc_dict_put_int(m, "fuse_exec_queue_full", (int64_t)fan_fuse_queue_full(d->fan));
	ipc_dict_put_int(m, "fuse_exec_reader_held_ms", (int64_t)(fan_fuse_held_usec(d->fan) / 1000));
}
