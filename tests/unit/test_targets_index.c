/* SPDX-License-Identifier: MIT */
/* Targets entries are canonicalized one by one from byte spans (targets.c,
 * json_span.c): the bytes must equal the canonical form of the whole tree,
 * whatever the input's layout and escapes. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uptane/json.h"
#include "uptane/key.h"
#include "uptane/metadata.h"

static UpKey *key;
static UpMetadata *root;

/* A root whose targets role is signed by key. */
static void setup(void) {
        struct json_object *s = json_object_new_object(), *keys = json_object_new_object();
        struct json_object *roles = json_object_new_object();
        const char *names[] = { "root", "timestamp", "snapshot", "targets" };
        char keyid[65], *doc;
        size_t len;

        ck_assert_int_eq(up_key_generate(UP_SCHEME_ED25519, &key), 0);
        ck_assert_int_eq(up_key_keyid(key, keyid), 0);
        json_object_object_add(keys, keyid, up_key_to_json(key));
        for (size_t i = 0; i < 4; i++) {
                struct json_object *role = json_object_new_object(), *ids = json_object_new_array();
                json_object_array_add(ids, json_object_new_string(keyid));
                json_object_object_add(role, "keyids", ids);
                json_object_object_add(role, "threshold", json_object_new_int(1));
                json_object_object_add(roles, names[i], role);
        }
        json_object_object_add(s, "_type", json_object_new_string("root"));
        json_object_object_add(s, "version", json_object_new_int(1));
        json_object_object_add(s, "expires", json_object_new_string("2099-01-01T00:00:00Z"));
        json_object_object_add(s, "keys", keys);
        json_object_object_add(s, "roles", roles);
        ck_assert_int_eq(up_metadata_sign(s, &key, 1, false, &doc, &len), 0);
        ck_assert_int_eq(up_metadata_parse(doc, len, UP_ROLE_ROOT, &root), 0);
        json_object_put(s);
        free(doc);
}

static void teardown(void) {
        root = up_metadata_unref(root);
        key = up_key_unref(key);
}

/* The signature over signed_text (parsed by json-c, canonical from the whole
 * tree) in an envelope around the original text. */
static char *envelope(const char *signed_text) {
        struct json_object *s = json_tokener_parse(signed_text);
        struct json_object *doc, *sigs;
        char *signed_doc, *out;
        size_t len;

        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(up_metadata_sign(s, &key, 1, false, &signed_doc, &len), 0);
        doc = json_tokener_parse(signed_doc);
        json_object_object_get_ex(doc, "signatures", &sigs);
        ck_assert_int_ge(asprintf(&out, "{\"signatures\" : %s ,\n \"signed\":%s}",
                                  json_object_to_json_string_ext(sigs, JSON_C_TO_STRING_PLAIN), signed_text), 0);
        json_object_put(s);
        json_object_put(doc);
        free(signed_doc);
        return out;
}

static int parse_and_verify(const char *signed_text, UpMetadata **ret) {
        char *doc = envelope(signed_text);
        UpMetadata *m = NULL;
        int r;

        r = up_metadata_parse(doc, strlen(doc), UP_ROLE_TARGETS, &m);
        free(doc);
        if (r < 0)
                return r;
        r = up_metadata_verify(m, up_root_keyring(root), up_root_role(root, UP_ROLE_TARGETS));
        if (r < 0 || !ret)
                up_metadata_unref(m);
        else
                *ret = m;
        return r;
}

static const char *const tricky_documents[] = {
        /* escapes in paths and values, '/' escaped, structural characters inside strings */
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{"
        "\"a\\\"b}\":{\"length\":1,\"hashes\":{\"sha256\":\"00\"}},"
        "\"dir\\/caf\\u00e9.bin\":{\"length\":2,\"hashes\":{\"sha256\":\"11\"},\"custom\":{\"x\":\"]}{[\\\\\"}},"
        "\"z\":{\"length\":3,\"hashes\":{\"sha512\":\"22\"},\"custom\":{\"hardwareIds\":[\"a\",\"b\"],\"n\":[1,[2,{}]],"
        "\"ctl\":\"tab\\t nl\\n one\\u0001 nul\\u0000 \\u001f\"}}"
        "},\"custom\":{\"targets\":{\"not\":\"these\"}}}",
        /* pretty printed, keys out of order, empty targets after other members */
        "{\n  \"version\" : 2 ,\n  \"targets\" : {\n    \"b\" : { \"hashes\" : { \"sha256\" : \"aa\" } , \"length\" : 0 } ,\n"
        "    \"a\" : {\"length\":5,\"hashes\":{\"sha256\":\"bb\"}}\n  } ,\n  \"_type\" : \"targets\" ,\n"
        "  \"expires\" : \"2099-01-01T00:00:00Z\"\n}",
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{}}",
        "{\"targets\" : { } , \"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\","
        "\"delegations\":{\"keys\":{},\"roles\":[{\"name\":\"r\",\"keyids\":[],\"threshold\":1,"
        "\"terminating\":false,\"paths\":[\"x/*\"]}]}}",
};

START_TEST(test_canonical_equals_whole_tree) {
        ck_assert_int_eq(parse_and_verify(tricky_documents[_i], NULL), 0);
}
END_TEST

START_TEST(test_lookup) {
        UpMetadata *m = NULL;
        UpTargetFile tf;
        struct json_object *t;

        ck_assert_int_eq(parse_and_verify(tricky_documents[0], &m), 0);
        ck_assert_uint_eq(up_targets_count(m), 3);
        ck_assert_int_eq(up_targets_get(m, "a\"b}", &tf), 0);
        ck_assert_int_eq(tf.length, 1);
        ck_assert_int_eq(up_targets_get(m, "dir/caf\xc3\xa9.bin", &tf), 0);
        ck_assert_int_eq(tf.length, 2);
        ck_assert_ptr_nonnull(tf.custom);
        ck_assert_int_eq(up_targets_get(m, "missing", &tf), -ENOENT);
        /* sorted by bytes */
        ck_assert_int_eq(up_targets_at(m, 0, &tf), 0);
        ck_assert_str_eq(tf.path, "a\"b}");
        ck_assert_int_eq(up_targets_at(m, 2, &tf), 0);
        ck_assert_str_eq(tf.path, "z");
        /* Control characters are raw in canonical bytes; the lookup still reads them. */
        ck_assert(json_object_object_get_ex(tf.custom, "ctl", &t));
        ck_assert_int_eq(json_object_get_string_len(t), 20);
        ck_assert(memcmp(json_object_get_string(t), "tab\t nl\n one\x01 nul\0 \x1f", 20) == 0);
        ck_assert_int_eq(up_targets_at(m, 3, &tf), -ENOENT);
        /* the tree shows no entries; the custom "targets" member stays */
        ck_assert(json_object_object_get_ex(up_metadata_signed(m), "targets", &t));
        ck_assert_int_eq(json_object_object_length(t), 0);
        up_metadata_unref(m);
}
END_TEST

static const char *const bad_documents[] = {
        /* the same path twice */
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{"
        "\"a\":{\"length\":1,\"hashes\":{}},\"a\":{\"length\":2,\"hashes\":{}}}}",
        /* "targets" twice in signed */
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{},\"targets\":{}}",
        /* targets is an array */
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":[]}",
        /* an entry with a string length, with a negative length, without hashes */
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{"
        "\"a\":{\"length\":\"1\",\"hashes\":{}}}}",
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{"
        "\"a\":{\"length\":-1,\"hashes\":{}}}}",
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{\"a\":{\"length\":1}}}",
        /* an entry that is no object, custom that is no object */
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{\"a\":7}}",
        "{\"_type\":\"targets\",\"version\":1,\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{"
        "\"a\":{\"length\":1,\"hashes\":{},\"custom\":[]}}}",
};

START_TEST(test_bad_documents) {
        const char *text = bad_documents[_i];
        char *doc;
        UpMetadata *m = NULL;

        ck_assert_int_ge(asprintf(&doc, "{\"signatures\":[],\"signed\":%s}", text), 0);
        ck_assert_int_eq(up_metadata_parse(doc, strlen(doc), UP_ROLE_TARGETS, &m), -EBADMSG);
        ck_assert_ptr_null(m);
        free(doc);
}
END_TEST

START_TEST(test_signed_twice_refused) {
        const char *doc = "{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"version\":1,"
                          "\"expires\":\"2099-01-01T00:00:00Z\",\"targets\":{}},\"signed\":{}}";
        UpMetadata *m = NULL;

        ck_assert_int_eq(up_metadata_parse(doc, strlen(doc), UP_ROLE_TARGETS, &m), -EBADMSG);
}
END_TEST

START_TEST(test_wrong_type_still_reported) {
        const char *doc = "{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"version\":1,"
                          "\"expires\":\"2099-01-01T00:00:00Z\",\"meta\":{\"targets.json\":{\"version\":1}}}}";
        UpMetadata *m = NULL;

        ck_assert_int_eq(up_metadata_parse(doc, strlen(doc), UP_ROLE_TARGETS, &m), -EMEDIUMTYPE);
}
END_TEST

START_TEST(test_entry_edit_breaks_signature) {
        /* One byte changed inside one entry after signing. */
        char *doc = envelope(tricky_documents[0]), *p;
        UpMetadata *m = NULL;

        p = strstr(doc, "\"length\":3");
        ck_assert_ptr_nonnull(p);
        p[9] = '4';
        ck_assert_int_eq(up_metadata_parse(doc, strlen(doc), UP_ROLE_TARGETS, &m), 0);
        ck_assert_int_eq(up_metadata_verify(m, up_root_keyring(root), up_root_role(root, UP_ROLE_TARGETS)),
                         -EKEYREJECTED);
        up_metadata_unref(m);
        free(doc);
}
END_TEST

static Suite *targets_index_suite(void) {
        Suite *s = suite_create("targets_index");
        TCase *tc = tcase_create("targets_index");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_canonical_equals_whole_tree, 0,
                            (int) (sizeof(tricky_documents) / sizeof(tricky_documents[0])));
        tcase_add_test(tc, test_lookup);
        tcase_add_loop_test(tc, test_bad_documents, 0, (int) (sizeof(bad_documents) / sizeof(bad_documents[0])));
        tcase_add_test(tc, test_signed_twice_refused);
        tcase_add_test(tc, test_wrong_type_still_reported);
        tcase_add_test(tc, test_entry_edit_breaks_signature);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(targets_index_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
