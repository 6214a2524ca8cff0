/* SPDX-License-Identifier: MIT */
/*
 * A Secondary over UDS (ISO 14229-1) on DoIP or ISO-TP: each op of
 * secondary.h as the services of docs/POUF.md, "Uptane over UDS".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uptane/error.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
#include "uptane/storage.h"
#include "daemon_state.h"
#include "doip_client.h"
#include "isotp.h"
#include "macro.h"
#include "secondary.h"
#include "uds.h"
#include "uds_client.h"
#include "uptane_uds.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define RESPONSE_TIMEOUT_DEFAULT (2 * USEC_PER_SEC)
#define PENDING_TIMEOUT_DEFAULT (5 * USEC_PER_SEC)
#define MAX_PENDING_DEFAULT (600 * USEC_PER_SEC)
#define IDENTIFIER_MAX 256u    /* serial, hardware id (UP_MSG_MAX_ID) */
#define PUBLIC_KEY_MAX 16384u  /* a TUF key JSON */
#define TIME_ATTESTATION_MAX UP_TIME_ATTESTATION_MAX_BYTES
#define STATUS_TEXT_MAX 400u
#define CANCEL_POLL_USEC 200000u /* how often a wait looks at the cancel flag */

typedef struct SecondaryUds {
        Secondary base;
        UdsClient uds;
        uint64_t response_timeout_usec, pending_timeout_usec, max_pending_usec;

        /* DoIP: the client does the pending waits; send() keeps the answer for recv(). */
        DoipClient *doip;
        uint16_t target;
        uint8_t *answer;
        size_t answer_len;
        /* ISO-TP (and a caller's transport): the transport under the cancel checks */
        IsotpLink *link;
        UdsTransport inner;

        bool identified;
        bool programming;          /* in the programming session, as far as we know */
        uint64_t last_request_usec;
        uint64_t sent_usec;        /* ISO-TP: when the request being answered went out */
        uint8_t nrc;               /* of the last failure; 0: none */
        char error[512];
} SecondaryUds;

static SecondaryUds *uds_of(Secondary *s) {
        return (SecondaryUds *) s;
}

static bool cancelled(const SecondaryUds *u) {
        return u->base.cancel && atomic_load(u->base.cancel);
}

/* The start of every op: nothing to say yet. */
static void begin(SecondaryUds *u) {
        u->error[0] = '\0';
        u->nrc = 0;
}

static int fail(SecondaryUds *u, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(SecondaryUds *u, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(u->error, sizeof(u->error), fmt, ap);
        va_end(ap);
        return r;
}

/* After any failed request: the session and even the ECU behind the address are in doubt. */
static int request_failed(SecondaryUds *u, int r, const char *what) {
        uint8_t nrc = uds_client_last_nrc(&u->uds);

        u->programming = false;
        if (r == -EREMOTEIO) {
                const char *name = uds_nrc_name(nrc);
                u->nrc = nrc;
                return fail(u, r, "%s: negative response 0x%02X%s%s", what, nrc, name ? " " : "", name ?: "");
        }
        if (r == -ECANCELED) {
                /* An answer may still come: not on a connection we use again. */
                if (u->doip)
                        doip_client_disconnect(u->doip);
                return fail(u, r, "%s: cancelled", what);
        }
        u->identified = false;
        return fail(u, r, "%s: %s", what, strerror(-r));
}

static void mark_request(SecondaryUds *u) {
        u->last_request_usec = uds_transport_now_usec();
}

/* --- DoIP as a UdsTransport ----------------------------------------------------------------------- */

static unsigned usec_to_ms(uint64_t usec) {
        uint64_t ms = (usec + 999) / 1000;
        return ms > UINT32_MAX ? UINT32_MAX : (unsigned) ms;
}

/* The Secondary whose request this thread waits on: the pending rule has no userdata. */
static _Thread_local const SecondaryUds *waiting;

/* Once cancelled, a "response pending" ends the wait: the UDS layer's next
 * recv() then says -ECANCELED, within one P2* at most. */
static bool pending_unless_cancelled(const uint8_t *req, size_t req_len, const uint8_t *resp, size_t resp_len) {
        if (waiting && cancelled(waiting))
                return false;
        return doip_uds_response_pending(req, req_len, resp, resp_len);
}

static int doip_send(void *userdata, const uint8_t *data, size_t len) {
        SecondaryUds *u = userdata;

        free(u->answer);
        u->answer = NULL;
        if (cancelled(u))
                return -ECANCELED;
        waiting = u;
        return doip_client_request(u->doip, u->target, data, len, usec_to_ms(u->response_timeout_usec), &u->answer,
                                   &u->answer_len);
}

static int doip_recv(void *userdata, uint8_t **ret_data, size_t *ret_len, uint64_t deadline_usec) {
        SecondaryUds *u = userdata;

        (void) deadline_usec; /* send() waited already, pending answers included */
        if (!u->answer)
                return cancelled(u) ? -ECANCELED : -ETIMEDOUT;
        *ret_data = TAKE_PTR(u->answer);
        *ret_len = u->answer_len;
        return 0;
}

/* --- ISO-TP (or a caller's transport) with cancel checks ------------------------------------------------ */

static int checked_send(void *userdata, const uint8_t *data, size_t len) {
        SecondaryUds *u = userdata;

        if (cancelled(u))
                return -ECANCELED;
        u->sent_usec = uds_transport_now_usec();
        return u->inner.send(u->inner.userdata, data, len);
}

/* Waits in slices of CANCEL_POLL_USEC: whole messages only, so nothing is lost between them.
 *
 * The UDS client restarts P2* with each "response pending" and counts the
 * answers (pending_max, setup_client()), which bounds their number, not the
 * time: a Secondary that says "pending" just before each P2* ends held one
 * request for pending_max * P2* (10 min of install-timeout: 600 * 5 s, 50 min).
 * So no wait goes past max_pending after the request went out (at least
 * P2 after it), as doip_client's max_pending_ms does on DoIP. */
static int checked_recv(void *userdata, uint8_t **ret_data, size_t *ret_len, uint64_t deadline_usec) {
        SecondaryUds *u = userdata;
        uint64_t cap = u->sent_usec +
                       (u->max_pending_usec > u->response_timeout_usec ? u->max_pending_usec : u->response_timeout_usec);

        if (u->sent_usec != 0 && deadline_usec > cap)
                deadline_usec = cap;
        for (;;) {
                uint64_t now = uds_transport_now_usec(), slice = now + CANCEL_POLL_USEC;
                int r;

                if (cancelled(u))
                        return -ECANCELED;
                r = u->inner.recv(u->inner.userdata, ret_data, ret_len, slice < deadline_usec ? slice : deadline_usec);
                if (r != -ETIMEDOUT || slice >= deadline_usec)
                        return r;
        }
}

/* --- Requests ----------------------------------------------------------------------------------------- */

static int read_did(SecondaryUds *u, uint16_t did, size_t max, uint8_t **ret, size_t *ret_len, const char *what) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = uds_client_read_did(&u->uds, did, &data, &len);
        mark_request(u);
        if (r < 0)
                return request_failed(u, r, what);
        if (len > max)
                return fail(u, -EFBIG, "%s: %zu bytes, more than %zu", what, len, max);
        *ret = TAKE_PTR(data);
        *ret_len = len;
        return 0;
}

/* A DID holding printable ASCII (an identifier), as a string. */
static int read_did_string(SecondaryUds *u, uint16_t did, size_t max, char **ret, const char *what) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        char *s;
        int r;

        r = read_did(u, did, max, &data, &len, what);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len; i++)
                if (data[i] < 0x20 || data[i] >= 0x7f)
                        return fail(u, -EBADMSG, "%s: not printable ASCII", what);
        s = strndup((const char *) data, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int check_key(SecondaryUds *u) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_json_ struct json_object *doc = NULL;
        _cleanup_(up_key_unrefp) UpKey *key = NULL;
        UpJsonLimits limits = UP_JSON_LIMITS_DEFAULT;
        size_t len;
        int r;

        r = read_did(u, UPTANE_DID_PUBLIC_KEY, PUBLIC_KEY_MAX, &data, &len, "reading its public key (F1A0)");
        if (r < 0)
                return r;
        r = up_json_parse(data, len, &limits, &doc);
        if (r >= 0)
                r = up_key_from_json(doc, &key);
        if (r < 0)
                return fail(u, -EBADMSG, "its public key (F1A0) is not a TUF key: %s", up_strerror(r));
        if (!up_key_equal(key, u->base.key))
                return fail(u, -EKEYREJECTED, "its public key (F1A0) is not the configured one");
        return 0;
}

static int identify(SecondaryUds *u) {
        _cleanup_free_ char *serial = NULL, *hwid = NULL, *verification = NULL;
        const char *want = u->base.verification == SECONDARY_FULL ? "full" : "partial";
        int r;

        if (u->identified)
                return 0;
        r = read_did_string(u, UPTANE_DID_ECU_SERIAL, IDENTIFIER_MAX, &serial, "reading its serial (F18C)");
        if (r < 0)
                return r;
        if (strcmp(serial, u->base.serial) != 0)
                return fail(u, -EXDEV, "it says its serial is '%s', not '%s'", serial, u->base.serial);
        r = read_did_string(u, UPTANE_DID_HARDWARE_ID, IDENTIFIER_MAX, &hwid, "reading its hardware id (F191)");
        if (r < 0)
                return r;
        if (strcmp(hwid, u->base.hardware_id) != 0)
                return fail(u, -ENOEXEC, "it says its hardware id is '%s', not '%s'", hwid, u->base.hardware_id);
        r = check_key(u);
        if (r < 0)
                return r;
        r = read_did_string(u, UPTANE_DID_VERIFICATION, 16, &verification, "reading its verification type (F1A3)");
        if (r < 0)
                return r;
        if (strcmp(verification, want) != 0)
                return fail(u, -EMEDIUMTYPE, "it does %s verification, configured: %s", verification, want);
        u->identified = true;
        return 0;
}

static int enter_programming(SecondaryUds *u, bool force) {
        int r;

        if (!force && u->programming && uds_transport_now_usec() - u->last_request_usec < SECONDARY_UDS_S3_USEC)
                return 0;
        r = uds_client_session_control(&u->uds, UPTANE_SESSION_PROGRAMMING, NULL);
        mark_request(u);
        if (r < 0)
                return request_failed(u, r, "entering the programming session (10 02)");
        u->programming = true;
        return 0;
}

/* identify() and the programming session: the start of every op that writes. */
static int prepare(SecondaryUds *u, bool force_session) {
        int r;

        begin(u);
        r = identify(u);
        return r < 0 ? r : enter_programming(u, force_session);
}

/* --- Ops -------------------------------------------------------------------------------------------------- */

static int op_get_report(Secondary *s, uint8_t **ret, size_t *ret_len) {
        SecondaryUds *u = uds_of(s);
        int r;

        begin(u);
        r = identify(u);
        if (r < 0)
                return r;
        return read_did(u, UPTANE_DID_VERSION_REPORT, UP_ECU_REPORT_MAX_BYTES, ret, ret_len,
                        "reading its ECU version report (F1A1)");
}

static int op_get_nonce(Secondary *s, int64_t *ret) {
        SecondaryUds *u = uds_of(s);
        _cleanup_free_ uint8_t *data = NULL;
        uint64_t v = 0;
        size_t len;
        int r;

        begin(u);
        r = identify(u);
        if (r < 0)
                return r;
        r = read_did(u, UPTANE_DID_NONCE, 8, &data, &len, "reading its nonce (F1A2)");
        if (r < 0)
                return r;
        if (len != 8)
                return fail(u, -EBADMSG, "its nonce (F1A2) has %zu bytes, not 8", len);
        for (size_t i = 0; i < 8; i++)
                v = v << 8 | data[i];
        if (!up_nonce_valid((int64_t) v))
                return fail(u, -EBADMSG, "its nonce (F1A2) %" PRIu64 " is out of range", v);
        *ret = (int64_t) v;
        return 0;
}

static int op_send_time(Secondary *s, const void *attestation, size_t len) {
        SecondaryUds *u = uds_of(s);
        int r;

        if (len == 0 || len > TIME_ATTESTATION_MAX)
                return fail(u, -EINVAL, "a time attestation of %zu bytes", len);
        r = prepare(u, /* force_session= */ true);
        if (r < 0)
                return r;
        r = uds_client_write_did(&u->uds, UPTANE_DID_TIME_ATTESTATION, attestation, len);
        mark_request(u);
        return r < 0 ? request_failed(u, r, "writing the time attestation (2E F1A4)") : 0;
}

/* 38 replaceFile, 36..., 37. */
static int transfer_file(SecondaryUds *u, const char *path, const UdsSource *src) {
        UdsFileTransferRequest req = {
                .mode = UDS_FILE_REPLACE,
                .path = path,
                .path_len = strlen(path),
                .dfi = 0x00,
                .size_len = src->size > UINT32_MAX ? 8 : 4,
                .size_uncompressed = src->size,
                .size_compressed = src->size,
        };
        char what[UDS_FILE_PATH_MAX + 64];
        int r;

        if (req.path_len == 0 || req.path_len > UDS_FILE_PATH_MAX)
                return fail(u, -ENAMETOOLONG, "file name %s is too long for RequestFileTransfer", path);
        r = uds_client_file_transfer(&u->uds, &req, src);
        mark_request(u);
        snprintf(what, sizeof(what), "sending %s (38/36/37)", path);
        return r < 0 ? request_failed(u, r, what) : 0;
}

static bool wanted(const SecondaryUds *u, const SecondaryMetadataFile *f) {
        if (strcmp(f->repository, "director") == 0)
                return u->base.verification == SECONDARY_FULL || strcmp(f->role, "targets") == 0 ||
                       strcmp(f->role, "root") == 0 || strstr(f->role, ".root") != NULL;
        return strcmp(f->repository, "image") == 0 && u->base.verification == SECONDARY_FULL;
}

static int op_send_metadata(Secondary *s, const SecondaryMetadataFile *files, size_t n_files) {
        SecondaryUds *u = uds_of(s);
        int r;

        r = prepare(u, /* force_session= */ false);
        for (size_t i = 0; r >= 0 && i < n_files; i++) {
                _cleanup_free_ char *path = NULL;
                UdsSource src;

                if (!wanted(u, &files[i]))
                        continue;
                if (strchr(files[i].role, '/') || files[i].role[0] == '.')
                        return fail(u, -EINVAL, "role name '%s' cannot be a file name", files[i].role);
                if (asprintf(&path, "%s/%s.json", files[i].repository, files[i].role) < 0)
                        return -ENOMEM;
                src = uds_source_memory(files[i].data, files[i].len);
                r = transfer_file(u, path, &src);
        }
        return r;
}

typedef struct ImageSource {
        int fd;
        uint64_t total;
        int (*progress)(void *userdata, uint64_t done, uint64_t total);
        void *userdata;
} ImageSource;

static int image_read(void *userdata, uint64_t offset, uint8_t *buf, size_t len) {
        ImageSource *is = userdata;
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(is->fd, buf + done, len - done, (off_t) (offset + done));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* the file shrank */
                done += (size_t) n;
        }
        if (is->progress && is->progress(is->userdata, offset + len, is->total) != 0)
                return -ECANCELED;
        return 0;
}

static int op_send_image(Secondary *s, const char *target_name, const char *path, uint64_t length,
                         int (*progress)(void *userdata, uint64_t done, uint64_t total), void *userdata) {
        SecondaryUds *u = uds_of(s);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *remote = NULL;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0)
                return fail(u, -errno, "%s: %s", path, strerror(errno));
        if ((uint64_t) st.st_size != length)
                return fail(u, -EIO, "%s has %jd bytes, not %" PRIu64, path, (intmax_t) st.st_size, length);
        if (asprintf(&remote, "%s%s", UPTANE_PATH_TARGET_PREFIX, target_name) < 0)
                return -ENOMEM;
        r = prepare(u, /* force_session= */ false);
        if (r < 0)
                return r;
        ImageSource is = { fd, length, progress, userdata };
        UdsSource src = { image_read, &is, length };
        return transfer_file(u, remote, &src);
}

/* Control characters of the Secondary's sentence become '?'. */
static void copy_text(char *dst, size_t size, const uint8_t *src, size_t len) {
        size_t n = len < size - 1 ? len : size - 1;

        if (n > STATUS_TEXT_MAX)
                n = STATUS_TEXT_MAX;
        for (size_t i = 0; i < n; i++)
                dst[i] = src[i] < 0x20 || src[i] == 0x7f ? '?' : (char) src[i];
        dst[n] = '\0';
}

/* The routine status record: result, attack class, sentence. Returns 1 when
 * the routine succeeded, 0 with *o filled when it refused or failed. */
static int parse_status(SecondaryUds *u, const char *what, const uint8_t *rec, size_t len, InstallOutcome *o) {
        char text[STATUS_TEXT_MAX + 1];
        const char *attack;

        if (len < 2)
                return fail(u, -EBADMSG, "%s: a status record of %zu bytes", what, len);
        copy_text(text, sizeof(text), rec + 2, len - 2);
        attack = rec[1] < _UP_ATTACK_MAX ? up_attack_name((UpAttack) rec[1]) : "unknown";
        switch (rec[0]) {
        case UPTANE_ROUTINE_OK:
                return 1;
        case UPTANE_ROUTINE_REJECTED:
                install_outcome_set(o, false, "VERIFICATION_REJECTED", "%s: %s rejected the update (%s): %s", what,
                                    u->base.serial, attack, text);
                return 0;
        case UPTANE_ROUTINE_FAILED:
                install_outcome_set(o, false, "INSTALL_FAILED", "%s: %s failed, the previous image stays: %s", what,
                                    u->base.serial, text);
                return 0;
        default:
                return fail(u, -EBADMSG, "%s: unknown routine result 0x%02X", what, rec[0]);
        }
}

/* 31 01 RID; on 0x72 (or no status record) 31 03 RID gives the status record. */
static int run_routine(SecondaryUds *u, uint16_t rid, const char *what, InstallOutcome *o) {
        _cleanup_free_ uint8_t *status = NULL;
        size_t len = 0;
        int r;

        r = uds_client_routine(&u->uds, UDS_ROUTINE_START, rid, NULL, 0, &status, &len);
        mark_request(u);
        if (r == -EREMOTEIO && uds_client_last_nrc(&u->uds) != UDS_NRC_GENERAL_PROGRAMMING_FAILURE)
                return request_failed(u, r, what);
        if (r < 0 && r != -EREMOTEIO)
                return request_failed(u, r, what);
        if (r == -EREMOTEIO || len < 2) {
                free(TAKE_PTR(status));
                r = uds_client_routine(&u->uds, UDS_ROUTINE_RESULTS, rid, NULL, 0, &status, &len);
                mark_request(u);
                if (r < 0)
                        return request_failed(u, r, what);
        }
        return parse_status(u, what, status, len, o);
}

static int op_install(Secondary *s, InstallOutcome *ret) {
        SecondaryUds *u = uds_of(s);
        InstallOutcome o = {};
        int r;

        r = prepare(u, /* force_session= */ false);
        if (r >= 0)
                r = run_routine(u, UPTANE_RID_VERIFY_METADATA, "verifying the metadata (31 01 0A01)", &o);
        if (r > 0)
                r = run_routine(u, UPTANE_RID_INSTALL, "installing (31 01 0A02)", &o);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret = o;
                return 0;
        }
        install_outcome_set(&o, true, "OK", "Installed on %s", u->base.serial);
        r = uds_client_ecu_reset(&u->uds, UDS_RESET_HARD);
        mark_request(u);
        if (r < 0) {
                (void) request_failed(u, r, "resetting (11 01)");
                install_outcome_set(&o, true, "OK", "Installed on %s; the reset failed (%s): active after its next "
                                    "reset", u->base.serial, u->error);
        }
        /* The ECU restarts: a new connection, a new session, the identification again. */
        u->programming = false;
        u->identified = false;
        if (u->doip)
                doip_client_disconnect(u->doip);
        *ret = o;
        return 0;
}

static const char *op_last_error(Secondary *s) {
        return uds_of(s)->error;
}

static uint8_t op_last_nrc(Secondary *s) {
        return uds_of(s)->nrc;
}

static void op_free(Secondary *s) {
        SecondaryUds *u = uds_of(s);

        doip_client_free(u->doip);
        isotp_link_free(u->link);
        free(u->answer);
        free(s->name);
        free(s->serial);
        free(s->hardware_id);
        free(s->bus);
        up_key_unref(s->key);
        free(u);
}

static const SecondaryOps ops_doip = {
        "doip", op_get_report, op_get_nonce, op_send_time, op_send_metadata, op_send_image, op_install,
        op_last_error, op_last_nrc, op_free,
};

static const SecondaryOps ops_isotp = {
        "isotp", op_get_report, op_get_nonce, op_send_time, op_send_metadata, op_send_image, op_install,
        op_last_error, op_last_nrc, op_free,
};

static const SecondaryOps ops_other = {
        "uds", op_get_report, op_get_nonce, op_send_time, op_send_metadata, op_send_image, op_install,
        op_last_error, op_last_nrc, op_free,
};

Secondary *secondary_free(Secondary *s) {
        if (s)
                s->ops->free(s);
        return NULL;
}

/* --- Construction ------------------------------------------------------------------------------------ */

static int secondary_uds_alloc(const SecondaryUdsOptions *o, const SecondaryOps *ops, SecondaryUds **ret) {
        SecondaryUds *u;

        if (!o || !o->serial || !o->hardware_id || !o->key)
                return -EINVAL;
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->base.ops = ops;
        u->base.name = strdup(o->name ?: o->serial);
        u->base.serial = strdup(o->serial);
        u->base.hardware_id = strdup(o->hardware_id);
        u->base.key = up_key_ref(o->key);
        u->base.verification = o->verification;
        if (!u->base.name || !u->base.serial || !u->base.hardware_id) {
                op_free(&u->base);
                return -ENOMEM;
        }
        u->response_timeout_usec = o->response_timeout_usec ?: RESPONSE_TIMEOUT_DEFAULT;
        u->pending_timeout_usec = o->pending_timeout_usec ?: PENDING_TIMEOUT_DEFAULT;
        u->max_pending_usec = o->max_pending_usec ?: MAX_PENDING_DEFAULT;
        *ret = u;
        return 0;
}

static void setup_client(SecondaryUds *u, const UdsTransport *t) {
        uint64_t n = u->max_pending_usec / USEC_PER_SEC;

        uds_client_init(&u->uds, t);
        u->uds.p2_usec = u->response_timeout_usec;
        u->uds.p2_star_usec = u->pending_timeout_usec;
        /* Bounds a server that answers 0x78 for ever: at most max_pending
         * seconds' worth of answers, each within P2*. */
        u->uds.pending_max = n > UDS_CLIENT_PENDING_MAX_DEFAULT ? (unsigned) (n > 100000 ? 100000 : n)
                                                                : UDS_CLIENT_PENDING_MAX_DEFAULT;
}

int secondary_uds_new(const SecondaryUdsOptions *o, const struct UdsTransport *t, Secondary **ret) {
        SecondaryUds *u;
        int r;

        if (!t || !ret)
                return -EINVAL;
        r = secondary_uds_alloc(o, &ops_other, &u);
        if (r < 0)
                return r;
        u->inner = *t;
        setup_client(u, &(UdsTransport) { checked_send, checked_recv, u });
        *ret = &u->base;
        return 0;
}

int secondary_uds_new_doip(const SecondaryUdsOptions *o, const char *address, uint16_t port,
                           uint16_t logical_address, Secondary **ret) {
        DoipClientOptions dopt;
        SecondaryUds *u;
        int r;

        if (!address || !ret)
                return -EINVAL;
        r = secondary_uds_alloc(o, &ops_doip, &u);
        if (r < 0)
                return r;
        doip_client_options_init(&dopt);
        dopt.address = address;
        dopt.port = port ?: DOIP_PORT;
        dopt.tester_address = UPTANE_DOIP_TESTER_ADDRESS;
        dopt.response_timeout_ms = usec_to_ms(u->response_timeout_usec);
        dopt.pending_timeout_ms = usec_to_ms(u->pending_timeout_usec);
        dopt.max_pending_ms = usec_to_ms(u->max_pending_usec);
        dopt.is_pending = pending_unless_cancelled;
        r = doip_client_new(&dopt, &u->doip);
        if (r < 0) {
                op_free(&u->base);
                return r;
        }
        u->target = logical_address;
        setup_client(u, &(UdsTransport) { doip_send, doip_recv, u });
        /* The largest request a DoIP diagnostic message carries. */
        u->uds.max_request = DOIP_MAX_PAYLOAD_DEFAULT - DOIP_DIAG_ADDRESSES_SIZE;
        *ret = &u->base;
        return 0;
}

int secondary_uds_new_isotp(const SecondaryUdsOptions *o, const SecondaryIsotpOptions *io, Secondary **ret) {
        IsotpOptions iopt;
        SecondaryUds *u;
        int r;

        if (!io || !io->interface || !ret)
                return -EINVAL;
        iopt = isotp_options_default(io->tx_id, io->rx_id);
        iopt.extended_ids = io->tx_id > ISOTP_CAN_SFF_MAX || io->rx_id > ISOTP_CAN_SFF_MAX;
        iopt.padding = io->padding;
        iopt.block_size = io->block_size;
        iopt.stmin = io->stmin;
        iopt.can_fd = io->fd;
        iopt.tx_dl = io->fd ? 64 : 8;
        r = isotp_options_check(&iopt);
        if (r < 0)
                return r;
        r = secondary_uds_alloc(o, &ops_isotp, &u);
        if (r < 0)
                return r;
        u->base.bus = strdup(io->interface);
        r = u->base.bus ? isotp_link_open(io->interface, &iopt, &u->link) : -ENOMEM;
        if (r < 0) {
                op_free(&u->base);
                return r;
        }
        u->inner = isotp_link_transport(u->link);
        setup_client(u, &(UdsTransport) { checked_send, checked_recv, u });
        u->uds.max_request = ISOTP_PDU_MAX;
        *ret = &u->base;
        return 0;
}

/* --- From uptane.conf ------------------------------------------------------------------------------------ */

int secondary_new_from_config(const SecondaryConfig *sc, Secondary **ret, char **reterr) {
        _cleanup_(up_key_unrefp) UpKey *key = NULL;
        int r;

        r = daemon_load_public_key(sc->public_key, PUBLIC_KEY_MAX, &key);
        if (r < 0) {
                if (asprintf(reterr, "[secondary.%s] public-key: cannot load %s: %s", sc->name, sc->public_key,
                             up_strerror(r)) < 0)
                        *reterr = NULL;
                return r;
        }
        SecondaryUdsOptions o = {
                .name = sc->name,
                .serial = sc->serial,
                .hardware_id = sc->hardware_id,
                .key = key,
                .verification = sc->verification == 1 ? SECONDARY_PARTIAL : SECONDARY_FULL,
                .response_timeout_usec = sc->timeout_s * USEC_PER_SEC,
                .max_pending_usec = sc->install_timeout_s * USEC_PER_SEC,
        };
        if (sc->transport == SECONDARY_TRANSPORT_DOIP)
                r = secondary_uds_new_doip(&o, sc->address, (uint16_t) sc->port, (uint16_t) sc->logical_address, ret);
        else {
                SecondaryIsotpOptions io = {
                        .interface = sc->interface,
                        .rx_id = (uint32_t) sc->rx_id,
                        .tx_id = (uint32_t) sc->tx_id,
                        .fd = sc->fd == 1,
                        .padding = sc->padding == SECONDARY_CONFIG_UNSET ? -1 : (int) sc->padding,
                        .block_size = (uint8_t) sc->block_size,
                        .stmin = (uint8_t) sc->stmin,
                };
                r = secondary_uds_new_isotp(&o, &io, ret);
        }
        if (r < 0 && asprintf(reterr, "[secondary.%s]: cannot set up %s: %s", sc->name,
                              secondary_transport_to_string(sc->transport) ?: "?", strerror(-r)) < 0)
                *reterr = NULL;
        return r;
}
