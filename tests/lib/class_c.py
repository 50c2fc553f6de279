# Shared by the class C attackers (rewrite_race.py, rewrite_starved.py,
# rewrite_merged.py): the exec'ing child, a look at its state, its output.
import os


def state(pid):
    """The task state letter of /proc/PID/stat (readable by anyone), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def exec_child(path, w, close=()):
    """A child that execs PATH EVIL-RAN, its output into w ("EXEC-ERRNO n" if refused)."""
    pid = os.fork()
    if pid == 0:
        for fd in close:
            os.close(fd)
        os.dup2(w, 1)
        os.dup2(w, 2)
        try:
            os.execv(path, [path, "EVIL-RAN"])
        except OSError as e:
            os.write(2, b"EXEC-ERRNO %d\n" % e.errno)
        os._exit(127)
    return pid


def read_all(r):
    """Everything until every writer closed; r is closed."""
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    return out
