/* SPDX-License-Identifier: MIT */
/*
 * The TUF client workflow of UpUpdater against the in-memory repository of
 * testrepo.c. Each test names the attack it stops, checks the errno class of
 * uptane/error.h, what is left in the metadata directory (files, versions,
 * the exact bytes served) and, where the order matters, the exact requests.
 */
#include <check.h>
#include <unistd.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/hash.h"
#include "uptane/metadata.h"
#include "uptane/storage.h"
#include "uptane/updater.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static TestRepo *repo;
static TestClient *client;

/* --- Fixture and assertions ----------------------------------------------- */

static void setup(void) {
        int r;

        ck_assert_int_eq(testrepo_new(UP_SCHEME_ED25519, &repo), 0);
        r = testclient_new(repo, TESTREPO_NOW, &client);
        ck_assert_msg(r == 0, "testclient_new: %s", strerror(-r));
}

static void teardown(void) {
        client = testclient_free(client);
        repo = testrepo_free(repo);
}

static const char *updater_error(void) {
        return client->updater ? up_updater_error(client->updater) : "(no updater)";
}

/* A refresh by a new process (a new updater over the same directories). */
#define assert_refresh(expected)                                                                          \
        do {                                                                                              \
                int _r = testclient_refresh(client), _e = (expected);                                     \
                ck_assert_msg(_r == _e, "refresh returned %d (%s), expected %d (%s); updater says: %s", _r, \
                              strerror(-_r), _e, strerror(-_e), updater_error());                          \
        } while (0)

#define assert_requests(expected) ck_assert_str_eq(testrepo_requests_str(repo), (expected))
#define assert_trusted(expected) ck_assert_str_eq(testclient_trusted_str(client), (expected))
#define assert_file_is(role, version) \
        ck_assert_msg(testclient_file_is(client, (role), (version)), "%s.json is not the published v%d", (role), (int) (version))

#define ck_ok(expr)                                                                    \
        do {                                                                           \
                int _k = (expr);                                                       \
                ck_assert_msg(_k >= 0, "%s failed: %s", #expr, strerror(_k < 0 ? -_k : _k)); \
        } while (0)

/* The first refresh, then a clean request log. */
static char *published_copy(const char *role, int64_t version, size_t *ret_len);

static bool metadata_file_exists(const char *name) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", client->metadata_dir, name);
        return access(path, F_OK) == 0;
}

/* Whether metadata_dir/name holds exactly the published version of role. */
static bool metadata_file_is(const char *name, const char *role, int64_t version) {
        char *want;
        uint8_t *have = NULL;
        size_t want_len, have_len;
        bool same;

        want = published_copy(role, version, &want_len);
        if (up_read_file_at(client->metadata_dir, name, 1u << 24, &have, &have_len) < 0) {
                free(want);
                return false;
        }
        same = have_len == want_len && memcmp(have, want, want_len) == 0;
        free(want);
        free(have);
        return same;
}

static void initial_refresh(void) {
        assert_refresh(0);
        testrepo_clear_requests(repo);
}

/* A private copy of published bytes (publishing again replaces them). */
static char *published_copy(const char *role, int64_t version, size_t *ret_len) {
        const uint8_t *data;
        char *copy;

        ck_ok(testrepo_published(repo, role, version, &data, ret_len));
        copy = malloc(*ret_len + 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, data, *ret_len);
        copy[*ret_len] = '\0';
        return copy;
}

static void override_with_published(const char *rel_url, const char *role, int64_t version) {
        const uint8_t *data;
        size_t len;

        ck_ok(testrepo_published(repo, role, version, &data, &len));
        ck_ok(testrepo_override(repo, rel_url, data, len));
}

/* Serves the role's current signed object, signed, at rel_url, without publishing it. */
static void override_with_current(const char *rel_url, const char *role) {
        uint8_t *data;
        size_t len;

        ck_ok(testrepo_sign_current(repo, role, &data, &len));
        ck_ok(testrepo_override(repo, rel_url, data, len));
        free(data);
}

/* A new root version, signed by the old and the new root keys. */
static void publish_root_rotation(void) {
        UpKey *old = up_key_ref(testrepo_signer(repo, "root", 0));

        ck_ok(testrepo_rotate_keys(repo, "root"));
        ck_ok(testrepo_add_signer(repo, "root", old, NULL));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_remove_signer(repo, "root", old));
        up_key_unref(old);
}

static struct json_object *json_path(struct json_object *o, const char *a, const char *b, const char *c) {
        const char *keys[] = { a, b, c };

        for (size_t i = 0; i < ELEMENTSOF(keys) && keys[i]; i++)
                ck_assert_msg(json_object_object_get_ex(o, keys[i], &o), "no member %s", keys[i]);
        return o;
}

/* --- First and repeated refreshes ------------------------------------------ */

/* The first refresh asks for exactly the next root, the timestamp and the
 * versions it names, and stores exactly the bytes it got. */
START_TEST(test_first_refresh_requests) {
        assert_refresh(0);
        assert_requests("root:2 timestamp:-1 snapshot:1 targets:1");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:1");
        assert_file_is("root", 1);
        assert_file_is("timestamp", 1);
        assert_file_is("snapshot", 1);
        assert_file_is("targets", 1);
}
END_TEST

/* A successful refresh leaves no error text (the 404 that ends the root
 * loop is expected, not an error), and no temp files in metadata_dir. */
START_TEST(test_refresh_success_leaves_no_error) {
        struct dirent *de;
        DIR *d;

        assert_refresh(0);
        ck_assert_str_eq(up_updater_error(client->updater), "");
        d = opendir(client->metadata_dir);
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                ck_assert_msg(n > 5 && strcmp(de->d_name + n - 5, ".json") == 0, "stray file %s", de->d_name);
        }
        closedir(d);
}
END_TEST

/* Every key type works end to end (loop over schemes). */
static const UpKeyScheme all_schemes[] = { UP_SCHEME_ED25519, UP_SCHEME_ECDSA_SHA2_NISTP256, UP_SCHEME_RSASSA_PSS_SHA256 };

START_TEST(test_first_refresh_schemes) {
        teardown();
        ck_ok(testrepo_new(all_schemes[_i], &repo));
        ck_ok(testclient_new(repo, TESTREPO_NOW, &client));
        assert_refresh(0);
        assert_requests("root:2 timestamp:-1 snapshot:1 targets:1");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:1");
}
END_TEST

/* Nothing new: the cached snapshot and targets still match, so only the next
 * root and the timestamp are requested. */
START_TEST(test_refresh_nothing_changed) {
        initial_refresh();
        assert_refresh(0);
        assert_requests("root:2 timestamp:-1");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:1");
        /* What up_updater_refreshed() tells the Primary: nothing new was stored. */
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                ck_assert_msg(!up_updater_refreshed(client->updater, t), "%s refreshed", up_role_type_name(t));
}
END_TEST

START_TEST(test_refresh_new_targets) {
        initial_refresh();
        ck_ok(testrepo_add_target(repo, "targets", "file.txt", "content", 7));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        assert_refresh(0);
        assert_requests("root:2 timestamp:-1 snapshot:2 targets:2");
        assert_trusted("root:1 snapshot:2 targets:2 timestamp:2");
        assert_file_is("targets", 2);
        ck_assert(!up_updater_refreshed(client->updater, UP_ROLE_ROOT));
        ck_assert(up_updater_refreshed(client->updater, UP_ROLE_TIMESTAMP));
        ck_assert(up_updater_refreshed(client->updater, UP_ROLE_SNAPSHOT));
        ck_assert(up_updater_refreshed(client->updater, UP_ROLE_TARGETS));
}
END_TEST

/* A timestamp with the trusted version but other bytes is not an update: the
 * trusted one stays, and nothing is persisted or fetched after it. */
START_TEST(test_timestamp_equal_version_kept) {
        struct json_object *meta;
        size_t len;
        char *original;

        initial_refresh();
        original = published_copy("timestamp", 1, &len);
        meta = json_path(testrepo_signed(repo, "timestamp"), "meta", "snapshot.json", NULL);
        json_object_object_add(meta, "version", json_object_new_int64(100));
        ck_ok(testrepo_publish_no_bump(repo, "timestamp"));
        assert_refresh(0);
        assert_requests("root:2 timestamp:-1");
        ck_assert(testclient_file_equals(client, "timestamp", original, len));
        free(original);
}
END_TEST

/* The exact bytes received are stored (white space outside "signed" included). */
START_TEST(test_metadata_bytes_match) {
        const uint8_t *data;
        size_t len;
        char *padded;

        initial_refresh();
        ck_ok(testrepo_update_timestamp(repo));
        ck_ok(testrepo_published(repo, "timestamp", 2, &data, &len));
        padded = malloc(len + 2);
        ck_assert_ptr_nonnull(padded);
        memcpy(padded, data, len);
        memcpy(padded + len, " \n", 2);
        ck_ok(testrepo_override(repo, "metadata/timestamp.json", padded, len + 2));
        assert_refresh(0);
        ck_assert(testclient_file_equals(client, "timestamp", padded, len + 2));
        free(padded);
}
END_TEST

/* A bad trusted root fails before any request (arbitrary software). */
START_TEST(test_bad_local_root_no_request) {
        static const char unsigned_root[] = "{\"signatures\":[],\"signed\":{\"_type\":\"root\"}}";
        struct json_object *root = testrepo_signed(repo, "root");
        uint8_t *data;
        size_t len;

        /* Malformed: no version. */
        ck_ok(testrepo_write_file(client->metadata_dir, "root.json", unsigned_root, strlen(unsigned_root)));
        ck_assert_int_eq(testclient_restart(client), -UP_ERR_MALFORMED);
        /* Well-formed, signed by a key that root does not list. */
        json_object_object_add(root, "x-changed", json_object_new_boolean(1));
        testrepo_clear_signers(repo, "root");
        ck_ok(testrepo_add_signer(repo, "root", testrepo_signer(repo, "targets", 0), NULL));
        ck_ok(testrepo_sign_current(repo, "root", &data, &len));
        ck_ok(testrepo_write_file(client->metadata_dir, "root.json", data, len));
        free(data);
        ck_assert_int_eq(testclient_restart(client), -UP_ERR_SIGNATURE);
        ck_assert_uint_eq(testrepo_n_requests(repo), 0);
}
END_TEST

/* Signatures that do not verify, are empty, or come from unknown keys are
 * ignored when the threshold is met anyway. */
START_TEST(test_invalid_extra_signatures_ignored) {
        struct json_object *doc, *sigs, *sig;
        const uint8_t *data;
        const char *text;
        size_t len;
        UpKey *stranger;

        ck_ok(up_key_generate(UP_SCHEME_ED25519, &stranger));
        ck_ok(testrepo_add_signer(repo, "timestamp", stranger, NULL));
        ck_ok(testrepo_update_timestamp(repo));
        ck_ok(testrepo_published(repo, "timestamp", 2, &data, &len));
        doc = json_tokener_parse((const char *) data);
        ck_assert_ptr_nonnull(doc);
        sigs = json_path(doc, "signatures", NULL, NULL);
        sig = json_object_new_object();
        json_object_object_add(sig, "keyid", json_object_new_string("0123456789abcdef"));
        json_object_object_add(sig, "sig", json_object_new_string(""));
        json_object_array_add(sigs, sig);
        sig = json_object_new_object();
        json_object_object_add(sig, "keyid", json_object_new_string("fedcba9876543210"));
        json_object_object_add(sig, "sig", json_object_new_string("zz-not-hex"));
        json_object_array_add(sigs, sig);
        text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        ck_ok(testrepo_override(repo, "metadata/timestamp.json", text, strlen(text)));
        assert_refresh(0);
        ck_assert_int_eq(testclient_file_version(client, "timestamp"), 2);
        json_object_put(doc);
        up_key_unref(stranger);
}
END_TEST

/* --- Root rotation ---------------------------------------------------------- */

START_TEST(test_root_rotation_chain) {
        initial_refresh();
        publish_root_rotation();
        publish_root_rotation();
        assert_refresh(0);
        assert_requests("root:2 root:3 root:4 timestamp:-1");
        assert_trusted("root:3 snapshot:1 targets:1 timestamp:1");
        assert_file_is("root", 3);
        /* Only the accepted roles: no versioned root unless asked for. */
        ck_assert(!metadata_file_exists("2.root.json"));
}
END_TEST

/* A Primary keeps the chain for its Secondaries: each accepted root also as
 * N.root.json, the exact bytes; a refused one is not kept. */
START_TEST(test_root_history_kept) {
        initial_refresh();
        client->config.keep_root_history = true;
        publish_root_rotation();
        publish_root_rotation();
        assert_refresh(0);
        assert_file_is("root", 3);
        ck_assert(!metadata_file_exists("1.root.json")); /* provisioned, never fetched */
        ck_assert(metadata_file_is("2.root.json", "root", 2));
        ck_assert(metadata_file_is("3.root.json", "root", 3));
        ck_assert(!metadata_file_exists("4.root.json"));
}
END_TEST

/* Root v2 lists new keys but only the old keys signed it (arbitrary software). */
START_TEST(test_root_signed_only_by_old_keys) {
        UpKey *old = up_key_ref(testrepo_signer(repo, "root", 0));

        initial_refresh();
        ck_ok(testrepo_rotate_keys(repo, "root"));
        testrepo_clear_signers(repo, "root");
        ck_ok(testrepo_add_signer(repo, "root", old, NULL));
        ck_ok(testrepo_publish(repo, "root"));
        assert_refresh(-UP_ERR_SIGNATURE);
        assert_requests("root:2");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:1");
        assert_file_is("root", 1);
        up_key_unref(old);
}
END_TEST

/* Root v2 signed only by its own new keys: the trusted root never agreed. */
START_TEST(test_root_signed_only_by_new_keys) {
        initial_refresh();
        ck_ok(testrepo_rotate_keys(repo, "root"));
        ck_ok(testrepo_publish(repo, "root"));
        assert_refresh(-UP_ERR_SIGNATURE);
        assert_requests("root:2");
        assert_file_is("root", 1);
}
END_TEST

/* 2.root.json holding version 3 (rollback / skipped version). */
START_TEST(test_root_version_not_file_name) {
        initial_refresh();
        ck_ok(testrepo_set_version(repo, "root", 3));
        ck_ok(testrepo_publish_no_bump(repo, "root"));
        override_with_published("metadata/2.root.json", "root", 3);
        assert_refresh(-UP_ERR_ROLLBACK);
        assert_requests("root:2");
        assert_file_is("root", 1);
}
END_TEST

/* v2 is fine, v3 is signed by v1's keys and v3's, not by v2's. */
START_TEST(test_root_chain_signed_by_older_keys) {
        UpKey *v1_key = up_key_ref(testrepo_signer(repo, "root", 0));

        initial_refresh();
        publish_root_rotation();
        ck_ok(testrepo_rotate_keys(repo, "root"));
        ck_ok(testrepo_add_signer(repo, "root", v1_key, NULL));
        ck_ok(testrepo_publish(repo, "root"));
        assert_refresh(-UP_ERR_SIGNATURE);
        assert_requests("root:2 root:3");
        assert_file_is("root", 2);
        up_key_unref(v1_key);
}
END_TEST

/* An endless chain of roots stops after max_root_rotations (the client then
 * carries on with the newest it reached, as python-tuf does). */
START_TEST(test_root_rotations_bounded) {
        initial_refresh();
        for (int i = 0; i < 10; i++)
                ck_ok(testrepo_publish(repo, "root"));
        client->config.max_root_rotations = 3;
        assert_refresh(0);
        assert_requests("root:2 root:3 root:4 timestamp:-1");
        assert_file_is("root", 4);
}
END_TEST

/* The newest root has expired: it is persisted (it verified), then the
 * update stops with a freeze error before the timestamp is requested. A
 * later good root still gets through. */
START_TEST(test_root_expired) {
        initial_refresh();
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_set_expires(repo, "root", TESTREPO_NOW - TESTREPO_DAY));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        assert_refresh(-UP_ERR_EXPIRED);
        assert_requests("root:2 root:3 root:4");
        assert_trusted("root:3 snapshot:1 targets:1 timestamp:1");
        assert_file_is("root", 3);

        testrepo_clear_requests(repo);
        ck_ok(testrepo_set_expires(repo, "root", TESTREPO_NOW + 30 * TESTREPO_DAY));
        ck_ok(testrepo_publish(repo, "root"));
        assert_refresh(0);
        assert_trusted("root:4 snapshot:2 targets:2 timestamp:2");
}
END_TEST

/* --- Rollback ---------------------------------------------------------------- */

START_TEST(test_timestamp_rollback) {
        ck_ok(testrepo_update_timestamp(repo));
        initial_refresh();
        ck_assert_int_eq(testclient_file_version(client, "timestamp"), 2);
        override_with_published("metadata/timestamp.json", "timestamp", 1);
        assert_refresh(-UP_ERR_ROLLBACK);
        assert_requests("root:2 timestamp:-1");
        assert_file_is("timestamp", 2);
}
END_TEST

/* A newer timestamp that names an older snapshot. */
START_TEST(test_timestamp_snapshot_version_rollback) {
        struct json_object *entry;

        ck_ok(testrepo_update_snapshot(repo));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        entry = json_path(testrepo_signed(repo, "timestamp"), "meta", "snapshot.json", NULL);
        json_object_object_add(entry, "version", json_object_new_int64(2));
        ck_ok(testrepo_publish(repo, "timestamp"));
        assert_refresh(-UP_ERR_ROLLBACK);
        assert_requests("root:2 timestamp:-1");
        assert_trusted("root:1 snapshot:3 targets:1 timestamp:3");
}
END_TEST

/* A newer snapshot that names an older targets version. */
START_TEST(test_snapshot_targets_version_rollback) {
        struct json_object *entry;

        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        entry = json_path(testrepo_signed(repo, "snapshot"), "meta", "targets.json", NULL);
        json_object_object_add(entry, "version", json_object_new_int64(1));
        ck_ok(testrepo_publish(repo, "snapshot"));
        ck_ok(testrepo_update_timestamp(repo));
        assert_refresh(-UP_ERR_ROLLBACK);
        assert_requests("root:2 timestamp:-1 snapshot:3");
        /* The timestamp was good and stays accepted; the snapshot does not. */
        assert_trusted("root:1 snapshot:2 targets:2 timestamp:3");
        assert_file_is("snapshot", 2);
}
END_TEST

/* A newer snapshot that drops a targets role the trusted one lists. */
START_TEST(test_snapshot_role_removed) {
        ck_ok(testrepo_add_delegation(repo, "targets", "role1", false, 1, "*", NULL));
        ck_ok(testrepo_publish(repo, "role1"));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        ck_ok(testrepo_set_in_snapshot(repo, "role1", false));
        ck_ok(testrepo_update_snapshot(repo));
        assert_refresh(-UP_ERR_ROLLBACK);
        assert_requests("root:2 timestamp:-1 snapshot:3");
        assert_trusted("root:1 snapshot:2 targets:2 timestamp:3");
}
END_TEST

/* --- Freeze ------------------------------------------------------------------- */

START_TEST(test_timestamp_expired) {
        initial_refresh();
        ck_ok(testrepo_set_expires(repo, "timestamp", TESTREPO_NOW - 1));
        ck_ok(testrepo_update_timestamp(repo));
        assert_refresh(-UP_ERR_EXPIRED);
        assert_requests("root:2 timestamp:-1");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:1");
}
END_TEST

START_TEST(test_snapshot_expired) {
        initial_refresh();
        ck_ok(testrepo_set_expires(repo, "snapshot", TESTREPO_NOW - 1));
        ck_ok(testrepo_update_snapshot(repo));
        assert_refresh(-UP_ERR_EXPIRED);
        assert_requests("root:2 timestamp:-1 snapshot:2");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:2");
}
END_TEST

START_TEST(test_targets_expired) {
        initial_refresh();
        ck_ok(testrepo_set_expires(repo, "targets", TESTREPO_NOW - 1));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        assert_refresh(-UP_ERR_EXPIRED);
        assert_requests("root:2 timestamp:-1 snapshot:2 targets:2");
        assert_trusted("root:1 snapshot:2 targets:1 timestamp:2");
}
END_TEST

/* The cached timestamp expired meanwhile; a fresh one replaces it. */
START_TEST(test_expired_local_timestamp_replaced) {
        ck_ok(testrepo_set_expires(repo, "timestamp", TESTREPO_NOW + TESTREPO_DAY));
        ck_ok(testrepo_update_timestamp(repo));
        initial_refresh();
        ck_ok(testrepo_set_expires(repo, "timestamp", TESTREPO_NOW + 10 * TESTREPO_DAY));
        ck_ok(testrepo_update_timestamp(repo));
        client->config.now = TESTREPO_NOW + 2 * TESTREPO_DAY;
        assert_refresh(0);
        assert_requests("root:2 timestamp:-1");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:3");
        assert_file_is("timestamp", 3);
}
END_TEST

/* --- Mix and match -------------------------------------------------------------- */

/* 2.snapshot.json holds a (validly signed) version 3. */
START_TEST(test_snapshot_version_mismatch) {
        initial_refresh();
        ck_ok(testrepo_update_snapshot(repo));
        ck_ok(testrepo_set_version(repo, "snapshot", 3));
        override_with_current("metadata/2.snapshot.json", "snapshot");
        assert_refresh(-UP_ERR_MIX_AND_MATCH);
        assert_requests("root:2 timestamp:-1 snapshot:2");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:2");
}
END_TEST

/* The timestamp gives length and hash; a validly signed snapshot of the same
 * version and length but other bytes is refused. */
START_TEST(test_snapshot_hash_mismatch) {
        initial_refresh();
        testrepo_set_compute_metafile_hashes_length(repo, true);
        ck_ok(testrepo_update_snapshot(repo));
        ck_ok(testrepo_set_expires(repo, "snapshot", TESTREPO_NOW + 100 * TESTREPO_DAY + 1));
        override_with_current("metadata/2.snapshot.json", "snapshot");
        assert_refresh(-UP_ERR_MIX_AND_MATCH);
        assert_requests("root:2 timestamp:-1 snapshot:2");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:2");
}
END_TEST

START_TEST(test_targets_version_mismatch) {
        initial_refresh();
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        ck_ok(testrepo_set_version(repo, "targets", 3));
        override_with_current("metadata/2.targets.json", "targets");
        assert_refresh(-UP_ERR_MIX_AND_MATCH);
        assert_requests("root:2 timestamp:-1 snapshot:2 targets:2");
        assert_trusted("root:1 snapshot:2 targets:1 timestamp:2");
}
END_TEST

/* With hashes in the snapshot, a targets file with other bytes is refused. */
START_TEST(test_targets_hash_mismatch) {
        initial_refresh();
        testrepo_set_compute_metafile_hashes_length(repo, true);
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        ck_ok(testrepo_set_expires(repo, "targets", TESTREPO_NOW + 100 * TESTREPO_DAY + 1));
        override_with_current("metadata/2.targets.json", "targets");
        assert_refresh(-UP_ERR_MIX_AND_MATCH);
        assert_trusted("root:1 snapshot:2 targets:1 timestamp:2");
}
END_TEST

/* --- Endless data ------------------------------------------------------------------- */

START_TEST(test_timestamp_too_big) {
        size_t len, big = 16 * 1024 + 1;
        char *data = published_copy("timestamp", 1, &len);

        data = realloc(data, big);
        ck_assert_ptr_nonnull(data);
        memset(data + len, ' ', big - len);
        ck_ok(testrepo_override(repo, "metadata/timestamp.json", data, big));
        assert_refresh(-UP_ERR_TOO_BIG);
        assert_requests("root:2 timestamp:-1");
        assert_trusted("root:1");

        /* A configured limit applies as well. */
        testrepo_clear_overrides(repo);
        client->config.timestamp_max_length = len - 1;
        assert_refresh(-UP_ERR_TOO_BIG);
        free(data);
}
END_TEST

/* The snapshot served is longer than the length the timestamp gives. */
START_TEST(test_snapshot_longer_than_timestamp_says) {
        size_t len;
        char *data;

        initial_refresh();
        testrepo_set_compute_metafile_hashes_length(repo, true);
        ck_ok(testrepo_update_snapshot(repo));
        data = published_copy("snapshot", 2, &len);
        data = realloc(data, len + 1);
        ck_assert_ptr_nonnull(data);
        data[len] = ' ';
        ck_ok(testrepo_override(repo, "metadata/2.snapshot.json", data, len + 1));
        assert_refresh(-UP_ERR_TOO_BIG);
        assert_requests("root:2 timestamp:-1 snapshot:2");
        assert_trusted("root:1 snapshot:1 targets:1 timestamp:2");
        free(data);
}
END_TEST

/* --- Fast-forward recovery ------------------------------------------------------------ */

/* After the timestamp key is rotated, a timestamp that starts again at v1 is
 * accepted (the old one is no longer trusted). */
START_TEST(test_timestamp_fast_forward_recovery) {
        ck_ok(testrepo_update_timestamp(repo));
        ck_ok(testrepo_update_timestamp(repo));
        initial_refresh();
        ck_assert_int_eq(testclient_file_version(client, "timestamp"), 3);
        ck_ok(testrepo_rotate_keys(repo, "timestamp"));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_set_version(repo, "timestamp", 0));
        ck_ok(testrepo_update_timestamp(repo));
        ck_assert_int_eq(testrepo_version(repo, "timestamp"), 1);
        assert_refresh(0);
        assert_requests("root:2 root:3 timestamp:-1");
        assert_trusted("root:2 snapshot:1 targets:1 timestamp:1");
        assert_file_is("timestamp", 1);
}
END_TEST

START_TEST(test_snapshot_fast_forward_recovery) {
        ck_ok(testrepo_update_snapshot(repo));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        ck_ok(testrepo_rotate_keys(repo, "snapshot"));
        ck_ok(testrepo_rotate_keys(repo, "timestamp"));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_set_version(repo, "snapshot", 0));
        ck_ok(testrepo_update_snapshot(repo));
        ck_assert_int_eq(testrepo_version(repo, "snapshot"), 1);
        assert_refresh(0);
        assert_requests("root:2 root:3 timestamp:-1 snapshot:1");
        assert_trusted("root:2 snapshot:1 targets:1 timestamp:4");
        assert_file_is("snapshot", 1);
}
END_TEST

/* After the snapshot key is rotated, targets may start again at v1. */
START_TEST(test_targets_fast_forward_recovery) {
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        ck_ok(testrepo_rotate_keys(repo, "snapshot"));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_set_version(repo, "targets", 0));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        assert_refresh(0);
        assert_requests("root:2 root:3 timestamp:-1 snapshot:3 targets:1");
        assert_trusted("root:2 snapshot:3 targets:1 timestamp:3");
        assert_file_is("targets", 1);
}
END_TEST

/* --- Threshold ----------------------------------------------------------------------- */

/* Threshold 2 and two signatures carrying the same key id. */
START_TEST(test_threshold_duplicate_keyid) {
        UpKey *key = testrepo_signer(repo, "timestamp", 0);
        char keyid[65];

        initial_refresh();
        ck_ok(testrepo_set_threshold(repo, "timestamp", 2));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(up_key_keyid(key, keyid));
        ck_ok(testrepo_add_signer(repo, "timestamp", key, keyid));
        ck_ok(testrepo_update_timestamp(repo));
        assert_refresh(-UP_ERR_DUPLICATE);
        assert_requests("root:2 root:3 timestamp:-1");
        assert_trusted("root:2 snapshot:1 targets:1 timestamp:1");
}
END_TEST

/* Threshold 2 and two key ids (the key object with an extra field) for the
 * same key material, both with a valid signature: one key, not two. */
START_TEST(test_threshold_same_key_two_keyids) {
        UpKey *key = testrepo_signer(repo, "timestamp", 0), *alias;
        struct json_object *obj = NULL, *key_obj = up_key_to_json(key);
        char keyid[65];

        initial_refresh();
        ck_assert_int_eq(json_object_deep_copy(key_obj, &obj, NULL), 0);
        json_object_put(key_obj);
        json_object_object_add(obj, "x-alias", json_object_new_boolean(1));
        ck_ok(up_key_from_json(obj, &alias));
        ck_ok(up_key_keyid(alias, keyid));
        ck_ok(testrepo_list_key_as(repo, "timestamp", keyid, obj));
        ck_ok(testrepo_set_threshold(repo, "timestamp", 2));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_add_signer(repo, "timestamp", key, keyid));
        ck_ok(testrepo_update_timestamp(repo));
        assert_refresh(-UP_ERR_SIGNATURE);
        assert_requests("root:2 root:3 timestamp:-1");
        assert_trusted("root:2 snapshot:1 targets:1 timestamp:1");

        /* Control: a real second key reaches the threshold. */
        ck_ok(testrepo_add_key(repo, "timestamp", NULL));
        ck_ok(testrepo_publish(repo, "root"));
        ck_ok(testrepo_update_timestamp(repo));
        assert_refresh(0);
        ck_assert_int_eq(testclient_file_version(client, "timestamp"), 3);
        up_key_unref(alias);
        json_object_put(obj);
}
END_TEST

/* --- Wrong type ------------------------------------------------------------------------ */

/* A correctly signed snapshot served as the timestamp. */
START_TEST(test_snapshot_served_as_timestamp) {
        override_with_published("metadata/timestamp.json", "snapshot", 1);
        assert_refresh(-UP_ERR_WRONG_TYPE);
        assert_trusted("root:1");
}
END_TEST

/* A correctly signed timestamp served as 2.root.json. */
START_TEST(test_timestamp_served_as_root) {
        override_with_published("metadata/2.root.json", "timestamp", 1);
        assert_refresh(-UP_ERR_WRONG_TYPE);
        assert_requests("root:2");
        assert_trusted("root:1");
}
END_TEST

/* --- Delegations ------------------------------------------------------------------------ */

typedef struct DelegationSpec {
        const char *delegator;
        const char *name;
        bool terminating;
        const char *paths[3];
} DelegationSpec;

typedef struct SearchCase {
        const char *title;
        DelegationSpec delegations[6];
        const char *listed_by;   /* the role that lists the target (NULL: none) */
        const char *target_path;
        int result;
        const char *requests;    /* the delegated roles fetched, in order */
} SearchCase;

static const SearchCase search_cases[] = {
        { "pre-order depth first",
          { { "targets", "A", false, { "*" } }, { "targets", "B", false, { "*" } },
            { "A", "C", false, { "*" } }, { "A", "D", false, { "*" } } },
          NULL, "file", -UP_ERR_NOT_FOUND, "A:1 C:1 D:1 B:1" },
        { "terminating role ends the search",
          { { "targets", "A", true, { "*" } }, { "targets", "B", false, { "*" } }, { "A", "C", false, { "*" } } },
          NULL, "file", -UP_ERR_NOT_FOUND, "A:1 C:1" },
        { "terminating role deep down",
          { { "targets", "A", false, { "*" } }, { "targets", "B", false, { "*" } },
            { "A", "C", true, { "*" } }, { "A", "D", false, { "*" } } },
          NULL, "file", -UP_ERR_NOT_FOUND, "A:1 C:1" },
        { "terminating role that does not match is skipped",
          { { "targets", "A", true, { "x/*" } }, { "targets", "B", false, { "*" } } },
          NULL, "file", -UP_ERR_NOT_FOUND, "B:1" },
        { "path patterns choose the roles",
          { { "targets", "A", false, { "a/*" } }, { "targets", "B", false, { "b/*" } },
            { "B", "C", false, { "b/x/*" } }, { "B", "D", false, { "*" } } },
          NULL, "b/file", -UP_ERR_NOT_FOUND, "B:1" },
        { "cycle",
          { { "targets", "A", false, { "*" } }, { "A", "B", false, { "*" } }, { "B", "A", false, { "*" } } },
          NULL, "file", -UP_ERR_NOT_FOUND, "A:1 B:1" },
        { "two roles delegate to a third",
          { { "targets", "A", false, { "*" } }, { "targets", "B", false, { "*" } },
            { "A", "C", false, { "*" } }, { "B", "C", false, { "*" } } },
          NULL, "file", -UP_ERR_NOT_FOUND, "A:1 C:1 B:1" },
        { "found in the second role",
          { { "targets", "A", false, { "*" } }, { "targets", "B", false, { "*" } }, { "A", "C", false, { "*" } } },
          "B", "file", 0, "A:1 C:1 B:1" },
        { "found in the first role stops the search",
          { { "targets", "A", false, { "*" } }, { "targets", "B", false, { "*" } } },
          "A", "file", 0, "A:1" },
        { "found in a terminating role's child",
          { { "targets", "A", true, { "*" } }, { "targets", "B", false, { "*" } }, { "A", "C", false, { "*" } } },
          "C", "file", 0, "A:1 C:1" },
        { "listed by a role outside the terminating subtree",
          { { "targets", "A", true, { "*" } }, { "targets", "B", false, { "*" } } },
          "B", "file", -UP_ERR_NOT_FOUND, "A:1" },
};

static bool role_seen(const char *const *names, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0)
                        return true;
        return false;
}

/* Adds the delegations, lists the target, publishes everything. */
static void build_delegations(const DelegationSpec *specs, size_t n_specs, const char *listed_by, const char *path) {
        const char *created[16];
        size_t n_created = 0;

        for (size_t i = 0; i < n_specs && specs[i].delegator; i++) {
                const DelegationSpec *d = &specs[i];
                size_t n_paths = 0;

                while (n_paths < ELEMENTSOF(d->paths) && d->paths[n_paths])
                        n_paths++;
                ck_ok(testrepo_add_delegation_strv(repo, d->delegator, d->name, d->terminating, 1, d->paths, n_paths));
                if (!role_seen(created, n_created, d->name))
                        created[n_created++] = d->name;
        }
        if (listed_by)
                ck_ok(testrepo_add_target(repo, listed_by, path, "data", 4));
        for (size_t i = 0; i < n_created; i++)
                ck_ok(testrepo_publish_no_bump(repo, created[i]));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
}

START_TEST(test_delegation_search_order) {
        const SearchCase *c = &search_cases[_i];
        UpTargetInfo *info = NULL;
        int r;

        build_delegations(c->delegations, ELEMENTSOF(c->delegations), c->listed_by, c->target_path);
        initial_refresh();
        r = up_updater_get_target_info(client->updater, c->target_path, &info);
        ck_assert_msg(r == c->result, "%s: lookup returned %d (%s), expected %d: %s", c->title, r, strerror(-r),
                      c->result, updater_error());
        ck_assert_msg(strcmp(testrepo_requests_str(repo), c->requests) == 0, "%s: requests '%s', expected '%s'",
                      c->title, testrepo_requests_str(repo), c->requests);
        if (c->result == 0) {
                ck_assert_str_eq(info->role, c->listed_by);
                ck_assert_str_eq(info->path, c->target_path);
                ck_assert_int_eq(info->length, 4);
        }
        up_target_info_free(info);
}
END_TEST

/* The delegated roles fetched are persisted under their own names. */
START_TEST(test_delegated_roles_persisted) {
        UpTargetInfo *info = NULL;

        build_delegations(search_cases[0].delegations, ELEMENTSOF(search_cases[0].delegations), "D", "file");
        initial_refresh();
        ck_ok(up_updater_get_target_info(client->updater, "file", &info));
        ck_assert_str_eq(info->role, "D");
        assert_trusted("A:1 C:1 D:1 root:1 snapshot:2 targets:2 timestamp:2");
        assert_file_is("A", 1);
        assert_file_is("D", 1);
        up_target_info_free(info);

        /* A new process uses the cached delegated roles. */
        testrepo_clear_requests(repo);
        assert_refresh(0);
        ck_ok(up_updater_get_target_info(client->updater, "file", &info));
        assert_requests("root:2 timestamp:-1");
        up_target_info_free(info);
}
END_TEST

/* A delegated role that the snapshot does not list is neither fetched nor
 * trusted (mix-and-match). */
START_TEST(test_delegated_role_not_in_snapshot) {
        UpTargetInfo *info = NULL;

        ck_ok(testrepo_add_delegation(repo, "targets", "role1", false, 1, "*", NULL));
        ck_ok(testrepo_add_target(repo, "role1", "file", "data", 4));
        ck_ok(testrepo_publish(repo, "role1"));
        ck_ok(testrepo_set_in_snapshot(repo, "role1", false));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        ck_assert_int_eq(up_updater_get_target_info(client->updater, "file", &info), -UP_ERR_MIX_AND_MATCH);
        ck_assert_ptr_null(info);
        ck_assert_uint_eq(testrepo_n_requests(repo), 0);
        assert_trusted("root:1 snapshot:2 targets:2 timestamp:2");
}
END_TEST

/* A delegated role that expired, or is signed by a key its delegator does
 * not assign: the lookup fails and the role is not stored. */
START_TEST(test_delegated_role_expired_or_badly_signed) {
        UpTargetInfo *info = NULL;
        UpKey *stranger;

        ck_ok(testrepo_add_delegation(repo, "targets", "old", false, 1, "o/*", NULL));
        ck_ok(testrepo_add_delegation(repo, "targets", "forged", false, 1, "f/*", NULL));
        ck_ok(testrepo_add_target(repo, "old", "o/file", "data", 4));
        ck_ok(testrepo_add_target(repo, "forged", "f/file", "data", 4));
        ck_ok(testrepo_set_expires(repo, "old", TESTREPO_NOW - 1));
        ck_ok(up_key_generate(UP_SCHEME_ED25519, &stranger));
        testrepo_clear_signers(repo, "forged");
        ck_ok(testrepo_add_signer(repo, "forged", stranger, NULL));
        ck_ok(testrepo_publish(repo, "old"));
        ck_ok(testrepo_publish(repo, "forged"));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        ck_assert_int_eq(up_updater_get_target_info(client->updater, "o/file", &info), -UP_ERR_EXPIRED);
        ck_assert_int_eq(up_updater_get_target_info(client->updater, "f/file", &info), -UP_ERR_SIGNATURE);
        ck_assert_ptr_null(info);
        assert_requests("old:1 forged:1");
        assert_trusted("root:1 snapshot:2 targets:2 timestamp:2");
        up_key_unref(stranger);
}
END_TEST

/* With lengths in the snapshot, a longer targets file is endless data. */
START_TEST(test_targets_longer_than_snapshot_says) {
        size_t len;
        char *data;

        initial_refresh();
        testrepo_set_compute_metafile_hashes_length(repo, true);
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        data = published_copy("targets", 2, &len);
        data = realloc(data, len + 1);
        ck_assert_ptr_nonnull(data);
        data[len] = '\n';
        ck_ok(testrepo_override(repo, "metadata/2.targets.json", data, len + 1));
        assert_refresh(-UP_ERR_TOO_BIG);
        assert_trusted("root:1 snapshot:2 targets:1 timestamp:2");
        free(data);
}
END_TEST

/* A chain of 40 delegations: the search gives up after max_delegations
 * roles (top-level targets included), then succeeds with a higher limit. */
START_TEST(test_delegations_max_roles) {
        UpTargetInfo *info = NULL;
        char name[16], parent[16] = "targets";

        for (int i = 1; i <= 40; i++) {
                snprintf(name, sizeof(name), "r%d", i);
                ck_ok(testrepo_add_delegation(repo, parent, name, false, 1, "*", NULL));
                memcpy(parent, name, sizeof(name));
        }
        ck_ok(testrepo_add_target(repo, "r40", "file", "data", 4));
        for (int i = 1; i <= 40; i++) {
                snprintf(name, sizeof(name), "r%d", i);
                ck_ok(testrepo_publish(repo, name));
        }
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        ck_assert_int_eq(up_updater_get_target_info(client->updater, "file", &info), -UP_ERR_LOOP);
        ck_assert_uint_eq(testrepo_n_requests(repo), 31);
        ck_assert(!testrepo_was_requested(repo, "metadata/1.r32.json"));

        client->config.max_delegations = 41;
        assert_refresh(0);
        ck_ok(up_updater_get_target_info(client->updater, "file", &info));
        ck_assert_str_eq(info->role, "r40");
        up_target_info_free(info);
}
END_TEST

/* Role names that need percent-encoding in URLs and file names. */
START_TEST(test_delegated_role_names_encoded) {
        static const struct {
                const char *role, *pattern, *target, *url;
        } cases[] = {
                { "?", "q/*", "q/file", "metadata/1.%3F.json" },
                { "#", "h/*", "h/file", "metadata/1.%23.json" },
                { "/delegatedrole", "s/*", "s/file", "metadata/1.%2Fdelegatedrole.json" },
                { "../delegatedrole", "d/*", "d/file", "metadata/1...%2Fdelegatedrole.json" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ck_ok(testrepo_add_delegation(repo, "targets", cases[i].role, false, 1, cases[i].pattern, NULL));
                ck_ok(testrepo_add_target(repo, cases[i].role, cases[i].target, "data", 4));
                ck_ok(testrepo_publish(repo, cases[i].role));
        }
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                UpTargetInfo *info = NULL;

                ck_ok(up_updater_get_target_info(client->updater, cases[i].target, &info));
                ck_assert_str_eq(info->role, cases[i].role);
                ck_assert_msg(testrepo_was_requested(repo, cases[i].url), "%s not requested", cases[i].url);
                assert_file_is(cases[i].role, 1);
                up_target_info_free(info);
        }
        assert_trusted("%23:1 %2Fdelegatedrole:1 %3F:1 ..%2Fdelegatedrole:1 root:1 snapshot:2 targets:2 "
                       "timestamp:2");
}
END_TEST

/* '*' does not cross '/', and the number of segments must match. */
START_TEST(test_delegation_path_patterns) {
        static const struct {
                const char *path;
                const char *role; /* NULL: not found */
                const char *requests;
        } cases[] = {
                { "README.md", "A", "A:1" },
                { "releases/README.md", "B", "B:1" },
                { "releases/v1/README.md", NULL, "" },
                { "docs/a.txt", "C", "C:1" },
                { "docs/ab.txt", NULL, "" },
        };

        ck_ok(testrepo_add_delegation(repo, "targets", "A", false, 1, "*.md", NULL));
        ck_ok(testrepo_add_delegation(repo, "targets", "B", false, 1, "releases/*.md", NULL));
        ck_ok(testrepo_add_delegation(repo, "targets", "C", false, 1, "docs/?.txt", NULL));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (cases[i].role)
                        ck_ok(testrepo_add_target(repo, cases[i].role, cases[i].path, "data", 4));
        ck_ok(testrepo_publish(repo, "A"));
        ck_ok(testrepo_publish(repo, "B"));
        ck_ok(testrepo_publish(repo, "C"));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                UpTargetInfo *info = NULL;
                int r;

                assert_refresh(0);
                testrepo_clear_requests(repo);
                /* Start without cached delegated roles, so the requests show the roles visited. */
                r = up_updater_get_target_info(client->updater, cases[i].path, &info);
                ck_assert_msg(cases[i].role ? r == 0 : r == -UP_ERR_NOT_FOUND, "%s: %d", cases[i].path, r);
                if (cases[i].role)
                        ck_assert_str_eq(info->role, cases[i].role);
                ck_assert_msg(strcmp(testrepo_requests_str(repo), cases[i].requests) == 0, "%s: requests '%s'",
                              cases[i].path, testrepo_requests_str(repo));
                up_target_info_free(info);
                ck_ok(testrepo_rm_rf(client->metadata_dir));
                ck_ok(testrepo_mkdir_p(client->metadata_dir));
                ck_ok(testrepo_write_root(repo, client->metadata_dir, 1));
        }
}
END_TEST

/* Two delegators list different keys for the same role: the role trusted
 * through the first must not be accepted through the second unchecked. */
START_TEST(test_delegation_diamond_other_keys) {
        struct json_object *entry, *keys;
        UpTargetInfo *info = NULL;
        UpKey *other;
        char keyid[65];

        ck_ok(testrepo_add_delegation(repo, "targets", "A", false, 1, "a/*", NULL));
        ck_ok(testrepo_add_delegation(repo, "targets", "B", false, 1, "b/*", NULL));
        ck_ok(testrepo_add_delegation(repo, "A", "C", false, 1, "a/*", NULL));
        ck_ok(testrepo_add_delegation(repo, "B", "C", false, 1, "b/*", NULL));
        /* B assigns C a key that C is not signed with. */
        ck_ok(up_key_generate(UP_SCHEME_ED25519, &other));
        ck_ok(up_key_keyid(other, keyid));
        keys = json_path(testrepo_signed(repo, "B"), "delegations", "keys", NULL);
        json_object_object_add(keys, keyid, up_key_to_json(other));
        entry = json_object_array_get_idx(json_path(testrepo_signed(repo, "B"), "delegations", "roles", NULL), 0);
        json_object_object_add(entry, "keyids", json_object_new_array());
        json_object_array_add(json_path(entry, "keyids", NULL, NULL), json_object_new_string(keyid));
        ck_ok(testrepo_add_target(repo, "C", "a/file", "data", 4));
        ck_ok(testrepo_add_target(repo, "C", "b/file", "data", 4));
        ck_ok(testrepo_publish(repo, "A"));
        ck_ok(testrepo_publish(repo, "B"));
        ck_ok(testrepo_publish(repo, "C"));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        initial_refresh();
        ck_ok(up_updater_get_target_info(client->updater, "a/file", &info));
        ck_assert_str_eq(info->role, "C");
        info = up_target_info_free(info);
        ck_assert_int_eq(up_updater_get_target_info(client->updater, "b/file", &info), -UP_ERR_SIGNATURE);
        ck_assert_ptr_null(info);
        up_key_unref(other);
}
END_TEST

/* --- Artifacts ------------------------------------------------------------------------------- */

static UpTargetInfo *lookup(const char *path) {
        UpTargetInfo *info = NULL;
        int r;

        r = up_updater_get_target_info(client->updater, path, &info);
        ck_assert_msg(r == 0, "lookup %s: %s (%s)", path, strerror(-r), updater_error());
        return info;
}

static void publish_target(const char *path, const char *content) {
        ck_ok(testrepo_add_target(repo, "targets", path, content, strlen(content)));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
}

static void assert_target_content(const char *file, const char *content) {
        char *data = NULL;
        size_t len;

        ck_ok(testclient_read_target(client, file, &data, &len));
        ck_assert_str_eq(data, content);
        free(data);
}

/* Under consistent snapshot the artifact is fetched as DIR/SHA256.NAME, and
 * stored under its percent-encoded path. */
START_TEST(test_artifact_url_consistent) {
        char hex[65], expected[200];
        uint8_t digest[32];
        UpTargetInfo *info;

        publish_target("path/to/a/file.txt", "nested");
        publish_target("file.txt", "top");
        assert_refresh(0);
        info = lookup("path/to/a/file.txt");
        ck_ok(up_updater_download_target(client->updater, info));
        up_target_info_free(info);
        info = lookup("file.txt");
        ck_ok(up_updater_download_target(client->updater, info));
        up_target_info_free(info);

        ck_ok(up_hash_buffer(UP_HASH_SHA256, "nested", 6, digest));
        up_hex_encode(digest, 32, hex);
        snprintf(expected, sizeof(expected), "path/to/a/%s.file.txt ", hex);
        ck_ok(up_hash_buffer(UP_HASH_SHA256, "top", 3, digest));
        up_hex_encode(digest, 32, hex);
        strncat(expected, hex, sizeof(expected) - strlen(expected) - 1);
        strncat(expected, ".file.txt", sizeof(expected) - strlen(expected) - 1);
        ck_assert_str_eq(testrepo_artifact_requests_str(repo), expected);
        ck_assert_str_eq(testclient_target_files_str(client), "file.txt path%2Fto%2Fa%2Ffile.txt");
        assert_target_content("path%2Fto%2Fa%2Ffile.txt", "nested");
}
END_TEST

/* Without consistent snapshot: plain names for metadata and artifacts. */
START_TEST(test_artifact_url_not_consistent) {
        UpTargetInfo *info;

        ck_ok(testrepo_set_consistent_snapshot(repo, false));
        ck_ok(testrepo_publish(repo, "root"));
        publish_target("path/to/a/file.txt", "nested");
        assert_refresh(0);
        assert_requests("root:2 root:3 timestamp:-1 snapshot:-1 targets:-1");
        info = lookup("path/to/a/file.txt");
        ck_ok(up_updater_download_target(client->updater, info));
        up_target_info_free(info);
        ck_assert_str_eq(testrepo_artifact_requests_str(repo), "path/to/a/file.txt");
        assert_target_content("path%2Fto%2Fa%2Ffile.txt", "nested");
}
END_TEST

/* A valid copy in target_dir is used without a request. */
START_TEST(test_artifact_cached) {
        UpTargetInfo *info;

        publish_target("file.txt", "content");
        assert_refresh(0);
        info = lookup("file.txt");
        ck_assert_int_eq(up_updater_find_cached_target(client->updater, info), -UP_ERR_NOT_FOUND);
        ck_ok(up_updater_download_target(client->updater, info));
        up_target_info_free(info);

        assert_refresh(0);
        info = lookup("file.txt");
        ck_ok(up_updater_find_cached_target(client->updater, info));
        up_target_info_free(info);
        ck_assert_uint_eq(testrepo_n_artifact_requests(repo), 1);
}
END_TEST

/* Wrong bytes, a short file and a long file for a new version of a target:
 * each fails, and the good copy of the old version stays. */
START_TEST(test_artifact_bad_content_keeps_previous) {
        static const char good[] = "good old content";
        static const char next[] = "the next version";
        static const char evil[] = "evil new content"; /* same length as next */
        UpTargetInfo *info;
        char *url;

        publish_target("file.txt", good);
        assert_refresh(0);
        info = lookup("file.txt");
        ck_ok(up_updater_download_target(client->updater, info));
        up_target_info_free(info);

        publish_target("file.txt", next);
        ck_ok(testrepo_artifact_url(repo, "file.txt", &url));
        assert_refresh(0);
        info = lookup("file.txt");
        ck_assert_int_eq(up_updater_find_cached_target(client->updater, info), -UP_ERR_NOT_FOUND);

        ck_ok(testrepo_override(repo, url, evil, strlen(evil)));
        ck_assert_int_eq(up_updater_download_target(client->updater, info), -UP_ERR_HASH);
        assert_target_content("file.txt", good);

        ck_ok(testrepo_override(repo, url, next, strlen(next) - 1));
        ck_assert_int_eq(up_updater_download_target(client->updater, info), -UP_ERR_HASH);
        assert_target_content("file.txt", good);

        ck_ok(testrepo_override(repo, url, "the next version, and more", 26));
        ck_assert_int_eq(up_updater_download_target(client->updater, info), -UP_ERR_TOO_BIG);
        assert_target_content("file.txt", good);
        ck_assert_str_eq(testclient_target_files_str(client), "file.txt");

        testrepo_clear_overrides(repo);
        ck_ok(up_updater_download_target(client->updater, info));
        assert_target_content("file.txt", next);
        up_target_info_free(info);
        free(url);
}
END_TEST

/* A target whose only hash is of an unknown algorithm cannot be verified. */
START_TEST(test_artifact_unknown_hash_only) {
        struct json_object *entry, *hashes;
        UpTargetInfo *info;
        char url[200];
        const char *md5 = "9e107d9d372bb6826bd81d3542a419d6";

        ck_ok(testrepo_add_target(repo, "targets", "file.txt", "content", 7));
        entry = json_path(testrepo_signed(repo, "targets"), "targets", "file.txt", NULL);
        hashes = json_object_new_object();
        json_object_object_add(hashes, "md5", json_object_new_string(md5));
        json_object_object_add(entry, "hashes", hashes);
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        snprintf(url, sizeof(url), "targets/%s.file.txt", md5);
        ck_ok(testrepo_override(repo, url, "content", 7));
        assert_refresh(0);
        info = lookup("file.txt");
        ck_assert_int_eq(up_updater_download_target(client->updater, info), -UP_ERR_UNSUPPORTED);
        ck_assert_str_eq(testclient_target_files_str(client), "");
        up_target_info_free(info);
}
END_TEST

/* sha512 next to sha256: both are checked. */
START_TEST(test_artifact_every_hash_checked) {
        struct json_object *hashes;
        uint8_t digest[64];
        char hex[129];
        UpTargetInfo *info;

        ck_ok(testrepo_add_target(repo, "targets", "file.txt", "content", 7));
        hashes = json_path(testrepo_signed(repo, "targets"), "targets", "file.txt", "hashes");
        ck_ok(up_hash_buffer(UP_HASH_SHA512, "other", 5, digest));
        up_hex_encode(digest, 64, hex);
        json_object_object_add(hashes, "sha512", json_object_new_string(hex));
        ck_ok(testrepo_publish(repo, "targets"));
        ck_ok(testrepo_update_snapshot(repo));
        assert_refresh(0);
        info = lookup("file.txt");
        ck_assert_int_eq(up_updater_download_target(client->updater, info), -UP_ERR_HASH);
        ck_assert_str_eq(testclient_target_files_str(client), "");
        up_target_info_free(info);
}
END_TEST

START_TEST(test_unknown_target_not_found) {
        UpTargetInfo *info = NULL;

        assert_refresh(0);
        ck_assert_int_eq(up_updater_get_target_info(client->updater, "nope", &info), -UP_ERR_NOT_FOUND);
        ck_assert_ptr_null(info);
}
END_TEST

/* --- Suite ------------------------------------------------------------------------------------ */

static TCase *tcase(Suite *s, const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return tc;
}

static Suite *updater_suite(void) {
        Suite *s = suite_create("updater");
        TCase *tc;

        tc = tcase(s, "refresh");
        tcase_add_test(tc, test_first_refresh_requests);
        tcase_add_test(tc, test_refresh_success_leaves_no_error);
        tcase_add_loop_test(tc, test_first_refresh_schemes, 0, (int) ELEMENTSOF(all_schemes));
        tcase_add_test(tc, test_refresh_nothing_changed);
        tcase_add_test(tc, test_refresh_new_targets);
        tcase_add_test(tc, test_timestamp_equal_version_kept);
        tcase_add_test(tc, test_metadata_bytes_match);
        tcase_add_test(tc, test_bad_local_root_no_request);
        tcase_add_test(tc, test_invalid_extra_signatures_ignored);

        tc = tcase(s, "root");
        tcase_add_test(tc, test_root_rotation_chain);
        tcase_add_test(tc, test_root_history_kept);
        tcase_add_test(tc, test_root_signed_only_by_old_keys);
        tcase_add_test(tc, test_root_signed_only_by_new_keys);
        tcase_add_test(tc, test_root_version_not_file_name);
        tcase_add_test(tc, test_root_chain_signed_by_older_keys);
        tcase_add_test(tc, test_root_rotations_bounded);
        tcase_add_test(tc, test_root_expired);

        tc = tcase(s, "rollback");
        tcase_add_test(tc, test_timestamp_rollback);
        tcase_add_test(tc, test_timestamp_snapshot_version_rollback);
        tcase_add_test(tc, test_snapshot_targets_version_rollback);
        tcase_add_test(tc, test_snapshot_role_removed);

        tc = tcase(s, "freeze");
        tcase_add_test(tc, test_timestamp_expired);
        tcase_add_test(tc, test_snapshot_expired);
        tcase_add_test(tc, test_targets_expired);
        tcase_add_test(tc, test_expired_local_timestamp_replaced);

        tc = tcase(s, "mix-and-match");
        tcase_add_test(tc, test_snapshot_version_mismatch);
        tcase_add_test(tc, test_snapshot_hash_mismatch);
        tcase_add_test(tc, test_targets_version_mismatch);
        tcase_add_test(tc, test_targets_hash_mismatch);

        tc = tcase(s, "endless-data");
        tcase_add_test(tc, test_timestamp_too_big);
        tcase_add_test(tc, test_snapshot_longer_than_timestamp_says);
        tcase_add_test(tc, test_targets_longer_than_snapshot_says);

        tc = tcase(s, "fast-forward");
        tcase_add_test(tc, test_timestamp_fast_forward_recovery);
        tcase_add_test(tc, test_snapshot_fast_forward_recovery);
        tcase_add_test(tc, test_targets_fast_forward_recovery);

        tc = tcase(s, "threshold");
        tcase_add_test(tc, test_threshold_duplicate_keyid);
        tcase_add_test(tc, test_threshold_same_key_two_keyids);

        tc = tcase(s, "wrong-type");
        tcase_add_test(tc, test_snapshot_served_as_timestamp);
        tcase_add_test(tc, test_timestamp_served_as_root);

        tc = tcase(s, "delegations");
        tcase_add_loop_test(tc, test_delegation_search_order, 0, (int) ELEMENTSOF(search_cases));
        tcase_add_test(tc, test_delegated_roles_persisted);
        tcase_add_test(tc, test_delegated_role_not_in_snapshot);
        tcase_add_test(tc, test_delegated_role_expired_or_badly_signed);
        tcase_add_test(tc, test_delegations_max_roles);
        tcase_add_test(tc, test_delegated_role_names_encoded);
        tcase_add_test(tc, test_delegation_path_patterns);
        tcase_add_test(tc, test_delegation_diamond_other_keys);

        tc = tcase(s, "artifacts");
        tcase_add_test(tc, test_artifact_url_consistent);
        tcase_add_test(tc, test_artifact_url_not_consistent);
        tcase_add_test(tc, test_artifact_cached);
        tcase_add_test(tc, test_artifact_bad_content_keeps_previous);
        tcase_add_test(tc, test_artifact_unknown_hash_only);
        tcase_add_test(tc, test_artifact_every_hash_checked);
        tcase_add_test(tc, test_unknown_target_not_found);
        return s;
}

int main(void) {
        char base[] = "/tmp/test_updater-XXXXXX";
        SRunner *sr;
        int failed;

        /* A failed test exits before its teardown: its client directory is
         * removed with everything else under base. */
        if (!mkdtemp(base) || setenv("TMPDIR", base, 1) < 0) {
                perror("test_updater: temp dir");
                return EXIT_FAILURE;
        }
        sr = srunner_create(updater_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        (void) testrepo_rm_rf(base);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
