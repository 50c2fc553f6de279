/*
 * The sync server's side in santad (sync.c): santasyncservice's requests,
 * uploads, and rule writes finishing. Loop thread.
 */
#ifndef SANTAD_SYNC_H
#define SANTAD_SYNC_H

#include <stddef.h>

#include "santa/config.h"
#include "santa/ipc.h"

struct santad;
struct rule_write_done;

/*
 * On the loop, before a client is answered: the rule writer finished a
 * change (rule_writer.h). A batch that committed flushes the decisions.
 */
void santad_rules_written(const struct rule_write_done *done, void *userdata);
/* Requests of santasyncservice (santad_proto.h, SANTAD_SYNC_*). */
void santad_handle_sync(struct santad *d, struct ipc_conn *conn, struct ipc_msg *msg);
/* Asks the sync service to upload the waiting events now, outside a full sync. */
void santad_sync_upload_now(struct santad *d);
/* Sends a block's event up at once, when the event log says one was stored. */
int santad_sync_watch_uploads(struct santad *d);

/* MachineID (configured: the live setting, may be NULL), else /etc/machine-id shaped as a UUID. */
int santad_machine_id(const char *configured, char *buf, size_t size);

#endif
