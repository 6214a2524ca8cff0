/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The Director's signing side: per-vehicle targets, snapshot and timestamp,
 * signed with the Director's keys, below DIR/vehicles/VIN/ of a Director
 * repository (see uptane/repository.h). The online Director calls the same
 * functions when a vehicle's state changes.
 *
 * A vehicle's targets carry "custom": {"vin": VIN} at the top level of
 * "signed", also when they list no image (Uptane 2.1 §5.2.3.1). Each entry is
 * the Image repository's length and hashes, and in "custom":
 * "ecuIdentifiers": {SERIAL: {"hardwareId": HW}}, and releaseCounter,
 * targetFormat and uri copied from the Image repository's entry.
 */

#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/repository.h"

typedef struct UpDirectorAssignment {
        const char *ecu_serial;
        const char *hardware_id;           /* NULL: the image's only hardware id */
        const char *target_name;
        struct json_object *image_target;  /* the Image repository's entry (borrowed) */
        /* Optional: the image, to be served from the vehicle's targets/ too
         * (checked against image_target first). */
        const char *image_file;
        const void *image_data;
        size_t image_len;
} UpDirectorAssignment;

/* Creates the vehicle (an empty targets with its VIN) and publishes it;
 * nothing happens when it exists. */
int up_director_add_vehicle(UpRepo *d, const char *vin, time_t now);
/* Assigns each ECU its image (replacing what the ECU had; ECUs getting the
 * same image share one entry) and publishes the vehicle. */
int up_director_assign(UpRepo *d, const char *vin, const UpDirectorAssignment *a, size_t n, time_t now);
/* Unassigns one ECU (ecu_serial NULL: every ECU) and publishes the vehicle. */
int up_director_clear(UpRepo *d, const char *vin, const char *ecu_serial, time_t now);

/* The VINs, sorted; *ret is a NULL-terminated malloc()ed array. */
int up_director_vehicles(UpRepo *d, char ***ret, size_t *ret_n);
void up_director_vehicles_free(char **v, size_t n);
/* DIR/vehicles/VIN: what the online Director serves for the vehicle
 * (metadata/ and targets/ below it). */
int up_director_vehicle_dir(UpRepo *d, const char *vin, char **ret);

/* The staged entry of a vehicle's target that lists ecu_serial (a new
 * reference) and its name; -ENOENT when the ECU has no assignment. */
int up_director_ecu_target(UpRepo *d, const char *vin, const char *ecu_serial, char **ret_name,
                           struct json_object **ret_entry);
