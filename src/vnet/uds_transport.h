/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The transport under a UDS client: anything that carries whole UDS
 * messages (A_PDUs) to one server and back. ISO-TP (isotp.h) and DoIP offer
 * this shape.
 *
 * send: one whole request; blocks until the transport took it. 0 or -errno.
 * recv: the next whole message from the server, in a buffer from malloc()
 *       that the caller frees; waits until deadline_usec, an absolute
 *       CLOCK_MONOTONIC time in microseconds (uds_transport_now_usec()),
 *       then returns -ETIMEDOUT. 0 or -errno; the out-parameters are set
 *       only on success. A transport bounds the size of what it returns.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct UdsTransport {
        int (*send)(void *userdata, const uint8_t *data, size_t len);
        int (*recv)(void *userdata, uint8_t **ret_data, size_t *ret_len, uint64_t deadline_usec);
        void *userdata;
} UdsTransport;

/* CLOCK_MONOTONIC now, in microseconds: the clock of recv's deadline. */
static inline uint64_t uds_transport_now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}
