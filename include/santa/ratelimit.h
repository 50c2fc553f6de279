/*
 * For a log line that anyone can make a program repeat (a refused
 * connection, a refused notification agent): at most one line per uid per
 * interval, and the next line says how many were held back. Fixed size, so
 * that many uids (a user's subordinate uids) cannot grow it or get a line
 * each: beyond SANTA_RATELIMIT_UIDS recent uids, the others share one slot.
 * No clock of its own and no locking: the caller passes the time, and one
 * thread uses it.
 */
#ifndef SANTA_RATELIMIT_H
#define SANTA_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/log.h"

#define SANTA_RATELIMIT_UIDS 32
#define SANTA_RATELIMIT_DEFAULT_USEC (10 * 1000000ULL) /* of a zeroed struct */

struct santa_ratelimit_slot {
	uid_t uid;
	bool used;
	uint64_t logged_usec; /* when this slot's last line was let through */
	uint64_t held;        /* lines held back since */
};

struct santa_ratelimit {
	uint64_t interval_usec;
	struct santa_ratelimit_slot slots[SANTA_RATELIMIT_UIDS];
	struct santa_ratelimit_slot others; /* uids that found no slot of their own */
};

/* A zeroed struct is ready too, with SANTA_RATELIMIT_DEFAULT_USEC. */
void santa_ratelimit_init(struct santa_ratelimit *rl, uint64_t interval_usec);

/*
 * One more line for uid at now_usec (CLOCK_MONOTONIC): true when it may be
 * written, with *held set to the lines of that uid (or of the shared slot,
 * *shared true) held back since its last one; false when it is held back.
 */
bool santa_ratelimit_pass(struct santa_ratelimit *rl, uid_t uid, uint64_t now_usec,
			  uint64_t *held, bool *shared);

/*
 * A listener's refusal (lib/ipc's on_rejected): "<prefix>refused pid P (uid
 * U): WHY" at LOG_WARNING, at most once per uid per interval, saying how
 * many were not logged. prefix may be "".
 */
void santa_log_refusal(const struct santa_log *log, struct santa_ratelimit *rl, const char *prefix,
		       pid_t pid, uid_t uid, const char *why);

#endif
