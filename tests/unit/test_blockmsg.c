/* What the user reads and the Details URL, as Santa's SNTBlockMessage builds them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "santa/blockmsg.h"

static const struct santa_block_fields fields = {
	.file_sha256 = "aa11",
	.username = "jo smith",
	.machine_id = "M-1",
	.hostname = "host1",
};

static void
test_url_placeholders(void **state)
{
	char out[256];
	bool has;

	assert_int_equal(santa_block_url("https://s/e?f=%file_sha%&b=%bundle_or_file_identifier%"
					 "&u=%username%&m=%machine_id%&h=%hostname%&i=%file_identifier%",
					 NULL, &fields, out, sizeof(out), &has),
			 0);
	assert_true(has);
	assert_string_equal(out, "https://s/e?f=aa11&b=aa11&u=jo%20smith&m=M-1&h=host1&i=aa11");
}

static void
test_url_bundle_and_unknown(void **state)
{
	struct santa_block_fields f = fields;
	char out[256];
	bool has;

	f.bundle_hash = "bb22";
	/* Placeholders without a value on Linux (team id, ...) stay as they are. */
	assert_int_equal(santa_block_url("x/%bundle_or_file_identifier%/%team_id%/%serial%/100%",
					 NULL, &f, out, sizeof(out), &has),
			 0);
	assert_string_equal(out, "x/bb22/%team_id%/%serial%/100%");
}

static void
test_url_custom(void **state)
{
	char out[64];
	bool has;

	assert_int_equal(santa_block_url("https://default/%file_sha%", "https://rule/%file_sha%",
					 &fields, out, sizeof(out), &has),
			 0);
	assert_true(has);
	assert_string_equal(out, "https://rule/aa11");
	/* "null" hides the button, as on Santa. */
	assert_int_equal(santa_block_url("https://default/", "null", &fields, out, sizeof(out), &has),
			 0);
	assert_false(has);
	assert_int_equal(santa_block_url(NULL, NULL, &fields, out, sizeof(out), &has), 0);
	assert_false(has);
	assert_int_equal(santa_block_url("", "", &fields, out, sizeof(out), &has), 0);
	assert_false(has);
}

static void
test_url_too_long(void **state)
{
	char out[8];
	bool has = true;

	assert_int_equal(santa_block_url("https://x/%file_sha%", NULL, &fields, out, sizeof(out),
					 &has),
			 -ENAMETOOLONG);
	assert_false(has);
	assert_true(strlen(out) < sizeof(out));
}

static void
test_html(void **state)
{
	char out[256];

	santa_html_to_text(SANTA_DEFAULT_UNKNOWN_BLOCK_MESSAGE, out, sizeof(out));
	assert_string_equal(out, "The following application has been blocked from executing\n"
				 "because its trustworthiness cannot be determined.");
	santa_html_to_text("a<BR>b<br/>c<b>bold</b> &amp; &lt;x&gt; &quot;q&quot; 3 < 4", out,
			   sizeof(out));
	assert_string_equal(out, "a\nb\ncbold & <x> \"q\" 3 < 4");
	/* <bring> is some tag, not a line break */
	santa_html_to_text("x<bring>y", out, sizeof(out));
	assert_string_equal(out, "xy");
	assert_int_equal(santa_html_to_text("0123456789", out, 5), 4);
	assert_string_equal(out, "0123");
}

static void
test_markup_escape(void **state)
{
	char out[64];

	assert_int_equal(santa_markup_escape("a<b>&c", out, sizeof(out)), 0);
	assert_string_equal(out, "a&lt;b&gt;&amp;c");
	assert_int_equal(santa_markup_escape("<<<<", out, 8), -ENAMETOOLONG);
}

/* A name that forges a field and one that reverses itself show as what they are. */
static void
test_display_escape(void **state)
{
	char out[256];

	assert_int_equal(santa_display_escape("report\nUser: root", out, sizeof(out), 0), 18);
	assert_string_equal(out, "report\\nUser: root");
	/* U+202E RIGHT-TO-LEFT OVERRIDE: "fdp.exe" would show as "exe.pdf". */
	santa_display_escape("\xe2\x80\xae" "fdp.exe", out, sizeof(out), 0);
	assert_string_equal(out, "\\u202Efdp.exe");
	santa_display_escape("a\rb\tc\x01\x7f\\", out, sizeof(out), 0);
	assert_string_equal(out, "a\\rb\\tc\\x01\\x7F\\\\");
	/* NEL (C1), line and paragraph separators, every bidi control, zero-width characters. */
	santa_display_escape("\xc2\x85|\xe2\x80\xa8|\xe2\x80\xa9|\xd8\x9c|\xe2\x80\x8e|\xe2\x80\x8f|"
			     "\xe2\x80\xaa|\xe2\x81\xa6|\xe2\x81\xa9|\xe2\x80\x8b|\xef\xbb\xbf",
			     out, sizeof(out), 0);
	assert_string_equal(out, "\\u0085|\\u2028|\\u2029|\\u061C|\\u200E|\\u200F|\\u202A|"
				 "\\u2066|\\u2069|\\u200B|\\uFEFF");
	/* Invalid UTF-8 (a lone byte, an overlong, a surrogate) byte by byte; valid text passes. */
	santa_display_escape("\xff\xc0\xaf\xed\xa0\x80 caf\xc3\xa9 \xf0\x9f\x94\x92", out, sizeof(out), 0);
	assert_string_equal(out, "\\xFF\\xC0\\xAF\\xED\\xA0\\x80 caf\xc3\xa9 \xf0\x9f\x94\x92");
	/* Markup: entities too, after the escapes. */
	santa_display_escape("<b>x</b>&\n", out, sizeof(out), SANTA_DISPLAY_MARKUP);
	assert_string_equal(out, "&lt;b&gt;x&lt;/b&gt;&amp;\\n");
	santa_display_escape("<b>", out, sizeof(out), 0);
	assert_string_equal(out, "<b>");
}

/* Cut short: after a whole character or escape, with an ellipsis, still valid UTF-8. */
static void
test_display_escape_truncated(void **state)
{
	char out[16];

	assert_int_equal(santa_display_escape("abcdefghijklmnopqrstuvwxyz", out, sizeof(out), 0),
			 -ENOSPC);
	assert_string_equal(out, "abcdefghijkl\xe2\x80\xa6");
	/* Two-byte characters: never half of one. */
	assert_int_equal(santa_display_escape("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
					      "\xc3\xa9\xc3\xa9",
					      out, sizeof(out), 0),
			 -ENOSPC);
	assert_string_equal(out, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	/* Never half of an escape. */
	assert_int_equal(santa_display_escape("abcdefghijk\n\n\n", out, sizeof(out), 0), -ENOSPC);
	assert_string_equal(out, "abcdefghijk\xe2\x80\xa6");
	/* Fits exactly: no ellipsis. */
	assert_int_equal(santa_display_escape("abcdefghijklmno", out, sizeof(out), 0), 15);
	assert_string_equal(out, "abcdefghijklmno");
	assert_int_equal(santa_display_escape("abc", out, 3, 0), -ENOSPC);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_placeholders), cmocka_unit_test(test_url_bundle_and_unknown),
		cmocka_unit_test(test_url_custom),       cmocka_unit_test(test_url_too_long),
		cmocka_unit_test(test_html),             cmocka_unit_test(test_markup_escape),
		cmocka_unit_test(test_display_escape),   cmocka_unit_test(test_display_escape_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
