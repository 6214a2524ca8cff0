/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * DoipReader: DoIP messages out of a TCP byte stream, fed in chunks of any
 * size (several messages in one read, one message over many reads). The
 * header is checked (doip_header_parse()) as soon as its 8 bytes are there,
 * before any of the payload is buffered, so a peer announcing 4 GiB gets
 * its NACK 0x02 without the reader reserving a byte for it. A payload that
 * lies whole in the chunk being fed is returned in place, without a copy;
 * others are gathered in a buffer that grows with the bytes that arrive,
 * never beyond the announced length.
 *
 * Memory: the reader holds at most max_payload bytes. Readers may also
 * share a budget (doip_reader_set_budget()): a payload that does not fit
 * in what is left gets NACK 0x03 (out of memory) and is skipped.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "doip.h"

typedef struct DoipReader DoipReader;

/* max_payload: the largest payload taken (0: DOIP_MAX_PAYLOAD_DEFAULT; at
 * most DOIP_MAX_PAYLOAD_LIMIT, else -EINVAL). */
int doip_reader_new(uint32_t max_payload, DoipReader **ret);
DoipReader *doip_reader_free(DoipReader *r);
void doip_reader_freep(DoipReader **r);

/* Shares *budget (bytes, decreased while a payload is gathered, given back
 * when it is done; single-threaded) with other readers; NULL: none. */
void doip_reader_set_budget(DoipReader *r, size_t *budget);

/*
 * Consumes bytes from *data (advancing it and decreasing *len) up to the end
 * of one message. Returns:
 *   1  *ret is a complete message; its payload stays valid until the next
 *      call and as long as the fed chunk does;
 *   0  all of *len consumed, no message complete yet;
 *   <0 the header was refused; *reterr_nack is the generic NACK code:
 *      -EOPNOTSUPP (0x01), -EFBIG (0x02), -ENOMEM (0x03): the payload is
 *      skipped as it arrives, feeding may go on;
 *      -EBADMSG (0x00), -EMSGSIZE (0x04): the stream is lost, close it;
 *      every later call returns the same error.
 * -EINVAL on bad arguments.
 */
int doip_reader_feed(DoipReader *r, const uint8_t **data, size_t *len, DoipMessage *ret, uint8_t *reterr_nack);

/* Whether the reader is between messages (no partial header or payload). */
bool doip_reader_idle(const DoipReader *r);

/* Bytes the reader holds in its buffers. */
size_t doip_reader_buffered(const DoipReader *r);
