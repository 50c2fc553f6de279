/*
 * Debian control-file paragraphs (deb822: dpkg's status, apt's Release and
 * Packages indices), read in place from a buffer, and index files read whole
 * through whatever compression apt left them in.
 */
#ifndef SANTA_DEB822_H
#define SANTA_DEB822_H

#include <stdbool.h>
#include <stddef.h>

struct santa_deb822_field {
	const char *name; /* points into the buffer, not NUL-terminated */
	size_t name_len;
	const char *value; /* first line's value after "Name:" and blanks; continuation lines follow as they stand */
	size_t value_len;  /* without the final newline */
};

struct santa_deb822 {
	const char *p, *end;
	size_t line; /* 1-based line of the next paragraph, for error messages */
};

void santa_deb822_init(struct santa_deb822 *r, const char *buf, size_t len);

/*
 * Reads the next paragraph: at most max fields are kept (the rest are
 * skipped, not an error). Returns the number of fields kept (> 0), 0 at the
 * end of the buffer, or -EBADMSG for a line that is neither a field, a
 * continuation nor blank (r->line names it; the reader moves past the
 * paragraph, so the caller may go on).
 */
int santa_deb822_next(struct santa_deb822 *r, struct santa_deb822_field *fields, size_t max);

/* The field called name (case-insensitive, as dpkg matches), or NULL. */
const struct santa_deb822_field *santa_deb822_get(const struct santa_deb822_field *fields, size_t n,
						   const char *name);

/* Copies a field's value (NULL field: "") to out, NUL-terminated. Returns false when it did not fit. */
bool santa_deb822_copy(const struct santa_deb822_field *field, char *out, size_t size);

/*
 * Reads a whole index file, decompressing by its name's suffix (.gz, .xz,
 * .lz4; anything else as it is) into a malloc'd buffer with a NUL after the
 * data. More than max bytes (after decompression) is -EFBIG; a corrupt
 * stream is -EBADMSG. Returns 0 or -errno.
 */
int santa_read_index_file(const char *path, size_t max, char **out, size_t *len);

#endif
