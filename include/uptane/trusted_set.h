/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "uptane/metadata.h"

/*
 * The set of trusted metadata of one repository, and the rules by which new
 * metadata enters it (TUF 1.0 client workflow, Uptane 2.1 §5.4.4.3-5.4.4.6).
 * Pure logic: bytes in, verdicts out; no I/O. The caller supplies the time.
 *
 * Every update_* call returns 0 when the new metadata is trusted, or a
 * negative errno from uptane/error.h. up_trusted_set_error() then says why.
 */

typedef struct UpTrustedSet UpTrustedSet;

/* Starts from a trusted root (self-signed by a threshold of its root keys;
 * expiry is not checked here). */
int up_trusted_set_new(const void *root, size_t len, UpTrustedSet **ret);
UpTrustedSet *up_trusted_set_free(UpTrustedSet *ts);

/* Root N+1: signed by a threshold of root N's and of its own root keys, and
 * version exactly N+1. Only before any timestamp is loaded: cached timestamp
 * and snapshot are then checked against the newest root's keys, so that
 * metadata signed by rotated-out keys is dropped (fast-forward recovery). */
int up_trusted_set_update_root(UpTrustedSet *ts, const void *data, size_t len);

/* -EKEYEXPIRED when the newest root has expired at now. */
int up_trusted_set_check_root(UpTrustedSet *ts, time_t now);

/* Returns -EALREADY when the new timestamp has the same version as the trusted
 * one: the trusted one is kept and nothing else is done. A timestamp that
 * passes signature and rollback checks replaces the trusted one even when it
 * turns out expired (so that a later one is still checked against it). */
int up_trusted_set_update_timestamp(UpTrustedSet *ts, const void *data, size_t len, time_t now);

/* from_cache: bytes from local storage (hash/length against the timestamp are
 * not required to match then; the version must). */
int up_trusted_set_update_snapshot(UpTrustedSet *ts, const void *data, size_t len, time_t now, bool from_cache);

/* Top-level "targets" (delegator "root") or a delegated role. */
int up_trusted_set_update_targets(UpTrustedSet *ts, const char *role, const char *delegator,
                                  const void *data, size_t len, time_t now);

/* Checks that trusted metadata of role is signed by a threshold of the keys that
 * delegator assigns to it (a role reached through a second delegator). */
int up_trusted_set_verify_delegated(UpTrustedSet *ts, const char *role, const char *delegator);

const UpMetadata *up_trusted_set_root(const UpTrustedSet *ts);
const UpMetadata *up_trusted_set_timestamp(const UpTrustedSet *ts);
const UpMetadata *up_trusted_set_snapshot(const UpTrustedSet *ts);
/* "targets" or a delegated role name; NULL when not trusted (yet). */
const UpMetadata *up_trusted_set_targets(const UpTrustedSet *ts, const char *role);

/* Why the last update failed ("" when none). Valid until the next call. */
const char *up_trusted_set_error(const UpTrustedSet *ts);
