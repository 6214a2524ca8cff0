/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * An in-memory TUF repository for tests, built on libuptane's signing API.
 *
 * The repository holds the current "signed" object of every role (root,
 * timestamp, snapshot, targets and delegated roles), the signing keys of every
 * role, and the bytes it has published for every version of every role. It
 * serves them through an UpFetcher over
 *
 *   http://repo.test/metadata/N.root.json        (root: always versioned)
 *   http://repo.test/metadata/timestamp.json     (never versioned)
 *   http://repo.test/metadata/N.<role>.json      (consistent snapshot)
 *   http://repo.test/metadata/<role>.json        (otherwise: the newest)
 *   http://repo.test/targets/<dir>/<sha256>.<base>  (consistent snapshot)
 *   http://repo.test/targets/<path>              (otherwise)
 *
 * where <role> is percent-encoded. Everything not published is -ENOENT, and a
 * body longer than the fetch's max_len is -EFBIG. Every request is logged in
 * order, so that a test can compare the exact request sequence.
 *
 * A new repository has one key per top-level role and version 1 of root,
 * timestamp, snapshot and targets published, with consistent_snapshot on and
 * every role expiring TESTREPO_EXPIRES_DAYS after TESTREPO_NOW.
 *
 * Editing: testrepo_signed() hands out the current "signed" object of a role
 * to change at will; nothing is served until the role is published again.
 * Functions return 0 or a negative errno unless noted.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>

#include "uptane/fetch.h"
#include "uptane/key.h"
#include "uptane/updater.h"

/* The repository's clock: 2025-06-15T00:00:00Z. */
#define TESTREPO_NOW ((time_t) 1749945600)
#define TESTREPO_DAY ((time_t) 86400)
#define TESTREPO_EXPIRES_DAYS 365

#define TESTREPO_METADATA_URL "http://repo.test/metadata/"
#define TESTREPO_TARGETS_URL "http://repo.test/targets/"

typedef struct TestRepo TestRepo;

/* One logged request. role is the decoded role name ("root", "?", ...) for
 * metadata and the path below targets/ for artifacts; version is -1 when the
 * file name carries none. */
typedef struct TestRequest {
        bool artifact;
        char *role;
        int64_t version;
        char *url;
} TestRequest;

int testrepo_new(UpKeyScheme scheme, TestRepo **ret);
TestRepo *testrepo_free(TestRepo *r);

/* Fixed ed25519 test keys (never use them for anything real). */
#define TESTREPO_N_FIXED_KEYS 5
/* The i-th fixed key, with its private part; a new reference. */
int testrepo_fixed_key(size_t i, UpKey **ret);
/* Expiry of every role of testrepo_new_fixed(): 2100-01-01T00:00:00Z. */
#define TESTREPO_FIXED_EXPIRES ((time_t) 4102444800)
/* Like testrepo_new(UP_SCHEME_ED25519), but root, timestamp, snapshot and
 * targets use fixed keys 0..3 and every role expires at
 * TESTREPO_FIXED_EXPIRES, so that the same calls publish the same bytes on
 * every run (fuzzing seeds stay valid). */
int testrepo_new_fixed(TestRepo **ret);
UpKeyScheme testrepo_scheme(const TestRepo *r);

/* --- Roles --------------------------------------------------------------- */

/* The current "signed" object of role (borrowed, mutable); NULL if unknown. */
struct json_object *testrepo_signed(TestRepo *r, const char *role);
int64_t testrepo_version(TestRepo *r, const char *role);
int testrepo_set_version(TestRepo *r, const char *role, int64_t version);
int testrepo_set_expires(TestRepo *r, const char *role, time_t expires);
/* Sets consistent_snapshot in root (publish root for clients to see it). The
 * repository serves according to its current root object. */
int testrepo_set_consistent_snapshot(TestRepo *r, bool on);
/* Whether update_snapshot()/update_timestamp() add length and sha256 of the
 * files they list (off by default). */
void testrepo_set_compute_metafile_hashes_length(TestRepo *r, bool on);

/* Bumps the version (unless the role was never published), signs with the
 * role's signers and publishes the bytes as that version. */
int testrepo_publish(TestRepo *r, const char *role);
/* Signs and publishes the current version again, replacing the bytes that
 * were published for it (if any). */
int testrepo_publish_no_bump(TestRepo *r, const char *role);
/* Points the snapshot at the newest published version of every targets role
 * that is in the snapshot, publishes it, then calls update_timestamp(). */
int testrepo_update_snapshot(TestRepo *r);
/* Points the timestamp at the newest snapshot and publishes it. */
int testrepo_update_timestamp(TestRepo *r);
/* Whether update_snapshot() lists a targets role (default: true). */
int testrepo_set_in_snapshot(TestRepo *r, const char *role, bool listed);

/* The bytes published for role at version (-1: the newest, i.e. the last
 * published, which need not be the highest version); borrowed. */
int testrepo_published(TestRepo *r, const char *role, int64_t version, const uint8_t **ret, size_t *ret_len);
/* Signs a copy of the role's current signed object with its signers without
 * publishing it. *ret is malloc()ed. */
int testrepo_sign_current(TestRepo *r, const char *role, uint8_t **ret, size_t *ret_len);

/* --- Keys ---------------------------------------------------------------- */

/* Generates a key with the repository's scheme, lists it for role in the
 * delegator (root, or every targets role that delegates to role) and signs
 * role with it. *ret (may be NULL) is borrowed. */
int testrepo_add_key(TestRepo *r, const char *role, UpKey **ret);
/* The same with a given key (a reference is taken). */
int testrepo_add_existing_key(TestRepo *r, const char *role, UpKey *key);
/* Lists key for role under a given key id and key object (neither checked),
 * without signing with it: for odd key ids or duplicate key material. */
int testrepo_list_key_as(TestRepo *r, const char *role, const char *keyid, struct json_object *key_obj);
/* Unlists key for role and stops signing with it. */
int testrepo_remove_key(TestRepo *r, const char *role, const UpKey *key);
/* Replaces every key of role by threshold freshly generated keys. */
int testrepo_rotate_keys(TestRepo *r, const char *role);
int testrepo_set_threshold(TestRepo *r, const char *role, int64_t threshold);

/* Signers only (the listing in the delegator is not touched). keyid NULL: the
 * key's own id; otherwise the signature is labelled with that key id. */
int testrepo_add_signer(TestRepo *r, const char *role, UpKey *key, const char *keyid);
int testrepo_remove_signer(TestRepo *r, const char *role, const UpKey *key);
void testrepo_clear_signers(TestRepo *r, const char *role);
size_t testrepo_n_signers(TestRepo *r, const char *role);
UpKey *testrepo_signer(TestRepo *r, const char *role, size_t i); /* borrowed */

/* --- Targets and delegations --------------------------------------------- */

/* Adds an artifact to role's "targets" (length and sha256) and serves it. */
int testrepo_add_target(TestRepo *r, const char *role, const char *path, const void *data, size_t len);
/* Only the metadata entry, with a given length and sha256 hex (no artifact). */
int testrepo_add_target_info(TestRepo *r, const char *role, const char *path, int64_t length, const char *sha256_hex);

/* Adds a delegation from delegator to name (NULL-terminated path patterns)
 * with one fresh key per threshold. A new role starts at version 1,
 * unpublished; delegating to an existing role lists its current keys. */
int testrepo_add_delegation(TestRepo *r, const char *delegator, const char *name, bool terminating,
                            int64_t threshold, ...) __attribute__((sentinel));
int testrepo_add_delegation_strv(TestRepo *r, const char *delegator, const char *name, bool terminating,
                                 int64_t threshold, const char *const *paths, size_t n_paths);
/* The same with path_hash_prefixes instead of paths. */
int testrepo_add_delegation_hash_prefixes(TestRepo *r, const char *delegator, const char *name,
                                          bool terminating, int64_t threshold,
                                          const char *const *prefixes, size_t n_prefixes);

/* --- Serving ------------------------------------------------------------- */

UpFetcher testrepo_fetcher(TestRepo *r);
/* The fetch function itself (userdata is the TestRepo). */
int testrepo_fetch(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len);

/* Serves data for a URL below http://repo.test/ (e.g. "metadata/timestamp.json"
 * or "targets/a.txt") instead of what is published; data NULL serves -ENOENT. */
int testrepo_override(TestRepo *r, const char *rel_url, const void *data, size_t len);
void testrepo_clear_overrides(TestRepo *r);
/* The URL below http://repo.test/ of the published artifact for path. */
int testrepo_artifact_url(TestRepo *r, const char *path, char **ret);

size_t testrepo_n_requests(const TestRepo *r);
const TestRequest *testrepo_request(const TestRepo *r, size_t i);
void testrepo_clear_requests(TestRepo *r);
/* The metadata requests as "role:version ..." (e.g. "root:2 timestamp:-1
 * snapshot:1 targets:1"); "" when none. Valid until the next call. */
const char *testrepo_requests_str(TestRepo *r);
/* The artifact requests as their URLs below targets/, space separated. */
const char *testrepo_artifact_requests_str(TestRepo *r);
/* Whether a URL below http://repo.test/ was requested. */
bool testrepo_was_requested(const TestRepo *r, const char *rel_url);
size_t testrepo_n_artifact_requests(const TestRepo *r);

/* --- Output -------------------------------------------------------------- */

/* Writes the root published as version to dir/root.json. */
int testrepo_write_root(TestRepo *r, const char *dir, int64_t version);
/* Writes every published file of the repository below outdir:
 * metadata/ (N.root.json for every root, root.json = newest, timestamp.json,
 * N.<role>.json for every version plus <role>.json = newest), targets/ (every
 * artifact as <dir>/<sha256>.<base> and as <path>) and initial_root.json. */
int testrepo_write_dir(TestRepo *r, const char *outdir);

/* mkdir -p of a directory and write of a file below a directory. */
int testrepo_mkdir_p(const char *path);
int testrepo_write_file(const char *dir, const char *rel_path, const void *data, size_t len);

/* --- Clients ------------------------------------------------------------- */

/* A client of a TestRepo: a fresh temp dir ($TMPDIR or /tmp) with metadata/
 * (holding the root published as version 1) and targets/, and an UpUpdater
 * over them. The config can be changed before testclient_restart(). */
typedef struct TestClient {
        TestRepo *repo; /* borrowed */
        char *dir;
        char *metadata_dir;
        char *target_dir;
        UpUpdaterConfig config;
        UpUpdater *updater;
} TestClient;

/* Creates the directories and the updater (whose creation error, if any, is
 * returned; the client is returned anyway). */
int testclient_new(TestRepo *repo, time_t now, TestClient **ret);
/* Frees the updater and creates a new one over the same directories, like a
 * new process would. */
int testclient_restart(TestClient *c);
/* testclient_restart() + up_updater_refresh(). */
int testclient_refresh(TestClient *c);
TestClient *testclient_free(TestClient *c);

/* Every *.json file in the metadata dir as "name:version ..." sorted by name
 * ("name" is the file name without .json; version -1 when it does not parse).
 * Valid until the next call. */
const char *testclient_trusted_str(TestClient *c);
/* The version in metadata_dir/<encoded role>.json; -ENOENT when absent. */
int64_t testclient_file_version(TestClient *c, const char *role);
/* Whether metadata_dir/<encoded role>.json holds exactly the bytes published
 * for role at version. */
bool testclient_file_is(TestClient *c, const char *role, int64_t version);
/* Whether metadata_dir/<encoded role>.json holds exactly data. */
bool testclient_file_equals(TestClient *c, const char *role, const void *data, size_t len);
/* The regular files below target_dir (recursive, sorted, relative paths,
 * space separated). Valid until the next call. */
const char *testclient_target_files_str(TestClient *c);
/* Reads target_dir/<rel_path> into a malloc()ed, NUL-terminated buffer. */
int testclient_read_target(TestClient *c, const char *rel_path, char **ret, size_t *ret_len);

/* rm -rf of a directory tree (no symlinks followed; a missing path is fine). */
int testrepo_rm_rf(const char *path);
