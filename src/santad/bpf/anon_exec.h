/* Shared by the BPF program (anon_exec.bpf.c) and santad (anon_exec.c). */
#ifndef SANTA_ANON_EXEC_H
#define SANTA_ANON_EXEC_H

struct anon_exec_config {
	__u32 lockdown; /* deny execs from kernel-internal mounts */
	__u32 pad;
	__u64 lost;     /* events the ring buffer had no room for */
};

struct anon_exec_event {
	__u32 pid, ppid, uid, gid;
	__u32 denied;
	char comm[16];
	char name[128]; /* the file's name on its internal mount: "memfd:NAME" */
};

#endif
