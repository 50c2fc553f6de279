/*
 * libFuzzer target: the deb822 paragraph reader and field access on any
 * bytes (Packages and Release files come from mirrors; only their digest
 * and signature are checked before they are parsed, and the parser itself
 * must hold on anything), and santa_read_index_file's gzip, xz and lz4
 * decoders on any bytes.
 *
 * The first byte picks: 0-3 parse with a field cap of 1, 3, 8 or 64;
 * 4-7 write the rest to a file named .gz, .xz, .lz4 or plain and read it
 * back (capped at 1 MiB), then parse what came out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "santa/deb822.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void
remove_dir(void)
{
	if (dir[0])
		rmdir(dir);
}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static void
parse(const char *buf, size_t len, size_t max)
{
	struct santa_deb822_field fields[64];
	struct santa_deb822 r;
	size_t rounds = 0, i;
	int n;
	char out[32];

	santa_deb822_init(&r, buf, len);
	while ((n = santa_deb822_next(&r, fields, max)) != 0) {
		/* Each call moves on at least one line: no more calls than bytes. */
		CHECK(++rounds <= len + 1);
		if (n < 0) {
			CHECK(n == -EBADMSG);
			CHECK(r.bad_line >= 1 && r.bad_line < r.line);
			continue;
		}
		CHECK((size_t)n <= max);
		for (i = 0; i < (size_t)n; i++) {
			const struct santa_deb822_field *f = &fields[i];

			CHECK(f->name >= buf && f->name_len > 0 && f->name + f->name_len <= buf + len);
			CHECK(f->name[f->name_len] == ':');
			CHECK(f->value > f->name && f->value + f->value_len <= buf + len);
			CHECK(memchr(f->name, '\n', f->name_len) == NULL);
			if (santa_deb822_copy(f, out, sizeof(out)))
				CHECK(strlen(out) == f->value_len);
			else
				CHECK(out[0] == '\0');
		}
		(void)santa_deb822_get(fields, (size_t)n, "Package");
		(void)santa_deb822_get(fields, (size_t)n, "version");
		CHECK(santa_deb822_get(fields, (size_t)n, "") == NULL);
		CHECK(santa_deb822_copy(santa_deb822_get(fields, (size_t)n, "SHA256"), out, sizeof(out)) ||
		      out[0] == '\0');
	}
	CHECK(r.p == r.end);
}

static void
decompress(const uint8_t *data, size_t size, const char *suffix)
{
	char path[128], *out = NULL;
	size_t len = 0;
	int fd, r;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-deb822-XXXXXX");
		if (!mkdtemp(dir)) {
			dir[0] = '\0';
			return;
		}
		atexit(remove_dir);
	}
	snprintf(path, sizeof(path), "%s/index%s", dir, suffix);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
	r = santa_read_index_file(path, 1u << 20, &out, &len);
	unlink(path);
	if (r < 0) {
		CHECK(out == NULL && len == 0);
		CHECK(r == -EBADMSG || r == -EFBIG || r == -ENOMEM);
		return;
	}
	CHECK(len <= (1u << 20) && out[len] == '\0');
	parse(out, len, 16);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 1, 3, 8, 64 };
	static const char *const suffixes[] = { ".gz", ".xz", ".lz4", "" };
	unsigned mode;

	if (size == 0)
		return 0;
	mode = data[0] & 7;
	if (mode < 4)
		parse((const char *)data + 1, size - 1, caps[mode]);
	else
		decompress(data + 1, size - 1, suffixes[mode - 4]);
	return 0;
}
