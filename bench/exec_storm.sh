#!/usr/bin/env bash
# Exec storm: execs of a small binary, timed side by side in one run and
# interleaved, so that the machine's drift (other load, CPU frequency, the
# page cache) falls on every condition alike:
#
#   a watched tmpfs ($work/mnt) and an unwatched ramfs ($work/plain) hold the
#   same binary; each phase runs ROUNDS rounds of N/ROUNDS execs from each,
#   alternating which goes first, and reports watched/unwatched.
#
#   phase "no daemon" (before and after): the two filesystems' own difference
#   phase "santad": MONITOR, decisions cached (kernel ignore marks)
#   phase "santad, EventLogType null": the same without a log line per exec
#   phase "fapolicyd": the Debian package, allow-trusted rules, when installed
#   with SANTA_STORM_OWNER=UID, phase "santad, program of UID": the same binary
#   owned by UID (others than root may write it): no kernel ignore mark, each
#   exec answered from santad's cache under a read lease kept until the exec
#   settled (src/santad/lease_hold.h); its loader stays root's
#
# Overhead = phase ratio / no-daemon ratio - 1. Everything runs on private
# mounts in its own mount namespace: nothing else on the machine is watched
# (fapolicyd marks mounts, allow_filesystem_mark = 0, of this namespace only).
# usage: bench/exec_storm.sh SANTAD [N] [ROUNDS]   (as root; use a Release build)
set -euo pipefail
santad=$(realpath "$1")
n=${2:-20000}
rounds=${3:-20}
santactl=$(realpath "$(dirname "$santad")/../santactl/santactl")

source "$(dirname "$0")/../tests/lib/private_tmpfs.sh" "$@"
mkdir -p "$work/plain"
mount -t ramfs -o mode=0755 ramfs "$work/plain"
# A dynamic program whose loader lies on the same filesystem, as /bin/true's
# does on a machine where santad watches /: each exec opens both (and santad
# is told of both: one exec, one line).
printf 'int main(void) { return 0; }\n' > "$work/true.c"
for dir in "$work/mnt" "$work/plain"; do
	cp "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$dir/ld.so"
	cc -O2 -o "$dir/true" "$work/true.c" -Wl,--dynamic-linker="$dir/ld.so"
done
per_round=$((n / rounds))
owner=${SANTA_STORM_OWNER:-}
if [ -n "$owner" ]; then
	cp "$work/mnt/true" "$work/mnt/true-owned"
	chown "$owner" "$work/mnt/true-owned"
	chmod 0755 "$work/mnt/true-owned"
fi

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
	printf("%.4f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
EOC
cc -O2 -o "$work/storm" "$work/storm.c"

source "$(dirname "$0")/lib/interleave.sh"
storm_watched() { "$work/storm" "$work/mnt/true" "$per_round"; }
storm_unwatched() { "$work/storm" "$work/plain/true" "$per_round"; }
phase() { interleave "$rounds" storm_watched storm_unwatched; }

"$work/storm" "$work/mnt/true" 500 > /dev/null # warm up
"$work/storm" "$work/plain/true" 500 > /dev/null
base1=$(phase)

# ---- santad ----
santa_write_config MONITOR
santa_start_santad "$santad"
"$work/mnt/true" # first exec: hashed and cached
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# The exec-info BPF program runs at every exec, watched or not, so the ratio
# cannot show it: the kernel's own BPF statistics time it apart.
bpf_stats_was=$(sysctl -n kernel.bpf_stats_enabled 2> /dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2> /dev/null || true
bpf_prog_stats() { # prints "RUN_CNT RUN_TIME_NS" of santad's exec-info program, or "0 0"
	bpftool prog show --json 2> /dev/null | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin) if p.get("name") == "santa_exec_info"]
print(p[0].get("run_cnt", 0), p[0].get("run_time_ns", 0)) if p else print(0, 0)' 2> /dev/null || echo "0 0"
}
b0=$(bpf_prog_stats)
c0=$(cpu_ticks)
with_santad=$(phase)
c1=$(cpu_ticks)
b1=$(bpf_prog_stats)
with_owned=
if [ -n "$owner" ]; then
	"$work/mnt/true-owned" # hashed and cached
	storm_owned() { "$work/storm" "$work/mnt/true-owned" "$per_round"; }
	with_owned=$(interleave "$rounds" storm_owned storm_unwatched)
fi
sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_was" 2> /dev/null || true
rss=$(awk '/VmRSS/ {r = $2} /VmHWM/ {h = $2} END {print r " kB (peak " h " kB, at start: libbpf reads the kernel BTF)"}' /proc/"$pid"/status)
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
kill "$pid"
wait "$pid" 2> /dev/null || true
pid=
lines=$(wc -l < "$work/santa.log")

# ---- santad, logging nothing (EventLogType null): the cost of a log line per exec, apart ----
sed -i 's/^ClientMode = MONITOR$/ClientMode = MONITOR\nEventLogType = null/' "$work/santa.conf"
santa_start_santad "$santad"
"$work/mnt/true"
with_santad_null=$(phase)
kill "$pid"
wait "$pid" 2> /dev/null || true
pid=

# ---- fapolicyd, where installed ----
with_fapolicyd=
source "$(dirname "$0")/lib/fapolicyd.sh"
if fapolicyd_installed && fapolicyd_start "$fapolicyd_rules_lockdown" "$work/mnt/true" "$work/mnt/ld.so"; then
	if "$work/mnt/true"; then
		with_fapolicyd=$(phase)
	else
		echo "fapolicyd denied the trusted binary"
	fi
	fapolicyd_stop
fi

base2=$(phase)
base=$(base_ratio "$base1" "$base2")

echo "exec storm: $n execs per condition in $rounds interleaved rounds of $per_round"
echo "  (watched = $work/mnt, tmpfs; unwatched = $work/plain, ramfs; overhead relative to the no-daemon ratio $base)"
ratio_report "no daemon (before)" "$base1" "$base" "$n"
ratio_report "santad MONITOR cached" "$with_santad" "$base" "$n"
ratio_report "santad, EventLogType null" "$with_santad_null" "$base" "$n"
[ -z "$with_owned" ] || ratio_report "santad, program of $owner" "$with_owned" "$base" "$n"
if [ -n "$with_fapolicyd" ]; then
	ratio_report "fapolicyd allow-trusted" "$with_fapolicyd" "$base" "$n"
else
	echo "  fapolicyd               not measured (not installed: apt-get install fapolicyd)"
fi
ratio_report "no daemon (after)" "$base2" "$base" "$n"
read -r bc0 bt0 <<< "$b0"
read -r bc1 bt1 <<< "$b1"
if [ "$bc1" -gt "$bc0" ]; then
	echo "  santad's exec-info BPF program: $((bc1 - bc0)) runs (every exec, watched or not), $(((bt1 - bt0) / (bc1 - bc0))) ns each"
else
	echo "  santad's exec-info BPF program: not running (santactl status: exec_info)"
fi
awk -v n="$n" -v rss="$rss" -v lines="$lines" -v cpu="$(( (c1 - c0) * 1000 / $(getconf CLK_TCK) ))" \
	-v asked="$asked" 'BEGIN {
	printf "  santad: RSS %s; %d lines logged; CPU %d ms over both filesystems (%.1f us per watched exec)\n", rss, lines, cpu, cpu * 1000.0 / n
	split(asked, a, " ")
	printf "  execs santad was asked about: %s; allowed by the kernel through an ignore mark (only logged): %s\n", a[1], a[2]
}'
