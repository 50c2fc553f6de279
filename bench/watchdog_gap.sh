#!/usr/bin/env bash
# Watchdog gaps: how long santad's event loop ever goes without a WATCHDOG=1
# ping while it decides a steady stream of new programs (cold decisions,
# hashing, log lines). A stand-in NOTIFY_SOCKET timestamps each ping; the run
# fails when the longest gap reaches WatchdogSec, which is when systemd would
# kill santad. tests/integration/notify.sh checks the cadence (the median
# interval) on any machine; this strict bound belongs here because one late
# wakeup on a loaded machine is enough to break it: run it on a quiet one,
# with a Release build. Private tmpfs, own mount namespace, as every santad test.
# usage: bench/watchdog_gap.sh SANTAD SANTACTL [SECONDS] [WATCHDOG_SEC]
#   (as root; defaults 60 s and a 1 s WatchdogSec; exit 1 when a gap reaches it)
set -euo pipefail
santad=$(realpath "$1")
santactl=$(realpath "$2")
seconds=${3:-60}
watchdog_sec=${4:-1}

source "$(dirname "$0")/../tests/lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../tests/lib/wait.sh"
chmod 0755 "$work"
mnt=$work/mnt
mkdir -p "$mnt/new"
santa_write_config MONITOR

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
load=
trap 'kill $listener $load 2> /dev/null || true; santa_cleanup' EXIT
wait_or_die 20 "the stand-in notify socket is there" test -S "$work/notify.sock"

# WATCHDOG_PID must name santad itself: set it in the shell that execs santad.
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=$(awk -v s="$watchdog_sec" 'BEGIN { printf "%d", s * 1000000 }') \
	sh -c 'WATCHDOG_PID=$$ exec "$0" --config "$1"' "$santad" "$work/santa.conf" \
	2> "$work/santad.err" < /dev/null &
pid=$!
wait_or_die 60 "santad says READY=1" grep -q "READY=1" "$work/notify.log"

# New programs all the time, so the loop has decisions to make between pings.
(
	i=0
	while :; do
		i=$((i + 1))
		cp /usr/bin/true "$mnt/new/p$i"
		printf '%s' "$i" >> "$mnt/new/p$i"
		"$mnt/new/p$i"
		rm -f "$mnt/new/p$((i - 20))"
	done
) &
load=$!
sleep "$seconds"
kill "$load"
wait "$load" 2> /dev/null || true
load=
programs=$(grep -c "path=$mnt/new/" "$work/santa.log" || true)
kill "$pid"
wait "$pid" || true
pid=

read -r n median longest <<< "$(awk '/WATCHDOG=1/ { if (n++) d[n - 1] = $1 - last; last = $1 }
	END { m = n - 1; if (m < 1) { print n, 0, 0; exit }
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (d[j] < d[i]) { t = d[i]; d[i] = d[j]; d[j] = t }
		printf "%d %.3f %.3f\n", n, m % 2 ? d[(m + 1) / 2] : (d[m / 2] + d[m / 2 + 1]) / 2, d[m] }' "$work/notify.log")"
echo "watchdog: ${seconds} s, WatchdogSec ${watchdog_sec} s, $programs new programs decided"
echo "  $n pings; interval median ${median} s, longest ${longest} s"
if [ "$n" -lt 2 ]; then
	echo "FAIL: fewer than two pings"
	exit 1
fi
awk -v g="$longest" -v w="$watchdog_sec" 'BEGIN { exit !(g < w) }' ||
	{ echo "FAIL: a gap of ${longest} s between pings (WatchdogSec ${watchdog_sec} s)"; exit 1; }
echo "  no gap reached WatchdogSec"
