/*
 * Requests that must see every exec decided before them (the sync service
 * asking for pending events, santactl printlog, status and metrics counts)
 * wait here until the event log has stored what was submitted when they
 * came, then are answered. The wait is bounded: a stalled writer (a hung
 * disk) delays an answer by at most LOG_BARRIER_MAX_WAIT_USEC, and past
 * LOG_BARRIER_MAX_WAITING waiting requests new ones are answered at once.
 */
#ifndef SANTAD_LOG_BARRIER_H
#define SANTAD_LOG_BARRIER_H

#include <stdint.h>

#include <systemd/sd-event.h>

struct event_log;
struct ipc_conn;
struct ipc_msg;
struct log_barrier;

#define LOG_BARRIER_MAX_WAITING   64
#define LOG_BARRIER_MAX_WAIT_USEC (2 * 1000 * 1000)

/* Answers req on conn; req stays the caller's (the barrier frees it after). */
typedef void (*log_barrier_answer_fn)(struct ipc_conn *conn, const struct ipc_msg *req,
				      void *userdata);

int log_barrier_new(sd_event *event, struct event_log *log, struct log_barrier **out);
/* Answers every waiting request, then frees the barrier. */
void log_barrier_free(struct log_barrier *b);
/*
 * Calls answer(conn, req, userdata) once everything submitted to the event
 * log so far is finished: at once when it is, else from the loop later.
 * Takes req.
 */
void log_barrier_wait(struct log_barrier *b, struct ipc_conn *conn, struct ipc_msg *req,
		      log_barrier_answer_fn answer, void *userdata);
/* Requests waiting now, and requests answered at their time limit, ever. */
void log_barrier_stats(const struct log_barrier *b, unsigned int *waiting, uint64_t *timed_out);

#endif
