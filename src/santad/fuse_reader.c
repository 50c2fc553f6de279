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
 *
 * Such a thread also keeps its fd table alive, and with a shared one every
 * fd of santad's: killed (SIGKILL, a watchdog) while it is stuck, santad
 * would leave its other permission groups open with no reader, every open
 * and exec on the watched filesystems waiting for the user's server. So the
 * thread takes a table of its own (unshare CLONE_FILES) holding only its
 * group, its stop eventfd and its end of a socket, and hands each event's
 * fd (opened in its table) to the loop over that socket (SCM_RIGHTS).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fanotify.h"
#include "fuse_reader.h"

#define FUSE_QUEUE_MAX 256         /* execs waiting for the loop */
#define FUSE_READ_EVENTS 16        /* per read: each costs the server an open, one by one */
#define FUSE_STOP_WAIT_MSEC 1000

struct fuse_item {
	pid_t pid;
	int err; /* the read failed: no fd */
};

struct fuse_reader {
	int group_fd;
	int stop_fd;
	int sock[2]; /* [0] the loop's, [1] the thread's: one message per event, its fd attached */
	pthread_t thread;
	fuse_reader_handler handle;
	void *userdata;
	sd_event_source *queue_src;

	atomic_size_t queued; /* sent, not yet received: at most FUSE_QUEUE_MAX */
	atomic_uint_fast64_t events, queue_full;
};

/* Thread: hands fd (or, -1, a failed read's err) to the loop; false when the queue is full. */
static bool
queue_item(struct fuse_reader *r, int fd, struct fuse_item item)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &item, .iov_len = sizeof(item) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (atomic_fetch_add(&r->queued, 1) >= FUSE_QUEUE_MAX) {
		atomic_fetch_sub(&r->queued, 1);
		return false;
	}
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
	if (sendmsg(r->sock[1], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		atomic_fetch_sub(&r->queued, 1);
		return false;
	}
	if (fd >= 0)
		close(fd); /* the loop has its own now */
	return true;
}

/* Thread: an fd table of its own, with only the fds it uses (see the top). */
static void
own_fd_table(struct fuse_reader *r)
{
	int keep[3] = { r->group_fd, r->stop_fd, r->sock[1] };
	unsigned int from = 0;

	if (unshare(CLONE_FILES) < 0)
		return; /* shares santad's table, as the loader thread does */
	for (int i = 0; i < 3; i++) /* sorted: three fds */
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (int i = 0; i < 3; i++) {
		if ((unsigned int)keep[i] > from)
			(void)close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	(void)close_range(from, ~0U, 0);
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

	own_fd_table(r);
	for (;;) {
		struct fanotify_event_metadata *m;
		ssize_t len;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (!pfd[0].revents)
			continue;
		len = read(r->group_fd, buf, sizeof(buf));
		if (len < 0) {
			/* The kernel could not open the file for us: it refused the exec itself. */
			if (errno != EAGAIN && errno != EINTR)
				(void)queue_item(r, -1, (struct fuse_item){ .err = errno });
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
			if (!queue_item(r, m->fd, (struct fuse_item){ .pid = m->pid })) {
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

/* One message off the socket: 1 and *fd (-1: none), 0 when there is none. */
static int
receive_item(int sock, struct fuse_item *item, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = item, .iov_len = sizeof(*item) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;

	*fd = -1;
	if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*item))
		return 0;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 1;
}

static int
on_queue(sd_event_source *s, int sock, uint32_t revents, void *userdata)
{
	struct fuse_reader *r = userdata;
	struct fuse_item item;
	int fd;

	while (receive_item(sock, &item, &fd) > 0) {
		atomic_fetch_sub(&r->queued, 1);
		if (fd < 0 && item.err == 0)
			continue; /* an event's message without its fd: nothing to answer */
		r->handle(r->userdata, fd, item.pid, item.err);
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
	r->sock[0] = r->sock[1] = -1;
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stop_fd < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, r->sock) < 0) {
		err = -errno;
		goto out;
	}
	err = sd_event_add_io(event, &r->queue_src, r->sock[0], EPOLLIN, on_queue, r);
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
	for (int i = 0; i < 2; i++)
		if (r->sock[i] >= 0)
			close(r->sock[i]);
	free(r);
	return err;
}

void
fuse_reader_stop(struct fuse_reader *r)
{
	struct fuse_item item;
	struct timespec until;
	uint64_t one = 1;
	int fd;

	if (!r)
		return;
	(void)!write(r->stop_fd, &one, sizeof(one));
	r->queue_src = sd_event_source_disable_unref(r->queue_src);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)FUSE_STOP_WAIT_MSEC * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	if (pthread_timedjoin_np(r->thread, NULL, &until) != 0) {
		/* Stuck in a server's request: r stays, for when it returns (its fds are its own). */
		pthread_detach(r->thread);
		close(r->sock[0]);
		close(r->stop_fd);
		return;
	}
	/* Execs still queued: closing the group (fan_client_stop) allows them. */
	while (receive_item(r->sock[0], &item, &fd) > 0)
		if (fd >= 0)
			close(fd);
	close(r->stop_fd);
	close(r->sock[0]);
	close(r->sock[1]);
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
