/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The offline side of an Uptane repository on disk: an Image repository, or
 * the signing part of a Director (see uptane/director.h for its vehicles).
 *
 *   DIR/config.json        kind, key scheme, expiry durations
 *   DIR/keys/              KEYID.key private keys (0600, dir 0700) and
 *                          roles.json: which role uses which key, and the
 *                          retired (rotated out or revoked) keys
 *   DIR/staged/            the unsigned current state ("signed" body) of
 *                          root, targets and every delegated role: edits go
 *                          here and are kept until the next publish
 *   DIR/metadata/          what clients fetch: N.root.json, N.targets.json,
 *                          N.<role>.json, N.snapshot.json, timestamp.json
 *                          and an unversioned <role>.json copy of each
 *   DIR/targets/           images as <dir>/HASH.<base> for every listed
 *                          hash, and as <dir>/<base> (the newest)
 *   DIR/vehicles/VIN/      a Director's per-vehicle staged/, metadata/
 *                          (with copies of every root) and targets/
 *   DIR/attack-backup/     what the attack commands saved for undo
 *
 * Role names in file names are percent-encoded. Metadata is TUF 1.0 JSON,
 * written as canonical JSON, consistent snapshots on. Every file is written
 * atomically. Functions return 0 or a negative errno; up_repo_error() then
 * names the file and the reason.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/key.h"
#include "uptane/metadata.h"

typedef enum UpRepoKind {
        UP_REPO_IMAGE,
        UP_REPO_DIRECTOR,
        _UP_REPO_KIND_MAX,
        _UP_REPO_KIND_INVALID = -22,
} UpRepoKind;

#define UP_REPO_DAY ((int64_t) 86400)
#define UP_REPO_DEFAULT_EXPIRES_ROOT      (365 * UP_REPO_DAY)
#define UP_REPO_DEFAULT_EXPIRES_TARGETS   (90 * UP_REPO_DAY)
#define UP_REPO_DEFAULT_EXPIRES_SNAPSHOT  (7 * UP_REPO_DAY)
#define UP_REPO_DEFAULT_EXPIRES_TIMESTAMP (1 * UP_REPO_DAY)

/* The spec_version written into every role. */
#define UP_REPO_SPEC_VERSION "1.0.31"

typedef struct UpRepo UpRepo;

typedef struct UpRepoInitOptions {
        UpRepoKind kind;
        UpKeyScheme scheme;               /* of every key generated, now and later */
        unsigned threshold[_UP_ROLE_MAX]; /* 0: 1; as many keys are generated */
        int64_t expires[_UP_ROLE_MAX];    /* seconds; 0: the default */
} UpRepoInitOptions;

/* "image" / "director". */
const char *up_repo_kind_name(UpRepoKind k);

/* An object for the repository in dir (nothing is read yet). */
int up_repo_new(const char *dir, UpRepo **ret);
UpRepo *up_repo_free(UpRepo *r);
static inline void up_repo_freep(UpRepo **r) {
        if (*r)
                up_repo_free(*r);
}

/* Creates the layout in dir (which must not exist or be empty), the keys of
 * the four top-level roles, and publishes version 1: root, and for an Image
 * repository an empty targets, snapshot and timestamp. */
int up_repo_create(UpRepo *r, const UpRepoInitOptions *opts, time_t now);
/* Reads config.json. */
int up_repo_open(UpRepo *r);
/* up_repo_new() + up_repo_open(); on failure *ret_error (may be NULL) gets a
 * malloc()ed text that names the file and the reason. */
int up_repo_load(const char *dir, UpRepo **ret, char **ret_error);

const char *up_repo_dir(const UpRepo *r);
UpRepoKind up_repo_kind(const UpRepo *r);
UpKeyScheme up_repo_scheme(const UpRepo *r);

/* Why the last call failed ("" when nothing did). */
const char *up_repo_error(const UpRepo *r);
/* Records the reason for err and returns err (for code extending a
 * repository, like the Director). */
int up_repo_fail(UpRepo *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Expiry durations (seconds from publication) per top-level role; delegated
 * roles use the targets one. */
int up_repo_set_expires(UpRepo *r, UpRoleType role, int64_t seconds);
int64_t up_repo_expires(const UpRepo *r, UpRoleType role);

/* --- Targets (Image repository) ------------------------------------------ */

typedef struct UpRepoTarget {
        const char *name;                 /* path in the repository, e.g. "fw/ecu.img" */
        const char *role;                 /* NULL: "targets" */
        const char *const *hardware_ids;  /* custom.hardwareIds */
        size_t n_hardware_ids;
        int64_t release_counter;          /* custom.releaseCounter, >= 0 */
        const char *format;               /* custom.targetFormat; NULL: "BINARY" */
        const char *uri;                  /* custom.uri; NULL: none */
} UpRepoTarget;

/* Stores the image (consistent-snapshot names) and lists it in the staged
 * role, which must be authorized for the name by the delegation chain. */
int up_repo_add_target(UpRepo *r, const UpRepoTarget *t, const void *data, size_t len);
/* The same from a file; t->name NULL: the file's base name. */
int up_repo_add_target_file(UpRepo *r, const UpRepoTarget *t, const char *path);
/* Lists the OSTree commit whose checksum is commit (64 lower-case hex
 * digits, else -EINVAL) as the target t->name: "length": 0, "hashes":
 * {"sha256": commit}, custom.targetFormat "OSTREE" (t->format NULL or
 * "OSTREE"). No image is stored: the device pulls the commit by its checksum
 * from an OSTree server, and the commit's checksum covers the whole tree. */
int up_repo_add_ostree_target(UpRepo *r, const UpRepoTarget *t, const char *commit);
/* Whether a target entry names an OSTree commit (custom.targetFormat
 * "OSTREE" and length 0): no image file goes with it. */
bool up_repo_entry_is_ostree(struct json_object *entry);
/* Unlists name from role (NULL: from every role listing it). The image files
 * stay: clients holding older metadata may still fetch them. */
int up_repo_remove_target(UpRepo *r, const char *role, const char *name);

/* The entry (length, hashes, custom; a new reference) and the role of a
 * target in the published metadata; -ENOENT when no role lists it. */
int up_repo_find_target(UpRepo *r, const char *name, struct json_object **ret_entry, char **ret_role);
/* Path of the stored copy of an image (vin NULL: the repository's own
 * targets/), named by its sha256 as listed in hashes. */
int up_repo_image_path(UpRepo *r, const char *vin, const char *name, struct json_object *hashes, char **ret);
/* Writes the copies of an image clients may ask for (HASH.<base> for sha256
 * and sha512, and <base>) below the repository's or a vehicle's targets/. */
int up_repo_store_image(UpRepo *r, const char *vin, const char *name, const void *data, size_t len);

/* Target names: '/'-separated components of A-Z a-z 0-9 and "._~+@=,-", none
 * empty or starting with '.'. Role names: one such component. VINs: the same,
 * at most 64 characters. */
bool up_repo_target_name_valid(const char *name);
bool up_repo_role_name_valid(const char *name);
bool up_repo_vin_valid(const char *vin);

/* --- Delegations (Image repository) -------------------------------------- */

typedef struct UpRepoDelegation {
        const char *role;
        const char *delegator;    /* NULL: "targets" */
        const char *const *paths; /* shell-style patterns */
        size_t n_paths;
        bool terminating;
        unsigned threshold;       /* 0: 1 */
        unsigned n_keys;          /* keys generated; 0: threshold */
} UpRepoDelegation;

/* Adds the delegation (keys generated) and an empty staged role. */
int up_repo_delegate(UpRepo *r, const UpRepoDelegation *d);

/* --- Staged state (for tools built on a repository) ---------------------- */

/* The staged "signed" body of role (root is shared by every vehicle); *ret
 * is a new object. vin NULL: the repository's own roles. */
int up_repo_staged_read(UpRepo *r, const char *vin, const char *role, struct json_object **ret);
int up_repo_staged_write(UpRepo *r, const char *vin, const char *role, struct json_object *body);

/* --- Publishing ---------------------------------------------------------- */

/* Signs and writes a new version of every role whose staged state or keys
 * changed since it was published, then a new snapshot (when a targets role
 * changed) and a new timestamp; the roles named in bump get a new version in
 * any case. Root N+1 is signed by the root keys of root N and of root N+1.
 * A Director republishes every vehicle. Expiry: now + the role's duration. */
int up_repo_publish(UpRepo *r, const char *const *bump, size_t n_bump, time_t now);
/* The same for one vehicle of a Director (targets, snapshot, timestamp), or
 * without the root for vin NULL. */
int up_repo_publish_set(UpRepo *r, const char *vin, const char *const *bump, size_t n_bump, time_t now);

/* --- Keys ---------------------------------------------------------------- */

/* Replaces every key of role (top-level or delegated) by n_keys new ones
 * (0: as many as it has, at least its threshold); the old ones are retired.
 * Takes effect at the next publish. */
int up_repo_rotate(UpRepo *r, const char *role, unsigned n_keys);
/* Unlists a key from every role; a role left with fewer keys than its
 * threshold gets new keys. Takes effect at the next publish. */
int up_repo_revoke(UpRepo *r, const char *keyid);

/* What is published and pending, as JSON:
 * {"dir","kind","scheme","expires":{role:seconds},
 *  "roles":[{"name","version","expires","expired","pending","threshold",
 *            "keys":[{"keyid","scheme","private"}]}],
 *  "targets":[{"name","role","length","releaseCounter"}],
 *  "retired_keys":[{"keyid","role"}], "vehicles":[{"vin","version","targets"}],
 *  "attacks":[...as up_repo_attack_list()]} */
int up_repo_status(UpRepo *r, time_t now, struct json_object **ret);

/* --- Staging the demo's attacks ------------------------------------------ */

typedef struct UpRepoAttackInfo {
        const char *name;
        const char *section;  /* of the Uptane reference demo's README, or "" */
        const char *summary;
        const char *expected; /* what a client does */
} UpRepoAttackInfo;

/* Every attack, NULL-terminated. */
const UpRepoAttackInfo *up_repo_attacks(void);

typedef struct UpRepoAttackOptions {
        UpRepo *other;         /* the Image repository of a Director, or the reverse */
        const char *vin;       /* a Director's vehicle */
        const char *ecu_serial;
        const char *hardware_id;
        const char *target;    /* target name */
        const char *role;      /* role acted on (default per attack) */
        const void *content;   /* evil image bytes; NULL: a built-in text */
        size_t content_len;
        size_t size;           /* endless-data: file size (0: 1 MiB); slow-retrieval: bytes/s (0: 16) */
        time_t now;
} UpRepoAttackOptions;

/* The marker file (in a repository's directory) that makes uptane-server
 * trickle that repository's files: its content is the rate in bytes/s. */
#define UP_REPO_SLOW_RETRIEVAL_MARKER "attack-slow-retrieval"

/* Stages the attack. Everything it may change (this repository and
 * o->other) is saved first below DIR/attack-backup/NAME/, so that
 * up_repo_attack_undo() restores every file byte for byte. Attacks stack;
 * undo goes in reverse order. "save-timestamp" only saves a copy. */
int up_repo_attack(UpRepo *r, const char *name, const UpRepoAttackOptions *o);
int up_repo_attack_undo(UpRepo *r, const char *name);
/* Forgets the backup without restoring. */
int up_repo_attack_drop(UpRepo *r, const char *name);
/* Staged attacks, oldest first: [{"name","seq","trees":[dir...]}]. */
int up_repo_attack_list(UpRepo *r, struct json_object **ret);
