#!/usr/bin/env bash
# A developer's build, as santad's users run one every day: an unprivileged
# user runs `make -j2` in a tree of their own (FILES C files, each including
# system headers and a dozen of the tree's headers, linked into one program
# at the end). Everything the build touches is watched, as on a real
# machine: the build runs chrooted into a bind mount of / (the compiler, the
# linker, the loader, the system headers) with tmpfs mounts for its /tmp and
# the tree, and santad (WatchMarkType = mount, WatchPaths = that bind mount)
# or fapolicyd watches exactly those mounts of this private mount namespace;
# nothing else on the machine is watched.
#
# Conditions, interleaved within each of ROUNDS rounds (their order rotates
# from round to round, so the machine's drift falls on all alike):
#   none            no daemon
#   santad          the default configuration (MONITOR, the loader check on,
#                   a log line per exec)
#   santad-noloader the same with EnableLoaderCheck = false
#   fapolicyd       Debian's fapolicyd, permissive, with the allow-trusted
#                   rules (when installed; BENCH_NO_FAPOLICYD=1: left out)
#   santad-base     with BENCH_BASE_SANTAD=PATH: another santad binary (the
#                   one before a change) in the default configuration, for
#                   an A/B comparison within one run
# Each daemon is started for its turn, warmed by one untimed build (its
# decisions cached, as on a machine running for a while), then timed on a
# clean build. A condition's ratio in a round is its time over that round's
# no-daemon time; the report gives the median ratio and the spread
# (smallest and largest) over the rounds.
# BENCH_PERF=PREFIX: `perf record -g` of santad over each timed build (the
# last round's kept, PREFIX.CONDITION); BENCH_TRACE=PREFIX: `perf trace -s`
# instead (each thread's system calls, counts and times).
#
# Then a profile: santad's own CPU per exec and per loader-check open (from
# its /proc stat over the timed builds and the counts it reports), the
# build's own CPU (user and system time of its processes, against the
# no-daemon build's in the same round: the kernel's work for santad's marks
# and events inside the build, apart from the CPU santad takes), and what
# a user's process waits (an open of one of the user's files, a spawn of
# /bin/true: microseconds each, with and without santad).
#
# usage: bench/build_storm.sh SANTAD [FILES] [ROUNDS]   (as root; Release build)
set -euo pipefail
santad=$(realpath "$1")
files=${2:-121}
rounds=${3:-5}
santactl=$(realpath "$(dirname "$santad")/../santactl/santactl")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib/private_tmpfs.sh" "$@"
source "$here/lib/fapolicyd.sh"
chmod 0755 "$work"

# ---- The build's root: / through a bind mount, with its own /tmp, /dev, /mnt ----
root=$work/root
mkdir -p "$root"
mount --bind / "$root"
mount --make-private "$root"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mount -t tmpfs -o mode=0755 tmpfs "$root/mnt"
tree=$root/mnt/src
fs_type=$(findmnt -n -o FSTYPE /)

# ---- The project ----
mkdir -p "$tree"
for h in $(seq 1 12); do
	printf '#pragma once\nstatic inline int h%d(int x) { return x * %d; }\n' "$h" "$h" > "$tree/h$h.h"
done
for f in $(seq 1 "$files"); do
	{
		echo '#include <stdio.h>'
		echo '#include <stdlib.h>'
		echo '#include <string.h>'
		for h in $(seq 1 12); do echo "#include \"h$h.h\""; done
		echo "int f$f(const char *s) { char *p = malloc(strlen(s) + 1); int n;"
		echo "	strcpy(p, s); n = printf(\"%s %d\\n\", p, h1($f) + h12($f)); free(p); return n; }"
		[ "$f" -ne 1 ] || echo 'int main(void) { return f1("build") < 0; }'
	} > "$tree/f$f.c"
done
cat > "$tree/Makefile" <<'EOM'
SRCS := $(wildcard f*.c)
OBJS := $(SRCS:.c=.o)
prog: $(OBJS)
	gcc -o $@ $(OBJS)
%.o: %.c $(wildcard h*.h)
	gcc -O0 -c $< -o $@
clean:
	rm -f prog $(OBJS)
EOM
chown -R 65534:65534 "$tree"

as_user() { # COMMAND...: in the build's root, as the user (nobody), in the tree
	chroot --userspec=65534:65534 --groups=65534 "$root" /usr/bin/env -i \
		PATH=/usr/bin:/bin HOME=/mnt/src TMPDIR=/tmp LC_ALL=C "$@"
}

build() { # prints the microseconds a clean `make -j2` takes; its processes' CPU in $work/build_cpu
	local s e TIMEFORMAT='%3U %3S'
	as_user make -s -C /mnt/src clean
	s=${EPOCHREALTIME/./}
	{ time as_user make -s -C /mnt/src -j2 prog > /dev/null; } 2> "$work/build_cpu"
	e=${EPOCHREALTIME/./}
	as_user /mnt/src/prog > /dev/null # it was built and runs
	echo $((e - s))
}

# ---- The daemons ----
write_santad_config() { # EXTRA-LINE...
	santa_write_config MONITOR "$@"
	sed -i -e "s|^WatchPaths = .*|WatchPaths = $root|" "$work/santa.conf"
}

cpu_ns() { # a process's CPU time so far, its threads' included (ns)
	cat /proc/"$1"/task/*/schedstat 2> /dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}
thread_ns() { # PID: each thread's name and CPU time so far (ns), summed by name
	local t
	for t in /proc/"$1"/task/*; do
		echo "$(cat "$t/comm" 2> /dev/null) $(cut -d' ' -f1 "$t/schedstat" 2> /dev/null)"
	done | awk 'NF == 2 { s[$1] += $2 } END { for (n in s) print n, s[n] }'
}
status_json() { SANTA_CONFIG=$work/santa.conf "$santactl" status --json 2> /dev/null || echo '{}'; }
json_field() { # JSON PATH...: a number in santactl's status, 0 when absent
	python3 - "$@" <<'PY'
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2:]:
	v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if isinstance(v, (int, float)) else 0)
PY
}
log_lines() { grep -c '|decision=' "$work/santa.log" 2> /dev/null || echo 0; }

start_condition() { # CONDITION
	local bin=$santad
	case $1 in
	santad) write_santad_config ;;
	santad-base)
		write_santad_config
		bin=$(realpath "$BENCH_BASE_SANTAD") ;;
	santad-noloader) write_santad_config "EnableLoaderCheck = false" ;;
	fapolicyd)
		FAP_WATCH_FS="$fs_type,tmpfs" FAP_PERMISSIVE=1 fapolicyd_start "$fapolicyd_rules_lockdown"
		return ;;
	*) return ;;
	esac
	rm -f "$work/santa.log"
	santa_start_santad "$bin"
}
stop_condition() { # CONDITION
	case $1 in
	santad*)
		[ -z "${BENCH_KEEP_LOG:-}" ] || cp "$work/santa.log" "$BENCH_KEEP_LOG.$1"
		kill "$pid"
		wait "$pid" 2> /dev/null || true
		pid= ;;
	fapolicyd) fapolicyd_stop ;;
	esac
}
timed_build() { # CONDITION: one warm-up build, then the timed one; prints microseconds
	local c=$1 t cpu0 cpu opens0 lines0 st
	build > /dev/null
	if [[ $c == santad* ]]; then
		st=$(status_json) # (its own CPU in santad falls outside the window)
		opens0=$(json_field "$st" daemon loader_check open_events)
		lines0=$(log_lines)
		cpu0=$(cpu_ns "$pid")
		thread_ns "$pid" > "$work/threads0"
		if [ -n "${BENCH_PERF:-}" ]; then # a profile of santad over the timed build
			perf record -q -F 15000 -g -p "$pid" -o "$BENCH_PERF.$c" > /dev/null 2>&1 &
			perf_pid=$!
			sleep 0.5 # perf attaches
		elif [ -n "${BENCH_TRACE:-}" ]; then # santad's system calls, counted per thread
			perf trace -s -p "$pid" -o "$BENCH_TRACE.$c" > /dev/null 2>&1 &
			perf_pid=$!
			sleep 0.5
		fi
	fi
	t=$(build)
	# The build's own CPU (user and system time of make and every process it ran): what
	# santad adds inside the build's processes (the kernel's work for its marks and
	# events, the BPF exec info), apart from the CPU santad itself takes from them.
	awk -v c="$c" '{ printf "%s %d %d\n", c, $1 * 1e6, $2 * 1e6 }' "$work/build_cpu" >> "$work/build_cpus"
	if [ -n "${perf_pid:-}" ]; then
		kill -INT "$perf_pid"
		wait "$perf_pid" || true
		perf_pid=
	fi
	if [[ $c == santad* ]]; then
		cpu=$(($(cpu_ns "$pid") - cpu0))
		thread_ns "$pid" | awk -v c="$c" 'NR == FNR { s[$1] = $2; next }
			{ print c, $1, $2 - s[$1] }' "$work/threads0" - >> "$work/threads"
		st=$(status_json)
		# Called in a subshell: the counts go to a file.
		echo "$cpu $(($(log_lines) - lines0))" \
			"$(($(json_field "$st" daemon loader_check open_events) - opens0))" >> "$work/profile-$c"
	fi
	echo "$t"
}

conditions=(none santad santad-noloader)
if [ -n "${BENCH_BASE_SANTAD:-}" ]; then
	conditions+=(santad-base)
fi
if fapolicyd_installed && [ -z "${BENCH_NO_FAPOLICYD:-}" ]; then
	conditions+=(fapolicyd)
fi
n_cond=${#conditions[@]}

build > /dev/null # warm the page cache
rows=""
for r in $(seq 1 "$rounds"); do
	row=""
	for i in $(seq 0 $((n_cond - 1))); do
		c=${conditions[$(((i + r) % n_cond))]}
		start_condition "$c"
		t=$(timed_build "$c")
		stop_condition "$c"
		row+="$c=$t "
	done
	rows+="$row"$'\n'
	echo "round $r: $row" >&2
done

echo "build storm: make -j2 of $files C files (system headers and 12 of the tree's each, one link),"
echo "as an unprivileged user in their own tree; $rounds rounds, conditions interleaved"
python3 - "$rounds" "${conditions[@]}" <<PY
import math, statistics, sys
rounds, conds = int(sys.argv[1]), sys.argv[2:]
rows = [dict(kv.split("=") for kv in l.split()) for l in """$rows""".splitlines() if l.strip()]
base = [float(r["none"]) for r in rows]
# Each round's ratio is paired with that round's no-daemon build; their geometric
# mean and its standard error (of the mean of the logs) say how well the rounds
# pin the ratio down: the spread of single rounds is much wider on a noisy VM.
def gmean_se(ratios):
	logs = [math.log(x) for x in ratios]
	se = statistics.stdev(logs) / math.sqrt(len(logs)) if len(logs) > 1 else float("nan")
	return math.exp(statistics.mean(logs)), se
print("  %-16s %9s  %7s  %-17s %s" % ("condition", "median s", "ratio", "geomean ± s.e.",
	"spread of the rounds' ratios"))
for c in conds:
	t = [float(r[c]) for r in rows]
	ratios = [a / b for a, b in zip(t, base)]
	g, se = gmean_se(ratios)
	print("  %-16s %9.3f  x%.3f  x%.3f ± %.3f    x%.3f .. x%.3f" % (c, statistics.median(t) / 1e6,
		statistics.median(ratios), g, se, min(ratios), max(ratios)))
for a, b, what in (("santad", "santad-noloader", "the loader check's own share"),
		   ("santad", "santad-base", "this binary against the base")):
	if a in conds and b in conds:
		g, se = gmean_se([float(r[a]) / float(r[b]) for r in rows])
		print("  %s (%s over %s, paired by round): x%.3f ± %.3f" % (what, a, b, g, se))
PY

# ---- Profile: santad's CPU per event, over the timed builds ----
python3 - "$work/profile-santad" "$work/profile-santad-noloader" <<'PY'
import sys
def totals(path):
	rows = [list(map(int, l.split())) for l in open(path) if l.strip()]
	ns, lines, opens = (sum(r[i] for r in rows) for i in range(3))
	return ns / 1e3 / len(rows), lines / len(rows), opens / len(rows)
on, off = totals(sys.argv[1]), totals(sys.argv[2])
print("  santad's CPU per timed build: %.0f ms with the loader check, %.0f ms without;"
      % (on[0] / 1e3, off[0] / 1e3))
print("    %.0f exec lines a build: %.1f us each (loader check off);"
      " %.0f loader-check opens a build: %.1f us each (the difference)"
      % (off[1], off[0] / max(1, off[1]), on[2], (on[0] - off[0]) / max(1, on[2])))
PY

# ---- Profile: the build's own CPU per condition (user and system, medians over the rounds) ----
python3 - "$work/build_cpus" <<'PY'
import statistics, sys
cpu = {}
for line in open(sys.argv[1]):
	c, u, s = line.split()
	cpu.setdefault(c, []).append((int(u), int(s)))
none = cpu.get("none")
print("  the build's own CPU (make and every process it ran), median of the rounds:")
for c, v in cpu.items():
	u = statistics.median(x[0] for x in v) / 1e3
	s = statistics.median(x[1] for x in v) / 1e3
	rel = ""
	if none and c != "none":
		pairs = list(zip(v, none))
		rel = "; x%.3f of the no-daemon build's in the same round (system time x%.3f)" % (
			statistics.median((a[0] + a[1]) / (b[0] + b[1]) for a, b in pairs),
			statistics.median(a[1] / b[1] for a, b in pairs))
	print("    %-16s user %6.0f ms, system %6.0f ms%s" % (c, u, s, rel))
PY

# ---- Profile: which of santad's threads spends it (ms per timed build) ----
awk -v rounds="$rounds" '{ ms[$1 " " $2] += $3 / 1e6 / rounds } END {
	for (k in ms) if (ms[k] >= 0.05) printf "    %-34s %6.1f ms\n", k, ms[k] }' "$work/threads" | sort

# ---- Profile: what a user's process waits, per open and per spawn ----
cat > "$tree/wait.c" <<'EOC'
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
	int n = atoi(argv[1]), i, st;
	double a = now();
	for (i = 0; i < n; i++) { int fd = open("/mnt/src/h1.h", O_RDONLY); if (fd < 0) return 1; close(fd); }
	double b = now();
	char *args[] = { "/bin/true", NULL };
	for (i = 0; i < n / 10; i++) { pid_t p; if (posix_spawn(&p, "/bin/true", NULL, NULL, args, environ)) return 1; waitpid(p, &st, 0); }
	double c = now();
	printf("%.2f %.1f\n", (b - a) * 1e6 / n, (c - b) * 1e6 / (n / 10));
	return 0;
}
EOC
gcc -O2 -o "$tree/wait" "$tree/wait.c"
waits() { as_user /mnt/src/wait 20000; }
w_none=$(waits)
write_santad_config
santa_start_santad "$santad"
waits > /dev/null
w_santad=$(waits)
stop_condition santad
write_santad_config "EnableLoaderCheck = false"
santa_start_santad "$santad"
waits > /dev/null
w_noloader=$(waits)
stop_condition santad
echo "  a user's process waits (us per open of an own file / per spawn of /bin/true):"
echo "    no daemon $w_none; santad $w_santad; santad, loader check off $w_noloader"
