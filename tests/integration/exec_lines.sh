#!/usr/bin/env bash
# One exec, one log line, as on Santa. A dynamic program's exec opens the
# program and then its loader (PT_INTERP), and fanotify tells santad of both;
# the loader's is that program's interpreter, not an exec of its own, and
# gets no line. The loader run as a program (`ld.so PROGRAM`) keeps its line.
# Here the loader is a copy on the watched tmpfs and the program names it as
# its interpreter, so that both opens are on a watched filesystem, as on a
# machine where santad watches /.
# usage: exec_lines.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"

cp "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$mnt/ld.so"
printf 'int main(void) { return 0; }\n' > "$work/hello.c"
cc -o "$mnt/hello" "$work/hello.c" -Wl,--dynamic-linker="$mnt/ld.so"
cc -static -o "$mnt/marker" "$work/hello.c"
readelf -l "$mnt/hello" | grep -q "interpreter: $mnt/ld.so" || { echo "hello has no interpreter $mnt/ld.so"; exit 1; }

santa_write_config MONITOR "EnableLoaderCheck = false"
santa_start_santad "$santad"
# Once the package view is loaded (it flushes decisions and marks when it is):
# the marks the checks below rely on stay.
view_loaded() {
	SANTA_CONFIG=$work/santa.conf "$santactl" status --json |
		python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["package_trust"]["loaded"] else 1)'
}
wait_or_die 60 "santad loaded its package view" view_loaded

lines() { grep -c "|path=$1\(|\|\$\)" "$work/santa.log" 2> /dev/null || true; }
# Lines of notifications read before the marker's are written by the time a
# second marker's line is: a notification read before its exec finished waits
# one batch, and the next batch retries it first.
test_lines_ge() { [ "$(lines "$1")" -ge "$2" ]; }
marker_runs=0
settle() {
	local i
	for i in 1 2; do
		marker_runs=$((marker_runs + 1))
		"$mnt/marker"
		wait_or_die 30 "the marker's line $marker_runs" test_lines_ge "$mnt/marker" "$marker_runs"
	done
}

# The first exec decides the loader copy (an unknown file) on the permission
# path: that decision has its line (held for its args at most 0.5 s).
"$mnt/hello"
test_ld_lines() { [ "$(lines "$mnt/ld.so")" -eq 1 ]; }
wait_or_die 30 "the loader copy's first decision has its line" test_ld_lines
n=20
for _ in $(seq 1 "$n"); do "$mnt/hello"; done
settle
check "each of $n more execs of a dynamic program has its line ($(lines "$mnt/hello"))" \
	test "$(lines "$mnt/hello")" -eq $((n + 1))
check "its loader, opened as its interpreter, has no more lines ($(lines "$mnt/ld.so") for $((n + 1)) execs)" \
	test "$(lines "$mnt/ld.so")" -eq 1
first_ld=1

# The loader run as a program: its own exec, logged with its args.
"$mnt/ld.so" "$mnt/hello"
settle
check "the loader run as a program has its line" test "$(lines "$mnt/ld.so")" -eq $((first_ld + 1))
check "with its args" grep -q "|path=$mnt/ld.so|args=$mnt/ld.so $mnt/hello" "$work/santa.log"
# Santa's pidversion: on Linux the process's start in clock ticks since boot
# (field 22 of /proc/PID/stat), on a decided exec's line (read from /proc)
# and on a cached one's (from the BPF program) alike.
cp /bin/sleep "$mnt/sleeper"
runs_sleeper() { [ "$(readlink "/proc/$1/exe")" = "$mnt/sleeper" ]; }
for run in decided cached; do
	"$mnt/sleeper" 30 &
	spid=$!
	wait_or_die 10 "sleeper $run exec'd" runs_sleeper "$spid"
	start=$(sed 's/.*) //' "/proc/$spid/stat" | cut -d' ' -f20)
	wait_until 10 grep -q "|pid=$spid|pidversion=$start|ppid=$$|.*|path=$mnt/sleeper|" "$work/santa.log" &&
		pass "a $run exec's line has its pidversion (start $start)" ||
		{ fail "no line for sleeper $spid with pidversion=$start"; grep sleeper "$work/santa.log" || true; }
	kill "$spid"
	wait "$spid" 2> /dev/null || true
done

# A file the kernel stopped asking about (an ignore mark), changed without
# the modify event that drops the mark (root's shared writable mapping, then
# new times): its exec still has its line, saying so, and the next one is
# decided afresh, with the new bytes' hash.
cp /bin/true "$mnt/changed"
"$mnt/changed"
settle
python3 - "$mnt/changed" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[-1] = (m[-1] + 1) % 256  # a byte past the code: it still runs
m.close()
os.close(fd)
PY
touch -d @1000000000 "$mnt/changed"
new_sha=$(sha256sum < "$mnt/changed" | cut -d' ' -f1)
"$mnt/changed"
settle
check "an exec the kernel allowed by a mark, of a file changed since, has its line" \
	grep -q "decision=ALLOW|reason=UNKNOWN|explain=allowed by the kernel's cache; the file changed or was forgotten since it was decided|.*|path=$mnt/changed|" "$work/santa.log"
"$mnt/changed"
settle
check "the next exec is decided afresh, with the new hash" \
	grep -q "decision=ALLOW|reason=UNKNOWN|sha256=$new_sha|.*|path=$mnt/changed|" "$work/santa.log"

check_finish exec_lines
