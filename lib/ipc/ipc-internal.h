/*
 * What lib/ipc's files share: the connection's insides. Not a public header:
 * only lib/ipc and tests/ (the flow-control counters) have it on their path.
 */
#ifndef SANTA_IPC_INTERNAL_H
#define SANTA_IPC_INTERNAL_H

#include "santa/ipc.h"
#include "ipc-wire-internal.h"

/* Handshake messages (types below IPC_TYPE_FIRST_USER). */
#define IPC_TYPE_HELLO    1 /* request: { version, service } */
#define IPC_TYPE_HELLO_OK 2 /* reply: { version, service, identity, privileged }, session set */

#define IPC_DEFAULT_MAX_IN_FLIGHT 64
#define IPC_DEFAULT_MAX_OUTBOUND  256
#define IPC_RECONNECT_MIN_USEC    (100 * 1000ULL)
#define IPC_RECONNECT_MAX_USEC    (2 * 1000 * 1000ULL)
#define IPC_READS_PER_WAKEUP      4 /* fairness between connections sharing a loop */
#define IPC_MAX_PENDING_REQUESTS  1024 /* our requests awaiting replies, per connection */

enum conn_state {
	CONN_HANDSHAKE,    /* accepted by a listener, waiting for HELLO */
	CONN_OPEN,         /* validated (or an anonymous endpoint) */
	CONN_INTERRUPTED,  /* named: peer gone, reconnect timer armed */
	CONN_RECONNECTING, /* named: HELLO sent, waiting for HELLO_OK */
	CONN_INVALID,      /* finished */
};

struct ipc_conn_stats {
	uint64_t sent, received;
	uint64_t dropped_events; /* dropped from a full outbound queue */
	uint64_t throttled;      /* times reading stopped because the peer would not read */
};

/* The connection's counters (tests of flow control read them). */
void ipc_conn_stats(const struct ipc_conn *conn, struct ipc_conn_stats *stats);

struct out_entry {
	struct out_entry *next;
	uint8_t *data; /* NULL for a barrier */
	size_t len;
	int fds[IPC_MAX_FDS];
	size_t n_fds;
	struct ipc_msg *msg; /* owns the fds until the kernel has its copies */
	bool droppable;      /* a one-way event */
	void (*barrier)(struct ipc_conn *conn, void *userdata);
	void *barrier_userdata;
};

struct pending_request {
	struct pending_request *next;
	struct ipc_conn *conn;
	uint64_t id;
	ipc_reply_fn cb;
	void *userdata;
	uint64_t deadline; /* CLOCK_MONOTONIC usec */
	struct ipc_msg *deferred; /* serial mode: waiting for its turn */
};

struct ipc_conn {
	unsigned int refs;
	sd_event *event;
	int fd;
	sd_event_source *io;
	sd_event_source *timer; /* handshake deadline or reconnect backoff */
	enum conn_state state;

	char *path; /* named connections reconnect to it */
	char service[IPC_NAME_MAX];
	unsigned int reconnect_attempt;
	uint64_t hello_id;

	struct ipc_conn_handlers handlers;
	void *userdata;
	struct ipc_conn_options opts;
	struct ipc_peer peer;

	/*
	 * Set by the listener at HELLO_OK; every later message in both directions
	 * carries it. A message queued by the pre-exec image of a process that
	 * then exec'd a genuine binary cannot know it.
	 */
	uint64_t session;
	bool check_creds; /* listener side: each message must come from peer.pid */

	uint64_t next_id;
	struct out_entry *out_head, *out_tail;
	unsigned int out_len;
	struct pending_request *pending;
	unsigned int n_pending;
	sd_event_source *request_timer; /* earliest deadline of pending */
	uint64_t request_timer_at;      /* 0: not armed */
	uint32_t io_events;             /* what conn->io waits for now */
	unsigned int n_sent_pending; /* requests on the wire awaiting replies */
	unsigned int in_flight;      /* peer's requests we have not answered */
	bool reading_paused;
	bool closing; /* refused: read nothing more, close once the refusal is written */
	bool validating; /* listener side: HELLO received, an outside validator is asked */

	struct ipc_listener *listener;
	struct ipc_conn *listener_next;
	uid_t accept_uid; /* listener side: SO_PEERCRED's uid at accept, for the per-uid caps */

	struct ipc_conn_stats stats;
	char refusal[256]; /* why the listener refused our HELLO */
	uint8_t peer_version; /* the version byte of a datagram we could not read */
	uint8_t *scratch; /* IPC_MAX_MSG bytes for encoding and receiving */
};

struct ipc_conn *conn_new(sd_event *event, int fd, const struct ipc_conn_options *opts,
			  const struct ipc_conn_handlers *handlers, void *userdata);
int conn_attach(struct ipc_conn *conn);
void conn_invalidate(struct ipc_conn *conn, int error);
int conn_queue_msg(struct ipc_conn *conn, struct ipc_msg *msg, bool droppable);

/* peer.c: */
/*
 * Identifies the process on the other end of a connected socket: its
 * credentials (SO_PEERCRED), a pidfd for it (SO_PEERPIDFD, or pidfd_open
 * where the kernel lacks it) so that a recycled pid is noticed, then its
 * executable through /proc, which must be an allowlisted file, unchanged
 * (same dev, ino, SHA-256), root-owned and not writable by others, in a
 * process nobody is tracing. Returns 0 and fills peer (privileged false), or
 * -EPERM with the reason in why.
 */
int peer_validate(int fd, const struct ipc_allowlist *list, struct ipc_peer *peer,
		  char *why, size_t why_size);
/*
 * Only the kernel's part of the above: credentials and a pidfd (the caller
 * closes it). For a process that may not inspect its peer's executable (a
 * helper running as nobody) and asks santad to, passing the pidfd.
 */
int peer_credentials(int sock, struct ipc_peer *peer, int *pidfd, char *why,
		     size_t why_size);
/* listener.c: */
/*
 * Built-in delegation for a helper: each client's pidfd is sent as a
 * request { pidfd } of request_type over validator (the helper's channel to
 * santad), whose reply { identity } or error decides. validator must outlive
 * the listener or be reset with NULL.
 */
void listener_validate_by(struct ipc_listener *listener, struct ipc_conn *validator,
			  uint16_t request_type);

/* listener.c: the server side of the handshake, called for the first message. */
void listener_handle_hello(struct ipc_conn *conn, struct ipc_msg *hello, pid_t sender_pid);
/* listener.c: the first datagram spoke another protocol version. */
void listener_refuse_version(struct ipc_conn *conn);
/* listener.c: a connection of the listener was invalidated. */
void listener_forget(struct ipc_listener *listener, struct ipc_conn *conn, bool was_handshaking,
		     int error);

#endif
