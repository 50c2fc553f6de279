/*
 * FileChangesRegex: writes, renames and deletions of matching paths become
 * WRITE / RENAME / DELETE lines in santa.log, as on Santa. A notification
 * group of its own (FAN_REPORT_DFID_NAME: the kernel names the directory and
 * the entry) so that the permission path never waits for it; it exists only
 * while the regex is set, since every close-after-write on the watched
 * filesystems wakes it.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "santad.h"
#include "event_log.h"
#include "fanotify.h"
#include "file_changes.h"
#include "proc.h"

#define FC_MAX_FILESYSTEMS 256
#define FC_EVENTS_PER_WAKEUP 512 /* bounded work per wakeup; the rest waits in the kernel */

struct fc_fs {
	fsid_t fsid;
	int mount_fd; /* an open (not O_PATH: EBADF) directory on it, for open_by_handle_at */
};

struct file_changes {
	struct santad *daemon;
	int fd;
	sd_event_source *io;
	pcre2_code *regex;
	pcre2_match_data *match;
	struct fc_fs fs[FC_MAX_FILESYSTEMS];
	size_t n_fs;
	uint64_t logged, unresolved;
};

static bool
matches(struct file_changes *fc, const char *path)
{
	const struct santad_start_settings *start = &fc->daemon->start;

	/* Santa always leaves out hidden top-level paths and /dev. */
	if (strncmp(path, "/.", 2) == 0 || strncmp(path, "/dev/", 5) == 0)
		return false;
	for (size_t i = 0; i < start->file_changes_prefix_filters.n; i++) {
		const char *p = start->file_changes_prefix_filters.items[i];

		if (strncmp(path, p, strlen(p)) == 0)
			return false;
	}
	return pcre2_match(fc->regex, (PCRE2_SPTR)path, PCRE2_ZERO_TERMINATED, 0, 0, fc->match,
			   NULL) >= 0;
}

/* dir handle + name -> "/dir/name", through the filesystem the handle belongs to. */
static int
resolve(struct file_changes *fc, const struct fanotify_event_info_fid *info, char *out,
	size_t size)
{
	struct file_handle *fh = (struct file_handle *)info->handle;
	const char *name = (const char *)fh->f_handle + fh->handle_bytes;
	char link[64], dir[PATH_MAX];
	ssize_t n;
	size_t i;
	int fd;

	for (i = 0; i < fc->n_fs; i++)
		if (memcmp(&fc->fs[i].fsid, &info->fsid, sizeof(info->fsid)) == 0)
			break;
	if (i == fc->n_fs)
		return -ENOENT;
	fd = open_by_handle_at(fc->fs[i].mount_fd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno; /* the directory is gone too */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, dir, sizeof(dir) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	dir[n] = '\0';
	if ((size_t)snprintf(out, size, "%s%s%s", strcmp(dir, "/") == 0 ? "" : dir,
			     name[0] ? "/" : "", name) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static void
submit(struct file_changes *fc, enum record_kind kind, const char *path, const char *newpath,
       pid_t pid)
{
	struct santad *d = fc->daemon;
	struct exec_record *rec;
	char link[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	rec = exec_record_new(kind, path, newpath, n > 0 ? exe : NULL, NULL);
	if (!rec)
		return;
	rec->pid = pid;
	santad_process_info(pid, &rec->ppid, &rec->uid, &rec->gid);
	fc->logged++;
	event_log_submit(d->elog, rec);
}

/*
 * One event: m is an aligned copy of its metadata; raw the event's bytes as
 * read (events with names have lengths that are not multiples of 8, so the
 * info records are copied out before use).
 */
static void
handle_event(struct file_changes *fc, const struct fanotify_event_metadata *m, const char *raw)
{
	struct fanotify_event_info_header hdr, *h = &hdr;
	char path[PATH_MAX] = "", oldpath[PATH_MAX] = "", newpath[PATH_MAX] = "";
	union {
		struct fanotify_event_info_fid fid;
		char bytes[sizeof(struct fanotify_event_info_fid) + MAX_HANDLE_SZ + NAME_MAX + 2];
	} rec;
	bool have_path = false;
	size_t off;

	if (m->pid == getpid())
		return; /* santad's own writes (santa.log) would feed back */
	for (off = m->metadata_len; off + sizeof(hdr) <= m->event_len; off += hdr.len) {
		const struct fanotify_event_info_fid *info = &rec.fid;

		memcpy(&hdr, raw + off, sizeof(hdr));
		if (hdr.len < sizeof(hdr) || off + hdr.len > m->event_len ||
		    hdr.len > sizeof(rec.bytes) - 1)
			return; /* malformed: nothing sensible to log */
		memcpy(rec.bytes, raw + off, hdr.len);
		rec.bytes[hdr.len] = '\0';
		switch (h->info_type) {
		case FAN_EVENT_INFO_TYPE_DFID_NAME:
			have_path = resolve(fc, info, path, sizeof(path)) == 0;
			break;
		case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
			if (resolve(fc, info, oldpath, sizeof(oldpath)) < 0)
				oldpath[0] = '\0';
			break;
		case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
			if (resolve(fc, info, newpath, sizeof(newpath)) < 0)
				newpath[0] = '\0';
			break;
		default:
			break;
		}
	}
	if (m->mask & FAN_RENAME) {
		/* Logged when either end matches: moving a file in or out is a change. */
		if (oldpath[0] && (matches(fc, oldpath) || (newpath[0] && matches(fc, newpath))))
			submit(fc, RECORD_RENAME, oldpath, newpath[0] ? newpath : NULL, m->pid);
		else if (!oldpath[0])
			fc->unresolved++;
		return;
	}
	if (!have_path) {
		fc->unresolved++;
		return;
	}
	if ((m->mask & FAN_ONDIR) || !matches(fc, path))
		return;
	if (m->mask & FAN_DELETE)
		submit(fc, RECORD_DELETE, path, NULL, m->pid);
	else if (m->mask & FAN_CLOSE_WRITE)
		submit(fc, RECORD_WRITE, path, NULL, m->pid);
}

static int
on_events(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct file_changes *fc = userdata;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct fanotify_event_metadata m;
	unsigned int handled = 0;
	ssize_t len;
	size_t off;

	while (handled < FC_EVENTS_PER_WAKEUP && (len = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + sizeof(m) <= (size_t)len; off += m.event_len) {
			memcpy(&m, buf + off, sizeof(m));
			if (m.vers != FANOTIFY_METADATA_VERSION || m.event_len < sizeof(m) ||
			    off + m.event_len > (size_t)len)
				return 0;
			if (m.fd >= 0)
				close(m.fd);
			if (!(m.mask & FAN_Q_OVERFLOW))
				handle_event(fc, &m, buf + off);
			handled++;
		}
	}
	return 0;
}

/* A filesystem mark on every filesystem santad watches (the mark needs a filesystem for dirent events). */
static int
mark_all(struct file_changes *fc)
{
	struct santad *d = fc->daemon;
	const uint64_t mask = FAN_CLOSE_WRITE | FAN_DELETE | FAN_RENAME | FAN_ONDIR;
	int marked = 0;

	for (size_t i = 0; i < fan_watched_entries(d->fan) && fc->n_fs < FC_MAX_FILESYSTEMS; i++) {
		const char *path = fan_watched_path(d->fan, i, NULL);
		struct statfs sfs;
		int mfd;

		if (!path)
			continue;
		if (fanotify_mark(fc->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, path) < 0) {
			santa_log_errno(&d->log, LOG_WARNING, -errno,
					"FileChangesRegex: cannot watch changes on %s: %m", path);
			continue;
		}
		mfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0 || fstatfs(mfd, &sfs) < 0) {
			if (mfd >= 0)
				close(mfd);
			continue;
		}
		fc->fs[fc->n_fs].fsid = sfs.f_fsid;
		fc->fs[fc->n_fs].mount_fd = mfd;
		fc->n_fs++;
		marked++;
	}
	return marked;
}

int
file_changes_start(struct santad *d, struct file_changes **out)
{
	const char *pattern = d->start.file_changes_regex;
	struct file_changes *fc;
	PCRE2_SIZE erroff;
	char anchored[SANTA_CONFIG_MAX_VALUE_LEN + 2];
	int err, r;

	*out = NULL;
	if (!pattern)
		return 0;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return -ENOMEM;
	fc->daemon = d;
	fc->fd = -1;
	/* As for Santa's other regex keys: anchored at the start. */
	snprintf(anchored, sizeof(anchored), "%s%s", pattern[0] == '^' ? "" : "^", pattern);
	fc->regex = pcre2_compile((PCRE2_SPTR)anchored, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err,
				  &erroff, NULL);
	if (!fc->regex) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(err, msg, sizeof(msg));
		santa_log(&d->log, LOG_ERR, "FileChangesRegex does not compile at offset %zu: %s; "
			  "file changes are not logged", (size_t)erroff, (char *)msg);
		r = -EINVAL;
		goto fail;
	}
	fc->match = pcre2_match_data_create_from_pattern(fc->regex, NULL);
	fc->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
			       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (!fc->match || fc->fd < 0) {
		r = fc->fd < 0 ? -errno : -ENOMEM;
		santa_log_errno(&d->log, LOG_ERR, r, "FileChangesRegex: this kernel gives no "
				"file-change events with names (%m); file changes are not logged");
		goto fail;
	}
	if (mark_all(fc) == 0) {
		r = -ENOENT;
		santa_log(&d->log, LOG_ERR, "FileChangesRegex: no filesystem could be watched");
		goto fail;
	}
	r = sd_event_add_io(d->event, &fc->io, fc->fd, EPOLLIN, on_events, fc);
	if (r < 0)
		goto fail;
	santa_log(&d->log, LOG_INFO, "logging writes, renames and deletes matching %s on %zu "
		  "filesystem(s)", anchored, fc->n_fs);
	*out = fc;
	return 0;
fail:
	file_changes_stop(fc);
	return r;
}

void
file_changes_stop(struct file_changes *fc)
{
	if (!fc)
		return;
	sd_event_source_disable_unref(fc->io);
	if (fc->fd >= 0)
		close(fc->fd);
	for (size_t i = 0; i < fc->n_fs; i++)
		close(fc->fs[i].mount_fd);
	pcre2_match_data_free(fc->match);
	pcre2_code_free(fc->regex);
	free(fc);
}
