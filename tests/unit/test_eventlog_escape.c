/* santa.log fields: what a user-chosen name may and may not put on an admin's screen. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "santa/eventlog.h"

static void
assert_escapes_to(const char *in, const char *want)
{
	char out[256], back[256];

	assert_int_equal(santa_eventlog_escape(in, out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);
	/* Whatever was escaped comes back byte for byte. */
	assert_true(santa_eventlog_unescape(out, back, sizeof(back)) >= 0);
	assert_string_equal(back, in);
}

static void
test_separators_and_controls(void **state)
{
	(void)state;
	assert_escapes_to("/tmp/a|b", "/tmp/a<pipe>b");
	assert_escapes_to("/tmp/<pipe>", "/tmp/\\x3cpipe>");
	assert_escapes_to("a\nb\rc\\d", "a\\nb\\rc\\\\d");
	assert_escapes_to("\x1b[2Jx\x7f", "\\x1b[2Jx\\x7f");
}

static void
test_utf8_kept_but_invalid_escaped(void **state)
{
	(void)state;
	assert_escapes_to("/home/\xc3\xa9t\xc3\xa9/\xe6\x97\xa5", "/home/\xc3\xa9t\xc3\xa9/\xe6\x97\xa5");
	assert_escapes_to("a\xff" "b", "a\\xffb");
	assert_escapes_to("\xc0\xaf", "\\xc0\\xaf"); /* overlong '/' */
	assert_escapes_to("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a surrogate */
}

/* The right-to-left override would show "gpj.exe" reversed as "exe.jpg". */
static void
test_display_tricks_escaped(void **state)
{
	(void)state;
	assert_escapes_to("/tmp/x\xe2\x80\xaegpj.exe", "/tmp/x\\xe2\\x80\\xaegpj.exe");
	assert_escapes_to("\xe2\x81\xa6" "a" "\xe2\x81\xa9", "\\xe2\\x81\\xa6a\\xe2\\x81\\xa9");
	assert_escapes_to("\xe2\x80\x8f", "\\xe2\\x80\\x8f");  /* RIGHT-TO-LEFT MARK */
	assert_escapes_to("\xd8\x9c", "\\xd8\\x9c");          /* ARABIC LETTER MARK */
	assert_escapes_to("\xc2\x9b" "2J", "\\xc2\\x9b2J");   /* C1 CSI */
	/* Neighbours that are ordinary text stay. */
	assert_escapes_to("\xe2\x80\xa9", "\xe2\x80\xa9");
	assert_escapes_to("\xc2\xa0", "\xc2\xa0");
}

static void
test_no_room(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(santa_eventlog_escape("abc|def", out, sizeof(out)), -ENOSPC);
	assert_int_equal(santa_eventlog_escape("x", out, 0), -ENOSPC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_separators_and_controls),
		cmocka_unit_test(test_utf8_kept_but_invalid_escaped),
		cmocka_unit_test(test_display_tricks_escaped),
		cmocka_unit_test(test_no_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
