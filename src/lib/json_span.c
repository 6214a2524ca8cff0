/* SPDX-License-Identifier: MIT */
/*
 * Byte spans of members in a validated JSON document. Large targets metadata
 * is canonicalized entry by entry from these spans, so that no tree of the
 * whole document is ever built (json-c needs about 3 KB per target entry).
 */
#include <stdbool.h>

#include "json-internal.h"
#include "util.h"

static void skip_ws(const char *buf, size_t end, size_t *pos) {
        while (*pos < end && (buf[*pos] == ' ' || buf[*pos] == '\t' || buf[*pos] == '\n' || buf[*pos] == '\r'))
                (*pos)++;
}

/* From the opening quote to just past the closing one. memchr() does the
 * walking: the bulk of metadata is long strings (hashes, keys). */
static int skip_string(const char *buf, size_t end, size_t *pos) {
        size_t p = *pos + 1;

        for (;;) {
                const char *q = memchr(buf + p, '"', end - p);
                size_t k, backslashes = 0;

                if (!q)
                        return -EBADMSG;
                k = (size_t) (q - buf);
                while (k - backslashes > *pos + 1 && buf[k - backslashes - 1] == '\\')
                        backslashes++;
                if (backslashes % 2 == 0) {
                        *pos = k + 1;
                        return 0;
                }
                p = k + 1;
        }
}

static bool is_structural(char c) {
        return c == '"' || c == '{' || c == '}' || c == '[' || c == ']';
}

static int skip_value(const char *buf, size_t end, size_t *pos) {
        size_t depth = 0, start = *pos;

        if (*pos >= end)
                return -EBADMSG;
        if (buf[*pos] == '"')
                return skip_string(buf, end, pos);
        if (buf[*pos] != '{' && buf[*pos] != '[') {
                /* A number or literal runs up to the next delimiter. */
                while (*pos < end && !strchr(",}] \t\n\r", buf[*pos]))
                        (*pos)++;
                return *pos > start ? 0 : -EBADMSG;
        }
        for (;;) {
                char c;

                while (*pos < end && !is_structural(buf[*pos]))
                        (*pos)++;
                if (*pos >= end)
                        return -EBADMSG;
                c = buf[*pos];
                if (c == '"') {
                        if (skip_string(buf, end, pos) < 0)
                                return -EBADMSG;
                        continue;
                }
                (*pos)++;
                if (c == '{' || c == '[')
                        depth++;
                else if (--depth == 0)
                        return 0;
        }
}

static int decode_key(const char *buf, UpJsonSpan key, char **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        const char *raw = buf + key.start + 1;
        size_t n = key.end - key.start - 2;

        /* Most keys have no escapes: take the bytes as they are. */
        if (!memchr(raw, '\\', n)) {
                *ret = strndup(raw, n);
                return *ret ? 0 : -ENOMEM;
        }
        if (up_json_parse(buf + key.start, key.end - key.start, NULL, &o) < 0 ||
            !json_object_is_type(o, json_type_string))
                return -EBADMSG;
        *ret = strdup(json_object_get_string(o));
        return *ret ? 0 : -ENOMEM;
}

int up_json_span_next_member(const char *buf, size_t end, size_t *pos, char **ret_key, UpJsonSpan *ret_value) {
        UpJsonSpan key, value;
        char *k;
        int r;

        skip_ws(buf, end, pos);
        if (*pos >= end)
                return -EBADMSG;
        if (buf[*pos] == '{' || buf[*pos] == ',')
                (*pos)++;
        skip_ws(buf, end, pos);
        if (*pos < end && buf[*pos] == '}') {
                (*pos)++;
                return 0;
        }
        if (*pos >= end || buf[*pos] != '"')
                return -EBADMSG;
        key.start = *pos;
        r = skip_string(buf, end, pos);
        if (r < 0)
                return r;
        key.end = *pos;
        skip_ws(buf, end, pos);
        if (*pos >= end || buf[*pos] != ':')
                return -EBADMSG;
        (*pos)++;
        skip_ws(buf, end, pos);
        value.start = *pos;
        r = skip_value(buf, end, pos);
        if (r < 0)
                return r;
        value.end = *pos;
        r = decode_key(buf, key, &k);
        if (r < 0)
                return r;
        *ret_key = k;
        *ret_value = value;
        return 1;
}

int up_json_span_find_member(const char *buf, UpJsonSpan obj, const char *key, UpJsonSpan *ret) {
        size_t pos = obj.start;
        UpJsonSpan found = {}, v;
        bool seen = false;
        char *k;
        int r;

        skip_ws(buf, obj.end, &pos);
        if (pos >= obj.end || buf[pos] != '{')
                return -EBADMSG;
        while ((r = up_json_span_next_member(buf, obj.end, &pos, &k, &v)) > 0) {
                bool match = streq(k, key);

                free(k);
                if (!match)
                        continue;
                if (seen)
                        return -EBADMSG; /* json-c would keep the last one: ambiguous */
                seen = true;
                found = v;
        }
        if (r < 0)
                return r;
        if (!seen)
                return -ENOENT;
        *ret = found;
        return 0;
}
