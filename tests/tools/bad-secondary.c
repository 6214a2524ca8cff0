/* SPDX-License-Identifier: MIT */
/*
 * bad-secondary: a DoIP entity that plays a Secondary well until one
 * request, and from then on misbehaves in the chosen way, for
 * tests/integration/primaryd-misbehaving.sh (issue 5: a dead, slow or
 * malicious Secondary is contained and reported).
 *
 *   bad-secondary --port PORT --logical-address LA --mode MODE [--trigger HEX[@N]]
 *                 [--listen ADDR] [--did DID=FILE]... [--did-string DID=TEXT]...
 *
 * Well-behaved, it activates routing, ACKs every diagnostic message and
 * answers: 22 (the DIDs given, else NRC 0x31), 10, 3E 00, 2E, 38 03 (blocks
 * of 1024 bytes), 36, 37, 31 01/03 (status record "ok"), 11; nothing is
 * kept. The first request whose bytes start with HEX (the N-th such one;
 * default: any request, the first) and every later match trigger MODE:
 *
 *   good             never misbehaves
 *   bad-header       an answer whose DoIP header has a wrong inverse version byte
 *   short-payload    ACK, then a diagnostic message header announcing 100 bytes
 *                    more than follow; then silence
 *   endless          ACK, then a header announcing 0xFFFFFFF0 bytes, and bytes
 *                    for as long as the tester reads
 *   trickle          ACK, then a 1 MiB diagnostic message, one byte every 20 ms
 *   silent           ACK, then never an answer
 *   pending-forever  ACK, then 7F SID 78 every 500 ms, for ever
 *   wrong-address    ACK, then the answer from logical address LA + 1
 *   wrong-sid        ACK, then a positive response to another service (SID + 0x41 + 1)
 *   uds-wrong-length ACK, then the positive response cut after its second byte
 *   truncated-did    ACK, then 62 DID and only 3 bytes of the DID's data
 *   bad-json         ACK, then 62 DID and a JSON document cut in the middle
 *   bad-signature    ACK, then 62 DID and the DID's data (a signed report) with
 *                    its first signature's first hex digit changed
 *   huge-did         ACK, then 62 DID and 100000 bytes (over the report's 64 KiB)
 *   close            closes the connection at once (no ACK)
 *
 * Each connection is served by a process of its own (a tester that gives up
 * and connects again is answered while the first one still misbehaves);
 * the count of matching requests is shared. Logs one line per connection
 * and per trigger on stderr. Runs until killed (SIGTERM ends the
 * connections' processes too).
 * Raw bytes where the point is to be wrong; libvnet's codec (doip.h) for
 * the rest.
 */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "doip.h"

#define MAX_DIDS 16
#define MAX_PAYLOAD (1u << 20)
#define BLOCK_LEN 0x0402u /* maxNumberOfBlockLength: 1024 data bytes */

typedef struct Did {
        uint16_t id;
        uint8_t *data;
        size_t len;
} Did;

static Did dids[MAX_DIDS];
static size_t n_dids;
static const char *arg_listen = "127.0.0.1";
static uint16_t arg_port;
static uint16_t arg_la;
static const char *arg_mode = "good";
static uint8_t trigger[64];
static size_t trigger_len;
static unsigned trigger_nth = 1;
static unsigned *matches; /* shared by the connections (one process each) */

static void sleep_ms(unsigned ms) {
        struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* 0 when all sent, -1 when the tester is gone. */
static int send_all(int fd, const void *buf, size_t len) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* 1 read, 0 EOF, -1 error */
static int read_all(int fd, uint8_t *buf, size_t len) {
        while (len > 0) {
                ssize_t n = read(fd, buf, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -1;
                if (n == 0)
                        return 0;
                buf += n;
                len -= (size_t) n;
        }
        return 1;
}

static int send_payload(int fd, const DoipPayload *p) {
        uint8_t *msg = NULL;
        size_t len;
        int r;

        if (doip_message_new(DOIP_VERSION_2012, p, &msg, &len) < 0)
                return -1;
        r = send_all(fd, msg, len);
        free(msg);
        return r;
}

static int send_diag(int fd, uint16_t sa, uint16_t ta, const uint8_t *uds, size_t len) {
        DoipPayload p = { .type = DOIP_TYPE_DIAG_MESSAGE,
                          .diag = { .source_address = sa, .target_address = ta, .data = uds, .len = len } };
        return send_payload(fd, &p);
}

static int send_ack(int fd, uint16_t ta, const uint8_t *req, size_t len) {
        DoipPayload p = { .type = DOIP_TYPE_DIAG_ACK,
                          .diag_ack = { .source_address = arg_la, .target_address = ta, .code = DOIP_DIAG_ACK_OK,
                                        .echo = req, .echo_len = len < 4 ? len : 4 } };
        return send_payload(fd, &p);
}

static const Did *did_find(uint16_t id) {
        for (size_t i = 0; i < n_dids; i++)
                if (dids[i].id == id)
                        return &dids[i];
        return NULL;
}

/* The well-behaved answer to req into out (at most size bytes); 0 bytes: none (3E 80). */
static size_t answer(const uint8_t *req, size_t len, uint8_t *out, size_t size) {
        uint8_t sid = req[0];
        const Did *d;

        switch (sid) {
        case 0x22:
                if (len == 3 && (d = did_find((uint16_t) (req[1] << 8 | req[2]))) && d->len + 3 <= size) {
                        out[0] = 0x62, out[1] = req[1], out[2] = req[2];
                        memcpy(out + 3, d->data, d->len);
                        return d->len + 3;
                }
                break;
        case 0x10:
                if (len == 2) {
                        memcpy(out, (uint8_t[]) { 0x50, req[1], 0x00, 0x32, 0x01, 0xF4 }, 6);
                        return 6;
                }
                break;
        case 0x3E:
                if (len == 2 && req[1] == 0x80)
                        return 0;
                memcpy(out, (uint8_t[]) { 0x7E, 0x00 }, 2);
                return 2;
        case 0x2E:
                if (len > 3) {
                        memcpy(out, (uint8_t[]) { 0x6E, req[1], req[2] }, 3);
                        return 3;
                }
                break;
        case 0x38:
                if (len > 2 && req[1] == 0x03) {
                        memcpy(out, (uint8_t[]) { 0x78, 0x03, 0x20, BLOCK_LEN >> 8, BLOCK_LEN & 0xFF, 0x00 }, 6);
                        return 6;
                }
                break;
        case 0x36:
                if (len >= 2) {
                        memcpy(out, (uint8_t[]) { 0x76, req[1] }, 2);
                        return 2;
                }
                break;
        case 0x37:
                out[0] = 0x77;
                return 1;
        case 0x31:
                if (len == 4) {
                        memcpy(out, (uint8_t[]) { 0x71, req[1], req[2], req[3], 0x00, 0x00 }, 6);
                        return 6;
                }
                break;
        case 0x11:
                if (len == 2) {
                        memcpy(out, (uint8_t[]) { 0x51, req[1] }, 2);
                        return 2;
                }
                break;
        default:
                break;
        }
        out[0] = 0x7F, out[1] = sid;
        out[2] = sid == 0x22 ? 0x31 : 0x11;
        return 3;
}

static bool triggered(const uint8_t *req, size_t len) {
        if (strcmp(arg_mode, "good") == 0)
                return false;
        if (len < trigger_len || memcmp(req, trigger, trigger_len) != 0)
                return false;
        return __atomic_add_fetch(matches, 1, __ATOMIC_SEQ_CST) >= trigger_nth;
}

/* Reads and drops what the tester sends until it closes. */
static void drain_until_closed(int fd) {
        uint8_t buf[4096];

        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

/* The answer to a triggering request: -1 when the connection is done. */
static int misbehave(int fd, uint16_t tester, const uint8_t *req, size_t len) {
        static uint8_t buf[MAX_PAYLOAD + 64];
        const char *m = arg_mode;
        size_t n;

        fprintf(stderr, "bad-secondary: %s on request %02X%02X%02X (%zu bytes)\n", m, req[0], len > 1 ? req[1] : 0,
                len > 2 ? req[2] : 0, len);
        if (strcmp(m, "close") == 0)
                return -1;
        if (strcmp(m, "bad-header") == 0) {
                /* version 2, inverse 0x00 instead of 0xFD, then a diagnostic ACK's payload */
                static const uint8_t bad[] = { 0x02, 0x00, 0x80, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0E, 0x80, 0x00 };
                (void) send_all(fd, bad, sizeof(bad));
                drain_until_closed(fd);
                return -1;
        }
        if (send_ack(fd, tester, req, len) < 0)
                return -1;
        if (strcmp(m, "short-payload") == 0) {
                uint8_t hdr[DOIP_HEADER_SIZE + 4];
                uint8_t rsp[] = { 0x7F, req[0], 0x10 };
                (void) doip_header_build(hdr, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, 4 + sizeof(rsp) + 100);
                memcpy(hdr + 8, (uint8_t[]) { arg_la >> 8, arg_la & 0xFF, tester >> 8, tester & 0xFF }, 4);
                if (send_all(fd, hdr, sizeof(hdr)) < 0 || send_all(fd, rsp, sizeof(rsp)) < 0)
                        return -1;
                drain_until_closed(fd);
                return -1;
        }
        if (strcmp(m, "endless") == 0 || strcmp(m, "trickle") == 0) {
                bool endless = m[0] == 'e';
                uint8_t hdr[DOIP_HEADER_SIZE + 4];
                (void) doip_header_build(hdr, DOIP_VERSION_2012, DOIP_TYPE_DIAG_MESSAGE, endless ? 0xFFFFFFF0u : 1u << 20);
                memcpy(hdr + 8, (uint8_t[]) { arg_la >> 8, arg_la & 0xFF, tester >> 8, tester & 0xFF }, 4);
                if (send_all(fd, hdr, sizeof(hdr)) < 0)
                        return -1;
                memset(buf, 0x62, 65536);
                for (;;) {
                        if (send_all(fd, buf, endless ? 65536 : 1) < 0)
                                return -1;
                        if (!endless)
                                sleep_ms(20);
                }
        }
        if (strcmp(m, "silent") == 0) {
                drain_until_closed(fd);
                return -1;
        }
        if (strcmp(m, "pending-forever") == 0) {
                uint8_t rsp[] = { 0x7F, req[0], 0x78 };
                for (;;) {
                        if (send_diag(fd, arg_la, tester, rsp, sizeof(rsp)) < 0)
                                return -1;
                        sleep_ms(500);
                }
        }
        n = answer(req, len, buf, sizeof(buf));
        if (strcmp(m, "wrong-address") == 0)
                return send_diag(fd, (uint16_t) (arg_la + 1), tester, buf, n ? n : 1);
        if (strcmp(m, "wrong-sid") == 0) {
                buf[0] = (uint8_t) (req[0] + 0x41 + 1);
                return send_diag(fd, arg_la, tester, buf, n ? n : 1);
        }
        if (strcmp(m, "uds-wrong-length") == 0)
                return send_diag(fd, arg_la, tester, buf, n < 2 ? n : 2);
        if (req[0] == 0x22 && len == 3) {
                size_t k = 3;
                memcpy(buf, (uint8_t[]) { 0x62, req[1], req[2] }, 3);
                if (strcmp(m, "truncated-did") == 0) {
                        memset(buf + 3, 0x00, 3);
                        k += 3;
                } else if (strcmp(m, "bad-json") == 0) {
                        static const char doc[] = "{\"signatures\":[{\"keyid\":\"00\",\"method\":\"ed25519\"";
                        memcpy(buf + 3, doc, sizeof(doc) - 1);
                        k += sizeof(doc) - 1;
                } else if (strcmp(m, "bad-signature") == 0) {
                        const Did *d = did_find((uint16_t) (req[1] << 8 | req[2]));
                        char *sig;
                        if (d) {
                                memcpy(buf + 3, d->data, d->len);
                                k += d->len;
                                buf[k] = 0;
                                sig = strstr((char *) buf + 3, "\"sig\"");
                                if (sig && (sig = strchr(sig + 5, '"')))
                                        sig[1] = sig[1] == '0' ? '1' : '0';
                        }
                } else if (strcmp(m, "huge-did") == 0) {
                        memset(buf + 3, '{', 100000);
                        k += 100000;
                }
                return send_diag(fd, arg_la, tester, buf, k);
        }
        fprintf(stderr, "bad-secondary: mode %s does not apply to this request: answered well\n", m);
        return n ? send_diag(fd, arg_la, tester, buf, n) : 0;
}

static void serve(int fd) {
        static uint8_t payload[MAX_PAYLOAD], out[MAX_PAYLOAD];
        uint16_t tester = 0x0E80;

        for (;;) {
                uint8_t hdr[DOIP_HEADER_SIZE], nack = 0;
                DoipHeader h;
                DoipPayload p;
                size_t n;

                if (read_all(fd, hdr, sizeof(hdr)) <= 0)
                        return;
                if (doip_header_parse(hdr, sizeof(hdr), MAX_PAYLOAD, &h, &nack) < 0) {
                        fprintf(stderr, "bad-secondary: a header it refuses (NACK 0x%02X)\n", nack);
                        return;
                }
                if (read_all(fd, payload, h.length) <= 0)
                        return;
                if (doip_payload_parse(h.type, payload, h.length, &p) < 0)
                        return;
                switch (h.type) {
                case DOIP_TYPE_ROUTING_REQUEST: {
                        DoipPayload rsp = { .type = DOIP_TYPE_ROUTING_RESPONSE,
                                            .routing_response = { .tester_address = p.routing_request.source_address,
                                                                  .entity_address = arg_la,
                                                                  .code = DOIP_RA_SUCCESS } };
                        tester = p.routing_request.source_address;
                        if (send_payload(fd, &rsp) < 0)
                                return;
                        break;
                }
                case DOIP_TYPE_ALIVE_RESPONSE:
                        break;
                case DOIP_TYPE_DIAG_MESSAGE:
                        if (p.diag.len == 0)
                                return;
                        if (triggered(p.diag.data, p.diag.len)) {
                                if (misbehave(fd, tester, p.diag.data, p.diag.len) < 0)
                                        return;
                                break;
                        }
                        if (send_ack(fd, tester, p.diag.data, p.diag.len) < 0)
                                return;
                        n = answer(p.diag.data, p.diag.len, out, sizeof(out));
                        if (n > 0 && send_diag(fd, arg_la, tester, out, n) < 0)
                                return;
                        break;
                default:
                        fprintf(stderr, "bad-secondary: payload type 0x%04X ignored\n", h.type);
                        break;
                }
        }
}

static int parse_hex(const char *s, uint8_t *buf, size_t size, size_t *ret_len) {
        size_t n = 0;

        for (; s[0] && s[1]; s += 2) {
                unsigned v;

                if (n == size || sscanf(s, "%2x", &v) != 1)
                        return -1;
                buf[n++] = (uint8_t) v;
        }
        if (*s)
                return -1;
        *ret_len = n;
        return 0;
}

static int add_did(const char *arg, bool is_file) {
        const char *eq = strchr(arg, '=');
        Did *d = &dids[n_dids];

        if (!eq || n_dids == MAX_DIDS)
                return -1;
        d->id = (uint16_t) strtoul(arg, NULL, 16);
        if (is_file) {
                FILE *f = fopen(eq + 1, "rb");
                long size;

                if (!f)
                        return -1;
                if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || size > (long) MAX_PAYLOAD / 2 ||
                    fseek(f, 0, SEEK_SET) < 0 || !(d->data = malloc((size_t) size + 1)) ||
                    fread(d->data, 1, (size_t) size, f) != (size_t) size) {
                        fclose(f);
                        return -1;
                }
                fclose(f);
                d->len = (size_t) size;
        } else {
                d->data = (uint8_t *) strdup(eq + 1);
                if (!d->data)
                        return -1;
                d->len = strlen(eq + 1);
        }
        n_dids++;
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "listen", required_argument, NULL, 'l' },
                { "port", required_argument, NULL, 'p' },
                { "logical-address", required_argument, NULL, 'a' },
                { "mode", required_argument, NULL, 'm' },
                { "trigger", required_argument, NULL, 't' },
                { "did", required_argument, NULL, 'd' },
                { "did-string", required_argument, NULL, 's' },
                {}
        };
        struct sockaddr_in sa = { .sin_family = AF_INET };
        int c, fd, one = 1;
        pid_t pid;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                char *at;

                switch (c) {
                case 'l': arg_listen = optarg; break;
                case 'p': arg_port = (uint16_t) strtoul(optarg, NULL, 0); break;
                case 'a': arg_la = (uint16_t) strtoul(optarg, NULL, 0); break;
                case 'm': arg_mode = optarg; break;
                case 't':
                        at = strchr(optarg, '@');
                        if (at) {
                                trigger_nth = (unsigned) strtoul(at + 1, NULL, 10);
                                *at = '\0';
                        }
                        if (parse_hex(optarg, trigger, sizeof(trigger), &trigger_len) < 0) {
                                fprintf(stderr, "bad-secondary: --trigger: not hex: %s\n", optarg);
                                return 2;
                        }
                        break;
                case 'd':
                case 's':
                        if (add_did(optarg, c == 'd') < 0) {
                                fprintf(stderr, "bad-secondary: --did: cannot take %s\n", optarg);
                                return 2;
                        }
                        break;
                default:
                        return 2;
                }
        }
        if (arg_port == 0 || arg_la == 0 || optind != argc) {
                fprintf(stderr, "Usage: bad-secondary --port PORT --logical-address LA --mode MODE [--trigger HEX[@N]] "
                                "[--listen ADDR] [--did DID=FILE]... [--did-string DID=TEXT]...\n");
                return 2;
        }
        matches = mmap(NULL, sizeof(*matches), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (matches == MAP_FAILED) {
                perror("bad-secondary: mmap");
                return 1;
        }
        sa.sin_port = htons(arg_port);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || inet_pton(AF_INET, arg_listen, &sa.sin_addr) != 1 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
                perror("bad-secondary: listen");
                return 1;
        }
        fprintf(stderr, "bad-secondary: mode %s listening on %s TCP port %u\n", arg_mode, arg_listen, arg_port);
        for (;;) {
                int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

                if (conn < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        perror("bad-secondary: accept");
                        return 1;
                }
                fprintf(stderr, "bad-secondary: a tester connected\n");
                /* an ACK and its answer are two writes: no Nagle wait between them */
                (void) setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                pid = fork();
                if (pid < 0) {
                        perror("bad-secondary: fork");
                        return 1;
                }
                if (pid == 0) {
                        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                        close(fd);
                        serve(conn);
                        close(conn);
                        fprintf(stderr, "bad-secondary: connection closed\n");
                        _exit(0);
                }
                close(conn);
                while (waitpid(-1, NULL, WNOHANG) > 0)
                        ;
        }
}
