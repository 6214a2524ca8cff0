/* SPDX-License-Identifier: MIT */
/*
 * http.c against a small HTTP/1.1 server on 127.0.0.1 (keep-alive, canned
 * answers, generated bodies, misbehaviour on purpose). The sd-event loop runs
 * on the test's main thread; the blocking calls run on a worker thread, whose
 * results the main thread checks afterwards.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define REQ_MAX 8192
#define BODY_MAX (8u * 1024u * 1024u)
#define MAX_CONNS 64
#define MiB (1024u * 1024u)

/* ---- The server: one thread per connection, several requests each. ---- */

typedef struct ServerRequest {
        char method[16], path[256];
        char auth[256], content_type[128], range[64], user_agent[128];
        size_t content_length;
        char *body;
} ServerRequest;

static struct {
        int listen_fd, port;
        pthread_t acceptor;
        pthread_mutex_t lock;
        pthread_t conns[MAX_CONNS];
        unsigned n_conns, accepts;
        ServerRequest last; /* the newest request, body included */
        uint64_t sent;      /* /endless, /gen: bytes sent before the client went away */
        bool closed;        /* ... and that it went away */
} srv = { .listen_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static int send_all(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                if (n <= 0)
                        return -1;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int send_str(int fd, const char *s) {
        return send_all(fd, s, strlen(s));
}

/* The generated data: not periodic, so reordered blocks are noticed. */
static uint8_t gen_byte(uint64_t i) {
        uint64_t z = (i >> 3) + 0x9e3779b97f4a7c15ULL;

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        return (uint8_t) (z >> ((i & 7) * 8));
}

static void copy_header(const char *line, const char *name, char *out, size_t size) {
        size_t n = strlen(name);

        if (strncasecmp(line, name, n) == 0 && line[n] == ':')
                snprintf(out, size, "%s", line + n + 1 + strspn(line + n + 1, " "));
}

static void parse_headers(char *head, ServerRequest *r) {
        char *save = NULL;

        for (char *l = strtok_r(head, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
                char length[32] = "";

                copy_header(l, "Authorization", r->auth, sizeof(r->auth));
                copy_header(l, "Content-Type", r->content_type, sizeof(r->content_type));
                copy_header(l, "Range", r->range, sizeof(r->range));
                copy_header(l, "User-Agent", r->user_agent, sizeof(r->user_agent));
                copy_header(l, "Content-Length", length, sizeof(length));
                if (length[0])
                        r->content_length = strtoul(length, NULL, 10);
        }
}

static int recv_some(int fd, char *buf, size_t *have, size_t cap) {
        ssize_t n = recv(fd, buf + *have, cap - *have, 0);

        if (n <= 0)
                return -1;
        *have += (size_t) n;
        return 0;
}

/* One request from buf (have bytes already read); what follows stays in buf. */
static int read_request(int fd, char *buf, size_t *have, ServerRequest *r) {
        char *end;
        size_t head_len, got;

        *r = (ServerRequest) {};
        for (;;) {
                buf[*have] = 0;
                end = strstr(buf, "\r\n\r\n");
                if (end)
                        break;
                if (*have >= REQ_MAX - 1 || recv_some(fd, buf, have, REQ_MAX - 1) < 0)
                        return -1;
        }
        head_len = (size_t) (end + 4 - buf);
        *end = 0;
        if (sscanf(buf, "%15s %255s", r->method, r->path) != 2)
                return -1;
        parse_headers(buf, r);
        if (r->content_length > BODY_MAX)
                return -1;
        r->body = calloc(1, r->content_length + 1);
        if (!r->body)
                return -1;
        got = *have - head_len < r->content_length ? *have - head_len : r->content_length;
        memcpy(r->body, buf + head_len, got);
        memmove(buf, buf + head_len + got, *have - head_len - got);
        *have -= head_len + got;
        while (got < r->content_length) {
                ssize_t n = recv(fd, r->body + got, r->content_length - got, 0);
                if (n <= 0) {
                        free(r->body);
                        r->body = NULL;
                        return -1;
                }
                got += (size_t) n;
        }
        return 0;
}

static void note_gone(uint64_t sent) {
        pthread_mutex_lock(&srv.lock);
        srv.sent = sent;
        srv.closed = true;
        pthread_mutex_unlock(&srv.lock);
}

/* No length announced, data until the client gives up. */
static int serve_endless(int fd) {
        static const char chunk[16384] = { 'x' };
        uint64_t sent = 0;

        if (send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n") < 0)
                return -1;
        while (send_all(fd, chunk, sizeof(chunk)) == 0)
                sent += sizeof(chunk);
        note_gone(sent);
        return -1;
}

/* A trickle: 10 bytes every 100 ms. */
static int serve_slow(int fd) {
        if (send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n") < 0)
                return -1;
        for (int i = 0; i < 100; i++) {
                if (send_all(fd, "0123456789", 10) < 0)
                        break;
                usleep(100 * 1000);
        }
        return -1;
}

/* n generated bytes; "Range: bytes=A-" gets a 206 from A on. */
static int serve_gen(int fd, uint64_t n, const char *range) {
        uint8_t buf[65536];
        uint64_t from = 0, off;
        char head[256];

        if (sscanf(range, "bytes=%" SCNu64 "-", &from) == 1 && from < n)
                snprintf(head, sizeof(head),
                         "HTTP/1.1 206 Partial Content\r\nContent-Length: %" PRIu64 "\r\n"
                         "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n\r\n",
                         n - from, from, n - 1, n);
        else {
                from = 0;
                snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\n\r\n", n);
        }
        if (send_str(fd, head) < 0)
                return -1;
        for (off = from; off < n;) {
                size_t len = n - off < sizeof(buf) ? (size_t) (n - off) : sizeof(buf);

                for (size_t i = 0; i < len; i++)
                        buf[i] = gen_byte(off + i);
                if (send_all(fd, buf, len) < 0) {
                        note_gone(off - from);
                        return -1;
                }
                off += len;
        }
        return 0;
}

static int serve_status(int fd, int status) {
        char head[128];

        snprintf(head, sizeof(head), "HTTP/1.1 %d Whatever\r\nContent-Length: 9\r\n\r\nsome page", status);
        return send_str(fd, head);
}

/* < 0: close the connection. */
static int respond(int fd, const ServerRequest *r) {
        uint64_t n;
        int status;

        if (strcmp(r->path, "/ok") == 0)
                return send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        if (strcmp(r->path, "/empty") == 0)
                return send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        if (strcmp(r->path, "/missing") == 0)
                return send_str(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot here.\n");
        if (strcmp(r->path, "/put") == 0)
                return send_str(fd, "HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\ncreated");
        if (strcmp(r->path, "/endless") == 0)
                return serve_endless(fd);
        if (strcmp(r->path, "/slow") == 0)
                return serve_slow(fd);
        if (sscanf(r->path, "/gen/%" SCNu64, &n) == 1)
                return serve_gen(fd, n, r->range);
        if (sscanf(r->path, "/status/%d", &status) == 1)
                return serve_status(fd, status);
        return serve_status(fd, 400);
}

static void *serve_connection(void *arg) {
        int fd = (int) (intptr_t) arg;
        char *buf = malloc(REQ_MAX);
        size_t have = 0;
        ServerRequest r;

        /* The body of r belongs to srv.last from here on. */
        while (buf && read_request(fd, buf, &have, &r) == 0) {
                pthread_mutex_lock(&srv.lock);
                free(srv.last.body);
                srv.last = r;
                pthread_mutex_unlock(&srv.lock);
                if (respond(fd, &r) < 0)
                        break;
        }
        free(buf);
        close(fd);
        return NULL;
}

static void *serve(void *arg) {
        (void) arg;
        for (;;) {
                int fd = accept4(srv.listen_fd, NULL, NULL, SOCK_CLOEXEC);
                pthread_t t;

                if (fd < 0)
                        return NULL;
                pthread_mutex_lock(&srv.lock);
                srv.accepts++;
                if (srv.n_conns < MAX_CONNS && pthread_create(&t, NULL, serve_connection, (void *) (intptr_t) fd) == 0)
                        srv.conns[srv.n_conns++] = t;
                else
                        close(fd);
                pthread_mutex_unlock(&srv.lock);
        }
}

static void server_start(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);

        /* Fresh counters, also with CK_FORK=no. */
        srv.n_conns = srv.accepts = 0;
        srv.last = (ServerRequest) {};
        srv.sent = 0;
        srv.closed = false;
        srv.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(srv.listen_fd, 0);
        ck_assert_int_eq(bind(srv.listen_fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(listen(srv.listen_fd, 16), 0);
        ck_assert_int_eq(getsockname(srv.listen_fd, (struct sockaddr *) &a, &len), 0);
        srv.port = ntohs(a.sin_port);
        ck_assert_int_eq(pthread_create(&srv.acceptor, NULL, serve, NULL), 0);
}

/* After http_free(): the client's connections are closed, so every thread ends. */
static void server_stop(void) {
        (void) shutdown(srv.listen_fd, SHUT_RDWR); /* accept() returns */
        pthread_join(srv.acceptor, NULL);
        close(srv.listen_fd);
        for (unsigned i = 0; i < srv.n_conns; i++)
                pthread_join(srv.conns[i], NULL);
        free(srv.last.body);
}

static unsigned server_accepts(void) {
        unsigned n;

        pthread_mutex_lock(&srv.lock);
        n = srv.accepts;
        pthread_mutex_unlock(&srv.lock);
        return n;
}

/* The server's connection thread notices a closed connection on its next send. */
static bool server_saw_close(uint64_t *ret_sent) {
        for (int i = 0; i < 500; i++) {
                bool closed;

                pthread_mutex_lock(&srv.lock);
                closed = srv.closed;
                *ret_sent = srv.sent;
                pthread_mutex_unlock(&srv.lock);
                if (closed)
                        return true;
                usleep(10 * 1000);
        }
        return false;
}

/* ---- The loop on the main thread, the calls on a worker. ---- */

static struct {
        sd_event *event;
        Http *http;
        int done_fd, call_fd;
        bool done;
        void (*call)(void);
        sem_t called;
} env = { .done_fd = -1, .call_fd = -1 };

static void url(char *buf, size_t size, const char *path) {
        snprintf(buf, size, "http://127.0.0.1:%d%s", srv.port, path);
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint64_t n;

        (void) s, (void) revents, (void) userdata;
        ck_assert_int_eq(read(fd, &n, sizeof(n)), sizeof(n));
        env.done = true;
        return 0;
}

static int on_call(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        uint64_t n;

        (void) s, (void) revents, (void) userdata;
        ck_assert_int_eq(read(fd, &n, sizeof(n)), sizeof(n));
        env.call();
        sem_post(&env.called);
        return 0;
}

/* Worker: runs f on the loop thread and waits for it. */
static void loop_call(void (*f)(void)) {
        uint64_t one = 1;

        env.call = f;
        ck_assert_int_eq(write(env.call_fd, &one, sizeof(one)), sizeof(one));
        while (sem_wait(&env.called) < 0)
                ;
}

static void http_make(const HttpOptions *o) {
        env.http = http_free(env.http);
        ck_assert_int_eq(http_new(env.event, o, &env.http), 0);
}

static void setup(void) {
        server_start();
        ck_assert_int_eq(sd_event_new(&env.event), 0);
        env.done_fd = eventfd(0, EFD_CLOEXEC);
        env.call_fd = eventfd(0, EFD_CLOEXEC);
        ck_assert_int_ge(env.done_fd, 0);
        ck_assert_int_ge(env.call_fd, 0);
        ck_assert_int_eq(sd_event_add_io(env.event, NULL, env.done_fd, EPOLLIN, on_done, NULL), 0);
        ck_assert_int_eq(sd_event_add_io(env.event, NULL, env.call_fd, EPOLLIN, on_call, NULL), 0);
        ck_assert_int_eq(sem_init(&env.called, 0, 0), 0);
        http_make(NULL);
}

static void teardown(void) {
        env.http = http_free(env.http);
        env.event = sd_event_unref(env.event);
        close(env.done_fd);
        close(env.call_fd);
        sem_destroy(&env.called);
        server_stop();
}

typedef struct Job {
        void (*f)(void *);
        void *arg;
} Job;

static void *worker(void *p) {
        Job *j = p;
        uint64_t one = 1;

        j->f(j->arg);
        ck_assert_int_eq(write(env.done_fd, &one, sizeof(one)), sizeof(one));
        return NULL;
}

/* Runs f(arg) on a new thread while the loop runs here. */
static void run_worker(void (*f)(void *), void *arg) {
        Job j = { f, arg };
        pthread_t t;

        env.done = false;
        ck_assert_int_eq(pthread_create(&t, NULL, worker, &j), 0);
        while (!env.done)
                ck_assert_int_ge(sd_event_run(env.event, UINT64_MAX), 0);
        ck_assert_int_eq(pthread_join(t, NULL), 0);
}

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---- GET ---- */

typedef struct Get {
        const char *path;
        size_t max_len;
        int r;
        uint8_t *buf;
        size_t len;
        double seconds;
} Get;

static void do_gets(void *p) {
        for (Get *g = p; g->path; g++) {
                char u[128];
                double start = now_s();

                url(u, sizeof(u), g->path);
                g->r = http_get_blocking(env.http, u, g->max_len, &g->buf, &g->len);
                g->seconds = now_s() - start;
        }
}

static void gets_free(Get *g) {
        for (; g->path; g++)
                free(g->buf);
}

START_TEST(test_get_ok) {
        Get g[] = { { "/ok", 100 }, { "/ok", 5 }, { "/empty", 100 }, {} };

        run_worker(do_gets, g);
        ck_assert_int_eq(g[0].r, 0);
        ck_assert_uint_eq(g[0].len, 5);
        ck_assert_str_eq((char *) g[0].buf, "hello"); /* NUL-terminated */
        ck_assert_int_eq(g[1].r, 0);
        ck_assert_int_eq(g[2].r, 0);
        ck_assert_uint_eq(g[2].len, 0);
        ck_assert_ptr_nonnull(g[2].buf);
        pthread_mutex_lock(&srv.lock);
        ck_assert_str_eq(srv.last.method, "GET");
        ck_assert_str_eq(srv.last.user_agent, "uptane-primaryd");
        pthread_mutex_unlock(&srv.lock);
        gets_free(g);
}
END_TEST

START_TEST(test_get_status) {
        Get g[] = {
                { "/missing", 100 }, { "/status/403", 100 }, { "/status/410", 100 },
                { "/status/500", 100 }, { "/status/206", 100 }, { "/missing", 1 }, {},
        };

        run_worker(do_gets, g);
        ck_assert_int_eq(g[0].r, -ENOENT);
        ck_assert_int_eq(g[1].r, -ENOENT);
        ck_assert_int_eq(g[2].r, -ENOENT);
        ck_assert_int_eq(g[3].r, -EIO);
        ck_assert_int_eq(g[4].r, -EIO);
        /* A 404 longer than max_len is still a 404. */
        ck_assert_int_eq(g[5].r, -ENOENT);
        gets_free(g);
}
END_TEST

START_TEST(test_get_too_big) {
        Get g[] = { { "/ok", 4 }, { "/gen/1000000", 1000 }, { "/endless", 65536 }, {} };
        uint64_t sent = 0;

        run_worker(do_gets, g);
        ck_assert_int_eq(g[0].r, -EFBIG);
        ck_assert_int_eq(g[1].r, -EFBIG); /* announced */
        ck_assert_int_eq(g[2].r, -EFBIG); /* counted */
        ck_assert_double_lt(g[2].seconds, 5);
        ck_assert_ptr_null(g[2].buf);
        /* The connection was closed, long before the server ran out of data. */
        ck_assert(server_saw_close(&sent));
        ck_assert_uint_lt(sent, 256 * MiB);
        gets_free(g);
}
END_TEST

START_TEST(test_get_slow) {
        Get g[] = { { "/slow", 100000 }, {} };

        http_make(&(HttpOptions) { .low_speed_bytes = 1000, .low_speed_time_s = 1 });
        run_worker(do_gets, g);
        ck_assert_int_eq(g[0].r, -ETIMEDOUT);
        ck_assert_double_lt(g[0].seconds, 5);
        gets_free(g);
}
END_TEST

START_TEST(test_get_refused) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        Get g[] = { { "/ok", 100 }, {} };
        int port = srv.port;

        /* A port that was free a moment ago, with nobody listening. */
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        srv.port = ntohs(a.sin_port);
        run_worker(do_gets, g);
        srv.port = port;
        close(fd);
        ck_assert_int_eq(g[0].r, -ECONNREFUSED);
        gets_free(g);
}
END_TEST

START_TEST(test_keep_alive) {
        Get g[11] = {};

        for (int i = 0; i < 10; i++)
                g[i] = (Get) { i % 3 == 2 ? "/missing" : "/ok", 100 };
        run_worker(do_gets, g);
        for (int i = 0; i < 10; i++)
                ck_assert_int_eq(g[i].r, i % 3 == 2 ? -ENOENT : 0);
        /* Ten requests, one connection (a short 404 page does not end it). */
        ck_assert_uint_eq(server_accepts(), 1);
        gets_free(g);
}
END_TEST

static void do_fetch(void *p) {
        Get *g = p;
        UpFetcher f = http_as_fetcher(env.http);
        char u[128];

        url(u, sizeof(u), g->path);
        g->r = f.fetch(f.userdata, u, g->max_len, &g->buf, &g->len);
}

START_TEST(test_fetcher) {
        Get g[] = { { "/ok", 100 }, {} };

        run_worker(do_fetch, g);
        ck_assert_int_eq(g[0].r, 0);
        ck_assert_mem_eq(g[0].buf, "hello", 5);
        gets_free(g);
}
END_TEST

/* ---- Requests with a body ---- */

typedef struct Send {
        const char *method, *path, *token;
        const char *body;
        size_t body_len, max_len;
        bool want_body;
        int r;
        long status;
        uint8_t *answer;
        size_t answer_len;
} Send;

static void do_sends(void *p) {
        for (Send *s = p; s->method; s++) {
                char u[128];

                url(u, sizeof(u), s->path);
                s->r = http_send_blocking(env.http, s->method, u, s->token, s->body, s->body_len, s->max_len,
                                          &s->status, s->want_body ? &s->answer : NULL, &s->answer_len);
        }
}

START_TEST(test_send) {
        static const char json[] = "{\"serial\":\"ecu-1\"}";
        Send s[] = {
                { "PUT", "/put", "s3cret-token", json, strlen(json), 100, true },
                { "POST", "/status/500", NULL, "{}", 2, 100, false },
                { "DELETE", "/put", NULL, "{}", 2, 100, true },
                { "POST", "/put", "bad\r\nX-Injected: 1", "{}", 2, 100, true },
                { "POST", "/put", NULL, "{}", 2, 3, true },
                {},
        };

        run_worker(do_sends, s);
        ck_assert_int_eq(s[0].r, 0);
        ck_assert_int_eq(s[0].status, 201);
        ck_assert_uint_eq(s[0].answer_len, 7);
        ck_assert_str_eq((char *) s[0].answer, "created");
        ck_assert_int_eq(s[1].r, 0); /* any status is an answer */
        ck_assert_int_eq(s[1].status, 500);
        ck_assert_int_eq(s[2].r, -EINVAL);
        ck_assert_int_eq(s[3].r, -EINVAL);
        ck_assert_int_eq(s[4].r, -EFBIG);
        free(s[0].answer);
        ck_assert_ptr_null(s[4].answer);
        ck_assert_uint_eq(server_accepts(), 1);
}
END_TEST

static void do_one_send(void *p) {
        Send *s = p;
        char u[128];

        url(u, sizeof(u), s->path);
        s->r = http_send_blocking(env.http, s->method, u, s->token, s->body, s->body_len, s->max_len, &s->status,
                                  &s->answer, &s->answer_len);
}

START_TEST(test_send_reaches_server) {
        size_t n = 3 * MiB;
        char *big = malloc(n);
        Send s = { "PUT", "/put", "s3cret-token", big, n, 100 };

        ck_assert_ptr_nonnull(big);
        for (size_t i = 0; i < n; i++)
                big[i] = (char) gen_byte(i);
        run_worker(do_one_send, &s);
        ck_assert_int_eq(s.r, 0);
        ck_assert_int_eq(s.status, 201);
        pthread_mutex_lock(&srv.lock);
        ck_assert_str_eq(srv.last.method, "PUT");
        ck_assert_str_eq(srv.last.auth, "Bearer s3cret-token");
        ck_assert_str_eq(srv.last.content_type, "application/json");
        ck_assert_uint_eq(srv.last.content_length, n);
        ck_assert_mem_eq(srv.last.body, big, n);
        pthread_mutex_unlock(&srv.lock);
        free(s.answer);
        free(big);
}
END_TEST

/* ---- Streamed downloads ---- */

typedef struct Sink {
        /* What the test asks for. */
        const char *path;
        uint64_t range_from, max_len;
        int fail_response;  /* on_response returns this */
        int fail_data;      /* on_data returns this ... */
        uint64_t fail_after; /* ... once this much arrived */
        unsigned sleep_us;  /* in every on_data */
        bool check;         /* the bytes are /gen's */
        /* What happened. */
        int r;
        unsigned responses, calls, early_data;
        long status;
        int64_t start;
        uint64_t offset, received, max_block, checksum;
        int64_t mismatch;   /* first wrong byte, -1: none */
        double seconds;
} Sink;

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 0x100000001b3ULL;
        return h;
}

static int sink_response(long status, int64_t start, void *userdata) {
        Sink *s = userdata;

        s->responses++;
        s->status = status;
        s->start = start;
        return s->fail_response;
}

static int sink_data(const void *buf, size_t len, void *userdata) {
        Sink *s = userdata;
        const uint8_t *p = buf;

        if (s->responses != 1)
                s->early_data++;
        s->calls++;
        if (len > s->max_block)
                s->max_block = len;
        for (size_t i = 0; s->check && s->mismatch < 0 && i < len; i++)
                if (p[i] != gen_byte(s->offset + i))
                        s->mismatch = (int64_t) (s->offset + i);
        s->checksum = fnv1a(s->checksum, p, len);
        s->offset += len;
        s->received += len;
        if (s->sleep_us)
                usleep(s->sleep_us);
        if (s->fail_data < 0 && s->received >= s->fail_after)
                return s->fail_data;
        return 0;
}

static void do_download(void *p) {
        Sink *s = p;
        HttpStreamCallbacks cb = { sink_response, sink_data, s };
        char u[128];
        double start = now_s();

        url(u, sizeof(u), s->path);
        s->offset = s->range_from;
        s->mismatch = -1;
        s->start = -2;
        s->checksum = 0xcbf29ce484222325ULL;
        s->r = http_download_blocking(env.http, u, s->range_from, s->max_len, &cb);
        s->seconds = now_s() - start;
}

static uint64_t gen_checksum(uint64_t from, uint64_t to) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (uint64_t i = from; i < to; i++) {
                uint8_t b = gen_byte(i);
                h = fnv1a(h, &b, 1);
        }
        return h;
}

START_TEST(test_download_large) {
        uint64_t n = 50 * MiB;
        Sink s = { .path = "/gen/52428800", .max_len = n, .check = true };

        run_worker(do_download, &s);
        ck_assert_int_eq(s.r, 0);
        ck_assert_int_eq(s.responses, 1);
        ck_assert_int_eq(s.early_data, 0);
        ck_assert_int_eq(s.status, 200);
        ck_assert_int_eq(s.start, -1);
        ck_assert_uint_eq(s.received, n);
        ck_assert_int_eq(s.mismatch, -1);
        ck_assert_uint_eq(s.checksum, gen_checksum(0, n));
        ck_assert_uint_gt(s.calls, 1);
        ck_assert_uint_le(s.max_block, 2 * MiB);
        pthread_mutex_lock(&srv.lock);
        ck_assert_str_eq(srv.last.range, ""); /* no Range from 0 */
        pthread_mutex_unlock(&srv.lock);
}
END_TEST

START_TEST(test_download_backpressure) {
        uint64_t n = 8 * MiB;
        Sink s = { .path = "/gen/8388608", .max_len = n, .check = true, .sleep_us = 20 * 1000 };

        run_worker(do_download, &s);
        ck_assert_int_eq(s.r, 0);
        ck_assert_uint_eq(s.received, n);
        ck_assert_int_eq(s.mismatch, -1);
        ck_assert_uint_eq(s.checksum, gen_checksum(0, n));
        /* The slow reader got the bytes in few large blocks, queued while it slept. */
        ck_assert_uint_lt(s.calls, n / (64 * 1024));
}
END_TEST

START_TEST(test_download_range) {
        Sink s = { .path = "/gen/1000000", .range_from = 1000, .max_len = 1000000, .check = true };

        run_worker(do_download, &s);
        ck_assert_int_eq(s.r, 0);
        ck_assert_int_eq(s.status, 206);
        ck_assert_int_eq(s.start, 1000);
        ck_assert_uint_eq(s.received, 999000);
        ck_assert_int_eq(s.mismatch, -1);
        pthread_mutex_lock(&srv.lock);
        ck_assert_str_eq(srv.last.range, "bytes=1000-");
        pthread_mutex_unlock(&srv.lock);
}
END_TEST

START_TEST(test_download_errors) {
        Sink missing = { .path = "/missing", .max_len = 100 };
        Sink oops = { .path = "/status/500", .max_len = 100 };
        Sink announced = { .path = "/gen/1000000", .max_len = 100000 };
        Sink endless = { .path = "/endless", .max_len = MiB };
        Sink empty = { .path = "/empty", .max_len = 100 };

        run_worker(do_download, &missing);
        ck_assert_int_eq(missing.r, -ENOENT);
        ck_assert_uint_eq(missing.responses + missing.calls, 0);
        run_worker(do_download, &oops);
        ck_assert_int_eq(oops.r, -EIO);
        ck_assert_uint_eq(oops.responses + oops.calls, 0);
        run_worker(do_download, &announced);
        ck_assert_int_eq(announced.r, -EFBIG);
        ck_assert_uint_eq(announced.received, 0);
        run_worker(do_download, &endless);
        ck_assert_int_eq(endless.r, -EFBIG);
        ck_assert_uint_le(endless.received, MiB);
        ck_assert_double_lt(endless.seconds, 5);
        run_worker(do_download, &empty);
        ck_assert_int_eq(empty.r, 0);
        ck_assert_uint_eq(empty.responses, 1);
        ck_assert_uint_eq(empty.calls, 0);
}
END_TEST

START_TEST(test_download_callback_error) {
        Sink refuse = { .path = "/gen/1000", .max_len = 1000, .fail_response = -EBADMSG };
        Sink stop = { .path = "/gen/1073741824", .max_len = UINT64_MAX, .fail_data = -EPROTO, .fail_after = MiB };
        Get after[] = { { "/ok", 100 }, {} };
        uint64_t sent = 0;

        run_worker(do_download, &refuse);
        ck_assert_int_eq(refuse.r, -EBADMSG);
        ck_assert_uint_eq(refuse.calls, 0);
        run_worker(do_download, &stop);
        ck_assert_int_eq(stop.r, -EPROTO);
        ck_assert_double_lt(stop.seconds, 5);
        /* The transfer ended: the server saw the connection close early. */
        ck_assert(server_saw_close(&sent));
        ck_assert_uint_lt(sent, 256 * MiB);
        /* And the next request works. */
        run_worker(do_gets, after);
        ck_assert_int_eq(after[0].r, 0);
        gets_free(after);
}
END_TEST

/* ---- Cancelling ---- */

typedef struct Cancel {
        int slow_get, slow_download, while_cancelled, after_uncancel;
        double seconds;
} Cancel;

static int cancel_all(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s, (void) usec, (void) userdata;
        http_cancel_all(env.http);
        return 0;
}

static void http_uncancel_env(void) {
        http_uncancel(env.http);
}

static void arm_cancel(uint64_t usec) {
        ck_assert_int_eq(sd_event_add_time_relative(env.event, NULL, CLOCK_MONOTONIC, usec, 1000, cancel_all, NULL),
                         0);
}

static void arm_cancel_soon(void) {
        arm_cancel(300 * 1000);
}

static void do_cancelled(void *p) {
        Cancel *c = p;
        Sink s = { .path = "/slow", .max_len = 10000 };
        uint8_t *buf = NULL;
        size_t len;
        char u[128];
        double start = now_s();

        /* Blocked in a slow transfer when the loop cancels everything. */
        url(u, sizeof(u), "/slow");
        c->slow_get = http_get_blocking(env.http, u, 10000, &buf, &len);
        c->seconds = now_s() - start;
        url(u, sizeof(u), "/ok");
        c->while_cancelled = http_get_blocking(env.http, u, 100, &buf, &len);
        loop_call(http_uncancel_env);
        c->after_uncancel = http_get_blocking(env.http, u, 100, &buf, &len);
        free(buf);
        /* Again, during a download. */
        loop_call(arm_cancel_soon);
        do_download(&s);
        c->slow_download = s.r;
        loop_call(http_uncancel_env);
}

START_TEST(test_cancel_all) {
        Cancel c = {};

        arm_cancel(300 * 1000);
        run_worker(do_cancelled, &c);
        ck_assert_int_eq(c.slow_get, -ECANCELED);
        ck_assert_double_lt(c.seconds, 5);
        ck_assert_int_eq(c.while_cancelled, -ECANCELED);
        ck_assert_int_eq(c.after_uncancel, 0);
        ck_assert_int_eq(c.slow_download, -ECANCELED);
}
END_TEST

START_TEST(test_deadlock_on_loop_thread) {
        HttpStreamCallbacks cb = {};
        uint8_t *buf = NULL;
        size_t len = 0;
        long status = 0;
        char u[128];

        url(u, sizeof(u), "/ok");
        ck_assert_int_eq(http_get_blocking(env.http, u, 100, &buf, &len), -EDEADLK);
        ck_assert_int_eq(http_send_blocking(env.http, "POST", u, NULL, "{}", 2, 100, &status, NULL, NULL), -EDEADLK);
        ck_assert_int_eq(http_download_blocking(env.http, u, 0, 100, &cb), -EDEADLK);
        ck_assert_ptr_null(buf);
        ck_assert_uint_eq(server_accepts(), 0);
}
END_TEST

static Suite *http_suite(void) {
        Suite *s = suite_create("primaryd-http");
        TCase *tc = tcase_create("http");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_get_ok);
        tcase_add_test(tc, test_get_status);
        tcase_add_test(tc, test_get_too_big);
        tcase_add_test(tc, test_get_slow);
        tcase_add_test(tc, test_get_refused);
        tcase_add_test(tc, test_keep_alive);
        tcase_add_test(tc, test_fetcher);
        tcase_add_test(tc, test_send);
        tcase_add_test(tc, test_send_reaches_server);
        tcase_add_test(tc, test_download_large);
        tcase_add_test(tc, test_download_backpressure);
        tcase_add_test(tc, test_download_range);
        tcase_add_test(tc, test_download_errors);
        tcase_add_test(tc, test_download_callback_error);
        tcase_add_test(tc, test_cancel_all);
        tcase_add_test(tc, test_deadlock_on_loop_thread);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(http_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
