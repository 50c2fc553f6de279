#!/usr/bin/env bash
# Before santad's first view of the packages is loaded (at boot, without its
# cache, a cold disk can make that take seconds), an exec that needs a
# package identity is decided as a late one: root's own files run at once
# (reason=TIMEOUT, "package identities not loaded yet", not cached), anyone
# else's are denied; nothing waits. Here dpkg's status is on a cold disk (a
# FUSE file whose reads are held), so the first load cannot finish until the
# test lets it: then the disk fails the read, and the view loads once dpkg's
# status is back. A FIFO left at dpkg's status is refused at once.
# santad's own helper (santasyncservice, run as _santasync) is started all the
# same: santad's programs are critical by file, with or without a view.
# usage: package_trust_boot.sh SANTAD SANTACTL HELPERDIR   (as root)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"
source "$here/../lib/package_fixture.sh"
# The helpers on the watched tmpfs, so that their execs are decided (root's, mode 0755).
santa_install_bins "$mnt/libexec" "$helpers"

mv "$dpkg/status" "$work/status.real"
mkdir "$work/slow" "$work/sig"
python3 "$here/../lib/fuse_slow_file.py" "$work/slow" "$work/sig" "$work/status.real" &
server=$!
wait_or_die 30 "the cold disk is mounted" test -e "$work/sig/ready"
ln -s "$work/slow/file" "$dpkg/status"
santa_write_config LOCKDOWN "DecisionTimeoutMs = 5000" "$(package_trust_config)" \
	"HelperDirectory = $mnt/libexec" "SyncBaseURL = http://127.0.0.1:9/santa" \
	"[StaticRule:archive]" "identifier = $team_id" "rule_type = TEAMID" "policy = ALLOWLIST"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
trap 'kill $server 2> /dev/null || true; santa_cleanup' EXIT

pkg_field() { "$santactl" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['package_trust']['$1'])"; }
wait_or_die 30 "santad's first load reads dpkg's status" test -e "$work/sig/reading"
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
helper_field() { "$santactl" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['helpers']['santasyncservice']['$1'])"; }
running() { [ "$(helper_field state)" = running ]; }
wait_until 30 running || true
check "santad's sync helper (run as _santasync) started while the view loads, at the first try (restarts $(helper_field restarts))" \
	test "$(helper_field state)" = running -a "$(helper_field restarts)" = 0
check "... and its exec was not denied" bash -c "! grep -q 'decision=DENY.*path=$mnt/libexec/santasyncservice' '$work/santa.log'"

# The disk gives up: the load fails and says why, then a FIFO left at dpkg's
# status is refused (not waited on: nothing will ever write it), then dpkg's real status.
touch "$work/sig/release"
failed() { pkg_field error | grep -qF "$dpkg/status: Input/output error"; }
wait_or_die 30 "the load from the cold disk ended" failed
check "... with the read's error, the view not loaded: $(pkg_field error)" test "$(pkg_field loaded)" = False
# Each replaced in one rename, as dpkg does: no load in between sees no status at all.
mkfifo -m 0644 "$dpkg/status.fifo"
mv -fT "$dpkg/status.fifo" "$dpkg/status"
fifo_refused() { pkg_field error | grep -qF "$dpkg/status: Invalid argument"; }
wait_until 60 fifo_refused || true
check "a FIFO at dpkg's status is refused: $(pkg_field error)" fifo_refused
cp "$work/status.real" "$dpkg/status-new"
mv -fT "$dpkg/status-new" "$dpkg/status"
loaded() { [ "$(pkg_field loaded)" = True ] && [ "$(pkg_field packages)" -gt 0 ]; }
wait_until 60 loaded || true
check "the view loaded once dpkg's status was back (not blocked on the FIFO)" loaded
# The late decision was not kept: with the view, tool is decided by its TEAMID rule.
check "with the view, root's packaged program runs" "$mnt/usr/bin/tool"
teamid_line() { grep -qF "decision=ALLOW|reason=TEAMID|" "$work/santa.log" && grep "reason=TEAMID|" "$work/santa.log" | grep -qF "path=$mnt/usr/bin/tool"; }
wait_until 20 teamid_line || true
check "... decided by its TEAMID rule: the late decision was not cached" teamid_line
check "... and another user's too" setpriv --reuid=65534 --regid=65534 --clear-groups "$mnt/usr/bin/other"

# santad and its helpers gone before the tmpfs they run from is unmounted.
kill "$pid"
gone() { ! kill -0 "$pid" 2> /dev/null && ! pgrep -f "^$mnt/libexec/" > /dev/null; }
wait_until 60 gone || true
pid=

check_finish package_trust_boot
