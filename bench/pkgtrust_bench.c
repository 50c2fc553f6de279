/*
 * What package trust costs on this machine, measured side by side in one
 * run (docs/package-trust.md): loading the view of every installed package
 * and apt archive (time, the view's own count of its memory, and the
 * process's RSS growth), then, for the packaged programs under the given
 * directories, the SHA-256 every cold decision pays against what a package
 * identity adds to it, each way a decision can find it: (d) never verified
 * (the MD5 pass: read after the hash, as before, and from the hash's own
 * reads, as santad does now), (b) the first decision after a restart (the
 * record kept on disk checked: key, owner, path, the view's record), and
 * (a)/(c) verified ahead by the prescan or, after an install, its prompt
 * pass (remembered by the view). Ratios are against the SHA-256 time, as
 * the cold-decision budget is (issue 21: at most 1.2 x SHA-256 + 200 us).
 *
 * usage: pkgtrust_bench [--cache FILE] [DIR...]   (default /usr/bin /usr/sbin /usr/lib/systemd)
 * --cache: dpkg's part of the view is read from FILE when it is current (as
 * santad's PackageTrustCachePath), built and written to it otherwise.
 * Files are read once before timing, so all figures are from the page cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "santa/pkgtrust.h"
#include "santa/sha256.h"

#define FILES_MAX 20000

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long
rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One way a decision finds a packaged program's identity: its extra cost over SHA-256, in all and per file. */
struct way {
	const char *name;
	double us, worst_ratio;
	size_t over_budget;
	double *ratio; /* per file: (SHA-256 + extra) / SHA-256 */
};

static void
way_add(struct way *w, size_t i, double sha, double extra)
{
	w->us += extra;
	if (sha + extra > 1.2 * sha + 200)
		w->over_budget++;
	if ((sha + extra) / sha > w->worst_ratio)
		w->worst_ratio = (sha + extra) / sha;
	w->ratio[i] = (sha + extra) / sha;
}

static void
way_print(struct way *w, size_t n, double sha_us)
{
	qsort(w->ratio, n, sizeof(w->ratio[0]), cmp_double);
	printf("%s: +%.2f ms in all (%.1f us per file), decision x%.3f of SHA-256 in all "
	       "(per file median x%.3f, worst x%.2f); over budget: %zu of %zu\n",
	       w->name, w->us / 1e3, w->us / (double)n, (sha_us + w->us) / sha_us, w->ratio[n / 2],
	       w->worst_ratio, w->over_budget, n);
}

/* SHA-256 and MD5 of fd from the same reads, as santad's hash worker does for a cold packaged program. */
static int
sha_and_md5(int fd, uint8_t digest[SANTA_SHA256_LEN], uint8_t md5[16])
{
	struct santa_sha256_stream *s;
	int r = santa_sha256_stream_new(&s);

	if (r == 0)
		r = santa_sha256_stream_add_md5(s);
	if (r == 0)
		r = santa_sha256_stream_step(s, fd, UINT64_MAX, digest);
	if (r == 1)
		r = santa_sha256_stream_md5(s, md5) ? 0 : -EIO;
	santa_sha256_stream_free(s);
	return r;
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = { "/usr/bin", "/usr/sbin", "/usr/lib/systemd" };
	static const char *keyrings[] = { "/etc/apt/trusted.gpg", "/etc/apt/trusted.gpg.d",
					  "/etc/apt/keyrings", "/usr/share/keyrings", NULL };
	static const char *platform[] = { "/usr/share/keyrings/debian-archive-keyring.gpg", NULL };
	struct santa_pkgtrust_paths paths = {
		.dpkg = { .admindir = "/var/lib/dpkg", .root = "" },
		.apt = { .lists_dir = "/var/lib/apt/lists", .keyrings = keyrings,
			 .platform_keyrings = platform },
	};
	struct santa_pkgtrust_stats stats;
	struct santa_pkgtrust *t = NULL;
	struct santa_pkg_identity id;
	static double r_cold2[FILES_MAX], r_cold1[FILES_MAX], r_restart[FILES_MAX], r_warm[FILES_MAX];
	struct way cold2 = { .name = "(d) never verified, the file read twice (SHA-256, then MD5: before)",
			     .ratio = r_cold2 },
		   cold1 = { .name = "(d) never verified, one read for SHA-256 and MD5 (now)", .ratio = r_cold1 },
		   restart = { .name = "(b) first decision after a restart (the record kept on disk)",
			       .ratio = r_restart },
		   warm = { .name = "(a), (c) verified ahead (the prescan; after an install, its prompt pass)",
			    .ratio = r_warm };
	double t0, load_us, sha_us = 0;
	size_t n = 0, d;
	uint64_t bytes = 0;
	long rss0 = rss_kb();
	char why[512];
	int ndirs;

	if (argc > 2 && strcmp(argv[1], "--cache") == 0) {
		paths.dpkg.cache_path = argv[2];
		argv += 2;
		argc -= 2;
	}
	ndirs = argc > 1 ? argc - 1 : 3;

	t0 = now_us();
	if (santa_pkgtrust_load(&paths, &t, why, sizeof(why)) < 0) {
		fprintf(stderr, "load: %s\n", why);
		return 1;
	}
	load_us = now_us() - t0;
	santa_pkgtrust_stats(t, &stats);
	printf("view: %zu packages (%zu in a signed archive), %zu packaged programs, %zu archives, "
	       "%zu apt entries\n",
	       stats.dpkg.packages, stats.packages_with_archive, stats.dpkg.files,
	       stats.apt.releases_used, stats.apt.entries);
	printf("load%s: %.0f ms; memory: view %.1f MB (dpkg %.1f + apt %.1f), process RSS +%.1f MB\n",
	       stats.dpkg.from_cache ? " (dpkg's part from the cache)" : "", load_us / 1e3, (double)(stats.dpkg.memory_bytes + stats.apt.memory_bytes) / 1e6,
	       (double)stats.dpkg.memory_bytes / 1e6, (double)stats.apt.memory_bytes / 1e6,
	       (double)(rss_kb() - rss0) / 1e3);

	for (d = 0; d < (size_t)ndirs && n < FILES_MAX; d++) {
		const char *dir = argc > 1 ? argv[d + 1] : defaults[d];
		struct dirent *de;
		DIR *dp = opendir(dir);

		while (dp && (de = readdir(dp)) && n < FILES_MAX) {
			char path[PATH_MAX], canonical[PATH_MAX];
			const struct santa_dpkg_package *pkg = NULL;
			uint8_t digest[SANTA_SHA256_LEN], md5[16];
			struct santa_verified_file rec;
			double a, b, c, sha;
			struct stat st;
			int fd;

			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path) ||
			    !realpath(path, canonical))
				continue;
			fd = open(canonical, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
			    santa_sha256_fd(fd, digest, NULL) < 0 || /* warms the page cache */
			    santa_pkgtrust_identify_fd(t, fd, &st, canonical, NULL, &id, &pkg) !=
				    SANTA_PKG_VERIFIED ||
			    !pkg) {
				close(fd);
				continue;
			}
			a = now_us();
			santa_sha256_fd(fd, digest, NULL);
			b = now_us();
			sha = b - a;
			/* (d), before: identify reads the file for its MD5 after the hash. */
			santa_pkgtrust_identify_fd(t, fd, &st, canonical, NULL, &id, &pkg);
			way_add(&cold2, n, sha, now_us() - b);
			/* (d), now: one read feeds both; identify is given the MD5. */
			a = now_us();
			sha_and_md5(fd, digest, md5);
			santa_pkgtrust_identify_fd_md5(t, fd, &st, canonical, NULL, md5, &id, &pkg);
			way_add(&cold1, n, sha, now_us() - a - sha);
			/* (b): the record read at start vouches (key, owner, path here, the view's record), then remembered. */
			santa_verified_of(&st, pkg, md5, &rec);
			a = now_us();
			if (santa_verified_match(t, &rec, &st, canonical) != pkg) {
				fprintf(stderr, "%s: its record does not match\n", canonical);
				close(fd);
				continue;
			}
			santa_verified_of(&st, pkg, md5, &rec);
			santa_pkgtrust_identity_of_package(t, pkg, &id);
			way_add(&restart, n, sha, now_us() - a);
			/* (a), (c): remembered by the view in force. */
			c = now_us();
			santa_pkgtrust_identity_of_package(t, pkg, &id);
			way_add(&warm, n, sha, now_us() - c);
			close(fd);
			sha_us += sha;
			bytes += (uint64_t)st.st_size;
			n++;
		}
		if (dp)
			closedir(dp);
	}
	if (!n) {
		printf("no packaged program found\n");
		santa_pkgtrust_free(t);
		return 1;
	}
	printf("%zu packaged programs, %.1f MB: SHA-256 %.0f ms in all (%.0f MB/s); "
	       "budget: 1.2 x SHA-256 + 200 us per decision\n",
	       n, (double)bytes / 1e6, sha_us / 1e3, (double)bytes / sha_us);
	way_print(&cold2, n, sha_us);
	way_print(&cold1, n, sha_us);
	way_print(&restart, n, sha_us);
	way_print(&warm, n, sha_us);
	santa_pkgtrust_free(t);
	return 0;
}
