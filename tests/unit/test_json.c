/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "uptane/json.h"
#include "../../src/lib/util.h"

typedef struct Vector {
        const char *name;
        const char *input;
        size_t input_len;
        const char *expected;
        size_t expected_len;
} Vector;

/* sizeof, not strlen: some literals hold NUL bytes. */
#define VECTOR(n, in, out) { n, in, sizeof(in) - 1, out, sizeof(out) - 1 }

/* Expected strings come from a Python rendering of securesystemslib's
 * encode_canonical (sorted(dict.items()), only '"' and '\\' escaped), checked
 * against json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False). */
static const Vector vectors[] = {
        VECTOR("keys",
               "{\"b\":1,\"a\":2,\"aa\":3,\"ab\":4,\"a b\":5,\"\":6,\"B\":7}",
               "{\"\":6,\"B\":7,\"a\":2,\"a b\":5,\"aa\":3,\"ab\":4,\"b\":1}"),
        VECTOR("prefix",
               "{\"path/file-10.bin\":1,\"path/file-9.bin\":2,\"path/file-1.bin\":3,"
               "\"path/file-1.bin.sig\":4,\"path/file-1\":5}",
               "{\"path/file-1\":5,\"path/file-1.bin\":3,\"path/file-1.bin.sig\":4,"
               "\"path/file-10.bin\":1,\"path/file-9.bin\":2}"),
        /* é is C3 A9 > 'z'; U+FFFF (EF BF BF) < U+1F600 (F0 ..), as in code point order. */
        VECTOR("nonascii",
               "{\"z\":1,\"\303\251\":2,\"\\u00e9t\\u00e9\":3,\"~\":4,\"\\ud83d\\ude00\":5,"
               "\"\\uffff\":6,\"\303\277\":7,\"Z\":8,\"\\u0080\":9}",
               "{\"Z\":8,\"z\":1,\"~\":4,\"\302\200\":9,\"\303\251\":2,\"\303\251t\303\251\":3,"
               "\"\303\277\":7,\"\357\277\277\":6,\"\360\237\230\200\":5}"),
        VECTOR("escape",
               "[\"a\\\"b\",\"c\\\\d\",\"e/f\\/g\",\"'\", \"\\\"\\\\\\\"\"]",
               "[\"a\\\"b\",\"c\\\\d\",\"e/f/g\",\"'\",\"\\\"\\\\\\\"\"]"),
        VECTOR("control",
               "[\"\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f\",\"tab\\there\"]",
               "[\"\n\011\015\010\014\001\037\177\",\"tab\011here\"]"),
        VECTOR("nul",
               "{\"v\":\"a\\u0000b\"}",
               "{\"v\":\"a\000b\"}"),
        VECTOR("unicode",
               "[\"\\u00e9\",\"\\ud83d\\ude00\",\"\\u20ac\",\"\303\251\",\"\\uD834\\uDD1E\"]",
               "[\"\303\251\",\"\360\237\230\200\",\"\342\202\254\",\"\303\251\",\"\360\235\204\236\"]"),
        VECTOR("ints",
               "[0,-0,-1,1,9223372036854775807,-9223372036854775808,18446744073709551615,"
               "9223372036854775808,1234567890]",
               "[0,0,-1,1,9223372036854775807,-9223372036854775808,18446744073709551615,"
               "9223372036854775808,1234567890]"),
        VECTOR("nested",
               "{\"a\":[[],{},[{}],{\"b\":[1,[2,[3]]]}],\"c\":{\"d\":{\"e\":{}}}}",
               "{\"a\":[[],{},[{}],{\"b\":[1,[2,[3]]]}],\"c\":{\"d\":{\"e\":{}}}}"),
        VECTOR("literals",
               "[true,false,null,{\"x\":null,\"t\":true,\"f\":false}]",
               "[true,false,null,{\"f\":false,\"t\":true,\"x\":null}]"),
        VECTOR("empty_object", "{ }", "{}"),
        VECTOR("empty_array", "[ ]", "[]"),
        VECTOR("scalar_string", "\"s\"", "\"s\""),
        VECTOR("scalar_int", " 42 ", "42"),
        VECTOR("scalar_null", "null", "null"),
        VECTOR("unknown",
               "{\n"
               "  \"signatures\": [ { \"keyid\": \"abc\", \"sig\": \"00ff\", \"x-note\": \"kept\" } ],\n"
               "  \"signed\": {\n"
               "    \"_type\": \"targets\",\n"
               "    \"spec_version\": \"1.0.31\",\n"
               "    \"version\": 7,\n"
               "    \"expires\": \"2030-01-01T00:00:00Z\",\n"
               "    \"x-vendor\": { \"b\": [ 2, 1 ], \"a\": \"unknown fields are signed too\" },\n"
               "    \"targets\": {\n"
               "      \"fw/ecu-b.img\": { \"length\": 2048, \"hashes\": { \"sha256\": \"bb\" },"
               " \"custom\": { \"hardwareIds\": [ \"hw-2\" ] } },\n"
               "      \"fw/ecu-a.img\": { \"length\": 1024, \"hashes\": { \"sha512\": \"aa\", \"sha256\": \"cc\" },"
               " \"custom\": { \"hardwareIds\": [ \"hw-1\", \"hw-0\" ], \"ecuIdentifiers\": {} } }\n"
               "    }\n"
               "  }\n"
               "}",
               "{\"signatures\":[{\"keyid\":\"abc\",\"sig\":\"00ff\",\"x-note\":\"kept\"}],"
               "\"signed\":{\"_type\":\"targets\",\"expires\":\"2030-01-01T00:00:00Z\",\"spec_version\":\"1.0.31\","
               "\"targets\":{"
               "\"fw/ecu-a.img\":{\"custom\":{\"ecuIdentifiers\":{},\"hardwareIds\":[\"hw-1\",\"hw-0\"]},"
               "\"hashes\":{\"sha256\":\"cc\",\"sha512\":\"aa\"},\"length\":1024},"
               "\"fw/ecu-b.img\":{\"custom\":{\"hardwareIds\":[\"hw-2\"]},\"hashes\":{\"sha256\":\"bb\"},\"length\":2048}},"
               "\"version\":7,\"x-vendor\":{\"a\":\"unknown fields are signed too\",\"b\":[2,1]}}}"),
};

static struct json_object *parse_ok(const char *s, size_t len) {
        struct json_object *o = NULL;

        ck_assert_int_eq(up_json_parse(s, len, NULL, &o), 0);
        return o;
}

static bool has_control_byte(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20)
                        return true;
        return false;
}

START_TEST(test_cjson_vectors) {
        const Vector *v = &vectors[_i];
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ char *out = NULL;
        size_t len;

        o = parse_ok(v->input, v->input_len);
        ck_assert_int_eq(up_cjson_encode(o, &out, &len), 0);
        ck_assert_msg(len == v->expected_len, "%s: length %zu, expected %zu", v->name, len, v->expected_len);
        ck_assert_mem_eq(out, v->expected, len);
        ck_assert_int_eq(out[len], '\0');

        /* Canonical output is a fixed point (raw control bytes are not valid JSON input). */
        if (!has_control_byte(out, len)) {
                _cleanup_json_ struct json_object *again = NULL;
                _cleanup_free_ char *out2 = NULL;
                size_t len2;

                again = parse_ok(out, len);
                ck_assert_int_eq(up_cjson_encode(again, &out2, &len2), 0);
                ck_assert_uint_eq(len2, len);
                ck_assert_mem_eq(out2, out, len);
        }
}
END_TEST

static const char *const float_docs[] = {
        "1.0", "[1e5]", "{\"a\":{\"b\":0.5}}", "-0.0", "[1,2,3.25]", "{\"length\":1E2}",
};

START_TEST(test_cjson_rejects_floats) {
        _cleanup_json_ struct json_object *o = NULL;
        char *out = (char *) "untouched";
        size_t len = 7;

        o = parse_ok(float_docs[_i], strlen(float_docs[_i]));
        ck_assert_int_eq(up_cjson_encode(o, &out, &len), -EBADMSG);
        ck_assert_str_eq(out, "untouched");
        ck_assert_uint_eq(len, 7);
}
END_TEST

static void assert_encodes(struct json_object *o, const char *expected, size_t expected_len) {
        _cleanup_free_ char *out = NULL;
        size_t len;

        ck_assert_int_eq(up_cjson_encode(o, &out, &len), 0);
        ck_assert_uint_eq(len, expected_len);
        ck_assert_mem_eq(out, expected, len);
        ck_assert_int_eq(out[len], '\0');
}

#define ASSERT_ENCODES(o, lit) assert_encodes(o, lit, sizeof(lit) - 1)

START_TEST(test_cjson_built_values) {
        _cleanup_json_ struct json_object *o = json_object_new_object();

        /* Values json-c can hold that parsing alone would not produce. */
        json_object_object_add(o, "u64max", json_object_new_uint64(UINT64_MAX));
        json_object_object_add(o, "u64small", json_object_new_uint64(5));
        json_object_object_add(o, "i64min", json_object_new_int64(INT64_MIN));
        json_object_object_add(o, "i64max", json_object_new_int64(INT64_MAX));
        json_object_object_add(o, "i32", json_object_new_int(-2147483647 - 1));
        json_object_object_add(o, "s", json_object_new_string_len("q\"\\\0x", 5));
        json_object_object_add(o, "\303\251", NULL);
        ASSERT_ENCODES(o, "{\"i32\":-2147483648,\"i64max\":9223372036854775807,\"i64min\":-9223372036854775808,"
                          "\"s\":\"q\\\"\\\\\000x\",\"u64max\":18446744073709551615,\"u64small\":5,\"\303\251\":null}");
}
END_TEST

START_TEST(test_cjson_null_and_scalars) {
        _cleanup_json_ struct json_object *t = json_object_new_boolean(1), *f = json_object_new_boolean(0);
        _cleanup_json_ struct json_object *d = json_object_new_double(1.5);
        char *out = NULL;
        size_t len;

        ASSERT_ENCODES(NULL, "null");
        ASSERT_ENCODES(t, "true");
        ASSERT_ENCODES(f, "false");
        ck_assert_int_eq(up_cjson_encode(d, &out, &len), -EBADMSG);
        ck_assert_ptr_null(out);
        ck_assert_int_eq(up_cjson_encode(t, NULL, &len), -EINVAL);
        ck_assert_int_eq(up_cjson_encode(t, &out, NULL), -EINVAL);
}
END_TEST

/* n arrays nested in each other, the innermost holding an empty object. */
static struct json_object *nested_arrays(int n) {
        struct json_object *o = json_object_new_object();

        for (int i = 0; i < n; i++) {
                struct json_object *a = json_object_new_array();
                json_object_array_add(a, o);
                o = a;
        }
        return o;
}

START_TEST(test_cjson_depth) {
        _cleanup_json_ struct json_object *ok = nested_arrays(63), *deep = nested_arrays(64);
        _cleanup_free_ char *out = NULL;
        char *none = NULL;
        size_t len;

        /* 63 arrays and the object: 64 levels, the limit. */
        ck_assert_int_eq(up_cjson_encode(ok, &out, &len), 0);
        ck_assert_uint_eq(len, 63 * 2 + 2);
        ck_assert_int_eq(out[62], '[');
        ck_assert_int_eq(out[63], '{');
        ck_assert_int_eq(up_cjson_encode(deep, &none, &len), -EBADMSG);
        ck_assert_ptr_null(none);
}
END_TEST

/* Escapes byte by byte, the obvious way, as a reference for the word-wise encoder. */
static size_t reference_escape(const char *s, size_t n, char *ret) {
        size_t k = 0;

        ret[k++] = '"';
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '"' || s[i] == '\\')
                        ret[k++] = '\\';
                ret[k++] = s[i];
        }
        ret[k++] = '"';
        return k;
}

START_TEST(test_cjson_escape_positions) {
        static const char specials[] = { '"', '\\' };
        char s[40], expected[2 * sizeof(s) + 2];

        /* Each special at each offset, around the 8-byte words, among bytes
         * that differ from '"' and '\\' in one bit or only in the high bit. */
        for (size_t n = 1; n <= sizeof(s); n++)
                for (size_t pos = 0; pos < n; pos++)
                        for (size_t k = 0; k < ELEMENTSOF(specials); k++) {
                                _cleanup_json_ struct json_object *o = NULL;
                                _cleanup_free_ char *out = NULL;
                                size_t len, expected_len;

                                for (size_t i = 0; i < n; i++)
                                        s[i] = "\242\334#]\000a\377\x7f"[i % 8];
                                s[pos] = specials[k];
                                if (pos + 3 < n)
                                        s[pos + 3] = specials[1 - k];
                                o = json_object_new_string_len(s, (int) n);
                                ck_assert_int_eq(up_cjson_encode(o, &out, &len), 0);
                                expected_len = reference_escape(s, n, expected);
                                ck_assert_uint_eq(len, expected_len);
                                ck_assert_mem_eq(out, expected, len);
                        }
}
END_TEST

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

START_TEST(test_cjson_many_keys) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        _cleanup_free_ char *out = NULL, *expected = NULL;
        char *keys[500];
        size_t len, pos = 0;

        /* Keys inserted in a scrambled order, sharing long prefixes and some non-ASCII. */
        for (unsigned i = 0; i < ELEMENTSOF(keys); i++) {
                unsigned k = (i * 7919u) % ELEMENTSOF(keys);

                ck_assert_int_ge(asprintf(&keys[i], "targets/%s%u.bin", k % 3 == 0 ? "\303\251" : "e", k), 0);
                json_object_object_add(o, keys[i], json_object_new_int64(k));
        }
        ck_assert_int_eq(up_cjson_encode(o, &out, &len), 0);

        /* strcmp orders by unsigned bytes, an independent reference. */
        qsort(keys, ELEMENTSOF(keys), sizeof(char *), compare_strings);
        expected = malloc(len + 1);
        ck_assert_ptr_nonnull(expected);
        expected[pos++] = '{';
        for (unsigned i = 0; i < ELEMENTSOF(keys); i++) {
                struct json_object *v = json_object_object_get(o, keys[i]);

                pos += (size_t) sprintf(expected + pos, "%s\"%s\":%d", i > 0 ? "," : "", keys[i], json_object_get_int(v));
                free(keys[i]);
        }
        expected[pos++] = '}';
        ck_assert_uint_eq(pos, len);
        ck_assert_mem_eq(out, expected, len);
}
END_TEST

typedef struct Doc {
        const char *text;
        size_t len;
} Doc;

#define DOC(s) { s, sizeof(s) - 1 }

static const Doc invalid_docs[] = {
        /* empty, truncated */
        DOC(""), DOC(" \n"), DOC("{"), DOC("{\"a\":"), DOC("{\"a\""), DOC("[1,2"), DOC("[1,"), DOC("\"abc"),
        DOC("tru"), DOC("nul"), DOC("-"), DOC("1."), DOC("1e"), DOC("1e+"), DOC("\"\\u12"), DOC("\"\\"),
        /* trailing bytes, two documents */
        DOC("{} x"), DOC("{}{}"), DOC("{} {}"), DOC("1 2"), DOC("[1]]"), DOC("{}}"), DOC("\"a\"\"b\""), DOC("truex"),
        /* NUL bytes */
        DOC("{}\0"), DOC("\0{}"), DOC("[1,\0 2]"), DOC("\"a\0b\""), DOC("{\"a\":1}\0\0"), DOC("1\0"),
        /* invalid UTF-8: bad byte, overlong, surrogate, above U+10FFFF, truncated, BOM */
        DOC("\"\377\""), DOC("\"\300\200\""), DOC("\"\340\200\200\""), DOC("\"\355\240\200\""),
        DOC("\"\364\220\200\200\""), DOC("\"\303\""), DOC("\"\342\202\""), DOC("\"\200\""), DOC("\"\370\210\200\200\200\""),
        DOC("\357\273\277{}"), DOC("{\"\377\":1}"), DOC("[\303\251]"),
        /* lone or broken surrogate escapes */
        DOC("\"\\ud800\""), DOC("\"\\udc00\""), DOC("\"\\ud83d\\u0041\""), DOC("\"\\ud83dx\""), DOC("\"\\ude00\\ud83d\""),
        /* bad escapes, raw control characters */
        DOC("\"\\x\""), DOC("\"\\uzzzz\""), DOC("\"\\U00e9\""), DOC("\"\\'\""), DOC("\"a\nb\""), DOC("\"\001\""), DOC("\"\t\""),
        /* keys json-c would truncate at the NUL */
        DOC("{\"a\\u0000b\":1}"), DOC("{\"\\u0000\":1}"),
        /* what json-c accepts even in strict mode */
        DOC("{'a':1}"), DOC("['a']"), DOC("NaN"), DOC("Infinity"), DOC("-Infinity"), DOC("[nan]"), DOC("-01"),
        DOC("01"), DOC("1."), DOC("+1"), DOC(".5"), DOC("0x1"), DOC("True"), DOC("NULL"), DOC("/*c*/1"), DOC("1 //c"),
        DOC("[1,]"), DOC("{\"a\":1,}"), DOC("[,1]"), DOC("{,}"), DOC("{\"a\" 1}"), DOC("{\"a\":1 \"b\":2}"), DOC("{1:2}"),
        DOC("[1 2]"), DOC("{\"a\"}"), DOC("{}\v"), DOC("\f{}"), DOC("[\240]"),
        /* integers that json-c would clamp */
        DOC("18446744073709551616"), DOC("-9223372036854775809"), DOC("99999999999999999999"),
        DOC("[100000000000000000000000]"), DOC("-18446744073709551615"),
};

START_TEST(test_parse_invalid) {
        const Doc *d = &invalid_docs[_i];
        struct json_object *o = (struct json_object *) 0x1;

        ck_assert_msg(up_json_parse(d->text, d->len, NULL, &o) == -EBADMSG, "accepted invalid document #%d", _i);
        ck_assert_ptr_eq(o, (struct json_object *) 0x1);
}
END_TEST

static const Doc valid_docs[] = {
        DOC("{}"), DOC(" {} \n\t\r"), DOC("[]"), DOC("0"), DOC("-0"), DOC("1"), DOC("\"\""), DOC("true"), DOC("false"),
        DOC("1E5"), DOC("1e-5"), DOC("-0.0e+0"), DOC("1.25"), DOC("1e400"), DOC("18446744073709551615"),
        DOC("-9223372036854775808"), DOC("\"\\u0000\""), DOC("\"\364\217\277\277\""), DOC("\"\355\237\277\""),
        DOC("\"\356\200\200\""), DOC("\"\177\""), DOC("\"\\/\\b\\f\\n\\r\\t\""), DOC("{\"\":\"\"}"), DOC("[[[]],{}]"),
        DOC("{\"a\" : [ 1 , 2 ] , \"b\" : { } }"),
};

START_TEST(test_parse_valid) {
        const Doc *d = &valid_docs[_i];
        _cleanup_json_ struct json_object *o = NULL;

        ck_assert_msg(up_json_parse(d->text, d->len, NULL, &o) == 0, "rejected valid document #%d", _i);
}
END_TEST

START_TEST(test_parse_values) {
        _cleanup_json_ struct json_object *n = (struct json_object *) 0x1, *s = NULL, *big = NULL, *neg = NULL, *dup = NULL;

        /* null parses to json-c's NULL object. */
        ck_assert_int_eq(up_json_parse("null", 4, NULL, &n), 0);
        ck_assert_ptr_null(n);

        ck_assert_int_eq(up_json_parse("\"a\\u0000b\"", 10, NULL, &s), 0);
        ck_assert_int_eq(json_object_get_string_len(s), 3);
        ck_assert_mem_eq(json_object_get_string(s), "a\0b", 3);

        ck_assert_int_eq(up_json_parse("18446744073709551615", 20, NULL, &big), 0);
        ck_assert(json_object_get_uint64(big) == UINT64_MAX);
        ck_assert_int_eq(up_json_parse("-9223372036854775808", 20, NULL, &neg), 0);
        ck_assert(json_object_get_int64(neg) == INT64_MIN);

        /* Duplicate keys: the last wins, as with Python's json (securesystemslib). */
        ck_assert_int_eq(up_json_parse("{\"a\":1,\"a\":2}", 13, NULL, &dup), 0);
        ck_assert_int_eq(json_object_object_length(dup), 1);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(dup, "a")), 2);
}
END_TEST

static int parse_with(const char *s, size_t max_bytes, int max_depth, size_t max_values) {
        UpJsonLimits limits = { .max_bytes = max_bytes, .max_depth = max_depth, .max_values = max_values };
        struct json_object *o = (struct json_object *) 0x1;
        int r;

        r = up_json_parse(s, strlen(s), &limits, &o);
        if (r < 0)
                ck_assert_ptr_eq(o, (struct json_object *) 0x1);
        else
                json_object_put(o);
        return r;
}

START_TEST(test_parse_limit_bytes) {
        ck_assert_int_eq(parse_with("[1,2,3]", 7, 32, 100), 0);
        ck_assert_int_eq(parse_with("[1,2,3]", 6, 32, 100), -EFBIG);
        /* Checked before parsing: even garbage of the wrong size is too big, not malformed. */
        ck_assert_int_eq(parse_with("xxxxxxxx", 7, 32, 100), -EFBIG);
        ck_assert_int_eq(parse_with("{}  ", 4, 32, 100), 0);
        ck_assert_int_eq(parse_with("{}  ", 3, 32, 100), -EFBIG);
        ck_assert_int_eq(parse_with("", 0, 32, 100), -EBADMSG);
}
END_TEST

START_TEST(test_parse_limit_depth) {
        ck_assert_int_eq(parse_with("[[[1]]]", 100, 3, 100), 0);
        ck_assert_int_eq(parse_with("[[[[1]]]]", 100, 3, 100), -EBADMSG);
        /* json-c alone would take this one: its depth counts scalars, not containers. */
        ck_assert_int_eq(parse_with("[[[[]]]]", 100, 3, 100), -EBADMSG);
        ck_assert_int_eq(parse_with("[[[]]]", 100, 3, 100), 0);
        ck_assert_int_eq(parse_with("{\"a\":{\"b\":{\"c\":{}}}}", 100, 4, 100), 0);
        ck_assert_int_eq(parse_with("{\"a\":{\"b\":{\"c\":{}}}}", 100, 3, 100), -EBADMSG);
        ck_assert_int_eq(parse_with("[{\"a\":[]},[[]]]", 100, 3, 100), 0);
        ck_assert_int_eq(parse_with("[{\"a\":[]},[[[]]]]", 100, 3, 100), -EBADMSG);
        ck_assert_int_eq(parse_with("1", 100, 0, 100), 0);
        ck_assert_int_eq(parse_with("[]", 100, 0, 100), -EBADMSG);
        ck_assert_int_eq(parse_with("[]", 100, 1, 100), 0);
        ck_assert_int_eq(parse_with("[]", 100, -1, 100), -EINVAL);
}
END_TEST

START_TEST(test_parse_limit_depth_default) {
        char doc[2 * 33 + 1];

        /* 32 levels pass the default limit, 33 do not. */
        memset(doc, '[', 32);
        memset(doc + 32, ']', 32);
        doc[64] = '\0';
        ck_assert_int_eq(parse_with(doc, SIZE_MAX, 32, SIZE_MAX), 0);
        memset(doc, '[', 33);
        memset(doc + 33, ']', 33);
        doc[66] = '\0';
        ck_assert_int_eq(parse_with(doc, SIZE_MAX, 32, SIZE_MAX), -EBADMSG);
        {
                _cleanup_json_ struct json_object *o = NULL;
                ck_assert_int_eq(up_json_parse(doc, 66, NULL, &o), -EBADMSG);
                ck_assert_int_eq(up_json_parse(doc + 1, 64, NULL, &o), 0);
        }
}
END_TEST

START_TEST(test_parse_limit_values) {
        /* The array and its three numbers. */
        ck_assert_int_eq(parse_with("[1,2,3]", 100, 32, 4), 0);
        ck_assert_int_eq(parse_with("[1,2,3]", 100, 32, 3), -EFBIG);
        /* Keys are not values: the object, 1, the array, true and null. */
        ck_assert_int_eq(parse_with("{\"a\":1,\"b\":[true,null]}", 100, 32, 5), 0);
        ck_assert_int_eq(parse_with("{\"a\":1,\"b\":[true,null]}", 100, 32, 4), -EFBIG);
        /* Values json-c drops (a duplicate key) still count. */
        ck_assert_int_eq(parse_with("{\"a\":1,\"a\":2}", 100, 32, 3), 0);
        ck_assert_int_eq(parse_with("{\"a\":1,\"a\":2}", 100, 32, 2), -EFBIG);
        ck_assert_int_eq(parse_with("[[],{}]", 100, 32, 3), 0);
        ck_assert_int_eq(parse_with("[[],{}]", 100, 32, 2), -EFBIG);
        ck_assert_int_eq(parse_with("1", 100, 32, 1), 0);
        ck_assert_int_eq(parse_with("1", 100, 32, 0), -EFBIG);
}
END_TEST

START_TEST(test_parse_args) {
        struct json_object *o = NULL;

        ck_assert_int_eq(up_json_parse("{}", 2, NULL, NULL), -EINVAL);
        ck_assert_int_eq(up_json_parse(NULL, 2, NULL, &o), -EINVAL);
        ck_assert_int_eq(up_json_parse(NULL, 0, NULL, &o), -EBADMSG);
        ck_assert_ptr_null(o);
}
END_TEST

static const char getter_doc[] =
        "{\"o\":{},\"a\":[],\"s\":\"str\",\"i\":-5,\"max\":9223372036854775807,\"min\":-9223372036854775808,"
        "\"big\":9223372036854775808,\"d\":1.0,\"si\":\"1\",\"b\":true,\"f\":false,\"n\":null,\"z\":\"a\\u0000b\"}";

static const char *const all_keys[] = { "o", "a", "s", "i", "max", "min", "big", "d", "si", "b", "f", "n", "z", "missing" };

static bool in(const char *key, const char *const *good) {
        for (; *good; good++)
                if (streq(key, *good))
                        return true;
        return false;
}

START_TEST(test_getters_types) {
        _cleanup_json_ struct json_object *doc = parse_ok(getter_doc, sizeof(getter_doc) - 1);

        /* Every getter against every member: only the listed ones pass. */
        for (size_t k = 0; k < ELEMENTSOF(all_keys); k++) {
                const char *key = all_keys[k];
                struct json_object *obj = (struct json_object *) 0x1, *arr = (struct json_object *) 0x1;
                const char *str = "x";
                int64_t i = 42;
                int b = 42, r;

                r = up_json_get_object(doc, key, &obj);
                ck_assert_msg(r == (in(key, (const char *[]) { "o", NULL }) ? 0 : -EBADMSG), "object %s: %d", key, r);
                if (r < 0)
                        ck_assert_ptr_eq(obj, (struct json_object *) 0x1);

                r = up_json_get_array(doc, key, &arr);
                ck_assert_msg(r == (in(key, (const char *[]) { "a", NULL }) ? 0 : -EBADMSG), "array %s: %d", key, r);
                if (r < 0)
                        ck_assert_ptr_eq(arr, (struct json_object *) 0x1);

                /* "z" holds a NUL that would cut the C string short. */
                r = up_json_get_string(doc, key, &str);
                ck_assert_msg(r == (in(key, (const char *[]) { "s", "si", NULL }) ? 0 : -EBADMSG), "string %s: %d", key, r);
                if (r < 0)
                        ck_assert_str_eq(str, "x");

                /* "big" does not fit int64, "d" is a double, "si" a string. */
                r = up_json_get_int64(doc, key, &i);
                ck_assert_msg(r == (in(key, (const char *[]) { "i", "max", "min", NULL }) ? 0 : -EBADMSG), "int64 %s: %d", key, r);
                if (r < 0)
                        ck_assert_int_eq(i, 42);

                r = up_json_get_bool(doc, key, &b);
                ck_assert_msg(r == (in(key, (const char *[]) { "b", "f", NULL }) ? 0 : -EBADMSG), "bool %s: %d", key, r);
                if (r < 0)
                        ck_assert_int_eq(b, 42);
        }
}
END_TEST

START_TEST(test_getters_values) {
        _cleanup_json_ struct json_object *doc = parse_ok(getter_doc, sizeof(getter_doc) - 1);
        struct json_object *v;
        const char *s;
        int64_t i;
        int b;

        ck_assert_int_eq(up_json_get_object(doc, "o", &v), 0);
        ck_assert_ptr_eq(v, json_object_object_get(doc, "o"));
        ck_assert_int_eq(up_json_get_array(doc, "a", &v), 0);
        ck_assert_ptr_eq(v, json_object_object_get(doc, "a"));
        ck_assert_int_eq(up_json_get_string(doc, "s", &s), 0);
        ck_assert_str_eq(s, "str");
        ck_assert_int_eq(up_json_get_int64(doc, "i", &i), 0);
        ck_assert_int_eq(i, -5);
        ck_assert_int_eq(up_json_get_int64(doc, "max", &i), 0);
        ck_assert(i == INT64_MAX);
        ck_assert_int_eq(up_json_get_int64(doc, "min", &i), 0);
        ck_assert(i == INT64_MIN);
        ck_assert_int_eq(up_json_get_bool(doc, "b", &b), 0);
        ck_assert_int_eq(b, 1);
        ck_assert_int_eq(up_json_get_bool(doc, "f", &b), 0);
        ck_assert_int_eq(b, 0);
}
END_TEST

START_TEST(test_getters_not_object) {
        _cleanup_json_ struct json_object *arr = parse_ok("[{\"o\":{}}]", 10), *str = parse_ok("\"o\"", 3);
        struct json_object *v = (struct json_object *) 0x1;

        ck_assert_int_eq(up_json_get_object(arr, "o", &v), -EBADMSG);
        ck_assert_int_eq(up_json_get_object(str, "o", &v), -EBADMSG);
        ck_assert_int_eq(up_json_get_object(NULL, "o", &v), -EBADMSG);
        ck_assert_ptr_eq(v, (struct json_object *) 0x1);
}
END_TEST

static Suite *json_suite(void) {
        Suite *s = suite_create("json");
        TCase *tc;

        tc = tcase_create("canonical");
        tcase_add_loop_test(tc, test_cjson_vectors, 0, (int) ELEMENTSOF(vectors));
        tcase_add_loop_test(tc, test_cjson_rejects_floats, 0, (int) ELEMENTSOF(float_docs));
        tcase_add_test(tc, test_cjson_built_values);
        tcase_add_test(tc, test_cjson_null_and_scalars);
        tcase_add_test(tc, test_cjson_depth);
        tcase_add_test(tc, test_cjson_many_keys);
        tcase_add_test(tc, test_cjson_escape_positions);
        suite_add_tcase(s, tc);

        tc = tcase_create("parse");
        tcase_add_loop_test(tc, test_parse_invalid, 0, (int) ELEMENTSOF(invalid_docs));
        tcase_add_loop_test(tc, test_parse_valid, 0, (int) ELEMENTSOF(valid_docs));
        tcase_add_test(tc, test_parse_values);
        tcase_add_test(tc, test_parse_limit_bytes);
        tcase_add_test(tc, test_parse_limit_depth);
        tcase_add_test(tc, test_parse_limit_depth_default);
        tcase_add_test(tc, test_parse_limit_values);
        tcase_add_test(tc, test_parse_args);
        suite_add_tcase(s, tc);

        tc = tcase_create("getters");
        tcase_add_test(tc, test_getters_types);
        tcase_add_test(tc, test_getters_values);
        tcase_add_test(tc, test_getters_not_object);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(json_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
