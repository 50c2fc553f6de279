#!/usr/bin/env bash
# The verified-file memory across santad's restarts, and the programs of a
# package dpkg has just installed verified ahead of their first exec
# (docs/package-trust.md): after a restart a packaged program is allowed by
# its package rule with no MD5 pass at its decision; a packaged file whose
# bytes root changed while santad was stopped (same size, mtime set back) is
# not trusted after the restart, nor is a user's bind mount of another
# packaged program over a trusted path; a damaged or foreign memory file is
# ignored and logged; a package installed while santad runs has its
# programs verified before they are run.
# usage: package_trust_restart.sh SANTAD SANTACTL   (as root)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")

source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/wait.sh"
mnt=$work/mnt
chmod 0755 "$work"

failures=0
pass() { echo "ok - $1"; }
fail() { echo "not ok - $1"; failures=$((failures + 1)); }

source "$(dirname "$0")/../lib/package_fixture.sh"

santa_write_config LOCKDOWN "DecisionTimeoutMs = 5000" "$(package_trust_config)"
export SANTA_CONFIG=$work/santa.conf
memory=$work/state/package-view.cache.verified

ran() { "$@" > /dev/null 2>&1; }
denied() { # PATH: the exec failed with EPERM
	local out
	if out=$("$1" 2>&1 < /dev/null); then return 1; fi
	case "$out" in *"Operation not permitted"*) return 0 ;; *) echo "($out)"; return 1 ;; esac
}
pkg() { "$santactl" status --json | python3 -c "import json,sys; d=json.load(sys.stdin)['package_trust']; print(eval('d' + sys.argv[1]))" "$1"; }
loaded() { [ "$(pkg "['loaded']")" = True ]; }
prescan_done() { [ "$(pkg "['prescan']['done']")" = True ]; }
stop_santad() {
	local status=0
	kill "$pid"
	santad_gone() { ! kill -0 "$pid" 2> /dev/null; }
	wait_until 60 santad_gone || kill -9 "$pid"
	wait "$pid" || status=$?
	[ "$status" -eq 0 ] || fail "santad exited with $status: $(tail -5 "$work/santad.err")"
}

# ---- first run: every packaged program verified, the memory written ----
santa_start_santad "$santad"
wait_until 60 loaded || fail "package trust never loaded: $(pkg "['error']")"
wait_until 60 prescan_done || fail "the prescan never finished"
"$santactl" rule --allow --teamid --identifier "$team_id" > /dev/null
ran "$mnt/usr/bin/tool" && ran "$mnt/usr/bin/other" &&
	pass "first run: tool and other allowed by their TEAMID rule" || fail "first run: denied"
stop_santad
[ -f "$memory" ] && [ "$(stat -c '%u %a' "$memory")" = "0 600" ] &&
	pass "the verified-file memory is written, root's, 0600" ||
	fail "no memory file, or its owner/mode: $(stat -c '%u %a' "$memory" 2>&1)"

# ---- while santad is stopped, root rewrites other: same size, mtime set back ----
mtime=$(stat -c %y "$mnt/usr/bin/other")
size=$(stat -c %s "$mnt/usr/bin/other")
python3 - "$mnt/usr/bin/other" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(-1, 2)
    b = f.read(1)
    f.seek(-1, 2)
    f.write(bytes([b[0] ^ 0xff]))
PY
touch -d "$mtime" "$mnt/usr/bin/other"
[ "$(stat -c %y "$mnt/usr/bin/other")" = "$mtime" ] && [ "$(stat -c %s "$mnt/usr/bin/other")" = "$size" ] ||
	fail "the rewrite did not keep size and mtime"

# ---- second run: tool's first decision reads nothing for MD5; other is unknown ----
santa_start_santad "$santad"
wait_until 60 loaded || fail "package trust never loaded after the restart"
[ "$(pkg "['remembered']['loaded']")" -ge 6 ] && pass "the memory of the last run is read ($(pkg "['remembered']['loaded']") files)" ||
	fail "memory not read: $(pkg "['remembered']")"
ran "$mnt/usr/bin/tool" && pass "after the restart, tool is allowed by its TEAMID rule" ||
	fail "after the restart, tool denied"
# A user borrows tool's path for another root-owned packaged program the memory knows (rogue,
# whose archive no trusted key signs), bind-mounted in their own namespace: the record is
# rogue's path's, and the path here is tool's inode.
attempt=$(setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urm sh -c '
	mount --bind "$2" "$1" && "$1" < /dev/null 2>&1' sh "$mnt/usr/bin/tool" "$mnt/usr/bin/rogue" 2>&1) &&
	fail "rogue ran under tool's path after the restart: $attempt" || {
	case "$attempt" in *"Operation not permitted"*) pass "a user's bind mount of rogue over tool's path is denied after the restart" ;;
	*) fail "the bind-mount attempt failed otherwise: $attempt" ;; esac; }
denied "$mnt/usr/bin/other" && pass "other, rewritten while santad was stopped (size and mtime kept), is denied (unknown in LOCKDOWN)" ||
	fail "other, rewritten while santad was stopped, was allowed: the memory vouched for changed bytes"
# Its decision computed the MD5 from the SHA-256's reads: the file was read once.
[ "$(pkg "['md5_with_hash']")" -ge 1 ] && pass "other's MD5 at its decision came from the SHA-256's reads" ||
	fail "md5_with_hash: $(pkg "['md5_with_hash']")"
wait_until 60 prescan_done || fail "the prescan never finished after the restart"
# verified: MD5 passes at a decision that found a package. read: the prescan's MD5 passes that matched.
[ "$(pkg "['verified']")" = 0 ] && [ "$(pkg "['prescan']['read']")" = 0 ] &&
	pass "no MD5 pass matched after the restart (decisions: 0, prescan: 0): all from the memory" ||
	fail "MD5 passes after the restart: decisions $(pkg "['verified']"), prescan $(pkg "['prescan']['read']")"
[ "$(pkg "['prescan']['refused']")" -ge 1 ] && pass "the prescan read other again and refused it" ||
	fail "prescan refused $(pkg "['prescan']['refused']")"
"$santactl" fileinfo --key Package "$mnt/usr/bin/other" | grep -q "bytes differ" &&
	pass "fileinfo: other's bytes differ from the package's record" || fail "fileinfo of other: $("$santactl" fileinfo --key Package "$mnt/usr/bin/other")"

# ---- a package dpkg has just installed: verified before its first exec ----
gen=$(pkg "['generation']")
after=$(pkg "['prescan']['after_install']")
verified=$(pkg "['verified']")
md5line "$mnt/usr/bin/later" > "$dpkg/info/santa-later.md5sums.new"
mv "$dpkg/info/santa-later.md5sums.new" "$dpkg/info/santa-later.md5sums" # as dpkg puts control files in place
{ cat "$dpkg/status"; status_entry santa-later 3.0; } > "$dpkg/status-new"
mv "$dpkg/status-new" "$dpkg/status"
verified_ahead() { [ "$(pkg "['generation']")" -gt "$gen" ] && [ "$(pkg "['prescan']['after_install']")" -gt "$after" ]; }
wait_until 30 verified_ahead && pass "installed while santad runs: later verified as soon as the view has it" ||
	fail "later not verified ahead: $(pkg "['prescan']")"
ran "$mnt/usr/bin/later" && [ "$(pkg "['verified']")" = "$verified" ] &&
	pass "later's first exec: allowed, no MD5 pass at its decision" ||
	fail "later: decision MD5 passes $verified -> $(pkg "['verified']")"
stop_santad

# ---- a damaged memory: ignored (logged), rebuilt ----
python3 - "$memory" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100)
    b = f.read(1)
    f.seek(100)
    f.write(bytes([b[0] ^ 1]))
PY
santa_start_santad "$santad"
wait_until 60 loaded || fail "package trust never loaded with a damaged memory"
grep -q "verified files in $memory ignored" "$work/santad.err" &&
	pass "a damaged memory file is ignored, with a log line" || fail "no log line for the damaged memory"
[ "$(pkg "['remembered']['loaded']")" = 0 ] || fail "records of a damaged file were used"
ran "$mnt/usr/bin/tool" && pass "with the memory ignored, tool is still allowed (verified afresh)" ||
	fail "tool denied with a damaged memory"
wait_until 60 prescan_done || fail "the prescan never finished"
stop_santad
santa_start_santad "$santad"
wait_until 60 loaded || fail "package trust never loaded"
# Five: other's bytes are still not dpkg's.
[ "$(pkg "['remembered']['loaded']")" -ge 5 ] && pass "the memory was rebuilt" ||
	fail "memory not rebuilt: $(pkg "['remembered']")"
stop_santad
# Someone else's file (a user's, could they have put it there): ignored the same way.
chown 65534:65534 "$memory"
santa_start_santad "$santad"
wait_until 60 loaded || fail "package trust never loaded with a foreign memory file"
grep -q "verified files in $memory ignored (Operation not permitted)" "$work/santad.err" &&
	[ "$(pkg "['remembered']['loaded']")" = 0 ] &&
	pass "a memory file not santad's own is ignored, with a log line" ||
	fail "a foreign memory file: loaded $(pkg "['remembered']['loaded']"), log: $(grep -c ignored "$work/santad.err")"
wait_until 60 prescan_done || fail "the prescan never finished"
stop_santad
[ "$(stat -c %u "$memory")" = 0 ] && pass "and replaced by santad's own" || fail "the foreign memory file was kept"
exit $((failures > 0))
