/*
 * santactl: Santa's command line; output follows Santa's (docs/santactl.md),
 * adapted where Linux differs. One file per command (santactl.h); this one
 * only finds the command and runs it. Exit codes: 0 success, 1 failure
 * (santad unreachable, refused, bad arguments), 2 a command that needs root
 * run by another user, 128 unknown command.
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "santactl.h"

#define EXIT_UNKNOWN 128

static const struct command {
	const char *name;
	const char *summary;
	int (*run)(struct santactl *ctl, int argc, char **argv);
	void (*usage)(FILE *out);
} commands[] = {
	{ "bundleinfo", "Hashes the bundle (package or application tree) of a file.",
	  cmd_bundleinfo, bundleinfo_usage },
	{ "checkcache", "Prints the status of a file in the cache.", cmd_checkcache,
	  checkcache_usage },
	{ "fileinfo", "Prints information about a file.", cmd_fileinfo, fileinfo_usage },
	{ "flushcache", "Flush the santad decision cache and kernel ignore marks.", cmd_flushcache,
	  flushcache_usage },
	{ "metrics", "Show Santa metric information.", cmd_metrics, metrics_usage },
	{ "printlog", "Prints the events waiting for upload to the sync server.", cmd_printlog,
	  printlog_usage },
	{ "rule", "Manually add/remove/check rules.", cmd_rule, rule_usage },
	{ "status", "Show Santa status information.", cmd_status, status_usage },
	{ "sync", "Synchronizes Santa with a configured server.", cmd_sync, sync_usage },
	{ "version", "Show Santa component versions.", cmd_version, version_usage },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
print_commands(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: santactl:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "\t%10s - %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nSee 'santactl help <command>' to read about a specific subcommand.\n");
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

static bool
is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	struct santactl ctl = { 0 };
	int k, r;

	/* Nobody of the same uid may ptrace a santactl to borrow its validated connection. */
	prctl(PR_SET_DUMPABLE, 0);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || strcmp(argv[1], "usage") == 0 || strcmp(argv[1], "commands") == 0) {
		print_commands(stdout);
		return 1;
	}
	if (strcmp(argv[1], "help") == 0 || is_help(argv[1])) {
		if (argc > 2) {
			printf("Help for '%s':\n", argv[2]);
			cmd = find_command(argv[2]);
			if (cmd)
				cmd->usage(stdout);
			else
				print_commands(stdout);
			return 1; /* as Santa's `santactl help CMD` */
		}
		print_commands(stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "Unknown command: %s\n", argv[1]);
		return EXIT_UNKNOWN;
	}
	/* Anywhere among the arguments, even where it would be an option's value. */
	for (k = 2; k < argc; k++) {
		if (is_help(argv[k])) {
			cmd->usage(stdout);
			return 0;
		}
	}
	santactl_load_config(&ctl);
	r = cmd->run(&ctl, argc - 1, argv + 1);
	ipc_conn_unref(ctl.conn);
	sd_event_unref(ctl.event);
	santa_config_free(&ctl.cfg);
	return r;
}
