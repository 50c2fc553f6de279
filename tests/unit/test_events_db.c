/* events.db: bounded, ordered, deleted only when asked, kept across reopen. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "santa/events_db.h"

static char tmpdir[] = "/tmp/santa-eventsdb-XXXXXX";

#include "test_tmpdir.h"

static void
test_add_fetch_delete_reopen(void **state)
{
	const char *events[] = { "{\"file_name\":\"a\"}", "{\"file_name\":\"b\"}",
				 "{\"file_name\":\"c\"}" };
	struct stored_event got[8];
	struct events_db *db;
	char path[256], why[512];
	int64_t ids[2];
	int n;

	snprintf(path, sizeof(path), "%s/events.db", tmpdir);
	assert_int_equal(events_db_open(path, 100, &db, why, sizeof(why)), 0);
	assert_int_equal(events_db_add(db, events, 3), 0);
	assert_int_equal(events_db_count(db), 3);
	n = events_db_fetch(db, 0, 2, got);
	assert_int_equal(n, 2);
	assert_string_equal(got[0].json, events[0]);
	assert_string_equal(got[1].json, events[1]);
	ids[0] = got[0].id;
	ids[1] = got[1].id;
	n = events_db_fetch(db, got[1].id, 8, got + 2);
	assert_int_equal(n, 1);
	assert_string_equal(got[2].json, events[2]);
	stored_events_free(got, 3);
	/* Only what the server accepted goes. */
	assert_int_equal(events_db_delete(db, ids, 2), 0);
	events_db_close(db);
	assert_int_equal(events_db_open(path, 100, &db, why, sizeof(why)), 0);
	assert_int_equal(events_db_count(db), 1);
	n = events_db_fetch(db, 0, 8, got);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].json, events[2]);
	stored_events_free(got, 1);
	events_db_close(db);
}

/* A bundle hashed after the block: its fields, and each event's path inside it. */
static void
test_annotate_bundle(void **state)
{
	const char *events[] = {
		"{\"file_sha256\":\"aa\",\"file_path\":\"/opt/app/bin\",\"file_name\":\"tool\"}",
		"{\"file_sha256\":\"aa\",\"file_path\":\"/tmp\",\"file_name\":\"tool\"}",
		"{\"file_sha256\":\"aa\",\"file_path\":\"/opt/application\",\"file_name\":\"x\"}",
		"{\"file_sha256\":\"bb\",\"file_path\":\"/opt/app\",\"file_name\":\"other\"}",
	};
	struct stored_event got[8];
	struct events_db *db;
	char path[256], why[512];
	int n;

	snprintf(path, sizeof(path), "%s/annotate.db", tmpdir);
	assert_int_equal(events_db_open(path, 100, &db, why, sizeof(why)), 0);
	assert_int_equal(events_db_add(db, events, 4), 0);
	assert_int_equal(events_db_annotate(db, "aa", "{\"file_bundle_name\":\"app\"}", "/opt/app"), 3);
	n = events_db_fetch(db, 0, 8, got);
	assert_int_equal(n, 4);
	assert_non_null(strstr(got[0].json, "\"file_bundle_executable_rel_path\":\"bin/tool\""));
	assert_non_null(strstr(got[0].json, "\"file_bundle_name\":\"app\""));
	/* A copy elsewhere, or a directory that only starts with the same letters: no path. */
	assert_null(strstr(got[1].json, "rel_path"));
	assert_non_null(strstr(got[1].json, "\"file_bundle_name\":\"app\""));
	assert_null(strstr(got[2].json, "rel_path"));
	assert_string_equal(got[3].json, events[3]);
	stored_events_free(got, 4);
	/* A package has no directory: fields only. */
	assert_int_equal(events_db_annotate(db, "bb", "{\"file_bundle_name\":\"pkg\"}", NULL), 1);
	n = events_db_fetch(db, 0, 8, got);
	assert_int_equal(n, 4);
	assert_null(strstr(got[3].json, "rel_path"));
	assert_non_null(strstr(got[3].json, "\"file_bundle_name\":\"pkg\""));
	stored_events_free(got, 4);
	events_db_close(db);
}

static void
test_cap_drops_oldest_and_counts(void **state)
{
	struct stored_event got[16];
	struct events_db *db;
	char path[256], why[512], buf[32][32];
	const char *events[32];
	int i, n;

	snprintf(path, sizeof(path), "%s/capped.db", tmpdir);
	assert_int_equal(events_db_open(path, 10, &db, why, sizeof(why)), 0);
	for (i = 0; i < 25; i++) {
		snprintf(buf[i], sizeof(buf[i]), "{\"n\":%d}", i);
		events[i] = buf[i];
	}
	assert_int_equal(events_db_add(db, events, 20), 10);
	assert_int_equal(events_db_add(db, events + 20, 5), 5);
	assert_int_equal(events_db_count(db), 10);
	assert_int_equal(events_db_dropped(db), 15);
	n = events_db_fetch(db, 0, 16, got);
	assert_int_equal(n, 10);
	assert_string_equal(got[0].json, "{\"n\":15}"); /* the newest ten remain */
	assert_string_equal(got[9].json, "{\"n\":24}");
	stored_events_free(got, (size_t)n);
	events_db_close(db);
}

static void
test_garbage_file_untouched(void **state)
{
	struct events_db *db = NULL;
	char path[256], why[512], back[64];
	int fd;

	snprintf(path, sizeof(path), "%s/garbage-events.db", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(write(fd, "definitely not sqlite, just text padding here\n", 46), 46);
	close(fd);
	assert_int_equal(events_db_open(path, 10, &db, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "left as it is"));
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, back, sizeof(back)), 46);
	close(fd);
	assert_memory_equal(back, "definitely not sqlite", 21);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_fetch_delete_reopen),
		cmocka_unit_test(test_annotate_bundle),
		cmocka_unit_test(test_cap_drops_oldest_and_counts),
		cmocka_unit_test(test_garbage_file_untouched),
	};

	return cmocka_run_group_tests_name("events_db", tests, tmpdir_setup, tmpdir_teardown);
}
