/* Shared by the BPF program (exec_info.bpf.c) and santad (exec_info.c). */
#ifndef SANTA_EXEC_INFO_H
#define SANTA_EXEC_INFO_H

#define EXEC_INFO_MAX      2048 /* execs remembered until santad reads their notification */
#define EXEC_INFO_ARGS_MAX 1024 /* bytes of argv kept (NUL-separated, as in the process) */

/* Which exec: the process and the inode it runs (a process may exec twice in a row). */
struct exec_info_key {
	__u32 tgid;
	__u32 pad;
	__u64 ino;
};

struct exec_info {
	__u32 ppid, uid, gid;
	__u16 args_len;
	__u8 args_truncated;
	__u8 pad;
	__u64 start_ns, parent_start_ns; /* task->start_boottime: the pidversion */
	char args[EXEC_INFO_ARGS_MAX];
};

#endif
