/* SPDX-License-Identifier: MIT */
/*
 * uptane-secondaryd's UDS handler without sockets: requests built with the
 * uds.h builders go straight into secondary_uds_handle(). Metadata comes from
 * two in-memory repositories (testrepo.c); the "Primary" here sends it
 * honestly or not, and the Secondary must refuse everything that does not
 * verify, whatever the Primary says.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_macro.h"
#include "testrepo.h"
#include "uds.h"
#include "uds_handler.h"
#include "uptane/error.h"
#include "uptane/json.h"
#include "uptane/manifest.h"
#include "uptane/storage.h"
#include "uptane_uds.h"

#define SERIAL "ecu-s1"
#define HWID "hw-s"
#define VIN "VIN-TEST-0001"

static const char fw1[] = "secondary firmware v1";
static const char fw2[] = "secondary firmware v2, longer than the first one";

static TestRepo *director, *image;
static char *work;
static SecondaryConfig config;
static SecondaryState state;
static SecondaryContext ctx;
static UpKey *time_key;
static uint8_t resp[70000];
static size_t resp_len;

#define ck_ok(expr)                                                                          \
        do {                                                                                 \
                int _k = (expr);                                                             \
                ck_assert_msg(_k >= 0, "%s failed: %s", #expr, strerror(_k < 0 ? -_k : _k)); \
        } while (0)

/* --- Repositories (as test_secondary_verification.c) ---------------------------------- */

static struct json_object *obj_child(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v)) {
                v = json_object_new_object();
                ck_assert_int_eq(json_object_object_add(o, key, v), 0);
        }
        return v;
}

static struct json_object *entry_of(TestRepo *r, const char *name) {
        struct json_object *targets = NULL, *entry = NULL;

        ck_assert(json_object_object_get_ex(testrepo_signed(r, "targets"), "targets", &targets));
        ck_assert(json_object_object_get_ex(targets, name, &entry));
        return entry;
}

static void image_add(const char *name, const char *data, int64_t counter) {
        struct json_object *custom, *hws = json_object_new_array();

        ck_ok(testrepo_add_target(image, "targets", name, data, strlen(data)));
        custom = obj_child(entry_of(image, name), "custom");
        json_object_array_add(hws, json_object_new_string(HWID));
        json_object_object_add(custom, "hardwareIds", hws);
        json_object_object_add(custom, "releaseCounter", json_object_new_int64(counter));
}

static void director_assign(const char *name) {
        struct json_object *src = entry_of(image, name), *entry, *custom, *v = NULL, *targets;

        targets = obj_child(testrepo_signed(director, "targets"), "targets");
        json_object_object_del(targets, "fw1.bin");
        json_object_object_del(targets, "fw2.bin");
        entry = obj_child(targets, name);
        json_object_object_add(entry, "length", json_object_get(json_object_object_get(src, "length")));
        ck_assert_int_eq(json_object_deep_copy(json_object_object_get(src, "hashes"), &v, NULL), 0);
        json_object_object_add(entry, "hashes", v);
        custom = obj_child(entry, "custom");
        json_object_object_add(obj_child(obj_child(custom, "ecuIdentifiers"), SERIAL), "hardwareId",
                               json_object_new_string(HWID));
        json_object_object_add(custom, "releaseCounter",
                               json_object_get(json_object_object_get(json_object_object_get(src, "custom"),
                                                                      "releaseCounter")));
        json_object_object_add(obj_child(testrepo_signed(director, "targets"), "custom"), "vin",
                               json_object_new_string(VIN));
        ck_ok(testrepo_publish(director, "targets"));
        ck_ok(testrepo_update_snapshot(director));
}

/* --- UDS -------------------------------------------------------------------------------- */

static void request(const uint8_t *req, size_t len) {
        _cleanup_free_ uint8_t *r = NULL;

        ck_ok(secondary_uds_handle(&ctx, req, len, &r, &resp_len));
        ck_assert_uint_le(resp_len, sizeof(resp));
        memcpy(resp, r, resp_len);
}

static void expect_nrc(uint8_t sid, uint8_t nrc) {
        ck_assert_msg(resp_len == 3 && resp[0] == 0x7F && resp[1] == sid && resp[2] == nrc,
                      "expected 7F %02X %02X, got %zu bytes %02X %02X %02X", sid, nrc, resp_len, resp[0],
                      resp_len > 1 ? resp[1] : 0, resp_len > 2 ? resp[2] : 0);
}

static void expect_positive(uint8_t sid) {
        ck_assert_msg(resp_len > 0 && resp[0] == sid + 0x40, "expected a positive answer to %02X, got %02X %02X %02X",
                      sid, resp[0], resp_len > 1 ? resp[1] : 0, resp_len > 2 ? resp[2] : 0);
}

static void session(uint8_t s) {
        uint8_t b[8];
        size_t n;

        ck_ok(uds_build_session_control_request(b, sizeof(b), s, false, &n));
        request(b, n);
        expect_positive(UDS_SID_DIAGNOSTIC_SESSION_CONTROL);
}

static void read_did(uint16_t did) {
        uint8_t b[8];
        size_t n;

        ck_ok(uds_build_read_did_request(b, sizeof(b), did, &n));
        request(b, n);
}

static const uint8_t *did_data(uint16_t did, size_t *ret_len) {
        const uint8_t *d;

        read_did(did);
        ck_ok(uds_parse_read_did_response(resp, resp_len, did, &d, ret_len));
        return d;
}

static int64_t read_nonce(void) {
        size_t n;
        const uint8_t *d = did_data(UPTANE_DID_NONCE, &n);
        int64_t v = 0;

        ck_assert_uint_eq(n, 8);
        for (size_t i = 0; i < 8; i++)
                v = (v << 8) | d[i];
        return v;
}

static void write_did(uint16_t did, const void *data, size_t len) {
        _cleanup_free_ uint8_t *b = malloc(len + 3);
        size_t n;

        ck_ok(uds_build_write_did_request(b, len + 3, did, data, len, &n));
        request(b, n);
}

/* 0x38 for path with size; the answer in resp. */
static void file_request(const char *path, uint64_t size) {
        uint8_t b[1100];
        size_t n;
        UdsFileTransferRequest ft = { .mode = UDS_FILE_REPLACE, .path = path, .path_len = strlen(path), .dfi = 0,
                                      .size_len = 4, .size_uncompressed = size, .size_compressed = size };

        ck_ok(uds_build_file_transfer_request(b, sizeof(b), &ft, &n));
        request(b, n);
}

static void transfer_block(uint8_t bsc, const void *data, size_t len) {
        _cleanup_free_ uint8_t *b = malloc(len + 2);
        size_t n;

        ck_ok(uds_build_transfer_data(b, len + 2, bsc, data, len, &n));
        request(b, n);
}

static void transfer_exit(void) {
        uint8_t b[4];
        size_t n;

        ck_ok(uds_build_transfer_exit(b, sizeof(b), NULL, 0, &n));
        request(b, n);
}

/* A whole file, in blocks of what the Secondary allows. */
static void send_file(const char *path, const void *data, size_t len) {
        UdsFileTransferResponse ft;
        uint8_t bsc = 1;

        file_request(path, len);
        ck_ok(uds_parse_file_transfer_response(resp, resp_len, UDS_FILE_REPLACE, &ft));
        for (size_t off = 0; off < len; bsc++) {
                size_t n = len - off < ft.max_block_len - 2 ? len - off : (size_t) ft.max_block_len - 2;

                transfer_block(bsc, (const uint8_t *) data + off, n);
                expect_positive(UDS_SID_TRANSFER_DATA);
                off += n;
        }
        transfer_exit();
        expect_positive(UDS_SID_REQUEST_TRANSFER_EXIT);
}

static void send_published(TestRepo *r, const char *prefix, const char *role, int64_t version, const char *name) {
        const uint8_t *data;
        size_t len;
        char path[256];

        ck_ok(testrepo_published(r, role, version, &data, &len));
        snprintf(path, sizeof(path), "%s%s", prefix, name);
        send_file(path, data, len);
}

static void routine(uint8_t type, uint16_t rid) {
        uint8_t b[8];
        size_t n;
        UdsRoutine rt = { .type = type, .rid = rid };

        ck_ok(uds_build_routine_request(b, sizeof(b), &rt, &n));
        request(b, n);
}

/* The status record of 0x31 03 rid: result and attack class. */
static void expect_results(uint16_t rid, uint8_t result, UpAttack attack) {
        UdsRoutine rt;

        routine(UDS_ROUTINE_RESULTS, rid);
        ck_ok(uds_parse_routine_response(resp, resp_len, UDS_ROUTINE_RESULTS, rid, &rt));
        ck_assert_uint_ge(rt.record_len, 2);
        ck_assert_msg(rt.record[0] == result && rt.record[1] == attack, "results %u/%u: %.*s", rt.record[0],
                      rt.record[1], (int) rt.record_len - 2, (const char *) rt.record + 2);
}

static void attest(void) {
        _cleanup_free_ char *att = NULL;
        int64_t nonce = read_nonce();
        size_t len;

        ck_ok(up_time_attestation_sign(TESTREPO_NOW, &nonce, 1, time_key, &att, &len));
        write_did(UPTANE_DID_TIME_ATTESTATION, att, len);
        expect_positive(UDS_SID_WRITE_DATA_BY_IDENTIFIER);
}

static UpEcuReportDoc *read_report(void) {
        UpEcuReportDoc *doc = NULL;
        size_t n;
        const uint8_t *d = did_data(UPTANE_DID_VERSION_REPORT, &n);

        ck_ok(up_ecu_report_parse(d, n, &doc));
        ck_ok(up_ecu_report_verify(doc, state.key));
        return doc;
}

/* --- Fixture ----------------------------------------------------------------------------- */

static void set(const char *section, const char *key, const char *value) {
        ck_ok(secondary_config_set(&config, section, key, value, NULL, NULL));
}

static void open_secondary(bool full) {
        char path[512];
        bool created;

        ck_ok(secondary_config_init(&config));
        set("ecu", "serial", SERIAL);
        set("ecu", "hardware-id", HWID);
        set("ecu", "verification", full ? "full" : "partial");
        snprintf(path, sizeof(path), "%s/director-root/root.json", work);
        set("director", "root", path);
        snprintf(path, sizeof(path), "%s/image-root/root.json", work);
        set("image-repository", "root", path);
        snprintf(path, sizeof(path), "%s/state", work);
        set("storage", "state-directory", path);
        snprintf(path, sizeof(path), "%s/state/slot-a", work);
        set("storage", "slot-a", path);
        snprintf(path, sizeof(path), "%s/state/slot-b", work);
        set("storage", "slot-b", path);
        set("limits", "max-image-size", "1M");
        set("limits", "max-metadata-size", "64K");
        ck_ok(secondary_config_verify(&config, NULL));
        ck_ok(secondary_state_open(&state, &config, &created, NULL));
        secondary_context_init(&ctx, &config, &state, time_key);
        ctx.max_block_len = 16 + 2; /* many blocks */
}

static void setup_common(bool full) {
        char template[] = "/tmp/test-secondaryd-XXXXXX", dir[600];

        ck_assert_ptr_nonnull(mkdtemp(template));
        work = strdup(template);
        ck_ok(testrepo_new(UP_SCHEME_ED25519, &director));
        ck_ok(testrepo_new(UP_SCHEME_ED25519, &image));
        ck_ok(up_key_generate(UP_SCHEME_ED25519, &time_key));
        snprintf(dir, sizeof(dir), "%s/director-root", work);
        ck_ok(testrepo_mkdir_p(dir));
        ck_ok(testrepo_write_root(director, dir, 1));
        snprintf(dir, sizeof(dir), "%s/image-root", work);
        ck_ok(testrepo_mkdir_p(dir));
        ck_ok(testrepo_write_root(image, dir, 1));
        image_add("fw1.bin", fw1, 1);
        image_add("fw2.bin", fw2, 2);
        ck_ok(testrepo_publish(image, "targets"));
        ck_ok(testrepo_update_snapshot(image));
        director_assign("fw1.bin");
        open_secondary(full);
}

static void setup_partial(void) {
        setup_common(false);
}

static void setup_full(void) {
        setup_common(true);
}

static void teardown(void) {
        secondary_context_done(&ctx);
        secondary_state_close(&state);
        secondary_config_done(&config);
        up_key_unref(time_key);
        testrepo_free(director);
        testrepo_free(image);
        testrepo_rm_rf(work);
        free(work);
}

static void send_partial(void) {
        send_published(director, "director/", "root", -1, "root.json");
        send_published(director, "director/", "targets", -1, "targets.json");
}

static void send_repo(TestRepo *r, const char *prefix) {
        send_published(r, prefix, "root", -1, "root.json");
        send_published(r, prefix, "timestamp", -1, "timestamp.json");
        send_published(r, prefix, "snapshot", -1, "snapshot.json");
        send_published(r, prefix, "targets", -1, "targets.json");
}

static void verify_ok(void) {
        routine(UDS_ROUTINE_START, UPTANE_RID_VERIFY_METADATA);
        expect_positive(UDS_SID_ROUTINE_CONTROL);
        expect_results(UPTANE_RID_VERIFY_METADATA, UPTANE_ROUTINE_OK, UP_ATTACK_NONE);
}

static void slot_is(int slot, const char *content) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;

        ck_assert_int_eq(state.active_slot, slot);
        ck_ok(up_read_file(slot == 0 ? config.slot_a : config.slot_b, 1 << 20, &data, &len));
        ck_assert_uint_eq(len, strlen(content));
        ck_assert(memcmp(data, content, len) == 0);
}

/* --- Tests ------------------------------------------------------------------------------- */

START_TEST(test_identification) {
        _cleanup_(up_key_unrefp) UpKey *key = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        UpJsonLimits limits = UP_JSON_LIMITS_DEFAULT;
        const uint8_t *d;
        size_t n;

        d = did_data(UPTANE_DID_ECU_SERIAL, &n);
        ck_assert(n == strlen(SERIAL) && memcmp(d, SERIAL, n) == 0);
        d = did_data(UPTANE_DID_HARDWARE_ID, &n);
        ck_assert(n == strlen(HWID) && memcmp(d, HWID, n) == 0);
        d = did_data(UPTANE_DID_VERIFICATION, &n);
        ck_assert(n == 7 && memcmp(d, "partial", 7) == 0);
        d = did_data(UPTANE_DID_PUBLIC_KEY, &n);
        ck_ok(up_json_parse(d, n, &limits, &o));
        ck_ok(up_key_from_json(o, &key));
        ck_assert(up_key_equal(key, state.key));
        ck_assert_int_eq(read_nonce(), state.nonce);
        read_did(UPTANE_DID_VIN); /* not configured */
        expect_nrc(UDS_SID_READ_DATA_BY_IDENTIFIER, UDS_NRC_REQUEST_OUT_OF_RANGE);
        read_did(0x1234);
        expect_nrc(UDS_SID_READ_DATA_BY_IDENTIFIER, UDS_NRC_REQUEST_OUT_OF_RANGE);
        request((const uint8_t[]) { 0x22, 0xF1 }, 2);
        expect_nrc(UDS_SID_READ_DATA_BY_IDENTIFIER, UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT);
        request((const uint8_t[]) { 0x85, 0x01 }, 2);
        expect_nrc(0x85, UDS_NRC_SERVICE_NOT_SUPPORTED);

        /* The report: signed, fresh counter each time, the factory image. */
        UpEcuReportDoc *a = read_report(), *b = read_report();
        const UpEcuReport *ra = up_ecu_report_doc_report(a), *rb = up_ecu_report_doc_report(b);
        ck_assert_str_eq(ra->ecu_serial, SERIAL);
        ck_assert_str_eq(ra->installed_image.filepath, "factory");
        ck_assert_int_eq(ra->nonce, state.nonce);
        ck_assert_int_eq(rb->report_counter, ra->report_counter + 1);
        up_ecu_report_doc_free(a);
        up_ecu_report_doc_free(b);
}
END_TEST

START_TEST(test_sessions) {
        uint8_t b[8];
        size_t n;

        write_did(UPTANE_DID_TIME_ATTESTATION, "{}", 2);
        expect_nrc(UDS_SID_WRITE_DATA_BY_IDENTIFIER, UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION);
        file_request("director/targets.json", 10);
        expect_nrc(UDS_SID_REQUEST_FILE_TRANSFER, UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION);
        routine(UDS_ROUTINE_START, UPTANE_RID_VERIFY_METADATA);
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION);
        routine(UDS_ROUTINE_RESULTS, UPTANE_RID_VERIFY_METADATA); /* nothing ran yet */
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_REQUEST_SEQUENCE_ERROR);
        request((const uint8_t[]) { 0x10, 0x42 }, 2);
        expect_nrc(UDS_SID_DIAGNOSTIC_SESSION_CONTROL, UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED);

        ck_ok(uds_build_tester_present(b, sizeof(b), false, &n));
        request(b, n);
        ck_assert(resp_len == 2 && resp[0] == 0x7E && resp[1] == 0x00);
        ck_ok(uds_build_tester_present(b, sizeof(b), true, &n));
        request(b, n);
        ck_assert_uint_eq(resp_len, 0);

        session(UDS_SESSION_PROGRAMMING);
        UdsSessionTiming t;
        ck_ok(uds_parse_session_control_response(resp, resp_len, UDS_SESSION_PROGRAMMING, &t));
        ck_assert_uint_eq(t.p2_star_ms, SECONDARY_P2_STAR_MS);
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL); /* nothing verified */
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_CONDITIONS_NOT_CORRECT);
        routine(UDS_ROUTINE_START, 0x0A99);
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_REQUEST_OUT_OF_RANGE);

        ck_ok(uds_build_ecu_reset_request(b, sizeof(b), UDS_RESET_HARD, false, &n));
        request(b, n);
        expect_positive(UDS_SID_ECU_RESET);
        ck_assert(ctx.reset_requested);
        ck_assert_uint_eq(ctx.session, UDS_SESSION_DEFAULT);
}
END_TEST

START_TEST(test_partial_update) {
        int64_t nonce = state.nonce;

        session(UDS_SESSION_PROGRAMMING);
        attest();
        ck_assert_int_ne(read_nonce(), nonce); /* rotated */
        ck_assert_int_eq(state.time, TESTREPO_NOW);
        send_partial();
        verify_ok();
        send_file("target/fw1.bin", fw1, strlen(fw1));
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL);
        expect_positive(UDS_SID_ROUTINE_CONTROL);
        expect_results(UPTANE_RID_INSTALL, UPTANE_ROUTINE_OK, UP_ATTACK_NONE);
        slot_is(1, fw1);
        ck_assert_str_eq(state.installed_name, "fw1.bin");
        ck_assert_int_eq(state.release_counter, 1);

        /* The next update goes to slot a; slot b stays. */
        director_assign("fw2.bin");
        session(UDS_SESSION_DEFAULT);
        session(UDS_SESSION_PROGRAMMING);
        send_partial();
        verify_ok();
        send_file("target/fw2.bin", fw2, strlen(fw2));
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL);
        expect_positive(UDS_SID_ROUTINE_CONTROL);
        slot_is(0, fw2);
        ck_assert_int_eq(state.release_counter, 2);

        UpEcuReportDoc *doc = read_report();
        const UpEcuReport *rep = up_ecu_report_doc_report(doc);
        ck_assert_str_eq(rep->installed_image.filepath, "fw2.bin");
        ck_assert_int_eq(rep->installed_image.length, (int64_t) strlen(fw2));
        ck_assert_int_eq(rep->timeserver_time, TESTREPO_NOW);
        ck_assert_str_eq(rep->attacks_detected, "");
        up_ecu_report_doc_free(doc);

        /* A restart keeps all of it. */
        secondary_context_done(&ctx);
        secondary_state_close(&state);
        secondary_config_done(&config);
        open_secondary(false);
        slot_is(0, fw2);
        ck_assert_str_eq(state.installed_name, "fw2.bin");
}
END_TEST

START_TEST(test_compromised_primary_wrong_image) {
        session(UDS_SESSION_PROGRAMMING);
        attest();
        send_partial();
        verify_ok();
        /* Valid metadata for fw1.bin, but the Primary sends other bytes under its name. */
        send_file("target/fw1.bin", fw2, strlen(fw2));
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL);
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        expect_results(UPTANE_RID_INSTALL, UPTANE_ROUTINE_REJECTED, UP_ATTACK_ARBITRARY_SOFTWARE);
        slot_is(0, "");
        ck_assert_str_eq(state.installed_name, "factory");
        ck_assert_ptr_nonnull(strstr(state.attacks, "fw1.bin"));

        /* Same length, other content. */
        char forged[sizeof(fw1)];
        memcpy(forged, fw1, sizeof(fw1));
        forged[0] ^= 1;
        send_file("target/fw1.bin", forged, strlen(forged));
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL);
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        expect_results(UPTANE_RID_INSTALL, UPTANE_ROUTINE_REJECTED, UP_ATTACK_ARBITRARY_SOFTWARE);

        UpEcuReportDoc *doc = read_report();
        ck_assert_ptr_nonnull(strstr(up_ecu_report_doc_report(doc)->attacks_detected, "refused"));
        up_ecu_report_doc_free(doc);

        /* The right image still installs. */
        send_file("target/fw1.bin", fw1, strlen(fw1));
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL);
        expect_positive(UDS_SID_ROUTINE_CONTROL);
        slot_is(1, fw1);
}
END_TEST

START_TEST(test_forged_and_replayed_metadata) {
        const uint8_t *old;
        size_t old_len;

        session(UDS_SESSION_PROGRAMMING);
        attest();
        send_partial();
        verify_ok();
        ck_ok(testrepo_published(director, "targets", -1, &old, &old_len));
        uint8_t *v1 = malloc(old_len);
        memcpy(v1, old, old_len);

        director_assign("fw2.bin");
        send_partial();
        verify_ok();
        send_file("target/fw2.bin", fw2, strlen(fw2));
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL);
        expect_positive(UDS_SID_ROUTINE_CONTROL);

        /* Replay: the older targets (fw1.bin) again. */
        send_file("director/targets.json", v1, old_len);
        routine(UDS_ROUTINE_START, UPTANE_RID_VERIFY_METADATA);
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        expect_results(UPTANE_RID_VERIFY_METADATA, UPTANE_ROUTINE_REJECTED, UP_ATTACK_ROLLBACK);
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL); /* nothing verified */
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_CONDITIONS_NOT_CORRECT);

        /* A flipped byte in the signed part. */
        char *p = memmem(v1, old_len, "fw1.bin", 7);
        ck_assert_ptr_nonnull(p);
        p[2] = '9';
        send_file("director/targets.json", v1, old_len);
        routine(UDS_ROUTINE_START, UPTANE_RID_VERIFY_METADATA);
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        expect_results(UPTANE_RID_VERIFY_METADATA, UPTANE_ROUTINE_REJECTED, UP_ATTACK_ARBITRARY_SOFTWARE);
        slot_is(1, fw2);
        free(v1);
}
END_TEST

START_TEST(test_replayed_time_attestation) {
        _cleanup_free_ char *att = NULL, *other = NULL;
        int64_t nonce;
        size_t len, other_len;
        _cleanup_(up_key_unrefp) UpKey *wrong = NULL;

        session(UDS_SESSION_PROGRAMMING);
        nonce = read_nonce();
        ck_ok(up_time_attestation_sign(TESTREPO_NOW, &nonce, 1, time_key, &att, &len));
        write_did(UPTANE_DID_TIME_ATTESTATION, att, len);
        expect_positive(UDS_SID_WRITE_DATA_BY_IDENTIFIER);
        write_did(UPTANE_DID_TIME_ATTESTATION, att, len); /* its nonce is gone */
        expect_nrc(UDS_SID_WRITE_DATA_BY_IDENTIFIER, UDS_NRC_CONDITIONS_NOT_CORRECT);
        ck_assert_ptr_nonnull(strstr(state.attacks, "time attestation"));

        nonce = read_nonce();
        ck_ok(up_key_generate(UP_SCHEME_ED25519, &wrong));
        ck_ok(up_time_attestation_sign(TESTREPO_NOW + 10, &nonce, 1, wrong, &other, &other_len));
        write_did(UPTANE_DID_TIME_ATTESTATION, other, other_len); /* not the time server's key */
        expect_nrc(UDS_SID_WRITE_DATA_BY_IDENTIFIER, UDS_NRC_CONDITIONS_NOT_CORRECT);
        ck_assert_int_eq(read_nonce(), nonce);
        write_did(UPTANE_DID_TIME_ATTESTATION, "not json", 8);
        expect_nrc(UDS_SID_WRITE_DATA_BY_IDENTIFIER, UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT);
        write_did(0xF1A5, "x", 1);
        expect_nrc(UDS_SID_WRITE_DATA_BY_IDENTIFIER, UDS_NRC_REQUEST_OUT_OF_RANGE);
        ck_assert_int_eq(state.time, TESTREPO_NOW);
}
END_TEST

START_TEST(test_block_sequence) {
        UdsFileTransferResponse ft;

        session(UDS_SESSION_PROGRAMMING);
        transfer_block(1, "abc", 3); /* no transfer */
        expect_nrc(UDS_SID_TRANSFER_DATA, UDS_NRC_REQUEST_SEQUENCE_ERROR);
        transfer_exit();
        expect_nrc(UDS_SID_REQUEST_TRANSFER_EXIT, UDS_NRC_REQUEST_SEQUENCE_ERROR);

        file_request("target/fw1.bin", 10);
        ck_ok(uds_parse_file_transfer_response(resp, resp_len, UDS_FILE_REPLACE, &ft));
        ck_assert_uint_eq(ft.max_block_len, 18);
        transfer_block(2, "01234", 5); /* must be 1 */
        expect_nrc(UDS_SID_TRANSFER_DATA, UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER);
        transfer_block(1, "01234", 5);
        expect_positive(UDS_SID_TRANSFER_DATA);
        transfer_block(1, "01234", 5); /* repeated: acknowledged, not written twice */
        expect_positive(UDS_SID_TRANSFER_DATA);
        ck_assert_uint_eq(resp[1], 1);
        transfer_exit(); /* 5 bytes missing */
        expect_nrc(UDS_SID_REQUEST_TRANSFER_EXIT, UDS_NRC_REQUEST_SEQUENCE_ERROR);
        transfer_block(2, "56789", 5);
        expect_positive(UDS_SID_TRANSFER_DATA);
        transfer_exit();
        expect_positive(UDS_SID_REQUEST_TRANSFER_EXIT);

        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        ck_ok(up_read_file_at(state.incoming_target, "fw1.bin", 100, &data, &len));
        ck_assert(len == 10 && memcmp(data, "0123456789", 10) == 0);

        file_request("target/x.bin", 4); /* more than announced */
        transfer_block(1, "012345", 6);
        expect_nrc(UDS_SID_TRANSFER_DATA, UDS_NRC_TRANSFER_DATA_SUSPENDED);
        file_request("target/x.bin", 40); /* a block over maxNumberOfBlockLength */
        transfer_block(1, "0123456789012345678", 19);
        expect_nrc(UDS_SID_TRANSFER_DATA, UDS_NRC_REQUEST_OUT_OF_RANGE);
}
END_TEST

START_TEST(test_paths_and_limits) {
        static const char *const bad[] = {
                "director/../state.json", "director/..", "director/", "director/a/b.json", "director/.hidden.json",
                "target/../../etc/passwd", "target/a/b", "image/targets.json" /* partial: no image */,
                "director/targets.txt", "/director/root.json", "other/root.json", "target/a\\b", "target/a b",
        };

        session(UDS_SESSION_PROGRAMMING);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                file_request(bad[i], 10);
                ck_assert_msg(resp_len == 3 && resp[2] == UDS_NRC_REQUEST_OUT_OF_RANGE, "%s accepted", bad[i]);
        }
        file_request("target/fw1.bin", (1 << 20) + 1);
        expect_nrc(UDS_SID_REQUEST_FILE_TRANSFER, UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED);
        file_request("director/targets.json", 64 * 1024 + 1);
        expect_nrc(UDS_SID_REQUEST_FILE_TRANSFER, UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED);
        file_request("target/fw1.bin", 1 << 20);
        expect_positive(UDS_SID_REQUEST_FILE_TRANSFER);
        ck_assert_int_eq(access("/tmp/../etc/.passwd.part", F_OK), -1);
}
END_TEST

START_TEST(test_full_update) {
        session(UDS_SESSION_PROGRAMMING);
        attest();
        send_repo(director, "director/");
        send_repo(image, "image/");
        verify_ok();
        send_file("target/fw1.bin", fw1, strlen(fw1));
        routine(UDS_ROUTINE_START, UPTANE_RID_INSTALL);
        expect_positive(UDS_SID_ROUTINE_CONTROL);
        slot_is(1, fw1);
        /* The Director assigns an image the Image repository does not vouch for: a compromised Director
         * (or Primary) alone cannot install it. */
        struct json_object *targets = obj_child(testrepo_signed(director, "targets"), "targets");
        struct json_object *e = json_object_object_get(targets, "fw1.bin"), *c = NULL;
        ck_assert_int_eq(json_object_deep_copy(e, &c, NULL), 0);
        json_object_object_del(targets, "fw1.bin");
        json_object_object_add(targets, "evil.bin", c);
        json_object_object_add(json_object_object_get(c, "custom"), "releaseCounter", json_object_new_int64(5));
        ck_ok(testrepo_publish(director, "targets"));
        ck_ok(testrepo_update_snapshot(director));
        send_repo(director, "director/");
        send_repo(image, "image/");
        routine(UDS_ROUTINE_START, UPTANE_RID_VERIFY_METADATA);
        expect_nrc(UDS_SID_ROUTINE_CONTROL, UDS_NRC_GENERAL_PROGRAMMING_FAILURE);
        routine(UDS_ROUTINE_RESULTS, UPTANE_RID_VERIFY_METADATA);
        ck_assert_uint_eq(resp[4], UPTANE_ROUTINE_REJECTED);
        slot_is(1, fw1);
        read_did(UPTANE_DID_VERIFICATION);
        ck_assert(resp_len == 7 && memcmp(resp + 3, "full", 4) == 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("secondaryd_uds");
        TCase *tc = tcase_create("partial"), *full = tcase_create("full");

        tcase_add_checked_fixture(tc, setup_partial, teardown);
        tcase_add_test(tc, test_identification);
        tcase_add_test(tc, test_sessions);
        tcase_add_test(tc, test_partial_update);
        tcase_add_test(tc, test_compromised_primary_wrong_image);
        tcase_add_test(tc, test_forged_and_replayed_metadata);
        tcase_add_test(tc, test_replayed_time_attestation);
        tcase_add_test(tc, test_block_sequence);
        tcase_add_test(tc, test_paths_and_limits);
        suite_add_tcase(s, tc);
        tcase_add_checked_fixture(full, setup_full, teardown);
        tcase_add_test(full, test_full_update);
        suite_add_tcase(s, full);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
