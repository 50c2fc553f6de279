/*
 * Anonymous executables: files on no filesystem santad can mark (memfd and
 * other kernel-internal mounts) are exec'd without fanotify asking. The BPF
 * LSM program in bpf/anon_exec.bpf.c sees them in bprm_check_security: it
 * refuses them in LOCKDOWN and reports every one, which is logged here as
 * an exec (path "memfd:NAME", no hash: there is none before the exec). So
 * are execs from a filesystem santad has not marked yet, by the file's path
 * as the exec'ing process sees it (the program's d_path; not santad's view).
 *
 * Built only where clang, bpftool, libbpf and the kernel's BTF were there
 * at build time (SANTA_HAVE_BPF); loaded only where the running kernel has
 * BPF in its LSM list. Otherwise santactl status says they are not enforced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "santad.h"
#include "anon_exec.h"
#include "exec.h"
#include "fanotify.h"
#include "proc.h"

#ifdef SANTA_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include "bpf/anon_exec.h"
#include "anon_exec.skel.h"

struct anon_exec {
	struct anon_exec_bpf *skel;
	struct ring_buffer *rb;
	sd_event_source *io;
	struct santad *daemon;
};

/* libbpf prints to stderr by default; santad says itself what failed and why. */
static int
quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return 0;
}

static int
on_event(void *ctx, void *data, size_t size)
{
	struct anon_exec *ax = ctx;
	const struct anon_exec_event *ev = data;
	struct santa_decision decision = {
		.verdict = ev->denied ? SANTA_VERDICT_DENY : SANTA_VERDICT_ALLOW,
		.reason = SANTA_REASON_UNKNOWN,
		.explain = ev->unmarked ? "a filesystem santad has not marked yet: no hash before the exec"
					: "anonymous file (no filesystem): no hash before the exec",
	};
	struct proc_info proc = { 0 };
	char path[sizeof(ev->name) + 1];

	if (size < sizeof(*ev))
		return 0;
	proc.pid = (pid_t)ev->pid;
	proc.ppid = (pid_t)ev->ppid;
	proc.uid = ev->uid;
	proc.gid = ev->gid;
	proc.pidversion = santad_process_start(proc.pid);
	proc.ppidversion = santad_process_start(proc.ppid);
	memcpy(path, ev->name, sizeof(ev->name));
	path[sizeof(ev->name)] = '\0';
	santad_log_decision(ax->daemon, path[0] ? path : "(anonymous)", &proc, &decision);
	return 0;
}

static int
on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct anon_exec *ax = userdata;

	(void)ring_buffer__consume(ax->rb);
	return 0;
}

static void
anon_exec_free(struct anon_exec *ax)
{
	if (!ax)
		return;
	sd_event_source_disable_unref(ax->io);
	ring_buffer__free(ax->rb);
	anon_exec_bpf__destroy(ax->skel);
	free(ax);
}

int
santad_anon_exec_start(struct santad *d)
{
	struct anon_exec *ax = calloc(1, sizeof(*ax));
	int r;

	if (!ax)
		return -ENOMEM;
	ax->daemon = d;
	libbpf_set_print(quiet_libbpf);
	ax->skel = anon_exec_bpf__open_and_load();
	if (!ax->skel) {
		r = -errno;
		santa_log_errno(&d->log, LOG_WARNING, r,
				"Anonymous executables (memfd) not enforced: the BPF program did not load "
				"(%m): the kernel lacks BPF LSM or BTF, or refuses BPF LSM programs; "
				"'bpftool prog load' of anon_exec.bpf.o tells which");
		goto out;
	}
	r = anon_exec_bpf__attach(ax->skel);
	if (r < 0) {
		santa_log_errno(&d->log, LOG_WARNING, r,
				"Anonymous executables (memfd) not enforced: the BPF LSM program did not "
				"attach (%m; is 'bpf' in /sys/kernel/security/lsm?)");
		goto out;
	}
	ax->rb = ring_buffer__new(bpf_map__fd(ax->skel->maps.anon_events), on_event, ax, NULL);
	if (!ax->rb) {
		r = -errno;
		santa_log_errno(&d->log, LOG_WARNING, r, "Anonymous executables: no event ring: %m");
		goto out;
	}
	r = sd_event_add_io(d->event, &ax->io, ring_buffer__epoll_fd(ax->rb), EPOLLIN, on_ring, ax);
	if (r < 0)
		goto out;
	d->anon_exec = ax;
	/* What is marked already; fanotify.c reports each mark from now on. */
	for (size_t i = 0; i < fan_watched_entries(d->fan); i++) {
		unsigned int major, minor;
		const char *key;

		if (fan_watched_path(d->fan, i, &key) && fan_key_dev(key, &major, &minor))
			santad_anon_exec_marked(d, major, minor, true);
	}
	santad_anon_exec_policy_changed(d);
	santa_log(&d->log, LOG_INFO, "Anonymous executables (memfd): BPF LSM backstop attached");
	return 0;
out:
	anon_exec_free(ax);
	return r;
}

void
santad_anon_exec_policy_changed(struct santad *d)
{
	struct anon_exec_config cfg = { 0 };
	__u32 key = 0;

	if (!d->anon_exec)
		return;
	cfg.lockdown = d->policy->cfg.client_mode == SANTA_MODE_LOCKDOWN;
	/* WatchPaths leave the other filesystems unwatched on purpose; marks are by filesystem. */
	cfg.enforce_unmarked = d->start.watch_paths.n == 0 && !d->start.watch_mark_mount;
	if (bpf_map__update_elem(d->anon_exec->skel->maps.settings, &key, sizeof(key), &cfg,
				 sizeof(cfg), BPF_ANY) < 0)
		santa_log_errno(&d->log, LOG_ERR, -errno,
				"Anonymous executables: the mode did not reach the BPF program: %m");
}

void
santad_anon_exec_marked(struct santad *d, unsigned int major, unsigned int minor, bool marked)
{
	__u32 dev = major << 20 | minor; /* the kernel's dev_t, as in super_block.s_dev */
	__u8 one = 1;

	if (!d->anon_exec)
		return;
	if (marked)
		(void)bpf_map__update_elem(d->anon_exec->skel->maps.marked_devs, &dev, sizeof(dev),
					   &one, sizeof(one), BPF_ANY);
	else
		(void)bpf_map__delete_elem(d->anon_exec->skel->maps.marked_devs, &dev, sizeof(dev), 0);
}

uint64_t
santad_anon_exec_lost(struct santad *d)
{
	__u64 lost = 0;
	__u32 key = 0;

	if (!d->anon_exec || bpf_map__lookup_elem(d->anon_exec->skel->maps.lost_events, &key,
						   sizeof(key), &lost, sizeof(lost), 0) < 0)
		return 0;
	return lost;
}

void
santad_anon_exec_stop(struct santad *d)
{
	anon_exec_free(d->anon_exec);
	d->anon_exec = NULL;
}

#else /* !SANTA_HAVE_BPF */

int
santad_anon_exec_start(struct santad *d)
{
	santa_log(&d->log, LOG_WARNING, "Anonymous executables (memfd) not enforced: santad was "
		  "built without the BPF LSM backstop (clang, bpftool, libbpf-dev and the kernel's "
		  "BTF are needed at build time)");
	return -EOPNOTSUPP;
}

void
santad_anon_exec_policy_changed(struct santad *d)
{
}

void
santad_anon_exec_marked(struct santad *d, unsigned int major, unsigned int minor, bool marked)
{
}

uint64_t
santad_anon_exec_lost(struct santad *d)
{
	return 0;
}

void
santad_anon_exec_stop(struct santad *d)
{
}

#endif

bool
santad_anon_exec_enforced(const struct santad *d)
{
	return d->anon_exec != NULL;
}
