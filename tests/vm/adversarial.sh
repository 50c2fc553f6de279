#!/usr/bin/env bash
# The hardening issue's attack classes (A to G, tests/adversarial/) played once
# more on a real Debian 12 machine: the image of tests/vm/debian_lockdown.sh
# (Debian's own packages and kernel, pinned; built and cached by that script),
# booted under qemu, our .deb installed with dpkg, santad started by its
# systemd unit in LOCKDOWN watching every filesystem (no WatchPaths) with the
# BPF LSM backstop attached (bpf is in Debian 12's LSM list), a TEAMID rule
# for Debian's archive key so that the system runs, and BINARY rules for this
# test's own programs. Then santauser (uid 1000, no sudo) attacks that santad:
#   A  a 4 GiB program of holes; three of 15 TiB (ext4's largest) run in a loop and 1,100
#      fresh programs at once, over and over: root's and another user's
#      fresh allowlisted programs still run by their rule, blocked stays blocked
#   B  the same flood: santad's fds stay under its limit, root's cp, cat and
#      santactl status work, the user's new unknown programs are denied
#   C  an allowlisted 4 to 256 MB program rewritten while santad hashes it
#      (32 tries at several delays): the new code never runs
#   D  tmpfs and ramfs mounted in a user namespace and run at once, a tmpfs on
#      a path with a space, a tmpfs hidden under a second one, FUSE mounted with
#      the setuid fusermount3 and in a user namespace, memfd execs: denied
#   E  a tmpfs over a root-only AllowedPathRegex directory in a user namespace;
#      a path longer than PATH_MAX under a BlockedPathRegex directory
#   F  300 connections that never say HELLO: root's santactl status still
#      answers and santad's journal is not flooded; santactl rule --export and
#      printlog as the user are refused
#   G  SIGTERM while santad hashes 15 TiB of holes: it stops within 1 s,
#      the machine stays usable (fail-open), santad starts again
# and prints root's cached exec p50/p99 and an uncached allowlisted program's
# first-run time, idle and under the A/B flood and the F connections.
#
# usage: tests/vm/adversarial.sh SANTA_DEB   (as root; SANTA_DEB: the package
#        scripts/package.sh builds from a Release build, build/release/santa_*.deb)
# environment: SANTA_VM_CACHE, SANTA_VM_ACCEL=kvm|tcg (as debian_lockdown.sh);
#        SANTA_VM_STALL (default 900): seconds without a new line on the
#        console or in the guest's log after which the guest counts as stuck
#        (stopped, its journal read from the disk: a FAIL);
#        SANTA_VM_TIMEOUT_MS: santad's DecisionTimeoutMs (default 1000 on KVM,
#        3000 under TCG, which runs the guest several times slower; class C
#        runs with 60000, as tests/adversarial/rewrite.sh, the race being with
#        the hash); SANTA_VM_KEEP=1 keeps the work directory (console, santa.log,
#        santad's journal).
# Prints PASS or FAIL per check, the figures, then a summary; exit 0 when every
# check passed, 1 otherwise, 77 when it cannot run (no root, no qemu, the
# image cannot be built). One VM (2 GB, 2 CPUs), niced under TCG; each run
# boots a copy-on-write overlay of the cached image, which never changes.
# How long: about 20 minutes under TCG on 2 CPUs, once the image is cached.
# Not in ctest: far over the suite's budget under TCG.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/skip.sh"
[ $# -eq 1 ] || { echo "usage: $0 SANTA_DEB" >&2; exit 2; }
deb=$(realpath "$1")
[ -f "$deb" ] || { echo "no such package: $1" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || santa_skip "needs root (the image is built with debootstrap)"
for tool in qemu-system-x86_64 qemu-img cc sha256sum debugfs journalctl; do
	command -v "$tool" > /dev/null || santa_skip "$tool missing (apt-get install qemu-system-x86 qemu-utils build-essential e2fsprogs systemd)"
done

# The image: debian_lockdown.sh builds it (or checks the cached one) and names it.
st=0
built=$(bash "$here/debian_lockdown.sh" --build-only "$deb" 2>&1) || st=$?
[ "$st" -eq 0 ] || { echo "$built"; echo "not ok - tests/vm/debian_lockdown.sh --build-only (exit $st)"; exit "$st"; }
image=$(sed -n 's|^image: \(/[^ ]*\) (.*|\1|p' <<< "$built" | tail -1)
[ -n "$image" ] && [ -f "$image/disk.qcow2" ] || { echo "$built"; echo "not ok - no image named by debian_lockdown.sh"; exit 1; }
debian_teamid=$(awk '/Automatic Signing Key \(12\/bookworm\)/ {print $1; exit}' "$image/teamids")
[ -n "$debian_teamid" ] || { echo "not ok - no bookworm archive key in $image/teamids"; exit 1; }

work=$(mktemp -d /tmp/santa-adversarial-vm-XXXXXX)
cleanup() {
	if [ "${SANTA_VM_KEEP:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
share=$work/share
mkdir -p "$share/results"
cp "$here/adversarial_guest.sh" "$share/guest.sh" # the image's login shell runs guest.sh
cp "$here/guest_lib.sh" "$share/guest_lib.sh"
cp "$deb" "$share/santa.deb"
# Static: the guest has no compiler; the guest's santa.conf allowlists them by hash.
cc -O2 -static -Wall -Wextra -Werror -std=gnu11 -o "$share/santa-vm-attack" "$here/santa-vm-attack.c"
cc -O2 -static -o "$share/memfd_exec" "$here/memfd_exec.c"

source "$here/qemu.sh"
santa_vm_pick_accel "$image/vmlinuz" "$work/kvm-probe.log" || exit 1
accel=("${santa_vm_accel[@]}")
nice=()
if [ "${accel[1]}" != kvm ]; then
	accel+=(-cpu max)
	nice=(nice -n 10)
fi
timeout_ms=${SANTA_VM_TIMEOUT_MS:-$([ "${accel[1]}" = kvm ] && echo 1000 || echo 3000)}
printf 'DEBIAN_TEAMID=%s\nTIMEOUT_MS=%s\n' "$debian_teamid" "$timeout_ms" > "$share/params"
echo "image: $image; qemu: ${accel[*]}; DecisionTimeoutMs $timeout_ms; Debian's archive key Team ID $debian_teamid"

qemu-img create -q -f qcow2 -b "$image/disk.qcow2" -F qcow2 "$work/run.qcow2"
start=$SECONDS
st=0
santa_vm_image_args "$image" "$work/run.qcow2" "$share"
"${nice[@]}" timeout "${SANTA_VM_TIMEOUT:-3600}" qemu-system-x86_64 "${accel[@]}" "${santa_vm_args[@]}" -no-reboot \
	> "$work/console.log" 2>&1 &
vm=$!
# A guest whose console and log say nothing new for SANTA_VM_STALL seconds is
# stuck (a santad that cannot exit stops every exec): stopped, and examined.
stall=${SANTA_VM_STALL:-900}
stuck=false
last=
last_change=$SECONDS
while kill -0 "$vm" 2> /dev/null; do
	now=$(cat "$work/console.log" "$share/results/guest.log" 2> /dev/null | wc -c) || true
	[ "$now" = "$last" ] || { last=$now; last_change=$SECONDS; }
	if [ $((SECONDS - last_change)) -ge "$stall" ]; then
		stuck=true
		kill "$vm" 2> /dev/null || true
		break
	fi
	sleep 5
done
wait "$vm" || st=$?
echo "the VM ran for $((SECONDS - start)) s (qemu exit $st)"
cp "$work/console.log" "$share/results/console.log"

passes=0
fails=0
result() { # PASS|FAIL text
	echo "$1: $2"
	if [ "$1" = PASS ]; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
}
if [ -f "$share/results/checks" ]; then
	while IFS= read -r line; do
		case $line in
		"ok - "*) result PASS "${line#ok - }" ;;
		"not ok - "*) result FAIL "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done < "$share/results/checks"
fi
if ! grep -q '^SANTA-VM-ADVERSARIAL DONE' "$work/console.log"; then
	if $stuck; then
		result FAIL "the guest's checks ran to the end (nothing new for $stall s: the guest was stuck, and stopped)"
	else
		result FAIL "the guest's checks ran to the end"
	fi
	echo "# console, last lines:"
	grep -v '^\[ *[0-9.]*\]  *[?]' "$work/console.log" | tail -25 | sed 's/^/#   /'
	# Post-mortem: santad's journal and the kernel's hung tasks, read from the disk.
	qemu-img convert -O raw "$work/run.qcow2" "$work/post.raw"
	debugfs -R "rdump /var/log/journal $work" "$work/post.raw" > /dev/null 2>&1 || true
	debugfs -R "dump /var/log/santa/santa.log $share/results/post-santa.log" "$work/post.raw" > /dev/null 2>&1 || true
	rm -f "$work/post.raw"
	if [ -d "$work/journal" ]; then
		journalctl -D "$work/journal" -o short-monotonic --no-pager > "$share/results/post-journal.txt" 2>&1 || true
		echo "# post-mortem: santad's unit and the kernel's hung tasks (journal), last lines:"
		grep -E 'systemd\[1\]: santad|santad\[[0-9]+\]: .* [WE] santad|INFO: task|task:' "$share/results/post-journal.txt" |
			tail -25 | sed 's/^/#   /'
	fi
fi
echo "# results (console, guest.log, santa.log, santad's journal): $share/results${SANTA_VM_KEEP:+}"
[ "${SANTA_VM_KEEP:-}" = 1 ] || echo "#   (set SANTA_VM_KEEP=1 to keep them)"
if [ "$fails" -eq 0 ] && [ "$passes" -gt 0 ]; then
	echo "PASS: all $passes checks: an unprivileged user against santad in LOCKDOWN on Debian 12 (${accel[*]})"
else
	echo "FAIL: $fails of $((passes + fails)) checks failed: an unprivileged user against santad in LOCKDOWN on Debian 12 (${accel[*]})"
	exit 1
fi
