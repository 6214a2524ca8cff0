/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * How the Primary's own image is installed. The daemon only talks to this
 * interface; "file" (pm_file.c) writes the image to a path, "ostree"
 * (pm_ostree.c) deploys a commit. Every call runs on the worker thread and
 * may block.
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
        /* Installed, effective after a reboot: nothing is reported yet, the
         * install stays pending until finalize() runs in the next boot. */
        bool reboot_needed;
        char code[64];          /* "OK", "INSTALL_FAILED", "BOOT_ROLLED_BACK", ... */
        char description[512];
} InstallOutcome;

/* Progress of fetch(): done of total (bytes or objects; total 0: unknown).
 * Returning non-zero cancels the fetch (-ECANCELED). */
typedef int (*PackageManagerProgress)(void *userdata, uint64_t done, uint64_t total);

typedef struct PackageManager PackageManager;

typedef struct PackageManagerOps {
        const char *name;
        /* What runs when no install was recorded yet (the factory image):
         * name, length and hashes (a new {"alg": hex} object). */
        int (*factory_image)(PackageManager *pm, char **ret_name, uint64_t *ret_length,
                             struct json_object **ret_hashes);
        /* Optional (NULL: never). Whether the package manager gets t's content
         * itself (ostree: a commit named by t's sha256) instead of the daemon
         * downloading a file for install(). */
        bool (*fetches)(PackageManager *pm, const UpDirectorTarget *t);
        /* Gets t's content, checked against t by construction (an OSTree
         * commit checksum covers the whole tree). A fetch stopped half-way
         * resumes on the next call and is never taken for complete.
         * -ECANCELED (progress said stop), -EILSEQ (content does not match),
         * -ENOSPC, -ETIMEDOUT, -EIO, -ENOENT (not on the server). */
        int (*fetch)(PackageManager *pm, const UpDirectorTarget *t, PackageManagerProgress progress,
                     void *userdata);
        /* Installs the verified image at image_path (NULL for a fetched target) (a file the daemon
         * downloaded and checked against t, which it deletes afterwards: the
         * package manager may move it instead of copying). 0 with *ret
         * filled (success or a failure to report); < 0 only when nothing
         * could even be tried. */
        int (*install)(PackageManager *pm, const UpDirectorTarget *t, const char *image_path, InstallOutcome *ret);
        /* After a restart with an install pending (for a reboot_needed one:
         * only once the machine booted again): 0 with *ret when it completed
         * (or definitely failed: another deployment booted), -EAGAIN when it
         * never happened (then the daemon installs again). */
        int (*finalize)(PackageManager *pm, const ImageRecord *pending, InstallOutcome *ret);
        /* Optional (NULL: none). Why the last fetch() failed, in words, for
         * the log (an errno alone says too little: which URL, which object,
         * how much space); NULL when there is nothing to add. Valid until
         * the next call. */
        const char *(*last_error)(PackageManager *pm);
        void (*free)(PackageManager *pm);
} PackageManagerOps;

struct PackageManager {
        const PackageManagerOps *ops;
};

/* The package manager the configuration names. -EOPNOTSUPP when it is not
 * built in (ostree without libostree at build time), with a sentence in
 * *reterr, as for any other failure. */
int package_manager_new(const PrimaryConfig *c, PackageManager **ret, char **reterr);
PackageManager *package_manager_free(PackageManager *pm);

/* pm->ops->last_error(), or NULL when the package manager has none. */
const char *package_manager_last_error(PackageManager *pm);

/* The id of this boot (the kernel's, or UPTANE_TEST_BOOT_ID in tests, as the
 * cycle's): what tells an install done in this boot from an older one. */
int package_manager_boot_id(char ret[static 64]);

void install_outcome_set(InstallOutcome *o, bool success, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Fault injection for the kill -9 tests: UPTANE_TEST_CRASH_POINT=NAME makes
 * the daemon kill itself with SIGKILL at the point called NAME, as a power
 * cut would (docs/man/uptane-primaryd.8.scd lists the points). */
void test_crash_point(const char *name);

/* pm_file.c */
int package_manager_file_new(const char *target_path, PackageManager **ret);

/* pm_ostree.c (built with libostree only): [package-manager] ostree-*, the
 * [tls] files and the [download] limits, copied. */
int package_manager_ostree_new(const PrimaryConfig *c, PackageManager **ret, char **reterr);

/* Hashes a file with every algorithm libuptane knows: {"sha256": hex, ...}. */
int hash_file(const char *path, uint64_t *ret_length, struct json_object **ret_hashes);
