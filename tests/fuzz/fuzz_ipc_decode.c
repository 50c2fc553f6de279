/*
 * libFuzzer target: hostile datagrams through the IPC decoder. The first
 * byte chooses how many fds accompany the datagram (real fds of /dev/null),
 * so the fd-adoption paths are fuzzed too; a leak of any of them fails.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "ipc-wire-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg *msg = NULL;
	int fds[IPC_MAX_FDS], probe;
	size_t n_fds, i;
	uint8_t *buf;

	if (size < 1)
		return 0;
	n_fds = data[0] % (IPC_MAX_FDS + 1);
	for (i = 0; i < n_fds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* A copy of the exact size, so reading past the end is caught by ASan. */
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		abort();
	for (i = 1; i < size; i++)
		buf[i - 1] = data[i];
	if (ipc_msg_decode(buf, size - 1, fds, n_fds, &msg) == 0) {
		uint8_t *out = malloc(IPC_MAX_MSG);
		int out_fds[IPC_MAX_FDS];
		size_t len, n;

		/* What decodes must encode again. */
		if (!out || ipc_msg_encode(msg, out, &len, out_fds, &n) != 0 || n != n_fds)
			abort();
		free(out);
		ipc_msg_free(msg);
	}
	free(buf);
	/* Every fd handed over was closed, whatever the outcome. */
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (n_fds && probe != fds[0])
		abort();
	close(probe);
	return 0;
}
