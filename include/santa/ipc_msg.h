/*
 * IPC messages: a fixed header and a body that is a typed dictionary, as XPC
 * dictionaries are (int64, bool, string, data, array, dict, fd). A program
 * builds and reads messages; a connection (santa/ipc.h) sets their header
 * and encodes them. The codec (lib/ipc/ipc-wire-internal.h) is a pure
 * function over bytes and fds, so the decoder is fed hostile input directly
 * (tests/fuzz/fuzz_ipc_decode.c).
 *
 * Wire format, little-endian:
 *   header (32 bytes): magic u16 'S''A' | version u8 | flags u8 | type u16 |
 *     fd count u16 | request id u64 | body length u32 | reserved u32 (0) |
 *     session token u64
 *   body: one value, which must be a dict:
 *     tag u8 then 1 int64 (8 bytes) | 2 bool (1 byte, 0 or 1) |
 *     3 string (u32 length, bytes, no NUL) | 4 data (u32 length, bytes) |
 *     5 array (u32 count, values) | 6 dict (u32 count, (u8 key length, key, value)...) |
 *     7 fd (u32 index into the fds sent with the message; each used once)
 */
#ifndef SANTA_IPC_MSG_H
#define SANTA_IPC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_PROTOCOL_VERSION 1
#define IPC_HEADER_SIZE      32

/* Caps on what a peer can make us allocate or hold. */
#define IPC_MAX_BODY       (128 * 1024) /* fits one SOCK_SEQPACKET datagram */
#define IPC_MAX_MSG        (IPC_HEADER_SIZE + IPC_MAX_BODY)
#define IPC_MAX_DEPTH      16
#define IPC_MAX_CONTAINER  16384 /* entries in one array or dict */
#define IPC_MAX_NODES      32768 /* values in one message */
#define IPC_MAX_FDS        8
#define IPC_MAX_KEY_LEN    255

/* Header flags. */
#define IPC_FLAG_REPLY  0x01 /* answers the request with the same id */
#define IPC_FLAG_ERROR  0x02 /* a reply saying the request failed: body has "errno", "error" */
#define IPC_FLAG_ONEWAY 0x04 /* an event: no reply expected */

/* Message types below this are the library's own (handshake). */
#define IPC_TYPE_FIRST_USER 16

enum ipc_value_type {
	IPC_INT64 = 1,
	IPC_BOOL = 2,
	IPC_STRING = 3,
	IPC_DATA = 4,
	IPC_ARRAY = 5,
	IPC_DICT = 6,
	IPC_FD = 7,
};

struct ipc_value;
struct ipc_msg;

/* A message of the given type with an empty dict body, or NULL on ENOMEM. */
struct ipc_msg *ipc_msg_new(uint16_t type);
/* Frees the message, closing every fd it still owns. NULL is fine. */
void ipc_msg_free(struct ipc_msg *msg);

uint16_t ipc_msg_type(const struct ipc_msg *msg);
uint8_t ipc_msg_flags(const struct ipc_msg *msg);
/* The body dict: add to it with the ipc_dict_* calls. */
struct ipc_value *ipc_msg_body(struct ipc_msg *msg);
const struct ipc_value *ipc_msg_body_const(const struct ipc_msg *msg);

/*
 * Building. Each returns 0, -ENOMEM, -EINVAL (dict is not a dict, key empty
 * or too long, string with a NUL), -EEXIST (key already present) or -E2BIG
 * (container full). ipc_dict_put_fd takes ownership of fd even on failure.
 */
int ipc_dict_put_int(struct ipc_value *dict, const char *key, int64_t v);
int ipc_dict_put_bool(struct ipc_value *dict, const char *key, bool v);
int ipc_dict_put_string(struct ipc_value *dict, const char *key, const char *s);
int ipc_dict_put_data(struct ipc_value *dict, const char *key, const void *p, size_t len);
int ipc_dict_put_fd(struct ipc_value *dict, const char *key, int fd);
/* New empty container (type IPC_DICT or IPC_ARRAY) under key; NULL on any of the errors above. */
struct ipc_value *ipc_dict_put_container(struct ipc_value *dict, const char *key,
					 enum ipc_value_type type);

int ipc_array_add_int(struct ipc_value *array, int64_t v);
int ipc_array_add_string(struct ipc_value *array, const char *s);
struct ipc_value *ipc_array_add_dict(struct ipc_value *array);

/*
 * Reading. The get functions return 0, -ENOENT (no such key) or -EBADMSG
 * (present with another type), so a handler can tell a peer's mistake apart.
 * Pointers stay valid as long as the message.
 */
int ipc_dict_get_int(const struct ipc_value *dict, const char *key, int64_t *out);
int ipc_dict_get_bool(const struct ipc_value *dict, const char *key, bool *out);
int ipc_dict_get_string(const struct ipc_value *dict, const char *key, const char **out);
int ipc_dict_get_data(const struct ipc_value *dict, const char *key, const void **p,
		      size_t *len);
/* type is IPC_DICT or IPC_ARRAY (-EINVAL otherwise): the container under key. */
int ipc_dict_get_container(const struct ipc_value *dict, const char *key, enum ipc_value_type type,
			   const struct ipc_value **out);
/* Moves the fd out of the message (the caller closes it). Returns the fd or -errno. */
int ipc_dict_take_fd(struct ipc_value *dict, const char *key);

enum ipc_value_type ipc_value_type(const struct ipc_value *v);
size_t ipc_container_len(const struct ipc_value *v); /* array or dict entries */
const struct ipc_value *ipc_array_at(const struct ipc_value *array, size_t i);
/* Entry i of a dict: its key, and its value in *value. */
const char *ipc_dict_key_at(const struct ipc_value *dict, size_t i,
			    const struct ipc_value **value);
int64_t ipc_value_int(const struct ipc_value *v);
const char *ipc_value_string(const struct ipc_value *v);

#endif
