/* SPDX-License-Identifier: MIT */
#pragma once

/* The parsed form of metadata, shared by the per-role parsers. */

#include "uptane/metadata.h"

typedef struct UpSignature {
        const char *keyid; /* borrowed from the document */
        const char *sig;   /* hex, borrowed; may be empty or garbage */
        size_t sig_len;
} UpSignature;

struct UpKeyring {
        size_t n;
        char **keyids;
        UpKey **keys; /* NULL where the key is of an unsupported type */
};

typedef struct UpRootInfo {
        UpKeyring keyring;
        UpRoleKeys roles[_UP_ROLE_MAX];
        bool consistent_snapshot;
} UpRootInfo;

/* One entry of "targets", kept as its canonical bytes: parsed only when
 * looked up, so that a role with 100,000 images costs no tree. */
typedef struct UpTargetEntry {
        char *path;
        size_t canonical_offset, canonical_len; /* within UpMetadata.canonical */
        struct json_object *json;               /* parsed on first lookup */
} UpTargetEntry;

typedef struct UpTargetsInfo {
        UpTargetEntry *entries; /* sorted by path */
        size_t n_entries;
        bool has_delegations;
        UpKeyring keyring;
        UpDelegatedRole *roles;
        size_t n_roles;
} UpTargetsInfo;

struct UpMetadata {
        unsigned n_ref;
        UpRoleType type;
        struct json_object *doc;
        struct json_object *signed_obj; /* borrowed from doc */
        char *canonical;                /* what the signatures cover */
        size_t canonical_len;
        UpSignature *sigs;
        size_t n_sigs;
        int64_t version;
        time_t expires;
        union {
                UpRootInfo root;
                UpMetaFile timestamp_snapshot;
                struct json_object *snapshot_meta; /* borrowed */
                UpTargetsInfo targets;
        };
};

int up_keyring_parse(struct json_object *keys, UpKeyring *ret);
void up_keyring_done(UpKeyring *ring);

int up_role_keys_parse(struct json_object *o, UpRoleKeys *ret);
void up_role_keys_done(UpRoleKeys *rk);

int up_metafile_parse(struct json_object *o, UpMetaFile *ret);

/* Role-specific parts of up_metadata_parse(); free with *_done(). */
int up_root_parse(UpMetadata *m);
void up_root_done(UpMetadata *m);
int up_timestamp_parse(UpMetadata *m);
int up_snapshot_parse(UpMetadata *m);
/* buf is the whole document and targets the span of signed.targets in it;
 * m->doc holds the document with that value replaced by {}. Sets
 * m->canonical. */
struct UpJsonSpan;
int up_targets_parse(UpMetadata *m, const char *buf, const struct UpJsonSpan *targets);
void up_targets_done(UpMetadata *m);

int up_delegations_parse(struct json_object *delegations, UpTargetsInfo *ret);
void up_delegations_done(UpTargetsInfo *t);

/* NULL-terminated list of strings, all of them; -EBADMSG on another type. */
int up_string_array_parse(struct json_object *a, size_t max, char ***ret, size_t *ret_n);
void up_string_array_free(char **a, size_t n);
