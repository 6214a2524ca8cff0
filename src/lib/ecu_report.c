/* SPDX-License-Identifier: MIT */
/* ECU version reports: one ECU's signed account of its installed image. */
#include <string.h>

#include "message-internal.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
#include "util.h"

/* The envelope, five levels of fixed members and a custom object. */
static const UpJsonLimits report_json_limits = {
        .max_bytes = UP_ECU_REPORT_MAX_BYTES,
        .max_depth = 16,
        .max_values = 16u * 1024u,
};

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

        r = up_message_check_id(alg);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        hex = json_object_get_string(v);
        if (strlen(hex) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;
        r = up_message_check_hex(hex, UP_MSG_MAX_HASH_HEX);
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

        r = up_message_check_list(img->n_hashes, img->hashes, UP_MSG_MAX_HASHES);
        if (r < 0)
                return r;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < img->n_hashes; i++) {
                const UpHashHex *h = &img->hashes[i];

                /* json-c would silently keep only the last of two. */
                if (!h->alg || json_object_object_get_ex(o, h->alg, NULL))
                        return -EINVAL;
                r = up_json_add_string(o, h->alg, h->hex);
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
        r = up_json_add_string(image, "filepath", img->filepath);
        if (r < 0)
                return r;
        fileinfo = json_object_new_object();
        r = up_json_add(image, "fileinfo", fileinfo);
        if (r < 0)
                return r;
        r = up_json_add(fileinfo, "length", json_object_new_int64(img->length));
        if (r < 0)
                return r;
        r = hashes_to_json(img, &hashes);
        if (r < 0)
                return r;
        r = up_json_add(fileinfo, "hashes", hashes);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(image);
        return 0;
}

static int add_report_fields(struct json_object *o, const UpEcuReport *in) {
        int r;

        r = up_json_add_time(o, "timeserver_time", in->timeserver_time);
        if (r < 0)
                return r;
        r = up_json_add_time(o, "previous_timeserver_time", in->previous_timeserver_time);
        if (r < 0)
                return r;
        r = up_json_add_string(o, "attacks_detected", in->attacks_detected ?: "");
        if (r < 0)
                return r;
        r = up_json_add(o, "nonce", json_object_new_int64(in->nonce));
        if (r < 0)
                return r;
        r = up_json_add(o, "report_counter", json_object_new_int64(in->report_counter));
        if (r < 0)
                return r;
        if (in->custom)
                r = up_json_add(o, "custom", json_object_get(in->custom));
        return r;
}

static int report_to_json(const UpEcuReport *in, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *image = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = up_json_add_string(o, "ecu_serial", in->ecu_serial);
        if (r < 0)
                return r;
        r = image_to_json(&in->installed_image, &image);
        if (r < 0)
                return r;
        r = up_json_add(o, "installed_image", image);
        if (r < 0)
                return r;
        r = add_report_fields(o, in);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int check_report(const char *text, size_t len) {
        _cleanup_(up_ecu_report_doc_freep) UpEcuReportDoc *d = NULL;

        return up_ecu_report_parse(text, len, &d);
}

int up_ecu_report_sign(const UpEcuReport *in, const UpKey *key, char **ret, size_t *ret_len) {
        _cleanup_json_ struct json_object *signed_obj = NULL;
        int r;

        if (!in || !key || !ret || !ret_len)
                return -EINVAL;
        r = report_to_json(in, &signed_obj);
        if (r < 0)
                return r;
        return up_signed_message_sign_checked(signed_obj, key, check_report, ret, ret_len);
}
