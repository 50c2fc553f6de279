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
source "$(dirname "$0")/../lib/skip.sh"
source "$(dirname "$0")/../lib/install_bins.sh"

# The helpers run as their own users, who may not reach the build tree: copies under $work.
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec
santa_install_bins "$work/bin" "$santactl"
santactl=$work/bin/santactl

# A sync service that dies at once, every time (and counts its starts).
fake=$work/fake-helpers
mkdir -p "$fake"
cat > "$fake/santasyncservice" <<SH
#!/bin/sh
echo start >> $work/starts
exit 3
SH
# A bundle service that dies too, a little later each time: its crash loop,
# begun once the sync service's is over, is the clock for "no more starts".
cat > "$fake/santabundleservice" <<SH
#!/bin/sh
echo start >> $work/bundle-starts
sleep 0.5
exit 3
SH
chmod 0755 "$fake/santasyncservice" "$fake/santabundleservice"
: > "$work/starts"
: > "$work/bundle-starts"
chmod 0666 "$work/starts" "$work/bundle-starts"

# A program santad blocks: proof that santad itself still decides.
cp /bin/echo "$mnt/blocked"
blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)
cat > "$work/santa.conf" <<CONF
$(santa_test_config)
SantactlPath = $santactl
HelperDirectory = $fake
MachineID = m
SyncBaseURL = http://127.0.0.1:9/
[StaticRule:blocked]
identifier = $blocked_sha
rule_type = BINARY
policy = BLOCKLIST
CONF
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

# 0.5 + 1 + 2 + 4 s of backoff, and five starts: generous for a loaded machine.
wait_until 60 grep -q "santasyncservice failed .* (crash loop)" "$work/santad.err" || true
starts=$(wc -l < "$work/starts")
check "a crashing helper is given up on after 5 failures (started $starts times)" test "$starts" -eq 5
delays=$(grep -o "santasyncservice: restarting in [0-9]* ms" "$work/santad.err" | awk '{print $4}' | tr '\n' ' ')
check "restart delays double: $delays" test "$delays" = "500 1000 2000 4000 "
check "santad says it stopped restarting" grep -q "not restarting it (crash loop)" "$work/santad.err"
state=$("$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["helpers"]["santasyncservice"]["state"])')
check "santactl status shows the crash loop" test "$state" = "crash loop"

# "No sixth start" means something only once a sixth start would have come:
# 8 s after the fifth failure, by santad's own timers. The marker is the bundle
# service's crash loop, begun now by a client knocking on its socket: 7.5 s of
# santad's backoff timers plus five runs of 0.5 s, all after the sync service's
# fifth failure, so santad has run every timer due 8 s after it before it logs
# that second give-up.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' \
	"$work/run/santabundleservice.sock"
check_eventually "a client starts the (crashing) bundle service on demand" 30 \
	grep -q "santabundleservice started" "$work/santad.err"
check_eventually "and santad gives up on it as well (the marker)" 90 \
	grep -q "santabundleservice failed 5 times in a row" "$work/santad.err"
check "no more starts of the sync service once given up (santad's log)" \
	test "$(grep -c "santasyncservice started" "$work/santad.err")" -eq 5
check "no more starts of the sync service once given up (its own count)" test "$(wc -l < "$work/starts")" -eq 5
# An exec on the watched mount that santad must decide: a blocked program is denied.
check "santad still enforces meanwhile (a blocked program is denied)" bash -c "! '$mnt/blocked' hi 2>/dev/null"
check_eventually "and logs that denial" 30 grep -q "decision=DENY.*path=$mnt/blocked" "$work/santa.log"

# Fixed: the real helpers, then SIGHUP.
sed -i "s|^HelperDirectory = .*|HelperDirectory = $helpers|" "$work/santa.conf"
kill -HUP "$pid"
helper=
sync_helper() { helper=$(pgrep -f "^santasyncservice" -P "$pid"); }
check_eventually "after SIGHUP the fixed sync service runs" 30 sync_helper

# santad dies without warning: the helper follows it.
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
pid=
if [ -n "$helper" ]; then
	check_eventually "the helper exits when santad is killed" 30 bash -c "! kill -0 $helper 2>/dev/null"
else
	fail "the helper exits when santad is killed (no helper to watch)"
fi

# ---- under a systemd socket unit instead (SystemdHelperUnits): santad spawns
# nothing; the helper gets only its listener and reaches santad by name.
sed -i '/^HelperDirectory/d' "$work/santa.conf"
# Before the [StaticRule:...] section, where a key would belong to the rule.
sed -i "s|^SyncBaseURL = .*|&\nHelperDirectory = $helpers\nSystemdHelperUnits = true|" "$work/santa.conf"
santa_start_santad "$santad"
# santad starts its helpers before it says it is ready (santa_start_santad waited for
# that): a helper it started would be its child now, or in its log.
check "santad starts no helper itself under SystemdHelperUnits" \
	bash -c "! pgrep -f '^santasyncservice' -P $pid && ! grep -q 'santasyncservice started' '$work/santad.err'"
missing=
if command -v systemd-socket-activate > /dev/null; then
	systemd-socket-activate --seqpacket -l "$work/run/santasyncservice.sock" \
		--fdname=santasyncservice.sock \
		setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all -- \
		"$helpers/santasyncservice" --config "$work/santa.conf" 2> "$work/activated.err" &
	activator=$!
	# The socket file exists from bind(); the activator says so once it listens.
	wait_or_die 30 "the activator listens" grep -q "Listening on" "$work/activated.err"
	out=$("$santactl" sync 2>&1) && st=0 || st=$?
	check "a socket-activated sync service serves santactl sync (preflight fails: no server)" \
		test "$st" -eq 1
	check "it reached santad by name and ran the sync" grep -q "Preflight starting" <<< "$out"
	grep -q "Preflight starting" <<< "$out" || { echo "$out"; cat "$work/activated.err"; } | sed "s/^/# /"
	# The activator exec'd into the helper: the same pid.
	kill "$activator" 2> /dev/null || true
	check_eventually "the socket-activated helper stops on SIGTERM" 30 bash -c "! kill -0 $activator 2>/dev/null"
	kill -9 "$activator" 2> /dev/null || true
	wait "$activator" 2> /dev/null || true
else
	missing="systemd-socket-activate is missing (package systemd): the socket-unit path is not exercised"
fi
kill "$pid"; wait "$pid" || true; pid=

# A part that could not run is a skip (a failure under CI), unless something already failed.
if [ -n "$missing" ]; then
	[ "$failures" -eq 0 ] || check_finish helper
	santa_skip "$missing"
fi
check_finish helper
