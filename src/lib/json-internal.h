/* SPDX-License-Identifier: MIT */
#pragma once

/* JSON below the json-c tree: validation alone, and byte spans of members. */

#include <stddef.h>

#include "uptane/json.h"

/* The checks of up_json_parse() without building a tree; ret_depth (may be
 * NULL) gets the deepest container nesting seen. */
int up_json_validate(const void *buf, size_t len, const UpJsonLimits *limits, int *ret_depth);

/* A value inside a document: bytes [start, end) of the buffer. */
typedef struct UpJsonSpan {
        size_t start, end;
} UpJsonSpan;

/* Iterates the members of the object at buf[*pos..end) of a document that
 * up_json_validate() accepted. Call with *pos at the '{' first; each call
 * gives the next member's decoded key (malloc()ed) and the span of its value.
 * Returns 1 for a member, 0 at the closing '}', -EBADMSG otherwise. */
int up_json_span_next_member(const char *buf, size_t end, size_t *pos, char **ret_key, UpJsonSpan *ret_value);

/* The member key of the object spanning obj; -ENOENT when absent,
 * -EBADMSG when present twice. */
int up_json_span_find_member(const char *buf, UpJsonSpan obj, const char *key, UpJsonSpan *ret);

/* Canonical JSON written piece by piece (see canonical_json.c). */
typedef struct UpCjsonWriter UpCjsonWriter;
int up_cjson_writer_new(UpCjsonWriter **ret);
UpCjsonWriter *up_cjson_writer_free(UpCjsonWriter *w);
int up_cjson_writer_raw(UpCjsonWriter *w, const char *s, size_t n);
int up_cjson_writer_string(UpCjsonWriter *w, const char *s, size_t n);
int up_cjson_writer_value(UpCjsonWriter *w, struct json_object *o);
size_t up_cjson_writer_len(const UpCjsonWriter *w);
/* Hands over the bytes written (NUL-terminated); the writer is then empty. */
int up_cjson_writer_finish(UpCjsonWriter *w, char **ret, size_t *ret_len);
static inline void up_cjson_writer_freep(UpCjsonWriter **w) {
        up_cjson_writer_free(*w);
}

/* Parses bytes written by the canonical encoder (raw control characters
 * allowed inside strings). */
int up_json_parse_canonical(const char *buf, size_t len, const UpJsonLimits *limits, struct json_object **ret);

/* Add v (a new reference; NULL: out of memory) to an object or an array; v is
 * dropped when that fails. */
int up_json_add(struct json_object *o, const char *key, struct json_object *v);
int up_json_append(struct json_object *a, struct json_object *v);
