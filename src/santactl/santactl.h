/*
 * What santactl's commands share: the connection to santad (and to the
 * helpers' sockets), reading santad's replies, output helpers. One file per
 * command (status.c, rule.c, ...); main.c only dispatches. Commands print
 * their own messages and return santactl's exit code.
 */
#ifndef SANTACTL_H
#define SANTACTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "santa/config.h"
#include "santa/ipc.h"
#include "santa/pkgtrust.h"

/* Exit codes (docs/santactl.md): 0 success, 1 failure or bad arguments. */
#define EXIT_USAGE      1
#define EXIT_NEEDS_ROOT 2 /* a command that needs root run by another user */

struct santactl {
	struct santa_config cfg;
	sd_event *event;
	struct ipc_conn *conn;
	bool connect_failed; /* tried once: do not wait again for every file */
	bool config_unreadable; /* santa.conf is root's (0640): Santa's defaults stand in */
};

/* The configuration santad runs with (SANTA_CONFIG points elsewhere: tests). */
void santactl_load_config(struct santactl *ctl);

/* Connects to santad.sock; unless quiet, says on stderr why it failed. */
int santactl_connect(struct santactl *ctl, bool quiet);

/*
 * Connects to the socket NAME of the run directory, served by PEER (a helper
 * service); why says what failed. timeout_usec: 0 for the library's default.
 */
int santactl_connect_socket(struct santactl *ctl, const char *name, const char *peer,
			    uint64_t timeout_usec, struct ipc_conn **conn, char *why, size_t why_size);

/* Sends req (taken) to santad; the reply, or NULL after printing why. */
struct ipc_msg *santactl_call(struct santactl *ctl, struct ipc_msg *req);
/* santactl_call with a timeout of the caller's (a request santad takes long to serve). */
struct ipc_msg *santactl_call_within(struct santactl *ctl, struct ipc_msg *req, uint64_t timeout_usec);

/* santactl_connect (not quiet), then santactl_call: one request to santad. */
struct ipc_msg *santactl_request(struct santactl *ctl, struct ipc_msg *req);

/*
 * A second socket pair whose far end (*remote, to be sent in a request)
 * carries a service's progress messages to handlers on ctl's loop.
 */
int santactl_progress_endpoint(struct santactl *ctl, const struct ipc_peer *peer,
			       const struct ipc_conn_handlers *handlers, void *userdata,
			       struct ipc_conn **endpoint, int *remote);

/* Invalidates and drops a connection; NULL is fine. */
void santactl_conn_close(struct ipc_conn *conn);

/* True for root; otherwise says that COMMAND needs root. */
bool santactl_is_root(const char *command);

/* A reply's values; 0, "" or false when absent. */
int64_t reply_int(const struct ipc_value *dict, const char *key);
const char *reply_str(const struct ipc_value *dict, const char *key);
bool reply_bool(const struct ipc_value *dict, const char *key);

/* root as indented JSON (sorted keys) and a newline on stdout. */
void santactl_print_json(const json_t *root);

/* The commands: argv[0] is the command's name; each returns the exit code. */
int cmd_bundleinfo(struct santactl *ctl, int argc, char **argv);
int cmd_checkcache(struct santactl *ctl, int argc, char **argv);
int cmd_fileinfo(struct santactl *ctl, int argc, char **argv);
int cmd_flushcache(struct santactl *ctl, int argc, char **argv);
int cmd_metrics(struct santactl *ctl, int argc, char **argv);
int cmd_printlog(struct santactl *ctl, int argc, char **argv);
int cmd_rule(struct santactl *ctl, int argc, char **argv);
int cmd_status(struct santactl *ctl, int argc, char **argv);
int cmd_sync(struct santactl *ctl, int argc, char **argv);
int cmd_version(struct santactl *ctl, int argc, char **argv);

/* Their usage, for `santactl help CMD` and `santactl CMD --help`. */
void bundleinfo_usage(FILE *out);
void checkcache_usage(FILE *out);
void fileinfo_usage(FILE *out);
void flushcache_usage(FILE *out);
void metrics_usage(FILE *out);
void printlog_usage(FILE *out);
void rule_usage(FILE *out);
void status_usage(FILE *out);
void sync_usage(FILE *out);
void version_usage(FILE *out);

/* Package identities (docs/package-trust.md), read as santad reads them; NULL: said why on stderr. */
struct santa_pkgtrust *santactl_load_trust(struct santactl *ctl);
struct santa_pkg_identity;
struct stat;
enum santa_pkg_verdict santactl_identify_fd(const struct santa_pkgtrust *trust, int fd,
					    const struct stat *st, struct santa_pkg_identity *id);

#endif
