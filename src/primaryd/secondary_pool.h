/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Serving the Secondaries concurrently: one worker thread per Secondary, at
 * most SECONDARY_POOL_MAX_THREADS at once, each driving that Secondary's
 * blocking UDS client for one phase of the cycle (report, time attestation,
 * metadata + image + install). secondary_pool_run() returns when every item
 * was handled: the cycle thread then has the results to itself.
 *
 * Not on the sd-event loop: the UDS client blocks by design (DoIP and
 * ISO-TP with deadlines), and the loop stays free for the HTTP transfers and
 * D-Bus. A dead or slow Secondary holds its own thread until its timeouts
 * expire; the others go on.
 *
 * The function runs on the pool's threads and must touch only its item
 * (and what is thread-safe: the log, daemon_set_*, atomics). Cancellation
 * is the function's business (it checks the daemon's cancel flag between
 * requests); the pool starts no new item once *cancel is set.
 */

#include <stdatomic.h>
#include <stddef.h>

#define SECONDARY_POOL_MAX_THREADS 8u

typedef void (*SecondaryPoolFn)(void *item, void *userdata);

/* fn(items + i * item_size, userdata) for each of n items, on at most
 * max_threads threads (0: SECONDARY_POOL_MAX_THREADS). When no thread can
 * be started, the calling thread does the work itself. Returns the number
 * of items handled (< n only after a cancel). */
size_t secondary_pool_run(void *items, size_t n, size_t item_size, size_t max_threads, SecondaryPoolFn fn,
                          void *userdata, const atomic_bool *cancel);
