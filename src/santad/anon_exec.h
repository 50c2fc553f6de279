/*
 * Anonymous executables: the BPF LSM backstop (anon_exec.c), its ring
 * read on the loop thread. Its state (struct anon_exec) is anon_exec.c's alone.
 */
#ifndef SANTAD_ANON_EXEC_H
#define SANTAD_ANON_EXEC_H

#include <stdbool.h>
#include <stdint.h>

struct santad;

struct anon_exec;
/* Loads and attaches it; < 0 (said in the log) where it cannot be: then not enforced. */
int santad_anon_exec_start(struct santad *d);
void santad_anon_exec_stop(struct santad *d);
/* The mode changed: LOCKDOWN refuses anonymous executables, MONITOR logs them. */
void santad_anon_exec_policy_changed(struct santad *d);
bool santad_anon_exec_enforced(const struct santad *d);
/* A filesystem was marked (or went): the program stops (or starts) treating it as unseen. */
void santad_anon_exec_marked(struct santad *d, unsigned int major, unsigned int minor, bool marked);
/* Reports the kernel could not hand over (its ring was full). */
uint64_t santad_anon_exec_lost(struct santad *d);

#endif
