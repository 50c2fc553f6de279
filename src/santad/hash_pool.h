/*
 * The workers that make first decisions (hash, look up, decide, answer), and
 * who waits for them. What one local user does must not decide for others:
 *
 *  - Jobs wait in one lane per uid of the exec'ing process; workers take
 *    lanes in turn (round robin), and a job hashes a slice at a time
 *    (exec.c: HASH_SLICE_BYTES) before a waiting job gets its worker, so a
 *    user who queues a thousand jobs, or one endless file, delays another
 *    user's job by about one slice per worker.
 *  - Root's execs have a lane of their own, taken first, with its own share
 *    of the queue and one worker kept for it alone: no amount of other
 *    users' work stands between root's exec and a worker. Another worker
 *    takes root's job only while that one is busy. A worker runs at the
 *    niceness of whom it works for (priority.h): a user's hash competes
 *    with that user's processes for the CPU, root's ahead of them.
 *  - A job whose exec was already answered (its deadline passed) keeps
 *    hashing only while no other job waits: then it gives way (its result
 *    would only have filled the cache), so a file of holes a petabyte long
 *    occupies a worker for one deadline, not for days; even alone it stops
 *    after 1 GiB or twice the file's bytes on disk (exec.c).
 *  - Every count is capped (a uid's lane, the shared queue, the number of
 *    lanes; a full one is refused at once and the caller answers without
 *    holding the event's fd).
 *
 * uids in lanes are as the kernel sees them (a user namespace's "root" is
 * the user's own uid); a user with subordinate uids (/etc/subuid) can spread
 * jobs over many lanes, bounded by HASH_POOL_MAX_LANES and the shared queue,
 * never into root's.
 */
#ifndef SANTAD_HASH_POOL_H
#define SANTAD_HASH_POOL_H

#include <stdbool.h>
#include <sys/types.h>

struct exec_job;
struct hash_pool;

#define HASH_POOL_MAX_LANES 256 /* uids with their own lane at once; the rest share one */

struct hash_pool_limits {
	unsigned int workers;      /* shared workers (one more is kept for root's lane) */
	unsigned int queue_max;    /* jobs queued for all non-root uids together */
	unsigned int per_uid_max;  /* jobs queued for one non-root uid */
	unsigned int root_max;     /* jobs queued in root's lane */
	int root_nice;             /* a worker's niceness for root's jobs (priority.h) */
	int user_nice;             /* and for everyone else's */
	/*
	 * What a worker does with a job (exec.c's exec_job_run, set by main):
	 * false, not finished, queue it again. The pool sits below the
	 * decision pipeline and calls it only through here.
	 */
	bool (*run)(struct exec_job *job);
};

int hash_pool_start(const struct hash_pool_limits *limits, struct hash_pool **out);
/*
 * Queues job (its uid decides the lane). -EBUSY when its lane or the shared
 * queue is full, -ESHUTDOWN once stopping: the caller answers the event.
 */
int hash_pool_submit(struct hash_pool *pool, struct exec_job *job, uid_t uid);
/* Whether a job waits for a worker now (lock-free; a hint that may be stale). */
bool hash_pool_has_waiting(const struct hash_pool *pool);
/* Whether the pool is stopping: running jobs end at their next chunk. */
bool hash_pool_stopping(const struct hash_pool *pool);
/* Stops the workers at once: queued jobs are not run (their owner frees them). */
void hash_pool_stop(struct hash_pool *pool);

#endif
