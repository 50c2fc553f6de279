/*
 * Read leases kept until an allowed exec holds writers off (lease_hold.h).
 */
#include <dirent.h>
#include <pthread.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "santa/clock.h"
#include "lease_hold.h"

/* How often held files are looked at: an exec settles within microseconds of its answer. */
#define LEASE_HOLD_POLL_USEC 1000
/* A process's threads looked at for one that is still inside execve. */
#define LEASE_HOLD_TASKS_MAX 4096
/* lease-break-time as read: the kernel's default when unreadable, and a bound on a huge one. */
#define LEASE_BREAK_DEFAULT_SEC 45
#define LEASE_BREAK_MAX_SEC     3600
#define LEASE_AGE_MARGIN_SEC    15

/* One held file, allocated with as many pids as it follows (most: one). */
struct held {
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t since_usec; /* handed over (just after the answer) */
	unsigned int n_pids;
	pid_t pids[];
};

/*
 * The held files are looked at on a thread of their own, which alone owns
 * them: reading a task's syscall file waits for its exec_update_lock, which
 * an exec holds for a moment that a user can stretch by starving their own
 * exec'ing task; the loop must never wait for that. The loop only appends
 * to `incoming` under the lock.
 */
struct lease_holds {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, started;      /* under lock */
	unsigned int max;
	uint64_t max_age_usec;
	unsigned int n_incoming; /* under lock */
	struct held **incoming;  /* under lock */
	uint64_t full, expired;  /* under lock */
	unsigned int n_held;     /* under lock (written by the thread) */
	/* The thread's own. */
	unsigned int n;
	struct held **held; /* oldest first */
};

/*
 * Whether any thread of pid may still be inside execve: its syscall file
 * says "running" (on a CPU or runnable: not known) or names execve/execveat.
 */
static bool
in_execve(pid_t pid)
{
	char path[64], buf[64];
	struct dirent *de;
	unsigned int n = 0;
	bool busy = false;
	ssize_t len;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return false; /* gone */
	while (!busy && (de = readdir(dir)) && n++ < LEASE_HOLD_TASKS_MAX) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/syscall", (int)pid, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* that thread is gone */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0) {
			busy = true; /* unreadable: not known, so not settled */
			continue;
		}
		buf[len] = '\0';
		/* x86-64: 59 execve, 322 execveat (santad is built for the machine it runs on). */
		busy = strncmp(buf, "running", 7) == 0 || strncmp(buf, "59 ", 3) == 0 ||
		       strncmp(buf, "322 ", 4) == 0;
	}
	if (n > LEASE_HOLD_TASKS_MAX)
		busy = true;
	closedir(dir);
	return busy;
}

/* The exec of pid has gone past the point where the kernel refuses writers (or failed). */
static bool
settled(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ESRCH; /* gone, or a zombie */
	if (st.st_dev == dev && st.st_ino == ino)
		return true;
	return !in_execve(pid);
}

static bool
held_settled(struct held *h)
{
	while (h->n_pids > 0) {
		if (!settled(h->pids[h->n_pids - 1], h->dev, h->ino))
			return false;
		h->n_pids--;
	}
	return true;
}

/* Lease and fd go, and the entry with them. */
static void
release(struct held *h)
{
	(void)fcntl(h->fd, F_SETLEASE, F_UNLCK);
	close(h->fd);
	free(h);
}

/*
 * Lets go of every settled file, and of those held past the age bound
 * (returns how many of those). Not by F_GETLEASE: a lease a writer waits
 * on reads F_UNLCK while it is broken, and that writer is the one to hold
 * off; the kernel removes it after lease-break-time by itself.
 */
static unsigned int
sweep(struct lease_holds *hs)
{
	uint64_t now = santa_mono_usec();
	unsigned int i, kept = 0, expired = 0;

	for (i = 0; i < hs->n; i++) {
		struct held *h = hs->held[i];

		if (held_settled(h)) {
			release(h);
		} else if (now - h->since_usec >= hs->max_age_usec) {
			release(h);
			expired++;
		} else {
			hs->held[kept++] = h;
		}
	}
	hs->n = kept;
	return expired;
}

/* The thread: takes the new files in (oldest let go when full), sweeps, pauses. */
static void *
run(void *arg)
{
	struct lease_holds *hs = arg;
	struct timespec pause = { 0, LEASE_HOLD_POLL_USEC * 1000 };
	unsigned int i, evicted, expired;

	pthread_mutex_lock(&hs->lock);
	while (!hs->stop) {
		if (hs->n == 0 && hs->n_incoming == 0) {
			hs->n_held = 0;
			pthread_cond_wait(&hs->cond, &hs->lock);
			continue;
		}
		evicted = 0;
		for (i = 0; i < hs->n_incoming; i++) {
			if (hs->n == hs->max) {
				/* No room: the longest-held goes (a process stuck long before it runs). */
				release(hs->held[0]);
				memmove(&hs->held[0], &hs->held[1], (hs->n - 1) * sizeof(*hs->held));
				hs->n--;
				evicted++;
			}
			hs->held[hs->n++] = hs->incoming[i];
		}
		hs->n_incoming = 0;
		hs->full += evicted;
		pthread_mutex_unlock(&hs->lock);
		expired = sweep(hs);
		pthread_mutex_lock(&hs->lock);
		hs->expired += expired;
		hs->n_held = hs->n;
		if (hs->n > 0 && !hs->stop) {
			pthread_mutex_unlock(&hs->lock);
			(void)nanosleep(&pause, NULL);
			pthread_mutex_lock(&hs->lock);
		}
	}
	pthread_mutex_unlock(&hs->lock);
	return NULL;
}

int
lease_holds_new(unsigned int max, uint64_t max_age_usec, struct lease_holds **out)
{
	struct lease_holds *hs;
	int r;

	hs = calloc(1, sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	hs->max = max ? max : 1;
	hs->max_age_usec = max_age_usec;
	hs->held = calloc(hs->max, sizeof(*hs->held));
	hs->incoming = calloc(hs->max, sizeof(*hs->incoming));
	pthread_mutex_init(&hs->lock, NULL);
	pthread_cond_init(&hs->cond, NULL);
	if (!hs->held || !hs->incoming) {
		lease_holds_free(hs);
		return -ENOMEM;
	}
	r = pthread_create(&hs->thread, NULL, run, hs);
	if (r != 0) {
		lease_holds_free(hs);
		return -r;
	}
	hs->started = true;
	*out = hs;
	return 0;
}

void
lease_holds_free(struct lease_holds *hs)
{
	unsigned int i;

	if (!hs)
		return;
	if (hs->started) {
		pthread_mutex_lock(&hs->lock);
		hs->stop = true;
		pthread_cond_signal(&hs->cond);
		pthread_mutex_unlock(&hs->lock);
		pthread_join(hs->thread, NULL);
	}
	for (i = 0; i < hs->n; i++)
		release(hs->held[i]);
	for (i = 0; i < hs->n_incoming; i++)
		release(hs->incoming[i]);
	pthread_cond_destroy(&hs->cond);
	pthread_mutex_destroy(&hs->lock);
	free(hs->held);
	free(hs->incoming);
	free(hs);
}

void
lease_holds_add(struct lease_holds *hs, int fd, const pid_t *pids, unsigned int n_pids)
{
	struct held *h;
	struct stat st;

	if (n_pids > LEASE_HOLD_PIDS_MAX)
		n_pids = LEASE_HOLD_PIDS_MAX;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	h = malloc(sizeof(*h) + n_pids * sizeof(*pids));
	pthread_mutex_lock(&hs->lock);
	if (!h || hs->n_incoming == hs->max) {
		/* No memory, or the thread has not taken the last ones in yet: not held (counted). */
		hs->full++;
		pthread_mutex_unlock(&hs->lock);
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
		close(fd);
		free(h);
		return;
	}
	h->fd = fd;
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	h->since_usec = santa_mono_usec();
	h->n_pids = n_pids;
	memcpy(h->pids, pids, n_pids * sizeof(*pids));
	hs->incoming[hs->n_incoming++] = h;
	pthread_cond_signal(&hs->cond);
	pthread_mutex_unlock(&hs->lock);
}

void
lease_holds_stats(struct lease_holds *hs, struct lease_hold_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!hs)
		return;
	pthread_mutex_lock(&hs->lock);
	out->held = hs->n_held + hs->n_incoming;
	out->full = hs->full;
	out->expired = hs->expired;
	pthread_mutex_unlock(&hs->lock);
}

uint64_t
lease_holds_age_limit(void)
{
	unsigned long sec = LEASE_BREAK_DEFAULT_SEC;
	char buf[32], *end;
	ssize_t len;
	int fd;

	fd = open("/proc/sys/fs/lease-break-time", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len > 0) {
			buf[len] = '\0';
			errno = 0;
			sec = strtoul(buf, &end, 10);
			if (errno || end == buf)
				sec = LEASE_BREAK_DEFAULT_SEC;
		}
	}
	if (sec > LEASE_BREAK_MAX_SEC)
		sec = LEASE_BREAK_MAX_SEC;
	return (sec + LEASE_AGE_MARGIN_SEC) * 1000000ULL;
}
