/*
 * lib/pkgtrust/openpgp.c against real keyrings and signatures: Debian's
 * archive keyring and a bookworm InRelease (two RSA subkeys, one EdDSA key),
 * a gpg-made Ed25519 key with its signatures, RFC 9580's v6 sample, and a
 * signature that names a Debian key but was made by another
 * (tests/unit/data/openpgp/make-fixtures.sh says how each was made).
 * Expected fingerprints come from gpg --show-keys, certificate hashes from
 * openssl over the packet bytes gpg --list-packets locates.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "santa/openpgp.h"

/* gpg --show-keys --with-subkey-fingerprints debian-archive-keyring.gpg, in file order. */
static const struct {
	const char *fpr;
	const char *primary;
} debian_keys[] = {
	{ "1F89983E0081FDE018F3CC9673A4F27B8DD47936", NULL },
	{ "A7236886F3CCCAAD148A27F80E98404D386FA1D9", "1F89983E0081FDE018F3CC9673A4F27B8DD47936" },
	{ "AC530D520F2F3269F5E98313A48449044AAD5C5D", NULL },
	{ "ED541312A33F1128F10B1C6C54404762BBB6E853", "AC530D520F2F3269F5E98313A48449044AAD5C5D" },
	{ "A4285295FC7B1A81600062A9605C66F00D6C9793", NULL },
	{ "4D64FEC119C2029067D6E791F8D2585B8783D481", NULL },
	{ "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8", NULL },
	{ "4CB50190207B4758A3F73A796ED0E7B82643E131", "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8" },
	{ "05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0", NULL },
	{ "B0CAB9266E8C3929798B3EEEBDE6D2B9216EC7A8", "05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0" },
	{ "04B54C3CDCA79751B16BC6B5225629DF75B188BD", NULL },
	{ "B8E5F13176D2A7A75220028078DBA3BC47EF2265", "04B54C3CDCA79751B16BC6B5225629DF75B188BD" },
	{ "5E04A1E3223A19A20706E20F9904613D4CCE68C6", NULL },
	{ "89C87ACEA5DD6B8E6A7068808E9F831205B4BA95", "5E04A1E3223A19A20706E20F9904613D4CCE68C6" },
	{ "41587F7DB8C774BCCF131416762F67A0B2C39DE4", NULL },
};

#define FPR_BOOKWORM_RSA  "4CB50190207B4758A3F73A796ED0E7B82643E131"
#define FPR_TRIXIE_RSA    "B8E5F13176D2A7A75220028078DBA3BC47EF2265"
#define FPR_BOOKWORM_EDDSA "4D64FEC119C2029067D6E791F8D2585B8783D481"
/* SHA-256(0x99 || len || body), from openssl over the packet gpg --list-packets locates. */
#define CERT_BOOKWORM_EDDSA "24C7495066409981E2CF85EAD51E3A3227B9D26B90AAC1276CF0D96492AAAC4D"
#define CERT_BOOKWORM_PRIMARY "125FBD3E2AFA8DA5BFE5AA41E60160037FBCD45FABCE3F7E7D75A1821BC8A37F"
/* The gpg-made test key (make-fixtures.sh). */
#define FPR_TEST "E36C463F4B7D8E461664D395F776BC36E46D894A"
/* RFC 9580 Appendix A.3: the v6 primary, and its X25519 subkey (as A.8's PKESK names it). */
#define FPR_V6     "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9"
#define FPR_V6_SUB "12C83F1E706F6308FE151A417743A1F033790E93E9978488D1DB378DA9930885"

static char *
fixture(const char *name, size_t *len)
{
	char path[1024];
	const char *dir = getenv("SANTA_TEST_DATA");
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/openpgp/%s", dir ? dir : "tests/unit/data", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
load_ring(struct santa_pgp_keyring *ring, const char *name, int want)
{
	size_t len;
	char *buf = fixture(name, &len);

	assert_int_equal(santa_pgp_keyring_parse(buf, len, ring), want);
	free(buf);
}

static const char *
hex(const uint8_t *id, size_t len)
{
	static char out[2 * SANTA_PGP_FPR_MAX_LEN + 1];

	assert_true(len <= SANTA_PGP_FPR_MAX_LEN);
	santa_pgp_hex(id, len, out);
	return out;
}

static void
unhex(const char *s, uint8_t *out, size_t *len)
{
	size_t i, n = strlen(s) / 2;

	for (i = 0; i < n; i++)
		assert_int_equal(sscanf(s + 2 * i, "%2hhx", &out[i]), 1);
	*len = n;
}

static const struct santa_pgp_key *
find(const struct santa_pgp_keyring *ring, const char *fpr_hex)
{
	uint8_t id[SANTA_PGP_FPR_MAX_LEN];
	size_t len;

	unhex(fpr_hex, id, &len);
	return santa_pgp_keyring_find(ring, id, len);
}

/* Whether good[0..n) holds the key with this fingerprint. */
static bool
has_good(const struct santa_pgp_key **good, int n, const char *fpr_hex)
{
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(hex(good[i]->fpr, good[i]->fpr_len), fpr_hex) == 0)
			return true;
	}
	return false;
}

/* Replaces the first occurrence of from in doc (len) by to; returns the new buffer and length. */
static char *
edit(const char *doc, size_t len, const char *from, const char *to, size_t *nlen)
{
	const char *at = strstr(doc, from);
	size_t off, fl = strlen(from), tl = strlen(to);
	char *out;

	assert_non_null(at);
	off = (size_t)(at - doc);
	out = malloc(len - fl + tl + 1);
	assert_non_null(out);
	memcpy(out, doc, off);
	memcpy(out + off, to, tl);
	memcpy(out + off + tl, at + fl, len - off - fl);
	*nlen = len - fl + tl;
	out[*nlen] = '\0';
	return out;
}

static void
test_binary_keyring(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	const struct santa_pgp_key *k;
	uint8_t kid[8];
	size_t i, n = sizeof(debian_keys) / sizeof(debian_keys[0]);

	load_ring(&ring, "debian-archive-keyring.gpg", (int)n);
	assert_int_equal(ring.n, n);
	for (i = 0; i < n; i++) {
		k = &ring.keys[i];
		assert_string_equal(hex(k->fpr, k->fpr_len), debian_keys[i].fpr);
		assert_int_equal(k->version, 4);
		assert_int_equal(k->is_subkey, debian_keys[i].primary != NULL);
		assert_string_equal(hex(k->primary_fpr, k->primary_fpr_len),
				    debian_keys[i].primary ? debian_keys[i].primary : debian_keys[i].fpr);
		assert_non_null(k->material); /* RSA or Ed25519: all verifiable */
	}
	k = find(&ring, FPR_BOOKWORM_RSA);
	assert_non_null(k);
	assert_int_equal(k->algo, 1);
	assert_string_equal(k->uid, "Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>");
	k = find(&ring, "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8");
	assert_string_equal(hex(k->sha256, 32), CERT_BOOKWORM_PRIMARY);
	k = find(&ring, FPR_BOOKWORM_EDDSA);
	assert_int_equal(k->algo, 22);
	assert_string_equal(hex(k->sha256, 32), CERT_BOOKWORM_EDDSA);
	assert_string_equal(k->uid, "Debian Stable Release Key (12/bookworm) <debian-release@lists.debian.org>");

	/* A key ID is a v4 fingerprint's last 8 bytes. */
	memcpy(kid, ring.keys[7].fpr + 12, 8);
	assert_ptr_equal(santa_pgp_keyring_find(&ring, kid, 8), &ring.keys[7]);
	kid[0] ^= 1;
	assert_null(santa_pgp_keyring_find(&ring, kid, 8));
	assert_null(find(&ring, FPR_TEST));
	santa_pgp_keyring_free(&ring);
	assert_null(ring.keys);
	assert_int_equal(ring.n, 0);
}

static void
test_armored_keyrings(void **state)
{
	struct santa_pgp_keyring ring = { 0 }, bin = { 0 };
	size_t alen, tlen, len, mlen, i, o;
	char *a = fixture("bookworm-stable.asc", &alen);
	char *t = fixture("test-ed25519.asc", &tlen);
	char *both, *crlf, *m, *crc;
	const struct santa_pgp_key *k;

	load_ring(&ring, "bookworm-stable.asc", 1);
	assert_string_equal(hex(ring.keys[0].fpr, 20), FPR_BOOKWORM_EDDSA);
	assert_string_equal(hex(ring.keys[0].sha256, 32), CERT_BOOKWORM_EDDSA);
	assert_string_equal(ring.keys[0].uid,
			    "Debian Stable Release Key (12/bookworm) <debian-release@lists.debian.org>");
	/* Keys are appended: the binary keyring's copy of the same key reads the same. */
	load_ring(&bin, "debian-archive-keyring.gpg", 15);
	k = find(&bin, FPR_BOOKWORM_EDDSA);
	assert_memory_equal(k->sha256, ring.keys[0].sha256, 32);
	santa_pgp_keyring_free(&bin);
	load_ring(&ring, "test-ed25519.asc", 1);
	assert_int_equal(ring.n, 2);
	assert_string_equal(hex(ring.keys[1].fpr, 20), FPR_TEST);
	assert_string_equal(ring.keys[1].uid, "Test <t@example>");
	santa_pgp_keyring_free(&ring);

	/* Two blocks in one file, the second with armor headers, CRLF line ends and no CRC. */
	m = edit(t, tlen, "BLOCK-----\n\n", "BLOCK-----\nComment: x: y\nVersion: 1\n\n", &mlen);
	crc = strstr(m, "\n=");
	assert_non_null(crc);
	o = (size_t)(strchr(crc + 1, '\n') - crc);
	memmove(crc, crc + o, mlen - (size_t)(crc - m) - o + 1);
	mlen -= o;
	both = calloc(1, alen + 1 + 2 * mlen);
	assert_non_null(both);
	memcpy(both, a, alen);
	len = alen;
	both[len++] = '\n';
	for (i = 0; i < mlen; i++) {
		if (m[i] == '\n')
			both[len++] = '\r';
		both[len++] = m[i];
	}
	free(m);
	assert_int_equal(santa_pgp_keyring_parse(both, len, &ring), 2);
	assert_string_equal(hex(ring.keys[0].fpr, 20), FPR_BOOKWORM_EDDSA);
	assert_string_equal(hex(ring.keys[1].fpr, 20), FPR_TEST);
	santa_pgp_keyring_free(&ring);

	/* A corrupted base64 body is an error, and an error adds nothing. */
	crlf = strdup(a);
	o = (size_t)(strstr(crlf, "mDMEY") - crlf);
	crlf[o + 3] = '*';
	load_ring(&ring, "test-ed25519.asc", 1);
	assert_int_equal(santa_pgp_keyring_parse(crlf, alen, &ring), -EBADMSG);
	assert_int_equal(ring.n, 1);
	/* Unterminated armor. */
	assert_int_equal(santa_pgp_keyring_parse(a, alen - 40, &ring), -EBADMSG);
	assert_int_equal(ring.n, 1);
	santa_pgp_keyring_free(&ring);
	free(crlf);
	free(both);
	free(a);
	free(t);
}

static void
test_v6_certificate(void **state)
{
	struct santa_pgp_keyring ring = { 0 };

	load_ring(&ring, "rfc9580-v6-cert.asc", 2);
	assert_int_equal(ring.keys[0].version, 6);
	assert_int_equal(ring.keys[0].algo, 27);
	assert_int_equal(ring.keys[0].fpr_len, 32);
	assert_string_equal(hex(ring.keys[0].fpr, 32), FPR_V6);
	assert_memory_equal(ring.keys[0].sha256, ring.keys[0].fpr, 32);
	assert_true(ring.keys[1].is_subkey);
	assert_int_equal(ring.keys[1].algo, 25); /* X25519: listed, not a signing key */
	assert_null(ring.keys[1].material);
	assert_string_equal(hex(ring.keys[1].fpr, 32), FPR_V6_SUB);
	assert_string_equal(hex(ring.keys[1].primary_fpr, ring.keys[1].primary_fpr_len), FPR_V6);
	/* A v6 key ID is the fingerprint's first 8 bytes. */
	assert_ptr_equal(santa_pgp_keyring_find(&ring, ring.keys[0].fpr, 8), &ring.keys[0]);
	santa_pgp_keyring_free(&ring);
}

/* Every header encoding RFC 4880/9580 allows, around the same key packet. */
static void
test_packet_framing(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	size_t len, i, blen = 51;
	uint8_t *kr = (uint8_t *)fixture("debian-archive-keyring.gpg", &len);
	const uint8_t *body = kr + 19862 + 2; /* gpg --list-packets: off=19862 hlen=2 plen=51, the EdDSA key */
	const uint8_t *rsa = kr + 3; /* off=0 hlen=3 plen=525 */
	uint8_t buf[1024];
	/* Header length, then the header. */
	static const uint8_t hdrs[][7] = {
		{ 2, 0x98, 51 },                /* old, 1-octet length */
		{ 3, 0x99, 0, 51 },             /* old, 2-octet */
		{ 5, 0x9a, 0, 0, 0, 51 },       /* old, 4-octet */
		{ 1, 0x9b },                    /* old, indeterminate */
		{ 2, 0xc6, 51 },                /* new, 1-octet */
		{ 6, 0xc6, 0xff, 0, 0, 0, 51 }, /* new, 5-octet */
	};

	assert_int_equal(kr[19862], 0x98);
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		memcpy(buf, hdrs[i] + 1, hdrs[i][0]);
		memcpy(buf + hdrs[i][0], body, blen);
		assert_int_equal(santa_pgp_keyring_parse(buf, hdrs[i][0] + blen, &ring), 1);
		assert_string_equal(hex(ring.keys[0].fpr, 20), FPR_BOOKWORM_EDDSA);
		santa_pgp_keyring_free(&ring);
	}
	/* New format, 2-octet length (192..8383): the 525-octet RSA key. */
	buf[0] = 0xc6;
	buf[1] = (uint8_t)(((525 - 192) >> 8) + 192);
	buf[2] = (uint8_t)((525 - 192) & 0xff);
	memcpy(buf + 3, rsa, 525);
	assert_int_equal(santa_pgp_keyring_parse(buf, 528, &ring), 1);
	assert_string_equal(hex(ring.keys[0].fpr, 20), debian_keys[0].fpr);
	santa_pgp_keyring_free(&ring);

	/* A literal data packet in partial lengths (2 + 1 + 0 octets) is skipped; the key after it is read. */
	i = 0;
	buf[i++] = 0xcb;
	buf[i++] = 0xe1; /* partial, 2 octets */
	buf[i++] = 'a';
	buf[i++] = 'b';
	buf[i++] = 0xe0; /* partial, 1 octet */
	buf[i++] = 'c';
	buf[i++] = 0; /* last chunk, 0 octets */
	buf[i++] = 0x98;
	buf[i++] = 51;
	memcpy(buf + i, body, blen);
	assert_int_equal(santa_pgp_keyring_parse(buf, i + blen, &ring), 1);
	santa_pgp_keyring_free(&ring);
	/* A key packet in partial lengths is refused. */
	buf[0] = 0xc6;
	buf[1] = 0xe5; /* 32 octets */
	memcpy(buf + 2, body, 32);
	buf[34] = (uint8_t)(blen - 32);
	memcpy(buf + 35, body + 32, blen - 32);
	assert_int_equal(santa_pgp_keyring_parse(buf, 35 + blen - 32, &ring), -EBADMSG);
	/* Lengths past the end, headers cut short, no packet at all. */
	buf[0] = 0x98;
	buf[1] = 52;
	memcpy(buf + 2, body, blen);
	assert_int_equal(santa_pgp_keyring_parse(buf, 2 + blen, &ring), -EBADMSG);
	assert_int_equal(santa_pgp_keyring_parse("\xc6\xff\x00", 3, &ring), -EBADMSG);
	assert_int_equal(santa_pgp_keyring_parse("\xc6", 1, &ring), -EBADMSG);
	assert_int_equal(santa_pgp_keyring_parse("\x9a\xff\xff\xff\xff", 5, &ring), -EBADMSG);
	assert_int_equal(santa_pgp_keyring_parse("hello, world\n", 13, &ring), -EBADMSG);
	assert_int_equal(santa_pgp_keyring_parse("", 0, &ring), -EBADMSG);
	/* The keyring cut anywhere: an error or fewer keys, never a crash or a key too many. */
	for (i = 1; i < len; i += 97) {
		int r = santa_pgp_keyring_parse(kr, i, &ring);

		assert_true(r == -EBADMSG || (r >= 0 && r <= 15));
		assert_int_equal(ring.n, r < 0 ? 0 : (size_t)r);
		santa_pgp_keyring_free(&ring);
	}
	assert_int_equal(santa_pgp_keyring_parse(kr, len - 1, &ring), -EBADMSG);
	assert_int_equal(ring.n, 0);
	free(kr);
}

/* SANTA_PGP_KEYS_MAX tiny RSA keys fit; one more does not, and adds nothing. */
static void
test_key_cap(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	size_t n = SANTA_PGP_KEYS_MAX + 1, i;
	uint8_t *buf = malloc(n * 14), *p;
	static const uint8_t pkt[14] = { 0x98, 12, 4, 0, 0, 0, 1, 1, 0, 8, 0xc5, 0, 2, 3 };

	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		p = buf + 14 * i;
		memcpy(p, pkt, 14);
		p[3] = (uint8_t)(i >> 8); /* creation time: distinct keys */
		p[4] = (uint8_t)i;
	}
	assert_int_equal(santa_pgp_keyring_parse(buf, 14 * (n - 1), &ring), SANTA_PGP_KEYS_MAX);
	santa_pgp_keyring_free(&ring);
	assert_int_equal(santa_pgp_keyring_parse(buf, 14 * n, &ring), -E2BIG);
	assert_int_equal(ring.n, 0);
	assert_int_equal(santa_pgp_keyring_parse(buf, 14, &ring), 1);
	assert_int_equal(santa_pgp_keyring_parse(buf, 14 * (n - 1), &ring), -E2BIG);
	assert_int_equal(ring.n, 1);
	santa_pgp_keyring_free(&ring);
	free(buf);
}

static void
test_inrelease_verifies(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	const struct santa_pgp_key *good[SANTA_PGP_SIGS_MAX];
	struct santa_pgp_issuer iss[SANTA_PGP_SIGS_MAX];
	const char *text, *text2;
	size_t len, text_len, text_len2;
	char *doc = fixture("bookworm_InRelease", &len);
	int r;

	load_ring(&ring, "debian-archive-keyring.gpg", 15);
	r = santa_pgp_verify_clearsigned(doc, len, &ring, good, SANTA_PGP_SIGS_MAX, &text, &text_len);
	assert_int_equal(r, 3);
	assert_true(has_good(good, r, FPR_BOOKWORM_RSA));
	assert_true(has_good(good, r, FPR_TRIXIE_RSA));
	assert_true(has_good(good, r, FPR_BOOKWORM_EDDSA));
	assert_true(good[0]->is_subkey);
	assert_ptr_equal(text, doc + strlen("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"));
	assert_memory_equal(text, "Origin: Debian\n", 15);
	assert_memory_equal(text + text_len, "-----BEGIN PGP SIGNATURE-----\n", 30);
	/* max bounds what is written. */
	assert_int_equal(santa_pgp_verify_clearsigned(doc, len, &ring, good, 1, NULL, NULL), 1);
	assert_int_equal(santa_pgp_verify_clearsigned(doc, len, &ring, NULL, 0, NULL, NULL), 0);

	r = santa_pgp_signature_issuers(doc, len, iss, SANTA_PGP_SIGS_MAX, &text2, &text_len2);
	assert_int_equal(r, 3);
	assert_int_equal(iss[0].id_len, 20);
	assert_string_equal(hex(iss[0].id, 20), FPR_BOOKWORM_RSA);
	assert_string_equal(hex(iss[1].id, 20), FPR_TRIXIE_RSA);
	assert_string_equal(hex(iss[2].id, 20), FPR_BOOKWORM_EDDSA);
	assert_ptr_equal(text2, text);
	assert_int_equal(text_len2, text_len);
	assert_int_equal(santa_pgp_signature_issuers(doc, len, iss, 2, NULL, NULL), 2);
	santa_pgp_keyring_free(&ring);

	/* Only the keys of the ring count: the stable key's file holds just the EdDSA key. */
	load_ring(&ring, "bookworm-stable.asc", 1);
	r = santa_pgp_verify_clearsigned(doc, len, &ring, good, SANTA_PGP_SIGS_MAX, NULL, NULL);
	assert_int_equal(r, 1);
	assert_true(has_good(good, r, FPR_BOOKWORM_EDDSA));
	santa_pgp_keyring_free(&ring);
	load_ring(&ring, "test-ed25519.asc", 1);
	assert_int_equal(santa_pgp_verify_clearsigned(doc, len, &ring, good, SANTA_PGP_SIGS_MAX, NULL, NULL), 0);
	santa_pgp_keyring_free(&ring);
	free(doc);
}

static void
test_inrelease_tampering(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	const struct santa_pgp_key *good[SANTA_PGP_SIGS_MAX];
	size_t len, nlen, i, o;
	char *doc = fixture("bookworm_InRelease", &len), *m, *crlf;
	int r;

	load_ring(&ring, "debian-archive-keyring.gpg", 15);
	/* One byte of the signed text. */
	m = edit(doc, len, "Label: Debian\n", "Label: Debiao\n", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, SANTA_PGP_SIGS_MAX, NULL, NULL), 0);
	free(m);
	/* One line more at the end of the text. */
	m = edit(doc, len, "\n-----BEGIN PGP SIGNATURE-----", "\n\n-----BEGIN PGP SIGNATURE-----", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, SANTA_PGP_SIGS_MAX, NULL, NULL), 0);
	free(m);
	/* Trailing blanks are not signed (canonical text). */
	m = edit(doc, len, "Label: Debian\n", "Label: Debian \t \n", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, SANTA_PGP_SIGS_MAX, NULL, NULL), 3);
	free(m);
	/* Nor are line ends: the whole document with CRLF verifies too. */
	crlf = malloc(2 * len);
	assert_non_null(crlf);
	for (i = 0, o = 0; i < len; i++) {
		if (doc[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = doc[i];
	}
	assert_int_equal(santa_pgp_verify_clearsigned(crlf, o, &ring, good, SANTA_PGP_SIGS_MAX, NULL, NULL), 3);
	free(crlf);
	/* A flipped bit in a signature: base64 'A' -> 'B' deep inside the first RSA signature. */
	m = strdup(doc);
	o = (size_t)(strstr(m, "-----BEGIN PGP SIGNATURE-----") - m) + 31 + 300;
	while (m[o] == '\n' || m[o] == '\r')
		o++;
	m[o] = m[o] == 'A' ? 'B' : 'A';
	r = santa_pgp_verify_clearsigned(m, len, &ring, good, SANTA_PGP_SIGS_MAX, NULL, NULL);
	assert_int_equal(r, 2);
	assert_false(has_good(good, r, FPR_BOOKWORM_RSA));
	free(m);
	/* Not clearsigned, or cut anywhere: an error or fewer good signatures, never a crash. */
	assert_int_equal(santa_pgp_verify_clearsigned("Origin: Debian\n", 15, &ring, good, 16, NULL, NULL), -EBADMSG);
	assert_int_equal(santa_pgp_verify_clearsigned(doc + 1, len - 1, &ring, good, 16, NULL, NULL), -EBADMSG);
	for (i = 0; i < len; i += len / 50)
		assert_true(santa_pgp_verify_clearsigned(doc, i, &ring, good, 16, NULL, NULL) < 0);
	for (i = len - 1500; i < len; i += 7) {
		r = santa_pgp_verify_clearsigned(doc, i, &ring, good, 16, NULL, NULL);
		assert_true(r == -EBADMSG || (r >= 0 && r <= 3));
	}
	santa_pgp_keyring_free(&ring);
	free(doc);
}

static void
test_gpg_ed25519_signatures(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	const struct santa_pgp_key *good[SANTA_PGP_SIGS_MAX];
	struct santa_pgp_issuer iss[4];
	size_t dlen, slen, alen, clen, nlen;
	char *data = fixture("data.txt", &dlen);
	char *sig = fixture("data.txt.sig", &slen);
	char *asc = fixture("data.txt.asc", &alen);
	char *clear = fixture("clearsigned.txt", &clen), *m;
	const char *text;
	size_t text_len;

	load_ring(&ring, "test-ed25519.asc", 1);
	assert_int_equal(ring.keys[0].algo, 22);
	/* Binary detached, SHA-512. */
	assert_int_equal(santa_pgp_verify_detached(sig, slen, data, dlen, &ring, good, 4), 1);
	assert_ptr_equal(good[0], &ring.keys[0]);
	assert_int_equal(santa_pgp_signature_issuers(sig, slen, iss, 4, &text, &text_len), 1);
	assert_string_equal(hex(iss[0].id, iss[0].id_len), FPR_TEST);
	assert_null(text);
	/* Armored, text mode (0x01): CRLF-canonical, trailing blanks kept. */
	assert_int_equal(santa_pgp_verify_detached(asc, alen, data, dlen, &ring, good, 4), 1);
	/* The same key signing twice is one key. */
	m = malloc(2 * slen);
	assert_non_null(m);
	memcpy(m, sig, slen);
	memcpy(m + slen, sig, slen);
	assert_int_equal(santa_pgp_verify_detached(m, 2 * slen, data, dlen, &ring, good, 4), 1);
	assert_int_equal(santa_pgp_signature_issuers(m, 2 * slen, iss, 4, NULL, NULL), 2);
	free(m);
	data[3] ^= 1;
	assert_int_equal(santa_pgp_verify_detached(sig, slen, data, dlen, &ring, good, 4), 0);
	assert_int_equal(santa_pgp_verify_detached(asc, alen, data, dlen, &ring, good, 4), 0);
	data[3] ^= 1;
	assert_int_equal(santa_pgp_verify_detached(sig, slen, data, dlen - 1, &ring, good, 4), 0);
	assert_int_equal(santa_pgp_verify_detached(sig, slen - 1, data, dlen, &ring, good, 4), -EBADMSG);
	assert_int_equal(santa_pgp_verify_detached("", 0, data, dlen, &ring, good, 4), -EBADMSG);

	/* Clearsigned, with a dash-escaped line and trailing blanks. */
	assert_int_equal(santa_pgp_verify_clearsigned(clear, clen, &ring, good, 4, &text, &text_len), 1);
	assert_int_equal(text_len, strlen("Origin: Test\nSuite: stable\t \nDescription: signed\n- - leading dash\n"));
	assert_memory_equal(text, "Origin: Test\n", 13);
	m = edit(clear, clen, "- - leading dash", "- - leading dasH", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, 4, NULL, NULL), 0);
	free(m);
	/* The signed line is "- leading dash": "- leading dash" in the document is "leading dash". */
	m = edit(clear, clen, "- - leading dash", "- leading dash", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, 4, NULL, NULL), 0);
	free(m);
	m = edit(clear, clen, "- - leading dash", "- - - leading dash", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, 4, NULL, NULL), 0);
	free(m);
	m = edit(clear, clen, "stable\t \n", "stable\n", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, 4, NULL, NULL), 1);
	free(m);
	/* A detached signature is not a clearsigned document, and the reverse. */
	assert_int_equal(santa_pgp_verify_clearsigned(asc, alen, &ring, good, 4, NULL, NULL), -EBADMSG);
	assert_true(santa_pgp_verify_detached(clear, clen, data, dlen, &ring, good, 4) <= 0);
	santa_pgp_keyring_free(&ring);
	free(data);
	free(sig);
	free(asc);
	free(clear);
}

/* A signature naming Debian's EdDSA key (hashed issuer fingerprint, right quick check) made by another key. */
static void
test_wrong_key(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	const struct santa_pgp_key *good[SANTA_PGP_SIGS_MAX];
	struct santa_pgp_issuer iss[4];
	size_t dlen, slen, clen;
	char *data = fixture("data.txt", &dlen);
	char *forged = fixture("forged.sig", &slen);
	char *clear = fixture("clearsigned.txt", &clen);

	load_ring(&ring, "debian-archive-keyring.gpg", 15);
	assert_int_equal(santa_pgp_signature_issuers(forged, slen, iss, 4, NULL, NULL), 1);
	assert_string_equal(hex(iss[0].id, iss[0].id_len), FPR_BOOKWORM_EDDSA);
	assert_int_equal(santa_pgp_verify_detached(forged, slen, data, dlen, &ring, good, 4), 0);
	/* The test key's own signatures do not verify against Debian's ring either. */
	assert_int_equal(santa_pgp_verify_clearsigned(clear, clen, &ring, good, 4, NULL, NULL), 0);
	santa_pgp_keyring_free(&ring);
	free(data);
	free(forged);
	free(clear);
}

static void
test_v6_cleartext(void **state)
{
	struct santa_pgp_keyring ring = { 0 };
	const struct santa_pgp_key *good[SANTA_PGP_SIGS_MAX];
	struct santa_pgp_issuer iss[4];
	size_t len, nlen;
	char *doc = fixture("rfc9580-v6-cleartext.txt", &len), *m;

	load_ring(&ring, "rfc9580-v6-cert.asc", 2);
	assert_int_equal(santa_pgp_verify_clearsigned(doc, len, &ring, good, 4, NULL, NULL), 1);
	assert_ptr_equal(good[0], &ring.keys[0]);
	assert_int_equal(santa_pgp_signature_issuers(doc, len, iss, 4, NULL, NULL), 1);
	assert_int_equal(iss[0].id_len, 32);
	assert_string_equal(hex(iss[0].id, 32), FPR_V6);
	m = edit(doc, len, "noodles", "noodlez", &nlen);
	assert_int_equal(santa_pgp_verify_clearsigned(m, nlen, &ring, good, 4, NULL, NULL), 0);
	free(m);
	santa_pgp_keyring_free(&ring);
	free(doc);
}

static void
test_hex(void **state)
{
	static const uint8_t id[] = { 0x00, 0x9f, 0xa0, 0xff };
	char out[9];

	santa_pgp_hex(id, sizeof(id), out);
	assert_string_equal(out, "009FA0FF");
	santa_pgp_hex(id, 0, out);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_keyring),
		cmocka_unit_test(test_armored_keyrings),
		cmocka_unit_test(test_v6_certificate),
		cmocka_unit_test(test_packet_framing),
		cmocka_unit_test(test_key_cap),
		cmocka_unit_test(test_inrelease_verifies),
		cmocka_unit_test(test_inrelease_tampering),
		cmocka_unit_test(test_gpg_ed25519_signatures),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_v6_cleartext),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
