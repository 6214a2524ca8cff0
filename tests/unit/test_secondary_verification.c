/* SPDX-License-Identifier: MIT */
/*
 * What a Secondary verifies (uptane/secondary.h): two in-memory repositories
 * (testrepo.c), a Director and an Image repository, whose published files a
 * "Primary" copies into the Secondary's received directories, honestly or
 * not. Every attack a compromised Primary (or a man in the middle on the
 * vehicle bus) can try must be refused with its errno class, and nothing
 * refused may end up in the Secondary's trusted metadata.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testrepo.h"
#include "testvehicle.h"
#include "uptane/error.h"
#include "uptane/secondary.h"
#include "uptane/storage.h"

#define VIN "VIN-TEST-0001"

static const char fw_a[] = TV_FW_A;

static TestRepo *director, *image;
static char *work, *dir_trusted, *dir_received, *img_trusted, *img_received;
static UpSecondaryConfig cfg;
static UpSecondaryVerification *res;
static UpFullVerificationError err;

/* --- Building the repositories (and tv_*: tests/common/testvehicle.h) ------ */

static void director_unassign(const char *name) {
        json_object_object_del(json_object_object_get(testrepo_signed(director, "targets"), "targets"), name);
}

/* Signs the Director's targets with a fresh key, labelled with the real
 * targets key's id: what a compromised Primary can do. Returns the real key
 * (a reference) to put back. */
static UpKey *forge_director_targets(void) {
        UpKey *real = up_key_ref(testrepo_signer(director, "targets", 0)), *forged = NULL;
        char keyid[65];

        ck_ok(up_key_keyid(real, keyid));
        ck_ok(up_key_generate(UP_SCHEME_ED25519, &forged));
        testrepo_clear_signers(director, "targets");
        ck_ok(testrepo_add_signer(director, "targets", forged, keyid));
        up_key_unref(forged);
        return real;
}

static void unforge_director_targets(UpKey *real) {
        testrepo_clear_signers(director, "targets");
        ck_ok(testrepo_add_signer(director, "targets", real, NULL));
        up_key_unref(real);
}

/* --- The Primary: what it copies into the received directories --------------- */

static void clear_dir(const char *dir) {
        ck_ok(testrepo_rm_rf(dir));
        ck_ok(testrepo_mkdir_p(dir));
}

static void send_bytes(const char *dir, const char *name, const uint8_t *data, size_t len) {
        ck_ok(testrepo_write_file(dir, name, data, len));
}

/* role at version (-1: the newest) as name. */
static void send_role(TestRepo *r, const char *dir, const char *role, int64_t version, const char *name) {
        const uint8_t *data;
        size_t len;

        ck_ok(testrepo_published(r, role, version, &data, &len));
        send_bytes(dir, name, data, len);
}

/* Every root after version 1 as N.root.json, and the newest as root.json. */
static void send_roots(TestRepo *r, const char *dir) {
        const uint8_t *data;
        size_t len;

        for (int64_t v = 2; testrepo_published(r, "root", v, &data, &len) >= 0; v++) {
                char name[32];

                snprintf(name, sizeof(name), "%lld.root.json", (long long) v);
                send_bytes(dir, name, data, len);
        }
        send_role(r, dir, "root", -1, "root.json");
}

/* What the Primary sends a partial-verification Secondary: Director root
 * (and rotations) and targets. */
static void send_partial(void) {
        clear_dir(dir_received);
        send_roots(director, dir_received);
        send_role(director, dir_received, "targets", -1, "targets.json");
}

/* The four roles of a repository, newest, under unversioned names. */
static void send_repo(TestRepo *r, const char *dir) {
        clear_dir(dir);
        send_roots(r, dir);
        send_role(r, dir, "timestamp", -1, "timestamp.json");
        send_role(r, dir, "snapshot", -1, "snapshot.json");
        send_role(r, dir, "targets", -1, "targets.json");
}

static void send_full(void) {
        send_repo(director, dir_received);
        send_repo(image, img_received);
}

/* --- The Secondary's trusted files ------------------------------------------- */

static int64_t trusted_version(const char *dir, const char *name, UpRoleType type) {
        uint8_t *data = NULL;
        UpMetadata *m = NULL;
        size_t len;
        int64_t v;
        int r;

        r = up_read_file_at(dir, name, 64u * 1024u * 1024u, &data, &len);
        if (r < 0)
                return r;
        r = up_metadata_parse(data, len, type, &m);
        free(data);
        if (r < 0)
                return r;
        v = up_metadata_version(m);
        up_metadata_unref(m);
        return v;
}

static int64_t stored_targets(void) {
        return trusted_version(dir_trusted, "targets.json", UP_ROLE_TARGETS);
}

static int64_t stored_root(void) {
        return trusted_version(dir_trusted, "root.json", UP_ROLE_ROOT);
}

static bool file_exists(const char *dir, const char *name) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return stat(path, &st) == 0;
}

/* --- Fixture ------------------------------------------------------------------ */

static char *path_join(const char *a, const char *b) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", a, b), 0);
        return p;
}

static void setup(void) {
        const char *tmp = getenv("TMPDIR");
        char *template = NULL;

        tv_repos_new(&director, &image, VIN);
        ck_assert_int_ge(asprintf(&template, "%s/test_secondary-XXXXXX", tmp && *tmp ? tmp : "/tmp"), 0);
        ck_assert_ptr_nonnull(mkdtemp(template));
        work = template;
        dir_trusted = path_join(work, "trusted/director");
        dir_received = path_join(work, "received/director");
        img_trusted = path_join(work, "trusted/image");
        img_received = path_join(work, "received/image");
        ck_ok(testrepo_mkdir_p(dir_trusted));
        ck_ok(testrepo_mkdir_p(img_trusted));
        ck_ok(testrepo_mkdir_p(dir_received));
        ck_ok(testrepo_mkdir_p(img_received));
        /* Provisioned: version 1 of each repository's root. */
        ck_ok(testrepo_write_root(director, dir_trusted, 1));
        ck_ok(testrepo_write_root(image, img_trusted, 1));
        cfg = (UpSecondaryConfig) {
                .director = { dir_trusted, dir_received },
                .image = { img_trusted, img_received },
                .ecu_serial = "ecu-a",
                .hardware_id = "hw-a",
                .vin = VIN,
                .previous_release_counter = -1,
                .now = TESTREPO_NOW,
        };
        err = (UpFullVerificationError) {};
}

static void teardown(void) {
        res = up_secondary_verification_free(res);
        up_full_verification_error_done(&err);
        ck_ok(testrepo_rm_rf(work));
        free(work);
        free(dir_trusted);
        free(dir_received);
        free(img_trusted);
        free(img_received);
        director = testrepo_free(director);
        image = testrepo_free(image);
}

/* --- Running ------------------------------------------------------------------- */

static int run_partial(void) {
        res = up_secondary_verification_free(res);
        return up_secondary_partial_verification(&cfg, &res, &err);
}

static int run_full(void) {
        res = up_secondary_verification_free(res);
        return up_secondary_full_verification(&cfg, &res, &err);
}

static void ok(int r) {
        ck_assert_msg(r == 0, "verification: %s (%s: %s)", strerror(-r), up_repository_name(err.repository),
                      err.message ? err.message : "?");
        ck_assert_ptr_nonnull(res);
}

/* Failed with errno class e, naming repo (and target, if any). */
static void fails(int r, int e, UpRepository repo, const char *target) {
        ck_assert_msg(r == e, "returned %d (%s), expected %d (%s); %s", r, strerror(-r), e, strerror(-e),
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

static void image_file_ok(const char *data) {
        char *path = path_join(work, "image.bin");

        ck_ok(testrepo_write_file(work, "image.bin", data, strlen(data)));
        ck_assert_int_eq(up_image_verify_file(res->target, cfg.ecu_serial, cfg.hardware_id, path), 0);
        free(path);
}

/* --- The directory fetcher ------------------------------------------------------- */

static int dir_fetch(const char *dir, const char *name, size_t max_len, char **ret) {
        UpFetcher f = up_dir_fetcher(dir);
        uint8_t *data = NULL;
        char url[4096];
        size_t len;
        int r;

        snprintf(url, sizeof(url), "%s%s%s", dir, *dir && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
        r = f.fetch(f.userdata, url, max_len, &data, &len);
        if (r < 0)
                return r;
        *ret = strndup((const char *) data, len);
        free(data);
        return (int) len;
}

START_TEST(test_dir_fetcher) {
        char *got = NULL, *slash = NULL, *link = NULL;
        UpFetcher f = up_dir_fetcher(dir_received);
        uint8_t *data = (uint8_t *) "x";
        size_t len = 1;

        send_bytes(dir_received, "timestamp.json", (const uint8_t *) "0123456789", 10);
        send_bytes(dir_received, "snapshot.json", (const uint8_t *) "snap", 4);
        send_bytes(dir_received, "7.targets.json", (const uint8_t *) "seven", 5);
        send_bytes(dir_received, "targets.json", (const uint8_t *) "plain", 5);
        send_bytes(dir_received, "root.json", (const uint8_t *) "root", 4);

        ck_assert_int_eq(dir_fetch(dir_received, "timestamp.json", 10, &got), 10);
        ck_assert_str_eq(got, "0123456789");
        free(got);
        /* Endless data: stopped at max_len. */
        ck_assert_int_eq(dir_fetch(dir_received, "timestamp.json", 9, &got), -EFBIG);
        ck_assert_int_eq(dir_fetch(dir_received, "absent.json", 100, &got), -ENOENT);
        /* VERSION.NAME falls back to NAME, the exact file first. */
        ck_assert_int_eq(dir_fetch(dir_received, "3.snapshot.json", 100, &got), 4);
        ck_assert_str_eq(got, "snap");
        free(got);
        ck_assert_int_eq(dir_fetch(dir_received, "7.targets.json", 100, &got), 5);
        ck_assert_str_eq(got, "seven");
        free(got);
        ck_assert_int_eq(dir_fetch(dir_received, "8.targets.json", 100, &got), 5);
        ck_assert_str_eq(got, "plain");
        free(got);
        /* Never for root: N.root.json is a rotation. */
        ck_assert_int_eq(dir_fetch(dir_received, "2.root.json", 100, &got), -ENOENT);
        /* Nothing outside the directory. */
        ck_assert_int_eq(dir_fetch(dir_received, "..", 100, &got), -EINVAL);
        ck_assert_int_eq(dir_fetch(dir_received, "../director/root.json", 100, &got), -EINVAL);
        ck_assert_int_eq(dir_fetch(dir_received, "", 100, &got), -EINVAL);
        ck_assert_int_eq(f.fetch(f.userdata, "/etc/passwd", 100, &data, &len), -EINVAL);
        ck_assert_int_eq(f.fetch(f.userdata, "http://repo.test/metadata/root.json", 100, &data, &len), -EINVAL);
        ck_assert(data && *data == 'x' && len == 1); /* untouched on failure */
        /* A symlink or a directory is not a file the Primary sent. */
        link = path_join(dir_received, "link.json");
        ck_assert_int_eq(symlink("/etc/hostname", link), 0);
        ck_assert_int_eq(dir_fetch(dir_received, "link.json", 100, &got), -EBADF);
        ck_ok(testrepo_mkdir_p(dir_received));
        ck_ok(testrepo_write_file(dir_received, "sub.json/x", "x", 1));
        ck_assert_int_eq(dir_fetch(dir_received, "sub.json", 100, &got), -EBADF);
        /* A base with a trailing slash. */
        slash = path_join(dir_received, "");
        ck_assert_int_eq(dir_fetch(slash, "root.json", 100, &got), 4);
        free(got);
        free(slash);
        free(link);
}
END_TEST

/* --- Partial verification ---------------------------------------------------------- */

START_TEST(test_partial_ok) {
        tv_build_standard(director, image);
        send_partial();
        ok(run_partial());
        ck_assert_ptr_nonnull(res->target);
        ck_assert_str_eq(res->target->name, "fw-a.bin");
        ck_assert_uint_eq(res->target->n_ecus, 1); /* the other ECUs' entries are not returned */
        ck_assert_int_eq(res->release_counter, 3);
        ck_assert_int_eq(res->director_root_version, 1);
        ck_assert_int_eq(res->director_targets_version, testrepo_version(director, "targets"));
        ck_assert_int_eq(res->image_root_version, 0);
        ck_assert_int_eq(stored_targets(), testrepo_version(director, "targets"));
        image_file_ok(fw_a);
        ck_assert_int_eq(up_image_verify_file(res->target, "ecu-a", "hw-a", "/dev/null"), -UP_ERR_HASH);

        /* The same files again (the Primary retries): accepted. */
        ok(run_partial());
        ck_assert_str_eq(res->target->name, "fw-a.bin");
        /* And without an error object. */
        res = up_secondary_verification_free(res);
        ck_assert_int_eq(up_secondary_partial_verification(&cfg, &res, NULL), 0);
}
END_TEST

START_TEST(test_partial_nothing_for_this_ecu) {
        tv_build_standard(director, image);
        send_partial();
        cfg.ecu_serial = "ecu-c";
        ok(run_partial());
        ck_assert_ptr_null(res->target);
        ck_assert_int_eq(res->release_counter, -1);
        ck_assert_int_eq(stored_targets(), testrepo_version(director, "targets"));
}
END_TEST

START_TEST(test_partial_forged_targets) {
        UpKey *real;

        tv_build_standard(director, image);
        real = forge_director_targets();
        director_unassign("fw-a.bin");
        tv_director_assign(director, image, "fw-b.bin", "ecu-a", "hw-a");
        tv_publish(director);
        send_partial();
        fails(run_partial(), -UP_ERR_SIGNATURE, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_ptr_nonnull(strstr(err.message, "targets"));
        ck_assert(!file_exists(dir_trusted, "targets.json"));

        unforge_director_targets(real);
        tv_publish(director);
        send_partial();
        ok(run_partial());
}
END_TEST

START_TEST(test_partial_replayed_targets) {
        int64_t old;

        tv_build_standard(director, image);
        send_partial();
        ok(run_partial());
        old = testrepo_version(director, "targets");
        tv_director_assign(director, image, "fw-b.bin", "ecu-b", "hw-b"); /* unchanged content, new version */
        tv_publish(director);
        send_partial();
        ok(run_partial());
        ck_assert_int_eq(stored_targets(), old + 1);

        clear_dir(dir_received);
        send_role(director, dir_received, "targets", old, "targets.json");
        fails(run_partial(), -UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_int_eq(stored_targets(), old + 1);
}
END_TEST

START_TEST(test_partial_expired_targets) {
        tv_build_standard(director, image);
        ck_ok(testrepo_set_expires(director, "targets", TESTREPO_NOW - TESTREPO_DAY));
        tv_publish(director);
        send_partial();
        fails(run_partial(), -UP_ERR_EXPIRED, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert(!file_exists(dir_trusted, "targets.json"));

        /* Time is the caller's: the day before, it was fine. */
        cfg.now = TESTREPO_NOW - 2 * TESTREPO_DAY;
        ok(run_partial());
}
END_TEST

START_TEST(test_partial_expired_root) {
        tv_build_standard(director, image);
        send_partial();
        cfg.now = TESTREPO_NOW + (TESTREPO_EXPIRES_DAYS + 1) * TESTREPO_DAY;
        fails(run_partial(), -UP_ERR_EXPIRED, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_ptr_nonnull(strstr(err.message, "root"));
}
END_TEST

START_TEST(test_partial_wrong_hardware) {
        tv_build_standard(director, image);
        send_partial();
        cfg.hardware_id = "hw-b";
        fails(run_partial(), -UP_ERR_HARDWARE, UP_REPOSITORY_DIRECTOR, "fw-a.bin");
        ck_assert(!file_exists(dir_trusted, "targets.json"));
}
END_TEST

START_TEST(test_partial_release_counter_rollback) {
        tv_build_standard(director, image);
        send_partial();
        cfg.previous_release_counter = 4;
        fails(run_partial(), -UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR, "fw-a.bin");
        ck_assert(!file_exists(dir_trusted, "targets.json"));
        cfg.previous_release_counter = 3;
        ok(run_partial());
}
END_TEST

START_TEST(test_partial_vin) {
        tv_build_standard(director, image);
        tv_set_vin(director, "VIN-TEST-0002");
        tv_publish(director);
        send_partial();
        fails(run_partial(), -UP_ERR_MIX_AND_MATCH, UP_REPOSITORY_DIRECTOR, NULL);
        /* An ECU without a VIN takes any ... */
        cfg.vin = NULL;
        ok(run_partial());
        /* ... but not none. */
        json_object_object_del(testrepo_signed(director, "targets"), "custom");
        tv_publish(director);
        send_partial();
        fails(run_partial(), -UP_ERR_MIX_AND_MATCH, UP_REPOSITORY_DIRECTOR, NULL);
}
END_TEST

START_TEST(test_partial_delegations) {
        tv_build_standard(director, image);
        ck_ok(testrepo_add_delegation(director, "targets", "other", false, 1, "*", NULL));
        tv_publish(director);
        send_partial();
        fails(run_partial(), -UP_ERR_MALFORMED, UP_REPOSITORY_DIRECTOR, NULL);
}
END_TEST

START_TEST(test_partial_root_rotation) {
        tv_build_standard(director, image);
        send_partial();
        ok(run_partial());

        /* The Director rotates its targets key, twice. */
        ck_ok(testrepo_rotate_keys(director, "targets"));
        ck_ok(testrepo_publish(director, "root"));
        ck_ok(testrepo_rotate_keys(director, "targets"));
        ck_ok(testrepo_publish(director, "root"));
        tv_publish(director);

        /* Without the rotations, the new key means nothing. */
        clear_dir(dir_received);
        send_role(director, dir_received, "targets", -1, "targets.json");
        fails(run_partial(), -UP_ERR_SIGNATURE, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_int_eq(stored_root(), 1);

        send_partial();
        ok(run_partial());
        ck_assert_int_eq(res->director_root_version, 3);
        ck_assert_int_eq(stored_root(), 3);
        ck_assert_int_eq(stored_targets(), testrepo_version(director, "targets"));
        ck_assert_str_eq(res->target->name, "fw-a.bin");

        /* Stored: the next run needs no rotation. */
        clear_dir(dir_received);
        send_role(director, dir_received, "targets", -1, "targets.json");
        ok(run_partial());
        ck_assert_int_eq(res->director_root_version, 3);
}
END_TEST

START_TEST(test_partial_root_rotation_refused) {
        tv_build_standard(director, image);

        /* Signed by the new root key only: the trusted root's key did not
         * agree. */
        ck_ok(testrepo_rotate_keys(director, "root"));
        ck_ok(testrepo_publish(director, "root"));
        send_partial();
        fails(run_partial(), -UP_ERR_SIGNATURE, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_ptr_nonnull(strstr(err.message, "root v2"));
        ck_assert_int_eq(stored_root(), 1);
        ck_assert(!file_exists(dir_trusted, "targets.json"));
}
END_TEST

START_TEST(test_partial_root_version_skipped) {
        tv_build_standard(director, image);
        ck_ok(testrepo_publish(director, "root"));
        ck_ok(testrepo_publish(director, "root"));
        clear_dir(dir_received);
        send_role(director, dir_received, "root", 3, "2.root.json");
        send_role(director, dir_received, "targets", -1, "targets.json");
        fails(run_partial(), -UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_int_eq(stored_root(), 1);
}
END_TEST

/* A compromised targets key signed a huge version: rotating the key is the
 * way back. */
START_TEST(test_partial_fast_forward_recovery) {
        tv_build_standard(director, image);
        ck_ok(testrepo_set_version(director, "targets", 1000));
        tv_publish(director);
        send_partial();
        ok(run_partial());
        ck_assert_int_eq(stored_targets(), 1001);

        ck_ok(testrepo_set_version(director, "targets", 4));
        tv_publish(director);
        send_partial();
        fails(run_partial(), -UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR, NULL);

        ck_ok(testrepo_rotate_keys(director, "targets"));
        ck_ok(testrepo_publish(director, "root"));
        tv_publish(director);
        send_partial();
        ok(run_partial());
        ck_assert_int_eq(stored_targets(), 6);
}
END_TEST

START_TEST(test_partial_oversize) {
        const uint8_t *data;
        uint8_t *big;
        size_t len;

        tv_build_standard(director, image);
        ck_ok(testrepo_publish(director, "root"));
        send_partial();

        /* A root rotation that does not end. */
        big = calloc(1, UP_SECONDARY_ROOT_MAX + 1);
        ck_assert_ptr_nonnull(big);
        ck_ok(testrepo_published(director, "root", 2, &data, &len));
        memcpy(big, data, len);
        memset(big + len, ' ', UP_SECONDARY_ROOT_MAX + 1 - len);
        send_bytes(dir_received, "2.root.json", big, UP_SECONDARY_ROOT_MAX + 1);
        free(big);
        fails(run_partial(), -UP_ERR_TOO_BIG, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_ptr_nonnull(strstr(err.message, "received/director/2.root.json"));
        ck_assert_int_eq(stored_root(), 1);

        /* Targets over the limit. The rotation is kept: it was verified. */
        send_partial();
        cfg.director_targets_max_length = 64;
        fails(run_partial(), -UP_ERR_TOO_BIG, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_ptr_nonnull(strstr(err.message, "received/director/targets.json"));
        ck_assert(!file_exists(dir_trusted, "targets.json"));
        ck_assert_int_eq(stored_root(), 2);
        cfg.director_targets_max_length = 0;
        ok(run_partial());
}
END_TEST

START_TEST(test_partial_missing) {
        char *root;

        tv_build_standard(director, image);
        clear_dir(dir_received);
        fails(run_partial(), -UP_ERR_NOT_FOUND, UP_REPOSITORY_DIRECTOR, NULL);
        /* No root at all on the Secondary. */
        send_partial();
        root = path_join(dir_trusted, "root.json");
        ck_assert_int_eq(unlink(root), 0);
        free(root);
        fails(run_partial(), -UP_ERR_NOT_FOUND, UP_REPOSITORY_DIRECTOR, NULL);
}
END_TEST

START_TEST(test_partial_bad_files) {
        tv_build_standard(director, image);
        /* Not a targets file. */
        clear_dir(dir_received);
        send_role(director, dir_received, "snapshot", -1, "targets.json");
        fails(run_partial(), -UP_ERR_WRONG_TYPE, UP_REPOSITORY_DIRECTOR, NULL);
        send_bytes(dir_received, "targets.json", (const uint8_t *) "{\"signed\": 1", 13);
        fails(run_partial(), -UP_ERR_MALFORMED, UP_REPOSITORY_DIRECTOR, NULL);

        /* A stored targets that cannot be parsed is no baseline to drop. */
        send_partial();
        send_bytes(dir_trusted, "targets.json", (const uint8_t *) "garbage", 7);
        fails(run_partial(), -UP_ERR_MALFORMED, UP_REPOSITORY_DIRECTOR, NULL);
}
END_TEST

START_TEST(test_partial_bad_config) {
        cfg.hardware_id = NULL;
        fails(run_partial(), -EINVAL, UP_REPOSITORY_NONE, NULL);
        cfg.hardware_id = "hw-a";
        cfg.director.received_dir = NULL;
        fails(run_partial(), -EINVAL, UP_REPOSITORY_NONE, NULL);
        ck_assert_int_eq(up_secondary_partial_verification(NULL, &res, NULL), -EINVAL);
        cfg.director.received_dir = dir_received;
        ck_assert_int_eq(up_secondary_partial_verification(&cfg, NULL, &err), -EINVAL);
        /* Full verification needs the Image repository's directories. */
        cfg.image.metadata_dir = NULL;
        fails(run_full(), -EINVAL, UP_REPOSITORY_NONE, NULL);
}
END_TEST

/* --- Full verification -------------------------------------------------------------- */

START_TEST(test_full_ok) {
        tv_build_standard(director, image);
        send_full();
        ok(run_full());
        ck_assert_ptr_nonnull(res->target);
        ck_assert_str_eq(res->target->name, "fw-a.bin");
        ck_assert_int_eq(res->release_counter, 3);
        ck_assert_int_eq(res->director_root_version, 1);
        ck_assert_int_eq(res->director_targets_version, testrepo_version(director, "targets"));
        ck_assert_int_eq(res->image_root_version, 1);
        ck_assert_int_eq(res->image_targets_version, testrepo_version(image, "targets"));
        /* The updater stored what it trusted, in the trusted directories. */
        ck_assert_int_eq(trusted_version(dir_trusted, "snapshot.json", UP_ROLE_SNAPSHOT),
                         testrepo_version(director, "snapshot"));
        ck_assert_int_eq(trusted_version(img_trusted, "targets.json", UP_ROLE_TARGETS),
                         testrepo_version(image, "targets"));
        image_file_ok(fw_a);

        /* Again, unchanged: verified again from what is stored. */
        ok(run_full());
        ck_assert_str_eq(res->target->name, "fw-a.bin");
}
END_TEST

START_TEST(test_full_other_ecus_ignored) {
        tv_build_standard(director, image);
        /* Wrong for ecu-b, unknown to the Image repository for ecu-c, for
         * hardware ecu-a does not have: the Primary's business. */
        tv_flip_sha256(tv_director_assign(director, image, "fw-b.bin", "ecu-b", "hw-b"));
        tv_image_add(image, "fw-c.bin", "c", "hw-c", 1);
        tv_director_assign(director, image, "fw-c.bin", "ecu-c", "hw-c");
        tv_publish(director);
        send_full();
        ok(run_full());
        ck_assert_str_eq(res->target->name, "fw-a.bin");

        /* Nothing for this ECU: the Image repository is not even read. */
        cfg.ecu_serial = "ecu-d";
        clear_dir(img_received);
        ok(run_full());
        ck_assert_ptr_null(res->target);
        ck_assert_int_eq(res->release_counter, -1);
        ck_assert_int_eq(res->image_root_version, 0);
}
END_TEST

START_TEST(test_full_forged_director_targets) {
        UpKey *real;

        tv_build_standard(director, image);
        send_full();
        ok(run_full());
        real = forge_director_targets();
        director_unassign("fw-a.bin");
        tv_director_assign(director, image, "fw-b.bin", "ecu-a", "hw-a");
        tv_publish(director);
        send_full();
        fails(run_full(), -UP_ERR_SIGNATURE, UP_REPOSITORY_DIRECTOR, NULL);
        unforge_director_targets(real);
}
END_TEST

START_TEST(test_full_replayed_metadata) {
        int64_t ts, snap, targets;

        tv_build_standard(director, image);
        ts = testrepo_version(director, "timestamp");
        snap = testrepo_version(director, "snapshot");
        targets = testrepo_version(director, "targets");
        send_full();
        ok(run_full());
        tv_director_assign(director, image, "fw-b.bin", "ecu-b", "hw-b");
        tv_publish(director);
        send_full();
        ok(run_full());

        /* The Primary replays the previous Director metadata. */
        clear_dir(dir_received);
        send_role(director, dir_received, "timestamp", ts, "timestamp.json");
        send_role(director, dir_received, "snapshot", snap, "snapshot.json");
        send_role(director, dir_received, "targets", targets, "targets.json");
        fails(run_full(), -UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR, NULL);
}
END_TEST

START_TEST(test_full_expired) {
        tv_build_standard(director, image);
        ck_ok(testrepo_set_expires(director, "targets", TESTREPO_NOW - TESTREPO_DAY));
        tv_publish(director);
        send_full();
        fails(run_full(), -UP_ERR_EXPIRED, UP_REPOSITORY_DIRECTOR, NULL);

        ck_ok(testrepo_set_expires(director, "targets", TESTREPO_NOW + TESTREPO_DAY));
        tv_publish(director);
        ck_ok(testrepo_set_expires(image, "timestamp", TESTREPO_NOW - TESTREPO_DAY));
        ck_ok(testrepo_publish(image, "timestamp"));
        send_full();
        fails(run_full(), -UP_ERR_EXPIRED, UP_REPOSITORY_IMAGE, NULL);
}
END_TEST

START_TEST(test_full_wrong_hardware) {
        tv_build_standard(director, image);
        send_full();
        cfg.hardware_id = "hw-b";
        fails(run_full(), -UP_ERR_HARDWARE, UP_REPOSITORY_DIRECTOR, "fw-a.bin");

        /* The Director names this ECU's hardware, the image is for another. */
        cfg.hardware_id = "hw-a";
        director_unassign("fw-a.bin");
        director_unassign("fw-b.bin");
        tv_director_assign(director, image, "fw-b.bin", "ecu-a", "hw-a");
        tv_publish(director);
        send_full();
        fails(run_full(), -UP_ERR_HARDWARE, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-b.bin");
}
END_TEST

START_TEST(test_full_release_counter) {
        tv_build_standard(director, image);
        send_full();
        cfg.previous_release_counter = 4;
        fails(run_full(), -UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-a.bin");
        cfg.previous_release_counter = 3;
        ok(run_full());

        /* The Director gives none: the Image repository's counts. */
        json_object_object_del(json_object_object_get(tv_entry_of(director, "fw-a.bin"), "custom"), "releaseCounter");
        tv_publish(director);
        send_full();
        ok(run_full());
        ck_assert_int_eq(res->target->release_counter, -1);
        ck_assert_int_eq(res->release_counter, 3);
        cfg.previous_release_counter = 4;
        fails(run_full(), -UP_ERR_ROLLBACK, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-a.bin");

        /* A counter the Image repository does not sign. */
        cfg.previous_release_counter = -1;
        tv_set_member(tv_obj_child(tv_entry_of(director, "fw-a.bin"), "custom"), "releaseCounter", json_object_new_int64(9));
        tv_publish(director);
        send_full();
        fails(run_full(), -UP_ERR_MIX_AND_MATCH, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-a.bin");
}
END_TEST

START_TEST(test_full_image_does_not_list) {
        struct json_object *targets;

        tv_build_standard(director, image);
        tv_image_add(image, "fw-c.bin", "not in the image repository", "hw-a", 4);
        director_unassign("fw-a.bin");
        tv_director_assign(director, image, "fw-c.bin", "ecu-a", "hw-a");
        ck_assert(json_object_object_get_ex(testrepo_signed(image, "targets"), "targets", &targets));
        json_object_object_del(targets, "fw-c.bin");
        tv_publish(director);
        tv_publish(image);
        send_full();
        fails(run_full(), -UP_ERR_NOT_FOUND, UP_REPOSITORY_IMAGE, "fw-c.bin");
}
END_TEST

START_TEST(test_full_hash_mismatch) {
        tv_build_standard(director, image);
        tv_flip_sha256(tv_director_assign(director, image, "fw-a.bin", "ecu-a", "hw-a"));
        tv_publish(director);
        send_full();
        fails(run_full(), -UP_ERR_HASH, UP_REPOSITORY_DIRECTOR_VS_IMAGE, "fw-a.bin");
}
END_TEST

START_TEST(test_full_root_rotation) {
        tv_build_standard(director, image);
        send_full();
        ok(run_full());
        ck_ok(testrepo_rotate_keys(director, "targets"));
        ck_ok(testrepo_publish(director, "root"));
        ck_ok(testrepo_rotate_keys(image, "snapshot"));
        ck_ok(testrepo_publish(image, "root"));
        tv_publish(director);
        tv_publish(image);
        send_full();
        ok(run_full());
        ck_assert_int_eq(res->director_root_version, 2);
        ck_assert_int_eq(res->image_root_version, 2);
        ck_assert_int_eq(stored_root(), 2);

        /* A rotation not signed by the trusted root's keys. */
        ck_ok(testrepo_rotate_keys(director, "root"));
        ck_ok(testrepo_publish(director, "root"));
        send_full();
        fails(run_full(), -UP_ERR_SIGNATURE, UP_REPOSITORY_DIRECTOR, NULL);
        ck_assert_int_eq(stored_root(), 2);
}
END_TEST

START_TEST(test_full_oversize_and_missing) {
        tv_build_standard(director, image);
        send_full();
        cfg.timestamp_max_length = 64;
        fails(run_full(), -UP_ERR_TOO_BIG, UP_REPOSITORY_DIRECTOR, NULL);
        cfg.timestamp_max_length = 0;
        cfg.image_targets_max_length = 64;
        /* The snapshot gives no length: the limit applies. */
        fails(run_full(), -UP_ERR_TOO_BIG, UP_REPOSITORY_IMAGE, NULL);
        cfg.image_targets_max_length = 0;

        clear_dir(img_received);
        fails(run_full(), -UP_ERR_NOT_FOUND, UP_REPOSITORY_IMAGE, NULL);
        clear_dir(dir_received);
        fails(run_full(), -UP_ERR_NOT_FOUND, UP_REPOSITORY_DIRECTOR, NULL);
}
END_TEST

/* --- Suite ---------------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, setup, teardown);
        suite_add_tcase(s, tc);
        return tc;
}

static Suite *secondary_suite(void) {
        Suite *s = suite_create("secondary_verification");
        TCase *tc;

        tc = tcase(s, "fetcher");
        tcase_add_test(tc, test_dir_fetcher);

        tc = tcase(s, "partial");
        tcase_add_test(tc, test_partial_ok);
        tcase_add_test(tc, test_partial_nothing_for_this_ecu);
        tcase_add_test(tc, test_partial_forged_targets);
        tcase_add_test(tc, test_partial_replayed_targets);
        tcase_add_test(tc, test_partial_expired_targets);
        tcase_add_test(tc, test_partial_expired_root);
        tcase_add_test(tc, test_partial_wrong_hardware);
        tcase_add_test(tc, test_partial_release_counter_rollback);
        tcase_add_test(tc, test_partial_vin);
        tcase_add_test(tc, test_partial_delegations);
        tcase_add_test(tc, test_partial_root_rotation);
        tcase_add_test(tc, test_partial_root_rotation_refused);
        tcase_add_test(tc, test_partial_root_version_skipped);
        tcase_add_test(tc, test_partial_fast_forward_recovery);
        tcase_add_test(tc, test_partial_oversize);
        tcase_add_test(tc, test_partial_missing);
        tcase_add_test(tc, test_partial_bad_files);
        tcase_add_test(tc, test_partial_bad_config);

        tc = tcase(s, "full");
        tcase_add_test(tc, test_full_ok);
        tcase_add_test(tc, test_full_other_ecus_ignored);
        tcase_add_test(tc, test_full_forged_director_targets);
        tcase_add_test(tc, test_full_replayed_metadata);
        tcase_add_test(tc, test_full_expired);
        tcase_add_test(tc, test_full_wrong_hardware);
        tcase_add_test(tc, test_full_release_counter);
        tcase_add_test(tc, test_full_image_does_not_list);
        tcase_add_test(tc, test_full_hash_mismatch);
        tcase_add_test(tc, test_full_root_rotation);
        tcase_add_test(tc, test_full_oversize_and_missing);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(secondary_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
