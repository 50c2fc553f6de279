#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "santa/eventlog.h"

/*
 * Code points that change how the rest of a line is shown without being seen
 * themselves: C1 controls, and the bidirectional marks, embeddings, overrides
 * and isolates. A program named "gnp.exe" + U+202E would read as another name
 * in an admin's terminal, so these are escaped like control bytes.
 */
static bool
deceptive_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one or
 * encodes a deceptive code point.
 */
static size_t
utf8_sequence(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || deceptive_code_point(cp))
		return 0;
	return n;
}

int
santa_eventlog_escape(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t len = 0, n, want;
	char esc[8];
	const char *piece;

	if (size == 0)
		return -ENOSPC;
	while (*s) {
		n = 1;
		if (*s == '|') {
			piece = "<pipe>";
		} else if (*s == '\n') {
			piece = "\\n";
		} else if (*s == '\r') {
			piece = "\\r";
		} else if (*s == '\\') {
			piece = "\\\\";
		} else if (*s < 0x20 || *s == 0x7f || (n = utf8_sequence(s)) == 0 ||
			   strncmp((const char *)s, "<pipe>", 6) == 0) {
			/* A literal "<pipe>" keeps its meaning by escaping its "<". */
			snprintf(esc, sizeof(esc), "\\x%02x", *s);
			piece = esc;
			n = 1;
		} else {
			piece = NULL;
		}
		want = piece ? strlen(piece) : n;
		if (len + want >= size) {
			out[len] = '\0';
			return -ENOSPC;
		}
		memcpy(out + len, piece ? piece : (const char *)s, want);
		len += want;
		s += n;
	}
	out[len] = '\0';
	return (int)len;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
santa_eventlog_unescape(const char *in, char *out, size_t size)
{
	size_t len = 0;
	int hi, lo;
	char c;

	while (*in) {
		if (strncmp(in, "<pipe>", 6) == 0) {
			c = '|';
			in += 6;
		} else if (*in == '\\') {
			switch (in[1]) {
			case 'n':
				c = '\n';
				in += 2;
				break;
			case 'r':
				c = '\r';
				in += 2;
				break;
			case '\\':
				c = '\\';
				in += 2;
				break;
			case 'x':
				hi = hex_digit(in[2]);
				lo = hi < 0 ? -1 : hex_digit(in[3]);
				if (lo < 0)
					return -EINVAL;
				c = (char)(hi << 4 | lo);
				in += 4;
				break;
			default:
				return -EINVAL;
			}
		} else {
			c = *in++;
		}
		if (len + 1 >= size)
			return -ENOSPC;
		out[len++] = c;
	}
	out[len] = '\0';
	return (int)len;
}
