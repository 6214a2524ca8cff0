/* SPDX-License-Identifier: MIT */
/*
 * The Content-Range parser a resumed image download trusts to know where
 * the server's bytes start (up_http_content_range_start). Crashes on an
 * errno other than -EBADMSG, and on an accepted value that does not read back
 * as the first number of the input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uptane/download.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *value = malloc(size + 1), digits[32];
        uint64_t start = UINT64_MAX;
        int r;

        if (!value)
                abort();
        memcpy(value, data, size);
        value[size] = '\0';
        r = up_http_content_range_start(value, &start);
        if (r < 0) {
                if (r != -EBADMSG || start != UINT64_MAX) /* out-parameter written only on success */
                        abort();
        } else {
                snprintf(digits, sizeof(digits), "%" PRIu64 "-", start);
                if (!strstr(value, digits))
                        abort();
        }
        free(value);
        return 0;
}
