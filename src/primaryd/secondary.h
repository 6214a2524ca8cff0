/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Primary's view of one Secondary ECU (issue 5 implements it over UDS on
 * DoIP and on ISO-TP; docs/POUF.md will map each call to UDS services). The
 * update cycle talks only to this interface, on its worker thread: every
 * call may block, is bounded by the transport's timeouts, and fails with a
 * negative errno that stays with this Secondary (-ETIMEDOUT, -ECONNRESET,
 * -EBADMSG for a malformed answer, -EFBIG for one over a limit). A dead,
 * slow or misbehaving Secondary is reported and skipped; the others, and the
 * Primary, are still updated.
 *
 * One exchange per cycle (Uptane 2.1 §5.4.2):
 *
 *   get_report()      its signed ECU version report (checked by the Primary
 *                     with the Secondary's registered key before it goes
 *                     into the vehicle manifest), whose nonce also goes to
 *                     the time server
 *   send_time()       the time attestation covering that nonce
 *   send_metadata()   full verification: both repositories' metadata;
 *                     partial: the Director's targets (and root)
 *   send_image()      the image, already verified by the Primary
 *   install()         verify and install (the Secondary checks again)
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uptane/key.h"
#include "package_manager.h"

typedef enum SecondaryVerification {
        SECONDARY_FULL,
        SECONDARY_PARTIAL,
} SecondaryVerification;

/* Metadata for one Secondary: the exact bytes the Primary trusted. */
typedef struct SecondaryMetadataFile {
        const char *repository; /* "director" or "image" */
        const char *role;       /* "root", "timestamp", "snapshot", "targets", delegated role names */
        const uint8_t *data;
        size_t len;
} SecondaryMetadataFile;

typedef struct Secondary Secondary;

typedef struct SecondaryOps {
        const char *transport; /* "doip", "isotp" */
        int (*get_report)(Secondary *s, uint8_t **ret, size_t *ret_len);
        int (*send_time)(Secondary *s, const void *attestation, size_t len);
        int (*send_metadata)(Secondary *s, const SecondaryMetadataFile *files, size_t n_files);
        /* progress(userdata, done, total) as the image goes out; non-zero stops it (-ECANCELED). */
        int (*send_image)(Secondary *s, const char *path, uint64_t length,
                          int (*progress)(void *userdata, uint64_t done, uint64_t total), void *userdata);
        int (*install)(Secondary *s, InstallOutcome *ret);
        void (*free)(Secondary *s);
} SecondaryOps;

struct Secondary {
        const SecondaryOps *ops;
        char *serial;          /* from uptane.conf, checked against what it says */
        char *hardware_id;
        UpKey *key;            /* its public key, as registered with the Director */
        SecondaryVerification verification;
};
