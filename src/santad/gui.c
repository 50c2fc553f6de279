/*
 * santa-gui agents: each desktop user's agent registers an anonymous endpoint
 * on santad.sock; santad pushes block notices and mode changes to the agent of
 * the console user only (console.c), one request at a time, and keeps a
 * bounded queue while that user's agent is not there yet. Nothing here sits
 * on the decision path: notices are built after the kernel got its answer.
 *
 * Anyone who can run santa-gui can register agents, so the table is capped
 * per user and in all; the agent santad would serve (the console user's) is
 * never refused for want of room: another agent gives way (make_room).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "santa/blockmsg.h"
#include "santa/clock.h"
#include "santa/santad_proto.h"
#include "santad.h"
#include "console.h"
#include "rule_lookup.h"
#include "gui.h"
#include "proc.h"
#include "sync.h"

#define GUI_AGENTS_MAX          32  /* registered agents, all users together */
#define GUI_AGENTS_PER_UID      4   /* one user's, all their sessions together */
#define GUI_QUEUE_MAX           32  /* notices waiting for the console user's agent */
#define GUI_OUTBOUND_MAX        64  /* per agent, before the oldest is dropped */
#define GUI_REQUEST_TIMEOUT_USEC (120 * 1000000ULL)
#define GUI_CONSOLE_POLL_USEC   (1000000ULL)
#define GUI_REFUSAL_LOG_USEC    (10 * 1000000ULL) /* a uid's refusal is logged at most this often */

struct gui_agent {
	struct ipc_conn *conn;
	pid_t pid;
	uid_t uid;
	uint64_t seq; /* the newest registration of a user is the one served */
};

struct gui_queued {
	uid_t uid;
	struct ipc_msg *msg;
};

struct gui {
	struct santad *daemon;
	struct gui_agent agents[GUI_AGENTS_MAX];
	size_t n_agents;
	uint64_t seq;
	struct console_user active;
	struct gui_queued queue[GUI_QUEUE_MAX];
	size_t n_queued;
	sd_event_source *poll;
	enum santa_mode announced_mode;
	uint64_t sent, dropped, failed;
	uint64_t refused, evicted; /* registrations turned away; agents that gave way */
	struct santa_ratelimit refusal_log; /* per uid, as santad.sock's refusals */
};

static struct gui_agent *
served_agent(struct gui *g)
{
	struct gui_agent *best = NULL;
	size_t i;

	for (i = 0; i < g->n_agents; i++) {
		struct gui_agent *a = &g->agents[i];

		if (console_serves(&g->active, a->pid, a->uid) && (!best || a->seq > best->seq))
			best = a;
	}
	return best;
}

static void
on_agent_reply(struct ipc_conn *conn, struct ipc_msg *reply, int error, void *userdata)
{
	struct gui *g = userdata;

	if (error < 0 || (reply && (ipc_msg_flags(reply) & IPC_FLAG_ERROR)))
		g->failed++;
	ipc_msg_free(reply);
}

static void
send_to(struct gui *g, struct gui_agent *a, struct ipc_msg *msg)
{
	if (ipc_conn_send_request(a->conn, msg, GUI_REQUEST_TIMEOUT_USEC, on_agent_reply, g) < 0)
		g->failed++;
	else
		g->sent++;
}

/* Sends what waits for the served agent's user, oldest first. */
static void
flush_queue(struct gui *g)
{
	struct gui_agent *a = served_agent(g);
	size_t i, kept = 0;

	if (!a)
		return;
	for (i = 0; i < g->n_queued; i++) {
		if (g->queue[i].uid == a->uid)
			send_to(g, a, g->queue[i].msg);
		else
			g->queue[kept++] = g->queue[i];
	}
	g->n_queued = kept;
}

/* For the console user: now if their agent is there, else queued (the oldest goes when full). */
static void
deliver(struct gui *g, struct ipc_msg *msg)
{
	struct gui_agent *a;

	if (!g->active.known) {
		g->dropped++; /* nobody at the console to tell */
		ipc_msg_free(msg);
		return;
	}
	a = served_agent(g);
	if (a) {
		send_to(g, a, msg);
		return;
	}
	if (g->n_queued == GUI_QUEUE_MAX) {
		ipc_msg_free(g->queue[0].msg);
		memmove(&g->queue[0], &g->queue[1], sizeof(g->queue[0]) * (GUI_QUEUE_MAX - 1));
		g->n_queued--;
		g->dropped++;
	}
	g->queue[g->n_queued++] = (struct gui_queued){ .uid = g->active.uid, .msg = msg };
}

static void
update_console(struct gui *g)
{
	struct console_user now;
	struct santad *d = g->daemon;

	console_active(&now);
	if (now.known == g->active.known && now.uid == g->active.uid &&
	    strcmp(now.session, g->active.session) == 0)
		return;
	g->active = now;
	if (now.known)
		santa_log(&d->log, LOG_INFO, "console user is now uid %u (%s session %s)",
			  (unsigned)now.uid, now.source, now.session);
	else
		santa_log(&d->log, LOG_INFO, "nobody is at the console (%s)", now.source);
	flush_queue(g);
}

static int
on_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct gui *g = userdata;

	update_console(g);
	sd_event_source_set_time(s, usec + GUI_CONSOLE_POLL_USEC);
	return 0;
}

static void
on_agent_message(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	/* The agent only answers; it has nothing to ask over this endpoint. */
	if (!(ipc_msg_flags(msg) & IPC_FLAG_ONEWAY))
		ipc_conn_reply_error(conn, msg, -EOPNOTSUPP, "unknown request");
	ipc_msg_free(msg);
}

static void
on_agent_gone(struct ipc_conn *conn, int error, void *userdata)
{
	struct gui *g = userdata;
	size_t i;

	for (i = 0; i < g->n_agents; i++) {
		if (g->agents[i].conn != conn)
			continue;
		santa_log(&g->daemon->log, LOG_INFO, "santa-gui of uid %u (pid %d) went away",
			  (unsigned)g->agents[i].uid, (int)g->agents[i].pid);
		g->agents[i] = g->agents[--g->n_agents];
		ipc_conn_unref(conn);
		return;
	}
}

static size_t
agents_of(const struct gui *g, uid_t uid)
{
	size_t i, n = 0;

	for (i = 0; i < g->n_agents; i++)
		n += g->agents[i].uid == uid;
	return n;
}

/*
 * Which agent gives way to a new one that santad would serve: when its user
 * is at GUI_AGENTS_PER_UID, one of that user's, else anyone's; first one that
 * is not served now (another session's, another user's), then one of the user
 * with the most agents, then the oldest.
 */
static struct gui_agent *
eviction_victim(struct gui *g, uid_t uid)
{
	bool user_full = agents_of(g, uid) >= GUI_AGENTS_PER_UID;
	struct gui_agent *served = served_agent(g), *best = NULL;
	size_t i, best_count = 0;

	for (i = 0; i < g->n_agents; i++) {
		struct gui_agent *a = &g->agents[i];
		size_t count = agents_of(g, a->uid);

		if (user_full && a->uid != uid)
			continue;
		if (best) {
			if ((a == served) != (best == served)) {
				if (a == served)
					continue;
			} else if (count != best_count) {
				if (count < best_count)
					continue;
			} else if (a->seq > best->seq) {
				continue;
			}
		}
		best = a;
		best_count = count;
	}
	return best;
}

/*
 * Room for an agent of (pid, uid): at most GUI_AGENTS_PER_UID per user and
 * GUI_AGENTS_MAX in all. At either cap a new agent is refused, unless santad
 * would serve it (its user is at the console, and under logind it is in the
 * active session or in none): then an older agent gives way, so that no other
 * user's agents, however many, keep the person at the screen from being told.
 * Returns 0 when there is room, -EBUSY with *why when refused.
 */
static int
make_room(struct gui *g, pid_t pid, uid_t uid, const char **why)
{
	struct gui_agent *victim;
	struct ipc_conn *conn;

	if (agents_of(g, uid) < GUI_AGENTS_PER_UID && g->n_agents < GUI_AGENTS_MAX)
		return 0;
	if (!console_serves(&g->active, pid, uid)) {
		*why = g->n_agents < GUI_AGENTS_MAX ? "too many notification agents of this user"
						    : "too many notification agents";
		return -EBUSY;
	}
	victim = eviction_victim(g, uid);
	if (!victim) { /* cannot be: a full table has an agent of someone */
		*why = "too many notification agents";
		return -EBUSY;
	}
	santa_log(&g->daemon->log, LOG_NOTICE,
		  "santa-gui of uid %u (pid %d) gives way to the console user's new agent (pid %d)",
		  (unsigned)victim->uid, (int)victim->pid, (int)pid);
	g->evicted++;
	conn = ipc_conn_ref(victim->conn);
	ipc_conn_invalidate(conn); /* on_agent_gone takes it out of the table */
	ipc_conn_unref(conn);
	return 0;
}

void
santad_gui_register(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req)
{
	static const struct ipc_conn_handlers handlers = {
		.on_message = on_agent_message,
		.on_invalidated = on_agent_gone,
	};
	const struct ipc_conn_options opts = {
		.max_in_flight = 4,
		.max_outbound = GUI_OUTBOUND_MAX,
		.serial = true, /* the next notice only once the agent answered the last */
	};
	struct gui *g = d->gui;
	const struct ipc_peer *peer = ipc_conn_peer(conn);
	struct gui_agent *a;
	struct ipc_msg *reply;
	const char *why = NULL;
	bool served;
	int fd, r;

	fd = ipc_dict_take_fd(ipc_msg_body(req), "endpoint");
	if (fd < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL, "expected endpoint (an fd)");
		return;
	}
	update_console(g); /* who may take another's slot is decided on the console of now */
	r = make_room(g, peer->pid, peer->uid, &why);
	if (r < 0) {
		uint64_t held = 0;
		bool shared = false;

		close(fd);
		g->refused++;
		/* Refused agents retry, and a user may start many: the log is told now and then. */
		if (santa_ratelimit_pass(&g->refusal_log, peer->uid, santa_mono_usec(), &held, &shared))
			santa_log(&d->log, LOG_NOTICE,
				  "santa-gui of uid %u (pid %d) refused: %s (%llu more refused for %s "
				  "since the last one logged)",
				  (unsigned)peer->uid, (int)peer->pid, why, (unsigned long long)held,
				  shared ? "other uids" : "this uid");
		ipc_conn_reply_error(conn, req, r, why);
		return;
	}
	a = &g->agents[g->n_agents];
	r = ipc_conn_from_endpoint(d->event, fd, peer, &opts, &handlers, g, &a->conn);
	if (r < 0) {
		ipc_conn_reply_error(conn, req, r, "cannot use the endpoint");
		return;
	}
	a->pid = peer->pid;
	a->uid = peer->uid;
	a->seq = ++g->seq;
	g->n_agents++;
	served = served_agent(g) == a;
	santa_log(&d->log, LOG_INFO, "santa-gui of uid %u (pid %d) registered%s", (unsigned)a->uid,
		  (int)a->pid, served ? ": it is the console user's" : "");
	reply = ipc_msg_new(SANTAD_GUI_REGISTER);
	if (reply) {
		ipc_dict_put_bool(ipc_msg_body(reply), "served", served);
		ipc_dict_put_int(ipc_msg_body(reply), "console_uid",
				 g->active.known ? (int64_t)g->active.uid : -1);
	}
	ipc_conn_reply(conn, req, reply);
	flush_queue(g);
}

static const char *
or_default(const char *value, const char *fallback)
{
	return value && *value ? value : fallback;
}

void
santad_gui_block(struct santad *d, const char *path, const struct proc_info *proc,
		 const struct santa_decision *decision, const uint8_t *sha256)
{
	const struct santad_live_settings *cfg = &d->policy->cfg;
	struct santa_rule_found rule = { 0 };
	char hex[SANTA_SHA256_HEX_LEN + 1], buf[256], pwbuf[1024];
	struct passwd pw, *pwr = NULL;
	struct ipc_msg *msg;
	struct ipc_value *b;
	const char *name;

	if (!d->gui || cfg->enable_silent_mode || decision->silent ||
	    decision->verdict != SANTA_VERDICT_DENY || !sha256)
		return;
	santa_sha256_to_hex(sha256, hex);
	if (decision->from_rule)
		(void)santad_find_binary_rule(d, d->policy, hex, &rule);
	msg = ipc_msg_new(SANTAGUI_BLOCK);
	if (!msg)
		return;
	b = ipc_msg_body(msg);
	name = strrchr(path, '/');
	ipc_dict_put_string(b, "path", path);
	ipc_dict_put_string(b, "name", name ? name + 1 : path);
	ipc_dict_put_string(b, "sha256", hex);
	ipc_dict_put_string(b, "reason", santa_reason_to_string(decision->reason));
	snprintf(buf, sizeof(buf), "BLOCK_%s", santa_reason_to_string(decision->reason));
	ipc_dict_put_string(b, "decision", buf);
	ipc_dict_put_string(b, "message",
			    rule.custom_msg[0] ? rule.custom_msg
			    : decision->reason == SANTA_REASON_UNKNOWN
				    ? or_default(cfg->unknown_block_message,
						 SANTA_DEFAULT_UNKNOWN_BLOCK_MESSAGE)
				    : or_default(cfg->banned_block_message,
						 SANTA_DEFAULT_BANNED_BLOCK_MESSAGE));
	if (rule.custom_url[0])
		ipc_dict_put_string(b, "detail_url", rule.custom_url);
	else if (cfg->event_detail_url && cfg->event_detail_url[0])
		ipc_dict_put_string(b, "detail_url", cfg->event_detail_url);
	ipc_dict_put_string(b, "detail_text",
			    or_default(cfg->event_detail_text, SANTA_DEFAULT_EVENT_DETAIL_TEXT));
	ipc_dict_put_int(b, "pid", proc->pid);
	ipc_dict_put_int(b, "ppid", proc->ppid);
	santad_parent_name(proc, buf, sizeof(buf));
	ipc_dict_put_string(b, "parent_name", buf);
	ipc_dict_put_int(b, "uid", proc->uid);
	if (getpwuid_r(proc->uid, &pw, pwbuf, sizeof(pwbuf), &pwr) == 0 && pwr)
		ipc_dict_put_string(b, "username", pw.pw_name);
	if (santad_machine_id(cfg->machine_id, buf, sizeof(buf)) == 0)
		ipc_dict_put_string(b, "machine_id", buf);
	if (gethostname(buf, sizeof(buf)) == 0)
		ipc_dict_put_string(b, "hostname", buf);
	ipc_dict_put_string(b, "mode", santa_mode_to_string(cfg->client_mode));
	ipc_dict_put_int(b, "time", (int64_t)time(NULL));
	ipc_dict_put_bool(b, "bundles", santad_sync_bundles_enabled(d));
	deliver(d->gui, msg);
}

void
santad_gui_policy_changed(struct santad *d)
{
	const struct santad_live_settings *cfg = &d->policy->cfg;
	struct gui *g = d->gui;
	struct ipc_msg *msg;
	const char *text;

	if (!g || cfg->client_mode == g->announced_mode)
		return;
	g->announced_mode = cfg->client_mode;
	if (cfg->enable_silent_mode)
		return;
	text = cfg->client_mode == SANTA_MODE_LOCKDOWN
		       ? or_default(cfg->mode_notification_lockdown,
				    SANTA_DEFAULT_MODE_LOCKDOWN_MESSAGE)
		       : or_default(cfg->mode_notification_monitor, SANTA_DEFAULT_MODE_MONITOR_MESSAGE);
	msg = ipc_msg_new(SANTAGUI_MODE);
	if (!msg)
		return;
	ipc_dict_put_string(ipc_msg_body(msg), "mode", santa_mode_to_string(cfg->client_mode));
	ipc_dict_put_string(ipc_msg_body(msg), "message", text);
	deliver(g, msg);
}

void
santad_gui_status(struct santad *d, struct ipc_value *dict)
{
	struct gui *g = d->gui;
	struct gui_agent *a;

	if (!g)
		return;
	a = served_agent(g);
	ipc_dict_put_int(dict, "agents", (int64_t)g->n_agents);
	ipc_dict_put_int(dict, "console_uid", g->active.known ? (int64_t)g->active.uid : -1);
	ipc_dict_put_string(dict, "console_source", g->active.source ? g->active.source : "");
	ipc_dict_put_int(dict, "served_pid", a ? a->pid : 0);
	ipc_dict_put_int(dict, "queued", (int64_t)g->n_queued);
	ipc_dict_put_int(dict, "sent", (int64_t)g->sent);
	ipc_dict_put_int(dict, "dropped", (int64_t)g->dropped);
	ipc_dict_put_int(dict, "refused", (int64_t)g->refused);
	ipc_dict_put_int(dict, "evicted", (int64_t)g->evicted);
}

int
santad_gui_start(struct santad *d)
{
	struct gui *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->daemon = d;
	g->announced_mode = d->policy->cfg.client_mode;
	santa_ratelimit_init(&g->refusal_log, GUI_REFUSAL_LOG_USEC);
	console_active(&g->active);
	r = sd_event_add_time_relative(d->event, &g->poll, CLOCK_MONOTONIC, GUI_CONSOLE_POLL_USEC, 0,
				       on_poll, g);
	if (r < 0) {
		free(g);
		return r;
	}
	(void)sd_event_source_set_enabled(g->poll, SD_EVENT_ON);
	d->gui = g;
	return 0;
}

void
santad_gui_stop(struct santad *d)
{
	struct gui *g = d->gui;
	size_t i;

	if (!g)
		return;
	sd_event_source_disable_unref(g->poll);
	while (g->n_agents) {
		struct ipc_conn *c = g->agents[0].conn;

		ipc_conn_ref(c);
		ipc_conn_invalidate(c); /* on_agent_gone removes it */
		ipc_conn_unref(c);
	}
	for (i = 0; i < g->n_queued; i++)
		ipc_msg_free(g->queue[i].msg);
	free(g);
	d->gui = NULL;
}
