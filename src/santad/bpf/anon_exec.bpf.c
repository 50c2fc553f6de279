// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF LSM backstop for what fanotify cannot see: a program exec'd from a
 * file on a kernel-internal mount (memfd_create, and the like) lives on no
 * filesystem santad can mark, so FAN_OPEN_EXEC_PERM never asks; nor does it
 * for a filesystem mounted a moment ago in another mount namespace, before
 * santad marked it. Here, in bprm_check_security, such an exec is reported
 * to santad and, in LOCKDOWN, refused. (Unmarked filesystems only count when
 * santad watches everything, i.e. without WatchPaths.) Nothing is hashed in the kernel: a memfd's bytes cannot be
 * matched against rules before the exec, so LOCKDOWN denies them all and
 * MONITOR allows and logs them. GPL: BPF LSM programs must be.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define SANTA_EPERM 1
/* include/linux/mount.h; the same value in every kernel with BPF LSM. */
#define SANTA_MNT_INTERNAL 0x4000

#include "anon_exec.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct anon_exec_config);
} settings SEC(".maps");

/* Written only here: santad rewrites settings whole and must not race a count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ANON_EXEC_MARKED_MAX);
	__type(key, __u32);
	__type(value, __u8);
} marked_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} anon_events SEC(".maps");

SEC("lsm/bprm_check_security")
int BPF_PROG(santa_anon_exec, struct linux_binprm *bprm, int ret)
{
	struct anon_exec_config *cfg;
	struct anon_exec_event *ev;
	struct task_struct *task;
	struct file *file;
	__u32 key = 0, dev;
	int deny, internal;

	if (ret)
		return ret;
	file = BPF_CORE_READ(bprm, file);
	if (!file)
		return 0;
	cfg = bpf_map_lookup_elem(&settings, &key);
	internal = (BPF_CORE_READ(file, f_path.mnt, mnt_flags) & SANTA_MNT_INTERNAL) != 0;
	if (!internal) {
		if (!cfg || !cfg->enforce_unmarked)
			return 0;
		dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
		if (bpf_map_lookup_elem(&marked_devs, &dev))
			return 0;
	}
	deny = cfg && cfg->lockdown;
	ev = bpf_ringbuf_reserve(&anon_events, sizeof(*ev), 0);
	if (ev) {
		task = (struct task_struct *)bpf_get_current_task();
		ev->pid = bpf_get_current_pid_tgid() >> 32;
		ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
		ev->uid = (__u32)bpf_get_current_uid_gid();
		ev->gid = bpf_get_current_uid_gid() >> 32;
		ev->denied = deny;
		ev->unmarked = !internal;
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
		/*
		 * The file's whole path as the process sees it (bprm->filename
		 * is what was asked for: "./prog" from a covered mount's cwd),
		 * else that name, when the path does not fit.
		 */
		if (internal)
			bpf_probe_read_kernel_str(ev->name, sizeof(ev->name),
						  BPF_CORE_READ(file, f_path.dentry, d_name.name));
		else if (bpf_d_path((struct path *)&bprm->file->f_path, ev->name, sizeof(ev->name)) < 0)
			bpf_probe_read_kernel_str(ev->name, sizeof(ev->name),
						  BPF_CORE_READ(bprm, filename));
		bpf_ringbuf_submit(ev, 0);
	} else {
		__u64 *lost = bpf_map_lookup_elem(&lost_events, &key);

		if (lost)
			__sync_fetch_and_add(lost, 1);
	}
	return deny ? -SANTA_EPERM : 0;
}
