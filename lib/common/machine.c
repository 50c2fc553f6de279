/* The machine's serial number for sync preflight (include/santa/machine.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "santa/machine.h"
#include "santa/path.h"

bool
santa_serial_is_placeholder(const char *value)
{
	/* Seen in the wild in DMI tables of boards, VMs and cloud hosts. */
	static const char *const placeholders[] = {
		"To be filled by O.E.M.", "To Be Filled By O.E.M", "Default string", "Default",
		"None", "Not Specified", "Not Applicable", "Not Available", "N/A", "NA",
		"Unknown", "OEM", "O.E.M.", "System Serial Number", "Chassis Serial Number",
		"Base Board Serial Number", "Serial Number", "SerialNumber", "0123456789",
		"123456789", "1234567890", "Type1ProductConfigId",
		"03000200-0400-0500-0006-000700080009", /* an AMI BIOS default UUID */
	};
	char first = 0;
	bool same = true;

	for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++)
		if (strcasecmp(value, placeholders[i]) == 0)
			return true;
	for (const char *c = value; *c; c++) {
		if (*c == '-' || *c == ' ')
			continue;
		if (!first)
			first = (char)tolower((unsigned char)*c);
		else if (tolower((unsigned char)*c) != first)
			same = false;
	}
	/* "" and "---" have no character at all; "0000" and "FFFF-FFFF" one, repeated. */
	return !first || same;
}

/* The first line of root/path, blanks trimmed at both ends; "" when unreadable. */
static void
read_value(const char *root, const char *path, char *buf, size_t size)
{
	char full[4096], *start;
	size_t n;
	FILE *f;

	buf[0] = '\0';
	if (santa_path_with_root(full, sizeof(full), root, path) < 0)
		return;
	f = fopen(full, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	for (start = buf; *start == ' ' || *start == '\t'; start++)
		;
	n = strlen(start);
	while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t' || start[n - 1] == '\r'))
		n--;
	memmove(buf, start, n);
	buf[n] = '\0';
	/* Firmware strings are not ours to trust: no control characters go on. */
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* systemd's machine id: 32 lower-case hex digits, or not one ("uninitialized"). */
static bool
is_machine_id(const char *s)
{
	size_t n = strlen(s);

	return n == 32 && strspn(s, "0123456789abcdef") == n && !santa_serial_is_placeholder(s);
}

int
santa_machine_serial(const char *configured, const char *root, char *buf, size_t size,
		     const char **source)
{
	static const char *const dmi[] = { "product_serial", "product_uuid", "board_serial" };
	char value[SANTA_SERIAL_MAX + 1], path[64];
	const char *from = NULL;

	if (size == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (configured && configured[0]) {
		snprintf(buf, size, "%s", configured);
		from = "SerialNumber";
		goto out;
	}
	for (size_t i = 0; i < sizeof(dmi) / sizeof(dmi[0]); i++) {
		snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", dmi[i]);
		read_value(root, path, value, sizeof(value));
		if (!santa_serial_is_placeholder(value)) {
			snprintf(buf, size, "%s", value);
			from = dmi[i];
			goto out;
		}
	}
	read_value(root, "/etc/machine-id", value, sizeof(value));
	if (is_machine_id(value)) {
		snprintf(buf, size, "%s", value);
		from = "machine-id";
	}
out:
	if (source)
		*source = from;
	return from ? 0 : -ENOENT;
}
