/*
 * The Prometheus scrape endpoint: GET /metrics on 127.0.0.1:MetricPrometheusPort.
 * Hand-written on purpose: none of the project's libraries serves HTTP, and
 * this needs one verb, one path, a bounded request and a bounded number of
 * clients on the service's own event loop.
 *
 * Clients are not all equal: any local user can connect, so idle connections
 * must not lock the scraper out. Each client's uid is read from the kernel
 * (sock_diag: the peer is a socket on this machine); one uid holds at most
 * PROM_MAX_PER_UID connections, and when every slot is taken a newcomer
 * evicts the oldest connection that has not sent its request yet, of the
 * uid holding the most. A request must arrive within PROM_REQUEST_USEC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metricservice.h"

#define PROM_MAX_CLIENTS   16
#define PROM_ACCEPT_BATCH  16 /* per wakeup: a reconnecting flood cannot keep the loop here */
#define PROM_MAX_PER_UID   4
#define PROM_MAX_REQUEST   8192
#define PROM_REQUEST_USEC  (2 * 1000 * 1000ULL) /* to send the request */
#define PROM_CLIENT_USEC   (5 * 1000 * 1000ULL) /* a client gets 5 s in all */
#define PROM_UID_UNKNOWN   ((uid_t)-1)

struct prom_client {
	struct prom_client *next;
	struct prom_server *server;
	int fd;
	uid_t uid;      /* of the peer's socket; PROM_UID_UNKNOWN when the kernel did not say */
	uint64_t seq;   /* accept order: lower is older */
	sd_event_source *io, *timer;
	char req[PROM_MAX_REQUEST];
	size_t req_len;
	char *out;
	size_t out_len, out_off;
};

struct prom_server {
	sd_event *event;
	int fd;
	sd_event_source *io;
	struct prom_client *clients;
	unsigned int n_clients;
	uint64_t next_seq;
	bool uid_unknown_logged;
	prom_body_fn body;
	void *userdata;
	uint64_t scrapes;
};

static void
client_free(struct prom_client *c)
{
	struct prom_client **pp;

	for (pp = &c->server->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->server->n_clients--;
			break;
		}
	}
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	close(c->fd);
	free(c->out);
	free(c);
}

static void
respond(struct prom_client *c, int status, const char *reason, const char *type, char *body)
{
	FILE *f = open_memstream(&c->out, &c->out_len);
	size_t len = body ? strlen(body) : 0;

	if (!f) {
		client_free(c);
		free(body);
		return;
	}
	fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		   "Connection: close\r\n\r\n",
		status, reason, type, len);
	if (body)
		fwrite(body, 1, len, f);
	fclose(f);
	free(body);
	sd_event_source_set_io_events(c->io, EPOLLOUT);
	/* Answered: no longer idle, and its deadline moves from the request to the whole. */
	(void)sd_event_source_set_time_relative(c->timer, PROM_CLIENT_USEC);
	(void)sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static void
handle_request(struct prom_client *c)
{
	struct prom_server *s = c->server;
	char *body;

	if (strncmp(c->req, "GET /metrics ", 13) == 0 || strncmp(c->req, "GET /metrics?", 13) == 0) {
		body = s->body(s->userdata);
		s->scrapes++;
		if (!body)
			respond(c, 503, "Service Unavailable", "text/plain", strdup("no metrics from santad yet\n"));
		else
			respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body);
	} else if (strncmp(c->req, "GET ", 4) == 0) {
		respond(c, 404, "Not Found", "text/plain", strdup("try /metrics\n"));
	} else {
		respond(c, 405, "Method Not Allowed", "text/plain", strdup("GET only\n"));
	}
}

static int
on_client(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct prom_client *c = userdata;
	ssize_t n;

	if (c->out) {
		n = write(fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0 || (c->out_off += (size_t)n) == c->out_len)
			client_free(c);
		return 0;
	}
	n = read(fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		client_free(c);
		return 0;
	}
	c->req_len += (size_t)n;
	c->req[c->req_len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		handle_request(c);
	else if (c->req_len >= sizeof(c->req) - 1)
		respond(c, 431, "Request Header Fields Too Large", "text/plain", NULL);
	return 0;
}

static int
on_client_timeout(sd_event_source *src, uint64_t usec, void *userdata)
{
	client_free(userdata);
	return 0;
}

/*
 * The uid owning the other end of cfd, a TCP connection from this machine:
 * one exact sock_diag lookup of the peer's socket by its four-tuple, as `ss
 * -e` shows it. Returns 0 or -errno (the peer already gone, no AF_NETLINK).
 */
static int
peer_uid(int cfd, uid_t *uid)
{
	struct sockaddr_in local, peer;
	socklen_t len = sizeof(local), plen = sizeof(peer);
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} q = { 0 };
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} a;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	const struct inet_diag_msg *m;
	ssize_t n;
	int nl, r = 0;

	if (getsockname(cfd, (struct sockaddr *)&local, &len) < 0 ||
	    getpeername(cfd, (struct sockaddr *)&peer, &plen) < 0)
		return -errno;
	if (local.sin_family != AF_INET || peer.sin_family != AF_INET)
		return -EAFNOSUPPORT;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST;
	q.req.sdiag_family = AF_INET;
	q.req.sdiag_protocol = IPPROTO_TCP;
	q.req.idiag_states = ~0U;
	/* The peer's socket: its own address is our peer's, its remote ours. */
	q.req.id.idiag_sport = peer.sin_port;
	q.req.id.idiag_dport = local.sin_port;
	q.req.id.idiag_src[0] = peer.sin_addr.s_addr;
	q.req.id.idiag_dst[0] = local.sin_addr.s_addr;
	q.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	q.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (sendto(nl, &q, sizeof(q), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		r = -errno;
		goto out;
	}
	n = recv(nl, &a, sizeof(a), 0);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	if (!NLMSG_OK(&a.nlh, (size_t)n)) {
		r = -EBADMSG;
	} else if (a.nlh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&a.nlh);

		r = a.nlh.nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ? e->error : -EBADMSG;
	} else if (a.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		   a.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(*m))) {
		r = -EBADMSG;
	} else {
		m = NLMSG_DATA(&a.nlh);
		*uid = m->idiag_uid;
	}
out:
	close(nl);
	return r;
}

/* Waiting for its request, not yet answered: what an idle holder of a slot looks like. */
static bool
client_idle(const struct prom_client *c)
{
	return c->out == NULL;
}

static unsigned int
clients_of(const struct prom_server *s, uid_t uid)
{
	unsigned int n = 0;

	for (const struct prom_client *c = s->clients; c; c = c->next)
		n += c->uid == uid;
	return n;
}

/*
 * The connection to give up for a newcomer: the oldest idle one of uid (when
 * of_uid), else the oldest idle one of the uid holding the most connections.
 * NULL when none is idle.
 */
static struct prom_client *
client_to_evict(const struct prom_server *s, bool of_uid, uid_t uid)
{
	struct prom_client *best = NULL;
	unsigned int best_n = 0;

	for (struct prom_client *c = s->clients; c; c = c->next) {
		unsigned int n;

		if (!client_idle(c) || (of_uid && c->uid != uid))
			continue;
		n = of_uid ? 0 : clients_of(s, c->uid);
		if (!best || n > best_n || (n == best_n && c->seq < best->seq)) {
			best = c;
			best_n = n;
		}
	}
	return best;
}

/* Room for a client of uid: false when every slot it could take is busy answering. */
static bool
make_room(struct prom_server *s, uid_t uid)
{
	struct prom_client *victim;

	if (uid != PROM_UID_UNKNOWN && clients_of(s, uid) >= PROM_MAX_PER_UID) {
		victim = client_to_evict(s, true, uid);
		if (!victim)
			return false;
		client_free(victim);
	}
	if (s->n_clients >= PROM_MAX_CLIENTS) {
		victim = client_to_evict(s, false, 0);
		if (!victim)
			return false;
		client_free(victim);
	}
	return true;
}

static int
on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct prom_server *s = userdata;
	struct prom_client *c;
	unsigned int batch = 0;
	uid_t uid;
	int cfd, r;

	while (batch++ < PROM_ACCEPT_BATCH &&
	       (cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		r = peer_uid(cfd, &uid);
		if (r < 0) {
			/* Then only the overall cap and the deadlines hold; said once. */
			if (r != -ENOENT && !s->uid_unknown_logged) {
				s->uid_unknown_logged = true;
				fprintf(stderr, "santametricservice: cannot tell Prometheus clients "
					"apart (sock_diag: %s): one user's idle connections may "
					"crowd out others\n", strerror(-r));
			}
			uid = PROM_UID_UNKNOWN;
		}
		if (!make_room(s, uid) || !(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		c->server = s;
		c->fd = cfd;
		c->uid = uid;
		c->seq = s->next_seq++;
		if (sd_event_add_io(s->event, &c->io, cfd, EPOLLIN, on_client, c) < 0 ||
		    sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, PROM_REQUEST_USEC,
					       10000, on_client_timeout, c) < 0) {
			sd_event_source_disable_unref(c->io);
			close(cfd);
			free(c);
			continue;
		}
		c->next = s->clients;
		s->clients = c;
		s->n_clients++;
	}
	return 0;
}

int
prom_server_new(sd_event *event, int listen_fd, int port, prom_body_fn body, void *userdata,
		struct prom_server **out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct prom_server *s = calloc(1, sizeof(*s));
	int one = 1, r;

	if (!s) {
		if (listen_fd >= 0)
			close(listen_fd);
		return -ENOMEM;
	}
	s->event = sd_event_ref(event);
	s->body = body;
	s->userdata = userdata;
	s->fd = listen_fd;
	if (s->fd >= 0) {
		/* santad's, bound and listening already: it keeps the port while we restart. */
		if (fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) < 0) {
			r = -errno;
			goto fail;
		}
	} else {
		/* Loopback only: the scraper (node exporter, a local agent) runs on this machine. */
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->fd, 64) < 0) {
			r = -errno;
			goto fail;
		}
	}
	r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_accept, s);
	if (r < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	prom_server_free(s);
	return r;
}

void
prom_server_free(struct prom_server *s)
{
	if (!s)
		return;
	while (s->clients)
		client_free(s->clients);
	sd_event_source_disable_unref(s->io);
	if (s->fd >= 0)
		close(s->fd);
	sd_event_unref(s->event);
	free(s);
}
