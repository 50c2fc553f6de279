#!/usr/bin/env bash
# Compile-and-run loop: N times a "compiler" (a copy of cp with an
# ALLOWLIST_COMPILER rule) writes a new program (distinct bytes each time)
# and the program is run at once, measured side by side in one run: no
# daemon, santad in MONITOR, santad in LOCKDOWN with transitive rules (each
# new program is allowed only because the compiler wrote it). Runs on a
# private tmpfs in its own mount namespace. Prints times and ratios.
# usage: bench/transitive_loop.sh SANTAD SANTACTL [N]   (as root; a Release build)
set -euo pipefail
santad=$(realpath "$1")
santactl=$(realpath "$2")
n=${3:-300}

source "$(dirname "$0")/../tests/lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
cp /usr/bin/cp "$mnt/cc"
mkdir -p "$work/src"
for i in $(seq 1 "$((n * 3))"); do # distinct programs: true with its number appended
	cp /usr/bin/true "$work/src/p$i"
	printf '%s' "$i" >> "$work/src/p$i"
done
export SANTA_CONFIG=$work/santa.conf

round=0
loop() { # compile and run n new programs; prints seconds
	local t0 t1 i
	t0=$(date +%s.%N)
	for i in $(seq $((round * n + 1)) $(((round + 1) * n))); do
		"$mnt/cc" "$work/src/p$i" "$mnt/out$i"
		"$mnt/out$i"
	done
	t1=$(date +%s.%N)
	round=$((round + 1))
	echo "$t1 - $t0" | bc
}

start() { # extra config lines
	{ santa_test_config; echo "SantactlPath = $santactl"; printf '%s\n' "$@"; } > "$work/santa.conf"
	chmod 0644 "$work/santa.conf"
	santa_start_santad "$santad"
}
stop() { kill "$pid"; wait "$pid" 2> /dev/null || true; pid=; }

base=$(loop)
start "ClientMode = MONITOR"
monitor=$(loop)
stop
rm -f "$work/state/rules.db"* "$work/santa.log"
start "ClientMode = LOCKDOWN" "EnableTransitiveRules = true"
"$santactl" rule --compiler --sha256 "$(sha256sum "$mnt/cc" | cut -d' ' -f1)" > /dev/null
lockdown=$(loop)
rules=$("$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["database"]["transitive_rules"])')
reasons=$(grep -o 'reason=[A-Z_]*' "$work/santa.log" | sort | uniq -c | tr '\n' ' ')
stop

awk -v n="$n" -v b="$base" -v m="$monitor" -v l="$lockdown" -v rules="$rules" 'BEGIN {
	printf "compile-and-run loop: %d new programs written by a compiler and run at once\n", n
	printf "  no daemon                       %7.3f s  (%.2f ms/round)\n", b, b / n * 1000
	printf "  santad MONITOR                  %7.3f s  (%.2f ms/round)  x%.3f\n", m, m / n * 1000, m / b
	printf "  santad LOCKDOWN + transitive    %7.3f s  (%.2f ms/round)  x%.3f, vs MONITOR x%.3f\n", l, l / n * 1000, l / b, l / m
	printf "  transitive rules recorded: %d\n", rules
}'
echo "  reasons logged in LOCKDOWN: $reasons"
