/* SPDX-License-Identifier: MIT */
/* An in-memory TUF repository for tests (see testrepo.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testrepo.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/metadata.h"

/* The tests are built without src/lib on the include path: local helpers. */
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_json_ _cleanup_(json_object_putp)
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                json_object_put(*o);
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

#define URL_PREFIX "http://repo.test/"
#define SPEC_VERSION "1.0.31"

typedef struct Published {
        uint64_t seq; /* publication order: the newest is the last published */
        int64_t version;
        uint8_t *data;
        size_t len;
} Published;

typedef struct Signer {
        UpKey *key;
        char *keyid; /* NULL: the key's own id */
} Signer;

typedef struct Role {
        char *name;
        struct json_object *signed_obj;
        Signer *signers;
        size_t n_signers;
        Published *published;
        size_t n_published;
        bool in_snapshot;
} Role;

typedef struct Artifact {
        char *path;
        char sha256[2 * 32 + 1];
        uint8_t *data;
        size_t len;
} Artifact;

typedef struct Override {
        char *rel_url;
        uint8_t *data; /* NULL: not found */
        size_t len;
} Override;

struct TestRepo {
        UpKeyScheme scheme;
        bool compute_hashes;
        Role **roles;
        size_t n_roles;
        Artifact *artifacts;
        size_t n_artifacts;
        Override *overrides;
        size_t n_overrides;
        TestRequest *requests;
        size_t n_requests;
        char *str;
};

static const char *const top_level_roles[] = { "root", "timestamp", "snapshot", "targets" };

/* --- Small helpers -------------------------------------------------------- */

static bool is_top_level(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(top_level_roles); i++)
                if (streq(name, top_level_roles[i]))
                        return true;
        return false;
}

static bool is_targets_role(const char *name) {
        return streq(name, "targets") || !is_top_level(name);
}

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int grow(void *array_ptr, size_t n, size_t elem_size) {
        void **array = array_ptr;
        void *p;

        p = realloc(*array, (n + 1) * elem_size);
        if (!p)
                return -ENOMEM;
        *array = p;
        return 0;
}

static uint8_t *memdup_nul(const void *data, size_t len) {
        uint8_t *p = malloc(len + 1);

        if (!p)
                return NULL;
        if (len > 0)
                memcpy(p, data, len);
        p[len] = 0;
        return p;
}

static int percent_encode(const char *s, char **ret) {
        static const char hex[] = "0123456789ABCDEF";
        char *out, *p;

        out = malloc(strlen(s) * 3 + 1);
        if (!out)
                return -ENOMEM;
        p = out;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    strchr("-._~", *c)) {
                        *p++ = (char) *c;
                        continue;
                }
                *p++ = '%';
                *p++ = hex[*c >> 4];
                *p++ = hex[*c & 15];
        }
        *p = '\0';
        *ret = out;
        return 0;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes %XX; anything else is copied as it is. */
static char *percent_decode(const char *s, size_t len) {
        char *out, *p;

        out = malloc(len + 1);
        if (!out)
                return NULL;
        p = out;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '%' && i + 2 < len && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
                        *p++ = (char) (hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
                        i += 2;
                        continue;
                }
                *p++ = s[i];
        }
        *p = '\0';
        return out;
}

static int sha256_hex(const void *data, size_t len, char *ret) {
        uint8_t digest[32];
        int r;

        r = up_hash_buffer(UP_HASH_SHA256, data, len, digest);
        if (r < 0)
                return r;
        up_hex_encode(digest, sizeof(digest), ret);
        return 0;
}

static int expires_string(time_t t, struct json_object **ret) {
        char buf[21];
        int r;

        r = up_format_iso8601(t, buf);
        if (r < 0)
                return r;
        *ret = json_object_new_string(buf);
        return *ret ? 0 : -ENOMEM;
}

/* o[key] = v, taking the reference to v (NULL v: out of memory). */
static int object_set(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static int array_append(struct json_object *a, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* The object o[key], created empty when missing. */
static struct json_object *object_child(struct json_object *o, const char *key, json_type type) {
        struct json_object *c;

        if (json_object_object_get_ex(o, key, &c) && json_object_is_type(c, type))
                return c;
        c = type == json_type_array ? json_object_new_array() : json_object_new_object();
        if (object_set(o, key, c) < 0)
                return NULL;
        return c;
}

static bool string_array_contains(struct json_object *a, const char *s) {
        size_t n = json_object_array_length(a);

        for (size_t i = 0; i < n; i++)
                if (streq(json_object_get_string(json_object_array_get_idx(a, i)), s))
                        return true;
        return false;
}

static void string_array_remove(struct json_object *a, const char *s) {
        for (size_t i = json_object_array_length(a); i > 0; i--)
                if (streq(json_object_get_string(json_object_array_get_idx(a, i - 1)), s))
                        (void) json_object_array_del_idx(a, i - 1, 1);
}

/* --- Roles ---------------------------------------------------------------- */

static Role *role_find(TestRepo *r, const char *name) {
        for (size_t i = 0; i < r->n_roles; i++)
                if (streq(r->roles[i]->name, name))
                        return r->roles[i];
        return NULL;
}

static void published_done(Published *p) {
        free(p->data);
}

static void signer_done(Signer *s) {
        up_key_unref(s->key);
        free(s->keyid);
}

static Role *role_free(Role *role) {
        if (!role)
                return NULL;
        for (size_t i = 0; i < role->n_signers; i++)
                signer_done(&role->signers[i]);
        for (size_t i = 0; i < role->n_published; i++)
                published_done(&role->published[i]);
        free(role->signers);
        free(role->published);
        json_object_put(role->signed_obj);
        free(role->name);
        free(role);
        return NULL;
}

static int signed_common(const char *type, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *expires = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        r = expires_string(TESTREPO_NOW + TESTREPO_EXPIRES_DAYS * TESTREPO_DAY, &expires);
        if (r < 0)
                return r;
        if (object_set(o, "_type", json_object_new_string(type)) < 0 ||
            object_set(o, "spec_version", json_object_new_string(SPEC_VERSION)) < 0 ||
            object_set(o, "version", json_object_new_int64(1)) < 0 || object_set(o, "expires", expires) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int signed_root(struct json_object *o) {
        struct json_object *roles;

        if (object_set(o, "consistent_snapshot", json_object_new_boolean(true)) < 0 ||
            object_set(o, "keys", json_object_new_object()) < 0)
                return -ENOMEM;
        roles = object_child(o, "roles", json_type_object);
        if (!roles)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(top_level_roles); i++) {
                struct json_object *entry = json_object_new_object();

                if (object_set(roles, top_level_roles[i], entry) < 0 ||
                    object_set(entry, "keyids", json_object_new_array()) < 0 ||
                    object_set(entry, "threshold", json_object_new_int64(1)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int signed_initial(const char *name, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        const char *type = is_targets_role(name) ? "targets" : name;
        int r;

        r = signed_common(type, &o);
        if (r < 0)
                return r;
        if (streq(name, "root"))
                r = signed_root(o);
        else if (streq(name, "timestamp") || streq(name, "snapshot"))
                r = object_child(o, "meta", json_type_object) ? 0 : -ENOMEM;
        else
                r = object_child(o, "targets", json_type_object) ? 0 : -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int role_add(TestRepo *r, const char *name, Role **ret) {
        Role *role;
        int k;

        k = grow(&r->roles, r->n_roles, sizeof(Role *));
        if (k < 0)
                return k;
        role = calloc(1, sizeof(Role));
        if (!role)
                return -ENOMEM;
        role->in_snapshot = true;
        role->name = strdup(name);
        k = role->name ? signed_initial(name, &role->signed_obj) : -ENOMEM;
        if (k < 0) {
                role_free(role);
                return k;
        }
        r->roles[r->n_roles++] = role;
        if (ret)
                *ret = role;
        return 0;
}

static int64_t signed_version(struct json_object *signed_obj) {
        struct json_object *v;

        if (!json_object_object_get_ex(signed_obj, "version", &v))
                return -1;
        return json_object_get_int64(v);
}

static const Published *role_newest(const Role *role) {
        const Published *best = NULL;

        for (size_t i = 0; i < role->n_published; i++)
                if (!best || role->published[i].seq > best->seq)
                        best = &role->published[i];
        return best;
}

static const Published *role_published_version(const Role *role, int64_t version) {
        if (version < 0)
                return role_newest(role);
        for (size_t i = 0; i < role->n_published; i++)
                if (role->published[i].version == version)
                        return &role->published[i];
        return NULL;
}

struct json_object *testrepo_signed(TestRepo *r, const char *role) {
        Role *ro = role_find(r, role);

        return ro ? ro->signed_obj : NULL;
}

int64_t testrepo_version(TestRepo *r, const char *role) {
        Role *ro = role_find(r, role);

        return ro ? signed_version(ro->signed_obj) : -ENOENT;
}

int testrepo_set_version(TestRepo *r, const char *role, int64_t version) {
        Role *ro = role_find(r, role);

        if (!ro)
                return -ENOENT;
        return object_set(ro->signed_obj, "version", json_object_new_int64(version));
}

int testrepo_set_expires(TestRepo *r, const char *role, time_t expires) {
        struct json_object *s = NULL;
        Role *ro = role_find(r, role);
        int k;

        if (!ro)
                return -ENOENT;
        k = expires_string(expires, &s);
        if (k < 0)
                return k;
        return object_set(ro->signed_obj, "expires", s);
}

static bool repo_consistent_snapshot(TestRepo *r) {
        struct json_object *cs;

        return json_object_object_get_ex(testrepo_signed(r, "root"), "consistent_snapshot", &cs) &&
               json_object_get_boolean(cs);
}

int testrepo_set_consistent_snapshot(TestRepo *r, bool on) {
        return object_set(testrepo_signed(r, "root"), "consistent_snapshot", json_object_new_boolean(on));
}

void testrepo_set_compute_metafile_hashes_length(TestRepo *r, bool on) {
        r->compute_hashes = on;
}

UpKeyScheme testrepo_scheme(const TestRepo *r) {
        return r->scheme;
}

/* --- Signing and publishing ----------------------------------------------- */

static int signature_entry(const char *keyid, const UpKey *key, const char *canonical, size_t len,
                           struct json_object **ret) {
        _cleanup_free_ uint8_t *sig = NULL;
        _cleanup_free_ char *hex = NULL;
        _cleanup_json_ struct json_object *o = NULL;
        size_t sig_len;
        int r;

        r = up_key_sign(key, canonical, len, &sig, &sig_len);
        if (r < 0)
                return r;
        hex = malloc(2 * sig_len + 1);
        o = json_object_new_object();
        if (!hex || !o)
                return -ENOMEM;
        up_hex_encode(sig, sig_len, hex);
        if (object_set(o, "keyid", json_object_new_string(keyid)) < 0 ||
            object_set(o, "sig", json_object_new_string(hex)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* Adds the signatures of the signers that carry their own key id label. */
static int add_labelled_signatures(const Role *role, struct json_object *doc) {
        _cleanup_free_ char *canonical = NULL;
        struct json_object *sigs;
        size_t len;
        int r;

        r = up_cjson_encode(role->signed_obj, &canonical, &len);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(doc, "signatures", &sigs))
                return -EBADMSG;
        for (size_t i = 0; i < role->n_signers; i++) {
                struct json_object *entry = NULL;

                if (!role->signers[i].keyid)
                        continue;
                r = signature_entry(role->signers[i].keyid, role->signers[i].key, canonical, len, &entry);
                if (r < 0)
                        return r;
                r = array_append(sigs, entry);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int role_sign(const Role *role, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ UpKey **keys = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ struct json_object *doc = NULL;
        size_t n = 0, len;
        bool labelled = false;
        const char *s;
        int r;

        keys = calloc(role->n_signers + 1, sizeof(UpKey *));
        if (!keys)
                return -ENOMEM;
        for (size_t i = 0; i < role->n_signers; i++) {
                if (role->signers[i].keyid)
                        labelled = true;
                else
                        keys[n++] = role->signers[i].key;
        }
        r = up_metadata_sign(role->signed_obj, keys, n, false, &text, &len);
        if (r < 0)
                return r;
        if (!labelled) {
                *ret = (uint8_t *) TAKE_PTR(text);
                *ret_len = len;
                return 0;
        }
        r = up_json_parse(text, len, &UP_JSON_LIMITS_DEFAULT, &doc);
        if (r < 0)
                return r;
        r = add_labelled_signatures(role, doc);
        if (r < 0)
                return r;
        s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret_len = strlen(s);
        *ret = memdup_nul(s, *ret_len);
        return *ret ? 0 : -ENOMEM;
}

static int role_store(Role *role, int64_t version, uint8_t *data, size_t len) {
        static uint64_t seq = 0;
        int r;

        for (size_t i = 0; i < role->n_published; i++)
                if (role->published[i].version == version) {
                        free(role->published[i].data);
                        role->published[i] = (Published) { .seq = ++seq, .version = version, .data = data, .len = len };
                        return 0;
                }
        r = grow(&role->published, role->n_published, sizeof(Published));
        if (r < 0)
                return r;
        role->published[role->n_published++] =
                (Published) { .seq = ++seq, .version = version, .data = data, .len = len };
        return 0;
}

static int role_publish(Role *role, bool bump) {
        uint8_t *data = NULL;
        int64_t version = signed_version(role->signed_obj);
        size_t len;
        int r;

        if (bump && role->n_published > 0) {
                version++;
                r = object_set(role->signed_obj, "version", json_object_new_int64(version));
                if (r < 0)
                        return r;
        }
        r = role_sign(role, &data, &len);
        if (r < 0)
                return r;
        r = role_store(role, version, data, len);
        if (r < 0)
                free(data);
        return r;
}

int testrepo_publish(TestRepo *r, const char *role) {
        Role *ro = role_find(r, role);

        return ro ? role_publish(ro, true) : -ENOENT;
}

int testrepo_publish_no_bump(TestRepo *r, const char *role) {
        Role *ro = role_find(r, role);

        return ro ? role_publish(ro, false) : -ENOENT;
}

int testrepo_sign_current(TestRepo *r, const char *role, uint8_t **ret, size_t *ret_len) {
        Role *ro = role_find(r, role);

        return ro ? role_sign(ro, ret, ret_len) : -ENOENT;
}

int testrepo_published(TestRepo *r, const char *role, int64_t version, const uint8_t **ret, size_t *ret_len) {
        const Published *p;
        Role *ro = role_find(r, role);

        if (!ro)
                return -ENOENT;
        p = role_published_version(ro, version);
        if (!p)
                return -ENOENT;
        *ret = p->data;
        *ret_len = p->len;
        return 0;
}

/* A meta entry for the newest published version of role. */
static int metafile_entry(TestRepo *r, const Role *role, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        const Published *p = role_newest(role);
        struct json_object *hashes;
        char hex[65];
        int k;

        if (!o)
                return -ENOMEM;
        if (!p)
                return -ENOENT;
        if (object_set(o, "version", json_object_new_int64(p->version)) < 0)
                return -ENOMEM;
        if (r->compute_hashes) {
                k = sha256_hex(p->data, p->len, hex);
                if (k < 0)
                        return k;
                hashes = json_object_new_object();
                if (object_set(o, "length", json_object_new_int64((int64_t) p->len)) < 0 ||
                    object_set(o, "hashes", hashes) < 0 || object_set(hashes, "sha256", json_object_new_string(hex)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

int testrepo_update_timestamp(TestRepo *r) {
        struct json_object *meta, *entry = NULL;
        Role *ts = role_find(r, "timestamp");
        int k;

        k = metafile_entry(r, role_find(r, "snapshot"), &entry);
        if (k < 0)
                return k;
        meta = json_object_new_object();
        if (object_set(meta, "snapshot.json", entry) < 0) {
                json_object_put(meta);
                return -ENOMEM;
        }
        k = object_set(ts->signed_obj, "meta", meta);
        if (k < 0)
                return k;
        return role_publish(ts, true);
}

static int snapshot_meta_build(TestRepo *r, struct json_object **ret) {
        _cleanup_json_ struct json_object *meta = json_object_new_object();
        int k;

        if (!meta)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_roles; i++) {
                const Role *role = r->roles[i];
                _cleanup_free_ char *key = NULL;
                struct json_object *entry = NULL;

                if (!is_targets_role(role->name) || !role->in_snapshot || role->n_published == 0)
                        continue;
                if (asprintf(&key, "%s.json", role->name) < 0)
                        return -ENOMEM;
                k = metafile_entry(r, role, &entry);
                if (k < 0)
                        return k;
                k = object_set(meta, key, entry);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(meta);
        return 0;
}

int testrepo_update_snapshot(TestRepo *r) {
        struct json_object *meta = NULL;
        Role *snap = role_find(r, "snapshot");
        int k;

        k = snapshot_meta_build(r, &meta);
        if (k < 0)
                return k;
        k = object_set(snap->signed_obj, "meta", meta);
        if (k < 0)
                return k;
        k = role_publish(snap, true);
        if (k < 0)
                return k;
        return testrepo_update_timestamp(r);
}

int testrepo_set_in_snapshot(TestRepo *r, const char *role, bool listed) {
        Role *ro = role_find(r, role);

        if (!ro)
                return -ENOENT;
        ro->in_snapshot = listed;
        return 0;
}

/* --- Key listings ---------------------------------------------------------- */

/* Where a delegator lists the keys of a role: its key dictionary and the
 * role's entry (keyids, threshold). */
typedef struct Listing {
        struct json_object *keys;
        struct json_object *entry;
        struct json_object *all_entries; /* to see whether a key is still used */
} Listing;

typedef int (*listing_fn)(const Listing *l, void *userdata);

static int for_each_top_level_listing(TestRepo *r, const char *role, listing_fn fn, void *userdata) {
        struct json_object *root = testrepo_signed(r, "root"), *keys, *roles, *entry;

        if (!json_object_object_get_ex(root, "keys", &keys) || !json_object_object_get_ex(root, "roles", &roles) ||
            !json_object_object_get_ex(roles, role, &entry))
                return -ENOENT;
        return fn(&(Listing) { .keys = keys, .entry = entry, .all_entries = roles }, userdata);
}

static int for_each_delegation_listing(TestRepo *r, const char *role, listing_fn fn, void *userdata) {
        int k, n = 0;

        for (size_t i = 0; i < r->n_roles; i++) {
                struct json_object *delegations, *keys, *roles;
                size_t n_entries;

                if (!is_targets_role(r->roles[i]->name) ||
                    !json_object_object_get_ex(r->roles[i]->signed_obj, "delegations", &delegations) ||
                    !json_object_object_get_ex(delegations, "keys", &keys) ||
                    !json_object_object_get_ex(delegations, "roles", &roles))
                        continue;
                n_entries = json_object_array_length(roles);
                for (size_t j = 0; j < n_entries; j++) {
                        struct json_object *entry = json_object_array_get_idx(roles, j), *name;

                        if (!json_object_object_get_ex(entry, "name", &name) ||
                            !streq(json_object_get_string(name), role))
                                continue;
                        k = fn(&(Listing) { .keys = keys, .entry = entry, .all_entries = roles }, userdata);
                        if (k < 0)
                                return k;
                        n++;
                }
        }
        return n > 0 ? 0 : -ENOENT;
}

static int for_each_listing(TestRepo *r, const char *role, listing_fn fn, void *userdata) {
        if (is_top_level(role))
                return for_each_top_level_listing(r, role, fn, userdata);
        return for_each_delegation_listing(r, role, fn, userdata);
}

typedef struct ListKey {
        const char *keyid;
        struct json_object *key_obj;
} ListKey;

static int listing_add_key(const Listing *l, void *userdata) {
        const ListKey *lk = userdata;
        struct json_object *keyids;
        int r;

        r = object_set(l->keys, lk->keyid, json_object_get(lk->key_obj));
        if (r < 0)
                return r;
        keyids = object_child(l->entry, "keyids", json_type_array);
        if (!keyids)
                return -ENOMEM;
        if (string_array_contains(keyids, lk->keyid))
                return 0;
        return array_append(keyids, json_object_new_string(lk->keyid));
}

static bool entry_uses_key(struct json_object *entry, const char *keyid) {
        struct json_object *keyids;

        return json_object_object_get_ex(entry, "keyids", &keyids) && json_object_is_type(keyids, json_type_array) &&
               string_array_contains(keyids, keyid);
}

static bool listing_key_used(const Listing *l, const char *keyid) {
        if (json_object_is_type(l->all_entries, json_type_array)) {
                size_t n = json_object_array_length(l->all_entries);

                for (size_t i = 0; i < n; i++)
                        if (entry_uses_key(json_object_array_get_idx(l->all_entries, i), keyid))
                                return true;
                return false;
        }
        json_object_object_foreach(l->all_entries, name, entry) {
                (void) name;
                if (entry_uses_key(entry, keyid))
                        return true;
        }
        return false;
}

static int listing_remove_key(const Listing *l, void *userdata) {
        const char *keyid = userdata;
        struct json_object *keyids;

        if (json_object_object_get_ex(l->entry, "keyids", &keyids))
                string_array_remove(keyids, keyid);
        if (!listing_key_used(l, keyid))
                json_object_object_del(l->keys, keyid);
        return 0;
}

static int listing_remove_all_keys(const Listing *l, void *userdata) {
        struct json_object *keyids;
        (void) userdata;

        if (!json_object_object_get_ex(l->entry, "keyids", &keyids))
                return 0;
        while (json_object_array_length(keyids) > 0) {
                _cleanup_free_ char *keyid = strdup(json_object_get_string(json_object_array_get_idx(keyids, 0)));
                int k;

                if (!keyid)
                        return -ENOMEM;
                k = listing_remove_key(l, keyid);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int listing_set_threshold(const Listing *l, void *userdata) {
        return object_set(l->entry, "threshold", json_object_new_int64(*(const int64_t *) userdata));
}

static int listing_get_threshold(const Listing *l, void *userdata) {
        struct json_object *t;

        if (json_object_object_get_ex(l->entry, "threshold", &t))
                *(int64_t *) userdata = json_object_get_int64(t);
        return 0;
}

int testrepo_list_key_as(TestRepo *r, const char *role, const char *keyid, struct json_object *key_obj) {
        return for_each_listing(r, role, listing_add_key, &(ListKey) { .keyid = keyid, .key_obj = key_obj });
}

static int list_key(TestRepo *r, const char *role, const UpKey *key) {
        _cleanup_json_ struct json_object *key_obj = up_key_to_json(key);
        char keyid[65];
        int k;

        if (!key_obj)
                return -ENOMEM;
        k = up_key_keyid(key, keyid);
        if (k < 0)
                return k;
        return testrepo_list_key_as(r, role, keyid, key_obj);
}

int testrepo_add_signer(TestRepo *r, const char *role, UpKey *key, const char *keyid) {
        Role *ro = role_find(r, role);
        char *label = NULL;
        int k;

        if (!ro)
                return -ENOENT;
        if (keyid) {
                label = strdup(keyid);
                if (!label)
                        return -ENOMEM;
        }
        k = grow(&ro->signers, ro->n_signers, sizeof(Signer));
        if (k < 0) {
                free(label);
                return k;
        }
        ro->signers[ro->n_signers++] = (Signer) { .key = up_key_ref(key), .keyid = label };
        return 0;
}

int testrepo_remove_signer(TestRepo *r, const char *role, const UpKey *key) {
        Role *ro = role_find(r, role);
        char keyid[65], other[65];
        size_t j = 0;
        int k;

        if (!ro)
                return -ENOENT;
        k = up_key_keyid(key, keyid);
        if (k < 0)
                return k;
        for (size_t i = 0; i < ro->n_signers; i++) {
                if (up_key_keyid(ro->signers[i].key, other) >= 0 && streq(keyid, other)) {
                        signer_done(&ro->signers[i]);
                        continue;
                }
                ro->signers[j++] = ro->signers[i];
        }
        ro->n_signers = j;
        return 0;
}

void testrepo_clear_signers(TestRepo *r, const char *role) {
        Role *ro = role_find(r, role);

        if (!ro)
                return;
        for (size_t i = 0; i < ro->n_signers; i++)
                signer_done(&ro->signers[i]);
        ro->n_signers = 0;
}

size_t testrepo_n_signers(TestRepo *r, const char *role) {
        Role *ro = role_find(r, role);

        return ro ? ro->n_signers : 0;
}

UpKey *testrepo_signer(TestRepo *r, const char *role, size_t i) {
        Role *ro = role_find(r, role);

        return ro && i < ro->n_signers ? ro->signers[i].key : NULL;
}

int testrepo_add_existing_key(TestRepo *r, const char *role, UpKey *key) {
        int k;

        k = list_key(r, role, key);
        if (k < 0)
                return k;
        return testrepo_add_signer(r, role, key, NULL);
}

int testrepo_add_key(TestRepo *r, const char *role, UpKey **ret) {
        UpKey *key = NULL;
        int k;

        k = up_key_generate(r->scheme, &key);
        if (k < 0)
                return k;
        k = testrepo_add_existing_key(r, role, key);
        up_key_unref(key); /* the signer holds a reference */
        if (k < 0)
                return k;
        if (ret)
                *ret = key;
        return 0;
}

int testrepo_remove_key(TestRepo *r, const char *role, const UpKey *key) {
        char keyid[65];
        int k;

        k = up_key_keyid(key, keyid);
        if (k < 0)
                return k;
        k = for_each_listing(r, role, listing_remove_key, keyid);
        if (k < 0)
                return k;
        return testrepo_remove_signer(r, role, key);
}

int testrepo_set_threshold(TestRepo *r, const char *role, int64_t threshold) {
        return for_each_listing(r, role, listing_set_threshold, &threshold);
}

int testrepo_rotate_keys(TestRepo *r, const char *role) {
        int64_t threshold = 1;
        int k;

        k = for_each_listing(r, role, listing_get_threshold, &threshold);
        if (k < 0)
                return k;
        k = for_each_listing(r, role, listing_remove_all_keys, NULL);
        if (k < 0)
                return k;
        testrepo_clear_signers(r, role);
        for (int64_t i = 0; i < threshold; i++) {
                k = testrepo_add_key(r, role, NULL);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* --- Targets and delegations ---------------------------------------------- */

static int target_entry(int64_t length, const char *sha256, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *hashes = json_object_new_object();

        if (!o || !hashes) {
                json_object_put(hashes);
                return -ENOMEM;
        }
        if (object_set(o, "length", json_object_new_int64(length)) < 0 || object_set(o, "hashes", hashes) < 0 ||
            object_set(hashes, "sha256", json_object_new_string(sha256)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

int testrepo_add_target_info(TestRepo *r, const char *role, const char *path, int64_t length,
                             const char *sha256_hex) {
        struct json_object *targets, *entry = NULL;
        Role *ro = role_find(r, role);
        int k;

        if (!ro || !is_targets_role(role))
                return -ENOENT;
        targets = object_child(ro->signed_obj, "targets", json_type_object);
        if (!targets)
                return -ENOMEM;
        k = target_entry(length, sha256_hex, &entry);
        if (k < 0)
                return k;
        return object_set(targets, path, entry);
}

int testrepo_add_target(TestRepo *r, const char *role, const char *path, const void *data, size_t len) {
        Artifact a = {};
        int k;

        k = sha256_hex(data, len, a.sha256);
        if (k < 0)
                return k;
        k = testrepo_add_target_info(r, role, path, (int64_t) len, a.sha256);
        if (k < 0)
                return k;
        k = grow(&r->artifacts, r->n_artifacts, sizeof(Artifact));
        if (k < 0)
                return k;
        a.path = strdup(path);
        a.data = memdup_nul(data, len);
        a.len = len;
        if (!a.path || !a.data) {
                free(a.path);
                free(a.data);
                return -ENOMEM;
        }
        r->artifacts[r->n_artifacts++] = a;
        return 0;
}

static int delegation_entry(const char *name, bool terminating, int64_t threshold, const char *field,
                            const char *const *strv, size_t n, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *list = json_object_new_array();

        if (!o || !list) {
                json_object_put(list);
                return -ENOMEM;
        }
        if (object_set(o, "name", json_object_new_string(name)) < 0 ||
            object_set(o, "keyids", json_object_new_array()) < 0 ||
            object_set(o, "threshold", json_object_new_int64(threshold)) < 0 ||
            object_set(o, "terminating", json_object_new_boolean(terminating)) < 0 || object_set(o, field, list) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (array_append(list, json_object_new_string(strv[i])) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* Lists the current signers of an existing role in a new delegation entry. */
static int list_existing_signers(TestRepo *r, Role *role) {
        for (size_t i = 0; i < role->n_signers; i++) {
                int k;

                if (role->signers[i].keyid)
                        continue;
                k = list_key(r, role->name, role->signers[i].key);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int add_delegation(TestRepo *r, const char *delegator, const char *name, bool terminating,
                          int64_t threshold, const char *field, const char *const *strv, size_t n) {
        struct json_object *delegations, *roles, *entry = NULL;
        Role *d = role_find(r, delegator), *role = role_find(r, name);
        int k;

        if (!d || !is_targets_role(delegator))
                return -ENOENT;
        delegations = object_child(d->signed_obj, "delegations", json_type_object);
        if (!delegations || !object_child(delegations, "keys", json_type_object))
                return -ENOMEM;
        roles = object_child(delegations, "roles", json_type_array);
        if (!roles)
                return -ENOMEM;
        k = delegation_entry(name, terminating, threshold, field, strv, n, &entry);
        if (k < 0)
                return k;
        k = array_append(roles, entry);
        if (k < 0)
                return k;
        if (role)
                return list_existing_signers(r, role);
        k = role_add(r, name, NULL);
        if (k < 0)
                return k;
        for (int64_t i = 0; i < threshold; i++) {
                k = testrepo_add_key(r, name, NULL);
                if (k < 0)
                        return k;
        }
        return 0;
}

int testrepo_add_delegation_strv(TestRepo *r, const char *delegator, const char *name, bool terminating,
                                 int64_t threshold, const char *const *paths, size_t n_paths) {
        return add_delegation(r, delegator, name, terminating, threshold, "paths", paths, n_paths);
}

int testrepo_add_delegation_hash_prefixes(TestRepo *r, const char *delegator, const char *name, bool terminating,
                                          int64_t threshold, const char *const *prefixes, size_t n_prefixes) {
        return add_delegation(r, delegator, name, terminating, threshold, "path_hash_prefixes", prefixes,
                              n_prefixes);
}

int testrepo_add_delegation(TestRepo *r, const char *delegator, const char *name, bool terminating,
                            int64_t threshold, ...) {
        const char *paths[64];
        size_t n = 0;
        va_list ap;

        va_start(ap, threshold);
        for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
                if (n == ELEMENTSOF(paths)) {
                        va_end(ap);
                        return -E2BIG;
                }
                paths[n++] = p;
        }
        va_end(ap);
        return testrepo_add_delegation_strv(r, delegator, name, terminating, threshold, paths, n);
}

/* --- Life cycle ----------------------------------------------------------- */

int testrepo_new(UpKeyScheme scheme, TestRepo **ret) {
        TestRepo *r;
        int k;

        r = calloc(1, sizeof(TestRepo));
        if (!r)
                return -ENOMEM;
        r->scheme = scheme;
        for (size_t i = 0; i < ELEMENTSOF(top_level_roles); i++) {
                k = role_add(r, top_level_roles[i], NULL);
                if (k < 0)
                        goto fail;
        }
        for (size_t i = 0; i < ELEMENTSOF(top_level_roles); i++) {
                k = testrepo_add_key(r, top_level_roles[i], NULL);
                if (k < 0)
                        goto fail;
        }
        k = testrepo_publish(r, "targets");
        if (k >= 0)
                k = testrepo_update_snapshot(r);
        if (k >= 0)
                k = testrepo_publish(r, "root");
        if (k < 0)
                goto fail;
        *ret = r;
        return 0;
fail:
        testrepo_free(r);
        return k;
}

static const char *const fixed_keys[TESTREPO_N_FIXED_KEYS] = {
        "MC4CAQAwBQYDK2VwBCIEIENrSlhJG4WECHzyF/AHTCGcsYRZnx9mU8gB5MgI6Wcc",
        "MC4CAQAwBQYDK2VwBCIEIFYYM2PTfLo9hpC7RZu6lHc7Gv3ujgKllss1eygWsDMI",
        "MC4CAQAwBQYDK2VwBCIEIMp7T7kGNkE4Sl5jAnrkLcywLEGg7BNhfLf1DY9CGg4E",
        "MC4CAQAwBQYDK2VwBCIEIEhzpJHbBEGrMD8/m8PgkTpZjTn0u/owuYCWTt6g7JV7",
        "MC4CAQAwBQYDK2VwBCIEINgwsC1vI3Pia841CJkh/gDow5YtcA4nINFZmD0e5D1i",
};

/* up_key_load_private() reads files only: go through a temp file. */
int testrepo_fixed_key(size_t i, UpKey **ret) {
        char path[] = "/tmp/testrepo-key-XXXXXX";
        FILE *f;
        int fd, k;

        if (i >= TESTREPO_N_FIXED_KEYS)
                return -EINVAL;
        fd = mkstemp(path);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                k = -errno;
                close(fd);
                unlink(path);
                return k;
        }
        fprintf(f, "scheme: ed25519\n-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n", fixed_keys[i]);
        k = fclose(f) == 0 ? up_key_load_private(path, ret) : -EIO;
        unlink(path);
        return k;
}

static int use_fixed_key(TestRepo *r, const char *role, size_t i) {
        UpKey *key = NULL;
        int k;

        k = testrepo_remove_key(r, role, testrepo_signer(r, role, 0));
        if (k >= 0)
                k = testrepo_fixed_key(i, &key);
        if (k >= 0)
                k = testrepo_add_existing_key(r, role, key);
        up_key_unref(key);
        if (k >= 0)
                k = testrepo_set_expires(r, role, TESTREPO_FIXED_EXPIRES);
        return k;
}

int testrepo_new_fixed(TestRepo **ret) {
        TestRepo *r = NULL;
        int k;

        k = testrepo_new(UP_SCHEME_ED25519, &r);
        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(top_level_roles); i++)
                k = use_fixed_key(r, top_level_roles[i], i);
        /* Version 1 of everything again, now with the fixed keys. */
        if (k >= 0)
                k = testrepo_publish_no_bump(r, "targets");
        if (k >= 0)
                k = testrepo_set_version(r, "snapshot", 0);
        if (k >= 0)
                k = testrepo_set_version(r, "timestamp", 0);
        if (k >= 0)
                k = testrepo_update_snapshot(r);
        if (k >= 0)
                k = testrepo_publish_no_bump(r, "root");
        if (k < 0) {
                testrepo_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

void testrepo_clear_requests(TestRepo *r) {
        for (size_t i = 0; i < r->n_requests; i++) {
                free(r->requests[i].role);
                free(r->requests[i].url);
        }
        free(r->requests);
        r->requests = NULL;
        r->n_requests = 0;
}

void testrepo_clear_overrides(TestRepo *r) {
        for (size_t i = 0; i < r->n_overrides; i++) {
                free(r->overrides[i].rel_url);
                free(r->overrides[i].data);
        }
        free(r->overrides);
        r->overrides = NULL;
        r->n_overrides = 0;
}

TestRepo *testrepo_free(TestRepo *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_roles; i++)
                role_free(r->roles[i]);
        for (size_t i = 0; i < r->n_artifacts; i++) {
                free(r->artifacts[i].path);
                free(r->artifacts[i].data);
        }
        testrepo_clear_requests(r);
        testrepo_clear_overrides(r);
        free(r->artifacts);
        free(r->roles);
        free(r->str);
        free(r);
        return NULL;
}

/* --- Serving -------------------------------------------------------------- */

UpFetcher testrepo_fetcher(TestRepo *r) {
        return (UpFetcher) { .fetch = testrepo_fetch, .userdata = r };
}

int testrepo_override(TestRepo *r, const char *rel_url, const void *data, size_t len) {
        Override o = {};
        int k;

        for (size_t i = 0; i < r->n_overrides; i++)
                if (streq(r->overrides[i].rel_url, rel_url)) {
                        uint8_t *copy = data ? memdup_nul(data, len) : NULL;

                        if (data && !copy)
                                return -ENOMEM;
                        free(r->overrides[i].data);
                        r->overrides[i].data = copy;
                        r->overrides[i].len = len;
                        return 0;
                }
        k = grow(&r->overrides, r->n_overrides, sizeof(Override));
        if (k < 0)
                return k;
        o.rel_url = strdup(rel_url);
        o.data = data ? memdup_nul(data, len) : NULL;
        o.len = len;
        if (!o.rel_url || (data && !o.data)) {
                free(o.rel_url);
                free(o.data);
                return -ENOMEM;
        }
        r->overrides[r->n_overrides++] = o;
        return 0;
}

static const Override *override_find(const TestRepo *r, const char *rel_url) {
        for (size_t i = 0; i < r->n_overrides; i++)
                if (streq(r->overrides[i].rel_url, rel_url))
                        return &r->overrides[i];
        return NULL;
}

/* Splits a metadata file name "N.<encoded role>.json" or "<encoded role>.json". */
static int parse_metadata_name(const char *name, char **ret_role, int64_t *ret_version) {
        size_t len = strlen(name), digits = 0;
        int64_t version = -1;

        if (len > 5 && streq(name + len - 5, ".json"))
                len -= 5;
        while (digits < len && name[digits] >= '0' && name[digits] <= '9')
                digits++;
        if (digits > 0 && digits < 19 && digits < len && name[digits] == '.') {
                version = strtoll(name, NULL, 10);
                name += digits + 1;
                len -= digits + 1;
        }
        *ret_role = percent_decode(name, len);
        if (!*ret_role)
                return -ENOMEM;
        *ret_version = version;
        return 0;
}

static int log_request(TestRepo *r, const char *url, const char *rel) {
        TestRequest req = { .version = -1 };
        int k;

        k = grow(&r->requests, r->n_requests, sizeof(TestRequest));
        if (k < 0)
                return k;
        if (startswith(rel, "metadata/"))
                k = parse_metadata_name(rel + strlen("metadata/"), &req.role, &req.version);
        else {
                req.artifact = true;
                req.role = strdup(startswith(rel, "targets/") ? rel + strlen("targets/") : rel);
                k = req.role ? 0 : -ENOMEM;
        }
        req.url = strdup(url);
        if (k < 0 || !req.url) {
                free(req.role);
                free(req.url);
                return -ENOMEM;
        }
        r->requests[r->n_requests++] = req;
        return 0;
}

static int serve_metadata(TestRepo *r, const char *name, const uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *role_name = NULL;
        const Published *p;
        int64_t version;
        Role *role;
        int k;

        k = parse_metadata_name(name, &role_name, &version);
        if (k < 0)
                return k;
        role = role_find(r, role_name);
        if (!role)
                return -ENOENT;
        if (version >= 0 && (streq(role_name, "timestamp") ||
                             (!streq(role_name, "root") && !repo_consistent_snapshot(r))))
                return -ENOENT;
        p = role_published_version(role, version);
        if (!p)
                return -ENOENT;
        *ret = p->data;
        *ret_len = p->len;
        return 0;
}

/* "dir/HASH.base" -> is it artifact a? */
static bool artifact_hashed_name_is(const Artifact *a, const char *rel) {
        const char *slash = strrchr(a->path, '/');
        size_t dir_len = slash ? (size_t) (slash - a->path) + 1 : 0;
        const char *base = a->path + dir_len;

        if (strncmp(rel, a->path, dir_len) != 0)
                return false;
        rel += dir_len;
        if (strncmp(rel, a->sha256, 64) != 0 || rel[64] != '.')
                return false;
        return streq(rel + 65, base);
}

static int serve_artifact(TestRepo *r, const char *rel, const uint8_t **ret, size_t *ret_len) {
        bool consistent = repo_consistent_snapshot(r);

        for (size_t i = r->n_artifacts; i > 0; i--) {
                const Artifact *a = &r->artifacts[i - 1];

                if (consistent ? !artifact_hashed_name_is(a, rel) : !streq(a->path, rel))
                        continue;
                *ret = a->data;
                *ret_len = a->len;
                return 0;
        }
        return -ENOENT;
}

int testrepo_artifact_url(TestRepo *r, const char *path, char **ret) {
        const char *slash = strrchr(path, '/');
        int dir_len = slash ? (int) (slash - path) + 1 : 0;

        for (size_t i = r->n_artifacts; i > 0; i--) {
                const Artifact *a = &r->artifacts[i - 1];
                int k;

                if (!streq(a->path, path))
                        continue;
                if (repo_consistent_snapshot(r))
                        k = asprintf(ret, "targets/%.*s%s.%s", dir_len, path, a->sha256, path + dir_len);
                else
                        k = asprintf(ret, "targets/%s", path);
                return k < 0 ? -ENOMEM : 0;
        }
        return -ENOENT;
}

static int serve(TestRepo *r, const char *rel, const uint8_t **ret, size_t *ret_len) {
        const Override *o = override_find(r, rel);

        if (o) {
                if (!o->data)
                        return -ENOENT;
                *ret = o->data;
                *ret_len = o->len;
                return 0;
        }
        if (startswith(rel, "metadata/"))
                return serve_metadata(r, rel + strlen("metadata/"), ret, ret_len);
        if (startswith(rel, "targets/"))
                return serve_artifact(r, rel + strlen("targets/"), ret, ret_len);
        return -ENOENT;
}

int testrepo_fetch(void *userdata, const char *url, size_t max_len, uint8_t **ret, size_t *ret_len) {
        TestRepo *r = userdata;
        const uint8_t *data;
        const char *rel;
        size_t len;
        int k;

        rel = startswith(url, URL_PREFIX) ? url + strlen(URL_PREFIX) : url;
        k = log_request(r, url, rel);
        if (k < 0)
                return k;
        if (rel == url)
                return -ENOENT;
        k = serve(r, rel, &data, &len);
        if (k < 0)
                return k;
        if (len > max_len)
                return -EFBIG;
        *ret = memdup_nul(data, len);
        if (!*ret)
                return -ENOMEM;
        *ret_len = len;
        return 0;
}

size_t testrepo_n_requests(const TestRepo *r) {
        return r->n_requests;
}

const TestRequest *testrepo_request(const TestRepo *r, size_t i) {
        return i < r->n_requests ? &r->requests[i] : NULL;
}

size_t testrepo_n_artifact_requests(const TestRepo *r) {
        size_t n = 0;

        for (size_t i = 0; i < r->n_requests; i++)
                n += r->requests[i].artifact;
        return n;
}

bool testrepo_was_requested(const TestRepo *r, const char *rel_url) {
        for (size_t i = 0; i < r->n_requests; i++) {
                const char *url = r->requests[i].url;

                if (startswith(url, URL_PREFIX) && streq(url + strlen(URL_PREFIX), rel_url))
                        return true;
        }
        return false;
}

/* Collects text into r->str. */
static const char *requests_format(TestRepo *r, bool artifacts) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return NULL;
        for (size_t i = 0, n = 0; i < r->n_requests; i++) {
                const TestRequest *req = &r->requests[i];

                if (req->artifact != artifacts)
                        continue;
                if (artifacts)
                        fprintf(f, "%s%s", n++ ? " " : "", req->role);
                else
                        fprintf(f, "%s%s:%" PRId64, n++ ? " " : "", req->role, req->version);
        }
        if (fclose(f) != 0)
                return NULL;
        free(r->str);
        r->str = buf;
        return r->str;
}

const char *testrepo_requests_str(TestRepo *r) {
        return requests_format(r, false);
}

const char *testrepo_artifact_requests_str(TestRepo *r) {
        return requests_format(r, true);
}

/* --- Files ---------------------------------------------------------------- */

int testrepo_mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int testrepo_write_file(const char *dir, const char *rel_path, const void *data, size_t len) {
        _cleanup_free_ char *path = NULL;
        const char *slash;
        FILE *f;
        int k;

        if (asprintf(&path, "%s/%s", dir, rel_path) < 0)
                return -ENOMEM;
        slash = strrchr(path, '/');
        if (slash > path + strlen(dir)) {
                _cleanup_free_ char *parent = strndup(path, (size_t) (slash - path));

                if (!parent)
                        return -ENOMEM;
                k = testrepo_mkdir_p(parent);
                if (k < 0)
                        return k;
        }
        f = fopen(path, "we");
        if (!f)
                return -errno;
        if (len > 0 && fwrite(data, 1, len, f) != len) {
                fclose(f);
                return -EIO;
        }
        return fclose(f) == 0 ? 0 : -errno;
}

int testrepo_write_root(TestRepo *r, const char *dir, int64_t version) {
        const uint8_t *data;
        size_t len;
        int k;

        k = testrepo_published(r, "root", version, &data, &len);
        if (k < 0)
                return k;
        return testrepo_write_file(dir, "root.json", data, len);
}

static int write_role(const Role *role, const char *metadata_dir) {
        _cleanup_free_ char *encoded = NULL;
        const Published *newest = role_newest(role);
        bool versioned = !streq(role->name, "timestamp");
        int k;

        if (!newest)
                return 0;
        k = percent_encode(role->name, &encoded);
        if (k < 0)
                return k;
        for (size_t i = 0; versioned && i < role->n_published; i++) {
                const Published *p = &role->published[i];
                _cleanup_free_ char *name = NULL;

                if (asprintf(&name, "%" PRId64 ".%s.json", p->version, encoded) < 0)
                        return -ENOMEM;
                k = testrepo_write_file(metadata_dir, name, p->data, p->len);
                if (k < 0)
                        return k;
        }
        {
                _cleanup_free_ char *name = NULL;

                if (asprintf(&name, "%s.json", encoded) < 0)
                        return -ENOMEM;
                return testrepo_write_file(metadata_dir, name, newest->data, newest->len);
        }
}

static int write_artifact(const Artifact *a, const char *targets_dir) {
        _cleanup_free_ char *hashed = NULL;
        const char *slash = strrchr(a->path, '/');
        int dir_len = slash ? (int) (slash - a->path) + 1 : 0;
        int k;

        if (asprintf(&hashed, "%.*s%s.%s", dir_len, a->path, a->sha256, a->path + dir_len) < 0)
                return -ENOMEM;
        k = testrepo_write_file(targets_dir, hashed, a->data, a->len);
        if (k < 0)
                return k;
        return testrepo_write_file(targets_dir, a->path, a->data, a->len);
}

int testrepo_write_dir(TestRepo *r, const char *outdir) {
        _cleanup_free_ char *metadata_dir = NULL, *targets_dir = NULL;
        const uint8_t *data;
        size_t len;
        int k;

        if (asprintf(&metadata_dir, "%s/metadata", outdir) < 0 || asprintf(&targets_dir, "%s/targets", outdir) < 0)
                return -ENOMEM;
        k = testrepo_mkdir_p(metadata_dir);
        if (k >= 0)
                k = testrepo_mkdir_p(targets_dir);
        if (k < 0)
                return k;
        for (size_t i = 0; i < r->n_roles; i++) {
                k = write_role(r->roles[i], metadata_dir);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < r->n_artifacts; i++) {
                k = write_artifact(&r->artifacts[i], targets_dir);
                if (k < 0)
                        return k;
        }
        k = testrepo_published(r, "root", 1, &data, &len);
        if (k < 0)
                return k;
        return testrepo_write_file(outdir, "initial_root.json", data, len);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path) < 0 ? -1 : 0;
}

int testrepo_rm_rf(const char *path) {
        if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return errno == ENOENT ? 0 : -errno;
        return 0;
}

static int read_whole_file(const char *path, char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t size = 0;
        char chunk[65536];
        FILE *in, *out;
        size_t n;

        in = fopen(path, "re");
        if (!in)
                return -errno;
        out = open_memstream(&buf, &size);
        if (!out) {
                fclose(in);
                return -ENOMEM;
        }
        while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
                fwrite(chunk, 1, n, out);
        fclose(in);
        if (fclose(out) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = size;
        return 0;
}

/* --- Clients -------------------------------------------------------------- */

int testclient_new(TestRepo *repo, time_t now, TestClient **ret) {
        _cleanup_(freep) TestClient *c = calloc(1, sizeof(TestClient));
        _cleanup_free_ char *template = NULL;
        const char *tmp = getenv("TMPDIR");
        int k;

        if (!c || asprintf(&template, "%s/testrepo-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp") < 0)
                return -ENOMEM;
        if (!mkdtemp(template))
                return -errno;
        c->repo = repo;
        c->dir = strdup(template);
        if (!c->dir || asprintf(&c->metadata_dir, "%s/metadata", template) < 0 ||
            asprintf(&c->target_dir, "%s/targets", template) < 0) {
                testclient_free(TAKE_PTR(c));
                return -ENOMEM;
        }
        k = testrepo_mkdir_p(c->metadata_dir);
        if (k >= 0)
                k = testrepo_mkdir_p(c->target_dir);
        if (k >= 0)
                k = testrepo_write_root(repo, c->metadata_dir, 1);
        if (k < 0) {
                testclient_free(TAKE_PTR(c));
                return k;
        }
        c->config = (UpUpdaterConfig) {
                .metadata_dir = c->metadata_dir,
                .metadata_url = TESTREPO_METADATA_URL,
                .target_dir = c->target_dir,
                .target_base_url = TESTREPO_TARGETS_URL,
                .now = now,
                .fetcher = testrepo_fetcher(repo),
        };
        *ret = TAKE_PTR(c);
        return up_updater_new(&(*ret)->config, &(*ret)->updater);
}

int testclient_restart(TestClient *c) {
        c->updater = up_updater_free(c->updater);
        return up_updater_new(&c->config, &c->updater);
}

int testclient_refresh(TestClient *c) {
        int k;

        k = testclient_restart(c);
        if (k < 0)
                return k;
        return up_updater_refresh(c->updater);
}

TestClient *testclient_free(TestClient *c) {
        if (!c)
                return NULL;
        up_updater_free(c->updater);
        if (c->dir)
                (void) testrepo_rm_rf(c->dir);
        free(c->dir);
        free(c->metadata_dir);
        free(c->target_dir);
        free(c);
        return NULL;
}

static int64_t file_version(const char *path) {
        _cleanup_free_ char *data = NULL;
        _cleanup_json_ struct json_object *doc = NULL;
        struct json_object *signed_obj, *version;
        size_t len;

        if (read_whole_file(path, &data, &len) < 0)
                return -ENOENT;
        doc = json_tokener_parse(data);
        if (!doc || !json_object_object_get_ex(doc, "signed", &signed_obj) ||
            !json_object_object_get_ex(signed_obj, "version", &version))
                return -1;
        return json_object_get_int64(version);
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void free_strv(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static int list_json_files(const char *dir, char ***ret, size_t *ret_n) {
        char **names = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);

                if (len < 5 || !streq(de->d_name + len - 5, ".json"))
                        continue;
                if (grow(&names, n, sizeof(char *)) < 0 || !(names[n] = strdup(de->d_name))) {
                        closedir(d);
                        free_strv(names, n);
                        return -ENOMEM;
                }
                n++;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(char *), cmp_strp);
        *ret = names;
        *ret_n = n;
        return 0;
}

const char *testclient_trusted_str(TestClient *c) {
        char **names = NULL, *buf = NULL;
        size_t n = 0, size = 0;
        FILE *f;

        if (list_json_files(c->metadata_dir, &names, &n) < 0)
                return NULL;
        f = open_memstream(&buf, &size);
        if (!f) {
                free_strv(names, n);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                int64_t v = -1;

                if (asprintf(&path, "%s/%s", c->metadata_dir, names[i]) >= 0)
                        v = file_version(path);
                fprintf(f, "%s%.*s:%" PRId64, i ? " " : "", (int) (strlen(names[i]) - 5), names[i], v);
        }
        free_strv(names, n);
        if (fclose(f) != 0)
                return NULL;
        free(c->repo->str);
        c->repo->str = buf;
        return buf;
}

static int role_file_path(TestClient *c, const char *role, char **ret) {
        _cleanup_free_ char *encoded = NULL;
        int k;

        k = percent_encode(role, &encoded);
        if (k < 0)
                return k;
        return asprintf(ret, "%s/%s.json", c->metadata_dir, encoded) < 0 ? -ENOMEM : 0;
}

int64_t testclient_file_version(TestClient *c, const char *role) {
        _cleanup_free_ char *path = NULL;

        if (role_file_path(c, role, &path) < 0)
                return -ENOMEM;
        return file_version(path);
}

bool testclient_file_equals(TestClient *c, const char *role, const void *data, size_t len) {
        _cleanup_free_ char *path = NULL, *content = NULL;
        size_t content_len;

        if (role_file_path(c, role, &path) < 0 || read_whole_file(path, &content, &content_len) < 0)
                return false;
        return content_len == len && memcmp(content, data, len) == 0;
}

bool testclient_file_is(TestClient *c, const char *role, int64_t version) {
        const uint8_t *data;
        size_t len;

        if (testrepo_published(c->repo, role, version, &data, &len) < 0)
                return false;
        return testclient_file_equals(c, role, data, len);
}

static size_t walk_prefix_len;
static size_t walk_n;
static char **walk_names;

static int collect_file(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (flag != FTW_F)
                return 0;
        if (grow(&walk_names, walk_n, sizeof(char *)) < 0)
                return -1;
        walk_names[walk_n] = strdup(path + walk_prefix_len);
        if (!walk_names[walk_n])
                return -1;
        walk_n++;
        return 0;
}

const char *testclient_target_files_str(TestClient *c) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = NULL;

        /* nftw() has no user data: the walk collects into file-scope state. */
        walk_names = NULL;
        walk_n = 0;
        walk_prefix_len = strlen(c->target_dir) + 1;
        if (nftw(c->target_dir, collect_file, 16, FTW_PHYS) >= 0)
                f = open_memstream(&buf, &size);
        if (f) {
                if (walk_n > 0)
                        qsort(walk_names, walk_n, sizeof(char *), cmp_strp);
                for (size_t i = 0; i < walk_n; i++)
                        fprintf(f, "%s%s", i ? " " : "", walk_names[i]);
                if (fclose(f) != 0)
                        buf = NULL;
        }
        free_strv(walk_names, walk_n);
        walk_names = NULL;
        if (!buf)
                return NULL;
        free(c->repo->str);
        c->repo->str = buf;
        return buf;
}

int testclient_read_target(TestClient *c, const char *rel_path, char **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", c->target_dir, rel_path) < 0)
                return -ENOMEM;
        return read_whole_file(path, ret, ret_len);
}
