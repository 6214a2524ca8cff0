/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * ISO-TP (ISO 15765-2) over the Linux kernel's CAN_ISOTP sockets: one link
 * is one pair of CAN ids on one interface, and carries whole messages of
 * up to 66000 bytes (the kernel's limit). Segmentation, flow control,
 * padding and CAN FD framing are the kernel's; this sets them up.
 *
 * On a kernel without CAN (no AF_CAN), isotp_link_open() fails with
 * -EAFNOSUPPORT; everything compiles everywhere.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uds_transport.h"

#define ISOTP_PDU_MAX 66000u          /* the kernel's largest ISO-TP message */
#define ISOTP_CAN_SFF_MAX 0x7FFu      /* 11-bit ids */
#define ISOTP_CAN_EFF_MAX 0x1FFFFFFFu /* 29-bit ids */
#define ISOTP_FRAME_TXTIME_NONE UINT32_MAX /* frame_txtime_usec: no gap after our frames */

typedef struct IsotpOptions {
        uint32_t tx_id;            /* CAN id we send on */
        uint32_t rx_id;            /* CAN id we receive on */
        bool extended_ids;         /* 29-bit ids (else 11-bit) */
        int padding;               /* pad every frame with this byte (0..255), or -1 for no padding */
        uint8_t block_size;        /* BS we advertise in our flow control frames (0: no further FC) */
        uint8_t stmin;             /* STmin we advertise: 0x00-0x7F ms, 0xF1-0xF9 100-900 us */
        uint32_t tx_stmin_usec;    /* if > 0: at least this gap between our frames, whatever the peer's FC says */
        uint32_t frame_txtime_usec;/* time a frame takes on the bus (N_As), added to each gap: 0 the
                                    * kernel's default (50 us), ISOTP_FRAME_TXTIME_NONE none */
        bool can_fd;               /* CAN FD frames (the interface's MTU must be 72) */
        uint8_t tx_dl;             /* CAN FD frame data length: 8, 12, 16, 20, 24, 32, 48 or 64 */
} IsotpOptions;

/* Classic CAN, no padding, BS 0, STmin 0, the given ids (11-bit). */
IsotpOptions isotp_options_default(uint32_t tx_id, uint32_t rx_id);

/* -EINVAL if the options can never work (ids out of range or equal, an
 * STmin encoding that is reserved, a CAN FD data length that is not a
 * CAN FD length). */
int isotp_options_check(const IsotpOptions *o);

typedef struct IsotpLink IsotpLink;

/* Opens and binds a link on ifname. -EINVAL bad options, -ENODEV no such
 * interface, -EAFNOSUPPORT no CAN in this kernel, other -errno. */
int isotp_link_open(const char *ifname, const IsotpOptions *o, IsotpLink **ret);
IsotpLink *isotp_link_free(IsotpLink *l);
void isotp_link_freep(IsotpLink **l);

/* The socket, for an event loop (POLLIN: a whole message is there). */
int isotp_link_fd(const IsotpLink *l);

/* Sends one whole message and blocks until the kernel sent its last frame:
 * -EINVAL empty, -EFBIG above ISOTP_PDU_MAX (nothing written), -ECOMM and
 * friends when the peer's flow control did not come. */
int isotp_link_send(IsotpLink *l, const uint8_t *data, size_t len);
/* The next whole message (malloc'ed), waiting until deadline_usec
 * (CLOCK_MONOTONIC; UINT64_MAX: forever): -ETIMEDOUT when it passes. */
int isotp_link_recv(IsotpLink *l, uint8_t **ret_data, size_t *ret_len, uint64_t deadline_usec);

/* The link as a UdsTransport (valid while the link is). */
UdsTransport isotp_link_transport(IsotpLink *l);
