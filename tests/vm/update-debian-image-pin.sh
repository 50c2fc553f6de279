#!/usr/bin/env bash
# Moves tests/vm/debian-image.pin on to the InRelease the mirror serves today
# (its Date and SHA-256, once gpgv has checked its signature against Debian's
# keyring) and removes tests/vm/debian-image.manifest, which the next run of
# tests/vm/debian_lockdown.sh writes again from the image it builds. Check
# that run passes, then commit both files.
# usage: tests/vm/update-debian-image-pin.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pin=$here/debian-image.pin
source "$pin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -sSf -o "$tmp/InRelease" "$SANTA_VM_MIRROR/dists/$SANTA_VM_SUITE/InRelease"
gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$tmp/InRelease" 2> "$tmp/gpgv.log" ||
	{ cat "$tmp/gpgv.log"; echo "the mirror's InRelease has no good signature by Debian's keyring" >&2; exit 1; }
date=$(awk -F': ' '/^Date:/ {print $2; exit}' "$tmp/InRelease")
sha=$(sha256sum < "$tmp/InRelease" | cut -d' ' -f1)
sed -i -e "s|^SANTA_VM_RELEASE_DATE=.*|SANTA_VM_RELEASE_DATE='$date'|" \
	-e "s|^SANTA_VM_RELEASE_SHA256=.*|SANTA_VM_RELEASE_SHA256=$sha|" "$pin"
rm -f "$here/debian-image.manifest"
echo "pinned $SANTA_VM_SUITE of $SANTA_VM_MIRROR at '$date' (InRelease SHA-256 $sha); run tests/vm/debian_lockdown.sh to write the manifest"
