#!/usr/bin/env bash
# Installs the dependencies, builds a Release santad and runs it in the
# foreground with the default configuration (MONITOR mode). Run as root.
# Extra arguments go to santad, e.g. --config /path/to/santa.conf.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"

# Enforcement is still being built (issue: santad); until then santad checks
# and prints the configuration it would run with.
exec build/release/src/santad/santad --check-config "$@"
