/* SPDX-License-Identifier: MIT */
/*
 * The Primary's full verification (uptane/full_verification.h) over two
 * in-memory repositories (testrepo.c): a Director and an Image repository.
 * Where it stops, what it asks for, and which repository each failure names.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrepo.h"
#include "testvehicle.h"
#include "uptane/error.h"
#include "uptane/full_verification.h"
#include "uptane/hash.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define VIN "VIN-TEST-0001"

static const char fw_a[] = TV_FW_A;
static const char fw_b[] = TV_FW_B;
static const char *const vehicle_ecus[] = { "ecu-a", "ecu-b" };

static TestRepo *director, *image;
static TestClient *dclient, *iclient;
static UpFullVerificationConfig cfg;
static UpFullVerification *res;
static UpFullVerificationError err;

/* --- Building the repositories (and tv_*: tests/common/testvehicle.h) ------ */

static void publish_both(void) {
        tv_publish(director);
        tv_publish(image);
}

static void sha256_hex(const char *data, char ret[65]) {
        uint8_t digest[32];

        ck_ok(up_hash_buffer(UP_HASH_SHA256, data, strlen(data), digest));
        up_hex_encode(digest, sizeof(digest), ret);
}

/* --- Fixture ------------------------------------------------------------------- */

static void setup(void) {
        tv_repos_new(&director, &image, VIN);
        ck_ok(testclient_new(director, TESTREPO_NOW, &dclient));
        ck_ok(testclient_new(image, TESTREPO_NOW, &iclient));
        cfg = (UpFullVerificationConfig) {
                .director = dclient->config,
                .image = iclient->config,
                .vin = VIN,
                .ecu_serials = vehicle_ecus,
                .n_ecu_serials = ELEMENTSOF(vehicle_ecus),
                .now = TESTREPO_NOW,
        };
        err = (UpFullVerificationError) {};
}

static void teardown(void) {
        res = up_full_verification_free(res);
        up_full_verification_error_done(&err);
        dclient = testclient_free(dclient);
        iclient = testclient_free(iclient);
        director = testrepo_free(director);
        image = testrepo_free(image);
}

/* --- Running ------------------------------------------------------------------- */

static void clear_requests(void) {
        testrepo_clear_requests(director);
        testrepo_clear_requests(image);
}

static int run(void) {
        res = up_full_verification_free(res);
        return up_full_verification_run(&cfg, &res, &err);
}

static void run_ok(UpFullVerificationState expected) {
        int r = run();

        ck_assert_msg(r == 0, "run: %s (%s: %s)", strerror(-r), up_repository_name(err.repository),
                      err.message ? err.message : "?");
        ck_assert_ptr_nonnull(res);
        ck_assert_str_eq(up_full_verification_state_name(res->state), up_full_verification_state_name(expected));
}

/* A run that fails with errno class e, naming repo (and target, if any). */
static void run_fails(int e, UpRepository repo, const char *target) {
        int r = run();

        ck_assert_msg(r == e, "run returned %d (%s), expected %d (%s); %s", r, strerror(-r), e, strerror(-e),
                      err.message ? err.message : "?");
        ck_assert_ptr_null(res);
        ck_assert_int_eq(err.error, e);
        ck_assert_str_eq(up_repository_name(err.repository), up_repository_name(repo));
        ck_assert_ptr_nonnull(err.message);
        if (target)
                ck_assert_str_eq(err.target, target);
        else
                ck_assert_ptr_null(err.target);
}

/* --- Updates, no change, up to date --------------------------------------------- */

START_TEST(test_updates) {
        tv_build_standard(director, image);
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        ck_assert_int_eq(res->director_snapshot_version, testrepo_version(director, "snapshot"));
        ck_assert_uint_eq(res->director->n_targets, 2);
        ck_assert_uint_eq(res->n_images, 2);
        for (size_t i = 0; i < res->n_images; i++) {
                ck_assert_str_eq(res->images[i]->path, res->director->targets[i].name);
                ck_assert_str_eq(res->images[i]->role, "targets");
                ck_assert_int_eq(res->images[i]->length, res->director->targets[i].length);
        }
        ck_assert_str_eq(res->images[0]->path, "fw-a.bin");
        ck_assert_int_eq(res->director->targets[0].release_counter, 3);
        ck_assert_str_eq(testrepo_requests_str(image), "root:2 timestamp:-1 snapshot:2 targets:2");
        ck_assert_uint_eq(testrepo_n_artifact_requests(image), 0);
}
END_TEST

START_TEST(test_no_change_stops_after_director_timestamp) {
        tv_build_standard(director, image);
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        cfg.verified_director_snapshot = res->director_snapshot_version;
        clear_requests();

        run_ok(UP_FULL_VERIFICATION_NO_CHANGE);
        ck_assert_str_eq(testrepo_requests_str(director), "root:2 timestamp:-1");
        ck_assert_uint_eq(testrepo_n_requests(image), 0);
        ck_assert_ptr_null(res->director);
        ck_assert_ptr_null(res->images);
        ck_assert_int_eq(res->director_snapshot_version, cfg.verified_director_snapshot);

        /* A new timestamp naming the same snapshot is no change either. */
        ck_ok(testrepo_publish(director, "timestamp"));
        clear_requests();
        run_ok(UP_FULL_VERIFICATION_NO_CHANGE);
        ck_assert_str_eq(testrepo_requests_str(director), "root:2 timestamp:-1");
        ck_assert_uint_eq(testrepo_n_requests(image), 0);

        /* Without a verified snapshot (say the last run failed after the
         * Director refresh) the same snapshot is verified in full. */
        cfg.verified_director_snapshot = 0;
        clear_requests();
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        ck_assert_str_eq(testrepo_requests_str(director), "root:2 timestamp:-1");
        ck_assert_uint_ne(testrepo_n_requests(image), 0);
}
END_TEST

START_TEST(test_new_director_snapshot_verified) {
        tv_build_standard(director, image);
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        cfg.verified_director_snapshot = res->director_snapshot_version;
        tv_director_assign(director, image, "fw-b.bin", "ecu-b", "hw-b");
        tv_publish(director);
        clear_requests();
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        ck_assert_str_eq(testrepo_requests_str(director), "root:2 timestamp:-1 snapshot:3 targets:3");
        ck_assert_int_eq(res->director_snapshot_version, 3);
}
END_TEST

START_TEST(test_up_to_date) {
        char hex_a[65], hex_b[65];
        UpInstalledImage installed[2] = {
                { "ecu-b", "fw-b.bin", hex_b },
                { "ecu-a", "fw-a.bin", hex_a },
        };

        tv_build_standard(director, image);
        sha256_hex(fw_a, hex_a);
        sha256_hex(fw_b, hex_b);
        for (char *p = hex_b; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char) (*p - 'a' + 'A');
        cfg.installed = installed;
        cfg.n_installed = ELEMENTSOF(installed);
        run_ok(UP_FULL_VERIFICATION_UP_TO_DATE);
        ck_assert_uint_eq(testrepo_n_requests(image), 0);
        ck_assert_ptr_nonnull(res->director);
        ck_assert_uint_eq(res->director->n_targets, 2);
        ck_assert_ptr_null(res->images);

        /* One ECU on something else: updates. */
        installed[0].sha256_hex = hex_a;
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        installed[0].sha256_hex = hex_b;
        installed[1].name = "fw-old.bin";
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        cfg.n_installed = 1;
        installed[0].sha256_hex = hex_b;
        run_ok(UP_FULL_VERIFICATION_UPDATES);
}
END_TEST

START_TEST(test_empty_director_targets_up_to_date) {
        publish_both();
        run_ok(UP_FULL_VERIFICATION_UP_TO_DATE);
        ck_assert_uint_eq(res->director->n_targets, 0);
        ck_assert_uint_eq(testrepo_n_requests(image), 0);
}
END_TEST

/* --- Failures: the class and the repository ---------------------------------------- */

START_TEST(test_director_rollback) {
        tv_build_standard(director, image);
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        ck_ok(testrepo_set_version(director, "timestamp", 1));
        ck_ok(testrepo_publish_no_bump(director, "timestamp"));
        clear_requests();
        run_fails(-UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_uint_eq(testrepo_n_requests(image), 0);
        ck_assert_int_eq(testclient_file_version(dclient, "timestamp"), 2);

        /* The next good timestamp is accepted. */
        ck_ok(testrepo_set_version(director, "timestamp", 2));
        ck_ok(testrepo_publish(director, "timestamp"));
        run_ok(UP_FULL_VERIFICATION_UPDATES);
}
END_TEST

START_TEST(test_image_freeze_then_recovery) {
        tv_build_standard(director, image);
        ck_ok(testrepo_set_expires(image, "timestamp", TESTREPO_NOW - TESTREPO_DAY));
        ck_ok(testrepo_publish(image, "timestamp"));
        run_fails(-UP_ERR_EXPIRED, UP_REPOSITORY_IMAGE, NULL);

        /* Nothing of the failed run is taken for verified: the Director
         * snapshot is unchanged, but the next run goes all the way. */
        ck_ok(testrepo_set_expires(image, "timestamp", TESTREPO_NOW + TESTREPO_DAY));
        ck_ok(testrepo_publish(image, "timestamp"));
        clear_requests();
        run_ok(UP_FULL_VERIFICATION_UPDATES);
        ck_assert_str_eq(testrepo_requests_str(director), "root:2 timestamp:-1");
        ck_assert_uint_eq(res->n_images, 2);
}
END_TEST

START_TEST(test_hash_mismatch_then_recovery) {
        tv_image_add(image, "fw-a.bin", fw_a, "hw-a", 3);
        tv_image_add(image, "fw-b.bin", fw_b, "hw-b", 1);
        tv_director_assign(director, image, "fw-a.bin", "ecu-a", "hw-a");
        tv_flip_sha256(tv_director_assign(director, image, "fw-b.bin", "ecu-b", "hw-b"));
        publish_both();
        run_fails(-UP_ERR_HASH, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-b.bin");

        tv_director_assign(director, image, "fw-b.bin", "ecu-b", "hw-b");
        tv_publish(director);
        run_ok(UP_FULL_VERIFICATION_UPDATES);
}
END_TEST

START_TEST(test_hardware_id) {
        tv_image_add(image, "fw-a.bin", fw_a, "hw-a", 3);
        tv_director_assign(director, image, "fw-a.bin", "ecu-a", "hw-b");
        publish_both();
        run_fails(-UP_ERR_HARDWARE, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-a.bin");
}
END_TEST

START_TEST(test_release_counter_rollback) {
        const UpEcuCounter previous[] = { { "ecu-b", 1 }, { "ecu-a", 4 } };

        tv_build_standard(director, image);
        cfg.previous = previous;
        cfg.n_previous = ELEMENTSOF(previous);
        run_fails(-UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-a.bin");
        cfg.n_previous = 1;
        run_ok(UP_FULL_VERIFICATION_UPDATES);
}
END_TEST

START_TEST(test_wrong_vin) {
        tv_image_add(image, "fw-a.bin", fw_a, "hw-a", 3);
        tv_director_assign(director, image, "fw-a.bin", "ecu-a", "hw-a");
        tv_set_vin(director, "VIN-TEST-0002");
        publish_both();
        run_fails(-UP_ERR_MIX_AND_MATCH, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_uint_eq(testrepo_n_requests(image), 0);
}
END_TEST

START_TEST(test_unknown_ecu) {
        tv_image_add(image, "fw-a.bin", fw_a, "hw-a", 3);
        tv_director_assign(director, image, "fw-a.bin", "ecu-stranger", "hw-a");
        publish_both();
        run_fails(-UP_ERR_UNKNOWN_ECU, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_uint_eq(testrepo_n_requests(image), 0);
}
END_TEST

START_TEST(test_image_does_not_list) {
        struct json_object *targets;

        tv_build_standard(director, image);
        tv_image_add(image, "fw-c.bin", "not for the image repo", "hw-a", 1);
        tv_director_assign(director, image, "fw-c.bin", "ecu-a", "hw-a");
        ck_assert(json_object_object_get_ex(testrepo_signed(image, "targets"), "targets", &targets));
        json_object_object_del(targets, "fw-c.bin");
        json_object_object_del(json_object_object_get(testrepo_signed(director, "targets"), "targets"), "fw-a.bin");
        publish_both();
        run_fails(-UP_ERR_NOT_FOUND, UP_REPOSITORY_IMAGE, "fw-c.bin");
}
END_TEST

START_TEST(test_bad_config) {
        cfg.vin = NULL;
        ck_assert_int_eq(run(), -EINVAL);
        ck_assert_int_eq(err.error, -EINVAL);
        ck_assert_ptr_null(res);
        ck_assert_int_eq(testrepo_n_requests(director), 0);
        /* No error object wanted: still fine. */
        ck_assert_int_eq(up_full_verification_run(&cfg, &res, NULL), -EINVAL);
}
END_TEST

START_TEST(test_names) {
        ck_assert_str_eq(up_repository_name(UP_REPOSITORY_DIRECTOR), "director");
        ck_assert_str_eq(up_repository_name(UP_REPOSITORY_IMAGE), "image");
        ck_assert_str_eq(up_repository_name(UP_REPOSITORY_DIRECTOR_VS_IMAGE), "director-vs-image");
        ck_assert_ptr_null(up_repository_name(_UP_REPOSITORY_MAX));
        ck_assert_str_eq(up_full_verification_state_name(UP_FULL_VERIFICATION_NO_CHANGE), "no-change");
        ck_assert_ptr_null(up_full_verification_state_name(_UP_FULL_VERIFICATION_STATE_MAX));
}
END_TEST

/* --- Suite ---------------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, setup, teardown);
        suite_add_tcase(s, tc);
        return tc;
}

static Suite *full_verification_suite(void) {
        Suite *s = suite_create("full_verification");
        TCase *tc;

        tc = tcase(s, "states");
        tcase_add_test(tc, test_updates);
        tcase_add_test(tc, test_no_change_stops_after_director_timestamp);
        tcase_add_test(tc, test_new_director_snapshot_verified);
        tcase_add_test(tc, test_up_to_date);
        tcase_add_test(tc, test_empty_director_targets_up_to_date);

        tc = tcase(s, "failures");
        tcase_add_test(tc, test_director_rollback);
        tcase_add_test(tc, test_image_freeze_then_recovery);
        tcase_add_test(tc, test_hash_mismatch_then_recovery);
        tcase_add_test(tc, test_hardware_id);
        tcase_add_test(tc, test_release_counter_rollback);
        tcase_add_test(tc, test_wrong_vin);
        tcase_add_test(tc, test_unknown_ecu);
        tcase_add_test(tc, test_image_does_not_list);
        tcase_add_test(tc, test_bad_config);
        tcase_add_test(tc, test_names);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(full_verification_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
