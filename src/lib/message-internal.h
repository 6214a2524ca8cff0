/* SPDX-License-Identifier: MIT */
#pragma once

#include "json-internal.h"

/* What the signed messages of uptane/manifest.h share (see signed_message.c). */

#include <errno.h>
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/json.h"
#include "uptane/key.h"
#include "uptane/manifest.h"

/* Field checks: 0, -EBADMSG or -EFBIG. An identifier as up_message_get_id()
 * takes it; hex non-empty, lower-case, of an even number of digits, at most
 * max of them. */
int up_message_check_id(const char *s);
int up_message_check_hex(const char *s, size_t max);

/* The n items at p of a message to sign: -EFBIG when over max, -EINVAL
 * when p is NULL. */
static inline int up_message_check_list(size_t n, const void *p, size_t max) {
        if (n > max)
                return -EFBIG;
        if (n > 0 && !p)
                return -EINVAL;
        return 0;
}

/* A copy of s; -EINVAL when s is NULL. */
int up_json_add_string(struct json_object *o, const char *key, const char *s);
/* t as "YYYY-MM-DDTHH:MM:SSZ"; -EINVAL when it has no such form. */
int up_json_add_time(struct json_object *o, const char *key, time_t t);

/* Parses a document of len bytes within limits and checks its envelope, as
 * up_signed_message_from_json() does. */
int up_signed_message_parse(const void *buf, size_t len, const UpJsonLimits *limits, UpSignedMessage **ret);

/* The parser of one kind of message: 0 when it accepts text. */
typedef int (*UpMessageCheck)(const char *text, size_t len);

/* up_signed_message_sign(), handing out the text only when check() accepts
 * it: what a receiver would refuse to read gives -EINVAL (-EFBIG and -ENOMEM
 * from check() are passed on). */
int up_signed_message_sign_checked(struct json_object *signed_obj, const UpKey *key, UpMessageCheck check,
                                   char **ret, size_t *ret_len);
