/* When the next full sync runs (include/santa/sync.h): pure arithmetic, unit-tested. */
#include "santa/sync.h"

unsigned int
sync_next_delay(bool ok, unsigned int consecutive_failures, unsigned int full_sync_interval)
{
	unsigned int interval = full_sync_interval ? full_sync_interval
						   : SYNC_DEFAULT_FULL_SYNC_INTERVAL;
	unsigned int shift, delay;

	if (ok || consecutive_failures == 0)
		return interval;
	/* Back off from a failing server: 60 s, doubling, never longer than a normal interval. */
	shift = consecutive_failures - 1 < SYNC_BACKOFF_MAX_DOUBLINGS ? consecutive_failures - 1
								       : SYNC_BACKOFF_MAX_DOUBLINGS;
	delay = SYNC_BACKOFF_FIRST_S << shift;
	return delay < interval ? delay : interval;
}

uint64_t
sync_jittered_usec(uint64_t interval_usec, uint64_t random)
{
	/* Santa's timer has 50 % leeway: a fleet's syncs spread over half the interval. */
	return interval_usec + (interval_usec / 2 ? random % (interval_usec / 2) : 0);
}
