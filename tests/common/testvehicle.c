/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "testvehicle.h"

void tv_repos_new(TestRepo **director, TestRepo **image, const char *vin) {
        ck_ok(testrepo_new(UP_SCHEME_ED25519, director));
        ck_ok(testrepo_new(UP_SCHEME_ED25519, image));
        tv_set_vin(*director, vin);
}

struct json_object *tv_obj_child(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v)) {
                v = json_object_new_object();
                ck_assert_ptr_nonnull(v);
                ck_assert_int_eq(json_object_object_add(o, key, v), 0);
        }
        return v;
}

struct json_object *tv_entry_of(TestRepo *r, const char *name) {
        struct json_object *targets = NULL, *entry = NULL;

        ck_assert(json_object_object_get_ex(testrepo_signed(r, "targets"), "targets", &targets));
        ck_assert_msg(json_object_object_get_ex(targets, name, &entry), "targets does not list %s", name);
        return entry;
}

void tv_set_member(struct json_object *o, const char *key, struct json_object *v) {
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(json_object_object_add(o, key, v), 0);
}

void tv_image_add(TestRepo *image, const char *name, const char *data, const char *hw, int64_t counter) {
        struct json_object *custom, *hws = json_object_new_array();

        ck_ok(testrepo_add_target(image, "targets", name, data, strlen(data)));
        custom = tv_obj_child(tv_entry_of(image, name), "custom");
        ck_assert_int_eq(json_object_array_add(hws, json_object_new_string(hw)), 0);
        tv_set_member(custom, "hardwareIds", hws);
        if (counter >= 0)
                tv_set_member(custom, "releaseCounter", json_object_new_int64(counter));
}

struct json_object *tv_director_assign(TestRepo *director, TestRepo *image, const char *name, const char *serial,
                                       const char *hw) {
        struct json_object *src = tv_entry_of(image, name), *entry, *custom, *v = NULL;

        entry = tv_obj_child(tv_obj_child(testrepo_signed(director, "targets"), "targets"), name);
        tv_set_member(entry, "length", json_object_get(json_object_object_get(src, "length")));
        ck_assert_int_eq(json_object_deep_copy(json_object_object_get(src, "hashes"), &v, NULL), 0);
        tv_set_member(entry, "hashes", v);
        custom = tv_obj_child(entry, "custom");
        tv_set_member(tv_obj_child(tv_obj_child(custom, "ecuIdentifiers"), serial), "hardwareId",
                      json_object_new_string(hw));
        if (json_object_object_get_ex(json_object_object_get(src, "custom"), "releaseCounter", &v))
                tv_set_member(custom, "releaseCounter", json_object_get(v));
        return entry;
}

void tv_set_vin(TestRepo *director, const char *vin) {
        tv_set_member(tv_obj_child(testrepo_signed(director, "targets"), "custom"), "vin",
                      json_object_new_string(vin));
}

void tv_publish(TestRepo *r) {
        ck_ok(testrepo_publish(r, "targets"));
        ck_ok(testrepo_update_snapshot(r));
}

void tv_build_standard(TestRepo *director, TestRepo *image) {
        tv_image_add(image, "fw-a.bin", TV_FW_A, "hw-a", 3);
        tv_image_add(image, "fw-b.bin", TV_FW_B, "hw-b", 1);
        tv_director_assign(director, image, "fw-a.bin", "ecu-a", "hw-a");
        tv_director_assign(director, image, "fw-b.bin", "ecu-b", "hw-b");
        tv_publish(director);
        tv_publish(image);
}

void tv_flip_sha256(struct json_object *entry) {
        struct json_object *hashes = json_object_object_get(entry, "hashes");
        char hex[65];

        snprintf(hex, sizeof(hex), "%s", json_object_get_string(json_object_object_get(hashes, "sha256")));
        hex[0] = hex[0] == '0' ? '1' : '0';
        tv_set_member(hashes, "sha256", json_object_new_string(hex));
}
