/* santasyncservice's parts and the context struct main owns. */
#ifndef SYNCSERVICE_H
#define SYNCSERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "santa/config.h"
#include "santa/http.h"
#include "santa/ipc.h"
#include "santa/log.h"
#include "santa/ratelimit.h"
#include "santa/santad_proto.h"
#include "santa/sync.h"

/* ---- the service ---- */

#define SYNC_MAX_QUEUED 2 /* one running and one waiting, as Santa's kMaxEnqueuedSyncs */

struct sync_run;

struct syncservice {
	struct santa_log log;
	struct santa_config cfg;
	const char *config_path;
	sd_event *event;
	struct ipc_conn *santad;      /* validated channel to santad */
	struct ipc_listener *listener; /* santasyncservice.sock */
	struct santa_ratelimit refusals; /* the listener's refusal log lines, per uid */
	struct http *http;
	struct http_settings http_settings;
	char base_url[4096]; /* SyncBaseURL with a trailing '/' */
	char xsrf_token[512], xsrf_header[128]; /* kept for the service's life, as Santa does */
	struct sync_run *running;
	struct sync_run *queued;
	sd_event_source *periodic; /* next full sync */
	unsigned int consecutive_failures;
	unsigned int batch_size; /* the last preflight's, for uploads between full syncs */
	unsigned int full_sync_interval; /* the last preflight's: caps the backoff */
	bool events_wanted;      /* santad asked for an upload while a sync was running */
	bool stopping; /* runs waiting on santad are freed, not continued */
	uint64_t syncs_ok, syncs_failed;
};

/* What asked for a sync: santactl (with a request to answer and maybe a progress endpoint) or the timer. */
struct sync_requester {
	struct ipc_conn *conn;     /* santactl's connection, or NULL */
	struct ipc_msg *request;   /* to answer with the status */
	struct ipc_conn *progress; /* santactl's endpoint for log lines, or NULL */
	int sync_type;             /* requested by the user: enum sync_type */
};

/* Starts or queues a sync; -EBUSY when too many are waiting. Takes the requester's refs. */
int sync_enqueue(struct syncservice *svc, struct sync_requester *who);
/* santad has events to go up now (a bundle was hashed): uploads them without a full sync. */
void sync_events_now(struct syncservice *svc);
/* Arms the next periodic sync, in interval seconds with up to 50 % jitter. */
void sync_schedule(struct syncservice *svc, unsigned int interval);
void sync_abort_all(struct syncservice *svc);

#endif
