#include <string.h>

#include "santa/clock.h"
#include "santa/ratelimit.h"

static uint64_t
interval(const struct santa_ratelimit *rl)
{
	return rl->interval_usec ? rl->interval_usec : SANTA_RATELIMIT_DEFAULT_USEC;
}

void
santa_ratelimit_init(struct santa_ratelimit *rl, uint64_t interval_usec)
{
	memset(rl, 0, sizeof(*rl));
	rl->interval_usec = interval_usec;
}

static bool
slot_due(const struct santa_ratelimit *rl, const struct santa_ratelimit_slot *s, uint64_t now)
{
	return !s->used || now - s->logged_usec >= interval(rl);
}

/*
 * uid's slot; else a free one, or one whose interval is over with nothing
 * held back (the one logged longest ago); else NULL: the shared slot.
 * A slot with lines held back is kept until its uid is refused again.
 */
static struct santa_ratelimit_slot *
slot_for(struct santa_ratelimit *rl, uid_t uid, uint64_t now)
{
	struct santa_ratelimit_slot *free_slot = NULL;
	size_t i;

	for (i = 0; i < SANTA_RATELIMIT_UIDS; i++) {
		struct santa_ratelimit_slot *s = &rl->slots[i];

		if (s->used && s->uid == uid)
			return s;
	}
	/* What the shared slot held back is told by the next newcomer's line. */
	if (rl->others.held && slot_due(rl, &rl->others, now))
		return NULL;
	for (i = 0; i < SANTA_RATELIMIT_UIDS; i++) {
		struct santa_ratelimit_slot *s = &rl->slots[i];

		if (!s->used) {
			if (!free_slot || free_slot->used)
				free_slot = s;
		} else if (s->held == 0 && slot_due(rl, s, now) &&
			   (!free_slot || (free_slot->used && s->logged_usec < free_slot->logged_usec))) {
			free_slot = s;
		}
	}
	if (free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->uid = uid;
	}
	return free_slot;
}

bool
santa_ratelimit_pass(struct santa_ratelimit *rl, uid_t uid, uint64_t now_usec, uint64_t *held,
		     bool *shared)
{
	struct santa_ratelimit_slot *s = slot_for(rl, uid, now_usec);

	*shared = s == NULL;
	if (!s)
		s = &rl->others;
	if (!slot_due(rl, s, now_usec)) {
		s->held++;
		return false;
	}
	*held = s->held;
	s->held = 0;
	s->used = true;
	s->logged_usec = now_usec;
	return true;
}

void
santa_log_refusal(const struct santa_log *log, struct santa_ratelimit *rl, const char *prefix,
		  pid_t pid, uid_t uid, const char *why)
{
	uint64_t held = 0;
	bool shared = false;

	if (!santa_ratelimit_pass(rl, uid, santa_mono_usec(), &held, &shared))
		return;
	if (!held)
		santa_log(log, LOG_WARNING, "%srefused pid %d (uid %d): %s", prefix, (int)pid,
			  (int)uid, why);
	else
		santa_log(log, LOG_WARNING,
			  "%srefused pid %d (uid %d): %s (and %llu more refusals of %s in the last "
			  "%llu s, not logged)",
			  prefix, (int)pid, (int)uid, why, (unsigned long long)held,
			  shared ? "other uids" : "this uid",
			  (unsigned long long)(interval(rl) / 1000000));
}
