/* SPDX-License-Identifier: MIT */
/* The Secondary's UDS server: dispatch, sessions, identification and the time attestation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secondary_log.h"
#include "daemon_macro.h"
#include "uds_handler.h"
#include "uptane/error.h"
#include "uptane/manifest.h"
#include "uptane_uds.h"

#define REPLY_SMALL 64u

void secondary_context_init(SecondaryContext *ctx, const SecondaryConfig *c, SecondaryState *s, const UpKey *time_key) {
        *ctx = (SecondaryContext) {
                .config = c,
                .state = s,
                .time_key = time_key,
                .max_block_len = 4096 + 2,
                .session = UDS_SESSION_DEFAULT,
                .transfer_fd = -1,
        };
}

void secondary_context_done(SecondaryContext *ctx) {
        secondary_transfer_abort(ctx);
        secondary_forget_verification(ctx);
}

void secondary_forget_verification(SecondaryContext *ctx) {
        ctx->verified = up_secondary_verification_free(ctx->verified);
}

time_t secondary_verification_time(const SecondaryContext *ctx) {
        if (ctx->time_key && ctx->state->time > 0)
                return (time_t) ctx->state->time;
        return time(NULL);
}

int uds_reply_alloc(UdsReply *r, size_t size) {
        r->buf = malloc(size);
        r->size = size;
        r->len = 0;
        return r->buf ? 0 : -ENOMEM;
}

int uds_reply_negative(UdsReply *r, uint8_t sid, uint8_t nrc) {
        r->buf[0] = UDS_SID_NEGATIVE_RESPONSE;
        r->buf[1] = sid;
        r->buf[2] = nrc;
        r->len = 3;
        return 0;
}

bool secondary_uds_is_long(const uint8_t *req, size_t len) {
        UdsRoutine rt;

        return uds_parse_routine_request(req, len, &rt) >= 0 && rt.type == UDS_ROUTINE_START &&
               (rt.rid == UPTANE_RID_VERIFY_METADATA || rt.rid == UPTANE_RID_INSTALL);
}

/* --- 0x10, 0x3E, 0x11 ------------------------------------------------------------------ */

static int session_control(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        UdsSessionTiming t = { .p2_ms = SECONDARY_P2_MS, .p2_star_ms = SECONDARY_P2_STAR_MS };
        uint8_t session;
        bool suppress;
        int k;

        k = uds_parse_session_control_request(req, len, &session, &suppress);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        if (session != UDS_SESSION_DEFAULT && session != UDS_SESSION_PROGRAMMING && session != UDS_SESSION_EXTENDED)
                return uds_reply_negative(r, req[0], UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED);
        if (session != ctx->session) {
                /* A session change ends a transfer; entering programming starts a new update. */
                secondary_transfer_abort(ctx);
                if (session == UDS_SESSION_PROGRAMMING) {
                        secondary_forget_verification(ctx);
                        (void) secondary_clear_dir(ctx->state->incoming_director);
                        (void) secondary_clear_dir(ctx->state->incoming_image);
                        (void) secondary_clear_dir(ctx->state->incoming_target);
                }
        }
        ctx->session = session;
        if (suppress)
                return 0;
        return uds_build_session_control_response(r->buf, r->size, session, &t, &r->len);
}

static int tester_present(const uint8_t *req, size_t len, UdsReply *r) {
        bool suppress;
        int k;

        k = uds_parse_tester_present(req, len, &suppress);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        if (suppress)
                return 0;
        return uds_build_tester_present_response(r->buf, r->size, &r->len);
}

static int ecu_reset(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        uint8_t type;
        bool suppress;
        int k;

        k = uds_parse_ecu_reset_request(req, len, &type, &suppress);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        if (type != UDS_RESET_HARD && type != UDS_RESET_KEY_OFF_ON && type != UDS_RESET_SOFT)
                return uds_reply_negative(r, req[0], UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED);
        /* The slot switch happened at install; a reset ends the session like a reboot would. */
        secondary_transfer_abort(ctx);
        ctx->session = UDS_SESSION_DEFAULT;
        ctx->reset_requested = true;
        if (suppress)
                return 0;
        return uds_build_ecu_reset_response(r->buf, r->size, type, -1, &r->len);
}

/* --- 0x22 ------------------------------------------------------------------------------ */

static int hashes_to_array(struct json_object *hashes, UpHashHex *ret, size_t *ret_n) {
        size_t n = 0;

        json_object_object_foreach(hashes, alg, hex) {
                if (n == UP_MSG_MAX_HASHES || !json_object_is_type(hex, json_type_string))
                        return -EBADMSG;
                ret[n++] = (UpHashHex) { alg, json_object_get_string(hex) };
        }
        *ret_n = n;
        return 0;
}

/* A fresh report with the current nonce and counter; the counter moves on. */
static int sign_report(SecondaryContext *ctx, char **ret, size_t *ret_len) {
        SecondaryState *s = ctx->state;
        UpHashHex hex[UP_MSG_MAX_HASHES];
        size_t n_hex = 0;
        time_t t = secondary_verification_time(ctx);
        int r;

        if (!s->key || !s->installed_hashes)
                return -ENOKEY;
        r = hashes_to_array(s->installed_hashes, hex, &n_hex);
        if (r < 0)
                return r;
        UpEcuReport rep = {
                .ecu_serial = ctx->config->serial,
                .installed_image = { .filepath = s->installed_name, .length = s->installed_length, .hashes = hex,
                                     .n_hashes = n_hex },
                .timeserver_time = t,
                .previous_timeserver_time = s->previous_time > 0 ? (time_t) s->previous_time : t,
                .attacks_detected = s->attacks ?: "",
                .nonce = s->nonce,
                .report_counter = s->report_counter,
        };
        r = up_ecu_report_sign(&rep, s->key, ret, ret_len);
        if (r < 0)
                return r;
        s->report_counter++;
        (void) secondary_state_save(s);
        LogFields f = { .ecu_serial = ctx->config->serial, .target = s->installed_name };
        secondary_log_event(LOG_INFO, SECONDARY_EVENT_REPORT_SIGNED, &f, "Signed ECU version report %lld (nonce %lld)",
                            (long long) rep.report_counter, (long long) rep.nonce);
        return 0;
}

static int read_public_key(SecondaryContext *ctx, char **ret, size_t *ret_len) {
        struct json_object *o;
        char *text;

        if (!ctx->state->key)
                return -ENOKEY;
        o = up_key_to_json(ctx->state->key);
        if (!o)
                return -ENOMEM;
        text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        *ret_len = strlen(text);
        return 0;
}

/* The data of a DID: -ENOENT unknown (0x31), -ENOKEY not available (0x22). */
static int did_data(SecondaryContext *ctx, uint16_t did, char **ret, size_t *ret_len) {
        const char *text = NULL;
        uint8_t nonce[8];

        switch (did) {
        case UPTANE_DID_ECU_SERIAL:
                text = ctx->config->serial;
                break;
        case UPTANE_DID_HARDWARE_ID:
                text = ctx->config->hardware_id;
                break;
        case UPTANE_DID_VIN:
                text = ctx->config->vin;
                if (!text)
                        return -ENOENT;
                break;
        case UPTANE_DID_VERIFICATION:
                text = secondary_verification_to_string(ctx->config->verification);
                break;
        case UPTANE_DID_PUBLIC_KEY:
                return read_public_key(ctx, ret, ret_len);
        case UPTANE_DID_VERSION_REPORT:
                return sign_report(ctx, ret, ret_len);
        case UPTANE_DID_NONCE:
                for (size_t i = 0; i < 8; i++)
                        nonce[i] = (uint8_t) ((uint64_t) ctx->state->nonce >> (8 * (7 - i)));
                *ret = malloc(8);
                if (!*ret)
                        return -ENOMEM;
                memcpy(*ret, nonce, 8);
                *ret_len = 8;
                return 0;
        default:
                return -ENOENT;
        }
        *ret = strdup(text);
        if (!*ret)
                return -ENOMEM;
        *ret_len = strlen(text);
        return 0;
}

static int read_did(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        _cleanup_free_ char *data = NULL;
        size_t data_len = 0;
        uint16_t did;
        int k;

        k = uds_parse_read_did_request(req, len, &did);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        k = did_data(ctx, did, &data, &data_len);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return uds_reply_negative(r, req[0],
                                          k == -ENOENT ? UDS_NRC_REQUEST_OUT_OF_RANGE : UDS_NRC_CONDITIONS_NOT_CORRECT);
        if (data_len + 3 > r->size) {
                free(r->buf);
                if (uds_reply_alloc(r, data_len + 3) < 0)
                        return -ENOMEM;
        }
        k = uds_build_read_did_response(r->buf, r->size, did, (const uint8_t *) data, data_len, &r->len);
        return k == -ENOBUFS ? uds_reply_negative(r, req[0], UDS_NRC_RESPONSE_TOO_LONG) : k;
}

/* --- 0x2E: the time attestation ---------------------------------------------------------- */

void secondary_record_attack(SecondaryContext *ctx, int event, int err, const char *what) {
        char line[SECONDARY_MESSAGE_MAX];
        LogFields f = { .ecu_serial = ctx->config->serial, .attack = up_attack_name(up_error_attack(err)),
                        .error = err };

        snprintf(line, sizeof(line), "%s: %s", what, up_strerror(err));
        secondary_log_event(LOG_WARNING, (SecondaryEvent) event, &f, "Attack detected (%s): %s", f.attack, line);
        (void) secondary_state_add_attack(ctx->state, line);
        (void) secondary_state_save(ctx->state);
}

static int take_attestation(SecondaryContext *ctx, const uint8_t *data, size_t data_len) {
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *doc = NULL;
        SecondaryState *s = ctx->state;
        int64_t nonce;
        int k;

        k = up_time_attestation_parse(data, data_len, &doc);
        if (k < 0)
                return k;
        /* Not older than the last one: an equal time is fine (two cycles in one
         * second), the nonce, rotated below, already rules out a replay. */
        k = up_time_attestation_verify(doc, ctx->time_key, s->nonce, (time_t) (s->time > 0 ? s->time - 1 : 0));
        if (k < 0)
                return k;
        k = up_nonce_generate(&nonce);
        if (k < 0)
                return k;
        s->previous_time = s->time > 0 ? s->time : (int64_t) up_time_attestation_time(doc);
        s->time = (int64_t) up_time_attestation_time(doc);
        s->nonce = nonce;
        k = secondary_state_save(s);
        if (k < 0)
                return k;
        LogFields f = { .ecu_serial = ctx->config->serial };
        secondary_log_event(LOG_INFO, SECONDARY_EVENT_NONCE_ROTATED, &f, "Time attestation verified: %lld",
                            (long long) s->time);
        return 0;
}

static int write_did(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        const uint8_t *data;
        size_t data_len;
        uint16_t did;
        int k;

        if (ctx->session != UDS_SESSION_PROGRAMMING)
                return uds_reply_negative(r, req[0], UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION);
        k = uds_parse_write_did_request(req, len, &did, &data, &data_len);
        if (k < 0)
                return uds_reply_negative(r, req[0], uds_nrc_from_parse_error(k));
        if (did != UPTANE_DID_TIME_ATTESTATION)
                return uds_reply_negative(r, req[0], UDS_NRC_REQUEST_OUT_OF_RANGE);
        if (!ctx->time_key)
                return uds_reply_negative(r, req[0], UDS_NRC_CONDITIONS_NOT_CORRECT);
        k = take_attestation(ctx, data, data_len);
        if (k == -ENOMEM)
                return k;
        if (k == -EBADMSG || k == -EFBIG || k == -EINVAL) {
                LogFields f = { .ecu_serial = ctx->config->serial, .error = k };

                secondary_log_event(LOG_WARNING, SECONDARY_EVENT_TIME_REFUSED, &f,
                                    "Time attestation refused: malformed (%s)", strerror(-k));
                return uds_reply_negative(r, req[0], UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT);
        }
        if (k == -ESTALE || k == -EKEYREJECTED) {
                secondary_record_attack(ctx, SECONDARY_EVENT_TIME_REFUSED, k, "time attestation refused");
                return uds_reply_negative(r, req[0], UDS_NRC_CONDITIONS_NOT_CORRECT);
        }
        if (k < 0)
                return uds_reply_negative(r, req[0], UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        return uds_build_write_did_response(r->buf, r->size, did, &r->len);
}

/* --- Dispatch ---------------------------------------------------------------------------- */

static int dispatch(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r) {
        switch (req[0]) {
        case UDS_SID_DIAGNOSTIC_SESSION_CONTROL:
                return session_control(ctx, req, len, r);
        case UDS_SID_TESTER_PRESENT:
                return tester_present(req, len, r);
        case UDS_SID_ECU_RESET:
                return ecu_reset(ctx, req, len, r);
        case UDS_SID_READ_DATA_BY_IDENTIFIER:
                return read_did(ctx, req, len, r);
        case UDS_SID_WRITE_DATA_BY_IDENTIFIER:
                return write_did(ctx, req, len, r);
        case UDS_SID_REQUEST_FILE_TRANSFER:
        case UDS_SID_TRANSFER_DATA:
        case UDS_SID_REQUEST_TRANSFER_EXIT:
                return secondary_uds_files(ctx, req, len, r);
        case UDS_SID_ROUTINE_CONTROL:
                return secondary_uds_routine(ctx, req, len, r);
        default:
                return uds_reply_negative(r, req[0], UDS_NRC_SERVICE_NOT_SUPPORTED);
        }
}

int secondary_uds_handle(SecondaryContext *ctx, const uint8_t *req, size_t len, uint8_t **ret, size_t *ret_len) {
        UdsReply r;
        int k;

        if (uds_reply_alloc(&r, REPLY_SMALL + SECONDARY_MESSAGE_MAX) < 0)
                return -ENOMEM;
        if (len == 0)
                k = uds_reply_negative(&r, 0, UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT);
        else
                k = dispatch(ctx, req, len, &r);
        if (k < 0 && k != -ENOMEM)
                k = uds_reply_negative(&r, len > 0 ? req[0] : 0, UDS_NRC_GENERAL_REJECT);
        if (k < 0) {
                free(r.buf);
                return k;
        }
        *ret = r.buf;
        *ret_len = r.len;
        return 0;
}
