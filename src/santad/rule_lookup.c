/*
 * The rules a decision reads (rule_lookup.h): static rules from the
 * configuration, then rules.db. A leaf: the decision pipeline, the GUI's
 * and TTY's block messages and the control socket look rules up here.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "santad.h"
#include "rule_lookup.h"

void
santad_count_package_rules(struct santad *d)
{
	uint64_t counts[SANTA_RULE_TYPE_MAX + 1] = { 0 }, package_rules = 0;
	size_t i;

	if (rules_db_counts(d->rules, counts) == 0)
		package_rules = counts[SANTA_RULE_TYPE_SIGNINGID] +
				counts[SANTA_RULE_TYPE_CERTIFICATE] + counts[SANTA_RULE_TYPE_TEAMID];
	for (i = 0; d->policy && i < d->policy->cfg.n_static_rules; i++) {
		enum santa_rule_type t = d->policy->cfg.static_rules[i].rule_type;

		package_rules += t == SANTA_RULE_TYPE_SIGNINGID || t == SANTA_RULE_TYPE_CERTIFICATE ||
				 t == SANTA_RULE_TYPE_TEAMID;
	}
	atomic_store(&d->package_rules, package_rules);
}

int
santad_find_rule(struct santad *d, const struct policy *policy, enum santa_rule_type type,
		 const char *identifier, struct santa_rule_found *out)
{
	size_t i;

	/* Static rules from the config beat database rules, as on Santa. */
	for (i = 0; i < policy->cfg.n_static_rules; i++) {
		const struct santa_static_rule *r = &policy->cfg.static_rules[i];

		if (r->rule_type == type && strcmp(r->identifier, identifier) == 0) {
			out->type = r->rule_type;
			out->policy = r->policy;
			snprintf(out->custom_msg, sizeof(out->custom_msg), "%s",
				 r->custom_msg ? r->custom_msg : "");
			snprintf(out->custom_url, sizeof(out->custom_url), "%s",
				 r->custom_url ? r->custom_url : "");
			return 0;
		}
	}
	return rules_db_lookup(d->rules, type, identifier, out);
}

int
santad_find_binary_rule(struct santad *d, const struct policy *policy, const char *sha256_hex,
			struct santa_rule_found *out)
{
	return santad_find_rule(d, policy, SANTA_RULE_TYPE_BINARY, sha256_hex, out);
}
