/*
 * events.db: execution events waiting for upload to the sync server, each
 * stored as the JSON object the eventupload request carries, so the sync
 * service sends what santad wrote. Bounded: past max_events the oldest go,
 * and are counted. Only santad writes it.
 */
#ifndef SANTA_EVENTS_DB_H
#define SANTA_EVENTS_DB_H

#include <stddef.h>
#include <stdint.h>

struct events_db;

struct stored_event {
	int64_t id;
	char *json; /* owned by the caller of events_db_fetch */
};

/* Opens or creates path. A file that is not an events database gives -EBADMSG, untouched. */
int events_db_open(const char *path, uint64_t max_events, struct events_db **out, char *why,
		   size_t why_size);
void events_db_close(struct events_db *db);

/*
 * Adds events (JSON objects) in one transaction, then drops the oldest beyond
 * the cap. Returns how many old events were dropped, or -errno.
 */
int events_db_add(struct events_db *db, const char *const *json, size_t n);

/* Up to limit events with id > after_id, oldest first. Returns how many, or -errno. */
int events_db_fetch(struct events_db *db, int64_t after_id, size_t limit,
		    struct stored_event *out);
void stored_events_free(struct stored_event *events, size_t n);

/* Deletes the given events (the server accepted them). Returns 0 or -errno. */
int events_db_delete(struct events_db *db, const int64_t *ids, size_t n);

/*
 * Merges patch_json (an object, RFC 7396) into every stored event of that
 * file (its file_sha256): a bundle hashed after the block. With bundle_path
 * (a directory; NULL for none), an event whose file lies below it also gets
 * file_bundle_executable_rel_path, its path relative to bundle_path.
 * Returns how many events changed, or -errno.
 */
int events_db_annotate(struct events_db *db, const char *file_sha256, const char *patch_json,
		       const char *bundle_path);

int64_t events_db_count(struct events_db *db);
/* Events dropped because the database was full, since it was created. */
int64_t events_db_dropped(struct events_db *db);

#endif
