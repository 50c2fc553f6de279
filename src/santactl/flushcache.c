/* santactl flushcache: santad forgets every cached decision and kernel ignore mark. */
#include "santa/santad_proto.h"
#include "santactl.h"

void
flushcache_usage(FILE *out)
{
	fputs("Usage: santactl flushcache\n"
	      "  Forget every cached decision and kernel ignore mark (root).\n", out);
}

int
cmd_flushcache(struct santactl *ctl, int argc, char **argv)
{
	struct ipc_msg *reply;

	if (!santactl_is_root("flushcache"))
		return EXIT_NEEDS_ROOT;
	reply = santactl_request(ctl, ipc_msg_new(SANTAD_FLUSH_CACHE));
	if (!reply)
		return 1;
	ipc_msg_free(reply);
	printf("Cache flush requested\n");
	return 0;
}
