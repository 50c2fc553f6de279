#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "santa/sha256.h"

/* Large enough to amortise syscalls, small enough for the stack of a worker thread. */
#define HASH_CHUNK (64 * 1024)

/* A hash under way: where it is in the file, and OpenSSL's state. */
struct santa_sha256_stream {
	EVP_MD_CTX *ctx;
	EVP_MD_CTX *md5; /* NULL unless asked for (santa_sha256_stream_add_md5) */
	bool md5_done;
	uint8_t md5_digest[16];
	off_t off;
};

int
santa_sha256_stream_new(struct santa_sha256_stream **out)
{
	struct santa_sha256_stream *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
		santa_sha256_stream_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void
santa_sha256_stream_free(struct santa_sha256_stream *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	EVP_MD_CTX_free(s->md5);
	free(s);
}

int
santa_sha256_stream_add_md5(struct santa_sha256_stream *s)
{
	if (s->off != 0 || s->md5)
		return -EINVAL;
	s->md5 = EVP_MD_CTX_new();
	if (!s->md5 || EVP_DigestInit_ex(s->md5, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(s->md5);
		s->md5 = NULL;
		return -ENOMEM;
	}
	return 0;
}

bool
santa_sha256_stream_md5(const struct santa_sha256_stream *s, uint8_t md5[16])
{
	if (!s || !s->md5_done)
		return false;
	memcpy(md5, s->md5_digest, 16);
	return true;
}

uint64_t
santa_sha256_stream_bytes(const struct santa_sha256_stream *s)
{
	return (uint64_t)s->off;
}

int
santa_sha256_stream_step(struct santa_sha256_stream *s, int fd, uint64_t max_bytes,
			 uint8_t digest[SANTA_SHA256_LEN])
{
	unsigned char buf[HASH_CHUNK];
	unsigned int len = 0;
	uint64_t done = 0;
	struct stat st;
	ssize_t n;

	if (s->off == 0) {
		if (fstat(fd, &st) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	while (done < max_bytes) {
		n = pread(fd, buf, sizeof(buf), s->off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			if (EVP_DigestFinal_ex(s->ctx, digest, &len) != 1 || len != SANTA_SHA256_LEN)
				return -EIO;
			if (s->md5 && !s->md5_done)
				s->md5_done = EVP_DigestFinal_ex(s->md5, s->md5_digest, &len) == 1 &&
					      len == 16;
			return 1;
		}
		if (EVP_DigestUpdate(s->ctx, buf, (size_t)n) != 1)
			return -EIO;
		/* The same bytes, while they are in the cache line: one read for both. */
		if (s->md5 && EVP_DigestUpdate(s->md5, buf, (size_t)n) != 1)
			return -EIO;
		s->off += n;
		done += (uint64_t)n;
	}
	return 0;
}

int
santa_sha256_fd(int fd, uint8_t digest[SANTA_SHA256_LEN], uint64_t *bytes)
{
	struct santa_sha256_stream *s;
	int r;

	r = santa_sha256_stream_new(&s);
	if (r < 0)
		return r;
	r = santa_sha256_stream_step(s, fd, UINT64_MAX, digest);
	if (bytes)
		*bytes = santa_sha256_stream_bytes(s);
	santa_sha256_stream_free(s);
	return r < 0 ? r : 0;
}

int
santa_sha256_path(const char *path, int follow, uint8_t digest[SANTA_SHA256_LEN])
{
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return -errno;
	r = santa_sha256_fd(fd, digest, NULL);
	close(fd);
	return r;
}

int
santa_sha256_buf(const void *buf, size_t len, uint8_t digest[SANTA_SHA256_LEN])
{
	unsigned int out_len = 0;

	if (EVP_Digest(buf, len, digest, &out_len, EVP_sha256(), NULL) != 1 ||
	    out_len != SANTA_SHA256_LEN)
		return -EIO;
	return 0;
}

void
santa_sha256_to_hex(const uint8_t digest[SANTA_SHA256_LEN], char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < SANTA_SHA256_LEN; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0xf];
	}
	hex[SANTA_SHA256_HEX_LEN] = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
santa_sha256_from_hex(const char *hex, uint8_t digest[SANTA_SHA256_LEN])
{
	size_t i;
	int hi, lo;

	if (!hex || strlen(hex) != SANTA_SHA256_HEX_LEN)
		return -EINVAL;
	for (i = 0; i < SANTA_SHA256_LEN; i++) {
		hi = hex_value(hex[2 * i]);
		lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		digest[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
