/*
 * santad.sock and the helpers' channels (control.c): santactl's and the
 * helpers' requests, served on the loop thread.
 */
#ifndef SANTAD_CONTROL_H
#define SANTAD_CONTROL_H

#include "santa/ipc.h"

struct santad;

/* How santad serves a helper's private channel (same requests as santad.sock). */
struct ipc_conn_handlers santad_channel_handlers(void);
/* Listens on santad.sock for santactl. */
int santad_control_start(struct santad *d);
/* Closes santad.sock, after the helpers' channels (they share its allowlist). */
void santad_control_stop(struct santad *d);

#endif
