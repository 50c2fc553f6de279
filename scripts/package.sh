#!/usr/bin/env bash
# Builds the Debian package from a Release build and checks it: the files a
# Santa admin expects, dependencies computed from the binaries, maintainer
# scripts, and binaries that run from the unpacked tree.
# usage: scripts/package.sh [BUILD_DIR]   (default build/release; configured if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build"
(cd "$build" && rm -f santa_*.deb && cpack -G DEB > cpack.log) || { cat "$build/cpack.log"; exit 1; }
deb=$(ls "$build"/santa_*.deb)
echo "package: $deb"

contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
for f in ./usr/sbin/santad ./usr/bin/santactl ./usr/bin/santa-gui ./usr/libexec/santa/santasyncservice \
	./usr/libexec/santa/santametricservice ./usr/libexec/santa/santabundleservice \
	./usr/lib/systemd/system/santad.service ./usr/lib/systemd/system/santabundleservice.socket \
	./usr/lib/systemd/system/santasyncservice.socket ./usr/lib/tmpfiles.d/santa.conf \
	./usr/lib/systemd/user/santa-gui.service ./etc/xdg/autostart/santa-gui.desktop \
	./usr/share/man/man8/santactl.8 ./usr/share/man/man8/santad.8 ./usr/share/man/man5/santa.conf.5 \
	./usr/share/bash-completion/completions/santactl ./etc/logrotate.d/santa; do
	grep -qxF "$f" <<< "$contents" || { echo "package lacks $f"; exit 1; }
done
depends=$(dpkg-deb --field "$deb" Depends)
for lib in libsystemd0 libsqlite3-0 libcurl4 libjansson4 libcap-ng0 libpcre2-8-0 libinih1; do
	grep -q "$lib" <<< "$depends" || { echo "Depends lacks $lib: $depends"; exit 1; }
done
# Listed into a variable first: with pipefail, 'tar | grep -q' fails whenever
# grep exits on the first match before tar is done writing (SIGPIPE).
control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
for f in postinst prerm; do
	grep -qE "^(\./)?$f\$" <<< "$control" || { echo "package has no $f: $control"; exit 1; }
done
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
"$root/usr/sbin/santad" --version
"$root/usr/bin/santactl" version > /dev/null
echo "package checked: $(wc -l <<< "$contents") entries; Depends: $depends"
# Installed for real, used, removed (root only; skipped where santa is installed already).
st=0
bash tests/integration/package_install.sh "$deb" || st=$?
[ "$st" -eq 0 ] || [ "$st" -eq 77 ] || exit 1
