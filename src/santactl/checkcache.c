/*
 * santactl checkcache: whether santad holds a decision for a file, found by
 * what santad keys its cache on (device, inode, times, size).
 */
#include <string.h>
#include <sys/stat.h>

#include "santa/santad_proto.h"
#include "santactl.h"

void
checkcache_usage(FILE *out)
{
	fputs("Usage: santactl checkcache PATH\n"
	      "  Whether santad has a cached decision for the file (exit 0 if so, 1 if not).\n", out);
}

int
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
	req = ipc_msg_new(SANTAD_CHECK_CACHE);
	ipc_dict_put_int(ipc_msg_body(req), "dev", (int64_t)st.st_dev);
	ipc_dict_put_int(ipc_msg_body(req), "ino", (int64_t)st.st_ino);
	ipc_dict_put_int(ipc_msg_body(req), "mtime_ns",
			 (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
	ipc_dict_put_int(ipc_msg_body(req), "ctime_ns",
			 (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
	ipc_dict_put_int(ipc_msg_body(req), "size", (int64_t)st.st_size);
	reply = santactl_request(ctl, req);
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
