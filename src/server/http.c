/* SPDX-License-Identifier: MIT */
/* libmicrohttpd glue: request bodies with a hard size limit, replies. */
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "server.h"

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

typedef struct Upload {
        char *buf;
        size_t len, cap, max;
        bool too_big;
} Upload;

static void upload_free(Upload *u) {
        if (!u)
                return;
        free(u->buf);
        free(u);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        (void) cls;
        (void) c;
        (void) toe;
        upload_free(*con_cls);
        *con_cls = NULL;
}

/* Keeps the body, or notes that it passed max. */
static void upload_append(Upload *u, const char *data, size_t n, size_t max) {
        if (u->too_big || n > max - u->len) {
                u->too_big = true;
                return;
        }
        if (u->len + n + 1 > u->cap) {
                size_t cap = u->cap ? u->cap : 4096;
                char *b;

                while (cap < u->len + n + 1)
                        cap *= 2;
                b = realloc(u->buf, cap);
                if (!b) {
                        u->too_big = true;
                        return;
                }
                u->buf = b;
                u->cap = cap;
        }
        memcpy(u->buf + u->len, data, n);
        u->len += n;
        u->buf[u->len] = '\0';
}

/* The slow-retrieval attack: rate bytes a second, from a pool thread. */
typedef struct Trickle {
        int fd;
        unsigned rate;
} Trickle;

static ssize_t trickle_read(void *cls, uint64_t pos, char *buf, size_t max) {
        Trickle *t = cls;
        ssize_t n;

        sleep(1);
        n = pread(t->fd, buf, max < t->rate ? max : t->rate, (off_t) pos);
        if (n < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void trickle_free(void *cls) {
        Trickle *t = cls;

        close(t->fd);
        free(t);
}

static struct MHD_Response *trickle_response(Reply *reply) {
        Trickle *t = malloc(sizeof(Trickle));
        struct MHD_Response *resp;

        if (!t)
                return NULL;
        *t = (Trickle) { .fd = reply->fd, .rate = reply->slow_rate };
        resp = MHD_create_response_from_callback(reply->fd_size, reply->slow_rate, trickle_read, t, trickle_free);
        if (!resp)
                free(t);
        else
                reply->fd = -1; /* trickle_free closes it */
        return resp;
}

/* "bytes=N-" (what a resuming client sends): N, or -1 for anything else,
 * which is answered with the whole file. */
static int64_t range_start(struct MHD_Connection *c) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
        char *end;
        unsigned long long n;

        if (!v || strncmp(v, "bytes=", 6) != 0 || v[6] < '0' || v[6] > '9')
                return -1;
        errno = 0;
        n = strtoull(v + 6, &end, 10);
        if (errno || strcmp(end, "-") != 0 || n > INT64_MAX)
                return -1;
        return (int64_t) n;
}

/* A file from a byte on: 206 with Content-Range, or 416 past its end. */
static struct MHD_Response *range_response(Reply *reply, int64_t from, char *content_range, size_t size) {
        struct MHD_Response *resp;

        if ((uint64_t) from >= reply->fd_size) {
                snprintf(content_range, size, "bytes */%" PRIu64, reply->fd_size);
                reply->status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
                return MHD_create_response_from_buffer(0, (char *) "", MHD_RESPMEM_PERSISTENT);
        }
        snprintf(content_range, size, "bytes %" PRId64 "-%" PRIu64 "/%" PRIu64, from, reply->fd_size - 1,
                 reply->fd_size);
        resp = MHD_create_response_from_fd_at_offset64(reply->fd_size - (uint64_t) from, reply->fd, (uint64_t) from);
        if (resp) {
                reply->fd = -1; /* MHD closes it */
                reply->status = MHD_HTTP_PARTIAL_CONTENT;
        }
        return resp;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, Reply *reply) {
        struct MHD_Response *resp;
        enum MHD_Result ret;
        char content_range[96] = "";
        int64_t from;

        if (reply->fd >= 0 && reply->slow_rate > 0)
                resp = trickle_response(reply);
        else if (reply->fd >= 0 && reply->status == 200 && (from = range_start(c)) >= 0)
                resp = range_response(reply, from, content_range, sizeof(content_range));
        else if (reply->fd >= 0) {
                resp = MHD_create_response_from_fd64(reply->fd_size, reply->fd);
                reply->fd = -1; /* MHD closes it */
        } else
                resp = MHD_create_response_from_buffer(reply->body_len, reply->body ? reply->body : (char *) "",
                                                       MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        if (reply->content_type)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
        if (content_range[0])
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, content_range);
        ret = MHD_queue_response(c, reply->status ? reply->status : 500, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result refuse_now(struct MHD_Connection *c, unsigned status, const char *why) {
        Reply reply = { .fd = -1 };
        enum MHD_Result ret;

        (void) reply_error(&reply, status, "%s", why);
        ret = send_reply(c, &reply);
        reply_done(&reply);
        return ret;
}

/* Before any body byte is read: is the request admitted, with how much body? */
static enum MHD_Result on_first_call(Server *s, struct MHD_Connection *c, const char *url, const char *method,
                                     void **con_cls) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        size_t max = 0;
        unsigned status;
        Upload *u;

        status = server_admit(s, method, url, auth, &max);
        if (status == 401)
                return refuse_now(c, 401, "provisioning token required");
        if (status == 404 || status == 405)
                return refuse_now(c, status, status == 404 ? "not found" : "method not allowed here");
        if (length && strtoull(length, NULL, 10) > max)
                return refuse_now(c, 413, "request body too large");
        u = calloc(1, sizeof(Upload));
        if (!u)
                return MHD_NO;
        u->max = max;
        *con_cls = u;
        return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        Server *s = cls;
        Upload *u = *con_cls;
        Reply reply = { .fd = -1 };
        Request req;
        enum MHD_Result ret;

        (void) version;
        if (!u)
                return on_first_call(s, c, url, method, con_cls);
        if (*upload_data_size > 0) {
                upload_append(u, upload_data, *upload_data_size, u->max);
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (u->too_big)
                (void) reply_error(&reply, 413, "request body larger than %zu bytes", u->max);
        else {
                req = (Request) {
                        .method = method,
                        .url = url,
                        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                        .body = u->buf ? u->buf : "",
                        .body_len = u->len,
                        .peer = "a client", /* addresses identify vehicles: not logged */
                };
                if (server_handle(s, &req, &reply) < 0 && reply.status == 0)
                        (void) reply_error(&reply, 500, "internal error");
        }
        ret = send_reply(c, &reply);
        reply_done(&reply);
        return ret;
}

/* Percent-decoding of URLs, except "%00": a NUL would cut the path short
 * ("root.json%00.x" would serve root.json). Left as it is, it names no file. */
static size_t unescape_url(void *cls, struct MHD_Connection *c, char *uri) {
        char *in = uri, *out = uri;

        (void) cls;
        (void) c;
        while (*in) {
                int hi = in[0] == '%' ? hex_value(in[1]) : -1, lo = hi >= 0 ? hex_value(in[2]) : -1;

                if (lo >= 0 && (hi | lo) != 0) {
                        *out++ = (char) (hi << 4 | lo);
                        in += 3;
                } else
                        *out++ = *in++;
        }
        *out = '\0';
        return (size_t) (out - uri);
}

int http_start(Server *s, const struct sockaddr *addr, struct MHD_Daemon **ret) {
        struct MHD_Daemon *d;

        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                             on_request, s,
                             MHD_OPTION_SOCK_ADDR, addr,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) s->cfg.threads,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 1024,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 30,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 64 * 1024,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                             MHD_OPTION_UNESCAPE_CALLBACK, unescape_url, NULL,
                             MHD_OPTION_END);
        if (!d)
                return -EADDRNOTAVAIL;
        *ret = d;
        return 0;
}
