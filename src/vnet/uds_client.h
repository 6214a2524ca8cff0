/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A UDS client (tester) over any UdsTransport: request/response with the
 * P2/P2* timers and the responsePending rule, and helpers for the services
 * of the Uptane-over-UDS mapping, including whole downloads
 * (34, 36..., 37) and file transfers (38, 36..., 37).
 *
 * Errors (-errno): -ETIMEDOUT no (final) answer in time; -EBADMSG a
 * malformed answer; -EPROTO an answer to another service or echoing another
 * DID, RID, mode or counter; -EREMOTEIO a negative response, whose NRC is
 * in uds_client_last_nrc(); -EMSGSIZE a request larger than max_request;
 * transport errors as they come. Not thread-safe: one request at a time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uds.h"
#include "uds_transport.h"

#define UDS_CLIENT_P2_USEC_DEFAULT        1000000u  /* P2 50 ms plus bus and gateway latency */
#define UDS_CLIENT_P2_STAR_USEC_DEFAULT   5000000u  /* P2* */
#define UDS_CLIENT_PENDING_MAX_DEFAULT    120u      /* 0x78 answers accepted for one request */
#define UDS_CLIENT_MAX_REQUEST_DEFAULT    66000u    /* the kernel ISO-TP limit */
#define UDS_CLIENT_TRANSFER_RETRIES_DEFAULT 2u      /* TransferData repeats after a lost response */

typedef struct UdsClient {
        UdsTransport transport;
        uint64_t p2_usec;          /* wait for the first answer */
        uint64_t p2_star_usec;     /* wait after each 0x78, restarted each time */
        unsigned pending_max;      /* more 0x78 answers than this: -ETIMEDOUT */
        size_t max_request;        /* largest request the transport carries (>= 3) */
        unsigned transfer_retries; /* TransferData: repeat a block (same counter) when no answer at all came (not after 0x78) */
        uint8_t nrc;               /* NRC of the last -EREMOTEIO; 0 otherwise */
} UdsClient;

/* The defaults above; change the fields afterwards as needed. */
void uds_client_init(UdsClient *c, const UdsTransport *t);

/* The NRC of the last request that failed with -EREMOTEIO, else 0. */
uint8_t uds_client_last_nrc(const UdsClient *c);

/* Sends req (its first byte is the SID) and waits for the final answer:
 * P2, then P2* after each 0x78. A positive response goes to *ret_rsp
 * (malloc'ed) and *ret_len. */
int uds_client_request(UdsClient *c, const uint8_t *req, size_t len, uint8_t **ret_rsp, size_t *ret_len);
/* Sends req and waits for nothing (suppressed positive response). */
int uds_client_send(UdsClient *c, const uint8_t *req, size_t len);

int uds_client_session_control(UdsClient *c, uint8_t session, UdsSessionTiming *ret_timing);
int uds_client_ecu_reset(UdsClient *c, uint8_t type);
/* suppress: 3E 80, sent without waiting; else 3E 00 and its answer. */
int uds_client_tester_present(UdsClient *c, bool suppress);
/* The DID's data, malloc'ed. */
int uds_client_read_did(UdsClient *c, uint16_t did, uint8_t **ret_data, size_t *ret_len);
int uds_client_write_did(UdsClient *c, uint16_t did, const uint8_t *data, size_t len);
/* The routine's status record, malloc'ed (NULL and 0 if empty); ret_status may be NULL. */
int uds_client_routine(UdsClient *c, uint8_t type, uint16_t rid, const uint8_t *option, size_t option_len,
                       uint8_t **ret_status, size_t *ret_status_len);

/* Where the bytes of a download come from: read fills buf with len bytes
 * at offset (offset + len <= size). 0 or -errno. */
typedef struct UdsSource {
        int (*read)(void *userdata, uint64_t offset, uint8_t *buf, size_t len);
        void *userdata;
        uint64_t size;             /* bytes on the wire */
} UdsSource;

/* A source over memory that outlives the transfer. */
UdsSource uds_source_memory(const void *data, size_t size);

/* 34 with req, then src in TransferData blocks of maxNumberOfBlockLength - 2
 * bytes (at most max_request - 2; the counter runs 01..FF, 00, 01...), then
 * 37. Without compression (DFI high nibble 0), src->size must equal
 * req->size. */
int uds_client_download(UdsClient *c, const UdsDownloadRequest *req, const UdsSource *src);
/* 38 with req (mode add, replace or resume...: those that send a file),
 * then src (its size must be req->size_compressed) in blocks, then 37. */
int uds_client_file_transfer(UdsClient *c, const UdsFileTransferRequest *req, const UdsSource *src);
