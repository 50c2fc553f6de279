/*
 * santactl rule: add, remove and check rules one at a time, or import and
 * export them all as a JSON rule file (the sync protocol's spelling).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "santa/santad_proto.h"
#include "santa/sha256.h"
#include "santa/sync.h"
#include "santactl.h"

static const char *
type_label(enum santa_rule_type t)
{
	switch (t) {
	case SANTA_RULE_TYPE_BINARY:
		return "SHA-256";
	case SANTA_RULE_TYPE_CERTIFICATE:
		return "Certificate SHA-256";
	case SANTA_RULE_TYPE_TEAMID:
		return "Team ID";
	case SANTA_RULE_TYPE_SIGNINGID:
		return "Signing ID";
	case SANTA_RULE_TYPE_CDHASH:
		return "CDHash";
	default:
		return "?";
	}
}

static const char *
check_type_name(enum santa_rule_type t)
{
	static const char *const names[] = { "?", "Binary", "Certificate", "TeamID", "SigningID",
					     "CDHash" };

	return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

void
rule_usage(FILE *out)
{
	fprintf(out,
		"Usage: santactl rule [options]\n"
		"  One of:\n"
		"    --allow: add to allow\n"
		"    --block: add to block\n"
		"    --silent-block: add to silent block\n"
		"    --compiler: allow and mark as a compiler\n"
		"    --remove: remove existing rule\n"
		"    --check: check for an existing rule\n"
		"  One of:\n"
		"    --identifier {id}: identifier (SHA-256 for binary rules)\n"
		"    --sha256 {sha256}: deprecated spelling of --identifier\n"
		"    --path {path}: use the SHA-256 of the file at path, or with --signingid,\n"
		"        --teamid or --certificate the identifier of the package that installed it\n"
		"  Optionally:\n"
		"    --certificate, --teamid, --signingid, --cdhash: rule type (default binary;\n"
		"        signing types match packaged programs: docs/package-trust.md; cdhash\n"
		"        rules are stored and synced but have nothing on Linux to match)\n"
		"    --message {message}: custom message shown when blocked\n"
		"    --custom-url {url}: custom URL for the block notification\n"
		"  Or, alone:\n"
		"    --import {file}: add every rule of a JSON rule file, all or nothing\n"
		"        (--clean: replace every rule first; --clean-all: the same)\n"
		"    --export {file}: write every rule to a JSON rule file\n"
		"  The file: {\"rules\": [{\"identifier\", \"policy\", \"rule_type\",\n"
		"             \"custom_msg\", \"custom_url\"}, ...]}, as the sync protocol spells them.\n");
}

/* A misuse: why (printf-like), then the usage, on stderr. */
static int
rule_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
rule_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	rule_usage(stderr);
	return EXIT_USAGE;
}

/*
 * 0 if rules may be changed from here, else the exit code after saying why:
 * only root may, and not where the sync server's or the configuration's
 * rules would overwrite them.
 */
static int
rule_change_refused(const struct santactl *ctl)
{
	if (!santactl_is_root("rule"))
		return EXIT_NEEDS_ROOT;
	if (!ctl->cfg.sync_base_url && !ctl->cfg.n_static_rules)
		return 0;
	printf("(SyncBaseURL/StaticRules is set, rules are managed centrally.)");
	fflush(stdout);
	return 1;
}

#define RULE_FILE_MAX (256u * 1024 * 1024)
/*
 * santad answers a rule change once its writer thread committed it, which
 * may be behind a sync's million rules (seconds, at background priority).
 */
#define RULE_CHANGE_USEC (120 * 1000 * 1000ULL)

static int
rule_import(struct santactl *ctl, const char *file, const char *sync_type)
{
	struct sync_rule_page page = { 0 };
	struct ipc_msg *req, *reply;
	char why[512], *buf = NULL;
	size_t len = 0, i;
	int fd = -1, r = 1;
	FILE *f, *out = NULL;

	f = fopen(file, "re");
	if (!f) {
		fprintf(stderr, "santactl rule: cannot read %s: %s\n", file, strerror(errno));
		return 1;
	}
	buf = malloc(RULE_FILE_MAX + 1);
	if (buf)
		len = fread(buf, 1, RULE_FILE_MAX + 1, f);
	fclose(f);
	if (!buf || len > RULE_FILE_MAX) {
		fprintf(stderr, "santactl rule: %s is larger than %u bytes\n", file, RULE_FILE_MAX);
		goto out;
	}
	if (sync_parse_ruledownload(buf, len, &page, why, sizeof(why)) < 0) {
		fprintf(stderr, "Invalid rule file %s: %s\n", file, why);
		goto out;
	}
	if (page.skipped) {
		fprintf(stderr, "Invalid rule: %zu of the %zu rules in %s lack a valid identifier, "
				"policy or rule_type; nothing was imported\n",
			page.skipped, page.received, file);
		goto out;
	}
	if (page.n == 0) {
		fprintf(stderr, "No rules to import in %s.\n", file);
		goto out;
	}
	fd = memfd_create("santactl-import", MFD_CLOEXEC);
	out = fd >= 0 ? fdopen(dup(fd), "w") : NULL;
	for (i = 0; out && i < page.n; i++) {
		char *line = sync_rule_to_line(&page.rules[i]);

		if (!line || fputs(line, out) == EOF) {
			free(line);
			break;
		}
		free(line);
	}
	{
		bool written = out && i == page.n;

		if (out && fclose(out) != 0)
			written = false;
		out = NULL;
		if (!written) {
			fprintf(stderr, "santactl rule: cannot prepare the import\n");
			goto out;
		}
	}
	if (santactl_connect(ctl, false) < 0)
		goto out;
	req = ipc_msg_new(SANTAD_RULE_IMPORT);
	if (!req || ipc_dict_put_fd(ipc_msg_body(req), "rules", fd) < 0 ||
	    ipc_dict_put_int(ipc_msg_body(req), "count", (int64_t)page.n) < 0 ||
	    ipc_dict_put_string(ipc_msg_body(req), "sync_type", sync_type) < 0) {
		fd = -1;
		ipc_msg_free(req);
		goto out;
	}
	fd = -1;
	reply = santactl_call_within(ctl, req, RULE_CHANGE_USEC);
	if (!reply) {
		fprintf(stderr, "Failed to modify rules.\n");
		goto out;
	}
	ipc_msg_free(reply);
	printf("Added %zu rules from %s.\n", page.n, file);
	r = 0;
out:
	if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
	sync_rule_page_free(&page);
	free(buf);
	return r;
}

static int
rule_export(struct santactl *ctl, const char *file)
{
	struct ipc_msg *reply;
	int64_t count = 0;
	char buf[65536];
	int fd, out, r = 1;
	ssize_t n;

	if (santactl_connect(ctl, false) < 0)
		return 1;
	/* santad writes a million rules in seconds, on a thread of its own: wait for it. */
	reply = santactl_call_within(ctl, ipc_msg_new(SANTAD_RULE_EXPORT), 120 * 1000 * 1000ULL);
	if (!reply)
		return 1;
	ipc_dict_get_int(ipc_msg_body_const(reply), "count", &count);
	fd = ipc_dict_take_fd(ipc_msg_body(reply), "rules");
	ipc_msg_free(reply);
	if (fd < 0) {
		fprintf(stderr, "santactl rule: santad sent no rule file\n");
		return 1;
	}
	if (count == 0) {
		fprintf(stderr, "No rules to export.\n");
		close(fd);
		return 1;
	}
	out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "santactl rule: cannot write %s: %s\n", file, strerror(errno));
		close(fd);
		return 1;
	}
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	}
	if (n == 0 && close(out) == 0) {
		printf("Exported %lld rules to %s.\n", (long long)count, file);
		r = 0;
	} else {
		fprintf(stderr, "santactl rule: cannot write %s: %s\n", file, strerror(errno));
	}
	close(fd);
	return r;
}

/*
 * --path with --signingid/--teamid/--certificate: the identifier of the
 * package that installed the file, as Santa reads it from the file's
 * signature (the first, best archive's; santactl fileinfo lists them all).
 */
static int
identifier_from_package(struct santactl *ctl, const char *path, enum santa_rule_type type,
			char *identifier, size_t size)
{
	struct santa_pkgtrust *trust = NULL;
	struct santa_pkg_identity *id = NULL;
	enum santa_pkg_verdict v = SANTA_PKG_UNREADABLE;
	const char *found = NULL;
	struct stat st;
	int fd = -1, r = EXIT_USAGE;

	if (type == SANTA_RULE_TYPE_CDHASH) {
		fprintf(stderr, "santactl rule: Linux files have no CDHash to read from %s\n", path);
		return EXIT_USAGE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "santactl rule: cannot open %s: %s\n", path, strerror(errno));
		goto out;
	}
	trust = santactl_load_trust(ctl);
	id = malloc(sizeof(*id));
	if (!trust || !id)
		goto out;
	v = santactl_identify_fd(trust, fd, &st, id);
	if (v != SANTA_PKG_VERIFIED) {
		fprintf(stderr, "santactl rule: %s has no package identity: %s\n", path,
			santa_pkg_verdict_to_string(v));
		goto out;
	}
	if (type == SANTA_RULE_TYPE_SIGNINGID && id->n_signing_ids)
		found = id->signing_ids[0];
	else if (type == SANTA_RULE_TYPE_CERTIFICATE && id->n_certificates)
		found = id->certificates[0];
	else if (type == SANTA_RULE_TYPE_TEAMID && id->n_team_ids)
		found = id->team_ids[0];
	if (!found) {
		fprintf(stderr, "santactl rule: %s is from package %s %s, which no archive signed "
				"by a trusted key lists\n", path, id->package, id->version);
		goto out;
	}
	snprintf(identifier, size, "%s", found);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	free(id);
	santa_pkgtrust_free(trust);
	return r;
}

/*
 * Santa's santactl takes flags in any case (--ALLOW, --TeamID): long
 * options are lower-cased in place before getopt sees them, up to an '=',
 * and never the value that follows an option taking one.
 */
static void
flags_lower_case(int argc, char **argv, const struct option *opts)
{
	bool value_next = false;
	int i;

	for (i = 1; i < argc; i++) {
		char *a = argv[i], *p;
		const struct option *o;
		size_t len;

		if (value_next) {
			value_next = false;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			continue;
		for (p = a + 2; *p && *p != '='; p++)
			*p = (char)tolower((unsigned char)*p);
		len = (size_t)(p - (a + 2));
		for (o = opts; o->name; o++)
			if (strlen(o->name) == len && strncmp(o->name, a + 2, len) == 0)
				value_next = o->has_arg == required_argument && *p != '=';
	}
}

/* Santa's words for the rule santad holds for identifier, if any. */
static int
rule_check(struct santactl *ctl, const char *identifier, enum santa_rule_type type)
{
	struct ipc_msg *req, *reply;
	bool found = false;
	int64_t p = 0;

	req = ipc_msg_new(SANTAD_RULE_CHECK);
	ipc_dict_put_string(ipc_msg_body(req), "identifier", identifier);
	ipc_dict_put_int(ipc_msg_body(req), "rule_type", type);
	reply = santactl_request(ctl, req);
	if (!reply)
		return 1;
	ipc_dict_get_bool(ipc_msg_body(reply), "found", &found);
	ipc_dict_get_int(ipc_msg_body(reply), "policy", &p);
	if (!found)
		printf("No rule exists with the given parameters\n");
	else
		printf("%s (%s%s)\n",
		       p == SANTA_POLICY_ALLOWLIST || p == SANTA_POLICY_ALLOWLIST_COMPILER ||
				       p == SANTA_POLICY_ALLOWLIST_TRANSITIVE
			       ? "Allowed"
			       : "Blocked",
		       check_type_name(type),
		       p == SANTA_POLICY_ALLOWLIST_COMPILER     ? ", Compiler"
		       : p == SANTA_POLICY_ALLOWLIST_TRANSITIVE ? ", Transitive"
		       : p == SANTA_POLICY_SILENT_BLOCKLIST     ? ", Silent"
								: "");
	ipc_msg_free(reply);
	return 0;
}

static int
rule_add(struct santactl *ctl, const char *identifier, enum santa_rule_type type,
	 enum santa_policy policy, const char *message, const char *url)
{
	struct ipc_msg *req, *reply;
	struct ipc_value *rule;

	if (santactl_connect(ctl, false) < 0)
		return 1;
	req = ipc_msg_new(SANTAD_RULE_ADD);
	rule = ipc_array_add_dict(ipc_dict_put_container(ipc_msg_body(req), "rules", IPC_ARRAY));
	ipc_dict_put_string(rule, "identifier", identifier);
	ipc_dict_put_int(rule, "rule_type", type);
	ipc_dict_put_int(rule, "policy", policy);
	if (message)
		ipc_dict_put_string(rule, "custom_msg", message);
	if (url)
		ipc_dict_put_string(rule, "custom_url", url);
	reply = santactl_call_within(ctl, req, RULE_CHANGE_USEC);
	if (!reply) {
		fprintf(stderr, "Failed to modify rules.\n");
		return 1;
	}
	ipc_msg_free(reply);
	printf("%s rule for %s: %s.\n", policy == SANTA_POLICY_REMOVE ? "Removed" : "Added",
	       type_label(type), identifier);
	return 0;
}

int
cmd_rule(struct santactl *ctl, int argc, char **argv)
{
	enum { OPT_ALLOW = 256, OPT_BLOCK, OPT_SILENT, OPT_COMPILER, OPT_REMOVE, OPT_CHECK,
	       OPT_ID, OPT_PATH, OPT_MSG, OPT_URL, OPT_CERT, OPT_TEAM, OPT_SIGN, OPT_CDHASH,
	       OPT_IMPORT, OPT_EXPORT, OPT_CLEAN, OPT_CLEAN_ALL };
	static const struct option opts[] = {
		{ "allow", no_argument, NULL, OPT_ALLOW },
		{ "whitelist", no_argument, NULL, OPT_ALLOW },
		{ "block", no_argument, NULL, OPT_BLOCK },
		{ "blacklist", no_argument, NULL, OPT_BLOCK },
		{ "silent-block", no_argument, NULL, OPT_SILENT },
		{ "silent-blacklist", no_argument, NULL, OPT_SILENT },
		{ "compiler", no_argument, NULL, OPT_COMPILER },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "identifier", required_argument, NULL, OPT_ID },
		{ "sha256", required_argument, NULL, OPT_ID },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "message", required_argument, NULL, OPT_MSG },
		{ "custom-url", required_argument, NULL, OPT_URL },
		{ "certificate", no_argument, NULL, OPT_CERT },
		{ "teamid", no_argument, NULL, OPT_TEAM },
		{ "signingid", no_argument, NULL, OPT_SIGN },
		{ "cdhash", no_argument, NULL, OPT_CDHASH },
		{ "import", required_argument, NULL, OPT_IMPORT },
		{ "export", required_argument, NULL, OPT_EXPORT },
		{ "clean", no_argument, NULL, OPT_CLEAN },
		{ "clean-all", no_argument, NULL, OPT_CLEAN_ALL },
		{ NULL, 0, NULL, 0 },
	};
	enum santa_rule_type type = SANTA_RULE_TYPE_BINARY;
	enum santa_policy policy = SANTA_POLICY_UNKNOWN;
	const char *message = NULL, *url = NULL, *path = NULL, *import = NULL, *export = NULL;
	const char *clean = "NORMAL";
	int others = 0;
	char identifier[SANTA_SHA256_HEX_LEN + 200] = "";
	uint8_t digest[SANTA_SHA256_LEN];
	bool check = false;
	int opt, r;

	flags_lower_case(argc, argv, opts);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_ALLOW: policy = SANTA_POLICY_ALLOWLIST; break;
		case OPT_BLOCK: policy = SANTA_POLICY_BLOCKLIST; break;
		case OPT_SILENT: policy = SANTA_POLICY_SILENT_BLOCKLIST; break;
		case OPT_COMPILER: policy = SANTA_POLICY_ALLOWLIST_COMPILER; break;
		case OPT_REMOVE: policy = SANTA_POLICY_REMOVE; break;
		case OPT_CHECK: check = true; break;
		case OPT_ID: snprintf(identifier, sizeof(identifier), "%s", optarg); break;
		case OPT_PATH: path = optarg; break;
		case OPT_MSG: message = optarg; break;
		case OPT_URL: url = optarg; break;
		case OPT_CERT: type = SANTA_RULE_TYPE_CERTIFICATE; break;
		case OPT_TEAM: type = SANTA_RULE_TYPE_TEAMID; break;
		case OPT_SIGN: type = SANTA_RULE_TYPE_SIGNINGID; break;
		case OPT_CDHASH: type = SANTA_RULE_TYPE_CDHASH; break;
		case OPT_IMPORT: import = optarg; break;
		case OPT_EXPORT: export = optarg; break;
		case OPT_CLEAN: clean = "CLEAN"; break;
		case OPT_CLEAN_ALL: clean = "CLEAN_ALL"; break;
		default:
			return rule_usage_error("\n");
		}
	}
	if (optind < argc)
		return rule_usage_error("santactl rule: unexpected argument '%s'\n\n", argv[optind]);
	others = (policy != SANTA_POLICY_UNKNOWN) + check + (identifier[0] != '\0') + (path != NULL) +
		 (message != NULL) + (url != NULL) + (type != SANTA_RULE_TYPE_BINARY);
	if ((import && export) || ((import || export) && others) ||
	    (strcmp(clean, "NORMAL") != 0 && !import)) {
		return rule_usage_error("--import and --export are used alone (--clean and --clean-all "
					"only with --import)\n\n");
	}
	if (export)
		return rule_export(ctl, export);
	if (import) {
		r = rule_change_refused(ctl);
		return r ? r : rule_import(ctl, import, clean);
	}
	if (path && type != SANTA_RULE_TYPE_BINARY) {
		r = identifier_from_package(ctl, path, type, identifier, sizeof(identifier));
		if (r != 0)
			return r;
	} else if (path) {
		r = santa_sha256_path(path, 1, digest);
		if (r < 0) {
			fprintf(stderr, "santactl rule: cannot hash %s: %s\n", path, strerror(-r));
			return EXIT_USAGE;
		}
		santa_sha256_to_hex(digest, identifier);
	}
	if (!check && policy == SANTA_POLICY_UNKNOWN)
		return rule_usage_error("No state specified\n\n");
	if (!identifier[0])
		return rule_usage_error("A valid SHA-256, CDHash, Signing ID, team ID, or path to file "
					"must be specified\n\n");
	if (santa_rule_identifier_normalize(type, identifier) < 0) {
		if (type == SANTA_RULE_TYPE_BINARY || type == SANTA_RULE_TYPE_CERTIFICATE)
			fprintf(stderr, "BINARY or CERTIFICATE rules require a valid SHA-256\n");
		else
			fprintf(stderr, "santactl rule: '%s' is not a valid %s\n", identifier,
				type_label(type));
		return EXIT_USAGE;
	}
	if (check)
		return rule_check(ctl, identifier, type);
	r = rule_change_refused(ctl);
	return r ? r : rule_add(ctl, identifier, type, policy, message, url);
}
