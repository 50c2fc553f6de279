/*
 * santactl fileinfo: what Santa knows about files, in Santa's key names
 * where they apply on Linux (Path, SHA-256, Type, Rule) plus the owner and
 * mode that decide whether santad trusts a file enough to stop asking. The
 * Rule comes from santad (the decision it would make now); the hash is
 * computed here, so santad never opens a path a user names.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "santa/elf.h"
#include "santa/ipc.h"
#include "santa/path.h"
#include "santa/santad_proto.h"
#include "santa/sha256.h"
#include "santactl.h"

#define MAX_KEYS   8
#define MAX_DEPTH  64

static const char *const all_keys[] = { "Path", "SHA-256", "Type", "Owner", "Mode", "Rule" };

struct fileinfo_opts {
	const char *keys[MAX_KEYS];
	size_t n_keys;
	bool json, recursive;
	bool first_json;
	bool progress; /* stderr is a terminal and many files are walked */
	unsigned long files;
};

static const char *
elf_machine(unsigned int m)
{
	switch (m) {
	case EM_X86_64:
		return "x86-64";
	case EM_386:
		return "i386";
	case EM_AARCH64:
		return "arm64";
	case EM_ARM:
		return "arm";
	case EM_RISCV:
		return "riscv";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390x";
	default:
		return "unknown machine";
	}
}

/* "Executable (ELF 64-bit, x86-64)", "Shared Library (...)", "Script (/bin/sh)", "Unknown". */
static void
file_type(int fd, char *out, size_t size)
{
	unsigned char buf[4096];
	struct santa_elf_info elf;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	snprintf(out, size, "Unknown");
	if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
		buf[n] = '\0';
		buf[strcspn((char *)buf, "\n")] = '\0';
		snprintf(out, size, "Script (%s)", (char *)buf + 2 + strspn((char *)buf + 2, " \t"));
		return;
	}
	if (santa_elf_read(fd, &elf) < 0)
		return;
	snprintf(out, size, "%s (ELF %s, %s)",
		 santa_elf_is_program(&elf) ? "Executable"
		 : elf.type == ET_DYN	    ? "Shared Library"
		 : elf.type == ET_REL	    ? "Object File"
					    : "ELF",
		 elf.is64 ? "64-bit" : "32-bit", elf_machine(elf.machine));
}

/* The decision santad would make, as Santa's fileinfo words it. */
static void
rule_text(struct santactl *ctl, const char *path, const char *sha, char *out, size_t size)
{
	struct ipc_msg *req, *reply = NULL;
	const char *verdict = "", *reason = "";
	int r;

	if (!ctl->conn && (ctl->connect_failed || santactl_connect(ctl, true) < 0)) {
		ctl->connect_failed = true;
		snprintf(out, size, "Could not communicate with daemon");
		return;
	}
	req = ipc_msg_new(SANTAD_FILEINFO);
	ipc_dict_put_string(ipc_msg_body(req), "sha256", sha);
	ipc_dict_put_string(ipc_msg_body(req), "path", path);
	r = ipc_conn_call(ctl->conn, req, 5 * 1000 * 1000ULL, &reply);
	if (r < 0) {
		snprintf(out, size, "Could not communicate with daemon");
		ipc_msg_free(reply);
		return;
	}
	ipc_dict_get_string(ipc_msg_body(reply), "verdict", &verdict);
	ipc_dict_get_string(ipc_msg_body(reply), "reason", &reason);
	snprintf(out, size, "%s (%s)", strcmp(verdict, "DENY") == 0 ? "Blocked" : "Allowed",
		 strcmp(reason, "BINARY") == 0	      ? "Binary"
		 : strcmp(reason, "SCOPE") == 0      ? "Scope"
		 : strcmp(reason, "COMPILER") == 0   ? "Compiler"
		 : strcmp(reason, "TRANSITIVE") == 0 ? "Transitive"
						     : "Unknown");
	ipc_msg_free(reply);
}

static bool
wanted(const struct fileinfo_opts *o, const char *key)
{
	size_t i;

	if (o->n_keys == 0)
		return true;
	for (i = 0; i < o->n_keys; i++)
		if (strcmp(o->keys[i], key) == 0)
			return true;
	return false;
}

static void
show_file(struct santactl *ctl, struct fileinfo_opts *o, const char *path)
{
	char sha[SANTA_SHA256_HEX_LEN + 1], type[256], owner[128], mode[16], rule[128];
	const char *values[6];
	uint8_t digest[SANTA_SHA256_LEN];
	struct passwd *pw;
	struct group *gr;
	struct stat st;
	size_t i, width = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		if (fd < 0 && errno == ENOENT)
			fprintf(stderr, "File does not exist: %s\n", path);
		else
			fprintf(stderr, "Invalid or empty file: %s\n", path);
		if (fd >= 0)
			close(fd);
		return;
	}
	r = santa_sha256_fd(fd, digest, NULL);
	if (r < 0) {
		fprintf(stderr, "Invalid or empty file: %s (%s)\n", path, strerror(-r));
		close(fd);
		return;
	}
	santa_sha256_to_hex(digest, sha);
	file_type(fd, type, sizeof(type));
	close(fd);
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	snprintf(owner, sizeof(owner), "%s:%s", pw ? pw->pw_name : "?", gr ? gr->gr_name : "?");
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	rule[0] = '\0';
	if (wanted(o, "Rule"))
		rule_text(ctl, path, sha, rule, sizeof(rule));
	values[0] = path, values[1] = sha, values[2] = type;
	values[3] = owner, values[4] = mode, values[5] = rule;

	if (o->json) {
		json_t *obj = json_object();
		size_t k;

		for (k = 0; k < (o->n_keys ? o->n_keys : 6); k++) {
			const char *key = o->n_keys ? o->keys[k] : all_keys[k];

			for (i = 0; i < 6; i++)
				if (strcmp(all_keys[i], key) == 0 && values[i][0])
					json_object_set_new(obj, key, json_string(values[i]));
		}
		printf("%s", o->first_json ? "[\n" : ",\n");
		o->first_json = false;
		json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(obj);
	} else if (o->n_keys == 1) {
		for (i = 0; i < 6; i++)
			if (strcmp(all_keys[i], o->keys[0]) == 0)
				printf("%s\n", values[i]);
	} else {
		for (i = 0; i < 6; i++)
			if (wanted(o, all_keys[i]) && strlen(all_keys[i]) > width)
				width = strlen(all_keys[i]);
		for (i = 0; i < (o->n_keys ? o->n_keys : 6); i++) {
			const char *key = o->n_keys ? o->keys[i] : all_keys[i];
			size_t k;

			for (k = 0; k < 6; k++)
				if (strcmp(all_keys[k], key) == 0 && values[k][0])
					printf("%-*s: %s\n", (int)width, key, values[k]);
		}
		printf("\n");
	}
	o->files++;
	if (o->progress && o->files % 100 == 0)
		fprintf(stderr, "\r%lu files...", o->files);
}

static void
walk(struct santactl *ctl, struct fileinfo_opts *o, const char *path, int depth)
{
	char child[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dir;

	if (lstat(path, &st) < 0) {
		fprintf(stderr, "File does not exist: %s\n", path);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (S_ISREG(st.st_mode) && st.st_size > 0)
			show_file(ctl, o, path);
		return;
	}
	if (depth >= MAX_DEPTH || !(dir = opendir(path)))
		return;
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (santa_path_join(child, sizeof(child), path, de->d_name) == 0)
			walk(ctl, o, child, depth + 1);
	}
	closedir(dir);
}

void
fileinfo_usage(FILE *out)
{
	fprintf(out,
		"Usage: santactl fileinfo [options] [file-paths]\n"
		"    --json: output in JSON format\n"
		"    --key {key}: only show this key (repeatable): Path, SHA-256, Type, Owner,\n"
		"        Mode, Rule\n"
		"    --recursive (-r): search directories recursively\n"
		"  The Rule is the decision santad would make for the file now.\n");
}

int
cmd_fileinfo(struct santactl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "key", required_argument, NULL, 'k' },
		{ "recursive", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct fileinfo_opts o = { .first_json = true };
	char abs[PATH_MAX], cwd[PATH_MAX];
	struct stat st;
	int opt, i;
	size_t k;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "r", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			o.json = true;
			break;
		case 'r':
			o.recursive = true;
			break;
		case 'k':
			for (k = 0; k < 6 && strcmp(all_keys[k], optarg) != 0; k++)
				;
			if (k == 6 || o.n_keys >= MAX_KEYS) {
				fprintf(stderr, "Invalid key: %s\n\n", optarg);
				fileinfo_usage(stderr);
				return 1;
			}
			o.keys[o.n_keys++] = all_keys[k];
			break;
		default:
			fprintf(stderr, "\n");
			fileinfo_usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "santactl fileinfo: at least one path is needed\n\n");
		fileinfo_usage(stderr);
		return 1;
	}
	o.progress = o.recursive && isatty(STDERR_FILENO);
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';
	for (i = optind; i < argc; i++) {
		if (argv[i][0] != '/' && cwd[0])
			santa_path_join(abs, sizeof(abs), cwd, argv[i]);
		else
			snprintf(abs, sizeof(abs), "%s", argv[i]);
		if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode) && !o.recursive) {
			fprintf(stderr, "%s is a directory.  Use the -r flag to search recursively.\n",
				abs);
			continue;
		}
		walk(ctl, &o, abs, 0);
	}
	if (o.json)
		printf("%s\n", o.first_json ? "[]" : "\n]");
	if (o.progress)
		fprintf(stderr, "\r%lu files.   \n", o.files);
	return 0;
}
