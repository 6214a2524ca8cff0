/* SPDX-License-Identifier: MIT */
#pragma once

#include "json-internal.h"

/*
 * What the sources of a repository on disk (uptane/repository.h) share; not
 * installed.
 *
 *   repository.c    the object, errors, names, files, config.json, create
 *   repo_keys.c     keys/ and roles.json, signers, rotate, revoke
 *   repo_staged.c   staged role bodies, the targets roles, delegations
 *   repo_targets.c  images, targets, delegating to a new role
 *   repo_publish.c  signing and writing metadata
 *   repo_status.c   status
 *   repo_attacks.c  the demo's attacks, their backups, undo
 *
 * Helpers that may fail and have a repository at hand record the reason
 * (up_repo_fail()); the ones without one return a bare negative errno.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "metadata-internal.h"
#include "uptane/repository.h"
#include "util.h"

/* Larger metadata is refused on reading (endless data). */
#define REPO_MAX_JSON_FILE (64u * 1024u * 1024u)

struct UpRepo {
        char *dir;
        char *error;
        bool opened;
        int lock_fd;       /* flock()ed directory: one writer at a time, across processes */
        UpRepoKind kind;
        UpKeyScheme scheme;
        int64_t expires[_UP_ROLE_MAX];
};

/* --- JSON trees ------------------------------------------------------------ */


static inline struct json_object *json_child(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* json-c asserts on the type: files people may edit get these. */
static inline size_t array_len(struct json_object *a) {
        return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static inline struct json_object *as_object(struct json_object *o) {
        return json_object_is_type(o, json_type_object) ? o : NULL;
}

static inline bool strv_json_contains(struct json_object *a, const char *s) {
        for (size_t i = 0; i < array_len(a); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(a, i)) ?: "", s))
                        return true;
        return false;
}

/* --- repository.c: errors, names, paths and files ---------------------------- */

void repo_clear_error(UpRepo *repo);
/* For a failed system call: what failed, on which path, and errno's text. */
int repo_fail_errno(UpRepo *repo, const char *what, const char *path);
/* Clears the error; -EINVAL unless the repository was opened or created. */
int repo_check_opened(UpRepo *repo);
/* -EOPNOTSUPP on a Director; what says what to do there instead. */
int repo_check_image(UpRepo *repo, const char *what);

/* The role type of a role name: a delegated role is a targets role. */
UpRoleType repo_role_type(const char *role);
bool repo_is_top_level(const char *role);
/* A file name we create: no '.' first (no "..", no hidden or temp files). */
bool repo_file_name_valid(const char *s);
/* Text we write into metadata: canonical JSON escapes nothing but '"' and
 * '\\', so control characters would make files strict parsers refuse. */
bool repo_text_valid(const char *s, size_t max);

int repo_pathf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* DIR/sub, or DIR/vehicles/VIN/sub for a Director's vehicle. */
int repo_set_path(UpRepo *repo, const char *vin, const char *sub, char **ret);
/* "N.<role>.json" (version > 0) or "<role>.json", role percent-encoded. */
int repo_role_file_name(const char *role, int64_t version, char **ret);

static inline bool file_exists(const char *path) {
        return access(path, F_OK) == 0;
}
/* path and its missing parents (those 0755). */
int repo_mkdir_p(const char *path, mode_t mode);
int repo_make_dir(UpRepo *repo, const char *path, mode_t mode);
/* The names in dir, sorted, without "." and ".."; -ENOENT when dir is
 * missing. Free with up_string_array_free(). */
int repo_list_dir(const char *dir, char ***ret, size_t *ret_n);
int repo_rm_rf(const char *path);

int repo_read_file(UpRepo *repo, const char *dir, const char *name, size_t max, uint8_t **ret, size_t *ret_len);
/* A whole file of any size (an image). */
int repo_read_path(UpRepo *repo, const char *path, uint8_t **ret, size_t *ret_len);
int repo_read_json(UpRepo *repo, const char *dir, const char *name, struct json_object **ret);
int repo_write_file(UpRepo *repo, const char *dir, const char *name, const void *data, size_t len, mode_t mode);
/* Pretty JSON for the files people read (config, staged state, key map). */
int repo_write_json(UpRepo *repo, const char *dir, const char *name, struct json_object *o, mode_t mode);
/* Copies a file atomically, with the given mode. */
int repo_copy_file(UpRepo *repo, const char *src, const char *dst_dir, const char *dst_name, mode_t mode);

/* {role: seconds} of the expiry durations. */
int repo_expires_json(UpRepo *repo, struct json_object **ret);

/* --- repo_keys.c ---------------------------------------------------------------- */

/* keys/roles.json: {"roles": {role: [keyid...]}, "retired": {keyid: role}}. */
int repo_keymap_read(UpRepo *repo, struct json_object **ret);
/* Generates n keys for role, saves their private parts, lists them in keys
 * (a key dictionary) and keyids (an array), and records keyids as what role
 * uses now in roles.json (the keys it had before are retired). */
int repo_keys_add(UpRepo *repo, const char *role, unsigned n, struct json_object *keys,
                  struct json_object *keyids);

/* The private keys to sign with. */
typedef struct Signers {
        UpKey **keys;
        size_t n;
} Signers;

void repo_signers_done(Signers *s);
/* Those of keys that keys/ holds (a threshold may be met without every key,
 * so a missing one is no error here). */
int repo_signers_add_role(UpRepo *repo, Signers *s, const UpRoleKeys *keys);
/* The retired keys of role that keys/ still holds. */
int repo_signers_add_retired(UpRepo *repo, Signers *s, const char *role);

/* --- repo_staged.c -------------------------------------------------------------- */

/* A new, empty role body of the given type, version 1. */
int repo_body_new(UpRepo *repo, UpRoleType type, time_t now, struct json_object **ret);
int repo_body_set_version(struct json_object *body, int64_t version, time_t expires);
/* Stages an empty targets role (a vehicle's, vin not NULL, carries the VIN). */
int repo_stage_empty_targets(UpRepo *repo, const char *vin, const char *role, time_t now);
bool repo_staged_exists(UpRepo *repo, const char *vin, const char *role);
/* The staged body of a targets role and its "targets" object (borrowed). */
int repo_staged_targets(UpRepo *repo, const char *vin, const char *role, struct json_object **ret_body,
                        struct json_object **ret_targets);
/* delegations {"keys": {}, "roles": []} of a targets body, created if missing. */
int repo_body_delegations(struct json_object *body, struct json_object **ret_keys, struct json_object **ret_roles);

/* The targets roles of a set, each with its (first) delegator, in
 * breadth-first order from "targets". */
typedef struct RoleRef {
        char *role;
        char *delegator;
} RoleRef;

typedef struct RoleList {
        RoleRef *v;
        size_t n;
} RoleList;

void repo_role_list_done(RoleList *l);
const RoleRef *repo_role_list_find(const RoleList *l, const char *role);
int repo_targets_roles(UpRepo *repo, const char *vin, RoleList *ret);

/* How a role is delegated: by whom, with which keys and threshold. */
typedef struct Delegation {
        UpMetadata *delegator;
        const UpKeyring *ring;
        const UpRoleKeys *keys;
} Delegation;

void repo_delegation_done(Delegation *d);
void repo_delegation_from_root(UpMetadata *root, UpRoleType type, Delegation *ret);
/* The staged delegation of role by delegator ("root" for top-level roles). */
int repo_delegation_get(UpRepo *repo, const char *vin, const char *role, const char *delegator, Delegation *ret);
/* A staged body checked by libuptane's own parser. */
int repo_staged_parse(UpRepo *repo, const char *vin, const char *role, UpMetadata **ret);

/* --- repo_targets.c ------------------------------------------------------------- */

/* {"sha256": HEX, "sha512": HEX} of data. */
int repo_hashes(const void *data, size_t len, struct json_object **ret);
/* The directory holding the copies of an image: targets/[dir of name]. */
int repo_image_dir(UpRepo *repo, const char *vin, const char *name, char **ret);
/* The names (in repo_image_dir()) clients may ask for. */
int repo_image_file_names(const char *name, struct json_object *hashes, char ***ret, size_t *ret_n);
/* A targets entry: length, hashes and custom. */
int repo_target_entry(const UpRepoTarget *t, const void *data, size_t len, struct json_object **ret);

/* --- repo_publish.c ------------------------------------------------------------- */

/* A published role: the bytes of its unversioned copy, parsed as JSON. */
typedef struct Published {
        uint8_t *data;
        size_t len;
        struct json_object *doc;
        struct json_object *signed_obj; /* borrowed from doc */
        int64_t version;
} Published;

void repo_published_done(Published *p);
int repo_metadata_dir(UpRepo *repo, const char *vin, const char *role, char **ret);
/* -ENOENT (and no error text) when role was never published. */
int repo_published_read(UpRepo *repo, const char *vin, const char *role, Published *ret);
/* The same, but never published is an error too. */
int repo_published_get(UpRepo *repo, const char *vin, const char *role, Published *ret);

/* Whether role must be signed anew: its staged body differs from what is
 * published (p->data NULL: nothing is), or the published one is not signed
 * by the keys of d. */
int repo_role_needs_publish(const char *role, struct json_object *body, const Delegation *d, const Published *p,
                            bool *ret);

/* How attacks bend publication. */
typedef struct SetOptions {
        const char *const *bump;
        size_t n_bump;
        bool all;                 /* every targets role, the snapshot and the timestamp */
        bool retired_keys;        /* sign targets, snapshot, timestamp with retired keys */
        const char *expired_role; /* this role expires a day before now */
} SetOptions;

/* The targets roles, snapshot and timestamp of the repository (vin NULL) or
 * of a Director's vehicle. */
int repo_publish_set_opts(UpRepo *repo, const char *vin, const SetOptions *o, time_t now);
