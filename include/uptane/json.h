/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <json-c/json.h>

/* Limits on a JSON document an attacker controls. A document over any limit is
 * rejected as a whole with -EFBIG (size, values) or -EBADMSG (depth). */
typedef struct UpJsonLimits {
        size_t max_bytes;   /* length of the input */
        int max_depth;      /* nesting of objects and arrays */
        size_t max_values;  /* total number of JSON values in the document */
} UpJsonLimits;

#define UP_JSON_LIMITS_DEFAULT ((UpJsonLimits) { \
        .max_bytes = 64u * 1024u * 1024u, .max_depth = 32, .max_values = 8u * 1024u * 1024u })

/* Parses exactly one JSON document of len bytes (no trailing garbage, valid
 * UTF-8, no NUL outside strings). Returns 0, -EBADMSG, -EFBIG or -ENOMEM. */
int up_json_parse(const void *buf, size_t len, const UpJsonLimits *limits, struct json_object **ret);

/* Canonical JSON (OLPC / securesystemslib form, what TUF signs): keys sorted by
 * their UTF-8 bytes, no white space, only '"' and '\\' escaped, integers only.
 * Floats give -EBADMSG. *ret is NUL-terminated; *ret_len excludes the NUL. */
int up_cjson_encode(struct json_object *o, char **ret, size_t *ret_len);

/* Strict typed getters: -EBADMSG when the member is missing or of another type. */
int up_json_get_object(struct json_object *o, const char *key, struct json_object **ret);
int up_json_get_array(struct json_object *o, const char *key, struct json_object **ret);
int up_json_get_string(struct json_object *o, const char *key, const char **ret);
int up_json_get_int64(struct json_object *o, const char *key, int64_t *ret);
int up_json_get_bool(struct json_object *o, const char *key, int *ret);
