#!/usr/bin/env bash
# Mounts moved while santad marks them: played as nobody against santad in
# LOCKDOWN (kernel mount notifications) watching the private test tmpfs.
#
# nobody runs `unshare -Urm`, waits until santad follows that namespace, then
# mounts K tmpfs, each holding an unknown program, at a_i and moves each back
# and forth to b_i with MS_MOVE for PING s, leaving it at rest at either
# place. santad's marking child looked for the mount where the table said,
# found it gone, took it for covered and gave up for good: "is covered by
# another mount and could not be reached: not watched", and with mount
# notifications it never tried again (the program ran in LOCKDOWN, unlogged).
# Now the mount is looked up again by its id and walked at its mount point
# now, with a backoff, while it exists. Checked, with filesystem marks and
# with mount marks:
#  - every unknown program is denied within DENY_S s of the mover stopping;
#  - a mount moved without pause for MOVE_S s: while it moves, each run of
#    its program that went through is covered by santactl status counting a
#    mount not watched (its first second, a new mount's window, not
#    counted); once at rest it is denied;
#  - a tmpfs never moved is denied (the namespace is followed at all).
# usage: mount_move.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
K=12
PING=0.3
MOVE_S=4
DENY_S=5
chmod 0755 "$work"
mnt=$work/mnt
mkdir -p "$mnt/nob" "$work/sig"
{ cat /bin/true; printf 'mount_move'; } > "$work/prog"
chmod 0755 "$work/prog"
chown 65534:65534 "$mnt/nob" "$work/sig"
export SANTA_CONFIG=$work/santa.conf

# nobody's side, inside its own user and mount namespace. Says "ready", waits
# for "go" (santad follows the namespace), then:
#  1. "still": a tmpfs mounted and never moved;
#  2. "moving": one tmpfs moved between m_a and m_b without pause for MOVE_S
#     s, its program run between moves from its second second on (counted:
#     "moving_ran N of TRIES");
#  3. K tmpfs ping-ponged PING s each, at rest at b_i (even i) or a_i (odd);
# then each program run until it is refused (DENY_S * 2 s at most): a line
# "PATH denied after N ms" or "PATH ran for N ms".
cat > "$work/mover.py" << 'PY'
import ctypes, os, sys, time, subprocess
base, sig, K, prog = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
PING, MOVE_S, DENY_S = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
libc = ctypes.CDLL(None, use_errno=True)
MS_MOVE = 8192
data = open(prog, "rb").read()

def mount(src, dst, fstype, flags, opts):
    if libc.mount(src.encode(), dst.encode(), fstype, flags, opts) != 0:
        raise OSError(ctypes.get_errno(), "mount " + dst)

def tmpfs(at):
    os.makedirs(at, exist_ok=True)
    mount("mm", at, b"tmpfs", 0, b"size=256k")
    with open(at + "/u", "wb") as f:
        f.write(data)
    os.chmod(at + "/u", 0o755)

def move(src, dst):
    mount(src, dst, None, MS_MOVE, None)

def runs(path):
    try:
        return subprocess.run([path], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        return False

def say(line):
    print(line, flush=True)

open(sig + "/ready", "w").close()
t = time.time()
while not os.path.exists(sig + "/go"):
    if time.time() - t > 60:
        say("no go"); sys.exit(1)
    time.sleep(0.02)
for i in range(K):
    os.makedirs("%s/a%d" % (base, i)); os.makedirs("%s/b%d" % (base, i))
os.makedirs(base + "/m_b")
final = []
tmpfs(base + "/still")
final.append(base + "/still/u")
# 2: moved without pause; root samples santactl status meanwhile.
tmpfs(base + "/m_a")
open(sig + "/moving", "w").close()
cur, ran, tries, t = base + "/m_a", 0, 0, time.time()
while time.time() - t < MOVE_S:
    other = base + ("/m_b" if cur.endswith("/m_a") else "/m_a")
    move(cur, other)
    cur = other
    tries += 1
    # Its first second is a new mount's (not yet marked: README, mounts made faster than marked).
    if tries % 20 == 0 and time.time() - t > 1 and runs(cur + "/u"):
        ran += 1
open(sig + "/moved", "w").close()
say("moving_ran %d of %d" % (ran, tries // 20))
final.append(cur + "/u")
# 3: ping-pong, each left at rest at either place.
for i in range(K):
    a, b = "%s/a%d" % (base, i), "%s/b%d" % (base, i)
    tmpfs(a)
    end = b if i % 2 == 0 else a
    cur, t = a, time.time()
    while time.time() - t < PING or cur != end:
        other = b if cur == a else a
        move(cur, other)
        cur = other
    final.append(end + "/u")
t0 = time.time()
for p in final:
    while runs(p):
        if time.time() - t0 > 2 * DENY_S:
            break
    ms = int((time.time() - t0) * 1000)
    say("%s %s %d ms" % (p[len(base) + 1:], "ran for" if runs(p) else "denied after", ms))
PY

status_json() { timeout -s KILL 10 "$santactl" status --json 2> /dev/null; }
status_field() { # namespaces | mounts_not_watched
	status_json | python3 -c 'import json, sys
print(json.load(sys.stdin)["daemon"]["mounts"][sys.argv[1]])' "$1"
}

# One round against santad as configured: the mover's lines in $work/out,
# the highest mounts_not_watched seen while "moving" in $max_nw.
attack() {
	local base=$mnt/nob/r$1 ns0 mover nw
	rm -f "$work/sig/"*
	mkdir -p "$base"
	chown 65534:65534 "$base"
	ns0=$(status_field namespaces)
	setpriv --reuid=65534 --regid=65534 --clear-groups -- timeout -s KILL 120 \
		unshare -Urm python3 "$work/mover.py" "$base" "$work/sig" "$K" "$work/prog" \
		"$PING" "$MOVE_S" "$DENY_S" > "$work/out" 2>&1 &
	mover=$!
	wait_until 30 test -e "$work/sig/ready" || true
	# santad follows a namespace at its once-a-second look at /proc.
	wait_until 30 eval '[ "$(status_field namespaces)" -gt "$ns0" ]' || echo "# namespace not followed"
	touch "$work/sig/go"
	max_nw=0
	wait_until 60 test -e "$work/sig/moving" || true
	while [ ! -e "$work/sig/moved" ] && kill -0 "$mover" 2> /dev/null; do
		nw=$(status_field mounts_not_watched) || nw=0
		[ "$nw" -le "$max_nw" ] || max_nw=$nw
		sleep 0.1
	done
	wait "$mover" || true
	sed 's/^/# /' "$work/out"
}

check_round() { # NAME
	local ran denied slow
	ran=$(sed -n 's/^moving_ran \([0-9]*\) of .*/\1/p' "$work/out")
	check "$1: the mover ran to the end" test -n "$ran"
	check "$1: the never-moved tmpfs's program is denied" grep -q "^still/u denied after" "$work/out"
	check "$1: while it moved, its program ran only while status counted a mount not watched (ran $ran, max not watched $max_nw)" \
		eval '[ "${ran:-1}" = 0 ] || [ "$max_nw" -gt 0 ]'
	denied=$(grep -c " denied after " "$work/out" || true)
	check "$1: all $((K + 2)) unknown programs are denied once at rest ($denied)" \
		test "$denied" = $((K + 2))
	slow=$(awk -v b=$((DENY_S * 1000)) '$2 == "denied" && $4 > b' "$work/out" | wc -l)
	check "$1: each within $DENY_S s of the mover stopping ($slow later)" test "$slow" = 0
}

santa_write_config LOCKDOWN "WatchMarkType = filesystem"
sed -i '/^WatchMarkType = mount$/d' "$work/santa.conf"
santa_start_santad "$santad"
check "santad learns mounts from kernel notifications (the case under test)" \
	eval '[ "$(status_field learned_by)" = "kernel mount notifications" ]'
attack 1
check_round filesystem
grep -E "not watched|Failed to watch|looked for again" "$work/santad.err" | head -n 4 |
	cut -c1-220 | sed 's/^/# santad: /' || true

kill "$pid"
wait "$pid" 2> /dev/null || true
pid=
santa_write_config LOCKDOWN
santa_start_santad "$santad"
attack 2
check_round mount
grep -E "not watched|Failed to watch|looked for again" "$work/santad.err" | head -n 4 |
	cut -c1-220 | sed 's/^/# santad: /' || true

check_finish mount_move
