/* Path helpers that refuse to truncate, to follow symlinks, or to trust a writable directory. */
#ifndef SANTA_PATH_H
#define SANTA_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* buf = a "/" b (a single slash between them). -ENAMETOOLONG instead of truncating. */
int santa_path_join(char *buf, size_t size, const char *a, const char *b);

/*
 * buf = root + path, for relocating the default /etc, /var and /run paths
 * under a test prefix. An empty or NULL root copies path. path must be absolute.
 * Returns 0, -EINVAL (relative path) or -ENAMETOOLONG.
 */
int santa_path_with_root(char *buf, size_t size, const char *root, const char *path);

/*
 * True for an absolute path without empty, "." or ".." components and
 * without control characters: a path that means what it says.
 */
bool santa_path_is_clean_absolute(const char *path);

/*
 * Creates directory path and its missing parents with mode (umask ignored),
 * never following a symlink on the way. The final directory must belong to
 * the caller's euid and not be writable by group or others beyond what mode
 * grants; otherwise -EPERM, so that a planted directory is not trusted.
 * Returns 0 or -errno.
 */
int santa_mkdir_secure(const char *path, mode_t mode);

/*
 * openat() that refuses symlinks in every component of name (openat2
 * RESOLVE_NO_SYMLINKS; O_NOFOLLOW on the last component where openat2 is
 * missing). O_CLOEXEC is always added. Returns an fd or -errno.
 */
int santa_open_nofollow(int dirfd, const char *name, int flags, mode_t mode);

/*
 * open(path, flags | O_CLOEXEC) for a path of any length: one longer than
 * PATH_MAX (a mount point a user made deep in their own tree) is walked in
 * pieces of less than PATH_MAX cut at slashes, each opened relative to the
 * one before; symlinks are followed as open() would. Returns an fd or
 * -errno (-ENAMETOOLONG only for a component over PATH_MAX).
 */
int santa_open_long(const char *path, int flags);

/*
 * True when st describes a regular file owned by root that neither group nor
 * others may write: a file that only root could have put there.
 */
bool santa_stat_is_root_trusted(const struct stat *st);

/*
 * Opens path for reading only if nobody but root can have written it or
 * changed what it names: the file root's and writable by no one else, every
 * directory on the way (symlinks followed, and each symlink root's) root's
 * and writable by no one else unless sticky. Returns the fd, or -EPERM
 * with why naming the culprit, its owner and mode (-errno otherwise, why
 * filled when there is more to say).
 */
int santa_open_root_owned(const char *path, char *why, size_t why_size);

/*
 * The whole content of a regular file (a memfd passed in a message) of at
 * most max bytes, read from offset 0 without moving the fd's position; *out
 * is NUL-terminated, the caller frees it. Returns 0, -E2BIG (larger than
 * max or not a regular file) or -errno.
 */
int santa_read_fd(int fd, size_t max, char **out, size_t *len);

/*
 * Replaces path with len bytes of buf, all or nothing: written to path.tmp
 * (mode 0600, not following a link there), flushed to disk, renamed over
 * path. It waits for the disk (fsync): not for an event loop. Returns 0,
 * -ENAMETOOLONG or -errno (path.tmp then removed, path untouched).
 */
int santa_file_replace(const char *path, const void *buf, size_t len);

#endif
