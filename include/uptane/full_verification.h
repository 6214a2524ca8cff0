/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Primary's full verification (Uptane 2.1 §5.4.4.2) as one call:
 *
 *   1. refresh the Director (root, timestamp, snapshot, targets). When the
 *      Director snapshot is the one the last completed run verified, stop:
 *      UP_FULL_VERIFICATION_NO_CHANGE (step 4). Nothing is asked of the Image
 *      repository then;
 *   2. check the Director targets (up_director_targets_check(): VIN, ECUs);
 *   3. when every ECU the Director lists already runs the named image with
 *      the same sha256, stop: UP_FULL_VERIFICATION_UP_TO_DATE (step 6);
 *   4. refresh the Image repository (steps 6-9);
 *   5. look every Director entry up in the Image repository and match it
 *      (step 10, up_image_match_entry()): UP_FULL_VERIFICATION_UPDATES.
 *
 * Each run makes its own updaters over the metadata directories: what a run
 * newly trusts is stored there (the TUF rules), and a failed run leaves the
 * previous trust in place for the next run.
 *
 * Pure library: no logging, no global state. Errors are negative errnos of
 * uptane/error.h (one class per attack, up_error_attack()), with the
 * repository and a message in an optional UpFullVerificationError.
 */

#include <stdint.h>
#include <time.h>

#include "uptane/updater.h"
#include "uptane/verification.h"

typedef enum UpRepository {
        UP_REPOSITORY_NONE,
        UP_REPOSITORY_DIRECTOR,
        UP_REPOSITORY_IMAGE,
        UP_REPOSITORY_DIRECTOR_VS_IMAGE, /* the two disagree about an entry */
        _UP_REPOSITORY_MAX,
} UpRepository;

/* "none", "director", "image", "director-vs-image"; NULL when out of range. */
const char *up_repository_name(UpRepository r);

/* What an ECU runs now (from its ECU version report). */
typedef struct UpInstalledImage {
        const char *ecu_serial;
        const char *name;       /* the target name */
        const char *sha256_hex; /* either case */
} UpInstalledImage;

typedef struct UpFullVerificationConfig {
        /* Each repository's client (metadata_dir, metadata_url, fetcher,
         * target_dir, limits). Their .now is ignored: see now below. */
        UpUpdaterConfig director;
        UpUpdaterConfig image;

        const char *vin;
        const char *const *ecu_serials; /* this vehicle's ECUs */
        size_t n_ecu_serials;
        /* Release counters of what each ECU was assigned before (may be NULL). */
        const UpEcuCounter *previous;
        size_t n_previous;
        /* What each ECU runs (may be NULL: nothing is up to date). */
        const UpInstalledImage *installed;
        size_t n_installed;
        /* director_snapshot_version of the last successful run; 0 when none
         * (then an unchanged Director snapshot is verified in full again, so
         * that a run that failed after the Director refresh is not taken for
         * "no change"). */
        int64_t verified_director_snapshot;

        time_t now; /* current or securely attested time (step 1) */
} UpFullVerificationConfig;

typedef enum UpFullVerificationState {
        UP_FULL_VERIFICATION_NO_CHANGE,  /* Director snapshot unchanged: stopped at step 4 */
        UP_FULL_VERIFICATION_UP_TO_DATE, /* nothing beyond what is installed: stopped at step 6 */
        UP_FULL_VERIFICATION_UPDATES,    /* everything verified, images to download */
        _UP_FULL_VERIFICATION_STATE_MAX,
} UpFullVerificationState;

/* "no-change", "up-to-date", "updates"; NULL when out of range. */
const char *up_full_verification_state_name(UpFullVerificationState s);

typedef struct UpFullVerification {
        UpFullVerificationState state;
        int64_t director_snapshot_version; /* for the next run's verified_director_snapshot */
        /* The checked Director targets; NULL for NO_CHANGE. */
        UpDirectorTargets *director;
        /* UPDATES only (NULL otherwise): images[i] is the Image repository's
         * entry for director->targets[i], what to download. */
        UpTargetInfo **images;
        size_t n_images;
        /* Whether the Image repository serves images as DIR/HASH.NAME
         * (up_target_url_name()); UPDATES only. */
        bool image_consistent_snapshot;
} UpFullVerification;

typedef struct UpFullVerificationError {
        UpRepository repository;
        int error;     /* the negative errno returned */
        char *target;  /* the Director entry that failed, or NULL */
        char *message; /* why, for a log; NULL only on out-of-memory */
} UpFullVerificationError;

/* Frees the strings and resets e to empty; e may hold nothing. */
void up_full_verification_error_done(UpFullVerificationError *e);

/* Runs the steps above. On success *ret holds the result (free with
 * up_full_verification_free()). On failure returns a negative errno and, when
 * ret_error is not NULL, fills it (freeing what it held before): as with
 * sd_bus_error, start from an empty UpFullVerificationError ({}). */
int up_full_verification_run(const UpFullVerificationConfig *cfg, UpFullVerification **ret,
                             UpFullVerificationError *ret_error);

UpFullVerification *up_full_verification_free(UpFullVerification *v);
static inline void up_full_verification_freep(UpFullVerification **v) {
        up_full_verification_free(*v);
}
