/*
 * santactl fileinfo: what Santa knows about files, in Santa's key names
 * where they apply on Linux (Path, SHA-256, Team ID, Signing ID, Type, Rule,
 * Signing Chain) plus the owner and mode that decide whether santad trusts a
 * file enough to stop asking, and the package that installed it. The Rule
 * comes from santad (the decision it would make now); the hash and the
 * package identity are computed here, so santad never opens a path a user
 * names. The package identity (docs/package-trust.md) stands for Santa's
 * code signature: the archive's signing keys are the "Signing Chain".
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
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "santa/elf.h"
#include "santa/ipc.h"
#include "santa/path.h"
#include "santa/pkgtrust.h"
#include "santa/santad_proto.h"
#include "santa/sha256.h"
#include "santactl.h"

#define MAX_KEYS   16
#define MAX_DEPTH  64

enum { K_PATH, K_SHA256, K_TEAMID, K_SIGNINGID, K_TYPE, K_OWNER, K_MODE, K_PACKAGE, K_RULE, K_CHAIN,
       N_KEYS };
static const char *const all_keys[N_KEYS] = { "Path", "SHA-256", "Team ID", "Signing ID", "Type",
					       "Owner", "Mode", "Package", "Rule", "Signing Chain" };

#define MAX_FILTERS 16

struct fileinfo_filter {
	int key; /* index in all_keys */
	pcre2_code *re;
};

struct fileinfo_opts {
	struct santa_pkgtrust *trust; /* loaded at the first file that needs it */
	bool trust_tried;
	struct fileinfo_filter filters[MAX_FILTERS];
	size_t n_filters;
	bool filter_inclusive; /* every filter must match, not any */
	bool cert_index_set;
	long cert_index; /* 0..n-1 from the signing key, -1..-n from the other end */
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

static void
put_ids(struct ipc_value *body, const char *key, const char *ids, size_t stride, size_t n)
{
	struct ipc_value *array;
	size_t i;

	if (!n || !(array = ipc_dict_put_container(body, key, IPC_ARRAY)))
		return;
	for (i = 0; i < n; i++)
		ipc_array_add_string(array, ids + i * stride);
}

static const char *
reason_words(const char *reason)
{
	static const struct {
		const char *reason, *words;
	} map[] = {
		{ "BINARY", "Binary" },	      { "CERT", "Certificate" }, { "TEAMID", "TeamID" },
		{ "SIGNINGID", "SigningID" }, { "SCOPE", "Scope" },	 { "COMPILER", "Compiler" },
		{ "TRANSITIVE", "Transitive" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].reason, reason) == 0)
			return map[i].words;
	return "Unknown";
}

/* The decision santad would make, as Santa's fileinfo words it. */
static void
rule_text(struct santactl *ctl, const char *path, const char *sha,
	  const struct santa_pkg_identity *id, char *out, size_t size)
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
	if (id) {
		ipc_dict_put_string(ipc_msg_body(req), "package", id->package);
		put_ids(ipc_msg_body(req), "signing_ids", id->signing_ids[0],
			sizeof(id->signing_ids[0]), id->n_signing_ids);
		put_ids(ipc_msg_body(req), "certificates", id->certificates[0],
			sizeof(id->certificates[0]), id->n_certificates);
		put_ids(ipc_msg_body(req), "team_ids", id->team_ids[0], sizeof(id->team_ids[0]),
			id->n_team_ids);
	}
	r = ipc_conn_call(ctl->conn, req, 5 * 1000 * 1000ULL, &reply);
	if (r < 0) {
		snprintf(out, size, "Could not communicate with daemon");
		ipc_msg_free(reply);
		return;
	}
	ipc_dict_get_string(ipc_msg_body(reply), "verdict", &verdict);
	ipc_dict_get_string(ipc_msg_body(reply), "reason", &reason);
	snprintf(out, size, "%s (%s)", strcmp(verdict, "DENY") == 0 ? "Blocked" : "Allowed",
		 reason_words(reason));
	ipc_msg_free(reply);
}

static bool
wanted(const struct fileinfo_opts *o, const char *key)
{
	size_t i;

	if (o->n_keys == 0 || o->cert_index_set)
		return true;
	for (i = 0; i < o->n_filters; i++)
		if (strcmp(all_keys[o->filters[i].key], key) == 0)
			return true;
	for (i = 0; i < o->n_keys; i++)
		if (strcmp(o->keys[i], key) == 0)
			return true;
	return false;
}

/* santactl reads dpkg's and apt's files as santad does, with santad's configured paths. */
struct santa_pkgtrust *
santactl_load_trust(struct santactl *ctl)
{
	struct santa_pkgtrust_paths paths = {
		.dpkg = { .admindir = ctl->cfg.package_trust_dpkg_dir, .root = "" },
		.apt = { .lists_dir = ctl->cfg.package_trust_apt_lists_dir },
	};
	const char **keyrings, **platform;
	struct santa_pkgtrust *trust = NULL;
	char why[512] = "";
	size_t i;

	if (!ctl->cfg.enable_package_trust) {
		fprintf(stderr, "Package identities unavailable: EnablePackageTrust is off\n");
		return NULL;
	}
	/* The config's lists are not NULL-terminated: copy them into ones that are. */
	keyrings = calloc(ctl->cfg.package_trust_keyrings.n + 1, sizeof(*keyrings));
	platform = calloc(ctl->cfg.package_trust_platform_keyrings.n + 1, sizeof(*platform));
	if (!keyrings || !platform) {
		snprintf(why, sizeof(why), "out of memory");
		goto out;
	}
	for (i = 0; i < ctl->cfg.package_trust_keyrings.n; i++)
		keyrings[i] = ctl->cfg.package_trust_keyrings.items[i];
	for (i = 0; i < ctl->cfg.package_trust_platform_keyrings.n; i++)
		platform[i] = ctl->cfg.package_trust_platform_keyrings.items[i];
	paths.apt.keyrings = keyrings;
	paths.apt.platform_keyrings = platform;
	if (santa_pkgtrust_load(&paths, &trust, why, sizeof(why)) < 0)
		trust = NULL;
out:
	if (!trust)
		fprintf(stderr, "Package identities unavailable: %s\n", why);
	free(keyrings);
	free(platform);
	return trust;
}

enum santa_pkg_verdict
santactl_identify_fd(const struct santa_pkgtrust *trust, int fd, const struct stat *st,
		     struct santa_pkg_identity *id)
{
	char canonical[PATH_MAX], fdpath[64];
	ssize_t n;

	/* The path as the kernel names the open file, as santad sees it at exec. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	n = readlink(fdpath, canonical, sizeof(canonical) - 1);
	if (n <= 0 || (size_t)n >= sizeof(canonical) - 1)
		return SANTA_PKG_NOT_PACKAGED;
	canonical[n] = '\0';
	return santa_pkgtrust_identify_fd(trust, fd, st, canonical, NULL, id, NULL);
}

static const struct santa_pkgtrust *
trust_of(struct santactl *ctl, struct fileinfo_opts *o)
{
	if (!o->trust_tried) {
		o->trust_tried = true;
		o->trust = santactl_load_trust(ctl);
	}
	return o->trust;
}

/* One "Signing Chain" entry per key that signed an archive listing the package. */
static json_t *
chain_json(const struct santa_pkg_identity *id)
{
	json_t *chain = json_array();
	size_t i, j, k;

	for (i = 0; chain && i < id->n_archives; i++) {
		const struct santa_apt_archive *a = id->archives[i];

		for (j = 0; j < a->n_signers; j++) {
			const struct santa_apt_signer *sg = &a->signers[j];
			char archive[3 * SANTA_APT_FIELD_MAX + 8];
			bool dup = false;
			json_t *cert;

			for (k = 0; k < json_array_size(chain); k++)
				dup |= strcmp(json_string_value(json_object_get(
						      json_array_get(chain, k), "SHA-256")),
					      sg->certificate) == 0;
			if (dup)
				continue;
			snprintf(archive, sizeof(archive), "%s%s%s", a->label[0] ? a->label : a->origin,
				 a->suite[0] ? " " : "", a->suite);
			cert = json_object();
			json_object_set_new(cert, "SHA-256", json_string(sg->certificate));
			/* A v4 key's fingerprint is the SHA-1 of the key, as a certificate's SHA-1 is. */
			if (strlen(sg->fpr_hex) == 40)
				json_object_set_new(cert, "SHA-1", json_string(sg->fpr_hex));
			else
				json_object_set_new(cert, "Fingerprint", json_string(sg->fpr_hex));
			if (strcmp(sg->fpr_hex, sg->primary_fpr_hex) != 0)
				json_object_set_new(cert, "Primary Key", json_string(sg->primary_fpr_hex));
			json_object_set_new(cert, "Common Name", json_string(sg->uid));
			json_object_set_new(cert, "Organization", json_string(a->origin));
			json_object_set_new(cert, "Organizational Unit", json_string(sg->team_id));
			json_object_set_new(cert, "Archive", json_string(archive));
			json_array_append_new(chain, cert);
		}
	}
	return chain;
}

static void
print_chain(const json_t *chain)
{
	static const char *const keys[] = { "SHA-256",	   "SHA-1",	   "Fingerprint",
					     "Primary Key", "Common Name", "Organization",
					     "Organizational Unit", "Archive" };
	size_t i, k;

	printf("Signing Chain:\n");
	for (i = 0; i < json_array_size(chain); i++) {
		const json_t *cert = json_array_get(chain, i);
		bool first = true;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *v = json_string_value(json_object_get(cert, keys[k]));

			if (!v)
				continue;
			if (first)
				printf("    %zu. %-20s: %s\n", i + 1, keys[k], v);
			else
				printf("       %-20s: %s\n", keys[k], v);
			first = false;
		}
		if (i + 1 < json_array_size(chain))
			printf("\n");
	}
}

/* Santa's --filter: a regex (case-insensitive, unanchored) on a key's value; any, or with --filter-inclusive all. */
static bool
filters_pass(const struct fileinfo_opts *o, const char *const *values)
{
	size_t i, matched = 0;

	if (!o->n_filters)
		return true;
	for (i = 0; i < o->n_filters; i++) {
		const char *v = values[o->filters[i].key];
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(o->filters[i].re, NULL);

		if (md && pcre2_match(o->filters[i].re, (PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED, 0, 0, md,
				      NULL) >= 0)
			matched++;
		pcre2_match_data_free(md);
	}
	return o->filter_inclusive ? matched == o->n_filters : matched > 0;
}

/* Santa's --cert-index: one entry of the Signing Chain, by its certificate keys. */
static void
print_cert(struct fileinfo_opts *o, const json_t *chain)
{
	long n = (long)json_array_size(chain), i = o->cert_index < 0 ? n + o->cert_index : o->cert_index;
	const json_t *cert;
	const char *key;
	json_t *value;
	size_t width = 0;

	if (i < 0 || i >= n)
		return;
	cert = json_array_get(chain, (size_t)i);
	if (o->json) {
		printf("%s", o->first_json ? "[\n" : ",\n");
		o->first_json = false;
		json_dumpf(cert, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		return;
	}
	json_object_foreach((json_t *)cert, key, value)
		if (strlen(key) > width)
			width = strlen(key);
	json_object_foreach((json_t *)cert, key, value)
		printf("%-*s: %s\n", (int)width, key, json_string_value(value));
	printf("\n");
}

static void
show_file(struct santactl *ctl, struct fileinfo_opts *o, const char *path)
{
	char sha[SANTA_SHA256_HEX_LEN + 1], type[256], owner[128], mode[16], rule[128];
	char package[SANTA_PKG_NAME_MAX + SANTA_PKG_VERSION_MAX + 96];
	const char *values[N_KEYS] = { 0 };
	uint8_t digest[SANTA_SHA256_LEN];
	struct santa_pkg_identity *id = NULL;
	const struct santa_pkgtrust *trust = NULL;
	json_t *chain = NULL;
	struct passwd *pw;
	struct group *gr;
	struct stat st;
	size_t i, width = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		if (fd < 0 && errno == ENOENT)
			fprintf(stderr, "File does not exist: %s\n", path);
		else if (fd < 0)
			fprintf(stderr, "Cannot read %s: %s\n", path, strerror(errno));
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
	package[0] = '\0';
	if (wanted(o, "Team ID") || wanted(o, "Signing ID") || wanted(o, "Package") ||
	    wanted(o, "Rule") || wanted(o, "Signing Chain"))
		trust = trust_of(ctl, o);
	if (trust && (id = malloc(sizeof(*id)))) {
		enum santa_pkg_verdict v = santactl_identify_fd(trust, fd, &st, id);

		if (v == SANTA_PKG_VERIFIED) {
			snprintf(package, sizeof(package), "%s %s (%s)%s", id->package, id->version,
				 id->arch, id->n_archives ? "" : ", in no archive apt trusts");
			if (id->n_team_ids)
				values[K_TEAMID] = id->team_ids[0];
			if (id->n_signing_ids)
				values[K_SIGNINGID] = id->signing_ids[0];
			chain = chain_json(id);
		} else {
			if (v != SANTA_PKG_NOT_PACKAGED)
				snprintf(package, sizeof(package), "None (%s)",
					 santa_pkg_verdict_to_string(v));
			free(id);
			id = NULL;
		}
	}
	close(fd);
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	snprintf(owner, sizeof(owner), "%s:%s", pw ? pw->pw_name : "?", gr ? gr->gr_name : "?");
	snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	rule[0] = '\0';
	if (wanted(o, "Rule"))
		rule_text(ctl, path, sha, id, rule, sizeof(rule));
	values[K_PATH] = path, values[K_SHA256] = sha, values[K_TYPE] = type;
	values[K_OWNER] = owner, values[K_MODE] = mode, values[K_RULE] = rule;
	values[K_PACKAGE] = package;
	for (i = 0; i < N_KEYS; i++)
		if (!values[i])
			values[i] = "";
	if (!chain || json_array_size(chain) == 0)
		values[K_CHAIN] = "";
	else
		values[K_CHAIN] = "chain";
	if (!filters_pass(o, values))
		goto done;
	if (o->cert_index_set) {
		print_cert(o, chain);
		goto done;
	}

	if (o->json) {
		json_t *obj = json_object();
		size_t k;

		for (k = 0; k < (o->n_keys ? o->n_keys : N_KEYS); k++) {
			const char *key = o->n_keys ? o->keys[k] : all_keys[k];

			for (i = 0; i < N_KEYS; i++) {
				if (strcmp(all_keys[i], key) != 0 || !values[i][0])
					continue;
				if (i == K_CHAIN)
					json_object_set(obj, key, chain);
				else
					json_object_set_new(obj, key, json_string(values[i]));
			}
		}
		printf("%s", o->first_json ? "[\n" : ",\n");
		o->first_json = false;
		json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(obj);
	} else if (o->n_keys == 1 && strcmp(o->keys[0], "Signing Chain") != 0) {
		for (i = 0; i < N_KEYS; i++)
			if (strcmp(all_keys[i], o->keys[0]) == 0)
				printf("%s\n", values[i]);
	} else {
		for (i = 0; i < N_KEYS; i++)
			if (i != K_CHAIN && wanted(o, all_keys[i]) && strlen(all_keys[i]) > width)
				width = strlen(all_keys[i]);
		for (i = 0; i < (o->n_keys ? o->n_keys : N_KEYS); i++) {
			const char *key = o->n_keys ? o->keys[i] : all_keys[i];
			size_t k;

			for (k = 0; k < N_KEYS; k++) {
				if (strcmp(all_keys[k], key) != 0 || !values[k][0])
					continue;
				if (k == K_CHAIN)
					print_chain(chain);
				else
					printf("%-*s: %s\n", (int)width, key, values[k]);
			}
		}
		printf("\n");
	}
done:
	json_decref(chain);
	free(id);
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
		if (errno == ENOENT || errno == ENOTDIR)
			fprintf(stderr, "File does not exist: %s\n", path);
		else
			fprintf(stderr, "Cannot read %s: %s\n", path, strerror(errno));
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
		"    --key {key}: only show this key (repeatable): Path, SHA-256, Team ID,\n"
		"        Signing ID, Type, Owner, Mode, Package, Rule, Signing Chain\n"
		"    --recursive (-r): search directories recursively\n"
		"    --filter {key}={regex}: only files whose key matches regex (case-insensitive;\n"
		"        repeatable: any filter, or with --filter-inclusive every filter)\n"
		"    --cert-index {n}: one entry of the Signing Chain (0: the signing key;\n"
		"        -1: the last), by its certificate keys\n"
		"  The Rule is the decision santad would make for the file now. Team ID,\n"
		"  Signing ID and Signing Chain come from the package that installed the\n"
		"  file and the keys that signed its archive (docs/package-trust.md).\n");
}

int
cmd_fileinfo(struct santactl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "key", required_argument, NULL, 'k' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "filter", required_argument, NULL, 'f' },
		{ "filter-inclusive", no_argument, NULL, 'i' },
		{ "cert-index", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct fileinfo_opts o = { .first_json = true };
	char abs[PATH_MAX], cwd[PATH_MAX];
	struct stat st;
	int opt, i, rc = 0;
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
		case 'f': {
			const char *eq = strchr(optarg, '=');
			PCRE2_UCHAR msg[256];
			PCRE2_SIZE off;
			int err;

			for (k = 0; eq && k < N_KEYS; k++)
				if (strlen(all_keys[k]) == (size_t)(eq - optarg) &&
				    strncmp(all_keys[k], optarg, (size_t)(eq - optarg)) == 0)
					break;
			if (!eq || k == N_KEYS || k == K_CHAIN || o.n_filters >= MAX_FILTERS) {
				fprintf(stderr, "Invalid filter: %s (KEY=regex, a key other than "
						"Signing Chain; at most %d)\n\n", optarg, MAX_FILTERS);
				fileinfo_usage(stderr);
				rc = 1;
				goto out;
			}
			o.filters[o.n_filters].key = (int)k;
			o.filters[o.n_filters].re = pcre2_compile((PCRE2_SPTR)(eq + 1), PCRE2_ZERO_TERMINATED,
								  PCRE2_CASELESS, &err, &off, NULL);
			if (!o.filters[o.n_filters].re) {
				pcre2_get_error_message(err, msg, sizeof(msg));
				fprintf(stderr, "Invalid filter regex %s: %s at offset %zu\n", eq + 1,
					(const char *)msg, (size_t)off);
				rc = 1;
				goto out;
			}
			o.n_filters++;
			break;
		}
		case 'i':
			o.filter_inclusive = true;
			break;
		case 'c': {
			char *end;

			errno = 0;
			o.cert_index = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "Invalid cert-index: %s\n\n", optarg);
				fileinfo_usage(stderr);
				rc = 1;
				goto out;
			}
			o.cert_index_set = true;
			break;
		}
		case 'k':
			for (k = 0; k < N_KEYS && strcmp(all_keys[k], optarg) != 0; k++)
				;
			if (k == N_KEYS || o.n_keys >= MAX_KEYS) {
				fprintf(stderr, "Invalid key: %s\n\n", optarg);
				fileinfo_usage(stderr);
				rc = 1;
				goto out;
			}
			o.keys[o.n_keys++] = all_keys[k];
			break;
		default:
			fprintf(stderr, "\n");
			fileinfo_usage(stderr);
			rc = 1;
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "santactl fileinfo: at least one path is needed\n\n");
		fileinfo_usage(stderr);
		rc = 1;
		goto out;
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
out:
	for (k = 0; k < o.n_filters; k++)
		pcre2_code_free(o.filters[k].re);
	santa_pkgtrust_free(o.trust);
	return rc;
}
