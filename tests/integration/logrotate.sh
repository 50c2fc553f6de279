#!/usr/bin/env bash
# The packaged log rotation (packaging/logrotate/santa), run by logrotate
# against santad: the shipped file parses, and with its path and its
# postrotate signal pointed at this test's santad, the old lines stay in
# santa.log.1 and santad writes the next ones to a new santa.log.
# usage: logrotate.sh SANTAD SANTACTL SOURCE-DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
shipped=$(realpath "$3")/packaging/logrotate/santa
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"

out=$(logrotate -d -s "$work/parse.state" "$shipped" 2>&1) &&
	! grep -qi 'error' <<< "$out" && pass "the shipped configuration parses" ||
	{ fail "logrotate refuses the shipped configuration"; echo "$out"; }

cp /bin/true "$mnt/before"
cp /bin/true "$mnt/after"
echo x >> "$mnt/after" # a hash of its own
santa_write_config MONITOR
santa_start_santad "$santad"
sed -e "s|^/var/log/santa/santa.log {|$work/santa.log {|" \
	-e "s|systemctl kill .*|kill -HUP $pid|" "$shipped" > "$work/logrotate.conf"
grep -q "kill -HUP $pid" "$work/logrotate.conf" || { echo "the shipped postrotate was not found"; exit 1; }

"$mnt/before"
wait_or_die 30 "the first line" grep -q "path=$mnt/before" "$work/santa.log"
logrotate -f -s "$work/logrotate.state" "$work/logrotate.conf"
check "the old lines are in santa.log.1" grep -q "path=$mnt/before" "$work/santa.log.1"
"$mnt/after"
wait_or_die 30 "santad's line after the rotation" grep -q "path=$mnt/after" "$work/santa.log" 2> /dev/null
check "the next line went to a new santa.log, not the rotated one" \
	test "$(grep -c "path=$mnt/after" "$work/santa.log.1")" -eq 0
check "santad created it 0640" test "$(stat -c %a "$work/santa.log")" = 640
check_finish logrotate
