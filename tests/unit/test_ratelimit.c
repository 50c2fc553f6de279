/* lib/common/ratelimit.c: one line per uid per interval, counts of what was held back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "santa/ratelimit.h"

#define SEC 1000000ULL

static void
test_one_line_per_uid_per_interval(void **state)
{
	struct santa_ratelimit rl;
	uint64_t held = 99;
	bool shared = true;
	int i, passed = 0;

	santa_ratelimit_init(&rl, 10 * SEC);
	assert_true(santa_ratelimit_pass(&rl, 1000, 1 * SEC, &held, &shared));
	assert_int_equal(held, 0);
	assert_false(shared);
	for (i = 0; i < 5000; i++)
		passed += santa_ratelimit_pass(&rl, 1000, 1 * SEC + (uint64_t)i, &held, &shared);
	assert_int_equal(passed, 0);
	/* Another uid is not held back by the first one's flood. */
	assert_true(santa_ratelimit_pass(&rl, 0, 2 * SEC, &held, &shared));
	assert_int_equal(held, 0);
	/* Once the interval is over, one line says how many were held back. */
	assert_true(santa_ratelimit_pass(&rl, 1000, 11 * SEC, &held, &shared));
	assert_int_equal(held, 5000);
	assert_false(santa_ratelimit_pass(&rl, 1000, 12 * SEC, &held, &shared));
}

static void
test_many_uids_share_one_slot(void **state)
{
	struct santa_ratelimit rl;
	uint64_t held = 0;
	bool shared = false;
	unsigned int uid, passed = 0;

	santa_ratelimit_init(&rl, 10 * SEC);
	/* 100,000 uids within one interval: a line for each of the first slots, one shared. */
	for (uid = 100000; uid < 200000; uid++)
		passed += santa_ratelimit_pass(&rl, uid, 1 * SEC, &held, &shared);
	assert_int_equal(passed, SANTA_RATELIMIT_UIDS + 1);
	/* After the interval the next newcomer's line reports what the shared slot held. */
	assert_true(santa_ratelimit_pass(&rl, 300000, 12 * SEC, &held, &shared));
	assert_true(shared);
	assert_int_equal(held, 100000 - SANTA_RATELIMIT_UIDS - 1);
	/* Then newcomers get slots of their own again. */
	assert_true(santa_ratelimit_pass(&rl, 400000, 13 * SEC, &held, &shared));
	assert_false(shared);
}

static void
test_shared_slot_counts_what_it_held(void **state)
{
	struct santa_ratelimit rl;
	uint64_t held = 0;
	bool shared = false;
	unsigned int uid;

	santa_ratelimit_init(&rl, 10 * SEC);
	for (uid = 1; uid <= SANTA_RATELIMIT_UIDS; uid++)
		assert_true(santa_ratelimit_pass(&rl, uid, 1 * SEC, &held, &shared));
	/* Every slot is held and recent: newcomers share one line. */
	assert_true(santa_ratelimit_pass(&rl, 5000, 2 * SEC, &held, &shared));
	assert_true(shared);
	assert_false(santa_ratelimit_pass(&rl, 5001, 3 * SEC, &held, &shared));
	assert_false(santa_ratelimit_pass(&rl, 5002, 4 * SEC, &held, &shared));
	/* Once the interval is over, the next newcomer's line says what the shared slot held. */
	assert_true(santa_ratelimit_pass(&rl, 5003, 12 * SEC, &held, &shared));
	assert_true(shared);
	assert_int_equal(held, 2);
	/* Then a slot with nothing held back whose interval is over is reused. */
	assert_true(santa_ratelimit_pass(&rl, 5004, 12 * SEC, &held, &shared));
	assert_false(shared);
	assert_int_equal(held, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_line_per_uid_per_interval),
		cmocka_unit_test(test_many_uids_share_one_slot),
		cmocka_unit_test(test_shared_slot_counts_what_it_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
