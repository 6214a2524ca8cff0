/* SPDX-License-Identifier: MIT */
#pragma once

/* Helpers shared by the DoIP sources (not for users of the library). */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(doip_freep)
#define _cleanup_close_ _cleanup_(doip_closep)
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define DOIP_MIN(a, b) ((a) < (b) ? (a) : (b))

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_INFINITY UINT64_MAX

static inline void doip_freep(void *p) {
        free(*(void **) p);
}

static inline void doip_closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

static inline int doip_negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline uint16_t doip_get16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static inline uint32_t doip_get32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static inline void doip_put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static inline void doip_put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 24);
        p[1] = (uint8_t) (v >> 16);
        p[2] = (uint8_t) (v >> 8);
        p[3] = (uint8_t) v;
}

/* CLOCK_MONOTONIC in microseconds (the clock sd-event timers use too). */
static inline uint64_t doip_now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / 1000;
}

/* now + ms, saturating. */
static inline uint64_t doip_deadline(uint64_t now, unsigned ms) {
        uint64_t d = (uint64_t) ms * USEC_PER_MSEC;

        return d > USEC_INFINITY - now ? USEC_INFINITY : now + d;
}
