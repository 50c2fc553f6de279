#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "santa/path.h"

int
santa_path_join(char *buf, size_t size, const char *a, const char *b)
{
	size_t la = strlen(a);
	int n;

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (la == 1 && a[0] == '/')
		n = snprintf(buf, size, "/%s", b);
	else
		n = snprintf(buf, size, "%.*s/%s", (int)la, a, b);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int
santa_path_with_root(char *buf, size_t size, const char *root, const char *path)
{
	int n;

	if (!path || path[0] != '/')
		return -EINVAL;
	if (!root || !root[0] || strcmp(root, "/") == 0) {
		n = snprintf(buf, size, "%s", path);
		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		return 0;
	}
	return santa_path_join(buf, size, root, path);
}

bool
santa_path_is_clean_absolute(const char *path)
{
	const char *p, *seg;
	size_t len;

	if (!path || path[0] != '/')
		return false;
	if (strlen(path) >= PATH_MAX)
		return false;
	for (p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	if (strcmp(path, "/") == 0)
		return true;
	p = path + 1;
	for (;;) {
		seg = p;
		len = strcspn(seg, "/");
		if (len == 0)
			return false; /* "//" or a trailing "/" */
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (seg[len] == '\0')
			return true;
		p = seg + len + 1;
	}
}

int
santa_open_nofollow(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
	/* Kernels before 5.6: only the last component is protected. */
	fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, mode);
	return fd < 0 ? -errno : (int)fd;
}

int
santa_open_long(const char *path, int flags)
{
	char piece[PATH_MAX];
	const char *p = path;
	int dirfd = AT_FDCWD, fd, r;
	size_t cut;

	while (strlen(p) >= sizeof(piece)) {
		/* The longest head that fits, ending before a slash. */
		for (cut = sizeof(piece) - 1; cut > 0 && p[cut] != '/'; cut--)
			;
		if (cut == 0) {
			r = -ENAMETOOLONG;
			goto out;
		}
		memcpy(piece, p, cut);
		piece[cut] = '\0';
		fd = openat(dirfd, piece, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			goto out;
		}
		if (dirfd != AT_FDCWD)
			close(dirfd);
		dirfd = fd;
		for (p += cut; *p == '/'; p++)
			;
	}
	fd = openat(dirfd, *p ? p : ".", flags | O_CLOEXEC);
	r = fd < 0 ? -errno : fd;
out:
	if (dirfd != AT_FDCWD)
		close(dirfd);
	return r;
}

bool
santa_stat_is_root_trusted(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == 0 && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/*
 * The next component of the path at *p (slashes skipped) into component
 * (NAME_MAX + 1 bytes), *p moved past it: 1, or 0 at the end of the path,
 * or -ENAMETOOLONG.
 */
static int
next_component(const char **p, char *component)
{
	size_t len;

	while (**p == '/')
		(*p)++;
	if (!**p)
		return 0;
	len = strcspn(*p, "/");
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(component, *p, len);
	component[len] = '\0';
	*p += len;
	return 1;
}

int
santa_mkdir_secure(const char *path, mode_t mode)
{
	char component[NAME_MAX + 1];
	struct stat st;
	const char *p;
	int dirfd = -1, next, r;

	if (!path || path[0] != '/')
		return -EINVAL;
	dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	p = path;
	for (;;) {
		r = next_component(&p, component);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (strcmp(component, "..") == 0 || strcmp(component, ".") == 0) {
			r = -EINVAL;
			goto out;
		}
		/* Only the final directory gets the caller's mode; parents get 0755. */
		if (mkdirat(dirfd, component, *p ? 0755 : mode) < 0 && errno != EEXIST) {
			r = -errno;
			goto out;
		}
		next = openat(dirfd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			r = errno == ELOOP ? -ELOOP : -errno;
			goto out;
		}
		close(dirfd);
		dirfd = next;
	}
	if (fstat(dirfd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (st.st_uid != geteuid()) {
		r = -EPERM;
		goto out;
	}
	/* mkdir() honoured the umask; set the exact mode, never widening group/other writes. */
	if ((st.st_mode & 07777) != mode && fchmod(dirfd, mode) < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

int
santa_read_fd(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t n = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		return -E2BIG;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (n < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + n, (size_t)st.st_size - n, (off_t)n);

		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EIO;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* A directory only root can change what it names: root's, writable by no one else unless sticky. */
static bool
dir_is_root_only(const struct stat *st)
{
	return st->st_uid == 0 &&
	       ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0 || (st->st_mode & S_ISVTX));
}

static void
describe(char *why, size_t why_size, const char *what, const char *path, const struct stat *st)
{
	snprintf(why, why_size, "%s %s is owned by uid %u, gid %u, mode %04o: %s", what, path,
		 (unsigned)st->st_uid, (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777),
		 strcmp(what, "file") == 0 ? "it must be root's and writable by no one else"
					   : "it must be root's and writable by no one else "
					     "(or sticky)");
}

/*
 * Walks path one component at a time from "/", as the kernel would, and
 * checks each directory it passes through and each symlink it follows
 * before going on: what is finally opened is what was checked, and no step
 * of the way is one a user could have changed.
 */
int
santa_open_root_owned(const char *path, char *why, size_t why_size)
{
	char rest[PATH_MAX], target[PATH_MAX], walked[PATH_MAX], component[NAME_MAX + 1];
	struct stat st, fst;
	unsigned int links = 0;
	const char *p;
	ssize_t n;
	int dirfd = -1, next = -1, fd = -1, r;

	why[0] = '\0';
	if (!path || path[0] != '/' || strlen(path) >= sizeof(rest)) {
		snprintf(why, why_size, "%s: not an absolute path", path ? path : "(null)");
		return -EINVAL;
	}
	snprintf(rest, sizeof(rest), "%s", path);
	snprintf(walked, sizeof(walked), "/");
	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || fstat(dirfd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!dir_is_root_only(&st)) {
		describe(why, why_size, "directory", "/", &st);
		r = -EPERM;
		goto out;
	}
	p = rest;
	for (;;) {
		r = next_component(&p, component);
		if (r < 0)
			goto out;
		if (r == 0) {
			snprintf(why, why_size, "%s names a directory, not a file", path);
			r = -EISDIR;
			goto out;
		}
		next = openat(dirfd, component, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 || fstat(next, &st) < 0) {
			r = -errno;
			snprintf(why, why_size, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (strlen(walked) + strlen(component) + 2 < sizeof(walked))
			snprintf(walked + strlen(walked), sizeof(walked) - strlen(walked), "%s%s",
				 strcmp(walked, "/") ? "/" : "", component);
		if (S_ISLNK(st.st_mode)) {
			/* In a sticky directory anyone may have planted it: only root's count. */
			if (st.st_uid != 0) {
				describe(why, why_size, "symlink", walked, &st);
				r = -EPERM;
				goto out;
			}
			if (++links > 40) {
				r = -ELOOP;
				goto out;
			}
			n = readlinkat(next, "", target, sizeof(target) - 1);
			if (n < 0 || (size_t)n + strlen(p) + 2 > sizeof(target)) {
				r = n < 0 ? -errno : -ENAMETOOLONG;
				goto out;
			}
			target[n] = '\0';
			snprintf(target + n, sizeof(target) - (size_t)n, "/%s", p);
			snprintf(rest, sizeof(rest), "%s", target);
			p = rest;
			close(next);
			next = -1;
			if (rest[0] == '/') {
				close(dirfd);
				dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (dirfd < 0) {
					r = -errno;
					goto out;
				}
				snprintf(walked, sizeof(walked), "/");
			} else {
				/* Relative to the symlink's directory: back up one component. */
				char *slash = strrchr(walked, '/');

				if (slash && slash != walked)
					*slash = '\0';
				else
					snprintf(walked, sizeof(walked), "/");
			}
			continue;
		}
		while (*p == '/')
			p++;
		if (S_ISDIR(st.st_mode)) {
			if (!dir_is_root_only(&st)) {
				describe(why, why_size, "directory", walked, &st);
				r = -EPERM;
				goto out;
			}
			close(dirfd);
			dirfd = next;
			next = -1;
			if (!*p) {
				snprintf(why, why_size, "%s names a directory, not a file", path);
				r = -EISDIR;
				goto out;
			}
			continue;
		}
		if (*p) {
			r = -ENOTDIR;
			snprintf(why, why_size, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (!santa_stat_is_root_trusted(&st)) {
			describe(why, why_size, "file", walked, &st);
			r = -EPERM;
			goto out;
		}
		/* The checked inode, opened for reading: a swap in between would show. */
		fd = openat(dirfd, component, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &fst) < 0) {
			r = -errno;
			snprintf(why, why_size, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino ||
		    !santa_stat_is_root_trusted(&fst)) {
			snprintf(why, why_size, "%s changed while it was checked", path);
			r = -EAGAIN;
			goto out;
		}
		r = fd;
		fd = -1;
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (next >= 0)
		close(next);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

int
santa_file_replace(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	const char *p = buf;
	int fd = -1, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		goto out;
	}
	r = 0;
out:
	close(fd);
	if (r < 0)
		unlink(tmp);
	return r;
}
