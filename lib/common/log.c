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

void
santa_logv(const struct santa_log *log, int level, const char *fmt, va_list ap)
{
	char msg[2048];
	struct timespec ts;
	struct tm tm;
	int saved_errno = errno;

	if (log && level > log->max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
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
