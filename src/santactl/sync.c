/*
 * santactl sync: asks santasyncservice for a sync now and prints its
 * progress lines, which come on a second socket this command creates.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "santa/santad_proto.h"
#include "santa/sync.h"
#include "santactl.h"

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

void
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

int
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
	char why[512];
	int remote = -1, i, r, status = SYNC_STATUS_UNKNOWN;
	int64_t st = SYNC_STATUS_UNKNOWN;
	uint64_t deadline, now;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--clean") == 0) {
			type = "CLEAN";
		} else if (strcmp(argv[i], "--clean-all") == 0) {
			type = "CLEAN_ALL";
		} else if (strcmp(argv[i], "--debug") == 0) {
			continue;
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
	r = santactl_connect_socket(ctl, SYNCSERVICE_SOCKET_NAME, "santasyncservice", 0, &sync, why,
				    sizeof(why));
	if (r < 0) {
		fprintf(stderr, "santactl: cannot reach santasyncservice: %s", why);
		if (r == -ENOENT || r == -ECONNREFUSED)
			fprintf(stderr, "; santad starts it while SyncBaseURL is set: is santad "
					"running with this configuration?");
		fprintf(stderr, "\n");
		return 1;
	}
	if (santactl_progress_endpoint(ctl, NULL, &progress_handlers, &progress, &endpoint,
				       &remote) < 0) {
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
	santactl_conn_close(endpoint);
	ipc_conn_unref(sync);
	return status;
}

