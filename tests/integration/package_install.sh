#!/usr/bin/env bash
# The Debian package for real: dpkg -i, santad from /usr/sbin enforcing on a
# private tmpfs, the installed santactl trusted at its default path, the
# installed bundle service hashing the santa package itself; then dpkg -r
# leaves no santa process and no santa file behind. Skipped where a santa
# package is installed already (it is not ours to remove), and where not
# root; under CI (CI=true) either is a failure (tests/lib/skip.sh).
# usage: package_install.sh DEB   (as root; exits 77 = skipped otherwise)
set -euo pipefail

deb=$(realpath "$1")
source "$(dirname "$0")/../lib/skip.sh"
if dpkg-query -W -f='${Status}' santa 2> /dev/null | grep -q installed; then
	santa_skip "a santa package ($(dpkg-query -W -f='${Version}' santa)) is installed on this machine already: this test installs and removes one, and will not remove a package it did not install (dpkg -r santa first)"
fi
# The helpers' users are the package's to make (its postinst), not the test library's.
SANTA_PACKAGE_MAKES_USERS=1 source "$(dirname "$0")/../lib/private_tmpfs.sh" "$@"
chmod 0755 "$work"
mnt=$work/mnt
source "$(dirname "$0")/../lib/checks.sh"

removed=
remove_package() { [ -n "$removed" ] || dpkg -r santa > "$work/remove.log" 2>&1; removed=1; }
trap 'remove_package || true; santa_cleanup' EXIT

check "dpkg -i installs the package" dpkg -i "$deb"
for f in /usr/sbin/santad /usr/bin/santactl /usr/bin/santa-gui /usr/libexec/santa/santabundleservice \
	/usr/lib/systemd/system/santad.service /usr/lib/systemd/user/santa-gui.service \
	/etc/xdg/autostart/santa-gui.desktop /usr/share/man/man8/santad.8 /usr/share/man/man5/santa.conf.5; do
	check "installed: $f" test -e "$f"
done
check "man finds the installed santa.conf(5)" bash -c '[ "$(man -w 5 santa.conf)" = /usr/share/man/man5/santa.conf.5 ]'

for u in _santasync _santametric _santabundle; do
	check "the helpers' system user $u is there (postinst), without a login shell" \
		bash -c "[ \"\$(getent passwd $u | cut -d: -f7)\" = /usr/sbin/nologin ] && [ \$(id -u $u) -lt 1000 ]"
done

cat > "$work/santa.conf" <<CONF
$(santa_test_config)
CONF
chmod 0644 "$work/santa.conf"
export SANTA_CONFIG=$work/santa.conf
santa_start_santad /usr/sbin/santad
out=$(/usr/bin/santactl status 2>&1) || true
check "the installed santactl (trusted at its default path) gets santad's status" \
	grep -q "Mode.*Monitor" <<< "$out"
cp /usr/bin/true "$mnt/t"
check "santad from the package decides execs" "$mnt/t"
out=$(/usr/bin/santactl bundleinfo --json /usr/sbin/santad 2>&1) || true
check "the installed bundle service hashes the santa package itself" \
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["name"]=="santa" and d["binary_count"]==6, d' "$out"

remove_package
check "dpkg -r removes it" bash -c "! dpkg-query -W -f='\${Status}' santa 2>/dev/null | grep -q ' installed'"
for _ in $(seq 1 30); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
check "removal stopped santad" bash -c "! kill -0 $pid 2>/dev/null"
pid=
# Processes running the package's binaries (by /proc/PID/exe: santads and
# helpers of other tests, run from a build tree, are not the package's).
left() {
	local exe
	for exe in /proc/[0-9]*/exe; do
		case $(readlink "$exe" 2> /dev/null) in
		/usr/sbin/santad* | /usr/bin/santa-gui* | /usr/libexec/santa/*) echo "${exe//[^0-9]/}" ;;
		esac
	done
}
for _ in $(seq 1 30); do [ -z "$(left)" ] && break; sleep 0.1; done
check "no santa process is left (helpers follow santad)" test -z "$(left)"
check "no santa binary is left" bash -c "! ls /usr/sbin/santad /usr/bin/santactl /usr/bin/santa-gui /usr/libexec/santa 2>/dev/null"
check_finish package_install
