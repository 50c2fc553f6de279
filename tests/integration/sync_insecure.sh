#!/usr/bin/env bash
# Plain http sync (issue: least privilege, item 1): anyone on the path can
# read the rules or answer the sync, set the mode and push rules. santad's
# sync service speaks plain http only to this machine's loopback address
# (127.0.0.0/8, ::1, localhost), unless SyncAllowInsecureHTTP says so; curl
# refuses the scheme, so no connection is made; `santactl status` shows any
# http sync as insecure. Here "sync.test" is another name of 127.0.0.1 (this
# test's own /etc/hosts, in its mount namespace): a host that is not a
# loopback literal, whose server the test can watch.
# usage: sync_insecure.sh SANTAD SANTACTL HELPER-DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
srv=$work/server
mkdir -p "$srv/rules"
source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec
source "$here/../lib/sync_server.sh"
trap 'kill ${sync_server_pid:-} 2>/dev/null || true; santa_cleanup' EXIT

{ cat /etc/hosts; echo "127.0.0.1 sync.test"; } > "$work/hosts"
mount --bind "$work/hosts" /etc/hosts
getent hosts sync.test | grep -q 127.0.0.1 || { echo "sync.test does not resolve here"; exit 1; }

sync_server_start "$work/port"
port=$sync_server_port
echo '{"client_mode": "MONITOR"}' > "$srv/preflight.json"
export SANTA_CONFIG=$work/santa.conf
write_config() { # URL [LINE...]
	local url=$1
	shift
	santa_write_config MONITOR "HelperDirectory = $helpers" "MachineID = insecure-1" \
		"SyncBaseURL = $url" "$@"
}
preflights() { grep -c '"stage": "preflight"' "$srv/requests.jsonl" 2> /dev/null || true; }
status_json() { "$santactl" status --json; }

# Loopback literal: plain http is allowed, and shown as insecure.
write_config "http://127.0.0.1:$port/santa"
santa_start_santad "$santad"
wait_or_die 30 "the sync service's socket" test -S "$work/run/santasyncservice.sock"
wait_or_die 60 "a sync over http to 127.0.0.1" "$santactl" sync
check "santactl status says the sync is insecure" \
	grep -q "Sync Server.*(insecure: plain http, not encrypted)" <<< "$("$santactl" status)"
check "and so does --json" test "$(jq_field "$(status_json)" 'd["sync"]["insecure"]')" = True

# Another host over http: refused before any connection.
before=$(preflights)
write_config "http://sync.test:$port/santa"
kill -HUP "$pid"
wait_or_die 30 "santad reloaded" grep -q "configuration reloaded" "$work/santad.err"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "a sync over http to another host fails (exit $st)" test "$st" -ne 0
check "naming why: $out" grep -q "plain http to a host other than this machine is refused" <<< "$out"
check "and the server saw no request ($before, then $(preflights) preflights)" test "$(preflights)" -eq "$before"
check "santactl status shows the error" \
	grep -q "refused" <<< "$(jq_field "$(status_json)" 'd["sync"]["last_error"]')"

# The admin's explicit choice: allowed.
write_config "http://sync.test:$port/santa" "SyncAllowInsecureHTTP = true"
kill -HUP "$pid"
wait_or_die 60 "a sync over http to sync.test with SyncAllowInsecureHTTP" "$santactl" sync
check "with SyncAllowInsecureHTTP the server is reached" test "$(preflights)" -gt "$before"

check_finish sync_insecure
