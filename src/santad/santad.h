/* santad's parts and the context struct main owns. */
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
#include "santa/sync_state.h"
#include <jansson.h>

/* ---- event log: a writer thread fed through a bounded queue ---- */

/*
 * The queue is capped twice: by records, and by the bytes they hold (each
 * record sized to its strings, exec_record_bytes). A stalled writer (a hung
 * disk, an NSS lookup that waits for LDAP) then costs santad at most
 * EVENT_LOG_QUEUE_BYTES whatever the paths. 8 MiB holds about 25,000
 * typical exec records (~330 bytes with a short path and argv: 2.5 s of
 * 10,000 execs a second) and still about 1,400 of the largest (a PATH_MAX
 * path, 1 KiB of argv and a package identity: ~5.8 KB; a rename of long
 * paths ~12.5 KB). With PATH_MAX inline, 65,536 records took 278 MB.
 */
#define EVENT_LOG_QUEUE_MAX   65536
#define EVENT_LOG_QUEUE_BYTES (8u * 1024 * 1024)

/* What a log record says: an exec decision, or a file change (FileChangesRegex). */
enum record_kind {
	RECORD_EXEC = 0,
	RECORD_WRITE,
	RECORD_RENAME,
	RECORD_DELETE,
};

/*
 * What a decision knew of the file's package identity (santa/pkgtrust.h),
 * for the log line (cert_sha256, cert_cn, teamid) and the upload event
 * (signing_id, team_id, signing_chain).
 */
struct signing_info {
	bool known;
	char cert_sha256[65];
	char cert_cn[128];  /* the signing key's user ID */
	char team_id[11];
	char signing_id[140];
	char origin[64];    /* the archive's Origin and Suite */
	char suite[64];
};

/*
 * One log line (and upload event) on its way to the writer. Made by
 * exec_record_new: its strings live in the record's own allocation, each
 * as long as it is (never NULL unless said).
 */
struct exec_record {
	struct exec_record *next;
	size_t alloc_size;  /* the record and its strings; args are apart */
	enum record_kind kind;
	const char *path;
	const char *newpath;      /* RENAME: where it went, or NULL */
	const char *process_path; /* file changes: the instigator's executable, or NULL */
	enum santa_verdict verdict;
	enum santa_reason reason;
	const char *explain;
	bool has_sha256;
	uint8_t sha256[SANTA_SHA256_LEN];
	pid_t pid, ppid;
	uint64_t pidversion, ppidversion; /* EXEC: santad_process_start of each, 0 if not known */
	uid_t uid;
	gid_t gid;
	enum santa_mode mode;
	bool upload;       /* also store it in events.db for the sync server */
	bool upload_only;  /* events.db only: its log line goes later, as another record */
	double exec_time;  /* Unix seconds, when the decision was made */
	char *args;        /* argv, NUL-separated (malloc'd, at most SANTA_EXEC_ARGS_MAX), or NULL */
	size_t args_len;
	bool args_truncated;
	/* signing_info's fields ("" where not known). */
	struct {
		const char *cert_sha256, *cert_cn, *team_id, *signing_id, *origin, *suite;
	} signing;
	char parent_name[17]; /* upload events: the parent's comm, read while the exec waited */
	char strings[];
};

/*
 * A record (zeroed but for its strings) with copies of path, newpath and
 * process_path (both may be NULL) and of signing's fields (NULL: none
 * known); NULL on ENOMEM.
 */
struct exec_record *exec_record_new(enum record_kind kind, const char *path, const char *newpath,
				    const char *process_path, const struct signing_info *signing);
/* A copy of rec without its args (the upload event of a line that waits for them). */
struct exec_record *exec_record_dup(const struct exec_record *rec);
/* What rec holds in memory, strings and args included. */
size_t exec_record_bytes(const struct exec_record *rec);

struct event_log;
struct log_barrier;
struct rule_exports;
struct rule_writer;
struct rule_write_done;
struct events_db;

/* events may be NULL (no sync server: nothing is kept for upload). */
int event_log_start(const struct santa_config *cfg, struct events_db *events,
		    struct event_log **out);
/*
 * Queues a record (taken); when the queue is full (EVENT_LOG_QUEUE_MAX
 * records or EVENT_LOG_QUEUE_BYTES) the record is dropped and counted.
 */
void event_log_submit(struct event_log *log, struct exec_record *rec);
void event_log_reopen(struct event_log *log);
/*
 * A ticket for every record submitted so far; the writer stops batching
 * until it has finished them. event_log_ticket_done says when it has (every
 * line written, every upload event in events.db, or counted as lost);
 * event_log_done_fd becomes readable (eventfd) after a batch that did.
 */
uint64_t event_log_flush_ticket(struct event_log *log);
bool event_log_ticket_done(struct event_log *log, uint64_t ticket);
int event_log_done_fd(struct event_log *log);
/* Readable (eventfd) once a block was stored that should go to the sync server now. */
int event_log_upload_fd(struct event_log *log);
uint64_t event_log_dropped(struct event_log *log);
/* Records waiting for the writer now (the queue's depth), and the bytes they hold. */
void event_log_queued(struct event_log *log, unsigned int *records, size_t *bytes);
/* Lines the log file did not get (disk full...) and events events.db did not take. */
void event_log_losses(struct event_log *log, uint64_t *lines_lost, uint64_t *upload_lost);
/* Lines not written because their uid had used up EventLogUserQuotaMB of the log file. */
uint64_t event_log_quota_dropped(struct event_log *log);
void event_log_stop(struct event_log *log);

/* Frees a record and what it owns. */
void exec_record_free(struct exec_record *rec);

/* ---- file changes (FileChangesRegex), on their own notification group ---- */

struct santad;
struct file_changes;
/* Starts watching the marked filesystems for writes, renames and deletes; no-op without the regex. */
int file_changes_start(struct santad *d, struct file_changes **out);
void file_changes_stop(struct file_changes *fc);

/* pid's parent, uid and gid from /proc. */
void santad_process_info(pid_t pid, pid_t *ppid, uid_t *uid, gid_t *gid);
/*
 * Santa's pidversion, the nearest Linux has: when the process started, in
 * clock ticks since boot (field 22 of /proc/PID/stat, what ps shows as its
 * start). A pid reused later has another; 0 when the process is gone.
 */
uint64_t santad_process_start(pid_t pid);
/* /proc/PID/stat's start time and controlling tty (tty_nr); either pointer may be NULL. */
int santad_process_stat(pid_t pid, uint64_t *start, unsigned int *tty);
/* The process's name (/proc/PID/comm), "" when it is gone. */
void santad_process_comm(pid_t pid, char *buf, size_t size);
struct proc_info;
/* The parent's name as read while the exec was decided, else from /proc now. */
void santad_parent_name(const struct proc_info *proc, char *buf, size_t size);
/*
 * A denial's block message on the terminal of the process that tried (or of
 * its parent, the shell, when it is gone), unless EnableSilentTTYMode or a
 * silent rule: Santa's TTY message (tty.c).
 */
struct santa_decision;
void santad_tty_block(struct santad *d, const char *path, const struct proc_info *proc,
		      const struct santa_decision *decision, const uint8_t *sha256);
/* The same from the kernel's start_boottime (nanoseconds), as the BPF program reads it. */
uint64_t santad_boottime_to_ticks(uint64_t ns);

/* ---- exec decisions ---- */

struct exec_job;
struct exec_wait;
struct hash_pool;


struct santad;

/*
 * What decisions depend on and SIGHUP may change: the configuration as last
 * loaded and its compiled path scopes. A job holds a reference to the policy
 * it was started under, so a reload never changes the rules under a worker's
 * feet. References are taken and dropped on the loop thread only.
 */
struct policy {
	unsigned int refs;
	struct santa_config cfg;
	struct santa_scopes *scopes;
};

struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p);

struct proc_info {
	pid_t pid, ppid;
	uid_t uid;
	gid_t gid;
	/* Santa's pidversion on Linux: santad_process_start (0: not known). */
	uint64_t pidversion, ppidversion;
	/*
	 * The parent's comm, read while a first decision's exec waits, or just
	 * after a cached block's answer ("" if not read).
	 */
	char parent_name[17];
};

/* A process's argv as the exec left it: NUL-separated, cut at SANTA_EXEC_ARGS_MAX. */
#define SANTA_EXEC_ARGS_MAX 1024
struct exec_args {
	size_t len;
	bool truncated;
	char data[SANTA_EXEC_ARGS_MAX];
};

/* struct exec_job and its waiting execs: exec_job.h. */

/*
 * What an exec gets when no decision could be made in time (or at all):
 * denied, unless root runs a file only root can have written, when
 * FailClosed (in LOCKDOWN) decides. Any thread (exec.c says why).
 */
enum santa_verdict santad_fallback_verdict(bool fail_closed_in_lockdown, uid_t uid,
					   bool trusted_file);


/* ---- fanotify ---- */

#define FAN_MAX_MARKS 4096
#define NOTIFY_COALESCE_USEC 20000 /* exec notifications are read at most this often */
#define MNTNS_MAX 512              /* without mount events: other namespaces whose tables are read */
#define MNTNS_SCAN_USEC 1000000    /* how often they are looked for */

struct watched {
	char key[32]; /* "mnt:ID" or "dev:MAJ:MIN" */
	char *path;   /* where it was marked; NULL when marking failed */
	bool seen;    /* still in the mount table at the last look */
	uint64_t failed_usec; /* when marking it last failed (path NULL) */
};
#define MARK_RETRY_USEC (30 * 1000000ULL) /* a filesystem that refused a mark is tried again */

struct fan_client {
	int fd;
	sd_event_source *io;
	/* "Failed to watch" lines: a user's namespace can hold thousands of unmarkable mounts. */
	struct santa_ratelimit mark_failures;
	struct watched *watched; /* what is marked, for santactl status */
	size_t n_watched;
	int mountinfo_fd; /* POLLPRI when the mount table changes */
	sd_event_source *mounts;
	int notify_fd; /* FAN_OPEN_EXEC notifications, for logging, or -1 */
	bool notify_logs; /* it reports execs (not with EventLogType null) */
	sd_event_source *notify_io;
	sd_event_source *notify_pause; /* batches those reads (NOTIFY_COALESCE_USEC) */
	int open_fd; /* FAN_OPEN_PERM, for the loader check (loader.c), or -1 */
	sd_event_source *mntns_scan; /* other mount namespaces, every MNTNS_SCAN_USEC */
	size_t mount_namespaces;     /* seen at the last scan, santad's own included */
	bool mntns_overflow_said;
	struct mount_watch *mw; /* mount events (mounts.c), or NULL: the scan every second */
	uint64_t uninspectable; /* execs of files santad could not stat (FUSE closed to root) */
	uint64_t uninspectable_said_usec;
};

int fan_client_start(struct santad *d);
/* How santad learns of mounts and what it could not mark, for santactl status (mounts.c). */
void santad_mounts_status(const struct santad *d, struct ipc_value *b);
/* The device of a watched entry keyed by filesystem ("dev:MAJ:MIN"); false for a mount key. */
bool fan_key_dev(const char *key, unsigned int *major, unsigned int *minor);
/* Marks filesystems that appeared since the last call; returns how many. */
int fan_sync_marks(struct santad *d);
/* How many mounts or filesystems are marked. */
size_t santad_watched_count(const struct fan_client *fan);
void fan_client_stop(struct fan_client *fan);
/* Lets the kernel skip us for this file until it changes (an allowed, trusted file), in both permission groups. */
int fan_ignore_file(struct fan_client *fan, int fd);
void fan_unignore_file(struct fan_client *fan, int fd);
/* One evictable ignore mark for mask on fd's inode, in one group (until the file is modified). */
int fan_ignore_mark(int group_fd, int fd, uint64_t mask);
/* Forgets every ignore mark (rules or mode changed). */
int fan_flush_ignore_marks(struct fan_client *fan);
/* Writes the kernel's answer for fd. */
int fan_respond(int fan_fd, int fd, enum santa_verdict verdict);

/*
 * Exec notifications read before their exec finished (the BPF program has
 * not seen it yet): held, with their fd, until the next batch.
 */
#define DEFERRED_NOTICES 256
struct deferred_notice {
	int fd;
	pid_t pid;
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

/* The path logged for a file whose path the kernel cannot print (longer than PATH_MAX). */
#define SANTAD_PATH_TOO_LONG "(path longer than PATH_MAX)"

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

/* ---- metrics ---- */

/* Decision latency buckets, upper bounds in microseconds; the last is +Inf. */
#define SANTAD_LATENCY_BUCKETS 12
#define SANTAD_LATENCY_BOUNDS { 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000 }

/* Why santad.sock refused a client, for /santa/ipc/rejections. */
enum ipc_reject_reason {
	IPC_REJECT_NOT_SANTA,   /* not one of Santa's binaries */
	IPC_REJECT_CHANGED,     /* binary changed since start */
	IPC_REJECT_TRACED,
	IPC_REJECT_NOT_ALLOWED, /* a Santa binary, but not for this socket */
	IPC_REJECT_TOO_MANY,
	IPC_REJECT_HANDSHAKE,
	IPC_REJECT_OTHER,
	IPC_REJECT_REASONS,
};
void santad_count_rejection(struct santad *d, const char *why);

/* The export dictionary (lib/metrics) of santad's metrics now; NULL when out of memory. */
json_t *santad_metrics_export(struct santad *d);
/* Pushes a snapshot to santametricservice every MetricExportInterval (if it runs). */
void santad_metrics_start(struct santad *d);
void santad_metrics_stop(struct santad *d);

/* ---- helpers santad starts and supervises ---- */

enum helper_kind { HELPER_SYNC, HELPER_METRIC, HELPER_BUNDLE, HELPER_MAX };

struct helper_spec {
	const char *name;
	bool on_demand;     /* started by the first client, exits when idle */
	bool read_any_file; /* keeps CAP_DAC_READ_SEARCH, CAP_SETUID, CAP_SETGID (ambient); else none */
	size_t user_offset; /* in struct santa_config: the char * naming its own user */
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
};

/* Creates the sockets and starts what the configuration wants. */
int santad_helpers_init(struct santad *d);
/* After a reload: starts, stops (or revives after a crash loop) as the config now says. */
void santad_helpers_reconcile(struct santad *d);
void santad_helpers_stop(struct santad *d);
/* "running", "off", "crash loop", "restarting", "on demand", "stopped" */
const char *santad_helper_state(const struct helper *h);

/* How santad serves a helper's private channel (same requests as santad.sock). */
struct ipc_conn_handlers santad_channel_handlers(void);
/*
 * SANTAD_HELPER_SETTINGS (helper_settings.c): the asking helper's settings
 * from the live configuration, by its validated name; nothing it does not use.
 */
void santad_helper_settings(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req);

/* ---- the console user's notification agent (santa-gui) ---- */

struct console_user {
	bool known;         /* somebody is at the console */
	uid_t uid;
	const char *source; /* "logind" (seat0) or "vt" (active VT and utmp) */
	char session[64];   /* logind session id, or the VT ("tty2") */
};
/* Who is at the console now. */
void console_active(struct console_user *out);
/* Whether an agent (pid, uid) belongs to that user and, under logind, not to another session. */
bool console_serves(const struct console_user *active, pid_t pid, uid_t uid);

struct gui;
int santad_gui_start(struct santad *d);
void santad_gui_stop(struct santad *d);
/* SANTAD_GUI_REGISTER from a validated santa-gui. */
void santad_gui_register(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req);
/* After a block was answered: tells the console user (unless silent). */
void santad_gui_block(struct santad *d, const char *path, const struct proc_info *proc,
		      const struct santa_decision *decision, const uint8_t *sha256);
/* After the policy changed: announces a new client mode. */
void santad_gui_policy_changed(struct santad *d);
/* santactl status's "gui" section. */
void santad_gui_status(struct santad *d, struct ipc_value *dict);

/* ---- transitive rules (transitive.c) ---- */

struct transitive;
/* Starts or stops following compilers as EnableTransitiveRules now says; expires old rules. */
void santad_transitive_reconcile(struct santad *d);
void santad_transitive_shutdown(struct santad *d);
/* An exec decided COMPILER: that process is a compiler until it exits. */
void santad_transitive_compiler(struct santad *d, pid_t pid, const uint8_t *sha256);
/* Whether a compiler closed exactly this file and its rule is still being made. */
bool santad_transitive_pending(struct santad *d, const struct santa_file_key *key);
/* The rule writer finished a transitive write: logs it, counts it, ends its pending state. */
void santad_transitive_written(struct santad *d, const struct rule_write_done *done);

/* ---- bundles for the sync server (bundles.c) ---- */

#define BUNDLES_HELD_MAX        16     /* bundles whose binaries wait for the server */
#define BUNDLE_EVENTS_HELD_MAX  100000 /* BUNDLE_BINARY events held, all bundles together */
struct bundle_store;
int santad_bundles_start(struct santad *d);
void santad_bundles_stop(struct santad *d);
/* SANTAD_BUNDLE_RESULT from santabundleservice. */
void santad_bundle_result(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req);
/* SANTAD_BUNDLE_BINARIES from santasyncservice. */
void santad_bundle_binaries(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req);

/* ---- the loader check: `ld.so PROGRAM` (loader.c) ---- */

struct loader_guard;
/* Starts the FAN_OPEN_PERM reader thread when fan_client_start made its group. */
int santad_loader_start(struct santad *d);
void santad_loader_stop(struct santad *d);
/* The policy changed: what a full queue answers. */
void santad_loader_policy_changed(struct santad *d);
/* An exec was decided with this hash: a copy of a loader becomes a loader too. */
void santad_loader_exec_decided(struct santad *d, const struct santa_file_key *key,
				const uint8_t *sha256);
/* The signal a writer's open of a file the loader check leased sends (blocked in every thread). */
int santad_loader_lease_signal(void);
/* The loop flushed the loader group's inode marks: its thread marks its leased files again. */
void santad_loader_marks_flushed(struct santad *d);
/* The notification group's queue overflowed: execs went by without a notification (no line). */
void santad_notifications_lost(struct santad *d);
/* Whether this file is a loader (an installed one, or a copy learned by its hash). */
bool santad_loader_is_file(struct santad *d, dev_t dev, ino_t ino);
/* santactl status's "loader_check" section. */
void santad_loader_status(struct santad *d, struct ipc_value *dict);

/* ---- anonymous executables: the BPF LSM backstop (anon_exec.c) ---- */

struct anon_exec;
/* Loads and attaches it; < 0 (said in the log) where it cannot be: then not enforced. */
int santad_anon_exec_start(struct santad *d);
void santad_anon_exec_stop(struct santad *d);
/* The mode changed: LOCKDOWN refuses anonymous executables, MONITOR logs them. */
void santad_anon_exec_policy_changed(struct santad *d);
bool santad_anon_exec_enforced(const struct santad *d);
/* A filesystem was marked (or went): the program stops (or starts) treating it as unseen. */
void santad_anon_exec_marked(struct santad *d, unsigned int major, unsigned int minor, bool marked);
/* Reports the kernel could not hand over (its ring was full). */
uint64_t santad_anon_exec_lost(struct santad *d);

/* ---- who ran what, for lines written after the exec (exec_info.c) ---- */

struct exec_info_source;
/* Loads and attaches the BPF program; < 0 (said in the log) where it cannot be. */
int santad_exec_info_start(struct santad *d);
void santad_exec_info_stop(struct santad *d);
bool santad_exec_info_active(const struct santad *d);
/*
 * The parent, uid, gid and argv (args may be NULL) of the exec of inode ino
 * by pid, taken from what the BPF program kept; false when it has nothing.
 */
bool santad_exec_info_take(struct santad *d, pid_t pid, uint64_t ino, struct proc_info *proc,
			   struct exec_args *args);

/* ---- the daemon ---- */

struct santad {
	struct santa_log log;
	struct santa_config cfg;
	const char *config_path;
	const char *root;
	bool config_path_given;
	bool check_config;

	sd_event *event;
	int nice; /* the loop's and answering threads' niceness (priority.h) */
	struct rules_db *rules;
	char rules_error[512]; /* rules.db unusable at start: an empty in-memory one stands in */
	struct policy *policy; /* current; cfg above is as started (paths, watches) */
	struct decision_cache *cache;
	struct fan_client fan;
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
	/*
	 * The signing info of decisions in the cache, interned (loop thread):
	 * a cached exec's line names the package identity its decision used.
	 * Emptied with the cache. Entry 0 is "none".
	 */
	struct signing_info *signing_table;
	uint64_t *signing_hashes; /* of each entry's fields, scanned before comparing entries */
	uint32_t n_signing;
	/* SIGNINGID, CERTIFICATE and TEAMID rules (database and static): none, no package lookups. */
	_Atomic uint64_t package_rules;
	struct file_changes *file_changes;
	struct events_db *events; /* NULL only when events.db could not be opened */
	struct ipc_listener *control; /* santad.sock */
	struct santa_ratelimit control_refusals; /* its refusal log lines, per uid */
	struct ipc_allowlist allowlist; /* Santa's own binaries, as recorded at start */
	struct helper helpers[HELPER_MAX];
	struct gui *gui;
	struct bundle_store *bundles;
	struct transitive *transitive; /* while EnableTransitiveRules is on */
	struct loader_guard *loader;   /* the loaders' files; the check's thread while EnableLoaderCheck is on */
	struct anon_exec *anon_exec;   /* the BPF LSM backstop, where it could attach */
	struct exec_info_source *exec_info; /* BPF exec info, where it could attach */
	sd_event_source *transitive_expiry;
	struct sync_state sync; /* what the sync server set; persisted in SyncStatePath */
	sd_event_source *metrics_timer;

	/*
	 * Jobs the workers finished, and execs the deadline thread answered
	 * (their TIMEOUT lines); the loop picks them up via completion_fd.
	 */
	pthread_mutex_t completion_lock;
	struct exec_job *completed;
	struct exec_wait *timed_out;
	struct deadlines *deadlines; /* the deadline thread (deadline.h) */
	struct lease_holds *lease_holds; /* leases kept until allowed execs settle (lease_hold.h) */
	int completion_fd;
	int proc_fd_dir; /* /proc/self/fd, for the paths of the fds fanotify hands over */
	sd_event_source *completion_src;
	sd_event_source *held_timer; /* writes lines whose notification did not come */
	struct exec_job *pending; /* main thread only */
	unsigned int n_pending;
	unsigned int n_merged, merged_max; /* execs merged into others' jobs (exec_job.h) */
	struct seen_exec seen[SEEN_EXECS];
	unsigned int seen_next;
	struct deferred_notice deferred[DEFERRED_NOTICES];
	unsigned int n_deferred;
	struct program_exec program_execs[PROGRAM_EXECS];
	unsigned int program_execs_next;
	uint64_t timeout_logged_usec, timeouts_unlogged; /* TIMEOUT warnings, one a second */
#ifdef SANTA_TEST_HOOKS
	bool test_stall_armed; /* main.c: the loop stalls after the next job */
#endif

	struct {
		uint64_t allowed, denied, timeouts, cache_hits, cache_misses, queue_full;
		uint64_t ignore_marks, ignore_mark_errors, logged_without_asking;
		uint64_t interpreter_loads; /* loader notifications that were a program's interpreter */
		uint64_t notifications_lost; /* FAN_Q_OVERFLOW on the notification group */
		uint64_t notifications_lost_logged_usec;
		uint64_t helper_restarts;
		uint64_t by_decision[2][SANTA_REASON_MAX + 1]; /* [deny][reason] */
		uint64_t latency[SANTAD_LATENCY_BUCKETS];
		uint64_t latency_sum_usec;
		uint64_t hashes, hash_bytes, hash_usec;
		uint64_t hashes_given_up; /* past the deadline, left for a waiting job */
		uint64_t merged; /* execs that waited for another exec's job of the same file */
		_Atomic uint64_t package_verified, package_unverified; /* identities found, and refused (modified, ...) */
		_Atomic uint64_t package_md5_with_hash; /* of those, MD5 computed from the SHA-256's reads */
		_Atomic uint64_t critical_allowed; /* denials turned into allows: critical system binaries */
		uint64_t ipc_rejected[IPC_REJECT_REASONS];
		uint64_t syncs_ok, syncs_failed;
		uint64_t flushes;
		uint64_t transitive_added;
	} stats;
	double started_at; /* Unix seconds */
	/* Santa's watchdog (control.c): santad's own CPU and memory, sampled every 30 s. */
	struct {
		uint64_t cpu_events, ram_events; /* samples over the thresholds */
		double cpu_peak;		 /* percent of one CPU, the busiest sample */
		uint64_t cpu_usec, at_usec;	 /* CPU time and CLOCK_MONOTONIC at the last sample */
	} watchdog;
};

/*
 * On the loop, before a client is answered: the rule writer finished a
 * change (rule_writer.h). A batch that committed flushes the decisions.
 */
void santad_rules_written(const struct rule_write_done *done, void *userdata);
/* Requests of santasyncservice (santad_proto.h, SANTAD_SYNC_*). */
void santad_handle_sync(struct santad *d, struct ipc_conn *conn, struct ipc_msg *msg);
/* Asks the sync service to upload the waiting events now, outside a full sync. */
void santad_sync_upload_now(struct santad *d);
/* Sends a block's event up at once, when the event log says one was stored. */
int santad_sync_watch_uploads(struct santad *d);
/* Reloads the config file with the sync server's values over it; the old policy stays on error. */
int santad_rebuild_policy(struct santad *d);
/* ---- local data and configuration (local_files.c) ---- */

/*
 * santa.conf opened for reading if only root can have written it (the file
 * and every directory on its way): the fd, or -errno; a refusal (-EPERM) is
 * logged naming the culprit, its owner and mode.
 */
int santad_open_config(struct santad *d);
/* Warns when santa.conf holds secrets and every user may read it. */
void santad_warn_config_secrets(struct santad *d, int fd, const struct santa_config *cfg);
/* The event log's group: adm where it exists, else root. */
gid_t santad_log_group(void);
/*
 * rules.db and events.db (and their WAL files) root's alone, created 0600;
 * santa.log root:adm 0640; looser modes tightened, and said so in the log.
 */
void santad_secure_local_files(struct santad *d);

/* MachineID, else /etc/machine-id shaped as a UUID. */
int santad_machine_id(const struct santa_config *cfg, char *buf, size_t size);

/* Listens on santad.sock for santactl. */
int santad_control_start(struct santad *d);
/* Sets up the completion channel from the workers to the loop. */
int santad_exec_start(struct santad *d);
/* Frees what the decision machinery still holds; the workers must be stopped. */
void santad_exec_stop(struct santad *d);
/* Stops the deadline thread: first at exit, before the groups it answers on close. */
void santad_exec_deadlines_stop(struct santad *d);
#ifdef SANTA_TEST_HOOKS
/* Test builds only (main.c): holds the loop as a long rule batch would. */
void santad_test_stall(struct santad *d);
#endif
/* Looks up rules for a SHA-256: static rules from the config first, then the database. */
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
#define SIGNING_TABLE_MAX 4096
/* The reference of info in the signing table (0: none, or the table is full). Loop thread. */
uint32_t santad_signing_intern(struct santad *d, const struct signing_info *info);
/* The info behind ref, or NULL. Loop thread. */
const struct signing_info *santad_signing_lookup(const struct santad *d, uint32_t ref);
/* Whether name is a critical package (exec.c), and whether even a block rule cannot deny it. */
bool santad_critical_package(const char *name, bool *over_rules);
/* How many SIGNINGID, CERTIFICATE and TEAMID rules exist (d->package_rules). Loop thread. */
void santad_count_package_rules(struct santad *d);
/* The rule of (type, identifier): static rules from the config first, then rules.db. 0 or -ENOENT. */
int santad_find_rule(struct santad *d, const struct policy *policy, enum santa_rule_type type,
		     const char *identifier, struct santa_rule_found *out);
int santad_find_binary_rule(struct santad *d, const struct policy *policy,
			    const char *sha256_hex, struct santa_rule_found *out);
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
/* Logs the notifications held back by the last batch, with what is known now. */
void santad_retry_exec_done(struct santad *d);
/* Takes the decisions the workers finished, now (their lines and events are submitted). */
void santad_exec_settle(struct santad *d);
/* At exit: every line still waiting (notifications, args) is written as it is. */
void santad_flush_exec_lines(struct santad *d);


#endif
