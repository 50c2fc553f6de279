#!/usr/bin/env bash
# santad enforcing for real, on a private tmpfs in its own mount namespace
# (marked with FAN_MARK_MOUNT; nothing else on the machine is watched).
# usage: santad_enforce.sh SANTAD SANTACTL SANTA_GUI   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
santa_gui=$(realpath "$3")

# Re-run inside a private mount namespace; the tmpfs vanishes with it.
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
mnt=$work/mnt

cp /bin/true "$mnt/allowed"
cp /bin/echo "$mnt/blocked"
cp /bin/ls "$mnt/unknown"
mkdir -p "$mnt/scoped"
cp /bin/pwd "$mnt/scoped/tool"
printf '#!/bin/sh\necho script-ran\n' > "$mnt/script.sh"
chmod 0755 "$mnt/script.sh"
# A file whose name tries to forge log fields and lines.
evil_name=$'evil|decision=ALLOW\nforged=1'
cp /bin/true "$mnt/$evil_name"

blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)
allowed_sha=$(sha256sum "$mnt/allowed" | cut -d' ' -f1)
evil_sha=$(sha256sum < "$mnt/$evil_name" | cut -d' ' -f1)

failures=0
pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; failures=$((failures + 1)); }
source "$(dirname "$0")/../lib/wait.sh"

pid=
start_santad() { # MODE [extra config lines]
	local mode=$1
	shift
	(
		echo "ClientMode = $mode"
		santa_test_config
		echo "DecisionTimeoutMs = 2000"
		echo "SantactlPath = $santactl"
		echo "BlockedPathRegex = ^$mnt/scoped/"
		printf '%s\n' "$@"
		[ -n "${NO_STATIC_RULES:-}" ] && exit 0
		echo "[StaticRule:block]"
		echo "identifier = $blocked_sha"
		echo "rule_type = BINARY"
		echo "policy = BLOCKLIST"
		echo "[StaticRule:allow]"
		echo "identifier = $allowed_sha"
		echo "rule_type = BINARY"
		echo "policy = ALLOWLIST"
	) > "$work/santa.conf"
	santa_start_santad "$santad"
	# Decisions made before the package view is loaded are not cached (and
	# its load flushes them): the cache checks below need it loaded.
	wait_or_die 60 "santad loaded its package view" view_loaded
}
view_loaded() {
	SANTA_CONFIG=$work/santa.conf "$santactl" status --json 2> /dev/null |
		python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["package_trust"]["loaded"] else 1)'
}

stop_santad() {
	kill "$pid" 2>/dev/null || true
	# A clean stop (it flushes the log, under ASan it checks for leaks) may be
	# slow on a loaded machine: SIGKILL only for one that hangs.
	wait_until 60 santad_gone || true
	kill -9 "$pid" 2>/dev/null || true
	local status=0
	wait "$pid" 2>/dev/null || status=$?
	grep -q "stopping" "$work/santad.err" || fail "santad did not stop cleanly on SIGTERM"
	# Exit 0: under the sanitizers that also means no leak and no memory error.
	[ "$status" -eq 0 ] || fail "santad exited with status $status: $(tail -5 "$work/santad.err")"
	pid=
}

santad_gone() { ! kill -0 "$pid" 2> /dev/null; }

# Waits until the log has a line for path (the writer thread is asynchronous).
in_log() { grep -qF -- "$1" "$work/santa.log" 2> /dev/null; }
log_line_for() {
	wait_until 20 in_log "$1" || return 1
	grep -F -- "$1" "$work/santa.log" | tail -n 1
}
# NEEDLE N: the log has at least N lines with NEEDLE.
log_count_at_least() { [ "$(grep -cF -- "$1" "$work/santa.log" 2> /dev/null)" -ge "$2" ]; }
in_err() { grep -qF -- "$1" "$work/santad.err"; }

# ---- MONITOR ----
start_santad MONITOR

if out=$("$mnt/blocked" hello 2>&1); then
	fail "MONITOR: blocklisted binary ran: $out"
else
	case "$out" in
	*"Operation not permitted"*) pass "MONITOR: BINARY block rule denies exec with EPERM" ;;
	*) fail "MONITOR: blocked exec failed, but not with EPERM: $out" ;;
	esac
fi
line=$(log_line_for "path=$mnt/blocked") || line=""
case "$line" in
*"action=EXEC|decision=DENY|reason=BINARY|sha256=$blocked_sha|pid="*"|mode=M|path=$mnt/blocked"*)
	pass "log line for the denied exec has Santa's fields" ;;
*) fail "log line for the denied exec: '$line'" ;;
esac
case "$line" in
*"|ppid="[1-9]*"|uid=0|user=root|gid=0|group=root|"*) pass "log line names ppid/uid/user/gid/group" ;;
*) fail "log line user fields: '$line'" ;;
esac

"$mnt/unknown" / > /dev/null && pass "MONITOR: unknown binary allowed" ||
	fail "MONITOR: unknown binary was denied"
line=$(log_line_for "path=$mnt/unknown") || line=""
case "$line" in
*"decision=ALLOW|reason=UNKNOWN|"*"|mode=M|"*) pass "MONITOR: ALLOW UNKNOWN logged" ;;
*) fail "MONITOR unknown log: '$line'" ;;
esac

# Later execs of the same allowed file never reach the permission path (kernel ignore
# mark), yet each one is still logged, as Santa logs every exec.
for _ in 1 2 3; do "$mnt/unknown" / > /dev/null; done
wait_until 20 log_count_at_least "path=$mnt/unknown" 4 || true
n=$(grep -cF "path=$mnt/unknown" "$work/santa.log")
[ "$n" -eq 4 ] && pass "4 execs of an allowed file, 4 log lines (ignore marks on)" ||
	fail "expected 4 log lines for 4 execs, got $n"

# Who ran an exec the kernel allowed without asking: santad reads those
# notifications in batches, when a short process is long gone from /proc, so
# its parent, user and args must come from what the BPF program kept at the
# exec. The first exec is decided (the process waits) and its line waits for
# the args, which exist only once the exec is done. Where that program cannot
# load, santad reads /proc at once and says so in status (then nothing here
# can be exact: a process may be gone already).
bpf_exec_info=false
santa_bpf_loads "$santad" exec_info && bpf_exec_info=true
echo "# the exec-info BPF program loads here: $bpf_exec_info"
exec_info=$(SANTA_CONFIG=$work/santa.conf "$santactl" status --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["daemon"]["exec_info"])')
[ "$exec_info" = "$($bpf_exec_info && echo bpf || echo proc)" ] &&
	pass "status says where exec info comes from ($exec_info)" ||
	fail "status exec_info is '$exec_info' (BPF loads: $bpf_exec_info)"
chmod 0755 "$work"
nobody_group=$(getent group 65534 | cut -d: -f1)
parent=$(setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
	'echo $$; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "$1" "a|b" "c d"; done' \
	sh "$mnt/allowed")
want="|ppid=$parent|uid=65534|user=nobody|gid=65534|group=$nobody_group|mode=M|path=$mnt/allowed|args=$mnt/allowed a<pipe>b c d"
# Lines of cached execs come in batches: all 20 must be there before they are judged.
wait_until 20 log_count_at_least "path=$mnt/allowed" 20 || true
n=$(grep -cF -- "$want" "$work/santa.log" || true)
if $bpf_exec_info; then
	[ "$n" -eq 20 ] && pass "20 execs by nobody (1 decided, 19 cached): each line names its parent, user, group and args" ||
		fail "execs by nobody: $n of 20 lines have '$want': $(grep -F "path=$mnt/allowed" "$work/santa.log" | tail -2)"
	# An exec that fails after the kernel allowed the open (ENOEXEC) never
	# gets its args: its line must still be written, without them.
	head -c 4096 /dev/urandom > "$mnt/garbage"
	chmod 0755 "$mnt/garbage"
	python3 -c 'import os, sys; os.execv(sys.argv[1], sys.argv[1:])' "$mnt/garbage" x 2> /dev/null &&
		fail "garbage executed"
	line=$(log_line_for "path=$mnt/garbage") || line=""
	case "$line" in
	*"decision=ALLOW|reason=UNKNOWN|"*"|path=$mnt/garbage") pass "a failed exec's line is written, without args" ;;
	*) fail "failed exec's line: '$line'" ;;
	esac
else
	n=$(grep -cF -- "${want%%|args=*}" "$work/santa.log" || true)
	echo "# /proc exec info: $n of 20 execs' lines name parent and user, none has args (no BPF: not checked)"
fi

if "$mnt/scoped/tool" > /dev/null 2>&1; then
	fail "BlockedPathRegex: scoped binary ran"
else
	pass "BlockedPathRegex denies in MONITOR"
fi
line=$(log_line_for "path=$mnt/scoped/tool") || line=""
case "$line" in
*"decision=DENY|reason=SCOPE|explain=Blocked Path Regex|"*) pass "scope deny logged with explain" ;;
*) fail "scope log: '$line'" ;;
esac

# Cached allow, then the file is rewritten with blocked content: re-evaluated.
cp /bin/ls "$mnt/changing"
"$mnt/changing" / > /dev/null && "$mnt/changing" / > /dev/null ||
	fail "changing: first execs should be allowed"
cat "$mnt/blocked" > "$mnt/changing"
if "$mnt/changing" x > /dev/null 2>&1; then
	fail "a cached allowed file rewritten with blocked content still ran"
else
	pass "rewritten file re-evaluated (cache invalidated by ctime)"
fi

# Log injection: the name cannot add a field or a line.
"$mnt/$evil_name" && pass "file with | and newline in its name ran" || fail "evil name did not run"
# The forged line, if any, would be written with the exec's own line: wait for
# that one (its path starts the same, escaped or not).
wait_until 20 in_log "path=$mnt/evil" || true
if grep -q "^forged=1" "$work/santa.log"; then
	fail "a file name forged a log line"
elif grep -q 'path=.*evil<pipe>decision=ALLOW\\nforged=1' <<< "$(grep -F "sha256=$evil_sha" "$work/santa.log")"; then
	pass "log escapes | and newline in paths"
else
	fail "escaped evil line not found: $(grep -F "evil" "$work/santa.log" || true)"
fi

# A filesystem mounted under the watched path after santad started is watched too.
mkdir -p "$mnt/late"
mount -t tmpfs -o mode=0755 tmpfs "$mnt/late"
cp /bin/echo "$mnt/late/blocked-copy"
# santad notices the mount asynchronously: once it says so, the mount is marked.
wait_until 20 in_err "watching $mnt/late (mount)" && pass "santad logged the new mount" ||
	fail "new mount not logged"
if "$mnt/late/blocked-copy" x > /dev/null 2>&1; then
	fail "a blocklisted binary on a filesystem mounted after start ran"
else
	pass "a filesystem mounted after santad started is enforced without a restart"
fi
santa_umount "$mnt/late"
wait_until 20 in_err "no longer watching $mnt/late (unmounted)" &&
	pass "an unmounted filesystem leaves the watched list" || fail "unmount not noticed"

# A script run directly goes through its interpreter's exec of the script file.
out=$("$mnt/script.sh" 2>&1) && pass "script allowed in MONITOR ($out)" || fail "script: $out"

# santad killed: nothing hangs, execs are allowed again (fail open).
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
# A hang would last for ever: the bound only has to be far above a loaded exec.
if timeout 30 "$mnt/blocked" after-kill > /dev/null 2>&1; then
	pass "after SIGKILL of santad, execs proceed (fail open, no hang)"
else
	fail "exec after santad was killed failed or hung"
fi

# ---- LOCKDOWN ----
rm -f "$work/santa.log"
start_santad LOCKDOWN

if "$mnt/unknown" / > /dev/null 2>&1; then
	fail "LOCKDOWN: unknown binary ran"
else
	pass "LOCKDOWN: unknown binary denied"
fi
line=$(log_line_for "path=$mnt/unknown") || line=""
case "$line" in
*"decision=DENY|reason=UNKNOWN|"*"|mode=L|"*) pass "LOCKDOWN: DENY UNKNOWN logged" ;;
*) fail "LOCKDOWN unknown log: '$line'" ;;
esac
"$mnt/allowed" && pass "LOCKDOWN: allowlisted binary runs" || fail "LOCKDOWN: allowlisted binary denied"
line=$(log_line_for "path=$mnt/allowed") || line=""
case "$line" in
*"decision=ALLOW|reason=BINARY|sha256=$allowed_sha|"*) pass "LOCKDOWN: ALLOW BINARY logged" ;;
*) fail "LOCKDOWN allow log: '$line'" ;;
esac
stop_santad

# ---- events kept for the sync server (events.db), only while SyncBaseURL is set ----
start_santad MONITOR "SyncBaseURL = https://sync.invalid/santa/"
"$mnt/blocked" x > /dev/null 2>&1 && fail "blocked ran (events section)"
"$mnt/unknown" / > /dev/null
# At once: the kernel is answered before the loop caches the decision, and
# the repeat gets the decision of the job still on its way (merged), not a
# second decision stored again.
"$mnt/unknown" / > /dev/null
"$mnt/allowed"
log_line_for "path=$mnt/allowed" > /dev/null || true
stop_santad
if python3 - "$work/state/events.db" "$mnt" "$blocked_sha" <<'EOP'
import json, sqlite3, sys
db, mnt, blocked_sha = sys.argv[1:]
rows = [json.loads(r[0]) for r in sqlite3.connect(db).execute("SELECT json FROM events ORDER BY id")]
assert len(rows) == 2, rows  # the block, and the unknown once (its repeat was cached); not the allowlisted one
# In either order: the two decisions finish on workers, and the loop may take them in one batch.
b, u = sorted(rows, key=lambda r: r["decision"] != "BLOCK_BINARY")
assert b["decision"] == "BLOCK_BINARY" and b["file_sha256"] == blocked_sha, b
assert b["file_name"] == "blocked" and b["file_path"] == mnt, b
assert b["executing_user"] == "root" and b["pid"] > 0 and b["ppid"] > 0, b
assert b["execution_time"] > 1.6e9 and "parent_name" in b, b
assert u["decision"] == "ALLOW_UNKNOWN" and u["file_name"] == "unknown", u
EOP
then
	pass "events.db holds BLOCK_BINARY and ALLOW_UNKNOWN events with the eventupload fields"
	santa_start_santad "$santad"
	if SANTA_CONFIG=$work/santa.conf "$santactl" printlog | python3 -c '
import json, sys
ev = json.load(sys.stdin)
assert sorted(e["decision"] for e in ev) == ["ALLOW_UNKNOWN", "BLOCK_BINARY"], ev
'; then
		pass "santactl printlog shows the events waiting for upload"
	else
		fail "santactl printlog"
	fi
	stop_santad
else
	fail "events.db content"
fi
# santad keeps events.db open without SyncBaseURL too (one may come by SIGHUP):
# the sections below start from an empty one.
rm -f "$work/state/events.db" "$work/state/events.db-wal" "$work/state/events.db-shm"

# ---- EventLogType = json: one SantaMessage per line ----
rm -f "$work/santa.log"
start_santad MONITOR "EventLogType = json"
"$mnt/blocked" x > /dev/null 2>&1 || true
"$mnt/unknown" / > /dev/null
log_line_for '"path":"'"$mnt/unknown"'"' > /dev/null || true
"$mnt/unknown" "$mnt" > /dev/null # cached: logged after the fact, with args where BPF keeps them
log_lines_at_least() { [ "$(wc -l < "$work/santa.log")" -ge "$1" ]; }
wait_until 20 log_lines_at_least 3 || true
stop_santad
if python3 - "$work/santa.log" "$mnt" "$blocked_sha" "$bpf_exec_info" <<'EOP'
import json, sys
log, mnt, sha, bpf = sys.argv[1:]
msgs = [json.loads(l) for l in open(log)]
assert len(msgs) == 3, msgs
c = msgs[2]["execution"]
assert c["target"]["executable"]["path"] == mnt + "/unknown", c
if bpf == "true":
    assert c["args"] == [mnt + "/unknown", mnt], c
    assert c["target"]["effective_user"] == {"uid": 0, "name": "root"}, c
b = msgs[0]["execution"]
assert b["decision"] == "DECISION_DENY" and b["reason"] == "REASON_BINARY", b
assert b["mode"] == "MODE_MONITOR" and b["args"] == [], b
assert b["target"]["executable"]["path"] == mnt + "/blocked", b
assert b["target"]["executable"]["hash"] == {"type": "HASH_ALGO_SHA256", "hash": sha}, b
assert b["target"]["id"]["pid"] > 0 and b["target"]["parent_id"]["pid"] > 0, b
assert b["target"]["effective_user"] == {"uid": 0, "name": "root"}, b
assert msgs[0]["event_time"].endswith("Z") and msgs[0]["processed_time"] >= msgs[0]["event_time"]
u = msgs[1]["execution"]
assert u["decision"] == "DECISION_ALLOW" and u["reason"] == "REASON_UNKNOWN", u
if bpf == "true":
    assert u["args"] == [mnt + "/unknown", "/"], u
EOP
then
	pass "EventLogType=json writes SantaMessage lines with the exec's fields"
else
	fail "json event log"
fi

# ---- deadline: a decision that cannot finish in time is answered anyway ----
# /bin/true padded with 512 MiB of zeros still runs, and takes far longer than
# 10 ms to hash.
cp /bin/true "$mnt/bigtrue"
truncate -s 512M "$mnt/bigtrue"
start_santad MONITOR "DecisionTimeoutMs = 10"
start_ms=$(date +%s%3N)
"$mnt/bigtrue" && pass "exec of a file too big to hash in 10 ms is allowed" ||
	fail "deadline exec failed"
elapsed=$(($(date +%s%3N) - start_ms))
line=$(log_line_for "path=$mnt/bigtrue") || line=""
case "$line" in
*"decision=ALLOW|reason=TIMEOUT|"*) pass "TIMEOUT logged (exec took ${elapsed} ms with a 10 ms deadline)" ;;
*) fail "deadline log: '$line'" ;;
esac
stop_santad

# ---- santactl against santad ----
# As under systemd (WatchdogSec): santad reads the interval from WATCHDOG_USEC.
WATCHDOG_USEC=20000000 NO_STATIC_RULES=1 start_santad MONITOR
export SANTA_CONFIG=$work/santa.conf
chmod 0755 "$work"
unknown_sha=$(sha256sum < "$mnt/unknown" | cut -d' ' -f1)

# version: santad's row is what the running santad says of itself, SantaGUI's
# what the installed agent (SantaGUIPath) says, santactl's its own.
santad_v=$("$santad" --version | awk '{print $2}')
gui_v=$("$santa_gui" --version | awk '{print $2}')
# santactl's own configuration names the agent (santad's does not need to).
ctl_config() { # SANTA_GUI_PATH
	grep -v '^SantaGUIPath' "$work/santa.conf" > "$work/ctl.conf"
	echo "SantaGUIPath = $1" >> "$work/ctl.conf"
}
ctl_config "$santa_gui"
out=$(SANTA_CONFIG=$work/ctl.conf "$santactl" version 2>&1)
expected=$(printf '%-15s | %s\n%-15s | %s\n%-15s | %s' santad "$santad_v" santactl "$santad_v" \
	SantaGUI "$gui_v")
[ "$out" = "$expected" ] && pass "santactl version: santad's and santa-gui's own versions" ||
	fail "santactl version: '$out', expected '$expected'"
if SANTA_CONFIG=$work/ctl.conf "$santactl" version --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
assert v == {"santad": sys.argv[1], "santactl": sys.argv[1], "SantaGUI": sys.argv[2]}, v
' "$santad_v" "$gui_v"; then
	pass "santactl version --json"
else
	fail "santactl version --json: $(SANTA_CONFIG=$work/ctl.conf "$santactl" version --json 2>&1)"
fi
# An agent of another build: its version is the one shown, so the agent was asked.
ctl_config "$work/fake-gui"
printf '#!/bin/sh\ntouch %s/fake-gui-ran\necho "santa-gui 9.8.7-other $*"\n' "$work" > "$work/fake-gui"
chmod 0755 "$work/fake-gui"
out=$(SANTA_CONFIG=$work/ctl.conf "$santactl" version 2>&1)
case "$out" in
*"SantaGUI        | 9.8.7-other") pass "version asks the agent at SantaGUIPath" ;;
*) fail "version with another agent: $out" ;;
esac
# One that someone other than root could have written is not run (santactl may be root).
rm -f "$work/fake-gui-ran"
chmod 0775 "$work/fake-gui"
out=$(SANTA_CONFIG=$work/ctl.conf "$santactl" version 2>&1)
case "$out" in
*"is not root's executable"*"SantaGUI        | unknown")
	[ ! -e "$work/fake-gui-ran" ] && pass "a group-writable agent is not run: SantaGUI unknown" ||
		fail "santactl ran a group-writable SantaGUIPath" ;;
*) fail "version with a group-writable agent: $out" ;;
esac

out=$("$santactl" status 2>&1) || true
case "$out" in
*"Mode                      | Monitor"*"Watched Filesystems       | $mnt"*) pass "santactl status shows mode and watched filesystem" ;;
*) fail "santactl status: $out" ;;
esac
if "$santactl" status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["daemon"]["mode"] == "Monitor", s
assert s["daemon"]["watched_filesystems"] == [sys.argv[1]], s
assert s["database"]["binary_rules"] == 0, s
assert s["database"]["events_pending_upload"] == 0, s
assert s["static_rules"]["rule_count"] == 0, s
assert s["sync"]["server"] == "null", s
' "$mnt"; then
	pass "santactl status --json fields"
else
	fail "santactl status --json"
fi

out=$("$santactl" rule --block --path "$mnt/unknown" --message "not here" 2>&1)
[ "$out" = "Added rule for SHA-256: $unknown_sha." ] && pass "santactl rule --block --path" ||
	fail "rule --block output: $out"
if "$mnt/unknown" / > /dev/null 2>&1; then
	fail "exec after santactl rule --block was allowed (cache not flushed?)"
else
	pass "a block rule added over santad.sock takes effect at once, cache and ignore marks flushed"
fi
out=$("$santactl" rule --check --sha256 "$unknown_sha" 2>&1)
[ "$out" = "Blocked (Binary)" ] && pass "santactl rule --check" || fail "rule --check: $out"
[ "$("$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["database"]["binary_rules"])')" = 1 ] &&
	pass "status counts the new rule" || fail "status rule count"
# The kernel is answered before the decision is cached: the entry may lag the exec.
cached_blocked() { [ "$("$santactl" checkcache "$mnt/unknown" 2>&1)" = "File exists in [blocklist] cache (BINARY)" ]; }
wait_until 20 cached_blocked && pass "checkcache after a denied exec" ||
	fail "checkcache: $("$santactl" checkcache "$mnt/unknown" 2>&1)"
# status: Santa's root / non-root cache counts (files on santad's / filesystem, and
# the others: here only the tmpfs is watched, so every entry is non-root) and
# watchdog rows (samples over 20 % CPU / 250 MB, and the peaks: the RAM peak is
# santad's own high-water mark, VmHWM). The denied exec above is cached.
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$pid/status"; }
hwm_before=$(hwm_kib)
status_json=$("$santactl" status --json)
hwm_after=$(hwm_kib)
if python3 -c '
import json, sys
s = json.loads(sys.argv[1])
c, d = s["cache"], s["daemon"]
assert c["root_cache_count"] == 0, c
assert c["non_root_cache_count"] >= 1, c
assert c["root_cache_count"] + c["non_root_cache_count"] == c["entries"], c
for k in ("watchdog_cpu_events", "watchdog_ram_events"):
    assert type(d[k]) is int and d[k] >= 0, (k, d)
for k in ("watchdog_cpu_peak", "watchdog_ram_peak"):
    assert type(d[k]) is float and d[k] >= 0, (k, d)
# MB; the per-CPU RSS counters of the kernel make two readings differ by some pages.
lo, hi = int(sys.argv[2]) / 1024, int(sys.argv[3]) / 1024
assert lo - 1 <= d["watchdog_ram_peak"] <= hi + 1, (lo, hi, d)
assert d["watchdog_interval_sec"] == 30, d
assert d["systemd_watchdog_usec"] == 20000000, d
' "$status_json" "$hwm_before" "$hwm_after"; then
	pass "status --json: root/non-root cache counts and watchdog fields are santad's"
else
	fail "status --json cache/watchdog: $status_json"
fi
# (A reload of the package view flushes the cache: the denied exec is made
# again until it is cached when status looks.)
cache_rows_ok() {
	"$mnt/unknown" / > /dev/null 2>&1 || true
	wait_until 10 cached_blocked || true
	out=$("$santactl" status 2>&1) || true
	case "$out" in
	*">>> Cache Info"$'\n'"  Root cache count          | 0"$'\n'"  Non-root cache count      | "[1-9]*) return 0 ;;
	*) return 1 ;;
	esac
}
wait_until 30 cache_rows_ok && pass "status: Santa's cache rows" || fail "status cache rows: $out"
case "$out" in
*"  Watchdog CPU Events       | "[0-9]*"  (Peak: "[0-9]*.[0-9][0-9]"%)"$'\n'"  Watchdog RAM Events       | "[0-9]*"  (Peak: "[0-9]*.[0-9][0-9]"MB)"$'\n'"  systemd Watchdog          | every 20.0 s"*)
	pass "status: Santa's watchdog rows" ;;
*) fail "status watchdog rows: $out" ;;
esac
out=$("$santactl" flushcache 2>&1)
[ "$out" = "Cache flush requested" ] && pass "flushcache" || fail "flushcache: $out"
set +e
out=$("$santactl" checkcache "$mnt/unknown" 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] && [ "$out" = "File does not exist in cache" ] && pass "checkcache after flushcache: not cached, exit 1" ||
	fail "checkcache after flush: rc=$rc $out"
out=$("$santactl" fileinfo --key Rule "$mnt/unknown" 2>&1)
[ "$out" = "Blocked (Binary)" ] && pass "fileinfo Rule: Blocked (Binary)" || fail "fileinfo rule: $out"
out=$("$santactl" fileinfo --key Rule "$mnt/scoped/tool" 2>&1)
[ "$out" = "Blocked (Scope)" ] && pass "fileinfo Rule: Blocked (Scope)" || fail "fileinfo scope: $out"
# A file the caller may not read is named as such, not as missing.
mkdir -p "$work/closed" && cp "$mnt/unknown" "$work/closed/prog" && chmod 0600 "$work/closed/prog"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$santactl" fileinfo "$work/closed/prog" 2>&1 || true)
[ "$out" = "Cannot read $work/closed/prog: Permission denied" ] &&
	pass "fileinfo of an unreadable file says so" || fail "fileinfo unreadable: $out"
out=$("$santactl" fileinfo "$work/closed/none" 2>&1 || true)
[ "$out" = "File does not exist: $work/closed/none" ] && pass "fileinfo of a missing file says so" ||
	fail "fileinfo missing: $out"
if "$santactl" fileinfo --json -r "$mnt" | python3 -c '
import json, sys
files = {f["Path"]: f for f in json.load(sys.stdin)}
mnt, sha = sys.argv[1], sys.argv[2]
u = files[mnt + "/unknown"]
assert u["SHA-256"] == sha and u["Rule"] == "Blocked (Binary)", u
assert u["Type"].startswith("Executable (ELF 64-bit"), u
assert u["Owner"] == "root:root" and u["Mode"] == "0755", u
assert files[mnt + "/script.sh"]["Type"] == "Script (/bin/sh)", files[mnt + "/script.sh"]
assert files[mnt + "/allowed"]["Rule"] == "Allowed (Unknown)", files[mnt + "/allowed"]
' "$mnt" "$unknown_sha"; then
	pass "fileinfo --json -r: fields per file"
else
	fail "fileinfo --json -r"
fi
out=$("$santactl" rule --remove --sha256 "$unknown_sha" 2>&1)
[ "$out" = "Removed rule for SHA-256: $unknown_sha." ] && pass "santactl rule --remove" ||
	fail "rule --remove: $out"
"$mnt/unknown" / > /dev/null && pass "exec allowed again after the rule is removed" ||
	fail "exec still denied after removal"

# rule --import / --export: Santa's JSON rule file, all or nothing.
cat > "$work/import.json" <<JSON
{"rules": [
  {"identifier": "$(echo "$unknown_sha" | tr a-f A-F)", "policy": "BLOCKLIST", "rule_type": "BINARY", "custom_msg": "imported"},
  {"identifier": "EQHXZ8M8AV", "policy": "ALLOWLIST", "rule_type": "TEAMID"},
  {"identifier": "$allowed_sha", "policy": "WHITELIST_COMPILER", "rule_type": "BINARY"}
]}
JSON
{ cat "$work/santa.conf"; echo "SyncBaseURL = http://127.0.0.1:9/"; } > "$work/managed.conf"
out=$(SANTA_CONFIG=$work/managed.conf "$santactl" rule --import "$work/import.json" 2>&1) || true
if [ "$out" = "(SyncBaseURL/StaticRules is set, rules are managed centrally.)" ]; then
	pass "rule --import refused while a sync server manages the rules"
else
	fail "rule --import with SyncBaseURL: $out"
fi
out=$("$santactl" rule --import "$work/import.json" 2>&1)
[ "$out" = "Added 3 rules from $work/import.json." ] && pass "rule --import adds every rule" ||
	fail "rule --import: $out"
"$mnt/unknown" / > /dev/null 2>&1 && fail "an imported block rule did not block" ||
	pass "an imported block rule (upper-case hash in the file) blocks at once"
out=$("$santactl" rule --check --teamid --identifier EQHXZ8M8AV 2>&1)
[ "$out" = "Allowed (TeamID)" ] && pass "imported team id rule found" || fail "teamid check: $out"
printf '{"rules": [{"identifier": "%s", "policy": "REMOVE", "rule_type": "BINARY"}, {"identifier": "bad", "policy": "BLOCKLIST", "rule_type": "BINARY"}]}' \
	"$unknown_sha" > "$work/bad.json"
set +e
out=$("$santactl" rule --import "$work/bad.json" 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] && grep -q "^Invalid rule" <<< "$out" && pass "a file with an invalid rule is refused (exit 1)" ||
	fail "bad import: rc=$rc $out"
"$mnt/unknown" / > /dev/null 2>&1 && fail "a refused import changed the rules" ||
	pass "a refused import changes nothing (the block stays)"
out=$("$santactl" rule --export "$work/export.json" 2>&1)
[ "$out" = "Exported 3 rules to $work/export.json." ] && pass "rule --export" || fail "export: $out"
if python3 - "$work/export.json" "$unknown_sha" "$allowed_sha" <<'PY'
import json, sys
rules = {r["identifier"]: r for r in json.load(open(sys.argv[1]))["rules"]}
u, a = rules[sys.argv[2]], rules[sys.argv[3]]
assert u == {"identifier": sys.argv[2], "policy": "BLOCKLIST", "rule_type": "BINARY",
             "custom_msg": "imported", "custom_url": ""}, u
assert a["policy"] == "ALLOWLIST_COMPILER", a
assert rules["EQHXZ8M8AV"]["rule_type"] == "TEAMID"
PY
then pass "the exported file has Santa's keys and values"; else fail "export content"; fi
out=$("$santactl" rule --import "$work/export.json" --clean 2>&1)
[ "$out" = "Added 3 rules from $work/export.json." ] && pass "an export imports back (--clean)" ||
	fail "re-import: $out"
set +e
out=$("$santactl" rule --import "$work/export.json" --block 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] && pass "--import with other flags is a usage error" || fail "import+block: rc=$rc"
printf '{"rules": [{"identifier": "%s", "policy": "REMOVE", "rule_type": "BINARY"}]}' "$unknown_sha" > "$work/rm.json"
"$santactl" rule --import "$work/rm.json" > /dev/null
"$mnt/unknown" / > /dev/null && pass "a REMOVE in an import file removes the rule" ||
	fail "REMOVE import did not unblock"
"$santactl" rule --import "$work/export.json" --clean-all > /dev/null
"$santactl" rule --import "$work/rm.json" > /dev/null

# Not root: reading works, changing does not.
if out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$santactl" status 2>&1); then
	pass "santactl status as nobody"
else
	fail "santactl status as nobody: $out"
fi
set +e
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$santactl" rule --block --sha256 "$unknown_sha" 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] && [ "$out" = "The command 'rule' requires root privileges." ] &&
	pass "rule as non-root refused with exit 2" || fail "rule as nobody: rc=$rc $out"

# printlog is root's: a user gets the refusal on stderr and nothing on stdout
# (not a '[' that a JSON reader would take for the start of a list).
set +e
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$santactl" printlog 2> "$work/printlog.err")
rc=$?
set -e
[ $rc -ne 0 ] && [ -z "$out" ] && grep -q "needs santactl running as root" "$work/printlog.err" &&
	pass "printlog as nobody refused, nothing on stdout" ||
	fail "printlog as nobody: rc=$rc stdout='$out' stderr=$(cat "$work/printlog.err")"

# SIGHUP: a new mode applies at once (cached and kernel-ignored decisions are flushed).
"$mnt/unknown" / > /dev/null && "$mnt/unknown" / > /dev/null || fail "unknown should run in MONITOR"
sed -i 's/^ClientMode = MONITOR/ClientMode = LOCKDOWN/' "$work/santa.conf"
kill -HUP "$pid"
wait_until 20 in_err "mode changed: Monitor -> Lockdown" && pass "SIGHUP reload logs the mode change" ||
	fail "no mode change logged after SIGHUP"
if "$mnt/unknown" / > /dev/null 2>&1; then
	fail "after reload to LOCKDOWN a cached unknown binary still ran"
else
	pass "after reload to LOCKDOWN the cached unknown binary is denied"
fi
# A broken edit is refused and the configuration in force stays.
echo "FailClosed = perhaps" >> "$work/santa.conf"
kill -HUP "$pid"
wait_until 20 in_err "not reloaded" || true
grep -q "santa.conf:.*FailClosed: expected a boolean" "$work/santad.err" &&
	grep -q "previous configuration stays in force" "$work/santad.err" &&
	pass "a config with errors is not applied on SIGHUP, with the error named" ||
	fail "bad config on SIGHUP: $(tail -3 "$work/santad.err")"
"$mnt/unknown" / > /dev/null 2>&1 && fail "LOCKDOWN lost after a bad reload" ||
	pass "LOCKDOWN still in force after the bad reload"
sed -i '/^FailClosed = perhaps/d; s/^ClientMode = LOCKDOWN/ClientMode = MONITOR/' "$work/santa.conf"
kill -HUP "$pid"
wait_until 20 in_err "mode changed: Lockdown -> Monitor" || fail "no mode change back to Monitor after SIGHUP"

# A copy of santactl is not santactl.
cp "$santactl" "$work/fake-santactl"
set +e
out=$("$work/fake-santactl" status 2>&1)
rc=$?
set -e
case "$rc:$out" in
1:*"not authorized"*"is not one of Santa's binaries"*) pass "an impostor santactl is refused" ;;
*) fail "impostor: rc=$rc $out" ;;
esac
wait_until 20 in_err "refused pid" && pass "santad logs the refusal with its reason" ||
	fail "no refusal in santad's log"
stop_santad

set +e
out=$("$santactl" status 2>&1)
rc=$?
set -e
case "$rc:$out" in
1:"An error occurred communicating with the daemon, is it running?"*"is not running"*) pass "santad down: documented error, exit 1" ;;
*) fail "santad down: rc=$rc $out" ;;
esac
# santad gone: its version is unknown (santactl's is still known), and said why; exit 0 as Santa.
set +e
out=$("$santactl" version 2> "$work/version.err")
rc=$?
set -e
[ $rc -eq 0 ] && [ "$(head -1 <<< "$out")" = "santad          | unknown" ] &&
	[ "$(sed -n 2p <<< "$out")" = "santactl        | $santad_v" ] &&
	grep -q "santad is not running" "$work/version.err" &&
	pass "version without santad: santad unknown, exit 0" ||
	fail "version without santad: rc=$rc $out $(cat "$work/version.err")"
[ "$("$santactl" version --json 2> /dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["santad"])')" = unknown ] &&
	pass "version --json without santad: unknown" || fail "version --json without santad"

# ---- EventLogType null: nothing logged; decisions, ignore marks and new mounts as usual ----
# (filesystem marks here, as in production: the notification group then holds
# marks that report nothing, and its fdinfo still says what is marked)
start_santad MONITOR "EventLogType = null"
sed -i '/^WatchMarkType/d' "$work/santa.conf"
stop_santad
santa_start_santad "$santad"
: > "$work/santa.log"
"$mnt/allowed" && "$mnt/allowed" && pass "null log: an allowed program runs (twice)" || fail "null log: allowed did not run"
"$mnt/blocked" 2> /dev/null && fail "null log: the blocked program ran" || pass "null log: the blocked program is denied"
mkdir -p "$mnt/later"
mount -t tmpfs -o mode=0755 tmpfs "$mnt/later"
wait_until 20 in_err "watching $mnt/later (filesystem)" || fail "null log: the tmpfs mounted later was not marked"
cp "$mnt/blocked" "$mnt/later/copy"
"$mnt/later/copy" 2> /dev/null && fail "null log: a copy on a tmpfs mounted later ran" ||
	pass "null log: a copy on a tmpfs mounted later is denied"
santa_umount "$mnt/later"
stop_santad
# Judged once santad stopped cleanly: whatever it had to write is written by then.
[ ! -s "$work/santa.log" ] && pass "null log: santa.log got nothing" || fail "null log: santa.log got lines"

# Bad arguments: usage errors (exit 1) and an unknown command (exit 128), before any connection.
for args in "rule --bogus" "rule --block" "rule --block --sha256 abc" "metrics --bogus" \
	"sync --bogus" "fileinfo --bogus"; do
	set +e
	out=$("$santactl" $args 2>&1)
	rc=$?
	set -e
	[ $rc -eq 1 ] && [ -n "$out" ] && pass "santactl $args: usage error, exit 1" ||
		fail "santactl $args: rc=$rc $out"
done
set +e
out=$("$santactl" frobnicate 2>&1)
rc=$?
set -e
[ $rc -eq 128 ] && [ "$out" = "Unknown command: frobnicate" ] && pass "unknown command: exit 128" ||
	fail "unknown command: rc=$rc $out"
# Every command has its own --help (exit 0, usage on stdout), without santad.
for c in status version rule fileinfo checkcache flushcache printlog sync metrics; do
	if out=$("$santactl" "$c" --help 2>&1) && grep -q "^Usage: santactl $c" <<< "$out"; then
		pass "santactl $c --help"
	else
		fail "santactl $c --help: $out"
	fi
done

if [ "$failures" -ne 0 ]; then
	echo "santad_enforce: $failures failure(s)"
	exit 1
fi
echo "santad_enforce: all passed"
