/*
 * What package trust costs on this machine, measured side by side in one
 * run (docs/package-trust.md): loading the view of every installed package
 * and apt archive (time, the view's own count of its memory, and the
 * process's RSS growth), then, for the packaged programs under the given
 * directories, the SHA-256 every cold decision pays against what a package
 * identity adds: with the MD5 pass (a file not verified yet) and without it
 * (a file the view remembers). Ratios are against the SHA-256 time, as the
 * cold-decision budget is (issue 21: at most 1.2 x SHA-256 + 200 us).
 *
 * usage: pkgtrust_bench [--cache FILE] [DIR...]   (default /usr/bin /usr/sbin /usr/lib/systemd)
 * --cache: dpkg's part of the view is read from FILE when it is current (as
 * santad's PackageTrustCachePath), built and written to it otherwise.
 * Files are read once before timing, so all figures are from the page cache.
 */
#include <dirent.h>
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
	static double extra_ratio[FILES_MAX];
	double t0, load_us, sha_us = 0, md5_us = 0, warm_us = 0, worst_cold = 0, worst_warm = 0;
	size_t n = 0, over_budget_cold = 0, over_budget_warm = 0, d;
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
			uint8_t digest[SANTA_SHA256_LEN];
			double a, b, c, sha, cold, warm;
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
			santa_pkgtrust_identify_fd(t, fd, &st, canonical, NULL, &id, &pkg);
			c = now_us();
			santa_pkgtrust_identity_of_package(t, pkg, &id);
			warm = now_us() - c;
			sha = b - a;
			cold = c - b;
			close(fd);
			sha_us += sha;
			md5_us += cold;
			warm_us += warm;
			bytes += (uint64_t)st.st_size;
			if (sha + cold > 1.2 * sha + 200)
				over_budget_cold++;
			if (sha + warm > 1.2 * sha + 200)
				over_budget_warm++;
			if (cold / sha > worst_cold)
				worst_cold = cold / sha;
			if (warm > worst_warm)
				worst_warm = warm;
			extra_ratio[n++] = (sha + cold) / sha;
		}
		if (dp)
			closedir(dp);
	}
	if (!n) {
		printf("no packaged program found\n");
		santa_pkgtrust_free(t);
		return 1;
	}
	qsort(extra_ratio, n, sizeof(extra_ratio[0]), cmp_double);
	printf("%zu packaged programs, %.1f MB: SHA-256 %.0f ms in all (%.0f MB/s)\n", n,
	       (double)bytes / 1e6, sha_us / 1e3, (double)bytes / sha_us);
	printf("identity not yet verified (MD5 pass): +%.0f ms, decision x%.2f of SHA-256 in all "
	       "(per file median x%.2f, worst x%.2f); over budget: %zu of %zu\n",
	       md5_us / 1e3, (sha_us + md5_us) / sha_us, extra_ratio[n / 2], 1 + worst_cold,
	       over_budget_cold, n);
	printf("identity remembered (verified before): +%.2f ms in all, %.1f us per file (worst %.1f us), "
	       "decision x%.3f of SHA-256; over budget: %zu of %zu\n",
	       warm_us / 1e3, warm_us / (double)n, worst_warm, (sha_us + warm_us) / sha_us,
	       over_budget_warm, n);
	santa_pkgtrust_free(t);
	return 0;
}
