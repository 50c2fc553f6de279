/* Streaming SHA-256 of files and buffers (OpenSSL EVP). */
#ifndef SANTA_SHA256_H
#define SANTA_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SANTA_SHA256_LEN     32
#define SANTA_SHA256_HEX_LEN 64

/*
 * Hashes the whole file behind fd with pread() from offset 0, so the fd's
 * file position is left alone (fanotify hands santad an fd it must not
 * disturb) and the bytes hashed are the bytes of that open file, not of
 * whatever a path names now. *bytes, when not NULL, receives the count.
 * Returns 0 or -errno (-EISDIR for a directory).
 */
int santa_sha256_fd(int fd, uint8_t digest[SANTA_SHA256_LEN], uint64_t *bytes);

/*
 * The same a slice at a time, for a caller that shares its thread: each step
 * hashes up to max_bytes more (rounded up to a read) from where the last one
 * stopped. A step returns 1 when the file ended (digest filled), 0 when more
 * remains, or -errno.
 */
struct santa_sha256_stream;
int santa_sha256_stream_new(struct santa_sha256_stream **out);
int santa_sha256_stream_step(struct santa_sha256_stream *s, int fd, uint64_t max_bytes,
			     uint8_t digest[SANTA_SHA256_LEN]);
uint64_t santa_sha256_stream_bytes(const struct santa_sha256_stream *s);
void santa_sha256_stream_free(struct santa_sha256_stream *s);
/*
 * Also computes the MD5 of the same bytes, from the same reads (package
 * trust checks a packaged file against dpkg's MD5): before the first step
 * only. santa_sha256_stream_md5 gives it once the stream ended (false
 * before, or when not asked for).
 */
int santa_sha256_stream_add_md5(struct santa_sha256_stream *s);
bool santa_sha256_stream_md5(const struct santa_sha256_stream *s, uint8_t md5[16]);

/* Opens path read-only (O_NOFOLLOW unless follow) and hashes it. Returns 0 or -errno. */
int santa_sha256_path(const char *path, int follow, uint8_t digest[SANTA_SHA256_LEN]);

int santa_sha256_buf(const void *buf, size_t len, uint8_t digest[SANTA_SHA256_LEN]);

/* Lower-case hex, NUL-terminated: hex must hold SANTA_SHA256_HEX_LEN + 1 bytes. */
void santa_sha256_to_hex(const uint8_t digest[SANTA_SHA256_LEN], char *hex);

/* Parses 64 hex digits (either case). Returns 0 or -EINVAL. */
int santa_sha256_from_hex(const char *hex, uint8_t digest[SANTA_SHA256_LEN]);

#endif
