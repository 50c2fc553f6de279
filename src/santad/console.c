/*
 * Who sits at the console: the user of the active session on seat0, from
 * logind (sd-login) where it runs; otherwise the user logged in (utmp) on the
 * active virtual terminal. Only that user's notification agent is served,
 * as Santa only shows its dialogs to the console user.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utmpx.h>

#include <systemd/sd-login.h>

#include "santad.h"
#include "console.h"

/* logind is the authority when it has seats; without it the directory is empty or absent. */
static bool
logind_has_seats(void)
{
	return sd_get_seats(NULL) > 0;
}

static int
from_logind(struct console_user *out)
{
	char *session = NULL;
	uid_t uid;
	int r;

	r = sd_seat_get_active("seat0", &session, &uid);
	if (r < 0)
		return r;
	out->known = true;
	out->uid = uid;
	snprintf(out->session, sizeof(out->session), "%s", session);
	free(session);
	return 0;
}

/* "tty2" from /sys/class/tty/tty0/active: the foreground virtual terminal. */
static int
active_vt(char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open("/sys/class/tty/tty0/active", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] ? 0 : -ENOENT;
}

static int
from_vt(struct console_user *out)
{
	char vt[32], user[sizeof(((struct utmpx *)0)->ut_user) + 1] = "";
	struct passwd pw, *res = NULL;
	struct utmpx *u;
	char pwbuf[1024];
	int r;

	r = active_vt(vt, sizeof(vt));
	if (r < 0)
		return r;
	setutxent();
	while ((u = getutxent())) {
		if (u->ut_type != USER_PROCESS || strncmp(u->ut_line, vt, sizeof(u->ut_line)) != 0)
			continue;
		/* The latest login on that terminal wins. */
		memcpy(user, u->ut_user, sizeof(u->ut_user));
		user[sizeof(u->ut_user)] = '\0';
	}
	endutxent();
	if (!user[0])
		return -ENOENT;
	if (getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res) != 0 || !res)
		return -ENOENT;
	out->known = true;
	out->uid = pw.pw_uid;
	snprintf(out->session, sizeof(out->session), "%s", vt);
	return 0;
}

void
console_active(struct console_user *out)
{
	bool logind = logind_has_seats();
	int r;

	memset(out, 0, sizeof(*out));
	out->uid = (uid_t)-1;
	out->source = logind ? "logind" : "vt";
	r = logind ? from_logind(out) : from_vt(out);
	if (r < 0) {
		out->known = false;
		out->uid = (uid_t)-1;
		out->session[0] = '\0';
	}
}

bool
console_serves(const struct console_user *active, pid_t pid, uid_t uid)
{
	char *session = NULL;
	bool ok;

	if (!active->known || active->uid != uid)
		return false;
	if (strcmp(active->source, "logind") != 0)
		return true;
	/*
	 * An agent inside a session must be in the active one; one started by
	 * the user's service manager (systemd --user) belongs to no session and
	 * is served while its user is at the console.
	 */
	if (sd_pid_get_session(pid, &session) < 0)
		return true;
	ok = strcmp(session, active->session) == 0;
	free(session);
	return ok;
}
