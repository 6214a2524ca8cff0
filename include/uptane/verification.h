/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Uptane checks on top of the TUF client (Uptane 2.1):
 *
 *  - the Director's targets (§5.4.4.6 steps 6-8 and the VIN of §5.2.3.1):
 *    up_director_targets_check() turns the trusted Director targets into a
 *    list of UpDirectorTarget;
 *  - the Director-vs-Image match (§5.4.4.2 step 10): up_image_match_*();
 *  - the image of one ECU (§5.4.3.4): up_image_verify_*().
 *
 * Every function returns 0 or a negative errno of uptane/error.h, one class
 * per attack, so that the Primary can report what happened:
 *
 *   -UP_ERR_MIX_AND_MATCH  custom.vin missing or another vehicle's; release
 *                          counters differ between the two repositories
 *   -UP_ERR_MALFORMED      delegations in the Director targets; a Director
 *                          entry without ECU, with a bad custom field
 *   -UP_ERR_DUPLICATE      one ECU serial listed by two Director entries
 *   -UP_ERR_UNKNOWN_ECU    an ECU serial that is not in this vehicle
 *   -UP_ERR_NOT_FOUND      the Image repository does not list the name
 *   -UP_ERR_HASH           length or hashes differ (arbitrary software)
 *   -UP_ERR_HARDWARE       the image is not for the ECU's hardware
 *   -UP_ERR_ROLLBACK       a release counter lower than the previous one
 *   -UP_ERR_UNSUPPORTED    a hash algorithm we cannot check
 *   -UP_ERR_TOO_BIG        more entries, ECUs or bytes than the limits below
 *
 * Nothing here logs or keeps global state; out-parameters are set on success
 * only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uptane/hash.h"
#include "uptane/metadata.h"
#include "uptane/updater.h"

/* Limits on the Director's targets, which an attacker with the Director's
 * online key controls. */
#define UP_MAX_DIRECTOR_TARGETS 1024 /* entries */
#define UP_MAX_DIRECTOR_ECUS    1024 /* ECU serials, over all entries */
#define UP_MAX_ECU_ID           255  /* bytes of a VIN, ECU serial or hardware id */
#define UP_MAX_CUSTOM_STRING    4096 /* bytes of custom.targetFormat, custom.uri */

/* A digest listed in "hashes"; only algorithms we can compute are kept. */
typedef struct UpImageHash {
        UpHashAlg alg;
        uint8_t digest[UP_HASH_MAX_SIZE];
} UpImageHash;

/* custom.ecuIdentifiers.SERIAL.hardwareId of a Director entry. */
typedef struct UpEcuImage {
        char *serial;
        char *hardware_id;
} UpEcuImage;

/* One entry of the Director's targets. */
typedef struct UpDirectorTarget {
        char *name;
        int64_t length;
        UpImageHash hashes[_UP_HASH_MAX]; /* each algorithm once */
        size_t n_hashes;                  /* >= 1 */
        UpEcuImage *ecus;                 /* sorted by serial */
        size_t n_ecus;                    /* >= 1 */
        int64_t release_counter;          /* custom.releaseCounter; -1 when absent */
        char *format;                     /* custom.targetFormat; NULL when absent */
        char *uri;                        /* custom.uri; NULL when absent */
} UpDirectorTarget;

typedef struct UpDirectorTargets {
        UpDirectorTarget *targets; /* sorted by name */
        size_t n_targets;
} UpDirectorTargets;

/* The release counter of what an ECU was assigned by the previous Director
 * targets (the caller keeps it; see up_image_match_target()). */
typedef struct UpEcuCounter {
        const char *ecu_serial;
        int64_t release_counter;
} UpEcuCounter;

/* --- Director targets (director_checks.c) --------------------------------- */

/* Checks the trusted Director targets, in this order:
 *   1. signed.custom.vin is a string equal to vin, also when no image is
 *      listed (an empty targets of another vehicle, replayed): -EXDEV when
 *      absent or different, -EBADMSG when not a string;
 *   2. no delegations (a "delegations" member listing any key or role):
 *      -EBADMSG;
 *   3. each entry has supported hashes and names at least one ECU with its
 *      hardware id (-EBADMSG, -EOPNOTSUPP, -EFBIG);
 *   4. no ECU serial is listed by two entries: -ENOTUNIQ;
 *   5. every ECU serial is one of vehicle_ecus: -ENODEV. A Secondary, which
 *      does not know the vehicle, passes vehicle_ecus NULL to skip this.
 * On success *ret holds the parsed entries (free with
 * up_director_targets_free()). */
int up_director_targets_check(const UpMetadata *director_targets, const char *vin,
                              const char *const *vehicle_ecus, size_t n_vehicle_ecus,
                              UpDirectorTargets **ret);
UpDirectorTargets *up_director_targets_free(UpDirectorTargets *t);
static inline void up_director_targets_freep(UpDirectorTargets **t) {
        up_director_targets_free(*t);
}

/* The entry that lists ecu_serial and the hardware id it gives (may be
 * NULL); NULL when the ECU has no image assigned. */
const UpDirectorTarget *up_director_targets_find_ecu(const UpDirectorTargets *t, const char *ecu_serial,
                                                     const char **ret_hardware_id);

/* Parses a "hashes" object into at most _UP_HASH_MAX digests: -EBADMSG when
 * empty, not hex or of the wrong size, -EOPNOTSUPP for an algorithm we cannot
 * compute (Uptane wants every listed hash checked). */
int up_image_hashes_parse(struct json_object *hashes, UpImageHash ret[_UP_HASH_MAX], size_t *ret_n);

/* --- Director vs Image repository (image_match.c) -------------------------- */

/* Compares a Director entry with the Image repository's entry of the same
 * name (§5.4.4.2 step 10.2), in this order:
 *   1. length and hashes: the same algorithms with equal digests (-EILSEQ);
 *   2. the hardware id the Director gives each ECU is in the image's
 *      custom.hardwareIds (-ENOEXEC; -EBADMSG when the list is malformed);
 *   3. release counters: when the Director gives one, the image must give
 *      the same (-EXDEV); the image's counter counts when the Director omits
 *      it;
 *   4. that counter (0 when neither side gives one) is not lower than
 *      previous[] gives for any of the entry's ECUs (-ESTALE). ECUs not in
 *      previous[] have no previous counter.
 * -ENOENT when image->path is not d->name. */
int up_image_match_entry(const UpDirectorTarget *d, const UpTargetInfo *image, const UpEcuCounter *previous,
                         size_t n_previous);

/* Looks the name up in the Image repository (the updater's delegation
 * search, after up_updater_refresh()) and calls up_image_match_entry().
 * -ENOENT when no role lists the name (or a terminating delegation that
 * covers it does not); other lookup errors as up_updater_get_target_info().
 * *ret_image (may be NULL) gets the Image repository's entry. */
int up_image_match_target(UpUpdater *image_repo, const UpDirectorTarget *d, const UpEcuCounter *previous,
                          size_t n_previous, UpTargetInfo **ret_image);

/* up_image_match_target() for every entry, in order; returns the first
 * error (call up_image_match_target() yourself to know which entry). */
int up_image_match_all(UpUpdater *image_repo, const UpDirectorTargets *t, const UpEcuCounter *previous,
                       size_t n_previous);

/* --- One ECU's image (image_match.c) -------------------------------------- */

/* §5.4.3.4 steps 3 and 5: d lists ecu_serial (-ENOENT otherwise) with
 * hardware_id (-ENOEXEC otherwise); previous_counter >= 0 is the release
 * counter of the ECU's previous image (-ESTALE when d's is lower; an entry
 * without counter counts as 0). */
int up_image_check_ecu(const UpDirectorTarget *d, const char *ecu_serial, const char *hardware_id,
                       int64_t previous_counter);

/* §5.4.3.4: the hardware id as up_image_check_ecu() (no counter), then the
 * image: length bytes were fed to h (which is left usable) and every hash of
 * d must match (-EILSEQ). */
int up_image_verify_hasher(const UpDirectorTarget *d, const char *ecu_serial, const char *hardware_id,
                           UpHasher *h, uint64_t length);

/* The same for a file, read in chunks and never past d->length + 1 bytes. */
int up_image_verify_file(const UpDirectorTarget *d, const char *ecu_serial, const char *hardware_id,
                         const char *path);
