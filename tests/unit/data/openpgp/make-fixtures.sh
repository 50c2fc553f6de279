#!/usr/bin/env bash
# How the OpenPGP fixtures of tests/unit/test_openpgp.c were made (run once;
# its output is committed). Needs gpg, openssl, python3 with `cryptography`.
# Only public material is kept: the throwaway secret keys die with $GNUPGHOME.
# Re-running makes a new test key and new signatures: update FPR_TEST in
# test_openpgp.c from expected.txt, which this script rewrites.
#  - debian-archive-keyring.gpg, bookworm-stable.asc, bookworm_InRelease:
#    copied from a Debian 12 machine (debian-archive-keyring, apt lists).
#    bookworm_InRelease has three signatures: two RSA subkeys (bookworm,
#    trixie) and the bookworm stable release key (EdDSA).
#  - test-ed25519.asc, data.txt(.sig|.asc), clearsigned.txt: a gpg-made
#    Ed25519 key and its signatures (binary detached, text-mode armored
#    detached, clearsigned).
#  - forged.sig: a v4 signature over data.txt whose hashed issuer
#    fingerprint names Debian's EdDSA key (4D64FEC1...) but which another
#    Ed25519 key made: the digest and its quick check are right, only the
#    key is wrong.
#  - rfc9580-v6-cert.asc, rfc9580-v6-cleartext.txt: RFC 9580 Appendix A.3
#    and A.6 (the sample v6 Ed25519 certificate and a cleartext message it
#    signed).
#  - expected.txt: SHA-256 over 0x99 || len || public-key packet body of
#    two Debian keys, cut from the keyring at offsets gpg --list-packets
#    gives, hashed by openssl: independent of the parser under test.
set -euo pipefail
cd "$(dirname "$0")"

cp /usr/share/keyrings/debian-archive-keyring.gpg .
cp /etc/apt/trusted.gpg.d/debian-archive-bookworm-stable.asc bookworm-stable.asc
cp /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease bookworm_InRelease

GNUPGHOME=$(mktemp -d)
export GNUPGHOME
trap 'gpgconf --kill all; rm -rf "$GNUPGHOME"' EXIT
gpg -q --batch --passphrase '' --quick-gen-key 'Test <t@example>' ed25519 sign 2099-01-01
fpr=$(gpg --with-colons --list-keys t@example | awk -F: '$1 == "fpr" { print $10; exit }')
gpg -q --armor --export "$fpr" > test-ed25519.asc
printf 'Origin: Test\nLabel: Test  \n\n- dashed line\nlast line without a newline' > data.txt
gpg -q --batch --yes -u "$fpr" --digest-algo SHA512 --detach-sign -o data.txt.sig data.txt
gpg -q --batch --yes -u "$fpr" --textmode --armor --detach-sign -o data.txt.asc data.txt
printf 'Origin: Test\nSuite: stable\t \nDescription: signed\n- leading dash\n' |
	gpg -q --batch --yes -u "$fpr" --clearsign > clearsigned.txt
echo "test_fpr $fpr" > expected.txt

python3 - <<'PY'
import hashlib, struct, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
data = open("data.txt", "rb").read()
issuer = bytes.fromhex("4D64FEC119C2029067D6E791F8D2585B8783D481")
def sub(t, body):
    return bytes([1 + len(body), t]) + body
hashed = sub(33, b"\x04" + issuer) + sub(2, struct.pack(">I", int(time.time())))
head = bytes([4, 0x00, 22, 8]) + struct.pack(">H", len(hashed)) + hashed
digest = hashlib.sha256(data + head + b"\x04\xff" + struct.pack(">I", len(head))).digest()
sig = Ed25519PrivateKey.generate().sign(digest)
def mpi(b):
    b = b.lstrip(b"\0")
    return struct.pack(">H", len(b) * 8 - (8 - b[0].bit_length())) + b
unhashed = sub(16, issuer[-8:])
body = head + struct.pack(">H", len(unhashed)) + unhashed + digest[:2] + mpi(sig[:32]) + mpi(sig[32:])
open("forged.sig", "wb").write(bytes([0xC2, len(body)]) + body)
PY

cat > rfc9580-v6-cert.asc <<'A3'
-----BEGIN PGP PUBLIC KEY BLOCK-----

xioGY4d/4xsAAAAg+U2nu0jWCmHlZ3BqZYfQMxmZu52JGggkLq2EVD34laPCsQYf
GwoAAABCBYJjh3/jAwsJBwUVCg4IDAIWAAKbAwIeCSIhBssYbE8GCaaX5NUt+mxy
KwwfHifBilZwj2Ul7Ce62azJBScJAgcCAAAAAK0oIBA+LX0ifsDm185Ecds2v8lw
gyU2kCcUmKfvBXbAf6rhRYWzuQOwEn7E/aLwIwRaLsdry0+VcallHhSu4RN6HWaE
QsiPlR4zxP/TP7mhfVEe7XWPxtnMUMtf15OyA51YBM4qBmOHf+MZAAAAIIaTJINn
+eUBXbki+PSAld2nhJh/LVmFsS+60WyvXkQ1wpsGGBsKAAAALAWCY4d/4wKbDCIh
BssYbE8GCaaX5NUt+mxyKwwfHifBilZwj2Ul7Ce62azJAAAAAAQBIKbpGG2dWTX8
j+VjFM21J0hqWlEg+bdiojWnKfA5AQpWUWtnNwDEM0g12vYxoWM8Y81W+bHBw805
I8kWVkXU6vFOi+HWvv/ira7ofJu16NnoUkhclkUrk0mXubZvyl4GBg==
-----END PGP PUBLIC KEY BLOCK-----
A3
cat > rfc9580-v6-cleartext.txt <<'A6'
-----BEGIN PGP SIGNED MESSAGE-----

What we need from the grocery store:

- - tofu
- - vegetables
- - noodles

-----BEGIN PGP SIGNATURE-----

wpgGARsKAAAAKQWCY5ijYyIhBssYbE8GCaaX5NUt+mxyKwwfHifBilZwj2Ul7Ce6
2azJAAAAAGk2IHZJX1AhiJD39eLuPBgiUU9wUA9VHYblySHkBONKU/usJ9BvuAqo
/FvLFuGWMbKAdA+epq7V4HOtAPlBWmU8QOd6aud+aSunHQaaEJ+iTFjP2OMW0KBr
NK2ay45cX1IVAQ==
-----END PGP SIGNATURE-----
A6

# Certificate SHA-256 of two primaries, from gpg's packet offsets.
cert_sha256() { # keyring offset header_len body_len
	{ printf '\x99'; printf "\\x$(printf %02x $(($4 >> 8)))\\x$(printf %02x $(($4 & 255)))"
	  dd if="$1" bs=1 skip=$(($2 + $3)) count="$4" status=none; } | openssl dgst -sha256 -r | cut -d' ' -f1
}
gpg --list-packets debian-archive-keyring.gpg 2>/dev/null |
	awk '/^# off=.* tag=6 /{ split($2,o,"="); split($5,h,"="); split($6,p,"="); print o[2], h[2], p[2] }' |
	while read -r off hlen plen; do
		fprl=$(dd if=debian-archive-keyring.gpg bs=1 skip=$off count=$((hlen + plen)) status=none |
			gpg --with-colons --show-keys 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }' || true)
		case $fprl in
		B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8|4D64FEC119C2029067D6E791F8D2585B8783D481)
			echo "cert_sha256 $fprl $(cert_sha256 debian-archive-keyring.gpg "$off" "$hlen" "$plen")" >> expected.txt;;
		esac
	done
gpg --show-keys --with-subkey-fingerprints --with-colons debian-archive-keyring.gpg 2>/dev/null |
	awk -F: '$1 == "pub" || $1 == "sub" { kind = $1 } $1 == "fpr" { print kind, $10 }' >> expected.txt
cat expected.txt
