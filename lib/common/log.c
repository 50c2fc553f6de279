#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "santa/log.h"

void
santa_log_init(struct santa_log *log, const char *ident, enum santa_log_target target,
	       int max_level)
{
	log->ident = ident;
	log->target = target;
	log->max_level = max_level;
	if (target == SANTA_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
santa_log_close(struct santa_log *log)
{
	if (log->target == SANTA_LOG_SYSLOG)
		closelog();
}

int
santa_log_level_from_string(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR },   { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO },   { "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (s && strcasecmp(s, levels[i].name) == 0)
			return levels[i].level;
	return -EINVAL;
}

static const char *
level_tag(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "E";
	case LOG_WARNING:
		return "W";
	case LOG_NOTICE:
		return "N";
	case LOG_INFO:
		return "I";
	default:
		return "D";
	}
}

/*
 * Messages name files, programs and peers a user chose: a newline would
 * start a line of the user's making in santad's log (or the journal), an
 * escape sequence would act on an admin's terminal. Control bytes become
 * \n, \t or \xNN; the rest (UTF-8 included) stays as it is.
 */
static void
escape_controls(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 5 < size; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

void
santa_logv(const struct santa_log *log, int level, const char *fmt, va_list ap)
{
	char raw[2048], msg[2048 * 4];
	struct timespec ts;
	struct tm tm;
	int saved_errno = errno;

	if (log && level > log->max_level)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_controls(raw, msg, sizeof(msg));
	if (log && log->target == SANTA_LOG_SYSLOG) {
		syslog(level, "%s", msg);
	} else {
		/* One fprintf so that lines from several threads do not interleave. */
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "[%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ] %s %s: %s\n",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, level_tag(level),
			log && log->ident ? log->ident : "santa", msg);
	}
	errno = saved_errno;
}

void
santa_log(const struct santa_log *log, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	santa_logv(log, level, fmt, ap);
	va_end(ap);
}

int
santa_log_errno(const struct santa_log *log, int level, int err, const char *fmt, ...)
{
	va_list ap;

	errno = err < 0 ? -err : err;
	va_start(ap, fmt);
	santa_logv(log, level, fmt, ap);
	va_end(ap);
	return err;
}
