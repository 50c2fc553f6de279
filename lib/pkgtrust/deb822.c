/*
 * deb822 paragraphs read in place, and index files read whole through their
 * compression (santa/deb822.h).
 *
 * The syntax is deb822(5)'s, as dpkg and apt read status, Release and
 * Packages files: "Name: value" lines, continuation lines starting with a
 * space or a tab, paragraphs separated by blank lines (a line of spaces and
 * tabs counts as blank, as apt and dpkg treat it). deb822(5) allows '#'
 * comment lines only in debian/control and deb-origin files, and apt reads
 * Release and Packages files without them, so here a line starting with '#'
 * is not a comment but a malformed line. A CR before a line's LF is
 * tolerated (it ends a blank line and is trimmed from a value's end).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "santa/deb822.h"

void
santa_deb822_init(struct santa_deb822 *r, const char *buf, size_t len)
{
	/* NULL + 0 is undefined behaviour (and UBSan says so): an empty buffer stays NULL. */
	r->p = buf;
	r->end = buf ? buf + len : buf;
	r->line = 1;
	r->bad_line = 0;
}

static const char *
line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_blank(const char *p, const char *eol)
{
	while (p < eol && is_space(*p))
		p++;
	return p == eol;
}

/* Moves past the line ending at eol (its '\n', if any). */
static void
advance(struct santa_deb822 *r, const char *eol)
{
	r->p = eol < r->end ? eol + 1 : r->end;
	r->line++;
}

/* deb822(5): printable US-ASCII but ':', not starting with '#' or '-'. */
static bool
is_field_name(const char *s, const char *colon)
{
	const char *q;

	if (s == colon || *s == '#' || *s == '-')
		return false;
	for (q = s; q < colon; q++) {
		unsigned char c = (unsigned char)*q;

		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

/* The end of a value's last line: trailing blanks (and a CR) are not part of it. */
static const char *
trim_end(const char *start, const char *eol)
{
	while (eol > start && is_space(eol[-1]))
		eol--;
	return eol;
}

int
santa_deb822_next(struct santa_deb822 *r, struct santa_deb822_field *fields, size_t max)
{
	struct santa_deb822_field *cur = NULL; /* the field continuation lines extend, if kept */
	bool in_field = false;
	size_t n = 0, bad = 0;

	if (max == 0)
		return -EINVAL;
	while (r->p < r->end) {
		const char *eol = line_end(r->p, r->end);

		if (!is_blank(r->p, eol))
			break;
		advance(r, eol);
	}
	if (r->p >= r->end)
		return 0;

	/* One line at a time until a blank line or the end; a bad line is remembered, not a stop. */
	while (r->p < r->end) {
		const char *s = r->p, *eol = line_end(s, r->end), *colon, *v;

		if (is_blank(s, eol)) {
			advance(r, eol);
			break;
		}
		if (*s == ' ' || *s == '\t') {
			if (!in_field) {
				if (!bad)
					bad = r->line;
			} else if (cur) {
				cur->value_len = (size_t)(trim_end(s, eol) - cur->value);
			}
		} else if ((colon = memchr(s, ':', (size_t)(eol - s))) == NULL ||
			   !is_field_name(s, colon)) {
			if (!bad)
				bad = r->line;
			in_field = false;
			cur = NULL;
		} else {
			in_field = true;
			cur = NULL;
			if (n < max) {
				for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
					;
				cur = &fields[n++];
				cur->name = s;
				cur->name_len = (size_t)(colon - s);
				cur->value = v;
				cur->value_len = (size_t)(trim_end(v, eol) - v);
			}
		}
		advance(r, eol);
	}
	if (bad) {
		r->bad_line = bad;
		return -EBADMSG;
	}
	/* A paragraph always has a line that is not blank, and its first such line is a field or bad. */
	return n > INT_MAX ? INT_MAX : (int)n;
}

const struct santa_deb822_field *
santa_deb822_get(const struct santa_deb822_field *fields, size_t n, const char *name)
{
	size_t len = strlen(name), i;

	for (i = 0; i < n; i++)
		if (fields[i].name_len == len && strncasecmp(fields[i].name, name, len) == 0)
			return &fields[i];
	return NULL;
}

bool
santa_deb822_copy(const struct santa_deb822_field *field, char *out, size_t size)
{
	if (size == 0)
		return false;
	out[0] = '\0';
	if (!field)
		return true;
	/* A NUL inside would make the C string say less than the field does. */
	if (field->value_len >= size || memchr(field->value, '\0', field->value_len))
		return false;
	memcpy(out, field->value, field->value_len);
	out[field->value_len] = '\0';
	return true;
}

/* ---- index files ---- */

#define INPUT_CHUNK  (256u << 10)
#define XZ_MEMLIMIT  (128u << 20) /* xz -9 needs 65 MiB; a header asking more is hostile */
#define FIRST_OUTPUT (64u << 10)

enum compression { COMP_NONE, COMP_GZIP, COMP_XZ, COMP_LZ4 };

/* Decompressed bytes so far: never more than max + 1 bytes allocated (one for the NUL, or to see "more than max"). */
struct outbuf {
	char *data;
	size_t len, cap, max;
};

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Room for at least one more byte, doubling; -EFBIG once max + 1 bytes are held (more than max). */
static int
out_reserve(struct outbuf *o, size_t hint)
{
	size_t cap;
	char *p;

	if (o->len < o->cap)
		return 0;
	if (o->cap >= o->max + 1)
		return -EFBIG;
	cap = o->cap ? o->cap * 2 : (hint > FIRST_OUTPUT ? hint : FIRST_OUTPUT);
	if (cap < o->cap || cap > o->max + 1)
		cap = o->max + 1;
	p = realloc(o->data, cap);
	if (!p)
		return -ENOMEM;
	o->data = p;
	o->cap = cap;
	return 0;
}

static ssize_t
read_some(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int
read_raw(int fd, struct outbuf *o, size_t hint)
{
	ssize_t n;
	int r;

	for (;;) {
		r = out_reserve(o, hint);
		if (r < 0)
			return r;
		n = read_some(fd, o->data + o->len, o->cap - o->len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		o->len += (size_t)n;
		if (o->len > o->max)
			return -EFBIG;
	}
}

/* gzip, members back to back as gzip(1) reads them; anything after the last member is corrupt. */
static int
read_gzip(int fd, struct outbuf *o, size_t hint, unsigned char *in)
{
	z_stream zs;
	bool eof = false, member_done = false;
	int r, zr;
	ssize_t n;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	for (;;) {
		size_t before, room;

		if (zs.avail_in == 0 && !eof) {
			n = read_some(fd, in, INPUT_CHUNK);
			if (n < 0) {
				r = (int)n;
				goto out;
			}
			eof = n == 0;
			zs.next_in = in;
			zs.avail_in = (uInt)n;
		}
		if (zs.avail_in == 0 && eof) {
			/* Truncated inside a member, or no member at all. */
			r = member_done ? 0 : -EBADMSG;
			goto out;
		}
		if (member_done) {
			if (inflateReset(&zs) != Z_OK) {
				r = -EBADMSG;
				goto out;
			}
			member_done = false;
		}
		r = out_reserve(o, hint);
		if (r < 0)
			goto out;
		room = o->cap - o->len;
		if (room > UINT_MAX)
			room = UINT_MAX;
		zs.next_out = (Bytef *)o->data + o->len;
		zs.avail_out = (uInt)room;
		before = room;
		zr = inflate(&zs, Z_NO_FLUSH);
		o->len += before - zs.avail_out;
		if (o->len > o->max) {
			r = -EFBIG;
			goto out;
		}
		if (zr == Z_STREAM_END)
			member_done = true;
		else if (zr == Z_MEM_ERROR) {
			r = -ENOMEM;
			goto out;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			r = -EBADMSG;
			goto out;
		}
		/* Z_BUF_ERROR: no progress until more input or output room, which the loop gives. */
	}
out:
	inflateEnd(&zs);
	return r;
}

/* xz, streams back to back (LZMA_CONCATENATED, as xz(1) reads them). */
static int
read_xz(int fd, struct outbuf *o, size_t hint, unsigned char *in)
{
	lzma_stream xs = LZMA_STREAM_INIT;
	lzma_action action = LZMA_RUN;
	lzma_ret lr;
	ssize_t n;
	int r;

	lr = lzma_stream_decoder(&xs, XZ_MEMLIMIT, LZMA_CONCATENATED);
	if (lr != LZMA_OK)
		return lr == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
	for (;;) {
		size_t room;

		if (xs.avail_in == 0 && action == LZMA_RUN) {
			n = read_some(fd, in, INPUT_CHUNK);
			if (n < 0) {
				r = (int)n;
				goto out;
			}
			if (n == 0)
				action = LZMA_FINISH;
			xs.next_in = in;
			xs.avail_in = (size_t)n;
		}
		r = out_reserve(o, hint);
		if (r < 0)
			goto out;
		room = o->cap - o->len;
		xs.next_out = (uint8_t *)o->data + o->len;
		xs.avail_out = room;
		lr = lzma_code(&xs, action);
		o->len += room - xs.avail_out;
		if (o->len > o->max) {
			r = -EFBIG;
			goto out;
		}
		if (lr == LZMA_STREAM_END) {
			r = 0;
			goto out;
		}
		if (lr == LZMA_MEM_ERROR) {
			r = -ENOMEM;
			goto out;
		}
		/* BUF_ERROR after FINISH: truncated; a memory limit hit is a header asking too much. */
		if (lr != LZMA_OK) {
			r = -EBADMSG;
			goto out;
		}
	}
out:
	lzma_end(&xs);
	return r;
}

/* LZ4 frames (apt's .lz4 lists files), frames back to back as lz4(1) reads them. */
static int
read_lz4(int fd, struct outbuf *o, size_t hint, unsigned char *in)
{
	LZ4F_dctx *dctx = NULL;
	size_t in_pos = 0, in_len = 0, ret;
	bool eof = false, frame_open = false, any_frame = false;
	ssize_t n;
	int r;

	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return -ENOMEM;
	for (;;) {
		size_t dst, src;

		if (in_pos == in_len && !eof) {
			n = read_some(fd, in, INPUT_CHUNK);
			if (n < 0) {
				r = (int)n;
				goto out;
			}
			eof = n == 0;
			in_pos = 0;
			in_len = (size_t)n;
		}
		/* All read and every frame complete (calling on would only start a new frame). */
		if (in_pos == in_len && eof && !frame_open)
			break;
		r = out_reserve(o, hint);
		if (r < 0)
			goto out;
		dst = o->cap - o->len;
		src = in_len - in_pos;
		ret = LZ4F_decompress(dctx, o->data + o->len, &dst, in + in_pos, &src, NULL);
		if (LZ4F_isError(ret)) {
			r = -EBADMSG;
			goto out;
		}
		in_pos += src;
		o->len += dst;
		if (o->len > o->max) {
			r = -EFBIG;
			goto out;
		}
		/* 0: a frame ended (the context starts over for the next one); else more is expected. */
		frame_open = ret != 0;
		any_frame = any_frame || ret == 0;
		/* Output room but no progress: truncated at the end, corrupt before it. */
		if (frame_open && src == 0 && dst == 0 && (eof || in_pos < in_len)) {
			r = -EBADMSG;
			goto out;
		}
	}
	r = any_frame ? 0 : -EBADMSG;
out:
	LZ4F_freeDecompressionContext(dctx);
	return r;
}

int
santa_read_index_file(const char *path, size_t max, char **out, size_t *len)
{
	struct outbuf o = { .max = max };
	enum compression comp = COMP_NONE;
	unsigned char *in = NULL;
	struct stat st;
	size_t hint;
	int fd, r;

	*out = NULL;
	*len = 0;
	if (o.max > SIZE_MAX / 2)
		o.max = SIZE_MAX / 2;
	if (has_suffix(path, ".gz"))
		comp = COMP_GZIP;
	else if (has_suffix(path, ".xz"))
		comp = COMP_XZ;
	else if (has_suffix(path, ".lz4"))
		comp = COMP_LZ4;

	/*
	 * O_NONBLOCK: the open of a FIFO left where a file should be would
	 * otherwise wait for a writer, for ever once the one that was there has
	 * gone, and with it the thread that reads dpkg's status. It is refused
	 * below; on a regular file the flag changes nothing but the open of a
	 * file another process holds a write lease on (EWOULDBLOCK rather than
	 * waiting for the lease to be given up), and it is cleared for reading.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	/* A FIFO or device would block or never end. */
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		r = -errno;
		goto out;
	}
	if (comp == COMP_NONE && (uint64_t)st.st_size > o.max) {
		r = -EFBIG;
		goto out;
	}
	/* First allocation: the file's size, or four times it compressed; doubling after that. */
	hint = (size_t)st.st_size + 1;
	if (comp != COMP_NONE)
		hint = hint > SIZE_MAX / 4 ? SIZE_MAX : hint * 4;
	if (hint > o.max + 1)
		hint = o.max + 1;

	if (comp == COMP_NONE) {
		r = read_raw(fd, &o, hint);
	} else {
		in = malloc(INPUT_CHUNK);
		if (!in) {
			r = -ENOMEM;
			goto out;
		}
		if (comp == COMP_GZIP)
			r = read_gzip(fd, &o, hint, in);
		else if (comp == COMP_XZ)
			r = read_xz(fd, &o, hint, in);
		else
			r = read_lz4(fd, &o, hint, in);
	}
	if (r < 0)
		goto out;
	r = out_reserve(&o, hint); /* the NUL: len <= max, so there is room for it within max + 1 */
	if (r < 0)
		goto out;
	o.data[o.len] = '\0';
	*out = o.data;
	*len = o.len;
	o.data = NULL;
	r = 0;
out:
	free(in);
	free(o.data);
	close(fd);
	return r;
}
