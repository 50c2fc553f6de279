#!/usr/bin/env bash
# santad's memory with a large rules database (issue santad: RSS under 30 MB
# with 1,000,000 rules): rules_bench writes N BINARY rules into rules.db, santad
# starts on it (BPF programs and all), decides M distinct unknown programs
# (each a hash and a rule lookup that misses), answers santactl status (rule
# counts), and its VmRSS / VmHWM are read from /proc. Private tmpfs in a
# private mount namespace: nothing else is watched.
# usage: bench/santad_rss.sh SANTAD [N] [M]   (as root; Release build)
set -euo pipefail
santad=$(realpath "$1")
n=${2:-1000000}
m=${3:-200}
build=$(dirname "$santad")/../..
santactl=$(realpath "$build/src/santactl/santactl")
rules_bench=$(realpath "$build/bench/rules_bench")

source "$(dirname "$0")/../tests/lib/private_tmpfs.sh" "$@"

"$rules_bench" "$n" "$work/state/rules.db" | sed 's/^/  rules_bench: /'
for i in $(seq 1 "$m"); do
	cp /bin/true "$work/mnt/p$i"
	printf '%08d' "$i" >> "$work/mnt/p$i" # a distinct hash each
done
santa_write_config MONITOR
santa_start_santad "$santad"
rss() { awk '/VmRSS/ {r = $2} /VmHWM/ {h = $2} END {print r " kB (peak " h " kB)"}' "/proc/$pid/status"; }
echo "santad with $n rules: started: $(rss)"
for i in $(seq 1 "$m"); do "$work/mnt/p$i"; done
echo "santad after deciding $m unknown programs: $(rss)"
rules=$(SANTA_CONFIG=$work/santa.conf "$santactl" status --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["database"]["binary_rules"])' 2> /dev/null || echo "?")
echo "santad after santactl status (binary rules: $rules): $(rss)"
