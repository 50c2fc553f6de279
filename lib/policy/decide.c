/*
 * Santa's decision precedence, as in SNTPolicyProcessor: the rules for the
 * file's identities, most specific first (BINARY for its SHA-256, then
 * SIGNINGID, CERTIFICATE and TEAMID for the package that installed it:
 * docs/package-trust.md), then the blocked-path scope, then the
 * allowed-path scope, then the mode's default. CDHASH rules are stored and
 * synced but have nothing on Linux to match (docs/package-trust.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "santa/policy.h"

struct santa_scopes {
	pcre2_code *allowed;
	pcre2_code *blocked;
};

/* Santa anchors path regexes at the start: "^" is prepended when missing. */
static int
compile_scope(const char *pattern, pcre2_code **out, char *why, size_t why_size)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset = 0;
	char *anchored = NULL;
	int errcode = 0;

	*out = NULL;
	if (!pattern || !*pattern)
		return 0;
	if (pattern[0] != '^') {
		if (asprintf(&anchored, "^%s", pattern) < 0)
			return -ENOMEM;
		pattern = anchored;
	}
	*out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &errcode, &offset,
			     NULL);
	free(anchored);
	if (!*out) {
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		snprintf(why, why_size, "%s at offset %zu", (const char *)msg, (size_t)offset);
		return -EINVAL;
	}
	/* JIT where available; the interpreter is the fallback, so failure is fine. */
	(void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	return 0;
}

int
santa_scopes_new(const char *allowed, const char *blocked, struct santa_scopes **out,
		 char *why, size_t why_size)
{
	struct santa_scopes *s = calloc(1, sizeof(*s));
	char msg[300];
	int r;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	r = compile_scope(allowed, &s->allowed, msg, sizeof(msg));
	if (r < 0) {
		snprintf(why, why_size, "AllowedPathRegex: %s", msg);
		goto fail;
	}
	r = compile_scope(blocked, &s->blocked, msg, sizeof(msg));
	if (r < 0) {
		snprintf(why, why_size, "BlockedPathRegex: %s", msg);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	santa_scopes_free(s);
	return r;
}

void
santa_scopes_free(struct santa_scopes *s)
{
	if (!s)
		return;
	pcre2_code_free(s->allowed);
	pcre2_code_free(s->blocked);
	free(s);
}

static bool
scope_matches(const pcre2_code *re, const char *path)
{
	pcre2_match_data *md;
	int rc;

	if (!re || !path)
		return false;
	md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md)
		return false;
	rc = pcre2_match(re, (PCRE2_SPTR)path, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

/* Applies one rule of the given reason. Returns true when it decided. */
static bool
apply_rule(const struct santa_decide_input *in, const struct santa_rule_found *rule,
	   enum santa_reason reason, struct santa_decision *out)
{
	if (!rule)
		return false;
	out->from_rule = true;
	switch (rule->policy) {
	case SANTA_POLICY_ALLOWLIST:
		out->verdict = SANTA_VERDICT_ALLOW;
		out->reason = reason;
		return true;
	case SANTA_POLICY_ALLOWLIST_COMPILER:
		/* Without transitive rules a compiler rule is a plain allow rule. */
		out->verdict = SANTA_VERDICT_ALLOW;
		out->reason = in->transitive_rules_enabled ? SANTA_REASON_COMPILER : reason;
		return true;
	case SANTA_POLICY_ALLOWLIST_TRANSITIVE:
		/* Made by a compiler: honoured only while transitive rules are on. */
		if (!in->transitive_rules_enabled)
			break;
		out->verdict = SANTA_VERDICT_ALLOW;
		out->reason = SANTA_REASON_TRANSITIVE;
		return true;
	case SANTA_POLICY_SILENT_BLOCKLIST:
		out->silent = true;
		/* fall through */
	case SANTA_POLICY_BLOCKLIST:
		out->verdict = SANTA_VERDICT_DENY;
		out->reason = reason;
		return true;
	default:
		break; /* REMOVE or unknown: not a rule at all */
	}
	out->from_rule = false;
	out->silent = false;
	return false;
}

void
santa_decide(const struct santa_decide_input *in, struct santa_decision *out)
{
	memset(out, 0, sizeof(*out));
	if (apply_rule(in, in->binary_rule, SANTA_REASON_BINARY, out))
		return;
	if (in->pending_transitive && in->transitive_rules_enabled) {
		/*
		 * A compiler closed exactly this file (same inode, size and times)
		 * and its rule is being written: allowed as the rule will allow it.
		 * Its bytes are the compiler's output, so no package rule can apply.
		 */
		out->verdict = SANTA_VERDICT_ALLOW;
		out->reason = SANTA_REASON_PENDING_TRANSITIVE;
		return;
	}
	if (apply_rule(in, in->signingid_rule, SANTA_REASON_SIGNINGID, out) ||
	    apply_rule(in, in->certificate_rule, SANTA_REASON_CERT, out) ||
	    apply_rule(in, in->teamid_rule, SANTA_REASON_TEAMID, out))
		return;
	/* A path the kernel cannot print is made on purpose: a block scope cannot be dodged by it. */
	if (in->scopes && in->scopes->blocked &&
	    (in->path_unreadable || scope_matches(in->scopes->blocked, in->path))) {
		out->verdict = SANTA_VERDICT_DENY;
		out->reason = SANTA_REASON_SCOPE;
		out->explain = in->path_unreadable ? "Blocked Path Regex (path longer than PATH_MAX)"
						   : "Blocked Path Regex";
		return;
	}
	if (in->scopes && !in->path_unverified && !in->path_unreadable &&
	    scope_matches(in->scopes->allowed, in->path)) {
		out->verdict = SANTA_VERDICT_ALLOW;
		out->reason = SANTA_REASON_SCOPE;
		out->explain = "Allowed Path Regex";
		return;
	}
	out->reason = SANTA_REASON_UNKNOWN;
	out->verdict = in->mode == SANTA_MODE_LOCKDOWN ? SANTA_VERDICT_DENY : SANTA_VERDICT_ALLOW;
}

const char *
santa_verdict_to_string(enum santa_verdict verdict)
{
	return verdict == SANTA_VERDICT_DENY ? "DENY" : "ALLOW";
}
