/* SPDX-License-Identifier: MIT */
/*
 * Vehicle version manifests (Uptane 2.1 §5.3.2.1): the Primary's signature,
 * every ECU report's signature, nonce and time are checked against the
 * inventory; accepted manifests update the inventory and end assignments
 * that were installed or failed. A refused manifest changes nothing but the
 * record of the attack.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "director_glue.h"
#include "inventory.h"
#include "server.h"
#include "uptane/manifest.h"

#define MAX_ENDED 256

typedef struct Check {
        unsigned status;   /* HTTP status when refused */
        char *why;         /* what was wrong (for the reply, the log and the attack record) */
        char *serial;      /* the ECU concerned, if any */
        bool attack;       /* worth recording as a possible attack */
} Check;

static void check_done(Check *c) {
        free(c->why);
        free(c->serial);
}

static int refuse(Check *c, unsigned status, bool attack, const char *serial, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Records why the manifest is refused; returns -EPERM to unwind. */
static int refuse(Check *c, unsigned status, bool attack, const char *serial, const char *fmt, ...) {
        va_list ap;

        c->status = status;
        c->attack = attack;
        c->serial = serial ? strdup(serial) : NULL;
        va_start(ap, fmt);
        if (vasprintf(&c->why, fmt, ap) < 0)
                c->why = NULL;
        va_end(ap);
        return -EPERM;
}

static int key_of(const InventoryEcu *e, UpKey **ret) {
        struct json_object *o = json_tokener_parse(e->public_key);
        int r;

        if (!o)
                return -EBADMSG;
        r = up_key_from_json(o, ret);
        json_object_put(o);
        return r;
}

static int check_primary(Server *s, const UpVehicleManifestDoc *doc, const char *vin, Check *c) {
        const UpVehicleManifest *m = up_vehicle_manifest_doc_manifest(doc);
        InventoryEcu e = {};
        UpKey *key = NULL;
        int r;

        r = inventory_get_ecu(s->inventory, m->primary_ecu_serial, &e);
        if (r == -ENOENT || (r >= 0 && (strcmp(e.vin, vin) != 0 || !e.is_primary))) {
                inventory_ecu_done(&e);
                return refuse(c, 403, true, m->primary_ecu_serial, "%s is not the registered Primary of this vehicle",
                              m->primary_ecu_serial);
        }
        if (r >= 0)
                r = key_of(&e, &key);
        inventory_ecu_done(&e);
        if (r < 0)
                return r;
        r = up_vehicle_manifest_verify(doc, key);
        up_key_unref(key);
        if (r < 0)
                return refuse(c, 401, true, m->primary_ecu_serial, "manifest not signed by the Primary %s",
                              m->primary_ecu_serial);
        return 0;
}

static int check_report_time(Server *s, const UpEcuReport *rep, Check *c) {
        time_t last = 0, now = time(NULL);
        int r;

        if (rep->timeserver_time > now + (time_t) s->cfg.max_clock_skew)
                return refuse(c, 400, true, rep->ecu_serial, "report of %s carries a time in the future",
                              rep->ecu_serial);
        r = inventory_last_report_time(s->inventory, rep->ecu_serial, &last);
        if (r < 0)
                return r;
        if (rep->timeserver_time < last)
                return refuse(c, 400, true, rep->ecu_serial, "report of %s is older than its last one (replay?)",
                              rep->ecu_serial);
        return 0;
}

static int check_report(Server *s, const UpEcuReportDoc *d, const char *vin, Check *c) {
        const UpEcuReport *rep = up_ecu_report_doc_report(d);
        InventoryEcu e = {};
        UpKey *key = NULL;
        int r;

        r = inventory_get_ecu(s->inventory, rep->ecu_serial, &e);
        if (r == -ENOENT || (r >= 0 && strcmp(e.vin, vin) != 0)) {
                inventory_ecu_done(&e);
                return refuse(c, 400, true, rep->ecu_serial, "ECU %s is not registered in this vehicle",
                              rep->ecu_serial);
        }
        if (r >= 0)
                r = key_of(&e, &key);
        inventory_ecu_done(&e);
        if (r < 0)
                return r;
        r = up_ecu_report_verify(d, key);
        up_key_unref(key);
        if (r < 0)
                return refuse(c, 400, true, rep->ecu_serial, "report of %s not signed by its key", rep->ecu_serial);
        r = inventory_use_nonce(s->inventory, rep->ecu_serial, rep->nonce);
        if (r == -EALREADY)
                return refuse(c, 409, true, rep->ecu_serial, "report of %s reuses a nonce (replay)", rep->ecu_serial);
        if (r < 0)
                return r;
        return check_report_time(s, rep, c);
}

static const UpInstallItem *install_item(const UpVehicleManifest *m, const char *serial) {
        if (!m->installation_report)
                return NULL;
        for (size_t i = 0; i < m->installation_report->n_items; i++)
                if (strcmp(m->installation_report->items[i].ecu_serial, serial) == 0)
                        return &m->installation_report->items[i];
        return NULL;
}

/* "installed" when the ECU runs the assigned image, "failed" when the
 * installation report says so, NULL while still pending. */
static const char *assignment_result(Server *s, const UpVehicleManifest *m, const char *vin, const UpEcuReport *rep,
                                     char **ret_target) {
        const UpInstallItem *item = install_item(m, rep->ecu_serial);
        char *name = NULL, *sha256 = NULL;
        const char *have, *result = NULL;

        if (director_assigned_target(s, vin, rep->ecu_serial, &name, &sha256) < 0)
                return NULL;
        have = up_image_info_hash(&rep->installed_image, "sha256");
        if (strcmp(rep->installed_image.filepath, name) == 0 && have && strcmp(have, sha256) == 0)
                result = "installed";
        else if (item && !item->result.success)
                result = "failed";
        free(sha256);
        if (result)
                *ret_target = name;
        else
                free(name);
        return result;
}

static int record_report(Server *s, const UpVehicleManifest *m, const char *vin, const UpEcuReportDoc *d,
                         char **ended, size_t *n_ended) {
        const UpEcuReport *rep = up_ecu_report_doc_report(d);
        struct json_object *signed_obj, *installed = NULL;
        const char *result;
        char *target = NULL;
        time_t now = time(NULL);
        int r;

        if (json_object_object_get_ex(up_ecu_report_doc_json(d), "signed", &signed_obj))
                json_object_object_get_ex(signed_obj, "installed_image", &installed);
        r = inventory_update_ecu(s->inventory, rep->ecu_serial,
                                 installed ? json_object_to_json_string_ext(installed, JSON_C_TO_STRING_PLAIN) : NULL,
                                 rep->timeserver_time, rep->attacks_detected);
        if (r >= 0 && rep->attacks_detected && rep->attacks_detected[0])
                r = inventory_record_attack(s->inventory, vin, rep->ecu_serial, rep->attacks_detected, now);
        if (r < 0)
                return r;
        result = assignment_result(s, m, vin, rep, &target);
        if (!result)
                return 0;
        r = inventory_record_result(s->inventory, vin, rep->ecu_serial, target, result, now);
        free(target);
        if (r >= 0 && *n_ended < MAX_ENDED)
                ended[(*n_ended)++] = strdup(rep->ecu_serial);
        return r;
}

static int check_and_record(Server *s, const UpVehicleManifestDoc *doc, const char *vin, const Request *req,
                            Check *c, char **ended, size_t *n_ended) {
        const UpVehicleManifest *m = up_vehicle_manifest_doc_manifest(doc);
        int r;

        r = check_primary(s, doc, vin, c);
        /* Without the Primary's report there is no nonce: the manifest could be replayed. */
        if (r >= 0 && !up_vehicle_manifest_find_report(doc, m->primary_ecu_serial))
                r = refuse(c, 400, true, m->primary_ecu_serial, "manifest has no report of the Primary %s",
                           m->primary_ecu_serial);
        for (size_t i = 0; r >= 0 && i < m->n_reports; i++)
                r = check_report(s, m->reports[i], vin, c);
        for (size_t i = 0; r >= 0 && i < m->n_reports; i++)
                r = record_report(s, m, vin, m->reports[i], ended, n_ended);
        if (r >= 0)
                r = inventory_record_manifest(s->inventory, vin, req->body, req->body_len, time(NULL));
        return r;
}

static void record_refusal(Server *s, const char *vin, const Check *c) {
        log_msg(4, "manifest of %s refused, possible attack: %s", vin, c->why ? c->why : "?");
        if (!c->attack || inventory_begin(s->inventory) < 0)
                return;
        if (inventory_record_attack(s->inventory, vin, c->serial, c->why ? c->why : "?", time(NULL)) < 0)
                inventory_rollback(s->inventory);
        else
                (void) inventory_commit(s->inventory);
}

static int reply_accepted(Reply *reply, char **ended, size_t n_ended) {
        struct json_object *o = json_object_new_object(), *a = json_object_new_array();
        int r;

        for (size_t i = 0; i < n_ended; i++)
                json_object_array_add(a, json_object_new_string(ended[i]));
        json_object_object_add(o, "status", json_object_new_string("accepted"));
        json_object_object_add(o, "assignments_ended", a);
        r = reply_json(reply, 200, o);
        json_object_put(o);
        return r;
}

int handle_manifest(Server *s, const Request *req, const char *vin, Reply *reply) {
        UpVehicleManifestDoc *doc = NULL;
        char *ended[MAX_ENDED];
        size_t n_ended = 0;
        Check c = {};
        int r;

        r = up_vehicle_manifest_parse(req->body, req->body_len, &doc);
        if (r < 0) {
                log_msg(4, "malformed manifest for %s from %s: %s", vin, req->peer, strerror(-r));
                return reply_error(reply, r == -EFBIG ? 413 : 400, "malformed vehicle manifest: %s", strerror(-r));
        }
        if (strcmp(up_vehicle_manifest_doc_manifest(doc)->vin, vin) != 0) {
                up_vehicle_manifest_doc_free(doc);
                return reply_error(reply, 400, "manifest is for another vehicle");
        }
        r = inventory_begin(s->inventory);
        if (r >= 0) {
                r = check_and_record(s, doc, vin, req, &c, ended, &n_ended);
                if (r < 0)
                        inventory_rollback(s->inventory);
                else
                        r = inventory_commit(s->inventory);
        }
        up_vehicle_manifest_doc_free(doc);
        if (r == -EPERM) {
                record_refusal(s, vin, &c);
                r = reply_error(reply, c.status, "%s", c.why ? c.why : "refused");
        } else if (r < 0) {
                log_msg(3, "manifest of %s not stored: %s", vin, strerror(-r));
                r = reply_error(reply, 500, "manifest not stored: %s", strerror(-r));
        } else {
                /* On disk now: the assignments that ended leave the Director's targets. */
                for (size_t i = 0; i < n_ended; i++)
                        if (director_assignment_ended(s, vin, ended[i]) < 0)
                                log_msg(3, "cannot end the assignment of %s in %s", ended[i], vin);
                r = reply_accepted(reply, ended, n_ended);
        }
        for (size_t i = 0; i < n_ended; i++)
                free(ended[i]);
        check_done(&c);
        return r;
}
