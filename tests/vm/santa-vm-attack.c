/*
 * The attacker's tools for tests/vm/adversarial.sh, run as an unprivileged
 * user in the Debian 12 VM (which has no Python or compiler). One program,
 * allowlisted by its SHA-256 in the guest's santa.conf: santad in LOCKDOWN
 * would deny it as unknown otherwise.
 *
 *   run PATH [ARG...]       exec PATH once; prints ran, denied (EPERM) or error N
 *   run-until SECONDS PATH  exec PATH every 0.2 s until it runs; prints ran or denied
 *   copies SRC DIR N        writes DIR/f1..fN, each SRC plus its own number (0755)
 *   latency N PATTERN SECONDS
 *                           execs PATTERN (a printf format of i, or a path) for
 *                           i = 1..N, or as many as SECONDS allow (one at least);
 *                           prints "p50 p99 max failed count", times in ms from
 *                           fork to exit
 *   rewrite BIG PRISTINE EVIL TRIES STEP_MS
 *                           the class C race: BIG is copied from PRISTINE (an
 *                           allowlisted program), exec'd with the argument
 *                           EVIL-RAN, and while santad hashes it (after
 *                           STEP_MS * try ms) EVIL's bytes are written over its
 *                           start; prints "ran wrote busy control": how many tries ran
 *                           the new code (it prints EVIL-RAN), how many writes
 *                           went in, how many met ETXTBSY; then how a copy
 *                           run first without a rewrite fared (ran, denied)
 *   fuse fusermount|direct MOUNTPOINT PROG CTL SECONDS
 *                           a FUSE filesystem of two files, prog (PROG's
 *                           bytes) and ctl (CTL's), mounted with the setuid
 *                           fusermount3 or, in a user namespace, with mount(2)
 *                           on /dev/fuse; execs prog at once, then ctl until it
 *                           runs (santad watches the mount) or SECONDS pass,
 *                           then prog again; prints "at-once=X ctl=Y after=Z"
 *   stack DIR CMD [ARG...]  (in a user namespace) mounts a tmpfs on DIR, enters
 *                           it, mounts a second tmpfs on DIR, and execs CMD in
 *                           the first, now hidden, tmpfs
 *   deep DIR PROG           copies PROG 24 directories of 200 bytes below DIR
 *                           (past PATH_MAX) and execs it by a relative path
 *   idle SOCKET N SECONDS STOPFILE
 *                           holds N connections to SOCKET that never say a
 *                           word (reconnecting any the server closes) until
 *                           STOPFILE exists or SECONDS pass; prints
 *                           "connected N" at once, "reconnects N" at the end
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IDLE_MAX 4096
#define FILE_MAX (512L << 20)

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* 0 ran (exit 0), 1 denied (EPERM at exec), 2 other; the child's output to /dev/null. */
static int
exec_once(char *const argv[])
{
	int st, null;
	pid_t pid = fork();

	if (pid < 0)
		return 2;
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execv(argv[0], argv);
		_exit(errno == EPERM ? 126 : 127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return 2;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 126 ? 1 : 2;
}

static const char *
outcome_name(int r)
{
	return r == 0 ? "ran" : r == 1 ? "denied" : "error";
}

static int
read_file(const char *path, char **data, size_t *size)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb) < 0 || sb.st_size > FILE_MAX)
		goto fail;
	*data = malloc((size_t)sb.st_size + 1);
	if (!*data)
		goto fail;
	while (got < (size_t)sb.st_size && (n = read(fd, *data + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*size = got;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
write_file(const char *path, const char *data, size_t size, mode_t mode)
{
	size_t done = 0;
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		return -1;
	while (done < size && (n = write(fd, data + done, size - done)) > 0)
		done += (size_t)n;
	if (close(fd) < 0 || done != size || chmod(path, mode) < 0)
		return -1;
	return 0;
}

static int
cmd_copies(const char *src, const char *dir, int n)
{
	char path[4096], tail[32], *data;
	size_t size;

	if (read_file(src, &data, &size) < 0)
		return perror(src), 1;
	data = realloc(data, size + sizeof(tail));
	if (!data)
		return 1;
	for (int i = 1; i <= n; i++) {
		int t = snprintf(tail, sizeof(tail), "%d", i);

		memcpy(data + size, tail, (size_t)t);
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (write_file(path, data, size + (size_t)t, 0755) < 0)
			return perror(path), 1;
	}
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmd_latency(int n, const char *pattern, int seconds)
{
	char path[4096];
	double *t = calloc((size_t)n, sizeof(*t)), end = now_ms() + seconds * 1e3;
	int failed = 0, done = 0;

	if (!t || n < 1)
		return 1;
	for (int i = 0; i < n && (i == 0 || now_ms() < end); i++, done++) {
		char *argv[] = { path, NULL };
		double t0;

		snprintf(path, sizeof(path), pattern, i + 1);
		t0 = now_ms();
		failed += exec_once(argv) != 0;
		t[i] = now_ms() - t0;
	}
	n = done;
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	printf("%.1f %.1f %.1f %d %d\n", t[n / 2], t[(n * 99 + 99) / 100 - 1], t[n - 1], failed, n);
	return 0;
}

static int
cmd_rewrite(const char *big, const char *pristine, const char *evil_path, int tries, long step)
{
	char *pristine_data, *evil, buf[4096];
	size_t pristine_size, evil_size;
	int ran = 0, wrote = 0, busy = 0;

	char *control_argv[] = { (char *)big, NULL };
	int control;

	if (read_file(pristine, &pristine_data, &pristine_size) < 0 || read_file(evil_path, &evil, &evil_size) < 0)
		return perror("read"), 1;
	/* The same copy and exec without a rewrite: it must run (the race is what is refused). */
	if (write_file(big, pristine_data, pristine_size, 0755) < 0)
		return perror(big), 1;
	control = exec_once(control_argv);
	for (int i = 0; i < tries; i++) {
		char out[65536];
		size_t got = 0;
		ssize_t n;
		int p[2], fd, st;
		pid_t pid;

		if (write_file(big, pristine_data, pristine_size, 0755) < 0 || pipe2(p, O_CLOEXEC) < 0)
			return perror(big), 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			dup2(p[1], 1);
			dup2(p[1], 2);
			execl(big, big, "EVIL-RAN", (char *)NULL);
			dprintf(2, "exec: %s\n", strerror(errno));
			_exit(127);
		}
		close(p[1]);
		sleep_ms(step * i);
		/* With the defence the open waits until santad answered the exec. */
		fd = open(big, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (pwrite(fd, evil, evil_size, 0) != (ssize_t)evil_size)
				return perror("pwrite"), 1;
			close(fd);
			wrote++;
		} else if (errno == ETXTBSY) {
			busy++;
		} else {
			return perror("open for writing"), 1;
		}
		waitpid(pid, &st, 0);
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			if (got + (size_t)n < sizeof(out) - 1) {
				memcpy(out + got, buf, (size_t)n);
				got += (size_t)n;
			}
		out[got] = '\0';
		close(p[0]);
		ran += strstr(out, "EVIL-RAN") != NULL;
	}
	printf("%d %d %d %s\n", ran, wrote, busy, outcome_name(control));
	return 0;
}

/* ---- a FUSE filesystem of two read-only files, on the raw protocol ---- */

struct fuse_file {
	const char *name;
	char *data;
	size_t size;
};

static int
fuse_reply(int fd, uint64_t unique, int error, const void *body, size_t len)
{
	struct fuse_out_header oh = { .len = (uint32_t)(sizeof(oh) + (error ? 0 : len)), .error = error, .unique = unique };
	struct iovec iov[2] = { { &oh, sizeof(oh) }, { (void *)body, error ? 0 : len } };

	return writev(fd, iov, 2) < 0 ? -errno : 0;
}

static void
fuse_fill_attr(struct fuse_attr *a, uint64_t ino, const struct fuse_file *files)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->uid = getuid();
	a->gid = getgid();
	a->blksize = 4096;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
		return;
	}
	a->mode = S_IFREG | 0755;
	a->nlink = 1;
	a->size = files[ino - 2].size;
	a->blocks = (a->size + 511) / 512;
}

/* Serves until the filesystem is unmounted (or the server killed). */
static void
fuse_serve(int fd, const struct fuse_file *files)
{
	static char buf[FUSE_MIN_READ_BUFFER + (1 << 20)];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct fuse_in_header *in = (void *)buf;
		void *arg = in + 1;

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < (ssize_t)sizeof(*in))
			return;
		switch (in->opcode) {
		case FUSE_INIT: {
			struct fuse_init_in *ii = arg;
			struct fuse_init_out out = { .major = FUSE_KERNEL_VERSION, .minor = 31,
				.max_readahead = ii->max_readahead, .max_background = 16,
				.congestion_threshold = 12, .max_write = 1 << 17, .time_gran = 1 };

			/* The 7.23+ size: a longer reply than the kernel's own struct is refused. */
			fuse_reply(fd, in->unique, 0, &out, 64);
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out out = { .generation = 1, .entry_valid = 1, .attr_valid = 1 };
			int i = strcmp(arg, files[0].name) == 0 ? 0 : strcmp(arg, files[1].name) == 0 ? 1 : -1;

			if (in->nodeid != FUSE_ROOT_ID || i < 0) {
				fuse_reply(fd, in->unique, -ENOENT, NULL, 0);
				break;
			}
			out.nodeid = (uint64_t)i + 2;
			fuse_fill_attr(&out.attr, out.nodeid, files);
			fuse_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_GETATTR: {
			struct fuse_attr_out out = { .attr_valid = 1 };

			if (in->nodeid < 1 || in->nodeid > 3) {
				fuse_reply(fd, in->unique, -ENOENT, NULL, 0);
				break;
			}
			fuse_fill_attr(&out.attr, in->nodeid, files);
			fuse_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_OPEN:
		case FUSE_OPENDIR: {
			struct fuse_open_out out = { .fh = in->nodeid };

			fuse_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_READ: {
			struct fuse_read_in *ri = arg;
			const struct fuse_file *f = in->nodeid >= 2 && in->nodeid <= 3 ? &files[in->nodeid - 2] : NULL;
			size_t off, len;

			if (!f) {
				fuse_reply(fd, in->unique, -EISDIR, NULL, 0);
				break;
			}
			off = ri->offset < f->size ? (size_t)ri->offset : f->size;
			len = f->size - off < ri->size ? f->size - off : ri->size;
			fuse_reply(fd, in->unique, 0, f->data + off, len);
			break;
		}
		case FUSE_READDIR:
			fuse_reply(fd, in->unique, 0, NULL, 0);
			break;
		case FUSE_STATFS: {
			struct fuse_statfs_out out = { .st = { .bsize = 4096, .frsize = 4096, .namelen = 255 } };

			fuse_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_RELEASE:
		case FUSE_RELEASEDIR:
		case FUSE_FLUSH:
		case FUSE_DESTROY:
			fuse_reply(fd, in->unique, 0, NULL, 0);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break; /* no reply */
		default:
			fuse_reply(fd, in->unique, -ENOSYS, NULL, 0);
		}
	}
}

/* The /dev/fuse fd of a mount made by the setuid fusermount3 (its _FUSE_COMMFD protocol). */
static int
fusermount(const char *mnt)
{
	char env[32], cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int sv[2], fd = -1, st;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		snprintf(env, sizeof(env), "%d", sv[1]);
		setenv("_FUSE_COMMFD", env, 1);
		execlp("fusermount3", "fusermount3", "-o", "fsname=santa-vm-attack", "--", mnt, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (pid > 0 && recvmsg(sv[0], &msg, 0) > 0 && (c = CMSG_FIRSTHDR(&msg)) && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	close(sv[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return fd;
}

static int
cmd_fuse(const char *how, const char *mnt, const char *prog, const char *ctl, int seconds)
{
	struct fuse_file files[2] = { { .name = "prog" }, { .name = "ctl" } };
	char prog_path[4096], ctl_path[4096], opts[128];
	char *prog_argv[] = { prog_path, NULL }, *ctl_argv[] = { ctl_path, NULL };
	int fd, first, ctl_ran = 1, after;
	double end;
	pid_t server;

	if (read_file(prog, &files[0].data, &files[0].size) < 0 || read_file(ctl, &files[1].data, &files[1].size) < 0)
		return perror("read"), 1;
	if (strcmp(how, "fusermount") == 0) {
		fd = fusermount(mnt);
		if (fd < 0)
			return fprintf(stderr, "fusermount3 gave no fd\n"), 1;
	} else {
		fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return perror("/dev/fuse"), 1;
		snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u", fd, getuid(), getgid());
		if (mount("santa-vm-attack", mnt, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
			return perror("mount fuse"), 1;
	}
	server = fork();
	if (server == 0) {
		fuse_serve(fd, files);
		_exit(0);
	}
	snprintf(prog_path, sizeof(prog_path), "%s/prog", mnt);
	snprintf(ctl_path, sizeof(ctl_path), "%s/ctl", mnt);
	first = exec_once(prog_argv);
	end = now_ms() + seconds * 1e3;
	while ((ctl_ran = exec_once(ctl_argv)) != 0 && now_ms() < end)
		sleep_ms(200);
	after = exec_once(prog_argv);
	printf("at-once=%s ctl=%s after=%s\n", outcome_name(first), outcome_name(ctl_ran), outcome_name(after));
	fflush(stdout);
	if (strcmp(how, "fusermount") == 0) {
		pid_t pid = fork();

		if (pid == 0) {
			execlp("fusermount3", "fusermount3", "-u", "-z", mnt, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	} else {
		umount2(mnt, MNT_DETACH);
	}
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	return 0;
}

static int
cmd_deep(const char *dir, const char *prog)
{
	char name[201], *data;
	size_t size;
	char *argv[] = { "./prog", NULL };

	if (read_file(prog, &data, &size) < 0 || chdir(dir) < 0)
		return perror(dir), 1;
	memset(name, 'd', 200);
	name[200] = '\0';
	for (int i = 0; i < 24; i++) /* 24 x 201 bytes: past PATH_MAX (4096) */
		if ((mkdir(name, 0755) < 0 && errno != EEXIST) || chdir(name) < 0)
			return perror("mkdir"), 1;
	if (write_file("prog", data, size, 0755) < 0)
		return perror("prog"), 1;
	puts(outcome_name(exec_once(argv)));
	return 0;
}

static int
idle_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); /* as lib/ipc */

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS && errno != EAGAIN) {
		close(s);
		return -1;
	}
	return s;
}

static int
cmd_idle(const char *path, int n, int seconds, const char *stopfile)
{
	static struct pollfd p[IDLE_MAX];
	int connected = 0;
	long reconnects = 0;
	double end = now_ms() + seconds * 1e3;

	if (n > IDLE_MAX)
		n = IDLE_MAX;
	for (int i = 0; i < n; i++) {
		p[i].fd = idle_connect(path);
		p[i].events = POLLIN;
		connected += p[i].fd >= 0;
	}
	printf("connected %d\n", connected);
	fflush(stdout);
	while (now_ms() < end && access(stopfile, F_OK) < 0) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			char b[256];

			if (!p[i].revents)
				continue;
			/* Closed by the server (or it said something): reconnect, say nothing. */
			if (p[i].fd < 0 || read(p[i].fd, b, sizeof(b)) <= 0) {
				if (p[i].fd >= 0)
					close(p[i].fd);
				p[i].fd = idle_connect(path);
				reconnects++;
			}
		}
	}
	printf("reconnects %ld\n", reconnects);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "run") == 0 && argc >= 3) {
		puts(outcome_name(exec_once(argv + 2)));
		return 0;
	}
	if (strcmp(cmd, "run-until") == 0 && argc == 4) {
		char *av[] = { argv[3], NULL };
		double end = now_ms() + atoi(argv[2]) * 1e3;
		int r;

		while ((r = exec_once(av)) != 0 && now_ms() < end)
			sleep_ms(200);
		puts(outcome_name(r));
		return 0;
	}
	if (strcmp(cmd, "copies") == 0 && argc == 5)
		return cmd_copies(argv[2], argv[3], atoi(argv[4]));
	if (strcmp(cmd, "latency") == 0 && argc == 5)
		return cmd_latency(atoi(argv[2]), argv[3], atoi(argv[4]));
	if (strcmp(cmd, "rewrite") == 0 && argc == 7)
		return cmd_rewrite(argv[2], argv[3], argv[4], atoi(argv[5]), atol(argv[6]));
	if (strcmp(cmd, "fuse") == 0 && argc == 7)
		return cmd_fuse(argv[2], argv[3], argv[4], argv[5], atoi(argv[6]));
	if (strcmp(cmd, "stack") == 0 && argc >= 4) {
		/* Both mounts at once: no look of santad's can fall between them. */
		if (mount("none", argv[2], "tmpfs", 0, NULL) < 0 || chdir(argv[2]) < 0 ||
		    mount("none", argv[2], "tmpfs", 0, NULL) < 0)
			return perror("stack"), 1;
		execvp(argv[3], argv + 3);
		return perror(argv[3]), 1;
	}
	if (strcmp(cmd, "deep") == 0 && argc == 4)
		return cmd_deep(argv[2], argv[3]);
	if (strcmp(cmd, "idle") == 0 && argc == 6)
		return cmd_idle(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
	fprintf(stderr, "usage: see the comment at the top of tests/vm/santa-vm-attack.c\n");
	return 2;
}
