/*
 * To give santad an event's fd, the kernel opens the exec'd file inside
 * santad's read() of the permission group. On FUSE that open is a request to
 * the mount's server, which its owner runs and may never answer; an overlay
 * opens the file below it, which may be on FUSE. Read on the loop, one
 * user's server held every exec decision of the machine (the loop stuck in
 * read(), root's execs then allowed at their deadline in LOCKDOWN). So those
 * filesystems are marked in a group of their own, read by this thread, as
 * the loader check's group is (loader.c): it opens nothing and decides
 * nothing, it queues (fd, pid) to the loop, which decides them as its own
 * events (cache, rules, deadline, log line), answering on this group. A
 * stuck server stalls this thread, so every exec on FUSE and overlay
 * filesystems (one group for all their owners), never another exec.
 *
 * A full queue (FUSE_QUEUE_MAX) denies at once, as the loop's deadline
 * denies a user's file. A thread stuck in a request its server holds cannot
 * be woken or killed (the kernel waits for the answer): at shutdown it is
 * waited for FUSE_STOP_WAIT_MSEC, then left behind; it ends with the
 * process, when the server answers or dies.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <time.h>
#include <unistd.h>

#include "santa/clock.h"
#include "fanotify.h"
#include "fuse_reader.h"

#define FUSE_QUEUE_MAX 256         /* execs waiting for the loop */
#define FUSE_READ_EVENTS 16        /* per read: each costs the server an open, one by one */
#define FUSE_STOP_WAIT_MSEC 1000

struct fuse_item {
	int fd;
	pid_t pid;
	int err;
};

struct fuse_reader {
	int group_fd;
	int stop_fd, queue_efd;
	pthread_t thread;
	fuse_reader_handler handle;
	void *userdata;
	sd_event_source *queue_src;

	pthread_mutex_t lock;
	struct fuse_item queue[FUSE_QUEUE_MAX];
	size_t head, len;
	atomic_uint_fast64_t events, queue_full;
	/* When the read under way began (0: none): the kernel's open for it may wait on a user's server. */
	atomic_uint_fast64_t read_since_usec;
};

static bool
queue_item(struct fuse_reader *r, struct fuse_item item)
{
	uint64_t one = 1;
	bool queued = false;

	pthread_mutex_lock(&r->lock);
	if (r->len < FUSE_QUEUE_MAX) {
		r->queue[(r->head + r->len++) % FUSE_QUEUE_MAX] = item;
		queued = true;
	}
	pthread_mutex_unlock(&r->lock);
	if (queued)
		(void)!write(r->queue_efd, &one, sizeof(one));
	return queued;
}

static void *
reader_thread(void *arg)
{
	char buf[FUSE_READ_EVENTS * sizeof(struct fanotify_event_metadata)]
		__attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct fuse_reader *r = arg;
	struct pollfd pfd[2] = {
		{ .fd = r->group_fd, .events = POLLIN },
		{ .fd = r->stop_fd, .events = POLLIN },
	};

	for (;;) {
		struct fanotify_event_metadata *m;
		ssize_t len;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!pfd[0].revents)
			continue;
		atomic_store(&r->read_since_usec, santa_mono_usec());
		len = read(r->group_fd, buf, sizeof(buf));
		atomic_store(&r->read_since_usec, 0);
		if (len < 0) {
			/* The kernel could not open the file for us: it refused the exec itself. */
			if (errno != EAGAIN && errno != EINTR)
				(void)queue_item(r, (struct fuse_item){ .fd = -1, .err = errno });
			continue;
		}
		for (m = (struct fanotify_event_metadata *)buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			if (m->fd < 0)
				continue;
			atomic_fetch_add(&r->events, 1);
			if (m->vers != FANOTIFY_METADATA_VERSION || !(m->mask & FAN_OPEN_EXEC_PERM)) {
				fan_respond(r->group_fd, m->fd, SANTA_VERDICT_ALLOW);
				close(m->fd);
				continue;
			}
			if (!queue_item(r, (struct fuse_item){ .fd = m->fd, .pid = m->pid })) {
				atomic_fetch_add(&r->queue_full, 1);
				/*
				 * The loop is far behind: denied, as its deadline
				 * denies a user's file (a server claims any owner).
				 */
				fan_respond(r->group_fd, m->fd, SANTA_VERDICT_DENY);
				close(m->fd);
			}
		}
	}
	return NULL;
}

static int
on_queue(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct fuse_reader *r = userdata;
	struct fuse_item item;
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	for (;;) {
		pthread_mutex_lock(&r->lock);
		if (r->len == 0) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		item = r->queue[r->head];
		r->head = (r->head + 1) % FUSE_QUEUE_MAX;
		r->len--;
		pthread_mutex_unlock(&r->lock);
		r->handle(r->userdata, item.fd, item.pid, item.err);
	}
	return 0;
}

int
fuse_reader_start(sd_event *event, int group_fd, fuse_reader_handler handle, void *userdata,
		  struct fuse_reader **out)
{
	struct fuse_reader *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->group_fd = group_fd;
	r->handle = handle;
	r->userdata = userdata;
	pthread_mutex_init(&r->lock, NULL);
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->queue_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stop_fd < 0 || r->queue_efd < 0) {
		err = -errno;
		goto out;
	}
	err = sd_event_add_io(event, &r->queue_src, r->queue_efd, EPOLLIN, on_queue, r);
	if (err < 0)
		goto out;
	err = -pthread_create(&r->thread, NULL, reader_thread, r);
	if (err < 0)
		goto out;
	(void)pthread_setname_np(r->thread, "santad-fuse"); /* profiles and tests say which thread */
	*out = r;
	return 0;
out:
	sd_event_source_disable_unref(r->queue_src);
	if (r->stop_fd >= 0)
		close(r->stop_fd);
	if (r->queue_efd >= 0)
		close(r->queue_efd);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return err;
}

void
fuse_reader_stop(struct fuse_reader *r)
{
	struct timespec until;
	uint64_t one = 1;

	if (!r)
		return;
	(void)!write(r->stop_fd, &one, sizeof(one));
	r->queue_src = sd_event_source_disable_unref(r->queue_src);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)FUSE_STOP_WAIT_MSEC * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	if (pthread_timedjoin_np(r->thread, NULL, &until) != 0) {
		/* Stuck in a server's request: its fds and r stay, for when it returns. */
		pthread_detach(r->thread);
		return;
	}
	/* Execs still queued: closing the group (fan_client_stop) allows them. */
	while (r->len > 0) {
		if (r->queue[r->head].fd >= 0)
			close(r->queue[r->head].fd);
		r->head = (r->head + 1) % FUSE_QUEUE_MAX;
		r->len--;
	}
	close(r->stop_fd);
	close(r->queue_efd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

uint64_t
fuse_reader_events(const struct fuse_reader *r)
{
	return r ? atomic_load(&r->events) : 0;
}

uint64_t
fuse_reader_queue_full(const struct fuse_reader *r)
{
	return r ? atomic_load(&r->queue_full) : 0;
}

uint64_t
fuse_reader_held_usec(const struct fuse_reader *r)
{
	uint64_t since = r ? atomic_load(&r->read_since_usec) : 0, now = santa_mono_usec();

	return since && now > since ? now - since : 0;
}
