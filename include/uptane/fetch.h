/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * How libuptane gets bytes. The updater only sees this interface, so that the
 * same verification code runs over HTTP (libcurl), from memory in tests and
 * fuzzers, or over a vehicle bus on a Secondary.
 *
 * fetch() returns 0 and a malloc()ed buffer, or: -ENOENT (does not exist),
 * -EFBIG (more than max_len bytes: stopped as soon as exceeded),
 * -ETIMEDOUT (too slow / timed out), -EIO and others for transport errors.
 */
typedef struct UpFetcher {
        int (*fetch)(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len);
        void *userdata;
} UpFetcher;

typedef struct UpHttpOptions {
        long connect_timeout_s;  /* 0: 10 s */
        long total_timeout_s;    /* 0: no total limit (the speed guard applies) */
        long low_speed_bytes;    /* abort when slower than this ... (0: 1024 B/s) */
        long low_speed_time_s;   /* ... for this long (0: 10 s) */
        const char *ca_file;     /* NULL: system default */
        const char *client_cert; /* PEM, for mutual TLS; NULL: none */
        const char *client_key;
} UpHttpOptions;

typedef struct UpHttpFetcher UpHttpFetcher;

/* One libcurl handle, reused for keep-alive. Only http and https are allowed,
 * no redirects to other protocols, URLs used exactly as given. */
int up_http_fetcher_new(const UpHttpOptions *opts, UpHttpFetcher **ret);
UpHttpFetcher *up_http_fetcher_free(UpHttpFetcher *f);
/* The UpFetcher for an UpHttpFetcher. */
UpFetcher up_http_fetcher_as_fetcher(UpHttpFetcher *f);
