/* SPDX-License-Identifier: MIT */
/*
 * fake-primary-bus: serves org.uptane.Primary1 through src/primaryd/bus.c with
 * canned data, for tests/integration/primaryd-bus.sh.
 *
 *   fake-primary-bus [--fail-check] ADDRESS
 *
 * CheckNow() sets State "checking" (Progress 1024/4096) for 2 s, then "idle"
 * with a new LastCheck and LastResult "no-change"; a call meanwhile gets
 * Busy. --fail-check makes every CheckNow() fail with EIO. Prints
 * "fake-primary-bus: ready" once the name is owned; on SIGTERM or SIGINT it
 * prints how many CheckNow() calls it had and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define CHECK_USEC (2 * USEC_PER_SEC)

typedef struct Fake {
        sd_event *event;
        Bus *bus;
        bool fail_check;
        bool checking;
        uint64_t last_check_usec;
        const char *last_result;
        unsigned calls, started;
} Fake;

/* Quotes and a backslash in hardware_id exercise uptanectl's JSON escaping. */
static const BusEcu fake_ecus[] = {
        { "ecu-primary-01", "head-unit-a", true, "head-unit-fw-1.0.bin",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "" },
        { "ecu-brake-02", "brake\\ctl \"b\"", false, "", "", "brake-fw-2.1.bin" },
};

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void fake_get_status(void *userdata, BusStatus *ret) {
        Fake *f = userdata;

        *ret = (BusStatus) {
                .state = f->checking ? "checking" : "idle",
                .progress_done = f->checking ? 1024 : 0,
                .progress_total = f->checking ? 4096 : 0,
                .last_check_usec = f->last_check_usec,
                .last_result = f->last_result,
                .next_check_usec = f->last_check_usec + 3600 * USEC_PER_SEC,
                .vin = "UPTANEVIN00000001",
                .primary_serial = "ecu-primary-01",
        };
}

static void fake_get_ecus(void *userdata, const BusEcu **ret, size_t *ret_n) {
        (void) userdata;
        *ret = fake_ecus;
        *ret_n = sizeof(fake_ecus) / sizeof(fake_ecus[0]);
}

static int on_check_done(sd_event_source *s, uint64_t usec, void *userdata) {
        Fake *f = userdata;

        (void) s;
        (void) usec;
        f->checking = false;
        f->last_check_usec = now_realtime_usec();
        f->last_result = "no-change";
        bus_emit_status_changed(f->bus);
        return 0;
}

static int fake_check_now(void *userdata) {
        Fake *f = userdata;
        int r;

        f->calls++;
        if (f->fail_check)
                return -EIO;
        if (f->checking)
                return -EBUSY;
        /* Floating: the loop owns the one-shot timer. */
        r = sd_event_add_time_relative(f->event, NULL, CLOCK_MONOTONIC, CHECK_USEC, 0, on_check_done, f);
        if (r < 0)
                return r;
        f->checking = true;
        f->started++;
        bus_emit_status_changed(f->bus);
        return 0;
}

static int run(const char *address, bool fail_check) {
        Fake f = {
                .fail_check = fail_check,
                .last_check_usec = UINT64_C(1700000000) * USEC_PER_SEC, /* 2023-11-14 22:13:20 UTC */
                .last_result = "up-to-date",
        };
        const BusProvider provider = {
                .get_status = fake_get_status,
                .get_ecus = fake_get_ecus,
                .check_now = fake_check_now,
                .userdata = &f,
        };
        sigset_t mask;
        int r;

        r = sd_event_default(&f.event);
        if (r < 0)
                goto finish;
        /* sd-event's signal sources need the signals blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = -errno;
                goto finish;
        }
        r = sd_event_add_signal(f.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(f.event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                goto finish;

        r = bus_open(f.event, BUS_KIND_ADDRESS, address, &provider, &f.bus);
        if (r < 0) {
                fprintf(stderr, "fake-primary-bus: cannot serve org.uptane.Primary1 on '%s': %s\n",
                        address, r == -EEXIST ? "the name is owned already" : strerror(-r));
                goto finish;
        }
        printf("fake-primary-bus: ready\n");
        fflush(stdout);

        r = sd_event_loop(f.event);
        fprintf(stderr, "fake-primary-bus: %u CheckNow calls, %u started\n", f.calls, f.started);
        if (r > 0)
                r = -EIO; /* the loop was left with a failure code, e.g. the bus went away */
        else if (r < 0)
                fprintf(stderr, "fake-primary-bus: event loop failed: %s\n", strerror(-r));
finish:
        f.bus = bus_close(f.bus);
        sd_event_unref(f.event);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv) {
        bool fail_check = argc == 3 && strcmp(argv[1], "--fail-check") == 0;

        if (argc != 2 + fail_check) {
                fprintf(stderr, "Usage: fake-primary-bus [--fail-check] ADDRESS\n");
                return 2;
        }
        return run(argv[argc - 1], fail_check);
}
