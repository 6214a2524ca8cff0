/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/fetch.h"
#include "uptane/trusted_set.h"

/*
 * A TUF client for one repository: refreshes the top-level metadata, looks
 * targets up through delegations and downloads them, keeping the trusted
 * metadata in a directory (one "<role>.json" per trusted role, the exact bytes
 * received, written atomically).
 */

typedef struct UpUpdaterConfig {
        const char *metadata_dir;      /* must contain a trusted root.json */
        const char *metadata_url;      /* base URL; file names are appended as they are */
        const char *target_dir;        /* may be NULL when nothing is downloaded */
        const char *target_base_url;   /* may be NULL when nothing is downloaded */
        time_t now;                    /* the time expiry is checked against */
        UpFetcher fetcher;
        /* Also keep every accepted root as N.root.json (a Primary passes the
         * chain on to its Secondaries, which may be several versions behind). */
        bool keep_root_history;

        /* Limits (0: default). */
        size_t max_root_rotations;     /* 256 */
        size_t max_delegations;        /* 32 roles visited per lookup */
        size_t root_max_length;        /* 512 KiB */
        size_t timestamp_max_length;   /* 16 KiB */
        size_t snapshot_max_length;    /* 2 MiB, when the timestamp gives no length */
        size_t targets_max_length;     /* 64 MiB, when the snapshot gives no length */
} UpUpdaterConfig;

typedef struct UpUpdater UpUpdater;

typedef struct UpTargetInfo {
        char *path;
        int64_t length;
        struct json_object *hashes; /* owned reference */
        struct json_object *custom; /* owned reference, may be NULL */
        char *role;                 /* the role that listed it */
} UpTargetInfo;

/* Loads and checks the trusted root from metadata_dir before any network
 * access: a bad root fails here with no request made. */
int up_updater_new(const UpUpdaterConfig *cfg, UpUpdater **ret);
UpUpdater *up_updater_free(UpUpdater *u);

/* Root rotation, timestamp, snapshot, top-level targets. */
int up_updater_refresh(UpUpdater *u);

/* Whether the last up_updater_refresh() fetched and newly trusted (stored) the
 * top-level role, rather than keeping the stored copy (e.g. false for the
 * snapshot when the timestamp names the stored one). Also after a refresh that
 * failed later on. */
bool up_updater_refreshed(const UpUpdater *u, UpRoleType role);

/* Pre-order depth-first search through delegations. -ENOENT when no role
 * lists the path. Call after up_updater_refresh(). */
int up_updater_get_target_info(UpUpdater *u, const char *path, UpTargetInfo **ret);
UpTargetInfo *up_target_info_free(UpTargetInfo *t);

/* The file under target_dir that holds the target (percent-encoded path). */
int up_updater_target_file(UpUpdater *u, const UpTargetInfo *t, char **ret);
/* 0 when target_dir already holds a copy that matches length and hashes. */
int up_updater_find_cached_target(UpUpdater *u, const UpTargetInfo *t);
/* Downloads, verifies and atomically stores the target; a failure leaves any
 * previous copy untouched. */
int up_updater_download_target(UpUpdater *u, const UpTargetInfo *t);

const UpTrustedSet *up_updater_trusted_set(const UpUpdater *u);

/* Whether the trusted root asks for consistent snapshots. */
bool up_updater_consistent_snapshot(const UpUpdater *u);
/* The name a target is served under, relative to the targets URL: PATH, or
 * under consistent snapshots DIR/HASH.NAME (the sha256, else the first hash). */
int up_target_url_name(const UpTargetInfo *t, bool consistent_snapshot, char **ret);

/* What went wrong last, with the file and the reason ("" when nothing). */
const char *up_updater_error(const UpUpdater *u);
