/* SPDX-License-Identifier: MIT */
/*
 * The trusted set alone (bytes in, verdicts out), for the rules that are
 * easier to show without the updater's I/O: the order of updates, equal
 * versions, cached snapshots and roles outside the snapshot.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/trusted_set.h"

static TestRepo *repo;
static UpTrustedSet *ts;

static void bytes_of(const char *role, int64_t version, const uint8_t **ret, size_t *ret_len) {
        ck_assert_int_eq(testrepo_published(repo, role, version, ret, ret_len), 0);
}

static void setup(void) {
        const uint8_t *root;
        size_t len;

        ck_assert_int_eq(testrepo_new(UP_SCHEME_ED25519, &repo), 0);
        bytes_of("root", 1, &root, &len);
        ck_assert_int_eq(up_trusted_set_new(root, len, &ts), 0);
}

static void teardown(void) {
        ts = up_trusted_set_free(ts);
        repo = testrepo_free(repo);
}

static int update(const char *role, int64_t version) {
        const uint8_t *data;
        size_t len;

        bytes_of(role, version, &data, &len);
        if (strcmp(role, "root") == 0)
                return up_trusted_set_update_root(ts, data, len);
        if (strcmp(role, "timestamp") == 0)
                return up_trusted_set_update_timestamp(ts, data, len, TESTREPO_NOW);
        if (strcmp(role, "snapshot") == 0)
                return up_trusted_set_update_snapshot(ts, data, len, TESTREPO_NOW, false);
        return up_trusted_set_update_targets(ts, role, strcmp(role, "targets") == 0 ? "root" : "targets", data, len,
                                             TESTREPO_NOW);
}

START_TEST(test_top_level_in_order) {
        ck_assert_int_eq(update("timestamp", 1), 0);
        ck_assert_int_eq(update("snapshot", 1), 0);
        ck_assert_int_eq(update("targets", 1), 0);
        ck_assert_int_eq(up_metadata_version(up_trusted_set_targets(ts, "targets")), 1);
        ck_assert_str_eq(up_trusted_set_error(ts), "");
}
END_TEST

/* Snapshot before timestamp, targets before snapshot, root after timestamp. */
START_TEST(test_out_of_order_refused) {
        ck_assert_int_eq(update("snapshot", 1), -EINVAL);
        ck_assert_int_eq(update("targets", 1), -EINVAL);
        ck_assert_ptr_null(up_trusted_set_snapshot(ts));
        ck_assert_int_eq(update("timestamp", 1), 0);
        ck_assert_int_eq(testrepo_publish(repo, "root"), 0);
        ck_assert_int_eq(update("root", 2), -EINVAL);
        ck_assert_int_eq(up_metadata_version(up_trusted_set_root(ts)), 1);
        ck_assert_str_ne(up_trusted_set_error(ts), "");
}
END_TEST

/* An equal timestamp version is not an update (the first one stays). */
START_TEST(test_timestamp_equal_version) {
        const UpMetadata *first;
        struct json_object *meta;

        ck_assert_int_eq(update("timestamp", 1), 0);
        first = up_trusted_set_timestamp(ts);
        json_object_object_get_ex(testrepo_signed(repo, "timestamp"), "meta", &meta);
        json_object_object_get_ex(meta, "snapshot.json", &meta);
        json_object_object_add(meta, "version", json_object_new_int64(9));
        ck_assert_int_eq(testrepo_publish_no_bump(repo, "timestamp"), 0);
        ck_assert_int_eq(update("timestamp", 1), -EALREADY);
        ck_assert_ptr_eq(up_trusted_set_timestamp(ts), first);
        ck_assert_int_eq(up_timestamp_snapshot_meta(first)->version, 1);
}
END_TEST

/* A cached snapshot needs the version the timestamp gives, not its hashes. */
START_TEST(test_snapshot_from_cache) {
        const uint8_t *data;
        size_t len;
        uint8_t *other;
        size_t other_len;

        testrepo_set_compute_metafile_hashes_length(repo, true);
        ck_assert_int_eq(testrepo_update_timestamp(repo), 0);
        ck_assert_int_eq(update("timestamp", 2), 0);
        /* Same version, other bytes (another expiry, same length). */
        ck_assert_int_eq(testrepo_set_expires(repo, "snapshot", TESTREPO_NOW + 100 * TESTREPO_DAY + 1), 0);
        ck_assert_int_eq(testrepo_sign_current(repo, "snapshot", &other, &other_len), 0);
        ck_assert_int_eq(up_trusted_set_update_snapshot(ts, other, other_len, TESTREPO_NOW, false),
                         -UP_ERR_MIX_AND_MATCH);
        ck_assert_int_eq(up_trusted_set_update_snapshot(ts, other, other_len, TESTREPO_NOW, true), 0);
        free(other);
        bytes_of("snapshot", 1, &data, &len);
        ck_assert_int_eq(up_trusted_set_update_snapshot(ts, data, len, TESTREPO_NOW, false), 0);
}
END_TEST

/* A delegated role that the snapshot does not list is not trusted. */
START_TEST(test_delegated_role_not_in_snapshot) {
        ck_assert_int_eq(testrepo_add_delegation(repo, "targets", "role1", false, 1, "*", NULL), 0);
        ck_assert_int_eq(testrepo_publish(repo, "role1"), 0);
        ck_assert_int_eq(testrepo_set_in_snapshot(repo, "role1", false), 0);
        ck_assert_int_eq(testrepo_publish(repo, "targets"), 0);
        ck_assert_int_eq(testrepo_update_snapshot(repo), 0);
        ck_assert_int_eq(update("timestamp", 2), 0);
        ck_assert_int_eq(update("snapshot", 2), 0);
        ck_assert_int_eq(update("targets", 2), 0);
        ck_assert_int_eq(update("role1", 1), -UP_ERR_MIX_AND_MATCH);
        ck_assert_ptr_null(up_trusted_set_targets(ts, "role1"));
}
END_TEST

/* A delegated role is checked against the keys its delegator assigns. */
START_TEST(test_delegated_role_wrong_key) {
        UpKey *stranger;

        ck_assert_int_eq(testrepo_add_delegation(repo, "targets", "role1", false, 1, "*", NULL), 0);
        ck_assert_int_eq(up_key_generate(UP_SCHEME_ED25519, &stranger), 0);
        testrepo_clear_signers(repo, "role1");
        ck_assert_int_eq(testrepo_add_signer(repo, "role1", stranger, NULL), 0);
        ck_assert_int_eq(testrepo_publish(repo, "role1"), 0);
        ck_assert_int_eq(testrepo_publish(repo, "targets"), 0);
        ck_assert_int_eq(testrepo_update_snapshot(repo), 0);
        ck_assert_int_eq(update("timestamp", 2), 0);
        ck_assert_int_eq(update("snapshot", 2), 0);
        ck_assert_int_eq(update("targets", 2), 0);
        ck_assert_int_eq(update("role1", 1), -UP_ERR_SIGNATURE);
        /* A delegator that does not delegate to it. */
        ck_assert_int_eq(up_trusted_set_verify_delegated(ts, "targets", "nobody"), -EINVAL);
        up_key_unref(stranger);
}
END_TEST

START_TEST(test_expired_root) {
        ck_assert_int_eq(up_trusted_set_check_root(ts, TESTREPO_NOW), 0);
        ck_assert_int_eq(up_trusted_set_check_root(ts, TESTREPO_NOW + 366 * TESTREPO_DAY), -UP_ERR_EXPIRED);
        /* Nothing is admitted under an expired root. */
        {
                const uint8_t *data;
                size_t len;

                bytes_of("timestamp", 1, &data, &len);
                ck_assert_int_eq(up_trusted_set_update_timestamp(ts, data, len, TESTREPO_NOW + 366 * TESTREPO_DAY),
                                 -UP_ERR_EXPIRED);
                ck_assert_ptr_null(up_trusted_set_timestamp(ts));
        }
}
END_TEST

/* Which roles changed keys between two roots (fast-forward recovery). */
START_TEST(test_root_role_changed) {
        const uint8_t *data;
        size_t len;
        UpMetadata *v1 = NULL, *v2 = NULL;

        ck_assert_int_eq(testrepo_rotate_keys(repo, "timestamp"), 0);
        ck_assert_int_eq(testrepo_publish(repo, "root"), 0);
        bytes_of("root", 1, &data, &len);
        ck_assert_int_eq(up_metadata_parse(data, len, UP_ROLE_ROOT, &v1), 0);
        bytes_of("root", 2, &data, &len);
        ck_assert_int_eq(up_metadata_parse(data, len, UP_ROLE_ROOT, &v2), 0);
        ck_assert(up_root_role_changed(v1, v2, UP_ROLE_TIMESTAMP));
        ck_assert(!up_root_role_changed(v1, v2, UP_ROLE_SNAPSHOT));
        ck_assert(!up_root_role_changed(v1, v2, UP_ROLE_ROOT));
        up_metadata_unref(v1);
        up_metadata_unref(v2);
}
END_TEST

static Suite *trusted_set_suite(void) {
        Suite *s = suite_create("trusted_set");
        TCase *tc = tcase_create("rules");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_top_level_in_order);
        tcase_add_test(tc, test_out_of_order_refused);
        tcase_add_test(tc, test_timestamp_equal_version);
        tcase_add_test(tc, test_snapshot_from_cache);
        tcase_add_test(tc, test_delegated_role_not_in_snapshot);
        tcase_add_test(tc, test_delegated_role_wrong_key);
        tcase_add_test(tc, test_expired_root);
        tcase_add_test(tc, test_root_role_changed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(trusted_set_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
