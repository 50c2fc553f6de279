#!/usr/bin/env bash
# Issue class A: identical jobs for one file are merged, and merging is no
# lever against another user. Played as nobody (uid 65534) against santad in
# LOCKDOWN on a private tmpfs, with one hash worker (and root's own):
#  - eight execs at once of one large unknown program: one hash, the seven
#    others wait for it (merged), all eight get the same decision, each its
#    own line, and the decision is stored once for the sync server;
#  - nobody fills their lane with programs of holes, then starts an exec of
#    a large program another user (uid 4242) is allowed to run: that exec
#    waits far behind nobody's queue. uid 4242's exec of the same file is not
#    merged into it: it is decided in 4242's own lane, by its rule, in time;
#  - nobody's second exec of a program whose hash outlasts the test waits
#    for the first's job and is denied by its own deadline.
# usage: merge.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
source "$here/../lib/santad_metric.sh"
chmod 0755 "$work"
mnt=$work/mnt

as_user() { # UID CMD...
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# timed_exec UID PATH OUT: runs PATH as UID; OUT gets "ran"/"denied" and the ms it took.
timed_exec() {
	local t0 rc=0
	t0=$(now_ms)
	as_user "$1" "$2" > /dev/null 2> "$3.err" || rc=$?
	if [ "$rc" -eq 0 ]; then echo ran; elif grep -q "Operation not permitted" "$3.err"; then echo denied;
	else echo "error $rc"; fi > "$3"
	echo $(($(now_ms) - t0)) >> "$3"
}
lines_of() { grep -cF "|path=$1" "$work/santa.log" 2> /dev/null || true; }

mkdir "$mnt/home" "$mnt/shared"
chown 65534:65534 "$mnt/home"
# Unknown, large: its hash takes a while, so eight execs at once overlap it.
as_user 65534 cp /bin/true "$mnt/home/big"
as_user 65534 truncate -s 1G "$mnt/home/big"
for i in $(seq 1 40); do
	as_user 65534 cp /bin/ls "$mnt/home/peta$i"
	as_user 65534 truncate -s 1P "$mnt/home/peta$i"
done

# A deadline far longer than the hash, even on a loaded machine: the first part
# is about merging, not about deadlines.
santa_write_config LOCKDOWN "DecisionTimeoutMs = 60000" "EnableLoaderCheck = false" \
	"HashWorkerThreads = 1" "SyncBaseURL = https://sync.invalid/santa/"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
children=()
stop_children() {
	for c in "${children[@]}"; do kill -KILL -- "-$c" 2> /dev/null || true; done
	for c in "${children[@]}"; do wait "$c" 2> /dev/null || true; done
	children=()
}
trap 'stop_children; santa_cleanup' EXIT
# Each in a process group of its own (timeout makes one), with a bound on its life.
spawn() { timeout -s KILL 120 "$@" & children+=($!); }

# ---- eight execs at once of one large unknown program ----
hashes0=$(santad_metric /santa/hash/count)
merged0=$(santad_metric /santa/decisions/merged)
# Eight children of one process, held at a barrier, exec at the same moment.
python3 - "$mnt/home/big" "$work" <<'EOP'
import os, sys
target, work = sys.argv[1:]
r, w = os.pipe()
kids = []
for i in range(1, 9):
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        os.read(r, 1)  # the barrier: every child is ready
        try:
            os.execv(target, [target])
        except OSError as e:
            os._exit(126 if e.errno == 1 else 125)
    kids.append((i, pid))
os.close(r)
os.close(w)  # all children read EOF at once
for i, pid in kids:
    _, st = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(st)
    with open("%s/big.%d" % (work, i), "w") as f:
        f.write("denied\n" if code == 126 else "ran\n" if code == 0 else "error %d\n" % code)
EOP
wait_until 30 test "$(lines_of "$mnt/home/big")" -ge 8 || true
hashes=$(($(santad_metric /santa/hash/count) - hashes0))
merged=$(($(santad_metric /santa/decisions/merged) - merged0))
outcomes=$(for i in $(seq 1 8); do head -1 "$work/big.$i"; done | sort | uniq -c | tr -s ' ')
echo "# eight execs: $outcomes; $hashes hash(es), $merged merged"
check "all eight denied (unknown in LOCKDOWN) ($outcomes)" test "$outcomes" = " 8 denied"
check "one hash for the eight execs ($hashes)" test "$hashes" -eq 1
check "the others waited for it (merged: $merged)" test "$merged" -ge 1
check "eight lines ($(lines_of "$mnt/home/big"))" test "$(lines_of "$mnt/home/big")" -eq 8
decisions=$(grep -F "|path=$mnt/home/big" "$work/santa.log" |
	sed -n 's/.*|decision=\([A-Z_]*\)|reason=\([A-Z_]*\)|.*sha256=\([0-9a-f]*\)|.*/\1 \2 \3/p' | sort -u)
check "all with one decision, reason and hash ($decisions)" \
	test "$(wc -l <<< "$decisions")" -eq 1 -a "$(cut -d' ' -f1-2 <<< "$decisions")" = "DENY UNKNOWN"
rows=$(python3 - "$work/state/events.db" "$mnt/home" <<'EOP'
import sqlite3, sys, json
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(sum(1 for (j,) in db.execute("SELECT json FROM events")
          if json.loads(j).get("file_path") == sys.argv[2] and json.loads(j).get("file_name") == "big"))
EOP
)
check "the decision is stored once for the sync server ($rows events)" test "$rows" -eq 1

# Root's, readable by all, allowlisted for everyone: a program that santad
# hashes in about half a second here and now (the rate of the hash above), so
# that in 4242's own lane it is decided well within the 8 s deadline, and
# behind nobody's 40 jobs (a slice in 41) it would take far longer.
rate=$(( $(santad_metric /santa/hash/bytes) / ($(santad_metric /santa/hash/time_usec) + 1) )) # bytes per usec
size=$(( rate * 500000 ))
[ "$size" -ge $((64 << 20)) ] || size=$((64 << 20))
[ "$size" -le $((2 << 30)) ] || size=$((2 << 30))
echo "# santad hashes $rate MB/s here: the shared program is $((size >> 20)) MiB"
cp /bin/true "$mnt/shared/wanted"
truncate -s "$size" "$mnt/shared/wanted"
chmod 0755 "$mnt/shared/wanted"
wanted_sha=$(sha256sum < "$mnt/shared/wanted" | cut -d' ' -f1)

stop_santad() {
	kill "$pid"
	wait_or_die 30 "santad stops" bash -c "! kill -0 $pid 2> /dev/null"
	pid=
}
stop_santad

# ---- a merged exec keeps its own deadline ----
santa_write_config LOCKDOWN "DecisionTimeoutMs = 8000" "EnableLoaderCheck = false" \
	"HashWorkerThreads = 1" \
	"[StaticRule:wanted]" "identifier = $wanted_sha" "rule_type = BINARY" "policy = ALLOWLIST"
santa_start_santad "$santad"
santad_holds() { ls -l "/proc/$pid/fd" 2> /dev/null | grep -qF "$1"; }
# 100 GiB of holes: its hash outlasts the test. nobody runs it, then again
# 2 s later (a spacing, so that the two deadlines are told apart): the
# second waits for the first's job and is denied by its own deadline, 8 s
# after it started, not by the first's nor at the job's end.
as_user 65534 cp /bin/true "$mnt/home/endless"
as_user 65534 truncate -s 100G "$mnt/home/endless"
merged_e=$(santad_metric /santa/decisions/merged)
( timed_exec 65534 "$mnt/home/endless" "$work/endless.1" ) &
e1=$!
wait_or_die 30 "santad read nobody's first exec of it" santad_holds "$mnt/home/endless"
sleep 2
timed_exec 65534 "$mnt/home/endless" "$work/endless.2"
wait "$e1" || true
merged_e=$(($(santad_metric /santa/decisions/merged) - merged_e))
e2=$(head -1 "$work/endless.2")
e2_ms=$(tail -1 "$work/endless.2")
echo "# nobody's two execs of 100 GiB of holes: $(head -1 "$work/endless.1") after $(tail -1 "$work/endless.1") ms, $e2 after $e2_ms ms; $merged_e merged"
check "the second was merged into the first's job ($merged_e)" test "$merged_e" -eq 1
check "and denied by its own deadline ($e2 after $e2_ms ms; deadline 8000 ms)" \
	test "$e2" = denied -a "$e2_ms" -ge 7900 -a "$e2_ms" -lt 15000
check_eventually "both logged DENY TIMEOUT" 30 \
	test "$(grep -c "decision=DENY|reason=TIMEOUT|.*|path=$mnt/home/endless" "$work/santa.log")" -eq 2

# ---- merging is no lever against another user ----
# nobody's lane full of programs of holes, each exec'd anew every 3 s (each
# exec waits 8 s for its deadline): every job always has an exec waiting, so
# it hashes for ever, a slice at a time, its repeats merged into it.
for i in $(seq 1 40); do
	spawn setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		sh -c "while :; do '$mnt/home/peta$i' 2> /dev/null & sleep 3; done"
done
in_flight_at_least() { [ "$(santad_metric /santa/decisions/in_flight)" -ge "$1" ]; }
wait_or_die 60 "nobody's 40 programs of holes wait for a decision" in_flight_at_least 40
# nobody's exec of the shared program: its job waits behind the 40. santad
# read it once it holds the file's fd (fanotify opens it as santad reads).
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$mnt/shared/wanted" > /dev/null 2>&1 &
first=$!
wait_or_die 30 "santad read nobody's exec of it" santad_holds "$mnt/shared/wanted"
timed_exec 4242 "$mnt/shared/wanted" "$work/victim"
victim=$(head -1 "$work/victim")
victim_ms=$(tail -1 "$work/victim")
echo "# uid 4242's exec of the program nobody's queue holds: $victim in $victim_ms ms"
check "uid 4242's exec runs, decided in 4242's lane ($victim, $victim_ms ms; deadline 8000 ms)" \
	test "$victim" = ran -a "$victim_ms" -lt 8000
check_eventually "by its rule, not by the deadline" 30 \
	grep -q "decision=ALLOW|reason=BINARY|.*|uid=4242|.*|path=$mnt/shared/wanted" "$work/santa.log"
kill "$first" 2> /dev/null || true
wait "$first" 2> /dev/null || true
stop_children
stop_santad
check_finish merge
