# The class C attacker against merged execs (tests/adversarial/lease_merged.sh),
# run as the attacking user: identical execs of one file while santad decides
# it are merged into one job, and santad keeps the file's read lease after
# the answer until the execs it follows settle. Had it followed only some of
# them, the others kept from their exec point would let a writer in: the
# followed ones settle, the lease goes, the writer puts EVIL's bytes over
# the file and closes it, and the starved execs then run them.
#
# An attempt: BIG gets PRISTINE's bytes back (a new key: not cached), then
# EXECS children exec it one after the other, each seen blocked inside execve
# (waiting for santad) before the next starts, so that they are merged in a
# known order: santad's job keeps its first exec and its merged ones newest
# first. The first and the last FAST are normal tasks; the ones in between
# are made SCHED_IDLE and moved to one CPU where hogs start once all of them
# wait (an idle task there waits long for the CPU). As soon as the first
# child leaves its wait (santad answered), the writer opens BIG for writing,
# writes EVIL at its start and closes it.
#
# The scheduler now and then runs a starved child at once when it is woken
# (the lag it was owed when made idle is scaled up with its weight): it goes
# past its exec point before the writer comes, and keeps writers out
# (ETXTBSY) while it runs, starved. Such an attempt proves nothing either way
# and is not counted: attempts go on until WANT writes went in at the first
# try (a "clean" attempt: no exec past its exec point before the writer), or
# MAX attempts were made, or 45 s went by.
#
# With OTHER and its bytes OTHER_PRISTINE (another allowlisted program): once
# santad answered, a normal task execs OTHER (rewritten first: decided afresh) and
# waits until santad answered it too, before the writer comes. santad then
# holds two files' leases at once; had it room for only one, OTHER's would
# push BIG's out and the writer would go in while the starved execs wait.
# usage: rewrite_merged.py BIG PRISTINE EVIL MAX WANT EXECS FAST [OTHER OTHER_PRISTINE]
# Prints "RAN EVIL_EXECS CLEAN BUSY MISSED": clean attempts in which the new
# code ran, execs that ran it, clean attempts, attempts whose writer was
# refused (ETXTBSY), attempts not played (a child not seen waiting, or
# santad's answer not seen).
import errno
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # nothing written beside the sources
from class_c import exec_child, read_all, state  # noqa: E402

big, pristine, evil_path = sys.argv[1:4]
attempts, want, execs, fast = (int(a) for a in sys.argv[4:8])
other, other_bytes = None, b""
if len(sys.argv) > 9:
    other = sys.argv[8]
    other_bytes = open(sys.argv[9], "rb").read()
evil = open(evil_path, "rb").read()
BUDGET_SEC = 45  # no attempt starts after that
pristine_bytes = open(pristine, "rb").read(1 << 20)
pristine_size = os.stat(pristine).st_size


def wait_state(pid, want, seconds, pause=0):
    """Polls (bounded) until pid's state is in want (None: gone)."""
    limit = time.monotonic() + seconds
    while time.monotonic() < limit:
        s = state(pid)
        if s in want:
            return True
        if s in (None, "Z") and None not in want:
            return False
        if pause:
            time.sleep(pause)
    return False


def restore(path):
    """PRISTINE's bytes (its start and its holes) back in PATH: a new mtime, not cached."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, pristine_bytes)
    os.ftruncate(fd, pristine_size)
    os.close(fd)


# The starved execs and the hogs share one CPU (none idle there to escape to);
# the writer and the execs that run at once use the others.
cpus = sorted(os.sched_getaffinity(0))
starve_cpu = {cpus[0]}
other_cpus = set(cpus[1:]) or starve_cpu
os.sched_setaffinity(0, other_cpus)
hogs = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        os.sched_setaffinity(0, starve_cpu)
        os.kill(os.getpid(), signal.SIGSTOP)  # until the execs wait
        while True:
            pass
    hogs.append(pid)
ran = evil_execs = clean = busy = missed = 0
budget = time.monotonic() + BUDGET_SEC
try:
    for attempt in range(attempts):
        if clean >= want or time.monotonic() > budget:
            break
        restore(big)
        r, w = os.pipe()
        kids = []
        played = True
        for i in range(execs):
            pid = exec_child(big, w, (r,))
            kids.append(pid)
            # Blocked ("D": a permission event waits killable) inside its execve.
            if not wait_state(pid, ("D",), 5, 0.0005):
                played = False
                break
            if 0 < i < execs - fast:
                os.sched_setaffinity(pid, starve_cpu)
                os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
        os.close(w)
        if played:
            for h in hogs:
                os.kill(h, signal.SIGCONT)
            # santad answered: the first child is no longer waiting.
            played = wait_state(kids[0], ("R", "S", "Z", None), 30)
        if played and other:
            fd = os.open(other, os.O_WRONLY | os.O_TRUNC)
            os.write(fd, other_bytes)
            os.close(fd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            pid = exec_child(other, devnull, (r,))
            os.close(devnull)
            # Answered: gone, or past its execve (running OTHER: its exe).
            played = wait_state(pid, (None, "Z"), 30, 0.0005)
            os.waitpid(pid, 0)
        if played:
            try:
                fd = os.open(big, os.O_WRONLY)  # with the defence: waits until every exec settled
                os.pwrite(fd, evil, 0)
                os.close(fd)
                clean += 1
            except OSError as e:
                if e.errno != errno.ETXTBSY:
                    raise
                busy += 1
        else:
            missed += 1
        for h in hogs:
            os.kill(h, signal.SIGSTOP)
        out = read_all(r)
        for pid in kids:
            os.waitpid(pid, 0)
        n = out.count(b"EVIL-RAN")
        evil_execs += n
        ran += 1 if n else 0
finally:
    for pid in hogs:
        os.kill(pid, signal.SIGKILL)
        os.kill(pid, signal.SIGCONT)
        os.waitpid(pid, 0)
print(ran, evil_execs, clean, busy, missed)
