/* SPDX-License-Identifier: MIT */
/* The time server's signed attestation of the time, echoing the ECUs' nonces. */
#include <string.h>

#include <openssl/rand.h>

#include "uptane/json.h"
#include "uptane/manifest.h"
#include "uptane/metadata.h"
#include "util.h"

static const UpJsonLimits attestation_json_limits = {
        .max_bytes = UP_TIME_ATTESTATION_MAX_BYTES,
        .max_depth = 8,
        .max_values = 16u * 1024u,
};

struct UpTimeAttestationDoc {
        UpSignedMessage *msg;
        time_t time;
        int64_t *nonces;
        size_t n_nonces;
};

int up_nonce_generate(int64_t *ret) {
        uint8_t b[4];

        if (!ret)
                return -EINVAL;
        if (RAND_bytes(b, sizeof(b)) != 1)
                return -EIO;
        *ret = (int64_t) (((uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3]) &
                          (uint32_t) UP_NONCE_MAX);
        return 0;
}

UpTimeAttestationDoc *up_time_attestation_doc_free(UpTimeAttestationDoc *d) {
        if (!d)
                return NULL;
        up_signed_message_free(d->msg);
        free(d->nonces);
        free(d);
        return NULL;
}

/* --- Parsing ----------------------------------------------------------------- */

static int parse_nonces(struct json_object *signed_obj, UpTimeAttestationDoc *d) {
        struct json_object *nonces;
        size_t n;
        int r;

        r = up_json_get_array(signed_obj, "nonces", &nonces);
        if (r < 0)
                return r;
        n = json_object_array_length(nonces);
        if (n > UP_TIME_ATTESTATION_MAX_NONCES)
                return -EFBIG;
        d->nonces = calloc(n + 1, sizeof(int64_t));
        if (!d->nonces)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *v = json_object_array_get_idx(nonces, i);

                if (!json_object_is_type(v, json_type_int))
                        return -EBADMSG;
                /* Values above INT64_MAX read as INT64_MAX: out of range too. */
                d->nonces[i] = json_object_get_int64(v);
                if (!up_nonce_valid(d->nonces[i]))
                        return -EBADMSG;
        }
        d->n_nonces = n;
        return 0;
}

static int parse_attestation(UpTimeAttestationDoc *d) {
        struct json_object *s = up_signed_message_signed(d->msg);
        int r;

        r = up_message_get_time(s, "time", &d->time);
        if (r < 0)
                return r;
        return parse_nonces(s, d);
}

int up_time_attestation_parse(const void *buf, size_t len, UpTimeAttestationDoc **ret) {
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *d = NULL;
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        if ((!buf && len > 0) || !ret)
                return -EINVAL;
        r = up_json_parse(buf, len, &attestation_json_limits, &doc);
        if (r < 0)
                return r;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = up_signed_message_from_json(doc, &d->msg);
        if (r < 0)
                return r;
        r = parse_attestation(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

time_t up_time_attestation_time(const UpTimeAttestationDoc *d) {
        return d ? d->time : 0;
}

const int64_t *up_time_attestation_nonces(const UpTimeAttestationDoc *d, size_t *ret_n) {
        if (ret_n)
                *ret_n = d ? d->n_nonces : 0;
        return d ? d->nonces : NULL;
}

bool up_time_attestation_has_nonce(const UpTimeAttestationDoc *d, int64_t nonce) {
        if (!d)
                return false;
        for (size_t i = 0; i < d->n_nonces; i++)
                if (d->nonces[i] == nonce)
                        return true;
        return false;
}

int up_time_attestation_verify_nonces(const UpTimeAttestationDoc *d, const UpKey *key, const int64_t *required,
                                      size_t n_required, time_t last_verified_time) {
        int r;

        if (!d || !key || (n_required > 0 && !required))
                return -EINVAL;
        for (size_t i = 0; i < n_required; i++)
                if (!up_nonce_valid(required[i]))
                        return -EINVAL;
        r = up_signed_message_verify(d->msg, key);
        if (r < 0)
                return r;
        /* Without our nonce it may be an answer to somebody else, or old. */
        for (size_t i = 0; i < n_required; i++)
                if (!up_time_attestation_has_nonce(d, required[i]))
                        return -ESTALE;
        if (d->time <= last_verified_time)
                return -ESTALE;
        return 0;
}

int up_time_attestation_verify(const UpTimeAttestationDoc *d, const UpKey *key, int64_t required_nonce,
                               time_t last_verified_time) {
        return up_time_attestation_verify_nonces(d, key, &required_nonce, 1, last_verified_time);
}

/* --- Signing ----------------------------------------------------------------- */

/* Adds v to o, dropping v if that fails (json-c leaves it to the caller). */
static int json_add(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int nonces_to_json(const int64_t *nonces, size_t n, struct json_object **ret) {
        _cleanup_json_ struct json_object *a = NULL;

        if (n > UP_TIME_ATTESTATION_MAX_NONCES)
                return -EFBIG;
        if (n > 0 && !nonces)
                return -EINVAL;
        a = json_object_new_array_ext((int) n);
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *v;

                if (!up_nonce_valid(nonces[i]))
                        return -EINVAL;
                v = json_object_new_int64(nonces[i]);
                if (!v || json_object_array_add(a, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int attestation_to_json(time_t time, const int64_t *nonces, size_t n, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *a = NULL;
        char s[21];
        int r;

        if (up_format_iso8601(time, s) < 0)
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = json_add(o, "time", json_object_new_string(s));
        if (r < 0)
                return r;
        r = nonces_to_json(nonces, n, &a);
        if (r < 0)
                return r;
        r = json_add(o, "nonces", a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int up_time_attestation_sign(time_t time, const int64_t *nonces, size_t n_nonces, const UpKey *key, char **ret,
                             size_t *ret_len) {
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *check = NULL;
        _cleanup_json_ struct json_object *signed_obj = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (!key || !ret || !ret_len)
                return -EINVAL;
        r = attestation_to_json(time, nonces, n_nonces, &signed_obj);
        if (r < 0)
                return r;
        r = up_signed_message_sign(signed_obj, key, &text, &len);
        if (r < 0)
                return r;
        /* Refuse to sign what a receiver would refuse to read. */
        r = up_time_attestation_parse(text, len, &check);
        if (r < 0)
                return r == -EFBIG || r == -ENOMEM ? r : -EINVAL;
        *ret = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}
