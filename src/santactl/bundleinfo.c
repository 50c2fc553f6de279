/*
 * santactl bundleinfo: asks santabundleservice for the bundle of a file (its
 * Debian package, else its tree below BundleRoots), the bundle hash and every
 * executable's SHA-256.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "santa/santad_proto.h"
#include "santactl.h"

#define BUNDLEINFO_TIMEOUT_USEC (10 * 60 * 1000000ULL) /* a large package takes a while */

void
bundleinfo_usage(FILE *out)
{
	fputs("Usage: santactl bundleinfo [--json] [--progress] PATH\n"
	      "  Asks santabundleservice for the bundle of PATH (the Debian package that\n"
	      "  owns it, else its tree below BundleRoots) and prints the bundle hash and\n"
	      "  every executable's SHA-256. --progress: hashing progress on stderr.\n"
	      "  Exit 2: not a bundle.\n", out);
}

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

int
cmd_bundleinfo(struct santactl *ctl, int argc, char **argv)
{
	char path[PATH_MAX], why[512];
	const struct ipc_value *b, *list = NULL;
	struct ipc_msg *req = NULL, *reply = NULL;
	static const struct ipc_conn_handlers progress_handlers = { .on_message = on_bundle_progress };
	struct ipc_conn *conn = NULL, *progress = NULL;
	const char *text = NULL, *arg = NULL;
	bool json = false, want_progress = false;
	int remote = -1;
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
		bundleinfo_usage(stderr);
		return EXIT_USAGE;
	}
	if (!realpath(arg, path)) {
		fprintf(stderr, "santactl: %s: %s\n", arg, strerror(errno));
		return 1;
	}
	r = santactl_connect_socket(ctl, BUNDLESERVICE_SOCKET_NAME, "santabundleservice",
				    30 * 1000000ULL, &conn, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "santactl: %s\n", r == -ENAMETOOLONG ? "socket path too long" : why);
		return 1;
	}
	req = ipc_msg_new(BUNDLESERVICE_HASH);
	if (!req || ipc_dict_put_string(ipc_msg_body(req), "path", path) < 0) {
		ipc_msg_free(req);
		goto out;
	}
	if (want_progress && santactl_progress_endpoint(ctl, ipc_conn_peer(conn), &progress_handlers,
						       NULL, &progress, &remote) == 0)
		(void)ipc_dict_put_fd(ipc_msg_body(req), "progress", remote);
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
	ipc_dict_get_container(b, "executables", IPC_ARRAY, &list);
	if (json) {
		json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "kind", reply_str(b, "kind"),
					 "bundle_path", reply_str(b, "bundle_path"), "name",
					 reply_str(b, "name"), "version", reply_str(b, "version"),
					 "bundle_hash", reply_str(b, "bundle_hash"), "binary_count",
					 (json_int_t)reply_int(b, "binary_count"), "millis",
					 (json_int_t)reply_int(b, "millis"));
		json_t *exes = json_array();

		for (i = 0; i < ipc_container_len(list); i++) {
			const struct ipc_value *e = ipc_array_at(list, i);

			json_array_append_new(exes, json_pack("{s:s, s:s}", "path", reply_str(e, "path"),
							      "sha256", reply_str(e, "sha256")));
		}
		json_object_set_new(root, "executables", exes);
		santactl_print_json(root);
		json_decref(root);
	} else {
		printf("Hashing time: %lld ms\n", (long long)reply_int(b, "millis"));
		printf("%lld events found\n", (long long)reply_int(b, "binary_count"));
		printf("Bundle: %s %s (%s %s)\n", reply_str(b, "name"), reply_str(b, "version"),
		       strcmp(reply_str(b, "kind"), "deb") == 0 ? "Debian package" : "application tree",
		       reply_str(b, "bundle_path"));
		printf("BundleHash: %s\n", reply_str(b, "bundle_hash"));
		for (i = 0; i < ipc_container_len(list); i++) {
			const struct ipc_value *e = ipc_array_at(list, i);

			printf("\tBundleID: %s\n\t\tSHA-256: %s\n\t\tPath: %s\n", reply_str(b, "name"),
			       reply_str(e, "sha256"), reply_str(e, "path"));
		}
	}
	status = 0;
out:
	ipc_msg_free(reply);
	santactl_conn_close(progress);
	santactl_conn_close(conn);
	return status;
}
