/* SPDX-License-Identifier: MIT */
/*
 * Parses the input as an ECU version report and as a vehicle version
 * manifest, and verifies what parses against a fixed ed25519 key (the seeds in
 * corpus/manifest/ are signed by its private key, which is not kept: to sign
 * new seeds, generate a key and replace FUZZ_KEY). Crashes on an errno
 * outside the documented classes, on a report filed under another serial, and
 * when what was parsed cannot be signed again into the same payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uptane/manifest.h"
#include "../../src/lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KEY "{\"keytype\":\"ed25519\",\"scheme\":\"ed25519\",\"keyval\":{\"public\":" \
                 "\"97e0c589010c5cdd58c87f9c244ff969057f4b7f9bf69c52741b249e931d2a61\"}}"

static UpKey *fixed_key, *signing_key;

static void init(void) {
        struct json_object *o;

        if (fixed_key)
                return;
        o = json_tokener_parse(FUZZ_KEY);
        if (!o || up_key_from_json(o, &fixed_key) < 0 || up_key_generate(UP_SCHEME_ED25519, &signing_key) < 0)
                abort();
        json_object_put(o);
}

static bool is_parse_error(int r, bool vehicle) {
        return r == -EBADMSG || r == -EFBIG || r == -ENOTUNIQ || (vehicle && r == -EXDEV);
}

static void check_verify(int r) {
        if (r != 0 && r != -EKEYREJECTED)
                abort();
}

static bool str_eq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static void assert_same_report(const UpEcuReport *a, const UpEcuReport *b) {
        const UpImageInfo *ia = &a->installed_image, *ib = &b->installed_image;

        if (!str_eq(a->ecu_serial, b->ecu_serial) || !str_eq(ia->filepath, ib->filepath) ||
            ia->length != ib->length || ia->n_hashes != ib->n_hashes ||
            a->timeserver_time != b->timeserver_time || a->previous_timeserver_time != b->previous_timeserver_time ||
            !str_eq(a->attacks_detected, b->attacks_detected) || a->nonce != b->nonce ||
            a->report_counter != b->report_counter || !a->custom != !b->custom ||
            (a->custom && !json_object_equal(a->custom, b->custom)))
                abort();
        for (size_t i = 0; i < ia->n_hashes; i++)
                if (!str_eq(up_image_info_hash(ib, ia->hashes[i].alg), ia->hashes[i].hex))
                        abort();
}

/* What was parsed signs again, unless the new signature makes it too big. */
static void resign_report(const UpEcuReport *rep) {
        _cleanup_(up_ecu_report_doc_freep) UpEcuReportDoc *again = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = up_ecu_report_sign(rep, signing_key, &text, &len);
        if (r == -EFBIG)
                return;
        if (r < 0 || up_ecu_report_parse(text, len, &again) < 0)
                abort();
        assert_same_report(rep, up_ecu_report_doc_report(again));
        if (up_ecu_report_verify(again, signing_key) != 0)
                abort();
}

static void fuzz_report(const uint8_t *data, size_t size) {
        _cleanup_(up_ecu_report_doc_freep) UpEcuReportDoc *d = NULL;
        int r;

        r = up_ecu_report_parse(data, size, &d);
        if (r < 0) {
                if (!is_parse_error(r, false) || d)
                        abort();
                return;
        }
        check_verify(up_ecu_report_verify(d, fixed_key));
        resign_report(up_ecu_report_doc_report(d));
}

static void resign_vehicle(const UpVehicleManifest *m) {
        _cleanup_(up_vehicle_manifest_doc_freep) UpVehicleManifestDoc *again = NULL;
        _cleanup_free_ char *text = NULL;
        const UpVehicleManifest *m2;
        size_t len;
        int r;

        r = up_vehicle_manifest_sign(m, signing_key, &text, &len);
        if (r == -EFBIG)
                return;
        if (r < 0 || up_vehicle_manifest_parse(text, len, &again) < 0)
                abort();
        m2 = up_vehicle_manifest_doc_manifest(again);
        if (!str_eq(m->vin, m2->vin) || !str_eq(m->primary_ecu_serial, m2->primary_ecu_serial) ||
            m->n_reports != m2->n_reports || !m->installation_report != !m2->installation_report ||
            (m->installation_report && m->installation_report->n_items != m2->installation_report->n_items))
                abort();
        if (up_vehicle_manifest_verify(again, signing_key) != 0)
                abort();
}

static void fuzz_vehicle(const uint8_t *data, size_t size) {
        _cleanup_(up_vehicle_manifest_doc_freep) UpVehicleManifestDoc *d = NULL;
        const UpVehicleManifest *m;
        int r;

        r = up_vehicle_manifest_parse(data, size, &d);
        if (r < 0) {
                if (!is_parse_error(r, true) || d)
                        abort();
                return;
        }
        check_verify(up_vehicle_manifest_verify(d, fixed_key));
        m = up_vehicle_manifest_doc_manifest(d);
        for (size_t i = 0; i < m->n_reports; i++) {
                const UpEcuReport *rep = up_ecu_report_doc_report(m->reports[i]);

                if (up_vehicle_manifest_find_report(d, rep->ecu_serial) != m->reports[i])
                        abort();
                check_verify(up_ecu_report_verify(m->reports[i], fixed_key));
        }
        resign_vehicle(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        init();
        fuzz_report(data, size);
        fuzz_vehicle(data, size);
        return 0;
}
