/*
 * santactl: Santa's command line. This slice has version, status and rule;
 * output follows Santa's (docs/santactl.md), adapted
 * where Linux differs. Exit codes: 0 success, 1 failure (santad unreachable,
 * refused, bad arguments), 2 a command that needs root run by another user,
 * 128 unknown command.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "santa/config.h"
#include "santa/ipc.h"
#include "santa/metrics.h"
#include "santa/path.h"
#include "santa/santad_proto.h"
#include "santa/sha256.h"
#include "santa/sync.h"
#include "santactl.h"

#define EXIT_USAGE     1
#define EXIT_NEEDS_ROOT 2
#define EXIT_UNKNOWN   128

static const char *const commands_help[][2] = {
	{ "bundleinfo", "Hashes the bundle (package or application tree) of a file." },
	{ "checkcache", "Prints the status of a file in the cache." },
	{ "fileinfo", "Prints information about a file." },
	{ "flushcache", "Flush the santad decision cache and kernel ignore marks." },
	{ "metrics", "Show Santa metric information." },
	{ "printlog", "Prints the events waiting for upload to the sync server." },
	{ "rule", "Manually add/remove/check rules." },
	{ "status", "Show Santa status information." },
	{ "sync", "Synchronizes Santa with a configured server." },
	{ "version", "Show Santa component versions." },
};

static void
print_commands(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: santactl:\n");
	for (i = 0; i < sizeof(commands_help) / sizeof(commands_help[0]); i++)
		fprintf(out, "\t%10s - %s\n", commands_help[i][0], commands_help[i][1]);
	fprintf(out, "\nSee 'santactl help <command>' to read about a specific subcommand.\n");
}

static void
ignore_diag(void *ud, int level, const char *file, unsigned int line, const char *msg)
{
	if (level <= LOG_ERR)
		fprintf(stderr, "santactl: %s:%u: %s\n", file, line, msg);
}

/* The config tells where santad listens; SANTA_CONFIG points elsewhere (tests). */
static void
load_config(struct santactl *ctl)
{
	const char *path = getenv("SANTA_CONFIG");
	int r;

	santa_config_init(&ctl->cfg, NULL);
	r = santa_config_load(&ctl->cfg, path ? path : SANTA_DEFAULT_CONFIG_PATH, ignore_diag, NULL);
	if (r == -EACCES) {
		/* Root's alone (it holds secrets): a user's santactl finds santad where it always is. */
		ctl->config_unreadable = true;
		santa_config_free(&ctl->cfg);
		santa_config_init(&ctl->cfg, NULL);
	} else if (r < 0 && r != -ENOENT) {
		fprintf(stderr, "santactl: the configuration has errors; using what could be read\n");
	}
}

int
santactl_connect(struct santactl *ctl, bool quiet)
{
	char path[4096], why[512];
	int r;

	if (!ctl->event && sd_event_new(&ctl->event) < 0)
		return -ENOMEM;
	/*
	 * Root has a socket of its own that no other user's flood of connects
	 * can fill; a busy santad (an exec storm, a flood) is then waited for as
	 * long as a request would be, not reported as not answering after 2 s.
	 */
	r = -ENOENT;
	if (geteuid() == 0 &&
	    santa_path_join(path, sizeof(path), ctl->cfg.run_directory, SANTAD_ROOT_SOCKET_NAME) == 0)
		r = ipc_conn_connect(ctl->event, path, "santad", 10 * 1000 * 1000ULL, NULL, NULL,
				     NULL, &ctl->conn, why, sizeof(why));
	if (r == -ENOENT || r == -ECONNREFUSED) {
		r = santa_path_join(path, sizeof(path), ctl->cfg.run_directory, SANTAD_SOCKET_NAME);
		if (r < 0)
			return r;
		r = ipc_conn_connect(ctl->event, path, "santad", 0, NULL, NULL, NULL, &ctl->conn,
				     why, sizeof(why));
	}
	if (r < 0 && !quiet) {
		fprintf(stderr, "An error occurred communicating with the daemon, is it running?\n");
		fprintf(stderr, "santactl: %s", why);
		if (r == -ENOENT || r == -ECONNREFUSED)
			fprintf(stderr, "; start it with 'systemctl start santad' or run santad as root");
		fprintf(stderr, "\n");
	}
	return r;
}

/* Sends a request, returns the reply (within timeout) or NULL after printing why. */
static struct ipc_msg *
call_within(struct santactl *ctl, struct ipc_msg *req, uint64_t timeout_usec)
{
	struct ipc_msg *reply = NULL;
	const char *text = NULL;
	int r;

	r = ipc_conn_call(ctl->conn, req, timeout_usec, &reply);
	if (r < 0) {
		if (reply)
			ipc_msg_error(reply, &text);
		fprintf(stderr, "santactl: santad refused: %s\n", text ? text : strerror(-r));
		ipc_msg_free(reply);
		return NULL;
	}
	return reply;
}

static struct ipc_msg *
call(struct santactl *ctl, struct ipc_msg *req)
{
	return call_within(ctl, req, 10 * 1000 * 1000ULL);
}

/* ---- version ---- */

/*
 * santad's version as the running santad reports it (SANTAD_VERSION): the
 * daemon enforcing now, not the binary on disk (a package upgrade does not
 * restart it by itself). "unknown" when it cannot be asked, and why on stderr.
 */
static void
santad_version(struct santactl *ctl, char *buf, size_t size)
{
	struct ipc_msg *reply = NULL;
	const char *v = NULL, *text = NULL;
	int r;

	snprintf(buf, size, "unknown");
	if (santactl_connect(ctl, true) < 0) {
		fprintf(stderr, "santactl: santad is not running (or refused santactl): its version is "
				"unknown\n");
		return;
	}
	r = ipc_conn_call(ctl->conn, ipc_msg_new(SANTAD_VERSION), 5 * 1000 * 1000ULL, &reply);
	if (r < 0) {
		if (reply)
			ipc_msg_error(reply, &text);
		fprintf(stderr, "santactl: santad did not give its version: %s\n",
			text ? text : strerror(-r));
	} else if (ipc_dict_get_string(ipc_msg_body_const(reply), "version", &v) == 0 && v[0]) {
		snprintf(buf, size, "%s", v);
	}
	ipc_msg_free(reply);
}

#define GUI_VERSION_USEC (2 * 1000 * 1000LL)
#define GUI_VERSION_OUTPUT 256

/*
 * The installed agent's version: what SantaGUIPath answers to --version, as
 * Santa reads the installed Santa.app's. santad cannot say: the agent of the
 * console user may be another build, or none may run. Only a file only root
 * can have written is run (santactl may be root), with no environment and its
 * output and time bounded; anything else is "unknown", and why on stderr.
 */
static void
gui_version(const struct santactl *ctl, char *buf, size_t size)
{
	static char *const gui_argv[] = { "santa-gui", "--version", NULL };
	static char *const no_env[] = { NULL };
	const char *path = ctl->cfg.santa_gui_path;
	char out[GUI_VERSION_OUTPUT];
	int fd = -1, p[2] = { -1, -1 }, status;
	size_t len = 0;
	struct stat st;
	pid_t child = -1;
	struct timespec start, now;
	ssize_t n;

	snprintf(buf, size, "unknown");
	if (!path || !path[0])
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "santactl: no santa-gui at %s (%s)\n", path, strerror(errno));
		goto out;
	}
	if (!santa_stat_is_root_trusted(&st) || !(st.st_mode & S_IXUSR)) {
		fprintf(stderr, "santactl: %s is not root's executable, writable by root alone: "
				"not run\n", path);
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		goto out;
	child = fork();
	if (child < 0)
		goto out;
	if (child == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		/* Open across the exec: a script's interpreter reads the file as /dev/fd/N. */
		if (fcntl(fd, F_SETFD, 0) < 0)
			_exit(127);
		fexecve(fd, gui_argv, no_env);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	/* Read until end of file, a full buffer or the deadline: an agent that hangs costs 2 s. */
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		long long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = GUI_VERSION_USEC - ((now.tv_sec - start.tv_sec) * 1000000LL +
					   (now.tv_nsec - start.tv_nsec) / 1000);
		if (left <= 0 || len == sizeof(out) - 1)
			break;
		if (poll(&pfd, 1, (int)(left / 1000) + 1) < 0 && errno != EINTR)
			break;
		n = read(p[0], out + len, sizeof(out) - 1 - len);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	out[len] = '\0';
	/* "santa-gui VERSION\n", as santa-gui --version prints it. */
	if (strncmp(out, "santa-gui ", 10) == 0 && out[10] && !isspace((unsigned char)out[10])) {
		size_t vlen = strcspn(out + 10, " \t\r\n");

		/* A longer "version" is cut: it is only shown. */
		if (vlen >= size)
			vlen = size - 1;
		memcpy(buf, out + 10, vlen);
		buf[vlen] = '\0';
	} else {
		fprintf(stderr, "santactl: %s --version did not say its version\n", path);
	}
out:
	if (child > 0) {
		/* Ours: it may still run if it hung or wrote too much. */
		kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (fd >= 0)
		close(fd);
}

static int
cmd_version(struct santactl *ctl, int argc, char **argv)
{
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	char daemon[128], gui[128];

	santad_version(ctl, daemon, sizeof(daemon));
	gui_version(ctl, gui, sizeof(gui));
	if (json) {
		json_t *root = json_pack("{s:s, s:s, s:s}", "santad", daemon, "santactl", SANTA_VERSION,
					 "SantaGUI", gui);

		if (!root)
			return 1;
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(root);
	} else {
		printf("%-15s | %s\n%-15s | %s\n%-15s | %s\n", "santad", daemon, "santactl",
		       SANTA_VERSION, "SantaGUI", gui);
	}
	return 0;
}

/* ---- status ---- */

static int64_t
get_int(const struct ipc_value *dict, const char *key)
{
	int64_t v = 0;

	ipc_dict_get_int(dict, key, &v);
	return v;
}

static const char *
get_str(const struct ipc_value *dict, const char *key)
{
	const char *s = "";

	ipc_dict_get_string(dict, key, &s);
	return s;
}

static bool
get_bool(const struct ipc_value *dict, const char *key)
{
	bool b = false;

	ipc_dict_get_bool(dict, key, &b);
	return b;
}

static void
row(const char *label, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
row(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %-25s | ", label);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Santa prints dates as "2024/06/01 12:00:00 +0000"; "Never" before the first. */
static const char *
format_date(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !localtime_r(&tt, &tm) || strftime(buf, size, "%Y/%m/%d %H:%M:%S %z", &tm) == 0)
		return "Never";
	return buf;
}

/* ISO 8601 in UTC for --json, or null for never. */
static json_t *
json_date(int64_t t)
{
	time_t tt = (time_t)t;
	char buf[64];
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		return json_string("Never");
	return json_string(buf);
}

static int
cmd_status(struct santactl *ctl, int argc, char **argv)
{
	const struct ipc_value *b, *rules = NULL, *cache = NULL, *dec = NULL, *watched = NULL;
	const struct ipc_value *sync = NULL, *helpers = NULL, *metrics = NULL, *gui = NULL, *loader = NULL;
	const struct ipc_value *pkg = NULL, *wd = NULL;
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	long long root_cached, non_root_cached;
	struct ipc_msg *reply;
	size_t i;

	if (santactl_connect(ctl, false) < 0)
		return 1;
	reply = call(ctl, ipc_msg_new(SANTAD_STATUS));
	if (!reply)
		return 1;
	b = ipc_msg_body_const(reply);
	ipc_dict_get_dict(b, "rules", &rules);
	ipc_dict_get_dict(b, "cache", &cache);
	ipc_dict_get_dict(b, "decisions", &dec);
	ipc_dict_get_array(b, "watched", &watched);
	ipc_dict_get_dict(b, "sync", &sync);
	ipc_dict_get_dict(b, "helpers", &helpers);
	ipc_dict_get_dict(b, "metrics", &metrics);
	ipc_dict_get_dict(b, "gui", &gui);
	ipc_dict_get_dict(b, "loader_check", &loader);
	ipc_dict_get_dict(b, "package_trust", &pkg);
	ipc_dict_get_dict(b, "watchdog", &wd);
	/* Santa's root cache: decisions on files of the filesystem at santad's /. */
	root_cached = (long long)get_int(cache, "root_entries");
	non_root_cached = (long long)get_int(cache, "entries") - root_cached;
	if (json) {
		json_t *root = json_object(), *w = json_array();

		for (i = 0; i < ipc_container_len(watched); i++)
			json_array_append_new(w, json_string(ipc_value_string(ipc_array_at(watched, i))));
		json_object_set_new(root, "daemon",
			json_pack("{s:b, s:s, s:b, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o}",
				  "driver_connected", 1, "mode", get_str(b, "mode"),
				  "transitive_rules", get_bool(b, "transitive_rules"),
				  "log_type", get_str(b, "log_type"),
				  "file_logging", get_bool(b, "file_logging"),
				  "decisions_allowed", (json_int_t)get_int(dec, "allowed"),
				  "decisions_denied", (json_int_t)get_int(dec, "denied"),
				  "decisions_timed_out", (json_int_t)get_int(dec, "timeouts"),
				  "decisions_refused_busy", (json_int_t)get_int(dec, "queue_full"),
				  "events_log_dropped", (json_int_t)get_int(dec, "log_dropped"),
				  "watched_filesystems", w));
		json_object_set_new(root, "database",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				  "binary_rules", (json_int_t)get_int(rules, "binary"),
				  "certificate_rules", (json_int_t)get_int(rules, "certificate"),
				  "teamid_rules", (json_int_t)get_int(rules, "teamid"),
				  "signingid_rules", (json_int_t)get_int(rules, "signingid"),
				  "cdhash_rules", (json_int_t)get_int(rules, "cdhash"),
				  "compiler_rules", (json_int_t)get_int(rules, "compiler"),
				  "transitive_rules", (json_int_t)get_int(rules, "transitive"),
				  "events_pending_upload", (json_int_t)get_int(b, "events_pending_upload")));
		json_object_set_new(json_object_get(root, "database"), "events_dropped",
				    json_integer(get_int(b, "events_dropped")));
		json_object_set_new(json_object_get(root, "database"), "rules_db_error",
				    json_string(get_str(b, "rules_db_error")));
		json_object_update_new(json_object_get(root, "daemon"),
			json_pack("{s:I, s:I, s:f, s:f, s:I, s:I}",
				  "watchdog_cpu_events", (json_int_t)get_int(wd, "cpu_events"),
				  "watchdog_ram_events", (json_int_t)get_int(wd, "ram_events"),
				  "watchdog_cpu_peak", (double)get_int(wd, "cpu_peak_centipercent") / 100.0,
				  "watchdog_ram_peak", (double)get_int(wd, "ram_peak_kib") / 1024.0,
				  "watchdog_interval_sec", (json_int_t)get_int(wd, "interval_sec"),
				  "systemd_watchdog_usec", (json_int_t)get_int(wd, "systemd_usec")));
		json_object_set_new(json_object_get(root, "daemon"), "log_lines_lost",
				    json_integer(get_int(b, "log_lines_lost")));
		json_object_set_new(json_object_get(root, "daemon"), "anonymous_exec_enforced",
				    json_boolean(get_bool(b, "anonymous_exec_enforced")));
		json_object_set_new(json_object_get(root, "daemon"), "exec_info",
				    json_string(get_str(b, "exec_info")));
		json_object_set_new(json_object_get(root, "daemon"), "loader_check",
			json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
				  "enabled", get_bool(loader, "enabled"),
				  "loader_files", (json_int_t)get_int(loader, "loader_files"),
				  "open_events", (json_int_t)get_int(loader, "open_events"),
				  "programs_decided", (json_int_t)get_int(loader, "programs_decided"),
				  "ignore_marks", (json_int_t)get_int(loader, "ignore_marks"),
				  "leased_files", (json_int_t)get_int(loader, "leased_files"),
				  "lease_breaks", (json_int_t)get_int(loader, "lease_breaks")));
		json_object_set_new(json_object_get(root, "database"), "events_store_failures",
				    json_integer(get_int(b, "events_store_failures")));
		json_object_set_new(root, "static_rules",
			json_pack("{s:I}", "rule_count", (json_int_t)get_int(b, "static_rules")));
		json_object_set_new(root, "package_trust",
			json_pack("{s:b, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				  "enabled", get_bool(pkg, "enabled"), "loaded", get_bool(pkg, "loaded"),
				  "error", get_str(pkg, "error"),
				  "packages", (json_int_t)get_int(pkg, "packages"),
				  "programs", (json_int_t)get_int(pkg, "programs"),
				  "packages_with_archive", (json_int_t)get_int(pkg, "packages_with_archive"),
				  "archives", (json_int_t)get_int(pkg, "archives"),
				  "archives_unsigned", (json_int_t)get_int(pkg, "archives_unsigned"),
				  "memory_bytes", (json_int_t)get_int(pkg, "memory_bytes"),
				  "load_ms", (json_int_t)get_int(pkg, "load_ms"),
				  "generation", (json_int_t)get_int(pkg, "generation"),
				  "verified", (json_int_t)get_int(pkg, "verified"),
				  "unverified", (json_int_t)get_int(pkg, "unverified")));
		json_object_set_new(json_object_get(root, "package_trust"), "from_cache",
				    json_boolean(get_bool(pkg, "from_cache")));
		json_object_set_new(json_object_get(root, "package_trust"), "prescan",
			json_pack("{s:b, s:I, s:I, s:I}", "done", get_bool(pkg, "prescan_done"),
				  "verified", (json_int_t)get_int(pkg, "prescan_verified"),
				  "refused", (json_int_t)get_int(pkg, "prescan_refused"),
				  "ms", (json_int_t)get_int(pkg, "prescan_ms")));
		json_object_set_new(json_object_get(root, "package_trust"), "critical_allowed",
				    json_integer(get_int(pkg, "critical_allowed")));
		json_object_set_new(root, "cache",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				  "root_cache_count", (json_int_t)root_cached,
				  "non_root_cache_count", (json_int_t)non_root_cached,
				  "entries", (json_int_t)get_int(cache, "entries"),
				  "capacity", (json_int_t)get_int(cache, "capacity"),
				  "hits", (json_int_t)get_int(cache, "hits"),
				  "misses", (json_int_t)get_int(cache, "misses"),
				  "kernel_ignore_marks", (json_int_t)get_int(cache, "kernel_ignore_marks")));
		json_object_set_new(root, "sync",
			json_pack("{s:s, s:b, s:b, s:o, s:o, s:s}",
				  "server", get_str(b, "sync_server")[0] ? get_str(b, "sync_server") : "null",
				  "insecure", strncasecmp(get_str(b, "sync_server"), "http://", 7) == 0,
				  "clean_required", get_bool(sync, "clean_required"),
				  "last_successful_full", json_date(get_int(sync, "last_successful_full")),
				  "last_successful_rule", json_date(get_int(sync, "last_successful_rule")),
				  "last_error", get_str(sync, "last_error")));
		{
			json_t *hj = json_object();

			for (i = 0; i < ipc_container_len(helpers); i++) {
				const struct ipc_value *hv;
				const char *name = ipc_dict_key_at(helpers, i, &hv);

				json_object_set_new(hj, name,
					json_pack("{s:s, s:I, s:I}", "state", get_str(hv, "state"),
						  "pid", (json_int_t)get_int(hv, "pid"),
						  "restarts", (json_int_t)get_int(hv, "restarts")));
			}
			json_object_set_new(root, "helpers", hj);
		}
		json_object_set_new(root, "gui",
			json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
				  "agents", (json_int_t)get_int(gui, "agents"),
				  "console_uid", (json_int_t)get_int(gui, "console_uid"),
				  "console_source", get_str(gui, "console_source"),
				  "served_pid", (json_int_t)get_int(gui, "served_pid"),
				  "queued", (json_int_t)get_int(gui, "queued"),
				  "sent", (json_int_t)get_int(gui, "sent"),
				  "dropped", (json_int_t)get_int(gui, "dropped"),
				  "refused", (json_int_t)get_int(gui, "refused"),
				  "evicted", (json_int_t)get_int(gui, "evicted")));
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(root);
	} else {
		printf(">>> Daemon Info\n");
		row("Mode", "%s", get_str(b, "mode"));
		if (get_bool(b, "transitive_rules"))
			row("Transitive Rules", "Yes");
		row("Log Type", "%s", get_str(b, "log_type"));
		row("File Logging", "%s", get_bool(b, "file_logging") ? "Yes" : "No");
		row("Decisions (allow/deny)", "%lld / %lld", (long long)get_int(dec, "allowed"),
		    (long long)get_int(dec, "denied"));
		row("Decision Timeouts", "%lld (%lld answered at once: queue full)",
		    (long long)get_int(dec, "timeouts"), (long long)get_int(dec, "queue_full"));
		if (get_bool(loader, "enabled"))
			row("Loader Check", "Yes (%lld programs run through ld.so decided)",
			    (long long)get_int(loader, "programs_decided"));
		else
			row("Loader Check", "No (`ld.so PROGRAM` is not decided)");
		row("Anonymous Executables", "%s", get_bool(b, "anonymous_exec_enforced")
			? "Yes (BPF LSM: denied in Lockdown, logged in Monitor)"
			: "not enforced (memfd: no BPF LSM backstop on this machine)");
		row("Exec Info", "%s", strcmp(get_str(b, "exec_info"), "bpf") == 0
			? "BPF (parent, user and args kept at each exec)"
			: "/proc (no args; the user of a process gone before santad looked is unknown)");
		/* Santa's rows: samples over 20 % CPU / 250 MB resident, and the peaks. */
		row("Watchdog CPU Events", "%lld  (Peak: %.2f%%)", (long long)get_int(wd, "cpu_events"),
		    (double)get_int(wd, "cpu_peak_centipercent") / 100.0);
		row("Watchdog RAM Events", "%lld  (Peak: %.2fMB)", (long long)get_int(wd, "ram_events"),
		    (double)get_int(wd, "ram_peak_kib") / 1024.0);
		if (get_int(wd, "systemd_usec") > 0)
			row("systemd Watchdog", "every %.1f s", (double)get_int(wd, "systemd_usec") / 1e6);
		else
			row("systemd Watchdog", "off");
		if (get_int(b, "log_lines_lost") > 0)
			row("Log Lines Lost", "%lld (disk full?)", (long long)get_int(b, "log_lines_lost"));
		for (i = 0; i < ipc_container_len(watched); i++)
			row(i == 0 ? "Watched Filesystems" : "", "%s",
			    ipc_value_string(ipc_array_at(watched, i)));
		printf(">>> Cache Info\n");
		row("Root cache count", "%lld", root_cached);
		row("Non-root cache count", "%lld", non_root_cached);
		row("Cache entries", "%lld (of %lld)", (long long)get_int(cache, "entries"),
		    (long long)get_int(cache, "capacity"));
		row("Cache hits / misses", "%lld / %lld", (long long)get_int(cache, "hits"),
		    (long long)get_int(cache, "misses"));
		row("Kernel ignore marks", "%lld", (long long)get_int(cache, "kernel_ignore_marks"));
		printf(">>> Database Info\n");
		if (get_str(b, "rules_db_error")[0])
			row("Rules Database", "UNUSABLE: %s", get_str(b, "rules_db_error"));
		row("Binary Rules", "%lld", (long long)get_int(rules, "binary"));
		row("Certificate Rules", "%lld", (long long)get_int(rules, "certificate"));
		row("TeamID Rules", "%lld", (long long)get_int(rules, "teamid"));
		row("SigningID Rules", "%lld", (long long)get_int(rules, "signingid"));
		row("CDHash Rules", "%lld (nothing on Linux to match)", (long long)get_int(rules, "cdhash"));
		row("Compiler Rules", "%lld", (long long)get_int(rules, "compiler"));
		row("Transitive Rules", "%lld", (long long)get_int(rules, "transitive"));
		row("Events Pending Upload", "%lld", (long long)get_int(b, "events_pending_upload"));
		if (get_int(b, "events_dropped") > 0)
			row("Events Dropped (cap)", "%lld", (long long)get_int(b, "events_dropped"));
		printf(">>> Package Trust\n");
		if (!get_bool(pkg, "enabled"))
			row("Enabled", "No (SigningID, Certificate and TeamID rules match nothing)");
		else if (!get_bool(pkg, "loaded"))
			row("Enabled", "Yes, not loaded: %s", get_str(pkg, "error")[0]
				? get_str(pkg, "error") : "loading");
		else {
			row("Enabled", "Yes");
			if (get_str(pkg, "error")[0])
				row("Last Load Error", "%s (the previous view stays)", get_str(pkg, "error"));
			if (get_bool(pkg, "no_dpkg"))
				row("dpkg Database", "none (no packages to trust)");
			row("Packages", "%lld (%lld in a signed archive)",
			    (long long)get_int(pkg, "packages"),
			    (long long)get_int(pkg, "packages_with_archive"));
			row("Packaged Programs", "%lld", (long long)get_int(pkg, "programs"));
			row("Signed Archives", "%lld", (long long)get_int(pkg, "archives"));
			if (get_int(pkg, "archives_unsigned") > 0)
				row("Archives Not Trusted", "%lld (no good signature by a trusted key)",
				    (long long)get_int(pkg, "archives_unsigned"));
			row("Memory", "%.1f MB (loaded in %lld ms%s)",
			    (double)get_int(pkg, "memory_bytes") / 1e6, (long long)get_int(pkg, "load_ms"),
			    get_bool(pkg, "from_cache") ? ", dpkg's part from the cache" : "");
			if (get_int(pkg, "cache_error"))
				row("Cache", "not written: %s", strerror((int)-get_int(pkg, "cache_error")));
			if (get_bool(pkg, "prescan_done"))
				row("Programs Verified Ahead", "%lld (%lld refused; %lld ms)",
				    (long long)get_int(pkg, "prescan_verified"),
				    (long long)get_int(pkg, "prescan_refused"),
				    (long long)get_int(pkg, "prescan_ms"));
			else
				row("Programs Verified Ahead", "in progress");
			row("Files Verified / Refused", "%lld / %lld", (long long)get_int(pkg, "verified"),
			    (long long)get_int(pkg, "unverified"));
		}
		if (get_int(b, "static_rules") > 0) {
			printf(">>> Static Rules\n");
			row("Rules", "%lld", (long long)get_int(b, "static_rules"));
		}
		if (get_str(b, "sync_server")[0]) {
			char date[64];

			printf(">>> Sync Info\n");
			/* Plain http: anyone on the path may read the rules or answer the sync. */
			row("Sync Server", "%s%s", get_str(b, "sync_server"),
			    strncasecmp(get_str(b, "sync_server"), "http://", 7) == 0
				    ? " (insecure: plain http, not encrypted)"
				    : "");
			row("Clean Sync Required", "%s", get_bool(sync, "clean_required") ? "Yes" : "No");
			row("Last Successful Full Sync", "%s",
			    format_date(get_int(sync, "last_successful_full"), date, sizeof(date)));
			row("Last Successful Rule Sync", "%s",
			    format_date(get_int(sync, "last_successful_rule"), date, sizeof(date)));
			if (get_str(sync, "last_error")[0])
				row("Last Sync Error", "%s", get_str(sync, "last_error"));
		}
		if (get_bool(metrics, "enabled")) {
			printf(">>> Metrics Info\n");
			row("Metrics Server", "%s", get_str(metrics, "server")[0] ? get_str(metrics, "server")
										 : "(none)");
			row("Export Interval (seconds)", "%lld", (long long)get_int(metrics, "interval"));
			if (get_int(metrics, "prometheus_port") > 0)
				row("Prometheus Endpoint", "http://127.0.0.1:%lld/metrics",
				    (long long)get_int(metrics, "prometheus_port"));
		}
		printf(">>> Notifications\n");
		if (get_int(gui, "console_uid") >= 0)
			row("Console User", "uid %lld (%s)", (long long)get_int(gui, "console_uid"),
			    get_str(gui, "console_source"));
		else
			row("Console User", "nobody (%s)", get_str(gui, "console_source"));
		row("Agents (santa-gui)", "%lld", (long long)get_int(gui, "agents"));
		if (get_int(gui, "served_pid") > 0)
			row("Served Agent", "pid %lld", (long long)get_int(gui, "served_pid"));
		else
			row("Served Agent", "none");
		row("Notices Sent / Queued", "%lld / %lld", (long long)get_int(gui, "sent"),
		    (long long)get_int(gui, "queued"));
		printf(">>> Helpers\n");
		for (i = 0; i < ipc_container_len(helpers); i++) {
			const struct ipc_value *hv;
			const char *name = ipc_dict_key_at(helpers, i, &hv);

			if (get_int(hv, "pid") > 0)
				row(name, "%s (pid %lld, %lld restarts)", get_str(hv, "state"),
				    (long long)get_int(hv, "pid"), (long long)get_int(hv, "restarts"));
			else
				row(name, "%s", get_str(hv, "state"));
		}
	}
	ipc_msg_free(reply);
	return 0;
}

/* ---- rule ---- */

static const char *
type_label(enum santa_rule_type t)
{
	switch (t) {
	case SANTA_RULE_TYPE_BINARY:
		return "SHA-256";
	case SANTA_RULE_TYPE_CERTIFICATE:
		return "Certificate SHA-256";
	case SANTA_RULE_TYPE_TEAMID:
		return "Team ID";
	case SANTA_RULE_TYPE_SIGNINGID:
		return "Signing ID";
	case SANTA_RULE_TYPE_CDHASH:
		return "CDHash";
	default:
		return "?";
	}
}

static const char *
check_type_name(enum santa_rule_type t)
{
	static const char *const names[] = { "?", "Binary", "Certificate", "TeamID", "SigningID",
					     "CDHash" };

	return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void
rule_usage(FILE *out)
{
	fprintf(out,
		"Usage: santactl rule [options]\n"
		"  One of:\n"
		"    --allow: add to allow\n"
		"    --block: add to block\n"
		"    --silent-block: add to silent block\n"
		"    --compiler: allow and mark as a compiler\n"
		"    --remove: remove existing rule\n"
		"    --check: check for an existing rule\n"
		"  One of:\n"
		"    --identifier {id}: identifier (SHA-256 for binary rules)\n"
		"    --sha256 {sha256}: deprecated spelling of --identifier\n"
		"    --path {path}: use the SHA-256 of the file at path, or with --signingid,\n"
		"        --teamid or --certificate the identifier of the package that installed it\n"
		"  Optionally:\n"
		"    --certificate, --teamid, --signingid, --cdhash: rule type (default binary;\n"
		"        signing types match packaged programs: docs/package-trust.md; cdhash\n"
		"        rules are stored and synced but have nothing on Linux to match)\n"
		"    --message {message}: custom message shown when blocked\n"
		"    --custom-url {url}: custom URL for the block notification\n"
		"  Or, alone:\n"
		"    --import {file}: add every rule of a JSON rule file, all or nothing\n"
		"        (--clean: replace every rule first; --clean-all: the same)\n"
		"    --export {file}: write every rule to a JSON rule file\n"
		"  The file: {\"rules\": [{\"identifier\", \"policy\", \"rule_type\",\n"
		"             \"custom_msg\", \"custom_url\"}, ...]}, as the sync protocol spells them.\n");
}

#define RULE_FILE_MAX (256u * 1024 * 1024)

static int
rule_import(struct santactl *ctl, const char *file, const char *sync_type)
{
	struct sync_rule_page page = { 0 };
	struct ipc_msg *req, *reply;
	char why[512], *buf = NULL;
	size_t len = 0, i;
	int fd = -1, r = 1;
	FILE *f, *out = NULL;

	f = fopen(file, "re");
	if (!f) {
		fprintf(stderr, "santactl rule: cannot read %s: %s\n", file, strerror(errno));
		return 1;
	}
	buf = malloc(RULE_FILE_MAX + 1);
	if (buf)
		len = fread(buf, 1, RULE_FILE_MAX + 1, f);
	fclose(f);
	if (!buf || len > RULE_FILE_MAX) {
		fprintf(stderr, "santactl rule: %s is larger than %u bytes\n", file, RULE_FILE_MAX);
		goto out;
	}
	if (sync_parse_ruledownload(buf, len, &page, why, sizeof(why)) < 0) {
		fprintf(stderr, "Invalid rule file %s: %s\n", file, why);
		goto out;
	}
	if (page.skipped) {
		fprintf(stderr, "Invalid rule: %zu of the %zu rules in %s lack a valid identifier, "
				"policy or rule_type; nothing was imported\n",
			page.skipped, page.received, file);
		goto out;
	}
	if (page.n == 0) {
		fprintf(stderr, "No rules to import in %s.\n", file);
		goto out;
	}
	fd = memfd_create("santactl-import", MFD_CLOEXEC);
	out = fd >= 0 ? fdopen(dup(fd), "w") : NULL;
	for (i = 0; out && i < page.n; i++) {
		char *line = sync_rule_to_line(&page.rules[i]);

		if (!line || fputs(line, out) == EOF) {
			free(line);
			break;
		}
		free(line);
	}
	{
		bool written = out && i == page.n;

		if (out && fclose(out) != 0)
			written = false;
		out = NULL;
		if (!written) {
			fprintf(stderr, "santactl rule: cannot prepare the import\n");
			goto out;
		}
	}
	if (santactl_connect(ctl, false) < 0)
		goto out;
	req = ipc_msg_new(SANTAD_RULE_IMPORT);
	if (!req || ipc_dict_put_fd(ipc_msg_body(req), "rules", fd) < 0 ||
	    ipc_dict_put_int(ipc_msg_body(req), "count", (int64_t)page.n) < 0 ||
	    ipc_dict_put_string(ipc_msg_body(req), "sync_type", sync_type) < 0) {
		fd = -1;
		ipc_msg_free(req);
		goto out;
	}
	fd = -1;
	reply = call(ctl, req);
	if (!reply) {
		fprintf(stderr, "Failed to modify rules.\n");
		goto out;
	}
	ipc_msg_free(reply);
	printf("Added %zu rules from %s.\n", page.n, file);
	r = 0;
out:
	if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
	sync_rule_page_free(&page);
	free(buf);
	return r;
}

static int
rule_export(struct santactl *ctl, const char *file)
{
	struct ipc_msg *reply;
	int64_t count = 0;
	char buf[65536];
	int fd, out, r = 1;
	ssize_t n;

	if (santactl_connect(ctl, false) < 0)
		return 1;
	/* santad writes a million rules in seconds, on a thread of its own: wait for it. */
	reply = call_within(ctl, ipc_msg_new(SANTAD_RULE_EXPORT), 120 * 1000 * 1000ULL);
	if (!reply)
		return 1;
	ipc_dict_get_int(ipc_msg_body_const(reply), "count", &count);
	fd = ipc_dict_take_fd(ipc_msg_body(reply), "rules");
	ipc_msg_free(reply);
	if (fd < 0) {
		fprintf(stderr, "santactl rule: santad sent no rule file\n");
		return 1;
	}
	if (count == 0) {
		fprintf(stderr, "No rules to export.\n");
		close(fd);
		return 1;
	}
	out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "santactl rule: cannot write %s: %s\n", file, strerror(errno));
		close(fd);
		return 1;
	}
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	}
	if (n == 0 && close(out) == 0) {
		printf("Exported %lld rules to %s.\n", (long long)count, file);
		r = 0;
	} else {
		fprintf(stderr, "santactl rule: cannot write %s: %s\n", file, strerror(errno));
	}
	close(fd);
	return r;
}

/*
 * --path with --signingid/--teamid/--certificate: the identifier of the
 * package that installed the file, as Santa reads it from the file's
 * signature (the first, best archive's; santactl fileinfo lists them all).
 */
static int
identifier_from_package(struct santactl *ctl, const char *path, enum santa_rule_type type,
			char *identifier, size_t size)
{
	struct santa_pkgtrust *trust = NULL;
	struct santa_pkg_identity *id = NULL;
	enum santa_pkg_verdict v = SANTA_PKG_UNREADABLE;
	const char *found = NULL;
	struct stat st;
	int fd = -1, r = EXIT_USAGE;

	if (type == SANTA_RULE_TYPE_CDHASH) {
		fprintf(stderr, "santactl rule: Linux files have no CDHash to read from %s\n", path);
		return EXIT_USAGE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "santactl rule: cannot open %s: %s\n", path, strerror(errno));
		goto out;
	}
	trust = santactl_load_trust(ctl);
	id = malloc(sizeof(*id));
	if (!trust || !id)
		goto out;
	v = santactl_identify_fd(trust, fd, &st, id);
	if (v != SANTA_PKG_VERIFIED) {
		fprintf(stderr, "santactl rule: %s has no package identity: %s\n", path,
			santa_pkg_verdict_to_string(v));
		goto out;
	}
	if (type == SANTA_RULE_TYPE_SIGNINGID && id->n_signing_ids)
		found = id->signing_ids[0];
	else if (type == SANTA_RULE_TYPE_CERTIFICATE && id->n_certificates)
		found = id->certificates[0];
	else if (type == SANTA_RULE_TYPE_TEAMID && id->n_team_ids)
		found = id->team_ids[0];
	if (!found) {
		fprintf(stderr, "santactl rule: %s is from package %s %s, which no archive signed "
				"by a trusted key lists\n", path, id->package, id->version);
		goto out;
	}
	snprintf(identifier, size, "%s", found);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(id);
	santa_pkgtrust_free(trust);
	return r;
}

/*
 * Santa's santactl takes flags in any case (--ALLOW, --TeamID): long
 * options are lower-cased in place before getopt sees them, up to an '=',
 * and never the value that follows an option taking one.
 */
static void
flags_lower_case(int argc, char **argv, const struct option *opts)
{
	bool value_next = false;
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i], *p;
		const struct option *o;
		size_t len;

		if (value_next) {
			value_next = false;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			continue;
		for (p = a + 2; *p && *p != '='; p++)
			*p = (char)tolower((unsigned char)*p);
		len = (size_t)(p - (a + 2));
		for (o = opts; o->name; o++)
			if (strlen(o->name) == len && strncmp(o->name, a + 2, len) == 0)
				value_next = o->has_arg == required_argument && *p != '=';
	}
}

static int
cmd_rule(struct santactl *ctl, int argc, char **argv)
{
	enum { OPT_ALLOW = 256, OPT_BLOCK, OPT_SILENT, OPT_COMPILER, OPT_REMOVE, OPT_CHECK,
	       OPT_ID, OPT_PATH, OPT_MSG, OPT_URL, OPT_CERT, OPT_TEAM, OPT_SIGN, OPT_CDHASH,
	       OPT_IMPORT, OPT_EXPORT, OPT_CLEAN, OPT_CLEAN_ALL };
	static const struct option opts[] = {
		{ "allow", no_argument, NULL, OPT_ALLOW },
		{ "whitelist", no_argument, NULL, OPT_ALLOW },
		{ "block", no_argument, NULL, OPT_BLOCK },
		{ "blacklist", no_argument, NULL, OPT_BLOCK },
		{ "silent-block", no_argument, NULL, OPT_SILENT },
		{ "silent-blacklist", no_argument, NULL, OPT_SILENT },
		{ "compiler", no_argument, NULL, OPT_COMPILER },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "identifier", required_argument, NULL, OPT_ID },
		{ "sha256", required_argument, NULL, OPT_ID },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "message", required_argument, NULL, OPT_MSG },
		{ "custom-url", required_argument, NULL, OPT_URL },
		{ "certificate", no_argument, NULL, OPT_CERT },
		{ "teamid", no_argument, NULL, OPT_TEAM },
		{ "signingid", no_argument, NULL, OPT_SIGN },
		{ "cdhash", no_argument, NULL, OPT_CDHASH },
		{ "import", required_argument, NULL, OPT_IMPORT },
		{ "export", required_argument, NULL, OPT_EXPORT },
		{ "clean", no_argument, NULL, OPT_CLEAN },
		{ "clean-all", no_argument, NULL, OPT_CLEAN_ALL },
		{ NULL, 0, NULL, 0 },
	};
	enum santa_rule_type type = SANTA_RULE_TYPE_BINARY;
	enum santa_policy policy = SANTA_POLICY_UNKNOWN;
	const char *message = NULL, *url = NULL, *path = NULL, *import = NULL, *export = NULL;
	const char *clean = "NORMAL";
	int others = 0;
	char identifier[SANTA_SHA256_HEX_LEN + 200] = "";
	uint8_t digest[SANTA_SHA256_LEN];
	bool check = false;
	struct ipc_msg *req, *reply;
	struct ipc_value *rule;
	int opt, r;

	flags_lower_case(argc, argv, opts);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_ALLOW: policy = SANTA_POLICY_ALLOWLIST; break;
		case OPT_BLOCK: policy = SANTA_POLICY_BLOCKLIST; break;
		case OPT_SILENT: policy = SANTA_POLICY_SILENT_BLOCKLIST; break;
		case OPT_COMPILER: policy = SANTA_POLICY_ALLOWLIST_COMPILER; break;
		case OPT_REMOVE: policy = SANTA_POLICY_REMOVE; break;
		case OPT_CHECK: check = true; break;
		case OPT_ID: snprintf(identifier, sizeof(identifier), "%s", optarg); break;
		case OPT_PATH: path = optarg; break;
		case OPT_MSG: message = optarg; break;
		case OPT_URL: url = optarg; break;
		case OPT_CERT: type = SANTA_RULE_TYPE_CERTIFICATE; break;
		case OPT_TEAM: type = SANTA_RULE_TYPE_TEAMID; break;
		case OPT_SIGN: type = SANTA_RULE_TYPE_SIGNINGID; break;
		case OPT_CDHASH: type = SANTA_RULE_TYPE_CDHASH; break;
		case OPT_IMPORT: import = optarg; break;
		case OPT_EXPORT: export = optarg; break;
		case OPT_CLEAN: clean = "CLEAN"; break;
		case OPT_CLEAN_ALL: clean = "CLEAN_ALL"; break;
		default:
			fprintf(stderr, "\n");
			rule_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "santactl rule: unexpected argument '%s'\n\n", argv[optind]);
		rule_usage(stderr);
		return EXIT_USAGE;
	}
	others = (policy != SANTA_POLICY_UNKNOWN) + check + (identifier[0] != '\0') + (path != NULL) +
		 (message != NULL) + (url != NULL) + (type != SANTA_RULE_TYPE_BINARY);
	if ((import && export) || ((import || export) && others) ||
	    (strcmp(clean, "NORMAL") != 0 && !import)) {
		fprintf(stderr, "--import and --export are used alone (--clean and --clean-all only "
				"with --import)\n\n");
		rule_usage(stderr);
		return EXIT_USAGE;
	}
	if (export)
		return rule_export(ctl, export);
	if (import) {
		if (geteuid() != 0) {
			fprintf(stderr, "The command 'rule' requires root privileges.\n");
			return EXIT_NEEDS_ROOT;
		}
		if (ctl->cfg.sync_base_url || ctl->cfg.n_static_rules) {
			printf("(SyncBaseURL/StaticRules is set, rules are managed centrally.)");
			fflush(stdout);
			return 1;
		}
		return rule_import(ctl, import, clean);
	}
	if (path && type != SANTA_RULE_TYPE_BINARY) {
		r = identifier_from_package(ctl, path, type, identifier, sizeof(identifier));
		if (r != 0)
			return r;
	} else if (path) {
		r = santa_sha256_path(path, 1, digest);
		if (r < 0) {
			fprintf(stderr, "santactl rule: cannot hash %s: %s\n", path, strerror(-r));
			return EXIT_USAGE;
		}
		santa_sha256_to_hex(digest, identifier);
	}
	if (!check && policy == SANTA_POLICY_UNKNOWN) {
		fprintf(stderr, "No state specified\n\n");
		rule_usage(stderr);
		return EXIT_USAGE;
	}
	if (!identifier[0]) {
		fprintf(stderr, "A valid SHA-256, CDHash, Signing ID, team ID, or path to file must be "
				"specified\n\n");
		rule_usage(stderr);
		return EXIT_USAGE;
	}
	if (santa_rule_identifier_normalize(type, identifier) < 0) {
		if (type == SANTA_RULE_TYPE_BINARY || type == SANTA_RULE_TYPE_CERTIFICATE)
			fprintf(stderr, "BINARY or CERTIFICATE rules require a valid SHA-256\n");
		else
			fprintf(stderr, "santactl rule: '%s' is not a valid %s\n", identifier,
				type_label(type));
		return EXIT_USAGE;
	}
	if (!check && geteuid() != 0) {
		fprintf(stderr, "The command 'rule' requires root privileges.\n");
		return EXIT_NEEDS_ROOT;
	}
	if (!check && (ctl->cfg.sync_base_url || ctl->cfg.n_static_rules)) {
		printf("(SyncBaseURL/StaticRules is set, rules are managed centrally.)");
		fflush(stdout);
		return 1;
	}
	if (santactl_connect(ctl, false) < 0)
		return 1;
	if (check) {
		bool found = false;
		int64_t p = 0;

		req = ipc_msg_new(SANTAD_RULE_CHECK);
		ipc_dict_put_string(ipc_msg_body(req), "identifier", identifier);
		ipc_dict_put_int(ipc_msg_body(req), "rule_type", type);
		reply = call(ctl, req);
		if (!reply)
			return 1;
		ipc_dict_get_bool(ipc_msg_body(reply), "found", &found);
		ipc_dict_get_int(ipc_msg_body(reply), "policy", &p);
		if (!found)
			printf("No rule exists with the given parameters\n");
		else
			printf("%s (%s%s)\n",
			       p == SANTA_POLICY_ALLOWLIST || p == SANTA_POLICY_ALLOWLIST_COMPILER ||
					       p == SANTA_POLICY_ALLOWLIST_TRANSITIVE
				       ? "Allowed"
				       : "Blocked",
			       check_type_name(type),
			       p == SANTA_POLICY_ALLOWLIST_COMPILER     ? ", Compiler"
			       : p == SANTA_POLICY_ALLOWLIST_TRANSITIVE ? ", Transitive"
			       : p == SANTA_POLICY_SILENT_BLOCKLIST     ? ", Silent"
									: "");
		ipc_msg_free(reply);
		return 0;
	}
	req = ipc_msg_new(SANTAD_RULE_ADD);
	rule = ipc_array_add_dict(ipc_dict_put_array(ipc_msg_body(req), "rules"));
	ipc_dict_put_string(rule, "identifier", identifier);
	ipc_dict_put_int(rule, "rule_type", type);
	ipc_dict_put_int(rule, "policy", policy);
	if (message)
		ipc_dict_put_string(rule, "custom_msg", message);
	if (url)
		ipc_dict_put_string(rule, "custom_url", url);
	reply = call(ctl, req);
	if (!reply) {
		fprintf(stderr, "Failed to modify rules.\n");
		return 1;
	}
	ipc_msg_free(reply);
	printf("%s rule for %s: %s.\n", policy == SANTA_POLICY_REMOVE ? "Removed" : "Added",
	       type_label(type), identifier);
	return 0;
}

/* ---- flushcache, checkcache, printlog ---- */

static int
cmd_flushcache(struct santactl *ctl, int argc, char **argv)
{
	struct ipc_msg *reply;

	if (geteuid() != 0) {
		fprintf(stderr, "The command 'flushcache' requires root privileges.\n");
		return EXIT_NEEDS_ROOT;
	}
	if (santactl_connect(ctl, false) < 0)
		return 1;
	reply = call(ctl, ipc_msg_new(SANTAD_FLUSH_CACHE));
	if (!reply)
		return 1;
	ipc_msg_free(reply);
	printf("Cache flush requested\n");
	return 0;
}

static int
cmd_checkcache(struct santactl *ctl, int argc, char **argv)
{
	struct ipc_msg *req, *reply;
	const char *verdict = "", *reason = "";
	bool cached = false;
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "Usage: santactl checkcache PATH\n");
		return EXIT_USAGE;
	}
	if (stat(argv[1], &st) < 0) {
		fprintf(stderr, "File does not exist: %s\n", argv[1]);
		return 1;
	}
	if (santactl_connect(ctl, false) < 0)
		return 1;
	req = ipc_msg_new(SANTAD_CHECK_CACHE);
	ipc_dict_put_int(ipc_msg_body(req), "dev", (int64_t)st.st_dev);
	ipc_dict_put_int(ipc_msg_body(req), "ino", (int64_t)st.st_ino);
	ipc_dict_put_int(ipc_msg_body(req), "mtime_ns",
			 (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
	ipc_dict_put_int(ipc_msg_body(req), "ctime_ns",
			 (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
	ipc_dict_put_int(ipc_msg_body(req), "size", (int64_t)st.st_size);
	reply = call(ctl, req);
	if (!reply)
		return 1;
	ipc_dict_get_bool(ipc_msg_body(reply), "cached", &cached);
	ipc_dict_get_string(ipc_msg_body(reply), "verdict", &verdict);
	ipc_dict_get_string(ipc_msg_body(reply), "reason", &reason);
	if (cached)
		printf("File exists in [%s] cache (%s)\n",
		       strcmp(verdict, "DENY") == 0 ? "blocklist"
		       : strcmp(reason, "COMPILER") == 0 ? "allowlist compiler"
							 : "allowlist",
		       reason);
	else
		printf("File does not exist in cache\n");
	ipc_msg_free(reply);
	return cached ? 0 : 1;
}

/* Events waiting for upload to the sync server, as the JSON they will be sent as. */
static int
cmd_printlog(struct santactl *ctl, int argc, char **argv)
{
	const struct ipc_value *list, *e;
	struct ipc_msg *req, *reply;
	int64_t after = 0, id;
	const char *json;
	bool first = true;
	size_t i, n;

	if (santactl_connect(ctl, false) < 0)
		return 1;
	printf("[");
	do {
		req = ipc_msg_new(SANTAD_EVENTS_LIST);
		ipc_dict_put_int(ipc_msg_body(req), "after_id", after);
		reply = call(ctl, req);
		if (!reply)
			return 1;
		n = 0;
		if (ipc_dict_get_array(ipc_msg_body(reply), "events", &list) == 0)
			n = ipc_container_len(list);
		for (i = 0; i < n; i++) {
			e = ipc_array_at(list, i);
			if (ipc_dict_get_int(e, "id", &id) < 0 ||
			    ipc_dict_get_string(e, "json", &json) < 0)
				continue;
			printf("%s\n  %s", first ? "" : ",", json);
			first = false;
			after = id;
		}
		ipc_msg_free(reply);
	} while (n > 0);
	printf("%s]\n", first ? "" : "\n");
	return 0;
}

/* ---- metrics ---- */

static int
cmd_metrics(struct santactl *ctl, int argc, char **argv)
{
	const char *prefixes[64], *text = "", *server = "", *format = "";
	struct ipc_msg *reply;
	size_t n_prefixes = 0;
	bool json = false, configured = false;
	int64_t interval = 0;
	json_t *e;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("Usage: santactl metrics [--json] [prefix...]\n"
			       "  Prints santad's metrics now; with prefixes, only metrics whose name\n"
			       "  starts with one of them. --json: Santa's raw export dictionary.\n");
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "santactl metrics: unknown option '%s'\n", argv[i]);
			return EXIT_USAGE;
		} else if (n_prefixes < sizeof(prefixes) / sizeof(prefixes[0])) {
			prefixes[n_prefixes++] = argv[i];
		}
	}
	if (santactl_connect(ctl, false) < 0)
		return 1;
	reply = call(ctl, ipc_msg_new(SANTAD_METRICS));
	if (!reply)
		return 1;
	ipc_dict_get_string(ipc_msg_body_const(reply), "json", &text);
	ipc_dict_get_string(ipc_msg_body_const(reply), "server", &server);
	ipc_dict_get_string(ipc_msg_body_const(reply), "format", &format);
	ipc_dict_get_int(ipc_msg_body_const(reply), "interval", &interval);
	ipc_dict_get_bool(ipc_msg_body_const(reply), "configured", &configured);
	e = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!e) {
		fprintf(stderr, "santactl: santad sent metrics that are not JSON\n");
		ipc_msg_free(reply);
		return 1;
	}
	if (json) {
		json_t *metrics = json_object_get(e, "metrics"), *keep = json_object();
		const char *name;
		json_t *m;

		/* Prefixes filter the JSON too. */
		json_object_foreach(metrics, name, m) {
			bool want = n_prefixes == 0;

			for (size_t k = 0; k < n_prefixes && !want; k++)
				want = strncmp(name, prefixes[k], strlen(prefixes[k])) == 0;
			if (want)
				json_object_set(keep, name, m);
		}
		json_object_set_new(e, "metrics", keep);
		json_dumpf(e, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	} else {
		metrics_print(stdout, e, configured ? (server[0] ? server : "(none)") : "not configured",
			      format[0] ? format : "(none)", (long long)interval, prefixes, n_prefixes);
	}
	json_decref(e);
	ipc_msg_free(reply);
	return 0;
}

/* ---- sync ---- */

struct sync_progress {
	bool closed;
};

static void
on_progress(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	const char *line;

	if (ipc_msg_type(msg) == SYNCSERVICE_PROGRESS &&
	    ipc_dict_get_string(ipc_msg_body_const(msg), "line", &line) == 0)
		printf("%s\n", line);
	ipc_msg_free(msg);
}

static void
on_progress_closed(struct ipc_conn *conn, int error, void *userdata)
{
	struct sync_progress *p = userdata;

	p->closed = true;
}

static void
sync_usage(FILE *out)
{
	fprintf(out, "Usage: santactl sync [options]\n"
		     "  --clean: Perform a clean sync, erasing all existing non-transitive rules and\n"
		     "           requesting a clean sync from the server.\n"
		     "  --clean-all: Perform a clean sync, erasing all existing rules and requesting a\n"
		     "               clean sync from the server.\n"
		     "  --debug: Ask the sync service to print its requests (the service's log).\n"
		     "Exit status: 0 success, 1 preflight failed (or no SyncBaseURL), 3 rule download\n"
		     "failed, 5 too many syncs in progress, 7 no machine id, 8 santad did not answer,\n"
		     "10 unknown error.\n");
}

static int
cmd_sync(struct santactl *ctl, int argc, char **argv)
{
	static const struct ipc_conn_handlers progress_handlers = {
		.on_message = on_progress,
		.on_invalidated = on_progress_closed,
	};
	struct sync_progress progress = { 0 };
	struct ipc_conn *sync = NULL, *endpoint = NULL;
	struct ipc_msg *req = NULL, *reply = NULL;
	const char *type = NULL, *text = NULL;
	char path[4096], why[512];
	int local = -1, remote = -1, i, r, status = SYNC_STATUS_UNKNOWN;
	int64_t st = SYNC_STATUS_UNKNOWN;
	uint64_t deadline, now;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--clean") == 0) {
			type = "CLEAN";
		} else if (strcmp(argv[i], "--clean-all") == 0) {
			type = "CLEAN_ALL";
		} else if (strcmp(argv[i], "--debug") == 0) {
			continue;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			sync_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "santactl sync: unknown option '%s'\n", argv[i]);
			sync_usage(stderr);
			return EXIT_USAGE;
		}
	}
	/* Unreadable (a user's santactl): the sync service's socket says whether one is set. */
	if (!ctl->cfg.sync_base_url && !ctl->config_unreadable) {
		fprintf(stderr, "Missing SyncBaseURL. Exiting.\n");
		return 1;
	}
	if (type && geteuid() != 0) {
		fprintf(stderr, "santactl sync --clean and --clean-all need root: run them with sudo\n");
		return EXIT_NEEDS_ROOT;
	}
	if (sd_event_new(&ctl->event) < 0)
		return 1;
	r = santa_path_join(path, sizeof(path), ctl->cfg.run_directory, SYNCSERVICE_SOCKET_NAME);
	if (r == 0)
		r = ipc_conn_connect(ctl->event, path, "santasyncservice", 0, NULL, NULL, NULL, &sync,
				     why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "santactl: cannot reach santasyncservice: %s", why);
		if (r == -ENOENT || r == -ECONNREFUSED)
			fprintf(stderr, "; santad starts it while SyncBaseURL is set: is santad "
					"running with this configuration?");
		fprintf(stderr, "\n");
		return 1;
	}
	if (ipc_endpoint_pair(&local, &remote) < 0 ||
	    ipc_conn_from_endpoint(ctl->event, local, NULL, NULL, &progress_handlers, &progress,
				   &endpoint) < 0) {
		fprintf(stderr, "santactl: cannot create the progress endpoint\n");
		goto out;
	}
	req = ipc_msg_new(SYNCSERVICE_SYNC);
	if (!req || (type && ipc_dict_put_string(ipc_msg_body(req), "sync_type", type) < 0) ||
	    ipc_dict_put_fd(ipc_msg_body(req), "progress", remote) < 0) {
		remote = -1;
		fprintf(stderr, "santactl: out of memory\n");
		goto out;
	}
	remote = -1;
	/* A sync with every retry can take minutes; the service bounds each request. */
	r = ipc_conn_call(sync, req, 60 * 60 * 1000 * 1000ULL, &reply);
	req = NULL;
	if (r < 0 && !reply) {
		fprintf(stderr, "santactl: the sync service did not answer: %s\n", strerror(-r));
		goto out;
	}
	if (ipc_msg_error(reply, &text) < 0) {
		fprintf(stderr, "santactl: the sync service refused: %s\n", text ? text : "");
		status = 1;
		goto out;
	}
	ipc_dict_get_int(ipc_msg_body_const(reply), "status", &st);
	status = (int)st;
	/* The last lines may still be on their way on the other socket. */
	sd_event_now(ctl->event, CLOCK_MONOTONIC, &now);
	deadline = now + 2 * 1000 * 1000ULL;
	while (!progress.closed && now < deadline) {
		if (sd_event_run(ctl->event, deadline - now) < 0)
			break;
		sd_event_now(ctl->event, CLOCK_MONOTONIC, &now);
	}
	if (status == SYNC_STATUS_TOO_MANY_SYNCS)
		printf("Too many syncs in progress, try again later.\n");
out:
	if (remote >= 0)
		close(remote);
	ipc_msg_free(req);
	ipc_msg_free(reply);
	if (endpoint) {
		ipc_conn_invalidate(endpoint);
		ipc_conn_unref(endpoint);
	}
	ipc_conn_unref(sync);
	return status;
}

/* ---- bundleinfo ---- */

#define BUNDLEINFO_TIMEOUT_USEC (10 * 60 * 1000000ULL) /* a large package takes a while */

static void command_usage(const char *cmd, FILE *out);

static void
on_bundle_progress(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	int64_t hashed = 0, total = 0;

	if (ipc_msg_type(msg) == BUNDLESERVICE_PROGRESS &&
	    ipc_dict_get_int(ipc_msg_body_const(msg), "hashed", &hashed) == 0 &&
	    ipc_dict_get_int(ipc_msg_body_const(msg), "total", &total) == 0)
		fprintf(stderr, "Hashed %lld of %lld executables\n", (long long)hashed,
			(long long)total);
	ipc_msg_free(msg);
}

static int
cmd_bundleinfo(struct santactl *ctl, int argc, char **argv)
{
	char sock[PATH_MAX], path[PATH_MAX], why[512];
	const struct ipc_value *b, *list = NULL;
	struct ipc_msg *req = NULL, *reply = NULL;
	static const struct ipc_conn_handlers progress_handlers = { .on_message = on_bundle_progress };
	struct ipc_conn *conn = NULL, *progress = NULL;
	const char *text = NULL, *arg = NULL;
	bool json = false, want_progress = false;
	int local = -1, remote = -1;
	int r, status = 1;
	size_t i;

	for (int k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			json = true;
		else if (strcmp(argv[k], "--progress") == 0)
			want_progress = true;
		else if (!arg)
			arg = argv[k];
		else
			arg = "";
	}
	if (!arg || !arg[0]) {
		command_usage("bundleinfo", stderr);
		return EXIT_USAGE;
	}
	if (!realpath(arg, path)) {
		fprintf(stderr, "santactl: %s: %s\n", arg, strerror(errno));
		return 1;
	}
	if (!ctl->event && sd_event_new(&ctl->event) < 0)
		return 1;
	r = santa_path_join(sock, sizeof(sock), ctl->cfg.run_directory, BUNDLESERVICE_SOCKET_NAME);
	if (r == 0)
		r = ipc_conn_connect(ctl->event, sock, "santabundleservice", 30 * 1000000ULL, NULL,
				     NULL, NULL, &conn, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "santactl: %s\n", r == -ENAMETOOLONG ? "socket path too long" : why);
		return 1;
	}
	req = ipc_msg_new(BUNDLESERVICE_HASH);
	if (!req || ipc_dict_put_string(ipc_msg_body(req), "path", path) < 0) {
		ipc_msg_free(req);
		goto out;
	}
	if (want_progress && ipc_endpoint_pair(&local, &remote) == 0 &&
	    ipc_conn_from_endpoint(ctl->event, local, ipc_conn_peer(conn), NULL, &progress_handlers,
				   NULL, &progress) == 0)
		(void)ipc_dict_put_fd(ipc_msg_body(req), "progress", remote);
	else if (remote >= 0)
		close(remote);
	r = ipc_conn_call(conn, req, BUNDLEINFO_TIMEOUT_USEC, &reply);
	/* Progress written before the answer is waiting on its own socket: show it first. */
	while (progress && sd_event_run(ctl->event, 0) > 0)
		;
	if (!reply) {
		fprintf(stderr, "santactl: the bundle service did not answer: %s\n", strerror(-r));
		goto out;
	}
	if (ipc_msg_flags(reply) & IPC_FLAG_ERROR) {
		r = ipc_msg_error(reply, &text);
		if (r == -ENOENT) {
			printf("Not a bundle\n");
			fprintf(stderr, "santactl: %s\n", text ? text : "");
			status = 2;
		} else {
			fprintf(stderr, "santactl: %s\n", text ? text : strerror(-r));
		}
		goto out;
	}
	b = ipc_msg_body_const(reply);
	ipc_dict_get_array(b, "executables", &list);
	if (json) {
		json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "kind", get_str(b, "kind"),
					 "bundle_path", get_str(b, "bundle_path"), "name",
					 get_str(b, "name"), "version", get_str(b, "version"),
					 "bundle_hash", get_str(b, "bundle_hash"), "binary_count",
					 (json_int_t)get_int(b, "binary_count"), "millis",
					 (json_int_t)get_int(b, "millis"));
		json_t *exes = json_array();

		for (i = 0; i < ipc_container_len(list); i++) {
			const struct ipc_value *e = ipc_array_at(list, i);

			json_array_append_new(exes, json_pack("{s:s, s:s}", "path", get_str(e, "path"),
							      "sha256", get_str(e, "sha256")));
		}
		json_object_set_new(root, "executables", exes);
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(root);
	} else {
		printf("Hashing time: %lld ms\n", (long long)get_int(b, "millis"));
		printf("%lld events found\n", (long long)get_int(b, "binary_count"));
		printf("Bundle: %s %s (%s %s)\n", get_str(b, "name"), get_str(b, "version"),
		       strcmp(get_str(b, "kind"), "deb") == 0 ? "Debian package" : "application tree",
		       get_str(b, "bundle_path"));
		printf("BundleHash: %s\n", get_str(b, "bundle_hash"));
		for (i = 0; i < ipc_container_len(list); i++) {
			const struct ipc_value *e = ipc_array_at(list, i);

			printf("\tBundleID: %s\n\t\tSHA-256: %s\n\t\tPath: %s\n", get_str(b, "name"),
			       get_str(e, "sha256"), get_str(e, "path"));
		}
	}
	status = 0;
out:
	ipc_msg_free(reply);
	if (progress) {
		ipc_conn_invalidate(progress);
		ipc_conn_unref(progress);
	}
	if (conn) {
		ipc_conn_invalidate(conn);
		ipc_conn_unref(conn);
	}
	return status;
}

/* Usage of each command, for `santactl help CMD` and `santactl CMD --help`. */
static void
command_usage(const char *cmd, FILE *out)
{
	static const char *const texts[][2] = {
		{ "status", "Usage: santactl status [--json]\n"
			    "  santad's mode, rule counts, caches (root: files on santad's / filesystem),\n"
			    "  watchdog, decisions, watched filesystems, sync and helper state.\n"
			    "  --json: the same as one JSON object.\n" },
		{ "version", "Usage: santactl version [--json]\n"
			     "  The versions of Santa's components: santad's as the running santad\n"
			     "  says (unknown if it cannot be asked), santa-gui's as SantaGUIPath\n"
			     "  answers --version.\n" },
		{ "bundleinfo", "Usage: santactl bundleinfo [--json] [--progress] PATH\n"
				"  Asks santabundleservice for the bundle of PATH (the Debian package that\n"
				"  owns it, else its tree below BundleRoots) and prints the bundle hash and\n"
				"  every executable's SHA-256. --progress: hashing progress on stderr.\n"
				"  Exit 2: not a bundle.\n" },
		{ "checkcache", "Usage: santactl checkcache PATH\n"
				"  Whether santad has a cached decision for the file (exit 0 if so, 1 if not).\n" },
		{ "flushcache", "Usage: santactl flushcache\n"
				"  Forget every cached decision and kernel ignore mark (root).\n" },
		{ "printlog", "Usage: santactl printlog\n"
			      "  The events waiting for upload to the sync server, as the JSON\n"
			      "  objects that will be sent.\n" },
		{ "metrics", "Usage: santactl metrics [--json] [prefix...]\n"
			     "  Prints santad's metrics now; with prefixes, only metrics whose name\n"
			     "  starts with one of them. --json: Santa's raw export dictionary.\n" },
	};

	if (strcmp(cmd, "rule") == 0) {
		rule_usage(out);
		return;
	}
	if (strcmp(cmd, "fileinfo") == 0) {
		fileinfo_usage(out);
		return;
	}
	if (strcmp(cmd, "sync") == 0) {
		sync_usage(out);
		return;
	}
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcmp(cmd, texts[i][0]) == 0) {
			fputs(texts[i][1], out);
			return;
		}
	}
	print_commands(out);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct santactl *, int, char **);
	} commands[] = {
		{ "bundleinfo", cmd_bundleinfo },
		{ "checkcache", cmd_checkcache },
		{ "fileinfo", cmd_fileinfo },
		{ "flushcache", cmd_flushcache },
		{ "printlog", cmd_printlog },
		{ "rule", cmd_rule },
		{ "metrics", cmd_metrics },
		{ "status", cmd_status },
		{ "sync", cmd_sync },
		{ "version", cmd_version },
	};
	struct santactl ctl = { 0 };
	size_t i;
	int r = EXIT_UNKNOWN;

	/* Nobody of the same uid may ptrace a santactl to borrow its validated connection. */
	prctl(PR_SET_DUMPABLE, 0);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || strcmp(argv[1], "usage") == 0 || strcmp(argv[1], "commands") == 0) {
		print_commands(stdout);
		return 1;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		if (argc > 2) {
			printf("Help for '%s':\n", argv[2]);
			command_usage(argv[2], stdout);
			return 1; /* as Santa's `santactl help CMD` */
		}
		print_commands(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			for (int k = 2; k < argc; k++) {
				if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
					command_usage(argv[1], stdout);
					return 0;
				}
			}
			load_config(&ctl);
			r = commands[i].fn(&ctl, argc - 1, argv + 1);
			goto out;
		}
	}
	fprintf(stderr, "Unknown command: %s\n", argv[1]);
	return EXIT_UNKNOWN;
out:
	ipc_conn_unref(ctl.conn);
	sd_event_unref(ctl.event);
	santa_config_free(&ctl.cfg);
	return r;
}
