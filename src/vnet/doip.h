/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * DoIP (ISO 13400-2): the codec, without I/O. Every message is an 8-byte
 * big-endian header (version, inverse version, payload type, payload length)
 * and its payload. doip_header_parse() applies the standard's header checks in
 * its order (pattern, payload type, maximum size, memory, length for the
 * type) and names the generic NACK to answer with; DoipPayload is one decoded
 * payload of any type the library speaks, built by doip_message_build() and
 * decoded by doip_payload_parse(). The stream reassembler is DoipReader
 * (doip_reader.h).
 *
 * Functions return 0 (or a count) or a negative errno; out-parameters are
 * written only on success, reterr_* ones only on failure.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DOIP_HEADER_SIZE 8u
#define DOIP_PORT 13400u

/* Protocol versions: 2012 and 2019 are accepted; 0xFF ("any") only in a
 * vehicle identification request. */
#define DOIP_VERSION_2012 0x02u
#define DOIP_VERSION_2019 0x03u
#define DOIP_VERSION_DEFAULT 0xFFu

/* Payload types. */
#define DOIP_TYPE_GENERIC_NACK          0x0000u
#define DOIP_TYPE_VID_REQUEST           0x0001u
#define DOIP_TYPE_VID_REQUEST_EID       0x0002u
#define DOIP_TYPE_VID_REQUEST_VIN       0x0003u
#define DOIP_TYPE_VID_RESPONSE          0x0004u /* also the announcement */
#define DOIP_TYPE_ROUTING_REQUEST       0x0005u
#define DOIP_TYPE_ROUTING_RESPONSE      0x0006u
#define DOIP_TYPE_ALIVE_REQUEST         0x0007u
#define DOIP_TYPE_ALIVE_RESPONSE        0x0008u
#define DOIP_TYPE_ENTITY_STATUS_REQUEST 0x4001u
#define DOIP_TYPE_ENTITY_STATUS         0x4002u
#define DOIP_TYPE_POWER_MODE_REQUEST    0x4003u
#define DOIP_TYPE_POWER_MODE            0x4004u
#define DOIP_TYPE_DIAG_MESSAGE          0x8001u
#define DOIP_TYPE_DIAG_ACK              0x8002u
#define DOIP_TYPE_DIAG_NACK             0x8003u

/* Generic NACK codes (payload type 0x0000). */
#define DOIP_NACK_WRONG_PATTERN  0x00u /* closes the socket */
#define DOIP_NACK_UNKNOWN_TYPE   0x01u
#define DOIP_NACK_TOO_LARGE      0x02u
#define DOIP_NACK_OUT_OF_MEMORY  0x03u
#define DOIP_NACK_INVALID_LENGTH 0x04u /* closes the socket */

/* Routing activation types and response codes (a denial closes the socket). */
#define DOIP_ACTIVATION_DEFAULT          0x00u
#define DOIP_ACTIVATION_WWH_OBD          0x01u
#define DOIP_ACTIVATION_CENTRAL_SECURITY 0xE0u
#define DOIP_RA_UNKNOWN_SA               0x00u
#define DOIP_RA_ALL_SOCKETS_IN_USE       0x01u
#define DOIP_RA_SA_DIFFERENT             0x02u
#define DOIP_RA_SA_ACTIVE_ELSEWHERE      0x03u
#define DOIP_RA_MISSING_AUTHENTICATION   0x04u
#define DOIP_RA_CONFIRMATION_REJECTED    0x05u
#define DOIP_RA_UNSUPPORTED_TYPE         0x06u
#define DOIP_RA_TLS_REQUIRED             0x07u
#define DOIP_RA_SUCCESS                  0x10u
#define DOIP_RA_CONFIRMATION_PENDING     0x11u

/* Diagnostic message ACK (0x8002) and NACK (0x8003) codes. */
#define DOIP_DIAG_ACK_OK             0x00u
#define DOIP_DIAG_NACK_INVALID_SA    0x02u
#define DOIP_DIAG_NACK_UNKNOWN_TA    0x03u
#define DOIP_DIAG_NACK_TOO_LARGE     0x04u
#define DOIP_DIAG_NACK_OUT_OF_MEMORY 0x05u
#define DOIP_DIAG_NACK_UNREACHABLE   0x06u
#define DOIP_DIAG_NACK_UNKNOWN_NET   0x07u
#define DOIP_DIAG_NACK_TRANSPORT     0x08u

/* Vehicle identification response: further action; entity status: node type;
 * diagnostic power mode. */
#define DOIP_FURTHER_ACTION_NONE             0x00u
#define DOIP_FURTHER_ACTION_CENTRAL_SECURITY 0x10u
#define DOIP_NODE_GATEWAY 0x00u
#define DOIP_NODE_NODE    0x01u
#define DOIP_POWER_NOT_READY     0x00u
#define DOIP_POWER_READY         0x01u
#define DOIP_POWER_NOT_SUPPORTED 0x02u

/* Address ranges. */
#define DOIP_TESTER_MIN 0x0E00u
#define DOIP_TESTER_MAX 0x0FFFu

#define DOIP_VIN_SIZE 17u
#define DOIP_EID_SIZE 6u
#define DOIP_GID_SIZE 6u

/* Payload size limits: the default maximum is a 4 MiB UDS message plus the
 * diagnostic message's addresses; no configuration may go above the hard
 * limit. */
#define DOIP_DIAG_ADDRESSES_SIZE 4u
#define DOIP_MAX_PAYLOAD_DEFAULT ((4u << 20) + DOIP_DIAG_ADDRESSES_SIZE)
#define DOIP_MAX_PAYLOAD_LIMIT   (64u << 20)

typedef struct DoipHeader {
        uint8_t version;
        uint16_t type;
        uint32_t length; /* payload bytes after the header */
} DoipHeader;

/* One complete message; payload borrowed. */
typedef struct DoipMessage {
        uint8_t version;
        uint16_t type;
        const uint8_t *payload;
        uint32_t length;
} DoipMessage;

typedef struct DoipVehicleAnnouncement {
        uint8_t vin[DOIP_VIN_SIZE];
        uint16_t logical_address;
        uint8_t eid[DOIP_EID_SIZE];
        uint8_t gid[DOIP_GID_SIZE];
        uint8_t further_action;
        bool has_sync_status;
        uint8_t sync_status; /* 0x00 synchronized, 0x10 incomplete */
} DoipVehicleAnnouncement;

typedef struct DoipRoutingRequest {
        uint16_t source_address;
        uint8_t activation_type;
        bool has_oem;
        uint32_t oem;
} DoipRoutingRequest;

typedef struct DoipRoutingResponse {
        uint16_t tester_address;
        uint16_t entity_address;
        uint8_t code;
        bool has_oem;
        uint32_t oem;
} DoipRoutingResponse;

typedef struct DoipEntityStatus {
        uint8_t node_type;
        uint8_t max_sockets;
        uint8_t open_sockets;
        bool has_max_data_size;
        uint32_t max_data_size;
} DoipEntityStatus;

/* 0x8001: UDS bytes (data, len) from source_address to target_address. */
typedef struct DoipDiagMessage {
        uint16_t source_address;
        uint16_t target_address;
        const uint8_t *data;
        size_t len;
} DoipDiagMessage;

/* 0x8002 and 0x8003: the code, and optionally an echo of the request's
 * first UDS bytes. */
typedef struct DoipDiagAck {
        uint16_t source_address;
        uint16_t target_address;
        uint8_t code;
        const uint8_t *echo;
        size_t echo_len;
} DoipDiagAck;

/* A decoded payload; type selects the member (types without a payload
 * use none). Pointers borrow the parsed bytes. */
typedef struct DoipPayload {
        uint16_t type;
        union {
                uint8_t nack_code;                        /* 0x0000 */
                uint8_t eid[DOIP_EID_SIZE];               /* 0x0002 */
                uint8_t vin[DOIP_VIN_SIZE];               /* 0x0003 */
                DoipVehicleAnnouncement announcement;     /* 0x0004 */
                DoipRoutingRequest routing_request;       /* 0x0005 */
                DoipRoutingResponse routing_response;     /* 0x0006 */
                uint16_t alive_source_address;            /* 0x0008 */
                DoipEntityStatus entity_status;           /* 0x4002 */
                uint8_t power_mode;                       /* 0x4004 */
                DoipDiagMessage diag;                     /* 0x8001 */
                DoipDiagAck diag_ack;                     /* 0x8002, 0x8003 */
        };
} DoipPayload;

/* Whether a generic NACK code makes the sender close the socket. */
bool doip_nack_closes(uint8_t code);

/* Whether the codec knows the payload type. */
bool doip_type_known(uint16_t type);

/* The payload lengths a type allows (max may be UINT32_MAX: limited only
 * by the receiver's maximum). -EOPNOTSUPP for an unknown type. */
int doip_type_length_range(uint16_t type, uint32_t *ret_min, uint32_t *ret_max);

/* Writes an 8-byte header. -EINVAL on a version other than 2, 3 or 0xFF. */
int doip_header_build(uint8_t out[DOIP_HEADER_SIZE], uint8_t version, uint16_t type, uint32_t length);

/* The header and addresses of a diagnostic message carrying uds_len bytes,
 * for sending them without a copy (writev). -EINVAL when uds_len is 0 or
 * the message would exceed DOIP_MAX_PAYLOAD_LIMIT. */
#define DOIP_DIAG_PREFIX_SIZE (DOIP_HEADER_SIZE + DOIP_DIAG_ADDRESSES_SIZE)
int doip_diag_prefix_build(uint8_t out[DOIP_DIAG_PREFIX_SIZE], uint8_t version,
                           uint16_t source_address, uint16_t target_address, size_t uds_len);

/*
 * Checks the first DOIP_HEADER_SIZE bytes of buf in the order of the
 * standard, against max_payload (the most this receiver takes; 0 means
 * DOIP_MAX_PAYLOAD_DEFAULT). On failure *reterr_nack is the generic NACK
 * code to answer with:
 *   -EBADMSG     0x00 wrong pattern (version not 2 or 3, inverse byte; 0xFF
 *                only in vehicle identification requests): close
 *   -EOPNOTSUPP  0x01 unknown payload type: skip the payload
 *   -EFBIG       0x02 longer than max_payload: skip the payload
 *   -EMSGSIZE    0x04 a length the type does not allow: close
 * -EINVAL when len < DOIP_HEADER_SIZE (no NACK code).
 */
int doip_header_parse(const uint8_t *buf, size_t len, uint32_t max_payload, DoipHeader *ret, uint8_t *reterr_nack);

/* The payload length of p, or -EINVAL for an unknown type or a field out
 * of range (e.g. a diagnostic message longer than DOIP_MAX_PAYLOAD_LIMIT). */
int doip_payload_length(const DoipPayload *p, uint32_t *ret);

/* Writes header and payload of p into buf (size bytes). -ENOBUFS when it
 * does not fit; -EINVAL as doip_payload_length(). */
int doip_message_build(uint8_t *buf, size_t size, uint8_t version, const DoipPayload *p, size_t *ret_len);

/* The same into a new buffer (free()). */
int doip_message_new(uint8_t version, const DoipPayload *p, uint8_t **ret, size_t *ret_len);

/* Decodes a payload of a known type; -EBADMSG when its length does not fit
 * the type, -EOPNOTSUPP for an unknown type. Pointers in *ret point into
 * payload. */
int doip_payload_parse(uint16_t type, const uint8_t *payload, size_t len, DoipPayload *ret);

/* A whole message (header and payload, exactly len bytes): header checks as
 * doip_header_parse() (the NACK code is dropped), then doip_payload_parse().
 * -EBADMSG also when len is not the header's length. */
int doip_message_parse(const uint8_t *buf, size_t len, uint32_t max_payload, uint8_t *ret_version, DoipPayload *ret);

/* Names, for messages and logs ("diagnostic message", ...; "unknown"). */
const char *doip_type_to_string(uint16_t type);
const char *doip_nack_to_string(uint8_t code);
const char *doip_routing_code_to_string(uint8_t code);
const char *doip_diag_nack_to_string(uint8_t code);
