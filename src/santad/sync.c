/*
 * santad's side of a sync: what santasyncservice may ask of santad, over its
 * validated channel. santad alone writes the rules, events and sync state;
 * the network-facing helper only proposes, and santad checks what it gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "santa/clock.h"
#include "santa/events_db.h"
#include "santa/machine.h"
#include "santa/path.h"
#include "santa/santad_proto.h"
#include "santa/sync.h"
#include "santa/sync_state.h"
#include "rule_writer.h"
#include "santad.h"
#include "event_log.h"
#include "helpers.h"
#include "file_saver.h"
#include "sync.h"
#include "transitive.h"

/*
 * What the sync server set (it wins over santa.conf for the keys Santa lets
 * it override) and the sync bookkeeping, persisted in SyncStatePath: d->sync,
 * sync.c's alone, from santad_sync_load to santad_sync_free. Loop thread.
 */
struct santad_sync {
	struct sync_state state;
	struct file_saver *saver; /* writes SyncStatePath: the loop never waits for its fsync */
};

int
santad_sync_load(struct santad *d, const struct santa_config *cfg)
{
	struct santad_sync *sync = calloc(1, sizeof(*sync));
	char why[512];

	int r;

	if (!sync)
		return -ENOMEM;
	r = file_saver_new(&d->log, &sync->saver);
	if (r < 0) {
		free(sync);
		return r;
	}
	sync_state_init(&sync->state);
	if (cfg->sync_base_url) {
		if (access(d->start.sync_state_path, F_OK) < 0)
			/* A machine new to the server asks for a clean sync, as Santa does. */
			sync->state.sync_type_required = 2;
		else if (sync_state_load(&sync->state, d->start.sync_state_path, why, sizeof(why)) < 0)
			santa_log(&d->log, LOG_ERR, "%s; starting from the local configuration", why);
	}
	d->sync = sync;
	return 0;
}

void
santad_sync_free(struct santad *d)
{
	if (!d->sync)
		return;
	file_saver_free(d->sync->saver); /* the last state written first */
	sync_state_free(&d->sync->state);
	free(d->sync);
	d->sync = NULL;
}

/*
 * The sync server's values win over santa.conf while SyncBaseURL is set, as
 * on Santa; a server regex that does not compile is dropped (the local one
 * applies), never allowed to break the policy.
 */
int
santad_sync_overlay(struct santad *d, struct santa_config *cfg)
{
	struct sync_state s = d->sync->state;
	struct santa_scopes *test;
	char why[512];

	if (!cfg->sync_base_url)
		return 0;
	if (s.allowed_path_regex && santa_scopes_new(s.allowed_path_regex, NULL, &test, why,
						     sizeof(why)) < 0) {
		santa_log(&d->log, LOG_WARNING, "sync server's AllowedPathRegex ignored: %s", why);
		s.allowed_path_regex = NULL;
	} else if (s.allowed_path_regex) {
		santa_scopes_free(test);
	}
	if (s.blocked_path_regex && santa_scopes_new(NULL, s.blocked_path_regex, &test, why,
						     sizeof(why)) < 0) {
		santa_log(&d->log, LOG_WARNING, "sync server's BlockedPathRegex ignored: %s", why);
		s.blocked_path_regex = NULL;
	} else if (s.blocked_path_regex) {
		santa_scopes_free(test);
	}
	return sync_state_apply(&s, cfg);
}

void
santad_sync_status(const struct santad *d, struct ipc_value *dict)
{
	const struct sync_state *s = &d->sync->state;

	ipc_dict_put_bool(dict, "clean_required", s->sync_type_required != 0);
	ipc_dict_put_int(dict, "last_successful_full", (int64_t)s->full_sync_last_success);
	ipc_dict_put_int(dict, "last_successful_rule", (int64_t)s->rule_sync_last_success);
	ipc_dict_put_int(dict, "last_attempt", (int64_t)s->last_attempt);
	ipc_dict_put_string(dict, "last_error", s->last_error);
}

bool
santad_sync_bundles_enabled(const struct santad *d)
{
	return d->sync->state.enable_bundles > 0;
}



/* The first line of a small file, without its newline; "" when unreadable (not root, absent). */
static void
read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* VERSION_ID from os-release, e.g. "12". */
static void
os_version(char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/etc/os-release", "re");

	buf[0] = '\0';
	if (!f)
		f = fopen("/usr/lib/os-release", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VERSION_ID=", 11) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, size, "%s", line + 11 + (line[11] == '"'));
			buf[strcspn(buf, "\"")] = '\0';
			break;
		}
	}
	fclose(f);
}

int
santad_machine_id(const char *configured, char *buf, size_t size)
{
	char id[64];
	size_t i, n;

	if (configured && configured[0]) {
		snprintf(buf, size, "%s", configured);
		return 0;
	}
	/* systemd's machine id, shaped like the hardware UUID Santa uses on a Mac. */
	read_line("/etc/machine-id", id, sizeof(id));
	n = strlen(id);
	if (n != 32)
		return -ENOENT;
	for (i = 0; i < n; i++)
		id[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 'a' + 'A' : id[i]);
	snprintf(buf, size, "%.8s-%.4s-%.4s-%.4s-%.12s", id, id + 8, id + 12, id + 16, id + 20);
	return 0;
}

#define SYNC_CREDENTIAL_MAX (48 * 1024) /* a cert or key in one IPC message */

/*
 * The client certificate and key, read here as root so that the key can stay
 * root-only (0600) while the sync service runs as nobody. Only a root-owned
 * file that nobody else may write is passed on.
 */
static int
put_credential(struct santad *d, struct ipc_value *dict, const char *key, const char *path)
{
	char buf[SYNC_CREDENTIAL_MAX];
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	if (!path || !path[0])
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		santa_log_errno(&d->log, LOG_ERR, r, "sync: cannot read %s: %m", path);
		goto out;
	}
	if (!santa_stat_is_root_trusted(&st) || st.st_size > SYNC_CREDENTIAL_MAX) {
		r = -EPERM;
		santa_log(&d->log, LOG_ERR, "sync: %s must be a root-owned file of at most %d bytes "
			  "that only root may write", path, SYNC_CREDENTIAL_MAX);
		goto out;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		r = -errno;
		goto out;
	}
	r = ipc_dict_put_data(dict, key, buf, (size_t)n);
	explicit_bzero(buf, sizeof(buf));
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static void
preflight_info(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct santad_live_settings *cfg = &d->policy->cfg;
	uint64_t counts[SANTA_RULE_TYPE_MAX + 1], compiler = 0;
	struct ipc_value *b, *c, *m, *tls;
	struct ipc_msg *reply;
	char buf[256];
	struct utsname u;

	if (rules_db_counts(d->rules, counts) < 0 ||
	    rules_db_count_policy(d->rules, SANTA_POLICY_ALLOWLIST_COMPILER, &compiler) < 0) {
		ipc_conn_reply_error(conn, req, -EIO, "cannot read the rules database");
		return;
	}
	reply = ipc_msg_new(SANTAD_SYNC_PREFLIGHT);
	if (!reply)
		return;
	b = ipc_msg_body(reply);
	ipc_dict_put_string(b, "client_mode",
			    cfg->client_mode == SANTA_MODE_LOCKDOWN ? "LOCKDOWN" : "MONITOR");
	ipc_dict_put_string(b, "sync_type_required",
			    sync_type_to_string((enum sync_type)d->sync->state.sync_type_required));
	ipc_dict_put_int(b, "full_sync_interval", d->sync->state.full_sync_interval);
	c = ipc_dict_put_container(b, "counts", IPC_DICT);
	ipc_dict_put_int(c, "binary", (int64_t)counts[SANTA_RULE_TYPE_BINARY]);
	ipc_dict_put_int(c, "certificate", (int64_t)counts[SANTA_RULE_TYPE_CERTIFICATE]);
	ipc_dict_put_int(c, "compiler", (int64_t)compiler);
	{
		uint64_t transitive = 0;

		rules_db_count_policy(d->rules, SANTA_POLICY_ALLOWLIST_TRANSITIVE, &transitive);
		ipc_dict_put_int(c, "transitive", (int64_t)transitive);
	}
	ipc_dict_put_int(c, "teamid", (int64_t)counts[SANTA_RULE_TYPE_TEAMID]);
	ipc_dict_put_int(c, "signingid", (int64_t)counts[SANTA_RULE_TYPE_SIGNINGID]);
	ipc_dict_put_int(c, "cdhash", (int64_t)counts[SANTA_RULE_TYPE_CDHASH]);
	m = ipc_dict_put_container(b, "machine", IPC_DICT);
	if (santad_machine_id(cfg->machine_id, buf, sizeof(buf)) == 0)
		ipc_dict_put_string(m, "machine_id", buf);
	/* DMI files are root-only: santad reads them, the helper (nobody) could not. */
	santa_machine_serial(cfg->serial_number, NULL, buf, sizeof(buf), NULL);
	ipc_dict_put_string(m, "serial_num", buf);
	read_line("/sys/class/dmi/id/product_name", buf, sizeof(buf));
	ipc_dict_put_string(m, "model_identifier", buf);
	os_version(buf, sizeof(buf));
	ipc_dict_put_string(m, "os_version", buf);
	if (uname(&u) == 0)
		ipc_dict_put_string(m, "os_build", u.release);
	if (gethostname(buf, sizeof(buf)) == 0) {
		buf[sizeof(buf) - 1] = '\0';
		ipc_dict_put_string(m, "hostname", buf);
	}
	ipc_dict_put_string(m, "santa_version", SANTA_VERSION);
	ipc_dict_put_string(m, "primary_user", cfg->machine_owner ? cfg->machine_owner : "");
	tls = ipc_dict_put_container(b, "tls", IPC_DICT);
	if (put_credential(d, tls, "cert", cfg->client_auth_certificate_file) < 0 ||
	    put_credential(d, tls, "key", cfg->client_auth_key_file) < 0) {
		ipc_msg_free(reply);
		ipc_conn_reply_error(conn, req, -EPERM, "the client certificate or key cannot be "
				     "used (see santad's log)");
		return;
	}
	if (cfg->client_auth_certificate_password)
		ipc_dict_put_string(tls, "password", cfg->client_auth_certificate_password);
	ipc_conn_reply(conn, req, reply);
}

static void
events_delete(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct ipc_value *list;
	struct ipc_msg *reply;
	int64_t *ids;
	size_t n, i;
	int r;

	if (ipc_dict_get_container(ipc_msg_body_const(req), "ids", IPC_ARRAY, &list) < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL, "ids: expected an array of event ids");
		return;
	}
	n = ipc_container_len(list);
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids) {
		ipc_conn_reply_error(conn, req, -ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		if (ipc_value_type(ipc_array_at(list, i)) != IPC_INT64) {
			free(ids);
			ipc_conn_reply_error(conn, req, -EINVAL, "ids: expected integers");
			return;
		}
		ids[i] = ipc_value_int(ipc_array_at(list, i));
	}
	r = d->events ? events_db_delete(d->events, ids, n) : 0;
	free(ids);
	if (r < 0) {
		ipc_conn_reply_error(conn, req, r, "cannot delete the events");
		return;
	}
	reply = ipc_msg_new(SANTAD_EVENTS_DELETE);
	ipc_dict_put_int(ipc_msg_body(reply), "deleted", (int64_t)n);
	ipc_conn_reply(conn, req, reply);
}

void
santad_rules_written(const struct rule_write_done *done, void *userdata)
{
	struct santad *d = userdata;

	if (done->kind != RULE_WRITE_BATCH) {
		santad_transitive_written(d, done);
		return;
	}
	if (done->result < 0)
		return; /* rolled back: nothing changed */
	if (done->request == SANTAD_SYNC_RULES)
		d->sync->state.rule_sync_last_success = santa_unix_now();
	/*
	 * Decisions made under the old rules go: those cached, the kernel's
	 * ignore marks, and (exec.c) those of jobs made before this flush.
	 */
	d->pipeline.flush_decisions(d);
}

static void
opt_bool(const struct ipc_value *b, const char *key, int *dst)
{
	bool v;

	if (ipc_dict_get_bool(b, key, &v) == 0)
		*dst = v;
}

static int
opt_string(const struct ipc_value *b, const char *key, char **dst)
{
	const char *v;
	char *copy;

	if (ipc_dict_get_string(b, key, &v) < 0)
		return 0;
	/* "" drops the server's override: the local config applies again. */
	copy = v[0] ? strdup(v) : NULL;
	if (v[0] && !copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static void
sync_postflight(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct ipc_value *b = ipc_msg_body_const(req);
	struct sync_state *s = &d->sync->state;
	enum santa_mode old_mode = d->policy->cfg.client_mode;
	const char *mode;
	bool clean_done = false;
	int64_t interval = 0;
	int r;

	if (ipc_dict_get_string(b, "client_mode", &mode) == 0) {
		if (strcmp(mode, "MONITOR") == 0)
			s->client_mode = SANTA_MODE_MONITOR;
		else if (strcmp(mode, "LOCKDOWN") == 0)
			s->client_mode = SANTA_MODE_LOCKDOWN;
	}
	if (opt_string(b, "allowed_path_regex", &s->allowed_path_regex) < 0 ||
	    opt_string(b, "blocked_path_regex", &s->blocked_path_regex) < 0) {
		ipc_conn_reply_error(conn, req, -ENOMEM, "out of memory");
		return;
	}
	opt_bool(b, "enable_bundles", &s->enable_bundles);
	opt_bool(b, "enable_transitive_rules", &s->enable_transitive_rules);
	opt_bool(b, "enable_all_event_upload", &s->enable_all_event_upload);
	opt_bool(b, "disable_unknown_event_upload", &s->disable_unknown_event_upload);
	opt_bool(b, "block_usb_mount", &s->block_usb_mount);
	/* The helper clamps it already; santad trusts the helper's identity, not its numbers. */
	if (ipc_dict_get_int(b, "full_sync_interval", &interval) == 0 && interval >= 60)
		s->full_sync_interval = interval > SYNC_MAX_FULL_SYNC_INTERVAL
						? SYNC_MAX_FULL_SYNC_INTERVAL
						: (unsigned int)interval;
	ipc_dict_get_bool(b, "clean_done", &clean_done);
	if (clean_done)
		s->sync_type_required = SYNC_TYPE_NORMAL;
	s->full_sync_last_success = santa_unix_now();
	s->rule_sync_last_success = s->full_sync_last_success;
	s->last_error[0] = '\0';
	{
		char *text = NULL;

		r = sync_state_encode(s, &text);
		if (r == 0)
			r = file_saver_put(d->sync->saver, d->start.sync_state_path, text);
		if (r < 0)
			santa_log_errno(&d->log, LOG_ERR, r, "sync: cannot save %s (%m): the settings "
					"apply until santad restarts", d->start.sync_state_path);
	}
	r = d->daemon.rebuild_policy(d);
	if (r < 0)
		santa_log(&d->log, LOG_ERR, "sync: the server's settings could not be applied; the "
			  "previous ones stay in force");
	else if (old_mode != d->policy->cfg.client_mode)
		santa_log(&d->log, LOG_NOTICE, "mode changed by the sync server: %s -> %s",
			  santa_mode_to_string(old_mode), santa_mode_to_string(d->policy->cfg.client_mode));
	ipc_conn_reply(conn, req, ipc_msg_new(SANTAD_SYNC_POSTFLIGHT));
}

static void
sync_result(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct ipc_value *b = ipc_msg_body_const(req);
	struct sync_state *s = &d->sync->state;
	const char *error = "", *stage = "";
	bool ok = false;

	ipc_dict_get_bool(b, "ok", &ok);
	ipc_dict_get_string(b, "error", &error);
	ipc_dict_get_string(b, "stage", &stage);
	s->last_attempt = santa_unix_now();
	if (ok)
		d->stats.syncs_ok++;
	else
		d->stats.syncs_failed++;
	if (ok)
		s->last_error[0] = '\0';
	else
		snprintf(s->last_error, sizeof(s->last_error), "%s%s%s", stage,
			 stage[0] ? ": " : "", error);
	ipc_conn_reply(conn, req, ipc_msg_new(SANTAD_SYNC_RESULT));
}

void
santad_handle_sync(struct santad *d, struct ipc_conn *conn, struct ipc_msg *msg)
{
	switch (ipc_msg_type(msg)) {
	case SANTAD_SYNC_PREFLIGHT:
		preflight_info(d, conn, msg);
		break;
	case SANTAD_EVENTS_DELETE:
		events_delete(d, conn, msg);
		break;
	case SANTAD_SYNC_POSTFLIGHT:
		sync_postflight(d, conn, msg);
		break;
	case SANTAD_SYNC_RESULT:
		sync_result(d, conn, msg);
		break;
	default:
		ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
		break;
	}
}

void
santad_sync_upload_now(struct santad *d)
{
	struct ipc_conn *sync = santad_helper_conn(d, HELPER_SYNC);
	struct ipc_msg *m;

	if (!sync)
		return; /* no sync service now: the events wait for its first full sync */
	m = ipc_msg_new(SYNCSERVICE_EVENTS_NOW);
	if (m)
		(void)ipc_conn_send_event(sync, m);
}

/*
 * The writer stored a block that should go up at once (event_log.c). With
 * EnableBundles from the server, a block waits for its bundle's hash, as on
 * Santa: santa-gui asks for it, and the bundle's result uploads it (bundles.c).
 */
static int
on_upload_wanted(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct santad *d = userdata;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	if (santad_sync_bundles_enabled(d))
		return 0;
	santad_sync_upload_now(d);
	return 0;
}

int
santad_sync_watch_uploads(struct santad *d)
{
	return sd_event_add_io(d->event, NULL, event_log_upload_fd(d->elog), EPOLLIN,
			       on_upload_wanted, d);
}
