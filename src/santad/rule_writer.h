/*
 * The rule writer: every change to rules.db, on a thread of its own with
 * the database's write connection. Rule batches (a sync, santactl rule
 * --import, santactl rule add) are parsed and applied there, and transitive
 * rules written, touched and expired there, so that the loop never waits
 * for a write: the hash workers' lookups read on connections of their own
 * (WAL) and never wait either. The verbs run on the loop; the loop hears of
 * each finished change through an eventfd, calls the done callback (santad
 * flushes its decisions there) and only then answers the client.
 */
#ifndef SANTAD_RULE_WRITER_H
#define SANTAD_RULE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "santa/log.h"
#include "santa/policy.h"

struct ipc_conn;
struct ipc_msg;
struct rules_db;
struct rule_writer;

/* Rule batches queued or being written; one more is refused (EBUSY, "try again"). */
#define RULE_WRITER_BATCHES_MAX 4
/* Transitive rule writes queued; one more is dropped (counted). */
#define RULE_WRITER_OPS_MAX 4096
/* Of those, last-use records (best effort: the next use records it again). */
#define RULE_WRITER_TOUCHES_MAX 256
/* A rule file (memfd from the sync service or santactl) is at most this large. */
#define RULE_FILE_BYTES_MAX (512ULL * 1024 * 1024)

enum rule_write_kind {
	RULE_WRITE_BATCH,
	RULE_WRITE_TRANSITIVE_ADD,
	RULE_WRITE_TRANSITIVE_TOUCH,
	RULE_WRITE_TRANSITIVE_EXPIRE,
};

/* A finished change, as the loop is told of it (before a batch's client is answered). */
struct rule_write_done {
	enum rule_write_kind kind;
	uint16_t request; /* a batch's request type (SANTAD_SYNC_RULES, ...) */
	/* A batch: 0 or -errno. ADD: 1 written, 0 not, -EIO. EXPIRE: rules removed or -EIO. */
	int result;
	size_t n;         /* a batch's rules */
	const char *path; /* ADD: the file the compiler wrote */
	const char *hex;  /* ADD: its hash */
	const char *compiler;
	const struct santa_file_key *key; /* ADD: the file, as the compiler closed it */
};
typedef void (*rule_writer_done_fn)(const struct rule_write_done *done, void *userdata);

int rule_writer_new(sd_event *event, struct rules_db *rules, const struct santa_log *log,
		    rule_writer_done_fn done, void *userdata, struct rule_writer **out);
/* Stops the batch being written (it rolls back), answers every client waiting, joins, frees. */
void rule_writer_free(struct rule_writer *w);

/*
 * A file of rule lines (SANTAD_SYNC_RULES, SANTAD_RULE_IMPORT: fd "rules",
 * "count", "sync_type"), parsed and applied by the thread. Takes req;
 * answers on conn once the batch committed or failed (at once if refused).
 */
void rule_writer_apply_file(struct rule_writer *w, struct ipc_conn *conn, struct ipc_msg *req,
			    const char *who);
/*
 * SANTAD_RULE_ADD: rules already parsed (their strings point into req).
 * Takes req and rules (malloc'd); answers as above.
 */
void rule_writer_apply_rules(struct rule_writer *w, struct ipc_conn *conn, struct ipc_msg *req,
			     struct santa_rule *rules, size_t n, const char *who);

/* Queued transitive writes: 0, or -ENOBUFS when the queue is full (counted), -ENOMEM. */
int rule_writer_add_transitive(struct rule_writer *w, const char *sha256_hex,
			       const char *compiler_hex, const char *path,
			       const struct santa_file_key *key);
int rule_writer_touch_transitive(struct rule_writer *w, const char *sha256_hex);
int rule_writer_expire_transitive(struct rule_writer *w, int64_t cutoff);
/* Transitive writes dropped because the queue was full. */
uint64_t rule_writer_dropped(const struct rule_writer *w);

#endif
