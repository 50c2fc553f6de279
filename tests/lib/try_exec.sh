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
def child(run):  # run() execs in a forked child; "denied" only when the exec said EPERM
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # what it prints is not the answer
        try:
            run()
        except OSError as e:
            os._exit(126 if e.errno == errno.EPERM else 125)  # EACCES (no x bit...) is no denial
        os._exit(127)
    _, st = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(st)
    print("denied" if code == 126 else "ran" if code == 0 else "error: exit %d" % code)
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
except OSError as e:
    print("denied" if e.errno == errno.EPERM else "error: %s" % e)
PY
}

# The programs the rows try, in $mnt and $work: blocked (a copy of echo),
# blocked.sh (a script), and two programs of the same size, mm-allowed and
# mm-blocked, the second being what a shared writable mmap turns the first
# into (no write(), no truncate: no modify event at all). Sets blocked_sha,
# script_sha and mm_blocked_sha.
bypass_fixtures() {
	cp /bin/echo "$mnt/blocked"
	blocked_sha=$(sha256sum "$mnt/blocked" | cut -d' ' -f1)
	printf '#!/bin/sh\necho script-ran\n' > "$mnt/blocked.sh"
	chmod 0755 "$mnt/blocked.sh"
	script_sha=$(sha256sum "$mnt/blocked.sh" | cut -d' ' -f1)
	{ cat /bin/true; head -c 16 /dev/zero; } > "$work/mm-allowed"
	{ cat /bin/true; head -c 15 /dev/zero; printf '\001'; } > "$work/mm-blocked"
	chmod 0755 "$work/mm-allowed" "$work/mm-blocked"
	mm_blocked_sha=$(sha256sum "$work/mm-blocked" | cut -d' ' -f1)
}

# Rewrites FILE in place through a shared writable mmap with the bytes of FROM (same size).
mmap_rewrite() { # FILE FROM
	python3 - "$1" "$2" <<'PY'
import mmap, os, sys
data = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, len(data), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[:] = data
m.close()
os.close(fd)
PY
}
