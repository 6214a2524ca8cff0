/* SPDX-License-Identifier: MIT */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "uptane/hash.h"
#include "util.h"

/* Blocks at least this large go to the helper thread in parallel mode. */
#define PARALLEL_MIN_BLOCK (64u * 1024u)

typedef enum HelperState { HELPER_IDLE, HELPER_WORK, HELPER_DONE, HELPER_QUIT } HelperState;

struct UpHasher {
        EVP_MD_CTX *ctx[_UP_HASH_MAX];
        EVP_MD_CTX *scratch; /* peek finalizes a copy, never the live context */

        /* Parallel mode: one algorithm is hashed on a helper thread while the
         * caller's thread hashes the others, block by block. */
        bool parallel;
        UpHashAlg helper_alg;
        pthread_t helper;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        HelperState state;
        const void *block;
        size_t block_len;
        int block_result;
};

static const char *const hash_alg_names[_UP_HASH_MAX] = {
        [UP_HASH_SHA256] = "sha256",
        [UP_HASH_SHA512] = "sha512",
};

static const size_t hash_alg_sizes[_UP_HASH_MAX] = {
        [UP_HASH_SHA256] = 32,
        [UP_HASH_SHA512] = 64,
};

static bool hash_alg_valid(UpHashAlg alg) {
        return alg >= 0 && alg < _UP_HASH_MAX;
}

static const EVP_MD *hash_alg_md(UpHashAlg alg) {
        switch (alg) {
        case UP_HASH_SHA256:
                return EVP_sha256();
        case UP_HASH_SHA512:
                return EVP_sha512();
        default:
                return NULL;
        }
}

int up_hash_alg_from_name(const char *name) {
        if (!name)
                return -EINVAL;

        for (UpHashAlg a = 0; a < _UP_HASH_MAX; a++)
                if (streq(name, hash_alg_names[a]))
                        return a;

        return -EOPNOTSUPP;
}

const char *up_hash_alg_name(UpHashAlg alg) {
        return hash_alg_valid(alg) ? hash_alg_names[alg] : NULL;
}

size_t up_hash_alg_size(UpHashAlg alg) {
        return hash_alg_valid(alg) ? hash_alg_sizes[alg] : 0;
}

int up_hash_buffer(UpHashAlg alg, const void *data, size_t len, uint8_t *ret) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;

        if (!hash_alg_valid(alg) || !ret || (!data && len > 0))
                return -EINVAL;

        if (EVP_Digest(data, len, md, &md_len, hash_alg_md(alg), NULL) != 1)
                return -ENOMEM;
        if (md_len != hash_alg_sizes[alg])
                return -EIO;

        memcpy(ret, md, md_len);
        return 0;
}

static void *helper_main(void *userdata) {
        UpHasher *h = userdata;

        pthread_mutex_lock(&h->lock);
        for (;;) {
                while (h->state != HELPER_WORK && h->state != HELPER_QUIT)
                        pthread_cond_wait(&h->cond, &h->lock);
                if (h->state == HELPER_QUIT)
                        break;
                pthread_mutex_unlock(&h->lock);
                int r = EVP_DigestUpdate(h->ctx[h->helper_alg], h->block, h->block_len) == 1 ? 0 : -EIO;
                pthread_mutex_lock(&h->lock);
                h->block_result = r;
                h->state = HELPER_DONE;
                pthread_cond_broadcast(&h->cond);
        }
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

static void stop_helper(UpHasher *h) {
        if (!h->parallel)
                return;
        pthread_mutex_lock(&h->lock);
        h->state = HELPER_QUIT;
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->helper, NULL);
        pthread_cond_destroy(&h->cond);
        pthread_mutex_destroy(&h->lock);
        h->parallel = false;
}

int up_hasher_set_parallel(UpHasher *h) {
        int n = 0, r;

        if (!h)
                return -EINVAL;
        if (h->parallel)
                return 0;
        for (UpHashAlg a = 0; a < _UP_HASH_MAX; a++)
                if (h->ctx[a]) {
                        n++;
                        h->helper_alg = a; /* the last one: sha512, the slowest */
                }
        if (n < 2)
                return 0; /* nothing to share */
        if (pthread_mutex_init(&h->lock, NULL) != 0)
                return -ENOMEM;
        if (pthread_cond_init(&h->cond, NULL) != 0) {
                pthread_mutex_destroy(&h->lock);
                return -ENOMEM;
        }
        h->state = HELPER_IDLE;
        r = -pthread_create(&h->helper, NULL, helper_main, h);
        if (r < 0) {
                pthread_cond_destroy(&h->cond);
                pthread_mutex_destroy(&h->lock);
                return r;
        }
        h->parallel = true;
        return 0;
}

UpHasher *up_hasher_free(UpHasher *h) {
        if (!h)
                return NULL;

        stop_helper(h);

        for (size_t i = 0; i < ELEMENTSOF(h->ctx); i++)
                EVP_MD_CTX_free(h->ctx[i]);
        EVP_MD_CTX_free(h->scratch);
        free(h);
        return NULL;
}

static void up_hasher_freep(UpHasher **h) {
        up_hasher_free(*h);
}

int up_hasher_new(UpHasher **ret) {
        return up_hasher_new_algs(UP_HASH_ALL, ret);
}

int up_hasher_new_algs(unsigned algs, UpHasher **ret) {
        _cleanup_(up_hasher_freep) UpHasher *h = NULL;

        if (!ret || (algs & UP_HASH_ALL) == 0)
                return -EINVAL;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;

        for (UpHashAlg a = 0; a < _UP_HASH_MAX; a++) {
                /* Hashing costs: only what the metadata lists (sha512 alone is ~600 MB/s). */
                if (!(algs & UP_HASH_BIT(a)))
                        continue;
                h->ctx[a] = EVP_MD_CTX_new();
                if (!h->ctx[a])
                        return -ENOMEM;
                if (EVP_DigestInit_ex(h->ctx[a], hash_alg_md(a), NULL) != 1)
                        return -ENOMEM;
        }

        h->scratch = EVP_MD_CTX_new();
        if (!h->scratch)
                return -ENOMEM;

        *ret = TAKE_PTR(h);
        return 0;
}

static int update_parallel(UpHasher *h, const void *data, size_t len) {
        int r = 0;

        pthread_mutex_lock(&h->lock);
        h->block = data;
        h->block_len = len;
        h->state = HELPER_WORK;
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->lock);

        for (UpHashAlg a = 0; a < _UP_HASH_MAX; a++)
                if (h->ctx[a] && a != h->helper_alg && EVP_DigestUpdate(h->ctx[a], data, len) != 1)
                        r = -EIO;

        /* The caller's buffer must outlive the helper's use of it. */
        pthread_mutex_lock(&h->lock);
        while (h->state != HELPER_DONE)
                pthread_cond_wait(&h->cond, &h->lock);
        h->state = HELPER_IDLE;
        if (r >= 0)
                r = h->block_result;
        pthread_mutex_unlock(&h->lock);
        return r;
}

int up_hasher_update(UpHasher *h, const void *data, size_t len) {
        if (!h || (!data && len > 0))
                return -EINVAL;

        if (h->parallel && len >= PARALLEL_MIN_BLOCK)
                return update_parallel(h, data, len);

        for (size_t i = 0; i < ELEMENTSOF(h->ctx); i++)
                if (h->ctx[i] && EVP_DigestUpdate(h->ctx[i], data, len) != 1)
                        return -EIO;

        return 0;
}

int up_hasher_peek(UpHasher *h, UpHashAlg alg, uint8_t *ret) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;

        if (!h || !hash_alg_valid(alg) || !ret || !h->ctx[alg])
                return -EINVAL;

        if (EVP_MD_CTX_copy_ex(h->scratch, h->ctx[alg]) != 1)
                return -ENOMEM;
        if (EVP_DigestFinal_ex(h->scratch, md, &md_len) != 1)
                return -EIO;
        if (md_len != hash_alg_sizes[alg])
                return -EIO;

        memcpy(ret, md, md_len);
        return 0;
}

void up_hex_encode(const uint8_t *data, size_t len, char *ret) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < len; i++) {
                ret[2 * i] = digits[data[i] >> 4];
                ret[2 * i + 1] = digits[data[i] & 0xf];
        }
        ret[2 * len] = '\0';
}

int up_hex_decode(const char *hex, size_t hex_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n;

        if ((!hex && hex_len > 0) || !ret || !ret_len)
                return -EINVAL;
        if (hex_len % 2 != 0)
                return -EBADMSG;

        n = hex_len / 2;
        /* Never malloc(0): an empty result is still a valid pointer. */
        buf = malloc(n > 0 ? n : 1);
        if (!buf)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                int hi, lo;

                hi = hex_digit_value(hex[2 * i]);
                if (hi < 0)
                        return -EBADMSG;
                lo = hex_digit_value(hex[2 * i + 1]);
                if (lo < 0)
                        return -EBADMSG;

                buf[i] = (uint8_t) (hi << 4 | lo);
        }

        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

bool up_memeq(const void *a, const void *b, size_t len) {
        if (len == 0)
                return true;

        return CRYPTO_memcmp(a, b, len) == 0;
}
