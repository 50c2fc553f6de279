/*
 * santad's counters (d->stats, struct santad_stats): what each counts, which
 * thread writes it, and how it is read.
 *
 * Plain fields are written on the loop thread only, and read there: the
 * status reply (control.c) and the metrics export (metrics.c) are built on
 * the loop, so they read them as plain fields, with no lock. The _Atomic
 * fields are written by the hash workers (atomic_fetch_add) while the loop
 * reads them (atomic_load). A counter written from another thread must be
 * _Atomic, or be handed to the loop to count (as the workers' hash times
 * are, with their job).
 */
#ifndef SANTAD_STATS_H
#define SANTAD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "santa/types.h"

/* Decision latency buckets, upper bounds in microseconds; the last is +Inf. */
#define SANTAD_LATENCY_BUCKETS 12
#define SANTAD_LATENCY_BOUNDS { 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000 }

/* Why santad.sock refused a client, for /santa/ipc/rejections. */
enum ipc_reject_reason {
	IPC_REJECT_NOT_SANTA,   /* not one of Santa's binaries */
	IPC_REJECT_CHANGED,     /* binary changed since start */
	IPC_REJECT_TRACED,
	IPC_REJECT_NOT_ALLOWED, /* a Santa binary, but not for this socket */
	IPC_REJECT_TOO_MANY,
	IPC_REJECT_HANDSHAKE,
	IPC_REJECT_OTHER,
	IPC_REJECT_REASONS,
};

struct santad_stats {
	/* Loop (exec.c): each exec answered, by its verdict, and by verdict and reason ([deny][reason]). */
	uint64_t allowed, denied;
	uint64_t by_decision[2][SANTA_REASON_MAX + 1];
	/* Loop (exec.c): answered by their deadline or by a full queue; those of a full queue. */
	uint64_t timeouts, queue_full;
	/* Loop (exec.c): decision cache lookups of exec events. */
	uint64_t cache_hits, cache_misses;
	/* Loop (exec.c): kernel ignore marks placed, and those the kernel refused. */
	uint64_t ignore_marks, ignore_mark_errors; /* errors: not reported yet */
	/* Loop (exec.c): execs the kernel allowed through an ignore mark, logged from the notification group. */
	uint64_t logged_without_asking;
	uint64_t interpreter_loads; /* loop (exec.c): loader notifications that were a program's interpreter; not reported yet */
	uint64_t notifications_lost; /* loop (exec.c): FAN_Q_OVERFLOW on the notification group */
	uint64_t helper_restarts; /* loop (helpers.c); not reported (status and metrics give each helper's own) */
	/* Loop (exec.c): from reading the event to answering it, by SANTAD_LATENCY_BOUNDS bucket. */
	uint64_t latency[SANTAD_LATENCY_BUCKETS];
	uint64_t latency_sum_usec;
	/* Loop (exec.c), from each job the workers hand back: files hashed, their bytes, the time. */
	uint64_t hashes, hash_bytes, hash_usec;
	uint64_t hashes_given_up; /* loop (exec.c): past the deadline, left for a waiting job; not reported yet */
	uint64_t merged; /* loop (exec.c): execs that waited for another exec's job of the same file */
	/* Hash workers (exec.c): package identities found, and refused (modified, ...). */
	_Atomic uint64_t package_verified, package_unverified;
	_Atomic uint64_t package_md5_with_hash; /* hash workers: of those, MD5 computed from the SHA-256's reads */
	_Atomic uint64_t critical_allowed; /* hash workers: denials turned into allows: critical system binaries */
	uint64_t ipc_rejected[IPC_REJECT_REASONS]; /* loop (metrics.c: santad_count_rejection) */
	uint64_t syncs_ok, syncs_failed; /* loop (sync.c): the sync service's results */
	/*
	 * Loop (exec.c: santad_flush_decisions). Also the decisions' generation:
	 * a job made before the last flush is answered but not cached.
	 */
	uint64_t flushes;
	uint64_t transitive_added; /* loop (transitive.c); not reported yet */
};

#endif
