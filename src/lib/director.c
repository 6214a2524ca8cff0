/* SPDX-License-Identifier: MIT */
/*
 * The Director's signing side (see uptane/director.h): per-vehicle targets
 * built from the Image repository's entries, published with the Director's
 * keys by the repository code (a vehicle is one more set of targets,
 * snapshot and timestamp below DIR/vehicles/VIN/).
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "uptane/director.h"
#include "uptane/error.h"
#include "uptane/json.h"
#include "uptane/storage.h"
#include "util.h"

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

static struct json_object *child(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int set(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int set_copy(struct json_object *o, const char *key, struct json_object *v) {
        struct json_object *copy = NULL;

        if (!v)
                return 0;
        if (json_object_deep_copy(v, &copy, NULL) < 0)
                return -ENOMEM;
        return set(o, key, copy);
}

int up_director_vehicle_dir(UpRepo *d, const char *vin, char **ret) {
        int r;

        r = check_vin(d, vin);
        if (r < 0)
                return r;
        return asprintf(ret, "%s/vehicles/%s", up_repo_dir(d), vin) < 0 ? -ENOMEM : 0;
}

void up_director_vehicles_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A vehicle exists once its staged targets do. */
static bool is_vehicle(const char *vdir, const char *vin) {
        _cleanup_free_ char *p = NULL;

        if (!up_repo_vin_valid(vin) || asprintf(&p, "%s/%s/staged/targets.json", vdir, vin) < 0)
                return false;
        return access(p, F_OK) == 0;
}

static int vehicles_append(char ***v, size_t *n, const char *vin) {
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));

        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strdup(vin);
        if (!nv[*n])
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

int up_director_vehicles(UpRepo *d, char ***ret, size_t *ret_n) {
        _cleanup_free_ char *vdir = NULL;
        struct dirent *de;
        char **v = NULL;
        size_t n = 0;
        DIR *dir;
        int r = 0;

        if (asprintf(&vdir, "%s/vehicles", up_repo_dir(d)) < 0)
                return -ENOMEM;
        dir = opendir(vdir);
        if (!dir && errno != ENOENT) {
                r = negative_errno();
                return up_repo_fail(d, r, "cannot read '%s': %s", vdir, up_strerror(r));
        }
        while (dir && r >= 0 && (de = readdir(dir)))
                if (is_vehicle(vdir, de->d_name))
                        r = vehicles_append(&v, &n, de->d_name);
        if (dir)
                closedir(dir);
        if (r < 0) {
                up_director_vehicles_free(v, n);
                return r;
        }
        if (n > 0)
                qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
}

static int check_vehicle(UpRepo *d, const char *vin) {
        _cleanup_free_ char *vdir = NULL;
        int r;

        r = check_director(d);
        if (r >= 0)
                r = check_vin(d, vin);
        if (r < 0)
                return r;
        if (asprintf(&vdir, "%s/vehicles", up_repo_dir(d)) < 0)
                return -ENOMEM;
        if (!is_vehicle(vdir, vin))
                return up_repo_fail(d, -ENOENT, "'%s' has no vehicle %s", up_repo_dir(d), vin);
        return 0;
}

/* An empty targets carrying the VIN: Uptane 2.1 §5.2.3.1 (an empty targets
 * must identify the vehicle, or it could be replayed to another one). */
static int vehicle_body(UpRepo *d, const char *vin, time_t now, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *custom = json_object_new_object();
        char expires[21];
        int r;

        r = up_format_iso8601(now + (time_t) up_repo_expires(d, UP_ROLE_TARGETS), expires);
        if (r < 0)
                return r;
        if (!o || set(o, "custom", custom) < 0 || set(custom, "vin", json_object_new_string(vin)) < 0 ||
            set(o, "_type", json_object_new_string("targets")) < 0 ||
            set(o, "spec_version", json_object_new_string(UP_REPO_SPEC_VERSION)) < 0 ||
            set(o, "version", json_object_new_int64(1)) < 0 || set(o, "expires", json_object_new_string(expires)) < 0 ||
            set(o, "targets", json_object_new_object()) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* The staged targets of a new vehicle; false when it exists already. */
static int vehicle_create(UpRepo *d, const char *vin, time_t now, bool *ret_created) {
        _cleanup_json_ struct json_object *body = NULL;
        _cleanup_free_ char *vdir = NULL;
        int r;

        r = check_director(d);
        if (r >= 0)
                r = check_vin(d, vin);
        if (r < 0)
                return r;
        if (asprintf(&vdir, "%s/vehicles", up_repo_dir(d)) < 0)
                return -ENOMEM;
        *ret_created = !is_vehicle(vdir, vin);
        if (!*ret_created)
                return 0;
        r = vehicle_body(d, vin, now, &body);
        if (r < 0)
                return r;
        return up_repo_staged_write(d, vin, "targets", body);
}

int up_director_add_vehicle(UpRepo *d, const char *vin, time_t now) {
        bool created;
        int r;

        r = vehicle_create(d, vin, now, &created);
        if (r < 0 || !created)
                return r;
        return up_repo_publish_set(d, vin, NULL, 0, now);
}

static bool text_valid(const char *s, size_t max) {
        if (!s || !*s || strlen(s) > max)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static int check_assignment(UpRepo *d, const UpDirectorAssignment *a) {
        struct json_object *hashes;
        int64_t length;

        if (!text_valid(a->ecu_serial, MAX_SERIAL))
                return up_repo_fail(d, -EINVAL, "invalid ECU serial");
        if (!up_repo_target_name_valid(a->target_name))
                return up_repo_fail(d, -EINVAL, "invalid target name '%s'", a->target_name ? a->target_name : "");
        if (a->hardware_id && !text_valid(a->hardware_id, MAX_SERIAL))
                return up_repo_fail(d, -EINVAL, "invalid hardware id");
        if (up_json_get_int64(a->image_target, "length", &length) < 0 || length < 0 ||
            up_json_get_object(a->image_target, "hashes", &hashes) < 0 || json_object_object_length(hashes) == 0)
                return up_repo_fail(d, -EBADMSG, "%s: the Image repository's entry has no length or hashes",
                                    a->target_name);
        return 0;
}

static bool strv_json_contains(struct json_object *a, const char *s) {
        for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(a, i)) ?: "", s))
                        return true;
        return false;
}

/* Uptane 2.1 §5.2.3.1.1: the ECU gets an image made for its hardware. */
static int assignment_hardware_id(UpRepo *d, const UpDirectorAssignment *a, const char **ret) {
        struct json_object *hw = child(child(a->image_target, "custom"), "hardwareIds");
        size_t n = json_object_is_type(hw, json_type_array) ? json_object_array_length(hw) : 0;

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
        struct json_object *image_custom = child(a->image_target, "custom");
        struct json_object *ids = json_object_new_object(), *ecu = json_object_new_object();
        int r;

        if (!custom || set(custom, "ecuIdentifiers", ids) < 0 || set(ids, a->ecu_serial, ecu) < 0 ||
            set(ecu, "hardwareId", json_object_new_string(hw)) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(copied); i++) {
                r = set_copy(custom, copied[i], child(image_custom, copied[i]));
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
        if (r < 0 || (r = set(o, "custom", custom)) < 0)
                return r;
        r = set_copy(o, "hashes", child(a->image_target, "hashes"));
        if (r >= 0)
                r = set_copy(o, "length", child(a->image_target, "length"));
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
                struct json_object *ids = child(child(entry, "custom"), "ecuIdentifiers");

                if (!child(ids, serial))
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
        struct json_object *va = child(a, key), *vb = child(b, key);
        size_t la, lb;

        if (!va || !vb)
                return !va && !vb;
        if (up_cjson_encode(va, &ca, &la) < 0 || up_cjson_encode(vb, &cb, &lb) < 0)
                return false;
        return la == lb && memcmp(ca, cb, la) == 0;
}

/* Entries are keyed by name: ECUs share an entry only for the same image. */
static int add_entry(UpRepo *d, struct json_object *targets, const UpDirectorAssignment *a, const char *hw) {
        struct json_object *existing = child(targets, a->target_name), *entry = NULL, *ids, *ecu;
        int r;

        if (!existing) {
                r = director_entry(a, hw, &entry);
                return r < 0 ? r : set(targets, a->target_name, entry);
        }
        if (!same_member(existing, a->image_target, "length") || !same_member(existing, a->image_target, "hashes"))
                return up_repo_fail(d, -EEXIST,
                                    "another ECU of this vehicle is assigned a different image named '%s': one name, "
                                    "one image per vehicle", a->target_name);
        ids = child(child(existing, "custom"), "ecuIdentifiers");
        ecu = json_object_new_object();
        if (!ids || set(ids, a->ecu_serial, ecu) < 0)
                return ids ? -ENOMEM : -EBADMSG;
        return set(ecu, "hardwareId", json_object_new_string(hw));
}

/* A copy for the vehicle to download from the Director, checked first:
 * the Director never serves bytes the Image repository does not list. */
static int store_vehicle_image(UpRepo *d, const char *vin, const UpDirectorAssignment *a) {
        _cleanup_free_ uint8_t *file = NULL;
        const void *data = a->image_data;
        size_t len = a->image_len;
        int64_t length;
        int r;

        if (!a->image_file && !a->image_data)
                return 0;
        if (a->image_file) {
                r = up_read_file(a->image_file, SIZE_MAX - 1, &file, &len);
                if (r < 0)
                        return up_repo_fail(d, r, "cannot read '%s': %s", a->image_file, up_strerror(r));
                data = file;
        }
        (void) up_json_get_int64(a->image_target, "length", &length);
        r = up_fileinfo_check(length, child(a->image_target, "hashes"), data, len);
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

static int vehicle_targets(UpRepo *d, const char *vin, struct json_object **ret_body,
                           struct json_object **ret_targets) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        int r;

        r = up_repo_staged_read(d, vin, "targets", &body);
        if (r < 0)
                return r;
        targets = child(body, "targets");
        if (!json_object_is_type(targets, json_type_object))
                return up_repo_fail(d, -EBADMSG, "staged targets of vehicle %s has no targets object", vin);
        *ret_targets = targets;
        *ret_body = TAKE_PTR(body);
        return 0;
}

int up_director_assign(UpRepo *d, const char *vin, const UpDirectorAssignment *a, size_t n, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        bool created;
        int r;

        r = vehicle_create(d, vin, now, &created);
        if (r < 0)
                return r;
        r = vehicle_targets(d, vin, &body, &targets);
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

        r = check_vehicle(d, vin);
        if (r >= 0)
                r = vehicle_targets(d, vin, &body, &targets);
        if (r < 0)
                return r;
        if (ecu_serial)
                unassign_ecu(targets, ecu_serial);
        else if (set(body, "targets", json_object_new_object()) < 0)
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

        r = check_vehicle(d, vin);
        if (r >= 0)
                r = vehicle_targets(d, vin, &body, &targets);
        if (r < 0)
                return r;
        json_object_object_foreach(targets, name, entry) {
                _cleanup_free_ char *n = NULL;

                if (!child(child(child(entry, "custom"), "ecuIdentifiers"), ecu_serial))
                        continue;
                n = strdup(name);
                if (!n || json_object_deep_copy(entry, ret_entry, NULL) < 0)
                        return -ENOMEM;
                *ret_name = TAKE_PTR(n);
                return 0;
        }
        return up_repo_fail(d, -ENOENT, "ECU %s of vehicle %s has no target", ecu_serial, vin);
}
