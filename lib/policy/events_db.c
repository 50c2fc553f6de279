/*
 * events.db in SQLite: one table of JSON objects and a meta row counting the
 * events dropped at the cap. Inserts come in batches from santad's log writer
 * thread, so one transaction covers many events.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "santa/events_db.h"

#define EVENTS_SCHEMA_VERSION 1

struct events_db {
	sqlite3 *db;
	uint64_t max_events;
	pthread_mutex_t lock;
};

static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int64_t
query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -EIO;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int
events_db_open(const char *path, uint64_t max_events, struct events_db **out, char *why,
	       size_t why_size)
{
	struct events_db *edb;
	int64_t version;
	int rc;

	*out = NULL;
	edb = calloc(1, sizeof(*edb));
	if (!edb)
		return -ENOMEM;
	pthread_mutex_init(&edb->lock, NULL);
	edb->max_events = max_events ? max_events : 1;
	rc = sqlite3_open_v2(path, &edb->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
				     SQLITE_OPEN_FULLMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, why_size, "cannot open %s: %s", path,
			 edb->db ? sqlite3_errmsg(edb->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(edb->db, 2000);
	if (exec_sql(edb->db, "PRAGMA journal_mode = WAL") < 0 ||
	    exec_sql(edb->db, "PRAGMA synchronous = NORMAL") < 0 ||
	    (version = query_int(edb->db, "PRAGMA user_version")) < 0)
		goto bad;
	if (version > EVENTS_SCHEMA_VERSION) {
		snprintf(why, why_size, "%s: schema version %lld is newer than this santad", path,
			 (long long)version);
		goto fail;
	}
	if (version < 1 &&
	    (exec_sql(edb->db, "BEGIN IMMEDIATE") < 0 ||
	     exec_sql(edb->db, "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT,"
			       " created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
			       " json TEXT NOT NULL);"
			       "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
			       "INSERT INTO meta VALUES ('dropped', 0);"
			       "PRAGMA user_version = 1;") < 0 ||
	     exec_sql(edb->db, "COMMIT") < 0)) {
		exec_sql(edb->db, "ROLLBACK");
		goto bad;
	}
	if (query_int(edb->db, "SELECT count(*) FROM events") < 0)
		goto bad;
	*out = edb;
	return 0;
bad:
	snprintf(why, why_size, "%s is not a usable events database (%s); it was left as it is",
		 path, sqlite3_errmsg(edb->db));
	events_db_close(edb);
	return -EBADMSG;
fail:
	events_db_close(edb);
	return -EIO;
}

void
events_db_close(struct events_db *edb)
{
	if (!edb)
		return;
	sqlite3_close_v2(edb->db);
	pthread_mutex_destroy(&edb->lock);
	free(edb);
}

int
events_db_add(struct events_db *edb, const char *const *json, size_t n)
{
	sqlite3_stmt *ins = NULL, *trim = NULL;
	int64_t dropped = 0;
	size_t i;
	int r = -EIO;

	pthread_mutex_lock(&edb->lock);
	if (exec_sql(edb->db, "BEGIN IMMEDIATE") < 0)
		goto out;
	if (sqlite3_prepare_v2(edb->db, "INSERT INTO events (json) VALUES (?)", -1, &ins, NULL) !=
	    SQLITE_OK)
		goto rollback;
	for (i = 0; i < n; i++) {
		sqlite3_bind_text(ins, 1, json[i], -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto rollback;
		sqlite3_reset(ins);
	}
	/* Keep the newest max_events: the oldest go first, and are counted. */
	if (sqlite3_prepare_v2(edb->db,
			       "DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?",
			       -1, &trim, NULL) != SQLITE_OK)
		goto rollback;
	sqlite3_bind_int64(trim, 1, (sqlite3_int64)edb->max_events);
	if (sqlite3_step(trim) != SQLITE_DONE)
		goto rollback;
	dropped = sqlite3_changes(edb->db);
	if (dropped > 0) {
		char sql[96];

		snprintf(sql, sizeof(sql), "UPDATE meta SET value = value + %lld WHERE key = 'dropped'",
			 (long long)dropped);
		if (exec_sql(edb->db, sql) < 0)
			goto rollback;
	}
	if (exec_sql(edb->db, "COMMIT") == 0) {
		r = (int)dropped;
		goto out;
	}
rollback:
	exec_sql(edb->db, "ROLLBACK");
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(trim);
	pthread_mutex_unlock(&edb->lock);
	return r;
}

int
events_db_fetch(struct events_db *edb, int64_t after_id, size_t limit, struct stored_event *out)
{
	sqlite3_stmt *st;
	size_t n = 0;

	pthread_mutex_lock(&edb->lock);
	if (sqlite3_prepare_v2(edb->db,
			       "SELECT id, json FROM events WHERE id > ? ORDER BY id LIMIT ?", -1,
			       &st, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&edb->lock);
		return -EIO;
	}
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while (n < limit && sqlite3_step(st) == SQLITE_ROW) {
		out[n].id = sqlite3_column_int64(st, 0);
		out[n].json = strdup((const char *)sqlite3_column_text(st, 1));
		if (!out[n].json)
			break;
		n++;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&edb->lock);
	return (int)n;
}

void
stored_events_free(struct stored_event *events, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(events[i].json);
}

int
events_db_delete(struct events_db *edb, const int64_t *ids, size_t n)
{
	sqlite3_stmt *st;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&edb->lock);
	if (exec_sql(edb->db, "BEGIN IMMEDIATE") < 0 ||
	    sqlite3_prepare_v2(edb->db, "DELETE FROM events WHERE id = ?", -1, &st, NULL) !=
		    SQLITE_OK) {
		pthread_mutex_unlock(&edb->lock);
		return -EIO;
	}
	for (i = 0; i < n && r == 0; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = -EIO;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	exec_sql(edb->db, r == 0 ? "COMMIT" : "ROLLBACK");
	pthread_mutex_unlock(&edb->lock);
	return r;
}

int64_t
events_db_count(struct events_db *edb)
{
	int64_t n;

	pthread_mutex_lock(&edb->lock);
	n = query_int(edb->db, "SELECT count(*) FROM events");
	pthread_mutex_unlock(&edb->lock);
	return n;
}

int64_t
events_db_dropped(struct events_db *edb)
{
	int64_t n;

	pthread_mutex_lock(&edb->lock);
	n = query_int(edb->db, "SELECT value FROM meta WHERE key = 'dropped'");
	pthread_mutex_unlock(&edb->lock);
	return n;
}

int
events_db_annotate(struct events_db *edb, const char *file_sha256, const char *patch_json,
		   const char *bundle_path)
{
	sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&edb->lock);
	/* json_patch (RFC 7396): the bundle's fields are added or replaced, nothing else moves. */
	if (sqlite3_prepare_v2(edb->db,
			       "UPDATE events SET json = json_patch(json, ?2)"
			       " WHERE json_extract(json, '$.file_sha256') = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, file_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, patch_json, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(edb->db) : -EIO;
	if (r <= 0 || !bundle_path || !bundle_path[0])
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	/*
	 * Santa's file_bundle_executable_rel_path: per event, as two copies of
	 * one file may lie in two places. file_path is the directory, file_name
	 * the last component (upload_event_json); a path not below the bundle
	 * gets nothing.
	 */
	if (sqlite3_prepare_v2(edb->db,
			       "UPDATE events SET json = json_set(json,"
			       " '$.file_bundle_executable_rel_path',"
			       " substr(rtrim(json_extract(json, '$.file_path'), '/') || '/' ||"
			       "  json_extract(json, '$.file_name'), length(?2) + 2))"
			       " WHERE json_extract(json, '$.file_sha256') = ?1"
			       " AND substr(rtrim(json_extract(json, '$.file_path'), '/') || '/', 1,"
			       "  length(?2) + 1) = ?2 || '/'",
			       -1, &st, NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, file_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, bundle_path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = -EIO;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&edb->lock);
	return r;
}
