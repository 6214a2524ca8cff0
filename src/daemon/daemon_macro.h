/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Small helpers of the daemons' own sources (uptane-primaryd,
 * uptane-secondaryd and src/daemon/). libuptane keeps its own in
 * src/lib/util.h: the daemons use only libuptane's public headers, so the
 * few lines both define stay on each side of that boundary.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <json-c/json.h>

#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_json_ _cleanup_(json_object_putp)
#ifndef _printf_
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#endif
#ifndef ELEMENTSOF
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#endif
#ifndef TAKE_PTR
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#endif

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                json_object_put(*o);
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
