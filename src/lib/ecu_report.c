/* SPDX-License-Identifier: MIT */
/*
 * ECU version reports, and what the three signed messages of uptane/manifest.h
 * share: the envelope with {"keyid", "method", "sig"} signature objects and
 * the strict field getters.
 */
#include <string.h>

#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
#include "uptane/metadata.h"
#include "util.h"

/* The envelope, five levels of fixed members and a custom object. */
static const UpJsonLimits report_json_limits = {
        .max_bytes = UP_ECU_REPORT_MAX_BYTES,
        .max_depth = 16,
        .max_values = 16u * 1024u,
};

/* --- Field getters -------------------------------------------------------- */

static int check_id(const char *s) {
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

/* Non-empty lower-case hex of an even number of digits, at most max. */
static int check_hex(const char *s, size_t max) {
        size_t n = strnlen(s, max + 1);

        if (n > max)
                return -EFBIG;
        if (n == 0 || n % 2 != 0)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return -EBADMSG;
        return 0;
}

int up_message_get_id(struct json_object *o, const char *key, const char **ret) {
        const char *s;
        int r;

        r = up_json_get_string(o, key, &s);
        if (r < 0)
                return r;
        r = check_id(s);
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
        r = check_hex(s.sig, UP_MSG_MAX_SIG_HEX);
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

static int add_string(struct json_object *o, const char *key, const char *s) {
        if (!s)
                return -EINVAL;
        return json_add(o, key, json_object_new_string(s));
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
        r = add_string(o, "keyid", keyid);
        if (r >= 0)
                r = add_string(o, "method", up_key_scheme_name(up_key_scheme(key)));
        if (r >= 0)
                r = add_string(o, "sig", hex);
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
        r = json_add(doc, "signatures", sigs);
        if (r < 0)
                return r;
        if (json_object_array_add(sigs, sig) < 0)
                return -ENOMEM;
        sig = NULL; /* now owned by sigs */
        r = json_add(doc, "signed", json_object_get(signed_obj));
        if (r < 0)
                return r;
        return serialize(doc, ret, ret_len);
}

/* --- ECU version report --------------------------------------------------- */

struct UpEcuReportDoc {
        UpSignedMessage *msg;
        UpEcuReport report;
        UpHashHex hashes[UP_MSG_MAX_HASHES];
};

UpEcuReportDoc *up_ecu_report_doc_free(UpEcuReportDoc *d) {
        if (!d)
                return NULL;
        up_signed_message_free(d->msg);
        free(d);
        return NULL;
}

static int parse_hash(const char *alg, struct json_object *v, UpHashHex *ret) {
        const char *hex;
        int a, r;

        r = check_id(alg);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        hex = json_object_get_string(v);
        if (strlen(hex) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;
        r = check_hex(hex, UP_MSG_MAX_HASH_HEX);
        if (r < 0)
                return r;
        a = up_hash_alg_from_name(alg);
        if (a >= 0 && strlen(hex) != 2 * up_hash_alg_size(a))
                return -EBADMSG;
        *ret = (UpHashHex) { .alg = alg, .hex = hex };
        return 0;
}

static int parse_hashes(struct json_object *fileinfo, UpEcuReportDoc *d) {
        struct json_object *hashes;
        size_t n = 0;
        int r;

        r = up_json_get_object(fileinfo, "hashes", &hashes);
        if (r < 0)
                return r;
        if ((size_t) json_object_object_length(hashes) > UP_MSG_MAX_HASHES)
                return -EFBIG;
        json_object_object_foreach(hashes, alg, hex) {
                r = parse_hash(alg, hex, &d->hashes[n]);
                if (r < 0)
                        return r;
                n++;
        }
        if (n == 0)
                return -EBADMSG;
        d->report.installed_image.hashes = d->hashes;
        d->report.installed_image.n_hashes = n;
        return 0;
}

static int parse_image(struct json_object *signed_obj, UpEcuReportDoc *d) {
        UpImageInfo *img = &d->report.installed_image;
        struct json_object *image, *fileinfo;
        int r;

        r = up_json_get_object(signed_obj, "installed_image", &image);
        if (r < 0)
                return r;
        r = up_message_get_text(image, "filepath", &img->filepath);
        if (r < 0)
                return r;
        if (img->filepath[0] == '\0')
                return -EBADMSG;
        r = up_json_get_object(image, "fileinfo", &fileinfo);
        if (r < 0)
                return r;
        r = up_json_get_int64(fileinfo, "length", &img->length);
        if (r < 0)
                return r;
        if (img->length < 0)
                return -EBADMSG;
        return parse_hashes(fileinfo, d);
}

static int parse_counters(struct json_object *signed_obj, UpEcuReport *rep) {
        int r;

        r = up_json_get_int64(signed_obj, "nonce", &rep->nonce);
        if (r < 0)
                return r;
        if (!up_nonce_valid(rep->nonce))
                return -EBADMSG;
        r = up_json_get_int64(signed_obj, "report_counter", &rep->report_counter);
        if (r < 0)
                return r;
        return rep->report_counter < 0 ? -EBADMSG : 0;
}

static int parse_report(UpEcuReportDoc *d) {
        struct json_object *s = up_signed_message_signed(d->msg);
        UpEcuReport *rep = &d->report;
        int r;

        r = up_message_get_id(s, "ecu_serial", &rep->ecu_serial);
        if (r < 0)
                return r;
        r = parse_image(s, d);
        if (r < 0)
                return r;
        r = up_message_get_time(s, "timeserver_time", &rep->timeserver_time);
        if (r < 0)
                return r;
        r = up_message_get_time(s, "previous_timeserver_time", &rep->previous_timeserver_time);
        if (r < 0)
                return r;
        r = up_message_get_text(s, "attacks_detected", &rep->attacks_detected);
        if (r < 0)
                return r;
        r = parse_counters(s, rep);
        if (r < 0)
                return r;
        return up_message_get_custom(s, &rep->custom);
}

int up_ecu_report_from_json(struct json_object *doc, UpEcuReportDoc **ret) {
        _cleanup_(up_ecu_report_doc_freep) UpEcuReportDoc *d = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = up_signed_message_from_json(doc, &d->msg);
        if (r < 0)
                return r;
        r = parse_report(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int up_ecu_report_parse(const void *buf, size_t len, UpEcuReportDoc **ret) {
        _cleanup_json_ struct json_object *doc = NULL;
        int r;

        if ((!buf && len > 0) || !ret)
                return -EINVAL;
        r = up_json_parse(buf, len, &report_json_limits, &doc);
        if (r < 0)
                return r;
        return up_ecu_report_from_json(doc, ret);
}

const UpEcuReport *up_ecu_report_doc_report(const UpEcuReportDoc *d) {
        return d ? &d->report : NULL;
}

struct json_object *up_ecu_report_doc_json(const UpEcuReportDoc *d) {
        return d ? up_signed_message_json(d->msg) : NULL;
}

const char *up_image_info_hash(const UpImageInfo *info, const char *alg) {
        if (!info || !alg)
                return NULL;
        for (size_t i = 0; i < info->n_hashes; i++)
                if (info->hashes[i].alg && streq(info->hashes[i].alg, alg))
                        return info->hashes[i].hex;
        return NULL;
}

int up_ecu_report_verify(const UpEcuReportDoc *d, const UpKey *ecu_key) {
        if (!d)
                return -EINVAL;
        return up_signed_message_verify(d->msg, ecu_key);
}

/* --- Signing a report ------------------------------------------------------ */

static int hashes_to_json(const UpImageInfo *img, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        if (img->n_hashes > UP_MSG_MAX_HASHES)
                return -EFBIG;
        if (img->n_hashes > 0 && !img->hashes)
                return -EINVAL;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < img->n_hashes; i++) {
                const UpHashHex *h = &img->hashes[i];

                /* json-c would silently keep only the last of two. */
                if (!h->alg || json_object_object_get_ex(o, h->alg, NULL))
                        return -EINVAL;
                r = add_string(o, h->alg, h->hex);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static int image_to_json(const UpImageInfo *img, struct json_object **ret) {
        _cleanup_json_ struct json_object *image = NULL;
        struct json_object *fileinfo, *hashes = NULL;
        int r;

        image = json_object_new_object();
        if (!image)
                return -ENOMEM;
        r = add_string(image, "filepath", img->filepath);
        if (r < 0)
                return r;
        fileinfo = json_object_new_object();
        r = json_add(image, "fileinfo", fileinfo);
        if (r < 0)
                return r;
        r = json_add(fileinfo, "length", json_object_new_int64(img->length));
        if (r < 0)
                return r;
        r = hashes_to_json(img, &hashes);
        if (r < 0)
                return r;
        r = json_add(fileinfo, "hashes", hashes);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(image);
        return 0;
}

static int add_time(struct json_object *o, const char *key, time_t t) {
        char s[21];

        if (up_format_iso8601(t, s) < 0)
                return -EINVAL;
        return add_string(o, key, s);
}

static int add_report_fields(struct json_object *o, const UpEcuReport *in) {
        int r;

        r = add_time(o, "timeserver_time", in->timeserver_time);
        if (r < 0)
                return r;
        r = add_time(o, "previous_timeserver_time", in->previous_timeserver_time);
        if (r < 0)
                return r;
        r = add_string(o, "attacks_detected", in->attacks_detected ?: "");
        if (r < 0)
                return r;
        r = json_add(o, "nonce", json_object_new_int64(in->nonce));
        if (r < 0)
                return r;
        r = json_add(o, "report_counter", json_object_new_int64(in->report_counter));
        if (r < 0)
                return r;
        if (in->custom)
                r = json_add(o, "custom", json_object_get(in->custom));
        return r;
}

static int report_to_json(const UpEcuReport *in, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *image = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = add_string(o, "ecu_serial", in->ecu_serial);
        if (r < 0)
                return r;
        r = image_to_json(&in->installed_image, &image);
        if (r < 0)
                return r;
        r = json_add(o, "installed_image", image);
        if (r < 0)
                return r;
        r = add_report_fields(o, in);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int up_ecu_report_sign(const UpEcuReport *in, const UpKey *key, char **ret, size_t *ret_len) {
        _cleanup_(up_ecu_report_doc_freep) UpEcuReportDoc *check = NULL;
        _cleanup_json_ struct json_object *signed_obj = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (!in || !key || !ret || !ret_len)
                return -EINVAL;
        r = report_to_json(in, &signed_obj);
        if (r < 0)
                return r;
        r = up_signed_message_sign(signed_obj, key, &text, &len);
        if (r < 0)
                return r;
        /* Refuse to sign what a receiver would refuse to read. */
        r = up_ecu_report_parse(text, len, &check);
        if (r < 0)
                return r == -EFBIG || r == -ENOMEM ? r : -EINVAL;
        *ret = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}
