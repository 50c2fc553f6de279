/*
 * The event log (event_log.c): santa.log's lines and events.db's upload
 * events, written by one writer thread fed through a bounded queue. Any
 * thread submits; the loop thread starts, reopens (SIGHUP) and stops it.
 */
#ifndef SANTAD_EVENT_LOG_H
#define SANTAD_EVENT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/config.h"
#include "santa/policy.h"

/*
 * The queue is capped twice: by records, and by the bytes they hold (each
 * record sized to its strings, exec_record_bytes). A stalled writer (a hung
 * disk, an NSS lookup that waits for LDAP) then costs santad at most
 * EVENT_LOG_QUEUE_BYTES whatever the paths. 8 MiB holds about 25,000
 * typical exec records (~330 bytes with a short path and argv: 2.5 s of
 * 10,000 execs a second) and still about 1,400 of the largest (a PATH_MAX
 * path, 1 KiB of argv and a package identity: ~5.8 KB; a rename of long
 * paths ~12.5 KB). With PATH_MAX inline, 65,536 records took 278 MB.
 */
#define EVENT_LOG_QUEUE_MAX   65536
#define EVENT_LOG_QUEUE_BYTES (8u * 1024 * 1024)

/* What a log record says: an exec decision, or a file change (FileChangesRegex). */
enum record_kind {
	RECORD_EXEC = 0,
	RECORD_WRITE,
	RECORD_RENAME,
	RECORD_DELETE,
};

/*
 * What a decision knew of the file's package identity (santa/pkgtrust.h),
 * for the log line (cert_sha256, cert_cn, teamid) and the upload event
 * (signing_id, team_id, signing_chain).
 */
struct signing_info {
	bool known;
	char cert_sha256[65];
	char cert_cn[128];  /* the signing key's user ID */
	char team_id[11];
	char signing_id[140];
	char origin[64];    /* the archive's Origin and Suite */
	char suite[64];
};

/*
 * One log line (and upload event) on its way to the writer. Made by
 * exec_record_new: its strings live in the record's own allocation, each
 * as long as it is (never NULL unless said).
 */
struct exec_record {
	struct exec_record *next;
	size_t alloc_size;  /* the record and its strings; args are apart */
	enum record_kind kind;
	const char *path;
	const char *newpath;      /* RENAME: where it went, or NULL */
	const char *process_path; /* file changes: the instigator's executable, or NULL */
	enum santa_verdict verdict;
	enum santa_reason reason;
	const char *explain;
	bool has_sha256;
	uint8_t sha256[SANTA_SHA256_LEN];
	pid_t pid, ppid;
	uint64_t pidversion, ppidversion; /* EXEC: santad_process_start of each, 0 if not known */
	uid_t uid;
	gid_t gid;
	enum santa_mode mode;
	bool upload;       /* also store it in events.db for the sync server */
	bool upload_only;  /* events.db only: its log line goes later, as another record */
	double exec_time;  /* Unix seconds, when the decision was made */
	char *args;        /* argv, NUL-separated (malloc'd, at most SANTA_EXEC_ARGS_MAX), or NULL */
	size_t args_len;
	bool args_truncated;
	/* signing_info's fields ("" where not known). */
	struct {
		const char *cert_sha256, *cert_cn, *team_id, *signing_id, *origin, *suite;
	} signing;
	char parent_name[17]; /* upload events: the parent's comm, read while the exec waited */
	char strings[];
};

/*
 * A record (zeroed but for its strings) with copies of path, newpath and
 * process_path (both may be NULL) and of signing's fields (NULL: none
 * known); NULL on ENOMEM.
 */
struct exec_record *exec_record_new(enum record_kind kind, const char *path, const char *newpath,
				    const char *process_path, const struct signing_info *signing);
/* A copy of rec without its args (the upload event of a line that waits for them). */
struct exec_record *exec_record_dup(const struct exec_record *rec);
/* What rec holds in memory, strings and args included. */
size_t exec_record_bytes(const struct exec_record *rec);

struct event_log;
struct events_db;

/* events may be NULL (no sync server: nothing is kept for upload). */
int event_log_start(const struct santa_config *cfg, struct events_db *events,
		    struct event_log **out);
/*
 * Queues a record (taken); when the queue is full (EVENT_LOG_QUEUE_MAX
 * records or EVENT_LOG_QUEUE_BYTES) the record is dropped and counted.
 */
void event_log_submit(struct event_log *log, struct exec_record *rec);
void event_log_reopen(struct event_log *log);
/*
 * A ticket for every record submitted so far; the writer stops batching
 * until it has finished them. event_log_ticket_done says when it has (every
 * line written, every upload event in events.db, or counted as lost);
 * event_log_done_fd becomes readable (eventfd) after a batch that did.
 */
uint64_t event_log_flush_ticket(struct event_log *log);
bool event_log_ticket_done(struct event_log *log, uint64_t ticket);
int event_log_done_fd(struct event_log *log);
/* Readable (eventfd) once a block was stored that should go to the sync server now. */
int event_log_upload_fd(struct event_log *log);
uint64_t event_log_dropped(struct event_log *log);
/* Records waiting for the writer now (the queue's depth), and the bytes they hold. */
void event_log_queued(struct event_log *log, unsigned int *records, size_t *bytes);
/* Lines the log file did not get (disk full...) and events events.db did not take. */
void event_log_losses(struct event_log *log, uint64_t *lines_lost, uint64_t *upload_lost);
/* Lines not written because their uid had used up EventLogUserQuotaMB of the log file. */
uint64_t event_log_quota_dropped(struct event_log *log);
void event_log_stop(struct event_log *log);

/* Frees a record and what it owns. */
void exec_record_free(struct exec_record *rec);

#endif
