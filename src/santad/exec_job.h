/*
 * One first decision on its way (a job), and the execs waiting for it.
 *
 * An exec of a file with no cached decision makes a job: a worker hashes
 * the file, decides and answers. Another exec of the same file (same dev,
 * inode, mtime, ctime and size), by the same uid, through the same path,
 * under the same policy, while that job is on its way, does not make a
 * second job: it is merged into the first and gets the same decision (its
 * own log line; the decision is stored for upload once, with the job's
 * first exec, as Santa's driver made a second exec of a vnode wait for the
 * decision in flight). Only one uid's execs share a job: a job waits in its
 * uid's lane (hash_pool.h), and another user's exec merged into it would
 * wait behind that user's queue.
 *
 * Every exec has its own deadline, kept by the deadline thread
 * (deadline.h): whoever answers first (the worker with the decision, the
 * deadline thread with the fallback verdict, the loop for a COMPILER)
 * answers under the job's lock, exactly once. A job merges at most
 * JOB_MERGED_MAX execs, and santad at most santad.merged_max in all (they
 * hold fds): past either, an exec makes a job of its own as before.
 *
 * Locks: the deadline heap's lock is taken before a job's lock, never the
 * other way round: nothing holding a job's lock calls deadlines_*.
 */
#ifndef SANTAD_EXEC_JOB_H
#define SANTAD_EXEC_JOB_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "deadline.h"
#include "santad.h"
#include "event_log.h"
#include "proc.h"

#define JOB_MERGED_MAX 64 /* execs merged into one job */

/* One exec event waiting for its answer: a job's first, or one merged into it. */
struct exec_wait {
	struct deadline deadline; /* the deadline thread's entry */
	struct exec_wait *next;   /* the job's merged execs */
	struct exec_wait *timeout_next; /* santad.timed_out: answered by its deadline, line to write */
	struct exec_job *job;
	int fd;        /* the event's file (a merged one's is closed once answered) */
	int answer_fd; /* the group waiting for the answer */
	struct proc_info proc; /* read while the process waited */
	enum santa_verdict fallback; /* what its deadline answers */
	uint64_t started_usec, answered_usec;
	/* Under the job's lock until the job is back on the loop. */
	bool answered;
	bool timed_out; /* answered by its deadline (or a full queue) */
};

struct exec_job {
	struct exec_job *next;        /* pool queue, then completion queue */
	struct exec_job *pending_next; /* main thread's list of unfinished jobs */
	struct santad *daemon;
	struct policy *policy;        /* the rules this job is decided under */
	uint64_t generation;          /* santad's flush count when it was made */
	int fd;                       /* the file being executed, from fanotify */
	struct santa_file_key key;
	bool trusted_file; /* root-owned, not writable by others: may get an ignore mark */
	bool pending_transitive; /* a compiler wrote exactly this file; its rule is on the way */
	enum santa_mode mode;
	uint64_t started_usec;
	struct exec_wait first; /* the exec that made the job */

	pthread_mutex_t lock;
	struct exec_wait *merged; /* under lock */
	unsigned int n_merged;    /* loop only */
	unsigned int unanswered;  /* under lock; also in unanswered_hint for lock-free looks */
	atomic_uint unanswered_hint;
	bool decided;   /* under lock: the decision below is final */
	bool cancelled; /* under lock: the hash was given up; nothing merges any more */

	/* Filled by the worker before decided is set. */
	struct santa_sha256_stream *hash; /* the hash so far, between slices */
	bool leased; /* a read lease on fd while it is hashed (exec.c: guard_bytes) */
	int hash_error;
	uint64_t hash_bytes, hash_usec;
	uint64_t disk_bytes; /* what the file has on disk (st_blocks): caps hashing nobody waits for */
	uint8_t sha256[SANTA_SHA256_LEN];
	struct santa_decision decision;
	struct signing_info signing;
	bool view_missing; /* decided before the first package view was loaded: not cached */
	/*
	 * Path scopes were set and the path does not name this file in santad's
	 * namespace (a user's bind mount, another namespace's mount): the
	 * decision holds for this path only, so it is not cached by inode.
	 */
	bool path_unverified;
	char path[PATH_MAX];
};

#endif
