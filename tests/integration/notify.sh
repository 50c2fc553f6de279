#!/usr/bin/env bash
# santad under a service manager's eyes, without systemd as PID 1: a stand-in
# NOTIFY_SOCKET receives READY=1, then WATCHDOG=1 pings at least every half
# WatchdogSec from santad's event loop, then STOPPING=1 on SIGTERM.
# usage: notify.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/checks.sh"
cat > "$work/santa.conf" <<CONF
$(santa_test_config)
SantactlPath = $santactl
CONF
# The receiving end of sd_notify, timestamping each datagram.
python3 - "$work/notify.sock" "$work/notify.log" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        for line in s.recv(4096).decode().splitlines():
            log.write("%.3f %s\n" % (time.monotonic(), line))
PY
listener=$!
trap 'kill $listener 2>/dev/null || true; santa_cleanup' EXIT
for _ in $(seq 1 50); do [ -S "$work/notify.sock" ] && break; sleep 0.1; done

# WATCHDOG_PID must name santad itself: set it in the shell that execs santad.
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=1000000 \
	sh -c 'WATCHDOG_PID=$$ exec "$0" --config "$1"' "$santad" "$work/santa.conf" \
	2> "$work/santad.err" < /dev/null &
pid=$!
for _ in $(seq 1 100); do grep -q "READY=1" "$work/notify.log" 2> /dev/null && break; sleep 0.1; done
check "santad says READY=1 when it enforces" grep -q "READY=1" "$work/notify.log"
sleep 3.2
pings=$(grep -c "WATCHDOG=1" "$work/notify.log" || true)
check "watchdog pings while the loop runs ($pings in ~3 s, WatchdogSec 1 s)" test "$pings" -ge 3
gap=$(awk '/WATCHDOG=1/ { if (last) { d = $1 - last; if (d > max) max = d } last = $1 } END { printf "%.3f", max }' \
	"$work/notify.log")
check "no gap between pings beyond WatchdogSec (longest ${gap} s)" \
	python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 1)" "$gap"
kill "$pid"
st=0
wait "$pid" || st=$?
pid=
for _ in $(seq 1 20); do grep -q "STOPPING=1" "$work/notify.log" && break; sleep 0.1; done
check "santad says STOPPING=1 on SIGTERM" grep -q "STOPPING=1" "$work/notify.log"
check "santad exits 0" test "$st" -eq 0
check_finish notify
