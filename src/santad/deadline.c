/*
 * Deadlines that fire whatever the event loop is doing (deadline.h): a
 * binary min-heap under one mutex, and a thread that sleeps on a timerfd
 * armed for the heap's earliest entry.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "santa/clock.h"
#include "deadline.h"

struct deadlines {
	pthread_mutex_t lock;
	struct deadline **heap; /* heap[0] expires first */
	size_t n, cap;
	int timer_fd;
	int stop_fd;
	bool started;
	pthread_t thread;
	deadline_expire_fn *expire;
	void *ctx;
};

static void
heap_set(struct deadlines *t, size_t i, struct deadline *dl)
{
	t->heap[i] = dl;
	dl->slot = i + 1;
}

static void
sift_up(struct deadlines *t, size_t i)
{
	struct deadline *dl = t->heap[i];

	while (i > 0 && t->heap[(i - 1) / 2]->at_usec > dl->at_usec) {
		heap_set(t, i, t->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(t, i, dl);
}

static void
sift_down(struct deadlines *t, size_t i)
{
	struct deadline *dl = t->heap[i];
	size_t c;

	while ((c = 2 * i + 1) < t->n) {
		if (c + 1 < t->n && t->heap[c + 1]->at_usec < t->heap[c]->at_usec)
			c++;
		if (t->heap[c]->at_usec >= dl->at_usec)
			break;
		heap_set(t, i, t->heap[c]);
		i = c;
	}
	heap_set(t, i, dl);
}

/* Takes dl out of the heap. Under the lock. */
static void
heap_remove(struct deadlines *t, struct deadline *dl)
{
	size_t i = dl->slot - 1;
	struct deadline *last = t->heap[--t->n];

	dl->slot = 0;
	if (i == t->n)
		return;
	heap_set(t, i, last);
	if (i > 0 && t->heap[(i - 1) / 2]->at_usec > last->at_usec)
		sift_up(t, i);
	else
		sift_down(t, i);
}

/* The timer for the earliest deadline, or off. Under the lock. */
static void
arm(struct deadlines *t)
{
	struct itimerspec its = { 0 };
	uint64_t at;

	if (t->n) {
		at = t->heap[0]->at_usec ? t->heap[0]->at_usec : 1; /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(at / 1000000);
		its.it_value.tv_nsec = (long)(at % 1000000) * 1000;
	}
	(void)timerfd_settime(t->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void *
deadline_thread(void *arg)
{
	struct deadlines *t = arg;
	struct pollfd fds[2] = {
		{ .fd = t->timer_fd, .events = POLLIN },
		{ .fd = t->stop_fd, .events = POLLIN },
	};
	uint64_t ticks, now;

	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (fds[1].revents)
			return NULL;
		(void)!read(t->timer_fd, &ticks, sizeof(ticks));
		pthread_mutex_lock(&t->lock);
		now = santa_mono_usec();
		while (t->n && t->heap[0]->at_usec <= now) {
			struct deadline *dl = t->heap[0];

			heap_remove(t, dl);
			t->expire(dl, t->ctx);
		}
		arm(t);
		pthread_mutex_unlock(&t->lock);
	}
}

int
deadlines_start(size_t cap, deadline_expire_fn *expire, void *ctx, struct deadlines **out)
{
	struct deadlines *t = calloc(1, sizeof(*t));
	int r;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->cap = cap;
	t->expire = expire;
	t->ctx = ctx;
	t->stop_fd = -1;
	t->heap = calloc(cap ? cap : 1, sizeof(*t->heap));
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->timer_fd >= 0)
		t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!t->heap || t->timer_fd < 0 || t->stop_fd < 0) {
		r = t->heap ? -errno : -ENOMEM;
		goto fail;
	}
	r = -pthread_create(&t->thread, NULL, deadline_thread, t);
	if (r < 0)
		goto fail;
	(void)pthread_setname_np(t->thread, "santad-deadline");
	t->started = true;
	*out = t;
	return 0;
fail:
	deadlines_stop(t);
	return r;
}

int
deadlines_add(struct deadlines *t, struct deadline *dl, uint64_t at_usec)
{
	int r = 0;

	pthread_mutex_lock(&t->lock);
	if (dl->slot) {
		r = -EALREADY;
		goto out;
	}
	if (t->n >= t->cap) {
		r = -EBUSY;
		goto out;
	}
	dl->at_usec = at_usec;
	t->heap[t->n] = dl;
	sift_up(t, t->n++);
	if (t->heap[0] == dl)
		arm(t);
out:
	pthread_mutex_unlock(&t->lock);
	return r;
}

void
deadlines_remove(struct deadlines *t, struct deadline *dl)
{
	if (!t)
		return;
	/* expire runs under this lock: taking it waits for a running one. */
	pthread_mutex_lock(&t->lock);
	if (dl->slot)
		heap_remove(t, dl);
	pthread_mutex_unlock(&t->lock);
}

size_t
deadlines_waiting(struct deadlines *t)
{
	size_t n;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void
deadlines_stop(struct deadlines *t)
{
	uint64_t one = 1;

	if (!t)
		return;
	if (t->started) {
		(void)!write(t->stop_fd, &one, sizeof(one));
		pthread_join(t->thread, NULL);
	}
	if (t->timer_fd >= 0)
		close(t->timer_fd);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	pthread_mutex_destroy(&t->lock);
	free(t->heap);
	free(t);
}
