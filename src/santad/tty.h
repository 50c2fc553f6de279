/*
 * Santa's TTY message (tty.c), on the loop thread.
 */
#ifndef SANTAD_TTY_H
#define SANTAD_TTY_H

#include <stdint.h>

struct santad;
struct proc_info;
struct santa_decision;

/*
 * A denial's block message on the terminal of the process that tried (or of
 * its parent, the shell, when it is gone), unless EnableSilentTTYMode or a
 * silent rule: Santa's TTY message (tty.c).
 */
void santad_tty_block(struct santad *d, const char *path, const struct proc_info *proc,
		      const struct santa_decision *decision, const uint8_t *sha256);

#endif
