#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "santa/sha256.h"

/* Large enough to amortise syscalls, small enough for the stack of a worker thread. */
#define HASH_CHUNK (64 * 1024)

int
santa_sha256_fd(int fd, uint8_t digest[SANTA_SHA256_LEN], uint64_t *bytes)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char buf[HASH_CHUNK];
	unsigned int len = 0;
	struct stat st;
	off_t off = 0;
	ssize_t n;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		r = -EIO;
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			r = -EIO;
			goto out;
		}
		off += n;
	}
	if (EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len != SANTA_SHA256_LEN) {
		r = -EIO;
		goto out;
	}
	if (bytes)
		*bytes = (uint64_t)off;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
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
