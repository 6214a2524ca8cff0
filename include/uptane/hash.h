/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum UpHashAlg {
        UP_HASH_SHA256,
        UP_HASH_SHA512,
        _UP_HASH_MAX,
        _UP_HASH_INVALID = -22, /* -EINVAL */
} UpHashAlg;

#define UP_HASH_MAX_SIZE 64

/* "sha256" -> UP_HASH_SHA256; unknown names give -EOPNOTSUPP. */
int up_hash_alg_from_name(const char *name);
const char *up_hash_alg_name(UpHashAlg alg);
size_t up_hash_alg_size(UpHashAlg alg);

/* One-shot digest. ret must hold up_hash_alg_size(alg) bytes. */
int up_hash_buffer(UpHashAlg alg, const void *data, size_t len, uint8_t *ret);

/* Streaming digest of several algorithms at once (hash once, while writing). */
typedef struct UpHasher UpHasher;
#define UP_HASH_BIT(alg) (1u << (alg))
#define UP_HASH_ALL (UP_HASH_BIT(UP_HASH_SHA256) | UP_HASH_BIT(UP_HASH_SHA512))
/* Every algorithm, or only those in algs (a mask of UP_HASH_BIT()s):
 * peeking at another one is -EINVAL. */
int up_hasher_new(UpHasher **ret);
int up_hasher_new_algs(unsigned algs, UpHasher **ret);
int up_hasher_update(UpHasher *h, const void *data, size_t len);
/* Hashes the slowest algorithm on a helper thread (started here, joined by
 * up_hasher_free()) while the caller's thread hashes the others, for blocks
 * of 64 KiB and more: for large images on more than one core. The digests
 * are the same; a hasher of one algorithm is left as it is. */
int up_hasher_set_parallel(UpHasher *h);
/* Digest so far for alg (the hasher stays usable). */
int up_hasher_peek(UpHasher *h, UpHashAlg alg, uint8_t *ret);
UpHasher *up_hasher_free(UpHasher *h);

/* Lower-case hex. up_hex_encode writes 2*len+1 bytes (NUL-terminated). */
void up_hex_encode(const uint8_t *data, size_t len, char *ret);
/* Accepts upper and lower case; odd length or non-hex gives -EBADMSG.
 * *ret is malloc()ed. */
int up_hex_decode(const char *hex, size_t hex_len, uint8_t **ret, size_t *ret_len);

/* Constant-time comparison of two byte strings of the same length. */
bool up_memeq(const void *a, const void *b, size_t len);
