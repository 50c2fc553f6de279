#!/usr/bin/env bash
# The sync path end to end: santad starts santasyncservice (as nobody), which
# syncs with a local test server (tests/integration/sync_server.py) over the
# real protocol; santactl sync streams the progress; rules, settings and
# events land where they must. Enforcement runs on a private tmpfs as in
# santad_enforce.sh.
# usage: sync.sh SANTAD SANTACTL HELPER_DIR   (as root; exits 77 = skipped otherwise)
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

source "$(dirname "$0")/../lib/checks.sh"
source "$(dirname "$0")/../lib/install_bins.sh"

# The sync service (as _santasync), and santactl in one check (as nobody), may not reach the
# build tree (a checkout under /root): copies under $work.
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec
santa_install_bins "$work/bin" "$santactl"
santactl=$work/bin/santactl

source "$here/../lib/sync_server.sh"
server_pid=
trap 'kill $server_pid 2>/dev/null || true; santa_cleanup' EXIT
sync_server_start "$work/port"
server_pid=$sync_server_pid
port=$sync_server_port

cp /bin/true "$mnt/allowed"
cp /bin/echo "$mnt/blocked"
cp /bin/ls "$mnt/unknown"
blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)
allowed_sha=$(sha256sum "$mnt/allowed" | cut -d' ' -f1)
cp /bin/date "$mnt/static"
static_sha=$(sha256sum "$mnt/static" | cut -d' ' -f1)
# Upper case on purpose: servers send what they like; santad normalises.
blocked_upper=$(echo "$blocked_sha" | tr a-f A-F)

write_config() {
	cat > "$work/santa.conf" <<CONF
ClientMode = MONITOR
$(santa_test_config)
SantactlPath = $santactl
HelperDirectory = $helpers
DecisionTimeoutMs = 2000
MachineID = test-machine-1
SyncBaseURL = http://127.0.0.1:$port/santa
$*
[StaticRule:pinned]
identifier = $static_sha
rule_type = BINARY
policy = BLOCKLIST
CONF
	chmod 0644 "$work/santa.conf"
}
export SANTA_CONFIG=$work/santa.conf

sync_helper() { pgrep -f "^santasyncservice" -P "$pid"; }
has_sync_helper() { sync_helper > /dev/null; }
# santactl sync, its output in $out and exit status in $st.
sync_now() { out=$("$santactl" sync 2>&1) && st=0 || st=$?; }
sync_quiet() { "$santactl" sync > /dev/null 2>&1; }
# SIGHUP, then wait for the new sync service: it reads santa.conf at start, santad restarts it.
reload_helper() {
	local old
	old=$(sync_helper || true)
	kill -HUP "$pid"
	new_helper() { local new; new=$(sync_helper) && [ "$new" != "$old" ]; }
	wait_or_die 30 "santad restarted the sync service after SIGHUP" new_helper
}

# ---- a first sync: rules in two pages, LOCKDOWN from the server ----
cat > "$srv/preflight.json" <<JSON
{"client_mode": "LOCKDOWN", "batch_size": 2, "whitelist_regex": null, "full_sync_interval": 3600,
 "clean_sync": true}
JSON
cat > "$srv/rules/0.json" <<JSON
{"rules": [{"rule_type": "BINARY", "policy": "BLOCKLIST", "sha256": "$blocked_upper", "custom_msg": "no echo"},
           {"rule_type": "CERTIFICATE", "policy": "ALLOWLIST", "sha256": "46f8c706d0533a54554af5fc163eea704f10c08b30f8a5db12bfdc04fb382fc3"},
           {"rule_type": "BINARY", "policy": "blocklisted", "identifier": "$allowed_sha"}],
 "cursor": "page-1", "unknown_key": 1}
JSON
cat > "$srv/rules/1.json" <<JSON
{"rules": [{"rule_type": "BINARY", "policy": "WHITELIST", "identifier": "$allowed_sha"},
           {"rule_type": "TEAMID", "policy": "BLOCKLIST", "identifier": "AAAAAAAAAA", "custom_msg": "Banned team ID"}]}
JSON
write_config
santa_start_santad "$santad"

helper_pid=
find_helper() { helper_pid=$(sync_helper); }
check_eventually "santad started santasyncservice" 30 find_helper
if [ -n "$helper_pid" ]; then
	check "santasyncservice runs as its own user, _santasync" \
		test "$(stat -c %U "/proc/$helper_pid")" = _santasync
	check "santasyncservice has no capabilities" \
		grep -q "^CapEff:[[:space:]]*0000000000000000" "/proc/$helper_pid/status"
	check "santasyncservice has an empty bounding set" \
		grep -q "^CapBnd:[[:space:]]*0000000000000000" "/proc/$helper_pid/status"
	check "santasyncservice has no_new_privs" grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$helper_pid/status"
fi

# Nobody asks: the first full sync starts by itself, 15 s after the service (as Santa).
check_eventually "the first full sync runs by itself after start" 60 \
	grep -qs '"stage": "postflight"' "$srv/requests.jsonl"
# The service logs when the next one is due at its start (15 s) and again after each
# full sync: the value wanted is the one after this sync, so poll for it.
next=
next_due() {
	next=$( { grep -o "next full sync in [0-9]* s" "$work/santad.err" || true; } | tail -1 | awk '{print $5}')
	[ "${next:-0}" -ge 3600 ]
}
wait_until 30 next_due || true
check "then the next one is due after full_sync_interval (3600 s) plus up to 50 % ($next s)" \
	test "${next:-0}" -ge 3600 -a "${next:-0}" -lt 5400
out=$("$santactl" sync 2>&1) && st=0 || st=$?
echo "$out" | sed 's/^/# /'
check "santactl sync exits 0" test "$st" -eq 0
for line in "Starting sync..." "Preflight starting" "Preflight complete" "Rule download starting" \
	"Received 5 rules" "Processed 4 rules" "Postflight complete" "Sync completed successfully"; do
	check "santactl sync printed '$line'" grep -qxF "$line" <<< "$out"
done

pre=$(requests preflight | sed -n 1p)
check "preflight carries the machine id" test "$(jq_field "$pre" 'd["machine_id"]')" = test-machine-1
check "preflight says MONITOR" test "$(jq_field "$pre" 'd["client_mode"]')" = MONITOR
check "preflight of a new machine requests a clean sync" test "$(jq_field "$pre" 'd.get("request_clean_sync")')" = True
check "preflight has the santa version" test "$(jq_field "$pre" 'd["santa_version"]')" = "$("$santactl" version | awk '/santactl/ {print $3}')" || true
check "preflight has the hostname" test "$(jq_field "$pre" 'd["hostname"]')" = "$(hostname)"
enc=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["encoding"])' "$srv/requests.jsonl")
check "requests are deflate-compressed by default" test "$enc" = deflate
ua=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["headers"]["User-Agent"])' "$srv/requests.jsonl")
check "User-Agent is santactl-sync/VERSION" grep -q "^santactl-sync/" <<< "$ua"
rd=$(requests ruledownload | tr '\n' ' ')
check "rule download pages by cursor" grep -q '"cursor": "page-1"' <<< "$rd"
post=$(requests postflight | sed -n 1p)
check "postflight reports rules received" test "$(jq_field "$post" 'd["rules_received"]')" = 5
check "postflight reports rules processed" test "$(jq_field "$post" 'd["rules_processed"]')" = 4

status=$("$santactl" status --json)
check "mode is Lockdown after the sync" test "$(jq_field "$status" 'd["daemon"]["mode"]')" = Lockdown
check "status counts the synced binary rules" test "$(jq_field "$status" 'd["database"]["binary_rules"]')" = 2
check "status counts certificate rules" test "$(jq_field "$status" 'd["database"]["certificate_rules"]')" = 1
check "status counts teamid rules" test "$(jq_field "$status" 'd["database"]["teamid_rules"]')" = 1
check "status shows a last successful sync" test "$(jq_field "$status" 'd["sync"]["last_successful_full"] != "Never"')" = True
check "clean sync no longer required after the server's clean sync" test "$(jq_field "$status" 'd["sync"]["clean_required"]')" = False
check "status reports the sync service running" test "$(jq_field "$status" 'd["helpers"]["santasyncservice"]["state"]')" = running
# santad writes it on a thread of its own, just after the postflight.
check_eventually "the sync state file is written, 0600" 10 \
	bash -c "test \"\$(stat -c %a '$work/state/sync-state.json' 2>/dev/null)\" = 600"

check "the synced BLOCKLIST rule (upper case from the server) blocks" bash -c "! '$mnt/blocked' hi 2>/dev/null"
check "the later page's ALLOWLIST rule wins for the same binary" "$mnt/allowed"
check "LOCKDOWN from the server blocks unknown binaries" bash -c "! '$mnt/unknown' 2>/dev/null"
rc=$("$santactl" rule --check --sha256 "$blocked_sha" 2>&1 || true)
check "santactl rule --check shows the synced rule" grep -qxF "Blocked (Binary)" <<< "$rc"

# ---- events: a block goes up at once (sync_upload.sh); the same hash again within 10
# minutes waits for the next sync, which sends them in batches of 2, then deletes them ----
echo '{"client_mode": "LOCKDOWN", "batch_size": 2}' > "$srv/preflight.json"
# No event waits and no upload between syncs runs (each logs its start and its end).
uploads_idle() {
	[ "$(jq_field "$("$santactl" status --json)" 'd["database"]["events_pending_upload"]')" = 0 ] &&
		[ "$(grep -c "Starting event upload" "$work/santad.err" || true)" = \
			"$(grep -c "Event upload finished" "$work/santad.err" || true)" ]
}
# Both went up, left events.db, and no upload runs any more.
blocks_up() {
	grep -qs '"file_name": "blocked"' "$srv/requests.jsonl" &&
		grep -qs '"file_name": "unknown"' "$srv/requests.jsonl" && uploads_idle
}
check_eventually "the blocks above went up without a sync" 15 blocks_up
for i in 1 2 3; do
	cp "$mnt/blocked" "$mnt/blocked$i"
	"$mnt/blocked$i" hi 2> /dev/null || true
done
# No wait: santad puts every exec it already decided into events.db before it answers
# status (and printlog, and the sync service), so status right after the blocks counts them.
pending=$(jq_field "$("$santactl" status --json)" 'd["database"]["events_pending_upload"]')
check "blocked executions of a hash just uploaded wait for the sync ($pending)" test "$pending" -ge 3
: > "$srv/requests.jsonl"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "second sync exits 0" test "$st" -eq 0
check "second sync uploaded events" grep -q "^Uploaded $pending events" <<< "$out"
ev=$(requests eventupload)
check "events go in batches of batch_size" test "$(echo "$ev" | sed -n 1p | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')" = 2
first=$(echo "$ev" | sed -n 1p)
check "an event has Santa's fields" test "$(jq_field "$first" 'sorted(k for k in ("file_sha256","file_path","file_name","decision","pid","ppid","execution_time","executing_user") if k in d["events"][0])' | tr -d "[]' ")" = "decision,executing_user,execution_time,file_name,file_path,file_sha256,pid,ppid"
check "the blocked exec was uploaded as BLOCK_BINARY" grep -q '"decision": "BLOCK_BINARY"' <<< "$ev"
check "uploaded events are deleted" test "$(jq_field "$("$santactl" status --json)" 'd["database"]["events_pending_upload"]')" = 0
pre2=$(requests preflight | tail -1)
check "second preflight no longer requests a clean sync" test "$(jq_field "$pre2" 'd.get("request_clean_sync")')" = None
check "second preflight reports the rule counts" test "$(jq_field "$pre2" 'd["binary_rule_count"]')" = 2

# ---- a failed event upload is retried (4 s later, as Santa) and only then deleted ----
# The sync right after the block, with no wait: santad hands the sync service every
# exec it already decided (the product's guarantee under test here).
cp "$mnt/blocked" "$mnt/retried"
"$mnt/retried" hi 2> /dev/null || true
: > "$srv/requests.jsonl"
echo "eventupload 500 1" > "$srv/fail"
sync_now
check "a sync whose first event upload got HTTP 500 still exits 0" test "$st" -eq 0
check "the event upload was sent twice (500, then 200)" test "$(requests eventupload | wc -l)" -eq 2
check "the block just before that sync was in both of its uploads" \
	test "$(requests eventupload | grep -c '"file_name": "retried"')" -eq 2
check "the events are gone once the server took them" \
	test "$(jq_field "$("$santactl" status --json)" 'd["database"]["events_pending_upload"]')" = 0

# ---- through SyncProxy: the server name does not even resolve without it ----
: > "$srv/requests.jsonl"
cp "$work/santa.conf" "$work/santa.conf.direct"
sed -i "s|^SyncBaseURL = .*|SyncBaseURL = http://sync.invalid/santa|" "$work/santa.conf"
# (Plain http to another host: the admin allows it, SyncAllowInsecureHTTP.)
sed -i "/^SyncBaseURL/a SyncProxy = http://127.0.0.1:$port\\nSyncAllowInsecureHTTP = true" "$work/santa.conf"
reload_helper
# Until the new service took over its socket, santactl may not reach it: retry that only.
reached() { sync_now; [ "$st" -ne 1 ] || ! grep -q "cannot reach" <<< "$out"; }
wait_until 30 reached || true
check "a sync through SyncProxy exits 0" test "$st" -eq 0
check "the proxy got the absolute URL" grep -q '"path": "http://sync.invalid/santa/preflight/test-machine-1"' "$srv/requests.jsonl"
cp "$work/santa.conf.direct" "$work/santa.conf"
reload_helper
wait_until 30 sync_quiet || true

# ---- a failing rule download leaves the previous rules in force ----
: > "$srv/requests.jsonl"
printf '{"rules": [{"rule_type": "BINARY", "policy": "REMOVE", "identifier": "%s"}], "cursor": "page-1"}' "$blocked_sha" > "$srv/rules/0.json"
echo '{"rules": 5}' > "$srv/rules/1.json"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "a bad rule page fails the sync with exit 3" test "$st" -eq 3
check "the failure names the stage and field" grep -q "ruledownload: rules: expected an array" <<< "$out"
check "the previous rules stay after a failed sync" bash -c "! '$mnt/blocked' hi 2>/dev/null"
check "no postflight after a failed rule download" test -z "$(requests postflight)"
st_json=$("$santactl" status --json)
check "status shows the last sync error" grep -q "ruledownload" <<< "$(jq_field "$st_json" 'd["sync"]["last_error"]')"

# ---- XSRF: 403, fetch the token, retry with it ----
: > "$srv/requests.jsonl"
echo '{"rules": []}' > "$srv/rules/0.json"
touch "$srv/xsrf"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "sync passes the XSRF dance (exit 0)" test "$st" -eq 0
check "the client fetched xsrf/<machine id>" grep -q '"path": "/santa/xsrf/test-machine-1"' "$srv/requests.jsonl"
check "later requests echo the token in the named header" grep -q '"X-Test-Xsrf": "tok-123"' "$srv/requests.jsonl"
rm -f "$srv/xsrf"

# ---- a dropped connection and a cut-off reply are retried; a wrong-typed one fails cleanly ----
echo "preflight reset 1" > "$srv/fail"
check "a connection dropped during preflight is retried and the sync succeeds" "$santactl" sync
echo "preflight hang 1" > "$srv/fail"
t0=$(date +%s)
check "a preflight that hangs times out (30 s) and is retried: the sync succeeds" "$santactl" sync
t1=$(date +%s)
# Not before the timeout; and well before the server's late answer (120 s), which a client
# without a timeout would have waited for: the margin is for a loaded machine.
check "after the stage timeout, not before and not forever ($((t1 - t0)) s)" test $((t1 - t0)) -ge 30 -a $((t1 - t0)) -lt 100
echo "ruledownload truncated 1" > "$srv/fail"
check "a cut-off rule download is retried and the sync succeeds" "$santactl" sync
rules_before=$("$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["database"]["binary_rules"])')
echo '{"rules": "not a list"}' > "$srv/rules/0.json"
st=0
out=$("$santactl" sync 2>&1) || st=$?
check "a wrong-typed rule download fails the sync (exit $st, 3 = rule download failed)" test "$st" -eq 3
check "naming the field" grep -q "rules" <<< "$(grep -i "fail" <<< "$out")"
check "and changes no rule" test "$("$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["database"]["binary_rules"])')" = "$rules_before"
rm -f "$srv/rules/0.json"

# ---- other encodings: gzip, none ----
for enc in gzip none; do
	# Before the [StaticRule:...] section at the end, where a key would belong to the rule.
	sed -i "s|^SyncBaseURL = .*|&\nSyncClientContentEncoding = $enc|" "$work/santa.conf"
	reload_helper
	wait_until 30 sync_quiet || true
	got=$(requests_field postflight encoding | tail -1)
	check "SyncClientContentEncoding = $enc: the server got '${got}' bodies" \
		test "$got" = "$([ "$enc" = none ] && echo "" || echo "$enc")"
	sed -i '/^SyncClientContentEncoding/d' "$work/santa.conf"
done
reload_helper

# ---- events survive a santad crash and go up exactly once ----
for i in 1 2 3; do
	cp "$mnt/blocked" "$mnt/crash$i"
	"$mnt/crash$i" x 2> /dev/null || true
done
pending_named() { # PATTERN: how many events waiting in events.db have a file_name matching it
	"$santactl" printlog 2> /dev/null | grep -c "\"file_name\": *\"$1\"" || true
}
three_crash_blocks() { [ "$(pending_named 'crash[123]')" -eq 3 ]; }
check_eventually "3 blocks wait for upload" 30 three_crash_blocks
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
pid=
santa_start_santad "$santad"
# The new santad starts a new sync service: sync once it answers.
wait_until 60 sync_quiet || true
check "after the crash they are still there and went up" test "$(pending_named 'crash[123]')" -eq 0
n=$(python3 - "$srv/requests.jsonl" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == "eventupload":
        n += sum(1 for e in r["body"]["events"] if e.get("file_name", "").startswith("crash"))
print(n)
PY
)
check "each exactly once ($n uploads for 3 events)" test "$n" -eq 3

# ---- the sync service dies in the middle of an upload: nothing is lost ----
# The server has the request but holds its answer; the helper is killed before
# it could tell santad the batch went up, so santad keeps the events and the
# next sync sends them again (at least once, never zero times).
# This santad has not sent that hash yet: its first block goes up at once, then
# blocks of the same hash wait (10 minutes) for the next sync.
"$mnt/blocked" hi 2> /dev/null || true
wait_or_die 30 "the new santad's first block of that hash went up" uploads_idle
for i in 1 2; do
	cp "$mnt/blocked" "$mnt/midupload$i"
	"$mnt/midupload$i" x 2> /dev/null || true
done
two_midupload() { [ "$(pending_named 'midupload[12]')" -eq 2 ]; }
wait_or_die 30 "the two blocks are in events.db" two_midupload
echo "eventupload hang 1" > "$srv/fail"
"$santactl" sync > /dev/null 2>&1 &
sync_client=$!
check_eventually "the server received the upload it holds the answer to" 30 \
	grep -q '"midupload2"' "$srv/requests.jsonl"
helper_pid=$(sync_helper || true)
kill -9 "$helper_pid"
st=0
wait "$sync_client" || st=$?
check "santactl sync says the sync failed when the helper died under it (exit $st)" test "$st" -ne 0
check "santad still holds both events" test "$(pending_named 'midupload[12]')" -eq 2
# santad restarts the killed service (after 500 ms): sync once it answers.
wait_until 60 sync_quiet || true
check "after the restarted helper synced, none is waiting" test "$(pending_named 'midupload[12]')" -eq 0
got=$(python3 - "$srv/requests.jsonl" <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == "eventupload":
        for e in r["body"]["events"]:
            if e.get("file_name", "").startswith("midupload"):
                seen[e["file_name"]] = seen.get(e["file_name"], 0) + 1
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
PY
)
check "the server has both, once in the killed upload and once after ($got)" \
	test "$got" = "midupload1=2 midupload2=2"

# ---- a clean sync from the server replaces every rule (static rules stay) ----
printf '{"client_mode": "MONITOR", "sync_type": "clean"}' > "$srv/preflight.json"
printf '{"rules": [{"rule_type": "BINARY", "policy": "BLOCKLIST", "identifier": "%s"}]}' "$allowed_sha" > "$srv/rules/0.json"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "a server-requested clean sync exits 0" test "$st" -eq 0
check "the client says the server asked for it" grep -qxF "Clean sync requested by server" <<< "$out"
status=$("$santactl" status --json)
check "clean sync replaced the rules (1 binary rule left)" test "$(jq_field "$status" 'd["database"]["binary_rules"]')" = 1
check "clean sync removed the certificate rule" test "$(jq_field "$status" 'd["database"]["certificate_rules"]')" = 0
check "mode back to Monitor from the server" test "$(jq_field "$status" 'd["daemon"]["mode"]')" = Monitor
check "the formerly blocked binary runs after the clean sync" "$mnt/blocked" hi
check "a static rule survives the clean sync" bash -c "! '$mnt/static' 2>/dev/null"

# ---- 100,000 rules in 10 pages: applied in one transaction, answered in postflight ----
: > "$srv/requests.jsonl"
echo '{"client_mode": "MONITOR"}' > "$srv/preflight.json"
python3 - "$srv/rules" <<'PY'
import hashlib, json, sys
for page in range(10):
    rules = [{"identifier": hashlib.sha256(b"%d" % (page * 10000 + i)).hexdigest(),
              "rule_type": "BINARY", "policy": "BLOCKLIST"} for i in range(10000)]
    body = {"rules": rules}
    if page < 9:
        body["cursor"] = "page-%d" % (page + 1)
    json.dump(body, open("%s/%d.json" % (sys.argv[1], page), "w"))
PY
t0=$(date +%s.%N)
out=$("$santactl" sync 2>&1) && st=0 || st=$?
t1=$(date +%s.%N)
check "a 100,000-rule sync exits 0" test "$st" -eq 0
check "100,000 rules processed" grep -qxF "Processed 100000 rules" <<< "$out"
post=$(requests postflight | tail -1)
check "postflight reports 100,000 rules processed" test "$(jq_field "$post" 'd["rules_processed"]')" = 100000
check "santad holds them (100,001 binary rules)" \
	test "$(jq_field "$("$santactl" status --json)" 'd["database"]["binary_rules"]')" = 100001
echo "# 100,000-rule sync took $(echo "$t1 - $t0" | bc 2>/dev/null || python3 -c "print($t1 - $t0)") s"
check "decisions still work after it" "$mnt/blocked" hi
rm -f "$srv"/rules/*.json

# ---- the helper is supervised: killed, it comes back ----
helper_pid=$(sync_helper || true)
kill -9 "$helper_pid"
check "santad decides while the sync service is down" "$mnt/blocked" hi
# Back after 500 ms of backoff: 30 s still catches one that never comes back, whatever
# the load (how fast is not this test's business).
back() { local new; new=$(sync_helper) && [ "$new" != "$helper_pid" ]; }
check_eventually "a killed sync service is back" 30 back
wait_until 30 sync_quiet || true
check "the restarted sync service syncs" "$santactl" sync

# The sync service is no relay to santad's privileged calls: whoever may sync may not clean.
: > "$srv/requests.jsonl"
st=0
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$santactl" sync --clean 2>&1) || st=$?
check "a clean sync asked by a non-root santactl is refused" test "$st" -ne 0
check "saying it needs root" grep -qi "root" <<< "$out"
# The marker: a sync of root's after it. Had the refused one started anything, the
# service would have run it first; the server sees root's preflight, and no clean one.
check "a sync of root's after it exits 0 (the marker)" "$santactl" sync
check "the server saw root's preflight" grep -q '"stage": "preflight"' "$srv/requests.jsonl"
check "and no clean sync reached the server" \
	bash -c "! grep '\"stage\": \"preflight\"' '$srv/requests.jsonl' | grep -q '\"request_clean_sync\": true'"

# ---- config change: no SyncBaseURL any more -> the helper stops ----
sed -i '/^SyncBaseURL/d' "$work/santa.conf"
kill -HUP "$pid"
no_helper() { ! has_sync_helper; }
check_eventually "removing SyncBaseURL stops the sync service" 30 no_helper
check_eventually "and removes its socket" 30 test ! -e "$work/run/santasyncservice.sock"
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "santactl sync without SyncBaseURL says so" grep -qxF "Missing SyncBaseURL. Exiting." <<< "$out"
check "and exits 1" test "$st" -eq 1

kill "$pid"
st=0
wait "$pid" || st=$?
check "santad exits 0" test "$st" -eq 0
pid=

# ---- HTTPS with a pinned CA and a client certificate whose key stays root-only ----
tls=$work/tls
make_test_pki "$tls"
tls_server=
trap 'kill $server_pid $tls_server 2>/dev/null || true; santa_cleanup' EXIT
sync_server_start "$work/tls-port" "$tls"
tls_server=$sync_server_pid
tls_port=$sync_server_port
: > "$srv/requests.jsonl"
write_config "ServerAuthRootsFile = $tls/ca.pem
ClientAuthCertificateFile = $tls/client.pem
ClientAuthKeyFile = $tls/client.key"
sed -i "s|^SyncBaseURL = .*|SyncBaseURL = https://localhost:$tls_port/santa/|" "$work/santa.conf"
santa_start_santad "$santad"
wait_or_die 30 "santad started the sync service" has_sync_helper
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "sync over HTTPS with a pinned CA and a client certificate exits 0" test "$st" -eq 0
check "the TLS server got the preflight" grep -q '"stage": "preflight"' "$srv/requests.jsonl"
kill "$pid"; wait "$pid" || true; pid=
sed -i "s|^ServerAuthRootsFile = .*|ServerAuthRootsFile = $tls/other-ca.pem|" "$work/santa.conf"
santa_start_santad "$santad"
wait_or_die 30 "santad started the sync service" has_sync_helper
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "a server outside the pinned roots fails preflight (exit 1)" test "$st" -eq 1
check "and says it is a certificate problem" grep -qi "certificate" <<< "$out"
kill "$pid"; wait "$pid" || true; pid=
chmod 0644 "$tls/client.key"
chmod g+w "$tls/client.key"
sed -i "s|^ServerAuthRootsFile = .*|ServerAuthRootsFile = $tls/ca.pem|" "$work/santa.conf"
santa_start_santad "$santad"
wait_or_die 30 "santad started the sync service" has_sync_helper
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "a group-writable client key is refused (sync fails)" test "$st" -ne 0
check "santad says why" grep -q "must be a root-owned file" "$work/santad.err"
kill "$pid"; wait "$pid" || true; pid=
grep -E "santasyncservice|sync" "$work/santad.err" | tail -20 | sed 's/^/# /'
check_finish sync
