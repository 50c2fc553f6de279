/*
 * The decision pipeline's verbs (exec.c): the loop thread reads fanotify's
 * events and decides, the hash workers (hash_pool.c, exec_job.h) hash and
 * answer, the deadline thread answers what is late. Each verb says its thread
 * where it is not the loop's.
 */
#ifndef SANTAD_EXEC_H
#define SANTAD_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/policy.h"

struct santad;
struct decision_cache_stats;
struct lease_hold_stats;
struct policy;
struct proc_info;

/* A policy generation's references (struct policy, santad.h): loop thread only. */
struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);

/*
 * What an exec gets when no decision could be made in time (or at all):
 * denied, unless root runs a file only root can have written, when
 * FailClosed (in LOCKDOWN) decides. Any thread (exec.c says why).
 */
enum santa_verdict santad_fallback_verdict(bool fail_closed_in_lockdown, uid_t uid,
					   bool trusted_file);

/*
 * The pipeline's state (d->exec_state, opaque) with the decision cache of
 * DecisionCacheSize entries: before anything decides or asks the cache.
 */
int santad_exec_new(struct santad *d);
/* Sets up the completion channel from the workers to the loop, the deadline and lease hold threads. */
int santad_exec_start(struct santad *d);
/* How many execs may wait merged into others' jobs (exec_job.h; main.c: decision_limits). */
void santad_exec_set_merged_max(struct santad *d, unsigned int max);
/*
 * Frees what the decision machinery still holds, the cache and the state;
 * the workers must be stopped. Whether or not santad_exec_new or _start ran.
 */
void santad_exec_stop(struct santad *d);
/* Stops the deadline thread: first at exit, before the groups it answers on close. */
void santad_exec_deadlines_stop(struct santad *d);
/* For status, metrics and santactl checkcache (loop thread): */
/* First decisions on their way (jobs). */
unsigned int santad_exec_pending(const struct santad *d);
void santad_exec_cache_stats(const struct santad *d, struct decision_cache_stats *out);
bool santad_exec_cache_lookup(struct santad *d, const struct santa_file_key *key,
			      struct santa_cached *out);
/* Counts the cache's entries on dev apart (Santa's root cache). */
void santad_exec_cache_split_by_dev(struct santad *d, dev_t dev);
void santad_exec_lease_stats(const struct santad *d, struct lease_hold_stats *out);
struct santa_pkg_identity;
struct santa_decide_input;
/*
 * The SIGNINGID, CERTIFICATE and TEAMID rules for a package identity into
 * in (rules[] holds them); which[] says which identifier of each type
 * matched (-1: none). Where several match, a block rule wins.
 */
void santad_package_rules(struct santad *d, const struct policy *policy,
			  const struct santa_pkg_identity *id, struct santa_rule_found rules[3],
			  struct santa_decide_input *in, int which[3]);
/* Whether name is a critical package (exec.c), and whether even a block rule cannot deny it. */
bool santad_critical_package(const char *name, bool *over_rules);
/* Forgets every decision (userspace cache and kernel ignore marks). */
void santad_flush_decisions(struct santad *d);
/*
 * The loop decides an exec: fd is the file, pid the process, answer_fd the
 * group the event came from (the exec group, or the loader check's group
 * for a program the loader opened).
 */
void santad_handle_exec(struct santad *d, int fd, pid_t pid, int answer_fd);
/*
 * An exec event whose file santad cannot stat (err: fstat's errno; a FUSE
 * mount closed to root): answered by the mode, logged as any exec. Takes fd.
 */
void santad_handle_exec_uninspectable(struct santad *d, int fd, pid_t pid, int answer_fd, int err);
/*
 * An exec answered by the mode alone, with no hash or rule (denied in
 * LOCKDOWN), logged as an unknown with explain; path receives its path. Takes fd.
 */
void santad_exec_by_mode(struct santad *d, int fd, pid_t pid, int answer_fd, const char *explain,
			 char *path, size_t path_size);
/* A decision made elsewhere (the BPF backstop): counted, logged, uploaded, notified. */
void santad_log_decision(struct santad *d, const char *path, const struct proc_info *proc,
			 const struct santa_decision *decision);
/*
 * An exec happened (notification): logged unless the permission path logged
 * it. Takes fd: closed, or held until santad_retry_exec_done when the exec
 * had not finished yet.
 */
void santad_handle_exec_done(struct santad *d, int fd, pid_t pid);
/*
 * Logs the notifications held back by the last batch whose exec info is
 * there now, or that waited HELD_LINE_USEC (with what is known). True: some
 * still wait; call again a little later.
 */
bool santad_retry_exec_done(struct santad *d);
struct exec_job;
/*
 * Decides for a job on a worker thread and answers its execs unless their
 * deadlines did. False: not finished, queue it again (hash_pool.h: the
 * workers call it through hash_pool_limits.run).
 */
bool exec_job_run(struct exec_job *job);
/* A worker hands a finished job back to the loop. */
void santad_job_done(struct santad *d, struct exec_job *job);
/* Takes the decisions the workers finished, now (their lines and events are submitted). */
void santad_exec_settle(struct santad *d);
/* At exit: every line still waiting (notifications, args) is written as it is. */
void santad_flush_exec_lines(struct santad *d);

/* The notification group's queue overflowed: execs went by without a notification (no line). */
void santad_notifications_lost(struct santad *d);

#endif
