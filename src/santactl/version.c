/*
 * santactl version: the versions of Santa's components, santad's as the
 * running santad says, santa-gui's as SantaGUIPath answers --version.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "santa/path.h"
#include "santa/santad_proto.h"
#include "santactl.h"

void
version_usage(FILE *out)
{
	fputs("Usage: santactl version [--json]\n"
	      "  The versions of Santa's components: santad's as the running santad\n"
	      "  says (unknown if it cannot be asked), santa-gui's as SantaGUIPath\n"
	      "  answers --version.\n", out);
}

/*
 * santad's version as the running santad reports it (SANTAD_VERSION): the
 * daemon enforcing now, not the binary on disk (a package upgrade does not
 * restart it by itself). "unknown" when it cannot be asked, and why on stderr.
 */
static void
santad_version(struct santactl *ctl, char *buf, size_t size)
{
	struct ipc_msg *reply = NULL;
	const char *v = NULL, *text = NULL;
	int r;

	snprintf(buf, size, "unknown");
	if (santactl_connect(ctl, true) < 0) {
		fprintf(stderr, "santactl: santad is not running (or refused santactl): its version is "
				"unknown\n");
		return;
	}
	r = ipc_conn_call(ctl->conn, ipc_msg_new(SANTAD_VERSION), 5 * 1000 * 1000ULL, &reply);
	if (r < 0) {
		if (reply)
			ipc_msg_error(reply, &text);
		fprintf(stderr, "santactl: santad did not give its version: %s\n",
			text ? text : strerror(-r));
	} else if (ipc_dict_get_string(ipc_msg_body_const(reply), "version", &v) == 0 && v[0]) {
		snprintf(buf, size, "%s", v);
	}
	ipc_msg_free(reply);
}

#define GUI_VERSION_USEC (2 * 1000 * 1000LL)
#define GUI_VERSION_OUTPUT 256

/*
 * The installed agent's version: what SantaGUIPath answers to --version, as
 * Santa reads the installed Santa.app's. santad cannot say: the agent of the
 * console user may be another build, or none may run. Only a file only root
 * can have written is run (santactl may be root), with no environment and its
 * output and time bounded; anything else is "unknown", and why on stderr.
 */
static void
gui_version(const struct santactl *ctl, char *buf, size_t size)
{
	static char *const gui_argv[] = { "santa-gui", "--version", NULL };
	static char *const no_env[] = { NULL };
	const char *path = ctl->cfg.santa_gui_path;
	char out[GUI_VERSION_OUTPUT];
	int fd = -1, p[2] = { -1, -1 }, status;
	size_t len = 0;
	struct stat st;
	pid_t child = -1;
	struct timespec start, now;
	ssize_t n;

	snprintf(buf, size, "unknown");
	if (!path || !path[0])
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "santactl: no santa-gui at %s (%s)\n", path, strerror(errno));
		goto out;
	}
	if (!santa_stat_is_root_trusted(&st) || !(st.st_mode & S_IXUSR)) {
		fprintf(stderr, "santactl: %s is not root's executable, writable by root alone: "
				"not run\n", path);
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		goto out;
	child = fork();
	if (child < 0)
		goto out;
	if (child == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		/* Open across the exec: a script's interpreter reads the file as /dev/fd/N. */
		if (fcntl(fd, F_SETFD, 0) < 0)
			_exit(127);
		fexecve(fd, gui_argv, no_env);
		_exit(127);
	}
	close(p[1]);
	p[1] = -1;
	/* Read until end of file, a full buffer or the deadline: an agent that hangs costs 2 s. */
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		long long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = GUI_VERSION_USEC - ((now.tv_sec - start.tv_sec) * 1000000LL +
					   (now.tv_nsec - start.tv_nsec) / 1000);
		if (left <= 0 || len == sizeof(out) - 1)
			break;
		if (poll(&pfd, 1, (int)(left / 1000) + 1) < 0 && errno != EINTR)
			break;
		n = read(p[0], out + len, sizeof(out) - 1 - len);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			len += (size_t)n;
	}
	out[len] = '\0';
	/* "santa-gui VERSION\n", as santa-gui --version prints it. */
	if (strncmp(out, "santa-gui ", 10) == 0 && out[10] && !isspace((unsigned char)out[10])) {
		size_t vlen = strcspn(out + 10, " \t\r\n");

		/* A longer "version" is cut: it is only shown. */
		if (vlen >= size)
			vlen = size - 1;
		memcpy(buf, out + 10, vlen);
		buf[vlen] = '\0';
	} else {
		fprintf(stderr, "santactl: %s --version did not say its version\n", path);
	}
out:
	if (child > 0) {
		/* Ours: it may still run if it hung or wrote too much. */
		kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	if (fd >= 0)
		close(fd);
}

int
cmd_version(struct santactl *ctl, int argc, char **argv)
{
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	char daemon[128], gui[128];

	santad_version(ctl, daemon, sizeof(daemon));
	gui_version(ctl, gui, sizeof(gui));
	if (json) {
		json_t *root = json_pack("{s:s, s:s, s:s}", "santad", daemon, "santactl", SANTA_VERSION,
					 "SantaGUI", gui);

		if (!root)
			return 1;
		santactl_print_json(root);
		json_decref(root);
	} else {
		printf("%-15s | %s\n%-15s | %s\n%-15s | %s\n", "santad", daemon, "santactl",
		       SANTA_VERSION, "SantaGUI", gui);
	}
	return 0;
}

