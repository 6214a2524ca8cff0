/* SPDX-License-Identifier: MIT */
/*
 * DoIP tester and entity over 127.0.0.1 (src/vnet/doip_client.h,
 * doip_server.h): routing activation, UDS requests, responsePending, NACKs,
 * alive checks, timers, discovery, and peers that break the rules (raw
 * sockets). The entity runs on a thread of its own, driven by
 * doip_server_run() or by sd-event; timers are short so the tests are fast.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "doip.h"
#include "doip_client.h"
#include "doip_server.h"

#define ENTITY 0x1001
#define GATEWAYED 0x1002
#define TESTER 0x0E80

static const uint8_t vin[DOIP_VIN_SIZE] = "UPTANE0SECONDARY1";
static const uint8_t eid[DOIP_EID_SIZE] = { 0x02, 0x00, 0x5E, 0x10, 0x20, 0x30 };

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* The entity on its thread. */
typedef struct Fixture {
        DoipServer *server;
        pthread_t thread;
        atomic_bool stop;
        bool use_event;
        int stop_pipe[2];
        uint16_t port, udp_port;
        /* a slow answer: doip_server_respond() once due */
        bool slow;
        unsigned slow_ms;
        uint16_t slow_sa;
        uint64_t slow_due;
        uint8_t slow_resp[8];
        size_t slow_len;
        sd_event *event;
} Fixture;

static Fixture fx;

static void slow_answer(Fixture *f) {
        ck_assert_int_eq(doip_server_respond(f->server, f->slow_sa, f->slow_resp, f->slow_len), 0);
        f->slow = false;
}

static int on_slow_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        slow_answer(userdata);
        return 0;
}

/*
 * The UDS side of the test entity: 0x31 answers slowly (-EINPROGRESS),
 * 0x11 sends alive checks before answering, 0x99 fails; everything else
 * comes back with SID + 0x40 and the same bytes.
 */
static int on_request(void *userdata, uint16_t tester_sa, const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len) {
        Fixture *f = userdata;
        uint8_t *r;

        if (req[0] == 0x99)
                return -EIO;
        if (req[0] == 0x31) {
                f->slow = true;
                f->slow_sa = tester_sa;
                f->slow_due = now_ms() + f->slow_ms;
                f->slow_len = len < sizeof(f->slow_resp) ? len : sizeof(f->slow_resp);
                memcpy(f->slow_resp, req, f->slow_len);
                f->slow_resp[0] = 0x71;
                if (f->event)
                        ck_assert_int_ge(sd_event_add_time_relative(f->event, NULL, CLOCK_MONOTONIC,
                                                                    (uint64_t) f->slow_ms * 1000, 1000, on_slow_timer, f), 0);
                return -EINPROGRESS;
        }
        if (req[0] == 0x11)
                doip_server_alive_check(f->server);
        if (req[0] == 0x3E && len == 2 && req[1] == 0x80) {
                *resp_len = 0; /* suppressed positive response */
                return 0;
        }
        r = malloc(len);
        ck_assert_ptr_nonnull(r);
        memcpy(r, req, len);
        r[0] = (uint8_t) (req[0] + 0x40);
        *resp = r;
        *resp_len = len;
        return 0;
}

static void *poll_thread(void *userdata) {
        Fixture *f = userdata;

        while (!atomic_load(&f->stop)) {
                ck_assert_int_eq(doip_server_run(f->server, 5), 0);
                if (f->slow && now_ms() >= f->slow_due)
                        slow_answer(f);
        }
        return NULL;
}

static int on_stop(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) fd;
        (void) revents;
        (void) userdata;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void *event_thread(void *userdata) {
        Fixture *f = userdata;
        sd_event_source *stop = NULL;

        ck_assert_int_ge(sd_event_new(&f->event), 0);
        ck_assert_int_ge(sd_event_add_io(f->event, &stop, f->stop_pipe[0], EPOLLIN, on_stop, f), 0);
        ck_assert_int_eq(doip_server_attach_event(f->server, f->event, 0), 0);
        ck_assert_int_ge(sd_event_loop(f->event), 0);
        doip_server_detach_event(f->server);
        sd_event_source_disable_unref(stop);
        f->event = sd_event_unref(f->event);
        return NULL;
}

static void server_options(DoipServerOptions *o) {
        static const uint16_t targets[] = { GATEWAYED };

        doip_server_options_init(o);
        o->address = "127.0.0.1";
        o->port = 0;
        o->logical_address = ENTITY;
        o->targets = targets;
        o->n_targets = 1;
        memcpy(o->vin, vin, sizeof(vin));
        memcpy(o->eid, eid, sizeof(eid));
        memcpy(o->gid, eid, sizeof(eid));
        o->on_request = on_request;
        o->userdata = &fx;
        o->alive_check_ms = 200;
}

static void start(const DoipServerOptions *o, bool use_event) {
        fx = (Fixture) { .slow_ms = 600, .use_event = use_event };
        ck_assert_int_eq(doip_server_new(o, &fx.server), 0);
        doip_server_get_ports(fx.server, &fx.port, &fx.udp_port);
        ck_assert_uint_ne(fx.port, 0);
        if (use_event) {
                ck_assert_int_eq(pipe(fx.stop_pipe), 0);
                ck_assert_int_eq(pthread_create(&fx.thread, NULL, event_thread, &fx), 0);
        } else
                ck_assert_int_eq(pthread_create(&fx.thread, NULL, poll_thread, &fx), 0);
}

static void start_default(void) {
        DoipServerOptions o;

        server_options(&o);
        start(&o, false);
}

/* Stops the entity's thread; its counters. */
static DoipServerStats stop(void) {
        DoipServerStats st;

        if (fx.use_event) {
                ck_assert_int_eq(write(fx.stop_pipe[1], "x", 1), 1);
        } else
                atomic_store(&fx.stop, true);
        ck_assert_int_eq(pthread_join(fx.thread, NULL), 0);
        doip_server_get_stats(fx.server, &st);
        fx.server = doip_server_free(fx.server);
        return st;
}

static DoipClient *client_new(void (*tweak)(DoipClientOptions *o)) {
        DoipClientOptions o;
        DoipClient *c = NULL;

        doip_client_options_init(&o);
        o.address = "127.0.0.1";
        o.port = fx.port;
        o.tester_address = TESTER;
        if (tweak)
                tweak(&o);
        ck_assert_int_eq(doip_client_new(&o, &c), 0);
        return c;
}

/* One request; checks the echo (SID + 0x40, the same bytes). */
static void echo_ok(DoipClient *c, uint16_t ta, const uint8_t *req, size_t len) {
        uint8_t *resp = NULL;
        size_t resp_len = 0;

        ck_assert_int_eq(doip_client_request(c, ta, req, len, 0, &resp, &resp_len), 0);
        ck_assert_uint_eq(resp_len, len);
        ck_assert_uint_eq(resp[0], (uint8_t) (req[0] + 0x40));
        ck_assert_mem_eq(resp + 1, req + 1, len - 1);
        free(resp);
}

START_TEST(test_routing_and_echo) {
        const uint8_t rdbi[] = { 0x22, 0xF1, 0x90 };
        DoipClient *c;
        DoipServerStats st;

        start_default();
        c = client_new(NULL);
        ck_assert_int_eq(doip_client_connect(c), 0);
        ck_assert(doip_client_connected(c));
        ck_assert_uint_eq(doip_client_entity_address(c), ENTITY);
        ck_assert_int_eq(doip_client_routing_code(c), DOIP_RA_SUCCESS);
        echo_ok(c, ENTITY, rdbi, sizeof(rdbi));
        echo_ok(c, GATEWAYED, rdbi, sizeof(rdbi)); /* a further target of the entity */
        doip_client_free(c);
        st = stop();
        ck_assert_uint_eq(st.accepted, 1);
        ck_assert_uint_eq(st.routing_activations, 1);
        ck_assert_uint_eq(st.requests, 2);
}
END_TEST

START_TEST(test_many_requests_one_connection) {
        static const size_t sizes[] = { 1, 2, 3, 7, 100, 1400, 1500, 4095, 4096, 65536, 65537, 300000, 1024 * 1024 };
        uint8_t *req = malloc(1024 * 1024);
        DoipClientStats cs;
        DoipServerStats st;
        DoipClient *c;

        start_default();
        c = client_new(NULL);
        for (size_t i = 0; i < 1024 * 1024; i++)
                req[i] = (uint8_t) (i * 13 + 1);
        req[0] = 0x36;
        for (int round = 0; round < 3; round++)
                for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
                        echo_ok(c, ENTITY, req, sizes[i]);
        doip_client_get_stats(c, &cs);
        ck_assert_uint_eq(cs.connects, 1);
        ck_assert_uint_eq(cs.requests, 39);
        doip_client_free(c);
        free(req);
        st = stop();
        ck_assert_uint_eq(st.accepted, 1);
        ck_assert_uint_eq(st.requests, 39);
}
END_TEST

static void quick_pending(DoipClientOptions *o) {
        o->response_timeout_ms = 150;
        o->pending_timeout_ms = 300;
}

START_TEST(test_response_pending) {
        const uint8_t routine[] = { 0x31, 0x01, 0x0A, 0x02 };
        uint8_t *resp = NULL;
        size_t len = 0;
        DoipServerOptions o;
        DoipClientStats cs;
        DoipServerStats st;
        DoipClient *c;

        server_options(&o);
        o.pending_interval_ms = 100;
        start(&o, false);
        c = client_new(quick_pending);
        /* 600 ms to answer, far beyond P2 (150 ms): 0x78 every 100 ms keeps
         * the tester waiting, each one for P2* (300 ms). */
        ck_assert_int_eq(doip_client_request(c, ENTITY, routine, sizeof(routine), 0, &resp, &len), 0);
        ck_assert_uint_eq(len, 4);
        ck_assert_uint_eq(resp[0], 0x71);
        free(resp);
        doip_client_get_stats(c, &cs);
        ck_assert_uint_ge(cs.pending, 4);
        echo_ok(c, ENTITY, (const uint8_t[]) { 0x3E, 0x00 }, 2);
        doip_client_free(c);
        st = stop();
        ck_assert_uint_ge(st.pending_sent, 4);
        ck_assert_uint_eq(st.accepted, 1);
}
END_TEST

START_TEST(test_slow_peer_times_out) {
        const uint8_t routine[] = { 0x31, 0x01, 0x0A, 0x02 };
        uint8_t *resp = NULL;
        size_t len = 0;
        DoipServerOptions o;
        DoipClientStats cs;
        DoipServerStats st;
        DoipClient *c;
        uint64_t t0;

        server_options(&o);
        o.pending_interval_ms = 0; /* no responsePending: a slow entity */
        start(&o, false);
        c = client_new(quick_pending);
        t0 = now_ms();
        ck_assert_int_eq(doip_client_request(c, ENTITY, routine, sizeof(routine), 0, &resp, &len), -ETIMEDOUT);
        ck_assert_uint_ge(now_ms() - t0, 140);
        ck_assert_uint_lt(now_ms() - t0, 1000);
        ck_assert(!doip_client_connected(c)); /* the late answer must not be taken for the next */
        /* A per-call timeout longer than the entity's delay. */
        ck_assert_int_eq(doip_client_request(c, ENTITY, routine, sizeof(routine), 2000, &resp, &len), 0);
        ck_assert_uint_eq(resp[0], 0x71);
        free(resp);
        doip_client_get_stats(c, &cs);
        ck_assert_uint_eq(cs.connects, 2);
        doip_client_free(c);
        st = stop();
        ck_assert_uint_eq(st.accepted, 2);
}
END_TEST

static void short_pending_cap(DoipClientOptions *o) {
        quick_pending(o);
        o->max_pending_ms = 250;
}

START_TEST(test_endless_pending_capped) {
        const uint8_t routine[] = { 0x31, 0x01, 0x0A, 0x02 };
        uint8_t *resp = NULL;
        size_t len = 0;
        DoipServerOptions o;
        DoipClient *c;
        uint64_t t0;

        server_options(&o);
        o.pending_interval_ms = 50;
        start(&o, false);
        fx.slow_ms = 5000;
        c = client_new(short_pending_cap);
        t0 = now_ms();
        ck_assert_int_eq(doip_client_request(c, ENTITY, routine, sizeof(routine), 0, &resp, &len), -ETIMEDOUT);
        ck_assert_uint_lt(now_ms() - t0, 1000);
        doip_client_free(c);
        stop();
}
END_TEST

START_TEST(test_unknown_target_nack) {
        const uint8_t rdbi[] = { 0x22, 0xF1, 0x90 };
        uint8_t *resp = NULL;
        size_t len = 0;
        DoipServerStats st;
        DoipClient *c;

        start_default();
        c = client_new(NULL);
        ck_assert_int_eq(doip_client_request(c, 0x2222, rdbi, sizeof(rdbi), 0, &resp, &len), -EHOSTUNREACH);
        ck_assert_int_eq(doip_client_diag_nack(c), DOIP_DIAG_NACK_UNKNOWN_TA);
        ck_assert(doip_client_connected(c)); /* a NACK keeps the connection */
        echo_ok(c, ENTITY, rdbi, sizeof(rdbi));
        doip_client_free(c);
        st = stop();
        ck_assert_uint_eq(st.accepted, 1);
        ck_assert_uint_eq(st.diag_nacks, 1);
}
END_TEST

START_TEST(test_too_large_diag_nack) {
        uint8_t req[2000] = { 0x36, 0x01 }, *resp = NULL;
        size_t len = 0;
        DoipServerOptions o;
        DoipClient *c;

        server_options(&o);
        o.max_request = 1000;
        start(&o, false);
        c = client_new(NULL);
        ck_assert_int_eq(doip_client_request(c, ENTITY, req, sizeof(req), 0, &resp, &len), -EMSGSIZE);
        ck_assert_int_eq(doip_client_diag_nack(c), DOIP_DIAG_NACK_TOO_LARGE);
        echo_ok(c, ENTITY, req, 1000);
        doip_client_free(c);
        ck_assert_uint_eq(stop().accepted, 1);
}
END_TEST

START_TEST(test_alive_check_answered) {
        const uint8_t reset[] = { 0x11, 0x01 };
        DoipClientStats cs;
        DoipServerStats st;
        DoipClient *c;

        start_default();
        c = client_new(NULL);
        /* The entity checks its testers while it handles 0x11: the client
         * answers while it waits for the response. */
        echo_ok(c, ENTITY, reset, sizeof(reset));
        usleep(300 * 1000); /* past alive_check_ms: an unanswered check would have closed it */
        echo_ok(c, ENTITY, (const uint8_t[]) { 0x3E, 0x00 }, 2);
        doip_client_get_stats(c, &cs);
        ck_assert_uint_eq(cs.alive_checks, 1);
        ck_assert_uint_eq(cs.connects, 1);
        doip_client_free(c);
        st = stop();
        ck_assert_uint_eq(st.alive_requests, 1);
        ck_assert_uint_eq(st.alive_responses, 1);
        ck_assert_uint_eq(st.accepted, 1);
}
END_TEST

START_TEST(test_general_reject_and_suppressed) {
        const uint8_t bad[] = { 0x99, 0x01 }, nr[] = { 0x7F, 0x99, 0x10 };
        uint8_t *resp = NULL;
        size_t len = 0;
        DoipClient *c;

        start_default();
        c = client_new(NULL);
        ck_assert_int_eq(doip_client_request(c, ENTITY, bad, sizeof(bad), 0, &resp, &len), 0);
        ck_assert_uint_eq(len, 3);
        ck_assert_mem_eq(resp, nr, 3);
        free(resp);
        doip_client_free(c);
        stop();
}
END_TEST

START_TEST(test_reconnect_after_inactivity) {
        const uint8_t tp[] = { 0x3E, 0x00 };
        DoipServerOptions o;
        DoipServerStats st;
        DoipClientStats cs;
        DoipClient *c;

        server_options(&o);
        o.general_inactivity_ms = 200;
        start(&o, false);
        c = client_new(NULL);
        echo_ok(c, ENTITY, tp, sizeof(tp));
        usleep(500 * 1000); /* the entity closes the idle connection */
        echo_ok(c, ENTITY, tp, sizeof(tp));
        doip_client_get_stats(c, &cs);
        ck_assert_uint_eq(cs.connects, 2);
        doip_client_free(c);
        st = stop();
        ck_assert_uint_eq(st.inactivity_timeouts, 1);
        ck_assert_uint_eq(st.accepted, 2);
}
END_TEST

START_TEST(test_client_errors) {
        DoipClientOptions o;
        DoipClient *c = NULL;
        uint8_t *resp = NULL;
        size_t len = 0;
        int fd;
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);

        doip_client_options_init(&o);
        ck_assert_int_eq(doip_client_new(&o, &c), -EINVAL); /* no address */
        o.address = "vehicle.example";
        ck_assert_int_eq(doip_client_new(&o, &c), -EINVAL); /* numeric only */
        o.address = "127.0.0.1";
        o.tester_address = 0x0100;
        ck_assert_int_eq(doip_client_new(&o, &c), -EINVAL);
        o.tester_address = TESTER;
        o.version = 0x01;
        ck_assert_int_eq(doip_client_new(&o, &c), -EINVAL);

        /* Nobody listening. */
        fd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
        close(fd);
        fx.port = ntohs(sa.sin_port);
        c = client_new(NULL);
        ck_assert_int_eq(doip_client_request(c, ENTITY, (const uint8_t[]) { 0x3E, 0x00 }, 2, 0, &resp, &len), -ECONNREFUSED);
        ck_assert_int_eq(doip_client_request(c, ENTITY, NULL, 0, 0, &resp, &len), -EINVAL);
        doip_client_free(c);
}
END_TEST

static void short_ctrl(DoipClientOptions *o) {
        o->ctrl_timeout_ms = 200;
}

static void short_ack(DoipClientOptions *o) {
        o->ack_timeout_ms = 300;
        o->response_timeout_ms = 300;
}

START_TEST(test_silent_entity_times_out) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        DoipClient *c;
        uint64_t t0;
        int fd;

        /* Accepts (backlog) and never says a word. */
        fd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 4), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
        fx.port = ntohs(sa.sin_port);
        c = client_new(short_ctrl);
        t0 = now_ms();
        ck_assert_int_eq(doip_client_connect(c), -ETIMEDOUT);
        ck_assert_uint_ge(now_ms() - t0, 190);
        ck_assert_uint_lt(now_ms() - t0, 1500);
        ck_assert(!doip_client_connected(c));
        doip_client_free(c);
        close(fd);
}
END_TEST

/* Raw testers: the bytes a misbehaving peer sends. */

static int raw_connect(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(fx.port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct timeval tv = { .tv_sec = 3 };
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        ck_assert_int_eq(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static void raw_write(int fd, const void *data, size_t len) {
        ck_assert_int_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t) len);
}

static void raw_send(int fd, uint8_t version, const DoipPayload *p) {
        uint8_t *buf;
        size_t len;

        ck_assert_int_eq(doip_message_new(version, p, &buf, &len), 0);
        raw_write(fd, buf, len);
        free(buf);
}

static void raw_read_exact(int fd, uint8_t *buf, size_t len) {
        size_t got = 0;

        while (got < len) {
                ssize_t n = recv(fd, buf + got, len - got, 0);

                ck_assert_int_gt(n, 0);
                got += (size_t) n;
        }
}

/* The next message (payload in buf, which must be big enough). */
static DoipPayload raw_recv(int fd, uint8_t *buf, size_t size, uint8_t *ret_version) {
        DoipHeader h;
        DoipPayload p;

        raw_read_exact(fd, buf, DOIP_HEADER_SIZE);
        ck_assert_int_eq(doip_header_parse(buf, DOIP_HEADER_SIZE, 0, &h, NULL), 0);
        ck_assert_uint_le(h.length, size);
        raw_read_exact(fd, buf, h.length);
        ck_assert_int_eq(doip_payload_parse(h.type, buf, h.length, &p), 0);
        if (ret_version)
                *ret_version = h.version;
        return p;
}

static void raw_expect_eof(int fd) {
        uint8_t b;

        ck_assert_int_eq(recv(fd, &b, 1, 0), 0);
}

static void raw_activate(int fd, uint16_t sa, uint8_t want_code) {
        DoipPayload p = { .type = DOIP_TYPE_ROUTING_REQUEST, .routing_request = { .source_address = sa } };
        uint8_t buf[64];

        raw_send(fd, DOIP_VERSION_2012, &p);
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.type, DOIP_TYPE_ROUTING_RESPONSE);
        ck_assert_uint_eq(p.routing_response.tester_address, sa);
        ck_assert_uint_eq(p.routing_response.entity_address, ENTITY);
        ck_assert_uint_eq(p.routing_response.code, want_code);
}

static void raw_expect_nack(int fd, uint8_t code) {
        uint8_t buf[64];
        DoipPayload p = raw_recv(fd, buf, sizeof(buf), NULL);

        ck_assert_uint_eq(p.type, DOIP_TYPE_GENERIC_NACK);
        ck_assert_uint_eq(p.nack_code, code);
}

START_TEST(test_wrong_pattern_nack_and_close) {
        const uint8_t junk[] = "GET / HTTP/1.1\r\nHost: ecu\r\n\r\n";
        DoipServerStats st;
        int fd;

        start_default();
        fd = raw_connect();
        raw_write(fd, junk, sizeof(junk) - 1);
        raw_expect_nack(fd, DOIP_NACK_WRONG_PATTERN);
        raw_expect_eof(fd);
        close(fd);
        /* After routing activation too. */
        fd = raw_connect();
        raw_activate(fd, TESTER, DOIP_RA_SUCCESS);
        raw_write(fd, (const uint8_t[]) { 0x02, 0xFC, 0x80, 0x01, 0, 0, 0, 5 }, 8);
        raw_expect_nack(fd, DOIP_NACK_WRONG_PATTERN);
        raw_expect_eof(fd);
        close(fd);
        st = stop();
        ck_assert_uint_eq(st.generic_nacks, 2);
}
END_TEST

START_TEST(test_oversized_length_nack_keeps_stream) {
        uint8_t h[DOIP_HEADER_SIZE], junk[5000], buf[64];
        const uint8_t tp[] = { 0x3E, 0x00 };
        DoipServerOptions o;
        DoipPayload p;
        int fd;

        server_options(&o);
        o.max_payload = 4096;
        start(&o, false);
        fd = raw_connect();
        raw_activate(fd, TESTER, DOIP_RA_SUCCESS);
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, sizeof(junk)), 0);
        raw_write(fd, h, sizeof(h));
        /* NACK 0x02 from the header alone, before the payload is sent. */
        raw_expect_nack(fd, DOIP_NACK_TOO_LARGE);
        memset(junk, 0xAB, sizeof(junk));
        raw_write(fd, junk, sizeof(junk));
        /* The entity skipped it: the next message is understood. */
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) {
                .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { TESTER, ENTITY, tp, sizeof(tp) } });
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.type, DOIP_TYPE_DIAG_ACK);
        ck_assert_uint_eq(p.diag_ack.code, DOIP_DIAG_ACK_OK);
        ck_assert_uint_eq(p.diag_ack.source_address, ENTITY);
        ck_assert_uint_eq(p.diag_ack.target_address, TESTER);
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.type, DOIP_TYPE_DIAG_MESSAGE);
        ck_assert_uint_eq(p.diag.source_address, ENTITY);
        ck_assert_uint_eq(p.diag.target_address, TESTER);
        ck_assert_uint_eq(p.diag.len, 2);
        ck_assert_uint_eq(p.diag.data[0], 0x7E);
        /* A 4 GiB announcement: NACK 0x02 at once. */
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, UINT32_MAX), 0);
        raw_write(fd, h, sizeof(h));
        raw_expect_nack(fd, DOIP_NACK_TOO_LARGE);
        close(fd);
        stop();
}
END_TEST

START_TEST(test_invalid_length_and_unknown_type) {
        uint8_t h[DOIP_HEADER_SIZE], buf[64];
        DoipPayload p;
        int fd;

        start_default();
        /* Unknown type: NACK 0x01, skipped, the socket stays. */
        fd = raw_connect();
        raw_activate(fd, TESTER, DOIP_RA_SUCCESS);
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, 0x7777, 3), 0);
        raw_write(fd, h, sizeof(h));
        raw_write(fd, "abc", 3);
        raw_expect_nack(fd, DOIP_NACK_UNKNOWN_TYPE);
        /* A UDP-only type on TCP: the same. */
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) { .type = DOIP_TYPE_VID_REQUEST });
        raw_expect_nack(fd, DOIP_NACK_UNKNOWN_TYPE);
        /* Entity status and power mode are answered. */
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) { .type = DOIP_TYPE_ENTITY_STATUS_REQUEST });
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.type, DOIP_TYPE_ENTITY_STATUS);
        ck_assert_uint_eq(p.entity_status.max_sockets, 4);
        ck_assert_uint_eq(p.entity_status.open_sockets, 1);
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) { .type = DOIP_TYPE_POWER_MODE_REQUEST });
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.type, DOIP_TYPE_POWER_MODE);
        ck_assert_uint_eq(p.power_mode, DOIP_POWER_READY);
        /* Invalid length: NACK 0x04 and closed. */
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_ALIVE_RESPONSE, 3), 0);
        raw_write(fd, h, sizeof(h));
        raw_expect_nack(fd, DOIP_NACK_INVALID_LENGTH);
        raw_expect_eof(fd);
        close(fd);
        stop();
}
END_TEST

START_TEST(test_version_3_answered_in_kind) {
        const uint8_t tp[] = { 0x3E, 0x00 };
        uint8_t buf[64], version = 0;
        DoipPayload p = { .type = DOIP_TYPE_ROUTING_REQUEST, .routing_request = { .source_address = TESTER } };
        int fd;

        start_default();
        fd = raw_connect();
        raw_send(fd, DOIP_VERSION_2019, &p);
        p = raw_recv(fd, buf, sizeof(buf), &version);
        ck_assert_uint_eq(p.routing_response.code, DOIP_RA_SUCCESS);
        ck_assert_uint_eq(version, DOIP_VERSION_2019);
        raw_send(fd, DOIP_VERSION_2019, &(DoipPayload) {
                .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { TESTER, ENTITY, tp, sizeof(tp) } });
        p = raw_recv(fd, buf, sizeof(buf), &version);
        ck_assert_uint_eq(p.type, DOIP_TYPE_DIAG_ACK);
        ck_assert_uint_eq(version, DOIP_VERSION_2019);
        p = raw_recv(fd, buf, sizeof(buf), &version);
        ck_assert_uint_eq(p.type, DOIP_TYPE_DIAG_MESSAGE);
        ck_assert_uint_eq(version, DOIP_VERSION_2019);
        close(fd);
        stop();
}
END_TEST

START_TEST(test_message_split_and_batched) {
        const uint8_t tp[] = { 0x3E, 0x00 };
        uint8_t *two = NULL, *m1, *m2, buf[64];
        size_t l1, l2;
        DoipPayload p = { .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { TESTER, ENTITY, tp, sizeof(tp) } };
        int fd;

        start_default();
        fd = raw_connect();
        raw_activate(fd, TESTER, DOIP_RA_SUCCESS);
        /* One message a byte at a time. */
        ck_assert_int_eq(doip_message_new(DOIP_VERSION_2012, &p, &m1, &l1), 0);
        for (size_t i = 0; i < l1; i++) {
                raw_write(fd, m1 + i, 1);
                usleep(2000);
        }
        ck_assert_uint_eq(raw_recv(fd, buf, sizeof(buf), NULL).type, DOIP_TYPE_DIAG_ACK);
        ck_assert_uint_eq(raw_recv(fd, buf, sizeof(buf), NULL).type, DOIP_TYPE_DIAG_MESSAGE);
        /* Two messages and half a third in one write, then the rest. */
        ck_assert_int_eq(doip_message_new(DOIP_VERSION_2012, &p, &m2, &l2), 0);
        two = malloc(3 * l1);
        memcpy(two, m1, l1);
        memcpy(two + l1, m2, l2);
        memcpy(two + 2 * l1, m1, l1);
        raw_write(fd, two, 2 * l1 + 5);
        usleep(20000);
        raw_write(fd, two + 2 * l1 + 5, l1 - 5);
        for (int i = 0; i < 3; i++) {
                ck_assert_uint_eq(raw_recv(fd, buf, sizeof(buf), NULL).type, DOIP_TYPE_DIAG_ACK);
                ck_assert_uint_eq(raw_recv(fd, buf, sizeof(buf), NULL).type, DOIP_TYPE_DIAG_MESSAGE);
        }
        free(m1);
        free(m2);
        free(two);
        close(fd);
        ck_assert_uint_eq(stop().requests, 4);
}
END_TEST

START_TEST(test_never_activates_closed) {
        DoipServerOptions o;
        DoipServerStats st;
        uint64_t t0;
        int fd;

        server_options(&o);
        o.initial_inactivity_ms = 300;
        start(&o, false);
        t0 = now_ms();
        fd = raw_connect();
        raw_expect_eof(fd);
        ck_assert_uint_ge(now_ms() - t0, 250);
        ck_assert_uint_lt(now_ms() - t0, 2000);
        close(fd);
        st = stop();
        ck_assert_uint_eq(st.initial_timeouts, 1);
}
END_TEST

START_TEST(test_routing_denials) {
        DoipPayload p = { .type = DOIP_TYPE_ROUTING_REQUEST,
                          .routing_request = { .source_address = TESTER, .activation_type = DOIP_ACTIVATION_CENTRAL_SECURITY } };
        uint8_t buf[64];
        DoipServerStats st;
        int fd;

        start_default();
        /* Not a tester address. */
        fd = raw_connect();
        raw_activate(fd, 0x0100, DOIP_RA_UNKNOWN_SA);
        raw_expect_eof(fd);
        close(fd);
        /* Unsupported activation type. */
        fd = raw_connect();
        raw_send(fd, DOIP_VERSION_2012, &p);
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.routing_response.code, DOIP_RA_UNSUPPORTED_TYPE);
        raw_expect_eof(fd);
        close(fd);
        /* Another address on an activated socket. */
        fd = raw_connect();
        raw_activate(fd, TESTER, DOIP_RA_SUCCESS);
        raw_activate(fd, TESTER, DOIP_RA_SUCCESS); /* the same again is fine */
        raw_activate(fd, TESTER + 1, DOIP_RA_SA_DIFFERENT);
        raw_expect_eof(fd);
        close(fd);
        st = stop();
        ck_assert_uint_eq(st.routing_denials, 3);
}
END_TEST

START_TEST(test_diag_without_routing) {
        const uint8_t tp[] = { 0x3E, 0x00 };
        uint8_t buf[64];
        DoipPayload p;
        int fd;

        start_default();
        fd = raw_connect();
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) {
                .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { TESTER, ENTITY, tp, sizeof(tp) } });
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.type, DOIP_TYPE_DIAG_NACK);
        ck_assert_uint_eq(p.diag_ack.code, DOIP_DIAG_NACK_INVALID_SA);
        raw_expect_eof(fd);
        close(fd);
        /* A source address other than the activated one. */
        fd = raw_connect();
        raw_activate(fd, TESTER, DOIP_RA_SUCCESS);
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) {
                .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { TESTER + 5, ENTITY, tp, sizeof(tp) } });
        p = raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_uint_eq(p.type, DOIP_TYPE_DIAG_NACK);
        ck_assert_uint_eq(p.diag_ack.code, DOIP_DIAG_NACK_INVALID_SA);
        raw_expect_eof(fd);
        close(fd);
        stop();
}
END_TEST

/* a answers the alive check the entity sends it. */
static void raw_answer_alive(int fd, uint16_t sa) {
        uint8_t buf[64];

        ck_assert_uint_eq(raw_recv(fd, buf, sizeof(buf), NULL).type, DOIP_TYPE_ALIVE_REQUEST);
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) { .type = DOIP_TYPE_ALIVE_RESPONSE, .alive_source_address = sa });
}

static void raw_request_activation(int fd, uint16_t sa) {
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) {
                .type = DOIP_TYPE_ROUTING_REQUEST, .routing_request = { .source_address = sa } });
}

static void raw_expect_routing(int fd, uint8_t code) {
        uint8_t buf[64];
        DoipPayload p = raw_recv(fd, buf, sizeof(buf), NULL);

        ck_assert_uint_eq(p.type, DOIP_TYPE_ROUTING_RESPONSE);
        ck_assert_uint_eq(p.routing_response.code, code);
}

START_TEST(test_all_sockets_in_use) {
        DoipServerOptions o;
        DoipServerStats st;
        int a, b, c;

        server_options(&o);
        o.max_sockets = 1;
        start(&o, false);
        a = raw_connect();
        raw_activate(a, TESTER, DOIP_RA_SUCCESS);
        /* b asks; a answers the alive check: b is denied with 0x01. */
        b = raw_connect();
        raw_request_activation(b, TESTER + 1);
        raw_answer_alive(a, TESTER);
        raw_expect_routing(b, DOIP_RA_ALL_SOCKETS_IN_USE);
        raw_expect_eof(b);
        close(b);
        /* c asks; a stays silent: a is closed, c gets the socket. */
        c = raw_connect();
        raw_request_activation(c, TESTER + 2);
        {
                uint8_t buf[64];

                ck_assert_uint_eq(raw_recv(a, buf, sizeof(buf), NULL).type, DOIP_TYPE_ALIVE_REQUEST);
        }
        raw_expect_routing(c, DOIP_RA_SUCCESS);
        raw_expect_eof(a);
        close(a);
        close(c);
        st = stop();
        ck_assert_uint_eq(st.routing_activations, 2);
        ck_assert_uint_eq(st.routing_denials, 1);
        ck_assert_uint_eq(st.alive_requests, 2);
        ck_assert_uint_eq(st.alive_responses, 1);
}
END_TEST

START_TEST(test_same_address_on_another_socket) {
        int a, b, c;

        start_default();
        a = raw_connect();
        raw_activate(a, TESTER, DOIP_RA_SUCCESS);
        b = raw_connect();
        raw_request_activation(b, TESTER);
        raw_answer_alive(a, TESTER);
        raw_expect_routing(b, DOIP_RA_SA_ACTIVE_ELSEWHERE);
        raw_expect_eof(b);
        close(b);
        /* The old socket is dead (silent): the address moves. */
        c = raw_connect();
        raw_request_activation(c, TESTER);
        {
                uint8_t buf[64];

                ck_assert_uint_eq(raw_recv(a, buf, sizeof(buf), NULL).type, DOIP_TYPE_ALIVE_REQUEST);
        }
        raw_expect_routing(c, DOIP_RA_SUCCESS);
        raw_expect_eof(a);
        close(a);
        close(c);
        stop();
}
END_TEST

START_TEST(test_discovery) {
        DoipPayload by_eid = { .type = DOIP_TYPE_VID_REQUEST_EID }, by_vin = { .type = DOIP_TYPE_VID_REQUEST_VIN };
        DoipDiscovered *d = NULL;
        size_t n = 0;

        start_default();
        ck_assert_uint_ne(fx.udp_port, 0);
        ck_assert_int_eq(doip_discover("127.0.0.1", fx.udp_port, DOIP_VERSION_DEFAULT, NULL, 1000, 1, &d, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_mem_eq(d[0].announcement.vin, vin, DOIP_VIN_SIZE);
        ck_assert_mem_eq(d[0].announcement.eid, eid, DOIP_EID_SIZE);
        ck_assert_uint_eq(d[0].announcement.logical_address, ENTITY);
        ck_assert_uint_eq(d[0].version, DOIP_VERSION_2012); /* the entity's for a 0xFF request */
        free(d);
        memcpy(by_eid.eid, eid, DOIP_EID_SIZE);
        ck_assert_int_eq(doip_discover("127.0.0.1", fx.udp_port, DOIP_VERSION_2019, &by_eid, 1000, 1, &d, &n), 0);
        ck_assert_uint_eq(d[0].version, DOIP_VERSION_2019);
        free(d);
        memcpy(by_vin.vin, vin, DOIP_VIN_SIZE);
        ck_assert_int_eq(doip_discover("127.0.0.1", fx.udp_port, DOIP_VERSION_2012, &by_vin, 1000, 1, &d, &n), 0);
        free(d);
        /* Not this vehicle: no answer. */
        by_vin.vin[0] = 'X';
        d = NULL;
        ck_assert_int_eq(doip_discover("127.0.0.1", fx.udp_port, DOIP_VERSION_2012, &by_vin, 200, 1, &d, &n), -ETIMEDOUT);
        ck_assert_ptr_null(d);
        ck_assert_int_eq(doip_discover("127.0.0.1", fx.udp_port, DOIP_VERSION_2012, &(DoipPayload) { .type = DOIP_TYPE_ALIVE_REQUEST }, 200, 1, &d, &n), -EINVAL);
        stop();
}
END_TEST

START_TEST(test_udp_status_and_nack) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct timeval tv = { .tv_sec = 2 };
        uint8_t buf[128], h[DOIP_HEADER_SIZE];
        DoipPayload p;
        size_t len;
        ssize_t n;
        int fd;

        start_default();
        sa.sin_port = htons(fx.udp_port);
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012,
                                            &(DoipPayload) { .type = DOIP_TYPE_ENTITY_STATUS_REQUEST }, &len), 0);
        ck_assert_int_eq(send(fd, buf, len, 0), (ssize_t) len);
        n = recv(fd, buf, sizeof(buf), 0);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(doip_message_parse(buf, (size_t) n, 0, NULL, &p), 0);
        ck_assert_uint_eq(p.type, DOIP_TYPE_ENTITY_STATUS);
        ck_assert_int_eq(p.entity_status.has_max_data_size, 1);
        ck_assert_uint_eq(p.entity_status.max_data_size, DOIP_MAX_PAYLOAD_DEFAULT + DOIP_HEADER_SIZE);
        /* A header the entity refuses: a generic NACK, on UDP too. */
        ck_assert_int_eq(doip_header_build(h, DOIP_VERSION_2012, DOIP_TYPE_VID_REQUEST, 1), 0);
        ck_assert_int_eq(send(fd, h, sizeof(h), 0), (ssize_t) sizeof(h));
        n = recv(fd, buf, sizeof(buf), 0);
        ck_assert_int_eq(doip_message_parse(buf, (size_t) n, 0, NULL, &p), 0);
        ck_assert_uint_eq(p.type, DOIP_TYPE_GENERIC_NACK);
        ck_assert_uint_eq(p.nack_code, DOIP_NACK_INVALID_LENGTH);
        close(fd);
        stop();
}
END_TEST

START_TEST(test_sd_event_loop) {
        const uint8_t routine[] = { 0x31, 0x01, 0x0A, 0x02 };
        uint8_t *resp = NULL, *big = malloc(200000);
        size_t len = 0;
        DoipServerOptions o;
        DoipServerStats st;
        DoipClientStats cs;
        DoipDiscovered *d = NULL;
        size_t n_found = 0;
        DoipClient *c;
        int fd;

        server_options(&o);
        o.pending_interval_ms = 100;
        o.general_inactivity_ms = 5000;
        o.initial_inactivity_ms = 300;
        start(&o, true);
        c = client_new(quick_pending);
        big[0] = 0x36;
        memset(big + 1, 0x5A, 200000 - 1);
        echo_ok(c, ENTITY, big, 200000);
        ck_assert_int_eq(doip_client_request(c, ENTITY, routine, sizeof(routine), 0, &resp, &len), 0);
        ck_assert_uint_eq(resp[0], 0x71);
        free(resp);
        echo_ok(c, ENTITY, (const uint8_t[]) { 0x11, 0x01 }, 2); /* alive check on the loop */
        ck_assert_int_eq(doip_discover("127.0.0.1", fx.udp_port, DOIP_VERSION_2012, NULL, 1000, 1, &d, &n_found), 0);
        free(d);
        /* The initial inactivity timer on sd-event. */
        fd = raw_connect();
        raw_expect_eof(fd);
        close(fd);
        doip_client_get_stats(c, &cs);
        ck_assert_uint_ge(cs.pending, 3);
        ck_assert_uint_eq(cs.connects, 1);
        doip_client_free(c);
        free(big);
        st = stop();
        ck_assert_uint_eq(st.accepted, 2);
        ck_assert_uint_eq(st.initial_timeouts, 1);
        ck_assert_uint_eq(st.alive_responses, 1);
}
END_TEST

START_TEST(test_server_options_checked) {
        DoipServerOptions o;
        DoipServer *s = NULL;

        server_options(&o);
        o.logical_address = 0;
        ck_assert_int_eq(doip_server_new(&o, &s), -EINVAL);
        o.logical_address = 0x0E80; /* a tester's */
        ck_assert_int_eq(doip_server_new(&o, &s), -EINVAL);
        server_options(&o);
        o.on_request = NULL;
        ck_assert_int_eq(doip_server_new(&o, &s), -EINVAL);
        server_options(&o);
        o.max_sockets = 256;
        ck_assert_int_eq(doip_server_new(&o, &s), -EINVAL);
        server_options(&o);
        o.max_payload = DOIP_MAX_PAYLOAD_LIMIT + 1;
        ck_assert_int_eq(doip_server_new(&o, &s), -EINVAL);
        server_options(&o);
        o.address = "localhost";
        ck_assert_int_eq(doip_server_new(&o, &s), -EINVAL);
        ck_assert_ptr_null(s);
        server_options(&o);
        ck_assert_int_eq(doip_server_new(&o, &s), 0);
        ck_assert_int_eq(doip_server_respond(s, TESTER, (const uint8_t *) "x", 1), -ENOTCONN);
        ck_assert_int_eq(doip_server_announce(s, "127.0.0.1", 9), 0);
        doip_server_free(s);
}
END_TEST

/* A fake entity that activates routing, reads one request, then breaks the
 * rules in one of these ways. */
typedef enum FakeMode {
        FAKE_FLOOD_ALIVE,          /* alive check requests without end */
        FAKE_RESPONSE_BEFORE_ACK,  /* the response, no ACK first */
        FAKE_WRONG_PATTERN,        /* 8 bytes of junk */
        FAKE_HUGE_LENGTH,          /* a header announcing 4 GiB */
        FAKE_TRICKLE,              /* the ACK, then a response a byte every 5 ms */
} FakeMode;

typedef struct Fake {
        int listen_fd;
        FakeMode mode;
        pthread_t thread;
        uint8_t nack_seen;         /* the generic NACK the client sent, 0xFF: none */
} Fake;

static void fake_read_message(int fd) {
        uint8_t h[DOIP_HEADER_SIZE], body[256];
        uint32_t len;

        raw_read_exact(fd, h, sizeof(h));
        len = (uint32_t) h[4] << 24 | (uint32_t) h[5] << 16 | (uint32_t) h[6] << 8 | h[7];
        ck_assert_uint_le(len, sizeof(body));
        raw_read_exact(fd, body, len);
}

static void *fake_thread(void *userdata) {
        static const uint8_t alive[] = { 0x02, 0xFD, 0x00, 0x07, 0, 0, 0, 0 };
        static const uint8_t junk[] = { 0x02, 0x02, 0x80, 0x01, 0, 0, 0, 5 };
        static const uint8_t huge[] = { 0x02, 0xFD, 0x80, 0x01, 0xFF, 0xFF, 0xFF, 0xF0 };
        Fake *f = userdata;
        struct timeval tv = { .tv_sec = 5 };
        uint8_t buf[64];
        int fd = accept(f->listen_fd, NULL, NULL);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
        fake_read_message(fd);
        raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) {
                .type = DOIP_TYPE_ROUTING_RESPONSE, .routing_response = { TESTER, ENTITY, DOIP_RA_SUCCESS } });
        fake_read_message(fd);
        switch (f->mode) {
        case FAKE_FLOOD_ALIVE:
                while (send(fd, alive, sizeof(alive), MSG_NOSIGNAL) == (ssize_t) sizeof(alive))
                        ;
                break;
        case FAKE_RESPONSE_BEFORE_ACK:
                raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) {
                        .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { ENTITY, TESTER, (const uint8_t[]) { 0x7E, 0x00 }, 2 } });
                break;
        case FAKE_TRICKLE:
                raw_send(fd, DOIP_VERSION_2012, &(DoipPayload) {
                        .type = DOIP_TYPE_DIAG_ACK, .diag_ack = { ENTITY, TESTER, DOIP_DIAG_ACK_OK } });
                raw_write(fd, (const uint8_t[]) { 0x02, 0xFD, 0x80, 0x01, 0, 0, 0x03, 0xE8, 0x10, 0x01, 0x0E, 0x80 }, 12);
                for (int i = 0; i < 600 && send(fd, "x", 1, MSG_NOSIGNAL) == 1; i++)
                        usleep(5000);
                break;
        case FAKE_WRONG_PATTERN:
        case FAKE_HUGE_LENGTH:
                raw_write(fd, f->mode == FAKE_WRONG_PATTERN ? junk : huge, 8);
                f->nack_seen = raw_recv(fd, buf, sizeof(buf), NULL).nack_code;
                break;
        }
        close(fd);
        return NULL;
}

/* Runs the fake entity in mode; the client's request gets want. */
static Fake *fake_run(FakeMode mode, int want) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        static Fake f;
        uint8_t *resp = NULL;
        size_t len = 0;
        DoipClient *c;
        uint64_t t0;

        f = (Fake) { .mode = mode, .nack_seen = 0xFF };
        f.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
        ck_assert_int_eq(bind(f.listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(f.listen_fd, 1), 0);
        ck_assert_int_eq(getsockname(f.listen_fd, (struct sockaddr *) &sa, &sl), 0);
        fx.port = ntohs(sa.sin_port);
        ck_assert_int_eq(pthread_create(&f.thread, NULL, fake_thread, &f), 0);
        c = client_new(short_ack);
        t0 = now_ms();
        ck_assert_int_eq(doip_client_request(c, ENTITY, (const uint8_t[]) { 0x3E, 0x00 }, 2, 0, &resp, &len), want);
        ck_assert_uint_lt(now_ms() - t0, 2000);
        ck_assert(!doip_client_connected(c));
        doip_client_free(c);
        ck_assert_int_eq(pthread_join(f.thread, NULL), 0);
        close(f.listen_fd);
        return &f;
}

START_TEST(test_misbehaving_entity) {
        /* Alive checks without end do not hold the tester past its deadline. */
        fake_run(FAKE_FLOOD_ALIVE, -ETIMEDOUT);
        fake_run(FAKE_RESPONSE_BEFORE_ACK, -EPROTO);
        ck_assert_uint_eq(fake_run(FAKE_WRONG_PATTERN, -EBADMSG)->nack_seen, DOIP_NACK_WRONG_PATTERN);
        ck_assert_uint_eq(fake_run(FAKE_HUGE_LENGTH, -EFBIG)->nack_seen, DOIP_NACK_TOO_LARGE);
        /* A response dribbled in does not hold it past its deadline either. */
        fake_run(FAKE_TRICKLE, -ETIMEDOUT);
}
END_TEST

static Suite *loop_suite(void) {
        Suite *s = suite_create("vnet_doip_loop");
        TCase *client = tcase_create("client"), *peers = tcase_create("peers"), *other = tcase_create("other");

        tcase_set_timeout(client, 60);
        tcase_set_timeout(peers, 60);
        tcase_set_timeout(other, 60);
        tcase_add_test(client, test_routing_and_echo);
        tcase_add_test(client, test_many_requests_one_connection);
        tcase_add_test(client, test_response_pending);
        tcase_add_test(client, test_slow_peer_times_out);
        tcase_add_test(client, test_endless_pending_capped);
        tcase_add_test(client, test_unknown_target_nack);
        tcase_add_test(client, test_too_large_diag_nack);
        tcase_add_test(client, test_alive_check_answered);
        tcase_add_test(client, test_general_reject_and_suppressed);
        tcase_add_test(client, test_reconnect_after_inactivity);
        tcase_add_test(client, test_client_errors);
        tcase_add_test(client, test_silent_entity_times_out);
        suite_add_tcase(s, client);
        tcase_add_test(peers, test_wrong_pattern_nack_and_close);
        tcase_add_test(peers, test_oversized_length_nack_keeps_stream);
        tcase_add_test(peers, test_invalid_length_and_unknown_type);
        tcase_add_test(peers, test_version_3_answered_in_kind);
        tcase_add_test(peers, test_message_split_and_batched);
        tcase_add_test(peers, test_never_activates_closed);
        tcase_add_test(peers, test_routing_denials);
        tcase_add_test(peers, test_diag_without_routing);
        tcase_add_test(peers, test_all_sockets_in_use);
        tcase_add_test(peers, test_same_address_on_another_socket);
        tcase_add_test(peers, test_misbehaving_entity);
        suite_add_tcase(s, peers);
        tcase_add_test(other, test_discovery);
        tcase_add_test(other, test_udp_status_and_nack);
        tcase_add_test(other, test_sd_event_loop);
        tcase_add_test(other, test_server_options_checked);
        suite_add_tcase(s, other);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(loop_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
