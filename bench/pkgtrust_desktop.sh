#!/usr/bin/env bash
# santad's package view on a desktop-sized Debian 12 install (issue 21, item 3:
# "memory with every package of a desktop install indexed"). A one-off
# measurement, not a ctest: the tree takes some 30 minutes and 6.4 GB to build
# (2,265 packages).
#
# The tree: debootstrap's default set of bookworm (and the .deb's libraries,
# SANTA_VM_INCLUDE of the pin) plus desktop tasks with their Recommends (apt's
# default), installed in a chroot from Debian's own packages (no service started),
# pinned as tests/vm pins its image: the mirror, suite and InRelease SHA-256 of
# tests/vm/debian-image.pin (the mirror must still serve that InRelease; every
# package version follows from it). Kept in $SANTA_DESKTOP_CACHE/desktop-KEY/
# (KEY: a hash of the pin, the tasks and the recipe) and reused by later runs;
# its package list is written beside it (manifest).
#
# The measurement: santad (a Release build) runs chrooted in that tree, so the
# view it loads is exactly the one it would load on that desktop (dpkg's
# status and info/, apt's lists, the keyrings, every packaged file stat'ed at
# its path), watching only a private tmpfs inside the tree (WatchPaths). It
# starts first with package trust off (EnablePackageTrust = false: RSS
# without a view), then on, four ways: no view cache and the page cache
# dropped (a first boot), no view cache and a warm page cache, the view cache
# and the page cache dropped (a later boot), the view cache warm. For each:
# santactl status --json's load time and the view's memory, and santad's
# VmRSS / VmHWM once the view is loaded; in the last, also once every packaged
# program is verified ahead (the prescan). Then bench/pkgtrust_bench, chrooted too, for the
# view's dpkg/apt split and the cost of decisions of the desktop's programs.
# Dropping the page cache (echo 3 > /proc/sys/vm/drop_caches) affects the
# whole machine for a moment: SANTA_DESKTOP_NO_DROP=1 skips the cold runs.
#
# usage: bench/pkgtrust_desktop.sh [--build-only] [BUILD_DIR]   (as root)
#        BUILD_DIR: a Release build (default build/release): src/santad/santad,
#        src/santactl/santactl, bench/pkgtrust_bench.
# environment: SANTA_DESKTOP_CACHE (default /var/cache/santa-test-desktop);
#        SANTA_DESKTOP_TASKS (default "task-desktop task-gnome-desktop task-kde-desktop":
#        both desktops, for a machine of some 2,000 packages).
# needs: debootstrap curl python3; santad runs on the tree's own libraries
#        (the build must be of this Debian release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
source "$top/tests/vm/debian-image.pin"
build_only=false
[ "${1:-}" != --build-only ] || { build_only=true; shift; }
builddir=${1:-$top/build/release}
[ "$(id -u)" -eq 0 ] || { echo "needs root (debootstrap, chroot, fanotify)" >&2; exit 2; }
tasks=${SANTA_DESKTOP_TASKS:-task-desktop task-gnome-desktop task-kde-desktop}
cache=${SANTA_DESKTOP_CACHE:-/var/cache/santa-test-desktop}
mkdir -p "$cache"
build=

# Runs a command chrooted in $1 with /proc, /sys and /dev mounted, in a
# private mount namespace (nothing stays mounted after it).
in_tree() {
	local root=$1
	shift
	unshare -m --propagation private sh -c 'root=$1; shift; mount -t proc proc "$root/proc" &&
		mount -t sysfs sys "$root/sys" && mount --rbind /dev "$root/dev" && exec chroot "$root" "$@"' \
		sh "$root" "$@"
}

# Builds the tree into the directory $1 (which must not exist yet).
build_tree() {
	local out=$1 root got
	build=$(mktemp -d "$cache/build-XXXXXX")
	root=$build/root
	curl -sSf -o "$build/InRelease" "$SANTA_VM_MIRROR/dists/$SANTA_VM_SUITE/InRelease"
	got=$(sha256sum < "$build/InRelease" | cut -d' ' -f1)
	[ "$got" = "$SANTA_VM_RELEASE_SHA256" ] || {
		echo "the mirror's $SANTA_VM_SUITE InRelease (SHA-256 $got) is not tests/vm/debian-image.pin's ($SANTA_VM_RELEASE_DATE): run tests/vm/update-debian-image-pin.sh" >&2
		exit 1
	}
	echo "tree: debootstrap $SANTA_VM_SUITE ($SANTA_VM_RELEASE_DATE) into $build"
	nice -n 10 debootstrap --arch=amd64 --include="$SANTA_VM_INCLUDE" "$SANTA_VM_SUITE" "$root" \
		"$SANTA_VM_MIRROR" > "$build/debootstrap.log" 2>&1 || { tail -30 "$build/debootstrap.log"; exit 1; }
	cat > "$root/tmp/setup.sh" <<SETUP
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
echo "deb $SANTA_VM_MIRROR $SANTA_VM_SUITE main" > /etc/apt/sources.list
# No service starts in the chroot.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
apt-get update -q
apt-get install -y -q $tasks
rm /usr/sbin/policy-rc.d
apt-get clean
SETUP
	echo "tree: apt-get install $tasks (with Recommends)"
	in_tree "$root" nice -n 10 /bin/bash /tmp/setup.sh > "$build/setup.log" 2>&1 || { tail -30 "$build/setup.log"; exit 1; }
	rm "$root/tmp/setup.sh"
	got=$(sha256sum < "$(ls "$root/var/lib/apt/lists/"*"_dists_${SANTA_VM_SUITE}_InRelease")" | cut -d' ' -f1)
	[ "$got" = "$SANTA_VM_RELEASE_SHA256" ] ||
		{ echo "the tree's apt lists have an InRelease with SHA-256 $got, not the pinned one" >&2; exit 1; }
	chroot "$root" dpkg-query -W -f='${db:Status-Abbrev} ${Package}=${Version}\n' | sort > "$build/manifest"
	mkdir "$out"
	mv "$root" "$build/manifest" "$out/"
	rm -rf "$build"
	build=
}

key=$( { cat "$top/tests/vm/debian-image.pin"; echo "$tasks"; declare -f build_tree in_tree; } | sha256sum | cut -c1-16)
tree=$cache/desktop-$key
cleanup() {
	[ -z "$build" ] || rm -rf "$build"
}
trap cleanup EXIT
if [ ! -f "$tree/manifest" ]; then
	rm -rf "$tree"
	start=$SECONDS
	build_tree "$tree"
	echo "tree built in $((SECONDS - start)) s: $tree ($(du -sh "$tree" | cut -f1))"
fi
root=$tree/root
[ "${SANTA_DESKTOP_NS:-}" = 1 ] || echo "tree: $tree ($(grep -c '^ii ' "$tree/manifest") packages installed, $tasks; $SANTA_VM_SUITE of $SANTA_VM_RELEASE_DATE)"
$build_only && exit 0

# ---- The measurement, in a private mount namespace (nothing stays mounted). ----
for f in src/santad/santad src/santactl/santactl bench/pkgtrust_bench; do
	[ -x "$builddir/$f" ] || { echo "no $builddir/$f: build a Release tree first (cmake -B build/release -DCMAKE_BUILD_TYPE=Release)" >&2; exit 2; }
done
if [ "${SANTA_DESKTOP_NS:-}" != 1 ]; then
	SANTA_DESKTOP_NS=1 exec unshare -m --propagation private "$0" "$builddir"
fi
# The tree's /run is a tmpfs (as on the machine): santad's binaries, its
# configuration, state and sockets; /run/santa-bench/mnt, another tmpfs, is
# all santad watches. The tree itself is never written.
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
b=/run/santa-bench
mkdir -p "$root$b/mnt" "$root$b/state"
mount -t tmpfs -o mode=0755 tmpfs "$root$b/mnt"
cp "$builddir/src/santad/santad" "$builddir/src/santactl/santactl" "$builddir/bench/pkgtrust_bench" "$root$b/"
missing=$(chroot "$root" ldd "$b/santad" "$b/santactl" "$b/pkgtrust_bench" | grep 'not found' || true)
[ -z "$missing" ] || { echo "libraries missing in the tree: $missing" >&2; exit 1; }

pid=
stop_santad() {
	[ -z "$pid" ] || { kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null || true; }
	pid=
}
trap 'stop_santad; cleanup' EXIT
status_json() { chroot "$root" env SANTA_CONFIG=$b/santa.conf "$b/santactl" status --json 2> /dev/null; }
pt() { # a field of package_trust in santactl status --json (stdin)
	python3 -c 'import json, sys
d = json.load(sys.stdin)["package_trust"]
for k in sys.argv[1:]:
    d = d[k]
print(str(d).lower() if isinstance(d, bool) else d)' "$@"
}
mem() { awk '/VmRSS/ {r = $2} /VmHWM/ {h = $2} END {printf "RSS %.1f MB (peak %.1f MB)", r / 1024, h / 1024}' "/proc/$pid/status"; }
# run NAME ENABLED [prescan]: santad started chrooted on the tree, until its
# view is loaded (and with "prescan", until it has verified every packaged
# program ahead: at idle priority, so at most 20 minutes), then stopped.
run() {
	local name=$1 enabled=$2 wait_prescan=${3:-} s end
	cat > "$root$b/santa.conf" <<CONF
ClientMode = MONITOR
WatchPaths = $b/mnt
WatchMarkType = mount
RulesDBPath = $b/state/rules.db
EventsDBPath = $b/state/events.db
SyncStatePath = $b/state/sync-state.json
EventLogPath = $b/santa.log
RunDirectory = $b/run
SantactlPath = $b/santactl
EnablePackageTrust = $enabled
PackageTrustCachePath = $b/state/package-view.cache
CONF
	chroot "$root" "$b/santad" --config "$b/santa.conf" 2> "$root$b/santad.err" < /dev/null > /dev/null &
	pid=$!
	end=$((SECONDS + 1800))
	until grep -q ready "$root$b/santad.err"; do
		kill -0 "$pid" 2> /dev/null && [ $SECONDS -lt $end ] || { cat "$root$b/santad.err"; echo "santad did not start" >&2; exit 1; }
		sleep 0.1
	done
	if [ "$enabled" = false ]; then
		sleep 1 # settled after its start (helpers, BPF): nothing to wait for without a view
		echo "$name: $(mem)"
		stop_santad
		return
	fi
	until s=$(status_json) && [ "$(pt loaded <<< "$s")" = true ]; do
		kill -0 "$pid" 2> /dev/null && [ $SECONDS -lt $end ] || { cat "$root$b/santad.err"; echo "no view" >&2; exit 1; }
		sleep 0.2
	done
	echo "$name: view loaded in $(pt load_ms <<< "$s") ms (from cache: $(pt from_cache <<< "$s")):" \
		"$(pt packages <<< "$s") packages, $(pt programs <<< "$s") programs," \
		"view $(python3 -c "print('%.1f' % ($(pt memory_bytes <<< "$s") / 1e6))") MB; santad $(mem)"
	if [ -z "$wait_prescan" ]; then
		stop_santad
		return
	fi
	end=$((SECONDS + 1200))
	until s=$(status_json) && [ "$(pt prescan done <<< "$s")" = true ]; do
		kill -0 "$pid" 2> /dev/null || { cat "$root$b/santad.err"; echo "santad died" >&2; exit 1; }
		[ $SECONDS -lt $end ] || { echo "$name: prescan not done after 20 minutes; santad $(mem)"; stop_santad; return; }
		sleep 0.5
	done
	echo "$name: prescan done in $(pt prescan ms <<< "$s") ms ($(pt prescan verified <<< "$s") verified, $(pt prescan read <<< "$s") of them read, $(pt prescan refused <<< "$s") refused); santad $(mem)"
	stop_santad
}
drop_caches() {
	[ "${SANTA_DESKTOP_NO_DROP:-}" != 1 ] || return 1
	sync
	echo 3 > /proc/sys/vm/drop_caches
}
echo "== santad chrooted in the tree ($(uname -r), $(nproc) CPUs)"
run "package trust off" false
# Without the verified-file memory too: the prescan reads every program, as at a first start.
rm -f "$root$b/state/package-view.cache" "$root$b/state/package-view.cache.verified"
! drop_caches || run "no view cache, cold page cache" true
rm -f "$root$b/state/package-view.cache" "$root$b/state/package-view.cache.verified"
run "no view cache, warm page cache" true
echo "view cache: $(stat -c %s "$root$b/state/package-view.cache") bytes"
! drop_caches || run "view cache, cold page cache" true
rm -f "$root$b/state/package-view.cache.verified" # the prescan reads every program
run "view cache, warm page cache" true prescan
# Restarted: the memory the last run wrote carries every program over unread.
run "view cache and verified-file memory, warm page cache" true prescan
echo "== bench/pkgtrust_bench chrooted in the tree: the view built, then with dpkg's part from the cache"
{ chroot "$root" "$b/pkgtrust_bench" --cache "$b/state/bench-view.cache" /nonexistent || true; } | sed -n 2p
chroot "$root" "$b/pkgtrust_bench" --cache "$b/state/bench-view.cache" /usr/bin /usr/sbin /usr/lib/systemd /usr/libexec
