# Sourced by the tests/vm scripts (after tests/lib/skip.sh and kernel.pin):
# Debian's kernel package that tests/vm/kernel.pin names, kept in the cache
# directory between runs (70 MB) and never used unless its SHA-256 is the pin's.
#
#   santa_vm_kernel_deb CACHE WORK   prints the path of the checked .deb in
#                                    CACHE, downloading it (apt-get download)
#                                    when missing or not the pinned one; WORK
#                                    holds the download log. Skips (see
#                                    skip.sh) when the archive no longer has
#                                    that version; exits 1 on a wrong download.
santa_vm_sha256_of() { sha256sum < "$1" | cut -d' ' -f1; }

santa_vm_kernel_deb() {
	local cache=$1 work=$2 package=$SANTA_VM_KERNEL_PACKAGE version=$SANTA_VM_KERNEL_VERSION
	local deb=$cache/${SANTA_VM_KERNEL_PACKAGE}_${SANTA_VM_KERNEL_VERSION//:/%3a}_amd64.deb
	local moved_on download got
	moved_on="the archive has moved on: run tests/vm/update-kernel-pin.sh (as root), check the VM tests pass, and commit tests/vm/kernel.pin"
	# A file that is not the pinned one is never used: deleted, then downloaded again.
	if [ -e "$deb" ] && [ "$(santa_vm_sha256_of "$deb")" != "$SANTA_VM_KERNEL_SHA256" ]; then
		echo "kernel $deb has SHA-256 $(santa_vm_sha256_of "$deb"), not the $SANTA_VM_KERNEL_SHA256 tests/vm/kernel.pin names: deleting it, downloading it again" >&2
		rm -f "$deb"
	fi
	if [ ! -e "$deb" ]; then
		apt-cache show "$package=$version" > /dev/null 2>&1 || apt-get update -qq > /dev/null 2>&1 || true
		apt-cache show "$package=$version" > /dev/null 2>&1 ||
			santa_skip "apt offers no $package=$version (the kernel tests/vm/kernel.pin names); $moved_on"
		# Downloaded beside the cache's file and renamed once checked, so that a
		# run cut short or a parallel run never leaves or sees a partial file.
		download=$(mktemp -d "$cache/download-XXXXXX")
		if ! (cd "$download" && apt-get download "$package=$version") > "$work/download.log" 2>&1; then
			cat "$work/download.log" >&2
			rm -rf "$download"
			santa_skip "cannot download $package=$version (the kernel tests/vm/kernel.pin names); if the archive no longer has it, $moved_on"
		fi
		got=$(santa_vm_sha256_of "$download/$(basename "$deb")")
		if [ "$got" != "$SANTA_VM_KERNEL_SHA256" ]; then
			rm -rf "$download"
			echo "not ok - the downloaded $package=$version has SHA-256 $got, not the $SANTA_VM_KERNEL_SHA256 tests/vm/kernel.pin names (deleted); if the archive rebuilt that version, check it and run tests/vm/update-kernel-pin.sh" >&2
			exit 1
		fi
		mv "$download/$(basename "$deb")" "$deb"
		rm -rf "$download"
	fi
	echo "$deb"
}
