#!/usr/bin/env bash
# The bypass matrix's rows (tests/integration/bypass.sh, same attempts from
# tests/lib/try_exec.sh) tried against fapolicyd, for README's comparison
# column. Two rule sets: "blocklist" (the binary's SHA-256 denied, everything
# else allowed: Santa's BLOCKLIST in MONITOR) and "lockdown" (fapolicyd's
# allow-trusted rules, the binary untrusted: Santa's LOCKDOWN). Private
# mounts in a mount namespace of its own, as everywhere (bench/lib/fapolicyd.sh).
# usage: bench/bypass_fapolicyd.sh   (as root, with fapolicyd installed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/lib/private_tmpfs.sh" "$@"
source "$here/../tests/lib/try_exec.sh"
source "$here/lib/fapolicyd.sh"
if ! fapolicyd_installed; then
	echo "fapolicyd is not installed (apt-get install fapolicyd; its service must not be running)"
	exit 77
fi
mnt=$work/mnt
mkdir -p "$work/mnt2" "$work/links"
mount -t tmpfs -o mode=0755 tmpfs "$work/mnt2"
mount --make-private "$work/mnt2"
bypass_fixtures
# fapolicyd knows the loader by watching its exec (by path): / is watched too, in
# this namespace, with /usr allowed, as a distribution's rules would have it.
export FAP_WATCH_FS=tmpfs,ext4,xfs,btrfs

rows() { # prints "row|outcome" lines for the binary $mnt/blocked
	local t=$mnt/blocked how
	for how in execve fexecve posix_spawn ldso memfd; do echo "$how|$(try "$how" "$t")"; done
	echo "relative path|$(cd "$mnt" && try execve ./blocked)"
	ln -sf "$t" "$mnt/sym"; echo "symlink|$(try execve "$mnt/sym")"
	rm -f "$mnt/hard"; ln "$t" "$mnt/hard"; echo "hard link|$(try execve "$mnt/hard")"
	mv "$t" "$t.renamed"; echo "rename after a decision|$(try execve "$t.renamed")"; mv "$t.renamed" "$t"
	touch "$work/bound"; mount --bind "$t" "$work/bound"
	echo "bind mount|$(try execve "$work/bound")"; umount "$work/bound"
	cp "$t" "$work/mnt2/copy"; echo "copy on another filesystem|$(try execve "$work/mnt2/copy")"
	mkdir -p "$work/lower" "$work/upper" "$work/wk" "$mnt/ovl" "$work/fsrc" "$mnt/fuse" "$mnt/userns"
	cp "$t" "$work/lower/prog"
	mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$work/upper,workdir=$work/wk" "$mnt/ovl"
	sleep 1; echo "copy on an overlayfs mounted later|$(try execve "$mnt/ovl/prog")"; umount "$mnt/ovl"
	if command -v bindfs > /dev/null; then
		cp "$t" "$work/fsrc/prog"; bindfs "$work/fsrc" "$mnt/fuse"
		sleep 1; echo "copy on FUSE (bindfs) mounted later|$(try execve "$mnt/fuse/prog")"
		fusermount -u "$mnt/fuse" 2> /dev/null || umount "$mnt/fuse"
	fi
	chmod 0755 "$work"
	echo "copy on a tmpfs mounted in a user namespace|$(setpriv --reuid=65534 --regid=65534 --clear-groups \
		unshare -Urm sh -c 'mount -t tmpfs -o mode=0755 none "$2" && cp "$1" "$2/p" && sleep 2 &&
			{ "$2/p" x > /dev/null 2>&1 && echo ran || echo denied; }' sh "$t" "$mnt/userns" 2>&1)"
	echo "script run directly|$(try execve "$mnt/blocked.sh")"
	echo "sh script|$(sh "$mnt/blocked.sh" > /dev/null 2>&1 && echo ran || echo denied)"
	install -m 0755 -o nobody "$work/mm-allowed" "$mnt/mm-user"
	try execve "$mnt/mm-user" > /dev/null
	mmap_rewrite "$mnt/mm-user" "$work/mm-blocked"
	echo "rewrite through a shared mmap|$(try execve "$mnt/mm-user")"
	rm -f "$mnt/mm-user" "$work/mnt2/copy"
}

lockdown_rules="deny_audit perm=any pattern=ld_so : all
allow perm=execute all : trust=1
allow perm=execute all : dir=/usr/
allow perm=execute all : dir=/root/
allow perm=open all : ftype=application/x-sharedlib trust=1
deny_audit perm=execute all : all
allow perm=open all : all"
blocklist_rules="deny_audit perm=any pattern=ld_so : all
deny_audit perm=execute all : sha256hash=$blocked_sha
deny_audit perm=execute all : sha256hash=$script_sha
deny_audit perm=execute all : sha256hash=$mm_blocked_sha
allow perm=any all : all"

fapolicyd_start "$blocklist_rules"
try execve "$mnt/blocked" > /dev/null
rows > "$work/blocklist.txt"
echo "control|$(try execve /bin/true)" >> "$work/blocklist.txt"
cp /bin/true "$mnt/ok"; echo "control: ld.so of an allowed program|$(try ldso "$mnt/ok")" >> "$work/blocklist.txt"
fapolicyd_stop
fapolicyd_start "$lockdown_rules"
rows > "$work/lockdown.txt"
fapolicyd_stop

echo "fapolicyd $(dpkg-query -W -f '${Version}' fapolicyd 2>/dev/null || echo '?'): row | blocklist rules | allow-trusted (lockdown) rules"
LC_ALL=C join -t'|' -a1 -e '-' -o 0,1.2,2.2 <(LC_ALL=C sort -t'|' -k1,1 "$work/blocklist.txt") \
	<(LC_ALL=C sort -t'|' -k1,1 "$work/lockdown.txt") |
	sed 's/|/ | /g'
