/* Finding a file's bundle and hashing its executables (bundle.c). */
#ifndef SANTA_BUNDLE_H
#define SANTA_BUNDLE_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "santa/config.h"
#include "santa/sha256.h"

#define BUNDLE_EXECUTABLES_MAX  20000
#define BUNDLE_TREE_ENTRIES_MAX 500000            /* files and directories walked in a tree */
#define BUNDLE_TREE_DEPTH_MAX   32                /* directories open at once in a walk; deeper ones are not entered */
#define BUNDLE_DPKG_OUTPUT_MAX  (64 * 1024 * 1024) /* what dpkg-query may print */
#define BUNDLE_HASH_THREADS_MAX 8
#define BUNDLE_HASH_BYTES_MAX   (16ULL << 30)      /* bytes read per request, every file counted */
#define BUNDLE_HASH_STEP        (1024 * 1024)      /* read between two looks at the cancel flag */

/*
 * One request's limits, shared by its threads: cancel is 0 while it may go
 * on, else the -errno it ends with (-ECANCELED: the client went,
 * -ETIMEDOUT: too long, -ESHUTDOWN: the service stops); bytes counts what
 * was reserved against BUNDLE_HASH_BYTES_MAX.
 */
struct bundle_ctl {
	atomic_int cancel;
	atomic_uint_least64_t bytes;
};

struct bundle_exe {
	char *path;   /* as shown: dpkg's name, or the tree's directory joined with rel */
	char *rel;    /* what is opened, relative to the bundle's base_fd (absolute for a package) */
	dev_t dev;
	ino_t ino;
	off_t size;
	int error; /* hashing it failed: left out of the bundle hash */
	uint8_t sha256[SANTA_SHA256_LEN];
};

struct bundle {
	char kind[8];         /* "deb" (a Debian package) or "tree" (below a BundleRoot) */
	char root[PATH_MAX];  /* the package name, or the tree's directory */
	char name[256];
	char version[256];    /* the package version; empty for a tree */
	int base_fd;          /* the tree's directory, or AT_FDCWD for a package */
	uint64_t resolve;     /* openat2 RESOLVE_* flags for every open below base_fd */
	struct bundle_exe *exes;
	size_t n_exes, cap_exes;
	size_t n_hashed;
	size_t n_denied;      /* entries the caller may not read: the view is partial */
	uint8_t bundle_hash[SANTA_SHA256_LEN];
};

/*
 * Opens name (relative to dirfd) for reading as a regular file and nothing
 * else: no symlink in any component (resolve adds to RESOLVE_NO_SYMLINKS),
 * O_NONBLOCK so that a FIFO or device cannot hang the open, and refused
 * (-EINVAL) when what opened is not a regular file. st gets its fstat.
 * Returns the fd or -errno.
 */
int bundle_open_regular(int dirfd, const char *name, uint64_t resolve, struct stat *st);
/*
 * Hashes the open regular file fd of size bytes, reserving them against the
 * request's byte budget first (-E2BIG when over it), looking at ctl->cancel
 * every BUNDLE_HASH_STEP, and failing (-ESTALE) when it grows past size.
 */
int bundle_hash_fd(int fd, off_t size, struct bundle_ctl *ctl, uint8_t digest[SANTA_SHA256_LEN]);

/*
 * Finds the bundle path belongs to and lists its executables, with the
 * calling thread's file system credentials. Returns 0, -ENOENT (not a
 * bundle, or one without executables), -E2BIG (over a cap), the cancel
 * error, or -errno, with the reason in why.
 */
int bundle_find(const char *path, const struct santa_strv *roots, struct bundle *b,
		struct bundle_ctl *ctl, char *why, size_t why_size);
/*
 * Hashes every executable on up to threads threads (which inherit the
 * caller's credentials), counting each in *done.
 */
int bundle_hash(struct bundle *b, unsigned int threads, atomic_size_t *done,
		struct bundle_ctl *ctl);
void bundle_free(struct bundle *b);

#endif
