/* SPDX-License-Identifier: MIT */
/*
 * The Director's signing side (see uptane/director.h): per-vehicle targets
 * built from the Image repository's entries, published with the Director's
 * keys by the repository code (a vehicle is one more set of targets,
 * snapshot and timestamp below DIR/vehicles/VIN/).
 */
#include "repo-internal.h"
#include "uptane/director.h"
#include "uptane/error.h"
#include "uptane/json.h"

#define MAX_SERIAL 256

static int check_director(UpRepo *d) {
        if (up_repo_kind(d) != UP_REPO_DIRECTOR)
                return up_repo_fail(d, -EOPNOTSUPP, "'%s' is not a Director repository", up_repo_dir(d));
        return 0;
}

static int check_vin(UpRepo *d, const char *vin) {
        if (!up_repo_vin_valid(vin))
                return up_repo_fail(d, -EINVAL,
                                    "invalid VIN '%s' (A-Z a-z 0-9 ._~+@=,-, at most 64, not starting with '.')",
                                    vin ? vin : "");
        return 0;
}

static int set_copy(struct json_object *o, const char *key, struct json_object *v) {
        struct json_object *copy = NULL;

        if (!v)
                return 0;
        if (json_object_deep_copy(v, &copy, NULL) < 0)
                return -ENOMEM;
        return up_json_add(o, key, copy);
}

int up_director_vehicle_dir(UpRepo *d, const char *vin, char **ret) {
        int r;

        r = check_vin(d, vin);
        if (r < 0)
                return r;
        return repo_pathf(ret, "%s/vehicles/%s", d->dir, vin);
}

void up_director_vehicles_free(char **v, size_t n) {
        up_string_array_free(v, n);
}

/* A vehicle exists once its staged targets do. */
static bool is_vehicle(const char *vdir, const char *vin) {
        _cleanup_free_ char *p = NULL;

        if (!up_repo_vin_valid(vin) || repo_pathf(&p, "%s/%s/staged/targets.json", vdir, vin) < 0)
                return false;
        return file_exists(p);
}

/* Keeps the names in v that are vehicles (freeing the others); their number. */
static size_t keep_vehicles(const char *vdir, char **v, size_t n) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (is_vehicle(vdir, v[i]))
                        v[k++] = v[i];
                else
                        free(v[i]);
        }
        if (v)
                v[k] = NULL;
        return k;
}

int up_director_vehicles(UpRepo *d, char ***ret, size_t *ret_n) {
        _cleanup_free_ char *vdir = NULL;
        char **v = NULL;
        size_t n = 0;
        int r;

        if (repo_pathf(&vdir, "%s/vehicles", d->dir) < 0)
                return -ENOMEM;
        r = repo_list_dir(vdir, &v, &n);
        if (r < 0 && r != -ENOENT)
                return up_repo_fail(d, r, "cannot read '%s': %s", vdir, up_strerror(r));
        *ret_n = keep_vehicles(vdir, v, n);
        *ret = v;
        return 0;
}

/* Checks that d is a Director and vin valid; whether the vehicle exists. */
static int vehicle_exists(UpRepo *d, const char *vin, bool *ret) {
        _cleanup_free_ char *vdir = NULL;
        int r;

        r = check_director(d);
        if (r >= 0)
                r = check_vin(d, vin);
        if (r < 0)
                return r;
        if (repo_pathf(&vdir, "%s/vehicles", d->dir) < 0)
                return -ENOMEM;
        *ret = is_vehicle(vdir, vin);
        return 0;
}

/* The staged body and "targets" of an existing vehicle. */
static int vehicle_targets(UpRepo *d, const char *vin, struct json_object **ret_body,
                           struct json_object **ret_targets) {
        bool exists;
        int r;

        r = vehicle_exists(d, vin, &exists);
        if (r >= 0 && !exists)
                r = up_repo_fail(d, -ENOENT, "'%s' has no vehicle %s", d->dir, vin);
        if (r < 0)
                return r;
        return repo_staged_targets(d, vin, "targets", ret_body, ret_targets);
}

/* The staged targets of a new vehicle; false when it exists already. */
static int vehicle_create(UpRepo *d, const char *vin, time_t now, bool *ret_created) {
        bool exists;
        int r;

        r = vehicle_exists(d, vin, &exists);
        if (r < 0)
                return r;
        *ret_created = !exists;
        if (exists)
                return 0;
        return repo_stage_empty_targets(d, vin, "targets", now);
}

int up_director_add_vehicle(UpRepo *d, const char *vin, time_t now) {
        bool created;
        int r;

        r = vehicle_create(d, vin, now, &created);
        if (r < 0 || !created)
                return r;
        return up_repo_publish_set(d, vin, NULL, 0, now);
}

static int check_assignment(UpRepo *d, const UpDirectorAssignment *a) {
        struct json_object *hashes;
        int64_t length;

        if (!repo_text_valid(a->ecu_serial, MAX_SERIAL))
                return up_repo_fail(d, -EINVAL, "invalid ECU serial");
        if (!up_repo_target_name_valid(a->target_name))
                return up_repo_fail(d, -EINVAL, "invalid target name '%s'", a->target_name ? a->target_name : "");
        if (a->hardware_id && !repo_text_valid(a->hardware_id, MAX_SERIAL))
                return up_repo_fail(d, -EINVAL, "invalid hardware id");
        if (up_json_get_int64(a->image_target, "length", &length) < 0 || length < 0 ||
            up_json_get_object(a->image_target, "hashes", &hashes) < 0 || json_object_object_length(hashes) == 0)
                return up_repo_fail(d, -EBADMSG, "%s: the Image repository's entry has no length or hashes",
                                    a->target_name);
        return 0;
}

/* Uptane 2.1 §5.2.3.1.1: the ECU gets an image made for its hardware. */
static int assignment_hardware_id(UpRepo *d, const UpDirectorAssignment *a, const char **ret) {
        struct json_object *hw = json_child(json_child(a->image_target, "custom"), "hardwareIds");
        size_t n = array_len(hw);

        if (a->hardware_id) {
                if (n > 0 && !strv_json_contains(hw, a->hardware_id))
                        return up_repo_fail(d, -EPERM, "image '%s' is not for hardware '%s' (its hardwareIds: %s)",
                                            a->target_name, a->hardware_id, json_object_to_json_string(hw));
                *ret = a->hardware_id;
                return 0;
        }
        if (n != 1)
                return up_repo_fail(d, -EINVAL, "image '%s' lists %zu hardware ids: give the one of ECU %s",
                                    a->target_name, n, a->ecu_serial);
        *ret = json_object_get_string(json_object_array_get_idx(hw, 0));
        return 0;
}

static int entry_custom(const UpDirectorAssignment *a, const char *hw, struct json_object **ret) {
        static const char *const copied[] = { "releaseCounter", "targetFormat", "uri" };
        _cleanup_json_ struct json_object *custom = json_object_new_object();
        struct json_object *image_custom = json_child(a->image_target, "custom");
        struct json_object *ids = json_object_new_object(), *ecu = json_object_new_object();
        int r;

        if (!custom || up_json_add(custom, "ecuIdentifiers", ids) < 0 || up_json_add(ids, a->ecu_serial, ecu) < 0 ||
            up_json_add(ecu, "hardwareId", json_object_new_string(hw)) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(copied); i++) {
                r = set_copy(custom, copied[i], json_child(image_custom, copied[i]));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(custom);
        return 0;
}

/* Length and hashes exactly as the Image repository lists them: the
 * Primary compares both (Uptane 2.1 §5.4.4.2 step 10.2). */
static int director_entry(const UpDirectorAssignment *a, const char *hw, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *custom = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        r = entry_custom(a, hw, &custom);
        if (r < 0 || (r = up_json_add(o, "custom", custom)) < 0)
                return r;
        r = set_copy(o, "hashes", json_child(a->image_target, "hashes"));
        if (r >= 0)
                r = set_copy(o, "length", json_child(a->image_target, "length"));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

/* Takes the ECU off every entry; an entry left without ECU goes. */
static void unassign_ecu(struct json_object *targets, const char *serial) {
        char *gone[256];
        size_t n = 0;

        json_object_object_foreach(targets, name, entry) {
                struct json_object *ids = json_child(json_child(entry, "custom"), "ecuIdentifiers");

                if (!json_child(ids, serial))
                        continue;
                json_object_object_del(ids, serial);
                if (json_object_object_length(ids) == 0 && n < ELEMENTSOF(gone))
                        gone[n++] = name;
        }
        for (size_t i = 0; i < n; i++)
                json_object_object_del(targets, gone[i]);
}

static bool same_member(struct json_object *a, struct json_object *b, const char *key) {
        _cleanup_free_ char *ca = NULL, *cb = NULL;
        struct json_object *va = json_child(a, key), *vb = json_child(b, key);
        size_t la, lb;

        if (!va || !vb)
                return !va && !vb;
        if (up_cjson_encode(va, &ca, &la) < 0 || up_cjson_encode(vb, &cb, &lb) < 0)
                return false;
        return la == lb && memcmp(ca, cb, la) == 0;
}

/* Entries are keyed by name: ECUs share an entry only for the same image. */
static int add_entry(UpRepo *d, struct json_object *targets, const UpDirectorAssignment *a, const char *hw) {
        struct json_object *existing = json_child(targets, a->target_name), *entry = NULL, *ids, *ecu;
        int r;

        if (!existing) {
                r = director_entry(a, hw, &entry);
                return r < 0 ? r : up_json_add(targets, a->target_name, entry);
        }
        if (!same_member(existing, a->image_target, "length") || !same_member(existing, a->image_target, "hashes"))
                return up_repo_fail(d, -EEXIST,
                                    "another ECU of this vehicle is assigned a different image named '%s': one name, "
                                    "one image per vehicle", a->target_name);
        ids = json_child(json_child(existing, "custom"), "ecuIdentifiers");
        ecu = json_object_new_object();
        if (!ids || up_json_add(ids, a->ecu_serial, ecu) < 0)
                return ids ? -ENOMEM : -EBADMSG;
        return up_json_add(ecu, "hardwareId", json_object_new_string(hw));
}

/* A copy for the vehicle to download from the Director, checked first:
 * the Director never serves bytes the Image repository does not list.
 * Not for an OSTree commit (no file). */
static int store_vehicle_image(UpRepo *d, const char *vin, const UpDirectorAssignment *a) {
        _cleanup_free_ uint8_t *file = NULL;
        const void *data = a->image_data;
        size_t len = a->image_len;
        int64_t length;
        int r;

        /* An OSTree commit has no file: the vehicle pulls it from an OSTree
         * server, checked by its checksum (the listed sha256). */
        if ((!a->image_file && !a->image_data) || up_repo_entry_is_ostree(a->image_target))
                return 0;
        if (a->image_file) {
                r = repo_read_path(d, a->image_file, &file, &len);
                if (r < 0)
                        return r;
                data = file;
        }
        (void) up_json_get_int64(a->image_target, "length", &length);
        r = up_fileinfo_check(length, json_child(a->image_target, "hashes"), data, len);
        if (r < 0)
                return up_repo_fail(d, r, "the image for '%s'%s%s does not match the length and hashes listed: %s",
                                    a->target_name, a->image_file ? " in " : "", a->image_file ? a->image_file : "",
                                    up_strerror(r));
        return up_repo_store_image(d, vin, a->target_name, data, len);
}

static int assign_one(UpRepo *d, const char *vin, struct json_object *targets, const UpDirectorAssignment *a) {
        const char *hw = NULL;
        int r;

        r = check_assignment(d, a);
        if (r < 0)
                return r;
        r = assignment_hardware_id(d, a, &hw);
        if (r < 0)
                return r;
        unassign_ecu(targets, a->ecu_serial);
        r = add_entry(d, targets, a, hw);
        if (r < 0)
                return r;
        return store_vehicle_image(d, vin, a);
}

int up_director_assign(UpRepo *d, const char *vin, const UpDirectorAssignment *a, size_t n, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        bool created;
        int r;

        r = vehicle_create(d, vin, now, &created);
        if (r < 0)
                return r;
        r = repo_staged_targets(d, vin, "targets", &body, &targets);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = assign_one(d, vin, targets, &a[i]);
                if (r < 0)
                        return r;
        }
        r = up_repo_staged_write(d, vin, "targets", body);
        if (r < 0)
                return r;
        return up_repo_publish_set(d, vin, NULL, 0, now);
}

int up_director_clear(UpRepo *d, const char *vin, const char *ecu_serial, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        int r;

        r = vehicle_targets(d, vin, &body, &targets);
        if (r < 0)
                return r;
        if (ecu_serial)
                unassign_ecu(targets, ecu_serial);
        else if (up_json_add(body, "targets", json_object_new_object()) < 0)
                return -ENOMEM;
        r = up_repo_staged_write(d, vin, "targets", body);
        if (r < 0)
                return r;
        return up_repo_publish_set(d, vin, NULL, 0, now);
}

int up_director_ecu_target(UpRepo *d, const char *vin, const char *ecu_serial, char **ret_name,
                           struct json_object **ret_entry) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        int r;

        r = vehicle_targets(d, vin, &body, &targets);
        if (r < 0)
                return r;
        json_object_object_foreach(targets, name, entry) {
                _cleanup_free_ char *n = NULL;

                if (!json_child(json_child(json_child(entry, "custom"), "ecuIdentifiers"), ecu_serial))
                        continue;
                n = strdup(name);
                if (!n || json_object_deep_copy(entry, ret_entry, NULL) < 0)
                        return -ENOMEM;
                *ret_name = TAKE_PTR(n);
                return 0;
        }
        return up_repo_fail(d, -ENOENT, "ECU %s of vehicle %s has no target", ecu_serial, vin);
}
