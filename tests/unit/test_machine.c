/*
 * The serial number preflight sends (issue 23): SerialNumber, then DMI fields
 * that hold a real value, then /etc/machine-id, read from a fake root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "santa/machine.h"

static char tmpdir[] = "/tmp/test-machine-XXXXXX";
#include "test_tmpdir.h"

static void
put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
drop(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", tmpdir, rel);
	unlink(path);
}

static const char *
serial(const char *configured, const char **source)
{
	static char buf[SANTA_SERIAL_MAX + 1];

	if (santa_machine_serial(configured, tmpdir, buf, sizeof(buf), source) < 0)
		return NULL;
	return buf;
}

static void
test_fallback_order(void **state)
{
	const char *source;
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/sys", tmpdir);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/class", tmpdir);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/class/dmi", tmpdir);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/sys/class/dmi/id", tmpdir);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/etc", tmpdir);
	mkdir(dir, 0755);

	/* nothing at all: no serial, said as such */
	assert_null(serial(NULL, &source));
	assert_null(source);

	put("/etc/machine-id", "3d1219c7c4c5404aaa1f6d2a48adfda4\n");
	assert_string_equal(serial(NULL, &source), "3d1219c7c4c5404aaa1f6d2a48adfda4");
	assert_string_equal(source, "machine-id");

	put("/sys/class/dmi/id/board_serial", "  /7XB1234/CN1296/  \n");
	assert_string_equal(serial(NULL, &source), "/7XB1234/CN1296/");
	assert_string_equal(source, "board_serial");

	put("/sys/class/dmi/id/product_uuid", "00000000-0000-0000-0000-000000000000\n");
	assert_string_equal(serial(NULL, &source), "/7XB1234/CN1296/"); /* all zero: skipped */
	put("/sys/class/dmi/id/product_uuid", "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8\n");
	assert_string_equal(serial(NULL, &source), "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8");
	assert_string_equal(source, "product_uuid");

	put("/sys/class/dmi/id/product_serial", "To be filled by O.E.M.\n");
	assert_string_equal(serial(NULL, &source), "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8");
	assert_string_equal(source, "product_uuid");
	put("/sys/class/dmi/id/product_serial", "\n");
	assert_string_equal(serial(NULL, &source), "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8");
	put("/sys/class/dmi/id/product_serial", "PF2ABCDE\n");
	assert_string_equal(serial(NULL, &source), "PF2ABCDE");
	assert_string_equal(source, "product_serial");

	/* a configured value beats them all; an empty one does not count */
	assert_string_equal(serial("VM-0042", &source), "VM-0042");
	assert_string_equal(source, "SerialNumber");
	assert_string_equal(serial("", &source), "PF2ABCDE");

	/* every DMI value a placeholder: machine-id; a bad machine-id: nothing */
	put("/sys/class/dmi/id/product_serial", "Default string\n");
	put("/sys/class/dmi/id/product_uuid", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF\n");
	put("/sys/class/dmi/id/board_serial", "None\n");
	assert_string_equal(serial(NULL, &source), "3d1219c7c4c5404aaa1f6d2a48adfda4");
	put("/etc/machine-id", "uninitialized\n");
	assert_null(serial(NULL, &source));
	drop("/etc/machine-id");
	assert_null(serial(NULL, NULL));
}

static void
test_placeholders(void **state)
{
	static const char *const fake[] = {
		"", "0", "   ", "To Be Filled By O.E.M.", "to be filled by o.e.m.", "Default string",
		"None", "Not Specified", "System Serial Number", "0000000000", "N/A",
		"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
		"03000200-0400-0500-0006-000700080009",
	};
	static const char *const real[] = {
		"C02XK1ABJGH5", "VMware-56 4d 1a 2b", "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8",
		"10", "Parallels-12 34",
	};

	for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++)
		if (!santa_serial_is_placeholder(fake[i]))
			fail_msg("not taken for a placeholder: \"%s\"", fake[i]);
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++)
		if (santa_serial_is_placeholder(real[i]))
			fail_msg("taken for a placeholder: \"%s\"", real[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback_order),
		cmocka_unit_test(test_placeholders),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
