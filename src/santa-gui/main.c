/*
 * santa-gui: the desktop user's agent. It registers an anonymous endpoint
 * with santad, which pushes block notices and mode changes to the agent of
 * the console user; each becomes a freedesktop notification on the user's
 * session bus (sd-bus, org.freedesktop.Notifications) with Details (the
 * EventDetailURL, opened with xdg-open) and Silence actions. Repeated blocks
 * of one file update one notification instead of stacking new ones.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "gui.h"
#include "santa/clock.h"
#include "santa/path.h"

#define RECONNECT_USEC (2 * 1000000ULL) /* santad not there yet: try again this often */
/*
 * santad refused or dropped this agent (too many agents, or it gave way to the
 * console user's): it registers again after 1 s, 2 s, 4 s ... at most 30 s
 * apart, so that it is back soon after its user comes to the console.
 */
#define REGISTER_RETRY_MIN_USEC (1000000ULL)
#define REGISTER_RETRY_MAX_USEC (30 * 1000000ULL)

#define NOTIFY_DEST  "org.freedesktop.Notifications"
#define NOTIFY_PATH  "/org/freedesktop/Notifications"
#define NOTIFY_IFACE "org.freedesktop.Notifications"

static void
log_config_diag(void *userdata, int level, const char *file, unsigned int line, const char *msg)
{
	struct agent *a = userdata;

	if (level <= LOG_ERR)
		santa_log(&a->log, level, "%s:%u: %s", file, line, msg);
}

/* ---- what was shown ---- */

static struct shown *
shown_by_id(struct agent *a, uint32_t id)
{
	size_t i;

	for (i = 0; i < AGENT_SHOWN_MAX; i++)
		if (a->shown[i].id == id && id != 0)
			return &a->shown[i];
	return NULL;
}

/* The open notification for this file, if there is one: a repeat updates it. */
static struct shown *
shown_for(struct agent *a, const char *sha256, const char *path)
{
	size_t i;

	for (i = 0; i < AGENT_SHOWN_MAX; i++) {
		struct shown *s = &a->shown[i];

		if (s->id && !s->closed && strcmp(s->sha256, sha256) == 0 &&
		    strcmp(s->path, path) == 0)
			return s;
	}
	return NULL;
}

/* A free slot, or the oldest one (its notification is simply no longer tracked). */
static struct shown *
shown_slot(struct agent *a)
{
	struct shown *oldest = &a->shown[0];
	size_t i;

	for (i = 0; i < AGENT_SHOWN_MAX; i++) {
		if (!a->shown[i].id)
			return &a->shown[i];
		if (a->shown[i].when < oldest->when)
			oldest = &a->shown[i];
	}
	memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

static bool
silenced(struct agent *a, const char *sha256)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < a->n_silenced; i++)
		if (strcmp(a->silenced[i].sha256, sha256) == 0 && a->silenced[i].until > now)
			return true;
	return false;
}

static void
silence(struct agent *a, const char *sha256)
{
	time_t now = time(NULL);
	size_t i, slot = a->n_silenced;

	for (i = 0; i < a->n_silenced; i++) {
		if (strcmp(a->silenced[i].sha256, sha256) == 0 || a->silenced[i].until <= now) {
			slot = i;
			break;
		}
	}
	if (slot == AGENT_SILENCED_MAX)
		slot = 0; /* full of live silences: the first one gives way */
	else if (slot == a->n_silenced)
		a->n_silenced++;
	/* memmove: sha256 may point into this agent's own tables. */
	memmove(a->silenced[slot].sha256, sha256, SANTA_SHA256_HEX_LEN);
	a->silenced[slot].sha256[SANTA_SHA256_HEX_LEN] = '\0';
	a->silenced[slot].until = now + AGENT_SILENCE_SECONDS;
}

/* ---- opening the Details URL ---- */

/* xdg-open in a grandchild, so that nothing is left to reap and the browser is not our child. */
static void
open_url(struct agent *a, const char *url)
{
	pid_t pid = fork();

	if (pid < 0) {
		santa_log(&a->log, LOG_WARNING, "cannot open %s: %m", url);
		return;
	}
	if (pid == 0) {
		if (fork() == 0) {
			setsid();
			execlp("xdg-open", "xdg-open", url, (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	(void)waitpid(pid, NULL, 0);
	santa_log(&a->log, LOG_INFO, "opened %s", url);
}

/* ---- the notification server ---- */

static int
on_action(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct agent *a = userdata;
	const char *key;
	struct shown *s;
	uint32_t id;

	if (sd_bus_message_read(m, "us", &id, &key) < 0)
		return 0;
	s = shown_by_id(a, id);
	if (!s)
		return 0; /* somebody else's notification */
	if ((strcmp(key, "default") == 0 || strcmp(key, "details") == 0) && s->url[0]) {
		open_url(a, s->url);
	} else if (strcmp(key, "silence") == 0 && s->sha256[0]) {
		silence(a, s->sha256);
		santa_log(&a->log, LOG_INFO, "silenced %s for %d s", s->sha256, AGENT_SILENCE_SECONDS);
		(void)sd_bus_call_method_async(a->bus, NULL, NOTIFY_DEST, NOTIFY_PATH, NOTIFY_IFACE,
					       "CloseNotification", NULL, NULL, "u", id);
	}
	return 0;
}

static int
on_closed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct agent *a = userdata;
	struct shown *s;
	uint32_t id, reason;

	if (sd_bus_message_read(m, "uu", &id, &reason) >= 0 && (s = shown_by_id(a, id)))
		s->closed = true;
	return 0;
}

static int
on_capabilities(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct agent *a = userdata;
	const char *cap;

	if (sd_bus_message_is_method_error(m, NULL)) {
		santa_log(&a->log, LOG_WARNING, "no notification server answers yet: %s",
			  sd_bus_message_get_error(m)->message);
		return 0;
	}
	if (sd_bus_message_enter_container(m, 'a', "s") < 0)
		return 0;
	while (sd_bus_message_read(m, "s", &cap) > 0) {
		if (strcmp(cap, "body-markup") == 0)
			a->body_markup = true;
		else if (strcmp(cap, "actions") == 0)
			a->actions = true;
	}
	return 0;
}

/*
 * A Notify call in flight: for a santad request (answered when the server
 * has it; santad sends the next one only then), or for an update of our own
 * (bundle progress), which answers nobody.
 */
struct pending_notify {
	struct agent *agent;
	struct ipc_conn *conn;     /* NULL for an update */
	struct ipc_msg *request;
	struct shown *slot;        /* filled when the id comes back */
	char sha256[SANTA_SHA256_HEX_LEN + 1];
	bool collapsed, want_bundle;
};

static void
answer(struct pending_notify *p, int error, const char *why, bool shown)
{
	struct ipc_msg *reply;

	if (!p->request) {
		free(p);
		return;
	}
	if (error < 0) {
		ipc_conn_reply_error(p->conn, p->request, error, why);
	} else if ((reply = ipc_msg_new(ipc_msg_type(p->request)))) {
		ipc_dict_put_bool(ipc_msg_body(reply), "shown", shown);
		ipc_dict_put_bool(ipc_msg_body(reply), "collapsed", p->collapsed);
		if (why)
			ipc_dict_put_string(ipc_msg_body(reply), "why", why);
		ipc_conn_reply(p->conn, p->request, reply);
	}
	ipc_conn_unref(p->conn);
	ipc_msg_free(p->request);
	free(p);
}

static void start_bundle(struct agent *a, struct shown *s);

static int
on_notified(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct pending_notify *p = userdata;
	struct agent *a = p->agent;
	uint32_t id = 0;

	/* The slot may have been given to another file meanwhile: it is ours only if it still says so. */
	if (p->slot && strcmp(p->slot->sha256, p->sha256) != 0)
		p->slot = NULL;
	if (sd_bus_message_is_method_error(m, NULL)) {
		const sd_bus_error *e = sd_bus_message_get_error(m);

		santa_log(&a->log, LOG_WARNING, "the notification server refused: %s", e->message);
		if (p->slot && !p->slot->id)
			memset(p->slot, 0, sizeof(*p->slot));
		answer(p, -EHOSTUNREACH, e->message, false);
		return 0;
	}
	(void)sd_bus_message_read(m, "u", &id);
	if (p->slot) {
		p->slot->id = id;
		p->slot->when = time(NULL);
		if (p->want_bundle && !p->slot->bundling && !p->slot->bundle_hash[0])
			start_bundle(a, p->slot);
	}
	answer(p, 0, NULL, true);
	return 0;
}

/*
 * Sends Notify(app_name, replaces_id, icon, summary, body, actions, hints,
 * timeout); the reply (the id) arrives in on_notified.
 */
static int
notify(struct agent *a, struct pending_notify *p, uint32_t replaces, const char *summary,
       const char *body, const char *const *actions, uint8_t urgency)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_method_call(a->bus, &m, NOTIFY_DEST, NOTIFY_PATH, NOTIFY_IFACE,
					   "Notify");
	if (r >= 0)
		r = sd_bus_message_append(m, "susss", "Santa", replaces, "security-high", summary,
					  body);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "s");
	for (; r >= 0 && actions && *actions; actions++)
		r = sd_bus_message_append_basic(m, 's', *actions);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a{sv}i", 2, "urgency", "y", urgency, "desktop-entry",
					  "s", "santa-gui", -1);
	if (r >= 0)
		r = sd_bus_call_async(a->bus, NULL, m, on_notified, p, 0);
	sd_bus_message_unref(m);
	return r;
}

static const char *
field(const struct ipc_value *b, const char *key)
{
	const char *s = NULL;

	return ipc_dict_get_string(b, key, &s) == 0 ? s : "";
}

/*
 * One "label: value" line under the message (bold labels where the server
 * takes markup). The value comes from outside (a file name, a process name):
 * santa_display_escape keeps it on this one line, written out where it would
 * break the line or reorder what is shown, so that no name can pass for
 * another field. A line without room for its label is left out whole.
 */
static void
append_line(struct agent *a, char *body, size_t size, const char *label, const char *value)
{
	size_t len = strlen(body);
	int n;

	if (!value[0])
		return;
	n = snprintf(body + len, size - len, a->body_markup ? "\n<b>%s:</b> " : "\n%s: ", label);
	if (n < 0 || (size_t)n >= size - len) {
		body[len] = '\0';
		return;
	}
	len += (size_t)n;
	(void)santa_display_escape(value, body + len, size - len,
				   a->body_markup ? SANTA_DISPLAY_MARKUP : 0);
}

/* The Details URL from the template, with the bundle hash once there is one. */
static void
fill_url(struct agent *a, struct shown *s)
{
	struct santa_block_fields f = {
		.file_sha256 = s->sha256,
		.bundle_hash = s->bundle_hash,
		.username = s->username,
		.machine_id = s->machine_id,
		.hostname = s->hostname,
	};
	bool has_url = false;

	if (santa_block_url(NULL, s->url_template, &f, s->url, sizeof(s->url), &has_url) < 0)
		santa_log(&a->log, LOG_WARNING, "the Details URL is too long: not offered");
	if (!has_url)
		s->url[0] = '\0';
}

/* (Re)draws s; p answers santad's request, or is NULL for an update of our own. */
static int
show(struct agent *a, struct shown *s, struct pending_notify *p)
{
	char body[sizeof(s->body) + sizeof(s->bundle_line) + 2];
	const char *actions[7] = { NULL };
	size_t n = 0;

	snprintf(body, sizeof(body), "%s%s%s", s->body, s->bundle_line[0] ? "\n" : "",
		 s->bundle_line);
	if (s->url[0]) {
		actions[n++] = "default";
		actions[n++] = s->label;
		actions[n++] = "details";
		actions[n++] = s->label;
	}
	actions[n++] = "silence";
	actions[n++] = "Silence for a day";
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->agent = a;
	}
	p->slot = s;
	snprintf(p->sha256, sizeof(p->sha256), "%s", s->sha256);
	if (notify(a, p, s->id, s->summary, body, actions, 2) < 0) {
		answer(p, -EHOSTUNREACH, "cannot reach the notification server", false);
		return -EHOSTUNREACH;
	}
	return 0;
}

static void
handle_block(struct agent *a, struct pending_notify *p)
{
	const struct ipc_value *b = ipc_msg_body_const(p->request);
	const char *sha256 = field(b, "sha256"), *path = field(b, "path");
	char text[SANTA_BLOCK_TEXT_MAX], parent[300];
	struct shown *s;
	int64_t ppid = 0;
	bool bundles = false;

	if (silenced(a, sha256)) {
		answer(p, 0, "silenced", false);
		return;
	}
	s = shown_for(a, sha256, path);
	if (s) {
		s->count++;
		p->collapsed = true;
	} else {
		s = shown_slot(a);
		s->count = 1;
		snprintf(s->sha256, sizeof(s->sha256), "%s", sha256);
		snprintf(s->path, sizeof(s->path), "%s", path);
	}
	snprintf(s->url_template, sizeof(s->url_template), "%s", field(b, "detail_url"));
	snprintf(s->username, sizeof(s->username), "%s", field(b, "username"));
	snprintf(s->machine_id, sizeof(s->machine_id), "%s", field(b, "machine_id"));
	snprintf(s->hostname, sizeof(s->hostname), "%s", field(b, "hostname"));
	snprintf(s->label, sizeof(s->label), "%s", field(b, "detail_text"));
	fill_url(a, s);
	santa_html_to_text(field(b, "message"), text, sizeof(text));
	if (a->body_markup)
		santa_markup_escape(text, s->body, sizeof(s->body));
	else
		snprintf(s->body, sizeof(s->body), "%s", text);
	snprintf(s->body + strlen(s->body), sizeof(s->body) - strlen(s->body), "\n");
	(void)ipc_dict_get_int(b, "ppid", &ppid);
	snprintf(parent, sizeof(parent), "%s (%lld)", field(b, "parent_name"), (long long)ppid);
	/*
	 * What santad vouches for first, then what the blocked program's owner
	 * named (the process, the file): a name long enough to wrap on screen
	 * can then only wrap below the real fields, never above them.
	 */
	append_line(a, s->body, sizeof(s->body), "Identifier", sha256);
	append_line(a, s->body, sizeof(s->body), "User", s->username);
	if (s->count > 1) {
		char times[32];

		snprintf(times, sizeof(times), "%u times", s->count);
		append_line(a, s->body, sizeof(s->body), "Blocked", times);
	}
	append_line(a, s->body, sizeof(s->body), "Parent", parent);
	append_line(a, s->body, sizeof(s->body), "Path", path);
	/* The summary is plain text on one line (no markup there, by the specification). */
	memcpy(s->summary, "Santa blocked ", sizeof("Santa blocked "));
	(void)santa_display_escape(field(b, "name"), s->summary + strlen(s->summary),
				   sizeof(s->summary) - strlen(s->summary), 0);
	(void)ipc_dict_get_bool(b, "bundles", &bundles);
	p->want_bundle = bundles;
	show(a, s, p);
}

/* ---- bundles (EnableBundles): santabundleservice hashes the blocked file's bundle ---- */

struct bundle_req {
	struct agent *agent;
	struct ipc_conn *conn, *progress;
	char sha256[SANTA_SHA256_HEX_LEN + 1];
	char path[1024];
};

static void
bundle_req_free(struct bundle_req *br)
{
	struct agent *a = br->agent;
	struct shown *s = shown_for(a, br->sha256, br->path);

	if (s)
		s->bundling = false;
	/* Closed after each answer: a named connection would otherwise restart the idle service. */
	if (br->progress) {
		ipc_conn_invalidate(br->progress);
		ipc_conn_unref(br->progress);
	}
	if (br->conn) {
		ipc_conn_invalidate(br->conn);
		ipc_conn_unref(br->conn);
	}
	a->n_bundles--;
	free(br);
}

static void
on_bundle_progress(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct bundle_req *br = userdata;
	struct agent *a = br->agent;
	struct shown *s = shown_for(a, br->sha256, br->path);
	int64_t hashed = 0, total = 0;
	uint64_t now = santa_mono_usec();

	if (ipc_msg_type(msg) == BUNDLESERVICE_PROGRESS && s &&
	    ipc_dict_get_int(ipc_msg_body_const(msg), "hashed", &hashed) == 0 &&
	    ipc_dict_get_int(ipc_msg_body_const(msg), "total", &total) == 0 &&
	    now - s->bundle_shown_usec >= AGENT_PROGRESS_USEC) {
		s->bundle_shown_usec = now;
		snprintf(s->bundle_line, sizeof(s->bundle_line),
			 "Bundle: hashing %lld of %lld executables...", (long long)hashed,
			 (long long)total);
		show(a, s, NULL);
	}
	ipc_msg_free(msg);
}

static void
on_bundle_done(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct bundle_req *br = userdata;
	struct agent *a = br->agent;
	struct shown *s = shown_for(a, br->sha256, br->path);
	const char *text = NULL;
	char shown[2048]; /* the path for the log, on one line */

	if (error < 0 || (ipc_msg_flags(reply) & IPC_FLAG_ERROR)) {
		if (reply)
			ipc_msg_error(reply, &text);
		santa_display_escape(br->path, shown, sizeof(shown), 0);
		santa_log(&a->log, LOG_INFO, "no bundle for %s: %s", shown,
			  text ? text : strerror(-error));
		if (s && s->bundle_line[0]) {
			s->bundle_line[0] = '\0';
			show(a, s, NULL);
		}
	} else {
		const struct ipc_value *b = ipc_msg_body_const(reply);
		int64_t count = 0, millis = 0;
		char name[256], version[128];

		(void)ipc_dict_get_int(b, "binary_count", &count);
		(void)ipc_dict_get_int(b, "millis", &millis);
		santa_display_escape(br->path, shown, sizeof(shown), 0);
		santa_display_escape(field(b, "name"), name, sizeof(name), 0);
		santa_display_escape(field(b, "version"), version, sizeof(version), 0);
		santa_log(&a->log, LOG_INFO, "bundle of %s: %s %s, %lld executables, hash %s (%lld ms)",
			  shown, name, version, (long long)count, field(b, "bundle_hash"),
			  (long long)millis);
		if (s) {
			char line[sizeof(s->bundle_line)];

			snprintf(s->bundle_hash, sizeof(s->bundle_hash), "%s", field(b, "bundle_hash"));
			snprintf(line, sizeof(line), "%s%s%s (%lld executables)", field(b, "name"),
				 field(b, "version")[0] ? " " : "", field(b, "version"), (long long)count);
			s->bundle_line[0] = '\0';
			append_line(a, s->bundle_line, sizeof(s->bundle_line), "Bundle", line);
			append_line(a, s->bundle_line, sizeof(s->bundle_line), "Bundle Hash",
				    s->bundle_hash);
			memmove(s->bundle_line, s->bundle_line + 1, strlen(s->bundle_line));
			fill_url(a, s);
			show(a, s, NULL);
		}
	}
	ipc_msg_free(reply);
	bundle_req_free(br);
}

static void
start_bundle(struct agent *a, struct shown *s)
{
	static const struct ipc_conn_handlers progress_handlers = { .on_message = on_bundle_progress };
	char sock[PATH_MAX], why[512];
	struct bundle_req *br;
	struct ipc_msg *req;
	int local = -1, remote = -1, r;

	if (a->n_bundles >= AGENT_BUNDLES_MAX)
		return;
	br = calloc(1, sizeof(*br));
	if (!br)
		return;
	br->agent = a;
	a->n_bundles++;
	snprintf(br->sha256, sizeof(br->sha256), "%s", s->sha256);
	snprintf(br->path, sizeof(br->path), "%s", s->path);
	r = santa_path_join(sock, sizeof(sock), a->cfg.run_directory, BUNDLESERVICE_SOCKET_NAME);
	if (r == 0)
		r = ipc_conn_connect(a->event, sock, "santabundleservice", 5 * 1000000ULL, NULL, NULL,
				     NULL, &br->conn, why, sizeof(why));
	if (r < 0) {
		char shown[2048];

		santa_display_escape(s->path, shown, sizeof(shown), 0);
		santa_log(&a->log, LOG_WARNING, "cannot hash the bundle of %s: %s", shown, why);
		bundle_req_free(br);
		return;
	}
	if (ipc_endpoint_pair(&local, &remote) < 0 ||
	    ipc_conn_from_endpoint(a->event, local, ipc_conn_peer(br->conn), NULL, &progress_handlers,
				   br, &br->progress) < 0)
		br->progress = NULL;
	if (!br->progress && remote >= 0) {
		close(remote); /* hashing goes on, without progress */
		remote = -1;
	}
	req = ipc_msg_new(BUNDLESERVICE_HASH);
	if (!req || ipc_dict_put_string(ipc_msg_body(req), "path", s->path) < 0 ||
	    (remote >= 0 && ipc_dict_put_fd(ipc_msg_body(req), "progress", remote) < 0)) {
		ipc_msg_free(req);
		bundle_req_free(br);
		return;
	}
	s->bundling = true;
	snprintf(s->bundle_line, sizeof(s->bundle_line), "Bundle: hashing...");
	(void)ipc_conn_send_request(br->conn, req, 10 * 60 * 1000000ULL, on_bundle_done, br);
}

static void
handle_mode(struct agent *a, struct pending_notify *p)
{
	const struct ipc_value *b = ipc_msg_body_const(p->request);
	char text[1024], body[2048];

	santa_html_to_text(field(b, "message"), text, sizeof(text));
	if (a->body_markup)
		santa_markup_escape(text, body, sizeof(body));
	else
		snprintf(body, sizeof(body), "%s", text);
	if (notify(a, p, 0, "Santa", body, NULL, 1) < 0)
		answer(p, -EHOSTUNREACH, "cannot reach the notification server", false);
}

/* ---- santad ---- */

static void
on_santad_push(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct agent *a = userdata;
	struct pending_notify *p;

	if (ipc_msg_flags(msg) & IPC_FLAG_ONEWAY) {
		ipc_msg_free(msg);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		ipc_conn_reply_error(conn, msg, -ENOMEM, "out of memory");
		ipc_msg_free(msg);
		return;
	}
	p->agent = a;
	p->conn = ipc_conn_ref(conn);
	p->request = msg;
	switch (ipc_msg_type(msg)) {
	case SANTAGUI_BLOCK:
		a->blocks++;
		handle_block(a, p);
		break;
	case SANTAGUI_MODE:
		handle_mode(a, p);
		break;
	default:
		answer(p, -EOPNOTSUPP, "unknown request", false);
		break;
	}
}

static void register_agent(struct agent *a);

static int
on_register_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct agent *a = userdata;

	/* Not connected: registering follows the reconnection. An endpoint: already registered. */
	if (a->connected && !a->endpoint)
		register_agent(a);
	return 0;
}

/* Registers again later; the delay doubles up to REGISTER_RETRY_MAX_USEC. */
static void
schedule_register(struct agent *a, const char *why)
{
	uint64_t delay = a->register_backoff_usec ? a->register_backoff_usec
						   : REGISTER_RETRY_MIN_USEC;
	int enabled = SD_EVENT_OFF;

	if (a->register_retry && sd_event_source_get_enabled(a->register_retry, &enabled) >= 0 &&
	    enabled != SD_EVENT_OFF)
		return; /* one is due already */
	a->register_backoff_usec = delay * 2 < REGISTER_RETRY_MAX_USEC ? delay * 2
								 : REGISTER_RETRY_MAX_USEC;
	if (!a->register_retry) {
		if (sd_event_add_time_relative(a->event, &a->register_retry, CLOCK_MONOTONIC, delay, 0,
					       on_register_retry, a) < 0) {
			santa_log(&a->log, LOG_ERR, "%s; cannot schedule registering again", why);
			return;
		}
	} else {
		(void)sd_event_source_set_time_relative(a->register_retry, delay);
		(void)sd_event_source_set_enabled(a->register_retry, SD_EVENT_ONESHOT);
	}
	santa_log(&a->log, LOG_NOTICE, "%s; registering again in %llu s", why,
		  (unsigned long long)((delay + 999999) / 1000000ULL));
}

static void
drop_endpoint(struct agent *a)
{
	struct ipc_conn *old = a->endpoint;

	if (!old)
		return;
	a->endpoint = NULL; /* first: on_endpoint_gone then knows it was us */
	ipc_conn_invalidate(old);
	ipc_conn_unref(old);
}

static void
on_endpoint_gone(struct ipc_conn *conn, int error, void *userdata)
{
	struct agent *a = userdata;

	if (a->endpoint != conn)
		return;
	ipc_conn_unref(a->endpoint);
	a->endpoint = NULL;
	/* Not taken yet: santad closes the endpoint of a refusal, and its answer says why. */
	if (a->stopping || !a->registered)
		return;
	a->registered = false;
	/*
	 * santad closed its end: it gave our place to the console user's agent, or
	 * it is going away (then the reconnection registers, and the retry finds an
	 * endpoint). A registration that lasted starts the backoff afresh; one cut
	 * short keeps it growing, so agents that keep displacing each other settle.
	 */
	if (santa_mono_usec() - a->registered_usec >= REGISTER_RETRY_MAX_USEC)
		a->register_backoff_usec = 0;
	schedule_register(a, "santad dropped this agent");
}

static void
on_registered(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct agent *a = userdata;
	const char *text = NULL;
	bool served = false;
	char why[512];

	if (error < 0 || (reply && (ipc_msg_flags(reply) & IPC_FLAG_ERROR))) {
		if (reply)
			error = ipc_msg_error(reply, &text);
		snprintf(why, sizeof(why), "santad did not take this agent: %s",
			 text ? text : strerror(-error));
		ipc_msg_free(reply);
		drop_endpoint(a);
		if (!a->stopping)
			schedule_register(a, why);
		return;
	}
	a->registered = true;
	a->registered_usec = santa_mono_usec();
	(void)ipc_dict_get_bool(ipc_msg_body_const(reply), "served", &served);
	santa_log(&a->log, LOG_INFO, "registered with santad: %s", served ? "this user is at the console"
				     : "waiting for this user to be at the console");
	ipc_msg_free(reply);
}

/* A new endpoint for santad to push to: at start and after every reconnection. */
static void
register_agent(struct agent *a)
{
	static const struct ipc_conn_handlers handlers = {
		.on_message = on_santad_push,
		.on_invalidated = on_endpoint_gone,
	};
	struct ipc_msg *req = NULL;
	int local = -1, remote = -1;

	drop_endpoint(a);
	a->registered = false;
	if (ipc_endpoint_pair(&local, &remote) < 0 ||
	    ipc_conn_from_endpoint(a->event, local, ipc_conn_peer(a->santad), NULL, &handlers, a,
				   &a->endpoint) < 0) {
		santa_log(&a->log, LOG_ERR, "cannot make an endpoint for santad");
		if (remote >= 0)
			close(remote);
		return;
	}
	req = ipc_msg_new(SANTAD_GUI_REGISTER);
	if (!req || ipc_dict_put_fd(ipc_msg_body(req), "endpoint", remote) < 0) {
		ipc_msg_free(req);
		return;
	}
	(void)ipc_conn_send_request(a->santad, req, 0, on_registered, a);
}

static void
on_santad_interrupted(struct ipc_conn *conn, void *userdata)
{
	struct agent *a = userdata;

	a->connected = false;
	santa_log(&a->log, LOG_NOTICE, "santad went away: waiting for it to come back");
}

static void
on_santad_reconnected(struct ipc_conn *conn, void *userdata)
{
	struct agent *a = userdata;

	a->connected = true;
	a->register_backoff_usec = 0;
	santa_log(&a->log, LOG_NOTICE, "santad is back");
	register_agent(a);
}

static void
on_santad_invalidated(struct ipc_conn *conn, int error, void *userdata)
{
	struct agent *a = userdata;

	if (a->stopping)
		return;
	santa_log(&a->log, LOG_ERR, "santad refused this agent for good (%s): exiting",
		  strerror(error < 0 ? -error : EPROTO));
	sd_event_exit(a->event, 1);
}

static void
on_santad_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	if (!(ipc_msg_flags(msg) & IPC_FLAG_ONEWAY))
		ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
	ipc_msg_free(msg);
}

static int try_connect(sd_event_source *s, uint64_t usec, void *userdata);

static void
schedule_connect(struct agent *a)
{
	if (!a->retry)
		(void)sd_event_add_time_relative(a->event, &a->retry, CLOCK_MONOTONIC,
						 RECONNECT_USEC, 0, try_connect, a);
	else
		(void)sd_event_source_set_time_relative(a->retry, RECONNECT_USEC),
			(void)sd_event_source_set_enabled(a->retry, SD_EVENT_ONESHOT);
}

static int
try_connect(sd_event_source *s, uint64_t usec, void *userdata)
{
	static const struct ipc_conn_handlers handlers = {
		.on_message = on_santad_message,
		.on_interrupted = on_santad_interrupted,
		.on_reconnected = on_santad_reconnected,
		.on_invalidated = on_santad_invalidated,
	};
	struct agent *a = userdata;
	char path[PATH_MAX], why[512];
	int r;

	r = santa_path_join(path, sizeof(path), a->cfg.run_directory, SANTAD_SOCKET_NAME);
	if (r == 0)
		r = ipc_conn_connect(a->event, path, "santad", 0, NULL, &handlers, a, &a->santad, why,
				     sizeof(why));
	/* Gone, busy (backlog full), or this user's share of santad.sock taken: try again later. */
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ETIMEDOUT || r == -EAGAIN ||
	    r == -ECONNRESET) {
		if (!a->said_waiting)
			santa_log(&a->log, LOG_NOTICE, "%s; trying again every %llu s", why,
				  RECONNECT_USEC / 1000000ULL);
		a->said_waiting = true;
		schedule_connect(a);
		return 0;
	}
	if (r < 0) {
		santa_log(&a->log, LOG_ERR, "%s", why);
		sd_event_exit(a->event, 1);
		return 0;
	}
	a->connected = true;
	santa_log(&a->log, LOG_INFO, "connected to santad");
	register_agent(a);
	return 0;
}

static int
setup_bus(struct agent *a)
{
	int r;

	r = sd_bus_open_user(&a->bus);
	if (r < 0) {
		santa_log_errno(&a->log, LOG_ERR, r,
				"cannot reach the session bus (DBUS_SESSION_BUS_ADDRESS): %m");
		return r;
	}
	r = sd_bus_attach_event(a->bus, a->event, 0);
	if (r >= 0)
		r = sd_bus_match_signal(a->bus, NULL, NULL, NOTIFY_PATH, NOTIFY_IFACE, "ActionInvoked",
					on_action, a);
	if (r >= 0)
		r = sd_bus_match_signal(a->bus, NULL, NULL, NOTIFY_PATH, NOTIFY_IFACE,
					"NotificationClosed", on_closed, a);
	if (r >= 0)
		r = sd_bus_call_method_async(a->bus, NULL, NOTIFY_DEST, NOTIFY_PATH, NOTIFY_IFACE,
					     "GetCapabilities", on_capabilities, a, "");
	if (r < 0)
		santa_log_errno(&a->log, LOG_ERR, r, "cannot use the session bus: %m");
	return r;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: santa-gui [--config FILE] [--debug]\n"
		   "Shows Santa's block notifications to the user at the console.\n");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent a = { .config_path = SANTA_DEFAULT_CONFIG_PATH };
	const char *env = getenv("SANTA_CONFIG");
	int level = LOG_INFO, opt, r;

	if (env && *env)
		a.config_path = env;
	while ((opt = getopt_long(argc, argv, "c:dhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			a.config_path = optarg;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("santa-gui %s\n", SANTA_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	santa_log_init(&a.log, "santa-gui", SANTA_LOG_STDERR, level);
	santa_config_init(&a.cfg, NULL);
	r = santa_config_load(&a.cfg, a.config_path, log_config_diag, &a);
	if (r == -EACCES) {
		/* Root's alone (it holds secrets): santad.sock is where it always is. */
		santa_config_free(&a.cfg);
		santa_config_init(&a.cfg, NULL);
	} else if (r < 0 && r != -ENOENT) {
		santa_log_errno(&a.log, LOG_ERR, r, "cannot use %s: %m", a.config_path);
		r = 1;
		goto out;
	}
	r = sd_event_default(&a.event);
	if (r < 0 || setup_bus(&a) < 0) {
		r = 1;
		goto out;
	}
	(void)sd_event_add_signal(a.event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
	(void)sd_event_add_signal(a.event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
	try_connect(NULL, 0, &a);
	(void)sd_notify(0, "READY=1");
	r = sd_event_loop(a.event) == 0 ? 0 : 1;
out:
	a.stopping = true;
	drop_endpoint(&a);
	if (a.santad) {
		ipc_conn_invalidate(a.santad);
		ipc_conn_unref(a.santad);
	}
	sd_event_source_disable_unref(a.retry);
	sd_event_source_disable_unref(a.register_retry);
	sd_bus_flush_close_unref(a.bus);
	sd_event_unref(a.event);
	santa_config_free(&a.cfg);
	return r;
}
