/*
 * santactl metrics: santad's metrics now, as Santa's santactl prints them,
 * or Santa's raw export dictionary (--json); prefixes filter both.
 */
#include <string.h>

#include "santa/metrics.h"
#include "santa/santad_proto.h"
#include "santactl.h"

void
metrics_usage(FILE *out)
{
	fputs("Usage: santactl metrics [--json] [prefix...]\n"
	      "  Prints santad's metrics now; with prefixes, only metrics whose name\n"
	      "  starts with one of them. --json: Santa's raw export dictionary.\n", out);
}

int
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
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "santactl metrics: unknown option '%s'\n", argv[i]);
			return EXIT_USAGE;
		} else if (n_prefixes < sizeof(prefixes) / sizeof(prefixes[0])) {
			prefixes[n_prefixes++] = argv[i];
		}
	}
	reply = santactl_request(ctl, ipc_msg_new(SANTAD_METRICS));
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

