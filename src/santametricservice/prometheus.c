/*
 * The Prometheus scrape endpoint: GET /metrics on 127.0.0.1:MetricPrometheusPort.
 * Hand-written on purpose: none of the project's libraries serves HTTP, and
 * this needs one verb, one path, a bounded request and a bounded number of
 * clients on the service's own event loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metricservice.h"

#define PROM_MAX_CLIENTS   16
#define PROM_MAX_REQUEST   8192
#define PROM_CLIENT_USEC   (5 * 1000 * 1000ULL) /* a client gets 5 s in all */

struct prom_client {
	struct prom_client *next;
	struct prom_server *server;
	int fd;
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

static int
on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct prom_server *s = userdata;
	struct prom_client *c;
	int cfd;

	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (s->n_clients >= PROM_MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		c->server = s;
		c->fd = cfd;
		if (sd_event_add_io(s->event, &c->io, cfd, EPOLLIN, on_client, c) < 0 ||
		    sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, PROM_CLIENT_USEC,
					       100000, on_client_timeout, c) < 0) {
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
prom_server_new(sd_event *event, int port, prom_body_fn body, void *userdata,
		struct prom_server **out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct prom_server *s = calloc(1, sizeof(*s));
	int one = 1, r;

	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->body = body;
	s->userdata = userdata;
	/* Loopback only: the scraper (node exporter, a local agent) runs on this machine. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s->fd, 16) < 0) {
		r = -errno;
		goto fail;
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
