#!/usr/bin/env bash
# The packaged systemd units pass `systemd-analyze verify`, pointed at the
# binaries of this build (the installed paths do not exist here).
# usage: systemd_units.sh SOURCE_DIR SANTAD HELPER_DIR SANTA_GUI
set -euo pipefail
src=$1
santad=$(realpath "$2")
helpers=$(realpath "$3")
gui=$(realpath "$4")
source "$(dirname "$0")/../lib/skip.sh"
command -v systemd-analyze > /dev/null ||
	santa_skip "systemd-analyze is not installed (Debian's systemd package; scripts/install-deps.sh)"
work=$(mktemp -d /tmp/santa-units-XXXXXX)
trap 'rm -rf "$work"' EXIT
for unit in "$src"/packaging/systemd/*.service "$src"/packaging/systemd/*.socket; do
	sed -e "s|/usr/sbin/santad|$santad|g" -e "s|/usr/libexec/santa|$helpers|g" "$unit" \
		> "$work/$(basename "$unit")"
done
out=$(systemd-analyze verify "$work"/*.service "$work"/*.socket 2>&1) || {
	echo "$out"
	exit 1
}
# verify prints warnings without failing; ours must be clean of them too.
if [ -n "$(tr -d "[:space:]" <<< "$out")" ]; then
	echo "$out"
	exit 1
fi
# santa-gui's unit is a user unit: verified by a user manager's rules.
mkdir -p "$work/user" "$work/runtime"
chmod 0700 "$work/runtime"
sed -e "s|/usr/bin/santa-gui|$gui|g" "$src/packaging/systemd/user/santa-gui.service" \
	> "$work/user/santa-gui.service"
out=$(XDG_RUNTIME_DIR=$work/runtime systemd-analyze --user verify "$work/user/santa-gui.service" 2>&1) &&
	[ -z "$(tr -d "[:space:]" <<< "$out")" ] || {
	echo "santa-gui.service (user): $out"
	exit 1
}
# The XDG autostart entry: the keys a session reads, and a program that exists.
desktop=$src/packaging/xdg/santa-gui.desktop
for key in "Type=Application" "Exec=/usr/bin/santa-gui" "X-systemd-skip=true"; do
	grep -qxF "$key" "$desktop" || { echo "santa-gui.desktop lacks $key"; exit 1; }
done
echo "systemd units verified: $(cd "$work" && echo *.service *.socket user/*)"
