/*
 * The verified-file memory kept across santad's restarts (santa/pkgtrust.h):
 * a root-only file of fixed-size records behind a header, the whole followed
 * by its SHA-256. It only saves an MD5 pass: a record counts for a file only
 * while the file's key (device, inode, times, size) is the one recorded, and
 * santad checks the rest (owner, mode, dpkg's path and record) as for any
 * file. A damaged, truncated, foreign or world-readable file is refused whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "santa/pkgtrust.h"
#include "santa/sha256.h"

#define VERIFIED_MAGIC "santa-verified"
#define VERIFIED_VERSION 1

struct verified_header {
	char magic[16];
	uint32_t version, record_size;
	uint64_t count;
};

void
santa_verified_ident(const char *name, const char *version, const char *arch, uint8_t ident[16])
{
	uint8_t digest[SANTA_SHA256_LEN];
	char buf[3 * 1024];
	int n;

	/* NUL-separated: ("a", "bc") and ("ab", "c") differ. */
	n = snprintf(buf, sizeof(buf), "%s%c%s%c%s", name, 0, version, 0, arch);
	if (n < 0 || (size_t)n >= sizeof(buf) || santa_sha256_buf(buf, (size_t)n, digest) < 0)
		memset(digest, 0xff, sizeof(digest)); /* matches no view's package */
	memcpy(ident, digest, 16);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
santa_verified_save(const char *path, const struct santa_verified_file *files, size_t n)
{
	struct verified_header h;
	uint8_t digest[SANTA_SHA256_LEN];
	size_t body_len = sizeof(h) + n * sizeof(*files);
	char tmp[4096], *body = NULL;
	int r = -EINVAL, fd = -1;

	if (n > SANTA_VERIFIED_MAX)
		goto out;
	r = -ENAMETOOLONG;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		goto out;
	r = -ENOMEM;
	body = malloc(body_len + SANTA_SHA256_LEN);
	if (!body)
		goto out;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, VERIFIED_MAGIC, sizeof(VERIFIED_MAGIC));
	h.version = VERIFIED_VERSION;
	h.record_size = sizeof(*files);
	h.count = n;
	memcpy(body, &h, sizeof(h));
	if (n)
		memcpy(body + sizeof(h), files, n * sizeof(*files));
	r = santa_sha256_buf(body, body_len, digest);
	if (r < 0)
		goto out;
	memcpy(body + body_len, digest, SANTA_SHA256_LEN);
	/* Written aside and renamed: a reader sees the old file or the whole new one. */
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, body, body_len + SANTA_SHA256_LEN);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -EIO;
	fd = -1;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
out:
	free(body);
	return r;
}

int
santa_verified_load(const char *path, struct santa_verified_file **out, size_t *n)
{
	const size_t max_len = sizeof(struct verified_header) +
			       SANTA_VERIFIED_MAX * sizeof(struct santa_verified_file) + SANTA_SHA256_LEN;
	struct verified_header h;
	uint8_t digest[SANTA_SHA256_LEN];
	size_t len = 0;
	char *buf = NULL;
	struct stat st;
	ssize_t got;
	int r, fd;

	*out = NULL;
	*n = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = -errno;
	if (fstat(fd, &st) < 0)
		goto out;
	/* Only what santad wrote: its own file, which no one else may read or write. */
	r = -EPERM;
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		goto out;
	r = -EBADMSG;
	if ((size_t)st.st_size > max_len || (size_t)st.st_size < sizeof(h) + SANTA_SHA256_LEN)
		goto out;
	r = -ENOMEM;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		goto out;
	while (len < (size_t)st.st_size) {
		got = read(fd, buf + len, (size_t)st.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	r = -EBADMSG;
	if (len != (size_t)st.st_size)
		goto out;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, VERIFIED_MAGIC, sizeof(VERIFIED_MAGIC)) != 0 ||
	    h.version != VERIFIED_VERSION || h.record_size != sizeof(**out) ||
	    h.count > SANTA_VERIFIED_MAX ||
	    len != sizeof(h) + h.count * sizeof(**out) + SANTA_SHA256_LEN)
		goto out;
	if (santa_sha256_buf(buf, len - SANTA_SHA256_LEN, digest) < 0 ||
	    memcmp(digest, buf + len - SANTA_SHA256_LEN, SANTA_SHA256_LEN) != 0)
		goto out;
	r = 0;
	if (h.count) {
		r = -ENOMEM;
		*out = malloc(h.count * sizeof(**out));
		if (!*out)
			goto out;
		memcpy(*out, buf + sizeof(h), h.count * sizeof(**out));
		r = 0;
	}
	*n = h.count;
out:
	free(buf);
	close(fd);
	return r;
}

void
santa_verified_of(const struct stat *st, const struct santa_dpkg_package *package,
		  const uint8_t md5[16], struct santa_verified_file *out)
{
	memset(out, 0, sizeof(*out));
	out->dev = (uint64_t)st->st_dev;
	out->ino = (uint64_t)st->st_ino;
	out->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	out->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	out->size = (int64_t)st->st_size;
	memcpy(out->md5, md5, 16);
	santa_verified_ident(package->name, package->version, package->arch, out->ident);
}

const struct santa_dpkg_package *
santa_verified_match(const struct santa_pkgtrust *t, const struct santa_verified_file *r,
		     const struct stat *st, const char *path)
{
	const struct santa_dpkg_db *db = santa_pkgtrust_dpkg(t);
	struct santa_verified_file now;
	struct santa_dpkg_file files[8];
	char here[4096];
	struct stat lst;
	size_t n, i;

	/*
	 * The bytes are the ones that matched only if the inode is untouched
	 * since: a write moves mtime and ctime, a chmod or chown ctime, and no
	 * one can set ctime back (touch -d sets mtime only). Ownership and mode
	 * are checked as for any file: the record vouches for bytes, not owner.
	 */
	if (!S_ISREG(st->st_mode) || st->st_uid != 0 || (st->st_mode & 022))
		return NULL;
	now.dev = (uint64_t)st->st_dev;
	now.ino = (uint64_t)st->st_ino;
	now.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	now.ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	now.size = (int64_t)st->st_size;
	if (now.dev != r->dev || now.ino != r->ino || now.mtime_ns != r->mtime_ns ||
	    now.ctime_ns != r->ctime_ns || now.size != r->size)
		return NULL;
	/*
	 * And the path names this very inode in our own mount namespace. A
	 * record may be from an earlier boot, when the filesystem had another
	 * device number: a user's FUSE file (any owner, inode and times it
	 * likes) bind-mounted at dpkg's path in their own namespace could hold
	 * that number now. Here the path is the real file, another device.
	 */
	if ((size_t)snprintf(here, sizeof(here), "%s%s", santa_dpkg_db_root(db), path) >= sizeof(here) ||
	    lstat(here, &lst) < 0 || lst.st_dev != st->st_dev || lst.st_ino != st->st_ino)
		return NULL;
	/* The view must still list this path with that MD5 for that package, version and arch. */
	n = santa_dpkg_db_find(db, path, files, 8);
	for (i = 0; i < n && i < 8; i++) {
		uint8_t ident[16];

		if (memcmp(files[i].md5, r->md5, 16) != 0)
			continue;
		santa_verified_ident(files[i].package->name, files[i].package->version,
				     files[i].package->arch, ident);
		if (memcmp(ident, r->ident, 16) == 0)
			return files[i].package;
	}
	return NULL;
}
