#!/usr/bin/env bash
# Makes the apt fixtures of tests/unit/test_apt_archive.c with real tools:
# keys from gpg in a throw-away GNUPGHOME (only public keys are kept), a
# Packages file per archive, Releases listing them, signed as apt's servers
# sign them (InRelease clearsigned, Release + detached Release.gpg), and the
# Packages compressed as apt leaves them. The results are committed; run this
# again only to change them (new keys each time: expected.txt follows).
# usage: make-fixtures.sh [OUTDIR]   (default: the directory of this script)
set -euo pipefail
out=${1:-$(cd "$(dirname "$0")" && pwd)}
tmp=$(mktemp -d)
trap 'gpgconf --homedir "$tmp/gnupg" --kill all 2>/dev/null || true; rm -rf "$tmp"' EXIT
export GNUPGHOME=$tmp/gnupg
mkdir -m 700 "$GNUPGHOME"
g() { gpg --batch --quiet --pinentry-mode loopback --passphrase '' "$@"; }

g --quick-gen-key 'Santa Test Archive <test@example>' rsa3072 sign never
g --quick-gen-key 'Santa Test Ed25519 <ed@example>' ed25519 sign never
g --quick-gen-key 'Santa Untrusted <untrusted@example>' ed25519 sign never
fpr_of() { gpg --with-colons --list-keys "$1" | awk -F: '$1=="fpr"{print $10; exit}'; }
rsa=$(fpr_of test@example)
ed=$(fpr_of ed@example)
untrusted=$(fpr_of untrusted@example)
# The Ed25519 key signs with a subkey: signers name the subkey, TEAMID its primary.
g --quick-add-key "$ed" ed25519 sign never
edsub=$(gpg --with-colons --list-keys "$ed" | awk -F: '$1=="fpr"{n++; if(n==2){print $10; exit}}')

rm -rf "$out/lists" "$out/keyring.d" "$out/trusted.gpg" "$out/platform.gpg" "$out/expected.txt"
mkdir -p "$out/lists" "$out/keyring.d"
g --armor --export "$rsa" >"$out/keyring.d/rsa.asc"
g --export "$ed" >"$out/keyring.d/ed25519.gpg"
printf 'not a keyring\n' >"$out/keyring.d/junk.gpg"
printf 'ignored: neither .gpg nor .asc\n' >"$out/keyring.d/README"
g --export "$rsa" "$ed" >"$out/trusted.gpg"
g --export "$ed" >"$out/platform.gpg"

L=$out/lists
P=example.org_debian_dists

cat >"$tmp/stable.Packages" <<'PKG'
Package: hello
Version: 2.10-3
Architecture: amd64
Maintainer: Santa Tests <test@example>
Description: example package based on GNU hello

Package: coreutils
Essential: yes
Version: 9.1-1
Architecture: amd64
Description: GNU core utilities
 This package contains the basic file, shell and text manipulation
 utilities which are expected to exist on every operating system.
 .
 Continuation lines are part of the Description.

Package: tzdata
Version: 2024a-0+deb12u1
Architecture: all
Multi-Arch: foreign

Package: libfoo1
Source: foo (1.0-1)
Version: 1:1.0~rc1-1
Architecture: amd64
Depends: libc6 (>= 2.34)
PKG
cat >"$tmp/testing.Packages" <<'PKG'
Package: hello
Version: 2.10-3
Architecture: amd64

Package: hello
Version: 2.12-1
Architecture: amd64

Package: bash
Version: 5.2.15-2
Architecture: amd64
PKG
cat >"$tmp/old.Packages" <<'PKG'
Package: sed
Version: 4.9-1
Architecture: amd64

Package: hello
Version: 2.10-3
Architecture: amd64
PKG
printf 'Package: evil\nVersion: 1.0\nArchitecture: amd64\n' >"$tmp/tampered.Packages"
printf 'Package: foreignpkg\nVersion: 1.0\nArchitecture: amd64\n' >"$tmp/foreign.Packages"
printf 'Package: badpkg\nVersion: 1.0\nArchitecture: amd64\n' >"$tmp/badsig.Packages"
printf 'Package: unlistedpkg\nVersion: 1.0\nArchitecture: amd64\n' >"$tmp/unlisted.Packages"

# A Release as a Debian mirror writes one: the uncompressed Packages listed
# (with the .xz apt would fetch), MD5Sum before SHA256.
release() { # suite codename packages-file
	local f=$3 gz=$tmp/$1.Packages.xz
	xz -c "$f" >"$gz"
	cat <<REL
Origin: Example
Label: Example Archive
Suite: $1
Codename: $2
Date: Sat, 10 Feb 2024 09:00:00 UTC
Architectures: amd64
Components: main
Description: Santa test archive $1
MD5Sum:
 $(md5sum <"$f" | cut -d' ' -f1) $(stat -c %s "$f") main/binary-amd64/Packages
SHA256:
 $(sha256sum <"$gz" | cut -d' ' -f1) $(stat -c %s "$gz") main/binary-amd64/Packages.xz
 $(sha256sum <"$f" | cut -d' ' -f1) $(stat -c %s "$f") main/binary-amd64/Packages
 $(sha256sum </dev/null | cut -d' ' -f1)        0 main/i18n/Translation-en
REL
}

# stable: InRelease by the RSA key, Packages as lz4 (apt's default recompression).
release stable bookworm "$tmp/stable.Packages" >"$tmp/stable.Release"
g --local-user "$rsa!" --clearsign -o "$L/${P}_stable_InRelease" "$tmp/stable.Release"
lz4 -q -c "$tmp/stable.Packages" >"$L/${P}_stable_main_binary-amd64_Packages.lz4"
# ... and a Packages index its Release does not list.
cp "$tmp/unlisted.Packages" "$L/${P}_stable_contrib_binary-amd64_Packages"

# testing: InRelease by the Ed25519 subkey and the RSA key, Packages as gzip.
release testing trixie "$tmp/testing.Packages" >"$tmp/testing.Release"
g --local-user "$edsub!" --local-user "$rsa!" --clearsign -o "$L/${P}_testing_InRelease" \
	"$tmp/testing.Release"
gzip -n -c "$tmp/testing.Packages" >"$L/${P}_testing_main_binary-amd64_Packages.gz"

# old: Release + detached Release.gpg by the RSA key, Packages as xz.
release old buster "$tmp/old.Packages" >"$L/${P}_old_Release"
g --local-user "$rsa!" --armor --detach-sign -o "$L/${P}_old_Release.gpg" "$L/${P}_old_Release"
xz -c "$tmp/old.Packages" >"$L/${P}_old_main_binary-amd64_Packages.xz"

# tampered: a good InRelease, but one byte of its Packages changed afterwards (1.0 -> 1.1).
release tampered tampered "$tmp/tampered.Packages" >"$tmp/tampered.Release"
g --local-user "$rsa!" --clearsign -o "$L/${P}_tampered_InRelease" "$tmp/tampered.Release"
sed 's/^Version: 1.0$/Version: 1.1/' "$tmp/tampered.Packages" >"$L/${P}_tampered_main_binary-amd64_Packages"

# foreign: signed by a key that is in no keyring given.
release foreign foreign "$tmp/foreign.Packages" >"$tmp/foreign.Release"
g --local-user "$untrusted!" --clearsign -o "$L/${P}_foreign_InRelease" "$tmp/foreign.Release"
cp "$tmp/foreign.Packages" "$L/${P}_foreign_main_binary-amd64_Packages"

# badsig: signed by the RSA key, then its signed text edited (Suite).
release badsig badsig "$tmp/badsig.Packages" >"$tmp/badsig.Release"
g --local-user "$rsa!" --clearsign -o "$tmp/badsig.InRelease" "$tmp/badsig.Release"
sed 's/^Suite: badsig$/Suite: stable/' "$tmp/badsig.InRelease" >"$L/${P}_badsig_InRelease"
cp "$tmp/badsig.Packages" "$L/${P}_badsig_main_binary-amd64_Packages"

# Expected identities: the certificate is SHA-256 over the key packet as the
# v4 fingerprint hashes it (0x99, two-byte length, body).
cert() { # fingerprint of a key or subkey
	g --export "$1" | python3 -c '
import hashlib, sys
data, want, i = sys.stdin.buffer.read(), sys.argv[1].lower(), 0
while i < len(data):
	tag = data[i]; i += 1
	if tag & 0x40:
		t = tag & 0x3f; l = data[i]; i += 1
		if l >= 192 and l < 224: l = ((l - 192) << 8) + data[i] + 192; i += 1
		elif l == 255: l = int.from_bytes(data[i:i+4], "big"); i += 4
	else:
		t = (tag >> 2) & 0xf; lt = tag & 3; n = [1, 2, 4][lt]
		l = int.from_bytes(data[i:i+n], "big"); i += n
	body = data[i:i+l]; i += l
	if t in (6, 14):
		pre = b"\x99" + len(body).to_bytes(2, "big") + body
		if hashlib.sha1(pre).hexdigest() == want:
			print(hashlib.sha256(pre).hexdigest())
' "$1"
}
{
	echo "rsa_fpr $rsa"
	echo "rsa_cert $(cert "$rsa")"
	echo "ed_fpr $ed"
	echo "edsub_fpr $edsub"
	echo "edsub_cert $(cert "$edsub")"
	echo "untrusted_fpr $untrusted"
} >"$out/expected.txt"
echo "fixtures written to $out"
