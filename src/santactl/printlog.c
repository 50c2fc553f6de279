/* santactl printlog: the events waiting for upload to the sync server. */
#include "santa/santad_proto.h"
#include "santactl.h"

void
printlog_usage(FILE *out)
{
	fputs("Usage: santactl printlog\n"
	      "  The events waiting for upload to the sync server, as the JSON\n"
	      "  objects that will be sent.\n", out);
}

/* As the JSON the events will be sent as, one a line, in one array. */
int
cmd_printlog(struct santactl *ctl, int argc, char **argv)
{
	const struct ipc_value *list, *e;
	struct ipc_msg *req, *reply;
	int64_t after = 0, id;
	const char *json;
	bool first = true, first_reply = true;
	size_t i, n;

	if (santactl_connect(ctl, false) < 0)
		return 1;
	/* '[' waits for santad's first answer: a refusal leaves no half JSON on stdout. */
	do {
		req = ipc_msg_new(SANTAD_EVENTS_LIST);
		ipc_dict_put_int(ipc_msg_body(req), "after_id", after);
		reply = santactl_call(ctl, req);
		if (!reply)
			return 1; /* after '[': an unclosed array, not a complete-looking one */
		if (first_reply)
			printf("[");
		first_reply = false;
		n = 0;
		if (ipc_dict_get_container(ipc_msg_body(reply), "events", IPC_ARRAY, &list) == 0)
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

