/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Secondary's side of the Uptane-over-UDS mapping (docs/POUF.md, "Uptane
 * over UDS"): one function that takes a UDS request and gives the response,
 * over a SecondaryContext. No sockets, no threads: the transports
 * (secondary_daemon.c) call it one request at a time, and the unit test
 * calls it directly.
 *
 *   uds_handler.c   dispatch, sessions, 0x3E, 0x11, 0x22 DIDs, 0x2E time attestation
 *   uds_files.c     0x38 / 0x36 / 0x37: files into incoming/
 *   routines.c      0x31: 0A01 verify metadata, 0A02 install into the inactive slot
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secondary_config.h"
#include "secondary_state.h"
#include "uds.h"
#include "uptane/key.h"
#include "uptane/secondary.h"

#define SECONDARY_P2_MS 50u
#define SECONDARY_P2_STAR_MS 5000u
#define SECONDARY_MESSAGE_MAX 256u

typedef struct SecondaryRoutineResult {
        bool done;
        uint8_t result;  /* UPTANE_ROUTINE_OK, _REJECTED, _FAILED */
        uint8_t attack;  /* UpAttack */
        char message[SECONDARY_MESSAGE_MAX];
} SecondaryRoutineResult;

typedef struct SecondaryContext {
        const SecondaryConfig *config; /* borrowed */
        SecondaryState *state;         /* borrowed */
        const UpKey *time_key;         /* borrowed; NULL: no time server */
        uint64_t max_block_len;        /* maxNumberOfBlockLength answered to 0x38; set by the transport */
        uint8_t session;

        /* The file transfer in progress. */
        UdsDownloadState download;
        int transfer_fd;
        char *transfer_dir;  /* borrowed from state */
        char *transfer_name; /* final name in transfer_dir */
        char *transfer_temp; /* ".NAME.part" */

        /* What 0A01 verified last; NULL until then, and after an install. */
        UpSecondaryVerification *verified;
        SecondaryRoutineResult verify_result, install_result;
        bool reset_requested; /* 0x11 answered: the transport notes it */
} SecondaryContext;

void secondary_context_init(SecondaryContext *ctx, const SecondaryConfig *c, SecondaryState *s, const UpKey *time_key);
void secondary_context_done(SecondaryContext *ctx);

/* Handles one request: 0 with *ret (malloc()ed) of *ret_len bytes, 0 bytes
 * for a suppressed positive response; -ENOMEM only (every other failure is a
 * negative response). */
int secondary_uds_handle(SecondaryContext *ctx, const uint8_t *req, size_t len, uint8_t **ret, size_t *ret_len);

/* Whether the request starts a routine that may take long (0x31 01 0A01 or
 * 0A02): the transport runs it off its loop and answers 0x78 meanwhile. */
bool secondary_uds_is_long(const uint8_t *req, size_t len);

/* --- Shared by the handler's sources ------------------------------------------------- */

/* A response buffer being built. */
typedef struct UdsReply {
        uint8_t *buf;
        size_t size;
        size_t len;
} UdsReply;

int uds_reply_alloc(UdsReply *r, size_t size);
/* 7F SID NRC; always fits. Returns 0. */
int uds_reply_negative(UdsReply *r, uint8_t sid, uint8_t nrc);

int secondary_uds_files(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r);
int secondary_uds_routine(SecondaryContext *ctx, const uint8_t *req, size_t len, UdsReply *r);
/* Aborts a transfer in progress (its temp file is removed). */
void secondary_transfer_abort(SecondaryContext *ctx);
/* Drops what 0A01 verified. */
void secondary_forget_verification(SecondaryContext *ctx);
/* Logs an attack and appends it to attacks_detected (saved). */
/* Logs the attack (ATTACK_REFUSED, or event when it is TIME_REFUSED) and adds it to attacks_detected. */
void secondary_record_attack(SecondaryContext *ctx, int event, int err, const char *what);
/* The time metadata expiry is checked against: the latest attested time
 * with a time server, else the system clock. */
time_t secondary_verification_time(const SecondaryContext *ctx);
