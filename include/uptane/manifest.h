/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The messages an ECU signs, and the time server's attestation:
 *
 *   ECU version report        signed by one ECU's key (Uptane 2.1 §5.4.2.1.2)
 *   vehicle version manifest  signed by the Primary's key, embeds the reports (§5.4.2.1.1)
 *   time attestation          signed by the time server's key
 *
 * All three use the envelope of TUF metadata, with one signature object per
 * signer:
 *
 *   {"signatures": [{"keyid": K, "method": M, "sig": S}, ...], "signed": {...}}
 *
 * where K is the TUF key id of the signer, M the key's scheme name ("ed25519",
 * "ecdsa-sha2-nistp256", "rsassa-pss-sha256", ...) and S the lower-case hex
 * signature over the canonical JSON of "signed". A verifier is given the one
 * key it expects: the signature labelled with that key's id must carry the
 * key's scheme and be valid; other signatures are ignored.
 *
 * Parsing is strict (types, ranges, lengths; see the limits below) and keeps
 * the JSON tree: unknown members are allowed, stay signed and are ignored.
 * Every sign function checks its result with the matching parser, so what
 * libuptane signs, libuptane accepts.
 *
 * Errors are negative errno values of the classes in uptane/error.h:
 * -EBADMSG malformed, -EFBIG over a limit, -ENOTUNIQ two signatures with one
 * key id, -EKEYREJECTED no valid signature by the key, -EXDEV a report filed
 * under another ECU's serial, -ESTALE a replayed or older time attestation,
 * -EINVAL bad arguments (including input a parser would refuse), -ENOMEM.
 * Out-parameters are only written on success. Nothing here logs or keeps
 * global state.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/key.h"

/* Limits on what a sender controls. Over a limit gives -EFBIG. */
#define UP_MSG_MAX_ID          256u          /* bytes: serials, VIN, key ids, methods, hash names, codes */
#define UP_MSG_MAX_TEXT        4096u         /* bytes: filepath, attacks_detected, description */
#define UP_MSG_MAX_SIG_HEX     2048u         /* hex digits of one signature (RSA up to 8192 bits) */
#define UP_MSG_MAX_SIGNATURES  8u            /* signature objects per message */
#define UP_MSG_MAX_HASHES      8u            /* hashes of the installed image */
#define UP_MSG_MAX_HASH_HEX    128u          /* hex digits of a hash of an unknown algorithm */
#define UP_MSG_MAX_CUSTOM      (16u * 1024u) /* bytes of the canonical JSON of a "custom" object */

#define UP_ECU_REPORT_MAX_BYTES        (64u * 1024u)
#define UP_VEHICLE_MANIFEST_MAX_BYTES  (16u * 1024u * 1024u)
#define UP_VEHICLE_MANIFEST_MAX_ECUS   256u  /* reports, and items of the installation report */
#define UP_TIME_ATTESTATION_MAX_BYTES  (64u * 1024u)
#define UP_TIME_ATTESTATION_MAX_NONCES 1024u

/* Nonces are integers in [0, UP_NONCE_MAX] (the reference implementation's range). */
#define UP_NONCE_MAX ((int64_t) INT32_MAX)

static inline bool up_nonce_valid(int64_t nonce) {
        return nonce >= 0 && nonce <= UP_NONCE_MAX;
}

/* A fresh random nonce from the OpenSSL CSPRNG. -EIO when it has no entropy. */
int up_nonce_generate(int64_t *ret);

/* --- The signed envelope ------------------------------------------------- */

typedef struct UpSignedMessage UpSignedMessage;

/* Checks the envelope of doc (a reference is taken): "signed" an object,
 * "signatures" an array of at most UP_MSG_MAX_SIGNATURES objects, each with a
 * key id and method (identifiers, see up_message_get_id()) and a non-empty
 * lower-case hex "sig" of at most UP_MSG_MAX_SIG_HEX digits, no key id twice
 * (-ENOTUNIQ). Computes the canonical form of "signed" (floats: -EBADMSG). */
int up_signed_message_from_json(struct json_object *doc, UpSignedMessage **ret);
UpSignedMessage *up_signed_message_free(UpSignedMessage *m);
static inline void up_signed_message_freep(UpSignedMessage **m) {
        if (*m)
                up_signed_message_free(*m);
}

/* Borrowed; do not modify (the signatures cover what was parsed). */
struct json_object *up_signed_message_json(const UpSignedMessage *m);   /* the envelope */
struct json_object *up_signed_message_signed(const UpSignedMessage *m); /* "signed" */

/* 0 when the signature labelled with key's TUF key id names key's scheme as
 * its method and is valid over the canonical form of "signed";
 * -EKEYREJECTED otherwise. */
int up_signed_message_verify(const UpSignedMessage *m, const UpKey *key);

/* Signs signed_obj with key and serializes the envelope (compact JSON, UTF-8,
 * NUL-terminated; *ret_len excludes the NUL). -ENOKEY without a private key. */
int up_signed_message_sign(struct json_object *signed_obj, const UpKey *key, char **ret, size_t *ret_len);

/* Strict getters for the fields of these messages (parsers of related
 * messages can reuse them). An identifier is 1..UP_MSG_MAX_ID bytes without
 * control characters (U+0000..U+001F, U+007F); a text is 0..UP_MSG_MAX_TEXT
 * bytes. Missing or of another type: -EBADMSG; too long: -EFBIG. */
int up_message_get_id(struct json_object *o, const char *key, const char **ret);
int up_message_get_text(struct json_object *o, const char *key, const char **ret);
/* A time "YYYY-MM-DDTHH:MM:SSZ" (UTC) from 1970-01-01T00:00:00Z on. */
int up_message_get_time(struct json_object *o, const char *key, time_t *ret);
/* The optional "custom" member of o: an object whose canonical JSON is at
 * most UP_MSG_MAX_CUSTOM bytes; *ret is NULL (and 0 returned) when absent. */
int up_message_get_custom(struct json_object *o, struct json_object **ret);

/* --- ECU version report -------------------------------------------------- */

/* One hash of an image: algorithm name and lower-case hex digest. Known
 * algorithms (uptane/hash.h) must have a digest of their size; others are
 * carried as they are (at most UP_MSG_MAX_HASH_HEX digits). */
typedef struct UpHashHex {
        const char *alg;
        const char *hex;
} UpHashHex;

/* "installed_image": {"filepath": ..., "fileinfo": {"length": ..., "hashes": {...}}} */
typedef struct UpImageInfo {
        const char *filepath;       /* text, not empty */
        int64_t length;             /* >= 0 */
        const UpHashHex *hashes;    /* 1..UP_MSG_MAX_HASHES, distinct algorithm names */
        size_t n_hashes;
} UpImageInfo;

/* The payload of an ECU version report, as signed and as parsed. In a parsed
 * report every pointer is borrowed from the document. */
typedef struct UpEcuReport {
        const char *ecu_serial;            /* identifier */
        UpImageInfo installed_image;
        time_t timeserver_time;            /* latest time the ECU verified */
        time_t previous_timeserver_time;
        const char *attacks_detected;      /* text; "" when none (NULL is signed as "") */
        int64_t nonce;                     /* [0, UP_NONCE_MAX]; new every update cycle */
        int64_t report_counter;            /* >= 0 */
        struct json_object *custom;        /* optional object; NULL when absent */
} UpEcuReport;

typedef struct UpEcuReportDoc UpEcuReportDoc;

/* Builds, signs and serializes a report. -EINVAL when in holds something
 * the parser refuses, -EFBIG when over a limit. */
int up_ecu_report_sign(const UpEcuReport *in, const UpKey *key, char **ret, size_t *ret_len);

/* Parses a report of at most UP_ECU_REPORT_MAX_BYTES. */
int up_ecu_report_parse(const void *buf, size_t len, UpEcuReportDoc **ret);
/* The same for a report already in a JSON tree (a reference is taken). */
int up_ecu_report_from_json(struct json_object *doc, UpEcuReportDoc **ret);
UpEcuReportDoc *up_ecu_report_doc_free(UpEcuReportDoc *d);
static inline void up_ecu_report_doc_freep(UpEcuReportDoc **d) {
        if (*d)
                up_ecu_report_doc_free(*d);
}

const UpEcuReport *up_ecu_report_doc_report(const UpEcuReportDoc *d); /* borrowed */
struct json_object *up_ecu_report_doc_json(const UpEcuReportDoc *d);  /* borrowed, read-only: the envelope */

/* The hex digest for a hash algorithm name ("sha256"); NULL when not listed. */
const char *up_image_info_hash(const UpImageInfo *info, const char *alg);

/* Checks the ECU's signature with the ECU's key (0 or -EKEYREJECTED). */
int up_ecu_report_verify(const UpEcuReportDoc *d, const UpKey *ecu_key);

/* --- Vehicle version manifest -------------------------------------------- */

typedef struct UpInstallResult {
        bool success;
        const char *code;         /* text */
        const char *description;  /* text */
} UpInstallResult;

typedef struct UpInstallItem {
        const char *ecu_serial;   /* identifier ("ecu" on the wire) */
        UpInstallResult result;
} UpInstallItem;

typedef struct UpInstallationReport {
        const char *correlation_id;  /* identifier */
        UpInstallResult result;
        const UpInstallItem *items;  /* at most UP_VEHICLE_MANIFEST_MAX_ECUS */
        size_t n_items;
} UpInstallationReport;

/* The payload of a vehicle version manifest, as signed and as parsed. Reports
 * are embedded as signed and filed under their own ecu_serial, which must be
 * distinct. In a parsed manifest every pointer is borrowed from the document. */
typedef struct UpVehicleManifest {
        const char *vin;                                 /* identifier */
        const char *primary_ecu_serial;                  /* identifier */
        const UpEcuReportDoc *const *reports;            /* at most UP_VEHICLE_MANIFEST_MAX_ECUS */
        size_t n_reports;
        const UpInstallationReport *installation_report; /* optional; NULL when absent */
        struct json_object *custom;                      /* optional object; NULL when absent */
} UpVehicleManifest;

typedef struct UpVehicleManifestDoc UpVehicleManifestDoc;

int up_vehicle_manifest_sign(const UpVehicleManifest *in, const UpKey *primary_key, char **ret, size_t *ret_len);

/* Parses a manifest of at most UP_VEHICLE_MANIFEST_MAX_BYTES, each report
 * included (-EXDEV when one is filed under another serial than its own). */
int up_vehicle_manifest_parse(const void *buf, size_t len, UpVehicleManifestDoc **ret);
UpVehicleManifestDoc *up_vehicle_manifest_doc_free(UpVehicleManifestDoc *d);
static inline void up_vehicle_manifest_doc_freep(UpVehicleManifestDoc **d) {
        if (*d)
                up_vehicle_manifest_doc_free(*d);
}

const UpVehicleManifest *up_vehicle_manifest_doc_manifest(const UpVehicleManifestDoc *d); /* borrowed */
/* The report of an ECU; NULL when the manifest has none. */
const UpEcuReportDoc *up_vehicle_manifest_find_report(const UpVehicleManifestDoc *d, const char *ecu_serial);

/* Checks the Primary's signature only (0 or -EKEYREJECTED): check each report
 * with up_ecu_report_verify() and the key of its ECU. */
int up_vehicle_manifest_verify(const UpVehicleManifestDoc *d, const UpKey *primary_key);

/* --- Time attestation ---------------------------------------------------- */

typedef struct UpTimeAttestationDoc UpTimeAttestationDoc;

/* Signs {"time": time, "nonces": [...]} (each nonce in range, at most
 * UP_TIME_ATTESTATION_MAX_NONCES of them) with the time server's key. */
int up_time_attestation_sign(time_t time, const int64_t *nonces, size_t n_nonces, const UpKey *key, char **ret,
                             size_t *ret_len);

/* Parses an attestation of at most UP_TIME_ATTESTATION_MAX_BYTES. */
int up_time_attestation_parse(const void *buf, size_t len, UpTimeAttestationDoc **ret);
UpTimeAttestationDoc *up_time_attestation_doc_free(UpTimeAttestationDoc *d);
static inline void up_time_attestation_doc_freep(UpTimeAttestationDoc **d) {
        if (*d)
                up_time_attestation_doc_free(*d);
}

time_t up_time_attestation_time(const UpTimeAttestationDoc *d);
const int64_t *up_time_attestation_nonces(const UpTimeAttestationDoc *d, size_t *ret_n); /* borrowed */
bool up_time_attestation_has_nonce(const UpTimeAttestationDoc *d, int64_t nonce);

/* What an ECU checks before it takes the time: a valid signature by the time
 * server's key (-EKEYREJECTED), its own nonce listed (-ESTALE: a replayed
 * attestation) and a time later than the last one it verified (-ESTALE).
 * -EINVAL when required_nonce is out of range. */
int up_time_attestation_verify(const UpTimeAttestationDoc *d, const UpKey *key, int64_t required_nonce,
                               time_t last_verified_time);
/* The same for a Primary, which requires every nonce it sent. */
int up_time_attestation_verify_nonces(const UpTimeAttestationDoc *d, const UpKey *key, const int64_t *required,
                                      size_t n_required, time_t last_verified_time);
