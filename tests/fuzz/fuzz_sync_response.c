/*
 * libFuzzer target: a sync server's response body through every parser that
 * reads one (preflight, ruledownload, eventupload), and each accepted rule
 * through the line format santad re-reads, which must give it back unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "santa/sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct sync_preflight pf;
	struct sync_rule_page page;
	struct sync_rule back;
	char why[512], **hashes;
	size_t n, i;

	if (sync_parse_preflight(body, size, &pf, why, sizeof(why)) == 0) {
		(void)sync_resolve_type(&pf, SYNC_TYPE_CLEAN_ALL);
		sync_preflight_free(&pf);
	}
	if (sync_parse_ruledownload(body, size, &page, why, sizeof(why)) == 0) {
		for (i = 0; i < page.n; i++) {
			char *line = sync_rule_to_line(&page.rules[i]);

			if (!line)
				abort();
			if (sync_rule_from_line(line, strlen(line) - 1, &back, why, sizeof(why)) != 0 ||
			    strcmp(back.identifier, page.rules[i].identifier) != 0 ||
			    back.type != page.rules[i].type || back.policy != page.rules[i].policy)
				abort();
			sync_rule_free(&back);
			free(line);
		}
		sync_rule_page_free(&page);
	}
	if (sync_parse_eventupload(body, size, &hashes, &n, why, sizeof(why)) == 0) {
		for (i = 0; i < n; i++)
			free(hashes[i]);
		free(hashes);
	}
	return 0;
}
