/* SPDX-License-Identifier: MIT */
/* ECU registration: a vehicle's ECUs with their public keys, under the
 * fleet's provisioning token (Uptane 2.1 §5.3.2.2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "director_glue.h"
#include "inventory.h"
#include "server.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/key.h"

#define MAX_ECUS_PER_VEHICLE 256

static const UpJsonLimits request_limits = { .max_bytes = 1024 * 1024, .max_depth = 8, .max_values = 65536 };

bool identifier_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 256)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

/* A VIN names a directory: letters, digits, '-' and '_' only. */
bool vin_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", s[i]))
                        return false;
        return true;
}

bool token_valid(const Server *s, const char *authorization) {
        const char *want = s->cfg.provisioning_token;

        if (!want || !authorization || strncmp(authorization, "Bearer ", 7) != 0)
                return false;
        authorization += 7;
        return strlen(authorization) == strlen(want) && up_memeq(authorization, want, strlen(want));
}

static int parse_ecu(struct json_object *o, const char *primary, InventoryEcu *ret) {
        struct json_object *key_json;
        const char *serial, *hwid;
        char *canonical = NULL;
        UpKey *key = NULL;
        size_t len;
        int r;

        if (up_json_get_string(o, "ecu_serial", &serial) < 0 || up_json_get_string(o, "hardware_id", &hwid) < 0 ||
            up_json_get_object(o, "public_key", &key_json) < 0 || !identifier_valid(serial) || !identifier_valid(hwid))
                return -EBADMSG;
        /* Only keys we can verify with. */
        r = up_key_from_json(key_json, &key);
        if (r < 0)
                return r;
        up_key_unref(key);
        r = up_cjson_encode(key_json, &canonical, &len);
        if (r < 0)
                return r;
        *ret = (InventoryEcu) {
                .serial = strdup(serial),
                .hardware_id = strdup(hwid),
                .public_key = canonical,
                .is_primary = strcmp(serial, primary) == 0,
        };
        return ret->serial && ret->hardware_id ? 0 : -ENOMEM;
}

static int parse_ecus(struct json_object *o, const char *primary, InventoryEcu **ret, size_t *ret_n) {
        struct json_object *arr;
        InventoryEcu *v;
        size_t n, n_primary = 0;
        int r;

        r = up_json_get_array(o, "ecus", &arr);
        if (r < 0)
                return r;
        n = json_object_array_length(arr);
        if (n == 0 || n > MAX_ECUS_PER_VEHICLE)
                return -EFBIG;
        v = calloc(n, sizeof(InventoryEcu));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = parse_ecu(json_object_array_get_idx(arr, i), primary, &v[i]);
                for (size_t j = 0; r >= 0 && j < i; j++)
                        if (strcmp(v[i].serial, v[j].serial) == 0)
                                r = -ENOTUNIQ;
                if (r >= 0)
                        n_primary += v[i].is_primary;
        }
        if (r >= 0 && n_primary != 1)
                r = -EBADMSG; /* the primary must be one of the ECUs */
        if (r < 0) {
                inventory_ecus_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int handle_registration(Server *s, const Request *req, Reply *reply) {
        struct json_object *o = NULL, *answer;
        InventoryEcu *ecus = NULL;
        const char *vin, *primary;
        size_t n = 0;
        int r;

        if (!token_valid(s, req->authorization)) {
                log_msg(4, "registration from %s refused: bad provisioning token", req->peer);
                return reply_error(reply, 401, "provisioning token required");
        }
        r = up_json_parse(req->body, req->body_len, &request_limits, &o);
        if (r >= 0 && (up_json_get_string(o, "vin", &vin) < 0 || up_json_get_string(o, "primary_ecu_serial", &primary) < 0 ||
                       !vin_valid(vin) || !identifier_valid(primary)))
                r = -EBADMSG;
        if (r >= 0)
                r = parse_ecus(o, primary, &ecus, &n);
        if (r < 0) {
                json_object_put(o);
                return reply_error(reply, r == -EFBIG ? 413 : 400, "malformed registration (%s)", strerror(-r));
        }
        r = inventory_begin(s->inventory);
        if (r >= 0) {
                r = inventory_register(s->inventory, vin, ecus, n, time(NULL));
                if (r < 0)
                        inventory_rollback(s->inventory);
                else
                        r = inventory_commit(s->inventory);
        }
        if (r >= 0)
                r = director_vehicle_registered(s, vin);
        inventory_ecus_free(ecus, n);
        if (r == -EEXIST) {
                log_msg(4, "registration for %s refused: an ECU serial is registered already with other data "
                        "(spoofing?)", vin);
                json_object_put(o);
                return reply_error(reply, 409, "ECU already registered with another key or vehicle");
        }
        if (r < 0) {
                json_object_put(o);
                return reply_error(reply, 500, "cannot register: %s", strerror(-r));
        }
        log_msg(6, "vehicle %s registered with %zu ECUs", vin, n);
        answer = json_object_new_object();
        json_object_object_add(answer, "vin", json_object_new_string(vin));
        json_object_object_add(answer, "ecus", json_object_new_int64((int64_t) n));
        r = reply_json(reply, 200, answer);
        json_object_put(answer);
        json_object_put(o);
        return r;
}
