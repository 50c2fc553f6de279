#!/usr/bin/env bash
# Installs the dependencies, builds a Release santad and runs it in the
# foreground with the default configuration (MONITOR mode: nothing unknown is
# blocked), watching every local filesystem; each decision is printed as
# santa.log receives it. Ctrl-C stops santad, which lets every exec through
# again. Run as root. Extra arguments go to santad, e.g. --config FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
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
echo "santad running (pid $santad_pid); decisions from $log:"
tail -n 0 -F "$log" &
tail_pid=$!
wait "$santad_pid" || true
kill "$tail_pid" 2>/dev/null || true
