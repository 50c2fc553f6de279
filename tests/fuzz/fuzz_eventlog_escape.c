/*
 * libFuzzer target: any byte string escaped for santa.log must come out with
 * no "|", newline or CR, be valid UTF-8 (only ASCII escapes added), and
 * unescape to exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "santa/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *esc, *back;
	size_t cap = size * 6 + 1;
	int n;

	in = malloc(size + 1);
	esc = malloc(cap);
	back = malloc(size + 1);
	if (!in || !esc || !back)
		abort();
	memcpy(in, data, size);
	in[size] = '\0'; /* a C string: stop at the first NUL like every path does */
	n = santa_eventlog_escape(in, esc, cap);
	if (n < 0 || strpbrk(esc, "|\n\r"))
		abort();
	n = santa_eventlog_unescape(esc, back, strlen(in) + 1);
	if (n < 0 || strcmp(in, back) != 0)
		abort();
	free(in);
	free(esc);
	free(back);
	return 0;
}
