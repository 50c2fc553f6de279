/*
 * santad: the root daemon. This first slice loads and checks the
 * configuration; enforcement (fanotify, decisions, event log) is built on it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "santa/config.h"
#include "santa/log.h"

struct santad_ctx {
	struct santa_log log;
	struct santa_config cfg;
	const char *config_path;
	const char *root;
	bool config_path_given;
	bool check_config;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"Usage: santad [OPTIONS]\n"
		"\n"
		"Santa's daemon: decides which programs may run.\n"
		"\n"
		"  -c, --config PATH   configuration file (default %s)\n"
		"      --root DIR      place default state, log and socket paths under DIR (tests)\n"
		"  -t, --check-config  check the configuration, print the effective values, exit\n"
		"  -d, --debug         debug logging\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n",
		SANTA_DEFAULT_CONFIG_PATH);
}

static void
log_config_diag(void *userdata, int level, const char *file, unsigned int line, const char *msg)
{
	struct santad_ctx *ctx = userdata;

	santa_log(&ctx->log, level, "%s:%u: %s", file, line, msg);
}

static void
print_config(const struct santa_config *cfg)
{
	printf("ConfigFile                = %s\n", cfg->source_path ? cfg->source_path : "(defaults)");
	printf("ClientMode                = %s\n", santa_mode_to_string(cfg->client_mode));
	printf("FailClosed                = %s\n", cfg->fail_closed ? "true" : "false");
	printf("AllowedPathRegex          = %s\n", cfg->allowed_path_regex ? cfg->allowed_path_regex : "");
	printf("BlockedPathRegex          = %s\n", cfg->blocked_path_regex ? cfg->blocked_path_regex : "");
	printf("EventLogType              = %s\n", santa_event_log_type_to_string(cfg->event_log_type));
	printf("EventLogPath              = %s\n", cfg->event_log_path);
	printf("RulesDBPath               = %s\n", cfg->rules_db_path);
	printf("EventsDBPath              = %s\n", cfg->events_db_path);
	printf("RunDirectory              = %s\n", cfg->run_directory);
	printf("DecisionTimeoutMs         = %lld\n", (long long)cfg->decision_timeout_ms);
	printf("EnableKernelIgnoreMarks   = %s\n", cfg->enable_kernel_ignore_marks ? "true" : "false");
	printf("SyncBaseURL               = %s\n", cfg->sync_base_url ? cfg->sync_base_url : "");
	printf("StaticRules               = %zu\n", cfg->n_static_rules);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'R' },
		{ "check-config", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct santad_ctx ctx = { .config_path = SANTA_DEFAULT_CONFIG_PATH };
	int level = LOG_INFO, opt, r;

	while ((opt = getopt_long(argc, argv, "c:tdhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			ctx.config_path = optarg;
			ctx.config_path_given = true;
			break;
		case 'R':
			ctx.root = optarg;
			break;
		case 't':
			ctx.check_config = true;
			break;
		case 'd':
			level = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("santad %s\n", SANTA_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "santad: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	santa_log_init(&ctx.log, "santad", SANTA_LOG_STDERR, level);

	r = santa_config_init(&ctx.cfg, ctx.root);
	if (r < 0) {
		santa_log_errno(&ctx.log, LOG_ERR, r, "Failed to set up the default configuration: %m");
		return 1;
	}
	r = santa_config_load(&ctx.cfg, ctx.config_path, log_config_diag, &ctx);
	if (r == -ENOENT && !ctx.config_path_given) {
		santa_log(&ctx.log, LOG_NOTICE, "%s does not exist: using the defaults",
			  ctx.config_path);
	} else if (r < 0) {
		if (r == -EINVAL)
			santa_log(&ctx.log, LOG_ERR, "%s has errors (above); fix them and start again",
				  ctx.config_path);
		else
			santa_log_errno(&ctx.log, LOG_ERR, r, "Failed to read %s: %m", ctx.config_path);
		santa_config_free(&ctx.cfg);
		return 1;
	}
	if (ctx.check_config) {
		print_config(&ctx.cfg);
		santa_config_free(&ctx.cfg);
		return 0;
	}
	santa_log(&ctx.log, LOG_ERR,
		  "enforcement is not built yet: run santad --check-config to check a configuration");
	santa_config_free(&ctx.cfg);
	return 1;
}
