/*
 * Files santad keeps on disk for itself (the sync server's state), written
 * on a thread of their own: writing one durably waits for the disk (fsync),
 * which a user's heavy writes can make take seconds, and the loop, which
 * answers cached execs, must never wait for that. Only the latest content
 * of each file matters: a newer one replaces one not written yet. A failed
 * write is logged by the thread; the file keeps its last content.
 */
#ifndef SANTAD_FILE_SAVER_H
#define SANTAD_FILE_SAVER_H

#include <stddef.h>

#include "santa/log.h"

/* Files with a write pending at once; one more is refused (-ENOBUFS). */
#define FILE_SAVER_SLOTS 4

struct file_saver;

int file_saver_new(const struct santa_log *log, struct file_saver **out);
/*
 * Queues text (NUL-terminated, taken: freed by the saver, also on error)
 * to replace path (santa_file_replace). Any thread; never waits for the
 * disk. Returns 0, -ENOBUFS or -ENOMEM.
 */
int file_saver_put(struct file_saver *s, const char *path, char *text);
/* Writes what is still pending, then joins the thread and frees. */
void file_saver_free(struct file_saver *s);

#endif
