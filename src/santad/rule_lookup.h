/*
 * The rules a decision reads (rule_lookup.c): static rules from the
 * configuration first, as on Santa, then rules.db. Any thread that holds a
 * policy reference; santad_count_package_rules on the loop thread.
 */
#ifndef SANTAD_RULE_LOOKUP_H
#define SANTAD_RULE_LOOKUP_H

#include "santa/policy.h"

struct santad;
struct policy;

/* How many SIGNINGID, CERTIFICATE and TEAMID rules exist (d->package_rules). Loop thread. */
void santad_count_package_rules(struct santad *d);
/* The rule of (type, identifier): static rules from the config first, then rules.db. 0 or -ENOENT. */
int santad_find_rule(struct santad *d, const struct policy *policy, enum santa_rule_type type,
		     const char *identifier, struct santa_rule_found *out);
/* Looks up rules for a SHA-256: static rules from the config first, then the database. */
int santad_find_binary_rule(struct santad *d, const struct policy *policy,
			    const char *sha256_hex, struct santa_rule_found *out);

#endif
