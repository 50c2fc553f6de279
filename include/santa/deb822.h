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
	size_t line;     /* 1-based number of the next line to read */
	size_t bad_line; /* after -EBADMSG: the first line that was neither a field, a continuation nor blank */
};

void santa_deb822_init(struct santa_deb822 *r, const char *buf, size_t len);

/*
 * Reads the next paragraph: at most max fields are kept (the rest are
 * skipped, not an error; max must be > 0, else -EINVAL). Returns the number
 * of fields kept (> 0), 0 at the end of the buffer, or -EBADMSG for a line
 * that is neither a field, a continuation nor blank (r->bad_line names it;
 * the reader moves past the paragraph, so the caller may go on). Lines
 * starting with '#' are not comments (deb822(5) allows those only in
 * debian/control): they are bad lines. A value's end is trimmed of blanks
 * and a CR; continuation lines inside it keep theirs. A field that appears
 * twice is kept twice (santa_deb822_get finds the first).
 */
int santa_deb822_next(struct santa_deb822 *r, struct santa_deb822_field *fields, size_t max);

/* The field called name (case-insensitive, as dpkg matches), or NULL. */
const struct santa_deb822_field *santa_deb822_get(const struct santa_deb822_field *fields, size_t n,
						   const char *name);

/*
 * Copies a field's value (NULL field: "") to out, NUL-terminated. Returns
 * false (out is then "") when it did not fit or the value holds a NUL.
 */
bool santa_deb822_copy(const struct santa_deb822_field *field, char *out, size_t size);

/*
 * Reads a whole index file, decompressing by its name's suffix (.gz, .xz,
 * .lz4; anything else as it is) into a malloc'd buffer with a NUL after the
 * data. More than max bytes (after decompression) is -EFBIG, found while
 * decompressing: no more than max + 1 bytes are ever allocated. A corrupt or
 * truncated stream, or bytes after the last gzip member / xz stream / LZ4
 * frame (several back to back are read, as gzip(1), xz(1) and lz4(1) do),
 * is -EBADMSG. A path that is not a regular file is -EINVAL (-EISDIR for a
 * directory). Returns 0 or -errno.
 */
int santa_read_index_file(const char *path, size_t max, char **out, size_t *len);

#endif
