/*
 * Read leases kept past an allowed exec's answer, until the exec holds
 * writers off itself.
 *
 * The kernel refuses writers of a file being exec'd (ETXTBSY) only once the
 * exec has gone past its permission event: between santad's answer and that
 * point a writer could open the file, put other code in it and close it, and
 * the exec would run bytes santad never decided. A read lease held on the
 * event's fd makes a writer's open wait; this module keeps it until every
 * exec it was taken for has settled: the process runs the file (its exe is
 * it), no thread of it is inside execve any more (the exec failed), or it
 * is gone. A writer then finds the file busy or unchanged in use.
 *
 * Every exec is followed, up to LEASE_HOLD_PIDS_MAX: as many as one job
 * answers (its first and JOB_MERGED_MAX merged, exec.c checks), since an
 * exec left out could be kept from its exec point (a user starves it) while
 * the others settle and the lease goes. Each file's pids are allocated with
 * it, as many as it has.
 *
 * Added from the loop, looked at on a thread of its own. At most `max`
 * files are held (each is an fd): past that the longest-held goes first
 * (counted). A file is let go too once held `max_age_usec` (counted): the
 * kernel lets a waiting writer in after /proc/sys/fs/lease-break-time
 * whatever santad holds, so a writer that opens at the answer gets in by
 * then anyway, and a lease kept much longer guards nothing a patient
 * writer could not have: it would only let a process stuck inside execve
 * pin an fd. lease_holds_age_limit() gives that bound.
 */
#ifndef SANTAD_LEASE_HOLD_H
#define SANTAD_LEASE_HOLD_H
#include <stdint.h>
#include <sys/types.h>

#define LEASE_HOLD_PIDS_MAX 65 /* execs followed per file: a job's, all of them (exec.c) */

struct lease_holds;

struct lease_hold_stats {
	unsigned int held;   /* files held now */
	uint64_t full;       /* let go early for room (the list full, or no memory) */
	uint64_t expired;    /* let go after max_age_usec, their execs not settled */
};

int lease_holds_new(unsigned int max, uint64_t max_age_usec, struct lease_holds **out);
void lease_holds_free(struct lease_holds *h);
/*
 * Takes fd (leased F_RDLCK by the caller, just allowed for the execs of
 * pids): closed, and the lease with it, once they settled. Never waits.
 */
void lease_holds_add(struct lease_holds *h, int fd, const pid_t *pids, unsigned int n_pids);
void lease_holds_stats(struct lease_holds *h, struct lease_hold_stats *out);
/*
 * The age bound for lease_holds_new: this kernel's lease-break-time, read
 * now (45 s when unreadable, at most an hour), and a margin for a writer
 * that opened a moment after the answer or the sysctl raised since.
 */
uint64_t lease_holds_age_limit(void);
#endif
