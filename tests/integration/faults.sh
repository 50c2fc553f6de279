#!/usr/bin/env bash
# Faults santad must survive without losing enforcement or data: a rules.db
# that is garbage or truncated at start (santad runs fail-safe, says why and
# leaves the file byte for byte), and a full disk under the event log and
# events.db (decisions go on, losses are counted, logging resumes).
# usage: faults.sh SANTAD SANTACTL HELPER_DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
cp /bin/true "$mnt/allowed"
cp /bin/echo "$mnt/blocked"
blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)
export SANTA_CONFIG=$work/santa.conf

write_config() { # EXTRA LINES...
	{
		echo "ClientMode = MONITOR"
		santa_test_config
		echo "SantactlPath = $santactl"
		echo "HelperDirectory = $helpers"
		printf '%s\n' "$@"
		echo "[StaticRule:block]"
		echo "identifier = $blocked_sha"
		echo "rule_type = BINARY"
		echo "policy = BLOCKLIST"
	} > "$work/santa.conf"
	chmod 0644 "$work/santa.conf"
}
stop() {
	kill "$pid"
	local st=0
	wait "$pid" || st=$?
	pid=
	check "santad exits 0" test "$st" -eq 0
}

# ---- rules.db is garbage ----
mkdir -p "$work/state"
head -c 65536 /dev/urandom > "$work/state/rules.db"
before=$(sha256sum < "$work/state/rules.db")
write_config
santa_start_santad "$santad"
check "santad starts with a garbage rules.db" kill -0 "$pid"
check "and says why" grep -q "is not a usable rules database" "$work/santad.err"
check "and how it runs" grep -q "runs without database rules" "$work/santad.err"
check "static rules still block" bash -c "! '$mnt/blocked' x 2>/dev/null"
check "the mode still decides (MONITOR allows)" "$mnt/allowed"
st=$("$santactl" status)
check "santactl status says the database is unusable" grep -q "Rules Database            | UNUSABLE" <<< "$st"
sed -i '/^\[StaticRule/,$d' "$work/santa.conf" # santactl refuses rule edits while static rules exist
out=$("$santactl" rule --block --sha256 "$(sha256sum < "$mnt/allowed" | cut -d' ' -f1)" 2>&1) && rc=0 || rc=$?
check "rule changes are refused while it is unusable (exit $rc)" test "$rc" -eq 1
check "with the reason" grep -q "not a usable rules database" <<< "$out"
stop
check "the garbage file is left byte for byte" test "$(sha256sum < "$work/state/rules.db")" = "$before"

# ---- rules.db truncated ----
rm -f "$work/state/rules.db"*
write_config
santa_start_santad "$santad"
sed -i '/^\[StaticRule/,$d' "$work/santa.conf"
for i in $(seq 1 300); do printf '%064x\n' "$i"; done | python3 -c '
import json, sys
print(json.dumps({"rules": [{"identifier": l.strip(), "policy": "BLOCKLIST", "rule_type": "BINARY"} for l in sys.stdin]}))' > "$work/many.json"
"$santactl" rule --import "$work/many.json" > /dev/null
write_config
stop
size=$(stat -c %s "$work/state/rules.db")
truncate -s $((size / 2)) "$work/state/rules.db"
rm -f "$work/state/rules.db-wal" "$work/state/rules.db-shm"
before=$(sha256sum < "$work/state/rules.db")
santa_start_santad "$santad"
check "santad starts with a truncated rules.db ($size -> $((size / 2)) bytes)" kill -0 "$pid"
check "and runs fail-safe" grep -q "runs without database rules" "$work/santad.err"
check "static rules still block" bash -c "! '$mnt/blocked' x 2>/dev/null"
stop
check "the truncated file is left byte for byte" test "$(sha256sum < "$work/state/rules.db")" = "$before"
rm -f "$work/state/rules.db"*

# ---- 1,000 hostile connections and a flood of junk while execs are decided ----
# What this protects: junk on santad.sock cannot hold up the loop's answers to
# the kernel (a cached denial is answered on the loop, with no deadline to
# fall back on: a starved loop is a hung exec). How fast an exec is depends on
# the machine; whether execs are answered while the flood goes on does not:
# the flood lasts until the execs are done (at most 120 s), so a loop that only
# answers once the junk stops shows as an exec waiting for the flood's end.
write_config
santa_start_santad "$santad"
python3 - "$work/run/santad.sock" "$work/flood.connected" "$work/flood.stop" > "$work/flood.out" 2>&1 <<'PY' &
import os, socket, sys, time
conns = []
for i in range(1000):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(sys.argv[1])
        s.setblocking(False)
        conns.append(s)
    except OSError:
        pass
sent = 0
def send_round():
    global sent
    for s in conns:
        try:
            s.send(os.urandom(64))
            sent += 1
        except OSError:
            pass
send_round()
open(sys.argv[2], "w").close()  # connected, and the first junk is on its way
end = time.monotonic() + 120
while time.monotonic() < end and not os.path.exists(sys.argv[3]):
    send_round()
print("connections", len(conns), "datagrams", sent,
      "stopped when asked" if os.path.exists(sys.argv[3]) else "stopped at its 120 s limit")
PY
flood=$!
wait_or_die 60 "the flood connected" test -e "$work/flood.connected"
# (An exec that never returns: the measurement is cut off and counts as one that
# took for ever.)
measured=$(timeout 300 python3 - "$mnt/allowed" "$mnt/blocked" <<'PY'
import subprocess, sys, time
worst, ran = 0.0, 0
for i in range(100):
    for exe in sys.argv[1:]:
        t = time.monotonic()
        try:
            if subprocess.run([exe, "x"], stderr=subprocess.DEVNULL).returncode == 0 and exe == sys.argv[2]:
                ran += 1
        except PermissionError:
            pass  # the blocked one: denied, which is the answer too
        worst = max(worst, time.monotonic() - t)
print("%.3f %d" % (worst, ran))
PY
) || measured="999.999 0"
read -r worst blocked_ran <<< "$measured"
check "the flood lasted the whole measurement" kill -0 "$flood"
touch "$work/flood.stop"
wait "$flood" || true
sed 's/^/# /' "$work/flood.out"
# A hung or starved exec waits for the flood's end (120 s) or for ever: 20 s
# is far beyond a loaded machine's slowest exec and far below that.
check "execs are answered while the flood goes on (slowest ${worst} s, bound 20 s)" \
	awk -v w="$worst" 'BEGIN { exit !(w < 20) }'
check "the blocked program was denied every time during the flood (ran $blocked_ran times)" \
	test "$blocked_ran" -eq 0
check "a block still holds after the flood" bash -c "! '$mnt/blocked' x 2>/dev/null"
check "santactl is still served after the flood" "$santactl" status
check "santad counted the refused clients" \
	bash -c "'$santactl' metrics --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(p[\"data\"] for p in d[\"metrics\"][\"/santa/ipc/rejections\"][\"fields\"][\"reason\"]))' | awk '\$1 > 0 {ok=1} END {exit !ok}'"
stop

# ---- a full disk under santa.log and events.db ----
mkdir -p "$work/full"
mount -t tmpfs -o size=256k tmpfs "$work/full"
write_config "SyncBaseURL = http://127.0.0.1:9/" "MachineID = m"
sed -i "s|^EventLogPath = .*|EventLogPath = $work/full/santa.log|; s|^EventsDBPath = .*|EventsDBPath = $work/full/events.db|" \
	"$work/santa.conf"
santa_start_santad "$santad"
"$mnt/allowed"
dd if=/dev/zero of="$work/full/filler" bs=4k 2> /dev/null || true
denied=0 allowed=0
for _ in $(seq 1 200); do
	"$mnt/allowed" && allowed=$((allowed + 1))
	"$mnt/blocked" x 2> /dev/null || denied=$((denied + 1))
done
check "with the disk full, 200 allowed execs ran ($allowed)" test "$allowed" -eq 200
check "and 200 blocked ones were denied ($denied)" test "$denied" -eq 200
# STATUS-SECTION KEY: santactl status --json's number (log lines and events
# are written after the answer, by other threads: the counts may lag the execs).
status_number() {
	"$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]][sys.argv[2]])' "$1" "$2"
}
positive() { [ "$(status_number "$1" "$2")" -gt 0 ]; }
wait_until 20 positive daemon log_lines_lost || true
wait_until 20 positive database events_store_failures || true
lost=$(status_number daemon log_lines_lost)
store=$(status_number database events_store_failures)
check "lost log lines are counted ($lost)" test "$lost" -gt 0
check "events events.db could not take are counted ($store)" test "$store" -gt 0
rm -f "$work/full/filler"
lines=$(wc -l < "$work/full/santa.log")
"$mnt/blocked" x 2> /dev/null || true
more_lines() { [ "$(wc -l < "$work/full/santa.log")" -gt "$lines" ]; }
check_eventually "logging resumes once there is room" 20 more_lines
stop
umount "$work/full"

# ---- SIGKILL of santad in the middle of an exec storm: nobody stays stuck, a restart resumes ----
write_config
santa_start_santad "$santad"
mkdir -p "$mnt/storm"
storm_pids=()
for k in 1 2 3 4; do
	(
		for i in $(seq 1 150); do
			cp "$mnt/allowed" "$mnt/storm/p$k-$i" # a new file: hashed, decided cold
			printf '%s' "$k-$i" >> "$mnt/storm/p$k-$i"
			"$mnt/storm/p$k-$i" || true
			"$mnt/blocked" x > /dev/null 2>&1 || true # runs (prints) once santad is gone
		done
		echo done >> "$work/storm-done"
	) &
	storm_pids+=($!)
done
# Killed once the storm is under way (twenty programs written), not
# after a fixed time: on a slow machine that could be before it began, on a
# fast one after it ended.
storm_files() { ls "$mnt/storm" | wc -l; }
storm_started() { [ "$(storm_files)" -ge 20 ]; }
wait_or_die 60 "the storm got going" storm_started
kill -9 "$pid"
storm_loops_done() { if [ -e "$work/storm-done" ]; then wc -l < "$work/storm-done"; else echo 0; fi; }
at_kill="$(storm_files) of 600 programs written, $(storm_loops_done) of 4 loops done"
wait "$pid" 2> /dev/null || true
pid=
check "santad was killed mid-storm ($at_kill)" test "${at_kill##*written, }" != "4 of 4 loops done"
all_done() { [ "$(storm_loops_done)" -eq 4 ]; }
check_eventually "after SIGKILL mid-storm every exec loop ran to its end (none stuck)" 90 all_done
for p in "${storm_pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
santa_start_santad "$santad"
check "a restarted santad enforces again (the blocked file is denied)" bash -c "! '$mnt/blocked' x 2>/dev/null"
cp "$mnt/allowed" "$mnt/storm/after"
printf 'after' >> "$mnt/storm/after"
check "and decides new files" "$mnt/storm/after"
stop

# ---- symlinks planted where santad writes: never followed ----
echo precious > "$work/victim"
victim_sum=$(sha256sum < "$work/victim")
ln -sf "$work/victim" "$work/linked.log"
write_config
sed -i "s|^EventLogPath = .*|EventLogPath = $work/linked.log|" "$work/santa.conf"
st=0
# It must stop at once; the bound only tells that from a santad that runs on.
timeout 60 "$santad" --config "$work/santa.conf" > "$work/symlink.err" 2>&1 || st=$?
check "a symlinked event log stops santad at start (exit $st)" test "$st" -ne 0 -a "$st" -ne 124
check "saying why" grep -q "event log" "$work/symlink.err"
ln -sf "$work/victim" "$work/linked.db"
write_config
sed -i "s|^RulesDBPath = .*|RulesDBPath = $work/linked.db|" "$work/santa.conf"
santa_start_santad "$santad"
check "a symlinked rules.db is not opened (santad runs fail-safe)" grep -q "not a usable rules database\|cannot open" "$work/santad.err"
stop
check "the files the symlinks pointed at are untouched" test "$(sha256sum < "$work/victim")" = "$victim_sum"

# ---- the sync server down for a long time: events kept up to the cap, the rest counted ----
write_config "SyncBaseURL = http://127.0.0.1:9/" "MachineID = m" "EventsDBMaxEvents = 5" \
	"BlockedPathRegex = ^$mnt/blockdir/"
rm -f "$work/state/events.db"*
mkdir -p "$mnt/blockdir"
for i in $(seq 1 12); do cp "$mnt/allowed" "$mnt/blockdir/b$i"; done
santa_start_santad "$santad"
denied=0
for i in $(seq 1 12); do "$mnt/blockdir/b$i" 2> /dev/null || denied=$((denied + 1)); done
check "12 blocked execs were denied with the server unreachable ($denied)" test "$denied" -eq 12
events_total() {
	"$santactl" status --json | python3 -c 'import json,sys; d=json.load(sys.stdin)["database"]; print(d["events_pending_upload"] + d["events_dropped"])'
}
all_events_seen() { [ "$(events_total)" -ge 12 ]; }
wait_until 20 all_events_seen || true
pending=$(status_number database events_pending_upload)
dropped=$(status_number database events_dropped)
check "events are kept up to EventsDBMaxEvents ($pending of 5)" test "$pending" -eq 5
check "the oldest beyond it are dropped and counted ($dropped)" test "$dropped" -eq 7
check "the newest are the ones kept" bash -c "'$santactl' printlog | grep -q 'blockdir/b12\|\"file_name\": *\"b12\"'"
stop

check_finish fault
