/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Primary's view of one Secondary ECU (secondary_uds.c implements it over
 * UDS on DoIP and on ISO-TP; docs/POUF.md, "Uptane over UDS", maps each call
 * to UDS services). The
 * update cycle talks only to this interface, from its worker threads (one
 * per Secondary at a time, secondary_pool.h; a Secondary is not
 * thread-safe): every call may block, is bounded by the transport's
 * timeouts, and fails with a negative errno that stays with this Secondary
 * (-ETIMEDOUT, -ECONNRESET, -EBADMSG for a malformed answer, -EFBIG for one
 * over a limit, -ECANCELED once *cancel is set). A dead, slow or
 * misbehaving Secondary is reported and skipped; the others, and the
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

#include <stdatomic.h>
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
        const char *role;       /* "root", "N.root" (a rotation), "timestamp", "snapshot", "targets",
                                 * delegated role names: sent as REPOSITORY/ROLE.json */
        const uint8_t *data;
        size_t len;
} SecondaryMetadataFile;

typedef struct Secondary Secondary;

typedef struct SecondaryOps {
        const char *transport; /* "doip", "isotp" */
        /* Its signed ECU version report (at most UP_ECU_REPORT_MAX_BYTES),
         * not yet checked: the caller verifies it with s->key. */
        int (*get_report)(Secondary *s, uint8_t **ret, size_t *ret_len);
        /* The nonce it expects in the next time attestation. */
        int (*get_nonce)(Secondary *s, int64_t *ret);
        int (*send_time)(Secondary *s, const void *attestation, size_t len);
        int (*send_metadata)(Secondary *s, const SecondaryMetadataFile *files, size_t n_files);
        /* The verified image at path, sent as target/TARGET_NAME.
         * progress(userdata, done, total) as the image goes out; non-zero stops it (-ECANCELED). */
        int (*send_image)(Secondary *s, const char *target_name, const char *path, uint64_t length,
                          int (*progress)(void *userdata, uint64_t done, uint64_t total), void *userdata);
        /* Verify what was sent, install it, reset the ECU. 0 with *ret filled
         * (a refusal is an outcome, code "VERIFICATION_REJECTED"); < 0 when
         * the Secondary could not be asked. */
        int (*install)(Secondary *s, InstallOutcome *ret);
        /* Why the last call failed, in words (an NRC's name, what did not
         * match); "" when nothing to add. Valid until the next call. */
        const char *(*last_error)(Secondary *s);
        /* The negative response code (NRC) that made the last call fail; 0: none. */
        uint8_t (*last_nrc)(Secondary *s);
        void (*free)(Secondary *s);
} SecondaryOps;

struct Secondary {
        const SecondaryOps *ops;
        char *name;            /* NAME of [secondary.NAME] */
        char *serial;          /* from uptane.conf, checked against what it says */
        char *hardware_id;
        UpKey *key;            /* its public key, as registered with the Director */
        SecondaryVerification verification;
        /* Set by the daemon (its cancel flag, SIGTERM): a call sends no new
         * request once it is set, and stops waiting out pending answers
         * (0x78); it then fails with -ECANCELED. NULL: never cancelled. */
        const atomic_bool *cancel;
        /* The medium it shares with others: its CAN interface (ISO-TP);
         * NULL: its own (a DoIP connection). The cycle serves one Secondary
         * of a bus at a time. */
        char *bus;
};

Secondary *secondary_free(Secondary *s);
static inline void secondary_freep(Secondary **s) {
        if (*s)
                secondary_free(*s);
}

/* ---- secondary_uds.c: a Secondary over UDS (docs/POUF.md, "Uptane over UDS") ----
 *
 * The identification (F18C serial, F191 hardware id, F1A0 public key, F1A3
 * verification type) is read on first use and again after a failure; the
 * serial, hardware id, key and verification type must be the configured
 * ones (-EXDEV, -ENOEXEC, -EKEYREJECTED, -EMEDIUMTYPE). Trust on first use
 * is not offered: the key comes from uptane.conf.
 *
 * Every request is bounded: response_timeout for an answer, pending_timeout
 * after each "response pending" (0x78), max_pending for all of one request
 * (an install). A negative response gives -EREMOTEIO (last_error() names
 * the NRC). The programming session is entered again before each transfer
 * when more than SECONDARY_UDS_S3_USEC passed since the last request (the
 * server falls back to the default session after S3 = 5 s); while a
 * transfer runs, requests follow each other without such gaps, so no
 * TesterPresent is needed.
 */

struct UdsTransport;

#define SECONDARY_UDS_S3_USEC 4000000u

typedef struct SecondaryUdsOptions {
        const char *name;
        const char *serial;            /* required */
        const char *hardware_id;       /* required */
        UpKey *key;                    /* required; a reference is taken */
        SecondaryVerification verification;
        uint64_t response_timeout_usec;  /* 0: 2 s */
        uint64_t pending_timeout_usec;   /* 0: 5 s (P2*) */
        uint64_t max_pending_usec;       /* 0: 10 min */
} SecondaryUdsOptions;

/* Over a transport the caller keeps alive (tests; ISO-TP and DoIP below). */
int secondary_uds_new(const SecondaryUdsOptions *o, const struct UdsTransport *t, Secondary **ret);

/* DoIP: one persistent TCP connection to address:port (numeric), routing
 * activation as tester 0x0E80, requests to logical_address. Connects on
 * first use. */
int secondary_uds_new_doip(const SecondaryUdsOptions *o, const char *address, uint16_t port,
                           uint16_t logical_address, Secondary **ret);

/* ISO-TP on a CAN interface (kernel CAN_ISOTP sockets). padding < 0: none. */
typedef struct SecondaryIsotpOptions {
        const char *interface;
        uint32_t rx_id, tx_id;
        bool fd;
        int padding;
        uint8_t block_size, stmin;
} SecondaryIsotpOptions;
int secondary_uds_new_isotp(const SecondaryUdsOptions *o, const SecondaryIsotpOptions *io, Secondary **ret);

/* From a [secondary.NAME] section: loads the public key file and opens the
 * configured transport. A sentence in *reterr on failure. */
int secondary_new_from_config(const SecondaryConfig *sc, Secondary **ret, char **reterr);
