# The class C attacker (tests/adversarial/rewrite.sh, bench/attack_latency.sh),
# run as the attacking user: copies PRISTINE (an allowlisted program) over
# BIG, execs BIG in a child, and while santad hashes it opens BIG for writing,
# puts EVIL's bytes over its start and closes it; then sees whether EVIL's
# code ran (it prints the "EVIL-RAN" argument; the allowlisted program does not).
# usage: rewrite_race.py BIG PRISTINE EVIL ATTEMPTS [STATS]
#   ATTEMPTS 0: until killed. Prints "RAN WROTE BUSY" at the end. With STATS,
#   STATS says after each race how far it got, and STATS.ran lists each race
#   whose new code ran.
import errno
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True  # nothing written beside the sources
from class_c import exec_child, read_all  # noqa: E402

big, pristine, evil_path, attempts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
stats = sys.argv[5] if len(sys.argv) > 5 else None
evil = open(evil_path, "rb").read()
ran = wrote = busy = i = 0
failed = {}
while attempts == 0 or i < attempts:
    shutil.copyfile(pristine, big)
    r, w = os.pipe()
    pid = exec_child(big, w, (r,))
    os.close(w)
    delay = 0.05 + 0.05 * (i % 6)
    time.sleep(delay)  # attack timing: santad is hashing by now
    try:
        fd = os.open(big, os.O_WRONLY)  # with the defence: waits until santad answered
        os.pwrite(fd, evil, 0)
        os.close(fd)
        wrote += 1
    except OSError as e:
        if e.errno != errno.ETXTBSY:
            raise
        busy += 1  # the exec already holds writers off
    os.waitpid(pid, 0)
    out = read_all(r)
    i += 1
    if b"EXEC-ERRNO" in out:
        name = errno.errorcode.get(int(out.split()[-1]), "?")
        failed[name] = failed.get(name, 0) + 1
    if b"EVIL-RAN" in out:
        ran += 1
        if stats:
            with open(stats + ".ran", "a") as f:
                f.write("race %d (rewrite %.2f s after the exec began) at %s\n" % (i, delay, time.strftime("%H:%M:%S")))
    if stats:
        with open(stats + ".tmp", "w") as f:
            f.write("%d races: rewrite went in %d, refused %d (ETXTBSY), the new code ran %d times, exec failed %s\n" % (
                i, wrote, busy, ran, " ".join("%d (%s)" % (n, e) for e, n in failed.items()) or "0"))
        os.rename(stats + ".tmp", stats)
print(ran, wrote, busy)
