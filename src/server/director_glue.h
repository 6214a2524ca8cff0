/* SPDX-License-Identifier: MIT */
#pragma once

/* What the server asks of the Director repository (libuptane's director.c). */

#include <stdbool.h>

#include "server.h"

bool vin_valid(const char *s);
bool identifier_valid(const char *s);
/* "Bearer TOKEN" with the fleet's provisioning token (constant time). */
bool token_valid(const Server *s, const char *authorization);

/* A vehicle now exists: it gets Director metadata (empty targets, its VIN). */
int director_vehicle_registered(Server *s, const char *vin);

/* The target the Director assigned to an ECU: name, length and sha256 hex
 * (malloc()ed); -ENOENT when nothing is assigned. */
int director_assigned_target(Server *s, const char *vin, const char *serial, char **ret_name, char **ret_sha256);

/* The assignment of an ECU ended (installed or failed): it leaves the
 * vehicle's Director targets, which are signed again. */
int director_assignment_ended(Server *s, const char *vin, const char *serial);

/* The Director repository, loaded and locked (in this process and, with
 * flock, against uptane-repo); director_close() logs r when it is an error,
 * frees and unlocks, and returns r. */
struct UpRepo;
int director_open(Server *s, struct UpRepo **ret);
int director_close(Server *s, struct UpRepo *d, int r);

/* The directory of a vehicle's Director metadata. */
int director_metadata_dir(Server *s, const char *vin, char **ret);
/* Where the Director keeps its copies of the images assigned to a vehicle. */
int director_targets_dir(Server *s, const char *vin, char **ret);
