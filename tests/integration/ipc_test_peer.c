/*
 * A real process on either end of lib/ipc for the integration tests.
 *
 *   ipc_test_peer serve SOCKET ALLOW_PATH [--relay-to SOCKET] [--require-uid N]
 *       listens; allowlists ALLOW_PATH as "client"; answers:
 *       ECHO (body back), SLOW (answers after "ms"), WHOAMI (peer identity),
 *       PRIVILEGED (ok only for privileged peers), ENDPOINT (takes "endpoint",
 *       sends "count" events over it carrying a pipe fd each, then a final
 *       request and replies with what the endpoint answered), RELAY (passes
 *       "endpoint" on to --relay-to with ENDPOINT).
 *   ipc_test_peer call SOCKET TYPE [key=int ...]
 *       connects, sends one request, prints "ok <body summary>" or
 *       "error <errno> <text>", exits 0 on reply, 3 on error reply,
 *       2 when the connection failed (message on stderr).
 *   ipc_test_peer endpoint SOCKET COUNT [relay]
 *       passes an endpoint to the server (or via RELAY), reads COUNT events
 *       each with a readable fd, answers the final request, prints "got N".
 *   ipc_test_peer sleep SECONDS
 *       does nothing: the genuine binary a connect-then-exec attacker becomes.
 *   ipc_test_peer raw SOCKET SCENARIO [GENUINE]
 *       speaks the wire protocol by hand, as a hostile client would:
 *       version2, no-hello, garbage-after-hello, flood, fork-hello,
 *       exec-race, queued-before-exec. Prints what happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "santa/ipc.h"
#include "ipc-wire-internal.h" /* raw datagrams: a client that skips or forges the handshake */

enum {
	T_ECHO = IPC_TYPE_FIRST_USER,
	T_SLOW,
	T_WHOAMI,
	T_PRIVILEGED,
	T_ENDPOINT,
	T_RELAY,
	T_EVENT,
	T_FINAL,
};

struct server {
	sd_event *event;
	struct ipc_listener *listener;
	const char *relay_to;
	long require_uid;
};

struct slow_reply {
	struct ipc_conn *conn;
	struct ipc_msg *request;
};

static int
on_slow_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct slow_reply *sr = userdata;
	struct ipc_msg *reply = ipc_msg_new(T_SLOW);

	ipc_conn_reply(sr->conn, sr->request, reply);
	ipc_msg_free(sr->request);
	ipc_conn_unref(sr->conn);
	free(sr);
	return 0;
}

struct endpoint_job {
	struct ipc_conn *client;  /* who asked */
	struct ipc_msg *request;  /* the ENDPOINT request to answer */
	struct ipc_conn *endpoint;
};

static void
on_final_reply(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct endpoint_job *job = userdata;
	struct ipc_msg *answer = ipc_msg_new(T_ENDPOINT);
	const char *text = "none";

	if (reply)
		ipc_dict_get_string(ipc_msg_body(reply), "text", &text);
	ipc_dict_put_string(ipc_msg_body(answer), "endpoint_said", error < 0 ? "error" : text);
	ipc_conn_reply(job->client, job->request, answer);
	ipc_msg_free(reply);
	ipc_msg_free(job->request);
	ipc_conn_unref(job->client);
	ipc_conn_invalidate(job->endpoint);
	ipc_conn_unref(job->endpoint);
	free(job);
}

/* Pushes count events, each with a pipe whose read end says "fd<i>", then asks FINAL. */
static void
serve_endpoint(struct server *srv, struct ipc_conn *conn, struct ipc_msg *msg)
{
	struct endpoint_job *job = calloc(1, sizeof(*job));
	int64_t count = 0, i;
	int fd, p[2];
	char text[32];

	ipc_dict_get_int(ipc_msg_body(msg), "count", &count);
	fd = ipc_dict_take_fd(ipc_msg_body(msg), "endpoint");
	if (fd < 0 || !job ||
	    ipc_conn_from_endpoint(srv->event, fd, ipc_conn_peer(conn), NULL, NULL, NULL,
				   &job->endpoint) < 0) {
		ipc_conn_reply_error(conn, msg, -EINVAL, "no usable endpoint");
		ipc_msg_free(msg);
		free(job);
		return;
	}
	for (i = 0; i < count; i++) {
		struct ipc_msg *ev = ipc_msg_new(T_EVENT);

		if (pipe(p) < 0)
			break;
		snprintf(text, sizeof(text), "fd%lld", (long long)i);
		(void)!write(p[1], text, strlen(text));
		close(p[1]);
		ipc_dict_put_int(ipc_msg_body(ev), "i", i);
		ipc_dict_put_fd(ipc_msg_body(ev), "fd", p[0]);
		ipc_conn_send_event(job->endpoint, ev);
	}
	job->client = ipc_conn_ref(conn);
	job->request = msg;
	ipc_conn_send_request(job->endpoint, ipc_msg_new(T_FINAL), 5000000, on_final_reply, job);
}

struct relay_job {
	struct ipc_conn *client;
	struct ipc_msg *request;
	struct ipc_conn *next;
};

static void
on_relay_reply(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct relay_job *job = userdata;

	if (reply && error == 0)
		ipc_conn_reply(job->client, job->request, reply);
	else {
		ipc_conn_reply_error(job->client, job->request, error ? error : -EIO, "relay failed");
		ipc_msg_free(reply);
	}
	ipc_msg_free(job->request);
	ipc_conn_unref(job->client);
	ipc_conn_invalidate(job->next);
	ipc_conn_unref(job->next);
	free(job);
}

/* Passes the client's endpoint on, unchanged, to the next server. */
static void
serve_relay(struct server *srv, struct ipc_conn *conn, struct ipc_msg *msg)
{
	struct relay_job *job = calloc(1, sizeof(*job));
	struct ipc_msg *fwd = ipc_msg_new(T_ENDPOINT);
	int64_t count = 0;
	char why[256];
	int fd;

	ipc_dict_get_int(ipc_msg_body(msg), "count", &count);
	fd = ipc_dict_take_fd(ipc_msg_body(msg), "endpoint");
	if (!job || !fwd || fd < 0 || !srv->relay_to ||
	    ipc_conn_connect(srv->event, srv->relay_to, "next", 0, NULL, NULL, NULL, &job->next,
			     why, sizeof(why)) < 0) {
		if (fd >= 0)
			close(fd);
		ipc_conn_reply_error(conn, msg, -EHOSTUNREACH, "cannot relay");
		ipc_msg_free(msg);
		ipc_msg_free(fwd);
		free(job);
		return;
	}
	ipc_dict_put_int(ipc_msg_body(fwd), "count", count);
	ipc_dict_put_fd(ipc_msg_body(fwd), "endpoint", fd);
	job->client = ipc_conn_ref(conn);
	job->request = msg;
	ipc_conn_send_request(job->next, fwd, 5000000, on_relay_reply, job);
}

static void
server_on_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct server *srv = userdata;
	const struct ipc_peer *peer = ipc_conn_peer(conn);
	struct ipc_msg *reply;
	int64_t ms = 0;
	uint64_t now;

	switch (ipc_msg_type(msg)) {
	case T_ECHO: {
		/* Rebuild the body: ints and strings back, fds back too (dup of what came). */
		const struct ipc_value *body = ipc_msg_body_const(msg), *v;
		const char *key;
		size_t i;

		reply = ipc_msg_new(T_ECHO);
		for (i = 0; (key = ipc_dict_key_at(body, i, &v)); i++) {
			if (ipc_value_type(v) == IPC_INT64)
				ipc_dict_put_int(ipc_msg_body(reply), key, ipc_value_int(v));
			else if (ipc_value_type(v) == IPC_STRING)
				ipc_dict_put_string(ipc_msg_body(reply), key, ipc_value_string(v));
			else if (ipc_value_type(v) == IPC_FD)
				ipc_dict_put_fd(ipc_msg_body(reply), key,
						ipc_dict_take_fd(ipc_msg_body(msg), key));
		}
		ipc_conn_reply(conn, msg, reply);
		break;
	}
	case T_SLOW: {
		struct slow_reply *sr = calloc(1, sizeof(*sr));

		ipc_dict_get_int(ipc_msg_body(msg), "ms", &ms);
		sr->conn = ipc_conn_ref(conn);
		sr->request = msg;
		sd_event_now(srv->event, CLOCK_MONOTONIC, &now);
		sd_event_add_time(srv->event, NULL, CLOCK_MONOTONIC, now + (uint64_t)ms * 1000, 0,
				  on_slow_timer, sr);
		return; /* msg kept until the timer answers */
	}
	case T_WHOAMI:
		reply = ipc_msg_new(T_WHOAMI);
		ipc_dict_put_string(ipc_msg_body(reply), "name", peer->name);
		ipc_dict_put_int(ipc_msg_body(reply), "uid", peer->uid);
		ipc_dict_put_int(ipc_msg_body(reply), "pid", peer->pid);
		ipc_dict_put_bool(ipc_msg_body(reply), "privileged", peer->privileged);
		ipc_conn_reply(conn, msg, reply);
		break;
	case T_PRIVILEGED:
		if (!peer->privileged) {
			ipc_conn_reply_error(conn, msg, -EPERM, "needs a privileged client");
			break;
		}
		reply = ipc_msg_new(T_PRIVILEGED);
		ipc_dict_put_string(ipc_msg_body(reply), "done", "yes");
		ipc_conn_reply(conn, msg, reply);
		break;
	case T_ENDPOINT:
		serve_endpoint(srv, conn, msg);
		return;
	case T_RELAY:
		serve_relay(srv, conn, msg);
		return;
	default:
		if (!(ipc_msg_flags(msg) & IPC_FLAG_ONEWAY))
			ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
		break;
	}
	ipc_msg_free(msg);
}

static int
server_authorize(struct ipc_peer *peer, void *userdata, char *why, size_t why_size)
{
	struct server *srv = userdata;

	if (srv->require_uid >= 0 && (long)peer->uid != srv->require_uid) {
		snprintf(why, why_size, "%s must run as uid %ld, not %u", peer->name,
			 srv->require_uid, (unsigned)peer->uid);
		return -EPERM;
	}
	peer->privileged = peer->uid == 0 && strcmp(peer->name, "client") == 0;
	return 0;
}

static void
server_on_rejected(struct ipc_listener *l, const struct ipc_peer *peer, const char *why,
		   void *userdata)
{
	fprintf(stderr, "rejected pid %d uid %u: %s\n", (int)peer->pid, (unsigned)peer->uid, why);
}

static int
serve(int argc, char **argv)
{
	struct server srv = { .require_uid = -1 };
	struct ipc_listener_handlers h = {
		.authorize = server_authorize,
		.on_rejected = server_on_rejected,
		.conn_handlers = { .on_message = server_on_message },
	};
	struct ipc_allowlist list = { 0 };
	const char *allow;
	int i, r;

	if (argc < 4)
		return 64;
	allow = argv[3];
	for (i = 4; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--relay-to") == 0)
			srv.relay_to = argv[i + 1];
		else if (strcmp(argv[i], "--require-uid") == 0)
			srv.require_uid = strtol(argv[i + 1], NULL, 10);
	}
	r = ipc_allowlist_add(&list, "client", allow);
	if (r < 0) {
		fprintf(stderr, "allowlist %s: %s\n", allow, strerror(-r));
		return 1;
	}
	/* The server itself is a genuine peer too (for relaying). */
	{
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		self[n > 0 ? n : 0] = '\0';
		r = ipc_allowlist_add(&list, "server", self);
		if (r < 0 && r != -EEXIST) {
			fprintf(stderr, "allowlist %s: %s\n", self, strerror(-r));
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (sd_event_default(&srv.event) < 0)
		return 1;
	r = ipc_listener_new(srv.event, -1, argv[2], 0666, &list, &h, &srv, &srv.listener);
	if (r < 0) {
		fprintf(stderr, "listen %s: %s\n", argv[2], strerror(-r));
		return 1;
	}
	/* Ready: the tests wait for this line. */
	printf("listening\n");
	fflush(stdout);
	sd_event_loop(srv.event);
	return 0;
}

static int
call(int argc, char **argv)
{
	struct ipc_conn *conn;
	struct ipc_msg *msg, *reply = NULL;
	const char *text = NULL, *key;
	const struct ipc_value *v;
	sd_event *event;
	char why[512];
	size_t i;
	bool b;
	int r, k;

	if (argc < 4)
		return 64;
	sd_event_default(&event);
	/*
	 * Generous: 200 of these at once on a loaded CI machine wait their turn
	 * for validation. Past 64 handshakes at once the listener sheds new
	 * connections (its cap against floods: a reset), and one not validated
	 * within 2 s is dropped (a timeout); a client so refused tries again,
	 * after 100-200 ms (spread, so that the retries do not arrive as one),
	 * for up to about 30 s.
	 */
	for (k = 0; k < 200; k++) {
		r = ipc_conn_connect(event, argv[2], "server", 30000000, NULL, NULL, NULL, &conn,
				     why, sizeof(why));
		if (r != -ECONNRESET && r != -EPIPE && r != -ETIMEDOUT)
			break;
		usleep(100000 + (useconds_t)(getpid() % 100) * 1000);
	}
	if (r < 0) {
		fprintf(stderr, "%s\n", why);
		return 2;
	}
	msg = ipc_msg_new((uint16_t)(IPC_TYPE_FIRST_USER + atoi(argv[3])));
	for (k = 4; k < argc; k++) {
		char *eq = strchr(argv[k], '=');

		if (eq) {
			*eq = '\0';
			ipc_dict_put_int(ipc_msg_body(msg), argv[k], strtoll(eq + 1, NULL, 10));
		}
	}
	r = ipc_conn_call(conn, msg, 30000000, &reply);
	if (r < 0) {
		if (reply)
			ipc_msg_error(reply, &text);
		printf("error %d %s\n", -r, text ? text : strerror(-r));
		ipc_msg_free(reply);
		ipc_conn_unref(conn);
		return 3;
	}
	printf("ok");
	for (i = 0; (key = ipc_dict_key_at(ipc_msg_body(reply), i, &v)); i++) {
		if (ipc_value_type(v) == IPC_STRING)
			printf(" %s=%s", key, ipc_value_string(v));
		else if (ipc_value_type(v) == IPC_INT64)
			printf(" %s=%lld", key, (long long)ipc_value_int(v));
		else if (ipc_value_type(v) == IPC_BOOL &&
			 ipc_dict_get_bool(ipc_msg_body(reply), key, &b) == 0)
			printf(" %s=%s", key, b ? "true" : "false");
	}
	printf("\n");
	ipc_msg_free(reply);
	ipc_conn_unref(conn);
	return 0;
}

struct endpoint_client {
	int events;
	int fds_ok;
};

static void
endpoint_on_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct endpoint_client *ec = userdata;
	char buf[32] = "", want[32];
	int64_t i = -1;
	int fd;

	if (ipc_msg_type(msg) == T_EVENT) {
		ipc_dict_get_int(ipc_msg_body(msg), "i", &i);
		fd = ipc_dict_take_fd(ipc_msg_body(msg), "fd");
		snprintf(want, sizeof(want), "fd%lld", (long long)i);
		if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0 && strcmp(buf, want) == 0)
			ec->fds_ok++;
		if (fd >= 0)
			close(fd);
		ec->events++;
	} else if (ipc_msg_type(msg) == T_FINAL) {
		struct ipc_msg *reply = ipc_msg_new(T_FINAL);
		char text[64];

		snprintf(text, sizeof(text), "got %d events, %d fds", ec->events, ec->fds_ok);
		ipc_dict_put_string(ipc_msg_body(reply), "text", text);
		ipc_conn_reply(conn, msg, reply);
	}
	ipc_msg_free(msg);
}

static int
endpoint(int argc, char **argv)
{
	struct ipc_conn_handlers h = { .on_message = endpoint_on_message };
	struct endpoint_client ec = { 0 };
	struct ipc_conn *conn, *ep;
	struct ipc_msg *msg, *reply = NULL;
	const char *said = NULL;
	sd_event *event;
	char why[512];
	int local, remote, r;

	if (argc < 4)
		return 64;
	sd_event_default(&event);
	r = ipc_conn_connect(event, argv[2], "server", 0, NULL, NULL, NULL, &conn, why,
			     sizeof(why));
	if (r < 0) {
		fprintf(stderr, "%s\n", why);
		return 2;
	}
	if (ipc_endpoint_pair(&local, &remote) < 0 ||
	    ipc_conn_from_endpoint(event, local, NULL, NULL, &h, &ec, &ep) < 0)
		return 1;
	msg = ipc_msg_new(argc > 4 ? T_RELAY : T_ENDPOINT);
	ipc_dict_put_int(ipc_msg_body(msg), "count", atoi(argv[3]));
	ipc_dict_put_fd(ipc_msg_body(msg), "endpoint", remote);
	r = ipc_conn_call(conn, msg, 10000000, &reply);
	if (r < 0) {
		printf("error %d\n", -r);
		ipc_msg_free(reply);
		ipc_conn_unref(ep);
		ipc_conn_unref(conn);
		return 3;
	}
	ipc_dict_get_string(ipc_msg_body(reply), "endpoint_said", &said);
	printf("%s\n", said ? said : "(nothing)");
	ipc_msg_free(reply);
	ipc_conn_unref(ep);
	ipc_conn_unref(conn);
	return 0;
}

/* ---- a hostile client, by hand ---- */

static int
raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(2);
	}
	return fd;
}

static int
raw_send(int fd, uint16_t type, uint64_t id, uint64_t session, int64_t version, int flags)
{
	static uint8_t buf[IPC_MAX_MSG];
	struct ipc_msg *m = ipc_msg_new(type);
	int fds[IPC_MAX_FDS];
	size_t len, n;
	ssize_t w;

	if (type == 1) {
		ipc_dict_put_int(ipc_msg_body(m), "version", version);
		ipc_dict_put_string(ipc_msg_body(m), "service", "server");
	}
	ipc_msg_set_header(m, 0, id, session);
	ipc_msg_encode(m, buf, &len, fds, &n);
	if (version != IPC_PROTOCOL_VERSION && type == 1)
		buf[2] = (uint8_t)version; /* the header's version byte too */
	w = send(fd, buf, len, flags | MSG_NOSIGNAL);
	ipc_msg_free(m);
	return w < 0 ? -errno : 0;
}

/*
 * Reads one reply: returns 1 and prints its summary, 0 at end of stream
 * (the server closed), -1 on timeout.
 */
static int
raw_recv(int fd, int timeout_ms, uint64_t *session, char *text, size_t text_size)
{
	static uint8_t buf[IPC_MAX_MSG];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct ipc_msg *m = NULL;
	const char *t = NULL;
	ssize_t n;

	text[0] = '\0';
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return 0;
	if (ipc_msg_decode(buf, (size_t)n, NULL, 0, &m) < 0) {
		snprintf(text, text_size, "undecodable");
		return 1;
	}
	if (session)
		*session = ipc_msg_session(m);
	if (ipc_msg_error(m, &t) < 0)
		snprintf(text, text_size, "refused: %s", t ? t : "?");
	else
		snprintf(text, text_size, "accepted");
	ipc_msg_free(m);
	return 1;
}

static int
raw(int argc, char **argv)
{
	const char *scenario = argv[3], *genuine = argc > 4 ? argv[4] : NULL;
	uint64_t session = 0;
	char text[600];
	int fd, r, sent;
	pid_t child;

	if (strcmp(scenario, "version2") == 0) {
		fd = raw_connect(argv[2]);
		raw_send(fd, 1, 1, 0, 2, 0);
		raw_recv(fd, 3000, NULL, text, sizeof(text));
		printf("%s\n", text);
		return 0;
	}
	if (strcmp(scenario, "no-hello") == 0) {
		fd = raw_connect(argv[2]);
		r = raw_recv(fd, 5000, NULL, text, sizeof(text));
		printf("%s\n", r == 0 ? "closed" : r < 0 ? "still open" : text);
		return 0;
	}
	if (strcmp(scenario, "garbage-after-hello") == 0) {
		fd = raw_connect(argv[2]);
		raw_send(fd, 1, 1, 0, IPC_PROTOCOL_VERSION, 0);
		raw_recv(fd, 3000, &session, text, sizeof(text));
		if (send(fd, "garbage!", 8, 0) < 0)
			perror("send");
		r = raw_recv(fd, 3000, NULL, text, sizeof(text));
		printf("%s\n", r == 0 ? "closed" : r < 0 ? "still open" : text);
		return 0;
	}
	if (strcmp(scenario, "flood") == 0) {
		/* Requests as fast as the socket takes them, never reading a reply. */
		struct timespec t0, t;

		fd = raw_connect(argv[2]);
		raw_send(fd, 1, 1, 0, IPC_PROTOCOL_VERSION, 0);
		raw_recv(fd, 3000, &session, text, sizeof(text));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (sent = 0; sent < 10000;) {
			r = raw_send(fd, T_ECHO, (uint64_t)sent + 2, session, IPC_PROTOCOL_VERSION,
				     MSG_DONTWAIT);
			if (r == 0) {
				sent++;
				clock_gettime(CLOCK_MONOTONIC, &t0);
				continue;
			}
			if (r != -EAGAIN) {
				printf("cut off after %d\n", sent);
				return 0;
			}
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec >= 2) {
				printf("blocked after %d\n", sent);
				fflush(stdout);
				sleep(3); /* stay blocked while the test checks others are served */
				return 0;
			}
			usleep(1000);
		}
		printf("sent all %d\n", sent);
		return 0;
	}
	if (strcmp(scenario, "fork-hello") == 0) {
		/* The connecting process forks; the child speaks. */
		fd = raw_connect(argv[2]);
		child = fork();
		if (child == 0) {
			raw_send(fd, 1, 1, 0, IPC_PROTOCOL_VERSION, 0);
			raw_recv(fd, 3000, NULL, text, sizeof(text));
			printf("%s\n", text);
			fflush(stdout);
			_exit(0);
		}
		waitpid(child, NULL, 0);
		return 0;
	}
	if ((strcmp(scenario, "exec-race") == 0 || strcmp(scenario, "queued-before-exec") == 0) &&
	    genuine) {
		bool queue = strcmp(scenario, "queued-before-exec") == 0;
		int pipefd[2];

		/*
		 * Connect, say HELLO (and, queued-before-exec, a privileged request
		 * right behind it), then exec the genuine binary so that the
		 * listener may find it when it looks. A child kept the socket and
		 * tries to use whatever the handshake granted.
		 */
		fd = raw_connect(argv[2]);
		if (pipe(pipefd) < 0)
			return 1;
		child = fork();
		if (child == 0) {
			char c;

			close(pipefd[1]);
			(void)!read(pipefd[0], &c, 1); /* the parent is about to exec */
			r = raw_recv(fd, 3000, &session, text, sizeof(text));
			printf("handshake: %s\n", r == 1 ? text : r == 0 ? "closed" : "timeout");
			if (r == 1 && strcmp(text, "accepted") == 0) {
				r = raw_send(fd, T_PRIVILEGED, 7, session, IPC_PROTOCOL_VERSION, 0);
				if (r < 0) {
					printf("privileged call: send failed: %s\n", strerror(-r));
					fflush(stdout);
					_exit(0);
				}
				r = raw_recv(fd, 3000, NULL, text, sizeof(text));
				printf("privileged call: %s\n",
				       r == 1 ? text : r == 0 ? "connection closed" : "no answer");
			}
			fflush(stdout);
			_exit(0);
		}
		close(pipefd[0]);
		raw_send(fd, 1, 1, 0, IPC_PROTOCOL_VERSION, 0);
		if (queue)
			raw_send(fd, T_PRIVILEGED, 2, 0, IPC_PROTOCOL_VERSION, 0);
		(void)!write(pipefd[1], "x", 1);
		execl(genuine, genuine, "sleep", "1", (char *)NULL);
		perror("exec");
		return 1;
	}
	fprintf(stderr, "unknown scenario %s\n", scenario);
	return 64;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "raw") == 0)
		return raw(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "call") == 0)
		return call(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "endpoint") == 0)
		return endpoint(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "sleep") == 0) {
		sleep((unsigned)atoi(argv[2]));
		return 0;
	}
	fprintf(stderr, "usage: see the comment at the top of ipc_test_peer.c\n");
	return 64;
}
