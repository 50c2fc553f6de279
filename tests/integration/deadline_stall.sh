#!/usr/bin/env bash
# Deadlines fire whatever santad's event loop does (issue 22: a million-rule
# batch or a rescan held the loop, and with it every deadline, for seconds).
# santad built with its test hooks (CMake SANTA_TEST_HOOKS, Debug builds only)
# stalls its loop for 8 s right after it made the next job, once SIGRTMIN+5
# armed the hook. While it does:
#  - nobody's program of holes (its hash takes far longer than the 1.5 s
#    deadline), whose exec made that job, is denied by its deadline
#    (TIMEOUT), before the loop runs again;
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

# The hook armed, nobody's exec of holes: the loop reads it, makes its job
# (the worker hashes, for far longer than the deadline), then stalls.
kill -s RTMIN+5 "$pid"
wait_or_die 30 "the test hook is armed" grep -q "test hook: armed" "$work/santad.err"
t0=$(now_ms)
( setpriv --reuid=65534 --regid=65534 --clear-groups -- "$mnt/home/holes" > /dev/null 2>&1 &&
	echo ran > "$work/holes.out" || echo "denied $?" > "$work/holes.out"
  now_ms > "$work/holes.end" ) &
runner=$!
wait_or_die 30 "the loop stalls after nobody's exec" grep -q "test hook: the event loop stalls" "$work/santad.err"
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
check "root's cached allowlisted program ran during the stall ($((t2 - t1)) ms)" \
	test "$stalled_during_allowed" -eq 0
check_eventually "the loop runs again" 30 grep -q "the event loop runs again" "$work/santad.err"
check_eventually "and the late exec has its line: DENY TIMEOUT" 30 \
	grep -q "decision=DENY|reason=TIMEOUT|.*|path=$mnt/home/holes" "$work/santa.log"
kill "$pid"
check_eventually "santad stops" 30 bash -c "! kill -0 $pid 2> /dev/null"
pid=
check_finish deadline_stall
