/* Block messages and the Details URL (include/santa/blockmsg.h). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "santa/blockmsg.h"

struct out_buf {
	char *p;
	size_t size, len;
	bool overflow;
};

static void
put(struct out_buf *o, const char *s, size_t n)
{
	if (o->overflow || o->len + n >= o->size) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
static void
put_escaped(struct out_buf *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			put(o, (const char *)&c, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			put(o, e, 3);
		}
	}
}

static const char *
nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

int
santa_block_url(const char *tmpl, const char *custom_url, const struct santa_block_fields *f,
		char *out, size_t size, bool *has_url)
{
	struct out_buf o = { out, size, 0, size == 0 };
	const char *s;

	*has_url = false;
	if (size)
		out[0] = '\0';
	if (nonempty(custom_url)) {
		if (strcmp(custom_url, "null") == 0)
			return 0;
		tmpl = custom_url;
	}
	if (!nonempty(tmpl))
		return 0;
	for (s = tmpl; *s;) {
		const struct {
			const char *name;
			const char *value;
		} vars[] = {
			{ "%file_identifier%", nonempty(f->file_sha256) },
			{ "%file_sha%", nonempty(f->file_sha256) },
			{ "%bundle_or_file_identifier%",
			  nonempty(f->bundle_hash) ? f->bundle_hash : nonempty(f->file_sha256) },
			{ "%file_bundle_id%", nonempty(f->bundle_id) },
			{ "%username%", nonempty(f->username) },
			{ "%machine_id%", nonempty(f->machine_id) },
			{ "%hostname%", nonempty(f->hostname) },
			{ "%uuid%", nonempty(f->uuid) },
			{ "%serial%", nonempty(f->serial) },
		};
		size_t i, n = 0;

		if (*s == '%') {
			for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
				n = strlen(vars[i].name);
				if (vars[i].value && strncmp(s, vars[i].name, n) == 0)
					break;
			}
			if (i < sizeof(vars) / sizeof(vars[0])) {
				put_escaped(&o, vars[i].value);
				s += n;
				continue;
			}
		}
		put(&o, s, 1);
		s++;
	}
	if (o.overflow)
		return -ENAMETOOLONG;
	*has_url = true;
	return 0;
}

size_t
santa_html_to_text(const char *html, char *out, size_t size)
{
	static const struct {
		const char *entity;
		const char *text;
	} entities[] = {
		{ "&amp;", "&" },  { "&lt;", "<" },   { "&gt;", ">" },
		{ "&quot;", "\"" }, { "&#39;", "'" }, { "&nbsp;", " " },
	};
	struct out_buf o = { out, size, 0, size == 0 };
	const char *s = html ? html : "";

	if (size)
		out[0] = '\0';
	while (*s && !o.overflow) {
		if (*s == '<') {
			const char *end = strchr(s, '>');

			if (!end) /* not a tag: a lone '<' */
				goto literal;
			if (strncasecmp(s, "<br", 3) == 0 && !isalnum((unsigned char)s[3]))
				put(&o, "\n", 1);
			s = end + 1;
			continue;
		}
		if (*s == '&') {
			size_t i;

			for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
				size_t n = strlen(entities[i].entity);

				if (strncasecmp(s, entities[i].entity, n) == 0) {
					put(&o, entities[i].text, strlen(entities[i].text));
					s += n;
					break;
				}
			}
			if (i < sizeof(entities) / sizeof(entities[0]))
				continue;
		}
literal:
		put(&o, s, 1);
		s++;
	}
	return o.len;
}

int
santa_markup_escape(const char *text, char *out, size_t size)
{
	struct out_buf o = { out, size, 0, size == 0 };

	if (size)
		out[0] = '\0';
	for (; *text; text++) {
		if (*text == '&')
			put(&o, "&amp;", 5);
		else if (*text == '<')
			put(&o, "&lt;", 4);
		else if (*text == '>')
			put(&o, "&gt;", 4);
		else
			put(&o, text, 1);
	}
	return o.overflow ? -ENAMETOOLONG : 0;
}

/* The code point of the valid UTF-8 sequence at s and its length (1-4), or 0 when it is not one. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, *cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, *cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, *cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((n == 3 && *cp < 0x800) || (n == 4 && (*cp < 0x10000 || *cp > 0x10ffff)) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* Characters that break a line, reorder text or hide themselves (blockmsg.h). */
static bool
shown_escaped(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
	       cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

int
santa_display_escape(const char *in, char *out, size_t size, unsigned int flags)
{
	static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
	struct out_buf o = { out, size, 0, size == 0 };
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t mark = 0; /* the last piece boundary with room for the ellipsis after it */
	char esc[8];

	if (size)
		out[0] = '\0';
	while (*s) {
		const char *piece = NULL;
		size_t n;
		uint32_t cp = 0;

		n = utf8_decode(s, &cp);
		if (n == 0) {
			snprintf(esc, sizeof(esc), "\\x%02X", *s);
			piece = esc;
			n = 1;
		} else if (cp == '\\') {
			piece = "\\\\";
		} else if (cp == '\n') {
			piece = "\\n";
		} else if (cp == '\r') {
			piece = "\\r";
		} else if (cp == '\t') {
			piece = "\\t";
		} else if (cp < 0x20 || cp == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02X", (unsigned int)cp);
			piece = esc;
		} else if (shown_escaped(cp)) {
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned int)cp);
			piece = esc;
		} else if ((flags & SANTA_DISPLAY_MARKUP) && cp == '&') {
			piece = "&amp;";
		} else if ((flags & SANTA_DISPLAY_MARKUP) && cp == '<') {
			piece = "&lt;";
		} else if ((flags & SANTA_DISPLAY_MARKUP) && cp == '>') {
			piece = "&gt;";
		}
		put(&o, piece ? piece : (const char *)s, piece ? strlen(piece) : n);
		if (o.overflow)
			break;
		if (o.len + sizeof(ellipsis) <= size)
			mark = o.len;
		s += n;
	}
	if (!o.overflow)
		return (int)o.len;
	if (size >= sizeof(ellipsis)) {
		memcpy(out + mark, ellipsis, sizeof(ellipsis)); /* with its NUL */
	} else if (size) {
		out[0] = '\0';
	}
	return -ENOSPC;
}
