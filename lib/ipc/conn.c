/*
 * One IPC connection over an AF_UNIX SOCK_SEQPACKET socket, driven by an
 * sd_event loop: a datagram is a message, fds ride along as SCM_RIGHTS.
 *
 * Lifecycle: HANDSHAKE (listener side, until HELLO) or RECONNECTING
 * (client side, until HELLO_OK) -> OPEN -> INTERRUPTED (named connections
 * whose peer went away; a timer reconnects) or INVALID (finished). Handlers
 * run with a reference held, so they may drop theirs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "santa/clock.h"
#include "ipc-internal.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

static void conn_disconnected(struct ipc_conn *conn, int error);
static int conn_update_io(struct ipc_conn *conn);
static void send_next_deferred(struct ipc_conn *conn);

/* ---- lifetime ---- */

struct ipc_conn *
conn_new(sd_event *event, int fd, const struct ipc_conn_options *opts,
	 const struct ipc_conn_handlers *handlers, void *userdata)
{
	struct ipc_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->scratch = malloc(IPC_MAX_MSG + 1);
	if (!conn->scratch) {
		free(conn);
		return NULL;
	}
	conn->refs = 1;
	conn->event = sd_event_ref(event);
	conn->fd = fd;
	conn->next_id = 1;
	conn->userdata = userdata;
	if (handlers)
		conn->handlers = *handlers;
	if (opts)
		conn->opts = *opts;
	if (!conn->opts.max_in_flight)
		conn->opts.max_in_flight = IPC_DEFAULT_MAX_IN_FLIGHT;
	if (!conn->opts.max_outbound)
		conn->opts.max_outbound = IPC_DEFAULT_MAX_OUTBOUND;
	if (conn->opts.max_outbound < conn->opts.max_in_flight * 2)
		conn->opts.max_outbound = conn->opts.max_in_flight * 2;
	return conn;
}

struct ipc_conn *
ipc_conn_ref(struct ipc_conn *conn)
{
	if (conn)
		conn->refs++;
	return conn;
}

static void
out_entry_free(struct out_entry *e)
{
	free(e->data);
	ipc_msg_free(e->msg);
	free(e);
}

static void
drop_outbound(struct ipc_conn *conn, bool run_barriers)
{
	struct out_entry *e;

	while ((e = conn->out_head)) {
		conn->out_head = e->next;
		if (e->barrier && run_barriers)
			e->barrier(conn, e->barrier_userdata);
		out_entry_free(e);
	}
	conn->out_tail = NULL;
	conn->out_len = 0;
}

void
ipc_conn_unref(struct ipc_conn *conn)
{
	if (!conn || --conn->refs > 0)
		return;
	/* The last reference: nothing can run a handler any more. */
	conn->handlers = (struct ipc_conn_handlers){ 0 };
	if (conn->state != CONN_INVALID) {
		conn->refs = 1; /* alive through the invalidation, which refs and unrefs */
		conn_invalidate(conn, 0);
		if (--conn->refs > 0)
			return;
	}
	drop_outbound(conn, false);
	sd_event_source_disable_unref(conn->request_timer);
	sd_event_unref(conn->event);
	free(conn->path);
	free(conn->scratch);
	free(conn);
}

/* ---- requests awaiting replies ---- */

static struct pending_request *
pending_take(struct ipc_conn *conn, uint64_t id)
{
	struct pending_request **pp, *p;

	for (pp = &conn->pending; (p = *pp); pp = &p->next) {
		if (p->id == id) {
			*pp = p->next;
			conn->n_pending--;
			if (!p->deferred && conn->n_sent_pending > 0)
				conn->n_sent_pending--;
			return p;
		}
	}
	return NULL;
}

/* Runs the callback of a finished request and frees it. */
static void
pending_finish(struct ipc_conn *conn, struct pending_request *p, struct ipc_msg *reply,
	       int error)
{
	ipc_msg_free(p->deferred);
	if (p->cb)
		p->cb(conn, reply, error, p->userdata);
	else
		ipc_msg_free(reply);
	free(p);
}

static void
fail_all_pending(struct ipc_conn *conn, int error)
{
	struct pending_request *p;

	while ((p = conn->pending)) {
		conn->pending = p->next;
		conn->n_pending--;
		pending_finish(conn, p, NULL, error);
	}
	conn->n_sent_pending = 0;
	sd_event_source_set_enabled(conn->request_timer, SD_EVENT_OFF);
	conn->request_timer_at = 0;
}

/*
 * One timer per connection serves every pending request: it is armed for
 * the earliest deadline and, when it fires, fails what expired and re-arms
 * for the next. Requests answered in time never touch it, so a round trip
 * costs no timer syscalls.
 */
static void
arm_request_timer(struct ipc_conn *conn)
{
	struct pending_request *p;
	uint64_t earliest = UINT64_MAX;

	for (p = conn->pending; p; p = p->next)
		if (p->deadline < earliest)
			earliest = p->deadline;
	if (earliest == UINT64_MAX) {
		sd_event_source_set_enabled(conn->request_timer, SD_EVENT_OFF);
		return;
	}
	if (sd_event_source_set_time(conn->request_timer, earliest) >= 0)
		sd_event_source_set_enabled(conn->request_timer, SD_EVENT_ONESHOT);
	conn->request_timer_at = earliest;
}

static int
on_request_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ipc_conn *conn = ipc_conn_ref(userdata);
	struct pending_request *p;
	uint64_t now;

	sd_event_now(conn->event, CLOCK_MONOTONIC, &now);
	conn->request_timer_at = 0;
	/* Callbacks may add or finish requests: rescan after each one. */
	for (;;) {
		for (p = conn->pending; p && p->deadline > now; p = p->next)
			;
		if (!p)
			break;
		p = pending_take(conn, p->id);
		pending_finish(conn, p, NULL, -ETIMEDOUT);
	}
	if (conn->state != CONN_INVALID) {
		arm_request_timer(conn);
		send_next_deferred(conn);
	}
	ipc_conn_unref(conn);
	return 0;
}

/* ---- sending ---- */

static int
send_entry(struct ipc_conn *conn, const struct out_entry *e)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = e->data, .iov_len = e->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (e->n_fds) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * e->n_fds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * e->n_fds);
		memcpy(CMSG_DATA(cm), e->fds, sizeof(int) * e->n_fds);
	}
	do {
		n = sendmsg(conn->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

/* Writes queued entries until the socket is full. Returns 0 or the fatal -errno. */
static int
flush_outbound(struct ipc_conn *conn)
{
	struct out_entry *e;
	int r;

	while ((e = conn->out_head)) {
		if (e->data) {
			if (conn->fd < 0)
				return 0;
			r = send_entry(conn, e);
			if (r == -EAGAIN)
				return 0;
			if (r < 0)
				return r;
			conn->stats.sent++;
		}
		conn->out_head = e->next;
		if (!conn->out_head)
			conn->out_tail = NULL;
		conn->out_len--;
		if (e->barrier)
			e->barrier(conn, e->barrier_userdata);
		out_entry_free(e);
	}
	return 0;
}

static void
out_append(struct ipc_conn *conn, struct out_entry *e)
{
	if (conn->out_tail)
		conn->out_tail->next = e;
	else
		conn->out_head = e;
	conn->out_tail = e;
	conn->out_len++;
}

/* Drops the oldest queued event (never the head, which may be mid-send). */
static bool
drop_oldest_event(struct ipc_conn *conn)
{
	struct out_entry **pp, *e;

	for (pp = &conn->out_head; (e = *pp); pp = &e->next) {
		if (e->droppable) {
			*pp = e->next;
			if (conn->out_tail == e) {
				struct out_entry *t = conn->out_head;

				while (t && t->next)
					t = t->next;
				conn->out_tail = t;
			}
			conn->out_len--;
			conn->stats.dropped_events++;
			out_entry_free(e);
			return true;
		}
	}
	return false;
}

/*
 * Encodes msg (with the connection's session) and queues it; takes msg.
 * Returns 0, -ENOTCONN, -ENOBUFS (queue full) or an encoding error.
 */
int
conn_queue_msg(struct ipc_conn *conn, struct ipc_msg *msg, bool droppable)
{
	struct out_entry *e = NULL;
	size_t len = 0;
	int r;

	if (conn->state == CONN_INVALID || conn->state == CONN_INTERRUPTED) {
		r = -ENOTCONN;
		goto fail;
	}
	if (conn->out_len >= conn->opts.max_outbound) {
		if (!droppable || !drop_oldest_event(conn)) {
			if (droppable)
				conn->stats.dropped_events++;
			r = -ENOBUFS;
			goto fail;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto fail;
	}
	ipc_msg_set_header(msg, ipc_msg_flags(msg), ipc_msg_request_id(msg), conn->session);
	r = ipc_msg_encode(msg, conn->scratch, &len, e->fds, &e->n_fds);
	if (r < 0)
		goto fail;
	e->data = malloc(len);
	if (!e->data) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(e->data, conn->scratch, len);
	e->len = len;
	e->msg = msg;
	e->droppable = droppable;
	out_append(conn, e);
	r = flush_outbound(conn);
	if (r < 0) {
		conn_disconnected(conn, r);
		return 0; /* queued; the disconnect path reports it */
	}
	conn_update_io(conn);
	return 0;
fail:
	if (e)
		free(e);
	ipc_msg_free(msg);
	return r;
}

static void
send_next_deferred(struct ipc_conn *conn)
{
	struct pending_request *p;
	struct ipc_msg *msg;
	int r;

	if (!conn->opts.serial || conn->n_sent_pending > 0 || conn->state != CONN_OPEN)
		return;
	/* The list is newest-first; the oldest deferred request goes next. */
	struct pending_request *oldest = NULL;

	for (p = conn->pending; p; p = p->next)
		if (p->deferred)
			oldest = p;
	if (!oldest)
		return;
	msg = oldest->deferred;
	oldest->deferred = NULL;
	conn->n_sent_pending++;
	r = conn_queue_msg(conn, msg, false);
	if (r < 0) {
		p = pending_take(conn, oldest->id);
		if (p)
			pending_finish(conn, p, NULL, r);
	}
}

int
ipc_conn_send_request(struct ipc_conn *conn, struct ipc_msg *msg, uint64_t timeout_usec,
		      ipc_reply_fn cb, void *userdata)
{
	struct pending_request *p;
	uint64_t now;
	int r;

	if (conn->state != CONN_OPEN) {
		ipc_msg_free(msg);
		return -ENOTCONN;
	}
	if (conn->n_pending >= IPC_MAX_PENDING_REQUESTS) {
		ipc_msg_free(msg);
		return -ENOBUFS;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		ipc_msg_free(msg);
		return -ENOMEM;
	}
	p->conn = conn;
	p->id = conn->next_id++;
	p->cb = cb;
	p->userdata = userdata;
	if (!timeout_usec)
		timeout_usec = IPC_DEFAULT_REQUEST_TIMEOUT_USEC;
	sd_event_now(conn->event, CLOCK_MONOTONIC, &now);
	p->deadline = now + timeout_usec;
	if (!conn->request_timer) {
		r = sd_event_add_time(conn->event, &conn->request_timer, CLOCK_MONOTONIC, p->deadline,
				      1000, on_request_timer, conn);
		if (r < 0) {
			free(p);
			ipc_msg_free(msg);
			return r;
		}
		conn->request_timer_at = p->deadline;
	} else if (!conn->request_timer_at || p->deadline < conn->request_timer_at) {
		sd_event_source_set_time(conn->request_timer, p->deadline);
		sd_event_source_set_enabled(conn->request_timer, SD_EVENT_ONESHOT);
		conn->request_timer_at = p->deadline;
	}
	ipc_msg_set_header(msg, 0, p->id, conn->session);
	p->next = conn->pending;
	conn->pending = p;
	conn->n_pending++;
	if (conn->opts.serial && conn->n_sent_pending > 0) {
		p->deferred = msg;
		return 0;
	}
	conn->n_sent_pending++;
	r = conn_queue_msg(conn, msg, false);
	if (r < 0) {
		pending_take(conn, p->id);
		free(p);
	}
	return r;
}

struct call_state {
	bool done;
	int error;
	struct ipc_msg *reply;
};

static void
on_call_reply(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct call_state *st = userdata;

	st->done = true;
	st->error = error;
	st->reply = reply;
}

int
ipc_conn_call(struct ipc_conn *conn, struct ipc_msg *msg, uint64_t timeout_usec,
	      struct ipc_msg **reply)
{
	struct call_state st = { 0 };
	int r;

	*reply = NULL;
	ipc_conn_ref(conn);
	r = ipc_conn_send_request(conn, msg, timeout_usec, on_call_reply, &st);
	while (r == 0 && !st.done) {
		r = sd_event_run(conn->event, UINT64_MAX);
		if (r > 0)
			r = 0;
	}
	if (r == 0) {
		r = st.error;
		*reply = st.reply;
	} else if (!st.done) {
		/* The loop failed under us: forget the request so its callback never runs. */
		struct pending_request *p = conn->pending;

		for (; p; p = p->next)
			if (p->userdata == &st)
				p->cb = NULL;
	}
	ipc_conn_unref(conn);
	return r;
}

int
ipc_conn_send_event(struct ipc_conn *conn, struct ipc_msg *msg)
{
	if (conn->state != CONN_OPEN) {
		ipc_msg_free(msg);
		return -ENOTCONN;
	}
	ipc_msg_set_header(msg, IPC_FLAG_ONEWAY, 0, conn->session);
	return conn_queue_msg(conn, msg, true);
}

int
ipc_conn_reply(struct ipc_conn *conn, const struct ipc_msg *request, struct ipc_msg *reply)
{
	uint8_t flags = IPC_FLAG_REPLY | (ipc_msg_flags(reply) & IPC_FLAG_ERROR);

	if (ipc_msg_flags(request) & (IPC_FLAG_ONEWAY | IPC_FLAG_REPLY)) {
		ipc_msg_free(reply);
		return -EINVAL;
	}
	if (conn->state != CONN_OPEN) {
		/* The connection that asked is gone: nobody waits for this answer. */
		ipc_msg_free(reply);
		return -ENOTCONN;
	}
	if (conn->in_flight > 0)
		conn->in_flight--;
	ipc_msg_set_header(reply, flags, ipc_msg_request_id(request), conn->session);
	return conn_queue_msg(conn, reply, false);
}

int
ipc_conn_reply_error(struct ipc_conn *conn, const struct ipc_msg *request, int error,
		     const char *text)
{
	struct ipc_msg *reply = ipc_msg_new(ipc_msg_type(request));
	int r;

	if (!reply)
		return -ENOMEM;
	r = ipc_dict_put_int(ipc_msg_body(reply), "errno", error < 0 ? -error : error);
	if (r == 0)
		r = ipc_dict_put_string(ipc_msg_body(reply), "error", text ? text : strerror(-error));
	if (r < 0) {
		ipc_msg_free(reply);
		return r;
	}
	ipc_msg_set_header(reply, IPC_FLAG_ERROR, 0, 0);
	return ipc_conn_reply(conn, request, reply);
}

int
ipc_msg_error(const struct ipc_msg *reply, const char **text)
{
	const struct ipc_value *body = ipc_msg_body_const(reply);
	int64_t err = 0;

	if (text)
		*text = NULL;
	if (!(ipc_msg_flags(reply) & IPC_FLAG_ERROR))
		return 0;
	if (text)
		ipc_dict_get_string(body, "error", text);
	/* A peer's errno is data: keep it in range, and never 0 for an error. */
	if (ipc_dict_get_int(body, "errno", &err) < 0 || err <= 0 || err > 4095)
		err = EIO;
	return -(int)err;
}

int
ipc_conn_barrier(struct ipc_conn *conn, void (*cb)(struct ipc_conn *, void *), void *userdata)
{
	struct out_entry *e;

	if (!conn->out_head) {
		cb(conn, userdata);
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->barrier = cb;
	e->barrier_userdata = userdata;
	out_append(conn, e);
	return 0;
}

/* ---- receiving ---- */

/* The reply of a named connection's HELLO: opens (or refuses) the connection. */
static int
handle_hello_ok(struct ipc_conn *conn, struct ipc_msg *msg)
{
	const char *why = NULL;
	int r;

	/* A refusal of a HELLO the listener could not read carries request id 0. */
	if (!(ipc_msg_flags(msg) & IPC_FLAG_REPLY) ||
	    (ipc_msg_request_id(msg) != conn->hello_id && ipc_msg_request_id(msg) != 0))
		return -EBADMSG;
	r = ipc_msg_error(msg, &why);
	if (r < 0) {
		snprintf(conn->refusal, sizeof(conn->refusal), "%s", why ? why : strerror(-r));
		return r;
	}
	if (ipc_msg_type(msg) != IPC_TYPE_HELLO_OK || ipc_msg_session(msg) == 0)
		return -EBADMSG;
	conn->session = ipc_msg_session(msg);
	conn->state = CONN_OPEN;
	conn->reconnect_attempt = 0;
	sd_event_source_disable_unref(conn->timer);
	conn->timer = NULL;
	if (conn->handlers.on_reconnected)
		conn->handlers.on_reconnected(conn, conn->userdata);
	return 0;
}

static void
dispatch(struct ipc_conn *conn, struct ipc_msg *msg, pid_t sender_pid)
{
	struct pending_request *p;
	uint8_t flags = ipc_msg_flags(msg);
	int r;

	conn->stats.received++;
	switch (conn->state) {
	case CONN_HANDSHAKE:
		if (conn->validating) {
			/* Nothing may follow HELLO before HELLO_OK. */
			ipc_msg_free(msg);
			conn_invalidate(conn, -EBADMSG);
			return;
		}
		listener_handle_hello(conn, msg, sender_pid);
		return;
	case CONN_RECONNECTING:
		r = handle_hello_ok(conn, msg);
		ipc_msg_free(msg);
		if (r == -EPERM || r == -EPROTO)
			conn_invalidate(conn, r); /* refused: retrying would not help */
		else if (r < 0)
			conn_disconnected(conn, r);
		return;
	case CONN_OPEN:
		break;
	default:
		ipc_msg_free(msg);
		return;
	}
	if (conn->check_creds &&
	    (sender_pid != conn->peer.pid || ipc_msg_session(msg) != conn->session)) {
		/* Another process holds this socket, or the message predates the handshake. */
		ipc_msg_free(msg);
		conn_invalidate(conn, -EPERM);
		return;
	}
	if (ipc_msg_type(msg) < IPC_TYPE_FIRST_USER) {
		ipc_msg_free(msg);
		conn_invalidate(conn, -EBADMSG);
		return;
	}
	if (flags & IPC_FLAG_REPLY) {
		p = pending_take(conn, ipc_msg_request_id(msg));
		if (!p) {
			ipc_msg_free(msg); /* it timed out already */
			return;
		}
		pending_finish(conn, p, msg, ipc_msg_error(msg, NULL));
		send_next_deferred(conn);
		return;
	}
	if (!(flags & IPC_FLAG_ONEWAY))
		conn->in_flight++;
	if (conn->handlers.on_message) {
		conn->handlers.on_message(conn, msg, conn->userdata);
		return;
	}
	if (!(flags & IPC_FLAG_ONEWAY))
		ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "no handler for messages");
	ipc_msg_free(msg);
}

/*
 * Reads one datagram. Returns 1 with *msg set, 0 when nothing is waiting,
 * -ECONNRESET at end of stream, -EBADMSG for a malformed datagram.
 */
static int
receive_one(struct ipc_conn *conn, struct ipc_msg **msg, pid_t *sender_pid)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = conn->scratch, .iov_len = IPC_MAX_MSG + 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	int fds[IPC_MAX_FDS * 2];
	size_t n_fds = 0, i, k;
	struct cmsghdr *cm;
	ssize_t n;
	bool bad = false;
	int r;

	*sender_pid = 0;
	do {
		n = recvmsg(conn->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -ECONNRESET;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_RIGHTS) {
			k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (n_fds < sizeof(fds) / sizeof(fds[0])) {
					fds[n_fds++] = fd;
				} else {
					close(fd);
					bad = true;
				}
			}
		} else if (cm->cmsg_type == SCM_CREDENTIALS &&
			   cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			*sender_pid = cred.pid;
		}
	}
	if (n == 0 && n_fds == 0 && !(mh.msg_flags & MSG_TRUNC))
		return -ECONNRESET; /* SOCK_SEQPACKET: a zero-length read is the end */
	if (bad || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n_fds > IPC_MAX_FDS) {
		for (i = 0; i < n_fds; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	/* ipc_msg_decode owns the fds from here, success or not. */
	r = ipc_msg_decode(conn->scratch, (size_t)n, fds, n_fds, msg);
	if (r == -EPROTO) {
		conn->peer_version = n > 2 ? conn->scratch[2] : 0;
		return -EPROTO;
	}
	return r < 0 ? -EBADMSG : 1;
}

static int
on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ipc_conn *conn = ipc_conn_ref(userdata);
	struct ipc_msg *msg;
	pid_t sender;
	int i, r = 0;

	if (revents & EPOLLOUT) {
		r = flush_outbound(conn);
		if (r < 0) {
			conn_disconnected(conn, r);
			goto out;
		}
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (i = 0; i < IPC_READS_PER_WAKEUP && conn->fd >= 0 && !conn->reading_paused;
		     i++) {
			r = receive_one(conn, &msg, &sender);
			if (r == 0)
				break;
			if (r == -EPROTO && conn->state == CONN_HANDSHAKE) {
				listener_refuse_version(conn);
				goto out;
			}
			if (r == -EBADMSG || r == -EPROTO) {
				conn_invalidate(conn, r);
				goto out;
			}
			if (r < 0) {
				conn_disconnected(conn, r);
				goto out;
			}
			dispatch(conn, msg, sender);
			conn_update_io(conn);
		}
	}
	if (conn->fd >= 0)
		conn_update_io(conn);
out:
	ipc_conn_unref(conn);
	return 0;
}

/*
 * Chooses what to wait for: writable while anything is queued; readable
 * unless the peer has too many unanswered requests or is not reading our
 * replies (then we stop reading it, which throttles it).
 */
static int
conn_update_io(struct ipc_conn *conn)
{
	uint32_t events = 0;
	bool pause;

	if (!conn->io)
		return 0;
	pause = conn->closing ||
		(conn->state == CONN_OPEN && (conn->in_flight >= conn->opts.max_in_flight ||
					      conn->out_len >= conn->opts.max_outbound / 2));
	if (pause && !conn->reading_paused && !conn->closing)
		conn->stats.throttled++;
	conn->reading_paused = pause;
	if (!pause)
		events |= EPOLLIN;
	if (conn->out_head)
		events |= EPOLLOUT;
	if (events == conn->io_events)
		return 0; /* an epoll_ctl per message would cost more than the message */
	conn->io_events = events;
	return sd_event_source_set_io_events(conn->io, events);
}

int
conn_attach(struct ipc_conn *conn)
{
	int r;

	r = sd_event_add_io(conn->event, &conn->io, conn->fd, EPOLLIN, on_io, conn);
	if (r < 0)
		return r;
	conn->io_events = EPOLLIN;
	return conn_update_io(conn);
}

static void
conn_close_fd(struct ipc_conn *conn)
{
	sd_event_source_disable_unref(conn->io);
	conn->io = NULL;
	conn->io_events = 0;
	if (conn->fd >= 0)
		close(conn->fd);
	conn->fd = -1;
	conn->in_flight = 0;
	conn->reading_paused = false;
}

void
conn_invalidate(struct ipc_conn *conn, int error)
{
	void (*cb)(struct ipc_conn *, int, void *);
	bool was_handshaking = conn->state == CONN_HANDSHAKE;

	if (conn->state == CONN_INVALID)
		return;
	ipc_conn_ref(conn);
	conn->state = CONN_INVALID;
	sd_event_source_disable_unref(conn->timer);
	conn->timer = NULL;
	conn_close_fd(conn);
	fail_all_pending(conn, error ? error : -ECANCELED);
	drop_outbound(conn, true);
	cb = conn->handlers.on_invalidated;
	conn->handlers = (struct ipc_conn_handlers){ 0 };
	if (cb)
		cb(conn, error, conn->userdata);
	if (conn->listener)
		listener_forget(conn->listener, conn, was_handshaking, error);
	ipc_conn_unref(conn);
}

void
ipc_conn_invalidate(struct ipc_conn *conn)
{
	conn_invalidate(conn, 0);
}

/* ---- named connections: connect, handshake, reconnect ---- */

static int
socket_connect(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, one = 1, size = 4 * IPC_MAX_MSG;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno; /* -EAGAIN: the listener's backlog is full */

		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

static struct ipc_msg *
hello_new(const char *service, uint64_t id)
{
	struct ipc_msg *m = ipc_msg_new(IPC_TYPE_HELLO);

	if (!m)
		return NULL;
	if (ipc_dict_put_int(ipc_msg_body(m), "version", IPC_PROTOCOL_VERSION) < 0 ||
	    ipc_dict_put_string(ipc_msg_body(m), "service", service) < 0) {
		ipc_msg_free(m);
		return NULL;
	}
	ipc_msg_set_header(m, 0, id, 0);
	return m;
}

static int on_reconnect_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void
arm_timer(struct ipc_conn *conn, uint64_t delay,
	  int (*fn)(sd_event_source *, uint64_t, void *))
{
	uint64_t now;

	sd_event_source_disable_unref(conn->timer);
	conn->timer = NULL;
	sd_event_now(conn->event, CLOCK_MONOTONIC, &now);
	(void)sd_event_add_time(conn->event, &conn->timer, CLOCK_MONOTONIC, now + delay, 1000, fn,
				conn);
}

static void
schedule_reconnect(struct ipc_conn *conn)
{
	uint64_t delay = IPC_RECONNECT_MIN_USEC << (conn->reconnect_attempt < 5
							    ? conn->reconnect_attempt : 5);

	if (delay > IPC_RECONNECT_MAX_USEC)
		delay = IPC_RECONNECT_MAX_USEC;
	conn->reconnect_attempt++;
	conn->state = CONN_INTERRUPTED;
	arm_timer(conn, delay, on_reconnect_timer);
}

/* The peer went away. A named connection waits to reconnect; any other is finished. */
static void
conn_disconnected(struct ipc_conn *conn, int error)
{
	bool was_open = conn->state == CONN_OPEN;

	if (!conn->path || conn->state == CONN_INVALID) {
		conn_invalidate(conn, error);
		return;
	}
	ipc_conn_ref(conn);
	conn_close_fd(conn);
	fail_all_pending(conn, -ECONNRESET);
	drop_outbound(conn, true);
	conn->session = 0;
	schedule_reconnect(conn);
	if (was_open && conn->handlers.on_interrupted)
		conn->handlers.on_interrupted(conn, conn->userdata);
	ipc_conn_unref(conn);
}

static int
on_reconnect_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ipc_conn *conn = userdata;
	struct ipc_msg *hello;
	int fd, r;

	if (conn->state == CONN_RECONNECTING) {
		/* HELLO_OK did not come in time. */
		conn_close_fd(conn);
		schedule_reconnect(conn);
		return 0;
	}
	r = socket_connect(conn->path, &fd);
	if (r < 0) {
		schedule_reconnect(conn);
		return 0;
	}
	conn->fd = fd;
	conn->state = CONN_RECONNECTING;
	conn->hello_id = conn->next_id++;
	if (conn_attach(conn) < 0 || !(hello = hello_new(conn->service, conn->hello_id))) {
		conn_close_fd(conn);
		schedule_reconnect(conn);
		return 0;
	}
	arm_timer(conn, IPC_DEFAULT_CONNECT_TIMEOUT_USEC, on_reconnect_timer);
	/* Queue directly: the state is RECONNECTING, which conn_queue_msg accepts. */
	conn_queue_msg(conn, hello, false);
	return 0;
}

/* Waits on the bare socket (not the loop) for the reply to HELLO. */
static int
await_hello_ok(struct ipc_conn *conn, uint64_t timeout_usec)
{
	struct timespec ts;
	uint64_t deadline, now;
	struct ipc_msg *msg;
	struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
	pid_t sender;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000 + timeout_usec;
	for (;;) {
		r = flush_outbound(conn);
		if (r < 0)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
		if (now >= deadline)
			return -ETIMEDOUT;
		pfd.events = POLLIN | (conn->out_head ? POLLOUT : 0);
		r = poll(&pfd, 1, (int)((deadline - now + 999) / 1000));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		r = receive_one(conn, &msg, &sender);
		if (r == 0)
			continue;
		if (r < 0)
			return r;
		r = handle_hello_ok(conn, msg);
		ipc_msg_free(msg);
		return r;
	}
}

static void
describe_connect_error(int r, const char *path, const char *service, const char *text, char *why,
		       size_t why_size)
{
	if (!why || !why_size)
		return;
	switch (r) {
	case -ENOENT:
	case -ECONNREFUSED:
		snprintf(why, why_size, "%s is not running (nothing listens on %s)", service, path);
		break;
	case -EACCES:
		snprintf(why, why_size, "not allowed to connect to %s", path);
		break;
	case -EPERM:
		snprintf(why, why_size, "not authorized: %s", text ? text : "refused by the listener");
		break;
	case -EPROTO:
		snprintf(why, why_size, "protocol version mismatch: %s",
			 text ? text : "the listener speaks another version");
		break;
	case -ETIMEDOUT:
		snprintf(why, why_size, "%s did not answer the handshake in time", service);
		break;
	case -EAGAIN:
		snprintf(why, why_size, "%s is too busy to take a connection (%s: backlog full)",
			 service, path);
		break;
	case -ECONNRESET:
		/* A listener closes a connection at once when its uid holds its share. */
		snprintf(why, why_size, "%s closed the connection before the handshake (too many "
			 "connections of this user?)", service);
		break;
	default:
		snprintf(why, why_size, "connecting to %s failed: %s", path, strerror(-r));
		break;
	}
}

int
ipc_conn_connect(sd_event *event, const char *path, const char *service_name,
		 uint64_t timeout_usec, const struct ipc_conn_options *opts,
		 const struct ipc_conn_handlers *handlers, void *userdata,
		 struct ipc_conn **out, char *why, size_t why_size)
{
	struct ipc_conn *conn = NULL;
	struct ipc_msg *hello;
	uint64_t start, elapsed;
	int fd = -1, r;

	*out = NULL;
	if (why && why_size)
		why[0] = '\0';
	if (!timeout_usec)
		timeout_usec = IPC_DEFAULT_CONNECT_TIMEOUT_USEC;
	/*
	 * A full backlog is a listener busy accepting (someone may be flooding
	 * it with connects), not one that is gone: try again, every 10 ms, for
	 * as long as the handshake may take.
	 */
	start = santa_mono_usec();
	while ((r = socket_connect(path, &fd)) == -EAGAIN && santa_mono_usec() - start < timeout_usec)
		(void)nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	if (r < 0)
		goto fail;
	elapsed = santa_mono_usec() - start;
	timeout_usec = elapsed < timeout_usec ? timeout_usec - elapsed : 1;
	conn = conn_new(event, fd, opts, handlers, userdata);
	if (!conn) {
		close(fd);
		r = -ENOMEM;
		goto fail;
	}
	conn->path = strdup(path);
	snprintf(conn->service, sizeof(conn->service), "%s", service_name);
	if (!conn->path) {
		r = -ENOMEM;
		goto fail;
	}
	conn->state = CONN_RECONNECTING;
	conn->hello_id = conn->next_id++;
	hello = hello_new(service_name, conn->hello_id);
	if (!hello) {
		r = -ENOMEM;
		goto fail;
	}
	/* Without handlers during the handshake: the caller hears of none of it. */
	{
		struct ipc_conn_handlers saved = conn->handlers;

		conn->handlers = (struct ipc_conn_handlers){ 0 };
		r = conn_queue_msg(conn, hello, false);
		if (r == 0)
			r = await_hello_ok(conn, timeout_usec);
		conn->handlers = saved;
	}
	if (r < 0) {
		/* A refusal carries its reason in the error reply, which handle_hello_ok read. */
		goto fail;
	}
	r = conn_attach(conn);
	if (r < 0)
		goto fail;
	*out = conn;
	return 0;
fail:
	describe_connect_error(r, path, service_name,
			       conn && conn->refusal[0] ? conn->refusal : NULL, why, why_size);
	if (conn) {
		conn->handlers = (struct ipc_conn_handlers){ 0 };
		conn->path = (free(conn->path), NULL);
		ipc_conn_unref(conn);
	}
	return r;
}

int
ipc_conn_from_endpoint(sd_event *event, int fd, const struct ipc_peer *peer,
		       const struct ipc_conn_options *opts,
		       const struct ipc_conn_handlers *handlers, void *userdata,
		       struct ipc_conn **out)
{
	struct ipc_conn *conn;
	int flags, r;

	*out = NULL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	conn = conn_new(event, fd, opts, handlers, userdata);
	if (!conn) {
		close(fd);
		return -ENOMEM;
	}
	if (peer)
		conn->peer = *peer;
	conn->state = CONN_OPEN;
	r = conn_attach(conn);
	if (r < 0) {
		ipc_conn_unref(conn);
		return r;
	}
	*out = conn;
	return 0;
}

int
ipc_endpoint_pair(int *local, int *remote)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*local = sv[0];
	*remote = sv[1];
	return 0;
}

/* ---- accessors ---- */

const struct ipc_peer *
ipc_conn_peer(const struct ipc_conn *conn)
{
	return &conn->peer;
}

int
ipc_conn_peer_groups(const struct ipc_conn *conn, gid_t *groups, size_t max)
{
	socklen_t len = (socklen_t)(max * sizeof(*groups));

	if (conn->fd < 0)
		return -ENOTCONN;
	if (getsockopt(conn->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return -errno;
	return (int)(len / sizeof(*groups));
}

void
ipc_conn_stats(const struct ipc_conn *conn, struct ipc_conn_stats *stats)
{
	*stats = conn->stats;
}

bool
ipc_conn_is_connected(const struct ipc_conn *conn)
{
	return conn->state == CONN_OPEN;
}
