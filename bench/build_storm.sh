#!/usr/bin/env bash
# A user's build: what the loader check (FAN_OPEN_PERM) costs where it costs
# most, on files others than root may write (no ignore marks there, so each
# open is a round trip to santad). A user (nobody) compiles C files, each
# including a dozen of the project's own headers, from a watched tmpfs and
# from an unwatched ramfs, in interleaved rounds (as bench/exec_storm.sh):
#   no daemon; santad (MONITOR, loader check on); santad with
#   EnableLoaderCheck = false; fapolicyd (allow-trusted rules) when installed.
# Overhead = phase ratio / no-daemon ratio - 1.
# usage: bench/build_storm.sh SANTAD [FILES] [ROUNDS]   (as root; Release build)
set -euo pipefail
santad=$(realpath "$1")
files=${2:-40}
rounds=${3:-6}
santactl=$(realpath "$(dirname "$santad")/../santactl/santactl")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib/private_tmpfs.sh" "$@"
source "$here/lib/fapolicyd.sh"
mkdir -p "$work/plain"
mount -t ramfs -o mode=0755 ramfs "$work/plain"
chmod 0755 "$work"

# The project: FILES sources, 12 headers, owned by the user who builds.
for dir in "$work/mnt/src" "$work/plain/src"; do
	mkdir -p "$dir"
	for h in $(seq 1 12); do
		printf '#pragma once\nstatic inline int h%d(int x) { return x * %d; }\n' "$h" "$h" > "$dir/h$h.h"
	done
	for f in $(seq 1 "$files"); do
		{ for h in $(seq 1 12); do echo "#include \"h$h.h\""; done
		  echo "int f$f(int x) { return h1(x) + h12(x) + $f; }"; } > "$dir/f$f.c"
	done
	chown -R 65534:65534 "$dir"
done

build() { # DIR: seconds to compile every file there, as nobody
	setpriv --reuid=65534 --regid=65534 --clear-groups bash -c '
		cd "$1" && s=$(date +%s.%N)
		for c in f*.c; do gcc -c -O0 "$c" -o "${c%.c}.o" || exit 1; done
		e=$(date +%s.%N); echo "$e - $s" | bc' sh "$1"
}

source "$here/lib/interleave.sh"
build_watched() { build "$work/mnt/src"; }
build_unwatched() { build "$work/plain/src"; }
phase() { interleave "$rounds" build_watched build_unwatched; }

santad_phase() { # EXTRA-CONFIG-LINE
	santa_write_config MONITOR "$1"
	santa_start_santad "$santad"
	phase
	kill "$pid"
	wait "$pid" 2> /dev/null || true
	pid=
}

build "$work/mnt/src" > /dev/null # warm up gcc and the page cache
build "$work/plain/src" > /dev/null
base1=$(phase)
with_loader=$(santad_phase "")
without_loader=$(santad_phase "EnableLoaderCheck = false")
with_fap=
if fapolicyd_installed && fapolicyd_start "$fapolicyd_rules_lockdown"; then
	with_fap=$(phase)
	fapolicyd_stop
fi
base2=$(phase)
base=$(base_ratio "$base1" "$base2")

echo "build storm: $files files x 12 headers compiled by a user, $rounds interleaved rounds per condition"
ratio_report "no daemon (before)" "$base1" "$base"
ratio_report "santad, loader check on" "$with_loader" "$base"
ratio_report "santad, loader check off" "$without_loader" "$base"
if [ -n "$with_fap" ]; then
	ratio_report "fapolicyd allow-trusted" "$with_fap" "$base"
else
	echo "  fapolicyd                    not measured (not installed)"
fi
ratio_report "no daemon (after)" "$base2" "$base"
