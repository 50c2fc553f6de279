/*
 * santa.log lines in Santa's key=value format. Values that come from the
 * outside (paths, names) are escaped so that no file name can forge a field
 * or a line: "|" -> "<pipe>", newline -> "\n", CR -> "\r" as on Santa, and,
 * so that the escaping can be undone unambiguously, "\" -> "\\", other
 * control bytes, bytes of invalid UTF-8 and the "<" of a literal "<pipe>"
 * -> "\xHH".
 */
#ifndef SANTA_EVENTLOG_H
#define SANTA_EVENTLOG_H

#include <stddef.h>

/*
 * Appends the escaped form of in to out (size bytes, always NUL-terminated).
 * Returns the length written, or -ENOSPC when it did not fit (out holds a
 * truncated but still well-formed prefix).
 */
int santa_eventlog_escape(const char *in, char *out, size_t size);

/* Undoes santa_eventlog_escape. Returns the length, or -EINVAL for a malformed escape. */
int santa_eventlog_unescape(const char *in, char *out, size_t size);

#endif
