#!/bin/sh
# Runs one libFuzzer target for a bounded time: new inputs go to a scratch
# corpus in the build tree, the checked-in seeds are only read.
# usage: run-fuzzer.sh BINARY SEED_DIR WORK_DIR SECONDS
set -eu
bin=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/artifacts"
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
