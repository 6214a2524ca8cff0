/* SPDX-License-Identifier: MIT */
/*
 * up_repo_status(): what is published and what is pending, as JSON (the
 * format is in uptane/repository.h). Read-only.
 */
#include "repo-internal.h"
#include "uptane/director.h"

static int status_keys(UpRepo *repo, const Delegation *d, struct json_object **ret) {
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; d->keys && i < d->keys->n_keyids; i++) {
                const char *id = d->keys->keyids[i];
                const UpKey *k = up_keyring_find(d->ring, id);
                _cleanup_free_ char *path = NULL;
                struct json_object *o = json_object_new_object();

                if (up_json_append(a, o) < 0 || repo_pathf(&path, "%s/keys/%s.key", repo->dir, id) < 0)
                        return -ENOMEM;
                if (up_json_add(o, "keyid", json_object_new_string(id)) < 0 ||
                    up_json_add(o, "scheme", json_object_new_string(k ? up_key_scheme_name(up_key_scheme(k)) : "?")) < 0 ||
                    up_json_add(o, "private", json_object_new_boolean(repo_file_name_valid(id) && file_exists(path))) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(a);
        return 0;
}

/* Whether the staged state of role differs from what is published. */
static int status_pending(UpRepo *repo, const char *vin, const char *role, const Delegation *d, const Published *p,
                          bool *ret) {
        _cleanup_json_ struct json_object *body = NULL;
        int r;

        /* A Director signs these per vehicle only. */
        if (repo->kind == UP_REPO_DIRECTOR && !vin && !streq(role, "root")) {
                *ret = false;
                return 0;
        }
        if (!repo_staged_exists(repo, vin, role) || streq(role, "snapshot") || streq(role, "timestamp")) {
                *ret = !p->data;
                return 0;
        }
        r = up_repo_staged_read(repo, vin, role, &body);
        if (r < 0)
                return r;
        return repo_role_needs_publish(role, body, d, p, ret);
}

/* The members of a role's entry that come from its published metadata. */
static int status_published(const Published *p, time_t now, struct json_object *o) {
        const char *expires = NULL;
        time_t t = 0;

        if (p->data)
                expires = json_object_get_string(json_child(p->signed_obj, "expires"));
        if (expires && up_parse_iso8601(expires, &t) < 0)
                t = 0;
        if (up_json_add(o, "version", json_object_new_int64(p->data ? p->version : 0)) < 0 ||
            (expires && up_json_add(o, "expires", json_object_new_string(expires)) < 0) ||
            up_json_add(o, "expired", json_object_new_boolean(p->data && t <= now)) < 0)
                return -ENOMEM;
        return 0;
}

static int status_role(UpRepo *repo, const char *vin, const char *role, const char *delegator, time_t now,
                       struct json_object *out) {
        _cleanup_(repo_published_done) Published p = {};
        _cleanup_(repo_delegation_done) Delegation d = {};
        struct json_object *o = json_object_new_object(), *keys = NULL;
        bool pending;
        int r;

        if (up_json_append(out, o) < 0)
                return -ENOMEM;
        r = repo_published_read(repo, vin, role, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        r = repo_delegation_get(repo, vin, role, delegator, &d);
        if (r >= 0)
                r = status_pending(repo, vin, role, &d, &p, &pending);
        if (r >= 0)
                r = status_keys(repo, &d, &keys);
        if (r < 0 || (r = up_json_add(o, "keys", keys)) < 0)
                return r;
        if (up_json_add(o, "name", json_object_new_string(role)) < 0 || status_published(&p, now, o) < 0 ||
            up_json_add(o, "pending", json_object_new_boolean(pending)) < 0 ||
            up_json_add(o, "threshold", json_object_new_int64(d.keys ? d.keys->threshold : 0)) < 0)
                return -ENOMEM;
        return 0;
}

static int status_targets_of(UpRepo *repo, const char *role, struct json_object *out) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        int r;

        r = repo_staged_targets(repo, NULL, role, &body, &targets);
        if (r < 0)
                return r;
        json_object_object_foreach(targets, name, entry) {
                struct json_object *o = json_object_new_object();
                struct json_object *rc = json_child(json_child(entry, "custom"), "releaseCounter");

                if (up_json_append(out, o) < 0 || up_json_add(o, "name", json_object_new_string(name)) < 0 ||
                    up_json_add(o, "role", json_object_new_string(role)) < 0 ||
                    up_json_add(o, "length", json_object_get(json_child(entry, "length"))) < 0 ||
                    (rc && up_json_add(o, "releaseCounter", json_object_get(rc)) < 0))
                        return -ENOMEM;
        }
        return 0;
}

static int status_image(UpRepo *repo, time_t now, struct json_object *roles, struct json_object *targets) {
        _cleanup_(repo_role_list_done) RoleList l = {};
        int r;

        r = repo_targets_roles(repo, NULL, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                r = status_role(repo, NULL, l.v[i].role, l.v[i].delegator, now, roles);
                if (r < 0)
                        return r;
                r = status_targets_of(repo, l.v[i].role, targets);
                if (r < 0)
                        return r;
        }
        r = status_role(repo, NULL, "snapshot", "root", now, roles);
        if (r < 0)
                return r;
        return status_role(repo, NULL, "timestamp", "root", now, roles);
}

static int status_vehicle(UpRepo *repo, const char *vin, struct json_object *out) {
        _cleanup_(repo_published_done) Published p = {};
        struct json_object *o = json_object_new_object(), *t;
        int r;

        if (up_json_append(out, o) < 0)
                return -ENOMEM;
        r = repo_published_read(repo, vin, "targets", &p);
        if (r < 0 && r != -ENOENT)
                return r;
        t = p.data ? as_object(json_child(p.signed_obj, "targets")) : NULL;
        if (up_json_add(o, "vin", json_object_new_string(vin)) < 0 ||
            up_json_add(o, "version", json_object_new_int64(p.data ? p.version : 0)) < 0 ||
            up_json_add(o, "targets", json_object_new_int(t ? json_object_object_length(t) : 0)) < 0)
                return -ENOMEM;
        return 0;
}

static int status_vehicles(UpRepo *repo, struct json_object *out) {
        char **vins = NULL;
        size_t n = 0;
        int r;

        r = up_director_vehicles(repo, &vins, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = status_vehicle(repo, vins[i], out);
        up_director_vehicles_free(vins, n);
        return r;
}

/* The Director's online keys (listed in its root, used per vehicle). */
static int status_director(UpRepo *repo, time_t now, struct json_object *roles, struct json_object *vehicles) {
        static const char *const online[] = { "targets", "snapshot", "timestamp" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(online); i++) {
                r = status_role(repo, NULL, online[i], "root", now, roles);
                if (r < 0)
                        return r;
        }
        return status_vehicles(repo, vehicles);
}

static int status_retired(UpRepo *repo, struct json_object *out) {
        _cleanup_json_ struct json_object *m = NULL;
        int r;

        r = repo_keymap_read(repo, &m);
        if (r < 0)
                return r;
        json_object_object_foreach(json_child(m, "retired"), id, role) {
                struct json_object *o = json_object_new_object();

                if (up_json_append(out, o) < 0 || up_json_add(o, "keyid", json_object_new_string(id)) < 0 ||
                    up_json_add(o, "role", json_object_get(role)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int status_header(UpRepo *repo, struct json_object *o) {
        struct json_object *expires = NULL;
        int r;

        r = repo_expires_json(repo, &expires);
        if (r < 0 || up_json_add(o, "expires", expires) < 0 || up_json_add(o, "dir", json_object_new_string(repo->dir)) < 0 ||
            up_json_add(o, "kind", json_object_new_string(up_repo_kind_name(repo->kind))) < 0 ||
            up_json_add(o, "scheme", json_object_new_string(up_key_scheme_name(repo->scheme))) < 0)
                return -ENOMEM;
        return 0;
}

int up_repo_status(UpRepo *repo, time_t now, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *roles = json_object_new_array(), *targets = json_object_new_array();
        struct json_object *vehicles = json_object_new_array(), *retired = json_object_new_array(), *attacks = NULL;
        int r;

        if (!o || up_json_add(o, "roles", roles) < 0 || up_json_add(o, "targets", targets) < 0 ||
            up_json_add(o, "vehicles", vehicles) < 0 || up_json_add(o, "retired_keys", retired) < 0)
                return -ENOMEM;
        r = repo_check_opened(repo);
        if (r >= 0)
                r = status_header(repo, o);
        if (r >= 0)
                r = status_role(repo, NULL, "root", "root", now, roles);
        if (r >= 0)
                r = repo->kind == UP_REPO_IMAGE ? status_image(repo, now, roles, targets) :
                                                  status_director(repo, now, roles, vehicles);
        if (r >= 0)
                r = status_retired(repo, retired);
        if (r >= 0)
                r = up_repo_attack_list(repo, &attacks);
        if (r < 0 || (r = up_json_add(o, "attacks", attacks)) < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}
