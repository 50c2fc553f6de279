#!/usr/bin/env bash
# Before santad's first view of the packages is loaded (at boot, without its
# cache, a cold disk can make that take seconds), an exec that needs a
# package identity is decided as a late one: root's own files run at once
# (reason=TIMEOUT, "package identities not loaded yet", not cached), anyone
# else's are denied; nothing waits. Here dpkg's status is a FIFO, so the first
# load cannot finish until the test lets it.
# usage: package_trust_boot.sh SANTAD SANTACTL   (as root)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
source "$here/../lib/checks.sh"
source "$here/../lib/package_fixture.sh"

mv "$dpkg/status" "$work/status.real"
mkfifo -m 0644 "$dpkg/status"
santa_write_config LOCKDOWN "DecisionTimeoutMs = 5000" "$(package_trust_config)"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
writer=
trap 'kill $writer 2> /dev/null || true; santa_cleanup' EXIT

pkg_field() { "$santactl" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['package_trust']['$1'])"; }
check "the first view is still loading" test "$(pkg_field loaded)" = False

t0=$(date +%s%N)
check "root's packaged program runs before the view is loaded" "$mnt/usr/bin/tool"
t1=$(date +%s%N)
check "... at once, not after the 5 s deadline ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 4000
in_log() { grep -qF -- "$1" "$work/santa.log" 2> /dev/null; }
wait_until 20 in_log "path=$mnt/usr/bin/tool" || true
check "... logged reason=TIMEOUT, package identities not loaded yet" \
	in_log "decision=ALLOW|reason=TIMEOUT|explain=package identities not loaded yet|"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$mnt/usr/bin/other" 2>&1) && st=0 || st=$?
check "another user's program is denied meanwhile" test "$st" -ne 0 -a -n "$(grep 'Operation not permitted' <<< "$out")"

# The view arrives: the FIFO gives the load nothing usable (it fails), then dpkg's real status.
cat "$work/status.real" > "$dpkg/status" &
writer=$!
failed() { [ -n "$(pkg_field error)" ]; }
wait_or_die 30 "the load through the FIFO ended" failed
rm "$dpkg/status"
cp "$work/status.real" "$dpkg/status"
loaded() { [ "$(pkg_field loaded)" = True ]; }
wait_or_die 30 "the view loaded once dpkg's status was back" loaded
# The late decision was not kept: with the view, tool is unknown until a rule allows it.
out=$("$mnt/usr/bin/tool" 2>&1) && st=0 || st=$?
check "the late decision was not cached: now unknown, denied" test "$st" -ne 0
"$santactl" rule --allow --teamid --identifier "$team_id" > /dev/null
check "and allowed by a TEAMID rule" "$mnt/usr/bin/tool"

check_finish package_trust_boot
