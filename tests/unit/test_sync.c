/*
 * lib/sync against Santa's own sync fixtures (tests/unit/data/sync) and the
 * protobuf-JSON rules of docs/sync-protocol.md section 2.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cmocka.h>
#include <zlib.h>

#include "santa/sync.h"

static char *
fixture(const char *name, size_t *len)
{
	char path[1024];
	const char *dir = getenv("SANTA_TEST_DATA");
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/sync/%s", dir ? dir : "tests/unit/data", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int
parse_pf(const char *json, struct sync_preflight *p, char *why)
{
	return sync_parse_preflight(json, strlen(json), p, why, 512);
}

static void
test_preflight_fixtures(void **state)
{
	struct sync_preflight p;
	char why[512];
	size_t len;
	char *body;

	body = fixture("sync_preflight_basic.json", &len);
	assert_int_equal(sync_parse_preflight(body, len, &p, why, sizeof(why)), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_MONITOR);
	assert_int_equal(p.batch_size, 100);
	/* null regexes: unchanged, not cleared */
	assert_false(p.allowed_path_regex_set);
	assert_false(p.blocked_path_regex_set);
	assert_false(p.sync_type_set);
	assert_int_equal(p.full_sync_interval, 600);
	sync_preflight_free(&p);
	free(body);

	body = fixture("sync_preflight_lockdown.json", &len);
	assert_int_equal(sync_parse_preflight(body, len, &p, why, sizeof(why)), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_LOCKDOWN);
	assert_false(p.allowed_path_regex_set);
	sync_preflight_free(&p);
	free(body);

	body = fixture("sync_preflight_turn_on_blockusb.json", &len);
	assert_int_equal(sync_parse_preflight(body, len, &p, why, sizeof(why)), 0);
	assert_true(p.block_usb_mount.set);
	assert_true(p.block_usb_mount.value);
	sync_preflight_free(&p);
	free(body);

	body = fixture("sync_preflight_turn_off_blockusb.json", &len);
	assert_int_equal(sync_parse_preflight(body, len, &p, why, sizeof(why)), 0);
	assert_true(p.block_usb_mount.set);
	assert_false(p.block_usb_mount.value);
	sync_preflight_free(&p);
	free(body);

	body = fixture("sync_preflight_blockusb_absent.json", &len);
	assert_int_equal(sync_parse_preflight(body, len, &p, why, sizeof(why)), 0);
	assert_false(p.block_usb_mount.set);
	sync_preflight_free(&p);
	free(body);
}

static void
test_preflight_spellings_and_errors(void **state)
{
	struct sync_preflight p;
	char why[512];

	/* camelCase, quoted numbers, legacy aliases */
	assert_int_equal(parse_pf("{\"clientMode\":2,\"batchSize\":\"7\",\"fullSyncIntervalSeconds\":120,"
				  "\"bundles_enabled\":true,\"enabled_transitive_whitelisting\":true,"
				  "\"whitelist_regex\":\"^/opt/\",\"blacklistRegex\":\"\"}", &p, why), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_LOCKDOWN);
	assert_int_equal(p.batch_size, 7);
	assert_int_equal(p.full_sync_interval, 120);
	assert_true(p.enable_bundles.set && p.enable_bundles.value);
	assert_true(p.enable_transitive_rules.set && p.enable_transitive_rules.value);
	assert_string_equal(p.allowed_path_regex, "^/opt/");
	/* "" is a value: it clears the server's override */
	assert_true(p.blocked_path_regex_set);
	assert_string_equal(p.blocked_path_regex, "");
	sync_preflight_free(&p);

	/* the new key wins over the deprecated one */
	assert_int_equal(parse_pf("{\"enable_transitive_rules\":false,"
				  "\"transitive_whitelisting_enabled\":true}", &p, why), 0);
	assert_true(p.enable_transitive_rules.set);
	assert_false(p.enable_transitive_rules.value);
	sync_preflight_free(&p);

	/* intervals under 60 s become 600, batch 0 becomes 50 */
	assert_int_equal(parse_pf("{\"full_sync_interval\":59,\"batch_size\":0}", &p, why), 0);
	assert_int_equal(p.full_sync_interval, 600);
	assert_int_equal(p.batch_size, 50);
	sync_preflight_free(&p);

	/* unknown enum names: client_mode unchanged, optional sync_type unset, both reported */
	assert_int_equal(parse_pf("{\"client_mode\":\"strict\",\"sync_type\":\"foo\"}", &p, why), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_UNKNOWN);
	assert_false(p.sync_type_set);
	assert_int_equal(p.ignored.n, 2);
	assert_non_null(strstr(p.ignored.text[0], "client_mode \"strict\""));
	assert_non_null(strstr(p.ignored.text[1], "sync_type \"foo\""));
	sync_preflight_free(&p);
	/* ... but UNKNOWN_CLIENT_MODE (0) means "unchanged" on purpose: nothing to report */
	assert_int_equal(parse_pf("{\"client_mode\":0}", &p, why), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_UNKNOWN);
	assert_int_equal(p.ignored.n, 0);
	sync_preflight_free(&p);
	assert_int_equal(parse_pf("{\"sync_type\":\"clean_all\"}", &p, why), 0);
	assert_true(p.sync_type_set);
	assert_int_equal(p.sync_type, SYNC_TYPE_CLEAN_ALL);
	sync_preflight_free(&p);

	/* XSSI prefixes and empty bodies */
	assert_int_equal(parse_pf(")]}'\n{\"client_mode\":\"LOCKDOWN\"}", &p, why), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_LOCKDOWN);
	sync_preflight_free(&p);
	assert_int_equal(parse_pf("])}{\"batch_size\":3}", &p, why), 0);
	assert_int_equal(p.batch_size, 3);
	sync_preflight_free(&p);
	assert_int_equal(parse_pf("", &p, why), 0);
	assert_int_equal(p.batch_size, 50);
	sync_preflight_free(&p);

	/* errors name the stage and the field */
	assert_int_equal(parse_pf("{\"batch_size\":-1}", &p, why), -EBADMSG);
	assert_non_null(strstr(why, "preflight: batch_size"));
	assert_int_equal(parse_pf("{\"batch_size\":1.5}", &p, why), -EBADMSG);
	assert_int_equal(parse_pf("{\"batch_size\":4294967296}", &p, why), -EBADMSG);
	assert_int_equal(parse_pf("{\"enable_bundles\":\"true\"}", &p, why), -EBADMSG);
	assert_non_null(strstr(why, "enable_bundles"));
	assert_int_equal(parse_pf("{\"client_mode\":1,\"clientMode\":2}", &p, why), -EBADMSG);
	assert_non_null(strstr(why, "given twice"));
	assert_int_equal(parse_pf("{\"allowed_path_regex\":5}", &p, why), -EBADMSG);
	assert_int_equal(parse_pf("[1]", &p, why), -EBADMSG);
	assert_int_equal(parse_pf("{} trailing", &p, why), -EBADMSG);
	assert_int_equal(parse_pf("{\"a\":1,\"a\":2}", &p, why), -EBADMSG);
}

static void
test_clean_sync_resolution(void **state)
{
	struct sync_preflight p = { 0 };

	/* docs/sync-protocol.md 4.1: the server wins, except CLEAN never downgrades CLEAN_ALL */
	assert_int_equal(sync_resolve_type(&p, SYNC_TYPE_CLEAN_ALL), SYNC_TYPE_NORMAL);
	p.clean_sync = (struct sync_opt_bool){ true, true };
	assert_int_equal(sync_resolve_type(&p, SYNC_TYPE_NORMAL), SYNC_TYPE_CLEAN);
	assert_int_equal(sync_resolve_type(&p, SYNC_TYPE_CLEAN), SYNC_TYPE_CLEAN);
	assert_int_equal(sync_resolve_type(&p, SYNC_TYPE_CLEAN_ALL), SYNC_TYPE_CLEAN_ALL);
	p.sync_type_set = true;
	p.sync_type = SYNC_TYPE_NORMAL; /* sync_type present: clean_sync ignored */
	assert_int_equal(sync_resolve_type(&p, SYNC_TYPE_CLEAN), SYNC_TYPE_NORMAL);
	p.sync_type = SYNC_TYPE_CLEAN_ALL;
	assert_int_equal(sync_resolve_type(&p, SYNC_TYPE_NORMAL), SYNC_TYPE_CLEAN_ALL);
}

static void
test_ruledownload_fixtures(void **state)
{
	struct sync_rule_page page;
	char why[512];
	size_t len;
	char *body;

	body = fixture("sync_ruledownload_batch1.json", &len);
	assert_int_equal(sync_parse_ruledownload(body, len, &page, why, sizeof(why)), 0);
	assert_int_equal(page.n, 2);
	assert_string_equal(page.cursor, "this-is-a-cursor=");
	assert_int_equal(page.rules[0].type, SANTA_RULE_TYPE_BINARY);
	assert_int_equal(page.rules[0].policy, SANTA_POLICY_BLOCKLIST);
	assert_string_equal(page.rules[0].identifier,
			    "ee382e199f7eda58863a93a7854b930ade35798bc6856ee8e6ab6ce9277f0eab");
	assert_int_equal(page.rules[1].type, SANTA_RULE_TYPE_CERTIFICATE);
	assert_int_equal(page.rules[1].policy, SANTA_POLICY_ALLOWLIST);
	sync_rule_page_free(&page);
	free(body);

	body = fixture("sync_ruledownload_batch2.json", &len);
	assert_int_equal(sync_parse_ruledownload(body, len, &page, why, sizeof(why)), 0);
	assert_int_equal(page.n, 2);
	assert_null(page.cursor);
	assert_int_equal(page.rules[0].policy, SANTA_POLICY_BLOCKLIST); /* legacy BLACKLIST */
	assert_string_equal(page.rules[0].custom_msg, "Hi There");
	assert_int_equal(page.rules[1].type, SANTA_RULE_TYPE_TEAMID);
	assert_string_equal(page.rules[1].identifier, "AAAAAAAAAA");
	assert_string_equal(page.rules[1].custom_msg, "Banned team ID");
	sync_rule_page_free(&page);
	free(body);
}

static void
test_ruledownload_validation(void **state)
{
	struct sync_rule_page page;
	char why[512];
	const char *body =
		"{\"rules\":["
		"{\"rule_type\":\"BINARY\",\"policy\":\"blocklisted\",\"identifier\":\"" /* unknown */
		"ee382e199f7eda58863a93a7854b930ade35798bc6856ee8e6ab6ce9277f0eab\"},"
		"{\"rule_type\":\"BINARY\",\"policy\":\"ALLOWLIST\",\"identifier\":\"\"},"
		"{\"rule_type\":\"BINARY\",\"policy\":\"ALLOWLIST\",\"identifier\":\"abc\"},"
		"{\"rule_type\":1,\"policy\":\"3\",\"identifier\":"
		"\"EE382E199F7EDA58863A93A7854B930ADE35798BC6856EE8E6AB6CE9277F0EAB\"},"
		"{\"ruleType\":\"TEAMID\",\"policy\":\"SILENT_BLACKLIST\",\"identifier\":\"abcdefghij\","
		"\"customUrl\":\"null\"}"
		"],\"cursor\":\"c\"}";

	assert_int_equal(sync_parse_ruledownload(body, strlen(body), &page, why, sizeof(why)), 0);
	assert_int_equal(page.received, 5);
	assert_int_equal(page.skipped, 3);
	assert_int_equal(page.n, 2);
	/* each skipped rule is named with its reason */
	assert_int_equal(page.ignored.n, 3);
	assert_non_null(strstr(page.ignored.text[0], "rules[0]"));
	assert_non_null(strstr(page.ignored.text[0], "unknown policy \"blocklisted\""));
	assert_non_null(strstr(page.ignored.text[1], "rules[1] no identifier"));
	assert_non_null(strstr(page.ignored.text[2], "rules[2] abc: not a valid BINARY identifier"));
	/* normalised as SNTRule does, so lookups match */
	assert_string_equal(page.rules[0].identifier,
			    "ee382e199f7eda58863a93a7854b930ade35798bc6856ee8e6ab6ce9277f0eab");
	assert_int_equal(page.rules[0].policy, SANTA_POLICY_BLOCKLIST);
	assert_string_equal(page.rules[1].identifier, "ABCDEFGHIJ");
	assert_int_equal(page.rules[1].policy, SANTA_POLICY_SILENT_BLOCKLIST);
	assert_string_equal(page.rules[1].custom_url, "null");
	sync_rule_page_free(&page);

	assert_int_equal(sync_parse_ruledownload("{\"rules\":[null]}", 16, &page, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "null inside a list"));
	assert_int_equal(sync_parse_ruledownload("{\"rules\":{}}", 12, &page, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "ruledownload: rules"));
	assert_int_equal(sync_parse_ruledownload("{\"cursor\":7}", 12, &page, why, sizeof(why)),
			 -EBADMSG);
	assert_int_equal(sync_parse_ruledownload("{\"rules\":[5]}", 13, &page, why, sizeof(why)),
			 -EBADMSG);
}

/* Servers send enum names in any case; each is the name it spells (issue 25). */
static void
test_enum_names_in_any_case(void **state)
{
	struct sync_rule_page page;
	struct sync_preflight p;
	char why[512];
	const char *body =
		"{\"rules\":["
		"{\"rule_type\":\"binary\",\"policy\":\"allowlist\",\"identifier\":\""
		"ee382e199f7eda58863a93a7854b930ade35798bc6856ee8e6ab6ce9277f0eab\"},"
		"{\"rule_type\":\"TeamID\",\"policy\":\"Silent_Blacklist\",\"identifier\":\"abcdefghij\"},"
		"{\"ruleType\":\"Certificate\",\"policy\":\"whitelist_compiler\",\"identifier\":\""
		"46f8c706d0533a54554af5fc163eea704f10c08b30f8a5db12bfdc04fb382fc3\"},"
		"{\"rule_type\":\"BINARY\",\"policy\":\"remove\",\"identifier\":\""
		"ee382e199f7eda58863a93a7854b930ade35798bc6856ee8e6ab6ce9277f0eab\"},"
		"{\"rule_type\":\"binaries\",\"policy\":\"BLOCKLIST\",\"identifier\":\"x\"}"
		"]}";

	assert_int_equal(sync_parse_ruledownload(body, strlen(body), &page, why, sizeof(why)), 0);
	assert_int_equal(page.received, 5);
	assert_int_equal(page.n, 4);
	assert_int_equal(page.rules[0].type, SANTA_RULE_TYPE_BINARY);
	assert_int_equal(page.rules[0].policy, SANTA_POLICY_ALLOWLIST);
	assert_int_equal(page.rules[1].type, SANTA_RULE_TYPE_TEAMID);
	assert_int_equal(page.rules[1].policy, SANTA_POLICY_SILENT_BLOCKLIST);
	assert_int_equal(page.rules[2].type, SANTA_RULE_TYPE_CERTIFICATE);
	assert_int_equal(page.rules[2].policy, SANTA_POLICY_ALLOWLIST_COMPILER);
	assert_int_equal(page.rules[3].policy, SANTA_POLICY_REMOVE);
	/* a name that is no rule type in any case: skipped and said */
	assert_int_equal(page.skipped, 1);
	assert_int_equal(page.ignored.n, 1);
	assert_non_null(strstr(page.ignored.text[0], "rules[4] x: unknown rule_type \"binaries\""));
	sync_rule_page_free(&page);

	assert_int_equal(parse_pf("{\"client_mode\":\"lockdown\",\"sync_type\":\"Clean_All\"}", &p, why), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_LOCKDOWN);
	assert_true(p.sync_type_set);
	assert_int_equal(p.sync_type, SYNC_TYPE_CLEAN_ALL);
	assert_int_equal(p.ignored.n, 0);
	sync_preflight_free(&p);
	assert_int_equal(parse_pf("{\"clientMode\":\"Monitor\",\"sync_type\":\"normal\"}", &p, why), 0);
	assert_int_equal(p.client_mode, SANTA_MODE_MONITOR);
	assert_int_equal(p.sync_type, SYNC_TYPE_NORMAL);
	sync_preflight_free(&p);
}

/* 2^32-1 s would stop periodic syncs: the interval is cut to 7 days, and that is said. */
static void
test_full_sync_interval_bounds(void **state)
{
	struct sync_preflight p;
	char why[512];

	assert_int_equal(parse_pf("{\"full_sync_interval\":4294967295}", &p, why), 0);
	assert_int_equal(p.full_sync_interval, SYNC_MAX_FULL_SYNC_INTERVAL);
	assert_int_equal(SYNC_MAX_FULL_SYNC_INTERVAL, 604800);
	assert_int_equal(p.ignored.n, 1);
	assert_non_null(strstr(p.ignored.text[0], "full_sync_interval 4294967295 s"));
	sync_preflight_free(&p);
	assert_int_equal(parse_pf("{\"full_sync_interval\":604800}", &p, why), 0);
	assert_int_equal(p.full_sync_interval, 604800);
	assert_int_equal(p.ignored.n, 0);
	sync_preflight_free(&p);
	assert_int_equal(parse_pf("{\"full_sync_interval\":60}", &p, why), 0);
	assert_int_equal(p.full_sync_interval, 60);
	sync_preflight_free(&p);
}

static long
max_rss_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/* n copies of item, comma-separated, between head and tail. */
static char *
repeated(const char *head, const char *item, size_t n, const char *tail, size_t *len)
{
	size_t hl = strlen(head), il = strlen(item), tl = strlen(tail), i;
	char *buf = malloc(hl + n * (il + 1) + tl + 1), *p = buf;

	assert_non_null(buf);
	memcpy(p, head, hl);
	p += hl;
	for (i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		memcpy(p, item, il);
		p += il;
	}
	memcpy(p, tail, tl);
	p += tl;
	*p = '\0';
	*len = (size_t)(p - buf);
	return buf;
}

/*
 * Issue 25: 63 MB of "{}," cost 4.8 GB because the whole tree was built before
 * the rules cap was checked. Now a rule download is read one rule at a time
 * and every other tree is measured before jansson builds it.
 */
static void
test_parse_memory_is_bounded(void **state)
{
	struct sync_rule_page page;
	struct sync_preflight p;
	char why[512], **hashes;
	size_t len, n;
	long before, grew;
	char *body;

	/* 16 MB of empty rules: refused at the rules cap, memory flat */
	body = repeated("{\"rules\":[", "{}", (16u << 20) / 3, "]}", &len);
	before = max_rss_kib();
	assert_int_equal(sync_parse_ruledownload(body, len, &page, why, sizeof(why)), -EBADMSG);
	grew = max_rss_kib() - before;
	print_message("ruledownload of %zu bytes of {}: peak RSS grew %ld KiB\n", len, grew);
	assert_non_null(strstr(why, "more than 200000 rules in one response"));
	assert_true(grew < 128 * 1024);
	free(body);

	/* the same under a key nobody knows, in each stage */
	body = repeated("{\"junk\":[", "{}", 4u << 20, "]}", &len);
	before = max_rss_kib();
	assert_int_equal(sync_parse_ruledownload(body, len, &page, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "ruledownload: junk: about"));
	assert_int_equal(sync_parse_preflight(body, len, &p, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "preflight: response of about"));
	assert_int_equal(sync_parse_eventupload(body, len, &hashes, &n, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "eventupload: response of about"));
	grew = max_rss_kib() - before;
	print_message("three stages of %zu bytes under an unknown key: peak RSS grew %ld KiB\n",
		      len, grew);
	assert_true(grew < 128 * 1024);
	free(body);

	/* one rule may not hide a tree either */
	body = repeated("{\"rules\":[{\"identifier\":\"x\",\"junk\":[", "1", 1000, "]}]}", &len);
	assert_int_equal(sync_parse_ruledownload(body, len, &page, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "ruledownload: rules[0]: about"));
	free(body);

	/* the cap itself: 200,000 rules pass, one more does not */
	body = repeated("{\"rules\":[", "{}", SYNC_MAX_RULES_PER_PAGE, "]}", &len);
	assert_int_equal(sync_parse_ruledownload(body, len, &page, why, sizeof(why)), 0);
	assert_int_equal(page.received, SYNC_MAX_RULES_PER_PAGE);
	assert_int_equal(page.skipped, SYNC_MAX_RULES_PER_PAGE);
	assert_int_equal(page.ignored.n, SYNC_MAX_RULES_PER_PAGE);
	assert_non_null(strstr(page.ignored.text[0], "rules[0] no identifier"));
	sync_rule_page_free(&page);
	free(body);
	body = repeated("{\"rules\":[", "{}", SYNC_MAX_RULES_PER_PAGE + 1, "]}", &len);
	assert_int_equal(sync_parse_ruledownload(body, len, &page, why, sizeof(why)), -EBADMSG);
	free(body);
}

/* Read one value at a time, a rule download is still JSON as jansson reads it. */
static void
test_ruledownload_json_syntax(void **state)
{
	static const char *const bad[] = {
		"{", "{\"rules\":[", "{\"rules\":[{}", "{\"rules\":[{},]}", "{\"rules\":[{}]",
		"{\"rules\":[] x", "{\"rules\":[]}}", "{\"rules\" []}", "{\"rules\":[],}",
		"{,}", "{\"cursor\":\"a\"\"rules\":[]}", "{\"rules\":[{\"a\":1,\"a\":2}]}",
		"{\"cursor\":nul}", "{\"cursor\":\"abc}", "{\"rules\":[\"\\\"]}", "{rules:[]}",
		"{\"rules\":[],\"rules\":[]}", "{\"cursor\":\"a\",\"cursor\":\"b\"}", "[]", "5",
		"{\"rules\":[{}]} {}",
	};
	struct sync_rule_page page;
	char why[512];
	const char *good = " )]}'\n";
	const char *ok =
		"\n{ \"x\" : [ {\"y\": \"]}\\\"\" } ] ,\"rules\" : [ { \"identifier\" : \"AAAAAAAAAA\" ,"
		" \"rule_type\" : 3 , \"policy\" : 1 } ] , \"cursor\" : null , \"n\" : -1.5e3 } \n";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = sync_parse_ruledownload(bad[i], strlen(bad[i]), &page, why, sizeof(why));

		if (r != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(why, "ruledownload: "));
	}
	assert_int_equal(sync_parse_ruledownload(ok, strlen(ok), &page, why, sizeof(why)), 0);
	assert_int_equal(page.n, 1);
	assert_string_equal(page.rules[0].identifier, "AAAAAAAAAA");
	assert_null(page.cursor);
	sync_rule_page_free(&page);
	/* XSSI prefix, then an empty body: all defaults */
	assert_int_equal(sync_parse_ruledownload(good + 1, 5, &page, why, sizeof(why)), 0);
	assert_int_equal(page.n, 0);
}

static void
test_rule_line_round_trip(void **state)
{
	struct sync_rule in = { .identifier = "AAAAAAAAAA", .type = SANTA_RULE_TYPE_TEAMID,
				.policy = SANTA_POLICY_BLOCKLIST, .custom_msg = "line\nbreak|pipe",
				.custom_url = "https://x/%file_sha%" };
	struct sync_rule out;
	char why[256];
	char *line = sync_rule_to_line(&in);

	assert_non_null(line);
	assert_int_equal(line[strlen(line) - 1], '\n');
	assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1); /* one line, whatever the message holds */
	assert_int_equal(sync_rule_from_line(line, strlen(line) - 1, &out, why, sizeof(why)), 0);
	assert_string_equal(out.identifier, in.identifier);
	assert_int_equal(out.type, in.type);
	assert_int_equal(out.policy, in.policy);
	assert_string_equal(out.custom_msg, in.custom_msg);
	assert_string_equal(out.custom_url, in.custom_url);
	sync_rule_free(&out);
	free(line);
	assert_int_equal(sync_rule_from_line("{\"identifier\":\"x\",\"rule_type\":9,\"policy\":1}", 44,
					     &out, why, sizeof(why)), -EBADMSG);
	assert_int_equal(sync_rule_from_line("garbage", 7, &out, why, sizeof(why)), -EBADMSG);
}

static void
test_preflight_request_matches_santa(void **state)
{
	struct sync_machine_info m = {
		.serial_num = "QYGF4QM373",
		.hostname = "full-hostname.example.com",
		.os_version = "14.5",
		.os_build = "23F79",
		.model_identifier = "MacBookPro18,3",
		.santa_version = "2024.6.655965194",
		.primary_user = "username1",
		.client_mode = SANTA_MODE_MONITOR,
		.machine_id = "50C7E1EB-2EF5-42D4-A084-A7966FC45A95",
	};
	char *want, *got;
	size_t len;

	want = fixture("sync_preflight_request.json", &len);
	got = sync_preflight_request(&m);
	assert_non_null(got);
	/* Byte for byte: compact, Santa's field order, zero counts omitted. */
	assert_string_equal(got, want);
	free(got);
	free(want);

	m.request_clean_sync = true;
	m.binary_rule_count = 3;
	got = sync_preflight_request(&m);
	assert_non_null(strstr(got, "\"client_mode\":\"MONITOR\",\"request_clean_sync\":true,"
				    "\"binary_rule_count\":3,\"machine_id\""));
	free(got);
}

static void
test_other_requests(void **state)
{
	const char *events[] = { "{\"file_name\":\"yes\",\"decision\":\"BLOCK_BINARY\"}", "not json",
				 "{\"file_name\":\"hub\"}" };
	char *s;

	s = sync_eventupload_request(events, 3, "m1");
	assert_string_equal(s, "{\"events\":[{\"file_name\":\"yes\",\"decision\":\"BLOCK_BINARY\"},"
			       "{\"file_name\":\"hub\"}],\"machine_id\":\"m1\"}");
	free(s);
	s = sync_ruledownload_request(NULL, "m1");
	assert_string_equal(s, "{\"machine_id\":\"m1\"}");
	free(s);
	s = sync_ruledownload_request("c=", "m1");
	assert_string_equal(s, "{\"cursor\":\"c=\",\"machine_id\":\"m1\"}");
	free(s);
	s = sync_postflight_request(0, 0, "m1");
	assert_string_equal(s, "{\"machine_id\":\"m1\"}");
	free(s);
	s = sync_postflight_request(5, 4, "m1");
	assert_string_equal(s, "{\"rules_received\":5,\"rules_processed\":4,\"machine_id\":\"m1\"}");
	free(s);
}

/* Santa's deflate is zlib-wrapped (78 9c), its gzip a gzip stream: both decode to the body. */
static void
test_compression_matches_fixtures(void **state)
{
	char *json, *santa_z;
	size_t json_len, z_len, out_len;
	unsigned char plain[4096];
	uLongf plain_len = sizeof(plain);
	void *out;

	json = fixture("sync_preflight_basic.json", &json_len);
	santa_z = fixture("sync_preflight_basic.z", &z_len);
	assert_int_equal(sync_compress(json, json_len, SANTA_ENCODING_DEFLATE, &out, &out_len), 0);
	/* Same zlib, same level: the same bytes as Santa's client wrote. */
	assert_int_equal(out_len, z_len);
	assert_memory_equal(out, santa_z, z_len);
	free(out);
	free(santa_z);

	assert_int_equal(sync_compress(json, json_len, SANTA_ENCODING_GZIP, &out, &out_len), 0);
	assert_int_equal(((unsigned char *)out)[0], 0x1f);
	assert_int_equal(((unsigned char *)out)[1], 0x8b);
	{
		z_stream zs = { 0 };

		assert_int_equal(inflateInit2(&zs, 31), Z_OK);
		zs.next_in = out;
		zs.avail_in = (uInt)out_len;
		zs.next_out = plain;
		zs.avail_out = (uInt)plain_len;
		assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
		assert_int_equal(zs.total_out, json_len);
		assert_memory_equal(plain, json, json_len);
		inflateEnd(&zs);
	}
	free(out);
	free(json);
}

/* The next full sync: the interval after a success, 60 s doubling after failures, capped. */
static void
test_schedule(void **state)
{
	assert_int_equal(sync_next_delay(true, 0, 3600), 3600);
	assert_int_equal(sync_next_delay(true, 0, 0), SYNC_DEFAULT_FULL_SYNC_INTERVAL);
	assert_int_equal(sync_next_delay(false, 1, 3600), 60);
	assert_int_equal(sync_next_delay(false, 2, 3600), 120);
	assert_int_equal(sync_next_delay(false, 3, 3600), 240);
	assert_int_equal(sync_next_delay(false, 4, 3600), 480);
	assert_int_equal(sync_next_delay(false, 5, 3600), 960);
	assert_int_equal(sync_next_delay(false, 50, 3600), 960);
	/* Never longer than a normal interval. */
	assert_int_equal(sync_next_delay(false, 5, 600), 600);
	assert_int_equal(sync_next_delay(false, 5, 0), SYNC_DEFAULT_FULL_SYNC_INTERVAL);
	assert_int_equal(sync_next_delay(false, 1, 30), 30);
	/* Jitter: up to half the interval, never less than it. */
	assert_int_equal(sync_jittered_usec(600000000, 0), 600000000);
	assert_int_equal(sync_jittered_usec(600000000, 299999999), 899999999);
	assert_int_equal(sync_jittered_usec(600000000, 300000000), 600000000);
	assert_int_equal(sync_jittered_usec(1, 12345), 1);
	assert_int_equal(sync_jittered_usec(0, 7), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_preflight_fixtures),
		cmocka_unit_test(test_preflight_spellings_and_errors),
		cmocka_unit_test(test_clean_sync_resolution),
		cmocka_unit_test(test_ruledownload_fixtures),
		cmocka_unit_test(test_ruledownload_validation),
		cmocka_unit_test(test_enum_names_in_any_case),
		cmocka_unit_test(test_full_sync_interval_bounds),
		cmocka_unit_test(test_parse_memory_is_bounded),
		cmocka_unit_test(test_ruledownload_json_syntax),
		cmocka_unit_test(test_rule_line_round_trip),
		cmocka_unit_test(test_preflight_request_matches_santa),
		cmocka_unit_test(test_other_requests),
		cmocka_unit_test(test_compression_matches_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
