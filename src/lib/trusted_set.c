/* SPDX-License-Identifier: MIT */
/*
 * The trusted metadata of one repository and the rules by which new metadata
 * is admitted (TUF 1.0 §5.3-5.6, Uptane 2.1 §5.4.4.3-5.4.4.6). Each check
 * names the attack it stops.
 */
#include <stdarg.h>
#include <stdio.h>

#include "metadata-internal.h"
#include "uptane/error.h"
#include "uptane/trusted_set.h"
#include "util.h"

typedef struct TrustedTargets {
        char *role;
        UpMetadata *md;
} TrustedTargets;

struct UpTrustedSet {
        UpMetadata *root;
        UpMetadata *timestamp;
        UpMetadata *snapshot;
        TrustedTargets *targets; /* "targets" and delegated roles */
        size_t n_targets;
        char *error;
};

static int fail(UpTrustedSet *ts, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records why an update was refused, and returns r. */
static int fail(UpTrustedSet *ts, int r, const char *fmt, ...) {
        va_list ap;

        free(ts->error);
        ts->error = NULL;
        va_start(ap, fmt);
        if (vasprintf(&ts->error, fmt, ap) < 0)
                ts->error = NULL;
        va_end(ap);
        return r;
}

static void clear_error(UpTrustedSet *ts) {
        free(ts->error);
        ts->error = NULL;
}

const char *up_trusted_set_error(const UpTrustedSet *ts) {
        return ts->error ? ts->error : "";
}

static int parse(UpTrustedSet *ts, const void *data, size_t len, UpRoleType type, UpMetadata **ret) {
        int r;

        r = up_metadata_parse(data, len, type, ret);
        if (r == -EMEDIUMTYPE)
                return fail(ts, r, "%s: _type is not \"%s\"", up_role_type_name(type), up_role_type_name(type));
        if (r < 0)
                return fail(ts, r, "%s: cannot parse: %s", up_role_type_name(type), up_strerror(r));
        return 0;
}

static int verify_by_root(UpTrustedSet *ts, const UpMetadata *root, const UpMetadata *m, UpRoleType type,
                          const char *which) {
        int r;

        r = up_metadata_verify(m, up_root_keyring(root), up_root_role(root, type));
        if (r < 0)
                return fail(ts, r, "%s v%lld: not signed by a threshold of %s keys", up_role_type_name(type),
                            (long long) m->version, which);
        return 0;
}

int up_trusted_set_new(const void *root, size_t len, UpTrustedSet **ret) {
        UpTrustedSet *ts;
        int r;

        ts = calloc(1, sizeof(UpTrustedSet));
        if (!ts)
                return -ENOMEM;
        r = parse(ts, root, len, UP_ROLE_ROOT, &ts->root);
        if (r >= 0)
                r = verify_by_root(ts, ts->root, ts->root, UP_ROLE_ROOT, "its own root");
        if (r < 0) {
                up_trusted_set_free(ts);
                return r;
        }
        *ret = ts;
        return 0;
}

static void forget_targets(UpTrustedSet *ts) {
        for (size_t i = 0; i < ts->n_targets; i++) {
                free(ts->targets[i].role);
                up_metadata_unref(ts->targets[i].md);
        }
        free(ts->targets);
        ts->targets = NULL;
        ts->n_targets = 0;
}

UpTrustedSet *up_trusted_set_free(UpTrustedSet *ts) {
        if (!ts)
                return NULL;
        up_metadata_unref(ts->root);
        up_metadata_unref(ts->timestamp);
        up_metadata_unref(ts->snapshot);
        forget_targets(ts);
        free(ts->error);
        free(ts);
        return NULL;
}

int up_trusted_set_update_root(UpTrustedSet *ts, const void *data, size_t len) {
        _cleanup_(up_metadata_unrefp) UpMetadata *m = NULL;
        int r;

        clear_error(ts);
        if (ts->timestamp)
                return fail(ts, -EINVAL, "root: cannot update root after timestamp");
        r = parse(ts, data, len, UP_ROLE_ROOT, &m);
        if (r < 0)
                return r;
        /* Arbitrary software: both the old and the new root keys must agree. */
        r = verify_by_root(ts, ts->root, m, UP_ROLE_ROOT, "the trusted root's");
        if (r < 0)
                return r;
        /* Rollback (and a skipped version). */
        if (m->version != ts->root->version + 1)
                return fail(ts, -ESTALE, "root: version %lld where %lld was expected", (long long) m->version,
                            (long long) ts->root->version + 1);
        r = verify_by_root(ts, m, m, UP_ROLE_ROOT, "its own root");
        if (r < 0)
                return r;
        up_metadata_unref(ts->root);
        ts->root = TAKE_PTR(m);
        return 0;
}

int up_trusted_set_check_root(UpTrustedSet *ts, time_t now) {
        clear_error(ts);
        if (up_metadata_is_expired(ts->root, now))
                return fail(ts, -EKEYEXPIRED, "root v%lld: expired (freeze attack?)", (long long) ts->root->version);
        return 0;
}

static int check_timestamp_rollback(UpTrustedSet *ts, const UpMetadata *m) {
        const UpMetadata *old = ts->timestamp;

        if (!old)
                return 0;
        if (m->version < old->version)
                return fail(ts, -ESTALE, "timestamp: version %lld is older than trusted version %lld",
                            (long long) m->version, (long long) old->version);
        if (m->version == old->version)
                return -EALREADY;
        if (m->timestamp_snapshot.version < old->timestamp_snapshot.version)
                return fail(ts, -ESTALE, "timestamp: snapshot version %lld is older than trusted %lld",
                            (long long) m->timestamp_snapshot.version,
                            (long long) old->timestamp_snapshot.version);
        return 0;
}

int up_trusted_set_update_timestamp(UpTrustedSet *ts, const void *data, size_t len, time_t now) {
        _cleanup_(up_metadata_unrefp) UpMetadata *m = NULL;
        int r;

        r = up_trusted_set_check_root(ts, now);
        if (r < 0)
                return r;
        if (ts->snapshot)
                return fail(ts, -EINVAL, "timestamp: cannot update timestamp after snapshot");
        r = parse(ts, data, len, UP_ROLE_TIMESTAMP, &m);
        if (r < 0)
                return r;
        r = verify_by_root(ts, ts->root, m, UP_ROLE_TIMESTAMP, "timestamp");
        if (r < 0)
                return r;
        r = check_timestamp_rollback(ts, m);
        if (r < 0)
                return r;
        /* Trusted from here on, also when expired: a later timestamp is
         * checked for rollback against it. */
        up_metadata_unref(ts->timestamp);
        ts->timestamp = TAKE_PTR(m);
        if (up_metadata_is_expired(ts->timestamp, now))
                return fail(ts, -EKEYEXPIRED, "timestamp v%lld: expired (freeze attack?)",
                            (long long) ts->timestamp->version);
        return 0;
}

static int check_timestamp_final(UpTrustedSet *ts, time_t now) {
        if (!ts->timestamp)
                return fail(ts, -EINVAL, "no trusted timestamp");
        if (up_metadata_is_expired(ts->timestamp, now))
                return fail(ts, -EKEYEXPIRED, "timestamp v%lld: expired (freeze attack?)",
                            (long long) ts->timestamp->version);
        return 0;
}

static int check_against_meta(UpTrustedSet *ts, const char *what, const UpMetaFile *mf, const void *data,
                              size_t len) {
        int r;

        if (mf->length >= 0 && (uint64_t) mf->length != len)
                return fail(ts, -EXDEV, "%s: %zu bytes where %lld were announced", what, len, (long long) mf->length);
        if (!mf->hashes)
                return 0;
        r = up_fileinfo_check(-1, mf->hashes, data, len);
        if (r < 0)
                return fail(ts, r == -EILSEQ ? -EXDEV : r, "%s: hash does not match the announced one", what);
        return 0;
}

static int check_snapshot_rollback(UpTrustedSet *ts, const UpMetadata *m) {
        if (!ts->snapshot)
                return 0;
        json_object_object_foreach(ts->snapshot->snapshot_meta, name, old_entry) {
                struct json_object *new_entry;
                UpMetaFile old_mf, new_mf;
                int r;

                if (!json_object_object_get_ex(m->snapshot_meta, name, &new_entry))
                        return fail(ts, -ESTALE, "snapshot: %s was removed", name);
                r = up_metafile_parse(old_entry, &old_mf);
                if (r >= 0)
                        r = up_metafile_parse(new_entry, &new_mf);
                if (r < 0)
                        return fail(ts, r, "snapshot: bad entry for %s", name);
                if (new_mf.version < old_mf.version)
                        return fail(ts, -ESTALE, "snapshot: %s version %lld is older than trusted %lld", name,
                                    (long long) new_mf.version, (long long) old_mf.version);
        }
        return 0;
}

static int check_snapshot_final(UpTrustedSet *ts, time_t now) {
        const UpMetaFile *mf;

        if (!ts->snapshot)
                return fail(ts, -EINVAL, "no trusted snapshot");
        if (up_metadata_is_expired(ts->snapshot, now))
                return fail(ts, -EKEYEXPIRED, "snapshot v%lld: expired (freeze attack?)",
                            (long long) ts->snapshot->version);
        mf = &ts->timestamp->timestamp_snapshot;
        if (ts->snapshot->version != mf->version)
                return fail(ts, -EXDEV, "snapshot: version %lld where the timestamp says %lld",
                            (long long) ts->snapshot->version, (long long) mf->version);
        return 0;
}

int up_trusted_set_update_snapshot(UpTrustedSet *ts, const void *data, size_t len, time_t now, bool from_cache) {
        _cleanup_(up_metadata_unrefp) UpMetadata *m = NULL;
        int r;

        clear_error(ts);
        if (ts->n_targets > 0)
                return fail(ts, -EINVAL, "snapshot: cannot update snapshot after targets");
        r = check_timestamp_final(ts, now);
        if (r < 0)
                return r;
        /* Mix-and-match: the bytes must be the ones the timestamp announces. */
        if (!from_cache) {
                r = check_against_meta(ts, "snapshot", &ts->timestamp->timestamp_snapshot, data, len);
                if (r < 0)
                        return r;
        }
        r = parse(ts, data, len, UP_ROLE_SNAPSHOT, &m);
        if (r < 0)
                return r;
        r = verify_by_root(ts, ts->root, m, UP_ROLE_SNAPSHOT, "snapshot");
        if (r < 0)
                return r;
        r = check_snapshot_rollback(ts, m);
        if (r < 0)
                return r;
        up_metadata_unref(ts->snapshot);
        ts->snapshot = TAKE_PTR(m);
        return check_snapshot_final(ts, now);
}

static TrustedTargets *find_targets(const UpTrustedSet *ts, const char *role) {
        for (size_t i = 0; i < ts->n_targets; i++)
                if (streq(ts->targets[i].role, role))
                        return &ts->targets[i];
        return NULL;
}

const UpMetadata *up_trusted_set_targets(const UpTrustedSet *ts, const char *role) {
        TrustedTargets *t = find_targets(ts, role);
        return t ? t->md : NULL;
}

/* The keys a delegator assigns to role: root for "targets", else a delegation. */
static int delegation_keys(UpTrustedSet *ts, const char *role, const char *delegator, const UpKeyring **ret_ring,
                           const UpRoleKeys **ret_keys) {
        const UpMetadata *parent;
        const UpDelegatedRole *d;

        if (streq(delegator, "root")) {
                if (!streq(role, "targets"))
                        return fail(ts, -EINVAL, "%s: root delegates only to targets", role);
                *ret_ring = up_root_keyring(ts->root);
                *ret_keys = up_root_role(ts->root, UP_ROLE_TARGETS);
                return 0;
        }
        parent = up_trusted_set_targets(ts, delegator);
        if (!parent)
                return fail(ts, -EINVAL, "%s: delegator %s is not trusted", role, delegator);
        d = up_targets_find_delegation(parent, role);
        if (!d)
                return fail(ts, -ENOENT, "%s: %s does not delegate to it", role, delegator);
        *ret_ring = up_targets_delegation_keyring(parent);
        *ret_keys = &d->keys;
        return 0;
}

static int add_targets(UpTrustedSet *ts, const char *role, UpMetadata *m) {
        TrustedTargets *t = find_targets(ts, role), *n;

        if (t) {
                up_metadata_unref(t->md);
                t->md = up_metadata_ref(m);
                return 0;
        }
        n = realloc(ts->targets, (ts->n_targets + 1) * sizeof(TrustedTargets));
        if (!n)
                return -ENOMEM;
        ts->targets = n;
        n[ts->n_targets].role = strdup(role);
        if (!n[ts->n_targets].role)
                return -ENOMEM;
        n[ts->n_targets].md = up_metadata_ref(m);
        ts->n_targets++;
        return 0;
}

int up_trusted_set_update_targets(UpTrustedSet *ts, const char *role, const char *delegator, const void *data,
                                  size_t len, time_t now) {
        _cleanup_(up_metadata_unrefp) UpMetadata *m = NULL;
        const UpKeyring *ring = NULL; /* set by delegation_keys(); -O3 cannot tell */
        const UpRoleKeys *keys = NULL;
        UpMetaFile mf;
        int r;

        clear_error(ts);
        r = check_snapshot_final(ts, now);
        if (r < 0)
                return r;
        r = delegation_keys(ts, role, delegator, &ring, &keys);
        if (r < 0)
                return r;
        /* A role the snapshot does not list must not be trusted. */
        r = up_snapshot_get_meta(ts->snapshot, role, &mf);
        if (r < 0)
                return fail(ts, r == -ENOENT ? -EXDEV : r, "%s: not listed in the snapshot", role);
        r = check_against_meta(ts, role, &mf, data, len);
        if (r < 0)
                return r;
        r = parse(ts, data, len, UP_ROLE_TARGETS, &m);
        if (r < 0)
                return r;
        r = up_metadata_verify(m, ring, keys);
        if (r < 0)
                return fail(ts, r, "%s v%lld: not signed by a threshold of the keys %s assigns", role,
                            (long long) m->version, delegator);
        if (m->version != mf.version)
                return fail(ts, -EXDEV, "%s: version %lld where the snapshot says %lld", role,
                            (long long) m->version, (long long) mf.version);
        if (up_metadata_is_expired(m, now))
                return fail(ts, -EKEYEXPIRED, "%s v%lld: expired (freeze attack?)", role, (long long) m->version);
        return add_targets(ts, role, m);
}

int up_trusted_set_verify_delegated(UpTrustedSet *ts, const char *role, const char *delegator) {
        const UpMetadata *m = up_trusted_set_targets(ts, role);
        const UpKeyring *ring = NULL; /* set by delegation_keys(); -O3 cannot tell */
        const UpRoleKeys *keys = NULL;
        int r;

        clear_error(ts);
        if (!m)
                return fail(ts, -ENOENT, "%s: not trusted", role);
        r = delegation_keys(ts, role, delegator, &ring, &keys);
        if (r < 0)
                return r;
        r = up_metadata_verify(m, ring, keys);
        if (r < 0)
                return fail(ts, r, "%s v%lld: not signed by a threshold of the keys %s assigns", role,
                            (long long) m->version, delegator);
        return 0;
}

const UpMetadata *up_trusted_set_root(const UpTrustedSet *ts) {
        return ts->root;
}

const UpMetadata *up_trusted_set_timestamp(const UpTrustedSet *ts) {
        return ts->timestamp;
}

const UpMetadata *up_trusted_set_snapshot(const UpTrustedSet *ts) {
        return ts->snapshot;
}
