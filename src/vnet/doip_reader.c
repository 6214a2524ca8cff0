/* SPDX-License-Identifier: MIT */
/* The DoIP stream reassembler (doip_reader.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doip_internal.h"
#include "doip_reader.h"

/* A buffer bigger than this is given back once its message is delivered. */
#define READER_KEEP_BYTES (64u * 1024u)
#define READER_FIRST_BYTES 4096u

typedef enum ReaderState {
        READER_HEADER,  /* gathering the 8 header bytes */
        READER_PAYLOAD, /* gathering the payload into buf */
        READER_SKIP,    /* dropping the payload of a refused message */
        READER_BROKEN,  /* a closing NACK was due: nothing more */
} ReaderState;

struct DoipReader {
        ReaderState state;
        uint32_t max_payload;
        uint8_t hdr[DOIP_HEADER_SIZE];
        size_t hdr_have;
        DoipHeader header;   /* of the message being gathered */
        uint8_t *buf;
        size_t cap, have;
        uint64_t skip;       /* bytes still to drop */
        int broken_error;
        uint8_t broken_nack;
        size_t *budget;
        size_t reserved;     /* taken from *budget for this payload */
};

int doip_reader_new(uint32_t max_payload, DoipReader **ret) {
        DoipReader *r;

        if (!ret || max_payload > DOIP_MAX_PAYLOAD_LIMIT)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->max_payload = max_payload ? max_payload : DOIP_MAX_PAYLOAD_DEFAULT;
        *ret = r;
        return 0;
}

static void budget_release(DoipReader *r) {
        if (r->budget)
                *r->budget += r->reserved;
        r->reserved = 0;
}

DoipReader *doip_reader_free(DoipReader *r) {
        if (!r)
                return NULL;
        budget_release(r);
        free(r->buf);
        free(r);
        return NULL;
}

void doip_reader_freep(DoipReader **r) {
        *r = doip_reader_free(*r);
}

void doip_reader_set_budget(DoipReader *r, size_t *budget) {
        budget_release(r);
        r->budget = budget;
}

bool doip_reader_idle(const DoipReader *r) {
        return r->state == READER_HEADER && r->hdr_have == 0;
}

size_t doip_reader_buffered(const DoipReader *r) {
        return r->hdr_have + r->cap;
}

static void consume(const uint8_t **data, size_t *len, size_t n) {
        *data += n;
        *len -= n;
}

static int fail(DoipReader *r, int error, uint8_t nack, uint8_t *reterr_nack) {
        if (reterr_nack)
                *reterr_nack = nack;
        if (doip_nack_closes(nack)) {
                r->state = READER_BROKEN;
                r->broken_error = error;
                r->broken_nack = nack;
        }
        return error;
}

/* Drops the payload of a refused message (length taken from the header). */
static int refuse(DoipReader *r, const uint8_t *hdr, int error, uint8_t nack, uint8_t *reterr_nack) {
        r->skip = doip_get32(hdr + 4);
        r->state = r->skip > 0 ? READER_SKIP : READER_HEADER;
        return fail(r, error, nack, reterr_nack);
}

static void deliver(const DoipHeader *h, const uint8_t *payload, DoipMessage *ret) {
        *ret = (DoipMessage) {
                .version = h->version,
                .type = h->type,
                .payload = h->length > 0 ? payload : NULL,
                .length = h->length,
        };
}

/* Room for the next n payload bytes: grows geometrically, never past the
 * announced length. */
static int reserve(DoipReader *r, size_t n) {
        size_t want = r->have + n, cap;
        uint8_t *p;

        if (want <= r->cap)
                return 0;
        cap = r->cap ? r->cap : READER_FIRST_BYTES;
        while (cap < want)
                cap = cap > SIZE_MAX / 2 ? want : cap * 2;
        cap = DOIP_MIN(cap, (size_t) r->header.length);
        p = realloc(r->buf, cap);
        if (!p)
                return -ENOMEM;
        r->buf = p;
        r->cap = cap;
        return 0;
}

static void drop_big_buffer(DoipReader *r) {
        if (r->cap > READER_KEEP_BYTES) {
                free(r->buf);
                r->buf = NULL;
                r->cap = 0;
        }
}

/* A checked header: deliver at once when the payload is whole in the chunk
 * (no copy), else start gathering it. */
static int start_payload(DoipReader *r, const uint8_t **data, size_t *len, DoipMessage *ret, uint8_t *reterr_nack) {
        const DoipHeader *h = &r->header;

        if (*len >= h->length) {
                deliver(h, *data, ret);
                consume(data, len, h->length);
                return 1;
        }
        if (r->budget) {
                if (*r->budget < h->length)
                        return refuse(r, r->hdr, -ENOMEM, DOIP_NACK_OUT_OF_MEMORY, reterr_nack);
                *r->budget -= h->length;
                r->reserved = h->length;
        }
        r->have = 0;
        r->state = READER_PAYLOAD;
        return 0;
}

static int feed_header(DoipReader *r, const uint8_t **data, size_t *len, DoipMessage *ret, uint8_t *reterr_nack) {
        size_t n = DOIP_MIN(DOIP_HEADER_SIZE - r->hdr_have, *len);
        uint8_t nack = 0;
        int k;

        memcpy(r->hdr + r->hdr_have, *data, n);
        consume(data, len, n);
        r->hdr_have += n;
        if (r->hdr_have < DOIP_HEADER_SIZE)
                return 0;
        r->hdr_have = 0;
        k = doip_header_parse(r->hdr, DOIP_HEADER_SIZE, r->max_payload, &r->header, &nack);
        if (k < 0)
                return refuse(r, r->hdr, k, nack, reterr_nack);
        return start_payload(r, data, len, ret, reterr_nack);
}

static int feed_payload(DoipReader *r, const uint8_t **data, size_t *len, DoipMessage *ret, uint8_t *reterr_nack) {
        size_t n = DOIP_MIN((size_t) r->header.length - r->have, *len);

        if (reserve(r, n) < 0) {
                /* Drop what is gathered and the rest as it comes. */
                r->skip = r->header.length - r->have;
                r->state = READER_SKIP;
                budget_release(r);
                return fail(r, -ENOMEM, DOIP_NACK_OUT_OF_MEMORY, reterr_nack);
        }
        memcpy(r->buf + r->have, *data, n);
        consume(data, len, n);
        r->have += n;
        if (r->have < r->header.length)
                return 0;
        deliver(&r->header, r->buf, ret);
        budget_release(r);
        r->state = READER_HEADER;
        return 1;
}

static void feed_skip(DoipReader *r, const uint8_t **data, size_t *len) {
        size_t n = (size_t) DOIP_MIN(r->skip, (uint64_t) *len);

        consume(data, len, n);
        r->skip -= n;
        if (r->skip == 0)
                r->state = READER_HEADER;
}

int doip_reader_feed(DoipReader *r, const uint8_t **data, size_t *len, DoipMessage *ret, uint8_t *reterr_nack) {
        int k = 0;

        if (!r || !data || !len || !ret || (*len > 0 && !*data))
                return -EINVAL;
        if (doip_reader_idle(r))
                drop_big_buffer(r); /* the message last delivered from it is gone */
        while (k == 0) {
                if (r->state == READER_BROKEN)
                        return fail(r, r->broken_error, r->broken_nack, reterr_nack);
                if (*len == 0)
                        return 0;
                switch (r->state) {
                case READER_SKIP:
                        feed_skip(r, data, len);
                        break;
                case READER_HEADER:
                        k = feed_header(r, data, len, ret, reterr_nack);
                        break;
                case READER_PAYLOAD:
                        k = feed_payload(r, data, len, ret, reterr_nack);
                        break;
                default:
                        break;
                }
        }
        return k;
}
