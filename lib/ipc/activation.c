/*
 * The sockets a helper was started with, in systemd's LISTEN_FDS convention:
 * santad passes the helper's listener and a private channel named "santad";
 * a systemd socket unit passes the listener alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "santa/ipc.h"

int
ipc_activation_fds(int *listen_fd, int *santad_fd)
{
	char **names = NULL;
	int n, i;

	*listen_fd = *santad_fd = -1;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (names && names[i] && strcmp(names[i], "santad") == 0 && *santad_fd < 0)
			*santad_fd = fd;
		else if (*listen_fd < 0 && sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 1) > 0)
			*listen_fd = fd;
	}
	for (i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	return *listen_fd >= 0 ? 0 : -ENOENT;
}
