#!/usr/bin/env bash
# A user's write lease against santad's readers. The fd each fanotify event
# brings is opened by the kernel for santad; on a file a user holds a write
# lease on, that open would wait for the user to let go (up to the kernel's
# lease-break-time, 45 s), and every open and exec on the watched filesystem
# behind it. Played as nobody: a write lease on a file of theirs, then an open
# of it (asked about by the loader check) and an exec of it (asked about by
# the exec group), while root reads a file and runs a new program on the same
# filesystem. Both of root's must complete while the lease is still held
# (the attacker writes a marker only when it lets go, 20 s later).
# usage: lease_stall.sh SANTAD SANTACTL   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
chmod 0755 "$work"
mnt=$work/mnt
mkdir "$mnt/home" "$work/marks"
chown 65534:65534 "$mnt/home" "$work/marks"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

santa_write_config MONITOR
santa_start_santad "$santad"

for how in open exec; do
	rm -f "$work/marks/released-$how" "$work/marks/leased-$how"
	{ cat /bin/true; printf '%s' "$how"; } > "$mnt/home/leased-$how"
	chown 65534:65534 "$mnt/home/leased-$how"
	chmod 0755 "$mnt/home/leased-$how"
	as_nobody /usr/bin/python3 - "$mnt/home/leased-$how" "$how" "$work/marks" <<'PY' &
import fcntl, os, signal, subprocess, sys, time
path, how, work = sys.argv[1:4]
signal.signal(signal.SIGIO, signal.SIG_IGN)
fd = os.open(path, os.O_RDONLY)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
# The open (or exec) santad is asked about, in a child: it may wait or be refused.
# (santad cannot open a leased file without waiting: it refuses the exec, EPERM.)
try:
    child = subprocess.Popen(["/bin/cat", path] if how == "open" else [path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
except OSError:
    child = None
open(os.path.join(work, "leased-" + how), "w").close()
time.sleep(20)
fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
open(os.path.join(work, "released-" + how), "w").close()
if child:
    child.wait()
PY
	attacker=$!
	wait_or_die 30 "nobody holds the lease ($how)" test -e "$work/marks/leased-$how"
	# Root's own work on the watched filesystem, files santad has not seen yet.
	echo "root's data" > "$mnt/root-file-$how"
	{ cat /bin/true; printf 'root-%s' "$how"; } > "$mnt/root-prog-$how"
	chmod 0755 "$mnt/root-prog-$how"
	cat "$mnt/root-file-$how" > /dev/null
	"$mnt/root-prog-$how"
	check "($how) root read a file and ran a new program while nobody's lease was still held" \
		test ! -e "$work/marks/released-$how"
	wait "$attacker" || true
done

check_finish lease_stall
