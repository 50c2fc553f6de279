/*
 * Transitive rules: what a compiler writes may run. A process whose binary
 * has an ALLOWLIST_COMPILER rule is a compiler (exec decided with reason
 * COMPILER); while EnableTransitiveRules is on, a notification-only fanotify
 * group reports every close-after-write on the watched filesystems, and a
 * file a compiler wrote is hashed on a worker thread and, if it is a program
 * (ELF or #! script), gets an ALLOWLIST_TRANSITIVE rule for its SHA-256.
 *
 * Between the compiler's close and the rule, the file is "pending": an exec
 * of exactly that file (same inode, size, mtime and ctime as when santad
 * read the close) is allowed with reason PENDING_TRANSITIVE. The group also
 * reports writes (FAN_MODIFY): a write by any other process to a pending
 * file cancels it, and since the kernel queues events in order, every write
 * made before the file was hashed has been read by the time the rule would
 * be recorded (the queue is drained first). So another process cannot slip
 * its bytes into a compiler's output; writes through a shared mmap are the
 * known exception, as for ignore marks. Nothing here is on the permission
 * path but one drain of this queue and a table lookup.
 *
 * A compiler's pid is trusted only while its pidfd says it has not exited;
 * its exit is noticed through the pidfd, and the events it queued before
 * exiting (closes happen before the exit is signalled) are read first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "santa/clock.h"
#include "santa/sha256.h"
#include "priority.h"
#include "rule_writer.h"
#include "santad.h"
#include "fanotify.h"
#include "transitive.h"

#define TRANSITIVE_COMPILERS_MAX  1024 /* compilers running at once */
#define TRANSITIVE_PENDING_MAX    4096 /* files written and not yet ruled on */
#define TRANSITIVE_QUEUE_MAX      4096 /* files waiting for the hashing thread */
#define TRANSITIVE_EVENTS_PER_WAKEUP 1024
#define TRANSITIVE_EXPIRY_CHECK_USEC (24 * 3600 * 1000000ULL)

struct compiler_proc {
	pid_t pid;
	int pidfd;
	sd_event_source *exit_src;
	char sha256[SANTA_SHA256_HEX_LEN + 1];
	struct transitive *owner;
};

/* A file a compiler closed after writing, on its way through the hashing thread. */
struct written {
	struct written *next;
	int fd;
	struct santa_file_key key;
	char compiler[SANTA_SHA256_HEX_LEN + 1];
	char path[PATH_MAX];
	/* Filled by the thread. */
	int error;
	bool program;
	uint8_t sha256[SANTA_SHA256_LEN];
};

struct transitive {
	struct santad *daemon;
	int fd;
	sd_event_source *io;
	struct compiler_proc compilers[TRANSITIVE_COMPILERS_MAX];
	size_t n_compilers;
	struct santa_file_key pending[TRANSITIVE_PENDING_MAX];
	size_t n_pending;
	/* The hashing thread and its two queues (to it, and back through done_fd). */
	pthread_t thread;
	bool thread_started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct written *todo_head, *todo_tail, *done;
	size_t n_todo;
	int done_fd;
	sd_event_source *done_src;
	uint64_t dropped;
};

static void
forget_pending(struct transitive *t, const struct santa_file_key *key)
{
	for (size_t i = 0; i < t->n_pending; i++) {
		if (santa_file_key_equal(&t->pending[i], key)) {
			t->pending[i] = t->pending[--t->n_pending];
			return;
		}
	}
}

/* ---- the hashing thread ---- */

static void *
hash_thread(void *arg)
{
	struct transitive *t = arg;
	uint64_t one = 1;

	/* A user's compiler output: hashed at users' priority, not santad's (priority.h). */
	(void)santad_thread_nice(SANTAD_NICE_USER_WORK);
	pthread_mutex_lock(&t->lock);
	for (;;) {
		struct written *w;
		unsigned char magic[4] = { 0 };

		while (!t->todo_head && !t->stopping)
			pthread_cond_wait(&t->wake, &t->lock);
		if (t->stopping)
			break;
		w = t->todo_head;
		t->todo_head = w->next;
		if (!t->todo_head)
			t->todo_tail = NULL;
		t->n_todo--;
		pthread_mutex_unlock(&t->lock);

		/* A program: ELF, or a script the kernel would run (#!). */
		if (pread(w->fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic))
			w->program = memcmp(magic, "\177ELF", 4) == 0 || memcmp(magic, "#!", 2) == 0;
		w->error = w->program ? santa_sha256_fd(w->fd, w->sha256, NULL) : 0;
		if (w->error == 0 && w->program) {
			struct santa_file_key now;
			struct stat st;

			/* Changed while it was hashed: not what the compiler closed. */
			if (fstat(w->fd, &st) < 0) {
				w->error = -errno;
			} else {
				santa_file_key_of(&st, &now);
				if (!santa_file_key_equal(&now, &w->key))
					w->error = -ESTALE;
			}
		}

		pthread_mutex_lock(&t->lock);
		w->next = t->done;
		t->done = w;
		(void)!write(t->done_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void
written_free(struct written *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

/* Back on the loop: the rule is written, or the file was no program after all. */
static void drain(struct transitive *t);

static bool
is_pending(struct transitive *t, const struct santa_file_key *key)
{
	for (size_t i = 0; i < t->n_pending; i++)
		if (santa_file_key_equal(&t->pending[i], key))
			return true;
	return false;
}

static int
on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct transitive *t = userdata;
	struct santad *d = t->daemon;
	struct written *list, *w;
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	/* Writes by others queued before these files were hashed cancel them now. */
	drain(t);
	pthread_mutex_lock(&t->lock);
	list = t->done;
	t->done = NULL;
	pthread_mutex_unlock(&t->lock);
	while ((w = list)) {
		char hex[SANTA_SHA256_HEX_LEN + 1];

		list = w->next;
		if (!is_pending(t, &w->key)) {
			santa_log(&d->log, LOG_NOTICE, "%s was changed by another process after a "
				  "compiler wrote it: no transitive rule", w->path);
		} else if (w->program && w->error == 0) {
			/* Pending (allowed as its rule will allow it) until the writer committed the rule. */
			santa_sha256_to_hex(w->sha256, hex);
			if (rule_writer_add_transitive(d->rule_writer, hex, w->compiler, w->path,
						       &w->key) == 0) {
				written_free(w);
				continue;
			}
			santa_log(&d->log, LOG_WARNING, "transitive rule for %s not recorded: "
				  "too many rule writes queued", w->path);
		} else if (w->program) {
			santa_log_errno(&d->log, LOG_WARNING, w->error,
					"cannot hash %s, written by a compiler: %m", w->path);
		}
		forget_pending(t, &w->key);
		written_free(w);
	}
	return 0;
}

/* On the loop: the rule writer finished a transitive write (rule_writer.h). */
void
santad_transitive_written(struct santad *d, const struct rule_write_done *done)
{
	switch (done->kind) {
	case RULE_WRITE_TRANSITIVE_ADD:
		if (done->result == 1) {
			d->stats.transitive_added++;
			santa_log(&d->log, LOG_INFO, "transitive rule for %s (%s), written by "
				  "compiler %s", done->path, done->hex, done->compiler);
		} else if (done->result < 0) {
			santa_log(&d->log, LOG_WARNING, "transitive rule for %s not recorded: "
				  "the rules database failed", done->path);
		}
		/* Decided by its rule from now on (or, with none, as any other file). */
		if (d->transitive)
			forget_pending(d->transitive, done->key);
		break;
	case RULE_WRITE_TRANSITIVE_EXPIRE:
		if (done->result > 0) {
			santa_log(&d->log, LOG_INFO, "%d transitive rule(s) unused for 180 days removed",
				  done->result);
			d->pipeline.flush_decisions(d);
		}
		break;
	default:
		break;
	}
}

/* ---- compilers ---- */

static struct compiler_proc *
compiler_of(struct transitive *t, pid_t pid)
{
	for (size_t i = 0; i < t->n_compilers; i++)
		if (t->compilers[i].pid == pid)
			return &t->compilers[i];
	return NULL;
}

static void
compiler_remove(struct transitive *t, struct compiler_proc *c)
{
	sd_event_source_disable_unref(c->exit_src);
	close(c->pidfd);
	*c = t->compilers[--t->n_compilers];
	if (c != &t->compilers[t->n_compilers] && c->exit_src)
		sd_event_source_set_userdata(c->exit_src, c);
}

static int
on_compiler_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct compiler_proc *c = userdata;
	struct transitive *t = c->owner;

	/* Its last closes were queued before it exited: take them while it still counts. */
	drain(t);
	compiler_remove(t, c);
	return 0;
}

void
santad_transitive_compiler(struct santad *d, pid_t pid, const uint8_t *sha256)
{
	struct transitive *t = d->transitive;
	struct compiler_proc *c;
	int pidfd;

	if (!t || !sha256 || compiler_of(t, pid))
		return;
	if (t->n_compilers == TRANSITIVE_COMPILERS_MAX) {
		t->dropped++;
		return;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return; /* already gone: it wrote nothing we could still see */
	c = &t->compilers[t->n_compilers];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->pidfd = pidfd;
	c->owner = t;
	santa_sha256_to_hex(sha256, c->sha256);
	if (sd_event_add_io(d->event, &c->exit_src, pidfd, EPOLLIN, on_compiler_exit, c) < 0) {
		close(pidfd);
		return;
	}
	t->n_compilers++;
}

/* ---- close-after-write events ---- */

/* Someone other than a compiler wrote a file: if it was pending, it is not any more. */
static void
handle_foreign_write(struct transitive *t, int fd)
{
	struct stat st;
	size_t i;

	if (t->n_pending && fstat(fd, &st) == 0) {
		for (i = 0; i < t->n_pending;) {
			if (t->pending[i].dev == st.st_dev && t->pending[i].ino == st.st_ino)
				t->pending[i] = t->pending[--t->n_pending];
			else
				i++;
		}
	}
	close(fd);
}

static void
handle_close_write(struct transitive *t, pid_t pid, int fd)
{
	struct compiler_proc *c = compiler_of(t, pid);
	struct written *w;
	struct stat st;
	char link[64];
	ssize_t n;

	if (!c || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return;
	}
	if (t->n_todo >= TRANSITIVE_QUEUE_MAX || t->n_pending >= TRANSITIVE_PENDING_MAX ||
	    !(w = calloc(1, sizeof(*w)))) {
		t->dropped++;
		close(fd);
		return;
	}
	w->fd = fd;
	santa_file_key_of(&st, &w->key);
	snprintf(w->compiler, sizeof(w->compiler), "%s", c->sha256);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, w->path, sizeof(w->path) - 1);
	w->path[n > 0 ? n : 0] = '\0';
	t->pending[t->n_pending++] = w->key;
	pthread_mutex_lock(&t->lock);
	if (t->todo_tail)
		t->todo_tail->next = w;
	else
		t->todo_head = w;
	t->todo_tail = w;
	t->n_todo++;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
}

static void
drain(struct transitive *t)
{
	char buf[32 * 1024] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct fanotify_event_metadata m;
	unsigned int handled = 0;
	ssize_t len;
	size_t off;

	while (handled < TRANSITIVE_EVENTS_PER_WAKEUP && (len = read(t->fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + sizeof(m) <= (size_t)len; off += m.event_len) {
			memcpy(&m, buf + off, sizeof(m));
			if (m.vers != FANOTIFY_METADATA_VERSION || m.event_len < sizeof(m) ||
			    off + m.event_len > (size_t)len)
				return;
			handled++;
			if (m.mask & FAN_Q_OVERFLOW) {
				t->dropped++;
				continue;
			}
			if (m.fd < 0)
				continue;
			if (m.pid == getpid())
				close(m.fd); /* santad's own log and databases */
			else if (!compiler_of(t, m.pid))
				handle_foreign_write(t, m.fd);
			else if (m.mask & FAN_CLOSE_WRITE)
				handle_close_write(t, m.pid, m.fd);
			else
				close(m.fd); /* the compiler still writing */
		}
	}
}

static int
on_events(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	drain(userdata);
	return 0;
}

bool
santad_transitive_pending(struct santad *d, const struct santa_file_key *key)
{
	struct transitive *t = d->transitive;

	if (!t)
		return false;
	/* The close (or someone's later write) may still sit in the kernel's queue. */
	if (t->n_compilers || t->n_pending)
		drain(t);
	return is_pending(t, key);
}

/* ---- starting and stopping with EnableTransitiveRules ---- */

static void
transitive_stop(struct santad *d)
{
	struct transitive *t = d->transitive;
	struct written *w;

	if (!t)
		return;
	if (t->thread_started) {
		pthread_mutex_lock(&t->lock);
		t->stopping = true;
		pthread_cond_signal(&t->wake);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
	}
	while ((w = t->todo_head)) {
		t->todo_head = w->next;
		written_free(w);
	}
	while ((w = t->done)) {
		t->done = w->next;
		written_free(w);
	}
	while (t->n_compilers)
		compiler_remove(t, &t->compilers[t->n_compilers - 1]);
	sd_event_source_disable_unref(t->io);
	sd_event_source_disable_unref(t->done_src);
	if (t->fd >= 0)
		close(t->fd);
	if (t->done_fd >= 0)
		close(t->done_fd);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->wake);
	free(t);
	d->transitive = NULL;
}

static int
transitive_start(struct santad *d)
{
	unsigned int mark = d->start.watch_mark_mount ? FAN_MARK_MOUNT : FAN_MARK_FILESYSTEM;
	struct transitive *t = calloc(1, sizeof(*t));
	size_t marked = 0;
	int r;

	if (!t)
		return -ENOMEM;
	t->daemon = d;
	t->fd = t->done_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	d->transitive = t;
	t->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC | O_NONBLOCK);
	t->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->fd < 0 || t->done_fd < 0) {
		r = -errno;
		goto fail;
	}
	for (size_t i = 0; i < fan_watched_entries(d->fan); i++) {
		const char *path = fan_watched_path(d->fan, i, NULL);

		if (path && fanotify_mark(t->fd, FAN_MARK_ADD | mark, FAN_CLOSE_WRITE | FAN_MODIFY,
					  AT_FDCWD, path) == 0)
			marked++;
	}
	if (marked == 0) {
		r = -ENOENT;
		goto fail;
	}
	r = sd_event_add_io(d->event, &t->io, t->fd, EPOLLIN, on_events, t);
	if (r >= 0)
		r = sd_event_add_io(d->event, &t->done_src, t->done_fd, EPOLLIN, on_done, t);
	if (r < 0)
		goto fail;
	r = -pthread_create(&t->thread, NULL, hash_thread, t);
	if (r < 0)
		goto fail;
	t->thread_started = true;
	santa_log(&d->log, LOG_INFO, "transitive rules on: watching what compilers write on %zu "
		  "filesystem(s)", marked);
	return 0;
fail:
	santa_log_errno(&d->log, LOG_ERR, r, "transitive rules cannot be recorded: %m");
	transitive_stop(d);
	return r;
}

/* Unused transitive rules go after SANTA_TRANSITIVE_EXPIRY_SECONDS, checked daily. */
static int
on_expiry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;

	/* The writer removes them; santad_transitive_written logs and flushes. */
	(void)rule_writer_expire_transitive(d->rule_writer, (int64_t)santa_unix_now() -
								  SANTA_TRANSITIVE_EXPIRY_SECONDS);
	if (s)
		sd_event_source_set_time(s, usec + TRANSITIVE_EXPIRY_CHECK_USEC);
	return 0;
}

void
santad_transitive_reconcile(struct santad *d)
{
	bool want = d->policy->cfg.enable_transitive_rules;

	if (!d->transitive_expiry) {
		on_expiry(NULL, 0, d);
		if (sd_event_add_time_relative(d->event, &d->transitive_expiry, CLOCK_MONOTONIC,
					       TRANSITIVE_EXPIRY_CHECK_USEC, 0, on_expiry, d) >= 0)
			sd_event_source_set_enabled(d->transitive_expiry, SD_EVENT_ON);
	}
	if (want && !d->transitive)
		(void)transitive_start(d);
	else if (!want && d->transitive) {
		transitive_stop(d);
		santa_log(&d->log, LOG_INFO, "transitive rules off");
	}
}

void
santad_transitive_shutdown(struct santad *d)
{
	transitive_stop(d);
	d->transitive_expiry = sd_event_source_disable_unref(d->transitive_expiry);
}
