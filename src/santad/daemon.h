/*
 * What main.c (the daemon: start, reload, stop) does for the other modules,
 * which call it through d->daemon (santad.h), set by main. Loop thread.
 */
#ifndef SANTAD_DAEMON_H
#define SANTAD_DAEMON_H

struct santad;

/* Reloads the config file with the sync server's values over it; the old policy stays on error. */
int santad_rebuild_policy(struct santad *d);
#ifdef SANTA_TEST_HOOKS
/* Test builds only (main.c): holds the loop as a long rule batch would. */
void santad_test_stall(struct santad *d);
#endif

#endif
