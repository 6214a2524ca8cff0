/* SPDX-License-Identifier: MIT */
/*
 * Time server attestations: round trips for every key scheme, strict parsing
 * (each field, each limit and one past it), the signing side, and what an
 * ECU must refuse: a wrong key, a tampered time, an attestation without its
 * nonce (replayed) or not later than the last time it verified.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/manifest.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define BAD (-EBADMSG)
#define BIG (-EFBIG)
#define T0 TESTREPO_NOW

enum { TIMESERVER, OTHER, _N_SIGNERS };
static UpKey *keys[_UP_SCHEME_MAX][_N_SIGNERS];

static const UpKeyScheme schemes[] = {
        UP_SCHEME_ED25519,
        UP_SCHEME_ECDSA_SHA2_NISTP256,
        UP_SCHEME_RSASSA_PSS_SHA256,
        UP_SCHEME_RSA_PKCS1V15_SHA256,
};

static const int64_t base_nonces[] = { 0, 17, 123456789, UP_NONCE_MAX };

static char *sign_ok(time_t t, const int64_t *nonces, size_t n, const UpKey *key, size_t *ret_len) {
        char *text = NULL;
        int r;

        r = up_time_attestation_sign(t, nonces, n, key, &text, ret_len);
        ck_assert_msg(r == 0, "up_time_attestation_sign: %s", strerror(-r));
        ck_assert_uint_eq(strlen(text), *ret_len);
        return text;
}

static char *sign_base(size_t *ret_len) {
        return sign_ok(T0, base_nonces, ELEMENTSOF(base_nonces), keys[UP_SCHEME_ED25519][TIMESERVER], ret_len);
}

static UpTimeAttestationDoc *parse_ok(const char *text, size_t len) {
        UpTimeAttestationDoc *d = NULL;
        int r;

        r = up_time_attestation_parse(text, len, &d);
        ck_assert_msg(r == 0, "up_time_attestation_parse: %s\n%s", strerror(-r), text);
        return d;
}

/* Parses and verifies for an ECU whose nonce is nonce and last time last. */
static int check(const char *text, size_t len, const UpKey *key, int64_t nonce, time_t last) {
        UpTimeAttestationDoc *d = NULL;
        int r;

        r = up_time_attestation_parse(text, len, &d);
        if (r < 0)
                return r;
        r = up_time_attestation_verify(d, key, nonce, last);
        up_time_attestation_doc_free(d);
        return r;
}

/* --- Editing documents --------------------------------------------------- */

static struct json_object *nested_arrays(size_t n) {
        struct json_object *o = json_object_new_array();

        for (size_t i = 1; i < n; i++) {
                struct json_object *outer = json_object_new_array();

                json_object_array_add(outer, o);
                o = outer;
        }
        return o;
}

static struct json_object *repeated_string(size_t n, char c) {
        char *s = malloc(n + 1);
        struct json_object *o;

        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        o = json_object_new_string_len(s, (int) n);
        free(s);
        return o;
}

/* Test values: JSON text, "$<n><c>": a string of n times c, "@<n>": n nested arrays. */
static struct json_object *value_new(const char *v) {
        char *end;
        size_t n;

        if (v[0] == '$') {
                n = strtoul(v + 1, &end, 10);
                return repeated_string(n, *end);
        }
        if (v[0] == '@')
                return nested_arrays(strtoul(v + 1, NULL, 10));
        return json_tokener_parse(v);
}

/* Sets the member at a '/'-separated path to value (NULL deletes it). */
static void apply_edit(struct json_object *doc, const char *path, const char *value) {
        char *copy = strdup(path), *p = copy, *slash;
        struct json_object *o = doc, *v;

        while ((slash = strchr(p, '/'))) {
                struct json_object *next = NULL;

                *slash = '\0';
                if (json_object_is_type(o, json_type_array))
                        next = json_object_array_get_idx(o, (size_t) atoi(p));
                else
                        json_object_object_get_ex(o, p, &next);
                ck_assert_msg(next, "no member '%s' in %s", p, path);
                o = next;
                p = slash + 1;
        }
        if (!value)
                json_object_object_del(o, p);
        else {
                v = value_new(value);
                ck_assert_msg(v || strcmp(value, "null") == 0, "bad test value %s", value);
                if (json_object_is_type(o, json_type_array))
                        json_object_array_put_idx(o, (size_t) atoi(p), v);
                else
                        json_object_object_add(o, p, v);
        }
        free(copy);
}

static char *to_text(struct json_object *doc, size_t *ret_len) {
        const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        *ret_len = strlen(s);
        return strdup(s);
}

static char *edited(const char *text, const char *path, const char *value, size_t *ret_len) {
        struct json_object *doc = json_tokener_parse(text);
        char *out;

        ck_assert_ptr_nonnull(doc);
        if (path[0])
                apply_edit(doc, path, value);
        out = to_text(doc, ret_len);
        json_object_put(doc);
        return out;
}

typedef struct Edit {
        const char *path;  /* "" = no change */
        const char *value; /* NULL deletes */
        int expected;
} Edit;

static const Edit edits[] = {
        { "", NULL, 0 },
        /* Envelope. */
        { "signed", NULL, BAD },
        { "signed", "\"2025-06-15T00:00:00Z\"", BAD },
        { "signatures", NULL, BAD },
        { "signatures", "{}", BAD },
        { "signatures", "[]", 0 },
        { "signatures/0", "[]", BAD },
        { "signatures/0/keyid", NULL, BAD },
        { "signatures/0/keyid", "$257k", BIG },
        { "signatures/0/method", NULL, BAD },
        { "signatures/0/method", "\"\\u0000\"", BAD },
        { "signatures/0/sig", "\"0\"", BAD },
        { "signatures/0/sig", "\"0g\"", BAD },
        { "signatures/0/sig", "$2048f", 0 },
        { "signatures/0/sig", "$2050f", BIG },
        /* time */
        { "signed/time", NULL, BAD },
        { "signed/time", "1749945600", BAD },
        { "signed/time", "\"2025-06-15 00:00:00Z\"", BAD },
        { "signed/time", "\"2025-06-15T00:00:00+00:00\"", BAD },
        { "signed/time", "\"2025-13-01T00:00:00Z\"", BAD },
        { "signed/time", "\"2024-02-29T23:59:59Z\"", 0 },
        { "signed/time", "\"2025-02-29T00:00:00Z\"", BAD },
        { "signed/time", "\"1970-01-01T00:00:00Z\"", 0 },
        { "signed/time", "\"1969-12-31T23:59:59Z\"", BAD },
        { "signed/time", "\"0001-01-01T00:00:00Z\"", BAD },
        /* nonces */
        { "signed/nonces", NULL, BAD },
        { "signed/nonces", "{}", BAD },
        { "signed/nonces", "17", BAD },
        { "signed/nonces", "[]", 0 },
        { "signed/nonces/0", "-1", BAD },
        { "signed/nonces/0", "2147483648", BAD },
        { "signed/nonces/0", "9223372036854775808", BAD },
        { "signed/nonces/0", "\"17\"", BAD },
        { "signed/nonces/0", "17.0", BAD },
        { "signed/nonces/0", "null", BAD },
        { "signed/nonces/0", "[17]", BAD },
        { "signed/nonces/4", "2147483647", 0 },
        { "signed/nonces/4", "17", 0 },
        /* Unknown members: signed and ignored. */
        { "signed/x-unknown", "{\"a\":[1]}", 0 },
        { "signed/x-unknown", "0.5", BAD },
        { "signed/x-unknown", "@6", 0 },
        { "signed/x-unknown", "@7", BAD },
};

START_TEST(test_parse_edited) {
        const Edit *e = &edits[_i];
        UpTimeAttestationDoc *d = NULL;
        char *base, *text;
        size_t len;
        int r;

        base = sign_base(&len);
        text = edited(base, e->path, e->value, &len);
        r = up_time_attestation_parse(text, len, &d);
        ck_assert_msg(r == e->expected, "%s = %.40s: got %d (%s), expected %d", e->path,
                      e->value ? e->value : "(deleted)", r, strerror(-r), e->expected);
        ck_assert(r < 0 ? d == NULL : d != NULL);
        up_time_attestation_doc_free(d);
        free(text);
        free(base);
}
END_TEST

START_TEST(test_whole_documents) {
        static const char *const bad[] = {
                "", "null", "[]", "{}", "{\"signatures\":[]}", "{\"signatures\":[],\"signed\":{}}",
                "{\"signatures\":[],\"signed\":{\"time\":\"2025-06-15T00:00:00Z\"}}",
                "{\"signatures\":[],\"signed\":{\"nonces\":[]}}", "\xff",
        };
        static const char ok[] = "{\"signatures\":[],\"signed\":{\"time\":\"2025-06-15T00:00:00Z\",\"nonces\":[1]}}";
        UpTimeAttestationDoc *d = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(up_time_attestation_parse(bad[i], strlen(bad[i]), &d), BAD);
        ck_assert_ptr_null(d);
        d = parse_ok(ok, strlen(ok));
        ck_assert_int_eq(up_time_attestation_time(d), T0);
        /* Without signatures nothing verifies. */
        ck_assert_int_eq(up_time_attestation_verify(d, keys[UP_SCHEME_ED25519][TIMESERVER], 1, 0), -EKEYREJECTED);
        up_time_attestation_doc_free(d);
}
END_TEST

/* --- Round trips ----------------------------------------------------------- */

START_TEST(test_round_trip) {
        UpKeyScheme s = schemes[_i];
        UpTimeAttestationDoc *d;
        const int64_t *nonces;
        size_t len, n;
        char *text;

        text = sign_ok(T0, base_nonces, ELEMENTSOF(base_nonces), keys[s][TIMESERVER], &len);
        d = parse_ok(text, len);
        ck_assert_int_eq(up_time_attestation_time(d), T0);
        nonces = up_time_attestation_nonces(d, &n);
        ck_assert_uint_eq(n, ELEMENTSOF(base_nonces));
        for (size_t i = 0; i < n; i++) {
                ck_assert_int_eq(nonces[i], base_nonces[i]);
                ck_assert(up_time_attestation_has_nonce(d, base_nonces[i]));
                ck_assert_int_eq(up_time_attestation_verify(d, keys[s][TIMESERVER], base_nonces[i], T0 - 1), 0);
        }
        ck_assert(!up_time_attestation_has_nonce(d, 18));
        ck_assert_int_eq(up_time_attestation_verify_nonces(d, keys[s][TIMESERVER], base_nonces,
                                                           ELEMENTSOF(base_nonces), 0), 0);
        ck_assert_int_eq(up_time_attestation_verify(d, keys[s][OTHER], 17, 0), -EKEYREJECTED);
        up_time_attestation_doc_free(d);
        free(text);
}
END_TEST

START_TEST(test_no_nonces) {
        UpTimeAttestationDoc *d;
        size_t len, n = 99;
        char *text;

        text = sign_ok(T0, NULL, 0, keys[UP_SCHEME_ED25519][TIMESERVER], &len);
        d = parse_ok(text, len);
        ck_assert_ptr_nonnull(up_time_attestation_nonces(d, &n));
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(up_time_attestation_verify_nonces(d, keys[UP_SCHEME_ED25519][TIMESERVER], NULL, 0, T0 - 1),
                         0);
        ck_assert_int_eq(up_time_attestation_verify(d, keys[UP_SCHEME_ED25519][TIMESERVER], 0, T0 - 1), -ESTALE);
        up_time_attestation_doc_free(d);
        free(text);
}
END_TEST

/* --- Attacks ------------------------------------------------------------- */

START_TEST(test_wrong_key) {
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER], *other = keys[UP_SCHEME_ED25519][OTHER];
        size_t len;
        char *text;

        text = sign_base(&len);
        ck_assert_int_eq(check(text, len, ts, 17, T0 - 1), 0);
        ck_assert_int_eq(check(text, len, other, 17, T0 - 1), -EKEYREJECTED);
        ck_assert_int_eq(check(text, len, keys[UP_SCHEME_ECDSA_SHA2_NISTP256][TIMESERVER], 17, T0 - 1), -EKEYREJECTED);
        free(text);

        /* Signed by another key: whatever it says, it is not the time server's. */
        text = sign_ok(T0 + 100, base_nonces, ELEMENTSOF(base_nonces), other, &len);
        ck_assert_int_eq(check(text, len, ts, 17, T0 - 1), -EKEYREJECTED);
        free(text);
}
END_TEST

START_TEST(test_tampered) {
        static const char *const tampering[][2] = {
                { "signed/time", "\"2030-01-01T00:00:00Z\"" },
                { "signed/time", "\"2025-06-15T00:00:01Z\"" },
                { "signed/nonces/4", "99" },
                { "signed/nonces", "[17]" },
                { "signed/x-unknown", "1" },
                { "signatures/0/method", "\"ecdsa-sha2-nistp256\"" },
                { "signatures/0/keyid", "\"0000000000000000000000000000000000000000000000000000000000000000\"" },
        };
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER];
        size_t base_len;
        char *base;

        base = sign_base(&base_len);
        for (size_t i = 0; i < ELEMENTSOF(tampering); i++) {
                size_t len;
                char *text = edited(base, tampering[i][0], tampering[i][1], &len);

                ck_assert_int_eq(check(text, len, ts, 17, T0 - 1), -EKEYREJECTED);
                free(text);
        }
        free(base);
}
END_TEST

START_TEST(test_flipped_signature) {
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER];
        struct json_object *doc, *sig;
        size_t len;
        char *text, *s;

        text = sign_base(&len);
        doc = json_tokener_parse(text);
        free(text);
        sig = json_object_object_get(json_object_array_get_idx(json_object_object_get(doc, "signatures"), 0), "sig");
        s = strdup(json_object_get_string(sig));
        s[0] = s[0] == 'a' ? 'b' : 'a';
        json_object_set_string(sig, s);
        text = to_text(doc, &len);
        ck_assert_int_eq(check(text, len, ts, 17, T0 - 1), -EKEYREJECTED);
        free(text);
        free(s);
        json_object_put(doc);
}
END_TEST

/* An answer to other ECUs' nonces (or to this ECU's previous one) is a replay. */
START_TEST(test_missing_nonce) {
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER];
        const int64_t required[] = { 17, 42 };
        UpTimeAttestationDoc *d;
        size_t len;
        char *text;

        text = sign_base(&len);
        ck_assert_int_eq(check(text, len, ts, 42, T0 - 1), -ESTALE);
        ck_assert_int_eq(check(text, len, ts, 1, T0 - 1), -ESTALE);
        ck_assert_int_eq(check(text, len, ts, UP_NONCE_MAX - 1, T0 - 1), -ESTALE);
        /* The signature is checked first. */
        ck_assert_int_eq(check(text, len, keys[UP_SCHEME_ED25519][OTHER], 42, T0 - 1), -EKEYREJECTED);

        /* A Primary needs every nonce it sent. */
        d = parse_ok(text, len);
        ck_assert_int_eq(up_time_attestation_verify_nonces(d, ts, required, 1, T0 - 1), 0);
        ck_assert_int_eq(up_time_attestation_verify_nonces(d, ts, required, 2, T0 - 1), -ESTALE);
        ck_assert_int_eq(up_time_attestation_verify_nonces(d, ts, required + 1, 1, T0 - 1), -ESTALE);
        up_time_attestation_doc_free(d);
        free(text);
}
END_TEST

/* An old attestation replayed: with the old nonce it fails the nonce check;
 * even with the current nonce it fails the time check. */
START_TEST(test_replayed_older) {
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER];
        const int64_t first[] = { 1111 }, second[] = { 2222 }, both[] = { 1111, 2222 };
        char *old, *cur, *old_with_both;
        size_t old_len, cur_len, both_len;
        time_t last = T0 - TESTREPO_DAY;

        old = sign_ok(T0, first, 1, ts, &old_len);
        ck_assert_int_eq(check(old, old_len, ts, 1111, last), 0);
        last = T0; /* the ECU took the time and made a new nonce, 2222 */

        cur = sign_ok(T0 + 60, second, 1, ts, &cur_len);
        ck_assert_int_eq(check(old, old_len, ts, 2222, last), -ESTALE);
        ck_assert_int_eq(check(cur, cur_len, ts, 2222, last), 0);
        last = T0 + 60;

        /* Not later than the last verified time: the same time, or earlier. */
        old_with_both = sign_ok(T0 + 60, both, 2, ts, &both_len);
        ck_assert_int_eq(check(old_with_both, both_len, ts, 2222, last), -ESTALE);
        ck_assert_int_eq(check(old_with_both, both_len, ts, 2222, last - 1), 0);
        ck_assert_int_eq(check(cur, cur_len, ts, 2222, last), -ESTALE);
        ck_assert_int_eq(check(old, old_len, ts, 1111, last), -ESTALE);
        ck_assert_int_eq(check(cur, cur_len, ts, 2222, last + 3600), -ESTALE);

        free(old_with_both);
        free(cur);
        free(old);
}
END_TEST

static struct json_object *fake_signature(size_t i) {
        char buf[128];

        snprintf(buf, sizeof(buf), "{\"keyid\":\"k%zu\",\"method\":\"ed25519\",\"sig\":\"abcd\"}", i);
        return json_tokener_parse(buf);
}

static char *with_signatures(const char *text, size_t n_fake, bool duplicate, size_t *ret_len) {
        struct json_object *doc = json_tokener_parse(text), *sigs;
        char *out;

        sigs = json_object_object_get(doc, "signatures");
        if (duplicate)
                json_object_array_add(sigs, json_object_get(json_object_array_get_idx(sigs, 0)));
        for (size_t i = 0; i < n_fake; i++)
                json_object_array_add(sigs, fake_signature(i));
        out = to_text(doc, ret_len);
        json_object_put(doc);
        return out;
}

START_TEST(test_signatures) {
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER];
        char *base, *text;
        size_t len;

        base = sign_base(&len);
        text = with_signatures(base, UP_MSG_MAX_SIGNATURES - 1, false, &len);
        ck_assert_int_eq(check(text, len, ts, 17, T0 - 1), 0);
        free(text);
        text = with_signatures(base, UP_MSG_MAX_SIGNATURES, false, &len);
        ck_assert_int_eq(check(text, len, ts, 17, T0 - 1), BIG);
        free(text);
        text = with_signatures(base, 0, true, &len);
        ck_assert_int_eq(check(text, len, ts, 17, T0 - 1), -ENOTUNIQ);
        free(text);
        free(base);
}
END_TEST

/* --- Limits ------------------------------------------------------------------ */

START_TEST(test_max_nonces) {
        const size_t max = UP_TIME_ATTESTATION_MAX_NONCES;
        int64_t *nonces = calloc(max + 1, sizeof(int64_t));
        UpTimeAttestationDoc *d = NULL;
        char *text, *text2 = NULL, idx[64];
        size_t len;

        for (size_t i = 0; i <= max; i++)
                nonces[i] = UP_NONCE_MAX - (int64_t) i;
        text = sign_ok(T0, nonces, max, keys[UP_SCHEME_ED25519][TIMESERVER], &len);
        d = parse_ok(text, len);
        ck_assert_int_eq(up_time_attestation_verify(d, keys[UP_SCHEME_ED25519][TIMESERVER], nonces[max - 1], 0), 0);
        up_time_attestation_doc_free(d);
        d = NULL;

        ck_assert_int_eq(up_time_attestation_sign(T0, nonces, max + 1, keys[UP_SCHEME_ED25519][TIMESERVER], &text2,
                                                  &len), BIG);
        ck_assert_ptr_null(text2);
        snprintf(idx, sizeof(idx), "signed/nonces/%zu", max);
        text2 = edited(text, idx, "5", &len);
        ck_assert_int_eq(up_time_attestation_parse(text2, len, &d), BIG);
        ck_assert_ptr_null(d);
        free(text2);
        free(text);
        free(nonces);
}
END_TEST

START_TEST(test_max_bytes) {
        const size_t max = UP_TIME_ATTESTATION_MAX_BYTES;
        UpTimeAttestationDoc *d = NULL;
        size_t len;
        char *text, *buf;

        text = sign_base(&len);
        buf = malloc(max + 2);
        memcpy(buf, text, len);
        memset(buf + len, '\n', max + 1 - len);
        ck_assert_int_eq(up_time_attestation_parse(buf, max, &d), 0);
        ck_assert_int_eq(up_time_attestation_verify(d, keys[UP_SCHEME_ED25519][TIMESERVER], 17, 0), 0);
        up_time_attestation_doc_free(d);
        d = NULL;
        ck_assert_int_eq(up_time_attestation_parse(buf, max + 1, &d), BIG);
        ck_assert_ptr_null(d);
        free(buf);
        free(text);
}
END_TEST

/* --- The signing side and arguments -------------------------------------- */

START_TEST(test_sign_checks) {
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER];
        const int64_t negative[] = { 5, -1 }, big[] = { UP_NONCE_MAX + 1 };
        struct json_object *pub_json;
        UpKey *pub = NULL;
        char *text = NULL;
        size_t len = 0;

        ck_assert_int_eq(up_time_attestation_sign(T0, negative, 2, ts, &text, &len), -EINVAL);
        ck_assert_int_eq(up_time_attestation_sign(T0, big, 1, ts, &text, &len), -EINVAL);
        ck_assert_int_eq(up_time_attestation_sign(T0, NULL, 1, ts, &text, &len), -EINVAL);
        ck_assert_int_eq(up_time_attestation_sign((time_t) 253402300800, big, 0, ts, &text, &len), -EINVAL);
        ck_assert_int_eq(up_time_attestation_sign((time_t) -1, big, 0, ts, &text, &len), -EINVAL);
        ck_assert_int_eq(up_time_attestation_sign(T0, big, 0, NULL, &text, &len), -EINVAL);
        ck_assert_int_eq(up_time_attestation_sign(T0, big, 0, ts, NULL, &len), -EINVAL);
        ck_assert_int_eq(up_time_attestation_sign(T0, big, 0, ts, &text, NULL), -EINVAL);

        pub_json = up_key_to_json(ts);
        ck_assert_int_eq(up_key_from_json(pub_json, &pub), 0);
        ck_assert_int_eq(up_time_attestation_sign(T0, NULL, 0, pub, &text, &len), -ENOKEY);
        ck_assert_ptr_null(text);
        ck_assert_uint_eq(len, 0);

        /* A public key verifies what its private key signed. */
        text = sign_base(&len);
        ck_assert_int_eq(check(text, len, pub, 17, 0), 0);
        free(text);
        up_key_unref(pub);
        json_object_put(pub_json);
}
END_TEST

START_TEST(test_verify_arguments) {
        UpKey *ts = keys[UP_SCHEME_ED25519][TIMESERVER];
        const int64_t bad[] = { 17, -5 };
        UpTimeAttestationDoc *d, *none = NULL;
        size_t len, n = 7;
        char *text;

        text = sign_base(&len);
        d = parse_ok(text, len);
        ck_assert_int_eq(up_time_attestation_verify(d, ts, -1, 0), -EINVAL);
        ck_assert_int_eq(up_time_attestation_verify(d, ts, UP_NONCE_MAX + 1, 0), -EINVAL);
        ck_assert_int_eq(up_time_attestation_verify_nonces(d, ts, bad, 2, 0), -EINVAL);
        ck_assert_int_eq(up_time_attestation_verify_nonces(d, ts, NULL, 1, 0), -EINVAL);
        ck_assert_int_eq(up_time_attestation_verify(d, NULL, 17, 0), -EINVAL);
        ck_assert_int_eq(up_time_attestation_verify(NULL, ts, 17, 0), -EINVAL);
        ck_assert_int_eq(up_time_attestation_parse(NULL, 1, &none), -EINVAL);
        ck_assert_int_eq(up_time_attestation_parse(text, len, NULL), -EINVAL);
        ck_assert_ptr_null(none);
        ck_assert_ptr_null(up_time_attestation_nonces(NULL, &n));
        ck_assert_uint_eq(n, 0);
        ck_assert(!up_time_attestation_has_nonce(NULL, 17));
        up_time_attestation_doc_free(d);
        free(text);
}
END_TEST

START_TEST(test_nonce_generate) {
        int64_t seen[32];
        bool differ = false;

        ck_assert_int_eq(up_nonce_generate(NULL), -EINVAL);
        for (size_t i = 0; i < ELEMENTSOF(seen); i++) {
                ck_assert_int_eq(up_nonce_generate(&seen[i]), 0);
                ck_assert(up_nonce_valid(seen[i]));
                differ = differ || seen[i] != seen[0];
        }
        ck_assert(differ);
        ck_assert(up_nonce_valid(0));
        ck_assert(up_nonce_valid(UP_NONCE_MAX));
        ck_assert(!up_nonce_valid(-1));
        ck_assert(!up_nonce_valid(UP_NONCE_MAX + 1));
}
END_TEST

static Suite *time_attestation_suite(void) {
        Suite *s = suite_create("time_attestation");
        TCase *tc;

        tc = tcase_create("parse");
        tcase_add_loop_test(tc, test_parse_edited, 0, (int) ELEMENTSOF(edits));
        tcase_add_test(tc, test_whole_documents);
        suite_add_tcase(s, tc);

        tc = tcase_create("round-trip");
        tcase_add_loop_test(tc, test_round_trip, 0, (int) ELEMENTSOF(schemes));
        tcase_add_test(tc, test_no_nonces);
        suite_add_tcase(s, tc);

        tc = tcase_create("attacks");
        tcase_add_test(tc, test_wrong_key);
        tcase_add_test(tc, test_tampered);
        tcase_add_test(tc, test_flipped_signature);
        tcase_add_test(tc, test_missing_nonce);
        tcase_add_test(tc, test_replayed_older);
        tcase_add_test(tc, test_signatures);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_test(tc, test_max_nonces);
        tcase_add_test(tc, test_max_bytes);
        suite_add_tcase(s, tc);

        tc = tcase_create("api");
        tcase_add_test(tc, test_sign_checks);
        tcase_add_test(tc, test_verify_arguments);
        tcase_add_test(tc, test_nonce_generate);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                for (int j = 0; j < _N_SIGNERS; j++)
                        if (up_key_generate(schemes[i], &keys[schemes[i]][j]) < 0) {
                                fprintf(stderr, "cannot generate keys\n");
                                return EXIT_FAILURE;
                        }

        sr = srunner_create(time_attestation_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                for (int j = 0; j < _N_SIGNERS; j++)
                        up_key_unref(keys[schemes[i]][j]);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
