/*
 * SANTAD_HELPER_SETTINGS (helper_settings.c): what each helper may read of
 * the live configuration. Loop thread.
 */
#ifndef SANTAD_HELPER_SETTINGS_H
#define SANTAD_HELPER_SETTINGS_H

#include "santa/ipc.h"

struct santad;

/*
 * The asking helper's settings from the live configuration, by its
 * validated name; nothing it does not use.
 */
void santad_helper_settings(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req);

#endif
