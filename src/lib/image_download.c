/* SPDX-License-Identifier: MIT */
/* Image download: libcurl's easy interface over an UpImageSink (image_sink.c). */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

#include "curl-internal.h"
#include "uptane/download.h"
#include "uptane/error.h"
#include "util.h"

#define CURL_BUFFER (512L * 1024L)
#define MAX_HEADER  256

typedef struct Job {
        CURL *curl;
        UpImageSink *sink;
        const UpImageExpected *expected;
        const UpDownloadOptions *opts;
        uint64_t offset;                /* bytes of the .part when the request was made */
        int64_t range_start;            /* Content-Range start of the answer, -1: none */
        bool body_started;
        int error;                      /* set by a callback that stopped the transfer */
} Job;

static size_t stop(Job *j, int error) {
        j->error = error;
        return CURL_WRITEFUNC_ERROR;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Job *j = userdata;
        size_t n = size * nmemb;
        char line[MAX_HEADER];
        uint64_t start;

        if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                j->range_start = -1; /* a new answer */
                return n;
        }
        if (n >= sizeof(line) || strncasecmp(ptr, "Content-Range:", 14) != 0)
                return n;
        memcpy(line, ptr, n);
        line[n] = 0;
        if (up_http_content_range_start(line + 14, &start) == 0 && start <= INT64_MAX)
                j->range_start = (int64_t) start;
        return n;
}

/* First bytes of the body: append (206 at our offset) or start over (200). */
static int begin_body(Job *j) {
        long status = 0;

        (void) curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &status);
        return up_image_sink_begin(j->sink, status, j->range_start);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Job *j = userdata;
        const UpDownloadOptions *o = j->opts;
        size_t n = size * nmemb;
        int r;

        if (!j->body_started) {
                r = begin_body(j);
                if (r < 0)
                        return stop(j, r);
                j->body_started = true;
        }
        r = up_image_sink_write(j->sink, ptr, n);
        if (r < 0)
                return stop(j, r);
        if (o->progress && o->progress(o->userdata, up_image_sink_offset(j->sink), j->expected->length) != 0)
                return stop(j, -ECANCELED);
        return n;
}

static int setup_curl(Job *j, const char *url, char *range, size_t range_size) {
        const UpDownloadOptions *o = j->opts;
        CURL *c = j->curl;
        const UpCurlCommon common = {
                .connect_timeout_s = up_curl_or_default(o->connect_timeout_s, 10),
                .low_speed_bytes = up_curl_or_default(o->low_speed_bytes, 1024),
                .low_speed_time_s = up_curl_or_default(o->low_speed_time_s, 30),
                .ca_file = o->ca_file,
                .client_cert = o->client_cert,
                .client_key = o->client_key,
        };

        if (up_curl_setup_common(c, &common) < 0 || curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK)
                return -EINVAL;
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, CURL_BUFFER);
        curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) (o->max_recv_bytes_per_s > 0 ? o->max_recv_bytes_per_s : 0));
        /* An announced length above the image's stops before any byte (a 206
         * announces less, so the exact check is the sink's). */
        if (j->expected->length > 0 && j->expected->length <= INT64_MAX)
                curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) j->expected->length);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, j);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
        if (j->offset > 0) {
                snprintf(range, range_size, "%" PRIu64 "-", j->offset);
                curl_easy_setopt(c, CURLOPT_RANGE, range);
        }
        return 0;
}

static int transfer_result(Job *j, CURLcode c) {
        long status = 0;

        if (j->error < 0)
                return j->error;
        (void) curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 404 || status == 403 || status == 410)
                return -ENOENT;
        if (status == 416)
                return -ERANGE; /* the server has fewer bytes than the .part */
        if (c != CURLE_OK)
                return up_curl_error_to_errno(c);
        if (status != 200 && status != 206)
                return -EIO;
        if (!j->body_started)
                return begin_body(j); /* an empty body */
        return 0;
}

static int transfer(Job *j, const char *url) {
        char range[32];
        int r;

        j->curl = curl_easy_init();
        if (!j->curl)
                return -ENOMEM;
        j->range_start = -1;
        j->offset = up_image_sink_offset(j->sink);
        r = setup_curl(j, url, range, sizeof(range));
        if (r < 0)
                return r;
        return transfer_result(j, curl_easy_perform(j->curl));
}

static int run(Job *j, const char *url) {
        int r;

        if (up_image_sink_offset(j->sink) < j->expected->length) {
                r = transfer(j, url);
                if (r < 0)
                        return r;
        }
        r = up_image_sink_commit(j->sink);
        /* The whole answer came and is short: the server has another file. */
        return r == -ERANGE ? -UP_ERR_HASH : r;
}

/* These mean the .part is no prefix of the image, or of the server's file. */
static bool error_discards(int r) {
        return r == -UP_ERR_HASH || r == -UP_ERR_TOO_BIG || r == -ERANGE;
}

int up_image_download(const char *url, const char *dir, const char *name, const UpImageExpected *expected,
                      const UpDownloadOptions *opts) {
        static const UpDownloadOptions defaults = {};
        Job j = { .expected = expected, .opts = opts ? opts : &defaults };
        int r;

        if (!url)
                return -EINVAL;
        r = up_image_sink_open(dir, name, expected, j.opts->space_margin, &j.sink);
        if (r < 0)
                return r;
        r = run(&j, url);
        if (j.curl)
                curl_easy_cleanup(j.curl);
        up_image_sink_close(j.sink, !error_discards(r));
        return r;
}

int up_image_download_json(const char *url, const char *dir, const char *name, uint64_t length,
                           struct json_object *hashes, const UpDownloadOptions *opts) {
        UpImageHash h[_UP_HASH_MAX];
        UpImageExpected e = { .length = length, .hashes = h };
        int r;

        r = up_image_hashes_parse(hashes, h, &e.n_hashes);
        if (r < 0)
                return r;
        return up_image_download(url, dir, name, &e, opts);
}

int up_image_download_target(const char *url, const char *dir, const char *name, const UpDirectorTarget *d,
                             const UpDownloadOptions *opts) {
        UpImageExpected e;

        if (!d || d->length < 0)
                return -EINVAL;
        e = (UpImageExpected) { .length = (uint64_t) d->length, .hashes = d->hashes, .n_hashes = d->n_hashes };
        return up_image_download(url, dir, name, &e, opts);
}
