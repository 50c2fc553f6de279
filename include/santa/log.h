/*
 * Diagnostic logging for the programs (not the event log): to stderr or
 * syslog, filtered by a level. Library code does not log; it returns errors
 * and the program that called it logs them through this.
 */
#ifndef SANTA_LOG_H
#define SANTA_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

enum santa_log_target {
	SANTA_LOG_STDERR = 0,
	SANTA_LOG_SYSLOG,
};

/* Owned by main's context struct; passed to whoever logs. */
struct santa_log {
	const char *ident;
	enum santa_log_target target;
	int max_level; /* a syslog priority: LOG_ERR .. LOG_DEBUG */
};

void santa_log_init(struct santa_log *log, const char *ident, enum santa_log_target target,
		    int max_level);
void santa_log_close(struct santa_log *log);

/* Parses "error", "warning", "notice", "info", "debug"; -EINVAL otherwise. */
int santa_log_level_from_string(const char *s);

void santa_log(const struct santa_log *log, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void santa_logv(const struct santa_log *log, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/*
 * Logs with errno set to -err so "%m" prints its text, and returns err so that
 * callers can write: return santa_log_errno(log, LOG_ERR, r, "open %s: %m", p);
 */
int santa_log_errno(const struct santa_log *log, int level, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
