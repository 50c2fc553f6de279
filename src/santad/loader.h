/*
 * The loader check: `ld.so PROGRAM` (loader.c). Its FAN_OPEN_PERM reader
 * runs on its own thread while EnableLoaderCheck is on; these verbs are the
 * loop thread's. Its state (struct loader_guard) is loader.c's alone.
 */
#ifndef SANTAD_LOADER_H
#define SANTAD_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/ipc.h"
#include "santa/policy.h"

struct santad;

struct loader_guard;
/* Starts the FAN_OPEN_PERM reader thread when fan_client_start made its group. */
int santad_loader_start(struct santad *d);
void santad_loader_stop(struct santad *d);
/* The policy changed: what a full queue answers. */
void santad_loader_policy_changed(struct santad *d);
/* An exec was decided with this hash: a copy of a loader becomes a loader too. */
void santad_loader_exec_decided(struct santad *d, const struct santa_file_key *key,
				const uint8_t *sha256);
/* The signal a writer's open of a file the loader check leased sends (blocked in every thread). */
int santad_loader_lease_signal(void);
/* The loop flushed the loader group's inode marks: its thread marks its leased files again. */
void santad_loader_marks_flushed(struct santad *d);
/* Whether this file is a loader (an installed one, or a copy learned by its hash). */
bool santad_loader_is_file(struct santad *d, dev_t dev, ino_t ino);
/* santactl status's "loader_check" section. */
void santad_loader_status(struct santad *d, struct ipc_value *dict);

#endif
