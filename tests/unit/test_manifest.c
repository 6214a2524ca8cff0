/* SPDX-License-Identifier: MIT */
/*
 * ECU version reports and vehicle version manifests: round trips for every
 * key scheme, strict parsing (each field, each limit and one past it), the
 * checks of the signing side, and the attacks a Director must catch: tampered
 * reports, reports signed by another ECU's key or filed under another ECU's
 * serial, relabelled and duplicate signatures, wrong keys.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrepo.h"
#include "uptane/error.h"
#include "uptane/hash.h"
#include "uptane/manifest.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define BAD (-EBADMSG)
#define BIG (-EFBIG)

#define SHA256_HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA512_HEX "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
                   "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"

/* Keys by scheme: two ECUs and the Primary, generated once in main(). */
enum { ECU_A, ECU_B, PRIMARY, _N_SIGNERS };
static UpKey *keys[_UP_SCHEME_MAX][_N_SIGNERS];

static const UpHashHex image_hashes[] = {
        { "sha256", SHA256_HEX },
        { "sha512", SHA512_HEX },
};

static UpEcuReport make_report(const char *serial) {
        return (UpEcuReport) {
                .ecu_serial = serial,
                .installed_image = {
                        .filepath = "firmware-v1.bin",
                        .length = 1048576,
                        .hashes = image_hashes,
                        .n_hashes = ELEMENTSOF(image_hashes),
                },
                .timeserver_time = TESTREPO_NOW,
                .previous_timeserver_time = TESTREPO_NOW - TESTREPO_DAY,
                .attacks_detected = "",
                .nonce = 12345,
                .report_counter = 7,
        };
}

static char *sign_report(const UpEcuReport *in, const UpKey *key, size_t *ret_len) {
        char *text = NULL;
        int r;

        r = up_ecu_report_sign(in, key, &text, ret_len);
        ck_assert_msg(r == 0, "up_ecu_report_sign: %s", strerror(-r));
        ck_assert_uint_eq(strlen(text), *ret_len);
        return text;
}

static UpEcuReportDoc *parse_report_ok(const char *text, size_t len) {
        UpEcuReportDoc *d = NULL;
        int r;

        r = up_ecu_report_parse(text, len, &d);
        ck_assert_msg(r == 0, "up_ecu_report_parse: %s\n%s", strerror(-r), text);
        return d;
}

/* A report of serial signed by key, parsed. */
static UpEcuReportDoc *signed_report(const char *serial, const UpKey *key) {
        UpEcuReport in = make_report(serial);
        UpEcuReportDoc *d;
        size_t len;
        char *text;

        text = sign_report(&in, key, &len);
        d = parse_report_ok(text, len);
        free(text);
        return d;
}

static const UpInstallItem install_items[] = {
        { "ecu-a", { true, "OK", "Installing package was successful" } },
        { "ecu-b", { false, "ecu-b-hw:INSTALL_FAILED", "Checksum \"mismatch\" in /dev/mmc\\1" } },
};

static const UpInstallationReport install_report = {
        .correlation_id = "urn:here-ota:campaign:bench-0001",
        .result = { false, "ecu-b-hw:INSTALL_FAILED", "One ECU failed" },
        .items = install_items,
        .n_items = ELEMENTSOF(install_items),
};

/* The base vehicle manifest: reports of "primary", "ecu-a" and "ecu-b", each
 * signed with its own key, an installation report and custom data. */
static char *make_vehicle(UpKeyScheme s, size_t *ret_len) {
        UpEcuReportDoc *reports[3] = {
                signed_report("primary", keys[s][PRIMARY]),
                signed_report("ecu-a", keys[s][ECU_A]),
                signed_report("ecu-b", keys[s][ECU_B]),
        };
        struct json_object *custom = json_tokener_parse("{\"fleet\":\"bench\",\"n\":[1,2,3]}");
        UpVehicleManifest in = {
                .vin = "WDD1234567890ABCD",
                .primary_ecu_serial = "primary",
                .reports = (const UpEcuReportDoc *const *) reports,
                .n_reports = ELEMENTSOF(reports),
                .installation_report = &install_report,
                .custom = custom,
        };
        char *text = NULL;
        int r;

        r = up_vehicle_manifest_sign(&in, keys[s][PRIMARY], &text, ret_len);
        ck_assert_msg(r == 0, "up_vehicle_manifest_sign: %s", strerror(-r));
        for (size_t i = 0; i < ELEMENTSOF(reports); i++)
                up_ecu_report_doc_free(reports[i]);
        json_object_put(custom);
        return text;
}

static UpVehicleManifestDoc *parse_vehicle_ok(const char *text, size_t len) {
        UpVehicleManifestDoc *d = NULL;
        int r;

        r = up_vehicle_manifest_parse(text, len, &d);
        ck_assert_msg(r == 0, "up_vehicle_manifest_parse: %s", strerror(-r));
        return d;
}

/* --- Editing documents --------------------------------------------------- */

static struct json_object *repeated_string(size_t n, char c) {
        char *s = malloc(n + 1);
        struct json_object *o;

        ck_assert_ptr_nonnull(s);
        memset(s, c, n);
        o = json_object_new_string_len(s, (int) n);
        free(s);
        return o;
}

static struct json_object *nested_arrays(size_t n) {
        struct json_object *o = json_object_new_array();

        for (size_t i = 1; i < n; i++) {
                struct json_object *outer = json_object_new_array();

                json_object_array_add(outer, o);
                o = outer;
        }
        return o;
}

/* Test values: JSON text, or "$<n><c>": a string of n times c, or "@<n>": n
 * nested arrays. */
static struct json_object *value_new(const char *v) {
        char *end;
        size_t n;

        if (v[0] == '$') {
                n = strtoul(v + 1, &end, 10);
                return repeated_string(n, *end);
        }
        if (v[0] == '@')
                return nested_arrays(strtoul(v + 1, NULL, 10));
        return json_tokener_parse(v);
}

static struct json_object *child(struct json_object *o, const char *name) {
        struct json_object *c = NULL;

        if (json_object_is_type(o, json_type_array))
                return json_object_array_get_idx(o, (size_t) atoi(name));
        ck_assert_msg(json_object_object_get_ex(o, name, &c), "no member '%s'", name);
        return c;
}

/* Sets the member at a '/'-separated path to value (NULL deletes it). */
static void apply_edit(struct json_object *doc, const char *path, const char *value) {
        char *copy = strdup(path), *p = copy, *slash;
        struct json_object *o = doc, *v;

        while ((slash = strchr(p, '/'))) {
                *slash = '\0';
                o = child(o, p);
                ck_assert_msg(o, "no member '%s' in %s", p, path);
                p = slash + 1;
        }
        if (!value)
                json_object_object_del(o, p);
        else {
                v = value_new(value);
                ck_assert_msg(v || strcmp(value, "null") == 0, "bad test value %s", value);
                if (json_object_is_type(o, json_type_array))
                        json_object_array_put_idx(o, (size_t) atoi(p), v);
                else
                        json_object_object_add(o, p, v);
        }
        free(copy);
}

static char *to_text(struct json_object *doc, size_t *ret_len) {
        const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        *ret_len = strlen(s);
        return strdup(s);
}

/* text with the edits applied (pairs of path and value, NULL-terminated). */
static char *edited(const char *text, size_t *ret_len, const char *const *edits) {
        struct json_object *doc = json_tokener_parse(text);
        char *out;

        ck_assert_ptr_nonnull(doc);
        for (size_t i = 0; edits[i]; i += 2)
                apply_edit(doc, edits[i], edits[i + 1]);
        out = to_text(doc, ret_len);
        json_object_put(doc);
        return out;
}

typedef struct Edit {
        const char *path;  /* "" = no change */
        const char *value; /* NULL deletes */
        int expected;
        const char *path2; /* an optional second edit, applied after */
        const char *value2;
} Edit;

static char *apply_test_edit(const char *text, const Edit *e, size_t *ret_len) {
        const char *ops[] = { e->path, e->value, e->path2, e->value2, NULL };

        if (!e->path[0]) {
                *ret_len = strlen(text);
                return strdup(text);
        }
        if (!e->path2)
                ops[2] = NULL;
        return edited(text, ret_len, ops);
}

#define HASHES "signed/installed_image/fileinfo/hashes"
#define FILEINFO "signed/installed_image/fileinfo"
#define H8 "{\"h1\":\"aa\",\"h2\":\"aa\",\"h3\":\"aa\",\"h4\":\"aa\",\"h5\":\"aa\",\"h6\":\"aa\",\"h7\":\"aa\",\"h8\":\"aa\""

static const Edit report_edits[] = {
        { "", NULL, 0 },
        /* Envelope. */
        { "signed", NULL, BAD },
        { "signed", "[]", BAD },
        { "signed", "null", BAD },
        { "signatures", NULL, BAD },
        { "signatures", "{}", BAD },
        { "signatures", "[]", 0 },
        { "signatures/0", "\"sig\"", BAD },
        { "signatures/0/keyid", NULL, BAD },
        { "signatures/0/keyid", "1", BAD },
        { "signatures/0/keyid", "\"\"", BAD },
        { "signatures/0/keyid", "\"a\\nb\"", BAD },
        { "signatures/0/keyid", "$256k", 0 },
        { "signatures/0/keyid", "$257k", BIG },
        { "signatures/0/method", NULL, BAD },
        { "signatures/0/method", "\"\"", BAD },
        { "signatures/0/method", "$257m", BIG },
        { "signatures/0/sig", NULL, BAD },
        { "signatures/0/sig", "\"\"", BAD },
        { "signatures/0/sig", "\"abc\"", BAD },
        { "signatures/0/sig", "\"ABCD\"", BAD },
        { "signatures/0/sig", "\"zz\"", BAD },
        { "signatures/0/sig", "1", BAD },
        { "signatures/0/sig", "$2048a", 0 },
        { "signatures/0/sig", "$2050a", BIG },
        { "signatures/0/x-extra", "{}", 0 },
        /* Unknown members are signed and ignored; floats cannot be signed. */
        { "signed/x-unknown", "{\"a\":[1,true,null]}", 0 },
        { "signed/x-unknown", "1.5", BAD },
        { "signed/x-unknown", "@14", 0 },
        { "signed/x-unknown", "@15", BAD },
        /* ecu_serial */
        { "signed/ecu_serial", NULL, BAD },
        { "signed/ecu_serial", "1", BAD },
        { "signed/ecu_serial", "\"\"", BAD },
        { "signed/ecu_serial", "\"a\\u0001b\"", BAD },
        { "signed/ecu_serial", "\"a\\u007fb\"", BAD },
        { "signed/ecu_serial", "\"a\\u0000b\"", BAD },
        { "signed/ecu_serial", "\"\\u00e9cu \\\"7\\\"/x\"", 0 },
        { "signed/ecu_serial", "$256s", 0 },
        { "signed/ecu_serial", "$257s", BIG },
        /* installed_image */
        { "signed/installed_image", NULL, BAD },
        { "signed/installed_image", "[]", BAD },
        { "signed/installed_image/filepath", NULL, BAD },
        { "signed/installed_image/filepath", "\"\"", BAD },
        { "signed/installed_image/filepath", "[]", BAD },
        { "signed/installed_image/filepath", "$4096p", 0 },
        { "signed/installed_image/filepath", "$4097p", BIG },
        { "signed/installed_image/fileinfo", NULL, BAD },
        { "signed/installed_image/fileinfo", "\"x\"", BAD },
        { "signed/installed_image/fileinfo/custom", "{\"x\":1}", 0 },
        { FILEINFO "/length", NULL, BAD },
        { FILEINFO "/length", "-1", BAD },
        { FILEINFO "/length", "\"3\"", BAD },
        { FILEINFO "/length", "3.0", BAD },
        { FILEINFO "/length", "0", 0 },
        { FILEINFO "/length", "9223372036854775807", 0 },
        { FILEINFO "/length", "9223372036854775808", BAD },
        { HASHES, NULL, BAD },
        { HASHES, "{}", BAD },
        { HASHES, "[]", BAD },
        { HASHES, "{\"sha256\":\"" SHA256_HEX "\"}", 0 },
        { HASHES "/sha256", "1", BAD },
        { HASHES "/sha256", "\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\"", BAD },
        { HASHES "/sha256", "$62a", BAD },
        { HASHES "/sha256", "$66a", BAD },
        { HASHES "/sha512", "\"" SHA256_HEX "\"", BAD },
        { HASHES "/sha256", "\"e3b0\\u0000\"", BAD },
        { HASHES "/blake3", "$128a", 0 },
        { HASHES "/blake3", "$130a", BIG },
        { HASHES "/blake3", "$2a", 0 },
        { HASHES "/", "\"aa\"", BAD },
        { HASHES "/a\tb", "\"aa\"", BAD },
        { HASHES, H8 "}", 0 },
        { HASHES, H8 ",\"h9\":\"aa\"}", BIG },
        /* times */
        { "signed/timeserver_time", NULL, BAD },
        { "signed/timeserver_time", "1749945600", BAD },
        { "signed/timeserver_time", "\"2025-06-15T00:00:00\"", BAD },
        { "signed/timeserver_time", "\"2025-06-15T00:00:00.5Z\"", BAD },
        { "signed/timeserver_time", "\"2025-02-30T00:00:00Z\"", BAD },
        { "signed/timeserver_time", "\"1970-01-01T00:00:00Z\"", 0 },
        { "signed/timeserver_time", "\"1969-12-31T23:59:59Z\"", BAD },
        { "signed/timeserver_time", "\"0999-01-01T00:00:00Z\"", BAD },
        { "signed/timeserver_time", "\"9999-12-31T23:59:59Z\"", 0 },
        { "signed/previous_timeserver_time", "\"1900-01-01T00:00:00Z\"", BAD },
        { "signed/previous_timeserver_time", NULL, BAD },
        { "signed/previous_timeserver_time", "\"yesterday\"", BAD },
        /* attacks_detected */
        { "signed/attacks_detected", NULL, BAD },
        { "signed/attacks_detected", "null", BAD },
        { "signed/attacks_detected", "false", BAD },
        { "signed/attacks_detected", "\"rollback of targets\"", 0 },
        { "signed/attacks_detected", "$4096x", 0 },
        { "signed/attacks_detected", "$4097x", BIG },
        /* nonce and report_counter */
        { "signed/nonce", NULL, BAD },
        { "signed/nonce", "-1", BAD },
        { "signed/nonce", "0", 0 },
        { "signed/nonce", "2147483647", 0 },
        { "signed/nonce", "2147483648", BAD },
        { "signed/nonce", "18446744073709551615", BAD },
        { "signed/nonce", "\"1\"", BAD },
        { "signed/nonce", "1.0", BAD },
        { "signed/report_counter", NULL, BAD },
        { "signed/report_counter", "-1", BAD },
        { "signed/report_counter", "\"2\"", BAD },
        { "signed/report_counter", "0", 0 },
        { "signed/report_counter", "9223372036854775807", 0 },
        /* custom */
        { "signed/custom", "{\"a\":[1,{\"b\":\"c\"}]}", 0 },
        { "signed/custom", "[]", BAD },
        { "signed/custom", "null", BAD },
        { "signed/custom", "\"x\"", BAD },
        { "signed/custom", "{\"f\":0.5}", BAD },
        /* {"x":"..."} is 8 bytes of canonical JSON around the string. */
        { "signed/custom", "{}", 0, "signed/custom/x", "$16376c" },
        { "signed/custom", "{}", BIG, "signed/custom/x", "$16377c" },
};

START_TEST(test_report_edited) {
        const Edit *e = &report_edits[_i];
        UpEcuReportDoc *d = NULL;
        size_t base_len, len;
        char *base, *text;
        UpEcuReport in = make_report("ecu-a");
        int r;

        base = sign_report(&in, keys[UP_SCHEME_ED25519][ECU_A], &base_len);
        text = apply_test_edit(base, e, &len);
        r = up_ecu_report_parse(text, len, &d);
        ck_assert_msg(r == e->expected, "%s = %.40s: got %d (%s), expected %d", e->path,
                      e->value ? e->value : "(deleted)", r, strerror(-r), e->expected);
        ck_assert(r < 0 ? d == NULL : d != NULL);
        up_ecu_report_doc_free(d);
        free(text);
        free(base);
}
END_TEST

#define VM "signed/ecu_version_manifests"

static const Edit vehicle_edits[] = {
        { "", NULL, 0 },
        { "signed", NULL, BAD },
        { "signatures", NULL, BAD },
        { "signatures/0/method", "1", BAD },
        { "signatures/0/sig", "$2050a", BIG },
        { "signed/vin", NULL, BAD },
        { "signed/vin", "\"\"", BAD },
        { "signed/vin", "17", BAD },
        { "signed/vin", "$256v", 0 },
        { "signed/vin", "$257v", BIG },
        { "signed/primary_ecu_serial", NULL, BAD },
        { "signed/primary_ecu_serial", "\"p\\rq\"", BAD },
        { "signed/primary_ecu_serial", "$257p", BIG },
        { "signed/x-unknown", "1", 0 },
        { "signed/x-unknown", "-0.0", BAD },
        /* The reports. */
        { VM, NULL, BAD },
        { VM, "[]", BAD },
        { VM, "{}", 0 },
        { VM "/ecu-a", "[]", BAD },
        { VM "/ecu-a", "null", BAD },
        { VM "/ecu-a/signatures", NULL, BAD },
        { VM "/ecu-a/signatures/0/sig", "\"xyz\"", BAD },
        { VM "/ecu-a/signed/nonce", "-1", BAD },
        { VM "/ecu-a/signed/ecu_serial", "$257e", BIG },
        { VM "/ecu-a/signed/custom", "[]", BAD },
        { VM "/ecu-a/signed/x", "@15", 0 },
        { VM "/ecu-a/signed/x", "@16", BAD },
        /* ECU A's report filed as ECU B's. */
        { VM "/ecu-b/signed/ecu_serial", "\"ecu-a\"", -EXDEV },
        { VM "/ecu-a/signed/ecu_serial", "\"ECU-A\"", -EXDEV },
        /* The installation report. */
        { "signed/installation_report", NULL, 0 },
        { "signed/installation_report", "[]", BAD },
        { "signed/installation_report", "null", BAD },
        { "signed/installation_report/correlation_id", NULL, BAD },
        { "signed/installation_report/correlation_id", "\"\"", BAD },
        { "signed/installation_report/correlation_id", "$256c", 0 },
        { "signed/installation_report/correlation_id", "$257c", BIG },
        { "signed/installation_report/result", NULL, BAD },
        { "signed/installation_report/result", "true", BAD },
        { "signed/installation_report/result/success", NULL, BAD },
        { "signed/installation_report/result/success", "\"true\"", BAD },
        { "signed/installation_report/result/success", "1", BAD },
        { "signed/installation_report/result/code", NULL, BAD },
        { "signed/installation_report/result/code", "\"\"", 0 },
        { "signed/installation_report/result/code", "$4096c", 0 },
        { "signed/installation_report/result/code", "$4097c", BIG },
        { "signed/installation_report/result/description", NULL, BAD },
        { "signed/installation_report/result/description", "$4097d", BIG },
        { "signed/installation_report/items", NULL, BAD },
        { "signed/installation_report/items", "{}", BAD },
        { "signed/installation_report/items", "[]", 0 },
        { "signed/installation_report/items/0", "1", BAD },
        { "signed/installation_report/items/0/ecu", NULL, BAD },
        { "signed/installation_report/items/0/ecu", "$257e", BIG },
        { "signed/installation_report/items/0/result", NULL, BAD },
        { "signed/installation_report/items/1/result/success", NULL, BAD },
        { "signed/installation_report/items/1/result/description", "2", BAD },
        /* custom */
        { "signed/custom", NULL, 0 },
        { "signed/custom", "[]", BAD },
        { "signed/custom", "{}", 0, "signed/custom/x", "$16376c" },
        { "signed/custom", "{}", BIG, "signed/custom/x", "$16377c" },
};

START_TEST(test_vehicle_edited) {
        const Edit *e = &vehicle_edits[_i];
        UpVehicleManifestDoc *d = NULL;
        size_t base_len, len;
        char *base, *text;
        int r;

        base = make_vehicle(UP_SCHEME_ED25519, &base_len);
        text = apply_test_edit(base, e, &len);
        r = up_vehicle_manifest_parse(text, len, &d);
        ck_assert_msg(r == e->expected, "%s = %.40s: got %d (%s), expected %d", e->path,
                      e->value ? e->value : "(deleted)", r, strerror(-r), e->expected);
        ck_assert(r < 0 ? d == NULL : d != NULL);
        up_vehicle_manifest_doc_free(d);
        free(text);
        free(base);
}
END_TEST

/* --- Round trips ----------------------------------------------------------- */

static const UpKeyScheme schemes[] = {
        UP_SCHEME_ED25519,
        UP_SCHEME_ECDSA_SHA2_NISTP256,
        UP_SCHEME_RSASSA_PSS_SHA256,
        UP_SCHEME_RSA_PKCS1V15_SHA256,
};

static void assert_report_eq(const UpEcuReport *a, const UpEcuReport *b) {
        ck_assert_str_eq(a->ecu_serial, b->ecu_serial);
        ck_assert_str_eq(a->installed_image.filepath, b->installed_image.filepath);
        ck_assert_int_eq(a->installed_image.length, b->installed_image.length);
        ck_assert_uint_eq(a->installed_image.n_hashes, b->installed_image.n_hashes);
        for (size_t i = 0; i < a->installed_image.n_hashes; i++) {
                const UpHashHex *h = &a->installed_image.hashes[i];

                ck_assert_pstr_eq(up_image_info_hash(&b->installed_image, h->alg), h->hex);
        }
        ck_assert_int_eq(a->timeserver_time, b->timeserver_time);
        ck_assert_int_eq(a->previous_timeserver_time, b->previous_timeserver_time);
        ck_assert_str_eq(a->attacks_detected ?: "", b->attacks_detected);
        ck_assert_int_eq(a->nonce, b->nonce);
        ck_assert_int_eq(a->report_counter, b->report_counter);
        ck_assert(a->custom ? json_object_equal(a->custom, b->custom) : !b->custom);
}

START_TEST(test_report_round_trip) {
        UpKeyScheme s = schemes[_i];
        struct json_object *custom = json_tokener_parse("{\"hw\":\"bench-hw\",\"slots\":[\"a\",\"b\"],\"n\":-3}");
        UpEcuReport in = make_report("ecu-a"), again;
        UpEcuReportDoc *d, *d2;
        size_t len, len2;
        char *text, *text2;

        in.custom = custom;
        in.attacks_detected = "\"quoted\" \\ / \xc3\xa9\xe2\x82\xac \x01 tab\t";
        in.installed_image.filepath = "dir/firmware \xe2\x9c\x93.bin";
        in.nonce = UP_NONCE_MAX;
        text = sign_report(&in, keys[s][ECU_A], &len);
        d = parse_report_ok(text, len);
        assert_report_eq(&in, up_ecu_report_doc_report(d));
        ck_assert_ptr_nonnull(up_ecu_report_doc_json(d));
        ck_assert_int_eq(up_ecu_report_verify(d, keys[s][ECU_A]), 0);
        ck_assert_int_eq(up_ecu_report_verify(d, keys[s][ECU_B]), -EKEYREJECTED);

        /* Signing what was parsed gives the same payload again. */
        again = *up_ecu_report_doc_report(d);
        text2 = sign_report(&again, keys[s][ECU_A], &len2);
        d2 = parse_report_ok(text2, len2);
        assert_report_eq(&in, up_ecu_report_doc_report(d2));
        ck_assert_int_eq(up_ecu_report_verify(d2, keys[s][ECU_A]), 0);

        up_ecu_report_doc_free(d2);
        up_ecu_report_doc_free(d);
        free(text2);
        free(text);
        json_object_put(custom);
}
END_TEST

static void assert_result_eq(const UpInstallResult *a, const UpInstallResult *b) {
        ck_assert_int_eq(a->success, b->success);
        ck_assert_str_eq(a->code, b->code);
        ck_assert_str_eq(a->description, b->description);
}

static void assert_install_report_eq(const UpInstallationReport *a, const UpInstallationReport *b) {
        ck_assert_ptr_nonnull(b);
        ck_assert_str_eq(a->correlation_id, b->correlation_id);
        assert_result_eq(&a->result, &b->result);
        ck_assert_uint_eq(a->n_items, b->n_items);
        for (size_t i = 0; i < a->n_items; i++) {
                ck_assert_str_eq(a->items[i].ecu_serial, b->items[i].ecu_serial);
                assert_result_eq(&a->items[i].result, &b->items[i].result);
        }
}

START_TEST(test_vehicle_round_trip) {
        static const char *const serials[] = { "primary", "ecu-a", "ecu-b" };
        static const int signer[] = { PRIMARY, ECU_A, ECU_B };
        UpKeyScheme s = schemes[_i];
        const UpVehicleManifest *m;
        UpVehicleManifestDoc *d;
        size_t len;
        char *text;

        text = make_vehicle(s, &len);
        d = parse_vehicle_ok(text, len);
        m = up_vehicle_manifest_doc_manifest(d);
        ck_assert_str_eq(m->vin, "WDD1234567890ABCD");
        ck_assert_str_eq(m->primary_ecu_serial, "primary");
        ck_assert_uint_eq(m->n_reports, 3);
        ck_assert_ptr_nonnull(m->custom);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(m->custom, "fleet")), "bench");
        assert_install_report_eq(&install_report, m->installation_report);
        ck_assert_int_eq(up_vehicle_manifest_verify(d, keys[s][PRIMARY]), 0);
        ck_assert_int_eq(up_vehicle_manifest_verify(d, keys[s][ECU_A]), -EKEYREJECTED);

        /* The Director looks each ECU's key up by serial. */
        for (size_t i = 0; i < ELEMENTSOF(serials); i++) {
                const UpEcuReportDoc *rep = up_vehicle_manifest_find_report(d, serials[i]);
                UpEcuReport want = make_report(serials[i]);

                ck_assert_ptr_nonnull(rep);
                ck_assert_ptr_eq(rep, m->reports[i]);
                assert_report_eq(&want, up_ecu_report_doc_report(rep));
                ck_assert_int_eq(up_ecu_report_verify(rep, keys[s][signer[i]]), 0);
                ck_assert_int_eq(up_ecu_report_verify(rep, keys[s][signer[(i + 1) % 3]]), -EKEYREJECTED);
        }
        ck_assert_ptr_null(up_vehicle_manifest_find_report(d, "ecu-c"));
        up_vehicle_manifest_doc_free(d);
        free(text);
}
END_TEST

/* The Primary re-embeds the reports of a parsed manifest; they still verify. */
START_TEST(test_vehicle_reembed) {
        UpVehicleManifestDoc *d, *d2;
        const UpVehicleManifest *m;
        UpVehicleManifest in;
        char *text, *text2 = NULL;
        size_t len, len2;

        text = make_vehicle(UP_SCHEME_ED25519, &len);
        d = parse_vehicle_ok(text, len);
        m = up_vehicle_manifest_doc_manifest(d);
        in = *m;
        in.installation_report = NULL;
        in.custom = NULL;
        ck_assert_int_eq(up_vehicle_manifest_sign(&in, keys[UP_SCHEME_ED25519][PRIMARY], &text2, &len2), 0);
        up_vehicle_manifest_doc_free(d);
        d2 = parse_vehicle_ok(text2, len2);
        m = up_vehicle_manifest_doc_manifest(d2);
        ck_assert_ptr_null(m->installation_report);
        ck_assert_ptr_null(m->custom);
        ck_assert_uint_eq(m->n_reports, 3);
        ck_assert_int_eq(up_ecu_report_verify(up_vehicle_manifest_find_report(d2, "ecu-b"),
                                              keys[UP_SCHEME_ED25519][ECU_B]), 0);
        ck_assert_int_eq(up_vehicle_manifest_verify(d2, keys[UP_SCHEME_ED25519][PRIMARY]), 0);
        up_vehicle_manifest_doc_free(d2);
        free(text2);
        free(text);
}
END_TEST

START_TEST(test_vehicle_empty) {
        UpVehicleManifest in = { .vin = "VIN", .primary_ecu_serial = "primary" };
        UpVehicleManifestDoc *d;
        char *text = NULL;
        size_t len;

        ck_assert_int_eq(up_vehicle_manifest_sign(&in, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), 0);
        d = parse_vehicle_ok(text, len);
        ck_assert_uint_eq(up_vehicle_manifest_doc_manifest(d)->n_reports, 0);
        ck_assert_ptr_null(up_vehicle_manifest_doc_manifest(d)->installation_report);
        ck_assert_int_eq(up_vehicle_manifest_verify(d, keys[UP_SCHEME_ED25519][PRIMARY]), 0);
        up_vehicle_manifest_doc_free(d);
        free(text);
}
END_TEST

/* --- Attacks ------------------------------------------------------------- */

static int parse_and_verify_report(const char *text, size_t len, const UpKey *key) {
        UpEcuReportDoc *d = NULL;
        int r;

        r = up_ecu_report_parse(text, len, &d);
        if (r < 0)
                return r;
        r = up_ecu_report_verify(d, key);
        up_ecu_report_doc_free(d);
        return r;
}

START_TEST(test_report_tampered) {
        static const char *const tampering[][2] = {
                { "signed/nonce", "12346" },
                { "signed/report_counter", "8" },
                { "signed/attacks_detected", "\"\"" /* unchanged: control */ },
                { "signed/installed_image/fileinfo/length", "1048577" },
                { HASHES "/sha256", "\"" SHA256_HEX "\"" /* unchanged: control */ },
                { HASHES "/sha256", "\"f3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"" },
                { "signed/timeserver_time", "\"2025-06-16T00:00:00Z\"" },
                { "signed/ecu_serial", "\"ecu-b\"" },
                { "signed/custom", "{}" },
                { "signed/x-unknown", "0" },
        };
        UpKey *key = keys[UP_SCHEME_ED25519][ECU_A];
        UpEcuReport in = make_report("ecu-a");
        size_t base_len;
        char *base;

        base = sign_report(&in, key, &base_len);
        ck_assert_int_eq(parse_and_verify_report(base, base_len, key), 0);
        for (size_t i = 0; i < ELEMENTSOF(tampering); i++) {
                const char *ops[] = { tampering[i][0], tampering[i][1], NULL };
                bool unchanged = i == 2 || i == 4;
                size_t len;
                char *text = edited(base, &len, ops);

                ck_assert_int_eq(parse_and_verify_report(text, len, key), unchanged ? 0 : -EKEYREJECTED);
                free(text);
        }
        free(base);
}
END_TEST

/* The signature itself: flipped, relabelled, with another method or cut. */
START_TEST(test_report_signature_edits) {
        UpKey *a = keys[UP_SCHEME_ED25519][ECU_A], *b = keys[UP_SCHEME_ED25519][ECU_B];
        UpEcuReport in = make_report("ecu-a");
        char keyid_a[65], *base, *text, *by_b, *sig_b;
        struct json_object *doc;
        size_t len;

        ck_assert_int_eq(up_key_keyid(a, keyid_a), 0);
        base = sign_report(&in, a, &len);

        /* One hex digit flipped. */
        doc = json_tokener_parse(base);
        {
                struct json_object *sig = json_object_object_get(json_object_array_get_idx(
                                                                         json_object_object_get(doc, "signatures"), 0),
                                                                 "sig");
                char *s = strdup(json_object_get_string(sig));

                s[10] = s[10] == '0' ? '1' : '0';
                json_object_set_string(sig, s);
                free(s);
        }
        text = to_text(doc, &len);
        ck_assert_int_eq(parse_and_verify_report(text, len, a), -EKEYREJECTED);
        free(text);
        json_object_put(doc);

        /* Another method name for the same key. */
        {
                const char *ops[] = { "signatures/0/method", "\"rsassa-pss-sha256\"", NULL };

                text = edited(base, &len, ops);
                ck_assert_int_eq(parse_and_verify_report(text, len, a), -EKEYREJECTED);
                free(text);
        }

        /* ECU B signs ECU A's report and labels its signature with A's key id. */
        by_b = sign_report(&in, b, &len);
        ck_assert_int_eq(parse_and_verify_report(by_b, len, a), -EKEYREJECTED);
        ck_assert_int_eq(parse_and_verify_report(by_b, len, b), 0); /* hence: look the key up by serial */
        doc = json_tokener_parse(by_b);
        sig_b = strdup(json_object_get_string(json_object_object_get(
                json_object_array_get_idx(json_object_object_get(doc, "signatures"), 0), "sig")));
        json_object_put(doc);
        {
                char *quoted_id = NULL, *quoted_sig = NULL;
                const char *ops[] = { "signatures/0/keyid", NULL, "signatures/0/sig", NULL, NULL };

                ck_assert_int_ge(asprintf(&quoted_id, "\"%s\"", keyid_a), 0);
                ck_assert_int_ge(asprintf(&quoted_sig, "\"%s\"", sig_b), 0);
                ops[1] = quoted_id;
                ops[3] = quoted_sig;
                text = edited(base, &len, ops);
                ck_assert_int_eq(parse_and_verify_report(text, len, a), -EKEYREJECTED);
                free(text);
                free(quoted_id);
                free(quoted_sig);
        }

        /* Without any signature. */
        {
                const char *ops[] = { "signatures", "[]", NULL };

                text = edited(base, &len, ops);
                ck_assert_int_eq(parse_and_verify_report(text, len, a), -EKEYREJECTED);
                free(text);
        }
        free(sig_b);
        free(by_b);
        free(base);
}
END_TEST

/* Adds signature objects to the document's array. */
static char *with_signatures(const char *text, size_t *ret_len, struct json_object *const *add, size_t n) {
        struct json_object *doc = json_tokener_parse(text), *sigs;
        char *out;

        sigs = json_object_object_get(doc, "signatures");
        for (size_t i = 0; i < n; i++)
                json_object_array_add(sigs, json_object_get(add[i]));
        out = to_text(doc, ret_len);
        json_object_put(doc);
        return out;
}

static struct json_object *first_signature(const char *text) {
        struct json_object *doc = json_tokener_parse(text), *sig;

        sig = json_object_get(json_object_array_get_idx(json_object_object_get(doc, "signatures"), 0));
        json_object_put(doc);
        return sig;
}

static struct json_object *fake_signature(size_t i) {
        char buf[128];

        snprintf(buf, sizeof(buf), "{\"keyid\":\"other-%zu\",\"method\":\"ed25519\",\"sig\":\"00ff\"}", i);
        return json_tokener_parse(buf);
}

START_TEST(test_report_signature_count) {
        struct json_object *extra[UP_MSG_MAX_SIGNATURES];
        UpKey *a = keys[UP_SCHEME_ED25519][ECU_A], *b = keys[UP_SCHEME_ED25519][ECU_B];
        UpEcuReport in = make_report("ecu-a");
        struct json_object *sig;
        char *base, *by_b, *text;
        size_t len;

        base = sign_report(&in, a, &len);
        for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                extra[i] = fake_signature(i);

        /* Up to the limit: the right signature is found among the others. */
        text = with_signatures(base, &len, extra, UP_MSG_MAX_SIGNATURES - 1);
        ck_assert_int_eq(parse_and_verify_report(text, len, a), 0);
        free(text);
        text = with_signatures(base, &len, extra, UP_MSG_MAX_SIGNATURES);
        ck_assert_int_eq(parse_and_verify_report(text, len, a), BIG);
        free(text);

        /* The same key id twice, whether or not both signatures are valid. */
        sig = first_signature(base);
        text = with_signatures(base, &len, &sig, 1);
        ck_assert_int_eq(parse_and_verify_report(text, len, a), -ENOTUNIQ);
        free(text);
        json_object_put(sig);

        /* Signed by A and by B: either key verifies. */
        by_b = sign_report(&in, b, &len);
        sig = first_signature(by_b);
        text = with_signatures(base, &len, &sig, 1);
        ck_assert_int_eq(parse_and_verify_report(text, len, a), 0);
        ck_assert_int_eq(parse_and_verify_report(text, len, b), 0);
        ck_assert_int_eq(parse_and_verify_report(text, len, keys[UP_SCHEME_ED25519][PRIMARY]), -EKEYREJECTED);
        free(text);
        json_object_put(sig);

        for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                json_object_put(extra[i]);
        free(by_b);
        free(base);
}
END_TEST

static int parse_vehicle(const char *text, size_t len, UpVehicleManifestDoc **ret) {
        return up_vehicle_manifest_parse(text, len, ret);
}

START_TEST(test_vehicle_attacks) {
        UpKey *primary = keys[UP_SCHEME_ED25519][PRIMARY], *a = keys[UP_SCHEME_ED25519][ECU_A];
        UpEcuReportDoc *by_b = signed_report("ecu-a", keys[UP_SCHEME_ED25519][ECU_B]);
        struct json_object *evil;
        UpVehicleManifestDoc *d = NULL;
        char *base, *text;
        size_t len;

        base = make_vehicle(UP_SCHEME_ED25519, &len);

        /* The Primary's payload changed after signing. */
        {
                const char *ops[] = { "signed/vin", "\"WDD0000000000000\"", NULL };

                text = edited(base, &len, ops);
                ck_assert_int_eq(parse_vehicle(text, len, &d), 0);
                ck_assert_int_eq(up_vehicle_manifest_verify(d, primary), -EKEYREJECTED);
                up_vehicle_manifest_doc_free(d);
                free(text);
        }

        /* An embedded report changed: both signatures break. */
        {
                const char *ops[] = { VM "/ecu-a/signed/nonce", "1", NULL };

                text = edited(base, &len, ops);
                ck_assert_int_eq(parse_vehicle(text, len, &d), 0);
                ck_assert_int_eq(up_vehicle_manifest_verify(d, primary), -EKEYREJECTED);
                ck_assert_int_eq(up_ecu_report_verify(up_vehicle_manifest_find_report(d, "ecu-a"), a),
                                 -EKEYREJECTED);
                up_vehicle_manifest_doc_free(d);
                free(text);
        }

        /* A compromised Primary embeds a report for ECU A signed by ECU B's key:
         * it parses, but fails with the key the Director has for ECU A. */
        {
                struct json_object *doc = json_tokener_parse(base);

                evil = json_object_object_get(json_object_object_get(doc, "signed"), "ecu_version_manifests");
                json_object_object_add(evil, "ecu-a", json_object_get(up_ecu_report_doc_json(by_b)));
                text = to_text(doc, &len);
                json_object_put(doc);
                ck_assert_int_eq(parse_vehicle(text, len, &d), 0);
                ck_assert_int_eq(up_ecu_report_verify(up_vehicle_manifest_find_report(d, "ecu-a"), a),
                                 -EKEYREJECTED);
                up_vehicle_manifest_doc_free(d);
                free(text);
        }

        /* ECU A's genuine report filed under ECU B's serial. */
        {
                struct json_object *doc = json_tokener_parse(base), *reports, *rep_a;

                reports = json_object_object_get(json_object_object_get(doc, "signed"), "ecu_version_manifests");
                rep_a = json_object_object_get(reports, "ecu-a");
                json_object_object_add(reports, "ecu-b", json_object_get(rep_a));
                text = to_text(doc, &len);
                json_object_put(doc);
                d = (UpVehicleManifestDoc *) 1;
                ck_assert_int_eq(parse_vehicle(text, len, &d), -EXDEV);
                ck_assert_ptr_eq(d, (UpVehicleManifestDoc *) 1);
                free(text);
        }

        /* The same report twice, under a serial it does not name. */
        {
                struct json_object *doc = json_tokener_parse(base), *reports;

                reports = json_object_object_get(json_object_object_get(doc, "signed"), "ecu_version_manifests");
                json_object_object_add(reports, "ecu-c", json_object_get(json_object_object_get(reports, "ecu-a")));
                text = to_text(doc, &len);
                json_object_put(doc);
                ck_assert_int_eq(parse_vehicle(text, len, &d), -EXDEV);
                free(text);
        }

        /* Duplicate key ids in the Primary's signatures. */
        {
                struct json_object *sig = first_signature(base);

                text = with_signatures(base, &len, &sig, 1);
                ck_assert_int_eq(parse_vehicle(text, len, &d), -ENOTUNIQ);
                free(text);
                json_object_put(sig);
        }

        /* ... and in an embedded report's. */
        {
                struct json_object *doc = json_tokener_parse(base), *sigs;

                sigs = json_object_object_get(
                        json_object_object_get(
                                json_object_object_get(json_object_object_get(doc, "signed"), "ecu_version_manifests"),
                                "ecu-b"),
                        "signatures");
                json_object_array_add(sigs, json_object_get(json_object_array_get_idx(sigs, 0)));
                text = to_text(doc, &len);
                json_object_put(doc);
                ck_assert_int_eq(parse_vehicle(text, len, &d), -ENOTUNIQ);
                free(text);
        }

        up_ecu_report_doc_free(by_b);
        free(base);
}
END_TEST

/* --- Limits ------------------------------------------------------------------ */

/* text padded with white space to exactly len bytes. */
static char *padded(const char *text, size_t len) {
        size_t n = strlen(text);
        char *buf;

        ck_assert_uint_le(n, len);
        buf = malloc(len + 1);
        memcpy(buf, text, n);
        memset(buf + n, ' ', len - n);
        buf[len] = '\0';
        return buf;
}

START_TEST(test_report_max_bytes) {
        UpEcuReport in = make_report("ecu-a");
        UpEcuReportDoc *d = NULL;
        char *text, *buf;
        size_t len;

        text = sign_report(&in, keys[UP_SCHEME_ED25519][ECU_A], &len);
        buf = padded(text, UP_ECU_REPORT_MAX_BYTES);
        ck_assert_int_eq(up_ecu_report_parse(buf, UP_ECU_REPORT_MAX_BYTES, &d), 0);
        ck_assert_int_eq(up_ecu_report_verify(d, keys[UP_SCHEME_ED25519][ECU_A]), 0);
        up_ecu_report_doc_free(d);
        free(buf);
        buf = padded(text, UP_ECU_REPORT_MAX_BYTES + 1);
        ck_assert_int_eq(up_ecu_report_parse(buf, UP_ECU_REPORT_MAX_BYTES + 1, &d), BIG);
        free(buf);
        free(text);
}
END_TEST

START_TEST(test_report_hash_name_limit) {
        UpEcuReport in = make_report("ecu-a");
        char name[UP_MSG_MAX_ID + 2];
        UpHashHex h[2] = { image_hashes[0], { name, "aa" } };
        UpEcuReportDoc *d = NULL;
        char *text = NULL;
        size_t len;

        in.installed_image.hashes = h;
        in.installed_image.n_hashes = 2;
        memset(name, 'n', sizeof(name) - 1);
        name[UP_MSG_MAX_ID] = '\0';
        text = sign_report(&in, keys[UP_SCHEME_ED25519][ECU_A], &len);
        d = parse_report_ok(text, len);
        ck_assert_pstr_eq(up_image_info_hash(&up_ecu_report_doc_report(d)->installed_image, name), "aa");
        up_ecu_report_doc_free(d);
        free(text);
        text = NULL;

        name[UP_MSG_MAX_ID] = 'n';
        name[UP_MSG_MAX_ID + 1] = '\0';
        ck_assert_int_eq(up_ecu_report_sign(&in, keys[UP_SCHEME_ED25519][ECU_A], &text, &len), BIG);
        ck_assert_ptr_null(text);
}
END_TEST

/* n reports of serials "ecu-000"... signed by ECU A's key. */
static UpEcuReportDoc **many_reports(size_t n) {
        UpEcuReportDoc **v = calloc(n, sizeof(UpEcuReportDoc *));

        for (size_t i = 0; i < n; i++) {
                char serial[32];

                snprintf(serial, sizeof(serial), "ecu-%03zu", i);
                v[i] = signed_report(serial, keys[UP_SCHEME_ED25519][ECU_A]);
        }
        return v;
}

START_TEST(test_vehicle_max_ecus) {
        const size_t max = UP_VEHICLE_MANIFEST_MAX_ECUS;
        UpEcuReportDoc **reports = many_reports(max + 1);
        UpVehicleManifest in = {
                .vin = "VIN",
                .primary_ecu_serial = "ecu-000",
                .reports = (const UpEcuReportDoc *const *) reports,
                .n_reports = max,
        };
        struct json_object *doc, *evm;
        UpVehicleManifestDoc *d = NULL;
        char *text = NULL, *text2;
        size_t len;

        ck_assert_int_eq(up_vehicle_manifest_sign(&in, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), 0);
        d = parse_vehicle_ok(text, len);
        ck_assert_uint_eq(up_vehicle_manifest_doc_manifest(d)->n_reports, max);
        up_vehicle_manifest_doc_free(d);

        /* One more: the signer refuses, and so does the parser. */
        in.n_reports = max + 1;
        ck_assert_int_eq(up_vehicle_manifest_sign(&in, keys[UP_SCHEME_ED25519][PRIMARY], &text2, &len), BIG);
        doc = json_tokener_parse(text);
        evm = json_object_object_get(json_object_object_get(doc, "signed"), "ecu_version_manifests");
        json_object_object_add(evm, "ecu-256", json_object_get(up_ecu_report_doc_json(reports[max])));
        text2 = to_text(doc, &len);
        json_object_put(doc);
        ck_assert_int_eq(up_vehicle_manifest_parse(text2, len, &d), BIG);

        free(text2);
        free(text);
        for (size_t i = 0; i <= max; i++)
                up_ecu_report_doc_free(reports[i]);
        free(reports);
}
END_TEST

START_TEST(test_vehicle_max_items) {
        const size_t max = UP_VEHICLE_MANIFEST_MAX_ECUS;
        UpInstallItem *items = calloc(max + 1, sizeof(UpInstallItem));
        UpInstallationReport ir = { .correlation_id = "c", .result = { true, "OK", "" }, .items = items };
        UpVehicleManifest in = { .vin = "VIN", .primary_ecu_serial = "p", .installation_report = &ir };
        UpVehicleManifestDoc *d = NULL;
        char *text = NULL, *text2 = NULL;
        size_t len;

        for (size_t i = 0; i <= max; i++)
                items[i] = (UpInstallItem) { "ecu", { true, "OK", "fine" } };
        ir.n_items = max;
        ck_assert_int_eq(up_vehicle_manifest_sign(&in, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), 0);
        d = parse_vehicle_ok(text, len);
        ck_assert_uint_eq(up_vehicle_manifest_doc_manifest(d)->installation_report->n_items, max);
        up_vehicle_manifest_doc_free(d);

        ir.n_items = max + 1;
        ck_assert_int_eq(up_vehicle_manifest_sign(&in, keys[UP_SCHEME_ED25519][PRIMARY], &text2, &len), BIG);
        {
                const char *ops[] = { "signed/installation_report/items/256",
                                      "{\"ecu\":\"e\",\"result\":{\"success\":true,\"code\":\"\",\"description\":\"\"}}",
                                      NULL };

                text2 = edited(text, &len, ops);
                ck_assert_int_eq(up_vehicle_manifest_parse(text2, len, &d), BIG);
        }
        free(text2);
        free(text);
        free(items);
}
END_TEST

START_TEST(test_vehicle_max_bytes) {
        UpVehicleManifestDoc *d = NULL;
        char *text, *buf;
        size_t len;

        text = make_vehicle(UP_SCHEME_ED25519, &len);
        buf = padded(text, UP_VEHICLE_MANIFEST_MAX_BYTES);
        ck_assert_int_eq(up_vehicle_manifest_parse(buf, UP_VEHICLE_MANIFEST_MAX_BYTES, &d), 0);
        up_vehicle_manifest_doc_free(d);
        free(buf);
        buf = padded(text, UP_VEHICLE_MANIFEST_MAX_BYTES + 1);
        ck_assert_int_eq(up_vehicle_manifest_parse(buf, UP_VEHICLE_MANIFEST_MAX_BYTES + 1, &d), BIG);
        free(buf);
        free(text);
}
END_TEST

/* --- The signing side ------------------------------------------------------ */

typedef void (*ReportChange)(UpEcuReport *r);

static struct json_object *float_custom, *array_custom;

static void no_serial(UpEcuReport *r) { r->ecu_serial = NULL; }
static void empty_serial(UpEcuReport *r) { r->ecu_serial = ""; }
static void control_serial(UpEcuReport *r) { r->ecu_serial = "a\nb"; }
static void no_filepath(UpEcuReport *r) { r->installed_image.filepath = NULL; }
static void empty_filepath(UpEcuReport *r) { r->installed_image.filepath = ""; }
static void negative_length(UpEcuReport *r) { r->installed_image.length = -1; }
static void no_hashes(UpEcuReport *r) { r->installed_image.n_hashes = 0; }
static void null_hashes(UpEcuReport *r) { r->installed_image.hashes = NULL; }
static void negative_nonce(UpEcuReport *r) { r->nonce = -1; }
static void big_nonce(UpEcuReport *r) { r->nonce = UP_NONCE_MAX + 1; }
static void negative_counter(UpEcuReport *r) { r->report_counter = -1; }
static void year_10000(UpEcuReport *r) { r->timeserver_time = (time_t) 253402300800; }
static void before_1970(UpEcuReport *r) { r->previous_timeserver_time = -1; }
static void float_in_custom(UpEcuReport *r) { r->custom = float_custom; }
static void custom_not_object(UpEcuReport *r) { r->custom = array_custom; }

static const UpHashHex dup_hashes[] = { { "sha256", SHA256_HEX }, { "sha256", SHA256_HEX } };
static const UpHashHex bad_hex[] = { { "sha256", "xyz" } };
static const UpHashHex upper_hex[] = { { "sha256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855" } };
static const UpHashHex null_hex[] = { { "sha256", NULL } };
static const UpHashHex null_alg[] = { { NULL, SHA256_HEX } };
static UpHashHex nine_hashes[UP_MSG_MAX_HASHES + 1];

static void set_hashes(UpEcuReport *r, const UpHashHex *h, size_t n) {
        r->installed_image.hashes = h;
        r->installed_image.n_hashes = n;
}
static void duplicate_alg(UpEcuReport *r) { set_hashes(r, dup_hashes, 2); }
static void bad_hex_digest(UpEcuReport *r) { set_hashes(r, bad_hex, 1); }
static void upper_hex_digest(UpEcuReport *r) { set_hashes(r, upper_hex, 1); }
static void null_hex_digest(UpEcuReport *r) { set_hashes(r, null_hex, 1); }
static void null_alg_name(UpEcuReport *r) { set_hashes(r, null_alg, 1); }
static void too_many_hashes(UpEcuReport *r) { set_hashes(r, nine_hashes, ELEMENTSOF(nine_hashes)); }

static char long_text[UP_MSG_MAX_TEXT + 2];
static void long_attacks(UpEcuReport *r) { r->attacks_detected = long_text; }

static const struct {
        ReportChange change;
        int expected;
} sign_cases[] = {
        { no_serial, -EINVAL },
        { empty_serial, -EINVAL },
        { control_serial, -EINVAL },
        { no_filepath, -EINVAL },
        { empty_filepath, -EINVAL },
        { negative_length, -EINVAL },
        { no_hashes, -EINVAL },
        { null_hashes, -EINVAL },
        { negative_nonce, -EINVAL },
        { big_nonce, -EINVAL },
        { negative_counter, -EINVAL },
        { year_10000, -EINVAL },
        { before_1970, -EINVAL },
        { float_in_custom, -EINVAL },
        { custom_not_object, -EINVAL },
        { duplicate_alg, -EINVAL },
        { bad_hex_digest, -EINVAL },
        { upper_hex_digest, -EINVAL },
        { null_hex_digest, -EINVAL },
        { null_alg_name, -EINVAL },
        { too_many_hashes, BIG },
        { long_attacks, BIG },
};

START_TEST(test_report_sign_checks) {
        UpEcuReport in = make_report("ecu-a");
        char *text = NULL;
        size_t len = 0;
        int r;

        float_custom = json_tokener_parse("{\"f\":1.5}");
        array_custom = json_tokener_parse("[1]");
        for (size_t i = 0; i < ELEMENTSOF(nine_hashes); i++) {
                static char names[UP_MSG_MAX_HASHES + 1][8];

                snprintf(names[i], sizeof(names[i]), "h%zu", i);
                nine_hashes[i] = (UpHashHex) { names[i], "aa" };
        }
        memset(long_text, 'x', UP_MSG_MAX_TEXT + 1);

        sign_cases[_i].change(&in);
        r = up_ecu_report_sign(&in, keys[UP_SCHEME_ED25519][ECU_A], &text, &len);
        ck_assert_msg(r == sign_cases[_i].expected, "case %d: got %d (%s)", _i, r, strerror(-r));
        ck_assert_ptr_null(text);
        ck_assert_uint_eq(len, 0);
        json_object_put(float_custom);
        json_object_put(array_custom);
}
END_TEST

START_TEST(test_sign_arguments) {
        UpEcuReport in = make_report("ecu-a");
        UpVehicleManifest vm = { .vin = "V", .primary_ecu_serial = "p" };
        UpEcuReportDoc *rep = signed_report("ecu-a", keys[UP_SCHEME_ED25519][ECU_A]);
        const UpEcuReportDoc *twice[] = { rep, rep }, *null_rep[] = { NULL };
        UpVehicleManifestDoc *vdummy = NULL;
        UpEcuReportDoc *dummy = NULL;
        struct json_object *pub_json;
        UpKey *pub = NULL;
        char *text = NULL;
        size_t len;

        ck_assert_int_eq(up_ecu_report_sign(NULL, keys[UP_SCHEME_ED25519][ECU_A], &text, &len), -EINVAL);
        ck_assert_int_eq(up_ecu_report_sign(&in, NULL, &text, &len), -EINVAL);
        ck_assert_int_eq(up_ecu_report_sign(&in, keys[UP_SCHEME_ED25519][ECU_A], NULL, &len), -EINVAL);

        /* A public key cannot sign. */
        pub_json = up_key_to_json(keys[UP_SCHEME_ED25519][ECU_A]);
        ck_assert_int_eq(up_key_from_json(pub_json, &pub), 0);
        ck_assert_int_eq(up_ecu_report_sign(&in, pub, &text, &len), -ENOKEY);
        ck_assert_int_eq(up_vehicle_manifest_sign(&vm, pub, &text, &len), -ENOKEY);
        ck_assert_ptr_null(text);

        /* Vehicle manifests: two reports of one ECU, a missing report or field. */
        vm.reports = twice;
        vm.n_reports = 2;
        ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), -EINVAL);
        vm.reports = null_rep;
        vm.n_reports = 1;
        ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), -EINVAL);
        vm.reports = NULL;
        ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), -EINVAL);
        vm.n_reports = 0;
        vm.vin = "";
        ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), -EINVAL);
        vm.vin = NULL;
        ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len), -EINVAL);
        vm.vin = "V";
        {
                UpInstallItem item = { "ecu-a", { true, NULL, "d" } };
                UpInstallationReport ir = { "c", { true, "OK", "d" }, &item, 1 };

                vm.installation_report = &ir;
                ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len),
                                 -EINVAL);
                item.result.code = "OK";
                ir.correlation_id = "";
                ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len),
                                 -EINVAL);
                ir.correlation_id = "c";
                ir.items = NULL;
                ck_assert_int_eq(up_vehicle_manifest_sign(&vm, keys[UP_SCHEME_ED25519][PRIMARY], &text, &len),
                                 -EINVAL);
        }
        ck_assert_ptr_null(text);

        /* Parsers and accessors. */
        ck_assert_int_eq(up_ecu_report_parse(NULL, 1, &dummy), -EINVAL);
        ck_assert_int_eq(up_ecu_report_parse("{}", 2, NULL), -EINVAL);
        ck_assert_int_eq(up_vehicle_manifest_parse(NULL, 1, &vdummy), -EINVAL);
        ck_assert_ptr_null(dummy);
        ck_assert_ptr_null(vdummy);
        ck_assert_int_eq(up_ecu_report_verify(NULL, pub), -EINVAL);
        ck_assert_int_eq(up_ecu_report_verify(rep, NULL), -EINVAL);
        ck_assert_int_eq(up_vehicle_manifest_verify(NULL, pub), -EINVAL);
        ck_assert_ptr_null(up_ecu_report_doc_report(NULL));
        ck_assert_ptr_null(up_vehicle_manifest_doc_manifest(NULL));
        ck_assert_ptr_null(up_vehicle_manifest_find_report(NULL, "x"));
        ck_assert_ptr_null(up_image_info_hash(&up_ecu_report_doc_report(rep)->installed_image, "md5"));
        ck_assert_ptr_null(text);

        up_key_unref(pub);
        json_object_put(pub_json);
        up_ecu_report_doc_free(rep);
}
END_TEST

/* Garbage of every shape must be refused, never crash. */
START_TEST(test_whole_documents) {
        static const char *const bad[] = {
                "", "null", "[]", "{}", "\"report\"", "{", "{\"signatures\":[],\"signed\":[]}",
                "{\"signatures\":[],\"signed\":{}}", "{\"signatures\":[],\"signed\":{}} x",
        };
        UpVehicleManifestDoc *vd = NULL;
        UpEcuReportDoc *d = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_int_eq(up_ecu_report_parse(bad[i], strlen(bad[i]), &d), BAD);
                ck_assert_int_eq(up_vehicle_manifest_parse(bad[i], strlen(bad[i]), &vd), BAD);
        }
        ck_assert_ptr_null(d);
        ck_assert_ptr_null(vd);
}
END_TEST

static Suite *manifest_suite(void) {
        Suite *s = suite_create("manifest");
        TCase *tc;

        tc = tcase_create("parse");
        tcase_add_loop_test(tc, test_report_edited, 0, (int) ELEMENTSOF(report_edits));
        tcase_add_loop_test(tc, test_vehicle_edited, 0, (int) ELEMENTSOF(vehicle_edits));
        tcase_add_test(tc, test_whole_documents);
        suite_add_tcase(s, tc);

        tc = tcase_create("round-trip");
        tcase_add_loop_test(tc, test_report_round_trip, 0, (int) ELEMENTSOF(schemes));
        tcase_add_loop_test(tc, test_vehicle_round_trip, 0, (int) ELEMENTSOF(schemes));
        tcase_add_test(tc, test_vehicle_reembed);
        tcase_add_test(tc, test_vehicle_empty);
        suite_add_tcase(s, tc);

        tc = tcase_create("attacks");
        tcase_add_test(tc, test_report_tampered);
        tcase_add_test(tc, test_report_signature_edits);
        tcase_add_test(tc, test_report_signature_count);
        tcase_add_test(tc, test_vehicle_attacks);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_test(tc, test_report_max_bytes);
        tcase_add_test(tc, test_report_hash_name_limit);
        tcase_add_test(tc, test_vehicle_max_ecus);
        tcase_add_test(tc, test_vehicle_max_items);
        tcase_add_test(tc, test_vehicle_max_bytes);
        suite_add_tcase(s, tc);

        tc = tcase_create("sign");
        tcase_add_loop_test(tc, test_report_sign_checks, 0, (int) ELEMENTSOF(sign_cases));
        tcase_add_test(tc, test_sign_arguments);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                for (int j = 0; j < _N_SIGNERS; j++)
                        if (up_key_generate(schemes[i], &keys[schemes[i]][j]) < 0) {
                                fprintf(stderr, "cannot generate keys\n");
                                return EXIT_FAILURE;
                        }

        sr = srunner_create(manifest_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                for (int j = 0; j < _N_SIGNERS; j++)
                        up_key_unref(keys[schemes[i]][j]);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
