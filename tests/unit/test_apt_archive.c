/*
 * The apt archive index over fixtures made with gpg, lz4, gzip and xz
 * (tests/unit/data/apt/make-fixtures.sh): which Releases are kept and who
 * signed them, which Packages indices are used, what find() answers and in
 * which order, wanted() filtering; and, when this machine has Debian's apt
 * lists and keyring, the real thing.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "santa/apt_archive.h"

#define P "example.org_debian_dists_"

static char data_dir[1024], lists_dir[1100], keyring_dir[1100], trusted_gpg[1100],
	platform_gpg[1100];

/* expected.txt: "name value" lines written when the fixtures were made. */
static struct {
	char rsa_fpr[128], rsa_cert[128], ed_fpr[128], edsub_fpr[128], edsub_cert[128], untrusted_fpr[128];
} want;

static int
setup(void **state)
{
	const char *d = getenv("SANTA_TEST_DATA");
	char path[1200], name[64], value[128];
	FILE *f;

	if (!d)
		return -1;
	snprintf(data_dir, sizeof(data_dir), "%s/apt", d);
	snprintf(lists_dir, sizeof(lists_dir), "%s/lists", data_dir);
	snprintf(keyring_dir, sizeof(keyring_dir), "%s/keyring.d", data_dir);
	snprintf(trusted_gpg, sizeof(trusted_gpg), "%s/trusted.gpg", data_dir);
	snprintf(platform_gpg, sizeof(platform_gpg), "%s/platform.gpg", data_dir);
	snprintf(path, sizeof(path), "%s/expected.txt", data_dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %127s", name, value) == 2) {
		if (strcmp(name, "rsa_fpr") == 0)
			snprintf(want.rsa_fpr, sizeof(want.rsa_fpr), "%s", value);
		else if (strcmp(name, "rsa_cert") == 0)
			snprintf(want.rsa_cert, sizeof(want.rsa_cert), "%s", value);
		else if (strcmp(name, "ed_fpr") == 0)
			snprintf(want.ed_fpr, sizeof(want.ed_fpr), "%s", value);
		else if (strcmp(name, "edsub_fpr") == 0)
			snprintf(want.edsub_fpr, sizeof(want.edsub_fpr), "%s", value);
		else if (strcmp(name, "edsub_cert") == 0)
			snprintf(want.edsub_cert, sizeof(want.edsub_cert), "%s", value);
		else if (strcmp(name, "untrusted_fpr") == 0)
			snprintf(want.untrusted_fpr, sizeof(want.untrusted_fpr), "%s", value);
	}
	fclose(f);
	return want.rsa_fpr[0] && want.edsub_cert[0] ? 0 : -1;
}

static struct santa_apt_index *
load(const char *const *keyrings, const char *const *platform, santa_apt_wanted_fn wanted,
     void *userdata, struct santa_apt_index_stats *st)
{
	struct santa_apt_paths paths = { lists_dir, keyrings, platform };
	struct santa_apt_index *idx = NULL;
	char why[256];
	int r = santa_apt_index_load(&paths, wanted, userdata, &idx, why, sizeof(why));

	if (r < 0)
		fail_msg("santa_apt_index_load: %d (%s)", r, why);
	assert_non_null(idx);
	santa_apt_index_stats(idx, st);
	return idx;
}

static size_t
find(const struct santa_apt_index *idx, const char *pkg, const char *ver, const char *arch,
     const struct santa_apt_archive **out)
{
	return santa_apt_index_find(idx, pkg, ver, arch, out, 8);
}

static const struct santa_apt_signer *
signer(const struct santa_apt_archive *ar, const char *fpr)
{
	size_t i;

	for (i = 0; i < ar->n_signers; i++)
		if (strcmp(ar->signers[i].fpr_hex, fpr) == 0)
			return &ar->signers[i];
	return NULL;
}

static const char *
last10(const char *fpr)
{
	return fpr + strlen(fpr) - 10;
}

static void
test_fixture_archives(void **state)
{
	const char *const keyrings[] = { keyring_dir, NULL };
	const struct santa_apt_archive *ar[8];
	const struct santa_apt_signer *s;
	struct santa_apt_index_stats st;
	struct santa_apt_index *idx = load(keyrings, NULL, NULL, NULL, &st);

	/* stable, testing, old (detached), tampered kept; foreign (unknown key) and badsig not. */
	assert_int_equal(st.releases_seen, 6);
	assert_int_equal(st.releases_used, 4);
	assert_int_equal(st.releases_unsigned, 2);
	assert_int_equal(st.releases_rejected, 0);
	assert_int_equal(st.keyrings_skipped, 1); /* keyring.d/junk.gpg; README is not read */
	/* stable's lz4, testing's gz, old's xz; tampered's (digest) and stable's contrib (unlisted) rejected. */
	assert_int_equal(st.indices_used, 3);
	assert_int_equal(st.indices_rejected, 2);
	assert_int_equal(st.entries, 7);
	assert_int_equal(st.entries_dropped, 0);
	assert_int_equal(st.paragraphs_bad, 0);
	assert_true(st.memory_bytes > 7 * 16);

	/* stable: InRelease by the RSA primary key. */
	assert_int_equal(find(idx, "coreutils", "9.1-1", "amd64", ar), 1);
	assert_string_equal(ar[0]->release_name, P "stable_InRelease");
	assert_string_equal(ar[0]->origin, "Example");
	assert_string_equal(ar[0]->label, "Example Archive");
	assert_string_equal(ar[0]->suite, "stable");
	assert_string_equal(ar[0]->codename, "bookworm");
	assert_int_equal(ar[0]->n_signers, 1);
	assert_false(ar[0]->platform);
	s = &ar[0]->signers[0];
	assert_string_equal(s->fpr_hex, want.rsa_fpr);
	assert_string_equal(s->primary_fpr_hex, want.rsa_fpr);
	assert_string_equal(s->certificate, want.rsa_cert);
	assert_string_equal(s->team_id, last10(want.rsa_fpr));
	assert_string_equal(s->uid, "Santa Test Archive <test@example>");
	assert_false(s->platform);
	assert_int_equal(find(idx, "tzdata", "2024a-0+deb12u1", "all", ar), 1);
	assert_int_equal(find(idx, "libfoo1", "1:1.0~rc1-1", "amd64", ar), 1);

	/* testing: the Ed25519 signing subkey and the RSA key; TEAMID from the subkey's primary. */
	assert_int_equal(find(idx, "hello", "2.12-1", "amd64", ar), 1);
	assert_string_equal(ar[0]->suite, "testing");
	assert_string_equal(ar[0]->codename, "trixie");
	assert_int_equal(ar[0]->n_signers, 2);
	s = signer(ar[0], want.edsub_fpr);
	assert_non_null(s);
	assert_string_equal(s->primary_fpr_hex, want.ed_fpr);
	assert_string_equal(s->certificate, want.edsub_cert);
	assert_string_equal(s->team_id, last10(want.ed_fpr));
	assert_string_equal(s->uid, "Santa Test Ed25519 <ed@example>");
	assert_non_null(signer(ar[0], want.rsa_fpr));
	assert_int_equal(find(idx, "bash", "5.2.15-2", "amd64", ar), 1);

	/* old: Release + Release.gpg. */
	assert_int_equal(find(idx, "sed", "4.9-1", "amd64", ar), 1);
	assert_string_equal(ar[0]->release_name, P "old_Release");
	assert_string_equal(ar[0]->suite, "old");
	assert_int_equal(ar[0]->n_signers, 1);
	assert_string_equal(ar[0]->signers[0].fpr_hex, want.rsa_fpr);

	/* Listed by three archives, once each, by name when none is platform. */
	assert_int_equal(find(idx, "hello", "2.10-3", "amd64", ar), 3);
	assert_string_equal(ar[0]->suite, "old");
	assert_string_equal(ar[1]->suite, "stable");
	assert_string_equal(ar[2]->suite, "testing");
	assert_int_equal(santa_apt_index_find(idx, "hello", "2.10-3", "amd64", ar, 1), 3);

	/* Not listed: another version or architecture, or only in an index or Release not used. */
	assert_int_equal(find(idx, "hello", "2.10-3", "i386", ar), 0);
	assert_int_equal(find(idx, "hello", "2.10", "amd64", ar), 0);
	assert_int_equal(find(idx, "hell", "2.10-3", "amd64", ar), 0);
	assert_int_equal(find(idx, "", "", "", ar), 0);
	assert_int_equal(find(idx, "evil", "1.0", "amd64", ar), 0);       /* tampered Packages */
	assert_int_equal(find(idx, "evil", "1.1", "amd64", ar), 0);
	assert_int_equal(find(idx, "unlistedpkg", "1.0", "amd64", ar), 0); /* not in its Release */
	assert_int_equal(find(idx, "foreignpkg", "1.0", "amd64", ar), 0); /* key in no keyring */
	assert_int_equal(find(idx, "badpkg", "1.0", "amd64", ar), 0);     /* signed text edited */
	santa_apt_index_free(idx);
}

/* The same keys from one binary keyring file; the Ed25519 key's keyring as the platform's. */
static void
test_platform_first(void **state)
{
	const char *const keyrings[] = { trusted_gpg, NULL };
	const char *const platform[] = { platform_gpg, NULL };
	const struct santa_apt_archive *ar[8];
	struct santa_apt_index_stats st;
	struct santa_apt_index *idx = load(keyrings, platform, NULL, NULL, &st);

	assert_int_equal(st.releases_used, 4);
	assert_int_equal(st.keyrings_skipped, 0);
	assert_int_equal(find(idx, "hello", "2.10-3", "amd64", ar), 3);
	assert_string_equal(ar[0]->suite, "testing");
	assert_true(ar[0]->platform);
	assert_true(signer(ar[0], want.edsub_fpr)->platform);
	assert_false(signer(ar[0], want.rsa_fpr)->platform);
	assert_string_equal(ar[1]->suite, "old");
	assert_false(ar[1]->platform);
	assert_string_equal(ar[2]->suite, "stable");
	santa_apt_index_free(idx);

	/* A platform keyring alone is trusted: testing is kept, the RSA-only archives not. */
	idx = load(NULL, platform, NULL, NULL, &st);
	assert_int_equal(st.releases_used, 1);
	assert_int_equal(st.releases_unsigned, 5);
	assert_int_equal(find(idx, "hello", "2.10-3", "amd64", ar), 1);
	assert_string_equal(ar[0]->suite, "testing");
	santa_apt_index_free(idx);
}

struct wanted_log {
	size_t calls;
};

static bool
want_hello(const char *package, const char *version, const char *arch, void *userdata)
{
	struct wanted_log *log = userdata;

	log->calls++;
	return strcmp(package, "hello") == 0;
}

static void
test_wanted(void **state)
{
	const char *const keyrings[] = { keyring_dir, NULL };
	const struct santa_apt_archive *ar[8];
	struct santa_apt_index_stats st;
	struct wanted_log log = { 0 };
	struct santa_apt_index *idx = load(keyrings, NULL, want_hello, &log, &st);

	/* Asked once per paragraph of each used index: 4 + 3 + 2. */
	assert_int_equal(log.calls, 9);
	assert_int_equal(st.entries, 2);
	assert_int_equal(find(idx, "hello", "2.10-3", "amd64", ar), 3);
	assert_int_equal(find(idx, "hello", "2.12-1", "amd64", ar), 1);
	assert_int_equal(find(idx, "coreutils", "9.1-1", "amd64", ar), 0);
	santa_apt_index_free(idx);
}

static void
test_no_keys(void **state)
{
	const char *const keyrings[] = { "/nonexistent/keyring.gpg", NULL };
	const struct santa_apt_archive *ar[8];
	struct santa_apt_index_stats st;
	struct santa_apt_index *idx = load(keyrings, NULL, NULL, NULL, &st);

	assert_int_equal(st.keyrings_skipped, 1);
	assert_int_equal(st.releases_seen, 6);
	assert_int_equal(st.releases_used, 0);
	assert_int_equal(st.releases_unsigned, 6);
	assert_int_equal(st.indices_used, 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(find(idx, "hello", "2.10-3", "amd64", ar), 0);
	santa_apt_index_free(idx);
}

static void
test_lists_dir_missing(void **state)
{
	const char *const keyrings[] = { keyring_dir, NULL };
	struct santa_apt_paths paths = { "/nonexistent/lists", keyrings, NULL };
	struct santa_apt_index *idx = (struct santa_apt_index *)1;
	char why[256];

	assert_int_equal(santa_apt_index_load(&paths, NULL, NULL, &idx, why, sizeof(why)), -ENOENT);
	assert_null(idx);
	assert_non_null(strstr(why, "/nonexistent/lists"));
}

/* ---- this machine's apt lists ---- */

#define REAL_LISTS   "/var/lib/apt/lists"
#define REAL_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"

struct real_log {
	size_t calls, kept;
	size_t every; /* keep one paragraph in this many */
	char coreutils_version[128], coreutils_arch[32];
};

static bool
want_real(const char *package, const char *version, const char *arch, void *userdata)
{
	struct real_log *log = userdata;

	if (strcmp(package, "coreutils") == 0 && !log->coreutils_version[0]) {
		snprintf(log->coreutils_version, sizeof(log->coreutils_version), "%s", version);
		snprintf(log->coreutils_arch, sizeof(log->coreutils_arch), "%s", arch);
		log->kept++;
		return true;
	}
	if (log->calls++ % log->every)
		return false;
	log->kept++;
	return true;
}

static bool
has_inrelease(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		found = n > 10 && strcmp(de->d_name + n - 10, "_InRelease") == 0;
	}
	closedir(d);
	return found;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
load_real(size_t every)
{
	const char *const keyrings[] = { REAL_KEYRING, "/etc/apt/trusted.gpg.d", NULL };
	const char *const platform[] = { REAL_KEYRING, NULL };
	struct santa_apt_paths paths = { REAL_LISTS, keyrings, platform };
	const struct santa_apt_archive *ar[8];
	struct santa_apt_index_stats st;
	struct santa_apt_index *idx = NULL;
	struct real_log log = { .every = every };
	size_t i, n;
	char why[256];
	double t0 = now(), t1;
	bool debian = false;

	assert_int_equal(santa_apt_index_load(&paths, want_real, &log, &idx, why, sizeof(why)), 0);
	t1 = now();
	santa_apt_index_stats(idx, &st);
	print_message("real lists, keeping 1 in %zu: %.3f s; releases: %zu seen, %zu used, %zu unsigned, "
		      "%zu rejected; indices: %zu used, %zu rejected; %zu entries, %zu bad paragraphs, "
		      "%zu bytes\n",
		      every, t1 - t0, st.releases_seen, st.releases_used, st.releases_unsigned,
		      st.releases_rejected, st.indices_used, st.indices_rejected, st.entries,
		      st.paragraphs_bad, st.memory_bytes);
	assert_true(st.releases_used >= 1);
	assert_int_equal(st.paragraphs_bad, 0);
	/* Kept once however many archives (or paragraphs of one) list it. */
	assert_true(st.entries >= 1 && st.entries <= log.kept);
	assert_true(log.coreutils_version[0] != '\0');
	n = santa_apt_index_find(idx, "coreutils", log.coreutils_version, log.coreutils_arch, ar, 8);
	assert_true(n >= 1);
	for (i = 0; i < n && i < 8; i++) {
		debian = debian || strcmp(ar[i]->origin, "Debian") == 0;
		assert_true(ar[i]->n_signers >= 1);
		assert_int_equal(strlen(ar[i]->signers[0].team_id), 10);
		assert_int_equal(strlen(ar[i]->signers[0].certificate), 64);
	}
	assert_true(debian);
	assert_true(ar[0]->platform); /* Debian's own keyring is the platform one */
	santa_apt_index_free(idx);
}

static void
test_real_lists(void **state)
{
	FILE *f = fopen(REAL_KEYRING, "r");

	if (!f || !has_inrelease(REAL_LISTS)) {
		/* Deterministic either way: nothing to check here is not a skip (CI counts skips as failures). */
		print_message("note: no %s or no InRelease in %s: real apt lists not checked\n",
			      REAL_KEYRING, REAL_LISTS);
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	load_real(1);
	load_real(60);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_archives),
		cmocka_unit_test(test_platform_first),
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_no_keys),
		cmocka_unit_test(test_lists_dir_missing),
		cmocka_unit_test(test_real_lists),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
