#!/usr/bin/env bash
# santad under a service manager's eyes, without systemd as PID 1: a stand-in
# NOTIFY_SOCKET receives READY=1, then WATCHDOG=1 pings about every half
# WatchdogSec from santad's event loop, then STOPPING=1 on SIGTERM.
# The longest gap between pings depends on how loaded the machine is: it is
# measured by bench/watchdog_gap.sh, not judged here.
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
wait_or_die 20 "the stand-in notify socket is there" test -S "$work/notify.sock"

# WATCHDOG_PID must name santad itself: set it in the shell that execs santad.
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=1000000 \
	sh -c 'WATCHDOG_PID=$$ exec "$0" --config "$1"' "$santad" "$work/santa.conf" \
	2> "$work/santad.err" < /dev/null &
pid=$!
said() { grep -q "$1" "$work/notify.log" 2> /dev/null; }
check_eventually "santad says READY=1 when it enforces" 30 said "READY=1"
pings() { grep -c "WATCHDOG=1" "$work/notify.log" || true; }
pings_at_least() { [ "$(pings)" -ge "$1" ]; }
# Eleven pings give ten intervals; at one per ~0.5-0.75 s that is ~7 s, and the
# timeout only matters when they stop.
check_eventually "watchdog pings while the loop runs (11 of them, WatchdogSec 1 s)" 30 pings_at_least 11
# The cadence, judged by the median interval: one late wakeup on a loaded
# machine moves the longest gap, not the median. systemd's sd-event pings
# 1/2 to 3/4 of WatchdogSec after the last ping when the loop is idle, and no
# sooner than 1/4 when it is busy; the bounds leave room for scheduling.
median=$(awk '/WATCHDOG=1/ { if (n++) d[n - 1] = $1 - last; last = $1 }
	END { m = n - 1; for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (d[j] < d[i]) { t = d[i]; d[i] = d[j]; d[j] = t }
		printf "%.3f", m % 2 ? d[(m + 1) / 2] : (d[m / 2] + d[m / 2 + 1]) / 2 }' "$work/notify.log")
check "pings come about every half WatchdogSec (median interval ${median} s, within 0.2..0.9 s)" \
	awk -v m="$median" 'BEGIN { exit !(m >= 0.2 && m <= 0.9) }'
seen=$(pings)
check_eventually "and keep coming" 30 pings_at_least $((seen + 2))
kill "$pid"
st=0
wait "$pid" || st=$?
pid=
# santad sent it before it exited; the listener may not have written it down yet.
check_eventually "santad says STOPPING=1 on SIGTERM" 20 said "STOPPING=1"
check "santad exits 0" test "$st" -eq 0
check_finish notify
