/*
 * libFuzzer target: the OpenPGP reader (lib/pkgtrust/openpgp.c) on any
 * bytes. InRelease files come from mirrors and keyrings from wherever an
 * admin found them: every length in them is the attacker's.
 *
 * The input is tried whole as a keyring, as a signature source and as a
 * clearsigned document checked against a built-in ring (a gpg-made Ed25519
 * key and RFC 9580's v6 sample, so seeds signed by them reach the
 * signature code), and once more split: the first two bytes say how much
 * of the rest is a keyring, the remainder is checked against it.
 */
#include <stddef.h>
#include <stdint.h>

#include "santa/openpgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char builtin_ring[] =
	"-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
	"\n"
	"mDMEaxY67xYJKwYBBAHaRw8BAQdARPobgh3CWfMPOnk560YjEEY1UhmaU0AvCjAn\n"
	"5jyGznC0EFRlc3QgPHRAZXhhbXBsZT6IlgQTFggAPhYhBONsRj9LfY5GFmTTlfd2\n"
	"vDbkbYlKBQJrFjrvAhsDBQmHj5FRBQsJCAcCBhUKCQgLAgQWAgMBAh4BAheAAAoJ\n"
	"EPd2vDbkbYlKwU8A/R+58/Ixdra/522lQAFwIydhVwbdLFk4JahdG+l4WVgrAQDD\n"
	"G4rRGkXX+qeiuWSYxDvIvfDHjwg5aSzu2mxbBhkoDg==\n"
	"=gJJJ\n"
	"-----END PGP PUBLIC KEY BLOCK-----\n"
	"-----BEGIN PGP PUBLIC KEY BLOCK-----\n"
	"\n"
	"xioGY4d/4xsAAAAg+U2nu0jWCmHlZ3BqZYfQMxmZu52JGggkLq2EVD34laPCsQYf\n"
	"GwoAAABCBYJjh3/jAwsJBwUVCg4IDAIWAAKbAwIeCSIhBssYbE8GCaaX5NUt+mxy\n"
	"KwwfHifBilZwj2Ul7Ce62azJBScJAgcCAAAAAK0oIBA+LX0ifsDm185Ecds2v8lw\n"
	"gyU2kCcUmKfvBXbAf6rhRYWzuQOwEn7E/aLwIwRaLsdry0+VcallHhSu4RN6HWaE\n"
	"QsiPlR4zxP/TP7mhfVEe7XWPxtnMUMtf15OyA51YBM4qBmOHf+MZAAAAIIaTJINn\n"
	"+eUBXbki+PSAld2nhJh/LVmFsS+60WyvXkQ1wpsGGBsKAAAALAWCY4d/4wKbDCIh\n"
	"BssYbE8GCaaX5NUt+mxyKwwfHifBilZwj2Ul7Ce62azJAAAAAAQBIKbpGG2dWTX8\n"
	"j+VjFM21J0hqWlEg+bdiojWnKfA5AQpWUWtnNwDEM0g12vYxoWM8Y81W+bHBw805\n"
	"I8kWVkXU6vFOi+HWvv/ira7ofJu16NnoUkhclkUrk0mXubZvyl4GBg==\n"
	"-----END PGP PUBLIC KEY BLOCK-----\n";

static void
check(const uint8_t *doc, size_t len, const struct santa_pgp_keyring *ring)
{
	const struct santa_pgp_key *good[SANTA_PGP_SIGS_MAX];
	struct santa_pgp_issuer iss[SANTA_PGP_SIGS_MAX];
	const char *text;
	size_t text_len;
	int r;

	r = santa_pgp_signature_issuers(doc, len, iss, SANTA_PGP_SIGS_MAX, &text, &text_len);
	if (r > 0 && text && (text < (const char *)doc || text + text_len > (const char *)doc + len))
		__builtin_trap();
	r = santa_pgp_verify_clearsigned(doc, len, ring, good, SANTA_PGP_SIGS_MAX, &text, &text_len);
	if (r > SANTA_PGP_SIGS_MAX || (r >= 0 && text + text_len > (const char *)doc + len))
		__builtin_trap();
	r = santa_pgp_verify_detached(doc, len, "Origin: Test\n", 13, ring, good, SANTA_PGP_SIGS_MAX);
	if (r > SANTA_PGP_SIGS_MAX)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct santa_pgp_keyring builtin = { 0 }, ring = { 0 };
	size_t split;

	if (santa_pgp_keyring_parse(builtin_ring, sizeof(builtin_ring) - 1, &builtin) != 3)
		__builtin_trap();
	if (santa_pgp_keyring_parse(data, size, &ring) < 0 && (ring.n != 0 || ring.keys))
		__builtin_trap(); /* an error leaves the ring as it was */
	santa_pgp_keyring_free(&ring);
	check(data, size, &builtin);
	if (size >= 2) {
		split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
		(void)santa_pgp_keyring_parse(data + 2, split, &ring);
		check(data + 2 + split, size - 2 - split, &ring);
		santa_pgp_keyring_free(&ring);
	}
	santa_pgp_keyring_free(&builtin);
	return 0;
}
