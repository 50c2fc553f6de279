/*
 * OpenPGP keyrings and signatures, as far as package trust needs them
 * (include/santa/openpgp.h): packet framing, ASCII armor, v4/v6 public keys,
 * v4/v6 signatures by RSA and Ed25519 keys, verified with OpenSSL.
 *
 * Everything read here comes from files an attacker may have written (a
 * mirror's InRelease, a keyring an admin downloaded): every length is checked
 * against the bytes left before it is used, and what input can grow (keys,
 * signatures, armor, key sizes) is capped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "santa/openpgp.h"

/* Packet tags (RFC 9580 §5). */
#define PGP_TAG_SIGNATURE  2
#define PGP_TAG_PUBLIC_KEY 6
#define PGP_TAG_USER_ID    13
#define PGP_TAG_PUBLIC_SUB 14

/* Public-key algorithms (RFC 9580 §9.1). */
#define PGP_PK_RSA          1
#define PGP_PK_RSA_SIGN     3
#define PGP_PK_EDDSA_LEGACY 22
#define PGP_PK_ED25519      27

/* Signature subpackets (RFC 9580 §5.2.3.7). */
#define PGP_SUB_ISSUER_KEY_ID 16
#define PGP_SUB_ISSUER_FPR    33

#define PGP_SIG_BINARY 0x00
#define PGP_SIG_TEXT   0x01

/*
 * The largest armored block decoded. Debian's whole keyring is 56 KB; an
 * InRelease signature a few KB. The cap keeps EVP_Decode's int lengths safe.
 */
#define PGP_ARMOR_MAX (16u << 20)
/* OpenSSL refuses larger RSA moduli anyway (OPENSSL_RSA_MAX_MODULUS_BITS). */
#define PGP_RSA_MAX_BYTES 2048
/* Key ID collisions within one ring are possible: try a few keys, not all. */
#define PGP_CANDIDATES_MAX 8

/* 1.3.6.1.4.1.11591.15.1: Ed25519 as named by legacy EdDSA keys (RFC 9580 §9.2). */
static const uint8_t oid_ed25519_legacy[] = { 0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01 };

/* What verification needs of a key; freed with the ring. */
struct santa_pgp_key_material {
	uint8_t algo;
	uint8_t ed25519[32];
	size_t n_len;
	size_t e_len;
	uint8_t rsa[]; /* n, then e */
};

struct pgp_packet {
	unsigned tag;
	const uint8_t *body;
	size_t len;
	/* Partial body lengths: allowed only for data packets, which are skipped, so the body is not kept. */
	bool partial;
};

/* One signature packet, pointing into the decoded packet bytes. */
struct pgp_sig {
	uint8_t version;
	uint8_t type;
	uint8_t pk_algo;
	uint8_t hash_algo;
	/* Version octet through the hashed subpackets: what the signature hashes after the data. */
	const uint8_t *hashed;
	size_t hashed_len;
	const uint8_t *salt; /* v6 */
	size_t salt_len;
	uint8_t left16[2];
	/* RSA: s in mpi[0]; legacy EdDSA: r, s; Ed25519 (27): the 64 raw bytes in mpi[0]. */
	const uint8_t *mpi[2];
	size_t mpi_len[2];
	struct santa_pgp_issuer issuer;
	bool has_issuer;
};

/* How the signed data is fed to the hash. */
enum pgp_data_mode {
	PGP_DATA_BINARY,    /* as is */
	PGP_DATA_TEXT,      /* line ends made CRLF (RFC 9580 §5.2.1.2) */
	PGP_DATA_CLEARTEXT, /* dash-escapes undone, trailing blanks dropped, CRLF, no final line end (§7) */
};

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
santa_pgp_hex(const uint8_t *id, size_t len, char *hex)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 0xf];
	}
	hex[2 * len] = '\0';
}

/*
 * Reads the packet at *off: old-format (RFC 4880 §4.2.1) or new-format
 * headers with every length encoding. Returns 1 with *p filled and *off past
 * the packet, 0 at the end of buf, -EBADMSG when the header or a length does
 * not fit in what is left.
 */
static int
pgp_packet_next(const uint8_t *buf, size_t len, size_t *off, struct pgp_packet *p)
{
	size_t o = *off, plen;
	uint8_t ctb, l0;

	if (o >= len)
		return 0;
	ctb = buf[o++];
	if (!(ctb & 0x80))
		return -EBADMSG;
	memset(p, 0, sizeof(*p));
	if (!(ctb & 0x40)) {
		p->tag = (ctb >> 2) & 0x0f;
		switch (ctb & 3) {
		case 0:
			if (len - o < 1)
				return -EBADMSG;
			plen = buf[o];
			o += 1;
			break;
		case 1:
			if (len - o < 2)
				return -EBADMSG;
			plen = (size_t)buf[o] << 8 | buf[o + 1];
			o += 2;
			break;
		case 2:
			if (len - o < 4)
				return -EBADMSG;
			plen = be32(buf + o);
			o += 4;
			break;
		default: /* indeterminate: to the end of the data */
			plen = len - o;
			break;
		}
	} else {
		p->tag = ctb & 0x3f;
		for (;;) {
			if (len - o < 1)
				return -EBADMSG;
			l0 = buf[o++];
			if (l0 < 192) {
				plen = l0;
			} else if (l0 < 224) {
				if (len - o < 1)
					return -EBADMSG;
				plen = ((size_t)(l0 - 192) << 8) + buf[o++] + 192;
			} else if (l0 == 255) {
				if (len - o < 4)
					return -EBADMSG;
				plen = be32(buf + o);
				o += 4;
			} else {
				/* A partial chunk: skip it; a length that is not partial ends the body. */
				plen = (size_t)1 << (l0 & 0x1f);
				if (plen > len - o)
					return -EBADMSG;
				o += plen;
				p->partial = true;
				continue;
			}
			break;
		}
	}
	if (plen > len - o)
		return -EBADMSG;
	if (!p->partial) {
		p->body = buf + o;
		p->len = plen;
	}
	*off = o + plen;
	return 1;
}

/* Reads an MPI at *off: a two-octet bit count, then its octets. Returns 0 or -EBADMSG. */
static int
pgp_mpi(const uint8_t *b, size_t len, size_t *off, const uint8_t **val, size_t *val_len)
{
	size_t bits, n;

	if (len - *off < 2)
		return -EBADMSG;
	bits = (size_t)b[*off] << 8 | b[*off + 1];
	n = (bits + 7) / 8;
	if (n > len - *off - 2)
		return -EBADMSG;
	*val = b + *off + 2;
	*val_len = n;
	*off += 2 + n;
	return 0;
}

/* Leading zero octets carry nothing; dropping them gives the modulus its true size. */
static void
strip_zeros(const uint8_t **v, size_t *len)
{
	while (*len > 0 && **v == 0) {
		(*v)++;
		(*len)--;
	}
}

/*
 * The verification material of a key's algorithm-specific fields (RFC 9580
 * §5.5.5). *out stays NULL for an algorithm not verified here: the key is
 * still listed (its fingerprint names it) but none of its signatures counts.
 * Returns 0, -EBADMSG (fields overrun) or -ENOMEM.
 */
static int
pgp_key_material(uint8_t algo, const uint8_t *m, size_t len, struct santa_pgp_key_material **out)
{
	struct santa_pgp_key_material *km;
	const uint8_t *n, *e, *q;
	size_t off = 0, n_len, e_len, q_len;

	*out = NULL;
	switch (algo) {
	case PGP_PK_RSA:
	case PGP_PK_RSA_SIGN:
		if (pgp_mpi(m, len, &off, &n, &n_len) < 0 || pgp_mpi(m, len, &off, &e, &e_len) < 0)
			return -EBADMSG;
		strip_zeros(&n, &n_len);
		strip_zeros(&e, &e_len);
		if (n_len == 0 || n_len > PGP_RSA_MAX_BYTES || e_len == 0 || e_len > n_len)
			return 0;
		km = calloc(1, sizeof(*km) + n_len + e_len);
		if (!km)
			return -ENOMEM;
		km->algo = algo;
		km->n_len = n_len;
		km->e_len = e_len;
		memcpy(km->rsa, n, n_len);
		memcpy(km->rsa + n_len, e, e_len);
		*out = km;
		return 0;
	case PGP_PK_EDDSA_LEGACY:
		if (len < 1 || m[0] == 0 || m[0] == 0xff || m[0] > len - 1)
			return -EBADMSG;
		off = 1 + (size_t)m[0];
		if (m[0] != sizeof(oid_ed25519_legacy) ||
		    memcmp(m + 1, oid_ed25519_legacy, sizeof(oid_ed25519_legacy)) != 0)
			return 0; /* Ed448 or another curve: not verified here */
		if (pgp_mpi(m, len, &off, &q, &q_len) < 0)
			return -EBADMSG;
		/* The point is native-encoded behind a 0x40 prefix. */
		if (q_len != 33 || q[0] != 0x40)
			return 0;
		km = calloc(1, sizeof(*km));
		if (!km)
			return -ENOMEM;
		km->algo = algo;
		memcpy(km->ed25519, q + 1, 32);
		*out = km;
		return 0;
	case PGP_PK_ED25519:
		if (len < 32)
			return -EBADMSG;
		km = calloc(1, sizeof(*km));
		if (!km)
			return -ENOMEM;
		km->algo = algo;
		memcpy(km->ed25519, m, 32);
		*out = km;
		return 0;
	default:
		return 0;
	}
}

/*
 * Reads a public-key or public-subkey packet body into *k (fingerprints,
 * version, algorithm, material). Returns 0, -ENOTSUP for versions not read
 * here (v3, v5), -EBADMSG, -ENOMEM.
 */
static int
pgp_key_parse(const uint8_t *body, size_t len, struct santa_pgp_key *k)
{
	uint8_t hdr[5];
	size_t hdr_len, mat_off, mat_len;
	unsigned int dlen;
	EVP_MD_CTX *md = NULL;
	int r;

	memset(k, 0, sizeof(*k));
	if (len < 1)
		return -EBADMSG;
	switch (body[0]) {
	case 4:
		if (len < 6 || len > 0xffff)
			return -EBADMSG; /* the fingerprint hashes a two-octet length */
		hdr[0] = 0x99;
		hdr[1] = (uint8_t)(len >> 8);
		hdr[2] = (uint8_t)len;
		hdr_len = 3;
		mat_off = 6;
		mat_len = len - 6;
		break;
	case 6:
		if (len < 10 || be32(body + 6) != len - 10)
			return -EBADMSG;
		hdr[0] = 0x9b;
		hdr[1] = (uint8_t)(len >> 24);
		hdr[2] = (uint8_t)(len >> 16);
		hdr[3] = (uint8_t)(len >> 8);
		hdr[4] = (uint8_t)len;
		hdr_len = 5;
		mat_off = 10;
		mat_len = len - 10;
		break;
	default:
		return -ENOTSUP;
	}
	k->version = body[0];
	k->algo = body[5];

	r = -ENOMEM;
	md = EVP_MD_CTX_new();
	if (!md)
		goto out;
	if (k->version == 4) {
		if (EVP_DigestInit_ex(md, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(md, hdr, hdr_len) != 1 ||
		    EVP_DigestUpdate(md, body, len) != 1 || EVP_DigestFinal_ex(md, k->fpr, &dlen) != 1)
			goto out;
		k->fpr_len = SANTA_PGP_FPR_V4_LEN;
	}
	/* v4: the certificate identifier; v6: the fingerprint itself (same bytes, SHA-256). */
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, hdr, hdr_len) != 1 ||
	    EVP_DigestUpdate(md, body, len) != 1 || EVP_DigestFinal_ex(md, k->sha256, &dlen) != 1)
		goto out;
	if (k->version == 6) {
		memcpy(k->fpr, k->sha256, 32);
		k->fpr_len = 32;
	}
	memcpy(k->primary_fpr, k->fpr, k->fpr_len);
	k->primary_fpr_len = k->fpr_len;
	r = pgp_key_material(k->algo, body + mat_off, mat_len, &k->material);
out:
	EVP_MD_CTX_free(md);
	return r;
}

/* Copies a User ID, cut at a NUL or, when too long, at a UTF-8 character boundary. */
static void
pgp_uid_copy(char *dst, const uint8_t *src, size_t len)
{
	const uint8_t *nul = memchr(src, 0, len);

	if (nul)
		len = (size_t)(nul - src);
	if (len > SANTA_PGP_UID_MAX - 1) {
		len = SANTA_PGP_UID_MAX - 1;
		while (len > 0 && (src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int
ring_append(struct santa_pgp_keyring *ring, size_t *cap, const struct santa_pgp_key *k)
{
	struct santa_pgp_key *keys;
	size_t ncap;

	if (ring->n >= SANTA_PGP_KEYS_MAX)
		return -E2BIG;
	if (ring->n == *cap) {
		ncap = *cap ? *cap * 2 : 16;
		if (ncap > SANTA_PGP_KEYS_MAX)
			ncap = SANTA_PGP_KEYS_MAX;
		keys = realloc(ring->keys, ncap * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		ring->keys = keys;
		*cap = ncap;
	}
	ring->keys[ring->n++] = *k;
	return 0;
}

/*
 * Appends the keys of binary transferable public keys. A key packet that
 * cannot be read (version, truncated fields) is skipped with its subkeys
 * and User IDs; broken framing fails the whole buffer, since nothing after
 * it can be trusted to be where it seems.
 */
static int
keyring_parse_binary(const uint8_t *buf, size_t len, struct santa_pgp_keyring *ring, size_t *cap)
{
	struct pgp_packet p;
	struct santa_pgp_key k;
	size_t off = 0, primary = 0, i;
	bool have_primary = false, uid_set = false;
	int r;

	while ((r = pgp_packet_next(buf, len, &off, &p)) > 0) {
		if (p.partial &&
		    (p.tag == PGP_TAG_PUBLIC_KEY || p.tag == PGP_TAG_PUBLIC_SUB || p.tag == PGP_TAG_USER_ID))
			return -EBADMSG;
		switch (p.tag) {
		case PGP_TAG_PUBLIC_KEY:
			have_primary = false;
			r = pgp_key_parse(p.body, p.len, &k);
			if (r == -ENOMEM)
				return r;
			if (r < 0)
				break;
			if ((r = ring_append(ring, cap, &k)) < 0) {
				free(k.material);
				return r;
			}
			primary = ring->n - 1;
			have_primary = true;
			uid_set = false;
			break;
		case PGP_TAG_PUBLIC_SUB:
			if (!have_primary)
				break;
			r = pgp_key_parse(p.body, p.len, &k);
			if (r == -ENOMEM)
				return r;
			if (r < 0)
				break;
			k.is_subkey = 1;
			memcpy(k.primary_fpr, ring->keys[primary].fpr, SANTA_PGP_FPR_MAX_LEN);
			k.primary_fpr_len = ring->keys[primary].fpr_len;
			memcpy(k.uid, ring->keys[primary].uid, sizeof(k.uid));
			if ((r = ring_append(ring, cap, &k)) < 0) {
				free(k.material);
				return r;
			}
			break;
		case PGP_TAG_USER_ID:
			if (!have_primary || uid_set)
				break;
			uid_set = true;
			/* Subkeys listed before the User ID (unusual, but legal) get it too. */
			for (i = primary; i < ring->n; i++)
				pgp_uid_copy(ring->keys[i].uid, p.body, p.len);
			break;
		case 5: /* secret key: its subkeys and User IDs are not ours either */
			have_primary = false;
			break;
		default:
			break;
		}
	}
	return r;
}

/* The next line of buf from *pos, without its LF; *pos moves past the LF. False at the end. */
static bool
line_next(const char *buf, size_t len, size_t *pos, const char **line, size_t *line_len)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*line = buf + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*line_len = nl ? (size_t)(nl - *line) : len - *pos;
	*pos += *line_len + (nl ? 1 : 0);
	return true;
}

static size_t
rtrim_len(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	return len;
}

static bool
line_is(const char *line, size_t len, const char *want)
{
	len = rtrim_len(line, len);
	return len == strlen(want) && memcmp(line, want, len) == 0;
}

/*
 * Decodes the next armored block "-----BEGIN PGP <label>-----" found at a
 * line start from *pos (RFC 9580 §6.2): armor headers up to the blank line,
 * base64 up to the "=" checksum line or the END line. The checksum is not
 * checked: RFC 9580 §6.1 forbids rejecting on it, and the packets inside
 * carry their own integrity (fingerprints, signatures). Returns 1 with a
 * malloc'd *out, 0 when there is no further block, -EBADMSG (unterminated,
 * bad base64), -E2BIG, -ENOMEM.
 */
static int
armor_next(const char *buf, size_t len, size_t *pos, const char *label, uint8_t **out,
	   size_t *out_len)
{
	char begin[64], end[64];
	const char *line;
	size_t line_len, i, b64_len = 0;
	char *b64 = NULL;
	uint8_t *bin = NULL;
	bool found = false, in_headers = true, ended = false;
	int r, n, total;
	EVP_ENCODE_CTX *ectx = NULL;

	*out = NULL;
	*out_len = 0;
	snprintf(begin, sizeof(begin), "-----BEGIN PGP %s-----", label);
	snprintf(end, sizeof(end), "-----END PGP %s-----", label);
	while (line_next(buf, len, pos, &line, &line_len)) {
		if (line_is(line, line_len, begin)) {
			found = true;
			break;
		}
	}
	if (!found)
		return 0;

	r = -ENOMEM;
	b64 = malloc(len - *pos + 1);
	if (!b64)
		goto out;
	while (line_next(buf, len, pos, &line, &line_len)) {
		line_len = rtrim_len(line, line_len);
		if (line_len >= 9 && memcmp(line, "-----END ", 9) == 0) {
			ended = line_is(line, line_len, end);
			break;
		}
		if (in_headers) {
			if (line_len == 0) {
				in_headers = false;
				continue;
			}
			/* "Key: value"; base64 has no ':', so a line without one is data (no blank line sent). */
			if (memchr(line, ':', line_len))
				continue;
			in_headers = false;
		}
		if (line_len > 0 && line[0] == '=')
			continue; /* CRC24 */
		for (i = 0; i < line_len; i++) {
			if (line[i] != ' ' && line[i] != '\t')
				b64[b64_len++] = line[i];
		}
		if (b64_len > PGP_ARMOR_MAX) {
			r = -E2BIG;
			goto out;
		}
	}
	r = -EBADMSG;
	if (!ended)
		goto out;
	r = -ENOMEM;
	bin = malloc(b64_len / 4 * 3 + 3 + 80);
	ectx = EVP_ENCODE_CTX_new();
	if (!bin || !ectx)
		goto out;
	r = -EBADMSG;
	EVP_DecodeInit(ectx);
	if (EVP_DecodeUpdate(ectx, bin, &n, (const unsigned char *)b64, (int)b64_len) < 0)
		goto out;
	total = n;
	if (EVP_DecodeFinal(ectx, bin + total, &n) != 1)
		goto out;
	total += n;
	*out = bin;
	*out_len = (size_t)total;
	bin = NULL;
	r = 1;
out:
	EVP_ENCODE_CTX_free(ectx);
	free(bin);
	free(b64);
	return r;
}

/* Binary OpenPGP starts with a packet header, which always has its top bit set. */
static bool
is_binary(const uint8_t *buf, size_t len)
{
	return len > 0 && (buf[0] & 0x80);
}

int
santa_pgp_keyring_parse(const void *buf, size_t len, struct santa_pgp_keyring *ring)
{
	size_t before = ring->n, cap = ring->n, pos = 0, bin_len, i;
	uint8_t *bin = NULL;
	int r, blocks = 0;

	/* The ring's capacity is not kept: counting it as n costs at most one early realloc. */
	if (!buf || len == 0) {
		r = -EBADMSG;
		goto out;
	}
	if (is_binary(buf, len)) {
		r = keyring_parse_binary(buf, len, ring, &cap);
		if (r < 0)
			goto out;
	} else {
		while ((r = armor_next(buf, len, &pos, "PUBLIC KEY BLOCK", &bin, &bin_len)) > 0) {
			blocks++;
			r = keyring_parse_binary(bin, bin_len, ring, &cap);
			free(bin);
			bin = NULL;
			if (r < 0)
				goto out;
		}
		if (r < 0)
			goto out;
		if (blocks == 0) {
			r = -EBADMSG;
			goto out;
		}
	}
	r = (int)(ring->n - before);
out:
	if (r < 0) {
		/* All or nothing: a failed file adds no keys. */
		for (i = before; i < ring->n; i++)
			free(ring->keys[i].material);
		ring->n = before;
		if (before == 0) {
			free(ring->keys);
			ring->keys = NULL;
		}
	}
	free(bin);
	return r;
}

void
santa_pgp_keyring_free(struct santa_pgp_keyring *ring)
{
	size_t i;

	if (!ring)
		return;
	for (i = 0; i < ring->n; i++)
		free(ring->keys[i].material);
	free(ring->keys);
	ring->keys = NULL;
	ring->n = 0;
}

/* A v4 key ID is the fingerprint's last 8 octets, a v6 key ID its first 8 (RFC 9580 §5.5.4). */
static bool
key_has_id(const struct santa_pgp_key *k, const uint8_t *id, size_t id_len)
{
	if (id_len == 8) {
		if (k->fpr_len < 8)
			return false;
		if (k->version == 6)
			return memcmp(k->fpr, id, 8) == 0;
		return memcmp(k->fpr + k->fpr_len - 8, id, 8) == 0;
	}
	return k->fpr_len == id_len && memcmp(k->fpr, id, id_len) == 0;
}

const struct santa_pgp_key *
santa_pgp_keyring_find(const struct santa_pgp_keyring *ring, const uint8_t *fpr, size_t fpr_len)
{
	size_t i;

	if (!ring || !fpr || fpr_len == 0)
		return NULL;
	for (i = 0; i < ring->n; i++) {
		if (key_has_id(&ring->keys[i], fpr, fpr_len))
			return &ring->keys[i];
	}
	return NULL;
}

/*
 * Walks one subpacket area (RFC 9580 §5.2.3.7) for the issuer. A
 * fingerprint beats a key ID. Returns 0 or -EBADMSG when a subpacket
 * overruns the area.
 */
static int
pgp_subpackets_issuer(const uint8_t *a, size_t len, struct santa_pgp_issuer *fpr, bool *has_fpr,
		      struct santa_pgp_issuer *kid, bool *has_kid)
{
	size_t off = 0, sl;
	const uint8_t *d;
	uint8_t type;

	while (off < len) {
		if (a[off] < 192) {
			sl = a[off];
			off += 1;
		} else if (a[off] < 255) {
			if (len - off < 2)
				return -EBADMSG;
			sl = ((size_t)(a[off] - 192) << 8) + a[off + 1] + 192;
			off += 2;
		} else {
			if (len - off < 5)
				return -EBADMSG;
			sl = be32(a + off + 1);
			off += 5;
		}
		if (sl < 1 || sl > len - off)
			return -EBADMSG;
		d = a + off;
		off += sl;
		type = d[0] & 0x7f;
		if (type == PGP_SUB_ISSUER_FPR && !*has_fpr) {
			if (sl == 22 && d[1] == 4) {
				memcpy(fpr->id, d + 2, 20);
				fpr->id_len = 20;
				*has_fpr = true;
			} else if (sl == 34 && d[1] == 6) {
				memcpy(fpr->id, d + 2, 32);
				fpr->id_len = 32;
				*has_fpr = true;
			}
		} else if (type == PGP_SUB_ISSUER_KEY_ID && !*has_kid && sl == 9) {
			memcpy(kid->id, d + 1, 8);
			kid->id_len = 8;
			*has_kid = true;
		}
	}
	return 0;
}

static size_t
pgp_salt_len(uint8_t hash_algo)
{
	switch (hash_algo) {
	case 8: /* SHA-256 */
	case 11: /* SHA-224 */
		return 16;
	case 9: /* SHA-384 */
		return 24;
	case 10: /* SHA-512 */
		return 32;
	default:
		return 0;
	}
}

/*
 * Reads a signature packet body (v3 for its issuer only, v4, v6; RFC 9580
 * §5.2). Returns 0, -ENOTSUP (another version) or -EBADMSG.
 */
static int
pgp_sig_parse(const uint8_t *b, size_t len, struct pgp_sig *s)
{
	struct santa_pgp_issuer fpr, kid;
	bool has_fpr = false, has_kid = false;
	size_t off, hl, ul, lw, i;
	const uint8_t *unhashed;

	memset(s, 0, sizeof(*s));
	memset(&fpr, 0, sizeof(fpr));
	memset(&kid, 0, sizeof(kid));
	if (len < 1)
		return -EBADMSG;
	s->version = b[0];
	if (s->version == 3) {
		/* Never verified (RFC 9580 §5.2.2 deprecates it), but its issuer is plain to see. */
		if (len < 19 || b[1] != 5)
			return -EBADMSG;
		s->type = b[2];
		memcpy(s->issuer.id, b + 7, 8);
		s->issuer.id_len = 8;
		s->has_issuer = true;
		s->pk_algo = b[15];
		s->hash_algo = b[16];
		return 0;
	}
	if (s->version != 4 && s->version != 6)
		return -ENOTSUP;
	lw = s->version == 4 ? 2 : 4; /* width of the subpacket area lengths */
	if (len < 4 + lw)
		return -EBADMSG;
	s->type = b[1];
	s->pk_algo = b[2];
	s->hash_algo = b[3];
	hl = lw == 2 ? ((size_t)b[4] << 8 | b[5]) : be32(b + 4);
	off = 4 + lw;
	if (hl > len - off)
		return -EBADMSG;
	if (pgp_subpackets_issuer(b + off, hl, &fpr, &has_fpr, &kid, &has_kid) < 0)
		return -EBADMSG;
	off += hl;
	s->hashed = b;
	s->hashed_len = off;
	if (len - off < lw)
		return -EBADMSG;
	ul = lw == 2 ? ((size_t)b[off] << 8 | b[off + 1]) : be32(b + off);
	off += lw;
	if (ul > len - off)
		return -EBADMSG;
	unhashed = b + off;
	if (pgp_subpackets_issuer(unhashed, ul, &fpr, &has_fpr, &kid, &has_kid) < 0)
		return -EBADMSG;
	off += ul;
	if (len - off < 2)
		return -EBADMSG;
	s->left16[0] = b[off];
	s->left16[1] = b[off + 1];
	off += 2;
	if (s->version == 6) {
		if (len - off < 1 || b[off] > len - off - 1)
			return -EBADMSG;
		s->salt_len = b[off];
		s->salt = b + off + 1;
		off += 1 + s->salt_len;
	}
	if (has_fpr) {
		s->issuer = fpr;
		s->has_issuer = true;
	} else if (has_kid) {
		s->issuer = kid;
		s->has_issuer = true;
	}
	switch (s->pk_algo) {
	case PGP_PK_RSA:
	case PGP_PK_RSA_SIGN:
		return pgp_mpi(b, len, &off, &s->mpi[0], &s->mpi_len[0]);
	case PGP_PK_EDDSA_LEGACY:
		for (i = 0; i < 2; i++) {
			if (pgp_mpi(b, len, &off, &s->mpi[i], &s->mpi_len[i]) < 0)
				return -EBADMSG;
		}
		return 0;
	case PGP_PK_ED25519:
		if (len - off < 64)
			return -EBADMSG;
		s->mpi[0] = b + off;
		s->mpi_len[0] = 64;
		return 0;
	default:
		return 0; /* listed as an issuer, never verified */
	}
}

static const EVP_MD *
pgp_md(uint8_t hash_algo)
{
	switch (hash_algo) {
	case 8:
		return EVP_sha256();
	case 9:
		return EVP_sha384();
	case 10:
		return EVP_sha512();
	case 11:
		return EVP_sha224();
	default:
		return NULL; /* MD5, SHA-1, RIPEMD: collisions make them worthless here */
	}
}

static int
hash_text_crlf(EVP_MD_CTX *md, const uint8_t *d, size_t len)
{
	size_t start = 0, i;

	for (i = 0; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i > 0 && d[i - 1] == '\r') {
			if (EVP_DigestUpdate(md, d + start, i + 1 - start) != 1)
				return -EIO;
		} else if (EVP_DigestUpdate(md, d + start, i - start) != 1 ||
			   EVP_DigestUpdate(md, "\r\n", 2) != 1) {
			return -EIO;
		}
		start = i + 1;
	}
	return EVP_DigestUpdate(md, d + start, len - start) == 1 ? 0 : -EIO;
}

/*
 * The cleartext signature framework's canonical text (RFC 9580 §7, RFC 4880
 * §7.1): text runs to the LF before the signature armor, which belongs to the
 * armor; each line loses a "- " dash-escape and its trailing spaces and tabs,
 * and lines are joined by CRLF.
 */
static int
hash_cleartext(EVP_MD_CTX *md, const char *text, size_t len)
{
	const char *line;
	size_t pos = 0, line_len;
	bool first = true;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	else if (len == 0)
		return 0;
	/* Once the armor's LF is dropped, each LF parts two lines: "" is one empty line, "a\n" is "a" then "". */
	for (;;) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		line = text + pos;
		line_len = nl ? (size_t)(nl - line) : len - pos;
		if (line_len >= 2 && line[0] == '-' && line[1] == ' ') {
			line += 2;
			line_len -= 2;
		}
		line_len = rtrim_len(line, line_len);
		if (!first && EVP_DigestUpdate(md, "\r\n", 2) != 1)
			return -EIO;
		if (EVP_DigestUpdate(md, line, line_len) != 1)
			return -EIO;
		first = false;
		if (!nl)
			break;
		pos = (size_t)(nl - text) + 1;
	}
	return 0;
}

/*
 * The digest a signature signs (RFC 9580 §5.2.4): salt (v6), the data as
 * mode says, the signature's hashed part, and the trailer. Returns the
 * digest length, or -ENOTSUP (hash algorithm not accepted), -EIO.
 */
static int
pgp_sig_digest(const struct pgp_sig *s, const uint8_t *data, size_t data_len, enum pgp_data_mode mode,
	       uint8_t *out)
{
	const EVP_MD *alg = pgp_md(s->hash_algo);
	EVP_MD_CTX *md = NULL;
	uint8_t trailer[6];
	unsigned int dlen = 0;
	int r;

	if (!alg)
		return -ENOTSUP;
	if (s->version == 6 && s->salt_len != pgp_salt_len(s->hash_algo))
		return -ENOTSUP;
	r = -EIO;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, alg, NULL) != 1)
		goto out;
	if (s->version == 6 && EVP_DigestUpdate(md, s->salt, s->salt_len) != 1)
		goto out;
	switch (mode) {
	case PGP_DATA_BINARY:
		if (EVP_DigestUpdate(md, data, data_len) != 1)
			goto out;
		break;
	case PGP_DATA_TEXT:
		if (hash_text_crlf(md, data, data_len) < 0)
			goto out;
		break;
	case PGP_DATA_CLEARTEXT:
		if (hash_cleartext(md, (const char *)data, data_len) < 0)
			goto out;
		break;
	}
	trailer[0] = s->version;
	trailer[1] = 0xff;
	trailer[2] = (uint8_t)(s->hashed_len >> 24);
	trailer[3] = (uint8_t)(s->hashed_len >> 16);
	trailer[4] = (uint8_t)(s->hashed_len >> 8);
	trailer[5] = (uint8_t)s->hashed_len;
	if (EVP_DigestUpdate(md, s->hashed, s->hashed_len) != 1 ||
	    EVP_DigestUpdate(md, trailer, sizeof(trailer)) != 1 || EVP_DigestFinal_ex(md, out, &dlen) != 1)
		goto out;
	r = (int)dlen;
out:
	EVP_MD_CTX_free(md);
	return r;
}

static EVP_PKEY *
rsa_pkey(const struct santa_pgp_key_material *km)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;

	n = BN_bin2bn(km->rsa, (int)km->n_len, NULL);
	e = BN_bin2bn(km->rsa + km->n_len, (int)km->e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/* Left-pads an MPI into a fixed-width big-endian field; false when it does not fit. */
static bool
pad_into(uint8_t *dst, size_t width, const uint8_t *v, size_t len)
{
	strip_zeros(&v, &len);
	if (len > width)
		return false;
	memset(dst, 0, width - len);
	memcpy(dst + width - len, v, len);
	return true;
}

/* Whether key's material verifies s over digest. Any failure, OpenSSL's included, is "no". */
static bool
pgp_sig_verify_key(const struct pgp_sig *s, const struct santa_pgp_key *key, const uint8_t *digest,
		   size_t dlen)
{
	const struct santa_pgp_key_material *km = key->material;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	uint8_t sig[PGP_RSA_MAX_BYTES];
	bool ok = false;

	/* RFC 9580 §5.2.3: v6 keys make only v6 signatures, and v6 signatures come only from v6 keys. */
	if (!km || (s->version == 6) != (key->version == 6))
		return false;
	switch (s->pk_algo) {
	case PGP_PK_RSA:
	case PGP_PK_RSA_SIGN:
		if (km->algo != PGP_PK_RSA && km->algo != PGP_PK_RSA_SIGN)
			goto out;
		/* PKCS#1 wants s exactly as wide as n; OpenPGP's MPI drops its leading zeros. */
		if (!pad_into(sig, km->n_len, s->mpi[0], s->mpi_len[0]))
			goto out;
		pkey = rsa_pkey(km);
		if (!pkey)
			goto out;
		pctx = EVP_PKEY_CTX_new(pkey, NULL);
		if (!pctx || EVP_PKEY_verify_init(pctx) != 1 ||
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(pctx, pgp_md(s->hash_algo)) != 1)
			goto out;
		ok = EVP_PKEY_verify(pctx, sig, km->n_len, digest, dlen) == 1;
		break;
	case PGP_PK_EDDSA_LEGACY:
	case PGP_PK_ED25519:
		if (km->algo != s->pk_algo)
			goto out;
		if (s->pk_algo == PGP_PK_ED25519) {
			memcpy(sig, s->mpi[0], 64);
		} else if (!pad_into(sig, 32, s->mpi[0], s->mpi_len[0]) ||
			   !pad_into(sig + 32, 32, s->mpi[1], s->mpi_len[1])) {
			goto out;
		}
		/* OpenPGP signs the digest with EdDSA, not the data: the digest is the message. */
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, km->ed25519, 32);
		mctx = EVP_MD_CTX_new();
		if (!pkey || !mctx || EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pkey) != 1)
			goto out;
		ok = EVP_DigestVerify(mctx, sig, 64, digest, dlen) == 1;
		break;
	default:
		break;
	}
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	return ok;
}

/*
 * Checks each signature packet of bin against ring and records the keys
 * that made a good one in good (deduplicated, at most max). Returns how
 * many were recorded, or -EBADMSG when bin holds no signature packet.
 */
static int
verify_packets(const uint8_t *bin, size_t bin_len, const uint8_t *data, size_t data_len, bool cleartext,
	       const struct santa_pgp_keyring *ring, const struct santa_pgp_key **good, size_t max)
{
	struct pgp_packet p;
	struct pgp_sig s;
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t off = 0, nsigs = 0, ngood = 0, i, j, tried;
	enum pgp_data_mode mode;
	const struct santa_pgp_key *k;
	int r = 0, dlen;
	bool dup;

	while (nsigs < SANTA_PGP_SIGS_MAX && (r = pgp_packet_next(bin, bin_len, &off, &p)) > 0) {
		if (p.tag != PGP_TAG_SIGNATURE || p.partial)
			continue;
		nsigs++;
		if (pgp_sig_parse(p.body, p.len, &s) < 0 || s.version == 3 || !s.has_issuer)
			continue;
		if (cleartext) {
			if (s.type != PGP_SIG_TEXT)
				continue;
			mode = PGP_DATA_CLEARTEXT;
		} else if (s.type == PGP_SIG_BINARY) {
			mode = PGP_DATA_BINARY;
		} else if (s.type == PGP_SIG_TEXT) {
			mode = PGP_DATA_TEXT;
		} else {
			continue;
		}
		dlen = pgp_sig_digest(&s, data, data_len, mode, digest);
		if (dlen < 2 || memcmp(digest, s.left16, 2) != 0)
			continue;
		tried = 0;
		for (i = 0; i < ring->n && tried < PGP_CANDIDATES_MAX; i++) {
			k = &ring->keys[i];
			if (!key_has_id(k, s.issuer.id, s.issuer.id_len))
				continue;
			tried++;
			if (!pgp_sig_verify_key(&s, k, digest, (size_t)dlen))
				continue;
			dup = false;
			for (j = 0; j < ngood; j++)
				dup = dup || good[j] == k;
			if (!dup && ngood < max)
				good[ngood++] = k;
			break;
		}
	}
	if (r < 0 && nsigs == 0)
		return r;
	return nsigs == 0 ? -EBADMSG : (int)ngood;
}

/* Where a clearsigned document's parts are. */
struct cleartext {
	const char *text; /* after the armor headers' blank line */
	size_t text_len;  /* to the start of the signature armor line */
	const char *sig;  /* from the signature armor line to the end */
	size_t sig_len;
};

/*
 * Splits a clearsigned document (RFC 9580 §7). The document must start with
 * its BEGIN line, as apt requires: text before it would be unsigned text
 * that a reader could take for signed. Returns 0 or -EBADMSG.
 */
static int
cleartext_split(const char *buf, size_t len, struct cleartext *c)
{
	static const char sig_begin[] = "-----BEGIN PGP SIGNATURE-----";
	const char *line;
	size_t pos = 0, line_len, start;

	if (!line_next(buf, len, &pos, &line, &line_len) ||
	    !line_is(line, line_len, "-----BEGIN PGP SIGNED MESSAGE-----"))
		return -EBADMSG;
	/* "Hash:" armor headers, then one blank line. */
	for (;;) {
		if (!line_next(buf, len, &pos, &line, &line_len))
			return -EBADMSG;
		if (rtrim_len(line, line_len) == 0)
			break;
		if (!memchr(line, ':', line_len))
			return -EBADMSG;
	}
	start = pos;
	for (;;) {
		size_t at = pos;

		if (!line_next(buf, len, &pos, &line, &line_len))
			return -EBADMSG;
		if (line_is(line, line_len, sig_begin)) {
			c->text = buf + start;
			c->text_len = at - start;
			c->sig = buf + at;
			c->sig_len = len - at;
			return 0;
		}
	}
}

int
santa_pgp_verify_clearsigned(const void *buf, size_t len, const struct santa_pgp_keyring *ring,
			     const struct santa_pgp_key **good, size_t max, const char **text,
			     size_t *text_len)
{
	struct cleartext c;
	uint8_t *bin = NULL;
	size_t bin_len, pos = 0;
	int r;

	if (text)
		*text = NULL;
	if (text_len)
		*text_len = 0;
	if (!buf || !ring || (max > 0 && !good))
		return -EINVAL;
	r = cleartext_split(buf, len, &c);
	if (r < 0)
		goto out;
	r = armor_next(c.sig, c.sig_len, &pos, "SIGNATURE", &bin, &bin_len);
	if (r == 0)
		r = -EBADMSG;
	if (r < 0)
		goto out;
	r = verify_packets(bin, bin_len, (const uint8_t *)c.text, c.text_len, true, ring, good, max);
	if (r < 0)
		goto out;
	if (text)
		*text = c.text;
	if (text_len)
		*text_len = c.text_len;
out:
	free(bin);
	return r;
}

/* The signature packets of a detached signature: binary as is, or the first armored block decoded. */
static int
detached_packets(const void *sig, size_t sig_len, uint8_t **bin, size_t *bin_len)
{
	size_t pos = 0;
	int r;

	*bin = NULL;
	if (!sig || sig_len == 0)
		return -EBADMSG;
	if (is_binary(sig, sig_len)) {
		*bin = malloc(sig_len);
		if (!*bin)
			return -ENOMEM;
		memcpy(*bin, sig, sig_len);
		*bin_len = sig_len;
		return 0;
	}
	r = armor_next(sig, sig_len, &pos, "SIGNATURE", bin, bin_len);
	return r == 0 ? -EBADMSG : r < 0 ? r : 0;
}

int
santa_pgp_verify_detached(const void *sig, size_t sig_len, const void *data, size_t data_len,
			  const struct santa_pgp_keyring *ring, const struct santa_pgp_key **good,
			  size_t max)
{
	uint8_t *bin = NULL;
	size_t bin_len = 0;
	int r;

	if (!ring || (!data && data_len > 0) || (max > 0 && !good))
		return -EINVAL;
	r = detached_packets(sig, sig_len, &bin, &bin_len);
	if (r < 0)
		goto out;
	r = verify_packets(bin, bin_len, data, data_len, false, ring, good, max);
out:
	free(bin);
	return r;
}

int
santa_pgp_signature_issuers(const void *buf, size_t len, struct santa_pgp_issuer *out, size_t max,
			    const char **text, size_t *text_len)
{
	struct cleartext c;
	struct pgp_packet p;
	struct pgp_sig s;
	uint8_t *bin = NULL;
	size_t bin_len = 0, pos = 0, off = 0, n = 0, nsigs = 0;
	bool clear;
	int r;

	if (text)
		*text = NULL;
	if (text_len)
		*text_len = 0;
	if (!buf || (max > 0 && !out))
		return -EINVAL;
	clear = cleartext_split(buf, len, &c) == 0;
	if (clear) {
		r = armor_next(c.sig, c.sig_len, &pos, "SIGNATURE", &bin, &bin_len);
		if (r == 0)
			r = -EBADMSG;
	} else {
		r = detached_packets(buf, len, &bin, &bin_len);
	}
	if (r < 0)
		goto out;
	while (nsigs < SANTA_PGP_SIGS_MAX && (r = pgp_packet_next(bin, bin_len, &off, &p)) > 0) {
		if (p.tag != PGP_TAG_SIGNATURE || p.partial)
			continue;
		nsigs++;
		if (pgp_sig_parse(p.body, p.len, &s) < 0 || !s.has_issuer || n >= max)
			continue;
		out[n++] = s.issuer;
	}
	if (nsigs == 0) {
		r = -EBADMSG;
		goto out;
	}
	if (clear && text)
		*text = c.text;
	if (clear && text_len)
		*text_len = c.text_len;
	r = (int)n;
out:
	free(bin);
	return r;
}
