/* SPDX-License-Identifier: MIT */
/*
 * The DoIP stream reassembler and payload parsers (src/vnet/doip.h,
 * doip_reader.h) on any bytes a peer may send. The first byte picks the
 * reader's maximum payload and the chunk sizes; the rest is the stream.
 * Crashes when:
 *   - cutting the stream in chunks changes the messages or errors seen
 *     (compared with feeding it whole);
 *   - a message is longer than the maximum, or the reader holds more than
 *     one message's worth;
 *   - an error or NACK code is not one the API names, or a closing NACK
 *     does not stay;
 *   - a parsed payload does not build back to a message that parses to the
 *     same payload.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doip.h"
#include "doip_client.h"
#include "doip_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a pass saw, serialized, to compare the passes. */
typedef struct Log {
        uint8_t *buf;
        size_t len, cap;
} Log;

static void log_add(Log *l, const void *p, size_t n) {
        if (l->len + n > l->cap) {
                l->cap = (l->len + n) * 2 + 64;
                l->buf = realloc(l->buf, l->cap);
                if (!l->buf)
                        abort();
        }
        if (n > 0)
                memcpy(l->buf + l->len, p, n);
        l->len += n;
}

static void check_error(int r, uint8_t nack) {
        switch (r) {
        case -EBADMSG:
                if (nack != DOIP_NACK_WRONG_PATTERN)
                        abort();
                break;
        case -EOPNOTSUPP:
                if (nack != DOIP_NACK_UNKNOWN_TYPE)
                        abort();
                break;
        case -EFBIG:
                if (nack != DOIP_NACK_TOO_LARGE)
                        abort();
                break;
        case -EMSGSIZE:
                if (nack != DOIP_NACK_INVALID_LENGTH)
                        abort();
                break;
        default: /* -ENOMEM needs a budget, and none is set */
                abort();
        }
}

/* Rebuilds a parsed payload and parses it again: the same fields. */
static void check_roundtrip(uint8_t version, const DoipPayload *p) {
        uint8_t *buf = NULL, *buf2 = NULL, v = 0;
        size_t len = 0, len2 = 0;
        DoipPayload q;

        if (version == DOIP_VERSION_DEFAULT && p->type > DOIP_TYPE_VID_REQUEST_VIN)
                abort(); /* the header check lets 0xFF through only there */
        if (doip_message_new(version, p, &buf, &len) < 0)
                abort();
        if (doip_message_parse(buf, len, DOIP_MAX_PAYLOAD_LIMIT, &v, &q) < 0 || v != version || q.type != p->type)
                abort();
        /* Built again from the reparsed fields: the very same bytes. */
        if (doip_message_new(version, &q, &buf2, &len2) < 0 || len2 != len || memcmp(buf, buf2, len) != 0)
                abort();
        free(buf);
        free(buf2);
}

static void on_message(Log *l, const DoipMessage *m, uint32_t max_payload) {
        DoipPayload p;

        if (m->length > max_payload || (m->length > 0 && !m->payload))
                abort();
        log_add(l, &m->type, sizeof(m->type));
        log_add(l, &m->version, sizeof(m->version));
        log_add(l, &m->length, sizeof(m->length));
        log_add(l, m->payload, m->length);
        if (doip_payload_parse(m->type, m->payload, m->length, &p) < 0)
                abort(); /* the reader checked the type and length */
        check_roundtrip(m->version, &p);
        if (p.type == DOIP_TYPE_DIAG_MESSAGE)
                (void) doip_uds_response_pending(NULL, 0, p.diag.data, p.diag.len);
}

/* Feeds data in chunks (sizes from seed; 0: whole) into a new reader. */
static void run(const uint8_t *data, size_t size, uint32_t max_payload, uint8_t seed, Log *l) {
        DoipReader *r = NULL;
        size_t off = 0, i = 0;
        bool broken = false;

        if (doip_reader_new(max_payload, &r) < 0)
                abort();
        while (off < size) {
                size_t n = seed ? (size_t) ((seed * (i++ + 7)) % 37) + 1 : size;
                const uint8_t *p;
                size_t len;

                if (n > size - off)
                        n = size - off;
                p = data + off;
                len = n;
                for (;;) {
                        DoipMessage m;
                        uint8_t nack = 0xEE;
                        int k = doip_reader_feed(r, &p, &len, &m, &nack);

                        if (doip_reader_buffered(r) > (size_t) max_payload + DOIP_HEADER_SIZE)
                                abort();
                        if (k == 0)
                                break;
                        if (k > 0) {
                                if (broken)
                                        abort();
                                on_message(l, &m, max_payload);
                                continue;
                        }
                        check_error(k, nack);
                        if (broken)
                                goto out; /* it stays broken: enough */
                        log_add(l, &k, sizeof(k));
                        if (doip_nack_closes(nack))
                                broken = true;
                }
                if (len != 0)
                        abort();
                off += n;
        }
out:
        doip_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const uint32_t maxima[] = { 0, 16, 64, 300, 4096 };
        Log whole = {}, chunked = {};
        uint32_t max_payload;
        uint8_t seed;

        if (size < 1)
                return 0;
        seed = data[0];
        max_payload = maxima[seed % (sizeof(maxima) / sizeof(maxima[0]))];
        data++;
        size--;
        run(data, size, max_payload ? max_payload : DOIP_MAX_PAYLOAD_DEFAULT, 0, &whole);
        run(data, size, max_payload ? max_payload : DOIP_MAX_PAYLOAD_DEFAULT, seed | 1, &chunked);
        /* A broken stream stops the log at the first repeat in both. */
        if (whole.len != chunked.len || (whole.len > 0 && memcmp(whole.buf, chunked.buf, whole.len) != 0))
                abort();
        /* The same bytes as one datagram. */
        {
                DoipPayload p;
                uint8_t v;

                if (doip_message_parse(data, size, 0, &v, &p) == 0)
                        check_roundtrip(v, &p);
        }
        free(whole.buf);
        free(chunked.buf);
        return 0;
}
