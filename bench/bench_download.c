/* SPDX-License-Identifier: MIT */
/*
 * Wall time of up_image_download() for one image.
 *
 *   bench_download URL DIR LENGTH SHA256_HEX [SHA512_HEX]
 *
 * Downloads URL into DIR/image (any earlier copy and .part removed first,
 * so nothing is resumed) and prints "download SECONDS".
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "uptane/download.h"
#include "util.h"

static double now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int parse_hash(UpHashAlg alg, const char *hex, UpImageHash *ret) {
        _cleanup_free_ uint8_t *d = NULL;
        size_t len;
        int r;

        r = up_hex_decode(hex, strlen(hex), &d, &len);
        if (r < 0)
                return r;
        if (len != up_hash_alg_size(alg))
                return -EINVAL;
        ret->alg = alg;
        memcpy(ret->digest, d, len);
        return 0;
}

static void remove_old(const char *dir) {
        char p[4096];

        snprintf(p, sizeof(p), "%s/image", dir);
        (void) unlink(p);
        snprintf(p, sizeof(p), "%s/image.part", dir);
        (void) unlink(p);
}

int main(int argc, char *argv[]) {
        UpImageHash hashes[2];
        UpImageExpected e = { .hashes = hashes };
        double start;
        int r;

        if (argc < 5 || argc > 6) {
                fprintf(stderr, "usage: %s URL DIR LENGTH SHA256_HEX [SHA512_HEX]\n", argv[0]);
                return 2;
        }
        e.length = strtoull(argv[3], NULL, 10);
        if (parse_hash(UP_HASH_SHA256, argv[4], &hashes[e.n_hashes++]) < 0 ||
            (argc == 6 && parse_hash(UP_HASH_SHA512, argv[5], &hashes[e.n_hashes++]) < 0)) {
                fprintf(stderr, "bad hash\n");
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        remove_old(argv[2]);
        start = now();
        r = up_image_download(argv[1], argv[2], "image", &e, NULL);
        if (r < 0) {
                fprintf(stderr, "download: %s\n", strerror(-r));
                return 1;
        }
        printf("download %.3f\n", now() - start);
        curl_global_cleanup();
        return 0;
}
