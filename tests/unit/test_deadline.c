/* santad's deadline thread (src/santad/deadline.c): order, removal, caps. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "santa/clock.h"
#include "deadline.h"

#define N 64

struct fired {
	atomic_uint n;
	struct deadline *order[N];
	uint64_t at[N]; /* when each fired */
};

/* The deadline thread, under its lock: one at a time. */
static void
record(struct deadline *dl, void *ctx)
{
	struct fired *f = ctx;
	unsigned int i = atomic_load(&f->n);

	if (i < N) {
		f->order[i] = dl;
		f->at[i] = santa_mono_usec();
	}
	atomic_store(&f->n, i + 1);
}

/* Waits (bounded: 10 s) until n deadlines fired. */
static bool
wait_fired(struct fired *f, unsigned int n)
{
	struct timespec ts = { 0, 1000000 };
	uint64_t until = santa_mono_usec() + 10000000;

	while (atomic_load(&f->n) < n && santa_mono_usec() < until)
		nanosleep(&ts, NULL);
	return atomic_load(&f->n) >= n;
}

static void
test_order(void **state)
{
	static struct deadline dls[N];
	static struct fired f;
	struct deadlines *t;
	uint64_t now = santa_mono_usec();
	unsigned int i;

	assert_int_equal(deadlines_start(N, record, &f, &t), 0);
	srand(7);
	/* Added in no order, with ties: fired earliest first, none early. */
	for (i = 0; i < N; i++)
		assert_int_equal(deadlines_add(t, &dls[i], now + 20000 + (uint64_t)(rand() % 40) * 1000), 0);
	assert_int_equal(deadlines_waiting(t), N);
	assert_true(wait_fired(&f, N));
	for (i = 0; i < N; i++) {
		assert_true(f.at[i] >= f.order[i]->at_usec);
		assert_int_equal(f.order[i]->slot, 0);
		if (i > 0)
			assert_true(f.order[i - 1]->at_usec <= f.order[i]->at_usec);
	}
	assert_int_equal(deadlines_waiting(t), 0);
	deadlines_stop(t);
}

static void
test_remove(void **state)
{
	static struct deadline dls[N], last;
	static struct fired f;
	struct deadlines *t;
	uint64_t now = santa_mono_usec();
	unsigned int i;

	assert_int_equal(deadlines_start(N + 1, record, &f, &t), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(deadlines_add(t, &dls[i], now + 30000 + (uint64_t)(i % 7) * 1000), 0);
	/* The heap's root, leaves and the middle go; the rest fire. */
	for (i = 0; i < N; i += 2)
		deadlines_remove(t, &dls[i]);
	deadlines_remove(t, &dls[0]); /* again: a no-op */
	/* The proof that time passed: one that expires after all the others. */
	assert_int_equal(deadlines_add(t, &last, now + 60000), 0);
	assert_true(wait_fired(&f, N / 2 + 1));
	assert_ptr_equal(f.order[N / 2], &last);
	for (i = 0; i < N / 2; i++)
		assert_true((f.order[i] - dls) % 2 == 1);
	assert_int_equal(atomic_load(&f.n), N / 2 + 1);
	deadlines_stop(t);
}

static void
test_caps(void **state)
{
	static struct deadline dls[3];
	static struct fired f;
	struct deadlines *t;
	uint64_t later = santa_mono_usec() + 60000000;

	assert_int_equal(deadlines_start(2, record, &f, &t), 0);
	assert_int_equal(deadlines_add(t, &dls[0], later), 0);
	assert_int_equal(deadlines_add(t, &dls[0], later), -EALREADY);
	assert_int_equal(deadlines_add(t, &dls[1], later), 0);
	assert_int_equal(deadlines_add(t, &dls[2], later), -EBUSY);
	deadlines_remove(t, &dls[1]);
	assert_int_equal(deadlines_add(t, &dls[2], later), 0);
	/* Stopped with deadlines waiting: they never fire. */
	deadlines_stop(t);
	assert_int_equal(atomic_load(&f.n), 0);
	deadlines_stop(NULL);
}

/* A deadline already past fires at once. */
static void
test_past(void **state)
{
	static struct deadline dl;
	static struct fired f;
	struct deadlines *t;

	assert_int_equal(deadlines_start(1, record, &f, &t), 0);
	assert_int_equal(deadlines_add(t, &dl, 0), 0);
	assert_true(wait_fired(&f, 1));
	deadlines_stop(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_past),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
