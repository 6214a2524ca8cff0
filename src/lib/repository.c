/* SPDX-License-Identifier: MIT */
/*
 * An Uptane repository on disk (layout in uptane/repository.h): the object,
 * its errors, the names and files every part uses, config.json, and the
 * creation of a new repository. The parts are listed in repo-internal.h.
 *
 * Every command works on files: read the staged state, change it, write it
 * back atomically. Publishing compares the staged state with what is
 * published, so that only roles that changed get a new version; everything
 * signed is parsed and verified again with libuptane before it is written,
 * so the tool never publishes what a client would refuse (except when an
 * attack asks for exactly that).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "repo-internal.h"
#include "uptane/error.h"
#include "uptane/json.h"
#include "uptane/storage.h"

#define CONFIG_FILE "config.json"

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

/* --- Errors ------------------------------------------------------------------ */

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

void repo_clear_error(UpRepo *repo) {
        free(repo->error);
        repo->error = NULL;
}

int repo_fail_errno(UpRepo *repo, const char *what, const char *path) {
        int r = negative_errno();

        return up_repo_fail(repo, r, "%s '%s': %s", what, path, up_strerror(r));
}

int repo_check_opened(UpRepo *repo) {
        repo_clear_error(repo);
        if (!repo->opened)
                return up_repo_fail(repo, -EINVAL, "repository '%s' is not open", repo->dir);
        return 0;
}

int repo_check_image(UpRepo *repo, const char *what) {
        if (repo->kind != UP_REPO_IMAGE)
                return up_repo_fail(repo, -EOPNOTSUPP, "'%s' is a Director: %s", repo->dir, what);
        return 0;
}

/* --- The object ------------------------------------------------------------------ */

#define REPO_LOCK_TIMEOUT_MS 30000

int up_repo_new(const char *dir, UpRepo **ret) {
        UpRepo *repo;

        if (!dir || !*dir || !ret)
                return -EINVAL;
        repo = calloc(1, sizeof(UpRepo));
        if (!repo)
                return -ENOMEM;
        repo->lock_fd = -1;
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
        if (repo->lock_fd >= 0)
                close(repo->lock_fd); /* drops the lock */
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

/* --- Names ------------------------------------------------------------------------ */

/* The type of a top-level role, or -1. */
static int top_level_type(const char *role) {
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (streq(role, up_role_type_name(t)))
                        return t;
        return -1;
}

UpRoleType repo_role_type(const char *role) {
        int t = top_level_type(role);

        return t >= 0 ? (UpRoleType) t : UP_ROLE_TARGETS; /* a delegated targets role */
}

bool repo_is_top_level(const char *role) {
        return top_level_type(role) >= 0;
}

static bool name_char_valid(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               (c && strchr("._~+@=,-", c));
}

static bool component_valid(const char *s, size_t n) {
        if (n == 0 || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!name_char_valid(s[i]))
                        return false;
        return true;
}

bool repo_file_name_valid(const char *s) {
        return component_valid(s, strlen(s));
}

bool repo_text_valid(const char *s, size_t max) {
        if (!s || !*s || strlen(s) > max)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
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
        return name && strlen(name) <= 255 && repo_file_name_valid(name) && !repo_is_top_level(name);
}

bool up_repo_vin_valid(const char *vin) {
        return vin && strlen(vin) <= 64 && repo_file_name_valid(vin);
}

/* --- Paths ------------------------------------------------------------------------ */

int repo_pathf(char **ret, const char *fmt, ...) {
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

int repo_set_path(UpRepo *repo, const char *vin, const char *sub, char **ret) {
        if (vin && !up_repo_vin_valid(vin))
                return up_repo_fail(repo, -EINVAL, "invalid VIN '%s'", vin);
        if (vin && repo->kind != UP_REPO_DIRECTOR)
                return up_repo_fail(repo, -EINVAL, "'%s' is an Image repository: it has no vehicles", repo->dir);
        if (vin)
                return repo_pathf(ret, "%s/vehicles/%s/%s", repo->dir, vin, sub);
        return repo_pathf(ret, "%s/%s", repo->dir, sub);
}

int repo_role_file_name(const char *role, int64_t version, char **ret) {
        _cleanup_free_ char *enc = NULL;
        int r;

        r = up_percent_encode(role, &enc);
        if (r < 0)
                return r;
        if (version > 0)
                return repo_pathf(ret, "%lld.%s.json", (long long) version, enc);
        return repo_pathf(ret, "%s.json", enc);
}

/* --- Directories ------------------------------------------------------------------- */

int repo_mkdir_p(const char *path, mode_t mode) {
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

int repo_make_dir(UpRepo *repo, const char *path, mode_t mode) {
        int r;

        r = repo_mkdir_p(path, mode);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot create '%s': %s", path, up_strerror(r));
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int repo_list_dir(const char *dir, char ***ret, size_t *ret_n) {
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
                        up_string_array_free(nv ? nv : v, n);
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

int repo_rm_rf(const char *path) {
        char **names = NULL;
        struct stat st;
        size_t n = 0;
        int r;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 ? negative_errno() : 0;
        r = repo_list_dir(path, &names, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *p = NULL;

                r = repo_pathf(&p, "%s/%s", path, names[i]);
                if (r >= 0)
                        r = repo_rm_rf(p);
        }
        up_string_array_free(names, n);
        if (r < 0)
                return r;
        return rmdir(path) < 0 ? negative_errno() : 0;
}

/* --- Files -------------------------------------------------------------------------- */

int repo_read_file(UpRepo *repo, const char *dir, const char *name, size_t max, uint8_t **ret, size_t *ret_len) {
        int r;

        r = up_read_file_at(dir, name, max, ret, ret_len);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s/%s': %s", dir, name, up_strerror(r));
        return 0;
}

int repo_read_path(UpRepo *repo, const char *path, uint8_t **ret, size_t *ret_len) {
        int r;

        r = up_read_file(path, SIZE_MAX - 1, ret, ret_len);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot read '%s': %s", path,
                                    r == -EBADF ? "not a regular file" : up_strerror(r));
        return 0;
}

int repo_read_json(UpRepo *repo, const char *dir, const char *name, struct json_object **ret) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = repo_read_file(repo, dir, name, REPO_MAX_JSON_FILE, &data, &len);
        if (r < 0)
                return r;
        r = up_json_parse(data, len, &UP_JSON_LIMITS_DEFAULT, ret);
        if (r < 0)
                return up_repo_fail(repo, r, "'%s/%s' is not valid JSON: %s", dir, name, up_strerror(r));
        return 0;
}

int repo_write_file(UpRepo *repo, const char *dir, const char *name, const void *data, size_t len, mode_t mode) {
        int r;

        r = up_write_file_atomic(dir, name, data, len, mode);
        if (r < 0)
                return up_repo_fail(repo, r, "cannot write '%s/%s': %s", dir, name, up_strerror(r));
        return 0;
}

int repo_write_json(UpRepo *repo, const char *dir, const char *name, struct json_object *o, mode_t mode) {
        _cleanup_free_ char *text = NULL;
        const char *s;

        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || asprintf(&text, "%s\n", s) < 0)
                return -ENOMEM;
        return repo_write_file(repo, dir, name, text, strlen(text), mode);
}

int repo_copy_file(UpRepo *repo, const char *src, const char *dst_dir, const char *dst_name, mode_t mode) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len;
        int r;

        r = repo_read_path(repo, src, &data, &len);
        if (r < 0)
                return r;
        return repo_write_file(repo, dst_dir, dst_name, data, len, mode);
}

/* --- Configuration ------------------------------------------------------------------- */

int repo_expires_json(UpRepo *repo, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                if (up_json_add(o, up_role_type_name(t), json_object_new_int64(repo->expires[t])) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(o);
        return 0;
}

static int config_write(UpRepo *repo) {
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *expires = NULL;
        int r;

        r = repo_expires_json(repo, &expires);
        if (r < 0 || !o || up_json_add(o, "expires", expires) < 0)
                return -ENOMEM;
        if (up_json_add(o, "layout", json_object_new_int(1)) < 0 ||
            up_json_add(o, "kind", json_object_new_string(kind_names[repo->kind])) < 0 ||
            up_json_add(o, "scheme", json_object_new_string(up_key_scheme_name(repo->scheme))) < 0)
                return -ENOMEM;
        return repo_write_json(repo, repo->dir, CONFIG_FILE, o, 0644);
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

/* uptane-repo and uptane-server may both change a repository (a Director
 * assigns online while an operator assigns offline): whoever opens it holds
 * an exclusive lock on its directory until up_repo_free(). */
static int lock_repository(UpRepo *repo) {
        int fd;

        if (repo->lock_fd >= 0)
                return 0;
        fd = open(repo->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return up_repo_fail(repo, -ENOENT, "'%s' is not a repository: no %s (run init first)", repo->dir,
                                    CONFIG_FILE);
        if (fd < 0)
                return repo_fail_errno(repo, "cannot open", repo->dir);
        for (unsigned waited_ms = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited_ms += 10) {
                if (errno != EWOULDBLOCK || waited_ms >= REPO_LOCK_TIMEOUT_MS) {
                        close(fd);
                        return up_repo_fail(repo, -EBUSY, "'%s' is busy: another process changes it", repo->dir);
                }
                usleep(10 * 1000);
        }
        repo->lock_fd = fd;
        return 0;
}

int up_repo_open(UpRepo *repo) {
        _cleanup_json_ struct json_object *o = NULL;
        int r;

        repo_clear_error(repo);
        r = lock_repository(repo);
        if (r < 0)
                return r;
        r = repo_read_json(repo, repo->dir, CONFIG_FILE, &o);
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
        repo_clear_error(repo);
        if (role < 0 || role >= _UP_ROLE_MAX || seconds <= 0)
                return up_repo_fail(repo, -EINVAL, "invalid role or duration");
        repo->expires[role] = seconds;
        return config_write(repo);
}

/* --- Creating ------------------------------------------------------------------------ */

static int check_empty_dir(UpRepo *repo) {
        char **names = NULL;
        size_t n = 0;
        int r;

        r = repo_list_dir(repo->dir, &names, &n);
        up_string_array_free(names, n);
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

        r = repo_make_dir(repo, repo->dir, 0755);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = NULL;

                if (repo_pathf(&p, "%s/%s", repo->dir, subdirs[i]) < 0)
                        return -ENOMEM;
                /* Private keys: nobody but the owner even lists them. */
                r = repo_make_dir(repo, p, streq(subdirs[i], "keys") ? 0700 : 0755);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int create_root_role(UpRepo *repo, struct json_object *keys, struct json_object *roles, UpRoleType t,
                            unsigned threshold) {
        struct json_object *entry = json_object_new_object(), *keyids = json_object_new_array();
        int r;

        r = up_json_add(roles, up_role_type_name(t), entry);
        if (r < 0) {
                json_object_put(keyids);
                return r;
        }
        if (up_json_add(entry, "keyids", keyids) < 0 ||
            up_json_add(entry, "threshold", json_object_new_int64(threshold)) < 0)
                return -ENOMEM;
        return repo_keys_add(repo, up_role_type_name(t), threshold, keys, keyids);
}

static int create_root(UpRepo *repo, const UpRepoInitOptions *o, time_t now) {
        _cleanup_json_ struct json_object *body = NULL;
        int r;

        r = repo_body_new(repo, UP_ROLE_ROOT, now, &body);
        if (r < 0)
                return r;
        if (up_json_add(body, "consistent_snapshot", json_object_new_boolean(true)) < 0 ||
            up_json_add(body, "keys", json_object_new_object()) < 0 ||
            up_json_add(body, "roles", json_object_new_object()) < 0)
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

        repo_clear_error(repo);
        r = check_init_options(repo, o);
        if (r < 0)
                return r;
        repo->kind = o->kind;
        repo->scheme = o->scheme;
        for (UpRoleType t = 0; t < _UP_ROLE_MAX; t++)
                repo->expires[t] = o->expires[t] > 0 ? o->expires[t] : default_expires[t];
        r = check_empty_dir(repo);
        if (r >= 0)
                r = create_layout(repo);
        if (r >= 0)
                r = lock_repository(repo);
        if (r >= 0)
                r = config_write(repo);
        if (r >= 0)
                r = create_root(repo, o, now);
        /* A Director's targets are per vehicle. */
        if (r >= 0 && repo->kind == UP_REPO_IMAGE)
                r = repo_stage_empty_targets(repo, NULL, "targets", now);
        if (r < 0)
                return r;
        repo->opened = true;
        return up_repo_publish(repo, NULL, 0, now);
}
