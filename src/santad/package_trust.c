/*
 * The package-trust loader thread: loads the snapshot at start, then waits
 * on inotify for dpkg, apt or a keyring to change and loads a new one once
 * the change has settled. Loading a desktop's worth of packages takes about
 * a second of reading; no exec waits for it except the very first ones at
 * start (package_trust_acquire), which must not be judged without it.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "package_trust.h"
#include "santa/clock.h"
#include "santa/log.h"
#include "santa/path.h"
#include "santa/policy.h"

/* A burst of changes (an apt run) is loaded once, after this much quiet... */
#define SETTLE_MSEC 500
/* ...but never later than this after it began. */
#define SETTLE_MAX_MSEC 10000
#define KEYRINGS_MAX 64
/* md5sums files written since the last view, looked in before the next: one dpkg run's worth. */
#define RECENT_MAX 256

/*
 * Open addressing, probing a few slots: when they are all taken, the last
 * is replaced and its file costs one MD5 pass again. A desktop has a few
 * thousand packaged programs.
 */
#define VERIFIED_SLOTS SANTA_VERIFIED_MAX
#define VERIFIED_PROBES 8
/*
 * A package dpkg has just installed or upgraded is verified at once, ahead
 * of the idle prescan, up to this much per view: its next exec then pays no
 * MD5 pass. Beyond it, the idle prescan gets to the rest.
 */
#define PROMPT_FILES_MAX 512
#define PROMPT_BYTES_MAX (256ull << 20)

/*
 * Both tables: a slot is empty while its dev and ino are 0. rec.md5 is
 * dpkg's record the bytes matched (a later view with the same record need
 * not read them), rec.ident which package, version and path it was.
 */
struct verified_file {
	struct santa_verified_file rec; /* first: both tables probe alike (slot_find) */
	const struct santa_dpkg_package *package; /* the snapshot's */
};

struct package_trust_snapshot {
	struct santa_pkgtrust *trust;
	unsigned int refs; /* under pt->lock; the one in force holds one */
	struct verified_file *verified; /* VERIFIED_SLOTS, allocated at the first file; under pt->lock */
};

struct package_trust {
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t loaded_cond;
	struct package_trust_snapshot *current;
	bool first_done, stopping, reload_asked;
	bool dirty; /* a watched file changed since the load in force began */
	pthread_mutex_t read_lock; /* one reader of the inotify fd at a time */
	int info_wd; /* the watch on dpkg's info directory */
	/* md5sums files dpkg wrote since the view in force was loaded (under lock). */
	char *recent[RECENT_MAX + 1];
	size_t n_recent;
	int wake_fd; /* eventfd: stop or reload */
	int changed_fd; /* eventfd: a new snapshot is in force */
	int inotify_fd;
	struct package_trust_status status;
	/*
	 * Every file verified, by any view, kept across restarts in
	 * verified_path (under lock): a record counts for a view only when the
	 * view lists the file at that path with that MD5 and package.
	 */
	struct santa_verified_file *records; /* VERIFIED_SLOTS */
	bool records_dirty;                  /* changed since last written */
	/* Packages of the md5sums files a load consumed: verified first (prescan). */
	char *prompt[RECENT_MAX + 1];
	const struct santa_log *log;

	char admindir[PATH_MAX], lists_dir[PATH_MAX], cache_path[PATH_MAX], verified_path[PATH_MAX];
	char *keyrings[KEYRINGS_MAX + 1], *platform[KEYRINGS_MAX + 1];
};

static void
snapshot_unref_locked(struct package_trust_snapshot *s)
{
	if (s && --s->refs == 0) {
		santa_pkgtrust_free(s->trust);
		free(s->verified);
		free(s);
	}
}

static size_t
slot_of(uint64_t dev, uint64_t ino)
{
	uint64_t h = dev * 0x9e3779b97f4a7c15ULL ^ ino;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (size_t)(h >> 32) & (VERIFIED_SLOTS - 1);
}

static bool
rec_used(const struct santa_verified_file *r)
{
	return r->dev || r->ino;
}

static void
rec_set_key(struct santa_verified_file *r, const struct santa_file_key *key)
{
	r->dev = (uint64_t)key->dev;
	r->ino = (uint64_t)key->ino;
	r->mtime_ns = key->mtime_ns;
	r->ctime_ns = key->ctime_ns;
	r->size = key->size;
}

/* The file as it was verified: same inode, times and size (a write or chmod moves ctime). */
static bool
rec_key_equal(const struct santa_verified_file *r, const struct santa_file_key *key)
{
	return r->dev == (uint64_t)key->dev && r->ino == (uint64_t)key->ino &&
	       r->mtime_ns == key->mtime_ns && r->ctime_ns == key->ctime_ns && r->size == key->size;
}

/* table: VERIFIED_SLOTS entries of stride bytes, each beginning with its record. */
static struct santa_verified_file *
slot_find(void *table, size_t stride, uint64_t dev, uint64_t ino, bool for_insert)
{
	size_t base = slot_of(dev, ino), i;
	struct santa_verified_file *v = NULL;

	for (i = 0; i < VERIFIED_PROBES; i++) {
		v = (void *)((char *)table + ((base + i) & (VERIFIED_SLOTS - 1)) * stride);
		if (rec_used(v) && v->dev == dev && v->ino == ino)
			return v;
		if (!rec_used(v))
			return for_insert ? v : NULL;
	}
	return for_insert ? v : NULL;
}

static struct verified_file *
snapshot_find(struct package_trust_snapshot *ref, const struct santa_file_key *key)
{
	struct santa_verified_file *r;

	if (!ref->verified)
		return NULL;
	r = slot_find(ref->verified, sizeof(*ref->verified), (uint64_t)key->dev,
		      (uint64_t)key->ino, false);
	return r && rec_key_equal(r, key) ? (struct verified_file *)r : NULL;
}

/* The record of key, verified as package's with md5 (under lock). */
static void
record_put_locked(struct package_trust *pt, const struct santa_file_key *key,
		  const struct santa_dpkg_package *package, const uint8_t md5[16])
{
	struct santa_verified_file *r;

	if (!pt->records)
		return;
	r = slot_find(pt->records, sizeof(*pt->records), (uint64_t)key->dev, (uint64_t)key->ino,
		      true);
	rec_set_key(r, key);
	memcpy(r->md5, md5, 16);
	santa_verified_ident(package->name, package->version, package->arch, r->ident);
	pt->records_dirty = true;
}

/*
 * The package a record vouches for in view t (santa_verified_match), with
 * dpkg's md5 for it if want_md5. The record is copied under the lock and
 * checked outside it: the check walks path (lstat), which may wait on a
 * filesystem, and no other worker's recall should wait behind it.
 */
static const struct santa_dpkg_package *
record_match(struct package_trust *pt, const struct santa_pkgtrust *t, const struct stat *st,
	     const char *path, const uint8_t *want_md5)
{
	const struct santa_verified_file *r;
	struct santa_verified_file copy;
	bool found = false;

	pthread_mutex_lock(&pt->lock);
	if (pt->records &&
	    (r = slot_find(pt->records, sizeof(*pt->records), (uint64_t)st->st_dev,
			   (uint64_t)st->st_ino, false))) {
		copy = *r;
		found = true;
	}
	pthread_mutex_unlock(&pt->lock);
	if (!found || (want_md5 && memcmp(copy.md5, want_md5, 16) != 0))
		return NULL;
	return santa_verified_match(t, &copy, st, path);
}

static void
remember_locked(struct package_trust *pt, struct package_trust_snapshot *ref,
		const struct santa_file_key *key, const struct santa_dpkg_package *package,
		const uint8_t md5[16])
{
	struct verified_file *v;

	if (!ref->verified)
		ref->verified = calloc(VERIFIED_SLOTS, sizeof(*ref->verified));
	if (!ref->verified)
		return;
	v = (struct verified_file *)slot_find(ref->verified, sizeof(*ref->verified),
					      (uint64_t)key->dev, (uint64_t)key->ino, true);
	rec_set_key(&v->rec, key);
	v->package = package;
	memcpy(v->rec.md5, md5, 16);
	record_put_locked(pt, key, package, md5);
}

/* Writes the records to verified_path if they changed (not under lock). */
static void
records_save(struct package_trust *pt)
{
	struct santa_verified_file *copy = NULL;
	size_t n = 0, i;
	int r;

	if (!pt->verified_path[0])
		return;
	pthread_mutex_lock(&pt->lock);
	if (pt->records && pt->records_dirty &&
	    (copy = malloc(VERIFIED_SLOTS * sizeof(*copy)))) {
		for (i = 0; i < VERIFIED_SLOTS; i++)
			if (rec_used(&pt->records[i]))
				copy[n++] = pt->records[i];
		pt->records_dirty = false;
	}
	pthread_mutex_unlock(&pt->lock);
	if (!copy)
		return;
	r = santa_verified_save(pt->verified_path, copy, n);
	if (r < 0)
		santa_log_errno(pt->log, LOG_WARNING, r,
				"package trust: verified files not saved to %s: %m", pt->verified_path);
	free(copy);
}

/*
 * The records of the last run: what a restart or a boot would otherwise
 * read again for MD5. Damaged, truncated or not santad's own: ignored
 * (logged), and replaced at the next save.
 */
static void
records_load(struct package_trust *pt)
{
	struct santa_verified_file *files = NULL, *slot;
	size_t n = 0, i, kept = 0;
	int r;

	if (!pt->records || !pt->verified_path[0])
		return;
	r = santa_verified_load(pt->verified_path, &files, &n);
	if (r < 0 && r != -ENOENT)
		santa_log_errno(pt->log, LOG_WARNING, r,
				"package trust: verified files in %s ignored (%m): rebuilt",
				pt->verified_path);
	pthread_mutex_lock(&pt->lock);
	for (i = 0; i < n; i++) {
		if (!rec_used(&files[i]))
			continue;
		slot = slot_find(pt->records, sizeof(*pt->records), files[i].dev, files[i].ino, true);
		*slot = files[i];
		kept++;
	}
	pt->status.records_loaded = kept;
	pt->records_dirty = r < 0 && r != -ENOENT; /* a bad file is replaced */
	pthread_mutex_unlock(&pt->lock);
	free(files);
}

static bool collect(struct package_trust *pt);

struct prescan {
	struct package_trust *pt;
	struct package_trust_snapshot *snap, *old;
	bool prompt_only; /* the first pass: only the packages dpkg has just written (pt->prompt) */
	uint64_t prompt_bytes;
	size_t files, verified, carried, refused, prompt_files;
};

static bool
prescan_should_stop(struct package_trust *pt)
{
	bool stop;

	collect(pt); /* a change while the prescan runs: the next view is due, this one is stale */
	pthread_mutex_lock(&pt->lock);
	stop = pt->stopping || pt->dirty || pt->reload_asked;
	pthread_mutex_unlock(&pt->lock);
	return stop;
}

/* Whether dpkg wrote name's md5sums since the last view (loader thread only, as pt->prompt). */
static bool
prompt_package(const struct package_trust *pt, const char *name)
{
	size_t i;

	for (i = 0; pt->prompt[i]; i++)
		if (strcmp(pt->prompt[i], name) == 0)
			return true;
	return false;
}

static int
prescan_file(const char *path, const struct santa_dpkg_package *pkg, const uint8_t md5[16],
	     void *userdata)
{
	struct prescan *ps = userdata;
	struct package_trust *pt = ps->pt;
	struct santa_file_key key;
	const struct verified_file *v;
	uint8_t got[16];
	struct stat st;
	bool carried = false, done = false;
	int fd;

	if (ps->files++ % 16 == 0 && prescan_should_stop(pt))
		return -ECANCELED;
	if (ps->prompt_only && !prompt_package(pt, pkg->name))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !santa_stat_is_root_trusted(&st)) {
		if (!ps->prompt_only)
			ps->refused++;
		goto out;
	}
	santa_file_key_of(&st, &key);
	pthread_mutex_lock(&pt->lock);
	if (snapshot_find(ps->snap, &key))
		done = true; /* the first pass verified it */
	else
		carried = (v = ps->old ? snapshot_find(ps->old, &key) : NULL) &&
			  memcmp(v->rec.md5, md5, 16) == 0;
	pthread_mutex_unlock(&pt->lock);
	/* Verified before (by the previous view, or before a restart) against the same record: not read again. */
	if (!done && !carried)
		carried = record_match(pt, ps->snap->trust, &st, path, md5) == pkg;
	if (carried) {
		pthread_mutex_lock(&pt->lock);
		remember_locked(pt, ps->snap, &key, pkg, md5);
		pthread_mutex_unlock(&pt->lock);
	}
	if (done)
		goto out;
	if (carried) {
		ps->carried++;
		goto out;
	}
	if (ps->prompt_only) {
		/* Bounded per change: a huge upgrade's remaining files are the idle pass's. */
		if (ps->prompt_files >= PROMPT_FILES_MAX ||
		    ps->prompt_bytes + (uint64_t)st.st_size > PROMPT_BYTES_MAX)
			goto out;
		ps->prompt_files++;
		ps->prompt_bytes += (uint64_t)st.st_size;
	}
	if (santa_pkgtrust_md5_fd(fd, got) == 0 && memcmp(got, md5, 16) == 0) {
		pthread_mutex_lock(&pt->lock);
		remember_locked(pt, ps->snap, &key, pkg, md5);
		pthread_mutex_unlock(&pt->lock);
		ps->verified++;
	} else if (!ps->prompt_only) {
		ps->refused++;
	}
out:
	close(fd);
	return 0;
}

/* The loader thread at idle priority, CPU and disk, while it reads every packaged program. */
static void
idle_priority(bool idle)
{
	struct sched_param sp = { 0 };

	(void)pthread_setschedparam(pthread_self(), idle ? SCHED_IDLE : SCHED_OTHER, &sp);
	/* ioprio_set(IOPRIO_WHO_PROCESS = 1, this thread, IOPRIO_CLASS_IDLE = 3 << 13, or none). */
	(void)syscall(SYS_ioprio_set, 1, (int)syscall(SYS_gettid), idle ? 3 << 13 : 0);
}

/*
 * Verifies every packaged program of the new view before it is run, so that
 * a decision finds it remembered and pays no MD5 pass (the cold-decision
 * budget: SHA-256 plus a lookup). Files verified before, by the previous
 * view or before a restart, against the same record are carried over
 * unread. First, at normal priority, the packages dpkg has just installed or
 * upgraded (their programs are about to run: maintainer scripts, the user
 * who asked for them), bounded; then the rest at idle priority. Stops when
 * a newer view is due. The records are saved at the end.
 */
static void
prescan(struct package_trust *pt, struct package_trust_snapshot *snap,
	struct package_trust_snapshot *old)
{
	struct prescan ps = { .pt = pt, .snap = snap, .old = old };
	const struct santa_dpkg_db *db = santa_pkgtrust_dpkg(snap->trust);
	uint64_t t0 = santa_mono_usec();
	size_t i;
	int r = 0;

	if (pt->prompt[0]) {
		ps.prompt_only = true;
		r = santa_dpkg_db_foreach_file(db, prescan_file, &ps);
		ps.prompt_only = false;
		pthread_mutex_lock(&pt->lock);
		pt->status.prompt_verified += ps.verified;
		pt->status.prompt_usec = santa_mono_usec() - t0;
		pthread_mutex_unlock(&pt->lock);
		if (r == 0) { /* a pass cut short by a newer view: that view's prompt pass has them */
			for (i = 0; pt->prompt[i]; i++)
				free(pt->prompt[i]);
			pt->prompt[0] = NULL;
		}
	}
	if (r == 0) {
		idle_priority(true);
		r = santa_dpkg_db_foreach_file(db, prescan_file, &ps);
		idle_priority(false);
	}
	pthread_mutex_lock(&pt->lock);
	pt->status.prescan_done = r == 0;
	pt->status.prescan_verified = ps.verified;
	pt->status.prescan_carried = ps.carried;
	pt->status.prescan_refused = ps.refused;
	pt->status.prescan_usec = santa_mono_usec() - t0;
	pthread_mutex_unlock(&pt->lock);
	records_save(pt);
}

/* The package an md5sums path names: info/NAME.md5sums or info/NAME:ARCH.md5sums (names may hold dots). */
static char *
md5sums_package(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 8 && strcmp(base + len - 8, ".md5sums") == 0)
		len -= 8;
	len = strcspn(base, ":") < len ? strcspn(base, ":") : len;
	return len ? strndup(base, len) : NULL;
}

static void
load(struct package_trust *pt)
{
	struct santa_pkgtrust_paths paths = {
		.dpkg = { .admindir = pt->admindir, .root = "",
			  .cache_path = pt->cache_path[0] ? pt->cache_path : NULL },
		.apt = { .lists_dir = pt->lists_dir,
			 .keyrings = (const char *const *)pt->keyrings,
			 .platform_keyrings = (const char *const *)pt->platform },
	};
	struct package_trust_snapshot *s = calloc(1, sizeof(*s)), *old = NULL, *fresh = NULL;
	uint64_t t0 = santa_mono_usec();
	char why[512] = "";
	size_t seen, i;
	int r = -ENOMEM;

	/* What changes from here on is for the next load. */
	pthread_mutex_lock(&pt->lock);
	pt->dirty = false;
	seen = pt->n_recent;
	pthread_mutex_unlock(&pt->lock);
	if (s)
		r = santa_pkgtrust_load(&paths, &s->trust, why, sizeof(why));
	pthread_mutex_lock(&pt->lock);
	if (r == 0) {
		size_t np = 0;

		/* Their packages are verified first (prescan); the loader thread alone touches prompt. */
		while (pt->prompt[np])
			np++;
		for (i = 0; i < seen && np < RECENT_MAX; i++)
			if ((pt->prompt[np] = md5sums_package(pt->recent[i])))
				pt->prompt[++np] = NULL;
		/* The new view has read the md5sums files written before it began. */
		for (i = 0; i < seen; i++)
			free(pt->recent[i]);
		memmove(pt->recent, pt->recent + seen, (pt->n_recent - seen) * sizeof(pt->recent[0]));
		pt->n_recent -= seen;
		pt->recent[pt->n_recent] = NULL;
	}
	pt->status.load_usec = santa_mono_usec() - t0;
	if (r == 0) {
		s->refs = 2; /* the view in force, and the prescan below */
		old = pt->current;
		pt->current = s;
		fresh = s;
		s = NULL;
		pt->status.prescan_done = false;
		pt->status.loaded = true;
		pt->status.generation++;
		pt->status.loaded_at = (int64_t)time(NULL);
		pt->status.error[0] = '\0';
		santa_pkgtrust_stats(pt->current->trust, &pt->status.stats);
	} else {
		/* The snapshot in force (if any) stays: a half-written dpkg status is retried at the next change. */
		snprintf(pt->status.error, sizeof(pt->status.error), "%s",
			 why[0] ? why : strerror(-r));
	}
	if (r == 0) {
		uint64_t one = 1;

		if (write(pt->changed_fd, &one, sizeof(one)) < 0) {
			/* Only a full counter fails: the loop has a flush to do already. */
		}
	}
	pt->first_done = true;
	pthread_cond_broadcast(&pt->loaded_cond);
	pthread_mutex_unlock(&pt->lock);
	free(s);
	if (fresh)
		prescan(pt, fresh, old);
	pthread_mutex_lock(&pt->lock);
	snapshot_unref_locked(fresh);
	snapshot_unref_locked(old);
	pthread_mutex_unlock(&pt->lock);
}

static int
watch(struct package_trust *pt, const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (!path || !*path)
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s", path);
	/* A keyring file is watched through its directory: apt replaces files by rename. */
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		slash = strrchr(dir, '/');
		if (!slash)
			return -EINVAL;
		*(slash == dir ? slash + 1 : slash) = '\0';
	}
	return inotify_add_watch(pt->inotify_fd, dir,
				 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE);
}

static void
note_md5sums(struct package_trust *pt, const char *name)
{
	char path[PATH_MAX];
	size_t len = strlen(name), i;

	if (len < 8 || strcmp(name + len - 8, ".md5sums") != 0)
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/info/%s", pt->admindir, name) >= sizeof(path))
		return;
	for (i = 0; i < pt->n_recent; i++)
		if (strcmp(pt->recent[i], path) == 0)
			return;
	/* Beyond the cap the next view, already due, will have them. */
	if (pt->n_recent < RECENT_MAX && (pt->recent[pt->n_recent] = strdup(path)))
		pt->recent[++pt->n_recent] = NULL;
}

/*
 * Reads what inotify has: md5sums files dpkg wrote are noted, and any
 * change makes the view due for a reload. Called by the loader thread, and
 * by a worker that is about to look for a file the view does not have (so
 * that a package dpkg has just installed is found at once, before the
 * loader thread has even woken). Returns whether anything changed.
 */
static bool
collect(struct package_trust *pt)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;
	ssize_t n;

	pthread_mutex_lock(&pt->read_lock);
	while ((n = read(pt->inotify_fd, buf, sizeof(buf))) > 0) {
		const char *p = buf;

		pthread_mutex_lock(&pt->lock);
		while (p < buf + n) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->wd == pt->info_wd && ev->len && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
				note_md5sums(pt, ev->name);
			p += sizeof(*ev) + ev->len;
		}
		pt->dirty = true;
		pthread_mutex_unlock(&pt->lock);
		any = true;
	}
	pthread_mutex_unlock(&pt->read_lock);
	return any;
}

static void
drain_wake(int fd)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
}

static void *
loader_main(void *arg)
{
	struct package_trust *pt = arg;
	char info[PATH_MAX];
	size_t i;

	/* Watches first: a change while the first view loads must not be missed. */
	watch(pt, pt->admindir);
	if ((size_t)snprintf(info, sizeof(info), "%s/info", pt->admindir) < sizeof(info))
		pt->info_wd = watch(pt, info);
	watch(pt, pt->lists_dir);
	for (i = 0; pt->keyrings[i]; i++)
		watch(pt, pt->keyrings[i]);
	for (i = 0; pt->platform[i]; i++)
		watch(pt, pt->platform[i]);
	records_load(pt);
	load(pt);

	for (;;) {
		struct pollfd fds[2] = { { .fd = pt->wake_fd, .events = POLLIN },
					 { .fd = pt->inotify_fd, .events = POLLIN } };
		bool dirty, stop, asked;
		uint64_t began;
		int timeout;

		/* Changes collected meanwhile (by a worker, or during the prescan) are not for poll to see. */
		pthread_mutex_lock(&pt->lock);
		timeout = pt->dirty || pt->reload_asked || pt->stopping ? 0 : -1;
		pthread_mutex_unlock(&pt->lock);
		if (poll(fds, 2, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			drain_wake(pt->wake_fd);
		collect(pt);
		pthread_mutex_lock(&pt->lock);
		stop = pt->stopping;
		asked = pt->reload_asked;
		pt->reload_asked = false;
		dirty = pt->dirty;
		pthread_mutex_unlock(&pt->lock);
		if (stop)
			break;
		if (dirty && !asked) {
			/* Wait for the burst to end: dpkg rewrites status many times in one run. */
			began = santa_mono_usec();
			while (santa_mono_usec() - began < SETTLE_MAX_MSEC * 1000ULL) {
				struct pollfd quiet[2] = { { .fd = pt->wake_fd, .events = POLLIN },
							   { .fd = pt->inotify_fd, .events = POLLIN } };

				if (poll(quiet, 2, SETTLE_MSEC) <= 0)
					break;
				if (quiet[0].revents) {
					drain_wake(pt->wake_fd);
					pthread_mutex_lock(&pt->lock);
					stop = pt->stopping || pt->reload_asked;
					pthread_mutex_unlock(&pt->lock);
					if (stop)
						break; /* stop or reload: handled below */
					continue; /* a worker collected events: still busy */
				}
				collect(pt);
			}
			pthread_mutex_lock(&pt->lock);
			stop = pt->stopping;
			pthread_mutex_unlock(&pt->lock);
			if (stop)
				break;
		}
		if (dirty || asked)
			load(pt);
	}
	return NULL;
}

static int
copy_list(char **dst, const struct santa_strv *src)
{
	size_t i;

	for (i = 0; i < src->n && i < KEYRINGS_MAX; i++) {
		dst[i] = strdup(src->items[i]);
		if (!dst[i])
			return -ENOMEM;
	}
	dst[i] = NULL;
	return 0;
}

int
package_trust_start(const struct santa_config *cfg, const struct santa_log *log,
		    struct package_trust **out)
{
	struct package_trust *pt = calloc(1, sizeof(*pt));
	int r;

	*out = NULL;
	if (!pt)
		return -ENOMEM;
	pthread_mutex_init(&pt->lock, NULL);
	pthread_mutex_init(&pt->read_lock, NULL);
	pt->info_wd = -1;
	pt->log = log;
	pthread_cond_init(&pt->loaded_cond, NULL);
	pt->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pt->changed_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pt->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (pt->wake_fd < 0 || pt->changed_fd < 0 || pt->inotify_fd < 0) {
		r = -errno;
		goto fail;
	}
	snprintf(pt->admindir, sizeof(pt->admindir), "%s", cfg->package_trust_dpkg_dir);
	snprintf(pt->lists_dir, sizeof(pt->lists_dir), "%s", cfg->package_trust_apt_lists_dir);
	snprintf(pt->cache_path, sizeof(pt->cache_path), "%s",
		 cfg->package_trust_cache_path ? cfg->package_trust_cache_path : "");
	/* Beside the view cache, as root's as it is. */
	if (pt->cache_path[0] && (size_t)snprintf(pt->verified_path, sizeof(pt->verified_path),
						  "%s.verified", pt->cache_path) >= sizeof(pt->verified_path))
		pt->verified_path[0] = '\0';
	pt->records = calloc(VERIFIED_SLOTS, sizeof(*pt->records));
	r = pt->records ? copy_list(pt->keyrings, &cfg->package_trust_keyrings) : -ENOMEM;
	if (r == 0)
		r = copy_list(pt->platform, &cfg->package_trust_platform_keyrings);
	if (r < 0)
		goto fail;
	r = -pthread_create(&pt->thread, NULL, loader_main, pt);
	if (r < 0)
		goto fail;
	pt->thread_started = true;
	*out = pt;
	return 0;
fail:
	package_trust_stop(pt);
	return r;
}

static void
wake(struct package_trust *pt)
{
	uint64_t one = 1;

	if (write(pt->wake_fd, &one, sizeof(one)) < 0) {
		/* The counter is full: the thread is already due to wake. */
	}
}

void
package_trust_stop(struct package_trust *pt)
{
	size_t i;

	if (!pt)
		return;
	if (pt->thread_started) {
		pthread_mutex_lock(&pt->lock);
		pt->stopping = true;
		pthread_mutex_unlock(&pt->lock);
		wake(pt);
		pthread_join(pt->thread, NULL);
		records_save(pt); /* what decisions verified since the prescan */
	}
	pthread_mutex_lock(&pt->lock);
	snapshot_unref_locked(pt->current);
	pt->current = NULL;
	pthread_mutex_unlock(&pt->lock);
	if (pt->wake_fd >= 0)
		close(pt->wake_fd);
	if (pt->changed_fd >= 0)
		close(pt->changed_fd);
	if (pt->inotify_fd >= 0)
		close(pt->inotify_fd);
	for (i = 0; pt->keyrings[i]; i++)
		free(pt->keyrings[i]);
	for (i = 0; pt->platform[i]; i++)
		free(pt->platform[i]);
	for (i = 0; i < pt->n_recent; i++)
		free(pt->recent[i]);
	for (i = 0; pt->prompt[i]; i++)
		free(pt->prompt[i]);
	free(pt->records);
	pthread_cond_destroy(&pt->loaded_cond);
	pthread_mutex_destroy(&pt->read_lock);
	pthread_mutex_destroy(&pt->lock);
	free(pt);
}

const struct santa_pkgtrust *
package_trust_acquire(struct package_trust *pt, uint64_t deadline_usec,
		      struct package_trust_snapshot **ref)
{
	struct package_trust_snapshot *s = NULL;

	*ref = NULL;
	if (!pt)
		return NULL;
	pthread_mutex_lock(&pt->lock);
	while (!pt->first_done && !pt->stopping) {
		uint64_t now = santa_mono_usec();
		struct timespec ts;

		if (now >= deadline_usec)
			break;
		/* The condition variable runs on CLOCK_REALTIME: wait in short steps of the monotonic budget. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)((deadline_usec - now > 50000 ? 50000 : deadline_usec - now) * 1000);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&pt->loaded_cond, &pt->lock, &ts);
	}
	s = pt->current;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&pt->lock);
	*ref = s;
	return s ? s->trust : NULL;
}

void
package_trust_release(struct package_trust *pt, struct package_trust_snapshot *ref)
{
	if (!pt || !ref)
		return;
	pthread_mutex_lock(&pt->lock);
	snapshot_unref_locked(ref);
	pthread_mutex_unlock(&pt->lock);
}

bool
package_trust_md5_wanted(struct package_trust *pt, const struct santa_file_key *key,
			 const char *path, const struct stat *st)
{
	struct package_trust_snapshot *ref = NULL;
	const struct santa_pkgtrust *trust;
	bool wanted = false, recent;

	trust = package_trust_acquire(pt, 0, &ref);
	if (!trust)
		return false;
	if (!package_trust_recall(pt, ref, key, path, st)) {
		pthread_mutex_lock(&pt->lock);
		recent = pt->n_recent > 0;
		pthread_mutex_unlock(&pt->lock);
		wanted = santa_pkgtrust_may_read(trust, st, path, recent);
	}
	package_trust_release(pt, ref);
	return wanted;
}

char **
package_trust_recent_md5sums(struct package_trust *pt)
{
	char **list = NULL;
	size_t i;

	if (!pt)
		return NULL;
	if (collect(pt))
		wake(pt); /* the loader thread's poll may not see what was read here */
	pthread_mutex_lock(&pt->lock);
	if (pt->n_recent && (list = calloc(pt->n_recent + 1, sizeof(*list))))
		for (i = 0; i < pt->n_recent; i++)
			list[i] = strdup(pt->recent[i]);
	pthread_mutex_unlock(&pt->lock);
	return list;
}

void
package_trust_free_list(char **list)
{
	size_t i;

	for (i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

bool
package_trust_loading(struct package_trust *pt)
{
	bool loading;

	if (!pt)
		return false;
	pthread_mutex_lock(&pt->lock);
	loading = !pt->first_done;
	pthread_mutex_unlock(&pt->lock);
	return loading;
}

int
package_trust_changed_fd(struct package_trust *pt)
{
	return pt->changed_fd;
}

void
package_trust_remember(struct package_trust *pt, struct package_trust_snapshot *ref,
		       const struct santa_file_key *key, const char *path,
		       const struct santa_dpkg_package *package)
{
	struct santa_dpkg_file files[8];
	size_t n, i;

	if (!pt || !ref || !package)
		return;
	/* The record package's bytes matched: the view's MD5 for it at path. */
	n = santa_dpkg_db_find(santa_pkgtrust_dpkg(ref->trust), path, files, 8);
	for (i = 0; i < n && i < 8 && files[i].package != package; i++)
		;
	if (i == n || i == 8)
		return;
	pthread_mutex_lock(&pt->lock);
	remember_locked(pt, ref, key, package, files[i].md5);
	pthread_mutex_unlock(&pt->lock);
}

const struct santa_dpkg_package *
package_trust_recall(struct package_trust *pt, struct package_trust_snapshot *ref,
		     const struct santa_file_key *key, const char *path, const struct stat *st)
{
	const struct santa_dpkg_package *package = NULL;
	const struct verified_file *v;
	struct santa_dpkg_file files[8];
	struct santa_file_key now;
	size_t n, i;

	if (!pt || !ref)
		return NULL;
	santa_file_key_of(st, &now);
	pthread_mutex_lock(&pt->lock);
	/* The same file with the same times and size: the bytes dpkg's MD5 matched. */
	if ((v = snapshot_find(ref, key)))
		package = v->package;
	pthread_mutex_unlock(&pt->lock);
	if (package || !santa_file_key_equal(&now, key) ||
	    !(package = record_match(pt, ref->trust, st, path, NULL)))
		return package;
	/* Verified by an earlier view or before a restart, and the view still lists it so. */
	n = santa_dpkg_db_find(santa_pkgtrust_dpkg(ref->trust), path, files, 8);
	pthread_mutex_lock(&pt->lock);
	for (i = 0; i < n && i < 8; i++)
		if (files[i].package == package)
			remember_locked(pt, ref, key, package, files[i].md5);
	pt->status.records_used++;
	pthread_mutex_unlock(&pt->lock);
	return package;
}

void
package_trust_reload(struct package_trust *pt)
{
	if (!pt)
		return;
	pthread_mutex_lock(&pt->lock);
	pt->reload_asked = true;
	pthread_mutex_unlock(&pt->lock);
	wake(pt);
}

void
package_trust_status(struct package_trust *pt, struct package_trust_status *out)
{
	memset(out, 0, sizeof(*out));
	if (!pt)
		return;
	pthread_mutex_lock(&pt->lock);
	*out = pt->status;
	pthread_mutex_unlock(&pt->lock);
}
