#!/usr/bin/env bash
# Local data and configuration, played by an unprivileged user (nobody):
#  1. a santa.conf that a user can write (the file, or a directory on its way)
#     is refused at start, naming the file, its owner and mode;
#  2. at SIGHUP too: the previous configuration stays in force (LOCKDOWN keeps
#     denying an unknown program after nobody rewrote santa.conf to MONITOR);
#  3. santa.log (every user's command lines), rules.db and events.db cannot be
#     read by nobody; files left looser are tightened at start, and said so;
#  4. a secret header of santa.conf (SyncExtraHeaders) reaches the sync server
#     while santa.conf is root's alone (0600): santad hands the sync service
#     its settings, and the service's user cannot read santa.conf.
# usage: local_data.sh SANTAD SANTACTL HELPER_DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
srv=$work/server
mkdir -p "$srv"

source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec
santa_install_bins "$work/bin" "$santactl"
santactl=$work/bin/santactl
export SANTA_CONFIG=$work/santa.conf

source "$here/../lib/sync_server.sh"
server_pid=
trap 'kill $server_pid 2>/dev/null || true; santa_cleanup' EXIT
sync_server_start "$work/port"
server_pid=$sync_server_pid
port=$sync_server_port

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

cp /bin/ls "$mnt/unknown"
chmod 0755 "$mnt/unknown"

# write_config PATH MODE [LINE...]: a LOCKDOWN configuration at PATH.
write_config() {
	local path=$1 mode=$2
	shift 2
	{
		echo "ClientMode = $mode"
		santa_test_config
		echo "SantactlPath = $santactl"
		echo "HelperDirectory = $helpers"
		echo "DecisionTimeoutMs = 2000"
		printf '%s\n' "$@"
	} > "$path"
	chown root:root "$path"
	chmod 0644 "$path"
}

stop_santad() {
	[ -n "$pid" ] || return 0
	kill "$pid" 2> /dev/null || true
	wait_until 30 eval '! kill -0 $pid 2> /dev/null' || kill -9 "$pid" 2> /dev/null || true
	wait "$pid" 2> /dev/null || true
	pid=
}

# refused_at_start CONFIG: santad on CONFIG either says it is ready (then it is
# stopped: the configuration was used) or exits; 0 when it exited non-zero
# without ever being ready and said why, naming the file.
refused_at_start() {
	local conf=$1 st
	: > "$work/refused.err"
	"$santad" --config "$conf" 2> "$work/refused.err" < /dev/null > /dev/null &
	pid=$!
	ended_or_ready() { ! kill -0 "$pid" 2> /dev/null || grep -q "ready" "$work/refused.err"; }
	wait_or_die 60 "santad either starts or exits on $conf" ended_or_ready
	if grep -q "ready" "$work/refused.err"; then
		stop_santad
		return 1
	fi
	wait "$pid" && st=0 || st=$?
	pid=
	[ "$st" -ne 0 ] && grep -q "refusing the configuration $conf" "$work/refused.err"
}

# ---- 1. refused at start ----
write_config "$work/santa.conf" LOCKDOWN
chown 65534:65534 "$work/santa.conf"
check "a santa.conf owned by nobody is refused at start" refused_at_start "$work/santa.conf"
check "the refusal names its owner and mode" grep -q "owned by uid 65534, gid 65534, mode 0644" "$work/refused.err"
chown root:root "$work/santa.conf"
chmod 0666 "$work/santa.conf"
check "a santa.conf every user may write is refused at start" refused_at_start "$work/santa.conf"
chmod 0620 "$work/santa.conf"
check "a group-writable santa.conf is refused at start" refused_at_start "$work/santa.conf"
mkdir -m 0777 "$work/open"
chmod 0777 "$work/open" # not sticky: anyone may replace what it holds
write_config "$work/open/santa.conf" LOCKDOWN
check "a root-owned santa.conf in a directory anyone may write is refused" \
	refused_at_start "$work/open/santa.conf"
check "the refusal names the directory" grep -q "directory $work/open is owned by uid 0, gid 0, mode 0777" "$work/refused.err"
mkdir -m 0755 "$work/theirs"
chown 65534:65534 "$work/theirs"
write_config "$work/theirs/santa.conf" LOCKDOWN
check "a root-owned santa.conf in nobody's directory is refused" \
	refused_at_start "$work/theirs/santa.conf"
ln -s "$work/theirs/santa.conf" "$work/link.conf"
check "a symlink to it is refused too" refused_at_start "$work/link.conf"
# Sticky: nobody may replace a file root owns there (what /tmp is).
mkdir -m 1777 "$work/sticky"
chmod 1777 "$work/sticky"
write_config "$work/sticky/santa.conf" MONITOR
if refused_at_start "$work/sticky/santa.conf"; then
	fail "a root-owned santa.conf in a sticky directory is used"
else
	pass "a root-owned santa.conf in a sticky directory is used"
fi

# ---- 2. refused at SIGHUP: the previous configuration stays ----
rm -f "$work/santa.log" "$work/state/"*
# Left looser by an older santa: tightened at start (part 3).
: > "$work/santa.log"
chmod 0644 "$work/santa.log"
: > "$work/state/events.db"
chmod 0666 "$work/state/events.db"
write_config "$work/santa.conf" LOCKDOWN
santa_start_santad "$santad"
denied() { ! as_nobody "$mnt/unknown" > /dev/null 2>&1; }
check "LOCKDOWN denies the unknown program" denied
# An admin's slip: santa.conf left writable by every user; nobody turns santa off.
chmod 0666 "$work/santa.conf"
as_nobody sh -c 'c=$(sed "s/^ClientMode = .*/ClientMode = MONITOR/" "$1") && printf "%s\n" "$c" > "$1"' \
	sh "$work/santa.conf"
check "nobody could rewrite santa.conf" grep -q "^ClientMode = MONITOR" "$work/santa.conf"
kill -HUP "$pid"
check_eventually "SIGHUP: santad says it keeps the previous configuration" 30 \
	grep -q "not reloaded; the previous configuration stays in force" "$work/santad.err"
check "SIGHUP: the refusal names the file and its mode" \
	grep -q "refusing the configuration $work/santa.conf: file $work/santa.conf is owned by uid 0, gid 0, mode 0666" "$work/santad.err"
check "SIGHUP: no 'configuration reloaded'" eval '! grep -q "configuration reloaded" "$work/santad.err"'
check "after the refused SIGHUP, LOCKDOWN still denies the unknown program" denied
status_mode() { "$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["mode"])'; }
check "santactl status still says Lockdown" test "$(status_mode 2> /dev/null)" = Lockdown

# ---- 3. santa.log, rules.db, events.db: not for nobody ----
chmod 0644 "$work/santa.conf"
"$santactl" rule --block --sha256 "$(printf '%064d' 1)" > /dev/null
check_eventually "santa.log has the denial's line" 30 grep -q "decision=DENY" "$work/santa.log"
for f in "$work/santa.log" "$work/state/rules.db" "$work/state/events.db"; do
	check "nobody cannot read $(basename "$f")" eval '! as_nobody cat "$f" > /dev/null 2>&1'
done
adm=$(getent group adm | cut -d: -f3 || true)
check "santa.log is root:${adm:-0} 0640" test "$(stat -c '%u:%g %a' "$work/santa.log")" = "0:${adm:-0} 640"
check "rules.db is 0600" test "$(stat -c '%u %a' "$work/state/rules.db")" = "0 600"
check "events.db is 0600" test "$(stat -c '%u %a' "$work/state/events.db")" = "0 600"
for f in "$work/state/"*-wal "$work/state/"*-shm; do
	[ -e "$f" ] || continue
	check "$(basename "$f") is 0600" test "$(stat -c '%a' "$f")" = 600
done
check "santad said it tightened santa.log" grep -q "$work/santa.log was mode 0644: now 0640" "$work/santad.err"
check "santad said it tightened events.db" grep -q "$work/state/events.db was mode 0666: now 0600" "$work/santad.err"
stop_santad

# ---- 4. a secret header reaches the server; santa.conf stays root's ----
secret="Bearer s3cr3t-$RANDOM$RANDOM"
# The log in a directory santad makes itself, as /var/log/santa on a fresh machine.
write_config "$work/santa.conf" MONITOR "SyncBaseURL = http://127.0.0.1:$port/santa" \
	"MachineID = test-machine-1" "EventLogPath = $work/logs/santa.log" \
	"[SyncExtraHeaders]" "Authorization = $secret"
chmod 0600 "$work/santa.conf"
rm -f "$work/santa.log" "$work/state/"*
santa_start_santad "$santad"
check "a log directory santad creates is root:${adm:-0} 0750" \
	test "$(stat -c '%u:%g %a' "$work/logs")" = "0:${adm:-0} 750"
check "a santa.log santad creates is root:${adm:-0} 0640" \
	test "$(stat -c '%u:%g %a' "$work/logs/santa.log")" = "0:${adm:-0} 640"
check "a rules.db santad creates is 0600" test "$(stat -c '%u %a' "$work/state/rules.db")" = "0 600"
check "an events.db santad creates is 0600" test "$(stat -c '%u %a' "$work/state/events.db")" = "0 600"
helper_pid=
find_helper() { helper_pid=$(pgrep -f "^santasyncservice" -P "$pid"); }
wait_or_die 30 "santad started santasyncservice" find_helper
helper_uid=$(awk '/^Uid:/ {print $2}' "/proc/$helper_pid/status")
check "the sync service does not run as root" test "$helper_uid" -ne 0
check "the sync service's user cannot read santa.conf" \
	eval '! setpriv --reuid="$helper_uid" --regid=65534 --clear-groups cat "$work/santa.conf" > /dev/null 2>&1'
check "nobody cannot read santa.conf" eval '! as_nobody cat "$work/santa.conf" > /dev/null 2>&1'
out=$("$santactl" sync 2>&1) && st=0 || st=$?
check "santactl sync succeeds with santa.conf root's alone (status $st)" test "$st" -eq 0
[ "$st" -eq 0 ] || echo "$out" | sed 's/^/# /'
check "the secret header reached the sync server" grep -qx "$secret" <(headers_of preflight Authorization)
check "santad gave no warning about a readable santa.conf" eval '! grep -q "readable by every user" "$work/santad.err"'
# The same file readable by all: santad says the secrets are exposed.
chmod 0644 "$work/santa.conf"
kill -HUP "$pid"
check_eventually "a santa.conf every user may read, holding secrets, is warned about" 30 \
	grep -q "santa.conf is readable by every user (mode 0644) and holds secrets" "$work/santad.err"
stop_santad

check_finish local_data
