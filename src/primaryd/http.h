/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * HTTP for the daemon: one libcurl multi handle driven by the sd-event loop
 * (sd_event_add_io per socket curl asks for, one sd_event timer for curl's
 * timeout), so the loop never blocks on the network.
 *
 * The update cycle runs on a worker thread, where libuptane's verification
 * code is synchronous. The *_blocking() calls are for that thread: each one
 * hands its request to the loop (through an eventfd the loop watches), then
 * waits until the loop has finished the transfer. Only the calling worker
 * thread waits; the loop keeps serving D-Bus, signals and the watchdog.
 * Calling a *_blocking() function on the loop's own thread is a bug and
 * returns -EDEADLK.
 *
 * Every transfer: http and https only, no redirects, the URL used byte for
 * byte, the configured connect timeout, low-speed guard (slow retrieval:
 * -ETIMEDOUT), TLS CA file and client certificate, receive rate limit.
 * Errors are negative errnos as libuptane's fetcher uses them: -ENOENT (404,
 * 403, 410), -EFBIG (more than max_len: stopped as soon as exceeded),
 * -ETIMEDOUT, -ECONNREFUSED, -EIO (other transport errors, other statuses
 * where noted), -ECANCELED (http_cancel_all()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "uptane/fetch.h"

typedef struct HttpOptions {
        long connect_timeout_s;       /* 0: 10 s */
        long low_speed_bytes;         /* abort when slower than this ... (0: 1024 B/s) */
        long low_speed_time_s;        /* ... for this long (0: 30 s) */
        int64_t max_recv_bytes_per_s; /* 0: no limit */
        const char *ca_file;          /* NULL: system default */
        const char *client_cert;      /* PEM, for mutual TLS; NULL: none */
        const char *client_key;
        const char *user_agent;       /* NULL: "uptane-primaryd" */
} HttpOptions;

typedef struct Http Http;

/* Attaches to the loop e (a reference is taken). The strings of o are copied. */
int http_new(sd_event *e, const HttpOptions *o, Http **ret);
/* Loop thread, with no worker waiting (cancel and join workers first). */
Http *http_free(Http *h);

/* Loop thread: ends every transfer in flight and every one asked for later
 * with -ECANCELED, until http_uncancel(). For SIGTERM. */
void http_cancel_all(Http *h);
void http_uncancel(Http *h);

/* GET url, at most max_len bytes of body. 200 only; see above for errors. */
int http_get_blocking(Http *h, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len);

/* The UpFetcher (libuptane's interface) over http_get_blocking(). */
UpFetcher http_as_fetcher(Http *h);

/* A request with a body (method "POST" or "PUT"), content type
 * application/json. bearer_token: "Authorization: Bearer ..." when not NULL
 * (never logged). Any HTTP status is a success of the call: *ret_status gets
 * it, ret_body (may be NULL) at most max_len bytes of the answer. */
int http_send_blocking(Http *h, const char *method, const char *url, const char *bearer_token, const void *body,
                       size_t body_len, size_t max_len, long *ret_status, uint8_t **ret_body, size_t *ret_len);

/*
 * A streamed download for an image. The receiving happens on the loop; the
 * bytes are handed to the calling thread through a bounded queue of buffers
 * (so hashing and writing on the worker overlap with receiving on the loop;
 * a full queue pauses the transfer), and the callbacks below run on the
 * calling thread:
 *
 *  - on_response(status, content_range_start, userdata) once, before any data:
 *    status is the HTTP status (200 or 206), content_range_start the first
 *    byte of a 206's "Content-Range: bytes A-B/N" (-1 when absent or not
 *    parsable). Returning < 0 stops the transfer with that error.
 *  - on_data(buf, len, userdata) for each block. Returning < 0 stops the
 *    transfer with that error.
 *
 * range_from > 0 sends "Range: bytes=range_from-". Statuses other than 200
 * and 206 end with -ENOENT (404, 403, 410) or -EIO before any callback.
 * max_len bounds the body (-EFBIG). Returns 0 when the body ended normally.
 */
typedef struct HttpStreamCallbacks {
        int (*on_response)(long status, int64_t content_range_start, void *userdata);
        int (*on_data)(const void *buf, size_t len, void *userdata);
        void *userdata;
} HttpStreamCallbacks;

int http_download_blocking(Http *h, const char *url, uint64_t range_from, uint64_t max_len,
                           const HttpStreamCallbacks *cb);
