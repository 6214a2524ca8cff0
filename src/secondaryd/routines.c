/* SPDX-License-Identifier: MIT */
/* RoutineControl: 0A01 verifies the metadata the Primary sent, 0A02 installs the image it verified. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secondary_log.h"
#include "daemon_macro.h"
#include "slot.h"
#include "uds_handler.h"
#include "uptane/error.h"
#include "uptane_uds.h"

static void set_result(SecondaryRoutineResult *res, uint8_t result, int err, const char *fmt, ...) _printf_(4, 5);
static void set_result(SecondaryRoutineResult *res, uint8_t result, int err, const char *fmt, ...) {
        va_list ap;

        res->done = true;
        res->result = result;
        res->attack = (uint8_t) (err < 0 ? up_error_attack(err) : UP_ATTACK_NONE);
        va_start(ap, fmt);
        vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);
}

/* 71 type RID result attack message */
static int reply_result(UdsReply *r, uint8_t type, uint16_t rid, const SecondaryRoutineResult *res) {
        uint8_t record[2 + SECONDARY_MESSAGE_MAX];
        size_t n = strlen(res->message);

        record[0] = res->result;
        record[1] = res->attack;
        memcpy(record + 2, res->message, n);
        UdsRoutine rt = { .type = type, .rid = rid, .record = record, .record_len = 2 + n };
        return uds_build_routine_response(r->buf, r->size, &rt, &r->len);
}

/* --- 0A01 ------------------------------------------------------------------------------------ */

static int verify_metadata(SecondaryContext *ctx) {
        const SecondaryConfig *c = ctx->config;
        SecondaryState *s = ctx->state;
        UpFullVerificationError err = {};
        UpSecondaryVerification *v = NULL;
        bool full = c->verification == SECONDARY_VERIFICATION_FULL;
        int k;

        UpSecondaryConfig sc = {
                .director = { .metadata_dir = s->director_dir, .received_dir = s->incoming_director },
                .image = { .metadata_dir = s->image_dir, .received_dir = s->incoming_image },
                .ecu_serial = c->serial,
                .hardware_id = c->hardware_id,
                .vin = c->vin,
                .previous_release_counter = s->release_counter,
                .now = secondary_verification_time(ctx),
        };
        secondary_forget_verification(ctx);
        k = full ? up_secondary_full_verification(&sc, &v, &err) : up_secondary_partial_verification(&sc, &v, &err);
        if (k == -ENOMEM) {
                up_full_verification_error_done(&err);
                return k;
        }
        if (k < 0) {
                char what[SECONDARY_MESSAGE_MAX];

                snprintf(what, sizeof(what), "%s verification refused the metadata (%s)", full ? "full" : "partial",
                         up_repository_name(err.repository));
                set_result(&ctx->verify_result, UPTANE_ROUTINE_REJECTED, k, "%s: %s", what,
                           err.message ?: up_strerror(k));
                if (up_error_attack(k) != UP_ATTACK_NONE)
                        secondary_record_attack(ctx, SECONDARY_EVENT_ATTACK_REFUSED, k, what);
                else {
                        LogFields f = { .ecu_serial = c->serial, .error = k };
                        secondary_log_event(LOG_WARNING, SECONDARY_EVENT_VERIFICATION_FAILED, &f, "%s",
                                            ctx->verify_result.message);
                }
                up_full_verification_error_done(&err);
                return k;
        }
        ctx->verified = v;
        if (v->target)
                set_result(&ctx->verify_result, UPTANE_ROUTINE_OK, 0, "verified: %s is assigned to this ECU",
                           v->target->name);
        else
                set_result(&ctx->verify_result, UPTANE_ROUTINE_OK, 0, "verified: nothing to install");
        return 0;
}

/* --- 0A02 ------------------------------------------------------------------------------------ */

static int install(SecondaryContext *ctx) {
        UpSecondaryVerification *v = ctx->verified;
        _cleanup_free_ char *path = NULL;
        char what[SECONDARY_MESSAGE_MAX];
        int k;

        if (asprintf(&path, "%s/%s", ctx->state->incoming_target, v->target->name) < 0)
                return -ENOMEM;
        k = slot_install(ctx->config, ctx->state, v->target, v->release_counter, path);
        if (k == -ENOMEM)
                return k;
        if (k == -ENOENT) {
                set_result(&ctx->install_result, UPTANE_ROUTINE_FAILED, 0, "the image %s was not sent",
                           v->target->name);
                return -ENOENT;
        }
        if (k < 0 && up_error_attack(k) != UP_ATTACK_NONE) {
                snprintf(what, sizeof(what), "image %s refused", v->target->name);
                set_result(&ctx->install_result, UPTANE_ROUTINE_REJECTED, k, "%s: %s", what, up_strerror(k));
                secondary_record_attack(ctx, SECONDARY_EVENT_ATTACK_REFUSED, k, what);
                return k;
        }
        if (k < 0) {
                set_result(&ctx->install_result, UPTANE_ROUTINE_FAILED, k, "installing %s failed, previous slot kept: %s",
                           v->target->name, strerror(-k));
                return k;
        }
        set_result(&ctx->install_result, UPTANE_ROUTINE_OK, 0, "%s installed in slot %c", v->target->name,
                   ctx->state->active_slot ? 'b' : 'a');
        LogFields f = { .ecu_serial = ctx->config->serial, .target = v->target->name };
        secondary_log_event(LOG_NOTICE, SECONDARY_EVENT_INSTALLED, &f, "%s", ctx->install_result.message);
        secondary_forget_verification(ctx);
        (void) secondary_clear_dir(ctx->state->incoming_target);
        return 0;
}

/* --- 0x31 ------------------------------------------------------------------------------------ */

static int start(SecondaryContext *ctx, const UdsRoutine *rt, UdsReply *r) {
        SecondaryRoutineResult *res = rt->rid == UPTANE_RID_VERIFY_METADATA ? &ctx->verify_result : &ctx->install_result;
        int k;

        if (ctx->session != UDS_SESSION_PROGRAMMING)
                return uds_reply_negative(r, UDS_SID_ROUTINE_CONTROL, UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION);
        if (ctx->download.active)
                return uds_reply_negative(r, UDS_SID_ROUTINE_CONTROL, UDS_NRC_REQUEST_SEQUENCE_ERROR);
        if (rt->rid == UPTANE_RID_INSTALL && (!ctx->verified || !ctx->verified->target))
                return uds_reply_negative(r, UDS_SID_ROUTINE_CONTROL, UDS_NRC_CONDITIONS_NOT_CORRECT);
        k = rt->rid == UPTANE_RID_VERIFY_METADATA ? verify_metadata(ctx) : install(ctx);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return uds_reply_negative(r, UDS_SID_ROUTINE_CONTROL, UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        return reply_result(r, UDS_ROUTINE_START, rt->rid, res);
}

int secondary_uds_routine(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        const SecondaryRoutineResult *res;
        UdsRoutine rt;
        int k;

        k = uds_parse_routine_request(req, len, &rt);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        if (rt.rid != UPTANE_RID_VERIFY_METADATA && rt.rid != UPTANE_RID_INSTALL)
                return uds_reply_negative(r, req[0], UDS_NRC_REQUEST_OUT_OF_RANGE);
        if (rt.record_len > 0)
                return uds_reply_negative(r, req[0], UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT);
        if (rt.type == UDS_ROUTINE_START)
                k = start(ctx, &rt, r);
        else if (rt.type == UDS_ROUTINE_RESULTS) {
                res = rt.rid == UPTANE_RID_VERIFY_METADATA ? &ctx->verify_result : &ctx->install_result;
                k = res->done ? reply_result(r, UDS_ROUTINE_RESULTS, rt.rid, res)
                              : uds_reply_negative(r, req[0], UDS_NRC_REQUEST_SEQUENCE_ERROR);
        } else
                return uds_reply_negative(r, req[0], UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED);
        if (k >= 0 && rt.suppress && r->buf[0] != UDS_SID_NEGATIVE_RESPONSE)
                r->len = 0;
        return k;
}
