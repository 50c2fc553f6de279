/*
 * Bundles for the sync server (bundles.c), on the loop thread. Its state
 * (struct bundle_store) is bundles.c's alone.
 */
#ifndef SANTAD_BUNDLES_H
#define SANTAD_BUNDLES_H

#include "santa/ipc.h"

struct santad;

#define BUNDLES_HELD_MAX        16     /* bundles whose binaries wait for the server */
#define BUNDLE_EVENTS_HELD_MAX  100000 /* BUNDLE_BINARY events held, all bundles together */
struct bundle_store;
int santad_bundles_start(struct santad *d);
void santad_bundles_stop(struct santad *d);
/* SANTAD_BUNDLE_RESULT from santabundleservice. */
void santad_bundle_result(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req);
/* SANTAD_BUNDLE_BINARIES from santasyncservice. */
void santad_bundle_binaries(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req);

#endif
