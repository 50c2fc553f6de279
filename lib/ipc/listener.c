/*
 * The accepting side: a named socket, a handshake deadline for every new
 * client, and the validation that decides who the client is before its
 * owner ever sees it.
 *
 * Anyone may connect to a named socket, and a client need not say HELLO:
 * until the deadline its connection holds a slot. So slots are shared out by
 * uid (SO_PEERCRED at accept, before a byte is read): root has a reserve no
 * other uid can take, and every other uid at most a small share of the rest,
 * so that one user's flood of connections (idle ones included) never locks
 * root's santactl out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc-internal.h"

#define LISTENER_MAX_CONNECTIONS 2048
#define LISTENER_MAX_HANDSHAKING 64
/* Of those, held for root alone: */
#define LISTENER_RESERVED_CONNECTIONS 64
#define LISTENER_RESERVED_HANDSHAKING 16
/* What one uid other than root may hold (a user may start many santa-gui agents; santad serves 4). */
#define LISTENER_MAX_CONNECTIONS_PER_UID 64
#define LISTENER_MAX_HANDSHAKING_PER_UID 8
#define LISTENER_ACCEPTS_PER_WAKEUP 64
/*
 * The private socket's clients (root's santactl on santad-root.sock) wait
 * that long for a busy loop; root's reserve bounds what that can hold.
 * Everyone else, root on the shared socket too, has 2 s.
 */
#define LISTENER_PRIVATE_HANDSHAKE_USEC (10 * 1000 * 1000ULL)
/* sd-event priority of accepting on the shared socket (SD_EVENT_PRIORITY_NORMAL is 0). */
#define LISTENER_ACCEPT_PRIORITY 10
/* Pending connects the kernel holds for us (it caps this at net.core.somaxconn). */
#define LISTENER_BACKLOG 1024

struct ipc_listener {
	sd_event *event;
	int fd;
	sd_event_source *io;
	char *path; /* unlinked on free when we created it */
	int private_fd; /* ipc_listener_add_private_socket: -1, or its socket */
	sd_event_source *private_io;
	char *private_path;
	struct ipc_allowlist list;
	bool check_exe;
	struct ipc_listener_handlers handlers;
	void *userdata;
	struct ipc_conn *conns;
	size_t n_conns, n_handshaking;
	struct ipc_conn *validator; /* asked to validate clients (see listener_validate_by) */
	uint16_t validator_request;
	uint8_t *scratch; /* shared by all our connections: one thread, one loop */
};

static void
reject(struct ipc_listener *l, struct ipc_conn *conn, const char *why)
{
	if (l->handlers.on_rejected)
		l->handlers.on_rejected(l, &conn->peer, why, l->userdata);
}

static void
close_after_flush(struct ipc_conn *conn, void *userdata)
{
	conn_invalidate(conn, -EPERM);
}

/* Answers HELLO with an error and closes once the answer is written. */
static void
refuse(struct ipc_conn *conn, uint64_t hello_id, int error, const char *why)
{
	struct ipc_listener *l = conn->listener;
	struct ipc_msg *reply = ipc_msg_new(IPC_TYPE_HELLO_OK);

	reject(l, conn, why);
	if (reply && ipc_dict_put_int(ipc_msg_body(reply), "errno", -error) == 0 &&
	    ipc_dict_put_string(ipc_msg_body(reply), "error", why) == 0 &&
	    ipc_dict_put_int(ipc_msg_body(reply), "version", IPC_PROTOCOL_VERSION) == 0) {
		ipc_msg_set_header(reply, IPC_FLAG_REPLY | IPC_FLAG_ERROR, hello_id, 0);
		conn_queue_msg(conn, reply, false);
		reply = NULL;
	}
	ipc_msg_free(reply);
	if (conn->state == CONN_INVALID)
		return;
	/* Read nothing more from it; close once the refusal is written. */
	conn->closing = true;
	if (ipc_conn_barrier(conn, close_after_flush, NULL) < 0)
		conn_invalidate(conn, -EPERM);
}

void
listener_refuse_version(struct ipc_conn *conn)
{
	char why[128];

	ipc_conn_ref(conn);
	snprintf(why, sizeof(why), "client speaks version %u, this service speaks %d",
		 conn->peer_version, IPC_PROTOCOL_VERSION);
	refuse(conn, 0, -EPROTO, why);
	ipc_conn_unref(conn);
}

static uint64_t
new_session_token(void)
{
	uint64_t token = 0;

	while (token == 0)
		if (getrandom(&token, sizeof(token), 0) != sizeof(token))
			token = 0;
	return token;
}

/* The peer is who it must be: authorize it, answer HELLO_OK and hand it over. */
static void
finish_handshake(struct ipc_conn *conn, struct ipc_peer *peer)
{
	struct ipc_listener *l = conn->listener;
	struct ipc_msg *ok;
	char why[512];
	int r;

	conn->peer = *peer;
	if (l->handlers.authorize) {
		why[0] = '\0';
		r = l->handlers.authorize(peer, l->userdata, why, sizeof(why));
		if (r < 0) {
			refuse(conn, conn->hello_id, -EPERM, why[0] ? why : "refused");
			return;
		}
	}
	ok = ipc_msg_new(IPC_TYPE_HELLO_OK);
	if (!ok || ipc_dict_put_int(ipc_msg_body(ok), "version", IPC_PROTOCOL_VERSION) < 0 ||
	    ipc_dict_put_string(ipc_msg_body(ok), "identity", peer->name) < 0 ||
	    ipc_dict_put_bool(ipc_msg_body(ok), "privileged", peer->privileged) < 0) {
		ipc_msg_free(ok);
		refuse(conn, conn->hello_id, -ENOMEM, "out of memory");
		return;
	}
	conn->peer = *peer;
	conn->session = new_session_token();
	conn->state = CONN_OPEN;
	sd_event_source_disable_unref(conn->timer);
	conn->timer = NULL;
	l->n_handshaking--;
	ipc_msg_set_header(ok, IPC_FLAG_REPLY, conn->hello_id, conn->session);
	if (conn_queue_msg(conn, ok, false) < 0 || conn->state != CONN_OPEN)
		return;
	conn->handlers = l->handlers.conn_handlers;
	if (l->handlers.on_connection)
		l->handlers.on_connection(l, conn, l->userdata);
}

/*
 * The validator's answer for conn: error 0 and the identity name, or a
 * negative errno and why. Nothing happens if conn gave up meanwhile
 * (handshake timeout, peer gone).
 */
static void
listener_validated(struct ipc_conn *conn, int error, const char *name, const char *why)
{
	struct ipc_peer peer;

	if (!conn->validating || conn->state != CONN_HANDSHAKE || conn->closing || !conn->listener)
		return;
	ipc_conn_ref(conn);
	conn->validating = false;
	if (error < 0) {
		refuse(conn, conn->hello_id, -EPERM, why && why[0] ? why : "not validated");
		goto out;
	}
	peer = conn->peer;
	snprintf(peer.name, sizeof(peer.name), "%s", name ? name : "");
	finish_handshake(conn, &peer);
out:
	ipc_conn_unref(conn);
}

static void
on_validator_reply(struct ipc_conn *validator, struct ipc_msg *reply, int error, void *userdata)
{
	struct ipc_conn *conn = userdata;
	const char *identity = NULL, *text = NULL;

	if (error < 0) {
		if (reply)
			ipc_msg_error(reply, &text);
		listener_validated(conn, -EPERM, NULL, text ? text : strerror(-error));
	} else if (ipc_dict_get_string(ipc_msg_body_const(reply), "identity", &identity) < 0) {
		listener_validated(conn, -EPERM, NULL, "the validator gave no identity");
	} else {
		listener_validated(conn, 0, identity, NULL);
	}
	ipc_msg_free(reply);
	ipc_conn_unref(conn);
}

/* Sends { pidfd } to the validator; its reply { identity } or error decides. Takes pidfd. */
static int
ask_validator(struct ipc_listener *l, struct ipc_conn *conn, int pidfd)
{
	struct ipc_msg *m = ipc_msg_new(l->validator_request);
	int r;

	if (!m) {
		close(pidfd);
		return -ENOMEM;
	}
	r = ipc_dict_put_fd(ipc_msg_body(m), "pidfd", pidfd);
	if (r < 0) {
		ipc_msg_free(m);
		return r;
	}
	ipc_conn_ref(conn);
	r = ipc_conn_send_request(l->validator, m, IPC_DEFAULT_CONNECT_TIMEOUT_USEC,
				  on_validator_reply, conn);
	if (r < 0)
		ipc_conn_unref(conn);
	return r;
}

void
listener_validate_by(struct ipc_listener *l, struct ipc_conn *validator, uint16_t request_type)
{
	l->validator = validator;
	l->validator_request = request_type;
}

void
listener_handle_hello(struct ipc_conn *conn, struct ipc_msg *hello, pid_t sender_pid)
{
	struct ipc_listener *l = conn->listener;
	const struct ipc_value *body = ipc_msg_body_const(hello);
	struct ipc_peer peer;
	char why[512];
	int64_t version = 0;
	int pidfd = -1, r;

	ipc_conn_ref(conn);
	conn->hello_id = ipc_msg_request_id(hello);
	if (ipc_msg_type(hello) != IPC_TYPE_HELLO || ipc_msg_flags(hello) != 0) {
		refuse(conn, conn->hello_id, -EBADMSG, "the first message must be HELLO");
		goto out;
	}
	if (ipc_dict_get_int(body, "version", &version) < 0 || version != IPC_PROTOCOL_VERSION) {
		snprintf(why, sizeof(why), "client speaks version %lld, this service speaks %d",
			 (long long)version, IPC_PROTOCOL_VERSION);
		refuse(conn, conn->hello_id, -EPROTO, why);
		goto out;
	}
	if (l->check_exe && l->validator)
		r = peer_credentials(conn->fd, &peer, &pidfd, why, sizeof(why));
	else
		r = peer_validate(conn->fd, l->check_exe ? &l->list : NULL, &peer, why, sizeof(why));
	conn->peer = peer;
	if (r < 0) {
		refuse(conn, conn->hello_id, -EPERM, why);
		goto out;
	}
	/* Only the process that connected may speak for itself (not a child it forked). */
	if (sender_pid != peer.pid) {
		snprintf(why, sizeof(why), "HELLO sent by pid %d, not by the connecting pid %d",
			 (int)sender_pid, (int)peer.pid);
		refuse(conn, conn->hello_id, -EPERM, why);
		goto out;
	}
	if (pidfd >= 0) {
		conn->validating = true;
		r = ask_validator(l, conn, pidfd);
		pidfd = -1;
		if (r < 0 && conn->validating) {
			conn->validating = false;
			snprintf(why, sizeof(why), "cannot validate the client: %s", strerror(-r));
			refuse(conn, conn->hello_id, -EPERM, why);
		}
		goto out;
	}
	finish_handshake(conn, &peer);
out:
	if (pidfd >= 0)
		close(pidfd);
	ipc_msg_free(hello);
	ipc_conn_unref(conn);
}


void
listener_forget(struct ipc_listener *l, struct ipc_conn *conn, bool was_handshaking, int error)
{
	struct ipc_conn **pp;
	char why[128];

	if (was_handshaking && !conn->closing) {
		snprintf(why, sizeof(why), "handshake failed: %s", strerror(error ? -error : ECANCELED));
		reject(l, conn, why);
	}

	for (pp = &l->conns; *pp; pp = &(*pp)->listener_next) {
		if (*pp == conn) {
			*pp = conn->listener_next;
			l->n_conns--;
			if (was_handshaking && l->n_handshaking > 0)
				l->n_handshaking--;
			conn->listener = NULL;
			conn->scratch = NULL; /* the listener's; the conn must not free it */
			ipc_conn_unref(conn);
			return;
		}
	}
}

static int
on_handshake_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct ipc_conn *conn = userdata;

	if (!conn->closing)
		reject(conn->listener, conn, "no HELLO within the handshake timeout");
	conn->closing = true;
	conn_invalidate(conn, -ETIMEDOUT);
	return 0;
}

/*
 * Whether a newcomer of uid gets a slot: NULL, or why not. Root may take any
 * slot; another uid only one outside root's reserve, and at most its own
 * share of them, counted over the connections we hold now.
 */
static const char *
admit(const struct ipc_listener *l, uid_t uid)
{
	size_t shared = 0, shared_handshaking = 0, mine = 0, mine_handshaking = 0;
	const struct ipc_conn *c;

	if (l->n_conns >= LISTENER_MAX_CONNECTIONS)
		return "too many connections";
	if (l->n_handshaking >= LISTENER_MAX_HANDSHAKING)
		return "too many connections waiting for their handshake";
	if (uid == 0)
		return NULL;
	for (c = l->conns; c; c = c->listener_next) {
		bool handshaking = c->state == CONN_HANDSHAKE;

		if (c->accept_uid == 0)
			continue;
		shared++;
		shared_handshaking += handshaking;
		if (c->accept_uid == uid) {
			mine++;
			mine_handshaking += handshaking;
		}
	}
	if (mine >= LISTENER_MAX_CONNECTIONS_PER_UID)
		return "too many connections of this uid";
	if (mine_handshaking >= LISTENER_MAX_HANDSHAKING_PER_UID)
		return "too many connections of this uid waiting for their handshake";
	if (shared >= LISTENER_MAX_CONNECTIONS - LISTENER_RESERVED_CONNECTIONS)
		return "too many connections (the rest are kept for root)";
	if (shared_handshaking >= LISTENER_MAX_HANDSHAKING - LISTENER_RESERVED_HANDSHAKING)
		return "too many connections waiting for their handshake (the rest are kept for root)";
	return NULL;
}

static void
accept_one(struct ipc_listener *l, int fd, bool private_socket)
{
	struct ipc_conn *conn;
	struct ipc_peer anon = { .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	const char *why;
	uint64_t now;
	int one = 1;

	/* A uid the kernel cannot tell (it always can for AF_UNIX) shares the bucket of uid -1. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		anon.pid = cred.pid;
		anon.uid = cred.uid;
		anon.gid = cred.gid;
	}
	why = admit(l, anon.uid);
	if (why) {
		close(fd);
		if (l->handlers.on_rejected)
			l->handlers.on_rejected(l, &anon, why, l->userdata);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	conn = conn_new(l->event, fd, &l->handlers.conn_options, NULL, l->userdata);
	if (!conn) {
		close(fd);
		return;
	}
	/* Share the listener's buffer rather than 128 KiB per client. */
	free(conn->scratch);
	conn->scratch = l->scratch;
	conn->listener = l;
	conn->check_creds = true;
	conn->accept_uid = anon.uid;
	/* Until HELLO the refusal log knows the client by its credentials. */
	conn->peer = anon;
	conn->state = CONN_HANDSHAKE;
	conn->listener_next = l->conns;
	l->conns = conn;
	l->n_conns++;
	l->n_handshaking++;
	sd_event_now(l->event, CLOCK_MONOTONIC, &now);
	if (conn_attach(conn) < 0 ||
	    sd_event_add_time(l->event, &conn->timer, CLOCK_MONOTONIC,
			      now + (private_socket ? LISTENER_PRIVATE_HANDSHAKE_USEC
						    : IPC_DEFAULT_CONNECT_TIMEOUT_USEC),
			      1000, on_handshake_timeout,
			      conn) < 0)
		conn_invalidate(conn, -ENOMEM);
}

static int
on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct ipc_listener *l = userdata;
	int i, cfd;

	for (i = 0; i < LISTENER_ACCEPTS_PER_WAKEUP; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			break; /* EAGAIN, or a client that went away (ECONNABORTED) */
		accept_one(l, cfd, fd == l->private_fd);
	}
	return 0;
}

int
ipc_listen_socket(const char *path, mode_t mode, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, LISTENER_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	*out = fd;
	return 0;
}

int
ipc_listener_new(sd_event *event, int fd, const char *path, mode_t mode,
		 const struct ipc_allowlist *list, const struct ipc_listener_handlers *handlers,
		 void *userdata, struct ipc_listener **out)
{
	struct ipc_listener *l;
	int one = 1, r;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fd = -1;
	l->private_fd = -1;
	l->event = sd_event_ref(event);
	l->handlers = *handlers;
	l->userdata = userdata;
	if (list) {
		l->list = *list;
		l->check_exe = true;
	}
	l->scratch = malloc(IPC_MAX_MSG + 1);
	if (!l->scratch) {
		r = -ENOMEM;
		goto fail;
	}
	if (fd < 0) {
		r = ipc_listen_socket(path, mode, &l->fd);
		if (r < 0)
			goto fail;
		l->path = strdup(path);
		if (!l->path) {
			r = -ENOMEM;
			goto fail;
		}
	} else {
		/*
		 * A socket passed by systemd (or anyone) may be blocking: accepting
		 * in a loop on it would stop the whole event loop.
		 */
		int flags = fcntl(fd, F_GETFL);

		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
			r = -errno;
			goto fail;
		}
		l->fd = fd;
	}
	(void)setsockopt(l->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	if (listen(l->fd, LISTENER_BACKLOG) < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(event, &l->io, l->fd, EPOLLIN, on_accept, l);
	if (r < 0)
		goto fail;
	/*
	 * Newcomers on the socket anyone may use wait until nothing else is
	 * pending: under a flood of connects (each refused at once) the loop
	 * still takes its turns for decisions, timers, connected clients and the
	 * private socket first, rather than a batch of refusals before each.
	 */
	(void)sd_event_source_set_priority(l->io, LISTENER_ACCEPT_PRIORITY);
	*out = l;
	return 0;
fail:
	ipc_listener_free(l);
	return r;
}

void
ipc_listener_free(struct ipc_listener *l)
{
	if (!l)
		return;
	while (l->conns)
		conn_invalidate(l->conns, -ECANCELED);
	sd_event_source_disable_unref(l->io);
	if (l->fd >= 0)
		close(l->fd);
	if (l->path) {
		unlink(l->path);
		free(l->path);
	}
	sd_event_source_disable_unref(l->private_io);
	if (l->private_fd >= 0)
		close(l->private_fd);
	if (l->private_path) {
		unlink(l->private_path);
		free(l->private_path);
	}
	free(l->scratch);
	sd_event_unref(l->event);
	free(l);
}

int
ipc_listener_add_private_socket(struct ipc_listener *l, const char *path)
{
	int r;

	if (l->private_fd >= 0)
		return -EEXIST;
	r = ipc_listen_socket(path, 0600, &l->private_fd);
	if (r < 0)
		return r;
	l->private_path = strdup(path);
	if (!l->private_path)
		r = -ENOMEM;
	else
		r = sd_event_add_io(l->event, &l->private_io, l->private_fd, EPOLLIN, on_accept, l);
	if (r < 0) {
		close(l->private_fd);
		l->private_fd = -1;
		unlink(path);
		free(l->private_path);
		l->private_path = NULL;
	}
	return r;
}

size_t
ipc_listener_connections(const struct ipc_listener *l)
{
	return l->n_conns;
}
