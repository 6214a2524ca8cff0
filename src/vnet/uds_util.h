/* SPDX-License-Identifier: MIT */
#pragma once

/* Internal helpers of the UDS and ISO-TP sources of libvnet (not installed):
 * cleanup attributes and big-endian fields. The macros are guarded, so this
 * header may meet another one that defines the same helpers. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif
#ifndef TAKE_PTR
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#endif
#ifndef TAKE_FD
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })
#endif
#ifndef ELEMENTSOF
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#endif

static inline void uds_freep(void *p) {
        free(*(void **) p);
}

static inline void uds_closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

#define _cleanup_uds_free_ _cleanup_(uds_freep)
#define _cleanup_uds_close_ _cleanup_(uds_closep)

static inline int uds_negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/* Big-endian unsigned field of n (0..8) bytes. */
static inline uint64_t uds_be_read(const uint8_t *p, size_t n) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v = (v << 8) | p[i];
        return v;
}

/* Whether v fits an n-byte (1..8) field. */
static inline bool uds_fits_bytes(uint64_t v, size_t n) {
        return n >= 8 || v >> (8 * n) == 0;
}

/* The smallest field width (1..8) that holds v. */
static inline uint8_t uds_min_bytes(uint64_t v) {
        uint8_t n = 1;

        while (n < 8 && !uds_fits_bytes(v, n))
                n++;
        return n;
}

/* A bounded writer: records overflow instead of writing past size. */
typedef struct UdsWriter {
        uint8_t *buf;
        size_t size;
        size_t len;
        bool overflow;
} UdsWriter;

static inline UdsWriter uds_writer(uint8_t *buf, size_t size) {
        return (UdsWriter) { .buf = buf, .size = buf ? size : 0 };
}

static inline bool uds_writer_room(UdsWriter *w, size_t n) {
        if (w->overflow || n > w->size - w->len) {
                w->overflow = true;
                return false;
        }
        return true;
}

static inline void uds_put_u8(UdsWriter *w, uint8_t v) {
        if (uds_writer_room(w, 1))
                w->buf[w->len++] = v;
}

static inline void uds_put_be(UdsWriter *w, uint64_t v, size_t n) {
        if (!uds_writer_room(w, n))
                return;
        for (size_t i = 0; i < n; i++)
                w->buf[w->len + i] = (uint8_t) (v >> (8 * (n - 1 - i)));
        w->len += n;
}

/* memmove: data may already sit where it is written. */
static inline void uds_put_bytes(UdsWriter *w, const void *data, size_t n) {
        if (n == 0 || !uds_writer_room(w, n))
                return;
        memmove(w->buf + w->len, data, n);
        w->len += n;
}

static inline int uds_writer_finish(const UdsWriter *w, size_t *ret_len) {
        if (w->overflow)
                return -ENOBUFS;
        if (ret_len)
                *ret_len = w->len;
        return 0;
}

/* Shared by the codec's sources (uds.c): the first checks of a request
 * (SID, minimum length) and of a positive response (classification, then
 * minimum length), with the codec's error codes. */
int uds_check_request(uint8_t sid, const uint8_t *msg, size_t len, size_t min_len);
int uds_check_response(uint8_t sid, const uint8_t *msg, size_t len, size_t min_len);
