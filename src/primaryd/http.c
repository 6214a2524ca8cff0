/* SPDX-License-Identifier: MIT */
/*
 * libcurl's multi interface on sd-event, with blocking calls for the worker
 * thread (see http.h).
 *
 * Threads: only the loop thread touches libcurl and sd-event. A worker hands
 * a Request (on its own stack) to the loop through Http.pending and the
 * eventfd, then waits on Http.cond until the loop sets Request.done. After
 * done the loop never touches the Request again, so the worker may return.
 * Everything both threads read or write is under Http.lock.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "curl-internal.h"
#include "http.h"

/* This library keeps its own two helpers (src/lib/util.h and the daemon's
 * util.h would shadow each other on the include path). */
#define _cleanup_(f) __attribute__((cleanup(f)))

#define BLOCK_SIZE (256u * 1024u)     /* one buffer of a download's queue */
#define QUEUE_BLOCKS 8u               /* at most ~2 MiB received ahead of the worker */
#define ERROR_BODY_MAX (64u * 1024u)  /* an error page is read up to this (keeps the connection) */

typedef enum RequestKind {
        REQUEST_GET,
        REQUEST_SEND,
        REQUEST_DOWNLOAD,
} RequestKind;

typedef struct Block {
        struct Block *next;
        size_t len, cap;
        uint8_t data[];
} Block;

typedef struct Request {
        struct Request *next; /* in Http.pending or Http.active */
        Http *h;
        RequestKind kind;

        /* What the worker asks for; unchanged while the request lives. */
        const char *url, *method, *bearer_token;
        const void *body;
        size_t body_len;
        uint64_t max_len, range_from;
        bool keep_body;

        /* The loop's alone until done; then the worker's. */
        CURL *easy;
        struct curl_slist *headers;
        uint64_t received;
        bool status_checked, status_ok;
        int error;          /* why the loop stopped the transfer itself */
        uint8_t *buf;       /* get and send: the body, NUL-terminated */
        size_t len, cap;

        /* Under Http.lock. */
        bool done;
        int result;
        long status;
        bool response_ready;         /* download: status and range known, body may follow */
        int64_t content_range_start;
        Block *queue, *queue_tail, *spare;
        unsigned n_blocks;
        bool paused;                 /* the write callback returned CURL_WRITEFUNC_PAUSE */
        bool resume_wanted;          /* the worker made room: curl_easy_pause(CONT) please */
        int abort_error;             /* a callback of the worker failed: stop the transfer */
} Request;

typedef struct Socket {
        struct Socket *next;
        sd_event_source *source;
} Socket;

struct Http {
        sd_event *event;
        pthread_t loop_thread;
        bool curl_global;
        CURLM *multi;
        sd_event_source *timer, *wake_source;
        int wake_fd;
        Socket *sockets;
        HttpOptions opts; /* the strings are ours */

        pthread_mutex_t lock;
        pthread_cond_t cond; /* some request changed: its worker looks again */
        Request *pending;    /* handed over by workers, not started yet */
        Request *active;     /* started by the loop, not done */
        bool cancelled;
};

static void erase_and_freep(char **p) {
        if (*p) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
}

/* The headers may hold a bearer token: no copy of it stays in freed memory. */
static void headers_free(struct curl_slist *l) {
        for (struct curl_slist *i = l; i; i = i->next)
                explicit_bzero(i->data, strlen(i->data));
        curl_slist_free_all(l);
}

static void blocks_free(Block *b) {
        while (b) {
                Block *next = b->next;
                free(b);
                b = next;
        }
}

static void wake(Http *h) {
        uint64_t one = 1;

        /* Only fails when the counter is already huge: the loop wakes anyway. */
        (void) !write(h->wake_fd, &one, sizeof(one));
}

static bool on_loop_thread(Http *h) {
        return pthread_equal(pthread_self(), h->loop_thread);
}

static int status_to_errno(RequestKind kind, long status) {
        if (kind == REQUEST_SEND || status == 200 || (kind == REQUEST_DOWNLOAD && status == 206))
                return 0;
        if (status == 404 || status == 403 || status == 410)
                return -ENOENT;
        return -EIO;
}

/* A 206's "Content-Range: bytes A-B/N": A, or -1. */
static int64_t content_range_start(CURL *c) {
        struct curl_header *hh;
        const char *p;
        char *end;
        unsigned long long a, b;

        if (curl_easy_header(c, "Content-Range", 0, CURLH_HEADER, -1, &hh) != CURLHE_OK)
                return -1;
        p = hh->value;
        if (strncasecmp(p, "bytes", 5) != 0 || p[5] != ' ')
                return -1;
        for (p += 5; *p == ' '; p++)
                ;
        if (!isdigit((unsigned char) *p))
                return -1;
        errno = 0;
        a = strtoull(p, &end, 10);
        if (errno != 0 || a > INT64_MAX || *end != '-' || !isdigit((unsigned char) end[1]))
                return -1;
        b = strtoull(end + 1, &end, 10);
        if (errno != 0 || b < a || *end != '/')
                return -1;
        return (int64_t) a;
}

/* Loop: the download's status and range are known; the worker may report them. */
static void response_seen(Request *req, long status) {
        int64_t start = status == 206 ? content_range_start(req->easy) : -1;

        pthread_mutex_lock(&req->h->lock);
        req->status = status;
        req->content_range_start = start;
        req->response_ready = true;
        pthread_cond_broadcast(&req->h->cond);
        pthread_mutex_unlock(&req->h->lock);
}

static void check_status(Request *req) {
        long status = 0;

        (void) curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        req->status_checked = true;
        req->status_ok = status_to_errno(req->kind, status) == 0;
        if (req->kind == REQUEST_DOWNLOAD && req->status_ok)
                response_seen(req, status);
}

static size_t body_append(Request *req, const char *ptr, size_t n) {
        if (!req->keep_body)
                return n;
        if (req->len + n + 1 > req->cap) {
                size_t cap = req->cap ? req->cap : 16384;
                uint8_t *b;

                while (cap < req->len + n + 1)
                        cap *= 2;
                b = realloc(req->buf, cap);
                if (!b) {
                        req->error = -ENOMEM;
                        return CURL_WRITEFUNC_ERROR;
                }
                req->buf = b;
                req->cap = cap;
        }
        memcpy(req->buf + req->len, ptr, n);
        req->len += n;
        return n;
}

/* Under the lock: a block with room for n bytes (reused when possible). */
static Block *block_get(Request *req, size_t n) {
        Block *b;

        if (n <= BLOCK_SIZE && req->spare) {
                b = req->spare;
                req->spare = b->next;
        } else {
                size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;

                b = malloc(sizeof(Block) + cap);
                if (!b)
                        return NULL;
                b->cap = cap;
        }
        b->next = NULL;
        b->len = 0;
        return b;
}

/* Loop, under the lock: the block to append n bytes to; -EAGAIN: the queue is full. */
static int queue_room(Request *req, size_t n, Block **ret) {
        Block *b = req->queue_tail;

        if (b && b->cap - b->len >= n) {
                *ret = b;
                return 0;
        }
        if (req->n_blocks >= QUEUE_BLOCKS)
                return -EAGAIN;
        b = block_get(req, n);
        if (!b)
                return -ENOMEM;
        if (req->queue_tail)
                req->queue_tail->next = b;
        else
                req->queue = b;
        req->queue_tail = b;
        req->n_blocks++;
        *ret = b;
        return 0;
}

/* Loop: hands bytes to the worker; a full queue pauses the transfer (curl
 * offers the same bytes again after curl_easy_pause(CURLPAUSE_CONT)). */
static size_t queue_write(Request *req, const char *ptr, size_t n) {
        Http *h = req->h;
        Block *b = NULL;
        size_t ret = n;
        int r;

        pthread_mutex_lock(&h->lock);
        r = req->abort_error < 0 ? req->abort_error : queue_room(req, n, &b);
        if (r == -EAGAIN) {
                req->paused = true;
                ret = CURL_WRITEFUNC_PAUSE;
        } else if (r < 0) {
                req->error = r;
                ret = CURL_WRITEFUNC_ERROR;
        } else {
                memcpy(b->data + b->len, ptr, n);
                b->len += n;
                req->received += n;
                pthread_cond_broadcast(&h->cond);
        }
        pthread_mutex_unlock(&h->lock);
        return ret;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
        Request *req = userdata;
        size_t n = size * nmemb;

        if (!req->status_checked)
                check_status(req);
        if (!req->status_ok) {
                /* Read a short error page, so that the connection stays usable. */
                uint64_t limit = req->max_len < ERROR_BODY_MAX ? req->max_len : ERROR_BODY_MAX;

                if (n > limit - req->received)
                        return CURL_WRITEFUNC_ERROR;
                req->received += n;
                return n;
        }
        /* Endless data: stop as soon as the limit is passed. */
        if (n > req->max_len - req->received) {
                req->error = -EFBIG;
                return CURL_WRITEFUNC_ERROR;
        }
        if (req->kind == REQUEST_DOWNLOAD)
                return queue_write(req, ptr, n);
        req->received += n;
        return body_append(req, ptr, n);
}

static int headers_add(Request *req, const char *line) {
        struct curl_slist *l = curl_slist_append(req->headers, line);

        if (!l)
                return -ENOMEM;
        req->headers = l;
        return 0;
}

static int send_setup(Request *req) {
        _cleanup_(erase_and_freep) char *auth = NULL;
        CURL *c = req->easy;
        int r;

        r = headers_add(req, "Content-Type: application/json");
        if (r < 0)
                return r;
        /* No 1 s wait for a "100 Continue" before a large body. */
        r = headers_add(req, "Expect:");
        if (r < 0)
                return r;
        if (req->bearer_token) {
                if (asprintf(&auth, "Authorization: Bearer %s", req->bearer_token) < 0) {
                        auth = NULL;
                        return -ENOMEM;
                }
                r = headers_add(req, auth);
                if (r < 0)
                        return r;
        }
        (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, req->headers);
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
        /* Not NULL: that would make curl read the body from stdin. */
        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        if (curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK)
                return -ENOMEM;
        return 0;
}

static int download_setup(Request *req) {
        char range[32];

        /* Larger reads than the default 16 KiB: ~1.4x the throughput on loopback. */
        (void) curl_easy_setopt(req->easy, CURLOPT_BUFFERSIZE, (long) BLOCK_SIZE);
        if (req->range_from == 0)
                return 0;
        (void) snprintf(range, sizeof(range), "%" PRIu64 "-", req->range_from);
        if (curl_easy_setopt(req->easy, CURLOPT_RANGE, range) != CURLE_OK)
                return -ENOMEM;
        return 0;
}

static int request_setup(Request *req) {
        const HttpOptions *o = &req->h->opts;
        const UpCurlCommon common = {
                .connect_timeout_s = up_curl_or_default(o->connect_timeout_s, 10),
                .low_speed_bytes = up_curl_or_default(o->low_speed_bytes, 1024),
                .low_speed_time_s = up_curl_or_default(o->low_speed_time_s, 30),
                .ca_file = o->ca_file,
                .client_cert = o->client_cert,
                .client_key = o->client_key,
        };
        CURL *c = req->easy;
        int r;

        r = up_curl_setup_common(c, &common);
        if (r < 0)
                return r;
        if (curl_easy_setopt(c, CURLOPT_URL, req->url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "uptane-primaryd") != CURLE_OK)
                return -ENOMEM;
        /* HTTP/1.1 also over TLS: pausing HTTP/2 streams can stall in libcurl
         * 7.88 (curl/curl#10988), and requests one after another gain nothing
         * from multiplexing; every kind of request shares the kept-alive connection. */
        (void) curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
        (void) curl_easy_setopt(c, CURLOPT_PRIVATE, req);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, req);
        /* An announced Content-Length over the limit fails before any byte. */
        if (req->max_len > 0)
                (void) curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                                        (curl_off_t) (req->max_len < INT64_MAX ? req->max_len : INT64_MAX));
        if (o->max_recv_bytes_per_s > 0)
                (void) curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t) o->max_recv_bytes_per_s);
        if (req->kind == REQUEST_SEND)
                return send_setup(req);
        if (req->kind == REQUEST_DOWNLOAD)
                return download_setup(req);
        return 0;
}

/* Loop: the request is over. Wakes its worker; req is not touched after. */
static void request_finish(Request *req, int result) {
        Http *h = req->h;
        long status = 0;

        if (req->easy) {
                (void) curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
                /* Mid-transfer this closes the connection: the server stops sending. */
                (void) curl_multi_remove_handle(h->multi, req->easy);
                curl_easy_cleanup(req->easy);
                req->easy = NULL;
        }
        headers_free(req->headers);
        req->headers = NULL;

        pthread_mutex_lock(&h->lock);
        for (Request **i = &h->active; *i; i = &(*i)->next)
                if (*i == req) {
                        *i = req->next;
                        break;
                }
        req->next = NULL;
        req->status = status;
        req->result = result;
        req->done = true;
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->lock);
}

static int request_start(Request *req) {
        int r;

        req->easy = curl_easy_init();
        if (!req->easy)
                return -ENOMEM;
        r = request_setup(req);
        if (r < 0)
                return r;
        if (curl_multi_add_handle(req->h->multi, req->easy) != CURLM_OK) {
                curl_easy_cleanup(req->easy);
                req->easy = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int request_result(Request *req, CURLcode code) {
        long status = 0;
        int abort_error;

        pthread_mutex_lock(&req->h->lock);
        abort_error = req->abort_error;
        pthread_mutex_unlock(&req->h->lock);
        if (abort_error < 0)
                return abort_error;
        (void) curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        /* A 404 with a large page is still a 404. */
        if (status != 0 && status_to_errno(req->kind, status) < 0)
                return status_to_errno(req->kind, status);
        if (req->error < 0)
                return req->error;
        if (code != CURLE_OK)
                return up_curl_error_to_errno(code);
        if (status == 0)
                return -EIO;
        if (req->kind == REQUEST_DOWNLOAD && !req->status_checked)
                response_seen(req, status); /* an empty body */
        return 0;
}

static void process_done(Http *h) {
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(h->multi, &left))) {
                Request *req = NULL;
                CURLcode code;

                if (m->msg != CURLMSG_DONE)
                        continue;
                code = m->data.result;
                (void) curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &req);
                request_finish(req, request_result(req, code));
        }
}

static void socket_action(Http *h, curl_socket_t fd, int ev_bitmask) {
        int running;

        (void) curl_multi_socket_action(h->multi, fd, ev_bitmask, &running);
        process_done(h);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        int action = 0;

        (void) s;
        if (revents & (EPOLLIN | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;
        socket_action(userdata, fd, action);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        socket_action(userdata, CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

static void socket_free(Http *h, Socket *sock) {
        for (Socket **i = &h->sockets; *i; i = &(*i)->next)
                if (*i == sock) {
                        *i = sock->next;
                        break;
                }
        sd_event_source_disable_unref(sock->source);
        free(sock);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl waits for. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        Http *h = userp;
        Socket *sock = socketp;
        uint32_t events = 0;

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                if (sock)
                        socket_free(h, sock);
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (sock)
                return sd_event_source_set_io_events(sock->source, events) < 0 ? -1 : 0;

        sock = calloc(1, sizeof(Socket));
        if (!sock)
                return -1;
        if (sd_event_add_io(h->event, &sock->source, fd, events, on_io, h) < 0) {
                free(sock);
                return -1;
        }
        sock->next = h->sockets;
        h->sockets = sock;
        (void) curl_multi_assign(h->multi, fd, sock);
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for all of curl's timeouts. */
static int on_timer_change(CURLM *multi, long timeout_ms, void *userp) {
        Http *h = userp;

        (void) multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(h->timer, (uint64_t) timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static void request_begin(Http *h, Request *req, bool cancelled) {
        int r;

        pthread_mutex_lock(&h->lock);
        req->next = h->active;
        h->active = req;
        pthread_mutex_unlock(&h->lock);

        r = cancelled ? -ECANCELED : request_start(req);
        if (r < 0)
                request_finish(req, r);
}

/* Loop: what the worker of a running transfer asked for. */
static void request_poke(Request *req) {
        Http *h = req->h;
        int abort_error;
        bool resume;

        pthread_mutex_lock(&h->lock);
        abort_error = req->abort_error;
        resume = req->resume_wanted;
        req->resume_wanted = false;
        pthread_mutex_unlock(&h->lock);

        if (abort_error < 0)
                request_finish(req, abort_error);
        else if (resume)
                (void) curl_easy_pause(req->easy, CURLPAUSE_CONT);
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Http *h = userdata;
        Request *new, *next;
        uint64_t n;
        bool cancelled;

        (void) s;
        (void) revents;
        (void) !read(fd, &n, sizeof(n));

        pthread_mutex_lock(&h->lock);
        new = h->pending;
        h->pending = NULL;
        cancelled = h->cancelled;
        pthread_mutex_unlock(&h->lock);

        for (; new; new = next) {
                next = new->next;
                request_begin(h, new, cancelled);
        }
        /* Only this thread changes the active list. */
        for (Request *req = h->active; req; req = next) {
                next = req->next;
                request_poke(req);
        }
        return 0;
}

static char *strdup_or_null(const char *s, bool *oom) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

static int options_copy(HttpOptions *dst, const HttpOptions *o) {
        bool oom = false;

        *dst = *o;
        dst->ca_file = strdup_or_null(o->ca_file, &oom);
        dst->client_cert = strdup_or_null(o->client_cert, &oom);
        dst->client_key = strdup_or_null(o->client_key, &oom);
        dst->user_agent = strdup_or_null(o->user_agent, &oom);
        return oom ? -ENOMEM : 0;
}

static void options_done(HttpOptions *o) {
        free((char *) o->ca_file);
        free((char *) o->client_cert);
        free((char *) o->client_key);
        free((char *) o->user_agent);
}

static void http_freep(Http **h) {
        http_free(*h);
}

static int multi_setup(Http *h) {
        h->multi = curl_multi_init();
        if (!h->multi)
                return -ENOMEM;
        if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer_change) != CURLM_OK ||
            curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
                return -EOPNOTSUPP;
        return 0;
}

static int event_setup(Http *h) {
        int r;

        h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (h->wake_fd < 0)
                return -errno;
        r = sd_event_add_io(h->event, &h->wake_source, h->wake_fd, EPOLLIN, on_wake, h);
        if (r < 0)
                return r;
        /* Accuracy 1 µs, not the default 250 ms: curl's timeouts are short. */
        r = sd_event_add_time(h->event, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, h);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
}

int http_new(sd_event *e, const HttpOptions *o, Http **ret) {
        _cleanup_(http_freep) Http *h = NULL;
        int r;

        if (!e || !ret)
                return -EINVAL;
        h = calloc(1, sizeof(Http));
        if (!h)
                return -ENOMEM;
        h->wake_fd = -1;
        h->lock = (pthread_mutex_t) PTHREAD_MUTEX_INITIALIZER;
        h->cond = (pthread_cond_t) PTHREAD_COND_INITIALIZER;
        h->event = sd_event_ref(e);
        h->loop_thread = pthread_self();
        r = options_copy(&h->opts, o ? o : &(HttpOptions) {});
        if (r < 0)
                return r;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        h->curl_global = true;
        r = event_setup(h);
        if (r < 0)
                return r;
        r = multi_setup(h);
        if (r < 0)
                return r;
        *ret = h;
        h = NULL;
        return 0;
}

Http *http_free(Http *h) {
        if (!h)
                return NULL;
        /* Nobody waits (the caller's promise); answer any straggler anyway. */
        http_cancel_all(h);
        /* Closing the pooled connections may still call on_socket(). */
        if (h->multi)
                curl_multi_cleanup(h->multi);
        while (h->sockets)
                socket_free(h, h->sockets);
        sd_event_source_disable_unref(h->timer);
        sd_event_source_disable_unref(h->wake_source);
        if (h->wake_fd >= 0)
                (void) close(h->wake_fd);
        sd_event_unref(h->event);
        options_done(&h->opts);
        if (h->curl_global)
                curl_global_cleanup();
        pthread_cond_destroy(&h->cond);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
}

void http_cancel_all(Http *h) {
        Request *req, *next;

        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        h->cancelled = true;
        req = h->pending;
        h->pending = NULL;
        pthread_mutex_unlock(&h->lock);

        for (; req; req = next) {
                next = req->next;
                request_begin(h, req, /* cancelled= */ true);
        }
        while (h->active)
                request_finish(h->active, -ECANCELED);
}

void http_uncancel(Http *h) {
        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        h->cancelled = false;
        pthread_mutex_unlock(&h->lock);
}

/* Worker: hands req to the loop. */
static int request_submit(Http *h, Request *req) {
        Request **i;

        req->h = h;
        req->content_range_start = -1;
        pthread_mutex_lock(&h->lock);
        if (h->cancelled) {
                pthread_mutex_unlock(&h->lock);
                return -ECANCELED;
        }
        for (i = &h->pending; *i; i = &(*i)->next)
                ;
        *i = req;
        pthread_mutex_unlock(&h->lock);
        wake(h);
        return 0;
}

/* Worker: get and send, the whole body in memory. */
static int request_run(Http *h, Request *req) {
        int r;

        r = request_submit(h, req);
        if (r < 0)
                return r;
        pthread_mutex_lock(&h->lock);
        while (!req->done)
                pthread_cond_wait(&h->cond, &h->lock);
        r = req->result;
        pthread_mutex_unlock(&h->lock);
        if (r < 0) {
                free(req->buf);
                req->buf = NULL;
        }
        return r;
}

static int body_take(Request *req, uint8_t **ret, size_t *ret_len) {
        if (!req->buf) {
                req->buf = malloc(1);
                if (!req->buf)
                        return -ENOMEM;
        }
        req->buf[req->len] = 0;
        *ret = req->buf;
        if (ret_len)
                *ret_len = req->len;
        req->buf = NULL;
        return 0;
}

int http_get_blocking(Http *h, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        Request req = { .kind = REQUEST_GET, .url = url, .max_len = max_len, .keep_body = true };
        int r;

        if (!h || !url || !ret || !ret_len)
                return -EINVAL;
        if (on_loop_thread(h))
                return -EDEADLK;
        r = request_run(h, &req);
        if (r < 0)
                return r;
        return body_take(&req, ret, ret_len);
}

static int fetcher_fetch(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        return http_get_blocking(userdata, url, max_len, ret, ret_len);
}

UpFetcher http_as_fetcher(Http *h) {
        return (UpFetcher) { .fetch = fetcher_fetch, .userdata = h };
}

/* No header injection: no CR, LF or other control characters in a token. */
static bool token_valid(const char *t) {
        for (; *t; t++)
                if ((unsigned char) *t < 0x20 || *t == 0x7f)
                        return false;
        return true;
}

int http_send_blocking(Http *h, const char *method, const char *url, const char *bearer_token, const void *body,
                       size_t body_len, size_t max_len, long *ret_status, uint8_t **ret_body, size_t *ret_len) {
        Request req = {
                .kind = REQUEST_SEND,
                .method = method,
                .url = url,
                .bearer_token = bearer_token,
                .body = body,
                .body_len = body_len,
                .max_len = max_len,
                .keep_body = ret_body != NULL,
        };
        int r;

        if (!h || !method || !url || !ret_status || (!body && body_len > 0) || (ret_body && !ret_len))
                return -EINVAL;
        if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
                return -EINVAL;
        if (bearer_token && !token_valid(bearer_token))
                return -EINVAL;
        if (on_loop_thread(h))
                return -EDEADLK;
        r = request_run(h, &req);
        if (r < 0)
                return r;
        if (ret_body) {
                r = body_take(&req, ret_body, ret_len);
                if (r < 0)
                        return r;
        }
        *ret_status = req.status;
        return 0;
}

/* Worker: a callback failed. The loop ends the transfer; wait until it has. */
static void download_abort(Http *h, Request *req, int error) {
        if (!req->done && req->abort_error == 0) {
                req->abort_error = error;
                pthread_mutex_unlock(&h->lock);
                wake(h);
                pthread_mutex_lock(&h->lock);
        }
        while (!req->done)
                pthread_cond_wait(&h->cond, &h->lock);
}

/* Worker, under the lock: the next block, and room for the loop. */
static Block *queue_pop(Http *h, Request *req) {
        Block *b = req->queue;

        req->queue = b->next;
        if (!req->queue)
                req->queue_tail = NULL;
        req->n_blocks--;
        b->next = NULL;
        /* Half empty: let the loop receive again. */
        if (req->paused && req->n_blocks <= QUEUE_BLOCKS / 2) {
                req->paused = false;
                req->resume_wanted = true;
                wake(h);
        }
        return b;
}

/* Worker, under the lock: a block delivered goes back for reuse. */
static void block_put(Request *req, Block *b) {
        if (b->cap != BLOCK_SIZE) {
                free(b);
                return;
        }
        b->next = req->spare;
        req->spare = b;
}

/* Worker, under the lock: runs the callbacks until the transfer is over. */
static int download_pump(Http *h, Request *req, const HttpStreamCallbacks *cb) {
        bool responded = false;
        int r;

        for (;;) {
                while (!req->done && !req->queue && (responded || !req->response_ready))
                        pthread_cond_wait(&h->cond, &h->lock);
                if (req->done && req->result < 0)
                        return req->result;
                if (!responded && req->response_ready) {
                        long status = req->status;
                        int64_t start = req->content_range_start;

                        responded = true;
                        pthread_mutex_unlock(&h->lock);
                        r = cb->on_response ? cb->on_response(status, start, cb->userdata) : 0;
                        pthread_mutex_lock(&h->lock);
                } else if (req->queue) {
                        Block *b = queue_pop(h, req);

                        pthread_mutex_unlock(&h->lock);
                        r = cb->on_data ? cb->on_data(b->data, b->len, cb->userdata) : 0;
                        pthread_mutex_lock(&h->lock);
                        block_put(req, b);
                } else
                        return 0; /* done, everything delivered */
                if (r < 0) {
                        download_abort(h, req, r);
                        return r;
                }
        }
}

int http_download_blocking(Http *h, const char *url, uint64_t range_from, uint64_t max_len,
                           const HttpStreamCallbacks *cb) {
        Request req = {
                .kind = REQUEST_DOWNLOAD,
                .url = url,
                .range_from = range_from,
                .max_len = max_len,
        };
        int r;

        if (!h || !url || !cb)
                return -EINVAL;
        if (on_loop_thread(h))
                return -EDEADLK;
        r = request_submit(h, &req);
        if (r < 0)
                return r;
        pthread_mutex_lock(&h->lock);
        r = download_pump(h, &req, cb);
        /* The loop is done with req: what it left is ours to free. */
        blocks_free(req.queue);
        blocks_free(req.spare);
        pthread_mutex_unlock(&h->lock);
        return r;
}
