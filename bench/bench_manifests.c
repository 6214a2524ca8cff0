/* SPDX-License-Identifier: MIT */
/*
 * Load test of uptane-server's manifest intake: N vehicles, one thread and
 * one keep-alive connection each, register two ECUs (a Primary and a
 * Secondary, fresh ed25519 keys) and then PUT M vehicle version manifests,
 * each with two ECU reports carrying fresh nonces and the current time.
 *
 *   bench_manifests --url http://127.0.0.1:PORT --token-file FILE [OPTIONS]
 *
 * Prints throughput and latency percentiles, and a last line
 *   RESULT key=value ...
 * for scripts. With --acked FILE it appends "VIN,SERIAL,NONCE" (the Primary's
 * serial and report nonce) for every manifest answered 2xx, as soon as the
 * answer is in, so that a durability check can look for them after a crash.
 *
 * Bounded in count (N x M manifests) and in time: nothing is sent after
 * --time-limit seconds and no request outlives it. A vehicle stops at its
 * first transport error (the server is gone, or timed out).
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uptane/json.h"
#include "uptane/key.h"
#include "uptane/manifest.h"
#include "util.h"

#define MAX_VEHICLES 1000u
#define MAX_MANIFESTS 100000u
#define REQUEST_TIMEOUT_MS 30000L

typedef struct Options {
        const char *url;
        char *token;
        unsigned vehicles;
        unsigned manifests;
        double time_limit;
        const char *acked_path;
        const char *prefix;
} Options;

typedef struct Vehicle {
        const Options *o;
        char vin[64], pri[96], sec[96];
        UpKey *pri_key, *sec_key;
        bool registered;
        double register_ms;
        unsigned sent, accepted, refused, errors;
        double *latency_ms; /* of every manifest answered (any status) */
        size_t n_latency;
        double first_start, last_end;
        char detail[512]; /* the first problem, for the summary */
        pthread_t thread;
} Vehicle;

static double deadline;
static pthread_barrier_t registered_barrier;
static pthread_mutex_t acked_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *acked_file;

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void usage(FILE *f) {
        fputs("Usage: bench_manifests --url URL --token-file FILE [OPTIONS]\n"
              "  --url URL           the server, http://127.0.0.1:PORT\n"
              "  --token-file FILE   the provisioning token\n"
              "  --vehicles N        concurrent vehicles (default 50)\n"
              "  --manifests M       manifests per vehicle (default 20)\n"
              "  --time-limit S      hard limit on the whole run in seconds (default 120)\n"
              "  --acked FILE        append VIN,SERIAL,NONCE of each manifest answered 2xx\n"
              "  --prefix P          VIN prefix (default BENCH); serials are VIN-pri, VIN-sec\n",
              f);
}

/* --- HTTP ------------------------------------------------------------------- */

typedef struct Answer {
        char text[200];
        size_t len;
} Answer;

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
        Answer *a = userdata;
        size_t k = size * n, room = sizeof(a->text) - 1 - a->len;

        memcpy(a->text + a->len, p, k < room ? k : room);
        a->len += k < room ? k : room;
        a->text[a->len] = '\0';
        return size * n;
}

/* One request on the vehicle's connection: 0 and the HTTP status, or a
 * negative errno for a transport error (-ETIME: past the deadline). */
static int http_send(CURL *c, const char *method, const char *url, struct curl_slist *headers, const char *body,
                     size_t len, long *ret_status, double *ret_ms, Answer *a) {
        double start = now_s(), left = deadline - start;
        CURLcode cc;

        a->len = 0;
        a->text[0] = '\0';
        if (left <= 0) {
                snprintf(a->text, sizeof(a->text), "time limit reached");
                return -ETIME;
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                         left * 1000 < REQUEST_TIMEOUT_MS ? (long) (left * 1000) + 1 : REQUEST_TIMEOUT_MS);
        cc = curl_easy_perform(c);
        *ret_ms = (now_s() - start) * 1000;
        if (cc != CURLE_OK) {
                snprintf(a->text, sizeof(a->text), "%s", curl_easy_strerror(cc));
                return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNRESET;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
        return 0;
}

/* --- Messages --------------------------------------------------------------- */

static int registration_body(const Vehicle *v, char **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *ecus = json_object_new_array();
        const struct {
                const char *serial, *hwid;
                const UpKey *key;
        } e[] = { { v->pri, "bench-hw-pri", v->pri_key }, { v->sec, "bench-hw-sec", v->sec_key } };
        const char *s;

        if (!o || !ecus)
                return -ENOMEM;
        json_object_object_add(o, "vin", json_object_new_string(v->vin));
        json_object_object_add(o, "primary_ecu_serial", json_object_new_string(v->pri));
        json_object_object_add(o, "ecus", ecus);
        for (size_t i = 0; i < ELEMENTSOF(e); i++) {
                struct json_object *ecu = json_object_new_object();

                json_object_object_add(ecu, "ecu_serial", json_object_new_string(e[i].serial));
                json_object_object_add(ecu, "hardware_id", json_object_new_string(e[i].hwid));
                json_object_object_add(ecu, "public_key", up_key_to_json(e[i].key));
                json_object_array_add(ecus, ecu);
        }
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        return *ret ? 0 : -ENOMEM;
}

static int sign_report(const char *serial, const UpKey *key, unsigned counter, int64_t *ret_nonce,
                       UpEcuReportDoc **ret) {
        static const UpHashHex hash = {
                .alg = "sha256", .hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        };
        _cleanup_free_ char *buf = NULL;
        time_t now = time(NULL);
        UpEcuReport rep = {
                .ecu_serial = serial,
                .installed_image = { .filepath = "bench-fw-1.0.bin", .length = 0, .hashes = &hash, .n_hashes = 1 },
                .timeserver_time = now,
                .previous_timeserver_time = now - 1,
                .attacks_detected = "",
                .report_counter = counter,
        };
        size_t len;
        int r;

        r = up_nonce_generate(&rep.nonce);
        if (r >= 0)
                r = up_ecu_report_sign(&rep, key, &buf, &len);
        if (r >= 0)
                r = up_ecu_report_parse(buf, len, ret);
        if (r >= 0)
                *ret_nonce = rep.nonce;
        return r;
}

/* A manifest with fresh reports of both ECUs; *ret_nonce is the Primary's. */
static int manifest_body(const Vehicle *v, unsigned counter, char **ret, size_t *ret_len, int64_t *ret_nonce) {
        UpEcuReportDoc *docs[2] = {};
        int64_t sec_nonce;
        UpVehicleManifest m = {
                .vin = v->vin,
                .primary_ecu_serial = v->pri,
                .reports = (const UpEcuReportDoc *const *) docs,
                .n_reports = 2,
        };
        int r;

        r = sign_report(v->pri, v->pri_key, counter, ret_nonce, &docs[0]);
        if (r >= 0)
                r = sign_report(v->sec, v->sec_key, counter, &sec_nonce, &docs[1]);
        if (r >= 0)
                r = up_vehicle_manifest_sign(&m, v->pri_key, ret, ret_len);
        for (size_t i = 0; i < ELEMENTSOF(docs); i++)
                if (docs[i])
                        up_ecu_report_doc_free(docs[i]);
        return r;
}

/* --- A vehicle -------------------------------------------------------------- */

static void note(Vehicle *v, const char *what, long status, const char *text) {
        if (v->detail[0] == '\0')
                snprintf(v->detail, sizeof(v->detail), "%s: %s%ld %s", v->vin, what, status, text);
}

static void record_ack(const Vehicle *v, int64_t nonce) {
        if (!acked_file)
                return;
        pthread_mutex_lock(&acked_lock);
        fprintf(acked_file, "%s,%s,%" PRId64 "\n", v->vin, v->pri, nonce);
        fflush(acked_file);
        pthread_mutex_unlock(&acked_lock);
}

static void vehicle_register(Vehicle *v, CURL *c, const char *url, struct curl_slist *headers) {
        _cleanup_free_ char *body = NULL;
        Answer a;
        long status = 0;
        int r;

        r = registration_body(v, &body);
        if (r < 0) {
                note(v, "registration body ", 0, strerror(-r));
                return;
        }
        r = http_send(c, "POST", url, headers, body, strlen(body), &status, &v->register_ms, &a);
        if (r < 0)
                note(v, "registration: ", 0, a.text);
        else if (status / 100 != 2)
                note(v, "registration: HTTP ", status, a.text);
        else
                v->registered = true;
}

static void vehicle_post_manifests(Vehicle *v, CURL *c, const char *url, struct curl_slist *headers) {
        for (unsigned i = 0; i < v->o->manifests; i++) {
                _cleanup_free_ char *body = NULL;
                int64_t nonce = 0;
                double ms = 0, start = now_s();
                long status = 0;
                size_t len = 0;
                Answer a;
                int r;

                r = manifest_body(v, i + 1, &body, &len, &nonce);
                if (r < 0) {
                        note(v, "manifest body ", 0, strerror(-r));
                        return;
                }
                r = http_send(c, "PUT", url, headers, body, len, &status, &ms, &a);
                if (r == -ETIME)
                        return; /* the time is up */
                if (v->sent == 0)
                        v->first_start = start;
                v->sent++;
                if (r < 0) {
                        v->errors++;
                        note(v, "manifest: ", 0, a.text);
                        return; /* the server is gone */
                }
                v->last_end = now_s();
                v->latency_ms[v->n_latency++] = ms;
                if (status / 100 == 2) {
                        v->accepted++;
                        record_ack(v, nonce);
                } else {
                        v->refused++;
                        note(v, "manifest: HTTP ", status, a.text);
                }
        }
}

static void *vehicle_run(void *userdata) {
        Vehicle *v = userdata;
        _cleanup_free_ char *reg_url = NULL, *man_url = NULL, *auth = NULL;
        struct curl_slist *reg_headers = NULL, *man_headers = NULL;
        CURL *c = curl_easy_init();

        if (!c || asprintf(&reg_url, "%s/director/ecus", v->o->url) < 0 ||
            asprintf(&man_url, "%s/director/%s/manifest", v->o->url, v->vin) < 0 ||
            asprintf(&auth, "Authorization: Bearer %s", v->o->token) < 0)
                note(v, "setup failed", 0, "");
        else {
                curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
                curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
                /* No "Expect: 100-continue" round trip. */
                reg_headers = curl_slist_append(reg_headers, "Content-Type: application/json");
                reg_headers = curl_slist_append(reg_headers, "Expect:");
                reg_headers = curl_slist_append(reg_headers, auth);
                man_headers = curl_slist_append(man_headers, "Content-Type: application/json");
                man_headers = curl_slist_append(man_headers, "Expect:");
                vehicle_register(v, c, reg_url, reg_headers);
        }
        /* Every vehicle posts its manifests at the same time. */
        pthread_barrier_wait(&registered_barrier);
        if (v->registered && man_headers)
                vehicle_post_manifests(v, c, man_url, man_headers);
        curl_slist_free_all(reg_headers);
        curl_slist_free_all(man_headers);
        if (c)
                curl_easy_cleanup(c);
        return NULL;
}

/* --- Main ------------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int read_token(const char *path, char **ret) {
        char buf[512];
        FILE *f = fopen(path, "re");
        size_t n;

        if (!f)
                return -errno;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        if (buf[0] == '\0')
                return -EINVAL;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

static int parse_args(int argc, char **argv, Options *o) {
        enum { OPT_URL = 256, OPT_TOKEN, OPT_VEHICLES, OPT_MANIFESTS, OPT_TIME, OPT_ACKED, OPT_PREFIX };
        static const struct option options[] = {
                { "url", required_argument, NULL, OPT_URL },
                { "token-file", required_argument, NULL, OPT_TOKEN },
                { "vehicles", required_argument, NULL, OPT_VEHICLES },
                { "manifests", required_argument, NULL, OPT_MANIFESTS },
                { "time-limit", required_argument, NULL, OPT_TIME },
                { "acked", required_argument, NULL, OPT_ACKED },
                { "prefix", required_argument, NULL, OPT_PREFIX },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        unsigned seconds;
        int opt, r = 0;

        while (r >= 0 && (opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (opt) {
                case OPT_URL:       o->url = optarg; break;
                case OPT_TOKEN:
                        r = read_token(optarg, &o->token);
                        if (r < 0)
                                fprintf(stderr, "bench_manifests: no token in %s\n", optarg);
                        break;
                case OPT_VEHICLES:  r = parse_uint(optarg, 1, MAX_VEHICLES, &o->vehicles); break;
                case OPT_MANIFESTS: r = parse_uint(optarg, 0, MAX_MANIFESTS, &o->manifests); break;
                case OPT_TIME:
                        r = parse_uint(optarg, 1, 3600, &seconds);
                        o->time_limit = seconds;
                        break;
                case OPT_ACKED:     o->acked_path = optarg; break;
                case OPT_PREFIX:    o->prefix = optarg; break;
                case 'h':           usage(stdout); return 0;
                default:            return -EINVAL;
                }
        if (r < 0 || optind != argc || !o->url || !o->token) {
                usage(stderr);
                return -EINVAL;
        }
        if (strncmp(o->url, "http://127.0.0.1:", 17) != 0) {
                fprintf(stderr, "bench_manifests: only http://127.0.0.1:PORT is a target\n");
                return -EINVAL;
        }
        return 1;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v. */
static double percentile(const double *v, size_t n, double p) {
        double x = p / 100 * (double) n;
        size_t k = (size_t) x;

        if (n == 0)
                return 0;
        if ((double) k < x)
                k++;
        return v[k > 0 ? k - 1 : 0];
}

static int vehicles_setup(const Options *o, Vehicle *vs) {
        for (unsigned i = 0; i < o->vehicles; i++) {
                Vehicle *v = &vs[i];
                int r;

                v->o = o;
                snprintf(v->vin, sizeof(v->vin), "%s-%04u", o->prefix, i);
                snprintf(v->pri, sizeof(v->pri), "%s-pri", v->vin);
                snprintf(v->sec, sizeof(v->sec), "%s-sec", v->vin);
                r = up_key_generate(UP_SCHEME_ED25519, &v->pri_key);
                if (r >= 0)
                        r = up_key_generate(UP_SCHEME_ED25519, &v->sec_key);
                if (r < 0)
                        return r;
                v->latency_ms = calloc(o->manifests + 1, sizeof(double));
                if (!v->latency_ms)
                        return -ENOMEM;
        }
        return 0;
}

static void summarize(const Options *o, Vehicle *vs, double elapsed) {
        unsigned registered = 0, sent = 0, accepted = 0, refused = 0, errors = 0, finished = 0;
        double first = 0, last = 0, window, *all, reg_max = 0;
        size_t n = 0;

        all = calloc((size_t) o->vehicles * o->manifests + 1, sizeof(double));
        for (unsigned i = 0; i < o->vehicles; i++) {
                Vehicle *v = &vs[i];

                registered += v->registered;
                sent += v->sent;
                accepted += v->accepted;
                refused += v->refused;
                errors += v->errors;
                finished += v->sent == o->manifests && v->errors == 0;
                if (v->registered && v->register_ms > reg_max)
                        reg_max = v->register_ms;
                if (v->sent > 0 && (first == 0 || v->first_start < first))
                        first = v->first_start;
                if (v->last_end > last)
                        last = v->last_end;
                for (size_t k = 0; all && k < v->n_latency; k++)
                        all[n++] = v->latency_ms[k];
        }
        if (all)
                qsort(all, n, sizeof(double), cmp_double);
        window = last > first ? last - first : 0;
        printf("vehicles: %u, %u registered (slowest registration %.1f ms)\n", o->vehicles, registered, reg_max);
        printf("manifests: %u planned, %u sent, %u accepted (2xx), %u refused, %u transport errors\n",
               o->vehicles * o->manifests, sent, accepted, refused, errors);
        printf("vehicles that sent all their manifests: %u\n", finished);
        printf("time: %.2f s in all, %.2f s posting manifests\n", elapsed, window);
        printf("throughput: %.1f manifests/s accepted\n", window > 0 ? accepted / window : 0.0);
        if (all && n > 0)
                printf("latency (ms): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (%zu answers)\n",
                       percentile(all, n, 50), percentile(all, n, 90), percentile(all, n, 99), all[n - 1], n);
        for (unsigned i = 0, shown = 0; i < o->vehicles && shown < 5; i++)
                if (vs[i].detail[0]) {
                        printf("  problem: %s\n", vs[i].detail);
                        shown++;
                }
        printf("RESULT vehicles=%u registered=%u sent=%u accepted=%u refused=%u errors=%u elapsed_s=%.2f "
               "manifests_per_s=%.1f p50_ms=%.1f p99_ms=%.1f\n",
               o->vehicles, registered, sent, accepted, refused, errors, elapsed,
               window > 0 ? accepted / window : 0.0, all ? percentile(all, n, 50) : 0.0,
               all ? percentile(all, n, 99) : 0.0);
        free(all);
}

int main(int argc, char **argv) {
        Options o = { .vehicles = 50, .manifests = 20, .time_limit = 120, .prefix = "BENCH" };
        Vehicle *vs = NULL;
        unsigned started = 0;
        double start;
        int r;

        r = parse_args(argc, argv, &o);
        if (r <= 0) {
                free(o.token);
                return r == 0 ? EXIT_SUCCESS : 2;
        }
        start = now_s();
        deadline = start + o.time_limit;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "bench_manifests: curl_global_init failed\n");
                return EXIT_FAILURE;
        }
        if (o.acked_path) {
                acked_file = fopen(o.acked_path, "ae");
                if (!acked_file) {
                        fprintf(stderr, "bench_manifests: %s: %m\n", o.acked_path);
                        return EXIT_FAILURE;
                }
        }
        vs = calloc(o.vehicles, sizeof(Vehicle));
        r = vs ? vehicles_setup(&o, vs) : -ENOMEM;
        if (r < 0) {
                fprintf(stderr, "bench_manifests: cannot make the vehicles' keys: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        printf("%u vehicles x %u manifests against %s (time limit %.0f s)\n", o.vehicles, o.manifests, o.url,
               o.time_limit);
        fflush(stdout);
        pthread_barrier_init(&registered_barrier, NULL, o.vehicles);
        for (; started < o.vehicles; started++)
                if (pthread_create(&vs[started].thread, NULL, vehicle_run, &vs[started]) != 0)
                        break;
        if (started < o.vehicles) {
                /* The barrier counts on every vehicle: without them all, stop hard. */
                fprintf(stderr, "bench_manifests: cannot start %u threads\n", o.vehicles);
                return EXIT_FAILURE;
        }
        for (unsigned i = 0; i < started; i++)
                pthread_join(vs[i].thread, NULL);
        summarize(&o, vs, now_s() - start);
        pthread_barrier_destroy(&registered_barrier);
        if (acked_file)
                fclose(acked_file);
        for (unsigned i = 0; i < o.vehicles; i++) {
                up_key_unref(vs[i].pri_key);
                up_key_unref(vs[i].sec_key);
                free(vs[i].latency_ms);
        }
        free(vs);
        free(o.token);
        curl_global_cleanup();
        return EXIT_SUCCESS;
}
