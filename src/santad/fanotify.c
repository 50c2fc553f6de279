/*
 * The kernel side: one fanotify group of class FAN_CLASS_CONTENT asking for
 * FAN_OPEN_EXEC_PERM. Every permission event is answered exactly once; if
 * santad dies the kernel closes the group and allows whatever was waiting.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "santa/clock.h"
#include "santad.h"

#define FAN_READ_BUF (64 * 1024)

/* Filesystems that hold no executables worth deciding on, or cannot be marked. */
static const char *const pseudo_fs[] = {
	"proc",     "sysfs",    "devtmpfs", "devpts",   "cgroup",    "cgroup2",  "pstore",
	"bpf",      "tracefs",  "debugfs",  "securityfs", "mqueue",  "hugetlbfs", "configfs",
	"fusectl",  "autofs",   "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs",  "selinuxfs",
	"fuse.gvfsd-fuse", "ramfs", NULL,
};

static bool
is_pseudo(const char *fstype)
{
	size_t i;

	for (i = 0; pseudo_fs[i]; i++)
		if (strcmp(fstype, pseudo_fs[i]) == 0)
			return true;
	return false;
}

int
fan_respond(int fan_fd, int fd, enum santa_verdict verdict)
{
	struct fanotify_response resp = {
		.fd = fd,
		.response = verdict == SANTA_VERDICT_DENY ? FAN_DENY : FAN_ALLOW,
	};

	if (write(fan_fd, &resp, sizeof(resp)) != sizeof(resp))
		return -errno;
	return 0;
}

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400
#endif

int
fan_ignore_mark(int group_fd, int fd, uint64_t mask)
{
	if (fanotify_mark(group_fd, FAN_MARK_ADD | FAN_MARK_IGNORE | FAN_MARK_EVICTABLE, mask, fd,
			  NULL) < 0)
		return -errno;
	return 0;
}

/* The file's ignore marks go (both groups): the next exec and loader open of it are asked about. */
void
fan_unignore_file(struct fan_client *fan, int fd)
{
	(void)fanotify_mark(fan->fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE, FAN_OPEN_EXEC_PERM, fd, NULL);
	if (fan->open_fd >= 0)
		(void)fanotify_mark(fan->open_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE, FAN_OPEN_PERM, fd,
				    NULL);
}

int
fan_ignore_file(struct fan_client *fan, int fd)
{
	int r;

	/*
	 * An ignore mark on the inode: the next exec of this file never leaves
	 * the kernel. The kernel drops the mark when the file is modified (no
	 * FAN_MARK_IGNORED_SURV_MODIFY) and may evict it under memory pressure,
	 * which only costs a cache hit in santad. Writes through a shared mmap
	 * do not count as modifications: why only files no one but root may
	 * write get one. An allowed exec is an allowed loader program too, so
	 * the loader check's group stops asking about its opens as well.
	 */
	r = fan_ignore_mark(fan->fd, fd, FAN_OPEN_EXEC_PERM);
	if (r == 0 && fan->open_fd >= 0)
		r = fan_ignore_mark(fan->open_fd, fd, FAN_OPEN_PERM);
	return r;
}

int
fan_flush_ignore_marks(struct fan_client *fan)
{
	/* Without MOUNT or FILESYSTEM, FAN_MARK_FLUSH removes inode marks: ours are all ignores. */
	if (fanotify_mark(fan->fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
		return -errno;
	if (fan->open_fd >= 0 && fanotify_mark(fan->open_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * Records what was marked, under a key naming the mount ("mnt:ID") or the
 * filesystem ("dev:MAJ:MIN"), for santactl status and the groups that mark
 * the same filesystems later. Whether something is marked is not decided
 * from this list but from the kernel's (kernel_marks): device numbers are
 * reused, and a filesystem mounted where another just went may carry the
 * number of one marked before. A failed mark is recorded too (path NULL) so
 * it is retried only every MARK_RETRY_USEC, not logged at every sync.
 */
bool
fan_key_dev(const char *key, unsigned int *major, unsigned int *minor)
{
	return sscanf(key, "dev:%u:%u", major, minor) == 2;
}

static struct watched *
find_watched(struct fan_client *fan, const char *key)
{
	size_t i;

	for (i = 0; i < fan->n_watched; i++)
		if (strcmp(fan->watched[i].key, key) == 0)
			return &fan->watched[i];
	return NULL;
}

static void
add_watched(struct fan_client *fan, const char *key, const char *path)
{
	struct watched *w = find_watched(fan, key);

	if (w) {
		free(w->path);
		w->path = path ? strdup(path) : NULL;
		w->failed_usec = path ? 0 : santa_mono_usec();
		w->seen = true;
		return;
	}
	if (fan->n_watched >= FAN_MAX_MARKS)
		return;
	w = realloc(fan->watched, (fan->n_watched + 1) * sizeof(*w));
	if (!w)
		return;
	fan->watched = w;
	w = &fan->watched[fan->n_watched];
	snprintf(w->key, sizeof(w->key), "%s", key);
	w->path = path ? strdup(path) : NULL;
	w->failed_usec = path ? 0 : santa_mono_usec();
	w->seen = true;
	fan->n_watched++;
}

/*
 * The filesystems and mounts the kernel has marked for one of our groups,
 * from /proc/self/fdinfo: the truth, since a mark goes away with its
 * filesystem. Read from a group that holds no inode (ignore) marks, so the
 * list stays as short as the list of filesystems.
 */
struct kernel_marks {
	unsigned int *sdev; /* kernel dev_t: major << 20 | minor */
	size_t n_sdev;
	unsigned int *mnt;  /* mount ids */
	size_t n_mnt;
};

static int
kernel_marks_read(int group_fd, struct kernel_marks *km)
{
	char path[64], line[512];
	unsigned int v;
	FILE *f;

	memset(km, 0, sizeof(*km));
	km->sdev = calloc(FAN_MAX_MARKS, sizeof(*km->sdev));
	km->mnt = calloc(FAN_MAX_MARKS, sizeof(*km->mnt));
	if (!km->sdev || !km->mnt)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", group_fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "fanotify sdev:%x", &v) == 1 && km->n_sdev < FAN_MAX_MARKS)
			km->sdev[km->n_sdev++] = v;
		else if (sscanf(line, "fanotify mnt_id:%x", &v) == 1 && km->n_mnt < FAN_MAX_MARKS)
			km->mnt[km->n_mnt++] = v;
	}
	fclose(f);
	return 0;
}

static bool
kernel_marks_has(unsigned int *set, size_t n, unsigned int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

static void
kernel_marks_free(struct kernel_marks *km)
{
	free(km->sdev);
	free(km->mnt);
}

/* Marks path in every group; a failure is recorded (not retried) only if record_failure. */
static int
mark(struct santad *d, const char *path, unsigned int how, const char *key, bool record_failure)
{
	struct statfs sfs;

	if (fanotify_mark(d->fan.fd, FAN_MARK_ADD | how, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) < 0) {
		int r = -errno;

		if (!record_failure)
			return r;
		santa_log_errno(&d->log, LOG_ERR, r, "Failed to watch %s: %m", path);
		add_watched(&d->fan, key, NULL);
		return r;
	}
	/* The notification group sees the same execs, including those the kernel no longer asks about. */
	/* With EventLogType null there is nothing to log: a mark that reports nothing (see start). */
	if (d->fan.notify_fd >= 0 &&
	    fanotify_mark(d->fan.notify_fd, FAN_MARK_ADD | how |
			  (d->fan.notify_logs ? 0 : FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY),
			  FAN_OPEN_EXEC, AT_FDCWD, path) < 0)
		santa_log_errno(&d->log, LOG_WARNING, -errno,
				"Failed to log execs of %s that need no decision: %m", path);
	/*
	 * Not an overlay in the loader check's group: opening an overlay file
	 * opens its backing file, and the kernel reports that open too (a
	 * permission event, on the filesystem below, which this group watches).
	 * When the loader thread itself opened the overlay file (reading an
	 * event), that second event waited for the very thread that raised it:
	 * a user's overlay hung the thread and every later open on the
	 * filesystem below. The backing file's own event still reaches the
	 * check, so nothing is missed (tests/adversarial/overlay.sh).
	 */
	if (d->fan.open_fd >= 0 && !(statfs(path, &sfs) == 0 && sfs.f_type == OVERLAYFS_SUPER_MAGIC) &&
	    fanotify_mark(d->fan.open_fd, FAN_MARK_ADD | how, FAN_OPEN_PERM, AT_FDCWD, path) < 0)
		santa_log_errno(&d->log, LOG_WARNING, -errno,
				"Failed to watch %s for `ld.so PROGRAM`: %m", path);
	santa_log(&d->log, LOG_INFO, "watching %s (%s)", path,
		  how == FAN_MARK_MOUNT ? "mount" : "filesystem");
	add_watched(&d->fan, key, path);
	{
		unsigned int major, minor;

		if (fan_key_dev(key, &major, &minor))
			santad_anon_exec_marked(d, major, minor, true);
	}
	return 0;
}

/* True when mountpoint is path or lies below it. */
static bool
under(const char *mountpoint, const char *path)
{
	size_t n = strlen(path);

	if (strcmp(path, "/") == 0)
		return true;
	return strncmp(mountpoint, path, n) == 0 && (mountpoint[n] == '\0' || mountpoint[n] == '/');
}

/*
 * One mount table: marks each local filesystem it lists that is not marked
 * yet (once per superblock: FAN_MARK_FILESYSTEM covers all its mounts and
 * bind mounts) or, with WatchPaths, the mounts at or below those paths, and
 * flags each as still there. prefix reaches the mount points of another
 * mount namespace ("/proc/PID/root"); a mark that fails there is not
 * recorded, since the process may just have gone: it is tried again.
 */
/*
 * mountinfo writes a space, tab, newline or backslash in a path as \ooo
 * (octal): turned back into the byte in place. Any user may mount (in a
 * user namespace) on a path with a space in it; such a filesystem must be
 * marked like any other.
 */
static void
unescape_mountinfo(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static int
sync_table(struct santad *d, struct kernel_marks *km, const char *mountinfo, const char *prefix,
	   pid_t ns_pid)
{
	char line[4 * PATH_MAX + 1024], mountpoint[4 * PATH_MAX], path[PATH_MAX], fstype[64], key[32];
	unsigned int major, minor, mount_id;
	bool by_mount = d->cfg.watch_mark_mount, wanted;
	struct watched *w;
	int marked = 0, n;
	size_t i;
	FILE *f;

	f = fopen(mountinfo, "re");
	if (!f)
		return ns_pid ? 0 : santa_log_errno(&d->log, LOG_ERR, -errno,
						     "Failed to read %s: %m", mountinfo);
	while (fgets(line, sizeof(line), f)) {
		char *sep;

		/* id parent major:minor root mountpoint options ... - fstype source ... */
		if (sscanf(line, "%u %*u %u:%u %*s %16383s", &mount_id, &major, &minor, mountpoint) != 4)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || is_pseudo(fstype))
			continue;
		unescape_mountinfo(mountpoint);
		wanted = d->cfg.watch_paths.n == 0;
		for (i = 0; !wanted && i < d->cfg.watch_paths.n; i++)
			wanted = under(mountpoint, d->cfg.watch_paths.items[i]);
		if (!wanted)
			continue;
		if (by_mount && d->cfg.watch_paths.n)
			snprintf(key, sizeof(key), "mnt:%llu", (unsigned long long)mount_id);
		else
			snprintf(key, sizeof(key), "dev:%u:%u", major, minor);
		w = find_watched(&d->fan, key);
		n = snprintf(path, sizeof(path), "%s%s", prefix, mountpoint);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (by_mount && d->cfg.watch_paths.n ? kernel_marks_has(km->mnt, km->n_mnt, mount_id)
						      : kernel_marks_has(km->sdev, km->n_sdev,
									 major << 20 | minor)) {
			if (w && w->path)
				w->seen = true;
			else
				add_watched(&d->fan, key, path);
			continue;
		}
		if (w && !w->path && santa_mono_usec() - w->failed_usec < MARK_RETRY_USEC) {
			w->seen = true;
			continue;
		}
		/* Another namespace's mount: a failure may be a process that just left. */
		if (mark(d, path, by_mount && d->cfg.watch_paths.n ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM,
			 key, ns_pid == 0) == 0) {
			marked++;
			if (by_mount && d->cfg.watch_paths.n) {
				if (km->n_mnt < FAN_MAX_MARKS)
					km->mnt[km->n_mnt++] = mount_id;
			} else if (km->n_sdev < FAN_MAX_MARKS) {
				km->sdev[km->n_sdev++] = major << 20 | minor;
			}
		}
	}
	fclose(f);
	return marked;
}

/*
 * Filesystems mounted in other mount namespaces: a user namespace lets any
 * user mount a tmpfs (or an overlay, a FUSE filesystem) that santad's own
 * mount table never shows. Each distinct namespace's table is read (through
 * one of its processes) on every sync, at most MNTNS_MAX of them. WatchPaths
 * apply as in santad's own: to mount points at or below them, as that
 * namespace names them.
 */
static int
sync_other_namespaces(struct santad *d, struct kernel_marks *km)
{
	ino_t seen[MNTNS_MAX], self_ns;
	char mountinfo[64], prefix[64], ns[64];
	struct dirent *de;
	struct stat st;
	size_t n_seen = 0, i;
	int marked = 0;
	DIR *proc;

	if (stat("/proc/self/ns/mnt", &st) < 0)
		return 0;
	self_ns = st.st_ino;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0)
			continue;
		snprintf(ns, sizeof(ns), "/proc/%ld/ns/mnt", pid);
		if (stat(ns, &st) < 0 || st.st_ino == self_ns)
			continue;
		for (i = 0; i < n_seen && seen[i] != st.st_ino; i++)
			;
		if (i < n_seen)
			continue;
		if (n_seen == MNTNS_MAX) {
			if (!d->fan.mntns_overflow_said)
				santa_log(&d->log, LOG_WARNING, "More than %d mount namespaces: the "
					  "filesystems of the others are not looked for", MNTNS_MAX);
			d->fan.mntns_overflow_said = true;
			break;
		}
		seen[n_seen++] = st.st_ino;
		snprintf(mountinfo, sizeof(mountinfo), "/proc/%ld/mountinfo", pid);
		snprintf(prefix, sizeof(prefix), "/proc/%ld/root", pid);
		marked += sync_table(d, km, mountinfo, prefix, (pid_t)pid);
	}
	closedir(proc);
	d->fan.mount_namespaces = n_seen + 1;
	return marked;
}

/*
 * Marks what the mount tables list and is not marked yet: santad's own and
 * every other mount namespace's. Runs at start, when
 * santad's mount table changes, and every MNTNS_SCAN_USEC for the others, so
 * a filesystem mounted after santad started is watched too. Returns how many
 * were marked.
 */
int
fan_sync_marks(struct santad *d)
{
	struct kernel_marks km;
	struct watched *w;
	int marked, r;
	size_t i;

	/* Without a notification group, the exec group holds no ignore marks either. */
	r = kernel_marks_read(d->fan.notify_fd >= 0 ? d->fan.notify_fd : d->fan.fd, &km);
	if (r < 0) {
		kernel_marks_free(&km);
		return santa_log_errno(&d->log, LOG_ERR, r, "Cannot list fanotify marks: %m");
	}
	for (i = 0; i < d->fan.n_watched; i++)
		d->fan.watched[i].seen = false;
	r = sync_table(d, &km, "/proc/self/mountinfo", "", 0);
	if (r < 0) {
		kernel_marks_free(&km);
		return r;
	}
	marked = r;
	marked += sync_other_namespaces(d, &km);
	kernel_marks_free(&km);
	/* In no mount table any more: the kernel dropped their marks with them. */
	for (i = 0; i < d->fan.n_watched;) {
		w = &d->fan.watched[i];
		if (w->seen) {
			i++;
			continue;
		}
		if (w->path) {
			unsigned int major, minor;

			santa_log(&d->log, LOG_INFO, "no longer watching %s (unmounted)", w->path);
			if (fan_key_dev(w->key, &major, &minor))
				santad_anon_exec_marked(d, major, minor, false);
		}
		free(w->path);
		d->fan.watched[i] = d->fan.watched[--d->fan.n_watched];
	}
	return marked;
}

static int
on_namespace_scan(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;

	(void)fan_sync_marks(d);
	(void)sd_event_source_set_time_relative(s, MNTNS_SCAN_USEC);
	(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

/* The mount table changed (POLLPRI on mountinfo): watch what is new. */
static int
on_mounts_changed(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;

	fan_sync_marks(d);
	return 0;
}

/*
 * Reads one batch of events from a fanotify group and hands each to handle,
 * which owns the event's fd from then on. Events of an unknown metadata
 * version are answered (allow, so nothing hangs on us) and dropped.
 */
static size_t
read_events(struct santad *d, int fd, void (*handle)(struct santad *, int, pid_t, uint64_t))
{
	char buf[FAN_READ_BUF] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct fanotify_event_metadata *m;
	size_t n = 0;
	ssize_t len;

	len = read(fd, buf, sizeof(buf));
	if (len <= 0)
		return 0;
	for (m = (struct fanotify_event_metadata *)buf; FAN_EVENT_OK(m, len);
	     m = FAN_EVENT_NEXT(m, len)) {
		n++;
		if (m->fd < 0) {
			/* FAN_Q_OVERFLOW: nothing to answer, but events were lost (only the notification group's queue is bounded). */
			if (m->mask & FAN_Q_OVERFLOW)
				santad_notifications_lost(d);
			continue;
		}
		if (m->vers != FANOTIFY_METADATA_VERSION) {
			santa_log(&d->log, LOG_ERR, "fanotify metadata version %u, expected %u",
				  m->vers, FANOTIFY_METADATA_VERSION);
			if (m->mask & FAN_OPEN_EXEC_PERM)
				fan_respond(d->fan.fd, m->fd, SANTA_VERDICT_ALLOW);
			close(m->fd);
			continue;
		}
		handle(d, m->fd, m->pid, m->mask);
	}
	return n;
}

static void
handle_permission(struct santad *d, int fd, pid_t pid, uint64_t mask)
{
	if (mask & FAN_OPEN_EXEC_PERM)
		santad_handle_exec(d, fd, pid, d->fan.fd);
	else
		close(fd);
}

/* FAN_OPEN_EXEC on the notification group: an exec that happened (it was allowed). */
static void
handle_notification(struct santad *d, int fd, pid_t pid, uint64_t mask)
{
	if (mask & FAN_OPEN_EXEC)
		santad_handle_exec_done(d, fd, pid); /* takes fd */
	else
		close(fd);
}

static int
on_notify_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;

	santad_retry_exec_done(d); /* held back by the last batch: their execs are done by now */
	sd_event_source_set_enabled(d->fan.notify_io, SD_EVENT_ON);
	return 0;
}

/*
 * Exec notifications are only logged, never answered: they are read in
 * batches, at most every NOTIFY_COALESCE_USEC, rather than with a wakeup per
 * exec. Waking once per exec costs santad less CPU when execs are rare, but
 * in a storm every wakeup takes a CPU from the execs themselves (measured:
 * +8 % on bench/exec_storm.sh against a few percent with batches). Batches
 * need the BPF exec info (exec_info.c): by the time a batch is read, a
 * short-lived process has left /proc. Without it (no notify_pause) every
 * notification is read at once, while the process most likely still exists.
 */
static int
on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;

	read_events(d, fd, handle_notification);
	if (d->fan.notify_pause &&
	    sd_event_source_set_time_relative(d->fan.notify_pause, NOTIFY_COALESCE_USEC) >= 0 &&
	    sd_event_source_set_enabled(d->fan.notify_pause, SD_EVENT_ONESHOT) >= 0)
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return 0;
}

static int
on_fanotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	read_events(userdata, fd, handle_permission);
	return 0;
}

size_t
santad_watched_count(const struct fan_client *fan)
{
	size_t i, n = 0;

	for (i = 0; i < fan->n_watched; i++)
		n += fan->watched[i].path != NULL;
	return n;
}

int
fan_client_start(struct santad *d)
{
	struct fan_client *fan = &d->fan;
	bool by_mount = false;
	size_t i;
	int r;

	/*
	 * The fd each event brings is opened by the kernel on santad's behalf,
	 * O_NONBLOCK: a user's write lease on the file (or a FIFO) would
	 * otherwise hold santad's reader inside read() until the lease is let
	 * go (up to lease-break-time, 45 s), and every open and exec waiting
	 * behind it. Nonblocking, the kernel cannot make that fd: it denies the
	 * permission event (the leaseholder's own open or exec) and drops a
	 * notification.
	 */
	fan->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
				O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
	if (fan->fd < 0) {
		r = -errno;
		if (r == -EPERM)
			return santa_log_errno(&d->log, LOG_ERR, r,
					       "santad must run as root (CAP_SYS_ADMIN) to use fanotify");
		if (r == -EINVAL || r == -ENOSYS)
			return santa_log_errno(&d->log, LOG_ERR, r,
					       "This kernel lacks fanotify permission events "
					       "(CONFIG_FANOTIFY_ACCESS_PERMISSIONS): %m");
		return santa_log_errno(&d->log, LOG_ERR, r, "fanotify_init failed: %m");
	}
	/*
	 * With kernel ignore marks the permission group stops seeing repeated
	 * execs of allowed files; a notification group still sees them, so that
	 * santa.log keeps a line per exec as on Santa. It never blocks anything.
	 * With EventLogType null nothing is logged: its marks then carry only an
	 * ignored mask and report nothing, and it stays only as the group whose
	 * fdinfo lists the marked filesystems (kernel_marks: no inode marks there).
	 */
	fan->notify_fd = -1;
	fan->notify_logs = d->cfg.event_log_type != SANTA_EVENT_LOG_NULL;
	if (d->cfg.enable_kernel_ignore_marks) {
		fan->notify_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
					       O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
		if (fan->notify_fd < 0)
			santa_log_errno(&d->log, LOG_WARNING, -errno,
					"No notification group (%m): repeated allowed execs will not be logged");
		else if (fan->notify_logs)
			(void)sd_event_add_io(d->event, &fan->notify_io, fan->notify_fd, EPOLLIN,
					      on_notify, d);
		/* Batches only where the BPF program keeps who exec'd (see on_notify). */
		if (fan->notify_io && santad_exec_info_active(d) &&
		    sd_event_add_time_relative(d->event, &fan->notify_pause, CLOCK_MONOTONIC,
					       NOTIFY_COALESCE_USEC, 1000, on_notify_resume, d) >= 0)
			sd_event_source_set_enabled(fan->notify_pause, SD_EVENT_OFF);
	}
	/*
	 * The loader check's group, and its reader thread, before any mark:
	 * from the first mark on, every open there waits for that thread.
	 */
	fan->open_fd = -1;
	if (d->cfg.enable_loader_check) {
		fan->open_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
						     FAN_UNLIMITED_QUEUE,
					     O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
		if (fan->open_fd < 0)
			santa_log_errno(&d->log, LOG_WARNING, -errno,
					"No loader check (%m): `ld.so PROGRAM` is not decided");
	}
	if (santad_loader_start(d) < 0 && fan->open_fd >= 0) {
		close(fan->open_fd);
		fan->open_fd = -1;
	}
	by_mount = d->cfg.watch_mark_mount;
	/* A watched path that is not itself a mount point: mark what holds it. */
	for (i = 0; i < d->cfg.watch_paths.n; i++) {
		const char *path = d->cfg.watch_paths.items[i];
		struct statx stx;
		char key[32];

		if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &stx) < 0)
			return santa_log_errno(&d->log, LOG_ERR, -errno, "Cannot watch %s: %m", path);
		if (by_mount)
			snprintf(key, sizeof(key), "mnt:%llu", (unsigned long long)stx.stx_mnt_id);
		else
			snprintf(key, sizeof(key), "dev:%u:%u", stx.stx_dev_major, stx.stx_dev_minor);
		if (find_watched(fan, key))
			continue;
		r = mark(d, path, by_mount ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM, key, true);
		if (r < 0)
			return r;
	}
	r = fan_sync_marks(d);
	if (r < 0)
		return r;
	if (santad_watched_count(fan) == 0)
		return santa_log_errno(&d->log, LOG_ERR, -ENOENT, "Nothing to watch: no local "
				       "filesystem found in /proc/self/mountinfo");
	(void)sd_event_add_time_relative(d->event, &fan->mntns_scan, CLOCK_MONOTONIC,
					 MNTNS_SCAN_USEC, 100000, on_namespace_scan, d);
	fan->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fan->mountinfo_fd >= 0)
		(void)sd_event_add_io(d->event, &fan->mounts, fan->mountinfo_fd, EPOLLPRI,
				      on_mounts_changed, d);
	return sd_event_add_io(d->event, &fan->io, fan->fd, EPOLLIN, on_fanotify, d);
}

void
fan_client_stop(struct fan_client *fan)
{
	size_t i;

	sd_event_source_disable_unref(fan->io);
	fan->io = NULL;
	sd_event_source_disable_unref(fan->mounts);
	fan->mounts = NULL;
	fan->mntns_scan = sd_event_source_disable_unref(fan->mntns_scan);
	sd_event_source_disable_unref(fan->notify_io);
	fan->notify_io = NULL;
	fan->notify_pause = sd_event_source_disable_unref(fan->notify_pause);
	if (fan->open_fd >= 0)
		close(fan->open_fd); /* after santad_loader_stop: the kernel allows what waits */
	fan->open_fd = -1;
	if (fan->notify_fd >= 0)
		close(fan->notify_fd);
	fan->notify_fd = -1;
	if (fan->mountinfo_fd >= 0)
		close(fan->mountinfo_fd);
	fan->mountinfo_fd = -1;

	if (fan->fd >= 0)
		close(fan->fd); /* the kernel allows every event still waiting */
	fan->fd = -1;
	for (i = 0; i < fan->n_watched; i++)
		free(fan->watched[i].path);
	free(fan->watched);
	fan->watched = NULL;
	fan->n_watched = 0;
}
