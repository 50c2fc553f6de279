/*
 * File changes (filechanges.c, FileChangesRegex): writes, renames and
 * deletes on the marked filesystems, read on their own notification group
 * by the loop thread.
 */
#ifndef SANTAD_FILE_CHANGES_H
#define SANTAD_FILE_CHANGES_H

struct santad;
struct file_changes;
/* Starts watching the marked filesystems for writes, renames and deletes; no-op without the regex. */
int file_changes_start(struct santad *d, struct file_changes **out);
void file_changes_stop(struct file_changes *fc);

#endif
