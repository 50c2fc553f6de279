/*
 * Rule changes off the loop (issue 22). A million-rule clean sync took the
 * loop about 3 s to parse and write while holding the one rules.db
 * connection: no cache hit, no new event, no client was served, and every
 * worker's lookup waited, so first decisions went by their deadline. Now one
 * thread writes: the loop checks a request, queues it and goes on; the
 * thread parses the rule file, applies the batch in one transaction on the
 * write connection and hands the result back (a locked list and an
 * eventfd). The loop then tells santad (which flushes its decisions) and
 * only then answers the client, so that whoever changed the rules never sees
 * a decision made under the old ones after the answer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "priority.h"
#include "rule_writer.h"
#include "santa/clock.h"
#include "santa/ipc.h"
#include "santa/policy.h"
#include "santa/santad_proto.h"
#include "santa/sync.h"

struct write_op {
	struct write_op *next;
	struct rule_writer *owner;
	enum rule_write_kind kind;
	/* A batch: its client, and either a rule file (fd) or rules parsed on the loop. */
	struct ipc_conn *conn;
	struct ipc_msg *req;
	uint16_t request;
	int fd;
	size_t count;
	int sync_type;
	char who[96];
	struct santa_rule *rules;
	size_t n;
	bool stalled; /* test hook: this batch was held once */
	/* A transitive write. */
	char hex[SANTA_SHA256_HEX_LEN + 1];
	char compiler[SANTA_SHA256_HEX_LEN + 1];
	char *path;
	struct santa_file_key key;
	int64_t cutoff;
	/* Written by the thread, read by the loop once the op is on the finished list. */
	int result;
	char why[512];
	uint64_t usec;
};

struct rule_writer {
	sd_event *event;
	struct rules_db *rules;
	const struct santa_log *log;
	rule_writer_done_fn done_fn;
	void *userdata;
	pthread_t thread;
	bool started;
	int done_fd;
	sd_event_source *done_source;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock. */
	struct write_op *queue, **queue_tail;
	struct write_op *finished, **finished_tail;
	size_t n_ops;     /* transitive writes queued */
	size_t n_touches; /* of which last-use records */
	bool stop;
	atomic_bool stopping;     /* read by a batch between its pages of rules */
	size_t n_batches;         /* loop only: batches queued, written, or not answered yet */
	uint64_t dropped;         /* loop only */
	unsigned int stall_ms;    /* test hook (SANTA_TEST_HOOKS): hold each batch open this long */
};

static void
op_free(struct write_op *op)
{
	if (!op)
		return;
	if (op->fd >= 0)
		close(op->fd);
	ipc_msg_free(op->req);
	if (op->conn)
		ipc_conn_unref(op->conn);
	free(op->rules);
	free(op->path);
	free(op);
}

static struct write_op *
op_new(struct rule_writer *w, enum rule_write_kind kind)
{
	struct write_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->owner = w;
	op->kind = kind;
	op->fd = -1;
	return op;
}

/* ---- the thread ---- */

/* Asked by rules_db between pages of a batch and before its commit. */
static bool
keep_going(void *userdata)
{
	struct write_op *op = userdata;
	struct rule_writer *w = op->owner;

	if (w->stall_ms && !op->stalled) {
		op->stalled = true;
		dprintf(STDERR_FILENO, "santad: test hook: rule batch of %zu rules held open for %u ms\n",
			op->n, w->stall_ms);
		usleep(w->stall_ms * 1000u);
		dprintf(STDERR_FILENO, "santad: test hook: rule batch goes on\n");
	}
	return !atomic_load(&w->stopping);
}

/*
 * The rule file's lines into op->rules (parsed holds the strings; the caller
 * frees both). santad trusts the sender's identity, not its data: a bad line
 * refuses the whole set.
 */
static int
parse_file(struct write_op *op, struct sync_rule **parsed_out)
{
	struct sync_rule *parsed;
	struct stat st;
	char *map = MAP_FAILED;
	size_t len, i, cap = op->count;
	int r = 0;

	*parsed_out = parsed = calloc(cap ? cap : 1, sizeof(*parsed));
	op->rules = calloc(cap ? cap : 1, sizeof(*op->rules));
	if (!parsed || !op->rules) {
		snprintf(op->why, sizeof(op->why), "out of memory for %zu rules", cap);
		return -ENOMEM;
	}
	if (fstat(op->fd, &st) < 0) {
		r = -errno;
		snprintf(op->why, sizeof(op->why), "cannot read the rule file: %s", strerror(errno));
		return r;
	}
	len = (size_t)st.st_size; /* checked on the loop; a memfd cannot grow past what we map */
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, op->fd, 0);
		if (map == MAP_FAILED) {
			r = -errno;
			snprintf(op->why, sizeof(op->why), "cannot map the rule file: %s", strerror(errno));
			return r;
		}
	}
	for (i = 0; i < len && r == 0;) {
		const char *nl = memchr(map + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (map + i)) : len - i;

		if (op->n >= cap) {
			r = -EINVAL;
			snprintf(op->why, sizeof(op->why),
				 "the rule file has more rules than the %zu announced", cap);
			break;
		}
		r = sync_rule_from_line(map + i, ll, &parsed[op->n], op->why + 32, sizeof(op->why) - 32);
		if (r < 0) {
			/* "rule N: " in the room left before the reason. */
			int k = snprintf(op->why, 32, "rule %zu: ", op->n + 1);

			memmove(op->why + k, op->why + 32, strlen(op->why + 32) + 1);
			break;
		}
		op->rules[op->n] = (struct santa_rule){ parsed[op->n].type, parsed[op->n].policy,
							parsed[op->n].identifier, parsed[op->n].custom_msg,
							parsed[op->n].custom_url };
		op->n++;
		i += ll + 1;
		if (op->n % 4096 == 0 && atomic_load(&op->owner->stopping))
			r = -ECANCELED;
	}
	if (map != MAP_FAILED)
		munmap(map, len);
	return r;
}

static void
run_batch(struct rule_writer *w, struct write_op *op)
{
	struct sync_rule *parsed = NULL;
	size_t i, n_parsed = 0;
	int r = 0;

	if (op->fd >= 0) {
		r = parse_file(op, &parsed);
		n_parsed = op->n;
		close(op->fd);
		op->fd = -1;
	}
	if (r == 0)
		r = rules_db_apply_checked(w->rules, op->rules, op->n,
					   op->sync_type == SYNC_TYPE_CLEAN_ALL ? RULES_CLEAN_ALL
					   : op->sync_type == SYNC_TYPE_CLEAN  ? RULES_CLEAN
									       : RULES_KEEP,
					   keep_going, op, op->why, sizeof(op->why));
	if (r == -ECANCELED)
		snprintf(op->why, sizeof(op->why), "santad is stopping");
	for (i = 0; parsed && i < n_parsed; i++)
		sync_rule_free(&parsed[i]);
	free(parsed);
	free(op->rules); /* its strings were parsed's, or req's */
	op->rules = NULL;
	op->result = r;
}

static void
run(struct rule_writer *w, struct write_op *op)
{
	uint64_t start = santa_mono_usec();

	switch (op->kind) {
	case RULE_WRITE_BATCH:
		run_batch(w, op);
		break;
	case RULE_WRITE_TRANSITIVE_ADD:
		op->result = rules_db_add_transitive(w->rules, op->hex, op->compiler,
						     (int64_t)santa_unix_now());
		break;
	case RULE_WRITE_TRANSITIVE_TOUCH:
		op->result = rules_db_touch_transitive(w->rules, op->hex, (int64_t)santa_unix_now());
		break;
	case RULE_WRITE_TRANSITIVE_EXPIRE:
		op->result = rules_db_expire_transitive(w->rules, op->cutoff);
		break;
	}
	op->usec = santa_mono_usec() - start;
}

static void *
writer_main(void *userdata)
{
	struct rule_writer *w = userdata;
	struct write_op *op;

	/*
	 * Behind the loop (no exec waits for a commit), but not behind users'
	 * processes as an export is: at nice 10 two CPU hogs of a user would
	 * hold a fleet's new block rule back about twenty times longer.
	 */
	(void)santad_thread_nice(SANTAD_NICE_USER_WORK);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->queue && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break; /* what is still queued is answered by rule_writer_free */
		op = w->queue;
		w->queue = op->next;
		if (!w->queue)
			w->queue_tail = &w->queue;
		if (op->kind != RULE_WRITE_BATCH)
			w->n_ops--;
		if (op->kind == RULE_WRITE_TRANSITIVE_TOUCH)
			w->n_touches--;
		pthread_mutex_unlock(&w->lock);
		op->next = NULL;
		run(w, op);
		pthread_mutex_lock(&w->lock);
		*w->finished_tail = op;
		w->finished_tail = &op->next;
		(void)eventfd_write(w->done_fd, 1);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- the loop ---- */

static const char *
sync_type_name(int type)
{
	return type == SYNC_TYPE_CLEAN_ALL ? "CLEAN_ALL" : type == SYNC_TYPE_CLEAN ? "CLEAN" : "NORMAL";
}

/* On the loop: tells santad, then answers the batch's client. */
static void
finish(struct rule_writer *w, struct write_op *op)
{
	struct rule_write_done done = {
		.kind = op->kind,
		.request = op->request,
		.result = op->result,
		.n = op->n,
		.path = op->path,
		.hex = op->hex,
		.compiler = op->compiler,
		.key = &op->key,
	};
	struct ipc_msg *reply;

	/* Not while santad stops: what the callback would flush is being torn down. */
	if (w->done_fn && !w->stop)
		w->done_fn(&done, w->userdata);
	if (op->kind != RULE_WRITE_BATCH)
		goto out;
	w->n_batches--;
	if (op->result < 0) {
		santa_log(w->log, LOG_ERR, "%s: rules refused, the previous rules stay: %s", op->who,
			  op->why);
		ipc_conn_reply_error(op->conn, op->req, op->result, op->why);
		goto out;
	}
	santa_log(w->log, LOG_NOTICE, "%s: %zu rule(s) applied (%s) in %llu ms", op->who, op->n,
		  sync_type_name(op->sync_type), (unsigned long long)(op->usec / 1000));
	reply = ipc_msg_new(op->request);
	if (reply)
		ipc_dict_put_int(ipc_msg_body(reply), "applied", (int64_t)op->n);
	ipc_conn_reply(op->conn, op->req, reply);
out:
	op_free(op);
}

static int
on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct rule_writer *w = userdata;
	struct write_op *list, *op;
	uint64_t n;

	(void)eventfd_read(fd, &n);
	pthread_mutex_lock(&w->lock);
	list = w->finished;
	w->finished = NULL;
	w->finished_tail = &w->finished;
	pthread_mutex_unlock(&w->lock);
	while ((op = list)) {
		list = op->next;
		finish(w, op);
	}
	return 0;
}

int
rule_writer_new(sd_event *event, struct rules_db *rules, const struct santa_log *log,
		rule_writer_done_fn done, void *userdata, struct rule_writer **out)
{
	struct rule_writer *w = calloc(1, sizeof(*w));
	int r;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->event = event;
	w->rules = rules;
	w->log = log;
	w->done_fn = done;
	w->userdata = userdata;
	w->queue_tail = &w->queue;
	w->finished_tail = &w->finished;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
#ifdef SANTA_TEST_HOOKS
	{
		const char *stall = getenv("SANTA_TEST_RULE_BATCH_STALL_MS");

		if (stall)
			w->stall_ms = (unsigned int)strtoul(stall, NULL, 10);
	}
#endif
	w->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->done_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = sd_event_add_io(event, &w->done_source, w->done_fd, EPOLLIN, on_done, w);
	if (r < 0)
		goto fail;
	r = -pthread_create(&w->thread, NULL, writer_main, w);
	if (r < 0)
		goto fail;
	w->started = true;
	*out = w;
	return 0;
fail:
	rule_writer_free(w);
	return r;
}

void
rule_writer_free(struct rule_writer *w)
{
	struct write_op *op;

	if (!w)
		return;
	atomic_store(&w->stopping, true);
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	/* Finished (or cancelled) ones are told and answered; queued ones never ran. */
	while ((op = w->finished)) {
		w->finished = op->next;
		finish(w, op);
	}
	while ((op = w->queue)) {
		w->queue = op->next;
		op->result = -ECANCELED;
		snprintf(op->why, sizeof(op->why), "santad is stopping");
		finish(w, op);
	}
	sd_event_source_disable_unref(w->done_source);
	if (w->done_fd >= 0)
		close(w->done_fd);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void
enqueue(struct rule_writer *w, struct write_op *op)
{
	pthread_mutex_lock(&w->lock);
	*w->queue_tail = op;
	w->queue_tail = &op->next;
	if (op->kind != RULE_WRITE_BATCH)
		w->n_ops++;
	if (op->kind == RULE_WRITE_TRANSITIVE_TOUCH)
		w->n_touches++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* A batch's client waits for the commit: at most RULE_WRITER_BATCHES_MAX at once. */
static struct write_op *
batch_new(struct rule_writer *w, struct ipc_conn *conn, struct ipc_msg *req, const char *who)
{
	struct write_op *op;

	if (w->n_batches >= RULE_WRITER_BATCHES_MAX) {
		ipc_conn_reply_error(conn, req, -EBUSY,
				     "other rule changes are being applied; try again");
		return NULL;
	}
	op = op_new(w, RULE_WRITE_BATCH);
	if (!op) {
		ipc_conn_reply_error(conn, req, -ENOMEM, "out of memory");
		return NULL;
	}
	op->request = ipc_msg_type(req);
	snprintf(op->who, sizeof(op->who), "%s", who);
	return op;
}

static void
batch_queue(struct rule_writer *w, struct write_op *op, struct ipc_conn *conn, struct ipc_msg *req)
{
	op->conn = ipc_conn_ref(conn);
	op->req = req;
	w->n_batches++;
	enqueue(w, op);
}

void
rule_writer_apply_file(struct rule_writer *w, struct ipc_conn *conn, struct ipc_msg *req,
		       const char *who)
{
	const char *type_name = "NORMAL";
	struct write_op *op = NULL;
	struct stat st;
	int64_t count = 0;
	char why[256];

	op = batch_new(w, conn, req, who);
	if (!op)
		goto fail;
	op->fd = ipc_dict_take_fd(ipc_msg_body(req), "rules");
	ipc_dict_get_string(ipc_msg_body_const(req), "sync_type", &type_name);
	ipc_dict_get_int(ipc_msg_body_const(req), "count", &count);
	op->sync_type = sync_type_from_string(type_name);
	if (op->fd < 0 || op->sync_type < 0 || count < 0 || count > SANTA_RULES_BATCH_MAX) {
		snprintf(why, sizeof(why), "expected rules (fd), count (at most %d) and sync_type",
			 SANTA_RULES_BATCH_MAX);
		goto refuse;
	}
	if (fstat(op->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > RULE_FILE_BYTES_MAX) {
		snprintf(why, sizeof(why), "the rule file is not a regular file of at most %llu bytes",
			 (unsigned long long)RULE_FILE_BYTES_MAX);
		goto refuse;
	}
	op->count = (size_t)count;
	batch_queue(w, op, conn, req);
	return;
refuse:
	santa_log(w->log, LOG_ERR, "%s: rules refused, the previous rules stay: %s", who, why);
	ipc_conn_reply_error(conn, req, -EINVAL, why);
fail:
	op_free(op);
	ipc_msg_free(req);
}

void
rule_writer_apply_rules(struct rule_writer *w, struct ipc_conn *conn, struct ipc_msg *req,
			struct santa_rule *rules, size_t n, const char *who)
{
	struct write_op *op = batch_new(w, conn, req, who);

	if (!op) {
		free(rules);
		ipc_msg_free(req);
		return;
	}
	op->rules = rules;
	op->n = n;
	batch_queue(w, op, conn, req);
}

/* A transitive write: queued unless RULE_WRITER_OPS_MAX are (then dropped and counted). */
static int
queue_transitive(struct rule_writer *w, struct write_op *op)
{
	bool full;

	if (!w) {
		op_free(op);
		return -ENODEV;
	}
	if (!op)
		return -ENOMEM;
	pthread_mutex_lock(&w->lock);
	/*
	 * Last-use records come from any user's execs of a transitively allowed
	 * program: they may not fill the queue that a compiler's new rule needs.
	 */
	full = w->n_ops >= RULE_WRITER_OPS_MAX ||
	       (op->kind == RULE_WRITE_TRANSITIVE_TOUCH && w->n_touches >= RULE_WRITER_TOUCHES_MAX);
	pthread_mutex_unlock(&w->lock);
	if (full) {
		w->dropped++;
		op_free(op);
		return -ENOBUFS;
	}
	enqueue(w, op);
	return 0;
}

int
rule_writer_add_transitive(struct rule_writer *w, const char *sha256_hex,
			   const char *compiler_hex, const char *path,
			   const struct santa_file_key *key)
{
	struct write_op *op = op_new(w, RULE_WRITE_TRANSITIVE_ADD);

	if (op) {
		snprintf(op->hex, sizeof(op->hex), "%s", sha256_hex);
		snprintf(op->compiler, sizeof(op->compiler), "%s", compiler_hex);
		op->key = *key;
		op->path = strdup(path);
		if (!op->path) {
			op_free(op);
			op = NULL;
		}
	}
	return queue_transitive(w, op);
}

int
rule_writer_touch_transitive(struct rule_writer *w, const char *sha256_hex)
{
	struct write_op *op = op_new(w, RULE_WRITE_TRANSITIVE_TOUCH);

	if (op)
		snprintf(op->hex, sizeof(op->hex), "%s", sha256_hex);
	return queue_transitive(w, op);
}

int
rule_writer_expire_transitive(struct rule_writer *w, int64_t cutoff)
{
	struct write_op *op = op_new(w, RULE_WRITE_TRANSITIVE_EXPIRE);

	if (op)
		op->cutoff = cutoff;
	return queue_transitive(w, op);
}

uint64_t
rule_writer_dropped(const struct rule_writer *w)
{
	return w ? w->dropped : 0;
}
