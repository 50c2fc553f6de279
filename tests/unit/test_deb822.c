/*
 * deb822 paragraphs (fields, continuations, blank and bad lines, CRLF, the
 * field cap) and index files read through gzip, xz and lz4: whole, several
 * members/streams/frames, truncated, corrupt, and over the size cap.
 */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "santa/deb822.h"

static char tmpdir[] = "/tmp/santa-test-deb822-XXXXXX";

static bool
field_is(const struct santa_deb822_field *f, const char *name, const char *value)
{
	return f && f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0 &&
	       f->value_len == strlen(value) && memcmp(f->value, value, f->value_len) == 0;
}

static void
test_paragraphs(void **state)
{
	static const char text[] = "\n \t\n"
				   "Package: hello\n"
				   "Version:2.10-3  \n"
				   "Description: short\n"
				   " long line one\n"
				   " .\n"
				   "\tlong line two\n"
				   "Empty:\n"
				   " \t \n"
				   "\n"
				   "Package: bash\r\n"
				   "Architecture: amd64\r\n"
				   "\r\n"
				   "Package: last\n"
				   "X-Odd_Name!: v";
	struct santa_deb822_field f[8];
	struct santa_deb822 r;
	char buf[64];

	santa_deb822_init(&r, text, sizeof(text) - 1);
	assert_int_equal(santa_deb822_next(&r, f, 8), 4);
	assert_true(field_is(&f[0], "Package", "hello"));
	assert_true(field_is(&f[1], "Version", "2.10-3"));
	assert_true(field_is(&f[2], "Description",
			     "short\n long line one\n .\n\tlong line two"));
	assert_true(field_is(&f[3], "Empty", ""));
	assert_ptr_equal(santa_deb822_get(f, 4, "version"), &f[1]);
	assert_ptr_equal(santa_deb822_get(f, 4, "DESCRIPTION"), &f[2]);
	assert_null(santa_deb822_get(f, 4, "Versio"));
	assert_null(santa_deb822_get(f, 4, "Architecture"));
	assert_true(santa_deb822_copy(santa_deb822_get(f, 4, "package"), buf, sizeof(buf)));
	assert_string_equal(buf, "hello");
	assert_true(santa_deb822_copy(NULL, buf, sizeof(buf)));
	assert_string_equal(buf, "");
	assert_false(santa_deb822_copy(&f[0], buf, 5)); /* "hello" needs 6 */
	assert_string_equal(buf, "");
	assert_true(santa_deb822_copy(&f[0], buf, 6));
	assert_int_equal(r.line, 11); /* the whitespace-only line (10) ended it */

	/* CRLF: the CR is not part of a value, and "\r\n" alone is blank. */
	assert_int_equal(santa_deb822_next(&r, f, 8), 2);
	assert_true(field_is(&f[0], "Package", "bash"));
	assert_true(field_is(&f[1], "Architecture", "amd64"));

	/* The last paragraph ends with the buffer, without a newline. */
	assert_int_equal(santa_deb822_next(&r, f, 8), 2);
	assert_true(field_is(&f[1], "X-Odd_Name!", "v"));
	assert_int_equal(santa_deb822_next(&r, f, 8), 0);
	assert_int_equal(santa_deb822_next(&r, f, 8), 0);
}

static void
test_field_cap(void **state)
{
	static const char text[] = "A: 1\nB: 2\n cont of B\nC: 3\n cont of C\nD: 4\n\nE: 5\n";
	struct santa_deb822_field f[2];
	struct santa_deb822 r;

	santa_deb822_init(&r, text, sizeof(text) - 1);
	assert_int_equal(santa_deb822_next(&r, f, 2), 2);
	assert_true(field_is(&f[0], "A", "1"));
	/* B keeps its own continuation; C's (skipped) does not land on B. */
	assert_true(field_is(&f[1], "B", "2\n cont of B"));
	assert_int_equal(santa_deb822_next(&r, f, 2), 1);
	assert_true(field_is(&f[0], "E", "5"));
	assert_int_equal(santa_deb822_next(&r, f, 2), 0);
	assert_int_equal(santa_deb822_next(&r, f, 0), -EINVAL);
}

static void
test_bad_lines(void **state)
{
	static const char text[] = "# a comment is not allowed in Packages or Release\n"
				   "Package: a\n"
				   "\n"
				   " continuation first\n"
				   "Package: b\n"
				   "\n"
				   "Package: c\n"
				   "no colon here\n"
				   "Version: 1\n"
				   "\n"
				   "-Dash: x\n"
				   "\n"
				   ": empty name\n"
				   "\n"
				   "Sp ace: x\n"
				   "\n"
				   "Package: good\n";
	struct santa_deb822_field f[4];
	struct santa_deb822 r;
	static const size_t bad[] = { 1, 4, 8, 11, 13, 15 };
	size_t i;

	santa_deb822_init(&r, text, sizeof(text) - 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(santa_deb822_next(&r, f, 4), -EBADMSG);
		assert_int_equal(r.bad_line, bad[i]);
	}
	/* The reader went on past each bad paragraph. */
	assert_int_equal(santa_deb822_next(&r, f, 4), 1);
	assert_true(field_is(&f[0], "Package", "good"));
	assert_int_equal(santa_deb822_next(&r, f, 4), 0);
}

static void
test_copy_refuses_nul(void **state)
{
	static const char text[] = "Package: core\0utils\n";
	struct santa_deb822_field f[1];
	struct santa_deb822 r;
	char buf[32];

	santa_deb822_init(&r, text, sizeof(text) - 1);
	assert_int_equal(santa_deb822_next(&r, f, 1), 1);
	assert_int_equal(f[0].value_len, 10);
	assert_false(santa_deb822_copy(&f[0], buf, sizeof(buf)));

	santa_deb822_init(&r, NULL, 0);
	assert_int_equal(santa_deb822_next(&r, f, 1), 0);
}

/* ---- index files ---- */

static char *
tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void
write_file(const char *name, const void *data, size_t len)
{
	int fd = open(tmp_path(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Test data: a Packages-like text of len bytes that compresses well but not to nothing. */
static char *
make_text(size_t len)
{
	char *t = malloc(len + 1);
	size_t i;

	assert_non_null(t);
	for (i = 0; i < len; i++)
		t[i] = (char)("Package: hello\nVersion: 1.0\n\n"[i % 29] + (i % 977 == 0));
	t[len] = '\0';
	return t;
}

static size_t
gzip_compress(const void *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream zs;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	deflateEnd(&zs);
	return cap - zs.avail_out;
}

static size_t
xz_compress(const void *in, size_t len, unsigned char *out, size_t cap)
{
	size_t pos = 0;

	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, in, len, out, &pos, cap),
			 LZMA_OK);
	return pos;
}

static size_t
lz4_compress(const void *in, size_t len, unsigned char *out, size_t cap)
{
	LZ4F_preferences_t prefs;
	size_t n;

	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	assert_true(LZ4F_compressFrameBound(len, &prefs) <= cap);
	n = LZ4F_compressFrame(out, cap, in, len, &prefs);
	assert_false(LZ4F_isError(n));
	return n;
}

typedef size_t (*compress_fn)(const void *in, size_t len, unsigned char *out, size_t cap);

static const struct {
	const char *suffix;
	compress_fn compress;
} codecs[] = {
	{ ".gz", gzip_compress },
	{ ".xz", xz_compress },
	{ ".lz4", lz4_compress },
};

static void
expect_read(const char *name, size_t max, int want, const char *text, size_t text_len)
{
	char *out = (char *)1;
	size_t len = 99;
	int r = santa_read_index_file(tmp_path(name), max, &out, &len);

	if (r != want)
		fail_msg("%s (max %zu): %d, expected %d", name, max, r, want);
	if (want < 0) {
		assert_null(out);
		assert_int_equal(len, 0);
		return;
	}
	assert_int_equal(len, text_len);
	assert_memory_equal(out, text, text_len);
	assert_int_equal(out[len], '\0');
	free(out);
}

static void
test_index_codecs(void **state)
{
	const size_t len = 300000;
	char *text = make_text(len), name[64];
	size_t cap = len * 2 + 65536, n, n2, i;
	unsigned char *z = malloc(cap);

	assert_non_null(z);
	for (i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		/* Whole. */
		snprintf(name, sizeof(name), "whole%s", codecs[i].suffix);
		n = codecs[i].compress(text, len, z, cap);
		write_file(name, z, n);
		expect_read(name, len, 0, text, len);
		expect_read(name, SIZE_MAX, 0, text, len);
		/* One byte over max: caught while decompressing. */
		expect_read(name, len - 1, -EFBIG, NULL, 0);
		expect_read(name, 1000, -EFBIG, NULL, 0);
		expect_read(name, 0, -EFBIG, NULL, 0);

		/* Truncated: at several places, including inside the trailer. */
		snprintf(name, sizeof(name), "truncated%s", codecs[i].suffix);
		write_file(name, z, n - 1);
		expect_read(name, len, -EBADMSG, NULL, 0);
		write_file(name, z, n / 2);
		expect_read(name, len, -EBADMSG, NULL, 0);
		write_file(name, z, 3);
		expect_read(name, len, -EBADMSG, NULL, 0);
		write_file(name, z, 0);
		expect_read(name, len, -EBADMSG, NULL, 0);

		/*
		 * Corrupt: one byte flipped in the middle (every codec here checks a
		 * CRC or hash). A generous max: a corrupt stream may well say more.
		 */
		snprintf(name, sizeof(name), "corrupt%s", codecs[i].suffix);
		z[n / 2] ^= 0x55;
		write_file(name, z, n);
		expect_read(name, 64 * len, -EBADMSG, NULL, 0);
		z[n / 2] ^= 0x55;

		/* Two members/streams/frames back to back: both halves read. */
		snprintf(name, sizeof(name), "concat%s", codecs[i].suffix);
		n = codecs[i].compress(text, len / 2, z, cap);
		n2 = codecs[i].compress(text + len / 2, len - len / 2, z + n, cap - n);
		write_file(name, z, n + n2);
		expect_read(name, len, 0, text, len);
		expect_read(name, len - 1, -EFBIG, NULL, 0);

		/* Garbage after the last one. */
		snprintf(name, sizeof(name), "trailing%s", codecs[i].suffix);
		memcpy(z + n + n2, "garbage!", 8);
		write_file(name, z, n + n2 + 8);
		expect_read(name, len, -EBADMSG, NULL, 0);

		/* Not compressed at all, though named so. */
		snprintf(name, sizeof(name), "plain%s", codecs[i].suffix);
		write_file(name, text, 4096);
		expect_read(name, len, -EBADMSG, NULL, 0);

		/* Empty content, compressed. */
		snprintf(name, sizeof(name), "empty%s", codecs[i].suffix);
		n = codecs[i].compress("", 0, z, cap);
		write_file(name, z, n);
		expect_read(name, 0, 0, "", 0);
	}
	free(z);
	free(text);
}

/* Bombs: 32 MiB of zeros in a few KiB; max stops them long before. */
static void
test_index_bomb(void **state)
{
	const size_t len = 32u << 20, cap = len + (len >> 4) + 65536;
	char *zeros = calloc(1, len);
	unsigned char *z = malloc(cap);
	size_t n;

	assert_non_null(zeros);
	assert_non_null(z);
	n = gzip_compress(zeros, len, z, cap);
	write_file("bomb.gz", z, n);
	expect_read("bomb.gz", 1u << 20, -EFBIG, NULL, 0);
	n = xz_compress(zeros, len, z, cap);
	write_file("bomb.xz", z, n);
	expect_read("bomb.xz", 1u << 20, -EFBIG, NULL, 0);
	n = lz4_compress(zeros, len, z, cap);
	write_file("bomb.lz4", z, n);
	expect_read("bomb.lz4", 1u << 20, -EFBIG, NULL, 0);
	free(zeros);
	free(z);
}

static void
test_index_raw(void **state)
{
	static const char text[] = "Package: a\nVersion: 1\nArchitecture: all\n";
	char *out = NULL;
	size_t len = 0;

	write_file("Packages", text, sizeof(text) - 1);
	expect_read("Packages", sizeof(text) - 1, 0, text, sizeof(text) - 1);
	expect_read("Packages", sizeof(text) - 2, -EFBIG, NULL, 0);
	write_file("empty", "", 0);
	expect_read("empty", 0, 0, "", 0);
	/* .bz2 and others are read as they are (an apt_archive digest check then fails). */
	write_file("Packages.bz2", text, sizeof(text) - 1);
	expect_read("Packages.bz2", 4096, 0, text, sizeof(text) - 1);
	assert_int_equal(santa_read_index_file(tmp_path("missing"), 10, &out, &len), -ENOENT);
	assert_int_equal(santa_read_index_file(tmpdir, 10, &out, &len), -EISDIR);
	assert_int_equal(santa_read_index_file("/dev/null", 10, &out, &len), -EINVAL);
	assert_null(out);
}

/* A FIFO where a file should be, with no writer: refused at once, not waited on. */
static void
test_index_fifo(void **state)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(mkfifo(tmp_path("status"), 0600), 0);
	alarm(30); /* waiting on the FIFO's open would otherwise hang the test until ctest's timeout */
	assert_int_equal(santa_read_index_file(tmp_path("status"), 10, &out, &len), -EINVAL);
	alarm(0);
	assert_null(out);
	assert_int_equal(unlink(tmp_path("status")), 0);
}

/* The fixture made by lz4(1) itself (tests/unit/data/apt/make-fixtures.sh). */
static void
test_index_real_lz4(void **state)
{
	const char *data = getenv("SANTA_TEST_DATA");
	char path[1024], *out = NULL;
	struct santa_deb822_field f[16];
	struct santa_deb822 r;
	size_t len = 0;
	int n = 0, paragraphs = 0;

	assert_non_null(data);
	snprintf(path, sizeof(path),
		 "%s/apt/lists/example.org_debian_dists_stable_main_binary-amd64_Packages.lz4", data);
	assert_int_equal(santa_read_index_file(path, 1u << 20, &out, &len), 0);
	santa_deb822_init(&r, out, len);
	while ((n = santa_deb822_next(&r, f, 16)) > 0)
		paragraphs++;
	assert_int_equal(n, 0);
	assert_int_equal(paragraphs, 4);
	free(out);
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paragraphs),
		cmocka_unit_test(test_field_cap),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_copy_refuses_nul),
		cmocka_unit_test(test_index_codecs),
		cmocka_unit_test(test_index_bomb),
		cmocka_unit_test(test_index_raw),
		cmocka_unit_test(test_index_fifo),
		cmocka_unit_test(test_index_real_lz4),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
