/* SPDX-License-Identifier: MIT */
/*
 * The TUF client workflow over a fetcher and a metadata directory: which
 * files to request in which order, what to persist, and the delegation
 * search. The verdicts come from the trusted set.
 */
#include <stdarg.h>
#include <stdio.h>

#include "metadata-internal.h"
#include "uptane/error.h"
#include "uptane/storage.h"
#include "uptane/updater.h"
#include "util.h"

#define DEFAULT_MAX_ROOT_ROTATIONS 256
#define DEFAULT_MAX_DELEGATIONS    32
#define DEFAULT_ROOT_MAX           (512u * 1024u)
#define DEFAULT_TIMESTAMP_MAX      (16u * 1024u)
#define DEFAULT_SNAPSHOT_MAX       (2u * 1024u * 1024u)
#define DEFAULT_TARGETS_MAX        (64u * 1024u * 1024u)

struct UpUpdater {
        UpUpdaterConfig cfg;
        char *metadata_dir, *metadata_url, *target_dir, *target_base_url;
        UpTrustedSet *ts;
        char *error;
        unsigned refreshed; /* 1 << UpRoleType of what the last refresh stored */
};

static int fail(UpUpdater *u, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(UpUpdater *u, int r, const char *fmt, ...) {
        va_list ap;

        free(u->error);
        u->error = NULL;
        va_start(ap, fmt);
        if (vasprintf(&u->error, fmt, ap) < 0)
                u->error = NULL;
        va_end(ap);
        return r;
}

/* The trusted set already said why. */
static int fail_ts(UpUpdater *u, int r) {
        return fail(u, r, "%s", up_trusted_set_error(u->ts));
}

const char *up_updater_error(const UpUpdater *u) {
        return u->error ? u->error : "";
}

bool up_updater_refreshed(const UpUpdater *u, UpRoleType role) {
        return role >= 0 && role < _UP_ROLE_MAX && (u->refreshed & (1u << role));
}

const UpTrustedSet *up_updater_trusted_set(const UpUpdater *u) {
        return u->ts;
}

static size_t or_default(size_t v, size_t def) {
        return v > 0 ? v : def;
}

/* "http://host/base" and "http://host/base/" both mean the directory. */
static int dup_base_url(const char *url, char **ret) {
        size_t n;

        if (!url) {
                *ret = NULL;
                return 0;
        }
        n = strlen(url);
        if (asprintf(ret, "%s%s", url, n > 0 && url[n - 1] == '/' ? "" : "/") < 0)
                return -ENOMEM;
        return 0;
}

static int copy_config(UpUpdater *u, const UpUpdaterConfig *cfg) {
        u->cfg = *cfg;
        u->cfg.max_root_rotations = or_default(cfg->max_root_rotations, DEFAULT_MAX_ROOT_ROTATIONS);
        u->cfg.max_delegations = or_default(cfg->max_delegations, DEFAULT_MAX_DELEGATIONS);
        u->cfg.root_max_length = or_default(cfg->root_max_length, DEFAULT_ROOT_MAX);
        u->cfg.timestamp_max_length = or_default(cfg->timestamp_max_length, DEFAULT_TIMESTAMP_MAX);
        u->cfg.snapshot_max_length = or_default(cfg->snapshot_max_length, DEFAULT_SNAPSHOT_MAX);
        u->cfg.targets_max_length = or_default(cfg->targets_max_length, DEFAULT_TARGETS_MAX);
        u->metadata_dir = strdup(cfg->metadata_dir);
        u->target_dir = cfg->target_dir ? strdup(cfg->target_dir) : NULL;
        if (!u->metadata_dir || (cfg->target_dir && !u->target_dir))
                return -ENOMEM;
        if (dup_base_url(cfg->metadata_url, &u->metadata_url) < 0 ||
            dup_base_url(cfg->target_base_url, &u->target_base_url) < 0)
                return -ENOMEM;
        return 0;
}

int up_updater_new(const UpUpdaterConfig *cfg, UpUpdater **ret) {
        _cleanup_free_ uint8_t *root = NULL;
        UpUpdater *u;
        size_t len;
        int r;

        if (!cfg || !cfg->metadata_dir || !cfg->fetcher.fetch)
                return -EINVAL;
        u = calloc(1, sizeof(UpUpdater));
        if (!u)
                return -ENOMEM;
        r = copy_config(u, cfg);
        if (r >= 0) {
                r = up_read_file_at(u->metadata_dir, "root.json", u->cfg.root_max_length, &root, &len);
                if (r < 0)
                        fail(u, r, "cannot read trusted root '%s/root.json': %s", u->metadata_dir, up_strerror(r));
        }
        if (r >= 0) {
                r = up_trusted_set_new(root, len, &u->ts);
                if (r < 0)
                        fail(u, r, "trusted root '%s/root.json' is not valid: %s", u->metadata_dir,
                             up_strerror(r));
        }
        if (r < 0) {
                /* The caller needs the reason, but gets no object: keep it simple. */
                up_updater_free(u);
                return r;
        }
        *ret = u;
        return 0;
}

UpUpdater *up_updater_free(UpUpdater *u) {
        if (!u)
                return NULL;
        up_trusted_set_free(u->ts);
        free(u->metadata_dir);
        free(u->metadata_url);
        free(u->target_dir);
        free(u->target_base_url);
        free(u->error);
        free(u);
        return NULL;
}

static int fetch(UpUpdater *u, const char *base, const char *name, size_t max_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *url = NULL;
        int r;

        if (!base)
                return fail(u, -EINVAL, "no base URL to fetch '%s' from", name);
        if (asprintf(&url, "%s%s", base, name) < 0)
                return -ENOMEM;
        r = u->cfg.fetcher.fetch(u->cfg.fetcher.userdata, url, max_len, ret, ret_len);
        if (r < 0)
                return fail(u, r, "fetching '%s': %s", url, up_strerror(r));
        return 0;
}

/* Role file names in the metadata dir and in URLs: percent-encoded role. */
static int role_file_name(const char *role, int64_t version, char **ret) {
        _cleanup_free_ char *enc = NULL;
        int r;

        r = up_percent_encode(role, &enc);
        if (r < 0)
                return r;
        r = version > 0 ? asprintf(ret, "%lld.%s.json", (long long) version, enc) : asprintf(ret, "%s.json", enc);
        return r < 0 ? -ENOMEM : 0;
}

static int persist(UpUpdater *u, const char *role, const uint8_t *data, size_t len) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = role_file_name(role, 0, &name);
        if (r < 0)
                return r;
        r = up_write_file_atomic(u->metadata_dir, name, data, len, 0644);
        if (r < 0)
                return fail(u, r, "storing '%s/%s': %s", u->metadata_dir, name, up_strerror(r));
        return 0;
}

static int persist_versioned_root(UpUpdater *u, const char *name, const uint8_t *data, size_t len) {
        int r = up_write_file_atomic(u->metadata_dir, name, data, len, 0644);

        return r < 0 ? fail(u, r, "storing '%s/%s': %s", u->metadata_dir, name, up_strerror(r)) : 0;
}

static int load_local(UpUpdater *u, const char *role, size_t max_len, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = role_file_name(role, 0, &name);
        if (r < 0)
                return r;
        return up_read_file_at(u->metadata_dir, name, max_len, ret, ret_len);
}

static int load_root(UpUpdater *u) {
        for (size_t i = 0; i < u->cfg.max_root_rotations; i++) {
                _cleanup_free_ uint8_t *data = NULL;
                _cleanup_free_ char *name = NULL;
                int64_t next = up_metadata_version(up_trusted_set_root(u->ts)) + 1;
                size_t len;
                int r;

                r = role_file_name("root", next, &name);
                if (r < 0)
                        return r;
                r = fetch(u, u->metadata_url, name, u->cfg.root_max_length, &data, &len);
                if (r == -ENOENT) {
                        /* The newest root is the one we have: no error. */
                        free(u->error);
                        u->error = NULL;
                        return 0;
                }
                if (r < 0)
                        return r;
                r = up_trusted_set_update_root(u->ts, data, len);
                if (r < 0)
                        return fail_ts(u, r);
                r = persist(u, "root", data, len);
                if (r >= 0 && u->cfg.keep_root_history)
                        r = persist_versioned_root(u, name, data, len);
                if (r < 0)
                        return r;
                u->refreshed |= 1u << UP_ROLE_ROOT;
        }
        return 0;
}

static int load_timestamp(UpUpdater *u) {
        _cleanup_free_ uint8_t *local = NULL, *data = NULL;
        size_t local_len, len;
        int r;

        /* A cached timestamp (even an expired one) is the rollback baseline. */
        if (load_local(u, "timestamp", u->cfg.timestamp_max_length, &local, &local_len) >= 0)
                (void) up_trusted_set_update_timestamp(u->ts, local, local_len, u->cfg.now);
        r = fetch(u, u->metadata_url, "timestamp.json", u->cfg.timestamp_max_length, &data, &len);
        if (r < 0)
                return r;
        r = up_trusted_set_update_timestamp(u->ts, data, len, u->cfg.now);
        if (r == -EALREADY)
                return 0; /* same version: keep what we trust */
        if (r < 0)
                return fail_ts(u, r);
        r = persist(u, "timestamp", data, len);
        if (r >= 0)
                u->refreshed |= 1u << UP_ROLE_TIMESTAMP;
        return r;
}

static bool consistent_snapshot(UpUpdater *u) {
        return up_root_consistent_snapshot(up_trusted_set_root(u->ts));
}

static int load_snapshot(UpUpdater *u) {
        _cleanup_free_ uint8_t *local = NULL, *data = NULL;
        _cleanup_free_ char *name = NULL;
        const UpMetaFile *mf = up_timestamp_snapshot_meta(up_trusted_set_timestamp(u->ts));
        size_t max_len = mf->length >= 0 ? (size_t) mf->length : u->cfg.snapshot_max_length;
        size_t local_len, len;
        int r;

        /* Uptane 2.1 §5.4.4.2 step 4: nothing new when the cached snapshot
         * is the one the timestamp names. */
        if (load_local(u, "snapshot", max_len, &local, &local_len) >= 0 &&
            up_trusted_set_update_snapshot(u->ts, local, local_len, u->cfg.now, true) >= 0)
                return 0;
        r = role_file_name("snapshot", consistent_snapshot(u) ? mf->version : 0, &name);
        if (r < 0)
                return r;
        r = fetch(u, u->metadata_url, name, max_len, &data, &len);
        if (r < 0)
                return r;
        r = up_trusted_set_update_snapshot(u->ts, data, len, u->cfg.now, false);
        if (r < 0)
                return fail_ts(u, r);
        r = persist(u, "snapshot", data, len);
        if (r >= 0)
                u->refreshed |= 1u << UP_ROLE_SNAPSHOT;
        return r;
}

static int load_targets(UpUpdater *u, const char *role, const char *delegator) {
        _cleanup_free_ uint8_t *local = NULL, *data = NULL;
        _cleanup_free_ char *name = NULL;
        size_t max_len, local_len, len;
        UpMetaFile mf;
        int r;

        if (up_trusted_set_targets(u->ts, role)) {
                /* Reached again through another delegator: its keys must agree too. */
                if (streq(role, "targets"))
                        return 0;
                r = up_trusted_set_verify_delegated(u->ts, role, delegator);
                return r < 0 ? fail_ts(u, r) : 0;
        }
        r = up_snapshot_get_meta(up_trusted_set_snapshot(u->ts), role, &mf);
        if (r == -ENOENT)
                return fail(u, -EXDEV, "%s: role not listed in the snapshot, not fetched", role);
        if (r < 0)
                return fail(u, r, "%s: bad snapshot entry", role);
        max_len = mf.length >= 0 ? (size_t) mf.length : u->cfg.targets_max_length;
        if (load_local(u, role, max_len, &local, &local_len) >= 0 &&
            up_trusted_set_update_targets(u->ts, role, delegator, local, local_len, u->cfg.now) >= 0)
                return 0;
        r = role_file_name(role, consistent_snapshot(u) ? mf.version : 0, &name);
        if (r < 0)
                return r;
        r = fetch(u, u->metadata_url, name, max_len, &data, &len);
        if (r < 0)
                return r;
        r = up_trusted_set_update_targets(u->ts, role, delegator, data, len, u->cfg.now);
        if (r < 0)
                return fail_ts(u, r);
        r = persist(u, role, data, len);
        if (r >= 0 && streq(role, "targets"))
                u->refreshed |= 1u << UP_ROLE_TARGETS;
        return r;
}

int up_updater_refresh(UpUpdater *u) {
        int r;

        free(u->error);
        u->error = NULL;
        u->refreshed = 0;
        r = load_root(u);
        if (r < 0)
                return r;
        /* Freeze: the newest root was stored above; an expired one stops here,
         * before anything else is requested (Uptane 2.1 §5.4.4.3 step 3). */
        r = up_trusted_set_check_root(u->ts, u->cfg.now);
        if (r < 0)
                return fail_ts(u, r);
        r = load_timestamp(u);
        if (r < 0)
                return r;
        r = load_snapshot(u);
        if (r < 0)
                return r;
        return load_targets(u, "targets", "root");
}

/* A role still to visit in the delegation search, and who delegated to it. */
typedef struct PendingRole {
        char *role;
        char *delegator;
} PendingRole;

typedef struct Search {
        PendingRole *stack;
        size_t n, cap;
        char **visited;
        size_t n_visited;
} Search;

static void pending_role_done(PendingRole *p) {
        free(p->role);
        free(p->delegator);
}

static void search_done(Search *s) {
        for (size_t i = 0; i < s->n; i++)
                pending_role_done(&s->stack[i]);
        free(s->stack);
        up_string_array_free(s->visited, s->n_visited);
}

static int search_push(Search *s, const char *role, const char *delegator) {
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 16;
                PendingRole *n = realloc(s->stack, cap * sizeof(PendingRole));

                if (!n)
                        return -ENOMEM;
                s->stack = n;
                s->cap = cap;
        }
        s->stack[s->n] = (PendingRole) { strdup(role), strdup(delegator) };
        if (!s->stack[s->n].role || !s->stack[s->n].delegator) {
                pending_role_done(&s->stack[s->n]);
                return -ENOMEM;
        }
        s->n++;
        return 0;
}

static bool search_visited(const Search *s, const char *role) {
        for (size_t i = 0; i < s->n_visited; i++)
                if (streq(s->visited[i], role))
                        return true;
        return false;
}

static int search_mark_visited(Search *s, const char *role) {
        char **n = realloc(s->visited, (s->n_visited + 1) * sizeof(char *));

        if (!n)
                return -ENOMEM;
        s->visited = n;
        n[s->n_visited] = strdup(role);
        if (!n[s->n_visited])
                return -ENOMEM;
        s->n_visited++;
        return 0;
}

/* Queues the delegations of md that cover path, in order, so that the first
 * is visited first; a terminating one ends the search outside its subtree. */
static int search_push_children(Search *s, const UpMetadata *md, const char *role, const char *path) {
        size_t n = up_targets_n_delegations(md), first = s->n;
        int r;

        for (size_t i = 0; i < n; i++) {
                const UpDelegatedRole *d = up_targets_delegation_at(md, i);

                if (!up_delegated_role_matches(d, path))
                        continue;
                if (d->terminating) {
                        /* Drop everything pending outside this subtree. */
                        for (size_t i2 = 0; i2 < first; i2++)
                                pending_role_done(&s->stack[i2]);
                        memmove(s->stack, s->stack + first, (s->n - first) * sizeof(PendingRole));
                        s->n -= first;
                        first = 0;
                }
                r = search_push(s, d->name, role);
                if (r < 0)
                        return r;
                if (d->terminating)
                        break;
        }
        /* Reverse what was pushed: the stack pops the last one first. */
        for (size_t i = first, j = s->n; i + 1 < j; i++, j--) {
                PendingRole t = s->stack[i];
                s->stack[i] = s->stack[j - 1];
                s->stack[j - 1] = t;
        }
        return 0;
}

static int target_info_new(const UpTargetFile *tf, const char *role, UpTargetInfo **ret) {
        UpTargetInfo *t = calloc(1, sizeof(UpTargetInfo));

        if (!t)
                return -ENOMEM;
        t->path = strdup(tf->path);
        t->role = strdup(role);
        t->length = tf->length;
        t->hashes = json_object_get(tf->hashes);
        t->custom = tf->custom ? json_object_get(tf->custom) : NULL;
        if (!t->path || !t->role) {
                up_target_info_free(t);
                return -ENOMEM;
        }
        *ret = t;
        return 0;
}

UpTargetInfo *up_target_info_free(UpTargetInfo *t) {
        if (!t)
                return NULL;
        free(t->path);
        free(t->role);
        if (t->hashes)
                json_object_put(t->hashes);
        if (t->custom)
                json_object_put(t->custom);
        free(t);
        return NULL;
}

static int search_step(UpUpdater *u, Search *s, const char *path, UpTargetInfo **ret) {
        _cleanup_(pending_role_done) PendingRole p = s->stack[--s->n];
        const char *role = p.role;
        const UpMetadata *md;
        UpTargetFile tf;
        int r;

        if (search_visited(s, role))
                return 0; /* cycles, and a role reached twice, are searched once */
        r = load_targets(u, role, p.delegator);
        if (r < 0)
                return r;
        md = up_trusted_set_targets(u->ts, role);
        r = up_targets_get(md, path, &tf);
        if (r >= 0) {
                r = target_info_new(&tf, role, ret);
                return r < 0 ? r : 1;
        }
        if (r != -ENOENT)
                return fail(u, r, "%s: entry in %s unreadable: %s", path, role, up_strerror(r));
        r = search_mark_visited(s, role);
        if (r < 0)
                return r;
        return search_push_children(s, md, role, path);
}

int up_updater_get_target_info(UpUpdater *u, const char *path, UpTargetInfo **ret) {
        _cleanup_(search_done) Search s = {};
        int r;

        if (!up_trusted_set_targets(u->ts, "targets"))
                return fail(u, -EINVAL, "refresh first");
        r = search_push(&s, "targets", "root");
        if (r < 0)
                return r;
        while (s.n > 0) {
                if (s.n_visited >= u->cfg.max_delegations)
                        return fail(u, -ELOOP, "%s: gave up after searching %zu roles", path, s.n_visited);
                r = search_step(u, &s, path, ret);
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0;
        }
        return fail(u, -ENOENT, "%s: no trusted role lists this target", path);
}

int up_updater_target_file(UpUpdater *u, const UpTargetInfo *t, char **ret) {
        _cleanup_free_ char *enc = NULL;
        int r;

        if (!u->target_dir)
                return -EINVAL;
        r = up_percent_encode(t->path, &enc);
        if (r < 0)
                return r;
        return asprintf(ret, "%s/%s", u->target_dir, enc) < 0 ? -ENOMEM : 0;
}

int up_updater_find_cached_target(UpUpdater *u, const UpTargetInfo *t) {
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *path = NULL;
        size_t len;
        int r;

        r = up_updater_target_file(u, t, &path);
        if (r < 0)
                return r;
        r = up_read_file(path, (size_t) t->length, &data, &len);
        if (r < 0)
                return r == -EFBIG ? -ENOENT : r;
        return up_fileinfo_check(t->length, t->hashes, data, len) < 0 ? -ENOENT : 0;
}

int up_target_url_name(const UpTargetInfo *t, bool consistent, char **ret) {
        const char *slash = strrchr(t->path, '/'), *hash = NULL;
        struct json_object *v;
        char *name;

        if (!consistent) {
                name = strdup(t->path);
                if (!name)
                        return -ENOMEM;
                *ret = name;
                return 0;
        }
        if (json_object_object_get_ex(t->hashes, "sha256", &v))
                hash = json_object_get_string(v);
        else {
                json_object_object_foreach(t->hashes, alg, hex) {
                        (void) alg;
                        hash = json_object_get_string(hex);
                        break;
                }
        }
        if (!hash)
                return -EBADMSG;
        if (!slash ? asprintf(&name, "%s.%s", hash, t->path) < 0
                   : asprintf(&name, "%.*s/%s.%s", (int) (slash - t->path), t->path, hash, slash + 1) < 0)
                return -ENOMEM;
        *ret = name;
        return 0;
}

bool up_updater_consistent_snapshot(const UpUpdater *u) {
        return up_root_consistent_snapshot(up_trusted_set_root(u->ts));
}

int up_updater_download_target(UpUpdater *u, const UpTargetInfo *t) {
        _cleanup_free_ char *name = NULL, *file = NULL, *enc = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = up_updater_target_file(u, t, &file);
        if (r < 0)
                return fail(u, r, "%s: no target directory", t->path);
        r = up_target_url_name(t, consistent_snapshot(u), &name);
        if (r < 0)
                return fail(u, r, "%s: no usable hash for the download name", t->path);
        r = fetch(u, u->target_base_url, name, (size_t) t->length, &data, &len);
        if (r < 0)
                return r;
        /* Arbitrary software: nothing unverified ever reaches target_dir. */
        r = up_fileinfo_check(t->length, t->hashes, data, len);
        if (r < 0)
                return fail(u, r, "%s: downloaded file rejected: %s", t->path, up_strerror(r));
        r = up_percent_encode(t->path, &enc);
        if (r < 0)
                return r;
        r = up_write_file_atomic(u->target_dir, enc, data, len, 0644);
        if (r < 0)
                return fail(u, r, "storing '%s': %s", file, up_strerror(r));
        return 0;
}
