/* Finding a file's bundle and hashing its executables (bundle.c). */
#ifndef SANTA_BUNDLE_H
#define SANTA_BUNDLE_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "santa/config.h"
#include "santa/sha256.h"

#define BUNDLE_EXECUTABLES_MAX  20000
#define BUNDLE_TREE_ENTRIES_MAX 500000            /* files and directories walked in a tree */
#define BUNDLE_DPKG_OUTPUT_MAX  (64 * 1024 * 1024) /* what dpkg-query may print */
#define BUNDLE_HASH_THREADS_MAX 8

struct bundle_exe {
	char *path;
	dev_t dev;
	ino_t ino;
	int error; /* hashing it failed: left out of the bundle hash */
	uint8_t sha256[SANTA_SHA256_LEN];
};

struct bundle {
	char kind[8];         /* "deb" (a Debian package) or "tree" (below a BundleRoot) */
	char root[PATH_MAX];  /* the package name, or the tree's directory */
	char name[256];
	char version[256];    /* the package version; empty for a tree */
	struct bundle_exe *exes;
	size_t n_exes, cap_exes;
	size_t n_hashed;
	uint8_t bundle_hash[SANTA_SHA256_LEN];
};

/*
 * Finds the bundle path belongs to and lists its executables. Returns 0,
 * -ENOENT (not a bundle, or one without executables), -E2BIG (over a cap)
 * or -errno, with the reason in why.
 */
int bundle_find(const char *path, const struct santa_strv *roots, struct bundle *b, char *why,
		size_t why_size);
/* Hashes every executable on up to threads threads, counting each in *done. */
int bundle_hash(struct bundle *b, unsigned int threads, atomic_size_t *done);
void bundle_free(struct bundle *b);

#endif
