/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What a Secondary ECU verifies, over the metadata its Primary transferred
 * into a directory (docs/POUF.md, "Uptane over UDS"):
 *
 *   up_secondary_full_verification()     Uptane 2.1 §5.4.4.2 as a Secondary
 *   up_secondary_partial_verification()  §5.4.4.1
 *
 * and then, for the image the Primary sends, up_image_verify_file() (or
 * up_image_verify_hasher()) against the entry either call returned
 * (§5.4.3.4: hardware id, length, every hash).
 *
 * Each repository has two directories on the Secondary:
 *
 *   metadata_dir  what this ECU trusts: root.json (provisioned), and what
 *                 verification newly trusts, stored there as the exact bytes
 *                 received, atomically (temp file, fsync, rename);
 *   received_dir  what the Primary sent, one file per role under the names
 *                 the Primary stores them (root.json, N.root.json for root
 *                 rotations, timestamp.json, snapshot.json, targets.json,
 *                 delegated roles). Nothing in it is trusted; it is only
 *                 read.
 *
 * Whatever the Primary sends, only metadata that passes every check is
 * stored: a compromised Primary can withhold updates, not forge, replay or
 * mix them (the Uptane threat model, §4.2).
 *
 * The entries of the Director's targets for other ECUs are the Primary's
 * business (§5.4.4.2 step 10: "a Secondary may check only the image carrying
 * its ECU identifier"): they must be well-formed, like the whole file
 * (up_director_targets_check(): VIN, no delegations, parseable entries, no
 * serial twice), but they are not matched against the Image repository, not
 * checked for hardware and not returned.
 *
 * Pure library: no logging, no global state, out-parameters set on success
 * only. Errors are negative errnos of uptane/error.h (one class per attack,
 * up_error_attack()), with the repository and a message in an optional
 * UpFullVerificationError (the Primary's type; start from {} and release with
 * up_full_verification_error_done()).
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "uptane/fetch.h"
#include "uptane/full_verification.h"
#include "uptane/verification.h"

/* --- Files received from the Primary ---------------------------------------- */

/* An UpFetcher over the files of dir (borrowed: it must outlive the
 * fetcher), so that the updater (uptane/updater.h) runs over what the
 * Primary sent. Give the updater metadata_url = dir: it asks for "dir/NAME"
 * and gets the bytes of the regular file dir/NAME (symlinks are refused:
 * -EBADF, like anything that is not a regular file), -ENOENT when absent,
 * -EFBIG as soon as it has more than max_len bytes, -EINVAL for a URL
 * outside dir or a NAME that is not one file name.
 *
 * The Primary sends unversioned names, while under consistent snapshots the
 * updater asks for VERSION.NAME: when dir/VERSION.NAME is absent, dir/NAME is
 * read instead (the updater checks the version against the timestamp or
 * snapshot anyway), except for root: N.root.json is a root rotation, and
 * root.json is never taken for one. */
UpFetcher up_dir_fetcher(const char *dir);

/* --- Verification -------------------------------------------------------------- */

/* Defaults of the limits (0 in UpSecondaryConfig). */
#define UP_SECONDARY_MAX_ROOT_ROTATIONS       256
#define UP_SECONDARY_ROOT_MAX                 (512u * 1024u)
#define UP_SECONDARY_TIMESTAMP_MAX            (16u * 1024u)
#define UP_SECONDARY_SNAPSHOT_MAX             (2u * 1024u * 1024u)
/* At most UP_MAX_DIRECTOR_TARGETS entries: 4 KiB each is plenty. */
#define UP_SECONDARY_DIRECTOR_TARGETS_MAX     (4u * 1024u * 1024u)
#define UP_SECONDARY_IMAGE_TARGETS_MAX        (64u * 1024u * 1024u)

typedef struct UpSecondaryRepository {
        const char *metadata_dir; /* trusted: holds root.json */
        const char *received_dir; /* from the Primary */
} UpSecondaryRepository;

typedef struct UpSecondaryConfig {
        UpSecondaryRepository director;
        UpSecondaryRepository image; /* full verification only */

        const char *ecu_serial;  /* this ECU's serial (its entry in the Director's targets) */
        const char *hardware_id; /* this ECU's hardware id */
        /* This vehicle's VIN, compared with the Director targets'
         * custom.vin. NULL when the ECU is not configured with one: then
         * custom.vin must still be there (a string), as the Standard requires
         * a vehicle identifier in the Director's targets (§5.2.3.1), but any
         * VIN is taken. */
        const char *vin;
        /* Release counter of the image this ECU runs (what a previous
         * verification returned in release_counter); < 0: none. */
        int64_t previous_release_counter;

        time_t now; /* current or securely attested time */

        /* Limits on what the Primary sends (0: the defaults above). Snapshot
         * and targets files are read up to the length the timestamp and
         * snapshot give, when they give one (full verification). */
        size_t max_root_rotations;
        size_t root_max_length;
        size_t timestamp_max_length;
        size_t snapshot_max_length;
        size_t director_targets_max_length;
        size_t image_targets_max_length;
} UpSecondaryConfig;

typedef struct UpSecondaryVerification {
        /* The Director's entry for this ECU (owned); NULL: nothing to
         * install. Check the image with up_image_verify_file(target,
         * ecu_serial, hardware_id, path). */
        UpDirectorTarget *target;
        /* The release counter of target as verified: the Director's, or
         * (full verification) the Image repository's when the Director gives
         * none; 0 when neither gives one; -1 without target. What the ECU
         * keeps as previous_release_counter once the image is installed. */
        int64_t release_counter;
        /* Versions now trusted (stored in the metadata dirs). */
        int64_t director_root_version;
        int64_t director_targets_version;
        int64_t image_root_version;    /* full verification with a target; else 0 */
        int64_t image_targets_version; /* full verification with a target; else 0 */
} UpSecondaryVerification;

UpSecondaryVerification *up_secondary_verification_free(UpSecondaryVerification *v);
static inline void up_secondary_verification_freep(UpSecondaryVerification **v) {
        up_secondary_verification_free(*v);
}

/* Full verification (§5.4.4.2) by a Secondary, over director.received_dir
 * and image.received_dir with the updater (the same TUF code as the
 * Primary's):
 *
 *   1. refresh the Director: root rotations (N.root.json), timestamp,
 *      snapshot, targets, each checked and stored as the updater does;
 *   2. up_director_targets_check() without a list of the vehicle's ECUs
 *      (a Secondary does not know them), with vin;
 *   3. the entry for ecu_serial; none: done, target NULL (§5.4.4.2 step 6:
 *      nothing new for this ECU; the Image repository is not read);
 *   4. its hardware id for this ECU is hardware_id (-ENOEXEC);
 *   5. refresh the Image repository; look the entry's name up through its
 *      delegations (-ENOENT when no role lists it) and match it
 *      (up_image_match_entry(): length and hashes -EILSEQ, hardware ids
 *      -ENOEXEC, release counter -EXDEV, and not lower than
 *      previous_release_counter -ESTALE).
 *
 * Unlike the Primary's run there is no "no change" stop: the trusted
 * (stored) metadata is verified again and the entry returned each time.
 * Errors name the repository: UP_REPOSITORY_DIRECTOR (steps 1-4; target
 * names the entry in step 4), UP_REPOSITORY_IMAGE (step 5's refresh and
 * lookup), UP_REPOSITORY_DIRECTOR_VS_IMAGE (the match). */
int up_secondary_full_verification(const UpSecondaryConfig *cfg, UpSecondaryVerification **ret,
                                   UpFullVerificationError *ret_error);

/* Partial verification (§5.4.4.1): the Director's targets only, over
 * director.received_dir (image is ignored):
 *
 *   1. the trusted root: director.metadata_dir/root.json, self-signed;
 *   2. root rotations: N+1.root.json from the received dir while present,
 *      each signed by a threshold of the old and of its own root keys and
 *      exactly version N+1 (TUF 1.0 §5.3.4; -EKEYREJECTED, -ESTALE), and
 *      stored as root.json as soon as it is trusted; none sent: the trusted
 *      root stays;
 *   3. the newest root has not expired (-EKEYEXPIRED);
 *   4. targets.json (-ENOENT when not sent), of type targets, signed by a
 *      threshold of the root's targets keys (-EKEYREJECTED);
 *   5. its version is not lower than the stored targets.json's (-ESTALE).
 *      A stored targets that the root's targets keys no longer sign does
 *      not count: rotating the Director's targets key resets the version,
 *      which is how the Director recovers from a compromised key that
 *      signed a huge version (as TUF does for timestamp and snapshot). A
 *      stored targets.json that cannot be read or parsed is an error: the
 *      baseline is never dropped silently;
 *   6. not expired at now (-EKEYEXPIRED);
 *   7. up_director_targets_check() with vin and no list of ECUs (-EXDEV,
 *      -EBADMSG for delegations, -ENOTUNIQ, ...);
 *   8. the entry for ecu_serial, if any: up_image_check_ecu() with
 *      hardware_id (-ENOEXEC) and previous_release_counter (-ESTALE);
 *   9. the exact bytes are stored as director.metadata_dir/targets.json
 *      (atomically; also when they list nothing for this ECU: a newer
 *      verified version only narrows what can be replayed).
 *
 * Errors name UP_REPOSITORY_DIRECTOR (target: the entry in step 8). */
int up_secondary_partial_verification(const UpSecondaryConfig *cfg, UpSecondaryVerification **ret,
                                      UpFullVerificationError *ret_error);
