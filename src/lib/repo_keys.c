/* SPDX-License-Identifier: MIT */
/*
 * The keys of a repository: private keys in keys/KEYID.key, which role uses
 * which key in keys/roles.json (with the retired ones, which the attack
 * commands still sign with), the signers of a role, and key rotation and
 * revocation (edits of the staged root or delegator, effective at publish).
 */
#include "repo-internal.h"
#include "uptane/error.h"

#define KEYMAP_FILE "roles.json"

static int keys_dir(UpRepo *repo, char **ret) {
        return repo_pathf(ret, "%s/keys", repo->dir);
}

/* The member key of m, an object, created if missing. */
static int keymap_object(struct json_object *m, const char *key) {
        if (!json_child(m, key) && up_json_add(m, key, json_object_new_object()) < 0)
                return -ENOMEM;
        return as_object(json_child(m, key)) ? 0 : -EBADMSG;
}

int repo_keymap_read(UpRepo *repo, struct json_object **ret) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_json_ struct json_object *m = NULL;
        int r;

        r = keys_dir(repo, &dir);
        if (r < 0)
                return r;
        r = repo_read_json(repo, dir, KEYMAP_FILE, &m);
        if (r == -ENOENT)
                m = json_object_new_object();
        else if (r < 0)
                return r;
        if (!m || !json_object_is_type(m, json_type_object))
                return up_repo_fail(repo, -EBADMSG, "'%s/%s' is not a JSON object", dir, KEYMAP_FILE);
        r = keymap_object(m, "roles");
        if (r >= 0)
                r = keymap_object(m, "retired");
        if (r == -EBADMSG)
                return up_repo_fail(repo, r, "'%s/%s': roles and retired must be objects", dir, KEYMAP_FILE);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Records the keys role uses now; the ones it used before are retired
 * (kept, so that the attack commands can sign with them). */
static int keymap_update(UpRepo *repo, const char *role, struct json_object *keyids) {
        _cleanup_json_ struct json_object *m = NULL;
        _cleanup_free_ char *dir = NULL;
        struct json_object *old, *retired;
        int r;

        r = repo_keymap_read(repo, &m);
        if (r < 0)
                return r;
        retired = json_child(m, "retired");
        old = json_child(json_child(m, "roles"), role);
        for (size_t i = 0; i < array_len(old); i++) {
                const char *id = json_object_get_string(json_object_array_get_idx(old, i));

                if (!strv_json_contains(keyids, id) && up_json_add(retired, id, json_object_new_string(role)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < json_object_array_length(keyids); i++)
                json_object_object_del(retired, json_object_get_string(json_object_array_get_idx(keyids, i)));
        r = up_json_add(json_child(m, "roles"), role, json_object_get(keyids));
        if (r < 0)
                return r;
        r = keys_dir(repo, &dir);
        if (r < 0)
                return r;
        return repo_write_json(repo, dir, KEYMAP_FILE, m, 0600);
}

static int generate_key(UpRepo *repo, const char *dir, struct json_object *keys, struct json_object *keyids) {
        _cleanup_(up_key_unrefp) UpKey *k = NULL;
        _cleanup_free_ char *path = NULL;
        char id[65];
        int r;

        r = up_key_generate(repo->scheme, &k);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot generate a %s key: %s", up_key_scheme_name(repo->scheme),
                                    up_strerror(r));
        r = up_key_keyid(k, id);
        if (r < 0)
                return r;
        r = repo_pathf(&path, "%s/%s.key", dir, id);
        if (r < 0)
                return r;
        r = up_key_save_private(k, path);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot write '%s': %s", path, up_strerror(r));
        if (up_json_add(keys, id, up_key_to_json(k)) < 0 || up_json_append(keyids, json_object_new_string(id)) < 0)
                return -ENOMEM;
        return 0;
}

int repo_keys_add(UpRepo *repo, const char *role, unsigned n, struct json_object *keys,
                  struct json_object *keyids) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = keys_dir(repo, &dir);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n; i++) {
                r = generate_key(repo, dir, keys, keyids);
                if (r < 0)
                        return r;
        }
        return keymap_update(repo, role, keyids);
}

/* --- Signers ---------------------------------------------------------------------- */

void repo_signers_done(Signers *s) {
        for (size_t i = 0; i < s->n; i++)
                up_key_unref(s->keys[i]);
        free(s->keys);
        *s = (Signers) {};
}

static bool signers_have(const Signers *s, const char *keyid) {
        for (size_t i = 0; i < s->n; i++) {
                char id[65];

                if (up_key_keyid(s->keys[i], id) >= 0 && streq(id, keyid))
                        return true;
        }
        return false;
}

/* Adds the private key of keyid when keys/ holds it. */
static int signers_add(UpRepo *repo, Signers *s, const char *keyid) {
        _cleanup_free_ char *path = NULL;
        UpKey **nk, *k = NULL;
        int r;

        if (signers_have(s, keyid))
                return 0;
        if (!repo_file_name_valid(keyid))
                return 0; /* not a key id we could have written */
        r = repo_pathf(&path, "%s/keys/%s.key", repo->dir, keyid);
        if (r < 0)
                return r;
        r = up_key_load_private(path, &k);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return up_repo_fail(repo, r, "cannot load the private key '%s': %s", path, up_strerror(r));
        nk = realloc(s->keys, (s->n + 1) * sizeof(UpKey *));
        if (!nk) {
                up_key_unref(k);
                return -ENOMEM;
        }
        s->keys = nk;
        s->keys[s->n++] = k;
        return 0;
}

int repo_signers_add_role(UpRepo *repo, Signers *s, const UpRoleKeys *keys) {
        int r;

        for (size_t i = 0; keys && i < keys->n_keyids; i++) {
                r = signers_add(repo, s, keys->keyids[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int repo_signers_add_retired(UpRepo *repo, Signers *s, const char *role) {
        _cleanup_json_ struct json_object *m = NULL;
        int r;

        r = repo_keymap_read(repo, &m);
        if (r < 0)
                return r;
        json_object_object_foreach(json_child(m, "retired"), id, v) {
                if (!streq(json_object_get_string(v), role))
                        continue;
                r = signers_add(repo, s, id);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- Listings of keys -------------------------------------------------------------- */

/*
 * A listing is what names the keys of a role: an entry of root's "roles"
 * object, or of a delegations "roles" array. The keys themselves are in the
 * "keys" dictionary next to the listings.
 */

static void keys_collect_used(struct json_object *entry, struct json_object *used) {
        struct json_object *ids = json_child(entry, "keyids");

        for (size_t i = 0; i < array_len(ids); i++)
                json_object_object_add(used, json_object_get_string(json_object_array_get_idx(ids, i)), NULL);
}

/* Drops the keys no listing uses any more. */
static int keys_prune(struct json_object *keys, struct json_object *entries) {
        _cleanup_json_ struct json_object *used = json_object_new_object();
        _cleanup_free_ char **unused = NULL;
        size_t n = 0;

        if (!used)
                return -ENOMEM;
        if (!as_object(keys))
                return -EBADMSG;
        if (json_object_is_type(entries, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(entries); i++)
                        keys_collect_used(json_object_array_get_idx(entries, i), used);
        } else if (as_object(entries)) {
                json_object_object_foreach(entries, name, entry) {
                        (void) name;
                        keys_collect_used(entry, used);
                }
        }
        unused = calloc((size_t) json_object_object_length(keys) + 1, sizeof(char *));
        if (!unused)
                return -ENOMEM;
        json_object_object_foreach(keys, id, k) {
                (void) k;
                if (!json_object_object_get_ex(used, id, NULL))
                        unused[n++] = id;
        }
        for (size_t i = 0; i < n; i++)
                json_object_object_del(keys, unused[i]);
        return 0;
}

/* The staged body holding listings: root, or a delegator (body NULL when
 * it delegates nothing). */
typedef struct Listings {
        const char *owner;         /* "root" or the delegator */
        struct json_object *body;
        struct json_object *keys;  /* borrowed from body */
        struct json_object *roles; /* root: object, delegator: array */
} Listings;

static void listings_done(Listings *l) {
        if (l->body)
                json_object_put(l->body);
        *l = (Listings) {};
}

static int listings_read(UpRepo *repo, const char *owner, Listings *ret) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *keys = NULL, *roles = NULL;
        int r;

        r = up_repo_staged_read(repo, NULL, owner, &body);
        if (r < 0)
                return r;
        if (streq(owner, "root")) {
                keys = json_child(body, "keys");
                roles = json_child(body, "roles");
                if (!as_object(keys) || !as_object(roles))
                        return up_repo_fail(repo, -EBADMSG, "staged root has no keys or roles");
        } else if (!json_child(body, "delegations")) {
                *ret = (Listings) { .owner = owner };
                return 0;
        } else if ((r = repo_body_delegations(body, &keys, &roles)) < 0)
                return up_repo_fail(repo, r, "staged %s: bad delegations", owner);
        *ret = (Listings) { .owner = owner, .body = TAKE_PTR(body), .keys = keys, .roles = roles };
        return 0;
}

/* After listings changed: drop the unused keys and stage the body. */
static int listings_write(UpRepo *repo, Listings *l) {
        int r;

        r = keys_prune(l->keys, l->roles);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, l->owner, l->body);
}

static int64_t entry_threshold(struct json_object *entry) {
        struct json_object *t = json_child(entry, "threshold");

        return t ? json_object_get_int64(t) : 1;
}

static const char *entry_name(struct json_object *entry) {
        return json_object_get_string(json_child(entry, "name")) ?: "";
}

/* --- Rotation ----------------------------------------------------------------------- */

/* Points a listing at the new keys (which keys gets too). */
static int listing_set_keys(struct json_object *keys, struct json_object *entry, struct json_object *new_keys,
                            struct json_object *new_ids) {
        struct json_object *copy = NULL;

        json_object_object_foreach(new_keys, id, k)
                if (up_json_add(keys, id, json_object_get(k)) < 0)
                        return -ENOMEM;
        if (json_object_deep_copy(new_ids, &copy, NULL) < 0)
                return -ENOMEM;
        return up_json_add(entry, "keyids", copy);
}

static int rotate_generate(UpRepo *repo, const char *role, struct json_object *entry, unsigned n_keys,
                           struct json_object **ret_keys, struct json_object **ret_ids) {
        _cleanup_json_ struct json_object *keys = json_object_new_object(), *ids = json_object_new_array();
        int64_t threshold = entry_threshold(entry);
        size_t n = n_keys;
        int r;

        if (!keys || !ids)
                return -ENOMEM;
        if (n == 0)
                n = array_len(json_child(entry, "keyids"));
        if ((int64_t) n < threshold && n_keys == 0)
                n = (size_t) threshold;
        if ((int64_t) n < threshold || n > 64)
                return up_repo_fail(repo, -EINVAL, "%s: %zu keys do not fit its threshold %lld", role, n,
                                    (long long) threshold);
        r = repo_keys_add(repo, role, (unsigned) n, keys, ids);
        if (r < 0)
                return r;
        *ret_keys = TAKE_PTR(keys);
        *ret_ids = TAKE_PTR(ids);
        return 0;
}

/* The new keys of a rotation: generated for the first listing of the role,
 * and the same for every other listing of it. */
typedef struct Rotation {
        const char *role;
        unsigned n_keys;
        struct json_object *keys, *ids;
} Rotation;

static void rotation_done(Rotation *rot) {
        if (rot->keys)
                json_object_put(rot->keys);
        if (rot->ids)
                json_object_put(rot->ids);
}

static int rotate_listing(UpRepo *repo, Listings *l, struct json_object *entry, Rotation *rot) {
        int r;

        if (!rot->keys) {
                r = rotate_generate(repo, rot->role, entry, rot->n_keys, &rot->keys, &rot->ids);
                if (r < 0)
                        return r;
        }
        return listing_set_keys(l->keys, entry, rot->keys, rot->ids);
}

static int rotate_top_level(UpRepo *repo, const char *role, unsigned n_keys) {
        _cleanup_(listings_done) Listings l = {};
        _cleanup_(rotation_done) Rotation rot = { .role = role, .n_keys = n_keys };
        struct json_object *entry;
        int r;

        r = listings_read(repo, "root", &l);
        if (r < 0)
                return r;
        entry = json_child(l.roles, role);
        if (!entry)
                return up_repo_fail(repo, -EBADMSG, "staged root does not list the keys of %s", role);
        r = rotate_listing(repo, &l, entry, &rot);
        if (r < 0)
                return r;
        return listings_write(repo, &l);
}

/* Every listing of a delegated role gets the same new keys. */
static int rotate_delegated_in(UpRepo *repo, const char *delegator, Rotation *rot) {
        _cleanup_(listings_done) Listings l = {};
        bool changed = false;
        int r;

        r = listings_read(repo, delegator, &l);
        if (r < 0 || !l.body)
                return r;
        for (size_t i = 0; i < json_object_array_length(l.roles); i++) {
                struct json_object *entry = json_object_array_get_idx(l.roles, i);

                if (!streq(entry_name(entry), rot->role))
                        continue;
                r = rotate_listing(repo, &l, entry, rot);
                if (r < 0)
                        return r;
                changed = true;
        }
        return changed ? listings_write(repo, &l) : 0;
}

static int rotate_delegated(UpRepo *repo, const char *role, unsigned n_keys) {
        _cleanup_(rotation_done) Rotation rot = { .role = role, .n_keys = n_keys };
        _cleanup_(repo_role_list_done) RoleList l = {};
        int r;

        r = repo_targets_roles(repo, NULL, &l);
        if (r < 0)
                return r;
        if (!repo_role_list_find(&l, role))
                return up_repo_fail(repo, -ENOENT, "no role '%s'", role);
        for (size_t i = 0; i < l.n; i++) {
                r = rotate_delegated_in(repo, l.v[i].role, &rot);
                if (r < 0)
                        return r;
        }
        return 0;
}

int up_repo_rotate(UpRepo *repo, const char *role, unsigned n_keys) {
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        if (!role)
                return -EINVAL;
        if (repo_is_top_level(role))
                return rotate_top_level(repo, role, n_keys);
        r = repo_check_image(repo, "it has no delegated roles");
        if (r < 0)
                return r;
        return rotate_delegated(repo, role, n_keys);
}

/* --- Revocation --------------------------------------------------------------------- */

/* Unlists keyid from one listing; tops the role up to its threshold. */
static int listing_revoke(UpRepo *repo, struct json_object *keys, struct json_object *entry, const char *role,
                          const char *keyid, bool *found) {
        struct json_object *ids = json_child(entry, "keyids");
        int64_t missing;

        if (!strv_json_contains(ids, keyid))
                return 0;
        *found = true;
        for (size_t i = json_object_array_length(ids); i > 0; i--)
                if (streq(json_object_get_string(json_object_array_get_idx(ids, i - 1)), keyid))
                        (void) json_object_array_del_idx(ids, i - 1, 1);
        missing = entry_threshold(entry) - (int64_t) json_object_array_length(ids);
        return repo_keys_add(repo, role, missing > 0 ? (unsigned) missing : 0, keys, ids);
}

/* Revokes keyid in every listing of root or of a delegator. */
static int revoke_in(UpRepo *repo, const char *owner, const char *keyid, bool *found) {
        _cleanup_(listings_done) Listings l = {};
        bool here = false;
        int r;

        r = listings_read(repo, owner, &l);
        if (r < 0 || !l.body)
                return r;
        if (json_object_is_type(l.roles, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(l.roles); i++) {
                        struct json_object *entry = json_object_array_get_idx(l.roles, i);
                        const char *name = json_object_get_string(json_child(entry, "name")) ?: "?";

                        r = listing_revoke(repo, l.keys, entry, name, keyid, &here);
                        if (r < 0)
                                return r;
                }
        } else {
                json_object_object_foreach(l.roles, role, entry) {
                        r = listing_revoke(repo, l.keys, entry, role, keyid, &here);
                        if (r < 0)
                                return r;
                }
        }
        if (!here)
                return 0;
        *found = true;
        return listings_write(repo, &l);
}

int up_repo_revoke(UpRepo *repo, const char *keyid) {
        _cleanup_(repo_role_list_done) RoleList l = {};
        bool found = false;
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        if (!keyid)
                return -EINVAL;
        r = revoke_in(repo, "root", keyid, &found);
        if (r < 0)
                return r;
        if (repo->kind == UP_REPO_IMAGE) {
                r = repo_targets_roles(repo, NULL, &l);
                for (size_t i = 0; r >= 0 && i < l.n; i++)
                        r = revoke_in(repo, l.v[i].role, keyid, &found);
                if (r < 0)
                        return r;
        }
        if (!found)
                return up_repo_fail(repo, -ENOENT, "key id '%s' is not listed by any role", keyid);
        return 0;
}
