/*
 * santa.log: Santa's key=value lines, written by a thread of its own so
 * that neither the disk nor a slow user-name lookup (NSS may ask LDAP) ever
 * sits between a fanotify event and its response. The queue is bounded:
 * when the writer falls behind, records are dropped and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <utmpx.h>

#include <jansson.h>
#include <sys/eventfd.h>
#include <systemd/sd-login.h>
#include <sys/stat.h>
#include <unistd.h>

#include "santa/eventlog.h"
#include "santa/events_db.h"
#include "santa/path.h"
#include "santad.h"
#include "event_log.h"
#include "local_files.h"
#include "proc.h"

/*
 * getpwuid_r reads /etc/passwd (or asks NSS) on every call: a few names
 * seen over and over are remembered, for the life of the writer thread.
 */
#define NAME_CACHE_SIZE 64

/*
 * A block's event goes to the sync server at once (Santa's SNTSyncdQueue):
 * per file hash at most once every 10 minutes, remembering 128 hashes, so a
 * program blocked in a loop costs one upload, not one per exec.
 */
#define UPLOAD_NOW_HASHES   128
#define UPLOAD_NOW_SAME_SEC 600

struct name_cache_entry {
	unsigned int id;
	bool valid;
	char name[256];
};

/*
 * A user can exec a blocked program with a 4 KB path thousands of times a
 * second: 27 MB of santa.log a second, 95 GB an hour (attacker review), and
 * logrotate looks once a day. So each non-root uid may fill at most
 * EventLogUserQuotaMB of one log file; past it their lines are dropped and
 * counted until the file is rotated (SIGHUP reopens it). Root's are never.
 */
#define EVENT_LOG_QUOTA_UIDS 64

struct uid_quota {
	uid_t uid;
	bool used;
	uint64_t bytes;
};

struct event_log {
	struct name_cache_entry users[NAME_CACHE_SIZE], groups[NAME_CACHE_SIZE];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct exec_record *head, *tail;
	unsigned int queued;
	size_t queued_bytes; /* exec_record_bytes of the queued records */
	bool stopping, reopen;
	bool idle; /* the writer sleeps until signalled (else it wakes by the clock) */
	uint64_t dropped;
	/* Written by the writer thread, read by the loop: atomic. */
	_Atomic uint64_t lines_lost; /* not written: disk full, file gone */
	enum santa_event_log_type type;
	char *path;
	char *machine_id; /* EnableMachineIDDecoration */
	int fd;
	struct events_db *events;
	_Atomic uint64_t upload_dropped; /* not stored in events.db */
	/*
	 * Flush tickets (event_log_flush_ticket): records ever submitted, those
	 * the writer has finished with (stored or dropped), and the highest
	 * ticket asked for. A batch that ends at or past a ticket wakes done_fd.
	 */
	uint64_t submitted, finished, flush_wanted;
	int done_fd;
	/* Writer thread only: block hashes recently asked to go up at once. */
	struct {
		uint8_t sha256[SANTA_SHA256_LEN];
		time_t at;
	} upload_now_seen[UPLOAD_NOW_HASHES];
	unsigned int upload_now_next;
	struct santa_strv bundle_roots; /* a copy: blocks below wait for their bundle's hash */
	/*
	 * Writer thread only: bytes each non-root uid's lines took in this log
	 * file (since santad opened or reopened it), against quota_bytes. Fixed
	 * size: uids past the table share one slot.
	 */
	uint64_t quota_bytes;
	struct uid_quota quota[EVENT_LOG_QUOTA_UIDS], quota_others;
	_Atomic uint64_t quota_dropped; /* lines not written: their uid's quota was used up */
	int upload_fd; /* eventfd: readable once a block was stored that should go up now */
};

/*
 * A missing log directory is made root:adm 0750, as Debian's packages make
 * theirs; one that exists is the admin's (or a test's) and left as it is.
 */
static void
make_log_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) == 0)
		return;
	if (santa_mkdir_secure(dir, 0750) < 0)
		return; /* open_log says what failed */
	if (fchownat(AT_FDCWD, dir, 0, santad_log_group(), AT_SYMLINK_NOFOLLOW) < 0) {
		/* Left root:root 0750: stricter still. */
	}
}

static int
open_log(struct event_log *log)
{
	char dir[PATH_MAX], *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", log->path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		make_log_dir(dir);
	}
	/*
	 * Every user's command lines are in it: root writes, the adm group reads
	 * (as Debian's other logs). santad tightens an existing file at start.
	 */
	fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd >= 0) {
		if (fchown(fd, 0, santad_log_group()) < 0) {
			/* Left root:root 0640: stricter still. */
		}
	} else if (errno == EEXIST) {
		fd = open(log->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return -errno;
	if (log->fd >= 0)
		close(log->fd);
	log->fd = fd;
	return 0;
}

static const char *
name_of_uid(struct event_log *log, uid_t uid)
{
	struct name_cache_entry *e = &log->users[uid % NAME_CACHE_SIZE];
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (!e->valid || e->id != uid) {
		e->id = uid;
		e->valid = true;
		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
			santa_eventlog_escape(res->pw_name, e->name, sizeof(e->name));
		else
			snprintf(e->name, sizeof(e->name), "(null)");
	}
	return e->name;
}

static const char *
name_of_gid(struct event_log *log, gid_t gid)
{
	struct name_cache_entry *e = &log->groups[gid % NAME_CACHE_SIZE];
	struct group gr, *res = NULL;
	char buf[4096];

	if (!e->valid || e->id != gid) {
		e->id = gid;
		e->valid = true;
		if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res)
			santa_eventlog_escape(res->gr_name, e->name, sizeof(e->name));
		else
			snprintf(e->name, sizeof(e->name), "(null)");
	}
	return e->name;
}

/* The strings of a record, in the order they are laid out after it. */
#define RECORD_STRINGS 9

static void
record_string_slots(struct exec_record *rec, const char ***slots)
{
	slots[0] = &rec->path;
	slots[1] = &rec->newpath;
	slots[2] = &rec->process_path;
	slots[3] = &rec->signing.cert_sha256;
	slots[4] = &rec->signing.cert_cn;
	slots[5] = &rec->signing.team_id;
	slots[6] = &rec->signing.signing_id;
	slots[7] = &rec->signing.origin;
	slots[8] = &rec->signing.suite;
}

struct exec_record *
exec_record_new(enum record_kind kind, const char *path, const char *newpath,
		const char *process_path, const struct signing_info *signing)
{
	const bool known = signing && signing->known;
	const char *src[RECORD_STRINGS] = {
		path ? path : "", newpath, process_path,
		known ? signing->cert_sha256 : "", known ? signing->cert_cn : "",
		known ? signing->team_id : "", known ? signing->signing_id : "",
		known ? signing->origin : "", known ? signing->suite : "",
	};
	const char **slots[RECORD_STRINGS];
	size_t len[RECORD_STRINGS], total = 0, i;
	struct exec_record *rec;
	char *p;

	for (i = 0; i < RECORD_STRINGS; i++) {
		len[i] = src[i] ? strlen(src[i]) + 1 : 0;
		total += len[i];
	}
	rec = calloc(1, sizeof(*rec) + total);
	if (!rec)
		return NULL;
	rec->alloc_size = sizeof(*rec) + total;
	rec->kind = kind;
	record_string_slots(rec, slots);
	for (i = 0, p = rec->strings; i < RECORD_STRINGS; p += len[i], i++) {
		if (!src[i])
			continue;
		memcpy(p, src[i], len[i]);
		*slots[i] = p;
	}
	return rec;
}

struct exec_record *
exec_record_dup(const struct exec_record *rec)
{
	struct exec_record *copy = malloc(rec->alloc_size);
	const char **slots[RECORD_STRINGS];
	size_t i;

	if (!copy)
		return NULL;
	memcpy(copy, rec, rec->alloc_size);
	/* The copied pointers still point into rec's tail: moved into the copy's. */
	record_string_slots(copy, slots);
	for (i = 0; i < RECORD_STRINGS; i++)
		if (*slots[i])
			*slots[i] = copy->strings + (*slots[i] - rec->strings);
	copy->next = NULL;
	copy->args = NULL;
	copy->args_len = 0;
	copy->args_truncated = false;
	return copy;
}

size_t
exec_record_bytes(const struct exec_record *rec)
{
	return rec->alloc_size + rec->args_len;
}

void
exec_record_free(struct exec_record *rec)
{
	if (!rec)
		return;
	free(rec->args);
	free(rec);
}

/* WRITE / RENAME / DELETE lines: the path(s), then the instigating process as Santa writes it. */
static int
format_file_change(struct event_log *log, const struct exec_record *rec, char *line, size_t size)
{
	static const char *const actions[] = { "EXEC", "WRITE", "RENAME", "DELETE" };
	char path[PATH_MAX * 4], newpath[PATH_MAX * 4] = "", procpath[PATH_MAX * 4] = "(null)";
	const char *user = name_of_uid(log, rec->uid), *group = name_of_gid(log, rec->gid);
	const char *base = "(null)";
	char machine[300] = "";
	int n;

	santa_eventlog_escape(rec->path, path, sizeof(path));
	if (rec->kind == RECORD_RENAME) {
		memcpy(newpath, "|newpath=", 9);
		if (rec->newpath)
			santa_eventlog_escape(rec->newpath, newpath + 9, sizeof(newpath) - 9);
		else
			snprintf(newpath + 9, sizeof(newpath) - 9, "(null)");
	}
	if (rec->process_path) {
		santa_eventlog_escape(rec->process_path, procpath, sizeof(procpath));
		base = strrchr(procpath, '/') ? strrchr(procpath, '/') + 1 : procpath;
	}
	if (log->machine_id)
		snprintf(machine, sizeof(machine), "|machineid=%s", log->machine_id);
	n = snprintf(line, size,
		     "action=%s|path=%s%s|pid=%d|ppid=%d|process=%s|processpath=%s|uid=%d|user=%s|"
		     "gid=%d|group=%s%s",
		     actions[rec->kind], path, newpath, (int)rec->pid, (int)rec->ppid, base, procpath,
		     (int)rec->uid, user, (int)rec->gid, group, machine);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/*
 * The argument at *pos of a record's NUL-separated argv, NUL-terminated in
 * arg; moves *pos past it. False after the last one (or with no argv).
 */
static bool
next_arg(const struct exec_record *rec, size_t *pos, char arg[SANTA_EXEC_ARGS_MAX + 1])
{
	size_t len;

	if (!rec->args || *pos >= rec->args_len)
		return false;
	len = strnlen(rec->args + *pos, rec->args_len - *pos);
	if (len > SANTA_EXEC_ARGS_MAX)
		len = SANTA_EXEC_ARGS_MAX;
	memcpy(arg, rec->args + *pos, len);
	arg[len] = '\0';
	*pos += len + 1;
	return true;
}

/*
 * "|args=A1 A2 ...": argv joined by single spaces, each argument escaped as
 * a path is (Santa's form). Empty when argv is not known. A cut argv ends
 * where it was cut (SANTA_EXEC_ARGS_MAX bytes).
 */
static void
format_args(const struct exec_record *rec, char *out, size_t size)
{
	char arg[SANTA_EXEC_ARGS_MAX + 1];
	size_t pos = 0, i = 0;
	int n;

	out[0] = '\0';
	if (!rec->args || size < 8)
		return;
	memcpy(out, "|args=", 7);
	pos = 6;
	while (pos < size - 1 && next_arg(rec, &i, arg)) {
		if (pos > 6)
			out[pos++] = ' ';
		n = santa_eventlog_escape(arg, out + pos, size - pos);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
	out[pos < size ? pos : size - 1] = '\0';
}

static int
format_exec(struct event_log *log, const struct exec_record *rec, char *line, size_t size)
{
	char path[PATH_MAX * 4], sha[SANTA_SHA256_HEX_LEN + 1], args[SANTA_EXEC_ARGS_MAX * 4 + 8];
	const char *user = name_of_uid(log, rec->uid), *group = name_of_gid(log, rec->gid);
	char explain[160] = "", sha_field[80] = "", machine[300] = "", signing[1024] = "";
	char cn[sizeof(((struct signing_info *)0)->cert_cn) * 4];
	int n;

	santa_eventlog_escape(rec->path, path, sizeof(path));
	if (rec->explain)
		snprintf(explain, sizeof(explain), "|explain=%s", rec->explain);
	if (rec->has_sha256) {
		santa_sha256_to_hex(rec->sha256, sha);
		snprintf(sha_field, sizeof(sha_field), "|sha256=%s", sha);
	}
	/* Santa's signing fields: the key that signed the package's archive stands for the certificate. */
	if (rec->signing.cert_sha256[0]) {
		santa_eventlog_escape(rec->signing.cert_cn, cn, sizeof(cn));
		snprintf(signing, sizeof(signing), "|cert_sha256=%s|cert_cn=%s",
			 rec->signing.cert_sha256, cn);
	}
	if (rec->signing.team_id[0])
		snprintf(signing + strlen(signing), sizeof(signing) - strlen(signing), "|teamid=%s",
			 rec->signing.team_id);
	if (log->machine_id)
		snprintf(machine, sizeof(machine), "|machineid=%s", log->machine_id);
	format_args(rec, args, sizeof(args));
	n = snprintf(line, size,
		     "action=EXEC|decision=%s|reason=%s%s%s%s|pid=%d|pidversion=%llu|ppid=%d|uid=%d|"
		     "user=%s|gid=%d|group=%s|mode=%s|path=%s%s%s",
		     santa_verdict_to_string(rec->verdict), santa_reason_to_string(rec->reason),
		     explain, sha_field, signing, (int)rec->pid,
		     (unsigned long long)rec->pidversion, (int)rec->ppid, (int)rec->uid, user,
		     (int)rec->gid, group,
		     rec->mode == SANTA_MODE_LOCKDOWN ? "L" : rec->mode == SANTA_MODE_MONITOR ? "M" : "U",
		     path, args, machine);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

static void
rfc3339(double t, char *out, size_t size)
{
	time_t sec = (time_t)t;
	unsigned int usec = (unsigned int)((t - (double)sec) * 1e6) % 1000000;
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
}

/* A JSON string for text that may not be UTF-8: then its escaped (ASCII) form. */
static json_t *
json_text(const char *s)
{
	char escaped[PATH_MAX * 4];
	json_t *j = json_string(s);

	if (j)
		return j;
	santa_eventlog_escape(s, escaped, sizeof(escaped));
	return json_string(escaped);
}

static const char *
proto_reason(enum santa_reason r)
{
	switch (r) {
	case SANTA_REASON_BINARY:
		return "REASON_BINARY";
	case SANTA_REASON_CERT:
		return "REASON_CERT";
	case SANTA_REASON_TEAMID:
		return "REASON_TEAM_ID";
	case SANTA_REASON_SIGNINGID:
		return "REASON_SIGNING_ID";
	case SANTA_REASON_COMPILER:
		return "REASON_COMPILER";
	case SANTA_REASON_PENDING_TRANSITIVE:
		return "REASON_PENDING_TRANSITIVE";
	case SANTA_REASON_SCOPE:
		return "REASON_SCOPE";
	case SANTA_REASON_TRANSITIVE:
		return "REASON_TRANSITIVE";
	case SANTA_REASON_LONG_PATH:
		return "REASON_LONG_PATH";
	case SANTA_REASON_NOTRUNNING:
		return "REASON_NOT_RUNNING";
	default:
		return "REASON_UNKNOWN"; /* UNKNOWN, and TIMEOUT, which Santa's enum lacks */
	}
}

static json_t *
user_json(const char *key, unsigned int id, const char *name)
{
	return json_pack("{s:i, s:s}", key, (int)id, "name", name);
}

/* Execution.args: one string per argument; empty when argv is not known. */
static json_t *
args_json(const struct exec_record *rec)
{
	json_t *list = json_array();
	char arg[SANTA_EXEC_ARGS_MAX + 1];
	size_t i = 0;

	while (list && next_arg(rec, &i, arg))
		json_array_append_new(list, json_text(arg));
	return list;
}

/*
 * EventLogType=json: one SantaMessage per line in protobuf JSON form (proto
 * field names, enums by name) with what Linux can say about an exec; args
 * only where santad knows them (see the README); pidversion is the start in
 * clock ticks since boot (santad_process_start), 0 where not known.
 */
static char *
format_exec_json(struct event_log *log, const struct exec_record *rec)
{
	char sha[SANTA_SHA256_HEX_LEN + 1], event_time[96], processed_time[96];
	const char *user = name_of_uid(log, rec->uid), *group = name_of_gid(log, rec->gid);
	json_t *msg, *target, *exe;
	struct timespec ts;
	char *line;

	clock_gettime(CLOCK_REALTIME, &ts);
	rfc3339(rec->exec_time, event_time, sizeof(event_time));
	rfc3339((double)ts.tv_sec + (double)ts.tv_nsec / 1e9, processed_time, sizeof(processed_time));
	exe = json_pack("{s:o, s:b}", "path", json_text(rec->path), "truncated", 0);
	if (rec->has_sha256) {
		santa_sha256_to_hex(rec->sha256, sha);
		json_object_set_new(exe, "hash",
				    json_pack("{s:s, s:s}", "type", "HASH_ALGO_SHA256", "hash", sha));
	}
	/* Santa's code signature and certificate fields, from the package identity. */
	if (rec->signing.signing_id[0] || rec->signing.team_id[0])
		json_object_set_new(exe, "code_signature",
				    json_pack("{s:s, s:s}", "signing_id", rec->signing.signing_id,
					      "team_id", rec->signing.team_id));
	if (rec->signing.cert_sha256[0])
		json_object_set_new(exe, "certificate_info",
				    json_pack("{s:s, s:o}", "hash", rec->signing.cert_sha256,
					      "common_name", json_text(rec->signing.cert_cn)));
	target = json_pack("{s:{s:i, s:I}, s:{s:i, s:I}, s:o, s:o, s:o, s:o, s:o}",
			   "id", "pid", (int)rec->pid, "pidversion", (json_int_t)rec->pidversion,
			   "parent_id", "pid", (int)rec->ppid, "pidversion", (json_int_t)rec->ppidversion,
			   "effective_user", user_json("uid", rec->uid, user),
			   "effective_group", user_json("gid", rec->gid, group),
			   "real_user", user_json("uid", rec->uid, user),
			   "real_group", user_json("gid", rec->gid, group),
			   "executable", exe);
	msg = json_pack("{s:s, s:s, s:s, s:{s:o, s:s, s:s, s:s, s:s, s:o}}",
			"machine_id", log->machine_id ? log->machine_id : "",
			"event_time", event_time, "processed_time", processed_time,
			"execution", "target", target,
			"decision", rec->verdict == SANTA_VERDICT_DENY ? "DECISION_DENY" : "DECISION_ALLOW",
			"reason", proto_reason(rec->reason),
			"mode", rec->mode == SANTA_MODE_LOCKDOWN ? "MODE_LOCKDOWN"
				: rec->mode == SANTA_MODE_MONITOR ? "MODE_MONITOR" : "MODE_UNKNOWN",
			"explain", rec->reason == SANTA_REASON_TIMEOUT ? "decision deadline exceeded"
				   : rec->explain ? rec->explain : "",
			"args", args_json(rec));
	if (!msg)
		return NULL;
	line = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(msg);
	return line;
}

#define EVENT_LOG_FLUSH_MS 20 /* a line reaches the file at most this late */
#define EVENT_LOG_BATCH    256

/* Lines gathered for one write(): fewer syscalls when execs come in storms. */
struct line_buffer {
	char data[256 * 1024];
	size_t len;
};

static void
flush_lines(struct event_log *log, struct line_buffer *out)
{
	size_t off = 0;
	ssize_t n;

	if (out->len == 0)
		return;
	if (log->fd >= 0 || open_log(log) == 0) {
		while (off < out->len) {
			n = write(log->fd, out->data + off, out->len - off);
			if (n <= 0)
				break; /* disk full or gone: what is left is lost, and counted */
			off += (size_t)n;
		}
	}
	for (; off < out->len; off++)
		if (out->data[off] == '\n')
			log->lines_lost++;
	out->len = 0;
}

/* Whether rec's uid may add bytes more to this log file (writer thread). */
static bool
within_quota(struct event_log *log, const struct exec_record *rec, size_t bytes)
{
	struct uid_quota *slot = &log->quota_others;
	size_t i;

	if (rec->uid == 0 || log->quota_bytes == 0)
		return true;
	for (i = 0; i < EVENT_LOG_QUOTA_UIDS; i++) {
		if (log->quota[i].used && log->quota[i].uid == rec->uid) {
			slot = &log->quota[i];
			break;
		}
		if (!log->quota[i].used) {
			log->quota[i].used = true;
			log->quota[i].uid = rec->uid;
			slot = &log->quota[i];
			break;
		}
	}
	if (slot->bytes + bytes > log->quota_bytes) {
		log->quota_dropped++;
		return false;
	}
	slot->bytes += bytes;
	return true;
}

static void
write_record(struct event_log *log, const struct exec_record *rec, struct line_buffer *out)
{
	char line[PATH_MAX * 12 + 1024]; /* a rename: two paths and the process path */
	struct timespec ts;
	struct tm tm;
	int n, len;

	if (log->type == SANTA_EVENT_LOG_JSON && rec->kind != RECORD_EXEC)
		return; /* file changes are not in the JSON log yet (README) */
	if (log->type == SANTA_EVENT_LOG_JSON) {
		char *json = format_exec_json(log, rec);
		size_t jl = json ? strlen(json) : 0;

		if (!json)
			return;
		if (!within_quota(log, rec, jl + 1)) {
			free(json);
			return;
		}
		if (out->len + jl + 2 > sizeof(out->data))
			flush_lines(log, out);
		if (out->len + jl + 2 <= sizeof(out->data)) {
			memcpy(out->data + out->len, json, jl);
			out->data[out->len + jl] = '\n';
			out->len += jl + 1;
		}
		free(json);
		return;
	}
	n = rec->kind == RECORD_EXEC ? format_exec(log, rec, line, sizeof(line))
				     : format_file_change(log, rec, line, sizeof(line));
	if (n < 0)
		return;
	if (log->type == SANTA_EVENT_LOG_SYSLOG) { /* journald limits its own rates */
		syslog(LOG_NOTICE, "%s", line);
		return;
	}
	if (!within_quota(log, rec, (size_t)n + 40)) /* 40: the timestamp and prefix */
		return;
	if (out->len + (size_t)n + 64 > sizeof(out->data))
		flush_lines(log, out);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = snprintf(out->data + out->len, sizeof(out->data) - out->len,
		       "[%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ] I santad: %s\n", tm.tm_year + 1900,
		       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		       ts.tv_nsec / 1000000, line);
	if (len > 0 && (size_t)len < sizeof(out->data) - out->len)
		out->len += (size_t)len;
}

/* The eventupload "decision" value, or NULL where Santa sends none. */
static const char *
upload_decision(const struct exec_record *rec)
{
	bool allow = rec->verdict == SANTA_VERDICT_ALLOW;

	switch (rec->reason) {
	case SANTA_REASON_UNKNOWN:
		return allow ? "ALLOW_UNKNOWN" : "BLOCK_UNKNOWN";
	case SANTA_REASON_BINARY:
		return allow ? "ALLOW_BINARY" : "BLOCK_BINARY";
	case SANTA_REASON_SCOPE:
		return allow ? "ALLOW_SCOPE" : "BLOCK_SCOPE";
	case SANTA_REASON_CERT:
		return allow ? "ALLOW_CERTIFICATE" : "BLOCK_CERTIFICATE";
	case SANTA_REASON_TEAMID:
		return allow ? "ALLOW_TEAMID" : "BLOCK_TEAMID";
	case SANTA_REASON_SIGNINGID:
		return allow ? "ALLOW_SIGNINGID" : "BLOCK_SIGNINGID";
	default:
		return NULL; /* compiler, transitive, timeout: no wire value */
	}
}

/* Sessions listed in an event: a machine with thousands of logins sends the first ones. */
#define EVENT_SESSIONS_MAX 256

/* Adds user@where to the session list, and user to the users once. */
static void
add_session(json_t *users, json_t *sessions, const char *user, const char *where)
{
	char entry[600];
	size_t i;

	if (!user || !user[0] || json_array_size(sessions) >= EVENT_SESSIONS_MAX)
		return;
	snprintf(entry, sizeof(entry), "%s@%s", user, where ? where : "");
	json_array_append_new(sessions, json_string(entry));
	for (i = 0; i < json_array_size(users); i++)
		if (strcmp(json_string_value(json_array_get(users, i)), user) == 0)
			return;
	json_array_append_new(users, json_string(user));
}

/*
 * logind's sessions, for machines that keep no utmp (systemd without
 * utmp support, Debian 13's default): a remote one is user@host, a local
 * one user@tty, or user@display for a graphical login without a tty.
 */
static void
add_logind_sessions(json_t *users, json_t *sessions)
{
	char **ids = NULL;
	int n = sd_get_sessions(&ids);

	for (int i = 0; i < n; i++) {
		char *host = NULL, *tty = NULL, *display = NULL, *class = NULL, *state = NULL;
		struct passwd pw, *res = NULL;
		char pwbuf[1024];
		uid_t uid;

		if (json_array_size(sessions) >= EVENT_SESSIONS_MAX) {
			free(ids[i]); /* the rest are not read */
			continue;
		}
		(void)sd_session_get_class(ids[i], &class);
		(void)sd_session_get_state(ids[i], &state);
		/* Greeters and lock screens are not users; a closing session has logged out. */
		if ((!class || strcmp(class, "user") == 0) && (!state || strcmp(state, "closing") != 0) &&
		    sd_session_get_uid(ids[i], &uid) >= 0 &&
		    getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res) {
			(void)sd_session_get_remote_host(ids[i], &host);
			(void)sd_session_get_tty(ids[i], &tty);
			(void)sd_session_get_display(ids[i], &display);
			add_session(users, sessions, res->pw_name,
				    host && host[0] ? host : tty && tty[0] ? tty : display ? display : "");
		}
		free(host);
		free(tty);
		free(display);
		free(class);
		free(state);
		free(ids[i]);
	}
	free(ids);
}

/*
 * Who is logged in, as Santa's logged_in_users and current_sessions: utmp's
 * user processes (user@host, or user@line without a host), else logind's.
 */
static void
add_sessions(json_t *ev)
{
	json_t *users = json_array(), *sessions = json_array();
	struct utmpx *u;
	/* utmpx fields are fixed-size and not always NUL-terminated. */
	const int user_len = (int)sizeof(((struct utmpx *)0)->ut_user);
	const int host_len = (int)sizeof(((struct utmpx *)0)->ut_host);
	const int line_len = (int)sizeof(((struct utmpx *)0)->ut_line);
	char user[sizeof(((struct utmpx *)0)->ut_user) + 1];
	char where[sizeof(((struct utmpx *)0)->ut_host) + 1];

	if (!users || !sessions)
		goto out;
	setutxent();
	while ((u = getutxent()) && json_array_size(sessions) < EVENT_SESSIONS_MAX) {
		if (u->ut_type != USER_PROCESS)
			continue;
		snprintf(user, sizeof(user), "%.*s", user_len, u->ut_user);
		if (u->ut_host[0])
			snprintf(where, sizeof(where), "%.*s", host_len, u->ut_host);
		else
			snprintf(where, sizeof(where), "%.*s", line_len, u->ut_line);
		add_session(users, sessions, user, where);
	}
	endutxent();
	if (json_array_size(sessions) == 0)
		add_logind_sessions(users, sessions);
	if (json_array_size(users))
		json_object_set(ev, "logged_in_users", users);
	if (json_array_size(sessions))
		json_object_set(ev, "current_sessions", sessions);
out:
	json_decref(users);
	json_decref(sessions);
}

/* The eventupload Event for rec, as JSON text (malloc'd), or NULL. */
static char *
upload_event_json(struct event_log *log, const struct exec_record *rec)
{
	char sha[SANTA_SHA256_HEX_LEN + 1], dir[PATH_MAX];
	const char *name = strrchr(rec->path, '/'), *decision = upload_decision(rec);
	struct passwd pw, *res = NULL;
	char pwbuf[1024];
	json_t *ev = json_object();
	char *text;

	if (!ev)
		return NULL;
	if (rec->has_sha256) {
		santa_sha256_to_hex(rec->sha256, sha);
		json_object_set_new(ev, "file_sha256", json_string(sha));
	}
	/* The package's identity, as Santa sends a binary's signing identity and chain. */
	if (rec->signing.signing_id[0])
		json_object_set_new(ev, "signing_id", json_string(rec->signing.signing_id));
	if (rec->signing.team_id[0])
		json_object_set_new(ev, "team_id", json_string(rec->signing.team_id));
	if (rec->signing.cert_sha256[0])
		json_object_set_new(ev, "signing_chain",
				    json_pack("[{s:s, s:s, s:s, s:s}]", "sha256",
					      rec->signing.cert_sha256, "cn", rec->signing.cert_cn,
					      "org", rec->signing.origin, "ou", rec->signing.suite));
	snprintf(dir, sizeof(dir), "%.*s", name ? (int)(name - rec->path) : 0, rec->path);
	json_object_set_new(ev, "file_path", json_string(dir[0] ? dir : "/"));
	json_object_set_new(ev, "file_name", json_string(name ? name + 1 : rec->path));
	if (getpwuid_r(rec->uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
		json_object_set_new(ev, "executing_user", json_string(res->pw_name));
	json_object_set_new(ev, "execution_time", json_real(rec->exec_time));
	if (decision)
		json_object_set_new(ev, "decision", json_string(decision));
	json_object_set_new(ev, "pid", json_integer(rec->pid));
	json_object_set_new(ev, "ppid", json_integer(rec->ppid));
	if (rec->parent_name[0])
		json_object_set_new(ev, "parent_name", json_string(rec->parent_name));
	add_sessions(ev);
	/* Paths that are not UTF-8 cannot be JSON strings: jansson refuses them, and so do we. */
	text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	return text;
}

static void
roots_free(struct santa_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->n = 0;
}

static int
roots_copy(struct santa_strv *dst, const struct santa_strv *src)
{
	dst->items = src->n ? calloc(src->n, sizeof(char *)) : NULL;
	dst->n = 0;
	if (src->n && !dst->items)
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		dst->items[i] = strdup(src->items[i]);
		if (!dst->items[i]) {
			roots_free(dst);
			return -ENOMEM;
		}
		dst->n++;
	}
	return 0;
}

static bool
below_bundle_root(const struct event_log *log, const char *path)
{
	static const char *const fallback[] = { "/opt" }; /* BundleRoots' default */
	size_t n = log->bundle_roots.n ? log->bundle_roots.n : 1;

	for (size_t i = 0; i < n; i++) {
		const char *root = log->bundle_roots.n ? log->bundle_roots.items[i] : fallback[0];
		size_t len = strlen(root);

		while (len > 1 && root[len - 1] == '/')
			len--;
		if (strncmp(path, root, len) == 0 && path[len] == '/')
			return true;
	}
	return false;
}

/*
 * Whether a stored event should go up now: a block, of a hash not sent in
 * the last 10 minutes. Santa leaves a block whose bundle is to be hashed to
 * the bundle's own upload (bundles.c); here, a file below BundleRoots.
 */
static bool
upload_now_wanted(struct event_log *log, const struct exec_record *rec, time_t now)
{
	size_t i;

	if (rec->verdict != SANTA_VERDICT_DENY || !rec->has_sha256 ||
	    below_bundle_root(log, rec->path))
		return false;
	for (i = 0; i < UPLOAD_NOW_HASHES; i++) {
		if (memcmp(log->upload_now_seen[i].sha256, rec->sha256, SANTA_SHA256_LEN) != 0)
			continue;
		if (log->upload_now_seen[i].at && now - log->upload_now_seen[i].at < UPLOAD_NOW_SAME_SEC)
			return false;
		log->upload_now_seen[i].at = now;
		return true;
	}
	i = log->upload_now_next++ % UPLOAD_NOW_HASHES;
	memcpy(log->upload_now_seen[i].sha256, rec->sha256, SANTA_SHA256_LEN);
	log->upload_now_seen[i].at = now;
	return true;
}

/* Stores n events (freed here) in one transaction; says whether one of them should go up now. */
static bool
store_chunk(struct event_log *log, char **json, struct exec_record **recs, size_t n)
{
	time_t now = time(NULL);
	bool now_wanted = false;
	size_t i;

	if (events_db_add(log->events, (const char *const *)json, n) < 0) {
		log->upload_dropped += n;
	} else {
		for (i = 0; i < n; i++)
			now_wanted |= upload_now_wanted(log, recs[i], now);
	}
	for (i = 0; i < n; i++)
		free(json[i]);
	return now_wanted;
}

/* Stores the batch's upload events in one transaction; wakes upload_fd for a block. */
static void
store_upload_events(struct event_log *log, struct exec_record *batch)
{
	char *json[256];
	struct exec_record *recs[256];
	size_t n = 0;
	struct exec_record *rec;
	bool now_wanted = false;
	uint64_t one = 1;

	for (rec = batch; rec; rec = rec->next) {
		if (!rec->upload)
			continue;
		json[n] = upload_event_json(log, rec);
		if (json[n])
			recs[n++] = rec;
		else
			log->upload_dropped++;
		if (n == sizeof(json) / sizeof(json[0])) {
			now_wanted |= store_chunk(log, json, recs, n);
			n = 0;
		}
	}
	if (n)
		now_wanted |= store_chunk(log, json, recs, n);
	if (now_wanted)
		(void)!write(log->upload_fd, &one, sizeof(one));
}

static void *
writer_main(void *arg)
{
	struct event_log *log = arg;
	struct exec_record *batch, *rec;
	struct line_buffer *out = malloc(sizeof(*out));
	uint64_t taken, one = 1;
	bool reopen, wake, busy = false;

	if (!out)
		return NULL;
	out->len = 0;
	for (;;) {
		pthread_mutex_lock(&log->lock);
		/*
		 * Asleep while there is nothing to write: no wakeups on an idle
		 * machine. The first record wakes the writer, which then collects
		 * for EVENT_LOG_FLUSH_MS (or until EVENT_LOG_BATCH are queued): one
		 * wakeup and one write() per batch instead of a context switch per
		 * exec. While records keep coming (busy: the last period had some),
		 * it wakes only by the clock, once a period, and nothing signals it.
		 */
		if (!busy) {
			while (!log->head && !log->stopping && !log->reopen) {
				log->idle = true;
				pthread_cond_wait(&log->cond, &log->lock);
				log->idle = false;
			}
		}
		if (!log->stopping && !log->reopen) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += EVENT_LOG_FLUSH_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			while (!log->stopping && !log->reopen && log->queued < EVENT_LOG_BATCH &&
			       log->flush_wanted <= log->finished)
				if (pthread_cond_timedwait(&log->cond, &log->lock, &until) == ETIMEDOUT)
					break;
		}
		batch = log->head;
		busy = batch != NULL;
		log->head = log->tail = NULL;
		log->queued = 0;
		log->queued_bytes = 0;
		taken = log->submitted;
		reopen = log->reopen;
		log->reopen = false;
		if (!batch && log->stopping) {
			pthread_mutex_unlock(&log->lock);
			free(out);
			return NULL;
		}
		pthread_mutex_unlock(&log->lock);
		if (reopen) {
			/* Log rotation, and a chance to notice renamed users. */
			memset(log->users, 0, sizeof(log->users));
			memset(log->groups, 0, sizeof(log->groups));
			memset(log->quota, 0, sizeof(log->quota));
			memset(&log->quota_others, 0, sizeof(log->quota_others));
			if (log->type != SANTA_EVENT_LOG_SYSLOG)
				open_log(log);
		}
		if (log->events)
			store_upload_events(log, batch);
		while ((rec = batch)) {
			batch = rec->next;
			if (log->type != SANTA_EVENT_LOG_NULL && !rec->upload_only)
				write_record(log, rec, out);
			exec_record_free(rec);
		}
		flush_lines(log, out);
		pthread_mutex_lock(&log->lock);
		wake = log->flush_wanted > log->finished && log->flush_wanted <= taken;
		log->finished = taken;
		pthread_mutex_unlock(&log->lock);
		if (wake)
			(void)!write(log->done_fd, &one, sizeof(one));
	}
}

int
event_log_start(const struct santa_config *cfg, struct events_db *events, struct event_log **out)
{
	struct event_log *log = calloc(1, sizeof(*log));
	int r;

	*out = NULL;
	if (!log)
		return -ENOMEM;
	log->fd = -1;
	log->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	log->upload_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	log->events = events;
	log->type = cfg->event_log_type;
	log->quota_bytes = (uint64_t)cfg->event_log_user_quota_mb << 20;
	log->path = strdup(cfg->event_log_path);
	if (cfg->enable_machine_id_decoration && cfg->machine_id)
		log->machine_id = strdup(cfg->machine_id);
	pthread_mutex_init(&log->lock, NULL);
	pthread_cond_init(&log->cond, NULL);
	if (!log->path) {
		r = -ENOMEM;
		goto fail;
	}
	if (log->done_fd < 0 || log->upload_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = roots_copy(&log->bundle_roots, &cfg->bundle_roots);
	if (r < 0)
		goto fail;
	if (log->type == SANTA_EVENT_LOG_FILE || log->type == SANTA_EVENT_LOG_JSON) {
		r = open_log(log);
		if (r < 0)
			goto fail;
	}
	r = -pthread_create(&log->thread, NULL, writer_main, log);
	if (r < 0)
		goto fail;
	(void)pthread_setname_np(log->thread, "santad-log"); /* profiles say which thread */
	*out = log;
	return 0;
fail:
	if (log->fd >= 0)
		close(log->fd);
	if (log->done_fd >= 0)
		close(log->done_fd);
	if (log->upload_fd >= 0)
		close(log->upload_fd);
	roots_free(&log->bundle_roots);
	free(log->path);
	free(log->machine_id);
	free(log);
	return r;
}

void
event_log_submit(struct event_log *log, struct exec_record *rec)
{
	size_t bytes = exec_record_bytes(rec);

	/*
	 * santad's own decisions read the parent's name while the exec waited
	 * (santad_handle_exec); a record without it (the BPF backstop's) gets
	 * it now, not in the writer: a moment later the parent may be gone (a
	 * script that ran the blocked program and ended) or its pid reused.
	 */
	if (rec->upload && rec->kind == RECORD_EXEC && rec->ppid > 0 && !rec->parent_name[0])
		santad_process_comm(rec->ppid, rec->parent_name, sizeof(rec->parent_name));
	pthread_mutex_lock(&log->lock);
	log->submitted++;
	if (log->queued >= EVENT_LOG_QUEUE_MAX || bytes > EVENT_LOG_QUEUE_BYTES - log->queued_bytes) {
		log->dropped++;
		pthread_mutex_unlock(&log->lock);
		exec_record_free(rec);
		return;
	}
	rec->next = NULL;
	if (log->tail)
		log->tail->next = rec;
	else
		log->head = rec;
	log->tail = rec;
	log->queued++;
	log->queued_bytes += bytes;
	/* A busy writer wakes by the clock: only an idle one (or a full batch) is signalled. */
	if ((log->queued == 1 && log->idle) || log->queued == EVENT_LOG_BATCH)
		pthread_cond_signal(&log->cond);
	pthread_mutex_unlock(&log->lock);
}

uint64_t
event_log_flush_ticket(struct event_log *log)
{
	uint64_t ticket;

	pthread_mutex_lock(&log->lock);
	ticket = log->submitted;
	if (ticket > log->finished && ticket > log->flush_wanted) {
		log->flush_wanted = ticket;
		pthread_cond_signal(&log->cond);
	}
	pthread_mutex_unlock(&log->lock);
	return ticket;
}

bool
event_log_ticket_done(struct event_log *log, uint64_t ticket)
{
	bool done;

	pthread_mutex_lock(&log->lock);
	/* Records dropped at a full queue count as finished with the batch after them. */
	done = log->finished >= ticket;
	pthread_mutex_unlock(&log->lock);
	return done;
}

int
event_log_done_fd(struct event_log *log)
{
	return log->done_fd;
}

int
event_log_upload_fd(struct event_log *log)
{
	return log->upload_fd;
}

void
event_log_reopen(struct event_log *log)
{
	pthread_mutex_lock(&log->lock);
	log->reopen = true;
	pthread_cond_signal(&log->cond);
	pthread_mutex_unlock(&log->lock);
}

uint64_t
event_log_dropped(struct event_log *log)
{
	uint64_t n;

	pthread_mutex_lock(&log->lock);
	n = log->dropped;
	pthread_mutex_unlock(&log->lock);
	return n;
}

void
event_log_queued(struct event_log *log, unsigned int *records, size_t *bytes)
{
	pthread_mutex_lock(&log->lock);
	*records = log->queued;
	*bytes = log->queued_bytes;
	pthread_mutex_unlock(&log->lock);
}

uint64_t
event_log_quota_dropped(struct event_log *log)
{
	return log->quota_dropped;
}

void
event_log_losses(struct event_log *log, uint64_t *lines_lost, uint64_t *upload_lost)
{
	*lines_lost = log->lines_lost;
	*upload_lost = log->upload_dropped;
}

void
event_log_stop(struct event_log *log)
{
	if (!log)
		return;
	pthread_mutex_lock(&log->lock);
	log->stopping = true;
	pthread_cond_signal(&log->cond);
	pthread_mutex_unlock(&log->lock);
	pthread_join(log->thread, NULL);
	if (log->fd >= 0)
		close(log->fd);
	if (log->done_fd >= 0)
		close(log->done_fd);
	if (log->upload_fd >= 0)
		close(log->upload_fd);
	roots_free(&log->bundle_roots);
	pthread_cond_destroy(&log->cond);
	pthread_mutex_destroy(&log->lock);
	free(log->path);
	free(log->machine_id);
	free(log);
}
