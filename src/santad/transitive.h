/*
 * Transitive rules (transitive.c): compilers followed on their own group;
 * the loop thread and, while EnableTransitiveRules is on, its hashing thread.
 * Its state (struct transitive) is transitive.c's alone.
 */
#ifndef SANTAD_TRANSITIVE_H
#define SANTAD_TRANSITIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "santa/policy.h"

struct santad;
struct rule_write_done;

struct transitive;
/* Starts or stops following compilers as EnableTransitiveRules now says; expires old rules. */
void santad_transitive_reconcile(struct santad *d);
void santad_transitive_shutdown(struct santad *d);
/* An exec decided COMPILER: that process is a compiler until it exits. */
void santad_transitive_compiler(struct santad *d, pid_t pid, const uint8_t *sha256);
/* Whether a compiler closed exactly this file and its rule is still being made. */
bool santad_transitive_pending(struct santad *d, const struct santa_file_key *key);
/* The rule writer finished a transitive write: logs it, counts it, ends its pending state. */
void santad_transitive_written(struct santad *d, const struct rule_write_done *done);

#endif
