/*
 * One full sync, as Santa's SNTSyncManager runs it: preflight -> event
 * upload -> rule download -> postflight, each stage a chain of callbacks on
 * the loop (HTTP through http.c, santad through its channel). Preflight or
 * rule download failing ends the sync; event upload and postflight failures
 * do not (docs/sync-protocol.md, section 3). Settings reach santad only in
 * postflight, rules only once every page arrived: a sync that stops halfway
 * changes nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <jansson.h>

#include "santa/path.h"
#include "syncservice.h"

#define SYNC_ATTEMPTS          5
#define SYNC_STAGE_TIMEOUT_S   30
#define SYNC_XSRF_TIMEOUT_S    10
#define SYNC_SANTAD_TIMEOUT    (10 * 1000 * 1000ULL)
#define SYNC_RULES_TIMEOUT     (300 * 1000 * 1000ULL) /* santad storing rules, as Santa */
#define SYNC_EVENTS_PAGE       64
#define SYNC_BUNDLE_EVENTS_BYTES_MAX (64 * 1024 * 1024) /* BUNDLE_BINARY events from santad */

struct sync_run;
typedef void (*stage_ok_fn)(struct sync_run *run, const struct http_response *resp);
typedef void (*stage_fail_fn)(struct sync_run *run, const char *error);

struct sync_run {
	struct syncservice *svc;
	struct sync_requester who;
	char machine_id[256];
	struct sync_preflight pf;
	enum sync_type type;
	bool type_from_user;
	bool events_only; /* santad asked for an upload between full syncs */

	/* the stage request being retried */
	const char *stage;
	char url[4400];
	char *body;
	int attempt;
	long timeout_s;
	bool xsrf_tried;
	stage_ok_fn on_ok;
	stage_fail_fn on_fail;
	sd_event_source *sleep;

	/* event upload */
	int64_t after_id;
	char **events;
	int64_t *ids;
	size_t n_events;
	uint64_t uploaded;
	bool events_done; /* santad has no more */
	/* bundle binaries the server asked for, sent before the batch that asked is deleted */
	char **bin_events;
	size_t n_bin, bin_next, bin_chunk;

	/* rule download */
	FILE *rules;
	int rules_fd;
	uint64_t rules_received, rules_processed;
	unsigned int pages;
	char *cursor;
};

static void finish(struct sync_run *run, int status, const char *stage, const char *error);
static void run_free(struct sync_run *run);
static void events_next(struct sync_run *run);
static void rules_next(struct sync_run *run);
static void postflight(struct sync_run *run);

static void
say(struct sync_run *run, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A line for the log, and for santactl sync's terminal when it asked. */
static void
say(struct sync_run *run, int level, const char *fmt, ...)
{
	char line[1024];
	struct ipc_msg *m;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	santa_log(&run->svc->log, level, "%s", line);
	if (!run->who.progress)
		return;
	m = ipc_msg_new(SYNCSERVICE_PROGRESS);
	if (m && ipc_dict_put_string(ipc_msg_body(m), "line", line) == 0)
		ipc_conn_send_event(run->who.progress, m);
	else
		ipc_msg_free(m);
}

/* What a response held that was ignored: said to the log and to santactl sync. */
static void
say_ignored(struct sync_run *run, const char *stage, const struct sync_notes *notes)
{
	for (size_t i = 0; i < notes->n && i < SYNC_MAX_NOTES; i++)
		say(run, LOG_WARNING, "%s: %s", stage, notes->text[i]);
	if (notes->n > SYNC_MAX_NOTES)
		say(run, LOG_WARNING, "%s: and %zu more ignored", stage, notes->n - SYNC_MAX_NOTES);
}

/* ---- HTTP with Santa's retries and XSRF dance ---- */

static void send_attempt(struct sync_run *run);

static int
on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sync_run *run = userdata;

	run->sleep = sd_event_source_disable_unref(run->sleep);
	send_attempt(run);
	return 0;
}

static void
retry_later(struct sync_run *run, const char *why)
{
	/* Before attempt n (n >= 2) Santa sleeps 2^n seconds: 4, 8, 16, 32. */
	uint64_t delay = 1ULL << (run->attempt + 1);

	if (run->attempt >= SYNC_ATTEMPTS) {
		run->on_fail(run, why);
		return;
	}
	santa_log(&run->svc->log, LOG_INFO, "%s: %s; retrying in %llu s", run->stage, why,
		  (unsigned long long)delay);
	run->attempt++;
	if (sd_event_add_time_relative(run->svc->event, &run->sleep, CLOCK_MONOTONIC,
				       delay * 1000000ULL, 100000, on_retry_timer, run) < 0)
		run->on_fail(run, why);
}

/* Takes the token a response carries, in the header it names (Santa's default X-XSRF-TOKEN). */
static void
take_xsrf_token(struct syncservice *svc, const struct http_response *resp)
{
	snprintf(svc->xsrf_token, sizeof(svc->xsrf_token), "%s", resp->xsrf_token);
	snprintf(svc->xsrf_header, sizeof(svc->xsrf_header), "%s",
		 resp->xsrf_header[0] ? resp->xsrf_header : "X-XSRF-TOKEN");
}

static void
on_xsrf_done(const struct http_response *resp, void *userdata)
{
	struct sync_run *run = userdata;
	struct syncservice *svc = run->svc;

	if (resp->status == 200 && resp->xsrf_token[0]) {
		take_xsrf_token(svc, resp);
		santa_log(&svc->log, LOG_INFO, "XSRF token received");
	}
	retry_later(run, "HTTP 403");
}

static void
on_stage_done(const struct http_response *resp, void *userdata)
{
	struct sync_run *run = userdata;
	struct syncservice *svc = run->svc;
	char why[300], url[4400];

	if (resp->curl_code == CURLE_OK && resp->status == 200) {
		run->on_ok(run, resp);
		return;
	}
	switch (resp->curl_code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		/* Santa gives up at once when offline; an unreachable server is that here. */
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		/* A certificate that fails now fails in a minute too: say so at once. */
		run->on_fail(run, resp->error);
		return;
	default:
		break;
	}
	if (resp->curl_code != CURLE_OK)
		snprintf(why, sizeof(why), "%s", resp->error);
	else
		snprintf(why, sizeof(why), "HTTP %ld", resp->status);
	/*
	 * Some servers send the token with the 403 itself and have no xsrf/
	 * endpoint: retry once, at once, with that token. A token that did not
	 * help (the same again) is not retried.
	 */
	if (resp->curl_code == CURLE_OK && resp->status == 403 && resp->xsrf_token[0] &&
	    !run->xsrf_tried && run->attempt < SYNC_ATTEMPTS &&
	    strcmp(resp->xsrf_token, svc->xsrf_token) != 0) {
		run->xsrf_tried = true;
		take_xsrf_token(svc, resp);
		santa_log(&svc->log, LOG_INFO, "%s: HTTP 403 with an XSRF token; retrying with it",
			  run->stage);
		run->attempt++;
		send_attempt(run);
		return;
	}
	if (resp->curl_code == CURLE_OK && resp->status == 403 && !svc->xsrf_token[0] &&
	    !run->xsrf_tried && run->attempt < SYNC_ATTEMPTS) {
		run->xsrf_tried = true;
		snprintf(url, sizeof(url), "%sxsrf/%s", svc->base_url, run->machine_id);
		if (http_post(svc->http, url, NULL, 0, SYNC_XSRF_TIMEOUT_S, NULL, NULL, on_xsrf_done,
			      run) == 0)
			return;
	}
	retry_later(run, why);
}

static void
send_attempt(struct sync_run *run)
{
	struct syncservice *svc = run->svc;
	int r;

	say(run, LOG_DEBUG, "Performing request, attempt %d (of %d maximum)...", run->attempt,
	    SYNC_ATTEMPTS);
	r = http_post(svc->http, run->url, run->body, run->body ? strlen(run->body) : 0,
		      run->timeout_s, svc->xsrf_header, svc->xsrf_token, on_stage_done, run);
	if (r < 0)
		run->on_fail(run, strerror(-r));
}

/* POSTs body (taken) to <base>/<stage>/<machine id>. */
static void
stage_post(struct sync_run *run, const char *stage, char *body, stage_ok_fn ok, stage_fail_fn fail)
{
	free(run->body);
	run->body = body;
	run->stage = stage;
	run->on_ok = ok;
	run->on_fail = fail;
	run->attempt = 1;
	run->xsrf_tried = false;
	run->timeout_s = SYNC_STAGE_TIMEOUT_S;
	if (!body) {
		fail(run, "out of memory building the request");
		return;
	}
	snprintf(run->url, sizeof(run->url), "%s%s/%s", run->svc->base_url, stage, run->machine_id);
	send_attempt(run);
}

static int
santad_call(struct sync_run *run, struct ipc_msg *msg, uint64_t timeout, ipc_reply_fn cb)
{
	if (!run->svc->santad) {
		ipc_msg_free(msg);
		return -ENOTCONN;
	}
	if (!msg)
		return -ENOMEM;
	return ipc_conn_send_request(run->svc->santad, msg, timeout, cb, run);
}

/*
 * The service is stopping: santad's channel was invalidated with this run's
 * request pending. The run has no other operation outstanding (a run waits
 * on one thing at a time), so it can go now.
 */
static bool
abandoned(struct sync_run *run, struct ipc_msg *reply)
{
	struct syncservice *svc = run->svc;

	if (!svc->stopping)
		return false;
	ipc_msg_free(reply);
	if (svc->running == run)
		svc->running = NULL;
	run_free(run);
	return true;
}

static const char *
reply_error(struct ipc_msg *reply, int error)
{
	const char *text = NULL;

	if (reply)
		ipc_msg_error(reply, &text);
	return text ? text : strerror(error < 0 ? -error : EIO);
}

/* ---- postflight ---- */

static void
on_postflight_applied(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct sync_run *run = userdata;

	if (abandoned(run, reply))
		return;
	if (error < 0) {
		finish(run, SYNC_STATUS_DAEMON_TIMEOUT, "postflight", reply_error(reply, error));
	} else {
		say(run, LOG_INFO, "Postflight complete");
		finish(run, SYNC_STATUS_SUCCESS, NULL, NULL);
	}
	ipc_msg_free(reply);
}

static void
put_opt_bool(struct ipc_value *b, const char *key, const struct sync_opt_bool *v)
{
	if (v->set)
		ipc_dict_put_bool(b, key, v->value);
}

/* The server's result is ignored, as Santa does: the settings apply whatever it said. */
static void
apply_settings(struct sync_run *run)
{
	struct ipc_msg *m = ipc_msg_new(SANTAD_SYNC_POSTFLIGHT);
	struct ipc_value *b;
	const struct sync_preflight *pf = &run->pf;

	if (!m) {
		finish(run, SYNC_STATUS_UNKNOWN, "postflight", "out of memory");
		return;
	}
	b = ipc_msg_body(m);
	if (pf->client_mode == SANTA_MODE_MONITOR || pf->client_mode == SANTA_MODE_LOCKDOWN)
		ipc_dict_put_string(b, "client_mode",
				    pf->client_mode == SANTA_MODE_MONITOR ? "MONITOR" : "LOCKDOWN");
	if (pf->allowed_path_regex_set)
		ipc_dict_put_string(b, "allowed_path_regex", pf->allowed_path_regex);
	if (pf->blocked_path_regex_set)
		ipc_dict_put_string(b, "blocked_path_regex", pf->blocked_path_regex);
	put_opt_bool(b, "enable_bundles", &pf->enable_bundles);
	put_opt_bool(b, "enable_transitive_rules", &pf->enable_transitive_rules);
	put_opt_bool(b, "enable_all_event_upload", &pf->enable_all_event_upload);
	put_opt_bool(b, "disable_unknown_event_upload", &pf->disable_unknown_event_upload);
	put_opt_bool(b, "block_usb_mount", &pf->block_usb_mount);
	ipc_dict_put_int(b, "full_sync_interval", pf->full_sync_interval);
	ipc_dict_put_bool(b, "clean_done", run->type != SYNC_TYPE_NORMAL);
	if (santad_call(run, m, SYNC_SANTAD_TIMEOUT, on_postflight_applied) < 0)
		finish(run, SYNC_STATUS_DAEMON_TIMEOUT, "postflight", "santad is not reachable");
}

static void
on_postflight_ok(struct sync_run *run, const struct http_response *resp)
{
	apply_settings(run);
}

static void
on_postflight_fail(struct sync_run *run, const char *error)
{
	say(run, LOG_WARNING, "Postflight request failed: %s (ignored, as Santa does)", error);
	apply_settings(run);
}

static void
postflight(struct sync_run *run)
{
	say(run, LOG_INFO, "Postflight starting");
	stage_post(run, "postflight",
		   sync_postflight_request(run->rules_received, run->rules_processed, run->machine_id),
		   on_postflight_ok, on_postflight_fail);
}

/* ---- rule download ---- */

static void
rules_failed(struct sync_run *run, const char *error)
{
	finish(run, SYNC_STATUS_RULEDOWNLOAD_FAILED, "ruledownload", error);
}

static void
on_rules_applied(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct sync_run *run = userdata;

	if (abandoned(run, reply))
		return;
	if (error < 0) {
		rules_failed(run, reply_error(reply, error));
	} else {
		say(run, LOG_INFO, "Processed %llu rules", (unsigned long long)run->rules_processed);
		say(run, LOG_INFO, "Rule download complete");
		postflight(run);
	}
	ipc_msg_free(reply);
}

static void
rules_store(struct sync_run *run)
{
	struct ipc_msg *m;
	int fd;

	say(run, LOG_INFO, "Received %llu rules", (unsigned long long)run->rules_received);
	if (run->rules_received > run->rules_processed)
		say(run, LOG_WARNING, "Skipped %llu of %llu rules (see above)",
		    (unsigned long long)(run->rules_received - run->rules_processed),
		    (unsigned long long)run->rules_received);
	if (run->rules_processed == 0) {
		/* As Santa: no valid rule, santad is not asked, so nothing is cleaned either. */
		say(run, LOG_INFO, "Rule download complete");
		postflight(run);
		return;
	}
	if (fflush(run->rules) != 0) {
		rules_failed(run, "cannot write the rule file");
		return;
	}
	fd = dup(run->rules_fd);
	m = ipc_msg_new(SANTAD_SYNC_RULES);
	if (fd < 0 || !m || ipc_dict_put_fd(ipc_msg_body(m), "rules", fd) < 0 ||
	    ipc_dict_put_int(ipc_msg_body(m), "count", (int64_t)run->rules_processed) < 0 ||
	    ipc_dict_put_string(ipc_msg_body(m), "sync_type", sync_type_to_string(run->type)) < 0) {
		ipc_msg_free(m);
		rules_failed(run, "out of memory");
		return;
	}
	if (santad_call(run, m, SYNC_RULES_TIMEOUT, on_rules_applied) < 0)
		rules_failed(run, "santad is not reachable");
}

static void
on_rules_page(struct sync_run *run, const struct http_response *resp)
{
	struct sync_rule_page page;
	char why[512];
	size_t i;

	if (sync_parse_ruledownload(resp->body, resp->len, &page, why, sizeof(why)) < 0) {
		rules_failed(run, why);
		return;
	}
	run->rules_received += page.received;
	say_ignored(run, "Rule download", &page.ignored);
	if (run->rules_processed + page.n > SYNC_MAX_RULES_TOTAL) {
		sync_rule_page_free(&page);
		snprintf(why, sizeof(why), "more than %d rules", SYNC_MAX_RULES_TOTAL);
		rules_failed(run, why);
		return;
	}
	for (i = 0; i < page.n; i++) {
		char *line = sync_rule_to_line(&page.rules[i]);

		if (!line || fputs(line, run->rules) == EOF) {
			free(line);
			sync_rule_page_free(&page);
			rules_failed(run, "cannot write the rule file");
			return;
		}
		free(line);
	}
	run->rules_processed += page.n;
	if (page.cursor && page.cursor[0]) {
		if (run->cursor && strcmp(run->cursor, page.cursor) == 0) {
			sync_rule_page_free(&page);
			rules_failed(run, "the server sent the same cursor twice");
			return;
		}
		if (++run->pages >= SYNC_MAX_RULE_PAGES) {
			sync_rule_page_free(&page);
			rules_failed(run, "too many rule pages");
			return;
		}
		free(run->cursor);
		run->cursor = page.cursor;
		page.cursor = NULL;
		sync_rule_page_free(&page);
		rules_next(run);
		return;
	}
	sync_rule_page_free(&page);
	rules_store(run);
}

static void
rules_next(struct sync_run *run)
{
	stage_post(run, "ruledownload", sync_ruledownload_request(run->cursor, run->machine_id),
		   on_rules_page, rules_failed);
}

static void
rules_begin(struct sync_run *run)
{
	say(run, LOG_INFO, "Rule download starting");
	run->rules_fd = memfd_create("santa-sync-rules", MFD_CLOEXEC);
	run->rules = run->rules_fd >= 0 ? fdopen(dup(run->rules_fd), "w") : NULL;
	if (!run->rules) {
		rules_failed(run, "cannot create the rule file");
		return;
	}
	rules_next(run);
}

/* ---- event upload ---- */

static void
events_clear_batch(struct sync_run *run)
{
	for (size_t i = 0; i < run->n_events; i++)
		free(run->events[i]);
	free(run->events);
	free(run->ids);
	run->events = NULL;
	run->ids = NULL;
	run->n_events = 0;
}

static void
events_end(struct sync_run *run)
{
	events_clear_batch(run);
	if (run->uploaded)
		say(run, LOG_INFO, "Uploaded %llu events", (unsigned long long)run->uploaded);
	say(run, LOG_INFO, "Event upload complete");
	if (run->events_only) {
		finish(run, SYNC_STATUS_SUCCESS, NULL, NULL);
		return;
	}
	rules_begin(run);
}

static void
on_events_deleted(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct sync_run *run = userdata;

	if (abandoned(run, reply))
		return;
	ipc_msg_free(reply);
	if (error < 0) {
		say(run, LOG_WARNING, "Event upload: santad could not delete uploaded events");
		events_end(run);
		return;
	}
	events_clear_batch(run);
	if (run->events_done)
		events_end(run);
	else
		events_next(run);
}

static void
events_delete_batch(struct sync_run *run)
{
	struct ipc_msg *m = ipc_msg_new(SANTAD_EVENTS_DELETE);
	struct ipc_value *ids =
		m ? ipc_dict_put_container(ipc_msg_body(m), "ids", IPC_ARRAY) : NULL;

	for (size_t i = 0; ids && i < run->n_events; i++)
		ipc_array_add_int(ids, run->ids[i]);
	if (!ids || santad_call(run, m, SYNC_SANTAD_TIMEOUT, on_events_deleted) < 0) {
		if (!ids)
			ipc_msg_free(m);
		events_end(run);
	}
}

static void
bin_clear(struct sync_run *run)
{
	for (size_t i = 0; i < run->n_bin; i++)
		free(run->bin_events[i]);
	free(run->bin_events);
	run->bin_events = NULL;
	run->n_bin = run->bin_next = run->bin_chunk = 0;
}

static void bin_send(struct sync_run *run);

static void
on_bin_uploaded(struct sync_run *run, const struct http_response *resp)
{
	run->bin_next += run->bin_chunk;
	bin_send(run);
}

static void
on_bin_failed(struct sync_run *run, const char *error)
{
	/* Dropped, not retried: the server asks again when it sees the bundle again. */
	say(run, LOG_WARNING, "Bundle binaries upload failed: %s", error);
	run->bin_next = run->n_bin;
	bin_send(run);
}

/* The BUNDLE_BINARY events in batch_size chunks; then the batch that asked for them is deleted. */
static void
bin_send(struct sync_run *run)
{
	size_t left = run->n_bin - run->bin_next;

	if (left == 0) {
		if (run->n_bin)
			say(run, LOG_INFO, "Uploaded %zu bundle binaries", run->n_bin);
		bin_clear(run);
		events_delete_batch(run);
		return;
	}
	run->bin_chunk = left < run->pf.batch_size ? left : run->pf.batch_size;
	stage_post(run, "eventupload",
		   sync_eventupload_request((const char *const *)run->bin_events + run->bin_next,
					    run->bin_chunk, run->machine_id),
		   on_bin_uploaded, on_bin_failed);
}

static void
on_bin_events(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct sync_run *run = userdata;
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	int fd, r;

	if (abandoned(run, reply))
		return;
	fd = reply && error >= 0 ? ipc_dict_take_fd(ipc_msg_body(reply), "events") : -1;
	ipc_msg_free(reply);
	if (fd < 0) {
		say(run, LOG_WARNING, "Bundle binaries: santad has none to give");
		events_delete_batch(run);
		return;
	}
	r = santa_read_fd(fd, SYNC_BUNDLE_EVENTS_BYTES_MAX, &text, &len);
	close(fd);
	if (r < 0)
		say(run, LOG_WARNING, "Bundle binaries: cannot read them from santad: %s",
		    r == -E2BIG ? "more than the cap" : strerror(-r));
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char **more;

		if (run->n_bin % 256 == 0) {
			more = realloc(run->bin_events, (run->n_bin + 256) * sizeof(char *));
			if (!more)
				break;
			run->bin_events = more;
		}
		run->bin_events[run->n_bin] = strdup(line);
		if (!run->bin_events[run->n_bin])
			break;
		run->n_bin++;
	}
	free(text);
	bin_send(run);
}

/* The bundle hashes of the events just uploaded: the ones the server did not ask for are done. */
static void
put_uploaded_bundles(struct sync_run *run, struct ipc_value *list)
{
	for (size_t i = 0; i < run->n_events; i++) {
		json_t *e = json_loads(run->events[i], 0, NULL);
		const char *h = json_string_value(json_object_get(e, "file_bundle_hash"));

		if (h)
			ipc_array_add_string(list, h);
		json_decref(e);
	}
}

static void
on_events_uploaded(struct sync_run *run, const struct http_response *resp)
{
	struct ipc_msg *m = NULL;
	struct ipc_value *asked = NULL, *uploaded = NULL;
	char **hashes = NULL;
	size_t n = 0, i;
	char why[256];
	bool any_bundle = false;

	run->uploaded += run->n_events;
	for (i = 0; i < run->n_events && !any_bundle; i++)
		any_bundle = strstr(run->events[i], "\"file_bundle_hash\"") != NULL;
	if (sync_parse_eventupload(resp->body, resp->len, &hashes, &n, why, sizeof(why)) < 0) {
		say(run, LOG_WARNING, "Event upload: %s", why);
		n = 0;
	}
	/* Bundle binaries: asked for, or at least to be forgotten for the bundles just sent. */
	if (n || any_bundle) {
		m = ipc_msg_new(SANTAD_BUNDLE_BINARIES);
		asked = m ? ipc_dict_put_container(ipc_msg_body(m), "hashes", IPC_ARRAY) : NULL;
		uploaded =
			m ? ipc_dict_put_container(ipc_msg_body(m), "uploaded", IPC_ARRAY) : NULL;
		for (i = 0; asked && i < n; i++)
			ipc_array_add_string(asked, hashes[i]);
		if (uploaded)
			put_uploaded_bundles(run, uploaded);
	}
	for (i = 0; i < n; i++)
		free(hashes[i]);
	free(hashes);
	if (m && asked && uploaded && santad_call(run, m, SYNC_SANTAD_TIMEOUT, on_bin_events) == 0)
		return;
	if (m && !(asked && uploaded))
		ipc_msg_free(m);
	events_delete_batch(run);
}

static void
on_events_failed(struct sync_run *run, const char *error)
{
	/* The events stay for the next sync; the sync goes on (Santa ignores this failure). */
	say(run, LOG_WARNING, "Event upload failed: %s", error);
	events_end(run);
}

static void
events_send_batch(struct sync_run *run)
{
	if (run->type != SYNC_TYPE_NORMAL && !run->svc->cfg.sync_enable_clean_sync_event_upload) {
		/* Santa's quirk, kept: a clean sync discards pending events unsent. */
		events_delete_batch(run);
		return;
	}
	stage_post(run, "eventupload",
		   sync_eventupload_request((const char *const *)run->events, run->n_events,
					    run->machine_id),
		   on_events_uploaded, on_events_failed);
}

static void
on_events_page(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct sync_run *run = userdata;
	const struct ipc_value *list;
	size_t i, n = 0, want = run->pf.batch_size;
	int64_t id;
	const char *json;

	if (abandoned(run, reply))
		return;
	if (error < 0 ||
	    ipc_dict_get_container(ipc_msg_body_const(reply), "events", IPC_ARRAY, &list) < 0) {
		say(run, LOG_WARNING, "Event upload: cannot read the events from santad: %s",
		    reply_error(reply, error));
		ipc_msg_free(reply);
		events_end(run);
		return;
	}
	n = ipc_container_len(list);
	if (run->uploaded == 0 && run->n_events == 0 && n > 0)
		say(run, LOG_INFO, "Event upload starting");
	if (!run->events) {
		run->events = calloc(want, sizeof(char *));
		run->ids = calloc(want, sizeof(int64_t));
	}
	for (i = 0; run->events && run->ids && i < n && run->n_events < want; i++) {
		const struct ipc_value *e = ipc_array_at(list, i);

		if (ipc_dict_get_int(e, "id", &id) < 0 || ipc_dict_get_string(e, "json", &json) < 0)
			continue;
		run->events[run->n_events] = strdup(json);
		if (!run->events[run->n_events])
			break;
		run->ids[run->n_events++] = id;
		run->after_id = id;
	}
	ipc_msg_free(reply);
	if (!run->events || !run->ids) {
		events_end(run);
		return;
	}
	if (n == 0)
		run->events_done = true;
	if (run->n_events == 0) {
		events_end(run);
	} else if (run->n_events < want && !run->events_done) {
		events_next(run); /* fill the batch */
	} else {
		events_send_batch(run);
	}
}

static void
events_next(struct sync_run *run)
{
	struct ipc_msg *m = ipc_msg_new(SANTAD_EVENTS_LIST);
	size_t room = run->pf.batch_size - run->n_events;

	if (m) {
		ipc_dict_put_int(ipc_msg_body(m), "after_id", run->after_id);
		ipc_dict_put_int(ipc_msg_body(m), "limit",
				 (int64_t)(room < SYNC_EVENTS_PAGE ? room : SYNC_EVENTS_PAGE));
	}
	if (santad_call(run, m, SYNC_SANTAD_TIMEOUT, on_events_page) < 0)
		events_end(run);
}

/* ---- preflight ---- */

static void
preflight_failed(struct sync_run *run, const char *error)
{
	finish(run, SYNC_STATUS_PREFLIGHT_FAILED, "preflight", error);
}

static void
on_preflight_ok(struct sync_run *run, const struct http_response *resp)
{
	char why[512];
	enum sync_type was = run->type;

	if (sync_parse_preflight(resp->body, resp->len, &run->pf, why, sizeof(why)) < 0) {
		preflight_failed(run, why);
		return;
	}
	say_ignored(run, "Preflight", &run->pf.ignored);
	run->type = sync_resolve_type(&run->pf, run->type);
	if (run->type != SYNC_TYPE_NORMAL && run->type != was)
		say(run, LOG_INFO, "Clean sync requested by server");
	say(run, LOG_INFO, "Preflight complete");
	run->svc->batch_size = run->pf.batch_size;
	run->svc->full_sync_interval = run->pf.full_sync_interval;
	events_next(run);
}

static uint32_t
count_of(const struct ipc_value *counts, const char *key)
{
	int64_t v = 0;

	ipc_dict_get_int(counts, key, &v);
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void
on_santad_info(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct sync_run *run = userdata;
	const struct ipc_value *b, *counts = NULL, *m = NULL;
	struct sync_machine_info info = { 0 };
	const char *mode = "", *required = "NORMAL", *id = "";
	int req;

	if (abandoned(run, reply))
		return;
	if (error < 0) {
		finish(run, SYNC_STATUS_DAEMON_TIMEOUT, "preflight", reply_error(reply, error));
		ipc_msg_free(reply);
		return;
	}
	b = ipc_msg_body_const(reply);
	ipc_dict_get_string(b, "client_mode", &mode);
	ipc_dict_get_string(b, "sync_type_required", &required);
	ipc_dict_get_container(b, "counts", IPC_DICT, &counts);
	ipc_dict_get_container(b, "machine", IPC_DICT, &m);
	ipc_dict_get_string(m, "machine_id", &id);
	{
		const struct ipc_value *tls = NULL;
		const void *cert = NULL, *key = NULL;
		size_t cert_len = 0, key_len = 0;
		const char *password = NULL;

		ipc_dict_get_container(b, "tls", IPC_DICT, &tls);
		ipc_dict_get_data(tls, "cert", &cert, &cert_len);
		ipc_dict_get_data(tls, "key", &key, &key_len);
		ipc_dict_get_string(tls, "password", &password);
		http_settings_set_credentials(&run->svc->http_settings, cert, cert_len, key, key_len,
					      password);
	}
	if (!id[0]) {
		ipc_msg_free(reply);
		finish(run, SYNC_STATUS_MISSING_MACHINE_ID, "preflight",
		       "no machine id: set MachineID in santa.conf");
		return;
	}
	snprintf(run->machine_id, sizeof(run->machine_id), "%s", id);
	req = sync_type_from_string(required);
	/* A clean sync is the next full sync's business, not an upload's (it would drop events). */
	if (req > (int)run->type && !run->events_only)
		run->type = (enum sync_type)req;
	ipc_dict_get_string(m, "serial_num", &info.serial_num);
	ipc_dict_get_string(m, "hostname", &info.hostname);
	ipc_dict_get_string(m, "os_version", &info.os_version);
	ipc_dict_get_string(m, "os_build", &info.os_build);
	ipc_dict_get_string(m, "model_identifier", &info.model_identifier);
	ipc_dict_get_string(m, "santa_version", &info.santa_version);
	ipc_dict_get_string(m, "primary_user", &info.primary_user);
	info.machine_id = run->machine_id;
	info.client_mode = strcmp(mode, "LOCKDOWN") == 0 ? SANTA_MODE_LOCKDOWN : SANTA_MODE_MONITOR;
	info.request_clean_sync = run->type != SYNC_TYPE_NORMAL;
	info.binary_rule_count = count_of(counts, "binary");
	info.certificate_rule_count = count_of(counts, "certificate");
	info.compiler_rule_count = count_of(counts, "compiler");
	info.transitive_rule_count = count_of(counts, "transitive");
	info.teamid_rule_count = count_of(counts, "teamid");
	info.signingid_rule_count = count_of(counts, "signingid");
	info.cdhash_rule_count = count_of(counts, "cdhash");
	if (run->events_only) {
		/* Between full syncs: straight to the upload, with the last preflight's batch size. */
		ipc_msg_free(reply);
		if (run->svc->batch_size)
			run->pf.batch_size = run->svc->batch_size;
		events_next(run);
		return;
	}
	say(run, LOG_INFO, "Preflight starting");
	stage_post(run, "preflight", sync_preflight_request(&info), on_preflight_ok,
		   preflight_failed);
	ipc_msg_free(reply);
}

/* ---- the run ---- */

/* Closes santactl's progress endpoint once every line queued on it is written. */
static void
close_progress(struct ipc_conn *conn, void *userdata)
{
	ipc_conn_invalidate(conn);
	ipc_conn_unref(conn);
}

static void
run_free(struct sync_run *run)
{
	sd_event_source_disable_unref(run->sleep);
	events_clear_batch(run);
	bin_clear(run);
	if (run->rules)
		fclose(run->rules);
	if (run->rules_fd >= 0)
		close(run->rules_fd);
	free(run->cursor);
	free(run->body);
	sync_preflight_free(&run->pf);
	ipc_msg_free(run->who.request);
	if (run->who.progress && ipc_conn_barrier(run->who.progress, close_progress, NULL) < 0)
		close_progress(run->who.progress, NULL);
	ipc_conn_unref(run->who.conn);
	free(run);
}

static void
run_start(struct sync_run *run)
{
	struct syncservice *svc = run->svc;

	svc->running = run;
	say(run, LOG_INFO, run->events_only ? "Starting event upload..." : "Starting sync...");
	if (run->who.sync_type == SYNC_TYPE_CLEAN)
		say(run, LOG_INFO, "Clean sync requested by user");
	else if (run->who.sync_type == SYNC_TYPE_CLEAN_ALL)
		say(run, LOG_INFO, "Clean All sync requested by user");
	if (santad_call(run, ipc_msg_new(SANTAD_SYNC_PREFLIGHT), SYNC_SANTAD_TIMEOUT,
			on_santad_info) < 0)
		finish(run, SYNC_STATUS_DAEMON_TIMEOUT, "preflight", "santad is not reachable");
}

static void
on_result_noted(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	ipc_msg_free(reply);
}

/* After a run: the queued one, or an upload santad asked for meanwhile. */
static void
start_next(struct syncservice *svc)
{
	struct sync_run *run = svc->queued;

	if (run) {
		svc->queued = NULL;
		run_start(run);
	} else if (svc->events_wanted) {
		svc->events_wanted = false;
		sync_events_now(svc);
	}
}

static void
finish(struct sync_run *run, int status, const char *stage, const char *error)
{
	struct syncservice *svc = run->svc;
	struct ipc_msg *m;
	unsigned int next;

	if (run->events_only) {
		/* Not a sync: no result for santactl status, and the periodic sync keeps its time. */
		if (status != SYNC_STATUS_SUCCESS)
			say(run, LOG_WARNING, "Event upload failed at %s: %s", stage ? stage : "?",
			    error ? error : "unknown error");
		/* Pairs with "Starting event upload...": tests tell an idle service by it. */
		say(run, LOG_INFO, "Event upload finished");
		svc->running = NULL;
		run_free(run);
		start_next(svc);
		return;
	}
	if (status == SYNC_STATUS_SUCCESS) {
		say(run, LOG_NOTICE, "Sync completed successfully");
		svc->syncs_ok++;
		svc->consecutive_failures = 0;
		next = sync_next_delay(true, 0, run->pf.full_sync_interval);
	} else {
		say(run, LOG_ERR, "Sync failed at %s: %s", stage, error ? error : "unknown error");
		svc->syncs_failed++;
		svc->consecutive_failures++;
		next = sync_next_delay(false, svc->consecutive_failures, svc->full_sync_interval);
	}
	m = ipc_msg_new(SANTAD_SYNC_RESULT);
	if (m) {
		ipc_dict_put_bool(ipc_msg_body(m), "ok", status == SYNC_STATUS_SUCCESS);
		if (stage)
			ipc_dict_put_string(ipc_msg_body(m), "stage", stage);
		if (error)
			ipc_dict_put_string(ipc_msg_body(m), "error", error);
		if (!svc->santad || ipc_conn_send_request(svc->santad, m, SYNC_SANTAD_TIMEOUT,
							   on_result_noted, NULL) < 0)
			santa_log(&svc->log, LOG_WARNING, "cannot tell santad how the sync ended");
	}
	if (run->who.conn && run->who.request) {
		struct ipc_msg *reply = ipc_msg_new(SYNCSERVICE_SYNC);

		if (reply) {
			ipc_dict_put_int(ipc_msg_body(reply), "status", status);
			if (error)
				ipc_dict_put_string(ipc_msg_body(reply), "error", error);
			ipc_conn_reply(run->who.conn, run->who.request, reply);
		}
	}
	svc->running = NULL;
	run_free(run);
	sync_schedule(svc, next);
	start_next(svc);
}

void
sync_events_now(struct syncservice *svc)
{
	struct sync_run *run;

	if (svc->running || svc->queued) {
		svc->events_wanted = true;
		return;
	}
	run = calloc(1, sizeof(*run));
	if (!run)
		return;
	run->svc = svc;
	run->rules_fd = -1;
	run->events_only = true;
	run->pf.batch_size = SYNC_DEFAULT_BATCH_SIZE;
	run_start(run);
}

int
sync_enqueue(struct syncservice *svc, struct sync_requester *who)
{
	struct sync_run *run;

	if (svc->running && svc->queued)
		return -EBUSY;
	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->svc = svc;
	run->who = *who;
	run->rules_fd = -1;
	run->type = (enum sync_type)who->sync_type;
	run->pf.batch_size = SYNC_DEFAULT_BATCH_SIZE;
	if (svc->running) {
		svc->queued = run;
		return 0;
	}
	sd_event_source_set_enabled(svc->periodic, SD_EVENT_OFF);
	run_start(run);
	return 0;
}

static int
on_periodic(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct syncservice *svc = userdata;
	struct sync_requester who = { 0 };

	if (!svc->running)
		sync_enqueue(svc, &who);
	else
		sync_schedule(svc, 10); /* an upload between syncs is running: soon after it */
	return 0;
}

void
sync_schedule(struct syncservice *svc, unsigned int interval)
{
	uint64_t now, random = 0, usec;

	if (getrandom(&random, sizeof(random), 0) != sizeof(random))
		random = 0;
	usec = sync_jittered_usec((uint64_t)interval * 1000000ULL, random);
	santa_log(&svc->log, LOG_INFO, "next full sync in %llu s", (unsigned long long)(usec / 1000000));
	sd_event_now(svc->event, CLOCK_MONOTONIC, &now);
	if (!svc->periodic) {
		if (sd_event_add_time(svc->event, &svc->periodic, CLOCK_MONOTONIC, now + usec,
				      1000000, on_periodic, svc) < 0)
			santa_log(&svc->log, LOG_ERR, "cannot schedule the next sync");
		return;
	}
	sd_event_source_set_time(svc->periodic, now + usec);
	sd_event_source_set_enabled(svc->periodic, SD_EVENT_ONESHOT);
}

void
sync_abort_all(struct syncservice *svc)
{
	if (svc->queued)
		run_free(svc->queued);
	if (svc->running)
		run_free(svc->running);
	svc->queued = svc->running = NULL;
	svc->periodic = sd_event_source_disable_unref(svc->periodic);
}
