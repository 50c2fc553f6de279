#!/usr/bin/env bash
# nobody fills santa.log: a denied program at a 3,800-byte path exec'd in a
# loop wrote a 4 KB line a time, 27 MB a second (the attacker review of
# session 11), and logrotate looks once a day. Each non-root uid may fill
# EventLogUserQuotaMB of one log file (1 MiB here); root's lines always go.
# usage: logfill.sh SANTAD SANTACTL [QUOTA_MB]   (as root; exits 77 = skipped
#        otherwise; QUOTA_MB 0 shows what happens without the quota: it fails)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
quota=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

cp /bin/true "$mnt/rootprog"
root_sha=$(sha256sum < "$mnt/rootprog" | cut -d' ' -f1)
# 19 directories of 200 bytes: a path of about 3,850 bytes.
deep=$mnt/home
for i in $(seq 1 19); do deep=$deep/$(printf 'd%.0s' $(seq 1 199))$i; done
mkdir -p "$deep"
chown -R 65534:65534 "$mnt/home"
as_nobody sh -c '{ cat /bin/true; echo unknown; } > "$1/prog" && chmod 0755 "$1/prog"' sh "$deep"

santa_write_config LOCKDOWN "EventLogUserQuotaMB = $quota" \
	"[StaticRule:root]" "identifier = $root_sha" "rule_type = BINARY" "policy = ALLOWLIST"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

# 2,000 denied execs: about 8 MB of lines without a quota.
ran=$(as_nobody bash -c 'cd "$1" && n=0; for i in $(seq 1 2000); do ./prog 2> /dev/null && n=$((n + 1)); done; echo $n' sh "$deep")
"$mnt/rootprog"
check_eventually "root's exec after the flood is logged" 30 \
	grep -q "decision=ALLOW|reason=BINARY|.*|uid=0|.*|path=$mnt/rootprog" "$work/santa.log"
nobody_bytes=$(grep "|uid=65534|" "$work/santa.log" | wc -c)
nobody_lines=$(grep -c "|uid=65534|" "$work/santa.log" || true)
over=$("$santactl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["log_lines_over_quota"])')
echo "# nobody's 2,000 denials: $nobody_lines lines, $nobody_bytes bytes in santa.log; $over over the quota"
check "nobody's denials were logged up to the quota ($nobody_lines lines)" test "$nobody_lines" -ge 100
check "and no further: at most ${quota} MiB of nobody's lines ($nobody_bytes bytes)" \
	test "$nobody_bytes" -le $((quota * 1048576 + 8192))
check "santactl status counts the lines over the quota ($over)" test "$over" -gt 0
check "none of nobody's 2,000 execs ran ($ran ran)" test "$ran" -eq 0
# Rotation (SIGHUP reopens the file): a new file, a new quota.
mv "$work/santa.log" "$work/santa.log.1"
kill -HUP "$pid"
wait_or_die 30 "santad reopened santa.log" test -e "$work/santa.log"
as_nobody bash -c 'cd "$1" && ./prog 2> /dev/null; true' sh "$deep"
check_eventually "after rotation nobody's denials are logged again" 30 \
	grep -q "decision=DENY|.*|uid=65534|" "$work/santa.log"
kill "$pid"
check_eventually "santad stops" 30 bash -c "! kill -0 $pid 2> /dev/null"
pid=
check_finish logfill
