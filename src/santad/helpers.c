/*
 * santad as launchd: it owns each helper's listening socket in RunDirectory,
 * starts the helper with that socket and a private channel back to santad
 * (systemd's LISTEN_FDS convention, so the same binary runs under a socket
 * unit), drops it to its own user with an empty capability set, restarts it
 * with backoff when it crashes, and stops it when the configuration no longer
 * wants it.
 *
 * Each helper runs as a user of its own (SyncServiceUser, MetricServiceUser,
 * BundleServiceUser: _santasync, _santametric, _santabundle, made by the
 * package's postinst), because the kernel lets a process with the same uid
 * read another's memory (/proc/PID/mem, environ) and signal it: under a uid
 * shared with other daemons (nobody), any of them could take the sync
 * service's TLS key or kill it into a crash loop. A user that is missing,
 * root, nobody, or another helper's is refused: that helper does not start,
 * and the log says why. santad never falls back to another user (a shared
 * one is the hole; a uid picked from a free range, as systemd's DynamicUser
 * does, would need santad to own that range across the machine).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cap-ng.h>

#include "santa/ipc.h"
#include "santa/path.h"
#include "santad.h"
#include "helpers.h"

struct helper_spec {
	const char *name;
	bool on_demand;     /* started by the first client, exits when idle */
	bool read_any_file; /* keeps CAP_DAC_READ_SEARCH, CAP_SETUID, CAP_SETGID (ambient); else none */
	size_t user_offset; /* in struct santad_live_settings: the string naming its own user */
	const char *user_key; /* that key's name in santa.conf, for messages */
};

struct helper {
	const struct helper_spec *spec;
	struct santad *daemon;
	char path[PATH_MAX];      /* HelperDirectory/name */
	char sock_path[PATH_MAX]; /* RunDirectory/name.sock */
	int listen_fd;            /* ours; the helper gets a copy at spawn */
	/*
	 * santametricservice's Prometheus listener (127.0.0.1:tcp_port), held by
	 * santad like listen_fd so that no one else can take the port while the
	 * helper restarts; -1 for the others or when the port is off.
	 */
	int tcp_fd;
	int64_t tcp_port;
	sd_event_source *demand;  /* on-demand: readable socket starts it */
	pid_t pid;
	sd_event_source *child;
	struct ipc_conn *conn; /* santad's end of the private channel */
	bool wanted, gave_up;
	bool reload; /* stopped after a SIGHUP, to be started again with the new config */
	unsigned int failures; /* in a row, each within HELPER_STABLE_USEC of its start */
	uint64_t restarts, started_usec;
	sd_event_source *restart, *stop_timer;
	/* Its private channel's handlers, as santad_helpers_init was given them. */
	struct ipc_conn_handlers channel;
};

#define HELPER_BACKOFF_MIN_USEC   (500 * 1000ULL)
#define HELPER_BACKOFF_MAX_USEC   (60 * 1000 * 1000ULL)
#define HELPER_STABLE_USEC        (30 * 1000 * 1000ULL) /* up this long: the failure count resets */
#define HELPER_CRASH_LOOP_LIMIT   5
#define HELPER_STOP_TIMEOUT_USEC  (3 * 1000 * 1000ULL)

#define HELPER_PROMETHEUS_BACKLOG 64

static const struct helper_spec specs[HELPER_MAX] = {
	[HELPER_SYNC] = { "santasyncservice", false, false,
			  offsetof(struct santad_live_settings, sync_service_user),
			  "SyncServiceUser" },
	[HELPER_METRIC] = { "santametricservice", false, false,
			    offsetof(struct santad_live_settings, metric_service_user),
			    "MetricServiceUser" },
	[HELPER_BUNDLE] = { "santabundleservice", true, true,
			    offsetof(struct santad_live_settings, bundle_service_user),
			    "BundleServiceUser" },
};

static const char *
helper_user_name(const struct santad_live_settings *cfg, enum helper_kind kind)
{
	return *(const char *const *)((const char *)cfg + specs[kind].user_offset);
}

/*
 * The uid and gid helper kind runs as, from its user in the live
 * configuration. Refuses (-EPERM, why says it) a user that would share its
 * identity: root, nobody (the kernel's overflow uid, every daemon's spare
 * user) or the user of another helper; -ENOENT when there is no such user.
 */
static int
helper_user(struct santad *d, enum helper_kind kind, uid_t *uid, gid_t *gid, char *why,
	    size_t why_size)
{
	const struct santad_live_settings *cfg = &d->policy->cfg;
	const char *name = helper_user_name(cfg, kind);
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r;

	if (!name || !name[0]) {
		snprintf(why, why_size, "%s is empty", specs[kind].user_key);
		return -EINVAL;
	}
	r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (r != 0 || !res) {
		snprintf(why, why_size, "there is no user '%s' (%s) to run it as: the package "
			 "creates it; santad runs a helper only as a user of its own", name,
			 specs[kind].user_key);
		return r ? -r : -ENOENT;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		snprintf(why, why_size, "%s = %s is root's uid or group: refused", specs[kind].user_key,
			 name);
		return -EPERM;
	}
	if (pw.pw_uid == 65534 || strcmp(name, "nobody") == 0) {
		snprintf(why, why_size, "%s = %s is nobody, shared with other daemons: refused",
			 specs[kind].user_key, name);
		return -EPERM;
	}
	for (int k = 0; k < HELPER_MAX; k++) {
		const char *other = helper_user_name(cfg, (enum helper_kind)k);
		struct passwd opw, *ores = NULL;
		char obuf[4096];

		if (k == (int)kind || !other)
			continue;
		if (strcmp(other, name) == 0 ||
		    (getpwnam_r(other, &opw, obuf, sizeof(obuf), &ores) == 0 && ores &&
		     opw.pw_uid == pw.pw_uid)) {
			snprintf(why, why_size, "%s = %s has the uid of %s's user (%s): each helper "
				 "needs a user of its own", specs[kind].user_key, name, specs[k].name,
				 other);
			return -EPERM;
		}
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

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
	const struct santad_live_settings *cfg = &d->policy->cfg;

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
 * libcap-ng's calls rely on). fds[i] becomes fd 3 + i.
 */
static _Noreturn void
exec_helper(const struct helper *h, const int *fds, int n_fds, uid_t uid, gid_t gid,
	    pid_t parent, char **argv, char **envp, char *listen_pid)
{
	/*
	 * The bundle service reads what root asks it to hash, and for anyone
	 * else takes that user's file system identity on the request's thread
	 * (santabundleservice/creds.c; its seccomp filter keeps it from ever
	 * becoming root), and nothing more.
	 */
	static const unsigned int bundle_caps[] = { CAP_DAC_READ_SEARCH, CAP_SETUID, CAP_SETGID };
	size_t n_keep = h->spec->read_any_file ? sizeof(bundle_caps) / sizeof(bundle_caps[0]) : 0;
	int high[4];
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (uid == 0 || gid == 0 || n_fds > (int)(sizeof(high) / sizeof(high[0])))
		_exit(126); /* never root: helper_user refused it already */
	/* santad's niceness is for answering execs (priority.h), not for its helpers. */
	if (setpriority(PRIO_PROCESS, 0, 0) < 0)
		_exit(126);
	/* Above 3 + n_fds first, so that placing one cannot clobber another. */
	for (int i = 0; i < n_fds; i++)
		if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(126);
	for (int i = 0; i < n_fds; i++)
		if (place_fd(high[i], 3 + i) < 0)
			_exit(126);
	close_range(3 + (unsigned int)n_fds, ~0U, 0);

	/* The bounding set while we still have CAP_SETPCAP, then the ids, then the sets. */
	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < n_keep; i++)
		capng_update(CAPNG_ADD, CAPNG_BOUNDING_SET, bundle_caps[i]);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		_exit(126);
	if (prctl(PR_SET_KEEPCAPS, n_keep ? 1 : 0, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(126);
	for (size_t i = 0; i < n_keep; i++)
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE,
			     bundle_caps[i]);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		_exit(126);
	/* Ambient: what a non-root process keeps across execve (no file capabilities). */
	for (size_t i = 0; i < n_keep; i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, bundle_caps[i], 0, 0) < 0)
			_exit(126);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
		_exit(126);
	if (getppid() != parent)
		_exit(0); /* santad died before we could ask to follow it */
	format_pid(listen_pid + strlen("LISTEN_PID="), getpid());
	/*
	 * execve makes the helper dumpable again (same uid before and after), so
	 * each helper says PR_SET_DUMPABLE 0 first thing in main; until then only
	 * its own uid, which no other process has, could look inside it.
	 */
	execve(h->path, argv, envp);
	_exit(127);
}

/*
 * santametricservice's Prometheus listener on 127.0.0.1:MetricPrometheusPort,
 * made (or moved to a new port, or closed) to match the live configuration.
 * santad holds it across the helper's restarts: bound and listening all along,
 * nobody else can bind the port in between, and scrapes wait in its backlog.
 */
static void
helper_prometheus_socket(struct santad *d, struct helper *h)
{
	int64_t port = d->policy->cfg.metric_prometheus_port;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd, one = 1, r;

	if (h->tcp_fd >= 0 && h->tcp_port == port)
		return;
	if (h->tcp_fd >= 0) {
		close(h->tcp_fd);
		h->tcp_fd = -1;
	}
	h->tcp_port = 0;
	if (port <= 0)
		return;
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, HELPER_PROMETHEUS_BACKLOG) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		santa_log_errno(&d->log, LOG_ERR, r, "%s: cannot listen on 127.0.0.1:%lld for "
				"Prometheus (tried again at its next start): %m", h->spec->name,
				(long long)port);
		return;
	}
	h->tcp_fd = fd;
	h->tcp_port = port;
}

static int on_helper_exit(sd_event_source *s, const siginfo_t *si, void *userdata);
static void schedule_restart(struct santad *d, struct helper *h);

static int
helper_spawn(struct santad *d, struct helper *h)
{
	char listen_pid[32] = "LISTEN_PID=", listen_fds[32], fdnames[128], config_arg[PATH_MAX + 16];
	char why[512];
	char *argv[] = { (char *)h->spec->name, config_arg, NULL };
	char *envp[] = { listen_fds, fdnames, listen_pid, "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	struct ipc_peer peer = { 0 };
	enum helper_kind kind = (enum helper_kind)(h->spec - specs);
	int pair[2] = { -1, -1 }, fds[3], n_fds = 2, r;
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
	r = helper_user(d, kind, &uid, &gid, why, sizeof(why));
	if (r < 0) {
		santa_log(&d->log, LOG_ERR, "%s: not started: %s", h->spec->name, why);
		return r;
	}
	if (kind == HELPER_METRIC)
		helper_prometheus_socket(d, h);
	snprintf(fdnames, sizeof(fdnames), "LISTEN_FDNAMES=%s.sock:santad%s", h->spec->name,
		 h->tcp_fd >= 0 ? ":prometheus" : "");
	snprintf(config_arg, sizeof(config_arg), "--config=%s", d->config_path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
		return -errno;
	fds[0] = h->listen_fd;
	fds[1] = pair[1];
	if (h->tcp_fd >= 0)
		fds[n_fds++] = h->tcp_fd;
	snprintf(listen_fds, sizeof(listen_fds), "LISTEN_FDS=%d", n_fds);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto fail;
	}
	if (pid == 0)
		exec_helper(h, fds, n_fds, uid, gid, getppid(), argv, envp, listen_pid);
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
	r = ipc_conn_from_endpoint(d->event, pair[0], &peer, NULL, &h->channel, d, &h->conn);
	pair[0] = -1;
	if (r < 0)
		santa_log_errno(&d->log, LOG_WARNING, r, "%s: no channel to it: %m", h->spec->name);
	if (h->demand)
		sd_event_source_set_enabled(h->demand, SD_EVENT_OFF);
	santa_log(&d->log, LOG_INFO, "%s started (pid %d, user %s, uid %u, %s)", h->spec->name,
		  (int)pid, helper_user_name(&d->policy->cfg, kind), (unsigned)uid,
		  h->spec->read_any_file ? "CAP_DAC_READ_SEARCH, CAP_SETUID and CAP_SETGID only, "
					   "none effective in its main thread"
					 : "no capabilities");
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
	if (helper_spawn(d, h) < 0) {
		/* A start that fails (a refused user, a missing program) counts towards giving up. */
		h->failures++;
		schedule_restart(d, h);
	}
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
	if (h->tcp_fd >= 0) {
		close(h->tcp_fd);
		h->tcp_fd = -1;
		h->tcp_port = 0;
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
santad_helpers_init(struct santad *d, struct ipc_conn_handlers channel)
{
	int r;

	d->helpers = calloc(HELPER_MAX, sizeof(*d->helpers));
	if (!d->helpers)
		return santa_log_errno(&d->log, LOG_ERR, -ENOMEM, "Failed to set up the helpers: %m");
	for (int k = 0; k < HELPER_MAX; k++) {
		struct helper *h = &d->helpers[k];

		h->spec = &specs[k];
		h->daemon = d;
		h->channel = channel;
		h->listen_fd = -1;
		h->tcp_fd = -1;
		r = santa_path_join(h->path, sizeof(h->path), d->start.helper_directory, h->spec->name);
		if (r == 0) {
			char sock[64];

			snprintf(sock, sizeof(sock), "%s.sock", h->spec->name);
			r = santa_path_join(h->sock_path, sizeof(h->sock_path), d->start.run_directory,
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
	if (!d->helpers)
		return;
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
	/* Nothing refers to them now: every source and channel of theirs is gone. */
	free(d->helpers);
	d->helpers = NULL;
}

static const char *
helper_state(const struct helper *h)
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

void
santad_helper_status(const struct santad *d, enum helper_kind k, struct helper_status *st)
{
	const struct helper *h = &d->helpers[k];

	*st = (struct helper_status){ .name = h->spec ? h->spec->name : NULL, .pid = h->pid,
				      .restarts = h->restarts, .wanted = h->wanted };
	if (h->spec)
		st->state = helper_state(h);
}

struct ipc_conn *
santad_helper_conn(const struct santad *d, enum helper_kind k)
{
	return d->helpers[k].conn;
}
