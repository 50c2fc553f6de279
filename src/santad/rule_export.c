/*
 * Rule exports off the loop. Walking a million rules and writing their JSON
 * takes seconds; on the loop that was seconds without an answer to any
 * exec (cache hits included), timer or client. Each export now has a thread:
 * it reads RULE_EXPORT_PAGE rules under the rules.db lock, lets go, formats
 * them, and reads the next page, so a hash worker's lookup waits for one
 * page at most. A batch applied meanwhile (rules_db_generation moved) makes
 * the thread start again, so that the document is one state of the
 * database, never half of two. The loop hears of the end through an eventfd
 * and hands the memfd to santactl.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "priority.h"
#include "rule_export.h"
#include "santa/clock.h"
#include "santa/ipc.h"
#include "santa/policy.h"
#include "santa/santad_proto.h"

#define RULE_EXPORT_PAGE  64 /* rules read per hold of the rules.db lock */
#define RULE_EXPORT_TRIES 3  /* walks started again after a batch changed the rules */

struct page_rule {
	enum santa_rule_type type;
	enum santa_policy policy;
	char identifier[SANTA_IDENTIFIER_MAX];
	char custom_msg[SANTA_CUSTOM_MSG_MAX];
	char custom_url[SANTA_CUSTOM_URL_MAX];
};

struct export_job {
	struct rule_exports *owner;
	struct export_job *next;
	struct ipc_conn *conn;
	struct ipc_msg *req;
	pthread_t thread;
	int done_fd; /* eventfd the thread writes once it is finished */
	sd_event_source *done;
	atomic_bool stop;
	struct page_rule *page; /* the thread's: one page copied out of the database */
	size_t n_page;
	/* Written by the thread; read by the loop only after done_fd fired. */
	int fd; /* the memfd */
	size_t count;
	int error;
	uint64_t usec;
};

struct rule_exports {
	sd_event *event;
	struct rules_db *rules;
	const struct santa_log *log;
	struct export_job *jobs;
	size_t n_jobs;
};

/* rules_db_foreach_page's callback, the lock held: a copy and nothing more. */
static int
copy_rule(const struct santa_rule *rule, void *userdata)
{
	struct export_job *j = userdata;
	struct page_rule *p;

	/* Transitive rules are this machine's own: an import elsewhere could not take them. */
	if (rule->policy == SANTA_POLICY_REMOVE || rule->policy == SANTA_POLICY_ALLOWLIST_TRANSITIVE)
		return 0;
	if (j->n_page >= RULE_EXPORT_PAGE)
		return -EOVERFLOW;
	p = &j->page[j->n_page++];
	p->type = rule->type;
	p->policy = rule->policy;
	snprintf(p->identifier, sizeof(p->identifier), "%s", rule->identifier);
	snprintf(p->custom_msg, sizeof(p->custom_msg), "%s", rule->custom_msg ? rule->custom_msg : "");
	snprintf(p->custom_url, sizeof(p->custom_url), "%s", rule->custom_url ? rule->custom_url : "");
	return 0;
}

/* A JSON string: what jansson would write, without an allocation per value (a million rules). */
static void
put_json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void
write_page(struct export_job *j, FILE *f, size_t *count)
{
	size_t i;

	for (i = 0; i < j->n_page; i++) {
		const struct page_rule *p = &j->page[i];

		fputs(*count ? ",\n    {\n      \"identifier\": " : "\n    {\n      \"identifier\": ", f);
		put_json_string(f, p->identifier);
		fputs(",\n      \"policy\": ", f);
		put_json_string(f, santa_policy_to_string(p->policy));
		fputs(",\n      \"rule_type\": ", f);
		put_json_string(f, santa_rule_type_to_string(p->type));
		fputs(",\n      \"custom_msg\": ", f);
		put_json_string(f, p->custom_msg);
		fputs(",\n      \"custom_url\": ", f);
		put_json_string(f, p->custom_url);
		fputs("\n    }", f);
		(*count)++;
	}
}

/* One walk over the database into f. */
static int
write_document(struct export_job *j, FILE *f, size_t *count)
{
	struct rules_db_cursor cursor;
	int r;

	memset(&cursor, 0, sizeof(cursor));
	*count = 0;
	fputs("{\n  \"rules\": [", f);
	do {
		if (atomic_load(&j->stop))
			return -ECANCELED;
		j->n_page = 0;
		r = rules_db_foreach_page(j->owner->rules, &cursor, RULE_EXPORT_PAGE, copy_rule, j);
		if (r < 0)
			return r;
		write_page(j, f, count);
	} while (!cursor.done);
	fputs(*count ? "\n  ]\n}\n" : "]\n}\n", f);
	return 0;
}

static void *
export_main(void *userdata)
{
	struct export_job *j = userdata;
	uint64_t start = santa_mono_usec(), generation;
	int tries, r = -EAGAIN, fd;
	FILE *f;

	/*
	 * Background work: at nice 10 the loop (and the workers) get many times
	 * this thread's share of a busy CPU, so an export costs decisions little
	 * even where two CPUs are all there is. Not SCHED_IDLE: a loaded machine
	 * must not starve root's export for good.
	 */
	(void)santad_thread_nice(SANTAD_NICE_BACKGROUND);

	for (tries = 0; tries < RULE_EXPORT_TRIES && r == -EAGAIN; tries++) {
		generation = rules_db_generation(j->owner->rules);
		fd = -1;
		if (ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0 ||
		    (fd = dup(j->fd)) < 0 || !(f = fdopen(fd, "w"))) {
			if (fd >= 0)
				close(fd);
			r = -errno;
			break;
		}
		(void)setvbuf(f, NULL, _IOFBF, 1 << 16);
		r = write_document(j, f, &j->count);
		if (fclose(f) != 0 && r == 0)
			r = -EIO;
		if (r == 0 && rules_db_generation(j->owner->rules) != generation)
			r = -EAGAIN;
	}
	j->error = r;
	j->usec = santa_mono_usec() - start;
	(void)eventfd_write(j->done_fd, 1);
	return NULL;
}

static const char *
error_text(int error)
{
	switch (error) {
	case -EAGAIN:
		return "the rules changed during each try of the export; try again";
	case -ECANCELED:
		return "santad is stopping";
	case -ENOMEM:
		return "out of memory";
	default:
		return "cannot read the rules database";
	}
}

/* On the loop, the thread joined: answers the client and forgets the job. */
static void
finish(struct export_job *j)
{
	struct rule_exports *x = j->owner;
	struct export_job **pp;
	struct ipc_msg *reply = NULL;

	if (j->error == 0) {
		reply = ipc_msg_new(SANTAD_RULE_EXPORT);
		if (reply && ipc_dict_put_fd(ipc_msg_body(reply), "rules", j->fd) == 0) {
			j->fd = -1; /* the message's now */
			if (ipc_dict_put_int(ipc_msg_body(reply), "count", (int64_t)j->count) < 0) {
				ipc_msg_free(reply);
				reply = NULL;
			}
		} else {
			ipc_msg_free(reply);
			reply = NULL;
		}
		if (!reply)
			j->error = -ENOMEM;
	}
	if (reply) {
		santa_log(x->log, LOG_INFO, "santactl (pid %d) exported %zu rules in %llu ms",
			  (int)ipc_conn_peer(j->conn)->pid, j->count,
			  (unsigned long long)(j->usec / 1000));
		ipc_conn_reply(j->conn, j->req, reply);
	} else {
		ipc_conn_reply_error(j->conn, j->req, j->error, error_text(j->error));
	}
	for (pp = &x->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			x->n_jobs--;
			break;
		}
	sd_event_source_disable_unref(j->done);
	close(j->done_fd);
	if (j->fd >= 0)
		close(j->fd);
	ipc_msg_free(j->req);
	ipc_conn_unref(j->conn);
	free(j->page);
	free(j);
}

static int
on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct export_job *j = userdata;

	pthread_join(j->thread, NULL);
	finish(j);
	return 0;
}

int
rule_exports_new(sd_event *event, struct rules_db *rules, const struct santa_log *log,
		 struct rule_exports **out)
{
	struct rule_exports *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return -ENOMEM;
	x->event = event;
	x->rules = rules;
	x->log = log;
	*out = x;
	return 0;
}

void
rule_exports_free(struct rule_exports *x)
{
	struct export_job *j;

	if (!x)
		return;
	for (j = x->jobs; j; j = j->next)
		atomic_store(&j->stop, true);
	while ((j = x->jobs)) {
		pthread_join(j->thread, NULL);
		finish(j);
	}
	free(x);
}

void
rule_exports_start(struct rule_exports *x, struct ipc_conn *conn, struct ipc_msg *req)
{
	struct export_job *j = NULL;
	const char *why = "cannot start the export";
	int r = -ENOMEM;

	if (!x || !x->rules) {
		ipc_conn_reply_error(conn, req, -EIO, "no rules database");
		goto fail;
	}
	/* Root's only, but each holds a thread and a memfd of every rule: a few at once. */
	if (x->n_jobs >= RULE_EXPORTS_MAX) {
		ipc_conn_reply_error(conn, req, -EBUSY,
				     "other rule exports are running; try again when they are done");
		goto fail;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		goto refuse;
	j->owner = x;
	j->fd = j->done_fd = -1;
	j->page = calloc(RULE_EXPORT_PAGE, sizeof(*j->page));
	j->fd = memfd_create("santa-rules-export", MFD_CLOEXEC);
	j->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!j->page || j->fd < 0 || j->done_fd < 0) {
		why = "cannot create the export file";
		goto refuse;
	}
	r = sd_event_add_io(x->event, &j->done, j->done_fd, EPOLLIN, on_done, j);
	if (r < 0)
		goto refuse;
	j->conn = ipc_conn_ref(conn);
	j->req = req;
	r = -pthread_create(&j->thread, NULL, export_main, j);
	if (r < 0) {
		j->req = NULL;
		ipc_conn_unref(j->conn);
		goto refuse;
	}
	j->next = x->jobs;
	x->jobs = j;
	x->n_jobs++;
	return;
refuse:
	ipc_conn_reply_error(conn, req, r, why);
	if (j) {
		sd_event_source_disable_unref(j->done);
		if (j->done_fd >= 0)
			close(j->done_fd);
		if (j->fd >= 0)
			close(j->fd);
		free(j->page);
		free(j);
	}
fail:
	ipc_msg_free(req);
}
