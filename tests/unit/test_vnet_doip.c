/* SPDX-License-Identifier: MIT */
/* The DoIP codec and stream reassembler (src/vnet/doip.h, doip_reader.h). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doip.h"
#include "doip_client.h"
#include "doip_reader.h"

static const uint8_t uds_rdbi[] = { 0x22, 0xF1, 0x90 };
static const uint8_t echo[] = { 0x22, 0xF1 };

/* One payload of every type (and each optional field both ways). */
static size_t sample_payloads(DoipPayload *p) {
        size_t n = 0;

        p[n++] = (DoipPayload) { .type = DOIP_TYPE_GENERIC_NACK, .nack_code = DOIP_NACK_TOO_LARGE };
        p[n++] = (DoipPayload) { .type = DOIP_TYPE_VID_REQUEST };
        p[n++] = (DoipPayload) { .type = DOIP_TYPE_VID_REQUEST_EID, .eid = { 1, 2, 3, 4, 5, 6 } };
        p[n] = (DoipPayload) { .type = DOIP_TYPE_VID_REQUEST_VIN };
        memcpy(p[n++].vin, "WVWZZZ1JZXW000001", DOIP_VIN_SIZE);
        for (int sync = 0; sync < 2; sync++) {
                p[n] = (DoipPayload) {
                        .type = DOIP_TYPE_VID_RESPONSE,
                        .announcement = {
                                .logical_address = 0x1001,
                                .eid = { 0xA, 0xB, 0xC, 0xD, 0xE, 0xF },
                                .gid = { 9, 8, 7, 6, 5, 4 },
                                .further_action = DOIP_FURTHER_ACTION_CENTRAL_SECURITY,
                                .has_sync_status = sync,
                                .sync_status = sync ? 0x10 : 0,
                        },
                };
                memcpy(p[n++].announcement.vin, "WVWZZZ1JZXW000001", DOIP_VIN_SIZE);
        }
        for (int oem = 0; oem < 2; oem++) {
                p[n++] = (DoipPayload) {
                        .type = DOIP_TYPE_ROUTING_REQUEST,
                        .routing_request = { 0x0E80, DOIP_ACTIVATION_WWH_OBD, oem, oem ? 0xDEADBEEF : 0 },
                };
                p[n++] = (DoipPayload) {
                        .type = DOIP_TYPE_ROUTING_RESPONSE,
                        .routing_response = { 0x0E80, 0x1001, DOIP_RA_SUCCESS, oem, oem ? 0x01020304 : 0 },
                };
                p[n++] = (DoipPayload) {
                        .type = DOIP_TYPE_ENTITY_STATUS,
                        .entity_status = { DOIP_NODE_NODE, 4, 1, oem, oem ? 4194312 : 0 },
                };
                p[n++] = (DoipPayload) {
                        .type = DOIP_TYPE_DIAG_ACK,
                        .diag_ack = { 0x1001, 0x0E80, DOIP_DIAG_ACK_OK, oem ? echo : NULL, oem ? sizeof(echo) : 0 },
                };
                p[n++] = (DoipPayload) {
                        .type = DOIP_TYPE_DIAG_NACK,
                        .diag_ack = { 0x1001, 0x0E80, DOIP_DIAG_NACK_UNKNOWN_TA, oem ? echo : NULL, oem ? sizeof(echo) : 0 },
                };
        }
        p[n++] = (DoipPayload) { .type = DOIP_TYPE_ALIVE_REQUEST };
        p[n++] = (DoipPayload) { .type = DOIP_TYPE_ALIVE_RESPONSE, .alive_source_address = 0x0E80 };
        p[n++] = (DoipPayload) { .type = DOIP_TYPE_ENTITY_STATUS_REQUEST };
        p[n++] = (DoipPayload) { .type = DOIP_TYPE_POWER_MODE_REQUEST };
        p[n++] = (DoipPayload) { .type = DOIP_TYPE_POWER_MODE, .power_mode = DOIP_POWER_NOT_SUPPORTED };
        p[n++] = (DoipPayload) {
                .type = DOIP_TYPE_DIAG_MESSAGE,
                .diag = { 0x0E80, 0x1001, uds_rdbi, sizeof(uds_rdbi) },
        };
        return n;
}

static void assert_payload_eq(const DoipPayload *a, const DoipPayload *b) {
        ck_assert_uint_eq(a->type, b->type);
        switch (a->type) {
        case DOIP_TYPE_DIAG_MESSAGE:
                ck_assert_uint_eq(a->diag.source_address, b->diag.source_address);
                ck_assert_uint_eq(a->diag.target_address, b->diag.target_address);
                ck_assert_uint_eq(a->diag.len, b->diag.len);
                ck_assert_mem_eq(a->diag.data, b->diag.data, a->diag.len);
                break;
        case DOIP_TYPE_DIAG_ACK:
        case DOIP_TYPE_DIAG_NACK:
                ck_assert_uint_eq(a->diag_ack.source_address, b->diag_ack.source_address);
                ck_assert_uint_eq(a->diag_ack.target_address, b->diag_ack.target_address);
                ck_assert_uint_eq(a->diag_ack.code, b->diag_ack.code);
                ck_assert_uint_eq(a->diag_ack.echo_len, b->diag_ack.echo_len);
                if (a->diag_ack.echo_len)
                        ck_assert_mem_eq(a->diag_ack.echo, b->diag_ack.echo, a->diag_ack.echo_len);
                break;
        case DOIP_TYPE_VID_RESPONSE:
                ck_assert_mem_eq(&a->announcement, &b->announcement, offsetof(DoipVehicleAnnouncement, has_sync_status));
                ck_assert_int_eq(a->announcement.has_sync_status, b->announcement.has_sync_status);
                ck_assert_uint_eq(a->announcement.sync_status, b->announcement.sync_status);
                break;
        case DOIP_TYPE_ROUTING_REQUEST:
                ck_assert_uint_eq(a->routing_request.source_address, b->routing_request.source_address);
                ck_assert_uint_eq(a->routing_request.activation_type, b->routing_request.activation_type);
                ck_assert_int_eq(a->routing_request.has_oem, b->routing_request.has_oem);
                ck_assert_uint_eq(a->routing_request.oem, b->routing_request.oem);
                break;
        case DOIP_TYPE_ROUTING_RESPONSE:
                ck_assert_uint_eq(a->routing_response.tester_address, b->routing_response.tester_address);
                ck_assert_uint_eq(a->routing_response.entity_address, b->routing_response.entity_address);
                ck_assert_uint_eq(a->routing_response.code, b->routing_response.code);
                ck_assert_int_eq(a->routing_response.has_oem, b->routing_response.has_oem);
                ck_assert_uint_eq(a->routing_response.oem, b->routing_response.oem);
                break;
        case DOIP_TYPE_ENTITY_STATUS:
                ck_assert_uint_eq(a->entity_status.node_type, b->entity_status.node_type);
                ck_assert_uint_eq(a->entity_status.max_sockets, b->entity_status.max_sockets);
                ck_assert_uint_eq(a->entity_status.open_sockets, b->entity_status.open_sockets);
                ck_assert_int_eq(a->entity_status.has_max_data_size, b->entity_status.has_max_data_size);
                ck_assert_uint_eq(a->entity_status.max_data_size, b->entity_status.max_data_size);
                break;
        case DOIP_TYPE_GENERIC_NACK:
                ck_assert_uint_eq(a->nack_code, b->nack_code);
                break;
        case DOIP_TYPE_VID_REQUEST_EID:
                ck_assert_mem_eq(a->eid, b->eid, DOIP_EID_SIZE);
                break;
        case DOIP_TYPE_VID_REQUEST_VIN:
                ck_assert_mem_eq(a->vin, b->vin, DOIP_VIN_SIZE);
                break;
        case DOIP_TYPE_ALIVE_RESPONSE:
                ck_assert_uint_eq(a->alive_source_address, b->alive_source_address);
                break;
        case DOIP_TYPE_POWER_MODE:
                ck_assert_uint_eq(a->power_mode, b->power_mode);
                break;
        default:
                break;
        }
}

START_TEST(test_roundtrip_every_type) {
        DoipPayload p[32], q;
        const uint8_t versions[] = { DOIP_VERSION_2012, DOIP_VERSION_2019 };
        size_t n = sample_payloads(p);

        ck_assert_uint_ge(n, 22);
        for (size_t v = 0; v < 2; v++)
                for (size_t i = 0; i < n; i++) {
                        uint8_t *buf = NULL, version = 0;
                        uint32_t plen;
                        size_t len;

                        ck_assert_int_eq(doip_message_new(versions[v], &p[i], &buf, &len), 0);
                        ck_assert_int_eq(doip_payload_length(&p[i], &plen), 0);
                        ck_assert_uint_eq(len, DOIP_HEADER_SIZE + plen);
                        ck_assert_uint_eq(buf[0], versions[v]);
                        ck_assert_uint_eq(buf[1], (uint8_t) ~versions[v]);
                        ck_assert_int_eq(doip_message_parse(buf, len, 0, &version, &q), 0);
                        ck_assert_uint_eq(version, versions[v]);
                        assert_payload_eq(&p[i], &q);
                        free(buf);
                }
}
END_TEST

START_TEST(test_wire_bytes) {
        /* The bytes of the note's worked example: RDBI F190 from 0x0E80 to 0x1000. */
        const uint8_t want[] = { 0x02, 0xFD, 0x80, 0x01, 0x00, 0x00, 0x00, 0x07, 0x0E, 0x80, 0x10, 0x00, 0x22, 0xF1, 0x90 };
        const uint8_t ra[] = { 0x02, 0xFD, 0x00, 0x05, 0x00, 0x00, 0x00, 0x07, 0x0E, 0x80, 0x00, 0, 0, 0, 0 };
        DoipPayload p = { .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { 0x0E80, 0x1000, uds_rdbi, sizeof(uds_rdbi) } };
        uint8_t buf[64], prefix[DOIP_DIAG_PREFIX_SIZE];
        size_t len;

        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012, &p, &len), 0);
        ck_assert_uint_eq(len, sizeof(want));
        ck_assert_mem_eq(buf, want, sizeof(want));
        ck_assert_int_eq(doip_diag_prefix_build(prefix, DOIP_VERSION_2012, 0x0E80, 0x1000, 3), 0);
        ck_assert_mem_eq(prefix, want, sizeof(prefix));
        ck_assert_int_eq(doip_diag_prefix_build(prefix, DOIP_VERSION_2012, 0x0E80, 0x1000, 0), -EINVAL);

        p = (DoipPayload) { .type = DOIP_TYPE_ROUTING_REQUEST, .routing_request = { .source_address = 0x0E80 } };
        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012, &p, &len), 0);
        ck_assert_uint_eq(len, sizeof(ra));
        ck_assert_mem_eq(buf, ra, sizeof(ra));
}
END_TEST

START_TEST(test_build_limits) {
        DoipPayload p = { .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { 0x0E80, 0x1000, uds_rdbi, sizeof(uds_rdbi) } };
        uint8_t buf[64], out[DOIP_HEADER_SIZE];
        size_t len = 12345;
        uint32_t plen;

        ck_assert_int_eq(doip_message_build(buf, 14, DOIP_VERSION_2012, &p, &len), -ENOBUFS);
        ck_assert_int_eq(doip_message_build(buf, 4, DOIP_VERSION_2012, &p, &len), -ENOBUFS);
        ck_assert_uint_eq(len, 12345); /* untouched on failure */
        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), 0x01, &p, &len), -EINVAL);
        p.diag.len = 0;
        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012, &p, &len), -EINVAL);
        p.diag.len = DOIP_MAX_PAYLOAD_LIMIT; /* plus addresses: over the hard limit */
        ck_assert_int_eq(doip_payload_length(&p, &plen), -EINVAL);
        p = (DoipPayload) { .type = 0x1234 };
        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012, &p, &len), -EINVAL);
        ck_assert_int_eq(doip_header_build(out, 0x04, 1, 0), -EINVAL);
        ck_assert_int_eq(doip_header_build(out, DOIP_VERSION_DEFAULT, DOIP_TYPE_VID_REQUEST, 0), 0);
        ck_assert_uint_eq(out[1], 0x00);
}
END_TEST

static int header_of(const uint8_t *h, uint32_t max, DoipHeader *ret, uint8_t *nack) {
        return doip_header_parse(h, DOIP_HEADER_SIZE, max, ret, nack);
}

START_TEST(test_header_accepts) {
        uint8_t h[DOIP_HEADER_SIZE];
        DoipHeader hdr;
        uint8_t nack = 0xAA;

        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2019, DOIP_TYPE_DIAG_MESSAGE, 100), 0);
        ck_assert_int_eq(header_of(h, 0, &hdr, &nack), 0);
        ck_assert_uint_eq(hdr.version, 3);
        ck_assert_uint_eq(hdr.type, DOIP_TYPE_DIAG_MESSAGE);
        ck_assert_uint_eq(hdr.length, 100);
        ck_assert_uint_eq(nack, 0xAA); /* reterr_ only on failure */
        /* 0xFF: vehicle identification requests only */
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_DEFAULT, DOIP_TYPE_VID_REQUEST_VIN, 17), 0);
        ck_assert_int_eq(header_of(h, 0, &hdr, &nack), 0);
        ck_assert_int_eq(doip_header_parse(h, 7, 0, &hdr, &nack), -EINVAL);
}
END_TEST

START_TEST(test_header_wrong_pattern) {
        static const uint8_t bad[][DOIP_HEADER_SIZE] = {
                { 0x01, 0xFE, 0x80, 0x01, 0, 0, 0, 5 },  /* 2010: not accepted */
                { 0x04, 0xFB, 0x80, 0x01, 0, 0, 0, 5 },  /* unknown version */
                { 0x02, 0xFC, 0x80, 0x01, 0, 0, 0, 5 },  /* inverse wrong */
                { 0x02, 0x02, 0x80, 0x01, 0, 0, 0, 5 },
                { 0xFF, 0x00, 0x80, 0x01, 0, 0, 0, 5 },  /* 0xFF on a diagnostic message */
                { 0xFF, 0x00, 0x00, 0x05, 0, 0, 0, 7 },
                { 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T' },
        };
        DoipHeader hdr = { .type = 0x7777 };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                uint8_t nack = 0xAA;

                ck_assert_int_eq(header_of(bad[i], 0, &hdr, &nack), -EBADMSG);
                ck_assert_uint_eq(nack, DOIP_NACK_WRONG_PATTERN);
                ck_assert(doip_nack_closes(nack));
        }
        ck_assert_uint_eq(hdr.type, 0x7777); /* out-parameter untouched */
}
END_TEST

START_TEST(test_header_unknown_type) {
        const uint16_t types[] = { 0x0009, 0x4000, 0x4005, 0x8000, 0x8004, 0xF000, 0xFFFF };
        uint8_t h[DOIP_HEADER_SIZE], nack;
        DoipHeader hdr;

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, types[i], 3), 0);
                ck_assert_int_eq(header_of(h, 0, &hdr, &nack), -EOPNOTSUPP);
                ck_assert_uint_eq(nack, DOIP_NACK_UNKNOWN_TYPE);
                ck_assert(!doip_nack_closes(nack));
                ck_assert(!doip_type_known(types[i]));
        }
}
END_TEST

START_TEST(test_header_too_large) {
        uint8_t h[DOIP_HEADER_SIZE], nack;
        DoipHeader hdr;

        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, DOIP_MAX_PAYLOAD_DEFAULT), 0);
        ck_assert_int_eq(header_of(h, 0, &hdr, &nack), 0);
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, DOIP_MAX_PAYLOAD_DEFAULT + 1), 0);
        ck_assert_int_eq(header_of(h, 0, &hdr, &nack), -EFBIG);
        ck_assert_uint_eq(nack, DOIP_NACK_TOO_LARGE);
        ck_assert(!doip_nack_closes(nack));
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, 1000), 0);
        ck_assert_int_eq(header_of(h, 999, &hdr, &nack), -EFBIG);
        /* The size check comes before the type's length check (ISO order). */
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_ROUTING_REQUEST, UINT32_MAX), 0);
        ck_assert_int_eq(header_of(h, 0, &hdr, &nack), -EFBIG);
        /* No configuration goes above the hard limit. */
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, DOIP_MAX_PAYLOAD_LIMIT + 1), 0);
        ck_assert_int_eq(header_of(h, UINT32_MAX, &hdr, &nack), -EFBIG);
}
END_TEST

START_TEST(test_header_invalid_length) {
        static const struct { uint16_t type; uint32_t len; } bad[] = {
                { DOIP_TYPE_GENERIC_NACK, 0 }, { DOIP_TYPE_GENERIC_NACK, 2 },
                { DOIP_TYPE_VID_REQUEST, 1 }, { DOIP_TYPE_VID_REQUEST_EID, 5 },
                { DOIP_TYPE_VID_REQUEST_VIN, 18 }, { DOIP_TYPE_VID_RESPONSE, 31 },
                { DOIP_TYPE_VID_RESPONSE, 34 }, { DOIP_TYPE_ROUTING_REQUEST, 8 },
                { DOIP_TYPE_ROUTING_REQUEST, 12 }, { DOIP_TYPE_ROUTING_RESPONSE, 10 },
                { DOIP_TYPE_ALIVE_REQUEST, 2 }, { DOIP_TYPE_ALIVE_RESPONSE, 1 },
                { DOIP_TYPE_ENTITY_STATUS_REQUEST, 1 }, { DOIP_TYPE_ENTITY_STATUS, 4 },
                { DOIP_TYPE_POWER_MODE_REQUEST, 1 }, { DOIP_TYPE_POWER_MODE, 0 },
                { DOIP_TYPE_DIAG_MESSAGE, 4 }, { DOIP_TYPE_DIAG_ACK, 4 }, { DOIP_TYPE_DIAG_NACK, 0 },
        };
        uint8_t h[DOIP_HEADER_SIZE], nack;
        DoipPayload p;
        DoipHeader hdr;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                uint8_t zeros[64] = {};

                ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, bad[i].type, bad[i].len), 0);
                ck_assert_int_eq(header_of(h, 0, &hdr, &nack), -EMSGSIZE);
                ck_assert_uint_eq(nack, DOIP_NACK_INVALID_LENGTH);
                ck_assert(doip_nack_closes(nack));
                ck_assert_int_eq(doip_payload_parse(bad[i].type, zeros, bad[i].len, &p), -EBADMSG);
        }
        ck_assert_int_eq(doip_payload_parse(0x1234, NULL, 0, &p), -EOPNOTSUPP);
}
END_TEST

START_TEST(test_message_parse_length_mismatch) {
        DoipPayload p = { .type = DOIP_TYPE_ALIVE_RESPONSE, .alive_source_address = 0x0E80 }, q;
        uint8_t buf[32];
        size_t len;

        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012, &p, &len), 0);
        ck_assert_int_eq(doip_message_parse(buf, len, 0, NULL, &q), 0);
        ck_assert_int_eq(doip_message_parse(buf, len - 1, 0, NULL, &q), -EBADMSG);
        buf[len] = 0;
        ck_assert_int_eq(doip_message_parse(buf, len + 1, 0, NULL, &q), -EBADMSG);
        ck_assert_int_eq(doip_message_parse(buf, 3, 0, NULL, &q), -EBADMSG);
}
END_TEST

START_TEST(test_strings) {
        ck_assert_str_eq(doip_type_to_string(DOIP_TYPE_DIAG_MESSAGE), "diagnostic message");
        ck_assert_str_eq(doip_type_to_string(0x1234), "unknown");
        ck_assert_str_eq(doip_nack_to_string(DOIP_NACK_INVALID_LENGTH), "invalid payload length");
        ck_assert_str_eq(doip_routing_code_to_string(DOIP_RA_SUCCESS), "routing activated");
        ck_assert_str_eq(doip_diag_nack_to_string(DOIP_DIAG_NACK_UNKNOWN_TA), "unknown target address");
        ck_assert_str_eq(doip_diag_nack_to_string(0x42), "unknown");
}
END_TEST

START_TEST(test_uds_pending_rule) {
        const uint8_t req[] = { 0x31, 0x01, 0x0A, 0x02 };
        const uint8_t pending[] = { 0x7F, 0x31, 0x78 };
        const uint8_t other_sid[] = { 0x7F, 0x22, 0x78 };
        const uint8_t busy[] = { 0x7F, 0x31, 0x21 };
        const uint8_t positive[] = { 0x71, 0x01, 0x0A, 0x02 };

        ck_assert(doip_uds_response_pending(req, sizeof(req), pending, sizeof(pending)));
        ck_assert(doip_uds_response_pending(NULL, 0, pending, sizeof(pending)));
        ck_assert(!doip_uds_response_pending(req, sizeof(req), other_sid, sizeof(other_sid)));
        ck_assert(!doip_uds_response_pending(req, sizeof(req), busy, sizeof(busy)));
        ck_assert(!doip_uds_response_pending(req, sizeof(req), positive, sizeof(positive)));
        ck_assert(!doip_uds_response_pending(req, sizeof(req), pending, 2));
}
END_TEST

/* The reassembler. */

typedef struct Stream {
        uint8_t *data;
        size_t len;
        DoipPayload expect[64];
        size_t n;
} Stream;

static void stream_add(Stream *s, uint8_t version, const DoipPayload *p) {
        uint8_t *buf;
        size_t len;

        ck_assert_int_eq(doip_message_new(version, p, &buf, &len), 0);
        s->data = realloc(s->data, s->len + len);
        ck_assert_ptr_nonnull(s->data);
        memcpy(s->data + s->len, buf, len);
        s->len += len;
        free(buf);
        ck_assert_uint_lt(s->n, 64);
        s->expect[s->n++] = *p;
}

/* Every sample, then a big diagnostic message, then every sample again. */
static void stream_make(Stream *s, uint8_t *big, size_t big_len) {
        DoipPayload p[32];
        size_t n = sample_payloads(p);

        *s = (Stream) {};
        for (size_t i = 0; i < n; i++)
                stream_add(s, i % 2 ? DOIP_VERSION_2019 : DOIP_VERSION_2012, &p[i]);
        for (size_t i = 0; i < big_len; i++)
                big[i] = (uint8_t) (i * 7 + 3);
        stream_add(s, DOIP_VERSION_2012, &(DoipPayload) {
                .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { 0x0E80, 0x1001, big, big_len } });
        for (size_t i = 0; i < n; i++)
                stream_add(s, DOIP_VERSION_2012, &p[i]);
}

/* Feeds the stream in chunks of sizes from next_chunk(); checks every message. */
static void stream_check(const Stream *s, size_t (*next_chunk)(size_t i), uint32_t max_payload) {
        DoipReader *r = NULL;
        size_t off = 0, got = 0, chunk_i = 0;

        ck_assert_int_eq(doip_reader_new(max_payload, &r), 0);
        while (off < s->len) {
                size_t n = next_chunk(chunk_i++);
                const uint8_t *p;
                size_t len;

                if (n > s->len - off)
                        n = s->len - off;
                p = s->data + off;
                len = n;
                for (;;) {
                        DoipMessage m;
                        DoipPayload q;
                        uint8_t nack = 0;
                        int k = doip_reader_feed(r, &p, &len, &m, &nack);

                        ck_assert_int_ge(k, 0);
                        if (k == 0)
                                break;
                        ck_assert_uint_lt(got, s->n);
                        ck_assert_int_eq(doip_payload_parse(m.type, m.payload, m.length, &q), 0);
                        assert_payload_eq(&s->expect[got], &q);
                        got++;
                        /* Never more held than one message's payload. */
                        ck_assert_uint_le(doip_reader_buffered(r), DOIP_HEADER_SIZE + 1024 * 1024);
                }
                ck_assert_uint_eq(len, 0);
                off += n;
        }
        ck_assert_uint_eq(got, s->n);
        ck_assert(doip_reader_idle(r));
        doip_reader_free(r);
}

static size_t chunk_one(size_t i) {
        (void) i;
        return 1;
}

static size_t chunk_all(size_t i) {
        (void) i;
        return SIZE_MAX;
}

static size_t chunk_odd(size_t i) {
        static const size_t sizes[] = { 3, 8, 1, 7, 9, 65536, 13, 2, 4096, 5, 100000, 8 };

        return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
}

START_TEST(test_reader_byte_by_byte) {
        uint8_t *big = malloc(70000);
        Stream s;

        stream_make(&s, big, 70000);
        stream_check(&s, chunk_one, 0);
        free(s.data);
        free(big);
}
END_TEST

START_TEST(test_reader_big_chunks) {
        uint8_t *big = malloc(1024 * 1024);
        Stream s;

        stream_make(&s, big, 1024 * 1024);
        stream_check(&s, chunk_all, 0);
        stream_check(&s, chunk_odd, 0);
        free(s.data);
        free(big);
}
END_TEST

START_TEST(test_reader_zero_copy) {
        DoipPayload p = { .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { 0x0E80, 0x1001, uds_rdbi, sizeof(uds_rdbi) } };
        uint8_t buf[64];
        const uint8_t *in = buf;
        size_t len, n;
        DoipReader *r = NULL;
        DoipMessage m;
        uint8_t nack;

        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012, &p, &n), 0);
        len = n;
        ck_assert_int_eq(doip_reader_new(0, &r), 0);
        ck_assert_int_eq(doip_reader_feed(r, &in, &len, &m, &nack), 1);
        /* Whole in the chunk: returned in place. */
        ck_assert_ptr_eq(m.payload, buf + DOIP_HEADER_SIZE);
        ck_assert_uint_eq(len, 0);
        ck_assert_uint_eq(doip_reader_buffered(r), 0);
        ck_assert_int_eq(doip_reader_new(DOIP_MAX_PAYLOAD_LIMIT + 1, &r), -EINVAL);
        doip_reader_free(r);
}
END_TEST

/* Feeds data in one go; returns what feed returned first, with *nack. */
static int feed_all(DoipReader *r, const uint8_t *data, size_t len, DoipMessage *m, uint8_t *nack) {
        return doip_reader_feed(r, &data, &len, m, nack);
}

START_TEST(test_reader_too_large_before_buffering) {
        DoipPayload ok = { .type = DOIP_TYPE_ALIVE_RESPONSE, .alive_source_address = 0x0E80 };
        uint8_t h[DOIP_HEADER_SIZE], junk[4096], tail[16];
        DoipReader *r = NULL;
        const uint8_t *p;
        size_t len, tail_len;
        DoipMessage m;
        uint8_t nack = 0xAA;

        memset(junk, 0x55, sizeof(junk));
        ck_assert_int_eq(doip_reader_new(1000, &r), 0);
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, 5000), 0);
        /* The header alone is enough for the NACK: nothing buffered. */
        ck_assert_int_eq(feed_all(r, h, sizeof(h), &m, &nack), -EFBIG);
        ck_assert_uint_eq(nack, DOIP_NACK_TOO_LARGE);
        ck_assert_uint_eq(doip_reader_buffered(r), 0);
        /* The payload is dropped as it arrives, then the stream goes on. */
        ck_assert_int_eq(feed_all(r, junk, sizeof(junk), &m, &nack), 0);
        ck_assert_uint_eq(doip_reader_buffered(r), 0);
        ck_assert_int_eq(doip_message_build(tail, sizeof(tail), DOIP_VERSION_2012, &ok, &tail_len), 0);
        /* 904 more junk bytes and a good message in one chunk. */
        {
                uint8_t chunk[904 + 16];

                memset(chunk, 0x55, 904);
                memcpy(chunk + 904, tail, tail_len);
                p = chunk;
                len = 904 + tail_len;
                ck_assert_int_eq(doip_reader_feed(r, &p, &len, &m, &nack), 1);
                ck_assert_uint_eq(m.type, DOIP_TYPE_ALIVE_RESPONSE);
                ck_assert_uint_eq(len, 0);
        }
        /* A 4 GiB announcement: refused at once, nothing reserved. */
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, UINT32_MAX), 0);
        ck_assert_int_eq(feed_all(r, h, sizeof(h), &m, &nack), -EFBIG);
        ck_assert_uint_eq(doip_reader_buffered(r), 0);
        doip_reader_free(r);
}
END_TEST

START_TEST(test_reader_wrong_pattern_closes) {
        const uint8_t bad[] = { 0x02, 0xFC, 0x80, 0x01, 0, 0, 0, 5, 0x0E, 0x80, 0x10, 0x00, 0x3E };
        DoipPayload ok = { .type = DOIP_TYPE_ALIVE_REQUEST };
        uint8_t good[16];
        DoipReader *r = NULL;
        DoipMessage m;
        size_t n;
        uint8_t nack = 0xAA;

        ck_assert_int_eq(doip_reader_new(0, &r), 0);
        /* Byte by byte: nothing until the 8th byte. */
        for (size_t i = 0; i < 7; i++)
                ck_assert_int_eq(feed_all(r, bad + i, 1, &m, &nack), 0);
        ck_assert_int_eq(feed_all(r, bad + 7, 1, &m, &nack), -EBADMSG);
        ck_assert_uint_eq(nack, DOIP_NACK_WRONG_PATTERN);
        /* The stream is lost for good. */
        ck_assert_int_eq(doip_message_build(good, sizeof(good), DOIP_VERSION_2012, &ok, &n), 0);
        nack = 0xAA;
        ck_assert_int_eq(feed_all(r, good, n, &m, &nack), -EBADMSG);
        ck_assert_uint_eq(nack, DOIP_NACK_WRONG_PATTERN);
        doip_reader_free(r);
}
END_TEST

START_TEST(test_reader_invalid_length_closes) {
        uint8_t h[DOIP_HEADER_SIZE];
        DoipReader *r = NULL;
        DoipMessage m;
        uint8_t nack = 0xAA;

        ck_assert_int_eq(doip_reader_new(0, &r), 0);
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_ROUTING_REQUEST, 8), 0);
        ck_assert_int_eq(feed_all(r, h, sizeof(h), &m, &nack), -EMSGSIZE);
        ck_assert_uint_eq(nack, DOIP_NACK_INVALID_LENGTH);
        ck_assert_int_eq(feed_all(r, h, 0, &m, &nack), -EMSGSIZE);
        doip_reader_free(r);
}
END_TEST

START_TEST(test_reader_unknown_type_skipped) {
        uint8_t buf[64];
        DoipPayload ok = { .type = DOIP_TYPE_ALIVE_RESPONSE, .alive_source_address = 0x0E81 };
        DoipReader *r = NULL;
        const uint8_t *p = buf;
        size_t len, n;
        DoipMessage m;
        uint8_t nack = 0xAA;

        ck_assert_int_eq(doip_header_build(buf, DOIP_VERSION_2012, 0x9999, 10), 0);
        memset(buf + 8, 0xEE, 10);
        ck_assert_int_eq(doip_message_build(buf + 18, sizeof(buf) - 18, DOIP_VERSION_2012, &ok, &n), 0);
        len = 18 + n;
        ck_assert_int_eq(doip_reader_new(0, &r), 0);
        ck_assert_int_eq(doip_reader_feed(r, &p, &len, &m, &nack), -EOPNOTSUPP);
        ck_assert_uint_eq(nack, DOIP_NACK_UNKNOWN_TYPE);
        ck_assert_int_eq(doip_reader_feed(r, &p, &len, &m, &nack), 1);
        ck_assert_uint_eq(m.type, DOIP_TYPE_ALIVE_RESPONSE);
        ck_assert_uint_eq(len, 0);
        doip_reader_free(r);
}
END_TEST

START_TEST(test_reader_budget_out_of_memory) {
        uint8_t *msg = NULL, big[3000];
        DoipPayload p = { .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { 0x0E80, 0x1001, big, sizeof(big) } };
        DoipReader *a = NULL, *b = NULL;
        size_t budget = 4000, len, n;
        const uint8_t *in;
        DoipMessage m;
        uint8_t nack = 0xAA;

        memset(big, 0x11, sizeof(big));
        ck_assert_int_eq(doip_message_new(DOIP_VERSION_2012, &p, &msg, &n), 0);
        ck_assert_int_eq(doip_reader_new(0, &a), 0);
        ck_assert_int_eq(doip_reader_new(0, &b), 0);
        doip_reader_set_budget(a, &budget);
        doip_reader_set_budget(b, &budget);
        /* a gathers 3004 bytes: the budget has 996 left. */
        in = msg;
        len = 100;
        ck_assert_int_eq(doip_reader_feed(a, &in, &len, &m, &nack), 0);
        ck_assert_uint_eq(budget, 4000 - 3004);
        /* b's message does not fit: NACK 0x03, skipped. */
        in = msg;
        len = 100;
        ck_assert_int_eq(doip_reader_feed(b, &in, &len, &m, &nack), -ENOMEM);
        ck_assert_uint_eq(nack, DOIP_NACK_OUT_OF_MEMORY);
        ck_assert(!doip_nack_closes(nack));
        ck_assert_uint_eq(len, 92); /* the rest of this chunk is skipped next */
        ck_assert_int_eq(doip_reader_feed(b, &in, &len, &m, &nack), 0);
        in = msg + 100;
        len = n - 100;
        ck_assert_int_eq(doip_reader_feed(b, &in, &len, &m, &nack), 0);
        ck_assert(doip_reader_idle(b));
        /* a completes and gives the budget back. */
        in = msg + 100;
        len = n - 100;
        ck_assert_int_eq(doip_reader_feed(a, &in, &len, &m, &nack), 1);
        ck_assert_uint_eq(m.length, 3004);
        ck_assert_uint_eq(budget, 4000);
        doip_reader_free(a);
        doip_reader_free(b);
        free(msg);
}
END_TEST

static Suite *doip_suite(void) {
        Suite *s = suite_create("vnet_doip");
        TCase *codec = tcase_create("codec"), *reader = tcase_create("reader");

        tcase_add_test(codec, test_roundtrip_every_type);
        tcase_add_test(codec, test_wire_bytes);
        tcase_add_test(codec, test_build_limits);
        tcase_add_test(codec, test_header_accepts);
        tcase_add_test(codec, test_header_wrong_pattern);
        tcase_add_test(codec, test_header_unknown_type);
        tcase_add_test(codec, test_header_too_large);
        tcase_add_test(codec, test_header_invalid_length);
        tcase_add_test(codec, test_message_parse_length_mismatch);
        tcase_add_test(codec, test_strings);
        tcase_add_test(codec, test_uds_pending_rule);
        suite_add_tcase(s, codec);
        tcase_add_test(reader, test_reader_byte_by_byte);
        tcase_add_test(reader, test_reader_big_chunks);
        tcase_add_test(reader, test_reader_zero_copy);
        tcase_add_test(reader, test_reader_too_large_before_buffering);
        tcase_add_test(reader, test_reader_wrong_pattern_closes);
        tcase_add_test(reader, test_reader_invalid_length_closes);
        tcase_add_test(reader, test_reader_unknown_type_skipped);
        tcase_add_test(reader, test_reader_budget_out_of_memory);
        suite_add_tcase(s, reader);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(doip_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
