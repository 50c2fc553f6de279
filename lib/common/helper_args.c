/* The start of every helper's main (include/santa/helper_args.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "santa/helper_args.h"

static void
log_config_diag(void *userdata, int level, const char *file, unsigned int line, const char *msg)
{
	const struct santa_log *log = userdata;

	if (level <= LOG_ERR)
		santa_log(log, level, "%s:%u: %s", file, line, msg);
}

/* santad names the private channel it passes "santad" (LISTEN_FDNAMES). */
static bool
started_by_santad(void)
{
	const char *names = getenv("LISTEN_FDNAMES");
	const char *p = names;
	size_t len = strlen("santad");

	while (p && *p) {
		if (strncmp(p, "santad", len) == 0 && (p[len] == ':' || p[len] == '\0'))
			return true;
		p = strchr(p, ':');
		if (p)
			p++;
	}
	return false;
}

int
santa_helper_args(const char *name, int argc, char **argv, struct santa_log *log,
		  struct santa_config *cfg, const char **config_path)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int level = LOG_INFO, opt, r;

	*config_path = SANTA_DEFAULT_CONFIG_PATH;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:d", options, NULL)) != -1) {
		if (opt == 'c') {
			*config_path = optarg;
		} else if (opt == 'd') {
			level = LOG_DEBUG;
		} else {
			fprintf(stderr, "usage: %s [--config FILE] [--debug]\n", name);
			return 2;
		}
	}
	santa_log_init(log, name, SANTA_LOG_STDERR, level);
	r = santa_config_init(cfg, NULL);
	if (r < 0) {
		santa_log_errno(log, LOG_ERR, r, "cannot set up the configuration: %m");
		return 1;
	}
	/* Started by santad: everything comes from santad, santa.conf is not opened. */
	if (started_by_santad())
		return 0;
	/*
	 * Under a socket unit: santa.conf (when this user may read it) only says
	 * where santad.sock is; the settings still come from santad.
	 */
	r = santa_config_load(cfg, *config_path, log_config_diag, log);
	if (r == -EACCES || r == -ENOENT) {
		santa_config_free(cfg);
		return santa_config_init(cfg, NULL) < 0 ? 1 : 0;
	}
	if (r < 0) {
		santa_log_errno(log, LOG_ERR, r, "cannot use %s: %m", *config_path);
		return 1;
	}
	return 0;
}

int
santa_helper_harden(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	/* Old kernels have no ambient set, so nothing to clear there. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}
