#!/usr/bin/env bash
# Deadlines fire whatever santad's event loop does (issue 22: a million-rule
# batch or a rescan held the loop, and with it every deadline, for seconds).
# santad built with its test hooks (CMake SANTA_TEST_HOOKS, Debug builds only)
# stalls its loop for 3 s on SIGRTMIN+5. While it does:
#  - nobody's program of holes (its hash takes far longer than the 1 s
#    deadline of 1.5 s), whose exec santad read just before the stall, is denied by
#    its deadline (TIMEOUT), before the loop runs again;
#  - root's allowlisted program, decided before, runs at once (the kernel's
#    ignore mark: the kernel does not ask);
#  - once the loop runs again the late exec has its TIMEOUT line.
# usage: deadline_stall.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
source "$here/../lib/santad_metric.sh"
chmod 0755 "$work"
mnt=$work/mnt

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

cp /bin/true "$mnt/allowed"
allowed_sha=$(sha256sum < "$mnt/allowed" | cut -d' ' -f1)
mkdir "$mnt/home"
chown 65534:65534 "$mnt/home"
setpriv --reuid=65534 --regid=65534 --clear-groups -- cp /bin/ls "$mnt/home/holes"
setpriv --reuid=65534 --regid=65534 --clear-groups -- truncate -s 64G "$mnt/home/holes"

santa_write_config LOCKDOWN "DecisionTimeoutMs = 1500" "EnableLoaderCheck = false" \
	"[StaticRule:allow]" "identifier = $allowed_sha" "rule_type = BINARY" "policy = ALLOWLIST"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
grep -q "built with test hooks" "$work/santad.err" ||
	{ fail "santad was built without its test hooks (CMake SANTA_TEST_HOOKS)"; check_finish deadline_stall; }

check "root's allowlisted program runs (decided, cached, ignore mark)" "$mnt/allowed"
wait_or_die 30 "its decision is logged" grep -qF "|path=$mnt/allowed" "$work/santa.log"

# nobody's exec of holes: read by the loop, its job hashing, then the loop stalls.
t0=$(now_ms)
( setpriv --reuid=65534 --regid=65534 --clear-groups -- "$mnt/home/holes" > /dev/null 2>&1 &&
	echo ran > "$work/holes.out" || echo "denied $?" > "$work/holes.out"
  now_ms > "$work/holes.end" ) &
runner=$!
in_flight() { [ "$(santad_metric /santa/decisions/in_flight)" -ge 1 ]; }
wait_or_die 30 "santad took nobody's exec of holes" in_flight
kill -s RTMIN+5 "$pid"
wait_or_die 10 "the loop stalls" grep -q "test hook: the event loop stalls" "$work/santad.err"
t1=$(now_ms)
"$mnt/allowed"
t2=$(now_ms)
stalled_during_allowed=$(grep -c "the event loop runs again" "$work/santad.err" || true)
wait "$runner" || true
answered_ms=$(( $(cat "$work/holes.end") - t0 ))
stalled_at_answer=$(grep -c "the event loop runs again" "$work/santad.err" || true)
echo "# nobody's exec answered after $answered_ms ms; root's cached program took $((t2 - t1)) ms"
check "nobody's program of holes is denied ($(cat "$work/holes.out"))" grep -q '^denied' "$work/holes.out"
check "by its deadline while the loop was still stalled (the loop ran again only after it)" \
	test "$stalled_at_answer" -eq 0
check "after the stall began ($(( $(cat "$work/holes.end") - t1 )) ms after it was seen)" \
	test "$(cat "$work/holes.end")" -ge "$t1"
check "within 2.9 s of its exec with a 1.5 s deadline and a 3 s stall ($answered_ms ms)" \
	test "$answered_ms" -lt 2900
check "root's cached allowlisted program ran during the stall, at once ($((t2 - t1)) ms)" \
	test "$stalled_during_allowed" -eq 0 -a $((t2 - t1)) -lt 1000
check_eventually "the loop runs again" 30 grep -q "the event loop runs again" "$work/santad.err"
check_eventually "and the late exec has its line: DENY TIMEOUT" 30 \
	grep -q "decision=DENY|reason=TIMEOUT|.*|path=$mnt/home/holes" "$work/santa.log"
kill "$pid"
check_eventually "santad stops" 30 bash -c "! kill -0 $pid 2> /dev/null"
pid=
check_finish deadline_stall
