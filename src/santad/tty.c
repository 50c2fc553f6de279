/*
 * Santa's TTY block message: when an exec is denied, the person who typed
 * the command sees why in their terminal, not only "Operation not
 * permitted". Written to the controlling terminal of the process that
 * tried, or, when it is gone by the time the line is logged (a shell's child
 * exits on the error), of its parent: the shell, on the same terminal.
 *
 * The terminal is reached through the process's own fds (/proc/PID/fd/0-2
 * whose device is its controlling tty), never by a device path: a pty's
 * number means another terminal in another devpts instance (a container).
 * The pid must still be the same process (its start time, pidversion). The
 * open and the write never block (O_NONBLOCK; a full terminal loses the
 * message), and everything a user chose (the path, the parent's name) and
 * every message text is escaped: no escape sequence reaches the terminal
 * but santad's own bold.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "santa/blockmsg.h"
#include "santa/sha256.h"
#include "santad.h"
#include "rule_lookup.h"
#include "proc.h"
#include "tty.h"

#define TTY_MESSAGE_MAX 8192

/* The controlling tty (tty_nr) of pid, if it is still the process that started at start; 0 otherwise. */
static unsigned int
process_tty(pid_t pid, uint64_t start)
{
	uint64_t now;
	unsigned int tty;

	if (!start || santad_process_stat(pid, &now, &tty) < 0 || now != start)
		return 0;
	return tty;
}

/* An fd of pid's on its controlling terminal, opened anew for writing; -1 if none. */
static int
open_process_tty(pid_t pid, uint64_t start)
{
	unsigned int tty = process_tty(pid, start);
	dev_t dev;
	int i;

	if (!tty)
		return -1;
	/* The kernel's encoding of tty_nr (new_encode_dev). */
	dev = makedev((tty >> 8) & 0xfff, (tty & 0xff) | ((tty >> 12) & 0xfff00));
	for (i = 0; i <= 2; i++) {
		char path[64];
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, i);
		if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != dev)
			continue;
		fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* The fd may have been replaced between the look and the open. */
		if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == dev)
			return fd;
		close(fd);
	}
	return -1;
}

/* Appends fmt's output; the message is cut, never overrun. */
static void
append(char *buf, size_t *len, const char *text)
{
	size_t n = strlen(text);

	if (*len + n >= TTY_MESSAGE_MAX)
		n = TTY_MESSAGE_MAX - 1 - *len;
	memcpy(buf + *len, text, n);
	*len += n;
	buf[*len] = '\0';
}

static void
append_escaped(char *buf, size_t *len, const char *text)
{
	char escaped[SANTA_BLOCK_TEXT_MAX];

	(void)santa_display_escape(text, escaped, sizeof(escaped), 0);
	append(buf, len, escaped);
}

static const char *
or_default(const char *value, const char *fallback)
{
	return value && *value ? value : fallback;
}

void
santad_tty_block(struct santad *d, const char *path, const struct proc_info *proc,
		 const struct santa_decision *decision, const uint8_t *sha256)
{
	const struct santad_live_settings *cfg = &d->policy->cfg;
	struct santa_rule_found rule = { 0 };
	char hex[SANTA_SHA256_HEX_LEN + 1] = "", text[SANTA_BLOCK_TEXT_MAX], *line, *next;
	char msg[TTY_MESSAGE_MAX], parent[256], ppid[32], url[SANTA_BLOCK_URL_MAX];
	struct santa_block_fields fields = { 0 };
	bool has_url = false;
	size_t len = 0;
	int fd;

	if (cfg->enable_silent_tty_mode || decision->silent || decision->verdict != SANTA_VERDICT_DENY)
		return;
	fd = open_process_tty(proc->pid, proc->pidversion);
	if (fd < 0)
		fd = open_process_tty(proc->ppid, proc->ppidversion);
	if (fd < 0)
		return;
	if (sha256) {
		santa_sha256_to_hex(sha256, hex);
		if (decision->from_rule)
			(void)santad_find_binary_rule(d, d->policy, hex, &rule);
	}
	santa_html_to_text(rule.custom_msg[0] ? rule.custom_msg
			   : decision->reason == SANTA_REASON_UNKNOWN
				   ? or_default(cfg->unknown_block_message,
						SANTA_DEFAULT_UNKNOWN_BLOCK_MESSAGE)
				   : or_default(cfg->banned_block_message,
						SANTA_DEFAULT_BANNED_BLOCK_MESSAGE),
			   text, sizeof(text));
	append(msg, &len, "\n\033[1mSanta\033[0m\n\n");
	/* Line by line: the message's own line breaks stay, anything else is escaped. */
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		append_escaped(msg, &len, line);
		append(msg, &len, "\n");
	}
	append(msg, &len, "\n\033[1mPath:      \033[0m ");
	append_escaped(msg, &len, path);
	append(msg, &len, "\n\033[1mIdentifier:\033[0m ");
	append(msg, &len, hex[0] ? hex : "(not hashed)");
	santad_parent_name(proc, parent, sizeof(parent));
	snprintf(ppid, sizeof(ppid), " (%d)\n\n", (int)proc->ppid);
	append(msg, &len, "\n\033[1mParent:    \033[0m ");
	append_escaped(msg, &len, parent);
	append(msg, &len, ppid);
	fields.file_sha256 = hex;
	if (santa_block_url(cfg->event_detail_url, rule.custom_url, &fields, url, sizeof(url),
			    &has_url) == 0 &&
	    has_url) {
		append(msg, &len, "More info:\n");
		append_escaped(msg, &len, url);
		append(msg, &len, "\n\n");
	}
	(void)!write(fd, msg, len);
	close(fd);
}
