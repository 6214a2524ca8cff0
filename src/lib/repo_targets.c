/* SPDX-License-Identifier: MIT */
/*
 * Targets of an Image repository: the images below targets/ (also a
 * Director's vehicles' copies), their entries in the staged targets roles,
 * the delegations that authorize a role for a name, and delegating to a new
 * role.
 */
#include "repo-internal.h"
#include "uptane/hash.h"

/* Deeper delegation chains are not followed. */
#define MAX_DEPTH 32

/* Opened, and an Image repository (what: what to do on a Director). */
static int check_image_op(UpRepo *repo, const char *what) {
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        return repo_check_image(repo, what);
}

/* --- Images ----------------------------------------------------------------------- */

int repo_hashes(const void *data, size_t len, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        static const UpHashAlg algs[] = { UP_HASH_SHA256, UP_HASH_SHA512 };
        int r;

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                uint8_t digest[UP_HASH_MAX_SIZE];
                char hex[2 * UP_HASH_MAX_SIZE + 1];

                r = up_hash_buffer(algs[i], data, len, digest);
                if (r < 0)
                        return r;
                up_hex_encode(digest, up_hash_alg_size(algs[i]), hex);
                if (up_json_add(o, up_hash_alg_name(algs[i]), json_object_new_string(hex)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static const char *name_base(const char *name) {
        const char *slash = strrchr(name, '/');

        return slash ? slash + 1 : name;
}

int repo_image_dir(UpRepo *repo, const char *vin, const char *name, char **ret) {
        _cleanup_free_ char *top = NULL;
        const char *base = name_base(name);
        int r;

        r = repo_set_path(repo, vin, "targets", &top);
        if (r < 0)
                return r;
        if (base == name) {
                *ret = TAKE_PTR(top);
                return 0;
        }
        return repo_pathf(ret, "%s/%.*s", top, (int) (base - name - 1), name);
}

/* HASH.<base> for every listed hash (Uptane 2.1 §5.2.7), and <base>. */
int repo_image_file_names(const char *name, struct json_object *hashes, char ***ret, size_t *ret_n) {
        size_t n = 0, max = (as_object(hashes) ? (size_t) json_object_object_length(hashes) : 0) + 1;
        const char *base = name_base(name);
        char **v;

        v = calloc(max + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        if (as_object(hashes)) {
                json_object_object_foreach(hashes, alg, hex) {
                        const char *h = json_object_get_string(hex);

                        (void) alg;
                        if (!h || !repo_file_name_valid(h))
                                continue;
                        if (repo_pathf(&v[n], "%s.%s", h, base) < 0) {
                                up_string_array_free(v, n);
                                return -ENOMEM;
                        }
                        n++;
                }
        }
        v[n] = strdup(base);
        if (!v[n]) {
                up_string_array_free(v, n);
                return -ENOMEM;
        }
        *ret = v;
        *ret_n = n + 1;
        return 0;
}

int up_repo_store_image(UpRepo *repo, const char *vin, const char *name, const void *data, size_t len) {
        _cleanup_json_ struct json_object *hashes = NULL;
        _cleanup_free_ char *dir = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        if (!up_repo_target_name_valid(name))
                return up_repo_fail(repo, -EINVAL, "invalid target name '%s'", name ? name : "");
        r = repo_hashes(data, len, &hashes);
        if (r < 0)
                return r;
        r = repo_image_dir(repo, vin, name, &dir);
        if (r < 0)
                return r;
        r = repo_make_dir(repo, dir, 0755);
        if (r < 0)
                return r;
        r = repo_image_file_names(name, hashes, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = repo_write_file(repo, dir, names[i], data, len, 0644);
        up_string_array_free(names, n);
        return r;
}

int up_repo_image_path(UpRepo *repo, const char *vin, const char *name, struct json_object *hashes, char **ret) {
        _cleanup_free_ char *dir = NULL;
        const char *sha;
        int r;

        sha = json_object_get_string(json_child(hashes, "sha256"));
        if (!up_repo_target_name_valid(name) || !sha || !repo_file_name_valid(sha))
                return up_repo_fail(repo, -EINVAL, "no usable name or sha256 for image '%s'", name ? name : "");
        r = repo_image_dir(repo, vin, name, &dir);
        if (r < 0)
                return r;
        return repo_pathf(ret, "%s/%s.%s", dir, sha, name_base(name));
}

/* --- Entries ---------------------------------------------------------------------- */

static int target_custom(const UpRepoTarget *t, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *hw = json_object_new_array();

        if (!o || up_json_add(o, "hardwareIds", hw) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_hardware_ids; i++)
                if (up_json_append(hw, json_object_new_string(t->hardware_ids[i])) < 0)
                        return -ENOMEM;
        if (up_json_add(o, "releaseCounter", json_object_new_int64(t->release_counter)) < 0 ||
            up_json_add(o, "targetFormat", json_object_new_string(t->format ? t->format : "BINARY")) < 0)
                return -ENOMEM;
        if (t->uri && up_json_add(o, "uri", json_object_new_string(t->uri)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* An entry with the given hashes (taken) and length. */
static int entry_new(const UpRepoTarget *t, struct json_object *hashes_in, int64_t length, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object(), *hashes = hashes_in;
        struct json_object *custom = NULL;
        int r;

        if (!o || !hashes)
                return -ENOMEM;
        r = target_custom(t, &custom);
        if (r < 0 || (r = up_json_add(o, "custom", custom)) < 0)
                return r;
        r = up_json_add(o, "hashes", TAKE_PTR(hashes));
        if (r < 0)
                return r;
        if (up_json_add(o, "length", json_object_new_int64(length)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int repo_target_entry(const UpRepoTarget *t, const void *data, size_t len, struct json_object **ret) {
        struct json_object *hashes = NULL;
        int r;

        r = repo_hashes(data, len, &hashes);
        if (r < 0)
                return r;
        return entry_new(t, hashes, (int64_t) len, ret);
}

/* 64 lower-case hex digits: an OSTree commit checksum (sha256). */
static bool ostree_checksum_valid(const char *s) {
        if (!s || strlen(s) != 2 * 32)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

/* The entry of an OSTree commit: length 0, the commit checksum as sha256. */
static int ostree_entry(const UpRepoTarget *t, const char *commit, struct json_object **ret) {
        struct json_object *hashes = json_object_new_object();
        UpRepoTarget copy = *t;

        if (!hashes || up_json_add(hashes, "sha256", json_object_new_string(commit)) < 0) {
                json_object_put(hashes);
                return -ENOMEM;
        }
        copy.format = "OSTREE";
        return entry_new(&copy, hashes, 0, ret);
}

bool up_repo_entry_is_ostree(struct json_object *entry) {
        struct json_object *format = json_child(json_child(entry, "custom"), "targetFormat");
        int64_t length;

        return format && json_object_is_type(format, json_type_string) &&
               streq(json_object_get_string(format), "OSTREE") && up_json_get_int64(entry, "length", &length) >= 0 &&
               length == 0;
}

static int check_target(UpRepo *repo, const UpRepoTarget *t) {
        if (!up_repo_target_name_valid(t->name))
                return up_repo_fail(repo, -EINVAL,
                                    "invalid target name '%s' (components of A-Z a-z 0-9 ._~+@=,- not starting "
                                    "with '.', separated by '/')", t->name ? t->name : "");
        if (t->role && !streq(t->role, "targets") && !up_repo_role_name_valid(t->role))
                return up_repo_fail(repo, -EINVAL, "invalid role name '%s'", t->role);
        if (t->release_counter < 0)
                return up_repo_fail(repo, -EINVAL, "the release counter must not be negative");
        if (t->format && !streq(t->format, "BINARY") && !streq(t->format, "OSTREE"))
                return up_repo_fail(repo, -EINVAL, "target format '%s': must be BINARY or OSTREE", t->format);
        if (t->uri && !repo_text_valid(t->uri, SIZE_MAX))
                return up_repo_fail(repo, -EINVAL, "invalid URI");
        for (size_t i = 0; i < t->n_hardware_ids; i++)
                if (!repo_text_valid(t->hardware_ids[i], SIZE_MAX))
                        return up_repo_fail(repo, -EINVAL, "invalid hardware id '%s'", t->hardware_ids[i]);
        return 0;
}

/* --- Authorization ----------------------------------------------------------------- */

static int delegates_name(UpRepo *repo, const char *delegator, const char *role, const char *name, bool *ret) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        const UpDelegatedRole *d;
        int r;

        r = repo_staged_parse(repo, NULL, delegator, &md);
        if (r < 0)
                return r;
        d = up_targets_find_delegation(md, role);
        *ret = d && up_delegated_role_matches(d, name);
        return 0;
}

/* Whether a chain of delegations from targets, each matching name, reaches
 * role (Uptane 2.1 §5.3.1: the uploader must be authorized for the image). */
static int role_authorized(UpRepo *repo, const RoleList *l, const char *role, const char *name, unsigned depth,
                           bool *ret) {
        int r;

        *ret = streq(role, "targets");
        if (*ret || depth > MAX_DEPTH)
                return 0;
        for (size_t i = 0; i < l->n && !*ret; i++) {
                bool matches;

                r = delegates_name(repo, l->v[i].role, role, name, &matches);
                if (r < 0)
                        return r;
                if (matches) {
                        r = role_authorized(repo, l, l->v[i].role, name, depth + 1, ret);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int check_target_role(UpRepo *repo, const char *role, const char *name) {
        _cleanup_(repo_role_list_done) RoleList l = {};
        bool ok;
        int r;

        r = repo_targets_roles(repo, NULL, &l);
        if (r < 0)
                return r;
        if (!repo_role_list_find(&l, role))
                return up_repo_fail(repo, -ENOENT, "no targets role '%s' (delegate to it first)", role);
        r = role_authorized(repo, &l, role, name, 0, &ok);
        if (r < 0)
                return r;
        if (!ok)
                return up_repo_fail(repo, -EPERM, "role '%s' is not delegated the path '%s'", role, name);
        return 0;
}

/* --- Adding and removing ----------------------------------------------------------- */

/* What is added: an image (data, len) or an OSTree commit (commit). */
typedef struct Addition {
        const void *data;
        size_t len;
        const char *commit;
} Addition;

static int add_entry(UpRepo *repo, const UpRepoTarget *t, const Addition *a) {
        _cleanup_json_ struct json_object *body = NULL, *entry = NULL;
        const char *role = t && t->role ? t->role : "targets";
        struct json_object *targets;
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        if (!t)
                return -EINVAL;
        r = repo_check_image(repo, "images are assigned to vehicles with 'director assign'");
        if (r >= 0)
                r = check_target(repo, t);
        if (r >= 0)
                r = check_target_role(repo, role, t->name);
        if (r >= 0)
                r = repo_staged_targets(repo, NULL, role, &body, &targets);
        if (r >= 0 && a->commit)
                r = ostree_entry(t, a->commit, &entry);
        else if (r >= 0) {
                r = repo_target_entry(t, a->data, a->len, &entry);
                if (r >= 0)
                        r = up_repo_store_image(repo, NULL, t->name, a->data, a->len);
        }
        if (r >= 0)
                r = up_json_add(targets, t->name, TAKE_PTR(entry));
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, role, body);
}

int up_repo_add_target(UpRepo *repo, const UpRepoTarget *t, const void *data, size_t len) {
        return add_entry(repo, t, &(Addition) { .data = data, .len = len });
}

int up_repo_add_ostree_target(UpRepo *repo, const UpRepoTarget *t, const char *commit) {
        int r;

        r = repo_check_opened(repo);
        if (r < 0)
                return r;
        repo_clear_error(repo);
        if (!t)
                return -EINVAL;
        if (!ostree_checksum_valid(commit))
                return up_repo_fail(repo, -EINVAL, "invalid OSTree commit checksum '%s' (64 lower-case hex digits)",
                                    commit ? commit : "");
        if (t->format && !streq(t->format, "OSTREE"))
                return up_repo_fail(repo, -EINVAL, "an OSTree commit has the target format OSTREE, not '%s'",
                                    t->format);
        return add_entry(repo, t, &(Addition) { .commit = commit });
}

int up_repo_add_target_file(UpRepo *repo, const UpRepoTarget *t, const char *path) {
        _cleanup_free_ uint8_t *data = NULL;
        UpRepoTarget copy = *t;
        size_t len;
        int r;

        repo_clear_error(repo);
        r = repo_read_path(repo, path, &data, &len);
        if (r < 0)
                return r;
        if (!copy.name)
                copy.name = name_base(path);
        return up_repo_add_target(repo, &copy, data, len);
}

static int remove_from_role(UpRepo *repo, const char *role, const char *name, bool *found) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *targets;
        int r;

        r = up_repo_staged_read(repo, NULL, role, &body);
        if (r < 0)
                return r;
        targets = json_child(body, "targets");
        if (!json_child(targets, name))
                return 0;
        json_object_object_del(targets, name);
        *found = true;
        return up_repo_staged_write(repo, NULL, role, body);
}

int up_repo_remove_target(UpRepo *repo, const char *role, const char *name) {
        _cleanup_(repo_role_list_done) RoleList l = {};
        bool found = false;
        int r;

        r = check_image_op(repo, "use 'director clear'");
        if (r >= 0)
                r = repo_targets_roles(repo, NULL, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                if (role && !streq(role, l.v[i].role))
                        continue;
                r = remove_from_role(repo, l.v[i].role, name, &found);
                if (r < 0)
                        return r;
        }
        if (!found)
                return up_repo_fail(repo, -ENOENT, "no staged role%s%s lists '%s'", role ? " " : "", role ? role : "",
                                    name);
        return 0;
}

/* --- Looking up -------------------------------------------------------------------- */

static int entry_copy(struct json_object *e, const char *role, struct json_object **ret_entry, char **ret_role) {
        _cleanup_free_ char *rn = strdup(role);

        if (!rn || json_object_deep_copy(e, ret_entry, NULL) < 0)
                return -ENOMEM;
        if (ret_role)
                *ret_role = TAKE_PTR(rn);
        return 0;
}

/* Depth-first through the published delegations, like a client. */
static int find_published(UpRepo *repo, const char *role, const char *name, unsigned depth,
                          struct json_object **ret_entry, char **ret_role) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        _cleanup_(repo_published_done) Published p = {};
        struct json_object *e;
        int r;

        r = repo_published_read(repo, NULL, role, &p);
        if (r < 0)
                return r;
        e = json_child(json_child(p.signed_obj, "targets"), name);
        if (e)
                return entry_copy(e, role, ret_entry, ret_role);
        if (depth >= MAX_DEPTH || up_metadata_parse(p.data, p.len, UP_ROLE_TARGETS, &md) < 0)
                return -ENOENT;
        for (size_t i = 0; i < up_targets_n_delegations(md); i++) {
                const UpDelegatedRole *d = up_targets_delegation_at(md, i);

                if (!up_delegated_role_matches(d, name))
                        continue;
                r = find_published(repo, d->name, name, depth + 1, ret_entry, ret_role);
                if (r != -ENOENT || d->terminating)
                        return r;
        }
        return -ENOENT;
}

int up_repo_find_target(UpRepo *repo, const char *name, struct json_object **ret_entry, char **ret_role) {
        int r;

        r = check_image_op(repo, "look images up in an Image repository");
        if (r < 0)
                return r;
        r = find_published(repo, "targets", name, 0, ret_entry, ret_role);
        if (r == -ENOENT)
                return up_repo_fail(repo, r, "'%s' is not listed in the published metadata of '%s'", name, repo->dir);
        return r;
}

/* --- Delegating -------------------------------------------------------------------- */

static int check_delegation(UpRepo *repo, const UpRepoDelegation *d) {
        if (!up_repo_role_name_valid(d->role))
                return up_repo_fail(repo, -EINVAL,
                                    "invalid role name '%s' (A-Z a-z 0-9 ._~+@=,-, not a top-level role)",
                                    d->role ? d->role : "");
        if (d->n_paths == 0)
                return up_repo_fail(repo, -EINVAL, "%s: give at least one path pattern", d->role);
        for (size_t i = 0; i < d->n_paths; i++)
                if (!repo_text_valid(d->paths[i], SIZE_MAX))
                        return up_repo_fail(repo, -EINVAL, "%s: invalid path pattern", d->role);
        if (d->threshold > 64 || d->n_keys > 64)
                return up_repo_fail(repo, -EINVAL, "%s: at most 64 keys", d->role);
        if (d->n_keys && d->n_keys < (d->threshold ? d->threshold : 1))
                return up_repo_fail(repo, -EINVAL, "%s: fewer keys than the threshold", d->role);
        if (repo_staged_exists(repo, NULL, d->role))
                return up_repo_fail(repo, -EEXIST, "role '%s' exists already", d->role);
        return 0;
}

static int delegation_entry(const UpRepoDelegation *d, unsigned threshold, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *paths = json_object_new_array();

        if (!o || up_json_add(o, "paths", paths) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_paths; i++)
                if (up_json_append(paths, json_object_new_string(d->paths[i])) < 0)
                        return -ENOMEM;
        if (up_json_add(o, "name", json_object_new_string(d->role)) < 0 ||
            up_json_add(o, "keyids", json_object_new_array()) < 0 ||
            up_json_add(o, "threshold", json_object_new_int64(threshold)) < 0 ||
            up_json_add(o, "terminating", json_object_new_boolean(d->terminating)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* The delegator's body, listing the new role with its new keys. */
static int delegator_add(UpRepo *repo, const UpRepoDelegation *d, const char *delegator, struct json_object **ret) {
        _cleanup_json_ struct json_object *body = NULL, *entry = NULL;
        unsigned threshold = d->threshold ? d->threshold : 1;
        struct json_object *keys, *roles;
        int r;

        r = up_repo_staged_read(repo, NULL, delegator, &body);
        if (r < 0)
                return r;
        if (repo_role_type(delegator) != UP_ROLE_TARGETS)
                return up_repo_fail(repo, -EINVAL, "only targets roles delegate, not %s", delegator);
        r = repo_body_delegations(body, &keys, &roles);
        if (r < 0)
                return up_repo_fail(repo, r, "staged %s: bad delegations", delegator);
        r = delegation_entry(d, threshold, &entry);
        if (r < 0)
                return r;
        r = repo_keys_add(repo, d->role, d->n_keys ? d->n_keys : threshold, keys, json_child(entry, "keyids"));
        if (r < 0)
                return r;
        r = up_json_append(roles, TAKE_PTR(entry));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(body);
        return 0;
}

int up_repo_delegate(UpRepo *repo, const UpRepoDelegation *d) {
        _cleanup_json_ struct json_object *body = NULL;
        const char *delegator = d && d->delegator ? d->delegator : "targets";
        int r;

        r = check_image_op(repo, "the Director's targets do not delegate (Uptane 2.1 §5.1.2.1)");
        if (r < 0 || !d)
                return r < 0 ? r : -EINVAL;
        r = check_delegation(repo, d);
        if (r >= 0)
                r = delegator_add(repo, d, delegator, &body);
        if (r < 0)
                return r;
        /* The new role first: the delegator never names a role that is missing. */
        r = repo_stage_empty_targets(repo, NULL, d->role, 0);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, delegator, body);
}
