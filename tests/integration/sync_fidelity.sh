#!/usr/bin/env bash
# Sync against servers that are not moroz (issues 23 and 25): a serial number
# on machines without a DMI serial, a 403 that carries its XSRF token, enum
# names in any case and unknown ones reported, a server-sent interval kept
# within bounds, a rule page that inflates to 63 MB, and pinned roots that
# replace the system's. santad runs as in sync.sh (private tmpfs, own mount
# namespace); the server is tests/integration/sync_server.py.
# usage: sync_fidelity.sh SANTAD SANTACTL HELPER_DIR   (as root; skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
# The helper runs as _santasync: it must be able to read the config under $work.
chmod 0755 "$work"
mnt=$work/mnt
srv=$work/server
mkdir -p "$srv/rules"

source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"
# The sync service runs as _santasync, who may not reach the build tree (a
# checkout under /root): it runs from a copy under $work.
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec

source "$here/../lib/sync_server.sh"
server_pid=
tls_server=
trap 'kill $server_pid $tls_server 2>/dev/null || true; santa_cleanup' EXIT
sync_server_start "$work/port"
server_pid=$sync_server_pid
port=$sync_server_port

cp /bin/echo "$mnt/blocked"
cp /bin/ls "$mnt/unknown"
blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)

write_config() { # [LINE...]: santa.conf for these tests, LINEs at the end
	santa_write_config MONITOR \
		"HelperDirectory = $helpers" \
		"DecisionTimeoutMs = 2000" \
		"MachineID = test-machine-1" \
		"SyncBaseURL = ${base_url:-http://127.0.0.1:$port/santa}" \
		"$@"
	chmod 0644 "$work/santa.conf"
}
export SANTA_CONFIG=$work/santa.conf

status_field() { jq_field "$("$santactl" status --json)" "$1"; }
helper() { pgrep -f "^santasyncservice" -P "$pid" || true; }
sync_ok() { "$santactl" sync > /dev/null 2>&1; }
# SIGHUP: santad rereads santa.conf and restarts the sync service, which reads it at start.
reload() {
	local old
	old=$(helper)
	kill -HUP "$pid"
	wait_or_die 30 "a new sync service after SIGHUP" bash -c \
		"n=\$(pgrep -f '^santasyncservice' -P $pid || true); [ -n \"\$n\" ] && [ \"\$n\" != '$old' ]"
	wait_or_die 30 "the new sync service syncs" sync_ok
}

# ---- serial_num: SerialNumber, else a DMI serial that is not a placeholder, else machine-id ----
echo '{"client_mode": "MONITOR"}' > "$srv/preflight.json"
write_config
santa_start_santad "$santad"
wait_or_die 30 "santad started santasyncservice" test -S "$work/run/santasyncservice.sock"
wait_or_die 30 "a first sync" sync_ok
: > "$srv/requests.jsonl"
check "a sync without SerialNumber exits 0" sync_ok
serial=$(jq_field "$(requests preflight | tail -1)" 'd.get("serial_num", "")')
check "preflight carries a serial_num even so ('$serial')" test -n "$serial"
if [ ! -r /sys/class/dmi/id/product_serial ] && [ ! -r /sys/class/dmi/id/product_uuid ] &&
	[ ! -r /sys/class/dmi/id/board_serial ]; then
	check "with no DMI at all, it is /etc/machine-id" test "$serial" = "$(cat /etc/machine-id)"
fi
write_config "SerialNumber = VM-SERIAL-0042"
reload
: > "$srv/requests.jsonl"
check "a sync with SerialNumber exits 0" sync_ok
serial=$(jq_field "$(requests preflight | tail -1)" 'd.get("serial_num", "")')
check "preflight sends the configured SerialNumber ('$serial')" test "$serial" = VM-SERIAL-0042

# ---- XSRF: a 403 that carries the token in X-XSRF-TOKEN, and no xsrf/ endpoint ----
: > "$srv/requests.jsonl"
touch "$srv/xsrf403"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
echo "$out" | sed 's/^/# /'
check "a sync against a server that hands the token out with its 403 exits 0 (exit $st)" test "$st" -eq 0
got=$(headers_of preflight X-XSRF-TOKEN | tr '\n' ' ')
check "preflight went without a token, then once more, with it ($got)" test "$got" = "- tok-403 "
check "every later stage echoes it in X-XSRF-TOKEN" \
	test "$(headers_of postflight X-XSRF-TOKEN | sort -u)" = tok-403
check "the client did not need the xsrf/ endpoint (404 here)" \
	bash -c "! grep -q '\"stage\": \"xsrf\"' '$srv/requests.jsonl'"
rm -f "$srv/xsrf403"

# ---- enums in any case; a value that is really unknown is skipped, counted and named ----
: > "$srv/requests.jsonl"
echo '{"client_mode": "lockdown", "sync_type": "Normal"}' > "$srv/preflight.json"
cat > "$srv/rules/0.json" <<JSON
{"rules": [{"rule_type": "binary", "policy": "blocklist", "identifier": "$blocked_sha"},
           {"rule_type": "Binary", "policy": "blocklisted", "identifier": "$(printf 'a%.0s' {1..64})"},
           {"rule_type": "binaries", "policy": "Allowlist", "identifier": "$(printf 'b%.0s' {1..64})"}]}
JSON
out=$("$santactl" sync 2>&1) && st=0 || st=$?
echo "$out" | sed 's/^/# /'
check "a sync with lower-case enums exits 0" test "$st" -eq 0
check "client_mode \"lockdown\" sets Lockdown" test "$(status_field 'd["daemon"]["mode"]')" = Lockdown
check "the lower-case BLOCKLIST rule blocks" bash -c "! '$mnt/blocked' hi 2> /dev/null"
check "santactl sync names the unknown policy" \
	grep -qF "rules[1] $(printf 'a%.0s' {1..64}): unknown policy \"blocklisted\": skipped" <<< "$out"
check "santactl sync names the unknown rule_type" \
	grep -qF "rules[2] $(printf 'b%.0s' {1..64}): unknown rule_type \"binaries\": skipped" <<< "$out"
check "and counts them" grep -qxF "Skipped 2 of 3 rules (see above)" <<< "$out"
check "the log names them too" grep -qF 'unknown policy "blocklisted"' "$work/santad.err"
post=$(requests postflight | tail -1)
check "postflight: 3 rules received, 1 processed" \
	test "$(jq_field "$post" '(d["rules_received"], d["rules_processed"])')" = "(3, 1)"
rm -f "$srv/rules/0.json"
echo '{"client_mode": "Strict"}' > "$srv/preflight.json"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "an unknown client_mode does not fail the sync" test "$st" -eq 0
check "it is named" grep -qF 'Preflight: client_mode "Strict" is not MONITOR or LOCKDOWN: mode unchanged' <<< "$out"
check "and the mode stays Lockdown" test "$(status_field 'd["daemon"]["mode"]')" = Lockdown
echo '{"clientMode": "Monitor"}' > "$srv/preflight.json"
check "a sync with clientMode \"Monitor\"" sync_ok
check "sets Monitor" test "$(status_field 'd["daemon"]["mode"]')" = Monitor

# ---- full_sync_interval: 2^32-1 s from the server is cut to 7 days ----
echo '{"full_sync_interval": 4294967295}' > "$srv/preflight.json"
before=$(grep -c "next full sync in" "$work/santad.err" || true)
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "a sync with full_sync_interval 4294967295 exits 0" test "$st" -eq 0
check "santactl sync says the interval was cut" \
	grep -qF "Preflight: full_sync_interval 4294967295 s is over 604800 s (7 days): 604800 s used" <<< "$out"
check_eventually "the next sync is scheduled" 30 \
	bash -c "test \$(grep -c 'next full sync in' '$work/santad.err') -gt $before"
next=$(grep -o "next full sync in [0-9]* s" "$work/santad.err" | tail -1 | awk '{print $5}')
check "within 7 days plus the 50 % jitter ($next s)" test "${next:-0}" -ge 604800 -a "${next:-0}" -le 907200
check_eventually "santad keeps 604800 s" 10 grep -q '"FullSyncInterval": *604800' "$work/state/sync-state.json"
echo '{"client_mode": "MONITOR"}' > "$srv/preflight.json"

# ---- a 61 KB gzip body that inflates to 63 MB of {},{},...: refused, memory bounded ----
rules_before=$(status_field 'd["database"]["binary_rules"]')
python3 - "$srv/rules/0.json.gz" <<'PY'
import gzip, sys
n = (63 * 1000 * 1000 - 14) // 3
body = b'{"rules": [' + b"{}," * n + b'{}]}'
with open(sys.argv[1], "wb") as f:
    f.write(gzip.compress(body, 9))
PY
echo "# the body: $(stat -c %s "$srv/rules/0.json.gz") bytes gzip-encoded, 63 MB inflated"
helper_pid=$(helper)
out=$("$santactl" sync 2>&1) && st=0 || st=$?
echo "$out" | tail -3 | sed 's/^/# /'
check "the sync fails at rule download (exit $st, 3 = rule download failed)" test "$st" -eq 3
check "naming the cause" grep -qF "more than 200000 rules in one response" <<< "$out"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$helper_pid/status" 2> /dev/null || echo 0)
echo "# santasyncservice peak RSS: $((hwm / 1024)) MiB"
check "santasyncservice's peak RSS stayed under 768 MiB ($((hwm / 1024)) MiB; 4.8 GB before)" \
	test "$hwm" -gt 0 -a "$hwm" -lt $((768 * 1024))
check "the same sync service is still there" test "$(helper)" = "$helper_pid"
check "no rule changed" test "$(status_field 'd["database"]["binary_rules"]')" = "$rules_before"
rm -f "$srv/rules/0.json.gz"
check "the next sync succeeds" sync_ok

# ---- the sync state's write waits for the disk, never santad's loop ----
# A FIFO where santad writes the state first (SyncStatePath.tmp): opening it
# waits for a reader, as a write and fsync wait for a slow disk. Written on
# the loop, it held every cached exec, status and the sync itself.
state_tmp=$work/state/sync-state.json.tmp
mkfifo -m 0600 "$state_tmp"
check "a sync completes while santad's state write waits" timeout 30 "$santactl" sync
check "santactl status answers while it waits" timeout 10 "$santactl" status --json
check "the write still waits (the FIFO has no reader yet)" test -p "$state_tmp"
timeout 10 cat "$state_tmp" > "$work/state-written" || true
check "the state santad then wrote is the sync's" grep -q '"SyncTypeRequired"' "$work/state-written"
check_eventually "a write that fails is said (fsync of a FIFO)" 10 \
	grep -q "cannot save $work/state/sync-state.json" "$work/santad.err"
check "and leaves no temporary file" test ! -e "$state_tmp"
check "the next sync succeeds" sync_ok
check_eventually "and its state is written" 10 \
	bash -c "test '$work/state/sync-state.json' -nt '$work/state-written'"

kill "$pid"
wait "$pid" || true
pid=

# ---- pinned roots replace the system's ----
# The "system" store is libcurl's built-in CA directory, /etc/ssl/certs. In
# this script's own mount namespace a tmpfs holding only CA "B" covers it;
# the server's certificate is signed by B. With ServerAuthRootsFile = A the
# client must refuse the server, although the system store would accept it.
if [ "$(findmnt -no PROPAGATION -T /etc/ssl/certs)" != private ]; then
	[ "$failures" -eq 0 ] || check_finish sync_fidelity
	santa_skip "/etc/ssl/certs is not on a private mount here: covering it could leak to the host"
fi
# B is make_test_pki's CA (it signed the server), A its unrelated one.
tls=$work/tls
make_test_pki "$tls"
mkdir -p "$work/system-certs"
mount -t tmpfs -o mode=0755 tmpfs "$work/system-certs"
cp "$tls/ca.pem" "$work/system-certs/b.pem"
ln -s b.pem "$work/system-certs/$(openssl x509 -hash -noout -in "$tls/ca.pem").0"
cp "$work/system-certs/b.pem" "$work/system-certs/ca-certificates.crt"
chmod 0644 "$work/system-certs"/*.pem "$work/system-certs/ca-certificates.crt"
mount --bind "$work/system-certs" /etc/ssl/certs
sync_server_start "$work/tls-port" "$tls"
tls_server=$sync_server_pid
base_url=https://localhost:$sync_server_port/santa/
creds=("ClientAuthCertificateFile = $tls/client.pem" "ClientAuthKeyFile = $tls/client.key")

write_config "${creds[@]}"
santa_start_santad "$santad"
wait_or_die 30 "santad started santasyncservice" test -S "$work/run/santasyncservice.sock"
check_eventually "without ServerAuthRootsFile the system store (B) accepts the server" 20 sync_ok
write_config "${creds[@]}" "ServerAuthRootsFile = $tls/ca.pem"
reload
check "ServerAuthRootsFile = B accepts it" sync_ok
write_config "${creds[@]}" "ServerAuthRootsFile = $tls/other-ca.pem"
old=$(helper)
kill -HUP "$pid"
wait_or_die 30 "a new sync service after SIGHUP" bash -c \
	"n=\$(pgrep -f '^santasyncservice' -P $pid || true); [ -n \"\$n\" ] && [ \"\$n\" != '$old' ]"
wait_or_die 30 "the new sync service listens" test -S "$work/run/santasyncservice.sock"
: > "$srv/requests.jsonl"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
echo "$out" | tail -2 | sed 's/^/# /'
check "ServerAuthRootsFile = A refuses a server B signed, though B is in the system store (exit $st)" \
	test "$st" -eq 1
check "saying it is a certificate problem" grep -qi "certificate" <<< "$out"
check "and the server got nothing" test ! -s "$srv/requests.jsonl"
kill "$pid"
wait "$pid" || true
pid=
umount /etc/ssl/certs
check_finish sync_fidelity
