/*
 * lib/ipc: validated, multiplexed, two-way connections between Santa's
 * processes (the Linux counterpart of Santa's validated XPC connections).
 * Its whole surface, and who uses it (lib/ipc/exports.txt lists it; ctest
 * unit.ipc_exports fails when the library exports anything else):
 *
 *   connection     -- one peer: requests with ids and timeouts (send_request,
 *                     call: santactl's), replies (reply, reply_error,
 *                     ipc_msg_error), one-way events, fds, flow control,
 *                     barrier (santasyncservice), integrated with an sd_event
 *                     loop. connect: santactl, santa-gui; from_endpoint and
 *                     ipc_endpoint_pair: one end of a socketpair passed
 *                     inside a message, a full connection trusted as much as
 *                     the one that carried it (every program).
 *   listener       -- accepts on a named AF_UNIX SOCK_SEQPACKET socket,
 *                     checks each peer (credentials, executable, handshake)
 *                     and hands a connection over only once it is validated.
 *                     santad (listen_socket, add_private_socket: its own and
 *                     its helpers' sockets); helpers through ipc_helper_start.
 *   peer identity  -- struct ipc_peer, fixed at the handshake; the allowlist
 *                     of this installation's binaries (santad, tests, bench);
 *                     ipc_peer_validate_pidfd (santad, for its helpers);
 *                     ipc_conn_peer_groups (santabundleservice).
 *   messages       -- santa/ipc_msg.h: a typed dictionary per message, built
 *                     and read by every program. The codec and the header
 *                     fields belong to the connection (lib/ipc/
 *                     ipc-wire-internal.h: lib/ipc, its tests and fuzzers).
 *
 * Errors are negative errnos; the text for a failed connect is written to a
 * caller's buffer ("santad is not running", "not authorized: ...").
 * Everything runs on the thread that owns the sd_event loop.
 */
#ifndef SANTA_IPC_H
#define SANTA_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "santa/ipc_msg.h"
#include "santa/sha256.h"

#define IPC_DEFAULT_CONNECT_TIMEOUT_USEC (2 * 1000 * 1000ULL)
#define IPC_DEFAULT_REQUEST_TIMEOUT_USEC (10 * 1000 * 1000ULL)
#define IPC_NAME_MAX                     32
#define IPC_ALLOWLIST_MAX                16

/* ---- who is on the other end ---- */

/* Fixed at the handshake from what the kernel says, never from the peer's words. */
struct ipc_peer {
	char name[IPC_NAME_MAX]; /* the allowlist entry matched: "santactl", "santad", ... */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool privileged; /* decided by the listener's authorize callback */
};

/* One of this installation's own binaries, recorded when the allowlist is built. */
struct ipc_identity {
	char name[IPC_NAME_MAX];
	char path[256];
	dev_t dev;
	ino_t ino;
	uint8_t sha256[SANTA_SHA256_LEN];
	/* When times_known: the file's times and size when it was hashed; the same later, same bytes. */
	struct timespec mtime, ctime;
	off_t size;
	bool times_known;
};

struct ipc_allowlist {
	struct ipc_identity entries[IPC_ALLOWLIST_MAX];
	size_t n;
};

/*
 * Records path as identity name: its (dev, ino) and SHA-256 now. The file
 * must be a regular file owned by root and not writable by group or others.
 * Returns 0, -E2BIG (list full), -EPERM (untrustworthy file) or -errno.
 */
int ipc_allowlist_add(struct ipc_allowlist *list, const char *name, const char *path);

/*
 * The checks a listener makes of each client, for the process a pidfd names
 * (santad validating a helper's client for it): its executable must be an
 * allowlisted file, unchanged (same dev, ino, SHA-256), root-owned and not
 * writable by others, in a process nobody is tracing. Returns 0 and fills
 * peer->pid and name, or -EPERM with the reason in why.
 */
int ipc_peer_validate_pidfd(int pidfd, const struct ipc_allowlist *list, struct ipc_peer *peer,
			    char *why, size_t why_size);

/* ---- connections ---- */

struct ipc_conn;

struct ipc_conn_handlers {
	/*
	 * A request (answer it with ipc_conn_reply or ipc_conn_reply_error, now
	 * or later) or a one-way event (IPC_FLAG_ONEWAY). The handler owns msg.
	 */
	void (*on_message)(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata);
	/* The peer went away but may come back (named connections only): called once each time. */
	void (*on_interrupted)(struct ipc_conn *conn, void *userdata);
	/* Re-established by name after an interruption (the handshake passed again). */
	void (*on_reconnected)(struct ipc_conn *conn, void *userdata);
	/* This connection is finished; error says why (0: closed by us). Called exactly once. */
	void (*on_invalidated)(struct ipc_conn *conn, int error, void *userdata);
};

struct ipc_conn_options {
	unsigned int max_in_flight; /* peer's requests we have not answered; beyond it we stop reading */
	unsigned int max_outbound;  /* queued outgoing messages; events beyond it drop the oldest */
	bool serial;                /* never send request N+1 before N is answered (the GUI) */
};

/* Reply callback: reply is NULL when error < 0 (-ETIMEDOUT, -ECONNRESET, -ECANCELED, ...). */
typedef void (*ipc_reply_fn)(struct ipc_conn *conn, struct ipc_msg *reply, int error,
			     void *userdata);

/*
 * Connects to a named socket and returns only once the listener validated us
 * (HELLO / HELLO_OK) or failed: -ENOENT/-ECONNREFUSED ("... is not running"),
 * -EPERM ("not authorized: <reason>"), -EPROTO ("protocol version
 * mismatch"), -ETIMEDOUT. why gets the text. The connection reconnects by
 * itself after an interruption. opts may be NULL.
 */
int ipc_conn_connect(sd_event *event, const char *path, const char *service_name,
		     uint64_t timeout_usec, const struct ipc_conn_options *opts,
		     const struct ipc_conn_handlers *handlers, void *userdata,
		     struct ipc_conn **out, char *why, size_t why_size);

/*
 * Wraps an anonymous endpoint (one end of a socketpair received in a message,
 * or kept by its creator). No handshake: it is as trusted as the connection
 * that carried it, and peer (may be NULL) says whose that was. It can only
 * be invalidated, never interrupted. Takes ownership of fd.
 */
int ipc_conn_from_endpoint(sd_event *event, int fd, const struct ipc_peer *peer,
			   const struct ipc_conn_options *opts,
			   const struct ipc_conn_handlers *handlers, void *userdata,
			   struct ipc_conn **out);

/* Creates a socketpair: *local is ours to wrap, *remote goes into a message. */
int ipc_endpoint_pair(int *local, int *remote);

/* Sends a request; cb runs exactly once. Takes msg in every case. */
int ipc_conn_send_request(struct ipc_conn *conn, struct ipc_msg *msg, uint64_t timeout_usec,
			  ipc_reply_fn cb, void *userdata);
/* Sends a request and runs the loop until its reply; for command-line tools. */
int ipc_conn_call(struct ipc_conn *conn, struct ipc_msg *msg, uint64_t timeout_usec,
		  struct ipc_msg **reply);
/* One-way event; under pressure the oldest queued events are dropped and counted. */
int ipc_conn_send_event(struct ipc_conn *conn, struct ipc_msg *msg);
/* Answers request (which the caller still owns) with reply (taken). */
int ipc_conn_reply(struct ipc_conn *conn, const struct ipc_msg *request, struct ipc_msg *reply);
int ipc_conn_reply_error(struct ipc_conn *conn, const struct ipc_msg *request, int error,
			 const char *text);
/* Reads the error of an IPC_FLAG_ERROR reply: returns the negative errno, text in *text. */
int ipc_msg_error(const struct ipc_msg *reply, const char **text);
/* cb runs once everything queued before it has been written to the socket. */
int ipc_conn_barrier(struct ipc_conn *conn, void (*cb)(struct ipc_conn *, void *), void *userdata);

const struct ipc_peer *ipc_conn_peer(const struct ipc_conn *conn);
/*
 * The peer's supplementary groups as the kernel recorded them at connect
 * (SO_PEERGROUPS), for a service that acts with its client's identity.
 * Returns how many (up to max), -ERANGE when there are more, or -errno.
 */
int ipc_conn_peer_groups(const struct ipc_conn *conn, gid_t *groups, size_t max);
bool ipc_conn_is_connected(const struct ipc_conn *conn);

/* Ends the connection: pending requests fail with -ECANCELED, on_invalidated(0) runs. */
void ipc_conn_invalidate(struct ipc_conn *conn);
struct ipc_conn *ipc_conn_ref(struct ipc_conn *conn);
void ipc_conn_unref(struct ipc_conn *conn);

/* ---- listener ---- */

struct ipc_listener;

struct ipc_listener_handlers {
	/*
	 * Decides whether a validated peer may connect and whether it is
	 * privileged (peer->privileged). Return 0, or -EPERM with why filled.
	 * NULL accepts every validated peer, unprivileged.
	 */
	int (*authorize)(struct ipc_peer *peer, void *userdata, char *why, size_t why_size);
	/* A validated client; take a ref to keep it. handlers/userdata for it come from here. */
	void (*on_connection)(struct ipc_listener *listener, struct ipc_conn *conn, void *userdata);
	/* A refused client, with the reason (for the log). peer fields may be partly empty. */
	void (*on_rejected)(struct ipc_listener *listener, const struct ipc_peer *peer,
			    const char *why, void *userdata);
	/* Handlers every accepted connection starts with (its userdata: the listener's). */
	struct ipc_conn_handlers conn_handlers;
	struct ipc_conn_options conn_options;
};

/*
 * Listens on fd (a bound SOCK_SEQPACKET socket; listen() is called if needed)
 * or, when fd < 0, on a new socket at path with the given mode. list is
 * copied; NULL disables the executable check (tests of the transport only).
 */
int ipc_listener_new(sd_event *event, int fd, const char *path, mode_t mode,
		     const struct ipc_allowlist *list, const struct ipc_listener_handlers *handlers,
		     void *userdata, struct ipc_listener **out);
void ipc_listener_free(struct ipc_listener *listener);
/*
 * A bound, listening, non-blocking SOCK_SEQPACKET socket at path with mode;
 * an old socket left there is replaced, anything else is not (-EEXIST).
 * For santad, which makes its helpers' sockets and hands them over.
 */
int ipc_listen_socket(const char *path, mode_t mode, int *out);
/*
 * A second socket at path, mode 0600, served like the first: only its owner
 * (root, for santad) can connect to it. A flood of connects to a socket
 * anyone may use fills that socket's kernel backlog before the listener can
 * tell one uid from another; root's clients come in here instead.
 */
int ipc_listener_add_private_socket(struct ipc_listener *listener, const char *path);

/* Connections currently open (validated) and waiting for their handshake. */
size_t ipc_listener_connections(const struct ipc_listener *listener);

/* ---- helpers (santasyncservice, santametricservice, santabundleservice) ---- */

/*
 * Everything a helper needs to start: its event loop (*event: the thread's
 * default, which SIGTERM, SIGINT and SIGHUP end: santad stops helpers with
 * SIGTERM and restarts them to reload; the caller unrefs it, failure or
 * not), its channel to santad (the one santad passed, else a connection to
 * santad_path) and a listener on its passed socket whose clients santad
 * validates: each client's pidfd is sent as a request { pidfd }
 * (SANTAD_VALIDATE_PEER), whose reply { identity } or error decides. why
 * says what failed. santad_handlers (or any of its callbacks) may be NULL:
 * santad's requests are then refused, and the loop ends when the channel is
 * invalidated, as a helper follows santad. When settings is not NULL it is
 * replaced, before the listener opens, by the settings santad gives this
 * helper (SANTAD_HELPER_SETTINGS): helpers never read santa.conf, which
 * holds secrets and is root's.
 */
struct santa_config;
int ipc_helper_start(sd_event **event, const char *santad_path,
		     const struct ipc_conn_handlers *santad_handlers, void *santad_userdata,
		     const struct ipc_listener_handlers *handlers, void *userdata,
		     struct santa_config *settings, struct ipc_conn **santad,
		     struct ipc_listener **listener, char *why, size_t why_size);

#endif
