#!/usr/bin/env bash
# A user's FUSE server holding the lookups santad makes to mark a mount (the
# loop's stall): played as nobody against santad in LOCKDOWN watching only
# the private test tmpfs ($work/mnt, filesystem marks).
#
# nobody mounts a FUSE filesystem on $mnt/home/fuse with fusermount3 -o
# allow_other (this test's namespace has an /etc/fuse.conf with
# user_allow_other, an admin's choice many desktops make: root's lookups
# there then go to nobody's server), then, in a user and mount namespace of
# their own, a tmpfs on each of $mnt/home/fuse/sub0 .. sub3, and stops
# answering lookups. To mark those santad looks their mount points up
# through the FUSE directory, and those lookups never return (nobody's
# marking children stay stuck: more mounts than the 2 children one owner
# gets). While they hang:
#  - root's allowlisted program and an unknown program on the watched tmpfs
#    are decided by rule (ALLOW BINARY, DENY UNKNOWN), not by a deadline,
#    each within 3 s;
#  - `santactl status` answers within 5 s;
#  - another user's tmpfs (uid 65533, a namespace of its own) is marked: an
#    unknown program there is denied;
#  - the stuck mounts are reported as santad reports a mount it cannot mark
#    ("Failed to watch", Mounts Not Watched).
# Both ways santad learns of mounts: kernel notifications, and the scan of
# every table each second (SANTAD_MOUNT_EVENTS=0).
# usage: fuse_walk.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
source "$here/../lib/not_held.sh"
chmod 0755 "$work"
mnt=$work/mnt
mkdir -p "$mnt/home" "$work/sig"
chown 65534:65534 "$mnt/home" "$work/sig"
cp /bin/true "$mnt/rootprog"
rootprog_sha=$(sha256sum < "$mnt/rootprog" | cut -d' ' -f1)
export SANTA_CONFIG=$work/santa.conf
# fusermount3 (setuid) opens /dev/fuse as the user: a 0666 node of this
# namespace's own over the machine's (0600 on some builders), and an
# /etc/fuse.conf with user_allow_other, in this test's mount namespace only.
[ -e /etc/fuse.conf ] || santa_skip "no /etc/fuse.conf to bind over (fuse3 not installed)"
mkdir -p "$work/dev"
mount -t tmpfs -o mode=0755 dev "$work/dev"
mknod -m 0666 "$work/dev/fuse" c 10 229
mount --bind "$work/dev/fuse" /dev/fuse
printf 'user_allow_other\n' > "$work/dev/fuse.conf"
mount --bind "$work/dev/fuse.conf" /etc/fuse.conf

# The system's python: one from root's own environment (pyenv) may be closed to nobody.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
server=
finish_attack() { # kills nobody's server, by pid, and waits for it
	if [ -n "$server" ]; then
		kill -9 "$server" 2> /dev/null || true
		wait "$server" 2> /dev/null || true
		server=
	fi
	umount -l "$mnt/home/fuse" 2> /dev/null || true
}
trap 'finish_attack; santa_cleanup' EXIT

status_answers() { timeout -s KILL 10 "$santactl" status > /dev/null 2>&1; }
status_json() { timeout -s KILL 10 "$santactl" status --json 2> /dev/null; }
not_watched() { # the count status gives
	status_json | python3 -c 'import json, sys
print(json.load(sys.stdin)["daemon"]["mounts"]["mounts_not_watched"])'
}

run=0
for mode in 1 0; do
	run=$((run + 1))
	santa_write_config LOCKDOWN "WatchMarkType = filesystem" "EnableKernelIgnoreMarks = false" \
		"[StaticRule:root]" "identifier = $rootprog_sha" "rule_type = BINARY" \
		"policy = ALLOWLIST"
	sed -i '/^WatchMarkType = mount$/d' "$work/santa.conf"
	SANTAD_MOUNT_EVENTS=$mode santa_start_santad "$santad"
	rm -f "$work/sig/"*
	mkdir -p "$mnt/home/fuse"
	chown 65534:65534 "$mnt/home/fuse"
	setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$py" "$here/../lib/fuse_block.py" "$mnt/home/fuse" "$work/sig" &
	server=$!
	ready() { [ -e "$work/sig/ready" ] || ! kill -0 "$server" 2> /dev/null; }
	wait_or_die 30 "nobody's FUSE server is up" ready
	[ -e "$work/sig/ready" ] || { fail "nobody's FUSE server did not start"; break; }
	# santad's lookup has reached nobody's server, which does not answer it.
	check_eventually "SANTAD_MOUNT_EVENTS=$mode: santad's lookup of nobody's tmpfs mounts waits on nobody's FUSE server" \
		15 test -e "$work/sig/blocked"

	{ cat /bin/true; printf 'unknown%s' "$run"; } > "$mnt/unknown$run"
	chmod 0755 "$mnt/unknown$run"
	check_not_held "SANTAD_MOUNT_EVENTS=$mode: " "$mnt/rootprog" "$mnt/unknown$run"

	# Another user's mount, meanwhile: marked, its unknown program denied.
	{ cat /bin/true; printf 'other%s' "$run"; } > "$work/other$run"
	chmod 0755 "$work/other$run"
	mkdir -p "$mnt/home/other$run"
	chown 65533:65533 "$mnt/home/other$run"
	out=$(setpriv --reuid=65533 --regid=65533 --clear-groups -- timeout -s KILL 40 unshare -Urm bash -c '
		d=$1
		mount -t tmpfs -o mode=0755 other "$d" && cp "$2" "$d/prog" || { echo "setup failed"; exit 0; }
		t0=${EPOCHREALTIME/./}
		while "$d/prog" 2> /dev/null; do
			[ $((${EPOCHREALTIME/./} - t0)) -lt 15000000 ] || { echo "ran for 15 s"; exit 0; }
		done
		echo "denied after $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"' sh "$mnt/home/other$run" \
		"$work/other$run" 2>&1) || out="hung (killed after 40 s)"
	check "SANTAD_MOUNT_EVENTS=$mode: another user's unknown program on their new tmpfs is denied meanwhile ($out)" \
		test "${out%% *}" = denied

	# The stuck mounts: said, and tried again later (a moment's load must
	# not leave a mount unwatched for good), or given up as not watched.
	check_eventually "SANTAD_MOUNT_EVENTS=$mode: santad's log says looking nobody's tmpfs below the FUSE mount up timed out" \
		15 grep -qE "(Failed to watch .*/home/fuse/sub[0-9]: .*timed out|Looking .*/home/fuse/sub[0-9] \(.*\) up took over 500 ms)" "$work/santad.err"
	if [ "$mode" = 1 ]; then
		n=$(not_watched 2> /dev/null) || n=none
		check "santactl status counts it under Mounts Not Watched ($n)" test "${n:-0}" -ge 1 2> /dev/null
	fi
	# The server answers again: the mounts whose lookup timed out are looked
	# up again (after 1 s, then 2 s) and marked, not left unwatched for good.
	touch "$work/sig/release"
	all_marked() { [ "$(grep -oE "watching .*/home/fuse/sub[0-9] \(" "$work/santad.err" |
		sort -u | wc -l)" -eq 4 ]; }
	check_eventually "SANTAD_MOUNT_EVENTS=$mode: once nobody's server answers, santad looks the timed-out mounts up again and marks all 4" \
		20 all_marked
	finish_attack
	# santad outlives it all, and answers.
	check "SANTAD_MOUNT_EVENTS=$mode: santad still runs" kill -0 "$pid"
	grep -E "/home/fuse" "$work/santad.err" | sed 's/^/# /' || true

	check "SANTAD_MOUNT_EVENTS=$mode: santactl status answers after the server is gone" status_answers
	kill "$pid"
	wait "$pid" 2> /dev/null || true
	pid=
done

check_finish fuse_walk
