#!/usr/bin/env bash
# Pins the kernel tests/vm/bpf_backstop.sh boots to the linux-image package that
# Debian 12's linux-image-amd64 depends on today: writes its name, version and
# the SHA-256 the (signed) archive index gives for its .deb to tests/vm/kernel.pin.
# Run it when the archive has moved on from the pinned version, check the test
# passes on the new kernel, and commit kernel.pin.
# usage: tests/vm/update-kernel-pin.sh   (as root it runs apt-get update first)
set -euo pipefail
pin=$(cd "$(dirname "$0")" && pwd)/kernel.pin
[ "$(id -u)" -ne 0 ] || apt-get update -qq
package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$package" ] || { echo "no linux-image-amd64 in the apt sources (a Debian 12 amd64 machine's sources are needed)" >&2; exit 1; }
version=$(apt-cache policy "$package" | awk '/Candidate:/ {print $2}')
[ -n "$version" ] && [ "$version" != "(none)" ] || { echo "apt offers no version of $package" >&2; exit 1; }
sha256=$(apt-cache show "$package=$version" | awk '/^SHA256:/ {print $2; exit}')
[[ $sha256 =~ ^[0-9a-f]{64}$ ]] || { echo "no SHA-256 for $package=$version in the apt index" >&2; exit 1; }
cat > "$pin" <<PIN
# The kernel tests/vm/bpf_backstop.sh boots: Debian 12's own linux-image, pinned
# so that every machine boots the same one. Written by tests/vm/update-kernel-pin.sh
# (run it, and commit this file, when the archive no longer has this version).
SANTA_VM_KERNEL_PACKAGE=$package
SANTA_VM_KERNEL_VERSION=$version
SANTA_VM_KERNEL_SHA256=$sha256
PIN
echo "pinned $package=$version (sha256 $sha256) in $pin"
