/*
 * Peer validation: the code-signature check of Santa's XPC connections,
 * rebuilt from what Linux offers. A peer is one of this installation's
 * binaries when the executable the kernel says it runs is the very file
 * recorded at start (dev, ino, SHA-256), root-owned and not writable by
 * anyone else, and nobody is tracing the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipc-internal.h"
#include "santa/path.h"
#include "santa/sha256.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static bool
same_file_times(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       a->st_size == b->st_size;
}

int
ipc_allowlist_add(struct ipc_allowlist *list, const char *name, const char *path)
{
	struct ipc_identity *id;
	struct stat st, after;
	int fd, r;

	if (list->n >= IPC_ALLOWLIST_MAX)
		return -E2BIG;
	if (strlen(name) >= sizeof(id->name) || strlen(path) >= sizeof(id->path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!santa_stat_is_root_trusted(&st)) {
		r = -EPERM;
		goto out;
	}
	id = &list->entries[list->n];
	memset(id, 0, sizeof(*id));
	r = santa_sha256_fd(fd, id->sha256, NULL);
	if (r < 0)
		goto out;
	snprintf(id->name, sizeof(id->name), "%s", name);
	snprintf(id->path, sizeof(id->path), "%s", path);
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	/* The times the hash is good for, unless the file changed while it was read. */
	if (fstat(fd, &after) == 0 && same_file_times(&st, &after)) {
		id->mtime = st.st_mtim;
		id->ctime = st.st_ctim;
		id->size = st.st_size;
		id->times_known = true;
	}
	list->n++;
	r = 0;
out:
	close(fd);
	return r;
}

/* A pidfd for the peer as it was when it connected, where the kernel can say. */
static int
peer_pidfd(int sock, pid_t pid)
{
	socklen_t len = sizeof(int);
	int pidfd = -1;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0)
		return pidfd;
	/*
	 * Kernels before 6.5: a pidfd from the pid. The pid could in theory have
	 * been recycled between connect() and now; the /proc checks below then
	 * see the new process, which must itself pass them.
	 */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pidfd < 0 ? -errno : pidfd;
}

/* TracerPid from /proc/PID/status: 0 when nobody traces the process. */
static int
tracer_pid(int procfd, pid_t *tracer)
{
	char buf[4096], *p;
	ssize_t n;
	int fd;

	fd = openat(procfd, "status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	p = strstr(buf, "\nTracerPid:");
	if (!p)
		return -EIO;
	*tracer = (pid_t)strtol(p + strlen("\nTracerPid:"), NULL, 10);
	return 0;
}

/*
 * Every piece of executable code mapped into the process must come from a
 * file only root could have written (the binary, the loader, system
 * libraries): LD_PRELOAD or LD_AUDIT of a user's own library, or code
 * written into an anonymous executable mapping, would make a genuine binary
 * run someone else's code. The mapped files are looked at through
 * map_files/, so a path swapped since the mapping proves nothing.
 */
static int
check_mapped_code(int procfd, pid_t pid, char *why, size_t why_size)
{
	char line[PATH_MAX + 128], range[64];
	int fd, r = 0;
	FILE *maps;

	fd = openat(procfd, "maps", O_RDONLY | O_CLOEXEC);
	maps = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!maps) {
		if (fd >= 0)
			close(fd);
		snprintf(why, why_size, "cannot read the memory map of pid %d", (int)pid);
		return -EPERM;
	}
	while (r == 0 && fgets(line, sizeof(line), maps)) {
		char perms[8] = "", path[PATH_MAX] = "";
		unsigned long long inode = 0;
		struct stat st;
		int mfd;

		path[0] = '\0';
		if (sscanf(line, "%63s %7s %*s %*s %llu %4095[^\n]", range, perms, &inode, path) < 3 ||
		    !strchr(perms, 'x'))
			continue;
		if (inode == 0) {
			/* [vdso] and [vsyscall] are the kernel's; any other is code from nowhere. */
			if (strcmp(path, "[vdso]") == 0 || strcmp(path, "[vsyscall]") == 0)
				continue;
			snprintf(why, why_size, "pid %d runs code from an anonymous mapping", (int)pid);
			r = -EPERM;
			break;
		}
		snprintf(line, sizeof(line), "map_files/%s", range);
		mfd = openat(procfd, line, O_RDONLY | O_CLOEXEC);
		if (mfd < 0 || fstat(mfd, &st) < 0 || !santa_stat_is_root_trusted(&st)) {
			snprintf(why, why_size, "pid %d runs code from %s, which is not root's alone",
				 (int)pid, path[0] ? path : range);
			r = -EPERM;
		}
		if (mfd >= 0)
			close(mfd);
	}
	fclose(maps);
	return r;
}

/*
 * The checks on a live process: pidfd pins it, /proc/PID must still be that
 * process, nobody may trace it, and its executable must be an allowlisted
 * file unchanged since the list was built.
 */
static int
validate_process(pid_t pid, int pidfd, const struct ipc_allowlist *list, struct ipc_peer *peer,
		 char *why, size_t why_size)
{
	uint8_t digest[SANTA_SHA256_LEN];
	const struct ipc_identity *id = NULL;
	char procpath[64], exe[256];
	int procfd = -1, exefd = -1, r;
	struct stat st;
	pid_t tracer = 0;
	ssize_t n;
	size_t i;

	snprintf(procpath, sizeof(procpath), "/proc/%d", (int)pid);
	procfd = open(procpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/*
	 * Signal 0 through the pidfd after opening /proc/PID: if it succeeds the
	 * process the pidfd names was still there, so /proc/PID is that process
	 * and not a newcomer with a recycled pid.
	 */
	if (procfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
		r = -EPERM;
		snprintf(why, why_size, "peer pid %d exited during validation", (int)pid);
		goto out;
	}
	r = tracer_pid(procfd, &tracer);
	if (r < 0 || tracer != 0) {
		r = -EPERM;
		snprintf(why, why_size, "peer pid %d is being traced by pid %d", (int)pid,
			 (int)tracer);
		goto out;
	}
	n = readlinkat(procfd, "exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	exefd = openat(procfd, "exe", O_RDONLY | O_CLOEXEC);
	if (exefd < 0 || fstat(exefd, &st) < 0) {
		r = errno == EACCES ? -EACCES : -EPERM;
		snprintf(why, why_size, "cannot inspect the executable of pid %d: %s", (int)pid,
			 strerror(errno));
		goto out;
	}
	for (i = 0; i < list->n; i++) {
		if (list->entries[i].dev == st.st_dev && list->entries[i].ino == st.st_ino) {
			id = &list->entries[i];
			break;
		}
	}
	if (!id) {
		r = -EPERM;
		snprintf(why, why_size, "%s (pid %d) is not one of Santa's binaries", exe, (int)pid);
		goto out;
	}
	if (!santa_stat_is_root_trusted(&st)) {
		r = -EPERM;
		snprintf(why, why_size, "%s is not root-owned or is writable by others", exe);
		goto out;
	}
	/*
	 * Hashing a client's executable on every HELLO cost the listener's loop
	 * milliseconds per connection, and any user may connect in a loop. The
	 * file is root's and writable by no one else (checked above), and no
	 * write or chmod leaves its ctime as it was: unchanged times and size
	 * mean unchanged bytes since the list was built.
	 */
	if (id->times_known && id->mtime.tv_sec == st.st_mtim.tv_sec &&
	    id->mtime.tv_nsec == st.st_mtim.tv_nsec && id->ctime.tv_sec == st.st_ctim.tv_sec &&
	    id->ctime.tv_nsec == st.st_ctim.tv_nsec && id->size == st.st_size)
		r = 0;
	else if ((r = santa_sha256_fd(exefd, digest, NULL)) == 0 &&
		 memcmp(digest, id->sha256, sizeof(digest)) != 0)
		r = -EPERM;
	if (r < 0) {
		r = -EPERM;
		snprintf(why, why_size, "%s changed since Santa started (SHA-256 differs)", exe);
		goto out;
	}
	r = check_mapped_code(procfd, pid, why, why_size);
	if (r < 0)
		goto out;
	snprintf(peer->name, sizeof(peer->name), "%s", id->name);
	r = 0;
out:
	if (exefd >= 0)
		close(exefd);
	if (procfd >= 0)
		close(procfd);
	return r;
}

int
peer_credentials(int sock, struct ipc_peer *peer, int *pidfd, char *why, size_t why_size)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	memset(peer, 0, sizeof(*peer));
	*pidfd = -1;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		r = -errno;
		snprintf(why, why_size, "cannot read peer credentials: %s", strerror(-r));
		return r;
	}
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	*pidfd = peer_pidfd(sock, cred.pid);
	if (*pidfd < 0) {
		*pidfd = -1;
		snprintf(why, why_size, "peer pid %d is gone", (int)cred.pid);
		return -EPERM;
	}
	return 0;
}

int
peer_validate(int sock, const struct ipc_allowlist *list, struct ipc_peer *peer, char *why,
	      size_t why_size)
{
	int pidfd = -1, r;

	r = peer_credentials(sock, peer, &pidfd, why, why_size);
	if (r < 0 || !list)
		goto out;
	r = validate_process(peer->pid, pidfd, list, peer, why, why_size);
out:
	if (pidfd >= 0)
		close(pidfd);
	return r;
}

/* The pid a pidfd names, from /proc/self/fdinfo (the kernel's only interface for it). */
static pid_t
pidfd_pid(int pidfd)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nPid:");
	if (!p)
		return -1;
	return (pid_t)strtol(p + strlen("\nPid:"), NULL, 10);
}

int
ipc_peer_validate_pidfd(int pidfd, const struct ipc_allowlist *list, struct ipc_peer *peer,
			char *why, size_t why_size)
{
	pid_t pid = pidfd_pid(pidfd);

	memset(peer, 0, sizeof(*peer));
	if (pid <= 0) {
		snprintf(why, why_size, "not a pidfd of a live process");
		return -EPERM;
	}
	peer->pid = pid;
	return validate_process(pid, pidfd, list, peer, why, why_size);
}
