/* SPDX-License-Identifier: MIT */
#pragma once

/* What every libcurl transfer of libuptane shares (curl_common.c). */

#include <curl/curl.h>

typedef struct UpCurlCommon {
        long connect_timeout_s;  /* > 0 */
        long low_speed_bytes;    /* slow retrieval: slower than this ... */
        long low_speed_time_s;   /* ... for this long aborts */
        const char *ca_file;     /* NULL: system default */
        const char *client_cert; /* mutual TLS; NULL: none */
        const char *client_key;
} UpCurlCommon;

/* http and https only, no redirects, the URL byte for byte, no signals,
 * timeouts, the speed guard, TLS files. -EOPNOTSUPP when libcurl refuses. */
int up_curl_setup_common(CURL *c, const UpCurlCommon *o);

/* The errno for a failed transfer (ETIMEDOUT: too slow or timed out). */
int up_curl_error_to_errno(CURLcode c);

static inline long up_curl_or_default(long v, long def) {
        return v > 0 ? v : def;
}
