/* Santa's names for modes, rule types, policies and reasons. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "santa/types.h"

static void
test_modes(void **state)
{
	assert_int_equal(santa_mode_from_string("LOCKDOWN"), SANTA_MODE_LOCKDOWN);
	assert_int_equal(santa_mode_from_string("monitor"), SANTA_MODE_MONITOR);
	assert_int_equal(santa_mode_from_string("2"), SANTA_MODE_LOCKDOWN);
	assert_int_equal(santa_mode_from_string("3"), SANTA_MODE_UNKNOWN);
	assert_string_equal(santa_mode_to_string(SANTA_MODE_MONITOR), "Monitor");
	assert_string_equal(santa_mode_to_string(SANTA_MODE_LOCKDOWN), "Lockdown");
}

static void
test_rule_types(void **state)
{
	int t;

	for (t = SANTA_RULE_TYPE_BINARY; t <= SANTA_RULE_TYPE_MAX; t++)
		assert_int_equal(santa_rule_type_from_string(santa_rule_type_to_string(t), false),
				 t);
	/* The sync protocol is upper-case only; config files may be lenient. */
	assert_int_equal(santa_rule_type_from_string("binary", false), SANTA_RULE_TYPE_UNKNOWN);
	assert_int_equal(santa_rule_type_from_string("binary", true), SANTA_RULE_TYPE_BINARY);
	assert_int_equal(santa_rule_type_from_string("3", false), SANTA_RULE_TYPE_TEAMID);
	assert_int_equal(santa_rule_type_from_string("6", false), SANTA_RULE_TYPE_UNKNOWN);
	assert_int_equal(santa_rule_type_from_string("", false), SANTA_RULE_TYPE_UNKNOWN);
}

static void
test_policies_and_legacy_names(void **state)
{
	int p;

	for (p = SANTA_POLICY_ALLOWLIST; p <= SANTA_POLICY_MAX; p++)
		assert_int_equal(santa_policy_from_string(santa_policy_to_string(p), false), p);
	assert_int_equal(santa_policy_from_string("BLACKLIST", false), SANTA_POLICY_BLOCKLIST);
	assert_int_equal(santa_policy_from_string("WHITELIST_COMPILER", false),
			 SANTA_POLICY_ALLOWLIST_COMPILER);
	assert_int_equal(santa_policy_from_string("SILENT_BLACKLIST", false),
			 SANTA_POLICY_SILENT_BLOCKLIST);
	assert_int_equal(santa_policy_from_string("blocklist", false), SANTA_POLICY_UNKNOWN);
	assert_int_equal(santa_policy_from_string("5", false), SANTA_POLICY_REMOVE);
}

static void
test_reasons(void **state)
{
	assert_string_equal(santa_reason_to_string(SANTA_REASON_BINARY), "BINARY");
	assert_string_equal(santa_reason_to_string(SANTA_REASON_PENDING_TRANSITIVE),
			    "PENDING_TRANSITIVE");
	assert_string_equal(santa_reason_to_string(SANTA_REASON_TIMEOUT), "TIMEOUT");
	assert_string_equal(santa_reason_to_string((enum santa_reason)999), "NOTRUNNING");
}

static void
test_identifier_normalization(void **state)
{
	char sha[] = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
	char team[] = "eqhxz8m8av";
	char signing[] = "EQHXZ8M8AV:com.Example.App";
	char cdhash[] = "DEADBEEFDEADBEEFDEADBEEFDEADBEEFDEADBEEF";
	char short_sha[] = "abc";
	char bad_sha[] = "zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char bad_signing[] = "nocolon";

	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_BINARY, sha), 0);
	assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_TEAMID, team), 0);
	assert_string_equal(team, "EQHXZ8M8AV");
	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_SIGNINGID, signing), 0);
	assert_string_equal(signing, "EQHXZ8M8AV:com.Example.App");
	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_CDHASH, cdhash), 0);
	assert_string_equal(cdhash, "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef");
	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_BINARY, short_sha), -EINVAL);
	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_BINARY, bad_sha), -EINVAL);
	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_SIGNINGID, bad_signing),
			 -EINVAL);
	assert_int_equal(santa_rule_identifier_normalize(SANTA_RULE_TYPE_UNKNOWN, sha), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_rule_types),
		cmocka_unit_test(test_policies_and_legacy_names),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_identifier_normalization),
	};

	return cmocka_run_group_tests_name("types", tests, NULL, NULL);
}
