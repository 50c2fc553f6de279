/*
 * The deadline thread: one thread with a timerfd and a heap of the times at
 * which waiting exec events must be answered. It runs nothing else, and it
 * never waits for the event loop, so nothing the loop does (a million-rule
 * batch, a scan of mount namespaces) moves a deadline. What "expired" means
 * is the owner's (exec.c answers the event with the fallback verdict).
 *
 * Threads: deadlines_add and deadlines_remove from any thread that holds
 * none of the locks the expire function takes; expire runs on the deadline
 * thread with the heap's lock held, so it must be short and must not call
 * back into this module.
 */
#ifndef SANTAD_DEADLINE_H
#define SANTAD_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

struct deadlines;

/* Embedded in what it times; zeroed (calloc) means "not waiting". */
struct deadline {
	uint64_t at_usec; /* CLOCK_MONOTONIC */
	size_t slot;      /* 1 + its index in the heap, 0 when not in it */
};

typedef void deadline_expire_fn(struct deadline *dl, void *ctx);

/* At most cap deadlines wait at once (each stands for an fd the owner holds). */
int deadlines_start(size_t cap, deadline_expire_fn *expire, void *ctx, struct deadlines **out);
/* dl expires at at_usec. -EBUSY when cap deadlines wait, -EALREADY when dl waits. */
int deadlines_add(struct deadlines *t, struct deadline *dl, uint64_t at_usec);
/*
 * dl will not expire: once this returns, expire(dl) has either run to its
 * end or never will, so the owner may free dl. No-op when dl does not wait.
 */
void deadlines_remove(struct deadlines *t, struct deadline *dl);
/* Deadlines waiting now. */
size_t deadlines_waiting(struct deadlines *t);
/* Stops the thread; waiting deadlines never expire. NULL is fine. */
void deadlines_stop(struct deadlines *t);

#endif
