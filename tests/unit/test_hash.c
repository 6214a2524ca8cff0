/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdio.h>

#include "uptane/hash.h"
#include "util.h"

/* FIPS 180-2 examples. */
static const char abc_sha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char abc_sha512[] =
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
static const char empty_sha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char long_msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char long_sha256[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

static void hex_of(UpHashAlg alg, const void *data, size_t len, char *ret) {
        uint8_t md[UP_HASH_MAX_SIZE];

        ck_assert_int_eq(up_hash_buffer(alg, data, len, md), 0);
        up_hex_encode(md, up_hash_alg_size(alg), ret);
}

START_TEST(test_alg_names) {
        ck_assert_int_eq(up_hash_alg_from_name("sha256"), UP_HASH_SHA256);
        ck_assert_int_eq(up_hash_alg_from_name("sha512"), UP_HASH_SHA512);
        ck_assert_int_eq(up_hash_alg_from_name("SHA256"), -EOPNOTSUPP);
        ck_assert_int_eq(up_hash_alg_from_name("md5"), -EOPNOTSUPP);
        ck_assert_int_eq(up_hash_alg_from_name(""), -EOPNOTSUPP);
        ck_assert_str_eq(up_hash_alg_name(UP_HASH_SHA256), "sha256");
        ck_assert_str_eq(up_hash_alg_name(UP_HASH_SHA512), "sha512");
        ck_assert_ptr_null(up_hash_alg_name(_UP_HASH_MAX));
        ck_assert_ptr_null(up_hash_alg_name(_UP_HASH_INVALID));
        ck_assert_uint_eq(up_hash_alg_size(UP_HASH_SHA256), 32);
        ck_assert_uint_eq(up_hash_alg_size(UP_HASH_SHA512), 64);
        ck_assert_uint_eq(up_hash_alg_size(_UP_HASH_MAX), 0);
        ck_assert_uint_le(up_hash_alg_size(UP_HASH_SHA512), UP_HASH_MAX_SIZE);
}
END_TEST

START_TEST(test_known_vectors) {
        char hex[2 * UP_HASH_MAX_SIZE + 1];
        uint8_t md[UP_HASH_MAX_SIZE];

        hex_of(UP_HASH_SHA256, "abc", 3, hex);
        ck_assert_str_eq(hex, abc_sha256);
        hex_of(UP_HASH_SHA512, "abc", 3, hex);
        ck_assert_str_eq(hex, abc_sha512);
        hex_of(UP_HASH_SHA256, "", 0, hex);
        ck_assert_str_eq(hex, empty_sha256);
        hex_of(UP_HASH_SHA256, NULL, 0, hex);
        ck_assert_str_eq(hex, empty_sha256);
        hex_of(UP_HASH_SHA256, long_msg, strlen(long_msg), hex);
        ck_assert_str_eq(hex, long_sha256);

        ck_assert_int_eq(up_hash_buffer(_UP_HASH_MAX, "abc", 3, md), -EINVAL);
        ck_assert_int_eq(up_hash_buffer(UP_HASH_SHA256, NULL, 3, md), -EINVAL);
}
END_TEST

/* Feeds the data in pieces of every size from 1 to 130 bytes. */
START_TEST(test_streaming_equals_oneshot) {
        uint8_t data[1000], one[UP_HASH_MAX_SIZE], streamed[UP_HASH_MAX_SIZE];

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) (i * 31 + 7);

        for (size_t chunk = 1; chunk <= 130; chunk++) {
                UpHasher *h = NULL;

                ck_assert_int_eq(up_hasher_new(&h), 0);
                for (size_t off = 0; off < sizeof(data); off += chunk) {
                        size_t n = sizeof(data) - off < chunk ? sizeof(data) - off : chunk;
                        ck_assert_int_eq(up_hasher_update(h, data + off, n), 0);
                }
                ck_assert_int_eq(up_hasher_update(h, NULL, 0), 0);

                for (UpHashAlg a = 0; a < _UP_HASH_MAX; a++) {
                        ck_assert_int_eq(up_hash_buffer(a, data, sizeof(data), one), 0);
                        ck_assert_int_eq(up_hasher_peek(h, a, streamed), 0);
                        ck_assert_mem_eq(one, streamed, up_hash_alg_size(a));
                }
                up_hasher_free(h);
        }
}
END_TEST

/* Peeking does not end the stream. */
START_TEST(test_peek_then_continue) {
        UpHasher *h = NULL;
        uint8_t md[UP_HASH_MAX_SIZE];
        char hex[2 * UP_HASH_MAX_SIZE + 1];

        ck_assert_int_eq(up_hasher_new(&h), 0);
        ck_assert_int_eq(up_hasher_peek(h, UP_HASH_SHA256, md), 0);
        up_hex_encode(md, 32, hex);
        ck_assert_str_eq(hex, empty_sha256);

        ck_assert_int_eq(up_hasher_update(h, "a", 1), 0);
        ck_assert_int_eq(up_hasher_peek(h, UP_HASH_SHA256, md), 0);
        ck_assert_int_eq(up_hasher_peek(h, UP_HASH_SHA512, md), 0);
        ck_assert_int_eq(up_hasher_update(h, "bc", 2), 0);

        ck_assert_int_eq(up_hasher_peek(h, UP_HASH_SHA256, md), 0);
        up_hex_encode(md, 32, hex);
        ck_assert_str_eq(hex, abc_sha256);
        ck_assert_int_eq(up_hasher_peek(h, UP_HASH_SHA512, md), 0);
        up_hex_encode(md, 64, hex);
        ck_assert_str_eq(hex, abc_sha512);
        /* Twice in a row gives the same answer. */
        ck_assert_int_eq(up_hasher_peek(h, UP_HASH_SHA512, md), 0);
        up_hex_encode(md, 64, hex);
        ck_assert_str_eq(hex, abc_sha512);

        ck_assert_int_eq(up_hasher_peek(h, _UP_HASH_MAX, md), -EINVAL);
        ck_assert_ptr_null(up_hasher_free(h));
        ck_assert_ptr_null(up_hasher_free(NULL));
}
END_TEST

/* Parallel mode gives the same digests, whatever the block sizes (small
 * blocks stay on the caller's thread, large ones are shared). */
START_TEST(test_parallel_equals_sequential) {
        static const size_t blocks[] = { 1, 65535, 65536, 300000, 7, 1 << 20, 64 * 1024 + 1, 0, 3 };
        size_t total = 0;
        uint8_t *data;
        UpHasher *seq, *par, *one;

        for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
                total += blocks[i];
        data = malloc(total);
        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < total; i++)
                data[i] = (uint8_t) (i * 131 + (i >> 9));
        ck_assert_int_eq(up_hasher_new(&seq), 0);
        ck_assert_int_eq(up_hasher_new(&par), 0);
        ck_assert_int_eq(up_hasher_set_parallel(par), 0);
        ck_assert_int_eq(up_hasher_set_parallel(par), 0); /* once is enough */
        ck_assert_int_eq(up_hasher_new_algs(UP_HASH_BIT(UP_HASH_SHA256), &one), 0);
        ck_assert_int_eq(up_hasher_set_parallel(one), 0); /* nothing to share: stays sequential */
        for (size_t i = 0, off = 0; i < sizeof(blocks) / sizeof(blocks[0]); off += blocks[i], i++) {
                ck_assert_int_eq(up_hasher_update(seq, data + off, blocks[i]), 0);
                ck_assert_int_eq(up_hasher_update(par, data + off, blocks[i]), 0);
                ck_assert_int_eq(up_hasher_update(one, data + off, blocks[i]), 0);
        }
        for (UpHashAlg a = 0; a < _UP_HASH_MAX; a++) {
                uint8_t x[UP_HASH_MAX_SIZE], y[UP_HASH_MAX_SIZE], z[UP_HASH_MAX_SIZE];

                ck_assert_int_eq(up_hasher_peek(seq, a, x), 0);
                ck_assert_int_eq(up_hasher_peek(par, a, y), 0);
                ck_assert_int_eq(up_hash_buffer(a, data, total, z), 0);
                ck_assert(memcmp(x, y, up_hash_alg_size(a)) == 0);
                ck_assert(memcmp(x, z, up_hash_alg_size(a)) == 0);
        }
        {
                uint8_t x[UP_HASH_MAX_SIZE], z[UP_HASH_MAX_SIZE];
                ck_assert_int_eq(up_hasher_peek(one, UP_HASH_SHA256, x), 0);
                ck_assert_int_eq(up_hash_buffer(UP_HASH_SHA256, data, total, z), 0);
                ck_assert(memcmp(x, z, 32) == 0);
                ck_assert_int_eq(up_hasher_peek(one, UP_HASH_SHA512, x), -EINVAL);
        }
        up_hasher_free(seq);
        up_hasher_free(par); /* joins the helper thread */
        up_hasher_free(one);
        free(data);
}
END_TEST

START_TEST(test_hex_roundtrip) {
        uint8_t data[256];
        char hex[2 * sizeof(data) + 1];
        uint8_t *back = NULL;
        size_t back_len = 0;

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t) i;

        up_hex_encode(data, sizeof(data), hex);
        ck_assert_uint_eq(strlen(hex), 2 * sizeof(data));
        ck_assert_int_eq(strncmp(hex, "000102", 6), 0);
        ck_assert_str_eq(hex + 2 * 250, "fafbfcfdfeff");

        ck_assert_int_eq(up_hex_decode(hex, strlen(hex), &back, &back_len), 0);
        ck_assert_uint_eq(back_len, sizeof(data));
        ck_assert_mem_eq(back, data, sizeof(data));
        free(back);

        /* Upper case and mixed case are accepted. */
        ck_assert_int_eq(up_hex_decode("DEADbeefA0", 10, &back, &back_len), 0);
        ck_assert_uint_eq(back_len, 5);
        ck_assert_mem_eq(back, "\xde\xad\xbe\xef\xa0", 5);
        free(back);

        /* Only hex_len characters are looked at. */
        ck_assert_int_eq(up_hex_decode("abcdXX", 4, &back, &back_len), 0);
        ck_assert_uint_eq(back_len, 2);
        free(back);

        /* Empty input is an empty, but valid, buffer. */
        back = NULL;
        ck_assert_int_eq(up_hex_decode("", 0, &back, &back_len), 0);
        ck_assert_ptr_nonnull(back);
        ck_assert_uint_eq(back_len, 0);
        free(back);

        up_hex_encode(NULL, 0, hex);
        ck_assert_str_eq(hex, "");
}
END_TEST

START_TEST(test_hex_rejects) {
        static const char *const bad[] = {
                "a", "abc", "0g", "g0", "zz", " 0", "0 ", "0x00", "+1", "-1", "\xc3\xa4\xc3\xa4", "ab:cd",
        };
        uint8_t *out = (uint8_t *) (uintptr_t) 0x5a5a;
        size_t out_len = 777;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_int_eq(up_hex_decode(bad[i], strlen(bad[i]), &out, &out_len), -EBADMSG);
                ck_assert_ptr_eq(out, (uint8_t *) (uintptr_t) 0x5a5a);
                ck_assert_uint_eq(out_len, 777);
        }

        /* An embedded NUL is not a hex digit. */
        ck_assert_int_eq(up_hex_decode("ab\0d", 4, &out, &out_len), -EBADMSG);
}
END_TEST

START_TEST(test_memeq) {
        ck_assert(up_memeq("abc", "abc", 3));
        ck_assert(!up_memeq("abc", "abd", 3));
        ck_assert(!up_memeq("\x80", "\x00", 1));
        ck_assert(up_memeq("abc", "abd", 2));
        ck_assert(up_memeq(NULL, NULL, 0));
}
END_TEST

static Suite *hash_suite(void) {
        Suite *s = suite_create("hash");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_alg_names);
        tcase_add_test(tc, test_known_vectors);
        tcase_add_test(tc, test_streaming_equals_oneshot);
        tcase_add_test(tc, test_peek_then_continue);
        tcase_add_test(tc, test_parallel_equals_sequential);
        tcase_add_test(tc, test_hex_roundtrip);
        tcase_add_test(tc, test_hex_rejects);
        tcase_add_test(tc, test_memeq);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(hash_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
