/*
 * lib/ipc round trips: one server process, 1 or 16 client processes each
 * sending small requests back to back. Prints p50/p99 latency and messages
 * per second for each client count. Not a test: nothing is asserted.
 *
 *   ipc_bench [REQUESTS_PER_CLIENT]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "santa/ipc.h"

#define T_PING IPC_TYPE_FIRST_USER

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
on_ping(struct ipc_conn *conn, struct ipc_msg *msg, void *userdata)
{
	struct ipc_msg *reply = ipc_msg_new(T_PING);
	int64_t seq = 0;

	ipc_dict_get_int(ipc_msg_body(msg), "seq", &seq);
	ipc_dict_put_int(ipc_msg_body(reply), "seq", seq);
	ipc_conn_reply(conn, msg, reply);
	ipc_msg_free(msg);
}

static void
serve(const char *path, int ready_fd)
{
	struct ipc_listener_handlers h = { .conn_handlers = { .on_message = on_ping } };
	struct ipc_allowlist list = { 0 };
	struct ipc_listener *l;
	sd_event *event;

	char self[4096];
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if (ipc_allowlist_add(&list, "bench", self) < 0 || sd_event_new(&event) < 0 ||
	    ipc_listener_new(event, -1, path, 0600, &list, &h, NULL, &l) < 0) {
		fprintf(stderr, "server setup failed (run as root from a root-owned build)\n");
		_exit(1);
	}
	(void)!write(ready_fd, "r", 1);
	sd_event_loop(event);
	_exit(0);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One client: n sequential round trips, latencies written to out. */
static void
client(const char *path, int n, uint64_t *out)
{
	struct ipc_msg *msg, *reply;
	struct ipc_conn *conn;
	sd_event *event;
	char why[256];
	uint64_t t0;
	int i;

	if (sd_event_new(&event) < 0 ||
	    ipc_conn_connect(event, path, "bench", 0, NULL, NULL, NULL, &conn, why, sizeof(why)) <
		    0) {
		fprintf(stderr, "connect: %s\n", why);
		_exit(1);
	}
	for (i = 0; i < n; i++) {
		msg = ipc_msg_new(T_PING);
		ipc_dict_put_int(ipc_msg_body(msg), "seq", i);
		t0 = now_ns();
		if (ipc_conn_call(conn, msg, 0, &reply) < 0)
			_exit(2);
		out[i] = now_ns() - t0;
		ipc_msg_free(reply);
	}
	ipc_conn_unref(conn);
	sd_event_unref(event);
}

static void
run(const char *path, int clients, int n)
{
	uint64_t *lat, t0, wall;
	pid_t pids[64];
	int c, status;
	size_t total = (size_t)clients * (size_t)n;

	lat = mmap(NULL, total * sizeof(*lat), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (lat == MAP_FAILED)
		exit(1);
	t0 = now_ns();
	for (c = 0; c < clients; c++) {
		pids[c] = fork();
		if (pids[c] == 0) {
			client(path, n, lat + (size_t)c * (size_t)n);
			_exit(0);
		}
	}
	for (c = 0; c < clients; c++)
		waitpid(pids[c], &status, 0);
	wall = now_ns() - t0;
	qsort(lat, total, sizeof(*lat), cmp_u64);
	printf("%2d client%s: %zu round trips, p50 %6.1f us, p99 %6.1f us, %8.0f messages/s "
	       "(request + reply = 2 messages per round trip: %8.0f round trips/s)\n",
	       clients, clients == 1 ? " " : "s", total, lat[total / 2] / 1000.0,
	       lat[total * 99 / 100] / 1000.0, 2.0 * (double)total * 1e9 / (double)wall,
	       (double)total * 1e9 / (double)wall);
	munmap(lat, total * sizeof(*lat));
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000, ready[2];
	char path[] = "/tmp/santa-ipc-bench-XXXXXX";
	char sock[64];
	pid_t server;
	char c;

	if (!mkdtemp(path) || pipe(ready) < 0)
		return 1;
	snprintf(sock, sizeof(sock), "%s/bench.sock", path);
	server = fork();
	if (server == 0)
		serve(sock, ready[1]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		return 1;
	printf("lib/ipc round trips on %ld CPUs (server: 1 process, 1 sd_event loop)\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	run(sock, 1, n);
	run(sock, 16, n / 4 > 0 ? n / 4 : 1);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	unlink(sock);
	rmdir(path);
	return 0;
}
