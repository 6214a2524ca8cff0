/* SPDX-License-Identifier: MIT */
/*
 * An Uptane repository on disk (layout in uptane/repository.h): keys, the
 * staged (unsigned) state of each role, publishing, key rotation and
 * revocation, and the staging of the demo's attacks.
 *
 * Every command works on files: read the staged state, change it, write it
 * back atomically. Publishing compares the staged state with what is
 * published, so that only roles that changed get a new version; everything
 * signed is parsed and verified again with libuptane before it is written,
 * so the tool never publishes what a client would refuse (except when an
 * attack asks for exactly that).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "uptane/director.h"
#include "uptane/error.h"
#include "uptane/hash.h"
#include "uptane/json.h"
#include "uptane/repository.h"
#include "uptane/storage.h"
#include "util.h"

#define CONFIG_FILE "config.json"
#define KEYMAP_FILE "roles.json"
#define BACKUP_DIR "attack-backup"
#define SAVED_TIMESTAMPS "saved-timestamps"
#define MAX_JSON_FILE (64u * 1024u * 1024u)
#define MAX_DEPTH 32

struct UpRepo {
        char *dir;
        char *error;
        bool opened;
        UpRepoKind kind;
        UpKeyScheme scheme;
        int64_t expires[_UP_ROLE_MAX];
};

static const char *const kind_names[_UP_REPO_KIND_MAX] = {
        [UP_REPO_IMAGE] = "image",
        [UP_REPO_DIRECTOR] = "director",
};

static const int64_t default_expires[_UP_ROLE_MAX] = {
        [UP_ROLE_ROOT] = UP_REPO_DEFAULT_EXPIRES_ROOT,
        [UP_ROLE_TIMESTAMP] = UP_REPO_DEFAULT_EXPIRES_TIMESTAMP,
        [UP_ROLE_SNAPSHOT] = UP_REPO_DEFAULT_EXPIRES_SNAPSHOT,
        [UP_ROLE_TARGETS] = UP_REPO_DEFAULT_EXPIRES_TARGETS,
};

const char *up_repo_kind_name(UpRepoKind k) {
        return k >= 0 && k < _UP_REPO_KIND_MAX ? kind_names[k] : NULL;
}

/* --- Errors and small helpers --------------------------------------------- */

int up_repo_fail(UpRepo *repo, int err, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(repo->error);
        repo->error = s;
        return err;
}

const char *up_repo_error(const UpRepo *repo) {
        return repo->error ? repo->error : "";
}

static void clear_error(UpRepo *repo) {
        free(repo->error);
        repo->error = NULL;
}

/* For a failed system call: what failed, on which path, and errno's text. */
static int fail_errno(UpRepo *repo, const char *what, const char *path) {
        int r = negative_errno();

        return up_repo_fail(repo, r, "%s '%s': %s", what, path, up_strerror(r));
}

static int pathf(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pathf(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static UpRoleType role_type(const char *role) {
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (streq(role, up_role_type_name(t)))
                        return t;
        return UP_ROLE_TARGETS; /* a delegated targets role */
}

static bool is_top_level(const char *role) {
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (streq(role, up_role_type_name(t)))
                        return true;
        return false;
}

static int json_set(struct json_object *o, const char *key, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int json_append(struct json_object *a, struct json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static struct json_object *json_child(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* json-c asserts on the type: files people may edit get these. */
static size_t array_len(struct json_object *a) {
        return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static struct json_object *as_object(struct json_object *o) {
        return json_object_is_type(o, json_type_object) ? o : NULL;
}

static bool strv_json_contains(struct json_object *a, const char *s) {
        size_t n = array_len(a);

        for (size_t i = 0; i < n; i++)
                if (streq(json_object_get_string(json_object_array_get_idx(a, i)), s))
                        return true;
        return false;
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

int up_repo_new(const char *dir, UpRepo **ret) {
        UpRepo *repo;

        if (!dir || !*dir || !ret)
                return -EINVAL;
        repo = calloc(1, sizeof(UpRepo));
        if (!repo)
                return -ENOMEM;
        repo->dir = strdup(dir);
        if (!repo->dir) {
                free(repo);
                return -ENOMEM;
        }
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                repo->expires[t] = default_expires[t];
        *ret = repo;
        return 0;
}

UpRepo *up_repo_free(UpRepo *repo) {
        if (!repo)
                return NULL;
        free(repo->dir);
        free(repo->error);
        free(repo);
        return NULL;
}

const char *up_repo_dir(const UpRepo *repo) {
        return repo->dir;
}

UpRepoKind up_repo_kind(const UpRepo *repo) {
        return repo->kind;
}

UpKeyScheme up_repo_scheme(const UpRepo *repo) {
        return repo->scheme;
}

int64_t up_repo_expires(const UpRepo *repo, UpRoleType role) {
        return role >= 0 && role < _UP_ROLE_MAX ? repo->expires[role] : -EINVAL;
}

/* --- Names ------------------------------------------------------------------ */

static bool name_char_valid(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("._~+@=,-", c));
}

/* A file name we create: no '.' first (no "..", no hidden or temp files). */
static bool component_valid(const char *s, size_t n) {
        if (n == 0 || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!name_char_valid(s[i]))
                        return false;
        return true;
}

bool up_repo_target_name_valid(const char *name) {
        const char *p = name;

        if (!name || strlen(name) > 1024)
                return false;
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);

                if (!component_valid(p, n))
                        return false;
                if (!slash)
                        return true;
                p = slash + 1;
        }
}

bool up_repo_role_name_valid(const char *name) {
        return name && strlen(name) <= 255 && component_valid(name, strlen(name)) && !is_top_level(name);
}

bool up_repo_vin_valid(const char *vin) {
        return vin && strlen(vin) <= 64 && component_valid(vin, strlen(vin));
}

/* --- Files ------------------------------------------------------------------ */

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static bool file_exists(const char *path) {
        return access(path, F_OK) == 0;
}

/* DIR/sub, or DIR/vehicles/VIN/sub for a Director's vehicle. */
static int set_path(UpRepo *repo, const char *vin, const char *sub, char **ret) {
        if (vin && !up_repo_vin_valid(vin))
                return up_repo_fail(repo, -EINVAL, "invalid VIN '%s'", vin);
        if (vin && repo->kind != UP_REPO_DIRECTOR)
                return up_repo_fail(repo, -EINVAL, "'%s' is an Image repository: it has no vehicles", repo->dir);
        if (vin)
                return pathf(ret, "%s/vehicles/%s/%s", repo->dir, vin, sub);
        return pathf(ret, "%s/%s", repo->dir, sub);
}

static int read_file(UpRepo *repo, const char *dir, const char *name, size_t max, uint8_t **ret, size_t *ret_len) {
        int r;

        r = up_read_file_at(dir, name, max, ret, ret_len);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s/%s': %s", dir, name, up_strerror(r));
        return 0;
}

static int read_json(UpRepo *repo, const char *dir, const char *name, struct json_object **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = read_file(repo, dir, name, MAX_JSON_FILE, &data, &len);
        if (r < 0)
                return r;
        r = up_json_parse(data, len, &UP_JSON_LIMITS_DEFAULT, ret);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s/%s' is not valid JSON: %s", dir, name, up_strerror(r));
        return 0;
}

static int write_file(UpRepo *repo, const char *dir, const char *name, const void *data, size_t len, mode_t mode) {
        int r;

        r = up_write_file_atomic(dir, name, data, len, mode);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot write '%s/%s': %s", dir, name, up_strerror(r));
        return 0;
}

/* Pretty JSON for the files people read (config, staged state, key map). */
static int write_json(UpRepo *repo, const char *dir, const char *name, struct json_object *o, mode_t mode) {
        _cleanup_free_ char *text = NULL;
        const char *s;

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(&text, "%s\n", s) < 0)
                return -ENOMEM;
        return write_file(repo, dir, name, text, strlen(text), mode);
}

/* "N.<role>.json" (version > 0) or "<role>.json", role percent-encoded. */
static int role_file_name(const char *role, int64_t version, char **ret) {
        _cleanup_free_ char *enc = NULL;
        int r;

        r = up_percent_encode(role, &enc);
        if (r < 0)
                return r;
        if (version > 0)
                return pathf(ret, "%lld.%s.json", (long long) version, enc);
        return pathf(ret, "%s.json", enc);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

/* The names in dir, sorted, without "." and ".."; -ENOENT when dir is missing. */
static int list_dir(const char *dir, char ***ret, size_t *ret_n) {
        char **v = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        d = opendir(dir);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                char **nv;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                nv = realloc(v, (n + 2) * sizeof(char *));
                if (!nv || !(nv[n] = strdup(de->d_name))) {
                        closedir(d);
                        strv_free(nv ? nv : v, n);
                        return -ENOMEM;
                }
                v = nv;
                v[++n] = NULL;
        }
        closedir(d);
        if (n > 0)
                qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
}

static int rm_rf(const char *path) {
        char **names = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 ? negative_errno() : 0;
        r = list_dir(path, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *p = NULL;

                r = pathf(&p, "%s/%s", path, names[i]);
                if (r >= 0)
                        r = rm_rf(p);
        }
        strv_free(names, n);
        if (r < 0)
                return r;
        return rmdir(path) < 0 ? negative_errno() : 0;
}

/* Copies a file atomically, with the given mode. */
static int copy_file(UpRepo *repo, const char *src, const char *dst_dir, const char *dst_name, mode_t mode) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = up_read_file(src, SIZE_MAX - 1, &data, &len);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s': %s", src, up_strerror(r));
        return write_file(repo, dst_dir, dst_name, data, len, mode);
}

/* --- Configuration ------------------------------------------------------------ */

static int config_write(UpRepo *repo) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *expires = json_object_new_object();

        if (!o || json_set(o, "expires", expires) < 0)
                return -ENOMEM;
        if (json_set(o, "layout", json_object_new_int(1)) < 0 ||
            json_set(o, "kind", json_object_new_string(kind_names[repo->kind])) < 0 ||
            json_set(o, "scheme", json_object_new_string(up_key_scheme_name(repo->scheme))) < 0)
                return -ENOMEM;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (json_set(expires, up_role_type_name(t), json_object_new_int64(repo->expires[t])) < 0)
                        return -ENOMEM;
        return write_json(repo, repo->dir, CONFIG_FILE, o, 0644);
}

static int config_parse(UpRepo *repo, struct json_object *o) {
        struct json_object *expires;
        const char *kind, *scheme;
        int s;

        if (up_json_get_string(o, "kind", &kind) < 0 || up_json_get_string(o, "scheme", &scheme) < 0 ||
            up_json_get_object(o, "expires", &expires) < 0)
                return -EBADMSG;
        if (streq(kind, "image"))
                repo->kind = UP_REPO_IMAGE;
        else if (streq(kind, "director"))
                repo->kind = UP_REPO_DIRECTOR;
        else
                return -EBADMSG;
        s = up_key_scheme_from_name(scheme);
        if (s < 0)
                return s;
        repo->scheme = s;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++) {
                int64_t v;

                if (up_json_get_int64(expires, up_role_type_name(t), &v) >= 0 && v > 0)
                        repo->expires[t] = v;
        }
        return 0;
}

int up_repo_open(UpRepo *repo) {
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        clear_error(repo);
        r = read_json(repo, repo->dir, CONFIG_FILE, &o);
        if (r == -ENOENT)
                return up_repo_fail(repo, r, "'%s' is not a repository: no %s (run init first)", repo->dir,
                                    CONFIG_FILE);
        if (r < 0)
                return r;
        r = config_parse(repo, o);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s/%s': %s", repo->dir, CONFIG_FILE, up_strerror(r));
        repo->opened = true;
        return 0;
}

int up_repo_load(const char *dir, UpRepo **ret, char **ret_error) {
        _cleanup_(up_repo_freep) UpRepo *repo = NULL;
        int r;

        r = up_repo_new(dir, &repo);
        if (r < 0)
                return r;
        r = up_repo_open(repo);
        if (r < 0) {
                if (ret_error)
                        *ret_error = strdup(up_repo_error(repo));
                return r;
        }
        *ret = TAKE_PTR(repo);
        return 0;
}

int up_repo_set_expires(UpRepo *repo, UpRoleType role, int64_t seconds) {
        clear_error(repo);
        if (role < 0 || role >= _UP_ROLE_MAX || seconds <= 0)
                return up_repo_fail(repo, -EINVAL, "invalid role or duration");
        repo->expires[role] = seconds;
        return config_write(repo);
}

/* --- Keys ------------------------------------------------------------------- */

static int keys_dir(UpRepo *repo, char **ret) {
        return pathf(ret, "%s/keys", repo->dir);
}

/* keys/roles.json: {"roles": {role: [keyid...]}, "retired": {keyid: role}}. */
static int keymap_read(UpRepo *repo, struct json_object **ret) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_json_ struct json_object *m = NULL;
        int r;

        r = keys_dir(repo, &dir);
        if (r < 0)
                return r;
        r = read_json(repo, dir, KEYMAP_FILE, &m);
        if (r == -ENOENT)
                m = json_object_new_object();
        else if (r < 0)
                return r;
        if (!m || !json_object_is_type(m, json_type_object))
                return up_repo_fail(repo, -EBADMSG, "'%s/%s' is not a JSON object", dir, KEYMAP_FILE);
        if ((!json_child(m, "roles") && json_set(m, "roles", json_object_new_object()) < 0) ||
            (!json_child(m, "retired") && json_set(m, "retired", json_object_new_object()) < 0))
                return -ENOMEM;
        if (!as_object(json_child(m, "roles")) || !as_object(json_child(m, "retired")))
                return up_repo_fail(repo, -EBADMSG, "'%s/%s': roles and retired must be objects", dir, KEYMAP_FILE);
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

        r = keymap_read(repo, &m);
        if (r < 0)
                return r;
        retired = json_child(m, "retired");
        old = json_child(json_child(m, "roles"), role);
        for (size_t i = 0; i < array_len(old); i++) {
                const char *id = json_object_get_string(json_object_array_get_idx(old, i));

                if (!strv_json_contains(keyids, id) && json_set(retired, id, json_object_new_string(role)) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < json_object_array_length(keyids); i++)
                json_object_object_del(retired, json_object_get_string(json_object_array_get_idx(keyids, i)));
        r = json_set(json_child(m, "roles"), role, json_object_get(keyids));
        if (r < 0)
                return r;
        r = keys_dir(repo, &dir);
        if (r < 0)
                return r;
        return write_json(repo, dir, KEYMAP_FILE, m, 0600);
}

/* Generates n keys, saves their private parts and lists them in keys (a key
 * dictionary) and keyids (an array). */
static int generate_keys(UpRepo *repo, unsigned n, struct json_object *keys, struct json_object *keyids) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = keys_dir(repo, &dir);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n; i++) {
                _cleanup_(up_key_unrefp) UpKey *k = NULL;
                _cleanup_free_ char *path = NULL;
                char id[65];

                r = up_key_generate(repo->scheme, &k);
                if (r < 0)
                        return up_repo_fail(repo, r, "cannot generate a %s key: %s",
                                            up_key_scheme_name(repo->scheme), up_strerror(r));
                r = up_key_keyid(k, id);
                if (r < 0)
                        return r;
                r = pathf(&path, "%s/%s.key", dir, id);
                if (r < 0)
                        return r;
                r = up_key_save_private(k, path);
                if (r < 0)
                        return up_repo_fail(repo, r, "cannot write '%s': %s", path, up_strerror(r));
                if (json_set(keys, id, up_key_to_json(k)) < 0 || json_append(keyids, json_object_new_string(id)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

typedef struct Signers {
        UpKey **keys;
        size_t n;
} Signers;

static void signers_done(Signers *s) {
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

/* Adds the private key of keyid when keys/ holds it (a threshold may be met
 * without every key, so a missing one is no error here). */
static int signers_add(UpRepo *repo, Signers *s, const char *keyid) {
        _cleanup_free_ char *path = NULL;
        UpKey **nk, *k = NULL;
        int r;

        if (signers_have(s, keyid))
                return 0;
        if (!component_valid(keyid, strlen(keyid)))
                return 0; /* not a key id we could have written */
        r = pathf(&path, "%s/keys/%s.key", repo->dir, keyid);
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

static int signers_add_role(UpRepo *repo, Signers *s, const UpRoleKeys *keys) {
        int r;

        for (size_t i = 0; keys && i < keys->n_keyids; i++) {
                r = signers_add(repo, s, keys->keyids[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The retired keys of role that keys/ still holds. */
static int signers_add_retired(UpRepo *repo, Signers *s, const char *role) {
        _cleanup_json_ struct json_object *m = NULL;
        int r;

        r = keymap_read(repo, &m);
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

/* --- Staged state ------------------------------------------------------------ */

static int signed_common(const char *type, time_t expires, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *e = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        r = expires_string(expires, &e);
        if (r < 0)
                return r;
        if (json_set(o, "_type", json_object_new_string(type)) < 0 ||
            json_set(o, "spec_version", json_object_new_string(UP_REPO_SPEC_VERSION)) < 0 ||
            json_set(o, "version", json_object_new_int64(1)) < 0 || json_set(o, "expires", e) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* A new, empty role body of the given type. */
static int body_new(UpRepo *repo, UpRoleType type, time_t now, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        const char *member = type == UP_ROLE_TARGETS ? "targets" : "meta";
        int r;

        r = signed_common(up_role_type_name(type), now + repo->expires[type], &o);
        if (r < 0)
                return r;
        if (type != UP_ROLE_ROOT && json_set(o, member, json_object_new_object()) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int staged_location(UpRepo *repo, const char *vin, const char *role, char **ret_dir, char **ret_name) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r;

        /* Every vehicle shares the Director's root. */
        r = set_path(repo, streq(role, "root") ? NULL : vin, "staged", &dir);
        if (r < 0)
                return r;
        r = role_file_name(role, 0, &name);
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
        r = read_json(repo, dir, name, &o);
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
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", dir, up_strerror(r));
        return write_json(repo, dir, name, body, 0644);
}

static bool staged_exists(UpRepo *repo, const char *vin, const char *role) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL;

        if (staged_location(repo, vin, role, &dir, &name) < 0 || pathf(&path, "%s/%s", dir, name) < 0)
                return false;
        return file_exists(path);
}

/* Checks a body with libuptane's own parser, wrapped as unsigned metadata. */
static int body_parse(UpRepo *repo, const char *role, struct json_object *body, UpMetadata **ret) {
        _cleanup_json_ struct json_object *doc = json_object_new_object();
        const char *s;
        int r;

        if (!doc || json_set(doc, "signatures", json_object_new_array()) < 0 ||
            json_set(doc, "signed", json_object_get(body)) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        r = up_metadata_parse(s, strlen(s), role_type(role), ret);
        if (r < 0)
                return up_repo_fail(repo, r, "staged %s is not valid %s metadata: %s", role,
                                    up_role_type_name(role_type(role)), up_strerror(r));
        return 0;
}

/* The targets roles of a set, each with its (first) delegator, in
 * breadth-first order from "targets". */
typedef struct RoleRef {
        char *role;
        char *delegator;
} RoleRef;

typedef struct RoleList {
        RoleRef *v;
        size_t n;
} RoleList;

static void role_list_done(RoleList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].role);
                free(l->v[i].delegator);
        }
        free(l->v);
        *l = (RoleList) {};
}

static const RoleRef *role_list_find(const RoleList *l, const char *role) {
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
        size_t n = json_object_is_type(roles, json_type_array) ? json_object_array_length(roles) : 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                const char *name = json_object_get_string(json_child(json_object_array_get_idx(roles, i), "name"));

                if (!name || role_list_find(l, name))
                        continue;
                if (l->n >= UP_MAX_DELEGATIONS)
                        return up_repo_fail(repo, -E2BIG, "more than %d delegated roles", UP_MAX_DELEGATIONS);
                r = role_list_add(l, name, role);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int collect_targets_roles(UpRepo *repo, const char *vin, RoleList *ret) {
        _cleanup_(role_list_done) RoleList l = {};
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

/* How a role is delegated: by whom, with which keys and threshold. */
typedef struct Delegation {
        UpMetadata *delegator;
        const UpKeyring *ring;
        const UpRoleKeys *keys;
} Delegation;

static void delegation_done(Delegation *d) {
        if (d->delegator)
                up_metadata_unref(d->delegator);
        *d = (Delegation) {};
}

static int delegation_from_root(UpMetadata *root, UpRoleType type, Delegation *ret) {
        *ret = (Delegation) {
                .delegator = up_metadata_ref(root),
                .ring = up_root_keyring(root),
                .keys = up_root_role(root, type),
        };
        return 0;
}

/* The staged delegation of role by delegator ("root" for top-level roles). */
static int delegation_get(UpRepo *repo, const char *vin, const char *role, const char *delegator, Delegation *ret) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        _cleanup_json_ struct json_object *body = NULL;
        const UpDelegatedRole *dr;
        int r;

        r = up_repo_staged_read(repo, vin, delegator, &body);
        if (r < 0)
                return r;
        r = body_parse(repo, delegator, body, &md);
        if (r < 0)
                return r;
        if (streq(delegator, "root"))
                return delegation_from_root(md, role_type(role), ret);
        dr = up_targets_find_delegation(md, role);
        if (!dr)
                return up_repo_fail(repo, -ENOENT, "%s does not delegate to %s", delegator, role);
        ret->ring = up_targets_delegation_keyring(md);
        ret->keys = &dr->keys;
        ret->delegator = TAKE_PTR(md);
        return 0;
}

/* --- Publishing --------------------------------------------------------------- */

/* A published role: the bytes of its unversioned copy, parsed as JSON. */
typedef struct Published {
        uint8_t *data;
        size_t len;
        struct json_object *doc;
        struct json_object *signed_obj; /* borrowed from doc */
        int64_t version;
} Published;

static void published_done(Published *p) {
        free(p->data);
        if (p->doc)
                json_object_put(p->doc);
        *p = (Published) {};
}

static int metadata_dir(UpRepo *repo, const char *vin, const char *role, char **ret) {
        return set_path(repo, role && streq(role, "root") ? NULL : vin, "metadata", ret);
}

/* -ENOENT (and no error text) when role was never published. */
static int published_read(UpRepo *repo, const char *vin, const char *role, Published *ret) {
        _cleanup_(published_done) Published p = {};
        _cleanup_free_ char *dir = NULL, *name = NULL;
        int r;

        r = metadata_dir(repo, vin, role, &dir);
        if (r < 0)
                return r;
        r = role_file_name(role, 0, &name);
        if (r < 0)
                return r;
        r = up_read_file_at(dir, name, MAX_JSON_FILE, &p.data, &p.len);
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

static int hashes_object(const void *data, size_t len, struct json_object **ret) {
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
                if (json_set(o, up_hash_alg_name(algs[i]), json_object_new_string(hex)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
}

static int cmp_key(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A copy with the members of every object in byte order of their names. */
static int sorted_copy(struct json_object *o, struct json_object **ret) {
        _cleanup_json_ struct json_object *copy = NULL;
        _cleanup_free_ char **keys = NULL;
        size_t n = 0;
        int r;

        if (json_object_is_type(o, json_type_array)) {
                copy = json_object_new_array();
                for (size_t i = 0; copy && i < json_object_array_length(o); i++) {
                        struct json_object *c = NULL;

                        r = sorted_copy(json_object_array_get_idx(o, i), &c);
                        if (r < 0 || (r = json_append(copy, c)) < 0)
                                return r;
                }
        } else if (json_object_is_type(o, json_type_object)) {
                copy = json_object_new_object();
                keys = calloc((size_t) json_object_object_length(o) + 1, sizeof(char *));
                if (!keys)
                        return -ENOMEM;
                json_object_object_foreach(o, k, v) {
                        (void) v;
                        keys[n++] = k;
                }
                qsort(keys, n, sizeof(char *), cmp_key);
                for (size_t i = 0; copy && i < n; i++) {
                        struct json_object *c = NULL;

                        r = sorted_copy(json_child(o, keys[i]), &c);
                        if (r < 0 || (r = json_set(copy, keys[i], c)) < 0)
                                return r;
                }
        } else
                copy = json_object_get(o);
        if (!copy && o)
                return -ENOMEM;
        *ret = TAKE_PTR(copy);
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

static int role_needs_publish(const RoleJob *j, const Published *p, bool *ret) {
        bool differ;
        int r;

        if (j->force || !p->data) {
                *ret = true;
                return 0;
        }
        r = bodies_differ(j->body, p->signed_obj, &differ);
        if (r < 0)
                return r;
        /* Same content, but signed by keys the role no longer has: re-sign. */
        *ret = differ || verify_bytes(p->data, p->len, role_type(j->role), j->delegation) < 0;
        return 0;
}

static int write_role(UpRepo *repo, const char *vin, const char *role, int64_t version, const char *data,
                      size_t len) {
        _cleanup_free_ char *dir = NULL, *versioned = NULL, *plain = NULL;
        int r;

        r = metadata_dir(repo, vin, role, &dir);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", dir, up_strerror(r));
        if (role_file_name(role, version, &versioned) < 0 || role_file_name(role, 0, &plain) < 0)
                return -ENOMEM;
        /* The timestamp is the one file clients fetch without a version. */
        if (!streq(role, "timestamp")) {
                r = write_file(repo, dir, versioned, data, len, 0644);
                if (r < 0)
                        return r;
        }
        return write_file(repo, dir, plain, data, len, 0644);
}

static int check_signed(UpRepo *repo, const RoleJob *j, const char *data, size_t len) {
        UpRoleType t = role_type(j->role);
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

static int body_set_version(struct json_object *body, int64_t version, time_t expires) {
        struct json_object *e = NULL;
        int r;

        r = expires_string(expires, &e);
        if (r < 0)
                return r;
        if (json_set(body, "version", json_object_new_int64(version)) < 0 || json_set(body, "expires", e) < 0)
                return -ENOMEM;
        return 0;
}

static int publish_role(UpRepo *repo, const RoleJob *j) {
        _cleanup_(published_done) Published p = {};
        _cleanup_free_ char *data = NULL;
        bool needed;
        size_t len = 0;
        int r;

        r = published_read(repo, j->vin, j->role, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        r = role_needs_publish(j, &p, &needed);
        if (r < 0 || !needed)
                return r;
        r = body_set_version(j->body, p.data ? p.version + 1 : 1, j->expires);
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
        r = write_role(repo, j->vin, j->role, p.data ? p.version + 1 : 1, data, len);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, j->vin, j->role, j->body);
}

/* How attacks bend publication. */
typedef struct SetOptions {
        const char *const *bump;
        size_t n_bump;
        bool all;                 /* every targets role, the snapshot and the timestamp */
        bool retired_keys;        /* sign targets, snapshot, timestamp with retired keys */
        const char *expired_role; /* this role expires a day before now */
} SetOptions;

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
        return now + (time_t) repo->expires[role_type(role)];
}

static int role_signers(UpRepo *repo, const SetOptions *o, const char *role, const Delegation *d, Signers *ret) {
        int r;

        if (o->retired_keys && is_top_level(role)) {
                r = signers_add_retired(repo, ret, role);
                if (r < 0 || ret->n > 0)
                        return r;
        }
        return signers_add_role(repo, ret, d->keys);
}

static int publish_targets_role(UpRepo *repo, const char *vin, const RoleRef *ref, const SetOptions *o, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        _cleanup_(delegation_done) Delegation d = {};
        _cleanup_(signers_done) Signers s = {};
        int r;

        r = up_repo_staged_read(repo, vin, ref->role, &body);
        if (r < 0)
                return r;
        r = delegation_get(repo, vin, ref->role, ref->delegator, &d);
        if (r < 0)
                return r;
        r = role_signers(repo, o, ref->role, &d, &s);
        if (r < 0)
                return r;
        return publish_role(repo, &(RoleJob) {
                .vin = vin, .role = ref->role, .body = body, .delegation = &d, .signers = &s,
                .force = set_bumps(o, ref->role), .unchecked = o->retired_keys,
                .expires = role_expiry(repo, o, ref->role, now),
        });
}

/* {"version", "length", "hashes"} of what is published for role. */
static int meta_entry(UpRepo *repo, const char *vin, const char *role, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        _cleanup_(published_done) Published p = {};
        struct json_object *hashes = NULL;
        int r;

        r = published_read(repo, vin, role, &p);
        if (r == -ENOENT)
                return up_repo_fail(repo, r, "%s was never published", role);
        if (r < 0)
                return r;
        r = hashes_object(p.data, p.len, &hashes);
        if (r < 0)
                return r;
        if (!o || json_set(o, "hashes", hashes) < 0 ||
            json_set(o, "length", json_object_new_int64((int64_t) p.len)) < 0 ||
            json_set(o, "version", json_object_new_int64(p.version)) < 0)
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
        if (pathf(&key, "%s.json", role) < 0) {
                json_object_put(e);
                return -ENOMEM;
        }
        return json_set(meta, key, e);
}

static int publish_meta_role(UpRepo *repo, const char *vin, UpRoleType type, struct json_object *meta,
                             const SetOptions *o, time_t now) {
        const char *role = up_role_type_name(type);
        _cleanup_json_ struct json_object *body = NULL;
        _cleanup_(delegation_done) Delegation d = {};
        _cleanup_(signers_done) Signers s = {};
        int r;

        if (staged_exists(repo, vin, role))
                r = up_repo_staged_read(repo, vin, role, &body);
        else
                r = body_new(repo, type, now, &body);
        if (r < 0)
                return r;
        r = json_set(body, "meta", json_object_get(meta));
        if (r < 0)
                return r;
        r = delegation_get(repo, vin, role, "root", &d);
        if (r < 0)
                return r;
        r = role_signers(repo, o, role, &d, &s);
        if (r < 0)
                return r;
        /* A new timestamp each time: it is what tells clients the state is fresh. */
        return publish_role(repo, &(RoleJob) {
                .vin = vin, .role = role, .body = body, .delegation = &d, .signers = &s,
                .force = type == UP_ROLE_TIMESTAMP || set_bumps(o, role), .unchecked = o->retired_keys,
                .expires = role_expiry(repo, o, role, now),
        });
}

static int publish_set_roles(UpRepo *repo, const char *vin, const SetOptions *o, time_t now) {
        _cleanup_json_ struct json_object *snap_meta = json_object_new_object(), *ts_meta = json_object_new_object();
        _cleanup_(role_list_done) RoleList l = {};
        int r;

        if (!snap_meta || !ts_meta)
                return -ENOMEM;
        r = collect_targets_roles(repo, vin, &l);
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

static int root_previous(UpRepo *repo, const Published *p, Delegation *ret) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        int r;

        r = up_metadata_parse(p->data, p->len, UP_ROLE_ROOT, &md);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s/metadata/root.json' is not a valid root: %s", repo->dir,
                                    up_strerror(r));
        return delegation_from_root(md, UP_ROLE_ROOT, ret);
}

/* Root N+1 is signed by the root keys of N+1 and of N, so that clients
 * holding root N accept it (and rotations can chain). */
static int publish_root(UpRepo *repo, const SetOptions *o, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        _cleanup_(delegation_done) Delegation d = {}, prev = {};
        _cleanup_(published_done) Published p = {};
        _cleanup_(signers_done) Signers s = {};
        int r;

        r = up_repo_staged_read(repo, NULL, "root", &body);
        if (r < 0)
                return r;
        r = delegation_get(repo, NULL, "root", "root", &d);
        if (r < 0)
                return r;
        r = published_read(repo, NULL, "root", &p);
        if (r < 0 && r != -ENOENT)
                return r;
        if (p.data) {
                r = root_previous(repo, &p, &prev);
                if (r < 0)
                        return r;
        }
        r = signers_add_role(repo, &s, d.keys);
        if (r >= 0)
                r = signers_add_role(repo, &s, prev.keys);
        if (r < 0)
                return r;
        return publish_role(repo, &(RoleJob) {
                .role = "root", .body = body, .delegation = &d, .previous = p.data ? &prev : NULL,
                .signers = &s, .force = set_bumps(o, "root") && !o->all,
                .expires = now + (time_t) repo->expires[UP_ROLE_ROOT],
        });
}

/* A vehicle's metadata dir holds every root version: clients fetch roots
 * from the same base URL as the rest. */
static int copy_roots(UpRepo *repo, const char *vin) {
        _cleanup_free_ char *src = NULL, *dst = NULL;
        _cleanup_(published_done) Published p = {};
        int r;

        r = published_read(repo, NULL, "root", &p);
        if (r < 0)
                return r == -ENOENT ? up_repo_fail(repo, r, "root was never published") : r;
        if (pathf(&src, "%s/metadata", repo->dir) < 0)
                return -ENOMEM;
        r = set_path(repo, vin, "metadata", &dst);
        if (r < 0)
                return r;
        r = mkdir_p(dst, 0755);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", dst, up_strerror(r));
        for (int64_t v = 1; v <= p.version; v++) {
                _cleanup_free_ char *name = NULL, *from = NULL, *to = NULL;

                if (role_file_name("root", v, &name) < 0 || pathf(&from, "%s/%s", src, name) < 0 ||
                    pathf(&to, "%s/%s", dst, name) < 0)
                        return -ENOMEM;
                if (file_exists(to) || !file_exists(from))
                        continue;
                r = copy_file(repo, from, dst, name, 0644);
                if (r < 0)
                        return r;
        }
        return write_file(repo, dst, "root.json", p.data, p.len, 0644);
}

static int check_opened(UpRepo *repo) {
        clear_error(repo);
        if (!repo->opened)
                return up_repo_fail(repo, -EINVAL, "repository '%s' is not open", repo->dir);
        return 0;
}

static int publish_set_opts(UpRepo *repo, const char *vin, const SetOptions *o, time_t now) {
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

        r = check_opened(repo);
        if (r < 0)
                return r;
        return publish_set_opts(repo, vin, &(SetOptions) { .bump = bump, .n_bump = n_bump }, now);
}

static int publish_vehicles(UpRepo *repo, const SetOptions *o, time_t now) {
        char **vins = NULL;
        size_t n = 0;
        int r;

        r = up_director_vehicles(repo, &vins, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = publish_set_opts(repo, vins[i], o, now);
        up_director_vehicles_free(vins, n);
        return r;
}

static int publish_opts(UpRepo *repo, const SetOptions *o, time_t now) {
        int r;

        r = publish_root(repo, o, now);
        if (r < 0)
                return r;
        if (repo->kind == UP_REPO_IMAGE)
                return publish_set_roles(repo, NULL, o, now);
        return publish_vehicles(repo, o, now);
}

int up_repo_publish(UpRepo *repo, const char *const *bump, size_t n_bump, time_t now) {
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_bump; i++)
                if (!is_top_level(bump[i]) && !staged_exists(repo, NULL, bump[i]))
                        return up_repo_fail(repo, -ENOENT, "cannot bump '%s': no such role", bump[i]);
        return publish_opts(repo, &(SetOptions) { .bump = bump, .n_bump = n_bump }, now);
}

/* --- Creating ------------------------------------------------------------------ */

static int check_empty_dir(UpRepo *repo) {
        char **names = NULL;
        size_t n = 0;
        int r;

        r = list_dir(repo->dir, &names, &n);
        strv_free(names, n);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s': %s", repo->dir, up_strerror(r));
        if (n > 0)
                return up_repo_fail(repo, -EEXIST, "'%s' exists and is not empty", repo->dir);
        return 0;
}

static int create_layout(UpRepo *repo) {
        const char *subdirs[] = { "keys", "staged", "metadata",
                                  repo->kind == UP_REPO_IMAGE ? "targets" : "vehicles" };
        int r;

        r = mkdir_p(repo->dir, 0755);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", repo->dir, up_strerror(r));
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = NULL;

                if (pathf(&p, "%s/%s", repo->dir, subdirs[i]) < 0)
                        return -ENOMEM;
                /* Private keys: nobody but the owner even lists them. */
                r = mkdir_p(p, streq(subdirs[i], "keys") ? 0700 : 0755);
                if (r < 0)
                        return up_repo_fail(repo, r, "cannot create '%s': %s", p, up_strerror(r));
        }
        return 0;
}

static int create_root_role(UpRepo *repo, struct json_object *keys, struct json_object *roles, UpRoleType t,
                            unsigned threshold) {
        struct json_object *entry = json_object_new_object(), *keyids;
        int r;

        r = json_set(roles, up_role_type_name(t), entry);
        if (r < 0)
                return r;
        if (json_set(entry, "keyids", json_object_new_array()) < 0 ||
            json_set(entry, "threshold", json_object_new_int64(threshold)) < 0)
                return -ENOMEM;
        keyids = json_child(entry, "keyids");
        r = generate_keys(repo, threshold, keys, keyids);
        if (r < 0)
                return r;
        return keymap_update(repo, up_role_type_name(t), keyids);
}

static int create_root(UpRepo *repo, const UpRepoInitOptions *o, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        int r;

        r = body_new(repo, UP_ROLE_ROOT, now, &body);
        if (r < 0)
                return r;
        if (json_set(body, "consistent_snapshot", json_object_new_boolean(true)) < 0 ||
            json_set(body, "keys", json_object_new_object()) < 0 ||
            json_set(body, "roles", json_object_new_object()) < 0)
                return -ENOMEM;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++) {
                r = create_root_role(repo, json_child(body, "keys"), json_child(body, "roles"), t,
                                     o->threshold[t] ? o->threshold[t] : 1);
                if (r < 0)
                        return r;
        }
        return up_repo_staged_write(repo, NULL, "root", body);
}

static int check_init_options(UpRepo *repo, const UpRepoInitOptions *o) {
        if (!o || o->kind < 0 || o->kind >= _UP_REPO_KIND_MAX)
                return up_repo_fail(repo, -EINVAL, "invalid repository kind");
        if (!up_key_scheme_name(o->scheme))
                return up_repo_fail(repo, -EINVAL, "invalid key scheme");
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++) {
                if (o->threshold[t] > 64)
                        return up_repo_fail(repo, -EINVAL, "%s: threshold %u is too large (at most 64)",
                                            up_role_type_name(t), o->threshold[t]);
                if (o->expires[t] < 0)
                        return up_repo_fail(repo, -EINVAL, "%s: negative expiry", up_role_type_name(t));
        }
        return 0;
}

int up_repo_create(UpRepo *repo, const UpRepoInitOptions *o, time_t now) {
        int r;

        clear_error(repo);
        r = check_init_options(repo, o);
        if (r < 0)
                return r;
        repo->kind = o->kind;
        repo->scheme = o->scheme;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                repo->expires[t] = o->expires[t] > 0 ? o->expires[t] : default_expires[t];
        r = check_empty_dir(repo);
        if (r < 0)
                return r;
        r = create_layout(repo);
        if (r < 0)
                return r;
        r = config_write(repo);
        if (r < 0)
                return r;
        r = create_root(repo, o, now);
        if (r < 0)
                return r;
        if (repo->kind == UP_REPO_IMAGE) {
                _cleanup_json_ struct json_object *targets = NULL;

                r = body_new(repo, UP_ROLE_TARGETS, now, &targets);
                if (r < 0)
                        return r;
                r = up_repo_staged_write(repo, NULL, "targets", targets);
                if (r < 0)
                        return r;
        }
        repo->opened = true;
        return up_repo_publish(repo, NULL, 0, now);
}

/* --- Images and targets --------------------------------------------------------- */

/* Text we write into metadata: canonical JSON escapes nothing but '"' and
 * '\\', so control characters would make files strict parsers refuse. */
static bool text_valid(const char *s) {
        if (!s || !*s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static const char *name_base(const char *name) {
        const char *slash = strrchr(name, '/');

        return slash ? slash + 1 : name;
}

/* The directory holding the copies of an image: targets/[dir of name]. */
static int image_dir(UpRepo *repo, const char *vin, const char *name, char **ret) {
        _cleanup_free_ char *top = NULL;
        const char *base = name_base(name);
        int r;

        r = set_path(repo, vin, "targets", &top);
        if (r < 0)
                return r;
        if (base == name) {
                *ret = TAKE_PTR(top);
                return 0;
        }
        return pathf(ret, "%s/%.*s", top, (int) (base - name - 1), name);
}

/* The names (in image_dir) clients may ask for: HASH.<base> for every
 * listed hash (Uptane 2.1 §5.2.7), and <base>. */
static int image_file_names(const char *name, struct json_object *hashes, char ***ret, size_t *ret_n) {
        size_t n = 0, max = (as_object(hashes) ? (size_t) json_object_object_length(hashes) : 0) + 1;
        const char *base = name_base(name);
        char **v;

        v = calloc(max + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        if (json_object_is_type(hashes, json_type_object)) {
                json_object_object_foreach(hashes, alg, hex) {
                        const char *h = json_object_get_string(hex);

                        (void) alg;
                        if (!h || !component_valid(h, strlen(h)))
                                continue;
                        if (pathf(&v[n], "%s.%s", h, base) < 0) {
                                strv_free(v, n);
                                return -ENOMEM;
                        }
                        n++;
                }
        }
        v[n] = strdup(base);
        if (!v[n]) {
                strv_free(v, n);
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
        r = hashes_object(data, len, &hashes);
        if (r < 0)
                return r;
        r = image_dir(repo, vin, name, &dir);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", dir, up_strerror(r));
        r = image_file_names(name, hashes, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = write_file(repo, dir, names[i], data, len, 0644);
        strv_free(names, n);
        return r;
}

int up_repo_image_path(UpRepo *repo, const char *vin, const char *name, struct json_object *hashes, char **ret) {
        _cleanup_free_ char *dir = NULL;
        const char *sha;
        int r;

        sha = json_object_get_string(json_child(hashes, "sha256"));
        if (!up_repo_target_name_valid(name) || !sha || !component_valid(sha, strlen(sha)))
                return up_repo_fail(repo, -EINVAL, "no usable name or sha256 for image '%s'", name ? name : "");
        r = image_dir(repo, vin, name, &dir);
        if (r < 0)
                return r;
        return pathf(ret, "%s/%s.%s", dir, sha, name_base(name));
}

static int target_custom(const UpRepoTarget *t, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *hw = json_object_new_array();

        if (!o || json_set(o, "hardwareIds", hw) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_hardware_ids; i++)
                if (json_append(hw, json_object_new_string(t->hardware_ids[i])) < 0)
                        return -ENOMEM;
        if (json_set(o, "releaseCounter", json_object_new_int64(t->release_counter)) < 0 ||
            json_set(o, "targetFormat", json_object_new_string(t->format ? t->format : "BINARY")) < 0)
                return -ENOMEM;
        if (t->uri && json_set(o, "uri", json_object_new_string(t->uri)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int target_entry(const UpRepoTarget *t, const void *data, size_t len, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *custom = NULL, *hashes = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        r = target_custom(t, &custom);
        if (r < 0 || (r = json_set(o, "custom", custom)) < 0)
                return r;
        r = hashes_object(data, len, &hashes);
        if (r < 0 || (r = json_set(o, "hashes", hashes)) < 0)
                return r;
        if (json_set(o, "length", json_object_new_int64((int64_t) len)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int check_image_repo(UpRepo *repo, const char *what) {
        if (repo->kind != UP_REPO_IMAGE)
                return up_repo_fail(repo, -EOPNOTSUPP, "'%s' is a Director: %s", repo->dir, what);
        return 0;
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
        if (t->uri && !text_valid(t->uri))
                return up_repo_fail(repo, -EINVAL, "invalid URI");
        for (size_t i = 0; i < t->n_hardware_ids; i++)
                if (!text_valid(t->hardware_ids[i]))
                        return up_repo_fail(repo, -EINVAL, "invalid hardware id '%s'", t->hardware_ids[i]);
        return 0;
}

static int delegates_name(UpRepo *repo, const char *delegator, const char *role, const char *name, bool *ret) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        _cleanup_json_ struct json_object *body = NULL;
        const UpDelegatedRole *d;
        int r;

        r = up_repo_staged_read(repo, NULL, delegator, &body);
        if (r < 0)
                return r;
        r = body_parse(repo, delegator, body, &md);
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
        _cleanup_(role_list_done) RoleList l = {};
        bool ok;
        int r;

        r = collect_targets_roles(repo, NULL, &l);
        if (r < 0)
                return r;
        if (!role_list_find(&l, role))
                return up_repo_fail(repo, -ENOENT, "no targets role '%s' (delegate to it first)", role);
        r = role_authorized(repo, &l, role, name, 0, &ok);
        if (r < 0)
                return r;
        if (!ok)
                return up_repo_fail(repo, -EPERM, "role '%s' is not delegated the path '%s'", role, name);
        return 0;
}

int up_repo_add_target(UpRepo *repo, const UpRepoTarget *t, const void *data, size_t len) {
        _cleanup_json_ struct json_object *body = NULL, *entry = NULL;
        const char *role = t && t->role ? t->role : "targets";
        struct json_object *targets;
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        if (!t)
                return -EINVAL;
        r = check_image_repo(repo, "images are assigned to vehicles with 'director assign'");
        if (r < 0)
                return r;
        r = check_target(repo, t);
        if (r < 0)
                return r;
        r = check_target_role(repo, role, t->name);
        if (r < 0)
                return r;
        r = up_repo_staged_read(repo, NULL, role, &body);
        if (r < 0)
                return r;
        targets = json_child(body, "targets");
        if (!json_object_is_type(targets, json_type_object))
                return up_repo_fail(repo, -EBADMSG, "staged %s has no targets object", role);
        r = target_entry(t, data, len, &entry);
        if (r < 0)
                return r;
        r = up_repo_store_image(repo, NULL, t->name, data, len);
        if (r < 0)
                return r;
        r = json_set(targets, t->name, TAKE_PTR(entry));
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, role, body);
}

int up_repo_add_target_file(UpRepo *repo, const UpRepoTarget *t, const char *path) {
        _cleanup_free_ uint8_t *data = NULL;
        UpRepoTarget copy = *t;
        size_t len;
        int r;

        clear_error(repo);
        r = up_read_file(path, SIZE_MAX - 1, &data, &len);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s': %s", path,
                                    r == -EBADF ? "not a regular file" : up_strerror(r));
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
        _cleanup_(role_list_done) RoleList l = {};
        bool found = false;
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        r = check_image_repo(repo, "use 'director clear'");
        if (r < 0)
                return r;
        r = collect_targets_roles(repo, NULL, &l);
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

/* Depth-first through the published delegations, like a client. */
static int find_published(UpRepo *repo, const char *role, const char *name, unsigned depth,
                          struct json_object **ret_entry, char **ret_role) {
        _cleanup_(up_metadata_unrefp) UpMetadata *md = NULL;
        _cleanup_(published_done) Published p = {};
        struct json_object *e;
        int r;

        r = published_read(repo, NULL, role, &p);
        if (r < 0)
                return r;
        e = json_child(json_child(p.signed_obj, "targets"), name);
        if (e) {
                _cleanup_free_ char *rn = strdup(role);

                if (!rn || json_object_deep_copy(e, ret_entry, NULL) < 0)
                        return -ENOMEM;
                if (ret_role)
                        *ret_role = TAKE_PTR(rn);
                return 0;
        }
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

        r = check_opened(repo);
        if (r < 0)
                return r;
        r = check_image_repo(repo, "look images up in an Image repository");
        if (r < 0)
                return r;
        r = find_published(repo, "targets", name, 0, ret_entry, ret_role);
        if (r == -ENOENT)
                return up_repo_fail(repo, r, "'%s' is not listed in the published metadata of '%s'", name, repo->dir);
        return r;
}

/* --- Delegations ------------------------------------------------------------------- */

static int check_delegation(UpRepo *repo, const UpRepoDelegation *d) {
        if (!up_repo_role_name_valid(d->role))
                return up_repo_fail(repo, -EINVAL,
                                    "invalid role name '%s' (A-Z a-z 0-9 ._~+@=,-, not a top-level role)",
                                    d->role ? d->role : "");
        if (d->n_paths == 0)
                return up_repo_fail(repo, -EINVAL, "%s: give at least one path pattern", d->role);
        for (size_t i = 0; i < d->n_paths; i++)
                if (!text_valid(d->paths[i]))
                        return up_repo_fail(repo, -EINVAL, "%s: invalid path pattern", d->role);
        if (d->threshold > 64 || d->n_keys > 64)
                return up_repo_fail(repo, -EINVAL, "%s: at most 64 keys", d->role);
        if (d->n_keys && d->n_keys < (d->threshold ? d->threshold : 1))
                return up_repo_fail(repo, -EINVAL, "%s: fewer keys than the threshold", d->role);
        if (staged_exists(repo, NULL, d->role))
                return up_repo_fail(repo, -EEXIST, "role '%s' exists already", d->role);
        return 0;
}

static int delegation_entry(const UpRepoDelegation *d, unsigned threshold, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *paths = json_object_new_array();

        if (!o || json_set(o, "paths", paths) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_paths; i++)
                if (json_append(paths, json_object_new_string(d->paths[i])) < 0)
                        return -ENOMEM;
        if (json_set(o, "name", json_object_new_string(d->role)) < 0 ||
            json_set(o, "keyids", json_object_new_array()) < 0 ||
            json_set(o, "threshold", json_object_new_int64(threshold)) < 0 ||
            json_set(o, "terminating", json_object_new_boolean(d->terminating)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

/* delegations {"keys": {}, "roles": []} of a targets body, created if missing. */
static int body_delegations(struct json_object *body, struct json_object **ret_keys, struct json_object **ret_roles) {
        struct json_object *dl = json_child(body, "delegations");

        if (!dl) {
                if (json_set(body, "delegations", json_object_new_object()) < 0)
                        return -ENOMEM;
                dl = json_child(body, "delegations");
        }
        if ((!json_child(dl, "keys") && json_set(dl, "keys", json_object_new_object()) < 0) ||
            (!json_child(dl, "roles") && json_set(dl, "roles", json_object_new_array()) < 0))
                return -ENOMEM;
        *ret_keys = json_child(dl, "keys");
        *ret_roles = json_child(dl, "roles");
        if (!json_object_is_type(*ret_keys, json_type_object) || !json_object_is_type(*ret_roles, json_type_array))
                return -EBADMSG;
        return 0;
}

int up_repo_delegate(UpRepo *repo, const UpRepoDelegation *d) {
        _cleanup_json_ struct json_object *body = NULL, *entry = NULL, *role_body = NULL;
        const char *delegator = d && d->delegator ? d->delegator : "targets";
        unsigned threshold = d && d->threshold ? d->threshold : 1;
        struct json_object *keys, *roles;
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        r = check_image_repo(repo, "the Director's targets do not delegate (Uptane 2.1 §5.1.2.1)");
        if (r < 0 || !d)
                return r < 0 ? r : -EINVAL;
        r = check_delegation(repo, d);
        if (r < 0)
                return r;
        r = up_repo_staged_read(repo, NULL, delegator, &body);
        if (r < 0)
                return r;
        if (role_type(delegator) != UP_ROLE_TARGETS)
                return up_repo_fail(repo, -EINVAL, "only targets roles delegate, not %s", delegator);
        r = body_delegations(body, &keys, &roles);
        if (r < 0)
                return up_repo_fail(repo, r, "staged %s: bad delegations", delegator);
        r = delegation_entry(d, threshold, &entry);
        if (r < 0)
                return r;
        r = generate_keys(repo, d->n_keys ? d->n_keys : threshold, keys, json_child(entry, "keyids"));
        if (r < 0)
                return r;
        r = keymap_update(repo, d->role, json_child(entry, "keyids"));
        if (r < 0)
                return r;
        r = json_append(roles, TAKE_PTR(entry));
        if (r < 0)
                return r;
        /* The new role first: the delegator never names a role that is missing. */
        r = body_new(repo, UP_ROLE_TARGETS, 0, &role_body);
        if (r < 0)
                return r;
        r = up_repo_staged_write(repo, NULL, d->role, role_body);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, delegator, body);
}

/* --- Key rotation and revocation ---------------------------------------------------- */

static void keys_collect_used(struct json_object *entry, struct json_object *used) {
        struct json_object *ids = json_child(entry, "keyids");

        for (size_t i = 0; json_object_is_type(ids, json_type_array) && i < json_object_array_length(ids); i++)
                json_object_object_add(used, json_object_get_string(json_object_array_get_idx(ids, i)), NULL);
}

/* Drops the keys no role entry uses any more (entries: root's "roles"
 * object or a delegations "roles" array). */
static int keys_prune(struct json_object *keys, struct json_object *entries) {
        _cleanup_json_ struct json_object *used = json_object_new_object();
        char **unused = NULL;
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
        free(unused);
        return 0;
}

static int64_t entry_threshold(struct json_object *entry) {
        struct json_object *t = json_child(entry, "threshold");

        return t ? json_object_get_int64(t) : 1;
}

/* Points a listing at the new keys (which keys gets too). */
static int listing_set_keys(struct json_object *keys, struct json_object *entry, struct json_object *new_keys,
                            struct json_object *new_ids) {
        struct json_object *copy = NULL;

        json_object_object_foreach(new_keys, id, k)
                if (json_set(keys, id, json_object_get(k)) < 0)
                        return -ENOMEM;
        if (json_object_deep_copy(new_ids, &copy, NULL) < 0)
                return -ENOMEM;
        return json_set(entry, "keyids", copy);
}

static int rotate_generate(UpRepo *repo, const char *role, struct json_object *entry, unsigned n_keys,
                           struct json_object **ret_keys, struct json_object **ret_ids) {
        _cleanup_json_ struct json_object *keys = json_object_new_object(), *ids = json_object_new_array();
        struct json_object *old = json_child(entry, "keyids");
        int64_t threshold = entry_threshold(entry);
        size_t n = n_keys;
        int r;

        if (!keys || !ids)
                return -ENOMEM;
        if (n == 0)
                n = json_object_is_type(old, json_type_array) ? json_object_array_length(old) : 0;
        if ((int64_t) n < threshold && n_keys == 0)
                n = (size_t) threshold;
        if ((int64_t) n < threshold || n > 64)
                return up_repo_fail(repo, -EINVAL, "%s: %zu keys do not fit its threshold %lld", role, n,
                                    (long long) threshold);
        r = generate_keys(repo, (unsigned) n, keys, ids);
        if (r < 0)
                return r;
        r = keymap_update(repo, role, ids);
        if (r < 0)
                return r;
        *ret_keys = TAKE_PTR(keys);
        *ret_ids = TAKE_PTR(ids);
        return 0;
}

static int rotate_top_level(UpRepo *repo, const char *role, unsigned n_keys) {
        _cleanup_json_ struct json_object *body = NULL, *new_keys = NULL, *new_ids = NULL;
        struct json_object *keys, *roles, *entry;
        int r;

        r = up_repo_staged_read(repo, NULL, "root", &body);
        if (r < 0)
                return r;
        keys = json_child(body, "keys");
        roles = json_child(body, "roles");
        entry = json_child(roles, role);
        if (!keys || !entry)
                return up_repo_fail(repo, -EBADMSG, "staged root does not list the keys of %s", role);
        r = rotate_generate(repo, role, entry, n_keys, &new_keys, &new_ids);
        if (r < 0)
                return r;
        r = listing_set_keys(keys, entry, new_keys, new_ids);
        if (r < 0)
                return r;
        r = keys_prune(keys, roles);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, "root", body);
}

/* Every listing of a delegated role gets the same new keys. */
static int rotate_delegated_in(UpRepo *repo, const char *delegator, const char *role, unsigned n_keys,
                               struct json_object **new_keys, struct json_object **new_ids) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *keys, *roles;
        bool changed = false;
        int r;

        r = up_repo_staged_read(repo, NULL, delegator, &body);
        if (r < 0)
                return r;
        if (!json_child(body, "delegations"))
                return 0;
        r = body_delegations(body, &keys, &roles);
        if (r < 0)
                return up_repo_fail(repo, r, "staged %s: bad delegations", delegator);
        for (size_t i = 0; i < json_object_array_length(roles); i++) {
                struct json_object *entry = json_object_array_get_idx(roles, i);

                if (!streq(json_object_get_string(json_child(entry, "name")) ?: "", role))
                        continue;
                if (!*new_keys) {
                        r = rotate_generate(repo, role, entry, n_keys, new_keys, new_ids);
                        if (r < 0)
                                return r;
                }
                r = listing_set_keys(keys, entry, *new_keys, *new_ids);
                if (r < 0)
                        return r;
                changed = true;
        }
        if (!changed)
                return 0;
        r = keys_prune(keys, roles);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, delegator, body);
}

static int rotate_delegated(UpRepo *repo, const char *role, unsigned n_keys) {
        _cleanup_json_ struct json_object *new_keys = NULL, *new_ids = NULL;
        _cleanup_(role_list_done) RoleList l = {};
        int r;

        r = collect_targets_roles(repo, NULL, &l);
        if (r < 0)
                return r;
        if (!role_list_find(&l, role))
                return up_repo_fail(repo, -ENOENT, "no role '%s'", role);
        for (size_t i = 0; i < l.n; i++) {
                r = rotate_delegated_in(repo, l.v[i].role, role, n_keys, &new_keys, &new_ids);
                if (r < 0)
                        return r;
        }
        return 0;
}

int up_repo_rotate(UpRepo *repo, const char *role, unsigned n_keys) {
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        if (!role)
                return -EINVAL;
        if (is_top_level(role))
                return rotate_top_level(repo, role, n_keys);
        r = check_image_repo(repo, "it has no delegated roles");
        if (r < 0)
                return r;
        return rotate_delegated(repo, role, n_keys);
}

/* Unlists keyid from one listing; tops the role up to its threshold. */
static int listing_revoke(UpRepo *repo, struct json_object *keys, struct json_object *entry, const char *role,
                          const char *keyid, bool *found) {
        struct json_object *ids = json_child(entry, "keyids");
        int64_t missing;
        int r;

        if (!strv_json_contains(ids, keyid))
                return 0;
        *found = true;
        for (size_t i = json_object_array_length(ids); i > 0; i--)
                if (streq(json_object_get_string(json_object_array_get_idx(ids, i - 1)), keyid))
                        (void) json_object_array_del_idx(ids, i - 1, 1);
        missing = entry_threshold(entry) - (int64_t) json_object_array_length(ids);
        if (missing > 0) {
                r = generate_keys(repo, (unsigned) missing, keys, ids);
                if (r < 0)
                        return r;
        }
        return keymap_update(repo, role, ids);
}

static int revoke_in_root(UpRepo *repo, const char *keyid, bool *found) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *keys, *roles;
        bool here = false;
        int r;

        r = up_repo_staged_read(repo, NULL, "root", &body);
        if (r < 0)
                return r;
        keys = json_child(body, "keys");
        roles = json_child(body, "roles");
        if (!json_object_is_type(keys, json_type_object) || !json_object_is_type(roles, json_type_object))
                return up_repo_fail(repo, -EBADMSG, "staged root has no keys or roles");
        json_object_object_foreach(roles, role, entry) {
                r = listing_revoke(repo, keys, entry, role, keyid, &here);
                if (r < 0)
                        return r;
        }
        if (!here)
                return 0;
        *found = true;
        r = keys_prune(keys, roles);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, "root", body);
}

static int revoke_in_delegator(UpRepo *repo, const char *delegator, const char *keyid, bool *found) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *keys, *roles;
        bool here = false;
        int r;

        r = up_repo_staged_read(repo, NULL, delegator, &body);
        if (r < 0)
                return r;
        if (!json_child(body, "delegations"))
                return 0;
        r = body_delegations(body, &keys, &roles);
        if (r < 0)
                return up_repo_fail(repo, r, "staged %s: bad delegations", delegator);
        for (size_t i = 0; i < json_object_array_length(roles); i++) {
                struct json_object *entry = json_object_array_get_idx(roles, i);

                r = listing_revoke(repo, keys, entry, json_object_get_string(json_child(entry, "name")) ?: "?",
                                   keyid, &here);
                if (r < 0)
                        return r;
        }
        if (!here)
                return 0;
        *found = true;
        r = keys_prune(keys, roles);
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, NULL, delegator, body);
}

int up_repo_revoke(UpRepo *repo, const char *keyid) {
        _cleanup_(role_list_done) RoleList l = {};
        bool found = false;
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        if (!keyid)
                return -EINVAL;
        r = revoke_in_root(repo, keyid, &found);
        if (r < 0)
                return r;
        if (repo->kind == UP_REPO_IMAGE) {
                r = collect_targets_roles(repo, NULL, &l);
                for (size_t i = 0; r >= 0 && i < l.n; i++)
                        r = revoke_in_delegator(repo, l.v[i].role, keyid, &found);
                if (r < 0)
                        return r;
        }
        if (!found)
                return up_repo_fail(repo, -ENOENT, "key id '%s' is not listed by any role", keyid);
        return 0;
}

/* --- Status ---------------------------------------------------------------------- */

static int status_keys(UpRepo *repo, const Delegation *d, struct json_object **ret) {
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; d->keys && i < d->keys->n_keyids; i++) {
                const char *id = d->keys->keyids[i];
                const UpKey *k = up_keyring_find(d->ring, id);
                _cleanup_free_ char *path = NULL;
                struct json_object *o = json_object_new_object();

                if (json_append(a, o) < 0 || pathf(&path, "%s/keys/%s.key", repo->dir, id) < 0)
                        return -ENOMEM;
                if (json_set(o, "keyid", json_object_new_string(id)) < 0 ||
                    json_set(o, "scheme", json_object_new_string(k ? up_key_scheme_name(up_key_scheme(k)) : "?")) < 0 ||
                    json_set(o, "private", json_object_new_boolean(component_valid(id, strlen(id)) &&
                                                                   file_exists(path))) < 0)
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
        if (!staged_exists(repo, vin, role) || streq(role, "snapshot") || streq(role, "timestamp")) {
                *ret = !p->data;
                return 0;
        }
        r = up_repo_staged_read(repo, vin, role, &body);
        if (r < 0)
                return r;
        return role_needs_publish(&(RoleJob) { .role = role, .body = body, .delegation = d }, p, ret);
}

static int status_role(UpRepo *repo, const char *vin, const char *role, const char *delegator, time_t now,
                       struct json_object *out) {
        _cleanup_(published_done) Published p = {};
        _cleanup_(delegation_done) Delegation d = {};
        struct json_object *o = json_object_new_object(), *keys = NULL;
        const char *expires = NULL;
        time_t t = 0;
        bool pending;
        int r;

        if (json_append(out, o) < 0)
                return -ENOMEM;
        r = published_read(repo, vin, role, &p);
        if (r < 0 && r != -ENOENT)
                return r;
        r = delegation_get(repo, vin, role, delegator, &d);
        if (r < 0)
                return r;
        r = status_pending(repo, vin, role, &d, &p, &pending);
        if (r < 0)
                return r;
        r = status_keys(repo, &d, &keys);
        if (r < 0 || (r = json_set(o, "keys", keys)) < 0)
                return r;
        if (p.data)
                expires = json_object_get_string(json_child(p.signed_obj, "expires"));
        if (expires && up_parse_iso8601(expires, &t) < 0)
                t = 0;
        if (json_set(o, "name", json_object_new_string(role)) < 0 ||
            json_set(o, "version", json_object_new_int64(p.data ? p.version : 0)) < 0 ||
            (expires && json_set(o, "expires", json_object_new_string(expires)) < 0) ||
            json_set(o, "expired", json_object_new_boolean(p.data && t <= now)) < 0 ||
            json_set(o, "pending", json_object_new_boolean(pending)) < 0 ||
            json_set(o, "threshold", json_object_new_int64(d.keys ? d.keys->threshold : 0)) < 0)
                return -ENOMEM;
        return 0;
}

static int status_targets_of(UpRepo *repo, const char *role, struct json_object *out) {
        _cleanup_json_ struct json_object *body = NULL;
        int r;

        r = up_repo_staged_read(repo, NULL, role, &body);
        if (r < 0)
                return r;
        if (!as_object(json_child(body, "targets")))
                return up_repo_fail(repo, -EBADMSG, "staged %s has no targets object", role);
        json_object_object_foreach(json_child(body, "targets"), name, entry) {
                struct json_object *o = json_object_new_object();
                struct json_object *rc = json_child(json_child(entry, "custom"), "releaseCounter");

                if (json_append(out, o) < 0 || json_set(o, "name", json_object_new_string(name)) < 0 ||
                    json_set(o, "role", json_object_new_string(role)) < 0 ||
                    json_set(o, "length", json_object_get(json_child(entry, "length"))) < 0 ||
                    (rc && json_set(o, "releaseCounter", json_object_get(rc)) < 0))
                        return -ENOMEM;
        }
        return 0;
}

static int status_image(UpRepo *repo, time_t now, struct json_object *roles, struct json_object *targets) {
        _cleanup_(role_list_done) RoleList l = {};
        int r;

        r = collect_targets_roles(repo, NULL, &l);
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
        _cleanup_(published_done) Published p = {};
        struct json_object *o = json_object_new_object(), *t;
        int r;

        if (json_append(out, o) < 0)
                return -ENOMEM;
        r = published_read(repo, vin, "targets", &p);
        if (r < 0 && r != -ENOENT)
                return r;
        t = p.data ? as_object(json_child(p.signed_obj, "targets")) : NULL;
        if (json_set(o, "vin", json_object_new_string(vin)) < 0 ||
            json_set(o, "version", json_object_new_int64(p.data ? p.version : 0)) < 0 ||
            json_set(o, "targets", json_object_new_int(t ? json_object_object_length(t) : 0)) < 0)
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

        r = keymap_read(repo, &m);
        if (r < 0)
                return r;
        json_object_object_foreach(json_child(m, "retired"), id, role) {
                struct json_object *o = json_object_new_object();

                if (json_append(out, o) < 0 || json_set(o, "keyid", json_object_new_string(id)) < 0 ||
                    json_set(o, "role", json_object_get(role)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int status_header(UpRepo *repo, struct json_object *o) {
        struct json_object *expires = json_object_new_object();

        if (json_set(o, "expires", expires) < 0 || json_set(o, "dir", json_object_new_string(repo->dir)) < 0 ||
            json_set(o, "kind", json_object_new_string(kind_names[repo->kind])) < 0 ||
            json_set(o, "scheme", json_object_new_string(up_key_scheme_name(repo->scheme))) < 0)
                return -ENOMEM;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (json_set(expires, up_role_type_name(t), json_object_new_int64(repo->expires[t])) < 0)
                        return -ENOMEM;
        return 0;
}

int up_repo_status(UpRepo *repo, time_t now, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *roles = json_object_new_array(), *targets = json_object_new_array();
        struct json_object *vehicles = json_object_new_array(), *retired = json_object_new_array(), *attacks = NULL;
        int r;

        if (!o || json_set(o, "roles", roles) < 0 || json_set(o, "targets", targets) < 0 ||
            json_set(o, "vehicles", vehicles) < 0 || json_set(o, "retired_keys", retired) < 0)
                return -ENOMEM;
        r = check_opened(repo);
        if (r < 0)
                return r;
        r = status_header(repo, o);
        if (r < 0)
                return r;
        r = status_role(repo, NULL, "root", "root", now, roles);
        if (r < 0)
                return r;
        if (repo->kind == UP_REPO_IMAGE)
                r = status_image(repo, now, roles, targets);
        else
                r = status_director(repo, now, roles, vehicles);
        if (r < 0)
                return r;
        r = status_retired(repo, retired);
        if (r < 0)
                return r;
        r = up_repo_attack_list(repo, &attacks);
        if (r < 0 || (r = json_set(o, "attacks", attacks)) < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

/* --- Attack backups ---------------------------------------------------------------- */

static int backup_path(UpRepo *repo, const char *name, char **ret) {
        return name ? pathf(ret, "%s/%s/%s", repo->dir, BACKUP_DIR, name) : pathf(ret, "%s/%s", repo->dir, BACKUP_DIR);
}

/* Copies the tree src into dst (skipping attack-backup/ at the top). Images
 * below a targets/ directory are hard links, not copies: every writer here
 * replaces files by rename, so a link keeps the old bytes, and images may be
 * large. */
static int tree_copy(UpRepo *repo, const char *src, const char *dst, bool top, bool link_files) {
        char **names = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        if (stat(src, &st) < 0)
                return fail_errno(repo, "cannot read", src);
        if ((mkdir(dst, 0700) < 0 && errno != EEXIST) || chmod(dst, st.st_mode & 07777) < 0)
                return fail_errno(repo, "cannot create", dst);
        r = list_dir(src, &names, &n);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s': %s", src, up_strerror(r));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *s = NULL, *d = NULL;

                if (top && streq(names[i], BACKUP_DIR))
                        continue;
                if (pathf(&s, "%s/%s", src, names[i]) < 0 || pathf(&d, "%s/%s", dst, names[i]) < 0 ||
                    lstat(s, &st) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (S_ISDIR(st.st_mode))
                        r = tree_copy(repo, s, d, false, link_files || streq(names[i], "targets"));
                else if (S_ISREG(st.st_mode) && !(link_files && link(s, d) >= 0))
                        r = copy_file(repo, s, dst, names[i], st.st_mode & 07777);
        }
        strv_free(names, n);
        return r;
}

static bool same_content(const char *a, const char *b) {
        _cleanup_free_ uint8_t *da = NULL, *db = NULL;
        struct stat sa, sb;
        size_t la, lb;

        if (stat(a, &sa) < 0 || stat(b, &sb) < 0 || !S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode))
                return false;
        if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
                return true;
        if (sa.st_size != sb.st_size)
                return false;
        if (up_read_file(a, SIZE_MAX - 1, &da, &la) < 0 || up_read_file(b, SIZE_MAX - 1, &db, &lb) < 0)
                return false;
        return la == lb && memcmp(da, db, la) == 0;
}

static bool strv_contains(char **v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

/* Removes what live has and backup has not (attack-backup/ stays). */
static int tree_prune(UpRepo *repo, const char *live, bool top, char **keep, size_t n_keep) {
        char **names = NULL;
        size_t n = 0;
        int r;

        r = list_dir(live, &names, &n);
        if (r < 0)
                return r == -ENOENT ? 0 : up_repo_fail(repo, r, "cannot read '%s': %s", live, up_strerror(r));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if ((top && streq(names[i], BACKUP_DIR)) || strv_contains(keep, n_keep, names[i]))
                        continue;
                if (pathf(&p, "%s/%s", live, names[i]) < 0)
                        r = -ENOMEM;
                else if ((r = rm_rf(p)) < 0)
                        up_repo_fail(repo, r, "cannot remove '%s': %s", p, up_strerror(r));
        }
        strv_free(names, n);
        return r;
}

static int tree_restore(UpRepo *repo, const char *backup, const char *live, bool top, bool prune);

static int restore_entry(UpRepo *repo, const char *b, const char *l, const char *live_dir, const char *name,
                         bool prune) {
        struct stat sb, sl;

        if (lstat(b, &sb) < 0)
                return fail_errno(repo, "cannot read", b);
        /* A directory where a file was, or the reverse. */
        if (lstat(l, &sl) >= 0 && (S_ISDIR(sb.st_mode) != S_ISDIR(sl.st_mode)) && rm_rf(l) < 0)
                return fail_errno(repo, "cannot remove", l);
        if (S_ISDIR(sb.st_mode))
                return tree_restore(repo, b, l, false, prune);
        if (!S_ISREG(sb.st_mode))
                return 0;
        if (same_content(b, l))
                return chmod(l, sb.st_mode & 07777) < 0 ? fail_errno(repo, "chmod", l) : 0;
        return copy_file(repo, b, live_dir, name, sb.st_mode & 07777);
}

/* Makes live what backup is, byte for byte and mode for mode; without
 * prune, files only live has stay. */
static int tree_restore(UpRepo *repo, const char *backup, const char *live, bool top, bool prune) {
        char **names = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        if (stat(backup, &st) < 0)
                return fail_errno(repo, "cannot read", backup);
        if ((mkdir(live, 0700) < 0 && errno != EEXIST) || chmod(live, st.st_mode & 07777) < 0)
                return fail_errno(repo, "cannot create", live);
        r = list_dir(backup, &names, &n);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s': %s", backup, up_strerror(r));
        if (prune)
                r = tree_prune(repo, live, top, names, n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *b = NULL, *l = NULL;

                if (pathf(&b, "%s/%s", backup, names[i]) < 0 || pathf(&l, "%s/%s", live, names[i]) < 0)
                        r = -ENOMEM;
                else
                        r = restore_entry(repo, b, l, live, names[i], prune);
        }
        strv_free(names, n);
        return r;
}

static int attack_info_read(UpRepo *repo, const char *name, struct json_object **ret) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = backup_path(repo, name, &dir);
        if (r < 0)
                return r;
        r = up_read_file_at(dir, "info.json", MAX_JSON_FILE, &data, &len);
        if (r < 0)
                return r; /* -ENOENT: not staged */
        r = up_json_parse(data, len, &UP_JSON_LIMITS_DEFAULT, ret);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s/info.json' is not valid JSON", dir);
        return 0;
}

static int attack_seq_cmp(const void *a, const void *b) {
        int64_t x = json_object_get_int64(json_child(*(struct json_object *const *) a, "seq"));
        int64_t y = json_object_get_int64(json_child(*(struct json_object *const *) b, "seq"));

        return x < y ? -1 : x > y;
}

int up_repo_attack_list(UpRepo *repo, struct json_object **ret) {
        _cleanup_json_ struct json_object *a = json_object_new_array();
        _cleanup_free_ char *base = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        if (!a || backup_path(repo, NULL, &base) < 0)
                return -ENOMEM;
        r = list_dir(base, &names, &n);
        if (r == -ENOENT)
                r = 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct json_object *info = NULL;

                r = attack_info_read(repo, names[i], &info);
                if (r == -ENOENT || r == -ENOTDIR)
                        r = 0; /* no info.json: not an attack (or an incomplete backup) */
                else if (r >= 0)
                        r = json_append(a, info);
        }
        strv_free(names, n);
        if (r < 0)
                return r;
        json_object_array_sort(a, attack_seq_cmp);
        *ret = TAKE_PTR(a);
        return 0;
}

static int64_t attack_max_seq(struct json_object *list) {
        int64_t max = 0;

        for (size_t i = 0; i < json_object_array_length(list); i++) {
                int64_t s = json_object_get_int64(json_child(json_object_array_get_idx(list, i), "seq"));

                if (s > max)
                        max = s;
        }
        return max;
}

static int attack_tree_add(UpRepo *repo, struct json_object *trees, const char *backup, const char *dir) {
        _cleanup_free_ char *real = realpath(dir, NULL), *copy = NULL, *dst = NULL;
        struct json_object *t = json_object_new_object();
        size_t i = json_object_array_length(trees);
        int r;

        if (!real)
                return fail_errno(repo, "cannot resolve", dir);
        for (size_t j = 0; j < i; j++)
                if (streq(json_object_get_string(json_child(json_object_array_get_idx(trees, j), "path")), real)) {
                        json_object_put(t);
                        return 0;
                }
        if (pathf(&copy, "tree%zu", i) < 0 || pathf(&dst, "%s/%s", backup, copy) < 0 || json_append(trees, t) < 0)
                return -ENOMEM;
        if (json_set(t, "path", json_object_new_string(real)) < 0 ||
            json_set(t, "copy", json_object_new_string(copy)) < 0)
                return -ENOMEM;
        r = tree_copy(repo, real, dst, true, false);
        return r;
}

static int attack_begin(UpRepo *repo, const char *name, UpRepo *other) {
        _cleanup_json_ struct json_object *list = NULL, *info = json_object_new_object(), *existing = NULL;
        _cleanup_free_ char *base = NULL, *dir = NULL;
        struct json_object *trees = json_object_new_array();
        int r;

        if (!info || json_set(info, "trees", trees) < 0)
                return -ENOMEM;
        if (attack_info_read(repo, name, &existing) >= 0)
                return up_repo_fail(repo, -EEXIST, "attack '%s' is staged already: undo or drop it first", name);
        r = up_repo_attack_list(repo, &list);
        if (r < 0)
                return r;
        if (backup_path(repo, NULL, &base) < 0 || backup_path(repo, name, &dir) < 0)
                return -ENOMEM;
        r = mkdir_p(base, 0700);
        if (r >= 0)
                r = rm_rf(dir); /* what an interrupted attempt left */
        if (r >= 0 && mkdir(dir, 0700) < 0)
                r = negative_errno();
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", dir, up_strerror(r));
        if (json_set(info, "name", json_object_new_string(name)) < 0 ||
            json_set(info, "seq", json_object_new_int64(attack_max_seq(list) + 1)) < 0)
                return -ENOMEM;
        r = attack_tree_add(repo, trees, dir, repo->dir);
        if (r >= 0 && other)
                r = attack_tree_add(repo, trees, dir, other->dir);
        /* info.json last: only a complete backup counts as a staged attack. */
        if (r >= 0)
                r = write_json(repo, dir, "info.json", info, 0600);
        if (r < 0)
                (void) rm_rf(dir);
        return r;
}

static int attack_restore(UpRepo *repo, const char *name, struct json_object *info) {
        struct json_object *trees = json_child(info, "trees");
        _cleanup_free_ char *dir = NULL;
        int r;

        if (backup_path(repo, name, &dir) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < array_len(trees); i++) {
                struct json_object *t = json_object_array_get_idx(trees, i);
                const char *c = json_object_get_string(json_child(t, "copy"));
                const char *live = json_object_get_string(json_child(t, "path"));
                _cleanup_free_ char *copy = NULL;

                if (!c || !live || !component_valid(c, strlen(c)))
                        return up_repo_fail(repo, -EBADMSG, "'%s/info.json' is damaged", dir);
                if (pathf(&copy, "%s/%s", dir, c) < 0)
                        return -ENOMEM;
                r = tree_restore(repo, copy, live, true, true);
                if (r < 0)
                        return r;
        }
        r = rm_rf(dir);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot remove '%s': %s", dir, up_strerror(r));
        return 0;
}

static int attack_staged(UpRepo *repo, const char *name, struct json_object **ret) {
        int r;

        r = attack_info_read(repo, name, ret);
        if (r == -ENOENT || r == -ENOTDIR)
                return up_repo_fail(repo, -ENOENT, "attack '%s' is not staged on '%s'", name, repo->dir);
        return r;
}

int up_repo_attack_undo(UpRepo *repo, const char *name) {
        _cleanup_json_ struct json_object *info = NULL, *list = NULL;
        int64_t seq;
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        r = attack_staged(repo, name, &info);
        if (r < 0)
                return r;
        r = up_repo_attack_list(repo, &list);
        if (r < 0)
                return r;
        seq = json_object_get_int64(json_child(info, "seq"));
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct json_object *o = json_object_array_get_idx(list, i);

                if (json_object_get_int64(json_child(o, "seq")) > seq)
                        return up_repo_fail(repo, -EBUSY, "undo '%s' first: attacks are undone in reverse order",
                                            json_object_get_string(json_child(o, "name")));
        }
        return attack_restore(repo, name, info);
}

int up_repo_attack_drop(UpRepo *repo, const char *name) {
        _cleanup_json_ struct json_object *info = NULL;
        _cleanup_free_ char *dir = NULL;
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        r = attack_staged(repo, name, &info);
        if (r < 0)
                return r;
        if (backup_path(repo, name, &dir) < 0)
                return -ENOMEM;
        r = rm_rf(dir);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot remove '%s': %s", dir, up_strerror(r));
        return 0;
}

/* --- Attacks -------------------------------------------------------------------------- */

#define EVIL_MITM "EVIL UPDATE: ARBITRARY PACKAGE ATTACK TO BE DELIVERED FROM MITM (no keys compromised).\n"
#define EVIL_KEYED "evil content\n"
#define ENDLESS_DEFAULT_SIZE (1024u * 1024u)

static int need(UpRepo *repo, const char *attack, const char *what, const void *v) {
        if (!v)
                return up_repo_fail(repo, -EINVAL, "attack %s needs %s", attack, what);
        return 0;
}

static int need_kind(UpRepo *repo, const char *attack, UpRepo *which, UpRepoKind kind, const char *what) {
        if (!which || which->kind != kind)
                return up_repo_fail(repo, -EINVAL, "attack %s needs %s", attack, what);
        return 0;
}

/* The other repository said why. */
static int fail_other(UpRepo *repo, UpRepo *other, int r) {
        return up_repo_fail(repo, r, "%s", up_repo_error(other)[0] ? up_repo_error(other) : up_strerror(r));
}

/* Bytes of the given length that are not the original: only the hash check
 * can tell them apart (a longer file would be stopped by the length). */
static int evil_bytes(const UpRepoAttackOptions *o, const char *fallback, const uint8_t *orig, size_t len,
                      uint8_t **ret) {
        const uint8_t *src = o->content ? o->content : (const uint8_t *) fallback;
        size_t src_len = o->content ? o->content_len : strlen(fallback);
        uint8_t *buf;

        if (len == 0 || src_len == 0)
                return -EINVAL;
        buf = malloc(len);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++)
                buf[i] = src[i % src_len];
        if (memcmp(buf, orig, len) == 0)
                buf[len - 1] ^= 1;
        *ret = buf;
        return 0;
}

/* Overwrites (data) or deletes (data NULL) every existing copy of an image. */
static int image_copies_apply(UpRepo *repo, const char *vin, const char *name, struct json_object *hashes,
                              const uint8_t *data, size_t len, size_t *count) {
        _cleanup_free_ char *dir = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        r = image_dir(repo, vin, name, &dir);
        if (r >= 0)
                r = image_file_names(name, hashes, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (pathf(&p, "%s/%s", dir, names[i]) < 0)
                        r = -ENOMEM;
                else if (!file_exists(p))
                        continue;
                else if (data)
                        r = write_file(repo, dir, names[i], data, len, 0644);
                else if (unlink(p) < 0)
                        r = fail_errno(repo, "cannot remove", p);
                if (r >= 0 && count)
                        (*count)++;
        }
        strv_free(names, n);
        return r;
}

/* The published entry of a target: the Image repository's (through its
 * delegations) or a vehicle's. */
static int published_target(UpRepo *repo, const char *vin, const char *name, struct json_object **ret) {
        _cleanup_(published_done) Published p = {};
        struct json_object *e;
        int r;

        if (!vin)
                return up_repo_find_target(repo, name, ret, NULL);
        r = published_read(repo, vin, "targets", &p);
        if (r < 0 && r != -ENOENT)
                return r;
        e = p.data ? json_child(json_child(p.signed_obj, "targets"), name) : NULL;
        if (!e)
                return up_repo_fail(repo, -ENOENT, "vehicle %s has no published target '%s'", vin, name);
        return json_object_deep_copy(e, ret, NULL) < 0 ? -ENOMEM : 0;
}

/* Replaces the copies of an image in repo (vin: a vehicle's) by evil bytes. */
static int swap_image(UpRepo *repo, const char *vin, const char *name, const UpRepoAttackOptions *o,
                      struct json_object **ret_hashes) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ uint8_t *orig = NULL, *evil = NULL;
        _cleanup_free_ char *path = NULL;
        size_t len, count = 0;
        int r;

        r = published_target(repo, vin, name, &entry);
        if (r < 0)
                return r;
        r = up_repo_image_path(repo, vin, name, json_child(entry, "hashes"), &path);
        if (r < 0)
                return r;
        r = up_read_file(path, SIZE_MAX - 1, &orig, &len);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s' is not served%s%s (%s): %s", name, vin ? " for vehicle " : "",
                                    vin ? vin : "", path, up_strerror(r));
        r = evil_bytes(o, EVIL_MITM, orig, len, &evil);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot make evil bytes for '%s'", name);
        r = image_copies_apply(repo, vin, name, json_child(entry, "hashes"), evil, len, &count);
        if (r < 0)
                return r;
        *ret_hashes = json_object_get(json_child(entry, "hashes"));
        return 0;
}

/* 3.1: a man in the middle serves other bytes for the Director's copy of an
 * image, and hides the Image repository's copy. No key, no metadata change. */
static int attack_director_mitm(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *hashes = NULL;
        int r;

        r = need_kind(repo, "director-mitm-image", repo, UP_REPO_DIRECTOR, "--repo to be a Director");
        if (r >= 0)
                r = need(repo, "director-mitm-image", "a VIN and a target", o->vin && o->target ? o : NULL);
        if (r < 0)
                return r;
        r = swap_image(repo, o->vin, o->target, o, &hashes);
        if (r < 0 || !o->other)
                return r;
        r = need_kind(repo, "director-mitm-image", o->other, UP_REPO_IMAGE,
                      "the other repository to be an Image repository");
        if (r < 0)
                return r;
        r = image_copies_apply(o->other, NULL, o->target, hashes, NULL, 0, NULL);
        return r < 0 ? fail_other(repo, o->other, r) : 0;
}

static int delete_from_vehicles(UpRepo *repo, UpRepo *director, const char *name, struct json_object *hashes) {
        char **vins = NULL;
        size_t n = 0;
        int r;

        r = up_director_vehicles(director, &vins, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = image_copies_apply(director, vins[i], name, hashes, NULL, 0, NULL);
        up_director_vehicles_free(vins, n);
        return r < 0 ? fail_other(repo, director, r) : 0;
}

/* 3.2: a bad mirror serves other bytes for the Image repository's image;
 * the Director's copies are deleted, so no good mirror is left. */
static int attack_image_mitm(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *hashes = NULL;
        int r;

        r = need_kind(repo, "image-mitm-image", repo, UP_REPO_IMAGE, "--repo to be an Image repository");
        if (r >= 0)
                r = need(repo, "image-mitm-image", "a target", o->target);
        if (r < 0)
                return r;
        r = swap_image(repo, NULL, o->target, o, &hashes);
        if (r < 0 || !o->other)
                return r;
        r = need_kind(repo, "image-mitm-image", o->other, UP_REPO_DIRECTOR, "the other repository to be a Director");
        if (r < 0)
                return r;
        return delete_from_vehicles(repo, o->other, o->target, hashes);
}

static int saved_timestamp_location(UpRepo *repo, const char *vin, char **ret_dir, char **ret_name) {
        if (pathf(ret_dir, "%s/%s/%s", repo->dir, BACKUP_DIR, SAVED_TIMESTAMPS) < 0)
                return -ENOMEM;
        if ((vin ? pathf(ret_name, "vehicle-%s.json", vin) : pathf(ret_name, "repository.json")) < 0) {
                free(*ret_dir);
                return -ENOMEM;
        }
        return 0;
}

static int read_timestamp(UpRepo *repo, const char *vin, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *dir = NULL;
        int r;

        r = set_path(repo, vin, "metadata", &dir);
        if (r < 0)
                return r;
        return read_file(repo, dir, "timestamp.json", MAX_JSON_FILE, ret, ret_len);
}

/* 3.3, first step: keep a copy of the current (validly signed) timestamp. */
static int attack_save_timestamp(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = read_timestamp(repo, o->vin, &data, &len);
        if (r < 0)
                return r;
        r = saved_timestamp_location(repo, o->vin, &dir, &name);
        if (r < 0)
                return r;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", dir, up_strerror(r));
        return write_file(repo, dir, name, data, len, 0644);
}

static int64_t timestamp_version(const uint8_t *data, size_t len) {
        _cleanup_json_ struct json_object *doc = NULL;
        int64_t v = -1;

        if (up_json_parse(data, len, &UP_JSON_LIMITS_DEFAULT, &doc) >= 0)
                (void) up_json_get_int64(json_child(doc, "signed"), "version", &v);
        return v;
}

/* 3.3: the saved, older timestamp is served again. */
static int attack_replay_timestamp(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *live = NULL;
        _cleanup_free_ uint8_t *saved = NULL, *cur = NULL;
        size_t saved_len, cur_len;
        int64_t sv, cv;
        int r;

        r = saved_timestamp_location(repo, o->vin, &dir, &name);
        if (r < 0)
                return r;
        r = up_read_file_at(dir, name, MAX_JSON_FILE, &saved, &saved_len);
        if (r < 0)
                return up_repo_fail(repo, r,
                                    "no saved timestamp '%s/%s': run 'attack save-timestamp' first, then publish",
                                    dir, name);
        r = read_timestamp(repo, o->vin, &cur, &cur_len);
        if (r < 0)
                return r;
        sv = timestamp_version(saved, saved_len);
        cv = timestamp_version(cur, cur_len);
        if (sv >= cv)
                return up_repo_fail(repo, -EALREADY,
                                    "the saved timestamp (version %lld) is not older than the published one (version "
                                    "%lld): publish first", (long long) sv, (long long) cv);
        r = set_path(repo, o->vin, "metadata", &live);
        if (r < 0)
                return r;
        return write_file(repo, live, "timestamp.json", saved, saved_len, 0644);
}

/* The hardware id (malloc()ed) and release counter of what the ECU has now
 * (counter 0 when it has nothing). */
static int ecu_current(UpRepo *repo, const UpRepoAttackOptions *o, char **ret_hw, int64_t *ret_counter) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ char *name = NULL;
        const char *hw = o->hardware_id;
        struct json_object *custom;
        int64_t counter = 0;
        int r;

        r = up_director_ecu_target(repo, o->vin, o->ecu_serial, &name, &entry);
        if (r < 0 && (r != -ENOENT || !hw))
                return up_repo_fail(repo, r, "ECU %s of vehicle %s has no target: give --hardware-id", o->ecu_serial,
                                    o->vin);
        if (r >= 0) {
                custom = json_child(entry, "custom");
                (void) up_json_get_int64(custom, "releaseCounter", &counter);
                if (!hw) {
                        struct json_object *ecu = json_child(json_child(custom, "ecuIdentifiers"), o->ecu_serial);

                        hw = json_object_get_string(json_child(ecu, "hardwareId"));
                }
        }
        if (!hw)
                return up_repo_fail(repo, -EINVAL, "no hardware id for ECU %s: give --hardware-id", o->ecu_serial);
        *ret_hw = strdup(hw);
        if (!*ret_hw)
                return -ENOMEM;
        *ret_counter = counter;
        return 0;
}

static const void *evil_content(const UpRepoAttackOptions *o, size_t *ret_len) {
        if (o->content) {
                *ret_len = o->content_len;
                return o->content;
        }
        *ret_len = strlen(EVIL_KEYED);
        return EVIL_KEYED;
}

static int attack_assign_evil(UpRepo *repo, const UpRepoAttackOptions *o, const char *hw, struct json_object *entry) {
        size_t len;
        const void *data = evil_content(o, &len);

        return up_director_assign(repo, o->vin, &(UpDirectorAssignment) {
                .ecu_serial = o->ecu_serial, .hardware_id = hw, .target_name = o->target,
                .image_target = entry, .image_data = data, .image_len = len,
        }, 1, o->now);
}

static int need_vehicle_target(UpRepo *repo, const char *attack, const UpRepoAttackOptions *o) {
        int r;

        r = need_kind(repo, attack, repo, UP_REPO_DIRECTOR, "--repo to be a Director");
        if (r < 0)
                return r;
        return need(repo, attack, "a VIN, an ECU serial and a target name",
                    o->vin && o->ecu_serial && o->target ? o : NULL);
}

/* 3.4: with the Director's (online) keys, an ECU is assigned an image that
 * the Image repository does not vouch for. */
static int attack_director_keyed(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ char *hw = NULL;
        const char *hws[1];
        int64_t counter;
        const void *data;
        size_t len;
        int r;

        r = need_vehicle_target(repo, "director-keyed-target", o);
        if (r < 0)
                return r;
        r = ecu_current(repo, o, &hw, &counter);
        if (r < 0)
                return r;
        data = evil_content(o, &len);
        hws[0] = hw;
        r = target_entry(&(UpRepoTarget) { .name = o->target, .hardware_ids = hws, .n_hardware_ids = 1,
                                           .release_counter = counter }, data, len, &entry);
        if (r < 0)
                return r;
        return attack_assign_evil(repo, o, hw, entry);
}

/* The evil image, listed and published by the Image repository with its
 * own keys, in the role that lists the name now. */
static int image_add_evil(UpRepo *repo, UpRepo *image, const UpRepoAttackOptions *o, const char *hw,
                          int64_t counter) {
        _cleanup_json_ struct json_object *old = NULL;
        _cleanup_free_ char *role = NULL;
        const char *hws[] = { hw };
        UpRepoTarget t = { .name = o->target, .hardware_ids = hws, .n_hardware_ids = 1, .release_counter = counter };
        const void *data;
        size_t len;
        int r;

        if (up_repo_find_target(image, o->target, &old, &role) >= 0) {
                t.role = role;
                (void) up_json_get_int64(json_child(old, "custom"), "releaseCounter", &t.release_counter);
        }
        data = evil_content(o, &len);
        r = up_repo_add_target(image, &t, data, len);
        if (r >= 0)
                r = up_repo_publish(image, NULL, 0, o->now);
        return r < 0 ? fail_other(repo, image, r) : 0;
}

/* 3.5: the keys of both repositories: both vouch for the evil image. */
static int attack_both_keyed(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *entry = NULL;
        _cleanup_free_ char *hw = NULL;
        int64_t counter;
        int r;

        r = need_vehicle_target(repo, "keyed-target-both", o);
        if (r >= 0)
                r = need_kind(repo, "keyed-target-both", o->other, UP_REPO_IMAGE, "--image-repo");
        if (r < 0)
                return r;
        r = ecu_current(repo, o, &hw, &counter);
        if (r < 0)
                return r;
        r = image_add_evil(repo, o->other, o, hw, counter);
        if (r < 0)
                return r;
        r = up_repo_find_target(o->other, o->target, &entry, NULL);
        if (r < 0)
                return fail_other(repo, o->other, r);
        return attack_assign_evil(repo, o, hw, entry);
}

static bool keyed_attack(const char *name) {
        return streq(name, "director-keyed-target") || streq(name, "keyed-target-both") ||
               streq(name, "release-counter-rollback");
}

static int overlay_subdirs(UpRepo *repo, const char *copy, const char *live) {
        static const char *const subs[] = { "staged", "targets" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                _cleanup_free_ char *b = NULL, *l = NULL;

                if (pathf(&b, "%s/%s", copy, subs[i]) < 0 || pathf(&l, "%s/%s", live, subs[i]) < 0)
                        return -ENOMEM;
                if (!file_exists(b))
                        continue;
                r = tree_restore(repo, b, l, false, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The staged state and images (not the metadata, which clients have seen in
 * newer versions) of a backup tree, the Director's vehicles included. */
static int overlay_content(UpRepo *repo, const char *copy, const char *live) {
        _cleanup_free_ char *vdir = NULL;
        char **vins = NULL;
        size_t n = 0;
        int r;

        r = overlay_subdirs(repo, copy, live);
        if (r < 0 || pathf(&vdir, "%s/vehicles", copy) < 0)
                return r < 0 ? r : -ENOMEM;
        r = list_dir(vdir, &vins, &n);
        if (r == -ENOENT)
                return 0;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *b = NULL, *l = NULL;

                if (pathf(&b, "%s/%s", vdir, vins[i]) < 0 || pathf(&l, "%s/vehicles/%s", live, vins[i]) < 0)
                        r = -ENOMEM;
                else
                        r = overlay_subdirs(repo, b, l);
        }
        strv_free(vins, n);
        return r;
}

static int overlay_tree(UpRepo *repo, const char *base, const char *name, struct json_object *t,
                        struct json_object *done) {
        const char *c = json_object_get_string(json_child(t, "copy"));
        const char *live = json_object_get_string(json_child(t, "path"));
        _cleanup_free_ char *copy = NULL;
        int r;

        if (!c || !live || strv_json_contains(done, live))
                return 0;
        if (pathf(&copy, "%s/%s/%s", base, name, c) < 0)
                return -ENOMEM;
        r = overlay_content(repo, copy, live);
        if (r < 0)
                return r;
        return json_append(done, json_object_new_string(live));
}

/* Each repository as the oldest keyed attack staged on from found it (the
 * demo stacks 3.5 on 3.4: the Image repository is only in the second). */
static int recover_content(UpRepo *repo, UpRepo *from, struct json_object *done) {
        _cleanup_json_ struct json_object *list = NULL;
        _cleanup_free_ char *base = NULL;
        int r;

        r = up_repo_attack_list(from, &list);
        if (r < 0 || backup_path(from, NULL, &base) < 0)
                return r < 0 ? fail_other(repo, from, r) : -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct json_object *info = json_object_array_get_idx(list, i), *trees = json_child(info, "trees");
                const char *name = json_object_get_string(json_child(info, "name"));

                if (!name || !keyed_attack(name))
                        continue;
                for (size_t j = 0; j < array_len(trees); j++) {
                        r = overlay_tree(repo, base, name, json_object_array_get_idx(trees, j), done);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int rotate_online(UpRepo *repo, UpRepo *x, time_t now) {
        static const char *const online[] = { "targets", "snapshot", "timestamp" };
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(online); i++)
                r = up_repo_rotate(x, online[i], 0);
        if (r >= 0)
                r = up_repo_publish(x, NULL, 0, now);
        if (r < 0 && x != repo)
                return fail_other(repo, x, r);
        return r;
}

/* 3.6: root signs new online keys; what keyed attacks changed is put back
 * and published as new versions signed by the new keys. */
static int attack_recover(UpRepo *repo, const UpRepoAttackOptions *o) {
        _cleanup_json_ struct json_object *done = json_object_new_array();
        int r;

        if (!done)
                return -ENOMEM;
        r = recover_content(repo, repo, done);
        if (r >= 0 && o->other)
                r = recover_content(repo, o->other, done);
        if (r >= 0)
                r = rotate_online(repo, repo, o->now);
        if (r >= 0 && o->other)
                r = rotate_online(repo, o->other, o->now);
        return r;
}

static int need_set(UpRepo *repo, const char *attack, const UpRepoAttackOptions *o) {
        if (repo->kind == UP_REPO_DIRECTOR && !o->vin)
                return up_repo_fail(repo, -EINVAL, "attack %s on a Director needs a VIN", attack);
        if (repo->kind == UP_REPO_IMAGE && o->vin)
                return up_repo_fail(repo, -EINVAL, "attack %s: an Image repository has no vehicles", attack);
        return 0;
}

/* 3.7: metadata signed with keys that were rotated out or revoked. */
static int attack_revoked_keys(UpRepo *repo, const UpRepoAttackOptions *o) {
        static const char *const online[] = { "targets", "snapshot", "timestamp" };
        _cleanup_(signers_done) Signers s = {};
        int r;

        r = need_set(repo, "revoked-keys", o);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(online); i++)
                r = signers_add_retired(repo, &s, online[i]);
        if (r < 0)
                return r;
        if (s.n == 0)
                return up_repo_fail(repo, -ENOKEY,
                                    "'%s/keys' holds no retired targets, snapshot or timestamp key: rotate them (or "
                                    "attack recover) first", repo->dir);
        return publish_set_opts(repo, o->vin, &(SetOptions) { .all = true, .retired_keys = true }, o->now);
}

/* Freeze: a new timestamp, validly signed, but already expired. Only the
 * timestamp: a client keeps nothing from it, so undo brings it back. */
static int attack_freeze(UpRepo *repo, const UpRepoAttackOptions *o) {
        int r;

        r = need_set(repo, "freeze", o);
        if (r < 0)
                return r;
        return publish_set_opts(repo, o->vin, &(SetOptions) { .expired_role = "timestamp" }, o->now);
}

/* Mix-and-match: the file the snapshot names holds another version. */
static int attack_mix_and_match(UpRepo *repo, const UpRepoAttackOptions *o) {
        const char *role = o->role ? o->role : "targets";
        _cleanup_free_ char *dir = NULL, *older = NULL, *cur = NULL;
        _cleanup_(published_done) Published p = {};
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = need_set(repo, "mix-and-match", o);
        if (r < 0)
                return r;
        if (streq(role, "root") || streq(role, "timestamp"))
                return up_repo_fail(repo, -EINVAL, "attack mix-and-match: %s is not named by a version", role);
        r = published_read(repo, o->vin, role, &p);
        if (r < 0)
                return r == -ENOENT ? up_repo_fail(repo, r, "%s was never published", role) : r;
        if (p.version < 2)
                return up_repo_fail(repo, -EALREADY, "attack mix-and-match: %s has one version only: change it and "
                                    "publish first", role);
        r = metadata_dir(repo, o->vin, role, &dir);
        if (r < 0 || role_file_name(role, p.version - 1, &older) < 0 || role_file_name(role, p.version, &cur) < 0)
                return r < 0 ? r : -ENOMEM;
        r = read_file(repo, dir, older, MAX_JSON_FILE, &data, &len);
        if (r < 0)
                return r;
        r = write_file(repo, dir, cur, data, len, 0644);
        if (r < 0)
                return r;
        return write_file(repo, dir, strchr(cur, '.') + 1, data, len, 0644);
}

/* Valid JSON still (trailing white space), just far too long. */
static int pad_file(UpRepo *repo, const char *dir, const char *name, size_t size) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len, new_len;
        uint8_t *n;
        int r;

        r = read_file(repo, dir, name, MAX_JSON_FILE, &data, &len);
        if (r < 0)
                return r;
        new_len = size > len ? size : len + 1;
        n = realloc(data, new_len);
        if (!n)
                return -ENOMEM;
        data = n;
        memset(data + len, ' ', new_len - len);
        return write_file(repo, dir, name, data, new_len, 0644);
}

/* Endless data: a metadata file far larger than any client accepts. */
static int attack_endless(UpRepo *repo, const UpRepoAttackOptions *o) {
        const char *role = o->role ? o->role : "timestamp";
        size_t size = o->size ? o->size : ENDLESS_DEFAULT_SIZE;
        _cleanup_free_ char *dir = NULL, *cur = NULL;
        _cleanup_(published_done) Published p = {};
        int r;

        r = need_set(repo, "endless-data", o);
        if (r < 0)
                return r;
        if (size > MAX_JSON_FILE)
                return up_repo_fail(repo, -EINVAL, "attack endless-data: at most %u bytes", MAX_JSON_FILE);
        r = metadata_dir(repo, o->vin, role, &dir);
        if (r < 0)
                return r;
        if (streq(role, "timestamp"))
                return pad_file(repo, dir, "timestamp.json", size);
        /* Clients holding root N only ever ask for N+1. */
        if (streq(role, "root"))
                return up_repo_fail(repo, -EINVAL, "attack endless-data: pick timestamp, snapshot or a targets role");
        r = published_read(repo, o->vin, role, &p);
        if (r < 0)
                return r == -ENOENT ? up_repo_fail(repo, r, "%s was never published", role) : r;
        r = role_file_name(role, p.version, &cur);
        if (r < 0)
                return r;
        r = pad_file(repo, dir, cur, size);
        if (r < 0)
                return r;
        return pad_file(repo, dir, strchr(cur, '.') + 1, size);
}

static int lower_counter_in(UpRepo *repo, const char *vin, const char *role, const char *target, bool *found) {
        _cleanup_json_ struct json_object *body = NULL;
        struct json_object *custom;
        int64_t rc = 0;
        int r;

        r = up_repo_staged_read(repo, vin, role, &body);
        if (r < 0)
                return r;
        custom = json_child(json_child(json_child(body, "targets"), target), "custom");
        if (!custom)
                return 0;
        *found = true;
        (void) up_json_get_int64(custom, "releaseCounter", &rc);
        if (rc <= 0)
                return up_repo_fail(repo, -ERANGE, "the release counter of '%s' is %lld: nothing lower", target,
                                    (long long) rc);
        r = json_set(custom, "releaseCounter", json_object_new_int64(rc - 1));
        if (r < 0)
                return r;
        return up_repo_staged_write(repo, vin, role, body);
}

static int lower_and_publish(UpRepo *repo, const char *vin, const char *target, time_t now) {
        _cleanup_(role_list_done) RoleList l = {};
        bool found = false;
        int r;

        r = collect_targets_roles(repo, vin, &l);
        for (size_t i = 0; r >= 0 && i < l.n && !found; i++)
                r = lower_counter_in(repo, vin, l.v[i].role, target, &found);
        if (r < 0)
                return r;
        if (!found)
                return up_repo_fail(repo, -ENOENT, "no staged role lists '%s'%s%s", target, vin ? " for " : "",
                                    vin ? vin : "");
        return vin ? up_repo_publish_set(repo, vin, NULL, 0, now) : up_repo_publish(repo, NULL, 0, now);
}

/* Rollback through the release counter: validly signed, older counter. */
static int attack_counter_rollback(UpRepo *repo, const UpRepoAttackOptions *o) {
        const char *vin_other = repo->kind == UP_REPO_IMAGE ? o->vin : NULL;
        int r;

        r = need(repo, "release-counter-rollback", "a target", o->target);
        if (r >= 0 && repo->kind == UP_REPO_DIRECTOR)
                r = need(repo, "release-counter-rollback", "a VIN", o->vin);
        if (r < 0)
                return r;
        r = lower_and_publish(repo, repo->kind == UP_REPO_DIRECTOR ? o->vin : NULL, o->target, o->now);
        if (r < 0 || !o->other)
                return r;
        if (o->other->kind == UP_REPO_DIRECTOR && !vin_other)
                return up_repo_fail(repo, -EINVAL, "attack release-counter-rollback: give the VIN for the Director");
        r = lower_and_publish(o->other, vin_other, o->target, o->now);
        return r < 0 ? fail_other(repo, o->other, r) : 0;
}

typedef int (*AttackFn)(UpRepo *repo, const UpRepoAttackOptions *o);

static const UpRepoAttackInfo attack_infos[] = {
        { "director-mitm-image", "3.1",
          "replaces the Director's copies of a vehicle's image by other bytes of the same length and hides the "
          "Image repository's copies (--image-repo); no key, no metadata change",
          "the download fails the hash check (arbitrary-software)" },
        { "image-mitm-image", "3.2",
          "replaces the Image repository's copies of an image by other bytes of the same length and deletes the "
          "Director's copies (--director); no key, no metadata change",
          "the download fails the hash check (arbitrary-software)" },
        { "save-timestamp", "3.3",
          "saves a copy of the current timestamp for replay-timestamp (changes nothing, nothing to undo)", "-" },
        { "replay-timestamp", "3.3",
          "serves the saved timestamp again, after a newer one was published", "rollback" },
        { "director-keyed-target", "3.4",
          "with the Director's keys, assigns an ECU an evil image (--content) the Image repository does not list",
          "the Director's target does not match the Image repository's (arbitrary-software)" },
        { "keyed-target-both", "3.5",
          "with the keys of both repositories, lists the evil image in the Image repository and assigns it",
          "accepted: both repositories vouch for it (the limit of the threat model)" },
        { "recover", "3.6",
          "rotates the online keys (targets, snapshot, timestamp) of both repositories (root signs), puts back "
          "what keyed attacks changed, and publishes it as new versions",
          "updates; the old online keys are no longer trusted" },
        { "revoked-keys", "3.7",
          "publishes new targets, snapshot and timestamp signed with retired (rotated out or revoked) keys",
          "signature threshold not met (arbitrary-software)" },
        { "freeze", "",
          "publishes a new timestamp that expired a day ago, validly signed",
          "expired (freeze)" },
        { "mix-and-match", "",
          "serves the previous version of targets (or --role) under the version the snapshot names",
          "does not match the snapshot (mix-and-match)" },
        { "endless-data", "",
          "pads the timestamp (or --role) to --size bytes (default 1 MiB)", "larger than allowed (endless-data)" },
        { "release-counter-rollback", "",
          "republishes a target with its release counter one lower (a Director's vehicle with --vin; the other "
          "repository too when given)",
          "the release counter went backwards (rollback)" },
        {}
};

static const AttackFn attack_fns[] = {
        attack_director_mitm, attack_image_mitm, attack_save_timestamp, attack_replay_timestamp,
        attack_director_keyed, attack_both_keyed, attack_recover, attack_revoked_keys,
        attack_freeze, attack_mix_and_match, attack_endless, attack_counter_rollback,
};

_Static_assert(ELEMENTSOF(attack_infos) == ELEMENTSOF(attack_fns) + 1, "one function per attack");

const UpRepoAttackInfo *up_repo_attacks(void) {
        return attack_infos;
}

/* Leaves nothing half-staged: puts back what the failed attack touched. */
static int attack_abort(UpRepo *repo, const char *name, int err) {
        _cleanup_free_ char *reason = strdup(up_repo_error(repo));
        _cleanup_json_ struct json_object *info = NULL;

        if (attack_info_read(repo, name, &info) >= 0)
                (void) attack_restore(repo, name, info);
        return up_repo_fail(repo, err, "%s", reason && *reason ? reason : up_strerror(err));
}

int up_repo_attack(UpRepo *repo, const char *name, const UpRepoAttackOptions *opts) {
        UpRepoAttackOptions o = opts ? *opts : (UpRepoAttackOptions) {};
        size_t i;
        int r;

        r = check_opened(repo);
        if (r < 0)
                return r;
        for (i = 0; attack_infos[i].name && !streq(attack_infos[i].name, name ? name : ""); i++)
                ;
        if (!attack_infos[i].name)
                return up_repo_fail(repo, -EINVAL, "unknown attack '%s'", name ? name : "");
        if (o.now == 0)
                o.now = time(NULL);
        if (streq(name, "save-timestamp"))
                return attack_fns[i](repo, &o);
        r = attack_begin(repo, name, o.other);
        if (r < 0)
                return r;
        r = attack_fns[i](repo, &o);
        return r < 0 ? attack_abort(repo, name, r) : 0;
}
