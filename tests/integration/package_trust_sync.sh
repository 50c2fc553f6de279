#!/usr/bin/env bash
# Package rules from a sync server (docs/package-trust.md): the server sends
# LOCKDOWN, a TEAMID allow rule and a SIGNINGID block rule, as a Santa server
# would; santad enforces them on packaged programs, the next preflight counts
# them by type, and the block is uploaded with the package's signing identity
# (signing_id, team_id, signing_chain) and decision BLOCK_SIGNINGID.
# usage: package_trust_sync.sh SANTAD SANTACTL HELPERDIR   (as root)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
srv=$work/server
mkdir -p "$srv/rules"
source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"
source "$here/../lib/package_fixture.sh"
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec
source "$here/../lib/sync_server.sh"
server_pid=
trap 'kill $server_pid 2>/dev/null || true; santa_cleanup' EXIT
sync_server_start "$work/port"
server_pid=$sync_server_pid

cat > "$srv/preflight.json" <<JSON
{"client_mode": "LOCKDOWN", "clean_sync": true}
JSON
cat > "$srv/rules/0.json" <<JSON
{"rules": [
 {"identifier": "$team_id", "policy": "ALLOWLIST", "rule_type": "TEAMID"},
 {"identifier": "$team_id:santa-other", "policy": "BLOCKLIST", "rule_type": "SIGNINGID",
  "custom_msg": "santa-other is not for this fleet"}
]}
JSON
cat > "$work/santa.conf" <<CONF
ClientMode = MONITOR
$(santa_test_config)
$(package_trust_config)
SantactlPath = $santactl
HelperDirectory = $helpers
DecisionTimeoutMs = 5000
MachineID = pkg-machine
EventLogType = json
SyncBaseURL = http://127.0.0.1:$sync_server_port/santa
CONF
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

status_field() { "$santactl" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
loaded() { [ "$(status_field "d['package_trust']['loaded']")" = True ]; }
wait_or_die 60 "package trust loaded" loaded
synced() { "$santactl" sync > /dev/null 2>&1; }
wait_or_die 60 "the first sync succeeded" synced
check "the server set LOCKDOWN" test "$(status_field "d['daemon']['mode']")" = Lockdown
check "the synced TEAMID and SIGNINGID rules are counted" \
	test "$(status_field "(d['database']['teamid_rules'], d['database']['signingid_rules'])")" = "(1, 1)"

ran() { "$@" > /dev/null 2>&1; }
denied() { local out; ! out=$("$1" 2>&1) && [[ $out == *"Operation not permitted"* ]]; }
check "the synced TEAMID rule allows the archive's programs" ran "$mnt/usr/bin/tool"
check "the synced SIGNINGID block denies santa-other's program" denied "$mnt/usr/bin/other"
check "a program in no package stays unknown in LOCKDOWN" denied "$mnt/usr/bin/later"
# EventLogType = json: Santa's code_signature and certificate_info on the exec's message.
json_line() { grep -F "\"path\":\"$mnt/usr/bin/other\"" "$work/santa.log" 2> /dev/null | tail -n 1; }
has_json_line() { [ -n "$(json_line)" ]; }
wait_until 20 has_json_line || true
line=$(json_line)
check "json log: the block's code_signature and certificate_info" test \
	"$(python3 -c 'import json,sys; e=json.loads(sys.argv[1])["execution"]; x=e["target"]["executable"]; print(e["reason"], x["code_signature"]["signing_id"], x["code_signature"]["team_id"], x["certificate_info"]["hash"])' "$line" 2>&1)" = \
	"REASON_SIGNING_ID $team_id:santa-other $team_id $certificate"

# The next sync (not clean: a clean sync uploads no events, as on Santa): preflight counts
# the rules by type, and the block is uploaded with its identity.
echo '{"client_mode": "LOCKDOWN"}' > "$srv/preflight.json"
wait_or_die 60 "the second sync succeeded" synced
pre=$(requests preflight | tail -n 1)
counts=$(jq_field "$pre" "(d.get('teamid_rule_count'), d.get('signingid_rule_count'), d.get('certificate_rule_count', 0))")
check "preflight reports teamid_rule_count 1 and signingid_rule_count 1 (got $counts)" test "$counts" = "(1, 1, 0)"
block=$(requests eventupload | python3 -c '
import json, sys
for line in sys.stdin:
    for e in json.loads(line).get("events", []):
        if e.get("file_name") == "other":
            print(json.dumps(e)); sys.exit(0)')
check "the block was uploaded" test -n "$block"
[ -n "$block" ] || echo "# uploads: $(requests eventupload) stages: $(python3 -c 'import json,sys; print([json.loads(l)["stage"] for l in open(sys.argv[1])])' "$srv/requests.jsonl")"
check "... as BLOCK_SIGNINGID" test "$(jq_field "$block" "d.get('decision')")" = BLOCK_SIGNINGID
check "... with signing_id and team_id" \
	test "$(jq_field "$block" "(d.get('signing_id'), d.get('team_id'))")" = "('$team_id:santa-other', '$team_id')"
check "... and the signing chain: the archive key's SHA-256 and user ID" \
	test "$(jq_field "$block" "(d['signing_chain'][0]['sha256'], d['signing_chain'][0]['cn'], d['signing_chain'][0]['org'])")" = "('$certificate', 'Santa Test Archive <archive@example.test>', 'Santa Test')"

check_finish package_trust_sync
