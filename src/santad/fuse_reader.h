/*
 * The reader thread of the exec permission group that watches filesystems
 * whose file opens a user's server may answer (FUSE, overlay): see
 * fuse_reader.c.
 */
#ifndef SANTAD_FUSE_READER_H
#define SANTAD_FUSE_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

struct fuse_reader;

/*
 * Called on the loop for each event the thread read: fd >= 0 with its pid,
 * or fd -1 and err, a read the kernel failed (it refused that exec itself).
 */
typedef void (*fuse_reader_handler)(void *userdata, int fd, pid_t pid, int err);

/* Starts the thread reading group_fd (the caller keeps it open while the reader lives). */
int fuse_reader_start(sd_event *event, int group_fd, fuse_reader_handler handle, void *userdata,
		      struct fuse_reader **out);
/*
 * Stops the thread; one stuck in a user's server's request is left behind
 * (detached, with its fds and memory: it ends with the process).
 */
void fuse_reader_stop(struct fuse_reader *r);
/* Events read, and those denied unseen because the queue was full. */
uint64_t fuse_reader_events(const struct fuse_reader *r);
uint64_t fuse_reader_queue_full(const struct fuse_reader *r);
/* How long the read under way has taken (0: none): a user's FUSE server holding it up. */
uint64_t fuse_reader_held_usec(const struct fuse_reader *r);

#endif
