// SPDX-License-Identifier: GPL-2.0
/*
 * Who ran what, for exec log lines santad writes after the fact. An exec the
 * kernel allowed through an ignore mark reaches santad only as a fanotify
 * notification, read in batches; by then a short-lived process is gone and
 * /proc cannot say who it was. Here, at the end of every successful exec
 * (sched_process_exec, when the new image and its argv exist), the parent,
 * uid, gid and argv are kept in an LRU map under (tgid, inode), for santad to
 * take when the notification comes. A raw tracepoint, not BPF LSM or fentry:
 * it loads on kernels that refuse BTF-attached programs.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "exec_info.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EXEC_INFO_MAX);
	__type(key, struct exec_info_key);
	__type(value, struct exec_info);
} exec_infos SEC(".maps");

/* The value is too big for the BPF stack: it is built here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_info);
} scratch SEC(".maps");

/* TP_PROTO(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("raw_tracepoint/sched_process_exec")
int santa_exec_info(struct bpf_raw_tracepoint_args *ctx)
{
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct exec_info_key key = {};
	struct exec_info *info;
	unsigned long start, end, len;
	__u32 zero = 0;
	__u64 ugid;

	info = bpf_map_lookup_elem(&scratch, &zero);
	if (!info)
		return 0;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	key.ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
	ugid = bpf_get_current_uid_gid();
	info->uid = (__u32)ugid;
	info->gid = ugid >> 32;
	info->ppid = BPF_CORE_READ(task, real_parent, tgid);
	info->start_ns = BPF_CORE_READ(task, start_boottime);
	info->parent_start_ns = BPF_CORE_READ(task, real_parent, start_boottime);
	start = BPF_CORE_READ(task, mm, arg_start);
	end = BPF_CORE_READ(task, mm, arg_end);
	len = end > start ? end - start : 0;
	info->args_truncated = len > EXEC_INFO_ARGS_MAX;
	if (len > EXEC_INFO_ARGS_MAX)
		len = EXEC_INFO_ARGS_MAX;
	info->args_len = 0;
	if (len && bpf_probe_read_user(info->args, len, (const void *)start) == 0)
		info->args_len = len;
	bpf_map_update_elem(&exec_infos, &key, info, BPF_ANY);
	return 0;
}
