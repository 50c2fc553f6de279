#!/usr/bin/env bash
# An unprivileged user's overlayfs (in their own user namespace) on top of a
# watched filesystem must not hang santad: opening an overlay file opens its
# backing file, and the kernel reports that open to the loader check's group
# too; when the loader thread itself opened the overlay file (reading an
# event), it waited for itself, and every later open on the filesystem below
# hung (found by an adversarial review). Also: `ld.so PROGRAM` through the
# overlay is still refused in LOCKDOWN (the backing file's event decides it).
# usage: overlay.sh SANTAD SANTACTL   (as root)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
source "$here/../lib/checks.sh"

ovl=$mnt/ovl
mkdir -p "$ovl/lo" "$ovl/up" "$ovl/wk" "$ovl/ov" "$work/flags"
echo "through the overlay" > "$ovl/lo/file"
cp /bin/echo "$ovl/lo/prog"
echo "root's data" > "$mnt/data.txt"
chown -R 65534:65534 "$ovl" "$work/flags"
# Filesystem marks, as in production (the tmpfs is this test's own).
cat > "$work/santa.conf" <<CONF
ClientMode = LOCKDOWN
$(santa_test_config | sed -e "/^WatchMarkType/d")
DecisionTimeoutMs = 3000
SantactlPath = $santactl
CONF
santa_start_santad "$santad"
export SANTA_CONFIG=$work/santa.conf

loader=/lib64/ld-linux-x86-64.so.2
# The user's namespace: mounts the overlay, then waits for the go before opening through it.
timeout -s KILL 120 setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urm sh -c '
	ovl=$1 flags=$2 loader=$3
	mount -t overlay o -o "lowerdir=$ovl/lo,upperdir=$ovl/up,workdir=$ovl/wk" "$ovl/ov" || exit 1
	: > "$flags/mounted"
	i=0; while [ ! -e "$flags/go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	timeout 10 cat "$ovl/ov/file" > "$flags/cat.out" 2>&1; echo $? > "$flags/cat.rc"
	timeout 10 "$loader" "$ovl/ov/prog" x > "$flags/ldso.out" 2>&1; echo $? > "$flags/ldso.rc"
	: > "$flags/done"' sh "$ovl" "$work/flags" "$loader" &
user=$!

wait_or_die 30 "the user's overlay is mounted" test -e "$work/flags/mounted"
# santad marks filesystems of other namespaces within a second: wait until it has this one.
marked() { grep -qF "$ovl/ov (filesystem)" "$work/santad.err"; }
wait_or_die 30 "santad watches the user's overlay" marked
: > "$work/flags/go"
wait_until 60 test -e "$work/flags/done" || true
check "the user's open through the overlay completes" test "$(cat "$work/flags/cat.rc" 2> /dev/null)" = 0
check "... with the file's bytes" test "$(cat "$work/flags/cat.out" 2> /dev/null)" = "through the overlay"
check "ld.so running an unknown program through the overlay is refused" \
	grep -q "Operation not permitted" "$work/flags/ldso.out"
out=$(timeout 10 cat "$mnt/data.txt" 2>&1) && st=0 || st=$?
check "root's open on the filesystem below still completes" test "$st" = 0 -a "$out" = "root's data"
out=$(timeout 10 "$santactl" status 2>&1) && st=0 || st=$?
check "santad still answers santactl status" test "$st" = 0
kill -9 "$user" 2> /dev/null || true
check_finish adversarial_overlay
