/*
 * lib/ipc's internal header for its own files, its tests and its fuzzers:
 * the codec and the header fields the connection layer owns. Programs never
 * see it (only lib/ipc and tests/ have this directory on their include path):
 * they send and receive messages through a connection, which sets these.
 */
#ifndef SANTA_IPC_WIRE_INTERNAL_H
#define SANTA_IPC_WIRE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "santa/ipc_msg.h"

uint64_t ipc_msg_request_id(const struct ipc_msg *msg);
uint64_t ipc_msg_session(const struct ipc_msg *msg);
void ipc_msg_set_header(struct ipc_msg *msg, uint8_t flags, uint64_t request_id,
			uint64_t session);

/*
 * Serialises msg into buf (at least IPC_MAX_MSG bytes). The fds to send
 * along are stored in fds (IPC_MAX_FDS slots), in the order the body refers
 * to them; they stay owned by msg. Returns 0, or -E2BIG when the message
 * exceeds a cap.
 */
int ipc_msg_encode(const struct ipc_msg *msg, uint8_t *buf, size_t *len, int *fds,
		   size_t *n_fds);

/*
 * Parses a datagram and the fds that came with it. Always takes ownership of
 * the fds: on error they are closed; on success the message owns them (and
 * closes any the body does not refer to... which is itself an error).
 * Returns 0 or -EBADMSG (malformed), -EPROTO (other protocol version),
 * -ENOMEM.
 */
int ipc_msg_decode(const uint8_t *buf, size_t len, int *fds, size_t n_fds,
		   struct ipc_msg **out);

#endif
