#!/usr/bin/env bash
# Where santad's CPU goes during a developer's build: bench/build_storm.sh
# (ROUNDS rounds, 2 by default: the ratios of so few rounds mean little, the
# profile is what is wanted) with `perf record -g` on santad over each timed
# build, then for santad (loader check on) and santad-noloader: the share of
# each of santad's threads, and per thread the functions and system calls
# that take most (children included, so a syscall's share is all it costs).
# Then one more round under `perf trace -s`: each thread's system calls over
# a timed build, counted (divide by the exec lines and loader-check opens the
# first run printed for the calls per event). With BENCH_BASE_SANTAD=PATH the
# base binary is profiled too (santad-base). The perf data stay in OUT (a
# temporary directory by default) for `perf report -i OUT/perf.CONDITION`.
#
# usage: bench/build_profile.sh SANTAD [FILES] [ROUNDS] [OUT]   (as root; a
#        Release build with -fno-omit-frame-pointer gives whole call chains)
set -euo pipefail
santad=$1
files=${2:-121}
rounds=${3:-2}
out=${4:-$(mktemp -d /tmp/santa-build-profile.XXXXXX)}
here=$(cd "$(dirname "$0")" && pwd)
command -v perf > /dev/null || { echo "perf is not installed"; exit 1; }
mkdir -p "$out"

BENCH_NO_FAPOLICYD=1 BENCH_PERF=$out/perf bash "$here/build_storm.sh" "$santad" "$files" "$rounds" |
	tee "$out/storm.txt"
BENCH_NO_FAPOLICYD=1 BENCH_TRACE=$out/trace bash "$here/build_storm.sh" "$santad" "$files" 1 > /dev/null

for c in santad santad-noloader santad-base; do
	data=$out/perf.$c
	[ -s "$data" ] || continue
	echo
	echo "== $c (the last round's timed build): santad's samples by thread"
	perf report -i "$data" --no-children --sort comm --stdio -g none 2> /dev/null |
		grep -E '^ +[0-9.]+%' | head -8
	for t in $(perf report -i "$data" --no-children --sort comm --stdio -g none 2> /dev/null |
		awk '/^ +[0-9.]+%/ && $1 + 0 >= 5 { print $2 }'); do
		echo "  -- thread $t: functions and syscalls, share of all santad's samples (children included)"
		perf report -i "$data" --comm "$t" --children --sort sym --stdio -g none 2> /dev/null |
			grep -E '^ +[0-9.]+%' |
			grep -E '\[\.\] [a-z_]|__x64_sys_|schedule$|finish_task_switch' |
			grep -vE '__libc_start|start_thread|main$|_sd_event|sd_event_(run|dispatch|loop)' |
			head -24 | sed 's/^/    /'
	done
	[ -s "$out/trace.$c" ] || continue
	echo "  -- system calls over one timed build, per thread (perf trace -s; msec: time inside them)"
	awk '/^ [^ ].*\([0-9]+\), [0-9]+ events/ { n = 0; print "    " $0; next }
		/^ +[a-z_0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+/ { if (n++ < 10) print "      " $0 }' "$out/trace.$c"
done
echo
echo "perf data: $out/perf.santad, $out/perf.santad-noloader"
