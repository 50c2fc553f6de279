/* Diagnostic log lines: format, level filter, errno text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "santa/log.h"

/* Runs fn with stderr sent to a temporary file and returns what was written. */
static char *
capture_stderr(void (*fn)(const struct santa_log *), const struct santa_log *log)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *out;
	long len;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	fn(log);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = ftell(tmp);
	assert_true(len >= 0);
	out = calloc(1, (size_t)len + 1);
	assert_non_null(out);
	rewind(tmp);
	assert_int_equal(fread(out, 1, (size_t)len, tmp), (size_t)len);
	fclose(tmp);
	return out;
}

static void
emit_levels(const struct santa_log *log)
{
	santa_log(log, LOG_ERR, "error %d", 1);
	santa_log(log, LOG_WARNING, "warning %s", "two");
	santa_log(log, LOG_INFO, "info three");
	santa_log(log, LOG_DEBUG, "debug four");
}

static void
test_level_filter_and_format(void **state)
{
	struct santa_log log;
	char *out;

	santa_log_init(&log, "santad", SANTA_LOG_STDERR, LOG_INFO);
	out = capture_stderr(emit_levels, &log);
	assert_non_null(strstr(out, "] E santad: error 1\n"));
	assert_non_null(strstr(out, "] W santad: warning two\n"));
	assert_non_null(strstr(out, "] I santad: info three\n"));
	assert_null(strstr(out, "debug four"));
	/* Lines start with a UTC ISO-8601 timestamp with milliseconds. */
	assert_int_equal(out[0], '[');
	assert_int_equal(out[5], '-');
	assert_int_equal(out[11], 'T');
	assert_int_equal(out[24], 'Z');
	free(out);
}

static void
emit_forged(const struct santa_log *log)
{
	/* A file name chosen to forge a line and clear the admin's screen. */
	santa_log(log, LOG_WARNING, "no decision for %s", "/tmp/x\n[2026-01-01T00:00:00.000Z] N santad: FORGED\x1b[2J\tend");
}

static void
test_control_bytes_escaped(void **state)
{
	struct santa_log log;
	char *out;

	santa_log_init(&log, "santad", SANTA_LOG_STDERR, LOG_INFO);
	out = capture_stderr(emit_forged, &log);
	/* One line, the newline, escape and tab written out. */
	assert_non_null(strstr(out, "no decision for /tmp/x\\n[2026-01-01T00:00:00.000Z] N santad: FORGED\\x1b[2J\\tend\n"));
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
	assert_null(strchr(out, 0x1b));
	free(out);
}

static void
emit_errno(const struct santa_log *log)
{
	int r = santa_log_errno(log, LOG_ERR, -ENOENT, "open %s: %m", "/nowhere");

	assert_int_equal(r, -ENOENT);
}

static void
test_errno_text(void **state)
{
	struct santa_log log;
	char *out;

	santa_log_init(&log, "santactl", SANTA_LOG_STDERR, LOG_DEBUG);
	out = capture_stderr(emit_errno, &log);
	assert_non_null(strstr(out, "santactl: open /nowhere: No such file or directory\n"));
	free(out);
}

static void
test_level_names(void **state)
{
	assert_int_equal(santa_log_level_from_string("debug"), LOG_DEBUG);
	assert_int_equal(santa_log_level_from_string("WARNING"), LOG_WARNING);
	assert_int_equal(santa_log_level_from_string("loud"), -EINVAL);
	assert_int_equal(santa_log_level_from_string(NULL), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_filter_and_format),
		cmocka_unit_test(test_errno_text),
		cmocka_unit_test(test_control_bytes_escaped),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
