/* Santa's precedence: BINARY > SIGNINGID > CERTIFICATE > TEAMID > blocked scope > allowed scope > mode; and the decision cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "santa/policy.h"

static struct santa_decision
decide(const struct santa_rule_found *rule, enum santa_mode mode,
       const struct santa_scopes *scopes, const char *path, bool transitive)
{
	struct santa_decide_input in = {
		.path = path,
		.binary_rule = rule,
		.mode = mode,
		.scopes = scopes,
		.transitive_rules_enabled = transitive,
	};
	struct santa_decision d;

	santa_decide(&in, &d);
	return d;
}

static void
test_precedence(void **state)
{
	struct santa_rule_found allow = { .policy = SANTA_POLICY_ALLOWLIST };
	struct santa_rule_found block = { .policy = SANTA_POLICY_BLOCKLIST };
	struct santa_rule_found silent = { .policy = SANTA_POLICY_SILENT_BLOCKLIST };
	struct santa_rule_found compiler = { .policy = SANTA_POLICY_ALLOWLIST_COMPILER };
	struct santa_scopes *scopes;
	struct santa_decision d;
	char why[256];

	assert_int_equal(santa_scopes_new("/opt/ok/", "/tmp/", &scopes, why, sizeof(why)), 0);

	/* A rule beats both scopes and both modes. */
	d = decide(&allow, SANTA_MODE_LOCKDOWN, scopes, "/tmp/x", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
	assert_int_equal(d.reason, SANTA_REASON_BINARY);
	assert_true(d.from_rule);
	d = decide(&block, SANTA_MODE_MONITOR, scopes, "/opt/ok/x", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_int_equal(d.reason, SANTA_REASON_BINARY);
	assert_false(d.silent);
	d = decide(&silent, SANTA_MODE_MONITOR, NULL, "/x", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_true(d.silent);
	d = decide(&compiler, SANTA_MODE_LOCKDOWN, NULL, "/x", false);
	assert_int_equal(d.reason, SANTA_REASON_BINARY);
	d = decide(&compiler, SANTA_MODE_LOCKDOWN, NULL, "/x", true);
	assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
	assert_int_equal(d.reason, SANTA_REASON_COMPILER);

	/* Transitive rules count only while transitive rules are on; then they beat the scopes. */
	{
		struct santa_rule_found transitive = { .policy = SANTA_POLICY_ALLOWLIST_TRANSITIVE };
		struct santa_decide_input in = { .path = "/tmp/built", .mode = SANTA_MODE_LOCKDOWN,
						 .scopes = scopes, .transitive_rules_enabled = true };

		d = decide(&transitive, SANTA_MODE_LOCKDOWN, scopes, "/tmp/built", true);
		assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
		assert_int_equal(d.reason, SANTA_REASON_TRANSITIVE);
		d = decide(&transitive, SANTA_MODE_LOCKDOWN, NULL, "/x", false);
		assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
		assert_int_equal(d.reason, SANTA_REASON_UNKNOWN);
		/* Pending: allowed as the rule on its way will allow it, but a real rule wins. */
		in.pending_transitive = true;
		santa_decide(&in, &d);
		assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
		assert_int_equal(d.reason, SANTA_REASON_PENDING_TRANSITIVE);
		in.binary_rule = &block;
		santa_decide(&in, &d);
		assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
		in.binary_rule = NULL;
		in.transitive_rules_enabled = false;
		santa_decide(&in, &d);
		assert_int_equal(d.reason, SANTA_REASON_SCOPE);
	}

	/* The blocked scope applies in MONITOR too, and beats the allowed scope. */
	d = decide(NULL, SANTA_MODE_MONITOR, scopes, "/tmp/evil", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_int_equal(d.reason, SANTA_REASON_SCOPE);
	assert_string_equal(d.explain, "Blocked Path Regex");
	d = decide(NULL, SANTA_MODE_LOCKDOWN, scopes, "/opt/ok/tool", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
	assert_string_equal(d.explain, "Allowed Path Regex");
	/* Anchored: "/tmp/" matches at the start only. */
	d = decide(NULL, SANTA_MODE_MONITOR, scopes, "/home/tmp/x", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
	assert_int_equal(d.reason, SANTA_REASON_UNKNOWN);

	/* A path that may name another file (another namespace's mount) satisfies no allow scope... */
	{
		struct santa_decide_input in = { .path = "/opt/ok/tool", .mode = SANTA_MODE_LOCKDOWN,
						  .scopes = scopes, .path_unverified = true };

		santa_decide(&in, &d);
		assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
		assert_int_equal(d.reason, SANTA_REASON_UNKNOWN);
		/* ... but a block scope still sees it. */
		in.path = "/tmp/evil";
		in.mode = SANTA_MODE_MONITOR;
		santa_decide(&in, &d);
		assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
		assert_int_equal(d.reason, SANTA_REASON_SCOPE);
		/* No path at all (longer than PATH_MAX): a block scope applies, an allow scope does not. */
		in = (struct santa_decide_input){ .path = "", .mode = SANTA_MODE_MONITOR,
						  .scopes = scopes, .path_unreadable = true };
		santa_decide(&in, &d);
		assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
		assert_int_equal(d.reason, SANTA_REASON_SCOPE);
	}

	/* The mode decides the unknown. */
	d = decide(NULL, SANTA_MODE_LOCKDOWN, scopes, "/usr/bin/x", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_int_equal(d.reason, SANTA_REASON_UNKNOWN);
	assert_false(d.from_rule);
	d = decide(NULL, SANTA_MODE_LOCKDOWN, NULL, "/usr/bin/x", false);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_string_equal(santa_verdict_to_string(d.verdict), "DENY");
	santa_scopes_free(scopes);

	assert_int_equal(santa_scopes_new("(", NULL, &scopes, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "AllowedPathRegex"));
}

/* The package rules, each beaten by the more specific one, all beating the scopes. */
static void
test_signing_precedence(void **state)
{
	struct santa_rule_found allow = { .policy = SANTA_POLICY_ALLOWLIST };
	struct santa_rule_found block = { .policy = SANTA_POLICY_BLOCKLIST };
	struct santa_rule_found removed = { .policy = SANTA_POLICY_REMOVE };
	struct santa_rule_found compiler = { .policy = SANTA_POLICY_ALLOWLIST_COMPILER };
	struct santa_scopes *scopes;
	struct santa_decision d;
	char why[256];
	struct santa_decide_input in = { .path = "/tmp/x", .mode = SANTA_MODE_LOCKDOWN };

	(void)state;
	assert_int_equal(santa_scopes_new("/opt/ok/", "/tmp/", &scopes, why, sizeof(why)), 0);
	in.scopes = scopes;

	/* TEAMID alone beats the blocked scope. */
	in.teamid_rule = &allow;
	santa_decide(&in, &d);
	assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
	assert_int_equal(d.reason, SANTA_REASON_TEAMID);
	assert_true(d.from_rule);
	/* CERTIFICATE beats TEAMID. */
	in.certificate_rule = &block;
	santa_decide(&in, &d);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_int_equal(d.reason, SANTA_REASON_CERT);
	/* SIGNINGID beats CERTIFICATE. */
	in.signingid_rule = &allow;
	santa_decide(&in, &d);
	assert_int_equal(d.verdict, SANTA_VERDICT_ALLOW);
	assert_int_equal(d.reason, SANTA_REASON_SIGNINGID);
	/* BINARY beats them all. */
	in.binary_rule = &block;
	santa_decide(&in, &d);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_int_equal(d.reason, SANTA_REASON_BINARY);
	/* A REMOVE record is no rule: the next level decides. */
	in.binary_rule = &removed;
	in.signingid_rule = &removed;
	santa_decide(&in, &d);
	assert_int_equal(d.reason, SANTA_REASON_CERT);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	/* A compiler named by its package is a compiler once transitive rules are on. */
	in.signingid_rule = &compiler;
	santa_decide(&in, &d);
	assert_int_equal(d.reason, SANTA_REASON_SIGNINGID);
	in.transitive_rules_enabled = true;
	santa_decide(&in, &d);
	assert_int_equal(d.reason, SANTA_REASON_COMPILER);
	/* No rule at all: the scopes, then the mode. */
	in.binary_rule = in.signingid_rule = in.certificate_rule = in.teamid_rule = NULL;
	santa_decide(&in, &d);
	assert_int_equal(d.reason, SANTA_REASON_SCOPE);
	assert_int_equal(d.verdict, SANTA_VERDICT_DENY);
	assert_false(d.from_rule);
	santa_scopes_free(scopes);
}

static void
test_cache_hit_stale_flush_evict(void **state)
{
	struct decision_cache *c;
	struct decision_cache_stats st;
	struct santa_file_key k = { .dev = 8, .ino = 1234, .mtime_ns = 1, .ctime_ns = 2, .size = 3 };
	struct santa_cached v = { .decision = { .verdict = SANTA_VERDICT_DENY } }, out;
	size_t i;

	assert_int_equal(decision_cache_new(64, &c), 0);
	assert_false(decision_cache_lookup(c, &k, &out));
	decision_cache_insert(c, &k, &v);
	assert_true(decision_cache_lookup(c, &k, &out));
	assert_int_equal(out.decision.verdict, SANTA_VERDICT_DENY);

	/* The file was written: ctime moved. A miss, and the entry is gone. */
	k.ctime_ns = 5;
	assert_false(decision_cache_lookup(c, &k, &out));
	k.ctime_ns = 2;
	assert_false(decision_cache_lookup(c, &k, &out));

	decision_cache_insert(c, &k, &v);
	decision_cache_flush(c);
	assert_false(decision_cache_lookup(c, &k, &out));

	/* Bounded: many more files than capacity. */
	for (i = 0; i < 10000; i++) {
		k.ino = i;
		decision_cache_insert(c, &k, &v);
	}
	decision_cache_stats(c, &st);
	assert_int_equal(st.capacity, 64);
	assert_true(st.entries <= 64);
	assert_true(st.evictions >= 10000 - 64);
	assert_true(st.hits >= 1);
	assert_true(st.stale == 1);
	decision_cache_free(c);
}

/*
 * Santa's root and non-root cache counts: the entries on one device (the
 * root filesystem's) are counted through inserts, replacements, stale
 * lookups, evictions and flushes, and those made before the split too.
 */
static void
test_cache_split_by_dev(void **state)
{
	struct decision_cache *c;
	struct decision_cache_stats st;
	struct santa_file_key k = { .dev = 8, .ino = 1, .mtime_ns = 1, .ctime_ns = 2, .size = 3 };
	struct santa_cached v = { .decision = { .verdict = SANTA_VERDICT_ALLOW } }, out;
	size_t i, hits;

	assert_int_equal(decision_cache_new(64, &c), 0);
	for (i = 0; i < 3; i++) {
		k.ino = 100 + i;
		decision_cache_insert(c, &k, &v);
	}
	k.dev = 9;
	for (i = 0; i < 2; i++) {
		k.ino = 200 + i;
		decision_cache_insert(c, &k, &v);
	}
	decision_cache_split_by_dev(c, 8);
	decision_cache_stats(c, &st);
	assert_int_equal(st.entries, 5);
	assert_int_equal(st.entries_on_dev, 3);

	k.dev = 8;
	k.ino = 103;
	decision_cache_insert(c, &k, &v);
	decision_cache_insert(c, &k, &v); /* the same file again: replaced, not added */
	decision_cache_stats(c, &st);
	assert_int_equal(st.entries, 6);
	assert_int_equal(st.entries_on_dev, 4);

	k.ctime_ns = 7; /* written since: the stale entry goes */
	assert_false(decision_cache_lookup(c, &k, &out));
	k.ctime_ns = 2;
	decision_cache_stats(c, &st);
	assert_int_equal(st.entries, 5);
	assert_int_equal(st.entries_on_dev, 3);

	/* Files of another device evict some of dev 8's: the count follows. */
	k.dev = 9;
	for (i = 0; i < 10000; i++) {
		k.ino = 1000 + i;
		decision_cache_insert(c, &k, &v);
	}
	k.dev = 8;
	for (hits = 0, i = 0; i < 3; i++) {
		k.ino = 100 + i;
		hits += decision_cache_lookup(c, &k, &out);
	}
	decision_cache_stats(c, &st);
	assert_int_equal(st.entries_on_dev, hits);
	assert_true(st.entries_on_dev <= st.entries);

	decision_cache_flush(c);
	decision_cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.entries_on_dev, 0);
	decision_cache_insert(c, &k, &v);
	decision_cache_stats(c, &st);
	assert_int_equal(st.entries_on_dev, 1);
	decision_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_signing_precedence),
		cmocka_unit_test(test_cache_hit_stale_flush_evict),
		cmocka_unit_test(test_cache_split_by_dev),
	};

	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
