/* SPDX-License-Identifier: MIT */
/*
 * Times up_json_parse() and up_cjson_encode() on a TUF-like targets document
 * with many entries, pretty-printed the way python-tuf writes metadata
 * (indent 1, sorted keys), generated in memory.
 *
 *   bench_cjson [N_ENTRIES]    (default 100000)
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "uptane/json.h"
#include "../src/lib/util.h"

#define RUNS 3

typedef struct Text {
        char *buf;
        size_t len, cap;
} Text;

static void text_printf(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(Text *t, const char *fmt, ...) {
        va_list ap;
        int n;

        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
                va_end(ap);
                if (n < 0)
                        abort();
                if ((size_t) n < t->cap - t->len)
                        break;
                t->cap = t->cap * 2 + (size_t) n + 1;
                t->buf = realloc(t->buf, t->cap);
                if (!t->buf)
                        abort();
        }
        t->len += (size_t) n;
}

static uint64_t splitmix64(uint64_t *state) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15u);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        return z ^ (z >> 31);
}

/* n_hex pseudo-random hex digits, the same for the same seed. */
static void fake_hash(uint64_t seed, size_t n_hex, char *ret) {
        for (size_t i = 0; i < n_hex; i += 16)
                snprintf(ret + i, 17, "%016" PRIx64, splitmix64(&seed));
        ret[n_hex] = '\0';
}

static void generate(Text *t, unsigned n_entries) {
        char sha256[64 + 1], sha512[128 + 1];

        text_printf(t, "{\n \"signatures\": [\n  {\n   \"keyid\": \"%064x\",\n   \"sig\": \"%0128x\"\n  }\n ],\n", 1u, 2u);
        text_printf(t, " \"signed\": {\n  \"_type\": \"targets\",\n  \"expires\": \"2030-01-01T00:00:00Z\",\n"
                       "  \"spec_version\": \"1.0.31\",\n  \"targets\": {\n");
        for (unsigned i = 0; i < n_entries; i++) {
                fake_hash(2 * (uint64_t) i, 64, sha256);
                fake_hash(2 * (uint64_t) i + 1, 128, sha512);
                text_printf(t,
                            "   \"path/file-%u.bin\": {\n"
                            "    \"custom\": {\n     \"hardwareIds\": [\n      \"hw-1\"\n     ]\n    },\n"
                            "    \"hashes\": {\n     \"sha256\": \"%s\",\n     \"sha512\": \"%s\"\n    },\n"
                            "    \"length\": %u\n"
                            "   }%s\n",
                            i, sha256, sha512, i, i + 1 < n_entries ? "," : "");
        }
        text_printf(t, "  },\n  \"version\": 1\n }\n}\n");
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double peak_rss_mb(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (double) ru.ru_maxrss / 1024.0; /* kB on Linux */
}

/* Bytes malloc has handed out, mmap()ed blocks included. */
static double heap_mb(void) {
        struct mallinfo2 mi = mallinfo2();

        return (double) (mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
}

static void report(const char *step, size_t bytes, double seconds, double heap_delta) {
        printf("%-14s %10zu bytes  %7.3f s  %8.1f MB/s  heap +%7.1f MB  peak RSS %7.1f MB\n",
               step, bytes, seconds, (double) bytes / seconds / 1e6, heap_delta, peak_rss_mb());
}

int main(int argc, char **argv) {
        const UpJsonLimits limits = { .max_bytes = 256u << 20, .max_depth = 32, .max_values = 16u << 20 };
        unsigned n_entries = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 100000;
        Text t = {};
        struct json_object *doc = NULL, *signed_obj;
        char *canonical = NULL;
        size_t canonical_len = 0;
        double best, h0;
        int r;

        generate(&t, n_entries);
        printf("document: %u entries, %zu bytes (%.1f MB), peak RSS %.1f MB\n",
               n_entries, t.len, (double) t.len / 1e6, peak_rss_mb());

        /* Best of RUNS; the heap figure is the tree json-c keeps. */
        best = 1e9;
        h0 = heap_mb();
        for (int i = 0; i < RUNS; i++) {
                double t0 = now();

                json_object_put(doc);
                doc = NULL;
                r = up_json_parse(t.buf, t.len, &limits, &doc);
                if (r < 0) {
                        fprintf(stderr, "up_json_parse: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                if (now() - t0 < best)
                        best = now() - t0;
        }
        report("parse", t.len, best, heap_mb() - h0);

        r = up_json_get_object(doc, "signed", &signed_obj);
        if (r < 0) {
                fprintf(stderr, "no signed: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        best = 1e9;
        h0 = heap_mb();
        for (int i = 0; i < RUNS; i++) {
                double t0 = now();

                free(canonical);
                canonical = NULL;
                r = up_cjson_encode(signed_obj, &canonical, &canonical_len);
                if (r < 0) {
                        fprintf(stderr, "up_cjson_encode: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                if (now() - t0 < best)
                        best = now() - t0;
        }
        report("canonicalize", canonical_len, best, heap_mb() - h0);
        printf("peak RSS / document size: %.2f\n", peak_rss_mb() * 1024 * 1024 / (double) t.len);

        free(canonical);
        json_object_put(doc);
        free(t.buf);
        return EXIT_SUCCESS;
}
