#!/usr/bin/env bash
# Soak: an exec storm for a long time (default 30 minutes) with the CPU
# saturated by other work, while new programs keep appearing (cold decisions,
# events), a blocked one keeps being tried and santactl keeps asking. Samples
# santad's RSS and open fds every 10 s and checks at the end that both are
# flat, that no decision missed the deadline and that the blocked program
# never ran. Private tmpfs, own mount namespace, as every santad test.
# RSS is judged over the second half of the run, with a decision cache small
# enough to be full (and evicting) long before: its pages are touched as new
# files arrive, so RSS rises until then.
# usage: bench/soak.sh SANTAD SANTACTL [SECONDS] [HOGS] [RSS_SPREAD_PERCENT]
#   (as root; a Release build for the 30-minute run, where RSS_SPREAD_PERCENT
#   defaults to 10; an ASan build holds freed memory, so give it a large one;
#   exit 1 when a check fails)
set -euo pipefail
santad=$(realpath "$1")
santactl=$(realpath "$2")
seconds=${3:-1800}
hogs=${4:-$(nproc)}
rss_limit=${5:-10}

source "$(dirname "$0")/../tests/lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
cp /usr/bin/true "$mnt/true"
cp /usr/bin/false "$mnt/blocked"
mkdir -p "$mnt/new"

cat > "$work/storm.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* fork + execve + wait for argv[2] seconds; prints how many execs ran. */
int main(int argc, char **argv) {
	struct timespec a, b;
	char *args[] = { argv[1], NULL };
	long n = 0;
	int st;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		pid_t p = fork();
		if (p == 0) { execv(argv[1], args); _exit(127); }
		waitpid(p, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "exec failed\n"); return 1; }
		n++;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while (b.tv_sec - a.tv_sec < atol(argv[2]));
	printf("%ld\n", n);
	return 0;
}
EOC
cc -O2 -o "$work/storm" "$work/storm.c"

{
	santa_test_config
	cat <<CONF
ClientMode = MONITOR
SantactlPath = $santactl
DecisionTimeoutMs = 1000
; small enough to be full (and evicting) within minutes: RSS then says what leaks
DecisionCacheSize = 4096
[StaticRule:blocked]
identifier = $(sha256sum "$mnt/blocked" | cut -d' ' -f1)
rule_type = BINARY
policy = BLOCKLIST
CONF
} > "$work/santa.conf"
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

children=()
stop_children() { for c in "${children[@]}"; do kill "$c" 2> /dev/null || true; done; }
trap 'stop_children; santa_cleanup' EXIT

# Other work saturating every CPU.
for _ in $(seq 1 "$hogs"); do
	sh -c 'while :; do :; done' &
	children+=($!)
done
# New programs all the time: cold decisions (hashing), cache churn, log lines.
(
	i=0
	while :; do
		i=$((i + 1))
		cp /usr/bin/true "$mnt/new/p$i"
		printf '%s' "$i" >> "$mnt/new/p$i"
		"$mnt/new/p$i"
		rm -f "$mnt/new/p$((i - 20))"
		sleep 0.2
	done
) &
children+=($!)
# A blocked program tried again and again; it must never run.
(
	while :; do
		if "$mnt/blocked" 2> /dev/null; then echo ran >> "$work/blocked-ran"; fi
		sleep 0.5
	done
) &
children+=($!)
# santactl asking all the time.
(
	while :; do "$santactl" status --json > /dev/null 2>&1 || echo failed >> "$work/santactl-failed"; sleep 1; done
) &
children+=($!)

"$work/storm" "$mnt/true" "$seconds" > "$work/storm.out" &
storm=$!
printf '%8s %10s %6s\n' "seconds" "RSS kB" "fds" | tee "$work/samples"
t=0
while kill -0 "$storm" 2> /dev/null; do
	printf '%8d %10d %6d\n' "$t" "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" \
		"$(ls "/proc/$pid/fd" | wc -l)" | tee -a "$work/samples"
	sleep 10
	t=$((t + 10))
done
wait "$storm"
stop_children
execs=$(cat "$work/storm.out")
js=$("$santactl" status --json)
timeouts=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["daemon"]["decisions_timed_out"])' "$js")
# The second half of the samples: after start-up and the cache's first pages.
verdict=$(awk 'NR > 1 { n++; rss[n] = $2; fd[n] = $3 }
END {
	first = n > 1 ? int(n / 2) + 1 : 1
	minr = maxr = rss[first]; minf = maxf = fd[first]
	for (i = first; i <= n; i++) {
		if (rss[i] > maxr) maxr = rss[i]; if (rss[i] < minr) minr = rss[i]
		if (fd[i] > maxf) maxf = fd[i]; if (fd[i] < minf) minf = fd[i]
	}
	printf "%d %d %d %d %.1f", minr, maxr, minf, maxf, (maxr - minr) * 100.0 / minr
}' "$work/samples")
read -r minr maxr minf maxf growth <<< "$verdict"
echo "soak: ${seconds} s, $hogs CPU hog(s), $execs cached execs ($((execs / seconds))/s), $(ls "$mnt/new" | wc -l) new programs live"
echo "  santad RSS over the whole run $(awk 'NR > 1 {print $2}' "$work/samples" | sort -n | sed -n '1p;$p' | tr '\n' ' ')kB; second half ${minr}..${maxr} kB (spread ${growth} %); open fds ${minf}..${maxf}"
echo "  decisions past the deadline: $timeouts; blocked program ran: $(cat "$work/blocked-ran" 2> /dev/null | wc -l) times; santactl failures: $(cat "$work/santactl-failed" 2> /dev/null | wc -l)"
fail=0
[ "$timeouts" -eq 0 ] || { echo "FAIL: $timeouts decisions missed the deadline"; fail=1; }
[ ! -e "$work/blocked-ran" ] || { echo "FAIL: the blocked program ran"; fail=1; }
[ ! -e "$work/santactl-failed" ] || { echo "FAIL: santactl was not served"; fail=1; }
[ "$((maxf - minf))" -le 2 ] || { echo "FAIL: open fds grew from $minf to $maxf"; fail=1; }
awk -v g="$growth" -v l="$rss_limit" 'BEGIN { exit !(g <= l) }' ||
	{ echo "FAIL: RSS spread ${growth} % in the second half (more than ${rss_limit} %)"; fail=1; }
[ "$fail" -eq 0 ] && echo "  flat: RSS and fds held, nothing missed"
exit "$fail"
