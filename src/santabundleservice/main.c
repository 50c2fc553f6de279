/*
 * santabundleservice: hashes a whole bundle (the Debian package or
 * application tree a blocked file belongs to) for santa-gui, streaming
 * progress over the endpoint the agent passed, and tells santad the result
 * so the events awaiting upload carry file_bundle_* fields. santad starts it
 * on demand, when a client first connects to its socket, as its own user
 * (_santabundle) with only CAP_DAC_READ_SEARCH, CAP_SETUID and CAP_SETGID,
 * none effective in its main thread, and a seccomp filter that keeps it
 * from ever becoming root; it exits after BundleServiceIdleSec without
 * clients, and when its channel to santad closes.
 *
 * Each request runs on a thread of its own with its client's identity
 * (creds.c): a user learns nothing of a file they could not read. Its work
 * is bounded (files, entries, bytes, BUNDLE_JOB_USEC_MAX) and cancelled when
 * the client goes or the service stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "bundle.h"
#include "creds.h"
#include "santa/clock.h"
#include <sys/prctl.h>

#include "santa/helper_args.h"
#include "santa/ipc.h"
#include "santa/log.h"
#include "santa/ratelimit.h"
#include "santa/path.h"
#include "santa/santad_proto.h"

#define BUNDLE_JOBS_MAX     8                  /* bundles hashed at once; more are refused */
#define BUNDLE_JOBS_PER_USER_MAX 2             /* of those, one uid's: no user takes every slot */
#define BUNDLE_JOB_USEC_MAX (120 * 1000000ULL) /* a request's time; then it is cancelled */
#define PROGRESS_TICK_USEC  (100 * 1000ULL)    /* progress events at most this often */
#define IDLE_CHECK_USEC     (1000 * 1000ULL)
#define BUNDLE_REPLY_LIST_BYTES (IPC_MAX_BODY - 8 * 1024) /* room left for the other fields */

struct bundlesvc;

struct job {
	struct job *next;
	struct bundlesvc *svc;
	struct ipc_conn *conn;     /* the client, to answer */
	struct ipc_msg *request;
	struct ipc_conn *progress; /* the client's endpoint, or NULL */
	char path[PATH_MAX];
	uid_t uid;                 /* the client's identity, which the thread takes */
	gid_t gid;
	gid_t groups[BUNDLE_GROUPS_MAX];
	size_t n_groups;
	struct bundle_ctl ctl;
	pthread_t thread;
	bool thread_started;
	atomic_size_t done, total;
	atomic_bool finished;
	size_t last_progress;
	/* Set by the job's thread before finished. */
	int result;
	char why[PATH_MAX + 512];
	struct bundle bundle;
	int file_error;
	uint8_t file_sha256[SANTA_SHA256_LEN];
	uint64_t started_usec, millis;
};

struct bundlesvc {
	struct santa_log log;
	struct santa_ratelimit refusals; /* the listener's refusal log lines, per uid */
	struct santa_config cfg;
	const char *config_path;
	sd_event *event;
	struct ipc_conn *santad;
	struct ipc_listener *listener;
	sd_event_source *tick, *idle;
	struct job *jobs;
	unsigned int n_jobs;
	uint64_t last_busy_usec;
	unsigned int threads;
};


static void *
job_thread(void *arg)
{
	struct job *job = arg;
	struct bundlesvc *svc = job->svc;
	struct stat st;
	int fd;

	job->file_error = -1;
	job->result = bundle_creds_become(job->uid, job->gid, job->groups, job->n_groups);
	if (job->result < 0) {
		snprintf(job->why, sizeof(job->why), "cannot take the identity of uid %u: %s",
			 (unsigned)job->uid, strerror(-job->result));
		goto out;
	}
	/* The file asked about first: a FIFO, a device or a secret ends here, at once. */
	fd = bundle_open_regular(AT_FDCWD, job->path, 0, &st);
	if (fd == -EINVAL) {
		job->result = fd;
		snprintf(job->why, sizeof(job->why), "%s is not a regular file", job->path);
		goto out;
	}
	if (fd < 0) {
		job->result = fd;
		snprintf(job->why, sizeof(job->why), "cannot open %s: %s%s", job->path,
			 strerror(-fd), fd == -ELOOP ? " (a symlink on the way)" : "");
		goto out;
	}
	job->file_error = bundle_hash_fd(fd, st.st_size, &job->ctl, job->file_sha256);
	close(fd);
	if (job->file_error < 0) {
		job->result = job->file_error;
		goto out;
	}
	job->result = bundle_find(job->path, &svc->cfg.bundle_roots, &job->bundle, &job->ctl,
				  job->why, sizeof(job->why));
	if (job->result == 0) {
		atomic_store(&job->total, job->bundle.n_exes);
		job->result = bundle_hash(&job->bundle, svc->threads, &job->done, &job->ctl);
	}
out:
	if (job->result < 0 && atomic_load(&job->ctl.cancel) < 0)
		job->result = atomic_load(&job->ctl.cancel);
	if (job->result == -E2BIG)
		snprintf(job->why, sizeof(job->why), "the bundle of %s is too large (more than %d "
			 "executables, %d entries or %llu bytes)", job->path, BUNDLE_EXECUTABLES_MAX,
			 BUNDLE_TREE_ENTRIES_MAX, (unsigned long long)BUNDLE_HASH_BYTES_MAX);
	else if (job->result == -ETIMEDOUT)
		snprintf(job->why, sizeof(job->why), "hashing the bundle of %s took more than %llu s",
			 job->path, (unsigned long long)(BUNDLE_JOB_USEC_MAX / 1000000));
	else if (job->result == -ECANCELED)
		snprintf(job->why, sizeof(job->why), "hashing the bundle of %s: the client went away",
			 job->path);
	else if (job->result == -ESHUTDOWN)
		snprintf(job->why, sizeof(job->why), "the bundle service stopped");
	else if (job->result < 0 && !job->why[0])
		snprintf(job->why, sizeof(job->why), "hashing the bundle of %s failed: %s",
			 job->path, strerror(-job->result));
	job->millis = (santa_mono_usec() - job->started_usec) / 1000;
	atomic_store(&job->finished, true);
	return NULL;
}

static void
send_progress(struct job *job)
{
	size_t done = atomic_load(&job->done), total = atomic_load(&job->total);
	struct ipc_msg *m;

	if (!job->progress || done == job->last_progress || total == 0)
		return;
	job->last_progress = done;
	m = ipc_msg_new(BUNDLESERVICE_PROGRESS);
	if (!m)
		return;
	ipc_dict_put_int(ipc_msg_body(m), "hashed", (int64_t)done);
	ipc_dict_put_int(ipc_msg_body(m), "total", (int64_t)total);
	(void)ipc_conn_send_event(job->progress, m);
}

static void
on_santad_reply(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct bundlesvc *svc = userdata;
	const char *text = NULL;

	if (error < 0)
		santa_log(&svc->log, LOG_WARNING, "santad did not take the bundle result: %s",
			  strerror(-error));
	else if (ipc_msg_flags(reply) & IPC_FLAG_ERROR && ipc_msg_error(reply, &text) < 0)
		santa_log(&svc->log, LOG_WARNING, "santad did not take the bundle result: %s", text);
	ipc_msg_free(reply);
}

/* The events santad keeps for the sync server learn their bundle. */
static void
report_to_santad(struct bundlesvc *svc, struct job *job, const char *bundle_hex)
{
	char file_hex[SANTA_SHA256_HEX_LEN + 1];
	struct ipc_msg *m;
	struct ipc_value *b;

	/*
	 * A client who may not read all of it sees a bundle of its own: not the
	 * bundle's hash, and not for the sync server.
	 */
	if (!svc->santad || job->file_error < 0 || job->bundle.n_denied > 0)
		return;
	m = ipc_msg_new(SANTAD_BUNDLE_RESULT);
	if (!m)
		return;
	b = ipc_msg_body(m);
	santa_sha256_to_hex(job->file_sha256, file_hex);
	ipc_dict_put_string(b, "file_sha256", file_hex);
	ipc_dict_put_string(b, "bundle_hash", bundle_hex);
	ipc_dict_put_int(b, "binary_count", (int64_t)job->bundle.n_hashed);
	ipc_dict_put_string(b, "kind", job->bundle.kind);
	ipc_dict_put_string(b, "name", job->bundle.name);
	ipc_dict_put_string(b, "version", job->bundle.version);
	ipc_dict_put_string(b, "bundle_path", job->bundle.root);
	ipc_dict_put_int(b, "millis", (int64_t)job->millis);
	/* Every executable, for BUNDLE_BINARY events: a memfd, since a big package outgrows a message. */
	{
		int fd = memfd_create("santa-bundle", MFD_CLOEXEC);
		FILE *f = fd >= 0 ? fdopen(dup(fd), "w") : NULL;
		char hex[SANTA_SHA256_HEX_LEN + 1];

		for (size_t i = 0; f && i < job->bundle.n_exes; i++) {
			if (job->bundle.exes[i].error < 0 || strchr(job->bundle.exes[i].path, '\n'))
				continue;
			santa_sha256_to_hex(job->bundle.exes[i].sha256, hex);
			fprintf(f, "%s\t%s\n", hex, job->bundle.exes[i].path);
		}
		if (f && fclose(f) == 0)
			ipc_dict_put_fd(b, "binaries", fd);
		else if (fd >= 0)
			close(fd);
	}
	(void)ipc_conn_send_request(svc->santad, m, 0, on_santad_reply, svc);
}

static void
answer(struct bundlesvc *svc, struct job *job)
{
	char hex[SANTA_SHA256_HEX_LEN + 1];
	struct ipc_value *b, *list;
	struct ipc_msg *reply;
	size_t i, n = 0, bytes = 0;

	send_progress(job);
	if (job->result < 0) {
		santa_log(&svc->log, LOG_INFO, "%s", job->why);
		ipc_conn_reply_error(job->conn, job->request, job->result, job->why);
		return;
	}
	reply = ipc_msg_new(BUNDLESERVICE_HASH);
	if (!reply) {
		ipc_conn_reply_error(job->conn, job->request, -ENOMEM, "out of memory");
		return;
	}
	b = ipc_msg_body(reply);
	santa_sha256_to_hex(job->bundle.bundle_hash, hex);
	ipc_dict_put_string(b, "kind", job->bundle.kind);
	ipc_dict_put_string(b, "bundle_path", job->bundle.root);
	ipc_dict_put_string(b, "name", job->bundle.name);
	ipc_dict_put_string(b, "version", job->bundle.version);
	ipc_dict_put_string(b, "bundle_hash", hex);
	ipc_dict_put_int(b, "binary_count", (int64_t)job->bundle.n_hashed);
	ipc_dict_put_int(b, "millis", (int64_t)job->millis);
	report_to_santad(svc, job, hex);
	if (job->file_error == 0) {
		santa_sha256_to_hex(job->file_sha256, hex);
		ipc_dict_put_string(b, "file_sha256", hex);
	}
	list = ipc_dict_put_container(b, "executables", IPC_ARRAY);
	for (i = 0; i < job->bundle.n_exes && n < BUNDLE_REPLY_EXECUTABLES; i++) {
		struct ipc_value *e;

		if (job->bundle.exes[i].error < 0)
			continue;
		/* The list stops where the message would outgrow one datagram. */
		bytes += strlen(job->bundle.exes[i].path) + SANTA_SHA256_HEX_LEN + 32;
		if (bytes > BUNDLE_REPLY_LIST_BYTES)
			break;
		e = ipc_array_add_dict(list);
		santa_sha256_to_hex(job->bundle.exes[i].sha256, hex);
		ipc_dict_put_string(e, "path", job->bundle.exes[i].path);
		ipc_dict_put_string(e, "sha256", hex);
		n++;
	}
	santa_log(&svc->log, LOG_INFO, "%s: bundle %s%s%s (%s), %zu executables in %llu ms",
		  job->path, job->bundle.name, job->bundle.version[0] ? " " : "", job->bundle.version,
		  job->bundle.kind,
		  job->bundle.n_hashed, (unsigned long long)job->millis);
	if (ipc_conn_reply(job->conn, job->request, reply) < 0)
		santa_log(&svc->log, LOG_WARNING, "the answer for %s did not fit in a message",
			  job->path);
}

static void
job_cancel(struct job *job, int error)
{
	int none = 0;

	(void)atomic_compare_exchange_strong(&job->ctl.cancel, &none, error);
}

static void
job_free(struct job *job)
{
	if (job->thread_started)
		pthread_join(job->thread, NULL);
	bundle_free(&job->bundle);
	if (job->progress) {
		ipc_conn_invalidate(job->progress);
		ipc_conn_unref(job->progress);
	}
	ipc_conn_unref(job->conn);
	ipc_msg_free(job->request);
	free(job);
}

static int
on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct bundlesvc *svc = userdata;
	struct job **pp = &svc->jobs;

	while (*pp) {
		struct job *job = *pp;

		if (!atomic_load(&job->finished)) {
			if (santa_mono_usec() - job->started_usec > BUNDLE_JOB_USEC_MAX)
				job_cancel(job, -ETIMEDOUT);
			send_progress(job);
			pp = &job->next;
			continue;
		}
		*pp = job->next;
		svc->n_jobs--;
		pthread_join(job->thread, NULL);
		job->thread_started = false;
		answer(svc, job);
		job_free(job);
	}
	svc->last_busy_usec = santa_mono_usec();
	if (svc->jobs)
		sd_event_source_set_time(s, usec + PROGRESS_TICK_USEC);
	else
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return 0;
}

static void
handle_hash(struct bundlesvc *svc, struct ipc_conn *conn, struct ipc_msg *msg)
{
	const struct ipc_peer *peer = ipc_conn_peer(conn);
	const char *path = NULL;
	struct job *job;
	unsigned int n;
	int fd, r;

	if (ipc_dict_get_string(ipc_msg_body_const(msg), "path", &path) < 0 || path[0] != '/' ||
	    strlen(path) >= PATH_MAX) {
		ipc_conn_reply_error(conn, msg, -EINVAL, "path: an absolute path is expected");
		goto refuse;
	}
	if (svc->n_jobs >= BUNDLE_JOBS_MAX) {
		ipc_conn_reply_error(conn, msg, -EBUSY, "too many bundles being hashed; try again");
		goto refuse;
	}
	for (job = svc->jobs, n = 0; job; job = job->next)
		n += job->uid == peer->uid;
	if (n >= BUNDLE_JOBS_PER_USER_MAX) {
		ipc_conn_reply_error(conn, msg, -EBUSY, "too many of your bundles being hashed; "
				     "try again");
		goto refuse;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		ipc_conn_reply_error(conn, msg, -ENOMEM, "out of memory");
		goto refuse;
	}
	job->bundle.base_fd = -1;
	job->svc = svc;
	job->conn = ipc_conn_ref(conn);
	job->request = msg;
	job->uid = peer->uid;
	job->gid = peer->gid;
	r = ipc_conn_peer_groups(conn, job->groups, BUNDLE_GROUPS_MAX);
	if (r < 0) {
		/* Fewer groups would be safe but surprising: a clear no instead. */
		ipc_conn_reply_error(conn, msg, r, r == -ERANGE ? "too many supplementary groups" :
				     "cannot learn the client's groups");
		job->request = NULL;
		job_free(job);
		goto refuse;
	}
	job->n_groups = (size_t)r;
	snprintf(job->path, sizeof(job->path), "%s", path);
	job->started_usec = santa_mono_usec();
	fd = ipc_dict_take_fd(ipc_msg_body(msg), "progress");
	if (fd >= 0 &&
	    ipc_conn_from_endpoint(svc->event, fd, ipc_conn_peer(conn), NULL, NULL, NULL,
				   &job->progress) < 0)
		job->progress = NULL;
	if (pthread_create(&job->thread, NULL, job_thread, job) != 0) {
		ipc_conn_reply_error(conn, msg, -EAGAIN, "cannot start hashing");
		job->request = NULL;
		job_free(job);
		goto refuse;
	}
	job->thread_started = true;
	job->next = svc->jobs;
	svc->jobs = job;
	svc->n_jobs++;
	sd_event_source_set_time_relative(svc->tick, PROGRESS_TICK_USEC);
	sd_event_source_set_enabled(svc->tick, SD_EVENT_ON);
	return;
refuse:
	ipc_msg_free(msg);
}

/* ---- clients ---- */

static int
authorize(struct ipc_peer *peer, void *userdata, char *why, size_t why_size)
{
	if (strcmp(peer->name, "santa-gui") != 0 && strcmp(peer->name, "santad") != 0 &&
	    strcmp(peer->name, "santactl") != 0) {
		snprintf(why, why_size, "%s may not use %s", peer->name, BUNDLESERVICE_SOCKET_NAME);
		return -EPERM;
	}
	return 0;
}

static void
on_rejected(struct ipc_listener *l, const struct ipc_peer *peer, const char *why, void *userdata)
{
	struct bundlesvc *svc = userdata;

	santa_log_refusal(&svc->log, &svc->refusals, "", peer->pid, peer->uid, why);
}

static void
on_client_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct bundlesvc *svc = userdata;

	svc->last_busy_usec = santa_mono_usec();
	if (ipc_msg_flags(msg) & IPC_FLAG_ONEWAY) {
		ipc_msg_free(msg);
		return;
	}
	if (ipc_msg_type(msg) == BUNDLESERVICE_HASH) {
		handle_hash(svc, conn, msg);
		return;
	}
	ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
	ipc_msg_free(msg);
}

/* A client that goes takes its requests with it: their threads stop at the next look. */
static void
on_client_invalidated(struct ipc_conn *conn, int error, void *userdata)
{
	struct bundlesvc *svc = userdata;

	for (struct job *job = svc->jobs; job; job = job->next)
		if (job->conn == conn)
			job_cancel(job, -ECANCELED);
}

/* Idle: no client connected and nothing being hashed for BundleServiceIdleSec. */
static int
on_idle_check(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct bundlesvc *svc = userdata;
	uint64_t now = santa_mono_usec();

	if (svc->jobs || ipc_listener_connections(svc->listener) > 0)
		svc->last_busy_usec = now;
	else if (now - svc->last_busy_usec >= (uint64_t)svc->cfg.bundle_service_idle_sec * 1000000ULL) {
		santa_log(&svc->log, LOG_INFO, "idle for %lld s: exiting",
			  (long long)svc->cfg.bundle_service_idle_sec);
		sd_event_exit(svc->event, 0);
		return 0;
	}
	sd_event_source_set_time(s, usec + IDLE_CHECK_USEC);
	return 0;
}

static int
setup(struct bundlesvc *svc)
{
	struct ipc_listener_handlers lh = {
		.authorize = authorize,
		.on_rejected = on_rejected,
		.conn_handlers = { .on_message = on_client_message,
				   .on_invalidated = on_client_invalidated },
	};
	char path[PATH_MAX], why[512];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	svc->threads = cpus > 0 ? (unsigned int)cpus : 1;
	r = santa_path_join(path, sizeof(path), svc->cfg.run_directory, SANTAD_SOCKET_NAME);
	if (r < 0)
		return r;
	r = ipc_helper_start(&svc->event, path, NULL, svc, &lh, svc, &svc->cfg, &svc->santad,
			     &svc->listener, why, sizeof(why));
	if (r < 0) {
		santa_log(&svc->log, LOG_ERR, "%s", why);
		return r;
	}
	svc->last_busy_usec = santa_mono_usec();
	/* 1 ms accuracy: sd-event's default (250 ms) would hold every answer back. */
	r = sd_event_add_time_relative(svc->event, &svc->tick, CLOCK_MONOTONIC, PROGRESS_TICK_USEC,
				       1000, on_tick, svc);
	if (r >= 0)
		r = sd_event_source_set_enabled(svc->tick, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_time_relative(svc->event, &svc->idle, CLOCK_MONOTONIC,
					       IDLE_CHECK_USEC, 0, on_idle_check, svc);
	if (r >= 0)
		r = sd_event_source_set_enabled(svc->idle, SD_EVENT_ON);
	return r;
}

int
main(int argc, char **argv)
{
	struct bundlesvc svc = { 0 };
	int r;

	/* Before anything is read: the TLS key, santad's snapshots, hashed files. */
	r = santa_helper_harden();
	if (r < 0) {
		fprintf(stderr, "santabundleservice: cannot make itself undumpable: %s\n", strerror(-r));
		return 1;
	}
	r = bundle_creds_lock();
	if (r < 0) {
		fprintf(stderr, "santabundleservice: cannot install its seccomp filter: %s\n",
			strerror(-r));
		return 1;
	}
	r = santa_helper_args("santabundleservice", argc, argv, &svc.log, &svc.cfg,
			      &svc.config_path);
	if (r != 0)
		goto out;
	r = setup(&svc);
	if (r < 0) {
		r = 1;
		goto out;
	}
	/* Threads made from now on inherit it, and raise only what their request needs. */
	r = bundle_creds_main();
	if (r < 0) {
		santa_log_errno(&svc.log, LOG_ERR, r, "cannot lower the main thread's capabilities: %m");
		r = 1;
		goto out;
	}
	santa_log(&svc.log, LOG_INFO, "ready: hashing bundles with each client's identity");
	(void)sd_notify(0, "READY=1");
	r = sd_event_loop(svc.event) < 0 ? 1 : 0;
out:
	/* santad went (the loop ended with its channel), a signal, or an error: stop hashing now. */
	for (struct job *job = svc.jobs; job; job = job->next)
		job_cancel(job, -ESHUTDOWN);
	while (svc.jobs) {
		struct job *job = svc.jobs;

		svc.jobs = job->next;
		ipc_conn_reply_error(job->conn, job->request, -ECANCELED, "the bundle service stopped");
		job_free(job); /* joins the thread, which stops at its next look at the flag */
	}
	sd_event_source_disable_unref(svc.tick);
	sd_event_source_disable_unref(svc.idle);
	ipc_listener_free(svc.listener);
	if (svc.santad) {
		ipc_conn_invalidate(svc.santad);
		ipc_conn_unref(svc.santad);
	}
	sd_event_unref(svc.event);
	santa_config_free(&svc.cfg);
	/*
	 * A request thread's setfsuid makes the kernel reset the process's
	 * dumpable flag to fs.suid_dumpable (2 where core dumps of setuid
	 * programs are kept): undumpable again, as main made it. LeakSanitizer's
	 * exit check (test builds) also attaches to the process only from 0.
	 */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return r;
}
