#!/usr/bin/env bash
# A user's FUSE server holding the open the kernel makes for santad to hand
# it an exec event's fd (inside santad's read of the permission group):
# played as nobody against santad in LOCKDOWN (FailClosed unset, Santa's
# default) watching only the private test tmpfs ($work/mnt).
#
# nobody mounts a FUSE filesystem on $mnt/home/fuse with plain fusermount3
# (no allow_other: santad marks it as its owner), then execs a program from
# it; nobody's server never answers santad's open of that file (uid 0).
# Read on santad's loop, that open held every exec decision of the machine:
# root's unknown program then ran, allowed at its deadline (TIMEOUT). While
# the server holds it:
#  - root's unknown program on the watched tmpfs is denied by rule (DENY
#    UNKNOWN, not TIMEOUT) within 3 s;
#  - root's allowlisted program runs within 3 s, by rule (ALLOW BINARY);
#  - `santactl status` answers within 5 s;
#  - on SIGTERM santad's every thread but the FUSE reader (stuck in the
#    server's request: nothing can end it before the server answers) has
#    ended within 5 s; once the server is gone, santad's process is too.
# usage: fuse_stall.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
source "$here/../lib/not_held.sh"
command -v fusermount3 > /dev/null || santa_skip "no fusermount3 (fuse3 not installed)"
chmod 0755 "$work"
mnt=$work/mnt
mkdir -p "$mnt/home/fuse" "$work/sig"
chown 65534:65534 "$mnt/home" "$mnt/home/fuse" "$work/sig"
cp /bin/true "$mnt/rootprog"
rootprog_sha=$(sha256sum < "$mnt/rootprog" | cut -d' ' -f1)
{ cat /bin/true; printf 'nobody'; } > "$work/nobodyprog"
chmod 0644 "$work/nobodyprog"
export SANTA_CONFIG=$work/santa.conf
# An ASan build's leak check stops every thread at exit (ptrace) and waits
# for them: the reader stuck in the server's request never stops, so it would
# hold santad's exit itself (a Release santad has no such check).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
# fusermount3 (setuid) opens /dev/fuse as the user: a 0666 node of this
# namespace's own over the machine's (0600 on some builders; Debian's is 0666).
mkdir -p "$work/dev"
mount -t tmpfs -o mode=0755 dev "$work/dev"
mknod -m 0666 "$work/dev/fuse" c 10 229
mount --bind "$work/dev/fuse" /dev/fuse

# The system's python: one from root's own environment (pyenv) may be closed to nobody.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
server=
execer=
finish_attack() { # kills nobody's server and exec, by pid, and waits for them
	local p
	for p in $server $execer; do
		kill -9 "$p" 2> /dev/null || true
		wait "$p" 2> /dev/null || true
	done
	server=
	execer=
	umount -l "$mnt/home/fuse" 2> /dev/null || true
}
trap 'finish_attack; santa_cleanup' EXIT

# santad's threads still running (not zombies), but its FUSE reader.
live_threads() {
	local t n=0
	for t in /proc/"$pid"/task/*; do
		[ -r "$t/stat" ] || continue
		[ "$(cat "$t/comm" 2> /dev/null)" = santad-fuse ] && continue
		case "$(awk '{print $3}' "$t/stat" 2> /dev/null)" in Z | X | '') ;; *) n=$((n + 1)) ;; esac
	done
	echo "$n"
}
no_live_threads() { [ "$(live_threads)" = 0 ]; }
gone() { ! kill -0 "$pid" 2> /dev/null; }

santa_write_config LOCKDOWN "EnableKernelIgnoreMarks = false" \
	"[StaticRule:root]" "identifier = $rootprog_sha" "rule_type = BINARY" "policy = ALLOWLIST"
santa_start_santad "$santad"
setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$py" "$here/../lib/fuse_hold_open.py" "$mnt/home/fuse" "$work/sig" "$work/nobodyprog" &
server=$!
ready() { [ -e "$work/sig/ready" ] || ! kill -0 "$server" 2> /dev/null; }
wait_or_die 30 "nobody's FUSE server is up" ready
[ -e "$work/sig/ready" ] || { fail "nobody's FUSE server did not start"; check_finish fuse_stall; }
check_eventually "santad marks nobody's FUSE mount as its owner" 15 \
	grep -q "home/fuse is FUSE, closed to root: marked as its owner" "$work/santad.err"

# nobody execs its program; santad's open of it waits on nobody's server.
setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	timeout -s KILL 120 "$mnt/home/fuse/prog" > /dev/null 2>&1 &
execer=$!
check_eventually "santad's open of nobody's exec'd file waits on nobody's server" 15 \
	test -e "$work/sig/blocked"

{ cat /bin/true; printf 'unknown'; } > "$mnt/unknown"
chmod 0755 "$mnt/unknown"
check_not_held "" "$mnt/rootprog" "$mnt/unknown"
held_ms=$(timeout -s KILL 10 "$santactl" status --json 2> /dev/null | "$py" -c \
	'import json, sys; print(json.load(sys.stdin)["daemon"]["mounts"]["fuse_exec_reader_held_ms"])' || echo none)
check "santactl status says how long nobody's server has held the FUSE reader ($held_ms ms)" \
	test "$held_ms" != none -a "$held_ms" != 0
check "the server still holds santad's open (the checks ran during the stall)" \
	kill -0 "$execer"
check "no exec was allowed by a deadline" sh -c "! grep -q 'reason=TIMEOUT' '$work/santa.log'"

kill -TERM "$pid"
t0=${EPOCHREALTIME/./}
check_eventually "on SIGTERM every santad thread but the stuck FUSE reader ends within 5 s" 5 \
	no_live_threads
for t in /proc/"$pid"/task/*; do
	echo "# thread $(cat "$t/comm" 2> /dev/null): $(awk '{print $3}' "$t/stat" 2> /dev/null) $(cat "$t/wchan" 2> /dev/null)"
	cat "$t/stack" 2> /dev/null | head -8 | sed 's/^/#   /'
done
finish_attack
check_eventually "santad's process is gone once nobody's server is" 10 gone
wait "$pid" 2> /dev/null || true
pid=
grep -E "home/fuse|FUSE" "$work/santad.err" | sed 's/^/# /' || true
check_finish fuse_stall
