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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_placeholders), cmocka_unit_test(test_url_bundle_and_unknown),
		cmocka_unit_test(test_url_custom),       cmocka_unit_test(test_url_too_long),
		cmocka_unit_test(test_html),             cmocka_unit_test(test_markup_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
