/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdint.h>

#include "json-internal.h"
#include "uptane/json.h"
#include "util.h"

/* Deeper trees are not metadata; the bound also stops cycles and stack overflow. */
#define CJSON_MAX_DEPTH 64

typedef struct Member {
        const char *key;
        size_t key_len;
        struct json_object *value;
} Member;

typedef struct Encoder {
        char *buf;
        size_t len, cap;
        /* One stack of members shared by all nesting levels, to avoid a malloc per object. */
        Member *members;
        size_t n_members, cap_members;
} Encoder;

/* Makes room for n more bytes plus the final NUL. */
static int reserve(Encoder *e, size_t n) {
        size_t cap;
        char *p;

        if (e->cap - e->len > n)
                return 0;
        if (n >= SIZE_MAX / 2 - e->len)
                return -ENOMEM;
        cap = e->cap > 0 ? e->cap : 4096;
        while (cap - e->len <= n)
                cap *= 2;
        p = realloc(e->buf, cap);
        if (!p)
                return -ENOMEM;
        e->buf = p;
        e->cap = cap;
        return 0;
}

static int put(Encoder *e, const char *s, size_t n) {
        int r;

        r = reserve(e, n);
        if (r < 0)
                return r;
        memcpy(e->buf + e->len, s, n);
        e->len += n;
        return 0;
}

static int put_char(Encoder *e, char c) {
        return put(e, &c, 1);
}

/* Length of the prefix of s that needs no escaping. Eight bytes at a time:
 * hex digests and paths make up most of the output. */
static size_t plain_prefix(const char *s, size_t n) {
        const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
        size_t i = 0;

        for (; n - i >= 8; i += 8) {
                uint64_t w, q, b;

                memcpy(&w, s + i, 8);
                q = w ^ (ones * '"');
                b = w ^ (ones * '\\');
                /* Non-zero iff some byte of q or b is zero (exact as a test). */
                if (((q - ones) & ~q & highs) | ((b - ones) & ~b & highs))
                        break;
        }
        while (i < n && s[i] != '"' && s[i] != '\\')
                i++;
        return i;
}

/* securesystemslib escapes only '"' and '\\'; all other bytes, control
 * characters included, are signed raw. */
static int encode_string(Encoder *e, const char *s, size_t n) {
        char *d;
        int r;

        if (n > SIZE_MAX / 4)
                return -ENOMEM;
        r = reserve(e, 2 * n + 2);
        if (r < 0)
                return r;

        d = e->buf + e->len;
        *d++ = '"';
        for (;;) {
                size_t k = plain_prefix(s, n);

                memcpy(d, s, k);
                d += k;
                if (k == n)
                        break;
                *d++ = '\\';
                *d++ = s[k];
                s += k + 1;
                n -= k + 1;
        }
        *d++ = '"';
        e->len = (size_t) (d - e->buf);
        return 0;
}

static int encode_int(Encoder *e, struct json_object *o) {
        char tmp[24], *p = tmp + sizeof(tmp);
        uint64_t u;
        int64_t v;
        bool negative = false;

        /* json-c keeps values above INT64_MAX as uint64 (and reads negative ones as 0). */
        u = json_object_get_uint64(o);
        if (u <= INT64_MAX) {
                v = json_object_get_int64(o);
                negative = v < 0;
                u = negative ? -(uint64_t) v : (uint64_t) v;
        }

        do {
                *--p = (char) ('0' + u % 10);
                u /= 10;
        } while (u > 0);
        if (negative)
                *--p = '-';
        return put(e, p, (size_t) (tmp + sizeof(tmp) - p));
}

static int encode_value(Encoder *e, struct json_object *o, int depth);

static int encode_array(Encoder *e, struct json_object *o, int depth) {
        size_t n = json_object_array_length(o);
        int r;

        r = put_char(e, '[');
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (i > 0) {
                        r = put_char(e, ',');
                        if (r < 0)
                                return r;
                }
                r = encode_value(e, json_object_array_get_idx(o, i), depth + 1);
                if (r < 0)
                        return r;
        }
        return put_char(e, ']');
}

static int member_compare(const void *a, const void *b) {
        const Member *x = a, *y = b;
        int r;

        /* By raw UTF-8 bytes, which is also Python's code point order. */
        r = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);
        if (r != 0)
                return r;
        return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Pushes the members of o, sorted, on the member stack. */
static int push_members(Encoder *e, struct json_object *o, size_t n) {
        size_t base = e->n_members;

        if (n == 0)
                return 0;
        if (n > e->cap_members - e->n_members) {
                size_t cap = e->cap_members > 0 ? e->cap_members : 64;
                Member *m;

                while (n > cap - e->n_members) {
                        if (cap > SIZE_MAX / sizeof(Member) / 2)
                                return -ENOMEM;
                        cap *= 2;
                }
                m = realloc(e->members, cap * sizeof(Member));
                if (!m)
                        return -ENOMEM;
                e->members = m;
                e->cap_members = cap;
        }

        /* json-c keys are C strings: they cannot hold a NUL, so strlen is exact. */
        json_object_object_foreach(o, key, value)
                e->members[e->n_members++] = (Member) { key, strlen(key), value };
        if (n > 1)
                qsort(e->members + base, n, sizeof(Member), member_compare);
        return 0;
}

static int encode_object(Encoder *e, struct json_object *o, int depth) {
        size_t base = e->n_members, n = (size_t) json_object_object_length(o);
        int r;

        r = push_members(e, o, n);
        if (r < 0)
                return r;
        r = put_char(e, '{');
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                /* Copy: nested objects may move the member stack. */
                Member m = e->members[base + i];

                /* Sorting scattered the values over the heap; fetch ahead. */
                if (i + 4 < n)
                        __builtin_prefetch(e->members[base + i + 4].value);

                if (i > 0) {
                        r = put_char(e, ',');
                        if (r < 0)
                                return r;
                }
                r = encode_string(e, m.key, m.key_len);
                if (r < 0)
                        return r;
                r = put_char(e, ':');
                if (r < 0)
                        return r;
                r = encode_value(e, m.value, depth + 1);
                if (r < 0)
                        return r;
        }
        e->n_members = base;
        return put_char(e, '}');
}

static int encode_value(Encoder *e, struct json_object *o, int depth) {
        switch (json_object_get_type(o)) {
        case json_type_null:
                return put(e, "null", 4);
        case json_type_boolean:
                return json_object_get_boolean(o) ? put(e, "true", 4) : put(e, "false", 5);
        case json_type_int:
                return encode_int(e, o);
        case json_type_string:
                return encode_string(e, json_object_get_string(o), (size_t) json_object_get_string_len(o));
        case json_type_array:
                if (depth >= CJSON_MAX_DEPTH)
                        return -EBADMSG;
                return encode_array(e, o, depth);
        case json_type_object:
                if (depth >= CJSON_MAX_DEPTH)
                        return -EBADMSG;
                return encode_object(e, o, depth);
        case json_type_double: /* canonical JSON has no floats */
        default:
                return -EBADMSG;
        }
}

int up_cjson_encode(struct json_object *o, char **ret, size_t *ret_len) {
        Encoder e = {};
        int r;

        if (!ret || !ret_len)
                return -EINVAL;

        r = encode_value(&e, o, 0);
        free(e.members);
        if (r >= 0)
                r = reserve(&e, 0);
        if (r < 0) {
                free(e.buf);
                return r;
        }

        e.buf[e.len] = '\0';
        *ret = e.buf;
        *ret_len = e.len;
        return 0;
}

/* The encoder piece by piece, for documents never held as one tree. */
struct UpCjsonWriter {
        Encoder e;
};

int up_cjson_writer_new(UpCjsonWriter **ret) {
        UpCjsonWriter *w = calloc(1, sizeof(UpCjsonWriter));

        if (!w)
                return -ENOMEM;
        *ret = w;
        return 0;
}

UpCjsonWriter *up_cjson_writer_free(UpCjsonWriter *w) {
        if (!w)
                return NULL;
        free(w->e.buf);
        free(w->e.members);
        free(w);
        return NULL;
}

int up_cjson_writer_raw(UpCjsonWriter *w, const char *s, size_t n) {
        return put(&w->e, s, n);
}

int up_cjson_writer_string(UpCjsonWriter *w, const char *s, size_t n) {
        return encode_string(&w->e, s, n);
}

int up_cjson_writer_value(UpCjsonWriter *w, struct json_object *o) {
        return encode_value(&w->e, o, 0);
}

size_t up_cjson_writer_len(const UpCjsonWriter *w) {
        return w->e.len;
}

int up_cjson_writer_finish(UpCjsonWriter *w, char **ret, size_t *ret_len) {
        int r;

        r = reserve(&w->e, 0);
        if (r < 0)
                return r;
        w->e.buf[w->e.len] = '\0';
        *ret = TAKE_PTR(w->e.buf);
        *ret_len = w->e.len;
        w->e.len = w->e.cap = 0;
        return 0;
}
