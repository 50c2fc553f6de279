/*
 * santad's package trust (docs/package-trust.md): the snapshot of dpkg's and
 * apt's views that gives a packaged program its SIGNINGID, CERTIFICATE and
 * TEAMID identifiers, loaded and kept current by a thread of its own.
 *
 * Threads: the loader thread reads dpkg's and apt's files (never the loop,
 * never a hash worker) and watches them with inotify; a change is loaded
 * into a new snapshot, swapped in whole. Workers take a reference to the
 * snapshot in force, so an exec is decided against one consistent view.
 */
#ifndef SANTAD_PACKAGE_TRUST_H
#define SANTAD_PACKAGE_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "santa/config.h"
#include "santa/pkgtrust.h"

struct package_trust;
struct package_trust_snapshot;

/* Starts the loader thread on cfg's paths (copied). Returns 0 or -errno. */
struct santa_log;
int package_trust_start(const struct santa_config *cfg, const struct santa_log *log,
			struct package_trust **out);
/* Stops the thread and frees everything once no snapshot is held. */
void package_trust_stop(struct package_trust *pt);

/*
 * The snapshot in force, referenced. Before the first load finishes, waits
 * for it until deadline_usec (santa_mono_usec clock): at boot the first
 * programs are packaged ones and must not be judged without it. NULL: none
 * (not loaded by then, or the load failed).
 */
const struct santa_pkgtrust *package_trust_acquire(struct package_trust *pt,
						   uint64_t deadline_usec,
						   struct package_trust_snapshot **ref);
void package_trust_release(struct package_trust *pt, struct package_trust_snapshot *ref);

/*
 * Readable (an eventfd: read it to reset) after each snapshot swapped in:
 * decisions made under the previous one must be forgotten, allowed files'
 * ignore marks included, or a removed package's programs would still run.
 */
int package_trust_changed_fd(struct package_trust *pt);

/*
 * Files verified, by their key (dev, ino, mtime, ctime, size): a decision
 * after a flush, a new view or a restart finds the package again without
 * reading the file for its MD5. path: the file's canonical path; package:
 * ref's. Each view keeps its own table; every file verified is also kept,
 * across views and restarts (PackageTrustCachePath + ".verified"), as the
 * MD5 record and package it matched, used by recall only while the key is
 * unchanged, st is root's and writable by no one else, and ref's view
 * lists that path with that MD5 for that package, version and arch.
 * recall returns NULL when none holds.
 */
struct santa_file_key;
struct stat;
void package_trust_remember(struct package_trust *pt, struct package_trust_snapshot *ref,
			    const struct santa_file_key *key, const char *path,
			    const struct santa_dpkg_package *package);
const struct santa_dpkg_package *package_trust_recall(struct package_trust *pt,
						      struct package_trust_snapshot *ref,
						      const struct santa_file_key *key, const char *path,
						      const struct stat *st);

/*
 * Whether a decision about this file (root's, at path) would read it for
 * its MD5: the view in force lists path (or dpkg has newer records) and the
 * file is not remembered. A worker about to hash it then computes the MD5
 * from the same reads. False while no view is loaded.
 */
bool package_trust_md5_wanted(struct package_trust *pt, const struct santa_file_key *key,
			      const char *path, const struct stat *st);

/*
 * The md5sums files dpkg wrote since the view in force was loaded, as a
 * malloc'd NULL-terminated list (package_trust_free_list), or NULL when
 * there are none: where a package installed a moment ago is found before
 * the next view. Reads pending inotify events first. Any thread.
 */
char **package_trust_recent_md5sums(struct package_trust *pt);
void package_trust_free_list(char **list);

/* True until the first load has finished (well or not). */
bool package_trust_loading(struct package_trust *pt);

/* Asks the thread to load again now (SIGHUP). */
void package_trust_reload(struct package_trust *pt);

struct package_trust_status {
	bool loaded;
	uint64_t generation;  /* snapshots loaded so far */
	uint64_t load_usec;   /* how long the last load took */
	int64_t loaded_at;    /* Unix seconds */
	char error[512];      /* the last load's failure, "" if none */
	/* The view's packaged programs verified before they run (package_trust.c: prescan). */
	bool prescan_done;
	size_t prescan_verified, prescan_carried, prescan_refused; /* read, carried unread, refused */
	uint64_t prescan_usec;
	/* Records read from the last run's file, and decisions they spared an MD5 pass. */
	size_t records_loaded;
	uint64_t records_used;
	/* Programs of packages dpkg had just written, verified ahead of the idle pass (all views). */
	uint64_t prompt_verified, prompt_usec;
	struct santa_pkgtrust_stats stats;
};
void package_trust_status(struct package_trust *pt, struct package_trust_status *out);

#endif
