/* SPDX-License-Identifier: MIT */
/*
 * Metadata parsing edge cases (malformed documents must be refused as a whole
 * with the errno class of uptane/error.h), the accessors, signature
 * thresholds, file info checks, path patterns and role name encoding.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/hash.h"
#include "uptane/metadata.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define ED25519_PUB "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define KEY_K1 "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":\"" ED25519_PUB "\"}}"
#define EXPIRES "\"expires\":\"2030-01-01T00:00:00Z\""
#define EXPIRES_T ((time_t) 1893456000) /* 2030-01-01T00:00:00Z */

static const char base_root[] =
        "{\"signatures\":[{\"keyid\":\"aa\",\"sig\":\"00\"}],\"signed\":{\"_type\":\"root\",\"spec_version\":\"1.0.31\","
        "\"version\":1," EXPIRES ",\"consistent_snapshot\":true,\"keys\":{\"k1\":" KEY_K1 "},"
        "\"roles\":{\"root\":{\"keyids\":[\"k1\"],\"threshold\":1},\"timestamp\":{\"keyids\":[\"k1\"],\"threshold\":1},"
        "\"snapshot\":{\"keyids\":[\"k1\"],\"threshold\":1},\"targets\":{\"keyids\":[\"k1\"],\"threshold\":2}}}}";

static const char base_timestamp[] =
        "{\"signatures\":[],\"signed\":{\"_type\":\"timestamp\",\"spec_version\":\"1.0.31\",\"version\":3," EXPIRES ","
        "\"meta\":{\"snapshot.json\":{\"version\":2,\"length\":10,\"hashes\":{\"sha256\":\"ab\"}}}}}";

static const char base_snapshot[] =
        "{\"signatures\":[],\"signed\":{\"_type\":\"snapshot\",\"spec_version\":\"1.0.31\",\"version\":2," EXPIRES ","
        "\"meta\":{\"targets.json\":{\"version\":1},\"role1.json\":{\"version\":4}}}}";

static const char base_targets[] =
        "{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"spec_version\":\"1.0.31\",\"version\":1," EXPIRES ","
        "\"targets\":{\"file.txt\":{\"length\":3,\"hashes\":{\"sha256\":\"ab\"},\"custom\":{\"x\":1}}},"
        "\"delegations\":{\"keys\":{\"k1\":" KEY_K1 "},\"roles\":["
        "{\"name\":\"role1\",\"keyids\":[\"k1\"],\"threshold\":1,\"terminating\":false,\"paths\":[\"a/*\"]},"
        "{\"name\":\"role2\",\"keyids\":[\"k1\"],\"threshold\":1,\"terminating\":true,"
        "\"path_hash_prefixes\":[\"ab\"]}]}}}";

static const char *base_document(UpRoleType t) {
        switch (t) {
        case UP_ROLE_ROOT:      return base_root;
        case UP_ROLE_TIMESTAMP: return base_timestamp;
        case UP_ROLE_SNAPSHOT:  return base_snapshot;
        default:                return base_targets;
        }
}

/* --- Edited documents ----------------------------------------------------- */

typedef struct Edit {
        UpRoleType role;
        const char *path;  /* '/'-separated members and array indexes; "" = no change */
        const char *value; /* JSON text to put there; NULL deletes the member */
        int expected;
} Edit;

#define R UP_ROLE_ROOT
#define TS UP_ROLE_TIMESTAMP
#define SN UP_ROLE_SNAPSHOT
#define TG UP_ROLE_TARGETS
#define BAD (-UP_ERR_MALFORMED)

static const Edit edits[] = {
        /* The unchanged documents are valid. */
        { R, "", NULL, 0 },
        { TS, "", NULL, 0 },
        { SN, "", NULL, 0 },
        { TG, "", NULL, 0 },
        /* Envelope. */
        { R, "signed", NULL, BAD },
        { R, "signed", "[]", BAD },
        { R, "signatures", NULL, BAD },
        { R, "signatures", "{}", BAD },
        { R, "signatures/0", "\"aa\"", BAD },
        { R, "signatures/0/sig", "5", BAD },
        { R, "signatures/0/keyid", NULL, BAD },
        { R, "signatures/1", "{\"keyid\":\"aa\",\"sig\":\"11\"}", -UP_ERR_DUPLICATE },
        { R, "signatures/1", "{\"keyid\":\"bb\",\"sig\":\"\"}", 0 },
        /* _type */
        { R, "signed/_type", "\"timestamp\"", -UP_ERR_WRONG_TYPE },
        { TS, "signed/_type", "\"snapshot\"", -UP_ERR_WRONG_TYPE },
        { SN, "signed/_type", "\"targets\"", -UP_ERR_WRONG_TYPE },
        { TG, "signed/_type", "\"root\"", -UP_ERR_WRONG_TYPE },
        { R, "signed/_type", NULL, BAD },
        { R, "signed/_type", "1", BAD },
        /* version */
        { R, "signed/version", NULL, BAD },
        { R, "signed/version", "\"1\"", BAD },
        { R, "signed/version", "0", BAD },
        { R, "signed/version", "-1", BAD },
        { R, "signed/version", "1.5", BAD },
        { R, "signed/version", "true", BAD },
        { TS, "signed/version", "0", BAD },
        { SN, "signed/version", "0", BAD },
        { TG, "signed/version", "0", BAD },
        /* expires */
        { R, "signed/expires", NULL, BAD },
        { R, "signed/expires", "1893456000", BAD },
        { R, "signed/expires", "\"2030-01-01\"", BAD },
        { R, "signed/expires", "\"2030-01-01T00:00:00\"", BAD },
        { R, "signed/expires", "\"2030-01-01T00:00:00+00:00\"", BAD },
        { R, "signed/expires", "\"2030-01-01 00:00:00Z\"", BAD },
        { R, "signed/expires", "\"2030-01-01T00:00:00.5Z\"", BAD },
        { R, "signed/expires", "\"2030-01-01t00:00:00z\"", BAD },
        { R, "signed/expires", "\"2030-13-01T00:00:00Z\"", BAD },
        { R, "signed/expires", "\"2030-01-01T24:00:00Z\"", BAD },
        { R, "signed/expires", "\"2030-02-30T00:00:00Z\"", BAD },
        { R, "signed/expires", "\" 2030-01-01T00:00:00Z\"", BAD },
        { TG, "signed/expires", "\"tomorrow\"", BAD },
        /* spec_version */
        { R, "signed/spec_version", "\"2.0.0\"", -UP_ERR_UNSUPPORTED },
        { R, "signed/spec_version", "\"10.0.0\"", -UP_ERR_UNSUPPORTED },
        { TS, "signed/spec_version", "\"2.0.0\"", -UP_ERR_UNSUPPORTED },
        { R, "signed/spec_version", "\"1.0.0\"", 0 },
        { R, "signed/spec_version", "\"1.99.0\"", 0 },
        { R, "signed/spec_version", "1", BAD },
        { R, "signed/spec_version", "\"x\"", BAD },
        /* Unknown members stay allowed (and signed). */
        { R, "signed/x-custom", "{\"a\":[1,2]}", 0 },
        { R, "signed/keys/k1/x-extra", "1", 0 },
        { R, "x-outside", "true", 0 },
        /* Root. */
        { R, "signed/consistent_snapshot", "\"true\"", BAD },
        { R, "signed/keys", NULL, BAD },
        { R, "signed/keys", "[]", BAD },
        { R, "signed/keys/k1", "\"x\"", BAD },
        { R, "signed/roles", NULL, BAD },
        { R, "signed/roles", "[]", BAD },
        { R, "signed/roles/timestamp", NULL, BAD },
        { R, "signed/roles/targets", "[]", BAD },
        { R, "signed/roles/root/threshold", NULL, BAD },
        { R, "signed/roles/root/threshold", "0", BAD },
        { R, "signed/roles/root/threshold", "-1", BAD },
        { R, "signed/roles/root/threshold", "\"1\"", BAD },
        { R, "signed/roles/root/keyids", NULL, BAD },
        { R, "signed/roles/root/keyids", "\"k1\"", BAD },
        { R, "signed/roles/root/keyids", "[1]", BAD },
        { R, "signed/roles/root/keyids", "[\"k1\",\"k1\"]", -UP_ERR_DUPLICATE },
        /* Timestamp. */
        { TS, "signed/meta", NULL, BAD },
        { TS, "signed/meta", "[]", BAD },
        { TS, "signed/meta/snapshot.json", NULL, BAD },
        { TS, "signed/meta/snapshot.json/version", NULL, BAD },
        { TS, "signed/meta/snapshot.json/version", "0", BAD },
        { TS, "signed/meta/snapshot.json/version", "\"2\"", BAD },
        { TS, "signed/meta/snapshot.json/length", "-1", BAD },
        { TS, "signed/meta/snapshot.json/length", "\"10\"", BAD },
        { TS, "signed/meta/snapshot.json/length", NULL, 0 },
        { TS, "signed/meta/snapshot.json/hashes", "[]", BAD },
        { TS, "signed/meta/snapshot.json/hashes", "{}", BAD },
        { TS, "signed/meta/snapshot.json/hashes", "{\"sha256\":1}", BAD },
        { TS, "signed/meta/snapshot.json/hashes", NULL, 0 },
        /* Snapshot. */
        { SN, "signed/meta", NULL, BAD },
        { SN, "signed/meta", "[]", BAD },
        { SN, "signed/meta/targets.json", "1", BAD },
        { SN, "signed/meta/targets.json/version", NULL, BAD },
        { SN, "signed/meta/role1.json/version", "0", BAD },
        /* Targets. */
        { TG, "signed/targets", NULL, BAD },
        { TG, "signed/targets", "[]", BAD },
        { TG, "signed/targets/file.txt", "3", BAD },
        { TG, "signed/targets/file.txt/length", NULL, BAD },
        { TG, "signed/targets/file.txt/length", "\"3\"", BAD },
        { TG, "signed/targets/file.txt/length", "-1", BAD },
        { TG, "signed/targets/file.txt/hashes", NULL, BAD },
        { TG, "signed/targets/file.txt/hashes", "[]", BAD },
        { TG, "signed/targets/file.txt/hashes/sha256", "5", BAD },
        { TG, "signed/targets/file.txt/custom", "[]", BAD },
        { TG, "signed/targets/file.txt/custom", NULL, 0 },
        /* Delegations. */
        { TG, "signed/delegations", NULL, 0 },
        { TG, "signed/delegations", "[]", BAD },
        { TG, "signed/delegations/keys", NULL, BAD },
        { TG, "signed/delegations/roles", NULL, BAD },
        { TG, "signed/delegations/roles", "{}", BAD },
        { TG, "signed/delegations/roles/2",
          "{\"name\":\"role1\",\"keyids\":[\"k1\"],\"threshold\":1,\"terminating\":false,\"paths\":[\"b/*\"]}", BAD },
        { TG, "signed/delegations/roles/0/name", "\"root\"", BAD },
        { TG, "signed/delegations/roles/0/name", "\"timestamp\"", BAD },
        { TG, "signed/delegations/roles/0/name", "\"snapshot\"", BAD },
        { TG, "signed/delegations/roles/0/name", "\"targets\"", BAD },
        { TG, "signed/delegations/roles/0/name", "\"\"", BAD },
        { TG, "signed/delegations/roles/0/name", NULL, BAD },
        { TG, "signed/delegations/roles/0/name", "7", BAD },
        { TG, "signed/delegations/roles/0/path_hash_prefixes", "[\"ab\"]", BAD },
        { TG, "signed/delegations/roles/0/paths", NULL, BAD },
        { TG, "signed/delegations/roles/0/paths", "\"a/*\"", BAD },
        { TG, "signed/delegations/roles/0/paths", "[1]", BAD },
        { TG, "signed/delegations/roles/1/path_hash_prefixes", "\"ab\"", BAD },
        { TG, "signed/delegations/roles/0/threshold", "0", BAD },
        { TG, "signed/delegations/roles/0/keyids", NULL, BAD },
        { TG, "signed/delegations/roles/0/terminating", "\"no\"", BAD },
        { TG, "signed/delegations/roles/0/terminating", NULL, BAD },
        { TG, "signed/delegations/roles/0/x-custom", "{}", 0 },
};

/* The member named by the path's last element, and its parent. */
static struct json_object *walk(struct json_object *o, char *path, char **ret_last) {
        char *slash;

        while ((slash = strchr(path, '/'))) {
                struct json_object *next = NULL;

                *slash = '\0';
                if (json_object_is_type(o, json_type_array))
                        next = json_object_array_get_idx(o, (size_t) atoi(path));
                else
                        json_object_object_get_ex(o, path, &next);
                ck_assert_msg(next, "no member '%s'", path);
                o = next;
                path = slash + 1;
        }
        *ret_last = path;
        return o;
}

static void apply_edit(struct json_object *doc, const char *path, const char *value) {
        struct json_object *parent, *v = NULL;
        char *copy = strdup(path), *last;

        parent = walk(doc, copy, &last);
        if (value) {
                v = json_tokener_parse(value);
                ck_assert_msg(v || strcmp(value, "null") == 0, "bad test value %s", value);
        }
        if (json_object_is_type(parent, json_type_array)) {
                ck_assert_ptr_nonnull(v);
                json_object_array_put_idx(parent, (size_t) atoi(last), v);
        } else if (v)
                json_object_object_add(parent, last, v);
        else
                json_object_object_del(parent, last);
        free(copy);
}

static int parse_edited(const Edit *e, UpMetadata **ret) {
        struct json_object *doc = json_tokener_parse(base_document(e->role));
        const char *text;
        int r;

        ck_assert_ptr_nonnull(doc);
        if (e->path[0])
                apply_edit(doc, e->path, e->value);
        text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = up_metadata_parse(text, strlen(text), e->role, ret);
        json_object_put(doc);
        return r;
}

START_TEST(test_parse_edited) {
        const Edit *e = &edits[_i];
        UpMetadata *m = NULL;
        int r;

        r = parse_edited(e, &m);
        ck_assert_msg(r == e->expected, "%s: %s = %s: got %d (%s), expected %d (%s)", up_role_type_name(e->role),
                      e->path, e->value ? e->value : "(deleted)", r, strerror(-r), e->expected,
                      strerror(-e->expected));
        ck_assert(r < 0 ? m == NULL : m != NULL);
        up_metadata_unref(m);
}
END_TEST

#undef R
#undef TS
#undef SN
#undef TG

/* --- Whole documents ------------------------------------------------------- */

static UpMetadata *parse_ok(const char *text, UpRoleType t) {
        UpMetadata *m = NULL;
        int r;

        r = up_metadata_parse(text, strlen(text), t, &m);
        ck_assert_msg(r == 0, "parse: %s", strerror(-r));
        return m;
}

START_TEST(test_parse_whole_document) {
        static const char *const bad[] = {
                "", "null", "[]", "\"root\"", "{", "{\"signatures\":[],\"signed\":{}}",
        };
        size_t len = strlen(base_root);
        char *buf = malloc(len + 3);
        UpMetadata *m = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_int_eq(up_metadata_parse(bad[i], strlen(bad[i]), UP_ROLE_ROOT, &m), BAD);
        memcpy(buf, base_root, len);
        /* Trailing garbage, a second document, an embedded NUL. */
        memcpy(buf + len, "x", 1);
        ck_assert_int_eq(up_metadata_parse(buf, len + 1, UP_ROLE_ROOT, &m), BAD);
        memcpy(buf + len, "{}", 2);
        ck_assert_int_eq(up_metadata_parse(buf, len + 2, UP_ROLE_ROOT, &m), BAD);
        memcpy(buf + len, "\0", 1);
        ck_assert_int_eq(up_metadata_parse(buf, len + 1, UP_ROLE_ROOT, &m), BAD);
        /* White space around the document is fine. */
        memcpy(buf + len, " \n", 2);
        ck_assert_int_eq(up_metadata_parse(buf, len + 2, UP_ROLE_ROOT, &m), 0);
        up_metadata_unref(m);
        free(buf);
}
END_TEST

START_TEST(test_root_accessors) {
        UpMetadata *m = parse_ok(base_root, UP_ROLE_ROOT);
        const UpRoleKeys *rk;

        ck_assert_int_eq(up_metadata_type(m), UP_ROLE_ROOT);
        ck_assert_int_eq(up_metadata_version(m), 1);
        ck_assert_int_eq(up_metadata_expires(m), EXPIRES_T);
        ck_assert(!up_metadata_is_expired(m, EXPIRES_T - 1));
        ck_assert(up_metadata_is_expired(m, EXPIRES_T));
        ck_assert(up_root_consistent_snapshot(m));
        ck_assert_uint_eq(up_keyring_size(up_root_keyring(m)), 1);
        ck_assert_ptr_nonnull(up_keyring_find(up_root_keyring(m), "k1"));
        ck_assert_ptr_null(up_keyring_find(up_root_keyring(m), "k2"));
        rk = up_root_role(m, UP_ROLE_TARGETS);
        ck_assert_int_eq(rk->threshold, 2);
        ck_assert_uint_eq(rk->n_keyids, 1);
        ck_assert_str_eq(rk->keyids[0], "k1");
        ck_assert(!up_root_role_changed(m, m, UP_ROLE_ROOT));
        up_metadata_unref(m);
}
END_TEST

START_TEST(test_timestamp_snapshot_accessors) {
        UpMetadata *ts = parse_ok(base_timestamp, UP_ROLE_TIMESTAMP);
        UpMetadata *snap = parse_ok(base_snapshot, UP_ROLE_SNAPSHOT);
        const UpMetaFile *mf = up_timestamp_snapshot_meta(ts);
        UpMetaFile entry;
        const char *name;

        ck_assert_int_eq(mf->version, 2);
        ck_assert_int_eq(mf->length, 10);
        ck_assert_ptr_nonnull(mf->hashes);
        ck_assert_int_eq(up_snapshot_get_meta(snap, "role1", &entry), 0);
        ck_assert_int_eq(entry.version, 4);
        ck_assert_int_eq(entry.length, -1);
        ck_assert_ptr_null(entry.hashes);
        ck_assert_int_eq(up_snapshot_get_meta(snap, "nope", &entry), -UP_ERR_NOT_FOUND);
        ck_assert_uint_eq(up_snapshot_n_meta(snap), 2);
        ck_assert_int_eq(up_snapshot_meta_at(snap, 1, &name, &entry), 0);
        ck_assert(strcmp(name, "targets.json") == 0 || strcmp(name, "role1.json") == 0);
        ck_assert_int_eq(up_snapshot_meta_at(snap, 2, &name, &entry), -UP_ERR_NOT_FOUND);
        up_metadata_unref(ts);
        up_metadata_unref(snap);
}
END_TEST

START_TEST(test_targets_accessors) {
        UpMetadata *t = parse_ok(base_targets, UP_ROLE_TARGETS);
        const UpDelegatedRole *d;
        UpTargetFile tf;

        ck_assert_int_eq(up_targets_get(t, "file.txt", &tf), 0);
        ck_assert_str_eq(tf.path, "file.txt");
        ck_assert_int_eq(tf.length, 3);
        ck_assert_ptr_nonnull(tf.hashes);
        ck_assert_ptr_nonnull(tf.custom);
        ck_assert_int_eq(up_targets_get(t, "nope", &tf), -UP_ERR_NOT_FOUND);
        ck_assert_uint_eq(up_targets_count(t), 1);
        ck_assert_ptr_nonnull(up_targets_delegation_keyring(t));
        ck_assert_uint_eq(up_targets_n_delegations(t), 2);
        d = up_targets_delegation_at(t, 0);
        ck_assert_str_eq(d->name, "role1");
        ck_assert(!d->terminating);
        ck_assert_uint_eq(d->n_paths, 1);
        ck_assert_ptr_null(d->path_hash_prefixes);
        d = up_targets_find_delegation(t, "role2");
        ck_assert_ptr_nonnull(d);
        ck_assert(d->terminating);
        ck_assert_ptr_null(d->paths);
        ck_assert_uint_eq(d->n_path_hash_prefixes, 1);
        ck_assert_ptr_null(up_targets_find_delegation(t, "role3"));
        ck_assert_ptr_null(up_targets_delegation_at(t, 2));
        up_metadata_unref(t);
}
END_TEST

START_TEST(test_targets_without_delegations) {
        static const char doc[] = "{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"version\":1," EXPIRES
                                  ",\"targets\":{}}}";
        UpMetadata *t = parse_ok(doc, UP_ROLE_TARGETS);

        ck_assert_ptr_null(up_targets_delegation_keyring(t));
        ck_assert_uint_eq(up_targets_n_delegations(t), 0);
        ck_assert_uint_eq(up_targets_count(t), 0);
        up_metadata_unref(t);
}
END_TEST

/* --- Signature thresholds --------------------------------------------------- */

/* Root v2 of a test repository with a timestamp threshold of 2. */
static TestRepo *threshold_repo(UpKey **ret_k1, UpKey **ret_k2) {
        TestRepo *repo;

        ck_assert_int_eq(testrepo_new(UP_SCHEME_ED25519, &repo), 0);
        *ret_k1 = testrepo_signer(repo, "timestamp", 0);
        ck_assert_int_eq(testrepo_add_key(repo, "timestamp", ret_k2), 0);
        ck_assert_int_eq(testrepo_set_threshold(repo, "timestamp", 2), 0);
        ck_assert_int_eq(testrepo_publish(repo, "root"), 0);
        return repo;
}

static int verify_timestamp(TestRepo *repo, const char *edit_sig_of, const char *new_sig) {
        const uint8_t *root_bytes;
        uint8_t *ts_bytes;
        size_t root_len, ts_len;
        UpMetadata *root = NULL, *ts = NULL;
        int r;

        ck_assert_int_eq(testrepo_published(repo, "root", 2, &root_bytes, &root_len), 0);
        ck_assert_int_eq(up_metadata_parse(root_bytes, root_len, UP_ROLE_ROOT, &root), 0);
        ck_assert_int_eq(testrepo_sign_current(repo, "timestamp", &ts_bytes, &ts_len), 0);
        if (edit_sig_of) {
                struct json_object *doc = json_tokener_parse((char *) ts_bytes), *sigs;
                const char *text;

                json_object_object_get_ex(doc, "signatures", &sigs);
                for (size_t i = 0; i < json_object_array_length(sigs); i++) {
                        struct json_object *s = json_object_array_get_idx(sigs, i), *kid;

                        json_object_object_get_ex(s, "keyid", &kid);
                        if (strcmp(json_object_get_string(kid), edit_sig_of) == 0)
                                json_object_object_add(s, "sig", json_object_new_string(new_sig));
                }
                text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
                free(ts_bytes);
                ts_bytes = (uint8_t *) strdup(text);
                ts_len = strlen(text);
                json_object_put(doc);
        }
        ck_assert_int_eq(up_metadata_parse(ts_bytes, ts_len, UP_ROLE_TIMESTAMP, &ts), 0);
        r = up_metadata_verify(ts, up_root_keyring(root), up_root_role(root, UP_ROLE_TIMESTAMP));
        up_metadata_unref(ts);
        up_metadata_unref(root);
        free(ts_bytes);
        return r;
}

START_TEST(test_verify_threshold) {
        UpKey *k1, *k2, *stranger;
        TestRepo *repo = threshold_repo(&k1, &k2);
        char keyid2[65];

        ck_assert_int_eq(up_key_keyid(k2, keyid2), 0);
        /* Both keys. */
        ck_assert_int_eq(verify_timestamp(repo, NULL, NULL), 0);
        /* The second signature empty, or garbage, or by the wrong key. */
        ck_assert_int_eq(verify_timestamp(repo, keyid2, ""), -UP_ERR_SIGNATURE);
        ck_assert_int_eq(verify_timestamp(repo, keyid2, "zz"), -UP_ERR_SIGNATURE);
        ck_assert_int_eq(verify_timestamp(repo, keyid2, "00"), -UP_ERR_SIGNATURE);
        /* One key only, plus a key the role does not list. */
        ck_assert_int_eq(up_key_generate(UP_SCHEME_ED25519, &stranger), 0);
        ck_assert_int_eq(testrepo_remove_signer(repo, "timestamp", k2), 0);
        ck_assert_int_eq(testrepo_add_signer(repo, "timestamp", stranger, NULL), 0);
        ck_assert_int_eq(verify_timestamp(repo, NULL, NULL), -UP_ERR_SIGNATURE);
        /* The stranger's signature under k2's key id. */
        ck_assert_int_eq(testrepo_remove_signer(repo, "timestamp", stranger), 0);
        ck_assert_int_eq(testrepo_add_signer(repo, "timestamp", stranger, keyid2), 0);
        ck_assert_int_eq(verify_timestamp(repo, NULL, NULL), -UP_ERR_SIGNATURE);
        up_key_unref(stranger);
        testrepo_free(repo);
}
END_TEST

/* The signature covers "signed" as a whole: a changed member breaks it. */
START_TEST(test_verify_tampered) {
        UpKey *k1, *k2;
        TestRepo *repo = threshold_repo(&k1, &k2);
        const uint8_t *root_bytes;
        uint8_t *ts_bytes;
        size_t root_len, ts_len;
        UpMetadata *root = NULL, *ts = NULL;
        char *p;

        ck_assert_int_eq(testrepo_published(repo, "root", 2, &root_bytes, &root_len), 0);
        ck_assert_int_eq(up_metadata_parse(root_bytes, root_len, UP_ROLE_ROOT, &root), 0);
        ck_assert_int_eq(testrepo_sign_current(repo, "timestamp", &ts_bytes, &ts_len), 0);
        p = strstr((char *) ts_bytes, "\"version\":1");
        ck_assert_ptr_nonnull(p);
        p[10] = '7';
        ck_assert_int_eq(up_metadata_parse(ts_bytes, ts_len, UP_ROLE_TIMESTAMP, &ts), 0);
        ck_assert_int_eq(up_metadata_version(ts), 7);
        ck_assert_int_eq(up_metadata_verify(ts, up_root_keyring(root), up_root_role(root, UP_ROLE_TIMESTAMP)),
                         -UP_ERR_SIGNATURE);
        up_metadata_unref(ts);
        up_metadata_unref(root);
        free(ts_bytes);
        testrepo_free(repo);
}
END_TEST

/* --- File info -------------------------------------------------------------- */

static struct json_object *hashes_of(const char *alg1, const char *hex1, const char *alg2, const char *hex2) {
        struct json_object *h = json_object_new_object();

        if (alg1)
                json_object_object_add(h, alg1, json_object_new_string(hex1));
        if (alg2)
                json_object_object_add(h, alg2, json_object_new_string(hex2));
        return h;
}

START_TEST(test_fileinfo_check) {
        static const char data[] = "hello";
        char sha256[65], sha512[129], other256[65];
        uint8_t digest[64];
        struct json_object *h;

        ck_assert_int_eq(up_hash_buffer(UP_HASH_SHA256, data, 5, digest), 0);
        up_hex_encode(digest, 32, sha256);
        ck_assert_int_eq(up_hash_buffer(UP_HASH_SHA512, data, 5, digest), 0);
        up_hex_encode(digest, 64, sha512);
        ck_assert_int_eq(up_hash_buffer(UP_HASH_SHA256, "hellp", 5, digest), 0);
        up_hex_encode(digest, 32, other256);

        h = hashes_of("sha256", sha256, "sha512", sha512);
        ck_assert_int_eq(up_fileinfo_check(5, h, data, 5), 0);
        ck_assert_int_eq(up_fileinfo_check(-1, h, data, 5), 0);
        ck_assert_int_eq(up_fileinfo_check(6, h, data, 5), -UP_ERR_HASH);
        ck_assert_int_eq(up_fileinfo_check(4, h, data, 4), -UP_ERR_HASH);
        json_object_put(h);
        /* Every hash counts: a bad sha512 next to a good sha256. */
        h = hashes_of("sha256", sha256, "sha512", "00");
        ck_assert_int_eq(up_fileinfo_check(5, h, data, 5), -UP_ERR_HASH);
        json_object_put(h);
        h = hashes_of("sha256", other256, NULL, NULL);
        ck_assert_int_eq(up_fileinfo_check(5, h, data, 5), -UP_ERR_HASH);
        json_object_put(h);
        /* Upper-case hex is the same digest. */
        for (char *c = sha256; *c; c++)
                if (*c >= 'a' && *c <= 'f')
                        *c = (char) (*c - 'a' + 'A');
        h = hashes_of("sha256", sha256, NULL, NULL);
        ck_assert_int_eq(up_fileinfo_check(5, h, data, 5), 0);
        json_object_put(h);
        /* Unknown algorithm alone fails; next to a supported one it is skipped. */
        h = hashes_of("md5", "5d41402abc4b2a76b9719d911017c592", NULL, NULL);
        ck_assert_int_eq(up_fileinfo_check(5, h, data, 5), -UP_ERR_UNSUPPORTED);
        json_object_put(h);
        h = hashes_of("md5", "5d41402abc4b2a76b9719d911017c592", "sha512", sha512);
        ck_assert_int_eq(up_fileinfo_check(5, h, data, 5), 0);
        json_object_put(h);
        /* No hash at all. */
        h = hashes_of(NULL, NULL, NULL, NULL);
        ck_assert_int_eq(up_fileinfo_check(5, h, data, 5), -UP_ERR_MALFORMED);
        json_object_put(h);
}
END_TEST

/* --- Path patterns -------------------------------------------------------------- */

typedef struct PathCase {
        const char *pattern;
        const char *path;
        bool matches;
} PathCase;

static const PathCase path_cases[] = {
        { "*", "file", true },
        { "*", "dir/file", false },
        { "*.md", "README.md", true },
        { "*.md", "releases/README.md", false },
        { "releases/*.md", "releases/README.md", true },
        { "releases/*.md", "releases/v1/README.md", false },
        { "a/*/c", "a/b/c", true },
        { "a/*/c", "a/b/x/c", false },
        { "*/*", "a/b", true },
        { "*/*", "a", false },
        { "docs/?.txt", "docs/a.txt", true },
        { "docs/?.txt", "docs/ab.txt", false },
        { "docs/?.txt", "docs//.txt", false },
        { "Docs/*", "docs/a", false },
        { "file.txt", "file.txt", true },
        { "file.txt", "file.txt.sig", false },
        { "dir/", "dir/file", false },
        { "[ab].txt", "a.txt", true },
        { "[ab].txt", "c.txt", false },
};

static UpMetadata *targets_delegating(const char *field, const char *value) {
        char *text;
        UpMetadata *m = NULL;
        struct json_object *v = json_object_new_string(value);

        ck_assert_int_ne(asprintf(&text,
                                  "{\"signatures\":[],\"signed\":{\"_type\":\"targets\",\"version\":1," EXPIRES
                                  ",\"targets\":{},\"delegations\":{\"keys\":{},\"roles\":[{\"name\":\"r\","
                                  "\"keyids\":[],\"threshold\":1,\"terminating\":false,\"%s\":[%s]}]}}}",
                                  field, json_object_to_json_string(v)),
                         -1);
        ck_assert_int_eq(up_metadata_parse(text, strlen(text), UP_ROLE_TARGETS, &m), 0);
        json_object_put(v);
        free(text);
        return m;
}

START_TEST(test_path_patterns) {
        const PathCase *c = &path_cases[_i];
        UpMetadata *m = targets_delegating("paths", c->pattern);

        ck_assert_msg(up_delegated_role_matches(up_targets_delegation_at(m, 0), c->path) == c->matches,
                      "pattern '%s' and path '%s' should %smatch", c->pattern, c->path, c->matches ? "" : "not ");
        up_metadata_unref(m);
}
END_TEST

START_TEST(test_path_hash_prefixes) {
        static const char path[] = "releases/image.bin";
        uint8_t digest[32];
        char hex[65], prefix[5], other[5];
        UpMetadata *m;

        ck_assert_int_eq(up_hash_buffer(UP_HASH_SHA256, path, strlen(path), digest), 0);
        up_hex_encode(digest, 32, hex);
        memcpy(prefix, hex, 4);
        prefix[4] = '\0';
        memcpy(other, prefix, 5);
        other[3] = other[3] == '0' ? '1' : '0';

        m = targets_delegating("path_hash_prefixes", prefix);
        ck_assert(up_delegated_role_matches(up_targets_delegation_at(m, 0), path));
        up_metadata_unref(m);
        m = targets_delegating("path_hash_prefixes", other);
        ck_assert(!up_delegated_role_matches(up_targets_delegation_at(m, 0), path));
        up_metadata_unref(m);
}
END_TEST

/* --- Names and times ------------------------------------------------------------- */

START_TEST(test_percent_encode) {
        static const char *const cases[][2] = {
                { "targets", "targets" },
                { "?", "%3F" },
                { "#", "%23" },
                { "/delegatedrole", "%2Fdelegatedrole" },
                { "../delegatedrole", "..%2Fdelegatedrole" },
                { "a b", "a%20b" },
                { "%", "%25" },
                { "A-z_0.9~", "A-z_0.9~" },
                { "\xc3\xa9", "%C3%A9" },
                { "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *enc = NULL;

                ck_assert_int_eq(up_percent_encode(cases[i][0], &enc), 0);
                ck_assert_str_eq(enc, cases[i][1]);
                free(enc);
        }
}
END_TEST

START_TEST(test_iso8601) {
        char buf[21];
        time_t t;

        ck_assert_int_eq(up_parse_iso8601("2030-01-01T00:00:00Z", &t), 0);
        ck_assert_int_eq(t, EXPIRES_T);
        ck_assert_int_eq(up_parse_iso8601("1970-01-01T00:00:00Z", &t), 0);
        ck_assert_int_eq(t, 0);
        ck_assert_int_eq(up_format_iso8601(TESTREPO_NOW, buf), 0);
        ck_assert_str_eq(buf, "2025-06-15T00:00:00Z");
        ck_assert_int_eq(up_parse_iso8601(buf, &t), 0);
        ck_assert_int_eq(t, TESTREPO_NOW);
        ck_assert_int_eq(up_parse_iso8601("2025-06-15T00:00:00", &t), BAD);
        ck_assert_int_eq(up_parse_iso8601("", &t), BAD);
}
END_TEST

static Suite *metadata_suite(void) {
        Suite *s = suite_create("metadata");
        TCase *tc;

        tc = tcase_create("parse");
        tcase_add_loop_test(tc, test_parse_edited, 0, (int) ELEMENTSOF(edits));
        tcase_add_test(tc, test_parse_whole_document);
        suite_add_tcase(s, tc);

        tc = tcase_create("accessors");
        tcase_add_test(tc, test_root_accessors);
        tcase_add_test(tc, test_timestamp_snapshot_accessors);
        tcase_add_test(tc, test_targets_accessors);
        tcase_add_test(tc, test_targets_without_delegations);
        suite_add_tcase(s, tc);

        tc = tcase_create("verify");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_verify_threshold);
        tcase_add_test(tc, test_verify_tampered);
        tcase_add_test(tc, test_fileinfo_check);
        suite_add_tcase(s, tc);

        tc = tcase_create("paths");
        tcase_add_loop_test(tc, test_path_patterns, 0, (int) ELEMENTSOF(path_cases));
        tcase_add_test(tc, test_path_hash_prefixes);
        tcase_add_test(tc, test_percent_encode);
        tcase_add_test(tc, test_iso8601);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(metadata_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
