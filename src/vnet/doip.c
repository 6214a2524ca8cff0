/* SPDX-License-Identifier: MIT */
/* DoIP (ISO 13400-2) header and payloads: building and parsing, no I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doip.h"
#include "doip_internal.h"

/* The payload lengths of each type: a or b, or (open) at least a. */
typedef struct TypeLengths {
        uint16_t type;
        uint32_t a, b;
        bool open;
} TypeLengths;

static const TypeLengths type_lengths[] = {
        { DOIP_TYPE_GENERIC_NACK,          1,  1,  false },
        { DOIP_TYPE_VID_REQUEST,           0,  0,  false },
        { DOIP_TYPE_VID_REQUEST_EID,       6,  6,  false },
        { DOIP_TYPE_VID_REQUEST_VIN,       17, 17, false },
        { DOIP_TYPE_VID_RESPONSE,          32, 33, false },
        { DOIP_TYPE_ROUTING_REQUEST,       7,  11, false },
        { DOIP_TYPE_ROUTING_RESPONSE,      9,  13, false },
        { DOIP_TYPE_ALIVE_REQUEST,         0,  0,  false },
        { DOIP_TYPE_ALIVE_RESPONSE,        2,  2,  false },
        { DOIP_TYPE_ENTITY_STATUS_REQUEST, 0,  0,  false },
        { DOIP_TYPE_ENTITY_STATUS,         3,  7,  false },
        { DOIP_TYPE_POWER_MODE_REQUEST,    0,  0,  false },
        { DOIP_TYPE_POWER_MODE,            1,  1,  false },
        /* Addresses and at least one UDS byte; acks: addresses and code. */
        { DOIP_TYPE_DIAG_MESSAGE,          5,  5,  true },
        { DOIP_TYPE_DIAG_ACK,              5,  5,  true },
        { DOIP_TYPE_DIAG_NACK,             5,  5,  true },
};

static const TypeLengths *type_lookup(uint16_t type) {
        for (size_t i = 0; i < ELEMENTSOF(type_lengths); i++)
                if (type_lengths[i].type == type)
                        return &type_lengths[i];
        return NULL;
}

static bool length_fits(const TypeLengths *t, uint32_t len) {
        if (t->open)
                return len >= t->a;
        return len == t->a || len == t->b;
}

bool doip_nack_closes(uint8_t code) {
        return code == DOIP_NACK_WRONG_PATTERN || code == DOIP_NACK_INVALID_LENGTH;
}

bool doip_type_known(uint16_t type) {
        return type_lookup(type) != NULL;
}

int doip_type_length_range(uint16_t type, uint32_t *ret_min, uint32_t *ret_max) {
        const TypeLengths *t = type_lookup(type);

        if (!t)
                return -EOPNOTSUPP;
        if (ret_min)
                *ret_min = t->a;
        if (ret_max)
                *ret_max = t->open ? UINT32_MAX : t->b;
        return 0;
}

static bool version_valid(uint8_t version, uint16_t type) {
        if (version == DOIP_VERSION_2012 || version == DOIP_VERSION_2019)
                return true;
        /* "Default" is for vehicle identification requests only. */
        return version == DOIP_VERSION_DEFAULT &&
               (type == DOIP_TYPE_VID_REQUEST || type == DOIP_TYPE_VID_REQUEST_EID ||
                type == DOIP_TYPE_VID_REQUEST_VIN);
}

int doip_header_build(uint8_t out[DOIP_HEADER_SIZE], uint8_t version, uint16_t type, uint32_t length) {
        if (!out || !(version == DOIP_VERSION_2012 || version == DOIP_VERSION_2019 || version == DOIP_VERSION_DEFAULT))
                return -EINVAL;
        out[0] = version;
        out[1] = (uint8_t) ~version;
        doip_put16(out + 2, type);
        doip_put32(out + 4, length);
        return 0;
}

static uint32_t effective_max(uint32_t max_payload) {
        if (max_payload == 0)
                return DOIP_MAX_PAYLOAD_DEFAULT;
        return DOIP_MIN(max_payload, DOIP_MAX_PAYLOAD_LIMIT);
}

static int header_fail(uint8_t *reterr_nack, uint8_t code, int r) {
        if (reterr_nack)
                *reterr_nack = code;
        return r;
}

int doip_header_parse(const uint8_t *buf, size_t len, uint32_t max_payload, DoipHeader *ret, uint8_t *reterr_nack) {
        const TypeLengths *t;
        DoipHeader h;

        if (!buf || len < DOIP_HEADER_SIZE)
                return -EINVAL;
        h.version = buf[0];
        h.type = doip_get16(buf + 2);
        h.length = doip_get32(buf + 4);

        /* The order of ISO 13400-2's generic header handling. */
        if ((buf[0] ^ buf[1]) != 0xFF || !version_valid(h.version, h.type))
                return header_fail(reterr_nack, DOIP_NACK_WRONG_PATTERN, -EBADMSG);
        t = type_lookup(h.type);
        if (!t)
                return header_fail(reterr_nack, DOIP_NACK_UNKNOWN_TYPE, -EOPNOTSUPP);
        if (h.length > effective_max(max_payload))
                return header_fail(reterr_nack, DOIP_NACK_TOO_LARGE, -EFBIG);
        if (!length_fits(t, h.length))
                return header_fail(reterr_nack, DOIP_NACK_INVALID_LENGTH, -EMSGSIZE);
        if (ret)
                *ret = h;
        return 0;
}

static int payload_length(const DoipPayload *p, uint64_t *ret) {
        switch (p->type) {
        case DOIP_TYPE_VID_RESPONSE:
                *ret = 32u + p->announcement.has_sync_status;
                return 0;
        case DOIP_TYPE_ROUTING_REQUEST:
                *ret = 7u + 4u * p->routing_request.has_oem;
                return 0;
        case DOIP_TYPE_ROUTING_RESPONSE:
                *ret = 9u + 4u * p->routing_response.has_oem;
                return 0;
        case DOIP_TYPE_ENTITY_STATUS:
                *ret = 3u + 4u * p->entity_status.has_max_data_size;
                return 0;
        case DOIP_TYPE_DIAG_MESSAGE:
                if (p->diag.len == 0 || (!p->diag.data))
                        return -EINVAL;
                *ret = DOIP_DIAG_ADDRESSES_SIZE + (uint64_t) p->diag.len;
                return 0;
        case DOIP_TYPE_DIAG_ACK:
        case DOIP_TYPE_DIAG_NACK:
                if (p->diag_ack.echo_len > 0 && !p->diag_ack.echo)
                        return -EINVAL;
                *ret = DOIP_DIAG_ADDRESSES_SIZE + 1u + (uint64_t) p->diag_ack.echo_len;
                return 0;
        default: {
                const TypeLengths *t = type_lookup(p->type);

                if (!t)
                        return -EINVAL;
                *ret = t->a; /* fixed-size types */
                return 0;
        }
        }
}

int doip_payload_length(const DoipPayload *p, uint32_t *ret) {
        uint64_t n;
        int r;

        if (!p)
                return -EINVAL;
        r = payload_length(p, &n);
        if (r < 0)
                return r;
        if (n > DOIP_MAX_PAYLOAD_LIMIT)
                return -EINVAL;
        if (ret)
                *ret = (uint32_t) n;
        return 0;
}

static void put_diag_ack(uint8_t *o, const DoipDiagAck *a) {
        doip_put16(o, a->source_address);
        doip_put16(o + 2, a->target_address);
        o[4] = a->code;
        if (a->echo_len > 0)
                memcpy(o + 5, a->echo, a->echo_len);
}

static void put_announcement(uint8_t *o, const DoipVehicleAnnouncement *a) {
        memcpy(o, a->vin, DOIP_VIN_SIZE);
        doip_put16(o + 17, a->logical_address);
        memcpy(o + 19, a->eid, DOIP_EID_SIZE);
        memcpy(o + 25, a->gid, DOIP_GID_SIZE);
        o[31] = a->further_action;
        if (a->has_sync_status)
                o[32] = a->sync_status;
}

/* The payload of p at o (its length already checked). */
static void put_payload(uint8_t *o, const DoipPayload *p) {
        switch (p->type) {
        case DOIP_TYPE_GENERIC_NACK:
                o[0] = p->nack_code;
                break;
        case DOIP_TYPE_VID_REQUEST_EID:
                memcpy(o, p->eid, DOIP_EID_SIZE);
                break;
        case DOIP_TYPE_VID_REQUEST_VIN:
                memcpy(o, p->vin, DOIP_VIN_SIZE);
                break;
        case DOIP_TYPE_VID_RESPONSE:
                put_announcement(o, &p->announcement);
                break;
        case DOIP_TYPE_ROUTING_REQUEST:
                doip_put16(o, p->routing_request.source_address);
                o[2] = p->routing_request.activation_type;
                doip_put32(o + 3, 0); /* reserved by ISO 13400 */
                if (p->routing_request.has_oem)
                        doip_put32(o + 7, p->routing_request.oem);
                break;
        case DOIP_TYPE_ROUTING_RESPONSE:
                doip_put16(o, p->routing_response.tester_address);
                doip_put16(o + 2, p->routing_response.entity_address);
                o[4] = p->routing_response.code;
                doip_put32(o + 5, 0);
                if (p->routing_response.has_oem)
                        doip_put32(o + 9, p->routing_response.oem);
                break;
        case DOIP_TYPE_ALIVE_RESPONSE:
                doip_put16(o, p->alive_source_address);
                break;
        case DOIP_TYPE_ENTITY_STATUS:
                o[0] = p->entity_status.node_type;
                o[1] = p->entity_status.max_sockets;
                o[2] = p->entity_status.open_sockets;
                if (p->entity_status.has_max_data_size)
                        doip_put32(o + 3, p->entity_status.max_data_size);
                break;
        case DOIP_TYPE_POWER_MODE:
                o[0] = p->power_mode;
                break;
        case DOIP_TYPE_DIAG_MESSAGE:
                doip_put16(o, p->diag.source_address);
                doip_put16(o + 2, p->diag.target_address);
                memcpy(o + 4, p->diag.data, p->diag.len);
                break;
        case DOIP_TYPE_DIAG_ACK:
        case DOIP_TYPE_DIAG_NACK:
                put_diag_ack(o, &p->diag_ack);
                break;
        default: /* no payload */
                break;
        }
}

int doip_message_build(uint8_t *buf, size_t size, uint8_t version, const DoipPayload *p, size_t *ret_len) {
        uint32_t len;
        int r;

        if (!buf)
                return -EINVAL;
        r = doip_payload_length(p, &len);
        if (r < 0)
                return r;
        if (size < DOIP_HEADER_SIZE || size - DOIP_HEADER_SIZE < len)
                return -ENOBUFS;
        r = doip_header_build(buf, version, p->type, len);
        if (r < 0)
                return r;
        put_payload(buf + DOIP_HEADER_SIZE, p);
        if (ret_len)
                *ret_len = DOIP_HEADER_SIZE + (size_t) len;
        return 0;
}

int doip_message_new(uint8_t version, const DoipPayload *p, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n;
        uint32_t len;
        int r;

        if (!ret)
                return -EINVAL;
        r = doip_payload_length(p, &len);
        if (r < 0)
                return r;
        buf = malloc(DOIP_HEADER_SIZE + (size_t) len);
        if (!buf)
                return -ENOMEM;
        r = doip_message_build(buf, DOIP_HEADER_SIZE + (size_t) len, version, p, &n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = n;
        return 0;
}

static void get_announcement(const uint8_t *b, size_t len, DoipVehicleAnnouncement *a) {
        memcpy(a->vin, b, DOIP_VIN_SIZE);
        a->logical_address = doip_get16(b + 17);
        memcpy(a->eid, b + 19, DOIP_EID_SIZE);
        memcpy(a->gid, b + 25, DOIP_GID_SIZE);
        a->further_action = b[31];
        a->has_sync_status = len == 33;
        a->sync_status = a->has_sync_status ? b[32] : 0;
}

static void get_diag_ack(const uint8_t *b, size_t len, DoipDiagAck *a) {
        a->source_address = doip_get16(b);
        a->target_address = doip_get16(b + 2);
        a->code = b[4];
        a->echo_len = len - 5;
        a->echo = a->echo_len > 0 ? b + 5 : NULL;
}

/* The fields of a payload whose length fits its type. */
static void get_payload(const uint8_t *b, size_t len, DoipPayload *p) {
        switch (p->type) {
        case DOIP_TYPE_GENERIC_NACK:
                p->nack_code = b[0];
                break;
        case DOIP_TYPE_VID_REQUEST_EID:
                memcpy(p->eid, b, DOIP_EID_SIZE);
                break;
        case DOIP_TYPE_VID_REQUEST_VIN:
                memcpy(p->vin, b, DOIP_VIN_SIZE);
                break;
        case DOIP_TYPE_VID_RESPONSE:
                get_announcement(b, len, &p->announcement);
                break;
        case DOIP_TYPE_ROUTING_REQUEST:
                p->routing_request.source_address = doip_get16(b);
                p->routing_request.activation_type = b[2];
                p->routing_request.has_oem = len == 11;
                p->routing_request.oem = len == 11 ? doip_get32(b + 7) : 0;
                break;
        case DOIP_TYPE_ROUTING_RESPONSE:
                p->routing_response.tester_address = doip_get16(b);
                p->routing_response.entity_address = doip_get16(b + 2);
                p->routing_response.code = b[4];
                p->routing_response.has_oem = len == 13;
                p->routing_response.oem = len == 13 ? doip_get32(b + 9) : 0;
                break;
        case DOIP_TYPE_ALIVE_RESPONSE:
                p->alive_source_address = doip_get16(b);
                break;
        case DOIP_TYPE_ENTITY_STATUS:
                p->entity_status.node_type = b[0];
                p->entity_status.max_sockets = b[1];
                p->entity_status.open_sockets = b[2];
                p->entity_status.has_max_data_size = len == 7;
                p->entity_status.max_data_size = len == 7 ? doip_get32(b + 3) : 0;
                break;
        case DOIP_TYPE_POWER_MODE:
                p->power_mode = b[0];
                break;
        case DOIP_TYPE_DIAG_MESSAGE:
                p->diag.source_address = doip_get16(b);
                p->diag.target_address = doip_get16(b + 2);
                p->diag.data = b + 4;
                p->diag.len = len - 4;
                break;
        case DOIP_TYPE_DIAG_ACK:
        case DOIP_TYPE_DIAG_NACK:
                get_diag_ack(b, len, &p->diag_ack);
                break;
        default:
                break;
        }
}

int doip_payload_parse(uint16_t type, const uint8_t *payload, size_t len, DoipPayload *ret) {
        const TypeLengths *t = type_lookup(type);
        DoipPayload p = { .type = type };

        if (!t)
                return -EOPNOTSUPP;
        if (len > DOIP_MAX_PAYLOAD_LIMIT || !length_fits(t, (uint32_t) len) || (len > 0 && !payload))
                return -EBADMSG;
        get_payload(payload, len, &p);
        if (ret)
                *ret = p;
        return 0;
}

int doip_message_parse(const uint8_t *buf, size_t len, uint32_t max_payload, uint8_t *ret_version, DoipPayload *ret) {
        DoipPayload p;
        DoipHeader h;
        int r;

        if (!buf || len < DOIP_HEADER_SIZE)
                return -EBADMSG;
        r = doip_header_parse(buf, len, max_payload, &h, NULL);
        if (r < 0)
                return r;
        if (len - DOIP_HEADER_SIZE != h.length)
                return -EBADMSG;
        r = doip_payload_parse(h.type, buf + DOIP_HEADER_SIZE, h.length, &p);
        if (r < 0)
                return r;
        if (ret_version)
                *ret_version = h.version;
        if (ret)
                *ret = p;
        return 0;
}

const char *doip_type_to_string(uint16_t type) {
        switch (type) {
        case DOIP_TYPE_GENERIC_NACK:          return "generic negative acknowledge";
        case DOIP_TYPE_VID_REQUEST:           return "vehicle identification request";
        case DOIP_TYPE_VID_REQUEST_EID:       return "vehicle identification request with EID";
        case DOIP_TYPE_VID_REQUEST_VIN:       return "vehicle identification request with VIN";
        case DOIP_TYPE_VID_RESPONSE:          return "vehicle announcement";
        case DOIP_TYPE_ROUTING_REQUEST:       return "routing activation request";
        case DOIP_TYPE_ROUTING_RESPONSE:      return "routing activation response";
        case DOIP_TYPE_ALIVE_REQUEST:         return "alive check request";
        case DOIP_TYPE_ALIVE_RESPONSE:        return "alive check response";
        case DOIP_TYPE_ENTITY_STATUS_REQUEST: return "entity status request";
        case DOIP_TYPE_ENTITY_STATUS:         return "entity status response";
        case DOIP_TYPE_POWER_MODE_REQUEST:    return "diagnostic power mode request";
        case DOIP_TYPE_POWER_MODE:            return "diagnostic power mode response";
        case DOIP_TYPE_DIAG_MESSAGE:          return "diagnostic message";
        case DOIP_TYPE_DIAG_ACK:              return "diagnostic message positive acknowledge";
        case DOIP_TYPE_DIAG_NACK:             return "diagnostic message negative acknowledge";
        default:                              return "unknown";
        }
}

const char *doip_nack_to_string(uint8_t code) {
        switch (code) {
        case DOIP_NACK_WRONG_PATTERN:  return "incorrect pattern format";
        case DOIP_NACK_UNKNOWN_TYPE:   return "unknown payload type";
        case DOIP_NACK_TOO_LARGE:      return "message too large";
        case DOIP_NACK_OUT_OF_MEMORY:  return "out of memory";
        case DOIP_NACK_INVALID_LENGTH: return "invalid payload length";
        default:                       return "unknown";
        }
}

const char *doip_routing_code_to_string(uint8_t code) {
        switch (code) {
        case DOIP_RA_UNKNOWN_SA:             return "unknown source address";
        case DOIP_RA_ALL_SOCKETS_IN_USE:     return "all sockets registered and active";
        case DOIP_RA_SA_DIFFERENT:           return "source address differs from the one on this socket";
        case DOIP_RA_SA_ACTIVE_ELSEWHERE:    return "source address already active on another socket";
        case DOIP_RA_MISSING_AUTHENTICATION: return "missing authentication";
        case DOIP_RA_CONFIRMATION_REJECTED:  return "rejected confirmation";
        case DOIP_RA_UNSUPPORTED_TYPE:       return "unsupported activation type";
        case DOIP_RA_TLS_REQUIRED:           return "TLS required";
        case DOIP_RA_SUCCESS:                return "routing activated";
        case DOIP_RA_CONFIRMATION_PENDING:   return "routing will be activated, confirmation required";
        default:                             return "unknown";
        }
}

const char *doip_diag_nack_to_string(uint8_t code) {
        switch (code) {
        case DOIP_DIAG_NACK_INVALID_SA:    return "invalid source address";
        case DOIP_DIAG_NACK_UNKNOWN_TA:    return "unknown target address";
        case DOIP_DIAG_NACK_TOO_LARGE:     return "diagnostic message too large";
        case DOIP_DIAG_NACK_OUT_OF_MEMORY: return "out of memory";
        case DOIP_DIAG_NACK_UNREACHABLE:   return "target unreachable";
        case DOIP_DIAG_NACK_UNKNOWN_NET:   return "unknown network";
        case DOIP_DIAG_NACK_TRANSPORT:     return "transport protocol error";
        default:                           return "unknown";
        }
}

int doip_diag_prefix_build(uint8_t out[DOIP_DIAG_PREFIX_SIZE], uint8_t version,
                           uint16_t source_address, uint16_t target_address, size_t uds_len) {
        int r;

        if (!out || uds_len == 0 || uds_len > DOIP_MAX_PAYLOAD_LIMIT - DOIP_DIAG_ADDRESSES_SIZE)
                return -EINVAL;
        r = doip_header_build(out, version, DOIP_TYPE_DIAG_MESSAGE, (uint32_t) (uds_len + DOIP_DIAG_ADDRESSES_SIZE));
        if (r < 0)
                return r;
        doip_put16(out + DOIP_HEADER_SIZE, source_address);
        doip_put16(out + DOIP_HEADER_SIZE + 2, target_address);
        return 0;
}
