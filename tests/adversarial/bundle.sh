#!/usr/bin/env bash
# Issue 25, item 4: santabundleservice against an unprivileged user (nobody,
# uid 65534, through the genuine santactl), santad in MONITOR on a private tmpfs:
#  - /dev/zero and a FIFO are refused at once ("not a regular file"), four at
#    a time jam nothing, and another user's request is still served;
#  - eight long requests of nobody's take two slots, not all eight: another
#    user's request is still served;
#  - a file bigger than the per-request byte budget is refused at once;
#  - a directory nobody cannot read gives no paths and no hashes, and a file
#    nobody cannot read is refused (the walk runs with nobody's identity);
#    a supplementary group's directory is seen by its members;
#  - a directory of a tree swapped for a symlink to a root-only directory
#    between the walk and the hash is not followed, for nobody nor for root;
#  - a client that disconnects takes its (12 GiB) request with it: the
#    hashing thread is gone within seconds;
#  - SIGHUP, or killed santad: the service exits at once, even while hashing.
# usage: bundle.sh SANTAD SANTACTL HELPER_DIR   (as root; exits 77 = skipped otherwise)
set -euo pipefail

santad=$(realpath "$1")
santactl=$(realpath "$2")
helpers=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/private_tmpfs.sh" "$@"
source "$here/../lib/checks.sh"
source "$here/../lib/install_bins.sh"
chmod 0755 "$work"
mnt=$work/mnt

santa_install_bins "$work/libexec" "$helpers"
santa_install_bins "$work/bin" "$santactl"
santactl=$work/bin/santactl

as_user() { # UID CMD...: runs CMD as that uid (no groups)
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
json_field() { # JSON FIELD
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# nobody's own corner: a FIFO, and regular files of holes (a few KB on disk).
mkdir "$mnt/home"
chown 65534:65534 "$mnt/home"
as_user 65534 mkfifo "$mnt/home/fifo"
as_user 65534 truncate -s 12G "$mnt/home/huge"
as_user 65534 truncate -s 17G "$mnt/home/over"

# A tree with a directory and a program only root may read.
apps=$mnt/apps
mkdir -p "$apps/mixed/bin" "$apps/mixed/private"
cp /usr/bin/true "$apps/mixed/bin/tool"
cp /usr/bin/false "$apps/mixed/private/secret"
cp /usr/bin/id "$apps/mixed/bin/rootonly"
chmod 0755 "$apps" "$apps/mixed" "$apps/mixed/bin" "$apps/mixed/bin/tool" "$apps/mixed/private/secret"
chmod 0700 "$apps/mixed/private" "$apps/mixed/bin/rootonly"
# and a directory for group 4343 only: its members' supplementary group opens it.
mkdir "$apps/mixed/team"
cp /usr/bin/yes "$apps/mixed/team/teamtool"
chgrp 4343 "$apps/mixed/team"
chmod 0750 "$apps/mixed/team"
chmod 0755 "$apps/mixed/team/teamtool"
tool_sha=$(sha "$apps/mixed/bin/tool")
secret_sha=$(sha "$apps/mixed/private/secret")
rootonly_sha=$(sha "$apps/mixed/bin/rootonly")

# A tree nobody owns, with programs big enough (holes) to keep every hashing
# thread busy a while, and one small program in a directory to swap.
mkdir "$mnt/secret"
cp /usr/bin/whoami "$mnt/secret/tool"
chmod 0700 "$mnt/secret"
chmod 0755 "$mnt/secret/tool"
swapped_sha=$(sha "$mnt/secret/tool")
threads=$(nproc)
[ "$threads" -le 8 ] || threads=8
make_race_tree() { # DIR
	mkdir -p "$1/sub"
	for i in $(seq 1 "$threads"); do
		cp /usr/bin/true "$1/big$i"
		truncate -s 1G "$1/big$i"
	done
	cp /usr/bin/false "$1/sub/tool"
	chmod -R a+rX "$1"
	chown -R 65534:65534 "$1"
}
make_race_tree "$apps/race"
make_race_tree "$apps/race2"

santa_write_config MONITOR "HelperDirectory = $work/libexec" "BundleRoots = $apps" \
	"BundleServiceIdleSec = 120"
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad "$santad"

bundle_pid() { pgrep -x santabundleserv -P "$pid" || true; }
tasks() { ls "/proc/$1/task" 2> /dev/null | wc -l; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2> /dev/null || echo gone; }
svc_hashing() { [ "$(tasks "$svc")" -ge 2 ]; }   # the main thread and a request's
svc_idle() { [ "$(tasks "$svc")" -eq 1 ]; }
svc_burns() { [ "$(cpu_ticks "$svc")" -gt "$1" ]; }

# A request that answers: the service is there and serves another user.
other_user_served() {
	local out
	out=$(as_user 4242 "$santactl" bundleinfo --json "$apps/mixed/bin/tool" 2> /dev/null) &&
		[ "$(json_field "$out" binary_count)" = 1 ]
}
check "another user's request is served (the service starts)" other_user_served
svc=$(bundle_pid)
check "the service runs" test -n "$svc"

# /dev/zero and a FIFO: refused at once, with the reason; four at a time jam nothing.
refused_fast() { # WHAT PATH TEXT: santactl fails within 10 s saying TEXT
	local start st=0 took
	start=$(now_ms)
	timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$santactl" bundleinfo "$2" > "$work/refused.out" 2>&1 || st=$?
	took=$(($(now_ms) - start))
	echo "# $1: exit $st after $took ms: $(tr '\n' ' ' < "$work/refused.out")"
	check "$1 is refused" test "$st" -ne 0 -a "$st" -ne 124
	check "$1 is refused within 10 s (took $took ms)" test "$took" -lt 10000
	check "$1: the error says why" grep -q "$3" "$work/refused.out"
}
refused_fast "nobody's /dev/zero" /dev/zero "/dev/zero is not a regular file"
refused_fast "nobody's FIFO" "$mnt/home/fifo" "fifo is not a regular file"
refused_fast "nobody's 17 GiB file of holes (over the byte budget)" "$mnt/home/over" "too large"
zeros=()
for i in 1 2 3 4; do
	timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$santactl" bundleinfo /dev/zero > /dev/null 2>&1 &
	zeros+=($!)
done
wait "${zeros[@]}" || true
check "after four of nobody's /dev/zero at once, another user is still served" other_user_served
check "and the service is idle again (its main thread only)" svc_idle

# Eight long requests of nobody's at once (the service's slots): two are taken
# (a user's share), the rest refused, and another user is still served.
longs=()
for i in 1 2 3 4 5 6 7 8; do
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$santactl" bundleinfo \
		"$mnt/home/huge" > "$work/long$i.out" 2>&1 &
	longs+=($!)
done
busy_refusals() { [ "$(cat "$work"/long*.out | grep -c "too many of your bundles")" -ge 6 ]; }
wait_until 30 busy_refusals || true
check "six of nobody's eight long requests are refused at once ('too many of your bundles')" busy_refusals
check "while two of them hash, another user is served" other_user_served
kill "${longs[@]}" 2> /dev/null || true
wait "${longs[@]}" 2> /dev/null || true
check_eventually "and the service is idle again once nobody's clients are gone" 10 svc_idle

# A directory and a file nobody cannot read: no paths, no hashes.
out=$("$santactl" bundleinfo --json "$apps/mixed/bin/tool")
check "root's view of the tree has its four programs" test "$(json_field "$out" binary_count)" = 4
out=$(setpriv --reuid=4242 --regid=4242 --groups=4343 -- "$santactl" bundleinfo --json \
	"$apps/mixed/bin/tool" 2>&1 || true)
check "a member of group 4343 (a supplementary group) sees its directory too" \
	test "$(json_field "$out" binary_count 2>&1)" = 2
out=$(as_user 65534 "$santactl" bundleinfo --json "$apps/mixed/bin/tool" 2>&1 || true)
echo "$out" | sed 's/^/# nobody: /'
check "nobody's view counts only what nobody can read" test "$(json_field "$out" binary_count 2>&1)" = 1
check "nobody's view has the readable program" grep -q "$tool_sha" <<< "$out"
check "nobody learns no path of the closed directory" bash -c "! grep -q private <<< '$out'"
check "nobody learns no hash from the closed directory" bash -c "! grep -q $secret_sha <<< '$out'"
check "nobody learns neither name nor hash of the root-only program" \
	bash -c "! grep -q 'rootonly\|$rootonly_sha' <<< '$out'"
st=0
as_user 65534 "$santactl" bundleinfo --json "$apps/mixed/bin/rootonly" > "$work/rootonly.out" 2>&1 || st=$?
sed 's/^/# nobody asks for the root-only program: /' "$work/rootonly.out"
check "nobody's request for a program only root reads is refused" test "$st" -ne 0
check "with 'Permission denied'" grep -q "Permission denied" "$work/rootonly.out"
check "and without its hash" bash -c "! grep -q $rootonly_sha '$work/rootonly.out'"

# A directory swapped for a symlink once the walk is over: the hashing threads
# are running (tasks: main, the request's thread and its hashers) and busy with
# the big programs, which go first; sub/tool is opened after the swap.
race() { # WHO(uid) TREE
	local uid=$1 tree=$2 client i
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$santactl" bundleinfo --json \
		"$tree/big1" > "$work/race.out" 2> "$work/race.err" &
	client=$!
	# A tight poll of its own: the window is the big programs' hashing time.
	for ((i = 0; i < 6000; i++)); do
		[ "$(tasks "$svc")" -lt 3 ] || break
		sleep 0.01
	done
	if [ "$(tasks "$svc")" -ge 3 ]; then
		mv "$tree/sub" "$tree/sub.real"
		ln -s "$mnt/secret" "$tree/sub"
	fi
	wait "$client" || true
	echo "# uid $uid, swap race: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["binary_count"], [e["path"] for e in d["executables"]])' "$work/race.out" 2>&1)"
	check "uid $uid: the swap happened while hashing (the answer came after it)" test -L "$tree/sub" -a -s "$work/race.out"
	check "uid $uid: the symlink is not followed: no hash of the root-only program" \
		bash -c "! grep -q $swapped_sha '$work/race.out'"
	check "uid $uid: the swapped file is left out ($threads big programs)" \
		test "$(json_field "$(cat "$work/race.out")" binary_count)" = "$threads"
}
race 0 "$apps/race"
race 65534 "$apps/race2"

# A client that goes: its 12 GiB request stops (about 7 s of hashing otherwise).
# setpriv itself, not a subshell: $! is santactl's pid once setpriv execs it.
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$santactl" bundleinfo "$mnt/home/huge" \
	> /dev/null 2>&1 &
client=$!
wait_or_die 30 "nobody's 12 GiB request is being hashed" svc_hashing
wait_or_die 30 "the service burns CPU for it" svc_burns "$(cpu_ticks "$svc")"
kill "$client"
wait "$client" 2> /dev/null || true
killed=$(now_ms)
check_eventually "the disconnected client's hashing thread ends within 2 s" 2 svc_idle
echo "# thread gone $(($(now_ms) - killed)) ms after the client was killed"
t1=$(cpu_ticks "$svc")
wait_until 1 false || true
check "and the service uses no more CPU (ticks $t1 then $(cpu_ticks "$svc") a second later)" \
	test "$(cpu_ticks "$svc")" -le "$((t1 + 1))"
check "the client going was logged" grep -q "the client went away" "$work/santad.err"

# SIGHUP (as santad's reload would) while nobody's request hashes: the service
# stops at once rather than hashing on.
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$santactl" bundleinfo "$mnt/home/huge" \
	> /dev/null 2>&1 &
client=$!
wait_or_die 30 "nobody's 12 GiB request is being hashed (for SIGHUP)" svc_hashing
kill -HUP "$svc"
hupped=$(now_ms)
svc_gone() { [ ! -d "/proc/$svc" ] || grep -q '^State:.*Z' "/proc/$svc/status" 2> /dev/null; }
check_eventually "SIGHUP while hashing: the service exits within 3 s" 3 svc_gone
echo "# gone $(($(now_ms) - hupped)) ms after SIGHUP"
wait "$client" 2> /dev/null || true
check "an exit on SIGHUP is not a crash for santad" \
	bash -c "! grep -q 'santabundleservice.*exited with status\|santabundleservice.*killed' '$work/santad.err'"

# santad killed while nobody's request hashes: the service follows it at once.
# setpriv itself, not a subshell: $! is santactl's pid once setpriv execs it.
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$santactl" bundleinfo "$mnt/home/huge" \
	> /dev/null 2>&1 &
client=$!
svc_started() { [ -n "$(bundle_pid)" ]; }
wait_or_die 30 "a new service is started for nobody's next request" svc_started
svc=$(bundle_pid)
wait_or_die 30 "nobody's 12 GiB request is being hashed again" svc_hashing
kill -9 "$pid"
wait "$pid" 2> /dev/null || true
pid=
killed=$(now_ms)
check_eventually "the service exits within 3 s of santad's death, hashing or not" 3 svc_gone
echo "# gone $(($(now_ms) - killed)) ms after santad"
kill "$client" 2> /dev/null || true
wait "$client" 2> /dev/null || true

check_finish adversarial_bundle
