/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * How the Primary's own image is installed. The daemon only talks to this
 * interface; "file" (pm_file.c) writes the image to a path, "ostree" (issue
 * 6) deploys a commit. Every call runs on the worker thread and may block.
 *
 * The daemon records the pending install in state.json before install() and
 * replaces it by the outcome after; finalize() settles an install that a
 * restart (kill -9, reboot) interrupted.
 */

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>

#include "uptane/verification.h"
#include "config.h"
#include "state.h"

/* The result reported to the Director in the installation report. */
typedef struct InstallOutcome {
        bool success;
        char code[64];          /* "OK", "INSTALL_FAILED", "REBOOT_NEEDED", ... */
        char description[512];
} InstallOutcome;

typedef struct PackageManager PackageManager;

typedef struct PackageManagerOps {
        const char *name;
        /* What runs when no install was recorded yet (the factory image):
         * name, length and hashes (a new {"alg": hex} object). */
        int (*factory_image)(PackageManager *pm, char **ret_name, uint64_t *ret_length,
                             struct json_object **ret_hashes);
        /* Installs the verified image at image_path (a file the daemon
         * downloaded and checked against t, which it deletes afterwards: the
         * package manager may move it instead of copying). 0 with *ret
         * filled (success or a failure to report); < 0 only when nothing
         * could even be tried. */
        int (*install)(PackageManager *pm, const UpDirectorTarget *t, const char *image_path, InstallOutcome *ret);
        /* After a restart with an install pending: 0 with *ret when it
         * completed (or definitely failed), -EAGAIN when it never happened
         * (then the daemon installs again). */
        int (*finalize)(PackageManager *pm, const ImageRecord *pending, InstallOutcome *ret);
        void (*free)(PackageManager *pm);
} PackageManagerOps;

struct PackageManager {
        const PackageManagerOps *ops;
};

/* The package manager the configuration names. -EOPNOTSUPP when it is not
 * built in (ostree, for now), with a sentence in *reterr. */
int package_manager_new(const PrimaryConfig *c, PackageManager **ret, char **reterr);
PackageManager *package_manager_free(PackageManager *pm);

void install_outcome_set(InstallOutcome *o, bool success, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* pm_file.c */
int package_manager_file_new(const char *target_path, PackageManager **ret);

/* Hashes a file with every algorithm libuptane knows: {"sha256": hex, ...}. */
int hash_file(const char *path, uint64_t *ret_length, struct json_object **ret_hashes);
