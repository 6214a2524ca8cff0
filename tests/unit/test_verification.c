/* SPDX-License-Identifier: MIT */
/*
 * The Uptane layer over two in-memory repositories (testrepo.c): a Director
 * and an Image repository, each read by its own UpUpdater. Each attack on the
 * Director's targets or on the Director-vs-Image match is its own test and
 * must fail with its own errno class (uptane/verification.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/hash.h"
#include "uptane/verification.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define VIN "VIN-TEST-0001"

static const char fw_a[] = "firmware for hw-a, v3";
static const char fw_b[] = "firmware for hw-b, v1";
static const char *const vehicle_ecus[] = { "ecu-a", "ecu-b" };

static TestRepo *director, *image;
static TestClient *dclient, *iclient;
static UpDirectorTargets *checked;
static UpTargetInfo *info;

#define ck_ok(expr)                                                                          \
        do {                                                                                 \
                int _k = (expr);                                                             \
                ck_assert_msg(_k >= 0, "%s failed: %s", #expr, strerror(_k < 0 ? -_k : _k)); \
        } while (0)

#define assert_err(expr, expected)                                                                    \
        do {                                                                                          \
                int _r = (expr), _e = (expected);                                                     \
                ck_assert_msg(_r == _e, "%s returned %d (%s), expected %d (%s)", #expr, _r, strerror(-_r), \
                              _e, strerror(-_e));                                                     \
        } while (0)

/* --- Building the repositories ---------------------------------------------- */

static struct json_object *obj_child(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v)) {
                v = json_object_new_object();
                ck_assert_ptr_nonnull(v);
                ck_assert_int_eq(json_object_object_add(o, key, v), 0);
        }
        return v;
}

static struct json_object *entry_of(TestRepo *r, const char *role, const char *name) {
        struct json_object *targets = NULL, *entry = NULL;

        ck_assert(json_object_object_get_ex(testrepo_signed(r, role), "targets", &targets));
        ck_assert_msg(json_object_object_get_ex(targets, name, &entry), "%s does not list %s", role, name);
        return entry;
}

static void set_member(struct json_object *o, const char *key, struct json_object *v) {
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(json_object_object_add(o, key, v), 0);
}

/* An image in role of the Image repository, for one hardware id. */
static void image_add(const char *role, const char *name, const char *data, const char *hw, int64_t counter) {
        struct json_object *custom, *hws = json_object_new_array();

        ck_ok(testrepo_add_target(image, role, name, data, strlen(data)));
        custom = obj_child(entry_of(image, role, name), "custom");
        ck_assert_int_eq(json_object_array_add(hws, json_object_new_string(hw)), 0);
        set_member(custom, "hardwareIds", hws);
        set_member(custom, "releaseCounter", json_object_new_int64(counter));
}

/* What the Director does (uptane/director.h): the Image repository's length
 * and hashes, the ECU and its hardware id, the counter copied over. */
static struct json_object *director_assign_from(const char *role, const char *name, const char *serial,
                                                const char *hw) {
        struct json_object *src = entry_of(image, role, name), *targets, *entry, *custom, *v, *ecu;

        targets = obj_child(testrepo_signed(director, "targets"), "targets");
        entry = obj_child(targets, name);
        ck_assert(json_object_object_get_ex(src, "length", &v));
        set_member(entry, "length", json_object_get(v));
        v = NULL;
        ck_assert_int_eq(json_object_deep_copy(json_object_object_get(src, "hashes"), &v, NULL), 0);
        set_member(entry, "hashes", v);
        custom = obj_child(entry, "custom");
        ecu = obj_child(obj_child(custom, "ecuIdentifiers"), serial);
        set_member(ecu, "hardwareId", json_object_new_string(hw));
        if (json_object_object_get_ex(json_object_object_get(src, "custom"), "releaseCounter", &v))
                set_member(custom, "releaseCounter", json_object_get(v));
        set_member(custom, "targetFormat", json_object_new_string("BINARY"));
        return entry;
}

static struct json_object *director_assign(const char *name, const char *serial, const char *hw) {
        return director_assign_from("targets", name, serial, hw);
}

static void set_vin(struct json_object *vin) {
        struct json_object *custom = obj_child(testrepo_signed(director, "targets"), "custom");

        if (vin)
                set_member(custom, "vin", vin);
        else
                json_object_object_del(custom, "vin");
}

static void publish(TestRepo *r) {
        ck_ok(testrepo_publish(r, "targets"));
        ck_ok(testrepo_update_snapshot(r));
}

/* The usual vehicle: ecu-a gets fw-a.bin, ecu-b gets fw-b.bin. */
static void build_standard(void) {
        image_add("targets", "fw-a.bin", fw_a, "hw-a", 3);
        image_add("targets", "fw-b.bin", fw_b, "hw-b", 1);
        director_assign("fw-a.bin", "ecu-a", "hw-a");
        director_assign("fw-b.bin", "ecu-b", "hw-b");
}

static void setup(void) {
        ck_ok(testrepo_new(UP_SCHEME_ED25519, &director));
        ck_ok(testrepo_new(UP_SCHEME_ED25519, &image));
        set_vin(json_object_new_string(VIN));
}

static void teardown(void) {
        info = up_target_info_free(info);
        checked = up_director_targets_free(checked);
        dclient = testclient_free(dclient);
        iclient = testclient_free(iclient);
        director = testrepo_free(director);
        image = testrepo_free(image);
}

/* --- Running the checks ---------------------------------------------------- */

static void refresh(TestRepo *r, TestClient **c) {
        int k;

        if (!*c)
                ck_ok(testclient_new(r, TESTREPO_NOW, c));
        k = testclient_refresh(*c);
        ck_assert_msg(k == 0, "refresh: %s: %s", strerror(-k), up_updater_error((*c)->updater));
}

/* Publishes both repositories, refreshes both clients and runs the Director
 * checks as a Primary of vehicle_ecus (ecus NULL: as a Secondary). */
static int director_checks_with(const char *const *ecus, size_t n_ecus) {
        const UpMetadata *md;

        publish(director);
        publish(image);
        refresh(director, &dclient);
        refresh(image, &iclient);
        md = up_trusted_set_targets(up_updater_trusted_set(dclient->updater), "targets");
        ck_assert_ptr_nonnull(md);
        checked = up_director_targets_free(checked);
        return up_director_targets_check(md, VIN, ecus, n_ecus, &checked);
}

static int director_checks(void) {
        return director_checks_with(vehicle_ecus, ELEMENTSOF(vehicle_ecus));
}

/* The whole of §5.4.4.2 steps 5 and 10 as the Primary runs them. */
static int verify_with_previous(const UpEcuCounter *previous, size_t n_previous) {
        int r = director_checks();

        if (r < 0)
                return r;
        return up_image_match_all(iclient->updater, checked, previous, n_previous);
}

static int verify(void) {
        return verify_with_previous(NULL, 0);
}

static const UpDirectorTarget *target_for(const char *serial) {
        const UpDirectorTarget *t = up_director_targets_find_ecu(checked, serial, NULL);

        ck_assert_msg(t, "no image for %s", serial);
        return t;
}

static void sha512_hex(const char *data, char ret[2 * UP_HASH_MAX_SIZE + 1]) {
        uint8_t digest[UP_HASH_MAX_SIZE];

        ck_ok(up_hash_buffer(UP_HASH_SHA512, data, strlen(data), digest));
        up_hex_encode(digest, 64, ret);
}

static void add_sha512(struct json_object *entry, const char *data) {
        char hex[2 * UP_HASH_MAX_SIZE + 1];

        sha512_hex(data, hex);
        set_member(json_object_object_get(entry, "hashes"), "sha512", json_object_new_string(hex));
}

/* --- Happy path ------------------------------------------------------------- */

START_TEST(test_happy_path) {
        const UpDirectorTarget *t;
        const char *hw = NULL;

        build_standard();
        ck_ok(verify());
        ck_assert_uint_eq(checked->n_targets, 2);
        t = up_director_targets_find_ecu(checked, "ecu-a", &hw);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(hw, "hw-a");
        ck_assert_str_eq(t->name, "fw-a.bin");
        ck_assert_int_eq(t->length, (int64_t) strlen(fw_a));
        ck_assert_uint_eq(t->n_hashes, 1);
        ck_assert_int_eq(t->hashes[0].alg, UP_HASH_SHA256);
        ck_assert_uint_eq(t->n_ecus, 1);
        ck_assert_int_eq(t->release_counter, 3);
        ck_assert_str_eq(t->format, "BINARY");
        ck_assert_ptr_null(t->uri);
        ck_assert_ptr_null(up_director_targets_find_ecu(checked, "ecu-c", NULL));

        /* The same counter as before is no rollback. */
        UpEcuCounter prev[] = { { "ecu-a", 3 }, { "ecu-b", 0 }, { "ecu-gone", 99 } };
        ck_ok(up_image_match_all(iclient->updater, checked, prev, ELEMENTSOF(prev)));
        ck_ok(up_image_match_target(iclient->updater, t, prev, ELEMENTSOF(prev), &info));
        ck_assert_str_eq(info->path, "fw-a.bin");
        ck_assert_str_eq(info->role, "targets");
}
END_TEST

/* Two ECUs sharing one image, with sha256 and sha512 on both sides. */
START_TEST(test_shared_image_two_hashes) {
        struct json_object *e;

        image_add("targets", "fw-a.bin", fw_a, "hw-a", 3);
        add_sha512(entry_of(image, "targets", "fw-a.bin"), fw_a);
        set_member(json_object_object_get(entry_of(image, "targets", "fw-a.bin"), "custom"), "hardwareIds",
                   json_tokener_parse("[\"hw-x\", \"hw-a\", \"hw-b\"]"));
        director_assign("fw-a.bin", "ecu-a", "hw-a");
        e = director_assign("fw-a.bin", "ecu-b", "hw-b");
        ck_ok(verify());
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(checked->n_targets, 1);
        ck_assert_uint_eq(checked->targets[0].n_ecus, 2);
        ck_assert_uint_eq(checked->targets[0].n_hashes, 2);
        ck_assert_ptr_eq(target_for("ecu-a"), target_for("ecu-b"));
}
END_TEST

/* An empty targets for this vehicle: nothing to install, nothing refused. */
START_TEST(test_empty_targets_own_vehicle) {
        ck_ok(verify());
        ck_assert_uint_eq(checked->n_targets, 0);
}
END_TEST

/* --- Director targets checks (§5.4.4.6 steps 6-8, VIN) ------------------------ */

START_TEST(test_director_delegation) {
        build_standard();
        ck_ok(testrepo_add_delegation(director, "targets", "other", false, 1, "*", NULL));
        ck_ok(testrepo_publish_no_bump(director, "other"));
        assert_err(director_checks(), -UP_ERR_MALFORMED);
        ck_assert_ptr_null(checked);
}
END_TEST

START_TEST(test_director_ecu_listed_twice) {
        build_standard();
        image_add("targets", "fw-a2.bin", "another image for hw-a", "hw-a", 4);
        director_assign("fw-a2.bin", "ecu-a", "hw-a");
        assert_err(director_checks(), -UP_ERR_DUPLICATE);
        ck_assert_ptr_null(checked);
}
END_TEST

START_TEST(test_director_ecu_not_in_vehicle) {
        build_standard();
        director_assign("fw-b.bin", "ecu-stranger", "hw-b");
        assert_err(director_checks(), -UP_ERR_UNKNOWN_ECU);
        /* A Secondary does not know the vehicle and does not check. */
        ck_ok(director_checks_with(NULL, 0));
}
END_TEST

START_TEST(test_director_vin_missing) {
        build_standard();
        set_vin(NULL);
        assert_err(director_checks(), -UP_ERR_MIX_AND_MATCH);
        ck_assert_ptr_null(checked);
}
END_TEST

START_TEST(test_director_vin_other_vehicle) {
        build_standard();
        set_vin(json_object_new_string("VIN-TEST-0002"));
        assert_err(director_checks(), -UP_ERR_MIX_AND_MATCH);
}
END_TEST

/* Another vehicle's empty targets would uninstall everything if believed. */
START_TEST(test_director_empty_targets_other_vehicle) {
        set_vin(json_object_new_string("VIN-TEST-0002"));
        assert_err(director_checks(), -UP_ERR_MIX_AND_MATCH);
        set_vin(NULL);
        assert_err(director_checks(), -UP_ERR_MIX_AND_MATCH);
}
END_TEST

/* A VIN prefix, or one with a NUL after ours, is another VIN. */
START_TEST(test_director_vin_prefix_and_type) {
        set_vin(json_object_new_string("VIN-TEST-000"));
        assert_err(director_checks(), -UP_ERR_MIX_AND_MATCH);
        set_vin(json_object_new_string_len(VIN "\0x", (int) strlen(VIN) + 2));
        assert_err(director_checks(), -UP_ERR_MIX_AND_MATCH);
        set_vin(json_object_new_int(1));
        assert_err(director_checks(), -UP_ERR_MALFORMED);
}
END_TEST

START_TEST(test_director_entry_without_ecu) {
        struct json_object *e;

        build_standard();
        e = director_assign("fw-a.bin", "ecu-a", "hw-a");
        json_object_object_del(json_object_object_get(e, "custom"), "ecuIdentifiers");
        assert_err(director_checks(), -UP_ERR_MALFORMED);
}
END_TEST

START_TEST(test_director_unknown_hash_algorithm) {
        struct json_object *e;

        build_standard();
        e = director_assign("fw-a.bin", "ecu-a", "hw-a");
        set_member(json_object_object_get(e, "hashes"), "blake3", json_object_new_string("00"));
        assert_err(director_checks(), -UP_ERR_UNSUPPORTED);
}
END_TEST

START_TEST(test_director_too_many_ecus) {
        struct json_object *ids;
        char serial[32];

        build_standard();
        ids = json_object_object_get(json_object_object_get(director_assign("fw-a.bin", "ecu-a", "hw-a"), "custom"),
                                     "ecuIdentifiers");
        for (int i = 0; i < UP_MAX_DIRECTOR_ECUS; i++) {
                snprintf(serial, sizeof(serial), "ecu-%04d", i);
                set_member(ids, serial, json_tokener_parse("{\"hardwareId\": \"hw-a\"}"));
        }
        assert_err(director_checks_with(NULL, 0), -UP_ERR_TOO_BIG);
}
END_TEST

/* --- Director vs Image (§5.4.4.2 step 10) -------------------------------------- */

static void flip_sha256(struct json_object *entry) {
        struct json_object *hashes = json_object_object_get(entry, "hashes");
        char hex[65];

        snprintf(hex, sizeof(hex), "%s", json_object_get_string(json_object_object_get(hashes, "sha256")));
        hex[0] = hex[0] == '0' ? '1' : '0';
        set_member(hashes, "sha256", json_object_new_string(hex));
}

START_TEST(test_match_hash_differs) {
        build_standard();
        flip_sha256(director_assign("fw-a.bin", "ecu-a", "hw-a"));
        assert_err(verify(), -UP_ERR_HASH);
}
END_TEST

/* Upper-case hex is the same digest, not a mismatch. */
START_TEST(test_match_hash_case) {
        struct json_object *hashes;
        char hex[65];

        build_standard();
        hashes = json_object_object_get(director_assign("fw-a.bin", "ecu-a", "hw-a"), "hashes");
        snprintf(hex, sizeof(hex), "%s", json_object_get_string(json_object_object_get(hashes, "sha256")));
        for (char *p = hex; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char) (*p - 'a' + 'A');
        set_member(hashes, "sha256", json_object_new_string(hex));
        ck_ok(verify());
}
END_TEST

START_TEST(test_match_length_differs) {
        build_standard();
        set_member(director_assign("fw-a.bin", "ecu-a", "hw-a"), "length", json_object_new_int64(strlen(fw_a) + 1));
        assert_err(verify(), -UP_ERR_HASH);
}
END_TEST

START_TEST(test_match_extra_hash_director) {
        build_standard();
        add_sha512(director_assign("fw-a.bin", "ecu-a", "hw-a"), fw_a);
        assert_err(verify(), -UP_ERR_HASH);
}
END_TEST

START_TEST(test_match_extra_hash_image) {
        build_standard();
        add_sha512(entry_of(image, "targets", "fw-a.bin"), fw_a);
        assert_err(verify(), -UP_ERR_HASH);
}
END_TEST

START_TEST(test_match_hardware_not_listed) {
        build_standard();
        director_assign("fw-b.bin", "ecu-b", "hw-a");
        assert_err(verify(), -UP_ERR_HARDWARE);
}
END_TEST

START_TEST(test_match_image_without_hardware_ids) {
        build_standard();
        json_object_object_del(json_object_object_get(entry_of(image, "targets", "fw-b.bin"), "custom"),
                               "hardwareIds");
        assert_err(verify(), -UP_ERR_HARDWARE);
}
END_TEST

START_TEST(test_match_release_counter_rollback) {
        UpEcuCounter prev[] = { { "ecu-b", 1 }, { "ecu-a", 4 } };

        build_standard();
        assert_err(verify_with_previous(prev, ELEMENTSOF(prev)), -UP_ERR_ROLLBACK);
}
END_TEST

/* Dropping the counter on both sides does not get around the rollback check. */
START_TEST(test_match_release_counter_dropped) {
        UpEcuCounter prev[] = { { "ecu-a", 1 } };
        struct json_object *e;

        build_standard();
        e = director_assign("fw-a.bin", "ecu-a", "hw-a");
        json_object_object_del(json_object_object_get(e, "custom"), "releaseCounter");
        json_object_object_del(json_object_object_get(entry_of(image, "targets", "fw-a.bin"), "custom"),
                               "releaseCounter");
        assert_err(verify_with_previous(prev, ELEMENTSOF(prev)), -UP_ERR_ROLLBACK);
        ck_ok(verify());
}
END_TEST

START_TEST(test_match_release_counters_differ) {
        build_standard();
        set_member(json_object_object_get(director_assign("fw-a.bin", "ecu-a", "hw-a"), "custom"), "releaseCounter",
                   json_object_new_int64(4));
        assert_err(verify(), -UP_ERR_MIX_AND_MATCH);
}
END_TEST

/* The Director may omit the counter; the Image repository's then counts. */
START_TEST(test_match_release_counter_director_omits) {
        UpEcuCounter prev[] = { { "ecu-a", 4 } };

        build_standard();
        json_object_object_del(json_object_object_get(director_assign("fw-a.bin", "ecu-a", "hw-a"), "custom"),
                               "releaseCounter");
        ck_ok(verify());
        assert_err(verify_with_previous(prev, ELEMENTSOF(prev)), -UP_ERR_ROLLBACK);
}
END_TEST

START_TEST(test_match_name_not_in_image_repo) {
        build_standard();
        /* Same bytes under another name: names must be exactly the same. */
        json_object_object_add(obj_child(testrepo_signed(director, "targets"), "targets"), "fw-A.bin",
                               json_object_get(entry_of(director, "targets", "fw-a.bin")));
        json_object_object_del(obj_child(testrepo_signed(director, "targets"), "targets"), "fw-a.bin");
        assert_err(verify(), -UP_ERR_NOT_FOUND);
}
END_TEST

/* An image listed by a delegated role only is found through the delegation. */
START_TEST(test_match_through_delegation) {
        build_standard();
        ck_ok(testrepo_add_delegation(image, "targets", "supplier", false, 1, "supplier/*", NULL));
        image_add("supplier", "supplier/fw-c.bin", "supplier firmware", "hw-b", 2);
        ck_ok(testrepo_publish_no_bump(image, "supplier"));
        json_object_object_del(obj_child(testrepo_signed(director, "targets"), "targets"), "fw-b.bin");
        director_assign_from("supplier", "supplier/fw-c.bin", "ecu-b", "hw-b");
        ck_ok(verify());
        ck_ok(up_image_match_target(iclient->updater, target_for("ecu-b"), NULL, 0, &info));
        ck_assert_str_eq(info->role, "supplier");
}
END_TEST

/* A terminating delegation that covers the name but does not list it ends
 * the search: a later role that lists it is never asked. */
START_TEST(test_match_terminating_delegation_refuses) {
        build_standard();
        ck_ok(testrepo_add_delegation(image, "targets", "owner", true, 1, "supplier/*", NULL));
        ck_ok(testrepo_add_delegation(image, "targets", "supplier", false, 1, "supplier/*", NULL));
        image_add("supplier", "supplier/fw-c.bin", "supplier firmware", "hw-b", 2);
        ck_ok(testrepo_publish_no_bump(image, "owner"));
        ck_ok(testrepo_publish_no_bump(image, "supplier"));
        json_object_object_del(obj_child(testrepo_signed(director, "targets"), "targets"), "fw-b.bin");
        director_assign_from("supplier", "supplier/fw-c.bin", "ecu-b", "hw-b");
        assert_err(verify(), -UP_ERR_NOT_FOUND);
}
END_TEST

/* --- One ECU's image (§5.4.3.4) ----------------------------------------------- */

static char *write_image(const char *data, size_t len) {
        const char *tmp = getenv("TMPDIR");
        char *path = NULL;

        ck_assert_int_ge(asprintf(&path, "%s/image-XXXXXX", tmp ? tmp : "/tmp"), 0);
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
        return path;
}

START_TEST(test_image_file) {
        const UpDirectorTarget *t;
        char *good, *bad, *longer, *shorter;
        char buf[sizeof(fw_a) + 1];

        build_standard();
        ck_ok(verify());
        t = target_for("ecu-a");
        good = write_image(fw_a, strlen(fw_a));
        memcpy(buf, fw_a, sizeof(fw_a));
        buf[0] ^= 1;
        bad = write_image(buf, strlen(fw_a));
        buf[0] ^= 1;
        buf[strlen(fw_a)] = 'x';
        longer = write_image(buf, strlen(fw_a) + 1);
        shorter = write_image(fw_a, strlen(fw_a) - 1);

        ck_ok(up_image_verify_file(t, "ecu-a", "hw-a", good));
        assert_err(up_image_verify_file(t, "ecu-a", "hw-b", good), -UP_ERR_HARDWARE);
        assert_err(up_image_verify_file(t, "ecu-b", "hw-a", good), -UP_ERR_NOT_FOUND);
        assert_err(up_image_verify_file(t, "ecu-a", "hw-a", bad), -UP_ERR_HASH);
        assert_err(up_image_verify_file(t, "ecu-a", "hw-a", longer), -UP_ERR_HASH);
        assert_err(up_image_verify_file(t, "ecu-a", "hw-a", shorter), -UP_ERR_HASH);
        assert_err(up_image_verify_file(t, "ecu-a", "hw-a", "/nonexistent/image"), -ENOENT);
        for (char **p = (char *[]) { good, bad, longer, shorter }, **end = p + 4; p < end; p++) {
                unlink(*p);
                free(*p);
        }
}
END_TEST

/* Every hash is checked: a right sha256 does not excuse a wrong sha512. */
START_TEST(test_image_hasher_every_hash) {
        struct json_object *hashes;
        const UpDirectorTarget *t;
        UpHasher *h = NULL;
        char hex[129];

        image_add("targets", "fw-a.bin", fw_a, "hw-a", 3);
        hashes = json_object_object_get(entry_of(image, "targets", "fw-a.bin"), "hashes");
        sha512_hex("something else", hex);
        set_member(hashes, "sha512", json_object_new_string(hex));
        director_assign("fw-a.bin", "ecu-a", "hw-a");
        ck_ok(verify());
        t = target_for("ecu-a");
        ck_ok(up_hasher_new(&h));
        ck_ok(up_hasher_update(h, fw_a, strlen(fw_a)));
        assert_err(up_image_verify_hasher(t, "ecu-a", "hw-a", h, strlen(fw_a)), -UP_ERR_HASH);
        up_hasher_free(h);
}
END_TEST

START_TEST(test_image_hasher_and_counter) {
        const UpDirectorTarget *t;
        UpHasher *h = NULL;

        build_standard();
        ck_ok(verify());
        t = target_for("ecu-b");
        ck_ok(up_hasher_new(&h));
        ck_ok(up_hasher_update(h, fw_b, 5));
        ck_ok(up_hasher_update(h, fw_b + 5, strlen(fw_b) - 5));
        ck_ok(up_image_verify_hasher(t, "ecu-b", "hw-b", h, strlen(fw_b)));
        assert_err(up_image_verify_hasher(t, "ecu-b", "hw-b", h, strlen(fw_b) + 1), -UP_ERR_HASH);
        assert_err(up_image_verify_hasher(t, "ecu-b", "hw-a", h, strlen(fw_b)), -UP_ERR_HARDWARE);
        up_hasher_free(h);

        ck_ok(up_image_check_ecu(t, "ecu-b", "hw-b", -1));
        ck_ok(up_image_check_ecu(t, "ecu-b", "hw-b", 1));
        assert_err(up_image_check_ecu(t, "ecu-b", "hw-b", 2), -UP_ERR_ROLLBACK);
        assert_err(up_image_check_ecu(t, "ecu-a", "hw-b", -1), -UP_ERR_NOT_FOUND);
}
END_TEST

/* --- Suite -------------------------------------------------------------------- */

static TCase *tcase(Suite *s, const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, setup, teardown);
        suite_add_tcase(s, tc);
        return tc;
}

static Suite *verification_suite(void) {
        Suite *s = suite_create("verification");
        TCase *tc;

        tc = tcase(s, "happy");
        tcase_add_test(tc, test_happy_path);
        tcase_add_test(tc, test_shared_image_two_hashes);
        tcase_add_test(tc, test_empty_targets_own_vehicle);

        tc = tcase(s, "director");
        tcase_add_test(tc, test_director_delegation);
        tcase_add_test(tc, test_director_ecu_listed_twice);
        tcase_add_test(tc, test_director_ecu_not_in_vehicle);
        tcase_add_test(tc, test_director_vin_missing);
        tcase_add_test(tc, test_director_vin_other_vehicle);
        tcase_add_test(tc, test_director_empty_targets_other_vehicle);
        tcase_add_test(tc, test_director_vin_prefix_and_type);
        tcase_add_test(tc, test_director_entry_without_ecu);
        tcase_add_test(tc, test_director_unknown_hash_algorithm);
        tcase_add_test(tc, test_director_too_many_ecus);

        tc = tcase(s, "match");
        tcase_add_test(tc, test_match_hash_differs);
        tcase_add_test(tc, test_match_hash_case);
        tcase_add_test(tc, test_match_length_differs);
        tcase_add_test(tc, test_match_extra_hash_director);
        tcase_add_test(tc, test_match_extra_hash_image);
        tcase_add_test(tc, test_match_hardware_not_listed);
        tcase_add_test(tc, test_match_image_without_hardware_ids);
        tcase_add_test(tc, test_match_release_counter_rollback);
        tcase_add_test(tc, test_match_release_counter_dropped);
        tcase_add_test(tc, test_match_release_counters_differ);
        tcase_add_test(tc, test_match_release_counter_director_omits);
        tcase_add_test(tc, test_match_name_not_in_image_repo);
        tcase_add_test(tc, test_match_through_delegation);
        tcase_add_test(tc, test_match_terminating_delegation_refuses);

        tc = tcase(s, "image");
        tcase_add_test(tc, test_image_file);
        tcase_add_test(tc, test_image_hasher_every_hash);
        tcase_add_test(tc, test_image_hasher_and_counter);
        return s;
}

int main(void) {
        char base[] = "/tmp/test_verification-XXXXXX";
        SRunner *sr;
        int failed;

        if (!mkdtemp(base) || setenv("TMPDIR", base, 1) < 0) {
                perror("test_verification: temp dir");
                return EXIT_FAILURE;
        }
        sr = srunner_create(verification_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        (void) testrepo_rm_rf(base);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
