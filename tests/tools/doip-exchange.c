/* SPDX-License-Identifier: MIT */
/*
 * doip-exchange: a DoIP entity (libvnet's server on sd-event, a small UDS
 * ECU behind it) and a tester (libvnet's client, plus raw sockets for what
 * the client never does) talking over one address, for a capture that
 * tshark checks (tests/integration/doip-wire.sh):
 *
 *   UDP   vehicle identification (0xFF and with VIN), entity status, power mode
 *   TCP   routing activation; 10 02, 22 F190, 3E 00; 34 / 36 x 13 (200000
 *         bytes in blocks of 16000) / 37; 31 01 0A01 answered after responsePending;
 *         22 F190 to an unknown target (NACK 0x03); 11 01 with an alive
 *         check of the tester meanwhile;
 *   raw   2E F15A (512 bytes) written 32 bytes at a time; a message over the entity's maximum
 *         (generic NACK 0x02, skipped) followed by one it takes.
 *
 *   doip-exchange [--address ADDR] [--port PORT]     (127.0.0.1, 13400)
 *   doip-exchange --probe PORT [--address ADDR]
 *
 * --probe sends one UDP datagram to ADDR:PORT and exits: the test waits
 * for it in the capture to know that tshark sees the link.
 *
 * Prints "ok - STEP" / "not ok - STEP: why"; exits 0 when all passed.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "doip.h"
#include "doip_client.h"
#include "doip_server.h"

#define ENTITY 0x1001
#define UNKNOWN_TARGET 0x2222
#define TESTER 0x0E80
#define RAW_TESTER 0x0E81
/* The image goes in blocks (each well inside a TCP window: tshark would
 * flag a sender that fills the window, which is flow control, not DoIP). */
#define TRANSFER_SIZE 200000u
#define BLOCK_SIZE 16000u
#define MAX_PAYLOAD ((16u << 10) + 4u)

static const uint8_t vin[DOIP_VIN_SIZE] = "UPTANE0SECONDARY1";
static const uint8_t eid[DOIP_EID_SIZE] = { 0x02, 0x00, 0x5E, 0x10, 0x20, 0x30 };

static const char *arg_address = "127.0.0.1";
static uint16_t arg_port = DOIP_PORT;
static uint16_t arg_probe;

typedef struct Entity {
        DoipServer *server;
        sd_event *event;
        int stop_pipe[2];
        pthread_t thread;
        uint16_t slow_sa;
        uint8_t slow_resp[8];
        size_t slow_len;
} Entity;

static Entity entity;
static int failed;

static void report(const char *step, int r) {
        if (r >= 0)
                printf("ok - %s\n", step);
        else {
                printf("not ok - %s: %s\n", step, strerror(-r));
                failed++;
        }
}

static int reply(const uint8_t *data, size_t len, uint8_t **resp, size_t *resp_len) {
        uint8_t *r = malloc(len);

        if (!r)
                return -ENOMEM;
        memcpy(r, data, len);
        *resp = r;
        *resp_len = len;
        return 0;
}

static int on_slow(sd_event_source *s, uint64_t usec, void *userdata) {
        Entity *e = userdata;

        (void) s;
        (void) usec;
        (void) doip_server_respond(e->server, e->slow_sa, e->slow_resp, e->slow_len);
        return 0;
}

/* The ECU: just enough UDS for the capture to show each service. */
static int on_request(void *userdata, uint16_t tester_sa, const uint8_t *req, size_t len,
                      uint8_t **resp, size_t *resp_len) {
        Entity *e = userdata;

        switch (req[0]) {
        case 0x10:
                return reply((const uint8_t[]) { 0x50, len > 1 ? req[1] : 0, 0x00, 0x32, 0x01, 0xF4 }, 6, resp, resp_len);
        case 0x22: {
                uint8_t r[3 + DOIP_VIN_SIZE] = { 0x62, 0xF1, 0x90 };

                memcpy(r + 3, vin, DOIP_VIN_SIZE);
                return reply(r, sizeof(r), resp, resp_len);
        }
        case 0x3E:
                return reply((const uint8_t[]) { 0x7E, 0x00 }, 2, resp, resp_len);
        case 0x2E:
                if (len < 3)
                        return reply((const uint8_t[]) { 0x7F, 0x2E, 0x13 }, 3, resp, resp_len);
                return reply((const uint8_t[]) { 0x6E, req[1], req[2] }, 3, resp, resp_len);
        case 0x34: /* maxNumberOfBlockLength 16002: SID, counter and 16000 bytes */
                return reply((const uint8_t[]) { 0x74, 0x20, 0x3E, 0x82 }, 4, resp, resp_len);
        case 0x36:
                if (len < 3 || len > BLOCK_SIZE + 2)
                        return reply((const uint8_t[]) { 0x7F, 0x36, 0x13 }, 3, resp, resp_len);
                return reply((const uint8_t[]) { 0x76, req[1] }, 2, resp, resp_len);
        case 0x37:
                return reply((const uint8_t[]) { 0x77 }, 1, resp, resp_len);
        case 0x31:
                if (len < 4)
                        return reply((const uint8_t[]) { 0x7F, 0x31, 0x13 }, 3, resp, resp_len);
                e->slow_sa = tester_sa;
                memcpy(e->slow_resp, (const uint8_t[]) { 0x71, req[1], req[2], req[3], 0x00 }, 5);
                e->slow_len = 5;
                if (sd_event_add_time_relative(e->event, NULL, CLOCK_MONOTONIC, 350 * 1000, 1000, on_slow, e) < 0)
                        return -EIO;
                return -EINPROGRESS; /* responsePending every 100 ms until then */
        case 0x11:
                doip_server_alive_check(e->server);
                return reply((const uint8_t[]) { 0x51, len > 1 ? req[1] : 0 }, 2, resp, resp_len);
        default:
                return reply((const uint8_t[]) { 0x7F, req[0], 0x11 }, 3, resp, resp_len);
        }
}

static int on_stop(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) fd;
        (void) revents;
        (void) userdata;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void *entity_thread(void *userdata) {
        Entity *e = userdata;
        sd_event_source *stop = NULL;

        if (sd_event_add_io(e->event, &stop, e->stop_pipe[0], EPOLLIN, on_stop, e) < 0 ||
            doip_server_attach_event(e->server, e->event, 0) < 0) {
                fprintf(stderr, "doip-exchange: cannot run the entity\n");
                exit(EXIT_FAILURE);
        }
        (void) sd_event_loop(e->event);
        doip_server_detach_event(e->server);
        sd_event_source_disable_unref(stop);
        return NULL;
}

static int entity_start(void) {
        DoipServerOptions o;
        int r;

        doip_server_options_init(&o);
        o.address = arg_address;
        o.port = arg_port;
        o.logical_address = ENTITY;
        memcpy(o.vin, vin, sizeof(vin));
        memcpy(o.eid, eid, sizeof(eid));
        memcpy(o.gid, eid, sizeof(eid));
        o.max_payload = MAX_PAYLOAD;
        o.pending_interval_ms = 100;
        o.on_request = on_request;
        o.userdata = &entity;
        r = doip_server_new(&o, &entity.server);
        if (r < 0)
                return r;
        r = sd_event_new(&entity.event);
        if (r < 0)
                return r;
        if (pipe(entity.stop_pipe) < 0)
                return -errno;
        return -pthread_create(&entity.thread, NULL, entity_thread, &entity);
}

static void entity_stop(void) {
        DoipServerStats st;

        if (write(entity.stop_pipe[1], "x", 1) != 1)
                abort();
        (void) pthread_join(entity.thread, NULL);
        doip_server_get_stats(entity.server, &st);
        printf("entity: %llu connections, %llu requests, %llu responsePending, %llu generic NACKs, "
               "%llu diagnostic NACKs, %llu alive checks answered\n",
               (unsigned long long) st.accepted, (unsigned long long) st.requests,
               (unsigned long long) st.pending_sent, (unsigned long long) st.generic_nacks,
               (unsigned long long) st.diag_nacks, (unsigned long long) st.alive_responses);
        doip_server_free(entity.server);
        sd_event_unref(entity.event);
}

static int discovery(void) {
        DoipPayload by_vin = { .type = DOIP_TYPE_VID_REQUEST_VIN };
        DoipDiscovered *d = NULL;
        size_t n = 0;
        int r;

        r = doip_discover(arg_address, arg_port, DOIP_VERSION_DEFAULT, NULL, 2000, 1, &d, &n);
        if (r < 0)
                return r;
        r = d[0].announcement.logical_address == ENTITY && memcmp(d[0].announcement.vin, vin, DOIP_VIN_SIZE) == 0 ? 0 : -EBADMSG;
        free(d);
        if (r < 0)
                return r;
        memcpy(by_vin.vin, vin, DOIP_VIN_SIZE);
        r = doip_discover(arg_address, arg_port, DOIP_VERSION_2012, &by_vin, 2000, 1, &d, &n);
        free(r >= 0 ? d : NULL);
        return r;
}

static int address_of(struct sockaddr_storage *ss, socklen_t *len) {
        struct sockaddr_in *in4 = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, arg_address, &in4->sin_addr) == 1) {
                in4->sin_family = AF_INET;
                in4->sin_port = htons(arg_port);
                *len = sizeof(*in4);
                return 0;
        }
        if (inet_pton(AF_INET6, arg_address, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(arg_port);
                *len = sizeof(*in6);
                return 0;
        }
        return -EINVAL;
}

/* A socket connected to the entity (type: SOCK_STREAM or SOCK_DGRAM). */
static int raw_socket(int type) {
        struct timeval tv = { .tv_sec = 3 };
        struct sockaddr_storage ss;
        socklen_t len;
        int fd, one = 1;

        if (address_of(&ss, &len) < 0)
                return -EINVAL;
        fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (type == SOCK_STREAM)
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, (struct sockaddr *) &ss, len) < 0) {
                close(fd);
                return -errno;
        }
        return fd;
}

static int udp_ask(int fd, uint16_t type, uint16_t want) {
        DoipPayload p = { .type = type };
        uint8_t buf[128];
        size_t len;
        ssize_t n;

        if (doip_message_build(buf, sizeof(buf), DOIP_VERSION_2012, &p, &len) < 0 || send(fd, buf, len, 0) != (ssize_t) len)
                return -EIO;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0)
                return -errno;
        if (doip_message_parse(buf, (size_t) n, 0, NULL, &p) < 0 || p.type != want)
                return -EBADMSG;
        return 0;
}

static int udp_status(void) {
        int fd = raw_socket(SOCK_DGRAM), r;

        if (fd < 0)
                return fd;
        r = udp_ask(fd, DOIP_TYPE_ENTITY_STATUS_REQUEST, DOIP_TYPE_ENTITY_STATUS);
        if (r >= 0)
                r = udp_ask(fd, DOIP_TYPE_POWER_MODE_REQUEST, DOIP_TYPE_POWER_MODE);
        close(fd);
        return r;
}

/* One request; its response must start with want (want_len bytes). */
static int ask(DoipClient *c, uint16_t ta, const uint8_t *req, size_t len, const uint8_t *want, size_t want_len) {
        uint8_t *resp = NULL;
        size_t resp_len = 0;
        int r;

        r = doip_client_request(c, ta, req, len, 0, &resp, &resp_len);
        if (r < 0)
                return r;
        r = resp_len >= want_len && memcmp(resp, want, want_len) == 0 ? 0 : -EBADMSG;
        free(resp);
        return r;
}

/* The image, block by block (sequence counter from 1). */
static int transfer_data(DoipClient *c) {
        uint8_t *block = malloc(BLOCK_SIZE + 2);
        uint8_t bsc = 1;
        int r = 0;

        if (!block)
                return -ENOMEM;
        for (size_t off = 0; r >= 0 && off < TRANSFER_SIZE; off += BLOCK_SIZE, bsc++) {
                size_t n = TRANSFER_SIZE - off < BLOCK_SIZE ? TRANSFER_SIZE - off : BLOCK_SIZE;

                block[0] = 0x36;
                block[1] = bsc;
                for (size_t i = 0; i < n; i++)
                        block[i + 2] = (uint8_t) ((off + i) * 31 + 7);
                r = ask(c, ENTITY, block, n + 2, (const uint8_t[]) { 0x76, bsc }, 2);
        }
        free(block);
        return r;
}

static void tester(void) {
        DoipClientOptions o;
        DoipClient *c = NULL;
        int r;

        doip_client_options_init(&o);
        o.address = arg_address;
        o.port = arg_port;
        o.tester_address = TESTER;
        r = doip_client_new(&o, &c);
        if (r >= 0)
                r = doip_client_connect(c);
        report("routing activation", r);
        if (r < 0)
                return;
        report("10 02 session", ask(c, ENTITY, (const uint8_t[]) { 0x10, 0x02 }, 2, (const uint8_t[]) { 0x50, 0x02 }, 2));
        report("22 F190 VIN", ask(c, ENTITY, (const uint8_t[]) { 0x22, 0xF1, 0x90 }, 3, (const uint8_t[]) { 0x62, 0xF1, 0x90 }, 3));
        report("3E 00 tester present", ask(c, ENTITY, (const uint8_t[]) { 0x3E, 0x00 }, 2, (const uint8_t[]) { 0x7E }, 1));
        report("34 request download",
               ask(c, ENTITY, (const uint8_t[]) { 0x34, 0x00, 0x44, 0x08, 0x00, 0x00, 0x00, 0x00, 0x03, 0x0D, 0x40 }, 11,
                   (const uint8_t[]) { 0x74, 0x20 }, 2));
        r = transfer_data(c);
        report("36 transfer data (200000 bytes, 13 blocks)", r);
        report("37 request transfer exit", ask(c, ENTITY, (const uint8_t[]) { 0x37 }, 1, (const uint8_t[]) { 0x77 }, 1));
        report("31 01 0A01 after responsePending",
               ask(c, ENTITY, (const uint8_t[]) { 0x31, 0x01, 0x0A, 0x01 }, 4, (const uint8_t[]) { 0x71, 0x01, 0x0A, 0x01 }, 4));
        r = ask(c, UNKNOWN_TARGET, (const uint8_t[]) { 0x22, 0xF1, 0x90 }, 3, NULL, 0);
        report("unknown target: NACK 0x03",
               r == -EHOSTUNREACH && doip_client_diag_nack(c) == DOIP_DIAG_NACK_UNKNOWN_TA ? 0 : (r < 0 ? r : -EPROTO));
        report("11 01 with an alive check", ask(c, ENTITY, (const uint8_t[]) { 0x11, 0x01 }, 2, (const uint8_t[]) { 0x51, 0x01 }, 2));
        doip_client_free(c);
}

static int read_exact(int fd, uint8_t *buf, size_t len) {
        for (size_t got = 0; got < len;) {
                ssize_t n = recv(fd, buf + got, len - got, 0);

                if (n <= 0)
                        return n < 0 ? -errno : -ECONNRESET;
                got += (size_t) n;
        }
        return 0;
}

/* The next message's type and payload (buf: at least 64 bytes). */
static int raw_recv(int fd, uint8_t *buf, DoipPayload *ret) {
        DoipHeader h;
        int r;

        r = read_exact(fd, buf, DOIP_HEADER_SIZE);
        if (r < 0)
                return r;
        r = doip_header_parse(buf, DOIP_HEADER_SIZE, 64, &h, NULL);
        if (r < 0)
                return r;
        r = read_exact(fd, buf, h.length);
        if (r < 0)
                return r;
        return doip_payload_parse(h.type, buf, h.length, ret);
}

static int raw_write(int fd, const void *data, size_t len) {
        return send(fd, data, len, MSG_NOSIGNAL) == (ssize_t) len ? 0 : -EIO;
}

static int raw_send(int fd, const DoipPayload *p) {
        uint8_t *buf = NULL;
        size_t len;
        int r;

        r = doip_message_new(DOIP_VERSION_2012, p, &buf, &len);
        if (r >= 0)
                r = raw_write(fd, buf, len);
        free(buf);
        return r;
}

static int raw_expect(int fd, uint16_t type, uint8_t code) {
        uint8_t buf[64];
        DoipPayload p;
        int r = raw_recv(fd, buf, &p);

        if (r < 0)
                return r;
        if (p.type != type)
                return -EPROTO;
        if (type == DOIP_TYPE_GENERIC_NACK && p.nack_code != code)
                return -EPROTO;
        if ((type == DOIP_TYPE_DIAG_ACK || type == DOIP_TYPE_DIAG_NACK) && p.diag_ack.code != code)
                return -EPROTO;
        if (type == DOIP_TYPE_ROUTING_RESPONSE && p.routing_response.code != code)
                return -EPROTO;
        return 0;
}

/* 2E F15A with 509 bytes of data, written 32 bytes at a time (a message
 * over many TCP segments), then its ACK and response. */
static int raw_split(int fd) {
        uint8_t uds[512] = { 0x2E, 0xF1, 0x5A }, *buf = NULL;
        DoipPayload p = { .type = DOIP_TYPE_DIAG_MESSAGE, .diag = { RAW_TESTER, ENTITY, uds, sizeof(uds) } };
        size_t len;
        int r;

        for (size_t i = 3; i < sizeof(uds); i++)
                uds[i] = (uint8_t) i;
        r = doip_message_new(DOIP_VERSION_2012, &p, &buf, &len);
        for (size_t off = 0; r >= 0 && off < len; off += 32) {
                if (off > 0)
                        (void) usleep(5000); /* each piece a segment of its own */
                r = raw_write(fd, buf + off, len - off < 32 ? len - off : 32);
        }
        free(buf);
        if (r >= 0)
                r = raw_expect(fd, DOIP_TYPE_DIAG_ACK, DOIP_DIAG_ACK_OK);
        if (r >= 0)
                r = raw_expect(fd, DOIP_TYPE_DIAG_MESSAGE, 0);
        return r;
}

/* A diagnostic message over the entity's maximum: NACK 0x02 from its
 * header, the payload skipped, the next message taken. */
static int raw_too_large(int fd) {
        const size_t len = 20000; /* over MAX_PAYLOAD, inside a TCP window */
        uint8_t *m = calloc(1, DOIP_HEADER_SIZE + len);
        int r;

        if (!m)
                return -ENOMEM;
        (void) doip_header_build(m, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, (uint32_t) len);
        memcpy(m + DOIP_HEADER_SIZE, (const uint8_t[]) { RAW_TESTER >> 8, RAW_TESTER & 0xFF, ENTITY >> 8, ENTITY & 0xFF, 0x36, 0x02 }, 6);
        r = raw_write(fd, m, DOIP_HEADER_SIZE + len);
        free(m);
        if (r < 0)
                return r;
        r = raw_expect(fd, DOIP_TYPE_GENERIC_NACK, DOIP_NACK_TOO_LARGE);
        if (r < 0)
                return r;
        r = raw_send(fd, &(DoipPayload) { .type = DOIP_TYPE_DIAG_MESSAGE,
                                          .diag = { RAW_TESTER, ENTITY, (const uint8_t[]) { 0x3E, 0x00 }, 2 } });
        if (r >= 0)
                r = raw_expect(fd, DOIP_TYPE_DIAG_ACK, DOIP_DIAG_ACK_OK);
        if (r >= 0)
                r = raw_expect(fd, DOIP_TYPE_DIAG_MESSAGE, 0);
        return r;
}

/* Our FIN, then the entity's: no reset on the wire. */
static void raw_close(int fd) {
        uint8_t b;

        (void) shutdown(fd, SHUT_WR);
        while (recv(fd, &b, 1, 0) > 0)
                ;
        close(fd);
}

static void raw_tester(void) {
        int fd = raw_socket(SOCK_STREAM), r;

        if (fd < 0) {
                report("raw tester connects", fd);
                return;
        }
        r = raw_send(fd, &(DoipPayload) { .type = DOIP_TYPE_ROUTING_REQUEST, .routing_request = { .source_address = RAW_TESTER } });
        if (r >= 0)
                r = raw_expect(fd, DOIP_TYPE_ROUTING_RESPONSE, DOIP_RA_SUCCESS);
        report("raw tester: routing activation", r);
        report("raw tester: a request in 32-byte writes", raw_split(fd));
        report("raw tester: too large, generic NACK 0x02, stream kept", raw_too_large(fd));
        raw_close(fd);
}

static int probe(void) {
        int fd;

        arg_port = arg_probe;
        fd = raw_socket(SOCK_DGRAM);
        if (fd < 0)
                return fd;
        if (send(fd, "probe", 5, 0) != 5) {
                close(fd);
                return -EIO;
        }
        close(fd);
        return 0;
}

static int parse_args(int argc, char **argv) {
        static const struct option opts[] = {
                { "address", required_argument, NULL, 'a' },
                { "port", required_argument, NULL, 'p' },
                { "probe", required_argument, NULL, 'P' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'a':
                        arg_address = optarg;
                        break;
                case 'p':
                        arg_port = (uint16_t) strtoul(optarg, NULL, 10);
                        break;
                case 'P':
                        arg_probe = (uint16_t) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return -EINVAL;
                }
        return optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv) {
        int r;

        if (parse_args(argc, argv) < 0) {
                fprintf(stderr, "usage: doip-exchange [--address ADDR] [--port PORT] | --probe PORT\n");
                return 2;
        }
        if (arg_probe)
                return probe() < 0 ? 1 : 0;
        r = entity_start();
        if (r < 0) {
                fprintf(stderr, "doip-exchange: entity on %s port %u: %s\n", arg_address, arg_port, strerror(-r));
                return 1;
        }
        report("vehicle identification (UDP)", discovery());
        report("entity status and power mode (UDP)", udp_status());
        tester();
        raw_tester();
        entity_stop();
        printf("doip-exchange: %s\n", failed ? "FAILED" : "all passed");
        return failed ? 1 : 0;
}
