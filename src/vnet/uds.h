/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * UDS (ISO 14229-1) codec: builders and strict parsers for the services the
 * Uptane-over-UDS mapping uses, negative responses, the responsePending
 * (NRC 0x78) rule and the server's block sequence counter state machine of a
 * download. No I/O, no allocation.
 *
 * Conventions:
 *  - Builders write into (buf, size) and store the message length in
 *    *ret_len; -ENOBUFS if the buffer is too small, -ERANGE if a value does
 *    not fit its field, -EINVAL for arguments that can never be valid.
 *  - Parsers check every length. Data fields point into the message (no
 *    copy). Errors (out-parameters are untouched on failure):
 *      -EBADMSG     malformed: too short, too long, inconsistent lengths;
 *      -ERANGE      well-formed but a value is outside what is supported
 *                   (a server answers 0x31 requestOutOfRange);
 *      -EOPNOTSUPP  unknown sub-function (a server answers 0x12);
 *      -EPROTO      a response to another service, or a response that
 *                   echoes another sub-function, DID, RID or counter;
 *      -EREMOTEIO   a well-formed negative response (7F SID NRC) to this
 *                   service where a positive one was expected.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Service identifiers. */
#define UDS_SID_DIAGNOSTIC_SESSION_CONTROL 0x10u
#define UDS_SID_ECU_RESET                  0x11u
#define UDS_SID_READ_DATA_BY_IDENTIFIER    0x22u
#define UDS_SID_WRITE_DATA_BY_IDENTIFIER   0x2Eu
#define UDS_SID_ROUTINE_CONTROL            0x31u
#define UDS_SID_REQUEST_DOWNLOAD           0x34u
#define UDS_SID_TRANSFER_DATA              0x36u
#define UDS_SID_REQUEST_TRANSFER_EXIT      0x37u
#define UDS_SID_REQUEST_FILE_TRANSFER      0x38u
#define UDS_SID_TESTER_PRESENT             0x3Eu
#define UDS_SID_NEGATIVE_RESPONSE          0x7Fu

/* A positive response's first byte is the request's SID plus this. */
#define UDS_POSITIVE_RESPONSE_OFFSET 0x40u
/* suppressPosRspMsgIndicationBit in a sub-function byte. */
#define UDS_SUPPRESS_POSITIVE_RESPONSE 0x80u

/* Negative response codes. */
#define UDS_NRC_GENERAL_REJECT                              0x10u
#define UDS_NRC_SERVICE_NOT_SUPPORTED                       0x11u
#define UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED                  0x12u
#define UDS_NRC_INCORRECT_MESSAGE_LENGTH_OR_INVALID_FORMAT  0x13u
#define UDS_NRC_RESPONSE_TOO_LONG                           0x14u
#define UDS_NRC_BUSY_REPEAT_REQUEST                         0x21u
#define UDS_NRC_CONDITIONS_NOT_CORRECT                      0x22u
#define UDS_NRC_REQUEST_SEQUENCE_ERROR                      0x24u
#define UDS_NRC_NO_RESPONSE_FROM_SUBNET_COMPONENT           0x25u
#define UDS_NRC_FAILURE_PREVENTS_EXECUTION                  0x26u
#define UDS_NRC_REQUEST_OUT_OF_RANGE                        0x31u
#define UDS_NRC_SECURITY_ACCESS_DENIED                      0x33u
#define UDS_NRC_INVALID_KEY                                 0x35u
#define UDS_NRC_EXCEEDED_NUMBER_OF_ATTEMPTS                 0x36u
#define UDS_NRC_REQUIRED_TIME_DELAY_NOT_EXPIRED             0x37u
#define UDS_NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED                0x70u
#define UDS_NRC_TRANSFER_DATA_SUSPENDED                     0x71u
#define UDS_NRC_GENERAL_PROGRAMMING_FAILURE                 0x72u
#define UDS_NRC_WRONG_BLOCK_SEQUENCE_COUNTER                0x73u
#define UDS_NRC_RESPONSE_PENDING                            0x78u
#define UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED_IN_ACTIVE_SESSION 0x7Eu
#define UDS_NRC_SERVICE_NOT_SUPPORTED_IN_ACTIVE_SESSION     0x7Fu

/* The ISO 14229-1 name of an NRC ("requestOutOfRange"), or NULL for a
 * code this codec does not name. */
const char *uds_nrc_name(uint8_t nrc);

/* The NRC a server answers for a parser's error: -EBADMSG -> 0x13,
 * -ERANGE -> 0x31, -EOPNOTSUPP -> 0x12, anything else -> 0x10. */
uint8_t uds_nrc_from_parse_error(int r);

/* Limits on sizes an attacker controls. */
#define UDS_FIELD_LEN_MAX 8u         /* address, size and block length fields: at most 64 bits */
#define UDS_FILE_PATH_MAX 1024u      /* RequestFileTransfer filePathAndName */
#define UDS_BLOCK_LEN_MIN 3u         /* maxNumberOfBlockLength: SID + BSC + one data byte */

/* ---- responses in general -------------------------------------------------- */

/* Negative response: 7F SID NRC. The NRC must not be 0x00. */
int uds_build_negative_response(uint8_t *buf, size_t size, uint8_t sid, uint8_t nrc, size_t *ret_len);
int uds_parse_negative_response(const uint8_t *msg, size_t len, uint8_t *ret_sid, uint8_t *ret_nrc);

typedef enum UdsResponseKind {
        UDS_RESPONSE_POSITIVE,  /* final: the positive response (SID + 0x40) */
        UDS_RESPONSE_PENDING,   /* 7F SID 78: not final, wait P2* (restart it) */
        UDS_RESPONSE_NEGATIVE,  /* final: 7F SID NRC, NRC != 0x78 */
} UdsResponseKind;

/* The responsePending rule: what an incoming message means for a request
 * with SID sid. Returns the kind (>= 0) and, for PENDING and NEGATIVE, the
 * NRC in *ret_nrc (may be NULL); -EBADMSG for an empty message or a
 * negative response that is not exactly 3 bytes; -EPROTO for a message
 * that answers another service (or is no response at all). */
int uds_classify_response(uint8_t sid, const uint8_t *msg, size_t len, uint8_t *ret_nrc);

/* ---- 0x10 DiagnosticSessionControl ----------------------------------------- */

#define UDS_SESSION_DEFAULT     0x01u
#define UDS_SESSION_PROGRAMMING 0x02u
#define UDS_SESSION_EXTENDED    0x03u

typedef struct UdsSessionTiming {
        uint16_t p2_ms;        /* P2server_max, 1 ms resolution */
        uint32_t p2_star_ms;   /* P2*server_max, sent in 10 ms units: at most 655350 */
} UdsSessionTiming;

/* 10 session; session 0x01..0x7F. */
int uds_build_session_control_request(uint8_t *buf, size_t size, uint8_t session, bool suppress, size_t *ret_len);
int uds_parse_session_control_request(const uint8_t *msg, size_t len, uint8_t *ret_session, bool *ret_suppress);
/* 50 session P2(2) P2*(2); p2_star_ms is rounded down to 10 ms. */
int uds_build_session_control_response(uint8_t *buf, size_t size, uint8_t session, const UdsSessionTiming *timing,
                                       size_t *ret_len);
int uds_parse_session_control_response(const uint8_t *msg, size_t len, uint8_t session, UdsSessionTiming *ret_timing);

/* ---- 0x11 ECUReset --------------------------------------------------------- */

#define UDS_RESET_HARD                 0x01u
#define UDS_RESET_KEY_OFF_ON           0x02u
#define UDS_RESET_SOFT                 0x03u
#define UDS_RESET_ENABLE_RAPID_SHUTDOWN 0x04u

int uds_build_ecu_reset_request(uint8_t *buf, size_t size, uint8_t type, bool suppress, size_t *ret_len);
int uds_parse_ecu_reset_request(const uint8_t *msg, size_t len, uint8_t *ret_type, bool *ret_suppress);
/* 51 type [powerDownTime]: the time byte exists only for type 0x04; pass
 * power_down_time < 0 to leave it out. */
int uds_build_ecu_reset_response(uint8_t *buf, size_t size, uint8_t type, int power_down_time, size_t *ret_len);
/* Returns 1 and *ret_power_down_time if the byte is there, 0 if not. */
int uds_parse_ecu_reset_response(const uint8_t *msg, size_t len, uint8_t type, uint8_t *ret_power_down_time);

/* ---- 0x22 ReadDataByIdentifier (one DID) / 0x2E WriteDataByIdentifier ------ */

int uds_build_read_did_request(uint8_t *buf, size_t size, uint16_t did, size_t *ret_len);
int uds_parse_read_did_request(const uint8_t *msg, size_t len, uint16_t *ret_did);
/* 62 DID data; data is at least one byte. */
int uds_build_read_did_response(uint8_t *buf, size_t size, uint16_t did, const uint8_t *data, size_t data_len,
                                size_t *ret_len);
int uds_parse_read_did_response(const uint8_t *msg, size_t len, uint16_t did, const uint8_t **ret_data,
                                size_t *ret_data_len);

/* 2E DID data; data is at least one byte. */
int uds_build_write_did_request(uint8_t *buf, size_t size, uint16_t did, const uint8_t *data, size_t data_len,
                                size_t *ret_len);
int uds_parse_write_did_request(const uint8_t *msg, size_t len, uint16_t *ret_did, const uint8_t **ret_data,
                                size_t *ret_data_len);
int uds_build_write_did_response(uint8_t *buf, size_t size, uint16_t did, size_t *ret_len);
int uds_parse_write_did_response(const uint8_t *msg, size_t len, uint16_t did);

/* ---- 0x31 RoutineControl --------------------------------------------------- */

#define UDS_ROUTINE_START   0x01u
#define UDS_ROUTINE_STOP    0x02u
#define UDS_ROUTINE_RESULTS 0x03u

typedef struct UdsRoutine {
        uint8_t type;              /* UDS_ROUTINE_START/STOP/RESULTS */
        bool suppress;             /* request only */
        uint16_t rid;
        const uint8_t *record;     /* request: option record; response: status record */
        size_t record_len;         /* may be 0 */
} UdsRoutine;

/* 31 type RID [optionRecord] */
int uds_build_routine_request(uint8_t *buf, size_t size, const UdsRoutine *r, size_t *ret_len);
int uds_parse_routine_request(const uint8_t *msg, size_t len, UdsRoutine *ret);
/* 71 type RID [statusRecord]; r->suppress is ignored. */
int uds_build_routine_response(uint8_t *buf, size_t size, const UdsRoutine *r, size_t *ret_len);
/* Checks the echo of type and RID. */
int uds_parse_routine_response(const uint8_t *msg, size_t len, uint8_t type, uint16_t rid, UdsRoutine *ret);

/* ---- 0x34 RequestDownload ---------------------------------------------------- */

typedef struct UdsDownloadRequest {
        uint8_t dfi;               /* dataFormatIdentifier: compression << 4 | encryption; 0x00 plain */
        uint64_t address;
        uint8_t address_len;       /* 1..8 bytes (ALFID low nibble) */
        uint64_t size;
        uint8_t size_len;          /* 1..8 bytes (ALFID high nibble) */
} UdsDownloadRequest;

/* 34 DFI ALFID address size */
int uds_build_request_download(uint8_t *buf, size_t size, const UdsDownloadRequest *req, size_t *ret_len);
int uds_parse_request_download(const uint8_t *msg, size_t len, UdsDownloadRequest *ret);
/* 74 LFID maxNumberOfBlockLength. The block length counts the whole
 * TransferData request (SID + BSC + data), so it is >= 3. len_bytes is the
 * field's width, 1..8, or 0 for the smallest that fits. */
int uds_build_request_download_response(uint8_t *buf, size_t size, uint64_t max_block_len, uint8_t len_bytes,
                                        size_t *ret_len);
int uds_parse_request_download_response(const uint8_t *msg, size_t len, uint64_t *ret_max_block_len);

/* ---- 0x36 TransferData / 0x37 RequestTransferExit --------------------------- */

/* 36 BSC data. data may point at buf + 2 (it is moved, not copied). */
int uds_build_transfer_data(uint8_t *buf, size_t size, uint8_t bsc, const uint8_t *data, size_t data_len,
                            size_t *ret_len);
int uds_parse_transfer_data(const uint8_t *msg, size_t len, uint8_t *ret_bsc, const uint8_t **ret_data,
                            size_t *ret_data_len);
/* 76 BSC [transferResponseParameterRecord] */
int uds_build_transfer_data_response(uint8_t *buf, size_t size, uint8_t bsc, const uint8_t *record, size_t record_len,
                                     size_t *ret_len);
/* Checks the BSC echo. */
int uds_parse_transfer_data_response(const uint8_t *msg, size_t len, uint8_t bsc, const uint8_t **ret_record,
                                     size_t *ret_record_len);

/* 37 [record] and 77 [record] */
int uds_build_transfer_exit(uint8_t *buf, size_t size, const uint8_t *record, size_t record_len, size_t *ret_len);
int uds_parse_transfer_exit(const uint8_t *msg, size_t len, const uint8_t **ret_record, size_t *ret_record_len);
int uds_build_transfer_exit_response(uint8_t *buf, size_t size, const uint8_t *record, size_t record_len,
                                     size_t *ret_len);
int uds_parse_transfer_exit_response(const uint8_t *msg, size_t len, const uint8_t **ret_record,
                                     size_t *ret_record_len);

/* ---- 0x38 RequestFileTransfer ----------------------------------------------- */

#define UDS_FILE_ADD      0x01u
#define UDS_FILE_DELETE   0x02u
#define UDS_FILE_REPLACE  0x03u
#define UDS_FILE_READ     0x04u
#define UDS_FILE_READ_DIR 0x05u
#define UDS_FILE_RESUME   0x06u

typedef struct UdsFileTransferRequest {
        uint8_t mode;
        const char *path;          /* not NUL-terminated when parsed; no NUL bytes */
        size_t path_len;           /* 1..UDS_FILE_PATH_MAX */
        uint8_t dfi;               /* add, replace, resume, read */
        uint8_t size_len;          /* fileSizeParameterLength, 1..8 (add, replace, resume) */
        uint64_t size_uncompressed;
        uint64_t size_compressed;
} UdsFileTransferRequest;

/* 38 mode pathLen(2) path [DFI [FSPL sizeUncompressed sizeCompressed]] */
int uds_build_file_transfer_request(uint8_t *buf, size_t size, const UdsFileTransferRequest *req, size_t *ret_len);
int uds_parse_file_transfer_request(const uint8_t *msg, size_t len, UdsFileTransferRequest *ret);

typedef struct UdsFileTransferResponse {
        uint8_t mode;
        uint64_t max_block_len;    /* all but delete; >= UDS_BLOCK_LEN_MIN */
        uint8_t dfi;               /* all but delete */
        uint8_t size_len;          /* read, read dir: fileSizeOrDirInfoParameterLength 1..8 */
        uint64_t size_uncompressed;/* read: file size; read dir: dirInfoLength */
        uint64_t size_compressed;  /* read only */
        uint64_t file_position;    /* resume only */
} UdsFileTransferResponse;

/* 78 mode [LFID maxNumberOfBlockLength DFI [FSODIPL(2) sizes] | [filePosition(8)]] */
int uds_build_file_transfer_response(uint8_t *buf, size_t size, const UdsFileTransferResponse *rsp, size_t *ret_len);
/* Checks the echo of mode. */
int uds_parse_file_transfer_response(const uint8_t *msg, size_t len, uint8_t mode, UdsFileTransferResponse *ret);

/* ---- 0x3E TesterPresent ---------------------------------------------------- */

/* 3E 00 or 3E 80; the response is 7E 00. */
int uds_build_tester_present(uint8_t *buf, size_t size, bool suppress, size_t *ret_len);
int uds_parse_tester_present(const uint8_t *msg, size_t len, bool *ret_suppress);
int uds_build_tester_present_response(uint8_t *buf, size_t size, size_t *ret_len);
int uds_parse_tester_present_response(const uint8_t *msg, size_t len);

/* ---- server: block sequence counter of a download --------------------------- */

typedef struct UdsDownloadState {
        bool active;
        bool have_block;           /* a previous block exists that may be repeated */
        uint8_t next_bsc;          /* the counter the next new block must carry */
        uint64_t total;            /* memorySize / fileSizeCompressed announced */
        uint64_t received;
        size_t max_data;           /* maxNumberOfBlockLength - 2 */
        size_t last_len;           /* data length of the previous block */
} UdsDownloadState;

typedef enum UdsBlockVerdict {
        UDS_BLOCK_NEW,             /* write the data, then answer 76 BSC */
        UDS_BLOCK_REPEATED,        /* the previous block again: answer 76 BSC, do not write */
} UdsBlockVerdict;

/* After a positive 74/78 response: expect BSC 01, at most total bytes in
 * blocks of at most max_block_len - 2. -EINVAL if max_block_len < 3. */
int uds_download_start(UdsDownloadState *s, uint64_t total, uint64_t max_block_len);
/* A TransferData request. Returns the verdict (>= 0); or a negative errno
 * with the NRC to answer in *reterr_nrc (may be NULL):
 *   -ESRCH    0x24 no download active
 *   -EBADMSG  0x13 no data
 *   -EMSGSIZE 0x31 more data than maxNumberOfBlockLength allows
 *   -EILSEQ   0x73 neither the expected counter nor a repeat of the previous block
 *   -EFBIG    0x71 more data than announced (the download is aborted) */
int uds_download_block(UdsDownloadState *s, uint8_t bsc, size_t data_len, uint8_t *reterr_nrc);
/* RequestTransferExit: 0 and the download ends if every announced byte
 * arrived; -ESRCH (0x24) if none is active; -EINPROGRESS (0x24) if bytes
 * are missing (the download stays active). */
int uds_download_finish(UdsDownloadState *s, uint8_t *reterr_nrc);
/* Ends the download (e.g. after the write failed and 0x72 was answered). */
void uds_download_abort(UdsDownloadState *s);
