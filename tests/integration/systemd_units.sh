#!/usr/bin/env bash
# The packaged systemd units pass `systemd-analyze verify`, pointed at the
# binaries of this build (the installed paths do not exist here).
# usage: systemd_units.sh SOURCE_DIR SANTAD HELPER_DIR
set -euo pipefail
src=$1
santad=$(realpath "$2")
helpers=$(realpath "$3")
if ! command -v systemd-analyze > /dev/null; then
	echo "SKIP: systemd-analyze is not installed"
	exit 77
fi
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
echo "systemd units verified: $(ls "$work")"
