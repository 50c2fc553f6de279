#!/usr/bin/env bash
# The loader check stops asking about a user's file a loader cannot run (a
# header, a source, an object) after its first open: an ignore mark, held
# only while santad holds a read lease on the file (src/santad/loader.c).
# Played as nobody: a file of text, opened once (marked), then turned into a
# blocked program without a write() (through a shared writable mapping, which
# the kernel does not report as a modification), then run through the
# loader. Without the lease the loader maps it unseen and the blocked code
# runs; with it, opening the file for writing took the mark away first.
# Also: the mark does its job (a second open is not asked about), a user's
# write to a marked file is not held up (the lease is let go at once), and a
# blocked program copied over the marked file by write() is denied too.
# usage: leased_marks.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
mkdir "$mnt/home"
chown 65534:65534 "$mnt/home"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
ldso=$(readlink -f /lib64/ld-linux-x86-64.so.2)

# The blocked program: /bin/echo with a byte appended (a hash of its own).
{ cat /bin/echo; printf '\001'; } > "$work/blocked"
chmod 0644 "$work/blocked"
blocked_sha=$(sha256sum < "$work/blocked" | cut -d' ' -f1)
size=$(stat -c %s "$work/blocked")

santa_write_config MONITOR "[StaticRule:blocked]" "identifier = $blocked_sha" \
	"rule_type = BINARY" "policy = BLOCKLIST"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

loader() { # FIELD: a number in santactl status's loader_check section
	"$santactl" status --json |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["loader_check"][sys.argv[1]])' "$1"
}

# A file leased now and deleted at the end, long after (see the end). A lease
# is refused while a writer still has the file open (the shell's descriptor
# can outlive it by a moment): read until santad holds it.
held_open() { ls -l /proc/"$pid"/fd 2> /dev/null | grep -q -- "$1"; }
read_and_held() { as_nobody cat "$1" > /dev/null && held_open "$1"; }
as_nobody sh -c "echo kept > '$mnt/home/kept.h'"
wait_or_die 10 "santad leases a file the user reads" read_and_held "$mnt/home/kept.h"
kept_at=${EPOCHREALTIME/./}

# A text file of the blocked program's size, owned by the user, opened once.
as_nobody /usr/bin/python3 -c 'import sys; open(sys.argv[1], "w").write("x" * int(sys.argv[2]))' \
	"$mnt/home/notes.txt" "$size"
as_nobody cat "$mnt/home/notes.txt" > /dev/null
leased=$(loader leased_files)
check "a user's text file, opened once, is marked under a lease ($leased leased)" test "$leased" -ge 1
events=$(loader open_events)
for _ in 1 2 3 4 5; do as_nobody cat "$mnt/home/notes.txt" > /dev/null; done
check "five more opens of it are not asked about ($events, then $(loader open_events) open events)" \
	test "$(loader open_events)" -eq "$events"
# A reload (as a rule change) flushes every mark of the group; a leased file's is put back.
kill -HUP "$pid"
wait_or_die 30 "santad reloaded its configuration" grep -q "configuration reloaded" "$work/santad.err"
events=$(loader open_events)
for _ in 1 2 3; do as_nobody cat "$mnt/home/notes.txt" > /dev/null; done
check "after a reload flushed the marks, it is still not asked about ($events, then $(loader open_events))" \
	test "$(loader open_events)" -eq "$events"

# The attack: its bytes become the blocked program through a shared writable
# mapping (no write(), no modify event), the mapping still held, then the
# loader runs it. Prints what the run printed and its exit status.
attack() { # FILE HOLD-MAPPING(1/0)
	as_nobody /usr/bin/python3 - "$1" "$work/blocked" "$ldso" "$2" <<'PY'
import mmap, os, subprocess, sys
path, blocked, ldso, hold = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
code = open(blocked, "rb").read()
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, len(code), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[:] = code
if not hold:
    m.close()
    os.close(fd)
p = subprocess.run([ldso, path, "BLOCKED-CODE-RAN"], capture_output=True, text=True)
print("status=%d out=%s" % (p.returncode, p.stdout.strip()))
PY
}
out=$(attack "$mnt/home/notes.txt" 1)
check "the file rewritten through a held shared mapping, run by the loader, is denied ($out)" \
	test "${out#*out=}" != BLOCKED-CODE-RAN
# (Still mapped for writing, its bytes cannot be vouched for: denied when the
# deadline passes, as any file written while santad would hash it.)
wait_or_die 30 "a DENY line for notes.txt" grep -q "decision=DENY|.*|path=$mnt/home/notes.txt" "$work/santa.log"
pass "its denial is logged"

as_nobody /usr/bin/python3 -c 'import sys; open(sys.argv[1], "w").write("y" * int(sys.argv[2]))' \
	"$mnt/home/notes2.txt" "$size"
as_nobody cat "$mnt/home/notes2.txt" > /dev/null
out=$(attack "$mnt/home/notes2.txt" 0)
check "the same with the mapping let go before the run is denied ($out)" \
	test "${out#*out=}" != BLOCKED-CODE-RAN
wait_or_die 30 "a DENY line for notes2.txt" \
	grep -q "decision=DENY|reason=BINARY|sha256=$blocked_sha|.*|path=$mnt/home/notes2.txt" "$work/santa.log"
pass "its denial is logged as the blocked program's"

# A user's ordinary write to a marked file: the lease is let go at once (a
# writer would otherwise wait the kernel's lease-break-time, 45 s).
as_nobody sh -c "echo draft > '$mnt/home/draft.txt'"
as_nobody cat "$mnt/home/draft.txt" > /dev/null
breaks=$(loader lease_breaks)
start=${EPOCHREALTIME/./}
as_nobody sh -c "echo more >> '$mnt/home/draft.txt'"
ms=$(((${EPOCHREALTIME/./} - start) / 1000))
check "a write to a marked file breaks its lease ($breaks, then $(loader lease_breaks) breaks)" \
	test "$(loader lease_breaks)" -gt "$breaks"
check "and is not held up by it ($ms ms; the kernel's limit is $(cat /proc/sys/fs/lease-break-time) s)" \
	test "$ms" -lt 10000
# A file a writer still holds open cannot be leased: counted, and asked about
# again at its next open (only a cost: nothing is let through unasked).
as_nobody sh -c "echo open > '$mnt/home/open.txt'"
refused=$(loader lease_refused)
events=$(loader open_events)
as_nobody sh -c "exec 3>> '$mnt/home/open.txt'; cat '$mnt/home/open.txt' > /dev/null; cat '$mnt/home/open.txt' > /dev/null"
check "a file held open by a writer is not leased ($refused, then $(loader lease_refused) refused)" \
	test "$(loader lease_refused)" -ge $((refused + 2))
check "... and each of its opens is asked about ($events, then $(loader open_events) open events)" \
	test "$(loader open_events)" -ge $((events + 2))
# ... and the blocked program written over a marked file with write() is seen.
as_nobody cat "$mnt/home/draft.txt" > /dev/null
as_nobody cp "$work/blocked" "$mnt/home/draft.txt"
out=$(as_nobody "$ldso" "$mnt/home/draft.txt" BLOCKED-CODE-RAN 2>&1 || true)
check "the blocked program copied over a marked file, run by the loader, is denied" \
	test "$out" != BLOCKED-CODE-RAN

# A leased file the user deletes: santad's fd (the lease's) keeps its space
# from coming back, so santad lets go of it. A new lease is looked at a
# second after it was taken, an older one at doubling intervals (16 s at
# most: a build's temporary files go quickly, its headers are not stat'ed
# every second).
released() { kill -0 "$pid" && ! held_open "$1"; }
as_nobody sh -c "echo scratch > '$mnt/home/scratch.s'"
check_eventually "santad holds a file it leased open" 10 read_and_held "$mnt/home/scratch.s"
check "and one it leased at the start, $(((${EPOCHREALTIME/./} - kept_at) / 1000000)) s ago" \
	held_open "$mnt/home/kept.h"
as_nobody rm "$mnt/home/scratch.s" "$mnt/home/kept.h"
start=${EPOCHREALTIME/./}
wait_or_die 20 "santad lets go of the deleted new lease" released "$mnt/home/scratch.s"
pass "santad let go of the deleted new lease after $(((${EPOCHREALTIME/./} - start) / 1000)) ms"
wait_or_die 40 "santad lets go of the deleted old lease" released "$mnt/home/kept.h"
pass "and of the older one after $(((${EPOCHREALTIME/./} - start) / 1000)) ms"

check_finish leased_marks
