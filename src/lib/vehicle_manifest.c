/* SPDX-License-Identifier: MIT */
/* Vehicle version manifests: the Primary's signed bundle of ECU version reports. */
#include <string.h>

#include "message-internal.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
#include "util.h"

/* An embedded report sits three levels down (manifest, "signed",
 * "ecu_version_manifests"), so every report valid alone fits. */
static const UpJsonLimits manifest_json_limits = {
        .max_bytes = UP_VEHICLE_MANIFEST_MAX_BYTES,
        .max_depth = 20,
        .max_values = 4u * 1024u * 1024u,
};

struct UpVehicleManifestDoc {
        UpSignedMessage *msg;
        UpVehicleManifest manifest;
        UpEcuReportDoc **reports;
        size_t n_reports;
        UpInstallationReport installation_report;
        UpInstallItem *items;
};

UpVehicleManifestDoc *up_vehicle_manifest_doc_free(UpVehicleManifestDoc *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_reports; i++)
                up_ecu_report_doc_free(d->reports[i]);
        free(d->reports);
        free(d->items);
        up_signed_message_free(d->msg);
        free(d);
        return NULL;
}

/* --- Parsing ----------------------------------------------------------------- */

static int parse_reports(struct json_object *signed_obj, UpVehicleManifestDoc *d) {
        struct json_object *reports = NULL;
        size_t n;
        int r;

        r = up_json_get_object(signed_obj, "ecu_version_manifests", &reports);
        if (r < 0)
                return r;
        n = (size_t) json_object_object_length(reports);
        if (n > UP_VEHICLE_MANIFEST_MAX_ECUS)
                return -EFBIG;
        d->reports = calloc(n + 1, sizeof(UpEcuReportDoc *));
        if (!d->reports)
                return -ENOMEM;
        json_object_object_foreach(reports, serial, report) {
                UpEcuReportDoc *rep;

                r = up_ecu_report_from_json(report, &rep);
                if (r < 0)
                        return r;
                d->reports[d->n_reports++] = rep;
                /* ECU A's report must not speak for ECU B. */
                if (!streq(up_ecu_report_doc_report(rep)->ecu_serial, serial))
                        return -EXDEV;
        }
        d->manifest.reports = (const UpEcuReportDoc *const *) d->reports;
        d->manifest.n_reports = d->n_reports;
        return 0;
}

static int parse_result(struct json_object *o, UpInstallResult *ret) {
        struct json_object *result;
        UpInstallResult res;
        int success, r;

        r = up_json_get_object(o, "result", &result);
        if (r < 0)
                return r;
        r = up_json_get_bool(result, "success", &success);
        if (r < 0)
                return r;
        r = up_message_get_text(result, "code", &res.code);
        if (r < 0)
                return r;
        r = up_message_get_text(result, "description", &res.description);
        if (r < 0)
                return r;
        res.success = success;
        *ret = res;
        return 0;
}

static int parse_item(struct json_object *o, UpInstallItem *ret) {
        UpInstallItem item;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = up_message_get_id(o, "ecu", &item.ecu_serial);
        if (r < 0)
                return r;
        r = parse_result(o, &item.result);
        if (r < 0)
                return r;
        *ret = item;
        return 0;
}

static int parse_items(struct json_object *o, UpVehicleManifestDoc *d) {
        UpInstallationReport *ir = &d->installation_report;
        struct json_object *items;
        size_t n;
        int r;

        r = up_json_get_array(o, "items", &items);
        if (r < 0)
                return r;
        n = json_object_array_length(items);
        if (n > UP_VEHICLE_MANIFEST_MAX_ECUS)
                return -EFBIG;
        d->items = calloc(n + 1, sizeof(UpInstallItem));
        if (!d->items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = parse_item(json_object_array_get_idx(items, i), &d->items[i]);
                if (r < 0)
                        return r;
        }
        ir->items = d->items;
        ir->n_items = n;
        return 0;
}

static int parse_installation_report(struct json_object *signed_obj, UpVehicleManifestDoc *d) {
        UpInstallationReport *ir = &d->installation_report;
        struct json_object *o;
        int r;

        if (!json_object_object_get_ex(signed_obj, "installation_report", &o))
                return 0;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = up_message_get_id(o, "correlation_id", &ir->correlation_id);
        if (r < 0)
                return r;
        r = parse_result(o, &ir->result);
        if (r < 0)
                return r;
        r = parse_items(o, d);
        if (r < 0)
                return r;
        d->manifest.installation_report = ir;
        return 0;
}

static int parse_manifest(UpVehicleManifestDoc *d) {
        struct json_object *s = up_signed_message_signed(d->msg);
        UpVehicleManifest *m = &d->manifest;
        int r;

        r = up_message_get_id(s, "vin", &m->vin);
        if (r < 0)
                return r;
        r = up_message_get_id(s, "primary_ecu_serial", &m->primary_ecu_serial);
        if (r < 0)
                return r;
        r = parse_reports(s, d);
        if (r < 0)
                return r;
        r = parse_installation_report(s, d);
        if (r < 0)
                return r;
        return up_message_get_custom(s, &m->custom);
}

int up_vehicle_manifest_parse(const void *buf, size_t len, UpVehicleManifestDoc **ret) {
        _cleanup_(up_vehicle_manifest_doc_freep) UpVehicleManifestDoc *d = NULL;
        int r;

        if (!ret)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        r = up_signed_message_parse(buf, len, &manifest_json_limits, &d->msg);
        if (r < 0)
                return r;
        r = parse_manifest(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

const UpVehicleManifest *up_vehicle_manifest_doc_manifest(const UpVehicleManifestDoc *d) {
        return d ? &d->manifest : NULL;
}

const UpEcuReportDoc *up_vehicle_manifest_find_report(const UpVehicleManifestDoc *d, const char *ecu_serial) {
        if (!d || !ecu_serial)
                return NULL;
        for (size_t i = 0; i < d->n_reports; i++)
                if (streq(up_ecu_report_doc_report(d->reports[i])->ecu_serial, ecu_serial))
                        return d->reports[i];
        return NULL;
}

int up_vehicle_manifest_verify(const UpVehicleManifestDoc *d, const UpKey *primary_key) {
        if (!d)
                return -EINVAL;
        return up_signed_message_verify(d->msg, primary_key);
}

/* --- Signing ----------------------------------------------------------------- */

static int reports_to_json(const UpVehicleManifest *in, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        r = up_message_check_list(in->n_reports, in->reports, UP_VEHICLE_MANIFEST_MAX_ECUS);
        if (r < 0)
                return r;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < in->n_reports; i++) {
                const UpEcuReport *rep = up_ecu_report_doc_report(in->reports[i]);

                /* json-c would silently keep only the last of two. */
                if (!rep || json_object_object_get_ex(o, rep->ecu_serial, NULL))
                        return -EINVAL;
                r = up_json_add(o, rep->ecu_serial, json_object_get(up_ecu_report_doc_json(in->reports[i])));
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static int add_result(struct json_object *o, const UpInstallResult *res) {
        _cleanup_json_ struct json_object *result = NULL;
        int r;

        result = json_object_new_object();
        if (!result)
                return -ENOMEM;
        r = up_json_add(result, "success", json_object_new_boolean(res->success));
        if (r < 0)
                return r;
        r = up_json_add_string(result, "code", res->code);
        if (r < 0)
                return r;
        r = up_json_add_string(result, "description", res->description);
        if (r < 0)
                return r;
        return up_json_add(o, "result", TAKE_PTR(result));
}

static int add_item(struct json_object *items, const UpInstallItem *item) {
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = up_json_add_string(o, "ecu", item->ecu_serial);
        if (r < 0)
                return r;
        r = add_result(o, &item->result);
        if (r < 0)
                return r;
        return up_json_append(items, TAKE_PTR(o));
}

static int installation_report_to_json(const UpInstallationReport *ir, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *items;
        int r;

        r = up_message_check_list(ir->n_items, ir->items, UP_VEHICLE_MANIFEST_MAX_ECUS);
        if (r < 0)
                return r;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = up_json_add_string(o, "correlation_id", ir->correlation_id);
        if (r < 0)
                return r;
        r = add_result(o, &ir->result);
        if (r < 0)
                return r;
        items = json_object_new_array();
        r = up_json_add(o, "items", items);
        for (size_t i = 0; r >= 0 && i < ir->n_items; i++)
                r = add_item(items, &ir->items[i]);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int add_optional_parts(struct json_object *o, const UpVehicleManifest *in) {
        struct json_object *ir = NULL;
        int r;

        if (in->installation_report) {
                r = installation_report_to_json(in->installation_report, &ir);
                if (r < 0)
                        return r;
                r = up_json_add(o, "installation_report", ir);
                if (r < 0)
                        return r;
        }
        if (in->custom)
                return up_json_add(o, "custom", json_object_get(in->custom));
        return 0;
}

static int manifest_to_json(const UpVehicleManifest *in, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *reports = NULL;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        r = up_json_add_string(o, "vin", in->vin);
        if (r < 0)
                return r;
        r = up_json_add_string(o, "primary_ecu_serial", in->primary_ecu_serial);
        if (r < 0)
                return r;
        r = reports_to_json(in, &reports);
        if (r < 0)
                return r;
        r = up_json_add(o, "ecu_version_manifests", reports);
        if (r < 0)
                return r;
        r = add_optional_parts(o, in);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int check_manifest(const char *text, size_t len) {
        _cleanup_(up_vehicle_manifest_doc_freep) UpVehicleManifestDoc *d = NULL;

        return up_vehicle_manifest_parse(text, len, &d);
}

int up_vehicle_manifest_sign(const UpVehicleManifest *in, const UpKey *primary_key, char **ret, size_t *ret_len) {
        _cleanup_json_ struct json_object *signed_obj = NULL;
        int r;

        if (!in || !primary_key || !ret || !ret_len)
                return -EINVAL;
        r = manifest_to_json(in, &signed_obj);
        if (r < 0)
                return r;
        return up_signed_message_sign_checked(signed_obj, primary_key, check_manifest, ret, ret_len);
}
