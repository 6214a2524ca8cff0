/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/key.h"

/*
 * TUF 1.0 / Uptane metadata: {"signatures": [...], "signed": {...}}.
 * Parsing checks structure and types strictly and keeps the whole JSON tree,
 * so unknown and custom fields stay available and stay signed.
 */

typedef enum UpRoleType {
        UP_ROLE_ROOT,
        UP_ROLE_TIMESTAMP,
        UP_ROLE_SNAPSHOT,
        UP_ROLE_TARGETS,
        _UP_ROLE_MAX,
        _UP_ROLE_INVALID = -22,
} UpRoleType;

/* Limits on what an attacker controls inside one metadata file. */
#define UP_MAX_KEYS_PER_ROLE      1024
#define UP_MAX_SIGNATURES         1024
#define UP_MAX_DELEGATIONS        1024
#define UP_MAX_PATHS_PER_ROLE     1024
#define UP_MAX_ROLE_NAME          1024

const char *up_role_type_name(UpRoleType t); /* "root", ... */

typedef struct UpMetadata UpMetadata;

/* Keys by key id: root's "keys" or a delegator's "delegations.keys". */
typedef struct UpKeyring UpKeyring;

/* The key ids and threshold that a delegator assigns to a role. */
typedef struct UpRoleKeys {
        char **keyids;
        size_t n_keyids;
        int64_t threshold;
} UpRoleKeys;

/* A "meta" entry of timestamp or snapshot. length is -1 and hashes NULL when absent. */
typedef struct UpMetaFile {
        int64_t version;
        int64_t length;
        struct json_object *hashes; /* borrowed */
} UpMetaFile;

typedef struct UpDelegatedRole {
        char *name;
        UpRoleKeys keys;
        bool terminating;
        char **paths;               /* NULL when path_hash_prefixes is used */
        size_t n_paths;
        char **path_hash_prefixes;  /* NULL when paths is used */
        size_t n_path_hash_prefixes;
} UpDelegatedRole;

/* A target entry of a targets role. */
typedef struct UpTargetFile {
        const char *path;           /* borrowed from the metadata */
        int64_t length;
        struct json_object *hashes; /* borrowed */
        struct json_object *custom; /* borrowed; NULL when absent */
} UpTargetFile;

/* Parses bytes as metadata of the expected type. -EBADMSG when malformed,
 * -EMEDIUMTYPE when _type is another role, -ENOTUNIQ when two signatures
 * carry the same key id, -EOPNOTSUPP for an unsupported spec_version. */
int up_metadata_parse(const void *buf, size_t len, UpRoleType expected, UpMetadata **ret);

UpMetadata *up_metadata_ref(UpMetadata *m);
UpMetadata *up_metadata_unref(UpMetadata *m);
static inline void up_metadata_unrefp(UpMetadata **m) {
        if (*m)
                up_metadata_unref(*m);
}

UpRoleType up_metadata_type(const UpMetadata *m);
int64_t up_metadata_version(const UpMetadata *m);
time_t up_metadata_expires(const UpMetadata *m);
bool up_metadata_is_expired(const UpMetadata *m, time_t now);
struct json_object *up_metadata_signed(const UpMetadata *m); /* borrowed */

/* 0 when at least role->threshold distinct keys of role, found in ring, have
 * valid signatures over the canonical form of "signed"; -EKEYREJECTED otherwise.
 * Signatures by unlisted keys, garbage and empty signatures are ignored. */
int up_metadata_verify(const UpMetadata *m, const UpKeyring *ring, const UpRoleKeys *role);

/* Root. */
const UpKeyring *up_root_keyring(const UpMetadata *root);
const UpRoleKeys *up_root_role(const UpMetadata *root, UpRoleType role);
bool up_root_consistent_snapshot(const UpMetadata *root);
/* true when the key ids or threshold of role differ between two roots */
bool up_root_role_changed(const UpMetadata *a, const UpMetadata *b, UpRoleType role);

/* Timestamp: the snapshot.json entry. */
const UpMetaFile *up_timestamp_snapshot_meta(const UpMetadata *ts);

/* Snapshot: the entry for "<role>.json"; -ENOENT when not listed. */
int up_snapshot_get_meta(const UpMetadata *snap, const char *role, UpMetaFile *ret);
/* Iterates the targets roles listed: returns the number of entries, fills
 * names (borrowed) and metafiles when the arrays are not NULL. */
size_t up_snapshot_n_meta(const UpMetadata *snap);
int up_snapshot_meta_at(const UpMetadata *snap, size_t i, const char **ret_name, UpMetaFile *ret);

/* Targets. The entries of "targets" are kept apart from the JSON tree (a
 * repository may list 100,000 images): up_metadata_signed() of a targets
 * role shows "targets" as {}; look entries up with these. The pointers in
 * UpTargetFile live as long as the metadata. */
int up_targets_get(const UpMetadata *t, const char *path, UpTargetFile *ret); /* -ENOENT */
int up_targets_at(const UpMetadata *t, size_t i, UpTargetFile *ret);          /* sorted by path */
size_t up_targets_count(const UpMetadata *t);
const UpKeyring *up_targets_delegation_keyring(const UpMetadata *t); /* NULL: no delegations */
size_t up_targets_n_delegations(const UpMetadata *t);
const UpDelegatedRole *up_targets_delegation_at(const UpMetadata *t, size_t i);
const UpDelegatedRole *up_targets_find_delegation(const UpMetadata *t, const char *role);

/* Does the delegation apply to a target path? Shell-style paths where '*'
 * does not match '/', or sha256 hex prefixes of the path. */
bool up_delegated_role_matches(const UpDelegatedRole *d, const char *target_path);

/* Keyring. */
const UpKey *up_keyring_find(const UpKeyring *ring, const char *keyid);
size_t up_keyring_size(const UpKeyring *ring);

/* Checks length and every hash of a file against metadata. A hash with an
 * unknown algorithm fails (-EOPNOTSUPP) unless another supported one is
 * listed; no hash at all is -EBADMSG; mismatch is -EILSEQ. length < 0 skips
 * the length check. */
int up_fileinfo_check(int64_t length, struct json_object *hashes, const void *data, size_t len);

/* Parses "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
int up_parse_iso8601(const char *s, time_t *ret);
/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into ret (21 bytes). */
int up_format_iso8601(time_t t, char *ret);

/* Percent-encodes every byte except A-Z a-z 0-9 - . _ ~ (a role name in a URL
 * or file name). *ret is malloc()ed. */
int up_percent_encode(const char *s, char **ret);

/* Signing side (repository tools and tests): wraps "signed" into a document
 * signed by each key and serializes it (pretty when pretty is true). */
int up_metadata_sign(struct json_object *signed_obj, UpKey *const *keys, size_t n_keys, bool pretty,
                     char **ret, size_t *ret_len);
