/* SPDX-License-Identifier: MIT */
/* The signing side of metadata, for repository tools and tests. */
#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/metadata.h"
#include "util.h"

static int signature_object(const UpKey *key, const char *canonical, size_t len, struct json_object **ret) {
        _cleanup_free_ uint8_t *sig = NULL;
        _cleanup_free_ char *hex = NULL;
        struct json_object *o;
        char keyid[65];
        size_t sig_len;
        int r;

        r = up_key_keyid(key, keyid);
        if (r < 0)
                return r;
        r = up_key_sign(key, canonical, len, &sig, &sig_len);
        if (r < 0)
                return r;
        hex = malloc(2 * sig_len + 1);
        if (!hex)
                return -ENOMEM;
        up_hex_encode(sig, sig_len, hex);
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "keyid", json_object_new_string(keyid));
        json_object_object_add(o, "sig", json_object_new_string(hex));
        *ret = o;
        return 0;
}

int up_metadata_sign(struct json_object *signed_obj, UpKey *const *keys, size_t n_keys, bool pretty, char **ret,
                     size_t *ret_len) {
        _cleanup_json_ struct json_object *doc = NULL;
        _cleanup_free_ char *canonical = NULL;
        struct json_object *sigs;
        const char *s;
        size_t len;
        int r;

        r = up_cjson_encode(signed_obj, &canonical, &len);
        if (r < 0)
                return r;
        doc = json_object_new_object();
        sigs = json_object_new_array();
        if (!doc || !sigs) {
                json_object_put(sigs);
                return -ENOMEM;
        }
        json_object_object_add(doc, "signatures", sigs);
        json_object_object_add(doc, "signed", json_object_get(signed_obj));
        for (size_t i = 0; i < n_keys; i++) {
                struct json_object *sig;

                r = signature_object(keys[i], canonical, len, &sig);
                if (r < 0)
                        return r;
                json_object_array_add(sigs, sig);
        }
        s = json_object_to_json_string_ext(doc, (pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN) |
                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        if (!*ret)
                return -ENOMEM;
        *ret_len = strlen(s);
        return 0;
}
