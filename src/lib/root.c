/* SPDX-License-Identifier: MIT */
/* Root metadata: the keys and thresholds of the four top-level roles. */
#include "metadata-internal.h"
#include "uptane/json.h"
#include "util.h"

int up_root_parse(UpMetadata *m) {
        UpRootInfo *ri = &m->root;
        struct json_object *keys, *roles, *cs;
        int r;

        r = up_json_get_object(m->signed_obj, "keys", &keys);
        if (r < 0)
                return r;
        r = up_json_get_object(m->signed_obj, "roles", &roles);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(m->signed_obj, "consistent_snapshot", &cs)) {
                int b;

                r = up_json_get_bool(m->signed_obj, "consistent_snapshot", &b);
                if (r < 0)
                        return r;
                ri->consistent_snapshot = b;
        }
        r = up_keyring_parse(keys, &ri->keyring);
        if (r < 0)
                return r;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++) {
                struct json_object *role;

                r = up_json_get_object(roles, up_role_type_name(t), &role);
                if (r < 0)
                        return r;
                r = up_role_keys_parse(role, &ri->roles[t]);
                if (r < 0)
                        return r;
        }
        return 0;
}

void up_root_done(UpMetadata *m) {
        up_keyring_done(&m->root.keyring);
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                up_role_keys_done(&m->root.roles[t]);
}

const UpKeyring *up_root_keyring(const UpMetadata *root) {
        return &root->root.keyring;
}

const UpRoleKeys *up_root_role(const UpMetadata *root, UpRoleType role) {
        if (role < 0 || role >= _UP_ROLE_MAX)
                return NULL;
        return &root->root.roles[role];
}

bool up_root_consistent_snapshot(const UpMetadata *root) {
        return root->root.consistent_snapshot;
}

static bool keyid_listed(const UpRoleKeys *rk, const char *keyid) {
        for (size_t i = 0; i < rk->n_keyids; i++)
                if (streq(rk->keyids[i], keyid))
                        return true;
        return false;
}

bool up_root_role_changed(const UpMetadata *a, const UpMetadata *b, UpRoleType role) {
        const UpRoleKeys *ra = &a->root.roles[role], *rb = &b->root.roles[role];

        if (ra->threshold != rb->threshold || ra->n_keyids != rb->n_keyids)
                return true;
        for (size_t i = 0; i < ra->n_keyids; i++)
                if (!keyid_listed(rb, ra->keyids[i]))
                        return true;
        return false;
}
