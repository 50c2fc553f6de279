/*
 * Who ran what, for the exec lines written after the fact: an exec the
 * kernel allowed through an ignore mark reaches santad only as a fanotify
 * notification, read in batches (fanotify.c); by then a short-lived process
 * has exited and /proc no longer knows its parent, uid or gid. The BPF
 * program in bpf/exec_info.bpf.c keeps them, with argv, for each exec; the
 * notification takes its own entry here.
 *
 * Where the program cannot load (santad built without BPF, a kernel without
 * BTF or BPF tracepoints) santad reads /proc instead, and reads
 * notifications as they come rather than in batches, so that the process
 * is most likely still there (fanotify.c asks santad_exec_info_active).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "santad.h"
#include "exec_info.h"
#include "proc.h"

#ifdef SANTA_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "bpf/exec_info.h"
#include "exec_info.skel.h"

struct exec_info_source {
	struct exec_info_bpf *skel;
	int map_fd;
	bool lookup_and_delete; /* LRU maps take it since Linux 5.14; before, two calls */
};

static int
quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return 0;
}

int
santad_exec_info_start(struct santad *d)
{
	struct exec_info_source *src;
	int r;

	src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	libbpf_set_print(quiet_libbpf);
	src->skel = exec_info_bpf__open_and_load();
	if (!src->skel) {
		r = -errno;
		santa_log_errno(&d->log, LOG_WARNING, r,
				"Exec info from BPF unavailable (the program did not load: %m); "
				"the parent, uid and gid of execs allowed by the kernel's cache "
				"are read from /proc, when the process still exists");
		goto out;
	}
	r = exec_info_bpf__attach(src->skel);
	if (r < 0) {
		santa_log_errno(&d->log, LOG_WARNING, r,
				"Exec info from BPF unavailable (the sched_process_exec tracepoint "
				"did not attach: %m); reading /proc instead");
		goto out;
	}
	src->map_fd = bpf_map__fd(src->skel->maps.exec_infos);
	src->lookup_and_delete = true;
	d->exec_info = src;
	santa_log(&d->log, LOG_INFO, "Exec info: BPF tracepoint attached (parent, uid, gid, args)");
	return 0;
out:
	exec_info_bpf__destroy(src->skel);
	free(src);
	return r;
}

void
santad_exec_info_stop(struct santad *d)
{
	if (!d->exec_info)
		return;
	exec_info_bpf__destroy(d->exec_info->skel);
	free(d->exec_info);
	d->exec_info = NULL;
}

bool
santad_exec_info_take(struct santad *d, pid_t pid, uint64_t ino, struct proc_info *proc,
		      struct exec_args *args)
{
	struct exec_info_source *src = d->exec_info;
	struct exec_info_key key = { .tgid = (__u32)pid, .ino = ino };
	struct exec_info info;
	int r;

	if (!src)
		return false;
	if (src->lookup_and_delete) {
		r = bpf_map_lookup_and_delete_elem(src->map_fd, &key, &info);
		if (r < 0 && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP)) {
			src->lookup_and_delete = false;
			r = 1;
		}
	} else
		r = 1;
	if (r == 1) {
		r = bpf_map_lookup_elem(src->map_fd, &key, &info);
		if (r == 0)
			(void)bpf_map_delete_elem(src->map_fd, &key);
	}
	if (r < 0)
		return false;
	proc->pid = pid;
	proc->ppid = (pid_t)info.ppid;
	proc->uid = info.uid;
	proc->gid = info.gid;
	proc->parent_name[0] = '\0'; /* read when the line is submitted */
	proc->pidversion = santad_boottime_to_ticks(info.start_ns);
	proc->ppidversion = santad_boottime_to_ticks(info.parent_start_ns);
	if (args) {
		args->len = info.args_len <= sizeof(info.args) ? info.args_len : sizeof(info.args);
		memcpy(args->data, info.args, args->len);
		args->truncated = info.args_truncated;
	}
	return true;
}

#else /* !SANTA_HAVE_BPF */

int
santad_exec_info_start(struct santad *d)
{
	santa_log(&d->log, LOG_WARNING, "Exec info from BPF unavailable (santad was built without "
		  "BPF programs); the parent, uid and gid of execs allowed by the kernel's cache are "
		  "read from /proc, when the process still exists");
	return -EOPNOTSUPP;
}

void
santad_exec_info_stop(struct santad *d)
{
}

bool
santad_exec_info_take(struct santad *d, pid_t pid, uint64_t ino, struct proc_info *proc,
		      struct exec_args *args)
{
	return false;
}

#endif

bool
santad_exec_info_active(const struct santad *d)
{
	return d->exec_info != NULL;
}
