/*
 * The message model and its codec. Nothing here does I/O: encode writes bytes
 * and collects fds, decode reads bytes and adopts fds, and every count,
 * length and depth a peer sends is checked against a cap before it is used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc-wire-internal.h"

#define IPC_MAGIC 0x4153 /* "SA" as little-endian bytes 'S' 'A' */

struct ipc_entry {
	char *key;
	struct ipc_value *value;
};

struct ipc_value {
	enum ipc_value_type type;
	union {
		int64_t i;
		bool b;
		int fd; /* -1 once taken */
		struct {
			uint8_t *p; /* strings keep a NUL after len bytes */
			uint32_t len;
		} bytes;
		struct {
			struct ipc_value **items;
			uint32_t n, cap;
		} array;
		struct {
			struct ipc_entry *items;
			uint32_t n, cap;
		} dict;
	} u;
};

struct ipc_msg {
	uint16_t type;
	uint8_t flags;
	uint64_t request_id;
	uint64_t session;
	struct ipc_value *body;
};

static struct ipc_value *
value_new(enum ipc_value_type type)
{
	struct ipc_value *v = calloc(1, sizeof(*v));

	if (v) {
		v->type = type;
		if (type == IPC_FD)
			v->u.fd = -1;
	}
	return v;
}

static void
value_free(struct ipc_value *v)
{
	uint32_t i;

	if (!v)
		return;
	switch (v->type) {
	case IPC_STRING:
	case IPC_DATA:
		free(v->u.bytes.p);
		break;
	case IPC_ARRAY:
		for (i = 0; i < v->u.array.n; i++)
			value_free(v->u.array.items[i]);
		free(v->u.array.items);
		break;
	case IPC_DICT:
		for (i = 0; i < v->u.dict.n; i++) {
			free(v->u.dict.items[i].key);
			value_free(v->u.dict.items[i].value);
		}
		free(v->u.dict.items);
		break;
	case IPC_FD:
		if (v->u.fd >= 0)
			close(v->u.fd);
		break;
	default:
		break;
	}
	free(v);
}

struct ipc_msg *
ipc_msg_new(uint16_t type)
{
	struct ipc_msg *msg = calloc(1, sizeof(*msg));

	if (!msg)
		return NULL;
	msg->type = type;
	msg->body = value_new(IPC_DICT);
	if (!msg->body) {
		free(msg);
		return NULL;
	}
	return msg;
}

void
ipc_msg_free(struct ipc_msg *msg)
{
	if (!msg)
		return;
	value_free(msg->body);
	free(msg);
}

uint16_t
ipc_msg_type(const struct ipc_msg *msg)
{
	return msg->type;
}

uint8_t
ipc_msg_flags(const struct ipc_msg *msg)
{
	return msg->flags;
}

uint64_t
ipc_msg_request_id(const struct ipc_msg *msg)
{
	return msg->request_id;
}

uint64_t
ipc_msg_session(const struct ipc_msg *msg)
{
	return msg->session;
}

struct ipc_value *
ipc_msg_body(struct ipc_msg *msg)
{
	return msg->body;
}

const struct ipc_value *
ipc_msg_body_const(const struct ipc_msg *msg)
{
	return msg->body;
}

void
ipc_msg_set_header(struct ipc_msg *msg, uint8_t flags, uint64_t request_id, uint64_t session)
{
	msg->flags = flags;
	msg->request_id = request_id;
	msg->session = session;
}

/* ---- building ---- */

static int
check_key(const char *key)
{
	size_t len;

	if (!key)
		return -EINVAL;
	len = strlen(key);
	return len == 0 || len > IPC_MAX_KEY_LEN ? -EINVAL : 0;
}

/* Adds v under key, taking ownership of v in every case. */
static int
dict_put(struct ipc_value *dict, const char *key, struct ipc_value *v)
{
	struct ipc_entry *items;
	uint32_t i, cap;
	int r;

	if (!v)
		return -ENOMEM;
	r = check_key(key);
	if (r < 0 || !dict || dict->type != IPC_DICT) {
		r = -EINVAL;
		goto fail;
	}
	for (i = 0; i < dict->u.dict.n; i++) {
		if (strcmp(dict->u.dict.items[i].key, key) == 0) {
			r = -EEXIST;
			goto fail;
		}
	}
	if (dict->u.dict.n >= IPC_MAX_CONTAINER) {
		r = -E2BIG;
		goto fail;
	}
	if (dict->u.dict.n == dict->u.dict.cap) {
		cap = dict->u.dict.cap ? dict->u.dict.cap * 2 : 8;
		items = realloc(dict->u.dict.items, cap * sizeof(*items));
		if (!items) {
			r = -ENOMEM;
			goto fail;
		}
		dict->u.dict.items = items;
		dict->u.dict.cap = cap;
	}
	dict->u.dict.items[dict->u.dict.n].key = strdup(key);
	if (!dict->u.dict.items[dict->u.dict.n].key) {
		r = -ENOMEM;
		goto fail;
	}
	dict->u.dict.items[dict->u.dict.n].value = v;
	dict->u.dict.n++;
	return 0;
fail:
	value_free(v);
	return r;
}

static int
array_put(struct ipc_value *array, struct ipc_value *v)
{
	struct ipc_value **items;
	uint32_t cap;
	int r;

	if (!v)
		return -ENOMEM;
	if (!array || array->type != IPC_ARRAY) {
		r = -EINVAL;
		goto fail;
	}
	if (array->u.array.n >= IPC_MAX_CONTAINER) {
		r = -E2BIG;
		goto fail;
	}
	if (array->u.array.n == array->u.array.cap) {
		cap = array->u.array.cap ? array->u.array.cap * 2 : 8;
		items = realloc(array->u.array.items, cap * sizeof(*items));
		if (!items) {
			r = -ENOMEM;
			goto fail;
		}
		array->u.array.items = items;
		array->u.array.cap = cap;
	}
	array->u.array.items[array->u.array.n++] = v;
	return 0;
fail:
	value_free(v);
	return r;
}

static struct ipc_value *
int_new(int64_t i)
{
	struct ipc_value *v = value_new(IPC_INT64);

	if (v)
		v->u.i = i;
	return v;
}

/* A string or data value holding a copy of p; strings get a trailing NUL. */
static struct ipc_value *
bytes_new(enum ipc_value_type type, const void *p, size_t len)
{
	struct ipc_value *v;

	if (len > IPC_MAX_BODY)
		return NULL;
	v = value_new(type);
	if (!v)
		return NULL;
	v->u.bytes.p = malloc(len + 1);
	if (!v->u.bytes.p) {
		free(v);
		return NULL;
	}
	if (len)
		memcpy(v->u.bytes.p, p, len);
	v->u.bytes.p[len] = '\0';
	v->u.bytes.len = (uint32_t)len;
	return v;
}

int
ipc_dict_put_int(struct ipc_value *dict, const char *key, int64_t v)
{
	return dict_put(dict, key, int_new(v));
}

int
ipc_dict_put_bool(struct ipc_value *dict, const char *key, bool b)
{
	struct ipc_value *v = value_new(IPC_BOOL);

	if (v)
		v->u.b = b;
	return dict_put(dict, key, v);
}

int
ipc_dict_put_string(struct ipc_value *dict, const char *key, const char *s)
{
	if (!s)
		return -EINVAL;
	return dict_put(dict, key, bytes_new(IPC_STRING, s, strlen(s)));
}

int
ipc_dict_put_data(struct ipc_value *dict, const char *key, const void *p, size_t len)
{
	if (len > IPC_MAX_BODY)
		return -E2BIG;
	return dict_put(dict, key, bytes_new(IPC_DATA, p, len));
}

int
ipc_dict_put_fd(struct ipc_value *dict, const char *key, int fd)
{
	struct ipc_value *v;

	if (fd < 0)
		return -EBADF;
	v = value_new(IPC_FD);
	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	v->u.fd = fd;
	return dict_put(dict, key, v);
}

struct ipc_value *
ipc_dict_put_container(struct ipc_value *dict, const char *key, enum ipc_value_type type)
{
	struct ipc_value *v;

	if (type != IPC_DICT && type != IPC_ARRAY)
		return NULL;
	v = value_new(type);
	return dict_put(dict, key, v) == 0 ? v : NULL;
}

int
ipc_array_add_int(struct ipc_value *array, int64_t v)
{
	return array_put(array, int_new(v));
}

int
ipc_array_add_string(struct ipc_value *array, const char *s)
{
	if (!s)
		return -EINVAL;
	return array_put(array, bytes_new(IPC_STRING, s, strlen(s)));
}

struct ipc_value *
ipc_array_add_dict(struct ipc_value *array)
{
	struct ipc_value *v = value_new(IPC_DICT);

	return array_put(array, v) == 0 ? v : NULL;
}

/* ---- reading ---- */

static const struct ipc_value *
dict_get(const struct ipc_value *dict, const char *key)
{
	uint32_t i;

	if (!dict || dict->type != IPC_DICT || !key)
		return NULL;
	for (i = 0; i < dict->u.dict.n; i++)
		if (strcmp(dict->u.dict.items[i].key, key) == 0)
			return dict->u.dict.items[i].value;
	return NULL;
}

static int
get_typed(const struct ipc_value *dict, const char *key, enum ipc_value_type type,
	  const struct ipc_value **out)
{
	const struct ipc_value *v = dict_get(dict, key);

	if (!v)
		return -ENOENT;
	if (v->type != type)
		return -EBADMSG;
	*out = v;
	return 0;
}

int
ipc_dict_get_int(const struct ipc_value *dict, const char *key, int64_t *out)
{
	const struct ipc_value *v;
	int r = get_typed(dict, key, IPC_INT64, &v);

	if (r == 0)
		*out = v->u.i;
	return r;
}

int
ipc_dict_get_bool(const struct ipc_value *dict, const char *key, bool *out)
{
	const struct ipc_value *v;
	int r = get_typed(dict, key, IPC_BOOL, &v);

	if (r == 0)
		*out = v->u.b;
	return r;
}

int
ipc_dict_get_string(const struct ipc_value *dict, const char *key, const char **out)
{
	const struct ipc_value *v;
	int r = get_typed(dict, key, IPC_STRING, &v);

	if (r == 0)
		*out = (const char *)v->u.bytes.p;
	return r;
}

int
ipc_dict_get_data(const struct ipc_value *dict, const char *key, const void **p, size_t *len)
{
	const struct ipc_value *v;
	int r = get_typed(dict, key, IPC_DATA, &v);

	if (r == 0) {
		*p = v->u.bytes.p;
		*len = v->u.bytes.len;
	}
	return r;
}

int
ipc_dict_get_container(const struct ipc_value *dict, const char *key, enum ipc_value_type type,
		       const struct ipc_value **out)
{
	if (type != IPC_DICT && type != IPC_ARRAY)
		return -EINVAL;
	return get_typed(dict, key, type, out);
}

int
ipc_dict_take_fd(struct ipc_value *dict, const char *key)
{
	const struct ipc_value *cv;
	struct ipc_value *v;
	int r = get_typed(dict, key, IPC_FD, &cv);
	int fd;

	if (r < 0)
		return r;
	v = (struct ipc_value *)cv; /* dict is mutable, so is what it holds */
	if (v->u.fd < 0)
		return -EBADF; /* taken already */
	fd = v->u.fd;
	v->u.fd = -1;
	return fd;
}

enum ipc_value_type
ipc_value_type(const struct ipc_value *v)
{
	return v->type;
}

size_t
ipc_container_len(const struct ipc_value *v)
{
	if (!v)
		return 0;
	if (v->type == IPC_ARRAY)
		return v->u.array.n;
	if (v->type == IPC_DICT)
		return v->u.dict.n;
	return 0;
}

const struct ipc_value *
ipc_array_at(const struct ipc_value *array, size_t i)
{
	if (!array || array->type != IPC_ARRAY || i >= array->u.array.n)
		return NULL;
	return array->u.array.items[i];
}

const char *
ipc_dict_key_at(const struct ipc_value *dict, size_t i, const struct ipc_value **value)
{
	if (!dict || dict->type != IPC_DICT || i >= dict->u.dict.n)
		return NULL;
	if (value)
		*value = dict->u.dict.items[i].value;
	return dict->u.dict.items[i].key;
}

int64_t
ipc_value_int(const struct ipc_value *v)
{
	return v && v->type == IPC_INT64 ? v->u.i : 0;
}

const char *
ipc_value_string(const struct ipc_value *v)
{
	return v && v->type == IPC_STRING ? (const char *)v->u.bytes.p : NULL;
}

/* ---- encoding ---- */

struct writer {
	uint8_t *buf;
	size_t pos, cap;
	int *fds;
	size_t n_fds;
	size_t nodes;
};

static int
put_bytes(struct writer *w, const void *p, size_t len)
{
	if (len > w->cap - w->pos)
		return -E2BIG;
	memcpy(w->buf + w->pos, p, len);
	w->pos += len;
	return 0;
}

static int
put_le(struct writer *w, uint64_t v, size_t width)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return put_bytes(w, b, width);
}

static int
encode_value(struct writer *w, const struct ipc_value *v, unsigned int depth)
{
	uint32_t i;
	size_t klen;
	int r;

	if (depth > IPC_MAX_DEPTH || ++w->nodes > IPC_MAX_NODES)
		return -E2BIG;
	r = put_le(w, v->type, 1);
	if (r < 0)
		return r;
	switch (v->type) {
	case IPC_INT64:
		return put_le(w, (uint64_t)v->u.i, 8);
	case IPC_BOOL:
		return put_le(w, v->u.b ? 1 : 0, 1);
	case IPC_STRING:
	case IPC_DATA:
		r = put_le(w, v->u.bytes.len, 4);
		return r < 0 ? r : put_bytes(w, v->u.bytes.p, v->u.bytes.len);
	case IPC_ARRAY:
		r = put_le(w, v->u.array.n, 4);
		for (i = 0; r == 0 && i < v->u.array.n; i++)
			r = encode_value(w, v->u.array.items[i], depth + 1);
		return r;
	case IPC_DICT:
		r = put_le(w, v->u.dict.n, 4);
		for (i = 0; r == 0 && i < v->u.dict.n; i++) {
			klen = strlen(v->u.dict.items[i].key);
			r = put_le(w, klen, 1);
			if (r == 0)
				r = put_bytes(w, v->u.dict.items[i].key, klen);
			if (r == 0)
				r = encode_value(w, v->u.dict.items[i].value, depth + 1);
		}
		return r;
	case IPC_FD:
		if (v->u.fd < 0)
			return -EBADF; /* taken out of the message already */
		if (w->n_fds >= IPC_MAX_FDS)
			return -E2BIG;
		w->fds[w->n_fds] = v->u.fd;
		return put_le(w, w->n_fds++, 4);
	}
	return -EINVAL;
}

int
ipc_msg_encode(const struct ipc_msg *msg, uint8_t *buf, size_t *len, int *fds, size_t *n_fds)
{
	struct writer w = { .buf = buf, .pos = IPC_HEADER_SIZE, .cap = IPC_MAX_MSG, .fds = fds };
	size_t body;
	int r;

	r = encode_value(&w, msg->body, 0);
	if (r < 0)
		return r;
	body = w.pos - IPC_HEADER_SIZE;
	w.pos = 0;
	put_le(&w, IPC_MAGIC, 2);
	put_le(&w, IPC_PROTOCOL_VERSION, 1);
	put_le(&w, msg->flags, 1);
	put_le(&w, msg->type, 2);
	put_le(&w, w.n_fds, 2);
	put_le(&w, msg->request_id, 8);
	put_le(&w, body, 4);
	put_le(&w, 0, 4);
	put_le(&w, msg->session, 8);
	*len = IPC_HEADER_SIZE + body;
	*n_fds = w.n_fds;
	return 0;
}

/* ---- decoding ---- */

struct reader {
	const uint8_t *buf;
	size_t pos, len;
	int *fds;
	size_t n_fds;
	bool fd_used[IPC_MAX_FDS];
	size_t nodes;
};

static int
get_le(struct reader *r, size_t width, uint64_t *out)
{
	size_t i;

	if (width > r->len - r->pos)
		return -EBADMSG;
	*out = 0;
	for (i = 0; i < width; i++)
		*out |= (uint64_t)r->buf[r->pos + i] << (8 * i);
	r->pos += width;
	return 0;
}

static int
cmp_entry_keys(const void *a, const void *b)
{
	return strcmp(((const struct ipc_entry *)a)->key, ((const struct ipc_entry *)b)->key);
}

/* Dict keys must be unique: sorted copy, then neighbours (n log n, not n^2). */
static int
check_unique_keys(const struct ipc_value *dict)
{
	struct ipc_entry *sorted;
	uint32_t i, n = dict->u.dict.n;
	int r = 0;

	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, dict->u.dict.items, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_entry_keys);
	for (i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1].key, sorted[i].key) == 0) {
			r = -EBADMSG;
			break;
		}
	}
	free(sorted);
	return r;
}

static int decode_value(struct reader *r, unsigned int depth, struct ipc_value **out);

static int
decode_container(struct reader *r, struct ipc_value *v, unsigned int depth)
{
	struct ipc_value *child = NULL;
	uint64_t count, klen;
	uint32_t i;
	char *key;
	int ret;

	ret = get_le(r, 4, &count);
	if (ret < 0)
		return ret;
	/* Each entry takes at least 2 bytes: refuse counts the remaining bytes cannot hold. */
	if (count > IPC_MAX_CONTAINER || count > (r->len - r->pos) / 2)
		return -EBADMSG;
	if (v->type == IPC_ARRAY) {
		v->u.array.items = calloc(count ? count : 1, sizeof(*v->u.array.items));
		if (!v->u.array.items)
			return -ENOMEM;
		v->u.array.cap = (uint32_t)count;
		for (i = 0; i < count; i++) {
			ret = decode_value(r, depth + 1, &child);
			if (ret < 0)
				return ret;
			v->u.array.items[v->u.array.n++] = child;
		}
		return 0;
	}
	v->u.dict.items = calloc(count ? count : 1, sizeof(*v->u.dict.items));
	if (!v->u.dict.items)
		return -ENOMEM;
	v->u.dict.cap = (uint32_t)count;
	for (i = 0; i < count; i++) {
		ret = get_le(r, 1, &klen);
		if (ret < 0)
			return ret;
		if (klen == 0 || klen > r->len - r->pos || memchr(r->buf + r->pos, 0, klen))
			return -EBADMSG;
		key = strndup((const char *)r->buf + r->pos, klen);
		if (!key)
			return -ENOMEM;
		r->pos += klen;
		ret = decode_value(r, depth + 1, &child);
		if (ret < 0) {
			free(key);
			return ret;
		}
		v->u.dict.items[v->u.dict.n].key = key;
		v->u.dict.items[v->u.dict.n].value = child;
		v->u.dict.n++;
	}
	return check_unique_keys(v);
}

static int
decode_value(struct reader *r, unsigned int depth, struct ipc_value **out)
{
	struct ipc_value *v = NULL;
	uint64_t tag, x = 0;
	int ret;

	if (depth > IPC_MAX_DEPTH || ++r->nodes > IPC_MAX_NODES)
		return -EBADMSG;
	ret = get_le(r, 1, &tag);
	if (ret < 0)
		return ret;
	if (tag < IPC_INT64 || tag > IPC_FD)
		return -EBADMSG;
	v = value_new((enum ipc_value_type)tag);
	if (!v)
		return -ENOMEM;
	switch (v->type) {
	case IPC_INT64:
		ret = get_le(r, 8, &x);
		v->u.i = (int64_t)x;
		break;
	case IPC_BOOL:
		ret = get_le(r, 1, &x);
		if (ret == 0 && x > 1)
			ret = -EBADMSG;
		v->u.b = x == 1;
		break;
	case IPC_STRING:
	case IPC_DATA:
		ret = get_le(r, 4, &x);
		if (ret < 0)
			break;
		if (x > r->len - r->pos ||
		    (v->type == IPC_STRING && memchr(r->buf + r->pos, 0, x))) {
			ret = -EBADMSG;
			break;
		}
		v->u.bytes.p = malloc(x + 1);
		if (!v->u.bytes.p) {
			ret = -ENOMEM;
			break;
		}
		memcpy(v->u.bytes.p, r->buf + r->pos, x);
		v->u.bytes.p[x] = '\0';
		v->u.bytes.len = (uint32_t)x;
		r->pos += x;
		break;
	case IPC_ARRAY:
	case IPC_DICT:
		ret = decode_container(r, v, depth);
		break;
	case IPC_FD:
		ret = get_le(r, 4, &x);
		if (ret < 0)
			break;
		if (x >= r->n_fds || r->fd_used[x]) {
			ret = -EBADMSG;
			break;
		}
		r->fd_used[x] = true;
		v->u.fd = r->fds[x];
		break;
	}
	if (ret < 0) {
		value_free(v);
		return ret;
	}
	*out = v;
	return 0;
}

/* Closes fds not adopted by a value (fd_used false), so no path leaks one. */
static void
close_unadopted(const struct reader *r, int *fds, size_t n_fds)
{
	size_t i;

	for (i = 0; i < n_fds; i++)
		if ((i >= IPC_MAX_FDS || !r->fd_used[i]) && fds[i] >= 0)
			close(fds[i]);
}

int
ipc_msg_decode(const uint8_t *buf, size_t len, int *fds, size_t n_fds, struct ipc_msg **out)
{
	struct reader r = { .buf = buf, .len = len, .fds = fds, .n_fds = n_fds };
	uint64_t magic, version, flags, type, hdr_fds, id, body, reserved, session;
	struct ipc_msg *msg = NULL;
	struct ipc_value *v = NULL;
	int ret;

	*out = NULL;
	if (n_fds > IPC_MAX_FDS || len < IPC_HEADER_SIZE || len > IPC_MAX_MSG) {
		ret = -EBADMSG;
		goto fail;
	}
	get_le(&r, 2, &magic);
	get_le(&r, 1, &version);
	get_le(&r, 1, &flags);
	get_le(&r, 2, &type);
	get_le(&r, 2, &hdr_fds);
	get_le(&r, 8, &id);
	get_le(&r, 4, &body);
	get_le(&r, 4, &reserved);
	get_le(&r, 8, &session);
	if (magic != IPC_MAGIC) {
		ret = -EBADMSG;
		goto fail;
	}
	if (version != IPC_PROTOCOL_VERSION) {
		ret = -EPROTO;
		goto fail;
	}
	if (body != len - IPC_HEADER_SIZE || hdr_fds != n_fds || reserved != 0 ||
	    (flags & ~(uint64_t)(IPC_FLAG_REPLY | IPC_FLAG_ERROR | IPC_FLAG_ONEWAY))) {
		ret = -EBADMSG;
		goto fail;
	}
	ret = decode_value(&r, 0, &v);
	if (ret < 0)
		goto fail;
	/* The body is a dict, fills the datagram exactly, and refers to every fd sent. */
	if (v->type != IPC_DICT || r.pos != len) {
		ret = -EBADMSG;
		goto fail;
	}
	for (size_t i = 0; i < n_fds; i++) {
		if (!r.fd_used[i]) {
			ret = -EBADMSG;
			goto fail;
		}
	}
	msg = calloc(1, sizeof(*msg));
	if (!msg) {
		ret = -ENOMEM;
		goto fail;
	}
	msg->type = (uint16_t)type;
	msg->flags = (uint8_t)flags;
	msg->request_id = id;
	msg->session = session;
	msg->body = v;
	*out = msg;
	return 0;
fail:
	/* value_free closes the fds the partial tree adopted; the rest are closed here. */
	value_free(v);
	close_unadopted(&r, fds, n_fds);
	return ret;
}
