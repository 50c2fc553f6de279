/*
 * santad as launchd: it owns each helper's listening socket in RunDirectory,
 * starts the helper with that socket and a private channel back to santad
 * (systemd's LISTEN_FDS convention, so the same binary runs under a socket
 * unit), drops it to its user with an empty capability set, restarts it with
 * backoff when it crashes, and stops it when the configuration no longer
 * wants it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "santa/ipc.h"
#include "santa/path.h"
#include "santad.h"

#define HELPER_BACKOFF_MIN_USEC   (500 * 1000ULL)
#define HELPER_BACKOFF_MAX_USEC   (60 * 1000 * 1000ULL)
#define HELPER_STABLE_USEC        (30 * 1000 * 1000ULL) /* up this long: the failure count resets */
#define HELPER_CRASH_LOOP_LIMIT   5
#define HELPER_STOP_TIMEOUT_USEC  (3 * 1000 * 1000ULL)

static const struct helper_spec specs[HELPER_MAX] = {
	[HELPER_SYNC] = { "santasyncservice", false, false },
	[HELPER_METRIC] = { "santametricservice", false, false },
	[HELPER_BUNDLE] = { "santabundleservice", true, true },
};

static uint64_t
now_usec(struct santad *d)
{
	uint64_t now = 0;

	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	return now;
}

/* Does the live configuration want this helper running (or, on demand, startable)? */
static bool
helper_wanted(struct santad *d, enum helper_kind kind)
{
	const struct santa_config *cfg = &d->policy->cfg;

	if (cfg->systemd_helper_units)
		return false; /* socket units listen and start them; they connect to santad */
	switch (kind) {
	case HELPER_SYNC:
		return cfg->sync_base_url != NULL;
	case HELPER_METRIC:
		return cfg->metric_url || cfg->metric_prometheus_port > 0 || cfg->metric_textfile_path;
	case HELPER_BUNDLE: {
		/* On demand: its socket is there whenever the program is installed. */
		char path[PATH_MAX];

		return santa_path_join(path, sizeof(path), cfg->helper_directory,
				       "santabundleservice") == 0 &&
		       access(path, X_OK) == 0;
	}
	default:
		return false;
	}
}

/* Writes v in decimal into buf without the C library (we are between fork and exec). */
static void
format_pid(char *buf, pid_t v)
{
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < (int)sizeof(tmp));
	while (n > 0)
		*buf++ = tmp[--n];
	*buf = '\0';
}

/* Moves fd to target, leaving it inheritable. */
static int
place_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

/*
 * The child between fork and exec: santad has threads, so only what is safe
 * after fork happens here (glibc keeps malloc usable after fork, which
 * libcap-ng's calls rely on).
 */
static _Noreturn void
exec_helper(const struct helper *h, int listen_fd, int chan_fd, uid_t uid, gid_t gid,
	    pid_t parent, char **argv, char **envp, char *listen_pid)
{
	sigset_t none;
	int high_listen, high_chan;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Above 3 and 4 first, so that placing one cannot clobber the other. */
	high_listen = fcntl(listen_fd, F_DUPFD_CLOEXEC, 10);
	high_chan = fcntl(chan_fd, F_DUPFD_CLOEXEC, 10);
	if (high_listen < 0 || high_chan < 0 || place_fd(high_listen, 3) < 0 ||
	    place_fd(high_chan, 4) < 0)
		_exit(126);
	close_range(5, ~0U, 0);

	capng_clear(CAPNG_SELECT_BOTH);
	if (h->spec->as_root) {
		/*
		 * Reads what root asks it to hash, and, for anyone else, takes
		 * that user's file system identity on the request's thread
		 * (santabundleservice/creds.c), and nothing more.
		 * In the bounding set too: at execve root's permitted set becomes
		 * its bounding set, so an empty one would leave nothing.
		 */
		capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			      CAP_DAC_READ_SEARCH, CAP_SETUID, CAP_SETGID, -1);
		if (setgroups(0, NULL) < 0 || capng_apply(CAPNG_SELECT_BOTH) < 0)
			_exit(126);
	} else if (capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0) {
		_exit(126);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
		_exit(126);
	if (getppid() != parent)
		_exit(0); /* santad died before we could ask to follow it */
	format_pid(listen_pid + strlen("LISTEN_PID="), getpid());
	execve(h->path, argv, envp);
	_exit(127);
}

static int on_helper_exit(sd_event_source *s, const siginfo_t *si, void *userdata);
static void schedule_restart(struct santad *d, struct helper *h);

static int
helper_spawn(struct santad *d, struct helper *h)
{
	char listen_pid[32] = "LISTEN_PID=", fdnames[96], config_arg[PATH_MAX + 16];
	char *argv[] = { (char *)h->spec->name, config_arg, NULL };
	char *envp[] = { "LISTEN_FDS=2", fdnames, listen_pid, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			 NULL };
	struct passwd *pw;
	struct ipc_peer peer = { 0 };
	struct ipc_conn_handlers handlers = santad_channel_handlers();
	int pair[2] = { -1, -1 }, r;
	uid_t uid = 0;
	gid_t gid = 0;
	pid_t pid;

	/* From the live configuration: a fixed HelperDirectory takes effect with SIGHUP. */
	r = santa_path_join(h->path, sizeof(h->path), d->policy->cfg.helper_directory, h->spec->name);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "%s: path too long: %m", h->spec->name);
	if (access(h->path, X_OK) < 0) {
		r = -errno;
		santa_log_errno(&d->log, LOG_ERR, r, "%s: cannot run %s: %m", h->spec->name, h->path);
		return r;
	}
	if (!h->spec->as_root) {
		pw = getpwnam("nobody");
		if (!pw) {
			santa_log(&d->log, LOG_ERR, "%s: there is no user 'nobody' to run it as",
				  h->spec->name);
			return -ENOENT;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	snprintf(fdnames, sizeof(fdnames), "LISTEN_FDNAMES=%s.sock:santad", h->spec->name);
	snprintf(config_arg, sizeof(config_arg), "--config=%s", d->config_path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (pid == 0)
		exec_helper(h, h->listen_fd, pair[1], uid, gid, getppid(), argv, envp, listen_pid);
	close(pair[1]);
	pair[1] = -1;
	h->pid = pid;
	h->started_usec = now_usec(d);
	r = sd_event_add_child(d->event, &h->child, pid, WEXITED, on_helper_exit, h);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		h->pid = 0;
		goto fail;
	}
	/* Nothing else holds the other end: the peer is the child we just made. */
	snprintf(peer.name, sizeof(peer.name), "%s", h->spec->name);
	peer.pid = pid;
	peer.uid = uid;
	peer.gid = gid;
	r = ipc_conn_from_endpoint(d->event, pair[0], &peer, NULL, &handlers, d, &h->conn);
	pair[0] = -1;
	if (r < 0)
		santa_log_errno(&d->log, LOG_WARNING, r, "%s: no channel to it: %m", h->spec->name);
	if (h->demand)
		sd_event_source_set_enabled(h->demand, SD_EVENT_OFF);
	santa_log(&d->log, LOG_INFO, "%s started (pid %d, %s)", h->spec->name, (int)pid,
		  h->spec->as_root ? "root, CAP_DAC_READ_SEARCH, CAP_SETUID and CAP_SETGID only" : "nobody, no capabilities");
	return 0;
fail:
	if (pair[0] >= 0)
		close(pair[0]);
	if (pair[1] >= 0)
		close(pair[1]);
	return r;
}

static int
on_restart_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct helper *h = userdata;
	struct santad *d = h->daemon;

	h->restart = sd_event_source_disable_unref(h->restart);
	if (!h->wanted || h->pid > 0)
		return 0;
	if (helper_spawn(d, h) < 0)
		schedule_restart(d, h);
	return 0;
}

static void
schedule_restart(struct santad *d, struct helper *h)
{
	uint64_t delay = HELPER_BACKOFF_MIN_USEC;

	if (h->failures >= HELPER_CRASH_LOOP_LIMIT) {
		h->gave_up = true;
		santa_log(&d->log, LOG_ERR,
			  "%s failed %u times in a row: not restarting it (crash loop); fix it, "
			  "then send santad SIGHUP",
			  h->spec->name, h->failures);
		return;
	}
	for (unsigned int i = 1; i < h->failures && delay < HELPER_BACKOFF_MAX_USEC; i++)
		delay *= 2;
	if (delay > HELPER_BACKOFF_MAX_USEC)
		delay = HELPER_BACKOFF_MAX_USEC;
	santa_log(&d->log, LOG_WARNING, "%s: restarting in %llu ms (failure %u of %d)",
		  h->spec->name, (unsigned long long)(delay / 1000), h->failures,
		  HELPER_CRASH_LOOP_LIMIT);
	sd_event_add_time_relative(d->event, &h->restart, CLOCK_MONOTONIC, delay, 10000,
				   on_restart_timer, h);
}

static int
on_helper_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct helper *h = userdata;
	struct santad *d = h->daemon;
	bool clean = si->si_code == CLD_EXITED && si->si_status == 0;
	uint64_t up = now_usec(d) - h->started_usec;

	h->child = sd_event_source_disable_unref(h->child);
	h->pid = 0;
	if (h->conn) {
		struct ipc_conn *c = h->conn;

		h->conn = NULL;
		ipc_conn_invalidate(c);
		ipc_conn_unref(c);
	}
	if (h->stop_timer)
		h->stop_timer = sd_event_source_disable_unref(h->stop_timer);
	if (!h->wanted) {
		santa_log(&d->log, LOG_INFO, "%s stopped", h->spec->name);
		return 0;
	}
	if (h->reload) {
		/* Stopped to read the new configuration: not a failure, back at once. */
		h->reload = false;
		if (helper_spawn(d, h) < 0) {
			h->failures++;
			schedule_restart(d, h);
		}
		return 0;
	}
	if (clean && h->spec->on_demand) {
		/* Idle exit: the next client starts it again. */
		if (h->demand)
			sd_event_source_set_enabled(h->demand, SD_EVENT_ON);
		return 0;
	}
	h->restarts++;
	d->stats.helper_restarts++;
	h->failures = up >= HELPER_STABLE_USEC ? 1 : h->failures + 1;
	if (si->si_code == CLD_EXITED)
		santa_log(&d->log, LOG_WARNING, "%s (pid %d) exited with status %d", h->spec->name,
			  (int)si->si_pid, si->si_status);
	else
		santa_log(&d->log, LOG_WARNING, "%s (pid %d) was killed by %s", h->spec->name,
			  (int)si->si_pid, strsignal(si->si_status));
	schedule_restart(d, h);
	return 0;
}

/* A client knocked on an on-demand helper's socket. */
static int
on_demand(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct helper *h = userdata;

	if (h->pid > 0 || h->restart || h->gave_up)
		return 0;
	if (helper_spawn(h->daemon, h) < 0) {
		h->failures++;
		sd_event_source_set_enabled(h->demand, SD_EVENT_OFF);
		schedule_restart(h->daemon, h);
	}
	return 0;
}

static int
on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct helper *h = userdata;

	h->stop_timer = sd_event_source_disable_unref(h->stop_timer);
	if (h->pid > 0) {
		santa_log(&h->daemon->log, LOG_WARNING, "%s did not stop: killing it", h->spec->name);
		kill(h->pid, SIGKILL);
	}
	return 0;
}

static void
helper_stop(struct santad *d, struct helper *h)
{
	h->wanted = false;
	h->restart = sd_event_source_disable_unref(h->restart);
	h->demand = sd_event_source_disable_unref(h->demand);
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		if (!h->stop_timer)
			sd_event_add_time_relative(d->event, &h->stop_timer, CLOCK_MONOTONIC,
						   HELPER_STOP_TIMEOUT_USEC, 10000,
						   on_stop_timeout, h);
	}
	if (h->listen_fd >= 0) {
		close(h->listen_fd);
		h->listen_fd = -1;
		unlink(h->sock_path);
	}
}

static int
helper_start(struct santad *d, struct helper *h)
{
	int r;

	h->wanted = true;
	h->gave_up = false;
	h->failures = 0;
	if (h->listen_fd < 0) {
		/* Anyone may connect: every helper validates its clients itself. */
		r = ipc_listen_socket(h->sock_path, 0666, &h->listen_fd);
		if (r < 0)
			return santa_log_errno(&d->log, LOG_ERR, r, "%s: cannot listen on %s: %m",
					       h->spec->name, h->sock_path);
	}
	if (h->spec->on_demand) {
		if (!h->demand) {
			r = sd_event_add_io(d->event, &h->demand, h->listen_fd, EPOLLIN, on_demand, h);
			if (r < 0)
				return r;
		}
		return 0;
	}
	if (h->pid > 0 || h->restart)
		return 0;
	r = helper_spawn(d, h);
	if (r < 0) {
		h->failures++;
		schedule_restart(d, h);
	}
	return 0;
}

void
santad_helpers_reconcile(struct santad *d)
{
	for (int k = 0; k < HELPER_MAX; k++) {
		struct helper *h = &d->helpers[k];
		bool want = helper_wanted(d, (enum helper_kind)k);

		if (want && (!h->wanted || h->gave_up)) {
			helper_start(d, h);
		} else if (!want && h->wanted) {
			helper_stop(d, h);
		} else if (want && h->pid > 0 && !h->reload) {
			/* It read santa.conf at start: restart it so the new one applies. */
			h->reload = true;
			kill(h->pid, SIGTERM);
		}
	}
}

int
santad_helpers_init(struct santad *d)
{
	int r;

	for (int k = 0; k < HELPER_MAX; k++) {
		struct helper *h = &d->helpers[k];

		h->spec = &specs[k];
		h->daemon = d;
		h->listen_fd = -1;
		r = santa_path_join(h->path, sizeof(h->path), d->cfg.helper_directory, h->spec->name);
		if (r == 0) {
			char sock[64];

			snprintf(sock, sizeof(sock), "%s.sock", h->spec->name);
			r = santa_path_join(h->sock_path, sizeof(h->sock_path), d->cfg.run_directory,
					    sock);
		}
		if (r < 0)
			return santa_log_errno(&d->log, LOG_ERR, r, "helper paths too long: %m");
	}
	santad_helpers_reconcile(d);
	return 0;
}

void
santad_helpers_stop(struct santad *d)
{
	for (int k = 0; k < HELPER_MAX; k++) {
		struct helper *h = &d->helpers[k];

		if (!h->spec)
			continue;
		helper_stop(d, h);
		h->stop_timer = sd_event_source_disable_unref(h->stop_timer);
		h->child = sd_event_source_disable_unref(h->child);
		if (h->conn) {
			ipc_conn_invalidate(h->conn);
			ipc_conn_unref(h->conn);
			h->conn = NULL;
		}
		/* The helper follows us (PDEATHSIG and its channel closing); no need to wait. */
	}
}

const char *
santad_helper_state(const struct helper *h)
{
	if (h->daemon->policy->cfg.systemd_helper_units)
		return "systemd";
	if (!h->wanted)
		return "off";
	if (h->gave_up)
		return "crash loop";
	if (h->pid > 0)
		return "running";
	if (h->restart)
		return "restarting";
	return h->spec->on_demand ? "on demand" : "stopped";
}
