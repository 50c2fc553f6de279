#!/usr/bin/env bash
# Each helper santad starts is a process no other one can look into or
# signal (issue 25, item 3). Played by nobody (uid 65534, what the helpers
# ran as before) and by the other helpers' users: none may read a helper's
# /proc/PID/mem or /proc/PID/environ, nor signal it; a helper's own uid may
# not read its memory either (it makes itself undumpable). santad runs them
# as three distinct users and refuses root, nobody, a user another helper
# has, or a user that does not exist.
# usage: helper_identity.sh SANTAD HELPER_DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
helpers=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"

source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"

# The helpers run as their own users, who may not reach the build tree: copies under $work.
santa_install_bins "$work/libexec" "$helpers"
helpers=$work/libexec

prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_config() { # extra lines
	{
		santa_test_config
		echo "HelperDirectory = $helpers"
		echo "MachineID = m"
		# Unreachable: the sync service starts, fails its syncs and waits.
		echo "SyncBaseURL = http://127.0.0.1:9/"
		echo "MetricPrometheusPort = $prom_port"
		echo "BundleServiceIdleSec = 600"
		printf '%s\n' "$@"
	} > "$work/santa.conf"
	chmod 0644 "$work/santa.conf"
}
write_config
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

# The bundle service starts on demand: a client knocking on its socket.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' \
	"$work/run/santabundleservice.sock"
sync_pid= metric_pid= bundle_pid=
all_running() {
	sync_pid=$(pgrep -f "^santasyncservice" -P "$pid") &&
		metric_pid=$(pgrep -f "^santametricservice" -P "$pid") &&
		bundle_pid=$(pgrep -f "^santabundleservice" -P "$pid")
}
wait_or_die 30 "santad runs its three helpers" all_running
declare -A user_of=([$sync_pid]=_santasync [$metric_pid]=_santametric [$bundle_pid]=_santabundle)
declare -A name_of=([$sync_pid]=santasyncservice [$metric_pid]=santametricservice
	[$bundle_pid]=santabundleservice)
# A helper is not dumpable only once its main ran: santad logs "ready" lines for each.
wait_or_die 30 "the helpers got past their start" bash -c \
	"grep -q 'santasyncservice.*ready' '$work/santad.err' && grep -q 'santametricservice.*ready' '$work/santad.err' &&
	 grep -q 'santabundleservice.*ready' '$work/santad.err'"

uids=
for p in "$sync_pid" "$metric_pid" "$bundle_pid"; do
	u=$(stat -c %u "/proc/$p")
	uids="$uids $u"
	check "${name_of[$p]} runs as ${user_of[$p]} (uid $u, not root, not nobody)" \
		bash -c "[ '$(stat -c %U "/proc/$p")' = '${user_of[$p]}' ] && [ $u -ne 0 ] && [ $u -ne 65534 ]"
done
check "the three helpers have three distinct uids ($uids)" \
	test "$(tr ' ' '\n' <<< "$uids" | sed '/^$/d' | sort -u | wc -l)" -eq 3
check "santabundleservice keeps CAP_DAC_READ_SEARCH, CAP_SETUID, CAP_SETGID and nothing more" \
	grep -q "^CapPrm:[[:space:]]*00000000000000c4$" "/proc/$bundle_pid/status"
check "none of them effective in its main thread" \
	grep -q "^CapEff:[[:space:]]*0000000000000000$" "/proc/$bundle_pid/status"
for p in "$sync_pid" "$metric_pid"; do
	check "${name_of[$p]} has no capabilities" \
		grep -q "^CapEff:[[:space:]]*0000000000000000$" "/proc/$p/status"
done

# The attack, as USER against each PID: read its memory (where its stack is),
# its environment, and signal it (signal 0: the same permission check as a
# SIGKILL, without the harm). Prints "mem=... environ=... kill=..." per pid,
# each "ok" or the errno's name.
attack() { # USER PID...
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- /usr/bin/python3 - "$@" <<'PY'
import errno, os, sys
def name(e): return errno.errorcode.get(e.errno, str(e.errno))
for pid in map(int, sys.argv[1:]):
    out = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            start = next(int(l.split("-")[0], 16) for l in f if "[stack]" in l)
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
        try:
            out.append("mem=ok" if len(os.pread(fd, 64, start)) > 0 else "mem=empty")
        finally:
            os.close(fd)
    except OSError as e:
        out.append("mem=" + name(e))
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            out.append("environ=ok" if f.read() else "environ=empty")
    except OSError as e:
        out.append("environ=" + name(e))
    try:
        os.kill(pid, 0)
        out.append("kill=ok")
    except OSError as e:
        out.append("kill=" + name(e))
    print(" ".join(out))
PY
}
denied() { # "mem=... environ=... kill=...": every part refused
	[[ $1 =~ ^mem=(EACCES|EPERM)\ environ=(EACCES|EPERM)\ kill=EPERM$ ]]
}
# Proof the probe itself works: root reads a helper's memory and environment.
out=$(attack root "$sync_pid" || true)
check "the probe works: root reads santasyncservice's memory and environment ($out)" \
	test "$out" = "mem=ok environ=ok kill=ok"
for p in "$sync_pid" "$metric_pid" "$bundle_pid"; do
	out=$(attack nobody "$p" || true)
	check "nobody cannot read ${name_of[$p]}'s memory or environment, nor signal it ($out)" denied "$out"
done
# Another helper's user: a compromised metric service against the others, and back.
for pair in "_santametric $sync_pid" "_santametric $bundle_pid" "_santasync $metric_pid" \
	"_santabundle $sync_pid"; do
	set -- $pair
	out=$(attack "$1" "$2" || true)
	check "$1 cannot read ${name_of[$2]}'s memory or environment, nor signal it ($out)" denied "$out"
done
# Its own uid (a process the helper itself might start, or a bug that let one in):
# the memory stays closed, since the helper made itself undumpable.
for p in "$sync_pid" "$metric_pid"; do
	out=$(attack "${user_of[$p]}" "$p" || true)
	check "${user_of[$p]} itself cannot read ${name_of[$p]}'s memory or environment ($out)" \
		bash -c "[[ '$out' =~ ^mem=(EACCES|EPERM)\ environ=(EACCES|EPERM)\  ]]"
done

# ---- identities santad refuses (after SIGHUP, the helpers start again with the new users) ----
# The sync service given the metric service's user: both are refused.
write_config "SyncServiceUser = _santametric" "BundleServiceUser = root"
kill -HUP "$pid"
check_eventually "a helper user shared with another helper is refused" 30 \
	grep -q "santasyncservice: not started: SyncServiceUser = _santametric has the uid of santametricservice's user" "$work/santad.err"
check_eventually "... for both helpers" 30 \
	grep -q "santametricservice: not started: MetricServiceUser = _santametric has the uid of santasyncservice's user" "$work/santad.err"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' \
	"$work/run/santabundleservice.sock" 2> /dev/null || true
check_eventually "root is refused" 30 \
	grep -q "santabundleservice: not started: BundleServiceUser = root is root's uid" "$work/santad.err"
# Refused, not run as someone else: no helper of santad's runs now (the old
# ones were stopped for the reload before the refusals above were logged).
check "no helper runs as root or a shared user" bash -c "! pgrep -P $pid"

write_config "SyncServiceUser = _santa-no-such-user" "MetricServiceUser = nobody"
kill -HUP "$pid"
check_eventually "nobody is refused" 30 \
	grep -q "santametricservice: not started: MetricServiceUser = nobody is nobody" "$work/santad.err"
check_eventually "a user that does not exist is refused (no fallback to nobody)" 30 \
	grep -q "santasyncservice: not started: there is no user '_santa-no-such-user'" "$work/santad.err"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' \
	"$work/run/santabundleservice.sock" 2> /dev/null || true
check_eventually "while the bundle service starts again, as its own user" 30 \
	bash -c "p=\$(pgrep -f '^santabundleservice' -P $pid) && [ \"\$(stat -c %U /proc/\$p)\" = _santabundle ]"
check "and neither the sync nor the metric service runs" \
	bash -c "! pgrep -f '^santa(sync|metric)service' -P $pid"

# With its capability the bundle service is a secure exec, which clears the
# parent-death signal santad set: it must still follow santad (its channel closes).
bundle_pid=$(pgrep -f '^santabundleservice' -P "$pid" || true)
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
pid=
if [ -n "$bundle_pid" ]; then
	check_eventually "the bundle service exits when santad is killed" 30 \
		bash -c "! kill -0 $bundle_pid 2>/dev/null"
else
	fail "the bundle service exits when santad is killed (no bundle service to watch)"
fi
check_finish helper_identity
