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

bool
santa_stat_is_root_trusted(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == 0 && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

int
santa_mkdir_secure(const char *path, mode_t mode)
{
	char component[NAME_MAX + 1];
	struct stat st;
	const char *p;
	size_t len;
	int dirfd = -1, next, r;

	if (!path || path[0] != '/')
		return -EINVAL;
	dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len > NAME_MAX) {
			r = -ENAMETOOLONG;
			goto out;
		}
		memcpy(component, p, len);
		component[len] = '\0';
		p += len;
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
