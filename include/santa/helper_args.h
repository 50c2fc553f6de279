/*
 * What every helper (santasyncservice, santametricservice,
 * santabundleservice) does first: its options (--config FILE, as santad
 * passes it, and --debug) and its log. Its settings come from santad
 * (ipc_helper_start); santa.conf, root's, is read only under a systemd
 * socket unit, and only to find santad.sock, when this user may read it.
 */
#ifndef SANTA_HELPER_ARGS_H
#define SANTA_HELPER_ARGS_H

#include "santa/config.h"
#include "santa/log.h"

/*
 * Returns 0, 2 for bad options (usage printed), or 1 when the configuration
 * cannot be used (said in the log); cfg then needs santa_config_free. A
 * missing or unreadable file means Santa's defaults.
 */
int santa_helper_args(const char *name, int argc, char **argv, struct santa_log *log,
		      struct santa_config *cfg, const char **config_path);

/*
 * The first call of every helper's main, before it reads anything secret:
 * not dumpable (execve made it dumpable again: no process may read its
 * memory or environment through /proc or ptrace, even one with its uid), and
 * no ambient capabilities left for anything it might run (the bundle
 * service keeps its own CAP_DAC_READ_SEARCH). Returns 0 or -errno.
 */
int santa_helper_harden(void);

#endif
