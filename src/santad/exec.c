/*
 * From a permission event to the kernel's answer. The one place that says
 * what happens to an exec:
 *
 *   cached (dev, ino, mtime, ctime, size)  -> answer at once on the loop
 *   a job for the same file is on its way  -> wait for it (exec_job.h)
 *   otherwise -> a worker hashes the fd, looks the rule up, decides, answers;
 *                the deadline thread answers first if the worker is late
 *                (reason TIMEOUT: see fallback_verdict)
 *
 * The kernel is always answered before anything is logged, cached or
 * written to a database.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "santa/clock.h"
#include "santa/path.h"
#include "deadline.h"
#include "exec_job.h"
#include "lease_hold.h"
#include "hash_pool.h"
#include "package_trust.h"
#include "rule_writer.h"
#include "santa/sha256.h"
#include "signing_table.h"
#include "santad.h"
#include "event_log.h"
#include "exec.h"
#include "rule_lookup.h"
#include "exec_info.h"
#include "fanotify.h"
#include "gui.h"
#include "loader.h"
#include "proc.h"
#include "transitive.h"
#include "tty.h"

/*
 * Exec notifications read before their exec finished (the BPF program has
 * not seen it yet): held, with their fd, until the next batch.
 */
#define DEFERRED_NOTICES 256
struct deferred_notice {
	int fd;
	pid_t pid;
	uint64_t since_usec; /* it waits for its exec's args up to HELD_LINE_USEC */
};

/*
 * Execs the permission path saw, so that their notifications are not logged
 * twice: a small ring, since an entry is consumed within the same exec. An
 * allowed exec's line waits here for its notification, which brings the
 * args the BPF program kept once the exec was done (HELD_LINE_USEC at most).
 */
#define SEEN_EXECS     1024
/*
 * Long enough for a loaded machine: in a virtual machine without hardware
 * acceleration beside other work, 0.5 s let the first line of three go
 * without its args. Only a line whose exec failed waits it out.
 */
#define HELD_LINE_USEC 2000000
struct seen_exec {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	struct exec_record *held; /* the line, until the notification or HELD_LINE_USEC */
	uint64_t held_usec;
	/* The notification came before the line (the decision was still on its way). */
	bool notified;
	struct exec_args *args; /* what it brought (malloc'd), or NULL */
};

/*
 * A dynamic exec opens its program, then the loader its PT_INTERP names:
 * two notifications for one exec. The last program each process was
 * notified for, so that the loader's notification right after it is known
 * for that program's interpreter, not an exec of the loader.
 */
#define PROGRAM_EXECS           64
#define INTERPRETER_WINDOW_USEC 200000
struct program_exec {
	pid_t pid;
	uint64_t usec;
};

/*
 * The decision pipeline's state (d->exec_state), exec.c's alone, from
 * santad_exec_new to santad_exec_stop. Loop thread only, but for the
 * completion lists (any thread, under completion_lock, then completion_fd)
 * and the pointers the workers and the deadline thread follow (set before
 * they start, kept until they stopped).
 */
struct exec_state {
	struct decision_cache *cache;
	struct signing_table *signing; /* the package identities of its decisions, emptied with it */
	/*
	 * Jobs the workers finished, and execs the deadline thread answered
	 * (their TIMEOUT lines); the loop picks them up via completion_fd.
	 */
	pthread_mutex_t completion_lock;
	struct exec_job *completed;  /* under completion_lock */
	struct exec_wait *timed_out; /* under completion_lock */
	int completion_fd;           /* -1 until santad_exec_start */
	sd_event_source *completion_src;
	struct deadlines *deadlines; /* the deadline thread (deadline.h) */
	struct lease_holds *lease_holds; /* leases kept until allowed execs settle (lease_hold.h) */
	int proc_fd_dir; /* /proc/self/fd, for the paths of the fds fanotify hands over */
	struct exec_job *pending; /* jobs on their way (find_job) */
	unsigned int n_pending;
	unsigned int n_merged, merged_max; /* execs merged into others' jobs (exec_job.h) */

	sd_event_source *held_timer; /* writes lines whose notification did not come */
	struct seen_exec seen[SEEN_EXECS];
	unsigned int seen_next;
	struct deferred_notice deferred[DEFERRED_NOTICES];
	unsigned int n_deferred;
	struct program_exec program_execs[PROGRAM_EXECS];
	unsigned int program_execs_next;
	uint64_t timeout_logged_usec, timeouts_unlogged; /* TIMEOUT warnings, one a second */
	uint64_t uninspectable_said_usec; /* the last uninspectable exec warning: one a second */
	uint64_t notifications_lost_said_usec; /* the last "exec notifications lost" warning: one a second */
};

struct policy *
policy_ref(struct policy *p)
{
	p->refs++;
	return p;
}

void
policy_unref(struct policy *p)
{
	if (!p || --p->refs > 0)
		return;
	santa_scopes_free(p->scopes);
	santad_live_settings_free(&p->cfg);
	free(p);
}

void
santad_flush_decisions(struct santad *d)
{
	d->stats.flushes++;
	signing_table_clear(d->exec_state->signing); /* no cached decision refers to them any more */
	/* Rules or mode changed: whether any package rule exists decides if packages are looked up. */
	santad_count_package_rules(d);
	decision_cache_flush(d->exec_state->cache);
	if (fan_exec_fd(d->fan) >= 0) {
		fan_flush_ignore_marks(d->fan);
		santad_loader_marks_flushed(d);
	}
}

static bool
is_block(const struct santa_rule_found *rule)
{
	return rule->policy == SANTA_POLICY_BLOCKLIST || rule->policy == SANTA_POLICY_SILENT_BLOCKLIST;
}

/*
 * The rule for one of a file's identifiers of one type: a file from an
 * archive signed by several keys has several. A block rule for any of them
 * wins over an allow rule for another, so that adding a signer to an
 * archive can never undo a block. Returns the index of the identifier whose
 * rule is in out, or -ENOENT.
 */
static int
find_any_rule(struct santad *d, const struct policy *policy, enum santa_rule_type type,
	      const char *const *ids, size_t n, struct santa_rule_found *out)
{
	struct santa_rule_found found;
	int which = -ENOENT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (santad_find_rule(d, policy, type, ids[i], &found) != 0 ||
		    found.policy == SANTA_POLICY_REMOVE)
			continue;
		if (which < 0 || (is_block(&found) && !is_block(out))) {
			*out = found;
			which = (int)i;
		}
		if (which >= 0 && is_block(out))
			break;
	}
	return which;
}

/* The key and archive behind identity's i-th certificate, for the log line. */
static void
describe_signer(const struct santa_pkg_identity *id, const char *certificate,
		struct signing_info *out)
{
	size_t i, j;

	for (i = 0; i < id->n_archives; i++) {
		const struct santa_apt_archive *a = id->archives[i];

		for (j = 0; j < a->n_signers; j++) {
			const struct santa_apt_signer *s = &a->signers[j];

			if (certificate && strcmp(s->certificate, certificate) != 0)
				continue;
			snprintf(out->cert_sha256, sizeof(out->cert_sha256), "%s", s->certificate);
			snprintf(out->cert_cn, sizeof(out->cert_cn), "%.*s", (int)sizeof(out->cert_cn) - 1, s->uid);
			snprintf(out->team_id, sizeof(out->team_id), "%s", s->team_id);
			snprintf(out->origin, sizeof(out->origin), "%.*s", (int)sizeof(out->origin) - 1, a->origin);
			snprintf(out->suite, sizeof(out->suite), "%.*s", (int)sizeof(out->suite) - 1, a->suite);
			return;
		}
	}
}

void
santad_package_rules(struct santad *d, const struct policy *policy,
		     const struct santa_pkg_identity *id, struct santa_rule_found rules[3],
		     struct santa_decide_input *in, int which[3])
{
	const char *ids[SANTA_PKG_IDS_MAX];
	size_t i;

	for (i = 0; i < id->n_signing_ids; i++)
		ids[i] = id->signing_ids[i];
	which[0] = find_any_rule(d, policy, SANTA_RULE_TYPE_SIGNINGID, ids, id->n_signing_ids,
				 &rules[0]);
	in->signingid_rule = which[0] >= 0 ? &rules[0] : NULL;
	for (i = 0; i < id->n_certificates; i++)
		ids[i] = id->certificates[i];
	which[1] = find_any_rule(d, policy, SANTA_RULE_TYPE_CERTIFICATE, ids, id->n_certificates,
				 &rules[1]);
	in->certificate_rule = which[1] >= 0 ? &rules[1] : NULL;
	for (i = 0; i < id->n_team_ids; i++)
		ids[i] = id->team_ids[i];
	which[2] = find_any_rule(d, policy, SANTA_RULE_TYPE_TEAMID, ids, id->n_team_ids, &rules[2]);
	in->teamid_rule = which[2] >= 0 ? &rules[2] : NULL;
}

/*
 * The package identity of job's file (docs/package-trust.md), filled into
 * job->signing and id. The MD5 pass over the file costs a second read of
 * bytes the hash just read (in the page cache): it is paid once per file per
 * view of the packages, which then remembers the file by its key. Returns
 * true when the file has an identity; *ref_out then holds the view id points
 * into, for the caller to release (package_trust_release).
 */
static bool
job_identity(struct exec_job *job, struct santa_pkg_identity *id,
	     struct package_trust_snapshot **ref_out)
{
	struct santad *d = job->daemon;
	struct package_trust_snapshot *ref = NULL;
	const struct santa_dpkg_package *package;
	const struct santa_pkgtrust *trust;
	enum santa_pkg_verdict v;
	bool found = false, fail_closed;
	struct stat st;

	if (!d->pkgtrust || !job->trusted_file)
		return false;
	/*
	 * Before the first view (at start; without its cache, a cold disk can
	 * make it take seconds) a job that needs it is decided as a late one:
	 * root's own files run, everyone else's are denied (exec_job_run). With
	 * FailClosed in LOCKDOWN that would deny root's too, so the job waits for
	 * the view, up to its deadline, and the deadline's fallback decides then.
	 */
	fail_closed = job->policy->cfg.fail_closed && job->mode == SANTA_MODE_LOCKDOWN;
	trust = package_trust_acquire(d->pkgtrust,
				      fail_closed ? job->started_usec +
						    (uint64_t)job->policy->cfg.decision_timeout_ms * 1000
						  : 0,
				      &ref);
	if (!trust) {
		/* Still loading (not failed): the decision is made as if late, below. */
		job->view_missing = package_trust_loading(d->pkgtrust);
		goto out;
	}
	if (!trust || fstat(job->fd, &st) < 0)
		goto out;
	package = package_trust_recall(d->pkgtrust, ref, &job->key, job->path, &st);
	if (package) {
		santa_pkgtrust_identity_of_package(trust, package, id);
	} else {
		char **recent = package_trust_recent_md5sums(d->pkgtrust);
		uint8_t md5[16];
		/* Computed with the SHA-256, from the same reads (job_wants_md5): not read again. */
		bool have_md5 = santa_sha256_stream_md5(job->hash, md5);

		v = santa_pkgtrust_identify_fd_md5(trust, job->fd, &st, job->path,
						   (const char *const *)recent, have_md5 ? md5 : NULL,
						   id, &package);
		package_trust_free_list(recent);
		if (have_md5)
			atomic_fetch_add(&d->stats.package_md5_with_hash, 1);
		if (v != SANTA_PKG_VERIFIED) {
			if (v != SANTA_PKG_NOT_PACKAGED)
				atomic_fetch_add(&d->stats.package_unverified, 1);
			goto out;
		}
		atomic_fetch_add(&d->stats.package_verified, 1);
		/* An identity from dpkg's newer records (package NULL) waits for the next view. */
		package_trust_remember(d->pkgtrust, ref, &job->key, job->path, package);
	}
	found = true;
	job->signing.known = true;
	if (id->n_signing_ids)
		snprintf(job->signing.signing_id, sizeof(job->signing.signing_id), "%s",
			 id->signing_ids[0]);
	describe_signer(id, NULL, &job->signing);
	*ref_out = ref;
	ref = NULL;
out:
	package_trust_release(d->pkgtrust, ref);
	return found;
}

/*
 * Santa never blocks the binaries a machine needs to boot and to be repaired
 * (launchd, santad itself): here PID 1 and santad as they were at start, and
 * the programs of these packages, identified as dpkg installed them (no
 * archive needed: an `apt update` listing a newer version must not make PID 1
 * unknown). With them, a LOCKDOWN whose rules are wrong still boots to a
 * console login where root can fix the rules (santactl), and dpkg and apt
 * can reinstall santa. docs/package-trust.md says why each is there.
 */
struct critical_package {
	const char *name;
	bool over_rules; /* not even a block rule denies it (it would brick the machine or Santa) */
};

static const struct critical_package critical_packages[] = {
	{ "libc6", true },        /* the dynamic loader: every dynamic program runs it */
	{ "systemd", true },      /* PID 1 and the helpers boot needs */
	{ "systemd-sysv", true },
	{ "santa", true },        /* santad, santactl and the helpers, as the .deb installed them */
	/* Never denied as unknown, but an admin's block rule still counts: */
	{ "udev", false }, { "util-linux", false }, { "mount", false }, { "login", false },
	{ "bash", false }, { "dash", false }, /* root's shell; /bin/sh for dpkg's maintainer scripts */
	{ "dpkg", false }, { "apt", false },  /* repairs */
};

static const struct critical_package *
critical_package(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(critical_packages) / sizeof(critical_packages[0]); i++)
		if (strcmp(critical_packages[i].name, name) == 0)
			return &critical_packages[i];
	return NULL;
}

bool
santad_critical_package(const char *name, bool *over_rules)
{
	const struct critical_package *c = critical_package(name);

	if (c && over_rules)
		*over_rules = c->over_rules;
	return c != NULL;
}

/* A denial of a critical binary becomes an allow, logged as one (reason=SIGNINGID). */
static void
allow_if_critical(struct exec_job *job, struct santa_pkg_identity *id,
		  struct package_trust_snapshot **ref)
{
	struct santad *d = job->daemon;
	const struct critical_package *c;
	bool critical = false;
	size_t i;

	for (i = 0; i < d->n_critical_keys; i++)
		critical |= santa_file_key_equal(&d->critical_keys[i], &job->key);
	if (!critical && (*ref || job_identity(job, id, ref)) && (c = critical_package(id->package)))
		critical = c->over_rules || job->decision.reason == SANTA_REASON_UNKNOWN;
	if (!critical)
		return;
	job->decision.verdict = SANTA_VERDICT_ALLOW;
	job->decision.reason = SANTA_REASON_SIGNINGID;
	job->decision.explain = "critical system binary";
	job->decision.silent = false;
	job->decision.from_rule = false;
	atomic_fetch_add(&d->stats.critical_allowed, 1);
}

/* Decides job again with the rules for its package identity, when any package rule exists. */
static void
decide_by_package(struct exec_job *job, struct santa_decide_input *in,
		  struct santa_pkg_identity *id, struct package_trust_snapshot **ref)
{
	struct santad *d = job->daemon;
	struct santa_rule_found rules[3];
	int which[3];

	if (atomic_load(&d->package_rules) == 0 || !job_identity(job, id, ref))
		return;
	santad_package_rules(d, job->policy, id, rules, in, which);
	if (which[0] >= 0)
		snprintf(job->signing.signing_id, sizeof(job->signing.signing_id), "%s",
			 id->signing_ids[which[0]]);
	if (which[1] >= 0)
		describe_signer(id, id->certificates[which[1]], &job->signing);
	santa_decide(in, &job->decision);
	if (job->decision.reason == SANTA_REASON_TEAMID && which[2] >= 0)
		snprintf(job->signing.team_id, sizeof(job->signing.team_id), "%s",
			 id->team_ids[which[2]]);
	in->signingid_rule = in->certificate_rule = in->teamid_rule = NULL;
}


/*
 * Answers the kernel for one exec unless someone already did; under its
 * job's lock (or on the loop once the job is back). Returns true if this
 * call did. A merged exec's fd is not needed after its answer.
 */
static bool
wait_answer(struct exec_wait *w, enum santa_verdict verdict)
{
	struct exec_job *job = w->job;

	if (w->answered)
		return false;
	w->answered = true;
	w->answered_usec = santa_mono_usec();
	fan_respond(w->answer_fd, w->fd, verdict);
	if (w != &job->first) {
		close(w->fd);
		w->fd = -1;
	}
	job->unanswered--;
	atomic_store(&job->unanswered_hint, job->unanswered);
	return true;
}

/* Every exec of the job still waiting gets verdict. Under the job's lock. */
static void
job_answer_all(struct exec_job *job, enum santa_verdict verdict)
{
	struct exec_wait *w;

	(void)wait_answer(&job->first, verdict);
	for (w = job->merged; w; w = w->next)
		(void)wait_answer(w, verdict);
}

/* Whether an exec still waits for this job's answer (lock-free: a hint that may be stale). */
static bool
job_awaited(const struct exec_job *job)
{
	return atomic_load((atomic_uint *)&job->unanswered_hint) > 0;
}

/*
 * The worker gives the hash up: only when no exec waits for it, and then
 * for good (no exec merges into it afterwards). False: one does.
 */
static bool
job_cancel(struct exec_job *job)
{
	bool cancelled;

	pthread_mutex_lock(&job->lock);
	cancelled = job->unanswered == 0;
	job->cancelled |= cancelled;
	pthread_mutex_unlock(&job->lock);
	return cancelled;
}

/*
 * The verdict when no decision could be made in time (or at all): the file
 * may have a block rule, or be unknown in LOCKDOWN, and the exec'ing user may
 * have made santad late on purpose (a file of holes, a flood of execs). So it
 * is a denial, in every mode, unless root runs a file only root can have
 * written: then Santa's FailClosed decides (allow unless set, in LOCKDOWN), as
 * no other user's load can delay root's lane (hash_pool.h).
 */
enum santa_verdict
santad_fallback_verdict(bool fail_closed_in_lockdown, uid_t uid, bool trusted_file)
{
	if (uid != 0 || !trusted_file)
		return SANTA_VERDICT_DENY;
	return fail_closed_in_lockdown ? SANTA_VERDICT_DENY : SANTA_VERDICT_ALLOW;
}

static enum santa_verdict
fallback_verdict(const struct policy *policy, enum santa_mode mode, uid_t uid, bool trusted_file)
{
	return santad_fallback_verdict(policy->cfg.fail_closed && mode == SANTA_MODE_LOCKDOWN, uid,
				       trusted_file);
}

/*
 * How much a job hashes before it lets a waiting job have its worker: a few
 * milliseconds of SHA-256, so a waiting job of another uid (or root's) waits
 * about one slice per worker, however long the files ahead of it are.
 */
#define HASH_SLICE_BYTES (4u << 20)
/*
 * A job none of whose execs still waits hashes on only to fill the cache,
 * and only up to twice the bytes the file really has on disk, or 1 GiB if
 * more: a legitimate program larger than the deadline lets hash is cached
 * for its next exec, but one exec of a file of holes a petabyte long (a few
 * KB on disk, deleted at once) no longer keeps a worker hashing zeros for
 * weeks after its deadline (an attacker's review: 99.8 % of a CPU).
 */
#define HASH_UNAWAITED_MIN_BYTES (1ull << 30)

/*
 * The bytes hashed must be the bytes the exec runs: the kernel refuses
 * writers (ETXTBSY) only once santad has answered, so a user could rewrite
 * the file while it is hashed and close it before the answer. A read lease
 * on the event's fd closes that: taking it fails while anyone has the file
 * open for writing (or mapped shared-writable), and while it is held a
 * writer's open (or a truncate) waits until santad lets go, which it does
 * once the kernel has its answer; by then the exec holds off writers itself.
 * Where a filesystem has no leases, the file's key (size, times) before and
 * after hashing must match. -ETXTBSY: someone writes or wrote the file.
 */
static int
guard_bytes(struct exec_job *job)
{
	if (fcntl(job->fd, F_SETLEASE, F_RDLCK) == 0) {
		job->leased = true;
		/* Every exec was answered while it waited for a worker: writers need not wait. */
		pthread_mutex_lock(&job->lock);
		if (job->unanswered == 0)
			(void)fcntl(job->fd, F_SETLEASE, F_UNLCK);
		pthread_mutex_unlock(&job->lock);
		return 0;
	}
	return errno == EAGAIN || errno == EBUSY ? -EAGAIN : 0;
}

/* How often a job whose file is open for writing looks again (guard_bytes). */
#define WRITER_POLL_USEC 2000

static bool
bytes_unchanged(const struct exec_job *job)
{
	struct santa_file_key now;
	struct stat st;

	/*
	 * Not answered yet: a writer is waiting (or broke the lease by force).
	 * Once the deadlines answered every exec, the deadline thread let go of
	 * the lease and only the cache is at stake: the key check below guards
	 * that (and an exec merged after it, as a cached decision would).
	 */
	if (job->leased && job_awaited(job) && fcntl(job->fd, F_GETLEASE) != F_RDLCK)
		return false;
	if (fstat(job->fd, &st) < 0)
		return false;
	santa_file_key_of(&st, &now);
	return santa_file_key_equal(&now, &job->key);
}

static void
release_lease(struct exec_job *job)
{
	if (job->leased && fcntl(job->fd, F_SETLEASE, F_UNLCK) == 0)
		job->leased = false;
}

/*
 * Hashes job's file a slice at a time. Returns 1 when done (job->hash_error
 * says how), 0 when the worker should go to a waiting job (the pool queues
 * this one again, and the hash goes on from where it stopped). A job whose
 * exec was already answered (its deadline passed) does not come back when
 * another waits: its result would only have gone to the cache. None does
 * once santad stops.
 */
static uint64_t
unawaited_bytes_max(const struct exec_job *job)
{
	return 2 * job->disk_bytes > HASH_UNAWAITED_MIN_BYTES ? 2 * job->disk_bytes
							      : HASH_UNAWAITED_MIN_BYTES;
}

/*
 * Whether the decision will want the file's MD5 (package trust: a packaged
 * program not verified yet): then the hash computes it from the same reads,
 * and the file is read once, not twice. Only when a package identity can
 * count: a package rule exists, or in LOCKDOWN (a denied critical binary).
 */
static bool
job_wants_md5(struct exec_job *job)
{
	struct santad *d = job->daemon;
	struct stat st;

	if (!d->pkgtrust || !job->trusted_file ||
	    (atomic_load(&d->package_rules) == 0 && job->mode != SANTA_MODE_LOCKDOWN))
		return false;
	return fstat(job->fd, &st) == 0 &&
	       package_trust_md5_wanted(d->pkgtrust, &job->key, job->path, &st);
}

static int
hash_some(struct exec_job *job)
{
	struct hash_pool *pool = job->daemon->pool;
	uint64_t t0 = santa_mono_usec();
	int r = 0;

	if (!job->hash) {
		/*
		 * Someone has the file open for writing: the exec would fail
		 * (ETXTBSY) if that lasts, and the bytes may change under the hash.
		 * Wait for the writer to close (a build's stray fd across a fork
		 * closes in moments; Go and others retry ETXTBSY, never EPERM),
		 * letting a waiting job have the worker meanwhile, until the
		 * deadline answers for it.
		 */
		while ((r = guard_bytes(job)) == -EAGAIN) {
			if (hash_pool_stopping(pool) || (!job_awaited(job) && job_cancel(job))) {
				r = -ETXTBSY;
				break;
			}
			if (hash_pool_has_waiting(pool))
				return 0; /* queued again, nothing hashed yet */
			usleep(WRITER_POLL_USEC);
		}
		if (r == 0)
			r = santa_sha256_stream_new(&job->hash);
		if (r == 0 && job_wants_md5(job))
			(void)santa_sha256_stream_add_md5(job->hash); /* without it, identify reads */
	}
	while (r == 0) {
		r = santa_sha256_stream_step(job->hash, job->fd, HASH_SLICE_BYTES, job->sha256);
		if (r != 0)
			break;
		if (hash_pool_stopping(pool)) {
			r = -ECANCELED;
		} else if (santa_sha256_stream_bytes(job->hash) > unawaited_bytes_max(job) &&
			   !job_awaited(job) && job_cancel(job)) {
			r = -ECANCELED;
		} else if (hash_pool_has_waiting(pool)) {
			if (!job_awaited(job) && job_cancel(job))
				r = -ECANCELED;
			else
				break; /* r == 0: back to the queue */
		}
	}
	job->hash_usec += santa_mono_usec() - t0;
	if (job->hash)
		job->hash_bytes = santa_sha256_stream_bytes(job->hash);
	if (r == 0)
		return 0;
	if (r > 0 && !bytes_unchanged(job))
		r = -ETXTBSY;
	job->hash_error = r < 0 ? r : 0;
	return 1;
}

/*
 * Whether path names this very file in santad's own mount namespace: the
 * kernel prints another namespace's mount (a user's tmpfs over an allowed
 * directory) as that namespace sees it. Worker thread: a path walk may wait.
 */
static bool
path_names_file(const char *path, const struct santa_file_key *key)
{
	struct stat st;

	return path[0] == '/' && stat(path, &st) == 0 && st.st_dev == key->dev &&
	       st.st_ino == key->ino;
}

/*
 * Worker thread: hash, look up, decide, answer. Touches nothing the loop
 * owns. Returns false when the job is not finished and must be queued again.
 */
bool
exec_job_run(struct exec_job *job)
{
	struct santad *d = job->daemon;
	struct santa_rule_found rule;
	char hex[SANTA_SHA256_HEX_LEN + 1];
	struct santa_decide_input in = {
		.path = job->path,
		.mode = job->mode,
		.scopes = job->policy->scopes,
		.transitive_rules_enabled = job->policy->cfg.enable_transitive_rules,
		.pending_transitive = job->pending_transitive,
	};
	struct package_trust_snapshot *ref = NULL;
	struct santa_pkg_identity id[1];

	if (hash_some(job) == 0)
		return false;
	in.path_unreadable = strcmp(job->path, SANTAD_PATH_TOO_LONG) == 0;
	/* Only the path scopes read the path: only then is it walked again. */
	if (job->policy->scopes)
		in.path_unverified = job->path_unverified = !path_names_file(job->path, &job->key);
	if (job->hash_error == 0) {
		santa_sha256_to_hex(job->sha256, hex);
		if (santad_find_binary_rule(d, job->policy, hex, &rule) == 0)
			in.binary_rule = &rule;
		santa_decide(&in, &job->decision);
		if (!job->decision.from_rule &&
		    job->decision.reason != SANTA_REASON_PENDING_TRANSITIVE)
			decide_by_package(job, &in, id, &ref);
		if (job->decision.verdict == SANTA_VERDICT_DENY)
			allow_if_critical(job, id, &ref);
		package_trust_release(d->pkgtrust, ref);
		/* Only what the view could have changed: an unknown file (a scope's block stands). */
		if (job->view_missing && job->decision.reason == SANTA_REASON_UNKNOWN &&
		    job->decision.verdict == SANTA_VERDICT_DENY) {
			job->decision.verdict = job->first.fallback;
			job->decision.reason = SANTA_REASON_TIMEOUT;
			job->decision.explain = "package identities not loaded yet";
		}
	} else {
		/* Unreadable: the path scopes and the mode still apply, without a hash. */
		santa_decide(&in, &job->decision);
		if (job->decision.reason == SANTA_REASON_UNKNOWN)
			job->decision.verdict = job->first.fallback;
	}
	/*
	 * A compiler is answered by the loop once it is known as one: answered
	 * here, it could write and close its output before santad noticed.
	 */
	if (job->hash_error == -ETXTBSY && job->decision.reason == SANTA_REASON_UNKNOWN)
		job->decision.explain = "the file was written while it was decided";
	pthread_mutex_lock(&job->lock);
	job->decided = true; /* execs merged from now on get this decision at once */
	if (job->decision.reason != SANTA_REASON_COMPILER)
		job_answer_all(job, job->decision.verdict);
	pthread_mutex_unlock(&job->lock);
	/*
	 * A denial: nothing runs, writers need not wait. An allowed exec holds
	 * writers off only once it is past its permission event: its lease is
	 * kept (lease_hold.h) when the job is back on the loop, as a compiler's,
	 * which the loop answers.
	 */
	if (job->decision.reason != SANTA_REASON_COMPILER &&
	    job->decision.verdict != SANTA_VERDICT_ALLOW)
		release_lease(job);
	santad_job_done(d, job);
	return true;
}

/* Any thread: the loop has finished jobs or TIMEOUT lines to take (on_completion). */
static void
wake_loop(struct santad *d)
{
	uint64_t one = 1;

	(void)!write(d->exec_state->completion_fd, &one, sizeof(one));
}

void
santad_job_done(struct santad *d, struct exec_job *job)
{
	struct exec_state *x = d->exec_state;

	pthread_mutex_lock(&x->completion_lock);
	job->next = x->completed;
	x->completed = job;
	pthread_mutex_unlock(&x->completion_lock);
	wake_loop(d);
}

/*
 * Which decisions become events for the sync server, as on Santa: every
 * block, unknown allows unless DisableUnknownEventUpload, everything with
 * EnableAllEventUpload; only while a sync server is configured.
 */
static bool
wants_upload(const struct santad *d, const struct santa_decision *decision)
{
	const struct santad_live_settings *cfg = &d->policy->cfg;

	if (!d->events || !cfg->sync_base_url)
		return false;
	if (cfg->enable_all_event_upload || decision->verdict == SANTA_VERDICT_DENY)
		return true;
	return decision->reason == SANTA_REASON_UNKNOWN && !cfg->disable_unknown_event_upload;
}

static bool hold_line(struct santad *d, pid_t pid, const struct santa_file_key *key,
		      struct exec_record *rec);

/* The exec's argv, when known, goes with its line (the line goes without on ENOMEM). */
static void
record_set_args(struct exec_record *rec, const struct exec_args *args)
{
	if (!args || !args->len || !(rec->args = malloc(args->len)))
		return;
	memcpy(rec->args, args->data, args->len);
	rec->args_len = args->len;
	rec->args_truncated = args->truncated;
}

/*
 * hold_key: the exec will run (and be notified) on the exec group; an
 * allowed line may then wait for its args (hold_line).
 */
static void
log_exec(struct santad *d, const char *path, const struct proc_info *proc, enum santa_mode mode,
	 const struct santa_decision *decision, const uint8_t *sha256, bool decided_now,
	 const struct exec_args *args, const struct santa_file_key *hold_key,
	 const struct signing_info *signing)
{
	struct exec_record *rec = exec_record_new(RECORD_EXEC, path, NULL, NULL, signing);
	struct timespec ts;

	if (!rec)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	rec->exec_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	/* A decision replayed from the cache was uploaded when it was made. */
	rec->upload = decided_now && wants_upload(d, decision);
	rec->verdict = decision->verdict;
	rec->reason = decision->reason;
	rec->explain = decision->explain;
	if (sha256) {
		rec->has_sha256 = true;
		memcpy(rec->sha256, sha256, SANTA_SHA256_LEN);
	}
	rec->pid = proc->pid;
	rec->ppid = proc->ppid;
	rec->pidversion = proc->pidversion;
	rec->ppidversion = proc->ppidversion;
	memcpy(rec->parent_name, proc->parent_name, sizeof(rec->parent_name));
	rec->uid = proc->uid;
	rec->gid = proc->gid;
	rec->mode = mode;
	record_set_args(rec, args);
	if (hold_key && decision->verdict == SANTA_VERDICT_ALLOW) {
		/*
		 * The line may wait for its args; the event for the sync server
		 * (which has no args) goes now, so a sync or status right after
		 * the exec sees it (santad_exec_settle).
		 */
		if (rec->upload) {
			struct exec_record *event = exec_record_dup(rec);

			if (event) {
				event->upload_only = true;
				rec->upload = false;
				event_log_submit(d->elog, event);
			}
		}
		if (!hold_line(d, proc->pid, hold_key, rec))
			event_log_submit(d->elog, rec);
	} else {
		event_log_submit(d->elog, rec);
	}
	/* Blocks only: their frames (a rule's message, the notice) are zeroed before they look. */
	if (decision->verdict == SANTA_VERDICT_DENY) {
		santad_gui_block(d, path, proc, decision, sha256);
		santad_tty_block(d, path, proc, decision, sha256);
	}
	if (decision->reason == SANTA_REASON_COMPILER)
		santad_transitive_compiler(d, proc->pid, sha256);
}

/* After an allow: let the kernel stop asking about this file, when that is safe. */
static void
maybe_ignore(struct santad *d, int fd, bool trusted, const struct santa_decision *decision)
{
	/* Only while the notification group can still log what the kernel stops asking (or nothing is logged). */
	/* A compiler must be seen at every exec, before it runs: no ignore mark for it. */
	if (!d->policy->cfg.enable_kernel_ignore_marks || !fan_has_notify_group(d->fan) || !trusted ||
	    decision->verdict != SANTA_VERDICT_ALLOW || decision->reason == SANTA_REASON_TIMEOUT ||
	    decision->reason == SANTA_REASON_COMPILER)
		return;
	if (fan_ignore_file(d->fan, fd) == 0)
		d->stats.ignore_marks++;
	else
		d->stats.ignore_mark_errors++;
}

static void
count(struct santad *d, const struct santa_decision *decision)
{
	unsigned int reason = (unsigned int)decision->reason;

	if (decision->verdict == SANTA_VERDICT_DENY)
		d->stats.denied++;
	else
		d->stats.allowed++;
	if (reason <= SANTA_REASON_MAX)
		d->stats.by_decision[decision->verdict == SANTA_VERDICT_DENY][reason]++;
}

/* Decision latency, from reading the event to answering it; loop thread only. */
static void
record_latency(struct santad *d, uint64_t usec)
{
	static const uint64_t bounds[SANTAD_LATENCY_BUCKETS - 1] = SANTAD_LATENCY_BOUNDS;
	unsigned int i;

	for (i = 0; i < SANTAD_LATENCY_BUCKETS - 1 && usec > bounds[i]; i++)
		;
	d->stats.latency[i]++;
	d->stats.latency_sum_usec += usec;
}


/*
 * The path of an fd the kernel handed over, through /proc/self/fd held open
 * (a lookup of "/proc/self/fd/N" from the root was a tenth of santad's CPU
 * in an exec storm).
 */
static int
fd_path(const struct santad *d, int fd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "%d", fd);
	n = readlinkat(d->exec_state->proc_fd_dir, link, out, size - 1);
	if (n < 0 && d->exec_state->proc_fd_dir < 0) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, out, size - 1);
	}
	if (n < 0 && errno == ENAMETOOLONG) {
		/* Not a path (no leading '/'): what the log can say of it. */
		snprintf(out, size, "%s", SANTAD_PATH_TOO_LONG);
		return -ENAMETOOLONG;
	}
	out[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		return -errno;
	/*
	 * A file unlinked before its exec (fexecve of an open fd) is printed
	 * with " (deleted)" after its name: the name it had is what scopes
	 * match (a regex anchored at the end would miss it otherwise).
	 */
	if ((size_t)n > sizeof(" (deleted)") - 1 &&
	    strcmp(out + n - (sizeof(" (deleted)") - 1), " (deleted)") == 0) {
		struct stat st;

		if (fstat(fd, &st) == 0 && st.st_nlink == 0)
			out[n - (sizeof(" (deleted)") - 1)] = '\0';
	}
	return 0;
}


static void
unlink_pending(struct santad *d, struct exec_job *job)
{
	struct exec_state *x = d->exec_state;
	struct exec_job **pp;

	for (pp = &x->pending; *pp; pp = &(*pp)->pending_next) {
		if (*pp == job) {
			*pp = job->pending_next;
			x->n_pending--;
			return;
		}
	}
}

static void
job_free(struct exec_job *job)
{
	struct santad *d = job->daemon;
	struct exec_wait *w;

	while ((w = job->merged)) {
		job->merged = w->next;
		if (w->fd >= 0)
			close(w->fd);
		free(w);
		d->exec_state->n_merged--;
	}
	santa_sha256_stream_free(job->hash);
	if (job->fd >= 0)
		close(job->fd);
	policy_unref(job->policy);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

/*
 * Execs waiting for an answer at once, far above what the hash queues and
 * merged execs allow (main.c: decision_limits): never the binding cap.
 */
#define DEADLINES_MAX 65536

/* The loop's list of execs their deadline answered, for their lines. */
static void
push_timed_out(struct santad *d, struct exec_wait *w)
{
	struct exec_state *x = d->exec_state;

	pthread_mutex_lock(&x->completion_lock);
	w->timeout_next = x->timed_out;
	x->timed_out = w;
	pthread_mutex_unlock(&x->completion_lock);
	wake_loop(d);
}

/*
 * Answers w with its fallback verdict, when nobody did (its deadline, or a
 * queue that had no room). Under the job's lock. When that was the job's
 * last waiting exec, writers need not wait for a hash that now only fills
 * the cache (guard_bytes): the lease goes.
 */
static bool
wait_expire(struct exec_wait *w)
{
	struct exec_job *job = w->job;

	if (!wait_answer(w, w->fallback))
		return false;
	w->timed_out = true;
	if (job->unanswered == 0 && !job->decided)
		(void)fcntl(job->fd, F_SETLEASE, F_UNLCK);
	return true;
}

/* The deadline thread (deadline.h), under its lock: answer now; the line is the loop's. */
static void
on_deadline(struct deadline *dl, void *ctx)
{
	struct exec_wait *w = (struct exec_wait *)((char *)dl - offsetof(struct exec_wait, deadline));
	struct exec_job *job = w->job;
	bool expired;

	pthread_mutex_lock(&job->lock);
	expired = wait_expire(w);
	pthread_mutex_unlock(&job->lock);
	if (expired)
		push_timed_out(ctx, w);
}

/* Loop: what an exec answered by its deadline (or a full queue) leaves behind. */
static void
log_timeout(struct santad *d, struct exec_wait *w)
{
	struct exec_job *job = w->job;
	struct santa_decision timeout = {
		.verdict = w->fallback,
		.reason = SANTA_REASON_TIMEOUT,
	};

	d->stats.timeouts++;
	count(d, &timeout);
	record_latency(d, w->answered_usec - w->started_usec);
	/* At most one line a second: a user can make every exec of theirs late. */
	if (santa_mono_usec() - d->exec_state->timeout_logged_usec >= 1000000) {
		santa_log(&d->log, LOG_WARNING,
			  "no decision for %s within %lld ms: %s (TIMEOUT; %llu more since the last such line)",
			  job->path, (long long)job->policy->cfg.decision_timeout_ms,
			  santa_verdict_to_string(timeout.verdict),
			  (unsigned long long)d->exec_state->timeouts_unlogged);
		d->exec_state->timeout_logged_usec = santa_mono_usec();
		d->exec_state->timeouts_unlogged = 0;
	} else {
		d->exec_state->timeouts_unlogged++;
	}
	log_exec(d, job->path, &w->proc, job->mode, &timeout, NULL, true, NULL,
		 fan_is_exec_group(d->fan, w->answer_fd) ? &job->key : NULL, NULL);
}

/* Loop: the lines of the execs the deadline thread answered so far. */
static void
take_timed_out(struct santad *d)
{
	struct exec_state *x = d->exec_state;
	struct exec_wait *list, *w;

	pthread_mutex_lock(&x->completion_lock);
	list = x->timed_out;
	x->timed_out = NULL;
	pthread_mutex_unlock(&x->completion_lock);
	while ((w = list)) {
		list = w->timeout_next;
		log_timeout(d, w);
	}
}

/*
 * Loop: no deadline of the job's execs can fire any more, and every line of
 * those that fired is written: from here the loop alone touches the job.
 */
static void
job_settle_deadlines(struct santad *d, struct exec_job *job)
{
	struct exec_wait *w;

	deadlines_remove(d->exec_state->deadlines, &job->first.deadline);
	for (w = job->merged; w; w = w->next)
		deadlines_remove(d->exec_state->deadlines, &w->deadline);
	take_timed_out(d);
}

/*
 * Loop: an allowed job's read lease is kept until its execs hold writers off
 * themselves (lease_hold.h); the fd goes with it.
 */
_Static_assert(LEASE_HOLD_PIDS_MAX >= 1 + JOB_MERGED_MAX, "every exec of a job is followed");

static void
hold_lease(struct santad *d, struct exec_job *job)
{
	pid_t pids[LEASE_HOLD_PIDS_MAX];
	unsigned int n = 0;
	struct exec_wait *w;

	/*
	 * Not F_GETLEASE: a lease a writer waits on reads F_UNLCK while it is
	 * broken, and that is the very writer to hold off.
	 */
	if (!job->leased || job->fd < 0 || job->decision.verdict != SANTA_VERDICT_ALLOW)
		return;
	for (w = &job->first; w && n < LEASE_HOLD_PIDS_MAX; w = w == &job->first ? job->merged : w->next)
		if (w->answered && !w->timed_out)
			pids[n++] = w->proc.pid;
	if (n == 0)
		return;
	lease_holds_add(d->exec_state->lease_holds, job->fd, pids, n);
	job->fd = -1;
}

/*
 * A cached allow of a file others than root may write: a read lease before
 * the answer, so that no writer changes it between the look at its times
 * and the point where the exec refuses writers (lease_hold.h). 1: leased
 * and unchanged; 0: the filesystem has no leases (its times were checked);
 * -1: open for writing or changed since: decided again, as a first exec.
 */
static int
lease_cached(int fd, const struct santa_file_key *key)
{
	struct santa_file_key now;
	struct stat st;

	if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
		return errno == EAGAIN || errno == EBUSY ? -1 : 0;
	if (fstat(fd, &st) == 0) {
		santa_file_key_of(&st, &now);
		if (santa_file_key_equal(&now, key))
			return 1;
	}
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return -1;
}

static int
on_completion(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;
	struct exec_state *x = d->exec_state;
	struct exec_job *list, *job;
	struct exec_wait *w;
	struct santa_cached cached;
	char hex[SANTA_SHA256_HEX_LEN + 1];
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&x->completion_lock);
	list = x->completed;
	x->completed = NULL;
	pthread_mutex_unlock(&x->completion_lock);
	take_timed_out(d);
	while ((job = list)) {
		list = job->next;
		unlink_pending(d, job);
		job_settle_deadlines(d, job);
		if (job->decision.reason == SANTA_REASON_COMPILER) {
			/* Each of its processes is followed before it may run. */
			for (w = &job->first; w; w = w == &job->first ? job->merged : w->next) {
				if (w->answered)
					continue;
				santad_transitive_compiler(d, w->proc.pid, job->sha256);
				(void)wait_answer(w, job->decision.verdict);
			}
		}
		if (job->hash_error == 0 && (job->view_missing || job->path_unverified)) {
			/* Decided without the package view (not loaded yet), or by a path only this exec saw: not for keeping. */
			santad_loader_exec_decided(d, &job->key, job->sha256);
		} else if (job->hash_error == 0 && job->generation != d->stats.flushes) {
			/*
			 * Made before the rules (or mode) last changed: its lookup may
			 * have read the old rules, so the answer stands but is not kept.
			 */
			santad_loader_exec_decided(d, &job->key, job->sha256);
		} else if (job->hash_error == 0) {
			santad_loader_exec_decided(d, &job->key, job->sha256);
			memset(&cached, 0, sizeof(cached));
			cached.decision = job->decision;
			memcpy(cached.sha256, job->sha256, SANTA_SHA256_LEN);
			cached.ref = signing_table_intern(x->signing, &job->signing);
			decision_cache_insert(d->exec_state->cache, &job->key, &cached);
		} else if (job->hash_error == -ECANCELED || job->hash_error == -ETXTBSY) {
			/*
			 * Past its deadline and another job waited, or written while
			 * hashed (hash_some): a user's doing, not santad's failure, and
			 * its exec line says so; no warning line per exec.
			 */
			d->stats.hashes_given_up++;
		} else {
			santa_log_errno(&d->log, LOG_WARNING, job->hash_error,
					"Failed to hash %s: %m", job->path);
		}
		/* A used transitive rule lives on (expiry counts from the last use): after the answer. */
		if (job->hash_error == 0 && job->decision.reason == SANTA_REASON_TRANSITIVE) {
			santa_sha256_to_hex(job->sha256, hex);
			(void)rule_writer_touch_transitive(d->rule_writer, hex);
		}
		if (job->hash_error == 0 && !job->first.timed_out && !job->view_missing &&
		    !job->path_unverified && job->generation == d->stats.flushes)
			maybe_ignore(d, job->fd, job->trusted_file, &job->decision);
		d->stats.hash_bytes += job->hash_bytes;
		d->stats.hash_usec += job->hash_usec;
		d->stats.hashes++;
		/* One decision, one upload event (the first exec's); a line for every exec. */
		for (w = &job->first; w; w = w == &job->first ? job->merged : w->next) {
			if (w->timed_out)
				continue;
			count(d, &job->decision);
			record_latency(d, w->answered_usec - w->started_usec);
			log_exec(d, job->path, &w->proc, job->mode, &job->decision,
				 job->hash_error == 0 ? job->sha256 : NULL, w == &job->first, NULL,
				 fan_is_exec_group(d->fan, w->answer_fd) ? &job->key : NULL, &job->signing);
		}
		hold_lease(d, job);
		job_free(job);
	}
	return 0;
}

/*
 * Decisions the workers finished are taken now rather than at the loop's next
 * turn: their lines and upload events are then submitted to the event log
 * before a request that must see them takes its flush ticket. A worker
 * answers the kernel just before it hands the job back, so an exec whose
 * EPERM a user has seen is here, bar the microseconds between the two.
 */
void
santad_exec_settle(struct santad *d)
{
	(void)on_completion(d->exec_state->completion_src, d->exec_state->completion_fd, EPOLLIN, d);
}

/* Writes a held line, with the exec's args when they came. */
static void
release_held(struct santad *d, struct seen_exec *e, const struct exec_args *args)
{
	struct exec_record *rec = e->held;

	e->held = NULL;
	if (!rec)
		return;
	record_set_args(rec, args);
	event_log_submit(d->elog, rec);
}

static void
forget_seen(struct santad *d, struct seen_exec *e)
{
	release_held(d, e, NULL); /* its line goes as it is */
	free(e->args);
	e->args = NULL;
	e->notified = false;
	e->pid = 0;
}

static void
remember_seen(struct santad *d, pid_t pid, const struct stat *st)
{
	struct exec_state *x = d->exec_state;
	struct seen_exec *e = &x->seen[x->seen_next++ % SEEN_EXECS];

	forget_seen(d, e); /* the ring came round */
	e->pid = pid;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
}

static struct seen_exec *
find_seen(struct santad *d, pid_t pid, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < SEEN_EXECS; i++) {
		struct seen_exec *e = &d->exec_state->seen[i];

		if (e->pid == pid && e->ino == ino && e->dev == dev)
			return e;
	}
	return NULL;
}

/*
 * The line of an exec allowed on the permission path waits for the exec's
 * notification: by then the exec is done and the BPF program has its args
 * (at decision time the new argv does not exist yet). Only while that
 * program runs and notifications are logged; a line whose notification does
 * not come (the exec failed after the open) is written after HELD_LINE_USEC.
 */
static bool
hold_line(struct santad *d, pid_t pid, const struct santa_file_key *key, struct exec_record *rec)
{
	struct seen_exec *e;

	if (!santad_exec_info_active(d) || !fan_notify_logs(d->fan) || !d->exec_state->held_timer)
		return false;
	e = find_seen(d, pid, key->dev, key->ino);
	if (!e || e->held)
		return false;
	if (e->notified) {
		/* The exec is done already: its notification left the args here. */
		e->held = rec;
		release_held(d, e, e->args);
		forget_seen(d, e);
		return true;
	}
	e->held = rec;
	e->held_usec = santa_mono_usec();
	if (sd_event_source_get_enabled(d->exec_state->held_timer, NULL) == 0 &&
	    sd_event_source_set_time_relative(d->exec_state->held_timer, HELD_LINE_USEC) >= 0)
		(void)sd_event_source_set_enabled(d->exec_state->held_timer, SD_EVENT_ONESHOT);
	return true;
}

static int
on_held_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct santad *d = userdata;
	uint64_t now = santa_mono_usec(), oldest = now;
	bool waiting = false;
	size_t i;

	for (i = 0; i < SEEN_EXECS; i++) {
		struct seen_exec *e = &d->exec_state->seen[i];

		if (!e->held)
			continue;
		if (now - e->held_usec >= HELD_LINE_USEC) {
			release_held(d, e, NULL);
		} else {
			waiting = true;
			if (e->held_usec < oldest)
				oldest = e->held_usec;
		}
	}
	if (waiting && sd_event_source_set_time_relative(s, HELD_LINE_USEC - (now - oldest)) >= 0)
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

void
santad_exec_deadlines_stop(struct santad *d)
{
	if (!d->exec_state)
		return;
	deadlines_stop(d->exec_state->deadlines);
	d->exec_state->deadlines = NULL;
}

/*
 * At exit, after the workers and the deadline thread stopped: every job
 * still held is freed, then the state with the cache.
 */
void
santad_exec_stop(struct santad *d)
{
	struct exec_state *x = d->exec_state;
	struct exec_job *job;

	if (!x)
		return;
	/* main.c stopped this module only once the eventfd was open: what it set up goes. */
	if (x->completion_fd >= 0) {
		santad_exec_deadlines_stop(d);
		pthread_mutex_lock(&x->completion_lock);
		x->completed = NULL; /* these are on the pending list too */
		x->timed_out = NULL; /* execs of those jobs */
		pthread_mutex_unlock(&x->completion_lock);
		while ((job = x->pending)) {
			x->pending = job->pending_next;
			job_free(job);
		}
		x->n_pending = 0;
		lease_holds_free(x->lease_holds);
		x->lease_holds = NULL;
		sd_event_source_disable_unref(x->completion_src);
		x->completion_src = NULL;
		sd_event_source_disable_unref(x->held_timer);
		close(x->completion_fd);
		x->completion_fd = -1;
		if (x->proc_fd_dir >= 0)
			close(x->proc_fd_dir);
		x->proc_fd_dir = -1;
		pthread_mutex_destroy(&x->completion_lock);
	}
	decision_cache_free(x->cache);
	signing_table_free(x->signing);
	free(x);
	d->exec_state = NULL;
}

int
santad_exec_new(struct santad *d)
{
	struct exec_state *x = calloc(1, sizeof(*x));
	int r;

	if (!x)
		return -ENOMEM;
	x->completion_fd = -1;
	x->proc_fd_dir = -1;
	r = decision_cache_new((size_t)d->start.decision_cache_size, &x->cache);
	if (r == 0)
		r = signing_table_new(&x->signing);
	if (r < 0) {
		decision_cache_free(x->cache);
		free(x);
		return r;
	}
	d->exec_state = x;
	return 0;
}

int
santad_exec_start(struct santad *d)
{
	struct exec_state *x = d->exec_state;
	int r;

	pthread_mutex_init(&x->completion_lock, NULL);
	x->completion_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->completion_fd < 0)
		return -errno;
	x->proc_fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = sd_event_add_io(d->event, &x->completion_src, x->completion_fd, EPOLLIN, on_completion,
			    d);
	if (r < 0)
		return r;
	r = deadlines_start(DEADLINES_MAX, on_deadline, d, &x->deadlines);
	if (r < 0)
		return r;
	/*
	 * Each held lease is an fd: as many as execs may be merged (main.c:
	 * decision_limits, called first). Room for fewer files than execs
	 * answered at once lets one allowed exec push another's lease out
	 * before it ran (tests/adversarial/lease_merged.sh).
	 */
	if (x->merged_max == 0)
		return -EINVAL;
	r = lease_holds_new(x->merged_max, lease_holds_age_limit(), &x->lease_holds);
	if (r < 0)
		return r;
	r = sd_event_add_time_relative(d->event, &x->held_timer, CLOCK_MONOTONIC,
				       HELD_LINE_USEC, 10000, on_held_timer, d);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(x->held_timer, SD_EVENT_OFF);
}

void
santad_exec_set_merged_max(struct santad *d, unsigned int max)
{
	d->exec_state->merged_max = max;
}

unsigned int
santad_exec_pending(const struct santad *d)
{
	return d->exec_state->n_pending;
}

void
santad_exec_cache_stats(const struct santad *d, struct decision_cache_stats *out)
{
	decision_cache_stats(d->exec_state->cache, out);
}

bool
santad_exec_cache_lookup(struct santad *d, const struct santa_file_key *key,
			 struct santa_cached *out)
{
	return decision_cache_lookup(d->exec_state->cache, key, out);
}

void
santad_exec_cache_split_by_dev(struct santad *d, dev_t dev)
{
	decision_cache_split_by_dev(d->exec_state->cache, dev);
}

void
santad_exec_lease_stats(const struct santad *d, struct lease_hold_stats *out)
{
	lease_holds_stats(d->exec_state->lease_holds, out);
}

void
santad_log_decision(struct santad *d, const char *path, const struct proc_info *proc,
		    const struct santa_decision *decision)
{
	count(d, decision);
	log_exec(d, path, proc, d->policy->cfg.client_mode, decision, NULL, true, NULL, NULL, NULL);
}

/*
 * Whether a loader's exec notification is the interpreter of the program
 * this process was notified for just before (consumed), rather than the
 * loader run as a program. Only the log depends on it: the exec group and
 * the loader check decide either way.
 */
static bool
is_interpreter_load(struct santad *d, pid_t pid)
{
	uint64_t now = santa_mono_usec();
	size_t i;

	for (i = 0; i < PROGRAM_EXECS; i++) {
		struct program_exec *e = &d->exec_state->program_execs[i];

		if (e->pid != pid)
			continue;
		e->pid = 0;
		return now - e->usec < INTERPRETER_WINDOW_USEC;
	}
	return false;
}

static void
remember_program_exec(struct santad *d, pid_t pid)
{
	struct exec_state *x = d->exec_state;
	struct program_exec *e = NULL;
	size_t i;

	for (i = 0; i < PROGRAM_EXECS && !e; i++)
		if (x->program_execs[i].pid == pid)
			e = &x->program_execs[i]; /* one per process: the latest */
	if (!e)
		e = &x->program_execs[x->program_execs_next++ % PROGRAM_EXECS];
	e->pid = pid;
	e->usec = santa_mono_usec();
}

/* Returns false when the line must wait: the exec was read before it finished. */
static bool
log_exec_done(struct santad *d, int fd, pid_t pid, const struct stat *stp, bool may_defer)
{
	struct seen_exec *seen;
	struct exec_args args;
	struct santa_file_key key;
	struct santa_cached cached;
	struct proc_info proc = { 0 };
	char path[PATH_MAX];
	bool unknown_since = false;
	struct stat st;

	args.len = 0;
	if (stp)
		st = *stp;
	else if (fstat(fd, &st) < 0)
		return true;
	if (!S_ISREG(st.st_mode))
		return true;
	seen = find_seen(d, pid, st.st_dev, st.st_ino);
	if (seen && !seen->notified) {
		/*
		 * Logged by the permission path: its line waits for these args, or
		 * (the decision is still on its way to the loop) they wait for it.
		 */
		if (santad_exec_info_active(d) &&
		    !santad_exec_info_take(d, pid, (uint64_t)st.st_ino, &proc, &args)) {
			if (may_defer)
				return false;
			args.len = 0;
		}
		if (seen->held) {
			release_held(d, seen, &args);
			forget_seen(d, seen);
		} else if (santad_exec_info_active(d)) {
			seen->notified = true;
			seen->args = args.len ? malloc(sizeof(args)) : NULL;
			if (seen->args)
				*seen->args = args;
		} else {
			forget_seen(d, seen);
		}
		return true;
	}
	if (seen)
		return true; /* a second notification of one exec: none is logged twice */
	/* The kernel allowed it without asking: an ignore mark, so a cached allow. */
	santa_file_key_of(&st, &key);
	if (!decision_cache_lookup(d->exec_state->cache, &key, &cached)) {
		/*
		 * Not as decided: forgotten since (evicted), or changed without the
		 * modify event that drops a mark (a shared writable mapping, new
		 * times). Every exec gets its line, saying so; the marks go, so the
		 * next exec of it is decided afresh.
		 */
		fan_unignore_file(d->fan, fd);
		memset(&cached, 0, sizeof(cached));
		cached.decision.verdict = SANTA_VERDICT_ALLOW;
		cached.decision.reason = SANTA_REASON_UNKNOWN;
		cached.decision.explain = "allowed by the kernel's cache; the file changed or was "
					  "forgotten since it was decided";
		unknown_since = true;
	}
	/*
	 * The process may be gone by now (notifications are read in batches):
	 * what the BPF program kept at its exec first. Missing there, the exec
	 * may still be under way (the notification comes when it opens the
	 * file, the program runs when it is done): once more with the next
	 * batch, then /proc.
	 */
	if (!santad_exec_info_take(d, pid, (uint64_t)st.st_ino, &proc, &args)) {
		if (may_defer && santad_exec_info_active(d))
			return false;
		proc.pid = pid;
		santad_process_info(pid, &proc.ppid, &proc.uid, &proc.gid);
		proc.pidversion = santad_process_start(pid);
		proc.ppidversion = santad_process_start(proc.ppid);
		args.len = 0;
	}
	fd_path(d, fd, path, sizeof(path));
	d->stats.logged_without_asking++;
	count(d, &cached.decision);
	log_exec(d, path, &proc, d->policy->cfg.client_mode, &cached.decision,
		 unknown_since ? NULL : cached.sha256, false, &args, NULL,
		 unknown_since ? NULL : signing_table_lookup(d->exec_state->signing, cached.ref));
	return true;
}

void
santad_notifications_lost(struct santad *d)
{
	uint64_t now = santa_mono_usec();

	d->stats.notifications_lost++;
	/* At most once a second: a flood of execs is what overflows the queue. */
	if (now - d->exec_state->notifications_lost_said_usec >= 1000000) {
		d->exec_state->notifications_lost_said_usec = now;
		santa_log(&d->log, LOG_WARNING, "exec notifications lost (the kernel's queue "
			  "overflowed %llu time(s) so far): some allowed execs have no line",
			  (unsigned long long)d->stats.notifications_lost);
	}
}

void
santad_handle_exec_done(struct santad *d, int fd, pid_t pid)
{
	struct exec_state *x = d->exec_state;
	struct stat st;

	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	if (!santad_loader_is_file(d, st.st_dev, st.st_ino)) {
		remember_program_exec(d, pid);
	} else if (is_interpreter_load(d, pid)) {
		d->stats.interpreter_loads++;
		close(fd);
		return;
	}
	if (!log_exec_done(d, fd, pid, &st, x->n_deferred < DEFERRED_NOTICES)) {
		x->deferred[x->n_deferred].fd = fd;
		x->deferred[x->n_deferred].pid = pid;
		x->deferred[x->n_deferred].since_usec = santa_mono_usec();
		x->n_deferred++;
		return;
	}
	close(fd);
}

/*
 * A notice whose exec info is not there yet waits again, up to
 * HELD_LINE_USEC: on a loaded machine (two CPU hogs beside a virtual machine
 * without hardware acceleration) an exec took longer than one coalescing
 * period to finish, and its line went without args. final: all go now.
 */
static bool
retry_deferred(struct santad *d, bool final)
{
	struct exec_state *x = d->exec_state;
	unsigned int i, n = x->n_deferred;
	uint64_t now = santa_mono_usec();

	x->n_deferred = 0;
	for (i = 0; i < n; i++) {
		struct deferred_notice e = x->deferred[i];
		bool may_wait = !final && now - e.since_usec < HELD_LINE_USEC;

		if (!log_exec_done(d, e.fd, e.pid, NULL, may_wait)) {
			x->deferred[x->n_deferred++] = e; /* i >= n_deferred: no entry is lost */
			continue;
		}
		close(e.fd);
	}
	return x->n_deferred > 0;
}

bool
santad_retry_exec_done(struct santad *d)
{
	return retry_deferred(d, false);
}

void
santad_flush_exec_lines(struct santad *d)
{
	size_t i;

	if (!d->exec_state)
		return; /* santad stops before it started deciding */
	(void)retry_deferred(d, true);
	for (i = 0; i < SEEN_EXECS; i++)
		forget_seen(d, &d->exec_state->seen[i]);
}

/*
 * The job on its way for the same file, uid and path under the same policy
 * (exec_job.h), or NULL. The pending list is bounded by the hash queues'
 * caps plus the jobs just finished.
 */
static struct exec_job *
find_job(struct santad *d, const struct santa_file_key *key, uid_t uid, const char *path)
{
	struct exec_job *job;

	for (job = d->exec_state->pending; job; job = job->pending_next)
		if (job->key.ino == key->ino && santa_file_key_equal(&job->key, key) &&
		    job->first.proc.uid == uid && job->policy == d->policy &&
		    job->generation == d->stats.flushes && strcmp(job->path, path) == 0)
			return job;
	return NULL;
}

/*
 * Loop: an exec of a file whose first decision is on its way waits for that
 * job instead of hashing the file again (exec_job.h). Returns true when the
 * job took the event (answered now, or when the job or its deadline does).
 */
static bool
merge_exec(struct santad *d, int fd, int answer_fd, const struct santa_file_key *key,
	   const struct proc_info *proc, const char *path, uint64_t started, uint64_t deadline)
{
	struct exec_state *x = d->exec_state;
	struct exec_job *job;
	struct exec_wait *w;
	bool expired, answered = false, merged = false;

	if (x->n_merged >= x->merged_max || !(job = find_job(d, key, proc->uid, path)) ||
	    job->n_merged >= JOB_MERGED_MAX || !(w = calloc(1, sizeof(*w))))
		return false;
	w->job = job;
	w->fd = fd;
	w->answer_fd = answer_fd;
	w->proc = *proc;
	w->started_usec = started;
	w->fallback = job->first.fallback; /* same uid, file and policy */
	pthread_mutex_lock(&job->lock);
	if (job->cancelled) {
		/* Given up: it has no decision to give. */
	} else if (job->decided || job->unanswered > 0 ||
		   fcntl(job->fd, F_SETLEASE, F_RDLCK) == 0) {
		/*
		 * With none of its execs waiting, the job let go of its lease
		 * (wait_expire): taken again, writers wait for this exec's answer
		 * too; a file open for writing makes a job of its own instead.
		 */
		merged = true;
		w->next = job->merged;
		job->merged = w;
		job->unanswered++;
		atomic_store(&job->unanswered_hint, job->unanswered);
		if (job->decided) {
			/* The decision is final: answered now, as from the cache. */
			if (job->decision.reason == SANTA_REASON_COMPILER)
				santad_transitive_compiler(d, proc->pid, job->sha256); /* before it may run */
			answered = wait_answer(w, job->decision.verdict);
		}
	}
	pthread_mutex_unlock(&job->lock);
	if (!merged) {
		free(w);
		return false;
	}
	job->n_merged++;
	x->n_merged++;
	d->stats.merged++;
	if (!answered && deadlines_add(x->deadlines, &w->deadline, deadline) < 0) {
		pthread_mutex_lock(&job->lock);
		expired = wait_expire(w);
		pthread_mutex_unlock(&job->lock);
		if (expired)
			push_timed_out(d, w);
	}
	return true;
}

/* Answered by the mode alone (no hash, no rule), as an unknown file with the why in explain; path: for the caller. */
void
santad_exec_by_mode(struct santad *d, int fd, pid_t pid, int answer_fd, const char *explain,
		    char *path, size_t path_size)
{
	enum santa_mode mode = d->policy->cfg.client_mode;
	struct santa_decision decision = {
		.verdict = mode == SANTA_MODE_LOCKDOWN ? SANTA_VERDICT_DENY : SANTA_VERDICT_ALLOW,
		.reason = SANTA_REASON_UNKNOWN,
		.explain = explain,
	};
	struct proc_info proc = { .pid = pid };
	uint64_t started = santa_mono_usec();

	/* Who is exec'ing, while the process waits: once answered, it may be gone. */
	santad_process_info(pid, &proc.ppid, &proc.uid, &proc.gid);
	fan_respond(answer_fd, fd, decision.verdict);
	record_latency(d, santa_mono_usec() - started);
	if (decision.verdict == SANTA_VERDICT_DENY)
		santad_process_comm(proc.ppid, proc.parent_name, sizeof(proc.parent_name));
	proc.pidversion = santad_process_start(pid);
	proc.ppidversion = santad_process_start(proc.ppid);
	fd_path(d, fd, path, path_size);
	close(fd);
	count(d, &decision);
	log_exec(d, path, &proc, mode, &decision, NULL, true, NULL, NULL, NULL);
}

/*
 * An exec of a file santad cannot even stat: a FUSE mount made without
 * allow_other lets root open and read its files (the event's fd) but
 * refuses root their attributes. Nothing to decide on (no inode, size or
 * times for the cache, no hash for a rule): the mode decides, as for an
 * unknown file (refused in LOCKDOWN; allowed in MONITOR, so a blocklisted
 * program there runs in MONITOR, a known limit). Its line is an unknown's
 * with the why in explain, one per exec as for every other exec (a flood
 * is bounded by the event log's queue); santad's own log says it at most
 * once a second, with a count.
 */
void
santad_handle_exec_uninspectable(struct santad *d, int fd, pid_t pid, int answer_fd, int err)
{
	bool deny = d->policy->cfg.client_mode == SANTA_MODE_LOCKDOWN;
	uint64_t now = santa_mono_usec(), n;
	char path[PATH_MAX];

	santad_exec_by_mode(d, fd, pid, answer_fd,
			    "santad cannot read the file's attributes (a FUSE mount closed to root?)",
			    path, sizeof(path));
	n = fan_count_uninspectable(d->fan);
	if (now - d->exec_state->uninspectable_said_usec >= 1000000) {
		d->exec_state->uninspectable_said_usec = now;
		santa_log_errno(&d->log, LOG_WARNING, -err, "%s pid %ld's exec of %s: santad cannot "
				"read its attributes (%m; a FUSE mount closed to root?) (%llu so far)",
				deny ? "Denied" : "Allowed", (long)pid, path,
				(unsigned long long)n);
	}
}

void
santad_handle_exec(struct santad *d, int fd, pid_t pid, int answer_fd)
{
	struct exec_state *x = d->exec_state;
	struct santa_file_key key;
	struct santa_cached cached;
	struct proc_info proc;
	struct exec_job *job;
	enum santa_mode mode = d->policy->cfg.client_mode;
	char path[PATH_MAX];
	struct stat st;
	uint64_t now, deadline, started = santa_mono_usec();
	bool hit, held = false;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fan_respond(answer_fd, fd, SANTA_VERDICT_ALLOW);
		close(fd);
		return;
	}
	santa_file_key_of(&st, &key);
	/* Only a real exec has a notification to pair with (not a loader's program). */
	if (fan_has_notify_group(d->fan) && fan_notify_logs(d->fan) &&
	    fan_is_exec_group(d->fan, answer_fd))
		remember_seen(d, pid, &st);
	/*
	 * Who is exec'ing is read while the process waits for us: once answered,
	 * a short-lived program may be gone before the log line is written.
	 */
	proc.pid = pid;
	santad_process_info(pid, &proc.ppid, &proc.uid, &proc.gid);
	proc.parent_name[0] = '\0';
	hit = decision_cache_lookup(x->cache, &key, &cached);
	if (hit && cached.decision.verdict == SANTA_VERDICT_ALLOW && !santa_stat_is_root_trusted(&st)) {
		switch (lease_cached(fd, &key)) {
		case 1:
			held = true;
			break;
		case -1:
			hit = false;
			break;
		}
	}
	if (hit) {
		d->stats.cache_hits++;
		if (cached.decision.reason == SANTA_REASON_COMPILER)
			santad_transitive_compiler(d, pid, cached.sha256); /* before it may run */
		fan_respond(answer_fd, fd, cached.decision.verdict);
		record_latency(d, santa_mono_usec() - started);
		/*
		 * A block's notices name the parent: its name is read first thing
		 * after the answer (no /proc read may delay a cached answer), before
		 * the refused child returns and its parent may exit. A cached
		 * decision is not uploaded: nothing else needs the name.
		 */
		if (cached.decision.verdict == SANTA_VERDICT_DENY && !cached.decision.silent)
			santad_process_comm(proc.ppid, proc.parent_name, sizeof(proc.parent_name));
		/* For the line only: after the answer (an exec keeps its start time). */
		proc.pidversion = santad_process_start(pid);
		proc.ppidversion = santad_process_start(proc.ppid);
		maybe_ignore(d, fd, santa_stat_is_root_trusted(&st), &cached.decision);
		count(d, &cached.decision);
		fd_path(d, fd, path, sizeof(path));
		log_exec(d, path, &proc, mode, &cached.decision, cached.sha256, false, NULL,
			 fan_is_exec_group(d->fan, answer_fd) ? &key : NULL, signing_table_lookup(x->signing, cached.ref));
		if (held)
			lease_holds_add(x->lease_holds, fd, &pid, 1);
		else
			close(fd);
		return;
	}
	d->stats.cache_misses++;
	proc.pidversion = santad_process_start(pid);
	proc.ppidversion = santad_process_start(proc.ppid);
	fd_path(d, fd, path, sizeof(path));
	/* The deadline counts from the loop's wakeup (stricter); latency from the read. */
	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	deadline = now + (uint64_t)d->policy->cfg.decision_timeout_ms * 1000;
	/*
	 * A first decision (or a merged exec's TIMEOUT) may be uploaded: the
	 * parent's name now, while the exec waits (once answered, a shell's
	 * child exits and its parent may).
	 */
	santad_process_comm(proc.ppid, proc.parent_name, sizeof(proc.parent_name));
	if (merge_exec(d, fd, answer_fd, &key, &proc, path, started, deadline))
		return;
	job = calloc(1, sizeof(*job));
	if (!job) {
		struct santa_decision no_memory = {
			.verdict = fallback_verdict(d->policy, mode, proc.uid, santa_stat_is_root_trusted(&st)),
			.reason = SANTA_REASON_TIMEOUT,
			.explain = "santad out of memory",
		};

		fan_respond(answer_fd, fd, no_memory.verdict);
		close(fd);
		santad_log_decision(d, path, &proc, &no_memory); /* if memory allows */
		return;
	}
	pthread_mutex_init(&job->lock, NULL);
	job->daemon = d;
	job->policy = policy_ref(d->policy);
	job->generation = d->stats.flushes;
	job->fd = fd;
	job->key = key;
	job->trusted_file = santa_stat_is_root_trusted(&st);
	job->disk_bytes = (uint64_t)st.st_blocks * 512;
	job->pending_transitive = santad_transitive_pending(d, &key);
	job->mode = mode;
	snprintf(job->path, sizeof(job->path), "%s", path);
	job->started_usec = started;
	job->first.job = job;
	job->first.fd = fd;
	job->first.answer_fd = answer_fd;
	job->first.proc = proc;
	job->first.started_usec = started;
	job->first.fallback = fallback_verdict(d->policy, mode, proc.uid, job->trusted_file);
	job->unanswered = 1;
	atomic_store(&job->unanswered_hint, 1);
	job->pending_next = x->pending;
	x->pending = job;
	x->n_pending++;
	if (deadlines_add(x->deadlines, &job->first.deadline, deadline) < 0 ||
	    hash_pool_submit(d->pool, job, proc.uid) < 0) {
		/*
		 * This uid's lane or the queue is full: decided at once as if the
		 * deadline had passed, and the event's fd closed (hash_pool.h).
		 */
		d->stats.queue_full++;
		job_settle_deadlines(d, job);
		if (wait_expire(&job->first)) /* no worker has it: the loop alone touches it */
			log_timeout(d, &job->first);
		unlink_pending(d, job);
		job_free(job);
		return;
	}
#ifdef SANTA_TEST_HOOKS
	if (d->test_stall_armed)
		d->daemon.test_stall(d);
#endif
}
