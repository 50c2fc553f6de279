#!/usr/bin/env bash
# The bypass matrix: each way of starting a program is tried on a binary
# blocked by a BLOCKLIST rule (MONITOR) and on an unknown binary in LOCKDOWN;
# every row must be denied with EPERM. Known limits and gaps are tested as
# such (they must behave as README's bypass table says).
# usage: bypass.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/checks.sh"
source "$(dirname "$0")/../lib/skip.sh"
mnt=$work/mnt
# The FUSE rows need bindfs (Debian's bindfs, with fuse3; scripts/install-deps.sh).
command -v bindfs > /dev/null && [ -c /dev/fuse ] ||
	santa_skip "no bindfs or /dev/fuse here: the bypass matrix's FUSE rows cannot be tried"
source "$(dirname "$0")/../lib/try_exec.sh"
bypass_fixtures
# A program no rule names (LOCKDOWN's unknown), of the same size as mm-allowed.
{ cat /bin/true; head -c 15 /dev/zero; printf '\002'; } > "$work/mm-unknown"
chmod 0755 "$work/mm-unknown"

matrix() { # TARGET-PATH LABEL
	local t=$1 label=$2 rel
	mkdir -p "$mnt/links"
	ln -sf "$t" "$mnt/links/sym"
	rm -f "$mnt/links/hard"; ln "$t" "$mnt/links/hard"
	for how in execve fexecve posix_spawn ldso; do
		check "$label: $how is denied" test "$(try "$how" "$t")" = denied
	done
	rel=$(basename "$t")
	check "$label: a relative path is denied" test "$(cd "$(dirname "$t")" && try execve "./$rel")" = denied
	check "$label: a symlink is denied" test "$(try execve "$mnt/links/sym")" = denied
	check "$label: a hard link is denied" test "$(try execve "$mnt/links/hard")" = denied
	mv "$t" "$t.renamed"
	check "$label: a rename after a decision is denied" test "$(try execve "$t.renamed")" = denied
	mv "$t.renamed" "$t"
}

# Filesystem marks here, as in production (each private tmpfs is a filesystem of
# its own, so nothing else is watched): a bind mount of a file shows it elsewhere.
# A second filesystem, watched too (as every local filesystem is by default).
mkdir -p "$work/mnt2"
mount -t tmpfs -o mode=0755 tmpfs "$work/mnt2"
mount --make-private "$work/mnt2"

# As nobody, in a user and mount namespace of its own: mounts a tmpfs on DIR
# (santad's mount table never shows it), copies PROGRAM there, waits until
# santad's once-a-second look at other namespaces marked it (santad.err says
# "watching /proc/PID/rootDIR (...)"; ~30 s at most, then it runs it anyway),
# runs it. Prints "ran", "denied" or "error: ...".
chmod 0755 "$work"
userns_try() { # PROGRAM DIR (a directory of its own for each call: the marker names it)
	mkdir -p "$2"
	setpriv --reuid=65534 --regid=65534 --clear-groups unshare -Urm sh -c '
		mount -t tmpfs -o mode=0755 none "$2" || exit 3
		cp "$1" "$2/prog" && chmod 0755 "$2/prog" || exit 3
		i=0
		while ! grep -qE "watching (/proc/[0-9]+/root)?$2 \(" "$3" && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		"$2/prog" x > /dev/null 2> "$2/err"; st=$?
		if [ $st -eq 0 ]; then echo ran
		elif grep -q "not permitted" "$2/err"; then echo denied
		else echo "error: $st $(cat "$2/err")"; fi' sh "$1" "$2" "$work/santad.err" 2>&1 || echo "error: setup"
}

# A copy on an overlayfs and on a FUSE filesystem (bindfs), each mounted below
# the watched path after santad started: picked up without a restart.
in_err() { grep -qF -- "$1" "$work/santad.err"; }
as_nobody() { # COMMAND...: the try function too
	setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \
		"source '$(dirname "$0")/../lib/try_exec.sh'; \"\$@\"" sh "$@"
}
wait_watching() { # MOUNTPOINT: until santad says it marked it (at most 30 s; the row then fails)
	wait_until 30 in_err "watching $1 (" || true
}
other_fs_rows() { # PROGRAM LABEL
	local lower=$work/ovl-lower-$2 fsrc=$work/fuse-src-$2
	mkdir -p "$lower" "$work/ovl-upper-$2" "$work/ovl-work-$2" "$mnt/ovl-$2" "$fsrc" "$mnt/fuse-$2"
	cp "$1" "$lower/prog"
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/ovl-upper-$2,workdir=$work/ovl-work-$2" \
		"$mnt/ovl-$2"
	wait_watching "$mnt/ovl-$2"
	check "$2: a copy on an overlayfs mounted after santad started is denied" \
		test "$(try execve "$mnt/ovl-$2/prog")" = denied
	santa_umount "$mnt/ovl-$2"
	cp "$1" "$fsrc/prog"
	bindfs "$fsrc" "$mnt/fuse-$2"
	wait_watching "$mnt/fuse-$2"
	check "$2: a copy on a FUSE filesystem (bindfs) mounted after santad started is denied" \
		test "$(try execve "$mnt/fuse-$2/prog")" = denied
	fusermount -u "$mnt/fuse-$2" 2> /dev/null || santa_umount "$mnt/fuse-$2"
}

config() { # MODE
	cat > "$work/santa.conf" <<CONF
ClientMode = $1
$(santa_test_config | sed -e "s|^WatchPaths = .*|WatchPaths = $work/mnt, $work/mnt2|" -e "/^WatchMarkType/d")
SantactlPath = $santactl
[StaticRule:blocked]
identifier = $blocked_sha
rule_type = BINARY
policy = BLOCKLIST
[StaticRule:script]
identifier = $script_sha
rule_type = BINARY
policy = BLOCKLIST
[StaticRule:mmap]
identifier = $mm_blocked_sha
rule_type = BINARY
policy = BLOCKLIST
CONF
}

export SANTA_CONFIG=$work/santa.conf
config MONITOR
santa_start_santad "$santad"
try execve "$mnt/blocked" > /dev/null # decided and cached once before the rows
# Control: the harness tells a run from a denial.
cp /bin/true "$mnt/allowed"
for how in execve fexecve posix_spawn ldso; do
	check "control: an unknown binary in MONITOR runs ($how)" test "$(try "$how" "$mnt/allowed")" = ran
done
install -m 0755 -o nobody "$mnt/allowed" "$mnt/monitor-user"
check "MONITOR: nobody's own program runs through the loader" \
	test "$(as_nobody try ldso "$mnt/monitor-user")" = ran
check_eventually "and is logged" 20 grep -q "decision=ALLOW|.*path=$mnt/monitor-user" "$work/santa.log"
matrix "$mnt/blocked" "BLOCKLIST"
touch "$work/bound"
mount --bind "$mnt/blocked" "$work/bound"
check "BLOCKLIST: a bind-mounted view of it elsewhere is denied" test "$(try execve "$work/bound")" = denied
santa_umount "$work/bound"
cp "$mnt/blocked" "$work/mnt2/copy"
check "BLOCKLIST: a copy on another watched filesystem is denied" test "$(try execve "$work/mnt2/copy")" = denied
check "BLOCKLIST: a copy on a tmpfs a user mounted in a user namespace is denied" \
	test "$(userns_try "$mnt/blocked" "$mnt/userns1")" = denied
# mountinfo writes a space as \040 (a santad that skipped such paths never marked them).
check "BLOCKLIST: the same on a path with a space in it" \
	test "$(userns_try "$mnt/blocked" "$mnt/user ns 2")" = denied
other_fs_rows "$mnt/blocked" BLOCKLIST
cp "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$mnt/myld"
check "BLOCKLIST: a copy of the loader on a watched filesystem, once run, is known as a loader" \
	"$mnt/myld" --version
check "BLOCKLIST: and the program it is asked to run is denied" \
	test "$(LOADER=$mnt/myld try ldso "$mnt/blocked")" = denied
check "BLOCKLIST: the loader given a program it already mapped once is denied again" \
	test "$(try ldso "$mnt/blocked")" = denied
check "known limit: ldd on a blocked program fails (ldd runs it through the loader)" \
	bash -c "! ldd '$mnt/blocked' > /dev/null 2>&1"
check "BLOCKLIST: a blocked script run directly (shebang) is denied" \
	test "$(try execve "$mnt/blocked.sh")" = denied
# Allowed, then rewritten in place through a shared writable mmap into the blocked bytes.
install -m 0755 -o nobody "$work/mm-allowed" "$mnt/mm-user"
check "a user's program runs (MONITOR, unknown)" test "$(try execve "$mnt/mm-user")" = ran
check "and runs again (decided from the cache)" test "$(try execve "$mnt/mm-user")" = ran
mmap_rewrite "$mnt/mm-user" "$work/mm-blocked"
check "BLOCKLIST: rewritten into the blocked bytes through a shared mmap, it is denied" \
	test "$(try execve "$mnt/mm-user")" = denied
install -m 0755 "$work/mm-allowed" "$mnt/mm-root"
try execve "$mnt/mm-root" > /dev/null # allowed: root's file, so a kernel ignore mark
mmap_rewrite "$mnt/mm-root" "$work/mm-blocked"
# Not a check: the kernel may evict an ignore mark at any time, and then it is denied.
echo "# known limit: root's own program rewritten by root through a mmap: $(try execve "$mnt/mm-root")"
# The interpreter is a copy on the watched filesystem, so santad decides its
# exec (unknown in MONITOR: allowed) and the script is only its argument.
cp "$(readlink -f /bin/sh)" "$mnt/sh"
check "known limit, as on Santa: 'sh script' runs (the interpreter's rule applies)" \
	test "$("$mnt/sh" "$mnt/blocked.sh")" = script-ran
in_log() { grep -qF -- "$1" "$work/santa.log"; }
check_eventually "(santad decided the interpreter's exec)" 20 in_log "path=$mnt/sh"
# A memfd is on no filesystem fanotify can mark: the BPF LSM backstop sees it
# where it can be loaded, and then it must be on; status says which. Whether
# the kernel takes BPF LSM programs is asked apart from santad (some kernels
# refuse them even to root, with EPERM).
bpf_lsm=false
santa_bpf_loads "$santad" anon_exec && bpf_lsm=true
echo "# BPF LSM programs load here: $bpf_lsm"
check "known limit (MONITOR): the blocked bytes in a memfd run (no hash before the exec)" \
	test "$(try memfd "$mnt/blocked")" = ran
if $bpf_lsm; then
	check_eventually "the BPF backstop logged the memfd exec" 20 \
		grep -q 'decision=ALLOW|reason=UNKNOWN.*path=memfd:anon' "$work/santa.log"
fi
status=$("$santactl" status --json)
check "santactl status says whether anonymous executables are enforced ($bpf_lsm)" \
	python3 -c 'import json,sys; assert json.load(sys.stdin)["daemon"]["anonymous_exec_enforced"] is '"$($bpf_lsm && echo True || echo False)" \
	<<< "$status"
check "santactl status counts the programs the loader check decided" \
	python3 -c 'import json,sys; l = json.load(sys.stdin)["daemon"]["loader_check"]; assert l["enabled"] and l["programs_decided"] >= 3, l' \
	<<< "$status"
kill "$pid"; wait "$pid" || true; pid=

cp /bin/ls "$mnt/unknown"
config LOCKDOWN
cat >> "$work/santa.conf" <<CONF
[StaticRule:allowed]
identifier = $(sha256sum "$mnt/allowed" | cut -d' ' -f1)
rule_type = BINARY
policy = ALLOWLIST
[StaticRule:mm-allowed]
identifier = $(sha256sum "$work/mm-allowed" | cut -d' ' -f1)
rule_type = BINARY
policy = ALLOWLIST
[StaticRule:sh]
identifier = $(sha256sum "$(readlink -f /bin/sh)" | cut -d' ' -f1)
rule_type = BINARY
policy = ALLOWLIST
CONF
# santa.conf on a watched filesystem: santad opens it again at SIGHUP, and that
# open comes through the loader check's group too; it must not wait on itself.
cp "$work/santa.conf" "$mnt/santa.conf"
export SANTA_CONFIG=$mnt/santa.conf
santa_start_santad "$santad"
check "LOCKDOWN: an allowlisted program runs through the loader" test "$(try ldso "$mnt/allowed")" = ran
check "LOCKDOWN: and so run by nobody" test "$(as_nobody try ldso "$mnt/allowed")" = ran
# The loader maps its program MAP_PRIVATE and no one refuses a writer, so
# nobody's own copy of an allowlisted program could get new code while it runs.
install -m 0755 -o nobody "$mnt/allowed" "$mnt/allowed-user"
check "LOCKDOWN: nobody's copy of an allowlisted program run through the loader is denied" \
	test "$(as_nobody try ldso "$mnt/allowed-user")" = denied
check_eventually "and its line says why" 20 grep -q "decision=DENY|reason=UNKNOWN|explain=run by \
the dynamic loader, a file others than root may write.*path=$mnt/allowed-user" "$work/santa.log"
install -m 0775 -o root -g nogroup "$mnt/allowed" "$mnt/allowed-group"
check "LOCKDOWN: so is root's copy a group may write" \
	test "$(as_nobody try ldso "$mnt/allowed-group")" = denied
# A loader process whose program was decided execs the loader again: the
# new image's program is decided too (same pid, same start time).
cp "$(readlink -f /bin/sh)" "$mnt/sh-allowed"
chain=$(as_nobody /lib64/ld-linux-x86-64.so.2 "$mnt/sh-allowed" -c \
	"echo sh-ran; exec /lib64/ld-linux-x86-64.so.2 '$mnt/unknown'" 2>&1 || true)
echo "# the loader exec'd again: $chain"
check "LOCKDOWN: an allowlisted shell run by the loader execs the loader on an unknown program: denied" \
	grep -q "sh-ran.*unknown: cannot open shared object file: Operation not permitted" <<< "${chain//$'\n'/ }"
# The loader run from a path over a thousand bytes long (its own directory
# bound there in nobody's namespace): its map outgrew the 4 KiB once read of
# it and passed for a process whose program was mapped already (it ran).
loader_dir=$(dirname "$(readlink -f /lib64/ld-linux-x86-64.so.2)")
long=$(as_nobody unshare -Urm sh -c 'mount -t tmpfs none /mnt &&
	d=/mnt/$(printf "%0200d/%0200d/%0200d/%0200d/%0200d" 0 0 0 0 0) && mkdir -p "$d" &&
	mount --bind "$1" "$d" && "$d/ld-linux-x86-64.so.2" "$2" > /dev/null 2>&1 && echo ran || echo denied' \
	sh "$loader_dir" "$mnt/unknown" 2>&1)
check "LOCKDOWN: the loader run from a path over 1,000 bytes long on an unknown program: denied ($long)" \
	test "$long" = denied
# Made ELF by its writer right after the loader opened it: none may run.
mkdir -m 0755 "$mnt/race" && chown nobody "$mnt/race"
race_ran=$(as_nobody timeout 120 python3 "$(dirname "$0")/ldso_race.py" "$work/mm-unknown" "$mnt/race" 300)
echo "# the loader race: ${race_ran:-none} of 300 ran"
race_ran2=$(as_nobody timeout 120 python3 "$(dirname "$0")/ldso_race.py" --read-first "$work/mm-unknown" "$mnt/race" 300)
echo "# the loader race, the file read once first: ${race_ran2:-none} of 300 ran"
check "LOCKDOWN: the loader given a file made ELF after it opened it runs nothing (300 tries)" \
	test "$race_ran" = 0
check "LOCKDOWN: the same with the file read once first (a user's non-ELF file may get a leased mark) (300 tries)" \
	test "$race_ran2" = 0
# An allowlisted user's program turned, through a shared mmap, into bytes no rule allows.
install -m 0755 -o nobody "$work/mm-allowed" "$mnt/mm-user2"
check "LOCKDOWN: an allowlisted user's program runs" test "$(try execve "$mnt/mm-user2")" = ran
mmap_rewrite "$mnt/mm-user2" "$work/mm-unknown"
check "LOCKDOWN: rewritten through a shared mmap into unknown bytes, it is denied" \
	test "$(try execve "$mnt/mm-user2")" = denied
kill -HUP "$pid"
check "santad rereads a santa.conf on a watched filesystem (SIGHUP) and still answers" \
	timeout 30 "$santactl" status
check "and still decides after it" test "$(try execve "$mnt/allowed")" = ran
matrix "$mnt/unknown" "LOCKDOWN unknown"
printf '#!/bin/sh\necho hi\n' > "$mnt/unknown.sh"
chmod 0755 "$mnt/unknown.sh"
check "LOCKDOWN: an unknown script run directly is denied" test "$(try execve "$mnt/unknown.sh")" = denied
cp "$mnt/unknown" "$work/mnt2/unknown-copy"
check "LOCKDOWN: a copy on another watched filesystem is denied" \
	test "$(try execve "$work/mnt2/unknown-copy")" = denied
check "LOCKDOWN: an unknown program on a tmpfs mounted in a user namespace is denied" \
	test "$(userns_try "$work/mm-unknown" "$mnt/userns2")" = denied
other_fs_rows "$work/mm-unknown" LOCKDOWN
if $bpf_lsm; then
	check "LOCKDOWN: an unknown program copied into a memfd is denied (BPF LSM)" \
		test "$(try memfd "$work/mm-unknown")" = denied
	check_eventually "and logged as a denial" 20 grep -q 'decision=DENY|reason=UNKNOWN.*path=memfd:anon' "$work/santa.log"
else
	check "known gap without BPF LSM: a memfd runs even in LOCKDOWN" test "$(try memfd "$work/mm-unknown")" = ran
fi
kill "$pid"; wait "$pid" || true; pid=
check_finish bypass
