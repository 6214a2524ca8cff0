/* SPDX-License-Identifier: MIT */
/*
 * Verifications per second of up_key_verify() for each scheme, measured like
 * `openssl speed` does: operations divided by the CPU time they took.
 *
 *   bench_verify [SECONDS]
 *
 * Prints one "NAME OPS_PER_SECOND" line per scheme.
 */
#include <stdio.h>
#include <time.h>

#include "uptane/key.h"
#include "util.h"

typedef struct Bench {
        const char *name;
        UpKeyScheme scheme;
} Bench;

static const Bench benches[] = {
        { "ed25519", UP_SCHEME_ED25519 },
        { "ecdsa-p256", UP_SCHEME_ECDSA_SHA2_NISTP256 },
        { "rsa-3072-pss", UP_SCHEME_RSASSA_PSS_SHA256 },
};

static double cpu_seconds(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int run_one(const Bench *b, double seconds, double *ret) {
        uint8_t msg[256];
        _cleanup_free_ uint8_t *sig = NULL;
        UpKey *k = NULL;
        size_t sig_len = 0;
        unsigned long n = 0;
        double start, elapsed;
        int r;

        for (size_t i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t) i;

        r = up_key_generate(b->scheme, &k);
        if (r < 0)
                return r;

        r = up_key_sign(k, msg, sizeof(msg), &sig, &sig_len);
        if (r < 0)
                goto finish;

        start = cpu_seconds();
        do {
                /* Read the clock only now and then: it is not free. */
                for (int i = 0; i < 16; i++) {
                        r = up_key_verify(k, msg, sizeof(msg), sig, sig_len);
                        if (r < 0)
                                goto finish;
                }
                n += 16;
                elapsed = cpu_seconds() - start;
        } while (elapsed < seconds);

        *ret = (double) n / elapsed;
finish:
        up_key_unref(k);
        return r;
}

int main(int argc, char *argv[]) {
        double seconds = 1.0;
        int r;

        if (argc > 1) {
                seconds = strtod(argv[1], NULL);
                if (seconds <= 0) {
                        fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
                        return 2;
                }
        }

        for (size_t i = 0; i < ELEMENTSOF(benches); i++) {
                double rate = 0;

                r = run_one(&benches[i], seconds, &rate);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", benches[i].name, strerror(-r));
                        return 1;
                }
                printf("%s %.1f\n", benches[i].name, rate);
                fflush(stdout);
        }

        return 0;
}
