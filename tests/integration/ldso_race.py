#!/usr/bin/env python3
# The loader given a file whose first byte is not ELF's when it opens it, made
# an ELF program by a writer right after (before the loader reads it): each try
# a new file (no cache, no mark), the loader at SCHED_IDLE so the writer tends
# to win, after a random short spin. Prints how many tries ran the program.
# With --read-first, the file is read once before (santad may then stop
# asking about its opens: a user's file no loader can run, under a lease).
# usage: ldso_race.py [--read-first] PROGRAM DIR TRIES   (PROGRAM exits 0 when it runs)
import os
import random
import sys

LOADER = "/lib64/ld-linux-x86-64.so.2"

read_first = sys.argv[1] == "--read-first"
if read_first:
    del sys.argv[1]
src, dirname, tries = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f:
    body = f.read()
ran = 0
for i in range(tries):
    path = "%s/x%d" % (dirname, i)
    with open(path, "wb") as f:
        f.write(b"X" + body[1:])
    os.chmod(path, 0o755)
    if read_first:
        with open(path, "rb") as f:
            f.read()
    pid = os.fork()
    if pid == 0:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.execv(LOADER, [LOADER, path])
        finally:
            os._exit(99)
    for _ in range(random.randrange(3000)):
        pass
    fd = os.open(path, os.O_WRONLY)
    os.pwrite(fd, b"\x7f", 0)
    os.close(fd)
    _, st = os.waitpid(pid, 0)
    ran += os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0
    os.unlink(path)
print(ran)
