/* SPDX-License-Identifier: MIT */
/* Delegations of a targets role: keys, delegated roles and which paths they cover. */
#include <fnmatch.h>
#include <string.h>

#include "metadata-internal.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "util.h"

static void delegated_role_done(UpDelegatedRole *d) {
        free(d->name);
        up_role_keys_done(&d->keys);
        up_string_array_free(d->paths, d->n_paths);
        up_string_array_free(d->path_hash_prefixes, d->n_path_hash_prefixes);
}

static bool is_top_level_name(const char *name) {
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (streq(name, up_role_type_name(t)))
                        return true;
        return false;
}

static int parse_paths(struct json_object *o, UpDelegatedRole *d) {
        struct json_object *paths, *prefixes;
        bool has_paths, has_prefixes;
        int r;

        has_paths = json_object_object_get_ex(o, "paths", &paths);
        has_prefixes = json_object_object_get_ex(o, "path_hash_prefixes", &prefixes);
        if (has_paths == has_prefixes)
                return -EBADMSG; /* exactly one of them */
        if (has_paths)
                r = up_string_array_parse(paths, UP_MAX_PATHS_PER_ROLE, &d->paths, &d->n_paths);
        else
                r = up_string_array_parse(prefixes, UP_MAX_PATHS_PER_ROLE, &d->path_hash_prefixes,
                                          &d->n_path_hash_prefixes);
        return r;
}

static int parse_delegated_role(struct json_object *o, UpDelegatedRole *ret) {
        UpDelegatedRole d = {};
        const char *name;
        int terminating = 0, r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = up_json_get_string(o, "name", &name);
        if (r < 0)
                return r;
        if (strlen(name) == 0 || strlen(name) > UP_MAX_ROLE_NAME || is_top_level_name(name))
                return -EBADMSG;
        r = up_json_get_bool(o, "terminating", &terminating);
        if (r < 0)
                return r;
        d.terminating = terminating;
        d.name = strdup(name);
        if (!d.name)
                return -ENOMEM;
        r = up_role_keys_parse(o, &d.keys);
        if (r >= 0)
                r = parse_paths(o, &d);
        if (r < 0) {
                delegated_role_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

int up_delegations_parse(struct json_object *delegations, UpTargetsInfo *t) {
        struct json_object *keys, *roles;
        size_t n;
        int r;

        if (!json_object_is_type(delegations, json_type_object))
                return -EBADMSG;
        if (json_object_object_get_ex(delegations, "succinct_roles", NULL))
                return -EOPNOTSUPP; /* TAP 15 hash bins: not supported yet */
        r = up_json_get_object(delegations, "keys", &keys);
        if (r < 0)
                return r;
        r = up_json_get_array(delegations, "roles", &roles);
        if (r < 0)
                return r;
        n = json_object_array_length(roles);
        if (n > UP_MAX_DELEGATIONS)
                return -EFBIG;
        t->has_delegations = true;
        r = up_keyring_parse(keys, &t->keyring);
        if (r < 0)
                return r;
        t->roles = calloc(n + 1, sizeof(UpDelegatedRole));
        if (!t->roles)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = parse_delegated_role(json_object_array_get_idx(roles, i), &t->roles[i]);
                if (r < 0)
                        return r;
                t->n_roles = i + 1;
                for (size_t j = 0; j < i; j++)
                        if (streq(t->roles[j].name, t->roles[i].name))
                                return -EBADMSG;
        }
        return 0;
}

void up_delegations_done(UpTargetsInfo *t) {
        for (size_t i = 0; i < t->n_roles; i++)
                delegated_role_done(&t->roles[i]);
        free(t->roles);
        up_keyring_done(&t->keyring);
        t->roles = NULL;
        t->n_roles = 0;
}

const UpKeyring *up_targets_delegation_keyring(const UpMetadata *t) {
        return t->targets.has_delegations ? &t->targets.keyring : NULL;
}

size_t up_targets_n_delegations(const UpMetadata *t) {
        return t->targets.n_roles;
}

const UpDelegatedRole *up_targets_delegation_at(const UpMetadata *t, size_t i) {
        return i < t->targets.n_roles ? &t->targets.roles[i] : NULL;
}

const UpDelegatedRole *up_targets_find_delegation(const UpMetadata *t, const char *role) {
        for (size_t i = 0; i < t->targets.n_roles; i++)
                if (streq(t->targets.roles[i].name, role))
                        return &t->targets.roles[i];
        return NULL;
}

static bool hash_prefix_matches(const UpDelegatedRole *d, const char *target_path) {
        uint8_t digest[UP_HASH_MAX_SIZE];
        char hex[2 * UP_HASH_MAX_SIZE + 1];

        if (up_hash_buffer(UP_HASH_SHA256, target_path, strlen(target_path), digest) < 0)
                return false;
        up_hex_encode(digest, up_hash_alg_size(UP_HASH_SHA256), hex);
        for (size_t i = 0; i < d->n_path_hash_prefixes; i++)
                if (strncmp(hex, d->path_hash_prefixes[i], strlen(d->path_hash_prefixes[i])) == 0)
                        return true;
        return false;
}

bool up_delegated_role_matches(const UpDelegatedRole *d, const char *target_path) {
        if (d->path_hash_prefixes)
                return hash_prefix_matches(d, target_path);
        /* FNM_PATHNAME: '*' and '?' never match '/', so the number of path
         * segments must agree ("*.md" does not match "docs/README.md"). */
        for (size_t i = 0; i < d->n_paths; i++)
                if (fnmatch(d->paths[i], target_path, FNM_PATHNAME) == 0)
                        return true;
        return false;
}
