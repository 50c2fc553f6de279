#!/usr/bin/env bash
# Installs what building santad needs, builds a Release santad and runs it in
# the foreground with the default configuration (MONITOR mode: nothing
# unknown is blocked), watching every local filesystem. The terminal shows
# santad's own messages, every denial in full, and a one-line running count
# of the rest; the full log is in EventLogPath (`tail -F` it in another
# terminal). Ctrl-C stops santad, which lets every exec through again. Run
# as root. Extra arguments go to santad, e.g. --config FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --build
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"

santad=build/release/src/santad/santad
"$santad" --check-config "$@" >/dev/null
log=$("$santad" --check-config "$@" | sed -n 's/^EventLogPath *= //p')
mkdir -p "$(dirname "$log")"
touch "$log"

"$santad" "$@" &
santad_pid=$!
trap 'kill "$santad_pid" 2>/dev/null; wait "$santad_pid" 2>/dev/null' EXIT INT TERM
echo "santad running (pid $santad_pid). Full log: tail -F $log"
# Denials in full; everything else counted, the count rewritten in place at
# most once a second (on a terminal).
tail -n 0 -F "$log" 2>/dev/null | awk -v tty="$([ -t 1 ] && echo 1 || echo 0)" '
	function summary() {
		line = sprintf("%d exec lines: %d allowed, %d denied; last: %s", n, allowed, denied, last)
		if (tty) printf "\r\033[K%s", substr(line, 1, 150); else print line
		fflush()
		shown = systime()
	}
	{
		n++
		if ($0 ~ /decision=DENY/) {
			denied++
			if (tty) printf "\r\033[K"
			print
		} else if ($0 ~ /decision=ALLOW/) {
			allowed++
		}
		if (match($0, /\|path=[^|]*/))
			last = substr($0, RSTART + 6, RLENGTH - 6)
		if (systime() != shown) summary()
	}' &
tail_pid=$!
wait "$santad_pid" || true
kill "$tail_pid" 2>/dev/null || true
