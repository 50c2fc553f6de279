/*
 * Who is at the console (console.c): logind's seat0, else the active VT.
 * Loop thread (gui.c polls it every second).
 */
#ifndef SANTAD_CONSOLE_H
#define SANTAD_CONSOLE_H

#include <stdbool.h>
#include <sys/types.h>

struct console_user {
	bool known;         /* somebody is at the console */
	uid_t uid;
	const char *source; /* "logind" (seat0) or "vt" (active VT and utmp) */
	char session[64];   /* logind session id, or the VT ("tty2") */
};
/* Who is at the console now. */
void console_active(struct console_user *out);
/* Whether an agent (pid, uid) belongs to that user and, under logind, not to another session. */
bool console_serves(const struct console_user *active, pid_t pid, uid_t uid);

#endif
