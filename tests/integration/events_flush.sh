#!/usr/bin/env bash
# What an admin sees right after an exec: a block (or, in MONITOR, an unknown
# program) is counted by `santactl status`, listed by `santactl printlog` and
# so sent by the next sync at once, not a batch or a held line later. santad
# settles decided execs and waits for the event log's writer before it
# answers those requests (src/santad/log_barrier.c). No wait in this test:
# every check runs immediately after the exec returned; that is the promise.
# usage: events_flush.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"
source "$(dirname "$0")/../lib/install_bins.sh"
# santactl runs as nobody once below: a copy every user can reach.
chmod 0755 "$work"
santa_install_bins "$work/bin" "$santactl"
santactl=$work/bin/santactl

cp /bin/echo "$mnt/blocked"
blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)
mkdir -p "$work/no-helpers"
rule=("[StaticRule:block]" "identifier = $blocked_sha" "rule_type = BINARY" "policy = BLOCKLIST")
# First without a sync server: nothing is kept for upload.
santa_write_config MONITOR "HelperDirectory = $work/no-helpers" "MachineID = m" "${rule[@]}"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

pending() { "$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["database"]["events_pending_upload"])'; }
in_printlog() { "$santactl" printlog | grep -c "\"file_name\": *\"$1\"" || true; }

cp "$mnt/blocked" "$mnt/before-sync"
"$mnt/before-sync" x 2> /dev/null && fail "blocked before-sync ran" || true
check "without SyncBaseURL a block is not kept for upload" test "$(pending)" -eq 0
# Then a sync server is configured by SIGHUP (never reached: no helper binary
# exists, santad says so and goes on): from now on blocks are kept, although
# santad started without one (events.db was once opened only at start then).
santa_write_config MONITOR "HelperDirectory = $work/no-helpers" "MachineID = m" \
	"SyncBaseURL = http://127.0.0.1:9/" "${rule[@]}"
kill -HUP "$pid"
wait_or_die 30 "santad reloaded its configuration" grep -q "SIGHUP: configuration reloaded" "$work/santad.err"

# Blocks: each one counted and listed by the very next request.
n=10
late_status=0 late_printlog=0
for i in $(seq 1 "$n"); do
	cp "$mnt/blocked" "$mnt/b$i"
	"$mnt/b$i" x 2> /dev/null && fail "blocked b$i ran" || true
	[ "$(pending)" -eq "$i" ] || late_status=$((late_status + 1))
	[ "$(in_printlog "b$i")" -eq 1 ] || late_printlog=$((late_printlog + 1))
done
check "status counted each of $n blocks right after it ($late_status late)" test "$late_status" -eq 0
check "printlog listed each of $n blocks right after it ($late_printlog late)" test "$late_printlog" -eq 0

# MONITOR: unknown programs run and are uploaded as ALLOW_UNKNOWN; their log
# line may wait for the exec's args, the event for the server must not.
late=0
for i in $(seq 1 "$n"); do
	cp /bin/true "$mnt/u$i"
	echo "u$i" >> "$mnt/u$i" # a new file each time: a decision, not the cache
	"$mnt/u$i" || fail "unknown u$i did not run in MONITOR"
	[ "$(in_printlog "u$i")" -eq 1 ] || late=$((late + 1))
done
check "printlog listed each of $n unknown programs right after it ran ($late late)" test "$late" -eq 0
check "as ALLOW_UNKNOWN" test "$("$santactl" printlog | grep -c '"decision": *"ALLOW_UNKNOWN"')" -eq "$n"
check "status counts them all" test "$(pending)" -eq $((2 * n))
# Their log lines still come, args and all, once each exec is done.
check_eventually "each unknown program's log line is written" 30 \
	bash -c "[ \$(grep -c 'decision=ALLOW|reason=UNKNOWN.*path=$mnt/u[0-9]*' '$work/santa.log') -eq $n ]"
check "each exactly once" test "$(grep -c "decision=ALLOW|reason=UNKNOWN" "$work/santa.log")" -eq "$n"
if santa_bpf_loads "$santad" exec_info; then
	# The event went ahead; the line still waited for the exec and its args.
	check "and with its args (BPF exec info)" \
		test "$(grep -c "reason=UNKNOWN.*|path=$mnt/u[0-9]*|args=$mnt/u[0-9]*$" "$work/santa.log")" -eq "$n"
fi

# The events name every user's programs, paths and parents: root's to read.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$santactl" printlog 2>&1) && st=0 || st=$?
check "printlog as nobody is refused (exit $st)" test "$st" -ne 0
check "saying it needs root" grep -qi "root" <<< "$out"
check "and shows none of the events" bash -c "! grep -q 'file_name' <<< '$out'"

kill "$pid"
st=0
wait "$pid" || st=$?
pid=
check "santad exits 0" test "$st" -eq 0
check_finish events_flush
