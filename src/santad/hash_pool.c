/*
 * Worker threads for the slow part of a decision: hashing a file seen for
 * the first time. The event thread never waits for them, so a large cold
 * binary delays only its own exec, never the decision for a cached file.
 * Jobs arrive through a bounded queue; a full queue is refused, not waited on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "santad.h"

#define MAX_WORKERS 64

struct hash_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct exec_job *head, *tail;
	unsigned int queued, queue_max;
	bool stopping;
	pthread_t threads[MAX_WORKERS];
	unsigned int n_threads;
};

static void *
worker_main(void *arg)
{
	struct hash_pool *pool = arg;
	struct exec_job *job;

	for (;;) {
		pthread_mutex_lock(&pool->lock);
		while (!pool->head && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		if (pool->stopping && !pool->head) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		job = pool->head;
		pool->head = job->next;
		if (!pool->head)
			pool->tail = NULL;
		pool->queued--;
		pthread_mutex_unlock(&pool->lock);
		job->next = NULL;
		exec_job_run(job);
	}
}

int
hash_pool_start(unsigned int workers, unsigned int queue_max, struct hash_pool **out)
{
	struct hash_pool *pool = calloc(1, sizeof(*pool));
	unsigned int i;
	int r;

	*out = NULL;
	if (!pool)
		return -ENOMEM;
	if (workers == 0)
		workers = 1;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->queue_max = queue_max;
	for (i = 0; i < workers; i++) {
		r = pthread_create(&pool->threads[i], NULL, worker_main, pool);
		if (r != 0) {
			hash_pool_stop(pool);
			return -r;
		}
		pool->n_threads++;
	}
	*out = pool;
	return 0;
}

int
hash_pool_submit(struct hash_pool *pool, struct exec_job *job)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->queued >= pool->queue_max || pool->stopping) {
		pthread_mutex_unlock(&pool->lock);
		return -EBUSY;
	}
	job->next = NULL;
	if (pool->tail)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pool->queued++;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void
hash_pool_stop(struct hash_pool *pool)
{
	unsigned int i;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
