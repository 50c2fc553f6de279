/* What santactl's commands share (santactl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "santa/path.h"
#include "santa/santad_proto.h"
#include "santactl.h"

#define SANTAD_CALL_USEC (10 * 1000 * 1000ULL)

static void
ignore_diag(void *ud, int level, const char *file, unsigned int line, const char *msg)
{
	if (level <= LOG_ERR)
		fprintf(stderr, "santactl: %s:%u: %s\n", file, line, msg);
}

/* The config tells where santad listens; SANTA_CONFIG points elsewhere (tests). */
void
santactl_load_config(struct santactl *ctl)
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
santactl_connect_socket(struct santactl *ctl, const char *name, const char *peer,
			uint64_t timeout_usec, struct ipc_conn **conn, char *why, size_t why_size)
{
	char path[4096];
	int r;

	if (!ctl->event && sd_event_new(&ctl->event) < 0) {
		snprintf(why, why_size, "out of memory");
		return -ENOMEM;
	}
	r = santa_path_join(path, sizeof(path), ctl->cfg.run_directory, name);
	if (r < 0) {
		snprintf(why, why_size, "socket path too long");
		return r;
	}
	return ipc_conn_connect(ctl->event, path, peer, timeout_usec, NULL, NULL, NULL, conn, why,
				why_size);
}

int
santactl_connect(struct santactl *ctl, bool quiet)
{
	char why[512];
	int r;

	/*
	 * Root has a socket of its own that no other user's flood of connects
	 * can fill; a busy santad (an exec storm, a flood) is then waited for as
	 * long as a request would be, not reported as not answering after 2 s.
	 */
	r = -ENOENT;
	if (geteuid() == 0)
		r = santactl_connect_socket(ctl, SANTAD_ROOT_SOCKET_NAME, "santad",
					    10 * 1000 * 1000ULL, &ctl->conn, why, sizeof(why));
	if (r == -ENOENT || r == -ECONNREFUSED)
		r = santactl_connect_socket(ctl, SANTAD_SOCKET_NAME, "santad", 0, &ctl->conn, why,
					    sizeof(why));
	if (r < 0 && !quiet) {
		fprintf(stderr, "An error occurred communicating with the daemon, is it running?\n");
		fprintf(stderr, "santactl: %s", why);
		if (r == -ENOENT || r == -ECONNREFUSED)
			fprintf(stderr, "; start it with 'systemctl start santad' or run santad as root");
		fprintf(stderr, "\n");
	}
	return r;
}

struct ipc_msg *
santactl_call_within(struct santactl *ctl, struct ipc_msg *req, uint64_t timeout_usec)
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

struct ipc_msg *
santactl_call(struct santactl *ctl, struct ipc_msg *req)
{
	return santactl_call_within(ctl, req, SANTAD_CALL_USEC);
}

struct ipc_msg *
santactl_request(struct santactl *ctl, struct ipc_msg *req)
{
	if (santactl_connect(ctl, false) < 0) {
		ipc_msg_free(req);
		return NULL;
	}
	return santactl_call(ctl, req);
}

int
santactl_progress_endpoint(struct santactl *ctl, const struct ipc_peer *peer,
			   const struct ipc_conn_handlers *handlers, void *userdata,
			   struct ipc_conn **endpoint, int *remote)
{
	int local = -1, r;

	*endpoint = NULL;
	*remote = -1;
	r = ipc_endpoint_pair(&local, remote);
	if (r < 0)
		return r;
	r = ipc_conn_from_endpoint(ctl->event, local, peer, NULL, handlers, userdata, endpoint);
	if (r < 0) {
		close(*remote);
		*remote = -1;
	}
	return r;
}

void
santactl_conn_close(struct ipc_conn *conn)
{
	if (!conn)
		return;
	ipc_conn_invalidate(conn);
	ipc_conn_unref(conn);
}

bool
santactl_is_root(const char *command)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "The command '%s' requires root privileges.\n", command);
	return false;
}

int64_t
reply_int(const struct ipc_value *dict, const char *key)
{
	int64_t v = 0;

	ipc_dict_get_int(dict, key, &v);
	return v;
}

const char *
reply_str(const struct ipc_value *dict, const char *key)
{
	const char *s = "";

	ipc_dict_get_string(dict, key, &s);
	return s;
}

bool
reply_bool(const struct ipc_value *dict, const char *key)
{
	bool b = false;

	ipc_dict_get_bool(dict, key, &b);
	return b;
}

void
santactl_print_json(const json_t *root)
{
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("\n");
}
