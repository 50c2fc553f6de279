#!/usr/bin/env bash
# Issue class C: the bytes santad hashes are the bytes the exec runs. Played as
# nobody against santad in LOCKDOWN: a large program with an ALLOWLIST rule
# (/bin/true padded to 300 MB: hashing it takes a while) is exec'd, and while
# santad hashes it nobody opens it for writing, puts another program's code
# (/bin/echo) over its first bytes (already hashed) and closes it before the
# answer. The kernel refuses writers only after santad answers, so without a
# defence the new code runs as the allowlisted program (ALLOW|BINARY).
# usage: rewrite.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
mkdir "$mnt/home"
chown 65534:65534 "$mnt/home"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

as_nobody cp /bin/true "$mnt/home/pristine"
as_nobody truncate -s 300M "$mnt/home/pristine"
as_nobody cp "$mnt/home/pristine" "$mnt/home/big"
big_sha=$(sha256sum < "$mnt/home/pristine" | cut -d' ' -f1)
# A small allowlisted program for the races after the answer (quick to hash).
as_nobody cp /bin/true "$mnt/home/small-pristine"
as_nobody truncate -s 4M "$mnt/home/small-pristine"
as_nobody cp "$mnt/home/small-pristine" "$mnt/home/small"
small_sha=$(sha256sum < "$mnt/home/small-pristine" | cut -d' ' -f1)
cp /bin/echo "$work/evil-code"
chmod 0644 "$work/evil-code"

# A long deadline: the race is with the hash, not with the deadline.
santa_write_config LOCKDOWN "DecisionTimeoutMs = 60000" "EnableLoaderCheck = false" \
	"[StaticRule:big]" "identifier = $big_sha" "rule_type = BINARY" "policy = ALLOWLIST" \
	"[StaticRule:small]" "identifier = $small_sha" "rule_type = BINARY" "policy = ALLOWLIST"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

out=$(as_nobody "$mnt/home/big" EVIL-RAN 2>&1) && st=0 || st=$?
check "the allowlisted 300 MB program runs untouched (exit $st)" test "$st" -eq 0 -a -z "$out"

# The attack, in one process as nobody: exec in a child, wait until santad is
# well into the hash (the first bytes are hashed), overwrite them, close.
attempts=6
result=$(as_nobody /usr/bin/python3 "$here/../lib/rewrite_race.py" "$mnt/home/big" "$mnt/home/pristine" \
	"$work/evil-code" "$attempts")
read -r ran wrote busy <<< "$result"
echo "# $attempts attempts: the rewrite went in $wrote times, was refused (ETXTBSY) $busy times"
check "code written over an allowlisted program while santad hashed it never ran ($ran of $attempts ran)" \
	test "$ran" -eq 0
check "every attempt tried its rewrite ($((wrote + busy)) of $attempts)" test $((wrote + busy)) -eq "$attempts"

# After the answer: the exec'ing child kept from running (SCHED_IDLE beside
# CPU hogs) between santad's answer and the point where the kernel refuses
# writers, the writer opening at once. santad keeps its read lease until
# the exec holds writers off (or failed, or its process is gone), for a
# first decision and for a cached one alike (src/santad/lease_hold.h).
for mode in fresh cached; do
	attempts=$([ "$mode" = cached ] && echo 60 || echo 20)
	result=$(as_nobody /usr/bin/python3 "$here/../lib/rewrite_starved.py" "$mnt/home/small" \
		"$mnt/home/small-pristine" "$work/evil-code" "$attempts" "$mode")
	read -r ran wrote busy missed <<< "$result"
	echo "# $mode, after the answer: $attempts attempts, the exec seen waiting in $((attempts - missed)); the rewrite went in $wrote times, refused (ETXTBSY) $busy times"
	check "$mode: code written over an allowlisted program between santad's answer and the exec never ran ($ran of $attempts ran)" \
		test "$ran" -eq 0
	check "$mode: every attempt tried its rewrite ($((wrote + busy)) of $attempts)" test $((wrote + busy)) -eq "$attempts"
	# A cached answer is quick: the race is only run when the exec was seen waiting.
	[ "$mode" = fresh ] || check "cached: the writer came while the exec waited ($((attempts - missed)) of $attempts)" \
		test $((attempts - missed)) -ge 2
done

# Not an attack: a writer that still holds the file open when the exec starts
# (a build's stray fd across a fork) and closes it a moment later. santad waits
# for it rather than hash bytes that may change, and the exec runs.
st=$(as_nobody /usr/bin/python3 - "$mnt/home/big" "$mnt/home/pristine" <<'PY2'
import os, shutil, sys, time
big, pristine = sys.argv[1], sys.argv[2]
shutil.copyfile(pristine, big)
fd = os.open(big, os.O_WRONLY)
pid = os.fork()
if pid == 0:
    os.close(fd)  # only the parent writes
    try:
        os.execv(big, [big])
    except OSError:
        os._exit(126)
time.sleep(0.3)  # the exec is waiting for santad by now
os.close(fd)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
PY2
)
check "an exec started while a writer still had the file open runs once it closed (exit $st)" test "$st" -eq 0

kill "$pid"
st=0
wait "$pid" || st=$?
pid=
check "santad exits 0" test "$st" -eq 0
check_finish rewrite
