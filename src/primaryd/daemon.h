/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon: one sd-event loop on the main thread (signals, watchdog, the
 * poll timer, D-Bus, every HTTP transfer through http.c), and one worker
 * thread at a time that runs an update cycle (cycle.c). The worker blocks on
 * network answers and on disk; the loop never does. For the Secondaries the
 * worker starts up to 8 threads more, one per Secondary, and joins them
 * before it goes on (secondary_pool.h).
 *
 * What the loop and the worker share is in DaemonStatus, under its mutex.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "bus.h"
#include "config.h"
#include "http.h"
#include "package_manager.h"
#include "secondary.h"
#include "state.h"

/* The outcome of one update cycle, and uptane-primaryd --once's exit status. */
typedef enum CycleResult {
        CYCLE_UP_TO_DATE = 0,       /* nothing new, or everything installed */
        CYCLE_UPDATED = 1,          /* an image was installed */
        CYCLE_REJECTED = 65,        /* EX_DATAERR: an attack or a verification failure */
        CYCLE_TEMPORARY = 75,       /* EX_TEMPFAIL: network, server, disk: try again later */
        CYCLE_FATAL = 70,           /* EX_SOFTWARE: cannot go on (state directory, key) */
} CycleResult;

typedef struct DaemonStatus {
        pthread_mutex_t lock;
        char state[32];           /* idle, checking, downloading, installing, reporting, stopping */
        uint64_t progress_done, progress_total;
        uint64_t last_check_usec; /* CLOCK_REALTIME */
        uint64_t next_check_usec;
        char last_result[256];
        char installed_target[256];
        char installed_sha256[72];
        char pending_target[256];
} DaemonStatus;

typedef struct Daemon {
        PrimaryConfig config;
        const char *config_path;
        bool once;

        sd_event *event;
        Http *http;
        Bus *bus;

        /* Owned by the worker while a cycle runs, by the loop otherwise. */
        State state;
        UpKey *ecu_key;
        UpKey *time_server_key; /* NULL: no time server */
        PackageManager *pm;
        /* [secondary.NAME], in config order; one that cannot be set up is left out (logged). */
        Secondary **secondaries;
        size_t n_secondaries;
        /* The last two attested times; state.json gets them at most hourly
         * (and with every other save), so that an idle poll writes nothing. */
        time_t attested_time, attested_previous;

        pthread_t worker;
        bool worker_running;
        int worker_done_fd;       /* eventfd: the worker says it finished */
        sd_event_source *worker_done_source;
        sd_event_source *poll_timer;
        CycleResult last_cycle;
        bool stopping, reload_requested, check_requested;
        atomic_bool cancel;       /* the worker parks at its next safe point */

        DaemonStatus status;
} Daemon;

/* Status updates from either thread. */
void daemon_set_state(Daemon *d, const char *state);
void daemon_set_progress(Daemon *d, uint64_t done, uint64_t total);
void daemon_set_result(Daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cycle.c: one update cycle, on the worker thread. */
CycleResult cycle_run(Daemon *d);

/* daemon.c */
int daemon_run(Daemon *d);
