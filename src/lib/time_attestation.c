/* SPDX-License-Identifier: MIT */
/* The time server's signed attestation of the time, echoing the ECUs' nonces. */
#include <string.h>

#include <openssl/rand.h>

#include "message-internal.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
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
        int r;

        if (!ret)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = up_signed_message_parse(buf, len, &attestation_json_limits, &d->msg);
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

static int nonces_to_json(const int64_t *nonces, size_t n, struct json_object **ret) {
        _cleanup_json_ struct json_object *a = NULL;
        int r;

        r = up_message_check_list(n, nonces, UP_TIME_ATTESTATION_MAX_NONCES);
        if (r < 0)
                return r;
        a = json_object_new_array_ext((int) n);
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!up_nonce_valid(nonces[i]))
                        return -EINVAL;
                r = up_json_append(a, json_object_new_int64(nonces[i]));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

static int attestation_to_json(time_t time, const int64_t *nonces, size_t n, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *a = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = up_json_add_time(o, "time", time);
        if (r < 0)
                return r;
        r = nonces_to_json(nonces, n, &a);
        if (r < 0)
                return r;
        r = up_json_add(o, "nonces", a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int check_attestation(const char *text, size_t len) {
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *d = NULL;

        return up_time_attestation_parse(text, len, &d);
}

int up_time_attestation_sign(time_t time, const int64_t *nonces, size_t n_nonces, const UpKey *key, char **ret,
                             size_t *ret_len) {
        _cleanup_json_ struct json_object *signed_obj = NULL;
        int r;

        if (!key || !ret || !ret_len)
                return -EINVAL;
        r = attestation_to_json(time, nonces, n_nonces, &signed_obj);
        if (r < 0)
                return r;
        return up_signed_message_sign_checked(signed_obj, key, check_attestation, ret, ret_len);
}
