/* SPDX-License-Identifier: MIT */
/*
 * Publishing: every role whose staged body (or keys) changed is signed as a
 * new version and written to metadata/ as N.<role>.json and <role>.json,
 * bottom up (delegated roles, targets, snapshot, timestamp), so that a
 * client never sees a file that names one not yet written. What is signed
 * is verified against its delegation first.
 */
#include "repo-internal.h"
#include "uptane/director.h"
#include "uptane/error.h"
#include "uptane/json.h"
#include "uptane/storage.h"

/* --- Published roles ----------------------------------------------------------------- */

void repo_published_done(Published *p) {
        free(p->data);
        if (p->doc)
                json_object_put(p->doc);
        *p = (Published) {};
}

int repo_metadata_dir(UpRepo *repo, const char *vin, const char *role, char **ret) {
        return repo_set_path(repo, role && streq(role, "root") ? NULL : vin, "metadata", ret);
}

int repo_published_read(UpRepo *repo, const char *vin, const char *role, Published *ret) {
        _cleanup_(repo_published_done) Published p = {};
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r;

        r = repo_metadata_dir(repo, vin, role, &dir);
        if (r < 0)
                return r;
        r = repo_role_file_name(role, 0, &name);
        if (r < 0)
                return r;
        r = up_read_file_at(dir, name, REPO_MAX_JSON_FILE, &p.data, &p.len);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s/%s': %s", dir, name, up_strerror(r));
        r = up_json_parse(p.data, p.len, &UP_JSON_LIMITS_DEFAULT, &p.doc);
        if (r < 0 || up_json_get_object(p.doc, "signed", &p.signed_obj) < 0 ||
            up_json_get_int64(p.signed_obj, "version", &p.version) < 0)
                return up_repo_fail(repo, -EBADMSG, "'%s/%s' is not metadata", dir, name);
        *ret = p;
        p = (Published) {};
        return 0;
}

int repo_published_get(UpRepo *repo, const char *vin, const char *role, Published *ret) {
        int r;

        r = repo_published_read(repo, vin, role, ret);
        if (r == -ENOENT)
                return up_repo_fail(repo, r, "%s was never published", role);
        return r;
}

/* --- Whether a role changed ------------------------------------------------------------ */

/* Canonical form of a body without what every publication changes. */
static int body_stable_form(struct json_object *body, char **ret) {
        _cleanup_json_ struct json_object *copy = NULL;
        size_t len;

        if (json_object_deep_copy(body, &copy, NULL) < 0)
                return -ENOMEM;
        json_object_object_del(copy, "version");
        json_object_object_del(copy, "expires");
        return up_cjson_encode(copy, ret, &len);
}

static int bodies_differ(struct json_object *a, struct json_object *b, bool *ret) {
        _cleanup_free_ char *ca = NULL, *cb = NULL;
        int r;

        r = body_stable_form(a, &ca);
        if (r < 0)
                return r;
        r = body_stable_form(b, &cb);
        if (r < 0)
                return r;
        *ret = !streq(ca, cb);
        return 0;
}

static int verify_bytes(const void *data, size_t len, UpRoleType type, const Delegation *d) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        int r;

        if (!d->keys || !d->ring)
                return -EKEYREJECTED;
        r = up_metadata_parse(data, len, type, &md);
        if (r < 0)
                return r;
        return up_metadata_verify(md, d->ring, d->keys);
}

int repo_role_needs_publish(const char *role, struct json_object *body, const Delegation *d, const Published *p,
                            bool *ret) {
        bool differ;
        int r;

        if (!p->data) {
                *ret = true;
                return 0;
        }
        r = bodies_differ(body, p->signed_obj, &differ);
        if (r < 0)
                return r;
        /* Same content, but signed by keys the role no longer has: re-sign. */
        *ret = differ || verify_bytes(p->data, p->len, repo_role_type(role), d) < 0;
        return 0;
}

/* --- Signing ---------------------------------------------------------------------------- */

static int cmp_key(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int sorted_copy(struct json_object *o, struct json_object **ret);

static int sorted_array(struct json_object *o, struct json_object **ret) {
        _cleanup_json_ struct json_object *copy = json_object_new_array();
        int r;

        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(o); i++) {
                struct json_object *c = NULL;

                r = sorted_copy(json_object_array_get_idx(o, i), &c);
                if (r < 0 || (r = up_json_append(copy, c)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(copy);
        return 0;
}

static int sorted_object(struct json_object *o, struct json_object **ret) {
        _cleanup_json_ struct json_object *copy = json_object_new_object();
        _cleanup_free_ char **keys = NULL;
        size_t n = 0;
        int r;

        keys = calloc((size_t) json_object_object_length(o) + 1, sizeof(char *));
        if (!copy || !keys)
                return -ENOMEM;
        json_object_object_foreach(o, k, v) {
                (void) v;
                keys[n++] = k;
        }
        qsort(keys, n, sizeof(char *), cmp_key);
        for (size_t i = 0; i < n; i++) {
                struct json_object *c = NULL;

                r = sorted_copy(json_child(o, keys[i]), &c);
                if (r < 0 || (r = up_json_add(copy, keys[i], c)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(copy);
        return 0;
}

/* A copy with the members of every object in byte order of their names. */
static int sorted_copy(struct json_object *o, struct json_object **ret) {
        if (json_object_is_type(o, json_type_array))
                return sorted_array(o, ret);
        if (json_object_is_type(o, json_type_object))
                return sorted_object(o, ret);
        *ret = json_object_get(o);
        return 0;
}

/* Signed with the keys given, serialized with sorted keys and no white
 * space: the canonical form except that control characters (the newlines of
 * PEM keys) are escaped, as JSON requires. Clients that hash re-serialized
 * metadata (aktualizr) then get the hashes the snapshot and timestamp list. */
static int sign_body(struct json_object *body, const Signers *s, char **ret, size_t *ret_len) {
        _cleanup_json_ struct json_object *doc = NULL, *sorted = NULL;
        _cleanup_free_ char *text = NULL;
        const char *out;
        size_t len;
        int r;

        r = up_metadata_sign(body, s->keys, s->n, false, &text, &len);
        if (r < 0)
                return r;
        r = up_json_parse(text, len, &UP_JSON_LIMITS_DEFAULT, &doc);
        if (r < 0)
                return r;
        r = sorted_copy(doc, &sorted);
        if (r < 0)
                return r;
        out = json_object_to_json_string_ext(sorted, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!out)
                return -ENOMEM;
        *ret = strdup(out);
        if (!*ret)
                return -ENOMEM;
        *ret_len = strlen(out);
        return 0;
}

/* --- One role ------------------------------------------------------------------------------ */

/* One role to sign and write. */
typedef struct RoleJob {
        const char *vin;
        const char *role;
        struct json_object *body;      /* staged body; gets version and expires */
        const Delegation *delegation;  /* must accept the result */
        const Delegation *previous;    /* root: the published root must accept it too */
        const Signers *signers;
        bool force;
        bool unchecked;                /* attacks: publish whatever the signers make */
        time_t expires;
} RoleJob;

static int write_role(UpRepo *repo, const char *vin, const char *role, int64_t version, const char *data,
                      size_t len) {
        _cleanup_free_ char *dir = NULL, *versioned = NULL, *plain = NULL;
        int r;

        r = repo_metadata_dir(repo, vin, role, &dir);
        if (r < 0)
                return r;
        r = repo_make_dir(repo, dir, 0755);
        if (r < 0)
                return r;
        if (repo_role_file_name(role, version, &versioned) < 0 || repo_role_file_name(role, 0, &plain) < 0)
                return -ENOMEM;
        /* The timestamp is the one file clients fetch without a version. */
        if (!streq(role, "timestamp")) {
                r = repo_write_file(repo, dir, versioned, data, len, 0644);
                if (r < 0)
                        return r;
        }
        return repo_write_file(repo, dir, plain, data, len, 0644);
}

static int check_signed(UpRepo *repo, const RoleJob *j, const char *data, size_t len) {
        UpRoleType t = repo_role_type(j->role);
        int r;

        r = verify_bytes(data, len, t, j->delegation);
        if (r < 0)
                return up_repo_fail(repo, r, "%s: the private keys in '%s/keys' do not reach its threshold: %s",
                                    j->role, repo->dir, up_strerror(r));
        if (!j->previous)
                return 0;
        r = verify_bytes(data, len, t, j->previous);
        if (r < 0)
                return up_repo_fail(repo, r,
                                    "root: the new version must also be signed by a threshold of the keys of the "
                                    "published root, but '%s/keys' lacks them: %s",
                                    repo->dir, up_strerror(r));
        return 0;
}

/* Signs body as version and writes it; the staged body gets the same. */
static int sign_and_write(UpRepo *repo, const RoleJob *j, int64_t version) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r;

        r = repo_body_set_version(j->body, version, j->expires);
        if (r < 0)
                return r;
        r = sign_body(j->body, j->signers, &data, &len);
        if (r < 0)
                return up_repo_fail(repo, r, "%s: cannot sign: %s", j->role, up_strerror(r));
        if (!j->unchecked) {
                r = check_signed(repo, j, data, len);
                if (r < 0)
                        return r;
        }
        r = write_role(repo, j->vin, j->role, version, data, len);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, j->vin, j->role, j->body);
}

static int publish_role(UpRepo *repo, const RoleJob *j) {
        _cleanup_(repo_published_done) Published p = {};
        bool needed = true;
        int r;

        r = repo_published_read(repo, j->vin, j->role, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        if (!j->force) {
                r = repo_role_needs_publish(j->role, j->body, j->delegation, &p, &needed);
                if (r < 0 || !needed)
                        return r;
        }
        return sign_and_write(repo, j, p.data ? p.version + 1 : 1);
}

/* --- A set: targets roles, snapshot, timestamp ---------------------------------------------- */

static bool set_bumps(const SetOptions *o, const char *role) {
        if (o->all || (o->expired_role && streq(role, o->expired_role)))
                return true;
        for (size_t i = 0; i < o->n_bump; i++)
                if (streq(o->bump[i], role))
                        return true;
        return false;
}

static time_t role_expiry(UpRepo *repo, const SetOptions *o, const char *role, time_t now) {
        if (o->expired_role && streq(role, o->expired_role))
                return now - (time_t) UP_REPO_DAY;
        return now + (time_t) repo->expires[repo_role_type(role)];
}

static int role_signers(UpRepo *repo, const SetOptions *o, const char *role, const Delegation *d, Signers *ret) {
        int r;

        if (o->retired_keys && repo_is_top_level(role)) {
                r = repo_signers_add_retired(repo, ret, role);
                if (r < 0 || ret->n > 0)
                        return r;
        }
        return repo_signers_add_role(repo, ret, d->keys);
}

/* Publishes body as role of a set, delegated by delegator. A new timestamp
 * each time: it is what tells clients the state is fresh. */
static int publish_set_role(UpRepo *repo, const char *vin, const char *role, const char *delegator,
                            struct json_object *body, const SetOptions *o, time_t now) {
        _cleanup_(repo_delegation_done) Delegation d = {};
        _cleanup_(repo_signers_done) Signers s = {};
        int r;

        r = repo_delegation_get(repo, vin, role, delegator, &d);
        if (r < 0)
                return r;
        r = role_signers(repo, o, role, &d, &s);
        if (r < 0)
                return r;
        return publish_role(repo, &(RoleJob) {
                .vin = vin, .role = role, .body = body, .delegation = &d, .signers = &s,
                .force = streq(role, "timestamp") || set_bumps(o, role), .unchecked = o->retired_keys,
                .expires = role_expiry(repo, o, role, now),
        });
}

static int publish_targets_role(UpRepo *repo, const char *vin, const RoleRef *ref, const SetOptions *o, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        int r;

        r = up_repo_staged_read(repo, vin, ref->role, &body);
        if (r < 0)
                return r;
        return publish_set_role(repo, vin, ref->role, ref->delegator, body, o, now);
}

/* {"version", "length", "hashes"} of what is published for role. */
static int meta_entry(UpRepo *repo, const char *vin, const char *role, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        _cleanup_(repo_published_done) Published p = {};
        struct json_object *hashes = NULL;
        int r;

        r = repo_published_get(repo, vin, role, &p);
        if (r < 0)
                return r;
        r = repo_hashes(p.data, p.len, &hashes);
        if (r < 0)
                return r;
        if (!o || up_json_add(o, "hashes", hashes) < 0 ||
            up_json_add(o, "length", json_object_new_int64((int64_t) p.len)) < 0 ||
            up_json_add(o, "version", json_object_new_int64(p.version)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int meta_add(UpRepo *repo, const char *vin, const char *role, struct json_object *meta) {
        _cleanup_free_ char *key = NULL;
        struct json_object *e = NULL;
        int r;

        r = meta_entry(repo, vin, role, &e);
        if (r < 0)
                return r;
        if (repo_pathf(&key, "%s.json", role) < 0) {
                json_object_put(e);
                return -ENOMEM;
        }
        return up_json_add(meta, key, e);
}

static int publish_meta_role(UpRepo *repo, const char *vin, UpRoleType type, struct json_object *meta,
                             const SetOptions *o, time_t now) {
        const char *role = up_role_type_name(type);
        _cleanup_json_ struct json_object *body = NULL;
        int r;

        if (repo_staged_exists(repo, vin, role))
                r = up_repo_staged_read(repo, vin, role, &body);
        else
                r = repo_body_new(repo, type, now, &body);
        if (r < 0)
                return r;
        r = up_json_add(body, "meta", json_object_get(meta));
        if (r < 0)
                return r;
        return publish_set_role(repo, vin, role, "root", body, o, now);
}

static int publish_set_roles(UpRepo *repo, const char *vin, const SetOptions *o, time_t now) {
        _cleanup_json_ struct json_object *snap_meta = json_object_new_object(), *ts_meta = json_object_new_object();
        _cleanup_(repo_role_list_done) RoleList l = {};
        int r;

        if (!snap_meta || !ts_meta)
                return -ENOMEM;
        r = repo_targets_roles(repo, vin, &l);
        if (r < 0)
                return r;
        /* Bottom up: a client never sees a file that names one not yet written. */
        for (size_t i = 0; i < l.n; i++) {
                r = publish_targets_role(repo, vin, &l.v[i], o, now);
                if (r < 0)
                        return r;
                r = meta_add(repo, vin, l.v[i].role, snap_meta);
                if (r < 0)
                        return r;
        }
        r = publish_meta_role(repo, vin, UP_ROLE_SNAPSHOT, snap_meta, o, now);
        if (r < 0)
                return r;
        r = meta_add(repo, vin, "snapshot", ts_meta);
        if (r < 0)
                return r;
        return publish_meta_role(repo, vin, UP_ROLE_TIMESTAMP, ts_meta, o, now);
}

/* --- Root ---------------------------------------------------------------------------------- */

static int root_previous(UpRepo *repo, const Published *p, Delegation *ret) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        int r;

        r = up_metadata_parse(p->data, p->len, UP_ROLE_ROOT, &md);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s/metadata/root.json' is not a valid root: %s", repo->dir,
                                    up_strerror(r));
        repo_delegation_from_root(md, UP_ROLE_ROOT, ret);
        return 0;
}

/* Root N+1 is signed by the root keys of N+1 and of N, so that clients
 * holding root N accept it (and rotations can chain). */
static int publish_root(UpRepo *repo, const SetOptions *o, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        _cleanup_(repo_delegation_done) Delegation d = {}, prev = {};
        _cleanup_(repo_published_done) Published p = {};
        _cleanup_(repo_signers_done) Signers s = {};
        int r;

        r = up_repo_staged_read(repo, NULL, "root", &body);
        if (r >= 0)
                r = repo_delegation_get(repo, NULL, "root", "root", &d);
        if (r < 0)
                return r;
        r = repo_published_read(repo, NULL, "root", &p);
        if (r < 0 && r != -ENOENT)
                return r;
        if (p.data) {
                r = root_previous(repo, &p, &prev);
                if (r < 0)
                        return r;
        }
        r = repo_signers_add_role(repo, &s, d.keys);
        if (r >= 0)
                r = repo_signers_add_role(repo, &s, prev.keys);
        if (r < 0)
                return r;
        return publish_role(repo, &(RoleJob) {
                .role = "root", .body = body, .delegation = &d, .previous = p.data ? &prev : NULL,
                .signers = &s, .force = set_bumps(o, "root") && !o->all,
                .expires = now + (time_t) repo->expires[UP_ROLE_ROOT],
        });
}

/* Copies version v of root into a vehicle's metadata dir, unless there. */
static int copy_root_version(UpRepo *repo, const char *src, const char *dst, int64_t v) {
        _cleanup_free_ char *name = NULL, *from = NULL, *to = NULL;

        if (repo_role_file_name("root", v, &name) < 0 || repo_pathf(&from, "%s/%s", src, name) < 0 ||
            repo_pathf(&to, "%s/%s", dst, name) < 0)
                return -ENOMEM;
        if (file_exists(to) || !file_exists(from))
                return 0;
        return repo_copy_file(repo, from, dst, name, 0644);
}

/* A vehicle's metadata dir holds every root version: clients fetch roots
 * from the same base URL as the rest. */
static int copy_roots(UpRepo *repo, const char *vin) {
        _cleanup_free_ char *src = NULL, *dst = NULL;
        _cleanup_(repo_published_done) Published p = {};
        int r;

        r = repo_published_get(repo, NULL, "root", &p);
        if (r < 0)
                return r;
        if (repo_pathf(&src, "%s/metadata", repo->dir) < 0)
                return -ENOMEM;
        r = repo_set_path(repo, vin, "metadata", &dst);
        if (r >= 0)
                r = repo_make_dir(repo, dst, 0755);
        for (int64_t v = 1; r >= 0 && v <= p.version; v++)
                r = copy_root_version(repo, src, dst, v);
        if (r < 0)
                return r;
        return repo_write_file(repo, dst, "root.json", p.data, p.len, 0644);
}

/* --- Entry points ----------------------------------------------------------------------------- */

int repo_publish_set_opts(UpRepo *repo, const char *vin, const SetOptions *o, time_t now) {
        int r;

        if (!vin && repo->kind == UP_REPO_DIRECTOR)
                return up_repo_fail(repo, -EINVAL, "a Director publishes targets per vehicle: give a VIN");
        if (vin) {
                r = copy_roots(repo, vin);
                if (r < 0)
                        return r;
        }
        return publish_set_roles(repo, vin, o, now);
}

int up_repo_publish_set(UpRepo *repo, const char *vin, const char *const *bump, size_t n_bump, time_t now) {
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        return repo_publish_set_opts(repo, vin, &(SetOptions) { .bump = bump, .n_bump = n_bump }, now);
}

static int publish_vehicles(UpRepo *repo, const SetOptions *o, time_t now) {
        char **vins = NULL;
        size_t n = 0;
        int r;

        r = up_director_vehicles(repo, &vins, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = repo_publish_set_opts(repo, vins[i], o, now);
        up_director_vehicles_free(vins, n);
        return r;
}

int up_repo_publish(UpRepo *repo, const char *const *bump, size_t n_bump, time_t now) {
        const SetOptions o = { .bump = bump, .n_bump = n_bump };
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_bump; i++)
                if (!repo_is_top_level(bump[i]) && !repo_staged_exists(repo, NULL, bump[i]))
                        return up_repo_fail(repo, -ENOENT, "cannot bump '%s': no such role", bump[i]);
        r = publish_root(repo, &o, now);
        if (r < 0)
                return r;
        if (repo->kind == UP_REPO_IMAGE)
                return publish_set_roles(repo, NULL, &o, now);
        return publish_vehicles(repo, &o, now);
}
