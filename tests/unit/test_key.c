/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/key.h"
#include "util.h"

/* ---- fixed vectors ---- */

/* RFC 8032 section 7.1, TEST 1 (empty message). */
static const char rfc8032_pub[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char rfc8032_sig[] =
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

/* python3: hashlib.sha256(b'{"keytype":"ed25519","keyval":{"public":"d75a...511a"},"scheme":"ed25519"}') */
static const char rfc8032_keyid[] = "74c181c7ad8a0855d4b55e44d2ba87aabdddb196832571f15f92fece332e4916";
/* Same with "keyid_hash_algorithms":["sha256","sha512"] as first member. */
static const char rfc8032_keyid_extra[] = "01e8764eedab63b3593451765fc337b2cc6d2c66923845da255f448c19e2afc5";

/* Made with the openssl command line tool (genpkey / pkey -pubout / dgst -sign). */
static const char ec_pub[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEa/RfzRxIqs8APb/4wFqvRJwMFWFq\n"
        "jfDiB98xOninrYfPE5bx2Od6GEOZVbLUXTZuUeJbzyAWQ4Za+TvJwJlxWw==\n"
        "-----END PUBLIC KEY-----\n";
/* python3 hashlib.sha256 over {"keytype":"ecdsa","keyval":{"public":"<ec_pub>"},"scheme":"ecdsa-sha2-nistp256"} */
static const char ec_keyid[] = "2cb8a5e184e0b58e24bafc3fda35c6d97fe3167cfe4b4579f5647758812ec8e1";

static const char ec384_pub[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAESZds+LtaZBOAN8crpS9hEE66uRUjx9Vv\n"
        "c6rQis3lGVWgY/XThUNPrj5yODiuuxM0NFdkpRvULhpKx0qhWci6eRvQVr5wG0nu\n"
        "FbnSxg5y2y7o3lUcpMd1kXIFbj0sVMms\n"
        "-----END PUBLIC KEY-----\n";

static const char ed_pub_pem[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAlV3hdYM/9rkD6ZrZpA3JXwF/JrNtAER0ssvHPk2tpcw=\n"
        "-----END PUBLIC KEY-----\n";

static const char rsa_pub[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw4E55ujdYHmXbj1k7hZk\n"
        "CiJ3ItPPr0a/xUXSCHQoXqsi1NPZi3FWhf156Pq/7n5EBYonJUeie8WWyoadCZob\n"
        "bZEokScqUQUkO7WM3xdbo0FiRKupAwhibCZYIjFwmELySlyRfS1nFS7XRk9l+HNU\n"
        "ZxU19aKGtEPV5WaTlmxq74SdoPbFRjX+m8b8ONf26Ay6C7U+v2h3e42QGSbNRE19\n"
        "f3l0RU1UNDGw6ACjluP5xfoXmC7O2aPi6sSGxkrku6LH8eKMsQ5j4ac6G4BBSUCA\n"
        "SSyKtLrh8g7ER+TKprJSga/JF24p3kZneTcnGY/L3ARIYEBWXUZ+YLO48T9jSyXX\n"
        "lwIDAQAB\n"
        "-----END PUBLIC KEY-----\n";

static const char rsa1024_pub[] =
        "-----BEGIN PUBLIC KEY-----\n"
        "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDnxxFXIDZy50RrZocqToa6feI/\n"
        "EXpYpB16J9e9YbLT8kHwBHJgzx7dqTNYzY3MdHh+y7Kt7JmoS3mhkL8WPhA/iqo/\n"
        "WaeLxJffMel23HCcmswjUlK+OuejDVhhJPnkWYuh9bg1P6DkWxJa74Xhn4GiD3h1\n"
        "qeqHriYS7q3zEl44UQIDAQAB\n"
        "-----END PUBLIC KEY-----\n";

static const char vector_msg[] = "uptane test message";

/* openssl dgst -sha256 -sign ec.pem */
static const char ec_sig[] =
        "3045022100fbb0ee357cb627ffd33ca280e95d360ef16f7dfa3655d4a91b8a5068ca1a0b75"
        "022012465580df2cf331c890ade38c85b27032160e37b179669be8f8bee5421137d8";

/* openssl dgst -sha256 -sign rsa.pem */
static const char rsa_pkcs1_sig[] =
        "0651063b84d09784c6795f95dbf16bb33a994b4cdca68c2030f55371db49c74d09aed5ddd7473cfc9b6c40fdffdc82cf"
        "1827c644ecf102026b4ed433bf4b8b64140b9ec856a204b0d9303f423a54b7a4f9947c1855b84912dc6405527661a8f4"
        "d8a96327b0738970aa8eb499c45a6a892d184c96bfd26fc5bb1d893256dbc2b9d462c1c9f25774583452ca67f591c6e3"
        "185871216789e62ebf70657505cf884c0aac6d417bae44dac8313177033408f281ffefc0a3416a2fcbb87ae8fbd36ce8"
        "bac573da42f18e0e871b97c9ecd77873c31ba0a2513c0fefc5ac7062204053ba3bb75f4029ef113d5ec6ff79d4e89727"
        "a4fa188b75c081849d6c3628669f0600";

/* openssl dgst -sha256 -sign rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 */
static const char rsa_pss20_sig[] =
        "87d013df0836e3fc671009ee221a94696052dcb3db42b93aa46411517d0d941e59260c6d7440b74ceb42622bc2c5dafe"
        "577a9cdd93b3ccb99d5612f6639046ae47b342620e16877b571cc15a83a341545efff2c41ce34adc0deee1be67188fba"
        "5dfafeffa8b8ae510036cd9844d0937fe92296c4daa9244ef95de42eea5bd0132d8bf724e9a6c3b9e4212f9caacfdcce"
        "7a46b5803d7698b894453bf8863696f7ed280e9e2e9862f9c4ec0e0683f2537b62cbd2ea475bcfc5b69b8127bdf92be5"
        "816f34ee15a3f19d4862894459b3b9645714bc07a1cae6b17461015884d541d5ba31b21920841fdef31986abe2e54a8b"
        "7131f71fa8c46997f46d095aed844055";

#define SENTINEL ((UpKey *) (uintptr_t) 0x5a5a)
#define SENTINEL_BYTES ((uint8_t *) (uintptr_t) 0x5a5a)

static const UpKeyScheme all_schemes[] = {
        UP_SCHEME_ED25519,
        UP_SCHEME_ECDSA_SHA2_NISTP256,
        UP_SCHEME_RSASSA_PSS_SHA256,
        UP_SCHEME_RSA_PKCS1V15_SHA256,
};

/* Generated once in the parent (unchecked fixture): RSA key generation is slow. */
static UpKey *generated[_UP_SCHEME_MAX];

static void generate_all(void) {
        for (size_t i = 0; i < ELEMENTSOF(all_schemes); i++)
                ck_assert_int_eq(up_key_generate(all_schemes[i], &generated[all_schemes[i]]), 0);
}

static void free_all(void) {
        for (size_t i = 0; i < ELEMENTSOF(generated); i++)
                generated[i] = up_key_unref(generated[i]);
}

/* ---- helpers ---- */

static struct json_object *key_json(const char *keytype, const char *scheme, const char *public) {
        struct json_object *o, *keyval;

        o = json_object_new_object();
        keyval = json_object_new_object();
        ck_assert_ptr_nonnull(o);
        ck_assert_ptr_nonnull(keyval);
        if (keytype)
                json_object_object_add(o, "keytype", json_object_new_string(keytype));
        if (scheme)
                json_object_object_add(o, "scheme", json_object_new_string(scheme));
        if (public)
                json_object_object_add(keyval, "public", json_object_new_string(public));
        json_object_object_add(o, "keyval", keyval);
        return o;
}

/* Parses and checks that a failure leaves the out-parameter alone. */
static int parse_key(const char *keytype, const char *scheme, const char *public, UpKey **ret) {
        _cleanup_json_ struct json_object *o = key_json(keytype, scheme, public);
        UpKey *k = SENTINEL;
        int r;

        r = up_key_from_json(o, &k);
        if (r < 0) {
                ck_assert_ptr_eq(k, SENTINEL);
                ck_assert_uint_eq(ERR_peek_error(), 0);
                return r;
        }

        if (ret)
                *ret = k;
        else
                up_key_unref(k);
        return r;
}

static uint8_t *unhex(const char *hex, size_t *ret_len) {
        uint8_t *buf = NULL;

        ck_assert_int_eq(up_hex_decode(hex, strlen(hex), &buf, ret_len), 0);
        return buf;
}

/* Through text and back: a public-only copy as a client would see it. */
static UpKey *reparse_public(const UpKey *k) {
        _cleanup_json_ struct json_object *o = up_key_to_json(k), *copy = NULL;
        UpKey *p = NULL;

        copy = json_tokener_parse(json_object_to_json_string(o));
        ck_assert_ptr_nonnull(copy);
        ck_assert_int_eq(up_key_from_json(copy, &p), 0);
        return p;
}

static const char *public_of(const UpKey *k) {
        struct json_object *o = up_key_to_json(k), *keyval = NULL, *public = NULL;
        const char *s;

        ck_assert(json_object_object_get_ex(o, "keyval", &keyval));
        ck_assert(json_object_object_get_ex(keyval, "public", &public));
        s = json_object_get_string(public);
        json_object_put(o); /* the key still holds a reference */
        return s;
}

static EVP_PKEY *evp_public_of(const UpKey *k) {
        const char *pub = public_of(k);
        EVP_PKEY *pkey;
        BIO *bio;

        if (up_key_scheme(k) == UP_SCHEME_ED25519) {
                size_t n = 0;
                uint8_t *raw = unhex(pub, &n);

                pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, n);
                free(raw);
        } else {
                bio = BIO_new_mem_buf(pub, -1);
                pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
                BIO_free(bio);
        }
        ck_assert_ptr_nonnull(pkey);
        return pkey;
}

/* Independent check with plain EVP; PSS insists on salt length 32 here. */
static int evp_verify(const UpKey *k, const void *msg, size_t len, const uint8_t *sig, size_t sig_len) {
        EVP_PKEY *pkey = evp_public_of(k);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        UpKeyScheme s = up_key_scheme(k);
        int ok;

        ck_assert_int_eq(EVP_DigestVerifyInit(ctx, &pctx, s == UP_SCHEME_ED25519 ? NULL : EVP_sha256(),
                                              NULL, pkey), 1);
        if (s == UP_SCHEME_RSASSA_PSS_SHA256) {
                ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
                ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
        }
        ok = EVP_DigestVerify(ctx, sig, sig_len, msg, len);

        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(pkey);
        ERR_clear_error();
        return ok;
}

static bool is_lower_hex(const char *s) {
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* ---- scheme names ---- */

START_TEST(test_scheme_names) {
        for (size_t i = 0; i < ELEMENTSOF(all_schemes); i++) {
                const char *name = up_key_scheme_name(all_schemes[i]);

                ck_assert_ptr_nonnull(name);
                ck_assert_int_eq(up_key_scheme_from_name(name), all_schemes[i]);
        }
        ck_assert_str_eq(up_key_scheme_name(UP_SCHEME_ECDSA_SHA2_NISTP256), "ecdsa-sha2-nistp256");
        ck_assert_int_eq(up_key_scheme_from_name("ED25519"), -EOPNOTSUPP);
        ck_assert_int_eq(up_key_scheme_from_name("ecdsa"), -EOPNOTSUPP);
        ck_assert_int_eq(up_key_scheme_from_name(""), -EOPNOTSUPP);
        ck_assert_ptr_null(up_key_scheme_name(_UP_SCHEME_MAX));
        ck_assert_ptr_null(up_key_scheme_name(_UP_SCHEME_INVALID));
}
END_TEST

/* ---- known-answer vectors ---- */

START_TEST(test_ed25519_rfc8032) {
        UpKey *k = NULL;
        uint8_t *sig;
        size_t sig_len = 0;

        ck_assert_int_eq(parse_key("ed25519", "ed25519", rfc8032_pub, &k), 0);
        ck_assert_int_eq(up_key_scheme(k), UP_SCHEME_ED25519);
        sig = unhex(rfc8032_sig, &sig_len);

        ck_assert_int_eq(up_key_verify(k, "", 0, sig, sig_len), 0);
        ck_assert_int_eq(up_key_verify(k, NULL, 0, sig, sig_len), 0);
        ck_assert_int_eq(up_key_verify(k, "x", 1, sig, sig_len), -EKEYREJECTED);
        ck_assert_int_eq(up_key_verify(k, "", 0, sig, sig_len - 1), -EKEYREJECTED);
        sig[10] ^= 0x01;
        ck_assert_int_eq(up_key_verify(k, "", 0, sig, sig_len), -EKEYREJECTED);
        ck_assert_uint_eq(ERR_peek_error(), 0);

        free(sig);
        up_key_unref(k);
}
END_TEST

START_TEST(test_ecdsa_vector) {
        static const char *const keytypes[] = { "ecdsa", "ecdsa-sha2-nistp256" };

        for (size_t i = 0; i < ELEMENTSOF(keytypes); i++) {
                UpKey *k = NULL;
                uint8_t *sig;
                size_t sig_len = 0;

                ck_assert_int_eq(parse_key(keytypes[i], "ecdsa-sha2-nistp256", ec_pub, &k), 0);
                sig = unhex(ec_sig, &sig_len);

                ck_assert_int_eq(up_key_verify(k, vector_msg, strlen(vector_msg), sig, sig_len), 0);
                ck_assert_int_eq(up_key_verify(k, vector_msg, strlen(vector_msg) - 1, sig, sig_len), -EKEYREJECTED);
                sig[sig_len - 1] ^= 0x80;
                ck_assert_int_eq(up_key_verify(k, vector_msg, strlen(vector_msg), sig, sig_len), -EKEYREJECTED);

                free(sig);
                up_key_unref(k);
        }
}
END_TEST

START_TEST(test_rsa_vectors) {
        UpKey *pss = NULL, *pkcs1 = NULL;
        uint8_t *sig_pkcs1, *sig_pss;
        size_t n1 = 0, n2 = 0, len = strlen(vector_msg);

        ck_assert_int_eq(parse_key("rsa", "rsa-pkcs1v15-sha256", rsa_pub, &pkcs1), 0);
        ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha256", rsa_pub, &pss), 0);
        sig_pkcs1 = unhex(rsa_pkcs1_sig, &n1);
        sig_pss = unhex(rsa_pss20_sig, &n2);

        ck_assert_int_eq(up_key_verify(pkcs1, vector_msg, len, sig_pkcs1, n1), 0);
        ck_assert_int_eq(up_key_verify(pss, vector_msg, len, sig_pss, n2), 0);

        /* A padding mode is not interchangeable with the other. */
        ck_assert_int_eq(up_key_verify(pkcs1, vector_msg, len, sig_pss, n2), -EKEYREJECTED);
        ck_assert_int_eq(up_key_verify(pss, vector_msg, len, sig_pkcs1, n1), -EKEYREJECTED);

        /* Truncated. */
        ck_assert_int_eq(up_key_verify(pkcs1, vector_msg, len, sig_pkcs1 + 1, n1 - 1), -EKEYREJECTED);

        ck_assert_int_eq(up_key_verify(pss, "uptane test messagE", len, sig_pss, n2), -EKEYREJECTED);
        sig_pss[0] ^= 0x01;
        ck_assert_int_eq(up_key_verify(pss, vector_msg, len, sig_pss, n2), -EKEYREJECTED);
        ck_assert_uint_eq(ERR_peek_error(), 0);

        free(sig_pkcs1);
        free(sig_pss);
        up_key_unref(pkcs1);
        up_key_unref(pss);
}
END_TEST

START_TEST(test_keyid_vectors) {
        _cleanup_json_ struct json_object *o = key_json("ed25519", "ed25519", rfc8032_pub), *back = NULL;
        struct json_object *algs;
        UpKey *k = NULL, *k2 = NULL;
        char id[65];

        ck_assert_int_eq(up_key_from_json(o, &k), 0);
        ck_assert_int_eq(up_key_keyid(k, id), 0);
        ck_assert_str_eq(id, rfc8032_keyid);

        /* The object is referenced: to_json hands back the very same one. */
        back = up_key_to_json(k);
        ck_assert_ptr_eq(back, o);

        /* An unknown field is part of the key id. */
        algs = json_object_new_array();
        json_object_array_add(algs, json_object_new_string("sha256"));
        json_object_array_add(algs, json_object_new_string("sha512"));
        json_object_object_add(o, "keyid_hash_algorithms", algs);
        ck_assert_int_eq(up_key_from_json(o, &k2), 0);
        ck_assert_int_eq(up_key_keyid(k2, id), 0);
        ck_assert_str_eq(id, rfc8032_keyid_extra);
        ck_assert_str_ne(id, rfc8032_keyid);
        up_key_unref(k2);
        up_key_unref(k);

        ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp256", ec_pub, &k), 0);
        ck_assert_int_eq(up_key_keyid(k, id), 0);
        ck_assert_str_eq(id, ec_keyid);
        up_key_unref(k);

        /* Another keytype spelling is another key id. */
        ck_assert_int_eq(parse_key("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", ec_pub, &k), 0);
        ck_assert_int_eq(up_key_keyid(k, id), 0);
        ck_assert_str_ne(id, ec_keyid);
        up_key_unref(k);
}
END_TEST

/* ---- sign / verify with generated keys (loop over all schemes) ---- */

START_TEST(test_roundtrip) {
        static const uint8_t msg[] = "{\"signed\":{\"_type\":\"root\",\"version\":1}}";
        UpKeyScheme s = all_schemes[_i];
        UpKey *k = generated[s], *pub;
        _cleanup_free_ uint8_t *sig = NULL, *empty_sig = NULL;
        size_t sig_len = 0, empty_len = 0;
        uint8_t *junk = SENTINEL_BYTES;
        size_t junk_len = 777;
        uint8_t bad[sizeof(msg)];
        _cleanup_free_ uint8_t *badsig = NULL;

        ck_assert_ptr_nonnull(k);
        ck_assert_int_eq(up_key_scheme(k), s);

        ck_assert_int_eq(up_key_sign(k, msg, sizeof(msg), &sig, &sig_len), 0);
        ck_assert_uint_gt(sig_len, 0);
        if (s == UP_SCHEME_ED25519)
                ck_assert_uint_eq(sig_len, 64);
        if (s == UP_SCHEME_RSASSA_PSS_SHA256 || s == UP_SCHEME_RSA_PKCS1V15_SHA256)
                ck_assert_uint_eq(sig_len, 384);

        ck_assert_int_eq(up_key_verify(k, msg, sizeof(msg), sig, sig_len), 0);
        ck_assert_int_eq(evp_verify(k, msg, sizeof(msg), sig, sig_len), 1);

        pub = reparse_public(k);
        ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg), sig, sig_len), 0);
        ck_assert_int_eq(up_key_sign(pub, msg, sizeof(msg), &junk, &junk_len), -ENOKEY);
        ck_assert_ptr_eq(junk, SENTINEL_BYTES);
        ck_assert_uint_eq(junk_len, 777);

        /* Every tampered byte of the message or signature is refused. */
        for (size_t i = 0; i < sizeof(msg); i++) {
                memcpy(bad, msg, sizeof(msg));
                bad[i] ^= 0x04;
                ck_assert_int_eq(up_key_verify(pub, bad, sizeof(bad), sig, sig_len), -EKEYREJECTED);
        }
        badsig = malloc(sig_len + 1);
        for (size_t i = 0; i < sig_len; i += (s == UP_SCHEME_ED25519 ? 1 : 7)) {
                memcpy(badsig, sig, sig_len);
                badsig[i] ^= 0x10;
                ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg), badsig, sig_len), -EKEYREJECTED);
        }
        memcpy(badsig, sig, sig_len);
        badsig[sig_len] = 0;
        ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg), badsig, sig_len + 1), -EKEYREJECTED);
        ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg), sig, sig_len - 1), -EKEYREJECTED);
        ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg), sig, 0), -EKEYREJECTED);
        ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg), NULL, 0), -EKEYREJECTED);
        ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg) - 1, sig, sig_len), -EKEYREJECTED);

        /* The empty message is a message too. */
        ck_assert_int_eq(up_key_sign(k, NULL, 0, &empty_sig, &empty_len), 0);
        ck_assert_int_eq(up_key_verify(pub, "", 0, empty_sig, empty_len), 0);
        ck_assert_int_eq(up_key_verify(pub, msg, sizeof(msg), empty_sig, empty_len), -EKEYREJECTED);

        ck_assert_uint_eq(ERR_peek_error(), 0);
        up_key_unref(pub);
}
END_TEST

START_TEST(test_generated_json) {
        UpKeyScheme s = all_schemes[_i];
        UpKey *k = generated[s], *pub;
        _cleanup_json_ struct json_object *o = up_key_to_json(k);
        _cleanup_free_ char *cj = NULL;
        struct json_object *v = NULL;
        const char *pubstr = public_of(k);
        uint8_t digest[32];
        char id[65], id2[65], expect[65];
        size_t cj_len = 0;

        ck_assert_int_eq(json_object_object_length(o), 3);
        ck_assert(json_object_object_get_ex(o, "keytype", &v));
        ck_assert_str_eq(json_object_get_string(v),
                         s == UP_SCHEME_ED25519 ? "ed25519" :
                         s == UP_SCHEME_ECDSA_SHA2_NISTP256 ? "ecdsa" : "rsa");
        ck_assert(json_object_object_get_ex(o, "scheme", &v));
        ck_assert_str_eq(json_object_get_string(v), up_key_scheme_name(s));
        ck_assert(json_object_object_get_ex(o, "keyval", &v));
        ck_assert_int_eq(json_object_object_length(v), 1);

        if (s == UP_SCHEME_ED25519) {
                ck_assert_uint_eq(strlen(pubstr), 64);
                ck_assert(is_lower_hex(pubstr));
        } else {
                ck_assert_int_eq(strncmp(pubstr, "-----BEGIN PUBLIC KEY-----\n", 27), 0);
                ck_assert_ptr_nonnull(strstr(pubstr, "-----END PUBLIC KEY-----\n"));
        }

        /* key id = sha256(canonical JSON), and survives a text round trip. */
        ck_assert_int_eq(up_cjson_encode(o, &cj, &cj_len), 0);
        ck_assert_int_eq(up_hash_buffer(UP_HASH_SHA256, cj, cj_len, digest), 0);
        up_hex_encode(digest, sizeof(digest), expect);
        ck_assert_int_eq(up_key_keyid(k, id), 0);
        ck_assert_str_eq(id, expect);

        pub = reparse_public(k);
        ck_assert_int_eq(up_key_keyid(pub, id2), 0);
        ck_assert_str_eq(id, id2);
        up_key_unref(pub);
}
END_TEST

START_TEST(test_generate_unique) {
        UpKey *a = NULL, *b = NULL;
        char ida[65], idb[65];

        ck_assert_int_eq(up_key_generate(UP_SCHEME_ED25519, &a), 0);
        ck_assert_int_eq(up_key_generate(UP_SCHEME_ED25519, &b), 0);
        ck_assert_int_eq(up_key_keyid(a, ida), 0);
        ck_assert_int_eq(up_key_keyid(b, idb), 0);
        ck_assert_str_ne(ida, idb);
        up_key_unref(a);
        up_key_unref(b);

        a = SENTINEL;
        ck_assert_int_eq(up_key_generate(_UP_SCHEME_MAX, &a), -EOPNOTSUPP);
        ck_assert_int_eq(up_key_generate(_UP_SCHEME_INVALID, &a), -EOPNOTSUPP);
        ck_assert_ptr_eq(a, SENTINEL);
}
END_TEST

typedef struct VerifyJob {
        const UpKey *key;
        const uint8_t *sig;
        size_t sig_len;
        unsigned ok;
} VerifyJob;

static void *verify_thread(void *p) {
        VerifyJob *j = p;

        for (int i = 0; i < 100; i++)
                if (up_key_verify(j->key, "concurrent", 10, j->sig, j->sig_len) == 0)
                        j->ok++;
        return NULL;
}

/* One key, several threads: verification only reads the key. */
START_TEST(test_concurrent_verify) {
        UpKeyScheme s = all_schemes[_i];
        _cleanup_free_ uint8_t *sig = NULL;
        size_t sig_len = 0;
        pthread_t t[4];
        VerifyJob jobs[4];

        ck_assert_int_eq(up_key_sign(generated[s], "concurrent", 10, &sig, &sig_len), 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                jobs[i] = (VerifyJob) { .key = generated[s], .sig = sig, .sig_len = sig_len };
                ck_assert_int_eq(pthread_create(&t[i], NULL, verify_thread, &jobs[i]), 0);
        }
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                ck_assert_int_eq(pthread_join(t[i], NULL), 0);
                ck_assert_uint_eq(jobs[i].ok, 100);
        }
}
END_TEST

/* Another implementation may pick any PSS salt length. */
START_TEST(test_pss_any_salt_length) {
        static const int salts[] = { 0, 20, 32, 48, 64, RSA_PSS_SALTLEN_MAX };
        static const char msg[] = "targets metadata";
        EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
        BIO *bio = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long pem_len;
        UpKey *pss = NULL, *pkcs1 = NULL;

        ck_assert_ptr_nonnull(pkey);
        ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pkey), 1);
        pem_len = BIO_get_mem_data(bio, &pem);
        pem = strndup(pem, (size_t) pem_len);
        BIO_free(bio);

        ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha256", pem, &pss), 0);
        ck_assert_int_eq(parse_key("rsa", "rsa-pkcs1v15-sha256", pem, &pkcs1), 0);

        for (size_t i = 0; i < ELEMENTSOF(salts); i++) {
                EVP_MD_CTX *ctx = EVP_MD_CTX_new();
                EVP_PKEY_CTX *pctx = NULL;
                uint8_t sig[256];
                size_t sig_len = sizeof(sig);

                ck_assert_int_eq(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, pkey), 1);
                ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
                ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salts[i]), 1);
                ck_assert_int_eq(EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *) msg, strlen(msg)), 1);
                EVP_MD_CTX_free(ctx);

                ck_assert_int_eq(up_key_verify(pss, msg, strlen(msg), sig, sig_len), 0);
                ck_assert_int_eq(up_key_verify(pkcs1, msg, strlen(msg), sig, sig_len), -EKEYREJECTED);
                sig[sig_len / 2] ^= 1;
                ck_assert_int_eq(up_key_verify(pss, msg, strlen(msg), sig, sig_len), -EKEYREJECTED);
        }

        up_key_unref(pss);
        up_key_unref(pkcs1);
        free(pem);
        EVP_PKEY_free(pkey);
}
END_TEST

/* ---- malformed and unsupported keys ---- */

START_TEST(test_parse_structure) {
        _cleanup_json_ struct json_object *str = json_object_new_string("ed25519");
        _cleanup_json_ struct json_object *o = NULL;
        UpKey *k = SENTINEL;

        ck_assert_int_eq(up_key_from_json(str, &k), -EBADMSG);
        ck_assert_ptr_eq(k, SENTINEL);

        ck_assert_int_eq(parse_key(NULL, "ed25519", rfc8032_pub, NULL), -EBADMSG);
        ck_assert_int_eq(parse_key("ed25519", NULL, rfc8032_pub, NULL), -EBADMSG);
        ck_assert_int_eq(parse_key("ed25519", "ed25519", NULL, NULL), -EBADMSG);

        o = json_tokener_parse("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":\"x\"}");
        ck_assert_int_eq(up_key_from_json(o, &k), -EBADMSG);
        json_object_put(TAKE_PTR(o));
        o = json_tokener_parse("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\"}");
        ck_assert_int_eq(up_key_from_json(o, &k), -EBADMSG);
        json_object_put(TAKE_PTR(o));
        o = json_tokener_parse("{\"keytype\":1,\"scheme\":\"ed25519\",\"keyval\":{\"public\":\"00\"}}");
        ck_assert_int_eq(up_key_from_json(o, &k), -EBADMSG);
        json_object_put(TAKE_PTR(o));
        o = json_tokener_parse("{\"keytype\":\"ed25519\",\"scheme\":[],\"keyval\":{\"public\":\"00\"}}");
        ck_assert_int_eq(up_key_from_json(o, &k), -EBADMSG);
        json_object_put(TAKE_PTR(o));
        o = json_tokener_parse("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":7}}");
        ck_assert_int_eq(up_key_from_json(o, &k), -EBADMSG);
        json_object_put(TAKE_PTR(o));

        /* An embedded NUL does not truncate a name. */
        o = json_tokener_parse("{\"keytype\":\"ed25519\\u0000rsa\",\"scheme\":\"ed25519\","
                               "\"keyval\":{\"public\":\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"}}");
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(up_key_from_json(o, &k), -EBADMSG);
        json_object_put(TAKE_PTR(o));
        o = json_tokener_parse("{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\\u0000\","
                               "\"keyval\":{\"public\":\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"}}");
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(up_key_from_json(o, &k), -EBADMSG);
        ck_assert_ptr_eq(k, SENTINEL);
}
END_TEST

START_TEST(test_parse_unsupported) {
        ck_assert_int_eq(parse_key("dsa", "ed25519", rfc8032_pub, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(parse_key("ed25519", "ed448", rfc8032_pub, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(parse_key("ed25519", "rsassa-pss-sha256", rfc8032_pub, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(parse_key("rsa", "ecdsa-sha2-nistp256", ec_pub, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp384", ec384_pub, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha512", rsa_pub, NULL), -EOPNOTSUPP);
        ck_assert_int_eq(parse_key("RSA", "rsassa-pss-sha256", rsa_pub, NULL), -EOPNOTSUPP);
}
END_TEST

START_TEST(test_parse_ed25519_bad) {
        char buf[80];

        /* Wrong lengths. */
        ck_assert_int_eq(parse_key("ed25519", "ed25519", "", NULL), -EBADMSG);
        memcpy(buf, rfc8032_pub, 62);
        buf[62] = '\0';
        ck_assert_int_eq(parse_key("ed25519", "ed25519", buf, NULL), -EBADMSG);
        snprintf(buf, sizeof(buf), "%s00", rfc8032_pub);
        ck_assert_int_eq(parse_key("ed25519", "ed25519", buf, NULL), -EBADMSG);
        snprintf(buf, sizeof(buf), "%s0", rfc8032_pub);
        ck_assert_int_eq(parse_key("ed25519", "ed25519", buf, NULL), -EBADMSG);

        /* Bad hex. */
        snprintf(buf, sizeof(buf), "%s", rfc8032_pub);
        buf[20] = 'z';
        ck_assert_int_eq(parse_key("ed25519", "ed25519", buf, NULL), -EBADMSG);
        buf[20] = ' ';
        ck_assert_int_eq(parse_key("ed25519", "ed25519", buf, NULL), -EBADMSG);

        /* PEM is not how TUF spells an ed25519 key. */
        ck_assert_int_eq(parse_key("ed25519", "ed25519", ed_pub_pem, NULL), -EBADMSG);

        /* Upper case hex is still hex. */
        snprintf(buf, sizeof(buf), "%s", rfc8032_pub);
        for (char *p = buf; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char) (*p - 'a' + 'A');
        ck_assert_int_eq(parse_key("ed25519", "ed25519", buf, NULL), 0);
}
END_TEST

START_TEST(test_parse_pem_bad) {
        static const char *const bad[] = {
                "",
                "not a pem",
                "-----BEGIN PUBLIC KEY-----\nZ2FyYmFnZQ==\n-----END PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\n"
                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEa/RfzRxIqs8APb/4wFqvRJwMFWFq\n",
                "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
                rfc8032_pub,
        };
        char flipped[sizeof(ec_pub)];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp256", bad[i], NULL), -EBADMSG);
                ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha256", bad[i], NULL), -EBADMSG);
                ck_assert_int_eq(parse_key("rsa", "rsa-pkcs1v15-sha256", bad[i], NULL), -EBADMSG);
        }

        /* A point that is not on the curve. */
        memcpy(flipped, ec_pub, sizeof(ec_pub));
        flipped[90] = flipped[90] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp256", flipped, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_parse_wrong_key_type) {
        /* Declared type and actual key must agree. */
        ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp256", rsa_pub, NULL), -EBADMSG);
        ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp256", ec384_pub, NULL), -EBADMSG);
        ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp256", ed_pub_pem, NULL), -EBADMSG);
        ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha256", ec_pub, NULL), -EBADMSG);
        ck_assert_int_eq(parse_key("rsa", "rsa-pkcs1v15-sha256", ec_pub, NULL), -EBADMSG);
        ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha256", ed_pub_pem, NULL), -EBADMSG);
        /* Too short to be trusted. */
        ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha256", rsa1024_pub, NULL), -EBADMSG);

        ck_assert_int_eq(parse_key("ecdsa", "ecdsa-sha2-nistp256", ec_pub, NULL), 0);
        ck_assert_int_eq(parse_key("rsa", "rsassa-pss-sha256", rsa_pub, NULL), 0);
}
END_TEST

START_TEST(test_ref_unref) {
        UpKey *k = NULL;

        ck_assert_int_eq(parse_key("ed25519", "ed25519", rfc8032_pub, &k), 0);
        ck_assert_ptr_eq(up_key_ref(k), k);
        ck_assert_ptr_null(up_key_unref(k));
        ck_assert_int_eq(up_key_scheme(k), UP_SCHEME_ED25519); /* still alive */
        ck_assert_ptr_null(up_key_unref(k));
        ck_assert_ptr_null(up_key_unref(NULL));
        ck_assert_ptr_null(up_key_ref(NULL));
}
END_TEST

/* ---- private key files ---- */

static char *make_tmpdir(void) {
        char *d = strdup("/tmp/test-key-XXXXXX");

        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static void rm_rf(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                char p[4096];

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                if (unlink(p) < 0)
                        (void) rmdir(p);
        }
        closedir(d);
        (void) rmdir(dir);
}

static size_t count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void write_file(const char *path, const void *data, size_t len) {
        FILE *f = fopen(path, "we");

        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
}

static int load_expect_fail(const char *path) {
        UpKey *k = SENTINEL;
        int r;

        r = up_key_load_private(path, &k);
        ck_assert_int_lt(r, 0);
        ck_assert_ptr_eq(k, SENTINEL);
        ck_assert_uint_eq(ERR_peek_error(), 0);
        return r;
}

START_TEST(test_private_roundtrip) {
        static const char msg[] = "snapshot";
        UpKeyScheme s = all_schemes[_i];
        UpKey *k = generated[s], *loaded = NULL;
        _cleanup_free_ char *dir = make_tmpdir(), *path = NULL, *head = NULL;
        _cleanup_free_ uint8_t *sig = NULL, *sig2 = NULL;
        size_t sig_len = 0, sig2_len = 0;
        char id[65], id2[65];
        struct stat st;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "%s/key.pem", dir), 0);

        /* The file mode does not depend on the umask. */
        umask(0);
        ck_assert_int_eq(up_key_save_private(k, path), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(count_entries(dir), 1);

        ck_assert_int_ge(asprintf(&head, "scheme: %s\n-----BEGIN PRIVATE KEY-----\n", up_key_scheme_name(s)), 0);
        {
                char buf[128] = {};

                f = fopen(path, "re");
                ck_assert_ptr_nonnull(f);
                ck_assert_uint_ge(fread(buf, 1, strlen(head), f), strlen(head));
                fclose(f);
                ck_assert_int_eq(strncmp(buf, head, strlen(head)), 0);
        }

        ck_assert_int_eq(up_key_load_private(path, &loaded), 0);
        ck_assert_int_eq(up_key_scheme(loaded), s);
        ck_assert_int_eq(up_key_keyid(k, id), 0);
        ck_assert_int_eq(up_key_keyid(loaded, id2), 0);
        ck_assert_str_eq(id, id2);

        ck_assert_int_eq(up_key_sign(loaded, msg, strlen(msg), &sig, &sig_len), 0);
        ck_assert_int_eq(up_key_verify(k, msg, strlen(msg), sig, sig_len), 0);
        ck_assert_int_eq(up_key_sign(k, msg, strlen(msg), &sig2, &sig2_len), 0);
        ck_assert_int_eq(up_key_verify(loaded, msg, strlen(msg), sig2, sig2_len), 0);

        /* Replacing an existing file, with a loose mode, gives 0600 again. */
        ck_assert_int_eq(chmod(path, 0644), 0);
        ck_assert_int_eq(up_key_save_private(loaded, path), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(count_entries(dir), 1);

        up_key_unref(loaded);
        rm_rf(dir);
}
END_TEST

START_TEST(test_private_save_errors) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = NULL, *missing = NULL;
        UpKey *pub = reparse_public(generated[UP_SCHEME_ED25519]);

        ck_assert_int_ge(asprintf(&path, "%s/key.pem", dir), 0);
        ck_assert_int_ge(asprintf(&missing, "%s/nodir/key.pem", dir), 0);

        ck_assert_int_eq(up_key_save_private(pub, path), -ENOKEY);
        ck_assert_int_eq(up_key_save_private(generated[UP_SCHEME_ED25519], missing), -ENOENT);
        ck_assert_uint_eq(count_entries(dir), 0);

        up_key_unref(pub);
        rm_rf(dir);
}
END_TEST

START_TEST(test_private_load_errors) {
        _cleanup_free_ char *dir = make_tmpdir(), *path = NULL, *big = NULL, *good = NULL;
        _cleanup_free_ char *pem = NULL, *body = NULL;
        const size_t max = 64 * 1024;
        EVP_PKEY *pkey;
        BIO *bio;
        char *data;
        long len;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "%s/key", dir), 0);

        ck_assert_int_eq(load_expect_fail(path), -ENOENT);
        ck_assert_int_eq(load_expect_fail(dir), -EISDIR);

        write_file(path, "", 0);
        ck_assert_int_eq(load_expect_fail(path), -EBADMSG);

        write_file(path, "garbage\n\x01\x02\x03", 11);
        ck_assert_int_eq(load_expect_fail(path), -EBADMSG);

        write_file(path, "scheme: ed25519", 15);
        ck_assert_int_eq(load_expect_fail(path), -EBADMSG);

        write_file(path, "scheme: ed25519\ngarbage\n", 24);
        ck_assert_int_eq(load_expect_fail(path), -EBADMSG);

        /* A real key file to derive broken ones from. */
        ck_assert_int_ge(asprintf(&good, "%s/good", dir), 0);
        ck_assert_int_eq(up_key_save_private(generated[UP_SCHEME_ED25519], good), 0);
        f = fopen(good, "re");
        ck_assert_ptr_nonnull(f);
        pem = calloc(1, 4096);
        ck_assert_uint_gt(fread(pem, 1, 4095, f), 0);
        fclose(f);
        body = strdup(strchr(pem, '\n') + 1);

        /* No scheme line. */
        write_file(path, body, strlen(body));
        ck_assert_int_eq(load_expect_fail(path), -EBADMSG);

        /* Unknown scheme. */
        {
                _cleanup_free_ char *s = NULL;

                ck_assert_int_ge(asprintf(&s, "scheme: ed448\n%s", body), 0);
                write_file(path, s, strlen(s));
                ck_assert_int_eq(load_expect_fail(path), -EOPNOTSUPP);
        }

        /* An ed25519 key claiming to be RSA. */
        {
                _cleanup_free_ char *s = NULL;

                ck_assert_int_ge(asprintf(&s, "scheme: rsassa-pss-sha256\n%s", body), 0);
                write_file(path, s, strlen(s));
                ck_assert_int_eq(load_expect_fail(path), -EBADMSG);
        }

        /* A public key where the private one belongs. */
        {
                _cleanup_free_ char *s = NULL;

                ck_assert_int_ge(asprintf(&s, "scheme: ecdsa-sha2-nistp256\n%s", ec_pub), 0);
                write_file(path, s, strlen(s));
                ck_assert_int_eq(load_expect_fail(path), -EBADMSG);
        }

        /* Encrypted PKCS#8: refused, and no password prompt. */
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        bio = BIO_new(BIO_s_mem());
        BIO_puts(bio, "scheme: ed25519\n");
        ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), "pw", 2, NULL, NULL), 1);
        len = BIO_get_mem_data(bio, &data);
        write_file(path, data, (size_t) len);
        BIO_free(bio);
        EVP_PKEY_free(pkey);
        ck_assert_int_eq(load_expect_fail(path), -EBADMSG);

        /* Over 64 KiB, even with a valid key at the start. */
        big = malloc(max + 1);
        memset(big, '\n', max + 1);
        memcpy(big, pem, strlen(pem));
        write_file(path, big, max + 1);
        ck_assert_int_eq(load_expect_fail(path), -EFBIG);

        /* Exactly 64 KiB is still read. */
        {
                UpKey *k = NULL;

                write_file(path, big, max);
                ck_assert_int_eq(up_key_load_private(path, &k), 0);
                up_key_unref(k);
        }

        rm_rf(dir);
}
END_TEST

static Suite *key_suite(void) {
        Suite *s = suite_create("key");
        TCase *tc;

        tc = tcase_create("vectors");
        tcase_add_test(tc, test_scheme_names);
        tcase_add_test(tc, test_ed25519_rfc8032);
        tcase_add_test(tc, test_ecdsa_vector);
        tcase_add_test(tc, test_rsa_vectors);
        tcase_add_test(tc, test_keyid_vectors);
        tcase_add_test(tc, test_ref_unref);
        suite_add_tcase(s, tc);

        tc = tcase_create("parse");
        tcase_add_test(tc, test_parse_structure);
        tcase_add_test(tc, test_parse_unsupported);
        tcase_add_test(tc, test_parse_ed25519_bad);
        tcase_add_test(tc, test_parse_pem_bad);
        tcase_add_test(tc, test_parse_wrong_key_type);
        suite_add_tcase(s, tc);

        tc = tcase_create("generated");
        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, generate_all, free_all);
        tcase_add_loop_test(tc, test_roundtrip, 0, (int) ELEMENTSOF(all_schemes));
        tcase_add_loop_test(tc, test_generated_json, 0, (int) ELEMENTSOF(all_schemes));
        tcase_add_test(tc, test_generate_unique);
        tcase_add_loop_test(tc, test_concurrent_verify, 0, (int) ELEMENTSOF(all_schemes));
        tcase_add_test(tc, test_pss_any_salt_length);
        tcase_add_loop_test(tc, test_private_roundtrip, 0, (int) ELEMENTSOF(all_schemes));
        tcase_add_test(tc, test_private_save_errors);
        tcase_add_test(tc, test_private_load_errors);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(key_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
