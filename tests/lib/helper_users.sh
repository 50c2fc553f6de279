# santa_helper_users: makes the system users santad runs its helpers as
# (_santasync, _santametric, _santabundle), as the package's postinst does,
# where they are missing. santad starts no helper without them. Sourced by
# tests/lib/private_tmpfs.sh; several tests may race to make one: whoever
# loses finds it made.
santa_helper_users() {
	local spec name comment
	for spec in "_santasync:Santa sync service" "_santametric:Santa metric service" \
		"_santabundle:Santa bundle service"; do
		name=${spec%%:*}
		comment=${spec#*:}
		getent passwd "$name" > /dev/null && continue
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --comment "$comment" "$name" 2> /dev/null ||
			getent passwd "$name" > /dev/null || {
			echo "santa_helper_users: cannot create the user $name" >&2
			return 1
		}
	done
}
