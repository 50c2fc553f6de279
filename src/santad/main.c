/*
 * santad: the root daemon. main() owns the context, loads the configuration,
 * opens the rules, starts the event log writer and the hash workers, marks
 * the filesystems and runs the loop until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "santa/clock.h"
#include "santa/config.h"
#include "hash_pool.h"
#include "log_barrier.h"
#include "rule_export.h"
#include "rule_writer.h"
#include "santa/events_db.h"
#include "santa/log.h"
#include "santa/path.h"
#include "package_trust.h"
#include "priority.h"
#include "santad.h"
#include "daemon.h"
#include "anon_exec.h"
#include "bundles.h"
#include "control.h"
#include "event_log.h"
#include "exec.h"
#include "rule_lookup.h"
#include "exec_info.h"
#include "fanotify.h"
#include "file_changes.h"
#include "gui.h"
#include "helpers.h"
#include "loader.h"
#include "local_files.h"
#include "metrics.h"
#include "sync.h"
#include "transitive.h"


static void
usage(FILE *out)
{
	fprintf(out,
		"Usage: santad [OPTIONS]\n"
		"\n"
		"Santa's daemon: decides which programs may run.\n"
		"\n"
		"  -c, --config PATH   configuration file (default %s)\n"
		"      --root DIR      place default state, log and socket paths under DIR (tests)\n"
		"  -t, --check-config  check the configuration, print the effective values, exit\n"
		"  -d, --debug         debug logging\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n",
		SANTA_DEFAULT_CONFIG_PATH);
}

static void
log_config_diag(void *userdata, int level, const char *file, unsigned int line, const char *msg)
{
	struct santad *ctx = userdata;

	santa_log(&ctx->log, level, "%s:%u: %s", file, line, msg);
}

static void
print_config(const struct santa_config *cfg)
{
	printf("ConfigFile                = %s\n", cfg->source_path ? cfg->source_path : "(defaults)");
	printf("ClientMode                = %s\n", santa_mode_to_string(cfg->client_mode));
	printf("FailClosed                = %s\n", cfg->fail_closed ? "true" : "false");
	printf("AllowedPathRegex          = %s\n", cfg->allowed_path_regex ? cfg->allowed_path_regex : "");
	printf("BlockedPathRegex          = %s\n", cfg->blocked_path_regex ? cfg->blocked_path_regex : "");
	printf("EventLogType              = %s\n", santa_event_log_type_to_string(cfg->event_log_type));
	printf("EventLogPath              = %s\n", cfg->event_log_path);
	printf("RulesDBPath               = %s\n", cfg->rules_db_path);
	printf("EventsDBPath              = %s\n", cfg->events_db_path);
	printf("RunDirectory              = %s\n", cfg->run_directory);
	printf("WatchPaths                = %zu path(s)%s\n", cfg->watch_paths.n,
	       cfg->watch_paths.n ? "" : ": every local filesystem");
	printf("DecisionTimeoutMs         = %lld\n", (long long)cfg->decision_timeout_ms);
	printf("EnableKernelIgnoreMarks   = %s\n", cfg->enable_kernel_ignore_marks ? "true" : "false");
	printf("EnableLoaderCheck         = %s\n", cfg->enable_loader_check ? "true" : "false");
	printf("SyncBaseURL               = %s\n", cfg->sync_base_url ? cfg->sync_base_url : "");
	printf("StaticRules               = %zu\n", cfg->n_static_rules);
	printf("SantactlPath              = %s\n", cfg->santactl_path);
	printf("HelperDirectory           = %s\n", cfg->helper_directory);
	printf("SyncServiceUser           = %s\n", cfg->sync_service_user ? cfg->sync_service_user : "");
	printf("MetricServiceUser         = %s\n", cfg->metric_service_user ? cfg->metric_service_user : "");
	printf("BundleServiceUser         = %s\n", cfg->bundle_service_user ? cfg->bundle_service_user : "");
}

/* Settings that only take effect at start: named rather than silently ignored. */
static void
warn_restart_only(struct santad *d, const struct santa_config *n)
{
	char keys[1024];

	if (santad_start_settings_changed(&d->start, n, keys, sizeof(keys)) > 0)
		santa_log(&d->log, LOG_WARNING, "SIGHUP: %s changed: restart santad to apply", keys);
}

/*
 * Loads the configuration file into a new policy. Diagnostics go to the log
 * (unless quiet: at start, where main has shown them, and after a sync);
 * a file with errors gives -EINVAL and no policy, so a bad edit never
 * replaces a good configuration. Not quiet (SIGHUP), it also names the
 * restart-only settings the file changes: the policy does not hold them.
 */
static int
load_policy(struct santad *d, bool quiet, struct policy **out)
{
	struct policy *p = calloc(1, sizeof(*p));
	struct santa_config cfg;
	char why[512];
	int fd, r;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->refs = 1;
	r = santa_config_init(&cfg, d->root);
	if (r < 0)
		goto fail;
	fd = santad_open_config(d);
	if (fd >= 0) {
		r = santa_config_load_fd(&cfg, fd, d->config_path, quiet ? NULL : log_config_diag, d);
		if (r == 0 && !quiet)
			santad_warn_config_secrets(d, fd, &cfg);
		close(fd);
	} else {
		r = fd;
	}
	if (r == -ENOENT && !d->config_path_given)
		r = 0; /* no file at the default path: Santa's defaults */
	if (r < 0)
		goto fail;
	r = santad_sync_overlay(d, &cfg);
	if (r < 0)
		goto fail;
	r = santa_scopes_new(cfg.allowed_path_regex, cfg.blocked_path_regex, &p->scopes, why,
			     sizeof(why));
	if (r < 0) {
		santa_log(&d->log, LOG_ERR, "%s", why);
		goto fail;
	}
	if (!quiet)
		warn_restart_only(d, &cfg);
	/* The restart-only settings go with cfg's storage, out of reach (settings.h). */
	r = santad_live_settings_take(&cfg, &p->cfg);
	if (r < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	santa_config_free(&cfg);
	policy_unref(p);
	return r;
}

/*
 * Every queued first decision holds its event's fd, and a process that runs
 * out of fds can take no more events: the kernel then refuses the execs (and,
 * with the loader check, the opens) of everyone. So santad raises its soft
 * limit to what it may (systemd's default hard limit is far above the soft
 * 1024) and keeps its queues within half of what the rest leaves over.
 */
static void
decision_limits(struct santad *d, struct hash_pool_limits *l)
{
	const rlim_t wanted = 65536, reserved = 512; /* clients, databases, held notifications */
	struct rlimit rl;
	rlim_t budget;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < wanted && rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < wanted ? rl.rlim_max : wanted;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = 1024;
	budget = rl.rlim_cur > 2 * reserved ? (rl.rlim_cur - reserved) / 2 : rl.rlim_cur / 4;
	l->workers = (unsigned int)d->start.hash_worker_threads;
	l->run = exec_job_run;
	l->root_nice = d->nice;
	l->user_nice = d->nice > SANTAD_NICE_USER_WORK ? d->nice : SANTAD_NICE_USER_WORK;
	l->root_max = (unsigned int)(budget / 4 < 256 ? budget / 4 : 256);
	l->queue_max = (unsigned int)(budget - l->root_max < 4096 ? budget - l->root_max : 4096);
	l->per_uid_max = l->queue_max < 64 ? l->queue_max : 64;
	/* Execs merged into a job hold their fd too (exec_job.h). */
	santad_exec_set_merged_max(d, l->queue_max / 2 < 1024 ? l->queue_max / 2 : 1024);
	if (l->queue_max < 4096)
		santa_log(&d->log, LOG_WARNING,
			  "only %llu file descriptors (RLIMIT_NOFILE): at most %u first decisions wait "
			  "at once (LimitNOFILE= raises it)",
			  (unsigned long long)rl.rlim_cur, l->queue_max + l->root_max);
}

/* SIGHUP: new rules of the game for every decision from now on; the old ones finish as they were. */
static void
reload(struct santad *d)
{
	struct policy *p;
	enum santa_mode old_mode = d->policy->cfg.client_mode;

	santad_secure_local_files(d); /* before the reopen: a log rotated in a looser mode */
	if (load_policy(d, false, &p) < 0) {
		santa_log(&d->log, LOG_ERR, "SIGHUP: %s not reloaded; the previous configuration stays in force",
			  d->config_path);
		event_log_reopen(d->elog);
		return;
	}
	policy_unref(d->policy);
	d->policy = p;
	santad_flush_decisions(d);
	santad_loader_policy_changed(d);
	santad_anon_exec_policy_changed(d);
	event_log_reopen(d->elog);
	package_trust_reload(d->pkgtrust);
	santad_helpers_reconcile(d);
	santad_gui_policy_changed(d);
	santad_transitive_reconcile(d);
	if (old_mode != p->cfg.client_mode)
		santa_log(&d->log, LOG_NOTICE, "mode changed: %s -> %s", santa_mode_to_string(old_mode),
			  santa_mode_to_string(p->cfg.client_mode));
	santa_log(&d->log, LOG_INFO, "SIGHUP: configuration reloaded, decisions flushed, event log reopened");
}

int
santad_rebuild_policy(struct santad *d)
{
	struct policy *p;
	int r;

	r = load_policy(d, true, &p);
	if (r < 0)
		return r;
	policy_unref(d->policy);
	d->policy = p;
	santad_flush_decisions(d);
	santad_loader_policy_changed(d);
	santad_anon_exec_policy_changed(d);
	santad_gui_policy_changed(d);
	santad_transitive_reconcile(d);
	return 0;
}

/* A new package-trust snapshot: what was decided under the old one is forgotten. */
static int
on_package_trust_changed(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) == sizeof(n))
		santad_flush_decisions(d);
	return 0;
}

static int
on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct santad *d = userdata;

	if (si->ssi_signo == SIGHUP) {
		reload(d);
		return 0;
	}
	santa_log(&d->log, LOG_INFO, "%s: stopping", strsignal((int)si->ssi_signo));
	sd_event_exit(sd_event_source_get_event(s), 0);
	return 0;
}

#ifdef SANTA_TEST_HOOKS
/*
 * Test builds only (CMake SANTA_TEST_HOOKS: Debug builds; never Release, which
 * the .deb ships). TEST_STALL_SIGNAL arms the hook: the loop then stalls for
 * TEST_STALL_USEC right after it has made the job of the next first decision,
 * as a million-rule batch would, so that a test can show which answers do not
 * wait for the loop. Only root can signal santad.
 */
#define TEST_STALL_SIGNAL (SIGRTMIN + 5)
#define TEST_STALL_USEC   8000000

static int
on_test_stall(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct santad *d = userdata;

	d->test_stall_armed = true;
	santa_log(&d->log, LOG_WARNING, "test hook: armed: the loop stalls after the next job");
	return 0;
}

void
santad_test_stall(struct santad *d)
{
	uint64_t until = santa_mono_usec() + TEST_STALL_USEC;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 10000000 };

	d->test_stall_armed = false;
	santa_log(&d->log, LOG_WARNING, "test hook: the event loop stalls for %d ms",
		  TEST_STALL_USEC / 1000);
	while (santa_mono_usec() < until)
		nanosleep(&ts, NULL);
	santa_log(&d->log, LOG_WARNING, "test hook: the event loop runs again");
}
#endif

/* Where the databases and the socket live: created root-only where needed. */
static int
make_state_dirs(struct santad *d)
{
	const char *files[] = { d->start.rules_db_path, d->start.events_db_path };
	char dir[PATH_MAX], *slash;
	size_t i;
	int r;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(dir, sizeof(dir), "%s", files[i]);
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			continue;
		*slash = '\0';
		r = santa_mkdir_secure(dir, 0755);
		if (r < 0)
			return santa_log_errno(&d->log, LOG_ERR, r, "Failed to prepare %s: %m", dir);
	}
	return 0;
}

/*
 * cfg: the configuration santad starts with (main's, until it exits). Its
 * restart-only settings become d->start; the live ones the first policy.
 */
static int
run(struct santad *d, const struct santa_config *cfg)
{
	struct hash_pool_limits limits;
	char why[512];
	sigset_t mask;
	int r;

	santad_start_settings_capture(cfg, &d->start);
	/*
	 * Block the signals the loop handles before any thread exists: threads
	 * inherit the mask, and one that did not block SIGTERM would die of it.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD); /* helpers' exits, through sd_event child sources */
	/* A writer breaking the loader check's lease: read by its thread (signalfd). */
	sigaddset(&mask, santad_loader_lease_signal());
#ifdef SANTA_TEST_HOOKS
	sigaddset(&mask, TEST_STALL_SIGNAL);
#endif
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* A writer breaking a decision's read lease (exec.c) signals SIGIO: nothing to do. */
	signal(SIGIO, SIG_IGN);
	r = make_state_dirs(d);
	if (r < 0)
		return r;
	santad_secure_local_files(d);
	/*
	 * First: reading dpkg's and apt's files takes a moment, and the first
	 * execs at boot are packaged programs that must not be judged without it.
	 */
	if (d->start.enable_package_trust) {
		r = package_trust_start(cfg, &d->log, &d->pkgtrust);
		if (r < 0)
			santa_log_errno(&d->log, LOG_ERR, r,
					"Package trust not started: SIGNINGID, CERTIFICATE and TEAMID "
					"rules will not match: %m");
	}
	r = rules_db_open(d->start.rules_db_path, &d->rules, why, sizeof(why));
	if (r == -EBADMSG || r == -EPROTO || r == -EIO || r == -EACCES) {
		/*
		 * Fail safe: a damaged database must not leave the machine without
		 * enforcement, nor be "repaired" into losing what an admin may
		 * recover. Static rules, path scopes and the mode decide; the file
		 * is left as it is and rule changes are refused until it is fixed.
		 */
		snprintf(d->rules_error, sizeof(d->rules_error), "%s", why);
		santa_log(&d->log, LOG_ERR, "Failed to open the rules: %s", why);
		santa_log(&d->log, LOG_ERR, "santad runs without database rules: static rules, path "
			  "scopes and the mode decide, and rule changes are refused. Fix or move %s "
			  "away, then restart santad",
			  d->start.rules_db_path);
		r = rules_db_open(":memory:", &d->rules, why, sizeof(why));
	}
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to open the rules: %s", why);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		d->started_at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	}
	r = santad_sync_load(d, cfg);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to read the sync state: %m");
	/* The file was just read with diagnostics shown: quietly, the same again. */
	r = load_policy(d, true, &d->policy);
	if (r < 0)
		return r;
	r = santad_exec_new(d);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to set up the cache: %m");
	santad_count_package_rules(d);
	/*
	 * Opened even without SyncBaseURL: a SyncBaseURL added later and applied
	 * by SIGHUP starts the sync service, and its events must have a place
	 * (whether an exec is kept for upload follows the live configuration).
	 */
	r = events_db_open(d->start.events_db_path, (uint64_t)d->start.events_db_max_events, &d->events,
			   why, sizeof(why));
	if (r < 0)
		/* Enforcement matters more than upload: go on, without events for the server. */
		santa_log(&d->log, cfg->sync_base_url ? LOG_ERR : LOG_WARNING,
			  "Events for the sync server will not be kept: %s", why);
	/*
	 * Before any thread: they inherit it (priority.h). An admin's stronger
	 * choice (a lower nice) is kept.
	 */
	errno = 0;
	d->nice = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		d->nice = 0;
	if (d->nice > SANTAD_NICE) {
		r = santad_thread_nice(SANTAD_NICE);
		if (r < 0)
			santa_log_errno(&d->log, LOG_WARNING, r,
					"santad stays at nice %d (%m): under a user's flood of execs "
					"every exec waits longer for its answer (the unit's Nice=%d and "
					"LimitNICE=30 give it)", d->nice, SANTAD_NICE);
		else
			d->nice = SANTAD_NICE;
	}
	r = event_log_start(cfg, d->events, &d->elog);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to open the event log %s: %m",
				       d->start.event_log_path);
	r = sd_event_default(&d->event);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to create the event loop: %m");
	sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d);
	sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d);
	sd_event_add_signal(d->event, NULL, SIGHUP, on_signal, d);
#ifdef SANTA_TEST_HOOKS
	sd_event_add_signal(d->event, NULL, TEST_STALL_SIGNAL, on_test_stall, d);
	santa_log(&d->log, LOG_WARNING,
		  "built with test hooks: signal %d stalls the event loop after the next job",
		  TEST_STALL_SIGNAL);
#endif
	(void)sd_event_set_watchdog(d->event, true);
	r = santad_sync_watch_uploads(d);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to watch for blocks to upload: %m");
	/* Before the pipeline starts: its lease holds get room for as many files as execs may merge. */
	decision_limits(d, &limits);
	r = santad_exec_start(d);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to set up decisions: %m");
	if (d->pkgtrust)
		(void)sd_event_add_io(d->event, NULL, package_trust_changed_fd(d->pkgtrust), EPOLLIN,
				      on_package_trust_changed, d);
	{
		/*
		 * Critical binaries by file: PID 1, santad itself and the programs
		 * santad starts or trusts (its helpers run as their own users: before the
		 * first package view, a late decision would deny them).
		 */
		static const char *const helpers[] = { "santasyncservice", "santametricservice",
						       "santabundleservice" };
		char path[PATH_MAX];
		const char *critical[8] = { "/proc/1/exe", "/proc/self/exe", d->start.santactl_path,
					    d->start.santa_gui_path };
		size_t i, n = 4;
		struct stat st;

		for (i = 0; i < 3 && d->start.helper_directory; i++)
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", d->start.helper_directory,
					     helpers[i]) < sizeof(path) &&
			    (critical[n] = strdup(path)))
				n++;
		for (i = 0; i < n && d->n_critical_keys < SANTAD_CRITICAL_KEYS_MAX; i++)
			/* Only files only root can have written: anything else is not santad's own. */
			if (critical[i] && stat(critical[i], &st) == 0 &&
			    (i < 2 ? S_ISREG(st.st_mode) : santa_stat_is_root_trusted(&st)))
				santa_file_key_of(&st, &d->critical_keys[d->n_critical_keys++]);
		for (i = 4; i < n; i++)
			free((char *)critical[i]);
	}
	r = hash_pool_start(&limits, &d->pool);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to start the hash workers: %m");
	/* Before the notification group: whether it may read in batches depends on it. */
	if (d->start.event_log_type != SANTA_EVENT_LOG_NULL)
		(void)santad_exec_info_start(d);
	r = fan_client_start(d);
	if (r < 0)
		return r;
	/* Like file-change logging, an extra: santactl status says whether it is on. */
	(void)santad_anon_exec_start(d);
	/*
	 * libbpf parsed the kernel's BTF (megabytes) to load the BPF programs and
	 * freed it; glibc keeps freed heap pages mapped unless asked to return them.
	 */
	(void)malloc_trim(0);
	/* File-change logging is an extra: without it santad still enforces. */
	(void)file_changes_start(d, &d->file_changes);
	r = log_barrier_new(d->event, d->elog, &d->log_barrier);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to set up the log barrier: %m");
	r = rule_exports_new(d->event, d->rules, &d->log, &d->rule_exports);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to set up rule exports: %m");
	r = rule_writer_new(d->event, d->rules, &d->log, santad_rules_written, d, &d->rule_writer);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to start the rule writer: %m");
	r = santad_control_start(d);
	if (r < 0)
		return r;
	r = santad_helpers_init(d, santad_channel_handlers());
	if (r < 0)
		return r;
	r = santad_gui_start(d);
	if (r < 0)
		return santa_log_errno(&d->log, LOG_ERR, r, "Failed to set up notifications: %m");
	santad_transitive_reconcile(d);
	r = santad_bundles_start(d);
	if (r < 0)
		return r;
	santad_metrics_start(d);
	santa_log(&d->log, LOG_NOTICE, "santad %s ready: mode %s, decision deadline %lld ms",
		  SANTA_VERSION, santa_mode_to_string(cfg->client_mode),
		  (long long)cfg->decision_timeout_ms);
	(void)sd_notify(0, "READY=1");
	r = sd_event_loop(d->event);
	(void)sd_notify(0, "STOPPING=1");
	return r;
}

static void
shutdown_daemon(struct santad *d)
{
	/* It answers through the groups' fds: stopped before they close. */
	santad_exec_deadlines_stop(d);
	/* Closing the group first: the kernel allows whatever is still waiting. */
	file_changes_stop(d->file_changes);
	santad_loader_stop(d);
	fan_client_stop(d->fan);
	santad_anon_exec_stop(d); /* detached: nothing refuses anonymous executables any more */
	santad_flush_exec_lines(d); /* lines waiting for a notification or args: written now */
	santad_exec_info_stop(d);
	if (d->event) {
		santad_metrics_stop(d);
		santad_helpers_stop(d);
		santad_gui_stop(d);
		santad_transitive_shutdown(d);
	}
	santad_bundles_stop(d);
	log_barrier_free(d->log_barrier); /* answers what still waits */
	d->log_barrier = NULL;
	rule_exports_free(d->rule_exports); /* before rules.db closes; answers what still runs */
	d->rule_exports = NULL;
	rule_writer_free(d->rule_writer); /* before rules.db closes: a batch rolls back, its client is answered */
	d->rule_writer = NULL;
	santad_control_stop(d);
	hash_pool_stop(d->pool);
	package_trust_stop(d->pkgtrust); /* after the workers: they hold its snapshots */
	d->pkgtrust = NULL;
	santad_exec_stop(d); /* and the decision cache */
	event_log_stop(d->elog);
	events_db_close(d->events);
	policy_unref(d->policy);
	santad_sync_free(d);
	rules_db_close(d->rules);
	sd_event_unref(d->event);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'R' },
		{ "check-config", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct fan_handlers fan_handlers = {
		.exec = santad_handle_exec,
		.exec_uninspectable = santad_handle_exec_uninspectable,
		.exec_done = santad_handle_exec_done,
		.retry_exec_done = santad_retry_exec_done,
		.notifications_lost = santad_notifications_lost,
		.loader_start = santad_loader_start,
		.anon_exec_marked = santad_anon_exec_marked,
	};
	struct santad ctx = { .config_path = SANTA_DEFAULT_CONFIG_PATH,
			      .pipeline = { .flush_decisions = santad_flush_decisions,
					    .handle_exec = santad_handle_exec,
					    .exec_by_mode = santad_exec_by_mode,
					    .fallback_verdict = santad_fallback_verdict },
			      .daemon = { .rebuild_policy = santad_rebuild_policy } };
	struct santa_config cfg;
	int level = LOG_INFO, opt, r;

#ifdef SANTA_TEST_HOOKS
	ctx.daemon.test_stall = santad_test_stall;
#endif
	while ((opt = getopt_long(argc, argv, "c:tdhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ctx.config_path = optarg;
			ctx.config_path_given = true;
			break;
		case 'R':
			ctx.root = optarg;
			break;
		case 't':
			ctx.check_config = true;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("santad %s\n", SANTA_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "santad: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	santa_log_init(&ctx.log, "santad", SANTA_LOG_STDERR, level);

	r = santa_config_init(&cfg, ctx.root);
	if (r < 0) {
		santa_log_errno(&ctx.log, LOG_ERR, r, "Failed to set up the default configuration: %m");
		return 1;
	}
	r = santad_open_config(&ctx);
	if (r >= 0) {
		int fd = r;

		r = santa_config_load_fd(&cfg, fd, ctx.config_path, log_config_diag, &ctx);
		close(fd);
	}
	if (r == -ENOENT && !ctx.config_path_given) {
		santa_log(&ctx.log, LOG_NOTICE, "%s does not exist: using the defaults",
			  ctx.config_path);
	} else if (r < 0) {
		if (r == -EINVAL)
			santa_log(&ctx.log, LOG_ERR, "%s has errors (above); fix them and start again",
				  ctx.config_path);
		else if (r == -EPERM)
			santa_log(&ctx.log, LOG_ERR, "%s is not used (above): santad does not start",
				  ctx.config_path);
		else
			santa_log_errno(&ctx.log, LOG_ERR, r, "Failed to read %s: %m", ctx.config_path);
		santa_config_free(&cfg);
		return 1;
	}
	if (ctx.check_config) {
		print_config(&cfg);
		santa_config_free(&cfg);
		return 0;
	}
	r = fan_client_new(&fan_handlers, &ctx.fan);
	if (r < 0) {
		santa_log_errno(&ctx.log, LOG_ERR, r, "Failed to set up fanotify: %m");
		santa_config_free(&cfg);
		return 1;
	}
	r = run(&ctx, &cfg);
	shutdown_daemon(&ctx);
	fan_client_free(ctx.fan);
	santa_config_free(&cfg);
	return r < 0 ? 1 : 0;
}
