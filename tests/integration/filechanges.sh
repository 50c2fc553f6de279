#!/usr/bin/env bash
# FileChangesRegex: a write, a rename and a delete of matching files give
# exactly Santa's WRITE / RENAME / DELETE lines; files outside the regex and
# under FileChangesPrefixFilters give none. The private tmpfs gets a
# filesystem mark (notification only), which covers that tmpfs alone.
# usage: filechanges.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/checks.sh"
mnt=$work/mnt
mkdir -p "$mnt/watched/skip" "$mnt/other"
cat > "$work/santa.conf" <<CONF
$(santa_test_config)
SantactlPath = $santactl
FileChangesRegex = $mnt/watched/
FileChangesPrefixFilters = $mnt/watched/skip/
CONF
santa_start_santad "$santad"
check "santad says what it watches for changes" grep -q "logging writes, renames and deletes" "$work/santad.err"

# The instigators stay alive until their line is logged: the notification
# arrives after the change, and a process that is already gone can only be
# logged as (null). Each waits for its own line (at most ~30 s, then gives up).
appear() { test -e "$1"; }
gone() { ! test -e "$1"; }
log=$work/santa.log
sh -c 'echo one > "$1"; i=0
	while ! grep -qF "$2" "$3" 2> /dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done' \
	sh "$mnt/watched/a" "action=WRITE|path=$mnt/watched/a|" "$log" &
w1=$!
wait_or_die 20 "the write happened" appear "$mnt/watched/a"
# PYTHON-STATEMENT LINE: runs it, then waits for LINE in santa.log.
instigate() {
	python3 -c 'import os, sys, time
exec(sys.argv[1])
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        if sys.argv[2] in open(sys.argv[3], errors="replace").read():
            break
    except OSError:
        pass
    time.sleep(0.05)' "$1" "$2" "$log" &
}
instigate "os.rename('$mnt/watched/a', '$mnt/watched/b')" "action=RENAME|path=$mnt/watched/a|newpath=$mnt/watched/b|"
w2=$!
wait_or_die 20 "the rename happened" appear "$mnt/watched/b"
instigate "os.unlink('$mnt/watched/b')" "action=DELETE|path=$mnt/watched/b|"
w3=$!
wait_or_die 20 "the delete happened" gone "$mnt/watched/b"
echo x > "$mnt/other/c"
echo x > "$mnt/watched/skip/d"
mv "$mnt/other/c" "$mnt/watched/c"   # moved into the watched tree: logged
# The marker: santad reads the changes in order from one queue, so once the
# move's line is there, every earlier change was seen and would have its line.
in_log() { grep -qF -- "$1" "$log" 2> /dev/null; }
wait_until 20 in_log "action=RENAME|path=$mnt/other/c|newpath=$mnt/watched/c|" || true
wait "$w1" "$w2" "$w3"

changes() { grep -E "I santad: action=(WRITE|RENAME|DELETE)" "$work/santa.log" | sed 's/^.*I santad: //' || true; }
lines=$(changes)
echo "$lines" | sed 's/^/# /'
check "exactly 4 file-change lines" test "$(grep -c . <<< "$lines")" -eq 4
check "WRITE by sh" grep -qE "^action=WRITE\|path=$mnt/watched/a\|pid=[0-9]+\|ppid=[0-9]+\|process=(sh|dash)\|processpath=/[^|]*(sh|dash)\|uid=0\|user=root\|gid=0\|group=root$" <<< "$lines"
check "RENAME by python3 with the new path" grep -qE "^action=RENAME\|path=$mnt/watched/a\|newpath=$mnt/watched/b\|pid=[0-9]+\|ppid=[0-9]+\|process=python3[.0-9]*\|processpath=/[^|]+\|uid=0\|user=root\|" <<< "$lines"
check "DELETE by python3" grep -qE "^action=DELETE\|path=$mnt/watched/b\|pid=[0-9]+\|ppid=[0-9]+\|process=python3[.0-9]*\|" <<< "$lines"
check "a move into the watched tree is a RENAME" grep -qE "^action=RENAME\|path=$mnt/other/c\|newpath=$mnt/watched/c\|" <<< "$lines"
check "nothing outside the regex" bash -c "! grep -q 'path=$mnt/other/c|pid' <<< \"\$1\"" _ "$lines"
check "nothing under a prefix filter" bash -c "! grep -q '/watched/skip/' <<< \"\$1\"" _ "$lines"

kill "$pid"
st=0
wait "$pid" || st=$?
pid=
check "santad exits 0" test "$st" -eq 0
check_finish file-change
