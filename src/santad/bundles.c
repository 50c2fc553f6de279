/*
 * Bundles for the sync server (docs/sync-protocol.md, section 5): when
 * santabundleservice has hashed a blocked file's bundle, the file's events
 * awaiting upload get the file_bundle_* fields, santad asks the sync service
 * to upload them now, and keeps one BUNDLE_BINARY event per executable of
 * the bundle in memory for the server to ask for (event_upload_bundle_binaries);
 * what it does not ask for is dropped, as on Santa. Bounded in bundles and
 * events; a santad restart forgets them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "santa/events_db.h"
#include "santa/path.h"
#include "santa/santad_proto.h"
#include "santa/sha256.h"
#include "santad.h"
#include "bundles.h"
#include "sync.h"

#define BUNDLE_BINARIES_FILE_MAX (16 * 1024 * 1024) /* the list the bundle service sends */

struct held_bundle {
	char hash[SANTA_SHA256_HEX_LEN + 1];
	char *jsonl; /* one BUNDLE_BINARY event per line */
	size_t len, count;
};

struct bundle_store {
	struct held_bundle held[BUNDLES_HELD_MAX];
	size_t n_held, n_events;
};

static void
held_free(struct held_bundle *h)
{
	free(h->jsonl);
	memset(h, 0, sizeof(*h));
}

static void
store_drop(struct bundle_store *s, size_t i)
{
	s->n_events -= s->held[i].count;
	held_free(&s->held[i]);
	memmove(&s->held[i], &s->held[i + 1], (s->n_held - i - 1) * sizeof(s->held[0]));
	s->n_held--;
}

/*
 * "sha256\tpath" lines -> BUNDLE_BINARY events, each with the bundle's
 * fields. A malformed line is skipped (the list comes from a validated
 * helper, but it is still input).
 */
/* file_bundle_executable_rel_path, for a file below an application tree's directory. */
static void
set_rel_path(json_t *ev, json_t *bundle_fields, const char *path)
{
	const char *root = json_string_value(json_object_get(bundle_fields, "file_bundle_path"));
	size_t len = root ? strlen(root) : 0;

	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len > 1 && strncmp(path, root, len) == 0 && path[len] == '/' && path[len + 1])
		json_object_set_new(ev, "file_bundle_executable_rel_path",
				    json_string(path + len + 1));
}

static int
build_events(const char *lines, json_t *bundle_fields, struct held_bundle *h)
{
	const char *p = lines;
	size_t cap = 0;

	while (*p && h->count < BUNDLE_EVENTS_HELD_MAX) {
		const char *nl = strchr(p, '\n'), *tab = strchr(p, '\t');
		size_t line_len = nl ? (size_t)(nl - p) : strlen(p);
		char sha[SANTA_SHA256_HEX_LEN + 1], path[PATH_MAX];
		uint8_t digest[SANTA_SHA256_LEN];
		const char *slash;
		json_t *ev;
		char *text;

		if (tab && tab < p + line_len && tab - p == SANTA_SHA256_HEX_LEN &&
		    line_len - SANTA_SHA256_HEX_LEN - 1 < sizeof(path)) {
			memcpy(sha, p, SANTA_SHA256_HEX_LEN);
			sha[SANTA_SHA256_HEX_LEN] = '\0';
			memcpy(path, tab + 1, line_len - SANTA_SHA256_HEX_LEN - 1);
			path[line_len - SANTA_SHA256_HEX_LEN - 1] = '\0';
			slash = strrchr(path, '/');
			if (path[0] == '/' && slash && santa_sha256_from_hex(sha, digest) == 0) {
				ev = json_deep_copy(bundle_fields);
				json_object_set_new(ev, "file_sha256", json_string(sha));
				json_object_set_new(ev, "file_name", json_string(slash + 1));
				json_object_set_new(ev, "file_path",
						    json_stringn(path, slash == path ? 1 : (size_t)(slash - path)));
				json_object_set_new(ev, "decision", json_string("BUNDLE_BINARY"));
				set_rel_path(ev, bundle_fields, path);
				text = json_dumps(ev, JSON_COMPACT);
				json_decref(ev);
				if (!text)
					return -ENOMEM;
				if (h->len + strlen(text) + 2 > cap) {
					char *bigger;

					cap = (h->len + strlen(text) + 2) * 2;
					bigger = realloc(h->jsonl, cap);
					if (!bigger) {
						free(text);
						return -ENOMEM;
					}
					h->jsonl = bigger;
				}
				h->len += (size_t)sprintf(h->jsonl + h->len, "%s\n", text);
				h->count++;
				free(text);
			}
		}
		p += line_len + (nl ? 1 : 0);
	}
	return 0;
}

static void
hold(struct santad *d, const char *hash, json_t *fields, int binaries_fd)
{
	struct bundle_store *s = d->bundles;
	struct held_bundle h = { 0 };
	char *lines = NULL;
	size_t len = 0;
	int r;

	if (!s || binaries_fd < 0)
		return;
	for (size_t i = 0; i < s->n_held; i++)
		if (strcmp(s->held[i].hash, hash) == 0)
			return; /* held already: the same bundle hashed again */
	r = santa_read_fd(binaries_fd, BUNDLE_BINARIES_FILE_MAX, &lines, &len);
	if (r < 0) {
		santa_log_errno(&d->log, LOG_WARNING, r, "bundle %s: cannot read its executables: %m",
				hash);
		return;
	}
	snprintf(h.hash, sizeof(h.hash), "%s", hash);
	r = build_events(lines, fields, &h);
	free(lines);
	if (r < 0 || h.count == 0) {
		held_free(&h);
		return;
	}
	/* Room: the oldest bundles go first. */
	while (s->n_held && (s->n_held == BUNDLES_HELD_MAX ||
			     s->n_events + h.count > BUNDLE_EVENTS_HELD_MAX))
		store_drop(s, 0);
	s->held[s->n_held++] = h;
	s->n_events += h.count;
}

void
santad_bundle_result(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req)
{
	const struct ipc_value *b = ipc_msg_body_const(req);
	const char *sha = NULL, *hash = NULL, *name = "", *version = "", *path = "", *kind = "";
	char file_hex[SANTA_SHA256_HEX_LEN + 1], hash_hex[SANTA_SHA256_HEX_LEN + 1];
	uint8_t digest[SANTA_SHA256_LEN];
	int64_t count = 0, millis = 0;
	struct ipc_msg *reply;
	json_t *patch;
	char *text;
	int n = 0, binaries_fd;

	if (ipc_dict_get_string(b, "file_sha256", &sha) < 0 ||
	    ipc_dict_get_string(b, "bundle_hash", &hash) < 0 ||
	    santa_sha256_from_hex(sha, digest) < 0 || santa_sha256_from_hex(hash, digest) < 0 ||
	    ipc_dict_get_int(b, "binary_count", &count) < 0 || count < 0 || count > UINT32_MAX) {
		ipc_conn_reply_error(conn, req, -EINVAL,
				     "expected file_sha256, bundle_hash (SHA-256) and binary_count");
		return;
	}
	/* Lower case, as events store them. */
	santa_sha256_from_hex(hash, digest);
	santa_sha256_to_hex(digest, hash_hex);
	santa_sha256_from_hex(sha, digest);
	santa_sha256_to_hex(digest, file_hex);
	(void)ipc_dict_get_string(b, "name", &name);
	(void)ipc_dict_get_string(b, "version", &version);
	(void)ipc_dict_get_string(b, "bundle_path", &path);
	(void)ipc_dict_get_string(b, "kind", &kind);
	(void)ipc_dict_get_int(b, "millis", &millis);
	patch = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "file_bundle_hash", hash_hex,
			  "file_bundle_binary_count", (json_int_t)count, "file_bundle_hash_millis",
			  (json_int_t)(millis < 0 ? 0 : millis), "file_bundle_name", name,
			  "file_bundle_version", version, "file_bundle_version_string", version,
			  "file_bundle_id", name);
	/* A package has no directory of its own; an application tree does. */
	if (patch && strcmp(kind, "tree") == 0)
		json_object_set_new(patch, "file_bundle_path", json_string(path));
	text = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
	if (text && d->events)
		n = events_db_annotate(d->events, file_hex, text,
				       strcmp(kind, "tree") == 0 ? path : NULL);
	free(text);
	binaries_fd = ipc_dict_take_fd(ipc_msg_body(req), "binaries");
	if (patch && d->events && n > 0)
		hold(d, hash_hex, patch, binaries_fd);
	if (binaries_fd >= 0)
		close(binaries_fd);
	json_decref(patch);
	santa_log(&d->log, LOG_INFO, "bundle of %s: %s%s%s, %lld executables, hash %s (%d events)",
		  file_hex, name, version[0] ? " " : "", version, (long long)count, hash_hex,
		  n < 0 ? 0 : n);
	if (n > 0)
		santad_sync_upload_now(d);
	reply = ipc_msg_new(SANTAD_BUNDLE_RESULT);
	if (reply)
		ipc_dict_put_int(ipc_msg_body(reply), "events_updated", n < 0 ? 0 : n);
	ipc_conn_reply(conn, req, reply);
}

void
santad_bundle_binaries(struct santad *d, struct ipc_conn *conn, struct ipc_msg *req)
{
	struct bundle_store *s = d->bundles;
	const struct ipc_value *hashes = NULL, *uploaded = NULL;
	struct ipc_msg *reply = NULL;
	size_t i, k, count = 0;
	int fd = -1;

	if (ipc_dict_get_container(ipc_msg_body_const(req), "hashes", IPC_ARRAY, &hashes) < 0 ||
	    ipc_dict_get_container(ipc_msg_body_const(req), "uploaded", IPC_ARRAY, &uploaded) < 0) {
		ipc_conn_reply_error(conn, req, -EINVAL,
				     "expected hashes and uploaded (lists of bundle hashes)");
		return;
	}
	fd = memfd_create("santa-bundle-binaries", MFD_CLOEXEC);
	if (fd < 0) {
		ipc_conn_reply_error(conn, req, -errno, "cannot make a memfd");
		return;
	}
	for (i = 0; s && i < ipc_container_len(hashes); i++) {
		const char *want = ipc_value_string(ipc_array_at(hashes, i));

		for (k = 0; want && k < s->n_held; k++) {
			if (strcasecmp(s->held[k].hash, want) != 0)
				continue;
			if (write(fd, s->held[k].jsonl, s->held[k].len) != (ssize_t)s->held[k].len) {
				close(fd);
				ipc_conn_reply_error(conn, req, -EIO, "cannot write the events");
				return;
			}
			count += s->held[k].count;
			store_drop(s, k); /* given once */
			break;
		}
	}
	/* Bundles whose event the server just got without asking for them: dropped, as on Santa. */
	for (i = 0; s && i < ipc_container_len(uploaded); i++) {
		const char *done = ipc_value_string(ipc_array_at(uploaded, i));

		for (k = 0; done && k < s->n_held; k++) {
			if (strcasecmp(s->held[k].hash, done) == 0) {
				store_drop(s, k);
				break;
			}
		}
	}
	reply = ipc_msg_new(SANTAD_BUNDLE_BINARIES);
	if (!reply) {
		close(fd);
		return;
	}
	ipc_dict_put_int(ipc_msg_body(reply), "count", (int64_t)count);
	ipc_dict_put_fd(ipc_msg_body(reply), "events", fd);
	ipc_conn_reply(conn, req, reply);
}

int
santad_bundles_start(struct santad *d)
{
	d->bundles = calloc(1, sizeof(*d->bundles));
	return d->bundles ? 0 : -ENOMEM;
}

void
santad_bundles_stop(struct santad *d)
{
	if (!d->bundles)
		return;
	while (d->bundles->n_held)
		store_drop(d->bundles, 0);
	free(d->bundles);
	d->bundles = NULL;
}
