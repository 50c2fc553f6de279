/*
 * Who ran what, for lines written after the exec (exec_info.c, a BPF
 * program's map), read on the loop thread. Its state (struct
 * exec_info_source) is exec_info.c's alone.
 */
#ifndef SANTAD_EXEC_INFO_H
#define SANTAD_EXEC_INFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct santad;
struct proc_info;
struct exec_args;

struct exec_info_source;
/* Loads and attaches the BPF program; < 0 (said in the log) where it cannot be. */
int santad_exec_info_start(struct santad *d);
void santad_exec_info_stop(struct santad *d);
bool santad_exec_info_active(const struct santad *d);
/*
 * The parent, uid, gid and argv (args may be NULL) of the exec of inode ino
 * by pid, taken from what the BPF program kept; false when it has nothing.
 */
bool santad_exec_info_take(struct santad *d, pid_t pid, uint64_t ino, struct proc_info *proc,
			   struct exec_args *args);

#endif
