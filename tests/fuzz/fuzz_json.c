/* SPDX-License-Identifier: MIT */
/*
 * Parses with small limits; on success checks that canonical JSON is a fixed
 * point: canonical(parse(canonical(x))) == canonical(x), and that the tree
 * survives the trip. Also turns any disagreement between our strict scanner
 * and json-c (reported as -ENOMEM) into a crash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "uptane/json.h"
#include "../../src/lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const UpJsonLimits fuzz_limits = { .max_bytes = 64 * 1024, .max_depth = 16, .max_values = 4096 };

static bool has_double(struct json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_double:
                return true;
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (has_double(json_object_array_get_idx(o, i)))
                                return true;
                return false;
        case json_type_object: {
                json_object_object_foreach(o, key, value) {
                        (void) key;
                        if (has_double(value))
                                return true;
                }
                return false;
        }
        default:
                return false;
        }
}

/* Canonical JSON emits control characters raw, which strict JSON input may not
 * hold; escape them (they only occur inside strings) to parse the output again. */
static char *escape_controls(const char *s, size_t len, size_t *ret_len) {
        char *out = malloc(len * 6 + 1), *d = out;

        if (!out)
                abort();
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < 0x20)
                        d += sprintf(d, "\\u%04x", c);
                else
                        *d++ = (char) c;
        }
        *d = '\0';
        *ret_len = (size_t) (d - out);
        return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        UpJsonLimits again_limits = { .max_bytes = SIZE_MAX, .max_depth = 16, .max_values = 4096 };
        _cleanup_json_ struct json_object *o = NULL, *o2 = NULL;
        _cleanup_free_ char *c1 = NULL, *c2 = NULL, *escaped = NULL;
        size_t l1, l2, le;
        int r;

        r = up_json_parse(data, size, &fuzz_limits, &o);
        if (r == -ENOMEM)
                abort(); /* json-c refused what the scanner accepted */
        if (r < 0)
                return 0;

        r = up_cjson_encode(o, &c1, &l1);
        if (r < 0) {
                /* Floats are the only reason a parsed document cannot be encoded. */
                if (r != -EBADMSG || !has_double(o))
                        abort();
                return 0;
        }
        if (c1[l1] != '\0')
                abort();

        escaped = escape_controls(c1, l1, &le);
        r = up_json_parse(escaped, le, &again_limits, &o2);
        if (r < 0)
                abort();
        if (!json_object_equal(o, o2))
                abort();

        r = up_cjson_encode(o2, &c2, &l2);
        if (r < 0)
                abort();
        if (l1 != l2 || memcmp(c1, c2, l1) != 0)
                abort();
        return 0;
}
