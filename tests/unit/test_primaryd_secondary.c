/* SPDX-License-Identifier: MIT */
/* secondary_uds.c against a fake UDS server over an in-memory UdsTransport:
 * every op of secondary.h with the mapping's services (docs/POUF.md,
 * "Uptane over UDS"), negative responses, response pending (also timed,
 * just before each P2*: capped at install-timeout on the ISO-TP path), a
 * timeout, a cancel; secondary_pool.c's bound on threads. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uptane/json.h"
#include "uptane/key.h"
#include "secondary.h"
#include "secondary_pool.h"
#include "uds.h"
#include "uds_transport.h"
#include "uptane_uds.h"

#define MAX_MSGS 8
#define MAX_FILES 16
#define MSG_MAX 1024

typedef struct FakeFile {
        char path[128];
        uint8_t *data;
        size_t len;
} FakeFile;

/* The fake Secondary: answers each request as it is sent. */
typedef struct Fake {
        /* identification */
        const char *serial, *hwid, *verification;
        char *key_json;
        const char *report;
        uint8_t nonce[8];
        /* behaviour */
        bool silent;                /* answers nothing: timeouts */
        uint8_t nrc_sid, nrc;       /* answers 7F nrc_sid nrc to that service */
        uint8_t verify_result, install_result, attack;
        bool verify_by_results;     /* 0A01 start answers 0x72, the record comes with 0x03 */
        unsigned pending;           /* 0x78 answers before each routine's final answer */
        /* Timed responsePending (7F 22 78) to each ReadDataByIdentifier, one
         * every trickle_gap_usec (just before each P2* deadline) as the wall
         * clock goes, trickle_count of them (UINT_MAX: for ever), then the answer. */
        unsigned trickle_count;
        uint64_t trickle_gap_usec;
        unsigned trickle_left, trickled;  /* still to send for the held request; sent in all */
        uint64_t trickle_next;            /* when the next one is due */
        uint8_t held[64];                 /* the request answered after them */
        size_t held_len;
        /* what it saw */
        unsigned sessions, resets, requests;
        uint8_t *attestation;
        size_t attestation_len;
        FakeFile files[MAX_FILES];
        size_t n_files;
        bool transferring;
        uint8_t next_bsc;
        /* answers waiting for recv() */
        uint8_t msgs[MAX_MSGS][MSG_MAX];
        size_t lens[MAX_MSGS];
        size_t head, n;
} Fake;

static Fake fake;
static UpKey *private_key, *public_key;

static void queue(const uint8_t *m, size_t len) {
        ck_assert_uint_lt(fake.n, MAX_MSGS);
        ck_assert_uint_le(len, MSG_MAX);
        memcpy(fake.msgs[(fake.head + fake.n) % MAX_MSGS], m, len);
        fake.lens[(fake.head + fake.n) % MAX_MSGS] = len;
        fake.n++;
}

static void queue_nrc(uint8_t sid, uint8_t nrc) {
        uint8_t b[3];
        size_t len;

        ck_assert_int_eq(uds_build_negative_response(b, sizeof(b), sid, nrc, &len), 0);
        queue(b, len);
}

static void answer_did(uint16_t did) {
        uint8_t b[MSG_MAX];
        const uint8_t *data = NULL;
        size_t len, data_len = 0;

        switch (did) {
        case UPTANE_DID_ECU_SERIAL: data = (const uint8_t *) fake.serial; data_len = strlen(fake.serial); break;
        case UPTANE_DID_HARDWARE_ID: data = (const uint8_t *) fake.hwid; data_len = strlen(fake.hwid); break;
        case UPTANE_DID_PUBLIC_KEY: data = (const uint8_t *) fake.key_json; data_len = strlen(fake.key_json); break;
        case UPTANE_DID_VERIFICATION:
                data = (const uint8_t *) fake.verification;
                data_len = strlen(fake.verification);
                break;
        case UPTANE_DID_VERSION_REPORT: data = (const uint8_t *) fake.report; data_len = strlen(fake.report); break;
        case UPTANE_DID_NONCE: data = fake.nonce; data_len = 8; break;
        default: queue_nrc(UDS_SID_READ_DATA_BY_IDENTIFIER, UDS_NRC_REQUEST_OUT_OF_RANGE); return;
        }
        ck_assert_int_eq(uds_build_read_did_response(b, sizeof(b), did, data, data_len, &len), 0);
        queue(b, len);
}

static void answer_file_transfer(const uint8_t *req, size_t req_len) {
        UdsFileTransferRequest ft;
        UdsFileTransferResponse rsp = { .mode = UDS_FILE_REPLACE, .max_block_len = 130, .dfi = 0 };
        FakeFile *f;
        uint8_t b[64];
        size_t len;

        ck_assert_int_eq(uds_parse_file_transfer_request(req, req_len, &ft), 0);
        ck_assert_uint_eq(ft.mode, UDS_FILE_REPLACE);
        ck_assert_uint_lt(fake.n_files, MAX_FILES);
        f = &fake.files[fake.n_files++];
        snprintf(f->path, sizeof(f->path), "%.*s", (int) ft.path_len, ft.path);
        f->data = calloc(1, ft.size_compressed + 1);
        f->len = 0;
        fake.transferring = true;
        fake.next_bsc = 1;
        ck_assert_int_eq(uds_build_file_transfer_response(b, sizeof(b), &rsp, &len), 0);
        queue(b, len);
}

static void answer_transfer_data(const uint8_t *req, size_t req_len) {
        FakeFile *f = &fake.files[fake.n_files - 1];
        const uint8_t *data;
        size_t data_len, len;
        uint8_t bsc, b[8];

        ck_assert(fake.transferring);
        ck_assert_int_eq(uds_parse_transfer_data(req, req_len, &bsc, &data, &data_len), 0);
        ck_assert_uint_eq(bsc, fake.next_bsc);
        ck_assert_uint_le(data_len, 128);
        fake.next_bsc++;
        memcpy(f->data + f->len, data, data_len);
        f->len += data_len;
        ck_assert_int_eq(uds_build_transfer_data_response(b, sizeof(b), bsc, NULL, 0, &len), 0);
        queue(b, len);
}

static void answer_routine(const uint8_t *req, size_t req_len) {
        UdsRoutine rt;
        uint8_t b[128], rec[64];
        size_t len;
        uint8_t result;

        ck_assert_int_eq(uds_parse_routine_request(req, req_len, &rt), 0);
        result = rt.rid == UPTANE_RID_VERIFY_METADATA ? fake.verify_result : fake.install_result;
        for (unsigned i = 0; i < fake.pending; i++)
                queue_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_RESPONSE_PENDING);
        if (rt.type == UDS_ROUTINE_START && rt.rid == UPTANE_RID_VERIFY_METADATA && fake.verify_by_results) {
                queue_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
                return;
        }
        rec[0] = result;
        rec[1] = result == UPTANE_ROUTINE_OK ? 0 : fake.attack;
        len = (size_t) snprintf((char *) rec + 2, sizeof(rec) - 2, "%s", result == 0 ? "fine" : "image too old");
        UdsRoutine out = { .type = rt.type, .rid = rt.rid, .record = rec, .record_len = len + 2 };
        ck_assert_int_eq(uds_build_routine_response(b, sizeof(b), &out, &len), 0);
        queue(b, len);
}

static void answer(const uint8_t *req, size_t len);

static void serve(const uint8_t *req, size_t len) {
        fake.requests++;
        fake.held_len = 0;
        fake.trickle_left = 0;
        if (fake.silent)
                return;
        if (fake.trickle_count > 0 && req[0] == UDS_SID_READ_DATA_BY_IDENTIFIER) {
                ck_assert_uint_le(len, sizeof(fake.held));
                memcpy(fake.held, req, len);
                fake.held_len = len;
                fake.trickle_left = fake.trickle_count;
                fake.trickle_next = uds_transport_now_usec() + fake.trickle_gap_usec;
                return;
        }
        answer(req, len);
}

static void answer(const uint8_t *req, size_t len) {
        uint8_t b[64];
        size_t n;
        uint16_t did;

        if (fake.nrc_sid == req[0]) {
                queue_nrc(req[0], fake.nrc);
                return;
        }
        switch (req[0]) {
        case UDS_SID_DIAGNOSTIC_SESSION_CONTROL: {
                UdsSessionTiming t = { 50, 5000 };
                uint8_t session;
                bool suppress;

                ck_assert_int_eq(uds_parse_session_control_request(req, len, &session, &suppress), 0);
                ck_assert_uint_eq(session, UPTANE_SESSION_PROGRAMMING);
                fake.sessions++;
                ck_assert_int_eq(uds_build_session_control_response(b, sizeof(b), session, &t, &n), 0);
                queue(b, n);
                return;
        }
        case UDS_SID_READ_DATA_BY_IDENTIFIER:
                ck_assert_int_eq(uds_parse_read_did_request(req, len, &did), 0);
                answer_did(did);
                return;
        case UDS_SID_WRITE_DATA_BY_IDENTIFIER: {
                const uint8_t *data;
                size_t data_len;

                ck_assert_int_eq(uds_parse_write_did_request(req, len, &did, &data, &data_len), 0);
                ck_assert_uint_eq(did, UPTANE_DID_TIME_ATTESTATION);
                free(fake.attestation);
                fake.attestation = malloc(data_len);
                memcpy(fake.attestation, data, data_len);
                fake.attestation_len = data_len;
                ck_assert_int_eq(uds_build_write_did_response(b, sizeof(b), did, &n), 0);
                queue(b, n);
                return;
        }
        case UDS_SID_REQUEST_FILE_TRANSFER:
                answer_file_transfer(req, len);
                return;
        case UDS_SID_TRANSFER_DATA:
                answer_transfer_data(req, len);
                return;
        case UDS_SID_REQUEST_TRANSFER_EXIT:
                fake.transferring = false;
                ck_assert_int_eq(uds_build_transfer_exit_response(b, sizeof(b), NULL, 0, &n), 0);
                queue(b, n);
                return;
        case UDS_SID_ROUTINE_CONTROL:
                answer_routine(req, len);
                return;
        case UDS_SID_ECU_RESET:
                fake.resets++;
                ck_assert_int_eq(uds_build_ecu_reset_response(b, sizeof(b), req[1], -1, &n), 0);
                queue(b, n);
                return;
        default:
                queue_nrc(req[0], UDS_NRC_SERVICE_NOT_SUPPORTED);
        }
}

static int fake_send(void *userdata, const uint8_t *data, size_t len) {
        (void) userdata;
        ck_assert_uint_gt(len, 0);
        serve(data, len);
        return 0;
}

static int fake_recv(void *userdata, uint8_t **ret, size_t *ret_len, uint64_t deadline_usec) {
        uint8_t *m;

        (void) userdata;
        if (fake.n == 0 && fake.held_len > 0) {
                uint64_t now = uds_transport_now_usec();

                if (fake.trickle_left == 0) {
                        answer(fake.held, fake.held_len);
                        fake.held_len = 0;
                } else if (now >= fake.trickle_next || deadline_usec >= fake.trickle_next) {
                        if (now < fake.trickle_next)
                                usleep((useconds_t) (fake.trickle_next - now));
                        queue_nrc(UDS_SID_READ_DATA_BY_IDENTIFIER, UDS_NRC_RESPONSE_PENDING);
                        if (fake.trickle_left != UINT_MAX)
                                fake.trickle_left--;
                        fake.trickled++;
                        fake.trickle_next += fake.trickle_gap_usec;
                }
        }
        if (fake.n == 0) {
                uint64_t now = uds_transport_now_usec();

                if (deadline_usec > now)
                        usleep((useconds_t) (deadline_usec - now));
                return -ETIMEDOUT;
        }
        m = malloc(fake.lens[fake.head]);
        ck_assert_ptr_nonnull(m);
        memcpy(m, fake.msgs[fake.head], fake.lens[fake.head]);
        *ret = m;
        *ret_len = fake.lens[fake.head];
        fake.head = (fake.head + 1) % MAX_MSGS;
        fake.n--;
        return 0;
}

static const UdsTransport transport = { fake_send, fake_recv, NULL };
static Secondary *sec;

static Secondary *open_secondary(SecondaryVerification v) {
        SecondaryUdsOptions o = {
                .name = "brakes",
                .serial = "brakes-1",
                .hardware_id = "acme-brakes",
                .key = public_key,
                .verification = v,
                .response_timeout_usec = 200000,
                .pending_timeout_usec = 200000,
                .max_pending_usec = 2000000,
        };
        Secondary *s = NULL;

        ck_assert_int_eq(secondary_uds_new(&o, &transport, &s), 0);
        return s;
}

static void setup(void) {
        struct json_object *j;

        if (!private_key) {
                ck_assert_int_eq(up_key_generate(UP_SCHEME_ED25519, &private_key), 0);
                j = up_key_to_json(private_key);
                ck_assert_int_eq(up_key_from_json(j, &public_key), 0);
                json_object_put(j);
        }
        for (size_t i = 0; i < fake.n_files; i++)
                free(fake.files[i].data);
        free(fake.attestation);
        free(fake.key_json);
        fake = (Fake) {
                .serial = "brakes-1",
                .hwid = "acme-brakes",
                .verification = "full",
                .report = "{\"signatures\":[],\"signed\":{}}",
                .nonce = { 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78 },
                .attack = 2,
        };
        j = up_key_to_json(public_key);
        fake.key_json = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        sec = open_secondary(SECONDARY_FULL);
}

static void teardown(void) {
        sec = secondary_free(sec);
}

START_TEST(test_report_and_nonce) {
        uint8_t *report = NULL;
        size_t len;
        int64_t nonce;

        ck_assert_str_eq(sec->ops->transport, "uds");
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), 0);
        ck_assert_uint_eq(len, strlen(fake.report));
        ck_assert(memcmp(report, fake.report, len) == 0);
        free(report);
        ck_assert_int_eq(sec->ops->get_nonce(sec, &nonce), 0);
        ck_assert_int_eq(nonce, 0x12345678);
        /* Identification once: 4 DIDs, then the report and the nonce. */
        ck_assert_uint_eq(fake.requests, 6);
}
END_TEST

START_TEST(test_identification_mismatch) {
        uint8_t *report = NULL;
        size_t len;
        UpKey *other;
        struct json_object *j;

        fake.serial = "brakes-2";
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), -EXDEV);
        ck_assert_ptr_nonnull(strstr(sec->ops->last_error(sec), "brakes-2"));
        fake.serial = "brakes-1";
        fake.hwid = "acme-door";
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), -ENOEXEC);
        fake.hwid = "acme-brakes";
        fake.verification = "partial";
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), -EMEDIUMTYPE);
        fake.verification = "full";
        ck_assert_int_eq(up_key_generate(UP_SCHEME_ED25519, &other), 0);
        j = up_key_to_json(other);
        free(fake.key_json);
        fake.key_json = strdup(json_object_to_json_string(j));
        json_object_put(j);
        up_key_unref(other);
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), -EKEYREJECTED);
        free(fake.key_json);
        fake.key_json = strdup("not a key");
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), -EBADMSG);
}
END_TEST

START_TEST(test_send_time) {
        static const char att[] = "{\"signatures\":[],\"signed\":{\"nonces\":[1],\"time\":\"2024-01-01T00:00:00Z\"}}";

        ck_assert_int_eq(sec->ops->send_time(sec, att, strlen(att)), 0);
        ck_assert_uint_eq(fake.sessions, 1);
        ck_assert_uint_eq(fake.attestation_len, strlen(att));
        ck_assert(memcmp(fake.attestation, att, strlen(att)) == 0);
}
END_TEST

static const uint8_t root[] = "{\"root\":1}", targets[] = "{\"targets\":1}", ts[] = "{\"timestamp\":1}",
                     rot[] = "{\"root\":2}";
static const SecondaryMetadataFile files[] = {
        { "director", "root", root, sizeof(root) - 1 },
        { "director", "2.root", rot, sizeof(rot) - 1 },
        { "director", "timestamp", ts, sizeof(ts) - 1 },
        { "director", "targets", targets, sizeof(targets) - 1 },
        { "image", "timestamp", ts, sizeof(ts) - 1 },
};

START_TEST(test_send_metadata_full) {
        ck_assert_int_eq(sec->ops->send_metadata(sec, files, 5), 0);
        ck_assert_uint_eq(fake.n_files, 5);
        ck_assert_str_eq(fake.files[0].path, "director/root.json");
        ck_assert_str_eq(fake.files[1].path, "director/2.root.json");
        ck_assert_str_eq(fake.files[2].path, "director/timestamp.json");
        ck_assert_str_eq(fake.files[3].path, "director/targets.json");
        ck_assert_str_eq(fake.files[4].path, "image/timestamp.json");
        ck_assert_uint_eq(fake.files[3].len, sizeof(targets) - 1);
        ck_assert(memcmp(fake.files[3].data, targets, sizeof(targets) - 1) == 0);
        ck_assert_uint_eq(fake.sessions, 1);
}
END_TEST

START_TEST(test_send_metadata_partial) {
        secondary_free(sec);
        sec = open_secondary(SECONDARY_PARTIAL);
        fake.verification = "partial";
        ck_assert_int_eq(sec->ops->send_metadata(sec, files, 5), 0);
        ck_assert_uint_eq(fake.n_files, 3);
        ck_assert_str_eq(fake.files[0].path, "director/root.json");
        ck_assert_str_eq(fake.files[1].path, "director/2.root.json");
        ck_assert_str_eq(fake.files[2].path, "director/targets.json");
}
END_TEST

typedef struct Progress {
        uint64_t last, total;
        unsigned calls;
        unsigned stop_after;
} Progress;

static int on_progress(void *userdata, uint64_t done, uint64_t total) {
        Progress *p = userdata;

        ck_assert_uint_ge(done, p->last);
        p->last = done;
        p->total = total;
        p->calls++;
        return p->stop_after && p->calls >= p->stop_after;
}

static char *write_image(size_t size) {
        char *path = strdup("/tmp/test-primaryd-secondary.XXXXXX");
        uint8_t *data = malloc(size);
        int fd = mkstemp(path);

        ck_assert_int_ge(fd, 0);
        for (size_t i = 0; i < size; i++)
                data[i] = (uint8_t) (i * 7 + 3);
        ck_assert_int_eq(write(fd, data, size), (ssize_t) size);
        close(fd);
        free(data);
        return path;
}

START_TEST(test_send_image) {
        char *path = write_image(1000);
        Progress p = {};

        ck_assert_int_eq(sec->ops->send_image(sec, "brakes-fw-2.bin", path, 1000, on_progress, &p), 0);
        ck_assert_uint_eq(fake.n_files, 1);
        ck_assert_str_eq(fake.files[0].path, "target/brakes-fw-2.bin");
        ck_assert_uint_eq(fake.files[0].len, 1000);
        for (size_t i = 0; i < 1000; i++)
                ck_assert_uint_eq(fake.files[0].data[i], (uint8_t) (i * 7 + 3));
        ck_assert_uint_eq(p.last, 1000);
        ck_assert_uint_eq(p.total, 1000);
        ck_assert_uint_eq(p.calls, 8); /* 128-byte blocks */

        /* A wrong length is refused before anything is sent; progress can stop it. */
        ck_assert_int_eq(sec->ops->send_image(sec, "x", path, 999, NULL, NULL), -EIO);
        p = (Progress) { .stop_after = 2 };
        ck_assert_int_eq(sec->ops->send_image(sec, "y", path, 1000, on_progress, &p), -ECANCELED);
        unlink(path);
        free(path);
}
END_TEST

START_TEST(test_install_ok) {
        InstallOutcome o = {};

        fake.pending = 3; /* response pending, then the answer */
        ck_assert_int_eq(sec->ops->install(sec, &o), 0);
        ck_assert(o.success);
        ck_assert_str_eq(o.code, "OK");
        ck_assert_uint_eq(fake.resets, 1);
        ck_assert_uint_eq(fake.sessions, 1);
}
END_TEST

START_TEST(test_install_rejected) {
        InstallOutcome o = {};

        fake.verify_result = UPTANE_ROUTINE_REJECTED;
        fake.verify_by_results = true;
        ck_assert_int_eq(sec->ops->install(sec, &o), 0);
        ck_assert(!o.success);
        ck_assert_str_eq(o.code, "VERIFICATION_REJECTED");
        ck_assert_msg(strstr(o.description, "rollback") && strstr(o.description, "image too old"), "%s",
                      o.description);
        ck_assert_uint_eq(fake.resets, 0);

        fake.verify_result = UPTANE_ROUTINE_OK;
        fake.verify_by_results = false;
        fake.install_result = UPTANE_ROUTINE_FAILED;
        ck_assert_int_eq(sec->ops->install(sec, &o), 0);
        ck_assert(!o.success);
        ck_assert_str_eq(o.code, "INSTALL_FAILED");
        ck_assert_uint_eq(fake.resets, 0);
}
END_TEST

START_TEST(test_negative_response) {
        uint8_t *report = NULL;
        size_t len;
        InstallOutcome o;

        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), 0);
        free(report);
        fake.nrc_sid = UDS_SID_READ_DATA_BY_IDENTIFIER;
        fake.nrc = UDS_NRC_CONDITIONS_NOT_CORRECT;
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), -EREMOTEIO);
        ck_assert_msg(strstr(sec->ops->last_error(sec), "0x22"), "%s", sec->ops->last_error(sec));
        ck_assert_uint_eq(sec->ops->last_nrc(sec), UDS_NRC_CONDITIONS_NOT_CORRECT);
        fake.nrc_sid = UDS_SID_ROUTINE_CONTROL;
        fake.nrc = UDS_NRC_REQUEST_SEQUENCE_ERROR;
        ck_assert_int_eq(sec->ops->install(sec, &o), -EREMOTEIO);
        fake.nrc_sid = UDS_SID_DIAGNOSTIC_SESSION_CONTROL;
        fake.nrc = UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED;
        ck_assert_int_eq(sec->ops->send_time(sec, "{}", 2), -EREMOTEIO);
        fake.nrc_sid = UDS_SID_TRANSFER_DATA;
        fake.nrc = UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER;
        ck_assert_int_eq(sec->ops->send_metadata(sec, files, 1), -EREMOTEIO);
        ck_assert_uint_eq(sec->ops->last_nrc(sec), UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER);
        fake.nrc_sid = 0;
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), 0);
        ck_assert_uint_eq(sec->ops->last_nrc(sec), 0);
        free(report);
}
END_TEST

START_TEST(test_timeout) {
        uint8_t *report = NULL;
        size_t len;
        uint64_t start = uds_transport_now_usec();

        fake.silent = true;
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), -ETIMEDOUT);
        ck_assert_uint_lt(uds_transport_now_usec() - start, 1000000);
        /* It answers again: identification is read again, the report comes. */
        fake.silent = false;
        fake.requests = 0;
        ck_assert_int_eq(sec->ops->get_report(sec, &report, &len), 0);
        ck_assert_uint_eq(fake.requests, 5);
        free(report);
}
END_TEST

/* A Secondary over the ISO-TP code path (secondary_uds_new() puts a caller's
 * transport under the same checked_send()/checked_recv() as an ISO-TP link),
 * P2 = P2* = 200 ms, install-timeout (max_pending) 1 s. */
static Secondary *open_pending_secondary(void) {
        SecondaryUdsOptions o = {
                .serial = "brakes-1",
                .hardware_id = "acme-brakes",
                .key = public_key,
                .response_timeout_usec = 200000,
                .pending_timeout_usec = 200000,
                .max_pending_usec = 1000000,
        };
        Secondary *s = NULL;

        ck_assert_int_eq(secondary_uds_new(&o, &transport, &s), 0);
        return s;
}

/* 7F 22 78 just before each P2* deadline, for ever: the request fails with
 * -ETIMEDOUT about install-timeout after it went out, not after pending_max
 * (120) P2* periods (some 21 s before the cap). */
START_TEST(test_pending_forever_capped) {
        Secondary *s = open_pending_secondary();
        uint8_t *report = NULL;
        size_t len;
        uint64_t start, took;

        fake.trickle_count = UINT_MAX;
        fake.trickle_gap_usec = 170000;
        start = uds_transport_now_usec();
        ck_assert_int_eq(s->ops->get_report(s, &report, &len), -ETIMEDOUT);
        took = uds_transport_now_usec() - start;
        fprintf(stderr, "endless responsePending: -ETIMEDOUT after %.2f s, %u x 7F 22 78\n", took / 1e6, fake.trickled);
        ck_assert_uint_ge(took, 900000);
        ck_assert_uint_le(took, 3000000);
        /* several P2* periods were waited out (a P2 timeout alone would be 0.2 s) */
        ck_assert_uint_ge(fake.trickled, 4);
        ck_assert_uint_eq(fake.requests, 1);
        /* It answers again: the next request goes through. */
        fake.trickle_count = 0;
        ck_assert_int_eq(s->ops->get_report(s, &report, &len), 0);
        free(report);
        secondary_free(s);
}
END_TEST

/* 7F 22 78 three times, each just before P2* ends, then the answer: it comes
 * through, though the wait is longer than P2 and than one P2*. */
START_TEST(test_pending_then_answer) {
        Secondary *s = open_pending_secondary();
        uint8_t *report = NULL;
        size_t len;
        uint64_t start, took;

        ck_assert_int_eq(s->ops->get_report(s, &report, &len), 0); /* identified */
        free(report);
        report = NULL;
        fake.requests = 0;
        fake.trickle_count = 3;
        fake.trickle_gap_usec = 170000;
        start = uds_transport_now_usec();
        ck_assert_int_eq(s->ops->get_report(s, &report, &len), 0);
        took = uds_transport_now_usec() - start;
        fprintf(stderr, "3 x responsePending, then the report: %.2f s\n", took / 1e6);
        ck_assert_uint_eq(fake.trickled, 3);
        ck_assert_uint_eq(fake.requests, 1);
        ck_assert_uint_eq(len, strlen(fake.report));
        ck_assert(memcmp(report, fake.report, len) == 0);
        ck_assert_uint_ge(took, 500000);
        free(report);
        secondary_free(s);
}
END_TEST

static atomic_bool cancel_flag;

static void *cancel_later(void *p) {
        (void) p;
        usleep(100000);
        atomic_store(&cancel_flag, true);
        return NULL;
}

/* A cancel sends no new request, and ends a wait long before its timeout. */
START_TEST(test_cancel) {
        SecondaryUdsOptions o = {
                .serial = "brakes-1",
                .hardware_id = "acme-brakes",
                .key = public_key,
                .response_timeout_usec = 10000000, /* 10 s: a silent Secondary */
        };
        Secondary *slow = NULL;
        uint8_t *report = NULL;
        size_t len;
        pthread_t t;
        uint64_t start;

        ck_assert_int_eq(secondary_uds_new(&o, &transport, &slow), 0);
        atomic_store(&cancel_flag, true);
        slow->cancel = &cancel_flag;
        ck_assert_int_eq(slow->ops->get_report(slow, &report, &len), -ECANCELED);
        ck_assert_uint_eq(fake.requests, 0);
        atomic_store(&cancel_flag, false);
        fake.silent = true;
        ck_assert_int_eq(pthread_create(&t, NULL, cancel_later, NULL), 0);
        start = uds_transport_now_usec();
        ck_assert_int_eq(slow->ops->get_report(slow, &report, &len), -ECANCELED);
        /* a 200 ms slice after the cancel at 100 ms; 10 s without it */
        ck_assert_uint_lt(uds_transport_now_usec() - start, 5000000);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
        secondary_free(slow);
}
END_TEST

typedef struct PoolItem {
        unsigned id;
        bool done;
} PoolItem;

static atomic_uint pool_running, pool_peak;

static void pool_item(void *item, void *userdata) {
        PoolItem *it = item;
        unsigned now = atomic_fetch_add(&pool_running, 1) + 1, peak = atomic_load(&pool_peak);

        (void) userdata;
        while (now > peak && !atomic_compare_exchange_weak(&pool_peak, &peak, now))
                ;
        usleep(50000);
        it->done = true;
        atomic_fetch_sub(&pool_running, 1);
}

/* Every item once, at most max_threads at once (the caller's thread is one), several at once. */
START_TEST(test_pool) {
        PoolItem items[20] = {};
        atomic_bool stop = false;

        atomic_store(&pool_running, 0);
        atomic_store(&pool_peak, 0);
        ck_assert_uint_eq(secondary_pool_run(items, 20, sizeof(PoolItem), 4, pool_item, NULL, &stop), 20);
        for (size_t i = 0; i < 20; i++)
                ck_assert(items[i].done);
        ck_assert_uint_le(atomic_load(&pool_peak), 4);
        ck_assert_uint_ge(atomic_load(&pool_peak), 2);
        /* cancelled: no item starts */
        atomic_store(&stop, true);
        ck_assert_uint_eq(secondary_pool_run(items, 20, sizeof(PoolItem), 4, pool_item, NULL, &stop), 0);
        /* one item: on the caller's thread */
        atomic_store(&stop, false);
        ck_assert_uint_eq(secondary_pool_run(items, 1, sizeof(PoolItem), 0, pool_item, NULL, NULL), 1);
}
END_TEST

static Suite *secondary_suite(void) {
        Suite *s = suite_create("primaryd_secondary");
        TCase *tc = tcase_create("uds");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_report_and_nonce);
        tcase_add_test(tc, test_identification_mismatch);
        tcase_add_test(tc, test_send_time);
        tcase_add_test(tc, test_send_metadata_full);
        tcase_add_test(tc, test_send_metadata_partial);
        tcase_add_test(tc, test_send_image);
        tcase_add_test(tc, test_install_ok);
        tcase_add_test(tc, test_install_rejected);
        tcase_add_test(tc, test_negative_response);
        tcase_add_test(tc, test_timeout);
        tcase_add_test(tc, test_pending_forever_capped);
        tcase_add_test(tc, test_pending_then_answer);
        tcase_add_test(tc, test_cancel);
        tcase_add_test(tc, test_pool);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(secondary_suite());
        int failed;

        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
