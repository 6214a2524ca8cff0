/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "json-internal.h"
#include "uptane/json.h"
#include "util.h"

/*
 * json-c 0.16 is lenient even with JSON_TOKENER_STRICT: it takes single-quoted
 * keys, NaN, Infinity, "-01" and "1.", overlong and surrogate UTF-8, clamps
 * integers that overflow, replaces lone surrogate escapes with U+FFFD and
 * truncates object keys at "\u0000" (so two keys can collide). Metadata must
 * mean one thing only, so each document first passes this RFC 8259 scanner,
 * which also counts values and nesting before json-c allocates anything.
 * json-c then only builds the tree of a document known to be valid.
 */

typedef enum ScanState {
        SCAN_VALUE = 1,  /* a value must follow */
        SCAN_KEY,        /* an object key must follow */
        SCAN_NEXT,       /* ',', a closing bracket or the end must follow */
        SCAN_DONE,
} ScanState;

typedef struct Scanner {
        const uint8_t *p, *end;
        size_t n_values, max_values;
        int depth, max_depth, depth_seen;
        char *stack;  /* '{' or '[' for each open container */
} Scanner;

static int peek(const Scanner *s) {
        return s->p < s->end ? *s->p : -1;
}

static void skip_ws(Scanner *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
                s->p++;
}

/* Reads "\uXXXX" at s->p. */
static int scan_u_escape(Scanner *s, unsigned *ret) {
        unsigned u = 0;

        if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u')
                return -EBADMSG;
        for (int i = 2; i < 6; i++) {
                int h = hex_digit_value(s->p[i]);
                if (h < 0)
                        return -EBADMSG;
                u = u << 4 | (unsigned) h;
        }
        s->p += 6;
        *ret = u;
        return 0;
}

static int scan_unicode_escape(Scanner *s, bool is_key) {
        unsigned u, low;
        int r;

        r = scan_u_escape(s, &u);
        if (r < 0)
                return r;
        /* json-c keeps keys as C strings and would cut them short. */
        if (u == 0 && is_key)
                return -EBADMSG;
        /* A lone surrogate is no character; json-c would invent U+FFFD. */
        if (u >= 0xdc00 && u <= 0xdfff)
                return -EBADMSG;
        if (u < 0xd800 || u > 0xdbff)
                return 0;
        r = scan_u_escape(s, &low);
        if (r < 0)
                return r;
        if (low < 0xdc00 || low > 0xdfff)
                return -EBADMSG;
        return 0;
}

static int scan_escape(Scanner *s, bool is_key) {
        if (s->end - s->p < 2)
                return -EBADMSG;
        switch (s->p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                s->p += 2;
                return 0;
        case 'u':
                return scan_unicode_escape(s, is_key);
        default:
                return -EBADMSG;
        }
}

/* Well-formed UTF-8 (Unicode table 3-7): no overlongs, surrogates or code
 * points above U+10FFFF, which json-c's own check lets through. */
static int scan_utf8(Scanner *s) {
        uint8_t c = *s->p, lo = 0x80, hi = 0xbf;
        size_t n;

        if (c >= 0xc2 && c <= 0xdf)
                n = 1;
        else if (c >= 0xe0 && c <= 0xef) {
                n = 2;
                if (c == 0xe0)
                        lo = 0xa0;
                else if (c == 0xed)
                        hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 3;
                if (c == 0xf0)
                        lo = 0x90;
                else if (c == 0xf4)
                        hi = 0x8f;
        } else
                return -EBADMSG;

        if ((size_t) (s->end - s->p) <= n)
                return -EBADMSG;
        if (s->p[1] < lo || s->p[1] > hi)
                return -EBADMSG;
        for (size_t i = 2; i <= n; i++)
                if ((s->p[i] & 0xc0) != 0x80)
                        return -EBADMSG;
        s->p += n + 1;
        return 0;
}

static int scan_string(Scanner *s, bool is_key) {
        int r;

        s->p++; /* the opening quote */
        for (;;) {
                uint8_t c;

                /* Fast path for the common printable ASCII. */
                while (s->p < s->end && *s->p >= 0x20 && *s->p < 0x80 && *s->p != '"' && *s->p != '\\')
                        s->p++;
                if (s->p >= s->end)
                        return -EBADMSG;

                c = *s->p;
                if (c == '"') {
                        s->p++;
                        return 0;
                }
                /* RFC 8259 wants control characters escaped, as does Python's json. */
                if (c < 0x20)
                        return -EBADMSG;
                r = c == '\\' ? scan_escape(s, is_key) : scan_utf8(s);
                if (r < 0)
                        return r;
        }
}

static bool is_digit(int c) {
        return c >= '0' && c <= '9';
}

static int scan_digits(Scanner *s) {
        if (!is_digit(peek(s)))
                return -EBADMSG;
        while (is_digit(peek(s)))
                s->p++;
        return 0;
}

/* Whether the n digits (no leading zero) are at most the decimal limit. */
static bool digits_at_most(const uint8_t *d, size_t n, const char *limit) {
        size_t m = strlen(limit);

        return n < m || (n == m && memcmp(d, limit, m) <= 0);
}

static int scan_number(Scanner *s) {
        const uint8_t *digits;
        bool negative = false, integer = true;
        size_t n_digits;
        int r;

        if (peek(s) == '-') {
                negative = true;
                s->p++;
        }
        digits = s->p;
        if (peek(s) == '0')
                s->p++;
        else {
                r = scan_digits(s);
                if (r < 0)
                        return r;
        }
        n_digits = (size_t) (s->p - digits);

        if (peek(s) == '.') {
                integer = false;
                s->p++;
                r = scan_digits(s);
                if (r < 0)
                        return r;
        }
        if (peek(s) == 'e' || peek(s) == 'E') {
                integer = false;
                s->p++;
                if (peek(s) == '+' || peek(s) == '-')
                        s->p++;
                r = scan_digits(s);
                if (r < 0)
                        return r;
        }

        /* json-c would silently clamp what int64/uint64 cannot hold. */
        if (integer && !digits_at_most(digits, n_digits, negative ? "9223372036854775808" : "18446744073709551615"))
                return -EBADMSG;
        return 0;
}

static int scan_literal(Scanner *s, const char *word) {
        size_t n = strlen(word);

        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return -EBADMSG;
        s->p += n;
        return 0;
}

static int scan_open(Scanner *s, char bracket) {
        if (s->depth >= s->max_depth)
                return -EBADMSG;
        s->stack[s->depth++] = bracket;
        if (s->depth > s->depth_seen)
                s->depth_seen = s->depth;
        s->p++;

        skip_ws(s);
        if (peek(s) == (bracket == '{' ? '}' : ']')) {
                s->depth--;
                s->p++;
                return SCAN_NEXT;
        }
        return bracket == '{' ? SCAN_KEY : SCAN_VALUE;
}

static int scan_value(Scanner *s) {
        int r;

        if (s->n_values >= s->max_values)
                return -EFBIG;
        s->n_values++;

        switch (peek(s)) {
        case '{':
        case '[':
                return scan_open(s, (char) *s->p);
        case '"':
                r = scan_string(s, false);
                break;
        case 't':
                r = scan_literal(s, "true");
                break;
        case 'f':
                r = scan_literal(s, "false");
                break;
        case 'n':
                r = scan_literal(s, "null");
                break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
                r = scan_number(s);
                break;
        default:
                return -EBADMSG;
        }
        return r < 0 ? r : SCAN_NEXT;
}

static int scan_key(Scanner *s) {
        int r;

        if (peek(s) != '"')
                return -EBADMSG;
        r = scan_string(s, true);
        if (r < 0)
                return r;
        skip_ws(s);
        if (peek(s) != ':')
                return -EBADMSG;
        s->p++;
        return SCAN_VALUE;
}

static int scan_next(Scanner *s) {
        char top;

        if (s->depth == 0)
                return s->p == s->end ? SCAN_DONE : -EBADMSG;

        top = s->stack[s->depth - 1];
        if (peek(s) == ',') {
                s->p++;
                return top == '{' ? SCAN_KEY : SCAN_VALUE;
        }
        if (peek(s) == (top == '{' ? '}' : ']')) {
                s->p++;
                s->depth--;
                return SCAN_NEXT;
        }
        return -EBADMSG;
}

static int scan_document(Scanner *s) {
        int state = SCAN_VALUE;

        while (state != SCAN_DONE) {
                skip_ws(s);
                switch (state) {
                case SCAN_VALUE:
                        state = scan_value(s);
                        break;
                case SCAN_KEY:
                        state = scan_key(s);
                        break;
                default:
                        state = scan_next(s);
                        break;
                }
                if (state < 0)
                        return state;
        }
        return 0;
}

static void json_tokener_freep(struct json_tokener **tok) {
        if (*tok)
                json_tokener_free(*tok);
}

/* Builds the tree of a document the scanner accepted, container depth depth. */
static int build_tree(const char *buf, size_t len, int depth, struct json_object **ret) {
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        enum json_tokener_error e;

        /* json-c counts a scalar inside a container as one more level. */
        tok = json_tokener_new_ex(depth + 1);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

        o = json_tokener_parse_ex(tok, buf, (int) len);
        e = json_tokener_get_error(tok);
        if (e == json_tokener_continue) {
                /* A bare top-level number only ends at a terminator. */
                json_object_put(o);
                o = json_tokener_parse_ex(tok, "", 1);
                e = json_tokener_get_error(tok);
        } else if (e == json_tokener_success && json_tokener_get_parse_end(tok) != len)
                e = json_tokener_error_parse_unexpected;

        /* The input is valid JSON, so json-c can only have run out of memory. */
        if (e != json_tokener_success)
                return -ENOMEM;

        *ret = TAKE_PTR(o);
        return 0;
}

int up_json_validate(const void *buf, size_t len, const UpJsonLimits *limits, int *ret_depth) {
        const UpJsonLimits defaults = UP_JSON_LIMITS_DEFAULT;
        _cleanup_free_ char *stack = NULL;
        Scanner s;
        int r;

        if (!limits)
                limits = &defaults;
        if ((!buf && len > 0) || limits->max_depth < 0)
                return -EINVAL;
        /* json-c takes an int length. */
        if (len > limits->max_bytes || len >= INT_MAX)
                return -EFBIG;

        /* Each level needs an opening bracket, so len bounds the stack too. */
        stack = malloc(((size_t) limits->max_depth < len ? (size_t) limits->max_depth : len) + 1);
        if (!stack)
                return -ENOMEM;

        s = (Scanner) {
                .p = buf,
                .end = (const uint8_t *) buf + len,
                .max_values = limits->max_values,
                .max_depth = (size_t) limits->max_depth < len ? limits->max_depth : (int) len,
                .stack = stack,
        };
        r = scan_document(&s);
        if (r < 0)
                return r;
        if (ret_depth)
                *ret_depth = s.depth_seen;
        return 0;
}

int up_json_parse(const void *buf, size_t len, const UpJsonLimits *limits, struct json_object **ret) {
        int depth, r;

        if (!ret)
                return -EINVAL;
        r = up_json_validate(buf, len, limits, &depth);
        if (r < 0)
                return r;
        return build_tree(buf, len, depth, ret);
}

/* The member key of o, which must be of type type. */
static int get_member(struct json_object *o, const char *key, enum json_type type, struct json_object **ret) {
        struct json_object *v;

        if (!key || !ret)
                return -EINVAL;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(o, key, &v))
                return -EBADMSG;
        if (!json_object_is_type(v, type))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int up_json_get_object(struct json_object *o, const char *key, struct json_object **ret) {
        struct json_object *v;
        int r;

        r = get_member(o, key, json_type_object, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int up_json_get_array(struct json_object *o, const char *key, struct json_object **ret) {
        struct json_object *v;
        int r;

        r = get_member(o, key, json_type_array, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int up_json_get_string(struct json_object *o, const char *key, const char **ret) {
        struct json_object *v;
        const char *str;
        int r;

        if (!ret)
                return -EINVAL;
        r = get_member(o, key, json_type_string, &v);
        if (r < 0)
                return r;
        /* A "\u0000" would silently cut the C string short (e.g. a key id). */
        str = json_object_get_string(v);
        if (strlen(str) != (size_t) json_object_get_string_len(v))
                return -EBADMSG;
        *ret = str;
        return 0;
}

int up_json_get_int64(struct json_object *o, const char *key, int64_t *ret) {
        struct json_object *v;
        int r;

        if (!ret)
                return -EINVAL;
        r = get_member(o, key, json_type_int, &v);
        if (r < 0)
                return r;
        /* json-c stores values above INT64_MAX as uint64; int64 reads would clamp them. */
        if (json_object_get_uint64(v) > INT64_MAX)
                return -EBADMSG;
        *ret = json_object_get_int64(v);
        return 0;
}

int up_json_get_bool(struct json_object *o, const char *key, int *ret) {
        struct json_object *v;
        int r;

        if (!ret)
                return -EINVAL;
        r = get_member(o, key, json_type_boolean, &v);
        if (r < 0)
                return r;
        *ret = json_object_get_boolean(v);
        return 0;
}

int up_json_parse_canonical(const char *buf, size_t len, const UpJsonLimits *limits, struct json_object **ret) {
        _cleanup_free_ char *escaped = NULL;
        size_t n_control = 0, j = 0;

        for (size_t i = 0; i < len; i++)
                n_control += (unsigned char) buf[i] < 0x20;
        if (n_control == 0)
                return up_json_parse(buf, len, limits, ret);
        /* Canonical JSON leaves control characters raw (they can only be
         * inside strings there); strict JSON wants them escaped. */
        escaped = malloc(len + 5 * n_control + 1);
        if (!escaped)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) buf[i];

                if (c >= 0x20) {
                        escaped[j++] = (char) c;
                        continue;
                }
                snprintf(escaped + j, 7, "\\u%04x", c);
                j += 6;
        }
        return up_json_parse(escaped, j, limits, ret);
}

/* Builders: v is a new reference (NULL means out of memory) and is dropped
 * when it cannot be added, which json-c leaves to the caller. */
int up_json_add(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int up_json_append(struct json_object *a, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}
