/* SHA-256 of buffers and files against published vectors; errors as -errno. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "santa/sha256.h"

struct vector {
	const char *input;
	const char *hex;
};

/* FIPS 180-2 appendix B and the NIST example values. */
static const struct vector vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static char tmpdir[] = "/tmp/santa-sha256-XXXXXX";

#include "test_tmpdir.h"


static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t off = 0;
	ssize_t n;

	assert_true(fd >= 0);
	while (off < len) {
		n = write(fd, (const char *)data + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	close(fd);
}

static void
test_buffer_vectors(void **state)
{
	uint8_t d[SANTA_SHA256_LEN];
	char hex[SANTA_SHA256_HEX_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_int_equal(santa_sha256_buf(vectors[i].input, strlen(vectors[i].input), d), 0);
		santa_sha256_to_hex(d, hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

static void
test_file_vectors_and_empty_file(void **state)
{
	uint8_t d[SANTA_SHA256_LEN];
	char hex[SANTA_SHA256_HEX_LEN + 1], path[256];
	uint64_t bytes = 99;
	size_t i;
	int fd;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		snprintf(path, sizeof(path), "%s/v%zu", tmpdir, i);
		write_file(path, vectors[i].input, strlen(vectors[i].input), 0644);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(santa_sha256_fd(fd, d, &bytes), 0);
		close(fd);
		assert_int_equal(bytes, strlen(vectors[i].input));
		santa_sha256_to_hex(d, hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

/* One million 'a': crosses many read chunks. */
static void
test_million_a(void **state)
{
	uint8_t d[SANTA_SHA256_LEN];
	char hex[SANTA_SHA256_HEX_LEN + 1], path[256];
	char *buf = malloc(1000000);

	assert_non_null(buf);
	memset(buf, 'a', 1000000);
	snprintf(path, sizeof(path), "%s/million", tmpdir);
	write_file(path, buf, 1000000, 0644);
	free(buf);
	assert_int_equal(santa_sha256_path(path, 0, d), 0);
	santa_sha256_to_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* 64 MiB of varied bytes: the file result equals the one-shot buffer result. */
static void
test_large_file_matches_buffer(void **state)
{
	const size_t len = 64u << 20;
	uint8_t d_file[SANTA_SHA256_LEN], d_buf[SANTA_SHA256_LEN];
	char path[256];
	uint8_t *buf = malloc(len);
	uint64_t bytes = 0;
	size_t i;
	int fd;

	assert_non_null(buf);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	snprintf(path, sizeof(path), "%s/large", tmpdir);
	write_file(path, buf, len, 0644);
	assert_int_equal(santa_sha256_buf(buf, len, d_buf), 0);
	free(buf);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	/* The fd's position is not used or moved: fanotify's fd stays as handed over. */
	assert_int_equal(lseek(fd, 12345, SEEK_SET), 12345);
	assert_int_equal(santa_sha256_fd(fd, d_file, &bytes), 0);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 12345);
	close(fd);
	assert_int_equal(bytes, len);
	assert_memory_equal(d_file, d_buf, SANTA_SHA256_LEN);
}

/* In slices, with other work between them: the same digest as in one go. */
static void
test_stream_in_slices(void **state)
{
	const size_t len = (10u << 20) + 777; /* slices do not divide it */
	uint8_t d_whole[SANTA_SHA256_LEN], d_slices[SANTA_SHA256_LEN];
	struct santa_sha256_stream *s;
	char path[256];
	uint8_t *buf = malloc(len);
	int fd, r, steps = 0;
	size_t i;

	assert_non_null(buf);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 40503u >> 7);
	snprintf(path, sizeof(path), "%s/sliced", tmpdir);
	write_file(path, buf, len, 0644);
	assert_int_equal(santa_sha256_buf(buf, len, d_whole), 0);
	free(buf);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(santa_sha256_stream_new(&s), 0);
	do {
		r = santa_sha256_stream_step(s, fd, 1u << 20, d_slices);
		assert_true(r >= 0);
		steps++;
		/* Each slice stops after about max_bytes (rounded up to a read). */
		if (r == 0)
			assert_true(santa_sha256_stream_bytes(s) >= (uint64_t)steps << 20);
	} while (r == 0);
	assert_int_equal(santa_sha256_stream_bytes(s), len);
	assert_int_equal(steps, 11);
	assert_memory_equal(d_slices, d_whole, SANTA_SHA256_LEN);
	santa_sha256_stream_free(s);
	close(fd);
}

/* The MD5 asked alongside: of the same bytes, in slices, given only once the stream ended. */
static void
test_stream_md5_alongside(void **state)
{
	const size_t len = (3u << 20) + 4097;
	uint8_t sha_buf[SANTA_SHA256_LEN], sha[SANTA_SHA256_LEN], md5_buf[16], md5[16];
	struct santa_sha256_stream *s;
	unsigned int md_len = 0;
	char path[256];
	uint8_t *buf = malloc(len);
	int fd, r;
	size_t i;

	(void)state;
	assert_non_null(buf);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 11);
	snprintf(path, sizeof(path), "%s/both", tmpdir);
	write_file(path, buf, len, 0644);
	assert_int_equal(santa_sha256_buf(buf, len, sha_buf), 0);
	assert_int_equal(EVP_Digest(buf, len, md5_buf, &md_len, EVP_md5(), NULL), 1);
	free(buf);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(santa_sha256_stream_new(&s), 0);
	assert_false(santa_sha256_stream_md5(s, md5)); /* not asked for */
	assert_int_equal(santa_sha256_stream_add_md5(s), 0);
	do {
		r = santa_sha256_stream_step(s, fd, 1u << 20, sha);
		assert_true(r >= 0);
		if (r == 0) {
			assert_false(santa_sha256_stream_md5(s, md5)); /* not before the end */
			assert_int_equal(santa_sha256_stream_add_md5(s), -EINVAL); /* too late */
		}
	} while (r == 0);
	assert_true(santa_sha256_stream_md5(s, md5));
	assert_memory_equal(sha, sha_buf, SANTA_SHA256_LEN);
	assert_memory_equal(md5, md5_buf, 16);
	santa_sha256_stream_free(s);
	close(fd);
}

static void
test_errors_are_negative_errno(void **state)
{
	uint8_t d[SANTA_SHA256_LEN];
	char path[256], link[256];
	int fd;

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(santa_sha256_path(path, 0, d), -ENOENT);
	assert_int_equal(santa_sha256_path(tmpdir, 0, d), -EISDIR);

	/* A write-only fd cannot be read. */
	snprintf(path, sizeof(path), "%s/wronly", tmpdir);
	write_file(path, "x", 1, 0644);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(santa_sha256_fd(fd, d, NULL), -EBADF);
	close(fd);
	assert_int_equal(santa_sha256_fd(-1, d, NULL), -EBADF);

	/* Symlinks are refused unless asked for. */
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(santa_sha256_path(link, 0, d), -ELOOP);
	assert_int_equal(santa_sha256_path(link, 1, d), 0);
}

/* A file the caller may not read: as root, checked in a child that dropped to nobody. */
static void
test_unreadable_file_is_eacces(void **state)
{
	uint8_t d[SANTA_SHA256_LEN];
	char path[256];
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/secret", tmpdir);
	write_file(path, "secret", 6, 0600);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		_exit(santa_sha256_path(path, 0, d) == -EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_hex_round_trip_and_bad_hex(void **state)
{
	uint8_t d[SANTA_SHA256_LEN];
	char hex[SANTA_SHA256_HEX_LEN + 1];

	assert_int_equal(santa_sha256_from_hex(
				 "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", d),
			 0);
	santa_sha256_to_hex(d, hex);
	assert_string_equal(hex, vectors[1].hex);
	assert_int_equal(santa_sha256_from_hex("abc", d), -EINVAL);
	assert_int_equal(santa_sha256_from_hex(
				 "zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", d),
			 -EINVAL);
	assert_int_equal(santa_sha256_from_hex(NULL, d), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buffer_vectors),
		cmocka_unit_test(test_file_vectors_and_empty_file),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_large_file_matches_buffer),
		cmocka_unit_test(test_stream_in_slices),
		cmocka_unit_test(test_stream_md5_alongside),
		cmocka_unit_test(test_errors_are_negative_errno),
		cmocka_unit_test(test_unreadable_file_is_eacces),
		cmocka_unit_test(test_hex_round_trip_and_bad_hex),
	};

	return cmocka_run_group_tests_name("sha256", tests, tmpdir_setup, tmpdir_teardown);
}
