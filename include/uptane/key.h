/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/*
 * Public keys (and, for signing, private keys) as TUF describes them:
 *   {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "<64 hex>"}}
 *   {"keytype": "ecdsa" | "ecdsa-sha2-nistp256", "scheme": "ecdsa-sha2-nistp256",
 *    "keyval": {"public": "<PEM SubjectPublicKeyInfo>"}}
 *   {"keytype": "rsa", "scheme": "rsassa-pss-sha256" | "rsa-pkcs1v15-sha256",
 *    "keyval": {"public": "<PEM SubjectPublicKeyInfo>"}}
 * Signatures: ed25519 raw 64 bytes; ECDSA DER over SHA-256; RSA-PSS with MGF1-SHA256,
 * salt length = digest length when signing, any salt length when verifying.
 */

typedef enum UpKeyScheme {
        UP_SCHEME_ED25519,
        UP_SCHEME_ECDSA_SHA2_NISTP256,
        UP_SCHEME_RSASSA_PSS_SHA256,
        UP_SCHEME_RSA_PKCS1V15_SHA256,
        _UP_SCHEME_MAX,
        _UP_SCHEME_INVALID = -22,
} UpKeyScheme;

typedef struct UpKey UpKey;

/* "ed25519" -> UP_SCHEME_ED25519 ...; unknown gives -EOPNOTSUPP. */
int up_key_scheme_from_name(const char *name);
const char *up_key_scheme_name(UpKeyScheme s);

/* Parses a TUF public key object. The object is referenced (not copied) so
 * that unknown fields stay part of the key id. -EBADMSG on a malformed key,
 * -EOPNOTSUPP on an unknown keytype/scheme pair. */
int up_key_from_json(struct json_object *key, UpKey **ret);

/* The TUF public key object (a new reference). For keys parsed from JSON this
 * is the object they came from, unknown fields included. */
struct json_object *up_key_to_json(const UpKey *k);

/* TUF key id: lower-case hex sha256 of the canonical JSON of the public key
 * object. ret must hold 65 bytes. */
int up_key_keyid(const UpKey *k, char *ret);

UpKeyScheme up_key_scheme(const UpKey *k);

/* Same key material (whatever the key ids or PEM text say). */
bool up_key_equal(const UpKey *a, const UpKey *b);

/* 0 when sig is a valid signature of msg by k, -EKEYREJECTED otherwise. */
int up_key_verify(const UpKey *k, const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

/* Generates a fresh key pair (RSA: 3072 bits). */
int up_key_generate(UpKeyScheme scheme, UpKey **ret);

/* Signs msg with the private part of k (-ENOKEY if k is public only).
 * *ret is malloc()ed. */
int up_key_sign(const UpKey *k, const void *msg, size_t msg_len, uint8_t **ret, size_t *ret_len);

/* Private key file: unencrypted PKCS#8 PEM, mode 0600, written atomically.
 * The scheme is stored in a "scheme: NAME" line before the PEM block. */
int up_key_save_private(const UpKey *k, const char *path);
int up_key_load_private(const char *path, UpKey **ret);

UpKey *up_key_ref(UpKey *k);
UpKey *up_key_unref(UpKey *k);
static inline void up_key_unrefp(UpKey **k) {
        if (*k)
                up_key_unref(*k);
}
