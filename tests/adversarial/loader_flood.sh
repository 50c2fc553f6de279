#!/usr/bin/env bash
# nobody floods the loader check (`ld.so PROGRAM`) while santad's loop cannot
# drain its queue (the test hook stalls the loop for 8 s): the loader thread
# hands at most 256 programs to the loop and answers the rest itself, by the
# fallback rule (a user's file: denied), so nothing of nobody's runs; each
# such answer used to leave no trace at all, now one warning a minute for the
# user, with a count.
# usage: loader_flood.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
loader=$(readlink -f /lib64/ld-linux-x86-64.so.2)

mkdir "$mnt/home"
chown 65534:65534 "$mnt/home"
as_nobody cp /bin/true "$mnt/home/prog"
as_nobody cp /bin/ls "$mnt/home/holes"
as_nobody truncate -s 64G "$mnt/home/holes"

santa_write_config LOCKDOWN "DecisionTimeoutMs = 1500"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
grep -q "built with test hooks" "$work/santad.err" ||
	{ fail "santad was built without its test hooks (CMake SANTA_TEST_HOOKS)"; check_finish loader_flood; }
grep -q "Loader check on" "$work/santad.err" ||
	{ fail "the loader check is not on: $(grep -i loader "$work/santad.err")"; check_finish loader_flood; }

kill -s RTMIN+5 "$pid"
wait_or_die 30 "the test hook is armed" grep -q "test hook: armed" "$work/santad.err"
as_nobody "$mnt/home/holes" > /dev/null 2>&1 &
holes=$!
wait_or_die 30 "the loop stalls after nobody's exec" grep -q "test hook: the event loop stalls" "$work/santad.err"
# 400 loader runs of nobody's unknown program, all at once.
as_nobody bash -c '
	for i in $(seq 1 400); do
		{ "$1" "$2" && echo ran; } 2> /dev/null &
	done
	wait' sh "$loader" "$mnt/home/prog" > "$work/flood.out" || true
ran=$(grep -c '^ran' "$work/flood.out" || true)
wait "$holes" 2> /dev/null || true
check "none of nobody's 400 loader runs of an unknown program ran ($ran ran)" test "$ran" -eq 0
check "the queue filled: santad answered some itself, and said so" \
	grep -q "loader check: queue full, .*(uid 65534) answered DENY" "$work/santad.err"
lines=$(grep -c "loader check: queue full" "$work/santad.err" || true)
check "in one line for the flood, not a line per program ($lines)" test "$lines" -eq 1
check_eventually "the loop runs again" 30 grep -q "the event loop runs again" "$work/santad.err"
check_eventually "and santactl status counts the programs it answered itself" 30 bash -c \
	"'$santactl' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"daemon\"][\"loader_check\"][\"answered_queue_full\"] > 0 else 1)'"
kill "$pid"
check_eventually "santad stops" 30 bash -c "! kill -0 $pid 2> /dev/null"
pid=
check_finish loader_flood
