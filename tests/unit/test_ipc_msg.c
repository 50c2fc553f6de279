/* IPC message model and codec: round trips, caps, and every class of malformed input. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc-wire-internal.h"

static uint8_t buf[IPC_MAX_MSG];

static int
count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static size_t
encode(struct ipc_msg *m, int *fds, size_t *n_fds)
{
	size_t len = 0;

	assert_int_equal(ipc_msg_encode(m, buf, &len, fds, n_fds), 0);
	return len;
}

static void
test_round_trip_all_types(void **state)
{
	struct ipc_msg *m = ipc_msg_new(42), *d = NULL;
	struct ipc_value *body = ipc_msg_body(m), *sub, *arr, *item;
	const struct ipc_value *gsub, *garr, *v;
	int pipefd[2], fds[IPC_MAX_FDS], dup_fds[IPC_MAX_FDS], fd;
	const char *s;
	const void *p;
	size_t len, n_fds = 0, dlen, i;
	int64_t iv;
	bool bv;
	char c;

	assert_int_equal(pipe(pipefd), 0);
	ipc_msg_set_header(m, IPC_FLAG_REPLY, 0x1122334455667788ull, 77);
	assert_int_equal(ipc_dict_put_int(body, "int", INT64_MIN), 0);
	assert_int_equal(ipc_dict_put_bool(body, "yes", true), 0);
	assert_int_equal(ipc_dict_put_string(body, "str", "h\xc3\xa9llo|=\n"), 0);
	assert_int_equal(ipc_dict_put_string(body, "empty", ""), 0);
	assert_int_equal(ipc_dict_put_data(body, "data", "\0\1\2\0", 4), 0);
	assert_int_equal(ipc_dict_put_fd(body, "fd", pipefd[0]), 0);
	sub = ipc_dict_put_container(body, "sub", IPC_DICT);
	assert_non_null(sub);
	assert_int_equal(ipc_dict_put_int(sub, "x", 7), 0);
	arr = ipc_dict_put_container(body, "arr", IPC_ARRAY);
	assert_non_null(arr);
	assert_int_equal(ipc_array_add_int(arr, 1), 0);
	assert_int_equal(ipc_array_add_string(arr, "two"), 0);
	item = ipc_array_add_dict(arr);
	assert_non_null(item);
	assert_int_equal(ipc_dict_put_bool(item, "three", false), 0);

	len = encode(m, fds, &n_fds);
	assert_int_equal(n_fds, 1);
	assert_int_equal(fds[0], pipefd[0]);
	for (i = 0; i < n_fds; i++)
		dup_fds[i] = dup(fds[i]); /* the kernel would hand the receiver its own copy */
	ipc_msg_free(m);

	assert_int_equal(ipc_msg_decode(buf, len, dup_fds, n_fds, &d), 0);
	assert_int_equal(ipc_msg_type(d), 42);
	assert_int_equal(ipc_msg_flags(d), IPC_FLAG_REPLY);
	assert_true(ipc_msg_request_id(d) == 0x1122334455667788ull);
	assert_int_equal(ipc_msg_session(d), 77);
	body = ipc_msg_body(d);
	assert_int_equal(ipc_dict_get_int(body, "int", &iv), 0);
	assert_true(iv == INT64_MIN);
	assert_int_equal(ipc_dict_get_bool(body, "yes", &bv), 0);
	assert_true(bv);
	assert_int_equal(ipc_dict_get_string(body, "str", &s), 0);
	assert_string_equal(s, "h\xc3\xa9llo|=\n");
	assert_int_equal(ipc_dict_get_string(body, "empty", &s), 0);
	assert_string_equal(s, "");
	assert_int_equal(ipc_dict_get_data(body, "data", &p, &dlen), 0);
	assert_int_equal(dlen, 4);
	assert_memory_equal(p, "\0\1\2\0", 4);
	assert_int_equal(ipc_dict_get_container(body, "sub", IPC_DICT, &gsub), 0);
	assert_int_equal(ipc_dict_get_int(gsub, "x", &iv), 0);
	assert_int_equal(iv, 7);
	assert_int_equal(ipc_dict_get_container(body, "arr", IPC_ARRAY, &garr), 0);
	assert_int_equal(ipc_container_len(garr), 3);
	assert_int_equal(ipc_value_int(ipc_array_at(garr, 0)), 1);
	assert_string_equal(ipc_value_string(ipc_array_at(garr, 1)), "two");
	v = ipc_array_at(garr, 2);
	assert_int_equal(ipc_value_type(v), IPC_DICT);
	assert_null(ipc_array_at(garr, 3));

	/* The fd works: what goes into the pipe comes out of the received copy. */
	fd = ipc_dict_take_fd(body, "fd");
	assert_true(fd >= 0);
	assert_int_equal(ipc_dict_take_fd(body, "fd"), -EBADF);
	assert_int_equal(write(pipefd[1], "z", 1), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'z');
	close(fd);
	close(pipefd[1]);
	ipc_msg_free(d);
}

static void
test_getters_distinguish_missing_and_wrong_type(void **state)
{
	struct ipc_msg *m = ipc_msg_new(20);
	struct ipc_value *body = ipc_msg_body(m);
	const struct ipc_value *v;
	const char *s;
	int64_t i;

	assert_int_equal(ipc_dict_put_string(body, "s", "x"), 0);
	assert_int_equal(ipc_dict_get_int(body, "s", &i), -EBADMSG);
	assert_int_equal(ipc_dict_get_int(body, "nope", &i), -ENOENT);
	assert_int_equal(ipc_dict_get_string(body, "s", &s), 0);
	assert_int_equal(ipc_dict_take_fd(body, "s"), -EBADMSG);
	/* A container asked for by the wrong container type is a peer's mistake too. */
	assert_non_null(ipc_dict_put_container(body, "a", IPC_ARRAY));
	assert_int_equal(ipc_dict_get_container(body, "a", IPC_DICT, &v), -EBADMSG);
	assert_int_equal(ipc_dict_get_container(body, "a", IPC_ARRAY, &v), 0);
	assert_int_equal(ipc_dict_get_container(body, "s", IPC_STRING, &v), -EINVAL);
	assert_null(ipc_dict_put_container(body, "i", IPC_INT64));
	assert_int_equal(ipc_dict_get_int(body, "i", &i), -ENOENT);
	ipc_msg_free(m);
}

static void
test_building_errors(void **state)
{
	struct ipc_msg *m = ipc_msg_new(20);
	struct ipc_value *body = ipc_msg_body(m), *arr;
	char long_key[IPC_MAX_KEY_LEN + 2];
	int before = count_open_fds(), fd, i;

	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	assert_int_equal(ipc_dict_put_int(body, "a", 1), 0);
	assert_int_equal(ipc_dict_put_int(body, "a", 2), -EEXIST);
	assert_int_equal(ipc_dict_put_int(body, "", 2), -EINVAL);
	assert_int_equal(ipc_dict_put_int(body, long_key, 2), -EINVAL);
	assert_int_equal(ipc_dict_put_string(body, "s", NULL), -EINVAL);
	arr = ipc_dict_put_container(body, "arr", IPC_ARRAY);
	assert_int_equal(ipc_dict_put_int(arr, "x", 1), -EINVAL); /* not a dict */
	assert_int_equal(ipc_array_add_int(body, 1), -EINVAL);    /* not an array */
	for (i = 0; i < IPC_MAX_CONTAINER; i++)
		assert_int_equal(ipc_array_add_int(arr, i), 0);
	assert_int_equal(ipc_array_add_int(arr, 0), -E2BIG);
	/* A rejected fd is closed, not leaked. */
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(ipc_dict_put_fd(body, "a", fd), -EEXIST);
	assert_int_equal(count_open_fds(), before);
	assert_int_equal(ipc_dict_put_fd(body, "bad", -1), -EBADF);
	ipc_msg_free(m);
}

static void
test_encode_caps(void **state)
{
	struct ipc_msg *m = ipc_msg_new(20);
	struct ipc_value *v = ipc_msg_body(m);
	int fds[IPC_MAX_FDS];
	size_t len, n;
	char *big;
	int i;

	/* Too deep. */
	for (i = 0; i <= IPC_MAX_DEPTH; i++)
		v = ipc_dict_put_container(v, "d", IPC_DICT);
	assert_int_equal(ipc_msg_encode(m, buf, &len, fds, &n), -E2BIG);
	ipc_msg_free(m);

	/* Too many fds. */
	m = ipc_msg_new(20);
	for (i = 0; i <= IPC_MAX_FDS; i++) {
		char key[8];

		snprintf(key, sizeof(key), "f%d", i);
		assert_int_equal(ipc_dict_put_fd(ipc_msg_body(m), key, open("/dev/null", O_RDONLY)),
				 0);
	}
	assert_int_equal(ipc_msg_encode(m, buf, &len, fds, &n), -E2BIG);
	ipc_msg_free(m);

	/* Too big for one datagram. */
	m = ipc_msg_new(20);
	big = calloc(1, IPC_MAX_BODY);
	assert_non_null(big);
	assert_int_equal(ipc_dict_put_data(ipc_msg_body(m), "big", big, IPC_MAX_BODY - 100), 0);
	assert_int_equal(ipc_dict_put_data(ipc_msg_body(m), "more", big, 200), 0);
	assert_int_equal(ipc_msg_encode(m, buf, &len, fds, &n), -E2BIG);
	free(big);
	ipc_msg_free(m);
}

/* ---- hostile bytes ---- */

/* Builds a datagram by hand: header fields, then raw body bytes. */
static size_t
raw(uint8_t *out, uint8_t version, uint8_t flags, uint16_t n_fds, uint32_t reserved,
    const void *body, size_t body_len, long body_len_override)
{
	uint32_t blen = body_len_override >= 0 ? (uint32_t)body_len_override : (uint32_t)body_len;

	memset(out, 0, IPC_HEADER_SIZE);
	out[0] = 'S';
	out[1] = 'A';
	out[2] = version;
	out[3] = flags;
	out[4] = 20;
	out[6] = (uint8_t)n_fds;
	memcpy(out + 16, &blen, 4);
	memcpy(out + 20, &reserved, 4);
	memcpy(out + IPC_HEADER_SIZE, body, body_len);
	return IPC_HEADER_SIZE + body_len;
}

/* Decoding must fail with want, and close every fd it was handed. */
static void
expect_bad(const uint8_t *data, size_t len, int n_fds, int want)
{
	struct ipc_msg *m = (struct ipc_msg *)0x1;
	int fds[IPC_MAX_FDS + 1], before, i;

	before = count_open_fds();
	for (i = 0; i < n_fds; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	assert_int_equal(ipc_msg_decode(data, len, fds, (size_t)n_fds, &m), want);
	assert_null(m);
	assert_int_equal(count_open_fds(), before);
}

static void
test_malformed_header(void **state)
{
	static const uint8_t empty_dict[] = { IPC_DICT, 0, 0, 0, 0 };
	uint8_t b[128] = { 0 };
	size_t n;

	expect_bad(b, 0, 0, -EBADMSG);
	n = raw(b, IPC_PROTOCOL_VERSION, 0, 0, 0, empty_dict, sizeof(empty_dict), -1);
	expect_bad(b, IPC_HEADER_SIZE - 1, 0, -EBADMSG); /* truncated header */
	b[0] = 'X';
	expect_bad(b, n, 0, -EBADMSG); /* magic */
	n = raw(b, 9, 0, 0, 0, empty_dict, sizeof(empty_dict), -1);
	expect_bad(b, n, 0, -EPROTO); /* version */
	n = raw(b, IPC_PROTOCOL_VERSION, 0x80, 0, 0, empty_dict, sizeof(empty_dict), -1);
	expect_bad(b, n, 0, -EBADMSG); /* unknown flag */
	n = raw(b, IPC_PROTOCOL_VERSION, 0, 0, 1, empty_dict, sizeof(empty_dict), -1);
	expect_bad(b, n, 0, -EBADMSG); /* reserved */
	n = raw(b, IPC_PROTOCOL_VERSION, 0, 0, 0, empty_dict, sizeof(empty_dict), 4);
	expect_bad(b, n, 0, -EBADMSG); /* length mismatch */
	n = raw(b, IPC_PROTOCOL_VERSION, 0, 1, 0, empty_dict, sizeof(empty_dict), -1);
	expect_bad(b, n, 0, -EBADMSG); /* header says 1 fd, none came */
	n = raw(b, IPC_PROTOCOL_VERSION, 0, 0, 0, empty_dict, sizeof(empty_dict), -1);
	expect_bad(b, n, 1, -EBADMSG); /* an fd came, header says none */
	expect_bad(b, n, IPC_MAX_FDS + 1, -EBADMSG);
}

static void
test_malformed_bodies(void **state)
{
	static const struct {
		const char *what;
		uint8_t body[40];
		size_t len;
		int n_fds;
	} cases[] = {
		{ "empty body", { 0 }, 0, 0 },
		{ "body is not a dict", { IPC_INT64, 1, 0, 0, 0, 0, 0, 0, 0 }, 9, 0 },
		{ "unknown tag", { 9 }, 1, 0 },
		{ "tag zero", { 0 }, 1, 0 },
		{ "truncated count", { IPC_DICT, 1, 0 }, 3, 0 },
		{ "count beyond data", { IPC_DICT, 0xff, 0xff, 0, 0 }, 5, 0 },
		{ "huge count", { IPC_DICT, 0xff, 0xff, 0xff, 0xff }, 5, 0 },
		{ "empty key", { IPC_DICT, 1, 0, 0, 0, 0, IPC_BOOL, 1 }, 8, 0 },
		{ "key beyond data", { IPC_DICT, 1, 0, 0, 0, 9, 'a' }, 7, 0 },
		{ "key with NUL", { IPC_DICT, 1, 0, 0, 0, 2, 'a', 0, IPC_BOOL, 1 }, 10, 0 },
		{ "bool 2", { IPC_DICT, 1, 0, 0, 0, 1, 'b', IPC_BOOL, 2 }, 9, 0 },
		{ "truncated int",
		  { IPC_DICT, 1, 0, 0, 0, 1, 'i', IPC_INT64, 1, 2, 3 }, 11, 0 },
		{ "string beyond data",
		  { IPC_DICT, 1, 0, 0, 0, 1, 's', IPC_STRING, 9, 0, 0, 0, 'x' }, 13, 0 },
		{ "string with NUL",
		  { IPC_DICT, 1, 0, 0, 0, 1, 's', IPC_STRING, 2, 0, 0, 0, 'x', 0 }, 14, 0 },
		{ "duplicate key",
		  { IPC_DICT, 2, 0, 0, 0, 1, 'a', IPC_BOOL, 1, 1, 'a', IPC_BOOL, 0 }, 13, 0 },
		{ "trailing bytes", { IPC_DICT, 0, 0, 0, 0, 0xaa }, 6, 0 },
		{ "fd index out of range",
		  { IPC_DICT, 1, 0, 0, 0, 1, 'f', IPC_FD, 1, 0, 0, 0 }, 12, 1 },
		{ "fd used twice",
		  { IPC_DICT, 2, 0, 0, 0, 1, 'f', IPC_FD, 0, 0, 0, 0, 1, 'g', IPC_FD, 0, 0, 0, 0 },
		  19, 1 },
		{ "fd sent but not referenced", { IPC_DICT, 0, 0, 0, 0 }, 5, 2 },
		{ "fd referenced, later error",
		  { IPC_DICT, 2, 0, 0, 0, 1, 'f', IPC_FD, 0, 0, 0, 0, 1, 'g', 99 }, 15, 1 },
	};
	uint8_t b[128];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].what);
		n = raw(b, IPC_PROTOCOL_VERSION, 0, (uint16_t)cases[i].n_fds, 0, cases[i].body,
			cases[i].len, -1);
		expect_bad(b, n, cases[i].n_fds, -EBADMSG);
	}
}

static void
test_depth_and_node_caps_on_decode(void **state)
{
	uint8_t *body = calloc(1, IPC_MAX_BODY), *msg = calloc(1, IPC_MAX_MSG), *p;
	size_t i, n;

	assert_non_null(body);
	assert_non_null(msg);
	/* IPC_MAX_DEPTH + 2 nested single-entry dicts. */
	p = body;
	for (i = 0; i < IPC_MAX_DEPTH + 2; i++) {
		*p++ = IPC_DICT;
		*p++ = 1, *p++ = 0, *p++ = 0, *p++ = 0;
		*p++ = 1, *p++ = 'd';
	}
	*p++ = IPC_BOOL;
	*p++ = 1;
	n = raw(msg, IPC_PROTOCOL_VERSION, 0, 0, 0, body, (size_t)(p - body), -1);
	expect_bad(msg, n, 0, -EBADMSG);

	/* More values than IPC_MAX_NODES: 16384 one-bool arrays in an array. */
	p = body;
	*p++ = IPC_DICT;
	*p++ = 1, *p++ = 0, *p++ = 0, *p++ = 0;
	*p++ = 1, *p++ = 'a';
	*p++ = IPC_ARRAY;
	*p++ = 0x00, *p++ = 0x40, *p++ = 0, *p++ = 0;
	for (i = 0; i < 16384; i++) {
		*p++ = IPC_ARRAY;
		*p++ = 1, *p++ = 0, *p++ = 0, *p++ = 0;
		*p++ = IPC_BOOL, *p++ = 1;
	}
	n = raw(msg, IPC_PROTOCOL_VERSION, 0, 0, 0, body, (size_t)(p - body), -1);
	assert_true(n <= IPC_MAX_MSG);
	expect_bad(msg, n, 0, -EBADMSG);
	free(body);
	free(msg);
}

/* Every prefix of a valid message is rejected cleanly, fds included. */
static void
test_every_truncation_rejected(void **state)
{
	struct ipc_msg *m = ipc_msg_new(30);
	struct ipc_value *body = ipc_msg_body(m);
	int fds[IPC_MAX_FDS];
	uint8_t copy[512];
	size_t len, n_fds, cut;

	assert_int_equal(ipc_dict_put_string(body, "path", "/usr/bin/true"), 0);
	assert_int_equal(ipc_dict_put_fd(body, "fd", open("/dev/null", O_RDONLY)), 0);
	assert_non_null(ipc_dict_put_container(body, "list", IPC_ARRAY));
	len = encode(m, fds, &n_fds);
	assert_true(len < sizeof(copy));
	memcpy(copy, buf, len);
	for (cut = 0; cut < len; cut++)
		expect_bad(copy, cut, (int)n_fds, -EBADMSG);
	ipc_msg_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all_types),
		cmocka_unit_test(test_getters_distinguish_missing_and_wrong_type),
		cmocka_unit_test(test_building_errors),
		cmocka_unit_test(test_encode_caps),
		cmocka_unit_test(test_malformed_header),
		cmocka_unit_test(test_malformed_bodies),
		cmocka_unit_test(test_depth_and_node_caps_on_decode),
		cmocka_unit_test(test_every_truncation_rejected),
	};

	return cmocka_run_group_tests_name("ipc_msg", tests, NULL, NULL);
}
