/* libFuzzer target: santa.conf text through the whole loader, diagnostics included. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "santa/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ignore_diag(void *ud, int level, const char *file, unsigned int line, const char *msg)
{
	/* Touch the message so that a bad pointer or missing NUL is caught. */
	*(size_t *)ud += strlen(msg) + strlen(file) + line + (unsigned int)level;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct santa_config cfg;
	size_t sink = 0;
	char *text;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (santa_config_init(&cfg, "/fuzzroot") == 0) {
		(void)santa_config_load_string(&cfg, text, "fuzz.conf", ignore_diag, &sink);
		santa_config_free(&cfg);
	}
	free(text);
	return 0;
}
