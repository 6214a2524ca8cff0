/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The sd-event loop both daemons run on: their stop signals (and SIGHUP where
 * a daemon reloads) blocked and routed to the loop, and the watchdog. Each
 * daemon keeps its own handlers; sd_notify stays with the daemon.
 */

#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct DaemonEventSignals {
        /* SIGTERM and SIGINT. NULL: sd-event's own, which exits the loop with
         * PTR_TO_INT(userdata) as its code, so leave userdata NULL then. */
        sd_event_signal_handler_t on_stop;
        /* SIGHUP: blocked and handled only when set. */
        sd_event_signal_handler_t on_reload;
        /* SIGPIPE blocked as well (never handled). */
        bool block_sigpipe;
        void *userdata;
} DaemonEventSignals;

/* Blocks the signals in the calling thread (call it before any thread
 * starts, so that threads inherit the mask), takes the default sd-event loop
 * into *ret, adds the signal sources and enables the watchdog (WATCHDOG=1 at
 * half of WatchdogSec=, if the unit sets it). 0 or a negative errno; on
 * failure *ret may already hold the loop, for the caller to unref as usual. */
int daemon_event_new(sd_event **ret, const DaemonEventSignals *s);
