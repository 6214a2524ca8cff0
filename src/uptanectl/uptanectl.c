/* SPDX-License-Identifier: MIT */
/*
 * uptanectl: asks uptane-primaryd over D-Bus (org.uptane.Primary1, see
 * docs/dbus.md) for its status and its ECUs, or to check for updates now.
 *
 * Exit status: 0 success, 1 any other failure, 64 usage error, 69 the daemon
 * (or the bus) is not reachable, 75 a check is running already, 77 the bus
 * policy denied the call.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "bus.h"

#ifndef PROJECT_VERSION
#define PROJECT_VERSION "unknown"
#endif

#define _cleanup_(f) __attribute__((cleanup(f)))

#define BUS_NAME "org.uptane.Primary1"
#define BUS_PATH "/org/uptane/Primary1"
#define BUS_INTERFACE "org.uptane.Primary1"
#define BUS_ERROR_BUSY "org.uptane.Primary1.Error.Busy"

#define USEC_PER_SEC UINT64_C(1000000)

typedef enum Verb {
        VERB_STATUS,
        VERB_CHECK,
        VERB_ECUS,
        VERB_HELP,
        VERB_VERSION,
} Verb;

static BusKind arg_bus_kind = BUS_KIND_SYSTEM;
static const char *arg_address = NULL;
static bool arg_json = false;
static Verb arg_verb = VERB_STATUS;

static void freep(void *p) {
        free(*(void **) p);
}

static void json_object_putp(json_object **j) {
        if (*j)
                json_object_put(*j);
}

static int streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static void help(void) {
        printf("Usage: uptanectl [--system|--user|--address ADDRESS] COMMAND [--json]\n"
               "Asks uptane-primaryd over D-Bus (%s).\n\n"
               "Commands:\n"
               "  status                 the daemon's state, progress, last and next check, VIN\n"
               "  check                  start an update check now\n"
               "  ecus                   the ECUs and their installed and pending images\n\n"
               "Options:\n"
               "  --system               talk to the system bus (default)\n"
               "  --user                 talk to the user bus\n"
               "  --address ADDRESS      talk to the bus at ADDRESS (e.g. unix:path=/run/test.sock)\n"
               "  --json                 print JSON (status, ecus)\n"
               "  -h --help              show this help\n"
               "  --version              show the version\n\n"
               "Exit status: 0 success, 1 failure, 64 usage error, 69 daemon not running,\n"
               "75 a check is running already, 77 permission denied.\n",
               BUS_NAME);
}

/* < 0: usage error, reported. */
static int parse_argv(int argc, char **argv) {
        enum { ARG_SYSTEM = 256, ARG_USER, ARG_ADDRESS, ARG_JSON, ARG_VERSION };
        static const struct option options[] = {
                { "system", no_argument, NULL, ARG_SYSTEM },
                { "user", no_argument, NULL, ARG_USER },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        static const char *const verbs[] = {
                [VERB_STATUS] = "status", [VERB_CHECK] = "check", [VERB_ECUS] = "ecus"
        };
        bool help_or_version = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_SYSTEM:
                        arg_bus_kind = BUS_KIND_SYSTEM;
                        break;
                case ARG_USER:
                        arg_bus_kind = BUS_KIND_USER;
                        break;
                case ARG_ADDRESS:
                        arg_bus_kind = BUS_KIND_ADDRESS;
                        arg_address = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case 'h':
                        arg_verb = VERB_HELP;
                        help_or_version = true;
                        break;
                case ARG_VERSION:
                        arg_verb = VERB_VERSION;
                        help_or_version = true;
                        break;
                default:
                        return -EINVAL; /* getopt said why */
                }
        if (help_or_version)
                return 0;

        if (optind + 1 != argc) {
                fprintf(stderr, "uptanectl: %s (see --help)\n",
                        optind >= argc ? "a command is needed: status, check or ecus" : "one command only");
                return -EINVAL;
        }
        for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
                if (streq(argv[optind], verbs[v])) {
                        arg_verb = (Verb) v;
                        return 0;
                }
        fprintf(stderr, "uptanectl: unknown command '%s' (see --help)\n", argv[optind]);
        return -EINVAL;
}


static void bus_describe(char *buf, size_t size) {
        if (arg_bus_kind == BUS_KIND_ADDRESS)
                snprintf(buf, size, "the bus at %s", arg_address);
        else
                snprintf(buf, size, "the %s bus", arg_bus_kind == BUS_KIND_SYSTEM ? "system" : "user");
}

/* Reports a failed call; returns the exit status it means. */
static int call_failed(const char *what, const sd_bus_error *e, int r) {
        char where[512];

        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                bus_describe(where, sizeof(where));
                fprintf(stderr, "uptanectl: uptane-primaryd is not running (%s not on %s)\n",
                        BUS_NAME, where);
                return EX_UNAVAILABLE;
        }
        if (sd_bus_error_has_name(e, BUS_ERROR_BUSY)) {
                fprintf(stderr, "uptanectl: an update check is running already; try again later\n");
                return EX_TEMPFAIL;
        }
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED)) {
                fprintf(stderr, "uptanectl: %s: permission denied (%s)\n", what,
                        e->message ?: "the bus policy refused the call");
                return EX_NOPERM;
        }
        fprintf(stderr, "uptanectl: %s failed: %s\n", what,
                sd_bus_error_is_set(e) && e->message ? e->message : strerror(-r));
        return EXIT_FAILURE;
}

static int bad_reply(const char *what, int r) {
        fprintf(stderr, "uptanectl: unexpected reply to %s: %s\n", what, strerror(-r));
        return EXIT_FAILURE;
}

static int output_done(void) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "uptanectl: cannot write the output: %m\n");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* The terminal sees no control characters from the daemon (C0, DEL, C1): '?' instead. */
static void print_safe(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                        putchar('?');
                        p++;
                } else
                        putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
        }
}

/* Characters on the terminal as print_safe() prints s: UTF-8 code points (wide ones count one). */
static size_t display_width(const char *s) {
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                n += (*p & 0xc0) != 0x80;
        return n;
}

static void print_padded(const char *s, size_t width) {
        print_safe(s);
        for (size_t w = display_width(s); w < width; w++)
                putchar(' ');
}

static void print_field(const char *label, const char *value) {
        printf("%-15s ", label);
        print_safe(value);
        putchar('\n');
}

/* CLOCK_REALTIME µs as local time, or none_text for 0. */
static void print_time_field(const char *label, uint64_t usec, const char *none_text) {
        char buf[64];
        struct tm tm;
        time_t t;

        if (usec == 0) {
                print_field(label, none_text);
                return;
        }
        t = (time_t) (usec / USEC_PER_SEC);
        if (!localtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, sizeof(buf), "@%llu", (unsigned long long) t);
        print_field(label, buf);
}

typedef struct Status {
        const char *state, *last_result, *vin, *primary_serial; /* point into the reply */
        uint64_t progress_done, progress_total, last_check_usec, next_check_usec;
} Status;

/* Reads the value of one GetAll entry; unknown properties are skipped (newer daemons). */
static int read_status_property(sd_bus_message *m, const char *name, Status *s) {
        if (streq(name, "State"))
                return sd_bus_message_read(m, "v", "s", &s->state);
        if (streq(name, "Progress"))
                return sd_bus_message_read(m, "v", "(tt)", &s->progress_done, &s->progress_total);
        if (streq(name, "LastCheck"))
                return sd_bus_message_read(m, "v", "t", &s->last_check_usec);
        if (streq(name, "LastResult"))
                return sd_bus_message_read(m, "v", "s", &s->last_result);
        if (streq(name, "NextCheck"))
                return sd_bus_message_read(m, "v", "t", &s->next_check_usec);
        if (streq(name, "Vin"))
                return sd_bus_message_read(m, "v", "s", &s->vin);
        if (streq(name, "PrimarySerial"))
                return sd_bus_message_read(m, "v", "s", &s->primary_serial);
        return sd_bus_message_skip(m, "v");
}

static int read_status(sd_bus_message *m, Status *s) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = read_status_property(m, name, s);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static void print_status_text(const Status *s) {
        char buf[128];

        print_field("State:", s->state);
        if (s->progress_total == 0)
                snprintf(buf, sizeof(buf), "none");
        else {
                /* Floating point: done * 100 could overflow; done > total shows 100%. */
                double pct = s->progress_done >= s->progress_total ? 100.0 :
                        100.0 * (double) s->progress_done / (double) s->progress_total;
                snprintf(buf, sizeof(buf), "%llu / %llu bytes (%u%%)",
                         (unsigned long long) s->progress_done, (unsigned long long) s->progress_total,
                         (unsigned) pct);
        }
        print_field("Progress:", buf);
        print_time_field("Last check:", s->last_check_usec, "never");
        print_field("Last result:", *s->last_result ? s->last_result : "-");
        print_time_field("Next check:", s->next_check_usec, "none planned");
        print_field("VIN:", s->vin);
        print_field("Primary serial:", s->primary_serial);
}

static int json_add(json_object *o, const char *key, json_object *v) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* Prints j on one line. */
static int print_json(json_object *j) {
        const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!text)
                return -ENOMEM;
        puts(text);
        return 0;
}

static int print_status_json(const Status *s) {
        _cleanup_(json_object_putp) json_object *j = json_object_new_object();
        int r = j ? 0 : -ENOMEM;

        /* Same names and meanings as the D-Bus properties: µs since the epoch, 0 = none. */
        if (r >= 0)
                r = json_add(j, "state", json_object_new_string(s->state));
        if (r >= 0)
                r = json_add(j, "progress_done", json_object_new_uint64(s->progress_done));
        if (r >= 0)
                r = json_add(j, "progress_total", json_object_new_uint64(s->progress_total));
        if (r >= 0)
                r = json_add(j, "last_check_usec", json_object_new_uint64(s->last_check_usec));
        if (r >= 0)
                r = json_add(j, "last_result", json_object_new_string(s->last_result));
        if (r >= 0)
                r = json_add(j, "next_check_usec", json_object_new_uint64(s->next_check_usec));
        if (r >= 0)
                r = json_add(j, "vin", json_object_new_string(s->vin));
        if (r >= 0)
                r = json_add(j, "primary_serial", json_object_new_string(s->primary_serial));
        if (r >= 0)
                r = print_json(j);
        return r;
}

static int verb_status(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Status s = { .state = "", .last_result = "", .vin = "", .primary_serial = "" };
        int r;

        /* GetAll: one round trip, one consistent snapshot. */
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", BUS_INTERFACE);
        if (r < 0)
                return call_failed("reading the status", &error, r);
        r = read_status(reply, &s);
        if (r < 0)
                return bad_reply("GetAll", r);

        if (arg_json) {
                r = print_status_json(&s);
                if (r < 0)
                        return bad_reply("GetAll", r);
        } else
                print_status_text(&s);
        return output_done();
}

static int verb_check(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "CheckNow", &error, NULL, NULL);
        if (r < 0)
                return call_failed("CheckNow", &error, r);
        if (arg_json)
                puts("{\"started\":true}");
        else
                puts("check started");
        return output_done();
}

typedef struct Ecu {
        const char *serial, *hardware_id, *installed_target, *installed_sha256, *pending_target;
        int primary;
} Ecu;

#define ECUS_MAX 1024u /* more is a broken daemon, not a vehicle */
#define SHA256_SHOWN 12u /* hex digits in the table, as git abbreviates */

/* Fills ecus (pointing into m) and *ret_n. */
static int read_ecus(sd_bus_message *m, Ecu *ecus, size_t *ret_n) {
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ssbsss)");
        if (r < 0)
                return r;
        for (;;) {
                Ecu e;

                r = sd_bus_message_read(m, "(ssbsss)", &e.serial, &e.hardware_id, &e.primary,
                                        &e.installed_target, &e.installed_sha256, &e.pending_target);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (n == ECUS_MAX)
                        return -E2BIG;
                ecus[n++] = e;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret_n = n;
        return 0;
}

static const char *dash_if_empty(const char *s) {
        return *s ? s : "-";
}

enum { ECU_COLUMNS = 6 };

/* The table's cells of e; sha receives the abbreviated hash. */
static void ecu_cells(const Ecu *e, char sha[static SHA256_SHOWN + 1], const char *ret[static ECU_COLUMNS]) {
        snprintf(sha, SHA256_SHOWN + 1, "%s", dash_if_empty(e->installed_sha256));
        ret[0] = e->serial;
        ret[1] = e->hardware_id;
        ret[2] = e->primary ? "yes" : "no";
        ret[3] = dash_if_empty(e->installed_target);
        ret[4] = sha;
        ret[5] = dash_if_empty(e->pending_target);
}

static void print_row(const char *const cells[static ECU_COLUMNS], const size_t width[static ECU_COLUMNS]) {
        for (size_t c = 0; c + 1 < ECU_COLUMNS; c++) {
                print_padded(cells[c], width[c]);
                fputs("  ", stdout);
        }
        print_safe(cells[ECU_COLUMNS - 1]);
        putchar('\n');
}

static void print_ecus_table(const Ecu *ecus, size_t n) {
        static const char *const headers[ECU_COLUMNS] = {
                "SERIAL", "HARDWARE ID", "PRIMARY", "INSTALLED", "SHA256", "PENDING"
        };
        size_t width[ECU_COLUMNS];
        char sha[SHA256_SHOWN + 1];
        const char *cells[ECU_COLUMNS];

        for (size_t c = 0; c < ECU_COLUMNS; c++)
                width[c] = strlen(headers[c]);
        for (size_t i = 0; i < n; i++) {
                ecu_cells(&ecus[i], sha, cells);
                for (size_t c = 0; c < ECU_COLUMNS; c++)
                        if (display_width(cells[c]) > width[c])
                                width[c] = display_width(cells[c]);
        }

        print_row(headers, width);
        for (size_t i = 0; i < n; i++) {
                ecu_cells(&ecus[i], sha, cells);
                print_row(cells, width);
        }
}

static json_object *ecu_to_json(const Ecu *e) {
        json_object *o = json_object_new_object();
        int r = o ? 0 : -ENOMEM;

        if (r >= 0)
                r = json_add(o, "serial", json_object_new_string(e->serial));
        if (r >= 0)
                r = json_add(o, "hardware_id", json_object_new_string(e->hardware_id));
        if (r >= 0)
                r = json_add(o, "primary", json_object_new_boolean(e->primary));
        if (r >= 0)
                r = json_add(o, "installed_target", json_object_new_string(e->installed_target));
        if (r >= 0)
                r = json_add(o, "installed_sha256", json_object_new_string(e->installed_sha256));
        if (r >= 0)
                r = json_add(o, "pending_target", json_object_new_string(e->pending_target));
        if (r < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int print_ecus_json(const Ecu *ecus, size_t n) {
        _cleanup_(json_object_putp) json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *o = ecu_to_json(&ecus[i]);

                if (!o || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        return print_json(a);
}

static int verb_ecus(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) Ecu *ecus = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "GetEcus", &error, &reply, NULL);
        if (r < 0)
                return call_failed("GetEcus", &error, r);
        ecus = calloc(ECUS_MAX, sizeof(*ecus));
        if (!ecus)
                return bad_reply("GetEcus", -ENOMEM);
        r = read_ecus(reply, ecus, &n);
        if (r < 0)
                return bad_reply("GetEcus", r);

        if (arg_json) {
                r = print_ecus_json(ecus, n);
                if (r < 0)
                        return bad_reply("GetEcus", r);
        } else
                print_ecus_table(ecus, n);
        return output_done();
}

static int run(void) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        char where[512];
        int r;

        r = bus_connect(arg_bus_kind, arg_address, &bus);
        if (r < 0) {
                bus_describe(where, sizeof(where));
                fprintf(stderr, "uptanectl: cannot connect to %s: %s\n", where, strerror(-r));
                return EX_UNAVAILABLE;
        }
        switch (arg_verb) {
        case VERB_CHECK:
                return verb_check(bus);
        case VERB_ECUS:
                return verb_ecus(bus);
        default:
                return verb_status(bus);
        }
}

int main(int argc, char **argv) {
        if (parse_argv(argc, argv) < 0)
                return EX_USAGE;

        switch (arg_verb) {
        case VERB_HELP:
                help();
                return output_done();
        case VERB_VERSION:
                printf("uptanectl %s\n", PROJECT_VERSION);
                return output_done();
        default:
                return run();
        }
}
