/*
 * The dynamic loader run as a program (`/lib64/ld-linux-x86-64.so.2 ./blocked`)
 * maps ./blocked itself: the kernel never execs it, so FAN_OPEN_EXEC_PERM
 * never asks. What the kernel does see is the loader opening it. As fapolicyd
 * does, a second permission group asks for FAN_OPEN_PERM on the same
 * filesystems, and the first regular file a loader process opens after its
 * exec (the program: ld.so opens it before ld.so.cache, --preload and any
 * library) is decided as an exec, on the loop, with the same rules, cache,
 * deadline and log line ("first": while the process maps no file but the
 * loader, so a loader exec'd again by the same process is asked afresh).
 * Whatever its bytes: a magic read now proves
 * nothing, as a writer may put an ELF header there before ld.so reads it
 * (a file that is no program is then an unknown, denied in LOCKDOWN). The
 * kernel's own open of ld.so as a program's interpreter is not one: that
 * process's exe is still the program.
 *
 * The loader maps its program MAP_PRIVATE and, unlike an exec'd file,
 * nothing refuses a writer while it runs: whoever may write the file can
 * put new code in the running process after its hash was allowed. So in
 * LOCKDOWN the loader runs only files no one but root can write (root's,
 * not group or other writable); others are denied, their line saying why.
 *
 * Every open on a watched filesystem comes through this group, santad's own
 * included (santa.conf at SIGHUP, its databases, its log). So its events are
 * read on a thread of its own that opens nothing on a watched filesystem,
 * never waits for the loop and lets santad's own opens through at once: the
 * loop may open a file while the kernel waits for us.
 *
 *   santad's own open, not a regular file               -> allow
 *   a loader's first regular file since its exec         -> decided as an exec (loop)
 *   anything else                                        -> allow
 *
 * Cost: an open the kernel asks about is a round trip, so files no loader can
 * be made to run get an ignore mark (until they change): root's files that
 * are not ELF programs (data, scripts, libraries with a DT_SONAME such as
 * libc.so.6); and every file whose exec was allowed (exec.c marks both
 * groups).
 *
 * A file others may write (a user's headers, sources, objects: a build's
 * every open) needs more: a write through a shared writable mmap changes it
 * without the modify event that drops an ignore mark, so a header marked
 * once could become a program the loader then maps unseen. Such a file is
 * marked only while santad holds a read lease on it (taken first, then the
 * file read: no writer exists and none can start unnoticed). Taking one fails
 * while anyone has the file open for writing or mapped shared-writable, and
 * any later open for writing (or truncate) waits until santad lets go: the
 * kernel signals santad (LEASE_SIGNAL, read here through a signalfd), which
 * removes the mark first and lets go after. Only on filesystems whose bytes
 * change only through the kernel's own opens (not FUSE or network
 * filesystems), only files a loader cannot run (not ELF, or ELF but neither
 * ET_EXEC nor ET_DYN), at most LOADER_LEASES_MAX at once (the oldest let go
 * first): each holds an fd, so a deleted file's space comes back only once
 * santad lets go of it. Each leased file is looked at a second after its
 * lease, then at doubling intervals up to LEASE_CHECK_MAX_MSEC: a build's
 * temporary files go within a second or two, and the headers it keeps
 * leased are not all stat'ed every second (a thousand calls a build).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <elf.h>

#include "santa/clock.h"
#include "santa/elf.h"
#include "santa/path.h"
#include "santa/ratelimit.h"
#include "santa/sha256.h"
#include "santad.h"
#include "fanotify.h"
#include "loader.h"
#include "proc.h"

#define LOADER_QUEUE_MAX   256 /* loader programs waiting for the loop */
#define LOADER_FILES_MAX   64  /* files known to be a loader (each path and learned copy) */
#define LOADER_HASHES_MAX  16
#define LOADER_MAPS_MAX    (64 * 1024) /* bytes of /proc/PID/maps read: a fresh loader's is a few lines */
#define LOADER_LEASES_MAX  1024 /* users' files marked under a read lease (an fd each) */
#define LEASE_SWEEP_MSEC   1000  /* a new lease's first look for deletion */
#define LEASE_CHECK_MAX_MSEC 16000 /* the longest a deleted file stays leased */

/* Where Debian and other distributions put the loader (glob patterns). */
static const char *const loader_patterns[] = {
	"/lib64/ld-linux*.so*",       "/lib/ld-linux*.so*",      "/lib/*-linux-gnu*/ld-linux*.so*",
	"/usr/lib/*-linux-gnu*/ld-linux*.so*", "/usr/lib64/ld-linux*.so*", "/lib/ld-musl-*.so*",
	"/usr/lib/ld-musl-*.so*",     NULL,
};

struct loader_file {
	dev_t dev;
	ino_t ino;
};

struct loader_item {
	int fd;
	pid_t pid;
};

struct loader_guard {
	struct santad *daemon;
	int fan_fd; /* the FAN_OPEN_PERM group (fan_open_fd(d->fan)) */
	int stop_fd;
	pid_t self;
	pthread_t thread;
	bool running;

	/* Loader hashes: written before the thread starts, read-only after. */
	uint8_t hashes[LOADER_HASHES_MAX][SANTA_SHA256_LEN];
	size_t n_hashes;

	/* Files that are a loader: the loop adds copies it learns by hash. */
	pthread_mutex_t files_lock;
	struct loader_file files[LOADER_FILES_MAX];
	size_t n_files;

	/* Thread to loop: loader programs to decide. */
	pthread_mutex_t queue_lock;
	struct loader_item queue[LOADER_QUEUE_MAX];
	size_t queue_head, queue_len;
	int queue_efd;
	sd_event_source *queue_src;
	atomic_bool fallback_deny; /* FailClosed in LOCKDOWN (santad_fallback_verdict) */

	/* The thread's own. */
	int lease_sig_fd;                /* LEASE_SIGNAL, blocked in every thread (main.c) */
	int remark_efd;                  /* the loop flushed the group's marks: leased files again */
	int leases[LOADER_LEASES_MAX];   /* fds of leased, marked files; -1: free */
	uint64_t lease_due_usec[LOADER_LEASES_MAX]; /* its next look for deletion */
	uint32_t lease_gap_msec[LOADER_LEASES_MAX]; /* and the one after, doubling */
	size_t leases_next;
	uint64_t lease_sweep_due_usec; /* the earliest lease_due_usec */

	struct santa_ratelimit queue_full_lines; /* per uid, one a minute */
	atomic_uint_fast64_t events, programs, ignore_marks, queue_full;
	atomic_uint_fast64_t leased, lease_breaks, lease_refused;
};

static bool
is_loader_file(struct loader_guard *g, dev_t dev, ino_t ino)
{
	bool found = false;
	size_t i;

	pthread_mutex_lock(&g->files_lock);
	for (i = 0; i < g->n_files && !found; i++)
		found = g->files[i].dev == dev && g->files[i].ino == ino;
	pthread_mutex_unlock(&g->files_lock);
	return found;
}

static void
add_loader_file(struct loader_guard *g, dev_t dev, ino_t ino)
{
	size_t i;

	pthread_mutex_lock(&g->files_lock);
	for (i = 0; i < g->n_files; i++)
		if (g->files[i].dev == dev && g->files[i].ino == ino)
			break;
	if (i == g->n_files && g->n_files < LOADER_FILES_MAX)
		g->files[g->n_files++] = (struct loader_file){ dev, ino };
	pthread_mutex_unlock(&g->files_lock);
}


/*
 * Whether pid runs a loader as its program and has not mapped its program
 * yet: until then its image maps no file but the loader. A loader that the
 * same process execs again starts with a new map, though its pid and start
 * time stay: its program is decided afresh. Read line by line until a
 * second file shows, at most LOADER_MAPS_MAX bytes: a map santad cannot
 * read, or one that ends (or runs past the cap) with the loader alone, is
 * taken as fresh (decided as an exec). The user picks the paths in it (the
 * loader run from a long path): how long it is proves nothing.
 */
static bool
program_of_loader(struct loader_guard *g, pid_t pid)
{
	char path[64], *line = NULL;
	unsigned long ino, first_ino = 0;
	unsigned int maj, min, first_maj = 0, first_min = 0;
	struct stat st;
	size_t cap = 0, total = 0;
	bool fresh = true;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st) < 0 || !is_loader_file(g, st.st_dev, st.st_ino))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (total < LOADER_MAPS_MAX && (n = getline(&line, &cap, f)) > 0) {
		total += (size_t)n;
		if (sscanf(line, "%*s %*s %*s %x:%x %lu", &maj, &min, &ino) != 3 || ino == 0)
			continue;
		if (first_ino == 0) {
			first_ino = ino;
			first_maj = maj;
			first_min = min;
		} else if (ino != first_ino || maj != first_maj || min != first_min) {
			fresh = false; /* a second file: the program is mapped */
			break;
		}
	}
	free(line);
	fclose(f);
	return fresh;
}

static void
mark_ignore(struct loader_guard *g, int fd)
{
	if (fan_ignore_mark(g->fan_fd, fd, FAN_OPEN_PERM) == 0)
		g->ignore_marks++;
}

int
santad_loader_lease_signal(void)
{
	return SIGRTMIN + 1;
}

/* Filesystems whose bytes change only through opens on this kernel: a lease sees every writer. */
static bool
leases_see_all_writers(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return false;
	switch ((unsigned long)sfs.f_type) {
	case EXT4_SUPER_MAGIC: /* ext2 and ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
	case F2FS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}

/* Mark first gone, then the lease: a waiting writer goes on only once the loader would see the file. */
static void
unlease(struct loader_guard *g, size_t slot)
{
	int fd = g->leases[slot];

	if (fd < 0)
		return;
	(void)fanotify_mark(g->fan_fd, FAN_MARK_REMOVE | FAN_MARK_IGNORE, FAN_OPEN_PERM, fd, NULL);
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	g->leases[slot] = -1;
	g->leased--;
}

/*
 * A user's file a loader cannot run: marked while leased. Takes fd when it
 * returns true (the open is answered by the caller either way).
 */
static bool
lease_and_mark(struct loader_guard *g, int fd, const struct stat *st)
{
	struct santa_elf_info elf;
	size_t slot;

	/*
	 * An empty file is being made (O_CREAT, mkstemp): its writer holds it
	 * open, so no lease could be had, and its first write would drop a mark.
	 */
	if (st->st_size == 0 || g->lease_sig_fd < 0 || !leases_see_all_writers(fd))
		return false;
	if (fcntl(fd, F_SETSIG, santad_loader_lease_signal()) < 0 ||
	    fcntl(fd, F_SETLEASE, F_RDLCK) < 0) {
		g->lease_refused++; /* a writer has it open (the opener, often) */
		return false;
	}
	/* Read under the lease: the bytes cannot change from here on unseen. */
	if (santa_elf_read(fd, &elf) == 0 && (elf.type == ET_EXEC || elf.type == ET_DYN))
		goto refuse;
	slot = g->leases_next++ % LOADER_LEASES_MAX;
	unlease(g, slot); /* the oldest goes */
	if (fan_ignore_mark(g->fan_fd, fd, FAN_OPEN_PERM) < 0)
		goto refuse;
	g->leases[slot] = fd;
	g->lease_gap_msec[slot] = LEASE_SWEEP_MSEC;
	g->lease_due_usec[slot] = santa_mono_usec() + LEASE_SWEEP_MSEC * 1000ULL;
	if (g->leased == 0 || g->lease_due_usec[slot] < g->lease_sweep_due_usec)
		g->lease_sweep_due_usec = g->lease_due_usec[slot];
	g->leased++;
	g->ignore_marks++;
	return true;
refuse:
	(void)fcntl(fd, F_SETLEASE, F_UNLCK);
	return false;
}

/* Writers waiting on a lease (or the file truncated): each file loses its mark, then its lease. */
static void
handle_lease_breaks(struct loader_guard *g)
{
	struct signalfd_siginfo si;
	size_t slot;

	while (read(g->lease_sig_fd, &si, sizeof(si)) == sizeof(si)) {
		for (slot = 0; slot < LOADER_LEASES_MAX; slot++)
			if (g->leases[slot] == (int)si.ssi_fd) {
				unlease(g, slot);
				g->lease_breaks++;
				break;
			}
	}
}

/*
 * The loop flushed every inode mark of the group (rules or the mode
 * changed): a leased file's mark does not depend on them, and its lease
 * says it has not changed since, so it is marked again.
 */
static void
remark_leases(struct loader_guard *g)
{
	uint64_t n;
	size_t slot;

	(void)!read(g->remark_efd, &n, sizeof(n));
	for (slot = 0; slot < LOADER_LEASES_MAX; slot++) {
		int fd = g->leases[slot];

		if (fd >= 0 && (fcntl(fd, F_GETLEASE) != F_RDLCK ||
				fan_ignore_mark(g->fan_fd, fd, FAN_OPEN_PERM) < 0))
			unlease(g, slot);
	}
}

/* A deleted file's space comes back only once its last fd closes: santad lets go of those. */
static void
sweep_leases(struct loader_guard *g)
{
	uint64_t now = santa_mono_usec();
	struct stat st;
	size_t slot;

	g->lease_sweep_due_usec = UINT64_MAX;
	for (slot = 0; slot < LOADER_LEASES_MAX; slot++) {
		if (g->leases[slot] < 0)
			continue;
		if (now < g->lease_due_usec[slot]) {
			if (g->lease_due_usec[slot] < g->lease_sweep_due_usec)
				g->lease_sweep_due_usec = g->lease_due_usec[slot];
			continue;
		}
		if (fstat(g->leases[slot], &st) < 0 || st.st_nlink == 0) {
			unlease(g, slot);
			continue;
		}
		if (g->lease_gap_msec[slot] < LEASE_CHECK_MAX_MSEC / 2)
			g->lease_gap_msec[slot] *= 2;
		else
			g->lease_gap_msec[slot] = LEASE_CHECK_MAX_MSEC;
		g->lease_due_usec[slot] = now + g->lease_gap_msec[slot] * 1000ULL;
		if (g->lease_due_usec[slot] < g->lease_sweep_due_usec)
			g->lease_sweep_due_usec = g->lease_due_usec[slot];
	}
}

/* Hands fd to the loop; false when the queue is full. */
static bool
queue_program(struct loader_guard *g, int fd, pid_t pid)
{
	uint64_t one = 1;
	bool queued = false;

	pthread_mutex_lock(&g->queue_lock);
	if (g->queue_len < LOADER_QUEUE_MAX) {
		g->queue[(g->queue_head + g->queue_len++) % LOADER_QUEUE_MAX] =
			(struct loader_item){ fd, pid };
		queued = true;
	}
	pthread_mutex_unlock(&g->queue_lock);
	if (queued)
		(void)!write(g->queue_efd, &one, sizeof(one));
	return queued;
}

static void
handle_open(struct loader_guard *g, int fd, pid_t pid)
{
	struct santa_elf_info elf;
	struct stat st;
	bool trusted, elf_ok;

	g->events++;
	if (pid == g->self || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto allow;
	trusted = santa_stat_is_root_trusted(&st);
	if (program_of_loader(g, pid)) {
		if (queue_program(g, fd, pid)) {
			g->programs++;
			return; /* the loop answers and closes */
		}
		pid_t ppid;
		uid_t uid = (uid_t)-1;
		gid_t gid;

		enum santa_verdict verdict;
		uint64_t held = 0;
		bool shared;

		g->queue_full++;
		/* A flood of loader runs must not let a program through: the exec rule. */
		santad_process_info(pid, &ppid, &uid, &gid);
		verdict = g->daemon->pipeline.fallback_verdict(atomic_load(&g->fallback_deny), uid,
							       trusted);
		fan_respond(g->fan_fd, fd, verdict);
		close(fd);
		/*
		 * No santa.log line: that is the loop's, which is what is flooded.
		 * The user who floods gets one line a minute here, with a count.
		 */
		if (santa_ratelimit_pass(&g->queue_full_lines, uid, santa_mono_usec(), &held, &shared))
			santa_log(&g->daemon->log, LOG_WARNING,
				  "loader check: queue full, a program run through the loader by pid %d "
				  "(uid %d) answered %s without a decision (%llu more since the last such "
				  "line%s)", (int)pid, (int)uid, santa_verdict_to_string(verdict),
				  (unsigned long long)held, shared ? ", other uids too" : "");
		return;
	}
	/*
	 * A user's file: marked before the answer, so the opener's next open
	 * of it is not asked about (the linker opens each object twice:
	 * answered first, a loaded machine let a third of those second opens
	 * in before the mark, each one more round trip). Its bytes are read
	 * only under the lease: read before it, they would prove nothing.
	 */
	if (!trusted) {
		if (lease_and_mark(g, fd, &st)) {
			fan_respond(g->fan_fd, fd, SANTA_VERDICT_ALLOW);
			return; /* fd kept: it holds the lease */
		}
		goto allow;
	}
	elf_ok = santa_elf_read(fd, &elf) == 0 && (elf.type == ET_EXEC || elf.type == ET_DYN);
	/*
	 * Marked before the answer too: an opener that writes (root's `install`
	 * making a program) does so only once answered, and its write drops the
	 * mark; marked after, the mark could land on the bytes already written
	 * and the loader's open of the new program would not be asked.
	 */
	if (!elf_ok || (elf.type == ET_DYN && elf.has_soname))
		mark_ignore(g, fd);
	fan_respond(g->fan_fd, fd, SANTA_VERDICT_ALLOW);
	close(fd);
	return;
allow:
	fan_respond(g->fan_fd, fd, SANTA_VERDICT_ALLOW);
	close(fd);
}

/* How long the thread may sleep before a leased file is due a look (-1: none is leased). */
static int
sweep_wait_msec(const struct loader_guard *g)
{
	uint64_t now = santa_mono_usec();

	if (!g->leased)
		return -1;
	if (g->lease_sweep_due_usec <= now)
		return 0;
	if (g->lease_sweep_due_usec - now >= LEASE_CHECK_MAX_MSEC * 1000ULL)
		return LEASE_CHECK_MAX_MSEC;
	/* Rounded up: woken a little early, the thread would only sleep again. */
	return (int)((g->lease_sweep_due_usec - now + 999) / 1000);
}

static void *
guard_thread(void *arg)
{
	char buf[16 * 1024] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct loader_guard *g = arg;
	struct pollfd pfd[4] = {
		{ .fd = g->fan_fd, .events = POLLIN },
		{ .fd = g->stop_fd, .events = POLLIN },
		{ .fd = g->lease_sig_fd, .events = POLLIN },
		{ .fd = g->remark_efd, .events = POLLIN },
	};

	for (;;) {
		struct fanotify_event_metadata *m;
		ssize_t len;

		if (poll(pfd, 4, sweep_wait_msec(g)) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		/* Writers wait on these: before any open. */
		if (pfd[2].revents)
			handle_lease_breaks(g);
		if (pfd[3].revents)
			remark_leases(g);
		if (g->leased && santa_mono_usec() >= g->lease_sweep_due_usec)
			sweep_leases(g);
		if (!pfd[0].revents)
			continue;
		len = read(g->fan_fd, buf, sizeof(buf));
		if (len <= 0)
			continue;
		for (m = (struct fanotify_event_metadata *)buf; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			if (m->fd < 0)
				continue;
			if (m->vers != FANOTIFY_METADATA_VERSION) {
				fan_respond(g->fan_fd, m->fd, SANTA_VERDICT_ALLOW);
				close(m->fd);
				continue;
			}
			handle_open(g, m->fd, m->pid);
		}
	}
	return NULL;
}

/* Loop, LOCKDOWN: a program its owner could rewrite while the loader runs it is refused (takes fd). */
static bool
refuse_writable(struct loader_guard *g, int fd, pid_t pid)
{
	struct santad *d = g->daemon;
	char path[PATH_MAX];
	struct stat st;

	if (d->policy->cfg.client_mode != SANTA_MODE_LOCKDOWN || fstat(fd, &st) < 0 ||
	    santa_stat_is_root_trusted(&st))
		return false;
	d->pipeline.exec_by_mode(d, fd, pid, g->fan_fd,
				 "run by the dynamic loader, a file others than root may write "
				 "(its code could change while it runs)",
				 path, sizeof(path));
	return true;
}

/* Loop: the loader programs the thread queued, decided as execs answered on this group. */
static int
on_queue(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct loader_guard *g = userdata;
	struct loader_item item;
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
	for (;;) {
		pthread_mutex_lock(&g->queue_lock);
		if (g->queue_len == 0) {
			pthread_mutex_unlock(&g->queue_lock);
			break;
		}
		item = g->queue[g->queue_head];
		g->queue_head = (g->queue_head + 1) % LOADER_QUEUE_MAX;
		g->queue_len--;
		pthread_mutex_unlock(&g->queue_lock);
		if (!refuse_writable(g, item.fd, item.pid))
			g->daemon->pipeline.handle_exec(g->daemon, item.fd, item.pid, g->fan_fd);
	}
	return 0;
}

/* The loaders installed here: their files and hashes. */
static void
find_loaders(struct loader_guard *g)
{
	size_t i, j;

	for (i = 0; loader_patterns[i]; i++) {
		glob_t gl;

		if (glob(loader_patterns[i], 0, NULL, &gl) != 0)
			continue;
		for (j = 0; j < gl.gl_pathc; j++) {
			uint8_t hash[SANTA_SHA256_LEN];
			struct stat st;
			size_t k;
			int fd = open(gl.gl_pathv[j], O_RDONLY | O_CLOEXEC);

			if (fd < 0)
				continue;
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
			    santa_sha256_fd(fd, hash, NULL) == 0) {
				add_loader_file(g, st.st_dev, st.st_ino);
				for (k = 0; k < g->n_hashes; k++)
					if (memcmp(g->hashes[k], hash, SANTA_SHA256_LEN) == 0)
						break;
				if (k == g->n_hashes && g->n_hashes < LOADER_HASHES_MAX)
					memcpy(g->hashes[g->n_hashes++], hash, SANTA_SHA256_LEN);
			}
			close(fd);
		}
		globfree(&gl);
	}
}

/*
 * The loaders' files are known whether or not the check runs: a loader's
 * exec notification right after a program's is that program's interpreter
 * (exec.c). The check's thread runs only with its group (EnableLoaderCheck).
 */
int
santad_loader_start(struct santad *d)
{
	struct loader_guard *g;
	int r = 0;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->daemon = d;
	g->fan_fd = -1;
	g->stop_fd = -1;
	g->queue_efd = -1;
	g->lease_sig_fd = -1;
	g->remark_efd = -1;
	memset(g->leases, -1, sizeof(g->leases));
	santa_ratelimit_init(&g->queue_full_lines, 60 * 1000000ULL);
	g->self = getpid();
	pthread_mutex_init(&g->files_lock, NULL);
	pthread_mutex_init(&g->queue_lock, NULL);
	d->loader = g;
	find_loaders(g);
	if (fan_open_fd(d->fan) < 0)
		return 0;
	g->fan_fd = fan_open_fd(d->fan);
	g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->queue_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->remark_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->stop_fd < 0 || g->queue_efd < 0 || g->remark_efd < 0) {
		r = -errno;
		goto out;
	}
	{
		sigset_t lease_set;

		sigemptyset(&lease_set);
		sigaddset(&lease_set, santad_loader_lease_signal());
		g->lease_sig_fd = signalfd(-1, &lease_set, SFD_CLOEXEC | SFD_NONBLOCK);
		if (g->lease_sig_fd < 0)
			santa_log_errno(&d->log, LOG_WARNING, -errno, "No signalfd (%m): users' files "
					"are asked about at every open");
	}
	if (g->n_files == 0)
		santa_log(&d->log, LOG_WARNING, "No dynamic loader found: `ld.so PROGRAM` is "
			  "caught only for loaders learned by hash when they are exec'd");
	santad_loader_policy_changed(d);
	r = sd_event_add_io(d->event, &g->queue_src, g->queue_efd, EPOLLIN, on_queue, g);
	if (r < 0)
		goto out;
	r = -pthread_create(&g->thread, NULL, guard_thread, g);
	if (r < 0)
		goto out;
	(void)pthread_setname_np(g->thread, "santad-loader"); /* profiles say which thread */
	g->running = true;
	santa_log(&d->log, LOG_INFO, "Loader check on: %zu loader file(s), %zu distinct",
		  g->n_files, g->n_hashes);
out:
	if (r < 0) {
		santa_log_errno(&d->log, LOG_ERR, r, "Loader check not started: %m");
		g->fan_fd = -1; /* the caller closes the group: the files stay known */
	}
	return r;
}

void
santad_loader_stop(struct santad *d)
{
	struct loader_guard *g = d->loader;
	uint64_t one = 1;

	if (!g)
		return;
	if (g->running) {
		(void)!write(g->stop_fd, &one, sizeof(one));
		pthread_join(g->thread, NULL);
	}
	for (size_t slot = 0; slot < LOADER_LEASES_MAX; slot++)
		unlease(g, slot);
	if (g->lease_sig_fd >= 0)
		close(g->lease_sig_fd);
	if (g->remark_efd >= 0)
		close(g->remark_efd);
	/* Programs still queued: closing the group (fan_client_stop) allows them. */
	while (g->queue_len > 0) {
		close(g->queue[g->queue_head].fd);
		g->queue_head = (g->queue_head + 1) % LOADER_QUEUE_MAX;
		g->queue_len--;
	}
	sd_event_source_disable_unref(g->queue_src);
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	if (g->queue_efd >= 0)
		close(g->queue_efd);
	pthread_mutex_destroy(&g->files_lock);
	pthread_mutex_destroy(&g->queue_lock);
	free(g);
	d->loader = NULL;
}

void
santad_loader_policy_changed(struct santad *d)
{
	if (d->loader)
		atomic_store(&d->loader->fallback_deny, d->policy->cfg.fail_closed &&
						d->policy->cfg.client_mode == SANTA_MODE_LOCKDOWN);
}

void
santad_loader_exec_decided(struct santad *d, const struct santa_file_key *key,
			   const uint8_t *sha256)
{
	struct loader_guard *g = d->loader;
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n_hashes; i++)
		if (memcmp(g->hashes[i], sha256, SANTA_SHA256_LEN) == 0) {
			add_loader_file(g, key->dev, key->ino);
			return;
		}
}

void
santad_loader_marks_flushed(struct santad *d)
{
	uint64_t one = 1;

	if (d->loader && d->loader->running)
		(void)!write(d->loader->remark_efd, &one, sizeof(one));
}

bool
santad_loader_is_file(struct santad *d, dev_t dev, ino_t ino)
{
	return d->loader && is_loader_file(d->loader, dev, ino);
}

void
santad_loader_status(struct santad *d, struct ipc_value *dict)
{
	struct loader_guard *g = d->loader;
	struct ipc_value *l = ipc_dict_put_container(dict, "loader_check", IPC_DICT);

	if (!l)
		return;
	ipc_dict_put_bool(l, "enabled", g && g->running);
	if (!g || !g->running)
		return;
	pthread_mutex_lock(&g->files_lock);
	ipc_dict_put_int(l, "loader_files", (int64_t)g->n_files);
	pthread_mutex_unlock(&g->files_lock);
	ipc_dict_put_int(l, "open_events", (int64_t)g->events);
	ipc_dict_put_int(l, "programs_decided", (int64_t)g->programs);
	ipc_dict_put_int(l, "ignore_marks", (int64_t)g->ignore_marks);
	ipc_dict_put_int(l, "queue_full", (int64_t)g->queue_full);
	ipc_dict_put_int(l, "leased_files", (int64_t)g->leased);
	ipc_dict_put_int(l, "lease_breaks", (int64_t)g->lease_breaks);
	ipc_dict_put_int(l, "lease_refused", (int64_t)g->lease_refused);
}
