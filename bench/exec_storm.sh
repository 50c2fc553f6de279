#!/usr/bin/env bash
# Exec storm: N execs of a small binary from a watched filesystem, measured
# side by side in one run: no daemon, then santad (MONITOR, decisions cached).
# Runs on a private tmpfs in its own mount namespace (FAN_MARK_MOUNT), so
# nothing else on the machine is watched. Prints times and the ratio.
# usage: bench/exec_storm.sh SANTAD [N]   (as root; use a Release build)
set -euo pipefail
santad=$(realpath "$1")
n=${2:-20000}
santactl=$(realpath "$(dirname "$santad")/../santactl/santactl")

source "$(dirname "$0")/../tests/lib/private_tmpfs.sh" "$@"
cp /bin/true "$work/mnt/true"

# The storm itself: a tiny C loop (fork + execve + wait) so that the shell's
# own cost does not drown the difference.
cat > "$work/storm.c" <<'EOC'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
	int n = atoi(argv[2]), i, st;
	struct timespec a, b;
	char *args[] = { argv[1], NULL };
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) { execv(argv[1], args); _exit(127); }
		waitpid(p, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "exec failed\n"); return 1; }
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
EOC
cc -O2 -o "$work/storm" "$work/storm.c"

storm() { "$work/storm" "$work/mnt/true" "$n"; }

start_santad() {
	cat > "$work/santa.conf" <<EOC
ClientMode = MONITOR
WatchPaths = $work/mnt
WatchMarkType = mount
RulesDBPath = $work/state/rules.db
EventsDBPath = $work/state/events.db
EventLogPath = $work/santa.log
RunDirectory = $work/run
SantactlPath = $santactl
$1
EOC
	santa_start_santad "$santad"
}

stop_santad() {
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

storm > /dev/null # warm up the page cache and the binary
base=$(storm)
start_santad ""
"$work/mnt/true" # first exec: hashed and cached
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu_ticks)
with=$(storm)
c1=$(cpu_ticks)
rss=$(awk '/VmHWM/ {print $2}' /proc/"$pid"/status)
asked=$(SANTA_CONFIG=$work/santa.conf "$santactl" metrics --json 2> /dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)["metrics"]
def val(name, field=None):
    for k, f in m[name]["fields"].items():
        for p in f:
            if field is None or p.get("value") == field:
                return p["data"]
    return 0
print(val("/santa/cache/lookups", "hit") + val("/santa/cache/lookups", "miss"), val("/santa/cache/kernel_allowed_execs"))' 2> /dev/null || echo "? ?")
stop_santad
base2=$(storm)
lines=$(wc -l < "$work/santa.log")

awk -v n="$n" -v b1="$base" -v b2="$base2" -v s="$with" -v rss="$rss" -v lines="$lines" \
	-v cpu="$(( (c1 - c0) * 1000 / $(getconf CLK_TCK) ))" -v asked="$asked" 'BEGIN {
	b = (b1 + b2) / 2
	printf "exec storm: %d execs of a small binary from a watched tmpfs\n", n
	printf "  no daemon            %7.3f s  (%.1f us/exec; runs before and after: %.3f, %.3f)\n", b, b / n * 1e6, b1, b2
	printf "  santad MONITOR cached %7.3f s  (%.1f us/exec)\n", s, s / n * 1e6
	printf "  santad / no daemon   %7.3f  (overhead %+.1f%%)\n", s / b, (s / b - 1) * 100
	printf "  santad peak RSS %d kB; %d lines logged; santad CPU %d ms (%.1f us/exec)\n", rss, lines, cpu, cpu * 1000.0 / n
	split(asked, a, " ")
	printf "  execs santad was asked about: %s; allowed by the kernel through an ignore mark (only logged): %s\n", a[1], a[2]
}'
