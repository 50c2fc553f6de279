#!/usr/bin/env bash
# A FUSE filesystem mounted inside a user namespace, without allow_other:
# played as nobody against santad watching only the private test tmpfs
# ($work/mnt, filesystem marks).
#
# nobody runs `unshare -Urm` and there mounts bindfs (libfuse mounts it
# directly: FUSE may be mounted in a user namespace) on $mnt/home/fuse, over
# a directory holding an unknown program. The mount says user_id=0 (the
# kernel prints it relative to the user namespace the FUSE connection was
# made in); root is refused it (no allow_other), so santad must mark it as
# the kernel's uid behind that 0 (65534), not as root (was: "Failed to
# watch ...: Permission denied", the mount never marked, the program ran in
# LOCKDOWN, unlogged). Once marked, the kernel itself refuses every exec
# there: it cannot open the file for santad (FUSE refuses a request from uid
# 0, which nobody's namespace does not map: EOVERFLOW), so santad never sees
# the exec and there is no santa.log line (no pid, no path); santad's own
# log says so. Checked:
#  - LOCKDOWN: the unknown program there is denied within 15 s (was: ran
#    15 s long); santad's log says it marked the mount as uid 65534 and that
#    the kernel refused an exec; status counts no mount not watched; root's
#    allowlisted program on the watched tmpfs runs from nobody's namespace
#    (santad is not refusing everything);
#  - MONITOR: the same, refused too: the kernel's refusal, not santad's.
# usage: fuse_userns.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
command -v bindfs > /dev/null || santa_skip "no bindfs (scripts/install-deps.sh installs it)"
[ -c /dev/fuse ] || santa_skip "no /dev/fuse"
chmod 0755 "$work"
mnt=$work/mnt
mkdir -p "$mnt/home/fsrc" "$mnt/home/fuse" "$work/sig"
{ cat /bin/true; printf 'fuse_userns'; } > "$mnt/home/fsrc/prog"
chmod 0755 "$mnt/home/fsrc/prog"
chown -R 65534:65534 "$mnt/home" "$work/sig"
cp /bin/true "$mnt/rootprog"
rootprog_sha=$(sha256sum < "$mnt/rootprog" | cut -d' ' -f1)
export SANTA_CONFIG=$work/santa.conf
# nobody opens /dev/fuse: a 0666 node of this namespace's own over the
# machine's (0600 on some builders).
mkdir -p "$work/dev"
mount -t tmpfs -o mode=0755 dev "$work/dev"
mknod -m 0666 "$work/dev/fuse" c 10 229
mount --bind "$work/dev/fuse" /dev/fuse

status_json() { timeout -s KILL 10 "$santactl" status --json 2> /dev/null; }
not_watched() {
	status_json | python3 -c 'import json, sys
print(json.load(sys.stdin)["daemon"]["mounts"]["mounts_not_watched"])'
}
# The kernel cannot open the file for santad (FUSE refuses uid 0, which
# nobody's namespace does not map): it refuses the exec itself, and santad
# is told only that a read failed. No santa.log line: no pid, no path.
kernel_refused() {
	grep -q "The kernel refused an exec whose file it could not open for santad (Value too large" \
		"$work/santad.err"
}
marked="$mnt/home/fuse is FUSE, closed to root: marked as its owner (uid 65534, 0 in its user namespace)"

# nobody's attack: in a user and mount namespace of their own, bindfs (in
# the foreground) on $mnt/home/fuse, then the program there run until it is
# refused (15 s at most): prints "denied after N ms" or "ran for 15 s"; then
# root's allowlisted program: "rootprog ran" or "rootprog refused".
attack() {
	rm -f "$work/sig/"*
	setpriv --reuid=65534 --regid=65534 --clear-groups -- timeout -s KILL 60 unshare -Urm bash -c '
		mnt=$1 sig=$2
		bindfs -f --no-allow-other "$mnt/home/fsrc" "$mnt/home/fuse" 2> "$sig/bindfs.err" &
		b=$!
		t0=${EPOCHREALTIME/./}
		until grep -q " $mnt/home/fuse .* - fuse" /proc/self/mountinfo; do
			[ $((${EPOCHREALTIME/./} - t0)) -lt 10000000 ] || { echo "no mount"; kill -9 "$b"; exit 0; }
			kill -0 "$b" 2> /dev/null || { echo "bindfs died: $(cat "$sig/bindfs.err")"; exit 0; }
			sleep 0.05
		done
		grep " $mnt/home/fuse " /proc/self/mountinfo > "$sig/mountinfo"
		t0=${EPOCHREALTIME/./}
		out="denied after"
		while "$mnt/home/fuse/prog" 2> /dev/null; do
			[ $((${EPOCHREALTIME/./} - t0)) -lt 15000000 ] || { out="ran for"; break; }
		done
		echo "$out $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"
		if "$mnt/rootprog"; then echo "rootprog ran"; else echo "rootprog refused"; fi
		kill -9 "$b"
		wait "$b" 2> /dev/null
		true' sh "$mnt" "$work/sig" 2>&1 || echo "hung (killed after 60 s)"
}

santa_write_config LOCKDOWN "WatchMarkType = filesystem" "EnableKernelIgnoreMarks = false" \
	"[StaticRule:root]" "identifier = $rootprog_sha" "rule_type = BINARY" "policy = ALLOWLIST"
sed -i '/^WatchMarkType = mount$/d' "$work/santa.conf"
santa_start_santad "$santad"

# ---- LOCKDOWN ----
out=$(attack)
echo "$out" | sed 's/^/# /'
sed 's/^/# mountinfo: /' "$work/sig/mountinfo" 2> /dev/null || true
check "the case under test: nobody's FUSE mount says user_id=0 (its namespace's uid), no allow_other" \
	grep -q "user_id=0,.*" "$work/sig/mountinfo"
check "nobody's FUSE mount has no allow_other" eval '! grep -q allow_other "$work/sig/mountinfo"'
first=$(echo "$out" | head -n 1)
check "LOCKDOWN: the unknown program on nobody's user-namespace FUSE mount is denied ($first)" \
	test "${first%% *}" = denied
check "LOCKDOWN: root's allowlisted program on the watched tmpfs runs from nobody's namespace" \
	grep -q "^rootprog ran$" <<< "$out"
check_eventually "LOCKDOWN: santad's log says the kernel refused an exec it could not open for santad" 10 \
	kernel_refused
check "santad's log says it marked the mount as the kernel's uid behind user_id=0 (65534)" \
	grep -q "$marked" "$work/santad.err"
n=$(not_watched) || n=none
check "santactl status counts no mount not watched ($n)" test "$n" = 0
grep "/home/fuse" "$work/santad.err" | sed 's/^/# santad: /' || true
grep "/home/fuse" "$work/santa.log" | head -n 2 | sed 's/^/# santa.log: /' || true

# ---- MONITOR: refused too (the kernel's refusal, not santad's) ----
kill "$pid"
wait "$pid" 2> /dev/null || true
pid=
sed -i 's/^ClientMode = LOCKDOWN$/ClientMode = MONITOR/' "$work/santa.conf"
santa_start_santad "$santad"
out=$(attack)
echo "$out" | sed 's/^/# /'
first=$(echo "$out" | head -n 1)
check "MONITOR: the program is refused as well, by the kernel ($first)" test "${first%% *}" = denied
check "MONITOR: root's allowlisted program on the watched tmpfs runs from nobody's namespace" \
	grep -q "^rootprog ran$" <<< "$out"
check_eventually "MONITOR: santad's log says the kernel refused it" 10 kernel_refused
check "MONITOR: santad marked the mount as uid 65534" grep -q "$marked" "$work/santad.err"

check_finish fuse_userns
