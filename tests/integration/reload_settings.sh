#!/usr/bin/env bash
# SIGHUP with restart-only and live settings changed together: the live ones
# apply at once, and one message names exactly the restart-only keys that
# changed (src/santad/settings.c), nothing else; a reload changing none says
# nothing of a restart. EnableKernelIgnoreMarks turned off is live (not named).
# santactl status and metrics report the restart-only settings santad runs
# with (EventLogType, FileChangesRegex), not the reloaded file's.
# usage: reload_settings.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"

cp /bin/true "$mnt/unknown"
mkdir -p "$work/no-helpers"
common=("HelperDirectory = $work/no-helpers")
santa_write_config MONITOR "${common[@]}"
santa_start_santad "$santad"

reloads() { grep -c "SIGHUP: configuration reloaded" "$work/santad.err" || true; }
said_by_reload() { # N: what the Nth reload said of a restart (the part after "SIGHUP: ")
	awk -v n="$1" '/SIGHUP: configuration reloaded/ { seen++; next }
		seen == n - 1 && /restart santad to apply/ { sub(/.*SIGHUP: /, ""); print }' "$work/santad.err"
}
reloaded_at_least() { [ "$(reloads)" -ge "$want" ]; }
reload() { # N: sends SIGHUP and waits for the Nth reload to be done
	want=$1
	kill -HUP "$pid"
	wait_or_die 30 "santad reloaded its configuration ($1)" reloaded_at_least
}

check "MONITOR: the unknown program runs" "$mnt/unknown"

# 1. A restart-only key (DecisionCacheSize) and a live one (ClientMode).
santa_write_config LOCKDOWN "${common[@]}" "DecisionCacheSize = 1234"
reload 1
check "the live ClientMode applied: LOCKDOWN denies the unknown program" eval '! "$mnt/unknown" 2> /dev/null'
check "the mode change is logged" grep -q "mode changed: Monitor -> Lockdown" "$work/santad.err"
check "one message names exactly DecisionCacheSize (got: $(said_by_reload 1))" \
	test "$(said_by_reload 1)" = "DecisionCacheSize changed: restart santad to apply"

# 2. Three more restart-only keys and a change that is live (ignore marks off):
# one message, every key that differs from how santad started, in santa.conf(5)'s order.
santa_write_config LOCKDOWN "${common[@]}" "DecisionCacheSize = 1234" "HashWorkerThreads = 3" \
	"FileChangesRegex = ^$mnt/x" "EnableKernelIgnoreMarks = false" "EventLogType = json"
reload 2
check "one message names EventLogType, HashWorkerThreads, FileChangesRegex, DecisionCacheSize (got: $(said_by_reload 2))" \
	test "$(said_by_reload 2)" = \
	"EventLogType, HashWorkerThreads, FileChangesRegex, DecisionCacheSize changed: restart santad to apply"
# What santad reports is what it runs with, not the file's restart-only values.
export SANTA_CONFIG=$work/santa.conf
status_daemon() { "$santactl" status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["daemon"]; print(d["log_type"], d["file_logging"])'; }
metric_log_type() {
	"$santactl" metrics --json | python3 -c 'import json,sys
m = json.load(sys.stdin)["metrics"]["/santa/log_type"]["fields"]
print(" ".join(p["data"] for points in m.values() for p in points))'
}
check "status: the log type and file logging santad started with (got: $(status_daemon))" \
	test "$(status_daemon)" = "file False"
check "metrics: /santa/log_type is the one santad started with (got: $(metric_log_type))" \
	test "$(metric_log_type)" = "file"

# 3. Back to the restart-only values santad started with: nothing to restart for.
santa_write_config LOCKDOWN "${common[@]}"
reload 3
check "a reload back to the start's values says nothing of a restart (got: $(said_by_reload 3))" \
	test -z "$(said_by_reload 3)"
check "still LOCKDOWN: the unknown program is denied" eval '! "$mnt/unknown" 2> /dev/null'

kill "$pid"
santad_gone() { ! kill -0 "$pid" 2> /dev/null; }
wait_until 60 santad_gone || true
kill -9 "$pid" 2> /dev/null || true
status=0
wait "$pid" 2> /dev/null || status=$?
pid=
check "santad stopped cleanly (status $status)" test "$status" -eq 0
check_finish reload_settings
