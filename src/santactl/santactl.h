/* santactl's commands and what they share. */
#ifndef SANTACTL_H
#define SANTACTL_H

#include <stdbool.h>
#include <stdio.h>

#include "santa/config.h"
#include "santa/ipc.h"

struct santactl {
	struct santa_config cfg;
	sd_event *event;
	struct ipc_conn *conn;
	bool connect_failed; /* tried once: do not wait again for every file */
};

/* Connects to santad.sock; unless quiet, says on stderr why it failed. */
int santactl_connect(struct santactl *ctl, bool quiet);

int cmd_fileinfo(struct santactl *ctl, int argc, char **argv);
void fileinfo_usage(FILE *out);

#endif
