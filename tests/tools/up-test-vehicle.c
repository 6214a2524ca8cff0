/* SPDX-License-Identifier: MIT */
/*
 * up-test-vehicle: the vehicle side of uptane-server's tests, built on
 * libuptane's key and message code.
 *
 *   up-test-vehicle keygen DIR SERIAL...
 *       one ed25519 key per ECU: DIR/SERIAL.key (private) and
 *       DIR/SERIAL.pub.json (its TUF public key object)
 *   up-test-vehicle registration DIR VIN PRIMARY_SERIAL SERIAL:HWID...
 *       prints the body of POST /director/ecus
 *   up-test-vehicle manifest DIR VIN PRIMARY_SERIAL [OPTIONS]
 *       prints a vehicle version manifest signed by the Primary's key
 *   up-test-vehicle attestation-check KEYFILE.pub.json NONCE... < ATTESTATION
 *       verifies a time attestation: signed by the key, every nonce listed
 *
 * Exit status: 0 success, 1 failure (a refused attestation too), 2 invalid arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "uptane/error.h"
#include "uptane/json.h"
#include "uptane/key.h"
#include "uptane/manifest.h"
#include "util.h"

#define EXIT_USAGE 2
#define MAX_ITEMS UP_VEHICLE_MANIFEST_MAX_ECUS

static void usage(FILE *f) {
        fputs("Usage: up-test-vehicle COMMAND [ARGS]\n"
              "The vehicle side of uptane-server's tests.\n\n"
              "  keygen DIR SERIAL...\n"
              "      one ed25519 key per ECU: DIR/SERIAL.key and DIR/SERIAL.pub.json\n"
              "  registration DIR VIN PRIMARY_SERIAL SERIAL:HWID...\n"
              "      prints the registration request (POST /director/ecus)\n"
              "  manifest DIR VIN PRIMARY_SERIAL [OPTIONS]\n"
              "      prints a vehicle version manifest signed by DIR/PRIMARY_SERIAL.key\n"
              "      --report SERIAL:FILEPATH:LENGTH:SHA256HEX[:NONCE[:TIME]]\n"
              "                  a report signed by DIR/SERIAL.key (repeatable). NONCE is\n"
              "                  random when empty or left out; TIME is YYYY-MM-DDTHH:MM:SSZ,\n"
              "                  @SECONDS, or +SECONDS/-SECONDS from now (default: now)\n"
              "      --installation-report SERIAL:ok|failed   an installation report item (repeatable)\n"
              "      --attack SERIAL:TEXT       attacks_detected of SERIAL's report\n"
              "      --sign-with SERIAL         sign the manifest with DIR/SERIAL.key instead (forgery)\n"
              "  attestation-check KEYFILE.pub.json NONCE... < ATTESTATION\n"
              "      verifies a time attestation with the public key; every NONCE must be listed\n",
              f);
}

/* --- Helpers ---------------------------------------------------------------- */

static int key_path(const char *dir, const char *serial, const char *suffix, char **ret) {
        /* A serial names a file here: keep it inside DIR. */
        if (serial[0] == '\0' || serial[0] == '.' || strchr(serial, '/'))
                return -EINVAL;
        return asprintf(ret, "%s/%s%s", dir, serial, suffix) < 0 ? -ENOMEM : 0;
}

static int load_ecu_key(const char *dir, const char *serial, UpKey **ret) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = key_path(dir, serial, ".key", &path);
        if (r < 0)
                return r;
        r = up_key_load_private(path, ret);
        if (r < 0)
                fprintf(stderr, "up-test-vehicle: cannot load %s: %s\n", path, strerror(-r));
        return r;
}

static int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        long long v;
        char *end;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* YYYY-MM-DDTHH:MM:SSZ, @SECONDS, +SECONDS or -SECONDS (from now). */
static int parse_time(const char *s, time_t now, time_t *ret) {
        struct tm tm = {};
        const char *end;
        int64_t v;

        if (s[0] == '@' || s[0] == '+' || s[0] == '-') {
                if (parse_int64(s + 1, 0, INT64_C(253402300799), &v) < 0)
                        return -EINVAL;
                *ret = s[0] == '@' ? (time_t) v : s[0] == '+' ? now + (time_t) v : now - (time_t) v;
                return *ret >= 0 ? 0 : -EINVAL;
        }
        end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end != '\0')
                return -EINVAL;
        *ret = timegm(&tm);
        return *ret >= 0 ? 0 : -EINVAL;
}

/* "SERIAL:REST" -> serial (malloc()ed) and REST (borrowed). */
static int split_serial(const char *arg, char **ret_serial, const char **ret_rest) {
        const char *colon = strchr(arg, ':');

        if (!colon || colon == arg)
                return -EINVAL;
        *ret_serial = strndup(arg, (size_t) (colon - arg));
        if (!*ret_serial)
                return -ENOMEM;
        *ret_rest = colon + 1;
        return 0;
}

/* --- keygen ----------------------------------------------------------------- */

static int write_public_key(const UpKey *key, const char *path) {
        _cleanup_json_ struct json_object *pub = up_key_to_json(key);

        if (!pub)
                return -ENOMEM;
        if (json_object_to_file_ext(path, pub, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
                return -EIO;
        return 0;
}

static int cmd_keygen(int argc, char **argv) {
        const char *dir;

        if (argc < 3)
                return -EINVAL;
        dir = argv[1];
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                int r = -errno;

                fprintf(stderr, "up-test-vehicle: cannot create %s: %s\n", dir, strerror(-r));
                return r;
        }
        for (int i = 2; i < argc; i++) {
                _cleanup_free_ char *priv = NULL, *pub = NULL;
                _cleanup_(up_key_unrefp) UpKey *key = NULL;
                int r;

                r = key_path(dir, argv[i], ".key", &priv);
                if (r >= 0)
                        r = key_path(dir, argv[i], ".pub.json", &pub);
                if (r < 0) {
                        fprintf(stderr, "up-test-vehicle: '%s' cannot name a key file\n", argv[i]);
                        return r;
                }
                r = up_key_generate(UP_SCHEME_ED25519, &key);
                if (r >= 0)
                        r = up_key_save_private(key, priv);
                if (r >= 0)
                        r = write_public_key(key, pub);
                if (r < 0) {
                        fprintf(stderr, "up-test-vehicle: key of %s: %s\n", argv[i], strerror(-r));
                        return r;
                }
        }
        return 0;
}

/* --- registration ----------------------------------------------------------- */

static int cmd_registration(int argc, char **argv) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *ecus;

        if (argc < 5)
                return -EINVAL;
        o = json_object_new_object();
        ecus = json_object_new_array();
        if (!o || !ecus)
                return -ENOMEM;
        json_object_object_add(o, "vin", json_object_new_string(argv[2]));
        json_object_object_add(o, "primary_ecu_serial", json_object_new_string(argv[3]));
        json_object_object_add(o, "ecus", ecus);
        for (int i = 4; i < argc; i++) {
                _cleanup_(up_key_unrefp) UpKey *key = NULL;
                _cleanup_free_ char *serial = NULL;
                struct json_object *ecu;
                const char *hwid;
                int r;

                if (split_serial(argv[i], &serial, &hwid) < 0 || hwid[0] == '\0') {
                        fprintf(stderr, "up-test-vehicle: expected SERIAL:HWID, got '%s'\n", argv[i]);
                        return -EINVAL;
                }
                r = load_ecu_key(argv[1], serial, &key);
                if (r < 0)
                        return r;
                ecu = json_object_new_object();
                if (!ecu)
                        return -ENOMEM;
                json_object_object_add(ecu, "ecu_serial", json_object_new_string(serial));
                json_object_object_add(ecu, "hardware_id", json_object_new_string(hwid));
                json_object_object_add(ecu, "public_key", up_key_to_json(key));
                json_object_array_add(ecus, ecu);
        }
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return fflush(stdout) == 0 ? 0 : -EIO;
}

/* --- manifest --------------------------------------------------------------- */

typedef struct ReportArg {
        char *serial;
        char *filepath;
        int64_t length;
        char *sha256;
        int64_t nonce;     /* -1: random */
        time_t time;
        const char *attack;
} ReportArg;

typedef struct ManifestArgs {
        ReportArg reports[MAX_ITEMS];
        size_t n_reports;
        UpInstallItem items[MAX_ITEMS];
        char *item_serials[MAX_ITEMS];
        size_t n_items;
        const char *sign_with;
} ManifestArgs;

static void manifest_args_done(ManifestArgs *a) {
        for (size_t i = 0; i < a->n_reports; i++) {
                free(a->reports[i].serial);
                free(a->reports[i].filepath);
                free(a->reports[i].sha256);
        }
        for (size_t i = 0; i < a->n_items; i++)
                free(a->item_serials[i]);
}

/* SERIAL:FILEPATH:LENGTH:SHA256HEX[:NONCE[:TIME]]; TIME may hold colons. */
static int parse_report(const char *arg, time_t now, ReportArg *ret) {
        _cleanup_free_ char *copy = strdup(arg);
        char *field[5] = {}, *p, *time_arg = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        p = copy;
        while (n < 5) {
                field[n++] = p;
                p = strchr(p, ':');
                if (!p)
                        break;
                *p++ = '\0';
        }
        if (n == 5 && p)
                time_arg = p;
        if (n < 4 || field[0][0] == '\0' || field[1][0] == '\0')
                return -EINVAL;
        *ret = (ReportArg) { .nonce = -1, .time = now };
        if (parse_int64(field[2], 0, INT64_MAX, &ret->length) < 0)
                return -EINVAL;
        if (n == 5 && field[4][0] != '\0' && parse_int64(field[4], 0, UP_NONCE_MAX, &ret->nonce) < 0)
                return -EINVAL;
        if (time_arg && parse_time(time_arg, now, &ret->time) < 0)
                return -EINVAL;
        ret->serial = strdup(field[0]);
        ret->filepath = strdup(field[1]);
        ret->sha256 = strdup(field[3]);
        if (!ret->serial || !ret->filepath || !ret->sha256) {
                free(ret->serial);
                free(ret->filepath);
                free(ret->sha256);
                return -ENOMEM;
        }
        return 0;
}

static ReportArg *find_report(ManifestArgs *a, const char *serial) {
        for (size_t i = 0; i < a->n_reports; i++)
                if (strcmp(a->reports[i].serial, serial) == 0)
                        return &a->reports[i];
        return NULL;
}

static int parse_manifest_args(int argc, char **argv, ManifestArgs *a) {
        enum { OPT_REPORT = 256, OPT_INSTALL, OPT_ATTACK, OPT_SIGN_WITH };
        static const struct option options[] = {
                { "report", required_argument, NULL, OPT_REPORT },
                { "installation-report", required_argument, NULL, OPT_INSTALL },
                { "attack", required_argument, NULL, OPT_ATTACK },
                { "sign-with", required_argument, NULL, OPT_SIGN_WITH },
                {}
        };
        /* Attacks may come before their report: kept until all are parsed. */
        const char *attacks[MAX_ITEMS];
        size_t n_attacks = 0;
        time_t now = time(NULL);
        int opt, r;

        optind = 4;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (opt) {
                case OPT_REPORT:
                        if (a->n_reports == MAX_ITEMS)
                                return -EFBIG;
                        r = parse_report(optarg, now, &a->reports[a->n_reports]);
                        if (r < 0) {
                                fprintf(stderr, "up-test-vehicle: invalid --report '%s'\n", optarg);
                                return r;
                        }
                        a->n_reports++;
                        break;
                case OPT_INSTALL: {
                        char *serial = NULL;
                        const char *result;

                        if (a->n_items == MAX_ITEMS)
                                return -EFBIG;
                        if (split_serial(optarg, &serial, &result) < 0 ||
                            (strcmp(result, "ok") != 0 && strcmp(result, "failed") != 0)) {
                                free(serial);
                                fprintf(stderr, "up-test-vehicle: expected SERIAL:ok|failed, got '%s'\n", optarg);
                                return -EINVAL;
                        }
                        a->item_serials[a->n_items] = serial;
                        a->items[a->n_items] = (UpInstallItem) {
                                .ecu_serial = serial,
                                .result = {
                                        .success = strcmp(result, "ok") == 0,
                                        .code = strcmp(result, "ok") == 0 ? "OK" : "INSTALL_FAILED",
                                        .description = strcmp(result, "ok") == 0 ? "installed" : "installation failed",
                                },
                        };
                        a->n_items++;
                        break;
                }
                case OPT_ATTACK:
                        if (n_attacks == MAX_ITEMS || !strchr(optarg, ':') || optarg[0] == ':')
                                return -EINVAL;
                        attacks[n_attacks++] = optarg;
                        break;
                case OPT_SIGN_WITH:
                        a->sign_with = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind != argc)
                return -EINVAL;
        for (size_t i = 0; i < n_attacks; i++) {
                _cleanup_free_ char *serial = NULL;
                const char *text;
                ReportArg *rep;

                r = split_serial(attacks[i], &serial, &text);
                if (r < 0)
                        return r;
                rep = find_report(a, serial);
                if (!rep) {
                        fprintf(stderr, "up-test-vehicle: --attack names %s, which has no --report\n", serial);
                        return -EINVAL;
                }
                rep->attack = text;
        }
        return 0;
}

static int sign_report(const char *dir, const ReportArg *ra, UpEcuReportDoc **ret) {
        _cleanup_(up_key_unrefp) UpKey *key = NULL;
        _cleanup_free_ char *buf = NULL;
        const UpHashHex hash = { .alg = "sha256", .hex = ra->sha256 };
        UpEcuReport rep = {
                .ecu_serial = ra->serial,
                .installed_image = {
                        .filepath = ra->filepath,
                        .length = ra->length,
                        .hashes = &hash,
                        .n_hashes = 1,
                },
                .timeserver_time = ra->time,
                .previous_timeserver_time = ra->time > 0 ? ra->time - 1 : 0,
                .attacks_detected = ra->attack ? ra->attack : "",
                .nonce = ra->nonce,
                .report_counter = 1,
        };
        size_t len;
        int r;

        r = load_ecu_key(dir, ra->serial, &key);
        if (r < 0)
                return r;
        if (rep.nonce < 0) {
                r = up_nonce_generate(&rep.nonce);
                if (r < 0)
                        return r;
        }
        r = up_ecu_report_sign(&rep, key, &buf, &len);
        if (r < 0) {
                fprintf(stderr, "up-test-vehicle: cannot sign the report of %s: %s\n", ra->serial, up_strerror(r));
                return r;
        }
        return up_ecu_report_parse(buf, len, ret);
}

static int cmd_manifest(int argc, char **argv) {
        _cleanup_(up_key_unrefp) UpKey *signer = NULL;
        _cleanup_free_ char *out = NULL;
        UpEcuReportDoc *docs[MAX_ITEMS] = {};
        ManifestArgs a = {};
        UpInstallationReport ir = { .correlation_id = "up-test-vehicle" };
        UpVehicleManifest m;
        size_t len;
        int r;

        if (argc < 4)
                return -EINVAL;
        r = parse_manifest_args(argc, argv, &a);
        if (r >= 0)
                r = load_ecu_key(argv[1], a.sign_with ? a.sign_with : argv[3], &signer);
        for (size_t i = 0; r >= 0 && i < a.n_reports; i++)
                r = sign_report(argv[1], &a.reports[i], &docs[i]);
        if (r >= 0) {
                m = (UpVehicleManifest) {
                        .vin = argv[2],
                        .primary_ecu_serial = argv[3],
                        .reports = (const UpEcuReportDoc *const *) docs,
                        .n_reports = a.n_reports,
                };
                if (a.n_items > 0) {
                        ir.items = a.items;
                        ir.n_items = a.n_items;
                        ir.result.success = true;
                        for (size_t i = 0; i < a.n_items; i++)
                                ir.result.success = ir.result.success && a.items[i].result.success;
                        ir.result.code = ir.result.success ? "OK" : "INSTALL_FAILED";
                        ir.result.description = ir.result.success ? "all installed" : "an installation failed";
                        m.installation_report = &ir;
                }
                r = up_vehicle_manifest_sign(&m, signer, &out, &len);
                if (r < 0)
                        fprintf(stderr, "up-test-vehicle: cannot sign the manifest: %s\n", up_strerror(r));
        }
        if (r >= 0) {
                fwrite(out, 1, len, stdout);
                putchar('\n');
                r = fflush(stdout) == 0 ? 0 : -EIO;
        }
        for (size_t i = 0; i < a.n_reports; i++)
                if (docs[i])
                        up_ecu_report_doc_free(docs[i]);
        manifest_args_done(&a);
        return r;
}

/* --- attestation-check ------------------------------------------------------ */

static int read_stdin(char **ret, size_t *ret_len, size_t max) {
        _cleanup_free_ char *buf = malloc(max + 1);
        size_t len = 0, n;

        if (!buf)
                return -ENOMEM;
        while ((n = fread(buf + len, 1, max + 1 - len, stdin)) > 0) {
                len += n;
                if (len > max)
                        return -EFBIG;
        }
        if (ferror(stdin))
                return -EIO;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int cmd_attestation_check(int argc, char **argv) {
        _cleanup_(up_time_attestation_doc_freep) UpTimeAttestationDoc *doc = NULL;
        _cleanup_(up_key_unrefp) UpKey *key = NULL;
        _cleanup_json_ struct json_object *key_json = NULL;
        _cleanup_free_ int64_t *nonces = NULL;
        _cleanup_free_ char *buf = NULL;
        char when[32];
        struct tm tm;
        time_t t;
        size_t len, n = (size_t) argc - 2;
        int r;

        if (argc < 3)
                return -EINVAL;
        nonces = calloc(n, sizeof(int64_t));
        if (!nonces)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (parse_int64(argv[i + 2], 0, UP_NONCE_MAX, &nonces[i]) < 0) {
                        fprintf(stderr, "up-test-vehicle: invalid nonce '%s'\n", argv[i + 2]);
                        return -EINVAL;
                }
        key_json = json_object_from_file(argv[1]);
        if (!key_json) {
                fprintf(stderr, "up-test-vehicle: cannot read a key from %s\n", argv[1]);
                return -EBADMSG;
        }
        r = up_key_from_json(key_json, &key);
        if (r < 0) {
                fprintf(stderr, "up-test-vehicle: %s: %s\n", argv[1], up_strerror(r));
                return r;
        }
        r = read_stdin(&buf, &len, UP_TIME_ATTESTATION_MAX_BYTES);
        if (r >= 0)
                r = up_time_attestation_parse(buf, len, &doc);
        if (r >= 0)
                r = up_time_attestation_verify_nonces(doc, key, nonces, n, 0);
        if (r < 0) {
                fprintf(stderr, "up-test-vehicle: attestation refused: %s\n",
                        r == -ESTALE ? "a nonce is not listed" : up_strerror(r));
                return r;
        }
        t = up_time_attestation_time(doc);
        if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(when, sizeof(when), "@%" PRId64, (int64_t) t);
        printf("attestation ok: time %s, %zu nonces\n", when, n);
        return 0;
}

int main(int argc, char **argv) {
        static const struct {
                const char *name;
                int (*run)(int argc, char **argv);
        } commands[] = {
                { "keygen", cmd_keygen },
                { "registration", cmd_registration },
                { "manifest", cmd_manifest },
                { "attestation-check", cmd_attestation_check },
        };

        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_USAGE : EXIT_SUCCESS;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                int r;

                if (strcmp(argv[1], commands[i].name) != 0)
                        continue;
                r = commands[i].run(argc - 1, argv + 1);
                if (r == -EINVAL) {
                        /* Wrong arguments (the rest says what went wrong itself). */
                        fprintf(stderr, "up-test-vehicle: invalid arguments for '%s' (see --help)\n", argv[1]);
                        return EXIT_USAGE;
                }
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        fprintf(stderr, "up-test-vehicle: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
}
