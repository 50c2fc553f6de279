/*
 * Just enough OpenPGP (RFC 4880 / RFC 9580 packet framing) to name the keys
 * apt trusts and the keys that signed an archive's Release file.
 *
 * Signatures are verified here, with OpenSSL, rather than trusted because
 * apt wrote the file: apt accepts a Release when *one* signature is good and
 * tolerates signatures by keys it was not given (Signed-By), so a signature
 * packet that merely names Debian's key proves nothing. Only a signature that
 * verifies against a key of the trusted keyrings gives an archive its
 * identity (docs/package-trust.md). Expiry and revocation are apt's checks,
 * made when it fetched the file.
 *
 * All input is treated as hostile: every length is checked against what is
 * left, packets and keys are capped, and a malformed packet is skipped or
 * reported, never read past.
 */
#ifndef SANTA_OPENPGP_H
#define SANTA_OPENPGP_H

#include <stddef.h>
#include <stdint.h>

#define SANTA_PGP_FPR_V4_LEN   20 /* SHA-1 v4 fingerprint */
#define SANTA_PGP_FPR_MAX_LEN  32 /* v5/v6 fingerprints are SHA-256 */
#define SANTA_PGP_KEYS_MAX     4096 /* keys (primaries + subkeys) kept from one keyring */
#define SANTA_PGP_SIGS_MAX     16   /* signatures kept from one Release */
#define SANTA_PGP_UID_MAX      256

/* What verification needs of a key (RSA n, e; an Ed25519 point): private to openpgp.c. */
struct santa_pgp_key_material;

struct santa_pgp_key {
	/* The key's own fingerprint (v4: SHA-1, 20 bytes; v6: SHA-256, 32 bytes). */
	uint8_t fpr[SANTA_PGP_FPR_MAX_LEN];
	uint8_t fpr_len;
	uint8_t version; /* 4 or 6 (v3 and v5 keys are skipped) */
	uint8_t algo;    /* public-key algorithm (RFC 9580 §9.1): 1, 3 RSA; 22 EdDSA; 27 Ed25519; ... */
	/*
	 * SHA-256 over the same bytes the v4 fingerprint hashes (0x99, two-byte
	 * length, public-key packet body); for v6 keys, the v6 fingerprint itself.
	 * This is the key's CERTIFICATE identifier (docs/package-trust.md).
	 */
	uint8_t sha256[32];
	/* For a subkey, its primary key's fingerprint; for a primary, its own. */
	uint8_t primary_fpr[SANTA_PGP_FPR_MAX_LEN];
	uint8_t primary_fpr_len;
	int is_subkey;
	/* The primary's first User ID (for a subkey: its primary's), NUL-terminated, may be empty. */
	char uid[SANTA_PGP_UID_MAX];
	/*
	 * Owned by the ring, freed by santa_pgp_keyring_free; NULL for an
	 * algorithm not verified here. Copying a key struct does not copy it:
	 * use keys through the ring, or not past its life.
	 */
	struct santa_pgp_key_material *material;
};

struct santa_pgp_keyring {
	struct santa_pgp_key *keys;
	size_t n;
};

/*
 * Parses a keyring: binary (a .gpg file: transferable public keys back to
 * back) or ASCII-armored (a .asc file, "-----BEGIN PGP PUBLIC KEY BLOCK-----",
 * possibly several blocks). Keys are appended to ring (so several files can
 * be read into one ring); packets other than public keys, subkeys and user
 * IDs are skipped, and so is a key of a version other than 4 or 6 or whose
 * fields cannot be read, with its subkeys. A key of an algorithm not
 * verified here is kept (its fingerprint names it; material is NULL).
 * Partial body lengths in key or User ID packets are refused (RFC 9580
 * allows them only for data packets). All or nothing: on error, ring is as
 * it was. Returns the number of keys added (>= 0), or -EBADMSG (no OpenPGP
 * data at all, broken packet framing or armor), -E2BIG (more than
 * SANTA_PGP_KEYS_MAX keys in ring, or an armored block over 16 MiB), -ENOMEM.
 */
int santa_pgp_keyring_parse(const void *buf, size_t len, struct santa_pgp_keyring *ring);
void santa_pgp_keyring_free(struct santa_pgp_keyring *ring);

/*
 * The first key whose fingerprint is fpr (fpr_len bytes) or, when fpr_len == 8,
 * whose key ID it is (v4: the fingerprint's last 8 bytes; v6: its first 8).
 * NULL if none.
 */
const struct santa_pgp_key *santa_pgp_keyring_find(const struct santa_pgp_keyring *ring,
						    const uint8_t *fpr, size_t fpr_len);

/* Who made one signature: an issuer fingerprint (subpacket 33) if present, else the key ID (subpacket 16). */
struct santa_pgp_issuer {
	uint8_t id[SANTA_PGP_FPR_MAX_LEN];
	uint8_t id_len; /* 20 or 32: a fingerprint; 8: a key ID only */
};

/*
 * The issuers of the signatures of a clearsigned document (an InRelease
 * file: "-----BEGIN PGP SIGNED MESSAGE-----" ... "-----BEGIN PGP SIGNATURE-----")
 * or of a detached signature (Release.gpg, armored or binary). At most max
 * issuers are written. When text and text_len are not NULL and buf is
 * clearsigned, *text and *text_len point into buf at the signed text (after the
 * Hash: headers and blank line, before the signature armor; dash-escaping is
 * not undone: Release files never start a line with '-'; the text ends with
 * the line break before the armor). A clearsigned document must start with
 * its BEGIN line. Only the first SANTA_PGP_SIGS_MAX signature packets are
 * looked at; one without an issuer subpacket is left out. Returns the
 * number of issuers written (0 <= n <= max), -EBADMSG (no signature packet
 * found) or -EINVAL.
 */
int santa_pgp_signature_issuers(const void *buf, size_t len, struct santa_pgp_issuer *out,
				size_t max, const char **text, size_t *text_len);

/*
 * Verifies the signatures of a clearsigned document (InRelease) against
 * ring: the signed text is canonicalised as OpenPGP requires (trailing
 * spaces and tabs dropped, CRLF line ends, dash-escapes undone) and each
 * signature packet checked with OpenSSL. Supported: RSA (1, 3) and EdDSA
 * (22 with Ed25519, 27) keys, v4 and v6 signatures of type 0x01 (canonical
 * text), SHA-224/256/384/512 digests; any other signature, and one whose
 * issuer (subpacket 33, else 16) is not in ring, is not counted. Only the
 * first SANTA_PGP_SIGS_MAX signature packets are looked at. Writes the keys
 * that made a good signature to good, each once (at most max: pass
 * SANTA_PGP_SIGS_MAX to get all) and, when text is not NULL, the signed text
 * as it stands in buf (as santa_pgp_signature_issuers gives it). Returns the
 * number of keys written (0 <= n <= max), -EBADMSG (not a clearsigned
 * document, or no signature packet in it) or -EINVAL.
 */
int santa_pgp_verify_clearsigned(const void *buf, size_t len, const struct santa_pgp_keyring *ring,
				 const struct santa_pgp_key **good, size_t max, const char **text,
				 size_t *text_len);

/*
 * The same for a detached signature (Release.gpg, armored or binary) over
 * data: type 0x00 signatures hash data as it is, type 0x01 with its line
 * ends made CRLF (RFC 9580 §5.2.1.2; no trailing-blank stripping there).
 */
int santa_pgp_verify_detached(const void *sig, size_t sig_len, const void *data, size_t data_len,
			      const struct santa_pgp_keyring *ring, const struct santa_pgp_key **good,
			      size_t max);

/* Upper-case hex of a fingerprint or key ID; hex holds 2 * len + 1 bytes. */
void santa_pgp_hex(const uint8_t *id, size_t len, char *hex);

#endif
