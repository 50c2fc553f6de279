#!/usr/bin/env bash
# santad's supervision of its helpers: a helper that keeps crashing is
# restarted with growing delays and then left alone (no fork storm); fixing
# it and sending SIGHUP brings it back; helpers follow santad when it dies.
# usage: helpers.sh SANTAD SANTACTL HELPER_DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt

source "$(dirname "$0")/../lib/checks.sh"

# A sync service that dies at once, every time (and counts its starts).
fake=$work/fake-helpers
mkdir -p "$fake"
cat > "$fake/santasyncservice" <<SH
#!/bin/sh
echo start >> $work/starts
exit 3
SH
chmod 0755 "$fake/santasyncservice"
: > "$work/starts"
chmod 0666 "$work/starts"

cat > "$work/santa.conf" <<CONF
$(santa_test_config)
SantactlPath = $santactl
HelperDirectory = $fake
MachineID = m
SyncBaseURL = http://127.0.0.1:9/
CONF
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

for _ in $(seq 1 150); do
	grep -q "crash loop" "$work/santad.err" && break
	sleep 0.1
done
starts=$(wc -l < "$work/starts")
check "a crashing helper is given up on after 5 failures (started $starts times)" test "$starts" -eq 5
delays=$(grep -o "restarting in [0-9]* ms" "$work/santad.err" | awk '{print $3}' | tr '\n' ' ')
check "restart delays double: $delays" test "$delays" = "500 1000 2000 4000 "
check "santad says it stopped restarting" grep -q "not restarting it (crash loop)" "$work/santad.err"
state=$("$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["helpers"]["santasyncservice"]["state"])')
check "santactl status shows the crash loop" test "$state" = "crash loop"
sleep 2
check "no more starts once given up" test "$(wc -l < "$work/starts")" -eq 5
check "santad still enforces meanwhile" "$(command -v true)"

# Fixed: the real helper, then SIGHUP.
sed -i "s|^HelperDirectory = .*|HelperDirectory = $helpers|" "$work/santa.conf"
kill -HUP "$pid"
for _ in $(seq 1 50); do
	helper=$(pgrep -f "^santasyncservice" -P "$pid" || true)
	[ -n "$helper" ] && break
	sleep 0.1
done
check "after SIGHUP the fixed sync service runs" test -n "$helper"

# santad dies without warning: the helper follows it.
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
pid=
for _ in $(seq 1 50); do kill -0 "$helper" 2> /dev/null || break; sleep 0.1; done
check "the helper exits when santad is killed" bash -c "! kill -0 $helper 2>/dev/null"

# ---- under a systemd socket unit instead (SystemdHelperUnits): santad spawns
# nothing; the helper gets only its listener and reaches santad by name.
sed -i '/^HelperDirectory/d' "$work/santa.conf"
printf 'HelperDirectory = %s\nSystemdHelperUnits = true\n' "$helpers" >> "$work/santa.conf"
santa_start_santad "$santad"
sleep 0.5
check "santad starts no helper itself under SystemdHelperUnits" \
	bash -c "! pgrep -f '^santasyncservice' -P $pid"
if command -v systemd-socket-activate > /dev/null; then
	systemd-socket-activate --seqpacket -l "$work/run/santasyncservice.sock" \
		--fdname=santasyncservice.sock \
		setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all -- \
		"$helpers/santasyncservice" --config "$work/santa.conf" 2> "$work/activated.err" &
	activator=$!
	for _ in $(seq 1 50); do [ -S "$work/run/santasyncservice.sock" ] && break; sleep 0.1; done
	out=$("$santactl" sync 2>&1) && st=0 || st=$?
	check "a socket-activated sync service serves santactl sync (preflight fails: no server)" \
		test "$st" -eq 1
	check "it reached santad by name and ran the sync" grep -q "Preflight starting" <<< "$out"
	grep -q "Preflight starting" <<< "$out" || { echo "$out"; cat "$work/activated.err"; } | sed "s/^/# /"
	# The activator exec'd into the helper: the same pid.
	kill "$activator" 2> /dev/null || true
	for _ in $(seq 1 30); do kill -0 "$activator" 2> /dev/null || break; sleep 0.1; done
	check "the socket-activated helper stops on SIGTERM" bash -c "! kill -0 $activator 2>/dev/null"
	kill -9 "$activator" 2> /dev/null || true
	wait "$activator" 2> /dev/null || true
else
	echo "# systemd-socket-activate missing: socket-unit path not exercised"
fi
kill "$pid"; wait "$pid" || true; pid=

check_finish helper
