/* santactl's commands and what they share. */
#ifndef SANTACTL_H
#define SANTACTL_H

#include <stdbool.h>
#include <stdio.h>

#include "santa/config.h"
#include "santa/ipc.h"
#include "santa/pkgtrust.h"

struct santactl {
	struct santa_config cfg;
	sd_event *event;
	struct ipc_conn *conn;
	bool connect_failed; /* tried once: do not wait again for every file */
	bool config_unreadable; /* santa.conf is root's (0640): Santa's defaults stand in */
};

/* Connects to santad.sock; unless quiet, says on stderr why it failed. */
int santactl_connect(struct santactl *ctl, bool quiet);

int cmd_fileinfo(struct santactl *ctl, int argc, char **argv);

/* Package identities (docs/package-trust.md), read as santad reads them; NULL: said why on stderr. */
struct santa_pkgtrust *santactl_load_trust(struct santactl *ctl);
struct santa_pkg_identity;
struct stat;
enum santa_pkg_verdict santactl_identify_fd(const struct santa_pkgtrust *trust, int fd,
					    const struct stat *st, struct santa_pkg_identity *id);
void fileinfo_usage(FILE *out);

#endif
