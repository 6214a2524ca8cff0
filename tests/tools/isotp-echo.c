/* SPDX-License-Identifier: MIT */
/*
 * isotp-echo: libvnet's ISO-TP link (src/vnet/isotp.c) on a real CAN
 * interface, for tests/vm/isotp-smoke.sh.
 *
 *   isotp-echo server IFACE --tx ID --rx ID [LINK OPTIONS] --count N [--ready FILE]
 *       answers N messages: each comes back with its first byte + 0x40, so
 *       a request "36 BSC data" returns as the positive response "76 BSC data"
 *   isotp-echo client IFACE --tx ID --rx ID [LINK OPTIONS] --sizes N,N,...
 *       sends a message of each size ("37" for one byte, else "36 BSC
 *       pattern"), checks the echo, and checks that a message over the
 *       kernel's limit fails with -EFBIG before anything is sent
 *
 * LINK OPTIONS: --ext (29-bit ids) --pad BYTE --bs N --stmin N (what we
 * advertise) --tx-stmin USEC --fd DL (CAN FD, frame data length DL)
 * --no-txtime (no frame transmission time between our frames) --timeout SEC
 * (per message, default 20). IDs are hex.
 * Exit: 0 pass, 1 fail, 2 usage, 77 no CAN in this kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isotp.h"

typedef struct Args {
        bool server;
        const char *ifname;
        IsotpOptions link;
        unsigned count;
        const char *sizes;
        const char *ready;
        unsigned timeout_sec;
} Args;

static int parse_number(const char *s, int base, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, base);
        if (errno != 0 || end == s || *end != '\0' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_option(Args *a, int c, const char *arg) {
        unsigned long v = 0;
        int r = 0;

        switch (c) {
        case 't': r = parse_number(arg, 16, ISOTP_CAN_EFF_MAX, &v); a->link.tx_id = (uint32_t) v; break;
        case 'r': r = parse_number(arg, 16, ISOTP_CAN_EFF_MAX, &v); a->link.rx_id = (uint32_t) v; break;
        case 'x': a->link.extended_ids = true; break;
        case 'p': r = parse_number(arg, 0, 255, &v); a->link.padding = (int) v; break;
        case 'b': r = parse_number(arg, 0, 255, &v); a->link.block_size = (uint8_t) v; break;
        case 's': r = parse_number(arg, 0, 255, &v); a->link.stmin = (uint8_t) v; break;
        case 'S': r = parse_number(arg, 0, 1000000, &v); a->link.tx_stmin_usec = (uint32_t) v; break;
        case 'f': r = parse_number(arg, 0, 64, &v); a->link.can_fd = true; a->link.tx_dl = (uint8_t) v; break;
        case 'N': a->link.frame_txtime_usec = ISOTP_FRAME_TXTIME_NONE; break;
        case 'n': r = parse_number(arg, 0, 1000000, &v); a->count = (unsigned) v; break;
        case 'z': a->sizes = arg; break;
        case 'R': a->ready = arg; break;
        case 'T': r = parse_number(arg, 0, 3600, &v); a->timeout_sec = (unsigned) v; break;
        default: r = -EINVAL;
        }
        return r;
}

static int parse_args(int argc, char **argv, Args *a) {
        static const struct option opts[] = {
                { "tx", required_argument, NULL, 't' },      { "rx", required_argument, NULL, 'r' },
                { "ext", no_argument, NULL, 'x' },           { "pad", required_argument, NULL, 'p' },
                { "bs", required_argument, NULL, 'b' },      { "stmin", required_argument, NULL, 's' },
                { "tx-stmin", required_argument, NULL, 'S' }, { "fd", required_argument, NULL, 'f' },
                { "count", required_argument, NULL, 'n' },   { "sizes", required_argument, NULL, 'z' },
                { "ready", required_argument, NULL, 'R' },   { "timeout", required_argument, NULL, 'T' },
                { "no-txtime", no_argument, NULL, 'N' },
                {}
        };
        int c;

        *a = (Args) { .link = isotp_options_default(0, 0), .timeout_sec = 20 };
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                if (parse_option(a, c, optarg) < 0)
                        return -EINVAL;
        if (argc - optind != 2)
                return -EINVAL;
        if (strcmp(argv[optind], "server") != 0 && strcmp(argv[optind], "client") != 0)
                return -EINVAL;
        a->server = strcmp(argv[optind], "server") == 0;
        a->ifname = argv[optind + 1];
        if (a->server ? a->count == 0 : !a->sizes)
                return -EINVAL;
        return 0;
}

static uint64_t deadline(const Args *a) {
        return uds_transport_now_usec() + (uint64_t) a->timeout_sec * 1000000u;
}

static int run_server(const Args *a, IsotpLink *l) {
        if (a->ready) {
                FILE *f = fopen(a->ready, "we");

                if (!f || fclose(f) != 0)
                        return -errno;
        }
        for (unsigned i = 0; i < a->count; i++) {
                uint8_t *msg;
                size_t len;
                int r;

                r = isotp_link_recv(l, &msg, &len, deadline(a));
                if (r < 0) {
                        fprintf(stderr, "server: message %u: receive: %s\n", i + 1, strerror(-r));
                        return r;
                }
                msg[0] = (uint8_t) (msg[0] + 0x40);
                r = isotp_link_send(l, msg, len);
                free(msg);
                if (r < 0) {
                        fprintf(stderr, "server: message %u: send: %s\n", i + 1, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static void fill(uint8_t *buf, size_t len, unsigned seq) {
        buf[0] = len == 1 ? 0x37 : 0x36;        /* RequestTransferExit, or TransferData */
        if (len > 1)
                buf[1] = (uint8_t) seq;
        for (size_t i = 2; i < len; i++)
                buf[i] = (uint8_t) (i * 7 + seq);
}

static int echo_one(const Args *a, IsotpLink *l, size_t size, unsigned seq) {
        uint8_t *out = malloc(size), *in = NULL;
        uint64_t start = uds_transport_now_usec();
        size_t len = 0;
        int r;

        if (!out)
                return -ENOMEM;
        fill(out, size, seq);
        r = isotp_link_send(l, out, size);
        if (r >= 0)
                r = isotp_link_recv(l, &in, &len, deadline(a));
        if (r >= 0 && (len != size || in[0] != (uint8_t) (out[0] + 0x40) || memcmp(in + 1, out + 1, size - 1) != 0))
                r = -EBADMSG;
        printf("%s %zu bytes: %s, %.1f ms\n", r < 0 ? "FAIL" : "ok", size, r < 0 ? strerror(-r) : "echoed",
               (double) (uds_transport_now_usec() - start) / 1000.0);
        free(out);
        free(in);
        return r;
}

static int run_client(const Args *a, IsotpLink *l) {
        char *list = strdup(a->sizes), *save = NULL;
        uint8_t *big;
        unsigned seq = 1;
        int r = 0;

        if (!list)
                return -ENOMEM;
        for (char *tok = strtok_r(list, ",", &save); tok && r >= 0; tok = strtok_r(NULL, ",", &save), seq++) {
                unsigned long size;

                r = parse_number(tok, 10, ISOTP_PDU_MAX, &size);
                if (r >= 0 && size == 0)
                        r = -EINVAL;
                if (r >= 0)
                        r = echo_one(a, l, size, seq);
        }
        free(list);
        if (r < 0)
                return r;

        big = calloc(1, ISOTP_PDU_MAX + 1);
        if (!big)
                return -ENOMEM;
        r = isotp_link_send(l, big, ISOTP_PDU_MAX + 1);
        free(big);
        printf("%s %u bytes: %s\n", r == -EFBIG ? "ok" : "FAIL", ISOTP_PDU_MAX + 1, strerror(-r));
        return r == -EFBIG ? 0 : -EPROTO;
}

int main(int argc, char **argv) {
        IsotpLink *l = NULL;
        Args a;
        int r;

        if (parse_args(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: isotp-echo server|client IFACE --tx ID --rx ID [--ext] [--pad B] [--bs N]\n"
                                "       [--stmin N] [--tx-stmin USEC] [--fd DL] [--no-txtime] [--timeout SEC]\n"
                                "       (--count N [--ready FILE] | --sizes N,N,...)\n");
                return 2;
        }
        r = isotp_link_open(a.ifname, &a.link, &l);
        if (r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT) {
                fprintf(stderr, "isotp-echo: no CAN ISO-TP in this kernel: %s\n", strerror(-r));
                return 77;
        }
        if (r < 0) {
                fprintf(stderr, "isotp-echo: %s: %s\n", a.ifname, strerror(-r));
                return 1;
        }
        r = a.server ? run_server(&a, l) : run_client(&a, l);
        isotp_link_free(l);
        return r < 0 ? 1 : 0;
}
