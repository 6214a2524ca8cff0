/* SPDX-License-Identifier: MIT */
/* UpFetcher over HTTP(S) with libcurl: hard size limits and a speed guard. */
#include <curl/curl.h>
#include <stdbool.h>

#include "curl-internal.h"
#include "uptane/fetch.h"
#include "util.h"

struct UpHttpFetcher {
        CURL *curl;
        UpHttpOptions opts;
};

typedef struct Download {
        uint8_t *buf;
        size_t len, cap, max_len;
        bool too_big;
} Download;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Download *d = userdata;
        size_t n = size * nmemb;

        /* Endless data: stop the transfer as soon as the limit is passed. */
        if (n > d->max_len - d->len) {
                d->too_big = true;
                return CURL_WRITEFUNC_ERROR;
        }
        if (d->len + n + 1 > d->cap) {
                size_t cap = d->cap ? d->cap : 16384;
                uint8_t *b;

                while (cap < d->len + n + 1)
                        cap *= 2;
                b = realloc(d->buf, cap);
                if (!b)
                        return CURL_WRITEFUNC_ERROR;
                d->buf = b;
                d->cap = cap;
        }
        memcpy(d->buf + d->len, ptr, n);
        d->len += n;
        return n;
}

static int setup(UpHttpFetcher *f) {
        const UpHttpOptions *o = &f->opts;
        const UpCurlCommon common = {
                .connect_timeout_s = up_curl_or_default(o->connect_timeout_s, 10),
                .low_speed_bytes = up_curl_or_default(o->low_speed_bytes, 1024),
                .low_speed_time_s = up_curl_or_default(o->low_speed_time_s, 10),
                .ca_file = o->ca_file,
                .client_cert = o->client_cert,
                .client_key = o->client_key,
        };
        int r;

        r = up_curl_setup_common(f->curl, &common);
        if (r < 0)
                return r;
        curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, o->total_timeout_s > 0 ? o->total_timeout_s : 0L);
        curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, on_data);
        return 0;
}

int up_http_fetcher_new(const UpHttpOptions *opts, UpHttpFetcher **ret) {
        UpHttpFetcher *f;
        int r;

        f = calloc(1, sizeof(UpHttpFetcher));
        if (!f)
                return -ENOMEM;
        if (opts)
                f->opts = *opts;
        f->curl = curl_easy_init();
        if (!f->curl) {
                free(f);
                return -ENOMEM;
        }
        r = setup(f);
        if (r < 0) {
                up_http_fetcher_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

UpHttpFetcher *up_http_fetcher_free(UpHttpFetcher *f) {
        if (!f)
                return NULL;
        curl_easy_cleanup(f->curl);
        free(f);
        return NULL;
}

static int http_status_to_errno(long status) {
        if (status == 200)
                return 0;
        if (status == 404 || status == 403 || status == 410)
                return -ENOENT;
        return -EIO;
}

static int http_fetch(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        UpHttpFetcher *f = userdata;
        Download d = { .max_len = max_len };
        CURLcode c;
        long status = 0;
        int r;

        curl_easy_setopt(f->curl, CURLOPT_URL, url);
        curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &d);
        curl_easy_setopt(f->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) (max_len < INT64_MAX ? max_len : INT64_MAX));
        c = curl_easy_perform(f->curl);
        curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 0 && status != 200)
                r = http_status_to_errno(status); /* a large 404 page is still a 404 */
        else if (d.too_big)
                r = -EFBIG;
        else if (c != CURLE_OK)
                r = up_curl_error_to_errno(c);
        else
                r = http_status_to_errno(status);
        if (r < 0) {
                free(d.buf);
                return r;
        }
        if (!d.buf) {
                d.buf = malloc(1);
                if (!d.buf)
                        return -ENOMEM;
        }
        d.buf[d.len] = 0;
        *ret = d.buf;
        *ret_len = d.len;
        return 0;
}

UpFetcher up_http_fetcher_as_fetcher(UpHttpFetcher *f) {
        return (UpFetcher) { .fetch = http_fetch, .userdata = f };
}
