# Sourced at the top of a test or benchmark script that runs santad for real:
#   source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
# It re-runs the script in its own mount namespace, makes $work (a temporary
# directory) with a private tmpfs at $work/mnt for santad to mark with
# FAN_MARK_MOUNT, and on exit kills santad ($pid, if set), unmounts and
# removes everything. Nothing outside $work/mnt is ever watched. Not root:
# the script is skipped (exit 77), and fails under CI (tests/lib/skip.sh).
source "$(dirname "${BASH_SOURCE[0]}")/skip.sh"
source "$(dirname "${BASH_SOURCE[0]}")/helper_users.sh"
if [ "$(id -u)" -ne 0 ]; then
	santa_skip "needs root (fanotify, mount namespaces, dropping helpers to their users)"
fi
# The package test leaves them to the package (SANTA_PACKAGE_MAKES_USERS=1).
if [ "${SANTA_PRIVATE_NS:-}" != 1 ] && [ "${SANTA_PACKAGE_MAKES_USERS:-}" != 1 ]; then
	santa_helper_users || exit 1
fi
if [ "${SANTA_PRIVATE_NS:-}" != 1 ]; then
	# Where / is not a mount point (a chroot) private propagation cannot be set;
	# the test mount is then made private by itself below.
	santa_prop=private
	unshare -m --propagation private true 2> /dev/null || santa_prop=unchanged
	SANTA_PRIVATE_NS=1 exec unshare -m --propagation "$santa_prop" "$0" "$@"
fi

work=$(mktemp -d /tmp/santa-test-XXXXXX)
pid=
santa_cleanup() {
	# santad must never outlive the script: it would keep enforcing and hold the
	# caller's pipes. A failure here must not turn a pass into a failure.
	set +e
	[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null
	awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r |
		while read -r m; do umount "$m"; done
	rm -rf "$work"
}
trap santa_cleanup EXIT
# quiet/: santad watches the parent of a missing dpkg or apt directory (to see
# it appear), and reloads its package view (flushing decisions and marks) at
# any change there: nothing is ever written in it.
mkdir -p "$work/mnt" "$work/state" "$work/quiet"
mount -t tmpfs -o mode=0755 tmpfs "$work/mnt"
mount --make-private "$work/mnt"

# The configuration lines every test shares: only the private mount is
# watched; state, log and sockets live in $work; no dpkg database (the
# machine's packages are package_trust.sh's business). Tests add their own keys.
santa_test_config() {
	cat <<CONF
WatchPaths = $work/mnt
WatchMarkType = mount
RulesDBPath = $work/state/rules.db
EventsDBPath = $work/state/events.db
SyncStatePath = $work/state/sync-state.json
EventLogPath = $work/santa.log
RunDirectory = $work/run
PackageTrustDpkgDir = $work/quiet/no-dpkg
PackageTrustAptListsDir = $work/quiet/no-apt-lists
PackageTrustCachePath = $work/state/package-view.cache
CONF
}

# santa_write_config MODE [LINE...]: $work/santa.conf with ClientMode, the
# shared lines, SantactlPath = $santactl when the script set one, then LINEs.
santa_write_config() {
	local mode=$1
	shift
	{
		echo "ClientMode = $mode"
		santa_test_config
		[ -z "${santactl:-}" ] || echo "SantactlPath = $santactl"
		printf '%s\n' "$@"
	} > "$work/santa.conf"
}

# Starts santad ($1) on $work/santa.conf in the background, its stderr in
# $work/santad.err, and waits until it says it is ready; sets $pid. A santad
# that dies or stays silent for 60 s (an ASan build on a loaded machine is
# slow to start; a healthy one says ready in well under a second) ends the
# script with its log.
santa_start_santad() {
	local deadline
	: > "$work/santad.err"
	"$1" --config "$work/santa.conf" 2> "$work/santad.err" < /dev/null > /dev/null &
	pid=$!
	deadline=$((${EPOCHREALTIME/./} + 60000000))
	while [ "${EPOCHREALTIME/./}" -lt "$deadline" ]; do
		grep -q "ready" "$work/santad.err" && return 0
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.05
	done
	cat "$work/santad.err"
	echo "santad did not start"
	exit 1
}

# santa_umount PATH: unmounts a test filesystem santad has just decided an
# exec on. santad may still hold the event's fd for a moment after the kernel
# got its answer (the job is closed on its loop), so "busy" is retried for a
# while before it counts.
santa_umount() {
	wait_until 30 umount "$1" 2> /dev/null || umount "$1"
}

# santa_bpf_loads SANTAD PROGRAM: whether the kernel takes santad's BPF program
# PROGRAM (anon_exec, exec_info), asked apart from santad: bpftool loads the
# object santad was built with (some kernels refuse some program types even
# to root). Tests use it to know what santad must report.
santa_bpf_loads() {
	local obj
	obj=$(dirname "$1")/bpf/$2.bpf.o
	[ -f "$obj" ] && command -v bpftool > /dev/null || return 1
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2> /dev/null || true
	bpftool prog load "$obj" "/sys/fs/bpf/santa-probe-$$" 2> /dev/null || return 1
	rm -f "/sys/fs/bpf/santa-probe-$$"
}
