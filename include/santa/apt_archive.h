/*
 * The archives apt knows (/var/lib/apt/lists): for each Release, who signed
 * it (verified, santa/openpgp.h) and which (package, version, architecture)
 * its Packages indices list. This is what gives an installed package the
 * Linux counterpart of a code signature (docs/package-trust.md).
 *
 * Chain of trust, each link checked here: a key from a trusted keyring ->
 * a good signature on the Release (InRelease, or Release + Release.gpg) ->
 * the SHA256 the Release gives for a Packages index -> that index's
 * (Package, Version, Architecture) entries. A Packages file whose digest does
 * not match its Release, or that its Release does not list, is not used.
 */
#ifndef SANTA_APT_ARCHIVE_H
#define SANTA_APT_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "santa/openpgp.h"

#define SANTA_APT_FIELD_MAX       128
#define SANTA_APT_ARCHIVES_MAX    256     /* Release files used */
#define SANTA_APT_INDEX_MAX_BYTES (512u << 20) /* one decompressed Packages index */
#define SANTA_APT_RELEASE_MAX_BYTES (64u << 20) /* one Release/InRelease file */
#define SANTA_APT_KEYRING_MAX_BYTES (16u << 20) /* one keyring file */
#define SANTA_APT_ENTRIES_MAX     1000000 /* (package, version, arch) kept in all */
#define SANTA_TEAMID_LEN          10

/* One key that made a good signature on an archive's Release. */
struct santa_apt_signer {
	char fpr_hex[2 * SANTA_PGP_FPR_MAX_LEN + 1];         /* the signing (sub)key */
	char primary_fpr_hex[2 * SANTA_PGP_FPR_MAX_LEN + 1]; /* its primary key */
	char certificate[65]; /* SHA-256 of the signing key, lower-case hex: CERTIFICATE rules */
	char team_id[SANTA_TEAMID_LEN + 1]; /* last 10 hex digits of the primary's fingerprint, upper-case: TEAMID rules */
	char uid[SANTA_PGP_UID_MAX];
	bool platform; /* the key is in a platform keyring (the distribution's own) */
};

struct santa_apt_archive {
	char release_name[256]; /* the lists file, e.g. deb.debian.org_debian_dists_bookworm_InRelease */
	char origin[SANTA_APT_FIELD_MAX], label[SANTA_APT_FIELD_MAX];
	char suite[SANTA_APT_FIELD_MAX], codename[SANTA_APT_FIELD_MAX];
	struct santa_apt_signer signers[SANTA_PGP_SIGS_MAX];
	size_t n_signers; /* > 0: an archive without a good signature is not kept */
	bool platform;    /* some signer is platform */
};

/*
 * Keys are trusted when they are in keyrings or platform_keyrings (a
 * platform key is trusted by being the distribution's own; listing it in
 * both does no harm). A keyring that cannot be read or parsed is skipped
 * and counted (keyrings_skipped), not an error. Either list may be NULL.
 */
struct santa_apt_paths {
	const char *lists_dir;           /* /var/lib/apt/lists */
	const char *const *keyrings;     /* files or directories (*.gpg, *.asc), NULL-terminated */
	const char *const *platform_keyrings; /* files whose keys are the distribution's own, NULL-terminated */
};

/*
 * Decides which listed packages are kept: only those santad may need (the
 * installed ones), so memory follows the machine, not the archive's size.
 * The strings are only valid during the call. A NULL wanted keeps all.
 */
typedef bool (*santa_apt_wanted_fn)(const char *package, const char *version, const char *arch,
				    void *userdata);

struct santa_apt_index;

/*
 * Reads every Release and its Packages indices under paths->lists_dir.
 * A Release without a good signature, a Packages index that does not match
 * its Release's SHA256, or one that cannot be read is skipped and counted
 * (santa_apt_index_stats); only a lists directory that cannot be read at all
 * (or memory running out) is an error. Returns 0 or -errno (why says what).
 *
 * Which files: every <prefix>_InRelease, and <prefix>_Release with a
 * <prefix>_Release.gpg beside it (not when an InRelease has the prefix: apt
 * uses that one). Fields come from the signed text only. A Packages lists
 * file is <prefix>_<path>[.gz|.xz|.lz4], <path> a SHA256 entry of the
 * Release ending in "Packages" (apt's URItoFileName: '_' and the like
 * %-escaped, '/' made '_'); it is used only when its decompressed bytes have
 * the SHA-256 and size the Release gives for <path> (the uncompressed path:
 * apt recompresses what it fetched). Each lists file belongs to the Release
 * with the longest prefix that names it. Peak memory is one decompressed
 * index on top of what is kept.
 */
int santa_apt_index_load(const struct santa_apt_paths *paths, santa_apt_wanted_fn wanted,
			 void *userdata, struct santa_apt_index **out, char *why, size_t why_size);
void santa_apt_index_free(struct santa_apt_index *idx);

/*
 * The archives whose indices list exactly (package, version, arch), best
 * first (platform archives first, then by Release name). Writes at most max
 * and returns how many there are in all.
 */
size_t santa_apt_index_find(const struct santa_apt_index *idx, const char *package,
			    const char *version, const char *arch,
			    const struct santa_apt_archive **out, size_t max);

/*
 * The archives that list package for arch (NULL: any) in any version, best
 * first: for an installed version that no archive lists any more (apt's
 * lists moved on to a newer one). Same returns as santa_apt_index_find.
 */
size_t santa_apt_index_find_name(const struct santa_apt_index *idx, const char *package,
				 const char *arch, const struct santa_apt_archive **out,
				 size_t max);

/*
 * Calls fn for every (package, version, arch) with the numbers of the
 * archives listing it (best first; santa_apt_index_archive gives each). arch
 * is not NUL-terminated: arch_len bytes. A negative return stops and is returned.
 */
int santa_apt_index_foreach(const struct santa_apt_index *idx,
			    int (*fn)(const char *package, const char *version, const char *arch,
				      size_t arch_len, const uint8_t *archives, size_t n,
				      void *userdata),
			    void *userdata);
const struct santa_apt_archive *santa_apt_index_archive(const struct santa_apt_index *idx,
							size_t number);
size_t santa_apt_index_archive_count(const struct santa_apt_index *idx);

struct santa_apt_index_stats {
	size_t releases_seen, releases_used, releases_unsigned; /* unsigned: no good signature */
	size_t releases_rejected;      /* signed but unreadable, malformed, a field too long, over SANTA_APT_ARCHIVES_MAX */
	size_t keyrings_skipped;       /* keyring files that could not be read or parsed */
	size_t indices_used, indices_rejected;                  /* rejected: digest mismatch, unlisted, unreadable */
	size_t entries;                                          /* (package, version, arch) kept */
	size_t entries_dropped;        /* wanted, but over SANTA_APT_ENTRIES_MAX */
	size_t paragraphs_bad;         /* in used indices: malformed, or without Package/Version/Architecture */
	size_t memory_bytes;                                     /* what the index holds */
};
void santa_apt_index_stats(const struct santa_apt_index *idx, struct santa_apt_index_stats *out);

#endif
