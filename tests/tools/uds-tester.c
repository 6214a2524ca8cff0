/* SPDX-License-Identifier: MIT */
/*
 * uds-tester ADDRESS PORT TARGET HEX...: sends each UDS request (hex, spaces
 * allowed inside one argument) over one DoIP connection to the entity's
 * logical address TARGET, and prints each response as hex on its own line
 * ("timeout" when none came, e.g. a suppressed response). Exit 0, or 1 when
 * the connection failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doip_client.h"

static int parse_hex(const char *s, uint8_t *buf, size_t size, size_t *ret_len) {
        size_t n = 0;
        int hi = -1;

        for (; *s; s++) {
                int v;

                if (*s == ' ' || *s == ':')
                        continue;
                if (*s >= '0' && *s <= '9')
                        v = *s - '0';
                else if (*s >= 'a' && *s <= 'f')
                        v = *s - 'a' + 10;
                else if (*s >= 'A' && *s <= 'F')
                        v = *s - 'A' + 10;
                else
                        return -EINVAL;
                if (hi < 0) {
                        hi = v;
                        continue;
                }
                if (n == size)
                        return -ENOBUFS;
                buf[n++] = (uint8_t) (hi << 4 | v);
                hi = -1;
        }
        if (hi >= 0 || n == 0)
                return -EINVAL;
        *ret_len = n;
        return 0;
}

int main(int argc, char **argv) {
        static uint8_t req[1 << 16];
        DoipClientOptions o;
        DoipClient *c = NULL;
        unsigned long target;
        int r;

        if (argc < 5) {
                fprintf(stderr, "Usage: uds-tester ADDRESS PORT TARGET HEX...\n");
                return 2;
        }
        doip_client_options_init(&o);
        o.address = argv[1];
        o.port = (uint16_t) strtoul(argv[2], NULL, 0);
        o.response_timeout_ms = 1000;
        target = strtoul(argv[3], NULL, 0);
        r = doip_client_new(&o, &c);
        if (r >= 0)
                r = doip_client_connect(c);
        if (r < 0) {
                fprintf(stderr, "uds-tester: cannot connect to %s:%s: %s\n", argv[1], argv[2], strerror(-r));
                doip_client_free(c);
                return 1;
        }
        for (int i = 4; i < argc; i++) {
                uint8_t *resp = NULL;
                size_t len, resp_len;

                if (parse_hex(argv[i], req, sizeof(req), &len) < 0) {
                        fprintf(stderr, "uds-tester: not hex: %s\n", argv[i]);
                        doip_client_free(c);
                        return 2;
                }
                r = doip_client_request(c, (uint16_t) target, req, len, 0, &resp, &resp_len);
                if (r == -ETIMEDOUT) {
                        puts("timeout");
                        continue;
                }
                if (r < 0) {
                        fprintf(stderr, "uds-tester: request %d: %s\n", i - 3, strerror(-r));
                        doip_client_free(c);
                        return 1;
                }
                for (size_t j = 0; j < resp_len; j++)
                        printf("%02X", resp[j]);
                putchar('\n');
                free(resp);
        }
        doip_client_free(c);
        return 0;
}
