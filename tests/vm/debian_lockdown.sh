#!/usr/bin/env bash
# Santa for Linux on a real Debian 12 machine in LOCKDOWN (issue 21, item 5):
# a Debian 12 amd64 system built from Debian's own packages, booted under
# qemu with systemd as init, our .deb installed with dpkg, santad started by
# its systemd unit in LOCKDOWN with ONE rule, a TEAMID rule for the key that
# signs bookworm (the Team ID santactl fileinfo shows for /usr/bin/ls).
#
# usage: tests/vm/debian_lockdown.sh [--build-only] SANTA_DEB   (as root)
#        SANTA_DEB: the package scripts/package.sh (or cpack -G DEB) built.
#        --build-only: build (or check) the cached image and stop.
# environment: SANTA_VM_CACHE (default /var/cache/santa-test-vm): the image;
#        SANTA_VM_ACCEL=kvm|tcg forces the accelerator (default: KVM when a
#        probe boot works, as tests/vm/bpf_backstop.sh decides);
#        SANTA_VM_KEEP=1 keeps the work directory (console log, results).
# needs on the host (Debian packages): debootstrap qemu-system-x86 qemu-utils
#        e2fsprogs (mkfs.ext4 -d, debugfs) gpg gpgv apt-utils (apt-ftparchive)
#        dpkg-dev build-essential (cc) python3 (an HTTP server) curl systemd
#        (journalctl, for a post-mortem of a VM that never got to its shell).
#
# The image is built once and kept in $SANTA_VM_CACHE/debian-lockdown-KEY/,
# KEY a hash of tests/vm/debian-image.pin (mirror, suite, the InRelease's
# Date and SHA-256, extra packages), tests/vm/kernel.pin (Debian's kernel,
# installed in the image with its initramfs) and the recipe below: any change
# builds a new one. The files' SHA-256s are checked before every run; each
# run boots a copy-on-write overlay, so the cached image never changes. After
# a build the image's package versions must equal tests/vm/debian-image.manifest
# (written by the first build after a pin change: commit it).
# The image: debootstrap's default set (required + important) of the pinned
# bookworm plus the .deb's libraries, Debian's kernel, systemd, ifupdown with
# DHCP on eth0, root logged in automatically on the serial console (ttyS0)
# whose login shell (~/.bash_profile) runs tests/vm/debian_lockdown_guest.sh
# from a 9p share, and a test user (santauser).
#
# The run (three boots of one qemu): (1) dpkg -i the .deb, santactl fileinfo
# /usr/bin/ls, santad disabled; (2) boot without santad (the baseline boot
# time), santa.conf written (LOCKDOWN, no WatchPaths, the TEAMID rule), santad
# enabled; (3) boot in LOCKDOWN and check: multi-user reached, a login shell,
# santad in LOCKDOWN with package trust loaded, an unknown program in the test
# user's home denied (EPERM) and logged, a local apt archive (host HTTP,
# InRelease signed by a throwaway key, Signed-By) whose package is blocked
# before and runs after a TEAMID rule for that key, a package with a
# maintainer script, an upgrade to version 2 with version 1 running, and the
# boot time with santad in LOCKDOWN against the baseline (systemd-analyze):
# one boot of each in one qemu process, the baseline first, so only a sign of
# life; tests/vm/boot_ratio.sh measures the ratio (fresh qemu processes on one
# disk state, alternating, N of each).
# Prints ok / not ok lines, then PASS or FAIL; exit 0, 1, or 77 (skipped).
# How long: the first build about 3 minutes (debootstrap over the network;
# the image is 775 MB); a run with the image cached about 9 minutes under TCG
# on 2 CPUs (three boots of 1.5 to 2.5 minutes each), less on KVM.
# Not in ctest: far over the suite's budget under TCG.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/skip.sh"
source "$here/kernel.pin"
source "$here/debian-image.pin"
build_only=false
[ "${1:-}" != --build-only ] || { build_only=true; shift; }
[ $# -eq 1 ] || { echo "usage: $0 [--build-only] SANTA_DEB" >&2; exit 2; }
deb=$(realpath "$1")
$build_only || [ -f "$deb" ] || { echo "no such package: $1" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || santa_skip "needs root (debootstrap, chroot)"
for tool in debootstrap qemu-system-x86_64 qemu-img mkfs.ext4 debugfs gpg gpgv apt-ftparchive dpkg-deb cc python3 curl sha256sum unshare; do
	command -v "$tool" > /dev/null ||
		santa_skip "$tool missing (apt-get install debootstrap qemu-system-x86 qemu-utils e2fsprogs gpg gpgv apt-utils dpkg-dev build-essential python3 curl)"
done
cache=${SANTA_VM_CACHE:-/var/cache/santa-test-vm}
mkdir -p "$cache" 2> /dev/null && [ -w "$cache" ] || santa_skip "cannot write the image cache $cache (set SANTA_VM_CACHE)"
work=$(mktemp -d /tmp/santa-debian-vm-XXXXXX)
build=
http_pid=
sync_pid=
cleanup() {
	[ -z "$http_pid" ] || kill "$http_pid" 2> /dev/null || true
	[ -z "$sync_pid" ] || kill "$sync_pid" 2> /dev/null || true
	[ -z "$build" ] || rm -rf "$build"
	if [ "${SANTA_VM_KEEP:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
source "$here/kernel_fetch.sh"
sha256_of() { santa_vm_sha256_of "$1"; }

# The pinned kernel .deb, downloaded once and checked before use (the logic of
# tests/vm/bpf_backstop.sh, sharing its cache file).
kernel_deb=$cache/${SANTA_VM_KERNEL_PACKAGE}_${SANTA_VM_KERNEL_VERSION//:/%3a}_amd64.deb
fetch_kernel() {
	kernel_deb=$(santa_vm_kernel_deb "$cache" "$work") || exit $?
}

# Builds the image into the directory $1 (which must not exist yet).
build_image() {
	local out=$1 root got
	build=$(mktemp -d "$cache/build-XXXXXX")
	root=$build/root
	# The mirror must still serve the pinned Release: the image is that Release's.
	curl -sSf -o "$build/InRelease" "$SANTA_VM_MIRROR/dists/$SANTA_VM_SUITE/InRelease" ||
		santa_skip "cannot fetch $SANTA_VM_MIRROR/dists/$SANTA_VM_SUITE/InRelease to build the image"
	got=$(sha256_of "$build/InRelease")
	[ "$got" = "$SANTA_VM_RELEASE_SHA256" ] ||
		santa_skip "the mirror's $SANTA_VM_SUITE InRelease ($(awk -F': ' '/^Date:/ {print $2; exit}' "$build/InRelease"), SHA-256 $got) is not the pinned one ($SANTA_VM_RELEASE_DATE); run tests/vm/update-debian-image-pin.sh, then this test, and commit the pin and manifest"
	fetch_kernel
	echo "image: debootstrap $SANTA_VM_SUITE ($SANTA_VM_RELEASE_DATE) from $SANTA_VM_MIRROR into $build (some minutes)"
	if ! debootstrap --arch=amd64 --include="$SANTA_VM_INCLUDE" "$SANTA_VM_SUITE" "$root" "$SANTA_VM_MIRROR" > "$build/debootstrap.log" 2>&1; then
		tail -30 "$build/debootstrap.log"
		echo "not ok - debootstrap failed"
		exit 1
	fi
	cp "$kernel_deb" "$root/tmp/"
	cat > "$root/tmp/setup.sh" <<SETUP
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
echo "deb $SANTA_VM_MIRROR $SANTA_VM_SUITE main" > /etc/apt/sources.list
apt-get update -q
apt-get install -y -q --no-install-recommends /tmp/$(basename "$kernel_deb")
rm /tmp/$(basename "$kernel_deb")
echo santa-vm > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsanta-vm\n' > /etc/hosts
printf '/dev/vda\t/\text4\terrors=remount-ro\t0 1\nsanta\t/mnt/santa\t9p\ttrans=virtio,version=9p2000.L,msize=262144\t0 0\n' > /etc/fstab
mkdir -p /mnt/santa /var/log/journal
printf 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n' > /etc/network/interfaces
mkdir -p /etc/systemd/system/serial-getty@ttyS0.service.d
printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %%I \$TERM\n' \
	> /etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf
cat > /root/.bash_profile <<'PROFILE'
[ -f ~/.bashrc ] && . ~/.bashrc
# tests/vm/debian_lockdown.sh: the login shell on the serial console runs the test.
if [ "\$(tty)" = /dev/ttyS0 ]; then
	for i in \$(seq 60); do [ -r /mnt/santa/guest.sh ] && break; sleep 1; done
	bash /mnt/santa/guest.sh
fi
PROFILE
useradd -m -s /bin/bash santauser
[ -s /etc/machine-id ] || systemd-machine-id-setup
apt-get clean
SETUP
	if ! unshare -m --propagation private sh -c 'mount -t proc proc "$1/proc" && mount -t sysfs sys "$1/sys" &&
		mount --rbind /dev "$1/dev" && chroot "$1" /bin/bash /tmp/setup.sh' sh "$root" > "$build/setup.log" 2>&1; then
		tail -30 "$build/setup.log"
		echo "not ok - setting the image up in a chroot failed"
		exit 1
	fi
	rm "$root/tmp/setup.sh"
	got=$(sha256_of "$root/var/lib/apt/lists/"*"_dists_${SANTA_VM_SUITE}_InRelease")
	[ "$got" = "$SANTA_VM_RELEASE_SHA256" ] ||
		{ echo "not ok - the image's apt lists have an InRelease with SHA-256 $got, not the pinned one (the mirror moved on while building?)"; exit 1; }
	chroot "$root" dpkg-query -W -f='${Package}=${Version}\n' | sort > "$build/manifest"
	# The Team IDs of the keys that sign the Release (the last 10 hex digits of
	# each primary key's fingerprint), with the key's user ID.
	gpgv --status-fd 1 --keyring "$root/usr/share/keyrings/debian-archive-keyring.gpg" \
		"$root/var/lib/apt/lists/"*"_dists_${SANTA_VM_SUITE}_InRelease" 2> /dev/null |
		awk '/VALIDSIG/ {print $NF}' | while read -r fpr; do
			echo "${fpr: -10} $(gpg --no-default-keyring --keyring "$root/usr/share/keyrings/debian-archive-keyring.gpg" \
				--with-colons --list-keys "$fpr" 2> /dev/null | awk -F: '/^uid/ {print $10; exit}')"
		done > "$build/teamids"
	cp "$root"/boot/vmlinuz-* "$build/vmlinuz"
	cp "$root"/boot/initrd.img-* "$build/initrd.img"
	truncate -s 4G "$build/disk.raw"
	mkfs.ext4 -q -F -L santa-root -d "$root" "$build/disk.raw"
	qemu-img convert -O qcow2 "$build/disk.raw" "$build/disk.qcow2"
	rm -rf "$build/disk.raw" "$root"
	mkdir "$build/image"
	mv "$build/vmlinuz" "$build/initrd.img" "$build/disk.qcow2" "$build/manifest" "$build/teamids" "$build/image/"
	(cd "$build/image" && sha256sum vmlinuz initrd.img disk.qcow2 manifest teamids > SHA256SUMS)
	mv "$build/image" "$out"
	rm -rf "$build"
	build=
}

key=$( { cat "$here/debian-image.pin" "$here/kernel.pin"; declare -f build_image; } | sha256sum | cut -c1-16)
image=$cache/debian-lockdown-$key
if [ -d "$image" ] && ! (cd "$image" && sha256sum --quiet -c SHA256SUMS) > "$work/sums.log" 2>&1; then
	echo "the cached image $image fails its SHA-256 check: building it again"
	cat "$work/sums.log"
	rm -rf "$image"
fi
start=$SECONDS
if [ ! -d "$image" ]; then
	build_image "$image"
	echo "image built in $((SECONDS - start)) s: $image ($(du -sh "$image" | cut -f1))"
fi
# The image's package versions are the manifest's (written by the first build of a new pin).
if [ -f "$here/debian-image.manifest" ]; then
	if ! diff -u "$here/debian-image.manifest" "$image/manifest" > "$work/manifest.diff"; then
		head -40 "$work/manifest.diff"
		echo "not ok - the image's packages are not tests/vm/debian-image.manifest's (same pin, other versions?); the image is deleted"
		rm -rf "$image"
		exit 1
	fi
else
	cp "$image/manifest" "$here/debian-image.manifest"
	echo "wrote tests/vm/debian-image.manifest ($(wc -l < "$image/manifest") packages): commit it with the pin"
fi
echo "image: $image ($(du -sh "$image" | cut -f1)), $(wc -l < "$image/manifest") packages of $SANTA_VM_SUITE ($SANTA_VM_RELEASE_DATE), kernel $SANTA_VM_KERNEL_PACKAGE=$SANTA_VM_KERNEL_VERSION"
$build_only && exit 0

# The Team ID of Debian's bookworm archive key: the key that signs the Release.
debian_teamid=$(awk '/Automatic Signing Key \(12\/bookworm\)/ {print $1; exit}' "$image/teamids")
[ -n "$debian_teamid" ] || { cat "$image/teamids"; echo "not ok - no bookworm archive key signs the image's Release"; exit 1; }

# The share the guest mounts (9p): the guest script, our .deb, an unknown
# program, the local apt archive (served over HTTP to the guest) and results.
share=$work/share
mkdir -p "$share/results" "$share/www" "$work/pkg"
cp "$here/debian_lockdown_guest.sh" "$share/guest.sh"
cp "$here/guest_lib.sh" "$share/guest_lib.sh"
cp "$deb" "$share/santa.deb"
cc -O2 -DVERSION=0 -o "$share/hello" "$here/santa-vm-hello.c"

# The local archive: a throwaway OpenPGP key (its Team ID: the last 10 hex
# digits of its primary fingerprint), santa-vm-hello 1.0 and 2.0 (repo v1
# lists 1.0, repo v2 lists 2.0, as an archive moves on), and santa-vm-hook,
# whose postinst writes a file (a maintainer script, as most packages have).
export GNUPGHOME=$work/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Santa VM Test Archive <vm-archive@example.test>' rsa3072 sign never 2> /dev/null
fpr=$(gpg --with-colons --list-keys | awk -F: '/^fpr/ {print $10; exit}')
test_teamid=${fpr: -10}
gpg --export > "$share/santa-test.gpg"
make_pkg() { # name version [postinst]
	local d=$work/pkg/$1_$2
	mkdir -p "$d/DEBIAN" "$d/usr/bin"
	cc -O2 -DVERSION="${2%%.*}" -o "$d/usr/bin/$1" "$here/santa-vm-hello.c"
	printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: Santa VM test <vm-archive@example.test>\nDepends: libc6\nDescription: test package of tests/vm/debian_lockdown.sh\n' \
		"$1" "$2" > "$d/DEBIAN/control"
	if [ -n "${3:-}" ]; then
		printf '#!/bin/sh\nset -e\nmkdir -p /var/lib/%s\necho "postinst $*" > /var/lib/%s/postinst-ran\n' "$1" "$1" > "$d/DEBIAN/postinst"
		chmod 0755 "$d/DEBIAN/postinst"
	fi
	dpkg-deb --root-owner-group -Zxz --build "$d" "$work/pkg/$1_$2_amd64.deb" > /dev/null
}
make_pkg santa-vm-hello 1.0
make_pkg santa-vm-hello 2.0
make_pkg santa-vm-hook 1.0 postinst
make_repo() { # dir debs...
	local r=$share/www/$1
	shift
	mkdir -p "$r/pool/main" "$r/dists/santa-test/main/binary-amd64"
	cp "$@" "$r/pool/main/"
	(cd "$r" && apt-ftparchive packages pool/main > dists/santa-test/main/binary-amd64/Packages &&
		gzip -9 -k dists/santa-test/main/binary-amd64/Packages &&
		apt-ftparchive -o APT::FTPArchive::Release::Origin='Santa VM Test' -o APT::FTPArchive::Release::Label='Santa VM Test' \
			-o APT::FTPArchive::Release::Suite=santa-test -o APT::FTPArchive::Release::Codename=santa-test \
			-o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=main \
			release dists/santa-test > dists/santa-test/Release &&
		gpg --batch --yes --clearsign -o dists/santa-test/InRelease dists/santa-test/Release &&
		gpg --batch --yes -abs -o dists/santa-test/Release.gpg dists/santa-test/Release)
}
make_repo v1 "$work/pkg/santa-vm-hello_1.0_amd64.deb" "$work/pkg/santa-vm-hook_1.0_amd64.deb"
make_repo v2 "$work/pkg/santa-vm-hello_2.0_amd64.deb" "$work/pkg/santa-vm-hook_1.0_amd64.deb"
ln -s v1 "$share/www/repo" # the guest moves it to v2 (through the share) for the upgrade
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$share/www" > "$work/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 50); do grep -q 'port [0-9]*' "$work/http.log" && break; sleep 0.1; done
port=$(grep -o 'port [0-9]*' "$work/http.log" | head -1 | cut -d' ' -f2)
[ -n "$port" ] || { cat "$work/http.log"; echo "not ok - the host's HTTP server did not start"; exit 1; }
# A Santa sync server (tests/integration's) for the LOCKDOWN boot: it sets LOCKDOWN and
# receives the uploads; what it got is checked after the VM has stopped.
mkdir -p "$share/sync/rules"
echo '{"client_mode": "LOCKDOWN"}' > "$share/sync/preflight.json"
python3 "$here/../integration/sync_server.py" "$share/sync" "$work/sync.port" > "$work/sync.log" 2>&1 &
sync_pid=$!
for _ in $(seq 50); do [ -s "$work/sync.port" ] && break; sleep 0.1; done
[ -s "$work/sync.port" ] || { cat "$work/sync.log"; echo "not ok - the host's sync server did not start"; exit 1; }
cat > "$share/params" <<PARAMS
DEBIAN_TEAMID=$debian_teamid
TEST_TEAMID=$test_teamid
REPO_URL=http://10.0.2.2:$port/repo
SYNC_URL=http://10.0.2.2:$(cat "$work/sync.port")/santa
PARAMS

# The accelerator: KVM when this kernel boots on it, TCG otherwise (qemu.sh).
source "$here/qemu.sh"
santa_vm_pick_accel "$image/vmlinuz" "$work/kvm-probe.log" || exit 1
accel=("${santa_vm_accel[@]}")
[ "${accel[1]}" = kvm ] || accel+=(-cpu max)
echo "qemu: ${accel[*]}; Debian's archive key Team ID $debian_teamid; test archive key Team ID $test_teamid; archive http://10.0.2.2:$port/repo"

# The run: one qemu, three boots (the guest reboots itself, then powers off).
qemu-img create -q -f qcow2 -b "$image/disk.qcow2" -F qcow2 "$work/run.qcow2"
start=$SECONDS
st=0
santa_vm_image_args "$image" "$work/run.qcow2" "$share"
timeout "${SANTA_VM_TIMEOUT:-2400}" qemu-system-x86_64 "${accel[@]}" "${santa_vm_args[@]}" > "$work/console.log" 2>&1 || st=$?
echo "the VM ran for $((SECONDS - start)) s (qemu exit $st)"
cp "$work/console.log" "$share/results/console.log"

# Results: the guest's check lines, then the host's own.
fails=0
passes=0
result() { # ok|not ok, text
	echo "$1 - $2"
	if [ "$1" = ok ]; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
}
if [ -f "$share/results/checks" ]; then
	while IFS= read -r line; do
		case $line in
		"ok - "*) result ok "${line#ok - }" ;;
		"not ok - "*) result "not ok" "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done < "$share/results/checks"
fi
for s in 1 2 3; do
	grep -q "^SANTA-VM-STAGE $s START" "$work/console.log" ||
		result "not ok" "boot $s reached root's login shell on ttyS0 (no marker on the console)"
done
if ! grep -q '^SANTA-VM-STAGE 3 DONE' "$work/console.log"; then
	result "not ok" "the LOCKDOWN boot's checks ran to the end"
	echo "# console, last lines:"
	tail -40 "$work/console.log" | sed 's/^/#   /'
	# Post-mortem: santad's journal and log, read from the disk without booting it.
	qemu-img convert -O raw "$work/run.qcow2" "$work/post.raw"
	debugfs -R "dump /var/log/santa/santa.log $work/post-santa.log" "$work/post.raw" > /dev/null 2>&1 || true
	debugfs -R "rdump /var/log/journal $work" "$work/post.raw" > /dev/null 2>&1 || true
	if [ -d "$work/journal" ]; then
		journalctl -D "$work/journal" -o short-monotonic --no-pager -u santad > "$share/results/post-santad-journal.txt" 2>&1 || true
		journalctl -D "$work/journal" -o short-monotonic --no-pager -p warning > "$share/results/post-warnings.txt" 2>&1 || true
		echo "# santad's journal (post-mortem), last lines:"
		tail -30 "$share/results/post-santad-journal.txt" | sed 's/^/#   /'
	fi
	if [ -f "$work/post-santa.log" ]; then
		cp "$work/post-santa.log" "$share/results/post-santa.log"
		echo "# santa.log denials (post-mortem): $(grep -c 'decision=DENY' "$work/post-santa.log")"
		grep 'decision=DENY' "$work/post-santa.log" | head -30 | sed 's/^/#   /'
	fi
	rm -f "$work/post.raw"
fi
# What the sync server received from the LOCKDOWN boot: the user's blocked program.
uploaded=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["stage"] != "eventupload":
        continue
    for e in r["body"].get("events", []):
        if e.get("file_name") == "hello" and e.get("decision") == "BLOCK_UNKNOWN":
            print(e.get("executing_user", "?")); sys.exit(0)' "$share/sync/requests.jsonl" 2> /dev/null || true)
if [ -n "$uploaded" ]; then
	result ok "the sync server received the block of the user's unknown program (BLOCK_UNKNOWN, executing_user $uploaded)"
else
	result "not ok" "the sync server received the block of the user's unknown program (stages: $(python3 -c 'import json,sys; print([json.loads(l)["stage"] for l in open(sys.argv[1])])' "$share/sync/requests.jsonl" 2>&1 | tail -c 300))"
fi
# The boot times (systemd-analyze, userspace to multi-user.target and in all).
seconds() { # systemd's "1min 2.345s" / "850ms" -> seconds
	python3 -c 'import re,sys
t=0.0
for n,u in re.findall(r"([0-9.]+)(min|ms|s|h|us)", sys.argv[1]):
    t+=float(n)*{"h":3600,"min":60,"s":1,"ms":1e-3,"us":1e-6}[u]
print("%.2f"%t)' "$1"
}
if [ -f "$share/results/boot-baseline" ] && [ -f "$share/results/boot-lockdown" ]; then
	for f in baseline lockdown; do
		total=$(sed -n 's/.* = \(.*\)$/\1/p' "$share/results/boot-$f" | head -1)
		user=$(sed -n 's/.*reached after \(.*\) in userspace.*/\1/p' "$share/results/boot-$f" | head -1)
		eval "${f}_total=$(seconds "$total") ${f}_user=$(seconds "${user:-0s}")"
	done
	echo "# boot to multi-user.target in userspace: baseline ${baseline_user} s, LOCKDOWN ${lockdown_user} s: ratio $(python3 -c "print('%.2f' % ($lockdown_user / $baseline_user))")"
	echo "# boot in all (kernel + initrd + userspace): baseline ${baseline_total} s, LOCKDOWN ${lockdown_total} s: ratio $(python3 -c "print('%.2f' % ($lockdown_total / $baseline_total))")"
	result ok "boot times measured (systemd-analyze time, both boots)"
else
	result "not ok" "boot times measured (systemd-analyze time, both boots)"
fi
echo "# results (console log, santad's journal, santa.log, failed units): $share/results${SANTA_VM_KEEP:+}"
[ "${SANTA_VM_KEEP:-}" = 1 ] || echo "#   (set SANTA_VM_KEEP=1 to keep them)"
if [ "$fails" -eq 0 ] && [ "$passes" -gt 0 ]; then
	echo "PASS: $passes checks: Debian 12 boots and runs in LOCKDOWN with santad, one TEAMID rule trusting Debian's archive (${accel[*]})"
else
	echo "FAIL: $fails of $((passes + fails)) checks failed (${accel[*]})"
	exit 1
fi
