/* SPDX-License-Identifier: MIT */
/*
 * The Director's targets as a Primary accepts them (Uptane 2.1 §5.4.4.6
 * steps 6-8, with the VIN of §5.2.3.1). The TUF checks (signatures, version,
 * expiry, snapshot) were done by the trusted set; what is left is Uptane's:
 * the metadata is for this vehicle, delegates nothing, and assigns each of
 * this vehicle's ECUs at most one image. The entries are parsed once here,
 * so that later steps work on typed fields, not on attacker-shaped JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "uptane/error.h"
#include "uptane/verification.h"
#include "util.h"

/* A member of an object; NULL when o is no object or lacks it. */
static struct json_object *member(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

/* A copy of a JSON string of at most max bytes. Embedded NULs are refused:
 * "a\u0000b" must not compare equal to "a". */
static int dup_string(struct json_object *v, size_t max, bool allow_empty, char **ret) {
        const char *s;
        size_t len;
        char *copy;

        if (!v || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        s = json_object_get_string(v);
        len = (size_t) json_object_get_string_len(v);
        if (len > max)
                return -EFBIG;
        if ((len == 0 && !allow_empty) || memchr(s, '\0', len))
                return -EBADMSG;
        copy = strndup(s, len);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* Another vehicle's targets, or an old one from before custom.vin, is a
 * replay: refused even when it lists nothing (it would uninstall). */
static int check_vin(const UpMetadata *m, const char *vin) {
        struct json_object *v = member(member(up_metadata_signed(m), "custom"), "vin");

        if (!v)
                return -UP_ERR_MIX_AND_MATCH;
        if (!json_object_is_type(v, json_type_string))
                return -UP_ERR_MALFORMED;
        if ((size_t) json_object_get_string_len(v) != strlen(vin) || memcmp(json_object_get_string(v), vin, strlen(vin)) != 0)
                return -UP_ERR_MIX_AND_MATCH;
        return 0;
}

/* The Director signs with an online key: a delegation would let that key
 * hand image assignment to anyone (§5.4.4.6 step 6). An empty "delegations"
 * member grants nothing and is tolerated. */
static int check_no_delegations(const UpMetadata *m) {
        const UpKeyring *ring = up_targets_delegation_keyring(m);

        if (up_targets_n_delegations(m) > 0 || (ring && up_keyring_size(ring) > 0))
                return -UP_ERR_MALFORMED;
        return 0;
}

static int decode_digest(struct json_object *hex, UpHashAlg alg, UpImageHash *ret) {
        _cleanup_free_ uint8_t *bytes = NULL;
        size_t size = up_hash_alg_size(alg), len;
        int r;

        if (!json_object_is_type(hex, json_type_string) || (size_t) json_object_get_string_len(hex) != 2 * size)
                return -UP_ERR_MALFORMED;
        r = up_hex_decode(json_object_get_string(hex), 2 * size, &bytes, &len);
        if (r < 0)
                return -UP_ERR_MALFORMED;
        ret->alg = alg;
        memcpy(ret->digest, bytes, len);
        return 0;
}

int up_image_hashes_parse(struct json_object *hashes, UpImageHash ret[_UP_HASH_MAX], size_t *ret_n) {
        UpImageHash out[_UP_HASH_MAX] = {};
        bool seen[_UP_HASH_MAX] = {};
        size_t n = 0;

        if (!hashes || !json_object_is_type(hashes, json_type_object) || json_object_object_length(hashes) == 0)
                return -UP_ERR_MALFORMED;
        /* Keys are unique: more than we know means one we cannot compute. */
        if ((size_t) json_object_object_length(hashes) > _UP_HASH_MAX)
                return -UP_ERR_UNSUPPORTED;
        json_object_object_foreach(hashes, name, hex) {
                int alg = up_hash_alg_from_name(name), r;

                if (alg < 0)
                        return -UP_ERR_UNSUPPORTED;
                if (seen[alg])
                        return -UP_ERR_MALFORMED; /* two spellings of one algorithm */
                seen[alg] = true;
                r = decode_digest(hex, (UpHashAlg) alg, &out[n]);
                if (r < 0)
                        return r;
                n++;
        }
        memcpy(ret, out, sizeof(out));
        *ret_n = n;
        return 0;
}

static void target_done(UpDirectorTarget *t) {
        free(t->name);
        for (size_t i = 0; i < t->n_ecus; i++) {
                free(t->ecus[i].serial);
                free(t->ecus[i].hardware_id);
        }
        free(t->ecus);
        free(t->format);
        free(t->uri);
}

UpDirectorTargets *up_director_targets_free(UpDirectorTargets *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_targets; i++)
                target_done(&t->targets[i]);
        free(t->targets);
        free(t);
        return NULL;
}

static int ecu_cmp(const void *a, const void *b) {
        return strcmp(((const UpEcuImage *) a)->serial, ((const UpEcuImage *) b)->serial);
}

/* custom.ecuIdentifiers: {SERIAL: {"hardwareId": HW}, ...}, at least one
 * (§5.2.3.1.1: each Director image names the ECU it is for). *budget counts
 * the ECUs left for the whole targets. */
static int parse_ecus(struct json_object *custom, UpDirectorTarget *t, size_t *budget) {
        struct json_object *ids = member(custom, "ecuIdentifiers");
        size_t n;
        int r;

        if (!ids || !json_object_is_type(ids, json_type_object) || json_object_object_length(ids) == 0)
                return -UP_ERR_MALFORMED;
        n = (size_t) json_object_object_length(ids);
        if (n > *budget)
                return -UP_ERR_TOO_BIG;
        *budget -= n;
        t->ecus = calloc(n, sizeof(UpEcuImage));
        if (!t->ecus)
                return -ENOMEM;
        json_object_object_foreach(ids, serial, ecu) {
                UpEcuImage *e = &t->ecus[t->n_ecus++];

                if (strlen(serial) == 0 || strlen(serial) > UP_MAX_ECU_ID)
                        return strlen(serial) == 0 ? -UP_ERR_MALFORMED : -UP_ERR_TOO_BIG;
                e->serial = strdup(serial);
                if (!e->serial)
                        return -ENOMEM;
                r = dup_string(member(ecu, "hardwareId"), UP_MAX_ECU_ID, false, &e->hardware_id);
                if (r < 0)
                        return r;
        }
        qsort(t->ecus, t->n_ecus, sizeof(UpEcuImage), ecu_cmp);
        return 0;
}

static int parse_optional_string(struct json_object *custom, const char *key, char **ret) {
        struct json_object *v = member(custom, key);

        return v ? dup_string(v, UP_MAX_CUSTOM_STRING, true, ret) : 0;
}

static int parse_release_counter(struct json_object *custom, int64_t *ret) {
        struct json_object *v = member(custom, "releaseCounter");

        *ret = -1;
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return -UP_ERR_MALFORMED;
        *ret = json_object_get_int64(v);
        return 0;
}

static int parse_target(const UpTargetFile *tf, UpDirectorTarget *t, size_t *budget) {
        int r;

        t->name = strdup(tf->path);
        if (!t->name)
                return -ENOMEM;
        t->length = tf->length;
        r = up_image_hashes_parse(tf->hashes, t->hashes, &t->n_hashes);
        if (r < 0)
                return r;
        if (!tf->custom || !json_object_is_type(tf->custom, json_type_object))
                return -UP_ERR_MALFORMED;
        r = parse_ecus(tf->custom, t, budget);
        if (r < 0)
                return r;
        r = parse_release_counter(tf->custom, &t->release_counter);
        if (r < 0)
                return r;
        r = parse_optional_string(tf->custom, "targetFormat", &t->format);
        if (r < 0)
                return r;
        return parse_optional_string(tf->custom, "uri", &t->uri);
}

static int parse_targets(const UpMetadata *m, UpDirectorTargets *dt) {
        size_t n = up_targets_count(m), budget = UP_MAX_DIRECTOR_ECUS;
        int r;

        if (n > UP_MAX_DIRECTOR_TARGETS)
                return -UP_ERR_TOO_BIG;
        dt->targets = calloc(n > 0 ? n : 1, sizeof(UpDirectorTarget));
        if (!dt->targets)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                UpTargetFile tf;

                r = up_targets_at(m, i, &tf);
                if (r < 0)
                        return r;
                /* Counted first, so that a failure frees what was parsed. */
                dt->n_targets++;
                r = parse_target(&tf, &dt->targets[i], &budget);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int str_ptr_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* §5.4.4.6 step 7: two images for one ECU leave it to chance which one it
 * installs. Sorting all serials finds a repeat in O(n log n). */
static int check_ecus_unique(const UpDirectorTargets *dt) {
        _cleanup_free_ const char **serials = NULL;
        size_t n = 0;

        for (size_t i = 0; i < dt->n_targets; i++)
                n += dt->targets[i].n_ecus;
        if (n < 2)
                return 0;
        serials = calloc(n, sizeof(char *));
        if (!serials)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < dt->n_targets; i++)
                for (size_t j = 0; j < dt->targets[i].n_ecus; j++)
                        serials[n++] = dt->targets[i].ecus[j].serial;
        qsort(serials, n, sizeof(char *), str_ptr_cmp);
        for (size_t i = 1; i < n; i++)
                if (streq(serials[i - 1], serials[i]))
                        return -UP_ERR_DUPLICATE;
        return 0;
}

static bool in_list(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (list[i] && streq(list[i], s))
                        return true;
        return false;
}

/* §5.4.4.6 step 8 (Primary only): an image for an ECU we do not have means
 * the Director confuses us with another vehicle, or was told a lie. */
static int check_ecus_in_vehicle(const UpDirectorTargets *dt, const char *const *ecus, size_t n_ecus) {
        for (size_t i = 0; i < dt->n_targets; i++)
                for (size_t j = 0; j < dt->targets[i].n_ecus; j++)
                        if (!in_list(dt->targets[i].ecus[j].serial, ecus, n_ecus))
                                return -UP_ERR_UNKNOWN_ECU;
        return 0;
}

int up_director_targets_check(const UpMetadata *director_targets, const char *vin,
                              const char *const *vehicle_ecus, size_t n_vehicle_ecus,
                              UpDirectorTargets **ret) {
        _cleanup_(up_director_targets_freep) UpDirectorTargets *dt = NULL;
        int r;

        if (!director_targets || !vin || !ret || up_metadata_type(director_targets) != UP_ROLE_TARGETS ||
            (!vehicle_ecus && n_vehicle_ecus > 0))
                return -EINVAL;
        r = check_vin(director_targets, vin);
        if (r < 0)
                return r;
        r = check_no_delegations(director_targets);
        if (r < 0)
                return r;
        dt = calloc(1, sizeof(UpDirectorTargets));
        if (!dt)
                return -ENOMEM;
        r = parse_targets(director_targets, dt);
        if (r < 0)
                return r;
        r = check_ecus_unique(dt);
        if (r < 0)
                return r;
        if (vehicle_ecus) {
                r = check_ecus_in_vehicle(dt, vehicle_ecus, n_vehicle_ecus);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(dt);
        return 0;
}

const UpDirectorTarget *up_director_targets_find_ecu(const UpDirectorTargets *t, const char *ecu_serial,
                                                     const char **ret_hardware_id) {
        if (!t || !ecu_serial)
                return NULL;
        for (size_t i = 0; i < t->n_targets; i++) {
                UpEcuImage key = { .serial = (char *) ecu_serial };
                const UpEcuImage *e = bsearch(&key, t->targets[i].ecus, t->targets[i].n_ecus, sizeof(UpEcuImage),
                                              ecu_cmp);

                if (!e)
                        continue;
                if (ret_hardware_id)
                        *ret_hardware_id = e->hardware_id;
                return &t->targets[i];
        }
        return NULL;
}
