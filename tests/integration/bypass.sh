#!/usr/bin/env bash
# The bypass matrix, first rows: each way of starting a program is tried on a
# binary blocked by a BLOCKLIST rule (MONITOR) and on an unknown binary in
# LOCKDOWN; every row must be denied with EPERM. Rows not here yet (the
# dynamic loader run directly, memfd, shared-mmap writes) are listed in
# README's bypass table.
# usage: bypass.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
source "$(dirname "$0")/../lib/checks.sh"
mnt=$work/mnt
cp /bin/echo "$mnt/blocked"
blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)
printf '#!/bin/sh\necho script-ran\n' > "$mnt/blocked.sh"
chmod 0755 "$mnt/blocked.sh"
script_sha=$(sha256sum "$mnt/blocked.sh" | cut -d' ' -f1)

# Tries one way of running TARGET; prints "denied" (EPERM), "ran" or "error: ...".
try() { # HOW TARGET
	python3 - "$1" "$2" <<'PY'
import errno, os, sys
how, target = sys.argv[1], sys.argv[2]
def outcome(status):
    print("ran" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else "error: status %d" % status)
def child(run):  # run() execs in a forked child; "denied" when the exec said EPERM
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # what it prints is not the answer
        try:
            run()
        except PermissionError:
            os._exit(126)
        os._exit(127)
    _, st = os.waitpid(pid, 0)
    print("denied" if os.WEXITSTATUS(st) == 126 else "ran" if os.WEXITSTATUS(st) == 0 else "error")
try:
    if how == "execve":
        child(lambda: os.execv(target, [target, "x"]))
    elif how == "fexecve":  # execveat(fd, "", AT_EMPTY_PATH) underneath
        fd = os.open(target, os.O_RDONLY)
        child(lambda: os.execve(fd, [target, "x"], {}))
    elif how == "memfd":  # the bytes copied into an anonymous file, then fexecve
        fd = os.memfd_create("anon", 0)
        with open(target, "rb") as f:
            os.write(fd, f.read())
        child(lambda: os.execve(fd, [target, "x"], {}))
    elif how == "posix_spawn":
        pid = os.posix_spawn(target, [target, "x"], {})
        _, st = os.waitpid(pid, 0)
        outcome(st)
    else:
        print("error: unknown way")
except PermissionError:
    print("denied")
except OSError as e:
    print("error: %s" % e)
PY
}

matrix() { # TARGET-PATH LABEL
	local t=$1 label=$2 rel
	mkdir -p "$mnt/links"
	ln -sf "$t" "$mnt/links/sym"
	rm -f "$mnt/links/hard"; ln "$t" "$mnt/links/hard"
	for how in execve fexecve posix_spawn; do
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
CONF
}

export SANTA_CONFIG=$work/santa.conf
config MONITOR
santa_start_santad "$santad"
try execve "$mnt/blocked" > /dev/null # decided and cached once before the rows
# Control: the harness tells a run from a denial.
cp /bin/true "$mnt/allowed"
for how in execve fexecve posix_spawn; do
	check "control: an unknown binary in MONITOR runs ($how)" test "$(try "$how" "$mnt/allowed")" = ran
done
matrix "$mnt/blocked" "BLOCKLIST"
touch "$work/bound"
mount --bind "$mnt/blocked" "$work/bound"
check "BLOCKLIST: a bind-mounted view of it elsewhere is denied" test "$(try execve "$work/bound")" = denied
umount "$work/bound"
cp "$mnt/blocked" "$work/mnt2/copy"
check "BLOCKLIST: a copy on another watched filesystem is denied" test "$(try execve "$work/mnt2/copy")" = denied
check "BLOCKLIST: a blocked script run directly (shebang) is denied" \
	test "$(try execve "$mnt/blocked.sh")" = denied
check "known limit, as on Santa: 'sh script' runs (the interpreter's rule applies)" \
	test "$(sh "$mnt/blocked.sh")" = script-ran
# The known gap, said rather than hidden: a memfd is on no watched filesystem.
check "known gap: the blocked bytes in a memfd run (no BPF LSM backstop yet)" \
	test "$(try memfd "$mnt/blocked")" = ran
check "and santactl status says anonymous executables are not enforced" \
	python3 -c 'import json,sys; assert json.load(sys.stdin)["daemon"]["anonymous_exec_enforced"] is False' \
	<<< "$("$santactl" status --json)"
kill "$pid"; wait "$pid" || true; pid=

cp /bin/ls "$mnt/unknown"
config LOCKDOWN
santa_start_santad "$santad"
matrix "$mnt/unknown" "LOCKDOWN unknown"
printf '#!/bin/sh\necho hi\n' > "$mnt/unknown.sh"
chmod 0755 "$mnt/unknown.sh"
check "LOCKDOWN: an unknown script run directly is denied" test "$(try execve "$mnt/unknown.sh")" = denied
cp "$mnt/unknown" "$work/mnt2/unknown-copy"
check "LOCKDOWN: a copy on another watched filesystem is denied" \
	test "$(try execve "$work/mnt2/unknown-copy")" = denied
kill "$pid"; wait "$pid" || true; pid=
check_finish bypass
