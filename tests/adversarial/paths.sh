#!/usr/bin/env bash
# Issue class E: paths the attacker controls. Played as nobody.
#  1. AllowedPathRegex names a root-only directory. In a user namespace of
#     their own, nobody mounts a tmpfs over it and runs an unknown program
#     from there: the kernel prints that path as nobody's namespace sees it,
#     but in santad's own namespace the path names another file (or none),
#     so the allow scope does not apply (LOCKDOWN: denied).
#  2. BlockedPathRegex names a directory nobody owns. A program at a path
#     longer than PATH_MAX (run by a relative path) has no path the kernel
#     can print: a block scope applies to it (MONITOR: denied), and its line
#     says so.
# usage: paths.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
mkdir -p "$mnt/home" "$mnt/allowed" "$mnt/ctl"
chown 65534:65534 "$mnt/home"
# Unknown programs: /bin/true with a byte of their own each.
for p in ok evil ctl deep; do { cat /bin/true; printf '%s' "$p"; } > "$work/$p"; chmod 0755 "$work/$p"; done
cp "$work/ok" "$mnt/allowed/ok"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

# ---- 1. An allowed directory covered in a user namespace ----
santa_write_config LOCKDOWN "AllowedPathRegex = ^$mnt/allowed/"
santa_start_santad "$santad"
"$mnt/allowed/ok" && pass "root's program in the allowed directory runs (the scope works)" ||
	fail "root's program in the allowed directory did not run"
# In nobody's own namespace: a tmpfs over the allowed directory and one over
# ctl/, both marked by santad's next scan of other namespaces; once the
# control program in ctl/ is denied, the mounts are watched.
out=$(as_nobody unshare -Urm sh -c '
	mnt=$1 work=$2
	mount -t tmpfs tmpfs "$mnt/allowed" && mount -t tmpfs tmpfs "$mnt/ctl" || exit 1
	cp "$work/evil" "$mnt/allowed/evil" && cp "$work/ctl" "$mnt/ctl/ctl" || exit 1
	i=0
	while "$mnt/ctl/ctl" 2> /dev/null; do
		i=$((i + 1)); [ "$i" -lt 600 ] || { echo "never watched"; exit 0; }
		sleep 0.05
	done
	"$mnt/allowed/evil" 2> /dev/null && echo ran || echo "denied ($?)"' sh "$mnt" "$work" 2>&1)
check "an unknown program under the allowed path of a user's own mount is denied ($out)" \
	test "${out%% *}" = denied
wait_until 10 grep -q "decision=DENY|reason=UNKNOWN|.*|path=$mnt/allowed/evil" "$work/santa.log" &&
	pass "its line is an unknown program's (the scope did not apply)" ||
	{ fail "no DENY|UNKNOWN line for $mnt/allowed/evil"; grep evil "$work/santa.log" || true; }
kill "$pid"; wait "$pid" 2> /dev/null || true; pid=

# ---- 2. A path longer than PATH_MAX under a blocked directory ----
santa_write_config MONITOR "BlockedPathRegex = ^$mnt/home/deep/"
santa_start_santad "$santad"
out=$(as_nobody /usr/bin/python3 - "$mnt/home" "$work/deep" <<'PY'
import errno, os, shutil, sys
home, prog = sys.argv[1], sys.argv[2]
os.chdir(home)
os.mkdir("deep"); os.chdir("deep")
depth = 0
while depth < 24:  # 24 x 201 bytes: past PATH_MAX
    name = "d" * 200
    os.mkdir(name); os.chdir(name); depth += 1
shutil.copyfile(prog, "prog"); os.chmod("prog", 0o755)
pid = os.fork()
if pid == 0:
    try:
        os.execv("./prog", ["./prog"])
    except OSError as e:
        os._exit(126 if e.errno == errno.EPERM else 125)
_, st = os.waitpid(pid, 0)
print({0: "ran", 126: "denied"}.get(os.WEXITSTATUS(st), "error %d" % os.WEXITSTATUS(st)))
PY
)
check "a program at a path longer than PATH_MAX under the blocked directory is denied ($out)" \
	test "$out" = denied
wait_until 10 grep -q "decision=DENY|reason=SCOPE|.*|path=(path longer than PATH_MAX)" "$work/santa.log" &&
	pass "its line names the block scope and says the path is too long" ||
	{ fail "no DENY|SCOPE line with the too-long path"; tail -3 "$work/santa.log"; }

kill "$pid"; wait "$pid" 2> /dev/null || true; pid=

# ---- 3. Block scopes: another path for the file, a deleted file ----
# Filesystem marks (as in production): a user's bind mount of the tmpfs, in
# their own namespace, is watched from the start.
mkdir -p "$mnt/home/blocked"
for p in evil3 ctl3; do { cat /bin/true; printf '%s' "$p"; } > "$mnt/home/blocked/$p"; done
{ cat /bin/true; printf 'deleted'; } > "$mnt/home/gone.bin"
chown -R 65534:65534 "$mnt/home"
chmod 0755 "$mnt/home/blocked/evil3" "$mnt/home/blocked/ctl3" "$mnt/home/gone.bin"
santa_write_config MONITOR "WatchMarkType = filesystem" \
	"BlockedPathRegex = ^$mnt/home/blocked/|^.*[.]bin\$"
sed -i '/^WatchMarkType = mount$/d' "$work/santa.conf"
santa_start_santad "$santad"
as_nobody "$mnt/home/blocked/ctl3" 2> /dev/null && fail "the control ran" ||
	pass "a program under the blocked directory is denied (the scope works)"
# Through a bind mount of the directory in nobody's namespace the path does
# not match: that one exec is the user's own (a block scope names paths, and
# the file's owner chooses them); it must not make the file allowed for anyone.
as_nobody unshare -Urm sh -c "mount --bind '$mnt/home/blocked' /mnt && exec /mnt/evil3" || true
as_nobody "$mnt/home/blocked/evil3" 2> /dev/null && st=ran || st=denied
check "after a run through a bind mount, nobody's run at its real path is denied ($st)" test "$st" = denied
"$mnt/home/blocked/evil3" 2> /dev/null && st=ran || st=denied
check "and root's ($st): the bind mount's decision was not kept for the file" test "$st" = denied
# A file unlinked, then run from its fd: the kernel names it "... (deleted)".
out=$(as_nobody /usr/bin/python3 - "$mnt/home/gone.bin" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.unlink(sys.argv[1])
pid = os.fork()
if pid == 0:
    try:
        os.execve(fd, ["gone"], {})
    except OSError as e:
        os._exit(126 if e.errno == errno.EPERM else 125)
_, st = os.waitpid(pid, 0)
print({0: "ran", 126: "denied"}.get(os.WEXITSTATUS(st), "error %d" % os.WEXITSTATUS(st)))
PY
)
check "a deleted .bin run from its fd is denied by a scope anchored at the end ($out)" test "$out" = denied

check_finish paths
