#!/usr/bin/env bash
# The whole test suite, as CI runs it: dependencies, a Debug build with
# ASan+UBSan and its ctest run, a Release build, and each fuzz target for
# SANTA_FUZZ_SECONDS (default 30). Fails on the first failure. Run as root:
# the enforcement tests need it (they skip, saying so, otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc)
fuzz_seconds=${SANTA_FUZZ_SECONDS:-30}

echo "== Debug build with AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/debug -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSANTA_SANITIZE=ON
cmake --build build/debug -j "$jobs"
ctest --test-dir build/debug --output-on-failure -j "$jobs"

echo "== Release build"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build/release -j "$jobs"

echo "== Debian package"
bash scripts/package.sh build/release

echo "== Fuzz targets, ${fuzz_seconds}s each"
CC=clang cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSANTA_FUZZ=ON \
	-DSANTA_FUZZ_SECONDS="$fuzz_seconds"
cmake --build build/fuzz -j "$jobs"
ctest --test-dir build/fuzz --output-on-failure -L fuzz
