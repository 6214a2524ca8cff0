/* SPDX-License-Identifier: MIT */
/*
 * The staged state: the unsigned "signed" body of every role, in staged/
 * (a Director's vehicles: vehicles/VIN/staged/, root shared), kept between
 * commands until the next publish. Also what is read out of it: the targets
 * roles reachable from "targets", and how each role is delegated.
 */
#include "repo-internal.h"
#include "uptane/error.h"

static int expires_string(time_t t, struct json_object **ret) {
        char buf[21];
        int r;

        r = up_format_iso8601(t, buf);
        if (r < 0)
                return r;
        *ret = json_object_new_string(buf);
        return *ret ? 0 : -ENOMEM;
}

int repo_body_set_version(struct json_object *body, int64_t version, time_t expires) {
        struct json_object *e = NULL;
        int r;

        r = expires_string(expires, &e);
        if (r < 0)
                return r;
        if (up_json_add(body, "version", json_object_new_int64(version)) < 0 || up_json_add(body, "expires", e) < 0)
                return -ENOMEM;
        return 0;
}

/* The members every role body has, version 1, and an empty "targets" or
 * "meta" (root has neither). */
static int body_fill(UpRepo *repo, struct json_object *o, UpRoleType type, time_t now) {
        const char *member = type == UP_ROLE_TARGETS ? "targets" : "meta";
        int r;

        if (up_json_add(o, "_type", json_object_new_string(up_role_type_name(type))) < 0 ||
            up_json_add(o, "spec_version", json_object_new_string(UP_REPO_SPEC_VERSION)) < 0)
                return -ENOMEM;
        r = repo_body_set_version(o, 1, now + repo->expires[type]);
        if (r < 0)
                return r;
        if (type != UP_ROLE_ROOT && up_json_add(o, member, json_object_new_object()) < 0)
                return -ENOMEM;
        return 0;
}

int repo_body_new(UpRepo *repo, UpRoleType type, time_t now, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = body_fill(repo, o, type, now);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int staged_location(UpRepo *repo, const char *vin, const char *role, char **ret_dir, char **ret_name) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r;

        /* Every vehicle shares the Director's root. */
        r = repo_set_path(repo, streq(role, "root") ? NULL : vin, "staged", &dir);
        if (r < 0)
                return r;
        r = repo_role_file_name(role, 0, &name);
        if (r < 0)
                return r;
        *ret_dir = TAKE_PTR(dir);
        *ret_name = TAKE_PTR(name);
        return 0;
}

int up_repo_staged_read(UpRepo *repo, const char *vin, const char *role, struct json_object **ret) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        r = staged_location(repo, vin, role, &dir, &name);
        if (r < 0)
                return r;
        r = repo_read_json(repo, dir, name, &o);
        if (r == -ENOENT)
                return up_repo_fail(repo, r, "role '%s' does not exist (no '%s/%s')", role, dir, name);
        if (r < 0)
                return r;
        if (!json_object_is_type(o, json_type_object))
                return up_repo_fail(repo, -EBADMSG, "'%s/%s' is not a JSON object", dir, name);
        *ret = TAKE_PTR(o);
        return 0;
}

int up_repo_staged_write(UpRepo *repo, const char *vin, const char *role, struct json_object *body) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r;

        r = staged_location(repo, vin, role, &dir, &name);
        if (r < 0)
                return r;
        r = repo_make_dir(repo, dir, 0755);
        if (r < 0)
                return r;
        return repo_write_json(repo, dir, name, body, 0644);
}

/* A vehicle's targets carry its VIN also when they list nothing: Uptane 2.1
 * §5.2.3.1 (an empty targets must identify the vehicle, or it could be
 * replayed to another one). */
int repo_stage_empty_targets(UpRepo *repo, const char *vin, const char *role, time_t now) {
        _cleanup_json_ struct json_object *body = json_object_new_object();
        struct json_object *custom;
        int r;

        if (!body)
                return -ENOMEM;
        /* First, where a vehicle's staged targets have always had it. */
        if (vin) {
                custom = json_object_new_object();
                if (up_json_add(body, "custom", custom) < 0 || up_json_add(custom, "vin", json_object_new_string(vin)) < 0)
                        return -ENOMEM;
        }
        r = body_fill(repo, body, UP_ROLE_TARGETS, now);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, vin, role, body);
}

bool repo_staged_exists(UpRepo *repo, const char *vin, const char *role) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;

        if (staged_location(repo, vin, role, &dir, &name) < 0 || repo_pathf(&path, "%s/%s", dir, name) < 0)
                return false;
        return file_exists(path);
}

int repo_staged_targets(UpRepo *repo, const char *vin, const char *role, struct json_object **ret_body,
                        struct json_object **ret_targets) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        int r;

        r = up_repo_staged_read(repo, vin, role, &body);
        if (r < 0)
                return r;
        targets = as_object(json_child(body, "targets"));
        if (!targets)
                return up_repo_fail(repo, -EBADMSG, "staged %s%s%s has no targets object", role,
                                    vin ? " of vehicle " : "", vin ?: "");
        *ret_targets = targets;
        *ret_body = TAKE_PTR(body);
        return 0;
}

/* Checks a body with libuptane's own parser, wrapped as unsigned metadata. */
static int body_parse(UpRepo *repo, const char *role, struct json_object *body, UpMetadata **ret) {
        _cleanup_json_ struct json_object *doc = json_object_new_object();
        const char *s;
        int r;

        if (!doc || up_json_add(doc, "signatures", json_object_new_array()) < 0 ||
            up_json_add(doc, "signed", json_object_get(body)) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        r = up_metadata_parse(s, strlen(s), repo_role_type(role), ret);
        if (r < 0)
                return up_repo_fail(repo, r, "staged %s is not valid %s metadata: %s", role,
                                    up_role_type_name(repo_role_type(role)), up_strerror(r));
        return 0;
}

int repo_staged_parse(UpRepo *repo, const char *vin, const char *role, UpMetadata **ret) {
        _cleanup_json_ struct json_object *body = NULL;
        int r;

        r = up_repo_staged_read(repo, vin, role, &body);
        if (r < 0)
                return r;
        return body_parse(repo, role, body, ret);
}

int repo_body_delegations(struct json_object *body, struct json_object **ret_keys, struct json_object **ret_roles) {
        struct json_object *dl = json_child(body, "delegations");

        if (!dl) {
                if (up_json_add(body, "delegations", json_object_new_object()) < 0)
                        return -ENOMEM;
                dl = json_child(body, "delegations");
        }
        if ((!json_child(dl, "keys") && up_json_add(dl, "keys", json_object_new_object()) < 0) ||
            (!json_child(dl, "roles") && up_json_add(dl, "roles", json_object_new_array()) < 0))
                return -ENOMEM;
        *ret_keys = json_child(dl, "keys");
        *ret_roles = json_child(dl, "roles");
        if (!json_object_is_type(*ret_keys, json_type_object) || !json_object_is_type(*ret_roles, json_type_array))
                return -EBADMSG;
        return 0;
}

/* --- The targets roles ------------------------------------------------------------ */

void repo_role_list_done(RoleList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].role);
                free(l->v[i].delegator);
        }
        free(l->v);
        *l = (RoleList) {};
}

const RoleRef *repo_role_list_find(const RoleList *l, const char *role) {
        for (size_t i = 0; i < l->n; i++)
                if (streq(l->v[i].role, role))
                        return &l->v[i];
        return NULL;
}

static int role_list_add(RoleList *l, const char *role, const char *delegator) {
        RoleRef *n = realloc(l->v, (l->n + 1) * sizeof(RoleRef));

        if (!n)
                return -ENOMEM;
        l->v = n;
        l->v[l->n] = (RoleRef) { strdup(role), strdup(delegator) };
        if (!l->v[l->n].role || !l->v[l->n].delegator) {
                free(l->v[l->n].role);
                free(l->v[l->n].delegator);
                return -ENOMEM;
        }
        l->n++;
        return 0;
}

static int role_list_add_delegations(UpRepo *repo, RoleList *l, const char *role, struct json_object *body) {
        struct json_object *roles = json_child(json_child(body, "delegations"), "roles");
        int r;

        for (size_t i = 0; i < array_len(roles); i++) {
                const char *name = json_object_get_string(json_child(json_object_array_get_idx(roles, i), "name"));

                if (!name || repo_role_list_find(l, name))
                        continue;
                if (l->n >= UP_MAX_DELEGATIONS)
                        return up_repo_fail(repo, -E2BIG, "more than %d delegated roles", UP_MAX_DELEGATIONS);
                r = role_list_add(l, name, role);
                if (r < 0)
                        return r;
        }
        return 0;
}

int repo_targets_roles(UpRepo *repo, const char *vin, RoleList *ret) {
        _cleanup_(repo_role_list_done) RoleList l = {};
        int r;

        r = role_list_add(&l, "targets", "root");
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_json_ struct json_object *body = NULL;

                r = up_repo_staged_read(repo, vin, l.v[i].role, &body);
                if (r < 0)
                        return r;
                r = role_list_add_delegations(repo, &l, l.v[i].role, body);
                if (r < 0)
                        return r;
        }
        *ret = l;
        l = (RoleList) {};
        return 0;
}

/* --- Delegations of a role -------------------------------------------------------- */

void repo_delegation_done(Delegation *d) {
        if (d->delegator)
                up_metadata_unref(d->delegator);
        *d = (Delegation) {};
}

void repo_delegation_from_root(UpMetadata *root, UpRoleType type, Delegation *ret) {
        *ret = (Delegation) {
                .delegator = up_metadata_ref(root),
                .ring = up_root_keyring(root),
                .keys = up_root_role(root, type),
        };
}

int repo_delegation_get(UpRepo *repo, const char *vin, const char *role, const char *delegator, Delegation *ret) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        const UpDelegatedRole *dr;
        int r;

        r = repo_staged_parse(repo, vin, delegator, &md);
        if (r < 0)
                return r;
        if (streq(delegator, "root")) {
                repo_delegation_from_root(md, repo_role_type(role), ret);
                return 0;
        }
        dr = up_targets_find_delegation(md, role);
        if (!dr)
                return up_repo_fail(repo, -ENOENT, "%s does not delegate to %s", delegator, role);
        ret->ring = up_targets_delegation_keyring(md);
        ret->keys = &dr->keys;
        ret->delegator = TAKE_PTR(md);
        return 0;
}
