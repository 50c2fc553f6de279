/*
 * What names this machine to a sync server besides its MachineID: the serial
 * number preflight sends as serial_num. santad reads it (the DMI files are
 * root-only); nothing here keeps state.
 */
#ifndef SANTA_MACHINE_H
#define SANTA_MACHINE_H

#include <stdbool.h>
#include <stddef.h>

/* SANTA_SERIAL_MAX: longest serial number kept (longer DMI values are cut). */
#define SANTA_SERIAL_MAX 128

/*
 * True for a value firmware writes when nobody set the field: "", "To be
 * filled by O.E.M.", "Default string", "None", "Not Specified", ... (any
 * case), or one character repeated, dashes and spaces aside ("0",
 * "00000000-0000-0000-0000-000000000000", "FFFFFFFF-...").
 */
bool santa_serial_is_placeholder(const char *value);

/*
 * The serial number, from the first of these that holds a real value:
 * configured (SerialNumber in santa.conf), the DMI product_serial,
 * product_uuid and board_serial (placeholders skipped), then /etc/machine-id,
 * so that VMs and cloud hosts, which often have no DMI serial, still send
 * one (some servers refuse a preflight without). Paths are read under root
 * ("" or NULL: the real ones; tests give a fake tree). *source, when not
 * NULL, names where it came from ("SerialNumber", "product_serial", ...,
 * "machine-id"). Returns 0, or -ENOENT when none holds a value (buf "").
 */
int santa_machine_serial(const char *configured, const char *root, char *buf, size_t size,
			 const char **source);

#endif
