# Sourced by the integration scripts whose binaries run as someone other than
# root: the helpers santad starts as nobody, santactl run through setpriv,
# santa-gui run as a test user. A build tree may sit where those users cannot
# even look (a CI checkout under /root, mode 0700), so such a binary is run
# from a copy under $work instead, which every user can reach.
#
#   santa_install_bins DIR SRC...
#
# copies each SRC (a file, or every regular file of a directory) into DIR,
# root-owned with mode 0755, and makes DIR 0755. That is also what santad asks
# of a program it trusts (root-owned, writable by nobody else: SantactlPath,
# SantaGUIPath, HelperDirectory). Prints nothing; fails, saying why, when a
# directory on the way to DIR is closed to other users.
santa_install_bins() {
	local dir=$1 src f d
	shift
	mkdir -p "$dir"
	chown root:root "$dir"
	chmod 0755 "$dir"
	for src in "$@"; do
		if [ -d "$src" ]; then
			for f in "$src"/*; do
				[ -f "$f" ] || continue
				install -o root -g root -m 0755 "$f" "$dir/"
			done
		else
			install -o root -g root -m 0755 "$src" "$dir/"
		fi
	done
	# Every directory above DIR must let others through, or the copies help nobody.
	d=$(realpath "$dir")
	while [ "$d" != / ]; do
		d=$(dirname "$d")
		if [ "$(($(stat -c '0%a' "$d") & 1))" -eq 0 ]; then
			echo "santa_install_bins: $d is closed to other users: $dir cannot be reached" >&2
			return 1
		fi
	done
}
