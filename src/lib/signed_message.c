/* SPDX-License-Identifier: MIT */
/*
 * What the three signed messages of uptane/manifest.h share: the envelope with
 * {"keyid", "method", "sig"} signature objects, the strict field getters and
 * the building blocks of their signing side.
 */
#include <string.h>

#include "message-internal.h"
#include "uptane/hash.h"
#include "uptane/metadata.h"
#include "util.h"

/* --- Field getters -------------------------------------------------------- */

int up_message_check_id(const char *s) {
        size_t n = strnlen(s, UP_MSG_MAX_ID + 1);

        if (n > UP_MSG_MAX_ID)
                return -EFBIG;
        if (n == 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return -EBADMSG;
        return 0;
}

static bool is_lower_hex_digit(char c) {
        int v = hex_digit_value(c);

        return v >= 0 && "0123456789abcdef"[v] == c;
}

int up_message_check_hex(const char *s, size_t max) {
        size_t n = strnlen(s, max + 1);

        if (n > max)
                return -EFBIG;
        if (n == 0 || n % 2 != 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (!is_lower_hex_digit(s[i]))
                        return -EBADMSG;
        return 0;
}

int up_message_get_id(struct json_object *o, const char *key, const char **ret) {
        const char *s;
        int r;

        r = up_json_get_string(o, key, &s);
        if (r < 0)
                return r;
        r = up_message_check_id(s);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

int up_message_get_text(struct json_object *o, const char *key, const char **ret) {
        const char *s;
        int r;

        r = up_json_get_string(o, key, &s);
        if (r < 0)
                return r;
        if (strnlen(s, UP_MSG_MAX_TEXT + 1) > UP_MSG_MAX_TEXT)
                return -EFBIG;
        *ret = s;
        return 0;
}

int up_message_get_time(struct json_object *o, const char *key, time_t *ret) {
        const char *s;
        time_t t;
        int r;

        if (!ret)
                return -EINVAL;
        r = up_json_get_string(o, key, &s);
        if (r < 0)
                return r;
        r = up_parse_iso8601(s, &t);
        if (r < 0)
                return r;
        /* Earlier years would not format back into the same shape. */
        if (t < 0)
                return -EBADMSG;
        *ret = t;
        return 0;
}

int up_message_get_custom(struct json_object *o, struct json_object **ret) {
        _cleanup_free_ char *canonical = NULL;
        struct json_object *v;
        size_t len;
        int r;

        if (!ret)
                return -EINVAL;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(o, "custom", &v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_object))
                return -EBADMSG;
        r = up_cjson_encode(v, &canonical, &len);
        if (r < 0)
                return r;
        if (len > UP_MSG_MAX_CUSTOM)
                return -EFBIG;
        *ret = v;
        return 0;
}

/* --- The envelope --------------------------------------------------------- */

typedef struct MessageSignature {
        const char *keyid;  /* borrowed from the document */
        const char *method;
        const char *sig;    /* lower-case hex */
} MessageSignature;

struct UpSignedMessage {
        struct json_object *doc;
        struct json_object *signed_obj; /* borrowed from doc */
        char *canonical;                /* what the signatures cover */
        size_t canonical_len;
        MessageSignature sigs[UP_MSG_MAX_SIGNATURES];
        size_t n_sigs;
};

UpSignedMessage *up_signed_message_free(UpSignedMessage *m) {
        if (!m)
                return NULL;
        free(m->canonical);
        json_object_put(m->doc);
        free(m);
        return NULL;
}

static int parse_signature(struct json_object *o, MessageSignature *ret) {
        MessageSignature s;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = up_message_get_id(o, "keyid", &s.keyid);
        if (r < 0)
                return r;
        r = up_message_get_id(o, "method", &s.method);
        if (r < 0)
                return r;
        r = up_json_get_string(o, "sig", &s.sig);
        if (r < 0)
                return r;
        r = up_message_check_hex(s.sig, UP_MSG_MAX_SIG_HEX);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

static const MessageSignature *find_signature(const UpSignedMessage *m, const char *keyid) {
        for (size_t i = 0; i < m->n_sigs; i++)
                if (streq(m->sigs[i].keyid, keyid))
                        return &m->sigs[i];
        return NULL;
}

static int parse_signatures(UpSignedMessage *m, struct json_object *sigs) {
        size_t n = json_object_array_length(sigs);

        if (n > UP_MSG_MAX_SIGNATURES)
                return -EFBIG;
        for (size_t i = 0; i < n; i++) {
                MessageSignature s;
                int r;

                r = parse_signature(json_object_array_get_idx(sigs, i), &s);
                if (r < 0)
                        return r;
                /* Which of two signatures would count is anybody's guess. */
                if (find_signature(m, s.keyid))
                        return -ENOTUNIQ;
                m->sigs[m->n_sigs++] = s;
        }
        return 0;
}

int up_signed_message_from_json(struct json_object *doc, UpSignedMessage **ret) {
        _cleanup_(up_signed_message_freep) UpSignedMessage *m = NULL;
        struct json_object *sigs;
        int r;

        if (!ret)
                return -EINVAL;
        if (!json_object_is_type(doc, json_type_object))
                return -EBADMSG;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->doc = json_object_get(doc);
        r = up_json_get_object(doc, "signed", &m->signed_obj);
        if (r < 0)
                return r;
        r = up_json_get_array(doc, "signatures", &sigs);
        if (r < 0)
                return r;
        r = parse_signatures(m, sigs);
        if (r < 0)
                return r;
        r = up_cjson_encode(m->signed_obj, &m->canonical, &m->canonical_len);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int up_signed_message_parse(const void *buf, size_t len, const UpJsonLimits *limits, UpSignedMessage **ret) {
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        if ((!buf && len > 0) || !ret)
                return -EINVAL;
        r = up_json_parse(buf, len, limits, &doc);
        if (r < 0)
                return r;
        return up_signed_message_from_json(doc, ret);
}

struct json_object *up_signed_message_json(const UpSignedMessage *m) {
        return m ? m->doc : NULL;
}

struct json_object *up_signed_message_signed(const UpSignedMessage *m) {
        return m ? m->signed_obj : NULL;
}

int up_signed_message_verify(const UpSignedMessage *m, const UpKey *key) {
        _cleanup_free_ uint8_t *sig = NULL;
        const MessageSignature *s;
        const char *method;
        char keyid[65];
        size_t sig_len;
        int r;

        if (!m || !key)
                return -EINVAL;
        r = up_key_keyid(key, keyid);
        if (r < 0)
                return r;
        s = find_signature(m, keyid);
        method = up_key_scheme_name(up_key_scheme(key));
        if (!s || !method || !streq(s->method, method))
                return -EKEYREJECTED;
        r = up_hex_decode(s->sig, strlen(s->sig), &sig, &sig_len);
        if (r < 0)
                return r == -ENOMEM ? r : -EKEYREJECTED;
        r = up_key_verify(key, m->canonical, m->canonical_len, sig, sig_len);
        if (r == -ENOMEM)
                return r;
        return r < 0 ? -EKEYREJECTED : 0;
}

/* --- Building and signing ------------------------------------------------- */

int up_json_add_string(struct json_object *o, const char *key, const char *s) {
        if (!s)
                return -EINVAL;
        return up_json_add(o, key, json_object_new_string(s));
}

int up_json_add_time(struct json_object *o, const char *key, time_t t) {
        char s[21];

        if (up_format_iso8601(t, s) < 0)
                return -EINVAL;
        return up_json_add_string(o, key, s);
}

static int signature_new(const UpKey *key, const char *canonical, size_t len, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ uint8_t *sig = NULL;
        _cleanup_free_ char *hex = NULL;
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
        o = json_object_new_object();
        if (!hex || !o)
                return -ENOMEM;
        up_hex_encode(sig, sig_len, hex);
        r = up_json_add_string(o, "keyid", keyid);
        if (r >= 0)
                r = up_json_add_string(o, "method", up_key_scheme_name(up_key_scheme(key)));
        if (r >= 0)
                r = up_json_add_string(o, "sig", hex);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int serialize(struct json_object *o, char **ret, size_t *ret_len) {
        const char *s;
        size_t len;
        char *copy;

        s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, s, len + 1);
        *ret = copy;
        *ret_len = len;
        return 0;
}

int up_signed_message_sign(struct json_object *signed_obj, const UpKey *key, char **ret, size_t *ret_len) {
        _cleanup_json_ struct json_object *doc = NULL, *sig = NULL;
        _cleanup_free_ char *canonical = NULL;
        struct json_object *sigs;
        size_t len;
        int r;

        if (!json_object_is_type(signed_obj, json_type_object) || !key || !ret || !ret_len)
                return -EINVAL;
        r = up_cjson_encode(signed_obj, &canonical, &len);
        if (r < 0)
                return r == -EBADMSG ? -EINVAL : r;
        r = signature_new(key, canonical, len, &sig);
        if (r < 0)
                return r;
        doc = json_object_new_object();
        if (!doc)
                return -ENOMEM;
        sigs = json_object_new_array();
        r = up_json_add(doc, "signatures", sigs);
        if (r < 0)
                return r;
        r = up_json_append(sigs, TAKE_PTR(sig));
        if (r < 0)
                return r;
        r = up_json_add(doc, "signed", json_object_get(signed_obj));
        if (r < 0)
                return r;
        return serialize(doc, ret, ret_len);
}

int up_signed_message_sign_checked(struct json_object *signed_obj, const UpKey *key, UpMessageCheck check,
                                   char **ret, size_t *ret_len) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = up_signed_message_sign(signed_obj, key, &text, &len);
        if (r < 0)
                return r;
        /* Refuse to sign what a receiver would refuse to read. */
        r = check(text, len);
        if (r < 0)
                return r == -EFBIG || r == -ENOMEM ? r : -EINVAL;
        *ret = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}
