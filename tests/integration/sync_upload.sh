#!/usr/bin/env bash
# Issue 23, items 4 to 6, seen from the sync server's side
# (tests/integration/sync_server.py):
#  - a block's event reaches the server within seconds, without a full sync;
#    a hash blocked again within 10 minutes does not cost another upload (it
#    goes with the next one), so an unprivileged user running many blocked
#    programs gets at most one upload per hash; an upload that fails keeps
#    the event for later;
#  - events carry who is logged in (utmp, else logind), the parent's name and
#    the executing user, with the values the machine has;
#  - a server that drops a kept-alive connection sees Santa's retries: one
#    request per attempt, 4 then 8 s apart, not a silent resend at once.
# santad runs as in sync.sh (private tmpfs, own mount namespace).
# usage: sync_upload.sh SANTAD SANTACTL HELPER_DIR   (as root; skipped otherwise)
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
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec

source "$here/../lib/sync_server.sh"
server_pid=
trap 'kill $server_pid 2>/dev/null || true; santa_cleanup' EXIT
sync_server_start "$work/port"
server_pid=$sync_server_pid
port=$sync_server_port

# Programs of distinct hashes: /bin/true with a different tail each (it still runs).
prog() { # NAME [TAG]: $mnt/NAME, a program whose hash follows TAG (default NAME)
	cp /bin/true "$mnt/$1"
	printf '%s' "${2:-$1}" >> "$mnt/$1"
	chmod 0755 "$mnt/$1"
}
# Each event the server got, as "file_name" per line, in order.
uploaded_names() {
	python3 - "$srv/requests.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == "eventupload":
        print(" ".join(e.get("file_name", "?") for e in r["body"]["events"]))
PY
}
uploaded_event() { # NAME: the last event the server got for that file_name, as JSON
	python3 - "$srv/requests.jsonl" "$1" <<'PY'
import json, sys
found = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == "eventupload":
        for e in r["body"]["events"]:
            if e.get("file_name") == sys.argv[2]:
                found = e
print(json.dumps(found, sort_keys=True) if found else "")
PY
}
arrived() { grep -qs "\"file_name\": \"$1\"" "$srv/requests.jsonl"; }
pending() { "$santactl" printlog 2> /dev/null | grep -c "\"file_name\": *\"$1\"" || true; }
stage_count() { grep -c "\"stage\": \"$1\"" "$srv/requests.jsonl" || true; }
sync_ok() { "$santactl" sync > /dev/null 2>&1; }

echo '{"client_mode": "LOCKDOWN"}' > "$srv/preflight.json"
santa_write_config MONITOR \
	"HelperDirectory = $helpers" \
	"DecisionTimeoutMs = 2000" \
	"MachineID = test-machine-1" \
	"SyncBaseURL = http://127.0.0.1:$port/santa"
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"
wait_or_die 30 "santad started santasyncservice" test -S "$work/run/santasyncservice.sock"
wait_or_die 30 "a first sync (the server says LOCKDOWN)" sync_ok
# The next full sync is 600 s or more away (Santa's default interval): any upload
# below comes from the block itself.
: > "$srv/requests.jsonl"

# ---- item 4: a block goes up at once, without a full sync ----
prog first
t0=${EPOCHREALTIME/./}
"$mnt/first" 2> /dev/null && fail "an unknown program ran in Lockdown" || true
check_eventually "the block's event reached the server by itself" 15 arrived first
t1=${EPOCHREALTIME/./}
echo "# the event arrived $(((t1 - t0) / 1000)) ms after the exec"
check "within 10 s of the exec ($(((t1 - t0) / 1000)) ms)" test $((t1 - t0)) -lt 10000000
check "without a full sync (no preflight, no rule download)" \
	test "$(stage_count preflight)" -eq 0 -a "$(stage_count ruledownload)" -eq 0
check "as BLOCK_UNKNOWN" test "$(jq_field "$(uploaded_event first)" 'd.get("decision")')" = BLOCK_UNKNOWN
check_eventually "and once the server took it, it left events.db" 15 test "$(pending first)" -eq 0

# ---- bounded: the same hash again within 10 minutes waits for the next upload ----
: > "$srv/requests.jsonl"
for i in 1 2 3 4 5; do
	prog "again$i" first # the hash of "first"
	"$mnt/again$i" 2> /dev/null || true
done
five_stored() { [ "$(pending 'again[1-5]')" -eq 5 ]; }
check_eventually "the 5 blocks of the hash just uploaded are in events.db" 15 five_stored
# The block of a new hash goes up with them: proof that their own turn had passed.
prog second
"$mnt/second" 2> /dev/null || true
check_eventually "the next block of a new hash reached the server" 15 arrived second
got=$(uploaded_names)
echo "$got" | sed 's/^/# eventupload: /'
check "one upload carried it and the 5 that waited (batched)" \
	test "$(echo "$got" | wc -l)" -eq 1 -a "$(echo "$got" | wc -w)" -eq 6
check "the 5 did not go up before it" test "$(echo "$got" | head -1 | awk '{print $NF}')" = second

# ---- an upload that fails keeps the event for the next try ----
kill "$server_pid"
wait "$server_pid" 2> /dev/null || true
server_pid=
failed_before=$(grep -c "Event upload failed" "$work/santad.err" || true)
prog offline
"$mnt/offline" 2> /dev/null || true
upload_failed() { [ "$(grep -c "Event upload failed" "$work/santad.err" || true)" -gt "$failed_before" ]; }
check_eventually "the upload of a block was tried while the server was down, and failed" 15 upload_failed
check "the event is still in events.db" test "$(pending offline)" -eq 1
: > "$srv/requests.jsonl"
SYNC_SERVER_PORT=$port sync_server_start "$work/port2"
server_pid=$sync_server_pid
check "the next sync exits 0" sync_ok
check "and uploaded it" arrived offline
check "then it left events.db" test "$(pending offline)" -eq 0

# ---- the attacker: an unprivileged user runs 10 programs of their own, 5 copies each,
# all blocked: the server gets one upload per hash, not one per block, and every event
# once. Each hash's first block is let go up before its copies run, and the copies
# are in events.db before the next hash runs: an upload of their own would come
# before the next hash's (as the "again" case above shows). ----
mkdir "$mnt/evil"
chown 65534:65534 "$mnt/evil"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
evil() { # H K: nobody makes copy K of program H and runs it
	as_nobody bash -c 'cp /bin/true "$1" && printf "evil$2" >> "$1" && chmod 0755 "$1"
		"$1" 2> /dev/null; true' - "$mnt/evil/e$1-$2" "$1"
}
: > "$srv/requests.jsonl"
copies_stored() { # H: its 4 copies are in events.db, or (without the bound) went up already
	local k
	[ "$(pending "e$1-[2-5]")" -eq 4 ] && return 0
	for k in 2 3 4 5; do arrived "e$1-$k" || return 1; done
}
for h in 0 1 2 3 4 5 6 7 8 9; do
	evil "$h" 1
	wait_or_die 30 "the first block of program $h reached the server" arrived "e$h-1"
	for k in 2 3 4 5; do evil "$h" "$k"; done
	wait_or_die 30 "its 4 copies are in events.db" copies_stored "$h"
done
evil end 1
wait_or_die 30 "a last program's block reached the server" arrived "eend-1"
n=$(stage_count eventupload)
check "11 programs, 55 blocks: at most one upload per program ($n)" test "$n" -le 11
count_evil() {
	python3 - "$srv/requests.jsonl" <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] == "eventupload":
        for e in r["body"]["events"]:
            n = e.get("file_name", "")
            if n.startswith("e"):
                seen[n] = seen.get(n, 0) + 1
print(len(seen), max(seen.values()) if seen else 0)
PY
}
check "and every event of them went up, each once ($(count_evil))" test "$(count_evil)" = "51 1"

# ---- item 5: who is logged in (utmp, else logind), the parent's name, the executing user ----
if [ "$(findmnt -no PROPAGATION -T /run)" != private ]; then
	[ "$failures" -eq 0 ] || check_finish sync_upload
	santa_skip "/run is not on a private mount here: covering it could leak to the host"
fi
# This namespace's own /run, with a utmp made here: 3 logins, 2 users, and
# entries that are not logins (a dead process, a getty).
mount -t tmpfs -o mode=0755 tmpfs /run
python3 - /run/utmp <<'PY'
import struct, sys, time
def entry(kind, pid, line, user, host):
    # struct utmpx on Linux (glibc, 64-bit): 384 bytes
    return struct.pack("<hxxi32s4s32s256shhiii16s20s", kind, pid, line.encode(),
                       line[-4:].encode(), user.encode(), host.encode(), 0, 0, 0,
                       int(time.time()), 0, b"", b"")
USER_PROCESS, LOGIN_PROCESS, DEAD_PROCESS = 7, 6, 8
with open(sys.argv[1], "wb") as f:
    f.write(entry(USER_PROCESS, 101, "pts/3", "alice", "10.0.0.7"))
    f.write(entry(USER_PROCESS, 102, "tty1", "alice", ""))
    f.write(entry(DEAD_PROCESS, 103, "pts/5", "carol", "gone.example"))
    f.write(entry(LOGIN_PROCESS, 104, "tty2", "LOGIN", ""))
    f.write(entry(USER_PROCESS, 105, "pts/4", "bob", "laptop.example"))
PY
chmod 0644 /run/utmp
# The blocked program's parent: a shell named parentprog, as nobody.
cp "$(command -v bash)" "$work/parentprog"
chmod 0755 "$work/parentprog"
prog fields
: > "$srv/requests.jsonl"
setpriv --reuid=65534 --regid=65534 --clear-groups "$work/parentprog" -c "'$mnt/fields' 2> /dev/null; true"
check_eventually "the block with the new fields reached the server" 15 arrived fields
ev=$(uploaded_event fields)
echo "# $ev"
check "logged_in_users: the distinct users of utmp's logins" \
	test "$(jq_field "$ev" 'd.get("logged_in_users")')" = "['alice', 'bob']"
check "current_sessions: user@host, or user@line without a host" \
	test "$(jq_field "$ev" 'd.get("current_sessions")')" = "['alice@10.0.0.7', 'alice@tty1', 'bob@laptop.example']"
check "parent_name: the parent's name" test "$(jq_field "$ev" 'd.get("parent_name")')" = parentprog
check "executing_user: who ran it" test "$(jq_field "$ev" 'd.get("executing_user")')" = nobody
check "ppid is that parent's" test "$(jq_field "$ev" 'd.get("ppid", 0) > 1')" = True

# A utmp of 300 logins (anyone in group utmp can write it): the event lists the first 256.
python3 - /run/utmp <<'PY'
import struct, sys, time
with open(sys.argv[1], "wb") as f:
    for i in range(300):
        f.write(struct.pack("<hxxi32s4s32s256shhiii16s20s", 7, 1000 + i, b"pts/%d" % i, b"%d" % i,
                            b"u%d" % i, b"", 0, 0, 0, int(time.time()), 0, b"", b""))
PY
prog many
"$mnt/many" 2> /dev/null || true
check_eventually "a block with 300 logins in utmp reached the server" 15 arrived many
ev=$(uploaded_event many)
check "current_sessions holds the first 256" \
	test "$(jq_field "$ev" '(len(d["current_sessions"]), d["current_sessions"][-1], len(d["logged_in_users"]))')" = "(256, 'u255@pts/255', 256)"

# No utmp (systemd built without it): logind's sessions, from /run/systemd/sessions.
rm /run/utmp
mkdir -p /run/systemd/sessions
cat > /run/systemd/sessions/7 <<'EOF'
UID=65534
USER=nobody
ACTIVE=1
STATE=active
REMOTE=1
TYPE=tty
CLASS=user
TTY=pts/9
REMOTE_HOST=198.51.100.4
EOF
cat > /run/systemd/sessions/c1 <<'EOF'
UID=0
USER=root
ACTIVE=1
STATE=online
REMOTE=0
TYPE=x11
CLASS=greeter
DISPLAY=:0
EOF
prog logind
: > "$srv/requests.jsonl"
"$mnt/logind" 2> /dev/null || true
check_eventually "the next block reached the server" 15 arrived logind
ev=$(uploaded_event logind)
echo "# $ev"
check "without utmp, logged_in_users come from logind (its greeter is no user)" \
	test "$(jq_field "$ev" 'd.get("logged_in_users")')" = "['nobody']"
check "and current_sessions: user@remote host" \
	test "$(jq_field "$ev" 'd.get("current_sessions")')" = "['nobody@198.51.100.4']"

# ---- item 6: a server dropping a kept-alive connection sees Santa's backoff ----
check "a sync first (a connection the client could keep)" sync_ok
: > "$srv/requests.jsonl"
echo "preflight reset 2" > "$srv/fail"
check "a sync whose preflight is dropped twice still succeeds" sync_ok
times=$(python3 - "$srv/requests.jsonl" <<'PY'
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1]) if json.loads(l)["stage"] == "preflight"]
print(" ".join("%.2f" % (b - a) for a, b in zip(t, t[1:])))
PY
)
echo "# gaps between the preflight requests the server got: $times s"
check "3 preflight requests: one per attempt, none resent behind the client's back" \
	test "$(echo "$times" | wc -w)" -eq 2
gap_ok() { python3 -c 'import sys; g = float(sys.argv[1]); sys.exit(not (float(sys.argv[2]) - 0.5 <= g <= float(sys.argv[2]) + 5))' "$@"; }
check "4 s before the second attempt (${times%% *} s)" gap_ok "${times%% *}" 4
check "8 s before the third (${times##* } s)" gap_ok "${times##* }" 8

kill "$pid"
wait "$pid" || true
pid=
check_finish sync_upload
