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
 * Added from the loop, looked at on a thread of its own. At most `max`
 * files are held (each is an fd): past that the longest-held goes first
 * (counted). The kernel itself lets a
 * waiting writer in after /proc/sys/fs/lease-break-time whatever santad
 * holds.
 */
#ifndef SANTAD_LEASE_HOLD_H
#define SANTAD_LEASE_HOLD_H
#include <stdint.h>
#include <sys/types.h>

#define LEASE_HOLD_PIDS 8 /* execs followed per file; more merged ones share the first's fate */

struct lease_holds;

int lease_holds_new(unsigned int max, struct lease_holds **out);
void lease_holds_free(struct lease_holds *h);
/*
 * Takes fd (leased F_RDLCK by the caller, just allowed for the execs of
 * pids): closed, and the lease with it, once they settled. Never waits.
 */
void lease_holds_add(struct lease_holds *h, int fd, const pid_t *pids, unsigned int n_pids);
/* Files held now, and how many were let go early for room (status, tests). */
unsigned int lease_holds_count(struct lease_holds *h);
uint64_t lease_holds_evicted(struct lease_holds *h);
#endif
