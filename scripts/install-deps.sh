#!/usr/bin/env bash
# Installs the Debian packages Santa for Linux needs. A no-op (no apt at all)
# when they are all present already. Run as root.
#   install-deps.sh          building, testing, fuzzing and benchmarking (CI)
#   install-deps.sh --build  building and running santad only (scripts/run.sh)
set -euo pipefail

build_packages=(
	# toolchain
	build-essential cmake ninja-build pkg-config
	# libraries
	libsystemd-dev libsqlite3-dev libssl-dev libpcre2-dev libcurl4-openssl-dev
	libjansson-dev zlib1g-dev libinih-dev libcap-ng-dev
	liblzma-dev liblz4-dev  # apt's lists, as apt leaves them (.xz, .lz4)
	libcmocka-dev  # the unit tests are configured with the tree
	clang libbpf-dev bpftool  # santad's BPF programs (exec info, the backstop)
)
test_packages=(
	git dpkg-dev
	libclang-rt-14-dev  # libFuzzer + sanitizer runtimes
	gpg gpgv  # tests sign test archives (santad itself verifies with OpenSSL)
	python3 util-linux procps sqlite3
	universal-ctags  # scripts/check-santad-includes.py (unit.santad_includes)
	passwd  # useradd: the helpers' system users (tests/lib/helper_users.sh)
	strace  # a peer under a tracer is refused (test_ipc)
	bindfs fuse3  # the bypass matrix's FUSE row
	qemu-system-x86 busybox-static cpio  # the BPF backstop on Debian's kernel (tests/vm)
	debootstrap qemu-utils apt-utils e2fsprogs  # a booted Debian in LOCKDOWN (tests/vm/debian_lockdown.sh)
	openssl  # certificates for the HTTPS / client-certificate sync test
	curl prometheus  # scraping the metrics endpoint; promtool check metrics
	systemd  # systemd-analyze verify of the packaged units (it is not started)
	groff-base man-db  # man page checks (groff, man --warnings)
	logrotate  # the packaged rotation, tried against santad
	# santa-gui test: a private session bus, a real notification server on a
	# virtual X display, a screenshot of it (xwd | xwdtopnm | pnmtopng)
	dbus-daemon dbus-bin libglib2.0-bin xvfb dunst x11-apps netpbm  # gdbus, dbus-monitor
)

packages=("${build_packages[@]}")
if [ "${1:-}" != --build ]; then
	packages+=("${test_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}" >&2
	echo "install-deps: run as root (or install them with apt-get) and try again" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
