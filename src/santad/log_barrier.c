/*
 * Flush barrier between the event log's writer thread and requests on the
 * loop (log_barrier.h). The loop never blocks on the writer: a request takes
 * a flush ticket and waits in a small fixed table; the writer's eventfd or a
 * timer brings it back.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "log_barrier.h"
#include "santa/ipc.h"
#include "santad.h"
#include "event_log.h"

struct waiting_request {
	struct ipc_conn *conn; /* a reference: the peer may hang up meanwhile */
	struct ipc_msg *req;
	log_barrier_answer_fn answer;
	void *userdata;
	uint64_t ticket;
	uint64_t deadline_usec;
};

struct log_barrier {
	sd_event *event;
	struct event_log *log;
	sd_event_source *done_src, *timer;
	struct waiting_request waiting[LOG_BARRIER_MAX_WAITING];
	unsigned int n_waiting;
	uint64_t timed_out;
};

static void
answer_one(struct waiting_request *w)
{
	w->answer(w->conn, w->req, w->userdata);
	ipc_msg_free(w->req);
	ipc_conn_unref(w->conn);
}

/* Answers what is done (or, with now_usec past its deadline, late); re-arms the timer. */
static void
answer_ready(struct log_barrier *b, uint64_t now_usec)
{
	uint64_t earliest = UINT64_MAX;
	unsigned int i = 0;

	while (i < b->n_waiting) {
		struct waiting_request w = b->waiting[i];
		bool late = now_usec >= w.deadline_usec;

		if (late || event_log_ticket_done(b->log, w.ticket)) {
			/* Out of the table before answering: an answer may add a request. */
			b->waiting[i] = b->waiting[--b->n_waiting];
			if (late)
				b->timed_out++;
			answer_one(&w);
			continue;
		}
		if (w.deadline_usec < earliest)
			earliest = w.deadline_usec;
		i++;
	}
	if (earliest != UINT64_MAX && sd_event_source_set_time(b->timer, earliest) >= 0)
		(void)sd_event_source_set_enabled(b->timer, SD_EVENT_ONESHOT);
	else
		(void)sd_event_source_set_enabled(b->timer, SD_EVENT_OFF);
}

static int
on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct log_barrier *b = userdata;
	uint64_t n, now = 0;

	(void)!read(fd, &n, sizeof(n));
	(void)sd_event_now(b->event, CLOCK_MONOTONIC, &now);
	answer_ready(b, now);
	return 0;
}

static int
on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct log_barrier *b = userdata;

	answer_ready(b, usec);
	return 0;
}

int
log_barrier_new(sd_event *event, struct event_log *log, struct log_barrier **out)
{
	struct log_barrier *b = calloc(1, sizeof(*b));
	int r;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	b->event = event;
	b->log = log;
	r = sd_event_add_io(event, &b->done_src, event_log_done_fd(log), EPOLLIN, on_done, b);
	if (r < 0)
		goto fail;
	r = sd_event_add_time(event, &b->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, b);
	if (r < 0)
		goto fail;
	r = sd_event_source_set_enabled(b->timer, SD_EVENT_OFF);
	if (r < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	log_barrier_free(b);
	return r;
}

void
log_barrier_free(struct log_barrier *b)
{
	if (!b)
		return;
	while (b->n_waiting > 0) {
		struct waiting_request w = b->waiting[--b->n_waiting];

		answer_one(&w);
	}
	sd_event_source_disable_unref(b->done_src);
	sd_event_source_disable_unref(b->timer);
	free(b);
}

void
log_barrier_wait(struct log_barrier *b, struct ipc_conn *conn, struct ipc_msg *req,
		 log_barrier_answer_fn answer, void *userdata)
{
	uint64_t ticket = event_log_flush_ticket(b->log), now = 0;
	struct waiting_request *w;

	if (event_log_ticket_done(b->log, ticket) || b->n_waiting == LOG_BARRIER_MAX_WAITING) {
		/* Nothing to wait for, or too many waiting: answered with what is stored. */
		answer(conn, req, userdata);
		ipc_msg_free(req);
		return;
	}
	(void)sd_event_now(b->event, CLOCK_MONOTONIC, &now);
	w = &b->waiting[b->n_waiting++];
	w->conn = ipc_conn_ref(conn);
	w->req = req;
	w->answer = answer;
	w->userdata = userdata;
	w->ticket = ticket;
	w->deadline_usec = now + LOG_BARRIER_MAX_WAIT_USEC;
	/* The writer may have finished between the ticket and here: look once more. */
	answer_ready(b, now);
}

void
log_barrier_stats(const struct log_barrier *b, unsigned int *waiting, uint64_t *timed_out)
{
	*waiting = b ? b->n_waiting : 0;
	*timed_out = b ? b->timed_out : 0;
}
