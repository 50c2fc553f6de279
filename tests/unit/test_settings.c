/* santad's restart-only settings (src/santad/settings.c): what a reload names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "santa/config.h"
#include "settings.h"

/* The keys a reload to text names, santad having started on the defaults plus start_text. */
static size_t
changed(const char *start_text, const char *text, char *buf, size_t size)
{
	struct santa_config start, next;
	struct santad_start_settings s;
	size_t n;

	assert_int_equal(santa_config_init(&start, ""), 0);
	assert_int_equal(santa_config_init(&next, ""), 0);
	assert_int_equal(santa_config_load_string(&start, start_text, "start", NULL, NULL), 0);
	assert_int_equal(santa_config_load_string(&next, text, "next", NULL, NULL), 0);
	santad_start_settings_capture(&start, &s);
	n = santad_start_settings_changed(&s, &next, buf, size);
	santa_config_free(&next);
	santa_config_free(&start);
	return n;
}

static void
test_unchanged_and_live(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(changed("", "", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* Live settings are not the start settings' business. */
	assert_int_equal(changed("", "ClientMode = LOCKDOWN\nDecisionTimeoutMs = 500\nFailClosed = true\n",
				 buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "");
}

static void
test_names_each_key_in_order(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(changed("", "DecisionCacheSize = 1234\n", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "DecisionCacheSize");
	assert_int_equal(changed("", "DecisionCacheSize = 1234\nHashWorkerThreads = 3\n"
				     "WatchPaths = /srv\nPackageTrustKeyrings = /k.gpg\n",
				 buf, sizeof(buf)),
			 4);
	assert_string_equal(buf, "WatchPaths, HashWorkerThreads, DecisionCacheSize, PackageTrustKeyrings");
	/* Back to what santad started with: nothing to name. */
	assert_int_equal(changed("RulesDBPath = /x/rules.db\n", "RulesDBPath = /x/rules.db\n", buf,
				 sizeof(buf)),
			 0);
	assert_int_equal(changed("RulesDBPath = /x/rules.db\n", "", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "RulesDBPath");
}

static void
test_partly_live_keys(void **state)
{
	char buf[256];

	(void)state;
	/* EnableKernelIgnoreMarks: off is live, on needs the group made at start. */
	assert_int_equal(changed("", "EnableKernelIgnoreMarks = false\n", buf, sizeof(buf)), 0);
	assert_int_equal(changed("EnableKernelIgnoreMarks = false\n", "", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "EnableKernelIgnoreMarks");
	/* HelperDirectory: each helper starts from the live one. */
	assert_int_equal(changed("", "HelperDirectory = /elsewhere\n", buf, sizeof(buf)), 0);
}

static void
test_small_buffer(void **state)
{
	char buf[12];

	(void)state;
	assert_int_equal(changed("", "DecisionCacheSize = 1234\nHashWorkerThreads = 3\n", buf, sizeof(buf)),
			 2);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "HashWorkerT", sizeof(buf));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unchanged_and_live),
		cmocka_unit_test(test_names_each_key_in_order),
		cmocka_unit_test(test_partly_live_keys),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
