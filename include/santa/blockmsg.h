/*
 * What the user is told about a block: Santa's messages (HTML allowed in the
 * config) made into notification text, and the "Details" URL built from
 * EventDetailURL or a rule's custom_url with Santa's placeholders
 * (SNTBlockMessage on macOS). Pure string functions, unit-tested.
 */
#ifndef SANTA_BLOCKMSG_H
#define SANTA_BLOCKMSG_H

#include <stdbool.h>
#include <stddef.h>

#define SANTA_BLOCK_URL_MAX  2048
#define SANTA_BLOCK_TEXT_MAX 4096

/* Santa's defaults (docs/config-keys.md, User notification). */
#define SANTA_DEFAULT_UNKNOWN_BLOCK_MESSAGE                                                  \
	"The following application has been blocked from executing<br />because its "        \
	"trustworthiness cannot be determined."
#define SANTA_DEFAULT_BANNED_BLOCK_MESSAGE                                                   \
	"The following application has been blocked from executing<br />because it has "     \
	"been deemed malicious."
#define SANTA_DEFAULT_MODE_MONITOR_MESSAGE  "Switching into Monitor mode"
#define SANTA_DEFAULT_MODE_LOCKDOWN_MESSAGE "Switching into Lockdown mode"
#define SANTA_DEFAULT_EVENT_DETAIL_TEXT     "Open..."

/* Values for the placeholders; NULL or "" leaves a placeholder as it is, as Santa does. */
struct santa_block_fields {
	const char *file_sha256;  /* %file_identifier%, %file_sha% */
	const char *bundle_hash;  /* %bundle_or_file_identifier% when set */
	const char *bundle_id;    /* %file_bundle_id% */
	const char *username;     /* %username% */
	const char *machine_id;   /* %machine_id% */
	const char *hostname;     /* %hostname% */
	const char *uuid;         /* %uuid% */
	const char *serial;       /* %serial% */
};

/*
 * The Details URL: custom_url when the rule has one, else tmpl
 * (EventDetailURL). Values are percent-encoded. *has_url is false when there
 * is no URL to show (no template, or the rule's custom_url is "null", which
 * hides the button on Santa). Returns 0, or -ENAMETOOLONG when it does not
 * fit in size.
 */
int santa_block_url(const char *tmpl, const char *custom_url, const struct santa_block_fields *f,
		    char *out, size_t size, bool *has_url);

/*
 * Santa's HTML message as plain text: <br> (any spelling) becomes a newline,
 * other tags are dropped, &amp; &lt; &gt; &quot; &#39; &nbsp; decoded.
 * Truncates to size (always terminated). Returns the length written.
 */
size_t santa_html_to_text(const char *html, char *out, size_t size);

/*
 * Escapes & < > for a notification body that the server reads as markup.
 * Returns 0 or -ENAMETOOLONG (out still terminated).
 */
int santa_markup_escape(const char *text, char *out, size_t size);

#define SANTA_DISPLAY_MARKUP 1u /* also & < > as entities: the server reads the text as markup */

/*
 * A value from outside (a file name, a process or bundle name) made safe to
 * show on one line of a notice: nothing in it can end the line, so it cannot
 * start a line that passes for another field, nor reorder what is shown
 * (U+202E shows "fdp.exe" as "exe.pdf"). Written out visibly instead:
 *   "\" -> "\\"; newline, CR, tab -> "\n", "\r", "\t"; other C0
 *   controls, DEL and each byte of invalid UTF-8 -> "\xHH";
 *   C1 controls (U+0080-U+009F, with U+0085 NEL), U+2028/U+2029 (line and
 *   paragraph separators), the bidirectional marks, embeddings, overrides
 *   and isolates (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and
 *   the invisible zero-width characters (U+200B-U+200D, U+2060-U+2064,
 *   U+FEFF) -> "\uXXXX" (upper-case hex).
 * Everything else passes as it is. The output is valid UTF-8 (D-Bus refuses
 * a string that is not, which would lose the notice), always terminated;
 * when it does not fit, it ends after the last whole character or escape
 * with "…". Returns the length written, or -ENOSPC when truncated.
 */
int santa_display_escape(const char *in, char *out, size_t size, unsigned int flags);

#endif
