/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The daemon's D-Bus interface org.uptane.Primary1, object
 * /org/uptane/Primary1, name org.uptane.Primary1 (system bus; the user bus or
 * a given address for tests). See docs/dbus.md.
 *
 * The bus module knows nothing about the update cycle: it asks the daemon
 * through the callbacks of BusProvider, on the loop thread, when a property
 * is read or a method called, and emits PropertiesChanged when told to.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

typedef struct BusEcu {
        const char *serial;
        const char *hardware_id;
        bool primary;
        const char *installed_target;   /* "" when unknown */
        const char *installed_sha256;   /* "" when unknown */
        const char *pending_target;     /* "" when none */
} BusEcu;

typedef struct BusStatus {
        const char *state;          /* "idle", "checking", "downloading", "installing", "reporting", "stopping" */
        uint64_t progress_done;     /* bytes of the current download; 0 when none */
        uint64_t progress_total;
        uint64_t last_check_usec;   /* CLOCK_REALTIME µs of the end of the last cycle, 0 when none */
        const char *last_result;    /* "up-to-date", "updated", "no-change", "attack: rollback", "error: ...", "" */
        uint64_t next_check_usec;   /* CLOCK_REALTIME µs, 0 when none is planned */
        const char *vin;
        const char *primary_serial;
} BusStatus;

typedef struct BusProvider {
        /* Fill *ret; the strings must stay valid until the loop runs again. */
        void (*get_status)(void *userdata, BusStatus *ret);
        /* Fill *ret with an array of *ret_n ECUs, valid until the loop runs again. */
        void (*get_ecus)(void *userdata, const BusEcu **ret, size_t *ret_n);
        /* CheckNow(): start a cycle now. 0, or -EBUSY when one runs already
         * (the method then fails with org.uptane.Primary1.Error.Busy). */
        int (*check_now)(void *userdata);
        void *userdata;
} BusProvider;

typedef enum BusKind {
        BUS_KIND_SYSTEM,
        BUS_KIND_USER,
        BUS_KIND_ADDRESS, /* a given address, e.g. a private dbus-daemon in tests */
} BusKind;

typedef struct Bus Bus;

/* A client connection (uptanectl, and bus_open()): the system or user bus,
 * or the given address. */
int bus_connect(BusKind kind, const char *address, sd_bus **ret);

/* Connects, exports the object, requests the name, attaches to e. */
int bus_open(sd_event *e, BusKind kind, const char *address, const BusProvider *p, Bus **ret);
Bus *bus_close(Bus *b);
/* Emits PropertiesChanged for State, Progress, LastCheck, LastResult,
 * NextCheck (call after a change; cheap when nobody listens). */
void bus_emit_status_changed(Bus *b);
