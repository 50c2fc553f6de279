/*
 * santad's context (struct santad, main.c's), the policy generation and
 * what several modules share. Each module's verbs are in its own header
 * (docs/ARCHITECTURE.md lists them).
 */
#ifndef SANTAD_H
#define SANTAD_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "santa/config.h"
#include "santa/ipc.h"
#include "santa/log.h"
#include "santa/policy.h"
#include "santa/ratelimit.h"

#include "settings.h"
#include "stats.h"

struct event_log;
struct events_db;
struct control_state;
struct exec_state;
struct fan_client;
struct hash_pool;
struct helper;
struct log_barrier;
struct rule_exports;
struct rule_writer;
struct santad_sync;

/*
 * What decisions depend on and SIGHUP or the sync server may change: the
 * live settings of the configuration as last loaded (the server's values
 * applied) and its compiled path scopes. A job holds a reference to the
 * policy it was started under, so a reload never changes the rules under a
 * worker's feet. References are taken and dropped on the loop thread only.
 */
struct policy {
	unsigned int refs;
	struct santad_live_settings cfg; /* no restart-only setting: those are d->start's */
	struct santa_scopes *scopes;
};


/* The path logged for a file whose path the kernel cannot print (longer than PATH_MAX). */
#define SANTAD_PATH_TOO_LONG "(path longer than PATH_MAX)"

/* ---- the daemon ---- */

struct santad {
	struct santa_log log;
	/* Restart-only settings as santad started (settings.h); live ones are d->policy->cfg only. */
	struct santad_start_settings start;
	const char *config_path;
	const char *root;
	bool config_path_given;
	bool check_config;

	sd_event *event;
	int nice; /* the loop's and answering threads' niceness (priority.h) */
	struct rules_db *rules;
	char rules_error[512]; /* rules.db unusable at start: an empty in-memory one stands in */
	struct policy *policy; /* the current generation: every live setting */
	/*
	 * The decision pipeline's verbs for the modules below it (exec.h says
	 * what each does): exec.c's functions, set by main before anything
	 * starts. Those modules call them through here, not through exec.h, so
	 * that none depends on a module above it.
	 */
	struct {
		void (*flush_decisions)(struct santad *d); /* transitive rules, sync */
		/* The loader check's: the programs ld.so opens, decided as execs. */
		void (*handle_exec)(struct santad *d, int fd, pid_t pid, int answer_fd);
		void (*exec_by_mode)(struct santad *d, int fd, pid_t pid, int answer_fd,
				     const char *explain, char *path, size_t path_size);
		/* Any thread (the loader check's, when its queue is full). */
		enum santa_verdict (*fallback_verdict)(bool fail_closed_in_lockdown, uid_t uid,
						       bool trusted_file);
	} pipeline;
	/*
	 * main.c's verbs for the modules (daemon.h says what each does), set
	 * by main before anything starts: a module calls them through here, so
	 * that none depends on main.c, which starts them all.
	 */
	struct {
		int (*rebuild_policy)(struct santad *d); /* sync */
#ifdef SANTA_TEST_HOOKS
		void (*test_stall)(struct santad *d); /* exec.c */
#endif
	} daemon;
	struct fan_client *fan; /* fanotify.h (opaque); from before run() to after shutdown, never NULL there */
	struct hash_pool *pool;
	struct event_log *elog;
	struct log_barrier *log_barrier; /* requests that wait for the event log */
	struct rule_exports *rule_exports; /* santactl rule --export, each on a thread (rule_export.h) */
	struct rule_writer *rule_writer;   /* every rules.db change, on its thread (rule_writer.h) */
	struct package_trust *pkgtrust; /* NULL: EnablePackageTrust = false */
	/* PID 1, santad and its helpers/clients as they were at start: never denied (exec.c: allow_if_critical). Set before the workers start. */
#define SANTAD_CRITICAL_KEYS_MAX 8
	struct santa_file_key critical_keys[SANTAD_CRITICAL_KEYS_MAX];
	size_t n_critical_keys;
	/* SIGNINGID, CERTIFICATE and TEAMID rules (database and static): none, no package lookups. */
	_Atomic uint64_t package_rules;
	struct file_changes *file_changes;
	struct events_db *events; /* NULL only when events.db could not be opened */
	struct ipc_listener *control; /* santad.sock */
	struct control_state *control_state; /* control.c's, from santad_control_start to _stop */
	struct helper *helpers; /* HELPER_MAX of them (helpers.h), from santad_helpers_init to _stop */
	struct gui *gui;
	struct bundle_store *bundles;
	struct transitive *transitive; /* while EnableTransitiveRules is on */
	struct loader_guard *loader;   /* the loaders' files; the check's thread while EnableLoaderCheck is on */
	struct anon_exec *anon_exec;   /* the BPF LSM backstop, where it could attach */
	struct exec_info_source *exec_info; /* BPF exec info, where it could attach */
	sd_event_source *transitive_expiry;
	struct santad_sync *sync; /* sync.c's (opaque): what the sync server set; persisted in SyncStatePath */
	sd_event_source *metrics_timer;

	/*
	 * The decision pipeline's (exec.c's, opaque): the cache, the jobs on
	 * their way, the completions, the deadline and lease hold threads; from
	 * santad_exec_new to santad_exec_stop.
	 */
	struct exec_state *exec_state;
#ifdef SANTA_TEST_HOOKS
	bool test_stall_armed; /* main.c: the loop stalls after the next job */
#endif

	struct santad_stats stats; /* stats.h: which thread writes each, how it is read */
	double started_at; /* Unix seconds */
};

#endif
