/*
 * What each helper may know of santa.conf. santa.conf is root's (0640) since
 * it holds secrets (SyncExtraHeaders tokens, ClientAuthCertificatePassword):
 * the helpers, which run as unprivileged users, never read it. Each asks
 * santad over its validated channel, and gets the keys listed for it here,
 * from the live configuration (after SIGHUP santad restarts it, and it asks
 * again); RunDirectory, restart-only, as santad started: where santad's
 * sockets are. The client certificate and key travel with preflight (sync.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "santa/santad_proto.h"
#include "santad.h"
#include "helper_settings.h"

struct helper_keys {
	const char *helper;
	const char *const *keys;
	const char *section; /* a dictionary it gets whole, or NULL */
};

static const char *const sync_keys[] = {
	"SyncBaseURL", "SyncAllowInsecureHTTP", "SyncClientContentEncoding", "SyncEnableCleanSyncEventUpload",
	"SyncProxy", "ServerAuthRootsFile", "RunDirectory", NULL,
};
static const char *const metric_keys[] = {
	"MetricFormat", "MetricURL", "MetricExportInterval", "MetricExportTimeout",
	"MetricPrometheusPort", "MetricTextfilePath", "RunDirectory", NULL,
};
static const char *const bundle_keys[] = {
	"BundleRoots", "BundleServiceIdleSec", "RunDirectory", NULL,
};

static const struct helper_keys helpers[] = {
	{ "santasyncservice", sync_keys, "SyncExtraHeaders" },
	{ "santametricservice", metric_keys, NULL },
	{ "santabundleservice", bundle_keys, NULL },
};

void
santad_helper_settings(struct santad *d, struct ipc_conn *conn, const struct ipc_msg *req)
{
	const struct helper_keys *h = NULL;
	struct santa_config cfg; /* a view: restart-only keys (RunDirectory) as santad started */
	const struct santa_dict *dict;
	struct ipc_value *keys, *sections, *sec;
	struct ipc_msg *reply;
	char *value;
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (strcmp(ipc_conn_peer(conn)->name, helpers[i].helper) == 0)
			h = &helpers[i];
	if (!h) {
		ipc_conn_reply_error(conn, req, -EPERM, "not one of Santa's helpers");
		return;
	}
	reply = ipc_msg_new(SANTAD_HELPER_SETTINGS);
	if (!reply)
		return;
	santad_settings_view(&d->policy->cfg, &d->start, &cfg);
	keys = ipc_dict_put_container(ipc_msg_body(reply), "keys", IPC_DICT);
	sections = ipc_dict_put_container(ipc_msg_body(reply), "sections", IPC_DICT);
	if (!keys || !sections)
		r = -ENOMEM;
	for (i = 0; r == 0 && h->keys[i]; i++) {
		r = santa_config_get(&cfg, h->keys[i], &value);
		if (r == -ENOENT) {
			r = 0; /* unset: the helper keeps Santa's default */
			continue;
		}
		if (r == 0)
			r = ipc_dict_put_string(keys, h->keys[i], value);
		free(value);
	}
	dict = h->section ? santa_config_dict(&cfg, h->section) : NULL;
	if (r == 0 && dict) {
		sec = ipc_dict_put_container(sections, h->section, IPC_DICT);
		for (i = 0; sec && r == 0 && i < dict->n; i++)
			r = ipc_dict_put_string(sec, dict->items[i].key, dict->items[i].value);
		if (!sec)
			r = -ENOMEM;
	}
	if (r < 0) {
		ipc_msg_free(reply);
		ipc_conn_reply_error(conn, req, r, "cannot gather the settings");
		return;
	}
	ipc_conn_reply(conn, req, reply);
}
