/* SPDX-License-Identifier: MIT */
/* UpFetcher over HTTP(S) with libcurl: hard size limits and a speed guard. */
#include <curl/curl.h>
#include <stdbool.h>

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

static long or_default(long v, long def) {
        return v > 0 ? v : def;
}

static int setup(UpHttpFetcher *f) {
        const UpHttpOptions *o = &f->opts;
        CURL *c = f->curl;

        if (curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK)
                return -EOPNOTSUPP;
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        /* The URL is used byte for byte: "%2F" in a role name stays encoded. */
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, or_default(o->connect_timeout_s, 10));
        curl_easy_setopt(c, CURLOPT_TIMEOUT, o->total_timeout_s > 0 ? o->total_timeout_s : 0L);
        /* Slow retrieval: give up on a transfer slower than this for that long. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, or_default(o->low_speed_bytes, 1024));
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, or_default(o->low_speed_time_s, 10));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "libuptane/" "0.1");
        if (o->ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
        if (o->client_cert)
                curl_easy_setopt(c, CURLOPT_SSLCERT, o->client_cert);
        if (o->client_key)
                curl_easy_setopt(c, CURLOPT_SSLKEY, o->client_key);
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

static int curl_error_to_errno(CURLcode c) {
        switch (c) {
        case CURLE_OPERATION_TIMEDOUT:  return -ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
        case CURLE_COULDNT_CONNECT:     return -ECONNREFUSED;
        case CURLE_FILESIZE_EXCEEDED:   return -EFBIG;
        case CURLE_OUT_OF_MEMORY:       return -ENOMEM;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:       return -EINVAL;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:   return -EPROTO;
        default:                        return -EIO;
        }
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
                r = curl_error_to_errno(c);
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
