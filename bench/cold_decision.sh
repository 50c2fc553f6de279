#!/usr/bin/env bash
# Cold decisions: the first exec of files santad has never seen, each a
# distinct 32 MiB executable, against (a) the same execs with no daemon and
# (b) the time SHA-256 of the file takes (OpenSSL, as santad hashes). Target
# (issue santad): cold overhead <= 1.2 x hash time + 200 us. Private tmpfs in
# a private mount namespace, FAN_MARK_MOUNT: nothing else is watched.
# usage: bench/cold_decision.sh SANTAD [FILES] [MIB]   (as root; Release build)
set -euo pipefail
santad=$(realpath "$1")
n=${2:-40}
mib=${3:-32}

source "$(dirname "$0")/../tests/lib/private_tmpfs.sh" "$@"

cat > "$work/cold.c" <<'EOC'
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
	int n = atoi(argv[3]), i;
	double *t = calloc(n, sizeof(double));
	static unsigned char buf[65536];
	for (i = 0; i < n; i++) {
		char path[512]; snprintf(path, sizeof(path), "%s/f%d", argv[2], i);
		double a = now();
		if (strcmp(argv[1], "exec") == 0) {
			char *args[] = { path, NULL }; int st;
			pid_t p = fork(); if (p == 0) { execv(path, args); _exit(127); }
			waitpid(p, &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "exec %s failed\n", path); return 1; }
		} else {
			unsigned char md[32]; unsigned int len; ssize_t r; off_t off = 0;
			int fd = open(path, O_RDONLY); EVP_MD_CTX *c = EVP_MD_CTX_new();
			EVP_DigestInit_ex(c, EVP_sha256(), NULL);
			while ((r = pread(fd, buf, sizeof(buf), off)) > 0) { EVP_DigestUpdate(c, buf, r); off += r; }
			EVP_DigestFinal_ex(c, md, &len); EVP_MD_CTX_free(c); close(fd);
		}
		t[i] = (now() - a) * 1e6;
	}
	qsort(t, n, sizeof(double), cmp);
	printf("%.0f\n", t[n / 2]);
	return 0;
}
EOC
cc -O2 -o "$work/cold" "$work/cold.c" -lcrypto

make_files() { # distinct content each: santad has never seen any of them
	rm -f "$work/mnt"/f*
	for i in $(seq 0 $((n - 1))); do
		cp /bin/true "$work/mnt/f$i"
		truncate -s "${mib}M" "$work/mnt/f$i"
		printf '%s' "$RANDOM$i$1" >> "$work/mnt/f$i"
	done
}

make_files a
"$work/cold" hash "$work/mnt" "$n" > /dev/null # page cache warm
hash_us=$("$work/cold" hash "$work/mnt" "$n")
plain_us=$("$work/cold" exec "$work/mnt" "$n")

cat > "$work/santa.conf" <<EOC
ClientMode = MONITOR
WatchPaths = $work/mnt
WatchMarkType = mount
RulesDBPath = $work/state/rules.db
PackageTrustCachePath = $work/state/package-view.cache
EventsDBPath = $work/state/events.db
EventLogPath = $work/santa.log
DecisionTimeoutMs = 10000
EOC
santa_start_santad "$santad"
make_files b
"$work/cold" hash "$work/mnt" "$n" > /dev/null # same page-cache state as the plain run
cold_us=$("$work/cold" exec "$work/mnt" "$n")
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

awk -v n="$n" -v mib="$mib" -v h="$hash_us" -v p="$plain_us" -v c="$cold_us" 'BEGIN {
	over = c - p
	printf "cold decision: %d distinct %d MiB executables, medians\n", n, mib
	printf "  SHA-256 of one file      %8.0f us\n", h
	printf "  exec, no daemon          %8.0f us\n", p
	printf "  exec, santad (cold)      %8.0f us\n", c
	printf "  santad cold overhead     %8.0f us = %.2f x hash time (target <= 1.2 x hash + 200 us = %.0f us)\n", over, over / h, 1.2 * h + 200
}'
