/*
 * The kernel side: one fanotify group of class FAN_CLASS_CONTENT asking for
 * FAN_OPEN_EXEC_PERM. Every permission event is answered exactly once; if
 * santad dies the kernel closes the group and allows whatever was waiting.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/securebits.h>
#include <unistd.h>

#include "santa/clock.h"
#include "santa/path.h"
#include "mounts.h"
#include "santad.h"
#include "exec_info.h"
#include "fanotify.h"
#include "fuse_reader.h"
#include "fan_client.h"

#define FAN_READ_BUF (64 * 1024)
/*
 * Permission events are read a few at a time: every one read is handled
 * before the loop does anything else (the workers' completions, root's
 * santactl, the watchdog ping), and a user's flood of execs keeps the queue
 * full. 4 KiB is about 170 events: under such a flood beside two CPU hogs a
 * 64 KiB read took the loop 2-3 s to work through, and in a virtual machine
 * without hardware acceleration long enough for systemd's watchdog to kill
 * santad (and the kernel to let every waiting exec through).
 */
#define FAN_PERM_READ_BYTES 4096

/*
 * Another namespace's mount (named through /proc): at most one "Failed to
 * watch" line a second, the next saying how many were not written. 1,000
 * bind mounts stacked in a user's namespace (EBUSY each) wrote 22,813 lines;
 * santactl status counts them all (Mounts Not Watched). santad's own mounts
 * are each said.
 */
static void
log_mark_failure(struct santad *d, int err, const char *what)
{
	uint64_t held = 0;
	bool shared;

	if (strncmp(what, "/proc/", 6) == 0 &&
	    !santa_ratelimit_pass(&d->fan->mark_failures, 0, santa_mono_usec(), &held, &shared))
		return;
	if (held)
		santa_log_errno(&d->log, LOG_ERR, err, "Failed to watch %s: %m (and %llu more "
				"since the last such line)", what, (unsigned long long)held);
	else
		santa_log_errno(&d->log, LOG_ERR, err, "Failed to watch %s: %m", what);
}

/*
 * Filesystems on which no user can place a program of their choosing: the
 * kernel's own (fixed contents, devices, pipes) and root-only ones. Not
 * ramfs, which any user may mount in a user namespace, nor any FUSE type:
 * the mounter picks a FUSE subtype's name ("fuse.gvfsd-fuse" included).
 */
static const char *const pseudo_fs[] = {
	"proc",     "sysfs",    "devtmpfs", "devpts",   "cgroup",    "cgroup2",  "pstore",
	"bpf",      "tracefs",  "debugfs",  "securityfs", "mqueue",  "hugetlbfs", "configfs",
	"fusectl",  "autofs",   "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs",  "selinuxfs",
	NULL,
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

/* The file's ignore marks go (every group): the next exec and loader open of it are asked about. */
void
fan_unignore_file(struct fan_client *fan, int fd)
{
	(void)fanotify_mark(fan->fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE, FAN_OPEN_EXEC_PERM, fd, NULL);
	if (fan->fuse_fd >= 0)
		(void)fanotify_mark(fan->fuse_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE,
				    FAN_OPEN_EXEC_PERM, fd, NULL);
	if (fan->open_fd >= 0)
		(void)fanotify_mark(fan->open_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE, FAN_OPEN_PERM, fd,
				    NULL);
}

int
fan_ignore_file(struct fan_client *fan, int fd)
{
	struct stat st;
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
	/*
	 * FUSE and overlay filesystems (the FUSE group's) have anonymous
	 * devices (major 0): no fstatfs to tell, which a FUSE server answers.
	 */
	if (r == 0 && fan->fuse_fd >= 0 && fstat(fd, &st) == 0 && major(st.st_dev) == 0)
		r = fan_ignore_mark(fan->fuse_fd, fd, FAN_OPEN_EXEC_PERM);
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
	if (fan->fuse_fd >= 0 && fanotify_mark(fan->fuse_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL) < 0)
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

bool
kernel_marks_add(unsigned int **set, size_t *n, size_t *cap, unsigned int v)
{
	unsigned int *grown;
	size_t want;

	if (*n == *cap) {
		if (*cap >= KERNEL_MARKS_MAX)
			return false;
		want = *cap ? *cap * 2 : 256;
		grown = realloc(*set, want * sizeof(**set));
		if (!grown)
			return false;
		*set = grown;
		*cap = want;
	}
	(*set)[(*n)++] = v;
	return true;
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/*
 * Read from a group that holds no inode (ignore) marks, so the list stays as
 * short as the list of filesystems (or, with mount marks, of mounts: a
 * user's bind mounts make it long, hence sorted for a binary search).
 */
static int
kernel_marks_read(const int *group_fds, size_t n_fds, struct kernel_marks *km)
{
	char path[64], line[512];
	unsigned int v;
	FILE *f;

	memset(km, 0, sizeof(*km));
	for (size_t i = 0; i < n_fds; i++) {
		if (group_fds[i] < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", group_fds[i]);
		f = fopen(path, "re");
		if (!f) {
			kernel_marks_free(km);
			return -errno;
		}
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "fanotify sdev:%x", &v) == 1)
				(void)kernel_marks_add(&km->sdev, &km->n_sdev, &km->cap_sdev, v);
			else if (sscanf(line, "fanotify mnt_id:%x", &v) == 1)
				(void)kernel_marks_add(&km->mnt, &km->n_mnt, &km->cap_mnt, v);
		}
		fclose(f);
	}
	if (km->n_sdev)
		qsort(km->sdev, km->n_sdev, sizeof(*km->sdev), cmp_uint);
	if (km->n_mnt)
		qsort(km->mnt, km->n_mnt, sizeof(*km->mnt), cmp_uint);
	km->sorted_sdev = km->n_sdev;
	km->sorted_mnt = km->n_mnt;
	return 0;
}

/* The sorted part by a binary search, the few added since one by one. */
static bool
kernel_marks_has(const unsigned int *set, size_t n, size_t sorted, unsigned int v)
{
	size_t i;

	if (sorted && bsearch(&v, set, sorted, sizeof(*set), cmp_uint))
		return true;
	for (i = sorted; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

void
kernel_marks_free(struct kernel_marks *km)
{
	free(km->sdev);
	free(km->mnt);
}

int
fan_kernel_marks_read(const struct fan_client *fan, struct kernel_marks *km)
{
	/* Without a notification group, the exec groups hold no ignore marks either. */
	int fds[2] = { fan->notify_fd, -1 };

	if (fan->notify_fd < 0) {
		fds[0] = fan->fd;
		fds[1] = fan->fuse_fd;
	}
	return kernel_marks_read(fds, 2, km);
}

/*
 * The fanotify_mark calls of one mark, in every group, on path: what a
 * forked child may run too (system calls only). Returns 0 or the exec
 * group's -errno; *other_failed says a later group refused (1: the
 * notification group, 2: the loader check's). no_loader_check: FUSE or
 * overlay, whose execs go to the FUSE group (fuse_reader.c: the kernel's
 * open of the file for the event may wait for a user's server), not to the
 * loop's.
 */
static int
mark_groups(const struct fan_client *fan, const char *path, unsigned int how, bool no_loader_check,
	    bool notify_logs, int *other_failed)
{
	int exec_fd = no_loader_check && fan->fuse_fd >= 0 ? fan->fuse_fd : fan->fd;

	*other_failed = 0;
	if (fanotify_mark(exec_fd, FAN_MARK_ADD | how, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) < 0)
		return -errno;
	/* The notification group sees the same execs, including those the kernel no longer asks about. */
	/* With EventLogType null there is nothing to log: a mark that reports nothing (see start). */
	if (fan->notify_fd >= 0 &&
	    fanotify_mark(fan->notify_fd, FAN_MARK_ADD | how |
			  (notify_logs ? 0 : FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY),
			  FAN_OPEN_EXEC, AT_FDCWD, path) < 0)
		*other_failed = 1;
	/*
	 * Not an overlay in the loader check's group: opening an overlay file
	 * opens its backing file, and the kernel reports that open too (a
	 * permission event, on the filesystem below, which this group watches).
	 * When the loader thread itself opened the overlay file (reading an
	 * event), that second event waited for the very thread that raised it:
	 * a user's overlay hung the thread and every later open on the
	 * filesystem below. The backing file's own event still reaches the
	 * check, so nothing is missed (tests/adversarial/overlay.sh). Nor a
	 * FUSE filesystem: the kernel opens the file for the event's fd by
	 * asking the FUSE server, whose own open of the file it serves from
	 * waits for that same thread (a user's bindfs over a watched
	 * filesystem hung it: tests/adversarial/mounts.sh). There the check
	 * is blind: `ld.so PROGRAM` on a FUSE filesystem is not decided.
	 */
	if (fan->open_fd >= 0 && !no_loader_check &&
	    fanotify_mark(fan->open_fd, FAN_MARK_ADD | how, FAN_OPEN_PERM, AT_FDCWD, path) < 0)
		*other_failed = 2;
	return 0;
}

/*
 * A forked child of santad: single-threaded, so it may change its own
 * credentials and namespaces without touching santad's; it runs system
 * calls only (santad's other threads may hold locks it would need), and
 * tells its result, a number (value) and at most one fd, over sock.
 */
static _Noreturn void
child_reply_value(int sock, int result, unsigned int value, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	unsigned int msg_body[2] = { (unsigned int)result, value };
	struct iovec iov = { .iov_base = msg_body, .iov_len = sizeof(msg_body) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)sendmsg(sock, &msg, MSG_NOSIGNAL);
	_exit(0);
}

static _Noreturn void
child_reply(int sock, int result, int fd)
{
	child_reply_value(sock, result, 0, fd);
}

/*
 * Forks a child that runs fn(arg, its end of a socket) and tells its
 * answer on that socket: returns the child's pid, *sock the loop's end; or
 * -errno.
 */
static pid_t
child_start(void (*fn)(const void *arg, int sock), const void *arg, int *sock)
{
	int sv[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		/*
		 * Not dumpable: whoever may signal the child (the owner whose
		 * uids it takes, root of the user namespace it enters) still
		 * may not ptrace it, nor reach the fds it inherited from santad
		 * through /proc: the fanotify groups among them.
		 */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			child_reply(sv[1], -errno, -1);
		fn(arg, sv[1]);
		_exit(0);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

/*
 * A child's answer, read from sock without waiting: its result, in *value
 * (when given) its number, and in *fd_out (when given) the fd it sent, or
 * -1. -EIO: it died without one (killed: the owner whose uids it had may
 * signal it).
 */
static int
child_answer(int sock, int *fd_out, unsigned int *value)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	unsigned int msg_body[2] = { (unsigned int)-EIO, 0 };
	int result;
	struct iovec iov = { .iov_base = msg_body, .iov_len = sizeof(msg_body) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	if (fd_out)
		*fd_out = -1;
	n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	result = n == sizeof(msg_body) ? (int)msg_body[0] : -EIO;
	if (value)
		*value = msg_body[1];
	for (c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c; c = CMSG_NXTHDR(&msg, c)) {
		int fd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (fd_out && *fd_out < 0)
			*fd_out = fd;
		else
			close(fd);
	}
	return result;
}

/*
 * Runs fn in a forked child and waits for its answer at most
 * MOUNT_CHILD_USEC: a FUSE server the child must talk to may never answer,
 * and the child is then killed. Returns fn's result, or -ETIMEDOUT. Blocks
 * santad's loop for that long at most: only for a path root configured
 * (WatchPaths, at start); the mounts users make are marked by children the
 * loop does not wait for (mark_walk).
 */
static int
child_run(void (*fn)(const void *arg, int sock), const void *arg)
{
	struct pollfd pfd;
	int sock = -1, result, r;
	pid_t pid;

	pid = child_start(fn, arg, &sock);
	if (pid < 0)
		return pid;
	pfd = (struct pollfd){ .fd = sock, .events = POLLIN };
	r = poll(&pfd, 1, MOUNT_CHILD_USEC / 1000);
	if (r <= 0) {
		(void)kill(pid, SIGKILL);
		result = -ETIMEDOUT;
	} else {
		result = child_answer(sock, NULL, NULL);
	}
	close(sock);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return result;
}

/* A marking child's result besides 0 / -errno (with what mark_groups said of the other groups: 1, 2). */
#define WALK_AS_OWNER 0x10  /* marked with the FUSE mount's owner's uids */
#define WALK_COVERED 0x100  /* the path leads to another filesystem (mount): covered */
#define WALK_IN_CHILD 0x1000 /* (walk_reached) a child marks it */

struct as_mounter {
	const struct fan_client *fan;
	const char *path;
	unsigned int how;
	bool no_loader_check, notify_logs;
	bool root_first; /* try as root first; then as the owner only with has_owner */
	bool has_owner;
	uid_t uid;
	gid_t gid;
	int ns_fd; /* the mount's namespace (uid and gid are ids of its user namespace), or -1 */
};

/*
 * FUSE lets no one but the mounter (all of whose uids and gids must match)
 * into a mount made without allow_other, root included: fanotify_mark needs
 * read permission on it, so root's mark fails with EACCES. The child takes
 * the mounter's uids and gids and keeps its capabilities
 * (SECBIT_NO_SETUID_FIXUP), which fanotify_mark wants for a filesystem mark.
 */
static int
become_owner(uid_t uid, gid_t gid)
{
	if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED, 0, 0,
		  0) < 0 ||
	    syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresgid, gid, gid, gid) < 0 ||
	    syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -errno;
	return 0;
}

/* The decimal number at *p (after blanks), *p moved past it; false when there is none. */
static bool
parse_ulong(const char **p, unsigned long *v)
{
	const char *s = *p;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	for (*v = 0; *s >= '0' && *s <= '9'; s++) {
		if (*v > (~0UL - 9) / 10)
			return false;
		*v = *v * 10 + (unsigned long)(*s - '0');
	}
	*p = s;
	return true;
}

/*
 * The kernel's id behind id, from map: /proc/PID/uid_map or gid_map as a
 * process of the initial user namespace reads it ("inside outside count"
 * lines, outside the kernel's id). -EACCES when id is not mapped there.
 */
static int
map_id(const char *map, unsigned long id, unsigned long *kid)
{
	unsigned long in, out, count;

	while (parse_ulong(&map, &in) && parse_ulong(&map, &out) && parse_ulong(&map, &count)) {
		if (id >= in && id - in < count) {
			*kid = out + (id - in);
			return 0;
		}
	}
	return -EACCES;
}

/* /proc/PID/NAME into buf (NUL-terminated; the kernel caps a map at 340 lines). */
static int
read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	size_t len = 0;
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		len += (size_t)n;
	}
out:
	buf[len] = '\0';
	close(fd);
	return r;
}

static void close_range_except(int a, int b);

/*
 * A FUSE mount's user_id= and group_id= are ids of the user namespace it
 * was mounted in (the kernel prints them so); FUSE compares the kernel's
 * ids behind them with the caller's. For a mount of a namespace another
 * user namespace owns (mounted there, `unshare -Urm`: user_id=0), *uid and
 * *gid are mapped through that user namespace's uid_map and gid_map, read
 * from a process in it: a grandchild that closes every fd, enters it, says
 * so and waits to be killed. Its root may kill it (then -ESRCH: the mount
 * is tried again as a killed marking child is), not trace it (it is not
 * dumpable and its memory was made outside); it dies with its parent.
 */
static int
owner_kernel_ids(int ns_fd, uid_t *uid, gid_t *gid)
{
	char map[12288], c;
	struct stat self_user, user;
	unsigned long kuid, kgid;
	int userns, ready[2] = { -1, -1 }, r;
	pid_t parent = getpid(), pid = -1;

	userns = ioctl(ns_fd, NS_GET_USERNS);
	if (userns < 0)
		return -errno;
	if (fstat(userns, &user) < 0 || stat("/proc/self/ns/user", &self_user) < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
	if (user.st_ino == self_user.st_ino && user.st_dev == self_user.st_dev)
		goto out; /* santad's own: the ids are the kernel's */
	if (pipe2(ready, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
			_exit(1);
		close_range_except(userns, ready[1]);
		if (setns(userns, CLONE_NEWUSER) < 0 || write(ready[1], "", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	ready[1] = -1;
	if (read(ready[0], &c, 1) != 1) {
		r = -ESRCH;
		goto out;
	}
	r = read_proc(pid, "uid_map", map, sizeof(map));
	if (r == 0)
		r = map_id(map, *uid, &kuid);
	if (r == 0)
		r = read_proc(pid, "gid_map", map, sizeof(map));
	if (r == 0)
		r = map_id(map, *gid, &kgid);
	if (r == 0 && (kuid > (uid_t)-2 || kgid > (gid_t)-2))
		r = -EACCES;
	if (r == 0) {
		*uid = (uid_t)kuid;
		*gid = (gid_t)kgid;
	}
out:
	if (pid > 0) {
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	close(userns);
	return r;
}

/*
 * Marks as root (root_first), and if FUSE refuses root, as the mount's
 * owner: tells the result and the kernel's uid it marked as.
 */
static void
child_mark_as_mounter(const void *arg, int sock)
{
	const struct as_mounter *a = arg;
	uid_t uid = a->uid;
	gid_t gid = a->gid;
	int other, r;

	if (a->root_first) {
		r = mark_groups(a->fan, a->path, a->how, a->no_loader_check, a->notify_logs, &other);
		if (r != -EACCES || !a->has_owner)
			child_reply(sock, r < 0 ? r : other, -1);
	}
	r = a->ns_fd >= 0 ? owner_kernel_ids(a->ns_fd, &uid, &gid) : 0;
	if (r == 0)
		r = become_owner(uid, gid);
	if (r < 0)
		child_reply(sock, r, -1);
	r = mark_groups(a->fan, a->path, a->how, a->no_loader_check, a->notify_logs, &other);
	/* other > 0: marked, a later group refused */
	child_reply_value(sock, r < 0 ? r : other | (a->root_first ? WALK_AS_OWNER : 0),
			  (unsigned int)uid, -1);
}

/* user_id= and group_id= in a FUSE filesystem's options: who mounted it. */
static bool
fuse_owner(const char *opts, uid_t *uid, gid_t *gid)
{
	const char *u = opts ? strstr(opts, "user_id=") : NULL;
	const char *g = opts ? strstr(opts, "group_id=") : NULL;
	unsigned long uv, gv;

	if (!u || !g || sscanf(u, "user_id=%lu", &uv) != 1 || sscanf(g, "group_id=%lu", &gv) != 1)
		return false;
	*uid = (uid_t)uv;
	*gid = (gid_t)gv;
	return true;
}

/*
 * Marks markpath (the mount's root, through /proc/self/fd/N: the very mount
 * santad checked) in every group, as shown; a FUSE filesystem that refuses
 * root is marked as its mounter (sb_opts names them). A failure is recorded
 * (and not retried for MARK_RETRY_USEC) only if record_failure.
 */
static int
mark_as(struct santad *d, const char *markpath, const char *shown, unsigned int how,
	const char *key, bool record_failure, const char *fstype, const char *sb_opts)
{
	struct statfs sfs;
	/* FUSE too: its server opens the backing file (see mark_groups), and may itself be a loader's target. */
	bool no_loader_check = statfs(markpath, &sfs) == 0 &&
		       (sfs.f_type == OVERLAYFS_SUPER_MAGIC || sfs.f_type == FUSE_SUPER_MAGIC);
	int other = 0, r;

	r = mark_groups(d->fan, markpath, how, no_loader_check, d->fan->notify_logs, &other);
	if (r == -EACCES && fstype && strncmp(fstype, "fuse", 4) == 0) {
		struct as_mounter a = { .fan = d->fan, .path = markpath, .how = how,
					.no_loader_check = no_loader_check,
					.notify_logs = d->fan->notify_logs, .ns_fd = -1 };

		/*
		 * With the owner's uids the child may be signalled by the owner:
		 * a child killed or stopped (-EIO, -ETIMEDOUT) is tried again,
		 * twice; an owner who stops every try keeps the mount unwatched
		 * (README: open).
		 */
		for (int tries = 0; tries < 3 && fuse_owner(sb_opts, &a.uid, &a.gid); tries++) {
			r = child_run(child_mark_as_mounter, &a);
			if (r != -EIO && r != -ETIMEDOUT)
				break;
			santa_log_errno(&d->log, LOG_WARNING, r, "Marking %s as its owner (uid %u) "
					"failed: %m (the owner may signal that child)", shown,
					(unsigned int)a.uid);
		}
		if (r > 0) { /* marked; a later group refused */
			other = r;
			r = 0;
		}
		if (r == 0)
			santa_log(&d->log, LOG_INFO, "%s is FUSE, closed to root: marked as its owner "
				  "(uid %u)", shown, (unsigned int)a.uid);
	}
	if (r < 0) {
		if (!record_failure)
			return r;
		log_mark_failure(d, r, shown);
		add_watched(d->fan, key, NULL);
		return r;
	}
	if (other == 1)
		santa_log(&d->log, LOG_WARNING,
			  "Failed to log execs of %s that need no decision", shown);
	else if (other == 2)
		santa_log(&d->log, LOG_WARNING, "Failed to watch %s for `ld.so PROGRAM`", shown);
	santa_log(&d->log, LOG_INFO, "watching %s (%s)", shown,
		  how == FAN_MARK_MOUNT ? "mount" : "filesystem");
	add_watched(d->fan, key, shown);
	{
		unsigned int major, minor;

		if (fan_key_dev(key, &major, &minor))
			d->fan->on.anon_exec_marked(d, major, minor, true);
	}
	return 0;
}

/* Marks path in every group; a failure is recorded (not retried) only if record_failure. */
static int
mark(struct santad *d, const char *path, unsigned int how, const char *key, bool record_failure)
{
	return mark_as(d, path, path, how, key, record_failure, NULL, NULL);
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

struct reveal {
	int ns_fd;
	const char *mountpoint;
	dev_t dev;
};

/* Closes every fd from 3 on but a and b (a forked child's). */
static void
close_range_except(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		(void)syscall(SYS_close_range, 3U, (unsigned int)lo - 1, 0U);
	if (hi > lo + 1)
		(void)syscall(SYS_close_range, (unsigned int)lo + 1, (unsigned int)hi - 1, 0U);
	(void)syscall(SYS_close_range, (unsigned int)hi + 1, ~0U, 0U);
}

/*
 * A mount another mount covers (stacked on the same mount point, or on one
 * of its parents) cannot be reached by its path, yet a process that holds a
 * directory in it runs programs from it. The child enters the mount's
 * namespace (as its owner: entering its user namespace too, so the copy it
 * makes next has no locked mounts), makes a private copy of it, and there
 * lazily unmounts whatever covers the mount point until the filesystem
 * itself is reached, at most 16 times; it sends santad an O_PATH fd on it.
 * The namespace the user sees is not touched. Root of that user namespace
 * may signal the child (a failed reach: not tried again for
 * MARK_RETRY_USEC), not trace it. A cover the user could not
 * remove either (locked: inherited from a more privileged namespace) stays.
 */
static void
child_reveal(const void *arg, int sock)
{
	const struct reveal *a = arg;
	char sbuf[sizeof(struct santa_statmount) + 2 * PATH_MAX];
	struct santa_statmount *sm = (struct santa_statmount *)sbuf;
	char path[PATH_MAX];
	struct stat self_user, user;
	struct statx stx;
	int userns, i, fd;
	size_t len;

	/* Inside the user's namespaces: only the fds it needs (santad's groups stay out). */
	close_range_except(a->ns_fd, sock);
	userns = ioctl(a->ns_fd, NS_GET_USERNS);
	if (userns < 0 || fstat(userns, &user) < 0 || stat("/proc/self/ns/user", &self_user) < 0)
		child_reply(sock, -errno, -1);
	if (user.st_ino != self_user.st_ino && setns(userns, CLONE_NEWUSER) < 0)
		child_reply(sock, -errno, -1);
	if (setns(a->ns_fd, CLONE_NEWNS) < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_reply(sock, -errno, -1);
	for (i = 0; i < 16; i++) {
		/* The deepest part of the mount point that resolves: the mount there covers it. */
		len = strlen(a->mountpoint);
		if (len >= sizeof(path))
			child_reply(sock, -ENAMETOOLONG, -1);
		memcpy(path, a->mountpoint, len + 1);
		while (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID_UNIQUE, &stx) < 0) {
			char *slash = strrchr(path, '/');

			if (!slash || slash == path)
				child_reply(sock, -ENOENT, -1);
			*slash = '\0';
		}
		if (strcmp(path, a->mountpoint) == 0 &&
		    makedev(stx.stx_dev_major, stx.stx_dev_minor) == a->dev) {
			fd = open(path, O_PATH | O_CLOEXEC);
			child_reply(sock, fd < 0 ? -errno : 0, fd);
		}
		if (santa_statmount(stx.stx_mnt_id, 0, STATMOUNT_MNT_POINT, sm, sizeof(sbuf)) < 0 ||
		    strcmp(sm->str + sm->mnt_point, "/") == 0 ||
		    umount2(sm->str + sm->mnt_point, MNT_DETACH) < 0)
			child_reply(sock, -ENOENT, -1);
	}
	child_reply(sock, -ELOOP, -1);
}

/*
 * Marking a mount through a path a user chose, in children the loop does
 * not wait for. A lookup on such a path may have to ask a FUSE server on
 * the way (a user's, mounted with allow_other where /etc/fuse.conf has
 * user_allow_other) and that server may never answer: done on the loop,
 * that lookup stalled every decision, santactl and every other user's
 * mounts. Each mount waits in fan->walks until a child may start for its
 * owner (the owner of the namespace's user namespace; of a FUSE mount in
 * santad's own: the FUSE mount's); a child has MOUNT_CHILD_USEC to answer,
 * and is then killed and the mount reported as one santad could not mark.
 * Steps: WALK_PATH (the child opens the mount point in santad's namespaces
 * and sends back an O_PATH fd on it if it reaches this very filesystem, or
 * mount), or for a covered mount WALK_REVEAL (child_reveal sends one); then
 * the mark through that fd, on the loop, except on FUSE and overlay: there
 * fanotify_mark's permission check may ask the FUSE server (below the
 * overlay) for attributes, so WALK_MARK, a child, marks, as the FUSE
 * mount's owner if root is refused. The walking children hold none of
 * santad's fds but the root they walk from: one stuck for ever in a FUSE
 * request keeps no fanotify group alive (a group outliving santad would
 * hold every exec on its marks). A WALK_MARK child holds them: stuck in a
 * FUSE server's request for attributes (default_permissions), it keeps the
 * group until that server answers or dies (README: open).
 */
enum walk_step { WALK_PATH, WALK_REVEAL, WALK_MARK };

#define WALK_TRIES 3        /* tries of a FUSE mount's owner-marking child (the owner may kill it) */
/*
 * A mount not where its namespace's table said when the child looked
 * (moved with MS_MOVE, or covered) is looked up again by its id (statmount,
 * on the loop: no path a user chose) and walked again at its mount point
 * now, after WALK_RETRY_FIRST_USEC, doubling up to WALK_RETRY_MAX_USEC:
 * for as long as it exists and keeps moving. Found at the same place and
 * still not reached WALK_STILL_TRIES times in a row, no mount event for it
 * between (walk_reported_again), it is covered for good
 * and given up (logged, counted), as before. Retrying walks keep their
 * place in the queue and its caps; at most WALK_RETRYING_PER_UID of one
 * owner's and WALK_RETRYING_MAX in all, past which a failed walk is given
 * up: a user moving many mounts for ever cannot make santad spin (one child
 * per retrying mount a second at most, two of the owner's at once) nor fill
 * the queue their new mounts need.
 */
#define WALK_RETRY_FIRST_USEC 20000ULL
#define WALK_RETRY_MAX_USEC 1000000ULL
#define WALK_STILL_TRIES 6
#define WALK_RETRYING_PER_UID 64
#define WALK_RETRYING_MAX 256
#define WALK_GONE 0x200     /* walk_finish: unmounted before it could be marked */

struct mark_walk {
	struct mark_walk *next;
	struct santad *d;
	uid_t uid;          /* whose mount: the caps per owner */
	enum walk_step step;
	int tries;
	bool running, by_mount, has_owner;
	bool backoff;       /* waiting for timer before it is walked again (walk_retry) */
	int retries, still; /* looked up again; of them in a row found where it was */
	uint64_t id, ns_id; /* statmount's, to look it up again (0: cannot) */
	bool in_child_mark; /* FUSE or overlay: marked by a child (WALK_MARK), not on the loop */
	uid_t fuse_uid;     /* user_id=: an id of the mount's user namespace */
	gid_t fuse_gid;
	uid_t fuse_kuid;    /* the kernel's uid behind fuse_uid the child marked as */
	unsigned int major, minor, mnt_id;
	char key[32];
	char *shown;        /* the path the log and status name */
	char *path;         /* what the child opens: through root_fd; then /proc/self/fd/<fd> */
	char *mountpoint;   /* as its namespace names it, for the reveal */
	int root_fd, ns_fd, fd; /* fd: on the mount, from WALK_PATH or WALK_REVEAL */
	size_t bytes;
	pid_t pid;          /* while a child runs: it, its answer, its deadline */
	int sock;
	sd_event_source *io, *timer;
};

/* A walking child, from fork until it is reaped: it holds a slot of its owner's until then. */
struct walk_child {
	struct walk_child *next;
	struct fan_client *fan;
	struct santad *d;
	uid_t uid;
	sd_event_source *exit;
};

struct walk_arg {
	const char *path;
	int root_fd; /* the one fd of santad's the child keeps (path goes through it), or -1 */
	unsigned int major, minor, mnt_id;
	bool by_mount;
};

/* In santad's namespaces, as root, holding nothing of santad's but the root it walks from. */
static void
child_walk(const void *arg, int sock)
{
	const struct walk_arg *a = arg;
	struct statx stx;
	int fd;

	close_range_except(a->root_fd >= 0 ? a->root_fd : sock, sock);
	fd = santa_open_long(a->path, O_PATH);
	if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR)
		child_reply(sock, fd, -1);
	/* A mask of 0 gets the device from a FUSE mount closed to root too. */
	if (fd >= 0 && statx(fd, "", AT_EMPTY_PATH | AT_NO_AUTOMOUNT, 0, &stx) < 0)
		child_reply(sock, -errno, -1);
	/* Not there (a mount on a parent hides the path), or another filesystem covers it. */
	if (fd < 0 || stx.stx_dev_major != a->major || stx.stx_dev_minor != a->minor ||
	    (a->by_mount && stx.stx_mnt_id != a->mnt_id))
		child_reply(sock, WALK_COVERED, -1);
	child_reply(sock, 0, fd);
}

/* Who owns the user namespace that owns mount namespace ns_fd; (uid_t)-1 when unknown. */
static uid_t
ns_owner(int ns_fd)
{
	uid_t uid = (uid_t)-1;
	int userns;

	if (ns_fd < 0)
		return uid;
	userns = ioctl(ns_fd, NS_GET_USERNS);
	if (userns < 0)
		return uid;
	if (ioctl(userns, NS_GET_OWNER_UID, &uid) < 0)
		uid = (uid_t)-1;
	close(userns);
	return uid;
}

static size_t
walk_children_of(const struct fan_client *fan, uid_t uid)
{
	const struct walk_child *c;
	size_t n = 0;

	for (c = fan->walk_children; c; c = c->next)
		n += c->uid == uid;
	return n;
}

static void walk_pump(struct santad *d);

static int
on_walk_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct walk_child *c = userdata, **p;
	struct fan_client *fan = c->fan;

	for (p = &fan->walk_children; *p && *p != c; p = &(*p)->next)
		;
	if (*p)
		*p = c->next;
	fan->n_walk_children--;
	sd_event_source_disable_unref(c->exit);
	walk_pump(c->d);
	free(c);
	return 0;
}

/* Ends a child's part in w: its sources, its socket; killed if it has not answered. */
static void
walk_stop_child(struct mark_walk *w, pid_t pid, bool kill_it)
{
	w->io = sd_event_source_disable_unref(w->io);
	w->timer = sd_event_source_disable_unref(w->timer);
	if (w->sock >= 0)
		close(w->sock);
	w->sock = -1;
	if (kill_it && pid > 0)
		(void)kill(pid, SIGKILL); /* not reaped yet: still ours (on_walk_child_exit reaps) */
	w->running = false;
}

static void
walk_free(struct mark_walk *w)
{
	walk_stop_child(w, 0, false);
	if (w->root_fd >= 0)
		close(w->root_fd);
	if (w->ns_fd >= 0)
		close(w->ns_fd);
	if (w->fd >= 0)
		close(w->fd);
	free(w->shown);
	free(w->path);
	free(w->mountpoint);
	free(w);
}

/* The end of w (marked: r >= 0, a WALK_* result), said as a mark on the loop is, and w freed. */
static void
walk_finish(struct mark_walk *w, int r)
{
	struct santad *d = w->d;
	struct fan_client *fan = d->fan;
	struct mark_walk **p;
	unsigned int major, minor;

	for (p = &fan->walks; *p && *p != w; p = &(*p)->next)
		;
	if (*p)
		*p = w->next;
	fan->n_walks--;
	fan->walk_bytes -= w->bytes;
	if (r == WALK_GONE) {
		/* Nothing to mark; its status entry goes with the next reconcile. */
		struct watched *e = find_watched(fan, w->key);

		santa_log(&d->log, LOG_INFO, "%s was unmounted before it could be marked", w->shown);
		if (e && !e->path)
			e->failed_usec = 0; /* its device number may come back at once: tried then */
	} else if (r < 0) {
		log_mark_failure(d, r, w->shown);
		add_watched(fan, w->key, NULL); /* tried again after MARK_RETRY_USEC */
		mounts_count_unmarked(fan);
	} else {
		if ((r & WALK_AS_OWNER) && w->fuse_kuid == w->fuse_uid)
			santa_log(&d->log, LOG_INFO, "%s is FUSE, closed to root: marked as its "
				  "owner (uid %u)", w->shown, (unsigned int)w->fuse_kuid);
		else if (r & WALK_AS_OWNER)
			santa_log(&d->log, LOG_INFO, "%s is FUSE, closed to root: marked as its "
				  "owner (uid %u, %u in its user namespace)", w->shown,
				  (unsigned int)w->fuse_kuid, (unsigned int)w->fuse_uid);
		if ((r & 3) == 1)
			santa_log(&d->log, LOG_WARNING,
				  "Failed to log execs of %s that need no decision", w->shown);
		else if ((r & 3) == 2)
			santa_log(&d->log, LOG_WARNING, "Failed to watch %s for `ld.so PROGRAM`",
				  w->shown);
		santa_log(&d->log, LOG_INFO, "watching %s (%s)", w->shown,
			  w->by_mount ? "mount" : "filesystem");
		add_watched(fan, w->key, w->shown);
		if (fan_key_dev(w->key, &major, &minor))
			fan->on.anon_exec_marked(d, major, minor, true);
	}
	walk_free(w);
	mounts_walk_room(fan);
}

/*
 * w's mount is reached: fd (O_PATH) on it. Marked on the loop through fd,
 * unless it is FUSE or overlay (WALK_MARK). WALK_IN_CHILD when a child
 * must mark it, or the mark's result.
 */
static int
walk_reached(struct mark_walk *w, int fd)
{
	int other = 0, r;

	free(w->path);
	w->fd = fd;
	if (asprintf(&w->path, "/proc/self/fd/%d", fd) < 0) {
		w->path = NULL;
		return -ENOMEM;
	}
	if (w->in_child_mark) {
		w->step = WALK_MARK;
		return WALK_IN_CHILD;
	}
	/* Through a magic link, on a filesystem that asks no one: nothing here can wait. */
	r = mark_groups(w->d->fan, w->path, w->by_mount ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM,
			false, w->d->fan->notify_logs, &other);
	return r < 0 ? r : other;
}

/*
 * Looks w's mount up again by its id in its namespace: 1 when it has moved
 * (w now names its mount point now), 0 when it is where it was, -ENOENT
 * when it is gone (unmounted, or the namespace with it), or -errno.
 */
static int
walk_relocate(struct mark_walk *w)
{
	size_t size = sizeof(struct santa_statmount) + 2 * PATH_MAX, prefix_len, bytes;
	struct fan_client *fan = w->d->fan;
	struct santa_statmount *sm = NULL;
	char *mp, *shown = NULL, *path = NULL;
	int r;

	if (!w->id || !w->ns_id)
		return -EOPNOTSUPP; /* found in mountinfo (no mount events): retried every MARK_RETRY_USEC */
	for (;;) {
		struct santa_statmount *grown = realloc(sm, size);

		if (!grown) {
			r = -ENOMEM;
			goto out;
		}
		sm = grown;
		r = santa_statmount(w->id, w->ns_id, STATMOUNT_SB_BASIC | STATMOUNT_MNT_POINT, sm,
				    size);
		if (r != -EOVERFLOW || size >= (1U << 20))
			break;
		size *= 2;
	}
	if (r < 0)
		goto out;
	if (!(sm->mask & STATMOUNT_MNT_POINT) || sm->sb_dev_major != w->major ||
	    sm->sb_dev_minor != w->minor) {
		r = -ENOENT; /* not the filesystem queued (cannot be, with a unique id): gone */
		goto out;
	}
	mp = sm->str + sm->mnt_point;
	if (strcmp(mp, w->mountpoint) == 0) {
		r = 0;
		goto out;
	}
	/* shown is the namespace's prefix and the mount point. */
	prefix_len = strlen(w->shown) - strlen(w->mountpoint);
	if (asprintf(&shown, "%.*s%s", (int)prefix_len, w->shown, mp) < 0 ||
	    (w->root_fd >= 0 ? asprintf(&path, "/proc/self/fd/%d%s", w->root_fd, mp)
			     : asprintf(&path, "%s", mp)) < 0) {
		shown = path = NULL;
		r = -ENOMEM;
		goto out;
	}
	bytes = 2 * strlen(shown) + 2 * strlen(mp) + 128;
	if (!(mp = strdup(mp))) {
		r = -ENOMEM;
		goto out;
	}
	free(w->mountpoint);
	w->mountpoint = mp;
	free(w->shown);
	w->shown = shown;
	free(w->path);
	w->path = path;
	shown = path = NULL;
	fan->walk_bytes += bytes - w->bytes;
	w->bytes = bytes;
	r = 1;
out:
	free(shown);
	free(path);
	free(sm);
	return r;
}

static size_t
walks_retrying(const struct fan_client *fan, const uid_t *uid)
{
	const struct mark_walk *w;
	size_t n = 0;

	for (w = fan->walks; w; w = w->next)
		n += w->retries > 0 && (!uid || w->uid == *uid);
	return n;
}

size_t
fan_walks_retrying(const struct fan_client *fan)
{
	return walks_retrying(fan, NULL);
}

/* A walk retrying already goes on; a new one only within the caps, its owner's and all. */
static bool
may_start_retrying(const struct mark_walk *w)
{
	const struct fan_client *fan = w->d->fan;

	return w->retries > 0 || (fan_walks_retrying(fan) < WALK_RETRYING_MAX &&
				  walks_retrying(fan, &w->uid) < WALK_RETRYING_PER_UID);
}

static int
on_walk_backoff(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mark_walk *w = userdata;

	w->timer = sd_event_source_disable_unref(w->timer);
	w->backoff = false;
	walk_pump(w->d);
	return 0;
}

/*
 * w's child did not reach its mount (r: what it said). Looked up again:
 * walked again from WALK_PATH after a backoff when it moved, or is still
 * where it was (WALK_STILL_TRIES in a row); WALK_REVEAL at once for a
 * filesystem mark's first sight of a cover. 1: w goes on (or waits), 0:
 * given up by the caller as before, WALK_GONE: unmounted.
 */
static int
walk_retry(struct mark_walk *w)
{
	uint64_t delay;
	int moved;

	if (!may_start_retrying(w))
		return 0;
	moved = walk_relocate(w);
	if (moved == -ENOENT)
		return WALK_GONE;
	if (moved < 0)
		return 0;
	if (!moved && w->step == WALK_PATH && !w->by_mount && w->ns_fd >= 0) {
		w->step = WALK_REVEAL; /* covered where it was: reached in a copy of its namespace */
		return 1;
	}
	if (moved)
		w->still = 0;
	else if (++w->still >= WALK_STILL_TRIES)
		return 0;
	delay = WALK_RETRY_FIRST_USEC << (w->retries < 6 ? w->retries : 6);
	if (delay > WALK_RETRY_MAX_USEC)
		delay = WALK_RETRY_MAX_USEC;
	w->retries++;
	w->step = WALK_PATH;
	if (sd_event_add_time_relative(w->d->event, &w->timer, CLOCK_MONOTONIC, delay, 1000,
				       on_walk_backoff, w) < 0)
		return 1; /* walked again at once */
	w->backoff = true;
	if (w->retries == 1 || moved)
		santa_log(&w->d->log, LOG_INFO, "%s (%u:%u) was not where its namespace's table "
			  "said (moved?): looked for again%s", w->shown, w->major, w->minor,
			  moved ? " where it is now" : "");
	return 1;
}

/*
 * w's child missed its deadline finding the mount (a loaded machine, or a
 * FUSE server on the way): tried again after 1 s, then 2 s (WALK_TRIES in
 * all), within the retrying caps, so that a moment's load does not leave a
 * mount unwatched for good. A server that never answers holds only its
 * owner's slots meanwhile. False: given up.
 */
static bool
walk_timed_out(struct mark_walk *w)
{
	if (w->tries + 1 >= WALK_TRIES || !may_start_retrying(w))
		return false;
	if (sd_event_add_time_relative(w->d->event, &w->timer, CLOCK_MONOTONIC,
				       1000000ULL << w->tries, 1000, on_walk_backoff, w) < 0)
		return false;
	santa_log(&w->d->log, LOG_WARNING, "Looking %s (%u:%u) up took over %llu ms: tried "
		  "again in %d s", w->shown, w->major, w->minor,
		  (unsigned long long)(MOUNT_CHILD_USEC / 1000), 1 << w->tries);
	w->tries++;
	w->retries++;
	w->backoff = true;
	return true;
}

/* What w's child said (or its deadline): the next step, or the end. */
static void
walk_answered(struct mark_walk *w, int r, int fd)
{
	struct santad *d = w->d;
	int again;

	switch (w->step) {
	case WALK_PATH:
	case WALK_REVEAL:
		if (r == -ETIMEDOUT && fd < 0 && walk_timed_out(w))
			break;
		/*
		 * Not reached (not a deadline, not a killed child: a FUSE server
		 * that never answers is not asked again and again): moved?
		 */
		if (fd < 0 && (r == WALK_COVERED || (w->step == WALK_REVEAL && r < 0 &&
						     r != -ETIMEDOUT && r != -EIO))) {
			again = walk_retry(w);
			if (again == WALK_GONE) {
				walk_finish(w, WALK_GONE);
				return;
			}
			if (again)
				break;
			if (w->retries > 0) {
				santa_log(&d->log, LOG_WARNING, "%s (%u:%u) was looked for %d times "
					  "and not reached (covered, or moving): not watched",
					  w->shown, w->major, w->minor, w->retries);
				walk_finish(w, -EBUSY);
				return;
			}
		}
		if (r == WALK_COVERED && w->step == WALK_PATH) {
			/* Mount marks are per mount: a copy of the covered one would not do. */
			if (w->by_mount || w->ns_fd < 0) {
				walk_finish(w, -EBUSY);
				return;
			}
			w->step = WALK_REVEAL;
			break;
		}
		if (r < 0 || fd < 0) {
			if (fd >= 0)
				close(fd);
			if (w->step == WALK_REVEAL) {
				santa_log_errno(&d->log, LOG_WARNING, r < 0 ? r : -EIO, "%s (%u:%u) is "
						"covered by another mount and could not be reached: "
						"not watched (%m)", w->shown, w->major, w->minor);
				r = -EBUSY; /* not tried again before MARK_RETRY_USEC */
			}
			walk_finish(w, r < 0 ? r : -EIO);
			return;
		}
		if (w->step == WALK_REVEAL)
			santa_log(&d->log, LOG_INFO, "%s (%u:%u) is covered by another mount: reached "
				  "in a private copy of its namespace", w->shown, w->major, w->minor);
		r = walk_reached(w, fd);
		if (r == WALK_IN_CHILD)
			break;
		walk_finish(w, r);
		return;
	case WALK_MARK:
		if (fd >= 0)
			close(fd);
		/*
		 * With the owner's uids the child may be signalled by the owner:
		 * a child killed or stopped (-EIO, -ETIMEDOUT) is tried again,
		 * twice; an owner who stops every try keeps the mount unwatched
		 * (README: open).
		 */
		if ((r == -EIO || r == -ETIMEDOUT) && w->has_owner && ++w->tries < WALK_TRIES) {
			santa_log_errno(&d->log, LOG_WARNING, r, "Marking %s as its owner (uid %u) "
					"failed: %m (the owner may signal that child)", w->shown,
					(unsigned int)w->fuse_uid);
			break;
		}
		walk_finish(w, r);
		return;
	}
	walk_pump(d); /* its next step, when its owner has a free slot */
}

static int
on_walk_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mark_walk *w = userdata;
	unsigned int value;
	int got_fd, r = child_answer(fd, &got_fd, &value);

	walk_stop_child(w, 0, false); /* it answered (or died): it exits by itself */
	if (w->step == WALK_MARK && r >= 0 && (r & WALK_AS_OWNER))
		w->fuse_kuid = value; /* the kernel's uid it marked as */
	walk_answered(w, r, got_fd);
	return 0;
}

static int
on_walk_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mark_walk *w = userdata;

	walk_stop_child(w, w->pid, true);
	walk_answered(w, -ETIMEDOUT, -1);
	return 0;
}

/* Forks w's child for its step, with its answer and deadline sources. */
static int
walk_start(struct mark_walk *w)
{
	struct santad *d = w->d;
	struct walk_arg a = { .path = w->path, .root_fd = w->root_fd, .major = w->major,
			      .minor = w->minor, .mnt_id = w->mnt_id, .by_mount = w->by_mount };
	struct reveal rv = { .ns_fd = w->ns_fd, .mountpoint = w->mountpoint,
			     .dev = makedev(w->major, w->minor) };
	struct as_mounter mk = { .fan = d->fan, .path = w->path,
				 .how = w->by_mount ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM,
				 .no_loader_check = true, .notify_logs = d->fan->notify_logs,
				 .root_first = true, .has_owner = w->has_owner, .uid = w->fuse_uid,
				 .gid = w->fuse_gid, .ns_fd = w->ns_fd };
	struct walk_child *c = calloc(1, sizeof(*c));
	pid_t pid;
	int r;

	if (!c)
		return -ENOMEM;
	if (w->step == WALK_REVEAL)
		pid = child_start(child_reveal, &rv, &w->sock);
	else if (w->step == WALK_MARK)
		pid = child_start(child_mark_as_mounter, &mk, &w->sock);
	else
		pid = child_start(child_walk, &a, &w->sock);
	if (pid < 0) {
		free(c);
		w->sock = -1;
		return pid;
	}
	c->fan = d->fan;
	c->d = d;
	c->uid = w->uid;
	r = sd_event_add_child(d->event, &c->exit, pid, WEXITED, on_walk_child_exit, c);
	if (r < 0) {
		/* Not followed by the loop: reaped here, just forked (it has not reached a FUSE server). */
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		free(c);
		close(w->sock);
		w->sock = -1;
		return r;
	}
	c->next = d->fan->walk_children;
	d->fan->walk_children = c;
	d->fan->n_walk_children++;
	w->pid = pid;
	w->running = true;
	if (sd_event_add_io(d->event, &w->io, w->sock, EPOLLIN, on_walk_answer, w) < 0 ||
	    sd_event_add_time_relative(d->event, &w->timer, CLOCK_MONOTONIC, MOUNT_CHILD_USEC,
				       10000, on_walk_deadline, w) < 0) {
		walk_stop_child(w, pid, true);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Starts the children the caps allow, oldest mount first, skipping owners
 * whose slots are taken: one user's slow mounts wait behind each other, not
 * in front of another user's.
 */
static void
walk_pump(struct santad *d)
{
	struct fan_client *fan = d->fan;
	struct mark_walk *w, *next;
	int r;

	for (w = fan->walks; w && fan->n_walk_children < MARK_WALK_CHILDREN_MAX; w = next) {
		next = w->next;
		if (w->running || w->backoff ||
		    walk_children_of(fan, w->uid) >= MARK_WALK_CHILDREN_PER_UID)
			continue;
		r = walk_start(w);
		if (r < 0)
			walk_finish(w, r); /* frees w alone: next is still queued */
	}
}

/*
 * Queues m's marking in a child from step (WALK_PATH, or WALK_REVEAL for a
 * mount of santad's own namespace found covered). Holds what the child needs
 * (the namespace's root and the namespace itself, whatever happens to the
 * process they were found through). 0, or -EAGAIN when the queue has no room
 * for the owner (the caller tries again later), or -errno.
 */
static int
walk_queue(struct santad *d, const struct mount_desc *m, const char *prefix, int ns_fd,
	   const char *key, bool by_mount, enum walk_step step)
{
	struct fan_client *fan = d->fan;
	size_t bytes = 2 * strlen(prefix) + 2 * strlen(m->mountpoint) + 128, queued = 0;
	struct mark_walk *w, **tail;
	uid_t uid, fuse_uid = 0;
	gid_t fuse_gid = 0;
	bool has_owner = strncmp(m->fstype, "fuse", 4) == 0 &&
			 fuse_owner(m->sb_opts, &fuse_uid, &fuse_gid);

	uid = prefix[0] ? ns_owner(ns_fd) : has_owner ? fuse_uid : (uid_t)-1;
	for (w = fan->walks; w; w = w->next) {
		if (strcmp(w->key, key) == 0)
			return 0; /* under way already (its status entry may have aged out meanwhile) */
		queued += w->uid == uid;
	}
	if (fan->n_walks >= MARK_WALKS_QUEUED_MAX || queued >= MARK_WALKS_QUEUED_PER_UID ||
	    fan->walk_bytes + bytes > MARK_WALKS_QUEUED_BYTES)
		return -EAGAIN;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct mark_walk){ .d = d, .uid = uid, .step = step, .by_mount = by_mount,
				 .in_child_mark = strncmp(m->fstype, "fuse", 4) == 0 ||
						  strcmp(m->fstype, "overlay") == 0,
				 .has_owner = has_owner, .fuse_uid = fuse_uid,
				 .fuse_gid = fuse_gid, .major = m->major, .minor = m->minor,
				 .mnt_id = m->mnt_id, .id = m->id, .ns_id = m->ns_id,
				 .root_fd = -1, .ns_fd = -1, .fd = -1,
				 .sock = -1, .bytes = bytes };
	snprintf(w->key, sizeof(w->key), "%s", key);
	if (prefix[0])
		w->root_fd = open(prefix, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ns_fd >= 0)
		w->ns_fd = fcntl(ns_fd, F_DUPFD_CLOEXEC, 3);
	if ((prefix[0] && w->root_fd < 0) ||
	    asprintf(&w->shown, "%s%s", prefix, m->mountpoint) < 0 ||
	    (w->root_fd >= 0 ? asprintf(&w->path, "/proc/self/fd/%d%s", w->root_fd, m->mountpoint)
			     : asprintf(&w->path, "%s", m->mountpoint)) < 0 ||
	    !(w->mountpoint = strdup(m->mountpoint))) {
		int r = prefix[0] && w->root_fd < 0 ? -errno : -ENOMEM;

		walk_free(w);
		return r ? r : -ENOMEM;
	}
	for (tail = &fan->walks; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	fan->n_walks++;
	fan->walk_bytes += bytes;
	/* In the status list as not marked (yet): a second sight of it waits for this one. */
	add_watched(fan, key, NULL);
	walk_pump(d);
	return 0;
}

/*
 * A mount under way reported again (attached again: moved; or its table
 * read again): found in the same place since counts for nothing, or a user
 * moving it back and forth for ever would have it given up for good by
 * chance (WALK_STILL_TRIES samples in a row in the same place).
 */
static void
walk_reported_again(struct fan_client *fan, const char *key)
{
	struct mark_walk *w;

	for (w = fan->walks; w; w = w->next)
		if (strcmp(w->key, key) == 0) {
			w->still = 0;
			return;
		}
}

/* Santad is stopping: every walk dropped, every child killed (and left to the exit). */
static void
walk_stop_all(struct fan_client *fan)
{
	struct walk_child *c;

	while (fan->walks) {
		struct mark_walk *w = fan->walks;

		fan->walks = w->next;
		if (w->running)
			(void)kill(w->pid, SIGKILL);
		walk_free(w);
	}
	fan->n_walks = 0;
	fan->walk_bytes = 0;
	while ((c = fan->walk_children)) {
		fan->walk_children = c->next;
		sd_event_source_disable_unref(c->exit);
		free(c);
	}
	fan->n_walk_children = 0;
}
int
fan_mark_listed(struct santad *d, struct kernel_marks *km, const struct mount_desc *m,
		const char *prefix, int ns_fd)
{
	bool by_mount = d->start.watch_mark_mount && d->start.watch_paths.n, wanted, own = !prefix[0];
	char *path = NULL, markpath[64], key[32];
	struct statx stx;
	struct watched *w;
	int fd = -1, r;
	size_t i;

	if (is_pseudo(m->fstype))
		return 0;
	wanted = d->start.watch_paths.n == 0;
	for (i = 0; !wanted && i < d->start.watch_paths.n; i++)
		wanted = under(m->mountpoint, d->start.watch_paths.items[i]);
	if (!wanted)
		return 0;
	if (by_mount)
		snprintf(key, sizeof(key), "mnt:%u", m->mnt_id);
	else
		snprintf(key, sizeof(key), "dev:%u:%u", m->major, m->minor);
	w = find_watched(d->fan, key);
	/* Any length: a user may mount deeper than PATH_MAX in their own tree. */
	if (asprintf(&path, "%s%s", prefix, m->mountpoint) < 0)
		return -ENOMEM;
	if (by_mount ? kernel_marks_has(km->mnt, km->n_mnt, km->sorted_mnt, m->mnt_id)
		     : kernel_marks_has(km->sdev, km->n_sdev, km->sorted_sdev,
					m->major << 20 | m->minor)) {
		if (w && w->path)
			w->seen = true;
		else
			add_watched(d->fan, key, path);
		r = 0;
		goto out;
	}
	if (w && !w->path && santa_mono_usec() - w->failed_usec < MARK_RETRY_USEC) {
		if (m->id)
			walk_reported_again(d->fan, key);
		w->seen = true;
		r = 0;
		goto out;
	}
	/*
	 * Another namespace's mount point is a path its user chose, and a FUSE
	 * mount's (or one below it) may need its FUSE server to answer: marked
	 * by a child the loop does not wait for (walk_queue). Queued: 0.
	 */
	if (!own || strncmp(m->fstype, "fuse", 4) == 0) {
		r = walk_queue(d, m, prefix, ns_fd, key, by_mount, WALK_PATH);
		goto out;
	}
	/*
	 * The path must lead to this very filesystem (mount): another mount may
	 * cover the mount point by now, and marking that one would leave this
	 * one unwatched. Checked on an O_PATH fd, marked through the same fd.
	 */
	fd = santa_open_long(path, O_PATH);
	if (fd < 0 && fd != -ENOENT && fd != -ENOTDIR) {
		r = fd;
		fd = -1;
		goto fail;
	}
	if (fd >= 0 && statx(fd, "", AT_EMPTY_PATH | AT_NO_AUTOMOUNT, 0, &stx) < 0) {
		r = -errno;
		goto fail;
	}
	/* Not there (a mount on a parent hides the path), or another filesystem covers it. */
	if (fd < 0 || stx.stx_dev_major != m->major || stx.stx_dev_minor != m->minor ||
	    (by_mount && stx.stx_mnt_id != m->mnt_id)) {
		/* Mount marks are per mount: a copy of the covered one would not do. */
		if (by_mount || ns_fd < 0) {
			r = -EBUSY;
			goto fail;
		}
		if (fd >= 0)
			close(fd);
		r = walk_queue(d, m, prefix, ns_fd, key, by_mount, WALK_REVEAL);
		if (r == -EAGAIN)
			r = 0; /* santad's own table is read again at its next change */
		goto out;
	}
	snprintf(markpath, sizeof(markpath), "/proc/self/fd/%d", fd);
	r = mark_as(d, markpath, path, by_mount ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM, key, own,
		    m->fstype, m->sb_opts);
	close(fd);
	if (r < 0)
		goto out;
	if (by_mount)
		(void)kernel_marks_add(&km->mnt, &km->n_mnt, &km->cap_mnt, m->mnt_id);
	else
		(void)kernel_marks_add(&km->sdev, &km->n_sdev, &km->cap_sdev, m->major << 20 | m->minor);
	r = 1;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	log_mark_failure(d, r, path); /* santad's own mount: tried again after MARK_RETRY_USEC */
	add_watched(d->fan, key, NULL);
out:
	free(path);
	return r;
}

/* A mountinfo line: a mount point of up to 1 MiB, each byte escaped (\\ooo) at worst. */
#define MOUNTINFO_LINE_MAX (4 * 1024 * 1024 + 4096)

/*
 * One mount table, from mountinfo: marks each local filesystem it lists that
 * is not marked yet (once per superblock: FAN_MARK_FILESYSTEM covers all its
 * mounts and bind mounts) or, with WatchPaths, the mounts at or below those
 * paths, and flags each as still there. prefix reaches the mount points of
 * another mount namespace ("/proc/PID/root").
 */
static int
sync_table(struct santad *d, struct kernel_marks *km, const char *mountinfo, const char *prefix,
	   pid_t ns_pid)
{
	char *line = NULL, *mountpoint = NULL, fstype[64], opts[1024];
	struct mount_desc m = { .fstype = fstype };
	size_t cap = 0, mountpoint_cap = 0;
	int marked = 0, ns_fd;
	ssize_t n;
	FILE *f;

	f = fopen(mountinfo, "re");
	if (!f)
		return ns_pid ? 0 : santa_log_errno(&d->log, LOG_ERR, -errno,
						     "Failed to read %s: %m", mountinfo);
	/* For a covered mount: the namespace to enter (fan_mark_listed). */
	if (ns_pid) {
		char ns[64];

		snprintf(ns, sizeof(ns), "/proc/%ld/ns/mnt", (long)ns_pid);
		ns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	} else {
		ns_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	}
	/* Lines of any length (a mount point deeper than PATH_MAX), up to MOUNTINFO_LINE_MAX. */
	while ((n = getline(&line, &cap, f)) > 0) {
		char *sep;

		if ((size_t)n > MOUNTINFO_LINE_MAX)
			continue;
		if (mountpoint_cap <= (size_t)n) {
			char *grown = realloc(mountpoint, (size_t)n + 1);

			if (!grown)
				continue;
			mountpoint = grown;
			mountpoint_cap = (size_t)n + 1;
		}
		m.mountpoint = mountpoint;
		/* id parent major:minor root mountpoint options ... - fstype source superoptions */
		if (sscanf(line, "%u %*u %u:%u %*s %s", &m.mnt_id, &m.major, &m.minor,
			   mountpoint) != 4)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		m.sb_opts = sscanf(sep + 3, "%*s %*s %1023s", opts) == 1 ? opts : NULL;
		unescape_mountinfo(mountpoint);
		marked += fan_mark_listed(d, km, &m, prefix, ns_fd) > 0;
	}
	free(line);
	free(mountpoint);
	fclose(f);
	if (ns_fd >= 0)
		close(ns_fd);
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
			if (!d->fan->mntns_overflow_said)
				santa_log(&d->log, LOG_WARNING, "More than %d mount namespaces: the "
					  "filesystems of the others are not looked for", MNTNS_MAX);
			d->fan->mntns_overflow_said = true;
			break;
		}
		seen[n_seen++] = st.st_ino;
		snprintf(mountinfo, sizeof(mountinfo), "/proc/%ld/mountinfo", pid);
		snprintf(prefix, sizeof(prefix), "/proc/%ld/root", pid);
		marked += sync_table(d, km, mountinfo, prefix, (pid_t)pid);
	}
	closedir(proc);
	d->fan->mount_namespaces = n_seen + 1;
	return marked;
}

/* Forgets a status entry: its filesystem (mount) is gone, and the kernel's mark with it. */
static void
drop_watched(struct santad *d, size_t i)
{
	struct watched *w = &d->fan->watched[i];

	if (w->path) {
		unsigned int major, minor;

		santa_log(&d->log, LOG_INFO, "no longer watching %s (unmounted)", w->path);
		if (fan_key_dev(w->key, &major, &minor))
			d->fan->on.anon_exec_marked(d, major, minor, false);
	}
	free(w->path);
	d->fan->watched[i] = d->fan->watched[--d->fan->n_watched];
}

/*
 * Marks what the mount tables list and is not marked yet: santad's own and,
 * without mount events, every other mount namespace's. Runs at start and,
 * without mount events, when santad's mount table changes and every
 * MNTNS_SCAN_USEC for the others, so a filesystem mounted after santad
 * started is watched too. Returns how many were marked.
 */
int
fan_sync_marks(struct santad *d)
{
	bool events = mounts_events_active(d->fan);
	struct kernel_marks km;
	int marked, r;
	size_t i;

	r = fan_kernel_marks_read(d->fan, &km);
	if (r < 0) {
		kernel_marks_free(&km);
		return santa_log_errno(&d->log, LOG_ERR, r, "Cannot list fanotify marks: %m");
	}
	for (i = 0; i < d->fan->n_watched; i++)
		d->fan->watched[i].seen = false;
	r = sync_table(d, &km, "/proc/self/mountinfo", "", 0);
	if (r < 0) {
		kernel_marks_free(&km);
		return r;
	}
	marked = r;
	if (!events)
		marked += sync_other_namespaces(d, &km);
	kernel_marks_free(&km);
	if (events) {
		/* Other namespaces' entries are not in this table: the kernel's marks say what went. */
		fan_reconcile_watched(d);
		return marked;
	}
	/* In no mount table any more: the kernel dropped their marks with them. */
	for (i = 0; i < d->fan->n_watched;) {
		if (d->fan->watched[i].seen)
			i++;
		else
			drop_watched(d, i);
	}
	return marked;
}

void
fan_reconcile_watched(struct santad *d)
{
	struct kernel_marks km;
	unsigned int major, minor, id;
	struct watched *w;
	bool marked;
	size_t i;

	if (fan_kernel_marks_read(d->fan, &km) < 0) {
		kernel_marks_free(&km);
		return;
	}
	for (i = 0; i < d->fan->n_watched;) {
		w = &d->fan->watched[i];
		if (!w->path)
			marked = santa_mono_usec() - w->failed_usec < MARK_RETRY_USEC;
		else if (fan_key_dev(w->key, &major, &minor))
			marked = kernel_marks_has(km.sdev, km.n_sdev, km.sorted_sdev, major << 20 | minor);
		else
			marked = sscanf(w->key, "mnt:%u", &id) == 1 &&
				 kernel_marks_has(km.mnt, km.n_mnt, km.sorted_mnt, id);
		if (marked)
			i++;
		else
			drop_watched(d, i);
	}
	kernel_marks_free(&km);
}

static int
on_namespace_scan(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;

	if (mounts_events_active(d->fan))
		mounts_scan(d);
	else
		(void)fan_sync_marks(d);
	(void)sd_event_source_set_time_relative(s, MNTNS_SCAN_USEC);
	(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

/* The mount table changed (POLLPRI on mountinfo; only without mount events): watch what is new. */
static int
on_mounts_changed(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;

	fan_sync_marks(d);
	return 0;
}

/*
 * Reads one batch of events (at most size bytes) from a fanotify group and hands each to handle,
 * which owns the event's fd from then on. Events of an unknown metadata
 * version are answered (allow, so nothing hangs on us) and dropped.
 */
static size_t
read_events(struct santad *d, int fd, size_t size,
	    void (*handle)(struct santad *, int, pid_t, uint64_t))
{
	char buf[FAN_READ_BUF] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct fanotify_event_metadata *m;
	size_t n = 0;
	ssize_t len;

	errno = 0;
	len = read(fd, buf, size < sizeof(buf) ? size : sizeof(buf));
	if (len <= 0)
		return 0; /* errno says why */
	for (m = (struct fanotify_event_metadata *)buf; FAN_EVENT_OK(m, len);
	     m = FAN_EVENT_NEXT(m, len)) {
		n++;
		if (m->fd < 0) {
			/* FAN_Q_OVERFLOW: nothing to answer, but events were lost (only the notification group's queue is bounded). */
			if (m->mask & FAN_Q_OVERFLOW)
				d->fan->on.notifications_lost(d);
			continue;
		}
		if (m->vers != FANOTIFY_METADATA_VERSION) {
			santa_log(&d->log, LOG_ERR, "fanotify metadata version %u, expected %u",
				  m->vers, FANOTIFY_METADATA_VERSION);
			if (m->mask & FAN_OPEN_EXEC_PERM)
				fan_respond(d->fan->fd, m->fd, SANTA_VERDICT_ALLOW);
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
	struct stat st;

	if (!(mask & FAN_OPEN_EXEC_PERM)) {
		close(fd);
		return;
	}
	if (fstat(fd, &st) < 0) {
		d->fan->on.exec_uninspectable(d, fd, pid, d->fan->fd, errno);
		return;
	}
	d->fan->on.exec(d, fd, pid, d->fan->fd);
}

/* FAN_OPEN_EXEC on the notification group: an exec that happened (it was allowed). */
static void
handle_notification(struct santad *d, int fd, pid_t pid, uint64_t mask)
{
	if (mask & FAN_OPEN_EXEC)
		d->fan->on.exec_done(d, fd, pid); /* takes fd */
	else
		close(fd);
}

static int
on_notify_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;

	/* Held back by the last batch: their execs are done by now, or nearly. */
	bool waiting = d->fan->on.retry_exec_done(d);

	/*
	 * The next batch is read here, on this timer: while execs keep coming
	 * (a build, a storm) the group's fd stays out of the loop's poll set
	 * and each batch costs one wakeup. Only an empty period turns the fd's
	 * own wakeups back on (the next exec then wakes the loop at once).
	 */
	if (read_events(d, d->fan->notify_fd, FAN_READ_BUF, handle_notification) > 0)
		waiting = true;
	else
		sd_event_source_set_enabled(d->fan->notify_io, SD_EVENT_ON);
	/* Some still wait for their exec info, or more may follow: look again in a period. */
	if (waiting && sd_event_source_set_time_relative(s, NOTIFY_COALESCE_USEC) >= 0)
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

/*
 * Exec notifications are only logged, never answered: they are read in
 * batches, at most every NOTIFY_COALESCE_USEC, rather than with a wakeup per
 * exec. Waking once per exec costs santad less CPU when execs are rare, but
 * in a storm every wakeup takes a CPU from the execs themselves (measured:
 * +8 % on bench/exec_storm.sh against a few percent with batches). The
 * first exec after a quiet period wakes the loop (on_notify); from then on
 * the timer reads (on_notify_resume) until a period brings none: turning the
 * fd's wakeups off and on around every batch cost a build two wakeups and
 * five more system calls per exec line. Batches need the BPF exec info
 * (exec_info.c): by the time a batch is read, a short-lived process has left
 * /proc. Without it (no notify_pause) every notification is read at once,
 * while the process most likely still exists.
 */
static int
on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;

	read_events(d, fd, FAN_READ_BUF, handle_notification);
	if (d->fan->notify_pause &&
	    sd_event_source_set_time_relative(d->fan->notify_pause, NOTIFY_COALESCE_USEC) >= 0 &&
	    sd_event_source_set_enabled(d->fan->notify_pause, SD_EVENT_ONESHOT) >= 0)
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return 0;
}

/*
 * A read of the permission group fails when the kernel could not open the
 * event's file for santad: it then refuses the exec itself, unseen (no pid,
 * no path: no santa.log line). FUSE refuses a request from santad's uid 0
 * when the user namespace the mount was made in does not map it
 * (EOVERFLOW): every exec from a FUSE mount made in a user namespace is
 * refused so, once santad has marked it, in MONITOR too. Said at most once a
 * second, with a count.
 */
static void
note_unopenable(struct santad *d, int err)
{
	struct fan_client *fan = d->fan;
	uint64_t now;

	fan->unopenable++;
	now = santa_mono_usec();
	if (now - fan->unopenable_said_usec >= 1000000) {
		fan->unopenable_said_usec = now;
		santa_log_errno(&d->log, LOG_WARNING, -err, "The kernel refused an exec whose file "
				"it could not open for santad (%m: a FUSE mount made in a user "
				"namespace?) (%llu so far)", (unsigned long long)fan->unopenable);
	}
}

static int
on_fanotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;

	if (read_events(d, fd, FAN_PERM_READ_BYTES, handle_permission) > 0 || errno == EAGAIN ||
	    errno == EINTR || errno == 0)
		return 0;
	note_unopenable(d, errno);
	return 0;
}

/* Loop: an exec the FUSE group's thread read (fuse_reader.c), decided as the loop's own. */
static void
on_fuse_exec(void *userdata, int fd, pid_t pid, int err)
{
	struct santad *d = userdata;
	struct stat st;

	if (fd < 0) {
		note_unopenable(d, err);
		return;
	}
	if (fstat(fd, &st) < 0) {
		d->fan->on.exec_uninspectable(d, fd, pid, d->fan->fuse_fd, errno);
		return;
	}
	d->fan->on.exec(d, fd, pid, d->fan->fuse_fd);
}

size_t
fan_watched_entries(const struct fan_client *fan)
{
	return fan->n_watched;
}

const char *
fan_watched_path(const struct fan_client *fan, size_t i, const char **key)
{
	if (key)
		*key = fan->watched[i].key;
	return fan->watched[i].path;
}

int
fan_exec_fd(const struct fan_client *fan)
{
	return fan->fd;
}

bool
fan_is_exec_group(const struct fan_client *fan, int answer_fd)
{
	return answer_fd >= 0 && (answer_fd == fan->fd || answer_fd == fan->fuse_fd);
}

uint64_t
fan_fuse_events(const struct fan_client *fan)
{
	return fuse_reader_events(fan->fuse_reader);
}

uint64_t
fan_fuse_queue_full(const struct fan_client *fan)
{
	return fuse_reader_queue_full(fan->fuse_reader);
}

uint64_t
fan_fuse_held_usec(const struct fan_client *fan)
{
	return fuse_reader_held_usec(fan->fuse_reader);
}

int
fan_open_fd(const struct fan_client *fan)
{
	return fan->open_fd;
}

bool
fan_has_notify_group(const struct fan_client *fan)
{
	return fan->notify_fd >= 0;
}

bool
fan_notify_logs(const struct fan_client *fan)
{
	return fan->notify_logs;
}

size_t
fan_mount_namespaces(const struct fan_client *fan)
{
	return fan->mount_namespaces;
}

uint64_t
fan_count_uninspectable(struct fan_client *fan)
{
	return ++fan->uninspectable;
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
	struct fan_client *fan = d->fan;
	bool by_mount = false;
	size_t i;
	int r;

	santa_ratelimit_init(&fan->mark_failures, 1000000);
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
	fan->notify_logs = d->start.event_log_type != SANTA_EVENT_LOG_NULL;
	if (d->start.enable_kernel_ignore_marks) {
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
	if (d->start.enable_loader_check) {
		fan->open_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
						     FAN_UNLIMITED_QUEUE,
					     O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
		if (fan->open_fd < 0)
			santa_log_errno(&d->log, LOG_WARNING, -errno,
					"No loader check (%m): `ld.so PROGRAM` is not decided");
	}
	if (fan->on.loader_start(d) < 0 && fan->open_fd >= 0) {
		close(fan->open_fd);
		fan->open_fd = -1;
	}
	/*
	 * The FUSE group and its thread, before any mark (fuse_reader.c). The
	 * same class and flags as the loop's group. Without it FUSE and
	 * overlay filesystems are marked in the loop's group, as before.
	 */
	fan->fuse_fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
					     FAN_UNLIMITED_QUEUE,
				     O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
	if (fan->fuse_fd < 0 ||
	    (r = fuse_reader_start(d->event, fan->fuse_fd, on_fuse_exec, d, &fan->fuse_reader)) < 0) {
		santa_log_errno(&d->log, LOG_WARNING, fan->fuse_fd < 0 ? -errno : r,
				"No FUSE group (%m): a FUSE server that never answers holds every "
				"exec decision");
		if (fan->fuse_fd >= 0)
			close(fan->fuse_fd);
		fan->fuse_fd = -1;
	}
	by_mount = d->start.watch_mark_mount;
	/* A watched path that is not itself a mount point: mark what holds it. */
	for (i = 0; i < d->start.watch_paths.n; i++) {
		const char *path = d->start.watch_paths.items[i];
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
	/*
	 * Mount events first: a mount made while santad reads its table is
	 * then reported too. Without them (before Linux 6.15), tables are read
	 * again every second and santad's own at each change.
	 */
	r = mounts_start(d);
	if (r < 0 && r != -EOPNOTSUPP)
		return r;
	r = fan_sync_marks(d);
	if (r < 0)
		return r;
	if (santad_watched_count(fan) == 0)
		return santa_log_errno(&d->log, LOG_ERR, -ENOENT, "Nothing to watch: no local "
				       "filesystem found in /proc/self/mountinfo");
	(void)sd_event_add_time_relative(d->event, &fan->mntns_scan, CLOCK_MONOTONIC,
					 MNTNS_SCAN_USEC, 100000, on_namespace_scan, d);
	if (mounts_events_active(fan))
		mounts_scan(d); /* the other namespaces there are now */
	else
		fan->mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fan->mountinfo_fd >= 0)
		(void)sd_event_add_io(d->event, &fan->mounts, fan->mountinfo_fd, EPOLLPRI,
				      on_mounts_changed, d);
	return sd_event_add_io(d->event, &fan->io, fan->fd, EPOLLIN, on_fanotify, d);
}

int
fan_client_new(const struct fan_handlers *on, struct fan_client **out)
{
	struct fan_client *fan = calloc(1, sizeof(*fan));

	if (!fan)
		return -ENOMEM;
	fan->on = *on;
	fan->fd = fan->mountinfo_fd = fan->open_fd = fan->notify_fd = fan->fuse_fd = -1;
	*out = fan;
	return 0;
}

void
fan_client_free(struct fan_client *fan)
{
	free(fan);
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
	walk_stop_all(fan);
	mounts_stop(fan);
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
	/*
	 * A reader stuck in a server's request keeps the group alive (its
	 * read holds it) until the server answers: those execs wait that long.
	 */
	fuse_reader_stop(fan->fuse_reader);
	fan->fuse_reader = NULL;
	if (fan->fuse_fd >= 0)
		close(fan->fuse_fd);
	fan->fuse_fd = -1;
	for (i = 0; i < fan->n_watched; i++)
		free(fan->watched[i].path);
	free(fan->watched);
	fan->watched = NULL;
	fan->n_watched = 0;
}
