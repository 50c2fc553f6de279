# Sourced by the package-trust tests after private_tmpfs.sh ($work, $mnt):
# a fake Debian installation for santad's package trust (docs/package-trust.md).
#
#   $mnt/usr/bin/{tool,other,rogue,later,crit-sh,crit-santa}: root's programs
#   $dpkg    dpkg's admin directory: status and info/*.md5sums for santa-tool
#            1.0-1, santa-other 2.0, santa-rogue 1.0, dash (crit-sh) and santa
#            (crit-santa); santa-later is listed but not installed yet
#   $lists   apt's lists: test.example (signed by the archive key: santa-tool,
#            santa-other, santa-later, santa-new) and rogue.example (signed by
#            a key no keyring holds: santa-rogue)
#   $keys    the trusted keyring (archive.gpg)
#   $team_id, $certificate, $archive_fpr, $other_fpr: the identities
#   md5line FILE, status_entry NAME VERSION, make_archive PREFIX KEY ORIGIN PKG=VER...
#   package_trust_config: the config lines pointing santad at them

command -v gpg > /dev/null || { echo "gpg is needed (scripts/install-deps.sh installs it)"; exit 1; }

# ---- the installation: programs on the watched tmpfs, dpkg's records of them ----
# dpkg's directory is on the watched tmpfs: the maintainer scripts dpkg runs from it are decided.
dpkg=$mnt/var/lib/dpkg
lists=$work/lists
keys=$work/keys
mkdir -p "$dpkg/info" "$lists" "$keys" "$mnt/usr/bin" "$mnt/home/user" "$mnt/etc/cron.daily"
chmod 0755 "$mnt/usr" "$mnt/usr/bin" "$mnt/home" "$mnt/var" "$mnt/var/lib" "$dpkg" "$dpkg/info" \
	"$mnt/etc" "$mnt/etc/cron.daily"
printf '#!/bin/sh\nexit 0\n' > "$dpkg/info/santa-tool.postinst"  # a maintainer script
printf '#!/bin/sh\nexit 0\n' > "$mnt/etc/cron.daily/santa-tool"  # a conffile
chmod 0755 "$dpkg/info/santa-tool.postinst" "$mnt/etc/cron.daily/santa-tool"
install -m 0755 /bin/true "$mnt/usr/bin/tool"      # package santa-tool
install -m 0755 /bin/echo "$mnt/usr/bin/other"     # package santa-other, same archive
install -m 0755 /bin/pwd "$mnt/usr/bin/rogue"      # package santa-rogue, forged archive
install -m 0755 /bin/ls "$mnt/usr/bin/later"       # package santa-later, installed later
install -m 0755 /bin/date "$mnt/usr/bin/crit-sh"   # package dash: critical, rules still count
install -m 0755 /bin/uname "$mnt/usr/bin/crit-santa" # package santa: critical, over any rule
rel() { echo "${1#/}"; }
md5line() { echo "$(md5sum < "$1" | cut -d' ' -f1)  $(rel "$1")"; }
md5line "$mnt/usr/bin/tool" > "$dpkg/info/santa-tool.md5sums"
md5line "$mnt/usr/bin/other" > "$dpkg/info/santa-other:amd64.md5sums"
md5line "$mnt/usr/bin/rogue" > "$dpkg/info/santa-rogue.md5sums"
md5line "$mnt/usr/bin/later" > "$dpkg/info/santa-later.md5sums"
md5line "$mnt/usr/bin/crit-sh" > "$dpkg/info/dash.md5sums"
md5line "$mnt/usr/bin/crit-santa" > "$dpkg/info/santa.md5sums"
: > "$dpkg/diversions"
status_entry() { # NAME VERSION [CONFFILE]
	printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nVersion: %s\n' "$1" "$2"
	[ -z "${3:-}" ] || printf 'Conffiles:\n %s %s\n' "$3" "$(md5sum < "$3" | cut -d' ' -f1)"
	printf 'Description: test\n\n'
}
{ status_entry santa-tool 1.0-1 "$mnt/etc/cron.daily/santa-tool"; status_entry santa-other 2.0; status_entry santa-rogue 1.0
  status_entry dash 0.5.12-2; status_entry santa 0.1.0; } > "$dpkg/status"

# ---- the archives: one signed by the test key, one whose signature is forged ----
export GNUPGHOME=$work/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Santa Test Archive <archive@example.test>' rsa3072 sign never 2> /dev/null
gpg --batch --quiet --passphrase '' --quick-gen-key 'Santa Other Key <other@example.test>' ed25519 sign never 2> /dev/null
fpr_of() { gpg --with-colons --fingerprint "$1" | awk -F: '/^fpr:/ { print $10; exit }'; }
archive_fpr=$(fpr_of archive@example.test)
other_fpr=$(fpr_of other@example.test)
gpg --batch --export "$archive_fpr" > "$keys/archive.gpg"
team_id=${archive_fpr: -10}
# CERTIFICATE: SHA-256 over the key packet as its v4 fingerprint hashes it (0x99, length, body).
certificate=$(python3 - "$keys/archive.gpg" <<'PY'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
tag = data[0]
if tag & 0x40:  # new format
    l = data[1]
    if l < 192: hdr, ln = 2, l
    elif l < 224: hdr, ln = 3, ((l - 192) << 8) + data[2] + 192
    else: hdr, ln = 6, int.from_bytes(data[2:6], "big")
else:
    lt = tag & 3
    hdr = 1 + (1, 2, 4)[lt]
    ln = int.from_bytes(data[1:hdr], "big")
body = data[hdr:hdr + ln]
print(hashlib.sha256(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest())
PY
)
# The forged archive is signed by the other key, which is not in any trusted keyring.
make_archive() { # PREFIX KEYFPR ORIGIN PACKAGES...
	local prefix=$1 key=$2 origin=$3 p
	shift 3
	{
		for p in "$@"; do
			printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nFilename: pool/%s.deb\nSize: 1\n\n' "${p%%=*}" "${p#*=}" "${p%%=*}"
		done
	} > "$work/Packages"
	{
		printf 'Origin: %s\nLabel: %s\nSuite: stable\nCodename: testing-santa\nDate: Mon, 07 Dec 2026 00:00:00 UTC\nArchitectures: amd64\nComponents: main\nSHA256:\n' "$origin" "$origin"
		printf ' %s %s main/binary-amd64/Packages\n' "$(sha256sum < "$work/Packages" | cut -d' ' -f1)" "$(stat -c %s "$work/Packages")"
	} > "$work/Release"
	gpg --batch --yes --quiet --local-user "$key" --clearsign -o "$lists/${prefix}_InRelease" "$work/Release"
	cp "$work/Packages" "$lists/${prefix}_main_binary-amd64_Packages"
}
make_archive test.example_debian_dists_stable "$archive_fpr" "Santa Test" \
	santa-tool=1.0-1 santa-tool=1.1-1 santa-other=2.0 santa-later=3.0 santa-new=1.0
make_archive rogue.example_debian_dists_stable "$other_fpr" "Santa Test" santa-rogue=1.0
chmod -R go-w "$dpkg" "$lists" "$keys"

# Filesystem marks, as in production (the tmpfs is this test's own): a bind mount
# of one of its files in a user's namespace is the same filesystem, and seen.
package_trust_config() {
	printf '%s\n' "PackageTrustDpkgDir = $dpkg" "PackageTrustAptListsDir = $lists" \
		"PackageTrustKeyrings = $keys" "PackageTrustPlatformKeyrings = $keys/none.gpg" \
		"WatchMarkType = filesystem"
}

