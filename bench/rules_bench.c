/*
 * Rules database at scale: applies N BINARY rules in one batch, then times
 * lookups of present and absent identifiers, and reports the process RSS.
 *   rules_bench [N] [KEEP_DB_PATH]
 * Default 1,000,000 rules in a temporary file, removed at the end; with
 * KEEP_DB_PATH the database is written there and kept (bench/santad_rss.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "santa/policy.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kb(const char *field)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			kb = strtol(line + strlen(field), NULL, 10);
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
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000, i, lookups = 100000;
	char path[] = "/tmp/santa-rules-bench-XXXXXX", db_path[512], why[512];
	struct santa_rule *rules = calloc(n, sizeof(*rules));
	char (*ids)[65] = calloc(n, 65);
	double *lat = calloc(lookups, sizeof(double)), t0, t;
	struct santa_rule_found found;
	struct rules_db *db;
	int hits = 0;

	const char *keep = argc > 2 ? argv[2] : NULL;

	if (!rules || !ids || !lat || !mkdtemp(path))
		return 1;
	snprintf(db_path, sizeof(db_path), "%s/rules.db", path);
	if (keep && snprintf(db_path, sizeof(db_path), "%s", keep) >= (int)sizeof(db_path)) {
		fprintf(stderr, "%s: path too long\n", keep);
		return 1;
	}
	for (i = 0; i < n; i++) {
		snprintf(ids[i], 65, "%016zx%016zx%016zx%016zx", i * 2654435761u, i, ~i, i ^ 0x5a5a);
		rules[i] = (struct santa_rule){ SANTA_RULE_TYPE_BINARY,
						i % 3 ? SANTA_POLICY_ALLOWLIST
						      : SANTA_POLICY_BLOCKLIST,
						ids[i], NULL, NULL };
	}
	if (rules_db_open(db_path, &db, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	t0 = now_s();
	if (rules_db_apply(db, rules, n, false, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	t = now_s() - t0;
	free(rules);
	printf("rules_db: %zu BINARY rules applied in one transaction in %.2f s\n", n, t);
	rules_db_close(db);

	/* A fresh open, as santad starts: RSS then reflects the DB, not the batch arrays. */
	free(ids);
	ids = NULL;
	if (rules_db_open(db_path, &db, why, sizeof(why)) < 0)
		return 1;
	srand(42);
	for (i = 0; i < lookups; i++) {
		size_t k = (size_t)rand() % n;
		char id[65];

		if (i % 2)
			snprintf(id, sizeof(id), "%016zx%016zx%016zx%016zx", k * 2654435761u, k, ~k,
				 k ^ 0x5a5a);
		else
			snprintf(id, sizeof(id), "%064zx", k); /* absent: the common case */
		t0 = now_s();
		hits += rules_db_lookup(db, SANTA_RULE_TYPE_BINARY, id, &found) == 0;
		lat[i] = (now_s() - t0) * 1e6;
	}
	qsort(lat, lookups, sizeof(double), cmp_double);
	printf("lookups: %zu (%d found): p50 %.1f us, p99 %.1f us, max %.1f us\n", lookups, hits,
	       lat[lookups / 2], lat[lookups * 99 / 100], lat[lookups - 1]);
	printf("RSS after opening the %zu-rule DB and %zu lookups: %ld kB (peak %ld kB incl. "
	       "building the batch)\n",
	       n, lookups, rss_kb("VmRSS:"), rss_kb("VmHWM:"));
	rules_db_close(db);
	if (keep) {
		rmdir(path);
		free(lat);
		return 0;
	}
	unlink(db_path);
	{
		char wal[600];

		snprintf(wal, sizeof(wal), "%s-wal", db_path);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", db_path);
		unlink(wal);
	}
	rmdir(path);
	free(lat);
	return 0;
}
