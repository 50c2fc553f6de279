# Sourced by the bypass matrix (tests/integration/bypass.sh) and its fapolicyd
# run (bench/bypass_fapolicyd.sh): one way to try each row, so both columns
# come from the same attempts.
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
    elif how == "ldso":  # the dynamic loader run as the program, the target its argument
        import subprocess
        loader = os.environ.get("LOADER", "/lib64/ld-linux-x86-64.so.2")
        p = subprocess.run([loader, target, "x"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if p.returncode == 0:
            print("ran")
        elif b"Operation not permitted" in p.stderr:
            print("denied")
        else:
            print("error: %d %s" % (p.returncode, p.stderr.decode(errors="replace").strip()))
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
