/*
 * santa.conf, rules.db, events.db and santa.log on disk: who may write
 * them (local_files.c). At start and on SIGHUP, on the loop thread.
 */
#ifndef SANTAD_LOCAL_FILES_H
#define SANTAD_LOCAL_FILES_H

#include <sys/types.h>

#include "santa/config.h"

struct santad;

/*
 * santa.conf opened for reading if only root can have written it (the file
 * and every directory on its way): the fd, or -errno; a refusal (-EPERM) is
 * logged naming the culprit, its owner and mode.
 */
int santad_open_config(struct santad *d);
/* Warns when santa.conf holds secrets and every user may read it. */
void santad_warn_config_secrets(struct santad *d, int fd, const struct santa_config *cfg);
/* The event log's group: adm where it exists, else root. */
gid_t santad_log_group(void);
/*
 * rules.db and events.db (and their WAL files) root's alone, created 0600;
 * santa.log root:adm 0640; looser modes tightened, and said so in the log.
 */
void santad_secure_local_files(struct santad *d);

#endif
