/*
 * Whose eyes a request's thread reads with (creds.c). Capabilities, the file
 * system uid and gid and (by the raw system call) the supplementary groups
 * are per thread on Linux; each request gets a thread of its own, which
 * takes its client's identity and never gives it back.
 */
#ifndef SANTA_BUNDLE_CREDS_H
#define SANTA_BUNDLE_CREDS_H

#include <stddef.h>
#include <sys/types.h>

#define BUNDLE_GROUPS_MAX 1024 /* a client's supplementary groups; more are refused */

/*
 * The main thread keeps its capabilities permitted but none effective: it
 * parses what clients send and needs none of them.
 */
int bundle_creds_main(void);
/* Before any thread: setuid-like calls and a root file system identity refused for good (seccomp). */
int bundle_creds_lock(void);
/*
 * The calling thread reads as uid would: root (a root santactl, santad)
 * keeps CAP_DAC_READ_SEARCH; anyone else gets uid, gid and groups as its
 * file system identity and no capability at all. Returns 0 or -errno.
 */
int bundle_creds_become(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups);

#endif
