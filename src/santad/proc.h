/*
 * What santad knows of a process: /proc reads (proc.c, a leaf) and the
 * proc_info and argv an exec carries. Any thread.
 */
#ifndef SANTAD_PROC_H
#define SANTAD_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_info {
	pid_t pid, ppid;
	uid_t uid;
	gid_t gid;
	/* Santa's pidversion on Linux: santad_process_start (0: not known). */
	uint64_t pidversion, ppidversion;
	/*
	 * The parent's comm, read while a first decision's exec waits, or just
	 * after a cached block's answer ("" if not read).
	 */
	char parent_name[17];
};

/* A process's argv as the exec left it: NUL-separated, cut at SANTA_EXEC_ARGS_MAX. */
#define SANTA_EXEC_ARGS_MAX 1024
struct exec_args {
	size_t len;
	bool truncated;
	char data[SANTA_EXEC_ARGS_MAX];
};

/* pid's parent, uid and gid from /proc. */
void santad_process_info(pid_t pid, pid_t *ppid, uid_t *uid, gid_t *gid);
/*
 * Santa's pidversion, the nearest Linux has: when the process started, in
 * clock ticks since boot (field 22 of /proc/PID/stat, what ps shows as its
 * start). A pid reused later has another; 0 when the process is gone.
 */
uint64_t santad_process_start(pid_t pid);
/* The same from the kernel's start_boottime (nanoseconds), as the BPF program reads it. */
uint64_t santad_boottime_to_ticks(uint64_t ns);
/* /proc/PID/stat's start time and controlling tty (tty_nr); either pointer may be NULL. */
int santad_process_stat(pid_t pid, uint64_t *start, unsigned int *tty);
/* The process's name (/proc/PID/comm), "" when it is gone. */
void santad_process_comm(pid_t pid, char *buf, size_t size);
/* The parent's name as read while the exec was decided, else from /proc now. */
void santad_parent_name(const struct proc_info *proc, char *buf, size_t size);

#endif
