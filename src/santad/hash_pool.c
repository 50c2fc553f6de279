/*
 * Worker threads for the slow part of a decision: hashing a file seen for
 * the first time. The event thread never waits for them, so a large cold
 * binary delays only its own exec, never the decision for a cached file.
 * Fairness and caps: hash_pool.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "exec_job.h"
#include "hash_pool.h"
#include "priority.h"

#define MAX_WORKERS 65 /* HashWorkerThreads (at most 64) and root's own */

struct lane {
	uid_t uid;
	bool in_use;
	struct exec_job *head, *tail;
	unsigned int queued;
	struct lane *next_ready; /* in the ring of lanes with jobs (not root's) */
};

struct hash_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hash_pool_limits limits;
	struct lane root;
	struct lane lanes[HASH_POOL_MAX_LANES]; /* the last one is shared by overflowing uids */
	struct lane *ready_head, *ready_tail;   /* non-root lanes with jobs, in turn */
	unsigned int shared_queued;
	atomic_uint waiting; /* jobs queued, all lanes */
	atomic_bool stopping;
	bool root_worker_idle; /* root's own worker waits for a job: it takes root's */
	pthread_t threads[MAX_WORKERS];
	unsigned int n_threads;
};

struct worker_arg {
	struct hash_pool *pool;
	bool root_only;
};

static struct exec_job *
lane_pop(struct lane *l)
{
	struct exec_job *job = l->head;

	l->head = job->next;
	if (!l->head)
		l->tail = NULL;
	l->queued--;
	job->next = NULL;
	return job;
}

/* The next job for a worker: root's lane first, then the ready lanes in turn. */
static struct exec_job *
next_job(struct hash_pool *pool, bool root_only)
{
	struct lane *l;
	struct exec_job *job;

	if (pool->root.head && (root_only || !pool->root_worker_idle))
		return lane_pop(&pool->root);
	if (root_only || !(l = pool->ready_head))
		return NULL;
	job = lane_pop(l);
	pool->shared_queued--;
	pool->ready_head = l->next_ready;
	if (!pool->ready_head)
		pool->ready_tail = NULL;
	l->next_ready = NULL;
	if (l->head) {
		/* Back of the ring: every other waiting uid goes first. */
		if (pool->ready_tail)
			pool->ready_tail->next_ready = l;
		else
			pool->ready_head = l;
		pool->ready_tail = l;
	} else {
		l->in_use = false; /* free for another uid */
	}
	return job;
}

static void enqueue(struct hash_pool *pool, struct lane *l, struct exec_job *job);
static struct lane *lane_of(struct hash_pool *pool, uid_t uid);

/*
 * A job that gave its worker to a waiting one goes to the back of its lane,
 * past every cap: it is already under way, and refusing it would lose it.
 */
static void
requeue(struct hash_pool *pool, struct exec_job *job)
{
	uid_t uid = job->first.proc.uid;
	struct lane *l;

	pthread_mutex_lock(&pool->lock);
	l = uid == 0 ? &pool->root : lane_of(pool, uid);
	if (l != &pool->root)
		pool->shared_queued++;
	enqueue(pool, l, job);
	pthread_mutex_unlock(&pool->lock);
}

static void *
worker_main(void *arg)
{
	struct worker_arg *wa = arg;
	struct hash_pool *pool = wa->pool;
	bool root_only = wa->root_only;
	struct exec_job *job = NULL;
	int nice = pool->limits.root_nice, wanted;

	free(wa);
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		while (!atomic_load(&pool->stopping) && !(job = next_job(pool, root_only))) {
			if (root_only)
				pool->root_worker_idle = true;
			pthread_cond_wait(&pool->cond, &pool->lock);
		}
		if (root_only)
			pool->root_worker_idle = false;
		if (atomic_load(&pool->stopping) || !job) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		atomic_fetch_sub(&pool->waiting, 1);
		pthread_mutex_unlock(&pool->lock);
		/* Without CAP_SYS_NICE or LimitNICE= a worker may not come back: it stays at the lower. */
		wanted = job->first.proc.uid == 0 ? pool->limits.root_nice : pool->limits.user_nice;
		if (wanted != nice && santad_thread_nice(wanted) == 0)
			nice = wanted;
		if (!pool->limits.run(job))
			requeue(pool, job);
	}
}

int
hash_pool_start(const struct hash_pool_limits *limits, struct hash_pool **out)
{
	struct hash_pool *pool = calloc(1, sizeof(*pool));
	unsigned int i, workers;
	int r;

	*out = NULL;
	if (!pool)
		return -ENOMEM;
	pool->limits = *limits;
	workers = limits->workers ? limits->workers : 1;
	if (workers > MAX_WORKERS - 1)
		workers = MAX_WORKERS - 1;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->root.in_use = true;
	for (i = 0; i <= workers; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		if (!wa) {
			hash_pool_stop(pool);
			return -ENOMEM;
		}
		wa->pool = pool;
		wa->root_only = i == workers; /* the last one: kept for root */
		r = pthread_create(&pool->threads[i], NULL, worker_main, wa);
		if (r != 0) {
			free(wa);
			hash_pool_stop(pool);
			return -r;
		}
		(void)pthread_setname_np(pool->threads[i], "santad-hash");
		pool->n_threads++;
	}
	*out = pool;
	return 0;
}

/* uid's lane: the one it has, a free one, or the shared last one. Under the lock. */
static struct lane *
lane_of(struct hash_pool *pool, uid_t uid)
{
	struct lane *free_lane = NULL;
	size_t i;

	for (i = 0; i < HASH_POOL_MAX_LANES - 1; i++) {
		struct lane *l = &pool->lanes[i];

		if (l->in_use && l->uid == uid)
			return l;
		if (!l->in_use && !free_lane)
			free_lane = l;
	}
	if (!free_lane)
		return &pool->lanes[HASH_POOL_MAX_LANES - 1];
	free_lane->in_use = true;
	free_lane->uid = uid;
	return free_lane;
}

/* Appends job to lane l (ready ring included) and wakes the workers. Under the lock. */
static void
enqueue(struct hash_pool *pool, struct lane *l, struct exec_job *job)
{
	bool was_idle = !l->head;

	job->next = NULL;
	if (l->tail)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
	l->queued++;
	if (l != &pool->root && was_idle) {
		if (pool->ready_tail)
			pool->ready_tail->next_ready = l;
		else
			pool->ready_head = l;
		pool->ready_tail = l;
	}
	atomic_fetch_add(&pool->waiting, 1);
	/* Everyone: only the root-only worker may take root's job when the others are busy. */
	pthread_cond_broadcast(&pool->cond);
}

int
hash_pool_submit(struct hash_pool *pool, struct exec_job *job, uid_t uid)
{
	struct lane *l;
	int r = 0;

	pthread_mutex_lock(&pool->lock);
	if (atomic_load(&pool->stopping)) {
		r = -ESHUTDOWN;
		goto out;
	}
	if (uid == 0) {
		if (pool->root.queued >= pool->limits.root_max) {
			r = -EBUSY;
			goto out;
		}
		l = &pool->root;
	} else {
		if (pool->shared_queued >= pool->limits.queue_max) {
			r = -EBUSY;
			goto out;
		}
		l = lane_of(pool, uid);
		if (l->queued >= pool->limits.per_uid_max) {
			if (!l->head)
				l->in_use = false;
			r = -EBUSY;
			goto out;
		}
		pool->shared_queued++;
	}
	enqueue(pool, l, job);
out:
	pthread_mutex_unlock(&pool->lock);
	return r;
}

bool
hash_pool_has_waiting(const struct hash_pool *pool)
{
	return atomic_load(&pool->waiting) > 0;
}

bool
hash_pool_stopping(const struct hash_pool *pool)
{
	return atomic_load(&pool->stopping);
}

void
hash_pool_stop(struct hash_pool *pool)
{
	unsigned int i;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	atomic_store(&pool->stopping, true);
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	/* A running job sees stopping at its next chunk (exec_job_run's give_up). */
	for (i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
