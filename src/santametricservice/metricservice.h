/* santametricservice's parts. */
#ifndef METRICSERVICE_H
#define METRICSERVICE_H

#include <systemd/sd-event.h>

/* The body of a scrape, malloc'd, or NULL when there is nothing to serve yet. */
typedef char *(*prom_body_fn)(void *userdata);

struct prom_server;
/*
 * Serves GET /metrics on listen_fd (a listening TCP socket, taken over), or
 * when it is -1 on a socket of its own bound to 127.0.0.1:port.
 */
int prom_server_new(sd_event *event, int listen_fd, int port, prom_body_fn body, void *userdata,
		    struct prom_server **out);
void prom_server_free(struct prom_server *server);

#endif
