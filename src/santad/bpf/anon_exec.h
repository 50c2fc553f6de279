/* Shared by the BPF program (anon_exec.bpf.c) and santad (anon_exec.c). */
#ifndef SANTA_ANON_EXEC_H
#define SANTA_ANON_EXEC_H

struct anon_exec_config {
	__u32 lockdown;         /* deny what fanotify cannot see */
	__u32 enforce_unmarked; /* also execs from filesystems santad has not marked (no WatchPaths) */
};

#define ANON_EXEC_MARKED_MAX 4096 /* marked filesystems (kernel dev_t) santad tells the program */

struct anon_exec_event {
	__u32 pid, ppid, uid, gid;
	__u32 denied;
	__u32 unmarked; /* a filesystem santad has not marked (yet), not an internal mount */
	char comm[16];
	/* internal mount: the file's name there ("memfd:NAME"); else its path (cut to fit) */
	char name[256];
};

#endif
