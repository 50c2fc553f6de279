#!/usr/bin/env bash
# Santa's TTY block message: a denied exec run from a terminal prints why on
# that terminal (bold "Santa", the block message, Path, Identifier, Parent),
# with the file's name escaped (no escape sequence of the user's reaches the
# terminal), and nothing with EnableSilentTTYMode. The terminal is a pty the
# test reads; the shell on it stays, as a user's would.
# usage: tty.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"

{ cat /bin/true; printf 'blocked'; } > "$work/blocked-code"
blocked_sha=$(sha256sum < "$work/blocked-code" | cut -d' ' -f1)
evil_name=$(printf 'evil\033[2Jname')
install -m 0755 "$work/blocked-code" "$mnt/blocked"
install -m 0755 "$work/blocked-code" "$mnt/$evil_name"
rule=("[StaticRule:blocked]" "identifier = $blocked_sha" "rule_type = BINARY" "policy = BLOCKLIST")
santa_write_config MONITOR "${rule[@]}"
santa_start_santad "$santad"

# Runs PROGRAM from a shell on a new pty, as that terminal's session; prints
# what the terminal showed once the DENY line for PROGRAM is in santa.log
# (santad writes the message before it hands the line to its log writer).
on_terminal() { # PROGRAM
	python3 - "$1" "$work/santa.log" <<'PY'
import fcntl, os, pty, select, sys, termios, time
prog, log = sys.argv[1], sys.argv[2]
master, slave = pty.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.execv("/bin/sh", ["sh", "-c", '"$0" x; echo "EXIT $?"; sleep 30', prog])
os.close(slave)
out = b""
deadline = time.time() + 20
def denied_logged():
    try:
        return any(("decision=DENY" in l and ("path=" + prog.encode("unicode_escape").decode()) in l)
                   or ("decision=DENY" in l and "EXIT" in out.decode(errors="replace"))
                   for l in open(log, errors="replace"))
    except FileNotFoundError:
        return False
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.1)
    if r:
        try:
            out += os.read(master, 65536)
        except OSError:
            break
    if b"EXIT" in out and denied_logged():
        # One more look: anything already written is in the pty by now.
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            out += os.read(master, 65536)
        break
os.kill(pid, 9)
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
PY
}

out=$(on_terminal "$mnt/blocked")
check "the terminal shows Santa's block message" grep -q "Santa" <<< "$out"
check "with the banned-binary text" grep -q "because it has been deemed malicious" <<< "$out"
check "the path" grep -q "Path: .* $mnt/blocked" <<< "$out"
check "the identifier" grep -q "Identifier:.* $blocked_sha" <<< "$out"
check "and the parent (the shell)" grep -Eq "Parent: .* sh \([0-9]+\)" <<< "$out"
check "the shell still got EPERM" grep -q "Operation not permitted" <<< "$out"

out=$(on_terminal "$mnt/$evil_name")
check "a name with an escape sequence is shown escaped" grep -qF 'evil\x1B[2Jname' <<< "$out"
# (The shell's own error message shows the name as it is: only Santa's lines count.)
check "and its escape sequence never reaches the terminal from Santa" \
	test "$(grep -E "Path:|Santa" <<< "$out" | grep -c $'\033\\[2J')" -eq 0

santa_write_config MONITOR "EnableSilentTTYMode = true" "${rule[@]}"
kill -HUP "$pid"
wait_or_die 30 "santad reloaded its configuration" grep -q "configuration reloaded" "$work/santad.err"
cp "$work/blocked-code" "$mnt/blocked-silent"
chmod 0755 "$mnt/blocked-silent"
out=$(on_terminal "$mnt/blocked-silent")
check "EnableSilentTTYMode: denied (EPERM) ..." grep -q "Operation not permitted" <<< "$out"
check "... and nothing from Santa on the terminal" test "$(grep -c "Identifier:" <<< "$out")" -eq 0
check_finish tty
